//! How fast a graph runs live at full speed: the engine thread of the designer
//! ([`EngineHandle`], `Pace::Max`) runs `GRAPH.json` for `SECONDS` of wall time (5 by
//! default) while this thread reads the newest snapshot 20 times a second, as the live view
//! does; prints the events simulated per second of wall time. Compare with
//! `flowbench run GRAPH.json`, which runs without snapshots.
//!
//!     cargo run --release -p flowbench-engine --example live_speed -- GRAPH.json [SECONDS]

use std::time::{Duration, Instant};

use flowbench_engine::Graph;
use flowbench_engine::runtime::{Command, EngineHandle, Pace};

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: live_speed GRAPH.json [SECONDS]")?;
    let seconds: f64 = match args.next() {
        Some(s) => s
            .parse()
            .ok()
            .filter(|s: &f64| *s > 0.0)
            .ok_or(format!("SECONDS: a positive number, not {s:?}"))?,
        None => 5.0,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let graph = Graph::from_json_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let engine =
        EngineHandle::start(&graph, None, Pace::Max).map_err(|e| format!("{path}: {e}"))?;
    engine.send(Command::Run);
    let start = Instant::now();
    let (mut snapshots, mut newest) = (0, None);
    while start.elapsed().as_secs_f64() < seconds {
        std::thread::sleep(Duration::from_millis(50));
        if let Some(s) = engine.latest() {
            snapshots += 1;
            newest = Some(s);
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let s = newest.ok_or("no snapshot arrived")?;
    println!(
        "{}: {} events, {:.2} s simulated in {wall:.2} s of wall time: {:.2} M events/s; {snapshots} snapshots read",
        graph.name,
        s.report.events,
        s.report.sim_time_ms / 1000.0,
        s.report.events as f64 / wall / 1e6,
    );
    Ok(())
}
