//! `projector`: a CQRS read-model builder. It applies events one at a time, each taking
//! `service_time`, to a read model holding the latest event per message key (unkeyed events
//! share one entity). Applying is an idempotent upsert, so re-applying a replayed log ends in
//! the same model. Queries (calls) are answered from the model after `service_time` each, in
//! parallel with event application and without waiting for it.
//!
//! Faults: a crash loses the event being applied and fails queries, but keeps the read model
//! (it is a stored table); `stop` pauses applying events while queries are still answered,
//! from an ever staler model; `fail` fails that share of events and queries; `slow` stretches
//! both.

use std::collections::BTreeMap;

use crate::model::ProjectorConfig;
use crate::report::{NodeReport, ReadModelReport};
use crate::sim::core::{Ctx, Fate, FaultState, Message, NodeId, Outcome, Sampler, Time};

use super::{Behavior, EventLog};

/// Timer tags: the top bit marks a query (its sequence number below), else an event
/// application (the application's generation).
const TAG_QUERY: u64 = 1 << 63;

/// The event being applied.
struct Applying {
    msg: Message,
    from: NodeId,
    arrived: Time,
}

pub struct Projector {
    service_time: Sampler,
    applying: Option<Applying>,
    /// Bumped whenever an application ends, so a timer of a lost one is ignored.
    generation: u64,
    /// Message key → id of the last event applied for it.
    model: BTreeMap<Option<u32>, u64>,
    /// Queries being answered, by sequence number: (caller, call id).
    queries: BTreeMap<u64, (NodeId, u64)>,
    next_query: u64,
    in_: u64,
    applied: u64,
    answered: u64,
    failed: u64,
    lost: u64,
}

impl Projector {
    pub fn new(config: &ProjectorConfig) -> Projector {
        Projector {
            service_time: Sampler::new(&config.service_time),
            applying: None,
            generation: 0,
            model: BTreeMap::new(),
            queries: BTreeMap::new(),
            next_query: 0,
            in_: 0,
            applied: 0,
            answered: 0,
            failed: 0,
            lost: 0,
        }
    }

    fn duration(&self, ctx: &mut Ctx) -> Time {
        let d = self.service_time.sample(ctx.rng);
        match ctx.faults().slow_factor {
            1.0 => d,
            slow => (d as f64 * slow).round() as Time,
        }
    }

    /// Room for one event when idle and running.
    fn publish(&self, ctx: &mut Ctx) {
        let free = u64::from(self.applying.is_none() && !ctx.faults().halted());
        ctx.set_free(free);
    }

    fn end_application(&mut self) -> Option<Applying> {
        self.generation += 1;
        self.applying.take()
    }

    /// Entities in the read model and a checksum over its sorted (key, last id) pairs:
    /// equal models give equal checksums, whatever order they were built in.
    pub fn read_model(&self) -> ReadModelReport {
        let checksum = self
            .model
            .iter()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, (key, id)| {
                let key = key.map_or(u64::MAX, u64::from);
                key.to_le_bytes()
                    .into_iter()
                    .chain(id.to_le_bytes())
                    .fold(h, |h, b| {
                        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
                    })
            });
        ReadModelReport {
            entities: self.model.len() as u64,
            checksum,
        }
    }

    /// How far this projector (node `me`) trails the event logs feeding it, at `now`: the
    /// events appended to them that it has not read, summed, and how long ago the oldest
    /// event it has not applied yet (read or not) was appended (0 when caught up).
    pub fn behind<'a>(
        &self,
        me: NodeId,
        logs: impl Iterator<Item = (NodeId, &'a EventLog)>,
        now: Time,
    ) -> (u64, Time) {
        let mut lag = 0;
        let mut oldest = self.applying.as_ref().map(|a| a.arrived);
        for (log_id, log) in logs {
            let Some(at) = log.position(me) else { continue };
            lag += at.lag;
            let applying_from_here = self.applying.as_ref().is_some_and(|a| a.from == log_id);
            let last_read = at.last_read.filter(|_| applying_from_here);
            for t in [at.oldest_unread, last_read].into_iter().flatten() {
                oldest = Some(oldest.map_or(t, |o: Time| o.min(t)));
            }
        }
        (lag, oldest.map_or(0, |t| now.saturating_sub(t)))
    }
}

