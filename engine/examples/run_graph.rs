//! Runs a graph file with the engine alone and prints its report as JSON: a quick way to
//! profile the engine (callgrind, perf) without building the app.
//!
//!     cargo run --release -p flowbench-engine --example run_graph -- GRAPH.json [DURATION_MS]

use flowbench_engine::model::Graph;
use flowbench_engine::sim::{RunOptions, run};

fn main() -> Result<(), String> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: run_graph GRAPH.json [DURATION_MS]")?;
    let duration_ms = match std::env::args().nth(2) {
        Some(ms) => Some(ms.parse().map_err(|e| format!("duration {ms:?}: {e}"))?),
        None => None,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let graph = Graph::from_json_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let report = run(
        &graph,
        &RunOptions {
            duration_ms,
            seed: None,
        },
    )
    .map_err(|e| format!("{path}: {e}"))?;
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}
