//! The designer window driven end to end like a user would: the whole app, widgets found by
//! their accessible names, pointer drags on the canvas, keyboard shortcuts, the path window
//! standing in for file dialogs; results checked on the document and on the saved file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::{Event, Key, Modifiers, PointerButton, Pos2, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use flowbench::ui::{Document, FlowbenchApp};
use flowbench_engine::model::QueueConfig;
use flowbench_engine::{Edge, Graph, Node, NodeConfig, NodeKind};

type App = Harness<'static, FlowbenchApp>;

/// The app on `graph` (never saved, no autosave, the path window instead of native dialogs),
/// in a window of the size the designer opens with.
fn app(graph: Graph) -> App {
    let app = FlowbenchApp::with_document(Document::new(graph, None));
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_max_steps(30)
        .allow_missing_glyphs()
        .build_eframe(|_cc| app);
    h.run();
    h
}

fn node(id: &str, kind: NodeKind, pos: [f64; 2]) -> Node {
    let mut node = Node::new(id, NodeConfig::default_for(kind));
    node.pos = Some(pos);
    node
}

fn graph(name: &str, nodes: Vec<Node>, edges: Vec<Edge>) -> Graph {
    Graph {
        name: name.to_owned(),
        nodes,
        edges,
        ..Graph::default()
    }
}

/// Producer → queue → worker → sink, plus nothing else: a small valid design.
fn pipeline() -> Graph {
    graph(
        "pipeline",
        vec![
            node("orders", NodeKind::Producer, [0.0, 0.0]),
            node("q", NodeKind::Queue, [220.0, 0.0]),
            node("worker", NodeKind::Service, [440.0, 0.0]),
            node("done", NodeKind::Sink, [660.0, 0.0]),
        ],
        vec![
            Edge::new("orders", "q"),
            Edge::new("q", "worker"),
            Edge::new("worker", "done"),
        ],
    )
}

/// The centre of the widget named `label`.
fn centre_of(h: &App, label: &str) -> Pos2 {
    h.get_by_label(label).rect().center()
}

fn widget_rect(h: &App, label: &str) -> egui::Rect {
    h.get_by_label(label).rect()
}

/// The message the status bar shows, if any.
fn status(h: &App) -> Option<String> {
    h.state()
        .status
        .as_ref()
        .map(|(message, _)| message.clone())
}

/// Presses the primary button at `from`, moves to `to` in steps and releases there.
fn drag(h: &mut App, from: Pos2, to: Pos2) {
    h.hover_at(from);
    h.step();
    h.event(Event::PointerButton {
        pos: from,
        button: PointerButton::Primary,
        pressed: true,
        modifiers: Modifiers::NONE,
    });
    h.step();
    for i in 1..=8 {
        h.event(Event::PointerMoved(from.lerp(to, i as f32 / 8.0)));
        h.step();
    }
    h.event(Event::PointerButton {
        pos: to,
        button: PointerButton::Primary,
        pressed: false,
        modifiers: Modifiers::NONE,
    });
    h.step();
    h.run();
}

fn shortcut(h: &mut App, modifiers: Modifiers, key: Key) {
    h.key_press_modifiers(modifiers, key);
    h.run();
}

/// Replaces the text of the focused path window with `path` and confirms with `verb`.
fn answer_path_window(h: &mut App, path: &Path, verb: &str) {
    h.get_by_label("Path").focus();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_label("Path")
        .type_text(&path.display().to_string());
    h.run();
    h.get_by_label(verb).click();
    h.run();
}

fn edges(h: &App) -> Vec<(String, String, String)> {
    h.state()
        .doc
        .graph
        .edges
        .iter()
        .map(|e| (e.from.clone(), e.port.clone(), e.to.clone()))
        .collect()
}

fn edge(from: &str, port: &str, to: &str) -> (String, String, String) {
    (from.to_owned(), port.to_owned(), to.to_owned())
}

