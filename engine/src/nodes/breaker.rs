//! `breaker`: a circuit breaker on a call path. Closed, it forwards every call to its one
//! target and watches the outcomes; too many failures open it, and while open it answers
//! calls itself (fail fast, a cached reply, or a copy out the `fallback` port). After
//! `open_ms` it lets a few probe calls through: all succeeding closes it, any failing
//! opens it again.

use std::collections::{BTreeMap, VecDeque};

use crate::model::{BreakerConfig, Fallback, Trip};
use crate::report::{BreakerState, NodeReport, Transition};
use crate::sim::core::{Ctx, Fate, FaultState, Message, NodeId, Outcome, Time, ms_to_ns, ns_to_ms};

use super::Behavior;

/// Timer kinds, in the tag's top bit: the end of an open period (low bits: its epoch) or a
/// forwarded call's deadline (low bits: the call's id).
const TAG_OPEN_OVER: u64 = 0;
const TAG_CALL_TIMEOUT: u64 = 1 << 63;

/// A call forwarded to the target and not yet answered.
struct Forwarded {
    caller: NodeId,
    caller_call_id: u64,
    /// The state period it was forwarded in: only outcomes of the current one move the
    /// state machine (a reply from before the breaker opened does not count as a probe).
    epoch: u64,
}

/// The failure counting of the closed state.
enum Counter {
    Consecutive {
        limit: u32,
        failures: u32,
    },
    Rate {
        rate: f64,
        window: usize,
        min_calls: usize,
        /// The last `window` outcomes, true = failure.
        outcomes: VecDeque<bool>,
        failures: usize,
    },
}

impl Counter {
    fn new(trip: &Trip) -> Counter {
        match *trip {
            Trip::ConsecutiveFailures {
                consecutive_failures,
            } => Counter::Consecutive {
                limit: consecutive_failures.max(1),
                failures: 0,
            },
            Trip::FailureRate {
                failure_rate,
                window,
                min_calls,
            } => Counter::Rate {
                rate: failure_rate,
                window: window.max(1) as usize,
                min_calls: min_calls.max(1) as usize,
                outcomes: VecDeque::new(),
                failures: 0,
            },
        }
    }

    fn reset(&mut self) {
        match self {
            Counter::Consecutive { failures, .. } => *failures = 0,
            Counter::Rate {
                outcomes, failures, ..
            } => {
                outcomes.clear();
                *failures = 0;
            }
        }
    }

    /// Records one outcome; true when the breaker should open.
    fn record(&mut self, failed: bool) -> bool {
        match self {
            Counter::Consecutive { limit, failures } => {
                *failures = if failed { *failures + 1 } else { 0 };
                *failures >= *limit
            }
            Counter::Rate {
                rate,
                window,
                min_calls,
                outcomes,
                failures,
            } => {
                outcomes.push_back(failed);
                *failures += usize::from(failed);
                if outcomes.len() > *window && outcomes.pop_front() == Some(true) {
                    *failures -= 1;
                }
                outcomes.len() >= *min_calls && *failures as f64 >= *rate * outcomes.len() as f64
            }
        }
    }
}

pub struct Breaker {
    open_for: Time,
    half_open_max: u32,
    call_timeout: Option<Time>,
    fallback: Fallback,
    target: Option<NodeId>,
    fallback_targets: Vec<NodeId>,
    counter: Counter,
    state: BreakerState,
    /// Bumped on every transition; stale open timers and replies carry an older one.
    epoch: u64,
    /// Half-open: probes let through and probes answered ok in this period.
    probes_sent: u32,
    probes_ok: u32,
    /// Whether the target has ever answered ok: the "last good reply" a cached fallback
    /// serves.
    has_good_reply: bool,
    next_call_id: u64,
    forwarded: BTreeMap<u64, Forwarded>,
    /// Fallback copies the next node had no room for yet.
    pending: Vec<(NodeId, Message)>,
    transitions: Vec<Transition>,
    /// Calls received.
    in_: u64,
    /// Calls answered ok (a cached fallback's answers included): the report's `out`.
    ok: u64,
    /// Calls answered failed: the target's failures, call timeouts, a crashed breaker.
    failed: u64,
    /// Calls answered without touching the target, while open or half-open and full.
    rejected: u64,
    /// Calls forwarded to the target.
    passed: u64,
    lost: u64,
}

