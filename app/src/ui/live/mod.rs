//! The live monitor: runs the document's graph on the engine's thread and shows it as it goes.
//!
//! - [`LiveSession`] (this file): a run's life (start, run/pause, step, advance, reset, speed,
//!   seed), taking the newest snapshot each frame, live config edits, fault injection.
//! - [`series`]: per-node time series from snapshot deltas; [`sync`]: which edits the running
//!   engine can take and which need a restart.
//! - [`run_bar`]: the controls and the clock; [`monitor`]: plots and numbers of the selected
//!   and pinned nodes; [`overlay`]: what the canvas paints on nodes and edges while a run
//!   goes; [`export`]: the report as JSON and the series as CSV.

pub mod export;
pub mod format;
pub mod monitor;
pub mod overlay;
pub mod run_bar;
pub mod series;
pub mod sync;

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use flowbench_engine::model::{FaultKind, NodeConfig, WhenFull};
use flowbench_engine::report::{BreakerState, BrokerReport, NodeReport};
use flowbench_engine::runtime::{Command, EngineHandle, Pace, RunState, Snapshot};
use flowbench_engine::sim::BuildError;
use flowbench_engine::{Diagnostic, Graph};

pub use self::overlay::{BreakerLive, NodeLive, edge_flow, node_overlay};
use self::series::{RECORD_ALL_UP_TO, Series};
use self::sync::Change;
use crate::ui::Document;
use crate::ui::document::DocStamp;

/// How often frames come while a run goes: overlays refresh at least ten times a second.
pub const REFRESH: Duration = Duration::from_millis(50);
/// Simulated time over which the canvas's rates are measured.
const RATE_WINDOW_MS: f64 = 1000.0;
/// A node that handled fewer messages than this in [`RATE_WINDOW_MS`] has its rates
/// measured over [`SPARSE_WINDOW_MS`] instead: a few messages a second would otherwise
/// read as a rate that jumps between 0 ("idle") and whole numbers.
const SPARSE_COUNT: u64 = 5;
/// The longer window of a node with few messages; "idle" means none in it.
const SPARSE_WINDOW_MS: f64 = 10_000.0;
/// How long a run/pause click is shown before a snapshot confirms it.
const ASK_SHOWN_S: f64 = 0.5;
/// How long frames keep coming after a step or an advance, to show its result.
const AWAKE_AFTER_COMMAND_S: f64 = 1.0;

/// Simulation speed: simulated time against the wall clock, or as fast as the machine can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Speed {
    #[default]
    X1,
    X10,
    X100,
    Max,
}

impl Speed {
    pub const ALL: [Speed; 4] = [Speed::X1, Speed::X10, Speed::X100, Speed::Max];

    pub fn label(self) -> &'static str {
        match self {
            Speed::X1 => "1×",
            Speed::X10 => "10×",
            Speed::X100 => "100×",
            Speed::Max => "max",
        }
    }

    pub fn pace(self) -> Pace {
        match self {
            Speed::X1 => Pace::Realtime { speed: 1.0 },
            Speed::X10 => Pace::Realtime { speed: 10.0 },
            Speed::X100 => Pace::Realtime { speed: 100.0 },
            Speed::Max => Pace::Max,
        }
    }
}

/// Which view the bottom panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BottomTab {
    #[default]
    Problems,
    Monitor,
}

/// Something the run bar tells the user about the run.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// The graph has errors: the message names the first.
    CannotStart(String),
    /// The graph's structure changed since the run started: a restart applies it.
    GraphChanged(String),
    /// The engine refused a live config edit: a restart applies it.
    Refused(String),
    /// The engine refused a command a restart would not change (a fault, a fault clear, a
    /// replay, a run or a speed): said until dismissed.
    CommandRefused(String),
    /// A config edit waits until the node's errors are fixed.
    HeldBack(String),
    /// The graph has channels on a broker and the speed is max: such a run goes live only.
    LiveOnly(String),
    /// A refused config edit was dismissed, and the document still has it: the run goes on
    /// with the node's earlier settings until a restart (or until the edit is taken back).
    NotApplied(String),
}

impl Notice {
    pub fn message(&self) -> &str {
        match self {
            Notice::CannotStart(m)
            | Notice::GraphChanged(m)
            | Notice::Refused(m)
            | Notice::CommandRefused(m)
            | Notice::HeldBack(m)
            | Notice::LiveOnly(m)
            | Notice::NotApplied(m) => m,
        }
    }

