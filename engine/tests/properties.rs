//! Properties of the engine over random valid graphs: every message is accounted for, runs
//! are reproducible (also after saving and loading the graph), a graph without faults or
//! failures loses nothing, and a crash loses exactly what a non-durable queue held.
//!
//! The generator builds layered graphs (edges only go to later layers, so there is no cycle)
//! of producers, clients, queues, topics, services and sinks, with fan-out, `error` and
//! `call` ports and overlapping fault schedules of every kind. Every property first checks
//! that its graph passes `validate` without errors, so the generator stays honest.

use std::fmt;

use flowbench_engine::model::{
    Arrival, ClientConfig, Dist, Fault, FaultKind, ProducerConfig, QueueConfig, ServiceConfig,
    SinkConfig, TopicConfig, WhenFull,
};
use flowbench_engine::sim::{RunOptions, ends_by_itself, ms_to_ns, run};
use flowbench_engine::{Edge, Graph, Node, NodeConfig, Report, Simulation, validate};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Cases per property: enough to meet every kind, port and fault often, few enough that the
/// whole file runs in seconds. `PROPTEST_CASES=10000` searches longer.
const CASES: u32 = 128;

/// More events than any generated graph needs to finish; reaching it means the run spins.
const EVENT_CAP: u64 = 50_000_000;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A generated graph; printed as its JSON file so a failing case can be saved and replayed.
#[derive(Clone)]
struct G(Graph);

impl fmt::Debug for G {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_json_pretty())
    }
}

// ---------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------

/// A node of a middle layer with its wiring still as raw picks: a pick `p` chooses
/// candidate `p % candidates.len()` among the nodes of later layers that fit the port.
#[derive(Debug, Clone)]
enum Middle {
    Queue(QueueConfig),
    Topic(TopicConfig),
    Service {
        config: ServiceConfig,
        /// `error` port to a later sink or queue.
        error: Option<u32>,
        /// `call` port to a later service.
        call: Option<u32>,
    },
}

/// A whole graph before its edges are resolved.
#[derive(Debug, Clone)]
struct Spec {
    seed: u64,
    /// Each with the picks of its `out` edges (one, or two for fan-out).
    producers: Vec<(ProducerConfig, Vec<u32>)>,
    /// Each with the pick of its one call target, a service.
    clients: Vec<(ClientConfig, u32)>,
    layers: Vec<Vec<(Middle, Vec<u32>)>>,
    sinks: usize,
    /// Picks of a sender in an earlier layer for the nodes that got no edge otherwise.
    feeders: Vec<u32>,
    /// Each with the pick of its node among all nodes.
    faults: Vec<(u32, Fault)>,
}

fn arb_arrival() -> impl Strategy<Value = Arrival> {
    prop_oneof![Just(Arrival::Poisson), Just(Arrival::Constant)]
}

fn arb_when_full() -> impl Strategy<Value = WhenFull> {
    prop_oneof![
        Just(WhenFull::Block),
        Just(WhenFull::DropNewest),
        Just(WhenFull::DropOldest)
    ]
}

/// Every distribution kind, with full-precision numbers as a slider in the designer makes.
fn arb_dist() -> impl Strategy<Value = Dist> {
    prop_oneof![
        prop_oneof![Just(0.0), 0.0..=50.0f64].prop_map(|ms| Dist::Const { ms }),
        (0.05..=50.0f64).prop_map(|mean_ms| Dist::Exp { mean_ms }),
        (0.0..=25.0f64, 0.0..=50.0f64).prop_map(|(min_ms, width)| Dist::Uniform {
            min_ms,
            max_ms: min_ms + width,
        }),
        (0.05..=25.0f64, 1.0..=10.0f64).prop_map(|(median_ms, spread)| Dist::Lognormal {
            median_ms,
            p99_ms: median_ms * spread,
        }),
    ]
}

fn arb_producer() -> impl Strategy<Value = ProducerConfig> {
    (
        1.0..=200.0f64,
        arb_arrival(),
        1u64..=300,
        option::of(1u64..=10),
    )
        .prop_map(|(rate_per_sec, arrival, limit, keys)| ProducerConfig {
            rate_per_sec,
            arrival,
            limit: Some(limit),
            keys,
            ..ProducerConfig::default()
        })
}

