//! The canvas driven like a user would: through pointer events on the widgets it registers,
//! plus the time one frame of a large graph takes.

use egui::{Event, Modifiers, PointerButton, Pos2, Rect, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use flowbench_engine::{Graph, NodeKind};

use super::CanvasState;
use crate::ui::{AppCommand, Document};

struct State {
    canvas: CanvasState,
    doc: Document,
    commands: Vec<AppCommand>,
}

fn harness(graph: &str) -> Harness<'static, State> {
    let graph = Graph::from_json_str(graph).unwrap();
    let mut canvas = CanvasState::default();
    canvas.request_fit();
    let state = State {
        canvas,
        doc: Document::new(graph, None),
        commands: Vec::new(),
    };
    let mut h = Harness::builder()
        .with_size(vec2(1000.0, 700.0))
        .with_max_steps(20)
        .with_step_dt(0.05)
        .build_ui_state(
            |ui, s: &mut State| s.canvas.ui(ui, &mut s.doc, None, &mut s.commands),
            state,
        );
    h.run();
    h
}

fn mm1() -> Harness<'static, State> {
    harness(include_str!("../../../../sample-graphs/mm1.json"))
}

/// Presses at `from`, moves to `to` in steps and releases there.
fn drag(h: &mut Harness<'_, State>, from: Pos2, to: Pos2, modifiers: Modifiers) {
    h.hover_at(from);
    h.step();
    h.event_modifiers(
        Event::PointerButton {
            pos: from,
            button: PointerButton::Primary,
            pressed: true,
            modifiers,
        },
        modifiers,
    );
    h.step();
    for i in 1..=6 {
        h.event_modifiers(
            Event::PointerMoved(from.lerp(to, i as f32 / 6.0)),
            modifiers,
        );
        h.step();
    }
    h.event_modifiers(
        Event::PointerButton {
            pos: to,
            button: PointerButton::Primary,
            pressed: false,
            modifiers,
        },
        modifiers,
    );
    h.step();
    h.run();
}

/// Every visible node and port is a labelled widget.
#[test]
fn nodes_and_ports_are_widgets() {
    let h = mm1();
    for id in ["orders", "q", "worker", "done"] {
        h.get_by_label(&format!("node {id}"));
    }
    for port in [
        "orders.out",
        "q.out",
        "worker.out",
        "worker.error",
        "worker.call",
    ] {
        h.get_by_label(&format!("port {port}"));
    }
    assert!(
        h.query_by_label("port done.out").is_none(),
        "a sink has no output"
    );
}

/// Click selects, Shift+click adds, a click on the background clears.
#[test]
fn click_selection() {
    let mut h = mm1();
    h.get_by_label("node q").click();
    h.run();
    assert_eq!(h.state().doc.selection.single_node(), Some("q"));
    h.get_by_label("node worker")
        .click_modifiers(Modifiers::SHIFT);
    h.run();
    assert_eq!(h.state().doc.selection.nodes.len(), 2);
    let empty = h.state().canvas.rect().left_top() + vec2(20.0, 20.0);
    h.hover_at(empty);
    h.run();
    h.event(Event::PointerButton {
        pos: empty,
        button: PointerButton::Primary,
        pressed: true,
        modifiers: Modifiers::NONE,
    });
    h.event(Event::PointerButton {
        pos: empty,
        button: PointerButton::Primary,
        pressed: false,
        modifiers: Modifiers::NONE,
    });
    h.run();
    assert!(h.state().doc.selection.is_empty());
}

/// Dragging selected nodes moves them, in one undo step, onto the grid.
#[test]
fn drag_moves_nodes_in_one_step() {
    let mut h = mm1();
    let from = h.state().canvas.screen_pos_of_node("q").unwrap();
    drag(&mut h, from, from + vec2(0.0, 120.0), Modifiers::NONE);
    let doc = &h.state().doc;
    let pos = doc.node("q").unwrap().pos.unwrap();
    assert_eq!(pos[0], 280.0);
    assert!(pos[1] > 170.0 && pos[1] % 10.0 == 0.0, "{pos:?}");
    assert_eq!(
        doc.node("orders").unwrap().pos,
        Some([80.0, 120.0]),
        "only the dragged node moves"
    );
    h.state_mut().doc.undo();
    assert_eq!(h.state().doc.node("q").unwrap().pos, Some([280.0, 120.0]));
    assert!(!h.state().doc.can_undo());
}

/// Dragging from an output port onto a node adds the edge.
#[test]
fn drag_from_port_connects() {
    let mut h = mm1();
    let from = h
        .state()
        .canvas
        .screen_pos_of_port("worker", "error")
        .unwrap();
    let to = h.state().canvas.screen_pos_of_node("done").unwrap();
    drag(&mut h, from, to, Modifiers::NONE);
    let graph = &h.state().doc.graph;
    assert!(
        graph
            .edges
            .iter()
            .any(|e| e.from == "worker" && e.port == "error" && e.to == "done"),
        "{:?}",
        graph.edges
    );
}

