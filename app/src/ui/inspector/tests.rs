//! The inspector driven as a user (or a screen reader) would: widgets found by their
//! accessible names, edits checked on the document.

use egui::accesskit::Role;
use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use flowbench_engine::model::{
    Backend, Dist, FaultKind, JetStreamBackend, NatsBackend, QueueConfig, RabbitMqBackend, WhenFull,
};
use flowbench_engine::{Graph, Node, NodeConfig, NodeKind};
use serde_json::json;

use super::InspectorState;
use crate::ui::{AppCommand, Document, Selection};

struct Inspected {
    doc: Document,
    state: InspectorState,
    commands: Vec<AppCommand>,
}

fn harness(doc: Document) -> Harness<'static, Inspected> {
    let state = Inspected {
        doc,
        state: InspectorState::default(),
        commands: Vec::new(),
    };
    let mut harness = Harness::builder()
        .with_size([420.0, 1600.0])
        .build_ui_state(
            |ui, s: &mut Inspected| super::ui(ui, &mut s.doc, &mut s.state, &mut s.commands),
            state,
        );
    harness.run();
    harness
}

fn sample(name: &str) -> Graph {
    let path = format!("{}/sample-graphs/{name}", env!("CARGO_MANIFEST_DIR"));
    Graph::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn selecting(graph: Graph, id: &str) -> Document {
    let mut doc = Document::new(graph, None);
    doc.selection = Selection::only_node(id);
    doc
}

fn config<'a>(h: &'a Harness<'_, Inspected>, id: &str) -> &'a NodeConfig {
    &h.state().doc.node(id).unwrap().config
}

fn select_all_and_type(h: &Harness<'_, Inspected>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_label(label).type_text(text);
}

/// Every config field of every kind is one widget named exactly as the graph file names
/// the field, so tests and screen readers find it.
#[test]
fn every_field_is_named_as_in_the_graph_file() {
    let fields: [(NodeKind, &[&str]); 12] = [
        (
            NodeKind::Producer,
            &["rate_per_sec", "arrival", "limit", "keys", "payload"],
        ),
        (
            NodeKind::Client,
            &[
                "rate_per_sec",
                "arrival",
                "limit",
                "timeout_ms",
                "keys",
                "payload",
            ],
        ),
        (
            NodeKind::Queue,
            &["capacity", "when_full", "durable", "backend.kind"],
        ),
        (
            NodeKind::Topic,
            &[
                "partitions",
                "subscriber_capacity",
                "when_full",
                "backend.kind",
            ],
        ),
        (
            NodeKind::Service,
            &[
                "concurrency",
                "service_time",
                "mean_ms",
                "failure_rate",
                "max_retries",
                "retry_backoff_ms",
                "autoscale",
            ],
        ),
        (NodeKind::Sink, &[]),
        (
            NodeKind::Breaker,
            &[
                "consecutive_failures",
                "open_ms",
                "half_open_max_calls",
                "call_timeout_ms",
                "fallback",
            ],
        ),
        (
            NodeKind::Gateway,
            &[
                "mode",
                "route_by",
                "timeout_ms",
                "partial",
                "rate_limit_per_sec",
            ],
        ),
        (NodeKind::Router, &["default_port"]),
        (NodeKind::EventLog, &["retention", "backend.kind"]),
        (NodeKind::Projector, &["service_time", "ms"]),
        (NodeKind::Saga, &[]),
    ];
    for (kind, names) in fields {
        let mut graph = Graph::default();
        graph
            .nodes
            .push(Node::new("n", NodeConfig::default_for(kind)));
        let h = harness(selecting(graph, "n"));
        for name in ["id", "label", "process"].iter().chain(names) {
            assert!(
                h.query_by_label(name).is_some(),
                "{kind}: no widget named {name}"
            );
        }
    }
}

/// An optional number is a value plus a "null" checkbox; switching back restores the
/// value set aside.
#[test]
fn optional_capacity_toggles_between_null_and_a_bound() {
    let mut h = harness(selecting(sample("mm1.json"), "q"));
    let capacity = |h: &Harness<'_, Inspected>| match config(h, "q") {
        NodeConfig::Queue(q) => q.capacity,
        other => panic!("{other:?}"),
    };
    assert_eq!(capacity(&h), None);
    h.get_by_label("capacity unbounded").click();
    h.run();
    assert_eq!(capacity(&h), Some(1000));
    h.get_by_label("capacity").set_value_accesskit(250.0);
    h.run();
    assert_eq!(capacity(&h), Some(250));
    h.get_by_label("capacity unbounded").click();
    h.run();
    assert_eq!(capacity(&h), None);
    h.get_by_label("capacity unbounded").click();
    h.run();
    assert_eq!(capacity(&h), Some(250));
}

