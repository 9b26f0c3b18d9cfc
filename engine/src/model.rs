//! The graph document of graph-format.md §1: typed node configs with their defaults in one
//! place, a loader that reports malformed JSON by line and column, and the diagnostic type
//! that `validate` fills.
//!
//! A node whose kind or config does not parse is kept as [`NodeConfig::Invalid`] with its raw
//! JSON, so that an editor can show the problem and the user's text is never thrown away.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const GRAPH_FORMAT: &str = "flowbench.graph";
pub const GRAPH_VERSION: u32 = 1;

/// A whole graph file.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    pub format: String,
    pub version: u32,
    pub name: String,
    pub description: String,
    /// Seed of every node's random stream; same graph + seed = same report.
    pub seed: u64,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub faults: Vec<Fault>,
    /// Free-form editor state; the engine never reads it.
    pub ui: Option<Value>,
}

impl Default for Graph {
    fn default() -> Self {
        Graph {
            format: GRAPH_FORMAT.to_owned(),
            version: GRAPH_VERSION,
            name: String::new(),
            description: String::new(),
            seed: 0,
            nodes: Vec::new(),
            edges: Vec::new(),
            faults: Vec::new(),
            ui: None,
        }
    }
}

impl Graph {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    /// Edges leaving `id`, with their index in `edges`.
    pub fn edges_from<'a>(&'a self, id: &'a str) -> impl Iterator<Item = (usize, &'a Edge)> + 'a {
        self.edges
            .iter()
            .enumerate()
            .filter(move |(_, e)| e.from == id)
    }

    /// Edges arriving at `id`, with their index in `edges`.
    pub fn edges_to<'a>(&'a self, id: &'a str) -> impl Iterator<Item = (usize, &'a Edge)> + 'a {
        self.edges
            .iter()
            .enumerate()
            .filter(move |(_, e)| e.to == id)
    }

    /// Parses a graph file. Fails only on malformed JSON or a wrong top-level shape (with
    /// line and column); a node with an unknown kind or a bad config is kept as
    /// [`NodeConfig::Invalid`] and reported by `validate`.
    pub fn from_json_str(text: &str) -> Result<Graph, ParseError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.trim().is_empty() {
            return Err(ParseError::Syntax {
                line: 1,
                column: 1,
                message: "the file is empty".to_owned(),
            });
        }
        let Obj(raw): Obj<RawGraph> = serde_json::from_str(text).map_err(ParseError::from_serde)?;
        Ok(raw.into_graph())
    }

    /// Parses a graph file from bytes, rejecting invalid UTF-8 with its byte offset.
    pub fn from_json_slice(bytes: &[u8]) -> Result<Graph, ParseError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Graph::from_json_str(text),
            Err(e) => {
                let (line, column) = line_col(bytes, e.valid_up_to());
                Err(ParseError::Syntax {
                    line,
                    column,
                    message: "the file is not UTF-8 text".to_owned(),
                })
            }
        }
    }

    /// The normalised JSON text of the graph (every config field written out).
    pub fn to_json_pretty(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("graph serialises");
        text.push('\n');
        text
    }
}

fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

/// Why a graph file could not be read at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("{line}:{column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
}

impl ParseError {
    fn from_serde(e: serde_json::Error) -> ParseError {
        let message = e.to_string();
        // serde_json appends " at line L column C"; we print the place in front instead.
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_owned(),
            None => message,
        };
        let message = if e.is_eof() {
            format!("the file ends too early: {message}")
        } else {
            message
        };
        ParseError::Syntax {
            line: e.line().max(1),
            column: e.column().max(1),
            message,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGraph {
    format: String,
    version: u32,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    nodes: Vec<Obj<RawNode>>,
    #[serde(default)]
    edges: Vec<Obj<Edge>>,
    #[serde(default)]
    faults: Vec<Obj<Fault>>,
    #[serde(default, deserialize_with = "unique_keys")]
    ui: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    id: String,
    kind: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    pos: Option<[f64; 2]>,
    #[serde(default)]
    process: Option<String>,
    #[serde(default, deserialize_with = "unique_keys")]
    config: Option<Value>,
}

/// A part of the file that must be a JSON object: a derived struct would also take an array
/// of its fields in order, and an internally tagged enum a variant from an array led by its
/// tag (`["exp", 10]` as an exponential distribution), which no graph file means and which
/// gives baffling messages or a graph the user did not write. Objects inside a config are
/// read through [`object`], [`optional_object`] and [`objects`].
struct Obj<T>(T);

/// What a part of the file is, for "expected ..." in messages.
trait Object {
    const WHAT: &'static str;
}

impl Object for RawGraph {
    const WHAT: &'static str = "a graph: an object with \"format\" and \"version\"";
}

impl Object for RawNode {
    const WHAT: &'static str = "a node: an object with \"id\" and \"kind\"";
}

impl Object for Edge {
    const WHAT: &'static str = "an edge: an object with \"from\" and \"to\"";
}

impl Object for Fault {
    const WHAT: &'static str = "a fault: an object with \"node\", \"kind\" and \"at_ms\"";
}

impl Object for Dist {
    const WHAT: &'static str = "a distribution such as {\"dist\": \"exp\", \"mean_ms\": 10}";
}

impl Object for Autoscale {
    const WHAT: &'static str =
        "an autoscale object such as {\"min\": 1, \"max\": 8, \"target_depth\": 10}";
}

impl Object for Trip {
    // As `Trip`'s `expecting`, which an object fitting neither form gets.
    const WHAT: &'static str = "a trip rule: {\"consecutive_failures\": N} or \
                                {\"failure_rate\": R, \"window\": N, \"min_calls\": N}";
}

impl Object for RouteRule {
    const WHAT: &'static str =
        "a router rule: an object with \"field\", \"op\", \"value\" and \"port\"";
}

impl Object for SagaStep {
    const WHAT: &'static str = "a saga step: an object with \"name\" and \"action\"";
}

impl Object for Backend {
    const WHAT: &'static str =
        "a backend: an object with \"kind\" such as {\"kind\": \"nats\", \"subject\": \"orders\"}";
}

impl<'de, T: Object + Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Obj<T>, D::Error> {
        struct ObjectVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Object + Deserialize<'de>> serde::de::Visitor<'de> for ObjectVisitor<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(T::WHAT)
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }

        d.deserialize_map(ObjectVisitor(std::marker::PhantomData))
            .map(Obj)
    }
}

/// Reads a config field that must be an object (`deserialize_with`).
fn object<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Object + Deserialize<'de>,
{
    Obj::deserialize(d).map(|Obj(t)| t)
}

/// Reads a config field that is null or an object (`deserialize_with`).
fn optional_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Object + Deserialize<'de>,
{
    Option::<Obj<T>>::deserialize(d).map(|o| o.map(|Obj(t)| t))
}

