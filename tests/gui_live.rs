//! The live run driven end to end like a user would: the whole app, widgets found by their
//! accessible names (run bar, canvas nodes, inspector fields, the monitor's table and fault
//! menu); what the window shows checked against the engine's snapshot of the same frame.

use std::time::{Duration, Instant};

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use flowbench::ui::live::{Speed, format, monitor};
use flowbench::ui::{Document, FlowbenchApp};
use flowbench_engine::model::FaultKind;
use flowbench_engine::report::{BreakerState, NodeReport};
use flowbench_engine::runtime::RunState;
use flowbench_engine::{Graph, NodeConfig};

type App = Harness<'static, FlowbenchApp>;

/// How long the app may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(10);

/// The app on `graph`, in a window of the size the designer opens with.
fn app(graph: Graph) -> App {
    let app = FlowbenchApp::with_document(Document::new(graph, None));
    let mut h = Harness::builder()
        .with_size([1400.0, 900.0])
        .with_max_steps(30)
        .allow_missing_glyphs()
        .build_eframe(|_cc| app);
    h.run();
    h
}

/// Producer `p` (300 messages/s) → unbounded queue `q` → service `s` (`concurrency`
/// workers, 10 ms each) → sink `done`.
fn pipeline(concurrency: u32) -> Graph {
    Graph::from_json_str(&format!(
        r#"{{"format": "flowbench.graph", "version": 1, "name": "pipeline",
        "nodes": [
          {{"id": "p", "kind": "producer", "pos": [0, 0], "config": {{"rate_per_sec": 300}}}},
          {{"id": "q", "kind": "queue", "pos": [220, 0], "config": {{"capacity": null}}}},
          {{"id": "s", "kind": "service", "pos": [440, 0],
            "config": {{"concurrency": {concurrency}, "service_time": {{"dist": "const", "ms": 10}}}}}},
          {{"id": "done", "kind": "sink", "pos": [660, 0]}}
        ],
        "edges": [{{"from": "p", "to": "q"}}, {{"from": "q", "to": "s"}}, {{"from": "s", "to": "done"}}]}}"#
    ))
    .unwrap()
}

/// Client `c` (200 calls/s) → breaker `b` (opens after 3 consecutive failures, for 5 s) →
/// service `svc` (4 workers, 10 ms each).
fn guarded_service() -> Graph {
    Graph::from_json_str(
        r#"{"format": "flowbench.graph", "version": 1, "name": "guarded",
        "nodes": [
          {"id": "c", "kind": "client", "pos": [0, 0], "config": {"rate_per_sec": 200}},
          {"id": "b", "kind": "breaker", "pos": [220, 0],
           "config": {"trip": {"consecutive_failures": 3}, "open_ms": 5000}},
          {"id": "svc", "kind": "service", "pos": [440, 0],
           "config": {"concurrency": 4, "service_time": {"dist": "const", "ms": 10}}}
        ],
        "edges": [{"from": "c", "to": "b"}, {"from": "b", "to": "svc"}]}"#,
    )
    .unwrap()
}

/// Steps frames until `done` holds, failing with `what` after [`PATIENCE`].
fn step_until(h: &mut App, what: &str, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        h.step();
        if done(h) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited {PATIENCE:?} for {what}; the run bar shows sim time {} and the state {:?}",
            clock(h),
            h.state().live.state()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The simulated clock the run bar shows.
fn clock(h: &App) -> String {
    h.get_by_label("sim time")
        .value()
        .expect("the clock has a value")
}

/// The engine's report of node `id` in the snapshot the last frame showed.
fn report<'a>(h: &'a App, id: &str) -> &'a NodeReport {
    let snapshot = h.state().live.snapshot().expect("the run has a snapshot");
    &snapshot.report.nodes[id]
}

fn sim_time_ms(h: &App) -> f64 {
    h.state()
        .live
        .snapshot()
        .map_or(0.0, |s| s.report.sim_time_ms)
}

