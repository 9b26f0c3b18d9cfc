//! The diagnostics panel: the live result of `validate()`; clicking a line selects and
//! centres its node or edge.

use flowbench_engine::{Place, Severity};

use crate::ui::{AppCommand, Document};

pub fn ui(ui: &mut egui::Ui, doc: &Document, commands: &mut Vec<AppCommand>) {
    let errors = doc.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = doc.diagnostics.len() - errors;
    ui.horizontal(|ui| {
        ui.strong("Problems");
        if doc.diagnostics.is_empty() {
            ui.weak("none: the graph is ready to run");
        } else {
            ui.colored_label(ui.visuals().error_fg_color, format!("{errors} errors"));
            ui.colored_label(ui.visuals().warn_fg_color, format!("{warnings} warnings"));
        }
    });
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for d in &doc.diagnostics {
                let (word, color) = match d.severity {
                    Severity::Error => ("error", ui.visuals().error_fg_color),
                    Severity::Warning => ("warning", ui.visuals().warn_fg_color),
                };
                let text = egui::RichText::new(format!("{word} · {}: {}", d.place, d.message))
                    .color(color);
                let response = ui.add(egui::Label::new(text).sense(egui::Sense::click()));
                let response = response.on_hover_text("Click to show it on the canvas");
                if response.clicked() {
                    match &d.place {
                        Place::Node { id, .. } => commands.push(AppCommand::FocusNode(id.clone())),
                        Place::Fault { node, .. } => {
                            commands.push(AppCommand::FocusNode(node.clone()))
                        }
                        Place::Edge { index, .. } => commands.push(AppCommand::FocusEdge(*index)),
                        Place::Graph { .. } => {}
                    }
                }
            }
        });
}
