//! Engine throughput: scheduler events per second (criterion's throughput) and simulated
//! messages per second (printed) on
//!
//! - M/M/1: `sample-graphs/mm1.json` itself, and the same model a thousand times faster;
//! - a tandem of three M/M/1 stations;
//! - pub/sub fan-out: a producer, a topic and ten subscriber services with their sinks;
//! - `sample-graphs/online-shop.json` (clients, gateway, saga, breaker, event log, projector),
//!   run until idle;
//! - generated graphs of 100, 1,000 and 10,000 nodes (parallel chains of producer → queue or
//!   keyed topic → service → service with retries → sink), and the earlier 500-node graph;
//!
//! and the wall time of one hour of M/M/1 traffic at 1,000 messages per second.
//!
//! `cargo bench -p flowbench-engine --bench engine` (a few minutes). Runs are deterministic, so
//! one run before measuring tells how many events (and messages) every iteration processes;
//! that run's line also gives its time on CPU. Small graphs: each iteration builds a fresh
//! simulation before the timer starts and times its run. Generated graphs: one simulation is
//! built and warmed up once, and each iteration times the next fixed number of steps of
//! that ongoing run (steady state, full event heap and node state); a step is one event
//! from the scheduler with the deliveries it makes at once, and the counting run tells how
//! many events that is in all.
//!
//! `FLOWBENCH_BENCH_CLOCK=cpu` makes criterion time the thread's CPU time instead of wall
//! time (groups `events_cpu`, `cpu_time`): the figure to trust on a machine shared with other
//! work.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput};
use flowbench_engine::model::{QueueConfig, TopicConfig};
use flowbench_engine::{Edge, Graph, Node, NodeConfig, Report, Simulation};

mod common;

use common::chains::{LIGHT, chains, exp, generated, producer, service, sink};

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

/// The sample graph as shipped: λ = 0.9/s, mean service 1 s.
const MM1_JSON: &str = include_str!("../../sample-graphs/mm1.json");
const ONLINE_SHOP_JSON: &str = include_str!("../../sample-graphs/online-shop.json");

const SECOND: f64 = 1000.0;
const HOUR_MS: f64 = 3_600_000.0;

fn parse(json: &str) -> Graph {
    Graph::from_json_str(json).expect("the benchmark graphs parse")
}

fn mm1() -> Graph {
    parse(MM1)
}

fn unbounded_queue() -> NodeConfig {
    NodeConfig::Queue(QueueConfig {
        capacity: None,
        ..QueueConfig::default()
    })
}

/// Three M/M/1 stations in series, a thousand times the SimPy comparison's rates:
/// λ = 500/s, μ = 1000, 800 and 900 /s, each station an unbounded queue and one worker.
fn tandem3() -> Graph {
    let mut g = Graph {
        name: "tandem of three M/M/1 stations".into(),
        seed: 42,
        ..Graph::default()
    };
    g.nodes.push(Node::new("arrivals", producer(500.0, None)));
    let mut last = "arrivals".to_owned();
    for (i, mu) in [1000.0, 800.0, 900.0].into_iter().enumerate() {
        let (q, s) = (format!("q{i}"), format!("station{i}"));
        g.nodes.push(Node::new(q.clone(), unbounded_queue()));
        g.nodes
            .push(Node::new(s.clone(), service(1, exp(1000.0 / mu))));
        g.edges.push(Edge::new(last, q.clone()));
        g.edges.push(Edge::new(q, s.clone()));
        last = s;
    }
    g.nodes.push(Node::new("done", sink()));
    g.edges.push(Edge::new(last, "done"));
    g
}

/// Pub/sub fan-out: a producer (1,000/s, Poisson) publishes to a topic (one partition,
/// 1,000 waiting per subscriber, blocking) read by ten services (two workers each,
/// exponential 1 ms, so half busy), each delivering to its own sink.
fn fanout10() -> Graph {
    let mut g = Graph {
        name: "fan-out to 10 subscribers".into(),
        seed: 42,
        ..Graph::default()
    };
    g.nodes.push(Node::new("events", producer(1000.0, None)));
    g.nodes.push(Node::new(
        "topic",
        NodeConfig::Topic(TopicConfig::default()),
    ));
    g.edges.push(Edge::new("events", "topic"));
    for i in 0..10 {
        let (s, done) = (format!("subscriber{i}"), format!("done{i}"));
        g.nodes.push(Node::new(s.clone(), service(2, exp(1.0))));
        g.nodes.push(Node::new(done.clone(), sink()));
        g.edges.push(Edge::new("topic", s.clone()));
        g.edges.push(Edge::new(s, done));
    }
    g
}

