//! `event_log`: an append-only, replayable event store. An event's offset is its position in
//! the log. Every `out` edge is a consumer that reads every event in order at its own offset,
//! as fast as it has room; a replay rewinds a consumer to the oldest kept event.
//!
//! Storing an event ends the message that brought it (delivered: it reached the store); each
//! read handed to a consumer is a new message. With a `retention` of N only the last N events
//! are kept: a consumer behind the oldest kept one skips ahead (counted `skipped`). The log is
//! durable: a crash stops it taking and delivering events but keeps them all; a stop pauses
//! delivery only.

use std::collections::VecDeque;

use indexmap::IndexMap;

use crate::model::EventLogConfig;
use crate::report::{ConsumerOffset, NodeReport};
use crate::sim::core::{Ctx, Fate, FaultState, Message, NO_TOKEN, NodeId, Time, UNLIMITED};

use super::Behavior;

struct Consumer {
    node: NodeId,
    id: String,
    /// Offset of the next event to read.
    offset: u64,
    skipped: u64,
}

/// Where one consumer stands in a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Events appended that it has not read.
    pub lag: u64,
    /// When the oldest event it has not read was appended.
    pub oldest_unread: Option<Time>,
    /// When the last event it read was appended, if that event is still kept.
    pub last_read: Option<Time>,
}

pub struct EventLog {
    retention: Option<u64>,
    /// The kept events with their append times; `kept[0]` has offset `first`.
    kept: VecDeque<(Message, Time)>,
    first: u64,
    consumers: Vec<Consumer>,
    in_: u64,
    out: u64,
    failed: u64,
    lost: u64,
}

impl EventLog {
    pub fn new(config: &EventLogConfig, consumers: Vec<(NodeId, String)>) -> EventLog {
        EventLog {
            retention: config.retention,
            kept: VecDeque::new(),
            first: 0,
            consumers: consumers
                .into_iter()
                .map(|(node, id)| Consumer {
                    node,
                    id,
                    offset: 0,
                    skipped: 0,
                })
                .collect(),
            in_: 0,
            out: 0,
            failed: 0,
            lost: 0,
        }
    }

    /// Offset the next appended event gets: every event ever stored.
    fn head(&self) -> u64 {
        self.first + self.kept.len() as u64
    }

    fn append_time(&self, offset: u64) -> Option<Time> {
        let i = usize::try_from(offset.checked_sub(self.first)?).ok()?;
        self.kept.get(i).map(|&(_, t)| t)
    }

    /// Where `node` stands as a consumer of this log; `None` if it is not one.
    pub fn position(&self, node: NodeId) -> Option<Position> {
        let c = self.consumers.iter().find(|c| c.node == node)?;
        Some(Position {
            lag: self.head() - c.offset,
            oldest_unread: self.append_time(c.offset),
            last_read: c.offset.checked_sub(1).and_then(|o| self.append_time(o)),
        })
    }

    pub fn has_consumer(&self, node: NodeId) -> bool {
        self.consumers.iter().any(|c| c.node == node)
    }

    /// Drops events beyond the retention; consumers behind the new oldest skip ahead.
    fn trim(&mut self) {
        let Some(keep) = self.retention else { return };
        while self.kept.len() as u64 > keep {
            self.kept.pop_front();
            self.first += 1;
        }
        for c in &mut self.consumers {
            if c.offset < self.first {
                c.skipped += self.first - c.offset;
                c.offset = self.first;
            }
        }
    }

    /// Hands each consumer the events it has room for, in order.
    fn deliver(&mut self, ctx: &mut Ctx) {
        if ctx.faults().halted() {
            return;
        }
        let head = self.head();
        for c in &mut self.consumers {
            while c.offset < head {
                if !ctx.has_room(c.node) {
                    ctx.wait_for(c.node);
                    break;
                }
                let (msg, _) = &self.kept[(c.offset - self.first) as usize];
                ctx.copies(1);
                let sent = ctx.try_send(c.node, msg.clone(), NO_TOKEN);
                debug_assert!(sent.is_ok());
                c.offset += 1;
                self.out += 1;
            }
        }
    }

