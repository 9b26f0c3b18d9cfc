//! Flowbench's engine: the graph model, its validation, a deterministic discrete-event
//! simulation of message flows, and the run report. It knows nothing of any UI.
//!
//! # Layout
//! - [`model`]: the graph file (graph-format.md §1) as typed configs, and diagnostics.
//! - [`validate`]: every problem of a graph at once, each naming its node, edge or field.
//! - [`sim`]: the scheduler over integer simulated time, and running a graph.
//! - `nodes`: one state machine per node kind, driven by the scheduler.
//! - [`payload`]: payload templates and field lookup.
//! - [`metrics`]: counters, time-weighted gauges and latency histograms.
//! - [`report`]: the run report (graph-format.md §2).
//! - [`runtime`]: a simulation on its own thread for the live view: commands in, snapshots out.

pub mod broker;
pub mod metrics;
pub mod model;
mod nodes;
pub mod payload;
pub mod report;
pub mod runtime;
pub mod sim;
pub mod split;
pub mod validate;

pub use model::{Diagnostic, Edge, Graph, Node, NodeConfig, NodeKind, Place, Severity};
pub use report::Report;
pub use sim::{RunOptions, Simulation};
pub use validate::validate;