/// A distribution's form can change and the preview states its mean and p99.
#[test]
fn service_time_form_and_preview() {
    let mut h = harness(selecting(sample("mm1.json"), "worker"));
    assert!(
        h.query_by_label_contains("service_time preview: mean 1 s")
            .is_some()
    );
    h.get_by_label("service_time").click();
    h.run();
    h.get_by_label("lognormal").click();
    h.run();
    let NodeConfig::Service(s) = config(&h, "worker") else {
        panic!()
    };
    assert!(matches!(s.service_time, Dist::Lognormal { .. }));
    assert!((s.service_time.mean_ms() - 1000.0).abs() < 1e-6);
    assert!(h.query_by_label("p99_ms").is_some());
}

/// Half-typed payload JSON stays in the editor with the reason; the document changes only
/// once the text is a valid template.
#[test]
fn payload_applies_only_when_valid() {
    let mut h = harness(selecting(sample("mm1.json"), "orders"));
    let payload = |h: &Harness<'_, Inspected>| match config(h, "orders") {
        NodeConfig::Producer(p) => p.payload.clone(),
        other => panic!("{other:?}"),
    };
    h.get_by_label("payload").focus();
    h.get_by_label("payload").type_text("{\"n\": ");
    h.run();
    assert_eq!(payload(&h), None);
    assert!(h.query_by_label_contains("Not applied").is_some());
    h.get_by_label("payload").type_text("{\"$int\": [5, 1]}}");
    h.run();
    assert_eq!(payload(&h), None, "a bad template is not applied either");
    assert!(h.query_by_label_contains("payload.n.$int").is_some());
    select_all_and_type(&h, "payload", "{\"n\": \"$seq\"}");
    h.run();
    assert_eq!(payload(&h), Some(json!({"n": "$seq"})));
    assert!(h.query_by_label_contains("Not applied").is_none());
}

/// The id is renamed on Enter; a taken id is refused with the reason and nothing changes.
#[test]
fn renaming_applies_on_enter_and_says_why_not() {
    let mut h = harness(selecting(sample("mm1.json"), "q"));
    select_all_and_type(&h, "id", "orders-queue");
    h.key_press(Key::Enter);
    h.run();
    assert!(h.state().doc.node("orders-queue").is_some());
    assert!(
        h.state()
            .doc
            .graph
            .edges
            .iter()
            .any(|e| e.to == "orders-queue")
    );
    select_all_and_type(&h, "id", "typo");
    h.key_press(Key::Escape);
    h.run();
    assert!(h.state().doc.node("typo").is_none());
    assert_eq!(
        h.get_by_label("id").value().as_deref(),
        Some("orders-queue")
    );
    select_all_and_type(&h, "id", "worker");
    h.key_press(Key::Enter);
    h.run();
    assert!(h.state().doc.node("orders-queue").is_some());
    assert!(
        h.query_by_label_contains("already has the id 'worker'")
            .is_some()
    );
}

