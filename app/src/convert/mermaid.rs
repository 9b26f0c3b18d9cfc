//! Mermaid flowcharts both ways: [`to_mermaid`] writes a graph as a `flowchart LR`, and
//! [`from_mermaid`] reads the flowcharts found in design docs into a graph, guessing each
//! node's kind from its label and shape and laying the result out.
//!
//! Export marks every node with its kind as a Mermaid class (`class q queue`), so that an
//! exported chart imports back with the same kinds; hand-written charts need no classes.

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};

use flowbench_engine::model::{Fallback, RouteRule, RuleOp, SagaStep};
use flowbench_engine::{Edge, Graph, Node, NodeConfig, NodeKind};

use super::{is_call, layout, port_label};

// ---- export ------------------------------------------------------------------------------

/// A Mermaid `flowchart LR`: shapes by kind (queue and event log `[( )]`, topic `{{ }}`,
/// sink `(( ))`, breaker and router `{ }`, others `[ ]`); calls dashed; ports as labels; each
/// node's kind as its class.
pub fn to_mermaid(graph: &Graph) -> String {
    let ids = MermaidIds::new(graph);
    let mut out = String::from("flowchart LR\n");
    if !graph.name.is_empty() {
        let _ = writeln!(out, "  %% {}", graph.name.replace(['\n', '\r'], " "));
    }
    for (node, id) in graph.nodes.iter().zip(&ids.by_node) {
        let label = mermaid_text(node.display_name());
        let shape = match node.kind() {
            Some(NodeKind::Queue | NodeKind::EventLog) => format!("[({label})]"),
            Some(NodeKind::Topic) => format!("{{{{{label}}}}}"),
            Some(NodeKind::Sink) => format!("(({label}))"),
            Some(NodeKind::Breaker | NodeKind::Router) => format!("{{{label}}}"),
            _ => format!("[{label}]"),
        };
        let _ = writeln!(out, "  {id}{shape}");
    }
    for edge in &graph.edges {
        let arrow = if is_call(graph, edge) { "-.->" } else { "-->" };
        let label = port_label(edge)
            .map(|port| format!("|{}|", mermaid_text(port)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {arrow}{label} {}",
            ids.of(&edge.from),
            ids.of(&edge.to)
        );
    }
    // One `class` line per kind, in the palette's order of kinds.
    for kind in NodeKind::ALL {
        let members: Vec<&str> = graph
            .nodes
            .iter()
            .zip(&ids.by_node)
            .filter(|(node, _)| node.kind() == Some(kind))
            .map(|(_, id)| id.as_str())
            .collect();
        if !members.is_empty() {
            let _ = writeln!(out, "  class {} {kind}", members.join(","));
        }
    }
    out
}

/// Mermaid node ids: graph ids may hold `.` and `-`, and `end` is a Mermaid keyword, so each
/// id is mapped to a safe, unique one (the label still shows the real id).
struct MermaidIds {
    /// In node order.
    by_node: Vec<String>,
    by_graph_id: HashMap<String, String>,
}

impl MermaidIds {
    fn new(graph: &Graph) -> MermaidIds {
        let mut taken = HashSet::new();
        let by_node = graph
            .nodes
            .iter()
            .map(|node| {
                let base = mermaid_safe_id(&node.id);
                let mut id = base.clone();
                let mut n = 2;
                while !taken.insert(id.clone()) {
                    id = format!("{base}_{n}");
                    n += 1;
                }
                id
            })
            .collect::<Vec<String>>();
        let mut by_graph_id = HashMap::new();
        for (node, id) in graph.nodes.iter().zip(&by_node) {
            by_graph_id
                .entry(node.id.clone())
                .or_insert_with(|| id.clone());
        }
        MermaidIds {
            by_node,
            by_graph_id,
        }
    }

    /// The Mermaid id of a graph id (in a valid graph every edge end names a node).
    fn of<'a>(&'a self, graph_id: &'a str) -> &'a str {
        self.by_graph_id
            .get(graph_id)
            .map_or(graph_id, String::as_str)
    }
}

/// A graph id as export writes it in Mermaid, before making it unique.
fn mermaid_safe_id(id: &str) -> String {
    let mut base: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if base.is_empty() || base.eq_ignore_ascii_case("end") {
        base.push_str("_node");
    }
    base
}

/// Label text for Mermaid: plain words stay as they are, anything else is quoted.
fn mermaid_text(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
    if plain {
        text.to_owned()
    } else {
        format!(
            "\"{}\"",
            text.replace('"', "#quot;").replace(['\n', '\r'], " ")
        )
    }
}

// ---- import ------------------------------------------------------------------------------

/// Why a Mermaid text is not a flowchart this importer understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MermaidError {
    /// 1-based line of the problem.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for MermaidError {
    /// `LINE: message`, to be printed after the file name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.line, self.message)
    }
}

impl std::error::Error for MermaidError {}

/// Reads a Mermaid `flowchart`/`graph` into a graph: nodes with their labels, kinds guessed
/// from label keywords, then shapes (service when nothing fits), edges with ports where the
/// source kind has them, and positions from the auto layout. The graph's name is the chart's
/// title, if it has one, else empty.
///
/// Subgraphs are flattened; styling (`classDef`, `style`, `linkStyle`, `click`) and comments
/// are ignored, except that a class named like a node kind sets that kind.
pub fn from_mermaid(text: &str) -> Result<Graph, MermaidError> {
    let chart = Parser::default().parse(text)?;
    let mut graph = chart.into_graph();
    layout::layout_all(&mut graph);
    Ok(graph)
}

/// The shape a node is drawn with, as far as kinds are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `[ ]`, `( )`, `([ ])`, `[[ ]]`, `>…]`, `[/ /]` and other boxes.
    Box,
    /// `[( )]`: a database or a queue.
    Cylinder,
    /// `(( ))` and `((( )))`.
    Circle,
    /// `{ }`: a decision.
    Rhombus,
    /// `{{ }}`.
    Hexagon,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineStyle {
    Solid,
    Dotted,
    Thick,
    /// `~~~`: a layout hint, not a connection.
    Invisible,
}

