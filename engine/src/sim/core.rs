//! The scheduler's state shared by every node: the clock, the event queues, the room each
//! node has for more messages, who waits for that room, and the totals every message ends
//! up in. Nodes see it through [`Ctx`], never directly.

use std::collections::VecDeque;
use std::sync::Arc;

use rand::Rng as _;
use rand_distr::{Exp1, StandardNormal};
use serde_json::Value;

use super::exp::exp1;
use crate::model::{Dist, lognormal_sigma};
use crate::nodes::{Behavior, NodeState, with_node};

/// Simulated time in nanoseconds since the start of the run.
pub type Time = u64;
/// Index of a node in the graph's node list.
pub type NodeId = u32;
/// The per-node random stream.
pub type Rng = rand_pcg::Pcg64Mcg;

/// Room that never runs out (sinks, queues that drop instead of blocking).
pub const UNLIMITED: u64 = u64::MAX;

pub fn ms_to_ns(ms: f64) -> Time {
    if ms.is_finite() && ms > 0.0 {
        (ms * 1e6).round().min(u64::MAX as f64) as Time
    } else {
        0
    }
}

pub fn ns_to_ms(ns: Time) -> f64 {
    ns as f64 / 1e6
}

/// A message: small and cheap to copy; queues hold millions of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: u64,
    /// When its producer or client made it (for end-to-end latency).
    pub created: Time,
    pub key: Key,
    pub payload: Option<Arc<Value>>,
}

/// A message's key (partitioning, the read model's rows) or none: an optional `u32` kept in
/// a whole word, so that a message is four words written and read whole. An
/// `Option<u32>` is two 4-byte halves, and a message built half by half and then moved as
/// 16-byte blocks (into a queue, a worker's job) makes the processor wait for the halves
/// to reach memory before it can read the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key(u64);

impl Key {
    pub const NONE: Key = Key(u64::MAX);

    #[inline]
    pub fn get(self) -> Option<u32> {
        u32::try_from(self.0).ok()
    }

    #[inline]
    pub fn is_some(self) -> bool {
        self.0 != Key::NONE.0
    }

    #[inline]
    pub fn is_none(self) -> bool {
        !self.is_some()
    }
}

impl From<Option<u32>> for Key {
    #[inline]
    fn from(key: Option<u32>) -> Key {
        key.map_or(Key::NONE, |k| Key(u64::from(k)))
    }
}

impl Default for Message {
    fn default() -> Self {
        Message::EMPTY
    }
}

impl Message {
    /// No message: what a finished job keeps in place of the one it sent on.
    pub const EMPTY: Message = Message {
        id: 0,
        created: 0,
        key: Key::NONE,
        payload: None,
    };
}

/// How a synchronous call ended, as seen by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Failed,
    Rejected,
}

/// Where a message's journey ended (graph-format.md §2 `totals`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Delivered,
    Dropped,
    Failed,
    Rejected,
    Filtered,
    Lost,
}

/// Something that happens to one node now: what waits in the same-instant queue (timers
/// and faults wait in the time-ordered heap as [`Timed`]).
#[derive(Debug)]
pub enum Event {
    /// A message delivered into room the sender reserved. `token` is the sender's, handed
    /// back with [`Event::Release`] once the receiver is done (ordered delivery).
    Arrive {
        to: NodeId,
        from: NodeId,
        msg: Message,
        token: u32,
    },
    /// A synchronous call; the callee answers with [`Event::Reply`] carrying `call_id`.
    Call {
        to: NodeId,
        caller: NodeId,
        call_id: u64,
        msg: Message,
    },
    Reply {
        to: NodeId,
        call_id: u64,
        outcome: Outcome,
    },
    /// The receiver of a tracked message finished it.
    Release { to: NodeId, token: u32 },
}

/// No node (see [`Core::current`]).
pub const NO_NODE: NodeId = NodeId::MAX;

/// Token meaning "not tracked".
pub const NO_TOKEN: u32 = u32::MAX;

/// A node's output targets. One target, as most nodes have, is kept in place: sending
/// then reads no line of memory beyond the node's own (a boxed list is an allocation of
/// its own, a cache miss per message in a graph too big for the caches). More are boxed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    One(NodeId),
    Many(Box<[NodeId]>),
}

// As small as the box alone: the one target fits beside the box's pointer.
const _: () = assert!(std::mem::size_of::<Targets>() == 16);

impl From<Vec<NodeId>> for Targets {
    fn from(targets: Vec<NodeId>) -> Targets {
        match *targets {
            [one] => Targets::One(one),
            _ => Targets::Many(targets.into_boxed_slice()),
        }
    }
}

impl std::ops::Deref for Targets {
    type Target = [NodeId];

    #[inline]
    fn deref(&self) -> &[NodeId] {
        match self {
            Targets::One(one) => std::slice::from_ref(one),
            Targets::Many(many) => many,
        }
    }
}

impl<'a> IntoIterator for &'a Targets {
    type Item = &'a NodeId;
    type IntoIter = std::slice::Iter<'a, NodeId>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// How deep deliveries may nest: a message handed on at once may be handed on again from
/// the receiver's handler, up to this depth; deeper ones wait in the same-instant queue (a
/// long chain of channels must not exhaust the stack).
const MAX_DEPTH: u32 = 16;

/// The events that wait in the time-ordered heap: only timers and faults, so heap entries
/// stay small (messages travel through the same-instant queue instead). They are handled
/// as they leave the heap, never turned into an [`Event`].
#[derive(Debug, Clone, Copy)]
pub enum Timed {
    /// A timer the node set for itself; `tag` is the node's own.
    Timer { node: NodeId, tag: u64 },
    /// A scheduled fault starts or ends.
    Fault { index: u32, start: bool },
}

/// Bits of a heap key's low half that name the pending event's slot in
/// [`TimerHeap::timed`]; the bits above them hold the sequence number of its scheduling.
const SLOT_BITS: u32 = 28;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;
/// Sequence numbers start again from 0 (pending events renumbered in order) when they reach
/// this.
const SEQ_LIMIT: u64 = 1 << (64 - SLOT_BITS);

/// No slot (see [`TimerHeap::spare`]).
const NO_SLOT: u32 = u32::MAX;

/// The time-ordered events: a 4-ary min-heap of 16-byte keys, half as deep as a binary
/// heap. A key is the time in its high 64 bits, then the sequence number of the scheduling
/// (earlier first at one instant), then the slot in `timed` where the event waits: the
/// heap moves only keys, so a big heap (tens of thousands of timers) stays half as large
/// in the caches.
struct TimerHeap {
    keys: Vec<u128>,
    /// Events by slot; free slots are `spare` and those listed in `free`.
    timed: Vec<Timed>,
    /// The slot freed last, [`NO_SLOT`] when none: most timers are set by the handler of
    /// the one that just left, which takes its slot without touching the list.
    spare: u32,
    free: Vec<u32>,
    /// Sequence number of the next scheduling.
    seq: u64,
}

impl Default for TimerHeap {
    fn default() -> Self {
        TimerHeap {
            keys: Vec::new(),
            timed: Vec::new(),
            spare: NO_SLOT,
            free: Vec::new(),
            seq: 0,
        }
    }
}

fn time_of(key: u128) -> Time {
    (key >> 64) as Time
}

impl TimerHeap {
    fn peek_time(&self) -> Option<Time> {
        self.keys.first().copied().map(time_of)
    }

