//! Graph validation: every problem of a graph at once, errors and warnings, each naming its
//! node, edge or fault and the field at fault. The order is stable: the graph header, nodes
//! in file order, edges, faults, then whole-graph checks (totals, call cycles, loops without
//! delay, reachability). It takes time in proportion to the size of the graph.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};

use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, VisitMap};
use serde::Serialize;

use crate::model::{
    Backend, BreakerConfig, ClientConfig, Diagnostic, Dist, Edge, Fallback, Fault, FaultKind,
    GRAPH_FORMAT, GRAPH_VERSION, GatewayConfig, GatewayMode, Graph, InvalidNode, InvalidProblem,
    Node, NodeConfig, NodeKind, Place, Ports, ProducerConfig, QueueConfig, RouterConfig, RuleOp,
    SagaConfig, ServiceConfig, Trip, WhenFull,
};

/// Fastest `rate_per_sec` of a producer or client: one message per nanosecond, the tick of
/// the engine's clock. Faster sources would put messages at one instant without end.
pub const MAX_RATE_PER_SEC: f64 = 1e9;
/// Most workers of one service (`concurrency`, or `autoscale.max`); each takes memory.
pub const MAX_WORKERS: u32 = 100_000;
/// Most workers of all services of a graph together.
pub const MAX_TOTAL_WORKERS: u64 = 1_000_000;
/// Most partitions of one topic; each subscriber keeps a buffer per partition.
pub const MAX_PARTITIONS: u32 = 10_000;
/// Most partition buffers (partitions × subscribers) of all topics of a graph together. A
/// topic on a broker keeps its messages there and one buffer per subscriber here, whatever
/// its partitions.
pub const MAX_TOTAL_PARTITION_BUFFERS: u64 = 1_000_000;

/// Every problem of `graph`, errors and warnings, in a stable order.
pub fn validate(graph: &Graph) -> Vec<Diagnostic> {
    let ix = Index::new(graph);
    let mut found = Vec::new();
    check_header(graph, &mut found);
    for (i, node) in graph.nodes.iter().enumerate() {
        check_node(&ix, i, node, &mut found);
    }
    for (i, edge) in graph.edges.iter().enumerate() {
        check_edge(&ix, i, edge, &mut found);
    }
    for (i, fault) in graph.faults.iter().enumerate() {
        check_fault(&ix, i, fault, &mut found);
    }
    check_totals(&ix, &mut found);
    check_call_cycles(&ix, &mut found);
    check_instant_loops(&ix, &mut found);
    check_reachability(&ix, &mut found);
    found
}

/// Lookups shared by the checks. Every per-node question about edges is answered from these
/// maps, so validation takes time in proportion to the size of the graph, however many nodes
/// and edges it has.
struct Index<'g> {
    graph: &'g Graph,
    /// The first node of each id; a repeated id is reported and otherwise ignored.
    by_id: HashMap<&'g str, usize>,
    /// The first edge of each (from, to, port), to spot repeated edges.
    first_edge: HashMap<(&'g str, &'g str, &'g str), usize>,
    /// Edges leaving each id, in file order.
    from: HashMap<&'g str, Vec<usize>>,
    /// Edges arriving at each id, in file order.
    to: HashMap<&'g str, Vec<usize>>,
    /// Edges leaving each (id, port), in file order.
    on_port: HashMap<(&'g str, &'g str), Vec<usize>>,
    /// (from, to) of every edge, whatever its port.
    linked: HashSet<(&'g str, &'g str)>,
    /// The port names of each router (by node index): those its rules and default_port name.
    router_ports: HashMap<usize, HashSet<&'g str>>,
}

impl<'g> Index<'g> {
    fn new(graph: &'g Graph) -> Index<'g> {
        let mut by_id = HashMap::new();
        let mut router_ports = HashMap::new();
        for (i, node) in graph.nodes.iter().enumerate() {
            by_id.entry(node.id.as_str()).or_insert(i);
            if let NodeConfig::Router(router) = &node.config {
                let rule_ports = router.rules.iter().map(|r| r.port.as_str());
                let ports: HashSet<&str> =
                    rule_ports.chain(router.default_port.as_deref()).collect();
                router_ports.insert(i, ports);
            }
        }
        let mut first_edge = HashMap::new();
        let mut from: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut to: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut on_port: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        let mut linked = HashSet::new();
        for (i, e) in graph.edges.iter().enumerate() {
            let (f, t, p) = (e.from.as_str(), e.to.as_str(), e.port.as_str());
            first_edge.entry((f, t, p)).or_insert(i);
            from.entry(f).or_default().push(i);
            to.entry(t).or_default().push(i);
            on_port.entry((f, p)).or_default().push(i);
            linked.insert((f, t));
        }
        Index {
            graph,
            by_id,
            first_edge,
            from,
            to,
            on_port,
            linked,
            router_ports,
        }
    }

    fn node(&self, id: &str) -> Option<&'g Node> {
        self.by_id.get(id).map(|&i| &self.graph.nodes[i])
    }

    fn kind(&self, id: &str) -> Option<NodeKind> {
        self.node(id).and_then(Node::kind)
    }

    /// Whether `edge` is a synchronous call (decided by its source's kind and port).
    fn is_call(&self, edge: &Edge) -> bool {
        self.kind(&edge.from)
            .is_some_and(|k| k.is_call_port(&edge.port))
    }

    /// The graph as a petgraph, node `i` being `graph.nodes[i]`, with the `keep` edges
    /// whose ends both exist (repeated edges once).
    fn flow_graph(&self, keep: impl Fn(&Edge) -> bool) -> DiGraph<(), ()> {
        let graph = self.graph;
        let mut flow = DiGraph::with_capacity(graph.nodes.len(), graph.edges.len());
        for _ in &graph.nodes {
            flow.add_node(());
        }
        let mut added = HashSet::new();
        for edge in graph.edges.iter().filter(|e| keep(e)) {
            let from = self.by_id.get(edge.from.as_str());
            let to = self.by_id.get(edge.to.as_str());
            if let (Some(&from), Some(&to)) = (from, to)
                && added.insert((from, to))
            {
                flow.add_edge(NodeIndex::new(from), NodeIndex::new(to), ());
            }
        }
        flow
    }

    fn edges<'a>(&'a self, list: Option<&'a Vec<usize>>) -> impl Iterator<Item = &'g Edge> + 'a {
        let edges = &self.graph.edges;
        list.into_iter().flatten().map(move |&i| &edges[i])
    }

    /// Edges leaving node `id`, in file order.
    fn edges_from<'a>(&'a self, id: &str) -> impl Iterator<Item = &'g Edge> + 'a {
        self.edges(self.from.get(id))
    }

    /// Edges arriving at node `id`, in file order.
    fn edges_to<'a>(&'a self, id: &str) -> impl Iterator<Item = &'g Edge> + 'a {
        self.edges(self.to.get(id))
    }

    /// Edges leaving node `id` through `port`, in file order.
    fn edges_on<'a>(&'a self, id: &'a str, port: &'a str) -> impl Iterator<Item = &'g Edge> + 'a {
        self.edges(self.on_port.get(&(id, port)))
    }

    /// Whether some edge goes from `from` to `to`.
    fn has_edge(&self, from: &str, to: &str) -> bool {
        self.linked.contains(&(from, to))
    }

    /// Whether node `from` (the first of its id) has an output port of this name.
    fn has_port(&self, from: &Node, kind: NodeKind, port: &str) -> bool {
        match self
            .by_id
            .get(from.id.as_str())
            .and_then(|i| self.router_ports.get(i))
        {
            Some(ports) => ports.contains(port),
            None => kind.output_ports().allows(port),
        }
    }
}

/// Collects the problems of one node, edge or fault, each against one of its fields.
struct Fields<'a> {
    found: &'a mut Vec<Diagnostic>,
    place: Place,
}

