//! Running a graph: build the nodes' state machines from a validated graph, then process
//! events in simulated-time order. Time is integer nanoseconds; every node draws from its
//! own random stream seeded by the graph's seed and the node's id, so the same graph and
//! seed give the same report, and adding a node does not change the others' draws.

pub(crate) mod core;
mod exp;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use indexmap::IndexMap;
use petgraph::algo::toposort;
use petgraph::graphmap::DiGraphMap;
use rand::SeedableRng;

use crate::model::{Diagnostic, Edge, FaultKind, Graph, NodeConfig};
use crate::nodes::{
    Behavior, Breaker, BrokerChannel, Client, EventLog, Gateway, NodeState, Producer, Projector,
    Queue, Route, Router, Saga, Service, Sink, Step, Topic, with_node,
};
use crate::report::{Conservation, REPORT_FORMAT, REPORT_VERSION, Report, Totals};
use crate::validate::validate;

use self::core::{Core, Event, FaultState, NO_NODE, NodeCell, NodeId, Timed};
pub use self::core::{Rng, Time, ms_to_ns, ns_to_ms};

/// Simulated time used when a graph would run forever and no duration is given.
pub const DEFAULT_HORIZON_MS: f64 = 3_600_000.0;

/// Graphs of at least this many nodes batch their histogram updates and read ahead the
/// node of the next timer: their node state no longer stays in the caches.
const BATCHED_METRICS_NODES: usize = 500;

/// How to run a graph headless.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Simulated time to run; `None` = until idle (see [`ends_by_itself`]).
    pub duration_ms: Option<f64>,
    /// Overrides the graph's seed.
    pub seed: Option<u64>,
}

/// Why a graph cannot be simulated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    #[error("the graph has {} error(s)", .0.iter().filter(|d| d.is_error()).count())]
    Invalid(Vec<Diagnostic>),
}

struct FaultSpec {
    node: NodeId,
    kind: FaultKind,
    rate: f64,
    factor: f64,
    /// `replay`: the consumer to rewind (all when `None`).
    consumer: Option<NodeId>,
}

/// A graph being simulated.
pub struct Simulation {
    name: String,
    seed: u64,
    ids: Vec<String>,
    /// The clock, the events and every node's state.
    core: Core,
    faults: Vec<FaultSpec>,
    /// Per node: indices of its faults now active.
    active_faults: Vec<Vec<u32>>,
    /// Per node: whether an edge leads into it (a broker-backed one then publishes).
    has_input: Vec<bool>,
    kinds: Vec<Option<crate::model::NodeKind>>,
    /// Some channel lives on a broker (known when built; looked at on every live slice).
    has_brokers: bool,
}