    fn publish(&self, ctx: &mut Ctx) {
        ctx.set_free(if ctx.faults().crashed { 0 } else { UNLIMITED });
    }
}

impl Behavior for EventLog {
    fn start(&mut self, ctx: &mut Ctx) {
        self.publish(ctx);
    }

    fn on_arrive(&mut self, ctx: &mut Ctx, _from: NodeId, msg: Message, _token: u32) {
        self.in_ += 1;
        if ctx.ended_by_faults(&mut self.lost, &mut self.failed) {
            return;
        }
        ctx.fate(Fate::Delivered, 1);
        self.kept.push_back((msg, ctx.now()));
        self.trim();
        self.deliver(ctx);
    }

    fn on_wake(&mut self, ctx: &mut Ctx) {
        self.deliver(ctx);
    }

    fn on_replay(&mut self, ctx: &mut Ctx, consumer: Option<NodeId>) {
        for c in &mut self.consumers {
            if consumer.is_none_or(|node| node == c.node) {
                c.offset = self.first;
            }
        }
        self.deliver(ctx);
    }

    fn on_faults(&mut self, ctx: &mut Ctx, _before: FaultState) {
        self.publish(ctx);
        self.deliver(ctx);
    }

    fn held(&self) -> u64 {
        0
    }

    fn report(&self, _now: Time) -> NodeReport {
        let head = self.head();
        let consumers: IndexMap<String, ConsumerOffset> = self
            .consumers
            .iter()
            .map(|c| {
                let at = ConsumerOffset {
                    offset: c.offset,
                    lag: head - c.offset,
                };
                (c.id.clone(), at)
            })
            .collect();
        NodeReport {
            kind: "event_log".into(),
            in_: self.in_,
            out: self.out,
            failed: Some(self.failed),
            lost: Some(self.lost),
            in_flight: Some(0),
            length: Some(head),
            consumers: Some(consumers),
            skipped: Some(self.consumers.iter().map(|c| c.skipped).sum()),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Graph;
    use crate::report::Report;
    use crate::sim::{RunOptions, Simulation, run};

    /// A producer of `limit` keyed events at 100/s into a log with `retention`, read by a
    /// fast sink `fast` and by `slow`, a one-worker service taking 50 ms per event.
    fn log_graph(limit: u64, retention: &str, faults: &str) -> Graph {
        Graph::from_json_str(&format!(
            r#"{{"format": "flowbench.graph", "version": 1, "seed": 3,
              "nodes": [
                {{"id": "p", "kind": "producer", "config": {{"rate_per_sec": 100,
                  "arrival": "constant", "limit": {limit}, "keys": 10}}}},
                {{"id": "log", "kind": "event_log", "config": {{"retention": {retention}}}}},
                {{"id": "fast", "kind": "sink"}},
                {{"id": "slow", "kind": "service", "config": {{"service_time":
                  {{"dist": "const", "ms": 50}}}}}},
                {{"id": "done", "kind": "sink"}}],
              "edges": [{{"from": "p", "to": "log"}}, {{"from": "log", "to": "fast"}},
                        {{"from": "log", "to": "slow"}}, {{"from": "slow", "to": "done"}}],
              "faults": [{faults}]}}"#
        ))
        .unwrap()
    }

    fn ok(report: Report) -> Report {
        assert!(report.conservation.ok, "{:?}", report.conservation);
        report
    }

    fn run_for(graph: &Graph, ms: f64) -> Report {
        ok(run(
            graph,
            &RunOptions {
                duration_ms: Some(ms),
                seed: None,
            },
        )
        .unwrap())
    }

