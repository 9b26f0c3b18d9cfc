//! `service`: a message and request handler with `concurrency` workers. A worker takes one
//! message, works for a drawn service time, makes the service's synchronous calls in order,
//! and on success sends the result out (and answers the caller of a request). A failed
//! attempt is retried after a backoff with the worker held; after the last retry the message
//! goes out the `error` port, or counts as failed. While results cannot be sent because the
//! next node is full, the worker stays busy: that is how back-pressure travels upstream.
//!
//! With `autoscale` the worker count follows the depth of the queues feeding the service
//! (`concurrency` is then ignored): it starts at `min`, and every `cooldown_ms / 5` (at
//! least 100 ms) the scaler computes `desired = clamp(ceil(depth / target_depth), min, max)`
//! and, if `cooldown_ms` has passed since its last change, moves one worker towards it. So
//! a drained queue brings the count back to `min` one worker per cooldown. Scaling down
//! retires an idle worker if there is one, else a busy one, which finishes its job first.

use std::collections::VecDeque;

use crate::metrics::{Latency, TimeGauge};
use crate::model::NodeConfig;
use crate::model::{Autoscale, ServiceConfig};
use crate::report::NodeReport;
use crate::sim::core::{
    Ctx, DrawAhead, Fate, FaultState, Message, NO_TOKEN, NodeId, Outcome, Sampler, Targets, Time,
    ms_to_ns,
};

use super::{Behavior, combined_failure};

const TAG_DONE: u64 = 0;
const TAG_BACKOFF_OVER: u64 = 1;
const TAG_SCALE: u64 = 2;

