//! Where things are in world coordinates: node boxes, port handles, edge curves and the hit
//! tests on them. The canvas and the SVG export both draw from a [`Scene`], so they agree.
//!
//! A node's `pos` is the centre of its box.

use std::collections::HashMap;

use egui::{Pos2, Rect, Vec2, pos2, vec2};
use flowbench_engine::{Diagnostic, Graph, NodeKind, Place, Severity};

use super::summary;
use crate::ui::document::output_ports;

/// Size of a node box with at most three output ports.
pub const NODE_SIZE: Vec2 = vec2(160.0, 56.0);
/// Radius of an output port handle.
pub const PORT_RADIUS: f32 = 4.5;
/// Least vertical distance between two port handles; nodes with many ports grow taller.
const PORT_SPACING: f32 = 14.0;
/// Length of an edge's arrowhead; the curve ends where the arrowhead starts.
pub const ARROW_LENGTH: f32 = 9.0;
/// Half the width of an edge's arrowhead.
pub const ARROW_HALF_WIDTH: f32 = 4.5;
/// Segments an edge is cut into for hit testing.
pub const EDGE_HIT_SEGMENTS: usize = 24;

/// One node as drawn.
#[derive(Debug, Clone)]
pub struct NodeShape {
    pub id: String,
    /// The box in world coordinates.
    pub rect: Rect,
    /// `None` for a node whose kind is unknown.
    pub kind: Option<NodeKind>,
    /// The label, or the id when there is none.
    pub title: String,
    /// One line about its key config ("cap 1000 · block").
    pub summary: String,
    /// The process that runs it when one graph runs as several processes.
    pub process: Option<String>,
    /// Output ports, top to bottom.
    pub ports: Vec<String>,
    /// Whether an edge leaves each port.
    pub wired: Vec<bool>,
    /// The worst diagnostic on the node and every message about it, one per line.
    pub problem: Option<(Severity, String)>,
}

impl NodeShape {
    /// Where output port `i` sits, on the right edge.
    pub fn port_pos(&self, i: usize) -> Pos2 {
        port_pos(self.rect, i, self.ports.len())
    }

    /// Whether the port list is worth naming on the canvas (more than one port, or an odd name).
    pub fn names_ports(&self) -> bool {
        self.ports.len() > 1 || self.ports.iter().any(|p| p != "out")
    }
}

/// One edge as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeShape {
    /// Index into `graph.edges`.
    pub index: usize,
    /// Indices into the scene's nodes.
    pub from: usize,
    pub to: usize,
    /// Index into the source's ports.
    pub port: usize,
    /// A synchronous call (drawn dashed).
    pub call: bool,
    /// The port name, when it is not `out`.
    pub label: Option<String>,
    /// The worst diagnostic on the edge and every message about it, one per line.
    pub problem: Option<(Severity, String)>,
}

/// Everything the canvas draws, in world coordinates, rebuilt when the document changes.
#[derive(Debug, Clone, Default)]
pub struct Scene {
    pub nodes: Vec<NodeShape>,
    pub edges: Vec<EdgeShape>,
    by_id: HashMap<String, usize>,
    /// The box around every node (the minimap asks every frame).
    bounds: Option<Rect>,
}

impl Scene {
    /// Lays out `graph`: nodes at their `pos` (or placed automatically when they have none),
    /// with `diagnostics` attached to the nodes they name.
    pub fn build(graph: &Graph, diagnostics: &[Diagnostic]) -> Scene {
        let centres = centres(graph);
        let mut nodes: Vec<NodeShape> = graph
            .nodes
            .iter()
            .zip(&centres)
            .map(|(node, &centre)| {
                let ports = output_ports(graph, node);
                let size = node_size(ports.len());
                NodeShape {
                    id: node.id.clone(),
                    rect: Rect::from_center_size(pos2(centre[0] as f32, centre[1] as f32), size),
                    kind: node.kind(),
                    title: node.display_name().to_owned(),
                    summary: summary::summary(&node.config),
                    process: node.process.clone().filter(|p| !p.is_empty()),
                    wired: vec![false; ports.len()],
                    ports,
                    problem: None,
                }
            })
            .collect();
        let mut by_id = HashMap::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            // With duplicate ids the first one wins, as in `Graph::node`.
            by_id.entry(node.id.clone()).or_insert(i);
        }

