//! A router's rules as a table: field, op, value (JSON), port; add, remove, reorder.

use flowbench_engine::model::{RouteRule, RouterConfig, RuleOp};
use serde_json::Value;

use super::fields::{Rows, glyph_button, parse_json, typing_error};

const OPS: [(RuleOp, &str, &str); 8] = [
    (
        RuleOp::Eq,
        "==",
        "Equal (numbers by value, anything else as JSON)",
    ),
    (RuleOp::Ne, "!=", "Not equal (also matches a missing field)"),
    (
        RuleOp::Lt,
        "<",
        "Less than (numbers numerically, strings lexically)",
    ),
    (RuleOp::Le, "<=", "Less than or equal"),
    (RuleOp::Gt, ">", "Greater than"),
    (RuleOp::Ge, ">=", "Greater than or equal"),
    (
        RuleOp::In,
        "in",
        "The value is an array holding the field's value",
    ),
    (
        RuleOp::Exists,
        "exists",
        "The field is present and not null (takes no value)",
    ),
];

pub fn op_name(op: RuleOp) -> &'static str {
    OPS.iter().find(|o| o.0 == op).map_or("?", |o| o.1)
}

/// A typed rule value: JSON, or nothing. A bare word is refused with a hint to quote it.
pub fn parse_rule_value(text: &str) -> Result<Option<Value>, String> {
    parse_json(text).map_err(|e| {
        let word = text.trim();
        let bare = !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
            && word.parse::<f64>().is_err();
        if bare {
            format!("not JSON: write text in quotes, \"{word}\"")
        } else {
            format!("not JSON: {e}")
        }
    })
}

/// `rule` with operator `op`, its value adapted: `exists` takes none, `in` an array (a
/// single value is wrapped), and a one-element array unwrapped when leaving `in`.
pub fn with_op(rule: &RouteRule, op: RuleOp) -> RouteRule {
    let value = match (op, rule.value.clone()) {
        (RuleOp::Exists, _) => None,
        (RuleOp::In, Some(Value::Array(items))) => Some(Value::Array(items)),
        (RuleOp::In, Some(v)) => Some(Value::Array(vec![v])),
        (_, Some(Value::Array(mut items))) if rule.op == RuleOp::In && items.len() == 1 => {
            items.pop()
        }
        (_, v) => v,
    };
    RouteRule {
        op,
        value,
        ..rule.clone()
    }
}

/// A port name no rule uses yet.
fn fresh_port(router: &RouterConfig) -> String {
    (1..)
        .map(|i| format!("route-{i}"))
        .find(|p| !router.has_port(p))
        .expect("a free port name exists")
}

/// One line of the table: `buttons` placed from the right edge, then `inputs` left to
/// right in the width that remains, given as column widths (field, op, value, port).
fn table_row(
    ui: &mut egui::Ui,
    buttons: impl FnOnce(&mut egui::Ui),
    inputs: impl FnOnce(&mut egui::Ui, [f32; 4]),
) {
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            buttons(ui);
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                let spacing = ui.spacing().item_spacing.x;
                let op = 52.0;
                let rest = (ui.available_width() - op - 3.0 * spacing).max(90.0);
                inputs(ui, [rest * 0.34, op, rest * 0.36, rest * 0.30]);
            });
        });
    });
}