fn arb_client() -> impl Strategy<Value = ClientConfig> {
    (
        1.0..=200.0f64,
        arb_arrival(),
        1u64..=300,
        5.0..=500.0f64,
        option::of(1u64..=10),
    )
        .prop_map(
            |(rate_per_sec, arrival, limit, timeout_ms, keys)| ClientConfig {
                rate_per_sec,
                arrival,
                limit: Some(limit),
                timeout_ms,
                keys,
                ..ClientConfig::default()
            },
        )
}

fn arb_queue() -> impl Strategy<Value = QueueConfig> {
    // Small capacities often, so that buffers fill up and `when_full` matters.
    let capacity = option::of(prop_oneof![1u64..=5, 1u64..=50]);
    (capacity, arb_when_full(), any::<bool>()).prop_map(|(capacity, when_full, durable)| {
        QueueConfig {
            capacity,
            when_full,
            durable,
        }
    })
}

fn arb_topic() -> impl Strategy<Value = TopicConfig> {
    let capacity = option::of(prop_oneof![1u64..=3, 1u64..=20]);
    (1u32..=4, capacity, arb_when_full()).prop_map(
        |(partitions, subscriber_capacity, when_full)| TopicConfig {
            partitions,
            subscriber_capacity,
            when_full,
        },
    )
}

fn arb_service() -> impl Strategy<Value = ServiceConfig> {
    (
        1u32..=4,
        arb_dist(),
        prop_oneof![Just(0.0), 0.0..=0.5f64],
        0u32..=3,
        prop_oneof![Just(0.0), 0.0..=50.0f64],
    )
        .prop_map(
            |(concurrency, service_time, failure_rate, max_retries, retry_backoff_ms)| {
                ServiceConfig {
                    concurrency,
                    service_time,
                    failure_rate,
                    max_retries,
                    retry_backoff_ms,
                    ..ServiceConfig::default()
                }
            },
        )
}

/// One or two targets: two is fan-out (copies), or competing consumers behind a queue.
fn arb_outs() -> impl Strategy<Value = Vec<u32>> {
    vec(any::<u32>(), 1..=2)
}

fn arb_middle() -> impl Strategy<Value = (Middle, Vec<u32>)> {
    let middle = prop_oneof![
        arb_queue().prop_map(Middle::Queue),
        arb_topic().prop_map(Middle::Topic),
        (
            arb_service(),
            option::of(any::<u32>()),
            option::of(any::<u32>())
        )
            .prop_map(|(config, error, call)| Middle::Service {
                config,
                error,
                call
            }),
    ];
    (middle, arb_outs())
}

/// Any fault kind on any node, starting within the first 2 s, ending later or never.
fn arb_fault() -> impl Strategy<Value = Fault> {
    let kind = prop_oneof![
        1 => Just(FaultKind::Fail),
        1 => Just(FaultKind::Slow),
        2 => Just(FaultKind::Crash),
        1 => Just(FaultKind::Stop)
    ];
    (
        kind,
        0.0..=2000.0f64,
        option::of(0.0..=3000.0f64),
        option::of(0.0..=1.0f64),
        1.0..=10.0f64,
    )
        .prop_map(|(kind, at_ms, length, rate, factor)| {
            let mut f = fault("", kind, at_ms, length.map(|l| at_ms + l));
            f.rate = rate.filter(|_| kind == FaultKind::Fail);
            f.factor = (kind == FaultKind::Slow).then_some(factor);
            f
        })
}

/// A fault with only its node, kind and window set; every other field at its default.
fn fault(node: &str, kind: FaultKind, at_ms: f64, until_ms: Option<f64>) -> Fault {
    let value =
        serde_json::json!({"node": node, "kind": kind, "at_ms": at_ms, "until_ms": until_ms});
    serde_json::from_value(value).expect("a fault with node, kind and times parses")
}

