//! The online-shop sample end to end through the `flowbench` binary: a gateway in front of a
//! catalog and a checkout saga, a circuit breaker around a payment provider that fails from
//! 30 s to 45 s, and order events fanned out by a topic to an email queue, analytics and an
//! event log feeding a projection. Each test checks one part of the story the sample's
//! description tells, from the run report.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use flowbench_engine::Report;
use flowbench_engine::report::BreakerState::{Closed, HalfOpen, Open};
use flowbench_engine::report::NodeReport;
use serde_json::Value;

const SAMPLE: &str = "online-shop.json";
/// The payment provider fails every call from here...
const OUTAGE_START_MS: f64 = 30_000.0;
/// ...to here.
const OUTAGE_END_MS: f64 = 45_000.0;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-graphs")
        .join(SAMPLE)
}

/// Runs `flowbench run online-shop.json args... --json` and returns its report, after
/// checking that the run succeeded and that every message is accounted for.
fn run(args: &[&str]) -> Report {
    let output = Command::cargo_bin("flowbench")
        .expect("the flowbench binary is built")
        .arg("run")
        .arg(sample())
        .args(args.iter().map(OsStr::new))
        .arg("--json")
        .timeout(Duration::from_secs(60))
        .output()
        .expect("flowbench runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
    let report: Report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not a report ({e}): {stderr}"));
    assert!(
        report.conservation.ok,
        "{args:?}: {:?}",
        report.conservation
    );
    report
}

/// The report of the run up to `ms` of simulated time.
fn run_until(ms: f64) -> Report {
    run(&["--duration", &format!("{ms}ms")])
}

fn node<'r>(report: &'r Report, id: &str) -> &'r NodeReport {
    report
        .nodes
        .get(id)
        .unwrap_or_else(|| panic!("no report for node '{id}'"))
}

/// Sagas that ended, whichever way.
fn sagas_ended(saga: &NodeReport) -> u64 {
    saga.completed.unwrap() + saga.compensated.unwrap() + saga.compensation_failed.unwrap()
}

/// The sample validates without a warning, its outage is the one these tests assume, and a
/// plain run ends by itself quickly with every message accounted for.
#[test]
fn validates_cleanly_and_runs_quickly_with_every_message_accounted_for() {
    let output = Command::cargo_bin("flowbench")
        .unwrap()
        .arg("validate")
        .arg(sample())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.trim_end().ends_with(": ok"), "{stdout}");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "", "no warnings");

    let graph: Value = serde_json::from_str(&std::fs::read_to_string(sample()).unwrap()).unwrap();
    let fault = &graph["faults"][0];
    assert_eq!(fault["node"], "payment-provider");
    assert_eq!(fault["kind"], "fail");
    assert_eq!(fault["at_ms"].as_f64(), Some(OUTAGE_START_MS));
    assert_eq!(fault["until_ms"].as_f64(), Some(OUTAGE_END_MS));
    assert_eq!(fault["rate"].as_f64(), Some(1.0));

    let report = run(&[]);
    let t = &report.totals;
    assert_eq!(t.created, 3500 + 1400, "every shopper and status request");
    assert_eq!(t.entered(), t.accounted());
    assert_eq!(t.in_flight, 0, "the run ends idle");
    assert_eq!((t.dropped, t.lost, t.rejected, t.filtered), (0, 0, 0, 0));
    // Only checkouts whose saga compensated fail back to the shopper.
    assert_eq!(t.failed, node(&report, "checkout").compensated.unwrap());
    assert!(
        (60_000.0..90_000.0).contains(&report.sim_time_ms),
        "ended at {} ms",
        report.sim_time_ms
    );
    assert!(
        report.wall_time_ms < 1000.0,
        "took {} ms",
        report.wall_time_ms
    );
}

/// The gateway routes each shopper request by its `page` field: about two in three to the
/// catalog, the rest to the checkout saga, none unrouted, and every browse is answered ok.
#[test]
fn gateway_routes_browsing_and_checkouts_by_page() {
    let report = run(&[]);
    let shoppers = node(&report, "shoppers");
    let gateway = node(&report, "api-gateway");
    let routes = gateway.routes.as_ref().expect("routes");
    let (browse, checkout) = (routes["browse"], routes["checkout"]);
    assert_eq!(routes["unrouted"], 0);
    assert_eq!(browse + checkout, shoppers.out);
    assert_eq!(node(&report, "catalog").in_, browse);
    assert_eq!(node(&report, "catalog").out, browse);
    assert_eq!(node(&report, "checkout").in_, checkout);
    let share = browse as f64 / shoppers.out as f64;
    assert!((0.62..0.71).contains(&share), "browse share {share}");
    assert_eq!(gateway.timeouts, Some(0));
    assert_eq!(shoppers.timeouts, Some(0));
    // Every request ends ok or failed; the failures are the compensated checkouts.
    assert_eq!(
        shoppers.ok.unwrap() + shoppers.failed.unwrap(),
        shoppers.out
    );
    assert_eq!(shoppers.failed, node(&report, "checkout").failed);
}