    /// Whether restarting the run resolves it.
    pub fn restart_helps(&self) -> bool {
        matches!(
            self,
            Notice::GraphChanged(_) | Notice::Refused(_) | Notice::NotApplied(_)
        )
    }
}

/// A running engine and what it runs.
struct Run {
    engine: EngineHandle,
    /// The graph the engine runs: the document's when the run started, with the config
    /// edits the engine has accepted since. What is compared with the document.
    graph: Graph,
    /// Config edits sent whose verdict no snapshot has given yet, in the order sent.
    unconfirmed: Vec<SentEdit>,
    /// Per node, the config the engine refused: not sent again while the document keeps it.
    refused_configs: HashMap<String, NodeConfig>,
    seed: u64,
    /// Node id → index in graph order (the order of the snapshot's per-node lists).
    index: HashMap<String, usize>,
    /// Per edge: source and target index.
    edges: Vec<(usize, usize)>,
    in_degree: Vec<u32>,
    out_degree: Vec<u32>,
}

impl Run {
    fn new(engine: EngineHandle, graph: Graph, seed: u64) -> Run {
        let index: HashMap<String, usize> = graph
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.clone(), i))
            .collect();
        let edges: Vec<(usize, usize)> = graph
            .edges
            .iter()
            .filter_map(|e| Some((*index.get(&e.from)?, *index.get(&e.to)?)))
            .collect();
        let mut in_degree = vec![0; graph.nodes.len()];
        let mut out_degree = vec![0; graph.nodes.len()];
        for &(from, to) in &edges {
            out_degree[from] += 1;
            in_degree[to] += 1;
        }
        Run {
            engine,
            graph,
            unconfirmed: Vec::new(),
            refused_configs: HashMap::new(),
            seed,
            index,
            edges,
            in_degree,
            out_degree,
        }
    }
}

/// A config edit sent to the engine: the command's number, the node and its new config.
struct SentEdit {
    command: u64,
    node: String,
    config: NodeConfig,
}

/// In and out counts of one node over the last second or so of simulated time, and, one
/// point a second, over the last ten seconds (for nodes that handle few messages).
#[derive(Debug, Clone, Default)]
struct RateWindow {
    /// (simulated ms, in, out), oldest first.
    points: VecDeque<(f64, u64, u64)>,
    /// The same, at least [`RATE_WINDOW_MS`] apart, over [`SPARSE_WINDOW_MS`].
    sparse: VecDeque<(f64, u64, u64)>,
}

impl RateWindow {
    fn origin() -> RateWindow {
        RateWindow {
            points: VecDeque::from([(0.0, 0, 0)]),
            sparse: VecDeque::from([(0.0, 0, 0)]),
        }
    }

    fn push(&mut self, t_ms: f64, in_: u64, out: u64) {
        if self.points.back().is_some_and(|&(t, _, _)| t >= t_ms) {
            return;
        }
        let point = (t_ms, in_, out);
        self.points.push_back(point);
        // Keep one point at or before the window's start.
        while self.points.len() > 2 && self.points[1].0 <= t_ms - RATE_WINDOW_MS {
            self.points.pop_front();
        }
        if self
            .sparse
            .back()
            .is_none_or(|&(t, _, _)| t_ms - t >= RATE_WINDOW_MS)
        {
            self.sparse.push_back(point);
            while self.sparse.len() > 2 && self.sparse[1].0 <= t_ms - SPARSE_WINDOW_MS {
                self.sparse.pop_front();
            }
        }
    }

    /// Messages per second in and out over the window: the last second, or the last ten
    /// when the last second saw fewer than [`SPARSE_COUNT`].
    fn rates(&self) -> (f64, f64) {
        let Some(&last) = self.points.back() else {
            return (0.0, 0.0);
        };
        let over = |&(t0, i0, o0): &(f64, u64, u64)| {
            let (t1, i1, o1) = last;
            let dt = (t1 - t0) / 1000.0;
            let (d_in, d_out) = (i1.saturating_sub(i0), o1.saturating_sub(o0));
            (dt > 0.0).then(|| (d_in + d_out, (d_in as f64 / dt, d_out as f64 / dt)))
        };
        let short = self.points.front().and_then(over);
        if let Some((count, rates)) = short
            && count >= SPARSE_COUNT
        {
            return rates;
        }
        self.sparse
            .front()
            .and_then(over)
            .or(short)
            .map_or((0.0, 0.0), |(_, rates)| rates)
    }
}