impl<'a> Fields<'a> {
    fn new(found: &'a mut Vec<Diagnostic>, place: Place) -> Fields<'a> {
        Fields { found, place }
    }

    fn place(&self, field: Option<&str>) -> Place {
        let field = field.map(str::to_owned);
        match &self.place {
            Place::Graph { .. } => Place::Graph { field },
            Place::Node { id, .. } => Place::Node {
                id: id.clone(),
                field,
            },
            Place::Edge {
                index, from, to, ..
            } => Place::Edge {
                index: *index,
                from: from.clone(),
                to: to.clone(),
                field,
            },
            Place::Fault { index, node, .. } => Place::Fault {
                index: *index,
                node: node.clone(),
                field,
            },
        }
    }

    fn error(&mut self, field: &str, message: impl Into<String>) {
        let place = self.place(Some(field));
        self.found.push(Diagnostic::error(place, message));
    }

    fn warning(&mut self, field: &str, message: impl Into<String>) {
        let place = self.place(Some(field));
        self.found.push(Diagnostic::warning(place, message));
    }

    fn error_here(&mut self, message: impl Into<String>) {
        let place = self.place(None);
        self.found.push(Diagnostic::error(place, message));
    }

    fn warning_here(&mut self, message: impl Into<String>) {
        let place = self.place(None);
        self.found.push(Diagnostic::warning(place, message));
    }

    /// A `_per_sec` rate: finite and at least 0; exactly 0 is allowed but `zero_means`.
    fn rate(&mut self, field: &str, value: f64, zero_means: &str) {
        if !(value.is_finite() && value >= 0.0) {
            self.error(
                field,
                format!(
                    "negative or NaN rate: must be a finite number >= 0 per second (got {})",
                    num(value)
                ),
            );
        } else if value == 0.0 {
            self.warning(field, format!("rate is 0: {zero_means}"));
        }
    }

    fn probability(&mut self, field: &str, value: f64) {
        if !(0.0..=1.0).contains(&value) {
            self.error(
                field,
                format!("must be a probability in 0..=1 (got {})", num(value)),
            );
        }
    }

    fn ms_at_least_zero(&mut self, field: &str, value: f64) {
        if !(value.is_finite() && value >= 0.0) {
            self.error(
                field,
                format!(
                    "must be a finite number of milliseconds >= 0 (got {})",
                    num(value)
                ),
            );
        }
    }

    fn ms_positive(&mut self, field: &str, value: f64) {
        if !(value.is_finite() && value > 0.0) {
            self.error(
                field,
                format!(
                    "must be a finite number of milliseconds > 0 (got {})",
                    num(value)
                ),
            );
        }
    }

    /// `value` must not be below the sibling field `lower` (checked on its own when that
    /// sibling is itself not a number).
    fn ms_not_below(&mut self, field: &str, value: f64, lower_name: &str, lower: f64) {
        if !lower.is_finite() {
            self.ms_at_least_zero(field, value);
        } else if !(value.is_finite() && value >= lower) {
            self.error(
                field,
                format!(
                    "must be at least {lower_name} ({}) (got {})",
                    num(lower),
                    num(value)
                ),
            );
        }
    }

    fn positive(&mut self, field: &str, value: f64) {
        if !(value.is_finite() && value > 0.0) {
            self.error(
                field,
                format!("must be a finite number > 0 (got {})", num(value)),
            );
        }
    }

    /// A rate of new messages: no faster than the clock can tell apart.
    fn source_rate(&mut self, field: &str, value: f64) {
        if value.is_finite() && value > MAX_RATE_PER_SEC {
            self.error(
                field,
                format!(
                    "must be at most {} per second, one per nanosecond of the engine's clock \
                     (got {})",
                    num(MAX_RATE_PER_SEC),
                    num(value)
                ),
            );
        }
    }

    fn at_most(&mut self, field: &str, value: u32, max: u32) {
        if value > max {
            self.error(field, format!("must be at most {max} (got {value})"));
        }
    }

    fn at_least_one(&mut self, field: &str, value: u64) {
        if value == 0 {
            self.error(field, "must be at least 1 (got 0)");
        }
    }

    /// A bound where null has a meaning (`null_means`) and 0 has none.
    fn bound(&mut self, field: &str, value: Option<u64>, null_means: &str) {
        if value == Some(0) {
            self.error(
                field,
                format!("must be at least 1 or null for {null_means} (got 0)"),
            );
        }
    }

    fn dist(&mut self, field: &str, dist: &Dist) {
        match *dist {
            Dist::Const { ms } => self.ms_at_least_zero(&format!("{field}.ms"), ms),
            Dist::Exp { mean_ms } => self.ms_positive(&format!("{field}.mean_ms"), mean_ms),
            Dist::Uniform { min_ms, max_ms } => {
                self.ms_at_least_zero(&format!("{field}.min_ms"), min_ms);
                self.ms_not_below(&format!("{field}.max_ms"), max_ms, "min_ms", min_ms);
            }
            Dist::Lognormal { median_ms, p99_ms } => {
                self.ms_positive(&format!("{field}.median_ms"), median_ms);
                self.ms_not_below(&format!("{field}.p99_ms"), p99_ms, "median_ms", median_ms);
            }
        }
    }
}

fn check_header(graph: &Graph, found: &mut Vec<Diagnostic>) {
    let mut f = Fields::new(found, Place::Graph { field: None });
    if graph.format != GRAPH_FORMAT {
        f.error(
            "format",
            format!("must be \"{GRAPH_FORMAT}\" (got \"{}\")", graph.format),
        );
    }
    if graph.version != GRAPH_VERSION {
        f.error(
            "version",
            format!(
                "unsupported version {} (supported versions: {GRAPH_VERSION})",
                graph.version
            ),
        );
    }
}

fn check_node(ix: &Index, i: usize, node: &Node, found: &mut Vec<Diagnostic>) {
    let place = Place::Node {
        id: node.id.clone(),
        field: None,
    };
    let mut f = Fields::new(found, place);
    check_id(ix, i, node, &mut f);
    if let Some(process) = &node.process
        && (process.is_empty()
            || !process
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        f.error(
            "process",
            format!("'{process}': a process name uses letters, digits, '_', '.' and '-'"),
        );
    }
    match &node.config {
        NodeConfig::Producer(c) => {
            check_producer(c, &mut f);
            check_payload(c.payload.as_ref(), &mut f);
        }
        NodeConfig::Client(c) => {
            check_client(ix, node, c, &mut f);
            check_payload(c.payload.as_ref(), &mut f);
        }
        NodeConfig::Queue(c) => {
            f.bound("capacity", c.capacity, "unbounded");
            check_throttle(c, &mut f);
            check_backend(NodeKind::Queue, c.backend.as_ref(), &mut f);
            if c.backend.is_none() {
                check_has_consumer(ix, node, &mut f);
            }
        }
        NodeConfig::Topic(c) => {
            f.at_least_one("partitions", c.partitions.into());
            f.at_most("partitions", c.partitions, MAX_PARTITIONS);
            f.bound("subscriber_capacity", c.subscriber_capacity, "unbounded");
            if c.when_full == WhenFull::Throttle {
                f.error(
                    "when_full",
                    "a topic's subscriber buffers block or drop; throttle is for queues",
                );
            }
            check_backend(NodeKind::Topic, c.backend.as_ref(), &mut f);
            if c.backend.is_none() {
                check_has_consumer(ix, node, &mut f);
            }
        }
        NodeConfig::Service(c) => check_service(ix, node, c, &mut f),
        NodeConfig::Sink(_) => {}
        NodeConfig::Breaker(c) => check_breaker(ix, node, c, &mut f),
        NodeConfig::Gateway(c) => check_gateway(ix, node, c, &mut f),
        NodeConfig::Router(c) => check_router(ix, node, c, &mut f),
        NodeConfig::EventLog(c) => {
            f.bound("retention", c.retention, "keep all");
            check_backend(NodeKind::EventLog, c.backend.as_ref(), &mut f);
        }
        NodeConfig::Projector(c) => f.dist("service_time", &c.service_time),
        NodeConfig::Saga(c) => check_saga(ix, node, c, &mut f),
        NodeConfig::Invalid(bad) => check_invalid(bad, &mut f),
    }
}

/// A broker binding: the backend fits the node's kind, its URL has the broker's scheme and
/// a host, and the names are ones the broker accepts.
fn check_backend(kind: NodeKind, backend: Option<&Backend>, f: &mut Fields) {
    let Some(backend) = backend else {
        return;
    };
    let fits = match backend {
        Backend::RabbitMq(_) => kind == NodeKind::Queue,
        Backend::Nats(_) => kind == NodeKind::Topic,
        Backend::JetStream(_) => kind == NodeKind::EventLog,
    };
    if !fits {
        let wanted = match kind {
            NodeKind::Queue => "\"rabbitmq\"",
            NodeKind::Topic => "\"nats\"",
            _ => "\"jetstream\"",
        };
        f.error(
            "backend.kind",
            format!(
                "a {kind} cannot live on \"{}\"; a {kind}'s backend is {wanted}",
                backend.kind_name()
            ),
        );
        return;
    }
    let schemes: &[&str] = match backend {
        Backend::RabbitMq(_) => &["amqp", "amqps"],
        _ => &["nats", "tls"],
    };
    if let Err(e) = check_broker_url(backend.url(), schemes) {
        f.error("backend.url", e);
    }
    match backend {
        Backend::RabbitMq(b) => {
            if b.queue.is_empty() {
                f.error("backend.queue", "must name the broker's queue");
            } else if b.queue.len() > 255 {
                f.error(
                    "backend.queue",
                    "RabbitMQ queue names are at most 255 bytes",
                );
            } else if b.queue.starts_with("amq.") {
                f.error(
                    "backend.queue",
                    "names starting with 'amq.' are reserved by RabbitMQ",
                );
            }
            if b.prefetch == 0 {
                f.error(
                    "backend.prefetch",
                    "must be at least 1 (0 would mean unlimited unacknowledged messages)",
                );
            }
        }
        Backend::Nats(b) => {
            if let Err(e) = check_subject(&b.subject) {
                f.error("backend.subject", e);
            }
        }
        Backend::JetStream(b) => {
            if b.stream.is_empty() {
                f.error("backend.stream", "must name the JetStream stream");
            } else if !b
                .stream
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
            {
                f.error(
                    "backend.stream",
                    format!(
                        "'{}': stream names may only use letters, digits, '_' and '-'",
                        b.stream
                    ),
                );
            }
            if let Err(e) = check_subject(&b.subject) {
                f.error("backend.subject", e);
            }
        }
    }
}

/// `scheme://[user[:password]@]host[:port][/path]` with one of `schemes`.
fn check_broker_url(url: &str, schemes: &[&str]) -> Result<(), String> {
    let wanted = schemes
        .iter()
        .map(|s| format!("{s}://"))
        .collect::<Vec<_>>()
        .join(" or ");
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("'{url}' is not a URL; write {wanted}host:port"));
    };
    if !schemes.contains(&scheme) {
        return Err(format!(
            "'{scheme}://' is not this broker's scheme; write {wanted}host:port"
        ));
    }
    let authority = rest.split('/').next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || host_port.starts_with('[') => (h, Some(p)),
        _ => (host_port, None),
    };
    if host.is_empty() {
        return Err(format!("'{url}' names no host"));
    }
    if let Some(port) = port
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(format!("'{port}' in '{url}' is not a port (1 to 65535)"));
    }
    Ok(())
}

/// A NATS subject: dot-separated tokens, no spaces, `*` a whole token, `>` only last.
fn check_subject(subject: &str) -> Result<(), String> {
    if subject.is_empty() {
        return Err("must name the subject, e.g. \"events.orders\"".to_owned());
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    for (i, token) in tokens.iter().enumerate() {
        if token.is_empty() {
            return Err(format!(
                "'{subject}' has an empty token (two dots, or a dot at an end)"
            ));
        }
        if token.chars().any(char::is_whitespace) {
            return Err(format!("'{subject}' contains white space"));
        }
        if token.contains('>') && (*token != ">" || i + 1 != tokens.len()) {
            return Err(format!("'{subject}': '>' may only be the last token"));
        }
        if token.contains('*') && *token != "*" {
            return Err(format!("'{subject}': '*' must be a whole token"));
        }
    }
    Ok(())
}

fn check_payload(payload: Option<&serde_json::Value>, f: &mut Fields) {
    if let Some(Err(e)) = payload.map(crate::payload::Template::new) {
        f.error("payload", e);
    }
}

fn check_id(ix: &Index, i: usize, node: &Node, f: &mut Fields) {
    let id = &node.id;
    if id.is_empty() {
        f.error(
            "id",
            "must not be empty (letters, digits, '_', '.' and '-')",
        );
    } else if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        f.error(
            "id",
            format!("may only use letters, digits, '_', '.' and '-' (got '{id}')"),
        );
    }
    if let Some(&first) = ix.by_id.get(id.as_str())
        && first != i
    {
        f.error(
            "id",
            format!(
                "duplicate id: node {first} (a {}) already has it",
                ix.graph.nodes[first].kind_name()
            ),
        );
    }
}

fn check_invalid(bad: &InvalidNode, f: &mut Fields) {
    match &bad.problem {
        InvalidProblem::UnknownKind => {
            let known: Vec<&str> = NodeKind::ALL.iter().map(|k| k.as_str()).collect();
            f.error(
                "kind",
                format!(
                    "unknown kind '{}' (known kinds: {})",
                    bad.kind,
                    known.join(", ")
                ),
            );
        }
        InvalidProblem::BadConfig {
            field: Some(field),
            message,
        } => f.error(field, message.as_str()),
        InvalidProblem::BadConfig {
            field: None,
            message,
        } => f.error("config", format!("does not fit a {}: {message}", bad.kind)),
    }
}

