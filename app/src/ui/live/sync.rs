//! What an edit made during a run means for it: a change of a node's config can be applied
//! to the running engine; a change of the graph's structure (nodes, kinds, edges, faults,
//! where a channel lives: engine or broker, and which) needs a restart.

use flowbench_engine::{Graph, NodeConfig};

use crate::ui::canvas::summary::broker_title;

/// How the document's graph differs from the graph a run is running.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Nothing the engine sees (positions, labels, the name and description).
    None,
    /// Only node configs: each node id with its new config, in graph order.
    Configs(Vec<(String, NodeConfig)>),
    /// Nodes, kinds, edges or faults changed: says the first difference.
    Structure(String),
}

/// Compares the graph a run started with (`running`, with the configs applied since) and
/// the document's graph (`now`).
pub fn compare(running: &Graph, now: &Graph) -> Change {
    if let Some(why) = structure_difference(running, now) {
        return Change::Structure(why);
    }
    let configs: Vec<(String, NodeConfig)> = running
        .nodes
        .iter()
        .zip(&now.nodes)
        .filter(|(a, b)| a.config != b.config)
        .map(|(_, b)| (b.id.clone(), b.config.clone()))
        .collect();
    if configs.is_empty() {
        Change::None
    } else {
        Change::Configs(configs)
    }
}

/// The first structural difference, said for the user, or `None`.
fn structure_difference(running: &Graph, now: &Graph) -> Option<String> {
    for node in &now.nodes {
        match running.node(&node.id) {
            None => return Some(format!("node '{}' was added", node.id)),
            Some(old) if old.kind_name() != node.kind_name() => {
                return Some(format!("node '{}' is now a {}", node.id, node.kind_name()));
            }
            Some(old) if old.config.backend() != node.config.backend() => {
                return Some(match node.config.backend() {
                    Some(b) => format!(
                        "'{}' now runs on {} {}",
                        node.id,
                        broker_title(b.kind_name()),
                        b.channel_name()
                    ),
                    None => format!("'{}' now runs in the engine", node.id),
                });
            }
            Some(_) => {}
        }
    }
    if let Some(gone) = running.nodes.iter().find(|n| now.node(&n.id).is_none()) {
        return Some(format!("node '{}' was removed", gone.id));
    }
    let order = |g: &Graph| g.nodes.iter().map(|n| n.id.clone()).collect::<Vec<_>>();
    if order(running) != order(now) {
        return Some("the nodes were reordered".to_owned());
    }
    if running.edges != now.edges {
        let added = now.edges.iter().find(|e| !running.edges.contains(e));
        let removed = running.edges.iter().find(|e| !now.edges.contains(e));
        return Some(match (added, removed) {
            (Some(e), _) => format!("an edge from '{}' to '{}' was added", e.from, e.to),
            (None, Some(e)) => format!("the edge from '{}' to '{}' was removed", e.from, e.to),
            (None, None) => "the edges were reordered".to_owned(),
        });
    }
    if running.faults != now.faults {
        return Some("the fault schedule changed".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use flowbench_engine::model::{Backend, Fault, FaultKind, QueueConfig, RabbitMqBackend};
    use flowbench_engine::{Edge, Node, NodeKind};

    use super::*;

    fn mm1() -> Graph {
        Graph::from_json_str(include_str!("../../../../sample-graphs/mm1.json")).unwrap()
    }

    /// Moving or relabelling a node changes nothing the engine sees.
    #[test]
    fn layout_and_labels_are_no_change() {
        let running = mm1();
        let mut now = running.clone();
        now.nodes[1].pos = Some([1.0, 2.0]);
        now.nodes[1].label = Some("the queue".into());
        now.name = "renamed".into();
        assert_eq!(compare(&running, &now), Change::None);
    }

    /// A config edit is a config change naming the node and its new config.
    #[test]
    fn config_edit_is_a_config_change() {
        let running = mm1();
        let mut now = running.clone();
        let config = NodeConfig::Queue(QueueConfig {
            capacity: Some(5),
            ..QueueConfig::default()
        });
        now.nodes[1].config = config.clone();
        assert_eq!(
            compare(&running, &now),
            Change::Configs(vec![("q".into(), config)])
        );
    }

    /// Adding or removing nodes and edges, changing a kind or the fault schedule needs a
    /// restart, and the reason says what changed.
    #[test]
    fn structural_edits_need_a_restart() {
        let running = mm1();
        let why = |now: &Graph| match compare(&running, now) {
            Change::Structure(why) => why,
            other => panic!("expected a structural change, got {other:?}"),
        };

        let mut now = running.clone();
        now.nodes
            .push(Node::new("extra", NodeConfig::default_for(NodeKind::Sink)));
        assert_eq!(why(&now), "node 'extra' was added");

        let mut now = running.clone();
        now.nodes[1].config = NodeConfig::default_for(NodeKind::Topic);
        assert_eq!(why(&now), "node 'q' is now a topic");

        let mut now = running.clone();
        now.edges.push(Edge::new("orders", "worker"));
        assert_eq!(why(&now), "an edge from 'orders' to 'worker' was added");

        let mut now = running.clone();
        now.edges.remove(0);
        assert_eq!(why(&now), "the edge from 'orders' to 'q' was removed");

        let mut now = running.clone();
        now.faults.push(Fault {
            node: "worker".into(),
            kind: FaultKind::Stop,
            at_ms: 10.0,
            until_ms: None,
            rate: None,
            factor: None,
            consumer: None,
        });
        assert_eq!(why(&now), "the fault schedule changed");

        let mut now = running.clone();
        now.nodes.retain(|n| n.id != "done");
        assert_eq!(why(&now), "node 'done' was removed");

        let mut now = running.clone();
        now.nodes[1].config = NodeConfig::Queue(QueueConfig {
            backend: Some(Backend::RabbitMq(RabbitMqBackend {
                queue: "orders".into(),
                ..RabbitMqBackend::default()
            })),
            ..QueueConfig::default()
        });
        assert_eq!(why(&now), "'q' now runs on RabbitMQ orders");
        assert_eq!(
            compare(&now, &running),
            Change::Structure("'q' now runs in the engine".into())
        );
    }
}
