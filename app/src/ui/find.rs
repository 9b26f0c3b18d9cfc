//! Find node (Ctrl+F): type part of a node's id, label, kind, process or config (as the
//! canvas sums it up under the node: `throttle`, `durable`, `exp 10 ms`), pick a result,
//! and the canvas selects the node and centres on it. Made for big graphs, where a node is
//! hard to spot by eye.

use egui::{Key, Modifiers};
use flowbench_engine::{Graph, Node};

use crate::ui::document::DocStamp;
use crate::ui::{AppCommand, Document};

/// Results listed at most; the window says how many match in all.
pub const SHOWN: usize = 50;

/// The nodes a query finds: the best first, at most [`SHOWN`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matches {
    /// Node ids, best match first.
    pub ids: Vec<String>,
    /// The line shown for each: id, label when it differs, kind.
    pub lines: Vec<String>,
    /// How many nodes match in all.
    pub total: usize,
}

/// The Find window's state.
#[derive(Debug, Default)]
pub struct FindState {
    pub open: bool,
    pub query: String,
    /// The result Enter picks, by position in the list.
    pub highlighted: usize,
    /// The text field takes the keyboard on the next frame.
    focus: bool,
    /// The last search: its query, the document it ran on, and what it found.
    cache: Option<(String, DocStamp, Matches)>,
}

impl FindState {
    /// Opens the window (or brings the keyboard back to it), keeping the last query.
    pub fn show(&mut self) {
        self.open = true;
        self.focus = true;
    }

    /// The matches of the current query in `doc` (searched again only when the query or
    /// the document changed).
    fn matches(&mut self, doc: &Document) -> &Matches {
        let stamp = doc.stamp();
        let fresh = matches!(&self.cache, Some((q, s, _)) if *q == self.query && *s == stamp);
        if !fresh {
            self.cache = Some((self.query.clone(), stamp, search(&doc.graph, &self.query)));
        }
        &self.cache.as_ref().expect("just filled").2
    }
}

/// How well `node` matches `q` (lower case, not empty), best 0; `None` when it does not.
/// The id counts before the label, a whole or leading match before one inside, and the
/// kind and process come last.
fn rank(node: &Node, q: &str) -> Option<u8> {
    let id = node.id.to_lowercase();
    let label = node.label.as_deref().map(str::to_lowercase);
    let label = label.as_deref().unwrap_or("");
    if id == q {
        Some(0)
    } else if id.starts_with(q) {
        Some(1)
    } else if label.starts_with(q) {
        Some(2)
    } else if id.contains(q) {
        Some(3)
    } else if label.contains(q) {
        Some(4)
    } else if node.kind_name().starts_with(q) {
        Some(5)
    } else if node
        .process
        .as_deref()
        .is_some_and(|p| p.to_lowercase().contains(q))
    {
        Some(6)
    } else if config_summary(node).to_lowercase().contains(q) {
        Some(CONFIG_MATCH)
    } else {
        None
    }
}

/// The rank of a node found by its config only.
const CONFIG_MATCH: u8 = 7;

/// The node's config as the canvas sums it up under its title.
fn config_summary(node: &Node) -> String {
    crate::ui::canvas::summary::summary(&node.config)
}

/// The nodes of `graph` that match `query` (case-insensitive), best first and in graph
/// order among equals. An empty query lists the graph's nodes in order.
pub fn search(graph: &Graph, query: &str) -> Matches {
    let q = query.trim().to_lowercase();
    let mut found: Vec<(u8, usize)> = if q.is_empty() {
        (0..graph.nodes.len()).map(|i| (0, i)).collect()
    } else {
        graph
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, node)| rank(node, &q).map(|r| (r, i)))
            .collect()
    };
    let total = found.len();
    found.sort_unstable();
    found.truncate(SHOWN);
    Matches {
        ids: found
            .iter()
            .map(|&(_, i)| graph.nodes[i].id.clone())
            .collect(),
        lines: found
            .iter()
            .map(|&(r, i)| {
                let node = &graph.nodes[i];
                if r == CONFIG_MATCH {
                    // Found by its config: say what matched.
                    format!("{}  ·  {}", line(node), config_summary(node))
                } else {
                    line(node)
                }
            })
            .collect(),
        total,
    }
}