fn node_ids(h: &App) -> Vec<String> {
    h.state()
        .doc
        .graph
        .nodes
        .iter()
        .map(|n| n.id.clone())
        .collect()
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

/// The whole designer loop on one producer: a palette click adds a queue, a drag from the
/// producer's port wires it, the inspector sets its capacity, undo twice and redo once
/// bring back the edge but not the capacity, and Ctrl+S through the path window saves
/// exactly that graph.
#[test]
fn add_connect_edit_undo_redo_save() {
    let start = graph(
        "Orders",
        vec![node("orders", NodeKind::Producer, [0.0, 0.0])],
        Vec::new(),
    );
    let mut h = app(start.clone());

    h.get_by_label("queue").click();
    h.run();
    let queue = h
        .state()
        .doc
        .node("queue")
        .cloned()
        .expect("a queue was added");
    assert_eq!(h.state().doc.selection.single_node(), Some("queue"));
    assert_eq!(
        queue.config,
        NodeConfig::Queue(QueueConfig::default()),
        "a new queue has the default config"
    );

    assert!(
        !widget_rect(&h, "node queue").intersects(widget_rect(&h, "node orders")),
        "the new queue does not hide the producer"
    );
    let from = centre_of(&h, "port orders.out");
    let to = centre_of(&h, "node queue");
    drag(&mut h, from, to);
    assert_eq!(edges(&h), [edge("orders", "out", "queue")]);

    h.get_by_label("node orders").click();
    h.run();
    h.get_by_label("node queue").click();
    h.run();
    assert_eq!(h.state().doc.selection.single_node(), Some("queue"));
    h.get_by_label("capacity").click();
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_label("capacity").type_text("250");
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(
        h.state().doc.node("queue").unwrap().config,
        NodeConfig::Queue(QueueConfig {
            capacity: Some(250),
            ..QueueConfig::default()
        })
    );

    shortcut(&mut h, Modifiers::COMMAND, Key::Z);
    assert_eq!(h.state().doc.node("queue"), Some(&queue), "capacity undone");
    assert_eq!(edges(&h), [edge("orders", "out", "queue")]);
    shortcut(&mut h, Modifiers::COMMAND, Key::Z);
    assert_eq!(h.state().doc.node("queue"), Some(&queue));
    assert!(edges(&h).is_empty(), "the second undo takes the edge away");
    shortcut(&mut h, Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    assert_eq!(edges(&h), [edge("orders", "out", "queue")]);
    assert_eq!(
        h.state().doc.node("queue"),
        Some(&queue),
        "redo brings the edge back, not the capacity"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.json");
    shortcut(&mut h, Modifiers::COMMAND, Key::S);
    answer_path_window(&mut h, &path, "Save");
    assert_eq!(h.state().doc.path.as_deref(), Some(path.as_path()));
    assert!(!h.state().doc.is_dirty());

    let saved = Graph::from_json_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut expected = start;
    expected.nodes.push(queue);
    expected.edges.push(Edge::new("orders", "queue"));
    assert_eq!(saved, expected);
}

/// Wiring a queue into a producer by a drag is refused: no edge, and the status bar says
/// why. A sink offers no output port at all, so a drag from it cannot start an edge, and
/// its inspector says so.
#[test]
fn invalid_connections_are_refused_with_the_reason() {
    let mut h = app(pipeline());
    let before = edges(&h);

    let from = centre_of(&h, "port q.out");
    let to = centre_of(&h, "node orders");
    drag(&mut h, from, to);
    assert_eq!(edges(&h), before);
    let shown = "Cannot connect q to orders: ";
    let message = status(&h).unwrap_or_default();
    assert!(message.starts_with(shown), "{message}");
    assert!(message.contains("takes no input"), "{message}");
    h.get_by_label(&message);

    assert!(
        h.query_by_label("port done.out").is_none(),
        "a sink has no output port"
    );
    let sink = widget_rect(&h, "node done");
    let worker = centre_of(&h, "node worker");
    // Where an output port would be: the sink's right edge.
    drag(&mut h, sink.right_center() - vec2(2.0, 0.0), worker);
    assert_eq!(
        edges(&h),
        before,
        "dragging a sink moves it, it wires nothing"
    );
    assert_ne!(h.state().doc.node("done").unwrap().pos, Some([660.0, 0.0]));
    assert_eq!(h.state().doc.selection.single_node(), Some("done"));
    h.get_by_label("this kind has no output ports");
}

/// File ▸ Import Mermaid… and the path window turn a five-node flowchart into a graph
/// whose kinds come from shapes and words and whose edges keep their ports, laid out and
/// shown on the canvas, as one undoable step; dropping the file on the window does the same.
#[test]
fn mermaid_import_through_the_file_menu() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("billing.mmd");
    std::fs::write(
        &chart,
        "flowchart LR\n\
         \x20 src[Order source] --> q[(Orders)]\n\
         \x20 q --> w[Billing worker]\n\
         \x20 w --> t{{Invoices}}\n\
         \x20 t --> db((Archive))\n\
         \x20 w -->|failed| db\n",
    )
    .unwrap();
    let mut h = app(pipeline());

    h.get_by_label("File").click();
    h.run();
    h.get_by_label("Import Mermaid…").click();
    h.run();
    answer_path_window(&mut h, &chart, "Import");

    let graph = &h.state().doc.graph;
    let kinds: Vec<(&str, &str)> = graph
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.kind_name()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("src", "producer"),
            ("q", "queue"),
            ("w", "service"),
            ("t", "topic"),
            ("db", "sink"),
        ]
    );
    assert_eq!(
        edges(&h),
        [
            edge("src", "out", "q"),
            edge("q", "out", "w"),
            edge("w", "out", "t"),
            edge("t", "out", "db"),
            edge("w", "error", "db"),
        ]
    );
    let graph = &h.state().doc.graph;
    assert_eq!(graph.name, "billing");
    assert!(graph.nodes.iter().all(|n| n.pos.is_some()), "laid out");
    assert!(
        !h.state().doc.has_errors(),
        "{:?}",
        h.state().doc.diagnostics
    );
    for id in ["src", "q", "w", "t", "db"] {
        h.get_by_label(&format!("node {id}"));
    }
    assert!(status(&h).is_some_and(|s| s.starts_with("Imported 5 nodes")));

    let imported = h.state().doc.graph.clone();
    shortcut(&mut h, Modifiers::COMMAND, Key::Z);
    assert_eq!(h.state().doc.graph, pipeline());

    // Dropping the same file on the window imports it the same way.
    h.input_mut()
        .dropped_files
        .push(Arc::new(Dropped(chart.clone())));
    h.run();
    assert_eq!(h.state().doc.graph, imported);
}

