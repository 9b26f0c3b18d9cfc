//! Files: new, open, save (atomic, with a backup), save as, recent files, drag-and-drop,
//! autosave and crash recovery, export and import.
//!
//! Native file dialogs run on a helper thread so the window keeps drawing. Where none can be
//! shown (no desktop portal or zenity, as under Xvfb) a small window with a path field stands
//! in. Every question (unsaved changes, a file changed on disk, recovery) is a modal window.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flowbench_engine::Graph;

use crate::cli::load;
use crate::convert::{dot, layout, mermaid};
use crate::file_io::{self, DiskStamp, SaveError};
use crate::ui::{AppCommand, Document, FlowbenchApp, canvas, shortcuts};

mod autosave;

pub use self::autosave::{Autosave, data_dir, find_recovery};

/// How often a document with unsaved changes is written to the autosave folder.
pub const AUTOSAVE_INTERVAL: Duration = Duration::from_secs(5);
/// How many recent files the File menu lists.
pub const RECENT_LIMIT: usize = 10;
/// Names the folder for autosaves, instead of the app's data folder.
pub const DATA_DIR_ENV: &str = "FLOWBENCH_DATA_DIR";
/// Set to `0` to always use the path window instead of native file dialogs.
pub const NATIVE_DIALOGS_ENV: &str = "FLOWBENCH_NATIVE_DIALOGS";
/// A native dialog that answers "no file" faster than a person could has not been shown.
const DIALOG_FAILED_WITHIN: Duration = Duration::from_millis(400);

/// A format File ▸ Export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Json,
    Dot,
    Mermaid,
    Png,
    Svg,
}

impl ExportKind {
    pub const ALL: [ExportKind; 5] = [
        ExportKind::Json,
        ExportKind::Dot,
        ExportKind::Mermaid,
        ExportKind::Png,
        ExportKind::Svg,
    ];

    pub fn extension(self) -> &'static str {
        match self {
            ExportKind::Json => "json",
            ExportKind::Dot => "dot",
            ExportKind::Mermaid => "mmd",
            ExportKind::Png => "png",
            ExportKind::Svg => "svg",
        }
    }

    /// The name of the format, as the menu and dialogs show it.
    pub fn name(self) -> &'static str {
        match self {
            ExportKind::Json => "Graph JSON",
            ExportKind::Dot => "Graphviz DOT",
            ExportKind::Mermaid => "Mermaid flowchart",
            ExportKind::Png => "PNG image",
            ExportKind::Svg => "SVG image",
        }
    }

    fn command(self) -> AppCommand {
        match self {
            ExportKind::Json => AppCommand::ExportJson,
            ExportKind::Dot => AppCommand::ExportDot,
            ExportKind::Mermaid => AppCommand::ExportMermaid,
            ExportKind::Png => AppCommand::ExportPng,
            ExportKind::Svg => AppCommand::ExportSvg,
        }
    }
}

/// What a chosen path is for.
#[derive(Debug, Clone, PartialEq)]
pub enum Purpose {
    Open,
    /// Save the document under a new name, then go on with `then`.
    SaveAs {
        then: Option<Proceed>,
    },
    Export(ExportKind),
    ImportMermaid,
}

impl Purpose {
    fn title(&self) -> String {
        match self {
            Purpose::Open => "Open graph".to_owned(),
            Purpose::SaveAs { .. } => "Save graph as".to_owned(),
            Purpose::Export(kind) => format!("Export {}", kind.name()),
            Purpose::ImportMermaid => "Import Mermaid flowchart".to_owned(),
        }
    }

    /// The confirming button of the path window.
    fn verb(&self) -> &'static str {
        match self {
            Purpose::Open => "Open",
            Purpose::SaveAs { .. } => "Save",
            Purpose::Export(_) => "Export",
            Purpose::ImportMermaid => "Import",
        }
    }

    fn reads(&self) -> bool {
        matches!(self, Purpose::Open | Purpose::ImportMermaid)
    }

    /// File filter: its name and extensions.
    fn filter(&self) -> (&'static str, &'static [&'static str]) {
        match self {
            Purpose::Open | Purpose::SaveAs { .. } => ("Flowbench graph", &["json"]),
            Purpose::ImportMermaid => ("Mermaid flowchart", &["mmd", "mermaid", "md", "txt"]),
            Purpose::Export(ExportKind::Json) => ("Graph JSON", &["json"]),
            Purpose::Export(ExportKind::Dot) => ("Graphviz DOT", &["dot", "gv"]),
            Purpose::Export(ExportKind::Mermaid) => ("Mermaid flowchart", &["mmd"]),
            Purpose::Export(ExportKind::Png) => ("PNG image", &["png"]),
            Purpose::Export(ExportKind::Svg) => ("SVG image", &["svg"]),
        }
    }
}

/// What to do once unsaved changes are saved or discarded.
#[derive(Debug, Clone, PartialEq)]
pub enum Proceed {
    New,
    Open,
    OpenPath(PathBuf),
    Close,
}

