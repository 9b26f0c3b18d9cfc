//! Flowbench, the application: a designer for message-flow architectures and a headless
//! command line, both on top of `flowbench_engine`.
//!
//! # Layout
//! - [`cli`]: the command line (graph-format.md §3): one file per command, the graph loader
//!   shared with the designer, and the run summary table.
//! - [`convert`]: graphs to and from Graphviz DOT and Mermaid, and the auto layout; used by
//!   both the designer and the command line.
//! - [`file_io`]: atomic saves with a backup, and noticing files changed on disk.
//! - [`ui`]: the designer window (eframe/egui).

pub mod cli;
pub mod convert;
pub mod file_io;
#[cfg(test)]
mod test_support;
pub mod ui;
