//! The designer window: a document (graph, selection, undo history) and the views that draw
//! and edit it — canvas, palette, inspector, diagnostics — plus menus, files and shortcuts.
//!
//! Views never call each other: they read and edit the [`Document`] and push
//! [`AppCommand`]s, which the app handles once per frame after the views ran.

pub mod canvas;
pub mod diagnostics;
pub mod document;
pub mod files;
pub mod find;
pub mod inspector;
pub mod live;
pub mod palette;
pub mod replicate;
pub mod shortcuts;
pub mod theme;

use std::path::PathBuf;

use flowbench_engine::Graph;
use serde::{Deserialize, Serialize};

pub use self::document::{Document, Selection};

/// The graph the designer opens on its very first start: the sample that shows every
/// pattern at work.
pub const FIRST_START_SAMPLE: (&str, &str) = (
    "online-shop.json",
    include_str!("../../../sample-graphs/online-shop.json"),
);

/// Key of the persisted [`Settings`] in eframe's storage.
const SETTINGS_KEY: &str = "flowbench.settings";

/// What the designer remembers between sessions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Most recent first.
    pub recent: Vec<PathBuf>,
    /// The file open when the app last closed.
    pub last_path: Option<PathBuf>,
    /// The graph open when the app last closed, when it was never saved to a file.
    pub last_unsaved_graph: Option<String>,
}

/// Something a view asks the app to do; handled after all views ran this frame.
#[derive(Debug, Clone, PartialEq)]
pub enum AppCommand {
    New,
    Open,
    OpenPath(PathBuf),
    Save,
    SaveAs,
    ExportJson,
    ExportDot,
    ExportMermaid,
    ExportPng,
    ExportSvg,
    ImportMermaid,
    Undo,
    Redo,
    Copy,
    Cut,
    Paste,
    Duplicate,
    Delete,
    SelectAll,
    FitView,
    AutoLayout,
    /// Open the Find node window (or give it the keyboard).
    Find,
    /// Open the Replications window.
    ShowReplications,
    /// Select node `id` and centre the view on it.
    FocusNode(String),
    /// Select edge `index` and centre the view on it.
    FocusEdge(usize),
    ShowShortcuts,
    Quit,
    /// Show a short message in the status bar.
    Status(String),
    /// Run the graph, or pause the run going (Space).
    ToggleRun,
    /// Start a fault on a node of the live run (`None`: end every fault on it).
    LiveFault {
        node: String,
        kind: Option<flowbench_engine::model::FaultKind>,
    },
    /// Rewind an event log's consumer (all when `None`) in the live run.
    LiveReplay {
        log: String,
        consumer: Option<String>,
    },
    /// Save the live run's report (JSON).
    ExportReport,
    /// Save the live run's time series (CSV).
    ExportSeriesCsv,
    /// Save the Replications window's figures (this CSV or JSON).
    ExportReplications(live::export::ExportWhat, String),
}

/// How the designer starts.
pub enum StartWith {
    /// The last session's graph, or the first-start sample.
    LastSession,
    File(PathBuf),
    /// A given document (tests).
    Document(Box<Document>),
}

pub struct FlowbenchApp {
    pub doc: Document,
    pub canvas: canvas::CanvasState,
    pub inspector: inspector::InspectorState,
    pub files: files::FileState,
    /// The live run of the document and its monitor.
    pub live: live::LiveSession,
    pub settings: Settings,
    pub commands: Vec<AppCommand>,
    pub show_shortcuts: bool,
    /// The Find node window.
    pub find: find::FindState,
    /// The Replications window and its runs.
    pub replicate: replicate::ReplicateState,
    /// The last status message and when it was shown.
    pub status: Option<(String, f64)>,
    /// The window title last sent, to send it again only when it changes.
    title: String,
    /// Start the live run at this speed once the first frame has loaded the document.
    pub start_run: Option<live::Speed>,
}

impl FlowbenchApp {
    /// The app as eframe creates it, with persisted settings.
    pub fn new(cc: &eframe::CreationContext<'_>, start: StartWith) -> FlowbenchApp {
        theme::install(&cc.egui_ctx);
        let settings: Settings = cc
            .storage
            .and_then(|s| eframe::get_value(s, SETTINGS_KEY))
            .unwrap_or_default();
        let mut app = FlowbenchApp::with_settings(settings, Document::empty());
        match start {
            StartWith::Document(doc) => app.doc = *doc,
            StartWith::File(path) => app.commands.push(AppCommand::OpenPath(path)),
            StartWith::LastSession => app.open_last_session(),
        }
        app.files.check_recovery(&mut app.commands);
        app.canvas.request_fit();
        app
    }

