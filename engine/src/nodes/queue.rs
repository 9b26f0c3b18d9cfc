//! `queue`: a point-to-point channel. FIFO; each message goes to exactly one consumer, the
//! next one (round robin) with a free worker. `when_full` decides what a full queue does;
//! a crash empties a non-durable queue.
//!
//! A throttling queue (`when_full: throttle`) slows its senders instead of stopping them:
//! once `capacity` messages wait, it takes one message per `1 / throttle_rate_per_sec`
//! seconds (the room it publishes is one message when a turn is due, else none, so senders
//! wait their turn as blocked senders wait for room) until it is back down to half its
//! capacity. Set below what the consumers manage, the rate lets the queue drain while the
//! senders go on at that pace; the depth then swings between half and full capacity.

use std::collections::VecDeque;

use crate::metrics::{Latency, TimeGauge};
use crate::model::{NodeConfig, QueueConfig, WhenFull};
use crate::report::NodeReport;
use crate::sim::core::{
    Ctx, Fate, FaultState, Message, NO_TOKEN, NodeId, Targets, Time, UNLIMITED, ns_to_ms,
};

use super::Behavior;

pub struct Queue {
    capacity: Option<u64>,
    when_full: WhenFull,
    durable: bool,
    consumers: Targets,
    /// The only consumer is a service that takes its next message from this queue itself
    /// ([`Queue::give`]) whenever a worker frees, so the queue need not wait for it.
    pulled: bool,
    /// Where the round robin over consumers starts next.
    next: usize,
    waiting: VecDeque<(Message, Time)>,
    in_: u64,
    out: u64,
    dropped: u64,
    failed: u64,
    lost: u64,
    depth: TimeGauge,
    wait: Latency,
    throttle: Throttle,
}

/// The state of `when_full: throttle`.
#[derive(Debug, Default)]
struct Throttle {
    /// Time between two messages taken while throttling; `None`: none is taken (rate 0).
    gap: Option<Time>,
    /// Throttling since this instant (reached capacity, not yet back down to half).
    since: Option<Time>,
    /// When the next message may come in while throttling.
    next_turn: Time,
    /// A timer is set for `next_turn`.
    armed: bool,
    /// Time spent throttling in earlier spells.
    spent: Time,
    /// The queue's `in` count when it last looked: a message that came in since took a
    /// turn.
    seen_in: u64,
}

impl Throttle {
    fn new(config: &QueueConfig) -> Throttle {
        Throttle {
            gap: throttle_gap(config),
            ..Throttle::default()
        }
    }

    /// A message may come in now.
    fn turn_due(&self, now: Time) -> bool {
        self.gap.is_some() && now >= self.next_turn
    }

    fn spent(&self, now: Time) -> Time {
        self.spent + self.since.map_or(0, |s| now - s)
    }

    /// Ends a spell of throttling.
    fn end(&mut self, now: Time) {
        if let Some(since) = self.since.take() {
            self.spent += now - since;
        }
    }
}

/// Time between two messages a throttling queue takes (`None`: it takes none).
fn throttle_gap(config: &QueueConfig) -> Option<Time> {
    let rate = config.throttle_rate_per_sec.unwrap_or(0.0);
    (rate.is_finite() && rate > 0.0).then(|| ((1e9 / rate).round() as Time).max(1))
}

impl Queue {
    pub fn new(config: &QueueConfig, consumers: Vec<NodeId>, pulled: bool) -> Queue {
        Queue {
            capacity: config.capacity,
            when_full: config.when_full,
            durable: config.durable,
            consumers: consumers.into(),
            pulled,
            next: 0,
            waiting: VecDeque::new(),
            in_: 0,
            out: 0,
            dropped: 0,
            failed: 0,
            lost: 0,
            depth: TimeGauge::default(),
            wait: Latency::default(),
            throttle: Throttle::new(config),
        }
    }

    /// Room published to senders: only a blocking or a throttling queue ever says "full".
    fn free(&self, ctx: &Ctx) -> u64 {
        if ctx.faults().crashed {
            return 0;
        }
        self.room(ctx.now())
    }

    /// [`Queue::free`] while the queue is up.
    #[inline]
    fn room(&self, now: Time) -> u64 {
        let Some(cap) = self.capacity else {
            return UNLIMITED;
        };
        match self.when_full {
            WhenFull::Block => cap.saturating_sub(self.waiting.len() as u64),
            WhenFull::Throttle => self.throttled_free(cap, now),
            WhenFull::DropNewest | WhenFull::DropOldest => UNLIMITED,
        }
    }

