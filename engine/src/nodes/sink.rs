//! `sink`: an endpoint. Every message that reaches it is delivered, its end-to-end latency
//! recorded from the message's creation.

use crate::metrics::Latency;
use crate::model::NodeConfig;
use crate::report::NodeReport;
use crate::sim::core::{Ctx, Fate, FaultState, Message, NodeId, Time, UNLIMITED};

use super::Behavior;

#[derive(Default)]
pub struct Sink {
    in_: u64,
    failed: u64,
    lost: u64,
    latency: Latency,
}

impl Sink {
    /// Takes `msg` at `now` on a sink without faults: counts it and its latency (the
    /// caller counts it delivered). Senders deliver to such a sink in place
    /// ([`Ctx::try_send`]), without running its handler.
    #[inline]
    pub fn deliver(&mut self, now: Time, msg: &Message) {
        self.in_ += 1;
        self.latency.record(now.saturating_sub(msg.created));
    }

    fn free(ctx: &Ctx) -> u64 {
        if ctx.faults().halted() { 0 } else { UNLIMITED }
    }
}

impl Behavior for Sink {
    fn start(&mut self, ctx: &mut Ctx) {
        ctx.set_free(Self::free(ctx));
    }

    fn on_arrive(&mut self, ctx: &mut Ctx, _from: NodeId, msg: Message, _token: u32) {
        if ctx.ended_by_faults(&mut self.lost, &mut self.failed) {
            self.in_ += 1;
            return;
        }
        self.deliver(ctx.now(), &msg);
        ctx.fate(Fate::Delivered, 1);
    }

    fn on_faults(&mut self, ctx: &mut Ctx, _before: FaultState) {
        ctx.set_free(Self::free(ctx));
    }

    fn reconfigure(&mut self, _ctx: &mut Ctx, config: &NodeConfig) -> Result<(), String> {
        match config {
            NodeConfig::Sink(_) => Ok(()),
            _ => Err("a sink's kind cannot change while the graph runs".to_owned()),
        }
    }

    fn batch_metrics(&mut self) {
        self.latency.batch_records();
    }

    fn held(&self) -> u64 {
        0
    }

    fn latency(&self) -> Option<&Latency> {
        Some(&self.latency)
    }

    fn report(&self, _now: Time) -> NodeReport {
        NodeReport {
            kind: "sink".into(),
            in_: self.in_,
            out: 0,
            failed: Some(self.failed),
            lost: Some(self.lost),
            latency_ms: Some(self.latency.summary()),
            ..Default::default()
        }
    }
}
