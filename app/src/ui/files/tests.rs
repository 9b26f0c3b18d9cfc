//! Files in the designer: questions before losing changes, open errors, the path window,
//! saves that notice changes on disk, drag-and-drop, close requests, autosave and recovery,
//! import and export.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use flowbench_engine::{Graph, NodeKind};
use serde_json::{Value, json};

use super::autosave::data_dir_from;
use super::*;
use crate::ui::FlowbenchApp;

const MM1: &str = include_str!("../../../../sample-graphs/mm1.json");

fn mm1() -> Graph {
    Graph::from_json_str(MM1).unwrap()
}

fn start(app: FlowbenchApp) -> Harness<'static, FlowbenchApp> {
    Harness::builder()
        .with_size([1280.0, 800.0])
        .with_max_steps(30)
        .allow_missing_glyphs()
        .build_eframe(|_cc| app)
}

/// An app on mm1.json saved in `dir`, not dirty.
fn app_on_file(dir: &Path) -> (FlowbenchApp, PathBuf) {
    let path = dir.join("mm1.json");
    std::fs::write(&path, MM1).unwrap();
    let doc = open_document(&path).unwrap();
    let mut app = FlowbenchApp::with_document(doc);
    app.files.stamp = DiskStamp::of(&path).map(|s| (path.clone(), s));
    (app, path)
}

fn push(harness: &mut Harness<'static, FlowbenchApp>, command: AppCommand) {
    harness.state_mut().commands.push(command);
    harness.run();
}

/// A file dropped on the window, as the windowing layer hands it over.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// New with unsaved changes asks first; Cancel keeps the work, Discard throws it away.
#[test]
fn new_asks_before_discarding_changes() {
    let mut harness = start(FlowbenchApp::with_document(Document::new(mm1(), None)));
    harness.state_mut().doc.add_node(NodeKind::Sink, [0.0, 0.0]);
    push(&mut harness, AppCommand::New);
    assert!(matches!(
        harness.state().files.question,
        Some(Question::Unsaved(Proceed::New))
    ));
    harness.get_by_label("Cancel").click();
    harness.run();
    assert!(harness.state().files.question.is_none());
    assert_eq!(harness.state().doc.graph.nodes.len(), 5);

    push(&mut harness, AppCommand::New);
    harness.get_by_label("Discard").click();
    harness.run();
    assert!(harness.state().doc.graph.nodes.is_empty());
    assert!(!harness.state().doc.is_dirty());
}

/// Save in the unsaved-changes question saves first, then goes on (here: to a new graph).
#[test]
fn save_answer_saves_then_proceeds() {
    let dir = tempfile::tempdir().unwrap();
    let (app, path) = app_on_file(dir.path());
    let mut harness = start(app);
    harness.state_mut().doc.add_node(NodeKind::Sink, [0.0, 0.0]);
    push(&mut harness, AppCommand::New);
    harness.get_by_label("Save").click();
    harness.run();
    let (saved, _) = load::load(&path).unwrap();
    assert_eq!(saved.nodes.len(), 5);
    assert!(harness.state().doc.graph.nodes.is_empty());
}

/// A file that does not parse is reported in a window with its one-line message, and the
/// current document stays.
#[test]
fn open_error_keeps_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\n  \"format\": \"flowbench.graph\",\n  \"version\": 1,,\n}",
    )
    .unwrap();
    let mut harness = start(FlowbenchApp::with_document(Document::new(mm1(), None)));
    push(&mut harness, AppCommand::OpenPath(bad.clone()));
    let error = harness.state().files.error.clone().unwrap();
    assert!(
        error
            .message
            .starts_with(&format!("{}:3:16:", bad.display())),
        "{}",
        error.message
    );
    harness.get_by_label(&error.message);
    assert_eq!(harness.state().doc.graph, mm1());
    harness.get_by_label("OK").click();
    harness.run();
    assert!(harness.state().files.error.is_none());
}