impl Breaker {
    pub fn new(config: &BreakerConfig, target: Option<NodeId>, fallback: Vec<NodeId>) -> Breaker {
        Breaker {
            open_for: ms_to_ns(config.open_ms),
            half_open_max: config.half_open_max_calls.max(1),
            call_timeout: config.call_timeout_ms.map(ms_to_ns),
            fallback: config.fallback,
            target,
            fallback_targets: fallback,
            counter: Counter::new(&config.trip),
            state: BreakerState::Closed,
            epoch: 0,
            probes_sent: 0,
            probes_ok: 0,
            has_good_reply: false,
            next_call_id: 0,
            forwarded: BTreeMap::new(),
            pending: Vec::new(),
            transitions: Vec::new(),
            in_: 0,
            ok: 0,
            failed: 0,
            rejected: 0,
            passed: 0,
            lost: 0,
        }
    }

    fn transition(&mut self, ctx: &mut Ctx, to: BreakerState) {
        self.transitions.push(Transition {
            at_ms: ns_to_ms(ctx.now()),
            from: self.state,
            to,
        });
        self.state = to;
        self.epoch += 1;
        self.probes_sent = 0;
        self.probes_ok = 0;
        self.counter.reset();
        if to == BreakerState::Open {
            ctx.schedule_in(self.open_for, TAG_OPEN_OVER | self.epoch);
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

    /// Answers a call the breaker does not let through, as its fallback says.
    fn reject(&mut self, ctx: &mut Ctx, caller: NodeId, call_id: u64, msg: Message) {
        self.rejected += 1;
        let outcome = match self.fallback {
            Fallback::Cached if self.has_good_reply => Outcome::Ok,
            Fallback::FailFast | Fallback::Cached => Outcome::Rejected,
            Fallback::Port => {
                let targets = std::mem::take(&mut self.fallback_targets);
                ctx.send_copies(&targets, msg, true, &mut self.pending);
                self.fallback_targets = targets;
                Outcome::Rejected
            }
        };
        self.answer(ctx, caller, call_id, outcome);
    }

    fn forward(
        &mut self,
        ctx: &mut Ctx,
        target: NodeId,
        caller: NodeId,
        call_id: u64,
        msg: Message,
    ) {
        self.passed += 1;
        let id = self.next_call_id;
        self.next_call_id += 1;
        self.forwarded.insert(
            id,
            Forwarded {
                caller,
                caller_call_id: call_id,
                epoch: self.epoch,
            },
        );
        if let Some(timeout) = self.call_timeout {
            ctx.schedule_in(timeout, TAG_CALL_TIMEOUT | id);
        }
        ctx.call(target, id, msg);
    }

    /// The target answered forwarded call `id` (or it timed out, as `Failed`).
    fn settle(&mut self, ctx: &mut Ctx, id: u64, outcome: Outcome) {
        let Some(call) = self.forwarded.remove(&id) else {
            return; // answered already: a late reply after its timeout
        };
        let succeeded = outcome == Outcome::Ok;
        self.has_good_reply |= succeeded;
        self.answer(ctx, call.caller, call.caller_call_id, outcome);
        if call.epoch != self.epoch {
            return;
        }
        match self.state {
            BreakerState::Closed => {
                if self.counter.record(!succeeded) {
                    self.transition(ctx, BreakerState::Open);
                }
            }
            BreakerState::HalfOpen if !succeeded => self.transition(ctx, BreakerState::Open),
            BreakerState::HalfOpen => {
                self.probes_ok += 1;
                if self.probes_ok >= self.half_open_max {
                    self.transition(ctx, BreakerState::Closed);
                }
            }
            BreakerState::Open => {}
        }
    }

    /// A crash: calls in progress are answered failed (lost probes count as failed probes),
    /// fallback copies not yet sent are lost.
    fn crash(&mut self, ctx: &mut Ctx) {
        for (_, call) in std::mem::take(&mut self.forwarded) {
            self.answer(ctx, call.caller, call.caller_call_id, Outcome::Failed);
        }
        if self.state == BreakerState::HalfOpen && self.probes_sent > self.probes_ok {
            self.transition(ctx, BreakerState::Open);
        }
        let lost = self.pending.len() as u64;
        self.pending.clear();
        self.lost += lost;
        ctx.fate(Fate::Lost, lost);
    }
}

impl Behavior for Breaker {
    fn start(&mut self, ctx: &mut Ctx) {
        ctx.set_free(0);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, tag: u64) {
        if tag & TAG_CALL_TIMEOUT != 0 {
            self.settle(ctx, tag & !TAG_CALL_TIMEOUT, Outcome::Failed);
        } else if self.state == BreakerState::Open && tag == TAG_OPEN_OVER | self.epoch {
            self.transition(ctx, BreakerState::HalfOpen);
        }
    }

    fn on_arrive(&mut self, ctx: &mut Ctx, _from: NodeId, _msg: Message, _token: u32) {
        // A breaker only answers calls; validation refuses message edges into it.
        self.lost += 1;
        ctx.fate(Fate::Lost, 1);
    }

    fn on_call(&mut self, ctx: &mut Ctx, caller: NodeId, call_id: u64, msg: Message) {
        self.in_ += 1;
        let faults = ctx.faults();
        if faults.halted() || ctx.chance(faults.fail_rate) {
            self.answer(ctx, caller, call_id, Outcome::Failed);
            return;
        }
        let Some(target) = self.target else {
            self.answer(ctx, caller, call_id, Outcome::Failed);
            return;
        };
        match self.state {
            BreakerState::Closed => self.forward(ctx, target, caller, call_id, msg),
            BreakerState::HalfOpen if self.probes_sent < self.half_open_max => {
                self.probes_sent += 1;
                self.forward(ctx, target, caller, call_id, msg);
            }
            BreakerState::HalfOpen | BreakerState::Open => self.reject(ctx, caller, call_id, msg),
        }
    }

    fn on_reply(&mut self, ctx: &mut Ctx, call_id: u64, outcome: Outcome) {
        self.settle(ctx, call_id, outcome);
    }

    fn on_wake(&mut self, ctx: &mut Ctx) {
        ctx.retry_pending(&mut self.pending);
    }

    fn on_faults(&mut self, ctx: &mut Ctx, before: FaultState) {
        if ctx.faults().crashed && !before.crashed {
            self.crash(ctx);
        }
    }

    fn held(&self) -> u64 {
        self.pending.len() as u64
    }

    fn report(&self, _now: Time) -> NodeReport {
        NodeReport {
            kind: "breaker".into(),
            in_: self.in_,
            out: self.ok,
            failed: Some(self.failed),
            lost: Some(self.lost),
            in_flight: Some(self.held()),
            rejected: Some(self.rejected),
            passed: Some(self.passed),
            state: Some(self.state),
            transitions: Some(self.transitions.clone()),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Graph;
    use crate::report::{BreakerState, NodeReport, Report};
    use crate::sim::{RunOptions, Simulation, run};

    use BreakerState::{Closed, HalfOpen, Open};

    /// client → breaker → service, the client calling every 100 ms from t = 100 ms; each
    /// argument is a node's config (JSON object) or the faults list's contents.
    fn chain(client: &str, breaker: &str, service: &str, faults: &str) -> Graph {
        Graph::from_json_str(&format!(
            r#"{{"format": "flowbench.graph", "version": 1, "name": "breaker test",
                "nodes": [
                  {{"id": "c", "kind": "client", "config": {client}}},
                  {{"id": "b", "kind": "breaker", "config": {breaker}}},
                  {{"id": "s", "kind": "service", "config": {service}}}
                ],
                "edges": [{{"from": "c", "to": "b"}}, {{"from": "b", "to": "s"}}],
                "faults": [{faults}]}}"#
        ))
        .unwrap()
    }

    fn run_ok(graph: &Graph) -> Report {
        let report = run(graph, &RunOptions::default()).unwrap();
        assert!(report.conservation.ok, "{:?}", report.conservation);
        report
    }

    fn transitions(node: &NodeReport) -> Vec<(f64, BreakerState, BreakerState)> {
        let list = node
            .transitions
            .as_ref()
            .expect("a breaker reports transitions");
        list.iter().map(|t| (t.at_ms, t.from, t.to)).collect()
    }

    /// Half-open lets `half_open_max_calls` probes through: one failing probe opens the
    /// breaker again even after an earlier probe succeeded, and once all probes succeed it
    /// closes; the open periods last exactly `open_ms` and reject every call.
    #[test]
    fn half_open_probes_reopen_on_one_failure_and_close_when_all_pass() {
        // Calls at 100, 200, …, 3000 ms, each answered 10 ms later. The calls at 100 and 200
        // fail (trip at 210); the second probe (1400 ms) fails inside a short outage.
        let graph = chain(
            r#"{"rate_per_sec": 10, "arrival": "constant", "limit": 30}"#,
            r#"{"trip": {"consecutive_failures": 2}, "open_ms": 1000, "half_open_max_calls": 3}"#,
            r#"{"concurrency": 4, "service_time": {"dist": "const", "ms": 10}}"#,
            r#"{"node": "s", "kind": "fail", "at_ms": 0, "until_ms": 250, "rate": 1.0},
               {"node": "s", "kind": "fail", "at_ms": 1405, "until_ms": 1415, "rate": 1.0}"#,
        );
        let report = run_ok(&graph);
        let b = &report.nodes["b"];
        assert_eq!(
            transitions(b),
            vec![
                (210.0, Closed, Open),
                (1210.0, Open, HalfOpen),
                (1410.0, HalfOpen, Open),
                (2410.0, Open, HalfOpen),
                (2710.0, HalfOpen, Closed),
            ]
        );
        assert_eq!(b.state, Some(Closed));
        // Open 210..1210 rejects the calls at 300..1200, open 1410..2410 those at 1500..2400.
        assert_eq!(b.rejected, Some(20));
        // 2 before tripping, probes 1300 and 1400, probes 2500..2700, then 2800..3000.
        assert_eq!(b.passed, Some(10));
        assert_eq!(report.nodes["s"].in_, 10);
        assert_eq!(b.failed, Some(3));
        assert_eq!(report.nodes["c"].rejected, Some(20));
        assert_eq!(report.nodes["c"].ok, Some(7));
    }

    /// The rate form does not trip before `min_calls` outcomes are in the window, however
    /// many of them failed; the call that fills it to `min_calls` trips it.
    #[test]
    fn failure_rate_waits_for_min_calls() {
        let breaker = r#"{"trip": {"failure_rate": 0.5, "window": 10, "min_calls": 5}}"#;
        let service = r#"{"service_time": {"dist": "const", "ms": 10}, "failure_rate": 1.0}"#;
        let four = run_ok(&chain(
            r#"{"rate_per_sec": 10, "arrival": "constant", "limit": 4}"#,
            breaker,
            service,
            "",
        ));
        let b = &four.nodes["b"];
        assert_eq!(transitions(b), vec![]);
        assert_eq!(
            (b.passed, b.failed, b.rejected),
            (Some(4), Some(4), Some(0))
        );

        let seven = run_ok(&chain(
            r#"{"rate_per_sec": 10, "arrival": "constant", "limit": 7}"#,
            breaker,
            service,
            "",
        ));
        let b = &seven.nodes["b"];
        assert_eq!(
            transitions(b),
            vec![(510.0, Closed, Open), (5510.0, Open, HalfOpen)]
        );
        assert_eq!((b.passed, b.rejected), (Some(5), Some(2)));
    }

    /// The rate form keeps only the last `window` outcomes: old failures slide out, so a
    /// failure share below the rate never trips, and one at the rate does.
    #[test]
    fn failure_rate_uses_a_sliding_window() {
        // Every third call fails (a 33% share) and the trip rate is 40%: never trips.
        let breaker = r#"{"trip": {"failure_rate": 0.4, "window": 6, "min_calls": 3}}"#;
        let faults: Vec<String> = (0..20)
            .map(|i| {
                let at = 300 * i + 305;
                format!(r#"{{"node": "s", "kind": "fail", "at_ms": {at}, "until_ms": {}, "rate": 1.0}}"#, at + 10)
            })
            .collect();
        let report = run_ok(&chain(
            r#"{"rate_per_sec": 10, "arrival": "constant", "limit": 60}"#,
            breaker,
            r#"{"service_time": {"dist": "const", "ms": 10}}"#,
            &faults.join(","),
        ));
        let b = &report.nodes["b"];
        assert_eq!(transitions(b), vec![]);
        assert_eq!((b.passed, b.failed), (Some(60), Some(20)));

        // At 3 failures in the 6-call window (50%) it trips on the call that makes it so.
        let breaker = r#"{"trip": {"failure_rate": 0.5, "window": 6, "min_calls": 6}}"#;
        let report = run_ok(&chain(
            r#"{"rate_per_sec": 10, "arrival": "constant", "limit": 60}"#,
            breaker,
            r#"{"service_time": {"dist": "const", "ms": 10}}"#,
            r#"{"node": "s", "kind": "fail", "at_ms": 1000, "until_ms": 10000, "rate": 1.0}"#,
        ));
        // Calls 1..9 ok (100..900 ms); the calls at 1000, 1100 and 1200 fail; the window
        // (calls 7..12) then holds 3 failures of 6.
        assert_eq!(transitions(&report.nodes["b"])[0], (1210.0, Closed, Open));
    }

    /// A call not answered within `call_timeout_ms` counts as a failure and is answered
    /// failed to the caller at its deadline; the late reply is ignored.
    #[test]
    fn call_timeout_is_a_failure() {
        let report = run_ok(&chain(
            r#"{"rate_per_sec": 10, "arrival": "constant", "limit": 5}"#,
            r#"{"trip": {"consecutive_failures": 3}, "call_timeout_ms": 50}"#,
            r#"{"concurrency": 4, "service_time": {"dist": "const", "ms": 100}}"#,
            "",
        ));
        let b = &report.nodes["b"];
        // Calls at 100, 200, 300 time out at 150, 250, 350; the third opens the breaker (and
        // the run, idle by then, goes on to its half-open turn).
        assert_eq!(
            transitions(b),
            vec![(350.0, Closed, Open), (5350.0, Open, HalfOpen)]
        );
        assert_eq!(
            (b.passed, b.failed, b.rejected, b.out),
            (Some(3), Some(3), Some(2), 0)
        );
        let c = &report.nodes["c"];
        assert_eq!(
            (c.ok, c.failed, c.timeouts, c.rejected),
            (Some(0), Some(3), Some(0), Some(2))
        );
        // The service finished every call it got; its replies came too late to count.
        assert_eq!(report.nodes["s"].out, 3);
    }

    /// A `cached` fallback answers rejected calls ok once the target has ever answered ok,
    /// and rejects them while it never has.
    #[test]
    fn cached_fallback_serves_the_last_good_reply() {
        let client = r#"{"rate_per_sec": 10, "arrival": "constant", "limit": 5}"#;
        let breaker = r#"{"trip": {"consecutive_failures": 1}, "fallback": "cached"}"#;
        let service = r#"{"service_time": {"dist": "const", "ms": 10}}"#;
        // Ok at 100 and 200, the call at 300 fails and opens; 400 and 500 get the cache.
        let seen_good = run_ok(&chain(
            client,
            breaker,
            service,
            r#"{"node": "s", "kind": "fail", "at_ms": 250, "rate": 1.0}"#,
        ));
        let b = &seen_good.nodes["b"];
        assert_eq!(
            transitions(b),
            vec![(310.0, Closed, Open), (5310.0, Open, HalfOpen)]
        );
        assert_eq!((b.rejected, b.out), (Some(2), 4));
        let c = &seen_good.nodes["c"];
        assert_eq!((c.ok, c.failed, c.rejected), (Some(4), Some(1), Some(0)));

        // Failing from the start: nothing to serve, so rejected calls are rejected.
        let never_good = run_ok(&chain(
            client,
            breaker,
            service,
            r#"{"node": "s", "kind": "fail", "at_ms": 0, "rate": 1.0}"#,
        ));
        let c = &never_good.nodes["c"];
        assert_eq!((c.ok, c.failed, c.rejected), (Some(0), Some(1), Some(4)));
    }

    /// A `port` fallback rejects the call and sends a copy of the request out the
    /// `fallback` port as a new message; copies a full queue refuses wait in the breaker
    /// (counted in flight) and go on when room frees, so all of them arrive.
    #[test]
    fn port_fallback_sends_copies_into_a_queue() {
        let graph = Graph::from_json_str(
            r#"{"format": "flowbench.graph", "version": 1, "name": "port fallback",
                "nodes": [
                  {"id": "c", "kind": "client",
                   "config": {"rate_per_sec": 100, "arrival": "constant", "limit": 10}},
                  {"id": "b", "kind": "breaker",
                   "config": {"trip": {"consecutive_failures": 1}, "fallback": "port"}},
                  {"id": "s", "kind": "service",
                   "config": {"service_time": {"dist": "const", "ms": 1}, "failure_rate": 1.0}},
                  {"id": "later", "kind": "queue", "config": {"capacity": 2}},
                  {"id": "retry", "kind": "service",
                   "config": {"service_time": {"dist": "const", "ms": 1000}}},
                  {"id": "done", "kind": "sink"}
                ],
                "edges": [{"from": "c", "to": "b"}, {"from": "b", "to": "s"},
                          {"from": "b", "to": "later", "port": "fallback"},
                          {"from": "later", "to": "retry"}, {"from": "retry", "to": "done"}]}"#,
        )
        .unwrap();
        // Calls every 10 ms from 10 ms; the first fails at 11 ms and the other 9 are
        // rejected by 100 ms: one copy is being worked on, 2 wait in the queue, 6 in the
        // breaker.
        let mut sim = Simulation::new(&graph, None).unwrap();
        sim.run_until_ms(500.0);
        let mid = sim.report(0.0);
        assert!(mid.conservation.ok, "{:?}", mid.conservation);
        assert_eq!(mid.nodes["b"].rejected, Some(9));
        assert_eq!(mid.nodes["b"].in_flight, Some(6));
        assert_eq!(mid.nodes["later"].in_flight, Some(2));
        assert_eq!(mid.totals.copies, 9);

        let end = run_ok(&graph);
        assert_eq!(end.nodes["done"].in_, 9);
        assert_eq!(end.nodes["b"].in_flight, Some(0));
        assert_eq!(end.nodes["c"].rejected, Some(9));
        assert_eq!(end.totals.delivered, 9);
    }

    /// A crashed breaker answers calls failed without forwarding them.
    #[test]
    fn crashed_breaker_fails_calls() {
        let report = run_ok(&chain(
            r#"{"rate_per_sec": 10, "arrival": "constant", "limit": 5}"#,
            r#"{}"#,
            r#"{"service_time": {"dist": "const", "ms": 10}}"#,
            r#"{"node": "b", "kind": "crash", "at_ms": 250, "until_ms": 450}"#,
        ));
        let b = &report.nodes["b"];
        assert_eq!((b.passed, b.failed, b.out), (Some(3), Some(2), 3));
        assert_eq!(report.nodes["c"].failed, Some(2));
        assert_eq!(b.transitions.as_deref(), Some(&[][..]));
    }
}
