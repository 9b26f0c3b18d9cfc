//! A `queue`, `topic` or `event_log` whose messages live on a real broker (its config has a
//! `backend`). Local senders publish through the node's [`Link`]; what the broker delivers
//! enters the graph here and goes to the local consumers:
//!
//! - queue (RabbitMQ): one broker consumer for the node; each delivery goes to one local
//!   consumer with a free worker (competing consumers, also across processes);
//! - topic (NATS): one subscription; every delivery is copied to every local subscriber,
//!   each with its own buffer of `subscriber_capacity` (NATS cannot be slowed down, so a
//!   full buffer drops, counted);
//! - event_log (JetStream): one durable consumer per local consumer, each at its own stream
//!   sequence; a replay restarts it from sequence 1.
//!
//! A delivery is acknowledged on the broker when the local consumer has finished it (a
//! service when it has handled it, a sink at once), so a process killed before that leaves
//! it unacknowledged and the broker redelivers it. A publish counts `delivered` once the
//! broker confirmed it; until then it is in flight here, and the room senders see is the
//! confirm window left, so a slow or absent broker blocks senders instead of piling up
//! messages. Without a link (not a live run) the node takes nothing.

use std::collections::{HashMap, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use indexmap::IndexMap;

use crate::broker::{Envelope, FromBroker, Link, LinkState, ToBroker};
use crate::metrics::{Latency, TimeGauge};
use crate::model::{Backend, NodeConfig, NodeKind};
use crate::report::{BrokerReport, ConsumerOffset, NodeReport, SubscriberReport};
use crate::sim::core::{Ctx, Fate, FaultState, Message, NO_TOKEN, NodeId, Time};

use super::Behavior;

/// News taken from the link in one poll at most, so a flood cannot stall the live loop.
const MAX_NEWS_PER_POLL: usize = 20_000;
/// Publishes awaiting the broker's confirm at most, when the config sets no capacity.
const DEFAULT_WINDOW: u64 = 1_000;

/// One local consumer (queue: all share index 0's broker consumer).
struct Local {
    node: NodeId,
    id: String,
    /// Deliveries waiting for this consumer (topic, event log) with their broker tags.
    waiting: VecDeque<(Message, Time, u64)>,
    delivered: u64,
    dropped: u64,
    depth: TimeGauge,
    /// Event log: the stream sequence of the last event handed over.
    last_seq: u64,
}

pub struct BrokerChannel {
    kind: NodeKind,
    backend: Backend,
    link: Option<Link>,
    /// Simulated time runs this many times faster than the wall clock (ages across
    /// processes are converted with it).
    speed: f64,
    state: LinkState,
    reconnects: u64,
    consumers: Vec<Local>,
    /// Queue: deliveries waiting for any consumer, with their tags.
    shared: VecDeque<(Message, Time, u64)>,
    next: usize,
    /// Topic: buffer size per subscriber.
    subscriber_capacity: Option<u64>,
    window: u64,
    /// Publishes sent and not yet confirmed.
    unconfirmed: u64,
    next_seq: u64,
    /// Tokens of deliveries handed to consumers: (local consumer, broker tag).
    tokens: HashMap<u32, (usize, u64)>,
    next_token: u32,
    in_: u64,
    out: u64,
    published: u64,
    confirmed: u64,
    publish_failed: u64,
    consumed: u64,
    acked: u64,
    redelivered: u64,
    dropped: u64,
    lost: u64,
    broker_depth: Option<u64>,
    depth: TimeGauge,
    wait: Latency,
}

impl BrokerChannel {
    pub fn new(config: &NodeConfig, consumers: Vec<(NodeId, String)>) -> Option<BrokerChannel> {
        let (kind, backend, window, subscriber_capacity) = match config {
            NodeConfig::Queue(c) => (NodeKind::Queue, c.backend.clone()?, c.capacity, None),
            NodeConfig::Topic(c) => (
                NodeKind::Topic,
                c.backend.clone()?,
                None,
                c.subscriber_capacity,
            ),
            NodeConfig::EventLog(c) => (NodeKind::EventLog, c.backend.clone()?, None, None),
            _ => return None,
        };
        Some(BrokerChannel {
            kind,
            backend,
            link: None,
            speed: 1.0,
            state: LinkState::Down {
                error: "not connected: brokers are used in live runs only".to_owned(),
            },
            reconnects: 0,
            consumers: consumers
                .into_iter()
                .map(|(node, id)| Local {
                    node,
                    id,
                    waiting: VecDeque::new(),
                    delivered: 0,
                    dropped: 0,
                    depth: TimeGauge::default(),
                    last_seq: 0,
                })
                .collect(),
            shared: VecDeque::new(),
            next: 0,
            subscriber_capacity,
            window: window.unwrap_or(DEFAULT_WINDOW).max(1),
            unconfirmed: 0,
            next_seq: 0,
            tokens: HashMap::new(),
            next_token: 0,
            in_: 0,
            out: 0,
            published: 0,
            confirmed: 0,
            publish_failed: 0,
            consumed: 0,
            acked: 0,
            redelivered: 0,
            dropped: 0,
            lost: 0,
            broker_depth: None,
            depth: TimeGauge::default(),
            wait: Latency::default(),
        })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Ids of the local consumers, in order (the link's consumer indices).
    pub fn consumer_ids(&self) -> Vec<String> {
        self.consumers.iter().map(|c| c.id.clone()).collect()
    }

    pub fn has_consumer(&self, node: NodeId) -> bool {
        self.consumers.iter().any(|c| c.node == node)
    }

    /// Whether the broker delivers to this node (a run with it never ends by itself).
    pub fn consumes(&self) -> bool {
        !self.consumers.is_empty()
    }

    /// Nothing of this node's is waiting: every publish confirmed, every delivery handed on.
    pub fn settled(&self) -> bool {
        self.unconfirmed == 0 && self.buffered() == 0
    }

    pub fn connect(&mut self, link: Link, speed: f64) {
        self.link = Some(link);
        self.speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        self.state = LinkState::Connecting;
    }

    pub fn link_state(&self) -> &LinkState {
        &self.state
    }

    fn buffered(&self) -> u64 {
        self.shared.len() as u64
            + self
                .consumers
                .iter()
                .map(|c| c.waiting.len() as u64)
                .sum::<u64>()
    }

    fn up(&self) -> bool {
        self.link.is_some() && self.state == LinkState::Up
    }

    fn room(&self, ctx: &Ctx) -> u64 {
        if !self.up() || ctx.faults().halted() {
            0
        } else {
            self.window.saturating_sub(self.unconfirmed)
        }
    }

    fn send(&self, command: ToBroker) {
        if let Some(link) = &self.link {
            // A closed link shows as Down through its news; nothing more to do here.
            let _ = link.tx.send(command);
        }
    }

    /// Takes the link's news: confirms, deliveries, state and broker depth. `deliveries`:
    /// false once the run is over (what the broker still delivers then goes back to it).
    pub fn poll(&mut self, ctx: &mut Ctx, deliveries: bool) -> usize {
        let mut handled = 0;
        while handled < MAX_NEWS_PER_POLL {
            let Some(news) = self.link.as_ref().and_then(|l| l.rx.try_recv().ok()) else {
                break;
            };
            handled += 1;
            match news {
                FromBroker::Confirmed { seq: _, ok, error } => {
                    self.unconfirmed = self.unconfirmed.saturating_sub(1);
                    if ok {
                        self.confirmed += 1;
                        ctx.fate(Fate::Delivered, 1);
                    } else {
                        self.publish_failed += 1;
                        ctx.fate(Fate::Failed, 1);
                        if let Some(error) = error {
                            self.state = LinkState::Down { error };
                        }
                    }
                }
                FromBroker::State(state) => {
                    if state == LinkState::Up && matches!(self.state, LinkState::Retrying { .. }) {
                        self.reconnects += 1;
                    }
                    self.state = state;
                }
                FromBroker::Depth(n) => self.broker_depth = Some(n),
                FromBroker::Delivery {
                    consumer,
                    tag,
                    redelivered,
                    stream_seq,
                    envelope,
                } => {
                    if !deliveries {
                        self.send(ToBroker::Nack { consumer, tag });
                        continue;
                    }
                    self.take_delivery(ctx, consumer, tag, redelivered, stream_seq, envelope);
                }
            }
        }
        if handled > 0 {
            self.dispatch(ctx);
        }
        handled
    }

    fn take_delivery(
        &mut self,
        ctx: &mut Ctx,
        consumer: usize,
        tag: u64,
        redelivered: bool,
        stream_seq: Option<u64>,
        envelope: Envelope,
    ) {
        // `in` counts what local senders sent into the channel; deliveries are `consumed`.
        self.consumed += 1;
        if redelivered {
            self.redelivered += 1;
        }
        let mut msg = ctx.new_message(envelope.key, envelope.payload);
        if envelope.id != 0 {
            msg.id = envelope.id;
        }
        msg.created = self.local_time_of(ctx.now(), envelope.created_unix_ns);
        let now = ctx.now();
        match self.kind {
            NodeKind::Queue => self.shared.push_back((msg, now, tag)),
            NodeKind::Topic => {
                // Every subscriber gets a copy: the first is the delivery itself.
                let n = self.consumers.len();
                if n == 0 {
                    ctx.fate(Fate::Delivered, 1);
                    return;
                }
                ctx.copies(n as u64 - 1);
                let cap = self.subscriber_capacity;
                for c in &mut self.consumers {
                    if cap.is_some_and(|cap| c.waiting.len() as u64 >= cap) {
                        c.dropped += 1;
                        self.dropped += 1;
                        ctx.fate(Fate::Dropped, 1);
                    } else {
                        c.waiting.push_back((msg.clone(), now, tag));
                    }
                }
            }
            _ => match self.consumers.get_mut(consumer) {
                Some(c) => {
                    if let Some(seq) = stream_seq {
                        c.last_seq = c.last_seq.max(seq);
                    }
                    c.waiting.push_back((msg, now, tag));
                }
                None => {
                    self.lost += 1;
                    ctx.fate(Fate::Lost, 1);
                }
            },
        }
    }

    /// Simulated time at which a message created at `created_unix_ns` (wall clock of its
    /// process) was made, as seen from now; never before the start of this run.
    fn local_time_of(&self, now: Time, created_unix_ns: u64) -> Time {
        let wall_now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let age = wall_now.saturating_sub(created_unix_ns) as f64 * self.speed;
        now.saturating_sub(age as Time)
    }

    fn unix_time_of(&self, now: Time, created: Time) -> u64 {
        let wall_now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let age = now.saturating_sub(created) as f64 / self.speed;
        wall_now.saturating_sub(age as u64)
    }

    fn token_for(&mut self, consumer: usize, tag: u64) -> u32 {
        loop {
            let token = self.next_token;
            self.next_token = self.next_token.wrapping_add(1);
            if token != NO_TOKEN && !self.tokens.contains_key(&token) {
                self.tokens.insert(token, (consumer, tag));
                return token;
            }
        }
    }

    /// Hands buffered deliveries to consumers with room.
    fn dispatch(&mut self, ctx: &mut Ctx) {
        if !ctx.faults().halted() && !self.consumers.is_empty() {
            if self.kind == NodeKind::Queue {
                let n = self.consumers.len();
                while !self.shared.is_empty() {
                    let Some(i) = (0..n)
                        .map(|i| (self.next + i) % n)
                        .find(|&i| ctx.has_room(self.consumers[i].node))
                    else {
                        for c in &self.consumers {
                            ctx.wait_for(c.node);
                        }
                        break;
                    };
                    let (msg, since, tag) = self.shared.pop_front().expect("not empty");
                    self.wait.record(ctx.now() - since);
                    self.next = (i + 1) % n;
                    self.hand_over(ctx, i, msg, tag);
                }
            } else {
                for i in 0..self.consumers.len() {
                    while !self.consumers[i].waiting.is_empty() {
                        let to = self.consumers[i].node;
                        if !ctx.has_room(to) {
                            ctx.wait_for(to);
                            break;
                        }
                        let (msg, since, tag) =
                            self.consumers[i].waiting.pop_front().expect("not empty");
                        self.wait.record(ctx.now() - since);
                        self.hand_over(ctx, i, msg, tag);
                    }
                }
            }
        }
        let now = ctx.now();
        for c in &mut self.consumers {
            c.depth.set(now, c.waiting.len() as u64);
        }
        let buffered = self.buffered();
        self.depth.set(now, buffered);
        ctx.publish_depth(buffered);
        let room = self.room(ctx);
        ctx.set_free(room);
    }

    fn hand_over(&mut self, ctx: &mut Ctx, i: usize, msg: Message, tag: u64) {
        self.out += 1;
        self.consumers[i].delivered += 1;
        let to = self.consumers[i].node;
        // NATS core has nothing to acknowledge.
        let token = if self.kind == NodeKind::Topic {
            NO_TOKEN
        } else {
            self.token_for(i, tag)
        };
        let sent = ctx.try_send(to, msg, token);
        debug_assert!(sent.is_ok());
    }

    /// The broker's state in the report: what a user needs to see trouble.
    fn broker_report(&self) -> BrokerReport {
        let (state, error) = match &self.state {
            LinkState::Connecting => ("connecting", None),
            LinkState::Up => ("up", None),
            LinkState::Down { error } => ("down", Some(error.clone())),
            LinkState::Retrying {
                attempt,
                in_ms,
                error,
            } => (
                "retrying",
                Some(format!("{error} (attempt {attempt}, next in {in_ms} ms)")),
            ),
        };
        BrokerReport {
            kind: self.backend.kind_name().to_owned(),
            url: crate::broker::mask_url(self.backend.url()),
            name: self.backend.channel_name().to_owned(),
            state: state.to_owned(),
            error,
            published: self.published,
            confirmed: self.confirmed,
            publish_failed: self.publish_failed,
            consumed: self.consumed,
            acked: self.acked,
            redelivered: self.redelivered,
            broker_depth: self.broker_depth,
            reconnects: self.reconnects,
        }
    }
}

impl Behavior for BrokerChannel {
    fn start(&mut self, ctx: &mut Ctx) {
        let room = self.room(ctx);
        ctx.set_free(room);
    }

    fn on_arrive(&mut self, ctx: &mut Ctx, _from: NodeId, msg: Message, _token: u32) {
        self.in_ += 1;
        if self.link.is_none() || ctx.faults().crashed {
            // Room is 0 then; only a send reserved just before the link went away lands here.
            self.lost += 1;
            ctx.fate(Fate::Lost, 1);
            return;
        }
        let envelope = Envelope {
            id: msg.id,
            created_unix_ns: self.unix_time_of(ctx.now(), msg.created),
            key: msg.key.get(),
            payload: msg.payload,
        };
        self.next_seq += 1;
        self.published += 1;
        self.unconfirmed += 1;
        self.send(ToBroker::Publish {
            seq: self.next_seq,
            envelope,
        });
        let room = self.room(ctx);
        ctx.set_free(room);
    }

    fn on_wake(&mut self, ctx: &mut Ctx) {
        self.dispatch(ctx);
    }

    fn on_release(&mut self, _ctx: &mut Ctx, token: u32) {
        if let Some((consumer, tag)) = self.tokens.remove(&token) {
            self.acked += 1;
            self.send(ToBroker::Ack { consumer, tag });
        }
    }

    fn on_replay(&mut self, ctx: &mut Ctx, consumer: Option<NodeId>) {
        if self.kind != NodeKind::EventLog {
            return;
        }
        for i in 0..self.consumers.len() {
            if consumer.is_some_and(|node| node != self.consumers[i].node) {
                continue;
            }
            // What waits here is delivered again from the stream: it ends here.
            let n = self.consumers[i].waiting.len() as u64;
            if n > 0 {
                self.consumers[i].waiting.clear();
                ctx.fate(Fate::Delivered, n);
            }
            self.consumers[i].last_seq = 0;
            self.send(ToBroker::Replay {
                consumer: i,
                from_seq: 1,
            });
        }
        self.dispatch(ctx);
    }

    fn on_faults(&mut self, ctx: &mut Ctx, before: FaultState) {
        if ctx.faults().crashed && !before.crashed {
            // The broker keeps the messages: what this process had taken goes back to it.
            let mut back = Vec::new();
            back.extend(self.shared.drain(..).map(|(_, _, tag)| (0, tag)));
            for (i, c) in self.consumers.iter_mut().enumerate() {
                back.extend(c.waiting.drain(..).map(|(_, _, tag)| (i, tag)));
            }
            let n = back.len() as u64;
            if self.kind != NodeKind::Topic {
                for (consumer, tag) in back {
                    self.send(ToBroker::Nack { consumer, tag });
                }
            }
            if n > 0 {
                self.lost += n;
                ctx.fate(Fate::Lost, n);
            }
        }
        self.dispatch(ctx);
    }

    fn reconfigure(&mut self, ctx: &mut Ctx, config: &NodeConfig) -> Result<(), String> {
        let backend = match config {
            NodeConfig::Queue(c) if self.kind == NodeKind::Queue => c.backend.as_ref(),
            NodeConfig::Topic(c) if self.kind == NodeKind::Topic => c.backend.as_ref(),
            NodeConfig::EventLog(c) if self.kind == NodeKind::EventLog => c.backend.as_ref(),
            _ => return Err("a node's kind cannot change while the graph runs".to_owned()),
        };
        if backend != Some(&self.backend) {
            return Err(
                "the broker binding cannot change while the graph runs: restart the run".to_owned(),
            );
        }
        match config {
            NodeConfig::Queue(c) => self.window = c.capacity.unwrap_or(DEFAULT_WINDOW).max(1),
            NodeConfig::Topic(c) => self.subscriber_capacity = c.subscriber_capacity,
            _ => {}
        }
        self.dispatch(ctx);
        Ok(())
    }

    fn held(&self) -> u64 {
        self.unconfirmed + self.buffered()
    }

    fn latency(&self) -> Option<&Latency> {
        Some(&self.wait)
    }

    fn report(&self, now: Time) -> NodeReport {
        let mut report = NodeReport {
            kind: self.kind.as_str().into(),
            in_: self.in_,
            out: self.out,
            dropped: Some(self.dropped),
            failed: Some(self.publish_failed),
            lost: Some(self.lost),
            in_flight: Some(self.held()),
            depth: Some(self.depth.summary(now)),
            wait_ms: Some(self.wait.summary()),
            broker: Some(self.broker_report()),
            ..Default::default()
        };
        match self.kind {
            NodeKind::Topic => {
                report.subscribers = Some(
                    self.consumers
                        .iter()
                        .map(|c| {
                            let sub = SubscriberReport {
                                delivered: c.delivered,
                                dropped: c.dropped,
                                depth: c.depth.summary(now),
                            };
                            (c.id.clone(), sub)
                        })
                        .collect(),
                );
            }
            NodeKind::EventLog => {
                let head = self.broker_depth.unwrap_or(0);
                let consumers: IndexMap<String, ConsumerOffset> = self
                    .consumers
                    .iter()
                    .map(|c| {
                        let at = ConsumerOffset {
                            offset: c.last_seq,
                            lag: head.saturating_sub(c.last_seq),
                        };
                        (c.id.clone(), at)
                    })
                    .collect();
                report.length = self.broker_depth;
                report.consumers = Some(consumers);
            }
            _ => {}
        }
        report
    }
}
