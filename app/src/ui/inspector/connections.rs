//! Edges from the keyboard: a node's outgoing and incoming edges with a remove button each,
//! an "add edge" row, and the inspector of one selected edge.

use flowbench_engine::{Place, Severity};

use super::fields::{NUMBER_WIDTH, arrow, grid, note};
use crate::ui::document::output_ports;
use crate::ui::{AppCommand, Document};

/// The "add edge" row being filled in, and the answer to the last attempt.
#[derive(Debug, Default)]
pub struct AddEdge {
    port: String,
    target: String,
    /// The refusal of the last attempt.
    problem: Option<String>,
}

/// The edges of node `id`, and a row to add one.
pub fn node_edges_ui(
    ui: &mut egui::Ui,
    doc: &mut Document,
    id: &str,
    add: &mut AddEdge,
    commands: &mut Vec<AppCommand>,
) {
    let Some(node) = doc.node(id) else { return };
    let outgoing: Vec<(usize, String, String)> = doc
        .graph
        .edges_from(id)
        .map(|(i, e)| (i, e.port.clone(), e.to.clone()))
        .collect();
    let incoming: Vec<(usize, String, String)> = doc
        .graph
        .edges_to(id)
        .map(|(i, e)| (i, e.port.clone(), e.from.clone()))
        .collect();
    let ports = output_ports(&doc.graph, node);
    let targets: Vec<String> = doc
        .graph
        .nodes
        .iter()
        .filter(|n| n.id != id)
        .map(|n| n.id.clone())
        .collect();
    let mut remove = None;
    let mut connect = false;
    if !ports.contains(&add.port) {
        add.port = ports.first().cloned().unwrap_or_default();
    }
    if !targets.contains(&add.target) {
        add.target = targets.first().cloned().unwrap_or_default();
    }
    grid("edges", ui, |ui| {
        ui.label("outgoing")
            .on_hover_text("Edges leaving this node: port, then target");
        edge_list(ui, &outgoing, true, &mut remove, commands);
        ui.end_row();
        ui.label("incoming")
            .on_hover_text("Edges arriving at this node: source, and its port when not out");
        edge_list(ui, &incoming, false, &mut remove, commands);
        ui.end_row();
        ui.label("add edge")
            .on_hover_text("Wire this node to another without the mouse");
        if ports.is_empty() {
            ui.weak("this kind has no output ports");
        } else {
            ui.horizontal_wrapped(|ui| {
                let before = (add.port.clone(), add.target.clone());
                egui::ComboBox::from_id_salt("add edge port")
                    .selected_text(add.port.as_str())
                    .width(56.0)
                    .show_ui(ui, |ui| {
                        for port in &ports {
                            ui.selectable_value(&mut add.port, port.clone(), port.as_str());
                        }
                    })
                    .response
                    .accessible_name("new edge port")
                    .on_hover_text("The output port the edge leaves by");
                arrow(ui);
                egui::ComboBox::from_id_salt("add edge target")
                    .selected_text(add.target.as_str())
                    .width(NUMBER_WIDTH)
                    .show_ui(ui, |ui| {
                        for target in &targets {
                            ui.selectable_value(&mut add.target, target.clone(), target.as_str());
                        }
                    })
                    .response
                    .accessible_name("new edge target")
                    .on_hover_text("The node the edge goes to");
                if before != (add.port.clone(), add.target.clone()) {
                    add.problem = None;
                }
                connect = ui
                    .add_enabled(!add.target.is_empty(), egui::Button::new("Connect"))
                    .on_hover_text("Add the edge, if the model allows it")
                    .clicked();
            });
        }
        ui.end_row();
        if let Some(problem) = &add.problem {
            ui.label("");
            note(ui, Severity::Error, format!("Not connected: {problem}"));
            ui.end_row();
        }
    });
    if let Some(index) = remove {
        doc.remove_edge(index);
        return;
    }
    if connect {
        match doc.connect(id, &add.port, &add.target) {
            Ok(()) => {
                add.problem = None;
                commands.push(AppCommand::Status(format!(
                    "Connected {id} to {}",
                    add.target
                )));
            }
            Err(why) => add.problem = Some(why),
        }
    }
}

