//! The messaging-pattern sample graphs run through the `flowbench` binary, checked for what
//! each pattern promises: sagas compensate every failure, a durable queue survives a
//! crash, an autoscaled service follows a spike, and the channel samples deliver each
//! message where the pattern says (once, to one consumer, or to every subscriber).

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use flowbench_engine::report::NodeReport;
use flowbench_engine::{Graph, NodeConfig, Report};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-graphs")
        .join(name)
}

fn graph(name: &str) -> Graph {
    Graph::from_json_slice(&std::fs::read(sample(name)).unwrap()).unwrap()
}

/// Runs `flowbench run SAMPLE args... --json`, checks it succeeded with every message
/// accounted for, and returns the report.
fn run(name: &str, args: &[&str]) -> Report {
    let output = Command::cargo_bin("flowbench")
        .expect("the flowbench binary is built")
        .arg("run")
        .arg(sample(name))
        .args(args)
        .arg("--json")
        .timeout(Duration::from_secs(120))
        .output()
        .expect("flowbench runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{name}: {stderr}");
    let report: Report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{name}: stdout is not a report ({e})"));
    assert!(report.conservation.ok, "{name}: {:?}", report.conservation);
    report
}

fn node<'r>(report: &'r Report, id: &str) -> &'r NodeReport {
    report
        .nodes
        .get(id)
        .unwrap_or_else(|| panic!("no report for node '{id}'"))
}