/// The value the monitor's numbers table shows in the row named `key` (the cell after the
/// key's), if the table shows that row.
fn shown(h: &App, key: &str) -> Option<String> {
    let table = h.query_by_label(monitor::TABLE_NAME)?;
    let label = table.query_by_label(key)?;
    let cells: Vec<_> = label.parent()?.children().collect();
    let at = cells
        .iter()
        .position(|c| c.accesskit_node().id() == label.accesskit_node().id())?;
    cells.get(at + 1)?.value()
}

/// Clicks the canvas node `id`, which selects it (the inspector and the monitor follow).
fn select(h: &mut App, id: &str) {
    h.get_by_label(&format!("node {id}")).click();
    h.run();
    assert_eq!(
        h.state().doc.selection.single_node(),
        Some(id),
        "clicking node {id} selects it"
    );
}

/// Clicks "Advance 1 s" and waits until the run is paused one simulated second later.
fn advance_1s(h: &mut App) {
    let target = sim_time_ms(h) + 1000.0;
    h.get_by_label("Advance 1 s").click();
    step_until(h, "the run to pause one simulated second later", |h| {
        h.state()
            .live
            .snapshot()
            .is_some_and(|s| s.state == RunState::Paused && s.report.sim_time_ms >= target)
    });
}

/// Replaces the number in the inspector field `field` by typing, as a user would.
fn type_number(h: &mut App, field: &str, value: &str) {
    h.get_by_label(field).focus();
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_label(field).type_text(value);
    h.key_press(Key::Enter);
    h.run();
}

fn queue_depth(h: &App) -> f64 {
    report(h, "q")
        .depth
        .expect("a queue reports its depth")
        .last
}

/// Run starts the clock, and the monitor's `in` and `out` of the selected queue rise and
/// are, frame for frame, the engine's own counters.
#[test]
fn running_shows_the_engines_counters() {
    let mut h = app(pipeline(4));
    select(&mut h, "q");
    assert_eq!(clock(&h), "0:00:00.000");
    h.get_by_label("Run").click();
    step_until(&mut h, "the clock to move and the queue to count", |h| {
        clock(h) != "0:00:00.000" && shown(h, "in").is_some_and(|v| v != "0")
    });

    let mut last_in = 0;
    for round in 0..2 {
        if round > 0 {
            step_until(&mut h, "the queue's `in` to rise", |h| {
                report(h, "q").in_ > last_in && shown(h, "in").is_some()
            });
        }
        let engine = report(&h, "q");
        assert_eq!(
            shown(&h, "in"),
            Some(format::count(engine.in_)),
            "the monitor shows the queue's `in` as the snapshot has it"
        );
        assert_eq!(shown(&h, "out"), Some(format::count(engine.out)));
        assert_eq!(clock(&h), format::clock(sim_time_ms(&h)));
        assert!(
            engine.in_ > last_in,
            "`in` rises: {} then {}",
            last_in,
            engine.in_
        );
        last_in = engine.in_;
    }
    assert_eq!(h.state().live.state(), Some(&RunState::Running));
}

/// Pause stops the clock: once the engine confirms, the shown simulated time stays the
/// same over frames spanning several snapshot intervals, and Run is offered again.
#[test]
fn pause_stops_the_clock() {
    let mut h = app(pipeline(4));
    h.get_by_label("Run").click();
    step_until(&mut h, "the clock to move", |h| clock(h) != "0:00:00.000");
    h.get_by_label("Pause").click();
    step_until(&mut h, "the engine to confirm the pause", |h| {
        h.state().live.state() == Some(&RunState::Paused)
    });
    h.get_by_label("Run");
    let stopped = clock(&h);
    assert_ne!(stopped, "0:00:00.000");
    for _ in 0..6 {
        // Longer than the engine's snapshot interval (50 ms): new snapshots arrive.
        std::thread::sleep(Duration::from_millis(60));
        h.step();
        assert_eq!(clock(&h), stopped, "the clock stands still while paused");
        assert_eq!(h.state().live.state(), Some(&RunState::Paused));
    }
    assert_eq!(format::clock(sim_time_ms(&h)), stopped);
}