/// A graph with an error lists it in the Problems panel; clicking the line selects the
/// node it names, brings it to the middle of the canvas and opens it in the inspector.
#[test]
fn problems_panel_selects_the_node_in_error() {
    let mut broken = pipeline();
    broken.nodes[1].config = NodeConfig::Queue(QueueConfig {
        capacity: Some(0),
        ..QueueConfig::default()
    });
    let mut h = app(broken);
    let problem = h
        .state()
        .doc
        .diagnostics
        .iter()
        .find(|d| d.is_error())
        .cloned()
        .expect("capacity 0 is an error");
    assert!(
        matches!(&problem.place, flowbench_engine::Place::Node { id, .. } if id == "q"),
        "{problem:?}"
    );
    assert!(h.state().doc.selection.is_empty());

    h.get_by_label(&format!("error · {}: {}", problem.place, problem.message))
        .click();
    h.run();
    assert_eq!(h.state().doc.selection.single_node(), Some("q"));
    let canvas = h.state().canvas.rect();
    let q = h.state().canvas.screen_pos_of_node("q").unwrap();
    assert!((q - canvas.center()).length() < 1.0, "{q:?} {canvas:?}");
    h.get_by_label("Queue");
    h.get_by_label(&format!("capacity: {}", problem.message));
}

/// Delete removes the selected node with its edges, Ctrl+D duplicates the selection beside
/// it, and Copy then Paste (the events the window turns Ctrl+C and Ctrl+V into) adds the
/// copied nodes and the edge between them under fresh ids.
#[test]
fn delete_duplicate_copy_paste() {
    let mut h = app(pipeline());

    h.get_by_label("node q").click();
    h.run();
    h.key_press(Key::Delete);
    h.run();
    assert_eq!(node_ids(&h), ["orders", "worker", "done"]);
    assert_eq!(edges(&h), [edge("worker", "out", "done")]);
    shortcut(&mut h, Modifiers::COMMAND, Key::Z);
    assert_eq!(h.state().doc.graph, pipeline());

    h.get_by_label("node worker").click();
    h.run();
    shortcut(&mut h, Modifiers::COMMAND, Key::D);
    assert_eq!(node_ids(&h), ["orders", "q", "worker", "done", "worker-2"]);
    let doc = &h.state().doc;
    let (worker, copy) = (doc.node("worker").unwrap(), doc.node("worker-2").unwrap());
    assert_eq!(copy.config, worker.config);
    assert_eq!(copy.pos, Some([480.0, 40.0]));
    assert_eq!(doc.selection.single_node(), Some("worker-2"));
    assert_eq!(
        doc.graph.edges.len(),
        3,
        "a lone node is duplicated without edges"
    );
    h.get_by_label("node worker-2");

    h.get_by_label("node orders").click();
    h.run();
    h.get_by_label("node q").click_modifiers(Modifiers::SHIFT);
    h.run();
    h.event(Event::Copy);
    h.step();
    let copied = h
        .output()
        .platform_output
        .commands
        .iter()
        .find_map(|c| match c {
            egui::OutputCommand::CopyText(text) => Some(text.clone()),
            _ => None,
        })
        .expect("Copy puts the selection on the clipboard");
    let part = Graph::from_json_str(&copied).expect("the clipboard holds graph JSON");
    assert_eq!(part.nodes.len(), 2);
    assert_eq!(part.edges, [Edge::new("orders", "q")]);

    h.event(Event::Paste(copied));
    h.run();
    assert_eq!(
        node_ids(&h),
        [
            "orders", "q", "worker", "done", "worker-2", "orders-2", "q-2"
        ]
    );
    assert!(edges(&h).contains(&edge("orders-2", "out", "q-2")));
    assert_eq!(h.state().doc.graph.edges.len(), 4);
    let doc = &h.state().doc;
    assert_eq!(doc.node("q-2").unwrap().pos, Some([260.0, 40.0]));
    let selected: Vec<&str> = doc.selection.nodes.iter().map(String::as_str).collect();
    assert_eq!(selected, ["orders-2", "q-2"]);
    assert_eq!(status(&h).as_deref(), Some("Pasted 2 nodes"));
}