/// A problem of a field shows in the list at the top and again under the field.
#[test]
fn diagnostics_show_at_the_top_and_under_their_field() {
    let mut graph = sample("mm1.json");
    let q = graph.nodes.iter_mut().find(|n| n.id == "q").unwrap();
    q.config = NodeConfig::Queue(QueueConfig {
        capacity: Some(0),
        ..QueueConfig::default()
    });
    let h = harness(selecting(graph, "q"));
    assert_eq!(
        h.query_all_by_label_contains("must be at least 1 or null")
            .count(),
        2
    );
    assert!(
        h.query_by_label_contains("capacity: must be at least 1")
            .is_some()
    );
    // Showing a bad value does not rewrite it.
    assert!(matches!(config(&h, "q"), NodeConfig::Queue(q) if q.capacity == Some(0)));
}

/// A node the model cannot type shows its raw JSON; Apply types it again.
#[test]
fn invalid_node_is_retyped_without_losing_text() {
    let text = include_str!("../../../../sample-graphs/mm1.json")
        .replace("\"kind\": \"queue\"", "\"kind\": \"queu\"");
    let graph = Graph::from_json_str(&text).unwrap();
    assert!(matches!(
        graph.node("q").unwrap().config,
        NodeConfig::Invalid(_)
    ));
    let mut h = harness(selecting(graph, "q"));
    assert!(h.query_by_label_contains("'queu' is not a kind").is_some());
    assert!(
        h.get_by_label("config")
            .value()
            .unwrap()
            .contains("when_full")
    );
    h.get_by_label("kind").click();
    h.run();
    h.get_by_label("queue").click();
    h.run();
    h.get_by_label("Apply").click();
    h.run();
    assert!(matches!(config(&h, "q"), NodeConfig::Queue(q) if q.capacity.is_none()));
}

/// The add-edge row wires without the mouse, and says why the model refuses an edge.
#[test]
fn edges_are_added_and_removed_from_the_keyboard() {
    let mut h = harness(selecting(sample("mm1.json"), "q"));
    // The first target offered is the producer, which takes no input.
    h.get_by_label("Connect").click();
    h.run();
    assert!(
        h.query_by_label_contains("Not connected: a producer takes no input")
            .is_some()
    );
    let before = h.state().doc.graph.edges.len();
    h.get_by_label("remove edge out to worker").click();
    h.run();
    assert_eq!(h.state().doc.graph.edges.len(), before - 1);
    h.get_by_label("new edge target").click();
    h.run();
    h.get_by_label("worker").click();
    h.run();
    h.get_by_label("Connect").click();
    h.run();
    assert_eq!(h.state().doc.graph.edges.len(), before);
}

/// With nothing selected, faults are added and retyped in the schedule.
#[test]
fn fault_schedule_is_edited_from_the_graph_view() {
    let mut h = harness(Document::new(sample("mm1.json"), None));
    assert!(h.query_by_label("name").is_some() && h.query_by_label("seed").is_some());
    h.get_by_label("+ Add fault").click();
    h.run();
    assert_eq!(h.state().doc.graph.faults.len(), 1);
    assert_eq!(h.state().doc.graph.faults[0].node, "worker");
    h.get_by_label("fault 0 kind").click();
    h.run();
    h.get_by_label("slow").click();
    h.run();
    let fault = &h.state().doc.graph.faults[0];
    assert_eq!((fault.kind, fault.factor), (FaultKind::Slow, Some(2.0)));
    h.get_by_label("remove fault 0").click();
    h.run();
    assert!(h.state().doc.graph.faults.is_empty());
}

/// Router rules: a value that is not JSON stays typed and is not applied.
#[test]
fn rule_values_apply_only_as_json() {
    let mut h = harness(selecting(sample("content-based-router.json"), "route"));
    let first_value = |h: &Harness<'_, Inspected>| match config(h, "route") {
        NodeConfig::Router(r) => r.rules[0].value.clone(),
        other => panic!("{other:?}"),
    };
    select_all_and_type(&h, "rules[0].value", "big");
    h.run();
    assert_eq!(first_value(&h), Some(json!(300)));
    assert!(h.query_by_label_contains("write text in quotes").is_some());
    select_all_and_type(&h, "rules[0].value", "250");
    h.run();
    assert_eq!(first_value(&h), Some(json!(250)));
    h.get_by_label("move rule 1 up").click();
    h.run();
    let NodeConfig::Router(r) = config(&h, "route") else {
        panic!()
    };
    assert_eq!(r.rules[0].port, "eu");
}

