//! `producer`: a message source at a rate, Poisson or evenly spaced, until its `limit`.
//! When a next node is full and blocks, the producer stops emitting until there is room and
//! counts the time it was blocked.

use crate::model::{Arrival, NodeConfig, ProducerConfig};
use crate::payload::{Fill, Template};
use crate::report::NodeReport;
use crate::sim::core::{
    Ctx, DrawAhead, Fate, FaultState, Message, NodeId, Sampler, Targets, Time, ns_to_ms,
};

use super::Behavior;

pub struct Producer {
    gap: Option<Sampler>,
    /// The next gap, drawn ahead ([`DrawAhead`]).
    ahead: DrawAhead,
    limit: Option<u64>,
    keys: Option<u64>,
    payload: Option<Template>,
    targets: Targets,
    made: u64,
    out: u64,
    failed: u64,
    /// Copies the next nodes refused; the producer is blocked while any is left.
    pending: Vec<(NodeId, Message)>,
    blocked_since: Option<Time>,
    blocked_ns: Time,
    /// An arrival fell while the producer was halted; it resumes when the fault ends.
    paused: bool,
}

impl Producer {
    pub fn new(config: &ProducerConfig, targets: Vec<NodeId>) -> Producer {
        Producer {
            gap: Sampler::interarrival(config.rate_per_sec, config.arrival == Arrival::Poisson),
            ahead: DrawAhead::default(),
            limit: config.limit,
            keys: config.keys,
            payload: config.payload.as_ref().and_then(|p| Template::new(p).ok()),
            targets: targets.into(),
            made: 0,
            out: 0,
            failed: 0,
            pending: Vec::new(),
            blocked_since: None,
            blocked_ns: 0,
            paused: false,
        }
    }

    fn schedule_next(&mut self, ctx: &mut Ctx) {
        if self.limit.is_some_and(|l| self.made >= l) {
            return;
        }
        if let Some(gap) = self.gap {
            let delay = self.ahead.take(&gap, ctx.rng);
            ctx.schedule_in(delay, 0);
        }
    }

    fn emit(&mut self, ctx: &mut Ctx) {
        if self.keys.is_none() && self.payload.is_none() && !ctx.faulty() {
            // A bare message, the commonest: nothing to draw or to fail.
            let msg = ctx.new_message(None, None);
            self.made += 1;
            self.out += 1;
            ctx.send_out(&self.targets, msg, false, &mut self.pending);
            return;
        }
        // Keys, payloads and failures under a fault draw from the same stream as the gaps.
        self.ahead.rewind(ctx.rng);
        let key = self.keys.map(|n| ctx.below(n) as u32);
        let mut msg = ctx.new_message(key, None);
        self.made += 1;
        if let Some(template) = &self.payload {
            let mut fill = Fill {
                seq: self.made,
                id: msg.id,
                key,
                rng: ctx.rng,
            };
            msg.payload = Some(template.render(&mut fill));
        }
        if ctx.chance(ctx.faults().fail_rate) {
            self.failed += 1;
            ctx.fate(Fate::Failed, 1);
            return;
        }
        self.out += 1;
        ctx.send_out(&self.targets, msg, false, &mut self.pending);
    }
}

impl Behavior for Producer {
    fn start(&mut self, ctx: &mut Ctx) {
        ctx.set_free(0);
        self.schedule_next(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, _tag: u64) {
        if ctx.faults().halted() {
            self.paused = true;
            return;
        }
        self.emit(ctx);
        if self.pending.is_empty() {
            self.schedule_next(ctx);
        } else {
            self.blocked_since = Some(ctx.now());
        }
    }

    fn on_arrive(&mut self, ctx: &mut Ctx, _from: NodeId, _msg: Message, _token: u32) {
        // Producers have no input; validation refuses edges into them.
        ctx.fate(Fate::Lost, 1);
    }

    fn on_wake(&mut self, ctx: &mut Ctx) {
        if self.pending.is_empty() || !ctx.retry_pending(&mut self.pending) {
            return;
        }
        if let Some(since) = self.blocked_since.take() {
            self.blocked_ns += ctx.now() - since;
        }
        if ctx.faults().halted() {
            self.paused = true;
        } else {
            self.schedule_next(ctx);
        }
    }

    fn on_faults(&mut self, ctx: &mut Ctx, _before: FaultState) {
        if self.paused && !ctx.faults().halted() && self.pending.is_empty() {
            self.paused = false;
            self.schedule_next(ctx);
        }
    }

    fn reconfigure(&mut self, ctx: &mut Ctx, config: &NodeConfig) -> Result<(), String> {
        let NodeConfig::Producer(c) = config else {
            return Err("a producer's kind cannot change while the graph runs".to_owned());
        };
        let was_idle = self.gap.is_none() || self.limit.is_some_and(|l| self.made >= l);
        self.ahead.rewind(ctx.rng);
        self.gap = Sampler::interarrival(c.rate_per_sec, c.arrival == Arrival::Poisson);
        self.limit = c.limit;
        self.keys = c.keys;
        self.payload = c.payload.as_ref().and_then(|p| Template::new(p).ok());
        // A producer that had stopped (rate 0, limit reached) starts again if it can.
        if was_idle && self.pending.is_empty() && !ctx.faults().halted() {
            self.schedule_next(ctx);
        }
        Ok(())
    }

    fn held(&self) -> u64 {
        self.pending.len() as u64
    }

    fn report(&self, now: Time) -> NodeReport {
        let blocked = self.blocked_ns + self.blocked_since.map_or(0, |s| now - s);
        NodeReport {
            kind: "producer".into(),
            in_: 0,
            out: self.out,
            failed: Some(self.failed),
            in_flight: Some(self.held()),
            blocked_ms: Some(ns_to_ms(blocked)),
            ..Default::default()
        }
    }
}