fn arb_spec() -> impl Strategy<Value = Spec> {
    (
        any::<u64>(),
        vec((arb_producer(), arb_outs()), 0..=3),
        vec((arb_client(), any::<u32>()), 0..=2),
        vec(vec(arb_middle(), 1..=3), 1..=4),
        1usize..=2,
        vec((any::<u32>(), arb_fault()), 0..=6),
        (arb_producer(), arb_outs()),
        vec(any::<u32>(), 16),
    )
        .prop_map(
            |(seed, mut producers, clients, layers, sinks, faults, fallback, feeders)| {
                // At least one source; a client only counts when there is a service to call.
                let services = layers
                    .iter()
                    .flatten()
                    .any(|(m, _)| matches!(m, Middle::Service { .. }));
                if producers.is_empty() && (clients.is_empty() || !services) {
                    producers.push(fallback);
                }
                Spec {
                    seed,
                    producers,
                    clients,
                    layers,
                    sinks,
                    feeders,
                    faults,
                }
            },
        )
}

/// Random valid graphs, faults and failures included.
fn arb_graph() -> impl Strategy<Value = G> {
    arb_spec().prop_map(|spec| G(build(spec)))
}

/// Random valid graphs without faults, without failures and with clients that wait for
/// their replies as long as it takes.
fn arb_calm_graph() -> impl Strategy<Value = G> {
    arb_graph().prop_map(|G(mut g)| {
        g.faults.clear();
        for node in &mut g.nodes {
            match &mut node.config {
                NodeConfig::Service(s) => s.failure_rate = 0.0,
                NodeConfig::Client(c) => c.timeout_ms = 1e9,
                _ => {}
            }
        }
        G(g)
    })
}

/// Random valid graphs whose every fault ends (within 5 s).
fn arb_graph_with_ending_faults() -> impl Strategy<Value = G> {
    arb_graph().prop_map(|G(mut g)| {
        for f in &mut g.faults {
            f.until_ms.get_or_insert(f.at_ms + 1000.0);
        }
        G(g)
    })
}

/// What a node of a later layer can be wired to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Queue,
    Topic,
    Service,
    Sink,
}

fn pick<'a>(candidates: &[&'a str], p: u32) -> Option<&'a str> {
    (!candidates.is_empty()).then(|| candidates[p as usize % candidates.len()])
}