    /// A throttling queue's room: as a blocking queue's until it is full, then one message
    /// when a turn is due.
    fn throttled_free(&self, cap: u64, now: Time) -> u64 {
        if self.throttle.since.is_none() {
            cap.saturating_sub(self.waiting.len() as u64)
        } else {
            u64::from(self.throttle.turn_due(now))
        }
    }

    /// Starts throttling at capacity, ends it at half capacity, and sets a timer for the
    /// next turn while senders have to wait for it.
    fn update_throttle(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        let len = self.waiting.len() as u64;
        let t = &mut self.throttle;
        let came_in = t.seen_in != self.in_;
        t.seen_in = self.in_;
        match (self.capacity, t.since) {
            (Some(cap), None) if len >= cap => {
                t.since = Some(now);
                t.next_turn = now.saturating_add(t.gap.unwrap_or(0));
            }
            (Some(cap), Some(_)) if len > cap / 2 => {
                if came_in {
                    // That message took the turn; the next one comes a gap later.
                    t.next_turn = now.saturating_add(t.gap.unwrap_or(0));
                }
            }
            _ => {
                t.end(now);
                return;
            }
        }
        // Throttling: the senders wait for the next turn, whatever else happens meanwhile.
        if !t.armed && t.gap.is_some() && !t.turn_due(now) {
            t.armed = true;
            ctx.schedule_in(t.next_turn - now, 0);
        }
    }

    fn is_full(&self) -> bool {
        self.capacity
            .is_some_and(|cap| self.waiting.len() as u64 >= cap)
    }

    /// Hands waiting messages to consumers with room, in FIFO order. Always inlined: most
    /// messages that arrive come through here, and most of the time it only finds that
    /// the consumers are busy.
    #[inline(always)]
    fn dispatch(&mut self, ctx: &mut Ctx) {
        if let Targets::One(c) = self.consumers {
            // One consumer, the commonest: the loop below without its round robin.
            if !ctx.faults().halted() {
                while !self.waiting.is_empty() {
                    if !ctx.has_room(c) {
                        self.await_room(ctx, c);
                        break;
                    }
                    let msg = self.pop(ctx.now());
                    self.next = 0;
                    let sent = ctx.try_send(c, msg, NO_TOKEN);
                    debug_assert!(sent.is_ok());
                }
            }
        } else if !ctx.faults().halted() && !self.consumers.is_empty() {
            let n = self.consumers.len();
            while !self.waiting.is_empty() {
                // The first consumer with room, starting at `next` (round robin).
                let mut i = self.next;
                let mut found = false;
                for _ in 0..n {
                    if ctx.has_room(self.consumers[i]) {
                        found = true;
                        break;
                    }
                    i = if i + 1 == n { 0 } else { i + 1 };
                }
                if !found {
                    for &c in &self.consumers {
                        self.await_room(ctx, c);
                    }
                    break;
                }
                let msg = self.pop(ctx.now());
                self.next = if i + 1 == n { 0 } else { i + 1 };
                let sent = ctx.try_send(self.consumers[i], msg, NO_TOKEN);
                debug_assert!(sent.is_ok());
            }
        }
        self.publish(ctx);
    }

    /// Consumer `c` has no room for the messages waiting: the queue hands them on once it
    /// has. A consumer that pulls comes for them itself; while its handler runs it is
    /// waited for as usual.
    #[inline(always)]
    fn await_room(&self, ctx: &mut Ctx, c: NodeId) {
        if !self.pulled || ctx.is_running(c) {
            ctx.wait_for(c);
        } else {
            ctx.set_inbox_waiting(c, true);
        }
    }

    /// The next message goes out (the queue has one). Always inlined: it is a few lines
    /// run once per message, from the hand-on and from the consumer's pull.
    #[inline(always)]
    fn pop(&mut self, now: Time) -> Message {
        let (msg, since) = self.waiting.pop_front().expect("not empty");
        self.wait.record(now - since);
        self.out += 1;
        msg
    }

    /// Publishes the depth and the room the queue has now. Always inlined: it ends every
    /// handler of the queue.
    #[inline(always)]
    fn publish(&mut self, ctx: &mut Ctx) {
        if self.when_full == WhenFull::Throttle {
            self.update_throttle(ctx);
        }
        self.depth.set(ctx.now(), self.waiting.len() as u64);
        ctx.publish_depth(self.waiting.len() as u64);
        let free = self.free(ctx);
        ctx.set_free(free);
    }