/// Without native dialogs, Open shows a path window; a missing file is refused in place, an
/// existing one opens and goes to the recent files.
#[test]
fn path_window_opens_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("graph.json");
    std::fs::write(&path, MM1).unwrap();
    let mut harness = start(FlowbenchApp::with_document(Document::empty()));
    push(&mut harness, AppCommand::Open);
    assert_eq!(harness.state().files.path_prompt(), Some(&Purpose::Open));

    let missing = dir.path().join("missing.json");
    harness.state_mut().files.path_prompt.as_mut().unwrap().text = missing.display().to_string();
    harness.get_by_label("Open").click();
    harness.run();
    harness.get_by_label(&format!("No file at {}", missing.display()));

    harness.state_mut().files.path_prompt.as_mut().unwrap().text = path.display().to_string();
    harness.get_by_label("Open").click();
    harness.run();
    let app = harness.state();
    assert!(app.files.path_prompt().is_none());
    assert_eq!(app.doc.path.as_deref(), Some(path.as_path()));
    assert_eq!(app.doc.graph, mm1());
    assert_eq!(
        app.settings.recent.first(),
        Some(&std::path::absolute(&path).unwrap())
    );
}

/// Opening another file, or a new graph, ends the live run of the one before: the new
/// document is not shown with the old graph's numbers.
#[test]
fn a_replaced_document_ends_its_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("graph.json");
    std::fs::write(&path, MM1).unwrap();
    let mut harness = start(FlowbenchApp::with_document(Document::new(mm1(), None)));
    push(&mut harness, AppCommand::ToggleRun);
    assert!(harness.state().live.running_graph().is_some());
    push(&mut harness, AppCommand::OpenPath(path));
    assert!(harness.state().live.running_graph().is_none());
    assert!(harness.state().live.notices().is_empty());

    push(&mut harness, AppCommand::ToggleRun);
    assert!(harness.state().live.running_graph().is_some());
    push(&mut harness, AppCommand::New);
    assert!(harness.state().live.running_graph().is_none());
}

/// Save without a file asks for one; Ctrl+S then saves to it; a file changed on disk in
/// between is not overwritten until the user says so.
#[test]
fn save_as_then_save_notices_changes_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.json");
    let mut harness = start(FlowbenchApp::with_document(Document::new(mm1(), None)));
    harness.state_mut().doc.add_node(NodeKind::Sink, [0.0, 0.0]);
    push(&mut harness, AppCommand::Save);
    assert!(matches!(
        harness.state().files.path_prompt(),
        Some(Purpose::SaveAs { then: None })
    ));
    // Without an extension the graph gets `.json`.
    harness.state_mut().files.path_prompt.as_mut().unwrap().text =
        dir.path().join("new").display().to_string();
    harness.get_by_label("Save").click();
    harness.run();
    assert_eq!(harness.state().doc.path.as_deref(), Some(path.as_path()));
    assert!(!harness.state().doc.is_dirty());
    assert_eq!(load::load(&path).unwrap().0.nodes.len(), 5);

    std::fs::write(&path, "{\"changed\": \"by someone else\"}").unwrap();
    harness
        .state_mut()
        .doc
        .add_node(NodeKind::Sink, [0.0, 100.0]);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    harness.run();
    assert!(matches!(
        harness.state().files.question,
        Some(Question::ChangedOnDisk { .. })
    ));
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("someone else")
    );
    harness.get_by_label("Overwrite").click();
    harness.run();
    assert_eq!(load::load(&path).unwrap().0.nodes.len(), 6);
    // The overwritten version is kept as the backup.
    let backup = crate::file_io::backup_path(&path);
    assert!(
        std::fs::read_to_string(backup)
            .unwrap()
            .contains("someone else")
    );
}

/// Closing the window with unsaved changes is cancelled and asks; Discard closes for real.
#[test]
fn close_with_unsaved_changes_asks() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = FlowbenchApp::with_document(Document::new(mm1(), None));
    app.files.enable_autosave(dir.path().to_owned());
    let mut harness = start(app);
    harness.state_mut().doc.add_node(NodeKind::Sink, [0.0, 0.0]);
    let autosave = {
        let app = harness.state_mut();
        let doc = &app.doc;
        let autosave = app.files.autosave.as_mut().unwrap();
        autosave.write_now(doc).unwrap();
        autosave.file().to_owned()
    };
    assert!(autosave.exists());

    request_close(&mut harness);
    assert!(sent(&harness, &egui::ViewportCommand::CancelClose));
    assert!(sent(&harness, &egui::ViewportCommand::Focus));
    assert!(!sent(&harness, &egui::ViewportCommand::Minimized(false)));
    assert!(matches!(
        harness.state().files.question,
        Some(Question::Unsaved(Proceed::Close))
    ));
    harness.run();
    harness.get_by_label("Discard").click();
    harness.step();
    assert!(sent(&harness, &egui::ViewportCommand::Close));
    // The close goes through now, and a clean exit leaves no autosave.
    request_close(&mut harness);
    assert!(!sent(&harness, &egui::ViewportCommand::CancelClose));
    assert!(!autosave.exists());
}