/// Reads a config field that is a list of objects (`deserialize_with`).
fn objects<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Object + Deserialize<'de>,
{
    Vec::<Obj<T>>::deserialize(d).map(|v| v.into_iter().map(|Obj(t)| t).collect())
}

/// Reads a free-form JSON value (a config, the `ui` object) refusing an object that names a
/// key twice: JSON would silently keep the last, and the user could not tell which one
/// counts. serde_json puts the line and column in front of the error.
fn unique_keys<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    // As for any `Option`, null means absent.
    UniqueKeys::deserialize(d).map(|UniqueKeys(v)| Some(v).filter(|v| !v.is_null()))
}

struct UniqueKeys(Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<UniqueKeys, D::Error> {
        d.deserialize_any(UniqueKeysVisitor).map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity: a non-finite number becomes null, as in serde_json.
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        UniqueKeys::deserialize(d).map(|v| v.0)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "the key \"{key}\" is given twice in one object"
                )));
            }
            let UniqueKeys(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

impl RawGraph {
    fn into_graph(self) -> Graph {
        Graph {
            format: self.format,
            version: self.version,
            name: self.name,
            description: self.description,
            seed: self.seed,
            nodes: self
                .nodes
                .into_iter()
                .map(|Obj(n)| Node {
                    config: NodeConfig::from_kind_and_value(&n.kind, n.config),
                    id: n.id,
                    label: n.label,
                    pos: n.pos,
                    process: n.process,
                })
                .collect(),
            edges: self.edges.into_iter().map(|Obj(e)| e).collect(),
            faults: self.faults.into_iter().map(|Obj(f)| f).collect(),
            ui: self.ui,
        }
    }
}

impl Serialize for Graph {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("format", &self.format)?;
        m.serialize_entry("version", &self.version)?;
        m.serialize_entry("name", &self.name)?;
        if !self.description.is_empty() {
            m.serialize_entry("description", &self.description)?;
        }
        m.serialize_entry("seed", &self.seed)?;
        m.serialize_entry("nodes", &self.nodes)?;
        m.serialize_entry("edges", &self.edges)?;
        m.serialize_entry("faults", &self.faults)?;
        if let Some(ui) = &self.ui {
            m.serialize_entry("ui", ui)?;
        }
        m.end()
    }
}

/// One node of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    /// What the canvas shows; the id when absent.
    pub label: Option<String>,
    /// Canvas position; absent means "lay me out".
    pub pos: Option<[f64; 2]>,
    /// Which process runs the node when one graph runs as several cooperating processes
    /// (`flowbench run --process NAME`); absent: every process that runs the whole graph.
    pub process: Option<String>,
    pub config: NodeConfig,
}

impl Node {
    pub fn new(id: impl Into<String>, config: NodeConfig) -> Node {
        Node {
            id: id.into(),
            label: None,
            pos: None,
            process: None,
            config,
        }
    }

    pub fn kind(&self) -> Option<NodeKind> {
        self.config.kind()
    }

    /// The kind as written in the file, also for a node whose kind is unknown.
    pub fn kind_name(&self) -> &str {
        match &self.config {
            NodeConfig::Invalid(bad) => &bad.kind,
            c => c.kind().map(NodeKind::as_str).unwrap_or("?"),
        }
    }

    pub fn display_name(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.id)
    }
}

impl Serialize for Node {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("kind", self.kind_name())?;
        if let Some(label) = &self.label {
            m.serialize_entry("label", label)?;
        }
        if let Some(pos) = &self.pos {
            m.serialize_entry("pos", pos)?;
        }
        if let Some(process) = &self.process {
            m.serialize_entry("process", process)?;
        }
        match &self.config {
            NodeConfig::Sink(_) => {}
            NodeConfig::Invalid(bad) => {
                if let Some(c) = &bad.config {
                    m.serialize_entry("config", c)?;
                }
            }
            other => m.serialize_entry("config", &other.to_value())?,
        }
        m.end()
    }
}

impl Graph {
    /// Ids of the channels that live on a broker.
    pub fn brokered(&self) -> std::collections::BTreeSet<&str> {
        self.nodes
            .iter()
            .filter(|n| n.config.backend().is_some())
            .map(|n| n.id.as_str())
            .collect()
    }
}

impl NodeConfig {
    /// The broker a channel lives on, if any.
    pub fn backend(&self) -> Option<&Backend> {
        match self {
            NodeConfig::Queue(c) => c.backend.as_ref(),
            NodeConfig::Topic(c) => c.backend.as_ref(),
            NodeConfig::EventLog(c) => c.backend.as_ref(),
            _ => None,
        }
    }
}

/// The node kinds of graph-format.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    Producer,
    Client,
    Queue,
    Topic,
    Service,
    Sink,
    Breaker,
    Gateway,
    Router,
    EventLog,
    Projector,
    Saga,
}

/// Which output ports a kind has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ports {
    /// Exactly these names.
    Fixed(&'static [&'static str]),
    /// Any name (gateway routes, saga steps, router rules are checked separately).
    Any,
}

impl Ports {
    pub fn allows(self, port: &str) -> bool {
        match self {
            Ports::Fixed(names) => names.contains(&port),
            Ports::Any => true,
        }
    }
}