/// The breaker stays closed until the outage starts, opens within a second of it, only
/// probes while the provider is down (half-open exactly `open_ms` after each opening), and
/// closes once, shortly after the outage ends; the provider sees only what it let through.
#[test]
fn breaker_opens_at_the_outage_and_closes_after_it() {
    let report = run(&[]);
    let breaker = node(&report, "payment-breaker");
    let transitions = breaker.transitions.as_ref().expect("transitions");

    let first = transitions.first().expect("the breaker opened");
    assert_eq!((first.from, first.to), (Closed, Open));
    assert!(
        (OUTAGE_START_MS..OUTAGE_START_MS + 1000.0).contains(&first.at_ms),
        "opened at {} ms",
        first.at_ms
    );
    for pair in transitions.windows(2) {
        assert_eq!(pair[0].to, pair[1].from, "{transitions:?}");
        if pair[0].to == Open {
            assert_eq!(pair[1].to, HalfOpen);
            assert!((pair[1].at_ms - pair[0].at_ms - 3000.0).abs() < 1e-6);
        }
        // Probes during the outage fail and open it again.
        if pair[1].at_ms < OUTAGE_END_MS && pair[1].from == HalfOpen {
            assert_eq!(pair[1].to, Open, "{transitions:?}");
        }
    }
    assert!(transitions.iter().filter(|t| t.to == Open).count() >= 4);
    let closings: Vec<_> = transitions.iter().filter(|t| t.to == Closed).collect();
    assert_eq!(closings.len(), 1, "{transitions:?}");
    let closed = closings[0];
    assert_eq!(closed.from, HalfOpen);
    assert!(
        (OUTAGE_END_MS..OUTAGE_END_MS + 5000.0).contains(&closed.at_ms),
        "closed at {} ms",
        closed.at_ms
    );
    assert_eq!(breaker.state, Some(Closed));

    let provider = node(&report, "payment-provider");
    let rejected = breaker.rejected.unwrap();
    assert!(rejected > 200, "rejected {rejected}");
    assert_eq!(breaker.passed, Some(provider.in_));
    assert_eq!(breaker.passed.unwrap() + rejected, breaker.in_);
    assert_eq!(breaker.out, provider.out);

    // Just before the outage the breaker has never moved.
    let before = run_until(OUTAGE_START_MS - 1.0);
    let before = node(&before, "payment-breaker");
    assert_eq!(before.transitions.as_deref(), Some(&[][..]));
    assert_eq!(before.rejected, Some(0));
}

/// Every saga ends completed or compensated (none half done), at any moment up to those
/// still running; failed steps are undone in reverse (a failed payment cancels the order, a
/// failed shipment refunds and cancels); and during the outage nearly every checkout
/// compensates, while before it only a few do.
#[test]
fn sagas_compensate_during_the_outage() {
    let report = run(&[]);
    let saga = node(&report, "checkout");
    let started = saga.started.unwrap();
    let compensated = saga.compensated.unwrap();
    assert_eq!(started, saga.in_);
    assert_eq!(saga.compensation_failed, Some(0));
    assert_eq!(sagas_ended(saga), started);
    assert_eq!(saga.failed, Some(compensated));

    let steps = saga.steps.as_ref().expect("steps");
    let (order, payment, shipping) = (&steps[0], &steps[1], &steps[2]);
    assert_eq!((order.ok, order.failed), (started, 0));
    assert_eq!(payment.ok + payment.failed, order.ok);
    assert_eq!(shipping.ok + shipping.failed, payment.ok);
    assert_eq!(shipping.ok, saga.completed.unwrap());
    assert_eq!(payment.failed + shipping.failed, compensated);
    // Every failed saga cancels its order; only failed shipments refund a payment.
    assert_eq!(order.compensated, compensated);
    assert_eq!(payment.compensated, shipping.failed);
    assert_eq!(node(&report, "cancel-order").in_, compensated);
    assert_eq!(node(&report, "refund-payment").in_, shipping.failed);
    // A payment fails as the breaker answered it: failed by the provider, or rejected.
    let breaker = node(&report, "payment-breaker");
    assert_eq!(
        payment.failed,
        breaker.failed.unwrap() + breaker.rejected.unwrap()
    );
    assert_eq!(payment.ok, breaker.out);

    let at = |ms: f64| {
        let r = run_until(ms);
        let saga = node(&r, "checkout");
        let in_flight = saga.started.unwrap() - sagas_ended(saga);
        // A running saga is a shopper request not answered yet.
        assert!(
            in_flight <= node(&r, "shoppers").in_flight.unwrap(),
            "at {ms} ms: {saga:?}"
        );
        assert_eq!(saga.compensation_failed, Some(0), "at {ms} ms");
        (saga.started.unwrap(), saga.compensated.unwrap())
    };
    let (started_before, compensated_before) = at(OUTAGE_START_MS);
    let (started_during, compensated_during) = at(OUTAGE_END_MS);
    assert!(started_before > 300, "{started_before}");
    let share_before = compensated_before as f64 / started_before as f64;
    assert!(share_before < 0.1, "before the outage: {share_before}");
    let (started, compensated) = (
        started_during - started_before,
        compensated_during - compensated_before,
    );
    assert!(compensated > 200, "{compensated} compensated in the outage");
    let share_during = compensated as f64 / started as f64;
    assert!(share_during > 0.9, "during the outage: {share_during}");
}

