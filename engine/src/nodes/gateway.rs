//! `gateway`: an API gateway in front of several services. In `route` mode each call goes
//! to one route (the one whose port names the value of a payload field, or round robin);
//! in `aggregate` mode each call goes to every route in parallel and is answered once all
//! have answered, so it takes as long as the slowest. A token bucket can limit the rate of
//! calls it takes, and calls not answered within `timeout_ms` are answered failed.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde_json::Value;

use crate::model::{GatewayConfig, GatewayMode};
use crate::payload::lookup;
use crate::report::NodeReport;
use crate::sim::core::{Ctx, Fate, FaultState, Message, NodeId, Outcome, Time, ms_to_ns};

use super::Behavior;

/// The `routes` entry counting calls whose field named no route.
const UNROUTED: &str = "unrouted";

/// One route of a gateway: the edge's port, its target node and that node's id.
pub struct Route {
    pub port: String,
    pub target: NodeId,
    pub target_id: String,
}

impl Route {
    /// Its name in the report: the port when it names one, else the target.
    fn name(&self) -> &str {
        if self.port == "out" {
            &self.target_id
        } else {
            &self.port
        }
    }
}

/// Calls the gateway may take, refilled continuously at `rate_per_sec` up to `burst`.
struct TokenBucket {
    rate_per_ns: f64,
    burst: f64,
    tokens: f64,
    refilled_at: Time,
}

impl TokenBucket {
    /// A full bucket; a rate of 0 never has a token.
    fn new(rate_per_sec: f64) -> TokenBucket {
        let burst = if rate_per_sec > 0.0 {
            rate_per_sec.max(1.0)
        } else {
            0.0
        };
        TokenBucket {
            rate_per_ns: rate_per_sec.max(0.0) / 1e9,
            burst,
            tokens: burst,
            refilled_at: 0,
        }
    }

