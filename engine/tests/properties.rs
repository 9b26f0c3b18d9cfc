//! Properties of the engine over random valid graphs: every message is accounted for, runs
//! are reproducible (also after saving and loading the graph), a graph without faults or
//! failures loses nothing, and a crash loses exactly what a non-durable queue held.
//!
//! The generator builds layered graphs of every node kind; an edge, message or call, only
//! goes to a later layer, so there is no cycle and every call chain ends. Producers and
//! clients send payloads from templates; queues, topics and services (some autoscaled and
//! fed by queues) have fan-out, `error` and `call` ports; routers route by rules over the
//! payload fields, with or without a default port; event logs (retention or none) feed
//! services, projectors and queues; projectors are queried by clients and services; and on
//! call paths sit breakers (both trip forms, call timeouts, every fallback), gateways (round
//! robin, routed by a payload field, aggregating, rate limited) and sagas over services. The
//! last middle layer holds only services, so every call path, saga step and event log finds
//! one to end at. Fault schedules of every kind overlap, replays of event logs included.
//! Every property first checks that its graph passes `validate` without errors, so the
//! generator stays honest.

use std::collections::BTreeMap;
use std::fmt;

use flowbench_engine::model::{
    Arrival, Autoscale, BreakerConfig, ClientConfig, Dist, EventLogConfig, Fallback, Fault,
    FaultKind, GatewayConfig, GatewayMode, ProducerConfig, ProjectorConfig, QueueConfig, RouteRule,
    RouterConfig, RuleOp, SagaConfig, SagaStep, ServiceConfig, SinkConfig, TopicConfig, Trip,
    WhenFull,
};
use flowbench_engine::sim::{RunOptions, ends_by_itself, ms_to_ns, run};
use flowbench_engine::{Edge, Graph, Node, NodeConfig, NodeKind, Report, Simulation, validate};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::strategy::ValueTree;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde_json::{Value, json};

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

/// The values of the payload field `region` that a gateway routing by region has a route
/// for: each of its routes leaves the port named by one of them.
const REGIONS: [&str; 3] = ["eu", "us", "ap"];

/// A region no route serves: a call carrying it is unrouted.
const NOWHERE: &str = "zz";

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
        /// `call` port to later nodes that answer calls, called in this order.
        calls: Vec<u32>,
    },
    Router {
        config: RouterConfig,
        /// The targets of each port, in the order the rules and `default_port` name them.
        ports: Vec<Vec<u32>>,
    },
    EventLog {
        config: EventLogConfig,
        /// Its consumers: later services, projectors or queues.
        consumers: Vec<u32>,
    },
    Projector(ProjectorConfig),
    Breaker {
        config: BreakerConfig,
        /// Its one call target.
        target: u32,
        /// With a `port` fallback: where the `fallback` port goes, later queues or sinks.
        fallback: Vec<u32>,
    },
    Gateway {
        config: GatewayConfig,
        /// The routes' targets; routing by region takes them in turn for the regions' ports.
        routes: Vec<u32>,
    },
    Saga {
        /// Per step: the service doing it and the one undoing it, if any.
        steps: Vec<(u32, Option<u32>)>,
    },
}