/// Every order event reaches every subscriber of the topic (delivered + dropped == in,
/// nothing dropped): the email queue, analytics and the order log each get them all, and
/// the topic's events are exactly those the order and cancel services published.
#[test]
fn every_subscriber_gets_every_order_event() {
    let report = run(&[]);
    let topic = node(&report, "order-events");
    let published = node(&report, "create-order").out + node(&report, "cancel-order").out;
    assert_eq!(topic.in_, published);
    assert!(topic.in_ > 1000, "{topic:?}");
    let subscribers = topic.subscribers.as_ref().expect("subscribers");
    assert_eq!(subscribers.len(), 3);
    for (id, sub) in subscribers {
        assert_eq!(sub.delivered + sub.dropped, topic.in_, "{id}");
        assert_eq!(sub.dropped, 0, "{id}");
        assert_eq!(node(&report, id).in_, topic.in_, "{id}");
    }
    assert_eq!(topic.out, 3 * topic.in_);
    assert_eq!(topic.in_flight, Some(0));
    assert_eq!(node(&report, "dashboards").in_, topic.in_);
    assert_eq!(node(&report, "order-log").length, Some(topic.in_));
}

/// The email queue hands each email to exactly one of its two competing workers, both do
/// part of the work, every email is sent once; the queue is nearly empty before the outage,
/// backs up during it (each failed checkout also sends a cancellation) and drains after.
#[test]
fn email_queue_sends_each_email_once_and_backs_up_in_the_outage() {
    let report = run(&[]);
    let queue = node(&report, "email-queue");
    let topic_in = node(&report, "order-events").in_;
    assert_eq!(queue.in_, topic_in);
    assert_eq!(queue.out, queue.in_);
    let (one, two) = (
        node(&report, "email-worker-1"),
        node(&report, "email-worker-2"),
    );
    assert_eq!(one.in_ + two.in_, queue.out, "each email to one worker");
    for worker in [one, two] {
        assert!(worker.in_ > queue.out / 3, "{worker:?}");
        assert_eq!(worker.out, worker.in_);
        assert_eq!(worker.failed, Some(0));
    }
    assert_eq!(
        node(&report, "emails-sent").in_,
        queue.in_,
        "sent once each"
    );
    assert_eq!(
        (queue.dropped, queue.lost, queue.in_flight),
        (Some(0), Some(0), Some(0))
    );
    let depth = queue.depth.expect("depth");
    assert!(depth.max > 100.0, "{depth:?}");
    assert_eq!(depth.last, 0.0);

    let before = node(&run_until(OUTAGE_START_MS), "email-queue")
        .depth
        .unwrap();
    assert!(before.max < 20.0, "before the outage: {before:?}");
    let during = node(&run_until(OUTAGE_END_MS), "email-queue")
        .depth
        .unwrap();
    assert!(during.last > 80.0, "at the end of the outage: {during:?}");
    let after = node(&run_until(OUTAGE_END_MS + 20_000.0), "email-queue")
        .depth
        .unwrap();
    assert!(after.last < 20.0, "20 s after the outage: {after:?}");
}

/// The order-history projection reads the whole order log and ends caught up (lag 0, not
/// stale), trails it by at most an event or two at any moment, holds one entity per
/// customer, and answers every status query.
#[test]
fn projection_keeps_up_and_answers_every_query() {
    let report = run(&[]);
    let log = node(&report, "order-log");
    let length = log.length.unwrap();
    let projector = node(&report, "order-history");
    assert_eq!((projector.in_, projector.out), (length, length));
    assert_eq!(projector.lag, Some(0));
    assert_eq!(projector.staleness_ms, Some(0.0));
    assert_eq!(log.consumers.as_ref().unwrap()["order-history"].lag, 0);
    assert_eq!(projector.read_model.unwrap().entities, 200);
    let status = node(&report, "order-status");
    assert_eq!(status.ok, Some(1400));
    assert_eq!((status.failed, status.timeouts), (Some(0), Some(0)));
    assert_eq!(projector.queries, Some(1400));

    for ms in [10_000.0, 37_500.0, OUTAGE_END_MS, 52_345.0] {
        let r = run_until(ms);
        let projector = node(&r, "order-history");
        assert!(projector.lag.unwrap() <= 2, "at {ms} ms: {projector:?}");
        assert!(
            projector.staleness_ms.unwrap() < 100.0,
            "at {ms} ms: {projector:?}"
        );
    }
}
