//! The content-based router, event sourcing with replay and CQRS samples, run through the
//! `flowbench` binary: each report shows the behaviour that defines its pattern, and every
//! message is accounted for.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use flowbench_engine::Report;
use flowbench_engine::report::NodeReport;
use serde_json::{Value, json};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-graphs")
        .join(name)
}

/// Runs `flowbench run FILE args... --json` and returns its report, after checking that the
/// run succeeded and that every message is accounted for.
fn run_report(file: &Path, args: &[&str]) -> Report {
    let output = Command::cargo_bin("flowbench")
        .expect("the flowbench binary is built")
        .arg("run")
        .arg(file)
        .args(args.iter().map(OsStr::new))
        .arg("--json")
        .timeout(Duration::from_secs(120))
        .output()
        .expect("flowbench runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}: {stderr}",
        file.display()
    );
    let report: Report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not a report ({e}): {stderr}"));
    assert!(
        report.conservation.ok,
        "{}: {:?}",
        file.display(),
        report.conservation
    );
    report
}

/// A sample graph as JSON, to run a variant of it.
fn sample_json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(sample(name)).unwrap()).unwrap()
}

/// Runs a graph given as JSON (written to a temporary file).
fn run_json(graph: &Value, args: &[&str]) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("variant.json");
    std::fs::write(&file, serde_json::to_string_pretty(graph).unwrap()).unwrap();
    run_report(&file, args)
}

fn node<'r>(report: &'r Report, id: &str) -> &'r NodeReport {
    report
        .nodes
        .get(id)
        .unwrap_or_else(|| panic!("no report for node '{id}'"))
}

fn share(part: u64, whole: u64) -> f64 {
    part as f64 / whole as f64
}

// ---------------------------------------------------------------------------------------
// Content-based router with dead-letter queue

/// Orders split by the payload mix: amount over 300 (2 in 5) to review, DE/FR among the
/// rest (2 in 3) to EU billing, the remaining US orders filtered; the port counts are what
/// the next nodes received, and EU billing's failures fill the dead-letter queue.
#[test]
fn router_splits_orders_by_rule() {
    let r = run_report(&sample("content-based-router.json"), &[]);
    let route = node(&r, "route");
    let routes = route.routes.as_ref().expect("router reports routes");
    let (review, eu) = (routes["review"], routes["eu"]);
    let filtered = route.filtered.expect("router reports filtered");
    assert_eq!(route.in_, 3000);
    assert_eq!(review + eu + filtered, route.in_);
    assert_eq!(route.out, review + eu);
    assert!(filtered > 0);
    assert_eq!(r.totals.filtered, filtered);
    for (got, want) in [(review, 0.4), (eu, 0.4), (filtered, 0.2)] {
        let s = share(got, route.in_);
        assert!(
            (s - want).abs() < 0.04,
            "share {s} where {want} was expected"
        );
    }
    assert_eq!(node(&r, "review-queue").in_, review);
    assert_eq!(node(&r, "eu-queue").in_, eu);

    let billing = node(&r, "eu-billing");
    let dead = node(&r, "dead-letter");
    assert!(billing.failed.unwrap() > 50, "{billing:?}");
    assert_eq!(dead.in_, billing.failed.unwrap());
    assert_eq!(node(&r, "billed").in_ + dead.in_, eu);
    // The inspector drains more slowly than failures arrive: the dead letters pile up.
    assert!(dead.depth.unwrap().max >= 10.0, "{dead:?}");
    assert_eq!(node(&r, "inspected").in_, dead.in_);
}