impl Proceed {
    fn describe(&self) -> &'static str {
        match self {
            Proceed::New => "starting a new graph",
            Proceed::Open | Proceed::OpenPath(_) => "opening another graph",
            Proceed::Close => "closing",
        }
    }
}

/// A question waiting for the user's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Question {
    /// Save / Discard / Cancel, then `Proceed`.
    Unsaved(Proceed),
    /// The file changed on disk since it was opened or saved: Overwrite / Save As / Cancel.
    ChangedOnDisk {
        path: PathBuf,
        then: Option<Proceed>,
    },
    /// An autosave left by a session that did not exit cleanly: Recover / Discard.
    Recover(Box<Recovery>),
}

/// An autosaved document found at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    /// The autosave file.
    pub file: PathBuf,
    pub saved_at: SystemTime,
    /// The file the document belonged to, if it had one.
    pub path: Option<PathBuf>,
    pub graph: Graph,
}

/// A failed open, save, export or import, shown in a window until acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct FileError {
    pub title: String,
    /// One line: `FILE:LINE:COLUMN: what is wrong` or `FILE: cannot write: …`.
    pub message: String,
}

/// The window asking for a path where no native dialog can be shown.
#[derive(Debug, Clone)]
struct PathPrompt {
    purpose: Purpose,
    text: String,
    /// Set when the user confirmed a path that does not work, e.g. a missing file.
    problem: Option<String>,
    focus: bool,
}

/// A native dialog running on its helper thread.
struct DialogTask {
    purpose: Purpose,
    answer: mpsc::Receiver<Option<PathBuf>>,
    started: Instant,
}

/// Open dialogs, autosave timing and what waits for an answer.
pub struct FileState {
    pub question: Option<Question>,
    pub error: Option<FileError>,
    path_prompt: Option<PathPrompt>,
    dialog: Option<DialogTask>,
    native_dialogs: bool,
    autosave: Option<Autosave>,
    /// The open file as it was on disk when opened or last saved.
    stamp: Option<(PathBuf, DiskStamp)>,
    /// The user agreed to close: the next close request goes through.
    close_confirmed: bool,
    /// A PNG export waiting for the canvas capture.
    pending_png: Option<PathBuf>,
}

impl Default for FileState {
    /// Path windows instead of native dialogs and no autosave: what tests want.
    /// [`FileState::check_recovery`] turns both on for a real session.
    fn default() -> Self {
        FileState {
            question: None,
            error: None,
            path_prompt: None,
            dialog: None,
            native_dialogs: false,
            autosave: None,
            stamp: None,
            close_confirmed: false,
            pending_png: None,
        }
    }
}

impl FileState {
    /// Start-up of a real session: turns on autosave (in [`data_dir`]) and native file
    /// dialogs, then offers an autosaved document left by a session that did not exit
    /// cleanly, if there is one.
    pub fn check_recovery(&mut self, commands: &mut Vec<AppCommand>) {
        self.native_dialogs = native_dialogs_possible();
        match data_dir() {
            Some(dir) => self.enable_autosave(dir),
            None => commands.push(AppCommand::Status(
                "Autosave is off: no folder for app data was found".to_owned(),
            )),
        }
    }

    /// Autosaves into `dir` and offers what a crashed session left there. Temporary files
    /// of autosaves cut short by a crash are removed.
    pub fn enable_autosave(&mut self, dir: PathBuf) {
        file_io::remove_stale_temps(&dir, None);
        if let Some(recovery) = find_recovery(&dir) {
            self.question = Some(Question::Recover(Box::new(recovery)));
        }
        self.autosave = Some(Autosave::new(dir));
    }

    /// Use native dialogs (rfd) or the path window.
    pub fn set_native_dialogs(&mut self, on: bool) {
        self.native_dialogs = on;
    }

    /// The autosave of this session, when autosave is on.
    pub fn autosave(&self) -> Option<&Autosave> {
        self.autosave.as_ref()
    }

    /// Whether the path window is showing, and for what.
    pub fn path_prompt(&self) -> Option<&Purpose> {
        self.path_prompt.as_ref().map(|p| &p.purpose)
    }

    fn stamp_for(&self, path: &Path) -> Option<&DiskStamp> {
        self.stamp
            .as_ref()
            .filter(|(p, _)| p == path)
            .map(|(_, s)| s)
    }
}

// ---- frame hooks -------------------------------------------------------------------------

