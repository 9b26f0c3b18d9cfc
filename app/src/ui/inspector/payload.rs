//! The payload template of producers and clients: JSON typed freely, reaching the document
//! only when it parses and compiles as a template.

use flowbench_engine::payload::Template;
use serde_json::Value;

use super::fields::{Rows, parse_json, typing_error};

const HELP: &str = "JSON template of each message's payload (what routers and gateways read). \
                    Empty: messages carry no payload.";

/// The placeholders and what they become, for the hint under the editor.
const PLACEHOLDERS: [(&str, &str); 6] = [
    ("\"$seq\"", "1, 2, 3, … per node"),
    ("\"$key\"", "the message key (or null)"),
    ("\"$id\"", "the message id"),
    ("{\"$int\": [lo, hi]}", "a whole number in lo..=hi"),
    ("{\"$float\": [lo, hi]}", "a number in lo..hi"),
    ("{\"$choice\": [a, b, …]}", "one of the values"),
];

/// A typed payload text as the document's value: empty is no payload; otherwise it must
/// be JSON that compiles as a template.
pub fn parse_payload(text: &str) -> Result<Option<Value>, String> {
    let value = parse_json(text)?;
    if let Some(v) = &value {
        Template::new(v)?;
    }
    Ok(value)
}

/// The editor; returns the new payload when the text changed to a valid one.
pub fn payload_ui(
    ui: &mut egui::Ui,
    rows: &mut Rows,
    node_id: &str,
    current: Option<&Value>,
) -> Option<Option<Value>> {
    let label = ui.label("payload").on_hover_text(HELP);
    let buffer = rows
        .memory
        .json(&format!("{node_id}/payload"), current, true);
    let edit = egui::TextEdit::multiline(&mut buffer.text)
        .code_editor()
        .desired_rows(4)
        .desired_width(f32::INFINITY)
        .hint_text("{\"amount\": {\"$int\": [1, 500]}}");
    let response = ui.add(edit).labelled_by(label.id).on_hover_text(HELP);
    let mut applied = None;
    if response.changed() {
        match parse_payload(&buffer.text) {
            Ok(value) => {
                buffer.applied(value.clone());
                applied = Some(value);
            }
            Err(e) => buffer.error = Some(e),
        }
    }
    if let Some(error) = &buffer.error {
        typing_error(ui, format!("Not applied: {error}"));
    }
    rows.notes_for(ui, "payload");
    ui.add_space(2.0);
    egui::Grid::new("payload placeholders")
        .num_columns(2)
        .spacing([10.0, 1.0])
        .show(ui, |ui| {
            for (form, meaning) in PLACEHOLDERS {
                ui.label(egui::RichText::new(form).monospace().small());
                ui.label(egui::RichText::new(meaning).small().weak());
                ui.end_row();
            }
        })
        .response
        .on_hover_text(
            "Placeholders are filled per message; everything else is copied as written.",
        );
    applied
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Only JSON that compiles as a template is applied; the reason names the place.
    #[test]
    fn payload_text_is_checked_as_a_template() {
        assert_eq!(parse_payload(""), Ok(None));
        assert_eq!(
            parse_payload("{\"n\": \"$seq\"}"),
            Ok(Some(json!({"n": "$seq"})))
        );
        let err = parse_payload("{\"x\": {\"$int\": [5, 1]}}").unwrap_err();
        assert!(err.starts_with("payload.x.$int"), "{err}");
        let err = parse_payload("{\"x\": ").unwrap_err();
        assert!(err.contains("column"), "{err}");
    }
}