/// Saga steps are added, reordered and removed.
#[test]
fn saga_steps_are_listed_and_reordered() {
    let mut h = harness(selecting(sample("saga-orchestration.json"), "checkout"));
    let steps = |h: &Harness<'_, Inspected>| match config(h, "checkout") {
        NodeConfig::Saga(s) => s.steps.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    h.get_by_label("move step 2 up").click();
    h.run();
    assert_eq!(steps(&h), ["order", "shipping", "payment"]);
    h.get_by_label("remove step 0").click();
    h.run();
    assert_eq!(steps(&h), ["shipping", "payment"]);
    h.get_by_label("+ Add step").click();
    h.run();
    assert_eq!(steps(&h).len(), 3);
}

/// One edge: its port can change and it can be removed; several: a count and Delete.
#[test]
fn edge_and_many_selections() {
    let mut doc = Document::new(sample("mm1.json"), None);
    doc.selection.edges.insert(2);
    let mut h = harness(doc);
    assert!(h.query_by_label_contains("no: asynchronous").is_some());
    h.get_by_label("port").click();
    h.run();
    h.get_by_label("error").click();
    h.run();
    assert_eq!(h.state().doc.graph.edges[2].port, "error");
    h.get_by_label("Remove edge").click();
    h.run();
    assert_eq!(h.state().doc.graph.edges.len(), 2);

    let mut doc = Document::new(sample("mm1.json"), None);
    doc.selection.nodes = ["q".to_owned(), "worker".to_owned()].into();
    let mut h = harness(doc);
    assert!(h.query_by_label("2 nodes selected").is_some());
    h.get_by_label("Delete").click();
    h.run();
    assert_eq!(h.state().doc.graph.nodes.len(), 2);
}

fn backend_of<'a>(h: &'a Harness<'_, Inspected>, id: &str) -> Option<&'a Backend> {
    config(h, id).backend()
}

/// Choosing RabbitMQ for a queue writes a backend that validates (the broker's defaults, the
/// queue named after the node) in one undoable edit, and shows its fields; undo takes it
/// out again, and choosing it again after switching back brings back what was typed.
#[test]
fn choosing_rabbitmq_writes_a_valid_backend_and_undo_removes_it() {
    let mut h = harness(selecting(sample("mm1.json"), "q"));
    assert_eq!(backend_of(&h, "q"), None);
    assert!(h.query_by_label("backend.url").is_none());
    let steps = h.state().doc.undo_label().map(str::to_owned);
    h.get_by_label("backend.kind").click();
    h.run();
    h.get_by_label("RabbitMQ").click();
    h.run();
    assert_eq!(
        backend_of(&h, "q"),
        Some(&Backend::RabbitMq(RabbitMqBackend {
            url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            queue: "q".into(),
            durable: true,
            prefetch: 100,
        }))
    );
    assert!(
        h.state().doc.diagnostics_of("q").next().is_none(),
        "{:?}",
        h.state().doc.diagnostics_of("q").collect::<Vec<_>>()
    );
    for name in [
        "backend.url",
        "backend.queue",
        "backend.durable",
        "backend.prefetch",
    ] {
        assert!(h.query_by_label(name).is_some(), "no widget named {name}");
    }
    assert_eq!(
        h.get_by_label("backend.queue").value().as_deref(),
        Some("q")
    );
    assert_eq!(h.state().doc.undo_label(), Some("Change backend"));

    h.state_mut().doc.undo();
    h.run();
    assert_eq!(backend_of(&h, "q"), None);
    assert_eq!(
        h.state().doc.undo_label().map(str::to_owned),
        steps,
        "choosing the broker was one edit"
    );
    assert!(h.query_by_label("backend.url").is_none());
}