impl NodeKind {
    pub const ALL: [NodeKind; 12] = [
        NodeKind::Producer,
        NodeKind::Client,
        NodeKind::Queue,
        NodeKind::Topic,
        NodeKind::Service,
        NodeKind::Sink,
        NodeKind::Breaker,
        NodeKind::Gateway,
        NodeKind::Router,
        NodeKind::EventLog,
        NodeKind::Projector,
        NodeKind::Saga,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Producer => "producer",
            NodeKind::Client => "client",
            NodeKind::Queue => "queue",
            NodeKind::Topic => "topic",
            NodeKind::Service => "service",
            NodeKind::Sink => "sink",
            NodeKind::Breaker => "breaker",
            NodeKind::Gateway => "gateway",
            NodeKind::Router => "router",
            NodeKind::EventLog => "event_log",
            NodeKind::Projector => "projector",
            NodeKind::Saga => "saga",
        }
    }

    pub fn parse(name: &str) -> Option<NodeKind> {
        NodeKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The output ports of the kind. Router ports are named by its rules (see
    /// [`RouterConfig::ports`]); `Any` here.
    pub fn output_ports(self) -> Ports {
        match self {
            NodeKind::Producer | NodeKind::Client | NodeKind::Queue | NodeKind::Topic => {
                Ports::Fixed(&["out"])
            }
            NodeKind::EventLog => Ports::Fixed(&["out"]),
            NodeKind::Service => Ports::Fixed(&["out", "error", "call"]),
            NodeKind::Breaker => Ports::Fixed(&["out", "fallback"]),
            NodeKind::Sink | NodeKind::Projector => Ports::Fixed(&[]),
            NodeKind::Gateway | NodeKind::Router | NodeKind::Saga => Ports::Any,
        }
    }

    /// Whether the kind answers synchronous calls (can be a call target).
    pub fn is_callable(self) -> bool {
        matches!(
            self,
            NodeKind::Service
                | NodeKind::Breaker
                | NodeKind::Gateway
                | NodeKind::Saga
                | NodeKind::Projector
        )
    }

    /// Whether edges leaving `port` of this kind are synchronous calls.
    pub fn is_call_port(self, port: &str) -> bool {
        match self {
            NodeKind::Client | NodeKind::Gateway | NodeKind::Saga => true,
            NodeKind::Breaker => port == "out",
            NodeKind::Service => port == "call",
            _ => false,
        }
    }

    /// Whether the kind takes asynchronous messages on its input. Breakers, gateways and
    /// sagas sit on call paths and answer calls only.
    pub fn accepts_messages(self) -> bool {
        !matches!(
            self,
            NodeKind::Producer
                | NodeKind::Client
                | NodeKind::Breaker
                | NodeKind::Gateway
                | NodeKind::Saga
        )
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A node's typed configuration; the variant is its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeConfig {
    Producer(ProducerConfig),
    Client(ClientConfig),
    Queue(QueueConfig),
    Topic(TopicConfig),
    Service(ServiceConfig),
    Sink(SinkConfig),
    Breaker(BreakerConfig),
    Gateway(GatewayConfig),
    Router(RouterConfig),
    EventLog(EventLogConfig),
    Projector(ProjectorConfig),
    Saga(SagaConfig),
    /// A node whose kind is unknown or whose config does not parse, kept verbatim.
    Invalid(InvalidNode),
}

/// The raw text of a node that could not be typed, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidNode {
    pub kind: String,
    pub config: Option<Value>,
    pub problem: InvalidProblem,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InvalidProblem {
    UnknownKind,
    /// The config does not match the kind; `field` is the offending field when known.
    BadConfig {
        field: Option<String>,
        message: String,
    },
}

impl NodeConfig {
    /// The default config of a kind.
    pub fn default_for(kind: NodeKind) -> NodeConfig {
        match kind {
            NodeKind::Producer => NodeConfig::Producer(Default::default()),
            NodeKind::Client => NodeConfig::Client(Default::default()),
            NodeKind::Queue => NodeConfig::Queue(Default::default()),
            NodeKind::Topic => NodeConfig::Topic(Default::default()),
            NodeKind::Service => NodeConfig::Service(Default::default()),
            NodeKind::Sink => NodeConfig::Sink(Default::default()),
            NodeKind::Breaker => NodeConfig::Breaker(Default::default()),
            NodeKind::Gateway => NodeConfig::Gateway(Default::default()),
            NodeKind::Router => NodeConfig::Router(Default::default()),
            NodeKind::EventLog => NodeConfig::EventLog(Default::default()),
            NodeKind::Projector => NodeConfig::Projector(Default::default()),
            NodeKind::Saga => NodeConfig::Saga(Default::default()),
        }
    }

    pub fn kind(&self) -> Option<NodeKind> {
        Some(match self {
            NodeConfig::Producer(_) => NodeKind::Producer,
            NodeConfig::Client(_) => NodeKind::Client,
            NodeConfig::Queue(_) => NodeKind::Queue,
            NodeConfig::Topic(_) => NodeKind::Topic,
            NodeConfig::Service(_) => NodeKind::Service,
            NodeConfig::Sink(_) => NodeKind::Sink,
            NodeConfig::Breaker(_) => NodeKind::Breaker,
            NodeConfig::Gateway(_) => NodeKind::Gateway,
            NodeConfig::Router(_) => NodeKind::Router,
            NodeConfig::EventLog(_) => NodeKind::EventLog,
            NodeConfig::Projector(_) => NodeKind::Projector,
            NodeConfig::Saga(_) => NodeKind::Saga,
            NodeConfig::Invalid(_) => return None,
        })
    }

    /// Types a config for `kind`; a missing config means every default.
    pub fn from_kind_and_value(kind: &str, config: Option<Value>) -> NodeConfig {
        let Some(k) = NodeKind::parse(kind) else {
            return NodeConfig::Invalid(InvalidNode {
                kind: kind.to_owned(),
                config,
                problem: InvalidProblem::UnknownKind,
            });
        };
        let value = match &config {
            None | Some(Value::Null) => Value::Object(Default::default()),
            Some(v) => v.clone(),
        };
        if !value.is_object() {
            // Typed from an array, a config would take its fields by position.
            let got = match value {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                _ => "true or false",
            };
            return NodeConfig::Invalid(InvalidNode {
                kind: kind.to_owned(),
                config,
                problem: InvalidProblem::BadConfig {
                    field: None,
                    message: format!("must be an object of settings (got {got})"),
                },
            });
        }
        /// The typed config, or serde's message and the field at fault where it can be told.
        fn typed<T: DeserializeOwned>(
            v: Value,
            wrap: fn(T) -> NodeConfig,
        ) -> Result<NodeConfig, (String, Option<String>)> {
            serde_path_to_error::deserialize::<_, T>(&v)
                .map(wrap)
                .map_err(|e| {
                    // Where the error is, down to the entry of a list ("rules[1].field").
                    let path = e.path().to_string();
                    let message = e.into_inner().to_string();
                    let named = config_error_field(&message);
                    let field = match (path.as_str(), named) {
                        (".", Some(name)) => Some(name),
                        (".", None) => bad_field::<T>(&v),
                        // An unknown field is in the path already, a missing one is not.
                        (path, Some(name))
                            if path == name || path.ends_with(&format!(".{name}")) =>
                        {
                            Some(path.to_owned())
                        }
                        (path, Some(name)) => Some(format!("{path}.{name}")),
                        (path, None) => Some(path.to_owned()),
                    };
                    (message, field)
                })
        }
        let result = match k {
            NodeKind::Producer => typed(value, NodeConfig::Producer),
            NodeKind::Client => typed(value, NodeConfig::Client),
            NodeKind::Queue => typed(value, NodeConfig::Queue),
            NodeKind::Topic => typed(value, NodeConfig::Topic),
            NodeKind::Service => typed(value, NodeConfig::Service),
            NodeKind::Sink => typed(value, NodeConfig::Sink),
            NodeKind::Breaker => typed(value, NodeConfig::Breaker),
            NodeKind::Gateway => typed(value, NodeConfig::Gateway),
            NodeKind::Router => typed(value, NodeConfig::Router),
            NodeKind::EventLog => typed(value, NodeConfig::EventLog),
            NodeKind::Projector => typed(value, NodeConfig::Projector),
            NodeKind::Saga => typed(value, NodeConfig::Saga),
        };
        result.unwrap_or_else(|(message, field)| {
            NodeConfig::Invalid(InvalidNode {
                kind: kind.to_owned(),
                config,
                problem: InvalidProblem::BadConfig { field, message },
            })
        })
    }

    /// The config as a JSON object with every field written out.
    pub fn to_value(&self) -> Value {
        let v = match self {
            NodeConfig::Producer(c) => serde_json::to_value(c),
            NodeConfig::Client(c) => serde_json::to_value(c),
            NodeConfig::Queue(c) => serde_json::to_value(c),
            NodeConfig::Topic(c) => serde_json::to_value(c),
            NodeConfig::Service(c) => serde_json::to_value(c),
            NodeConfig::Sink(c) => serde_json::to_value(c),
            NodeConfig::Breaker(c) => serde_json::to_value(c),
            NodeConfig::Gateway(c) => serde_json::to_value(c),
            NodeConfig::Router(c) => serde_json::to_value(c),
            NodeConfig::EventLog(c) => serde_json::to_value(c),
            NodeConfig::Projector(c) => serde_json::to_value(c),
            NodeConfig::Saga(c) => serde_json::to_value(c),
            NodeConfig::Invalid(bad) => return bad.config.clone().unwrap_or(Value::Null),
        };
        v.expect("configs serialise")
    }
}

/// Pulls the field name out of serde's "unknown field `x`" / "missing field `x`" messages.
fn config_error_field(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    let field = &message[start..start + len];
    (message.starts_with("unknown field") || message.starts_with("missing field"))
        .then(|| field.to_owned())
}

/// The first field of a config object that does not fit on its own (a wrong type or value,
/// which serde's message does not name). Each value is copied and typed once, so this takes
/// time in proportion to the config's size.
fn bad_field<T: DeserializeOwned>(config: &Value) -> Option<String> {
    let Value::Object(fields) = config else {
        return None;
    };
    fields.iter().find_map(|(key, value)| {
        let mut one = serde_json::Map::new();
        one.insert(key.clone(), value.clone());
        T::deserialize(&Value::Object(one))
            .is_err()
            .then(|| key.clone())
    })
}

/// How a producer or client spaces its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// Exponential gaps (a Poisson process).
    #[default]
    Poisson,
    /// Exactly `1 / rate` apart.
    Constant,
}

/// What a full buffer does with one more message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// The sender waits until there is room (its blocked time is counted).
    #[default]
    Block,
    /// The arriving message is dropped.
    DropNewest,
    /// The oldest waiting message is dropped to make room.
    DropOldest,
    /// Queues only: senders are slowed, not stopped. From `capacity` waiting messages on,
    /// the queue takes one message per `1 / throttle_rate_per_sec` seconds (its senders wait
    /// their turn) until it is back down to half its capacity.
    Throttle,
}