    /// The earliest event, left in the heap.
    #[inline]
    fn peek(&self) -> Option<Timed> {
        let key = *self.keys.first()?;
        Some(self.timed[(key as u64 & SLOT_MASK) as usize])
    }

    /// Always inlined: passed by reference to a call of its own, the event was stored
    /// field by field and read back whole, a store the processor could not forward (about
    /// half of the push's samples on M/M/1).
    #[inline(always)]
    fn push(&mut self, time: Time, event: Timed) {
        let spare = std::mem::replace(&mut self.spare, NO_SLOT);
        let reused = if spare != NO_SLOT {
            Some(spare)
        } else {
            self.free.pop()
        };
        let slot = match reused {
            Some(slot) => {
                self.timed[slot as usize] = event;
                u64::from(slot)
            }
            None => {
                let slot = self.timed.len() as u64;
                assert!(
                    slot <= SLOT_MASK,
                    "more than {} timers pending at once",
                    SLOT_MASK + 1
                );
                self.timed.push(event);
                slot
            }
        };
        if self.seq == SEQ_LIMIT {
            self.renumber();
        }
        let key = (u128::from(time) << 64) | u128::from((self.seq << SLOT_BITS) | slot);
        self.seq += 1;
        let mut i = self.keys.len();
        self.keys.push(key);
        let keys = &mut self.keys[..];
        while i > 0 {
            let parent = (i - 1) / 4;
            if keys[parent] <= key {
                break;
            }
            keys[i] = keys[parent];
            i = parent;
        }
        keys[i] = key;
    }

    /// Gives the pending events new sequence numbers from 0, in the order they have.
    #[cold]
    fn renumber(&mut self) {
        // A sorted array is a valid heap.
        self.keys.sort_unstable();
        for (seq, key) in self.keys.iter_mut().enumerate() {
            let slot = *key as u64 & SLOT_MASK;
            *key =
                (u128::from(time_of(*key)) << 64) | u128::from(((seq as u64) << SLOT_BITS) | slot);
        }
        self.seq = self.keys.len() as u64;
    }

    #[inline]
    fn pop(&mut self) -> Option<(Time, Timed)> {
        let last = self.keys.pop()?;
        let top = if self.keys.len() > 1 {
            let top = self.keys[0];
            self.sift_down(last);
            top
        } else {
            // No key left, or the root alone: `last` is the new root, no comparison needed.
            match self.keys.first_mut() {
                Some(root) => std::mem::replace(root, last),
                None => last,
            }
        };
        let slot = (top as u64 & SLOT_MASK) as u32;
        if self.spare == NO_SLOT {
            self.spare = slot;
        } else {
            self.free.push(slot);
        }
        Some((time_of(top), self.timed[slot as usize]))
    }

    /// Fills the hole at the root with `last`: the hole goes down along the smallest
    /// children to the bottom, then `last` rises from there to its place (it came from the
    /// bottom, so it rarely rises far). One comparison per child and no comparison with
    /// `last` on the way down; the smallest of four is picked without branches.
    #[inline]
    fn sift_down(&mut self, last: u128) {
        let keys = &mut self.keys[..];
        let len = keys.len();
        let mut hole = 0;
        loop {
            let first = 4 * hole + 1;
            if first + 4 <= len {
                let c = &keys[first..first + 4];
                let (a, i) = if c[1] < c[0] { (c[1], 1) } else { (c[0], 0) };
                let (b, j) = if c[3] < c[2] { (c[3], 3) } else { (c[2], 2) };
                let child = first + if b < a { j } else { i };
                keys[hole] = keys[child];
                hole = child;
            } else if first < len {
                let mut child = first;
                for c in first + 1..len {
                    if keys[c] < keys[child] {
                        child = c;
                    }
                }
                keys[hole] = keys[child];
                hole = child;
            } else {
                break;
            }
        }
        while hole > 0 {
            let parent = (hole - 1) / 4;
            if keys[parent] <= last {
                break;
            }
            keys[hole] = keys[parent];
            hole = parent;
        }
        keys[hole] = last;
    }
}

/// Faults active on one node, combined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultState {
    /// Share of work that fails.
    pub fail_rate: f64,
    /// Service time multiplier.
    pub slow_factor: f64,
    pub crashed: bool,
    pub stopped: bool,
}

impl Default for FaultState {
    fn default() -> Self {
        FaultState::NONE
    }
}

impl FaultState {
    /// No fault active.
    pub const NONE: FaultState = FaultState {
        fail_rate: 0.0,
        slow_factor: 1.0,
        crashed: false,
        stopped: false,
    };

    /// Down or stopped: takes no new work.
    pub fn halted(&self) -> bool {
        self.crashed || self.stopped
    }
}

/// Running totals of where messages went.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub created: u64,
    pub copies: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub failed: u64,
    pub rejected: u64,
    pub filtered: u64,
    pub lost: u64,
}

/// The scheduler's per-node state an event touches, together in one cache line with the
/// node itself.
#[repr(align(64))]
struct Slot {
    /// The node; out of its place (`None`) while its handler runs (further down the call
    /// stack): it takes nothing until it returns.
    cell: Option<Box<NodeCell>>,
    /// Messages the node can take now, by its own count.
    free: u64,
    /// Messages sent to it and not yet arrived (they hold reserved room).
    incoming: u64,
    /// Messages waiting in it, as channels publish it (autoscalers read it).
    depth: u64,
    faults: FaultState,
    /// Some node waits for this one to have room (see `Core::waiters`).
    has_waiters: bool,
    /// `faults` is not the default (some fault is active).
    faulty: bool,
    /// The node's inbox queue holds messages for it (see [`Ctx::pull_from`]).
    inbox_waiting: bool,
}

