//! Engine throughput: scheduler events per second on the M/M/1 graph and on a 500-node
//! graph, and the wall time of one hour of M/M/1 traffic at 1,000 messages per second.
//!
//! `cargo bench -p flowbench-engine --bench engine`. Runs are deterministic, so one run
//! before measuring tells how many events (and messages) every iteration processes; criterion
//! then reports events per second as its throughput.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flowbench_engine::model::{
    Arrival, Dist, ProducerConfig, QueueConfig, ServiceConfig, SinkConfig, TopicConfig,
};
use flowbench_engine::{Edge, Graph, Node, NodeConfig, Simulation};

/// sample-graphs/mm1.json at a thousand times its rate: λ = 1000/s, μ = 1111/s (ρ = 0.9).
const MM1: &str = r#"{
  "format": "flowbench.graph",
  "version": 1,
  "name": "M/M/1 queue at 1000 msg/s",
  "seed": 42,
  "nodes": [
    {"id": "orders", "kind": "producer",
     "config": {"rate_per_sec": 1000, "arrival": "poisson"}},
    {"id": "q", "kind": "queue",
     "config": {"capacity": null, "when_full": "block"}},
    {"id": "worker", "kind": "service",
     "config": {"concurrency": 1, "service_time": {"dist": "exp", "mean_ms": 0.9}}},
    {"id": "done", "kind": "sink"}
  ],
  "edges": [
    {"from": "orders", "to": "q"},
    {"from": "q", "to": "worker"},
    {"from": "worker", "to": "done"}
  ],
  "faults": []
}"#;

const MM1_MS: f64 = 60_000.0;
const HOUR_MS: f64 = 3_600_000.0;
const CHAINS_MS: f64 = 10_000.0;

fn mm1() -> Graph {
    Graph::from_json_str(MM1).expect("the M/M/1 graph parses")
}

/// `chains` parallel pipelines of five nodes each: producer → channel → service → service →
/// sink. Even chains use a queue with two workers; odd chains a keyed topic with four
/// partitions, whose order-per-key rule makes the second stage wait on the first.
fn chains(chains: usize) -> Graph {
    let mut g = Graph {
        name: format!("{chains} parallel chains"),
        seed: 7,
        ..Graph::default()
    };
    for c in 0..chains {
        let id = |role: &str| format!("{role}{c}");
        let keyed = c % 2 == 1;
        g.nodes.push(Node::new(
            id("producer"),
            NodeConfig::Producer(ProducerConfig {
                rate_per_sec: 200.0,
                arrival: Arrival::Poisson,
                keys: keyed.then_some(16),
                ..ProducerConfig::default()
            }),
        ));
        let channel = if keyed {
            NodeConfig::Topic(TopicConfig {
                partitions: 4,
                ..TopicConfig::default()
            })
        } else {
            NodeConfig::Queue(QueueConfig::default())
        };
        g.nodes.push(Node::new(id("channel"), channel));
        g.nodes.push(Node::new(
            id("parse"),
            NodeConfig::Service(ServiceConfig {
                concurrency: 2,
                service_time: Dist::Exp { mean_ms: 4.0 },
                ..ServiceConfig::default()
            }),
        ));
        g.nodes.push(Node::new(
            id("store"),
            NodeConfig::Service(ServiceConfig {
                concurrency: 4,
                service_time: Dist::Lognormal {
                    median_ms: 2.0,
                    p99_ms: 20.0,
                },
                failure_rate: 0.01,
                max_retries: 2,
                retry_backoff_ms: 5.0,
                ..ServiceConfig::default()
            }),
        ));
        g.nodes.push(Node::new(
            id("done"),
            NodeConfig::Sink(SinkConfig::default()),
        ));
        g.edges.push(Edge::new(id("producer"), id("channel")));
        g.edges.push(Edge::new(id("channel"), id("parse")));
        g.edges.push(Edge::new(id("parse"), id("store")));
        g.edges.push(Edge::new(id("store"), id("done")));
    }
    g
}

/// Events processed and messages created by one run.
#[derive(Debug, Clone, Copy)]
struct Work {
    events: u64,
    messages: u64,
}

fn simulate(graph: &Graph, duration_ms: f64) -> Work {
    let mut sim = Simulation::new(graph, None).expect("the benchmark graphs are valid");
    sim.run_until_ms(duration_ms);
    let report = sim.report(0.0);
    assert!(report.conservation.ok, "{:?}", report.conservation.detail);
    Work {
        events: sim.events(),
        messages: report.totals.created,
    }
}

/// Runs `graph` once to count its work and `timed_runs` more to time it, prints events/s and
/// simulated messages/s, and returns the work of one run.
fn measure(name: &str, graph: &Graph, duration_ms: f64, timed_runs: u32) -> Work {
    let work = simulate(graph, duration_ms);
    let start = Instant::now();
    for _ in 0..timed_runs {
        black_box(simulate(graph, duration_ms));
    }
    let secs = start.elapsed().as_secs_f64() / f64::from(timed_runs);
    println!(
        "{name}: {} nodes, {:.0} s simulated: {} events, {} messages per run; \
         {:.3} s per run = {:.2} M events/s, {:.2} M messages/s",
        graph.nodes.len(),
        duration_ms / 1000.0,
        work.events,
        work.messages,
        secs,
        work.events as f64 / secs / 1e6,
        work.messages as f64 / secs / 1e6,
    );
    work
}

fn events_per_second(c: &mut Criterion) {
    let mm1 = mm1();
    let work = measure("mm1", &mm1, MM1_MS, 5);
    let mut group = c.benchmark_group("events");
    group.throughput(Throughput::Elements(work.events));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("mm1_60s", |b| b.iter(|| simulate(black_box(&mm1), MM1_MS)));

    let chains = chains(100);
    assert_eq!(chains.nodes.len(), 500);
    let work = measure("chains500", &chains, CHAINS_MS, 2);
    group.throughput(Throughput::Elements(work.events));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("chains500_10s", |b| {
        b.iter(|| simulate(black_box(&chains), CHAINS_MS))
    });
    group.finish();
}

fn hour_of_mm1(c: &mut Criterion) {
    let mm1 = mm1();
    let work = measure("mm1 1h", &mm1, HOUR_MS, 1);
    let mut group = c.benchmark_group("wall_time");
    group.throughput(Throughput::Elements(work.events));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("mm1_1h_at_1000_per_s", |b| {
        b.iter(|| simulate(black_box(&mm1), HOUR_MS))
    });
    group.finish();
}

criterion_group!(benches, events_per_second, hour_of_mm1);
criterion_main!(benches);
