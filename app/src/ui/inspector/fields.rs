//! Field rows: a label naming the field as the graph file does, with its explanation on
//! hover, the widget that edits it, and under it the diagnostics that name that field.
//! Rows go in two-column grids so that every section lines up.

use std::collections::HashMap;
use std::fmt::Display;

use egui::emath::Numeric;
use flowbench_engine::{Diagnostic, Severity};
use serde_json::Value;

/// Width of the label column, shared by every grid so sections line up.
pub const LABEL_WIDTH: f32 = 120.0;
/// Width of number fields, so their right edges line up.
pub const NUMBER_WIDTH: f32 = 96.0;

/// A two-column grid with the inspector's spacing.
pub fn grid(id_salt: impl egui::AsIdSalt, ui: &mut egui::Ui, add: impl FnOnce(&mut egui::Ui)) {
    egui::Grid::new(id_salt)
        .num_columns(2)
        .min_col_width(LABEL_WIDTH)
        .spacing([10.0, 6.0])
        .show(ui, add);
}

/// A section: a collapsible header, open at first.
pub fn section(ui: &mut egui::Ui, title: &str, add: impl FnOnce(&mut egui::Ui)) {
    egui::CollapsingHeader::new(egui::RichText::new(title).strong())
        .id_salt(("inspector section", title))
        .default_open(true)
        .show(ui, add);
}

/// How a number is shown and dragged.
#[derive(Debug, Clone, Copy)]
pub struct Num {
    pub unit: &'static str,
    pub min: f64,
    pub max: f64,
    /// Drag speed as a share of the value (so 5 and 50 000 both drag comfortably)...
    pub relative_speed: f64,
    /// ...but at least this much per pixel.
    pub min_speed: f64,
    pub max_decimals: usize,
}

impl Num {
    /// Milliseconds, >= 0.
    pub const MS: Num = Num {
        unit: " ms",
        min: 0.0,
        max: 1e9,
        relative_speed: 0.005,
        min_speed: 0.05,
        max_decimals: 3,
    };
    /// A rate per second, >= 0.
    pub const PER_SEC: Num = Num {
        unit: " /s",
        min: 0.0,
        max: 1e7,
        relative_speed: 0.005,
        min_speed: 0.01,
        max_decimals: 3,
    };
    /// A probability in 0..=1.
    pub const PROBABILITY: Num = Num {
        unit: "",
        min: 0.0,
        max: 1.0,
        relative_speed: 0.0,
        min_speed: 0.002,
        max_decimals: 3,
    };
    /// A count of at least 1.
    pub const COUNT: Num = Num {
        unit: "",
        min: 1.0,
        max: 1e12,
        relative_speed: 0.005,
        min_speed: 0.05,
        max_decimals: 0,
    };
    /// A count that may be 0.
    pub const COUNT0: Num = Num {
        min: 0.0,
        ..Num::COUNT
    };
    /// A multiplier > 0.
    pub const FACTOR: Num = Num {
        unit: " ×",
        min: 0.0,
        max: 1e6,
        relative_speed: 0.005,
        min_speed: 0.01,
        max_decimals: 3,
    };

    pub fn max(self, max: f64) -> Num {
        Num { max, ..self }
    }

    /// Drag speed per pixel at `value`.
    pub fn speed(&self, value: f64) -> f64 {
        (value.abs() * self.relative_speed).max(self.min_speed)
    }

    /// The drag value for `value`; values outside the range already in the document are
    /// shown as they are (validation names them) rather than silently clamped.
    pub fn drag<'a, T: Numeric>(&self, value: &'a mut T) -> egui::DragValue<'a> {
        let speed = self.speed(value.to_f64());
        let decimals = self.max_decimals;
        egui::DragValue::new(value)
            .custom_formatter(move |v, _| trimmed(v, decimals))
            .range(self.min..=self.max)
            .clamp_existing_to_range(false)
            .speed(speed)
            .max_decimals(self.max_decimals)
            .suffix(self.unit)
            .min_size(egui::vec2(NUMBER_WIDTH, 0.0))
    }
}