/// Resolves a spec's picks into nodes and edges. Layer 0 holds the sources, the middle
/// layers follow, the sinks come last; an edge only goes to a later layer.
fn build(spec: Spec) -> Graph {
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    // (layer, id) of every node that sends messages out of port `out`.
    let mut senders: Vec<(usize, String)> = Vec::new();
    // (layer, id, role) of every node that can receive.
    let mut receivers: Vec<(usize, String, Role)> = Vec::new();
    for (l, layer) in spec.layers.iter().enumerate() {
        for (i, (middle, _)) in layer.iter().enumerate() {
            let role = match middle {
                Middle::Queue(_) => Role::Queue,
                Middle::Topic(_) => Role::Topic,
                Middle::Service { .. } => Role::Service,
            };
            receivers.push((l + 1, format!("m{}_{i}", l + 1), role));
        }
    }
    let sink_layer = spec.layers.len() + 1;
    for i in 0..spec.sinks {
        receivers.push((sink_layer, format!("sink{i}"), Role::Sink));
    }
    let later = |layer: usize, roles: &[Role]| -> Vec<String> {
        receivers
            .iter()
            .filter(|(l, _, r)| *l > layer && roles.contains(r))
            .map(|(_, id, _)| id.clone())
            .collect()
    };
    let any_role = [Role::Queue, Role::Topic, Role::Service, Role::Sink];
    let wire = |edges: &mut Vec<Edge>, from: &str, port: &str, to: &str| {
        let exists = edges
            .iter()
            .any(|e: &Edge| e.from == from && e.to == to && e.port == port);
        if !exists {
            edges.push(Edge::new(from, to).with_port(port));
        }
    };

    for (i, (config, outs)) in spec.producers.iter().enumerate() {
        let id = format!("p{i}");
        let targets = later(0, &any_role);
        let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
        for &o in outs {
            let to = pick(&targets, o).expect("sinks always exist");
            wire(&mut edges, &id, "out", to);
        }
        senders.push((0, id.clone()));
        nodes.push(Node::new(id, NodeConfig::Producer(config.clone())));
    }
    let services = later(0, &[Role::Service]);
    let services: Vec<&str> = services.iter().map(String::as_str).collect();
    for (i, (config, target)) in spec.clients.iter().enumerate() {
        let Some(to) = pick(&services, *target) else {
            continue;
        };
        let id = format!("c{i}");
        wire(&mut edges, &id, "out", to);
        nodes.push(Node::new(id, NodeConfig::Client(config.clone())));
    }
    for (l, layer) in spec.layers.iter().enumerate() {
        let layer_no = l + 1;
        let onward = later(layer_no, &any_role);
        let onward: Vec<&str> = onward.iter().map(String::as_str).collect();
        let error_targets = later(layer_no, &[Role::Sink, Role::Queue]);
        let error_targets: Vec<&str> = error_targets.iter().map(String::as_str).collect();
        let callees = later(layer_no, &[Role::Service]);
        let callees: Vec<&str> = callees.iter().map(String::as_str).collect();
        for (i, (middle, outs)) in layer.iter().enumerate() {
            let id = format!("m{layer_no}_{i}");
            for &o in outs {
                let to = pick(&onward, o).expect("sinks always exist");
                wire(&mut edges, &id, "out", to);
            }
            let config = match middle {
                Middle::Queue(c) => NodeConfig::Queue(c.clone()),
                Middle::Topic(c) => NodeConfig::Topic(c.clone()),
                Middle::Service {
                    config,
                    error,
                    call,
                } => {
                    if let Some(to) = error.and_then(|p| pick(&error_targets, p)) {
                        wire(&mut edges, &id, "error", to);
                    }
                    if let Some(to) = call.and_then(|p| pick(&callees, p)) {
                        wire(&mut edges, &id, "call", to);
                    }
                    NodeConfig::Service(config.clone())
                }
            };
            senders.push((layer_no, id.clone()));
            nodes.push(Node::new(id, config));
        }
    }
    for i in 0..spec.sinks {
        nodes.push(Node::new(
            format!("sink{i}"),
            NodeConfig::Sink(SinkConfig::default()),
        ));
    }
    // A node nothing sends to would sit idle: give it a sender from an earlier layer.
    for (k, (layer, id, _)) in receivers.iter().enumerate() {
        if edges.iter().any(|e| &e.to == id) {
            continue;
        }
        let earlier: Vec<&str> = senders
            .iter()
            .filter(|(l, _)| l < layer)
            .map(|(_, s)| s.as_str())
            .collect();
        if let Some(from) = pick(&earlier, spec.feeders[k % spec.feeders.len()]) {
            wire(&mut edges, from, "out", id);
        }
    }
    let faults = spec
        .faults
        .into_iter()
        .map(|(p, mut fault)| {
            fault.node = nodes[p as usize % nodes.len()].id.clone();
            fault
        })
        .collect();
    Graph {
        name: "random layered graph".to_owned(),
        seed: spec.seed,
        nodes,
        edges,
        faults,
        ..Graph::default()
    }
}

// ---------------------------------------------------------------------------------------
// Running and checking
// ---------------------------------------------------------------------------------------

/// Builds the simulation of a generated graph, which must validate without errors.
fn simulation(g: &Graph) -> Result<Simulation, TestCaseError> {
    let errors: Vec<String> = validate(g)
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect();
    prop_assert!(errors.is_empty(), "generated graph is invalid: {errors:?}");
    Simulation::new(g, None).map_err(|e| TestCaseError::fail(format!("build failed: {e:?}")))
}

/// Runs until no event is left, failing if the run never settles.
fn run_to_idle(sim: &mut Simulation) -> Result<(), TestCaseError> {
    while sim.step() {
        prop_assert!(
            sim.events() < EVENT_CAP,
            "still busy after {} events at {} ms",
            sim.events(),
            sim.now_ms()
        );
    }
    Ok(())
}

