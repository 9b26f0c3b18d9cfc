//! `flowbench export FILE --format dot|mermaid|json`: the graph as Graphviz DOT, as a
//! Mermaid `flowchart LR`, or as normalised JSON (every config field written out).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use flowbench_engine::{Edge, Graph, Node, NodeKind};

use super::{Failure, load, print_stderr, print_stdout};

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The graph file.
    file: PathBuf,
    /// What to print.
    #[arg(long, value_enum)]
    format: ExportFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
    /// A Mermaid `flowchart LR`, as used in design docs.
    Mermaid,
    /// The graph file, normalised.
    Json,
}

/// Loads and checks the file (an invalid graph is not exported) and prints it.
pub fn export(args: &ExportArgs) -> Result<(), Failure> {
    let checked = load::check(&args.file)?;
    print_stderr(&checked.warnings);
    let text = match args.format {
        ExportFormat::Dot => to_dot(&checked.graph),
        ExportFormat::Mermaid => to_mermaid(&checked.graph),
        ExportFormat::Json => checked.graph.to_json_pretty(),
    };
    print_stdout(&text)
}

/// Whether an edge is a synchronous call (drawn dashed).
fn is_call(graph: &Graph, edge: &Edge) -> bool {
    graph
        .node(&edge.from)
        .and_then(Node::kind)
        .is_some_and(|kind| kind.is_call_port(&edge.port))
}

/// The port shown on an edge; the default port `out` is left unlabelled.
fn port_label(edge: &Edge) -> Option<&str> {
    (edge.port != "out").then_some(edge.port.as_str())
}

/// Graphviz DOT: nodes labelled `id\nkind`, shaped by kind; calls dashed; ports as labels.
pub fn to_dot(graph: &Graph) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", dot_quote(&graph.name));
    out.push_str("  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n");
    out.push_str("  edge [fontname=\"Helvetica\"];\n");
    for node in &graph.nodes {
        let shape = match node.kind() {
            Some(NodeKind::Queue | NodeKind::EventLog) => "cylinder",
            Some(NodeKind::Topic) => "hexagon",
            Some(NodeKind::Sink) => "circle",
            Some(NodeKind::Breaker | NodeKind::Router) => "diamond",
            _ => "box",
        };
        let label = format!("{}\n{}", node.id, node.kind_name());
        let _ = writeln!(
            out,
            "  {} [label={}, shape={shape}];",
            dot_quote(&node.id),
            dot_quote(&label)
        );
    }
    for edge in &graph.edges {
        let mut attrs = Vec::new();
        if is_call(graph, edge) {
            attrs.push("style=dashed".to_owned());
        }
        if let Some(port) = port_label(edge) {
            attrs.push(format!("label={}", dot_quote(port)));
        }
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attrs.join(", "))
        };
        let _ = writeln!(
            out,
            "  {} -> {}{attrs};",
            dot_quote(&edge.from),
            dot_quote(&edge.to)
        );
    }
    out.push_str("}\n");
    out
}

/// A DOT string literal; a newline becomes DOT's centred line break.
fn dot_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => {}
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// A Mermaid `flowchart LR`: shapes by kind (queue and event log `[( )]`, topic `{{ }}`,
/// sink `(( ))`, breaker and router `{ }`, others `[ ]`); calls dashed; ports as labels.
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
                let mut base: String = node
                    .id
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

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> Graph {
        Graph::from_json_str(
            r#"{"format": "flowbench.graph", "version": 1, "name": "shop",
                "nodes": [
                  {"id": "web", "kind": "client", "config": {"limit": 10}},
                  {"id": "order-svc", "kind": "service"},
                  {"id": "end", "kind": "sink"},
                  {"id": "q", "kind": "queue"},
                  {"id": "orders", "kind": "topic"},
                  {"id": "cb", "kind": "breaker", "label": "pay \"breaker\""},
                  {"id": "pay", "kind": "service"}
                ],
                "edges": [
                  {"from": "web", "to": "order-svc"},
                  {"from": "order-svc", "to": "q"},
                  {"from": "order-svc", "to": "end", "port": "error"},
                  {"from": "order-svc", "to": "cb", "port": "call"},
                  {"from": "cb", "to": "pay"}
                ]}"#,
        )
        .unwrap()
    }

    /// DOT labels nodes `id\nkind`, dashes calls and labels non-default ports.
    #[test]
    fn dot_shows_kinds_calls_and_ports() {
        let dot = to_dot(&graph());
        assert!(dot.starts_with("digraph \"shop\" {"), "{dot}");
        assert!(
            dot.contains("\"q\" [label=\"q\\nqueue\", shape=cylinder];"),
            "{dot}"
        );
        assert!(
            dot.contains("\"web\" -> \"order-svc\" [style=dashed];"),
            "{dot}"
        );
        assert!(dot.contains("\"order-svc\" -> \"q\";"), "{dot}");
        assert!(
            dot.contains("\"order-svc\" -> \"end\" [label=\"error\"];"),
            "{dot}"
        );
        assert!(
            dot.contains("\"order-svc\" -> \"cb\" [style=dashed, label=\"call\"];"),
            "{dot}"
        );
        assert!(dot.trim_end().ends_with('}'));
    }

    /// Mermaid shapes follow the kind, ids are made safe and unique, labels are quoted when
    /// they need it.
    #[test]
    fn mermaid_shapes_ids_and_labels() {
        let mmd = to_mermaid(&graph());
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
        ] {
            assert!(lines.contains(&expected), "missing {expected}:\n{mmd}");
        }
    }
}