/// Whether a close request closes or asks: it asks whenever something is unsaved and the
/// user has not chosen yet, and restores a minimised window to ask.
#[test]
fn close_requests_ask_whenever_changes_are_unsaved() {
    use OnClose::{Ask, Close};
    for minimized in [false, true] {
        assert_eq!(OnClose::decide(false, false, minimized), Close);
        assert_eq!(OnClose::decide(false, true, minimized), Close);
        assert_eq!(OnClose::decide(true, true, minimized), Close);
    }
    assert_eq!(OnClose::decide(true, false, false), Ask { restore: false });
    assert_eq!(OnClose::decide(true, false, true), Ask { restore: true });
}

/// Closing a minimised window with unsaved changes, when eframe runs only `App::logic` (no
/// frame is drawn): the close is cancelled, the window restored and focused, and the
/// question waits for it. With nothing unsaved it closes.
#[test]
fn close_while_minimised_restores_the_window_and_asks() {
    let minimised_close = || {
        let mut input = egui::RawInput::default();
        let viewport = input.viewports.entry(egui::ViewportId::ROOT).or_default();
        viewport.minimized = Some(true);
        viewport.events.push(egui::ViewportEvent::Close);
        input
    };
    let logic_only = |app: &mut FlowbenchApp| {
        let ctx = egui::Context::default();
        let mut frame = eframe::Frame::_new_kittest();
        let output = ctx.run_logic(&minimised_close(), |ctx| {
            eframe::App::logic(app, ctx, &mut frame)
        });
        output
            .viewport_commands
            .get(&egui::ViewportId::ROOT)
            .cloned()
            .unwrap_or_default()
    };

    let mut app = FlowbenchApp::with_document(Document::new(mm1(), None));
    app.doc.add_node(NodeKind::Sink, [0.0, 0.0]);
    assert_eq!(
        logic_only(&mut app),
        [
            egui::ViewportCommand::CancelClose,
            egui::ViewportCommand::Minimized(false),
            egui::ViewportCommand::Focus,
        ]
    );
    assert_eq!(app.files.question, Some(Question::Unsaved(Proceed::Close)));

    let mut app = FlowbenchApp::with_document(Document::new(mm1(), None));
    assert_eq!(logic_only(&mut app), []);
    assert_eq!(app.files.question, None);
}

/// While the window is minimised eframe runs only `App::logic`: unsaved work is still
/// autosaved once the interval has passed, and not before.
#[test]
fn autosave_goes_on_while_minimised() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = FlowbenchApp::with_document(Document::new(mm1(), None));
    app.files.enable_autosave(dir.path().to_owned());
    app.doc.add_node(NodeKind::Sink, [0.0, 0.0]);
    let ctx = egui::Context::default();
    let mut frame = eframe::Frame::_new_kittest();
    let mut logic_only = |app: &mut FlowbenchApp| {
        let mut input = egui::RawInput::default();
        let viewport = input.viewports.entry(egui::ViewportId::ROOT).or_default();
        viewport.minimized = Some(true);
        let _ = ctx.run_logic(&input, |ctx| eframe::App::logic(app, ctx, &mut frame));
    };

    logic_only(&mut app);
    let file = app.files.autosave().unwrap().file().to_owned();
    assert!(!file.exists(), "written before the interval passed");

    app.files
        .autosave
        .as_mut()
        .unwrap()
        .backdate(AUTOSAVE_INTERVAL);
    logic_only(&mut app);
    app.files.autosave.as_mut().unwrap().finish_writer();
    let record: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        Graph::from_json_str(&record["graph"].to_string()).unwrap(),
        app.doc.graph
    );
    assert!(app.doc.is_dirty());
}

fn request_close(harness: &mut Harness<'static, FlowbenchApp>) {
    harness
        .input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .events
        .push(egui::ViewportEvent::Close);
    harness.step();
}