/// Broker fields write through the document, and their problems show under them.
#[test]
fn broker_fields_edit_and_show_their_problems() {
    let mut h = harness(selecting(sample("mm1.json"), "q"));
    h.get_by_label("backend.kind").click();
    h.run();
    h.get_by_label("RabbitMQ").click();
    h.run();
    select_all_and_type(&h, "backend.queue", "amq.orders");
    h.run();
    h.get_by_label("backend.prefetch").set_value_accesskit(20.0);
    h.run();
    h.get_by_label("backend.durable").click();
    h.run();
    assert_eq!(
        backend_of(&h, "q"),
        Some(&Backend::RabbitMq(RabbitMqBackend {
            queue: "amq.orders".into(),
            durable: false,
            prefetch: 20,
            ..RabbitMqBackend::default()
        }))
    );
    // At the top with the field named, and under the field.
    assert_eq!(
        h.query_all_by_label_contains("reserved by RabbitMQ")
            .count(),
        2
    );
    assert!(
        h.query_by_label_contains("backend.queue: names starting with 'amq.'")
            .is_some()
    );
    select_all_and_type(&h, "backend.url", "http://localhost");
    h.run();
    assert!(
        h.query_by_label_contains("backend.url: 'http://' is not this broker's scheme")
            .is_some()
    );

    // Back to the engine and onto the broker again: what was typed comes back.
    h.get_by_label("backend.kind").click();
    h.run();
    h.get_by_label("Flowbench engine").click();
    h.run();
    assert_eq!(backend_of(&h, "q"), None);
    h.get_by_label("backend.kind").click();
    h.run();
    h.get_by_label("RabbitMQ").click();
    h.run();
    assert!(matches!(
        backend_of(&h, "q"),
        Some(Backend::RabbitMq(b)) if b.queue == "amq.orders" && b.prefetch == 20
    ));
}

/// A topic is offered NATS and an event log JetStream, each with its fields and a default
/// that validates.
#[test]
fn topics_and_event_logs_offer_their_broker() {
    let mut graph = Graph::default();
    graph.nodes.push(Node::new(
        "events.orders",
        NodeConfig::default_for(NodeKind::Topic),
    ));
    graph.nodes.push(Node::new(
        "account.log",
        NodeConfig::default_for(NodeKind::EventLog),
    ));
    let mut h = harness(selecting(graph.clone(), "events.orders"));
    h.get_by_label("backend.kind").click();
    h.run();
    assert!(h.query_by_label("RabbitMQ").is_none());
    h.get_by_label("NATS").click();
    h.run();
    assert_eq!(
        backend_of(&h, "events.orders"),
        Some(&Backend::Nats(NatsBackend {
            subject: "events.orders".into(),
            ..NatsBackend::default()
        }))
    );
    assert!(h.query_by_label("backend.subject").is_some());
    assert!(
        !h.state()
            .doc
            .diagnostics_of("events.orders")
            .any(|d| d.is_error())
    );

    let mut h = harness(selecting(graph, "account.log"));
    h.get_by_label("backend.kind").click();
    h.run();
    h.get_by_label("JetStream").click();
    h.run();
    assert_eq!(
        backend_of(&h, "account.log"),
        Some(&Backend::JetStream(JetStreamBackend {
            stream: "ACCOUNT_LOG".into(),
            subject: "account.log".into(),
            ..JetStreamBackend::default()
        }))
    );
    for name in ["backend.url", "backend.stream", "backend.subject"] {
        assert!(h.query_by_label(name).is_some(), "no widget named {name}");
    }
    assert!(
        !h.state()
            .doc
            .diagnostics_of("account.log")
            .any(|d| d.is_error())
    );
}