    /// The app on a document, without persisted settings (tests).
    pub fn with_document(doc: Document) -> FlowbenchApp {
        let mut app = FlowbenchApp::with_settings(Settings::default(), doc);
        app.canvas.request_fit();
        app
    }

    fn with_settings(settings: Settings, doc: Document) -> FlowbenchApp {
        FlowbenchApp {
            doc,
            canvas: canvas::CanvasState::default(),
            inspector: inspector::InspectorState::default(),
            files: files::FileState::default(),
            live: live::LiveSession::default(),
            settings,
            commands: Vec::new(),
            show_shortcuts: false,
            find: find::FindState::default(),
            replicate: replicate::ReplicateState::default(),
            status: None,
            title: String::new(),
            start_run: None,
        }
    }

    fn open_last_session(&mut self) {
        if let Some(path) = self.settings.last_path.clone()
            && path.exists()
        {
            self.commands.push(AppCommand::OpenPath(path));
            return;
        }
        let text = self
            .settings
            .last_unsaved_graph
            .clone()
            .unwrap_or_else(|| FIRST_START_SAMPLE.1.to_owned());
        let graph = Graph::from_json_str(&text)
            .or_else(|_| Graph::from_json_str(FIRST_START_SAMPLE.1))
            .unwrap_or_default();
        self.replace_document(Document::new(graph, None));
    }

    /// Shows `doc` instead of the current document. A live run belongs to the graph it
    /// runs: it ends with its document.
    pub fn replace_document(&mut self, doc: Document) {
        self.doc = doc;
        self.live.reset();
    }

    /// Shows `message` in the status bar for a few seconds.
    pub fn set_status(&mut self, ctx: &egui::Context, message: impl Into<String>) {
        self.status = Some((message.into(), ctx.input(|i| i.time)));
    }

    fn handle_commands(&mut self, ctx: &egui::Context) {
        while !self.commands.is_empty() {
            let commands = std::mem::take(&mut self.commands);
            for command in commands {
                self.handle(ctx, command);
            }
        }
    }

    fn handle(&mut self, ctx: &egui::Context, command: AppCommand) {
        match command {
            AppCommand::Undo => {
                if !self.doc.undo() {
                    self.set_status(ctx, "Nothing to undo");
                }
            }
            AppCommand::Redo => {
                if !self.doc.redo() {
                    self.set_status(ctx, "Nothing to redo");
                }
            }
            AppCommand::Copy | AppCommand::Cut => {
                if let Some(json) = self.doc.selection_as_json() {
                    ctx.copy_text(json);
                    if command == AppCommand::Cut {
                        self.doc.delete_selection();
                    }
                }
            }
            AppCommand::Paste => {
                // The text arrives as a paste event; see `shortcuts::handle`.
            }
            AppCommand::Duplicate => {
                self.doc.duplicate_selection();
            }
            AppCommand::Delete => self.doc.delete_selection(),
            AppCommand::SelectAll => {
                self.doc.selection.nodes =
                    self.doc.graph.nodes.iter().map(|n| n.id.clone()).collect();
            }
            AppCommand::FitView => self.canvas.request_fit(),
            AppCommand::Find => self.find.show(),
            AppCommand::ShowReplications => self.replicate.show(&self.doc.graph),
            AppCommand::FocusNode(id) => {
                if self.doc.node(&id).is_some() {
                    self.doc.selection = Selection::only_node(&id);
                    // The canvas knows where nodes without a `pos` are drawn.
                    self.canvas.focus_node(&id);
                }
            }
            AppCommand::FocusEdge(index) => {
                if let Some(edge) = self.doc.graph.edges.get(index) {
                    let ends: Vec<[f64; 2]> = [&edge.from, &edge.to]
                        .into_iter()
                        .filter_map(|id| self.canvas.node_center(id))
                        .collect();
                    if !ends.is_empty() {
                        let n = ends.len() as f64;
                        let x = ends.iter().map(|p| p[0]).sum::<f64>() / n;
                        let y = ends.iter().map(|p| p[1]).sum::<f64>() / n;
                        self.canvas.focus_on([x, y]);
                    }
                    self.doc.selection.clear();
                    self.doc.selection.edges.insert(index);
                }
            }
            AppCommand::ShowShortcuts => self.show_shortcuts = !self.show_shortcuts,
            AppCommand::Status(message) => self.set_status(ctx, message),
            AppCommand::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            AppCommand::ToggleRun => self.live.toggle_run(&self.doc),
            AppCommand::LiveFault { node, kind } => {
                use flowbench_engine::model::FaultKind;
                let result = match kind {
                    // Slow doubles the service time; fail fails everything until cleared.
                    Some(FaultKind::Slow) => {
                        self.live.inject(&node, FaultKind::Slow, None, Some(2.0))
                    }
                    Some(kind) => self.live.inject(&node, kind, Some(1.0), None),
                    None => self.live.clear_faults(&node),
                };
                let message = match (result, kind) {
                    (Err(e), _) => e,
                    (Ok(()), Some(kind)) => format!("Injected {kind:?} on {node}").to_lowercase(),
                    (Ok(()), None) => format!("Cleared the faults on {node}"),
                };
                self.set_status(ctx, message);
            }
            AppCommand::LiveReplay { log, consumer } => {
                let message = match self.live.replay(&log, consumer.as_deref()) {
                    Ok(()) => match &consumer {
                        Some(c) => format!("{log}: {c} replays from the start"),
                        None => format!("{log}: every consumer replays from the start"),
                    },
                    Err(e) => e,
                };
                self.set_status(ctx, message);
            }
            AppCommand::ExportReport => {
                live::export::request(
                    &mut self.live,
                    &self.doc,
                    live::export::ExportWhat::Report,
                    ctx,
                    &mut self.commands,
                );
            }
            AppCommand::ExportSeriesCsv => {
                live::export::request(
                    &mut self.live,
                    &self.doc,
                    live::export::ExportWhat::SeriesCsv,
                    ctx,
                    &mut self.commands,
                );
            }
            AppCommand::ExportReplications(what, content) => {
                live::export::request_content(&mut self.live, &self.doc, what, content, ctx);
            }
            file_command => files::handle(self, ctx, file_command),
        }
    }