/// Raising a service's concurrency in the inspector during a run reaches the engine at
/// once: its workers become 8 and the queue that backed up in front of it drains.
#[test]
fn live_concurrency_edit_drains_the_queue() {
    let mut h = app(pipeline(1));
    h.get_by_label("Speed").click();
    h.run();
    h.get_by_label("max").click();
    h.run();
    assert_eq!(h.state().live.speed(), Speed::Max);

    // 300 messages/s into one worker that takes 100/s: the queue grows by 200/s.
    for _ in 0..3 {
        advance_1s(&mut h);
    }
    let backed_up = queue_depth(&h);
    assert!(backed_up > 400.0, "the queue backed up: depth {backed_up}");
    assert_eq!(report(&h, "s").workers, Some(1));

    select(&mut h, "s");
    type_number(&mut h, "concurrency", "8");
    let NodeConfig::Service(config) = &h.state().doc.node("s").unwrap().config else {
        panic!("s is a service");
    };
    assert_eq!(config.concurrency, 8, "the inspector changed the document");

    for _ in 0..2 {
        advance_1s(&mut h);
    }
    assert_eq!(
        report(&h, "s").workers,
        Some(8),
        "the engine took the edit live"
    );
    assert_eq!(shown(&h, "workers").as_deref(), Some("8"));
    let drained = queue_depth(&h);
    assert!(
        drained < backed_up / 10.0,
        "the queue drains: depth {backed_up} then {drained}"
    );
    assert!(
        h.state().live.notices().is_empty(),
        "{:?}",
        h.state().live.notices()
    );
}

/// Injecting `fail` on the service from the monitor's "Inject fault" menu opens the
/// breaker in front of it: the engine says open, and so does the monitor's `state` row.
#[test]
fn injected_failure_opens_the_breaker() {
    let mut h = app(guarded_service());
    advance_1s(&mut h);
    assert_eq!(report(&h, "b").state, Some(BreakerState::Closed));

    select(&mut h, "svc");
    h.get_by_label("Inject fault").click();
    h.run();
    h.get_by_label("Inject fail").click();
    step_until(&mut h, "the monitor to show the injected fault", |h| {
        h.state().live.active_faults("svc") == [FaultKind::Fail]
            && h.query_by_label("fault: fail").is_some()
    });
    advance_1s(&mut h);
    assert_eq!(
        report(&h, "b").state,
        Some(BreakerState::Open),
        "the engine's breaker opened"
    );
    assert!(report(&h, "svc").failed.unwrap_or(0) >= 3);

    select(&mut h, "b");
    assert_eq!(shown(&h, "state").as_deref(), Some("open"));

    // Clearing the fault from the monitor ends it in the engine.
    select(&mut h, "svc");
    h.get_by_label("Clear faults").click();
    step_until(&mut h, "the fault to end", |h| {
        h.state().live.active_faults("svc").is_empty()
    });
    assert!(h.query_by_label("fault: fail").is_none());
}

