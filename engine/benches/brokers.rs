//! Messages per second through each broker backend, next to the same graph on the embedded
//! engine. A plain bench binary (`harness = false`):
//!
//! ```sh
//! cargo bench -p flowbench-engine --bench brokers            # 20,000 messages per backend
//! FLOWBENCH_BROKER_MESSAGES=100000 cargo bench -p flowbench-engine --bench brokers
//! ```
//!
//! Each case runs one process's graph `producer → channel → sink` live (simulated time paced
//! to the wall clock), the producer asking for far more than any broker takes (1,000,000
//! messages/s, constant spacing, payload `{"n": seq}`), so the channel's confirm window and
//! the broker set the pace. The channel both publishes and consumes: every message makes
//! the round trip producer → broker → sink, acknowledged. Timed from the start until the
//! sink has every message. The embedded case is the same graph with no backend, run as fast
//! as the machine can (simulated time is then free, so it is an upper bound, not a live rate).
//!
//! Needs RabbitMQ on 127.0.0.1:5672 and NATS with JetStream on 127.0.0.1:4222; a backend
//! whose broker does not answer is reported as such and skipped.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flowbench_engine::broker::Hub;
use flowbench_engine::sim::ms_to_ns;
use flowbench_engine::{Graph, Simulation};
use serde_json::{Value, json};

fn graph(n: u64, backend: Option<Value>, kind: &str) -> Graph {
    let mut config = json!({});
    if let Some(b) = backend {
        config["backend"] = b;
    }
    if kind == "queue" {
        config["capacity"] = json!(1000);
    }
    let text = json!({
        "format": "flowbench.graph", "version": 1, "name": format!("{kind} round trip"),
        "nodes": [
            {"id": "p", "kind": "producer",
             "config": {"rate_per_sec": 1_000_000, "arrival": "constant", "limit": n,
                        "payload": {"n": "$seq"}}},
            {"id": "c", "kind": kind, "config": config},
            {"id": "done", "kind": "sink"}
        ],
        "edges": [{"from": "p", "to": "c"}, {"from": "c", "to": "done"}]
    });
    Graph::from_json_str(&text.to_string()).expect("a valid graph")
}

fn sink_in(sim: &Simulation) -> u64 {
    sim.report(0.0).nodes.get("done").map_or(0, |n| n.in_)
}

/// What one live case measured.
struct Measured {
    /// Messages that reached the sink.
    received: u64,
    /// From the start to the last message at the sink.
    took: Duration,
    /// Dropped on the way (a NATS subscriber's full buffer).
    dropped: u64,
}

/// Runs `graph` live until the sink has `n` messages, or nothing more arrived for two
/// seconds (core NATS drops what a subscriber cannot keep up with), or `limit` passes.
fn live(graph: &Graph, n: u64, limit: Duration) -> Result<Measured, String> {
    let mut sim = Simulation::new(graph, Some(1)).map_err(|e| e.to_string())?;
    let hub = Hub::new();
    sim.connect_brokers(&hub, 1.0);
    let started = Instant::now();
    let mut last_check = Instant::now();
    let (mut got, mut last_progress) = (0, Instant::now());
    let mut took = Duration::ZERO;
    while got < n && last_progress.elapsed() < Duration::from_secs(2) {
        if started.elapsed() > limit {
            break;
        }
        sim.poll_brokers(true);
        let target = ms_to_ns(started.elapsed().as_secs_f64() * 1000.0);
        sim.run_until_ns(target);
        if last_check.elapsed() > Duration::from_millis(20) {
            let now = sink_in(&sim);
            if now > got {
                got = now;
                took = started.elapsed();
                last_progress = Instant::now();
            } else if got == 0 {
                // Still connecting: not stalled yet.
                last_progress = Instant::now().max(last_progress);
            }
            last_check = Instant::now();
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let report = sim.report(0.0);
    hub.shutdown(Duration::from_secs(5));
    sim.poll_brokers(false);
    if got == 0 {
        return Err(format!(
            "nothing arrived within {limit:?}; connection: {:?}",
            sim.broker_states()
        ));
    }
    Ok(Measured {
        received: got,
        took,
        dropped: report.totals.dropped,
    })
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not used here.
    let n: u64 = std::env::var("FLOWBENCH_BROKER_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let tag = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() % 1_000_000_000);
    println!("brokers: {n} messages per case, producer → channel → sink in one process, live");

    let embedded = graph(n, None, "queue");
    let started = Instant::now();
    let mut sim = Simulation::new(&embedded, Some(1)).expect("builds");
    sim.run_to_idle(None);
    let took = started.elapsed();
    println!(
        "  embedded queue (as fast as possible): {:>9.0} messages/s ({took:.2?})",
        n as f64 / took.as_secs_f64()
    );

    let cases = [
        (
            "RabbitMQ queue (confirms, acks, prefetch 100)",
            "queue",
            json!({"kind": "rabbitmq", "queue": format!("flowbench-bench-{tag}"),
                   "durable": false, "prefetch": 100}),
        ),
        (
            "RabbitMQ durable queue (persistent)",
            "queue",
            json!({"kind": "rabbitmq", "queue": format!("flowbench-bench-durable-{tag}"),
                   "durable": true, "prefetch": 100}),
        ),
        (
            "NATS topic (core NATS)",
            "topic",
            json!({"kind": "nats", "subject": format!("flowbench.bench.{tag}")}),
        ),
        (
            "JetStream event log (publish acks, durable consumer)",
            "event_log",
            json!({"kind": "jetstream", "stream": format!("FLOWBENCH_BENCH_{tag}"),
                   "subject": format!("flowbench.bench.{tag}.>")}),
        ),
    ];
    for (name, kind, backend) in cases {
        let g = graph(n, Some(backend.clone()), kind);
        match live(&g, n, Duration::from_secs(120)) {
            Ok(m) => {
                let rate = m.received as f64 / m.took.as_secs_f64();
                let mut line = format!("  {name}: {rate:>9.0} messages/s ({:.2?}", m.took);
                if m.received < n {
                    line.push_str(&format!(
                        "; {} of {n} arrived, {} dropped by the subscriber's full buffer, {} \
                         never delivered by the broker",
                        m.received,
                        m.dropped,
                        n - m.received - m.dropped.min(n - m.received)
                    ));
                }
                println!("{line})");
            }
            Err(e) => println!("  {name}: not measured: {e}"),
        }
        if let Some(node) = g.nodes.iter().find(|n| n.id == "c")
            && let Some(b) = node.config.backend()
        {
            let _ = flowbench_engine::broker::remove(b, Duration::from_secs(5));
        }
    }
}