/// A stable 64-bit hash of a node id (FNV-1a), mixed into the node's seed.
fn id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64's finaliser: spreads nearby seeds far apart.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Simulation {
    /// Builds a simulation of `graph`, which must validate without errors.
    pub fn new(graph: &Graph, seed: Option<u64>) -> Result<Simulation, BuildError> {
        let diagnostics = validate(graph);
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Err(BuildError::Invalid(diagnostics));
        }
        let seed = seed.unwrap_or(graph.seed);
        let index: IndexMap<&str, NodeId> = graph
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i as NodeId))
            .collect();
        // Each node's edges, found without scanning every edge of the graph (a graph may have
        // 100,000 nodes): leaving and arriving, and targets by (source, port), in file order.
        let mut out_edges: HashMap<&str, Vec<&Edge>> = HashMap::new();
        let mut in_edges: HashMap<&str, Vec<&Edge>> = HashMap::new();
        let mut by_port: HashMap<&str, HashMap<&str, Vec<NodeId>>> = HashMap::new();
        for e in &graph.edges {
            out_edges.entry(&e.from).or_default().push(e);
            in_edges.entry(&e.to).or_default().push(e);
            if let Some(&to) = index.get(e.to.as_str()) {
                let ports = by_port.entry(&e.from).or_default();
                ports.entry(&e.port).or_default().push(to);
            }
        }
        let targets = |from: &str, port: &str| -> Vec<NodeId> {
            by_port
                .get(from)
                .and_then(|ports| ports.get(port))
                .cloned()
                .unwrap_or_default()
        };
        let id_of = |n: NodeId| graph.nodes[n as usize].id.clone();
        let node_of = |id: &str| index[id];
        // A queue that is a service's only input and has no other consumer is that
        // service's inbox: the service takes its next message from it as a worker frees.
        let inbox_of = |service: NodeId| -> Option<NodeId> {
            let service = &graph.nodes[service as usize];
            if !matches!(service.config, NodeConfig::Service(_)) {
                return None;
            }
            let [edge] = in_edges.get(service.id.as_str())?.as_slice() else {
                return None;
            };
            let queue = &graph.nodes[*index.get(edge.from.as_str())? as usize];
            let only_consumer = out_edges.get(queue.id.as_str()).map(Vec::len) == Some(1);
            (matches!(queue.config, NodeConfig::Queue(_))
                && queue.config.backend().is_none()
                && only_consumer)
                .then(|| node_of(&queue.id))
        };
        let states: Vec<NodeState> = graph
            .nodes
            .iter()
            .map(|n| match &n.config {
                c if c.backend().is_some() => {
                    let consumers = targets(&n.id, "out")
                        .into_iter()
                        .map(|t| (t, id_of(t)))
                        .collect();
                    NodeState::Broker(
                        BrokerChannel::new(c, consumers).expect("a channel with a backend"),
                    )
                }
                NodeConfig::Producer(c) => {
                    NodeState::Producer(Producer::new(c, targets(&n.id, "out")))
                }
                NodeConfig::Client(c) => {
                    NodeState::Client(Client::new(c, targets(&n.id, "out").first().copied()))
                }
                NodeConfig::Queue(c) => {
                    let consumers = targets(&n.id, "out");
                    let pulled = matches!(consumers.as_slice(), &[s] if inbox_of(s).is_some());
                    NodeState::Queue(Queue::new(c, consumers, pulled))
                }
                NodeConfig::Topic(c) => {
                    let subs = targets(&n.id, "out")
                        .into_iter()
                        .map(|t| (t, id_of(t)))
                        .collect();
                    NodeState::Topic(Topic::new(c, subs))
                }
                NodeConfig::Service(c) => {
                    // Queues feeding the service: what its autoscaler watches.
                    let feeders = in_edges
                        .get(n.id.as_str())
                        .into_iter()
                        .flatten()
                        .filter(|e| {
                            matches!(
                                index
                                    .get(e.from.as_str())
                                    .map(|&f| &graph.nodes[f as usize].config),
                                Some(NodeConfig::Queue(_))
                            )
                        })
                        .map(|e| node_of(&e.from))
                        .collect();
                    NodeState::Service(Service::new(
                        c,
                        targets(&n.id, "out"),
                        targets(&n.id, "error"),
                        targets(&n.id, "call"),
                        feeders,
                        inbox_of(node_of(&n.id)),
                    ))
                }
                NodeConfig::Sink(_) => NodeState::Sink(Sink::default()),
                NodeConfig::Breaker(c) => NodeState::Breaker(Breaker::new(
                    c,
                    targets(&n.id, "out").first().copied(),
                    targets(&n.id, "fallback"),
                )),
                NodeConfig::Gateway(c) => {
                    let routes = out_edges
                        .get(n.id.as_str())
                        .into_iter()
                        .flatten()
                        .map(|e| Route {
                            port: e.port.clone(),
                            target: node_of(&e.to),
                            target_id: e.to.clone(),
                        })
                        .collect();
                    NodeState::Gateway(Gateway::new(c, routes))
                }
                NodeConfig::Router(c) => {
                    let mut ports: Vec<(String, Vec<NodeId>)> = Vec::new();
                    let mut seen = HashSet::new();
                    for e in out_edges.get(n.id.as_str()).into_iter().flatten() {
                        if seen.insert(e.port.as_str()) {
                            ports.push((e.port.clone(), targets(&n.id, &e.port)));
                        }
                    }
                    NodeState::Router(Router::new(c, ports))
                }
                NodeConfig::EventLog(c) => {
                    let consumers = targets(&n.id, "out")
                        .into_iter()
                        .map(|t| (t, id_of(t)))
                        .collect();
                    NodeState::EventLog(EventLog::new(c, consumers))
                }
                NodeConfig::Projector(c) => NodeState::Projector(Projector::new(c)),
                NodeConfig::Saga(c) => {
                    let steps = c
                        .steps
                        .iter()
                        .map(|s| Step {
                            name: s.name.clone(),
                            action: node_of(&s.action),
                            compensation: s.compensation.as_deref().map(node_of),
                        })
                        .collect();
                    NodeState::Saga(Saga::new(c, steps))
                }
                NodeConfig::Invalid(_) => unreachable!("validation refuses invalid nodes"),
            })
            .collect();
        let nodes: Vec<NodeCell> = states
            .into_iter()
            .zip(&graph.nodes)
            .map(|(state, n)| NodeCell {
                state,
                rng: Rng::seed_from_u64(mix(seed ^ mix(id_hash(&n.id)))),
            })
            .collect();
        let faults: Vec<FaultSpec> = graph
            .faults
            .iter()
            .map(|f| FaultSpec {
                node: index[f.node.as_str()],
                kind: f.kind,
                rate: f.rate.unwrap_or(1.0),
                factor: f.factor.unwrap_or(1.0),
                consumer: f.consumer.as_deref().map(|c| index[c]),
            })
            .collect();

        let n = graph.nodes.len();
        let mut sim = Simulation {
            name: graph.name.clone(),
            seed,
            ids: graph.nodes.iter().map(|n| n.id.clone()).collect(),
            core: Core::new(nodes),
            faults,
            active_faults: vec![Vec::new(); n],
            has_input: graph
                .nodes
                .iter()
                .map(|n| in_edges.contains_key(n.id.as_str()))
                .collect(),
            kinds: graph.nodes.iter().map(|n| n.kind()).collect(),
            has_brokers: false,
        };
        sim.has_brokers = sim.core.states().any(|n| matches!(n, NodeState::Broker(_)));
        if n >= BATCHED_METRICS_NODES {
            sim.core.read_ahead = true;
            for i in 0..n {
                with_node!(sim.core.node_mut(i), n => n.batch_metrics());
            }
        }
        for (i, f) in graph.faults.iter().enumerate() {
            let index = i as u32;
            sim.core
                .schedule_at(ms_to_ns(f.at_ms), Timed::Fault { index, start: true });
            if let Some(until) = f.until_ms {
                sim.core.schedule_at(
                    ms_to_ns(until),
                    Timed::Fault {
                        index,
                        start: false,
                    },
                );
            }
        }
        for i in 0..n {
            sim.core
                .activate(i as NodeId, |n, ctx| with_node!(n, n => n.start(ctx)));
        }
        sim.core.run_wakes();
        Ok(sim)
    }

    /// Whether some channel of the graph lives on a broker (such graphs run live only).
    pub fn has_brokers(&self) -> bool {
        self.has_brokers
    }

    /// Connects every broker-backed channel through `hub` (a live run); `speed` is how many
    /// times faster than the wall clock simulated time runs. A node with edges into it
    /// publishes; one with edges out of it consumes.
    pub fn connect_brokers(&mut self, hub: &crate::broker::Hub, speed: f64) {
        for i in 0..self.core.len() {
            if let NodeState::Broker(b) = self.core.node_mut(i) {
                let role = crate::broker::Role {
                    publish: self.has_input[i],
                    consumers: b.consumer_ids(),
                };
                let link = hub.open(&self.ids[i], b.backend(), role);
                b.connect(link, speed);
            }
        }
    }

    /// Takes what the brokers sent (deliveries, confirms, connection news) into the
    /// simulation at the current time; returns how much arrived. `deliveries: false` once
    /// the run is over: deliveries then go back to the broker untouched.
    pub fn poll_brokers(&mut self, deliveries: bool) -> usize {
        if !self.has_brokers {
            return 0;
        }
        let mut handled = 0;
        for i in 0..self.core.len() {
            if matches!(self.core.node(i), NodeState::Broker(_)) {
                handled += self.core.activate(i as NodeId, |n, ctx| match n {
                    NodeState::Broker(b) => b.poll(ctx, deliveries),
                    _ => 0,
                });
            }
        }
        self.core.run_wakes();
        handled
    }

    /// Per broker-backed node (graph order): its id and its connection's state.
    pub fn broker_states(&self) -> Vec<(&str, crate::broker::LinkState)> {
        self.core
            .states()
            .enumerate()
            .filter_map(|(i, n)| match n {
                NodeState::Broker(b) => Some((self.ids[i].as_str(), b.link_state().clone())),
                _ => None,
            })
            .collect()
    }

    /// Current simulated time.
    pub fn now_ms(&self) -> f64 {
        ns_to_ms(self.core.now)
    }

    pub fn now_ns(&self) -> Time {
        self.core.now
    }

    /// Scheduler events processed so far.
    pub fn events(&self) -> u64 {
        self.core.events
    }

    /// No event is pending, and no broker-backed channel can still bring or owes anything
    /// (a channel that consumes from a broker never idles: more may come).
    pub fn is_idle(&self) -> bool {
        if self.core.next_time().is_some() {
            return false;
        }
        if !self.has_brokers() {
            return true;
        }
        // Messages held anywhere (a producer waiting for a broker to come up, publishes
        // awaiting their confirms) still move once the broker answers.
        self.core.states().all(|n| match n {
            NodeState::Broker(b) => !b.consumes() && b.settled(),
            _ => true,
        }) && self.in_flight() == 0
    }

    /// Time of the next pending event, in nanoseconds.
    pub fn next_event_ns(&self) -> Option<Time> {
        self.core.next_time()
    }

    /// Time of the next pending event.
    pub fn next_event_ms(&self) -> Option<f64> {
        self.core.next_time().map(ns_to_ms)
    }

    /// Processes one event; false when none is left.
    #[inline]
    pub fn step(&mut self) -> bool {
        self.step_until(Time::MAX)
    }

    /// Processes the next event if it is due by `t`: one of the same-instant queue first,
    /// else the heap's earliest. False when none is.
    #[inline]
    fn step_until(&mut self, t: Time) -> bool {
        if let Some(event) = self.core.ready.pop_front() {
            self.core.events += 1;
            self.dispatch(event);
            return true;
        }
        let Some(timed) = self.core.pop_timed_until(t) else {
            return false;
        };
        self.core.events += 1;
        self.fire(timed);
        true
    }

    /// Processes every event up to `t_ms`; the clock then reads `t_ms`.
    pub fn run_until_ms(&mut self, t_ms: f64) {
        self.run_until_ns(ms_to_ns(t_ms));
    }

    pub fn run_until_ns(&mut self, t: Time) {
        while self.step_until(t) {}
        self.core.now = self.core.now.max(t);
    }

    /// Messages inside the graph now: made or copied and not yet ended. A running count,
    /// cheap to read at any time (the conservation check confirms it against the nodes).
    pub fn in_flight(&self) -> u64 {
        let t = &self.core.tally;
        (t.created + t.copies)
            .saturating_sub(t.delivered + t.dropped + t.failed + t.rejected + t.filtered + t.lost)
    }

    /// The node holding the most messages now, and how many (what to blame when a graph
    /// grows without bound).
    pub fn largest_holder(&self) -> Option<(&str, u64)> {
        self.ids
            .iter()
            .zip(self.core.states())
            .map(|(id, node)| (id.as_str(), with_node!(node, n => n.held())))
            .max_by_key(|&(_, held)| held)
            .filter(|&(_, held)| held > 0)
    }

    /// Runs up to `until` (or until idle when `None`), calling `guard` every `every` events;
    /// a guard's error stops the run there and is returned. This is how resource ceilings
    /// and wall-clock timeouts end runs that would otherwise not end in time.
    pub fn run_guarded(
        &mut self,
        until: Option<Time>,
        every: u64,
        guard: &mut dyn FnMut(&Simulation) -> Result<(), String>,
    ) -> Result<(), String> {
        let every = every.max(1);
        let mut next_check = self.core.events + every;
        while self.step_until(until.unwrap_or(Time::MAX)) {
            if self.core.events >= next_check {
                next_check = self.core.events + every;
                guard(self)?;
            }
        }
        if let Some(t) = until {
            self.core.now = self.core.now.max(t);
        }
        guard(self)
    }

    /// Processes events until none is left, or up to `limit_ms`.
    pub fn run_to_idle(&mut self, limit_ms: Option<f64>) {
        match limit_ms {
            Some(limit) => {
                let t = ms_to_ns(limit);
                while self.step_until(t) {}
            }
            None => while self.step() {},
        }
    }

    /// Runs `event`'s handler (and those of the nodes it hands messages to), then wakes
    /// the senders that now have room.
    #[inline]
    fn dispatch(&mut self, event: Event) {
        self.core.handle(event);
        self.core.run_wakes();
    }

    /// Fires a timer (or applies a fault) from the heap, as [`Simulation::dispatch`] runs
    /// an event. Always inlined in the step: every other event is a timer.
    #[inline(always)]
    fn fire(&mut self, timed: Timed) {
        match timed {
            Timed::Timer { node, tag } => self.core.timer(node, tag),
            Timed::Fault { index, start } => self.apply_fault(index, start),
        }
        self.core.run_wakes();
    }

    /// A scheduled or injected fault starts or ends (or a scheduled replay happens).
    fn apply_fault(&mut self, index: u32, start: bool) {
        let spec = &self.faults[index as usize];
        let node = spec.node;
        if spec.kind == FaultKind::Replay {
            if start {
                let consumer = spec.consumer;
                self.core.activate(
                    node,
                    |n, ctx| with_node!(n, n => n.on_replay(ctx, consumer)),
                );
            }
            return;
        }
        let active = &mut self.active_faults[node as usize];
        if start {
            active.push(index);
        } else if let Some(pos) = active.iter().position(|&i| i == index) {
            active.remove(pos);
        } else {
            return; // ended before it began (until_ms < at_ms is refused by validation)
        }
        let before = self.core.faults(node);
        let now = combine_faults(active.iter().map(|&i| &self.faults[i as usize]));
        self.core.set_faults(node, now);
        self.core
            .activate(node, |n, ctx| with_node!(n, n => n.on_faults(ctx, before)));
    }

    /// Replays event log `log_id` now, as a scheduled `replay` fault does: rewinds
    /// `consumer` (every consumer when `None`) to the oldest kept event.
    /// Ids of the nodes, in graph order (the order of every per-node list).
    pub fn node_ids(&self) -> &[String] {
        &self.ids
    }

    /// Per node (graph order): the histogram of its headline latency, if it has one
    /// ([`crate::nodes::Behavior::latency`]).
    pub fn latencies(&self) -> impl Iterator<Item = Option<&crate::metrics::Latency>> + '_ {
        self.core
            .states()
            .map(|node| with_node!(node, n => n.latency()))
    }

    /// The node whose handler ran last (the one to blame when a handler panics).
    pub fn current_node(&self) -> Option<&str> {
        let n = self.core.current;
        (n != NO_NODE).then(|| self.ids[n as usize].as_str())
    }

    fn kind_of(&self, i: usize) -> Option<crate::model::NodeKind> {
        self.kinds.get(i).copied().flatten()
    }

    fn index_of(&self, id: &str) -> Result<usize, String> {
        self.ids
            .iter()
            .position(|n| n == id)
            .ok_or_else(|| format!("no node has id '{id}'"))
    }

    /// Changes a node's config while the simulation runs. Kinds that cannot change a field
    /// live (a topic's partitions, a saga's steps) refuse with the reason; the caller then
    /// restarts the run with the new graph.
    pub fn set_config(&mut self, id: &str, config: &NodeConfig) -> Result<(), String> {
        let i = self.index_of(id)?;
        let result = self.core.activate(
            i as NodeId,
            |n, ctx| with_node!(n, n => n.reconfigure(ctx, config)),
        );
        self.core.run_wakes();
        result
    }

    /// Starts a fault on a node now, until [`Simulation::clear_faults`].
    pub fn inject_fault(
        &mut self,
        id: &str,
        kind: FaultKind,
        rate: Option<f64>,
        factor: Option<f64>,
    ) -> Result<(), String> {
        let i = self.index_of(id)?;
        if kind == FaultKind::Replay {
            return self.replay(id, None);
        }
        let rate = rate.unwrap_or(1.0);
        let factor = factor.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!("a fail rate must be within 0..=1 (got {rate})"));
        }
        if !(factor.is_finite() && factor > 0.0) {
            return Err(format!("a slow factor must be more than 0 (got {factor})"));
        }
        self.faults.push(FaultSpec {
            node: i as NodeId,
            kind,
            rate,
            factor,
            consumer: None,
        });
        let index = (self.faults.len() - 1) as u32;
        self.core.events += 1;
        self.fire(Timed::Fault { index, start: true });
        Ok(())
    }

    /// Ends every fault active on a node now (injected or scheduled).
    pub fn clear_faults(&mut self, id: &str) -> Result<(), String> {
        let i = self.index_of(id)?;
        for index in self.active_faults[i].clone() {
            self.core.events += 1;
            self.fire(Timed::Fault {
                index,
                start: false,
            });
        }
        Ok(())
    }

    /// The kinds of the faults active on each node now, in the order of
    /// [`Simulation::node_ids`].
    pub fn active_faults(&self) -> Vec<Vec<FaultKind>> {
        self.active_faults
            .iter()
            .map(|active| {
                active
                    .iter()
                    .map(|&f| self.faults[f as usize].kind)
                    .collect()
            })
            .collect()
    }

    pub fn replay(&mut self, log_id: &str, consumer: Option<&str>) -> Result<(), String> {
        let index_of = |id: &str| self.ids.iter().position(|n| n == id);
        let log = index_of(log_id).ok_or_else(|| format!("no node has id '{log_id}'"))?;
        let has_consumer = |c: NodeId| match self.core.node(log) {
            NodeState::EventLog(l) => l.has_consumer(c),
            NodeState::Broker(b) => b.has_consumer(c),
            _ => false,
        };
        if self.kind_of(log) != Some(crate::model::NodeKind::EventLog) {
            return Err(format!(
                "'{log_id}' is not an event_log: only an event_log can replay"
            ));
        }
        let consumer = match consumer {
            None => None,
            Some(id) => match index_of(id) {
                Some(c) if has_consumer(c as NodeId) => Some(c as NodeId),
                _ => {
                    return Err(format!(
                        "'{id}' is not a consumer of '{log_id}' (no edge from the log to it)"
                    ));
                }
            },
        };
        self.core.activate(
            log as NodeId,
            |n, ctx| with_node!(n, n => n.on_replay(ctx, consumer)),
        );
        self.core.run_wakes();
        Ok(())
    }

    /// The report of the run so far (graph-format.md §2), with the conservation check.
    pub fn report(&self, wall_time_ms: f64) -> Report {
        let now = self.core.now;
        let mut nodes = IndexMap::with_capacity(self.core.len());
        let mut in_flight = 0;
        for (id, node) in self.ids.iter().zip(self.core.states()) {
            let (held, report) = with_node!(node, n => (n.held(), n.report(now)));
            in_flight += held;
            nodes.insert(id.clone(), report);
        }
        // Stopped within an instant (by `step`), messages may be on their way between two
        // nodes: sent, not yet arrived.
        in_flight += self
            .core
            .ready
            .iter()
            .filter(|e| matches!(e, Event::Arrive { .. }))
            .count() as u64;
        // Projectors report how far they trail the event logs feeding them.
        for (p, node) in self.core.states().enumerate() {
            let NodeState::Projector(projector) = node else {
                continue;
            };
            let logs = self.core.states().enumerate().filter_map(|(l, n)| match n {
                NodeState::EventLog(log) => Some((l as NodeId, log)),
                _ => None,
            });
            let (lag, staleness) = projector.behind(p as NodeId, logs, now);
            if let Some((_, report)) = nodes.get_index_mut(p) {
                report.lag = Some(lag);
                report.staleness_ms = Some(ns_to_ms(staleness));
            }
        }
        let t = &self.core.tally;
        let totals = Totals {
            created: t.created,
            delivered: t.delivered,
            dropped: t.dropped,
            failed: t.failed,
            rejected: t.rejected,
            filtered: t.filtered,
            lost: t.lost,
            in_flight,
            copies: t.copies,
        };
        let ok = totals.entered() == totals.accounted();
        let detail = (!ok).then(|| {
            format!(
                "{} messages entered (created {} + copies {}) but {} are accounted for",
                totals.entered(),
                totals.created,
                totals.copies,
                totals.accounted()
            )
        });
        Report {
            format: REPORT_FORMAT.to_owned(),
            version: REPORT_VERSION,
            graph: self.name.clone(),
            seed: self.seed,
            sim_time_ms: ns_to_ms(now),
            wall_time_ms,
            events: self.core.events,
            totals,
            conservation: Conservation { ok, detail },
            nodes,
        }
    }
}