    /// Each consumer reads at its own pace: the fast one is caught up while the slow one
    /// lags by exactly what it has not read; stored events are delivered, reads are copies.
    #[test]
    fn lag_per_consumer() {
        // 100 events by 1 s; the slow consumer has taken 1 + 990/50 = 20 of them by 1.0 s.
        let r = run_for(&log_graph(100, "null", ""), 1000.5);
        let log = &r.nodes["log"];
        assert_eq!(log.length, Some(100));
        let consumers = log.consumers.as_ref().unwrap();
        assert_eq!((consumers["fast"].offset, consumers["fast"].lag), (100, 0));
        let slow = consumers["slow"];
        assert_eq!(slow.offset, r.nodes["slow"].in_);
        assert_eq!(slow.offset, 20);
        assert_eq!(slow.lag, 80);
        assert_eq!(log.out, 120);
        assert_eq!(r.totals.copies, 120);
        assert_eq!(log.skipped, Some(0));
        // At the end every consumer has read every event.
        let end = ok(run(&log_graph(100, "null", ""), &RunOptions::default()).unwrap());
        let consumers = end.nodes["log"].consumers.clone().unwrap();
        assert_eq!((consumers["slow"].offset, consumers["slow"].lag), (100, 0));
        assert_eq!(end.nodes["done"].in_, 100);
    }

    /// With a retention of 10, a consumer that falls further behind skips the dropped events
    /// and reads on from the oldest kept one; the skipped count closes the books.
    #[test]
    fn retention_skips_a_slow_consumer_ahead() {
        let r = ok(run(&log_graph(200, "10", ""), &RunOptions::default()).unwrap());
        let log = &r.nodes["log"];
        assert_eq!(log.length, Some(200));
        let consumers = log.consumers.as_ref().unwrap();
        assert_eq!(consumers["slow"].lag, 0);
        assert_eq!(consumers["fast"].lag, 0);
        let slow_read = r.nodes["slow"].in_;
        assert_eq!(r.nodes["fast"].in_, 200);
        assert_eq!(slow_read + log.skipped.unwrap(), 200);
        assert!(log.skipped.unwrap() > 100, "{:?}", log.skipped);
        // The slow consumer reads the last 10 in full after the producer stops.
        assert!(slow_read >= 10, "{slow_read}");
    }

    /// A replay of one consumer re-delivers the whole log to it, and only to it.
    #[test]
    fn replay_redelivers_the_whole_log() {
        let faults = r#"{"node": "log", "kind": "replay", "at_ms": 2000, "consumer": "fast"}"#;
        let r = ok(run(&log_graph(100, "null", faults), &RunOptions::default()).unwrap());
        assert_eq!(r.nodes["fast"].in_, 200);
        assert_eq!(r.nodes["done"].in_, 100);
        let consumers = r.nodes["log"].consumers.clone().unwrap();
        assert_eq!((consumers["fast"].offset, consumers["fast"].lag), (100, 0));
        // A replay of every consumer.
        let all = r#"{"node": "log", "kind": "replay", "at_ms": 10000}"#;
        let r = ok(run(&log_graph(100, "null", all), &RunOptions::default()).unwrap());
        assert_eq!(r.nodes["fast"].in_, 200);
        assert_eq!(r.nodes["done"].in_, 200);
    }

    /// With retention, a replay starts from the oldest kept event.
    #[test]
    fn replay_starts_at_the_oldest_kept_event() {
        let faults = r#"{"node": "log", "kind": "replay", "at_ms": 5000, "consumer": "fast"}"#;
        let r = ok(run(&log_graph(100, "30", faults), &RunOptions::default()).unwrap());
        assert_eq!(r.nodes["fast"].in_, 130);
    }

    /// The log is durable: during a crash it takes nothing and delivers nothing (the
    /// producer waits), and afterwards every event is still there and is delivered.
    #[test]
    fn survives_a_crash() {
        let faults = r#"{"node": "log", "kind": "crash", "at_ms": 305, "until_ms": 800}"#;
        let graph = log_graph(100, "null", faults);
        let mid = run_for(&graph, 700.0);
        let log = &mid.nodes["log"];
        assert_eq!(log.length, Some(30));
        assert_eq!(log.lost, Some(0));
        assert_eq!(log.consumers.as_ref().unwrap()["fast"].offset, 30);
        assert!(mid.nodes["p"].blocked_ms.unwrap() > 300.0);
        let end = ok(run(&graph, &RunOptions::default()).unwrap());
        assert_eq!(end.nodes["log"].length, Some(100));
        assert_eq!(end.nodes["fast"].in_, 100);
        assert_eq!(end.nodes["done"].in_, 100);
        assert_eq!(end.totals.lost, 0);
    }

