//! Flowbench, the application: a designer for message-flow architectures and a headless
//! command line, both on top of `flowbench_engine`.
//!
//! # Layout
//! - [`cli`]: the command line (graph-format.md §3): one file per command, the graph loader
//!   shared with the designer, and the run summary table.
//! - [`ui`]: the designer window (eframe/egui).

pub mod cli;
pub mod ui;