/// A duration distribution, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum Dist {
    Const { ms: f64 },
    Exp { mean_ms: f64 },
    Uniform { min_ms: f64, max_ms: f64 },
    Lognormal { median_ms: f64, p99_ms: f64 },
}

impl Dist {
    /// The distribution's mean in milliseconds.
    pub fn mean_ms(&self) -> f64 {
        match *self {
            Dist::Const { ms } => ms,
            Dist::Exp { mean_ms } => mean_ms,
            Dist::Uniform { min_ms, max_ms } => (min_ms + max_ms) / 2.0,
            Dist::Lognormal { median_ms, p99_ms } => {
                let sigma = lognormal_sigma(median_ms, p99_ms);
                median_ms * (sigma * sigma / 2.0).exp()
            }
        }
    }
}

/// The z-score of the 99th percentile of the standard normal distribution.
pub const Z_P99: f64 = 2.326_347_874_040_841;

/// Sigma of the lognormal whose median and 99th percentile are given.
pub fn lognormal_sigma(median_ms: f64, p99_ms: f64) -> f64 {
    (p99_ms / median_ms).ln() / Z_P99
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProducerConfig {
    pub rate_per_sec: f64,
    pub arrival: Arrival,
    /// Messages to send in all; `None` = endless.
    pub limit: Option<u64>,
    /// Number of distinct message keys (keys are drawn uniformly); `None` = unkeyed.
    pub keys: Option<u64>,
    /// JSON template of the message payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            rate_per_sec: 10.0,
            arrival: Arrival::Poisson,
            limit: None,
            keys: None,
            payload: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientConfig {
    pub rate_per_sec: f64,
    pub arrival: Arrival,
    pub limit: Option<u64>,
    /// A request not answered within this is counted a timeout.
    pub timeout_ms: f64,
    /// Number of distinct request keys; `None` = unkeyed.
    pub keys: Option<u64>,
    /// JSON template of the request payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            rate_per_sec: 10.0,
            arrival: Arrival::Poisson,
            limit: None,
            timeout_ms: 1000.0,
            keys: None,
            payload: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    /// Waiting messages it holds; `None` = unbounded.
    pub capacity: Option<u64>,
    pub when_full: WhenFull,
    /// With `when_full: throttle`: messages per second the queue takes while it throttles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle_rate_per_sec: Option<f64>,
    /// A durable queue keeps its waiting messages across a crash.
    pub durable: bool,
    /// Where the queue lives: `None` in the embedded engine, else on a broker.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_object"
    )]
    pub backend: Option<Backend>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: Some(1000),
            when_full: WhenFull::Block,
            throttle_rate_per_sec: None,
            durable: false,
            backend: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TopicConfig {
    /// Keyed messages go to partition `key % partitions`; order is kept per partition.
    pub partitions: u32,
    /// Waiting messages per subscriber; `None` = unbounded.
    pub subscriber_capacity: Option<u64>,
    pub when_full: WhenFull,
    /// Where the topic lives: `None` in the embedded engine, else on a broker.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_object"
    )]
    pub backend: Option<Backend>,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            partitions: 1,
            subscriber_capacity: Some(1000),
            when_full: WhenFull::Block,
            backend: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Workers handling messages in parallel.
    pub concurrency: u32,
    #[serde(deserialize_with = "object")]
    pub service_time: Dist,
    /// Share of attempts that fail.
    pub failure_rate: f64,
    /// Attempts after the first before a message counts as failed.
    pub max_retries: u32,
    /// Wait before each retry (the worker stays busy).
    pub retry_backoff_ms: f64,
    #[serde(deserialize_with = "optional_object")]
    pub autoscale: Option<Autoscale>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            concurrency: 1,
            service_time: Dist::Exp { mean_ms: 10.0 },
            failure_rate: 0.0,
            max_retries: 0,
            retry_backoff_ms: 100.0,
            autoscale: None,
        }
    }
}