/// A JSON text being typed: it reaches the document only when it parses (and passes any
/// further check), so a half-typed value never corrupts the graph.
#[derive(Debug, Clone, Default)]
pub struct JsonText {
    pub text: String,
    /// The document value the text last agreed with; when the document changes under it
    /// (undo, another view), the text is rebuilt.
    synced: Option<Value>,
    pub error: Option<String>,
}

impl JsonText {
    fn of(value: Option<&Value>, pretty: bool) -> JsonText {
        JsonText {
            text: value.map(|v| json_text(v, pretty)).unwrap_or_default(),
            synced: value.cloned(),
            error: None,
        }
    }

    /// Records that `value` (parsed from the text) is now in the document.
    pub fn applied(&mut self, value: Option<Value>) {
        self.synced = value;
        self.error = None;
    }
}

/// `value` as text: on one line, or (`readable`) with nested values that fit on a line
/// kept on it and the rest indented.
pub fn json_text(value: &Value, readable: bool) -> String {
    if readable {
        readable_json(value, 0)
    } else {
        inline_json(value)
    }
}

/// Lines of at most this many characters keep their nested values on them.
const JSON_LINE: usize = 56;

fn inline_json(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(inline_json).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(fields) if fields.is_empty() => "{}".to_owned(),
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), inline_json(v)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        scalar => scalar.to_string(),
    }
}

fn readable_json(value: &Value, indent: usize) -> String {
    let inline = inline_json(value);
    if indent + inline.len() <= JSON_LINE {
        return inline;
    }
    let pad = " ".repeat(indent + 2);
    let (open, close, parts): (&str, &str, Vec<String>) = match value {
        Value::Array(items) if !items.is_empty() => (
            "[",
            "]",
            items
                .iter()
                .map(|v| format!("{pad}{}", readable_json(v, indent + 2)))
                .collect(),
        ),
        Value::Object(fields) if !fields.is_empty() => (
            "{",
            "}",
            fields
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{pad}{}: {}",
                        Value::String(k.clone()),
                        readable_json(v, indent + 2)
                    )
                })
                .collect(),
        ),
        _ => return inline,
    };
    format!(
        "{open}\n{}\n{}{close}",
        parts.join(",\n"),
        " ".repeat(indent)
    )
}

/// Parses JSON typed by a user; an empty text is `None`.
pub fn parse_json(text: &str) -> Result<Option<Value>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text).map(Some).map_err(|e| {
        let message = e.to_string();
        let message = message
            .rfind(" at line ")
            .map_or(message.as_str(), |i| &message[..i]);
        if text.lines().count() > 1 {
            format!("line {}, column {}: {message}", e.line(), e.column())
        } else {
            format!("column {}: {message}", e.column())
        }
    })
}

/// Per-subject memory of the inspector: texts being typed and values set aside.
#[derive(Debug, Default)]
pub struct Memory {
    texts: HashMap<String, JsonText>,
    /// The last value of an optional number before it was switched to null, so switching
    /// it back restores it.
    set_aside: HashMap<String, f64>,
    /// Plain texts being typed (ids) and whether their problem is showing.
    plain: HashMap<String, (String, Option<String>)>,
}

impl Memory {
    pub fn clear(&mut self) {
        *self = Memory::default();
    }

    /// The text of JSON field `key`, rebuilt from `current` when the document moved on.
    pub fn json(&mut self, key: &str, current: Option<&Value>, pretty: bool) -> &mut JsonText {
        let entry = self
            .texts
            .entry(key.to_owned())
            .or_insert_with(|| JsonText::of(current, pretty));
        if entry.synced.as_ref() != current {
            *entry = JsonText::of(current, pretty);
        }
        entry
    }

    /// A plain text being typed, starting from `current`.
    pub fn plain(&mut self, key: &str, current: &str) -> &mut (String, Option<String>) {
        self.plain
            .entry(key.to_owned())
            .or_insert_with(|| (current.to_owned(), None))
    }

    pub fn forget_plain(&mut self, key: &str) {
        self.plain.remove(key);
    }

    fn set_aside(&mut self, key: &str, value: f64) {
        self.set_aside.insert(key.to_owned(), value);
    }

    fn taken_back(&self, key: &str) -> Option<f64> {
        self.set_aside.get(key).copied()
    }
}