/// A live edit the engine refuses (a breaker's config cannot change while the graph runs)
/// is shown in the run bar with the engine's reason; the run goes on with the graph it had,
/// the document keeps exactly the user's edit, and Restart applies it.
#[test]
fn refused_live_edit_is_shown_and_the_app_stays_intact() {
    let original = guarded_service();
    let mut h = app(original.clone());
    advance_1s(&mut h);

    select(&mut h, "b");
    type_number(&mut h, "open_ms", "2000");
    let refusal = "The run cannot take this change live";
    step_until(&mut h, "the run bar to show the refusal", |h| {
        h.query_by_label_contains(refusal).is_some()
    });
    let message = h
        .get_by_label_contains(refusal)
        .value()
        .expect("the notice has text");
    assert!(
        message.contains("node 'b': this kind's config cannot change while the graph runs"),
        "the engine's reason is shown, naming the node: {message}"
    );
    h.get_by_label("Restart");
    h.get_by_label("Dismiss");

    // The document holds the edit and nothing else.
    let mut expected = original.clone();
    let Some(NodeConfig::Breaker(breaker)) = expected
        .nodes
        .iter_mut()
        .find(|n| n.id == "b")
        .map(|n| &mut n.config)
    else {
        panic!("b is a breaker");
    };
    breaker.open_ms = 2000.0;
    assert_eq!(h.state().doc.graph, expected);
    assert!(!h.state().doc.has_errors());

    // The run was not harmed: it still advances, and runs the graph as it was.
    assert_eq!(h.state().live.state(), Some(&RunState::Paused));
    advance_1s(&mut h);
    assert_eq!(clock(&h), "0:00:02.000");
    assert_eq!(h.state().live.running_graph(), Some(&original));

    // Restart runs the graph as it is now, edit included.
    h.get_by_label("Restart").click();
    step_until(&mut h, "the restarted run to publish", |h| {
        h.state().live.snapshot().is_some()
    });
    assert!(h.query_by_label_contains(refusal).is_none());
    assert_eq!(h.state().live.running_graph(), Some(&expected));
    assert_eq!(h.state().doc.graph, expected);
}

/// The inspector of a node in a running graph injects a fault now and clears it.
#[test]
fn inspector_injects_and_clears_a_fault() {
    let mut h = app(guarded_service());
    advance_1s(&mut h);
    select(&mut h, "svc");
    h.get_by_label("crash").click();
    step_until(&mut h, "the engine to report the crash", |h| {
        h.state().live.active_faults("svc") == [FaultKind::Crash]
    });
    advance_1s(&mut h);
    assert!(
        report(&h, "svc").failed.unwrap_or(0) > 0,
        "calls to a crashed service fail"
    );
    h.get_by_label("clear").click();
    step_until(&mut h, "the crash to end", |h| {
        h.state().live.active_faults("svc").is_empty()
    });
}

/// A run whose counts reach the millions, in a window 1,280 points wide: the run's state at
/// the right end of the bar is not drawn over the conservation check beside the counts, and
/// stays on their row.
#[test]
fn big_counts_leave_the_runs_state_readable() {
    let graph = Graph::from_json_str(
        r#"{"format": "flowbench.graph", "version": 1, "name": "flood",
        "nodes": [
          {"id": "p", "kind": "producer", "pos": [0, 0], "config": {"rate_per_sec": 1e8}},
          {"id": "done", "kind": "sink", "pos": [220, 0]}
        ],
        "edges": [{"from": "p", "to": "done"}]}"#,
    )
    .unwrap();
    let app = FlowbenchApp::with_document(Document::new(graph, None));
    let mut h: App = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_max_steps(30)
        .allow_missing_glyphs()
        .build_eframe(|_cc| app);
    h.run();
    h.get_by_label("Speed").click();
    h.run();
    h.get_by_label("max").click();
    h.run();
    h.get_by_label("Run").click();
    step_until(&mut h, "ten million messages created", |h| {
        h.state().live.snapshot().is_some_and(|s| {
            s.report.totals.created >= 10_000_000 && s.report.totals.delivered >= 10_000_000
        })
    });
    h.get_by_label("Pause").click();
    step_until(&mut h, "the run paused", |h| {
        h.state().live.state() == Some(&RunState::Paused)
    });
    let conserved = h.get_by_label("conserved").rect();
    let state = h.get_by_label("paused").rect();
    assert!(
        !conserved.intersects(state),
        "the state {state:?} is drawn over the conservation check {conserved:?}"
    );
    let export = h.get_by_label("Export run data").rect();
    assert!(
        !conserved.intersects(export),
        "Export {export:?} over {conserved:?}"
    );
    // Millions read "10.0M": the counts, the state and Export keep to one row.
    assert!(
        (state.center().y - conserved.center().y).abs() < 4.0,
        "the state {state:?} left the row of {conserved:?}"
    );
}
