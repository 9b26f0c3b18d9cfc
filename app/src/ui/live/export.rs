//! Exports of a live run: its report as JSON (graph-format.md §2, as `flowbench run --report`
//! writes it) and its time series as CSV; and of the Replications window's figures as CSV.
//! Through a native save dialog or, where none can be shown, a window asking for the path.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use flowbench_engine::Report;

use super::LiveSession;
use super::series::{Sample, Series};
use crate::file_io;
use crate::ui::{AppCommand, Document};

/// A native dialog that answers "no file" faster than a person could was not shown.
const DIALOG_FAILED_WITHIN: Duration = Duration::from_millis(400);

/// The CSV's header line.
pub const CSV_HEADER: &str = "node,sim_time_ms,in_per_sec,out_per_sec,depth,latency_mean_ms,p50_ms,p99_ms,error_rate,breaker_state";

/// What is being exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportWhat {
    Report,
    SeriesCsv,
    /// The Replications window's figures, with every run's value.
    ReplicationsCsv,
    /// The same as the command line's replications (or sweep) JSON.
    ReplicationsJson,
}

impl ExportWhat {
    fn title(self) -> &'static str {
        match self {
            ExportWhat::Report => "Export run report",
            ExportWhat::SeriesCsv => "Export time series",
            ExportWhat::ReplicationsCsv | ExportWhat::ReplicationsJson => "Export replications",
        }
    }

    fn filter(self) -> (&'static str, &'static [&'static str]) {
        match self {
            ExportWhat::Report => ("Flowbench run report", &["json"]),
            ExportWhat::ReplicationsJson => ("Flowbench replications", &["json"]),
            ExportWhat::SeriesCsv | ExportWhat::ReplicationsCsv => ("CSV", &["csv"]),
        }
    }

    fn file_suffix(self) -> &'static str {
        match self {
            ExportWhat::Report => "report.json",
            ExportWhat::SeriesCsv => "series.csv",
            ExportWhat::ReplicationsCsv => "replications.csv",
            ExportWhat::ReplicationsJson => "replications.json",
        }
    }
}

/// An export waiting for its path: the content as it was when the user asked.
struct Pending {
    what: ExportWhat,
    content: String,
    suggestion: PathBuf,
}

struct Dialog {
    pending: Pending,
    answer: mpsc::Receiver<Option<PathBuf>>,
    started: Instant,
}

struct Prompt {
    pending: Pending,
    text: String,
    problem: Option<String>,
    focus: bool,
}

/// Exports in progress.
#[derive(Default)]
pub struct ExportState {
    /// Whether native dialogs are used; decided at the first export unless set.
    native: Option<bool>,
    dialog: Option<Dialog>,
    prompt: Option<Prompt>,
}

impl ExportState {
    /// Use native dialogs (rfd) or the path window.
    pub fn set_native_dialogs(&mut self, on: bool) {
        self.native = Some(on);
    }

    /// Whether frames must keep coming to notice a dialog's answer.
    pub fn wants_frames(&self) -> bool {
        self.dialog.is_some()
    }

    /// Whether the path window is open.
    pub fn prompt_open(&self) -> bool {
        self.prompt.is_some()
    }
}

/// The report as pretty JSON with a final newline, as the command line writes it.
pub fn report_json(report: &Report) -> String {
    let mut json = serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        format!("{{\"error\": \"the report could not be written as JSON: {e}\"}}")
    });
    json.push('\n');
    json
}

/// The time series as CSV: one row per sample per node, nodes in `order` (graph order),
/// samples oldest first. Values a node does not have are empty.
pub fn series_csv(series: &Series, order: &[&str]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for id in order {
        let Some(node) = series.node(id) else {
            continue;
        };
        for s in node.samples.iter() {
            let row = [
                csv_field(id),
                format!("{}", s.t_ms),
                value(s.in_per_sec),
                value(s.out_per_sec),
                value(s.depth),
                value(s.latency_mean_ms),
                value(s.p50_ms),
                value(s.p99_ms),
                value(s.error_rate),
                Sample::get(s.breaker_state).map_or_else(String::new, |v| format!("{v:.0}")),
            ];
            out.push_str(&row.join(","));
            out.push('\n');
        }
    }
    out
}