// One cache line per node, the node's box included.
const _: () = assert!(std::mem::size_of::<Slot>() == 64);

impl Slot {
    fn new(cell: NodeCell) -> Slot {
        Slot {
            cell: Some(Box::new(cell)),
            free: 0,
            incoming: 0,
            depth: 0,
            faults: FaultState::default(),
            has_waiters: false,
            faulty: false,
            inbox_waiting: false,
        }
    }

    /// The node's handler is running: it has no room.
    #[inline]
    fn active(&self) -> bool {
        self.cell.is_none()
    }

    fn cell(&self) -> &NodeCell {
        self.cell
            .as_ref()
            .expect("a node's state is in place between events")
    }
}

/// A node's state machine and its random stream, kept together: one allocation per node,
/// taken out of its slot while its handler runs. The stream comes first and the cell
/// starts a cache line: an event's draw, the node's kind and its first fields (where
/// services keep what an event reads) then share the cell's first lines.
#[repr(C, align(64))]
pub struct NodeCell {
    pub rng: Rng,
    pub state: NodeState,
}

pub struct Core {
    pub now: Time,
    heap: TimerHeap,
    /// Events at `now`, in the order they were raised; run before the heap's.
    pub ready: VecDeque<Event>,
    pub events: u64,
    next_message_id: u64,
    pub tally: Tally,
    /// The nodes and their scheduler state, by id.
    slots: Vec<Slot>,
    /// Per node: nodes waiting for it to have room.
    waiters: Vec<Vec<NodeId>>,
    /// Senders to wake because a node they waited for has room, in order; woken once the
    /// handler that made the room returns ([`Core::run_wakes`]).
    wakes: VecDeque<NodeId>,
    /// Deliveries nested now (see [`MAX_DEPTH`]).
    depth: u32,
    /// The node whose handler runs now (to blame when a handler panics), [`NO_NODE`]
    /// between events: a plain id, saved and restored around every handler.
    pub current: NodeId,
    /// Read ahead the node of the next timer as each timer leaves the heap (big graphs;
    /// see [`Core::read_next_node`]).
    pub read_ahead: bool,
}