/// Runs before the views each frame: dropped files, dialog answers and the PNG capture.
/// Autosave and close requests are seen to in [`autosave`] and [`close_request`], which run
/// also while the window is minimised.
pub fn before_frame(app: &mut FlowbenchApp, ctx: &egui::Context) {
    // Dropped files: the first graph or flowchart among them.
    let dropped: Vec<PathBuf> = ctx.input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_owned())
            .collect()
    });
    if let Some(path) = dropped.into_iter().find(|p| !p.as_os_str().is_empty()) {
        if is_mermaid_path(&path) {
            import_mermaid(app, ctx, &path);
        } else {
            app.commands.push(AppCommand::OpenPath(path));
        }
    }

    poll_dialog(app, ctx);

    if let Some(path) = app.files.pending_png.clone() {
        if let Some(image) = app.canvas.take_screenshot() {
            app.files.pending_png = None;
            let written = canvas::encode_png(&image)
                .map_err(io::Error::other)
                .and_then(|png| file_io::write_atomic(&path, &png, false));
            match written {
                Ok(()) => exported(app, ctx, &path),
                Err(e) => show_error(app, "Export failed", write_error(&path, &e)),
            }
        } else if app.canvas.screenshot_pending() {
            ctx.request_repaint();
        } else {
            app.files.pending_png = None;
            show_error(
                app,
                "Export failed",
                format!("{}: the canvas could not be captured", path.display()),
            );
        }
    }
}

/// Writes the autosave when it is due. Runs from `App::logic`, which eframe calls also
/// while the window is minimised and no frame is drawn, so that work goes on being
/// autosaved then; the repaint it asks for brings the next call when the next write is due.
pub fn autosave(app: &mut FlowbenchApp, ctx: &egui::Context) {
    if let Some(autosave) = &mut app.files.autosave
        && let Some(wait) = autosave.tick(&app.doc, Instant::now())
    {
        ctx.request_repaint_after(wait);
    }
}

/// What a request to close the window leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnClose {
    /// The window closes: nothing is unsaved, or the user already chose to close.
    Close,
    /// The window stays open and asks about the unsaved changes; a minimised window is
    /// restored first, since a question no one sees cannot be answered.
    Ask { restore: bool },
}

impl OnClose {
    pub fn decide(unsaved: bool, confirmed: bool, minimized: bool) -> OnClose {
        if confirmed || !unsaved {
            OnClose::Close
        } else {
            OnClose::Ask { restore: minimized }
        }
    }
}

/// Answers a request to close the window (its close button, the taskbar, the system). Runs
/// from `App::logic`, which eframe calls also while the window is minimised and no frame is
/// drawn, so that no close skips the unsaved-changes question.
pub fn close_request(app: &mut FlowbenchApp, ctx: &egui::Context) {
    let (requested, minimized) = ctx.input(|i| {
        let viewport = i.viewport();
        (viewport.close_requested(), viewport.minimized == Some(true))
    });
    if !requested {
        return;
    }
    match OnClose::decide(app.doc.is_dirty(), app.files.close_confirmed, minimized) {
        OnClose::Close => {
            // A clean exit: nothing to recover next time, and no more autosaves.
            if let Some(mut autosave) = app.files.autosave.take() {
                autosave.clear();
            }
        }
        OnClose::Ask { restore } => {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            if restore {
                ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
            }
            // After restoring: focus does nothing to a minimised window.
            ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
            app.files.question = Some(Question::Unsaved(Proceed::Close));
            ctx.request_repaint();
        }
    }
}

/// Modal questions (unsaved changes, changed on disk, recovery), errors, the path window and
/// the drop hint.
pub fn dialogs_ui(app: &mut FlowbenchApp, ctx: &egui::Context) {
    drop_hint(ctx);
    if let Some(question) = app.files.question.clone() {
        question_ui(app, ctx, question);
    }
    if app.files.path_prompt.is_some() {
        path_prompt_ui(app, ctx);
    }
    if let Some(error) = app.files.error.clone() {
        let modal = egui::Modal::new(egui::Id::unique("files.error")).show(ctx, |ui| {
            ui.set_max_width(560.0);
            ui.heading(&error.title);
            ui.add_space(4.0);
            ui.add(egui::Label::new(egui::RichText::new(&error.message).monospace()).wrap());
            ui.add_space(8.0);
            ui.button("OK").clicked()
        });
        if modal.inner || modal.should_close() {
            app.files.error = None;
        }
    }
}