/// Worker scaling that follows the depth of the feeding queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Autoscale {
    pub min: u32,
    pub max: u32,
    /// Waiting messages per worker the scaler aims for.
    pub target_depth: f64,
    /// Least time between two scaling steps.
    pub cooldown_ms: f64,
}

impl Default for Autoscale {
    fn default() -> Self {
        Autoscale {
            min: 1,
            max: 8,
            target_depth: 10.0,
            cooldown_ms: 5000.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    #[serde(deserialize_with = "object")]
    pub trip: Trip,
    /// Time spent open before probing.
    pub open_ms: f64,
    /// Probe calls let through when half-open; all must succeed to close.
    pub half_open_max_calls: u32,
    /// A call not answered within this counts as a failure.
    pub call_timeout_ms: Option<f64>,
    pub fallback: Fallback,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            trip: Trip::ConsecutiveFailures {
                consecutive_failures: 5,
            },
            open_ms: 5000.0,
            half_open_max_calls: 1,
            call_timeout_ms: None,
            fallback: Fallback::FailFast,
        }
    }
}

/// When a closed breaker opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "a trip rule: {\"consecutive_failures\": N} or {\"failure_rate\": R, \"window\": N, \"min_calls\": N}"
)]
pub enum Trip {
    ConsecutiveFailures {
        consecutive_failures: u32,
    },
    FailureRate {
        failure_rate: f64,
        window: u32,
        min_calls: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// Rejected calls fail at once.
    #[default]
    FailFast,
    /// Rejected calls are answered with the last good reply.
    Cached,
    /// Rejected calls go out the `fallback` port.
    Port,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GatewayMode {
    #[default]
    Route,
    Aggregate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    pub mode: GatewayMode,
    /// Payload field whose value names the route; `None` = round robin.
    pub route_by: Option<String>,
    pub timeout_ms: f64,
    /// Aggregate: on timeout, reply with the answers so far instead of failing.
    pub partial: bool,
    pub rate_limit_per_sec: Option<f64>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            mode: GatewayMode::Route,
            route_by: None,
            timeout_ms: 1000.0,
            partial: false,
            rate_limit_per_sec: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleOp {
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "in")]
    In,
    #[serde(rename = "exists")]
    Exists,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    pub field: String,
    pub op: RuleOp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    pub port: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouterConfig {
    #[serde(deserialize_with = "objects")]
    pub rules: Vec<RouteRule>,
    /// Where unmatched messages go; `None` = filter (they are counted `filtered`).
    pub default_port: Option<String>,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            rules: Vec::new(),
            default_port: Some("out".to_owned()),
        }
    }
}

impl RouterConfig {
    /// Whether the router has an output port of this name.
    pub fn has_port(&self, port: &str) -> bool {
        self.default_port.as_deref() == Some(port) || self.rules.iter().any(|r| r.port == port)
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventLogConfig {
    /// Events kept; `None` = keep all.
    pub retention: Option<u64>,
    /// Where the log lives: `None` in the embedded engine, else on a broker.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_object"
    )]
    pub backend: Option<Backend>,
}

/// A channel that lives on a real broker instead of inside the engine (live runs only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
pub enum Backend {
    /// A RabbitMQ queue (for `queue` nodes).
    #[serde(rename = "rabbitmq")]
    RabbitMq(RabbitMqBackend),
    /// A NATS subject (for `topic` nodes).
    #[serde(rename = "nats")]
    Nats(NatsBackend),
    /// A NATS JetStream stream (for `event_log` nodes).
    #[serde(rename = "jetstream")]
    JetStream(JetStreamBackend),
}