impl Core {
    pub fn new(nodes: Vec<NodeCell>) -> Core {
        let n = nodes.len();
        Core {
            now: 0,
            heap: TimerHeap::default(),
            ready: VecDeque::new(),
            events: 0,
            next_message_id: 0,
            tally: Tally::default(),
            slots: nodes.into_iter().map(Slot::new).collect(),
            waiters: vec![Vec::new(); n],
            wakes: VecDeque::new(),
            depth: 0,
            current: NO_NODE,
            read_ahead: false,
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Node `i`'s state. Panics for a node whose handler failed part-way (the run is then
    /// over: the runtime reports the failure).
    pub fn node(&self, i: usize) -> &NodeState {
        &self.slots[i].cell().state
    }

    pub fn node_mut(&mut self, i: usize) -> &mut NodeState {
        &mut self.slots[i]
            .cell
            .as_mut()
            .expect("a node's state is in place between events")
            .state
    }

    /// Every node's state, by id.
    pub fn states(&self) -> impl Iterator<Item = &NodeState> {
        self.slots.iter().map(|slot| &slot.cell().state)
    }

    /// Runs `f` on node `i` with a context for it: its handler. While it runs the node is
    /// out of its place and takes nothing (it has no room); once it returns, senders that
    /// waited for it are woken if it has room.
    #[inline]
    pub fn activate<R>(&mut self, i: NodeId, f: impl FnOnce(&mut NodeState, &mut Ctx) -> R) -> R {
        let slot = &mut self.slots[i as usize];
        let faulty = slot.faulty;
        let cell = slot
            .cell
            .take()
            .expect("a node's handler never runs inside itself");
        self.run_handler(i, cell, faulty, f)
    }

    /// [`Core::activate`] once node `i` is out of its slot (`cell`, with the slot's
    /// `faulty`): callers that looked at the slot already take the node out themselves.
    #[inline]
    fn run_handler<R>(
        &mut self,
        i: NodeId,
        mut cell: Box<NodeCell>,
        faulty: bool,
        f: impl FnOnce(&mut NodeState, &mut Ctx) -> R,
    ) -> R {
        let outer = std::mem::replace(&mut self.current, i);
        let result = {
            let mut ctx = Ctx {
                core: self,
                me: i,
                rng: &mut cell.rng,
                faulty,
            };
            f(&mut cell.state, &mut ctx)
        };
        self.current = outer;
        let slot = &mut self.slots[i as usize];
        // The slot is empty while the handler runs: nothing to drop when the node returns.
        let empty = slot.cell.replace(cell);
        debug_assert!(empty.is_none());
        std::mem::forget(empty);
        if slot.has_waiters {
            self.wake_waiters(i);
        }
        result
    }

    /// Runs the handler of a timer `node` set.
    #[inline]
    pub fn timer(&mut self, node: NodeId, tag: u64) {
        // As in `arrive`: the commonest timers are told apart by comparisons.
        self.activate(node, |n, ctx| match n {
            NodeState::Service(n) => n.on_timer(ctx, tag),
            NodeState::Producer(n) => n.on_timer(ctx, tag),
            other => timer_elsewhere(other, ctx, tag),
        });
    }

    /// Handles a node's event from the same-instant queue.
    #[inline]
    pub fn handle(&mut self, event: Event) {
        match event {
            Event::Arrive {
                to,
                from,
                msg,
                token,
            } => {
                self.arrived(to);
                self.activate(to, |n, ctx| arrive(n, ctx, from, msg, token));
            }
            Event::Call {
                to,
                caller,
                call_id,
                msg,
            } => self.activate(to, |n, ctx| {
                with_node!(n, n => n.on_call(ctx, caller, call_id, msg));
            }),
            Event::Reply {
                to,
                call_id,
                outcome,
            } => self.activate(to, |n, ctx| {
                with_node!(n, n => n.on_reply(ctx, call_id, outcome));
            }),
            Event::Release { to, token } => {
                self.activate(to, |n, ctx| with_node!(n, n => n.on_release(ctx, token)));
            }
        }
    }

    /// Wakes the senders waiting for room, in the order they began to wait, until none is
    /// left. Runs after every handler called from outside a handler.
    ///
    /// Most events wake nobody: the test for that is inlined in the event loop, the wakes
    /// themselves run out of line.
    #[inline]
    pub fn run_wakes(&mut self) {
        if !self.wakes.is_empty() {
            self.wake_senders();
        }
    }

    #[inline(never)]
    fn wake_senders(&mut self) {
        while let Some(w) = self.wakes.pop_front() {
            self.events += 1;
            self.activate(w, |n, ctx| with_node!(n, n => n.on_wake(ctx)));
        }
    }

    /// `node` has room and senders wait for it: they are to be woken.
    #[inline]
    fn wake_waiters(&mut self, node: NodeId) {
        let slot = &mut self.slots[node as usize];
        if slot.active() || slot.free <= slot.incoming {
            return;
        }
        slot.has_waiters = false;
        let waiters = &mut self.waiters[node as usize];
        self.wakes.extend(waiters.iter().copied());
        waiters.clear();
    }

    #[inline]
    pub fn schedule_at(&mut self, time: Time, event: Timed) {
        self.heap.push(time.max(self.now), event);
    }

    /// Time of the next event, if any.
    #[inline]
    pub fn next_time(&self) -> Option<Time> {
        if self.ready.is_empty() {
            self.heap.peek_time()
        } else {
            Some(self.now)
        }
    }

    /// Takes the next event of the time-ordered heap if it is due by `t`, advancing the
    /// clock to it. The same-instant queue comes first: the caller empties it before.
    #[inline]
    pub fn pop_timed_until(&mut self, t: Time) -> Option<Timed> {
        if self.heap.peek_time()? > t {
            return None;
        }
        let (time, event) = self.heap.pop()?;
        self.now = time;
        if self.read_ahead {
            self.read_next_node();
        }
        Some(event)
    }

    /// Reads the first word of the node that the next timer is for, mostly the next event's
    /// node: in a graph too big for the caches its state is then on its way from memory
    /// while this event runs, instead of being waited for when that one starts.
    #[inline]
    fn read_next_node(&self) {
        if let Some(Timed::Timer { node, .. }) = self.heap.peek()
            && let Some(cell) = &self.slots[node as usize].cell
        {
            std::hint::black_box(std::mem::discriminant(&cell.state));
        }
    }

    /// The consumer a message for `queue` would wait for, when the queue can take it in
    /// place ([`crate::nodes::Queue::wait_in_place`]): a queue without faults whose one
    /// consumer pulls, is not running and has no room. None otherwise.
    #[inline]
    fn waits_in_place(&self, queue: NodeId) -> Option<NodeId> {
        let slot = &self.slots[queue as usize];
        if slot.faulty {
            return None;
        }
        let NodeState::Queue(q) = &slot.cell.as_ref()?.state else {
            return None;
        };
        let consumer = q.puller_in_place()?;
        let c = &self.slots[consumer as usize];
        (!c.active() && c.free <= c.incoming).then_some(consumer)
    }

    /// After a hand-over `node` made without its handler: publishes the depth and room it
    /// returned, then wakes waiting senders, as [`Core::run_handler`] does once a handler
    /// returns.
    #[inline]
    fn published_in_place(&mut self, node: NodeId, depth: u64, free: u64) {
        let slot = &mut self.slots[node as usize];
        slot.depth = depth;
        slot.free = free;
        self.woken_in_place(node);
    }

    /// [`Core::published_in_place`] when nothing changed: only the wake.
    #[inline]
    fn woken_in_place(&mut self, node: NodeId) {
        if self.slots[node as usize].has_waiters {
            self.wake_waiters(node);
        }
    }

    /// Room `to` has for one more message now: none while its handler runs.
    #[inline]
    pub fn room(&self, to: NodeId) -> u64 {
        let slot = &self.slots[to as usize];
        if slot.active() {
            0
        } else {
            slot.free.saturating_sub(slot.incoming)
        }
    }

    /// Called as an `Arrive` is dispatched: its reservation turns into the message itself.
    #[inline]
    pub fn arrived(&mut self, to: NodeId) {
        let i = &mut self.slots[to as usize].incoming;
        *i = i.saturating_sub(1);
    }

    pub fn faults(&self, node: NodeId) -> FaultState {
        self.slots[node as usize].faults
    }

    pub fn set_faults(&mut self, node: NodeId, faults: FaultState) {
        let slot = &mut self.slots[node as usize];
        slot.faults = faults;
        slot.faulty = faults != FaultState::default();
    }
}

/// A message arriving at `node`: its handler, then, for a tracked message the node does not
/// keep track of, the release back to the sender. Always inlined: every hand-over
/// ([`Ctx::try_send`]) runs it, and a call of its own would cost about as much as it does.
#[inline(always)]
fn arrive(node: &mut NodeState, ctx: &mut Ctx, from: NodeId, msg: Message, token: u32) {
    // The kinds most messages arrive at are told apart by a few comparisons, the others by
    // the general dispatch out of line: a jump through a table of every kind was the
    // costliest guess of the hand-over when it went wrong.
    let tracks = match node {
        NodeState::Queue(n) => {
            n.on_arrive(ctx, from, msg, token);
            n.tracks_tokens()
        }
        NodeState::Service(n) => {
            n.on_arrive(ctx, from, msg, token);
            n.tracks_tokens()
        }
        NodeState::Sink(n) => {
            n.on_arrive(ctx, from, msg, token);
            n.tracks_tokens()
        }
        other => arrive_elsewhere(other, ctx, from, msg, token),
    };
    if token != NO_TOKEN && !tracks {
        ctx.release(from, token);
    }
}

/// [`arrive`] at a node of another kind; whether it tracks tokens.
#[inline(never)]
fn arrive_elsewhere(
    node: &mut NodeState,
    ctx: &mut Ctx,
    from: NodeId,
    msg: Message,
    token: u32,
) -> bool {
    with_node!(node, n => {
        n.on_arrive(ctx, from, msg, token);
        n.tracks_tokens()
    })
}

/// A timer of a node of a kind [`Core::timer`] does not tell apart itself.
#[inline(never)]
fn timer_elsewhere(node: &mut NodeState, ctx: &mut Ctx, tag: u64) {
    with_node!(node, n => n.on_timer(ctx, tag));
}

/// What a node's handler may do: read the clock, draw random numbers, send, call, reply,
/// set timers and account for messages. The node's own state is passed beside it.
pub struct Ctx<'a> {
    pub core: &'a mut Core,
    pub me: NodeId,
    pub rng: &'a mut Rng,
    /// Some fault is active on this node. Faults change only between handlers (the
    /// simulation applies them), so this is read once as the handler starts: the many
    /// checks of a handler without faults need not look at the node's slot.
    faulty: bool,
}

impl Ctx<'_> {
    pub fn now(&self) -> Time {
        self.core.now
    }