/// The live run of the document and everything shown about it.
pub struct LiveSession {
    run: Option<Run>,
    snapshot: Option<Snapshot>,
    series: Series,
    /// Per node in graph order: counts for the canvas's rates.
    rates: Vec<RateWindow>,
    max_edge_rate: f64,
    /// Per breaker: transitions seen so far and the wall time the last new one was seen.
    breakers: HashMap<String, (usize, f64)>,
    speed: Speed,
    /// The seed field's text; follows the graph's seed until the user types in it.
    seed_text: String,
    seed_typed: bool,
    /// Why the run could not start (validation errors).
    cannot_start: Option<String>,
    /// What changed in the graph's structure since the run started.
    stale: Option<String>,
    /// The newest config edit the engine refused: its node and the reason. A restart
    /// applies it. It goes once the document is back to what the engine runs.
    refused: Option<(String, String)>,
    /// The newest other command the engine refused (a fault, a fault clear, a replay, a run
    /// or a speed on a graph with brokers), with its reason: a restart would not change it.
    refused_command: Option<String>,
    /// A config edit held back because the node has errors.
    held_back: Option<String>,
    seen_revision: Option<DocStamp>,
    /// A run or pause the user asked for, until a snapshot shows it: (running, wall time).
    asked: Option<(bool, f64)>,
    /// Frames keep coming until this wall time (a step or an advance in flight).
    awake_until: f64,
    /// Wall time (egui's input time) of the current frame.
    now: f64,
    pub tab: BottomTab,
    pub monitor: monitor::MonitorState,
    pub export: export::ExportState,
}

impl Default for LiveSession {
    fn default() -> Self {
        LiveSession {
            run: None,
            snapshot: None,
            series: Series::default(),
            rates: Vec::new(),
            max_edge_rate: 0.0,
            breakers: HashMap::new(),
            speed: Speed::default(),
            seed_text: String::new(),
            seed_typed: false,
            cannot_start: None,
            stale: None,
            refused: None,
            refused_command: None,
            held_back: None,
            seen_revision: None,
            asked: None,
            awake_until: 0.0,
            now: 0.0,
            tab: BottomTab::default(),
            monitor: monitor::MonitorState::default(),
            export: export::ExportState::default(),
        }
    }
}

impl LiveSession {
    // ---- each frame ------------------------------------------------------------------------

    /// Takes the newest snapshot (never waits for one), records it, and applies the
    /// document's edits to the run. Asks for the next frame while the run goes.
    pub fn poll(&mut self, ctx: &egui::Context, doc: &Document) {
        let now = ctx.input(|i| i.time);
        if self.poll_at(now, doc) {
            ctx.request_repaint_after(REFRESH);
        }
    }

    /// [`LiveSession::poll`] at wall time `now` (seconds); true when frames should keep
    /// coming.
    pub fn poll_at(&mut self, now: f64, doc: &Document) -> bool {
        self.now = now;
        if !self.seed_typed {
            self.seed_text = doc.graph.seed.to_string();
        }
        // Snapshots first, edits after: no snapshot taken later was already waiting when the
        // edits were sent.
        let newest = self.run.as_ref().and_then(|r| r.engine.latest());
        if let Some(snapshot) = newest {
            self.take(snapshot, doc);
        }
        self.sync_edits(doc);
        if self.asked.is_some_and(|(_, at)| now - at > ASK_SHOWN_S) {
            self.asked = None;
        }
        self.is_running() || now < self.awake_until || self.export.wants_frames()
    }

    fn take(&mut self, snapshot: Snapshot, doc: &Document) {
        if self.run.is_none() {
            return;
        }
        if self.rates.is_empty() {
            // Every counter is zero when a run starts.
            self.rates = vec![RateWindow::origin(); snapshot.report.nodes.len()];
        }
        self.take_verdicts(&snapshot);
        if self.run.is_none() {
            return;
        }
        let report = &snapshot.report;
        let t = report.sim_time_ms;
        let record_all = report.nodes.len() <= RECORD_ALL_UP_TO;
        let watched: BTreeSet<&str> = doc
            .selection
            .nodes
            .iter()
            .map(String::as_str)
            .chain(self.monitor.pinned.iter().map(String::as_str))
            .collect();
        self.series.record(report, &snapshot.recent_latency, |id| {
            record_all || watched.contains(id)
        });
        self.rates
            .resize_with(report.nodes.len(), RateWindow::default);
        for (window, node) in self.rates.iter_mut().zip(report.nodes.values()) {
            window.push(t, node.in_, node.out);
        }
        for (id, node) in &report.nodes {
            if let Some(transitions) = &node.transitions {
                let seen = self
                    .breakers
                    .entry(id.clone())
                    .or_insert((0, f64::NEG_INFINITY));
                if transitions.len() > seen.0 {
                    *seen = (transitions.len(), self.now);
                }
            }
        }
        if let Some((running, _)) = self.asked
            && running == (snapshot.state == RunState::Running)
        {
            self.asked = None;
        }
        self.snapshot = Some(snapshot);
        if let Some(run) = &self.run {
            self.max_edge_rate = (0..run.edges.len())
                .map(|i| self.edge_rate_at(run, i))
                .fold(0.0, f64::max);
        }
    }