/// The conservation check, and the books of each node that can be checked on its own.
fn check_books(r: &Report) -> Result<(), TestCaseError> {
    prop_assert!(
        r.conservation.ok,
        "conservation broken at {} ms: {:?} {:?}",
        r.sim_time_ms,
        r.conservation.detail,
        r.totals
    );
    let t = &r.totals;
    prop_assert_eq!(t.created + t.copies, t.accounted());
    let mut lost = 0;
    let mut dropped = 0;
    for (id, n) in &r.nodes {
        lost += n.lost.unwrap_or(0);
        dropped += n.dropped.unwrap_or(0);
        if n.kind == "queue" {
            let left = n.out
                + n.dropped.unwrap_or(0)
                + n.failed.unwrap_or(0)
                + n.lost.unwrap_or(0)
                + n.in_flight.unwrap_or(0);
            prop_assert_eq!(
                n.in_,
                left,
                "queue '{}': in != out + dropped + failed + lost + waiting",
                id
            );
        }
    }
    prop_assert_eq!(lost, t.lost, "the nodes' lost do not add up to totals.lost");
    prop_assert_eq!(
        dropped,
        t.dropped,
        "the nodes' dropped do not add up to totals.dropped"
    );
    Ok(())
}

fn queue_waiting(sim: &Simulation, id: &str) -> u64 {
    sim.report(0.0).nodes[id].in_flight.unwrap_or(0)
}

/// Stop times in increasing order.
fn sorted(mut times: Vec<f64>) -> Vec<f64> {
    times.sort_by(f64::total_cmp);
    times
}