#[derive(Debug, Clone, PartialEq)]
struct Link {
    style: LineStyle,
    text: Option<String>,
}

/// One node as the chart declares it.
#[derive(Debug, Default)]
struct ChartNode {
    /// The Mermaid id.
    id: String,
    label: Option<String>,
    shape: Option<Shape>,
    /// From `:::kind` or `class id kind`.
    class_kind: Option<NodeKind>,
}

#[derive(Debug, Default)]
struct Chart {
    title: Option<String>,
    nodes: Vec<ChartNode>,
    index: HashMap<String, usize>,
    edges: Vec<(usize, usize, Link)>,
}

impl Chart {
    fn node(&mut self, id: &str) -> usize {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        self.nodes.push(ChartNode {
            id: id.to_owned(),
            ..ChartNode::default()
        });
        self.index.insert(id.to_owned(), self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    fn into_graph(self) -> Graph {
        // Ids: the label when export derived the Mermaid id from it (so a round trip keeps
        // ids), else the Mermaid id made safe; unique either way.
        let mut taken: HashSet<String> = HashSet::new();
        let ids: Vec<String> = self
            .nodes
            .iter()
            .map(|n| {
                let base = match &n.label {
                    Some(label) if is_graph_id(label) && derived_from(&n.id, label) => {
                        label.clone()
                    }
                    _ => sanitise_id(&n.id),
                };
                let mut id = base.clone();
                let mut k = 2;
                while taken.contains(&id) {
                    id = format!("{base}-{k}");
                    k += 1;
                }
                taken.insert(id.clone());
                id
            })
            .collect();
        let kinds: Vec<NodeKind> = self.nodes.iter().map(guess_kind).collect();

        let mut edges: Vec<Edge> = Vec::new();
        let mut step_names: HashMap<(usize, usize), String> = HashMap::new();
        for (from, to, link) in &self.edges {
            if link.style == LineStyle::Invisible {
                continue;
            }
            let port = port_for(kinds[*from], link, kinds[*to]);
            let edge = Edge::new(ids[*from].clone(), ids[*to].clone()).with_port(port);
            if kinds[*from] == NodeKind::Saga
                && let Some(text) = &link.text
            {
                step_names
                    .entry((*from, *to))
                    .or_insert_with(|| text.clone());
            }
            if !edges.contains(&edge) {
                edges.push(edge);
            }
        }

        let nodes: Vec<Node> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let id = ids[i].clone();
                let label = n.label.clone().filter(|l| *l != id);
                let config = config_for(kinds[i], &id, &edges, |to| {
                    ids.iter()
                        .position(|x| x == to)
                        .and_then(|t| step_names.get(&(i, t)).cloned())
                });
                Node {
                    id,
                    label,
                    pos: None,
                    process: None,
                    config,
                }
            })
            .collect();
        Graph {
            name: self.title.unwrap_or_default(),
            nodes,
            edges,
            ..Graph::default()
        }
    }
}

/// A kind's config for an imported node: defaults, plus what its edges imply — a router gets
/// one rule per labelled exit (field `route` equal to the label), a gateway with labelled
/// routes routes by field `route`, a breaker with a `fallback` edge sends rejected calls
/// there, a saga gets one step per call it makes.
fn config_for(
    kind: NodeKind,
    id: &str,
    edges: &[Edge],
    step_name: impl Fn(&str) -> Option<String>,
) -> NodeConfig {
    let out: Vec<&Edge> = edges.iter().filter(|e| e.from == id).collect();
    let mut config = NodeConfig::default_for(kind);
    match &mut config {
        NodeConfig::Router(router) => {
            let mut ports: Vec<&str> = Vec::new();
            for e in &out {
                if e.port != "out" && !ports.contains(&e.port.as_str()) {
                    ports.push(&e.port);
                }
            }
            router.rules = ports
                .iter()
                .map(|p| RouteRule {
                    field: "route".to_owned(),
                    op: RuleOp::Eq,
                    value: Some(serde_json::Value::String((*p).to_owned())),
                    port: (*p).to_owned(),
                })
                .collect();
            if !ports.is_empty() && !out.iter().any(|e| e.port == "out") {
                // Only labelled exits: unmatched messages are filtered out.
                router.default_port = None;
            }
        }
        NodeConfig::Breaker(breaker) if out.iter().any(|e| e.port == "fallback") => {
            breaker.fallback = Fallback::Port;
        }
        NodeConfig::Gateway(gateway) if out.iter().any(|e| e.port != "out") => {
            gateway.route_by = Some("route".to_owned());
        }
        NodeConfig::Saga(saga) => {
            saga.steps = out
                .iter()
                .map(|e| SagaStep {
                    name: step_name(&e.to).unwrap_or_else(|| e.to.clone()),
                    action: e.to.clone(),
                    compensation: None,
                })
                .collect();
        }
        _ => {}
    }
    config
}

/// The output port an imported edge leaves from: its label where the source kind has a port
/// of that meaning, a service's `call` port for a dotted line to something callable, else
/// `out`.
fn port_for(from: NodeKind, link: &Link, to: NodeKind) -> String {
    let text = link.text.as_deref().map(str::trim).unwrap_or("");
    let lower = text.to_lowercase();
    let words = words_of(text);
    let has = |w: &str| {
        words
            .iter()
            .any(|x| x == w || x.strip_suffix('s') == Some(w))
    };
    match from {
        NodeKind::Service => {
            if has("error")
                || has("fail")
                || has("failure")
                || has("failed")
                || has("dlq")
                || lower.contains("dead letter")
                || lower.contains("dead-letter")
            {
                "error".to_owned()
            } else if to.is_callable() && (has("call") || link.style == LineStyle::Dotted) {
                "call".to_owned()
            } else {
                "out".to_owned()
            }
        }
        NodeKind::Breaker if has("fallback") => "fallback".to_owned(),
        NodeKind::Router | NodeKind::Gateway if !text.is_empty() => text.to_owned(),
        _ => "out".to_owned(),
    }
}