/// What a benchmark times.
#[derive(Debug, Clone, Copy)]
enum Span {
    /// A fresh simulation (built before the timer starts) from time 0 to `to_ms`.
    Fresh { to_ms: f64 },
    /// A fresh simulation from time 0 until no event is left.
    ToIdle,
    /// `events` events of one long run that goes on from iteration to iteration, after
    /// `warm_ms` of warm-up: the steady state of a graph too big to rebuild every time.
    Steady { warm_ms: f64, events: u64 },
}

/// Builds a simulation of `graph` (the untimed part of a fresh iteration).
fn build(graph: &Graph) -> Simulation {
    Simulation::new(graph, None).expect("the benchmark graphs are valid")
}

/// The timed part of a fresh iteration.
fn run_fresh(mut sim: Simulation, span: Span) -> Simulation {
    match span {
        Span::Fresh { to_ms } => sim.run_until_ms(to_ms),
        Span::ToIdle => sim.run_to_idle(None),
        Span::Steady { .. } => unreachable!("steady runs are not rebuilt"),
    }
    sim
}

/// Processes exactly `events` events.
fn steps(sim: &mut Simulation, events: u64) {
    for _ in 0..events {
        assert!(sim.step(), "the generated graphs never run dry");
    }
}

/// Events processed and messages that entered the graph (created + fan-out copies) in one
/// iteration.
#[derive(Debug, Clone, Copy)]
struct Work {
    events: u64,
    messages: u64,
}

fn entered(report: &Report) -> u64 {
    report.totals.created + report.totals.copies
}

fn checked_report(sim: &Simulation) -> Report {
    let report = sim.report(0.0);
    assert!(report.conservation.ok, "{:?}", report.conservation.detail);
    report
}