fn combine_faults<'a>(active: impl Iterator<Item = &'a FaultSpec>) -> FaultState {
    let mut state = FaultState::default();
    let mut keep = 1.0;
    for f in active {
        match f.kind {
            FaultKind::Fail => keep *= 1.0 - f.rate.clamp(0.0, 1.0),
            FaultKind::Slow => state.slow_factor *= f.factor,
            FaultKind::Crash => state.crashed = true,
            FaultKind::Stop => state.stopped = true,
            FaultKind::Replay => {}
        }
    }
    state.fail_rate = 1.0 - keep;
    state
}

/// Whether a run of `graph` ends by itself: every producer and client has a `limit` and no
/// message can circle forever.
pub fn ends_by_itself(graph: &Graph) -> bool {
    let sources_end = graph.nodes.iter().all(|n| match &n.config {
        NodeConfig::Producer(c) => c.limit.is_some() || c.rate_per_sec <= 0.0,
        NodeConfig::Client(c) => c.limit.is_some() || c.rate_per_sec <= 0.0,
        _ => true,
    });
    // A channel that consumes from a broker may always receive more.
    let brokered = graph.brokered();
    let consumes_from_broker = !brokered.is_empty()
        && graph
            .edges
            .iter()
            .any(|e| brokered.contains(e.from.as_str()));
    if consumes_from_broker {
        return false;
    }
    let mut flow = DiGraphMap::<&str, ()>::new();
    for e in &graph.edges {
        flow.add_edge(e.from.as_str(), e.to.as_str(), ());
    }
    // toposort walks the graph without recursion, so a long chain cannot exhaust the stack.
    sources_end && toposort(&flow, None).is_ok()
}

