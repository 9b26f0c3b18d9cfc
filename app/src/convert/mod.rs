//! Graphs to and from other formats, shared by the designer and the command line:
//! Graphviz DOT ([`dot`]), Mermaid flowcharts both ways ([`mermaid`]), and the layered
//! auto layout ([`layout`]) that gives imported and position-less graphs their positions.

pub mod dot;
pub mod layout;
pub mod mermaid;

use flowbench_engine::{Edge, Graph, Node};

/// Whether an edge is a synchronous call (drawn dashed in every export).
pub fn is_call(graph: &Graph, edge: &Edge) -> bool {
    graph
        .node(&edge.from)
        .and_then(Node::kind)
        .is_some_and(|kind| kind.is_call_port(&edge.port))
}

/// The port shown on an edge; the default port `out` is left unlabelled.
pub fn port_label(edge: &Edge) -> Option<&str> {
    (edge.port != "out").then_some(edge.port.as_str())
}
