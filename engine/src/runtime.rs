//! A simulation running on its own thread, for the live view. The UI sends [`Command`]s
//! over a crossbeam channel and reads [`Snapshot`]s from a one-slot channel that always
//! holds the newest: the UI never waits on the engine, and the engine never waits on the UI.
//!
//! Every command sent is numbered ([`EngineHandle::send`] returns its number, 1 for the
//! first). A snapshot tells the number of the last command applied and lists the commands
//! refused since the snapshot before, each with its number and reason; a snapshot that
//! replaces an unread one takes over its refusals, so none is lost. A command is thus
//! known to be accepted once a snapshot shows it applied without listing it as refused.
//!
//! Pacing is either as fast as the machine can ([`Pace::Max`]) or simulated time following
//! the wall clock times a speed ([`Pace::Realtime`]). A panic inside a node's handler stops
//! the run with a message naming the node; the thread, the UI and the document survive.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded, unbounded};

use crate::metrics::{RecentLatency, WindowPercentiles};
use crate::model::{FaultKind, Graph, NodeConfig};
use crate::report::Report;
use crate::sim::{BuildError, Simulation, ms_to_ns};

/// How simulated time relates to the wall clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// As fast as the machine can.
    Max,
    /// Simulated time = wall time × speed (1.0 is live).
    Realtime { speed: f64 },
}

/// What the UI asks of a running engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Run,
    Pause,
    /// Process exactly one event (pauses first).
    StepEvent,
    /// Advance simulated time by this much, then pause.
    Advance {
        ms: f64,
    },
    SetPace(Pace),
    /// Apply a node's new config now.
    SetConfig {
        node: String,
        config: NodeConfig,
    },
    /// Start a fault on a node until cleared.
    InjectFault {
        node: String,
        kind: FaultKind,
        rate: Option<f64>,
        factor: Option<f64>,
    },
    /// End every fault active on a node.
    ClearFaults {
        node: String,
    },
    /// Rewind an event log's consumer (all when `None`) to the start.
    Replay {
        log: String,
        consumer: Option<String>,
    },
    /// Stop the thread.
    Stop,
}

/// Where the run stands.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    Running,
    Paused,
    /// Nothing left to do (every limit reached, the graph idle).
    Finished,
    /// A node failed; the message names it. The run cannot continue.
    Failed(String),
}

/// What the engine shows the UI, several times a second.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub state: RunState,
    pub pace: Pace,
    /// Scheduler events per second of wall time, over the last interval.
    pub events_per_sec: f64,
    /// The run's report as of now (`sim_time_ms`, `events`, every node's counters).
    pub report: Report,
    /// The number of the last command applied (0 before the first): every command up to
    /// this number has been applied, each accepted unless a snapshot up to this one lists
    /// it in [`Snapshot::refusals`].
    pub applied: u64,
    /// The commands refused since the last snapshot the UI received (live edits the engine
    /// cannot apply; a run or a speed a graph on brokers cannot take), in the order
    /// applied. A refusal comes in the first snapshot received that shows its command
    /// applied.
    pub refusals: Vec<Refusal>,
    /// Per node (graph order): the kinds of the faults active now.
    pub active_faults: Vec<Vec<FaultKind>>,
    /// Per node (graph order): p50 and p99 of its headline latency (the first of
    /// `latency_ms`, `service_ms`, `wait_ms` in its report) over the values recorded during
    /// about the last [`RECENT_MS`] of simulated time; `None` for a node without such a
    /// latency or with no value in the window. The report's figures are since the start.
    pub recent_latency: Vec<Option<WindowPercentiles>>,
}

/// A command the engine did not carry out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The command's number, as [`EngineHandle::send`] returned it.
    pub command: u64,
    /// Why; a refused config edit names its node first (`node 'q': ...`).
    pub reason: String,
}

impl Snapshot {
    /// Why command number `command` was refused, if this snapshot lists it.
    pub fn refusal_of(&self, command: u64) -> Option<&str> {
        self.refusals
            .iter()
            .find(|r| r.command == command)
            .map(|r| r.reason.as_str())
    }
}