fn line(node: &Node) -> String {
    match node.label.as_deref() {
        Some(label) if label != node.id => {
            format!("{} ({label})  ·  {}", node.id, node.kind_name())
        }
        _ => format!("{}  ·  {}", node.id, node.kind_name()),
    }
}

/// What the summary line under the field says.
fn summary(total: usize, shown: usize) -> String {
    match total {
        0 => "No node matches".to_owned(),
        1 => "1 node".to_owned(),
        n if n > shown => format!("{n} nodes, the first {shown} listed"),
        n => format!("{n} nodes"),
    }
}

/// The Find window, when open. Up and Down move through the results, Enter or a click
/// picks one (the window then closes), Escape closes it.
pub fn window(
    ctx: &egui::Context,
    state: &mut FindState,
    doc: &Document,
    commands: &mut Vec<AppCommand>,
) {
    if !state.open {
        return;
    }
    let mut open = true;
    let mut chosen = None;
    let mut close = false;
    egui::Window::new("Find node")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_TOP, [0.0, 72.0])
        .default_width(380.0)
        .show(ctx, |ui| {
            // The arrows move the highlight; the field never sees them.
            let (down, up) = ui.input_mut(|i| {
                (
                    i.consume_key(Modifiers::NONE, Key::ArrowDown),
                    i.consume_key(Modifiers::NONE, Key::ArrowUp),
                )
            });
            let label = ui.label("Find");
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut state.query)
                        .hint_text("id, label, kind, process or config")
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(label.id);
            if state.focus {
                field.request_focus();
                state.focus = false;
            }
            if field.changed() {
                state.highlighted = 0;
            }
            let (enter, escape) =
                ui.input(|i| (i.key_pressed(Key::Enter), i.key_pressed(Key::Escape)));
            let highlighted = state.highlighted;
            let matches = state.matches(doc);
            let last = matches.ids.len().saturating_sub(1);
            let mut h = highlighted.min(last);
            if down {
                h = (h + 1).min(last);
            }
            if up {
                h = h.saturating_sub(1);
            }
            if field.lost_focus() && enter {
                chosen = matches.ids.get(h).cloned();
            } else if field.lost_focus() && escape {
                close = true;
            }
            ui.weak(summary(matches.total, matches.ids.len()));
            egui::ScrollArea::vertical()
                .max_height(320.0)
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    for (k, (id, text)) in matches.ids.iter().zip(&matches.lines).enumerate() {
                        let row = ui.selectable_label(k == h, text);
                        if k == h && (up || down) {
                            row.scroll_to_me(None);
                        }
                        if row.clicked() {
                            chosen = Some(id.clone());
                        }
                    }
                });
            state.highlighted = h;
            if up || down {
                // Keep typing where it was.
                field.request_focus();
            }
        });
    if let Some(id) = chosen {
        commands.push(AppCommand::FocusNode(id));
        close = true;
    }
    if close || !open {
        state.open = false;
    }
}

#[cfg(test)]
mod tests {
    use flowbench_engine::{NodeConfig, NodeKind};

    use super::*;

    fn node(id: &str, kind: NodeKind, label: Option<&str>, process: Option<&str>) -> Node {
        let mut n = Node::new(id, NodeConfig::default_for(kind));
        n.label = label.map(str::to_owned);
        n.process = process.map(str::to_owned);
        n
    }