/// A connection the model refuses is not made, and the status bar says why.
#[test]
fn refused_connection_says_why() {
    let mut h = mm1();
    let edges = h.state().doc.graph.edges.len();
    let from = h.state().canvas.screen_pos_of_port("q", "out").unwrap();
    let to = h.state().canvas.screen_pos_of_node("orders").unwrap();
    drag(&mut h, from, to, Modifiers::NONE);
    assert_eq!(h.state().doc.graph.edges.len(), edges);
    let status = h.state().commands.iter().find_map(|c| match c {
        AppCommand::Status(s) => Some(s.clone()),
        _ => None,
    });
    assert!(status.is_some_and(|s| s.contains("takes no input")));
}

/// Shift+drag on the background selects the nodes in the band.
#[test]
fn rubber_band_selects() {
    let mut h = mm1();
    let a = h.state().canvas.screen_pos_of_node("orders").unwrap() - vec2(100.0, 60.0);
    let b = h.state().canvas.screen_pos_of_node("q").unwrap() + vec2(10.0, 60.0);
    drag(&mut h, a, b, Modifiers::SHIFT);
    let nodes: Vec<_> = h.state().doc.selection.nodes.iter().cloned().collect();
    assert_eq!(nodes, ["orders", "q"]);
}

/// A plain drag on the background pans the view.
#[test]
fn background_drag_pans() {
    let mut h = mm1();
    let before = h.state().canvas.screen_pos_of_node("q").unwrap();
    let empty = h.state().canvas.rect().left_top() + vec2(30.0, 30.0);
    drag(&mut h, empty, empty + vec2(50.0, 40.0), Modifiers::NONE);
    let after = h.state().canvas.screen_pos_of_node("q").unwrap();
    assert!(
        (after - before - vec2(50.0, 40.0)).length() < 1.0,
        "{before:?} {after:?}"
    );
    assert!(!h.state().doc.is_dirty());
}

/// Clicking near an edge selects it.
#[test]
fn click_selects_edge() {
    let mut h = mm1();
    let a = h.state().canvas.screen_pos_of_port("q", "out").unwrap();
    let b = h.state().canvas.screen_pos_of_node("worker").unwrap();
    let middle = a + vec2(20.0, 1.0);
    assert!(middle.x < b.x);
    h.hover_at(middle);
    h.run();
    for pressed in [true, false] {
        h.event(Event::PointerButton {
            pos: middle,
            button: PointerButton::Primary,
            pressed,
            modifiers: Modifiers::NONE,
        });
    }
    h.run();
    assert_eq!(
        h.state()
            .doc
            .selection
            .edges
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [1]
    );
}

/// Double-click a node, type a name, press Enter: the node has that label.
#[test]
fn double_click_renames_in_place() {
    let mut h = mm1();
    let q = h.state().canvas.screen_pos_of_node("q").unwrap();
    h.hover_at(q);
    h.run();
    for _ in 0..2 {
        for pressed in [true, false] {
            h.event(Event::PointerButton {
                pos: q,
                button: PointerButton::Primary,
                pressed,
                modifiers: Modifiers::NONE,
            });
        }
        h.step();
    }
    h.run();
    h.get_by_label("Name · Enter to keep, Esc to cancel")
        .type_text("orders queue");
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    assert_eq!(
        h.state().doc.node("q").unwrap().label.as_deref(),
        Some("orders queue")
    );
}

/// A palette item released over the canvas becomes a node there.
#[test]
fn palette_drop_adds_node() {
    let mut h = mm1();
    let at = h.state().canvas.rect().center() + vec2(0.0, 150.0);
    h.hover_at(at);
    h.run();
    egui::DragAndDrop::set_payload(&h.ctx, NodeKind::Topic);
    h.event(Event::PointerButton {
        pos: at,
        button: PointerButton::Primary,
        pressed: false,
        modifiers: Modifiers::NONE,
    });
    h.run();
    let state = h.state();
    let topic = state.doc.node("topic").expect("a topic was added");
    let screen = state.canvas.world_to_screen(topic.pos.unwrap());
    assert!((screen - at).length() < 10.0, "{screen:?} {at:?}");
}

/// Right-click on the background offers to add a node there.
#[test]
fn context_menu_adds_node() {
    let mut h = mm1();
    let at = h.state().canvas.rect().center() + vec2(0.0, 150.0);
    h.hover_at(at);
    h.run();
    for pressed in [true, false] {
        h.event(Event::PointerButton {
            pos: at,
            button: PointerButton::Secondary,
            pressed,
            modifiers: Modifiers::NONE,
        });
    }
    h.run();
    h.get_by_label("Add node here").click();
    h.run();
    h.get_by_label("breaker").click();
    h.run();
    assert!(h.state().doc.node("breaker").is_some());
}