    /// Gives the next waiting message to the consumer that pulls, as [`Queue::dispatch`]
    /// would have handed it, into `into` (where the consumer keeps it: no copies on the
    /// way). False, and nothing given, while the queue is empty, down or stopped.
    #[inline]
    pub fn give(&mut self, ctx: &mut Ctx, into: &mut Message) -> bool {
        if self.waiting.is_empty() || ctx.faults().halted() {
            return false;
        }
        *into = self.pop(ctx.now());
        if self.waiting.is_empty() {
            ctx.set_inbox_waiting(self.consumers[0], false);
        }
        self.publish(ctx);
        true
    }

    /// The one consumer of a queue that takes arrivals in place while that consumer is busy
    /// ([`Queue::wait_in_place`]): a consumer that pulls, of a queue that is not full and
    /// does not throttle. None otherwise.
    #[inline]
    pub fn puller_in_place(&self) -> Option<NodeId> {
        match self.consumers {
            Targets::One(c)
                if self.pulled && self.when_full != WhenFull::Throttle && !self.is_full() =>
            {
                Some(c)
            }
            _ => None,
        }
    }

    /// A message arriving, without the queue's handler, at a queue without faults whose
    /// [consumer](Queue::puller_in_place) has no room and is not running: it waits. The
    /// scheduler then tells the consumer, and publishes the depth and the room returned
    /// (in that order), as [`Behavior::on_arrive`] would.
    #[inline]
    pub fn wait_in_place(&mut self, now: Time, msg: Message) -> (u64, u64) {
        self.in_ += 1;
        self.waiting.push_back((msg, now));
        self.depth_and_room(now)
    }

    /// Whether [`Queue::give_in_place`] does what [`Queue::give`] does, for a queue
    /// without faults: all but a throttling queue, whose turns need its handler.
    #[inline]
    pub fn gives_in_place(&self) -> bool {
        self.when_full != WhenFull::Throttle
    }

    /// [`Queue::give`] without the queue's handler, for a queue without faults that
    /// [gives in place](Queue::gives_in_place): the scheduler publishes the depth and the
    /// room it returns (in that order), and tells the consumer when the depth is 0. None,
    /// and nothing given, while it is empty.
    #[inline]
    pub fn give_in_place(&mut self, now: Time, into: &mut Message) -> Option<(u64, u64)> {
        if self.waiting.is_empty() {
            return None;
        }
        *into = self.pop(now);
        Some(self.depth_and_room(now))
    }

    /// The end of an in-place hand-over: the depth gauge moves, and the depth and room
    /// the scheduler is to publish (what [`Queue::publish`] does for a queue that is up and
    /// does not throttle).
    #[inline]
    fn depth_and_room(&mut self, now: Time) -> (u64, u64) {
        let depth = self.waiting.len() as u64;
        self.depth.set(now, depth);
        (depth, self.room(now))
    }
}

impl Behavior for Queue {
    fn start(&mut self, ctx: &mut Ctx) {
        let free = self.free(ctx);
        ctx.set_free(free);
    }

    fn on_arrive(&mut self, ctx: &mut Ctx, _from: NodeId, msg: Message, _token: u32) {
        self.in_ += 1;
        if ctx.ended_by_faults(&mut self.lost, &mut self.failed) {
            if self.when_full == WhenFull::Throttle {
                // It took a turn all the same.
                self.publish(ctx);
            }
            return;
        }
        if self.is_full() {
            match self.when_full {
                WhenFull::DropNewest => {
                    self.dropped += 1;
                    ctx.fate(Fate::Dropped, 1);
                    return;
                }
                WhenFull::DropOldest => {
                    self.waiting.pop_front();
                    self.dropped += 1;
                    ctx.fate(Fate::Dropped, 1);
                }
                // Room was reserved by the sender; only a live capacity cut lands here.
                WhenFull::Block => {}
                // Taken in its turn, over capacity.
                WhenFull::Throttle => {}
            }
        }
        if self.waiting.is_empty()
            && let Targets::One(consumer) = self.consumers
            && !ctx.faulty()
            && ctx.has_room(consumer)
        {
            // Nothing waits and the one consumer has room: straight through, as waiting
            // no time and being handed on by `dispatch` would.
            self.wait.record(0);
            self.out += 1;
            let sent = ctx.try_send(consumer, msg, NO_TOKEN);
            debug_assert!(sent.is_ok());
            self.publish(ctx);
            return;
        }
        self.waiting.push_back((msg, ctx.now()));
        self.dispatch(ctx);
    }

    fn on_wake(&mut self, ctx: &mut Ctx) {
        self.dispatch(ctx);
    }

    /// A throttling queue's next turn is due: it has room for one more message.
    fn on_timer(&mut self, ctx: &mut Ctx, _tag: u64) {
        self.throttle.armed = false;
        self.publish(ctx);
    }