        let mut edges = Vec::with_capacity(graph.edges.len());
        for (index, edge) in graph.edges.iter().enumerate() {
            let (Some(&from), Some(&to)) = (by_id.get(&edge.from), by_id.get(&edge.to)) else {
                continue;
            };
            let source = &mut nodes[from];
            let port = match source.ports.iter().position(|p| *p == edge.port) {
                Some(port) => port,
                None => {
                    // A port the kind does not have: still drawn, so the problem is visible.
                    source.ports.push(edge.port.clone());
                    source.wired.push(false);
                    let centre = source.rect.center();
                    source.rect = Rect::from_center_size(centre, node_size(source.ports.len()));
                    source.ports.len() - 1
                }
            };
            source.wired[port] = true;
            edges.push(EdgeShape {
                index,
                from,
                to,
                port,
                call: source.kind.is_some_and(|k| k.is_call_port(&edge.port)),
                label: (edge.port != "out").then(|| edge.port.clone()),
                problem: None,
            });
        }
        let mut edge_of_index = vec![None; graph.edges.len()];
        for (i, e) in edges.iter().enumerate() {
            edge_of_index[e.index] = Some(i);
        }

        for d in diagnostics {
            let problem = match &d.place {
                Place::Node { id, .. } | Place::Fault { node: id, .. } => match by_id.get(id) {
                    Some(&i) => &mut nodes[i].problem,
                    None => continue,
                },
                Place::Edge { index, .. } => match edge_of_index.get(*index).copied().flatten() {
                    Some(i) => &mut edges[i].problem,
                    None => continue,
                },
                Place::Graph { .. } => continue,
            };
            match problem {
                None => *problem = Some((d.severity, d.message.clone())),
                Some((severity, text)) => {
                    *severity = (*severity).min(d.severity);
                    text.push('\n');
                    text.push_str(&d.message);
                }
            }
        }
        let bounds = nodes.iter().map(|n| n.rect).reduce(|a, b| a.union(b));
        Scene {
            nodes,
            edges,
            by_id,
            bounds,
        }
    }

    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    pub fn node(&self, id: &str) -> Option<&NodeShape> {
        self.node_index(id).map(|i| &self.nodes[i])
    }

    /// The box around every node, `None` for an empty graph.
    pub fn bounds(&self) -> Option<Rect> {
        self.bounds
    }

    /// The topmost node under `p` (nodes later in the list are drawn on top).
    pub fn node_at(&self, p: Pos2) -> Option<usize> {
        self.nodes.iter().rposition(|n| n.rect.contains(p))
    }

    /// The output port whose handle is within `radius` of `p`, nearest first.
    pub fn port_at(&self, p: Pos2, radius: f32) -> Option<(usize, usize)> {
        let mut best: Option<((usize, usize), f32)> = None;
        for (i, node) in self.nodes.iter().enumerate() {
            if !node.rect.expand(radius).contains(p) {
                continue;
            }
            for port in 0..node.ports.len() {
                let d = node.port_pos(port).distance(p);
                if d <= radius && best.is_none_or(|(_, b)| d < b) {
                    best = Some(((i, port), d));
                }
            }
        }
        best.map(|(hit, _)| hit)
    }

    /// The control points of edge `e`'s curve.
    pub fn edge_curve(&self, e: &EdgeShape) -> [Pos2; 4] {
        let from = &self.nodes[e.from];
        edge_curve(from.port_pos(e.port), self.nodes[e.to].rect.left_center())
    }

    /// The edge whose curve passes within `radius` of `p`, nearest first (an index into
    /// `self.edges`).
    pub fn edge_at(&self, p: Pos2, radius: f32) -> Option<usize> {
        let mut points = Vec::with_capacity(EDGE_HIT_SEGMENTS + 1);
        let mut best: Option<(usize, f32)> = None;
        for (i, e) in self.edges.iter().enumerate() {
            let curve = self.edge_curve(e);
            if !curve_bounds(&curve)
                .expand(radius + ARROW_LENGTH)
                .contains(p)
            {
                continue;
            }
            points.clear();
            flatten(&curve, EDGE_HIT_SEGMENTS, &mut points);
            // The arrowhead belongs to the edge too.
            points.push(self.nodes[e.to].rect.left_center());
            let d = distance_to_polyline(p, &points);
            if d <= radius && best.is_none_or(|(_, b)| d < b) {
                best = Some((i, d));
            }
        }
        best.map(|(i, _)| i)
    }
}