fn value(v: f32) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
pub(crate) fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// Asks where to write `what` of the current run, then writes it (AppCommand::ExportReport
/// and AppCommand::ExportSeriesCsv).
pub fn request(
    live: &mut LiveSession,
    doc: &Document,
    what: ExportWhat,
    ctx: &egui::Context,
    commands: &mut Vec<AppCommand>,
) {
    let Some(snapshot) = live.snapshot() else {
        commands.push(AppCommand::Status(
            "Nothing to export yet: run the graph first".to_owned(),
        ));
        return;
    };
    let content = match what {
        ExportWhat::Report => report_json(&snapshot.report),
        ExportWhat::SeriesCsv => {
            let order: Vec<&str> = snapshot.report.nodes.keys().map(String::as_str).collect();
            series_csv(live.series(), &order)
        }
        // Made by the Replications window, which hands it to `request_content`.
        ExportWhat::ReplicationsCsv | ExportWhat::ReplicationsJson => {
            commands.push(AppCommand::Status(
                "Export replications from the Replications window".to_owned(),
            ));
            return;
        }
    };
    request_content(live, doc, what, content, ctx);
}

/// Asks where to write `content` (made by the caller, such as the Replications window's
/// figures), then writes it.
pub fn request_content(
    live: &mut LiveSession,
    doc: &Document,
    what: ExportWhat,
    content: String,
    ctx: &egui::Context,
) {
    let pending = Pending {
        what,
        content,
        suggestion: suggested_path(doc, what),
    };
    let export = &mut live.export;
    let native = *export
        .native
        .get_or_insert_with(crate::ui::files::native_dialogs_possible);
    if native {
        export.dialog = Some(spawn_dialog(pending));
    } else {
        export.prompt = Some(prompt(pending));
    }
    ctx.request_repaint();
}

/// Each frame: picks up a dialog's answer and shows the path window.
pub fn dialogs_ui(live: &mut LiveSession, ctx: &egui::Context, commands: &mut Vec<AppCommand>) {
    let export = &mut live.export;
    if let Some(dialog) = &export.dialog {
        let answer = match dialog.answer.try_recv() {
            Ok(answer) => Some(answer),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => Some(None),
        };
        if let Some(answer) = answer
            && let Some(dialog) = export.dialog.take()
        {
            match answer {
                Some(path) => write(&dialog.pending, &path, commands),
                None if dialog.started.elapsed() < DIALOG_FAILED_WITHIN => {
                    export.native = Some(false);
                    export.prompt = Some(prompt(dialog.pending));
                }
                None => {}
            }
        }
    }
    prompt_ui(export, ctx, commands);
}

fn prompt(pending: Pending) -> Prompt {
    Prompt {
        text: pending.suggestion.display().to_string(),
        pending,
        problem: None,
        focus: true,
    }
}

fn prompt_ui(export: &mut ExportState, ctx: &egui::Context, commands: &mut Vec<AppCommand>) {
    let Some(prompt) = &mut export.prompt else {
        return;
    };
    let (mut confirmed, mut cancelled) = (false, false);
    let modal = egui::Modal::new(egui::Id::unique("live.export.prompt")).show(ctx, |ui| {
        ui.set_width(520.0);
        ui.heading(prompt.pending.what.title());
        ui.add_space(4.0);
        let label = ui.label("Path");
        let field = ui
            .add(egui::TextEdit::singleline(&mut prompt.text).desired_width(f32::INFINITY))
            .labelled_by(label.id);
        if prompt.focus {
            field.request_focus();
            prompt.focus = false;
        }
        if field.changed() {
            prompt.problem = None;
        }
        if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            confirmed = true;
        }
        if let Some(problem) = &prompt.problem {
            ui.colored_label(ui.visuals().error_fg_color, problem);
        } else if Path::new(prompt.text.trim()).is_file() {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "A file of this name exists: it will be replaced.",
            );
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui.button("Export").clicked() {
                confirmed = true;
            }
            if ui.button("Cancel").clicked() {
                cancelled = true;
            }
        });
    });
    if modal.should_close() {
        cancelled = true;
    }
    if confirmed {
        let path = PathBuf::from(prompt.text.trim());
        if prompt.text.trim().is_empty() {
            prompt.problem = Some("Type the path of the file to write".to_owned());
        } else {
            match write_file(&prompt.pending, &path) {
                Ok(()) => {
                    commands.push(AppCommand::Status(exported_message(
                        prompt.pending.what,
                        &path,
                    )));
                    export.prompt = None;
                }
                Err(problem) => prompt.problem = Some(problem),
            }
        }
    } else if cancelled {
        export.prompt = None;
    }
}

fn write(pending: &Pending, path: &Path, commands: &mut Vec<AppCommand>) {
    let message = match write_file(pending, path) {
        Ok(()) => exported_message(pending.what, path),
        Err(problem) => problem,
    };
    commands.push(AppCommand::Status(message));
}