    fn on_faults(&mut self, ctx: &mut Ctx, before: FaultState) {
        if ctx.faults().crashed && !before.crashed && !self.durable {
            let n = self.waiting.len() as u64;
            self.waiting.clear();
            self.lost += n;
            ctx.fate(Fate::Lost, n);
        }
        self.dispatch(ctx);
    }

    fn reconfigure(&mut self, ctx: &mut Ctx, config: &NodeConfig) -> Result<(), String> {
        let NodeConfig::Queue(c) = config else {
            return Err("a queue's kind cannot change while the graph runs".to_owned());
        };
        // A lower capacity keeps what waits; a blocking queue then takes nothing until
        // it drains below the new capacity.
        self.capacity = c.capacity;
        self.when_full = c.when_full;
        self.durable = c.durable;
        self.throttle.gap = throttle_gap(c);
        if c.when_full != WhenFull::Throttle {
            self.throttle.end(ctx.now());
        }
        self.dispatch(ctx);
        Ok(())
    }

    fn batch_metrics(&mut self) {
        self.wait.batch_records();
    }

    fn held(&self) -> u64 {
        self.waiting.len() as u64
    }

    fn latency(&self) -> Option<&Latency> {
        Some(&self.wait)
    }

    fn report(&self, now: Time) -> NodeReport {
        NodeReport {
            kind: "queue".into(),
            in_: self.in_,
            out: self.out,
            dropped: Some(self.dropped),
            failed: Some(self.failed),
            lost: Some(self.lost),
            in_flight: Some(self.held()),
            depth: Some(self.depth.summary(now)),
            throttled_ms: (self.when_full == WhenFull::Throttle || self.throttle.spent(now) > 0)
                .then(|| ns_to_ms(self.throttle.spent(now))),
            throttling: (self.when_full == WhenFull::Throttle)
                .then_some(self.throttle.since.is_some()),
            wait_ms: Some(self.wait.summary()),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Graph, NodeConfig, QueueConfig, WhenFull};
    use crate::sim::Simulation;

    /// A producer sending `limit` messages 5 ms apart (200/s) into queue `q` (capacity 10,
    /// throttling at `rate` per second), drained by one worker taking 10 ms each (100/s).
    fn throttled(rate: f64, limit: u64) -> Graph {
        throttled_with(rate, limit, 10.0)
    }

    /// The same with the worker taking `service_ms` per message.
    fn throttled_with(rate: f64, limit: u64, service_ms: f64) -> Graph {
        Graph::from_json_str(&format!(
            r#"{{"format": "flowbench.graph", "version": 1, "seed": 1,
              "nodes": [
                {{"id": "p", "kind": "producer", "config": {{"rate_per_sec": 200,
                  "arrival": "constant", "limit": {limit}}}}},
                {{"id": "q", "kind": "queue", "config": {{"capacity": 10,
                  "when_full": "throttle", "throttle_rate_per_sec": {rate}}}}},
                {{"id": "w", "kind": "service", "config": {{"concurrency": 1,
                  "service_time": {{"dist": "const", "ms": {service_ms}}}}}}},
                {{"id": "done", "kind": "sink"}}],
              "edges": [{{"from": "p", "to": "q"}}, {{"from": "q", "to": "w"}},
                        {{"from": "w", "to": "done"}}]}}"#
        ))
        .unwrap()
    }

    /// The queue's (time ms, messages in, waiting, throttling) every millisecond until idle.
    fn trace(graph: &Graph) -> (Vec<(u64, u64, u64, bool)>, crate::report::Report) {
        let mut sim = Simulation::new(graph, None).unwrap();
        let mut out = Vec::new();
        for t in 0.. {
            sim.run_until_ms(t as f64);
            let r = sim.report(0.0);
            let q = &r.nodes["q"];
            let waiting = q.depth.unwrap().last as u64;
            out.push((t, q.in_, waiting, q.throttling.unwrap()));
            if sim.is_idle() {
                return (out, r);
            }
        }
        unreachable!()
    }

    /// The spells of throttling: (first sample throttling, first sample not).
    fn spells(trace: &[(u64, u64, u64, bool)]) -> Vec<(usize, usize)> {
        let mut spells = Vec::new();
        let mut start = None;
        for (i, &(_, _, _, throttling)) in trace.iter().enumerate() {
            match (throttling, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    spells.push((s, i));
                    start = None;
                }
                _ => {}
            }
        }
        spells
    }

    /// Once full, the queue takes one message per 20 ms (50/s) until it is down to half its
    /// capacity, then fills freely again: several spells, in each of which messages come in
    /// at the throttled pace and the queue stays above half; nothing is dropped and every
    /// message arrives.
    #[test]
    fn throttle_paces_senders_from_full_down_to_half() {
        let (trace, report) = trace(&throttled(50.0, 400));
        assert!(report.conservation.ok, "{:?}", report.conservation);
        assert_eq!(report.nodes["done"].in_, 400);
        assert_eq!(report.totals.dropped, 0);
        let q = &report.nodes["q"];
        assert_eq!(
            q.depth.unwrap().max,
            10.0,
            "never over capacity at 50/s < 100/s"
        );
        let spells = spells(&trace);
        assert!(spells.len() >= 3, "{spells:?}");
        for &(start, end) in &spells {
            let (t0, in0, waiting0, _) = trace[start];
            let (t1, in1, waiting1, _) = trace[end];
            assert!(waiting0 >= 9, "starts at capacity: {:?}", trace[start]);
            assert!(waiting1 <= 6, "ends at half capacity: {:?}", trace[end]);
            let taken = in1 - in0;
            assert!(
                taken <= (t1 - t0) / 20 + 1,
                "{taken} messages in {} ms while throttling",
                t1 - t0
            );
            assert!(
                trace[start..end].iter().all(|&(_, _, w, _)| w > 5),
                "throttles only above half capacity"
            );
        }
        let spent: u64 = spells.iter().map(|&(s, e)| trace[e].0 - trace[s].0).sum();
        let throttled_ms = q.throttled_ms.unwrap();
        assert!(
            (throttled_ms - spent as f64).abs() <= 2.0 * spells.len() as f64,
            "{throttled_ms} ms reported, {spent} ms seen"
        );
        // The producer waited for its turns: 400 messages at 200/s would take 2 s.
        assert!(report.nodes["p"].blocked_ms.unwrap() > 0.0);
    }

    /// At rate 0 a full queue takes nothing until it is down to half: a block with a low
    /// mark.
    #[test]
    fn throttle_at_rate_zero_takes_nothing_until_half_empty() {
        let (trace, report) = trace(&throttled(0.0, 200));
        assert!(report.conservation.ok);
        let spells = spells(&trace);
        assert!(spells.len() >= 2, "{spells:?}");
        for (start, end) in spells {
            assert!(
                trace[start..end]
                    .iter()
                    .all(|&(_, n, _, _)| n == trace[start].1)
            );
        }
    }

    /// Faster than the consumers, the throttled pace lets the queue grow past capacity.
    #[test]
    fn throttle_faster_than_the_consumers_passes_capacity() {
        let (_, report) = trace(&throttled(150.0, 400));
        assert!(report.conservation.ok);
        assert!(report.nodes["q"].depth.unwrap().max > 10.0);
        assert_eq!(report.totals.dropped, 0);
    }

    /// Turns come at the throttled pace even when nothing else happens: with a worker that
    /// takes 10 s per message, the queue full at 10 takes one message per 20 ms.
    #[test]
    fn turns_come_while_the_consumers_are_idle_or_stuck() {
        let graph = throttled_with(50.0, 1000, 10_000.0);
        let mut sim = Simulation::new(&graph, None).unwrap();
        // Full after 11 messages (one at the worker) at 50 ms; then 50 turns in a second.
        sim.run_until_ms(1050.0);
        let q = &sim.report(0.0).nodes["q"];
        assert_eq!(q.throttling, Some(true));
        let waiting = q.depth.unwrap().last;
        assert!((58.0..=61.0).contains(&waiting), "{waiting}");
    }

    /// A live switch from throttle to block ends the spell; the report counts the time it
    /// lasted.
    #[test]
    fn switching_to_block_ends_throttling() {
        let graph = throttled(50.0, 400);
        let mut sim = Simulation::new(&graph, None).unwrap();
        sim.run_until_ms(150.0);
        assert_eq!(sim.report(0.0).nodes["q"].throttling, Some(true));
        let config = NodeConfig::Queue(QueueConfig {
            capacity: Some(10),
            when_full: WhenFull::Block,
            ..QueueConfig::default()
        });
        sim.set_config("q", &config).unwrap();
        sim.run_until_ms(300.0);
        let q = &sim.report(0.0).nodes["q"];
        assert_eq!(q.throttling, None);
        assert!(q.throttled_ms.unwrap() > 0.0);
        assert!(q.depth.unwrap().max <= 10.0);
        sim.run_to_idle(None);
        let r = sim.report(0.0);
        assert!(r.conservation.ok);
        assert_eq!(r.nodes["done"].in_, 400);
    }
}
