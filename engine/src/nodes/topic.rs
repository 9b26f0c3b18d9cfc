//! `topic`: a publish-subscribe channel. Every subscriber gets every message through its own
//! buffer of `subscriber_capacity`. A keyed message goes to partition `key % partitions`,
//! and a subscriber gets the next keyed message of a partition only once it has finished
//! the previous one, so order is kept per key even with many workers.

use std::collections::VecDeque;

use indexmap::IndexMap;

use crate::metrics::TimeGauge;
use crate::model::{TopicConfig, WhenFull};
use crate::report::{NodeReport, SubscriberReport};
use crate::sim::core::{Ctx, Fate, FaultState, Message, NO_TOKEN, NodeId, Time, UNLIMITED};

use super::Behavior;

struct Subscriber {
    node: NodeId,
    id: String,
    partitions: Vec<VecDeque<(Message, Time)>>,
    /// Partition has a keyed message out at the subscriber.
    locked: Vec<bool>,
    len: u64,
    next_partition: usize,
    delivered: u64,
    dropped: u64,
    depth: TimeGauge,
}

pub struct Topic {
    partitions: usize,
    capacity: Option<u64>,
    when_full: WhenFull,
    subs: Vec<Subscriber>,
    /// Spreads unkeyed messages over partitions.
    round_robin: usize,
    in_: u64,
    failed: u64,
    lost: u64,
    depth: TimeGauge,
}

impl Topic {
    pub fn new(config: &TopicConfig, subscribers: Vec<(NodeId, String)>) -> Topic {
        let partitions = config.partitions.max(1) as usize;
        Topic {
            partitions,
            capacity: config.subscriber_capacity,
            when_full: config.when_full,
            subs: subscribers
                .into_iter()
                .map(|(node, id)| Subscriber {
                    node,
                    id,
                    partitions: vec![VecDeque::new(); partitions],
                    locked: vec![false; partitions],
                    len: 0,
                    next_partition: 0,
                    delivered: 0,
                    dropped: 0,
                    depth: TimeGauge::default(),
                })
                .collect(),
            round_robin: 0,
            in_: 0,
            failed: 0,
            lost: 0,
            depth: TimeGauge::default(),
        }
    }

    fn free(&self, ctx: &Ctx) -> u64 {
        if ctx.faults().crashed {
            return 0;
        }
        match (self.when_full, self.capacity) {
            // Topics do not throttle (validation refuses it): they block instead.
            (WhenFull::Block | WhenFull::Throttle, Some(cap)) => self
                .subs
                .iter()
                .map(|s| cap.saturating_sub(s.len))
                .min()
                .unwrap_or(UNLIMITED),
            _ => UNLIMITED,
        }
    }

    fn total_len(&self) -> u64 {
        self.subs.iter().map(|s| s.len).sum()
    }

    fn publish_room(&mut self, ctx: &mut Ctx) {
        self.depth.set(ctx.now(), self.total_len());
        let free = self.free(ctx);
        ctx.set_free(free);
    }

    /// Puts a copy into subscriber `s`'s buffer, applying `when_full`.
    fn enqueue(&mut self, ctx: &mut Ctx, s: usize, partition: usize, msg: Message) {
        let now = ctx.now();
        let full = self.capacity.is_some_and(|cap| self.subs[s].len >= cap);
        let sub = &mut self.subs[s];
        if full {
            match self.when_full {
                WhenFull::DropNewest => {
                    sub.dropped += 1;
                    ctx.fate(Fate::Dropped, 1);
                    return;
                }
                WhenFull::DropOldest => {
                    // The oldest waiting copy of this subscriber, whatever its partition.
                    let oldest = (0..sub.partitions.len())
                        .filter_map(|p| sub.partitions[p].front().map(|(_, t)| (*t, p)))
                        .min();
                    if let Some((_, p)) = oldest {
                        sub.partitions[p].pop_front();
                        sub.len -= 1;
                        sub.dropped += 1;
                        ctx.fate(Fate::Dropped, 1);
                    }
                }
                WhenFull::Block | WhenFull::Throttle => {}
            }
        }
        sub.partitions[partition].push_back((msg, now));
        sub.len += 1;
        sub.depth.set(now, sub.len);
    }

