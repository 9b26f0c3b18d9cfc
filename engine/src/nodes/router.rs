//! `router`: a content-based router and filter. Each message goes out the port of the first
//! rule its payload matches; an unmatched message takes `default_port`, or with none is
//! filtered (counted `filtered`). The router keeps no buffer: it holds at most the one
//! message a full next node refused, and takes nothing more until that one is sent (a crash
//! loses it).
//!
//! How a rule `{field, op, value}` reads the payload field at the dotted path `field`:
//! - `==` / `!=`: numbers compare by value (`2 == 2.0`), everything else as JSON values, so
//!   a number never equals a string. `!=` is exactly "not `==`".
//! - `<` `<=` `>` `>=`: numbers numerically, strings lexically (byte order); any other pair
//!   of types (a number against a string, booleans, null) does not match.
//! - `in`: `value` is an array holding an element `==` to the field's value.
//! - `exists`: the field is present and not null.
//! - A missing field (or a message without payload) matches no rule except `!=`: a value
//!   that is not there is not equal to anything.

use std::cmp::Ordering;

use indexmap::IndexMap;
use serde_json::Value;

use crate::model::{RouteRule, RouterConfig, RuleOp};
use crate::payload::lookup;
use crate::report::NodeReport;
use crate::sim::core::{Ctx, Fate, FaultState, Message, NodeId, Time};

use super::Behavior;

/// An output port: the edges leaving it and how many messages took it.
struct Port {
    name: String,
    targets: Vec<NodeId>,
    routed: u64,
}

pub struct Router {
    rules: Vec<(RouteRule, usize)>,
    /// Index into `ports` of the default port; `None` = filter.
    default: Option<usize>,
    /// The ports named by the rules and the default, in config order.
    ports: Vec<Port>,
    /// Copies of the last message that the next nodes refused.
    pending: Vec<(NodeId, Message)>,
    in_: u64,
    out: u64,
    filtered: u64,
    failed: u64,
    lost: u64,
}

impl Router {
    /// `edges`: the targets of every port that has edges.
    pub fn new(config: &RouterConfig, edges: Vec<(String, Vec<NodeId>)>) -> Router {
        let mut ports: Vec<Port> = Vec::new();
        let mut port_of = |name: &str| match ports.iter().position(|p| p.name == name) {
            Some(i) => i,
            None => {
                let targets = edges
                    .iter()
                    .find(|(p, _)| p == name)
                    .map(|(_, t)| t.clone())
                    .unwrap_or_default();
                ports.push(Port {
                    name: name.to_owned(),
                    targets,
                    routed: 0,
                });
                ports.len() - 1
            }
        };
        let rules = config
            .rules
            .iter()
            .map(|r| (r.clone(), port_of(&r.port)))
            .collect();
        let default = config.default_port.as_deref().map(&mut port_of);
        Router {
            rules,
            default,
            ports,
            pending: Vec::new(),
            in_: 0,
            out: 0,
            filtered: 0,
            failed: 0,
            lost: 0,
        }
    }

    /// The port `msg` leaves by: the first matching rule's, else the default.
    fn port_for(&self, msg: &Message) -> Option<usize> {
        let payload = msg.payload.as_deref();
        self.rules
            .iter()
            .find(|(rule, _)| {
                let field = payload.and_then(|p| lookup(p, &rule.field));
                matches(rule.op, field, rule.value.as_ref())
            })
            .map(|&(_, port)| port)
            .or(self.default)
    }

    /// One message at a time, and none while a refused one waits or the router is halted.
    fn publish(&self, ctx: &mut Ctx) {
        let free = u64::from(self.pending.is_empty() && !ctx.faults().halted());
        ctx.set_free(free);
    }
}

/// Whether a payload field (`None` = missing) satisfies `op value`.
fn matches(op: RuleOp, field: Option<&Value>, value: Option<&Value>) -> bool {
    let ordered = |want: fn(Ordering) -> bool| {
        field
            .zip(value)
            .and_then(|(f, v)| compare(f, v))
            .is_some_and(want)
    };
    match op {
        RuleOp::Eq => field.zip(value).is_some_and(|(f, v)| equal(f, v)),
        RuleOp::Ne => !field.zip(value).is_some_and(|(f, v)| equal(f, v)),
        RuleOp::Lt => ordered(Ordering::is_lt),
        RuleOp::Le => ordered(Ordering::is_le),
        RuleOp::Gt => ordered(Ordering::is_gt),
        RuleOp::Ge => ordered(Ordering::is_ge),
        RuleOp::In => match (field, value) {
            (Some(f), Some(Value::Array(items))) => items.iter().any(|v| equal(f, v)),
            _ => false,
        },
        RuleOp::Exists => field.is_some_and(|f| !f.is_null()),
    }
}