/// A whole graph before its edges are resolved.
#[derive(Debug, Clone)]
struct Spec {
    seed: u64,
    /// Each with the picks of its `out` edges (one, or two for fan-out).
    producers: Vec<(ProducerConfig, Vec<u32>)>,
    /// Each with the pick of its one call target.
    clients: Vec<(ClientConfig, u32)>,
    /// Each middle node with the picks of its `out` edges (used by queues, topics and
    /// services); the last layer holds only services.
    layers: Vec<Vec<(Middle, Vec<u32>)>>,
    sinks: usize,
    /// Picks of a sender or caller in an earlier layer for the nodes that got no edge
    /// otherwise.
    feeders: Vec<u32>,
    /// Sources of their own for the nodes no earlier node can feed, used in turn.
    spare_producers: Vec<ProducerConfig>,
    spare_clients: Vec<ClientConfig>,
    /// Each with the pick of its node among all nodes.
    faults: Vec<(u32, Fault)>,
    /// Replays: the pick of the event log, when, and the pick of the consumer to rewind
    /// (all of them when `None`).
    replays: Vec<(u32, f64, Option<u32>)>,
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

/// A payload template over the fields routers and gateways read, or none: `region` always
/// (a `$choice` of regions, sometimes with one no route serves), often an `amount` (an
/// `$int` range) and a nested `order.tier` (a `$choice` of values of several types).
fn arb_payload() -> impl Strategy<Value = Option<Value>> {
    let template = (
        subsequence(REGIONS.to_vec(), 1..=3),
        proptest::bool::weighted(0.2),
        option::of((0i64..=100, 0i64..=100)),
        any::<bool>(),
    )
        .prop_map(|(regions, nowhere, amount, tier)| {
            let mut choices: Vec<Value> = regions.into_iter().map(Value::from).collect();
            if nowhere {
                choices.push(json!(NOWHERE));
            }
            let mut payload = json!({"region": {"$choice": choices}, "n": "$seq"});
            if let Some((lo, width)) = amount {
                payload["amount"] = json!({"$int": [lo, lo + width]});
            }
            if tier {
                payload["order"] =
                    json!({"tier": {"$choice": ["gold", "silver", 1, null]}, "id": "$id"});
            }
            payload
        });
    option::weighted(0.85, template)
}

fn arb_producer() -> impl Strategy<Value = ProducerConfig> {
    (
        1.0..=200.0f64,
        arb_arrival(),
        1u64..=300,
        option::of(1u64..=10),
        arb_payload(),
    )
        .prop_map(
            |(rate_per_sec, arrival, limit, keys, payload)| ProducerConfig {
                rate_per_sec,
                arrival,
                limit: Some(limit),
                keys,
                payload,
            },
        )
}

fn arb_client() -> impl Strategy<Value = ClientConfig> {
    (
        1.0..=200.0f64,
        arb_arrival(),
        1u64..=300,
        5.0..=500.0f64,
        option::of(1u64..=10),
        arb_payload(),
    )
        .prop_map(
            |(rate_per_sec, arrival, limit, timeout_ms, keys, payload)| ClientConfig {
                rate_per_sec,
                arrival,
                limit: Some(limit),
                timeout_ms,
                keys,
                payload,
            },
        )
}

fn arb_queue() -> impl Strategy<Value = QueueConfig> {
    // Small capacities often, so that buffers fill up and `when_full` matters.
    let capacity = option::of(prop_oneof![1u64..=5, 1u64..=50]);
    let plain =
        (capacity, arb_when_full(), any::<bool>()).prop_map(|(capacity, when_full, durable)| {
            QueueConfig {
                capacity,
                when_full,
                throttle_rate_per_sec: None,
                durable,
                backend: None,
            }
        });
    // Queues also throttle (topics do not), from a trickle to a flood.
    let throttling =
        (1u64..=50, 0.5..=5_000.0f64, any::<bool>()).prop_map(|(capacity, rate, durable)| {
            QueueConfig {
                capacity: Some(capacity),
                when_full: WhenFull::Throttle,
                throttle_rate_per_sec: Some(rate),
                durable,
                backend: None,
            }
        });
    prop_oneof![4 => plain, 1 => throttling]
}

fn arb_topic() -> impl Strategy<Value = TopicConfig> {
    let capacity = option::of(prop_oneof![1u64..=3, 1u64..=20]);
    (1u32..=4, capacity, arb_when_full()).prop_map(
        |(partitions, subscriber_capacity, when_full)| TopicConfig {
            partitions,
            subscriber_capacity,
            when_full,
            backend: None,
        },
    )
}

/// Scaling between a few workers, checked every 100 ms to 400 ms.
fn arb_autoscale() -> impl Strategy<Value = Autoscale> {
    (
        1u32..=3,
        0u32..=4,
        prop_oneof![0.5..=3.0f64, 0.5..=20.0f64],
        prop_oneof![Just(0.0), 0.0..=2000.0f64],
    )
        .prop_map(|(min, extra, target_depth, cooldown_ms)| Autoscale {
            min,
            max: min + extra,
            target_depth,
            cooldown_ms,
        })
}

fn arb_service() -> impl Strategy<Value = ServiceConfig> {
    (
        1u32..=4,
        arb_dist(),
        prop_oneof![Just(0.0), 0.0..=0.5f64],
        0u32..=3,
        prop_oneof![Just(0.0), 0.0..=50.0f64],
        option::weighted(0.3, arb_autoscale()),
    )
        .prop_map(
            |(
                concurrency,
                service_time,
                failure_rate,
                max_retries,
                retry_backoff_ms,
                autoscale,
            )| {
                ServiceConfig {
                    concurrency,
                    service_time,
                    failure_rate,
                    max_retries,
                    retry_backoff_ms,
                    autoscale,
                }
            },
        )
}

/// A rule's condition `(field, op, value)` over the payload fields: every operator, values
/// of the wrong type, a nested field and a field no payload has.
fn arb_condition() -> impl Strategy<Value = (&'static str, RuleOp, Option<Value>)> {
    let region = select(vec![REGIONS[0], REGIONS[1], REGIONS[2], NOWHERE]);
    let equality = select(vec![RuleOp::Eq, RuleOp::Ne]);
    let order = select(vec![RuleOp::Lt, RuleOp::Le, RuleOp::Gt, RuleOp::Ge]);
    prop_oneof![
        (equality.clone(), region.clone()).prop_map(|(op, r)| ("region", op, Some(json!(r)))),
        subsequence(REGIONS.to_vec(), 1..=2).prop_map(|rs| ("region", RuleOp::In, Some(json!(rs)))),
        (order.clone(), region).prop_map(|(op, r)| ("region", op, Some(json!(r)))),
        (prop_oneof![order, equality], 0i64..=120).prop_map(|(op, n)| (
            "amount",
            op,
            Some(json!(n))
        )),
        vec(0i64..=100, 1..=3).prop_map(|ns| ("amount", RuleOp::In, Some(json!(ns)))),
        // A number never equals a string.
        (0i64..=100).prop_map(|n| ("amount", RuleOp::Eq, Some(json!(n.to_string())))),
        select(vec!["gold", "silver"]).prop_map(|t| ("order.tier", RuleOp::Eq, Some(json!(t)))),
        select(vec!["order.tier", "missing"]).prop_map(|f| (f, RuleOp::Exists, None)),
    ]
}

/// Up to three rules over the ports `r0`..`r2` (rules may share a port), and a default
/// port or none (unmatched messages are filtered); never neither rules nor default.
fn arb_router() -> impl Strategy<Value = RouterConfig> {
    let rule = (arb_condition(), 0u8..=2).prop_map(|((field, op, value), port)| RouteRule {
        field: field.to_owned(),
        op,
        value,
        port: format!("r{port}"),
    });
    (vec(rule, 0..=3), option::of(select(vec!["rest", "r0"]))).prop_map(|(rules, default_port)| {
        let default_port = match default_port {
            None if rules.is_empty() => Some("rest"),
            other => other,
        };
        RouterConfig {
            rules,
            default_port: default_port.map(str::to_owned),
        }
    })
}

/// A router's ports in the order its rules and `default_port` name them, each once.
fn router_ports(config: &RouterConfig) -> Vec<String> {
    let mut ports: Vec<String> = Vec::new();
    let named = config.rules.iter().map(|r| &r.port);
    for port in named.chain(config.default_port.as_ref()) {
        if !ports.contains(port) {
            ports.push(port.clone());
        }
    }
    ports
}

fn arb_event_log() -> impl Strategy<Value = EventLogConfig> {
    option::of(prop_oneof![1u64..=3, 1u64..=20]).prop_map(|retention| EventLogConfig {
        retention,
        backend: None,
    })
}

/// Both trip forms (a failure rate of 0 trips on any outcomes), open periods short enough
/// to go half-open within a run, sometimes a call timeout, and every fallback.
fn arb_breaker() -> impl Strategy<Value = BreakerConfig> {
    let trip = prop_oneof![
        (1u32..=5).prop_map(|consecutive_failures| Trip::ConsecutiveFailures {
            consecutive_failures
        }),
        (
            prop_oneof![1 => Just(0.0), 4 => 0.0..=1.0f64],
            1u32..=20,
            any::<u32>()
        )
            .prop_map(|(failure_rate, window, m)| Trip::FailureRate {
                failure_rate,
                window,
                min_calls: 1 + m % window,
            }),
    ];
    let fallback = select(vec![Fallback::FailFast, Fallback::Cached, Fallback::Port]);
    (
        trip,
        1.0..=2000.0f64,
        1u32..=3,
        option::of(1.0..=200.0f64),
        fallback,
    )
        .prop_map(
            |(trip, open_ms, half_open_max_calls, call_timeout_ms, fallback)| BreakerConfig {
                trip,
                open_ms,
                half_open_max_calls,
                call_timeout_ms,
                fallback,
            },
        )
}

/// Route mode round robin or by `region`, or aggregate mode; sometimes rate limited (also
/// below one call a second, where the bucket holds a single token).
fn arb_gateway() -> impl Strategy<Value = GatewayConfig> {
    let shape = prop_oneof![
        Just((GatewayMode::Route, None)),
        Just((GatewayMode::Route, Some("region".to_owned()))),
        Just((GatewayMode::Aggregate, None)),
    ];
    (
        shape,
        5.0..=500.0f64,
        any::<bool>(),
        option::weighted(0.3, prop_oneof![0.2..=1.0f64, 1.0..=100.0f64]),
    )
        .prop_map(
            |((mode, route_by), timeout_ms, partial, rate_limit_per_sec)| GatewayConfig {
                mode,
                route_by,
                timeout_ms,
                partial,
                rate_limit_per_sec,
            },
        )
}

/// One or two targets: two is fan-out (copies), or competing consumers behind a queue.
fn arb_outs() -> impl Strategy<Value = Vec<u32>> {
    vec(any::<u32>(), 1..=2)
}

fn arb_middle() -> impl Strategy<Value = (Middle, Vec<u32>)> {
    let middle = prop_oneof![
        2 => arb_queue().prop_map(Middle::Queue),
        1 => arb_topic().prop_map(Middle::Topic),
        3 => (
            arb_service(),
            option::of(any::<u32>()),
            vec(any::<u32>(), 0..=2)
        )
            .prop_map(|(config, error, calls)| Middle::Service {
                config,
                error,
                calls
            }),
        2 => (arb_router(), vec(arb_outs(), 4))
            .prop_map(|(config, ports)| Middle::Router { config, ports }),
        2 => (arb_event_log(), vec(any::<u32>(), 1..=3))
            .prop_map(|(config, consumers)| Middle::EventLog { config, consumers }),
        2 => arb_dist().prop_map(|service_time| Middle::Projector(ProjectorConfig { service_time })),
        1 => (arb_breaker(), any::<u32>(), arb_outs()).prop_map(|(config, target, fallback)| {
            Middle::Breaker {
                config,
                target,
                fallback,
            }
        }),
        1 => (arb_gateway(), vec(any::<u32>(), 1..=3))
            .prop_map(|(config, routes)| Middle::Gateway { config, routes }),
        1 => vec((any::<u32>(), option::of(any::<u32>())), 2..=4)
            .prop_map(|steps| Middle::Saga { steps }),
    ];
    (middle, arb_outs())
}

/// A service of the last middle layer: its results go to the sinks.
fn arb_last_service() -> impl Strategy<Value = (Middle, Vec<u32>)> {
    (arb_service(), option::of(any::<u32>()), arb_outs()).prop_map(|(config, error, outs)| {
        let calls = Vec::new();
        (
            Middle::Service {
                config,
                error,
                calls,
            },
            outs,
        )
    })
}

/// Any fault kind but replay on any node, starting within the first 2 s, ending later or
/// never.
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
        vec(arb_last_service(), 1..=2),
        1usize..=2,
        vec((any::<u32>(), arb_fault()), 0..=6),
        vec(
            (any::<u32>(), 0.0..=3000.0f64, option::of(any::<u32>())),
            0..=2,
        ),
        (arb_producer(), arb_outs()),
        vec(any::<u32>(), 16),
        vec(arb_producer(), 2),
        vec(arb_client(), 2),
    )
        .prop_map(
            |(
                seed,
                mut producers,
                clients,
                mut layers,
                last,
                sinks,
                faults,
                replays,
                fallback,
                feeders,
                spare_producers,
                spare_clients,
            )| {
                // At least one source.
                if producers.is_empty() && clients.is_empty() {
                    producers.push(fallback);
                }
                layers.push(last);
                Spec {
                    seed,
                    producers,
                    clients,
                    layers,
                    sinks,
                    feeders,
                    spare_producers,
                    spare_clients,
                    faults,
                    replays,
                }
            },
        )
}