/// Every message lands on the port its rule says: a checking router behind each port,
/// which filters whatever does not satisfy that port's condition, filters nothing.
#[test]
fn every_routed_message_satisfies_its_rule() {
    let mut graph = sample_json("content-based-router.json");
    // Unmatched orders go to a port of their own instead of being filtered.
    graph["nodes"][1]["config"]["default_port"] = json!("rest");
    let checks = [
        (
            "review",
            "review-queue",
            json!([{"field": "amount", "op": ">", "value": 300}]),
        ),
        (
            "eu",
            "eu-queue",
            json!([{"field": "amount", "op": "<=", "value": 300},
                                  {"field": "country", "op": "in", "value": ["DE", "FR"]}]),
        ),
        (
            "rest",
            "rest-sink",
            json!([{"field": "amount", "op": "<=", "value": 300},
                                     {"field": "country", "op": "==", "value": "US"}]),
        ),
    ];
    let nodes = graph["nodes"].as_array_mut().unwrap();
    nodes.push(json!({"id": "rest-sink", "kind": "sink", "pos": [480, 440]}));
    let mut edges: Vec<Value> = graph["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["from"] != "route")
        .cloned()
        .collect();
    for (port, next, conditions) in &checks {
        // One checking router per condition, in a chain: each passes only what holds.
        let mut from = ("route".to_owned(), port.to_string());
        for (i, condition) in conditions.as_array().unwrap().iter().enumerate() {
            let id = format!("check-{port}-{i}");
            let mut rule = condition.clone();
            rule["port"] = json!("ok");
            graph["nodes"].as_array_mut().unwrap().push(json!({
                "id": id, "kind": "router", "pos": [380, 500],
                "config": {"rules": [rule], "default_port": null}
            }));
            edges.push(json!({"from": from.0, "to": id, "port": from.1}));
            from = (id, "ok".to_owned());
        }
        edges.push(json!({"from": from.0, "to": next, "port": from.1}));
    }
    graph["edges"] = Value::Array(edges);

    let r = run_json(&graph, &[]);
    let routes = node(&r, "route").routes.clone().unwrap();
    assert_eq!(routes.values().sum::<u64>(), 3000);
    assert_eq!(node(&r, "route").filtered, Some(0));
    for (port, next, conditions) in &checks {
        for i in 0..conditions.as_array().unwrap().len() {
            let check = node(&r, &format!("check-{port}-{i}"));
            assert_eq!(check.in_, routes[*port], "check-{port}-{i}");
            assert_eq!(check.filtered, Some(0), "check-{port}-{i}");
        }
        assert_eq!(node(&r, next).in_, routes[*port], "{next}");
    }
    assert_eq!(r.totals.filtered, 0);
}

// ---------------------------------------------------------------------------------------
// Event sourcing with replay

const REPLAY_AT_MS: f64 = 20_000.0;

/// The replay at 20 s re-delivers the whole log to the projector only: the projector reads
/// every event once before the replay and every event again after it, the mailer reads each
/// once, and the projection ends identical to a run without the replay.
#[test]
fn replay_redelivers_the_log_and_the_projection_ends_identical() {
    let file = sample("event-sourcing-replay.json");
    let graph = sample_json("event-sourcing-replay.json");
    assert_eq!(graph["faults"][0]["at_ms"].as_f64(), Some(REPLAY_AT_MS));

    let before = run_report(&file, &["--duration", "19999ms"]);
    let log_before = node(&before, "order-log");
    let read_before = log_before.consumers.as_ref().unwrap()["order-view"].offset;
    let length_before = log_before.length.unwrap();
    assert!(length_before > 900, "{log_before:?}");
    assert!(length_before - read_before <= 1, "{log_before:?}");

    // Just after the replay the projector is a whole log behind.
    let after = run_report(&file, &["--duration", "20001ms"]);
    let view = node(&after, "order-view");
    assert!(view.lag.unwrap() + 2 >= length_before, "{view:?}");
    assert!(
        view.staleness_ms.unwrap() > REPLAY_AT_MS - 1000.0,
        "{view:?}"
    );

    let end = run_report(&file, &[]);
    let log = node(&end, "order-log");
    let length = log.length.unwrap();
    assert_eq!(length, 1500);
    let view = node(&end, "order-view");
    assert_eq!(view.in_, length + read_before);
    assert_eq!(view.out, view.in_);
    assert_eq!((view.lag, view.staleness_ms), (Some(0), Some(0.0)));
    assert_eq!(node(&end, "mailer").in_, length);
    assert_eq!(node(&end, "mailed").in_, length);
    let consumers = log.consumers.as_ref().unwrap();
    for id in ["order-view", "mailer"] {
        assert_eq!(
            (consumers[id].offset, consumers[id].lag),
            (length, 0),
            "{id}"
        );
    }
    assert_eq!(log.out, 2 * length + read_before);

    let mut without = graph.clone();
    without["faults"] = json!([]);
    let plain = run_json(&without, &[]);
    let plain_view = node(&plain, "order-view");
    assert_eq!(plain_view.in_, length);
    let model = view.read_model.unwrap();
    assert_eq!(model.entities, 100);
    assert_eq!(plain_view.read_model, Some(model));
}

// ---------------------------------------------------------------------------------------
// CQRS

/// Every command and every query is answered ok; queries take the projector's service time
/// and never wait for the write side; the read model trails the log by an event or two at
/// any moment and is caught up at the end.
#[test]
fn cqrs_answers_queries_while_the_projection_keeps_up() {
    let file = sample("cqrs.json");
    let end = run_report(&file, &[]);
    let commands = node(&end, "commands");
    assert_eq!((commands.ok, commands.failed), (Some(1200), Some(0)));
    let queries = node(&end, "queries");
    assert_eq!(queries.ok, Some(3000));
    assert_eq!((queries.failed, queries.timeouts), (Some(0), Some(0)));
    assert_eq!(queries.latency_ms.unwrap().max, 1.0);
    let view = node(&end, "read-model");
    assert_eq!(view.queries, Some(3000));
    assert_eq!(view.in_, 1200);
    assert_eq!(view.out, 1200);
    assert_eq!((view.lag, view.staleness_ms), (Some(0), Some(0.0)));
    assert_eq!(view.read_model.unwrap().entities, 50);
    assert_eq!(node(&end, "events").length, Some(1200));

    for seconds in ["3.3s", "7.77s", "12.5s", "17.01s", "21.9s", "26.123s"] {
        let mid = run_report(&file, &["--duration", seconds]);
        let view = node(&mid, "read-model");
        assert!(view.lag.unwrap() <= 2, "at {seconds}: {view:?}");
        assert!(view.staleness_ms.unwrap() < 50.0, "at {seconds}: {view:?}");
    }
}