impl Backend {
    /// The kind as written in the file.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Backend::RabbitMq(_) => "rabbitmq",
            Backend::Nats(_) => "nats",
            Backend::JetStream(_) => "jetstream",
        }
    }

    /// The broker's address.
    pub fn url(&self) -> &str {
        match self {
            Backend::RabbitMq(b) => &b.url,
            Backend::Nats(b) => &b.url,
            Backend::JetStream(b) => &b.url,
        }
    }

    /// What the broker calls the channel: the queue, subject or stream name.
    pub fn channel_name(&self) -> &str {
        match self {
            Backend::RabbitMq(b) => &b.queue,
            Backend::Nats(b) => &b.subject,
            Backend::JetStream(b) => &b.stream,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RabbitMqBackend {
    /// AMQP URL, `amqp://user:password@host:port/vhost` (`%2f` is the default vhost).
    pub url: String,
    /// The queue's name on the broker (declared if missing).
    pub queue: String,
    /// Declared durable and published persistent: survives a broker restart.
    pub durable: bool,
    /// Unacknowledged messages a consuming process holds at most.
    pub prefetch: u16,
}

impl Default for RabbitMqBackend {
    fn default() -> Self {
        RabbitMqBackend {
            url: "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned(),
            queue: String::new(),
            durable: true,
            prefetch: 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsBackend {
    /// `nats://host:port`.
    pub url: String,
    /// The subject messages are published on and subscribed to.
    pub subject: String,
}

impl Default for NatsBackend {
    fn default() -> Self {
        NatsBackend {
            url: "nats://127.0.0.1:4222".to_owned(),
            subject: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JetStreamBackend {
    /// `nats://host:port` of a server with JetStream enabled.
    pub url: String,
    /// The stream's name (created if missing, capturing `subject`).
    pub stream: String,
    /// The subject events are published on; may end in a wildcard (`orders.>`), then events
    /// are published on the subject with the wildcard replaced by the log's node id.
    pub subject: String,
}

impl Default for JetStreamBackend {
    fn default() -> Self {
        JetStreamBackend {
            url: "nats://127.0.0.1:4222".to_owned(),
            stream: String::new(),
            subject: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectorConfig {
    #[serde(deserialize_with = "object")]
    pub service_time: Dist,
}

impl Default for ProjectorConfig {
    fn default() -> Self {
        ProjectorConfig {
            service_time: Dist::Const { ms: 1.0 },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SagaStep {
    pub name: String,
    /// Node id called to do the step.
    pub action: String,
    /// Node id called to undo the step; `None` = nothing to undo.
    #[serde(default)]
    pub compensation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SagaConfig {
    #[serde(deserialize_with = "objects")]
    pub steps: Vec<SagaStep>,
}

/// An edge: messages (or calls) leaving `from` through `port` reach `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    pub from: String,
    pub to: String,
    #[serde(default = "default_port", skip_serializing_if = "is_default_port")]
    pub port: String,
}

impl Edge {
    pub fn new(from: impl Into<String>, to: impl Into<String>) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            port: default_port(),
        }
    }

    pub fn with_port(mut self, port: impl Into<String>) -> Edge {
        self.port = port.into();
        self
    }
}

fn default_port() -> String {
    "out".to_owned()
}

fn is_default_port(p: &String) -> bool {
    p == "out"
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The node fails `rate` of its work.
    Fail,
    /// Service time × `factor`.
    Slow,
    /// The node is down; a non-durable queue loses its waiting messages.
    Crash,
    /// A consumer stops taking messages, which back up.
    Stop,
    /// An event log re-delivers from offset 0 to one consumer (or to all). Happens at
    /// `at_ms`; `until_ms` does not apply.
    Replay,
}

/// A scheduled fault (graph-format.md "Faults").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub node: String,
    pub kind: FaultKind,
    pub at_ms: f64,
    /// `None` = until the end of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<f64>,
    /// `fail`: share of work that fails (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// `slow`: service time multiplier (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// `replay`: the consumer (a node the log has an edge to) to rewind; `None` = all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<String>,
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The graph cannot run.
    Error,
    /// The graph runs, but probably not as meant.
    Warning,
}

/// Where a diagnostic points.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum Place {
    Graph {
        field: Option<String>,
    },
    Node {
        id: String,
        field: Option<String>,
    },
    Edge {
        index: usize,
        from: String,
        to: String,
        field: Option<String>,
    },
    Fault {
        index: usize,
        node: String,
        field: Option<String>,
    },
}

/// One problem found in a graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub place: Place,
    pub message: String,
}

impl Diagnostic {
    pub fn error(place: Place, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            place,
            message: message.into(),
        }
    }

    pub fn warning(place: Place, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            place,
            message: message.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = match self {
            Place::Graph { field } => {
                return match field {
                    Some(field) => write!(f, "graph: {field}"),
                    None => f.write_str("graph"),
                };
            }
            Place::Node { id, field } => {
                write!(f, "node '{id}'")?;
                field
            }
            Place::Edge {
                index,
                from,
                to,
                field,
            } => {
                write!(f, "edge {index} ({from} -> {to})")?;
                field
            }
            Place::Fault { index, node, field } => {
                write!(f, "fault {index} (on '{node}')")?;
                field
            }
        };
        match field {
            Some(field) => write!(f, ": {field}"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Diagnostic {
    /// `node 'q': capacity: must be at least 1`, with `warning: ` in front of warnings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        write!(f, "{}: {}", self.place, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MM1: &str = r#"{
      "format": "flowbench.graph", "version": 1, "name": "M/M/1 queue", "seed": 42,
      "nodes": [
        {"id": "orders", "kind": "producer", "pos": [80, 120],
         "config": {"rate_per_sec": 0.9, "arrival": "poisson"}},
        {"id": "q", "kind": "queue", "config": {"capacity": null, "when_full": "block"}},
        {"id": "worker", "kind": "service",
         "config": {"concurrency": 1, "service_time": {"dist": "exp", "mean_ms": 1000}}},
        {"id": "done", "kind": "sink"}
      ],
      "edges": [{"from": "orders", "to": "q"}, {"from": "q", "to": "worker"},
                {"from": "worker", "to": "done"}],
      "faults": []
    }"#;

    /// The contract's example parses into typed configs, null capacity meaning unbounded.
    #[test]
    fn parses_the_contract_example() {
        let g = Graph::from_json_str(MM1).unwrap();
        assert_eq!(g.nodes.len(), 4);
        let NodeConfig::Queue(q) = &g.nodes[1].config else {
            panic!("queue expected")
        };
        assert_eq!(q.capacity, None);
        let NodeConfig::Service(s) = &g.nodes[2].config else {
            panic!("service expected")
        };
        assert_eq!(s.service_time, Dist::Exp { mean_ms: 1000.0 });
        assert_eq!(s.max_retries, 0);
    }

    /// Saving and loading gives the same document, defaults written out.
    #[test]
    fn round_trips() {
        let g = Graph::from_json_str(MM1).unwrap();
        let again = Graph::from_json_str(&g.to_json_pretty()).unwrap();
        assert_eq!(g, again);
    }

    /// A typo in a config field keeps the node and names the field.
    #[test]
    fn unknown_config_field_is_kept_and_named() {
        let text = MM1.replace("\"when_full\"", "\"when_ful\"");
        let g = Graph::from_json_str(&text).unwrap();
        let NodeConfig::Invalid(bad) = &g.nodes[1].config else {
            panic!("invalid expected")
        };
        assert_eq!(
            bad.problem,
            InvalidProblem::BadConfig {
                field: Some("when_ful".into()),
                message: bad_message(&bad.problem)
            }
        );
        // Nothing the user wrote is lost on save.
        assert!(g.to_json_pretty().contains("when_ful"));
    }

    fn bad_message(p: &InvalidProblem) -> String {
        match p {
            InvalidProblem::BadConfig { message, .. } => message.clone(),
            InvalidProblem::UnknownKind => String::new(),
        }
    }

    /// Malformed JSON is reported with its line and column.
    #[test]
    fn syntax_errors_have_line_and_column() {
        let err =
            Graph::from_json_str("{\n  \"format\": \"flowbench.graph\",\n  \"version\": 1,,\n}")
                .unwrap_err();
        let ParseError::Syntax { line, column, .. } = err;
        assert_eq!((line, column), (3, 16));
        let err = Graph::from_json_str("").unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }

    /// Unknown top-level fields are refused, but `ui` is free.
    #[test]
    fn top_level_fields_are_checked_except_ui() {
        assert!(Graph::from_json_str(&MM1.replacen("\"seed\"", "\"sead\"", 1)).is_err());
        let with_ui = MM1.replacen("\"seed\"", "\"ui\": {\"zoom\": 2, \"x\": [1]}, \"seed\"", 1);
        assert!(Graph::from_json_str(&with_ui).unwrap().ui.is_some());
    }

    /// A key given twice in a config, a payload or `ui` is refused at its place: JSON
    /// would silently keep the last one. Top-level and node fields refuse it too.
    #[test]
    fn duplicate_keys_are_refused_with_their_place() {
        let cases = [
            (
                r#""config": {"rate_per_sec": 1, "rate_per_sec": -1}"#,
                "\"rate_per_sec\"",
            ),
            (
                r#""config": {"payload": {"a": [1, {"b": 1, "b": 2}]}}"#,
                "\"b\"",
            ),
            (
                r#""config": {"limit": 3}, "config": {"limit": 4}"#,
                "`config`",
            ),
        ];
        for (fields, named) in cases {
            let text = format!(
                "{{\"format\": \"flowbench.graph\", \"version\": 1,\n\"nodes\": [\n\
                 {{\"id\": \"p\", \"kind\": \"producer\", {fields}}}]}}"
            );
            let err = Graph::from_json_str(&text).unwrap_err();
            let ParseError::Syntax { line, message, .. } = &err;
            assert_eq!(*line, 3, "{err}");
            assert!(message.contains(named), "{err}");
        }
        let ui = r#"{"format": "flowbench.graph", "version": 1, "ui": {"z": 1, "z": 1}}"#;
        assert!(Graph::from_json_str(ui).is_err());
        // null still means "absent".
        let null = r#"{"format": "flowbench.graph", "version": 1, "ui": null,
                       "nodes": [{"id": "s", "kind": "sink", "config": null}]}"#;
        let g = Graph::from_json_str(null).unwrap();
        assert_eq!(g.ui, None);
        assert_eq!(g.nodes[0].config, NodeConfig::Sink(SinkConfig {}));
    }

    /// A config value of the wrong type or out of range names its field, as a typo does.
    #[test]
    fn wrong_config_value_names_the_field() {
        for (config, field) in [
            (r#"{"rate_per_sec": 1, "limit": "ten"}"#, "limit"),
            (r#"{"limit": 18446744073709551616}"#, "limit"),
            (r#"{"arrival": 5, "keys": 2}"#, "arrival"),
        ] {
            let NodeConfig::Invalid(bad) =
                NodeConfig::from_kind_and_value("producer", serde_json::from_str(config).ok())
            else {
                panic!("{config}: invalid expected")
            };
            let InvalidProblem::BadConfig { field: got, .. } = &bad.problem else {
                panic!("{config}: bad config expected")
            };
            assert_eq!(got.as_deref(), Some(field), "{config}");
        }
    }

    /// A value of the wrong shape where a graph, node, edge or fault belongs is named in
    /// the user's words, not by an internal type name.
    #[test]
    fn wrong_shapes_are_named_plainly() {
        for (text, expected) in [
            ("[]", "expected a graph: an object"),
            (
                r#"{"format": "flowbench.graph", "version": 1, "nodes": [3]}"#,
                "expected a node",
            ),
            (
                r#"{"format": "flowbench.graph", "version": 1, "edges": [3]}"#,
                "expected an edge",
            ),
            (
                r#"{"format": "flowbench.graph", "version": 1, "faults": [3]}"#,
                "expected a fault",
            ),
        ] {
            let err = Graph::from_json_str(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains("Raw"), "{text}: {err}");
        }
    }

    /// A graph with an object in every place the format has one: each kind's config, a
    /// distribution of each kind that takes one, autoscale, both trip forms, a router rule,
    /// a saga step, each backend, a node, an edge, a fault and the graph itself.
    const EVERY_OBJECT: &str = r#"{
      "format": "flowbench.graph", "version": 1, "name": "every object",
      "nodes": [
        {"id": "p", "kind": "producer",
         "config": {"rate_per_sec": 5, "payload": {"a": {"$int": [1, 9]}}}},
        {"id": "c", "kind": "client", "config": {"rate_per_sec": 5, "timeout_ms": 100}},
        {"id": "q", "kind": "queue",
         "config": {"capacity": 10, "backend": {"kind": "rabbitmq", "queue": "orders"}}},
        {"id": "t", "kind": "topic",
         "config": {"partitions": 2, "backend": {"kind": "nats", "subject": "orders"}}},
        {"id": "w", "kind": "service",
         "config": {"service_time": {"dist": "uniform", "min_ms": 1, "max_ms": 5},
                    "autoscale": {"min": 1, "max": 4, "target_depth": 5}}},
        {"id": "b", "kind": "breaker", "config": {"trip": {"consecutive_failures": 3}}},
        {"id": "b2", "kind": "breaker",
         "config": {"trip": {"failure_rate": 0.5, "window": 20, "min_calls": 10}}},
        {"id": "g", "kind": "gateway", "config": {"timeout_ms": 100, "partial": true}},
        {"id": "r", "kind": "router",
         "config": {"rules": [{"field": "a", "op": "in", "value": [{"x": 1}], "port": "big"}]}},
        {"id": "log", "kind": "event_log",
         "config": {"backend": {"kind": "jetstream", "stream": "s", "subject": "o"}}},
        {"id": "v", "kind": "projector",
         "config": {"service_time": {"dist": "const", "ms": 1}}},
        {"id": "s", "kind": "saga",
         "config": {"steps": [{"name": "pay", "action": "w", "compensation": "w"}]}},
        {"id": "done", "kind": "sink", "config": {}}
      ],
      "edges": [
        {"from": "p", "to": "q", "port": "out"}, {"from": "q", "to": "w"}, {"from": "w", "to": "t"},
        {"from": "t", "to": "r"}, {"from": "r", "to": "log", "port": "big"},
        {"from": "r", "to": "done"}, {"from": "log", "to": "v"}, {"from": "c", "to": "g"},
        {"from": "g", "to": "b"}, {"from": "g", "to": "b2"}, {"from": "b", "to": "s"},
        {"from": "b2", "to": "w"}, {"from": "s", "to": "w"}
      ],
      "faults": [{"node": "w", "kind": "slow", "at_ms": 0, "factor": 2}],
      "ui": {"zoom": 1}
    }"#;

    /// Where each object of `value` is, as keys and indices from the top; free-form JSON
    /// (payloads, a rule's value, `ui`) is left out, as any value is right there.
    fn object_paths(value: &Value, path: &mut Vec<Value>, found: &mut Vec<Vec<Value>>) {
        let children: Vec<(Value, &Value)> = match value {
            Value::Object(fields) => {
                found.push(path.clone());
                fields
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "payload" | "value" | "ui"))
                    .map(|(k, v)| (Value::from(k.as_str()), v))
                    .collect()
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.into(), v))
                .collect(),
            _ => return,
        };
        for (step, child) in children {
            path.push(step);
            object_paths(child, path, found);
            path.pop();
        }
    }

    fn at<'v>(value: &'v mut Value, path: &[Value]) -> &'v mut Value {
        path.iter().fold(value, |v, step| match step {
            Value::String(key) => &mut v[key.as_str()],
            step => &mut v[step.as_u64().unwrap() as usize],
        })
    }

    /// Every object of a graph file, given as an array of its values in order (which
    /// serde's derived code would read field by field), is refused: where the graph, a node,
    /// an edge or a fault belongs, with its line and column; inside a config, on the node
    /// and the config field it is in, as a config field of any other wrong type is.
    #[test]
    fn an_array_is_refused_wherever_an_object_belongs() {
        let original: Value = serde_json::from_str(EVERY_OBJECT).unwrap();
        let graph = Graph::from_json_str(EVERY_OBJECT).unwrap();
        assert!(
            crate::validate::validate(&graph)
                .iter()
                .all(|d| !d.is_error()),
            "{:?}",
            crate::validate::validate(&graph)
        );
        let mut paths = Vec::new();
        object_paths(&original, &mut Vec::new(), &mut paths);
        assert_eq!(paths.len(), 51, "{paths:?}");
        for path in paths {
            let mut text = original.clone();
            let place = at(&mut text, &path);
            let values: Vec<Value> = place.as_object().unwrap().values().cloned().collect();
            *place = Value::Array(values);
            let text = serde_json::to_string_pretty(&text).unwrap();
            let Ok(g) = Graph::from_json_str(&text) else {
                let err = Graph::from_json_str(&text).unwrap_err().to_string();
                assert!(
                    path.len() <= 2 && err.contains("invalid type: sequence, expected a"),
                    "{path:?}: {err}"
                );
                continue;
            };
            // Inside a node's config: ["nodes", i, "config", field, ...], named down to the
            // entry of a list ("rules[0]").
            let node = &graph.nodes[path[1].as_u64().unwrap() as usize].id;
            let mut field = String::new();
            for step in &path[3..] {
                match step {
                    Value::Number(i) => field.push_str(&format!("[{i}]")),
                    Value::String(key) if field.is_empty() => field.push_str(key),
                    Value::String(key) => field.push_str(&format!(".{key}")),
                    _ => unreachable!("paths hold keys and indices"),
                }
            }
            if field.is_empty() {
                field.push_str("config");
            }
            let errors: Vec<String> = crate::validate::validate(&g)
                .iter()
                .filter(|d| d.is_error())
                .map(ToString::to_string)
                .collect();
            let expected = format!("node '{node}': {field}: ");
            assert!(
                errors.len() == 1 && errors[0].starts_with(&expected),
                "{path:?}: expected `{expected}...`, got {errors:?}"
            );
            assert!(
                errors[0].contains("sequence") || errors[0].contains("got an array"),
                "{path:?}: {errors:?}"
            );
        }
    }

    /// The messages say what belongs where the array is.
    #[test]
    fn an_array_in_a_config_names_what_belongs_there() {
        for (node, expected) in [
            (
                r#"{"id": "w", "kind": "service", "config": {"service_time": ["exp", 10]}}"#,
                "node 'w': service_time: invalid type: sequence, expected a distribution such \
                 as {\"dist\": \"exp\", \"mean_ms\": 10}",
            ),
            (
                r#"{"id": "w", "kind": "service", "config": {"service_time": [1000]}}"#,
                "node 'w': service_time: invalid type: sequence, expected a distribution",
            ),
            (
                r#"{"id": "w", "kind": "service", "config": {"autoscale": [1, 4, 10, 1000]}}"#,
                "node 'w': autoscale: invalid type: sequence, expected an autoscale object",
            ),
            (
                r#"{"id": "b", "kind": "breaker", "config": {"trip": [3]}}"#,
                "node 'b': trip: invalid type: sequence, expected a trip rule: \
                 {\"consecutive_failures\": N} or {\"failure_rate\": R, \"window\": N, \
                 \"min_calls\": N}",
            ),
            (
                r#"{"id": "r", "kind": "router", "config": {"rules": [["a", "==", 1, "x"]]}}"#,
                "node 'r': rules[0]: invalid type: sequence, expected a router rule: an object",
            ),
            (
                r#"{"id": "s", "kind": "saga", "config": {"steps": [["pay", "w"]]}}"#,
                "node 's': steps[0]: invalid type: sequence, expected a saga step: an object",
            ),
            (
                r#"{"id": "r", "kind": "router", "config": {"rules": [
                    {"field": "a", "op": "==", "value": 1, "port": "x"},
                    {"field": 5, "op": "==", "value": 1, "port": "y"}]}}"#,
                "node 'r': rules[1].field: invalid type: integer `5`, expected a string",
            ),
            (
                r#"{"id": "s", "kind": "saga", "config": {"steps": [{"name": "pay"}]}}"#,
                "node 's': steps[0].action: missing field `action`",
            ),
            (
                r#"{"id": "t", "kind": "topic", "config": {"backend": ["nats", "nats://h:1", "o"]}}"#,
                "node 't': backend: invalid type: sequence, expected a backend: an object",
            ),
            (
                r#"{"id": "q", "kind": "queue", "config": [10, "drop_newest"]}"#,
                "node 'q': config: does not fit a queue: must be an object of settings (got an \
                 array)",
            ),
        ] {
            let g = Graph::from_json_str(&format!(
                r#"{{"format": "flowbench.graph", "version": 1, "nodes": [{node}]}}"#
            ))
            .unwrap();
            let errors: Vec<String> = crate::validate::validate(&g)
                .iter()
                .filter(|d| d.is_error())
                .map(ToString::to_string)
                .collect();
            assert!(
                errors.len() == 1 && errors[0].starts_with(expected),
                "{node}: {errors:?}"
            );
        }
        // Null still means "absent" where a field may be absent.
        let g = Graph::from_json_str(
            r#"{"format": "flowbench.graph", "version": 1, "nodes": [
                {"id": "w", "kind": "service", "config": {"autoscale": null}},
                {"id": "q", "kind": "queue", "config": {"backend": null}}]}"#,
        )
        .unwrap();
        assert_eq!(
            g.nodes[0].config,
            NodeConfig::default_for(NodeKind::Service)
        );
        assert_eq!(g.nodes[1].config, NodeConfig::default_for(NodeKind::Queue));
    }

    /// Both trip forms and every distribution parse.
    #[test]
    fn trip_forms_and_distributions() {
        let t: Trip = serde_json::from_str(r#"{"consecutive_failures": 3}"#).unwrap();
        assert_eq!(
            t,
            Trip::ConsecutiveFailures {
                consecutive_failures: 3
            }
        );
        let t: Trip =
            serde_json::from_str(r#"{"failure_rate": 0.5, "window": 20, "min_calls": 10}"#)
                .unwrap();
        assert!(matches!(t, Trip::FailureRate { window: 20, .. }));
        for d in [
            r#"{"dist":"const","ms":5}"#,
            r#"{"dist":"exp","mean_ms":10}"#,
            r#"{"dist":"uniform","min_ms":1,"max_ms":9}"#,
            r#"{"dist":"lognormal","median_ms":20,"p99_ms":200}"#,
        ] {
            serde_json::from_str::<Dist>(d).unwrap();
        }
        assert!(serde_json::from_str::<Dist>(r#"{"dist":"exp","mean":10}"#).is_err());
    }
}