    fn take(&mut self, now: Time) -> bool {
        let elapsed = now.saturating_sub(self.refilled_at) as f64;
        self.tokens = (self.tokens + elapsed * self.rate_per_ns).min(self.burst);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A call the gateway took and has not answered yet.
struct Request {
    caller: NodeId,
    call_id: u64,
    /// Routes called and not yet answered.
    waiting: usize,
    oks: usize,
    /// The worst outcome so far (route mode relays it as is).
    worst: Outcome,
}

pub struct Gateway {
    mode: GatewayMode,
    route_by: Option<String>,
    timeout: Time,
    partial: bool,
    bucket: Option<TokenBucket>,
    routes: Vec<Route>,
    /// Round robin: the route the next call goes to.
    next_route: usize,
    /// Requests by id; the call to route `r` for request `q` has id `q * routes + r`.
    requests: BTreeMap<u64, Request>,
    next_request: u64,
    /// Calls per route name (and unrouted ones), in route order.
    route_calls: IndexMap<String, u64>,
    /// Calls received.
    in_: u64,
    /// Calls answered ok: the report's `out`.
    ok: u64,
    /// Calls answered failed: routes' failures, timeouts, unrouted calls, a crashed gateway.
    failed: u64,
    /// Calls refused by the rate limit.
    rejected: u64,
    timeouts: u64,
    lost: u64,
}

impl Gateway {
    pub fn new(config: &GatewayConfig, routes: Vec<Route>) -> Gateway {
        let mut route_calls: IndexMap<String, u64> =
            routes.iter().map(|r| (r.name().to_owned(), 0)).collect();
        let route_by = match config.mode {
            GatewayMode::Route => config.route_by.clone(),
            GatewayMode::Aggregate => None,
        };
        if route_by.is_some() {
            route_calls.insert(UNROUTED.to_owned(), 0);
        }
        Gateway {
            mode: config.mode,
            route_by,
            timeout: ms_to_ns(config.timeout_ms),
            partial: config.partial,
            bucket: config.rate_limit_per_sec.map(TokenBucket::new),
            routes,
            next_route: 0,
            requests: BTreeMap::new(),
            next_request: 0,
            route_calls,
            in_: 0,
            ok: 0,
            failed: 0,
            rejected: 0,
            timeouts: 0,
            lost: 0,
        }
    }

    fn answer(&mut self, ctx: &mut Ctx, caller: NodeId, call_id: u64, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Rejected => {}
        }
        ctx.reply(caller, call_id, outcome);
    }

    fn count(&mut self, name: &str) {
        if let Some(n) = self.route_calls.get_mut(name) {
            *n += 1;
        }
    }

    /// The route a call in route mode goes to, or `None` when its field names none.
    fn pick_route(&mut self, msg: &Message) -> Option<usize> {
        let Some(field) = &self.route_by else {
            let r = self.next_route % self.routes.len();
            self.next_route = r + 1;
            return Some(r);
        };
        let value = msg.payload.as_deref().and_then(|p| lookup(p, field))?;
        let name = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        self.routes.iter().position(|r| r.port == name)
    }

    /// Calls `routes` for a new request and arms its timeout.
    fn dispatch(
        &mut self,
        ctx: &mut Ctx,
        caller: NodeId,
        call_id: u64,
        msg: Message,
        routes: &[usize],
    ) {
        let q = self.next_request;
        self.next_request += 1;
        self.requests.insert(
            q,
            Request {
                caller,
                call_id,
                waiting: routes.len(),
                oks: 0,
                worst: Outcome::Ok,
            },
        );
        ctx.schedule_in(self.timeout, q);
        let n = self.routes.len() as u64;
        for &r in routes {
            let name = self.routes[r].name().to_owned();
            self.count(&name);
            ctx.call(self.routes[r].target, q * n + r as u64, msg.clone());
        }
    }

    /// What an aggregated request answers once every route answered (`complete`) or at its
    /// timeout: ok when all were ok; with `partial`, ok when at least one was.
    fn aggregate(&self, request: &Request, complete: bool) -> Outcome {
        let all_ok = complete && request.worst == Outcome::Ok;
        if all_ok || (self.partial && request.oks > 0) {
            Outcome::Ok
        } else {
            Outcome::Failed
        }
    }

    /// A crash: requests in progress are answered failed; their late replies are ignored.
    fn crash(&mut self, ctx: &mut Ctx) {
        for (_, request) in std::mem::take(&mut self.requests) {
            self.answer(ctx, request.caller, request.call_id, Outcome::Failed);
        }
    }
}

impl Behavior for Gateway {
    fn start(&mut self, ctx: &mut Ctx) {
        ctx.set_free(0);
    }

    /// A request's deadline.
    fn on_timer(&mut self, ctx: &mut Ctx, tag: u64) {
        let Some(request) = self.requests.remove(&tag) else {
            return; // answered in time
        };
        self.timeouts += 1;
        let outcome = match self.mode {
            GatewayMode::Route => Outcome::Failed,
            GatewayMode::Aggregate => self.aggregate(&request, false),
        };
        self.answer(ctx, request.caller, request.call_id, outcome);
    }

    fn on_arrive(&mut self, ctx: &mut Ctx, _from: NodeId, _msg: Message, _token: u32) {
        // A gateway only answers calls; validation refuses message edges into it.
        self.lost += 1;
        ctx.fate(Fate::Lost, 1);
    }