/// The rules table; changes `router` in place and names the changed field in `rows`.
pub fn rules_ui(ui: &mut egui::Ui, rows: &mut Rows, node_id: &str, router: &mut RouterConfig) {
    ui.label("rules").on_hover_text(
        "Each message goes out the port of the first rule its payload matches (top to bottom); \
         an unmatched one takes default_port. field is a dotted path into the payload (order.amount).",
    );
    rows.notes_for(ui, "rules");
    let count = router.rules.len();
    if count > 0 {
        table_row(
            ui,
            |ui| {
                // Invisible copies of the row buttons keep the columns above the inputs.
                for glyph in ["×", "↓", "↑"] {
                    ui.add_visible(
                        false,
                        egui::Button::new(egui::RichText::new(glyph).monospace()).small(),
                    );
                }
            },
            |ui, [field, op, value, _]| {
                let title = |ui: &mut egui::Ui, text: &str, width: f32| {
                    let layout = egui::Layout::left_to_right(egui::Align::Center);
                    ui.allocate_ui_with_layout(egui::vec2(width, 14.0), layout, |ui| {
                        ui.set_min_width(width);
                        ui.add_space(4.0);
                        ui.label(egui::RichText::new(text).small().weak());
                    });
                };
                title(ui, "field", field);
                title(ui, "op", op);
                title(ui, "value", value);
                title(ui, "port", ui.available_width());
            },
        );
    }
    let mut remove = None;
    let mut swap = None;
    for (i, rule) in router.rules.iter_mut().enumerate() {
        let path = |name: &str| format!("rules[{i}].{name}");
        table_row(
            ui,
            |ui| {
                let delete = ui
                    .small_button("×")
                    .accessible_name(format!("remove rule {i}"));
                if delete.on_hover_text("Remove this rule").clicked() {
                    remove = Some(i);
                }
                let down = glyph_button(ui, i + 1 < count, "↓", format!("move rule {i} down"));
                if down.on_hover_text("Move down").clicked() {
                    swap = Some((i, i + 1));
                }
                let up = glyph_button(ui, i > 0, "↑", format!("move rule {i} up"));
                if up
                    .on_hover_text("Move up: rules are tried in order")
                    .clicked()
                {
                    swap = Some((i - 1, i));
                }
            },
            |ui, [field_width, op_width, value_width, _]| {
                let field = egui::TextEdit::singleline(&mut rule.field)
                    .hint_text("path")
                    .desired_width(field_width);
                let response = ui.add(field).accessible_name(path("field")).on_hover_text(
                    "Dotted path of the payload field the rule reads (order.amount)",
                );
                if response.changed() {
                    rows.change(&path("field"));
                }
                let before = rule.op;
                let mut op = rule.op;
                egui::ComboBox::from_id_salt(("rule op", i))
                    .selected_text(op_name(op))
                    .width(op_width)
                    .show_ui(ui, |ui| {
                        for (value, name, help) in OPS {
                            ui.selectable_value(&mut op, value, name)
                                .on_hover_text(help);
                        }
                    })
                    .response
                    .accessible_name(path("op"));
                if op != before {
                    *rule = with_op(rule, op);
                    rows.change(&path("op"));
                }
                let key = format!("{node_id}/{}", path("value"));
                let buffer = rows.memory.json(&key, rule.value.as_ref(), false);
                let hint = if rule.op == RuleOp::Exists {
                    ""
                } else {
                    "JSON"
                };
                let edit = egui::TextEdit::singleline(&mut buffer.text)
                    .hint_text(hint)
                    .desired_width(value_width)
                    .font(egui::TextStyle::Monospace);
                let response = ui
                    .add_enabled(rule.op != RuleOp::Exists, edit)
                    .accessible_name(path("value"))
                    .on_hover_text(
                        "The value to compare with, as JSON: 100, \"eu\", [\"DE\", \"FR\"] for in",
                    );
                if response.changed() {
                    match parse_rule_value(&buffer.text) {
                        Ok(value) => {
                            buffer.applied(value.clone());
                            rule.value = value;
                            rows.change(&path("value"));
                        }
                        Err(e) => buffer.error = Some(e),
                    }
                }
                let port =
                    egui::TextEdit::singleline(&mut rule.port).desired_width(ui.available_width());
                let response = ui.add(port).accessible_name(path("port")).on_hover_text(
                    "The output port a matching message leaves by; wire it to a node",
                );
                if response.changed() {
                    rows.change(&path("port"));
                }
            },
        );
        let key = format!("{node_id}/{}", path("value"));
        if let Some(error) = rows
            .memory
            .json(&key, rule.value.as_ref(), false)
            .error
            .clone()
        {
            typing_error(ui, format!("value not applied: {error}"));
        }
        for name in ["field", "op", "value", "port"] {
            rows.notes_for(ui, &path(name));
        }
    }
    if let Some((a, b)) = swap {
        router.rules.swap(a, b);
        rows.change("rules");
    }
    if let Some(i) = remove {
        router.rules.remove(i);
        rows.change("rules");
    }
    if ui
        .button("+ Add rule")
        .on_hover_text("A new rule at the end, on a port of its own")
        .clicked()
    {
        let port = fresh_port(router);
        router.rules.push(RouteRule {
            field: String::new(),
            op: RuleOp::Eq,
            value: Some(Value::String(String::new())),
            port,
        });
        rows.change("rules");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Rule values are JSON; bare words get a hint to quote them.
    #[test]
    fn rule_values_parse_as_json() {
        assert_eq!(parse_rule_value("100"), Ok(Some(json!(100))));
        assert_eq!(parse_rule_value("\"eu\""), Ok(Some(json!("eu"))));
        assert_eq!(
            parse_rule_value("[\"DE\", \"FR\"]"),
            Ok(Some(json!(["DE", "FR"])))
        );
        assert_eq!(parse_rule_value(""), Ok(None));
        let err = parse_rule_value("eu").unwrap_err();
        assert!(err.contains("\"eu\""), "{err}");
        assert!(parse_rule_value("[1,").unwrap_err().starts_with("not JSON"));
    }

    /// Changing the operator adapts the value: `in` wraps, `exists` drops, leaving `in`
    /// unwraps a single value.
    #[test]
    fn changing_the_op_adapts_the_value() {
        let rule = RouteRule {
            field: "country".into(),
            op: RuleOp::Eq,
            value: Some(json!("DE")),
            port: "eu".into(),
        };
        let as_in = with_op(&rule, RuleOp::In);
        assert_eq!(as_in.value, Some(json!(["DE"])));
        assert_eq!(with_op(&as_in, RuleOp::Eq).value, Some(json!("DE")));
        assert_eq!(with_op(&rule, RuleOp::Exists).value, None);
        assert_eq!(with_op(&rule, RuleOp::Gt).value, Some(json!("DE")));
    }
}