proptest! {
    #![proptest_config(config())]

    /// The generator only makes graphs that validate without errors, end by themselves and
    /// that the engine can build.
    #[test]
    fn generated_graphs_are_valid(G(g) in arb_graph()) {
        simulation(&g)?;
        prop_assert!(ends_by_itself(&g));
    }

    /// Run until nothing is left to do, every message that entered the graph is delivered,
    /// dropped, failed, rejected, filtered or lost, none in flight unaccounted for.
    #[test]
    fn conservation_holds_at_idle(G(g) in arb_graph()) {
        let mut sim = simulation(&g)?;
        run_to_idle(&mut sim)?;
        check_books(&sim.report(0.0))?;
    }

    /// Stopped anywhere in the middle of a run, and again later, the books balance: what
    /// is not yet accounted for is counted in flight.
    #[test]
    fn conservation_holds_mid_run(
        G(g) in arb_graph(),
        stops in vec(0.0..=5000.0f64, 1..=3),
    ) {
        let mut sim = simulation(&g)?;
        for stop in sorted(stops) {
            sim.run_until_ms(stop);
            check_books(&sim.report(0.0))?;
        }
    }

    /// The same graph and seed give the same report, number for number, whether the run
    /// goes to idle or stops at a given time.
    #[test]
    fn same_graph_and_seed_give_the_same_report(
        G(g) in arb_graph(),
        duration_ms in option::of(0.0..=5000.0f64),
    ) {
        simulation(&g)?;
        let options = RunOptions { duration_ms, seed: None };
        let first = run(&g, &options).expect("valid graph");
        let second = run(&g, &options).expect("valid graph");
        prop_assert_eq!(first.without_wall_time(), second.without_wall_time());
    }

    /// Saving a graph and loading it back gives the same graph, and so the same report.
    #[test]
    fn json_round_trip_gives_the_same_report(
        G(g) in arb_graph(),
        duration_ms in option::of(0.0..=5000.0f64),
    ) {
        simulation(&g)?;
        let again = Graph::from_json_str(&g.to_json_pretty()).expect("own output parses");
        prop_assert_eq!(&again, &g);
        let options = RunOptions { duration_ms, seed: None };
        let before = run(&g, &options).expect("valid graph");
        let after = run(&again, &options).expect("valid graph");
        prop_assert_eq!(before.without_wall_time(), after.without_wall_time());
    }

    /// Running in several steps (as the designer does while it animates a run) gives the
    /// same report as running to the end in one go.
    #[test]
    fn running_in_steps_gives_the_same_report(
        G(g) in arb_graph(),
        cuts in vec(0.0..=5000.0f64, 1..=4),
        end_ms in 0.0..=5000.0f64,
    ) {
        let mut whole = simulation(&g)?;
        whole.run_until_ms(end_ms);
        let mut stepped = simulation(&g)?;
        for cut in sorted(cuts).into_iter().filter(|&c| c <= end_ms) {
            stepped.run_until_ms(cut);
        }
        stepped.run_until_ms(end_ms);
        prop_assert_eq!(whole.report(0.0), stepped.report(0.0));
    }

    /// Without faults and failures nothing fails or is lost: every message is delivered,
    /// dropped by a full buffer, or still in flight, and once the run is idle nothing is
    /// left in flight.
    #[test]
    fn without_faults_every_message_is_delivered_dropped_or_in_flight(
        G(g) in arb_calm_graph(),
        stop_ms in 0.0..=5000.0f64,
    ) {
        let mut sim = simulation(&g)?;
        let check = |r: &Report| -> Result<(), TestCaseError> {
            let t = &r.totals;
            prop_assert_eq!(
                (t.failed, t.lost, t.rejected, t.filtered),
                (0, 0, 0, 0),
                "at {} ms: {:?}", r.sim_time_ms, t
            );
            prop_assert_eq!(t.created + t.copies, t.delivered + t.dropped + t.in_flight);
            check_books(r)
        };
        sim.run_until_ms(stop_ms);
        check(&sim.report(0.0))?;
        run_to_idle(&mut sim)?;
        let r = sim.report(0.0);
        check(&r)?;
        prop_assert_eq!(r.totals.in_flight, 0, "messages stuck at idle: {:?}", r.totals);
    }

    /// Once every fault has ended the graph drains: each producer and client sends its
    /// whole `limit`, and when the run is idle nothing is left in flight.
    #[test]
    fn after_the_faults_end_every_source_finishes_and_nothing_is_stuck(
        G(g) in arb_graph_with_ending_faults(),
    ) {
        let mut sim = simulation(&g)?;
        run_to_idle(&mut sim)?;
        let r = sim.report(0.0);
        check_books(&r)?;
        let limits: u64 = g
            .nodes
            .iter()
            .filter_map(|n| match &n.config {
                NodeConfig::Producer(p) => p.limit,
                NodeConfig::Client(c) => c.limit,
                _ => None,
            })
            .sum();
        prop_assert_eq!(r.totals.created, limits, "sources stopped short");
        prop_assert_eq!(r.totals.in_flight, 0, "messages stuck at idle: {:?}", r.totals);
    }

    /// A durable queue keeps its waiting messages through every crash: its `lost` stays 0
    /// whatever else fails around it.
    #[test]
    fn durable_queues_lose_nothing_across_crashes(
        G(mut g) in arb_graph(),
        crashes in vec((0.0..=2000.0f64, option::of(0.0..=2000.0f64)), 1..=3),
    ) {
        let queues: Vec<String> = g
            .nodes
            .iter()
            .filter(|n| matches!(n.config, NodeConfig::Queue(_)))
            .map(|n| n.id.clone())
            .collect();
        for id in &queues {
            for &(at_ms, length) in &crashes {
                g.faults.push(fault(id, FaultKind::Crash, at_ms, length.map(|l| at_ms + l)));
            }
        }
        let mut sim = simulation(&g)?;
        run_to_idle(&mut sim)?;
        let r = sim.report(0.0);
        check_books(&r)?;
        for node in &g.nodes {
            if let NodeConfig::Queue(q) = &node.config && q.durable {
                prop_assert_eq!(r.nodes[node.id.as_str()].lost, Some(0), "durable queue '{}'", node.id);
            }
        }
    }

    /// producer → queue → service → sink with the queue crashing at known times: a
    /// non-durable queue loses exactly the messages waiting just before each crash and is
    /// empty right after it; a durable one loses none and still holds them.
    #[test]
    fn a_crash_loses_exactly_what_a_non_durable_queue_held(case in arb_crash_case()) {
        let CrashCase { graph: G(g), crashes, durable } = case;
        let mut sim = simulation(&g)?;
        let mut expected_lost = 0;
        for &(at_ms, until_ms) in &crashes {
            let at = ms_to_ns(at_ms);
            sim.run_until_ns(at - 1);
            let before = queue_waiting(&sim, "q");
            sim.run_until_ns(at);
            let after = queue_waiting(&sim, "q");
            // A window of length 0 ends at once: the queue may take new messages at `at`.
            let still_down = until_ms.is_none_or(|until| ms_to_ns(until) > at);
            if durable {
                prop_assert!(
                    after == before || !still_down,
                    "a durable queue keeps what waits at {} ms ({} before, {} after)",
                    at_ms, before, after
                );
            } else {
                prop_assert!(
                    after == 0 || !still_down,
                    "a crashed queue holds nothing at {} ms ({} after)", at_ms, after
                );
                expected_lost += before;
            }
        }
        let end_ms = crashes.last().map_or(0.0, |&(at, until)| until.unwrap_or(at)) + 3000.0;
        sim.run_until_ms(end_ms);
        let r = sim.report(0.0);
        check_books(&r)?;
        prop_assert_eq!(r.nodes["q"].lost, Some(expected_lost));
        prop_assert_eq!(r.totals.lost, expected_lost);
    }
}

