//! The document the designer edits: a graph, the file it came from, the selection and one
//! undo history for every edit. Views read it and change it only through its methods, so
//! every change is undoable and the diagnostics always describe the graph on screen.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use flowbench_engine::model::{Edge, Fault, GRAPH_FORMAT, GRAPH_VERSION, Ports};
use flowbench_engine::{Diagnostic, Graph, Node, NodeConfig, NodeKind, Place};

/// How many undo steps are kept.
const HISTORY_LIMIT: usize = 200;
/// Edits with the same merge key this close together become one undo step (a drag, typing).
const MERGE_WINDOW: Duration = Duration::from_millis(1500);

/// What is selected: nodes by id, edges by index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub nodes: BTreeSet<String>,
    pub edges: BTreeSet<usize>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.edges.is_empty()
    }

    pub fn clear(&mut self) {
        self.nodes.clear();
        self.edges.clear();
    }

    pub fn only_node(id: &str) -> Selection {
        Selection {
            nodes: BTreeSet::from([id.to_owned()]),
            edges: BTreeSet::new(),
        }
    }

    /// The one selected node, if exactly one node and nothing else is selected.
    pub fn single_node(&self) -> Option<&str> {
        (self.nodes.len() == 1 && self.edges.is_empty())
            .then(|| self.nodes.first().map(String::as_str))
            .flatten()
    }
}

/// Identifies a run of edits that merge into one undo step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeKey(pub String);

struct Snapshot {
    graph: Graph,
    selection: Selection,
    label: String,
}

#[derive(Default)]
struct History {
    undo: Vec<Snapshot>,
    redo: Vec<Snapshot>,
    /// The merge key and time of the last edit, to fold the next one into it.
    last: Option<(MergeKey, Instant)>,
}

/// Which document, at which revision: what a view caches its work under. Revisions start
/// again from 0 in every new document; the document number tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocStamp {
    document: u64,
    revision: u64,
}

impl DocStamp {
    /// Whether both stamp one document (at any revisions).
    pub fn same_document(&self, other: &DocStamp) -> bool {
        self.document == other.document
    }
}

/// Numbers documents as they are made (see [`DocStamp`]).
static NEXT_DOCUMENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub struct Document {
    pub graph: Graph,
    /// The file the graph was read from or last saved to.
    pub path: Option<PathBuf>,
    pub selection: Selection,
    /// `validate(graph)`, recomputed after every change.
    pub diagnostics: Vec<Diagnostic>,
    history: History,
    /// Bumped by every change; compared with `saved_revision` for the unsaved mark.
    revision: u64,
    saved_revision: u64,
    /// This document's number (see [`DocStamp`]).
    number: u64,
}

impl Default for Document {
    fn default() -> Self {
        Document::new(Graph::default(), None)
    }
}