fn sent(harness: &Harness<'static, FlowbenchApp>, command: &egui::ViewportCommand) -> bool {
    harness
        .output()
        .viewport_output
        .get(&egui::ViewportId::ROOT)
        .is_some_and(|v| v.commands.contains(command))
}

/// A graph dropped on the window opens (after the unsaved-changes question); a dropped
/// Mermaid file is imported.
#[test]
fn dropped_files_open_or_import() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dropped.json");
    std::fs::write(&path, MM1).unwrap();
    let mut harness = start(FlowbenchApp::with_document(Document::empty()));
    harness.state_mut().doc.add_node(NodeKind::Sink, [0.0, 0.0]);
    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(Dropped(path.clone())));
    harness.run();
    harness.get_by_label("Discard").click();
    harness.run();
    assert_eq!(harness.state().doc.path.as_deref(), Some(path.as_path()));

    let chart = dir.path().join("design.mmd");
    std::fs::write(
        &chart,
        "flowchart LR\n a[Producer] --> q[(Queue)] --> w[Worker]\n",
    )
    .unwrap();
    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(Dropped(chart)));
    harness.run();
    let kinds: Vec<&str> = harness
        .state()
        .doc
        .graph
        .nodes
        .iter()
        .map(|n| n.kind_name())
        .collect();
    assert_eq!(kinds, ["producer", "queue", "service"]);
}

/// Import Mermaid replaces the graph as one undoable step, laid out; a bad chart names its
/// line and changes nothing.
#[test]
fn import_mermaid_is_one_undo_step() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("checkout.mmd");
    std::fs::write(
        &chart,
        "graph TD\n  c[Client] --> gw[API Gateway]\n  gw -->|eu| s1[EU service]\n  gw -->|us| s2[US service]\n",
    )
    .unwrap();
    let mut harness = start(FlowbenchApp::with_document(Document::new(mm1(), None)));
    push(&mut harness, AppCommand::ImportMermaid);
    harness.state_mut().files.path_prompt.as_mut().unwrap().text = chart.display().to_string();
    harness.get_by_label("Import").click();
    harness.run();
    let graph = harness.state().doc.graph.clone();
    assert_eq!(graph.name, "checkout");
    assert_eq!(graph.nodes.len(), 4);
    assert!(graph.nodes.iter().all(|n| n.pos.is_some()));
    assert_eq!(harness.state().doc.undo_label(), Some("Import Mermaid"));
    assert!(harness.state_mut().doc.undo());
    assert_eq!(harness.state().doc.graph, mm1());

    let bad = dir.path().join("bad.mmd");
    std::fs::write(&bad, "flowchart LR\n  a --> b\n  a -->\n").unwrap();
    let ctx = harness.ctx.clone();
    choose_path(
        harness.state_mut(),
        &ctx,
        Purpose::ImportMermaid,
        bad.clone(),
    );
    let error = harness.state().files.error.clone().unwrap();
    assert!(
        error.message.starts_with(&format!("{}:3: ", bad.display())),
        "{}",
        error.message
    );
    assert_eq!(harness.state().doc.graph, mm1());
}

/// Auto layout moves every node as one undoable step.
#[test]
fn auto_layout_is_one_undo_step() {
    let mut harness = start(FlowbenchApp::with_document(Document::new(mm1(), None)));
    for node in &mut harness.state_mut().doc.graph.nodes {
        node.pos = Some([0.0, 0.0]);
    }
    push(&mut harness, AppCommand::AutoLayout);
    let xs: Vec<f64> = harness
        .state()
        .doc
        .graph
        .nodes
        .iter()
        .map(|n| n.pos.unwrap()[0])
        .collect();
    assert!(xs.windows(2).all(|w| w[0] < w[1]), "{xs:?}");
    assert_eq!(harness.state().doc.undo_label(), Some("Auto layout"));
    assert!(harness.state_mut().doc.undo());
    assert!(
        harness
            .state()
            .doc
            .graph
            .nodes
            .iter()
            .all(|n| n.pos == Some([0.0, 0.0]))
    );
}

