//! Any bytes through the path a graph file takes: the loader, the validator and, for a small
//! graph without errors, a short bounded run. What must hold for every input:
//! - nothing panics (a failed check below is a panic too, so it is a finding);
//! - a file that does not load is refused with a place (line and column from 1) and a
//!   message;
//! - a loaded graph saves to JSON that loads back as the same graph;
//! - a graph without errors builds a simulation, which runs without panicking and accounts
//!   for every message (conservation) whenever it stops.

#![no_main]

use flowbench_engine::model::ParseError;
use flowbench_engine::sim::ms_to_ns;
use flowbench_engine::{Graph, Simulation, validate};
use libfuzzer_sys::fuzz_target;

/// Largest graph that is also simulated (validation runs on every graph).
const MAX_RUN_NODES: usize = 64;
const MAX_RUN_EDGES: usize = 256;
const MAX_RUN_FAULTS: usize = 64;
/// Simulated time of the bounded run.
const RUN_MS: f64 = 1000.0;
/// Scheduler events of the bounded run, so that one input stays quick at any rate.
const MAX_EVENTS: u64 = 20_000;

fuzz_target!(|data: &[u8]| {
    let graph = match Graph::from_json_slice(data) {
        Ok(graph) => graph,
        Err(ParseError::Syntax {
            line,
            column,
            message,
        }) => {
            assert!(line >= 1 && column >= 1, "place {line}:{column}");
            assert!(
                !message.trim().is_empty(),
                "a parse error without a message"
            );
            return;
        }
    };

    let diagnostics = validate(&graph);
    for d in &diagnostics {
        assert!(!d.to_string().is_empty());
    }

    let saved = graph.to_json_pretty();
    let again = Graph::from_json_str(&saved)
        .unwrap_or_else(|e| panic!("the saved graph does not load: {e}\n{saved}"));
    assert!(
        again == graph,
        "the saved graph loads differently:\n{saved}"
    );

    let runnable = !diagnostics.iter().any(|d| d.is_error())
        && graph.nodes.len() <= MAX_RUN_NODES
        && graph.edges.len() <= MAX_RUN_EDGES
        && graph.faults.len() <= MAX_RUN_FAULTS;
    if !runnable {
        return;
    }
    let mut sim = match Simulation::new(&graph, None) {
        Ok(sim) => sim,
        Err(e) => panic!("a graph without errors does not build: {e}"),
    };
    let end = ms_to_ns(RUN_MS);
    while sim.events() < MAX_EVENTS && sim.next_event_ns().is_some_and(|t| t <= end) {
        sim.step();
    }
    let report = sim.report(0.0);
    assert!(
        report.conservation.ok,
        "conservation failed after {} events: {:?}",
        report.events, report.conservation
    );
});