fn write_file(pending: &Pending, path: &Path) -> Result<(), String> {
    file_io::write_atomic(path, pending.content.as_bytes(), false)
        .map_err(|e| format!("Export failed: {}: {e}", path.display()))
}

fn exported_message(what: ExportWhat, path: &Path) -> String {
    let thing = match what {
        ExportWhat::Report => "run report",
        ExportWhat::SeriesCsv => "time series",
        ExportWhat::ReplicationsCsv | ExportWhat::ReplicationsJson => "replications",
    };
    format!("Exported the {thing} to {}", path.display())
}

/// Beside the graph's file (or in the current folder), named after the graph.
fn suggested_path(doc: &Document, what: ExportWhat) -> PathBuf {
    let dir = doc
        .path
        .as_ref()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    let stem: Vec<String> = doc
        .graph
        .name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let stem = if stem.is_empty() {
        "run".to_owned()
    } else {
        stem.join("-")
    };
    dir.join(format!("{stem}-{}", what.file_suffix()))
}

/// Runs an rfd save dialog on a helper thread (on macOS, where dialogs must run on the main
/// thread, right away).
fn spawn_dialog(pending: Pending) -> Dialog {
    let (send, answer) = mpsc::channel();
    let (filter_name, extensions) = pending.what.filter();
    let title = pending.what.title();
    let suggestion = pending.suggestion.clone();
    let run = move || {
        let mut dialog = rfd::FileDialog::new()
            .set_title(title)
            .add_filter(filter_name, extensions);
        if let Some(dir) = suggestion.parent().filter(|d| d.is_dir()) {
            dialog = dialog.set_directory(dir);
        }
        if let Some(name) = suggestion.file_name() {
            dialog = dialog.set_file_name(name.to_string_lossy());
        }
        let _ = send.send(dialog.save_file());
    };
    if cfg!(target_os = "macos") {
        run();
    } else {
        std::thread::spawn(run);
    }
    Dialog {
        pending,
        answer,
        started: Instant::now(),
    }
}

#[cfg(test)]
mod tests {
    use flowbench_engine::report::{BreakerState, GaugeSummary, NodeReport};

    use super::*;

    fn report(t_ms: f64, nodes: Vec<(&str, NodeReport)>) -> Report {
        Report {
            format: "flowbench.report".into(),
            version: 1,
            graph: "g".into(),
            seed: 1,
            sim_time_ms: t_ms,
            wall_time_ms: 0.0,
            events: 0,
            totals: Default::default(),
            conservation: Default::default(),
            nodes: nodes
                .into_iter()
                .map(|(id, r)| (id.to_owned(), r))
                .collect(),
        }
    }

    /// One row per sample per node in the given order, the fixed header, empty cells for
    /// values a node does not have, breaker states as 0/1/2.
    #[test]
    fn csv_has_one_row_per_sample_per_node() {
        let q = |in_, depth| NodeReport {
            kind: "queue".into(),
            in_,
            out: in_,
            depth: Some(GaugeSummary {
                mean: 0.0,
                max: 0.0,
                last: depth,
            }),
            ..NodeReport::default()
        };
        let b = |state| NodeReport {
            kind: "breaker".into(),
            state: Some(state),
            ..NodeReport::default()
        };
        let mut series = Series::default();
        series.record(
            &report(
                1000.0,
                vec![("q", q(20, 3.0)), ("b", b(BreakerState::Closed))],
            ),
            &[],
            |_| true,
        );
        series.record(
            &report(
                2000.0,
                vec![("q", q(30, 1.0)), ("b", b(BreakerState::Open))],
            ),
            &[],
            |_| true,
        );
        let csv = series_csv(&series, &["q", "b", "missing"]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines[1], "q,1000,20,20,3,,,,0,");
        assert_eq!(lines[2], "q,2000,10,10,1,,,,0,");
        assert_eq!(lines[3], "b,1000,0,0,,,,,0,0");
        assert_eq!(lines[4], "b,2000,0,0,,,,,0,2");
        assert_eq!(lines.len(), 5);
        assert!(csv.ends_with('\n'));
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }

    /// The exported report is the report as the command line writes it.
    #[test]
    fn report_json_round_trips() {
        let r = report(1234.5, vec![("q", NodeReport::default())]);
        let json = report_json(&r);
        assert!(json.ends_with("}\n"));
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["format"], "flowbench.report");
        assert_eq!(value["nodes"]["q"]["in"], 0);
    }
}