impl Behavior for Projector {
    fn start(&mut self, ctx: &mut Ctx) {
        self.publish(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, tag: u64) {
        if tag & TAG_QUERY != 0 {
            let Some((caller, call_id)) = self.queries.remove(&(tag & !TAG_QUERY)) else {
                return; // answered Failed by a crash
            };
            if ctx.chance(ctx.faults().fail_rate) {
                self.failed += 1;
                ctx.reply(caller, call_id, Outcome::Failed);
            } else {
                self.answered += 1;
                ctx.reply(caller, call_id, Outcome::Ok);
            }
            return;
        }
        if tag != self.generation {
            return; // the application this timer was for was lost in a crash
        }
        let Some(done) = self.end_application() else {
            return;
        };
        if ctx.chance(ctx.faults().fail_rate) {
            self.failed += 1;
            ctx.fate(Fate::Failed, 1);
        } else {
            self.applied += 1;
            self.model.insert(done.msg.key.get(), done.msg.id);
            ctx.fate(Fate::Delivered, 1);
        }
        self.publish(ctx);
    }

    fn on_arrive(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message, _token: u32) {
        self.in_ += 1;
        if ctx.faults().crashed || self.applying.is_some() {
            // Only a crash in the instant between reserving room and arriving lands here.
            self.lost += 1;
            ctx.fate(Fate::Lost, 1);
            return;
        }
        let d = self.duration(ctx);
        self.applying = Some(Applying {
            msg,
            from,
            arrived: ctx.now(),
        });
        ctx.schedule_in(d, self.generation);
        self.publish(ctx);
    }

    fn on_call(&mut self, ctx: &mut Ctx, caller: NodeId, call_id: u64, _msg: Message) {
        if ctx.faults().crashed {
            self.failed += 1;
            ctx.reply(caller, call_id, Outcome::Failed);
            return;
        }
        let seq = self.next_query;
        self.next_query += 1;
        self.queries.insert(seq, (caller, call_id));
        let d = self.duration(ctx);
        ctx.schedule_in(d, TAG_QUERY | seq);
    }

    fn on_faults(&mut self, ctx: &mut Ctx, before: FaultState) {
        if ctx.faults().crashed && !before.crashed {
            if self.end_application().is_some() {
                self.lost += 1;
                ctx.fate(Fate::Lost, 1);
            }
            for (_, (caller, call_id)) in std::mem::take(&mut self.queries) {
                self.failed += 1;
                ctx.reply(caller, call_id, Outcome::Failed);
            }
        }
        self.publish(ctx);
    }

    fn held(&self) -> u64 {
        u64::from(self.applying.is_some())
    }

    /// `lag` and `staleness_ms` need the feeding logs; the simulation fills them in.
    fn report(&self, _now: Time) -> NodeReport {
        NodeReport {
            kind: "projector".into(),
            in_: self.in_,
            out: self.applied,
            failed: Some(self.failed),
            lost: Some(self.lost),
            in_flight: Some(self.held()),
            queries: Some(self.answered),
            read_model: Some(self.read_model()),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Graph;
    use crate::report::Report;
    use crate::sim::{RunOptions, run};

    /// `limit` events at `rate`/s (`keys` keys, or unkeyed for "null") into a log read by a
    /// projector taking `ms` per event, which a client queries 200 times a second.
    fn graph(limit: u64, rate: f64, keys: &str, ms: f64, faults: &str) -> Graph {
        Graph::from_json_str(&format!(
            r#"{{"format": "flowbench.graph", "version": 1, "seed": 9,
              "nodes": [
                {{"id": "p", "kind": "producer", "config": {{"rate_per_sec": {rate},
                  "arrival": "constant", "limit": {limit}, "keys": {keys}}}}},
                {{"id": "log", "kind": "event_log"}},
                {{"id": "view", "kind": "projector", "config": {{"service_time":
                  {{"dist": "const", "ms": {ms}}}}}}},
                {{"id": "q", "kind": "client", "config": {{"rate_per_sec": 200,
                  "arrival": "constant", "limit": 100}}}}],
              "edges": [{{"from": "p", "to": "log"}}, {{"from": "log", "to": "view"}},
                        {{"from": "q", "to": "view"}}],
              "faults": [{faults}]}}"#
        ))
        .unwrap()
    }

    fn run_to(graph: &Graph, duration_ms: Option<f64>) -> Report {
        let options = RunOptions {
            duration_ms,
            seed: None,
        };
        let report = run(graph, &options).unwrap();
        assert!(report.conservation.ok, "{:?}", report.conservation);
        report
    }

    /// The read model keeps one entity per key; re-applying the whole log after a replay
    /// ends in the identical model, having applied every event twice.
    #[test]
    fn idempotent_under_replay() {
        let plain = run_to(&graph(500, 100.0, "20", 1.0, ""), None);
        let replay = r#"{"node": "log", "kind": "replay", "at_ms": 3005, "consumer": "view"}"#;
        let replayed = run_to(&graph(500, 100.0, "20", 1.0, replay), None);
        let model = plain.nodes["view"].read_model.unwrap();
        assert_eq!(model.entities, 20);
        assert_eq!(replayed.nodes["view"].read_model, Some(model));
        // At 3.005 s, 300 events had been applied; all 500 are applied once more after that.
        assert_eq!(plain.nodes["view"].out, 500);
        assert_eq!(replayed.nodes["view"].in_, 800);
        assert_eq!(replayed.nodes["view"].out, 800);
        assert_eq!(replayed.nodes["view"].lag, Some(0));
        // Another history gives another model.
        let fewer = run_to(&graph(499, 100.0, "20", 1.0, ""), None);
        assert_ne!(fewer.nodes["view"].read_model, Some(model));
    }

    /// Unkeyed events all update one shared entity.
    #[test]
    fn unkeyed_events_share_one_entity() {
        let r = run_to(&graph(50, 100.0, "null", 1.0, ""), None);
        assert_eq!(r.nodes["view"].read_model.unwrap().entities, 1);
    }

    /// Events are applied one at a time; lag counts the events appended but not read, and
    /// staleness is the age of the oldest event not applied yet.
    #[test]
    fn lag_and_staleness() {
        // Events appended every 1 ms from 1 ms; each takes 10 ms: at 50.5 ms four are applied,
        // the fifth (appended at 5 ms) is being applied, 45 wait in the log.
        let r = run_to(&graph(100, 1000.0, "10", 10.0, ""), Some(50.5));
        let view = &r.nodes["view"];
        assert_eq!((view.in_, view.out, view.in_flight), (5, 4, Some(1)));
        assert_eq!(view.lag, Some(45));
        assert_eq!(view.staleness_ms, Some(45.5));
        let log = &r.nodes["log"].consumers.as_ref().unwrap()["view"];
        assert_eq!((log.offset, log.lag), (5, 45));
        // Caught up at the end.
        let end = run_to(&graph(100, 1000.0, "10", 10.0, ""), None);
        assert_eq!(end.nodes["view"].lag, Some(0));
        assert_eq!(end.nodes["view"].staleness_ms, Some(0.0));
    }

    /// Queries are answered from the model in `service_time`, in parallel and without
    /// waiting for the events being applied.
    #[test]
    fn queries_do_not_wait_for_events() {
        let r = run_to(&graph(1000, 1000.0, "10", 5.0, ""), None);
        let view = &r.nodes["view"];
        assert_eq!(view.queries, Some(100));
        let q = &r.nodes["q"];
        assert_eq!(q.ok, Some(100));
        let latency = q.latency_ms.unwrap();
        assert_eq!((latency.mean, latency.max), (5.0, 5.0));
    }

    /// A crash fails the queries in progress and those arriving while down, loses the event
    /// being applied, and keeps the read model; a replay afterwards repairs it.
    #[test]
    fn crash_keeps_the_model_and_loses_the_event_in_hand() {
        let crash = r#"{"node": "view", "kind": "crash", "at_ms": 200.5, "until_ms": 300}"#;
        let plain = run_to(&graph(50, 100.0, "50", 5.0, ""), None);
        let plain_model = plain.nodes["view"].read_model.unwrap();
        let r = run_to(&graph(50, 100.0, "50", 5.0, crash), None);
        let view = &r.nodes["view"];
        // The event appended at 200 ms was in hand; the rest waited in the log.
        assert_eq!(view.lost, Some(1));
        assert_eq!(view.out, 49);
        assert_eq!(r.nodes["log"].consumers.as_ref().unwrap()["view"].lag, 0);
        // What was applied before the crash is still there: at most the lost event's key
        // is missing.
        assert!(view.read_model.unwrap().entities + 1 >= plain_model.entities);
        // 100 ms down at 200 queries a second: 20 fail.
        assert_eq!(r.nodes["q"].failed, Some(20));
        assert_eq!(view.failed, Some(20));
        let repaired = format!(
            r#"{crash}, {{"node": "log", "kind": "replay", "at_ms": 2000, "consumer": "view"}}"#
        );
        let r = run_to(&graph(50, 100.0, "50", 5.0, &repaired), None);
        assert_eq!(r.nodes["view"].read_model, Some(plain_model));
    }
}