    fn on_call(&mut self, ctx: &mut Ctx, caller: NodeId, call_id: u64, msg: Message) {
        self.in_ += 1;
        let faults = ctx.faults();
        if faults.halted() || ctx.chance(faults.fail_rate) || self.routes.is_empty() {
            self.answer(ctx, caller, call_id, Outcome::Failed);
            return;
        }
        if let Some(bucket) = &mut self.bucket
            && !bucket.take(ctx.now())
        {
            self.rejected += 1;
            self.answer(ctx, caller, call_id, Outcome::Rejected);
            return;
        }
        match self.mode {
            GatewayMode::Route => match self.pick_route(&msg) {
                Some(r) => self.dispatch(ctx, caller, call_id, msg, &[r]),
                None => {
                    self.count(UNROUTED);
                    self.answer(ctx, caller, call_id, Outcome::Failed);
                }
            },
            GatewayMode::Aggregate => {
                let all: Vec<usize> = (0..self.routes.len()).collect();
                self.dispatch(ctx, caller, call_id, msg, &all);
            }
        }
    }

    fn on_reply(&mut self, ctx: &mut Ctx, call_id: u64, outcome: Outcome) {
        let q = call_id / self.routes.len().max(1) as u64;
        let Some(request) = self.requests.get_mut(&q) else {
            return; // its request timed out or was lost in a crash
        };
        request.waiting = request.waiting.saturating_sub(1);
        match outcome {
            Outcome::Ok => request.oks += 1,
            Outcome::Failed => request.worst = Outcome::Failed,
            Outcome::Rejected if request.worst == Outcome::Ok => request.worst = Outcome::Rejected,
            Outcome::Rejected => {}
        }
        if request.waiting > 0 {
            return;
        }
        let Some(request) = self.requests.remove(&q) else {
            return;
        };
        let outcome = match self.mode {
            GatewayMode::Route => request.worst,
            GatewayMode::Aggregate => self.aggregate(&request, true),
        };
        self.answer(ctx, request.caller, request.call_id, outcome);
    }

    fn on_faults(&mut self, ctx: &mut Ctx, before: FaultState) {
        if ctx.faults().crashed && !before.crashed {
            self.crash(ctx);
        }
    }

    fn held(&self) -> u64 {
        0
    }

    fn report(&self, _now: Time) -> NodeReport {
        NodeReport {
            kind: "gateway".into(),
            in_: self.in_,
            out: self.ok,
            failed: Some(self.failed),
            lost: Some(self.lost),
            in_flight: Some(0),
            rejected: Some(self.rejected),
            timeouts: Some(self.timeouts),
            routes: Some(self.route_calls.clone()),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Graph;
    use crate::report::Report;
    use crate::sim::{RunOptions, run};

    /// client `c` → gateway `g` → services; `nodes` and `edges` add the services and the
    /// gateway's routes.
    fn run_gateway(client: &str, gateway: &str, nodes: &str, edges: &str) -> Report {
        let graph = Graph::from_json_str(&format!(
            r#"{{"format": "flowbench.graph", "version": 1, "name": "gateway test",
                "nodes": [
                  {{"id": "c", "kind": "client", "config": {client}}},
                  {{"id": "g", "kind": "gateway", "config": {gateway}}},
                  {nodes}
                ],
                "edges": [{{"from": "c", "to": "g"}}, {edges}]}}"#
        ))
        .unwrap();
        let report = run(&graph, &RunOptions::default()).unwrap();
        assert!(report.conservation.ok, "{:?}", report.conservation);
        report
    }