    /// The faults active on this node, by value: without any, a constant the compiler
    /// folds into the checks that read it.
    #[inline]
    pub fn faults(&self) -> FaultState {
        if self.faulty {
            self.core.slots[self.me as usize].faults
        } else {
            FaultState::NONE
        }
    }

    /// Whether some fault is active on this node (most of the time none is).
    #[inline]
    pub fn faulty(&self) -> bool {
        self.faulty
    }

    /// Sets a timer that comes back to this node as `Timer { tag }` after `delay`.
    pub fn schedule_in(&mut self, delay: Time, tag: u64) {
        let at = self.core.now.saturating_add(delay);
        self.core
            .schedule_at(at, Timed::Timer { node: self.me, tag });
    }

    /// A new message from a producer or client (counted `created`).
    pub fn new_message(&mut self, key: Option<u32>, payload: Option<Arc<Value>>) -> Message {
        self.core.next_message_id += 1;
        self.core.tally.created += 1;
        Message {
            id: self.core.next_message_id,
            created: self.core.now,
            key: key.into(),
            payload,
        }
    }

    /// Records where `n` messages ended.
    pub fn fate(&mut self, fate: Fate, n: u64) {
        let t = &mut self.core.tally;
        match fate {
            Fate::Delivered => t.delivered += n,
            Fate::Dropped => t.dropped += n,
            Fate::Failed => t.failed += n,
            Fate::Rejected => t.rejected += n,
            Fate::Filtered => t.filtered += n,
            Fate::Lost => t.lost += n,
        }
    }

    /// The common fate of a message arriving at a faulty node: lost when the node is down,
    /// failed with the `fail` fault's share. Counts it in the node's own `lost` or `failed`
    /// and returns true when the message ended here.
    #[inline]
    pub fn ended_by_faults(&mut self, lost: &mut u64, failed: &mut u64) -> bool {
        if !self.faulty() {
            return false;
        }
        let faults = self.faults();
        if faults.crashed {
            *lost += 1;
            self.fate(Fate::Lost, 1);
            true
        } else if self.chance(faults.fail_rate) {
            *failed += 1;
            self.fate(Fate::Failed, 1);
            true
        } else {
            false
        }
    }

    /// Records `n` extra messages entering the graph (fan-out copies).
    pub fn copies(&mut self, n: u64) {
        self.core.tally.copies += n;
    }

    /// Publishes how many messages wait in this node (read by autoscaled consumers).
    pub fn publish_depth(&mut self, depth: u64) {
        self.core.slots[self.me as usize].depth = depth;
    }

    /// Messages waiting in `node`, as it last published.
    pub fn depth_of(&self, node: NodeId) -> u64 {
        self.core.slots[node as usize].depth
    }

    pub fn has_room(&self, to: NodeId) -> bool {
        self.core.room(to) > 0
    }

    /// Whether `node`'s handler is running (further up the call stack).
    pub fn is_running(&self, node: NodeId) -> bool {
        self.core.slots[node as usize].active()
    }

    /// Tells `consumer`, which takes messages from this queue itself, whether some wait
    /// for it: it looks only at this flag, in its own slot, before coming for them.
    #[inline]
    pub fn set_inbox_waiting(&mut self, consumer: NodeId, waiting: bool) {
        self.core.slots[consumer as usize].inbox_waiting = waiting;
    }

    /// Whether this node's inbox queue said it holds messages for it.
    #[inline]
    pub fn inbox_waiting(&self) -> bool {
        self.core.slots[self.me as usize].inbox_waiting
    }

    /// Takes the next message from `queue`, whose only consumer this node is, into `into`:
    /// the queue gives it as it would have handed it on. Counts the message's arrival here
    /// as an event, and with `first` also the queue's reaction (a wake of the queue would
    /// hand on as many as there is room for). False, `into` untouched, when the queue has
    /// none to give or its handler is running (it then hands its messages on itself).
    #[inline]
    pub fn pull_from(&mut self, queue: NodeId, first: bool, into: &mut Message) -> bool {
        let core = &mut *self.core;
        let slot = &mut core.slots[queue as usize];
        if !slot.faulty
            && let Some(cell) = &mut slot.cell
            && let NodeState::Queue(q) = &mut cell.state
            && q.gives_in_place()
        {
            // What its handler would do, in place, and what follows it (below).
            let given = q.give_in_place(core.now, into);
            if given.is_none_or(|(depth, _)| depth == 0) {
                core.slots[self.me as usize].inbox_waiting = false;
            }
            match given {
                Some((depth, free)) => core.published_in_place(queue, depth, free),
                None => core.woken_in_place(queue),
            }
            if given.is_some() {
                core.events += 1 + u64::from(first);
            }
            return given.is_some();
        }
        let slot = &mut self.core.slots[queue as usize];
        let faulty = slot.faulty;
        let Some(cell) = slot.cell.take() else {
            return false;
        };
        let give = |n: &mut NodeState, ctx: &mut Ctx| match n {
            NodeState::Queue(q) => q.give(ctx, into),
            _ => false,
        };
        if !self.core.run_handler(queue, cell, faulty, give) {
            // Empty, down or stopped: the queue says so again once it has messages that
            // this node has no room for.
            self.set_inbox_waiting(self.me, false);
            return false;
        }
        self.core.events += 1 + u64::from(first);
        true
    }