/// Switches an optional value on (to what was set aside, else `default`) or off (setting
/// the current value aside). Returns what was set aside when switching off.
pub fn toggle_optional<T: Numeric>(
    value: &mut Option<T>,
    on: bool,
    set_aside: Option<f64>,
    default: T,
) {
    match (on, value.is_some()) {
        (true, false) => *value = Some(set_aside.map_or(default, T::from_f64)),
        (false, true) => *value = None,
        _ => {}
    }
}

/// Rows of one subject (a node's config, a fault, the graph header) inside grids.
pub struct Rows<'a> {
    /// Diagnostics by field name, shown under the row of that field.
    notes: Vec<(String, Severity, String)>,
    /// Accessible names are `{prefix}{field}` when set (repeated groups such as faults),
    /// else the visible label names the widget.
    prefix: Option<String>,
    /// Keys memory entries of this subject.
    key: String,
    pub memory: &'a mut Memory,
    /// The first field changed this frame: what the edit is named and merged by.
    pub changed: Option<String>,
    /// Why the next rows are greyed out (a field another one makes irrelevant), if they are.
    disabled: Option<String>,
}

impl<'a> Rows<'a> {
    pub fn new(key: impl Into<String>, memory: &'a mut Memory) -> Rows<'a> {
        Rows {
            notes: Vec::new(),
            prefix: None,
            key: key.into(),
            memory,
            changed: None,
            disabled: None,
        }
    }

    /// Greys out the rows that follow, explaining why on hover; `None` enables them again.
    pub fn disabled(&mut self, reason: Option<&str>) {
        self.disabled = reason.map(str::to_owned);
    }

    /// `help`, followed by why the row is greyed out when it is.
    fn explained(&self, help: &str) -> String {
        match &self.disabled {
            Some(reason) => format!("{help}\n\n{reason}"),
            None => help.to_owned(),
        }
    }

    /// Gives a row's widget its hover text and accessible description; a greyed-out row's
    /// widget says on hover why it is greyed out (egui shows no plain hover text on a
    /// disabled widget).
    pub fn hover(&self, response: egui::Response, help: &str) -> egui::Response {
        let text = self.explained(help);
        if self.disabled.is_some() {
            response.on_hover_text(&text).on_disabled_hover_text(text)
        } else {
            response.on_hover_text(text)
        }
    }

    /// [`Rows::hover`] for the value of an optional field, which is also greyed out while
    /// null: then its hover says what null means and how to set a value.
    fn optional_hover(
        &self,
        response: egui::Response,
        help: &str,
        is_set: bool,
        null_means: &str,
    ) -> egui::Response {
        if is_set || self.disabled.is_some() {
            return self.hover(response, help);
        }
        response.on_hover_text(help).on_disabled_hover_text(format!(
            "{help}\nNull: {null_means}. Untick to set a value."
        ))
    }

    /// Shows `diagnostics` whose field is `Some(..)` under the row of that field.
    pub fn with_notes<'d>(
        mut self,
        diagnostics: impl IntoIterator<Item = (Option<&'d str>, &'d Diagnostic)>,
    ) -> Self {
        self.notes = diagnostics
            .into_iter()
            .filter_map(|(field, d)| Some((field?.to_owned(), d.severity, d.message.clone())))
            .collect();
        self
    }

