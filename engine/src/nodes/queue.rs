//! `queue`: a point-to-point channel. FIFO; each message goes to exactly one consumer, the
//! next one (round robin) with a free worker. `when_full` decides what a full queue does;
//! a crash empties a non-durable queue.

use std::collections::VecDeque;

use crate::metrics::{Latency, TimeGauge};
use crate::model::{NodeConfig, QueueConfig, WhenFull};
use crate::report::NodeReport;
use crate::sim::core::{Ctx, Fate, FaultState, Message, NO_TOKEN, NodeId, Time, UNLIMITED};

use super::Behavior;

pub struct Queue {
    capacity: Option<u64>,
    when_full: WhenFull,
    durable: bool,
    consumers: Vec<NodeId>,
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
}

impl Queue {
    pub fn new(config: &QueueConfig, consumers: Vec<NodeId>, pulled: bool) -> Queue {
        Queue {
            capacity: config.capacity,
            when_full: config.when_full,
            durable: config.durable,
            consumers,
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
        }
    }

    /// Room published to senders: only a blocking queue ever says "full".
    fn free(&self, ctx: &Ctx) -> u64 {
        if ctx.faults().crashed {
            return 0;
        }
        match (self.when_full, self.capacity) {
            (WhenFull::Block, Some(cap)) => cap.saturating_sub(self.waiting.len() as u64),
            _ => UNLIMITED,
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
        if !ctx.faults().halted() && !self.consumers.is_empty() {
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
                        // A consumer that pulls comes for the message once it has room;
                        // while its handler runs it is waited for as usual.
                        if !self.pulled || ctx.is_running(c) {
                            ctx.wait_for(c);
                        } else {
                            ctx.set_inbox_waiting(c, true);
                        }
                    }
                    break;
                }
                let msg = self.pop(ctx);
                self.next = if i + 1 == n { 0 } else { i + 1 };
                let sent = ctx.try_send(self.consumers[i], msg, NO_TOKEN);
                debug_assert!(sent.is_ok());
            }
        }
        self.publish(ctx);
    }

    /// The next message goes out (the queue has one). Always inlined: it is a few lines
    /// run once per message, from the hand-on and from the consumer's pull.
    #[inline(always)]
    fn pop(&mut self, ctx: &Ctx) -> Message {
        let (msg, since) = self.waiting.pop_front().expect("not empty");
        self.wait.record(ctx.now() - since);
        self.out += 1;
        msg
    }

    /// Publishes the depth and the room the queue has now. Always inlined: it ends every
    /// handler of the queue.
    #[inline(always)]
    fn publish(&mut self, ctx: &mut Ctx) {
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
        *into = self.pop(ctx);
        if self.waiting.is_empty() {
            ctx.set_inbox_waiting(self.consumers[0], false);
        }
        self.publish(ctx);
        true
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
            }
        }
        if self.waiting.is_empty()
            && let [consumer] = *self.consumers
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
            wait_ms: Some(self.wait.summary()),
            ..Default::default()
        }
    }
}