    /// Three services answering in constant 10, 30 and `slowest` ms (the last failing every
    /// call when `last_fails`), each a route from port 'out'.
    fn three_services(slowest: u32, last_fails: bool) -> (String, &'static str) {
        let fail = if last_fails { 1.0 } else { 0.0 };
        let nodes = format!(
            r#"{{"id": "a", "kind": "service", "config": {{"concurrency": 8,
                 "service_time": {{"dist": "const", "ms": 10}}}}}},
               {{"id": "b", "kind": "service", "config": {{"concurrency": 8,
                 "service_time": {{"dist": "const", "ms": 30}}}}}},
               {{"id": "z", "kind": "service", "config": {{"concurrency": 8,
                 "service_time": {{"dist": "const", "ms": {slowest}}}, "failure_rate": {fail}}}}}"#
        );
        let edges =
            r#"{"from": "g", "to": "a"}, {"from": "g", "to": "b"}, {"from": "g", "to": "z"}"#;
        (nodes, edges)
    }

    const TEN_CALLS: &str = r#"{"rate_per_sec": 10, "arrival": "constant", "limit": 10}"#;

    /// Aggregation answers when the slowest route has answered: ok when all were ok, and the
    /// round trip is the slowest route's time, not the sum.
    #[test]
    fn aggregate_takes_as_long_as_the_slowest_route() {
        let (nodes, edges) = three_services(50, false);
        let report = run_gateway(TEN_CALLS, r#"{"mode": "aggregate"}"#, &nodes, edges);
        let c = &report.nodes["c"];
        assert_eq!(c.ok, Some(10));
        let latency = c.latency_ms.unwrap();
        assert_eq!((latency.mean, latency.max), (50.0, 50.0));
        let g = &report.nodes["g"];
        assert_eq!((g.in_, g.out, g.timeouts), (10, 10, Some(0)));
        let routes = g.routes.as_ref().unwrap();
        assert_eq!(
            routes
                .iter()
                .map(|(k, &n)| (k.as_str(), n))
                .collect::<Vec<_>>(),
            vec![("a", 10), ("b", 10), ("z", 10)]
        );
    }

    /// At the timeout, an aggregation with some answers in is ok with `partial` and failed
    /// without it; either way it counts as a timeout and the late answers are ignored.
    #[test]
    fn aggregate_timeout_with_partial_replies() {
        let (nodes, edges) = three_services(500, false);
        let partial = run_gateway(
            TEN_CALLS,
            r#"{"mode": "aggregate", "timeout_ms": 100, "partial": true}"#,
            &nodes,
            edges,
        );
        let c = &partial.nodes["c"];
        assert_eq!((c.ok, c.failed), (Some(10), Some(0)));
        assert_eq!(c.latency_ms.unwrap().max, 100.0);
        assert_eq!(partial.nodes["g"].timeouts, Some(10));
        assert_eq!(
            partial.nodes["z"].out, 10,
            "the slow route still did the work"
        );

        let whole = run_gateway(
            TEN_CALLS,
            r#"{"mode": "aggregate", "timeout_ms": 100, "partial": false}"#,
            &nodes,
            edges,
        );
        let c = &whole.nodes["c"];
        assert_eq!((c.ok, c.failed), (Some(0), Some(10)));
        let g = &whole.nodes["g"];
        assert_eq!((g.timeouts, g.failed), (Some(10), Some(10)));
    }

    /// A route that fails fails the aggregation, unless `partial` accepts the others' answers.
    #[test]
    fn aggregate_with_a_failed_route() {
        let (nodes, edges) = three_services(50, true);
        let whole = run_gateway(TEN_CALLS, r#"{"mode": "aggregate"}"#, &nodes, edges);
        assert_eq!(whole.nodes["c"].failed, Some(10));
        let partial = run_gateway(
            TEN_CALLS,
            r#"{"mode": "aggregate", "partial": true}"#,
            &nodes,
            edges,
        );
        assert_eq!(partial.nodes["c"].ok, Some(10));
        assert_eq!(partial.nodes["g"].timeouts, Some(0));
    }

    /// The token bucket takes `rate_limit_per_sec` calls a second after an initial burst of
    /// as many: at 100 calls a second for 10 s against a limit of 25, 25 + 25 × 10 get
    /// through and the rest (72.5%) are rejected.
    #[test]
    fn rate_limit_rejects_the_excess() {
        let (nodes, edges) = three_services(50, false);
        let report = run_gateway(
            r#"{"rate_per_sec": 100, "arrival": "constant", "limit": 1000}"#,
            r#"{"rate_limit_per_sec": 25}"#,
            &nodes,
            edges,
        );
        let g = &report.nodes["g"];
        let rejected = g.rejected.unwrap();
        assert!((724..=726).contains(&rejected), "rejected {rejected}");
        assert_eq!(g.out, 1000 - rejected);
        assert_eq!(report.nodes["c"].rejected, Some(rejected));
        assert_eq!(report.totals.rejected, rejected);
    }

    /// A rate limit of 0 rejects every call.
    #[test]
    fn zero_rate_limit_rejects_everything() {
        let (nodes, edges) = three_services(50, false);
        let report = run_gateway(TEN_CALLS, r#"{"rate_limit_per_sec": 0}"#, &nodes, edges);
        assert_eq!(report.nodes["g"].rejected, Some(10));
    }

    /// Without `route_by`, calls go round robin: each of three routes gets exactly a third.
    #[test]
    fn round_robin_spreads_evenly() {
        let (nodes, edges) = three_services(50, false);
        let report = run_gateway(
            r#"{"rate_per_sec": 50, "arrival": "poisson", "limit": 300}"#,
            r#"{}"#,
            &nodes,
            edges,
        );
        for id in ["a", "b", "z"] {
            assert_eq!(report.nodes[id].in_, 100, "{id}");
            assert_eq!(report.nodes["g"].routes.as_ref().unwrap()[id], 100);
        }
        assert_eq!(report.nodes["c"].ok, Some(300));
    }

    /// With `route_by`, a call goes to the route whose port is the field's value (numbers
    /// compared as text); a value naming no route, or no such field, is answered failed
    /// and counted unrouted.
    #[test]
    fn routes_by_payload_field() {
        let nodes = r#"{"id": "eu", "kind": "service"}, {"id": "us", "kind": "service"},
                       {"id": "one", "kind": "service"}"#;
        let edges = r#"{"from": "g", "to": "eu", "port": "eu"},
                       {"from": "g", "to": "us", "port": "us"},
                       {"from": "g", "to": "one", "port": "1"}"#;
        let report = run_gateway(
            r#"{"rate_per_sec": 10, "limit": 400,
                "payload": {"at": {"region": {"$choice": ["eu", "us", "mars", 1]}}}}"#,
            r#"{"route_by": "at.region"}"#,
            nodes,
            edges,
        );
        let routes = report.nodes["g"].routes.as_ref().unwrap();
        for id in ["eu", "us"] {
            assert_eq!(routes[id], report.nodes[id].in_, "{id}");
            assert!((70..=130).contains(&routes[id]), "{id}: {}", routes[id]);
        }
        assert_eq!(routes["1"], report.nodes["one"].in_);
        assert!(routes["1"] > 70);
        let c = &report.nodes["c"];
        assert_eq!(c.failed, Some(routes["unrouted"]));
        assert_eq!(
            routes["eu"] + routes["us"] + routes["1"] + routes["unrouted"],
            400
        );

        let report = run_gateway(TEN_CALLS, r#"{"route_by": "region"}"#, nodes, edges);
        assert_eq!(report.nodes["g"].routes.as_ref().unwrap()["unrouted"], 10);
        assert_eq!(report.nodes["c"].failed, Some(10));
    }

    /// A routed call not answered within `timeout_ms` is answered failed and counted as a
    /// timeout; the late reply is ignored.
    #[test]
    fn route_timeout_answers_failed() {
        let report = run_gateway(
            TEN_CALLS,
            r#"{"timeout_ms": 100}"#,
            r#"{"id": "slow", "kind": "service", "config": {"concurrency": 10,
                 "service_time": {"dist": "const", "ms": 150}}}"#,
            r#"{"from": "g", "to": "slow"}"#,
        );
        let g = &report.nodes["g"];
        assert_eq!((g.timeouts, g.failed, g.out), (Some(10), Some(10), 0));
        let c = &report.nodes["c"];
        assert_eq!((c.ok, c.failed, c.timeouts), (Some(0), Some(10), Some(0)));
        assert_eq!(report.nodes["slow"].out, 10);
    }
}