/// 400 services on a 20 × 20 grid (`svc-0` … `svc-399`), unconnected: too many to read
/// when fitted into the window.
fn four_hundred_services() -> Graph {
    let nodes = (0..400)
        .map(|i| {
            let pos = [f64::from(i % 20) * 220.0, f64::from(i / 20) * 140.0];
            node(&format!("svc-{i}"), NodeKind::Service, pos)
        })
        .collect();
    graph("four hundred", nodes, Vec::new())
}

/// Ctrl+F on a graph too big to read when fitted: typing narrows the list, Down moves to
/// the second result, Enter selects that node, closes the window and centres the view on
/// the node at 100 %, where its name is drawn.
#[test]
fn find_node_selects_and_centres_the_node() {
    let mut h = app(four_hundred_services());
    shortcut(&mut h, Modifiers::NONE, Key::F);
    assert!(h.state().canvas.zoom() < 0.4, "fitted, names are not drawn");

    shortcut(&mut h, Modifiers::COMMAND, Key::F);
    assert!(h.state().find.open);
    h.get_by_label("400 nodes, the first 50 listed");
    h.get_by_label("Find").type_text("SVC-37");
    h.run();
    h.get_by_label("11 nodes");
    h.get_by_label("svc-37  ·  service");
    shortcut(&mut h, Modifiers::NONE, Key::ArrowDown);
    shortcut(&mut h, Modifiers::NONE, Key::Enter);

    assert_eq!(h.state().doc.selection.single_node(), Some("svc-370"));
    assert!(!h.state().find.open);
    assert_eq!(h.state().canvas.zoom(), 1.0);
    let canvas = h.state().canvas.rect();
    let found = h.state().canvas.screen_pos_of_node("svc-370").unwrap();
    assert!(
        (found - canvas.center()).length() < 1.0,
        "{found:?} {canvas:?}"
    );

    // Opened again, it keeps the query; Escape closes it without touching the selection.
    shortcut(&mut h, Modifiers::COMMAND, Key::F);
    assert_eq!(h.state().find.query, "SVC-37");
    shortcut(&mut h, Modifiers::NONE, Key::Escape);
    assert!(!h.state().find.open);
    assert_eq!(h.state().doc.selection.single_node(), Some("svc-370"));
}

/// The minimap shows only while the graph does not fit; a click in it centres the view on
/// that part of the graph; View ▸ Minimap turns it off.
#[test]
fn minimap_moves_the_view_and_can_be_turned_off() {
    let mut h = app(four_hundred_services());
    assert!(
        h.state().canvas.minimap_rect().is_none(),
        "fitted: no minimap"
    );

    h.state_mut()
        .commands
        .push(flowbench::ui::AppCommand::FocusNode("svc-0".into()));
    h.run();
    h.run();
    let map = h
        .state()
        .canvas
        .minimap_rect()
        .expect("zoomed in: a minimap");
    h.get_by_label("minimap");
    let canvas = h.state().canvas.rect();
    assert!(canvas.contains_rect(map), "{map:?} in {canvas:?}");

    // A click near the minimap's lower right corner brings the last node into view.
    let corner = map.right_bottom() - vec2(8.0, 8.0);
    drag(&mut h, corner, corner);
    let last = h.state().canvas.screen_pos_of_node("svc-399").unwrap();
    assert!(canvas.contains(last), "{last:?} not in {canvas:?}");

    h.get_by_label("View").click();
    h.run();
    h.get_by_label("Minimap").click();
    h.run();
    assert!(h.state().canvas.minimap_hidden());
    assert!(h.state().canvas.minimap_rect().is_none());
}

