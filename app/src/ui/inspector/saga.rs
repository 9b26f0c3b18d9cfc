//! A saga's steps as an ordered list: name, action, compensation; add, remove, reorder.

use flowbench_engine::model::{SagaConfig, SagaStep};
use flowbench_engine::{Graph, Node};

use super::fields::{LABEL_WIDTH, NUMBER_WIDTH, Rows, glyph_button};

/// Nodes a step may call: first those the saga has an edge to, then the other callable
/// nodes (picking one of those needs an edge too). Each with whether the edge exists.
pub fn step_targets(graph: &Graph, saga: &Node) -> Vec<(String, bool)> {
    let mut targets: Vec<(String, bool)> = Vec::new();
    for (_, edge) in graph.edges_from(&saga.id) {
        if !targets.iter().any(|(id, _)| id == &edge.to) {
            targets.push((edge.to.clone(), true));
        }
    }
    for node in &graph.nodes {
        let callable = node.kind().is_some_and(|k| k.is_callable());
        if callable && node.id != saga.id && !targets.iter().any(|(id, _)| id == &node.id) {
            targets.push((node.id.clone(), false));
        }
    }
    targets
}

/// A combo over `targets`; `none` adds a "none" entry (for compensations).
fn target_combo(
    ui: &mut egui::Ui,
    id_salt: (usize, &str),
    name: String,
    value: &mut Option<String>,
    targets: &[(String, bool)],
    none: bool,
) -> bool {
    let before = value.clone();
    let shown = value.clone().unwrap_or_else(|| "none".to_owned());
    egui::ComboBox::from_id_salt(("saga target", id_salt.0, id_salt.1))
        .selected_text(shown)
        .width(NUMBER_WIDTH + 60.0)
        .show_ui(ui, |ui| {
            if none {
                ui.selectable_value(value, None, "none")
                    .on_hover_text("Nothing to undo for this step");
            }
            let mut separated = false;
            for (id, connected) in targets {
                if !connected && !separated {
                    separated = true;
                    ui.separator();
                    ui.weak("not connected yet (adds a problem until wired):");
                }
                ui.selectable_value(value, Some(id.clone()), id.as_str());
            }
        })
        .response
        .accessible_name(name);
    *value != before
}

/// The steps list; changes `saga` in place. Returns a node to connect the saga to, when
/// the user asks for the missing edge of a step.
pub fn steps_ui(
    ui: &mut egui::Ui,
    rows: &mut Rows,
    graph: &Graph,
    node: &Node,
    saga: &mut SagaConfig,
) -> Option<String> {
    ui.label("steps").on_hover_text(
        "Steps run in order, each calling its action. When one fails, the compensations of the \
         steps done before it are called in reverse order; the caller then gets Failed.",
    );
    rows.notes_for(ui, "steps");
    let targets = step_targets(graph, node);
    let count = saga.steps.len();
    let mut remove = None;
    let mut swap = None;
    let mut connect = None;
    for (i, step) in saga.steps.iter_mut().enumerate() {
        let path = |name: &str| format!("steps[{i}].{name}");
        egui::Frame::group(ui.style()).inner_margin(6.0).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 4.0;
                ui.strong(format!("{}", i + 1));
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let delete = ui.small_button("×").accessible_name(format!("remove step {i}"));
                    if delete.on_hover_text("Remove this step").clicked() {
                        remove = Some(i);
                    }
                    let down = glyph_button(ui, i + 1 < count, "↓", format!("move step {i} down"));
                    if down.on_hover_text("Run this step later").clicked() {
                        swap = Some((i, i + 1));
                    }
                    let up = glyph_button(ui, i > 0, "↑", format!("move step {i} up"));
                    if up.on_hover_text("Run this step earlier").clicked() {
                        swap = Some((i - 1, i));
                    }
                    let name = egui::TextEdit::singleline(&mut step.name)
                        .hint_text("step name")
                        .desired_width(ui.available_width());
                    let response = ui
                        .add(name)
                        .accessible_name(path("name"))
                        .on_hover_text("The step's name, for reports and logs");
                    if response.changed() {
                        rows.change(&path("name"));
                    }
                });
            });
            egui::Grid::new(("saga step", i))
                .num_columns(2)
                .min_col_width(LABEL_WIDTH - 20.0)
                .spacing([10.0, 4.0])
                .show(ui, |ui| {
                    ui.label("action").on_hover_text("The node called to do the step");
                    let mut action = Some(step.action.clone());
                    if target_combo(ui, (i, "action"), path("action"), &mut action, &targets, false) {
                        step.action = action.unwrap_or_default();
                        rows.change(&path("action"));
                    }
                    ui.end_row();
                    ui.label("compensation")
                        .on_hover_text("The node called to undo the step when a later step fails; none = nothing to undo");
                    if target_combo(ui, (i, "compensation"), path("compensation"), &mut step.compensation, &targets, true) {
                        rows.change(&path("compensation"));
                    }
                    ui.end_row();
                });
            for name in ["name", "action", "compensation"] {
                rows.notes_for(ui, &path(name));
            }
            let unwired = [Some(&step.action), step.compensation.as_ref()]
                .into_iter()
                .flatten()
                .find(|id| targets.iter().any(|(t, connected)| t == *id && !connected));
            if let Some(id) = unwired {
                let text = format!("Connect {} to {id}", node.id);
                if ui.small_button(text).on_hover_text("Add the edge this step needs").clicked() {
                    connect = Some(id.clone());
                }
            }
        });
    }
    if let Some((a, b)) = swap {
        saga.steps.swap(a, b);
        rows.change("steps");
    }
    if let Some(i) = remove {
        saga.steps.remove(i);
        rows.change("steps");
    }
    if ui
        .button("+ Add step")
        .on_hover_text("A new last step")
        .clicked()
    {
        let used: Vec<&str> = saga.steps.iter().map(|s| s.action.as_str()).collect();
        let action = targets
            .iter()
            .find(|(id, connected)| *connected && !used.contains(&id.as_str()))
            .or_else(|| targets.first())
            .map(|(id, _)| id.clone())
            .unwrap_or_default();
        saga.steps.push(SagaStep {
            name: format!("step-{}", saga.steps.len() + 1),
            action,
            compensation: None,
        });
        rows.change("steps");
    }
    connect
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A step's choices list the saga's own targets first, then other callable nodes.
    #[test]
    fn step_targets_put_connected_nodes_first() {
        let g = Graph::from_json_str(include_str!(
            "../../../../sample-graphs/saga-orchestration.json"
        ))
        .unwrap();
        let saga = g.node("checkout").unwrap();
        let targets = step_targets(&g, saga);
        assert_eq!(targets[0], ("create-order".to_owned(), true));
        assert!(targets.iter().all(|(_, connected)| *connected));
        assert!(
            !targets
                .iter()
                .any(|(id, _)| id == "checkout-requests" || id == "checkout")
        );
    }
}