/// `when_full: throttle` needs the rate it takes messages at once full, and a capacity to
/// be full at.
fn check_throttle(c: &QueueConfig, f: &mut Fields) {
    if c.when_full != WhenFull::Throttle || c.backend.is_some() {
        return;
    }
    let Some(rate) = c.throttle_rate_per_sec else {
        f.error(
            "throttle_rate_per_sec",
            "when_full throttle needs the rate (messages per second) the queue takes once full",
        );
        return;
    };
    f.rate(
        "throttle_rate_per_sec",
        rate,
        "once full, the queue takes nothing until it is down to half its capacity",
    );
    f.source_rate("throttle_rate_per_sec", rate);
    if c.capacity.is_none() {
        f.warning(
            "when_full",
            "an unbounded queue is never full: it never throttles (set a capacity)",
        );
    }
}

fn check_producer(c: &ProducerConfig, f: &mut Fields) {
    let never = "the producer never sends a message";
    f.rate("rate_per_sec", c.rate_per_sec, never);
    f.source_rate("rate_per_sec", c.rate_per_sec);
    if c.limit == Some(0) {
        f.warning("limit", format!("limit is 0: {never}"));
    }
    f.bound("keys", c.keys, "unkeyed");
}

fn check_client(ix: &Index, node: &Node, c: &ClientConfig, f: &mut Fields) {
    let never = "the client never sends a request";
    f.rate("rate_per_sec", c.rate_per_sec, never);
    f.source_rate("rate_per_sec", c.rate_per_sec);
    if c.limit == Some(0) {
        f.warning("limit", format!("limit is 0: {never}"));
    }
    f.ms_positive("timeout_ms", c.timeout_ms);
    f.bound("keys", c.keys, "unkeyed");
    check_one_call_target(ix, node, f);
}

fn check_service(ix: &Index, node: &Node, c: &ServiceConfig, f: &mut Fields) {
    f.at_least_one("concurrency", c.concurrency.into());
    f.at_most("concurrency", c.concurrency, MAX_WORKERS);
    f.dist("service_time", &c.service_time);
    f.probability("failure_rate", c.failure_rate);
    f.ms_at_least_zero("retry_backoff_ms", c.retry_backoff_ms);
    if let Some(a) = &c.autoscale {
        f.at_least_one("autoscale.min", a.min.into());
        if a.max < a.min {
            f.error(
                "autoscale.max",
                format!("must be at least autoscale.min ({}) (got {})", a.min, a.max),
            );
        } else {
            f.at_least_one("autoscale.max", a.max.into());
            f.at_most("autoscale.max", a.max, MAX_WORKERS);
        }
        f.positive("autoscale.target_depth", a.target_depth);
        f.ms_at_least_zero("autoscale.cooldown_ms", a.cooldown_ms);
    }
    // A service that only answers calls replies to its caller; one fed by messages passes
    // its results on through `out`.
    let fed_by_messages = ix
        .edges_to(&node.id)
        .any(|e| ix.kind(&e.from).is_some() && !ix.is_call(e));
    if fed_by_messages {
        check_port_has_edge(ix, node, "out", None, f);
    }
}

fn check_breaker(ix: &Index, node: &Node, c: &BreakerConfig, f: &mut Fields) {
    match c.trip {
        Trip::ConsecutiveFailures {
            consecutive_failures,
        } => f.at_least_one("trip.consecutive_failures", consecutive_failures.into()),
        Trip::FailureRate {
            failure_rate,
            window,
            min_calls,
        } => {
            f.probability("trip.failure_rate", failure_rate);
            f.at_least_one("trip.window", window.into());
            f.at_least_one("trip.min_calls", min_calls.into());
            if window >= 1 && min_calls > window {
                f.warning(
                    "trip.min_calls",
                    format!(
                        "should be at most trip.window ({window}): a window never holds more \
                         calls, so the breaker could never trip (got {min_calls})"
                    ),
                );
            }
        }
    }
    f.ms_positive("open_ms", c.open_ms);
    f.at_least_one("half_open_max_calls", c.half_open_max_calls.into());
    if let Some(ms) = c.call_timeout_ms {
        f.ms_positive("call_timeout_ms", ms);
    }
    check_one_call_target(ix, node, f);
    let fallback_edges = ix.edges_on(&node.id, "fallback").count();
    if c.fallback == Fallback::Port && fallback_edges == 0 {
        f.error(
            "fallback",
            "is \"port\", so rejected calls need an edge from port 'fallback' (got none)",
        );
    } else if c.fallback != Fallback::Port && fallback_edges > 0 {
        f.warning(
            "fallback",
            format!(
                "is \"{}\", so the edge from port 'fallback' is never used (set \"port\" to \
                 send rejected calls there)",
                serde_name(&c.fallback)
            ),
        );
    }
}

fn check_gateway(ix: &Index, node: &Node, c: &GatewayConfig, f: &mut Fields) {
    f.ms_positive("timeout_ms", c.timeout_ms);
    if let Some(rate) = c.rate_limit_per_sec {
        f.rate(
            "rate_limit_per_sec",
            rate,
            "every request is rejected (null means no limit)",
        );
    }
    let routes: Vec<&Edge> = ix.edges_from(&node.id).collect();
    if routes.is_empty() {
        f.error_here("needs at least one route: no edge leaves it");
    } else if let (GatewayMode::Route, Some(field)) = (c.mode, &c.route_by)
        && routes.iter().all(|e| e.port == "out")
    {
        f.warning(
            "route_by",
            format!(
                "routes by field '{field}', but every route leaves port 'out', so no value \
                 names a route (set each edge's port to the value it serves)"
            ),
        );
    }
}

fn check_router(ix: &Index, node: &Node, c: &RouterConfig, f: &mut Fields) {
    for (r, rule) in c.rules.iter().enumerate() {
        let field = format!("rules[{r}].value");
        match (rule.op, &rule.value) {
            (RuleOp::Exists, None) => {}
            (RuleOp::Exists, Some(_)) => {
                f.warning(&field, "ignored: op 'exists' takes no value");
            }
            (op, None) => f.error(&field, format!("op '{}' needs a value", serde_name(&op))),
            (RuleOp::In, Some(value)) if !value.is_array() => f.error(
                &field,
                format!("op 'in' needs an array of values (got {value})"),
            ),
            _ => {}
        }
    }
    let rule_ports = c
        .rules
        .iter()
        .enumerate()
        .map(|(r, rule)| (format!("rules[{r}].port"), rule.port.as_str()));
    let default_port = c
        .default_port
        .as_deref()
        .map(|p| ("default_port".to_owned(), p));
    let mut seen = HashSet::new();
    for (field, port) in rule_ports.chain(default_port) {
        if seen.insert(port) {
            check_port_has_edge(ix, node, port, Some(&field), f);
        }
    }
}

fn check_saga(ix: &Index, node: &Node, c: &SagaConfig, f: &mut Fields) {
    if c.steps.is_empty() {
        f.error("steps", "needs at least one step (got none)");
    }
    for (s, step) in c.steps.iter().enumerate() {
        check_saga_target(ix, node, &format!("steps[{s}].action"), &step.action, f);
        if let Some(compensation) = &step.compensation {
            let field = format!("steps[{s}].compensation");
            check_saga_target(ix, node, &field, compensation, f);
        }
    }
}

/// A saga step names a callable node the saga has an edge to. With the edge present, the
/// edge's own check reports a target of the wrong kind.
fn check_saga_target(ix: &Index, saga: &Node, field: &str, target: &str, f: &mut Fields) {
    let Some(node) = ix.node(target) else {
        f.error(field, format!("no node has id '{target}'"));
        return;
    };
    if ix.has_edge(&saga.id, target) {
        return;
    }
    f.error(
        field,
        format!(
            "the saga has no edge to '{target}' (add an edge from '{}' to '{target}')",
            saga.id
        ),
    );
    if let Some(kind) = node.kind()
        && !kind.is_callable()
    {
        f.error(field, not_callable(kind));
    }
}

/// A client or breaker calls exactly one node through `out`.
fn check_one_call_target(ix: &Index, node: &Node, f: &mut Fields) {
    let targets: Vec<&str> = ix
        .edges_on(&node.id, "out")
        .map(|e| e.to.as_str())
        .collect();
    match targets.as_slice() {
        [_] => {}
        [] => f.error_here("needs exactly one call target, an edge from port 'out' (got none)"),
        many => f.error_here(format!(
            "needs exactly one call target, an edge from port 'out' (got {}: {})",
            many.len(),
            quoted(many)
        )),
    }
}

fn check_has_consumer(ix: &Index, node: &Node, f: &mut Fields) {
    if ix.edges_on(&node.id, "out").next().is_none() {
        f.warning_here("has no consumer (no edge leaves port 'out'): its messages would end here");
    }
}

fn check_port_has_edge(ix: &Index, node: &Node, port: &str, field: Option<&str>, f: &mut Fields) {
    if ix.edges_on(&node.id, port).next().is_none() {
        let message = format!("no edge leaves port '{port}': its messages would end here");
        match field {
            Some(field) => f.warning(field, message),
            None => f.warning_here(message),
        }
    }
}

fn check_edge(ix: &Index, i: usize, edge: &Edge, found: &mut Vec<Diagnostic>) {
    let place = Place::Edge {
        index: i,
        from: edge.from.clone(),
        to: edge.to.clone(),
        field: None,
    };
    let mut f = Fields::new(found, place);
    let from = ix.node(&edge.from);
    let to = ix.node(&edge.to);
    if from.is_none() {
        f.error("from", format!("no node has id '{}'", edge.from));
    }
    if to.is_none() {
        f.error("to", format!("no node has id '{}'", edge.to));
    }
    if from.is_some() && edge.from == edge.to {
        f.error_here("a node cannot be wired to itself");
    }
    let key = (edge.from.as_str(), edge.to.as_str(), edge.port.as_str());
    if let Some(&first) = ix.first_edge.get(&key)
        && first != i
    {
        f.warning_here(format!(
            "duplicate of edge {first}: the target would get every message twice"
        ));
    }

    let Some(from) = from else { return };
    let Some(from_kind) = from.kind() else { return };
    if !ix.has_port(from, from_kind, &edge.port) {
        f.error("port", no_such_port(from, from_kind, &edge.port));
        return;
    }
    let Some(to_kind) = to.and_then(Node::kind) else {
        return;
    };
    if from_kind.is_call_port(&edge.port) {
        if !to_kind.is_callable() {
            f.error(
                "to",
                format!("call target of the wrong kind: {}", not_callable(to_kind)),
            );
        }
    } else if !to_kind.accepts_messages() {
        let why = if to_kind.is_callable() {
            format!(
                "a {to_kind} answers calls only: connect it from a client, a service's call \
                 port, a gateway, a breaker or a saga"
            )
        } else {
            format!("a {to_kind} takes no input: it only sends")
        };
        f.error("to", why);
    }
}