/// A producer → queue → service → sink graph whose queue crashes in the windows `crashes`
/// (`at_ms`, `until_ms`), one after the other.
#[derive(Debug, Clone)]
struct CrashCase {
    graph: G,
    crashes: Vec<(f64, Option<f64>)>,
    durable: bool,
}

fn arb_crash_case() -> impl Strategy<Value = CrashCase> {
    (
        any::<u64>(),
        (1.0..=200.0f64, arb_arrival(), option::of(1u64..=300)),
        arb_queue(),
        (1u32..=4, arb_dist()),
        // The consumer may be stopped for a while, so messages pile up in the queue.
        option::of((0.0..=1000.0f64, option::of(0.0..=3000.0f64))),
        // Crash windows one after the other: (gap since the last one ended, length).
        vec(
            (1.0..=1000.0f64, prop_oneof![Just(0.0), 0.0..=500.0f64]),
            1..=3,
        ),
        any::<bool>(),
    )
        .prop_map(
            |(
                seed,
                (rate_per_sec, arrival, limit),
                queue,
                (concurrency, service_time),
                stop,
                windows,
                last_open,
            )| {
                let durable = queue.durable;
                let mut g = Graph {
                    name: "crash".to_owned(),
                    seed,
                    nodes: vec![
                        Node::new(
                            "orders",
                            NodeConfig::Producer(ProducerConfig {
                                rate_per_sec,
                                arrival,
                                limit,
                                ..ProducerConfig::default()
                            }),
                        ),
                        Node::new("q", NodeConfig::Queue(queue)),
                        Node::new(
                            "worker",
                            NodeConfig::Service(ServiceConfig {
                                concurrency,
                                service_time,
                                ..ServiceConfig::default()
                            }),
                        ),
                        Node::new("done", NodeConfig::Sink(SinkConfig::default())),
                    ],
                    edges: vec![
                        Edge::new("orders", "q"),
                        Edge::new("q", "worker"),
                        Edge::new("worker", "done"),
                    ],
                    ..Graph::default()
                };
                if let Some((at_ms, length)) = stop {
                    g.faults.push(fault(
                        "worker",
                        FaultKind::Stop,
                        at_ms,
                        length.map(|l| at_ms + l),
                    ));
                }
                let mut crashes = Vec::new();
                let mut free_from = 0.0;
                let count = windows.len();
                for (i, (gap, length)) in windows.into_iter().enumerate() {
                    let at_ms = free_from + gap;
                    let open = last_open && i + 1 == count;
                    let until_ms = (!open).then_some(at_ms + length);
                    g.faults.push(fault("q", FaultKind::Crash, at_ms, until_ms));
                    crashes.push((at_ms, until_ms));
                    free_from = at_ms + length;
                }
                CrashCase {
                    graph: G(g),
                    crashes,
                    durable,
                }
            },
        )
}