/// Random valid graphs, faults and failures included.
fn arb_graph() -> impl Strategy<Value = G> {
    arb_spec().prop_map(|spec| G(build(spec)))
}

/// Random valid graphs in which nothing can fail, be rejected or be filtered: no faults,
/// no `failure_rate`; clients and gateways that wait for replies as long as it takes;
/// breakers without call timeouts whose trip needs a failure (so they never open);
/// gateways without rate limits; routers whose unmatched messages take a default port; and
/// payloads on every source whose region always names a route of a gateway routing by it.
fn arb_calm_graph() -> impl Strategy<Value = G> {
    arb_graph().prop_map(|G(mut g)| {
        g.faults.clear();
        for node in &mut g.nodes {
            calm(&mut node.config);
        }
        G(g)
    })
}

/// Takes from one node every way it has to fail, reject or filter (see `arb_calm_graph`).
fn calm(config: &mut NodeConfig) {
    match config {
        NodeConfig::Producer(p) => p.payload = Some(routable(p.payload.take())),
        NodeConfig::Client(c) => {
            c.timeout_ms = 1e9;
            c.payload = Some(routable(c.payload.take()));
        }
        NodeConfig::Service(s) => s.failure_rate = 0.0,
        NodeConfig::Breaker(b) => {
            b.call_timeout_ms = None;
            if let Trip::FailureRate { failure_rate, .. } = &mut b.trip {
                *failure_rate = failure_rate.max(0.5);
            }
        }
        NodeConfig::Gateway(gw) => {
            gw.timeout_ms = 1e9;
            gw.rate_limit_per_sec = None;
        }
        NodeConfig::Router(r) if r.default_port.is_none() => {
            r.default_port = r.rules.first().map(|rule| rule.port.clone());
        }
        _ => {}
    }
}