    fn update_title(&mut self, ctx: &egui::Context) {
        let title = format!("{} — Flowbench", self.doc.title());
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    fn menu_bar(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| files::menu_ui(ui, self));
            ui.menu_button("Edit", |ui| {
                let undo = match self.doc.undo_label() {
                    Some(label) => format!("Undo {label}"),
                    None => "Undo".to_owned(),
                };
                let items = [
                    (undo, AppCommand::Undo, "Ctrl+Z", self.doc.can_undo()),
                    (
                        "Redo".to_owned(),
                        AppCommand::Redo,
                        "Ctrl+Shift+Z",
                        self.doc.can_redo(),
                    ),
                    (
                        "Cut".to_owned(),
                        AppCommand::Cut,
                        "Ctrl+X",
                        !self.doc.selection.nodes.is_empty(),
                    ),
                    (
                        "Copy".to_owned(),
                        AppCommand::Copy,
                        "Ctrl+C",
                        !self.doc.selection.nodes.is_empty(),
                    ),
                    (
                        "Duplicate".to_owned(),
                        AppCommand::Duplicate,
                        "Ctrl+D",
                        !self.doc.selection.nodes.is_empty(),
                    ),
                    (
                        "Delete".to_owned(),
                        AppCommand::Delete,
                        "Del",
                        !self.doc.selection.is_empty(),
                    ),
                    (
                        "Select all".to_owned(),
                        AppCommand::SelectAll,
                        "Ctrl+A",
                        true,
                    ),
                    (
                        "Find node…".to_owned(),
                        AppCommand::Find,
                        "Ctrl+F",
                        !self.doc.graph.nodes.is_empty(),
                    ),
                ];
                for (label, command, keys, enabled) in items {
                    let button = egui::Button::new(label).shortcut_text(keys);
                    if ui.add_enabled(enabled, button).clicked() {
                        self.commands.push(command);
                        ui.close();
                    }
                }
            });
            ui.menu_button("View", |ui| {
                for (label, command, keys) in [
                    ("Fit graph", AppCommand::FitView, "F"),
                    ("Auto layout", AppCommand::AutoLayout, "Ctrl+L"),
                ] {
                    if ui
                        .add(egui::Button::new(label).shortcut_text(keys))
                        .clicked()
                    {
                        self.commands.push(command);
                        ui.close();
                    }
                }
                let mut minimap = !self.canvas.minimap_hidden();
                if ui
                    .checkbox(&mut minimap, "Minimap")
                    .on_hover_text("An overview in the corner while the graph does not fit")
                    .changed()
                {
                    self.canvas.set_minimap_hidden(!minimap);
                }
                ui.separator();
                theme::menu_ui(ui);
            });
            ui.menu_button("Simulation", |ui| {
                let going = self.live.is_running();
                let toggle =
                    egui::Button::new(if going { "Pause" } else { "Run" }).shortcut_text("Space");
                if ui.add(toggle).clicked() {
                    self.commands.push(AppCommand::ToggleRun);
                    ui.close();
                }
                ui.separator();
                if ui
                    .button("Replicate…")
                    .on_hover_text(
                        "Run the graph several times with different seeds, at full speed, and \
                         see each figure's mean with its 95 % confidence interval",
                    )
                    .clicked()
                {
                    self.commands.push(AppCommand::ShowReplications);
                    ui.close();
                }
            });
            ui.menu_button("Help", |ui| {
                if ui
                    .add(egui::Button::new("Keyboard shortcuts").shortcut_text("F1"))
                    .clicked()
                {
                    self.commands.push(AppCommand::ShowShortcuts);
                    ui.close();
                }
            });
        });
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let now = ui.input(|i| i.time);
            match &self.status {
                Some((message, at)) if now - at < 6.0 => {
                    ui.label(message);
                }
                _ => {
                    let g = &self.doc.graph;
                    ui.weak(format!("{} nodes · {} edges", g.nodes.len(), g.edges.len()));
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.weak(format!("{:.0} %", self.canvas.zoom() * 100.0));
            });
        });
    }
}

