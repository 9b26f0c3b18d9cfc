//! The call-path pattern samples end to end through the `flowbench` binary: each report
//! shows what defines its pattern (a breaker opening, probing and closing around an outage;
//! a gateway routing by region and aggregating in parallel; request-reply timeouts), and
//! every message is accounted for.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use flowbench_engine::Report;
use flowbench_engine::report::BreakerState::{Closed, HalfOpen, Open};
use flowbench_engine::report::NodeReport;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-graphs")
        .join(name)
}

/// Runs `flowbench run SAMPLE --json` and returns its report, after checking the run
/// succeeded and conserved every message.
fn run_sample(name: &str) -> Report {
    let file = sample(name);
    let output = Command::cargo_bin("flowbench")
        .expect("the flowbench binary is built")
        .arg("run")
        .arg(&file)
        .arg("--json")
        .timeout(Duration::from_secs(60))
        .output()
        .expect("flowbench runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{name}: {stderr}");
    let report: Report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{name}: stdout is not a report ({e})"));
    assert!(report.conservation.ok, "{name}: {:?}", report.conservation);
    report
}

fn node<'a>(report: &'a Report, id: &str) -> &'a NodeReport {
    report
        .nodes
        .get(id)
        .unwrap_or_else(|| panic!("no report for node '{id}'"))
}

/// The breaker opens within a few calls of the outage starting at 20 s, rejects calls
/// while open, turns half-open exactly `open_ms` after each opening, closes after the
/// outage ends at 40 s, and the service sees only the calls it let through.
#[test]
fn circuit_breaker_opens_probes_and_closes() {
    let report = run_sample("circuit-breaker.json");
    let breaker = node(&report, "payment-breaker");
    let service = node(&report, "payment");
    let client = node(&report, "checkout");
    let transitions = breaker.transitions.as_ref().expect("transitions");

    // 5 failures in a row at 20 calls a second: well within a second of the outage.
    let first = transitions.first().expect("the breaker opened");
    assert_eq!((first.from, first.to), (Closed, Open));
    assert!(
        (20_000.0..21_000.0).contains(&first.at_ms),
        "opened at {} ms",
        first.at_ms
    );
    for pair in transitions.windows(2) {
        assert_eq!(
            pair[0].to, pair[1].from,
            "transitions chain: {transitions:?}"
        );
        if pair[0].to == Open {
            assert_eq!(pair[1].to, HalfOpen);
            assert!(
                (pair[1].at_ms - pair[0].at_ms - 5000.0).abs() < 1e-6,
                "half-open {} ms after opening",
                pair[1].at_ms - pair[0].at_ms
            );
        }
    }
    // Probes during the outage fail; the breaker closes only once it is over.
    let closed = transitions
        .iter()
        .find(|t| (t.from, t.to) == (HalfOpen, Closed))
        .expect("the breaker closed again");
    assert!(closed.at_ms > 40_000.0, "closed at {} ms", closed.at_ms);
    assert!(
        transitions.iter().filter(|t| t.to == Open).count() >= 4,
        "reopened on failed probes: {transitions:?}"
    );
    assert_eq!(breaker.state, Some(Closed));

    let rejected = breaker.rejected.unwrap();
    assert!(rejected > 200, "rejected {rejected}");
    assert_eq!(client.rejected, Some(rejected));
    // The service got exactly what the breaker let through: nothing while open but probes.
    assert_eq!(Some(service.in_), breaker.passed);
    assert_eq!(breaker.in_, report.totals.created);
    assert_eq!(breaker.passed.unwrap() + rejected, breaker.in_);
}

/// Aggregation answers after the slowest route (50 ms), not after the three one after
/// another (90 ms); every route gets every call.
#[test]
fn aggregation_latency_follows_the_slowest_route() {
    let report = run_sample("api-gateway-aggregation.json");
    let client = node(&report, "app");
    let latency = client.latency_ms.expect("latency");
    assert!(
        (50.0..55.0).contains(&latency.mean),
        "mean latency {} ms",
        latency.mean
    );
    assert_eq!(client.ok, Some(report.totals.created));
    let gateway = node(&report, "product-page");
    assert_eq!(gateway.timeouts, Some(0));
    for id in ["catalog", "pricing", "reviews"] {
        assert_eq!(node(&report, id).in_, report.totals.created, "{id}");
        assert_eq!(gateway.routes.as_ref().unwrap()[id], report.totals.created);
    }
}

/// Routing by region: each region's service gets about a third of the calls, exactly as
/// many as the gateway routed to it, and none is unrouted.
#[test]
fn routing_sends_each_region_its_share() {
    let report = run_sample("api-gateway-routing.json");
    let created = report.totals.created as f64;
    let gateway = node(&report, "edge-gateway");
    let routes = gateway.routes.as_ref().expect("routes");
    for (region, service) in [
        ("eu", "orders-eu"),
        ("us", "orders-us"),
        ("apac", "orders-apac"),
    ] {
        let calls = node(&report, service).in_;
        assert_eq!(routes[region], calls, "{region}");
        let share = calls as f64 / created;
        assert!((0.28..0.39).contains(&share), "{region}: {share}");
    }
    assert_eq!(routes["unrouted"], 0);
    assert_eq!(node(&report, "app").ok, Some(report.totals.created));
}

/// Request-reply: the service's long tail makes some requests time out at the client, and
/// every request ends as ok, failed or timed out.
#[test]
fn request_reply_times_out_the_tail() {
    let report = run_sample("request-reply.json");
    let client = node(&report, "caller");
    let (ok, failed, timeouts) = (
        client.ok.unwrap(),
        client.failed.unwrap(),
        client.timeouts.unwrap(),
    );
    assert!(timeouts > 0, "no request timed out");
    assert!(timeouts < report.totals.created / 4, "{timeouts} timeouts");
    assert_eq!(ok + failed + timeouts, report.totals.created);
    assert!(client.latency_ms.unwrap().max <= 200.0);
}