/// Ids of the nodes `id` sends to through port `out`.
fn consumers(graph: &Graph, id: &str) -> Vec<String> {
    graph
        .edges
        .iter()
        .filter(|e| e.from == id && e.port == "out")
        .map(|e| e.to.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Sagas

/// Orchestration: every saga either completes or is fully compensated. A failed charge
/// cancels the order; a failed shipment refunds the payment and cancels the order; no
/// compensation fails, and the client gets Ok exactly for the completed sagas.
#[test]
fn saga_orchestration_compensates_every_failed_saga() {
    let r = run("saga-orchestration.json", &[]);
    let saga = node(&r, "checkout");
    let started = saga.started.unwrap();
    let completed = saga.completed.unwrap();
    assert_eq!(started, 2000);
    assert_eq!(saga.compensated, Some(started - completed));
    assert_eq!(saga.compensation_failed, Some(0));

    let failed_charges = node(&r, "charge-payment").failed.unwrap();
    let failed_shipments = node(&r, "ship-order").failed.unwrap();
    assert!(
        failed_charges > 300 && failed_shipments > 30,
        "{failed_charges} {failed_shipments}"
    );
    assert_eq!(failed_charges + failed_shipments, started - completed);
    // The failed step itself is not undone: refunds only for charges that succeeded.
    assert_eq!(node(&r, "refund-payment").in_, failed_shipments);
    assert_eq!(
        node(&r, "cancel-order").in_,
        failed_charges + failed_shipments
    );
    for compensation in ["refund-payment", "cancel-order"] {
        assert_eq!(node(&r, compensation).failed, Some(0), "{compensation}");
    }
    let steps = saga.steps.as_ref().unwrap();
    assert_eq!(
        (steps[1].failed, steps[2].failed),
        (failed_charges, failed_shipments)
    );
    assert_eq!(steps[1].compensated, failed_shipments);
    assert_eq!(steps[0].compensated, failed_charges + failed_shipments);

    let client = node(&r, "checkout-requests");
    assert_eq!(client.ok, Some(completed));
    assert_eq!(client.failed, Some(started - completed));
    assert_eq!(client.timeouts, Some(0));
    assert_eq!(r.totals.delivered, completed);
}

/// Choreography: every failed payment becomes a payment-failed event that cancels its
/// order, every successful one is shipped, and no event is lost on the way.
#[test]
fn saga_choreography_cancels_every_failed_payment() {
    let r = run("saga-choreography.json", &[]);
    let payment = node(&r, "payment-service");
    let failed = payment.failed.unwrap();
    assert_eq!(payment.in_, 2000);
    assert!(failed > 300, "{failed}");
    assert_eq!(payment.out + failed, payment.in_);
    assert_eq!(node(&r, "payment-failed").in_, failed);
    assert_eq!(node(&r, "order-cancel").in_, failed);
    assert_eq!(node(&r, "cancelled").in_, failed);
    assert_eq!(node(&r, "shipping-service").in_, payment.out);
    assert_eq!(node(&r, "shipped").in_, payment.out);
    assert_eq!(r.totals.delivered, 2000);
    assert_eq!(
        (r.totals.lost, r.totals.failed, r.totals.in_flight),
        (0, 0, 0)
    );
}

// ---------------------------------------------------------------------------------------
// Durable queue

/// Both queues crash at 20 s with messages waiting (their consumers are stopped): the
/// non-durable one loses exactly what waited in it just before, the durable one loses
/// nothing and delivers every message after recovery.
#[test]
fn durable_queue_keeps_its_messages_through_a_crash() {
    let file = "durable-queue-crash.json";
    let before = run(file, &["--duration", "19999ms"]);
    let waiting_volatile = node(&before, "queue-volatile").in_flight.unwrap();
    let waiting_durable = node(&before, "queue-durable").in_flight.unwrap();
    assert!(waiting_volatile > 100, "{waiting_volatile}");
    assert!(waiting_durable > 100, "{waiting_durable}");

    let r = run(file, &[]);
    let volatile = node(&r, "queue-volatile");
    assert_eq!(volatile.lost, Some(waiting_volatile));
    assert_eq!(node(&r, "sink-volatile").in_, 1000 - waiting_volatile);

    let durable = node(&r, "queue-durable");
    assert_eq!(durable.lost, Some(0));
    assert_eq!((durable.in_, durable.out), (1000, 1000));
    assert_eq!(node(&r, "sink-durable").in_, 1000);
    assert_eq!(r.totals.lost, waiting_volatile);
    assert_eq!(r.totals.in_flight, 0);
}

// ---------------------------------------------------------------------------------------
// Back-pressure policies

/// The four answers to a full queue, side by side: block and throttle drop nothing, the
/// drop policies drop about one message in six; throttle keeps its queue emptier than
/// block (shorter waits) and says how long it throttled.
#[test]
fn back_pressure_policies_do_what_they_say() {
    let r = run("back-pressure.json", &[]);
    let depth = |id: &str| node(&r, id).depth.unwrap();
    let wait = |id: &str| node(&r, id).wait_ms.unwrap().mean;
    for lane in ["block", "throttle"] {
        let q = node(&r, &format!("queue-{lane}"));
        assert_eq!(q.dropped, Some(0), "{lane}");
        assert_eq!(node(&r, &format!("sink-{lane}")).in_, 36000, "{lane}");
        assert!(node(&r, &format!("producer-{lane}")).blocked_ms.unwrap() > 0.0);
    }
    for lane in ["newest", "oldest"] {
        let dropped = node(&r, &format!("queue-{lane}")).dropped.unwrap();
        assert!((4000..8000).contains(&dropped), "{lane}: {dropped}");
    }
    assert!(wait("queue-oldest") < wait("queue-newest"));
    assert_eq!(depth("queue-block").max, 50.0);
    let throttle = node(&r, "queue-throttle");
    assert!(
        depth("queue-throttle").max >= 50.0,
        "it fills up before throttling"
    );
    assert!(
        depth("queue-throttle").mean < 0.85 * depth("queue-block").mean,
        "{} vs {}",
        depth("queue-throttle").mean,
        depth("queue-block").mean
    );
    assert!(wait("queue-throttle") < 0.85 * wait("queue-block"));
    let throttled = throttle.throttled_ms.unwrap();
    assert!(throttled > 0.1 * r.sim_time_ms && throttled < r.sim_time_ms);
    assert_eq!(throttle.throttling, Some(false), "empty at the end");
}

// ---------------------------------------------------------------------------------------
// Autoscaling

/// The autoscaled service starts at `min`, grows above it while the spike's backlog
/// builds, and is back at `min` once the spike is over; utilization stays a share.
#[test]
fn autoscaled_service_follows_the_spike() {
    let file = "back-pressure-autoscale.json";
    let g = graph(file);
    let min = g
        .nodes
        .iter()
        .find_map(|n| match &n.config {
            NodeConfig::Service(c) if n.id == "workers" => c.autoscale.as_ref().map(|a| a.min),
            _ => None,
        })
        .expect("an autoscaled service 'workers'");

    let calm = run(file, &["--duration", "29s"]);
    assert_eq!(node(&calm, "workers").workers_max, Some(min));

    let spike = run(file, &["--duration", "45s"]);
    assert!(node(&spike, "workers").workers.unwrap() > min + 2);

    let r = run(file, &[]);
    let workers = node(&r, "workers");
    assert!(workers.workers_max.unwrap() > min, "{workers:?}");
    assert_eq!(workers.workers, Some(min));
    let u = workers.utilization.unwrap();
    assert!(u > 0.0 && u <= 1.0, "{u}");
    assert_eq!(node(&r, "done").in_, 3000);
}

// ---------------------------------------------------------------------------------------
// Channel samples

/// Point-to-point: every message passes every node exactly once (in == out at each),
/// and all of them reach the sink.
#[test]
fn point_to_point_delivers_every_message_once() {
    let r = run("point-to-point.json", &[]);
    assert_eq!(node(&r, "orders").out, 1000);
    for id in ["order-queue", "fulfilment"] {
        let n = node(&r, id);
        assert_eq!((n.in_, n.out), (1000, 1000), "{id}");
    }
    assert_eq!(node(&r, "shipped").in_, 1000);
    assert_eq!(r.totals.delivered, 1000);
    assert_eq!(r.totals.copies, 0);
}

/// Competing consumers: each message is consumed exactly once across the consumers (the
/// consumers' `in` add up to the queue's `out`, with no copies), each getting a fair share.
#[test]
fn competing_consumers_consume_each_message_once() {
    let file = "competing-consumers.json";
    let r = run(file, &[]);
    let queue = node(&r, "work-queue");
    assert_eq!((queue.in_, queue.out), (6000, 6000));
    let ids = consumers(&graph(file), "work-queue");
    assert_eq!(ids.len(), 3);
    let shares: Vec<u64> = ids.iter().map(|id| node(&r, id).in_).collect();
    assert_eq!(shares.iter().sum::<u64>(), queue.out);
    for (id, share) in ids.iter().zip(&shares) {
        let fraction = *share as f64 / queue.out as f64;
        assert!(
            (0.28..=0.39).contains(&fraction),
            "{id}: {share} of {}",
            queue.out
        );
    }
    assert_eq!(r.totals.copies, 0);
    assert_eq!(node(&r, "done").in_, 6000);
}

/// Publish-subscribe: each subscriber receives every message unless its overflow policy
/// dropped it (delivered + dropped == topic in); only the slow subscriber drops.
#[test]
fn pubsub_every_subscriber_gets_every_message() {
    let file = "pubsub-fan-out.json";
    let r = run(file, &[]);
    let topic = node(&r, "order-events");
    assert_eq!(topic.in_, 15000);
    let subscribers = topic.subscribers.as_ref().unwrap();
    let ids = consumers(&graph(file), "order-events");
    assert_eq!(subscribers.keys().cloned().collect::<Vec<_>>(), ids);
    for (id, sub) in subscribers {
        assert_eq!(sub.delivered + sub.dropped, topic.in_, "{id}");
        assert_eq!(node(&r, id).in_, sub.delivered, "{id}");
    }
    assert_eq!(subscribers["billing"].dropped, 0);
    assert_eq!(subscribers["shipping"].dropped, 0);
    assert!(subscribers["analytics"].dropped > 1000);
}
