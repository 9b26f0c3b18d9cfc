//! One state machine per node kind, reacting to the scheduler's events through a [`Ctx`].
//! Node code never sees edges or other nodes: its targets are resolved to node ids when
//! the simulation is built, and every send goes through the context.

mod breaker;
mod broker_channel;
mod client;
mod event_log;
mod gateway;
mod producer;
mod projector;
mod queue;
mod router;
mod saga;
mod service;
mod sink;
mod topic;

use crate::model::NodeConfig;
use crate::report::NodeReport;
use crate::sim::core::{Ctx, FaultState, Message, NodeId, Outcome, Time};

pub use breaker::Breaker;
pub use broker_channel::BrokerChannel;
pub use client::Client;
pub use event_log::EventLog;
pub use gateway::{Gateway, Route};
pub use producer::Producer;
pub use projector::Projector;
pub use queue::Queue;
pub use router::Router;
pub use saga::{Saga, Step};
pub use service::Service;
pub use sink::Sink;
pub use topic::Topic;

/// What every node kind does with the scheduler's events. Defaults ignore the event.
pub trait Behavior {
    /// At time 0: arm the first timers and publish the room the node has.
    fn start(&mut self, ctx: &mut Ctx);
    fn on_timer(&mut self, _ctx: &mut Ctx, _tag: u64) {}
    /// A message arrives into room the sender reserved.
    fn on_arrive(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message, token: u32);
    fn on_call(&mut self, ctx: &mut Ctx, caller: NodeId, call_id: u64, _msg: Message) {
        ctx.reply(caller, call_id, Outcome::Failed);
    }
    fn on_reply(&mut self, _ctx: &mut Ctx, _call_id: u64, _outcome: Outcome) {}
    /// A node this one waited for has room.
    fn on_wake(&mut self, _ctx: &mut Ctx) {}
    /// A receiver finished a message this node sent with `token`.
    fn on_release(&mut self, _ctx: &mut Ctx, _token: u32) {}
    /// A scheduled or requested replay: rewind `consumer` (all when `None`) to the start.
    fn on_replay(&mut self, _ctx: &mut Ctx, _consumer: Option<NodeId>) {}
    /// The node's faults changed; `before` is what they were.
    fn on_faults(&mut self, ctx: &mut Ctx, before: FaultState);
    /// Applies a new config while running; kinds or fields that cannot change live say why.
    fn reconfigure(&mut self, _ctx: &mut Ctx, _config: &NodeConfig) -> Result<(), String> {
        Err("this kind's config cannot change while the graph runs: restart the run".to_owned())
    }
    /// Messages the node holds (for the conservation check).
    fn held(&self) -> u64;
    /// The graph is big: its nodes' state is rarely in cache, so latency histograms batch
    /// their updates ([`crate::metrics::Latency::batch_records`]).
    fn batch_metrics(&mut self) {}
    /// Whether the node keeps tracked messages until it is done with them (otherwise the
    /// token is released as soon as the message arrives).
    fn tracks_tokens(&self) -> bool {
        false
    }
    fn report(&self, now: Time) -> NodeReport;
    /// The histogram of the node's headline latency, the first of its report's
    /// `latency_ms`, `service_ms` and `wait_ms`; `None` for kinds without one.
    fn latency(&self) -> Option<&crate::metrics::Latency> {
        None
    }
}

/// A node of a running simulation. Nodes sit in one vector indexed by node id; their
/// variants differ in size, which costs a little memory per node but keeps every node one
/// indirection away.
#[allow(clippy::large_enum_variant)]
pub enum NodeState {
    Producer(Producer),
    Client(Client),
    Queue(Queue),
    Topic(Topic),
    Service(Service),
    Sink(Sink),
    Breaker(Breaker),
    Gateway(Gateway),
    Router(Router),
    EventLog(EventLog),
    Projector(Projector),
    Saga(Saga),
    /// A queue, topic or event log on a real broker.
    Broker(BrokerChannel),
}

/// Calls `$body` with `$n` bound to the node's concrete state: static dispatch, no vtable.
macro_rules! with_node {
    ($node:expr, $n:ident => $body:expr) => {
        match $node {
            $crate::nodes::NodeState::Producer($n) => $body,
            $crate::nodes::NodeState::Client($n) => $body,
            $crate::nodes::NodeState::Queue($n) => $body,
            $crate::nodes::NodeState::Topic($n) => $body,
            $crate::nodes::NodeState::Service($n) => $body,
            $crate::nodes::NodeState::Sink($n) => $body,
            $crate::nodes::NodeState::Breaker($n) => $body,
            $crate::nodes::NodeState::Gateway($n) => $body,
            $crate::nodes::NodeState::Router($n) => $body,
            $crate::nodes::NodeState::EventLog($n) => $body,
            $crate::nodes::NodeState::Projector($n) => $body,
            $crate::nodes::NodeState::Saga($n) => $body,
            $crate::nodes::NodeState::Broker($n) => $body,
        }
    };
}
pub(crate) use with_node;

/// The combined failure probability of a node's own rate and an injected `fail` fault.
pub fn combined_failure(own: f64, faults: &FaultState) -> f64 {
    1.0 - (1.0 - own.clamp(0.0, 1.0)) * (1.0 - faults.fail_rate.clamp(0.0, 1.0))
}