    /// Names widgets `{prefix}{field}` for assistive technology and tests.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    pub fn change(&mut self, field: &str) {
        if self.changed.is_none() {
            self.changed = Some(field.to_owned());
        }
    }

    fn memory_key(&self, field: &str) -> String {
        format!("{}/{field}", self.key)
    }

    /// Names `response` after its row: by the visible `label`, or by `{prefix}{field}`.
    pub fn name(
        &self,
        response: egui::Response,
        label: &egui::Response,
        field: &str,
    ) -> egui::Response {
        match &self.prefix {
            Some(prefix) => response.accessible_name(format!("{prefix}{field}")),
            None => response.labelled_by(label.id),
        }
    }

    /// The accessible name of a secondary widget of a row (a checkbox beside a value).
    pub fn secondary_name(&self, field: &str, what: &str) -> String {
        format!("{}{field} {what}", self.prefix.as_deref().unwrap_or(""))
    }

    /// One row: the label (`field` shown as `shown`), the widget added by `add`, then the
    /// diagnostics naming `field`.
    pub fn row<R>(
        &mut self,
        ui: &mut egui::Ui,
        field: &str,
        shown: &str,
        help: &str,
        add: impl FnOnce(&mut Self, &mut egui::Ui, &egui::Response) -> R,
    ) -> R {
        // Two leading spaces indent a parameter under the field it belongs to.
        let (indent, shown) = match shown.strip_prefix("  ") {
            Some(rest) => (true, rest),
            None => (false, shown),
        };
        let help = self.explained(help);
        let label = ui
            .horizontal(|ui| {
                if indent {
                    ui.add_space(14.0);
                }
                ui.label(shown).on_hover_text(&help)
            })
            .inner;
        let enabled = self.disabled.is_none();
        let result = ui
            .horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 6.0;
                if !enabled {
                    ui.disable();
                }
                add(self, ui, &label)
            })
            .inner;
        ui.end_row();
        self.notes_row(ui, field);
        result
    }

    /// The diagnostics naming `field`, as a grid row under the field.
    pub fn notes_row(&self, ui: &mut egui::Ui, field: &str) {
        let mut any = false;
        for (_, severity, message) in self.notes.iter().filter(|(f, _, _)| f == field) {
            if !any {
                ui.label("");
                any = true;
            }
            note(ui, *severity, message);
        }
        if any {
            ui.end_row();
        }
    }

    /// The diagnostics naming `field`, outside a grid.
    pub fn notes_for(&self, ui: &mut egui::Ui, field: &str) {
        for (_, severity, message) in self.notes.iter().filter(|(f, _, _)| f == field) {
            note(ui, *severity, message);
        }
    }

    /// A number.
    pub fn number<T: Numeric>(
        &mut self,
        ui: &mut egui::Ui,
        field: &str,
        help: &str,
        value: &mut T,
        num: Num,
    ) {
        self.number_as(ui, field, field, help, value, num);
    }

    /// A number whose label differs from its field path (`mean_ms` of `service_time`).
    pub fn number_as<T: Numeric>(
        &mut self,
        ui: &mut egui::Ui,
        field: &str,
        shown: &str,
        help: &str,
        value: &mut T,
        num: Num,
    ) {
        self.row(ui, field, shown, help, |rows, ui, label| {
            let response = rows.hover(ui.add(num.drag(value)), help);
            let response = rows.name(response, label, field);
            if response.changed() {
                rows.change(field);
            }
        });
    }

    /// An optional number: the value (greyed while null) and a checkbox saying what null
    /// means ("unbounded", "endless", …).
    #[allow(clippy::too_many_arguments)]
    pub fn optional_number<T: Numeric>(
        &mut self,
        ui: &mut egui::Ui,
        field: &str,
        help: &str,
        value: &mut Option<T>,
        default: T,
        null_means: &str,
        num: Num,
    ) {
        self.row(ui, field, field, help, |rows, ui, label| {
            let key = rows.memory_key(field);
            let mut shown = match value {
                Some(v) => *v,
                None => rows.memory.taken_back(&key).map_or(default, T::from_f64),
            };
            let response = ui.add_enabled(value.is_some(), num.drag(&mut shown));
            let response = rows.optional_hover(response, help, value.is_some(), null_means);
            let response = rows.name(response, label, field);
            if response.changed() && value.is_some() {
                *value = Some(shown);
                rows.change(field);
            }
            let mut is_null = value.is_none();
            let name = rows.secondary_name(field, null_means);
            let toggle = rows
                .hover(
                    ui.checkbox(&mut is_null, null_means),
                    &format!("Null: {null_means}"),
                )
                .accessible_name(name);
            if toggle.changed() {
                if let Some(v) = value {
                    rows.memory.set_aside(&key, v.to_f64());
                }
                toggle_optional(value, !is_null, rows.memory.taken_back(&key), default);
                rows.change(field);
            }
        });
    }

    /// A choice among named values, as a combo box.
    pub fn choice<T: Copy + PartialEq>(
        &mut self,
        ui: &mut egui::Ui,
        field: &str,
        help: &str,
        value: &mut T,
        options: &[(T, &str, &str)],
    ) {
        self.row(ui, field, field, help, |rows, ui, label| {
            let before = *value;
            let current = options
                .iter()
                .find(|(v, _, _)| *v == *value)
                .map_or("?", |o| o.1);
            let response = egui::ComboBox::from_id_salt(("choice", field))
                .selected_text(current)
                .width(NUMBER_WIDTH + 24.0)
                .show_ui(ui, |ui| {
                    for (option, name, option_help) in options {
                        ui.selectable_value(value, *option, *name)
                            .on_hover_text(*option_help);
                    }
                })
                .response;
            let explain = options
                .iter()
                .find(|(v, _, _)| *v == *value)
                .map_or("", |o| o.2);
            let response = rows.hover(response, &format!("{help}\n{current}: {explain}"));
            rows.name(response, label, field);
            if *value != before {
                rows.change(field);
            }
        });
    }

    /// A yes/no field as a checkbox with a short text.
    pub fn flag(
        &mut self,
        ui: &mut egui::Ui,
        field: &str,
        help: &str,
        value: &mut bool,
        text: &str,
    ) {
        self.row(ui, field, field, help, |rows, ui, label| {
            let response = rows.hover(ui.checkbox(value, text), help);
            let response = rows.name(response, label, field);
            if response.changed() {
                rows.change(field);
            }
        });
    }

    /// An optional text: the text (greyed while null) and a checkbox saying what null means.
    pub fn optional_text(
        &mut self,
        ui: &mut egui::Ui,
        field: &str,
        help: &str,
        value: &mut Option<String>,
        default: &str,
        null_means: &str,
    ) {
        self.row(ui, field, field, help, |rows, ui, label| {
            let key = rows.memory_key(field);
            let mut shown = match value {
                Some(v) => v.clone(),
                None => rows.memory.plain(&key, default).0.clone(),
            };
            let edit = egui::TextEdit::singleline(&mut shown).desired_width(NUMBER_WIDTH);
            let response = ui.add_enabled(value.is_some(), edit);
            let response = rows.optional_hover(response, help, value.is_some(), null_means);
            let response = rows.name(response, label, field);
            if response.changed() && value.is_some() {
                *value = Some(shown.clone());
                rows.change(field);
            }
            let mut is_null = value.is_none();
            let name = rows.secondary_name(field, null_means);
            let toggle = rows
                .hover(
                    ui.checkbox(&mut is_null, null_means),
                    &format!("Null: {null_means}"),
                )
                .accessible_name(name);
            if toggle.changed() {
                if is_null {
                    rows.memory.plain(&key, "").0 = shown;
                    *value = None;
                } else {
                    let back = rows.memory.plain(&key, default).0.clone();
                    *value = Some(if back.is_empty() {
                        default.to_owned()
                    } else {
                        back
                    });
                }
                rows.change(field);
            }
        });
    }
}