/// The process field tags the node; emptied, the tag is gone; a bad name shows at the top
/// and under the field; each burst of typing is one undo step.
#[test]
fn process_field_sets_and_clears_the_tag() {
    let mut h = harness(selecting(sample("mm1.json"), "worker"));
    let process =
        |h: &Harness<'_, Inspected>| h.state().doc.node("worker").unwrap().process.clone();
    assert_eq!(process(&h), None);
    h.get_by_label("process").focus();
    h.get_by_label("process").type_text("workers");
    h.run();
    assert_eq!(process(&h).as_deref(), Some("workers"));
    assert_eq!(h.state().doc.undo_label(), Some("Change process"));
    h.state_mut().doc.seal();
    select_all_and_type(&h, "process", "a/b");
    h.run();
    assert_eq!(process(&h).as_deref(), Some("a/b"));
    assert_eq!(
        h.query_all_by_label_contains("a process name uses letters")
            .count(),
        2
    );
    h.state_mut().doc.undo();
    h.run();
    assert_eq!(process(&h).as_deref(), Some("workers"));
    h.get_by_label("process").focus();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.key_press(Key::Backspace);
    h.run();
    assert_eq!(process(&h), None);
}

/// On a broker-backed channel the fields the broker decides are greyed out and say why on
/// hover; their values stay in the document as they were, and come back to life when the
/// channel moves back into the engine.
#[test]
fn fields_the_broker_decides_are_greyed_and_kept() {
    let mut graph = sample("mm1.json");
    let queue = graph.nodes.iter_mut().find(|n| n.id == "q").unwrap();
    queue.config = NodeConfig::Queue(QueueConfig {
        capacity: Some(50),
        when_full: WhenFull::DropNewest,
        throttle_rate_per_sec: None,
        durable: true,
        backend: Some(Backend::RabbitMq(RabbitMqBackend {
            queue: "q".into(),
            ..RabbitMqBackend::default()
        })),
    });
    let before = queue.config.clone();
    let mut h = harness(selecting(graph, "q"));
    for (role, field, why) in [
        (
            Role::ComboBox,
            "when_full",
            "RabbitMQ queue: the broker decides",
        ),
        (
            Role::CheckBox,
            "durable",
            "RabbitMQ queue: durability is set under Broker",
        ),
    ] {
        let node = h.get_by_role_and_label(role, field);
        assert!(node.accesskit_node().is_disabled(), "{field} is not greyed");
        let description = node.accesskit_node().description().unwrap_or_default();
        assert!(description.contains(why), "{field}: {description}");
    }
    // The confirm window is what capacity means on the broker: it stays editable.
    assert!(!h.get_by_label("capacity").accesskit_node().is_disabled());

    // Hovering shows why, although the widget is disabled.
    h.get_by_role_and_label(Role::CheckBox, "durable").hover();
    h.run();
    assert!(
        h.query_by_label_contains("durability is set under Broker (backend.durable)")
            .is_some()
    );
    // Clicking a greyed field changes nothing.
    h.get_by_role_and_label(Role::CheckBox, "durable").click();
    h.run();
    assert_eq!(config(&h, "q"), &before);
    assert_eq!(h.state().doc.undo_label(), None);

    // Back in the engine, the kept values apply again.
    h.get_by_label("backend.kind").click();
    h.run();
    h.get_by_label("Flowbench engine").click();
    h.run();
    assert!(
        !h.get_by_role_and_label(Role::CheckBox, "durable")
            .accesskit_node()
            .is_disabled()
    );
    assert!(
        !h.get_by_role_and_label(Role::ComboBox, "when_full")
            .accesskit_node()
            .is_disabled()
    );
    let NodeConfig::Queue(q) = config(&h, "q") else {
        panic!("a queue");
    };
    assert_eq!(
        (q.capacity, q.when_full, q.durable),
        (Some(50), WhenFull::DropNewest, true)
    );
}

