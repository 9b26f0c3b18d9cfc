//! The inspector: what is selected, field by field. With nothing selected it edits the
//! graph's header and fault schedule; with one node its id, label, every config field of
//! its kind (typed widgets, units, inline validation), its edges and its faults; with one
//! edge its port; with several, a count and Delete. Every change goes through the
//! [`Document`], so it is undoable.
//!
//! # Layout
//! - `fields`: label + widget + diagnostics rows in aligned grids; texts being typed.
//! - `kinds`: the config form of each node kind; `dist`, `payload`, `rules`, `saga` for
//!   the fields that need more than one widget.
//! - `backend`: where a queue, topic or event log lives (engine or broker); a node's process.
//! - `connections`: a node's edges, adding one, and the edge inspector.
//! - `faults`, `graph`: the fault schedule and the graph's header.
//! - `invalid`: the raw JSON of a node the model cannot type.

mod backend;
mod connections;
mod dist;
mod faults;
mod fields;
mod graph;
mod invalid;
mod kinds;
mod payload;
mod rules;
mod saga;
#[cfg(test)]
mod tests;

use flowbench_engine::{Diagnostic, NodeConfig, NodeKind, Place, Severity};

use self::connections::AddEdge;
use self::fields::{Memory, Rows, grid, section};
use crate::ui::palette::describe;
use crate::ui::{AppCommand, Document};

/// Text being typed into fields that only apply when valid (payload JSON, ids), and the
/// "add edge" row; all of it belongs to the current selection and is reset when it changes.
#[derive(Default)]
pub struct InspectorState {
    /// A live run is going: the node view offers fault injection (set by the app each frame).
    pub live_active: bool,
    /// What the memory below was made for.
    subject: Option<Subject>,
    memory: Memory,
    add_edge: AddEdge,
}

#[derive(Debug, Clone, PartialEq)]
enum Subject {
    Graph,
    Node(String),
    Edge(usize),
    Many,
}

pub fn ui(
    ui: &mut egui::Ui,
    doc: &mut Document,
    state: &mut InspectorState,
    commands: &mut Vec<AppCommand>,
) {
    let subject = if let Some(id) = doc.selection.single_node() {
        Subject::Node(id.to_owned())
    } else if doc.selection.is_empty() {
        Subject::Graph
    } else if doc.selection.nodes.is_empty() && doc.selection.edges.len() == 1 {
        Subject::Edge(*doc.selection.edges.first().expect("one edge"))
    } else {
        Subject::Many
    };
    if state.subject.as_ref() != Some(&subject) {
        state.memory.clear();
        state.add_edge = AddEdge::default();
        state.subject = Some(subject.clone());
    }
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.add_space(2.0);
            match &subject {
                Subject::Graph => graph::graph_ui(ui, doc, &mut state.memory),
                Subject::Node(id) => node_ui(ui, doc, state, id, commands),
                Subject::Edge(index) => connections::edge_ui(ui, doc, *index, commands),
                Subject::Many => many_ui(ui, doc),
            }
            ui.add_space(8.0);
        });
}

/// The title of a kind as the inspector's heading.
pub fn kind_title(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Producer => "Producer",
        NodeKind::Client => "Client",
        NodeKind::Queue => "Queue",
        NodeKind::Topic => "Topic",
        NodeKind::Service => "Service",
        NodeKind::Sink => "Sink",
        NodeKind::Breaker => "Circuit breaker",
        NodeKind::Gateway => "Gateway",
        NodeKind::Router => "Router",
        NodeKind::EventLog => "Event log",
        NodeKind::Projector => "Projector",
        NodeKind::Saga => "Saga",
    }
}