/// One diagnostic line in its severity's colour after its sign (a dot for an error, a
/// triangle for a warning), wrapped to the available width.
pub fn note(ui: &mut egui::Ui, severity: Severity, message: impl Display) {
    let color = match severity {
        Severity::Error => ui.visuals().error_fg_color,
        Severity::Warning => ui.visuals().warn_fg_color,
    };
    ui.horizontal_top(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        let size = egui::vec2(8.0, ui.text_style_height(&egui::TextStyle::Small));
        let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
        let c = rect.center();
        match severity {
            Severity::Error => ui.painter().circle_filled(c, 3.5, color),
            Severity::Warning => ui.painter().add(egui::Shape::convex_polygon(
                vec![
                    c + egui::vec2(0.0, -4.0),
                    c + egui::vec2(4.0, 3.5),
                    c + egui::vec2(-4.0, 3.5),
                ],
                color,
                egui::Stroke::NONE,
            )),
        };
        ui.add(
            egui::Label::new(
                egui::RichText::new(message.to_string())
                    .color(color)
                    .small(),
            )
            .wrap(),
        );
    });
}

/// A small button showing a glyph of the monospace font (arrows), named for assistive
/// technology.
pub fn glyph_button(ui: &mut egui::Ui, enabled: bool, glyph: &str, name: String) -> egui::Response {
    let text = egui::RichText::new(glyph).monospace();
    ui.add_enabled(enabled, egui::Button::new(text).small())
        .accessible_name(name)
}

/// An arrow between two names.
pub fn arrow(ui: &mut egui::Ui) {
    ui.label(egui::RichText::new("→").monospace().weak());
}

