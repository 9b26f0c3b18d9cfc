//! Graphviz DOT export: nodes labelled `id\nkind` and shaped by kind, calls dashed, ports as
//! edge labels. `dot -Tsvg` draws it.

use std::fmt::Write as _;

use flowbench_engine::{Graph, NodeKind};

use super::{is_call, port_label};

/// The graph as a DOT `digraph`, laid out left to right.
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

#[cfg(test)]
pub(crate) mod tests {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    use super::*;

    pub(crate) fn shop() -> Graph {
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
        let dot = to_dot(&shop());
        assert!(dot.starts_with("digraph \"shop\" {"), "{dot}");
        for expected in [
            "\"q\" [label=\"q\\nqueue\", shape=cylinder];",
            "\"web\" -> \"order-svc\" [style=dashed];",
            "\"order-svc\" -> \"q\";",
            "\"order-svc\" -> \"end\" [label=\"error\"];",
            "\"order-svc\" -> \"cb\" [style=dashed, label=\"call\"];",
        ] {
            assert!(dot.contains(expected), "missing {expected}:\n{dot}");
        }
        assert!(dot.trim_end().ends_with('}'));
    }

    fn sample_graphs() -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-graphs");
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
    }

    /// Graphviz itself accepts the DOT of every sample graph (skipped, with a note, where
    /// Graphviz is not installed).
    #[test]
    fn graphviz_parses_every_sample() {
        let available = Command::new("dot")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !available {
            println!("note: Graphviz `dot` is not installed; DOT parse check skipped");
            return;
        }
        let mut graphs: Vec<(String, Graph)> = sample_graphs()
            .into_iter()
            .map(|p| {
                let g = Graph::from_json_slice(&std::fs::read(&p).unwrap()).unwrap();
                (p.display().to_string(), g)
            })
            .collect();
        graphs.push(("shop".to_owned(), shop()));
        for (name, graph) in graphs {
            let mut child = Command::new("dot")
                .arg("-Tsvg")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            {
                use std::io::Write as _;
                let mut stdin = child.stdin.take().unwrap();
                stdin.write_all(to_dot(&graph).as_bytes()).unwrap();
            }
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "{name}: dot refused the export: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}