/// The File menu.
pub fn menu_ui(ui: &mut egui::Ui, app: &mut FlowbenchApp) {
    let ctx = ui.ctx().clone();
    let shortcuts = shortcuts::table();
    // A menu item with the shortcut the shortcut table gives its command.
    let item = |ui: &mut egui::Ui, label: &str, command: &AppCommand| {
        let mut button = egui::Button::new(label);
        if let Some((keys, ..)) = shortcuts.iter().find(|(_, _, c)| c == command) {
            button = button.shortcut_text(ctx.format_shortcut(keys));
        }
        ui.add(button).clicked()
    };
    let mut chosen = None;
    for (label, command) in [("New", AppCommand::New), ("Open…", AppCommand::Open)] {
        if item(ui, label, &command) {
            chosen = Some(command);
        }
    }
    ui.menu_button("Open recent", |ui| {
        if let Some(command) = recent_ui(ui, &mut app.settings.recent) {
            chosen = Some(command);
        }
    });
    ui.separator();
    for (label, command) in [("Save", AppCommand::Save), ("Save as…", AppCommand::SaveAs)] {
        if item(ui, label, &command) {
            chosen = Some(command);
        }
    }
    ui.separator();
    if item(ui, "Import Mermaid…", &AppCommand::ImportMermaid) {
        chosen = Some(AppCommand::ImportMermaid);
    }
    ui.menu_button("Export", |ui| {
        for kind in ExportKind::ALL {
            if ui.button(format!("{}…", kind.name())).clicked() {
                chosen = Some(kind.command());
            }
        }
    });
    ui.separator();
    if item(ui, "Quit", &AppCommand::Quit) {
        chosen = Some(AppCommand::Quit);
    }
    if let Some(command) = chosen {
        app.commands.push(command);
        ui.close();
    }
}

/// The recent files, most recent first; missing ones greyed out.
fn recent_ui(ui: &mut egui::Ui, recent: &mut Vec<PathBuf>) -> Option<AppCommand> {
    if recent.is_empty() {
        ui.add_enabled(false, egui::Button::new("No recent files"));
        return None;
    }
    let mut chosen = None;
    let mut any_missing = false;
    for path in recent.iter() {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let exists = path.is_file();
        any_missing |= !exists;
        let response = ui.add_enabled(exists, egui::Button::new(name));
        let hover = if exists {
            path.display().to_string()
        } else {
            format!("{} (missing)", path.display())
        };
        let response = response
            .on_hover_text(hover.clone())
            .on_disabled_hover_text(hover);
        if response.clicked() {
            chosen = Some(AppCommand::OpenPath(path.clone()));
        }
    }
    ui.separator();
    if ui
        .add_enabled(any_missing, egui::Button::new("Remove missing files"))
        .clicked()
    {
        recent.retain(|p| p.is_file());
    }
    if ui.button("Clear recent files").clicked() {
        recent.clear();
    }
    chosen
}

/// Handles the file commands.
pub fn handle(app: &mut FlowbenchApp, ctx: &egui::Context, command: AppCommand) {
    match command {
        AppCommand::New => guarded(app, ctx, Proceed::New),
        AppCommand::Open => guarded(app, ctx, Proceed::Open),
        AppCommand::OpenPath(path) => guarded(app, ctx, Proceed::OpenPath(path)),
        AppCommand::Save => save(app, ctx, None),
        AppCommand::SaveAs => choose(app, Purpose::SaveAs { then: None }),
        AppCommand::ExportJson => choose(app, Purpose::Export(ExportKind::Json)),
        AppCommand::ExportDot => choose(app, Purpose::Export(ExportKind::Dot)),
        AppCommand::ExportMermaid => choose(app, Purpose::Export(ExportKind::Mermaid)),
        AppCommand::ExportPng => choose(app, Purpose::Export(ExportKind::Png)),
        AppCommand::ExportSvg => choose(app, Purpose::Export(ExportKind::Svg)),
        AppCommand::ImportMermaid => choose(app, Purpose::ImportMermaid),
        AppCommand::AutoLayout => auto_layout(app),
        _ => return,
    }
    // Commands run after the views: show what they opened (a question, a window) now, not
    // at the next mouse move.
    ctx.request_repaint();
}

// ---- actions -----------------------------------------------------------------------------

/// Does `then` now, or first asks what to do with unsaved changes.
fn guarded(app: &mut FlowbenchApp, ctx: &egui::Context, then: Proceed) {
    if app.doc.is_dirty() {
        app.files.question = Some(Question::Unsaved(then));
    } else {
        proceed(app, ctx, then);
    }
}