fn node_ui(
    ui: &mut egui::Ui,
    doc: &mut Document,
    state: &mut InspectorState,
    id: &str,
    commands: &mut Vec<AppCommand>,
) {
    let Some(node) = doc.node(id).cloned() else {
        return;
    };
    match node.kind() {
        Some(kind) => {
            ui.heading(kind_title(kind));
            ui.weak(describe(kind));
        }
        None => {
            ui.heading(format!("Node of kind '{}'", node.kind_name()));
            ui.weak("Flowbench cannot read this node as it is.");
        }
    }
    ui.add_space(4.0);
    let diagnostics: Vec<Diagnostic> = doc.diagnostics_of(id).cloned().collect();
    problems_ui(ui, &diagnostics);
    let node_notes: Vec<(Option<&str>, &Diagnostic)> = diagnostics
        .iter()
        .filter_map(|d| match &d.place {
            Place::Node { field, .. } => Some((field.as_deref(), d)),
            _ => None,
        })
        .collect();

    ui.push_id(("inspector node", id), |ui| {
        if state.live_active {
            section(ui, "Live run", |ui| live_faults_ui(ui, doc, id, commands));
        }
        section(ui, "Node", |ui| {
            identity_ui(ui, doc, &mut state.memory, id, &node_notes);
            backend::process_ui(ui, doc, id, &node_notes);
        });
        section(ui, "Settings", |ui| match &node.config {
            NodeConfig::Invalid(bad) => invalid::invalid_ui(ui, doc, &mut state.memory, id, bad),
            _ => {
                let mut rows =
                    Rows::new(id, &mut state.memory).with_notes(node_notes.iter().copied());
                let asked = kinds::config_ui(ui, &mut rows, &doc.graph, &node);
                if let Some((field, config)) = asked.config {
                    doc.set_config(id, &field, config);
                }
                if let Some(target) = asked.connect
                    && let Err(why) = doc.connect(id, "out", &target)
                {
                    commands.push(AppCommand::Status(format!("Not connected: {why}")));
                }
            }
        });
        if node.kind().is_some_and(backend::has_broker) {
            section(ui, "Broker", |ui| {
                let mut rows = Rows::new(id, &mut state.memory)
                    .with_notes(node_notes.iter().copied())
                    .with_prefix("");
                backend::broker_ui(ui, doc, &mut rows, id);
            });
        }
        section(ui, "Connections", |ui| {
            connections::node_edges_ui(ui, doc, id, &mut state.add_edge, commands);
        });
        section(ui, "Faults", |ui| {
            let edit = faults::faults_ui(
                ui,
                &mut state.memory,
                &doc.graph,
                &doc.diagnostics,
                Some(id),
            );
            graph::apply_fault_edit(doc, edit);
        });
    });
}

/// While the graph runs: inject a fault into this node now, clear its faults, and for an
/// event log replay a consumer from the start.
fn live_faults_ui(ui: &mut egui::Ui, doc: &Document, id: &str, commands: &mut Vec<AppCommand>) {
    use flowbench_engine::model::FaultKind;
    ui.label("Faults in the running graph, now:");
    ui.horizontal_wrapped(|ui| {
        for (kind, word) in [
            (FaultKind::Fail, "fail"),
            (FaultKind::Slow, "slow ×2"),
            (FaultKind::Crash, "crash"),
            (FaultKind::Stop, "stop"),
        ] {
            if ui
                .button(word)
                .on_hover_text("Start this fault now, until cleared")
                .clicked()
            {
                commands.push(AppCommand::LiveFault {
                    node: id.to_owned(),
                    kind: Some(kind),
                });
            }
        }
        if ui
            .button("clear")
            .on_hover_text("End every fault on this node now")
            .clicked()
        {
            commands.push(AppCommand::LiveFault {
                node: id.to_owned(),
                kind: None,
            });
        }
    });
    if doc.node(id).and_then(|n| n.kind()) == Some(NodeKind::EventLog) {
        ui.horizontal_wrapped(|ui| {
            ui.label("replay from start:");
            let consumers: Vec<String> = doc
                .graph
                .edges_from(id)
                .map(|(_, e)| e.to.clone())
                .collect();
            for consumer in consumers.into_iter().map(Some).chain([None]) {
                let label = consumer.clone().unwrap_or_else(|| "all".to_owned());
                if ui.button(label).clicked() {
                    commands.push(AppCommand::LiveReplay {
                        log: id.to_owned(),
                        consumer,
                    });
                }
            }
        });
    }
}