/// Exports write the chosen format next to the graph, and leave the document as it was.
#[test]
fn exports_write_their_format() {
    let dir = tempfile::tempdir().unwrap();
    let (app, path) = app_on_file(dir.path());
    let mut harness = start(app);
    let ctx = harness.ctx.clone();
    for (kind, expected) in [
        (ExportKind::Json, "{"),
        (ExportKind::Dot, "digraph"),
        (ExportKind::Mermaid, "flowchart LR"),
        (ExportKind::Svg, "<svg"),
    ] {
        let out = dir.path().join(format!("out.{}", kind.extension()));
        choose_path(
            harness.state_mut(),
            &ctx,
            Purpose::Export(kind),
            out.clone(),
        );
        assert!(
            harness.state().files.error.is_none(),
            "{:?}",
            harness.state().files.error
        );
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains(expected), "{kind:?}: {text}");
    }
    assert_eq!(harness.state().doc.path.as_deref(), Some(path.as_path()));
    assert!(!harness.state().doc.is_dirty());
    // The suggested export name follows the graph's file.
    let suggestion = suggested_path(&harness.state().doc, &Purpose::Export(ExportKind::Dot));
    assert_eq!(suggestion, dir.path().join("mm1.dot"));
}

/// Recent files: most recent first, no duplicates, at most ten.
#[test]
fn recent_files_order_and_limit() {
    let mut recent = Vec::new();
    for i in 0..12 {
        add_recent(&mut recent, Path::new(&format!("/g/{i}.json")));
    }
    add_recent(&mut recent, Path::new("/g/5.json"));
    assert_eq!(recent.len(), RECENT_LIMIT);
    assert_eq!(recent[0], Path::new("/g/5.json"));
    assert_eq!(recent[1], Path::new("/g/11.json"));
    assert_eq!(recent.iter().filter(|p| p.ends_with("5.json")).count(), 1);
}

/// Autosave waits for the interval, writes only changes, and goes away when the document is
/// saved.
#[test]
fn autosave_follows_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = Document::new(mm1(), Some(dir.path().join("mm1.json")));
    let mut autosave = Autosave::new(dir.path().join("data"));
    let start = Instant::now();
    assert_eq!(autosave.tick(&doc, start), None, "nothing to save");
    doc.add_node(NodeKind::Sink, [0.0, 0.0]);
    let wait = autosave.tick(&doc, start).unwrap();
    assert!(wait <= AUTOSAVE_INTERVAL);
    assert!(!autosave.file().exists());
    assert_eq!(autosave.tick(&doc, start + AUTOSAVE_INTERVAL * 2), None);
    autosave.finish_writer();
    assert!(autosave.file().exists());
    // Our own session's autosave is not offered for recovery.
    assert!(find_recovery(&dir.path().join("data")).is_none());

    doc.mark_saved(dir.path().join("mm1.json"));
    autosave.tick(&doc, start + AUTOSAVE_INTERVAL * 3);
    assert!(!autosave.file().exists());
}

/// An autosave left by a session that is gone is offered; Recover brings the work back as an
/// unsaved, undoable change on top of the file; Discard removes it.
#[test]
fn recovery_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (app, path) = app_on_file(dir.path());
    let mut crashed = app.doc;
    crashed.add_node(NodeKind::Sink, [400.0, 400.0]);
    let mut autosave = Autosave::new(data.clone());
    autosave.write_now(&crashed).unwrap();
    let left_behind = pretend_written_by_a_gone_session(autosave.file());

    let mut app = FlowbenchApp::with_document(Document::empty());
    app.files.enable_autosave(data.clone());
    let Some(Question::Recover(recovery)) = app.files.question.clone() else {
        panic!("recovery expected");
    };
    assert_eq!(recovery.path.as_deref(), Some(path.as_path()));
    assert_eq!(recovery.graph, crashed.graph);
    let text = recovery_text(&recovery, SystemTime::now());
    assert!(
        text.starts_with("Recover unsaved work from less than a minute ago ("),
        "{text}"
    );

    let mut harness = start(app);
    harness.run();
    harness.get_by_label("Recover").click();
    harness.run();
    let doc = &harness.state().doc;
    assert_eq!(doc.graph, crashed.graph);
    assert_eq!(doc.path.as_deref(), Some(path.as_path()));
    assert!(doc.is_dirty());
    assert!(!left_behind.exists());
    assert!(harness.state_mut().doc.undo());
    assert_eq!(harness.state().doc.graph, mm1());

    // Discard removes it without touching the document.
    let mut autosave = Autosave::new(data.clone());
    autosave.write_now(&crashed).unwrap();
    let left_behind = pretend_written_by_a_gone_session(autosave.file());
    let mut app = FlowbenchApp::with_document(Document::empty());
    app.files.enable_autosave(data);
    let mut harness = start(app);
    harness.run();
    harness.get_by_label("Discard").click();
    harness.run();
    assert!(!left_behind.exists());
    assert!(harness.state().doc.graph.nodes.is_empty());
}