fn proceed(app: &mut FlowbenchApp, ctx: &egui::Context, then: Proceed) {
    match then {
        Proceed::New => {
            app.replace_document(Document::empty());
            app.files.stamp = None;
            app.canvas.request_fit();
        }
        Proceed::Open => choose(app, Purpose::Open),
        Proceed::OpenPath(path) => open_path(app, ctx, &path),
        Proceed::Close => {
            app.files.close_confirmed = true;
            if let Some(autosave) = &mut app.files.autosave {
                autosave.clear();
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

/// Opens `path` as the document; on failure the current document stays and the error shows.
fn open_path(app: &mut FlowbenchApp, ctx: &egui::Context, path: &Path) {
    match open_document(path) {
        Ok(doc) => {
            app.replace_document(doc);
            app.files.stamp = DiskStamp::of(path).map(|s| (path.to_owned(), s));
            add_recent(&mut app.settings.recent, path);
            app.canvas.request_fit();
            app.set_status(ctx, format!("Opened {}", path.display()));
        }
        Err(message) => show_error(app, "Cannot open the graph", message),
    }
}

/// Reads a graph file into a document (nodes without positions laid out). A graph with
/// validation errors opens; only unreadable files fail, with the loader's one-line message.
pub fn open_document(path: &Path) -> Result<Document, String> {
    let (mut graph, _) = load::load(path).map_err(|e| e.line(path))?;
    layout::fill_missing_positions(&mut graph);
    Ok(Document::new(graph, Some(path.to_owned())))
}

/// Saves to the document's file, or asks for one.
fn save(app: &mut FlowbenchApp, ctx: &egui::Context, then: Option<Proceed>) {
    match app.doc.path.clone() {
        Some(path) => save_to(app, ctx, &path, true, then),
        None => choose(app, Purpose::SaveAs { then }),
    }
}

/// Saves the document to `path`; with `check_disk`, a file changed by someone else since we
/// read or wrote it is not overwritten without asking.
fn save_to(
    app: &mut FlowbenchApp,
    ctx: &egui::Context,
    path: &Path,
    check_disk: bool,
    then: Option<Proceed>,
) {
    let expected = if check_disk {
        app.files.stamp_for(path).cloned()
    } else {
        None
    };
    match file_io::save_graph(path, &app.doc.graph, expected.as_ref()) {
        Ok(stamp) => {
            app.doc.mark_saved(path.to_owned());
            app.files.stamp = Some((path.to_owned(), stamp));
            add_recent(&mut app.settings.recent, path);
            if let Some(autosave) = &mut app.files.autosave {
                autosave.clear();
            }
            app.set_status(ctx, format!("Saved {}", path.display()));
            if let Some(then) = then {
                proceed(app, ctx, then);
            }
        }
        Err(SaveError::ChangedOnDisk) => {
            app.files.question = Some(Question::ChangedOnDisk {
                path: path.to_owned(),
                then,
            });
        }
        Err(SaveError::Io(e)) => show_error(app, "Cannot save the graph", write_error(path, &e)),
    }
}

/// Acts as if the user chose `path` for `purpose` in a file dialog.
pub fn choose_path(app: &mut FlowbenchApp, ctx: &egui::Context, purpose: Purpose, path: PathBuf) {
    app.files.path_prompt = None;
    path_chosen(app, ctx, purpose, path);
}

/// What happens with a path picked in a dialog or typed into the path window.
fn path_chosen(app: &mut FlowbenchApp, ctx: &egui::Context, purpose: Purpose, path: PathBuf) {
    match purpose {
        Purpose::Open => open_path(app, ctx, &path),
        Purpose::SaveAs { then } => {
            let path = if path.extension().is_none() {
                path.with_extension("json")
            } else {
                path
            };
            save_to(app, ctx, &path, true, then);
        }
        Purpose::Export(kind) => export_to(app, ctx, kind, &path),
        Purpose::ImportMermaid => import_mermaid(app, ctx, &path),
    }
}

/// Writes the document in `kind`'s format to `path` (the document keeps its own file).
fn export_to(app: &mut FlowbenchApp, ctx: &egui::Context, kind: ExportKind, path: &Path) {
    let text = match kind {
        ExportKind::Json => app.doc.graph.to_json_pretty(),
        ExportKind::Dot => dot::to_dot(&app.doc.graph),
        ExportKind::Mermaid => mermaid::to_mermaid(&app.doc.graph),
        ExportKind::Svg => canvas::export_svg(&app.doc.graph, ctx.theme() == egui::Theme::Dark),
        ExportKind::Png => {
            // The canvas captures itself over the next frames; `before_frame` writes the file.
            app.canvas.request_screenshot();
            app.files.pending_png = Some(path.to_owned());
            ctx.request_repaint();
            return;
        }
    };
    match file_io::write_atomic(path, text.as_bytes(), false) {
        Ok(()) => exported(app, ctx, path),
        Err(e) => show_error(app, "Export failed", write_error(path, &e)),
    }
}

fn exported(app: &mut FlowbenchApp, ctx: &egui::Context, path: &Path) {
    app.set_status(ctx, format!("Exported {}", path.display()));
}

/// Replaces the graph with a Mermaid flowchart's, laid out, as one undoable step.
fn import_mermaid(app: &mut FlowbenchApp, ctx: &egui::Context, path: &Path) {
    match import_mermaid_file(path) {
        Ok(graph) => {
            let count = graph.nodes.len();
            app.doc.replace_graph("Import Mermaid", graph);
            // The imported graph is a new design: saving must not overwrite the file that
            // was open before.
            app.doc.path = None;
            app.canvas.request_fit();
            app.set_status(
                ctx,
                format!(
                    "Imported {count} nodes from {} (Undo brings the previous graph back)",
                    path.display()
                ),
            );
        }
        Err(message) => show_error(app, "Cannot import the flowchart", message),
    }
}

/// Reads a Mermaid file into a graph named after the chart's title or the file.
pub fn import_mermaid_file(path: &Path) -> Result<Graph, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let mut graph = mermaid::from_mermaid(&text).map_err(|e| format!("{}:{e}", path.display()))?;
    if graph.name.is_empty() {
        graph.name = path.file_stem().map_or_else(
            || "Imported".to_owned(),
            |s| s.to_string_lossy().into_owned(),
        );
    }
    Ok(graph)
}

/// Lays the whole graph out again as one undoable step.
fn auto_layout(app: &mut FlowbenchApp) {
    if app.doc.graph.nodes.is_empty() {
        return;
    }
    let positions = layout::layout_positions(&app.doc.graph);
    app.doc.edit("Auto layout", None, |g| {
        for (node, pos) in g.nodes.iter_mut().zip(positions) {
            node.pos = Some(pos);
        }
    });
    app.canvas.request_fit();
}

fn show_error(app: &mut FlowbenchApp, title: &str, message: String) {
    app.files.error = Some(FileError {
        title: title.to_owned(),
        message,
    });
}

fn write_error(path: &Path, e: &io::Error) -> String {
    format!("{}: cannot write: {e}", path.display())
}

fn is_mermaid_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mmd") || e.eq_ignore_ascii_case("mermaid"))
}

/// Puts `path` first in the recent files, at most [`RECENT_LIMIT`] of them.
pub fn add_recent(recent: &mut Vec<PathBuf>, path: &Path) {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    recent.retain(|p| *p != path);
    recent.insert(0, path);
    recent.truncate(RECENT_LIMIT);
}

// ---- dialogs -----------------------------------------------------------------------------

/// Asks for a path for `purpose`: a native dialog where one can be shown, else the path
/// window. One at a time.
fn choose(app: &mut FlowbenchApp, purpose: Purpose) {
    if app.files.dialog.is_some() || app.files.path_prompt.is_some() {
        return;
    }
    let suggestion = suggested_path(&app.doc, &purpose);
    if app.files.native_dialogs {
        app.files.dialog = Some(spawn_dialog(purpose, suggestion));
    } else {
        open_path_prompt(app, purpose, suggestion);
    }
}

fn open_path_prompt(app: &mut FlowbenchApp, purpose: Purpose, suggestion: PathBuf) {
    let text = if purpose.reads() {
        // A folder to start from, with its separator, ready for a name.
        let mut dir = suggestion.display().to_string();
        if !dir.is_empty() && !dir.ends_with(std::path::MAIN_SEPARATOR) {
            dir.push(std::path::MAIN_SEPARATOR);
        }
        dir
    } else {
        suggestion.display().to_string()
    };
    app.files.path_prompt = Some(PathPrompt {
        purpose,
        text,
        problem: None,
        focus: true,
    });
}

/// A folder to open from, or a file to save to, next to the document.
fn suggested_path(doc: &Document, purpose: &Purpose) -> PathBuf {
    let dir = doc
        .path
        .as_ref()
        .and_then(|p| p.parent())
        .map(Path::to_owned)
        .filter(|d| !d.as_os_str().is_empty())
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    let stem = doc
        .path
        .as_ref()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file_stem_for(&doc.graph.name));
    match purpose {
        Purpose::Open | Purpose::ImportMermaid => dir,
        Purpose::SaveAs { .. } => dir.join(format!("{stem}.json")),
        Purpose::Export(kind) => {
            let name = if *kind == ExportKind::Json {
                format!("{stem}-export.json")
            } else {
                format!("{stem}.{}", kind.extension())
            };
            dir.join(name)
        }
    }
}

/// A file name made from a graph's name ("M/M/1 queue" → "m-m-1-queue").
fn file_stem_for(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        "untitled".to_owned()
    } else {
        words.join("-")
    }
}