/// Edges as lines "port → target ×" (outgoing) or "source (port) ×" (incoming).
fn edge_list(
    ui: &mut egui::Ui,
    edges: &[(usize, String, String)],
    outgoing: bool,
    remove: &mut Option<usize>,
    commands: &mut Vec<AppCommand>,
) {
    ui.vertical(|ui| {
        if edges.is_empty() {
            ui.weak("none");
        }
        for (index, port, other) in edges {
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 4.0;
                if outgoing {
                    ui.weak(port.as_str());
                    arrow(ui);
                }
                let link = ui.link(other.as_str()).on_hover_text("Select that node");
                if link.clicked() {
                    commands.push(AppCommand::FocusNode(other.clone()));
                }
                if !outgoing && port != "out" {
                    ui.weak(format!("({port})"));
                }
                let what = if outgoing {
                    format!("{port} to {other}")
                } else {
                    format!("from {other} ({port})")
                };
                let button = ui
                    .small_button("×")
                    .accessible_name(format!("remove edge {what}"))
                    .on_hover_text("Remove this edge");
                if button.clicked() {
                    *remove = Some(*index);
                }
            });
        }
    });
}

/// The inspector of edge `index`.
pub fn edge_ui(
    ui: &mut egui::Ui,
    doc: &mut Document,
    index: usize,
    commands: &mut Vec<AppCommand>,
) {
    let Some(edge) = doc.graph.edges.get(index).cloned() else {
        return;
    };
    ui.heading("Edge");
    ui.horizontal(|ui| {
        ui.weak(edge.from.as_str());
        arrow(ui);
        ui.weak(edge.to.as_str());
    });
    ui.add_space(6.0);
    let source = doc.node(&edge.from);
    let mut ports = source
        .map(|n| output_ports(&doc.graph, n))
        .unwrap_or_default();
    if !ports.contains(&edge.port) {
        ports.push(edge.port.clone());
    }
    let call = source
        .and_then(|n| n.kind())
        .is_some_and(|k| k.is_call_port(&edge.port));
    let notes: Vec<(Option<String>, flowbench_engine::Diagnostic)> = doc
        .diagnostics
        .iter()
        .filter_map(|d| match &d.place {
            Place::Edge {
                index: i, field, ..
            } if *i == index => Some((field.clone(), d.clone())),
            _ => None,
        })
        .collect();
    let mut new_port = None;
    grid("edge", ui, |ui| {
        for (name, id) in [("from", &edge.from), ("to", &edge.to)] {
            ui.label(name);
            if ui
                .link(id.as_str())
                .on_hover_text("Select that node")
                .clicked()
            {
                commands.push(AppCommand::FocusNode(id.clone()));
            }
            ui.end_row();
            field_notes(ui, &notes, name);
        }
        let label = ui
            .label("port")
            .on_hover_text("The source's output port the edge leaves by");
        let mut port = edge.port.clone();
        egui::ComboBox::from_id_salt("edge port")
            .selected_text(port.as_str())
            .width(NUMBER_WIDTH)
            .show_ui(ui, |ui| {
                for p in &ports {
                    ui.selectable_value(&mut port, p.clone(), p.as_str());
                }
            })
            .response
            .labelled_by(label.id);
        if port != edge.port {
            new_port = Some(port);
        }
        ui.end_row();
        field_notes(ui, &notes, "port");
        ui.label("call").on_hover_text(
            "Whether the edge carries synchronous calls, decided by the source's kind and port",
        );
        let call_text = if call {
            "yes: a synchronous call, the reply travels back"
        } else {
            "no: asynchronous messages"
        };
        ui.add(egui::Label::new(call_text).wrap());
        ui.end_row();
    });
    for (field, d) in &notes {
        if field.is_none() {
            note(ui, d.severity, &d.message);
        }
    }
    if let Some(port) = new_port
        && let Err(why) = doc.set_edge_port(index, &port)
    {
        commands.push(AppCommand::Status(format!("Port not changed: {why}")));
    }
    ui.add_space(8.0);
    if ui.button("Remove edge").clicked() {
        doc.remove_edge(index);
    }
}

fn field_notes(
    ui: &mut egui::Ui,
    notes: &[(Option<String>, flowbench_engine::Diagnostic)],
    field: &str,
) {
    for (f, d) in notes {
        if f.as_deref() == Some(field) {
            ui.label("");
            note(ui, d.severity, &d.message);
            ui.end_row();
        }
    }
}