impl Document {
    pub fn new(graph: Graph, path: Option<PathBuf>) -> Document {
        let diagnostics = validate(&graph);
        Document {
            graph,
            path,
            selection: Selection::default(),
            diagnostics,
            history: History::default(),
            revision: 0,
            saved_revision: 0,
            number: NEXT_DOCUMENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// An empty graph, as File ▸ New makes it.
    pub fn empty() -> Document {
        let graph = Graph {
            format: GRAPH_FORMAT.to_owned(),
            version: GRAPH_VERSION,
            name: "Untitled".to_owned(),
            ..Graph::default()
        };
        Document::new(graph, None)
    }

    /// Changes since the last save (or since opening).
    pub fn is_dirty(&self) -> bool {
        self.revision != self.saved_revision
    }

    /// A number that changes whenever the graph changes (for caches).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// This document at its current revision, distinct from every other document's.
    pub fn stamp(&self) -> DocStamp {
        DocStamp {
            document: self.number,
            revision: self.revision,
        }
    }

    pub fn mark_saved(&mut self, path: PathBuf) {
        self.path = Some(path);
        self.saved_revision = self.revision;
    }

    /// The file name (or "Untitled"), with a dot when there are unsaved changes.
    pub fn title(&self) -> String {
        let name = self.path.as_ref().and_then(|p| p.file_name()).map_or_else(
            || "Untitled".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        if self.is_dirty() {
            format!("{name} ●")
        } else {
            name
        }
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.graph.node(id)
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Diagnostics that point at node `id` (its config, edges from it, faults on it).
    pub fn diagnostics_of<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Diagnostic> + 'a {
        self.diagnostics.iter().filter(move |d| match &d.place {
            Place::Node { id: n, .. } => n == id,
            Place::Fault { node, .. } => node == id,
            _ => false,
        })
    }

    // ---- history -------------------------------------------------------------------------

    /// Applies `change` to the graph as one undo step labelled `label`. Consecutive edits with
    /// the same `merge` key within a moment fold into one step.
    pub fn edit<R>(
        &mut self,
        label: &str,
        merge: Option<MergeKey>,
        change: impl FnOnce(&mut Graph) -> R,
    ) -> R {
        self.record(label, merge);
        let result = change(&mut self.graph);
        self.changed();
        result
    }

    /// Keeps the graph as it is now as the undo step `label` (unless `merge` folds this
    /// edit into the last one), before the graph changes.
    fn record(&mut self, label: &str, merge: Option<MergeKey>) {
        let now = Instant::now();
        let merges = match (&merge, &self.history.last) {
            (Some(key), Some((last, at))) => key == last && now.duration_since(*at) < MERGE_WINDOW,
            _ => false,
        };
        if !merges {
            self.history.undo.push(Snapshot {
                graph: self.graph.clone(),
                selection: self.selection.clone(),
                label: label.to_owned(),
            });
            if self.history.undo.len() > HISTORY_LIMIT {
                self.history.undo.remove(0);
            }
        }
        self.history.redo.clear();
        self.history.last = merge.map(|k| (k, now));
    }

    /// Ends any merging run, so the next edit starts a new undo step.
    pub fn seal(&mut self) {
        self.history.last = None;
    }

    pub fn can_undo(&self) -> bool {
        !self.history.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.history.redo.is_empty()
    }

    /// What Undo would undo ("Move", "Add queue", …).
    pub fn undo_label(&self) -> Option<&str> {
        self.history.undo.last().map(|s| s.label.as_str())
    }

    pub fn redo_label(&self) -> Option<&str> {
        self.history.redo.last().map(|s| s.label.as_str())
    }

    pub fn undo(&mut self) -> bool {
        let Some(snapshot) = self.history.undo.pop() else {
            return false;
        };
        let current = self.swap(snapshot);
        self.history.redo.push(current);
        true
    }

    pub fn redo(&mut self) -> bool {
        let Some(snapshot) = self.history.redo.pop() else {
            return false;
        };
        let current = self.swap(snapshot);
        self.history.undo.push(current);
        true
    }

    fn swap(&mut self, snapshot: Snapshot) -> Snapshot {
        self.history.last = None;
        let label = snapshot.label.clone();
        let previous = Snapshot {
            graph: std::mem::replace(&mut self.graph, snapshot.graph),
            selection: std::mem::replace(&mut self.selection, snapshot.selection),
            label,
        };
        self.changed();
        previous
    }

    /// Replaces the whole graph as one undoable step (import, paste of a whole file, layout).
    pub fn replace_graph(&mut self, label: &str, graph: Graph) {
        self.edit(label, None, |g| *g = graph);
        self.selection.clear();
    }

    fn changed(&mut self) {
        let diagnostics = validate(&self.graph);
        self.changed_to(diagnostics);
    }

    /// [`Document::changed`] with the new graph's diagnostics already known.
    fn changed_to(&mut self, diagnostics: Vec<Diagnostic>) {
        self.revision += 1;
        self.diagnostics = diagnostics;
        // Drop selected things that no longer exist.
        let graph = &self.graph;
        self.selection.nodes.retain(|id| graph.node(id).is_some());
        self.selection.edges.retain(|&i| i < graph.edges.len());
    }

    // ---- edits ---------------------------------------------------------------------------

    /// Adds a node of `kind` with default config at `pos`; returns its id and selects it.
    pub fn add_node(&mut self, kind: NodeKind, pos: [f64; 2]) -> String {
        let id = unique_id(&self.graph, kind.as_str());
        let node = Node {
            id: id.clone(),
            label: None,
            pos: Some(pos),
            process: None,
            config: NodeConfig::default_for(kind),
        };
        self.edit(&format!("Add {kind}"), None, |g| g.nodes.push(node));
        self.selection = Selection::only_node(&id);
        id
    }

    /// Why an edge `from`/`port` → `to` would be refused, or `None` when it is fine.
    pub fn connection_problem(&self, from: &str, port: &str, to: &str) -> Option<String> {
        with_edge(&self.graph, &self.diagnostics, from, port, to).err()
    }

    /// Adds the edge `from`/`port` → `to` if the model allows it. The graph is validated
    /// once: the check's result is the new graph's diagnostics.
    pub fn connect(&mut self, from: &str, port: &str, to: &str) -> Result<(), String> {
        let (graph, diagnostics) = with_edge(&self.graph, &self.diagnostics, from, port, to)?;
        self.record("Connect", None);
        self.graph = graph;
        self.changed_to(diagnostics);
        Ok(())
    }

    /// Removes edge `index` (the selection keeps pointing at the same other edges).
    pub fn remove_edge(&mut self, index: usize) {
        if index >= self.graph.edges.len() {
            return;
        }
        let selected = self
            .selection
            .edges
            .iter()
            .filter(|&&i| i != index)
            .map(|&i| if i > index { i - 1 } else { i })
            .collect();
        self.edit("Remove edge", None, |g| {
            g.edges.remove(index);
        });
        self.selection.edges = selected;
    }

    /// Moves edge `index` to output port `port` of its source, if the model allows it.
    pub fn set_edge_port(&mut self, index: usize, port: &str) -> Result<(), String> {
        let Some(edge) = self.graph.edges.get(index).cloned() else {
            return Err(format!("there is no edge {index}"));
        };
        if edge.port == port {
            return Ok(());
        }
        let mut without = self.graph.clone();
        without.edges.remove(index);
        if let Some(problem) = connection_problem(&without, &edge.from, port, &edge.to) {
            return Err(problem);
        }
        self.edit("Change port", None, |g| {
            g.edges[index].port = port.to_owned()
        });
        Ok(())
    }

    /// Moves nodes by `delta`; a drag is one undo step.
    pub fn move_nodes(&mut self, ids: &BTreeSet<String>, delta: [f64; 2]) {
        let key = MergeKey(format!(
            "move:{}",
            ids.iter().cloned().collect::<Vec<_>>().join(",")
        ));
        self.edit("Move", Some(key), |g| {
            for node in g.nodes.iter_mut().filter(|n| ids.contains(&n.id)) {
                let [x, y] = node.pos.unwrap_or_default();
                node.pos = Some([x + delta[0], y + delta[1]]);
            }
        });
    }

    /// Replaces node `id`'s config; typing into one field is one undo step.
    pub fn set_config(&mut self, id: &str, field: &str, config: NodeConfig) {
        let key = MergeKey(format!("config:{id}:{field}"));
        self.edit(&format!("Change {field}"), Some(key), |g| {
            if let Some(node) = g.nodes.iter_mut().find(|n| n.id == id) {
                node.config = config;
            }
        });
    }

    /// Sets or clears node `id`'s label.
    pub fn set_label(&mut self, id: &str, label: Option<String>) {
        let key = MergeKey(format!("label:{id}"));
        self.edit("Rename", Some(key), |g| {
            if let Some(node) = g.nodes.iter_mut().find(|n| n.id == id) {
                node.label = label.filter(|l| !l.is_empty());
            }
        });
    }

    /// Changes node `old`'s id to `new`, updating every edge, fault and saga step naming it.
    pub fn rename_node(&mut self, old: &str, new: &str) -> Result<(), String> {
        if old == new {
            return Ok(());
        }
        if new.is_empty()
            || !new
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err("an id may use letters, digits, '_', '.' and '-'".to_owned());
        }
        if self.graph.node(new).is_some() {
            return Err(format!("another node already has the id '{new}'"));
        }
        // Editing drops selected ids that no longer exist, so note the selection first.
        let was_selected = self.selection.nodes.contains(old);
        self.edit("Rename", None, |g| rename_in_graph(g, old, new));
        if was_selected {
            self.selection.nodes.remove(old);
            self.selection.nodes.insert(new.to_owned());
        }
        Ok(())
    }

    /// Deletes the selected nodes (with their edges and faults) and edges.
    pub fn delete_selection(&mut self) {
        if self.selection.is_empty() {
            return;
        }
        let nodes = self.selection.nodes.clone();
        let edges = self.selection.edges.clone();
        self.edit("Delete", None, |g| {
            let mut i = 0;
            g.edges.retain(|e| {
                let keep =
                    !edges.contains(&i) && !nodes.contains(&e.from) && !nodes.contains(&e.to);
                i += 1;
                keep
            });
            g.nodes.retain(|n| !nodes.contains(&n.id));
            g.faults.retain(|f| !nodes.contains(&f.node));
        });
        self.selection.clear();
    }

    /// The selected nodes, the edges among them and their faults as graph JSON (what Copy
    /// puts on the clipboard).
    pub fn selection_as_json(&self) -> Option<String> {
        if self.selection.nodes.is_empty() {
            return None;
        }
        let ids = &self.selection.nodes;
        let part = Graph {
            name: self.graph.name.clone(),
            nodes: self
                .graph
                .nodes
                .iter()
                .filter(|n| ids.contains(&n.id))
                .cloned()
                .collect(),
            edges: self
                .graph
                .edges
                .iter()
                .filter(|e| ids.contains(&e.from) && ids.contains(&e.to))
                .cloned()
                .collect(),
            faults: self
                .graph
                .faults
                .iter()
                .filter(|f| ids.contains(&f.node))
                .cloned()
                .collect(),
            ..Graph::default()
        };
        Some(part.to_json_pretty())
    }

    /// Pastes graph JSON: its nodes get fresh ids where theirs are taken, move by `offset`,
    /// and become the selection. Returns how many nodes were added.
    pub fn paste_json(&mut self, text: &str, offset: [f64; 2]) -> Result<usize, String> {
        let part =
            Graph::from_json_str(text).map_err(|e| format!("the clipboard is not a graph: {e}"))?;
        if part.nodes.is_empty() {
            return Err("the clipboard holds a graph without nodes".to_owned());
        }
        let mut incoming = part;
        let mut taken: BTreeSet<String> = self.graph.nodes.iter().map(|n| n.id.clone()).collect();
        let renames: Vec<(String, String)> = incoming
            .nodes
            .iter()
            .map(|n| {
                let fresh = if taken.contains(&n.id) {
                    unique_id_among(&taken, &n.id)
                } else {
                    n.id.clone()
                };
                taken.insert(fresh.clone());
                (n.id.clone(), fresh)
            })
            .collect();
        // Rename through temporary ids so that swaps (a→b, b→c) cannot collide.
        for (i, (old, _)) in renames.iter().enumerate() {
            rename_in_graph(&mut incoming, old, &format!("\u{1}{i}"));
        }
        for (i, (_, new)) in renames.iter().enumerate() {
            rename_in_graph(&mut incoming, &format!("\u{1}{i}"), new);
        }
        for node in &mut incoming.nodes {
            let [x, y] = node.pos.unwrap_or_default();
            node.pos = Some([x + offset[0], y + offset[1]]);
        }
        let count = incoming.nodes.len();
        let ids: BTreeSet<String> = incoming.nodes.iter().map(|n| n.id.clone()).collect();
        self.edit("Paste", None, |g| {
            g.nodes.extend(incoming.nodes);
            g.edges.extend(incoming.edges);
            g.faults.extend(incoming.faults);
        });
        self.selection = Selection {
            nodes: ids,
            edges: BTreeSet::new(),
        };
        Ok(count)
    }

    /// Copies the selection in place, shifted a little (Ctrl+D).
    pub fn duplicate_selection(&mut self) -> usize {
        match self.selection_as_json() {
            Some(json) => self.paste_json(&json, [40.0, 40.0]).unwrap_or(0),
            None => 0,
        }
    }

    /// Adds a fault to the graph's schedule.
    pub fn add_fault(&mut self, fault: Fault) {
        self.edit("Add fault", None, |g| g.faults.push(fault));
    }

    /// Replaces fault `index`; typing into it is one undo step.
    pub fn set_fault(&mut self, index: usize, fault: Fault) {
        let key = MergeKey(format!("fault:{index}"));
        self.edit("Change fault", Some(key), |g| {
            if let Some(f) = g.faults.get_mut(index) {
                *f = fault;
            }
        });
    }

    pub fn remove_fault(&mut self, index: usize) {
        self.edit("Remove fault", None, |g| {
            if index < g.faults.len() {
                g.faults.remove(index);
            }
        });
    }

    /// Sets the graph's name, description or seed (typing is one undo step).
    pub fn edit_header(&mut self, field: &str, change: impl FnOnce(&mut Graph)) {
        let key = MergeKey(format!("header:{field}"));
        self.edit(&format!("Change {field}"), Some(key), change);
    }
}

/// Output ports a node offers for new edges: the kind's fixed ports, a router's rule ports,
/// and for kinds with free port names (gateway, saga) the ports in use plus `out`.
pub fn output_ports(graph: &Graph, node: &Node) -> Vec<String> {
    let Some(kind) = node.kind() else {
        return Vec::new();
    };
    match (&node.config, kind.output_ports()) {
        (NodeConfig::Router(router), _) => {
            let mut ports: Vec<String> = Vec::new();
            for p in router
                .rules
                .iter()
                .map(|r| r.port.as_str())
                .chain(router.default_port.as_deref())
            {
                if !ports.iter().any(|q| q == p) {
                    ports.push(p.to_owned());
                }
            }
            ports
        }
        (_, Ports::Fixed(names)) => names.iter().map(|s| (*s).to_owned()).collect(),
        (_, Ports::Any) => {
            let mut ports = vec!["out".to_owned()];
            for (_, e) in graph.edges_from(&node.id) {
                if !ports.contains(&e.port) {
                    ports.push(e.port.clone());
                }
            }
            ports
        }
    }
}

/// Why the edge `from`/`port` → `to` would be refused: the errors validation would find on
/// it (or a call cycle it would close), or `None`.
pub fn connection_problem(graph: &Graph, from: &str, port: &str, to: &str) -> Option<String> {
    with_edge(graph, &validate(graph), from, port, to).err()
}

/// `graph` (whose diagnostics are `diagnostics`) with the edge `from`/`port` → `to` added,
/// and the diagnostics of the result; or why the edge would be refused: the errors
/// validation finds on it that `graph` did not have (or a call cycle it would close).
fn with_edge(
    graph: &Graph,
    diagnostics: &[Diagnostic],
    from: &str,
    port: &str,
    to: &str,
) -> Result<(Graph, Vec<Diagnostic>), String> {
    if from == to {
        return Err("a node cannot be wired to itself".to_owned());
    }
    if graph
        .edges
        .iter()
        .any(|e| e.from == from && e.to == to && e.port == port)
    {
        return Err("these two are already connected".to_owned());
    }
    let mut candidate = graph.clone();
    candidate.edges.push(Edge::new(from, to).with_port(port));
    let index = candidate.edges.len() - 1;
    let before: BTreeSet<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(Diagnostic::to_string)
        .collect();
    let after = validate(&candidate);
    let problem = after
        .iter()
        .filter(|d| d.is_error() && !before.contains(&d.to_string()))
        .find(|d| match &d.place {
            Place::Edge { index: i, .. } => *i == index,
            Place::Node { id, .. } => id == from || id == to,
            Place::Graph { .. } | Place::Fault { .. } => false,
        });
    match problem {
        Some(d) => Err(d.message.clone()),
        None => Ok((candidate, after)),
    }
}

/// Every problem of `graph` (the engine's validation; the most costly step of an edit on a
/// big graph, so tests count how often it runs).
fn validate(graph: &Graph) -> Vec<Diagnostic> {
    #[cfg(test)]
    tests::VALIDATIONS.with(|n| n.set(n.get() + 1));
    flowbench_engine::validate(graph)
}

/// `base` if free, else `base-2`, `base-3`, …
pub fn unique_id(graph: &Graph, base: &str) -> String {
    let taken: BTreeSet<String> = graph.nodes.iter().map(|n| n.id.clone()).collect();
    if taken.contains(base) {
        unique_id_among(&taken, base)
    } else {
        base.to_owned()
    }
}

fn unique_id_among(taken: &BTreeSet<String>, base: &str) -> String {
    // "queue-3" continues from 3 rather than becoming "queue-3-2".
    let stem = match base.rsplit_once('-') {
        Some((stem, n)) if n.parse::<u64>().is_ok() => stem,
        _ => base,
    };
    (2..)
        .map(|i| format!("{stem}-{i}"))
        .find(|id| !taken.contains(id))
        .expect("an unused id exists")
}

/// Renames node `old` to `new` everywhere the graph names it.
fn rename_in_graph(g: &mut Graph, old: &str, new: &str) {
    for node in &mut g.nodes {
        if node.id == old {
            node.id = new.to_owned();
        }
        if let NodeConfig::Saga(saga) = &mut node.config {
            for step in &mut saga.steps {
                if step.action == old {
                    step.action = new.to_owned();
                }
                if step.compensation.as_deref() == Some(old) {
                    step.compensation = Some(new.to_owned());
                }
            }
        }
    }
    for edge in &mut g.edges {
        if edge.from == old {
            edge.from = new.to_owned();
        }
        if edge.to == old {
            edge.to = new.to_owned();
        }
    }
    for fault in &mut g.faults {
        if fault.node == old {
            fault.node = new.to_owned();
        }
        if fault.consumer.as_deref() == Some(old) {
            fault.consumer = Some(new.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use flowbench_engine::model::QueueConfig;

    use super::*;

    thread_local! {
        /// Validations run on this thread.
        pub static VALIDATIONS: Cell<usize> = const { Cell::new(0) };
    }

    fn validations() -> usize {
        VALIDATIONS.with(Cell::get)
    }

    fn mm1() -> Document {
        let g = Graph::from_json_str(include_str!("../../../sample-graphs/mm1.json")).unwrap();
        Document::new(g, None)
    }

    /// Every edit is undoable and redoable, and the unsaved mark follows.
    #[test]
    fn undo_redo_every_edit() {
        let mut d = mm1();
        let before = d.graph.clone();
        let id = d.add_node(NodeKind::Queue, [10.0, 10.0]);
        assert_eq!(id, "queue");
        d.connect("orders", "out", "queue").unwrap();
        assert!(d.is_dirty());
        assert!(d.undo() && d.undo());
        assert_eq!(d.graph, before);
        assert!(d.redo());
        assert!(d.graph.node("queue").is_some());
        assert!(d.graph.edges.len() == before.edges.len());
    }

    /// Typing into one field folds into one undo step.
    #[test]
    fn config_typing_merges() {
        let mut d = mm1();
        for cap in [1, 12, 123] {
            let config = NodeConfig::Queue(QueueConfig {
                capacity: Some(cap),
                ..QueueConfig::default()
            });
            d.set_config("q", "capacity", config);
        }
        assert!(d.undo());
        assert!(!d.can_undo());
    }

    /// Connections the model forbids are refused with the reason.
    #[test]
    fn forbidden_connections_say_why() {
        let d = mm1();
        let why = d.connection_problem("done", "out", "q").unwrap();
        assert!(why.contains("sink has no output port"), "{why}");
        let why = d.connection_problem("q", "out", "orders").unwrap();
        assert!(why.contains("takes no input"), "{why}");
        assert!(d.connection_problem("orders", "out", "worker").is_none());
    }

    /// Checking a connection validates the graph with the edge once (the document already
    /// knows its own diagnostics), and making it validates nothing more: the check's result
    /// is the new graph's diagnostics, exactly what validation says of it.
    #[test]
    fn a_connection_is_validated_once() {
        let mut d = mm1();
        let start = validations();
        assert!(d.connection_problem("orders", "out", "worker").is_none());
        assert_eq!(validations() - start, 1);

        let start = validations();
        d.connect("orders", "out", "worker").unwrap();
        assert_eq!(validations() - start, 1);
        assert_eq!(d.diagnostics, flowbench_engine::validate(&d.graph));
        assert!(
            d.graph
                .edges
                .iter()
                .any(|e| e.from == "orders" && e.to == "worker")
        );
        assert_eq!(d.undo_label(), Some("Connect"));

        // A refused connection changes nothing.
        let revision = d.revision();
        let start = validations();
        assert!(d.connect("done", "out", "q").is_err());
        assert_eq!(validations() - start, 1);
        assert_eq!(d.revision(), revision);

        assert!(d.undo());
        assert!(
            !d.graph
                .edges
                .iter()
                .any(|e| e.from == "orders" && e.to == "worker")
        );
        assert_eq!(d.diagnostics, flowbench_engine::validate(&d.graph));
    }

    /// Renaming a node updates its edges and faults.
    #[test]
    fn rename_follows_references() {
        let mut d = mm1();
        d.selection = Selection::only_node("q");
        d.rename_node("q", "orders-queue").unwrap();
        assert!(d.graph.edges.iter().any(|e| e.to == "orders-queue"));
        assert_eq!(d.selection.single_node(), Some("orders-queue"));
        assert!(d.rename_node("worker", "orders").is_err());
    }

    /// Paste gives fresh ids to nodes whose ids are taken and keeps their edges.
    #[test]
    fn paste_renames_clashing_ids() {
        let mut d = mm1();
        d.selection.nodes = ["q".to_owned(), "worker".to_owned()].into();
        let json = d.selection_as_json().unwrap();
        assert_eq!(d.paste_json(&json, [0.0, 100.0]).unwrap(), 2);
        assert!(d.graph.node("q-2").is_some() && d.graph.node("worker-2").is_some());
        assert!(
            d.graph
                .edges
                .iter()
                .any(|e| e.from == "q-2" && e.to == "worker-2")
        );
        assert!(!d.has_errors(), "{:?}", d.diagnostics);
    }

    /// Deleting a node removes its edges too.
    #[test]
    fn delete_removes_edges() {
        let mut d = mm1();
        d.selection = Selection::only_node("q");
        d.delete_selection();
        assert!(d.graph.edges.iter().all(|e| e.from != "q" && e.to != "q"));
        assert!(d.undo());
        assert_eq!(d.graph.edges.len(), 3);
    }
}