/// Runs an rfd dialog on a helper thread (on macOS, where dialogs must run on the main
/// thread, right away).
fn spawn_dialog(purpose: Purpose, suggestion: PathBuf) -> DialogTask {
    let (send, answer) = mpsc::channel();
    let request = purpose.clone();
    let run = move || {
        let (filter_name, extensions) = request.filter();
        let mut dialog = rfd::FileDialog::new()
            .set_title(request.title())
            .add_filter(filter_name, extensions);
        let path = if request.reads() {
            if suggestion.is_dir() {
                dialog = dialog.set_directory(&suggestion);
            }
            dialog.pick_file()
        } else {
            if let Some(dir) = suggestion.parent().filter(|d| d.is_dir()) {
                dialog = dialog.set_directory(dir);
            }
            if let Some(name) = suggestion.file_name() {
                dialog = dialog.set_file_name(name.to_string_lossy());
            }
            dialog.save_file()
        };
        let _ = send.send(path);
    };
    if cfg!(target_os = "macos") {
        run();
    } else {
        std::thread::spawn(run);
    }
    DialogTask {
        purpose,
        answer,
        started: Instant::now(),
    }
}

/// Picks up a native dialog's answer; a dialog that could not be shown turns into the path
/// window, for this and every later file choice.
fn poll_dialog(app: &mut FlowbenchApp, ctx: &egui::Context) {
    let Some(task) = &app.files.dialog else {
        return;
    };
    let answer = match task.answer.try_recv() {
        Ok(answer) => answer,
        Err(mpsc::TryRecvError::Empty) => {
            ctx.request_repaint_after(Duration::from_millis(100));
            return;
        }
        Err(mpsc::TryRecvError::Disconnected) => None,
    };
    let Some(task) = app.files.dialog.take() else {
        return;
    };
    match answer {
        Some(path) => path_chosen(app, ctx, task.purpose, path),
        None if task.started.elapsed() < DIALOG_FAILED_WITHIN => {
            app.files.native_dialogs = false;
            let suggestion = suggested_path(&app.doc, &task.purpose);
            open_path_prompt(app, task.purpose, suggestion);
        }
        // Cancelled.
        None => {}
    }
}