fn no_such_port(from: &Node, kind: NodeKind, port: &str) -> String {
    match (&from.config, kind.output_ports()) {
        (NodeConfig::Router(router), _) => {
            let mut seen = HashSet::new();
            let rule_ports = router.rules.iter().map(|r| r.port.as_str());
            let ports: Vec<&str> = rule_ports
                .chain(router.default_port.as_deref())
                .filter(|name| seen.insert(*name))
                .collect();
            let named = match ports.len() {
                0 => "none".to_owned(),
                n if n > LISTED => format!("{} and {} more", quoted(&ports[..LISTED]), n - LISTED),
                _ => quoted(&ports),
            };
            format!(
                "this router has no port '{port}': its ports are those its rules and \
                 default_port name ({named})"
            )
        }
        (_, Ports::Fixed([])) => format!("a {kind} has no output ports (got '{port}')"),
        (_, Ports::Fixed(names)) => {
            format!("a {kind} has no port '{port}' (ports: {})", quoted(names))
        }
        (_, Ports::Any) => format!("a {kind} has no port '{port}'"),
    }
}

/// Most names one message lists; a longer list ends with how many more there are.
const LISTED: usize = 20;

fn not_callable(kind: NodeKind) -> String {
    let callable: Vec<&str> = NodeKind::ALL
        .iter()
        .filter(|k| k.is_callable())
        .map(|k| k.as_str())
        .collect();
    format!(
        "a {kind} does not answer calls (callable kinds: {})",
        callable.join(", ")
    )
}

fn check_fault(ix: &Index, i: usize, fault: &Fault, found: &mut Vec<Diagnostic>) {
    let place = Place::Fault {
        index: i,
        node: fault.node.clone(),
        field: None,
    };
    let mut f = Fields::new(found, place);
    if ix.node(&fault.node).is_none() {
        f.error("node", format!("no node has id '{}'", fault.node));
    }
    f.ms_at_least_zero("at_ms", fault.at_ms);
    if let Some(until_ms) = fault.until_ms {
        f.ms_not_below("until_ms", until_ms, "at_ms", fault.at_ms);
    }
    match fault.kind {
        FaultKind::Fail => f.probability("rate", fault.rate.unwrap_or(1.0)),
        FaultKind::Slow => match fault.factor {
            None => f.error(
                "factor",
                "a slow fault needs factor, the service time multiplier (a number > 0)",
            ),
            Some(factor) => f.positive("factor", factor),
        },
        FaultKind::Crash | FaultKind::Stop => {}
        FaultKind::Replay => check_replay(ix, fault, &mut f),
    }
    if fault.consumer.is_some() && fault.kind != FaultKind::Replay {
        f.warning("consumer", "ignored: only a replay uses consumer");
    }
    let kind = serde_name(&fault.kind);
    if fault.rate.is_some() && fault.kind != FaultKind::Fail {
        f.warning(
            "rate",
            format!("ignored: only a fail fault uses rate (this one is {kind})"),
        );
    }
    if fault.factor.is_some() && fault.kind != FaultKind::Slow {
        f.warning(
            "factor",
            format!("ignored: only a slow fault uses factor (this one is {kind})"),
        );
    }
}

/// A replay rewinds an event log's consumer: the node must be an event log and the consumer
/// one of the nodes it feeds.
fn check_replay(ix: &Index, fault: &Fault, f: &mut Fields) {
    let Some(kind) = ix.kind(&fault.node) else {
        return;
    };
    if kind != NodeKind::EventLog {
        f.error(
            "kind",
            format!("only an event_log can replay; '{}' is a {kind}", fault.node),
        );
        return;
    }
    if fault.until_ms.is_some() {
        f.warning("until_ms", "ignored: a replay happens at at_ms");
    }
    if let Some(consumer) = &fault.consumer
        && !ix
            .first_edge
            .contains_key(&(fault.node.as_str(), consumer.as_str(), "out"))
    {
        f.error(
            "consumer",
            format!(
                "'{}' is not a consumer of '{}' (no edge from the log to it)",
                consumer, fault.node
            ),
        );
    }
}

/// What a graph asks the engine to keep for all of its nodes together: workers of services
/// and partition buffers of topics, as held in the process (a topic on a broker keeps one
/// buffer per subscriber). Each node is bounded on its own; this bounds their sum, so that
/// a graph of many large nodes cannot take more memory than the machine has.
fn check_totals(ix: &Index, found: &mut Vec<Diagnostic>) {
    let mut workers: u64 = 0;
    let mut buffers: u64 = 0;
    for node in &ix.graph.nodes {
        match &node.config {
            NodeConfig::Service(c) => {
                // A node over its own bound is reported on the node; count it at the bound.
                let most = c.autoscale.as_ref().map_or(c.concurrency, |a| a.max);
                workers += u64::from(most.min(MAX_WORKERS));
            }
            NodeConfig::Topic(c) => {
                let subscribers = ix.edges_on(&node.id, "out").count() as u64;
                let partitions = if c.backend.is_some() {
                    1
                } else {
                    u64::from(c.partitions.clamp(1, MAX_PARTITIONS))
                };
                buffers = buffers.saturating_add(partitions * subscribers);
            }
            _ => {}
        }
    }
    let place = || Place::Graph {
        field: Some("nodes".to_owned()),
    };
    if workers > MAX_TOTAL_WORKERS {
        found.push(Diagnostic::error(
            place(),
            format!(
                "the services have {workers} workers in all (concurrency, or autoscale.max); \
                 a graph may have at most {MAX_TOTAL_WORKERS}"
            ),
        ));
    }
    if buffers > MAX_TOTAL_PARTITION_BUFFERS {
        found.push(Diagnostic::error(
            place(),
            format!(
                "the topics keep {buffers} partition buffers in all (partitions × \
                 subscribers); a graph may have at most {MAX_TOTAL_PARTITION_BUFFERS}"
            ),
        ));
    }
}

/// Whether a node can pass a message on in less than one tick (1 ns) of the clock: channels
/// and routers always do, a service does when its mean service time is below a tick.
fn passes_on_at_once(node: &Node) -> bool {
    match &node.config {
        NodeConfig::Queue(_)
        | NodeConfig::Topic(_)
        | NodeConfig::Router(_)
        | NodeConfig::EventLog(_) => true,
        NodeConfig::Service(c) => c.service_time.mean_ms() < 1e-6,
        _ => false,
    }
}

/// A message on a loop whose nodes all pass it on at once would circle forever at one
/// instant: simulated time could never move on, and a run would never end.
fn check_instant_loops(ix: &Index, found: &mut Vec<Diagnostic>) {
    let at_once = |id: &str| ix.node(id).is_some_and(passes_on_at_once);
    // A self-edge is reported on the edge itself.
    let flow =
        ix.flow_graph(|e| e.from != e.to && !ix.is_call(e) && at_once(&e.from) && at_once(&e.to));
    report_cycles(ix, &flow, found, |path| {
        format!(
            "loop without delay would stop the clock: {path} (a message on it circles forever \
             at one instant; give a service on the loop a service_time)"
        )
    });
}

/// Synchronous calls that come back around to a caller wait on themselves forever.
fn check_call_cycles(ix: &Index, found: &mut Vec<Diagnostic>) {
    // A self-edge is reported on the edge itself.
    let calls = ix.flow_graph(|e| e.from != e.to && ix.is_call(e));
    report_cycles(ix, &calls, found, |path| {
        format!("call cycle would deadlock: {path}")
    });
}

/// One error per cycle of `flow`, on the cycle's first node, the message made from the
/// cycle written as `a -> b -> a`; cycles in a stable order.
fn report_cycles(
    ix: &Index,
    flow: &DiGraph<(), ()>,
    found: &mut Vec<Diagnostic>,
    message: impl Fn(&str) -> String,
) {
    let graph = ix.graph;
    let mut cycles: Vec<Vec<usize>> = kosaraju_scc(flow)
        .into_iter()
        .filter(|scc| scc.len() > 1)
        .map(|scc| cycle_through_first(flow, &scc))
        .collect();
    cycles.sort();
    for cycle in cycles {
        let mut names: Vec<&str> = cycle.iter().map(|&i| graph.nodes[i].id.as_str()).collect();
        names.push(names[0]);
        let first = &graph.nodes[cycle[0]];
        found.push(Diagnostic::error(
            Place::Node {
                id: first.id.clone(),
                field: None,
            },
            message(&names.join(" -> ")),
        ));
    }
}

/// A shortest cycle through the earliest node (in file order) of a strongly connected
/// component, as node indices starting with that node.
fn cycle_through_first(calls: &DiGraph<(), ()>, scc: &[NodeIndex]) -> Vec<usize> {
    let members: HashSet<NodeIndex> = scc.iter().copied().collect();
    let start = *scc.iter().min().expect("a component has a node");
    let mut parent: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = calls
            .neighbors(at)
            .filter(|n| members.contains(n))
            .collect();
        next.sort();
        for n in next {
            if n == start {
                let mut path = vec![at.index()];
                let mut back = at;
                while back != start {
                    back = parent[&back];
                    path.push(back.index());
                }
                path.reverse();
                return path;
            }
            if let Entry::Vacant(slot) = parent.entry(n) {
                slot.insert(at);
                queue.push_back(n);
            }
        }
    }
    scc.iter().map(|n| n.index()).collect()
}

/// Nodes that no producer or client can reach never see a message.
fn check_reachability(ix: &Index, found: &mut Vec<Diagnostic>) {
    let graph = ix.graph;
    if graph.nodes.is_empty() {
        found.push(Diagnostic::warning(
            Place::Graph {
                field: Some("nodes".to_owned()),
            },
            "the graph has no nodes",
        ));
        return;
    }
    let flow = ix.flow_graph(|_| true);
    // A node whose config is broken still counts as a source when its kind is one; so does a
    // channel on a broker, which other processes may feed.
    let sources: Vec<usize> = graph
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            matches!(
                NodeKind::parse(n.kind_name()),
                Some(NodeKind::Producer | NodeKind::Client)
            ) || n.config.backend().is_some()
        })
        .map(|(i, _)| i)
        .collect();
    if sources.is_empty() {
        found.push(Diagnostic::warning(
            Place::Graph {
                field: Some("nodes".to_owned()),
            },
            "no producer, client or broker-backed channel: nothing ever sends a message",
        ));
        return;
    }
    let mut dfs = Dfs::empty(&flow);
    for source in sources {
        dfs.move_to(NodeIndex::new(source));
        while dfs.next(&flow).is_some() {}
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        let first_of_id = ix.by_id.get(node.id.as_str()) == Some(&i);
        let at: NodeIndex = NodeIndex::new(i);
        if first_of_id && node.kind().is_some() && !dfs.discovered.is_visited(&at) {
            found.push(Diagnostic::warning(
                Place::Node {
                    id: node.id.clone(),
                    field: None,
                },
                "not reachable from any producer or client: it never gets a message",
            ));
        }
    }
}

/// A number as the user would write it: plain, or with an exponent when very large or small
/// (`1e308`, not 309 digits).
fn num(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude == 0.0 || (1e-6..1e15).contains(&magnitude) {
        format!("{value}")
    } else {
        format!("{value:e}")
    }
}