    /// Learns from `snapshot` the verdicts on the commands it shows applied: each config
    /// edit the engine accepted enters the running graph, each one it refused stays out of
    /// it and is not sent again. The run bar shows the newest refused edit, which a restart
    /// applies, and the newest refusal of any other command (a fault, a replay, a speed, a
    /// run), which a restart would not change.
    ///
    /// A refusal names its command by number and comes in the first snapshot taken that
    /// shows the command applied: an edit up to [`Snapshot::applied`] that this snapshot
    /// does not list as refused was accepted.
    fn take_verdicts(&mut self, snapshot: &Snapshot) {
        let Some(run) = &mut self.run else {
            return;
        };
        let settled = run
            .unconfirmed
            .iter()
            .take_while(|e| e.command <= snapshot.applied)
            .count();
        let mut refused_edits = Vec::new();
        for edit in run.unconfirmed.drain(..settled) {
            if snapshot.refusal_of(edit.command).is_some() {
                refused_edits.push((edit.command, edit.node.clone()));
                run.refused_configs.insert(edit.node, edit.config);
            } else {
                run.refused_configs.remove(&edit.node);
                if let Some(node) = run.graph.nodes.iter_mut().find(|n| n.id == edit.node) {
                    node.config = edit.config;
                }
            }
        }
        let (edits, others): (Vec<_>, Vec<_>) = snapshot.refusals.iter().partition(|r| {
            refused_edits
                .iter()
                .any(|(command, _)| *command == r.command)
        });
        if let Some(last) = edits.last()
            && let Some((_, node)) = refused_edits.iter().find(|(c, _)| *c == last.command)
        {
            self.refused = Some((node.clone(), last.reason.clone()));
        }
        if let Some(last) = others.last() {
            self.refused_command = Some(last.reason.clone());
        }
        if settled > 0 {
            // Compare the document with the running graph again: it may have moved on.
            self.seen_revision = None;
        }
    }

    /// Sends config edits to the engine; notes structural edits that need a restart.
    fn sync_edits(&mut self, doc: &Document) {
        if self.seen_revision == Some(doc.stamp()) {
            return;
        }
        self.seen_revision = Some(doc.stamp());
        if self.cannot_start.is_some() {
            self.cannot_start = cannot_run_reason(doc);
        }
        let Some(run) = &mut self.run else {
            return;
        };
        match sync::compare(&run.graph, &doc.graph) {
            Change::None => {
                self.stale = None;
                self.held_back = None;
                // The document is back to what the engine runs: nothing is refused.
                run.refused_configs.clear();
                self.refused = None;
            }
            Change::Structure(why) => self.stale = Some(why),
            Change::Configs(configs) => {
                self.stale = None;
                self.held_back = None;
                // A refused config the document no longer has is history.
                run.refused_configs
                    .retain(|id, config| doc.node(id).is_some_and(|n| &n.config == config));
                let mut sent = false;
                for (id, config) in configs {
                    let in_flight = run.unconfirmed.iter().rev().find(|e| e.node == id);
                    if in_flight.map(|e| &e.config) == Some(&config)
                        || run.refused_configs.get(&id) == Some(&config)
                    {
                        continue;
                    }
                    if doc.diagnostics_of(&id).any(Diagnostic::is_error) {
                        self.held_back = Some(format!(
                            "'{id}' has errors: its change reaches the run once they are fixed"
                        ));
                        continue;
                    }
                    let command = run.engine.send(Command::SetConfig {
                        node: id.clone(),
                        config: config.clone(),
                    });
                    run.unconfirmed.push(SentEdit {
                        command,
                        node: id,
                        config,
                    });
                    sent = true;
                }
                if sent {
                    self.awake_until = self.now + AWAKE_AFTER_COMMAND_S;
                }
            }
        }
    }