/// A refusal's reason with the node it is about: a node's reason says what cannot be done,
/// not on which node; a missing node is named by the reason itself.
fn on_node(node: &str, known: bool, reason: String) -> String {
    if known {
        format!("node '{node}': {reason}")
    } else {
        reason
    }
}

/// A live run stops when this many messages are inside the graph: a graph growing without
/// bound ends with a message instead of exhausting the machine (about 40 bytes each).
pub const MAX_IN_FLIGHT: u64 = 25_000_000;
/// The span of simulated time [`Snapshot::recent_latency`] covers: its window holds the
/// values recorded since the last snapshot at least this long ago, so at least this span
/// (once the run is that old), plus up to one interval between snapshots; at speeds where
/// snapshots are further apart in simulated time, the interval since the previous one.
pub const RECENT_MS: f64 = 1000.0;
/// How often a snapshot is published: at most this often, and less often when making one
/// takes long (a graph of thousands of nodes), so that snapshots take at most about a fifth
/// of the engine thread's time ([`SNAPSHOT_SHARE`]) and the simulation the rest.
const SNAPSHOT_EVERY: Duration = Duration::from_millis(50);
/// The time between two snapshots is at least this many times what the last one took.
const SNAPSHOT_SHARE: u32 = 5;
/// Longest stretch of work between two looks at the command channel.
const SLICE: Duration = Duration::from_millis(4);

/// The UI's end of a running engine.
pub struct EngineHandle {
    /// The number of the last command sent; held while sending, so that numbers reach the
    /// engine in order.
    sent: Mutex<u64>,
    commands: Sender<(u64, Command)>,
    snapshots: Receiver<Snapshot>,
    thread: Option<JoinHandle<()>>,
}

impl EngineHandle {
    /// Builds the simulation of `graph` and starts its thread, paused.
    pub fn start(graph: &Graph, seed: Option<u64>, pace: Pace) -> Result<EngineHandle, BuildError> {
        let sim = Simulation::new(graph, seed)?;
        let (commands, command_rx) = unbounded();
        let (snapshot_tx, snapshots) = bounded(1);
        let stale = snapshots.clone();
        let thread = std::thread::Builder::new()
            .name("flowbench-engine".to_owned())
            .spawn(move || {
                Engine {
                    sim,
                    pace,
                    running: false,
                    failed: None,
                    applied: 0,
                    refusals: Vec::new(),
                    commands: command_rx,
                    snapshots: snapshot_tx,
                    stale,
                    anchor: None,
                    rate_mark: (Instant::now(), 0),
                    events_per_sec: 0.0,
                    hub: None,
                    recent: Vec::new(),
                }
                .run()
            })
            .expect("the engine thread starts");
        Ok(EngineHandle {
            sent: Mutex::new(0),
            commands,
            snapshots,
            thread: Some(thread),
        })
    }

    /// Sends `command` to the engine; returns its number, which snapshots use to say
    /// whether it was applied and whether it was refused.
    pub fn send(&self, command: Command) -> u64 {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        *sent += 1;
        // The thread only goes away on Stop or when dropped; nothing to report then.
        let _ = self.commands.send((*sent, command));
        *sent
    }

    /// The newest snapshot since the last call, if the engine published one, with the
    /// refusals of any older one it replaces.
    pub fn latest(&self) -> Option<Snapshot> {
        let mut newest: Option<Snapshot> = None;
        while let Ok(mut s) = self.snapshots.try_recv() {
            if let Some(older) = newest {
                s.refusals.splice(0..0, older.refusals);
            }
            newest = Some(s);
        }
        newest
    }