/// The centre of every node, in `graph.nodes` order: its `pos`, or where the auto layout
/// would put it (shown only; the file gets it when the node is moved).
fn centres(graph: &Graph) -> Vec<[f64; 2]> {
    if graph.nodes.iter().all(|n| n.pos.is_some()) {
        return graph
            .nodes
            .iter()
            .map(|n| n.pos.unwrap_or_default())
            .collect();
    }
    let mut placed = Graph {
        nodes: graph.nodes.clone(),
        edges: graph.edges.clone(),
        ..Graph::default()
    };
    crate::convert::layout::fill_missing_positions(&mut placed);
    placed
        .nodes
        .iter()
        .map(|n| n.pos.unwrap_or_default())
        .collect()
}

/// The size of a node box with `ports` output ports.
pub fn node_size(ports: usize) -> Vec2 {
    vec2(
        NODE_SIZE.x,
        NODE_SIZE.y.max(PORT_SPACING * (ports + 1) as f32),
    )
}

/// Where output port `i` of `n` sits on the right edge of `rect`.
pub fn port_pos(rect: Rect, i: usize, n: usize) -> Pos2 {
    let y = rect.top() + rect.height() * (i + 1) as f32 / (n + 1) as f32;
    pos2(rect.right(), y)
}

/// A cubic bezier from an output port at `from` to a node's input at `to`, leaving and
/// arriving horizontally. It stops short of `to` by the arrowhead's length; an edge going
/// backwards swings out wide so that it stays readable.
pub fn edge_curve(from: Pos2, to: Pos2) -> [Pos2; 4] {
    let end = to - vec2(ARROW_LENGTH, 0.0);
    let dx = end.x - from.x;
    let dy = (end.y - from.y).abs();
    let reach = if dx >= 0.0 {
        (dx * 0.5).max(24.0)
    } else {
        (-dx * 0.3 + dy * 0.25).clamp(60.0, 240.0)
    };
    [from, from + vec2(reach, 0.0), end - vec2(reach, 0.0), end]
}