/// Whether a native file dialog can possibly be shown. On Linux and the BSDs rfd needs a
/// desktop portal on the session bus or the `zenity` program.
pub(crate) fn native_dialogs_possible() -> bool {
    if std::env::var_os(NATIVE_DIALOGS_ENV).is_some_and(|v| v == "0") {
        return false;
    }
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        return true;
    }
    let session_bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR")
            .is_some_and(|dir| Path::new(&dir).join("bus").exists());
    let zenity = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("zenity").is_file()));
    session_bus || zenity
}

fn path_prompt_ui(app: &mut FlowbenchApp, ctx: &egui::Context) {
    let Some(prompt) = &mut app.files.path_prompt else {
        return;
    };
    let mut confirmed = false;
    let mut cancelled = false;
    let title = prompt.purpose.title();
    let typed = PathBuf::from(prompt.text.trim());
    let replaces = !prompt.purpose.reads() && typed.is_file();
    let modal = egui::Modal::new(egui::Id::unique("files.path_prompt")).show(ctx, |ui| {
        ui.set_width(520.0);
        ui.heading(&title);
        ui.add_space(4.0);
        let label = ui.label("Path");
        let field = ui.add(
            egui::TextEdit::singleline(&mut prompt.text)
                .desired_width(f32::INFINITY)
                .hint_text("/path/to/file"),
        );
        let field = field.labelled_by(label.id);
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
        let note = match &prompt.problem {
            Some(problem) => Some((problem.as_str(), ui.visuals().error_fg_color)),
            None if replaces => Some((
                "A file of this name exists: it will be replaced.",
                ui.visuals().warn_fg_color,
            )),
            None => None,
        };
        if let Some((text, color)) = note {
            ui.add(egui::Label::new(egui::RichText::new(text).color(color)).wrap());
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let verb = if replaces {
                "Replace"
            } else {
                prompt.purpose.verb()
            };
            if ui.button(verb).clicked() {
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
    if cancelled {
        app.files.path_prompt = None;
        return;
    }
    if !confirmed {
        return;
    }
    let problem = if typed.as_os_str().is_empty() {
        Some("Type a path first.".to_owned())
    } else if prompt.purpose.reads() && !typed.is_file() {
        Some(format!("No file at {}", typed.display()))
    } else if !prompt.purpose.reads()
        && typed
            .parent()
            .is_some_and(|d| !d.as_os_str().is_empty() && !d.is_dir())
    {
        Some("That folder does not exist.".to_owned())
    } else {
        None
    };
    if problem.is_some() {
        prompt.problem = problem;
        return;
    }
    let purpose = prompt.purpose.clone();
    app.files.path_prompt = None;
    path_chosen(app, ctx, purpose, typed);
}

fn question_ui(app: &mut FlowbenchApp, ctx: &egui::Context, question: Question) {
    let name = app.doc.title().trim_end_matches(" ●").to_owned();
    let (heading, text, buttons): (&str, String, &[&str]) = match &question {
        Question::Unsaved(then) => (
            "Unsaved changes",
            format!("Save the changes to '{name}' before {}?", then.describe()),
            &["Save", "Discard", "Cancel"],
        ),
        Question::ChangedOnDisk { path, .. } => (
            "File changed on disk",
            format!(
                "{} was changed by another program since it was opened or saved here. \
                 Overwrite it with this version?",
                path.display()
            ),
            &["Overwrite", "Save as…", "Cancel"],
        ),
        Question::Recover(recovery) => (
            "Unsaved work from the last session",
            recovery_text(recovery, SystemTime::now()),
            &["Recover", "Discard"],
        ),
    };
    let modal = egui::Modal::new(egui::Id::unique("files.question")).show(ctx, |ui| {
        ui.set_max_width(480.0);
        ui.heading(heading);
        ui.add_space(4.0);
        ui.add(egui::Label::new(text).wrap());
        ui.add_space(8.0);
        let mut answer = None;
        ui.horizontal(|ui| {
            for &button in buttons {
                if ui.button(button).clicked() {
                    answer = Some(button);
                }
            }
        });
        answer
    });
    let answer = match modal.inner {
        Some(answer) => answer,
        // Escape or a click beside the window: the safe answer.
        None if modal.should_close() => match question {
            Question::Recover(_) => return,
            _ => "Cancel",
        },
        None => return,
    };
    answer_question(app, ctx, question, answer);
}

/// Acts on the answer (a button label) to a question.
pub fn answer_question(
    app: &mut FlowbenchApp,
    ctx: &egui::Context,
    question: Question,
    answer: &str,
) {
    app.files.question = None;
    ctx.request_repaint();
    match (question, answer) {
        (Question::Unsaved(then), "Save") => save(app, ctx, Some(then)),
        (Question::Unsaved(then), "Discard") => {
            if let Some(autosave) = &mut app.files.autosave {
                autosave.clear();
            }
            proceed(app, ctx, then);
        }
        (Question::ChangedOnDisk { path, then }, "Overwrite") => {
            save_to(app, ctx, &path, false, then);
        }
        (Question::ChangedOnDisk { then, .. }, "Save as…") => {
            choose(app, Purpose::SaveAs { then })
        }
        (Question::Recover(recovery), "Recover") => recover(app, ctx, *recovery),
        (Question::Recover(recovery), "Discard") => {
            let _ = std::fs::remove_file(&recovery.file);
            offer_next_recovery(app);
        }
        _ => {}
    }
}

/// Brings an autosaved document back: its file (if any) as the document, with the autosaved
/// graph on top as one undoable, unsaved change.
fn recover(app: &mut FlowbenchApp, ctx: &egui::Context, recovery: Recovery) {
    let mut doc = match &recovery.path {
        Some(path) if path.is_file() => match open_document(path) {
            Ok(doc) => {
                app.files.stamp = DiskStamp::of(path).map(|s| (path.clone(), s));
                doc
            }
            Err(_) => Document::new(Graph::default(), Some(path.clone())),
        },
        Some(path) => Document::new(Graph::default(), Some(path.clone())),
        None => Document::empty(),
    };
    let mut graph = recovery.graph;
    layout::fill_missing_positions(&mut graph);
    doc.replace_graph("Recover unsaved work", graph);
    app.replace_document(doc);
    // The recovered work goes into this session's autosave before the old one is removed,
    // so a crash right after recovering still leaves it on disk.
    let kept = match &mut app.files.autosave {
        Some(autosave) => autosave.write_now(&app.doc).is_ok(),
        None => true,
    };
    app.canvas.request_fit();
    if kept {
        let _ = std::fs::remove_file(&recovery.file);
        app.set_status(ctx, "Recovered the unsaved work; save it to keep it");
        offer_next_recovery(app);
    } else {
        // The old autosave stays (it would be offered again at once if looked for now).
        app.set_status(
            ctx,
            "Recovered the unsaved work, but autosave cannot write: save it to keep it",
        );
    }
}

fn offer_next_recovery(app: &mut FlowbenchApp) {
    if let Some(autosave) = &app.files.autosave
        && let Some(next) = find_recovery(&autosave.dir)
    {
        app.files.question = Some(Question::Recover(Box::new(next)));
    }
}

/// "Recover unsaved work from 12 minutes ago (2026-11-03 14:32 UTC)?" and what it is.
fn recovery_text(recovery: &Recovery, now: SystemTime) -> String {
    let age = now.duration_since(recovery.saved_at).unwrap_or_default();
    let when = format!("{} ({})", ago(age), utc_time(recovery.saved_at));
    let what = match &recovery.path {
        Some(path) => format!("changes to {}", path.display()),
        None => format!("the unsaved graph '{}'", recovery.graph.name),
    };
    format!(
        "Recover unsaved work from {when}?\n\nFlowbench did not close normally last time. The \
         autosave holds {what} ({} nodes).",
        recovery.graph.nodes.len()
    )
}

fn ago(age: Duration) -> String {
    let s = age.as_secs();
    let (n, unit) = match s {
        0..60 => return "less than a minute ago".to_owned(),
        60..3600 => (s / 60, "minute"),
        3600..86_400 => (s / 3600, "hour"),
        _ => (s / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// `2026-11-03 14:32 UTC`.
fn utc_time(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let days = (secs / 86_400) as i64;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{d:02} {h:02}:{m:02} UTC")
}

/// While files are dragged over the window: what dropping them does.
fn drop_hint(ctx: &egui::Context) {
    if ctx.input(|i| i.raw.hovered_files.is_empty()) {
        return;
    }
    let rect = ctx.content_rect();
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("files.drop_hint"),
    ));
    painter.rect_filled(rect, 0.0, egui::Color32::from_black_alpha(160));
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        "Drop a graph (.json) to open it, or a Mermaid flowchart (.mmd) to import it",
        egui::FontId::proportional(20.0),
        egui::Color32::WHITE,
    );
}

#[cfg(test)]
mod tests;