/// Who is waiting for the result of a job.
#[derive(Debug, Clone, Copy)]
enum Origin {
    /// An asynchronous message from `from`, tracked with `token` when not `NO_TOKEN`.
    Message { from: NodeId, token: u32 },
    /// A request whose caller waits for a reply.
    Call { caller: NodeId, call_id: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Phase {
    #[default]
    Working,
    Backoff,
    /// Waiting for the reply of a call target (which one: [`Extra::call`]).
    Calling,
    /// Done; results wait for room downstream (in [`Service::parked`]).
    Sending,
}

impl Default for Origin {
    fn default() -> Self {
        Origin::Message {
            from: 0,
            token: NO_TOKEN,
        }
    }
}

/// A worker and the job it works on, in one cache line. The job stays in place between
/// jobs (the next one overwrites it), so taking a message costs no new allocation. What
/// only some jobs need (the count of failed attempts, the call in progress, results waiting
/// for room) the service keeps apart ([`Extra`], [`Service::parked`]): a graph too big for
/// the caches then reads one line per worker.
#[derive(Default)]
#[repr(align(64))]
struct Worker {
    /// The job's message; what stays behind once it is sent on is empty.
    msg: Message,
    /// Busy: when the job's first attempt started. Idle: the worker below this one in the
    /// service's stack of idle workers ([`IdleStack`]).
    started: Time,
    origin: Origin,
    /// Bumped whenever the worker's job ends, so timers and replies of an earlier job
    /// are recognised and ignored.
    generation: u32,
    /// Has a job.
    busy: bool,
    /// Scaled away while busy: leaves once its job ends.
    retiring: bool,
    phase: Phase,
    /// The job failed an attempt: [`Extra::attempt`] counts them (else none did).
    retried: bool,
}

const _: () = assert!(std::mem::size_of::<Worker>() == 64);

impl Worker {
    /// The job's message, to send on once the job is done (what stays behind is empty).
    fn take_message(&mut self) -> Message {
        std::mem::replace(&mut self.msg, Message::EMPTY)
    }
}

/// No worker (the bottom of an [`IdleStack`]).
const NO_WORKER: u32 = u32::MAX;

/// The idle workers, a stack (the worker freed last is taken first) threaded through the
/// workers themselves: an idle worker's `started` names the one below it. Taking a worker
/// and freeing one then read no cache line besides the worker's own, where a separate
/// array would add one per job.
#[derive(Debug, Clone, Copy)]
struct IdleStack {
    top: u32,
    len: u32,
}

impl IdleStack {
    fn new(workers: &mut [Worker]) -> IdleStack {
        // Worker 0 on top, as a stack pushed from the last worker down.
        IdleStack::from_bottom_up(&(0..workers.len()).rev().collect::<Vec<_>>(), workers)
    }

    /// The stack holding `stack`, its bottom first.
    fn from_bottom_up(stack: &[usize], workers: &mut [Worker]) -> IdleStack {
        let mut idle = IdleStack {
            top: NO_WORKER,
            len: 0,
        };
        for &w in stack {
            idle.push(workers, w);
        }
        idle
    }

    /// The idle workers, the bottom of the stack first.
    fn bottom_up(self, workers: &[Worker]) -> Vec<usize> {
        let mut stack = Vec::with_capacity(self.len());
        let mut w = self.top;
        while w != NO_WORKER {
            stack.push(w as usize);
            w = workers[w as usize].started as u32;
        }
        stack.reverse();
        stack
    }

    fn len(self) -> usize {
        self.len as usize
    }

    fn is_empty(self) -> bool {
        self.len == 0
    }

    /// The worker freed last.
    fn last(self) -> Option<usize> {
        (self.len > 0).then_some(self.top as usize)
    }

    #[inline(always)]
    fn push(&mut self, workers: &mut [Worker], w: usize) {
        workers[w].started = Time::from(self.top);
        self.top = w as u32;
        self.len += 1;
    }

    #[inline(always)]
    fn pop(&mut self, workers: &[Worker]) -> Option<usize> {
        let w = self.last()?;
        self.top = workers[w].started as u32;
        self.len -= 1;
        Some(w)
    }
}

/// What a worker's job needs only on its rarer paths.
#[derive(Default, Clone, Copy)]
struct Extra {
    /// Failed attempts of the job, when its worker is `retried`.
    attempt: u32,
    /// The call target whose reply the job waits for, in [`Phase::Calling`].
    call: u32,
}

/// The `autoscale` controller: when it last changed the worker count, and whether its
/// periodic check is armed.
struct Scaler {
    min: usize,
    max: usize,
    target_depth: f64,
    cooldown: Time,
    /// Time between two checks.
    period: Time,
    /// Queues whose depth it follows.
    feeders: Vec<NodeId>,
    last_change: Option<Time>,
    /// A check is scheduled. Checks stop once the count is where the depth wants it (so
    /// a finished graph can end) and resume on the next activity.
    armed: bool,
    most: usize,
}

impl Scaler {
    fn new(config: &Autoscale, feeders: Vec<NodeId>) -> Scaler {
        let min = config.min.max(1) as usize;
        Scaler {
            min,
            max: (config.max as usize).max(min),
            target_depth: config.target_depth,
            cooldown: ms_to_ns(config.cooldown_ms),
            period: ms_to_ns((config.cooldown_ms / 5.0).max(100.0)),
            feeders,
            last_change: None,
            armed: false,
            most: min,
        }
    }

    fn desired(&self, ctx: &Ctx) -> usize {
        let depth: u64 = self.feeders.iter().map(|&q| ctx.depth_of(q)).sum();
        let wanted = (depth as f64 / self.target_depth).ceil();
        // A NaN or huge ratio (odd target_depth) lands on max, never on a wrapped count.
        if wanted.is_finite() && wanted < self.max as f64 {
            (wanted as usize).max(self.min)
        } else {
            self.max
        }
    }
}

/// A service's state. The fields one event of a busy service reads come first, in the
/// order given (`repr(C)`): in a graph too big for the caches they then share a few cache
/// lines instead of being spread over all of the node's (with the node's random stream and
/// kind before them, five lines of 64 bytes: the latency histogram's fields read per record
/// end at byte 304 of the node), and the rest (worker slots scaled away, the call targets,
/// configuration of failures and retries, counters only the report reads) comes after.
#[repr(C)]
pub struct Service {
    /// The next job's service time, drawn ahead ([`DrawAhead`]).
    ahead: DrawAhead,
    service_time: Sampler,
    /// The failure probability without faults: `combined_failure(failure_rate, none)`.
    own_failure: f64,
    /// Worker slots; those in `spare` were scaled away and hold no job.
    workers: Vec<Worker>,
    out: Targets,
    /// The service's only input, a queue with no other consumer: a freed worker takes
    /// its next message from there at once.
    inbox: Option<NodeId>,
    /// Boxed: most services have none, and every node's state is as big as the largest.
    scaler: Option<Box<Scaler>>,
    idle: IdleStack,
    /// Jobs in `backlog`, counted here so that a look at it reads no further line.
    backlogged: u32,
    /// Workers present (busy retiring ones included): `workers` less `spare`.
    staffed_now: u32,
    /// `staffed_now` changed since the `staffed` gauge last heard of it.
    staffing_changed: bool,
    /// `calls` is not empty.
    has_calls: bool,
    in_: u64,
    done: u64,
    busy: TimeGauge,
    service: Latency,
    /// Requests (and messages) that found no idle worker, in arrival order.
    backlog: VecDeque<(Origin, Message)>,
    spare: Vec<usize>,
    calls: Vec<NodeId>,
    /// Workers present over time: utilization is busy / staffed area.
    staffed: TimeGauge,
    failure_rate: f64,
    max_retries: u32,
    backoff: Time,
    error: Vec<NodeId>,
    /// Queues feeding the service (what an autoscaler follows).
    feeders: Vec<NodeId>,
    failed: u64,
    lost: u64,
    retries: u64,
    /// Per worker slot: what its job needs on rarer paths.
    extra: Vec<Extra>,
    /// Where a job's sends leave the copies that found no room.
    outbox: Vec<(NodeId, Message)>,
    /// Busy workers whose results wait for room downstream ([`Phase::Sending`]), with
    /// those results.
    parked: Vec<(usize, Vec<(NodeId, Message)>)>,
}

fn tag(kind: u64, generation: u32, worker: usize) -> u64 {
    (kind << 62) | (u64::from(generation) << 32) | worker as u64
}

fn untag(tag: u64) -> (u64, u32, usize) {
    (
        tag >> 62,
        (tag >> 32) as u32 & 0x3fff_ffff,
        tag as u32 as usize,
    )
}

impl Service {
    pub fn new(
        config: &ServiceConfig,
        out: Vec<NodeId>,
        error: Vec<NodeId>,
        calls: Vec<NodeId>,
        feeders: Vec<NodeId>,
        inbox: Option<NodeId>,
    ) -> Service {
        let scaler = config
            .autoscale
            .as_ref()
            .map(|a| Box::new(Scaler::new(a, feeders.clone())));
        let workers = match &scaler {
            Some(s) => s.min,
            None => config.concurrency.max(1) as usize,
        };
        let mut workers: Vec<Worker> = (0..workers).map(|_| Worker::default()).collect();
        Service {
            has_calls: !calls.is_empty(),
            service_time: Sampler::new(&config.service_time),
            ahead: DrawAhead::default(),
            failure_rate: config.failure_rate,
            own_failure: combined_failure(config.failure_rate, &FaultState::default()),
            max_retries: config.max_retries,
            backoff: ms_to_ns(config.retry_backoff_ms),
            out: out.into(),
            error,
            calls,
            staffed_now: workers.len() as u32,
            staffing_changed: true,
            extra: vec![Extra::default(); workers.len()],
            idle: IdleStack::new(&mut workers),
            workers,
            backlogged: 0,
            outbox: Vec::new(),
            parked: Vec::new(),
            spare: Vec::new(),
            scaler,
            feeders,
            inbox,
            backlog: VecDeque::new(),
            in_: 0,
            done: 0,
            failed: 0,
            lost: 0,
            retries: 0,
            busy: TimeGauge::default(),
            staffed: TimeGauge::default(),
            service: Latency::default(),
        }
    }

    /// Workers the service has, not counting those retiring after their job.
    fn count(&self) -> usize {
        let retiring = self.workers.iter().filter(|w| w.retiring).count();
        self.workers.len() - self.spare.len() - retiring
    }

    fn free(&self, ctx: &Ctx) -> u64 {
        if ctx.faults().halted() || self.backlogged > 0 {
            0
        } else {
            self.idle.len() as u64
        }
    }

    #[inline]
    fn publish(&mut self, ctx: &mut Ctx) {
        if let Some(queue) = self.inbox {
            self.pull(ctx, queue);
        }
        let staffed = self.staffed_now as usize;
        self.busy.set(ctx.now(), (staffed - self.idle.len()) as u64);
        if self.staffing_changed {
            self.staffing_changed = false;
            self.staffed.set(ctx.now(), staffed as u64);
        }
        let free = self.free(ctx);
        ctx.set_free(free);
    }

    /// Fills idle workers from the inbox queue, as the queue would hand its messages on.
    fn pull(&mut self, ctx: &mut Ctx, queue: NodeId) {
        let mut first = true;
        while !self.idle.is_empty() && ctx.inbox_waiting() && self.free(ctx) > 0 {
            // Room means an idle worker (and no backlog, no halt): the queue puts the
            // message straight into its job.
            let w = self
                .idle
                .last()
                .expect("a service with room has an idle worker");
            if !ctx.pull_from(queue, first, &mut self.workers[w].msg) {
                break;
            }
            first = false;
            self.in_ += 1;
            self.idle.pop(&self.workers);
            self.start_job(
                ctx,
                w,
                Origin::Message {
                    from: queue,
                    token: NO_TOKEN,
                },
            );
            self.arm_scaler(ctx);
        }
    }

    /// An idle worker takes the job, or it waits in the backlog. Always inlined: it runs
    /// once per message, from the pull of the inbox and the handlers of arrivals and calls.
    #[inline(always)]
    fn take(&mut self, ctx: &mut Ctx, origin: Origin, msg: Message) {
        match self.idle.last() {
            Some(w) if !ctx.faults().halted() => {
                self.idle.pop(&self.workers);
                self.workers[w].msg = msg;
                self.start_job(ctx, w, origin);
            }
            _ => {
                self.backlog.push_back((origin, msg));
                self.backlogged += 1;
            }
        }
    }

    /// Worker `w`, no longer idle and with the job's message in place, starts the job
    /// from `origin`.
    #[inline(always)]
    fn start_job(&mut self, ctx: &mut Ctx, w: usize, origin: Origin) {
        let worker = &mut self.workers[w];
        worker.busy = true;
        worker.origin = origin;
        worker.retried = false;
        worker.started = ctx.now();
        self.work(ctx, w);
    }

    /// Worker `w` starts (or retries) its job: draws its service time and sets the timer
    /// for its end. Always inlined: it is short and runs once per job.
    #[inline(always)]
    fn work(&mut self, ctx: &mut Ctx, w: usize) {
        let slow = ctx.faults().slow_factor;
        let mut d = self.ahead.take(&self.service_time, ctx.rng);
        if slow != 1.0 {
            d = (d as f64 * slow).round() as Time;
        }
        let worker = &mut self.workers[w];
        debug_assert!(worker.busy);
        worker.phase = Phase::Working;
        ctx.schedule_in(d, tag(TAG_DONE, worker.generation, w));
    }

    /// Messages of the graph worker `w` holds: an asynchronous message until it is sent
    /// on; a request's message stays with its client.
    fn units(&self, w: usize) -> u64 {
        let worker = &self.workers[w];
        match (worker.phase, worker.origin) {
            (Phase::Sending, _) => self
                .parked
                .iter()
                .find(|(p, _)| *p == w)
                .map_or(0, |(_, pending)| pending.len() as u64),
            (_, Origin::Message { .. }) => 1,
            (_, Origin::Call { .. }) => 0,
        }
    }

    fn attempt_failed(&mut self, ctx: &mut Ctx, w: usize) {
        let worker = &mut self.workers[w];
        debug_assert!(worker.busy);
        let generation = worker.generation;
        let attempt = if worker.retried {
            self.extra[w].attempt
        } else {
            0
        };
        if attempt < self.max_retries {
            self.retries += 1;
            worker.retried = true;
            worker.phase = Phase::Backoff;
            self.extra[w].attempt = attempt + 1;
            ctx.schedule_in(self.backoff, tag(TAG_BACKOFF_OVER, generation, w));
            return;
        }
        self.failed += 1;
        let now = ctx.now();
        self.service.record(now - worker.started);
        let sent = match worker.origin {
            Origin::Call { caller, call_id } => {
                ctx.reply(caller, call_id, Outcome::Failed);
                true
            }
            Origin::Message { .. } if self.error.is_empty() => {
                ctx.fate(Fate::Failed, 1);
                true
            }
            Origin::Message { .. } => {
                let msg = worker.take_message();
                ctx.send_copies(&self.error, msg, false, &mut self.outbox)
            }
        };
        self.after_sending(ctx, w, sent);
    }

    #[inline]
    fn succeeded(&mut self, ctx: &mut Ctx, w: usize) {
        self.done += 1;
        let now = ctx.now();
        let worker = &mut self.workers[w];
        debug_assert!(worker.busy);
        self.service.record(now - worker.started);
        let msg = worker.take_message();
        let sent = match worker.origin {
            Origin::Call { caller, call_id } => {
                ctx.reply(caller, call_id, Outcome::Ok);
                ctx.send_out(&self.out, msg, true, &mut self.outbox)
            }
            Origin::Message { .. } => ctx.send_out(&self.out, msg, false, &mut self.outbox),
        };
        self.after_sending(ctx, w, sent);
    }

    /// A job's results went out (`sent`), or some wait for room in `outbox`: the worker is
    /// free once all did. Always inlined: every job that ends comes through here.
    #[inline(always)]
    fn after_sending(&mut self, ctx: &mut Ctx, w: usize, sent: bool) {
        if sent {
            self.finish(ctx, w);
        } else {
            self.workers[w].phase = Phase::Sending;
            let pending = std::mem::take(&mut self.outbox);
            self.parked.push((w, pending));
        }
    }

    /// Frees worker `w` and gives it the next waiting job, if any. Always inlined: every
    /// job ends here, mostly right after its result was sent on.
    #[inline(always)]
    fn finish(&mut self, ctx: &mut Ctx, w: usize) {
        let worker = &mut self.workers[w];
        worker.generation = worker.generation.wrapping_add(1) & 0x3fff_ffff;
        if worker.busy {
            worker.busy = false;
            worker.msg = Message::EMPTY;
            if let Origin::Message { from, token } = worker.origin
                && token != NO_TOKEN
            {
                ctx.release(from, token);
            }
        }
        self.free_worker(w);
        self.drain_backlog(ctx);
        self.publish(ctx);
        self.arm_scaler(ctx);
    }

    /// Worker `w` has no job any more: it waits for the next one, or leaves if retiring.
    fn free_worker(&mut self, w: usize) {
        let worker = &mut self.workers[w];
        if worker.retiring {
            worker.retiring = false;
            self.spare.push(w);
            self.restaffed();
        } else {
            self.idle.push(&mut self.workers, w);
        }
    }

    /// Workers came or left: `staffed_now` follows, and the `staffed` gauge at the next
    /// publish.
    fn restaffed(&mut self) {
        self.staffed_now = (self.workers.len() - self.spare.len()) as u32;
        self.staffing_changed = true;
    }

    /// Schedules the scaler's next check unless one is pending.
    fn arm_scaler(&mut self, ctx: &mut Ctx) {
        if let Some(s) = &mut self.scaler
            && !s.armed
        {
            s.armed = true;
            ctx.schedule_in(s.period, tag(TAG_SCALE, 0, 0));
        }
    }

    /// The scaler's periodic check: one step towards the desired count once the cooldown
    /// has passed.
    fn check_scale(&mut self, ctx: &mut Ctx) {
        let count = self.count();
        let Some(s) = &mut self.scaler else { return };
        s.armed = false;
        let desired = s.desired(ctx);
        let now = ctx.now();
        let cooled = s.last_change.is_none_or(|t| now - t >= s.cooldown);
        if desired != count && cooled {
            s.last_change = Some(now);
            if desired > count {
                s.most = s.most.max(count + 1);
                self.add_worker(ctx);
            } else {
                self.remove_worker(ctx);
            }
        }
        let Some(s) = &self.scaler else { return };
        if self.count() != s.desired(ctx) {
            self.arm_scaler(ctx);
        } else {
            // At rest: any activity of a feeding queue (or of this service) wakes it.
            for &q in &s.feeders {
                ctx.wait_for(q);
            }
        }
    }

    /// One more worker: a retiring one stays after all, else a new one starts idle.
    fn add_worker(&mut self, ctx: &mut Ctx) {
        if let Some(worker) = self.workers.iter_mut().rev().find(|w| w.retiring) {
            worker.retiring = false;
            return;
        }
        let w = self.spare.pop().unwrap_or_else(|| {
            self.workers.push(Worker::default());
            self.extra.push(Extra::default());
            self.workers.len() - 1
        });
        self.restaffed();
        self.idle.push(&mut self.workers, w);
        self.drain_backlog(ctx);
        self.publish(ctx);
    }

    /// One worker less: an idle one leaves now, else a busy one leaves after its job.
    fn remove_worker(&mut self, ctx: &mut Ctx) {
        let mut idle = self.idle.bottom_up(&self.workers);
        let highest_idle = (0..idle.len()).max_by_key(|&i| idle[i]);
        if let Some(i) = highest_idle {
            let w = idle.swap_remove(i);
            self.idle = IdleStack::from_bottom_up(&idle, &mut self.workers);
            self.spare.push(w);
            self.restaffed();
        } else if let Some(worker) = self
            .workers
            .iter_mut()
            .rev()
            .find(|w| w.busy && !w.retiring)
        {
            worker.retiring = true;
        }
        self.publish(ctx);
    }

    /// Gives idle workers the jobs waiting in the backlog. Always inlined: every job's end
    /// looks here, and most of the time finds nothing.
    #[inline(always)]
    fn drain_backlog(&mut self, ctx: &mut Ctx) {
        while self.backlogged > 0 && !self.idle.is_empty() && !ctx.faults().halted() {
            let Some((origin, msg)) = self.backlog.pop_front() else {
                break;
            };
            self.backlogged -= 1;
            self.take(ctx, origin, msg);
        }
    }

    /// A crash: work in progress is lost, callers are answered with a failure.
    fn crash(&mut self, ctx: &mut Ctx) {
        let mut lost = 0;
        for w in 0..self.workers.len() {
            if !self.workers[w].busy {
                continue;
            }
            lost += self.units(w);
            let worker = &mut self.workers[w];
            worker.busy = false;
            worker.msg = Message::EMPTY;
            match worker.origin {
                Origin::Call { caller, call_id } if worker.phase != Phase::Sending => {
                    ctx.reply(caller, call_id, Outcome::Failed);
                }
                Origin::Message { from, token } if token != NO_TOKEN => ctx.release(from, token),
                _ => {}
            }
            let worker = &mut self.workers[w];
            worker.generation = worker.generation.wrapping_add(1) & 0x3fff_ffff;
            self.free_worker(w);
        }
        self.parked.clear();
        self.backlogged = 0;
        for (origin, _) in std::mem::take(&mut self.backlog) {
            match origin {
                Origin::Call { caller, call_id } => ctx.reply(caller, call_id, Outcome::Failed),
                Origin::Message { from, token } => {
                    lost += 1;
                    if token != NO_TOKEN {
                        ctx.release(from, token);
                    }
                }
            }
        }
        self.lost += lost;
        ctx.fate(Fate::Lost, lost);
    }
}

impl Behavior for Service {
    fn start(&mut self, ctx: &mut Ctx) {
        self.publish(ctx);
        self.arm_scaler(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, tag: u64) {
        let (kind, generation, w) = untag(tag);
        if kind == TAG_SCALE {
            self.check_scale(ctx);
            return;
        }
        let Some(worker) = self.workers.get(w) else {
            return;
        };
        if worker.generation != generation || !worker.busy {
            return; // the job this timer was for has ended (a crash)
        }
        if kind == TAG_BACKOFF_OVER {
            self.work(ctx, w);
            return;
        }
        let p = if ctx.faulty() {
            combined_failure(self.failure_rate, &ctx.faults())
        } else {
            self.own_failure
        };
        if p > 0.0 {
            // The draw for the failure comes from the stream of the service times.
            self.ahead.rewind(ctx.rng);
        }
        if ctx.chance(p) {
            self.attempt_failed(ctx, w);
        } else if self.has_calls {
            let first = self.calls[0];
            let worker = &mut self.workers[w];
            worker.phase = Phase::Calling;
            self.extra[w].call = 0;
            let msg = worker.msg.clone();
            ctx.call(first, tag, msg);
        } else {
            self.succeeded(ctx, w);
        }
    }

    fn on_arrive(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message, token: u32) {
        self.in_ += 1;
        if ctx.faults().crashed {
            self.lost += 1;
            ctx.fate(Fate::Lost, 1);
            if token != NO_TOKEN {
                ctx.release(from, token);
            }
            return;
        }
        self.take(ctx, Origin::Message { from, token }, msg);
        self.publish(ctx);
        self.arm_scaler(ctx);
    }

    fn on_call(&mut self, ctx: &mut Ctx, caller: NodeId, call_id: u64, msg: Message) {
        self.in_ += 1;
        if ctx.faults().crashed {
            self.failed += 1;
            ctx.reply(caller, call_id, Outcome::Failed);
            return;
        }
        self.take(ctx, Origin::Call { caller, call_id }, msg);
        self.publish(ctx);
        self.arm_scaler(ctx);
    }

    fn on_reply(&mut self, ctx: &mut Ctx, call_id: u64, outcome: Outcome) {
        let (_, generation, w) = untag(call_id);
        let Some(Worker {
            generation: current,
            busy: true,
            phase: Phase::Calling,
            msg,
            ..
        }) = self.workers.get(w)
        else {
            return;
        };
        if *current != generation {
            return;
        }
        let i = self.extra[w].call as usize;
        if outcome != Outcome::Ok {
            self.attempt_failed(ctx, w);
        } else if let Some(&next) = self.calls.get(i + 1) {
            self.extra[w].call = (i + 1) as u32;
            let msg = msg.clone();
            ctx.call(next, call_id, msg);
        } else {
            self.succeeded(ctx, w);
        }
    }

    fn on_wake(&mut self, ctx: &mut Ctx) {
        self.arm_scaler(ctx);
        if self.parked.is_empty() {
            return;
        }
        // Workers in order, as their results went out before they were kept apart.
        let mut parked = std::mem::take(&mut self.parked);
        parked.sort_unstable_by_key(|&(w, _)| w);
        let mut waiting = Vec::with_capacity(parked.len());
        for (w, mut pending) in parked {
            if ctx.retry_pending(&mut pending) {
                self.finish(ctx, w);
            } else {
                waiting.push((w, pending));
            }
        }
        waiting.append(&mut self.parked);
        self.parked = waiting;
    }

    fn tracks_tokens(&self) -> bool {
        true
    }

    fn reconfigure(&mut self, ctx: &mut Ctx, config: &NodeConfig) -> Result<(), String> {
        let NodeConfig::Service(c) = config else {
            return Err("a service's kind cannot change while the graph runs".to_owned());
        };
        self.service_time = Sampler::new(&c.service_time);
        self.ahead.rewind(ctx.rng);
        self.failure_rate = c.failure_rate;
        self.own_failure = combined_failure(c.failure_rate, &FaultState::default());
        self.max_retries = c.max_retries;
        self.backoff = ms_to_ns(c.retry_backoff_ms);
        self.scaler = c
            .autoscale
            .as_ref()
            .map(|a| Box::new(Scaler::new(a, self.feeders.clone())));
        let wanted = match &self.scaler {
            Some(s) => self.count().clamp(s.min, s.max),
            None => c.concurrency.max(1) as usize,
        };
        while self.count() < wanted {
            self.add_worker(ctx);
        }
        while self.count() > wanted {
            self.remove_worker(ctx);
        }
        self.arm_scaler(ctx);
        self.publish(ctx);
        Ok(())
    }

    fn on_faults(&mut self, ctx: &mut Ctx, before: FaultState) {
        if ctx.faults().crashed && !before.crashed {
            self.crash(ctx);
        }
        self.drain_backlog(ctx);
        self.publish(ctx);
        self.arm_scaler(ctx);
    }

    fn batch_metrics(&mut self) {
        self.service.batch_records();
    }

    fn held(&self) -> u64 {
        let working: u64 = (0..self.workers.len())
            .filter(|&w| self.workers[w].busy)
            .map(|w| self.units(w))
            .sum();
        let waiting = self
            .backlog
            .iter()
            .filter(|(o, _)| matches!(o, Origin::Message { .. }))
            .count() as u64;
        working + waiting
    }

    fn latency(&self) -> Option<&Latency> {
        Some(&self.service)
    }

    fn report(&self, now: Time) -> NodeReport {
        let staffed = self.staffed.area(now);
        let utilization = if staffed == 0 {
            0.0
        } else {
            self.busy.area(now) as f64 / staffed as f64
        };
        NodeReport {
            kind: "service".into(),
            in_: self.in_,
            out: self.done,
            failed: Some(self.failed),
            lost: Some(self.lost),
            in_flight: Some(self.held()),
            utilization: Some(utilization),
            service_ms: Some(self.service.summary()),
            retries: Some(self.retries),
            workers: Some(self.count() as u32),
            workers_max: self.scaler.as_ref().map(|s| s.most as u32),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Graph;
    use crate::report::Report;
    use crate::sim::{RunOptions, Simulation, run};

    /// `limit` messages at `rate` per second, evenly spaced, through an unbounded queue to
    /// service `w` (constant `service_ms`, autoscaled by `autoscale`) and a sink.
    fn scaled(rate: f64, limit: u64, service_ms: f64, autoscale: &str) -> Graph {
        Graph::from_json_str(&format!(
            r#"{{"format": "flowbench.graph", "version": 1, "seed": 4,
              "nodes": [
                {{"id": "p", "kind": "producer", "config": {{"rate_per_sec": {rate},
                  "arrival": "constant", "limit": {limit}}}}},
                {{"id": "q", "kind": "queue", "config": {{"capacity": null}}}},
                {{"id": "w", "kind": "service", "config": {{"concurrency": 7,
                  "service_time": {{"dist": "const", "ms": {service_ms}}},
                  "autoscale": {autoscale}}}}},
                {{"id": "done", "kind": "sink"}}],
              "edges": [{{"from": "p", "to": "q"}}, {{"from": "q", "to": "w"}},
                        {{"from": "w", "to": "done"}}]}}"#
        ))
        .unwrap()
    }

    /// The idle stack threaded through the workers behaves as a vector used as a stack,
    /// taken apart and rebuilt (as scaling down does) included.
    #[test]
    fn idle_stack_is_a_stack() {
        use super::{IdleStack, Worker};
        let mut workers: Vec<Worker> = (0..6).map(|_| Worker::default()).collect();
        let mut idle = IdleStack::new(&mut workers);
        let mut model: Vec<usize> = (0..6).rev().collect();
        assert_eq!(idle.bottom_up(&workers), model);
        for _ in 0..3 {
            assert_eq!(idle.pop(&workers), model.pop());
        }
        idle.push(&mut workers, 1);
        model.push(1);
        assert_eq!(
            (idle.last(), idle.len()),
            (model.last().copied(), model.len())
        );
        let mut stack = idle.bottom_up(&workers);
        assert_eq!(stack, model);
        stack.swap_remove(0);
        model.swap_remove(0);
        let mut idle = IdleStack::from_bottom_up(&stack, &mut workers);
        while let Some(w) = model.pop() {
            assert_eq!(idle.pop(&workers), Some(w));
        }
        assert!(idle.is_empty() && idle.pop(&workers).is_none());
    }

    const FOUR: &str = r#"{"min": 1, "max": 4, "target_depth": 5, "cooldown_ms": 500}"#;

    fn ok(report: Report) -> Report {
        assert!(report.conservation.ok, "{:?}", report.conservation);
        report
    }

    /// Under a load four workers cannot carry, the service grows from `min` to `max`
    /// (ignoring `concurrency`) and stays there, with every worker busy.
    #[test]
    fn autoscale_grows_to_max_under_load() {
        let graph = scaled(200.0, 2000, 50.0, FOUR);
        let r = ok(run(
            &graph,
            &RunOptions {
                duration_ms: Some(5000.0),
                seed: None,
            },
        )
        .unwrap());
        let w = &r.nodes["w"];
        assert_eq!((w.workers, w.workers_max), (Some(4), Some(4)));
        let u = w.utilization.unwrap();
        assert!(u > 0.99 && u <= 1.0, "{u}");
    }

    /// The scaler checks every cooldown / 5 (100 ms here) and changes the count by one at
    /// most once per cooldown (500 ms): 1 → 2 at the first check, then 3 and 4 a cooldown
    /// apart each.
    #[test]
    fn autoscale_respects_cooldown() {
        let mut sim = Simulation::new(&scaled(200.0, 2000, 50.0, FOUR), None).unwrap();
        let mut changes = Vec::new();
        let mut last = 1;
        for step in 0..=400 {
            let ms = f64::from(step) * 10.0;
            sim.run_until_ms(ms);
            let workers = sim.report(0.0).nodes["w"].workers.unwrap();
            if workers != last {
                changes.push((ms, last, workers));
                last = workers;
            }
        }
        assert_eq!(changes, [(100.0, 1, 2), (600.0, 2, 3), (1100.0, 3, 4)]);
    }

    /// Once the load is gone the service shrinks back to `min`, one worker per cooldown,
    /// and the run then ends by itself; every message was handled.
    #[test]
    fn autoscale_shrinks_to_min_when_idle() {
        let graph = scaled(200.0, 1000, 50.0, FOUR);
        let mut sim = Simulation::new(&graph, None).unwrap();
        sim.run_until_ms(5000.0);
        assert_eq!(sim.report(0.0).nodes["w"].workers, Some(4));
        sim.run_to_idle(None);
        let r = ok(sim.report(0.0));
        let w = &r.nodes["w"];
        assert_eq!((w.workers, w.workers_max), (Some(1), Some(4)));
        assert_eq!((w.in_, w.out, r.nodes["done"].in_), (1000, 1000, 1000));
        // 1000 messages at 80/s take until about 12.6 s; three steps down take 1.5 s more.
        assert!(r.sim_time_ms < 16_000.0, "{}", r.sim_time_ms);
    }

    /// A busy worker asked to retire finishes its job first, and utilization is busy area
    /// over worker area while the count changes. Jobs of 1 s arrive at 1, 2 and 3 ms: the
    /// check at 100 ms adds a worker (takes job 2), the one at 200 ms retires it while busy;
    /// it leaves at 1.1 s after its job. Busy 2000 + 1000 ms over 100 + 2 × 1000 + 1001 ms
    /// of workers (the run ends with the check at 2.101 s).
    #[test]
    fn autoscale_retires_busy_worker_after_its_job() {
        let graph = scaled(
            1000.0,
            3,
            1000.0,
            r#"{"min": 1, "max": 2, "target_depth": 1, "cooldown_ms": 0}"#,
        );
        let mut sim = Simulation::new(&graph, None).unwrap();
        let workers = |sim: &Simulation| sim.report(0.0).nodes["w"].workers.unwrap();
        sim.run_until_ms(150.0);
        assert_eq!(workers(&sim), 2);
        sim.run_until_ms(250.0);
        assert_eq!(workers(&sim), 1);
        sim.run_until_ms(1099.0);
        assert_eq!(sim.report(0.0).nodes["done"].in_, 1);
        sim.run_to_idle(None);
        let r = ok(sim.report(0.0));
        assert_eq!(r.sim_time_ms, 2101.0);
        let w = &r.nodes["w"];
        assert_eq!((w.in_, w.out, w.lost), (3, 3, Some(0)));
        assert_eq!((w.workers, w.workers_max), (Some(1), Some(2)));
        assert_eq!(w.utilization, Some(3000.0 / 3101.0));
    }

    /// Without autoscale a service keeps its `concurrency` and reports no `workers_max`.
    #[test]
    fn fixed_workers_without_autoscale() {
        let r = ok(run(&scaled(200.0, 500, 50.0, "null"), &RunOptions::default()).unwrap());
        let w = &r.nodes["w"];
        assert_eq!((w.workers, w.workers_max), (Some(7), None));
        let u = w.utilization.unwrap();
        assert!(u > 0.0 && u <= 1.0, "{u}");
    }
}