/// The point at `t` in 0..=1 on a cubic bezier.
pub fn bezier_point(c: &[Pos2; 4], t: f32) -> Pos2 {
    let u = 1.0 - t;
    let (a, b, cc, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
    pos2(
        a * c[0].x + b * c[1].x + cc * c[2].x + d * c[3].x,
        a * c[0].y + b * c[1].y + cc * c[2].y + d * c[3].y,
    )
}

/// Appends `segments + 1` points along the curve to `out`.
pub fn flatten(c: &[Pos2; 4], segments: usize, out: &mut Vec<Pos2>) {
    let segments = segments.max(1);
    out.extend((0..=segments).map(|i| bezier_point(c, i as f32 / segments as f32)));
}

/// A box around the curve (its control points' hull contains it).
pub fn curve_bounds(c: &[Pos2; 4]) -> Rect {
    Rect::from_points(c)
}

/// Shortest distance from `p` to the polyline through `points`.
pub fn distance_to_polyline(p: Pos2, points: &[Pos2]) -> f32 {
    match points {
        [] => f32::INFINITY,
        [only] => only.distance(p),
        _ => points
            .windows(2)
            .map(|w| distance_to_segment(p, w[0], w[1]))
            .fold(f32::INFINITY, f32::min),
    }
}

fn distance_to_segment(p: Pos2, a: Pos2, b: Pos2) -> f32 {
    let ab = b - a;
    let len_sq = ab.length_sq();
    if len_sq <= f32::EPSILON {
        return a.distance(p);
    }
    let t = ((p - a).dot(ab) / len_sq).clamp(0.0, 1.0);
    (a + ab * t).distance(p)
}

/// The arrowhead at the end of an edge arriving at `to` (a node's left side): tip and the two
/// corners of its base.
pub fn arrowhead(to: Pos2) -> [Pos2; 3] {
    [
        to,
        pos2(to.x - ARROW_LENGTH, to.y - ARROW_HALF_WIDTH),
        pos2(to.x - ARROW_LENGTH, to.y + ARROW_HALF_WIDTH),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(json: &str) -> Scene {
        let graph = Graph::from_json_str(json).unwrap();
        Scene::build(&graph, &flowbench_engine::validate(&graph))
    }

    const CHAIN: &str = r#"{"format": "flowbench.graph", "version": 1,
      "nodes": [
        {"id": "p", "kind": "producer", "pos": [0, 0]},
        {"id": "s", "kind": "service", "pos": [300, 0]},
        {"id": "d", "kind": "sink", "pos": [600, 100]},
        {"id": "e", "kind": "sink", "pos": [600, -100]}
      ],
      "edges": [{"from": "p", "to": "s"}, {"from": "s", "to": "d"},
                {"from": "s", "to": "e", "port": "error"}]}"#;

    /// A channel on a broker names it in its summary; a node's process tag is kept for the
    /// tag drawn over its corner.
    #[test]
    fn broker_summary_and_process_tag() {
        let text = include_str!("../../../../sample-graphs/brokers/rabbitmq-work-queue.json");
        let s = scene(text);
        let queue = s.node("order-queue").unwrap();
        assert_eq!(queue.summary, "RabbitMQ flowbench.orders · prefetch 50");
        assert_eq!(queue.process, None);
        let worker = s.node("worker").unwrap();
        assert_eq!(worker.summary, "×4 · exp 40 ms");
        assert_eq!(worker.process.as_deref(), Some("workers"));
    }

    /// A node is found under any point of its box and nowhere else.
    #[test]
    fn hit_node() {
        let s = scene(CHAIN);
        assert_eq!(s.node_at(pos2(0.0, 0.0)), Some(0));
        assert_eq!(s.node_at(pos2(79.0, 27.0)), Some(0));
        assert_eq!(s.node_at(pos2(81.0, 0.0)), None);
        assert_eq!(s.node_at(pos2(300.0, 27.0)), Some(1));
        assert_eq!(node_size(3), NODE_SIZE, "three ports fit the usual box");
        assert!(
            node_size(5).y > NODE_SIZE.y,
            "more ports make the box taller"
        );
    }

    /// Ports sit on the right edge, spread over the height, and are hit near their handle.
    #[test]
    fn hit_port() {
        let s = scene(CHAIN);
        let service = &s.nodes[1];
        assert_eq!(service.ports, ["out", "error", "call"]);
        let error = service.port_pos(1);
        assert_eq!(error, pos2(380.0, 0.0));
        assert_eq!(s.port_at(error + vec2(3.0, 2.0), 6.0), Some((1, 1)));
        assert_eq!(s.port_at(service.port_pos(0), 6.0), Some((1, 0)));
        assert_eq!(s.port_at(error + vec2(10.0, 0.0), 6.0), None);
        assert!(s.nodes[2].ports.is_empty(), "a sink has no output port");
    }

    /// An edge is hit anywhere along its curve, including the middle of the bend, and not
    /// beside it.
    #[test]
    fn hit_bezier_edge() {
        let s = scene(CHAIN);
        let to_d = s.edges.iter().position(|e| e.to == 2).unwrap();
        let curve = s.edge_curve(&s.edges[to_d]);
        let middle = bezier_point(&curve, 0.5);
        assert_eq!(s.edge_at(middle, 4.0), Some(to_d));
        assert_eq!(s.edge_at(middle + vec2(0.0, 3.0), 4.0), Some(to_d));
        assert_eq!(s.edge_at(middle + vec2(0.0, 30.0), 4.0), None);
        // The straight edge p -> s: its middle is on the line y = 0.
        let p_s = s.edges.iter().position(|e| e.from == 0).unwrap();
        assert_eq!(s.edge_at(pos2(150.0, 1.0), 4.0), Some(p_s));
        // The arrowhead counts.
        assert_eq!(s.edge_at(pos2(218.0, 0.0), 4.0), Some(p_s));
    }

    /// Calls are told apart from messages, and ports other than `out` label their edge.
    #[test]
    fn edge_kinds_and_labels() {
        let s = scene(
            r#"{"format": "flowbench.graph", "version": 1,
              "nodes": [{"id": "c", "kind": "client"}, {"id": "svc", "kind": "service"},
                        {"id": "db", "kind": "service"}],
              "edges": [{"from": "c", "to": "svc"}, {"from": "svc", "to": "db", "port": "call"}]}"#,
        );
        assert!(s.edges.iter().all(|e| e.call));
        assert_eq!(s.edges[1].label.as_deref(), Some("call"));
        assert_eq!(s.edges[0].label, None);
    }

    /// Nodes without a position are laid out left to right along their edges.
    #[test]
    fn missing_positions_are_laid_out() {
        let s = scene(
            r#"{"format": "flowbench.graph", "version": 1,
              "nodes": [{"id": "d", "kind": "sink"}, {"id": "p", "kind": "producer"},
                        {"id": "q", "kind": "queue"}],
              "edges": [{"from": "p", "to": "q"}, {"from": "q", "to": "d"}]}"#,
        );
        let x = |id: &str| s.node(id).unwrap().rect.center().x;
        assert!(x("p") < x("q") && x("q") < x("d"));
        for (i, a) in s.nodes.iter().enumerate() {
            for b in &s.nodes[i + 1..] {
                assert!(!a.rect.intersects(b.rect), "{} overlaps {}", a.id, b.id);
            }
        }
    }

    /// Diagnostics attach to their node, the worst severity first.
    #[test]
    fn problems_attach_to_nodes() {
        let s = scene(
            r#"{"format": "flowbench.graph", "version": 1,
              "nodes": [{"id": "p", "kind": "producer", "pos": [0, 0]},
                        {"id": "q", "kind": "queue", "pos": [200, 0], "config": {"capacity": 0}}],
              "edges": [{"from": "p", "to": "q"}]}"#,
        );
        let (severity, text) = s.node("q").unwrap().problem.clone().unwrap();
        assert_eq!(severity, Severity::Error);
        assert!(text.contains("at least 1"), "{text}");
        assert!(s.node("p").unwrap().problem.is_none());
    }

    /// The distance to a polyline is the distance to its nearest segment.
    #[test]
    fn polyline_distance() {
        let line = [pos2(0.0, 0.0), pos2(10.0, 0.0), pos2(10.0, 10.0)];
        assert_eq!(distance_to_polyline(pos2(5.0, 3.0), &line), 3.0);
        assert_eq!(distance_to_polyline(pos2(13.0, 5.0), &line), 3.0);
        assert_eq!(distance_to_polyline(pos2(-4.0, -3.0), &line), 5.0);
    }

    /// No wire of a sample graph runs under a node's box (other than its own two ends): a
    /// reader can follow every one by eye.
    #[test]
    fn sample_edges_pass_under_no_box() {
        let samples = crate::test_support::sample_graphs();
        assert!(samples.len() >= 15, "found {} samples", samples.len());
        let mut hidden = Vec::new();
        let mut points = Vec::new();
        for (name, graph) in &samples {
            let s = Scene::build(graph, &[]);
            for e in &s.edges {
                points.clear();
                flatten(&s.edge_curve(e), 64, &mut points);
                for (i, node) in s.nodes.iter().enumerate() {
                    if i != e.from
                        && i != e.to
                        && points.iter().any(|&p| node.rect.shrink(4.0).contains(p))
                    {
                        hidden.push(format!(
                            "{name}: {} -> {} runs under {}",
                            s.nodes[e.from].id, s.nodes[e.to].id, node.id
                        ));
                    }
                }
            }
        }
        assert!(hidden.is_empty(), "{}", hidden.join("\n"));
    }
}