/// Clicking a port offers its valid targets only, and connects to the one picked.
#[test]
fn port_menu_connects() {
    let mut h = mm1();
    h.get_by_label("port worker.error").click();
    h.run();
    h.get_by_label("Connect 'error' to…").click();
    h.run();
    assert!(
        h.query_by_label("orders").is_none(),
        "a producer takes no input"
    );
    h.get_by_label("done").click();
    h.run();
    assert!(
        h.state()
            .doc
            .graph
            .edges
            .iter()
            .any(|e| e.port == "error" && e.to == "done")
    );
}

/// A graph of `n` nodes in lanes of 40, each lane a chain with a cross link now and then.
pub(super) fn generated(n: usize) -> Graph {
    const LANE: usize = 40;
    let kinds = [
        NodeKind::Queue,
        NodeKind::Service,
        NodeKind::Topic,
        NodeKind::Service,
        NodeKind::Router,
        NodeKind::EventLog,
        NodeKind::Projector,
    ];
    let mut graph = Graph::default();
    for i in 0..n {
        let (lane, col) = (i / LANE, i % LANE);
        let kind = match col {
            0 => NodeKind::Producer,
            c if c == LANE - 1 => NodeKind::Sink,
            c => kinds[c % kinds.len()],
        };
        let mut node = flowbench_engine::Node::new(
            format!("{kind}-{i}"),
            flowbench_engine::NodeConfig::default_for(kind),
        );
        node.pos = Some([col as f64 * 220.0, lane as f64 * 110.0]);
        graph.nodes.push(node);
    }
    for i in 0..n {
        let (lane, col) = (i / LANE, i % LANE);
        if col + 1 < LANE && i + 1 < n {
            let (from, to) = (&graph.nodes[i].id, &graph.nodes[i + 1].id);
            graph
                .edges
                .push(flowbench_engine::Edge::new(from.clone(), to.clone()));
        }
        if col % 7 == 3 && i + LANE + 1 < n && lane % 2 == 0 {
            let (from, to) = (&graph.nodes[i].id, &graph.nodes[i + LANE + 1].id);
            graph
                .edges
                .push(flowbench_engine::Edge::new(from.clone(), to.clone()).with_port("error"));
        }
    }
    graph
}

/// Time of one frame (canvas layout, paint and tessellation) on a 1,000-node graph, fitted
/// into view and at closer zooms, standing still and while zooming. Prints only; run with
/// `cargo test --release -p flowbench --lib thousand -- --nocapture`.
#[test]
fn thousand_nodes_frame_time() {
    use std::time::Instant;

    let mut doc = Document::new(generated(1000), None);
    let mut commands = Vec::new();
    let ctx = egui::Context::default();
    let screen = Rect::from_min_size(Pos2::ZERO, vec2(1600.0, 1000.0));
    let mut canvas = CanvasState::default();
    canvas.request_fit();
    let mut frame = |canvas: &mut CanvasState, t: f64| {
        let input = egui::RawInput {
            screen_rect: Some(screen),
            time: Some(t),
            events: vec![Event::PointerMoved(Pos2::new(
                800.0 + (t * 10.0) as f32 % 20.0,
                500.0,
            ))],
            ..Default::default()
        };
        let mut output = ctx.run_ui(input, |ui| canvas.ui(ui, &mut doc, None, &mut commands));
        output.textures_delta.clear();
        ctx.tessellate(output.shapes, output.pixels_per_point).len()
    };
    let mut t = 0.0;
    for _ in 0..5 {
        t += 0.016;
        frame(&mut canvas, t);
    }
    let fitted_zoom = canvas.zoom();
    let views: [(&str, Option<f32>, bool); 6] = [
        ("fitted (all 1000 visible)", None, false),
        ("fitted, zooming", None, true),
        ("zoom 0.5 (compact)", Some(0.5), false),
        ("zoom 0.5, zooming", Some(0.5), true),
        ("zoom 1.0 (full detail)", Some(1.0), false),
        ("zoom 1.0, zooming", Some(1.0), true),
    ];
    const FRAMES: u32 = 40;
    for (name, zoom, zooming) in views {
        let target = zoom.unwrap_or(fitted_zoom);
        let factor = target / canvas.zoom();
        canvas.view.zoom_at(canvas.view.rect.center(), factor);
        for _ in 0..3 {
            t += 0.016;
            frame(&mut canvas, t);
        }
        let start = Instant::now();
        let mut primitives = 0;
        for k in 0..FRAMES {
            if zooming {
                // 1% a frame, in for five frames and back out for five: the same part of
                // the graph stays on screen while its text has to be laid out again.
                let f = if k % 10 < 5 { 1.01 } else { 1.0 / 1.01 };
                canvas.view.zoom_at(canvas.view.rect.center(), f);
            }
            t += 0.016;
            primitives = frame(&mut canvas, t);
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(FRAMES);
        println!(
            "1000 nodes, {name}: {ms:.2} ms per frame ({} nodes drawn, {primitives} primitives, zoom {:.2})",
            canvas.visible.len(),
            canvas.zoom()
        );
    }
}