    // ---- run control -----------------------------------------------------------------------

    /// Whether a run exists (started and not reset).
    pub fn is_active(&self) -> bool {
        self.run.is_some()
    }

    /// Whether the run goes now (or the user just asked it to).
    pub fn is_running(&self) -> bool {
        match self.asked {
            Some((running, _)) => running,
            None => self.state() == Some(&RunState::Running),
        }
    }

    /// The run's state as of the newest snapshot.
    pub fn state(&self) -> Option<&RunState> {
        self.snapshot.as_ref().map(|s| &s.state)
    }

    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    pub fn series(&self) -> &Series {
        &self.series
    }

    /// The graph the run runs: the document's when it started, with the live config edits
    /// the engine accepted since.
    pub fn running_graph(&self) -> Option<&Graph> {
        self.run.as_ref().map(|r| &r.graph)
    }

    /// The seed of the current run.
    pub fn running_seed(&self) -> Option<u64> {
        self.run.as_ref().map(|r| r.seed)
    }

    /// What keeps the run from starting or from showing the document's graph, most
    /// important first.
    pub fn notices(&self) -> Vec<Notice> {
        let mut notices = Vec::new();
        if let Some(why) = &self.cannot_start {
            notices.push(Notice::CannotStart(why.clone()));
        }
        if let Some(why) = &self.stale {
            notices.push(Notice::GraphChanged(format!(
                "The graph changed ({why}): restart the run to apply"
            )));
        }
        if let Some((node, why)) = &self.refused {
            // The other nodes whose refused edits wait for a restart too.
            let others = self.run.as_ref().map_or(0, |run| {
                run.refused_configs.keys().filter(|id| *id != node).count()
            });
            let more = match others {
                0 => String::new(),
                1 => " (a change to 1 more node waits for a restart too)".to_owned(),
                n => format!(" (changes to {n} more nodes wait for a restart too)"),
            };
            notices.push(Notice::Refused(format!(
                "The run cannot take this change live: {why}{more}"
            )));
        } else if let Some(run) = &self.run
            && !run.refused_configs.is_empty()
        {
            let mut ids: Vec<&String> = run.refused_configs.keys().collect();
            ids.sort();
            let more = match ids.len() {
                1 => String::new(),
                2 => " (and 1 more node)".to_owned(),
                n => format!(" (and {} more nodes)", n - 1),
            };
            notices.push(Notice::NotApplied(format!(
                "'{}'{more} runs with its earlier settings: restart the run to apply the change",
                ids[0]
            )));
        }
        if let Some(why) = &self.refused_command {
            let live_only = self.speed == Speed::Max
                && self.running_graph().is_some_and(has_brokers)
                && why.contains("live only");
            notices.push(if live_only {
                Notice::LiveOnly(format!("Not run: {why}"))
            } else {
                Notice::CommandRefused(format!("The run refused this: {why}"))
            });
        }
        if let Some(why) = &self.held_back {
            notices.push(Notice::HeldBack(why.clone()));
        }
        notices
    }

    /// Forgets every refusal shown (the user read them).
    pub fn dismiss_refused(&mut self) {
        self.refused = None;
        self.refused_command = None;
    }

    /// Forgets the refusal `notice` tells of (the user read it).
    pub fn dismiss(&mut self, notice: &Notice) {
        match notice {
            Notice::Refused(_) => self.refused = None,
            Notice::CommandRefused(_) | Notice::LiveOnly(_) => self.refused_command = None,
            Notice::CannotStart(_)
            | Notice::GraphChanged(_)
            | Notice::HeldBack(_)
            | Notice::NotApplied(_) => {}
        }
    }

    /// Space and ▶/⏸: pauses a going run, else runs (starting one if needed; a finished or
    /// failed run starts again).
    pub fn toggle_run(&mut self, doc: &Document) {
        if self.is_running() {
            self.pause();
        } else {
            self.run(doc);
        }
    }

    pub fn run(&mut self, doc: &Document) {
        let ended = matches!(self.state(), Some(RunState::Finished | RunState::Failed(_)));
        if (self.run.is_none() || ended) && !self.start(doc) {
            return;
        }
        self.sync_edits(doc);
        self.send(Command::Run);
        self.asked = Some((true, self.now));
    }

    pub fn pause(&mut self) {
        self.send(Command::Pause);
        self.asked = Some((false, self.now));
    }

    /// Processes exactly one event (starting a paused run if there is none).
    pub fn step(&mut self, doc: &Document) {
        if self.ensure_started(doc) {
            self.send(Command::StepEvent);
            self.asked = Some((false, self.now));
        }
    }