    fn graph() -> Graph {
        Graph {
            nodes: vec![
                node("order-events", NodeKind::Topic, None, None),
                node("orders", NodeKind::Producer, Some("Web orders"), None),
                node(
                    "payments",
                    NodeKind::Service,
                    Some("Orders ledger"),
                    Some("back"),
                ),
                node("ORDERS-DLQ", NodeKind::Queue, None, None),
                node("audit", NodeKind::Sink, None, Some("back")),
            ],
            ..Graph::default()
        }
    }

    #[test]
    fn whole_and_leading_id_matches_come_first_then_labels_then_inside() {
        let m = search(&graph(), "Orders");
        assert_eq!(
            m.ids,
            ["orders", "ORDERS-DLQ", "payments"],
            "exact id, id prefix (any case), label prefix"
        );
        assert_eq!(m.total, 3);
        let m = search(&graph(), "der");
        assert_eq!(
            m.ids,
            ["order-events", "orders", "ORDERS-DLQ", "payments"],
            "inside ids in graph order, then inside labels"
        );
    }

    #[test]
    fn kind_and_process_find_nodes_whose_names_do_not_say_it() {
        assert_eq!(search(&graph(), "queue").ids, ["ORDERS-DLQ"]);
        assert_eq!(search(&graph(), "back").ids, ["payments", "audit"]);
        assert_eq!(search(&graph(), "nothing like it").total, 0);
    }

    /// Config as the canvas sums it up finds nodes last, and the line says what matched.
    #[test]
    fn config_finds_nodes_and_says_what_matched() {
        let mut g = graph();
        g.nodes[3].config = NodeConfig::Queue(flowbench_engine::model::QueueConfig {
            capacity: Some(50),
            when_full: flowbench_engine::model::WhenFull::Throttle,
            throttle_rate_per_sec: Some(80.0),
            ..Default::default()
        });
        let m = search(&g, "throttle");
        assert_eq!(m.ids, ["ORDERS-DLQ"]);
        assert_eq!(m.lines, ["ORDERS-DLQ  ·  queue  ·  cap 50 · throttle 80/s"]);
        // A name match ranks before a config match.
        g.nodes[4].id = "throttle-log".to_owned();
        assert_eq!(search(&g, "throttle").ids, ["throttle-log", "ORDERS-DLQ"]);
    }

    #[test]
    fn an_empty_query_lists_the_graph_in_order_and_long_lists_are_cut() {
        let m = search(&graph(), "  ");
        assert_eq!(m.total, 5);
        assert_eq!(m.ids[0], "order-events");
        let big = Graph {
            nodes: (0..10_000)
                .map(|i| node(&format!("svc-{i}"), NodeKind::Service, None, None))
                .collect(),
            ..Graph::default()
        };
        let m = search(&big, "svc-9");
        assert_eq!(
            m.total, 1_111,
            "svc-9, svc-90…99, svc-900…999, svc-9000…9999"
        );
        assert_eq!(m.ids.len(), SHOWN);
        assert_eq!(m.ids[0], "svc-9");
        assert_eq!(
            summary(m.total, m.ids.len()),
            "1111 nodes, the first 50 listed"
        );
    }

    #[test]
    fn another_document_at_the_same_revision_is_searched_again() {
        let one = |id: &str| {
            Document::new(
                Graph {
                    nodes: vec![node(id, NodeKind::Queue, None, None)],
                    ..Graph::default()
                },
                None,
            )
        };
        let mut state = FindState {
            query: "a".to_owned(),
            ..FindState::default()
        };
        let first = one("alpha");
        assert_eq!(state.matches(&first).ids, ["alpha"]);
        let second = one("apple");
        assert_eq!(first.revision(), second.revision());
        assert_eq!(state.matches(&second).ids, ["apple"]);
    }

    #[test]
    fn lines_name_the_label_only_when_it_differs() {
        let m = search(&graph(), "orders");
        assert_eq!(m.lines[0], "orders (Web orders)  ·  producer");
        assert_eq!(m.lines[1], "ORDERS-DLQ  ·  queue");
    }
}
