//! Resident memory per queued message: a producer puts 10 million messages (no payload)
//! into one unbounded queue that has no consumer, the run goes on until idle, and the growth
//! of the process's peak resident set divided by 10 million is the cost of one waiting
//! message.
//!
//! `cargo bench -p flowbench-engine --bench memory`. One big run, so not a criterion
//! benchmark: it prints its numbers and exits. Linux only (reads /proc/self/status).

use std::sync::Arc;
use std::time::Instant;

use flowbench_engine::{Graph, Simulation};
use serde_json::Value;

const MESSAGES: u64 = 10_000_000;
/// Bytes of resident memory one waiting message may cost at most.
const TARGET_BYTES: f64 = 64.0;

/// Same fields, in the same order, as the engine's message (`sim::core::Message`, not
/// public): what the queue stores is `(Message, Time)`.
#[allow(dead_code)]
struct MessageLayout {
    id: u64,
    created: u64,
    key: Option<u32>,
    payload: Option<Arc<Value>>,
}

/// One of the `kB` lines of /proc/self/status, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status is readable (this benchmark needs Linux)");
    status
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            let kb = rest.trim().strip_suffix("kB")?.trim();
            kb.parse::<u64>().ok()
        })
        .unwrap_or_else(|| panic!("no {field} line in /proc/self/status"))
        * 1024
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Slots a `VecDeque` has after `n` single pushes: it starts at 4 and doubles.
fn deque_capacity_after(n: u64) -> u64 {
    n.next_power_of_two().max(4)
}

fn graph() -> Graph {
    let json = format!(
        r#"{{
  "format": "flowbench.graph",
  "version": 1,
  "name": "{MESSAGES} messages into a queue nobody reads",
  "seed": 1,
  "nodes": [
    {{"id": "flood", "kind": "producer",
      "config": {{"rate_per_sec": 1000000, "arrival": "constant", "limit": {MESSAGES}}}}},
    {{"id": "q", "kind": "queue", "config": {{"capacity": null, "when_full": "block"}}}}
  ],
  "edges": [{{"from": "flood", "to": "q"}}],
  "faults": []
}}"#
    );
    Graph::from_json_str(&json).expect("the memory graph parses")
}

fn main() {
    // `cargo bench` passes `--bench`; a name filter that does not match skips the run.
    if let Some(filter) = std::env::args().skip(1).find(|a| !a.starts_with('-'))
        && !"memory".contains(filter.as_str())
    {
        return;
    }

    let rss_before = status_bytes("VmRSS");
    let hwm_before = status_bytes("VmHWM");
    let size_before = status_bytes("VmSize");

    let start = Instant::now();
    let graph = graph();
    let mut sim = Simulation::new(&graph, None).expect("the memory graph is valid");
    sim.run_to_idle(None);
    let secs = start.elapsed().as_secs_f64();

    let hwm_after = status_bytes("VmHWM");
    let rss_after = status_bytes("VmRSS");
    let peak_size_after = status_bytes("VmPeak");

    let report = sim.report(secs * 1000.0);
    assert!(report.conservation.ok, "{:?}", report.conservation.detail);
    let queued = report.nodes["q"].in_flight.unwrap_or(0);
    assert_eq!(
        queued, MESSAGES,
        "every message waits in the queue at the end"
    );

    let growth = hwm_after.saturating_sub(rss_before);
    let per_message = growth as f64 / MESSAGES as f64;
    let entry = std::mem::size_of::<(MessageLayout, u64)>();
    let slots = deque_capacity_after(MESSAGES);

    println!("memory: {MESSAGES} messages (no payload) waiting in one unbounded queue");
    println!(
        "  run: {} events, {:.0} ms simulated, {secs:.2} s wall",
        sim.events(),
        sim.now_ms()
    );
    println!(
        "  VmRSS before {:.1} MiB (VmHWM {:.1} MiB); after: VmHWM {:.1} MiB, VmRSS {:.1} MiB",
        mib(rss_before),
        mib(hwm_before),
        mib(hwm_after),
        mib(rss_after)
    );
    println!(
        "  peak resident growth {:.1} MiB = {per_message:.1} bytes per queued message \
         (target ≤ {TARGET_BYTES:.0}: {})",
        mib(growth),
        if per_message <= TARGET_BYTES {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "  resident now {:.1} bytes per queued message",
        rss_after.saturating_sub(rss_before) as f64 / MESSAGES as f64
    );
    println!(
        "  one queue entry (Message, Time): {entry} bytes (size_of on a struct with \
         Message's fields); {MESSAGES} entries = {:.1} MiB",
        mib(entry as u64 * MESSAGES)
    );
    println!(
        "  VecDeque after {MESSAGES} pushes: {slots} slots = {:.1} MiB reserved \
         ({:.1} bytes per message), of which only the written part becomes resident",
        mib(slots * entry as u64),
        (slots * entry as u64) as f64 / MESSAGES as f64
    );
    println!(
        "  address space: VmSize before {:.1} MiB, VmPeak after {:.1} MiB",
        mib(size_before),
        mib(peak_size_after)
    );
}