/// Clicks Run replications and waits for the outcome.
fn run_replications(h: &mut App) -> flowbench::ui::replicate::Outcome {
    h.get_by_label("Run replications").click();
    h.run();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while h.state().replicate.is_running() || h.state().replicate.outcome.is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the runs did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        h.run();
    }
    h.state().replicate.outcome.clone().unwrap().unwrap()
}

/// Simulation ▸ Replicate… runs the graph N times, with the run bar's seed onwards, and
/// lists each figure's mean and interval; each run is the headless run of its seed.
#[test]
fn replications_window_runs_the_seeds_and_shows_intervals() {
    let graph = pipeline();
    let mut h = app(graph.clone());
    h.get_by_label("Simulation").click();
    h.run();
    h.get_by_label("Replicate…").click();
    h.run();
    assert!(h.state().replicate.open);
    assert_eq!(
        h.state().replicate.duration,
        "1h",
        "an endless producer: a duration"
    );
    h.state_mut().replicate.duration = "10m".to_owned();
    h.state_mut().replicate.runs = 4;
    let outcome = run_replications(&mut h);
    assert_eq!(outcome.runs, 4);
    assert_eq!(outcome.scenarios.len(), 1);
    let delivered = outcome.scenarios[0]
        .1
        .iter()
        .find(|f| f.node.is_none() && f.name == "delivered")
        .unwrap();
    let headless: Vec<f64> = (0..4)
        .map(|k| {
            let options = flowbench_engine::sim::RunOptions {
                duration_ms: Some(600_000.0),
                seed: Some(graph.seed + k),
            };
            flowbench_engine::sim::run(&graph, &options)
                .unwrap()
                .totals
                .delivered as f64
        })
        .collect();
    assert_eq!(delivered.values, headless);
    assert!(delivered.ci95.is_finite());
    h.get_by_label("done · latency mean");
    h.get_by_label("Copy");

    // Save CSV…: every figure with each run's value, where the user says.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replications.csv");
    h.state_mut().live.export.set_native_dialogs(false);
    h.get_by_label("Save CSV…").click();
    h.run();
    assert!(h.state().live.export.prompt_open());
    h.get_by_label("Path").focus();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_label("Path")
        .type_text(&path.display().to_string());
    h.run();
    h.get_by_label("Export").click();
    h.run();
    let csv = std::fs::read_to_string(&path).expect("the CSV was written");
    let seeds: Vec<String> = (0..4).map(|k| format!("seed_{}", graph.seed + k)).collect();
    assert_eq!(
        csv.lines().next().unwrap(),
        format!(
            "scenario,node,figure,unit,mean,ci95,min,max,{}",
            seeds.join(",")
        )
    );
    let row: Vec<&str> = csv
        .lines()
        .find(|l| l.starts_with(",,delivered,count,"))
        .unwrap()
        .split(',')
        .collect();
    let values: Vec<f64> = row[8..].iter().map(|v| v.parse().unwrap()).collect();
    assert_eq!(values, headless);

    // An edit afterwards: the numbers stay, marked as those of an earlier graph.
    h.state_mut().doc.add_node(NodeKind::Sink, [900.0, 0.0]);
    h.run();
    h.get_by_label("The graph changed since these runs: run again for its numbers.");

    // Varying the worker's concurrency: both scenarios side by side, a second worker
    // shortening the time in system.
    h.state_mut().replicate.vary = "worker.concurrency=1,2".to_owned();
    let outcome = run_replications(&mut h);
    let labels: Vec<&str> = outcome.scenarios.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["worker.concurrency=1", "worker.concurrency=2"]);
    let latency = |k: usize| {
        outcome.scenarios[k]
            .1
            .iter()
            .find(|f| f.node.as_deref() == Some("done") && f.name == "latency mean")
            .unwrap()
            .mean
    };
    assert!(latency(1) < latency(0), "{} vs {}", latency(1), latency(0));
    h.get_by_label("worker.concurrency=2");

    h.state_mut().replicate.vary = "worker.concurency=2".to_owned();
    h.get_by_label("Run replications").click();
    h.run();
    let why = h.state().replicate.outcome.clone().unwrap().unwrap_err();
    assert!(why.contains("no config field 'concurency'"), "{why}");
}