    /// Sends `msg` to `to` if it has room, else registers this node to be woken when room
    /// frees and gives the message back.
    ///
    /// The receiver takes the message at once: its handler runs now, before this one goes
    /// on (nested at most [`MAX_DEPTH`] deep; deeper, the message waits in the same-instant
    /// queue with its room reserved). A node whose handler is running has no room, so no
    /// handler ever runs inside itself.
    ///
    /// A sink, where most journeys end, takes its message here, in the sender's handler:
    /// its handler hands nothing on, so it needs no call of its own (the general path below
    /// is a call, as it may run into itself through the receiver's handler). Without a
    /// fault and with no sender waiting for it, it needs no handler at all: the message is
    /// counted into it in place.
    #[inline(always)]
    pub fn try_send(&mut self, to: NodeId, msg: Message, token: u32) -> Result<(), Message> {
        let core = &mut *self.core;
        let slot = &mut core.slots[to as usize];
        if let Some(cell) = &mut slot.cell
            && let NodeState::Sink(sink) = &mut cell.state
            && slot.free > slot.incoming
            && core.depth < MAX_DEPTH
        {
            core.events += 1;
            let from = self.me;
            if !slot.faulty && !slot.has_waiters {
                // What its handler would do, in place: no fault can end the message here,
                // and no sender waits to be woken once it returns.
                sink.deliver(core.now, &msg);
                core.tally.delivered += 1;
                if token != NO_TOKEN {
                    core.ready.push_back(Event::Release { to: from, token });
                }
                return Ok(());
            }
            let faulty = slot.faulty;
            let cell = slot.cell.take().expect("in its slot: looked at above");
            core.run_handler(to, cell, faulty, |n, ctx| {
                if let NodeState::Sink(sink) = n {
                    sink.on_arrive(ctx, from, msg, token);
                }
                if token != NO_TOKEN {
                    ctx.release(from, token);
                }
            });
            return Ok(());
        }
        self.try_send_nested(to, msg, token)
    }

    /// [`Ctx::try_send`] to a node of any kind.
    #[inline(never)]
    fn try_send_nested(&mut self, to: NodeId, msg: Message, token: u32) -> Result<(), Message> {
        let core = &mut *self.core;
        let slot = &mut core.slots[to as usize];
        if slot.active() || slot.free <= slot.incoming {
            self.wait_for(to);
            return Err(msg);
        }
        if core.depth < MAX_DEPTH {
            core.events += 1;
            if token == NO_TOKEN
                && let Some(consumer) = core.waits_in_place(to)
            {
                // What the queue's handler would do, in place: the message waits for its
                // busy consumer, which is told so; then the room and the waiting senders.
                let now = core.now;
                let cell = core.slots[to as usize].cell.as_deref_mut();
                let Some(NodeState::Queue(queue)) = cell.map(|c| &mut c.state) else {
                    unreachable!("a queue: looked at above");
                };
                let (depth, free) = queue.wait_in_place(now, msg);
                core.slots[consumer as usize].inbox_waiting = true;
                core.published_in_place(to, depth, free);
                return Ok(());
            }
            let slot = &mut core.slots[to as usize];
            core.depth += 1;
            let from = self.me;
            let faulty = slot.faulty;
            let cell = slot.cell.take().expect("not running: it has room");
            core.run_handler(to, cell, faulty, |n, ctx| arrive(n, ctx, from, msg, token));
            core.depth -= 1;
            return Ok(());
        }
        slot.incoming += 1;
        core.ready.push_back(Event::Arrive {
            to,
            from: self.me,
            msg,
            token,
        });
        Ok(())
    }

    /// Asks to be woken (`on_wake`) when `to` has room.
    #[inline]
    pub fn wait_for(&mut self, to: NodeId) {
        let w = &mut self.core.waiters[to as usize];
        let slot = &mut self.core.slots[to as usize];
        // Without waiters flagged the list is empty: no need to look for this node in it.
        if !slot.has_waiters || !w.contains(&self.me) {
            w.push(self.me);
            slot.has_waiters = true;
        }
    }

    /// Publishes how many messages this node can take now; wakes waiting senders when it
    /// has room (once its handler returns).
    #[inline]
    pub fn set_free(&mut self, free: u64) {
        let slot = &mut self.core.slots[self.me as usize];
        slot.free = free;
        if slot.has_waiters && free > slot.incoming {
            self.core.wake_waiters(self.me);
        }
    }

    /// Sends `msg` out through `targets`, one copy each. `new_unit`: the message is new to
    /// the graph (emitted while answering a call) rather than one this node holds. With no
    /// targets a held message ends here, delivered. Refused copies land in `pending`;
    /// returns whether every copy was taken (so the caller need not look at `pending`).
    ///
    /// The common case, one target and no copy, is inlined in the sender's handler.
    #[inline]
    pub fn send_copies(
        &mut self,
        targets: &[NodeId],
        msg: Message,
        new_unit: bool,
        pending: &mut Vec<(NodeId, Message)>,
    ) -> bool {
        if let [to] = *targets {
            return self.send_one(to, msg, new_unit, pending);
        }
        self.send_copies_to_many(targets, msg, new_unit, pending)
    }

    /// [`Ctx::send_copies`] through a node's [`Targets`]: to one target without reading a
    /// list.
    #[inline]
    pub fn send_out(
        &mut self,
        targets: &Targets,
        msg: Message,
        new_unit: bool,
        pending: &mut Vec<(NodeId, Message)>,
    ) -> bool {
        match targets {
            Targets::One(to) => self.send_one(*to, msg, new_unit, pending),
            Targets::Many(many) => self.send_copies_to_many(many, msg, new_unit, pending),
        }
    }

    /// [`Ctx::send_copies`] to one target.
    #[inline(always)]
    fn send_one(
        &mut self,
        to: NodeId,
        msg: Message,
        new_unit: bool,
        pending: &mut Vec<(NodeId, Message)>,
    ) -> bool {
        if new_unit {
            self.copies(1);
        }
        match self.try_send(to, msg, NO_TOKEN) {
            Ok(()) => true,
            Err(m) => {
                pending.push((to, m));
                false
            }
        }
    }

    /// [`Ctx::send_copies`] to no target or several.
    #[inline(never)]
    fn send_copies_to_many(
        &mut self,
        targets: &[NodeId],
        msg: Message,
        new_unit: bool,
        pending: &mut Vec<(NodeId, Message)>,
    ) -> bool {
        let Some((last, rest)) = targets.split_last() else {
            if !new_unit {
                self.fate(Fate::Delivered, 1);
            }
            return true;
        };
        self.copies(rest.len() as u64 + u64::from(new_unit));
        let mut all = true;
        for &to in rest {
            if let Err(m) = self.try_send(to, msg.clone(), NO_TOKEN) {
                pending.push((to, m));
                all = false;
            }
        }
        if let Err(m) = self.try_send(*last, msg, NO_TOKEN) {
            pending.push((*last, m));
            all = false;
        }
        all
    }

