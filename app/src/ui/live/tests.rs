//! The live run driven as a user would: through the session's controls and through the
//! run bar's widgets, found by their accessible names; its numbers checked against the
//! headless engine.

use std::time::{Duration, Instant};

use egui::Key;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use flowbench_engine::model::{Dist, FaultKind, ServiceConfig, TopicConfig};
use flowbench_engine::runtime::RunState;
use flowbench_engine::sim::{RunOptions, run};
use flowbench_engine::{Edge, Graph, NodeConfig};

use super::*;
use crate::ui::{AppCommand, FlowbenchApp, Selection};

fn sample(name: &str) -> Graph {
    let path = format!("{}/sample-graphs/{name}", env!("CARGO_MANIFEST_DIR"));
    Graph::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Polls `live` until `done` holds (the engine works on its own thread).
fn poll_until(live: &mut LiveSession, doc: &Document, done: impl Fn(&LiveSession) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let start = Instant::now();
    loop {
        live.poll_at(start.elapsed().as_secs_f64(), doc);
        if done(live) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the run did not get there in time"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The sample graph `name` run at full speed to `t_ms` and paused there.
fn run_paused_at(name: &str, t_ms: f64) -> (Document, LiveSession) {
    let doc = Document::new(sample(name), None);
    let mut live = LiveSession::default();
    live.set_speed(Speed::Max);
    live.advance(&doc, t_ms);
    poll_until(&mut live, &doc, |l| paused_at(l, t_ms));
    (doc, live)
}

/// The sample graph `name` asked to run at `speed`.
fn started(name: &str, speed: Speed) -> (Document, LiveSession) {
    let doc = Document::new(sample(name), None);
    let mut live = LiveSession::default();
    live.set_speed(speed);
    live.run(&doc);
    (doc, live)
}

fn paused_at(live: &LiveSession, t_ms: f64) -> bool {
    live.snapshot()
        .is_some_and(|s| s.state == RunState::Paused && s.report.sim_time_ms >= t_ms)
}

/// A live run paused at T shows the same numbers, number for number, as `flowbench run`
/// to the same simulated time with the same seed (the graph's, then a typed one).
#[test]
fn paused_live_run_matches_the_headless_run() {
    let graph = sample("online-shop.json");
    let doc = Document::new(graph.clone(), None);
    let mut live = LiveSession::default();
    live.set_speed(Speed::Max);
    live.advance(&doc, 40_000.0);
    poll_until(&mut live, &doc, |l| paused_at(l, 40_000.0));
    let headless = run(
        &graph,
        &RunOptions {
            duration_ms: Some(40_000.0),
            seed: None,
        },
    )
    .unwrap();
    let shown = live.snapshot().unwrap().report.without_wall_time();
    assert_eq!(shown, headless.without_wall_time());
    assert!(
        shown.nodes["payment-breaker"]
            .transitions
            .as_ref()
            .is_some_and(|t| !t.is_empty())
    );

    live.reset();
    *live.seed_text_mut() = "7".to_owned();
    live.seed_typed();
    live.advance(&doc, 5_000.0);
    poll_until(&mut live, &doc, |l| paused_at(l, 5_000.0));
    let headless = run(
        &graph,
        &RunOptions {
            duration_ms: Some(5_000.0),
            seed: Some(7),
        },
    )
    .unwrap();
    assert_eq!(
        live.snapshot().unwrap().report.without_wall_time(),
        headless.without_wall_time()
    );
}

/// A config edit during a run reaches the engine; a structural edit asks for a restart,
/// which applies it.
#[test]
fn edits_during_a_run() {
    let (mut doc, mut live) = run_paused_at("mm1.json", 1000.0);
    assert_eq!(
        live.snapshot().unwrap().report.nodes["worker"].workers,
        Some(1)
    );

    let config = NodeConfig::Service(ServiceConfig {
        concurrency: 3,
        service_time: Dist::Exp { mean_ms: 1000.0 },
        ..ServiceConfig::default()
    });
    doc.set_config("worker", "concurrency", config);
    live.advance(&doc, 1000.0);
    poll_until(&mut live, &doc, |l| paused_at(l, 2000.0));
    assert_eq!(
        live.snapshot().unwrap().report.nodes["worker"].workers,
        Some(3)
    );
    assert!(live.notices().is_empty(), "{:?}", live.notices());

    doc.edit("Connect", None, |g| {
        g.edges.push(Edge::new("orders", "worker"))
    });
    live.poll_at(100.0, &doc);
    assert!(
        matches!(live.notices().as_slice(), [Notice::GraphChanged(m)] if m.contains("from 'orders' to 'worker'"))
    );
    live.restart(&doc);
    assert!(live.notices().is_empty());
    assert_eq!(live.running_graph().unwrap().edges.len(), 4);
}

/// A run goes on while another file is opened: the newly opened document, at revision 0
/// like the one that started the run, is compared with the running graph all the same.
#[test]
fn another_document_is_compared_with_the_run() {
    let (running, mut live) = run_paused_at("mm1.json", 1000.0);
    assert_eq!(running.revision(), 0);
    assert!(live.notices().is_empty(), "{:?}", live.notices());

    let opened = Document::new(sample("point-to-point.json"), None);
    assert_eq!(opened.revision(), running.revision());
    live.poll_at(100.0, &opened);
    assert!(
        matches!(live.notices().as_slice(), [Notice::GraphChanged(_)]),
        "{:?}",
        live.notices()
    );
}

/// The pub/sub fan-out sample, run at full speed to 500 ms and paused there.
fn fan_out_paused_at_half_a_second() -> (Document, LiveSession) {
    run_paused_at("pubsub-fan-out.json", 500.0)
}

/// Node `id`'s config in the graph the engine runs.
fn running_config(live: &LiveSession, id: &str) -> NodeConfig {
    live.running_graph()
        .unwrap()
        .node(id)
        .unwrap()
        .config
        .clone()
}

/// An edit the engine cannot take live shows its reason with Restart; dismissed, the run
/// bar still says that the node runs with its earlier settings (with Restart, without the
/// reason); a restart applies the edit and leaves nothing to say.
#[test]
fn refused_edit_offers_a_restart() {
    let (mut doc, mut live) = fan_out_paused_at_half_a_second();
    let config = NodeConfig::Topic(TopicConfig {
        subscriber_capacity: Some(5),
        ..TopicConfig::default()
    });
    doc.set_config("order-events", "subscriber_capacity", config.clone());
    poll_until(&mut live, &doc, |l| !l.notices().is_empty());
    let notice = live.notices().remove(0);
    assert!(
        matches!(&notice, Notice::Refused(m) if m.contains("restart")),
        "{notice:?}"
    );
    assert!(notice.restart_helps());
    live.dismiss_refused();
    for _ in 0..5 {
        live.poll_at(1.0, &doc);
        std::thread::sleep(Duration::from_millis(60));
    }
    let notices = live.notices();
    assert!(
        matches!(notices.as_slice(), [Notice::NotApplied(m)]
            if m.contains("'order-events' runs with its earlier settings")),
        "{notices:?}"
    );
    assert!(notices[0].restart_helps());
    live.restart(&doc);
    assert!(live.notices().is_empty(), "{:?}", live.notices());
    assert_eq!(
        live.running_graph()
            .unwrap()
            .node("order-events")
            .unwrap()
            .config,
        config
    );
}

/// Two edits refused together: the notice gives the newest one's reason and says that a
/// change to one more node waits for the restart too; dismissed, both nodes are counted.
#[test]
fn refused_edits_of_two_nodes_are_both_told() {
    let (mut doc, mut live) = run_paused_at("online-shop.json", 500.0);
    let topic = NodeConfig::Topic(TopicConfig {
        subscriber_capacity: Some(5),
        ..TopicConfig::default()
    });
    let Some(NodeConfig::Breaker(mut breaker)) =
        doc.graph.node("payment-breaker").map(|n| n.config.clone())
    else {
        panic!("the online shop has a breaker");
    };
    breaker.open_ms = 2000.0;
    doc.set_config("order-events", "subscriber_capacity", topic);
    doc.set_config("payment-breaker", "open_ms", NodeConfig::Breaker(breaker));
    poll_until(&mut live, &doc, |l| {
        l.notices()
            .iter()
            .any(|n| matches!(n, Notice::Refused(m) if m.contains("1 more node")))
    });
    let notices = live.notices();
    assert!(
        matches!(notices.as_slice(), [Notice::Refused(m)]
            if m.contains("cannot change while the graph runs")
                && m.contains("(a change to 1 more node waits for a restart too)")),
        "{notices:?}"
    );
    live.dismiss_refused();
    let notices = live.notices();
    assert!(
        matches!(notices.as_slice(), [Notice::NotApplied(m)] if m.contains("(and 1 more node)")),
        "{notices:?}"
    );
}

/// A config the engine refuses stays out of the running graph, while one it accepts goes
/// in: comparisons with the document then stay right. The refused config is not sent
/// again, and taking the edit back leaves nothing to restart for.
#[test]
fn refused_edit_stays_out_of_the_running_graph() {
    let (mut doc, mut live) = fan_out_paused_at_half_a_second();
    let topic = doc.node("order-events").unwrap().config.clone();
    let refused = NodeConfig::Topic(TopicConfig {
        subscriber_capacity: Some(5),
        ..TopicConfig::default()
    });
    doc.set_config("order-events", "subscriber_capacity", refused.clone());
    poll_until(&mut live, &doc, |l| {
        matches!(l.notices().as_slice(), [Notice::Refused(_)])
    });
    assert_eq!(running_config(&live, "order-events"), topic);

    // An edit the engine takes goes into the running graph; the refused one stays out.
    doc.seal();
    let billing = NodeConfig::Service(ServiceConfig {
        concurrency: 4,
        service_time: Dist::Exp { mean_ms: 5.0 },
        ..ServiceConfig::default()
    });
    doc.set_config("billing", "concurrency", billing.clone());
    poll_until(&mut live, &doc, |l| running_config(l, "billing") == billing);
    assert_eq!(running_config(&live, "order-events"), topic);
    assert_eq!(
        live.snapshot().unwrap().report.nodes["billing"].workers,
        Some(4)
    );

    // The topic back as it runs: no refusal is left, nothing asks for a restart, and the
    // engine is not asked again (no command after the billing edit reaches it).
    let applied = live.snapshot().unwrap().applied;
    doc.set_config("order-events", "subscriber_capacity", topic.clone());
    for _ in 0..5 {
        live.poll_at(100.0, &doc);
        std::thread::sleep(Duration::from_millis(60));
    }
    assert!(live.notices().is_empty(), "{:?}", live.notices());
    assert!(live.snapshot().unwrap().refusals.is_empty());
    assert_eq!(live.snapshot().unwrap().applied, applied);
    assert_eq!(running_config(&live, "order-events"), topic);
}

/// Two config edits sent together, the first refused and the second accepted, and then
/// the first accepted and the second refused: each gets its own verdict.
#[test]
fn edits_sent_together_get_their_own_verdicts() {
    let (mut doc, mut live) = fan_out_paused_at_half_a_second();
    let topic = doc.node("order-events").unwrap().config.clone();
    let service = |concurrency| {
        NodeConfig::Service(ServiceConfig {
            concurrency,
            service_time: Dist::Exp { mean_ms: 5.0 },
            ..ServiceConfig::default()
        })
    };
    let refused = |capacity| {
        NodeConfig::Topic(TopicConfig {
            subscriber_capacity: Some(capacity),
            ..TopicConfig::default()
        })
    };

    // Graph order: the topic comes before billing, so its edit is sent first.
    doc.set_config("order-events", "subscriber_capacity", refused(5));
    doc.seal();
    doc.set_config("billing", "concurrency", service(4));
    poll_until(&mut live, &doc, |l| {
        running_config(l, "billing") == service(4)
    });
    assert_eq!(running_config(&live, "order-events"), topic);
    assert!(matches!(live.notices().as_slice(), [Notice::Refused(_)]));

    // The producer comes before the topic: its edit is sent first and taken, the topic's
    // new config after it and refused.
    live.dismiss_refused();
    let NodeConfig::Producer(mut producer) = doc.node("events").unwrap().config.clone() else {
        panic!("'events' is a producer")
    };
    producer.rate_per_sec = 80.0;
    let producer = NodeConfig::Producer(producer);
    doc.seal();
    doc.set_config("events", "rate_per_sec", producer.clone());
    doc.seal();
    doc.set_config("order-events", "subscriber_capacity", refused(7));
    poll_until(&mut live, &doc, |l| {
        running_config(l, "events") == producer
            && matches!(l.notices().as_slice(), [Notice::Refused(_)])
    });
    assert_eq!(running_config(&live, "order-events"), topic);
    assert!(matches!(live.notices().as_slice(), [Notice::Refused(_)]));
}

/// A refused config edit offers a restart; a refused fault or replay, which a restart
/// would not change, does not. Each is said on its own and dismissed on its own.
#[test]
fn only_a_refused_edit_offers_a_restart() {
    let (mut doc, mut live) = fan_out_paused_at_half_a_second();

    live.inject("billing", FaultKind::Fail, Some(2.0), None)
        .unwrap();
    poll_until(&mut live, &doc, |l| !l.notices().is_empty());
    let notices = live.notices();
    assert!(
        matches!(notices.as_slice(), [Notice::CommandRefused(m)] if m.contains("fail rate")),
        "{notices:?}"
    );
    assert!(!notices[0].restart_helps());

    // A refused edit beside it: both are said, and only the edit's offers a restart.
    let config = NodeConfig::Topic(TopicConfig {
        subscriber_capacity: Some(5),
        ..TopicConfig::default()
    });
    doc.set_config("order-events", "subscriber_capacity", config);
    poll_until(&mut live, &doc, |l| l.notices().len() == 2);
    let notices = live.notices();
    assert!(
        matches!(
            notices.as_slice(),
            [Notice::Refused(_), Notice::CommandRefused(_)]
        ),
        "{notices:?}"
    );
    assert!(notices[0].restart_helps());
    live.dismiss(&notices[1]);
    assert!(
        matches!(live.notices().as_slice(), [Notice::Refused(_)]),
        "{:?}",
        live.notices()
    );

    // The document back as the engine runs it: the edit's refusal goes, a newer
    // command's refusal stays until dismissed.
    assert!(doc.undo());
    live.replay("billing", None).unwrap();
    poll_until(&mut live, &doc, |l| {
        matches!(l.notices().as_slice(), [Notice::CommandRefused(_)])
    });
    let notices = live.notices();
    assert!(
        notices[0].message().contains("not an event_log"),
        "{notices:?}"
    );
    assert!(!notices[0].restart_helps());
}

/// The run bar shows a refused replay with Dismiss and without Restart, which would not
/// help.
#[test]
fn refused_replay_shows_without_restart() {
    let mut h = app(sample("mm1.json"));
    h.state_mut().live.set_speed(Speed::Max);
    h.get_by_label("Advance 1 s").click();
    wait(&mut h, |app| paused_at(&app.live, 1000.0));
    h.state_mut().live.replay("worker", None).unwrap();
    wait(&mut h, |app| !app.live.notices().is_empty());
    h.get_by_label_contains("'worker' is not an event_log");
    assert!(h.query_by_label("Restart").is_none());
    h.get_by_label("Dismiss").click();
    h.run();
    assert!(h.state().live.notices().is_empty());
    assert!(h.query_by_label_contains("not an event_log").is_none());
}

/// A graph with errors does not run; the run bar says why, naming the first error.
#[test]
fn a_graph_with_errors_says_why_it_cannot_run() {
    let mut graph = sample("mm1.json");
    graph.edges.push(Edge::new("done", "q"));
    let doc = Document::new(graph, None);
    let mut live = LiveSession::default();
    live.run(&doc);
    assert!(!live.is_active());
    match live.notices().as_slice() {
        [Notice::CannotStart(why)] => assert!(
            why.starts_with("Cannot run: ") && why.contains("done"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(live.tab, BottomTab::Problems);
}

/// Canvas numbers: a queue's fill and rates, a service's workers, the edge rates.
#[test]
fn node_live_and_edge_rates() {
    let (_, live) = run_paused_at("back-pressure.json", 20_000.0);
    let graph = live.running_graph().unwrap().clone();
    for node in &graph.nodes {
        let n = live
            .node_live(&node.id)
            .expect("every node has live numbers");
        assert!(n.in_per_sec >= 0.0 && n.out_per_sec >= 0.0);
        match node.kind() {
            Some(flowbench_engine::NodeKind::Queue) => assert!(n.depth.is_some()),
            Some(flowbench_engine::NodeKind::Service) => {
                assert!(n.workers.is_some() && n.busy.is_some())
            }
            _ => {}
        }
    }
    let busiest = graph
        .edges
        .iter()
        .map(|e| live.edge_rate(&e.from, &e.to))
        .fold(0.0, f64::max);
    assert!(busiest > 0.0);
    assert_eq!(busiest, live.max_edge_rate());
    assert_eq!(live.edge_rate("nope", "q"), 0.0);
    // The throttling queue says whether it throttles now, as the engine reports it; the
    // blocking one never does.
    let report = &live.snapshot().unwrap().report;
    assert_eq!(
        live.node_live("queue-throttle").unwrap().throttling,
        report.nodes["queue-throttle"].throttling.unwrap()
    );
    assert!(!live.node_live("queue-block").unwrap().throttling);
}

/// Once a run has finished, the canvas shows each node's and edge's mean rates over the whole
/// run, not the last second, where traffic dies down: the CQRS sample's query client (100/s until
/// its limit of 3,000) read 54/s at the end before.
#[test]
fn finished_runs_show_mean_rates() {
    let (doc, mut live) = started("cqrs.json", Speed::Max);
    poll_until(&mut live, &doc, |l| l.state() == Some(&RunState::Finished));
    let sim_s = live.snapshot().unwrap().report.sim_time_ms / 1000.0;
    let queries = live.node_live("queries").unwrap();
    assert!(queries.over_run);
    assert!((queries.out_per_sec - 3000.0 / sim_s).abs() < 1e-9);
    assert!(queries.out_per_sec > 95.0, "{}", queries.out_per_sec);
    let commands = live.node_live("commands").unwrap();
    assert!((commands.out_per_sec - 1200.0 / sim_s).abs() < 1e-9);
    // The edges' dots move at the same means: an edge into a node with no other input at
    // the node's input rate, the others at their source's output rate.
    assert_eq!(live.edge_rate("queries", "read-model"), queries.out_per_sec);
    let handler = live.node_live("command-handler").unwrap();
    assert_eq!(
        live.edge_rate("commands", "command-handler"),
        handler.in_per_sec
    );
    assert!(live.max_edge_rate() >= queries.out_per_sec);
}

/// A live run that ends by itself ends where the headless run does, whatever its pace: the
/// finished report is the headless one, number for number (the clock no longer runs on to
/// the end of the slice in which the last message settled).
#[test]
fn finished_live_run_matches_the_headless_run() {
    let (doc, mut live) = started("cqrs.json", Speed::X100);
    poll_until(&mut live, &doc, |l| l.state() == Some(&RunState::Finished));
    let headless = run(&doc.graph, &RunOptions::default()).unwrap();
    let shown = live.snapshot().unwrap().report.without_wall_time();
    assert_eq!(shown, headless.without_wall_time());
}

// ---- the run bar in the app ----------------------------------------------------------------

fn app(graph: Graph) -> Harness<'static, FlowbenchApp> {
    let mut app = FlowbenchApp::with_document(Document::new(graph, None));
    app.live.export.set_native_dialogs(false);
    // Settling can take a few timed changes one after another (a second awake after a
    // command, a click shown until confirmed, a tooltip's delay), each a frame or more at
    // the harness's 0.25 s per frame: more than its default of 4 frames.
    let mut h = Harness::builder()
        .with_size([1400.0, 900.0])
        .with_max_steps(30)
        .build_eframe(|_cc| app);
    h.run();
    h
}

/// Steps frames until `done` holds.
fn wait(h: &mut Harness<'static, FlowbenchApp>, done: impl Fn(&FlowbenchApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(h.state()) {
        assert!(
            Instant::now() < deadline,
            "the app did not get there in time"
        );
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.run();
}

/// While the window is minimised eframe runs only `App::logic`: the run's snapshots are
/// still taken, so its numbers and refusals are current when the window comes back.
#[test]
fn snapshots_are_taken_while_minimised() {
    let mut app = FlowbenchApp::with_document(Document::new(sample("mm1.json"), None));
    app.live.set_speed(Speed::Max);
    app.live.advance(&app.doc, 1000.0);
    app.live.replay("worker", None).unwrap();
    let ctx = egui::Context::default();
    let mut frame = eframe::Frame::_new_kittest();
    let mut input = egui::RawInput::default();
    let viewport = input.viewports.entry(egui::ViewportId::ROOT).or_default();
    viewport.minimized = Some(true);
    let deadline = Instant::now() + Duration::from_secs(30);
    let caught_up = |live: &LiveSession| paused_at(live, 1000.0) && !live.notices().is_empty();
    while !caught_up(&app.live) {
        assert!(Instant::now() < deadline, "no snapshot was taken");
        std::thread::sleep(Duration::from_millis(10));
        let _ = ctx.run_logic(&input, |ctx| eframe::App::logic(&mut app, ctx, &mut frame));
    }
    assert!(
        matches!(app.live.notices().as_slice(), [Notice::CommandRefused(m)] if m.contains("not an event_log")),
        "{:?}",
        app.live.notices()
    );
}

/// Every control of the run bar is found by its name; "Advance 1 s" moves the clock by
/// exactly one simulated second and the monitor shows the run.
#[test]
fn run_bar_controls_by_name() {
    let mut h = app(sample("mm1.json"));
    for name in ["Run", "Step", "Advance 1 s", "Reset", "Speed", "Seed"] {
        h.get_by_label(name);
    }
    assert_eq!(
        h.get_by_label("sim time").value().as_deref(),
        Some("0:00:00.000")
    );
    assert_eq!(h.get_by_label("Seed").value().as_deref(), Some("42"));
    h.get_by_label("Advance 1 s").click();
    wait(&mut h, |app| {
        app.live
            .snapshot()
            .is_some_and(|s| s.report.sim_time_ms >= 1000.0)
    });
    assert_eq!(
        h.get_by_label("sim time").value().as_deref(),
        Some("0:00:01.000")
    );
    assert_eq!(h.state().live.tab, BottomTab::Monitor);
    h.get_by_label("Reset").click();
    h.run();
    assert!(!h.state().live.is_active());
    assert_eq!(
        h.get_by_label("sim time").value().as_deref(),
        Some("0:00:00.000")
    );
}

/// Two config edits and "Advance 1 s" reach the engine in the same frame; the engine
/// refuses one edit and takes the other. Each edit gets its own verdict: the accepted one
/// enters the running graph, the refused one stays out of it, and the run bar shows the
/// refusal with Restart.
#[test]
fn refused_edit_beside_another_command_in_one_frame() {
    let mut h = app(sample("pubsub-fan-out.json"));
    h.state_mut().live.set_speed(Speed::Max);
    h.get_by_label("Advance 1 s").click();
    wait(&mut h, |app| paused_at(&app.live, 1000.0));
    let running_config = |app: &FlowbenchApp, id: &str| {
        app.live
            .running_graph()
            .unwrap()
            .node(id)
            .unwrap()
            .config
            .clone()
    };
    let topic = running_config(h.state(), "order-events");

    let refused = NodeConfig::Topic(TopicConfig {
        subscriber_capacity: Some(5),
        ..TopicConfig::default()
    });
    let billing = NodeConfig::Service(ServiceConfig {
        concurrency: 4,
        service_time: Dist::Exp { mean_ms: 5.0 },
        ..ServiceConfig::default()
    });
    let doc = &mut h.state_mut().doc;
    doc.set_config("order-events", "subscriber_capacity", refused.clone());
    doc.seal();
    doc.set_config("billing", "concurrency", billing.clone());
    // The edits are sent as the frame begins, the advance as the run bar takes the click.
    h.get_by_label("Advance 1 s").click();
    h.step();
    wait(&mut h, |app| paused_at(&app.live, 2000.0));
    wait(&mut h, |app| running_config(app, "billing") == billing);

    let app = h.state();
    assert_eq!(running_config(app, "order-events"), topic);
    assert_eq!(
        app.live.snapshot().unwrap().report.nodes["billing"].workers,
        Some(4)
    );
    let notices = app.live.notices();
    assert!(
        matches!(notices.as_slice(), [Notice::Refused(m)] if m.contains("restart")),
        "{notices:?}"
    );
    h.get_by_label_contains("The run cannot take this change live");
    h.get_by_label("Restart");

    // More frames change nothing: the refused config is not sent again, and the running
    // graph keeps the accepted one.
    let applied = h.state().live.snapshot().unwrap().applied;
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(60));
        h.step();
    }
    let app = h.state();
    assert_eq!(app.live.snapshot().unwrap().applied, applied);
    assert_eq!(running_config(app, "order-events"), topic);
    assert_eq!(running_config(app, "billing"), billing);

    // Dismissed, the reason goes; that the topic runs with its earlier settings stays,
    // with Restart.
    h.get_by_label("Dismiss").click();
    h.run();
    assert!(
        h.query_by_label_contains("cannot take this change live")
            .is_none()
    );
    h.get_by_label_contains("'order-events' runs with its earlier settings");
    assert!(h.query_by_label("Dismiss").is_none());

    // Restart applies the refused edit too (frames come until the new run's first
    // snapshot, however long a loaded machine takes to send it).
    h.get_by_label("Restart").click();
    wait(&mut h, |app| paused_at(&app.live, 0.0));
    assert_eq!(running_config(h.state(), "order-events"), refused);
    assert!(h.state().live.notices().is_empty());
}

/// Space runs and pauses when no text field has the keyboard; Run becomes Pause.
#[test]
fn space_runs_and_pauses() {
    let mut h = app(sample("mm1.json"));
    h.key_press(Key::Space);
    wait(&mut h, |app| app.live.state() == Some(&RunState::Running));
    h.get_by_label("Pause");
    h.key_press(Key::Space);
    wait(&mut h, |app| app.live.state() == Some(&RunState::Paused));
    h.get_by_label("Run");
}

/// The monitor shows the selected node's report fields once a run has numbers.
#[test]
fn monitor_shows_the_selected_node() {
    let mut h = app(sample("mm1.json"));
    h.state_mut().doc.selection = Selection::only_node("q");
    h.state_mut().live.set_speed(Speed::Max);
    h.get_by_label("Advance 1 s").click();
    wait(&mut h, |app| {
        app.live
            .snapshot()
            .is_some_and(|s| s.report.sim_time_ms >= 1000.0)
    });
    h.get_by_label("Pin");
    h.get_by_label("wait_ms");
    assert!(h.query_all_by_label("depth").count() >= 1);
}

/// The exports write the report (as the command line does) and the CSV where the user says.
#[test]
fn exports_write_where_the_user_says() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = app(sample("mm1.json"));
    h.state_mut().live.set_speed(Speed::Max);
    h.get_by_label("Advance 1 s").click();
    wait(&mut h, |app| {
        app.live
            .snapshot()
            .is_some_and(|s| s.report.sim_time_ms >= 1000.0)
    });
    for (command, name) in [
        (AppCommand::ExportReport, "r.json"),
        (AppCommand::ExportSeriesCsv, "s.csv"),
    ] {
        h.state_mut().commands.push(command);
        h.run();
        assert!(h.state().live.export.prompt_open());
        let path = dir.path().join(name);
        let field = h.get_by_label("Path");
        field.focus();
        h.key_press_modifiers(egui::Modifiers::COMMAND, Key::A);
        h.get_by_label("Path")
            .type_text(&path.display().to_string());
        h.run();
        h.get_by_label("Export").click();
        h.run();
        assert!(path.is_file(), "{name} was written");
    }
    let report: flowbench_engine::Report =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report.sim_time_ms, 1000.0);
    let csv = std::fs::read_to_string(dir.path().join("s.csv")).unwrap();
    assert!(csv.starts_with(export::CSV_HEADER));
    assert!(csv.lines().any(|l| l.starts_with("q,")));
}

// ---- channels on a broker ------------------------------------------------------------------

/// What a RabbitMQ-backed queue reports while its broker is away: retrying, with the error.
fn retrying_broker() -> BrokerReport {
    BrokerReport {
        kind: "rabbitmq".into(),
        url: "amqp://guest:***@127.0.0.1:5672/%2f".into(),
        name: "flowbench.orders".into(),
        state: "retrying".into(),
        error: Some("connection refused (os error 111)".into()),
        published: 120,
        confirmed: 118,
        publish_failed: 2,
        consumed: 90,
        acked: 88,
        redelivered: 3,
        broker_depth: Some(12),
        reconnects: 1,
    }
}

/// The badge names the broker and its state in the state's colour (up green, connecting
/// and retrying amber, down red); the broker's depth reads beside the local counters; the
/// hover text has the error and the counters.
#[test]
fn broker_badge_texts_and_colours() {
    let broker = retrying_broker();
    assert_eq!(overlay::broker_badge(&broker), "RabbitMQ retrying");
    assert_eq!(
        overlay::broker_depth_text(&broker).as_deref(),
        Some("broker 12 ready")
    );
    let jetstream = BrokerReport {
        kind: "jetstream".into(),
        broker_depth: Some(1500),
        ..broker.clone()
    };
    assert_eq!(
        overlay::broker_depth_text(&jetstream).as_deref(),
        Some("broker 1500 in stream")
    );
    let nats = BrokerReport {
        kind: "nats".into(),
        state: "up".into(),
        broker_depth: None,
        ..broker.clone()
    };
    assert_eq!(overlay::broker_badge(&nats), "NATS up");
    assert_eq!(overlay::broker_depth_text(&nats), None);
    let hover = overlay::broker_hover_text(&broker);
    for part in [
        "RabbitMQ flowbench.orders at amqp://guest:***@127.0.0.1:5672/%2f",
        "Connection: retrying (1 reconnect)",
        "Error: connection refused (os error 111)",
        "Published 120 · confirmed 118 · failed 2",
        "Consumed 90 · acked 88 · redelivered 3",
    ] {
        assert!(hover.contains(part), "{part} in {hover}");
    }
    let colors = overlay::LiveColors::new(false);
    assert_eq!(overlay::broker_color(&colors, "up"), colors.ok);
    assert_eq!(overlay::broker_color(&colors, "connecting"), colors.warn);
    assert_eq!(overlay::broker_color(&colors, "retrying"), colors.warn);
    assert_eq!(overlay::broker_color(&colors, "down"), colors.bad);
}

/// On the canvas, the badge above a broker-backed queue is a named hover target whose
/// tooltip says why the connection is not up.
#[test]
fn broker_badge_hover_shows_the_error() {
    let broker = retrying_broker();
    let live = NodeLive {
        depth: Some(3.0),
        capacity: Some(1000),
        fill: Some(0.003),
        broker: Some(broker.clone()),
        ..NodeLive::default()
    };
    let mut h = Harness::builder()
        .with_size([480.0, 320.0])
        .build_ui(move |ui| {
            ui.ctx()
                .all_styles_mut(|s| s.interaction.tooltip_delay = 0.0);
            let rect = egui::Rect::from_min_size(egui::pos2(120.0, 120.0), egui::vec2(160.0, 64.0));
            let painter = ui.painter().clone();
            node_overlay(
                &painter,
                rect,
                flowbench_engine::NodeKind::Queue,
                &live,
                1.0,
                0.0,
            );
            overlay::broker_badge_hover(
                ui,
                ui.scope_id(),
                &painter,
                rect,
                "order-queue",
                &broker,
                1.0,
            );
        });
    h.run();
    let badge = h.get_by_label("broker order-queue");
    assert_eq!(badge.value().as_deref(), Some("RabbitMQ retrying"));
    badge.hover();
    h.run();
    assert!(
        h.query_by_label_contains("Error: connection refused")
            .is_some()
    );
}

/// The monitor's table shows a broker-backed node's connection and the broker's counters,
/// from a snapshot built by hand (no broker needed).
#[test]
fn monitor_table_shows_the_broker_fields() {
    let graph = sample("brokers/rabbitmq-work-queue.json");
    let mut doc = Document::new(graph, None);
    doc.selection = Selection::only_node("order-queue");
    let mut live = LiveSession::default();
    let queue = NodeReport {
        kind: "queue".into(),
        in_: 120,
        out: 90,
        broker: Some(retrying_broker()),
        ..NodeReport::default()
    };
    let report = flowbench_engine::Report {
        format: "flowbench.report".into(),
        version: 1,
        graph: doc.graph.name.clone(),
        seed: doc.graph.seed,
        sim_time_ms: 5000.0,
        wall_time_ms: 5000.0,
        events: 400,
        totals: Default::default(),
        conservation: Default::default(),
        nodes: [("order-queue".to_owned(), queue)].into_iter().collect(),
    };
    live.snapshot = Some(Snapshot {
        state: RunState::Paused,
        pace: Pace::Realtime { speed: 1.0 },
        events_per_sec: 0.0,
        report,
        applied: 0,
        refusals: Vec::new(),
        active_faults: vec![Vec::new()],
        recent_latency: vec![None],
    });
    let state = (doc, live, Vec::<AppCommand>::new());
    let mut h = Harness::builder()
        .with_size([1200.0, 600.0])
        .build_ui_state(
            |ui, (doc, live, commands): &mut (Document, LiveSession, Vec<AppCommand>)| {
                monitor::ui(ui, live, doc, commands)
            },
            state,
        );
    h.run();
    for label in [
        "RabbitMQ flowbench.orders · retrying",
        "connection refused (os error 111)",
        "amqp://guest:***@127.0.0.1:5672/%2f",
        "  broker_depth",
        "  redelivered",
        "  reconnects",
    ] {
        assert!(
            h.query_by_label(label).is_some(),
            "no '{label}' in the table"
        );
    }
}

/// A graph with channels on a broker does not run at max: the run bar says so (without
/// offering a restart, which would not help) and the speed menu does not offer max.
#[test]
fn brokers_run_live_only() {
    let (doc, mut live) = started("brokers/rabbitmq-work-queue.json", Speed::Max);
    poll_until(&mut live, &doc, |l| !l.notices().is_empty());
    let notice = live.notices().remove(0);
    assert!(
        matches!(&notice, Notice::LiveOnly(m) if m.contains("live only")),
        "{notice:?}"
    );
    assert!(!notice.restart_helps());
    // At another speed the refusal still offers no restart.
    live.set_speed(Speed::X10);
    let notices = live.notices();
    assert!(
        matches!(notices.as_slice(), [Notice::CommandRefused(m)] if m.contains("live only")),
        "{notices:?}"
    );
    assert!(!notices[0].restart_helps());
    live.reset();

    let mut h = app(sample("brokers/rabbitmq-work-queue.json"));
    h.get_by_label("Speed").click();
    h.run();
    assert!(h.get_by_label("max").accesskit_node().is_disabled());
    assert!(!h.get_by_label("10×").accesskit_node().is_disabled());
}

/// The monitor's latency percentiles are the engine's recent ones, not the report's since
/// the start: after a slow period the series' p99 comes back down while the node table's
/// p99 stays high.
#[test]
fn series_percentiles_are_recent() {
    let graph = Graph::from_json_str(include_str!(
        "../../../../engine/tests/graphs/slow-period.json"
    ))
    .unwrap();
    let doc = Document::new(graph, None);
    let mut live = LiveSession::default();
    for second in 1..=12 {
        live.advance(&doc, 1000.0);
        poll_until(&mut live, &doc, |l| {
            paused_at(l, f64::from(second) * 1000.0)
        });
    }
    let snapshot = live.snapshot().unwrap();
    let index = snapshot.report.nodes.get_index_of("s").unwrap();
    let recent = snapshot.recent_latency[index].unwrap();
    let cumulative = snapshot.report.nodes["s"].service_ms.unwrap().p99;
    let series = live.series().node("s").unwrap();
    let p99_at = |t: f64| {
        let sample = series.since(t).next().unwrap();
        assert_eq!(sample.t_ms, t);
        f64::from(sample.p99_ms)
    };
    let (before, during, after) = (p99_at(5000.0), p99_at(9000.0), p99_at(12_000.0));
    assert_eq!(after, recent.p99 as f32 as f64);
    assert_eq!(
        f64::from(series.last().unwrap().p50_ms),
        recent.p50 as f32 as f64
    );
    assert!(during > 5.0 * before, "{before} {during}");
    assert!((after - before).abs() < 0.5 * before, "{before} {after}");
    assert!(cumulative > 5.0 * after, "{cumulative} {after}");
}

/// A node that handles a message every 1.5 s of simulated time reads as about 0.67/s all
/// along (not a rate jumping between "idle" and 1/s), and as idle only ten seconds after
/// its last message; a busy node's rate still follows a change within a second.
#[test]
fn rates_of_sparse_nodes_are_steady() {
    let mut sparse = RateWindow::origin();
    let mut busy = RateWindow::origin();
    let mut seen = 0;
    for step in 1..=600 {
        let t = f64::from(step) * 100.0; // a snapshot every 100 ms of simulated time
        // Sparse: one message in and out every 1,500 ms up to 30 s.
        let n = (t.min(30_000.0) / 1500.0).floor() as u64;
        sparse.push(t, n, n);
        // Busy: 100/s, then 200/s from 20 s.
        let m = if t <= 20_000.0 {
            t / 10.0
        } else {
            2000.0 + (t - 20_000.0) / 5.0
        } as u64;
        busy.push(t, m, m);

        let (rate_in, rate_out) = sparse.rates();
        assert_eq!(rate_in, rate_out);
        if (11_000.0..=30_000.0).contains(&t) {
            seen += 1;
            assert!((0.5..=0.8).contains(&rate_in), "{rate_in}/s at {t} ms");
        }
        if t > 30_000.0 && t < 38_000.0 {
            assert!(rate_in > 0.0, "still 'in {rate_in}/s' at {t} ms");
        }
        if t >= 41_000.0 {
            assert_eq!(rate_in, 0.0, "idle at {t} ms");
        }
        if (2_000.0..=20_000.0).contains(&t) {
            assert!((busy.rates().0 - 100.0).abs() < 1.0, "{t}");
        }
        if t >= 21_000.0 {
            assert!((busy.rates().0 - 200.0).abs() < 1.0, "{t}");
        }
    }
    assert_eq!(seen, 191);
}