    /// Waits up to `timeout` for the next snapshot (tests and the command line).
    pub fn wait_snapshot(&self, timeout: Duration) -> Option<Snapshot> {
        self.snapshots.recv_timeout(timeout).ok()
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        self.send(Command::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Engine {
    sim: Simulation,
    pace: Pace,
    running: bool,
    failed: Option<String>,
    /// The number of the last command applied.
    applied: u64,
    /// Refusals not yet in a published snapshot.
    refusals: Vec<Refusal>,
    commands: Receiver<(u64, Command)>,
    snapshots: Sender<Snapshot>,
    /// The engine's own receiver of the snapshot slot, to throw away a stale snapshot.
    stale: Receiver<Snapshot>,
    /// Realtime pacing: wall instant and simulated time (ns) that correspond.
    anchor: Option<(Instant, u64)>,
    /// Wall instant and event count at the last rate measurement.
    rate_mark: (Instant, u64),
    events_per_sec: f64,
    /// Broker connections, opened when a graph with broker-backed channels first runs.
    hub: Option<crate::broker::Hub>,
    /// Per node: the rolling window of its headline latency.
    recent: Vec<RecentLatency>,
}

/// Why a graph with broker-backed channels does not run at full speed.
const BROKERS_LIVE_ONLY: &str = "channels on a broker run live only: choose 1×, 10× or 100×, \
     not max";

impl Engine {
    fn run(mut self) {
        self.run_loop();
        if let Some(hub) = self.hub.take() {
            hub.shutdown(Duration::from_secs(2));
            self.sim.poll_brokers(false);
        }
    }

    fn run_loop(&mut self) {
        let mut last_snapshot = Instant::now();
        // Publish at the first look: a new run, or a command just applied, is shown at once.
        let mut publish_now = true;
        let mut interval = SNAPSHOT_EVERY;
        loop {
            let busy = self.running && self.failed.is_none();
            let wait = if busy { Duration::ZERO } else { SNAPSHOT_EVERY };
            match self.commands.recv_timeout(wait) {
                Ok((_, Command::Stop)) | Err(RecvTimeoutError::Disconnected) => return,
                Ok((number, command)) => {
                    self.apply(number, command);
                    // Drain the rest without waiting.
                    while let Ok((number, command)) = self.commands.try_recv() {
                        if command == Command::Stop {
                            return;
                        }
                        self.apply(number, command);
                    }
                    publish_now = true;
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            if self.running && self.failed.is_none() {
                self.work_slice();
            }
            if publish_now || last_snapshot.elapsed() >= interval {
                let start = Instant::now();
                self.publish();
                last_snapshot = Instant::now();
                interval = SNAPSHOT_EVERY.max(last_snapshot.duration_since(start) * SNAPSHOT_SHARE);
                publish_now = false;
            }
        }
    }

    /// Runs a bounded stretch of the simulation, then returns to look at commands.
    fn work_slice(&mut self) {
        let start = Instant::now();
        let result = match self.pace {
            Pace::Max => self.guarded(|sim| {
                while start.elapsed() < SLICE {
                    for _ in 0..4096 {
                        if !sim.step() {
                            return;
                        }
                    }
                }
            }),
            Pace::Realtime { speed } => {
                let (wall, sim_ns) = *self
                    .anchor
                    .get_or_insert_with(|| (Instant::now(), self.sim.now_ns()));
                let target = sim_ns + ms_to_ns(wall.elapsed().as_secs_f64() * 1000.0 * speed);
                let r = self.guarded(|sim| {
                    sim.poll_brokers(true);
                    while start.elapsed() < SLICE {
                        match sim.next_event_ns() {
                            Some(next) if next <= target => {
                                sim.step();
                            }
                            _ => {
                                // A graph that has ended stays at its last event, where a
                                // headless run of it ends, rather than at the wall clock.
                                if !sim.is_idle() {
                                    sim.run_until_ns(target);
                                }
                                break;
                            }
                        }
                    }
                });
                if r.is_ok() && start.elapsed() < Duration::from_millis(2) {
                    // Caught up with the wall clock: rest instead of spinning.
                    std::thread::sleep(Duration::from_millis(2));
                }
                r
            }
        };
        if let Err(message) = result {
            self.failed = Some(message);
            self.running = false;
        } else if self.sim.in_flight() > MAX_IN_FLIGHT {
            let holder = match self.sim.largest_holder() {
                Some((id, held)) => format!("; node '{id}' holds {held} of them"),
                None => String::new(),
            };
            self.failed = Some(format!(
                "stopped at {:.3} s: more than {MAX_IN_FLIGHT} messages are inside the \
                 graph{holder}. A queue without a consumer or bound? Bound it and restart",
                self.sim.now_ms() / 1000.0
            ));
            self.running = false;
        } else if self.sim.is_idle() {
            self.running = false;
        }
    }

    /// Runs `f` on the simulation; a panic becomes a message naming the node.
    fn guarded(&mut self, f: impl FnOnce(&mut Simulation)) -> Result<(), String> {
        let sim = &mut self.sim;
        catch_unwind(AssertUnwindSafe(|| f(sim))).map_err(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown failure".to_owned());
            match self.sim.current_node() {
                Some(node) => format!(
                    "node '{node}' failed at {:.3} ms: {what}",
                    self.sim.now_ms()
                ),
                None => format!("the engine failed: {what}"),
            }
        })
    }

    /// Applies command number `number`, noting its refusal if it is refused.
    fn apply(&mut self, number: u64, command: Command) {
        if let Some(reason) = self.carry_out(command) {
            self.refusals.push(Refusal {
                command: number,
                reason,
            });
        }
        self.applied = number;
    }

    /// Carries out `command`; returns why it was refused, if it was. A failure (a node's
    /// panic) stops the run instead.
    fn carry_out(&mut self, command: Command) -> Option<String> {
        let outcome = match command {
            Command::Run => {
                if self.sim.has_brokers() {
                    match self.pace {
                        Pace::Max => return Some(BROKERS_LIVE_ONLY.to_owned()),
                        Pace::Realtime { speed } if self.hub.is_none() => {
                            let hub = crate::broker::Hub::new();
                            self.sim.connect_brokers(&hub, speed);
                            self.hub = Some(hub);
                        }
                        Pace::Realtime { .. } => {}
                    }
                }
                self.running = true;
                self.anchor = None;
                Ok(None)
            }
            Command::Pause => {
                self.running = false;
                Ok(None)
            }
            Command::StepEvent => {
                self.running = false;
                self.guarded(|sim| {
                    sim.step();
                })
                .map(|()| None)
            }
            Command::Advance { ms } => {
                self.running = false;
                let until = self.sim.now_ms() + ms.max(0.0);
                self.guarded(|sim| sim.run_until_ms(until)).map(|()| None)
            }
            Command::SetPace(pace) => {
                if pace == Pace::Max && self.sim.has_brokers() {
                    return Some(BROKERS_LIVE_ONLY.to_owned());
                }
                self.pace = pace;
                self.anchor = None;
                Ok(None)
            }
            Command::SetConfig { node, config } => {
                let known = self.sim.node_ids().contains(&node);
                self.edit(|sim| sim.set_config(&node, &config))
                    .map(|refused| refused.map(|reason| on_node(&node, known, reason)))
            }
            Command::InjectFault {
                node,
                kind,
                rate,
                factor,
            } => {
                let known = self.sim.node_ids().contains(&node);
                self.edit(|sim| sim.inject_fault(&node, kind, rate, factor))
                    .map(|refused| refused.map(|reason| on_node(&node, known, reason)))
            }
            Command::ClearFaults { node } => self.edit(|sim| sim.clear_faults(&node)),
            Command::Replay { log, consumer } => {
                self.edit(|sim| sim.replay(&log, consumer.as_deref()))
            }
            Command::Stop => Ok(None),
        };
        outcome.unwrap_or_else(|message| {
            self.failed = Some(message);
            self.running = false;
            None
        })
    }

    /// A live edit: a refused edit gives its reason and is not fatal; a panic is (`Err`).
    fn edit(
        &mut self,
        f: impl FnOnce(&mut Simulation) -> Result<(), String>,
    ) -> Result<Option<String>, String> {
        let mut refused = None;
        self.guarded(|sim| refused = f(sim).err())?;
        Ok(refused)
    }

    /// Each node's latency percentiles over the last [`RECENT_MS`].
    fn recent_latency(&mut self) -> Vec<Option<WindowPercentiles>> {
        let now = self.sim.now_ns();
        let span = ms_to_ns(RECENT_MS);
        self.recent
            .resize_with(self.sim.node_ids().len(), RecentLatency::default);
        self.sim
            .latencies()
            .zip(&mut self.recent)
            .map(|(latency, recent)| latency.and_then(|l| recent.update(l, now, span)))
            .collect()
    }

    fn publish(&mut self) {
        let now = Instant::now();
        let (mark, events) = self.rate_mark;
        let elapsed = now.duration_since(mark).as_secs_f64();
        if elapsed >= 0.25 {
            self.events_per_sec = (self.sim.events() - events) as f64 / elapsed;
            self.rate_mark = (now, self.sim.events());
        }
        let state = match (&self.failed, self.running) {
            (Some(message), _) => RunState::Failed(message.clone()),
            (None, true) => RunState::Running,
            (None, false) if self.sim.is_idle() => RunState::Finished,
            (None, false) => RunState::Paused,
        };
        let events_per_sec = if state == RunState::Running {
            self.events_per_sec
        } else {
            0.0
        };
        let report = match catch_unwind(AssertUnwindSafe(|| self.sim.report(0.0))) {
            Ok(report) => report,
            Err(_) => return,
        };
        let active_faults = self.sim.active_faults();
        let recent_latency = self.recent_latency();
        let snapshot = Snapshot {
            state,
            pace: self.pace,
            events_per_sec,
            report,
            applied: self.applied,
            refusals: std::mem::take(&mut self.refusals),
            active_faults,
            recent_latency,
        };
        // One slot: replace an unread snapshot instead of waiting for the UI, taking over
        // its refusals. If the UI reads it meanwhile, the slot is empty and it has them.
        match self.snapshots.try_send(snapshot) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(mut snapshot)) => {
                if let Ok(unread) = self.stale.try_recv() {
                    snapshot.refusals.splice(0..0, unread.refusals);
                }
                let _ = self.snapshots.try_send(snapshot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceConfig;

    fn graph(concurrency: u32) -> Graph {
        Graph::from_json_str(&format!(
            r#"{{"format": "flowbench.graph", "version": 1, "name": "live",
            "nodes": [
              {{"id": "p", "kind": "producer", "config": {{"rate_per_sec": 300}}}},
              {{"id": "q", "kind": "queue", "config": {{"capacity": null}}}},
              {{"id": "s", "kind": "service", "config": {{"concurrency": {concurrency},
                 "service_time": {{"dist": "const", "ms": 10}}}}}},
              {{"id": "done", "kind": "sink"}}
            ],
            "edges": [{{"from": "p", "to": "q"}}, {{"from": "q", "to": "s"}}, {{"from": "s", "to": "done"}}]}}"#
        ))
        .unwrap()
    }

    fn wait_for(handle: &EngineHandle, what: impl Fn(&Snapshot) -> bool) -> Snapshot {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = handle
                .wait_snapshot(Duration::from_secs(5))
                .expect("the engine publishes snapshots");
            if what(&s) || Instant::now() > deadline {
                return s;
            }
        }
    }

    /// A run advances simulated time; pause stops the clock.
    #[test]
    fn run_and_pause() {
        let handle = EngineHandle::start(&graph(4), None, Pace::Realtime { speed: 50.0 }).unwrap();
        handle.send(Command::Run);
        let s = wait_for(&handle, |s| s.report.sim_time_ms > 2000.0);
        assert_eq!(s.state, RunState::Running);
        handle.send(Command::Pause);
        let paused = wait_for(&handle, |s| s.state == RunState::Paused);
        let later = wait_for(&handle, |_| true);
        assert_eq!(paused.report.sim_time_ms, later.report.sim_time_ms);
        assert!(paused.report.conservation.ok);
    }

    /// Stepping one event and advancing a second work while paused.
    #[test]
    fn step_and_advance() {
        let handle = EngineHandle::start(&graph(4), None, Pace::Max).unwrap();
        handle.send(Command::StepEvent);
        let s = wait_for(&handle, |s| s.report.events >= 1);
        // One scheduled event: the producer's first message, which goes on through the
        // queue into the idle service at once (three activations, one step).
        assert_eq!(s.report.nodes["p"].out, 1);
        assert_eq!(s.report.nodes["s"].in_, 1);
        assert_eq!(s.report.events, 3);
        handle.send(Command::Advance { ms: 1000.0 });
        let s = wait_for(&handle, |s| s.report.sim_time_ms >= 1000.0);
        assert_eq!(s.state, RunState::Paused);
        assert!(s.report.nodes["p"].out > 200);
    }

    /// Raising a service's concurrency live drains the queue that backed up.
    #[test]
    fn live_concurrency_edit_drains_the_queue() {
        // 300/s into one worker of 10 ms (100/s): the queue grows.
        let handle = EngineHandle::start(&graph(1), None, Pace::Max).unwrap();
        handle.send(Command::Advance { ms: 5000.0 });
        let before = wait_for(&handle, |s| s.report.sim_time_ms >= 5000.0);
        let depth_before = before.report.nodes["q"].depth.unwrap().last;
        assert!(depth_before > 500.0, "{depth_before}");
        let config = NodeConfig::Service(ServiceConfig {
            concurrency: 8,
            service_time: crate::model::Dist::Const { ms: 10.0 },
            ..ServiceConfig::default()
        });
        handle.send(Command::SetConfig {
            node: "s".into(),
            config,
        });
        handle.send(Command::Advance { ms: 5000.0 });
        let after = wait_for(&handle, |s| s.report.sim_time_ms >= 10_000.0);
        assert!(after.refusals.is_empty(), "{:?}", after.refusals);
        assert_eq!(after.report.nodes["s"].workers, Some(8));
        assert!(after.report.nodes["q"].depth.unwrap().last < 10.0);
        assert!(after.report.conservation.ok);
    }

    /// A service slow from 5 s to 10 s: its recent p99 rises during the fault and falls back
    /// to where it was once the fault has ended, while the report's p99, since the start,
    /// stays high; the sink's end-to-end latency follows the same way.
    #[test]
    fn recent_latency_recovers_after_a_slow_period() {
        let graph = Graph::from_json_str(include_str!("../tests/graphs/slow-period.json")).unwrap();
        let handle = EngineHandle::start(&graph, Some(7), Pace::Max).unwrap();
        let mut t = 0.0;
        let mut at = |until: f64| {
            while t < until {
                t += 250.0;
                handle.send(Command::Advance { ms: 250.0 });
                wait_for(&handle, |s| s.report.sim_time_ms >= t);
            }
            let s = wait_for(&handle, |s| s.report.sim_time_ms >= t);
            let recent = |i: usize| s.recent_latency[i].expect("values in the window");
            let cumulative = |id: &str| {
                s.report.nodes[id]
                    .latency_ms
                    .or(s.report.nodes[id].service_ms)
                    .unwrap()
                    .p99
            };
            (recent(1), recent(2), cumulative("s"), cumulative("done"))
        };
        let (before, before_done, _, _) = at(5000.0);
        let (during, _, _, _) = at(9000.0);
        let (after, after_done, cumulative, cumulative_done) = at(12_000.0);
        assert!(before.count >= 150 && before.count <= 300, "{before:?}");
        assert!(during.p99 > 5.0 * before.p99, "{before:?} {during:?}");
        assert!(
            (after.p99 - before.p99).abs() < 0.5 * before.p99,
            "{before:?} {after:?}"
        );
        assert!(
            (after_done.p99 - before_done.p99).abs() < 0.5 * before_done.p99,
            "{before_done:?} {after_done:?}"
        );
        assert!(cumulative > 5.0 * after.p99, "{cumulative} {after:?}");
        assert!(
            cumulative_done > 5.0 * after_done.p99,
            "{cumulative_done} {after_done:?}"
        );
        assert!(after.p50 < after.p99);
    }

    /// An injected fault shows as active and ends when cleared.
    #[test]
    fn inject_and_clear_fault() {
        let handle = EngineHandle::start(&graph(4), None, Pace::Max).unwrap();
        handle.send(Command::InjectFault {
            node: "s".into(),
            kind: FaultKind::Fail,
            rate: Some(1.0),
            factor: None,
        });
        handle.send(Command::Advance { ms: 1000.0 });
        let s = wait_for(&handle, |s| s.report.sim_time_ms >= 1000.0);
        assert_eq!(s.active_faults[2], vec![FaultKind::Fail]);
        assert!(s.report.nodes["s"].failed.unwrap() > 100);
        handle.send(Command::ClearFaults { node: "s".into() });
        handle.send(Command::Advance { ms: 1000.0 });
        let s = wait_for(&handle, |s| s.report.sim_time_ms >= 2000.0);
        assert!(s.active_faults[2].is_empty());
    }

    /// A fault the engine cannot inject is refused with the node named.
    #[test]
    fn refused_fault_names_its_node() {
        let handle = EngineHandle::start(&graph(1), None, Pace::Max).unwrap();
        let fault = handle.send(Command::InjectFault {
            node: "s".into(),
            kind: FaultKind::Fail,
            rate: Some(2.0),
            factor: None,
        });
        let s = wait_for(&handle, |s| s.applied >= fault);
        assert_eq!(
            s.refusal_of(fault),
            Some("node 's': a fail rate must be within 0..=1 (got 2)")
        );
    }

    /// An edit the engine cannot apply live is refused with a reason; the run goes on.
    #[test]
    fn refused_edit_is_reported() {
        let handle = EngineHandle::start(&graph(1), None, Pace::Max).unwrap();
        let edit = handle.send(Command::SetConfig {
            node: "nope".into(),
            config: NodeConfig::Sink(Default::default()),
        });
        let s = wait_for(&handle, |s| s.applied >= edit);
        let reason = s.refusal_of(edit).expect("the edit is refused");
        assert_eq!(reason, "no node has id 'nope'");
        assert_eq!(s.state, RunState::Paused);
        // Said once: the next snapshot lists no refusal.
        assert!(wait_for(&handle, |_| true).refusals.is_empty());
    }

    /// Two edits and a run sent together: each edit gets its own verdict, by number. The
    /// refused one names its command; the accepted one is applied and listed nowhere.
    #[test]
    fn each_edit_gets_its_own_verdict() {
        let handle = EngineHandle::start(&graph(1), None, Pace::Max).unwrap();
        let refused = handle.send(Command::SetConfig {
            node: "q".into(),
            config: NodeConfig::Service(ServiceConfig::default()),
        });
        let accepted = handle.send(Command::SetConfig {
            node: "s".into(),
            config: NodeConfig::Service(ServiceConfig {
                concurrency: 8,
                service_time: crate::model::Dist::Const { ms: 10.0 },
                ..ServiceConfig::default()
            }),
        });
        let run = handle.send(Command::Run);
        assert_eq!((accepted, run), (refused + 1, refused + 2));
        let s = wait_for(&handle, |s| s.applied >= run);
        assert_eq!(s.applied, run);
        assert_eq!(s.refusals.len(), 1, "{:?}", s.refusals);
        assert_eq!(s.refusals[0].command, refused);
        // The reason names the node.
        assert_eq!(
            s.refusals[0].reason,
            "node 'q': a queue's kind cannot change while the graph runs"
        );
        assert_eq!(s.refusal_of(accepted), None);
        assert_eq!(s.refusal_of(run), None);
        assert_eq!(s.state, RunState::Running);
        assert_eq!(s.report.nodes["s"].workers, Some(8));
    }

    /// A refusal is not lost while the UI reads no snapshot: the newest one, published
    /// long after, still lists it, and later ones do not.
    #[test]
    fn refusals_survive_unread_snapshots() {
        let handle = EngineHandle::start(&graph(4), None, Pace::Max).unwrap();
        let refused = handle.send(Command::SetConfig {
            node: "nope".into(),
            config: NodeConfig::Sink(Default::default()),
        });
        let run = handle.send(Command::Run);
        // Several snapshots are published, and replaced, meanwhile.
        std::thread::sleep(SNAPSHOT_EVERY * 6);
        let s = handle.latest().expect("the engine published snapshots");
        assert_eq!(s.applied, run);
        assert!(s.report.sim_time_ms > 0.0);
        assert_eq!(s.refusals.len(), 1, "{:?}", s.refusals);
        assert_eq!(s.refusals[0].command, refused);
        let next = wait_for(&handle, |_| true);
        assert!(next.refusals.is_empty(), "{:?}", next.refusals);
    }

    /// At 1× the simulated clock follows the wall clock within 1 % over 10 s: the rate of
    /// simulated time against wall time between two snapshots 10 s apart (both read the
    /// same way, so their publishing delay cancels).
    #[test]
    fn realtime_pacing_follows_the_wall_clock() {
        let handle = EngineHandle::start(&graph(4), None, Pace::Realtime { speed: 1.0 }).unwrap();
        handle.send(Command::Run);
        let first = wait_for(&handle, |s| s.report.sim_time_ms > 500.0);
        let wall_start = Instant::now();
        let sim_start = first.report.sim_time_ms;
        std::thread::sleep(Duration::from_secs(10));
        // The next snapshot published after the pause, read as soon as it appears.
        let _ = handle.latest();
        let last = wait_for(&handle, |_| true);
        let wall_ms = wall_start.elapsed().as_secs_f64() * 1000.0;
        let sim_ms = last.report.sim_time_ms - sim_start;
        let ratio = sim_ms / wall_ms;
        eprintln!("simulated {sim_ms:.1} ms in {wall_ms:.1} ms of wall time (ratio {ratio:.4})");
        assert!((ratio - 1.0).abs() < 0.01, "ratio {ratio}");
    }

    /// A live graph that grows without bound stops with a message naming the node that
    /// holds the messages; the thread and its handle stay usable.
    #[test]
    fn unbounded_growth_stops_the_live_run() {
        let g = Graph::from_json_str(
            r#"{"format": "flowbench.graph", "version": 1, "name": "leak",
            "nodes": [{"id": "p", "kind": "producer", "config": {"rate_per_sec": 1e9}},
                      {"id": "q", "kind": "queue", "config": {"capacity": null}}],
            "edges": [{"from": "p", "to": "q"}]}"#,
        )
        .unwrap();
        let handle = EngineHandle::start(&g, None, Pace::Max).unwrap();
        handle.send(Command::Run);
        let s = wait_for(&handle, |s| matches!(s.state, RunState::Failed(_)));
        let RunState::Failed(message) = s.state else {
            panic!("the run should stop, not {:?}", s.state)
        };
        assert!(message.contains("node 'q'"), "{message}");
        assert!(s.report.conservation.ok);
    }

    /// The engine does not wait for a UI that stops reading snapshots.
    #[test]
    fn engine_never_blocks_on_the_ui() {
        let handle = EngineHandle::start(&graph(4), None, Pace::Max).unwrap();
        handle.send(Command::Advance { ms: 20_000.0 });
        std::thread::sleep(Duration::from_millis(400));
        handle.send(Command::Advance { ms: 20_000.0 });
        let s = wait_for(&handle, |s| s.report.sim_time_ms >= 40_000.0);
        assert!(s.report.sim_time_ms >= 40_000.0);
    }
}