    /// Advances simulated time by `ms`, then pauses (starting a paused run if there is none).
    pub fn advance(&mut self, doc: &Document, ms: f64) {
        if self.ensure_started(doc) {
            self.send(Command::Advance { ms });
            self.asked = Some((false, self.now));
        }
    }

    /// Ends the run and forgets its numbers; the document stays as it is.
    pub fn reset(&mut self) {
        self.run = None;
        self.snapshot = None;
        self.series = Series::default();
        self.rates.clear();
        self.max_edge_rate = 0.0;
        self.breakers.clear();
        self.stale = None;
        self.refused = None;
        self.refused_command = None;
        self.held_back = None;
        self.asked = None;
    }

    /// Starts the run again on the document as it is now, going on if it was going.
    pub fn restart(&mut self, doc: &Document) {
        let was_running = self.is_running();
        if self.start(doc) && was_running {
            self.send(Command::Run);
            self.asked = Some((true, self.now));
        }
    }

    pub fn speed(&self) -> Speed {
        self.speed
    }

    pub fn set_speed(&mut self, speed: Speed) {
        self.speed = speed;
        self.send(Command::SetPace(speed.pace()));
    }

    /// The seed field's text (the graph's seed until the user types another).
    pub fn seed_text_mut(&mut self) -> &mut String {
        &mut self.seed_text
    }

    /// The user typed in the seed field: an empty field follows the graph's seed again.
    pub fn seed_typed(&mut self) {
        self.seed_typed = !self.seed_text.trim().is_empty();
    }

    /// Whether the seed field holds something other than a whole number.
    pub fn seed_is_invalid(&self) -> bool {
        self.seed_typed && self.seed_text.trim().parse::<u64>().is_err()
    }

    /// The seed a run started now would use.
    pub fn seed_for(&self, graph: &Graph) -> u64 {
        match self.seed_text.trim().parse::<u64>() {
            Ok(seed) if self.seed_typed => seed,
            _ => graph.seed,
        }
    }

    fn ensure_started(&mut self, doc: &Document) -> bool {
        match self.state() {
            Some(RunState::Failed(_)) => false,
            _ if self.run.is_some() => {
                // Edits made since the last frame reach the engine before the step does.
                self.sync_edits(doc);
                true
            }
            _ => self.start(doc),
        }
    }

    /// Starts a paused run of the document's graph; false (with the reason shown) when the
    /// graph has errors.
    fn start(&mut self, doc: &Document) -> bool {
        self.reset();
        self.cannot_start = cannot_run_reason(doc);
        if self.cannot_start.is_some() {
            self.tab = BottomTab::Problems;
            return false;
        }
        let seed = self.seed_for(&doc.graph);
        match EngineHandle::start(&doc.graph, Some(seed), self.speed.pace()) {
            Ok(engine) => {
                self.run = Some(Run::new(engine, doc.graph.clone(), seed));
                self.series = Series::default();
                self.seen_revision = Some(doc.stamp());
                self.tab = BottomTab::Monitor;
                self.awake_until = self.now + AWAKE_AFTER_COMMAND_S;
                true
            }
            Err(BuildError::Invalid(diagnostics)) => {
                self.cannot_start = Some(describe_errors(&diagnostics));
                self.tab = BottomTab::Problems;
                false
            }
        }
    }

    fn send(&mut self, command: Command) {
        if let Some(run) = &self.run {
            run.engine.send(command);
            self.awake_until = self.now + AWAKE_AFTER_COMMAND_S;
        }
    }

    // ---- fault injection (the monitor's live controls) -------------------------------------

    /// Starts a fault on `node` now, until cleared: `rate` for `fail` (default 1), `factor`
    /// for `slow`. A refusal (bad node, bad numbers) shows in the run bar.
    pub fn inject(
        &mut self,
        node: &str,
        kind: FaultKind,
        rate: Option<f64>,
        factor: Option<f64>,
    ) -> Result<(), String> {
        self.live_command(Command::InjectFault {
            node: node.to_owned(),
            kind,
            rate,
            factor,
        })
    }

    /// Ends every fault active on `node` now, injected or scheduled.
    pub fn clear_faults(&mut self, node: &str) -> Result<(), String> {
        self.live_command(Command::ClearFaults {
            node: node.to_owned(),
        })
    }