/// `'a', 'b', 'c'`
fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The name a value has in the graph file, e.g. `fail_fast` or `>=`.
fn serde_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => String::from("?"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example graph of graph-format.md §1.
    const CONTRACT_EXAMPLE: &str = r#"{
      "format": "flowbench.graph",
      "version": 1,
      "name": "M/M/1 queue",
      "description": "one Poisson producer, one FIFO queue, one exponential server",
      "seed": 42,
      "nodes": [
        {"id": "orders", "kind": "producer", "pos": [80, 120],
         "config": {"rate_per_sec": 0.9, "arrival": "poisson"}},
        {"id": "q", "kind": "queue", "pos": [280, 120],
         "config": {"capacity": null, "when_full": "block"}},
        {"id": "worker", "kind": "service", "pos": [480, 120],
         "config": {"concurrency": 1, "service_time": {"dist": "exp", "mean_ms": 1000}}},
        {"id": "done", "kind": "sink", "pos": [680, 120]}
      ],
      "edges": [
        {"from": "orders", "to": "q"},
        {"from": "q", "to": "worker"},
        {"from": "worker", "to": "done"}
      ],
      "faults": []
    }"#;

    /// A version 1 graph file with these nodes, edges and faults.
    fn graph(nodes: &str, edges: &str, faults: &str) -> Graph {
        let text = format!(
            r#"{{"format": "flowbench.graph", "version": 1,
                "nodes": [{nodes}], "edges": [{edges}], "faults": [{faults}]}}"#
        );
        Graph::from_json_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn lines(g: &Graph) -> Vec<String> {
        validate(g).iter().map(ToString::to_string).collect()
    }

    /// Every expected line is among the diagnostics of `g`.
    #[track_caller]
    fn assert_reports(g: &Graph, expected: &[&str]) {
        let got = lines(g);
        for line in expected {
            assert!(
                got.iter().any(|l| l == line),
                "missing: {line}\ngot:\n{}",
                got.join("\n")
            );
        }
    }

    /// No diagnostic of `g` starts with `prefix`.
    #[track_caller]
    fn assert_silent_on(g: &Graph, prefix: &str) {
        let got = lines(g);
        assert!(
            !got.iter().any(|l| l.starts_with(prefix)),
            "unexpected {prefix}...\ngot:\n{}",
            got.join("\n")
        );
    }

    /// The contract's own example is valid, without even a warning.
    #[test]
    fn contract_example_is_clean() {
        let g = Graph::from_json_str(CONTRACT_EXAMPLE).unwrap();
        assert_eq!(lines(&g), Vec::<String>::new());
    }

    /// A foreign format and an unsupported version are errors naming the supported ones.
    #[test]
    fn wrong_format_and_version() {
        let text = CONTRACT_EXAMPLE
            .replace("\"flowbench.graph\"", "\"flowbench.grap\"")
            .replace("\"version\": 1", "\"version\": 2");
        let g = Graph::from_json_str(&text).unwrap();
        assert_eq!(
            lines(&g),
            [
                r#"graph: format: must be "flowbench.graph" (got "flowbench.grap")"#,
                "graph: version: unsupported version 2 (supported versions: 1)",
            ]
        );
    }

    /// Ids must be non-empty, use only the allowed characters, and be unique.
    #[test]
    fn bad_and_duplicate_ids() {
        let g = graph(
            r#"{"id": "p", "kind": "producer"}, {"id": "a b", "kind": "sink"},
               {"id": "", "kind": "sink"}, {"id": "p", "kind": "sink"},
               {"id": "ok_1.v-2", "kind": "sink"}"#,
            "",
            "",
        );
        assert_reports(
            &g,
            &[
                "node 'a b': id: may only use letters, digits, '_', '.' and '-' (got 'a b')",
                "node '': id: must not be empty (letters, digits, '_', '.' and '-')",
                "node 'p': id: duplicate id: node 0 (a producer) already has it",
            ],
        );
        assert_silent_on(&g, "node 'ok_1.v-2': id");
    }

    /// An unknown kind is an error listing every known kind.
    #[test]
    fn unknown_kind_lists_known_kinds() {
        let g = graph(r#"{"id": "x", "kind": "lambda"}"#, "", "");
        assert_reports(
            &g,
            &[
                "node 'x': kind: unknown kind 'lambda' (known kinds: producer, client, queue, \
               topic, service, sink, breaker, gateway, router, event_log, projector, saga)",
            ],
        );
    }

    /// A config that does not parse is reported with serde's message, under its field
    /// when known.
    #[test]
    fn bad_config_names_the_field() {
        let g = graph(
            r#"{"id": "q", "kind": "queue", "config": {"capasity": 5}},
               {"id": "w", "kind": "service", "config": {"concurrency": -1}}"#,
            "",
            "",
        );
        let got = lines(&g);
        assert!(
            got.iter()
                .any(|l| l.starts_with("node 'q': capasity: unknown field `capasity`")),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|l| l.starts_with("node 'w': concurrency: invalid value: integer `-1`")),
            "{got:?}"
        );
    }

    /// Edges whose ends name no node are errors on the missing end.
    #[test]
    fn dangling_edges() {
        let g = graph(
            r#"{"id": "p", "kind": "producer"}, {"id": "s", "kind": "sink"}"#,
            r#"{"from": "p", "to": "ghost"}, {"from": "nowhere", "to": "s"}"#,
            "",
        );
        assert_reports(
            &g,
            &[
                "edge 0 (p -> ghost): to: no node has id 'ghost'",
                "edge 1 (nowhere -> s): from: no node has id 'nowhere'",
            ],
        );
    }

    /// A node wired to itself is an error.
    #[test]
    fn self_edge() {
        let g = graph(
            r#"{"id": "p", "kind": "producer"}, {"id": "w", "kind": "service"}"#,
            r#"{"from": "p", "to": "w"}, {"from": "w", "to": "w"}"#,
            "",
        );
        assert_reports(&g, &["edge 1 (w -> w): a node cannot be wired to itself"]);
    }

    /// An edge from a port its source does not have is an error listing the ports; router
    /// ports are those its rules and default port name.
    #[test]
    fn unknown_ports() {
        let g = graph(
            r#"{"id": "p", "kind": "producer"}, {"id": "w", "kind": "service"},
               {"id": "s", "kind": "sink"},
               {"id": "r", "kind": "router", "config": {"rules": [
                   {"field": "amount", "op": ">", "value": 100, "port": "big"}]}}"#,
            r#"{"from": "p", "to": "w", "port": "err"}, {"from": "w", "to": "s", "port": "failed"},
               {"from": "s", "to": "w"}, {"from": "r", "to": "s", "port": "small"},
               {"from": "r", "to": "s", "port": "big"}"#,
            "",
        );
        assert_reports(
            &g,
            &[
                "edge 0 (p -> w): port: a producer has no port 'err' (ports: 'out')",
                "edge 1 (w -> s): port: a service has no port 'failed' (ports: 'out', 'error', 'call')",
                "edge 2 (s -> w): port: a sink has no output ports (got 'out')",
                "edge 3 (r -> s): port: this router has no port 'small': its ports are those \
                 its rules and default_port name ('big', 'out')",
            ],
        );
        assert_silent_on(&g, "edge 4");
    }

    /// Producers and clients only send: an edge into one is an error.
    #[test]
    fn edges_into_sources() {
        let g = graph(
            r#"{"id": "p", "kind": "producer"}, {"id": "c", "kind": "client"},
               {"id": "w", "kind": "service"}"#,
            r#"{"from": "p", "to": "w"}, {"from": "w", "to": "p"},
               {"from": "w", "to": "c", "port": "error"}"#,
            "",
        );
        assert_reports(
            &g,
            &[
                "edge 1 (w -> p): to: a producer takes no input: it only sends",
                "edge 2 (w -> c): to: a client takes no input: it only sends",
            ],
        );
    }

    /// The same edge twice is a warning (every message would be copied twice).
    #[test]
    fn duplicate_edges() {
        let g = graph(
            r#"{"id": "p", "kind": "producer"}, {"id": "s", "kind": "sink"}"#,
            r#"{"from": "p", "to": "s"}, {"from": "p", "to": "s", "port": "out"}"#,
            "",
        );
        assert_reports(
            &g,
            &[
                "warning: edge 1 (p -> s): duplicate of edge 0: the target would get every message twice",
            ],
        );
        assert_silent_on(&g, "edge 0");
    }

    /// A call edge into a node that does not answer calls is an error; an asynchronous
    /// edge into the same kind is fine.
    #[test]
    fn call_target_of_the_wrong_kind() {
        let g = graph(
            r#"{"id": "c", "kind": "client"}, {"id": "q", "kind": "queue"},
               {"id": "w", "kind": "service"}, {"id": "s", "kind": "sink"}"#,
            r#"{"from": "c", "to": "q"}, {"from": "q", "to": "w"},
               {"from": "w", "to": "s", "port": "call"}, {"from": "w", "to": "s"}"#,
            "",
        );
        assert_reports(
            &g,
            &[
                "edge 0 (c -> q): to: call target of the wrong kind: a queue does not answer \
                 calls (callable kinds: service, breaker, gateway, projector, saga)",
                "edge 2 (w -> s): to: call target of the wrong kind: a sink does not answer \
                 calls (callable kinds: service, breaker, gateway, projector, saga)",
            ],
        );
        assert_silent_on(&g, "edge 1");
        assert_silent_on(&g, "edge 3");
    }

    /// A client calls exactly one target.
    #[test]
    fn client_needs_exactly_one_target() {
        let g = graph(
            r#"{"id": "c1", "kind": "client"}, {"id": "c2", "kind": "client"},
               {"id": "w1", "kind": "service"}, {"id": "w2", "kind": "service"}"#,
            r#"{"from": "c2", "to": "w1"}, {"from": "c2", "to": "w2"}"#,
            "",
        );
        assert_reports(
            &g,
            &[
                "node 'c1': needs exactly one call target, an edge from port 'out' (got none)",
                "node 'c2': needs exactly one call target, an edge from port 'out' (got 2: 'w1', 'w2')",
            ],
        );
    }

    /// A breaker calls exactly one target; a "port" fallback needs a fallback edge, and a
    /// fallback edge without it is a warning.
    #[test]
    fn breaker_wiring() {
        let g = graph(
            r#"{"id": "c", "kind": "client"},
               {"id": "b1", "kind": "breaker", "config": {"fallback": "port"}},
               {"id": "b2", "kind": "breaker"}, {"id": "w", "kind": "service"},
               {"id": "s", "kind": "sink"}"#,
            r#"{"from": "c", "to": "b1"}, {"from": "w", "to": "b2", "port": "call"},
               {"from": "b2", "to": "w"}, {"from": "b2", "to": "s", "port": "fallback"}"#,
            "",
        );
        assert_reports(
            &g,
            &[
                "node 'b1': needs exactly one call target, an edge from port 'out' (got none)",
                r#"node 'b1': fallback: is "port", so rejected calls need an edge from port 'fallback' (got none)"#,
                r#"warning: node 'b2': fallback: is "fail_fast", so the edge from port 'fallback' is never used (set "port" to send rejected calls there)"#,
            ],
        );
        assert_silent_on(&g, "node 'b2': needs");
    }

    /// Calls that come back to their caller are one error per cycle, naming it in order;
    /// an asynchronous loop is not a deadlock.
    #[test]
    fn call_cycles() {
        let g = graph(
            r#"{"id": "c", "kind": "client"}, {"id": "a", "kind": "service"},
               {"id": "b", "kind": "service"}, {"id": "x", "kind": "service"},
               {"id": "y", "kind": "service"}, {"id": "z", "kind": "service"},
               {"id": "p", "kind": "producer"}, {"id": "q", "kind": "queue"},
               {"id": "w", "kind": "service"}"#,
            r#"{"from": "c", "to": "a"}, {"from": "a", "to": "b", "port": "call"},
               {"from": "b", "to": "a", "port": "call"}, {"from": "b", "to": "x", "port": "call"},
               {"from": "z", "to": "x", "port": "call"}, {"from": "x", "to": "y", "port": "call"},
               {"from": "y", "to": "z", "port": "call"},
               {"from": "p", "to": "q"}, {"from": "q", "to": "w"}, {"from": "w", "to": "q"}"#,
            "",
        );
        let cycles: Vec<String> = lines(&g)
            .into_iter()
            .filter(|l| l.contains("call cycle"))
            .collect();
        assert_eq!(
            cycles,
            [
                "node 'a': call cycle would deadlock: a -> b -> a",
                "node 'x': call cycle would deadlock: x -> y -> z -> x",
            ]
        );
    }

    /// Rates must be finite and not negative; a rate of 0 is a warning.
    #[test]
    fn rates() {
        let mut g = graph(
            r#"{"id": "p", "kind": "producer", "config": {"rate_per_sec": -1}},
               {"id": "c", "kind": "client", "config": {"rate_per_sec": 0}},
               {"id": "g", "kind": "gateway"}, {"id": "w", "kind": "service"}"#,
            r#"{"from": "c", "to": "g"}, {"from": "g", "to": "w"}, {"from": "p", "to": "w"}"#,
            "",
        );
        let NodeConfig::Gateway(gateway) = &mut g.nodes[2].config else {
            panic!("gateway expected")
        };
        gateway.rate_limit_per_sec = Some(f64::NAN);
        assert_reports(
            &g,
            &[
                "node 'p': rate_per_sec: negative or NaN rate: must be a finite number >= 0 per second (got -1)",
                "warning: node 'c': rate_per_sec: rate is 0: the client never sends a request",
                "node 'g': rate_limit_per_sec: negative or NaN rate: must be a finite number >= 0 per second (got NaN)",
            ],
        );
    }

    /// A throttling queue needs its rate (finite, not negative; 0 is a warning) and a
    /// capacity to be full at; a topic does not throttle.
    #[test]
    fn throttle_needs_a_rate_and_a_queue() {
        let g = graph(
            r#"{"id": "q1", "kind": "queue", "config": {"when_full": "throttle"}},
               {"id": "q2", "kind": "queue",
                "config": {"when_full": "throttle", "throttle_rate_per_sec": -5}},
               {"id": "q3", "kind": "queue",
                "config": {"when_full": "throttle", "throttle_rate_per_sec": 0}},
               {"id": "q4", "kind": "queue",
                "config": {"capacity": null, "when_full": "throttle", "throttle_rate_per_sec": 10}},
               {"id": "q5", "kind": "queue",
                "config": {"capacity": 20, "when_full": "throttle", "throttle_rate_per_sec": 10}},
               {"id": "q6", "kind": "queue",
                "config": {"when_full": "block", "throttle_rate_per_sec": 10}},
               {"id": "t", "kind": "topic", "config": {"when_full": "throttle"}}"#,
            "",
            "",
        );
        assert_reports(
            &g,
            &[
                "node 'q1': throttle_rate_per_sec: when_full throttle needs the rate (messages per second) the queue takes once full",
                "node 'q2': throttle_rate_per_sec: negative or NaN rate: must be a finite number >= 0 per second (got -5)",
                "warning: node 'q3': throttle_rate_per_sec: rate is 0: once full, the queue takes nothing until it is down to half its capacity",
                "warning: node 'q4': when_full: an unbounded queue is never full: it never throttles (set a capacity)",
                "node 't': when_full: a topic's subscriber buffers block or drop; throttle is for queues",
            ],
        );
        for q in ["q5", "q6"] {
            assert_silent_on(&g, &format!("node '{q}'"));
            assert_silent_on(&g, &format!("warning: node '{q}': when_full"));
            assert_silent_on(&g, &format!("warning: node '{q}': throttle"));
        }
    }

    /// Counts must be at least 1; a null bound is unbounded; a limit of 0 is a warning.
    #[test]
    fn counts_and_bounds() {
        let g = graph(
            r#"{"id": "p", "kind": "producer", "config": {"keys": 0, "limit": 0}},
               {"id": "q", "kind": "queue", "config": {"capacity": 0}},
               {"id": "q2", "kind": "queue", "config": {"capacity": null}},
               {"id": "t", "kind": "topic", "config": {"partitions": 0, "subscriber_capacity": 0}},
               {"id": "w", "kind": "service", "config": {"concurrency": 0}},
               {"id": "log", "kind": "event_log", "config": {"retention": 0}}"#,
            "",
            "",
        );
        assert_reports(
            &g,
            &[
                "warning: node 'p': limit: limit is 0: the producer never sends a message",
                "node 'p': keys: must be at least 1 or null for unkeyed (got 0)",
                "node 'q': capacity: must be at least 1 or null for unbounded (got 0)",
                "node 't': partitions: must be at least 1 (got 0)",
                "node 't': subscriber_capacity: must be at least 1 or null for unbounded (got 0)",
                "node 'w': concurrency: must be at least 1 (got 0)",
                "node 'log': retention: must be at least 1 or null for keep all (got 0)",
            ],
        );
        assert_silent_on(&g, "node 'q2': capacity");
    }

    /// Probabilities must lie in 0..=1.
    #[test]
    fn probabilities() {
        let g = graph(
            r#"{"id": "w", "kind": "service", "config": {"failure_rate": 1.5}},
               {"id": "b", "kind": "breaker", "config": {"trip":
                   {"failure_rate": -0.1, "window": 20, "min_calls": 10}}}"#,
            r#"{"from": "b", "to": "w"}"#,
            r#"{"node": "w", "kind": "fail", "at_ms": 0, "rate": 2}"#,
        );
        assert_reports(
            &g,
            &[
                "node 'w': failure_rate: must be a probability in 0..=1 (got 1.5)",
                "node 'b': trip.failure_rate: must be a probability in 0..=1 (got -0.1)",
                "fault 0 (on 'w'): rate: must be a probability in 0..=1 (got 2)",
            ],
        );
    }

    /// Durations must be finite and not negative; timeouts and the open time more than 0.
    #[test]
    fn durations() {
        let g = graph(
            r#"{"id": "c", "kind": "client", "config": {"timeout_ms": 0}},
               {"id": "w", "kind": "service", "config": {"retry_backoff_ms": -5}},
               {"id": "w0", "kind": "service", "config": {"retry_backoff_ms": 0}},
               {"id": "b", "kind": "breaker", "config": {"open_ms": 0, "call_timeout_ms": -1}},
               {"id": "g", "kind": "gateway", "config": {"timeout_ms": -1}}"#,
            "",
            "",
        );
        assert_reports(
            &g,
            &[
                "node 'c': timeout_ms: must be a finite number of milliseconds > 0 (got 0)",
                "node 'w': retry_backoff_ms: must be a finite number of milliseconds >= 0 (got -5)",
                "node 'b': open_ms: must be a finite number of milliseconds > 0 (got 0)",
                "node 'b': call_timeout_ms: must be a finite number of milliseconds > 0 (got -1)",
                "node 'g': timeout_ms: must be a finite number of milliseconds > 0 (got -1)",
            ],
        );
        assert_silent_on(&g, "node 'w0'");
    }

    /// Each distribution's parameters are checked, naming the nested field.
    #[test]
    fn distributions() {
        let g = graph(
            r#"{"id": "w1", "kind": "service", "config": {"service_time": {"dist": "const", "ms": -1}}},
               {"id": "w2", "kind": "service", "config": {"service_time": {"dist": "exp", "mean_ms": 0}}},
               {"id": "w3", "kind": "service", "config": {"service_time":
                   {"dist": "uniform", "min_ms": 5, "max_ms": 2}}},
               {"id": "w4", "kind": "service", "config": {"service_time":
                   {"dist": "lognormal", "median_ms": 0, "p99_ms": 10}}},
               {"id": "w5", "kind": "service", "config": {"service_time":
                   {"dist": "lognormal", "median_ms": 20, "p99_ms": 10}}},
               {"id": "pj", "kind": "projector", "config": {"service_time": {"dist": "exp", "mean_ms": -3}}},
               {"id": "ok", "kind": "service", "config": {"service_time":
                   {"dist": "uniform", "min_ms": 0, "max_ms": 0}}}"#,
            "",
            "",
        );
        assert_reports(
            &g,
            &[
                "node 'w1': service_time.ms: must be a finite number of milliseconds >= 0 (got -1)",
                "node 'w2': service_time.mean_ms: must be a finite number of milliseconds > 0 (got 0)",
                "node 'w3': service_time.max_ms: must be at least min_ms (5) (got 2)",
                "node 'w4': service_time.median_ms: must be a finite number of milliseconds > 0 (got 0)",
                "node 'w5': service_time.p99_ms: must be at least median_ms (20) (got 10)",
                "node 'pj': service_time.mean_ms: must be a finite number of milliseconds > 0 (got -3)",
            ],
        );
        assert_silent_on(&g, "node 'ok'");
    }

    /// Autoscale needs 1 <= min <= max, a positive target depth and a cooldown >= 0.
    #[test]
    fn autoscale() {
        let g = graph(
            r#"{"id": "w", "kind": "service", "config": {"autoscale":
                   {"min": 0, "max": 0, "target_depth": 0, "cooldown_ms": -1}}},
               {"id": "w2", "kind": "service", "config": {"autoscale": {"min": 4, "max": 2}}}"#,
            "",
            "",
        );
        assert_reports(
            &g,
            &[
                "node 'w': autoscale.min: must be at least 1 (got 0)",
                "node 'w': autoscale.max: must be at least 1 (got 0)",
                "node 'w': autoscale.target_depth: must be a finite number > 0 (got 0)",
                "node 'w': autoscale.cooldown_ms: must be a finite number of milliseconds >= 0 (got -1)",
                "node 'w2': autoscale.max: must be at least autoscale.min (4) (got 2)",
            ],
        );
    }

    /// Breaker trip counts must be at least 1; more min_calls than the window is a warning.
    #[test]
    fn breaker_trip() {
        let g = graph(
            r#"{"id": "b1", "kind": "breaker", "config":
                   {"trip": {"consecutive_failures": 0}, "half_open_max_calls": 0}},
               {"id": "b2", "kind": "breaker", "config":
                   {"trip": {"failure_rate": 0.5, "window": 0, "min_calls": 0}}},
               {"id": "b3", "kind": "breaker", "config":
                   {"trip": {"failure_rate": 0.5, "window": 10, "min_calls": 20}}}"#,
            "",
            "",
        );
        assert_reports(
            &g,
            &[
                "node 'b1': trip.consecutive_failures: must be at least 1 (got 0)",
                "node 'b1': half_open_max_calls: must be at least 1 (got 0)",
                "node 'b2': trip.window: must be at least 1 (got 0)",
                "node 'b2': trip.min_calls: must be at least 1 (got 0)",
                "warning: node 'b3': trip.min_calls: should be at most trip.window (10): a \
                 window never holds more calls, so the breaker could never trip (got 20)",
            ],
        );
    }

    /// A gateway needs a route; routing by a field needs edges whose ports name values.
    #[test]
    fn gateway_routes() {
        let g = graph(
            r#"{"id": "g1", "kind": "gateway"},
               {"id": "g2", "kind": "gateway", "config": {"route_by": "region"}},
               {"id": "g3", "kind": "gateway", "config": {"route_by": "region"}},
               {"id": "w1", "kind": "service"}, {"id": "w2", "kind": "service"}"#,
            r#"{"from": "g2", "to": "w1"}, {"from": "g2", "to": "w2"},
               {"from": "g3", "to": "w1", "port": "eu"}, {"from": "g3", "to": "w2", "port": "us"}"#,
            "",
        );
        assert_reports(
            &g,
            &[
                "node 'g1': needs at least one route: no edge leaves it",
                "warning: node 'g2': route_by: routes by field 'region', but every route \
                 leaves port 'out', so no value names a route (set each edge's port to the \
                 value it serves)",
            ],
        );
        assert_silent_on(&g, "node 'g3'");
        assert_silent_on(&g, "warning: node 'g3'");
    }

    /// Router rules need values of the right shape, and a port no edge leaves is a warning.
    #[test]
    fn router_rules_and_ports() {
        let g = graph(
            r#"{"id": "p", "kind": "producer"}, {"id": "s", "kind": "sink"},
               {"id": "r", "kind": "router", "config": {"rules": [
                   {"field": "amount", "op": ">", "port": "big"},
                   {"field": "tier", "op": "in", "value": "gold", "port": "vip"},
                   {"field": "x", "op": "exists", "port": "big"}]}}"#,
            r#"{"from": "p", "to": "r"}, {"from": "r", "to": "s", "port": "big"}"#,
            "",
        );
        assert_reports(
            &g,
            &[
                "node 'r': rules[0].value: op '>' needs a value",
                r#"node 'r': rules[1].value: op 'in' needs an array of values (got "gold")"#,
                "warning: node 'r': rules[1].port: no edge leaves port 'vip': its messages would end here",
                "warning: node 'r': default_port: no edge leaves port 'out': its messages would end here",
            ],
        );
        assert_silent_on(&g, "warning: node 'r': rules[0].port");
        assert_silent_on(&g, "warning: node 'r': rules[2].port");
    }

    /// A saga needs steps, each naming a callable node it has an edge to.
    #[test]
    fn saga_steps() {
        let g = graph(
            r#"{"id": "sg1", "kind": "saga"},
               {"id": "sg2", "kind": "saga", "config": {"steps": [
                   {"name": "pay", "action": "payment", "compensation": "refund"},
                   {"name": "ship", "action": "ghost"},
                   {"name": "log", "action": "q"}]}},
               {"id": "payment", "kind": "service"}, {"id": "refund", "kind": "service"},
               {"id": "q", "kind": "queue"}"#,
            r#"{"from": "sg2", "to": "payment"}"#,
            "",
        );
        assert_reports(
            &g,
            &[
                "node 'sg1': steps: needs at least one step (got none)",
                "node 'sg2': steps[0].compensation: the saga has no edge to 'refund' (add an \
                 edge from 'sg2' to 'refund')",
                "node 'sg2': steps[1].action: no node has id 'ghost'",
                "node 'sg2': steps[2].action: the saga has no edge to 'q' (add an edge from \
                 'sg2' to 'q')",
                "node 'sg2': steps[2].action: a queue does not answer calls (callable kinds: \
                 service, breaker, gateway, projector, saga)",
            ],
        );
        assert_silent_on(&g, "node 'sg2': steps[0].action");
    }

    /// A fault must name an existing node.
    #[test]
    fn fault_on_missing_node() {
        let g = graph(
            r#"{"id": "w", "kind": "service"}"#,
            "",
            r#"{"node": "ghost", "kind": "crash", "at_ms": 0}"#,
        );
        assert_reports(&g, &["fault 0 (on 'ghost'): node: no node has id 'ghost'"]);
    }

    /// A fault starts at a time >= 0 and does not end before it starts.
    #[test]
    fn fault_times() {
        let g = graph(
            r#"{"id": "w", "kind": "service"}"#,
            "",
            r#"{"node": "w", "kind": "fail", "at_ms": -1, "until_ms": 5},
               {"node": "w", "kind": "stop", "at_ms": 100, "until_ms": 50},
               {"node": "w", "kind": "stop", "at_ms": 100, "until_ms": 100}"#,
        );
        assert_reports(
            &g,
            &[
                "fault 0 (on 'w'): at_ms: must be a finite number of milliseconds >= 0 (got -1)",
                "fault 1 (on 'w'): until_ms: must be at least at_ms (100) (got 50)",
            ],
        );
        assert_silent_on(&g, "fault 0 (on 'w'): until_ms");
        assert_silent_on(&g, "fault 2");
    }

    /// A slow fault needs a positive factor; a factor or rate its kind ignores is a warning.
    #[test]
    fn fault_rate_and_factor() {
        let g = graph(
            r#"{"id": "w", "kind": "service"}, {"id": "q", "kind": "queue"}"#,
            "",
            r#"{"node": "w", "kind": "slow", "at_ms": 0},
               {"node": "w", "kind": "slow", "at_ms": 0, "factor": 0, "rate": 0.5},
               {"node": "q", "kind": "crash", "at_ms": 0, "factor": 2},
               {"node": "w", "kind": "fail", "at_ms": 0}"#,
        );
        assert_reports(
            &g,
            &[
                "fault 0 (on 'w'): factor: a slow fault needs factor, the service time \
                 multiplier (a number > 0)",
                "fault 1 (on 'w'): factor: must be a finite number > 0 (got 0)",
                "warning: fault 1 (on 'w'): rate: ignored: only a fail fault uses rate (this one is slow)",
                "warning: fault 2 (on 'q'): factor: ignored: only a slow fault uses factor (this one is crash)",
            ],
        );
        assert_silent_on(&g, "fault 3");
    }

    /// Nodes no producer or client reaches are warnings; so is a graph without any source.
    #[test]
    fn unreachable_nodes() {
        let g = graph(
            r#"{"id": "p", "kind": "producer"}, {"id": "s", "kind": "sink"},
               {"id": "w", "kind": "service"}"#,
            r#"{"from": "p", "to": "s"}, {"from": "w", "to": "s"}"#,
            "",
        );
        assert_reports(
            &g,
            &[
                "warning: node 'w': not reachable from any producer or client: it never gets a message",
            ],
        );
        assert_silent_on(&g, "warning: node 's'");

        let no_source = graph(r#"{"id": "s", "kind": "sink"}"#, "", "");
        assert_eq!(
            lines(&no_source),
            [
                "warning: graph: nodes: no producer, client or broker-backed channel: nothing ever sends a message"
            ]
        );
        let empty = graph("", "", "");
        assert_eq!(
            lines(&empty),
            ["warning: graph: nodes: the graph has no nodes"]
        );
    }

    /// Messages reaching a queue, topic or service with nothing after it end there: a
    /// warning. A service that only answers calls replies to its caller instead.
    #[test]
    fn dead_ends() {
        let g = graph(
            r#"{"id": "p", "kind": "producer"}, {"id": "q", "kind": "queue"},
               {"id": "t", "kind": "topic"}, {"id": "w", "kind": "service"},
               {"id": "c", "kind": "client"}, {"id": "answers", "kind": "service"}"#,
            r#"{"from": "p", "to": "q"}, {"from": "p", "to": "t"}, {"from": "p", "to": "w"},
               {"from": "c", "to": "answers"}"#,
            "",
        );
        assert_reports(
            &g,
            &[
                "warning: node 'q': has no consumer (no edge leaves port 'out'): its messages would end here",
                "warning: node 't': has no consumer (no edge leaves port 'out'): its messages would end here",
                "warning: node 'w': no edge leaves port 'out': its messages would end here",
            ],
        );
        assert_silent_on(&g, "warning: node 'answers'");
    }

    /// Several problems in one graph are all reported, in order: graph, nodes, edges,
    /// faults, then whole-graph checks.
    #[test]
    fn reports_every_problem_in_order() {
        let text = r#"{
          "format": "flowbench.grph", "version": 1,
          "nodes": [
            {"id": "p", "kind": "producer"},
            {"id": "q", "kind": "queue", "config": {"capacity": 0}},
            {"id": "a", "kind": "service"},
            {"id": "b", "kind": "service"},
            {"id": "lonely", "kind": "sink"}
          ],
          "edges": [
            {"from": "p", "to": "q"}, {"from": "q", "to": "a"},
            {"from": "a", "to": "b", "port": "call"}, {"from": "b", "to": "a", "port": "call"},
            {"from": "a", "to": "ghost"}
          ],
          "faults": [{"node": "nobody", "kind": "crash", "at_ms": 0}]
        }"#;
        let g = Graph::from_json_str(text).unwrap();
        assert_eq!(
            lines(&g),
            [
                r#"graph: format: must be "flowbench.graph" (got "flowbench.grph")"#,
                "node 'q': capacity: must be at least 1 or null for unbounded (got 0)",
                "edge 4 (a -> ghost): to: no node has id 'ghost'",
                "fault 0 (on 'nobody'): node: no node has id 'nobody'",
                "node 'a': call cycle would deadlock: a -> b -> a",
                "warning: node 'lonely': not reachable from any producer or client: it never gets a message",
            ]
        );
        let errors = validate(&g).iter().filter(|d| d.is_error()).count();
        assert_eq!(errors, 5);
    }

    /// A source faster than one message per nanosecond is refused: the clock could not
    /// tell its messages apart and time would stand still. The number prints as written.
    #[test]
    fn rates_above_the_clock_tick() {
        let g = graph(
            r#"{"id": "p", "kind": "producer", "config": {"rate_per_sec": 1e308}},
               {"id": "c", "kind": "client", "config": {"rate_per_sec": 2e9}},
               {"id": "ok", "kind": "producer", "config": {"rate_per_sec": 1e9}},
               {"id": "w", "kind": "service"}"#,
            r#"{"from": "p", "to": "w"}, {"from": "c", "to": "w"}, {"from": "ok", "to": "w"}"#,
            "",
        );
        assert_reports(
            &g,
            &[
                "node 'p': rate_per_sec: must be at most 1000000000 per second, one per \
                 nanosecond of the engine's clock (got 1e308)",
                "node 'c': rate_per_sec: must be at most 1000000000 per second, one per \
                 nanosecond of the engine's clock (got 2000000000)",
            ],
        );
        assert_silent_on(&g, "node 'ok'");
    }

    /// Workers and partitions are memory: one node may not ask for more than its bound, and
    /// a node over it is reported once, on the node.
    #[test]
    fn worker_and_partition_bounds() {
        let g = graph(
            r#"{"id": "p", "kind": "producer"}, {"id": "t", "kind": "topic",
                "config": {"partitions": 4294967295}},
               {"id": "w", "kind": "service", "config": {"concurrency": 4000000000}},
               {"id": "a", "kind": "service",
                "config": {"autoscale": {"min": 1, "max": 100001}}}"#,
            r#"{"from": "p", "to": "t"}, {"from": "t", "to": "w"}, {"from": "t", "to": "a"}"#,
            "",
        );
        assert_reports(
            &g,
            &[
                "node 't': partitions: must be at most 10000 (got 4294967295)",
                "node 'w': concurrency: must be at most 100000 (got 4000000000)",
                "node 'a': autoscale.max: must be at most 100000 (got 100001)",
            ],
        );
        assert_silent_on(&g, "graph");
    }

    /// Many nodes each within their bound may still ask for too much together.
    #[test]
    fn totals_over_many_nodes() {
        let services: Vec<String> = (0..11)
            .map(|i| {
                format!(
                    r#"{{"id": "w{i}", "kind": "service", "config": {{"concurrency": 100000}}}}"#
                )
            })
            .collect();
        let subscribers: Vec<String> = (0..101)
            .map(|i| format!(r#"{{"id": "s{i}", "kind": "sink"}}"#))
            .collect();
        let edges: Vec<String> = (0..101)
            .map(|i| format!(r#"{{"from": "t", "to": "s{i}"}}"#))
            .collect();
        let g = graph(
            &format!(
                r#"{}, {}, {{"id": "t", "kind": "topic", "config": {{"partitions": 10000}}}}"#,
                services.join(", "),
                subscribers.join(", ")
            ),
            &edges.join(", "),
            "",
        );
        assert_reports(
            &g,
            &[
                "graph: nodes: the services have 1100000 workers in all (concurrency, or \
                 autoscale.max); a graph may have at most 1000000",
                "graph: nodes: the topics keep 1010000 partition buffers in all (partitions × \
                 subscribers); a graph may have at most 1000000",
            ],
        );
    }

    /// A topic on a broker keeps its messages on the broker and one buffer per subscriber
    /// here: its partitions do not count towards the graph's partition buffers, its
    /// subscribers do.
    #[test]
    fn a_topic_on_a_broker_counts_one_buffer_per_subscriber() {
        let sinks: Vec<String> = (0..101)
            .map(|i| format!(r#"{{"id": "s{i}", "kind": "sink"}}"#))
            .collect();
        let to_sinks = |topic: &str, n: usize| -> Vec<String> {
            (0..n)
                .map(|i| format!(r#"{{"from": "{topic}", "to": "s{i}"}}"#))
                .collect()
        };
        let on_nats = r#"{"id": "b", "kind": "topic", "config": {"partitions": 10000,
                          "backend": {"kind": "nats", "subject": "orders"}}}"#;
        // 101 buffers in this process (as a topic in the engine: 10,000 × 101, too many).
        let g = graph(
            &format!("{on_nats}, {}", sinks.join(", ")),
            &to_sinks("b", 101).join(", "),
            "",
        );
        assert!(
            validate(&g).iter().all(|d| !d.is_error()),
            "{:?}",
            lines(&g)
        );
        // Beside an engine topic of 10,000 × 100, at the bound, they are 101 too many.
        let in_engine = r#"{"id": "t", "kind": "topic", "config": {"partitions": 10000}}"#;
        let g = graph(
            &format!("{on_nats}, {in_engine}, {}", sinks.join(", ")),
            &[to_sinks("b", 101), to_sinks("t", 100)].concat().join(", "),
            "",
        );
        assert_reports(
            &g,
            &[
                "graph: nodes: the topics keep 1000101 partition buffers in all (partitions × \
               subscribers); a graph may have at most 1000000",
            ],
        );
    }

    /// A loop of nodes that all pass a message on at once would keep the clock at one
    /// instant forever; a service that takes time on the loop breaks it.
    #[test]
    fn loops_without_delay() {
        let g = graph(
            r#"{"id": "p", "kind": "producer"}, {"id": "q", "kind": "queue"},
               {"id": "r", "kind": "router"},
               {"id": "q2", "kind": "queue"}, {"id": "fast", "kind": "service",
                "config": {"service_time": {"dist": "const", "ms": 0}}},
               {"id": "q3", "kind": "queue"}, {"id": "slow", "kind": "service",
                "config": {"service_time": {"dist": "const", "ms": 0.001}}}"#,
            r#"{"from": "p", "to": "q"}, {"from": "q", "to": "r"}, {"from": "r", "to": "q"},
               {"from": "p", "to": "q2"}, {"from": "q2", "to": "fast"},
               {"from": "fast", "to": "q2", "port": "error"}, {"from": "fast", "to": "q2"},
               {"from": "p", "to": "q3"}, {"from": "q3", "to": "slow"}, {"from": "slow", "to": "q3"}"#,
            "",
        );
        let loops: Vec<String> = lines(&g)
            .into_iter()
            .filter(|l| l.contains("loop without delay"))
            .collect();
        assert_eq!(
            loops,
            [
                "node 'q': loop without delay would stop the clock: q -> r -> q (a message on it \
                 circles forever at one instant; give a service on the loop a service_time)",
                "node 'q2': loop without delay would stop the clock: q2 -> fast -> q2 (a message \
                 on it circles forever at one instant; give a service on the loop a service_time)",
            ]
        );
    }

    /// A router with very many ports names the first few in a bad port's message, not all.
    #[test]
    fn long_port_lists_are_cut() {
        let rules: Vec<String> = (0..30)
            .map(|i| format!(r#"{{"field": "k", "op": "==", "value": {i}, "port": "p{i}"}}"#))
            .collect();
        let g = graph(
            &format!(
                r#"{{"id": "r", "kind": "router", "config": {{"rules": [{}]}}}},
                   {{"id": "s", "kind": "sink"}}"#,
                rules.join(", ")
            ),
            r#"{"from": "r", "to": "s", "port": "nope"}"#,
            "",
        );
        let line = lines(&g)
            .into_iter()
            .find(|l| l.starts_with("edge 0"))
            .unwrap();
        assert!(line.ends_with("'p18', 'p19' and 11 more)"), "{line}");
    }

    /// Validation time grows with the graph, not with its square: 100,000 nodes in a chain,
    /// each looking up its edges, take well under a second of work.
    #[test]
    fn large_graphs_validate_in_linear_time() {
        let n = 100_000;
        let mut nodes = vec![r#"{"id": "p", "kind": "producer"}"#.to_owned()];
        let mut edges = Vec::new();
        for i in 0..n {
            nodes.push(format!(r#"{{"id": "q{i}", "kind": "queue"}}"#));
            let from = if i == 0 {
                "p".to_owned()
            } else {
                format!("q{}", i - 1)
            };
            edges.push(format!(r#"{{"from": "{from}", "to": "q{i}"}}"#));
        }
        let g = graph(&nodes.join(","), &edges.join(","), "");
        let started = std::time::Instant::now();
        let found = validate(&g);
        let took = started.elapsed();
        // One warning: the last queue has no consumer.
        assert_eq!(found.len(), 1, "{:?}", &found[..found.len().min(3)]);
        // Quadratic work would take minutes; allow for a slow, shared machine.
        assert!(took.as_secs_f64() < 10.0, "validation took {took:?}");
    }

    /// Broker bindings: a backend must fit the kind, and its URL and names must be ones the
    /// broker accepts; a broker-backed channel needs no local consumer.
    #[test]
    fn broker_backends_are_checked() {
        let g = graph(
            r#"{"id": "p", "kind": "producer", "process": "front"},
               {"id": "q", "kind": "queue", "config": {"backend": {"kind": "rabbitmq",
                  "url": "amqp://guest:guest@127.0.0.1:5672/%2f", "queue": "orders"}}},
               {"id": "t", "kind": "topic", "config": {"backend": {"kind": "rabbitmq",
                  "queue": "x"}}},
               {"id": "t2", "kind": "topic", "config": {"backend": {"kind": "nats",
                  "url": "http://127.0.0.1:4222", "subject": "a..b"}}},
               {"id": "l", "kind": "event_log", "config": {"backend": {"kind": "jetstream",
                  "stream": "ORDERS.X", "subject": "orders.>.x"}}},
               {"id": "q2", "kind": "queue", "process": "", "config": {"backend":
                  {"kind": "rabbitmq", "url": "amqp://h:99999", "queue": "", "prefetch": 0}}}"#,
            r#"{"from": "p", "to": "q"}, {"from": "p", "to": "t"}, {"from": "p", "to": "t2"},
               {"from": "p", "to": "l"}, {"from": "p", "to": "q2"}"#,
            "",
        );
        let got = lines(&g);
        assert!(!got.iter().any(|l| l.contains("'q'")), "{got:#?}");
        assert_reports(
            &g,
            &[
                "node \'t\': backend.kind: a topic cannot live on \"rabbitmq\"; a topic's backend is \"nats\"",
                "node \'t2\': backend.url: 'http://' is not this broker's scheme; write nats:// or tls://host:port",
                "node \'t2\': backend.subject: 'a..b' has an empty token (two dots, or a dot at an end)",
                "node \'l\': backend.stream: 'ORDERS.X': stream names may only use letters, digits, '_' and '-'",
                "node \'l\': backend.subject: 'orders.>.x': '>' may only be the last token",
                "node \'q2\': backend.url: '99999' in 'amqp://h:99999' is not a port (1 to 65535)",
                "node \'q2\': backend.queue: must name the broker's queue",
                "node \'q2\': backend.prefetch: must be at least 1 (0 would mean unlimited unacknowledged messages)",
                "node \'q2\': process: '': a process name uses letters, digits, '_', '.' and '-'",
            ],
        );
        // An unknown backend kind is a parse error naming the choices.
        let text = r#"{"format": "flowbench.graph", "version": 1, "nodes": [{"id": "q",
            "kind": "queue", "config": {"backend": {"kind": "kafka"}}}]}"#;
        let e = Graph::from_json_str(text).map(|g| lines(&g).join("\n"));
        let message = match e {
            Err(e) => e.to_string(),
            Ok(lines) => lines,
        };
        assert!(
            message.contains("kafka") && message.contains("rabbitmq"),
            "{message}"
        );
    }
}
