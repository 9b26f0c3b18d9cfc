//! One graph run as several cooperating processes: each runs its share of the nodes, and
//! the broker-backed channels between the shares carry the messages (`flowbench run
//! --process NAME` or `--node-filter`).

use std::collections::BTreeSet;

use crate::model::Graph;

/// Which nodes a process runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Share {
    /// Nodes whose `process` tag is this name.
    pub process: Option<String>,
    /// Node ids; a `*` matches any run of characters (`worker-*`).
    pub nodes: Vec<String>,
}

/// The part of `graph` a process runs, and warnings about what the split cuts.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub graph: Graph,
    pub warnings: Vec<String>,
}

impl Share {
    pub fn is_whole(&self) -> bool {
        self.process.is_none() && self.nodes.is_empty()
    }

    fn chooses(&self, id: &str, process: Option<&str>) -> bool {
        self.process.as_deref().is_some_and(|p| process == Some(p))
            || self.nodes.iter().any(|pattern| matches(pattern, id))
    }
}

/// Whether `id` matches `pattern`, where `*` stands for any run of characters.
pub fn matches(pattern: &str, id: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = id.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The nodes `share` chooses, plus the broker-backed channels they send to or read from;
/// edges and faults between kept nodes. An edge from a kept node to a node another process
/// runs, not through a broker, is cut (warned: its messages end at the kept node).
pub fn split(graph: &Graph, share: &Share) -> Result<Part, String> {
    if share.is_whole() {
        return Ok(Part {
            graph: graph.clone(),
            warnings: Vec::new(),
        });
    }
    let chosen: BTreeSet<&str> = graph
        .nodes
        .iter()
        .filter(|n| share.chooses(&n.id, n.process.as_deref()))
        .map(|n| n.id.as_str())
        .collect();
    if chosen.is_empty() {
        let processes: BTreeSet<&str> = graph
            .nodes
            .iter()
            .filter_map(|n| n.process.as_deref())
            .collect();
        let what = match (&share.process, share.nodes.is_empty()) {
            (Some(p), true) => format!("no node has \"process\": \"{p}\""),
            (None, false) => format!("no node id matches {}", share.nodes.join(", ")),
            _ => "no node is chosen by the process and the node filter".to_owned(),
        };
        let known = if processes.is_empty() {
            "the graph names no processes".to_owned()
        } else {
            format!(
                "processes in this graph: {}",
                processes.into_iter().collect::<Vec<_>>().join(", ")
            )
        };
        return Err(format!("{what} ({known})"));
    }
    let on_broker = graph.brokered();
    let brokered = |id: &str| on_broker.contains(id);
    let mut kept = chosen.clone();
    for e in &graph.edges {
        if chosen.contains(e.from.as_str()) && brokered(&e.to) {
            kept.insert(e.to.as_str());
        }
        if chosen.contains(e.to.as_str()) && brokered(&e.from) {
            kept.insert(e.from.as_str());
        }
    }
    let mut warnings = Vec::new();
    for e in &graph.edges {
        let (from, to) = (kept.contains(e.from.as_str()), kept.contains(e.to.as_str()));
        if from != to {
            let (inside, outside) = if from {
                (&e.from, &e.to)
            } else {
                (&e.to, &e.from)
            };
            if !brokered(inside) {
                warnings.push(format!(
                    "edge {} → {} crosses to a node this process does not run ('{outside}') \
                     without a broker-backed channel between them: it is left out",
                    e.from, e.to
                ));
            }
        }
    }
    let mut part = graph.clone();
    part.nodes.retain(|n| kept.contains(n.id.as_str()));
    part.edges
        .retain(|e| kept.contains(e.from.as_str()) && kept.contains(e.to.as_str()));
    part.faults.retain(|f| {
        kept.contains(f.node.as_str()) && f.consumer.as_deref().is_none_or(|c| kept.contains(c))
    });
    Ok(Part {
        graph: part,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(matches("worker-*", "worker-1"));
        assert!(matches("*-1", "worker-1"));
        assert!(matches("w*r*1", "worker-1"));
        assert!(matches("done", "done"));
        assert!(!matches("done", "done2"));
        assert!(!matches("worker-*", "work"));
        assert!(matches("*", "anything"));
    }

    fn graph() -> Graph {
        Graph::from_json_str(
            r#"{"format": "flowbench.graph", "version": 1, "nodes": [
              {"id": "p", "kind": "producer", "process": "front"},
              {"id": "q", "kind": "queue", "config": {"backend": {"kind": "rabbitmq", "queue": "orders"}}},
              {"id": "w", "kind": "service", "process": "back"},
              {"id": "done", "kind": "sink", "process": "back"},
              {"id": "audit", "kind": "sink", "process": "back"}],
              "edges": [{"from": "p", "to": "q"}, {"from": "q", "to": "w"},
                        {"from": "w", "to": "done"}, {"from": "p", "to": "audit"}],
              "faults": [{"node": "w", "kind": "crash", "at_ms": 10}]}"#,
        )
        .unwrap()
    }

    fn ids(g: &Graph) -> Vec<&str> {
        g.nodes.iter().map(|n| n.id.as_str()).collect()
    }

    #[test]
    fn a_process_runs_its_nodes_and_the_brokers_beside_them() {
        let g = graph();
        let front = split(
            &g,
            &Share {
                process: Some("front".into()),
                ..Share::default()
            },
        )
        .unwrap();
        assert_eq!(ids(&front.graph), ["p", "q"]);
        assert_eq!(front.graph.edges.len(), 1);
        assert!(front.graph.faults.is_empty());
        assert_eq!(front.warnings.len(), 1, "{:?}", front.warnings);
        assert!(
            front.warnings[0].contains("p → audit"),
            "{:?}",
            front.warnings
        );

        let back = split(
            &g,
            &Share {
                nodes: vec!["w".into(), "d*".into()],
                ..Share::default()
            },
        )
        .unwrap();
        assert_eq!(ids(&back.graph), ["q", "w", "done"]);
        assert_eq!(back.graph.faults.len(), 1);
        assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    }

    #[test]
    fn an_unknown_process_names_the_known_ones() {
        let e = split(
            &graph(),
            &Share {
                process: Some("middle".into()),
                ..Share::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e,
            "no node has \"process\": \"middle\" (processes in this graph: back, front)"
        );
    }
}