    /// Retries refused sends; returns true when none is left.
    pub fn retry_pending(&mut self, pending: &mut Vec<(NodeId, Message)>) -> bool {
        let mut i = 0;
        while i < pending.len() {
            let to = pending[i].0;
            if self.has_room(to) {
                let (to, msg) = pending.remove(i);
                let sent = self.try_send(to, msg, NO_TOKEN);
                debug_assert!(sent.is_ok());
            } else {
                self.wait_for(to);
                i += 1;
            }
        }
        pending.is_empty()
    }

    pub fn call(&mut self, to: NodeId, call_id: u64, msg: Message) {
        self.core.ready.push_back(Event::Call {
            to,
            caller: self.me,
            call_id,
            msg,
        });
    }

    pub fn reply(&mut self, to: NodeId, call_id: u64, outcome: Outcome) {
        self.core.ready.push_back(Event::Reply {
            to,
            call_id,
            outcome,
        });
    }

    pub fn release(&mut self, to: NodeId, token: u32) {
        self.core.ready.push_back(Event::Release { to, token });
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (p >= 1.0 || self.rng.random::<f64>() < p)
    }

    /// A uniform integer in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.rng.random_range(0..n.max(1))
    }
}

/// A node's next duration, drawn one use ahead from its random stream.
///
/// A timer's place in the heap is decided by comparing its time with the others'. Drawn at
/// the moment it is set, that time comes at the end of a long chain of dependent steps
/// (the generator, the exponential's table, the float arithmetic), and the comparison
/// waits for all of it: when the processor guesses the comparison wrong it finds out late
/// and throws more work away. Drawn one use earlier and kept, the time is ready when the
/// timer is set, and the next draw runs beside the rest of the handler.
///
/// The values and their order are those of drawing at each use: the stream's state from
/// before the draw ahead is kept, and [`DrawAhead::rewind`] puts it back before the node
/// draws from the stream for anything else (or its distribution changes), so that every
/// draw of a seeded run comes out as it would without the look-ahead.
///
/// 32 bytes (an `Option` of the pair would take 48): part of the few cache lines a busy
/// node's event reads.
pub struct DrawAhead {
    /// The stream's state before the duration ahead was drawn.
    before: Rng,
    /// The duration drawn ahead, when `drawn`.
    next: Time,
    drawn: bool,
}

impl Default for DrawAhead {
    fn default() -> Self {
        DrawAhead {
            before: Rng::new(0),
            next: 0,
            drawn: false,
        }
    }
}

impl DrawAhead {
    /// The next duration from `sampler`, then draws the one after it. Always inlined: it
    /// runs once per timer on the hottest paths.
    #[inline(always)]
    pub fn take(&mut self, sampler: &Sampler, rng: &mut Rng) -> Time {
        let d = if self.drawn {
            self.next
        } else {
            sampler.sample(rng)
        };
        self.before = rng.clone();
        self.next = sampler.sample(rng);
        self.drawn = true;
        d
    }

    /// Gives back the duration drawn ahead: the stream is where it would be without it.
    #[inline]
    pub fn rewind(&mut self, rng: &mut Rng) {
        if self.drawn {
            self.drawn = false;
            *rng = self.before.clone();
        }
    }
}

/// The longest duration one draw gives, in nanoseconds (about 146 years).
const LONGEST_DRAW_NS: f64 = u64::MAX as f64 / 4.0;

/// A duration distribution ready to draw from, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampler {
    Const(Time),
    Exp { mean_ns: f64 },
    Uniform { min_ns: f64, max_ns: f64 },
    LogNormal { mu: f64, sigma: f64 },
}

impl Sampler {
    pub fn new(dist: &Dist) -> Sampler {
        match *dist {
            Dist::Const { ms } => Sampler::Const(ms_to_ns(ms)),
            Dist::Exp { mean_ms } => Sampler::Exp {
                mean_ns: mean_ms * 1e6,
            },
            // Finite bounds: drawing from a range that reaches infinity would panic.
            Dist::Uniform { min_ms, max_ms } => Sampler::Uniform {
                min_ns: (min_ms * 1e6).clamp(0.0, LONGEST_DRAW_NS),
                max_ns: (max_ms * 1e6).clamp(0.0, LONGEST_DRAW_NS),
            },
            Dist::Lognormal { median_ms, p99_ms } => Sampler::LogNormal {
                mu: (median_ms * 1e6).ln(),
                sigma: lognormal_sigma(median_ms, p99_ms),
            },
        }
    }

    /// Gaps of a process with `rate_per_sec` events per second.
    pub fn interarrival(rate_per_sec: f64, poisson: bool) -> Option<Sampler> {
        if !(rate_per_sec.is_finite() && rate_per_sec > 0.0) {
            return None;
        }
        let mean_ns = 1e9 / rate_per_sec;
        Some(if poisson {
            Sampler::Exp { mean_ns }
        } else {
            Sampler::Const(mean_ns.round().max(1.0) as Time)
        })
    }

    /// One duration. The exponential, the commonest in queueing models, is drawn inline;
    /// the other distributions out of line.
    #[inline]
    pub fn sample(&self, rng: &mut Rng) -> Time {
        match *self {
            Sampler::Const(ns) => ns,
            Sampler::Exp { mean_ns } => Self::to_ns(exp1(rng) * mean_ns),
            _ => self.sample_other(rng),
        }
    }

    #[inline(never)]
    fn sample_other(&self, rng: &mut Rng) -> Time {
        let ns = match *self {
            Sampler::Const(ns) => return ns,
            Sampler::Exp { mean_ns } => rng.sample::<f64, _>(Exp1) * mean_ns,
            Sampler::Uniform { min_ns, max_ns } => {
                if max_ns > min_ns {
                    rng.random_range(min_ns..max_ns)
                } else {
                    min_ns
                }
            }
            Sampler::LogNormal { mu, sigma } => {
                (mu + sigma * rng.sample::<f64, _>(StandardNormal)).exp()
            }
        };
        Self::to_ns(ns)
    }