/// JSON equality, except that numbers compare by value.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => compare(a, b) == Some(Ordering::Equal),
        _ => a == b,
    }
}

/// Order of two numbers or two strings; `None` for anything else.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            // Integers exactly (they may exceed f64's 53 bits), everything else as f64.
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                Some(x.cmp(&y))
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                Some(x.cmp(&y))
            } else {
                x.as_f64()?.partial_cmp(&y.as_f64()?)
            }
        }
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

impl Behavior for Router {
    fn start(&mut self, ctx: &mut Ctx) {
        self.publish(ctx);
    }

    fn on_arrive(&mut self, ctx: &mut Ctx, _from: NodeId, msg: Message, _token: u32) {
        self.in_ += 1;
        let faults = ctx.faults();
        if faults.crashed {
            self.lost += 1;
            ctx.fate(Fate::Lost, 1);
        } else if ctx.chance(faults.fail_rate) {
            self.failed += 1;
            ctx.fate(Fate::Failed, 1);
        } else if let Some(p) = self.port_for(&msg) {
            self.out += 1;
            let port = &mut self.ports[p];
            port.routed += 1;
            ctx.send_copies(&port.targets, msg, false, &mut self.pending);
        } else {
            self.filtered += 1;
            ctx.fate(Fate::Filtered, 1);
        }
        self.publish(ctx);
    }

    fn on_wake(&mut self, ctx: &mut Ctx) {
        if !self.pending.is_empty() && ctx.retry_pending(&mut self.pending) {
            self.publish(ctx);
        }
    }

    fn on_faults(&mut self, ctx: &mut Ctx, before: FaultState) {
        if ctx.faults().crashed && !before.crashed {
            // Copies waiting for room were in the router's hands: a crash loses them.
            let n = self.pending.len() as u64;
            self.pending.clear();
            self.lost += n;
            ctx.fate(Fate::Lost, n);
        }
        self.publish(ctx);
    }

    fn held(&self) -> u64 {
        self.pending.len() as u64
    }