/// `payload` with only regions that a gateway routing by region has a route for; a source
/// without payload gets one.
fn routable(payload: Option<Value>) -> Value {
    let mut payload = payload.unwrap_or_else(|| json!({"region": {"$choice": REGIONS}}));
    if let Some(Value::Array(choices)) = payload.pointer_mut("/region/$choice") {
        choices.retain(|c| c.as_str().is_some_and(|r| REGIONS.contains(&r)));
        if choices.is_empty() {
            choices.push(json!(REGIONS[0]));
        }
    }
    payload
}

/// Random valid graphs whose every fault ends (within 5 s); a replay happens at an instant.
fn arb_graph_with_ending_faults() -> impl Strategy<Value = G> {
    arb_graph().prop_map(|G(mut g)| {
        for f in &mut g.faults {
            if f.kind != FaultKind::Replay {
                f.until_ms.get_or_insert(f.at_ms + 1000.0);
            }
        }
        G(g)
    })
}

/// What a node of a later layer is, for wiring.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Queue,
    Topic,
    Service,
    Sink,
    Router,
    EventLog,
    Projector,
    Breaker,
    Gateway,
    Saga,
}

impl Middle {
    fn role(&self) -> Role {
        match self {
            Middle::Queue(_) => Role::Queue,
            Middle::Topic(_) => Role::Topic,
            Middle::Service { .. } => Role::Service,
            Middle::Router { .. } => Role::Router,
            Middle::EventLog { .. } => Role::EventLog,
            Middle::Projector(_) => Role::Projector,
            Middle::Breaker { .. } => Role::Breaker,
            Middle::Gateway { .. } => Role::Gateway,
            Middle::Saga { .. } => Role::Saga,
        }
    }
}

/// Where asynchronous messages go: `out` of producers, queues, topics and services, and
/// router ports. (Projectors take events from event logs only.)
const TAKES_MESSAGES: [Role; 6] = [
    Role::Queue,
    Role::Topic,
    Role::Service,
    Role::Sink,
    Role::Router,
    Role::EventLog,
];
/// Where a service's failed messages and a breaker's fallback copies go.
const TAKES_LEFTOVERS: [Role; 2] = [Role::Queue, Role::Sink];
/// An event log's consumers.
const READS_LOGS: [Role; 3] = [Role::Service, Role::Projector, Role::Queue];
/// Call targets.
const ANSWERS_CALLS: [Role; 5] = [
    Role::Service,
    Role::Breaker,
    Role::Gateway,
    Role::Saga,
    Role::Projector,
];

/// Call targets other than services (which most nodes are), preferred for half the
/// breakers' and gateways' targets, or else any call target.
const NOT_ONLY_SERVICES: (&[Role], &[Role]) = (
    &[Role::Breaker, Role::Gateway, Role::Saga, Role::Projector],
    &ANSWERS_CALLS,
);

fn pick(candidates: &[String], p: u32) -> Option<&str> {
    (!candidates.is_empty()).then(|| candidates[p as usize % candidates.len()].as_str())
}

/// A graph being built: the nodes with their layers (sources are layer 0), and the edges.
struct Builder<'s> {
    spec: &'s Spec,
    nodes: Vec<(usize, Node)>,
    edges: Vec<Edge>,
    /// (layer, id, role) of every node after the sources, in layer order.
    receivers: Vec<(usize, String, Role)>,
    /// Spare producers and clients added so far.
    spares: usize,
}