    /// Rewinds event log `log`'s consumer (every consumer when `None`) to the oldest kept
    /// event.
    pub fn replay(&mut self, log: &str, consumer: Option<&str>) -> Result<(), String> {
        self.live_command(Command::Replay {
            log: log.to_owned(),
            consumer: consumer.map(str::to_owned),
        })
    }

    fn live_command(&mut self, command: Command) -> Result<(), String> {
        if self.run.is_none() {
            return Err("no run is going: start one first".to_owned());
        }
        if let Some(RunState::Failed(_)) = self.state() {
            return Err("the run failed: reset it first".to_owned());
        }
        self.send(command);
        Ok(())
    }

    /// Faults active on `node` now, as of the newest snapshot.
    pub fn active_faults(&self, node: &str) -> &[FaultKind] {
        let (Some(run), Some(snapshot)) = (&self.run, &self.snapshot) else {
            return &[];
        };
        run.index
            .get(node)
            .and_then(|&i| snapshot.active_faults.get(i))
            .map_or(&[], Vec::as_slice)
    }

    // ---- for the canvas ----------------------------------------------------------------------

    /// What the canvas shows on node `id` now; `None` when no run has numbers for it.
    pub fn node_live(&self, id: &str) -> Option<NodeLive> {
        let run = self.run.as_ref()?;
        let snapshot = self.snapshot.as_ref()?;
        let (index, _, report) = snapshot.report.nodes.get_full(id)?;
        let node = run.graph.node(id)?;
        let (in_per_sec, out_per_sec, over_run) = self.rates_of(index);
        let last = self.series.node(id).and_then(|s| s.last());
        let mut live = NodeLive {
            in_per_sec,
            out_per_sec,
            over_run,
            failed: report.failed.unwrap_or(0),
            dropped: report.dropped.unwrap_or(0),
            lost: report.lost.unwrap_or(0),
            rejected: report.rejected.unwrap_or(0),
            timeouts: report.timeouts.unwrap_or(0),
            error_rate: last.map_or(0.0, |s| f64::from(s.error_rate)),
            faults: snapshot
                .active_faults
                .get(index)
                .cloned()
                .unwrap_or_default(),
            sim_time_ms: snapshot.report.sim_time_ms,
            broker: report.broker.clone(),
            ..NodeLive::default()
        };
        match &node.config {
            NodeConfig::Queue(c) => {
                let depth = report.depth.map_or(0.0, |d| d.last);
                live.depth = Some(depth);
                live.capacity = c.capacity;
                live.fill = c.capacity.map(|cap| fill(depth, cap));
                live.blocking_full = c.when_full == WhenFull::Block
                    && c.capacity.is_some_and(|cap| depth >= cap as f64);
                live.throttling = report.throttling == Some(true);
            }
            NodeConfig::Topic(c) => {
                live.depth = report.depth.map(|d| d.last);
                live.capacity = c.subscriber_capacity;
                let fullest = report
                    .subscribers
                    .iter()
                    .flat_map(|subs| subs.values())
                    .map(|s| s.depth.last)
                    .fold(0.0, f64::max);
                live.fill = c.subscriber_capacity.map(|cap| fill(fullest, cap));
                live.blocking_full = c.when_full == WhenFull::Block
                    && c.subscriber_capacity
                        .is_some_and(|cap| fullest >= cap as f64);
            }
            NodeConfig::Service(c) => {
                let workers = report.workers.unwrap_or(c.concurrency);
                let utilization = last
                    .and_then(|s| series::Sample::get(s.utilization))
                    .or(report.utilization)
                    .unwrap_or(0.0);
                live.workers = Some(workers);
                live.utilization = Some(utilization);
                live.busy = Some(utilization * f64::from(workers));
                live.autoscaled = c.autoscale.is_some();
            }
            NodeConfig::Breaker(c) => {
                live.breaker = Some(breaker_live(
                    report,
                    c.open_ms,
                    snapshot.report.sim_time_ms,
                    self.breakers.get(id),
                ));
            }
            _ => {}
        }
        Some(live)
    }

    /// Node `id`'s broker connection as of the newest snapshot, when it is a channel on a
    /// broker.
    pub fn broker_report(&self, id: &str) -> Option<&BrokerReport> {
        self.snapshot
            .as_ref()?
            .report
            .nodes
            .get(id)?
            .broker
            .as_ref()
    }