    /// Under overlapping faults of every kind on a router, a log and a projector, and
    /// replays, every message is still accounted for, whatever the seed.
    #[test]
    fn faults_of_every_kind_keep_the_books() {
        let mut faults = Vec::new();
        for (i, node) in ["r", "log", "view", "w"].iter().enumerate() {
            let at = 100.0 * i as f64;
            for (kind, start, length, extra) in [
                ("crash", 37.0, 40.0, ""),
                ("stop", 300.0, 50.0, ""),
                ("fail", 500.0, 400.0, r#", "rate": 0.5"#),
                ("slow", 150.0, 500.0, r#", "factor": 4"#),
                ("crash", 620.0, 5.0, ""),
            ] {
                let (from, to) = (at + start, at + start + length);
                faults.push(format!(
                    r#"{{"node": "{node}", "kind": "{kind}", "at_ms": {from}, "until_ms": {to}{extra}}}"#
                ));
            }
        }
        faults.push(r#"{"node": "log", "kind": "replay", "at_ms": 250}"#.into());
        faults
            .push(r#"{"node": "log", "kind": "replay", "at_ms": 610, "consumer": "view"}"#.into());
        let text = format!(
            r#"{{"format": "flowbench.graph", "version": 1, "seed": 0,
              "nodes": [
                {{"id": "p", "kind": "producer", "config": {{"rate_per_sec": 400, "keys": 7,
                  "payload": {{"n": {{"$int": [0, 9]}}}}}}}},
                {{"id": "r", "kind": "router", "config": {{"rules": [
                  {{"field": "n", "op": "<", "value": 3, "port": "drop"}},
                  {{"field": "n", "op": "<", "value": 8, "port": "out"}}],
                  "default_port": "side"}}}},
                {{"id": "log", "kind": "event_log", "config": {{"retention": 50}}}},
                {{"id": "view", "kind": "projector", "config": {{"service_time":
                  {{"dist": "exp", "mean_ms": 3}}}}}},
                {{"id": "w", "kind": "service", "config": {{"concurrency": 2,
                  "service_time": {{"dist": "exp", "mean_ms": 4}}}}}},
                {{"id": "s", "kind": "sink"}},
                {{"id": "c", "kind": "client", "config": {{"rate_per_sec": 300,
                  "timeout_ms": 20}}}}],
              "edges": [{{"from": "p", "to": "r"}}, {{"from": "r", "to": "log"}},
                        {{"from": "r", "to": "view", "port": "side"}},
                        {{"from": "log", "to": "view"}}, {{"from": "log", "to": "w"}},
                        {{"from": "w", "to": "s"}}, {{"from": "c", "to": "view"}}],
              "faults": [{}]}}"#,
            faults.join(",")
        );
        let graph = Graph::from_json_str(&text).unwrap();
        let mut lost_in_view = 0;
        for seed in 0..20 {
            for ms in [300.0, 777.7, 1500.0] {
                let options = RunOptions {
                    duration_ms: Some(ms),
                    seed: Some(seed),
                };
                let r = run(&graph, &options).unwrap();
                assert!(
                    r.conservation.ok,
                    "seed {seed} at {ms}: {:?}",
                    r.conservation
                );
                if ms > 1000.0 {
                    assert!(r.totals.failed > 0, "{:?}", r.totals);
                    lost_in_view += r.nodes["view"].lost.unwrap();
                }
            }
        }
        // The crashes did catch the projector at work.
        assert!(lost_in_view > 0);
    }

    /// A replay requested through the engine's API rewinds the named consumer at once; an
    /// unknown log or consumer is an error.
    #[test]
    fn replay_through_the_api() {
        let graph = log_graph(100, "null", "");
        let mut sim = Simulation::new(&graph, None).unwrap();
        sim.run_until_ms(3000.0);
        sim.replay("log", Some("fast")).unwrap();
        sim.run_to_idle(None);
        let r = ok(sim.report(0.0));
        assert_eq!(r.nodes["fast"].in_, 200);
        assert_eq!(r.nodes["done"].in_, 100);
        assert!(sim.replay("nope", None).is_err());
        assert!(sim.replay("fast", None).is_err());
        assert!(sim.replay("log", Some("p")).is_err());
    }
}
