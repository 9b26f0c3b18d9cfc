//! A node whose kind is unknown or whose config does not fit its kind: its raw JSON in an
//! editable box with the problem, and "Apply" to type it again. Nothing written is lost.

use flowbench_engine::model::{InvalidNode, InvalidProblem};
use flowbench_engine::{NodeConfig, NodeKind, Severity};

use super::fields::{Memory, NUMBER_WIDTH, grid, note, parse_json, typing_error};
use crate::ui::Document;

/// What is wrong, in one sentence.
pub fn problem_text(bad: &InvalidNode) -> String {
    match &bad.problem {
        InvalidProblem::UnknownKind => format!("'{}' is not a kind Flowbench knows.", bad.kind),
        InvalidProblem::BadConfig {
            field: Some(field),
            message,
        } => {
            format!("The config does not fit a {}: {field}: {message}", bad.kind)
        }
        InvalidProblem::BadConfig {
            field: None,
            message,
        } => {
            format!("The config does not fit a {}: {message}", bad.kind)
        }
    }
}

/// Types `text` as a config of `kind`; a text that is not JSON is refused.
pub fn retype(kind: &str, text: &str) -> Result<NodeConfig, String> {
    let value = parse_json(text)?;
    Ok(NodeConfig::from_kind_and_value(kind, value))
}

pub fn invalid_ui(
    ui: &mut egui::Ui,
    doc: &mut Document,
    memory: &mut Memory,
    id: &str,
    bad: &InvalidNode,
) {
    note(ui, Severity::Error, problem_text(bad));
    ui.weak("Fix the kind or the JSON below, then Apply. The node keeps this text until then.");
    ui.add_space(4.0);
    let kind_key = format!("{id}/kind");
    let mut apply = false;
    grid("invalid node", ui, |ui| {
        let label = ui.label("kind").on_hover_text("The node's kind");
        let kind = &mut memory.plain(&kind_key, &bad.kind).0;
        let shown = kind.clone();
        egui::ComboBox::from_id_salt("invalid kind")
            .selected_text(shown)
            .width(NUMBER_WIDTH + 24.0)
            .show_ui(ui, |ui| {
                if NodeKind::parse(&bad.kind).is_none() {
                    ui.selectable_value(kind, bad.kind.clone(), format!("{} (unknown)", bad.kind));
                }
                for k in NodeKind::ALL {
                    ui.selectable_value(kind, k.as_str().to_owned(), k.as_str());
                }
            })
            .response
            .labelled_by(label.id);
        ui.end_row();
    });
    let label = ui
        .label("config")
        .on_hover_text("The node's config as written in the file");
    let buffer = memory.json(&format!("{id}/config"), bad.config.as_ref(), true);
    let edit = egui::TextEdit::multiline(&mut buffer.text)
        .code_editor()
        .desired_rows(6)
        .desired_width(f32::INFINITY);
    if ui.add(edit).labelled_by(label.id).changed() {
        buffer.error = None;
    }
    if let Some(error) = &buffer.error {
        typing_error(ui, format!("Not applied: {error}"));
    }
    if ui
        .button("Apply")
        .on_hover_text("Type the node again from this kind and JSON")
        .clicked()
    {
        apply = true;
    }
    if apply {
        let kind = memory.plain(&kind_key, &bad.kind).0.clone();
        let buffer = memory.json(&format!("{id}/config"), bad.config.as_ref(), true);
        match retype(&kind, &buffer.text) {
            Ok(config) => {
                let value = match &config {
                    NodeConfig::Invalid(still) => still.config.clone(),
                    typed => Some(typed.to_value()),
                };
                buffer.applied(value);
                memory.forget_plain(&kind_key);
                doc.set_config(id, "config", config);
            }
            Err(e) => buffer.error = Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applying types the node again; a still-wrong config stays as written.
    #[test]
    fn retyping_keeps_what_was_written() {
        let NodeConfig::Queue(q) = retype("queue", "{\"capacity\": 5}").unwrap() else {
            panic!("a queue expected")
        };
        assert_eq!(q.capacity, Some(5));
        let NodeConfig::Invalid(bad) = retype("queue", "{\"capacty\": 5}").unwrap() else {
            panic!("still invalid expected")
        };
        assert_eq!(bad.config, Some(serde_json::json!({"capacty": 5})));
        assert!(problem_text(&bad).contains("capacty"));
        assert!(retype("queue", "{").is_err());
    }
}