    /// Messages per second along the edge `from` → `to`: the target's input rate when the
    /// edge is its only input, else the source's output rate shared among its edges.
    pub fn edge_rate(&self, from: &str, to: &str) -> f64 {
        let Some(run) = &self.run else {
            return 0.0;
        };
        let (Some(&f), Some(&t)) = (run.index.get(from), run.index.get(to)) else {
            return 0.0;
        };
        match run.edges.iter().position(|&e| e == (f, t)) {
            Some(i) => self.edge_rate_at(run, i),
            None => 0.0,
        }
    }

    /// The highest edge rate now, to scale [`edge_flow`].
    pub fn max_edge_rate(&self) -> f64 {
        self.max_edge_rate
    }

    fn edge_rate_at(&self, run: &Run, i: usize) -> f64 {
        let (from, to) = run.edges[i];
        if run.in_degree[to] == 1 {
            self.rates_of(to).0
        } else {
            self.rates_of(from).1 / f64::from(run.out_degree[from].max(1))
        }
    }

    /// Node `n`'s messages in and out per second, and whether over the whole run. Once a
    /// run has finished, its last second mostly shows traffic dying down (a producer that
    /// reached its limit a moment before the last message settled): the canvas then shows
    /// each node's and edge's mean over the whole run instead.
    fn rates_of(&self, n: usize) -> (f64, f64, bool) {
        if let Some(snapshot) = &self.snapshot
            && snapshot.state == RunState::Finished
            && snapshot.report.sim_time_ms > 0.0
            && let Some((_, report)) = snapshot.report.nodes.get_index(n)
        {
            let sim_s = snapshot.report.sim_time_ms / 1000.0;
            return (report.in_ as f64 / sim_s, report.out as f64 / sim_s, true);
        }
        let (r_in, r_out) = self.rates.get(n).map(RateWindow::rates).unwrap_or_default();
        (r_in, r_out, false)
    }
}

fn fill(depth: f64, capacity: u64) -> f32 {
    if capacity == 0 {
        1.0
    } else {
        (depth / capacity as f64).clamp(0.0, 1.0) as f32
    }
}

fn breaker_live(
    report: &NodeReport,
    open_ms: f64,
    now_ms: f64,
    seen: Option<&(usize, f64)>,
) -> BreakerLive {
    let state = report.state.unwrap_or_default();
    let opened_at = report
        .transitions
        .iter()
        .flatten()
        .rev()
        .find(|t| t.to == BreakerState::Open)
        .map(|t| t.at_ms);
    BreakerLive {
        state,
        half_open_in_ms: match (state, opened_at) {
            (BreakerState::Open, Some(at)) => Some((at + open_ms - now_ms).max(0.0)),
            _ => None,
        },
        changed_at: seen.map(|s| s.1).filter(|t| t.is_finite()),
    }
}

/// Whether `graph` has channels on a broker: it then runs live only (1×, 10×, 100×).
pub fn has_brokers(graph: &Graph) -> bool {
    graph.nodes.iter().any(|n| n.config.backend().is_some())
}

/// Why the document's graph cannot run, naming the first error; `None` when it can.
fn cannot_run_reason(doc: &Document) -> Option<String> {
    doc.has_errors().then(|| describe_errors(&doc.diagnostics))
}

fn describe_errors(diagnostics: &[Diagnostic]) -> String {
    let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).collect();
    match errors.first() {
        Some(first) => {
            let more = match errors.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            format!("Cannot run: {}: {}{more}", first.place, first.message)
        }
        None => "Cannot run: the graph is not valid".to_owned(),
    }
}

/// The tab strip of the bottom panel: Problems | Monitor.
pub fn tabs_ui(ui: &mut egui::Ui, live: &mut LiveSession, doc: &Document) {
    ui.horizontal(|ui| {
        let errors = doc.diagnostics.iter().filter(|d| d.is_error()).count();
        let problems = match (errors, doc.diagnostics.len()) {
            (0, 0) => egui::RichText::new("Problems"),
            (0, _) => egui::RichText::new("Problems").color(ui.visuals().warn_fg_color),
            _ => egui::RichText::new("Problems").color(ui.visuals().error_fg_color),
        };
        ui.selectable_value(&mut live.tab, BottomTab::Problems, problems)
            .on_hover_text("What validation finds in the graph");
        let monitor = if live.is_running() {
            egui::RichText::new("Monitor •")
        } else {
            egui::RichText::new("Monitor")
        };
        ui.selectable_value(&mut live.tab, BottomTab::Monitor, monitor)
            .accessible_name("Monitor")
            .on_hover_text("Plots and numbers of the selected node while the graph runs");
    });
    ui.separator();
}