/// The process's resident set now, in MiB (Linux; 0 elsewhere).
fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// This thread's time on a CPU so far, in ns (Linux: schedstat). The kernel brings the
/// figure up to date at ticks and switches, so yield first to make it exact.
fn thread_cpu_ns() -> Option<u64> {
    std::thread::yield_now();
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Timers pending on average: every producer keeps one, every busy worker one (Little's
/// law over the run: utilization × workers).
fn pending_timers(report: &Report) -> f64 {
    report
        .nodes
        .values()
        .map(|n| match n.kind.as_str() {
            "producer" | "client" => 1.0,
            "service" => n.utilization.unwrap_or(0.0) * f64::from(n.workers.unwrap_or(0)),
            _ => 0.0,
        })
        .sum()
}

/// Runs one iteration to count its work (runs are deterministic), timing it cold, and prints
/// events/s and simulated messages/s with what the graph is made of. A steady benchmark's
/// simulation is returned to go on with.
fn count(name: &str, graph: &Graph, span: Span) -> (Work, Option<Simulation>) {
    let rss_before = resident_mib();
    let start = Instant::now();
    let mut sim = build(graph);
    let built = start.elapsed().as_secs_f64();
    let mut warmed = 0.0;
    if let Span::Steady { warm_ms, .. } = span {
        let start = Instant::now();
        sim.run_until_ms(warm_ms);
        warmed = start.elapsed().as_secs_f64();
    }
    let before = checked_report(&sim);
    let cpu_start = thread_cpu_ns();
    let start = Instant::now();
    let sim = match span {
        Span::Steady { events, .. } => {
            steps(&mut sim, events);
            sim
        }
        _ => run_fresh(sim, span),
    };
    let secs = start.elapsed().as_secs_f64();
    // Time on CPU, or wall time where the schedstat cannot be read.
    let cpu = match (cpu_start, thread_cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => secs,
    };
    let after = checked_report(&sim);
    let work = Work {
        events: after.events - before.events,
        messages: entered(&after) - entered(&before),
    };
    let what = match span {
        Span::Fresh { to_ms } => format!("{} s simulated", to_ms / SECOND),
        Span::ToIdle => format!("until idle ({:.1} s simulated)", after.sim_time_ms / SECOND),
        Span::Steady { warm_ms, .. } => format!(
            "{:.2} s simulated after {} s of warm-up",
            (after.sim_time_ms - before.sim_time_ms) / SECOND,
            warm_ms / SECOND
        ),
    };
    println!(
        "{name}: {} nodes, {what}: {} events, {} messages (created + copies); first run {:.4} s \
         = {:.2} M events/s, {:.2} M messages/s; on CPU {:.4} s = {:.2} M events/s, \
         {:.2} M messages/s (build {built:.3} s, warm-up {warmed:.3} s, not timed)",
        graph.nodes.len(),
        work.events,
        work.messages,
        secs,
        work.events as f64 / secs / 1e6,
        work.messages as f64 / secs / 1e6,
        cpu,
        work.events as f64 / cpu / 1e6,
        work.messages as f64 / cpu / 1e6,
    );
    if let Span::Steady { .. } = span {
        let timers = pending_timers(&after);
        println!(
            "{name}: about {timers:.0} timers pending on average (event heap about {:.0} KiB \
             of 16-byte keys and 16-byte events); resident memory {:.0} MiB before building, \
             {:.0} MiB now",
            timers * 16.0 / 1024.0,
            rss_before,
            resident_mib(),
        );
        (work, Some(sim))
    } else {
        (work, None)
    }
}

/// One criterion benchmark of the `events` group.
struct Case {
    name: &'static str,
    graph: Graph,
    span: Span,
    /// Criterion's samples: fewer for long iterations (10 is its least).
    samples: usize,
    measurement_secs: u64,
}

/// Criterion measurement: this thread's time on a CPU (schedstat), in nanoseconds. Unlike
/// wall time it leaves out the time other processes had the core, so it stays close to an
/// idle machine's figure on a shared one (caches and memory bandwidth are still shared).
/// Chosen with `FLOWBENCH_BENCH_CLOCK=cpu`.
struct ThreadCpuTime {
    /// Whose formatting (nanoseconds, elements per second) it shares.
    wall: WallTime,
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = Duration;

    fn start(&self) -> u64 {
        thread_cpu_ns().expect("FLOWBENCH_BENCH_CLOCK=cpu needs /proc/thread-self/schedstat")
    }

    fn end(&self, start: u64) -> Duration {
        let now = thread_cpu_ns().expect("the schedstat was readable at the start");
        Duration::from_nanos(now.saturating_sub(start))
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

/// Criterion's options that take a value (the filter is the first argument that is neither an
/// option nor such a value).
const VALUED_OPTIONS: &[&str] = &[
    "--save-baseline",
    "-s",
    "--baseline",
    "-b",
    "--baseline-lenient",
    "--load-baseline",
    "--measurement-time",
    "--warm-up-time",
    "--sample-size",
    "--profile-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--plotting-backend",
    "--output-format",
    "--color",
    "-c",
    "--format",
];

/// Whether the benchmark `id` passes the command line's filter. Counting a big graph's work
/// takes a while, so benchmarks the filter leaves out are not even prepared. A filter with
/// regular-expression characters is left to criterion.
fn wanted(id: &str) -> bool {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if VALUED_OPTIONS.contains(&arg.as_str()) {
            args.next();
        } else if !arg.starts_with('-') {
            let literal = !arg.contains(|c: char| "\\.^$|?*+()[]{}".contains(c));
            return !literal || id.contains(&arg);
        }
    }
    true
}

/// Criterion group names: wall-clock results and CPU-time results are kept apart.
struct Groups {
    events: &'static str,
    hour: &'static str,
}

fn bench_case<M: Measurement>(c: &mut Criterion<M>, groups: &Groups, case: &Case) {
    if !wanted(&format!("{}/{}", groups.events, case.name)) {
        return;
    }
    let (work, steady) = count(case.name, &case.graph, case.span);
    if once() {
        return;
    }
    let mut group = c.benchmark_group(groups.events);
    group.throughput(Throughput::Elements(work.events));
    group.sample_size(case.samples);
    group.measurement_time(Duration::from_secs(case.measurement_secs));
    let (graph, span) = (&case.graph, case.span);
    match (span, steady) {
        (Span::Steady { events, .. }, Some(mut sim)) => {
            group.sampling_mode(SamplingMode::Flat);
            group.bench_function(case.name, |b| {
                b.iter_batched(
                    || (),
                    |()| steps(black_box(&mut sim), events),
                    BatchSize::PerIteration,
                )
            });
        }
        _ => {
            if case.samples < 100 {
                group.sampling_mode(SamplingMode::Flat);
            }
            group.bench_function(case.name, |b| {
                b.iter_batched(
                    || build(black_box(graph)),
                    |sim| run_fresh(sim, span),
                    BatchSize::PerIteration,
                )
            });
        }
    }
    group.finish();
}

fn events_per_second<M: Measurement>(c: &mut Criterion<M>, groups: &Groups) {
    let fresh = |name, graph, to_ms: f64, samples| Case {
        name,
        graph,
        span: Span::Fresh { to_ms },
        samples,
        measurement_secs: 10,
    };
    let cases = [
        fresh("mm1_60s", mm1(), 60.0 * SECOND, 100),
        fresh("mm1_json_100h", parse(MM1_JSON), 100.0 * HOUR_MS, 40),
        fresh("tandem3_60s", tandem3(), 60.0 * SECOND, 100),
        fresh("fanout10_20s", fanout10(), 20.0 * SECOND, 40),
        Case {
            name: "online_shop",
            graph: parse(ONLINE_SHOP_JSON),
            span: Span::ToIdle,
            samples: 100,
            measurement_secs: 10,
        },
        Case {
            name: "gen100",
            graph: generated(100),
            span: Span::Steady {
                warm_ms: 2.0 * SECOND,
                events: 500_000,
            },
            samples: 30,
            measurement_secs: 5,
        },
        Case {
            name: "gen1000",
            graph: generated(1000),
            span: Span::Steady {
                warm_ms: 2.0 * SECOND,
                events: 1_000_000,
            },
            samples: 10,
            measurement_secs: 5,
        },
        Case {
            name: "gen10000",
            graph: generated(10_000),
            span: Span::Steady {
                warm_ms: 1.0 * SECOND,
                events: 3_000_000,
            },
            samples: 10,
            measurement_secs: 25,
        },
        Case {
            name: "chains500_10s",
            graph: chains(100, LIGHT),
            span: Span::Fresh {
                to_ms: 10.0 * SECOND,
            },
            samples: 10,
            measurement_secs: 5,
        },
    ];
    for case in &cases {
        bench_case(c, groups, case);
    }
}

/// Runs `graph` for `duration_ms`, building it and checking its report: the whole run.
fn simulate(graph: &Graph, duration_ms: f64) -> Work {
    let mut sim = Simulation::new(graph, None).expect("the benchmark graphs are valid");
    sim.run_until_ms(duration_ms);
    let report = checked_report(&sim);
    Work {
        events: sim.events(),
        messages: entered(&report),
    }
}

fn hour_of_mm1<M: Measurement>(c: &mut Criterion<M>, groups: &Groups) {
    if !wanted(&format!("{}/mm1_1h_at_1000_per_s", groups.hour)) {
        return;
    }
    if once() {
        return;
    }
    let mm1 = mm1();
    let start = Instant::now();
    let work = simulate(&mm1, HOUR_MS);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "mm1 1h: {} events, {} messages; one cold run {secs:.3} s = {:.2} M events/s",
        work.events,
        work.messages,
        work.events as f64 / secs / 1e6
    );
    let mut group = c.benchmark_group(groups.hour);
    group.throughput(Throughput::Elements(work.events));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("mm1_1h_at_1000_per_s", |b| {
        b.iter(|| simulate(black_box(&mm1), HOUR_MS))
    });
    group.finish();
}

/// `FLOWBENCH_BENCH_ONCE=1`: only the first, counting run of each case (its figures are
/// printed), no criterion measurement: for a profiler such as `valgrind --tool=cachegrind`.
fn once() -> bool {
    std::env::var_os("FLOWBENCH_BENCH_ONCE").is_some_and(|v| v == "1")
}

fn run_all<M: Measurement>(mut c: Criterion<M>, groups: &Groups) {
    events_per_second(&mut c, groups);
    hour_of_mm1(&mut c, groups);
    c.final_summary();
}

fn main() {
    match std::env::var("FLOWBENCH_BENCH_CLOCK").as_deref() {
        Ok("cpu") => run_all(
            Criterion::default()
                .with_measurement(ThreadCpuTime { wall: WallTime })
                .configure_from_args(),
            &Groups {
                events: "events_cpu",
                hour: "cpu_time",
            },
        ),
        Ok("wall") | Err(_) => run_all(
            Criterion::default().configure_from_args(),
            &Groups {
                events: "events",
                hour: "wall_time",
            },
        ),
        Ok(other) => {
            panic!("FLOWBENCH_BENCH_CLOCK is `wall` (the default) or `cpu`, not {other:?}")
        }
    }
}