    /// A drawn duration in whole nanoseconds.
    #[inline]
    fn to_ns(ns: f64) -> Time {
        // A draw too long to count (infinite, from a huge mean or a tiny rate) is the
        // longest one, never 0: a zero gap would repeat at one instant without end.
        if ns > 0.0 {
            // Rounds to the nearest nanosecond, as `round` does for positive values but
            // without its library call.
            // Through i64: the bound is within its range, and the conversion is one
            // instruction where a direct one to u64 takes several.
            (ns + 0.5).min(LONGEST_DRAW_NS) as i64 as Time
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    /// One target is kept in place, none or several in a box; all read as the list given.
    #[test]
    fn targets_read_as_the_list_given() {
        for list in [vec![], vec![7], vec![7, 3], vec![1, 2, 3]] {
            let targets = Targets::from(list.clone());
            assert_eq!(matches!(targets, Targets::One(7)), list.len() == 1);
            assert_eq!(&*targets, list.as_slice());
            assert_eq!(targets.into_iter().copied().collect::<Vec<_>>(), list);
        }
    }

    fn timer(tag: u64) -> Timed {
        Timed::Timer { node: 0, tag }
    }

    fn tag_of(event: Timed) -> u64 {
        match event {
            Timed::Timer { tag, .. } => tag,
            Timed::Fault { .. } => unreachable!(),
        }
    }

    /// Events leave the heap by time, and in scheduling order at one instant; slots of
    /// events gone are used again.
    #[test]
    fn heap_orders_by_time_then_scheduling() {
        let mut heap = TimerHeap::default();
        let times = [50, 10, 30, 10, 50, 20, 10, 40, 30, 10];
        for (tag, &t) in times.iter().enumerate() {
            heap.push(t, timer(tag as u64));
        }
        let mut out = Vec::new();
        while let Some((t, e)) = heap.pop() {
            out.push((t, tag_of(e)));
        }
        let mut expected: Vec<(Time, u64)> = times
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, i as u64))
            .collect();
        expected.sort();
        assert_eq!(out, expected);
        heap.push(5, timer(99));
        assert_eq!(heap.timed.len(), times.len());
    }

    /// Pushes and pops mixed at random over a heap of thousands: every pop is the smallest
    /// (time, scheduling) pending, as a sorted reference says.
    #[test]
    fn heap_matches_a_sorted_reference() {
        let mut rng = Rng::seed_from_u64(11);
        let mut heap = TimerHeap::default();
        let mut reference = std::collections::BTreeSet::new();
        let mut tag = 0;
        for round in 0..50_000 {
            if round % 3 != 2 || reference.is_empty() {
                let t = rng.random_range(0..5_000u64);
                heap.push(t, timer(tag));
                reference.insert((t, tag));
                tag += 1;
            } else {
                let (t, e) = heap.pop().unwrap();
                assert_eq!(Some((t, tag_of(e))), reference.pop_first());
            }
        }
        while let Some((t, e)) = heap.pop() {
            assert_eq!(Some((t, tag_of(e))), reference.pop_first());
        }
        assert!(reference.is_empty());
    }

    /// When sequence numbers run out, the pending events are renumbered without changing
    /// their order, at one instant too.
    #[test]
    fn heap_keeps_order_across_renumbering() {
        let mut heap = TimerHeap {
            seq: SEQ_LIMIT - 3,
            ..Default::default()
        };
        for tag in 0..8 {
            heap.push(100 + tag % 2, timer(tag));
        }
        assert_eq!(heap.seq, 8, "renumbered from 0 once the limit was reached");
        let mut out = Vec::new();
        while let Some((t, e)) = heap.pop() {
            out.push((t, tag_of(e)));
        }
        let expected = [0, 2, 4, 6, 1, 3, 5, 7].map(|tag| (100 + tag % 2, tag));
        assert_eq!(out, expected);
    }

    /// Durations beyond what the clock can count (a uniform up to 1e308 ms, an exponential
    /// whose mean overflows, the gap of a source at 1e-300 per second) draw the longest
    /// duration: never a panic, and never a zero gap that would repeat at one instant.
    #[test]
    fn draws_ahead_come_out_as_drawn_at_each_use() {
        // Every distribution, with other draws from the stream coming between at random.
        let samplers = [
            Sampler::Exp { mean_ns: 1e6 },
            Sampler::Uniform {
                min_ns: 10.0,
                max_ns: 5e6,
            },
            Sampler::LogNormal {
                mu: 13.0,
                sigma: 0.8,
            },
            Sampler::Const(7),
        ];
        for sampler in samplers {
            let mut plain = Rng::seed_from_u64(3);
            let mut rng = Rng::seed_from_u64(3);
            let mut ahead = DrawAhead::default();
            let mut between = Rng::seed_from_u64(5);
            for _ in 0..20_000 {
                assert_eq!(ahead.take(&sampler, &mut rng), sampler.sample(&mut plain));
                if between.random_range(0..4) == 0 {
                    ahead.rewind(&mut rng);
                    assert_eq!(rng.random::<u64>(), plain.random::<u64>());
                }
            }
            ahead.rewind(&mut rng);
            assert_eq!(rng, plain);
        }
    }

    #[test]
    fn keys_keep_every_u32_and_none() {
        for key in [None, Some(0), Some(7), Some(u32::MAX)] {
            let k = Key::from(key);
            assert_eq!(k.get(), key);
            assert_eq!(k.is_some(), key.is_some());
            assert_eq!(k.is_none(), key.is_none());
        }
    }

    #[test]
    fn huge_durations_saturate() {
        let mut rng = Rng::seed_from_u64(7);
        let samplers = [
            Sampler::new(&Dist::Uniform {
                min_ms: 0.0,
                max_ms: 1e308,
            }),
            Sampler::new(&Dist::Exp { mean_ms: 1e308 }),
            Sampler::new(&Dist::Lognormal {
                median_ms: 1e-300,
                p99_ms: 1e308,
            }),
            Sampler::interarrival(1e-300, true).unwrap(),
        ];
        for sampler in samplers {
            for _ in 0..100 {
                let ns = sampler.sample(&mut rng);
                assert!(ns as f64 <= LONGEST_DRAW_NS, "{sampler:?}: {ns}");
            }
        }
        let gap = Sampler::interarrival(1e-300, true).unwrap();
        assert!((0..100).all(|_| gap.sample(&mut rng) > 0));
    }
}