/// A problem with what is being typed, in the error colour.
pub fn typing_error(ui: &mut egui::Ui, message: impl Display) {
    let color = ui.visuals().error_fg_color;
    ui.add(
        egui::Label::new(
            egui::RichText::new(message.to_string())
                .color(color)
                .small(),
        )
        .wrap(),
    );
}

/// A duration in the most readable unit: `0.25 ms`, `12 ms`, `4.6 s`, `2.5 min`.
pub fn format_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return format!("{ms} ms");
    }
    let (value, unit) = if ms.abs() >= 120_000.0 {
        (ms / 60_000.0, "min")
    } else if ms.abs() >= 1000.0 {
        (ms / 1000.0, "s")
    } else {
        (ms, "ms")
    };
    format!("{} {unit}", significant(value))
}

/// `x` with at most `decimals` decimals and no trailing zeros.
pub fn trimmed(x: f64, decimals: usize) -> String {
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// A number with about three significant digits, without trailing zeros.
pub fn significant(x: f64) -> String {
    let decimals = if x == 0.0 || x.abs() >= 100.0 {
        0
    } else if x.abs() >= 10.0 {
        1
    } else if x.abs() >= 1.0 {
        2
    } else {
        3
    };
    trimmed(x, decimals)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Switching an optional number off and on again brings back the value set aside, or
    /// the default when nothing was.
    #[test]
    fn optional_numbers_toggle_back_to_their_value() {
        let mut capacity: Option<u64> = Some(250);
        toggle_optional(&mut capacity, false, None, 1000);
        assert_eq!(capacity, None);
        toggle_optional(&mut capacity, true, Some(250.0), 1000);
        assert_eq!(capacity, Some(250));
        let mut limit: Option<u64> = None;
        toggle_optional(&mut limit, true, None, 1000);
        assert_eq!(limit, Some(1000));
        // Switching on what is already on changes nothing.
        toggle_optional(&mut limit, true, Some(5.0), 1000);
        assert_eq!(limit, Some(1000));
    }

    /// Typed JSON: empty is "none", errors say where.
    #[test]
    fn parses_typed_json() {
        assert_eq!(parse_json("  "), Ok(None));
        assert_eq!(parse_json("[1, 2]"), Ok(Some(serde_json::json!([1, 2]))));
        let err = parse_json("{\"a\": }").unwrap_err();
        assert!(err.starts_with("column 7"), "{err}");
        let err = parse_json("{\n  \"a\": 1,\n}").unwrap_err();
        assert!(err.starts_with("line 3"), "{err}");
    }

    /// The document moving on (undo) rebuilds the text; a bad text stays while it does not.
    #[test]
    fn json_texts_follow_the_document() {
        let mut memory = Memory::default();
        let one = serde_json::json!(1);
        let two = serde_json::json!(2);
        memory.json("k", Some(&one), false).text = "1x".to_owned();
        assert_eq!(memory.json("k", Some(&one), false).text, "1x");
        assert_eq!(memory.json("k", Some(&two), false).text, "2");
        assert_eq!(memory.json("k", None, false).text, "");
    }

    /// Payload text stays short: what fits on a line stays on it.
    #[test]
    fn json_is_written_readably() {
        let v = serde_json::json!({"amount": {"$int": [1, 500]}, "country": {"$choice": ["DE", "FR", "US"]}});
        assert_eq!(
            json_text(&v, true),
            "{\n  \"amount\": {\"$int\": [1, 500]},\n  \"country\": {\"$choice\": [\"DE\", \"FR\", \"US\"]}\n}"
        );
        assert_eq!(json_text(&serde_json::json!(["a", 1]), false), "[\"a\", 1]");
        let parsed: Value = serde_json::from_str(&json_text(&v, true)).unwrap();
        assert_eq!(parsed, v);
    }

    /// Durations read naturally.
    #[test]
    fn formats_durations() {
        assert_eq!(format_ms(0.25), "0.25 ms");
        assert_eq!(format_ms(10.0), "10 ms");
        assert_eq!(format_ms(46.0517), "46.1 ms");
        assert_eq!(format_ms(4605.17), "4.61 s");
        assert_eq!(format_ms(150_000.0), "2.5 min");
    }
}