/// A NATS topic greys out partitions and when_full, a JetStream log its retention; what
/// the broker uses (subscriber_capacity) stays editable.
#[test]
fn topic_and_log_fields_the_broker_decides_are_greyed() {
    let mut graph = Graph::default();
    let mut topic = NodeConfig::default_for(NodeKind::Topic);
    if let NodeConfig::Topic(c) = &mut topic {
        c.backend = Some(Backend::Nats(NatsBackend {
            subject: "orders".into(),
            ..NatsBackend::default()
        }));
    }
    let mut log = NodeConfig::default_for(NodeKind::EventLog);
    if let NodeConfig::EventLog(c) = &mut log {
        c.retention = Some(10);
        c.backend = Some(Backend::JetStream(JetStreamBackend {
            stream: "ORDERS".into(),
            subject: "orders".into(),
            ..JetStreamBackend::default()
        }));
    }
    graph.nodes.push(Node::new("orders", topic));
    graph.nodes.push(Node::new("log", log));

    let h = harness(selecting(graph.clone(), "orders"));
    for field in ["partitions", "when_full"] {
        let node = h.get_by_label(field);
        assert!(node.accesskit_node().is_disabled(), "{field} is not greyed");
        let description = node.accesskit_node().description().unwrap_or_default();
        assert!(description.contains("NATS topic"), "{field}: {description}");
    }
    assert!(
        !h.get_by_label("subscriber_capacity")
            .accesskit_node()
            .is_disabled()
    );

    let h = harness(selecting(graph, "log"));
    let retention = h.get_by_label("retention");
    assert!(retention.accesskit_node().is_disabled());
    assert!(
        retention
            .accesskit_node()
            .description()
            .unwrap_or_default()
            .contains("JetStream log: the broker decides")
    );
    assert!(
        h.get_by_label("retention keep all")
            .accesskit_node()
            .is_disabled()
    );
}

/// Choosing throttle for a queue gives it a rate at once (a valid config in one edit) and
/// shows the rate's field; undo takes both back. A topic is not offered throttle.
#[test]
fn choosing_throttle_brings_its_rate() {
    let mut h = harness(selecting(sample("back-pressure.json"), "queue-block"));
    assert!(h.query_by_label("throttle_rate_per_sec").is_none());
    h.get_by_role_and_label(Role::ComboBox, "when_full").click();
    h.run();
    h.get_by_label("throttle").click();
    h.run();
    let NodeConfig::Queue(q) = config(&h, "queue-block") else {
        panic!("a queue")
    };
    assert_eq!(
        (q.when_full, q.throttle_rate_per_sec),
        (WhenFull::Throttle, Some(100.0))
    );
    assert!(h.query_by_label("throttle_rate_per_sec").is_some());
    assert!(
        h.state().doc.diagnostics_of("queue-block").next().is_none(),
        "{:?}",
        h.state()
            .doc
            .diagnostics_of("queue-block")
            .collect::<Vec<_>>()
    );
    h.state_mut().doc.undo();
    h.run();
    let NodeConfig::Queue(q) = config(&h, "queue-block") else {
        panic!("a queue")
    };
    assert_eq!(
        (q.when_full, q.throttle_rate_per_sec),
        (WhenFull::Block, None)
    );
    assert!(h.query_by_label("throttle_rate_per_sec").is_none());

    let mut h = harness(selecting(sample("pubsub-fan-out.json"), "order-events"));
    h.get_by_role_and_label(Role::ComboBox, "when_full").click();
    h.run();
    assert!(
        h.query_by_label("drop_oldest").is_some(),
        "the list is open"
    );
    assert!(h.query_by_label("throttle").is_none());
}

/// A broker-backed queue keeps a throttle without a rate as the file has it (when_full is
/// the broker's there): looking at it changes nothing.
#[test]
fn a_broker_queue_with_throttle_is_left_as_it_is() {
    let mut graph = sample("mm1.json");
    let queue = graph.nodes.iter_mut().find(|n| n.id == "q").unwrap();
    queue.config = NodeConfig::Queue(QueueConfig {
        when_full: WhenFull::Throttle,
        backend: Some(Backend::RabbitMq(RabbitMqBackend {
            queue: "q".into(),
            ..RabbitMqBackend::default()
        })),
        ..QueueConfig::default()
    });
    let before = queue.config.clone();
    let h = harness(selecting(graph, "q"));
    assert_eq!(config(&h, "q"), &before);
    assert_eq!(h.state().doc.undo_label(), None);
}