/// Recovered work is in this session's autosave the moment it is recovered, before the old
/// autosave is removed: a crash right after Recover loses nothing.
#[test]
fn recovered_work_is_autosaved_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut crashed = Document::new(mm1(), None);
    crashed.add_node(NodeKind::Sink, [400.0, 400.0]);
    let mut autosave = Autosave::new(data.clone());
    autosave.write_now(&crashed).unwrap();
    let left_behind = pretend_written_by_a_gone_session(autosave.file());

    let mut app = FlowbenchApp::with_document(Document::empty());
    app.files.enable_autosave(data.clone());
    let Some(question @ Question::Recover(_)) = app.files.question.clone() else {
        panic!("recovery expected");
    };
    let ctx = egui::Context::default();
    answer_question(&mut app, &ctx, question, "Recover");
    assert!(!left_behind.exists());
    let own = app.files.autosave().unwrap().file().to_owned();
    let record: Value = serde_json::from_str(&std::fs::read_to_string(&own).unwrap()).unwrap();
    assert_eq!(
        Graph::from_json_str(&record["graph"].to_string()).unwrap(),
        crashed.graph
    );
    // Were this session killed now, the next one would offer the work again.
    let mut record = record;
    record["pid"] = json!(u32::MAX - 1);
    std::fs::write(&own, record.to_string()).unwrap();
    assert_eq!(find_recovery(&data).unwrap().graph, crashed.graph);
}

/// Rewrites an autosave as if a process that has ended wrote it.
fn pretend_written_by_a_gone_session(file: &Path) -> PathBuf {
    let mut record: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let gone = u32::MAX - 1;
    record["pid"] = json!(gone);
    let moved = file.with_file_name(format!("autosave-{gone}.json"));
    std::fs::write(&moved, record.to_string()).unwrap();
    std::fs::remove_file(file).unwrap();
    moved
}

/// The data folder comes from FLOWBENCH_DATA_DIR when set.
#[test]
fn data_dir_override() {
    assert_eq!(
        data_dir_from(Some("/tmp/flowbench-data".into())),
        Some(PathBuf::from("/tmp/flowbench-data"))
    );
    assert_eq!(
        data_dir_from(Some("".into())),
        eframe::storage_dir("flowbench")
    );
}

/// A real session with FLOWBENCH_DATA_DIR: one process autosaves and ends without a clean
/// exit; the next one, started with the same variable, offers the work back.
#[test]
fn recovery_through_the_data_dir_variable() {
    let dir = tempfile::tempdir().unwrap();
    for mode in ["crash", "recover"] {
        let output = Command::new(std::env::current_exe().unwrap())
            .args([
                "ui::files::tests::session_in_child_process",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DATA_DIR_ENV, dir.path())
            .env("FLOWBENCH_TEST_SESSION", mode)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "{mode}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// One session of [`recovery_through_the_data_dir_variable`], run in a child process.
#[test]
#[ignore = "run by recovery_through_the_data_dir_variable in a child process"]
fn session_in_child_process() {
    let Ok(mode) = std::env::var("FLOWBENCH_TEST_SESSION") else {
        return;
    };
    let mut files = FileState::default();
    files.check_recovery(&mut Vec::new());
    let autosave = files.autosave.as_mut().expect("autosave is on");
    assert_eq!(
        autosave.file().parent(),
        std::env::var_os(DATA_DIR_ENV).as_deref().map(Path::new)
    );
    match mode.as_str() {
        "crash" => {
            assert!(files.question.is_none());
            let mut doc = Document::new(mm1(), None);
            doc.add_node(NodeKind::Sink, [0.0, 0.0]);
            files.autosave.as_mut().unwrap().write_now(&doc).unwrap();
            // Ends without a clean exit: the autosave stays.
        }
        _ => {
            let Some(Question::Recover(recovery)) = &files.question else {
                panic!("the crashed session's work is offered");
            };
            assert_eq!(recovery.graph.nodes.len(), 5);
            assert_eq!(recovery.path, None);
        }
    }
}