impl Builder<'_> {
    /// Ids of the nodes after `layer` with one of `roles`.
    fn later(&self, layer: usize, roles: &[Role]) -> Vec<String> {
        self.receivers
            .iter()
            .filter(|(l, _, r)| *l > layer && roles.contains(r))
            .map(|(_, id, _)| id.clone())
            .collect()
    }

    /// Ids of the nodes before `layer` of one of `kinds`.
    fn earlier(&self, layer: usize, kinds: &[NodeKind]) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(l, n)| *l < layer && n.kind().is_some_and(|k| kinds.contains(&k)))
            .map(|(_, n)| n.id.clone())
            .collect()
    }

    fn wire(&mut self, from: &str, port: &str, to: &str) {
        let exists = self
            .edges
            .iter()
            .any(|e| e.from == from && e.to == to && e.port == port);
        if !exists {
            self.edges.push(Edge::new(from, to).with_port(port));
        }
    }

    /// Wires `from` (in `layer`) through `port` to the later node of one of `roles` that
    /// `p` picks, and returns that node.
    fn wire_later(
        &mut self,
        from: &str,
        port: &str,
        layer: usize,
        roles: &[Role],
        p: u32,
    ) -> Option<String> {
        let to = pick(&self.later(layer, roles), p)?.to_owned();
        self.wire(from, port, &to);
        Some(to)
    }

    /// As `wire_later`, but for an even `p` among the later nodes of the rarer
    /// `preferred` roles when there are any.
    fn wire_later_preferring(
        &mut self,
        from: &str,
        port: &str,
        layer: usize,
        (preferred, roles): (&[Role], &[Role]),
        p: u32,
    ) -> Option<String> {
        let prefer = p.is_multiple_of(2) && !self.later(layer, preferred).is_empty();
        let roles = if prefer { preferred } else { roles };
        self.wire_later(from, port, layer, roles, p / 2)
    }

    fn edges_from(&self, id: &str) -> usize {
        self.edges.iter().filter(|e| e.from == id).count()
    }

    fn has_edge_into(&self, id: &str, kinds: &[NodeKind]) -> bool {
        self.edges.iter().any(|e| {
            e.to == id
                && self
                    .nodes
                    .iter()
                    .any(|(_, n)| n.id == e.from && n.kind().is_some_and(|k| kinds.contains(&k)))
        })
    }

    /// Wires middle node `id` of `layer` to later nodes, and returns its config.
    fn middle(&mut self, layer: usize, id: &str, middle: &Middle, outs: &[u32]) -> NodeConfig {
        if matches!(
            middle,
            Middle::Queue(_) | Middle::Topic(_) | Middle::Service { .. }
        ) {
            for &o in outs {
                self.wire_later(id, "out", layer, &TAKES_MESSAGES, o)
                    .expect("sinks always come later");
            }
        }
        match middle {
            Middle::Queue(c) => NodeConfig::Queue(c.clone()),
            Middle::Topic(c) => NodeConfig::Topic(c.clone()),
            Middle::Service {
                config,
                error,
                calls,
            } => {
                if let Some(p) = *error {
                    self.wire_later(id, "error", layer, &TAKES_LEFTOVERS, p);
                }
                for &p in calls {
                    self.wire_later(id, "call", layer, &ANSWERS_CALLS, p);
                }
                NodeConfig::Service(config.clone())
            }
            Middle::Router { config, ports } => {
                for (port, targets) in router_ports(config).iter().zip(ports) {
                    for &p in targets {
                        self.wire_later(id, port, layer, &TAKES_MESSAGES, p);
                    }
                }
                NodeConfig::Router(config.clone())
            }
            Middle::EventLog { config, consumers } => {
                for (k, &p) in consumers.iter().enumerate() {
                    if k == 0 {
                        let roles = (&[Role::Projector][..], &READS_LOGS[..]);
                        self.wire_later_preferring(id, "out", layer, roles, p);
                    } else {
                        self.wire_later(id, "out", layer, &READS_LOGS, p);
                    }
                }
                NodeConfig::EventLog(config.clone())
            }
            Middle::Projector(c) => NodeConfig::Projector(c.clone()),
            Middle::Breaker {
                config,
                target,
                fallback,
            } => {
                self.wire_later_preferring(id, "out", layer, NOT_ONLY_SERVICES, *target);
                if config.fallback == Fallback::Port {
                    for &p in fallback {
                        let roles = (&[Role::Queue][..], &TAKES_LEFTOVERS[..]);
                        self.wire_later_preferring(id, "fallback", layer, roles, p);
                    }
                }
                NodeConfig::Breaker(config.clone())
            }
            Middle::Gateway { config, routes } => {
                if config.route_by.is_some() {
                    for (k, region) in REGIONS.iter().enumerate() {
                        let p = routes[k % routes.len()];
                        self.wire_later_preferring(id, region, layer, NOT_ONLY_SERVICES, p);
                    }
                } else {
                    for &p in routes {
                        self.wire_later_preferring(id, "out", layer, NOT_ONLY_SERVICES, p);
                    }
                }
                NodeConfig::Gateway(config.clone())
            }
            Middle::Saga { steps } => {
                let mut saga_steps = Vec::new();
                for (k, &(action, compensation)) in steps.iter().enumerate() {
                    let action = self
                        .wire_later(id, "out", layer, &[Role::Service], action)
                        .expect("the last middle layer holds services");
                    let compensation = compensation
                        .and_then(|p| self.wire_later(id, "out", layer, &[Role::Service], p));
                    saga_steps.push(SagaStep {
                        name: format!("step{k}"),
                        action,
                        compensation,
                    });
                }
                NodeConfig::Saga(SagaConfig { steps: saga_steps })
            }
        }
    }

    /// Gives node `id` of `layer`, which nothing sends to or calls, a sender or caller: an
    /// earlier node that fits, else a source of its own.
    fn feed(&mut self, layer: usize, id: &str, role: Role, p: u32) {
        use NodeKind::{EventLog, Producer, Queue, Service, Topic};
        let senders: &[NodeKind] = match role {
            Role::Breaker | Role::Gateway | Role::Saga => {
                return self.call_from_earlier(layer, id, p);
            }
            Role::Projector => &[EventLog],
            // Not from an event log: its consumers are chosen with it.
            _ => &[Producer, Queue, Topic, Service],
        };
        let mut earlier = self.earlier(layer, senders);
        // An event log keeps to at most three consumers.
        earlier.retain(|log| role != Role::Projector || self.edges_from(log) < 3);
        match pick(&earlier, p) {
            Some(from) => self.wire(from, "out", id),
            None if role == Role::Projector => self.call_from_earlier(layer, id, p),
            None => {
                let spares = &self.spec.spare_producers;
                let config = &spares[self.spares % spares.len()];
                let producer = format!("xp{}", self.spares);
                self.spares += 1;
                self.wire(&producer, "out", id);
                self.nodes
                    .push((0, Node::new(producer, NodeConfig::Producer(config.clone()))));
            }
        }
    }

    /// Gives node `id` of `layer` a caller: the `call` port of an earlier service, or a
    /// client of its own.
    fn call_from_earlier(&mut self, layer: usize, id: &str, p: u32) {
        let services = self.earlier(layer, &[NodeKind::Service]);
        match services.get(p as usize % (services.len() + 1)) {
            Some(service) => self.wire(service, "call", id),
            None => {
                let spares = &self.spec.spare_clients;
                let config = &spares[self.spares % spares.len()];
                let client = format!("xc{}", self.spares);
                self.spares += 1;
                self.wire(&client, "out", id);
                self.nodes
                    .push((0, Node::new(client, NodeConfig::Client(config.clone()))));
            }
        }
    }
}

