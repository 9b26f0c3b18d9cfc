//! `client`: a request-reply caller. Sends requests to its one call target at a rate and
//! waits for each reply up to `timeout_ms`; a late reply is ignored.

use crate::metrics::Latency;
use crate::model::{Arrival, ClientConfig, NodeConfig};
use crate::payload::{Fill, Template};
use crate::report::NodeReport;
use crate::sim::core::{Ctx, Fate, FaultState, Message, NodeId, Outcome, Sampler, Time, ms_to_ns};
use std::collections::VecDeque;

use super::Behavior;

const TAG_ARRIVAL: u64 = 0;
const TAG_TIMEOUT: u64 = 1 << 63;

pub struct Client {
    gap: Option<Sampler>,
    limit: Option<u64>,
    timeout: Time,
    keys: Option<u64>,
    payload: Option<Template>,
    target: Option<NodeId>,
    sent: u64,
    ok: u64,
    failed: u64,
    timeouts: u64,
    rejected: u64,
    latency: Latency,
    /// Send times of outstanding requests; call ids run from `first_id` upwards, answered
    /// ones are `None` (requests time out roughly in order, so this stays short).
    outstanding: VecDeque<Option<Time>>,
    first_id: u64,
    open: u64,
    paused: bool,
}

impl Client {
    pub fn new(config: &ClientConfig, target: Option<NodeId>) -> Client {
        Client {
            gap: Sampler::interarrival(config.rate_per_sec, config.arrival == Arrival::Poisson),
            limit: config.limit,
            timeout: ms_to_ns(config.timeout_ms),
            keys: config.keys,
            payload: config.payload.as_ref().and_then(|p| Template::new(p).ok()),
            target,
            sent: 0,
            ok: 0,
            failed: 0,
            timeouts: 0,
            rejected: 0,
            latency: Latency::default(),
            outstanding: VecDeque::new(),
            first_id: 0,
            open: 0,
            paused: false,
        }
    }

    fn schedule_next(&mut self, ctx: &mut Ctx) {
        if self.limit.is_some_and(|l| self.sent >= l) {
            return;
        }
        if let Some(gap) = self.gap {
            let delay = gap.sample(ctx.rng);
            ctx.schedule_in(delay, TAG_ARRIVAL);
        }
    }

    /// Takes request `id` off the outstanding list; `None` if it was already answered.
    fn take(&mut self, id: u64) -> Option<Time> {
        let idx = usize::try_from(id.checked_sub(self.first_id)?).ok()?;
        let sent_at = self.outstanding.get_mut(idx)?.take()?;
        self.open -= 1;
        while let Some(None) = self.outstanding.front() {
            self.outstanding.pop_front();
            self.first_id += 1;
        }
        Some(sent_at)
    }

    fn request(&mut self, ctx: &mut Ctx) {
        let key = self.keys.map(|n| ctx.below(n) as u32);
        let mut msg = ctx.new_message(key, None);
        self.sent += 1;
        if let Some(template) = &self.payload {
            let mut fill = Fill {
                seq: self.sent,
                id: msg.id,
                key,
                rng: ctx.rng,
            };
            msg.payload = Some(template.render(&mut fill));
        }
        let Some(target) = self.target else {
            self.failed += 1;
            ctx.fate(Fate::Failed, 1);
            return;
        };
        if ctx.chance(ctx.faults().fail_rate) {
            self.failed += 1;
            ctx.fate(Fate::Failed, 1);
            return;
        }
        let id = self.first_id + self.outstanding.len() as u64;
        self.outstanding.push_back(Some(ctx.now()));
        self.open += 1;
        ctx.schedule_in(self.timeout, TAG_TIMEOUT | id);
        ctx.call(target, id, msg);
    }
}

impl Behavior for Client {
    fn start(&mut self, ctx: &mut Ctx) {
        ctx.set_free(0);
        self.schedule_next(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, tag: u64) {
        if tag & TAG_TIMEOUT != 0 {
            if self.take(tag & !TAG_TIMEOUT).is_some() {
                self.timeouts += 1;
                ctx.fate(Fate::Failed, 1);
            }
            return;
        }
        if ctx.faults().halted() {
            self.paused = true;
            return;
        }
        self.request(ctx);
        self.schedule_next(ctx);
    }

    fn on_arrive(&mut self, ctx: &mut Ctx, _from: NodeId, _msg: Message, _token: u32) {
        // Clients have no input; validation refuses edges into them.
        ctx.fate(Fate::Lost, 1);
    }

    fn on_reply(&mut self, ctx: &mut Ctx, call_id: u64, outcome: Outcome) {
        let Some(sent_at) = self.take(call_id) else {
            return; // answered after its timeout
        };
        match outcome {
            Outcome::Ok => {
                self.ok += 1;
                self.latency.record(ctx.now() - sent_at);
                ctx.fate(Fate::Delivered, 1);
            }
            Outcome::Failed => {
                self.failed += 1;
                ctx.fate(Fate::Failed, 1);
            }
            Outcome::Rejected => {
                self.rejected += 1;
                ctx.fate(Fate::Rejected, 1);
            }
        }
    }

    fn on_faults(&mut self, ctx: &mut Ctx, _before: FaultState) {
        if self.paused && !ctx.faults().halted() {
            self.paused = false;
            self.schedule_next(ctx);
        }
    }

    fn reconfigure(&mut self, ctx: &mut Ctx, config: &NodeConfig) -> Result<(), String> {
        let NodeConfig::Client(c) = config else {
            return Err("a client's kind cannot change while the graph runs".to_owned());
        };
        let was_idle = self.gap.is_none() || self.limit.is_some_and(|l| self.sent >= l);
        self.gap = Sampler::interarrival(c.rate_per_sec, c.arrival == Arrival::Poisson);
        self.limit = c.limit;
        self.timeout = ms_to_ns(c.timeout_ms);
        self.keys = c.keys;
        self.payload = c.payload.as_ref().and_then(|p| Template::new(p).ok());
        if was_idle && !ctx.faults().halted() {
            self.schedule_next(ctx);
        }
        Ok(())
    }

    fn held(&self) -> u64 {
        self.open
    }

    fn latency(&self) -> Option<&Latency> {
        Some(&self.latency)
    }

    fn report(&self, _now: Time) -> NodeReport {
        NodeReport {
            kind: "client".into(),
            in_: self.ok + self.failed + self.rejected,
            out: self.sent,
            failed: Some(self.failed),
            in_flight: Some(self.open),
            ok: Some(self.ok),
            timeouts: Some(self.timeouts),
            rejected: Some(self.rejected),
            latency_ms: Some(self.latency.summary()),
            ..Default::default()
        }
    }
}