/// Whether `label` is usable as a graph id as it is.
fn is_graph_id(label: &str) -> bool {
    !label.is_empty()
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Whether export would have written a node with id `label` as Mermaid id `mermaid_id`.
fn derived_from(mermaid_id: &str, label: &str) -> bool {
    let base = mermaid_safe_id(label);
    mermaid_id == base
        || mermaid_id
            .strip_prefix(&base)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// A Mermaid id as a graph id: characters outside `[A-Za-z0-9_.-]` become `_`.
fn sanitise_id(id: &str) -> String {
    let id: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if id.is_empty() { "node".to_owned() } else { id }
}

// ---- kinds -------------------------------------------------------------------------------

/// Label keywords, as phrases of lowercase words. A specific pattern (breaker, gateway, …)
/// anywhere in a label wins; among the generic ones the last in the label wins, as the head
/// noun of "Order Queue Worker" is "worker".
const SPECIFIC: &[(&[&str], NodeKind)] = &[
    (&["circuit", "breaker"], NodeKind::Breaker),
    (&["breaker"], NodeKind::Breaker),
    (&["api", "gateway"], NodeKind::Gateway),
    (&["gateway"], NodeKind::Gateway),
    (&["event", "log"], NodeKind::EventLog),
    (&["event", "store"], NodeKind::EventLog),
    (&["projector"], NodeKind::Projector),
    (&["projection"], NodeKind::Projector),
    (&["read", "model"], NodeKind::Projector),
    (&["saga"], NodeKind::Saga),
    (&["orchestrator"], NodeKind::Saga),
    (&["router"], NodeKind::Router),
];

const GENERIC: &[(&[&str], NodeKind)] = &[
    (&["topic"], NodeKind::Topic),
    (&["pub", "sub"], NodeKind::Topic),
    (&["pubsub"], NodeKind::Topic),
    (&["bus"], NodeKind::Topic),
    (&["queue"], NodeKind::Queue),
    (&["client"], NodeKind::Client),
    (&["user"], NodeKind::Client),
    (&["browser"], NodeKind::Client),
    (&["producer"], NodeKind::Producer),
    (&["source"], NodeKind::Producer),
    (&["sink"], NodeKind::Sink),
    (&["database"], NodeKind::Sink),
    (&["db"], NodeKind::Sink),
    // What handles messages is a service, whatever it handles: "User Service".
    (&["service"], NodeKind::Service),
    (&["svc"], NodeKind::Service),
    (&["worker"], NodeKind::Service),
    (&["handler"], NodeKind::Service),
    (&["consumer"], NodeKind::Service),
    (&["processor"], NodeKind::Service),
];

/// A node's kind: its class if that names a kind, else label keywords, else the Mermaid id's
/// keywords, else its shape, else service.
fn guess_kind(node: &ChartNode) -> NodeKind {
    if let Some(kind) = node.class_kind {
        return kind;
    }
    let by_shape = match node.shape {
        Some(Shape::Cylinder) => Some(NodeKind::Queue),
        Some(Shape::Hexagon) => Some(NodeKind::Topic),
        Some(Shape::Circle) => Some(NodeKind::Sink),
        Some(Shape::Rhombus) => Some(NodeKind::Router),
        Some(Shape::Box) | None => None,
    };
    node.label
        .as_deref()
        .and_then(kind_from_words)
        .or_else(|| kind_from_words(&node.id))
        .or(by_shape)
        .unwrap_or(NodeKind::Service)
}

/// The kind named by keywords in `text`, if any (see [`SPECIFIC`]).
fn kind_from_words(text: &str) -> Option<NodeKind> {
    let words = words_of(text);
    let last_match = |table: &[(&[&str], NodeKind)]| {
        let mut best: Option<(usize, usize, NodeKind)> = None;
        for &(phrase, kind) in table {
            for start in 0..words.len() {
                let matches = phrase.len() + start <= words.len()
                    && phrase
                        .iter()
                        .zip(&words[start..])
                        .all(|(k, w)| word_matches(w, k));
                if matches {
                    let end = start + phrase.len();
                    // Later end wins; at the same end, the longer phrase.
                    if best.is_none_or(|(e, len, _)| (end, phrase.len()) > (e, len)) {
                        best = Some((end, phrase.len(), kind));
                    }
                }
            }
        }
        best.map(|(_, _, kind)| kind)
    };
    last_match(SPECIFIC).or_else(|| last_match(GENERIC))
}

/// A word matches a keyword as it is or in the plural.
fn word_matches(word: &str, keyword: &str) -> bool {
    word == keyword
        || word
            .strip_prefix(keyword)
            .is_some_and(|rest| rest == "s" || rest == "es")
}

/// Lowercase words of a label: split at anything not a letter or digit and between a lower-
/// and an uppercase letter ("OrderQueue", "order_queue" and "order-queue" all give
/// "order queue").
fn words_of(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && previous_lower && !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            previous_lower = c.is_lowercase() || c.is_ascii_digit();
            word.extend(c.to_lowercase());
        } else {
            previous_lower = false;
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

// ---- parsing -----------------------------------------------------------------------------

/// Statements that only style or annotate the chart.
const IGNORED_STATEMENTS: [&str; 8] = [
    "classDef",
    "style",
    "linkStyle",
    "click",
    "direction",
    "accTitle",
    "accDescr",
    "callback",
];

#[derive(Default)]
struct Parser {
    chart: Chart,
}

impl Parser {
    fn parse(mut self, text: &str) -> Result<Chart, MermaidError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        // YAML front matter: only its title matters.
        if lines.first().is_some_and(|l| l.trim() == "---") {
            i = 1;
            loop {
                let Some(line) = lines.get(i) else {
                    return Err(MermaidError {
                        line: 1,
                        message: "the front matter opened by '---' is never closed".to_owned(),
                    });
                };
                i += 1;
                if line.trim() == "---" {
                    break;
                }
                if let Some(title) = line.trim().strip_prefix("title:") {
                    self.chart.title = Some(unquote(title.trim()));
                }
            }
        }

        let mut header_seen = false;
        let mut comment_may_name = false;
        for (n, line) in lines.iter().enumerate().skip(i) {
            let number = n + 1;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix("%%") {
                // `%% name` right after the header names the graph (as export writes it).
                let comment = comment.trim();
                if comment_may_name && self.chart.title.is_none() && !comment.starts_with('{') {
                    self.chart.title = Some(comment.to_owned()).filter(|c| !c.is_empty());
                }
                comment_may_name = false;
                continue;
            }
            comment_may_name = false;
            let statements = split_statements(line);
            for statement in statements {
                let statement = statement.trim();
                if statement.is_empty() {
                    continue;
                }
                if !header_seen {
                    parse_header(statement, number)?;
                    header_seen = true;
                    comment_may_name = true;
                    continue;
                }
                self.statement(statement, number)?;
            }
        }
        if !header_seen {
            return Err(MermaidError {
                line: lines.len().max(1),
                message: "no flowchart found: a Mermaid flowchart starts with 'flowchart LR' or \
                          'graph TD'"
                    .to_owned(),
            });
        }
        if self.chart.nodes.is_empty() {
            return Err(MermaidError {
                line: lines.len().max(1),
                message: "the flowchart has no nodes".to_owned(),
            });
        }
        Ok(self.chart)
    }

    fn statement(&mut self, statement: &str, line: usize) -> Result<(), MermaidError> {
        let first = statement.split_whitespace().next().unwrap_or("");
        if first == "subgraph" || first == "end" && statement == "end" {
            return Ok(());
        }
        let keyword = first.split(':').next().unwrap_or(first);
        if IGNORED_STATEMENTS.contains(&keyword) {
            return Ok(());
        }
        if first == "class" {
            return self.class_statement(statement, line);
        }
        let mut cursor = Cursor::new(statement, line);
        let mut previous = self.group(&mut cursor)?;
        loop {
            cursor.skip_ws();
            if cursor.done() {
                return Ok(());
            }
            let link = cursor.link()?;
            cursor.skip_ws();
            if cursor.done() {
                return Err(cursor.error("the arrow points at nothing: a node id must follow it"));
            }
            let next = self.group(&mut cursor)?;
            for &a in &previous {
                for &b in &next {
                    self.chart.edges.push((a, b, link.clone()));
                }
            }
            previous = next;
        }
    }

    /// `class a,b name`: a class named like a node kind sets the kind.
    fn class_statement(&mut self, statement: &str, line: usize) -> Result<(), MermaidError> {
        let parts: Vec<&str> = statement.split_whitespace().collect();
        let [_, ids, class] = parts.as_slice() else {
            return Err(MermaidError {
                line,
                message: format!(
                    "cannot read '{statement}': a class statement is 'class ID[,ID…] NAME'"
                ),
            });
        };
        if let Some(kind) = kind_of_class(class) {
            for id in ids.split(',').filter(|id| !id.is_empty()) {
                let i = self.chart.node(id);
                self.chart.nodes[i].class_kind = Some(kind);
            }
        }
        Ok(())
    }

    /// `A & B[Label] & C`.
    fn group(&mut self, cursor: &mut Cursor) -> Result<Vec<usize>, MermaidError> {
        let mut group = vec![self.node(cursor)?];
        loop {
            let save = cursor.pos;
            cursor.skip_ws();
            if cursor.eat("&") {
                cursor.skip_ws();
                group.push(self.node(cursor)?);
            } else {
                cursor.pos = save;
                return Ok(group);
            }
        }
    }

    /// `id`, `id[Label]`, `id:::class`, `id@{ shape: cyl, label: "…" }`.
    fn node(&mut self, cursor: &mut Cursor) -> Result<usize, MermaidError> {
        let id = cursor.node_id();
        if id.is_empty() {
            return Err(cursor.error("expected a node id"));
        }
        if id == "end" || id == "subgraph" {
            return Err(cursor.error(&format!(
                "'{id}' is a Mermaid keyword and cannot be a node id"
            )));
        }
        let index = self.chart.node(&id);
        // A shape may follow the id after spaces too.
        let save = cursor.pos;
        cursor.skip_ws();
        if let Some((shape, label)) = cursor.shape()? {
            let node = &mut self.chart.nodes[index];
            node.shape = Some(shape);
            node.label = Some(label);
        } else if cursor.eat("@{") {
            let (shape, label) = cursor.shape_object()?;
            let node = &mut self.chart.nodes[index];
            if shape.is_some() {
                node.shape = shape;
            }
            if label.is_some() {
                node.label = label;
            }
        } else {
            cursor.pos = save;
        }
        if cursor.eat(":::") {
            let class = cursor.node_id();
            if let Some(kind) = kind_of_class(&class) {
                self.chart.nodes[index].class_kind = Some(kind);
            }
        }
        Ok(index)
    }
}

/// The node kind a class names (`event_log` or `event-log`), if it names one.
fn kind_of_class(class: &str) -> Option<NodeKind> {
    NodeKind::parse(&class.trim().to_lowercase().replace('-', "_"))
}

/// Checks the `flowchart LR` / `graph TD` header.
fn parse_header(statement: &str, line: usize) -> Result<(), MermaidError> {
    let mut words = statement.split_whitespace();
    let keyword = words.next().unwrap_or("");
    if keyword != "flowchart" && keyword != "graph" && keyword != "flowchart-elk" {
        return Err(MermaidError {
            line,
            message: format!(
                "not a Mermaid flowchart: expected 'flowchart LR' or 'graph TD' first, found \
                 '{statement}'"
            ),
        });
    }
    match words.next() {
        None => Ok(()),
        Some("LR" | "RL" | "TD" | "TB" | "BT" | ">" | "<" | "^" | "v")
            if words.next().is_none() =>
        {
            Ok(())
        }
        Some(other) => Err(MermaidError {
            line,
            message: format!(
                "unknown direction '{other}' after '{keyword}' (use LR, RL, TD, TB or BT)"
            ),
        }),
    }
}

/// Splits a line at `;` outside quotes and brackets.
fn split_statements(line: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '[' | '(' | '{' if !quoted => depth += 1,
            ']' | ')' | '}' if !quoted => depth -= 1,
            ';' if !quoted && depth <= 0 => {
                parts.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&line[start..]);
    parts
}

/// Label text as shown: quotes removed, Mermaid entities and line breaks replaced.
fn unquote(text: &str) -> String {
    let text = text.trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let text = text
        .strip_prefix('`')
        .and_then(|t| t.strip_suffix('`'))
        .unwrap_or(text);
    let mut out = text
        .replace("#quot;", "\"")
        .replace("#amp;", "&")
        .replace("#lt;", "<")
        .replace("#gt;", ">")
        .replace("#35;", "#")
        .replace("#59;", ";");
    for br in ["<br/>", "<br />", "<br>", "\\n"] {
        out = out.replace(br, " ");
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads one statement.
struct Cursor {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

impl Cursor {
    fn new(text: &str, line: usize) -> Cursor {
        Cursor {
            chars: text.chars().collect(),
            pos: 0,
            line,
        }
    }

    fn error(&self, message: &str) -> MermaidError {
        let rest: String = self.chars[self.pos.min(self.chars.len())..]
            .iter()
            .collect();
        let whole: String = self.chars.iter().collect();
        let at = if rest.is_empty() {
            "at the end".to_owned()
        } else {
            format!("at '{}'", rest.chars().take(24).collect::<String>())
        };
        MermaidError {
            line: self.line,
            message: format!("cannot read '{whole}': {message} {at}"),
        }
    }

    fn done(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(k, c)| self.peek(k) == Some(c))
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.starts_with(s) {
            self.pos += s.chars().count();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Letters, digits, `_`, and `-`/`.` that do not start an arrow.
    fn node_id(&mut self) -> String {
        let mut id = String::new();
        while let Some(c) = self.peek(0) {
            let take = c.is_alphanumeric()
                || c == '_'
                || (matches!(c, '-' | '.')
                    && !id.is_empty()
                    && self
                        .peek(1)
                        .is_some_and(|n| n.is_alphanumeric() || n == '_'));
            if !take {
                break;
            }
            id.push(c);
            self.pos += 1;
        }
        id
    }

    /// A shape with its label, if one starts here.
    fn shape(&mut self) -> Result<Option<(Shape, String)>, MermaidError> {
        // Longest openers first.
        const SHAPES: [(&str, &[&str], Shape); 12] = [
            ("(((", &[")))"], Shape::Circle),
            ("((", &["))"], Shape::Circle),
            ("([", &["])"], Shape::Box),
            ("[(", &[")]"], Shape::Cylinder),
            ("[[", &["]]"], Shape::Box),
            ("[/", &["/]", "\\]"], Shape::Box),
            ("[\\", &["\\]", "/]"], Shape::Box),
            ("[", &["]"], Shape::Box),
            ("(", &[")"], Shape::Box),
            ("{{", &["}}"], Shape::Hexagon),
            ("{", &["}"], Shape::Rhombus),
            (">", &["]"], Shape::Box),
        ];
        for (open, closers, shape) in SHAPES {
            if !self.starts_with(open) {
                continue;
            }
            let start = self.pos;
            self.pos += open.chars().count();
            let label = self.text_until(closers).map_err(|message| {
                self.pos = start;
                self.error(&message)
            })?;
            return Ok(Some((shape, label)));
        }
        Ok(None)
    }

    /// Label text up to one of `closers` (consumed); a quoted label may hold any of them.
    fn text_until(&mut self, closers: &[&str]) -> Result<String, String> {
        let closing = closers.join("' or '");
        self.skip_ws();
        if self.peek(0) == Some('"') {
            let start = self.pos;
            self.pos += 1;
            while self.peek(0).is_some_and(|c| c != '"') {
                self.pos += 1;
            }
            if self.done() {
                return Err("the quoted label is never closed".to_owned());
            }
            self.pos += 1;
            let quoted: String = self.chars[start..self.pos].iter().collect();
            self.skip_ws();
            for closer in closers {
                if self.eat(closer) {
                    return Ok(unquote(&quoted));
                }
            }
            return Err(format!("expected '{closing}' after the label"));
        }
        let start = self.pos;
        while !self.done() {
            for closer in closers {
                if self.starts_with(closer) {
                    let text: String = self.chars[start..self.pos].iter().collect();
                    self.pos += closer.chars().count();
                    return Ok(unquote(&text));
                }
            }
            self.pos += 1;
        }
        Err(format!("the shape is never closed: expected '{closing}'"))
    }

    /// The inside of `@{ shape: cyl, label: "…" }` (after `@{`).
    fn shape_object(&mut self) -> Result<(Option<Shape>, Option<String>), MermaidError> {
        let start = self.pos;
        let mut quoted = false;
        while let Some(c) = self.peek(0) {
            if c == '"' {
                quoted = !quoted;
            } else if c == '}' && !quoted {
                break;
            }
            self.pos += 1;
        }
        if self.done() {
            self.pos = start;
            return Err(self.error("the shape '@{' is never closed with '}'"));
        }
        let body: String = self.chars[start..self.pos].iter().collect();
        self.pos += 1;
        let (mut shape, mut label) = (None, None);
        for field in split_fields(&body) {
            let Some((key, value)) = field.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key.trim() {
                "label" => label = Some(unquote(value)),
                "shape" => {
                    shape = Some(match unquote(value).as_str() {
                        "cyl"
                        | "cylinder"
                        | "db"
                        | "database"
                        | "das"
                        | "h-cyl"
                        | "horizontal-cylinder"
                        | "lin-cyl"
                        | "disk" => Shape::Cylinder,
                        "circle" | "circ" | "dbl-circ" | "double-circle" | "sm-circ"
                        | "small-circle" | "fr-circ" | "framed-circle" | "stop" | "start" => {
                            Shape::Circle
                        }
                        "diam" | "diamond" | "decision" | "question" => Shape::Rhombus,
                        "hex" | "hexagon" | "prepare" => Shape::Hexagon,
                        _ => Shape::Box,
                    });
                }
                _ => {}
            }
        }
        Ok((shape, label))
    }

    /// An arrow with its optional text: `-->`, `---`, `-.->`, `==>`, `-- text -->`,
    /// `-->|text|`, `~~~`, with `o`/`x` ends and longer forms.
    fn link(&mut self) -> Result<Link, MermaidError> {
        let start = self.pos;
        // A bidirectional or circle/cross start reads like the plain arrow.
        if self.peek(0) == Some('<')
            || matches!(self.peek(0), Some('o' | 'x'))
                && matches!(self.peek(1), Some('-' | '=' | '.'))
        {
            self.pos += 1;
        }
        let (body, head) = self.arrow_body();
        if body.is_empty() {
            self.pos = start;
            return Err(self.error("expected an arrow such as '-->', '---', '-.->' or '==>'"));
        }
        let mut link = match classify(&body, head) {
            Some(Arrow::Complete(style)) => Link { style, text: None },
            Some(Arrow::TextStart(style)) => {
                // `-- text -->`: the text runs to the closing arrow.
                let closers: &[&str] = match style {
                    LineStyle::Solid => &["-->", "---", "--o", "--x"],
                    LineStyle::Thick => &["==>", "===", "==o", "==x"],
                    _ => &[".->", ".-"],
                };
                let text_start = self.pos;
                let mut found = None;
                while !self.done() {
                    if closers.iter().any(|c| self.starts_with(c)) {
                        found = Some(self.pos);
                        break;
                    }
                    self.pos += 1;
                }
                let Some(end) = found else {
                    self.pos = start;
                    return Err(
                        self.error("the arrow's text is never closed by an arrow like '-->'")
                    );
                };
                let text: String = self.chars[text_start..end].iter().collect();
                self.pos = end;
                self.arrow_body();
                Link {
                    style,
                    text: Some(unquote(&text)),
                }
            }
            None => {
                self.pos = start;
                return Err(self.error(&format!("unknown arrow '{body}'")));
            }
        };
        // `-->|text|`
        let save = self.pos;
        self.skip_ws();
        if self.eat("|") {
            let text_start = self.pos;
            while self.peek(0).is_some_and(|c| c != '|') {
                self.pos += 1;
            }
            if self.done() {
                self.pos = text_start;
                return Err(self.error("the arrow's '|text|' is never closed with '|'"));
            }
            let text: String = self.chars[text_start..self.pos].iter().collect();
            self.pos += 1;
            link.text = Some(unquote(&text));
        } else {
            self.pos = save;
        }
        if link.text.as_deref() == Some("") {
            link.text = None;
        }
        Ok(link)
    }

    /// The run of `-`, `.`, `=` or `~` and the arrow head after it (`>`, or `o`/`x` before a
    /// space or a node).
    fn arrow_body(&mut self) -> (String, Option<char>) {
        let mut body = String::new();
        while let Some(c) = self.peek(0) {
            if matches!(c, '-' | '.' | '=' | '~') {
                body.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        let head = match self.peek(0) {
            Some('>') => Some('>'),
            Some(c @ ('o' | 'x'))
                if body.len() >= 2
                    && self.peek(1).is_none_or(|n| n.is_whitespace() || n == '|') =>
            {
                Some(c)
            }
            _ => None,
        };
        if head.is_some() {
            self.pos += 1;
        }
        (body, head)
    }
}

enum Arrow {
    Complete(LineStyle),
    /// `--`, `==` or `-.` followed by text and a closing arrow.
    TextStart(LineStyle),
}

fn classify(body: &str, head: Option<char>) -> Option<Arrow> {
    let all = |c: char| body.chars().all(|x| x == c);
    let n = body.chars().count();
    if all('~') && n >= 3 {
        return Some(Arrow::Complete(LineStyle::Invisible));
    }
    if all('-') && n >= 2 {
        return Some(if head.is_some() || n >= 3 {
            Arrow::Complete(LineStyle::Solid)
        } else {
            Arrow::TextStart(LineStyle::Solid)
        });
    }
    if all('=') && n >= 2 {
        return Some(if head.is_some() || n >= 3 {
            Arrow::Complete(LineStyle::Thick)
        } else {
            Arrow::TextStart(LineStyle::Thick)
        });
    }
    // Dotted: `-.-`, `-..-`, `-.->`, or the text start `-.`.
    if body.starts_with("-.") {
        let inner = &body[1..];
        if inner.chars().all(|c| c == '.') {
            return (head.is_none()).then_some(Arrow::TextStart(LineStyle::Dotted));
        }
        let dots = inner.trim_end_matches('-');
        if dots.chars().all(|c| c == '.') && inner.ends_with('-') {
            return Some(Arrow::Complete(LineStyle::Dotted));
        }
    }
    None
}

/// Splits `a: 1, b: "x, y"` at commas outside quotes.
fn split_fields(body: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                fields.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    fields.push(&body[start..]);
    fields
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The graph the DOT export is tested on, exported to Mermaid here.
    fn shop() -> Graph {
        crate::convert::dot::tests::shop()
    }

    fn kinds(g: &Graph) -> Vec<(&str, &str)> {
        g.nodes
            .iter()
            .map(|n| (n.id.as_str(), n.kind_name()))
            .collect()
    }

    fn edges(g: &Graph) -> Vec<(&str, &str, &str)> {
        g.edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str(), e.port.as_str()))
            .collect()
    }

    /// Mermaid shapes follow the kind, ids are made safe and unique, labels are quoted when
    /// they need it, and every node's kind is its class.
    #[test]
    fn export_shapes_ids_labels_and_classes() {
        let mmd = to_mermaid(&shop());
        let lines: Vec<&str> = mmd.lines().map(str::trim).collect();
        assert_eq!(lines[0], "flowchart LR");
        for expected in [
            "web[web]",
            "order_svc[order-svc]",
            "end_node((end))",
            "q[(q)]",
            "orders{{orders}}",
            "cb{\"pay #quot;breaker#quot;\"}",
            "web -.-> order_svc",
            "order_svc --> q",
            "order_svc -->|error| end_node",
            "order_svc -.->|call| cb",
            "cb -.-> pay",
            "class order_svc,pay service",
            "class cb breaker",
        ] {
            assert!(lines.contains(&expected), "missing {expected}:\n{mmd}");
        }
    }

    /// A five-node design-doc diagram: kinds from label keywords and shapes, edges with the
    /// ports their labels name, every node placed.
    #[test]
    fn five_node_design_diagram() {
        let g = from_mermaid(
            "flowchart LR\n\
             %% checkout\n\
             U[Browser] --> GW[API Gateway]\n\
             GW --> S(Order Service)\n\
             S -->|error| DLQ[(Dead letters)]\n\
             S --> DB((Orders))\n",
        )
        .unwrap();
        assert_eq!(
            kinds(&g),
            [
                ("U", "client"),
                ("GW", "gateway"),
                ("S", "service"),
                ("DLQ", "queue"),
                ("DB", "sink"),
            ]
        );
        assert_eq!(
            edges(&g),
            [
                ("U", "GW", "out"),
                ("GW", "S", "out"),
                ("S", "DLQ", "error"),
                ("S", "DB", "out"),
            ]
        );
        assert_eq!(g.name, "checkout");
        assert_eq!(g.nodes[1].label.as_deref(), Some("API Gateway"));
        assert!(g.nodes.iter().all(|n| n.pos.is_some()));
        assert!(
            flowbench_engine::validate(&g).iter().all(|d| !d.is_error()),
            "{:?}",
            flowbench_engine::validate(&g)
        );
    }

    /// Every shape of the brief maps to its kind when the label says nothing.
    #[test]
    fn shapes_give_kinds() {
        let g = from_mermaid(
            "graph TD\n a[A] --> b(B)\n b --> c([C])\n c --> d[(D)]\n d --> e((E))\n \
             a --> f{F}\n a --> g{{G}}\n a --> h>H]\n a --> i[/I/]\n",
        )
        .unwrap();
        let expected = [
            ("a", "service"),
            ("b", "service"),
            ("c", "service"),
            ("d", "queue"),
            ("e", "sink"),
            ("f", "router"),
            ("g", "topic"),
            ("h", "service"),
            ("i", "service"),
        ];
        assert_eq!(kinds(&g), expected);
    }

    /// Label keywords win over shapes, the head noun decides between generic words, and
    /// specific patterns win wherever they are.
    #[test]
    fn keywords_give_kinds() {
        for (label, kind) in [
            ("Payment circuit breaker", "breaker"),
            ("Edge gateway", "gateway"),
            ("Event store DB", "event_log"),
            ("Order event log", "event_log"),
            ("Order projection", "projector"),
            ("Read model", "projector"),
            ("Checkout saga", "saga"),
            ("Orchestrator", "saga"),
            ("Region router", "router"),
            ("Orders topic", "topic"),
            ("Pub/Sub", "topic"),
            ("Event bus", "topic"),
            ("Work queue", "queue"),
            ("Mobile client", "client"),
            ("Users", "client"),
            ("Browser", "client"),
            ("Clickstream producer", "producer"),
            ("Data source", "producer"),
            ("Metrics sink", "sink"),
            ("Postgres database", "sink"),
            ("OrdersDB", "sink"),
            ("User service", "service"),
            ("Queue worker", "service"),
            ("Something else", "service"),
        ] {
            let g = from_mermaid(&format!("flowchart LR\n n{{{{\"{label}\"}}}}\n")).unwrap();
            // The hexagon alone would say topic: keywords come first.
            let expected = if label == "Something else" {
                "topic"
            } else {
                kind
            };
            assert_eq!(g.nodes[0].kind_name(), expected, "{label}");
        }
    }

    /// Every arrow form, chains, `&` groups, subgraphs, comments and styling lines.
    #[test]
    fn arrows_chains_groups_and_ignored_lines() {
        let g = from_mermaid(
            "---\ntitle: Arrows\n---\n\
             flowchart TB\n\
             %% a comment\n\
             classDef hot fill:#f00\n\
             subgraph one [First part]\n\
               direction LR\n\
               a --> b --> c\n\
             end\n\
             a --- d; a -.-> e\n\
             a ==> f\n\
             a -- text --> g\n\
             a -->|label| h\n\
             a -. dotted text .-> i\n\
             a == thick text ==> j\n\
             a ~~~ k\n\
             a & b --> l & m\n\
             style a fill:#fff\n\
             click a callback\n\
             linkStyle 0 stroke:#f00\n\
             n:::hot --> o\n",
        )
        .unwrap();
        assert_eq!(g.name, "Arrows");
        let got: Vec<(&str, &str)> = g
            .edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str()))
            .collect();
        let expected = [
            ("a", "b"),
            ("b", "c"),
            ("a", "d"),
            ("a", "e"),
            ("a", "f"),
            ("a", "g"),
            ("a", "h"),
            ("a", "i"),
            ("a", "j"),
            ("a", "l"),
            ("a", "m"),
            ("b", "l"),
            ("b", "m"),
            ("n", "o"),
        ];
        assert_eq!(got, expected);
        // `~~~` places k but does not connect it.
        assert!(g.node("k").is_some());
        // The dotted line from a service to a callable service is a call.
        assert_eq!(g.edges[3].port, "call");
    }

    /// Edge labels become ports only where the source kind has such a port.
    #[test]
    fn labels_become_ports_where_the_kind_has_them() {
        let g = from_mermaid(
            "flowchart LR\n\
             c[Client] --> cb{Circuit breaker}\n\
             cb --> pay[Payments service]\n\
             cb -->|fallback| cache[Cache service]\n\
             pay -->|on failure| dlq[(DLQ)]\n\
             pay -->|calls| fraud[Fraud service]\n\
             pay -->|ok| done((Done))\n\
             r{Router} -->|eu| eu[(EU queue)]\n\
             r -->|us| us[(US queue)]\n\
             q[(Orders)] -->|whatever| pay\n",
        )
        .unwrap();
        let ports: Vec<(&str, &str, &str)> = edges(&g);
        for expected in [
            ("cb", "cache", "fallback"),
            ("pay", "dlq", "error"),
            ("pay", "fraud", "call"),
            ("pay", "done", "out"),
            ("r", "eu", "eu"),
            ("r", "us", "us"),
            ("q", "pay", "out"),
        ] {
            assert!(ports.contains(&expected), "{expected:?} in {ports:?}");
        }
        // The router got a rule per labelled exit, so its ports exist.
        let NodeConfig::Router(router) = &g.node("r").unwrap().config else {
            panic!("router expected");
        };
        assert!(router.has_port("eu") && router.has_port("us"));
        let problems: Vec<String> = flowbench_engine::validate(&g)
            .iter()
            .filter(|d| d.is_error())
            .map(ToString::to_string)
            .collect();
        assert!(problems.is_empty(), "{problems:?}");
    }

    /// Ids are made safe, labels kept; a Mermaid id that clashes after sanitising gets a
    /// suffix.
    #[test]
    fn ids_are_sanitised_and_labels_kept() {
        let g = from_mermaid("flowchart LR\n Café[Le café] --> Caf_[Other]\n").unwrap();
        assert_eq!(g.nodes[0].id, "Caf_");
        assert_eq!(g.nodes[0].label.as_deref(), Some("Le café"));
        assert_eq!(g.nodes[1].id, "Caf_-2");
        assert!(g.nodes.iter().all(|n| is_graph_id(&n.id)));
    }

    /// Unreadable lines are reported with their line number.
    #[test]
    fn errors_name_the_line() {
        for (text, line, mention) in [
            (
                "sequenceDiagram\n A->>B: hi\n",
                1,
                "not a Mermaid flowchart",
            ),
            ("flowchart LR\n a --> b\n a --> \n", 3, "points at nothing"),
            (
                "flowchart LR\n a --> b\n\n a[unclosed --> b\n",
                4,
                "never closed",
            ),
            ("flowchart LR\n a <=> b\n", 2, "arrow"),
            ("flowchart LR\n a -->|text b\n", 2, "'|text|'"),
            ("flowchart XY\n a --> b\n", 1, "direction"),
            ("%% only a comment\n", 1, "no flowchart"),
            ("flowchart LR\n", 1, "no nodes"),
            ("flowchart LR\n a --> end\n", 2, "keyword"),
        ] {
            let err = from_mermaid(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {err}");
            assert!(err.message.contains(mention), "{text:?}: {err}");
        }
    }

    /// No input makes the importer panic: every one-character deletion and insertion of
    /// special characters in a chart either parses or fails with a line.
    #[test]
    fn mangled_charts_never_panic() {
        let chart = "flowchart LR\n a[\"A\"] -- t --> b([B]) -.-> c[(C)]\n c ==>|x| d{{D}} & e>E]\n \
                     e ~~~ f@{ shape: cyl, label: \"F\" }\n";
        let chars: Vec<char> = chart.chars().collect();
        for i in 0..chars.len() {
            let mut removed = chars.clone();
            removed.remove(i);
            let text: String = removed.iter().collect();
            let _ = from_mermaid(&text);
            for c in [
                '[', ']', '(', ')', '{', '}', '"', '|', '-', '.', '>', '&', ';', '@', 'é',
            ] {
                let mut inserted = chars.clone();
                inserted.insert(i, c);
                let text: String = inserted.iter().collect();
                if let Err(e) = from_mermaid(&text) {
                    assert!(e.line >= 1 && e.line <= text.lines().count().max(1), "{e}");
                }
            }
        }
    }

    /// Export then import keeps every node's kind and every edge (with its port) for every
    /// sample graph, and the imported graph has no errors the original did not have.
    #[test]
    fn round_trip_keeps_kinds_and_edges() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-graphs");
        let mut graphs = vec![shop()];
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                graphs.push(Graph::from_json_slice(&std::fs::read(&path).unwrap()).unwrap());
            }
        }
        assert!(graphs.len() > 5);
        for original in graphs {
            let back = from_mermaid(&to_mermaid(&original)).unwrap();
            assert_eq!(back.name, original.name);
            assert_eq!(kinds(&back), kinds(&original), "{}", original.name);
            assert_eq!(edges(&back), edges(&original), "{}", original.name);
            assert!(back.nodes.iter().all(|n| n.pos.is_some()));
        }
    }
}