/// Resolves a spec's picks into nodes and edges. Layer 0 holds the sources, the middle
/// layers follow, the sinks come last; an edge only goes to a later layer.
fn build(spec: Spec) -> Graph {
    let mut b = Builder {
        spec: &spec,
        nodes: Vec::new(),
        edges: Vec::new(),
        receivers: Vec::new(),
        spares: 0,
    };
    for (l, layer) in spec.layers.iter().enumerate() {
        for (i, (middle, _)) in layer.iter().enumerate() {
            b.receivers
                .push((l + 1, format!("m{}_{i}", l + 1), middle.role()));
        }
    }
    let sink_layer = spec.layers.len() + 1;
    for i in 0..spec.sinks {
        b.receivers
            .push((sink_layer, format!("sink{i}"), Role::Sink));
    }

    for (i, (config, outs)) in spec.producers.iter().enumerate() {
        let id = format!("p{i}");
        for &o in outs {
            b.wire_later(&id, "out", 0, &TAKES_MESSAGES, o);
        }
        b.nodes
            .push((0, Node::new(id, NodeConfig::Producer(config.clone()))));
    }
    for (i, (config, target)) in spec.clients.iter().enumerate() {
        let id = format!("c{i}");
        b.wire_later(&id, "out", 0, &ANSWERS_CALLS, *target);
        b.nodes
            .push((0, Node::new(id, NodeConfig::Client(config.clone()))));
    }
    for (l, layer) in spec.layers.iter().enumerate() {
        let layer_no = l + 1;
        for (i, (middle, outs)) in layer.iter().enumerate() {
            let id = format!("m{layer_no}_{i}");
            let config = b.middle(layer_no, &id, middle, outs);
            b.nodes.push((layer_no, Node::new(id, config)));
        }
    }
    for i in 0..spec.sinks {
        let sink = Node::new(format!("sink{i}"), NodeConfig::Sink(SinkConfig::default()));
        b.nodes.push((sink_layer, sink));
    }
    // A node nothing sends to or calls would sit idle: give it a sender or a caller. An
    // autoscaled service follows the queues feeding it: give it one when there is one.
    let receivers = b.receivers.clone();
    for (k, (layer, id, role)) in receivers.iter().enumerate() {
        let p = spec.feeders[k % spec.feeders.len()];
        if !b.edges.iter().any(|e| &e.to == id) {
            b.feed(*layer, id, *role, p);
        }
        let autoscaled = b.nodes.iter().any(|(_, n)| {
            &n.id == id && matches!(&n.config, NodeConfig::Service(s) if s.autoscale.is_some())
        });
        if autoscaled && !b.has_edge_into(id, &[NodeKind::Queue]) {
            let queues = b.earlier(*layer, &[NodeKind::Queue]);
            if let Some(queue) = pick(&queues, p.rotate_left(16)) {
                b.wire(queue, "out", id);
            }
        }
    }

    let nodes: Vec<Node> = b.nodes.into_iter().map(|(_, n)| n).collect();
    let edges = b.edges;
    let mut faults: Vec<Fault> = spec
        .faults
        .iter()
        .map(|(p, fault)| Fault {
            node: nodes[*p as usize % nodes.len()].id.clone(),
            ..fault.clone()
        })
        .collect();
    let logs: Vec<String> = nodes
        .iter()
        .filter(|n| n.kind() == Some(NodeKind::EventLog))
        .map(|n| n.id.clone())
        .collect();
    for &(p, at_ms, consumer) in &spec.replays {
        let Some(log) = pick(&logs, p) else { break };
        let readers: Vec<String> = edges
            .iter()
            .filter(|e| e.from == log)
            .map(|e| e.to.clone())
            .collect();
        let mut replay = fault(log, FaultKind::Replay, at_ms, None);
        replay.consumer = consumer.and_then(|c| pick(&readers, c)).map(str::to_owned);
        faults.push(replay);
    }
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
        let (failed, node_lost) = (n.failed.unwrap_or(0), n.lost.unwrap_or(0));
        lost += node_lost;
        dropped += n.dropped.unwrap_or(0);
        match n.kind.as_str() {
            "queue" => {
                let left =
                    n.out + n.dropped.unwrap_or(0) + failed + node_lost + n.in_flight.unwrap_or(0);
                prop_assert_eq!(
                    n.in_,
                    left,
                    "queue '{}': in != out + dropped + failed + lost + waiting",
                    id
                );
            }
            "event_log" => {
                // `length` counts every event ever stored.
                let stored = n.length.unwrap_or(0);
                prop_assert_eq!(
                    n.in_,
                    stored + failed + node_lost,
                    "event log '{}': in != stored + failed + lost",
                    id
                );
            }
            "router" => {
                let routed: u64 = n.routes.iter().flat_map(|r| r.values()).sum();
                prop_assert_eq!(
                    routed,
                    n.out,
                    "router '{}': routes do not add up to out",
                    id
                );
                // Every arrival is routed, filtered, failed or lost; a crash also loses
                // copies of routed messages that waited for room.
                let settled = n.out + n.filtered.unwrap_or(0) + failed;
                prop_assert!(
                    settled <= n.in_ && n.in_ <= settled + node_lost,
                    "router '{}': in {} against routed + filtered + failed {} and lost {}",
                    id,
                    n.in_,
                    settled,
                    node_lost
                );
            }
            _ => {}
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

/// The books of a run that has drained (idle, no fault left that halts a node): nothing in
/// flight, every request a client sent answered or timed out, every call a saga took
/// completed or failed, and every event log consumer caught up.
fn check_drained(r: &Report) -> Result<(), TestCaseError> {
    check_books(r)?;
    prop_assert_eq!(
        r.totals.in_flight,
        0,
        "messages stuck at idle: {:?}",
        r.totals
    );
    for (id, n) in &r.nodes {
        match n.kind.as_str() {
            "client" => prop_assert_eq!(
                n.in_ + n.timeouts.unwrap_or(0),
                n.out,
                "client '{}': requests neither answered nor timed out",
                id
            ),
            "saga" => prop_assert_eq!(
                n.in_,
                n.out + n.failed.unwrap_or(0),
                "saga '{}': calls neither completed nor failed",
                id
            ),
            "event_log" => {
                for (consumer, at) in n.consumers.iter().flatten() {
                    prop_assert_eq!(at.lag, 0, "event log '{}': '{}' lags", id, consumer);
                }
            }
            _ => {}
        }
    }
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

    /// The generator only makes graphs that validate without errors or warnings, end by
    /// themselves and that the engine can build.
    #[test]
    fn generated_graphs_are_valid(G(g) in arb_graph()) {
        simulation(&g)?;
        prop_assert!(ends_by_itself(&g));
        // Not even a warning: every node is reachable and every port it has is wired.
        let warnings: Vec<String> = validate(&g).iter().map(ToString::to_string).collect();
        prop_assert!(warnings.is_empty(), "the generated graph has warnings: {:?}", warnings);
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

    /// In a graph where nothing can fail (see `arb_calm_graph`) nothing fails, is lost,
    /// rejected or filtered: every message and request is delivered, dropped by a full
    /// buffer (a `drop_*` queue or topic), or still in flight, no breaker ever leaves
    /// closed, and once the run is idle it has drained.
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
            for (id, n) in &r.nodes {
                let transitions = n.transitions.as_deref().unwrap_or_default();
                prop_assert!(transitions.is_empty(), "breaker '{}' moved: {:?}", id, transitions);
            }
            check_books(r)
        };
        sim.run_until_ms(stop_ms);
        check(&sim.report(0.0))?;
        run_to_idle(&mut sim)?;
        let r = sim.report(0.0);
        check(&r)?;
        check_drained(&r)?;
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
        check_drained(&r)?;
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

// ---------------------------------------------------------------------------------------
// What the generator covers
// ---------------------------------------------------------------------------------------

/// The features of a graph that the generator is meant to produce, by name.
fn features(g: &Graph) -> Vec<String> {
    let kind_of = |id: &str| g.node(id).and_then(Node::kind);
    let mut found = Vec::new();
    for n in &g.nodes {
        let Some(kind) = n.kind() else { continue };
        found.push(format!("{kind}"));
        let outs: Vec<&Edge> = g.edges_from(&n.id).map(|(_, e)| e).collect();
        let ins: Vec<NodeKind> = g
            .edges_to(&n.id)
            .filter_map(|(_, e)| kind_of(&e.from))
            .collect();
        for from in &ins {
            found.push(format!("{from} -> {kind}"));
        }
        match &n.config {
            NodeConfig::Producer(ProducerConfig { payload, .. })
            | NodeConfig::Client(ClientConfig { payload, .. }) => {
                found.push(format!("{kind} payload {}", payload.is_some()));
            }
            NodeConfig::Queue(q) if q.when_full == WhenFull::Throttle => {
                found.push("throttling queue".to_owned());
            }
            NodeConfig::Service(s) => {
                if s.autoscale.is_some() && ins.contains(&NodeKind::Queue) {
                    found.push("autoscaled service fed by a queue".to_owned());
                }
                if s.failure_rate > 0.0 && ins.contains(&NodeKind::Saga) {
                    found.push("saga step that can fail".to_owned());
                }
            }
            NodeConfig::Breaker(b) => {
                let trip = match b.trip {
                    Trip::ConsecutiveFailures { .. } => "consecutive failures",
                    Trip::FailureRate { .. } => "failure rate",
                };
                found.push(format!("breaker trips on {trip}"));
                found.push(format!("breaker fallback {:?}", b.fallback));
                found.push(format!(
                    "breaker call timeout {}",
                    b.call_timeout_ms.is_some()
                ));
                for e in outs.iter().filter(|e| e.port == "fallback") {
                    let to = kind_of(&e.to).expect("edges end at nodes");
                    found.push(format!("breaker fallback into {to}"));
                }
            }
            NodeConfig::Gateway(gw) => {
                let mode = match (gw.mode, &gw.route_by) {
                    (GatewayMode::Route, None) => "round robin".to_owned(),
                    (GatewayMode::Route, Some(field)) => format!("route by {field}"),
                    (GatewayMode::Aggregate, _) => format!("aggregate partial {}", gw.partial),
                };
                found.push(format!("gateway {mode}"));
                found.push(format!(
                    "gateway rate limit {}",
                    gw.rate_limit_per_sec.is_some()
                ));
            }
            NodeConfig::Router(r) => {
                found.push(format!("router default port {}", r.default_port.is_some()));
                for rule in &r.rules {
                    found.push(format!("router rule {:?}", rule.op));
                    found.push(format!("router rule on {}", rule.field));
                }
            }
            NodeConfig::EventLog(log) => {
                found.push(format!("event log retention {}", log.retention.is_some()));
                found.push(format!("event log with {} consumers", outs.len()));
            }
            NodeConfig::Saga(s) => {
                found.push(format!("saga of {} steps", s.steps.len()));
                let undone = s.steps.iter().filter(|s| s.compensation.is_some()).count();
                let compensations = match undone {
                    0 => "no",
                    n if n == s.steps.len() => "every",
                    _ => "some",
                };
                found.push(format!("saga with {compensations} compensation"));
            }
            _ => {}
        }
    }
    for f in &g.faults {
        let on = kind_of(&f.node).expect("faults are on nodes");
        found.push(format!("{:?} fault", f.kind));
        found.push(format!("fault on {on}"));
        if f.kind == FaultKind::Crash {
            found.push(format!("Crash fault on {on}"));
        }
        if f.kind == FaultKind::Replay {
            found.push(format!("replay of one consumer {}", f.consumer.is_some()));
        }
    }
    found.push(format!(
        "call chain of {} calls",
        longest_call_chain(g).min(4)
    ));
    found
}

/// The most calls one after the other along a path of call edges.
fn longest_call_chain(g: &Graph) -> usize {
    fn from(g: &Graph, id: &str) -> usize {
        let kind = g
            .node(id)
            .and_then(Node::kind)
            .expect("edges start at nodes");
        g.edges_from(id)
            .filter(|(_, e)| kind.is_call_port(&e.port))
            .map(|(_, e)| 1 + from(g, &e.to))
            .max()
            .unwrap_or(0)
    }
    g.nodes.iter().map(|n| from(g, &n.id)).max().unwrap_or(0)
}

/// `count` generated graphs, the same ones every time.
fn sample_graphs(count: usize) -> Vec<Graph> {
    let mut runner = TestRunner::deterministic();
    (0..count)
        .map(|_| {
            let tree = arb_graph().new_tree(&mut runner);
            tree.expect("the generator never gives up").current().0
        })
        .collect()
}

/// How many of `graphs` have each feature `features_of` names.
fn tally(graphs: &[Graph], features_of: impl Fn(&Graph) -> Vec<String>) -> BTreeMap<String, usize> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for g in graphs {
        let mut features = features_of(g);
        features.sort();
        features.dedup();
        for f in features {
            *seen.entry(f).or_default() += 1;
        }
    }
    seen
}

/// The `wanted` features that fewer than one in a hundred of `graphs` graphs have.
fn rare(wanted: Vec<String>, seen: &BTreeMap<String, usize>, graphs: usize) -> Vec<String> {
    wanted
        .into_iter()
        .filter(|f| seen.get(f).copied().unwrap_or(0) < graphs.div_ceil(100))
        .collect()
}

/// Over a few hundred generated graphs, every node kind, every option of the new kinds, and
/// long call chains each turn up in at least one graph in a hundred.
#[test]
fn the_generator_covers_every_kind_and_option() {
    const GRAPHS: usize = 500;
    let seen = tally(&sample_graphs(GRAPHS), features);
    let mut wanted: Vec<String> = NodeKind::ALL.iter().map(|k| k.to_string()).collect();
    wanted.extend(
        [
            "producer payload true",
            "producer payload false",
            "client payload true",
            "client -> breaker",
            "client -> gateway",
            "client -> saga",
            "client -> projector",
            "service -> breaker",
            "service -> gateway",
            "service -> saga",
            "service -> projector",
            "breaker -> gateway",
            "breaker -> saga",
            "gateway -> breaker",
            "event_log -> service",
            "event_log -> projector",
            "event_log -> queue",
            "router -> event_log",
            "router -> router",
            "autoscaled service fed by a queue",
            "saga step that can fail",
            "breaker trips on consecutive failures",
            "breaker trips on failure rate",
            "breaker fallback FailFast",
            "breaker fallback Cached",
            "breaker fallback Port",
            "breaker fallback into queue",
            "breaker fallback into sink",
            "breaker call timeout true",
            "breaker call timeout false",
            "gateway round robin",
            "gateway route by region",
            "gateway aggregate partial true",
            "gateway aggregate partial false",
            "gateway rate limit true",
            "gateway rate limit false",
            "router default port true",
            "router default port false",
            "router rule Eq",
            "router rule Ne",
            "router rule Lt",
            "router rule Le",
            "router rule Gt",
            "router rule Ge",
            "router rule In",
            "router rule Exists",
            "router rule on region",
            "router rule on amount",
            "router rule on order.tier",
            "router rule on missing",
            "event log retention true",
            "event log retention false",
            "event log with 1 consumers",
            "event log with 3 consumers",
            "event log with 2 consumers",
            "saga of 2 steps",
            "saga of 4 steps",
            "saga with no compensation",
            "saga with some compensation",
            "saga with every compensation",
            "Replay fault",
            "replay of one consumer true",
            "replay of one consumer false",
            "Crash fault on breaker",
            "Crash fault on gateway",
            "Crash fault on saga",
            "Crash fault on router",
            "Crash fault on event_log",
            "Crash fault on projector",
            "Fail fault",
            "Slow fault",
            "Stop fault",
            "fault on breaker",
            "fault on gateway",
            "fault on saga",
            "fault on router",
            "fault on event_log",
            "fault on projector",
            "call chain of 3 calls",
            "call chain of 4 calls",
            "throttling queue",
        ]
        .map(str::to_owned),
    );
    let rare = rare(wanted, &seen, GRAPHS);
    assert!(
        rare.is_empty(),
        "rarely or never generated: {rare:?}\nseen: {seen:#?}"
    );
}

/// What a run of `g` to its end did, by name: the behaviours of the newer kinds that the
/// properties are meant to meet.
fn behaviours(g: &Graph) -> Vec<String> {
    let r = run(g, &RunOptions::default()).expect("generated graphs are valid");
    let mut found = Vec::new();
    let mut saw = |yes: bool, what: &str| {
        if yes {
            found.push(what.to_owned());
        }
    };
    for (id, n) in &r.nodes {
        let some = |count: Option<u64>| count.unwrap_or(0) > 0;
        match &g.node(id).expect("reports name nodes").config {
            NodeConfig::Breaker(b) => {
                for t in n.transitions.iter().flatten() {
                    saw(true, &format!("breaker {:?} to {:?}", t.from, t.to));
                }
                saw(
                    some(n.rejected),
                    &format!("breaker rejects {:?}", b.fallback),
                );
            }
            NodeConfig::Gateway(_) => {
                let unrouted = n.routes.as_ref().and_then(|r| r.get("unrouted").copied());
                saw(n.out > 0, "gateway answers ok");
                saw(some(n.rejected), "gateway rate limits");
                saw(some(n.timeouts), "gateway times out");
                saw(some(unrouted), "gateway finds no route");
            }
            NodeConfig::Saga(_) => {
                saw(some(n.completed), "saga completes");
                saw(some(n.compensated), "saga compensates");
                saw(some(n.compensation_failed), "saga compensation fails");
            }
            NodeConfig::Router(_) => {
                saw(n.out > 0, "router routes");
                saw(some(n.filtered), "router filters");
            }
            NodeConfig::EventLog(_) => {
                let consumers = n.consumers.as_ref().map_or(0, |c| c.len() as u64);
                saw(some(n.skipped), "event log skips for retention");
                let read_once = n.length.unwrap_or(0) * consumers;
                saw(n.out > read_once, "event log replays");
            }
            NodeConfig::Projector(_) => {
                saw(n.out > 0, "projector applies events");
                saw(some(n.queries), "projector answers queries");
            }
            NodeConfig::Queue(_) => {
                saw(
                    n.throttled_ms.is_some_and(|t| t > 0.0),
                    "queue throttles its senders",
                );
            }
            NodeConfig::Service(s) => {
                let min = s.autoscale.as_ref().map_or(u32::MAX, |a| a.min);
                saw(
                    n.workers_max.is_some_and(|most| most > min),
                    "autoscale adds workers",
                );
            }
            _ => {}
        }
    }
    found
}

/// Run to their end, a few hundred generated graphs meet every behaviour of the newer kinds
/// (breakers through all their states and fallbacks, gateways limiting, timing out and
/// finding no route, sagas compensating, routers filtering, event logs skipping and
/// replaying, projectors, autoscaling, throttling queues), each in at least one graph in a
/// hundred.
#[test]
fn generated_runs_meet_every_behaviour() {
    const GRAPHS: usize = 300;
    let seen = tally(&sample_graphs(GRAPHS), behaviours);
    let wanted = [
        "breaker Closed to Open",
        "breaker Open to HalfOpen",
        "breaker HalfOpen to Closed",
        "breaker HalfOpen to Open",
        "breaker rejects FailFast",
        "breaker rejects Cached",
        "breaker rejects Port",
        "gateway answers ok",
        "gateway rate limits",
        "gateway times out",
        "gateway finds no route",
        "saga completes",
        "saga compensates",
        "saga compensation fails",
        "router routes",
        "router filters",
        "event log skips for retention",
        "event log replays",
        "projector applies events",
        "projector answers queries",
        "autoscale adds workers",
        "queue throttles its senders",
    ]
    .map(str::to_owned)
    .to_vec();
    let rare = rare(wanted, &seen, GRAPHS);
    assert!(
        rare.is_empty(),
        "rarely or never met: {rare:?}\nmet: {seen:#?}"
    );
}