    fn report(&self, _now: Time) -> NodeReport {
        let routes: IndexMap<String, u64> = self
            .ports
            .iter()
            .map(|p| (p.name.clone(), p.routed))
            .collect();
        NodeReport {
            kind: "router".into(),
            in_: self.in_,
            out: self.out,
            failed: Some(self.failed),
            lost: Some(self.lost),
            in_flight: Some(self.held()),
            routes: Some(routes),
            filtered: Some(self.filtered),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Graph;
    use crate::report::Report;
    use crate::sim::{RunOptions, run};

    fn op(name: &str) -> RuleOp {
        serde_json::from_value(json!(name)).unwrap()
    }

    /// `field op value` on a payload, the field given by path.
    fn check(payload: Value, field: &str, op_name: &str, value: Value) -> bool {
        let value = (!value.is_null()).then_some(value);
        matches(op(op_name), lookup(&payload, field), value.as_ref())
    }

    /// Numbers compare numerically, integers against fractions too.
    #[test]
    fn numbers_compare_by_value() {
        let p = json!({"amount": 300});
        assert!(check(p.clone(), "amount", "==", json!(300.0)));
        assert!(check(p.clone(), "amount", ">", json!(299.5)));
        assert!(check(p.clone(), "amount", ">=", json!(300)));
        assert!(!check(p.clone(), "amount", ">", json!(300)));
        assert!(check(p.clone(), "amount", "<", json!(1000)));
        assert!(check(p.clone(), "amount", "<=", json!(300)));
        assert!(check(p.clone(), "amount", "!=", json!(301)));
        assert!(check(json!({"n": -5}), "n", "<", json!(u64::MAX)));
    }

    /// Strings compare lexically; a string and a number neither equal nor order each other.
    #[test]
    fn strings_compare_lexically_and_types_do_not_mix() {
        let p = json!({"country": "DE", "code": "5"});
        assert!(check(p.clone(), "country", "==", json!("DE")));
        assert!(check(p.clone(), "country", "<", json!("FR")));
        assert!(check(p.clone(), "country", ">=", json!("DE")));
        assert!(!check(p.clone(), "code", "==", json!(5)));
        assert!(check(p.clone(), "code", "!=", json!(5)));
        assert!(!check(p.clone(), "code", "<", json!(9)));
        assert!(!check(p.clone(), "code", ">=", json!(1)));
        assert!(check(json!({"ok": true}), "ok", "==", json!(true)));
        assert!(!check(json!({"ok": true}), "ok", ">", json!(false)));
    }

    /// `in` looks for the field's value in the rule's array, numbers by value.
    #[test]
    fn in_looks_in_the_array() {
        let p = json!({"country": "FR", "tier": 2});
        assert!(check(p.clone(), "country", "in", json!(["DE", "FR"])));
        assert!(!check(p.clone(), "country", "in", json!(["US"])));
        assert!(check(p.clone(), "tier", "in", json!([1.0, 2.0])));
        assert!(!check(p.clone(), "tier", "in", json!(["2"])));
    }

    /// `exists` wants the field present and not null.
    #[test]
    fn exists_wants_a_non_null_field() {
        let p = json!({"a": {"b": 0}, "n": null});
        assert!(check(p.clone(), "a.b", "exists", Value::Null));
        assert!(!check(p.clone(), "n", "exists", Value::Null));
        assert!(!check(p.clone(), "a.c", "exists", Value::Null));
    }

    /// A missing field matches only `!=`; a null field equals null.
    #[test]
    fn missing_field_matches_only_not_equal() {
        let p = json!({"other": 1});
        for name in ["==", "<", "<=", ">", ">=", "exists"] {
            assert!(!check(p.clone(), "amount", name, json!(1)), "{name}");
        }
        assert!(!check(p.clone(), "amount", "in", json!([1, null])));
        assert!(check(p.clone(), "amount", "!=", json!(1)));
        assert!(matches(op("!="), None, Some(&json!(null))));
        assert!(!matches(op("=="), None, Some(&json!(null))));
        let null = json!(null);
        assert!(matches(op("=="), Some(&null), Some(&null)));
        assert!(!check(json!({"n": null}), "n", "<", json!(1)));
    }

    fn run_graph(text: &str) -> Report {
        let graph = Graph::from_json_str(text).unwrap();
        let report = run(&graph, &RunOptions::default()).unwrap();
        assert!(report.conservation.ok, "{:?}", report.conservation);
        report
    }

    /// A producer of fixed, cycling payloads through a router with `rules` and `default`.
    fn routed(payloads: &str, limit: u64, rules: &str, default: &str, sinks: &[&str]) -> Report {
        let sink_nodes: String = sinks
            .iter()
            .map(|s| format!(r#",{{"id": "{s}", "kind": "sink"}}"#))
            .collect();
        let sink_edges: String = sinks
            .iter()
            .map(|s| format!(r#",{{"from": "r", "to": "{s}", "port": "{s}"}}"#))
            .collect();
        run_graph(&format!(
            r#"{{"format": "flowbench.graph", "version": 1, "seed": 1,
              "nodes": [
                {{"id": "p", "kind": "producer", "config": {{"rate_per_sec": 1000,
                  "arrival": "constant", "limit": {limit},
                  "payload": {{"$choice": {payloads}}}}}}},
                {{"id": "r", "kind": "router", "config": {{"rules": {rules},
                  "default_port": {default}}}}}
                {sink_nodes}],
              "edges": [{{"from": "p", "to": "r"}} {sink_edges}]}}"#
        ))
    }

    /// The first matching rule wins, even when a later one matches too; the port counts
    /// equal what each sink received.
    #[test]
    fn first_matching_rule_wins() {
        let r = routed(
            r#"[{"amount": 500, "country": "DE"}, {"amount": 50, "country": "DE"},
                {"amount": 50, "country": "US"}]"#,
            3000,
            r#"[{"field": "amount", "op": ">", "value": 300, "port": "big"},
                {"field": "country", "op": "in", "value": ["DE", "FR"], "port": "eu"}]"#,
            r#""rest""#,
            &["big", "eu", "rest"],
        );
        let router = &r.nodes["r"];
        let routes = router.routes.as_ref().unwrap();
        assert_eq!(routes.keys().collect::<Vec<_>>(), ["big", "eu", "rest"]);
        for port in ["big", "eu", "rest"] {
            assert_eq!(routes[port], r.nodes[port].in_, "{port}");
            assert!(routes[port] > 800, "{port}: {}", routes[port]);
        }
        assert_eq!(router.in_, 3000);
        assert_eq!(router.out, 3000);
        assert_eq!(router.filtered, Some(0));
        assert_eq!(r.totals.delivered, 3000);
    }

    /// With `default_port` null, unmatched messages are filtered and counted so; messages
    /// without the field are unmatched.
    #[test]
    fn filters_when_no_default() {
        let r = routed(
            r#"[{"kind": "order"}, {"kind": "ping"}, {"other": 1}]"#,
            900,
            r#"[{"field": "kind", "op": "==", "value": "order", "port": "orders"}]"#,
            "null",
            &["orders"],
        );
        let router = &r.nodes["r"];
        let orders = router.routes.as_ref().unwrap()["orders"];
        assert_eq!(orders, r.nodes["orders"].in_);
        assert_eq!(router.filtered, Some(900 - orders));
        assert_eq!(r.totals.filtered, 900 - orders);
        assert!(orders > 200 && orders < 400, "{orders}");
        assert_eq!(router.routes.as_ref().unwrap().len(), 1);
    }

    /// A port without an edge ends its messages there, delivered.
    #[test]
    fn port_without_edge_delivers() {
        let r = routed(
            r#"[{"x": 1}]"#,
            50,
            r#"[{"field": "x", "op": "exists", "port": "nowhere"}]"#,
            "null",
            &[],
        );
        assert_eq!(r.nodes["r"].routes.as_ref().unwrap()["nowhere"], 50);
        assert_eq!(r.totals.delivered, 50);
    }

    /// The router holds nothing of its own: a slow consumer behind it blocks the producer,
    /// while no message is lost and at most one waits in the router.
    #[test]
    fn passes_back_pressure_through() {
        let r = run_graph(
            r#"{"format": "flowbench.graph", "version": 1, "seed": 1,
              "nodes": [
                {"id": "p", "kind": "producer", "config": {"rate_per_sec": 100,
                  "arrival": "constant", "limit": 200}},
                {"id": "r", "kind": "router"},
                {"id": "w", "kind": "service", "config": {"service_time":
                  {"dist": "const", "ms": 50}}},
                {"id": "s", "kind": "sink"}],
              "edges": [{"from": "p", "to": "r"}, {"from": "r", "to": "w"},
                        {"from": "w", "to": "s"}]}"#,
        );
        assert_eq!(r.totals.delivered, 200);
        assert!(
            r.nodes["p"].blocked_ms.unwrap() > 5000.0,
            "{:?}",
            r.nodes["p"]
        );
        assert_eq!(r.nodes["r"].routes.as_ref().unwrap()["out"], 200);
        // 200 messages at 50 ms each, back to back.
        assert!((r.sim_time_ms - 10_010.0).abs() < 20.0, "{}", r.sim_time_ms);
    }

    /// A crash loses the message waiting in the router for room; while down it takes
    /// nothing, and afterwards it routes again.
    #[test]
    fn crash_loses_the_waiting_message() {
        let r = run_graph(
            r#"{"format": "flowbench.graph", "version": 1, "seed": 1,
              "nodes": [
                {"id": "p", "kind": "producer", "config": {"rate_per_sec": 100,
                  "arrival": "constant", "limit": 200}},
                {"id": "r", "kind": "router"},
                {"id": "w", "kind": "service", "config": {"service_time":
                  {"dist": "const", "ms": 50}}},
                {"id": "s", "kind": "sink"}],
              "edges": [{"from": "p", "to": "r"}, {"from": "r", "to": "w"},
                        {"from": "w", "to": "s"}],
              "faults": [{"node": "r", "kind": "crash", "at_ms": 1005, "until_ms": 2005}]}"#,
        );
        let router = &r.nodes["r"];
        assert_eq!(router.lost, Some(1));
        assert_eq!(r.totals.lost, 1);
        assert_eq!(r.totals.delivered, 199);
        assert_eq!(router.in_, 200);
    }
}