/// Runs `graph` as fast as the machine can and returns its report.
pub fn run(graph: &Graph, options: &RunOptions) -> Result<Report, BuildError> {
    let start = Instant::now();
    let mut sim = Simulation::new(graph, options.seed)?;
    match options.duration_ms {
        Some(d) => sim.run_until_ms(d),
        None if ends_by_itself(graph) => sim.run_to_idle(None),
        None => sim.run_until_ms(DEFAULT_HORIZON_MS),
    }
    Ok(sim.report(start.elapsed().as_secs_f64() * 1000.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Edge, Node, ProducerConfig};

    /// Whether a run ends by itself is decided without recursion: a chain of 100,000 nodes
    /// does not exhaust a test thread's small stack, and a loop is still seen.
    #[test]
    fn ends_by_itself_on_a_long_chain() {
        let n = 100_000;
        let mut graph = Graph::default();
        let producer = ProducerConfig {
            limit: Some(1),
            ..Default::default()
        };
        graph
            .nodes
            .push(Node::new("n0", NodeConfig::Producer(producer)));
        for i in 1..n {
            let queue = NodeConfig::default_for(crate::model::NodeKind::Queue);
            graph.nodes.push(Node::new(format!("n{i}"), queue));
            graph
                .edges
                .push(Edge::new(format!("n{}", i - 1), format!("n{i}")));
        }
        assert!(ends_by_itself(&graph));
        graph.edges.push(Edge::new(format!("n{}", n - 1), "n1"));
        assert!(!ends_by_itself(&graph));
    }
}

#[cfg(test)]
mod hand_over_tests {
    use super::*;

    fn graph(json: &str) -> Graph {
        Graph::from_json_str(json).expect("a valid test graph")
    }

    fn retry_loop(rate: u32, concurrency: u32) -> Graph {
        graph(&format!(
            r#"{{"format": "flowbench.graph", "version": 1, "name": "loop", "seed": 9,
                "nodes": [
                  {{"id": "p", "kind": "producer",
                   "config": {{"rate_per_sec": {rate}, "arrival": "constant", "limit": 2000}}}},
                  {{"id": "q", "kind": "queue", "config": {{"capacity": 3, "when_full": "block"}}}},
                  {{"id": "s", "kind": "service",
                   "config": {{"concurrency": {concurrency}, "failure_rate": 0.5,
                              "service_time": {{"dist": "const", "ms": 1}}}}}},
                  {{"id": "done", "kind": "sink"}}
                ],
                "edges": [{{"from": "p", "to": "q"}}, {{"from": "q", "to": "s"}},
                          {{"from": "s", "to": "done"}},
                          {{"from": "s", "to": "q", "port": "error"}}],
                "faults": []}}"#
        ))
    }

    /// Workers hand failed messages back into the blocking queue that feeds them. The
    /// queue takes each one inside the failing worker's activation and wants to hand it on
    /// to the same service, whose handler is still running: the service has no room until
    /// it returns, then the queue is woken and hands the message to a free worker. Every
    /// message gets through, and the queue never holds more than its capacity.
    #[test]
    fn a_retry_loop_hands_back_through_a_busy_service() {
        let report = run(&retry_loop(1_000, 16), &RunOptions::default()).unwrap();
        assert!(report.conservation.ok, "{:?}", report.conservation);
        let q = &report.nodes["q"];
        assert!(q.depth.as_ref().unwrap().max <= 3.0);
        assert!(
            q.in_ > 3_000,
            "about half of every pass comes back: {}",
            q.in_
        );
        assert_eq!(report.nodes["done"].in_, 2000);
    }

    /// The same loop under load jams, as a loop of blocking channels does: the queue is
    /// full and every worker waits for room in it to hand back a failed message. Nothing
    /// passes the queue's capacity and every message is accounted for, in flight.
    #[test]
    fn a_full_retry_loop_jams_within_its_capacity() {
        let mut sim = Simulation::new(&retry_loop(5_000, 2), None).unwrap();
        sim.run_until_ms(60_000.0);
        let report = sim.report(0.0);
        assert!(report.conservation.ok, "{:?}", report.conservation);
        let q = &report.nodes["q"];
        assert_eq!(q.depth.as_ref().unwrap().max, 3.0);
        assert_eq!(q.in_flight, Some(3), "the queue is full");
        assert_eq!(
            report.nodes["s"].in_flight,
            Some(2),
            "both workers hold a message"
        );
        assert!(report.totals.in_flight > 0 && report.nodes["done"].in_ < 2000);
    }

    /// A queue that is its service's only input is pulled from by the service as workers
    /// free; the same graph with a second (silent) input into the service, where the queue
    /// hands its messages on and waits for room instead, runs exactly the same: every
    /// node's report agrees, through ties (constant times), retries, a full blocking
    /// queue, a crash of the queue and a stop of the service.
    #[test]
    fn a_queue_pulled_by_its_service_runs_as_one_that_pushes() {
        let with_second_input = |second: bool| {
            let (node, edge) = if second {
                (
                    r#"{"id": "quiet", "kind": "producer", "config": {"rate_per_sec": 1, "limit": 0}},"#,
                    r#"{"from": "quiet", "to": "s"},"#,
                )
            } else {
                ("", "")
            };
            graph(&format!(
                r#"{{"format": "flowbench.graph", "version": 1, "name": "pull", "seed": 5,
                    "nodes": [{node}
                      {{"id": "p", "kind": "producer",
                       "config": {{"rate_per_sec": 900, "arrival": "constant", "limit": 5000}}}},
                      {{"id": "p2", "kind": "producer", "config": {{"rate_per_sec": 300, "limit": 2000}}}},
                      {{"id": "q", "kind": "queue", "config": {{"capacity": 20, "when_full": "block"}}}},
                      {{"id": "s", "kind": "service",
                       "config": {{"concurrency": 3, "failure_rate": 0.1, "max_retries": 1,
                                  "retry_backoff_ms": 2,
                                  "service_time": {{"dist": "const", "ms": 3}}}}}},
                      {{"id": "done", "kind": "sink"}}
                    ],
                    "edges": [{edge} {{"from": "p", "to": "q"}}, {{"from": "p2", "to": "q"}},
                              {{"from": "q", "to": "s"}}, {{"from": "s", "to": "done"}}],
                    "faults": [{{"node": "q", "kind": "crash", "at_ms": 1500, "until_ms": 1700}},
                               {{"node": "s", "kind": "stop", "at_ms": 3000, "until_ms": 3300}}]}}"#
            ))
        };
        let pulled = run(&with_second_input(false), &RunOptions::default()).unwrap();
        let pushed = run(&with_second_input(true), &RunOptions::default()).unwrap();
        assert!(pulled.conservation.ok && pushed.conservation.ok);
        for id in ["p", "p2", "q", "s", "done"] {
            assert_eq!(
                serde_json::to_value(&pulled.nodes[id]).unwrap(),
                serde_json::to_value(&pushed.nodes[id]).unwrap(),
                "{id}"
            );
        }
        // The one difference: a queue that pushes is still woken when the service frees
        // after a crash emptied the queue, and that wake (which finds nothing) counts.
        assert_eq!(pulled.events + 1, pushed.events, "pulled, pushed");
        assert_eq!(
            serde_json::to_value(&pulled.totals).unwrap(),
            serde_json::to_value(&pushed.totals).unwrap()
        );
        assert_eq!(pulled.sim_time_ms, pushed.sim_time_ms);
        let q = &pulled.nodes["q"];
        assert_eq!(q.depth.as_ref().unwrap().max, 20.0, "the queue filled up");
        assert!(q.lost.unwrap() > 0, "the crash emptied it");
        assert!(pulled.nodes["p"].blocked_ms.unwrap() > 0.0);
    }

    /// A long chain of queues hands a message on at once only so deep; beyond that it waits
    /// its turn in the scheduler, so the stack stays small and the message still arrives.
    #[test]
    fn a_long_chain_of_hand_overs_arrives() {
        let n = 2_000;
        let mut nodes = vec![
            r#"{"id": "p", "kind": "producer", "config": {"rate_per_sec": 10, "limit": 3}}"#
                .to_owned(),
        ];
        let mut edges = vec![r#"{"from": "p", "to": "q0"}"#.to_owned()];
        for i in 0..n {
            nodes.push(format!(r#"{{"id": "q{i}", "kind": "queue"}}"#));
            if i > 0 {
                edges.push(format!(r#"{{"from": "q{}", "to": "q{i}"}}"#, i - 1));
            }
        }
        nodes.push(r#"{"id": "done", "kind": "sink"}"#.to_owned());
        edges.push(format!(r#"{{"from": "q{}", "to": "done"}}"#, n - 1));
        let g = graph(&format!(
            r#"{{"format": "flowbench.graph", "version": 1, "name": "chain",
                "nodes": [{}], "edges": [{}], "faults": []}}"#,
            nodes.join(","),
            edges.join(",")
        ));
        // A thread with a small stack, as test threads and the engine thread have.
        let report = std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || run(&g, &RunOptions::default()).unwrap())
            .unwrap()
            .join()
            .unwrap();
        assert!(report.conservation.ok);
        assert_eq!(report.nodes["done"].in_, 3);
    }

    /// Runs the graph of `json` to its end; every message accounted for.
    fn run_conserved(json: &str) -> crate::report::Report {
        let report = run(&graph(json), &RunOptions::default()).unwrap();
        assert!(report.conservation.ok, "{:?}", report.conservation);
        report
    }

    /// A sink takes most messages in place, in the sender's handler, and the others (while
    /// a fault is on it, or senders wait for it) through its own handler: either way each
    /// counts once, delivered with its latency or failed.
    #[test]
    fn a_sink_counts_every_message_with_or_without_faults() {
        let report = run_conserved(
            r#"{"format": "flowbench.graph", "version": 1, "name": "sink", "seed": 3,
                    "nodes": [
                      {"id": "p", "kind": "producer",
                       "config": {"rate_per_sec": 1000, "arrival": "constant", "limit": 1000}},
                      {"id": "s", "kind": "service",
                       "config": {"concurrency": 4, "service_time": {"dist": "const", "ms": 2}}},
                      {"id": "done", "kind": "sink"}
                    ],
                    "edges": [{"from": "p", "to": "s"}, {"from": "s", "to": "done"}],
                    "faults": [
                      {"node": "done", "kind": "fail", "at_ms": 100, "until_ms": 200, "rate": 1.0},
                      {"node": "done", "kind": "crash", "at_ms": 300, "until_ms": 350}
                    ]}"#,
        );
        let done = &report.nodes["done"];
        let failed = done.failed.unwrap();
        assert_eq!(done.in_, 1000);
        assert!((95..=105).contains(&failed), "failed {failed}");
        // Down, the sink has no room: the service holds its results until it is back.
        assert_eq!(done.lost, Some(0));
        let latency = done.latency_ms.as_ref().unwrap();
        assert_eq!(latency.count, 1000 - failed);
        assert_eq!(report.totals.delivered, latency.count);
        assert!((latency.p50 - 2.0).abs() < 0.05, "latency {latency:?}");
        assert!(latency.max > 40.0, "latency {latency:?}");
    }

    /// A producer faster than the service behind a small blocking queue: messages wait in
    /// the queue while the service is busy, the producer waits while the queue is full, and
    /// each message the service takes frees room and wakes the producer. All get through,
    /// and the queue never holds more than its capacity.
    #[test]
    fn a_full_inbox_queue_wakes_its_sender_as_its_service_takes_messages() {
        let report = run_conserved(
            r#"{"format": "flowbench.graph", "version": 1, "name": "inbox", "seed": 5,
                    "nodes": [
                      {"id": "p", "kind": "producer",
                       "config": {"rate_per_sec": 1000, "arrival": "constant", "limit": 500}},
                      {"id": "q", "kind": "queue", "config": {"capacity": 5, "when_full": "block"}},
                      {"id": "s", "kind": "service",
                       "config": {"concurrency": 1, "service_time": {"dist": "const", "ms": 5}}},
                      {"id": "done", "kind": "sink"}
                    ],
                    "edges": [{"from": "p", "to": "q"}, {"from": "q", "to": "s"},
                              {"from": "s", "to": "done"}],
                    "faults": []}"#,
        );
        assert_eq!(report.nodes["done"].in_, 500);
        let q = &report.nodes["q"];
        assert_eq!((q.in_, q.out), (500, 500));
        assert_eq!(q.depth.as_ref().unwrap().max, 5.0);
        // 500 messages at 5 ms each: 2.5 s, the producer blocked for most of it.
        assert!(
            (report.sim_time_ms - 2_500.0).abs() < 10.0,
            "{}",
            report.sim_time_ms
        );
        assert!(report.nodes["p"].blocked_ms.unwrap() > 1_500.0);
    }

    /// A service that pulls from its inbox queue, with a backlog waiting there, through a
    /// fault on the queue or on the service: the pulls stop while it lasts and start again
    /// after it, and the backlog drains (a crashed worker loses its one message; the
    /// durable queue keeps its own).
    #[test]
    fn a_pulled_backlog_drains_after_each_fault() {
        for (node, kind, lost) in [
            ("q", "crash", 0),
            ("q", "stop", 0),
            ("s", "crash", 1),
            ("s", "stop", 0),
        ] {
            let report = run_conserved(&format!(
                r#"{{"format": "flowbench.graph", "version": 1, "name": "pulled", "seed": 3,
                    "nodes": [
                      {{"id": "p", "kind": "producer",
                       "config": {{"rate_per_sec": 300, "arrival": "constant", "limit": 600}}}},
                      {{"id": "q", "kind": "queue", "config": {{"durable": true}}}},
                      {{"id": "s", "kind": "service",
                       "config": {{"concurrency": 1, "service_time": {{"dist": "const", "ms": 4}}}}}},
                      {{"id": "done", "kind": "sink"}}
                    ],
                    "edges": [{{"from": "p", "to": "q"}}, {{"from": "q", "to": "s"}},
                              {{"from": "s", "to": "done"}}],
                    "faults": [{{"node": "{node}", "kind": "{kind}",
                                "at_ms": 1000, "until_ms": 1200}}]}}"#
            ));
            let what = format!("{kind} of {node}");
            assert_eq!(report.totals.lost, lost, "{what}");
            assert_eq!(report.totals.delivered, 600 - lost, "{what}");
            // A backlog was waiting when the fault began: 300 per second in, 250 out, 50
            // after the first second.
            let q = &report.nodes["q"];
            assert!(q.depth.as_ref().unwrap().max >= 50.0, "{what}: {q:?}");
            assert_eq!(q.depth.as_ref().unwrap().last, 0.0, "{what}");
            // 600 messages at 4 ms each, the fault's 200 ms on top.
            assert!(
                (report.sim_time_ms - 2_600.0).abs() < 20.0,
                "{what}: {}",
                report.sim_time_ms
            );
        }
    }
}