    /// Hands subscriber `s` what it has room for, partition by partition.
    fn dispatch(&mut self, ctx: &mut Ctx, s: usize) {
        if ctx.faults().halted() {
            return;
        }
        let parts = self.partitions;
        let sub = &mut self.subs[s];
        while sub.len > 0 {
            if !ctx.has_room(sub.node) {
                ctx.wait_for(sub.node);
                break;
            }
            let ready = (0..parts)
                .map(|i| (sub.next_partition + i) % parts)
                .find(|&p| {
                    sub.partitions[p]
                        .front()
                        .is_some_and(|(m, _)| m.key.is_none() || !sub.locked[p])
                });
            let Some(p) = ready else { break };
            let (msg, _) = sub.partitions[p].pop_front().expect("not empty");
            sub.len -= 1;
            sub.next_partition = (p + 1) % parts;
            let token = if msg.key.is_some() {
                sub.locked[p] = true;
                (s * parts + p) as u32
            } else {
                NO_TOKEN
            };
            sub.delivered += 1;
            let sent = ctx.try_send(sub.node, msg, token);
            debug_assert!(sent.is_ok());
        }
        let now = ctx.now();
        sub.depth.set(now, sub.len);
    }

    fn dispatch_all(&mut self, ctx: &mut Ctx) {
        for s in 0..self.subs.len() {
            self.dispatch(ctx, s);
        }
        self.publish_room(ctx);
    }
}

impl Behavior for Topic {
    fn start(&mut self, ctx: &mut Ctx) {
        self.publish_room(ctx);
    }

    fn on_arrive(&mut self, ctx: &mut Ctx, _from: NodeId, msg: Message, _token: u32) {
        self.in_ += 1;
        if ctx.ended_by_faults(&mut self.lost, &mut self.failed) {
            return;
        }
        if self.subs.is_empty() {
            ctx.fate(Fate::Delivered, 1);
            return;
        }
        let partition = match msg.key.get() {
            Some(k) => k as usize % self.partitions,
            None => {
                self.round_robin = (self.round_robin + 1) % self.partitions;
                self.round_robin
            }
        };
        ctx.copies(self.subs.len() as u64 - 1);
        let last = self.subs.len() - 1;
        for s in 0..last {
            self.enqueue(ctx, s, partition, msg.clone());
        }
        self.enqueue(ctx, last, partition, msg);
        for s in 0..self.subs.len() {
            self.dispatch(ctx, s);
        }
        self.publish_room(ctx);
    }

    fn on_wake(&mut self, ctx: &mut Ctx) {
        self.dispatch_all(ctx);
    }

    fn on_release(&mut self, ctx: &mut Ctx, token: u32) {
        let (s, p) = (
            token as usize / self.partitions,
            token as usize % self.partitions,
        );
        if let Some(sub) = self.subs.get_mut(s) {
            sub.locked[p] = false;
            self.dispatch(ctx, s);
            self.publish_room(ctx);
        }
    }

    fn on_faults(&mut self, ctx: &mut Ctx, before: FaultState) {
        if ctx.faults().crashed && !before.crashed {
            let now = ctx.now();
            for sub in &mut self.subs {
                let n = sub.len;
                sub.partitions.iter_mut().for_each(VecDeque::clear);
                sub.len = 0;
                sub.depth.set(now, 0);
                self.lost += n;
                ctx.fate(Fate::Lost, n);
            }
        }
        self.dispatch_all(ctx);
    }

    fn held(&self) -> u64 {
        self.total_len()
    }

    fn report(&self, now: Time) -> NodeReport {
        let subscribers: IndexMap<String, SubscriberReport> = self
            .subs
            .iter()
            .map(|s| {
                let r = SubscriberReport {
                    delivered: s.delivered,
                    dropped: s.dropped,
                    depth: s.depth.summary(now),
                };
                (s.id.clone(), r)
            })
            .collect();
        NodeReport {
            kind: "topic".into(),
            in_: self.in_,
            out: self.subs.iter().map(|s| s.delivered).sum(),
            dropped: Some(self.subs.iter().map(|s| s.dropped).sum()),
            failed: Some(self.failed),
            lost: Some(self.lost),
            in_flight: Some(self.held()),
            depth: Some(self.depth.summary(now)),
            subscribers: Some(subscribers),
            ..Default::default()
        }
    }
}