/// Every problem of the node at the top, fields named.
fn problems_ui(ui: &mut egui::Ui, diagnostics: &[Diagnostic]) {
    if diagnostics.is_empty() {
        return;
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let tint = if errors > 0 {
        ui.visuals().error_fg_color
    } else {
        ui.visuals().warn_fg_color
    };
    egui::Frame::new()
        .fill(tint.gamma_multiply(0.08))
        .stroke(egui::Stroke::new(1.0, tint.gamma_multiply(0.5)))
        .corner_radius(4.0)
        .inner_margin(6.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            let warnings = diagnostics.len() - errors;
            let mut counts = Vec::new();
            if errors > 0 {
                counts.push(format!(
                    "{errors} error{}",
                    if errors == 1 { "" } else { "s" }
                ));
            }
            if warnings > 0 {
                counts.push(format!(
                    "{warnings} warning{}",
                    if warnings == 1 { "" } else { "s" }
                ));
            }
            ui.strong(format!("Problems: {}", counts.join(", ")));
            for d in diagnostics {
                let place = match &d.place {
                    Place::Node {
                        field: Some(field), ..
                    } => format!("{field}: "),
                    Place::Fault { index, field, .. } => match field {
                        Some(field) => format!("fault {index}: {field}: "),
                        None => format!("fault {index}: "),
                    },
                    _ => String::new(),
                };
                fields::note(ui, d.severity, format!("{place}{}", d.message));
            }
        });
    ui.add_space(4.0);
}

/// The node's id (renamed on Enter or when the field loses focus) and label.
fn identity_ui(
    ui: &mut egui::Ui,
    doc: &mut Document,
    memory: &mut Memory,
    id: &str,
    notes: &[(Option<&str>, &Diagnostic)],
) {
    let key = format!("{id}/id");
    grid("identity", ui, |ui| {
        let label = ui.label("id").on_hover_text(
            "Unique name of the node: letters, digits, '_', '.' and '-'. Edges, faults and saga \
             steps refer to it; renaming updates them. Applied on Enter.",
        );
        let (text, error) = memory.plain(&key, id);
        let edit = egui::TextEdit::singleline(text).desired_width(f32::INFINITY);
        let response = ui.add(edit).labelled_by(label.id);
        if response.changed() {
            *error = None;
        }
        let escaped = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Escape));
        if escaped {
            // Escape gives the id back unchanged.
            memory.forget_plain(&key);
        }
        let text = memory.plain(&key, id).0.clone();
        if response.lost_focus() && !escaped && text != id {
            match doc.rename_node(id, &text) {
                Ok(()) => memory.forget_plain(&key),
                Err(why) => memory.plain(&key, id).1 = Some(why),
            }
        } else if !response.has_focus() && memory.plain(&key, id).1.is_none() && text != id {
            // The document changed underneath (undo): show its id again.
            memory.forget_plain(&key);
        }
        ui.end_row();
        if let Some(why) = memory.plain(&key, id).1.clone() {
            ui.label("");
            fields::typing_error(ui, format!("Not renamed: {why}"));
            ui.end_row();
        }
        for (field, d) in notes {
            if *field == Some("id") {
                ui.label("");
                fields::note(ui, d.severity, &d.message);
                ui.end_row();
            }
        }

        let label = ui
            .label("label")
            .on_hover_text("What the canvas shows instead of the id; empty shows the id");
        let current = doc
            .node(id)
            .and_then(|n| n.label.clone())
            .unwrap_or_default();
        let mut text = current.clone();
        let edit = egui::TextEdit::singleline(&mut text)
            .hint_text(id)
            .desired_width(f32::INFINITY);
        if ui.add(edit).labelled_by(label.id).changed() && text != current {
            doc.set_label(id, Some(text));
        }
        ui.end_row();
    });
}

fn many_ui(ui: &mut egui::Ui, doc: &mut Document) {
    let nodes = doc.selection.nodes.len();
    let edges = doc.selection.edges.len();
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let what = match (nodes, edges) {
        (0, e) => plural(e, "edge"),
        (n, 0) => plural(n, "node"),
        (n, e) => format!("{} and {}", plural(n, "node"), plural(e, "edge")),
    };
    ui.heading("Selection");
    ui.label(format!("{what} selected"));
    if nodes > 0 {
        let ids: Vec<&str> = doc.selection.nodes.iter().map(String::as_str).collect();
        ui.add(egui::Label::new(egui::RichText::new(ids.join(", ")).weak()).wrap());
    }
    let problems = doc
        .selection
        .nodes
        .iter()
        .map(|id| {
            doc.diagnostics_of(id)
                .filter(|d| d.severity == Severity::Error)
                .count()
        })
        .sum::<usize>();
    if problems > 0 {
        fields::note(
            ui,
            Severity::Error,
            format!("{problems} errors among the selected nodes"),
        );
    }
    ui.add_space(6.0);
    if ui
        .button("Delete")
        .on_hover_text("Delete the selected nodes (with their edges and faults) and edges")
        .clicked()
    {
        doc.delete_selection();
    }
}