impl eframe::App for FlowbenchApp {
    /// Before every frame, and while the window is minimised (when no frame is drawn): what
    /// must go on unseen. Close requests, autosave, and the live run's snapshots (so that
    /// its time series has no gap and its refusals are read).
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        files::close_request(self, ctx);
        files::autosave(self, ctx);
        self.live.poll(ctx, &self.doc);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        shortcuts::handle(self, &ctx);
        files::before_frame(self, &ctx);

        egui::Panel::top("menu").show(ui, |ui| self.menu_bar(ui));
        egui::Panel::top("run_bar").show(ui, |ui| {
            live::run_bar::ui(ui, &mut self.live, &self.doc, &mut self.commands)
        });
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        let monitor = self.live.tab == live::BottomTab::Monitor;
        egui::Panel::bottom("diagnostics")
            .resizable(true)
            .default_size(120.0)
            .min_size(if monitor { 280.0 } else { 60.0 })
            .show(ui, |ui| {
                live::tabs_ui(ui, &mut self.live, &self.doc);
                match self.live.tab {
                    live::BottomTab::Problems => diagnostics::ui(ui, &self.doc, &mut self.commands),
                    live::BottomTab::Monitor => {
                        live::monitor::ui(ui, &mut self.live, &self.doc, &mut self.commands)
                    }
                }
            });
        egui::Panel::left("palette")
            .resizable(true)
            .default_size(150.0)
            .show(ui, |ui| palette::ui(ui, &mut self.doc, &self.canvas));
        egui::Panel::right("inspector")
            .resizable(true)
            .default_size(380.0)
            .show(ui, |ui| {
                self.inspector.live_active = self.live.is_active();
                inspector::ui(ui, &mut self.doc, &mut self.inspector, &mut self.commands)
            });
        // The canvas paints its own background up to the panel edges.
        egui::CentralPanel::default()
            .frame(egui::Frame::NONE)
            .show(ui, |ui| {
                self.canvas
                    .ui(ui, &mut self.doc, Some(&self.live), &mut self.commands);
            });

        if self.show_shortcuts {
            shortcuts::window(&ctx, &mut self.show_shortcuts);
        }
        find::window(&ctx, &mut self.find, &self.doc, &mut self.commands);
        replicate::window(
            &ctx,
            &mut self.replicate,
            &self.doc,
            &self.live,
            &mut self.commands,
        );
        files::dialogs_ui(self, &ctx);
        live::export::dialogs_ui(&mut self.live, &ctx, &mut self.commands);
        self.handle_commands(&ctx);
        if let Some(speed) = self.start_run.take() {
            self.live.set_speed(speed);
            self.live.run(&self.doc);
        }
        self.update_title(&ctx);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.settings.last_path = self.doc.path.clone();
        self.settings.last_unsaved_graph = if self.doc.path.is_none() {
            Some(self.doc.graph.to_json_pretty())
        } else {
            None
        };
        eframe::set_value(storage, SETTINGS_KEY, &self.settings);
    }
}

/// Opens the designer window and returns when it closes.
pub fn run_designer(path: Option<PathBuf>) -> anyhow::Result<()> {
    run_designer_with(path, None)
}

/// Opens the designer window, optionally starting the live run at once, and returns when it
/// closes.
pub fn run_designer_with(
    path: Option<PathBuf>,
    start_run: Option<live::Speed>,
) -> anyhow::Result<()> {
    let start = match path {
        Some(path) => StartWith::File(path),
        None => StartWith::LastSession,
    };
    run_designer_on(start, start_run)
}

/// Opens the window on `start`, and starts a live run at `start_run` once it is open.
pub fn run_designer_on(start: StartWith, start_run: Option<live::Speed>) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Flowbench")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([640.0, 400.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "flowbench",
        options,
        Box::new(move |cc| {
            let mut app = FlowbenchApp::new(cc, start);
            app.start_run = start_run;
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the designer window: {e}"))
}
