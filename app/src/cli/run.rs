//! `flowbench run FILE`: simulates a graph headless, as fast as possible or paced to the wall
//! clock, then prints the summary table (or the report as JSON) and writes the report.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use flowbench_engine::broker::{Hub, LinkState};
use flowbench_engine::sim::{self, BuildError, DEFAULT_HORIZON_MS, ms_to_ns};
use flowbench_engine::split::Share;
use flowbench_engine::{Graph, Report, Simulation};
use indicatif::{ProgressBar, ProgressStyle};

use super::{Failure, duration, load, print_stderr, print_stdout, summary};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The graph file.
    file: PathBuf,
    /// Simulated time to run: 500ms, 90s, 1.5s, 10m, 1h (a plain number is milliseconds).
    /// Without it a run ends when every producer's limit is reached and the graph is idle
    /// (a graph that never ends runs for 1h).
    #[arg(
        long,
        value_parser = duration::parse_duration_ms,
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    duration: Option<f64>,
    /// `max` runs as fast as the machine can; a number N paces simulated time to N times the
    /// wall clock (`1` is live).
    #[arg(
        long,
        default_value = "max",
        value_parser = parse_speed,
        value_name = "max|N",
        allow_hyphen_values = true
    )]
    speed: Speed,
    /// Seed of the run, instead of the graph's own.
    #[arg(long)]
    seed: Option<u64>,
    /// Writes the report (JSON) to this file.
    #[arg(long, value_name = "OUT.json")]
    report: Option<PathBuf>,
    /// Prints the report as JSON on stdout instead of the summary table.
    #[arg(long)]
    json: bool,
    /// Stops the run after this much wall-clock time (500ms, 30s, 5m…), whatever the
    /// simulated time; the report then covers what was simulated.
    #[arg(long, value_parser = duration::parse_duration_ms, value_name = "DURATION")]
    timeout: Option<f64>,
    /// Stops the run when the process's resident memory passes this (e.g. 512MB, 2GB,
    /// 1.5GiB): a graph that grows without bound ends with a message naming what grew,
    /// instead of exhausting the machine. Default: half the machine's memory, at most 8 GiB.
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    max_memory: Option<u64>,
    /// Runs only the nodes whose `"process"` is NAME, and the broker-backed channels they
    /// use: one graph file run as several cooperating processes.
    #[arg(long, value_name = "NAME")]
    process: Option<String>,
    /// Runs only these nodes (ids, comma separated; `*` matches any characters) and the
    /// broker-backed channels they use.
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    node_filter: Vec<String>,
    /// Runs the graph N times (2 to 1,000), with the seeds S … S+N−1 (S: --seed or the
    /// graph's), on every core; prints each figure's mean and 95 % confidence interval.
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u16).range(2..=1000)
    )]
    replications: Option<u16>,
    /// Sets a node's config field for a scenario: NODE.FIELD=V1,V2,… runs the graph once
    /// per value (with several --set, once per combination) and prints the figures side by
    /// side. Values are JSON (2, 0.5, null, {"dist": "exp", "mean_ms": 5}) or plain text.
    #[arg(long = "set", value_name = "NODE.FIELD=V1,V2,…")]
    set: Vec<String>,
    /// With --replications or --set: shows only the figures whose node, name or whole row
    /// label (`done · latency mean`) matches one of these patterns (comma separated; `*`
    /// matches any characters), in the table and in the JSON's `figures`.
    #[arg(long, value_name = "PATTERNS", value_delimiter = ',')]
    figures: Vec<String>,
}

impl RunArgs {
    pub(super) fn file(&self) -> &Path {
        &self.file
    }

    pub(super) fn seed(&self) -> Option<u64> {
        self.seed
    }

    pub(super) fn report_path(&self) -> Option<&Path> {
        self.report.as_deref()
    }

    pub(super) fn json(&self) -> bool {
        self.json
    }

    pub(super) fn settings(&self) -> &[String] {
        &self.set
    }

    pub(super) fn duration_ms(&self) -> Option<f64> {
        self.duration
    }

    pub(super) fn figure_patterns(&self) -> &[String] {
        &self.figures
    }
}

/// Events between two looks at the guards (wall clock, resident memory).
const GUARD_EVERY: u64 = 1 << 17;

/// Wall time between two readings of the resident memory. A reading costs about 10 µs (the
/// system writes out the whole /proc status); a fast run reaches [`GUARD_EVERY`] events in
/// under 2 ms, and memory that grows towards a ceiling of gigabytes does not get there in
/// 10 ms.
const MEMORY_EVERY: Duration = Duration::from_millis(10);

/// What ends a run early: a wall-clock timeout, a memory ceiling, and (in the designer) the
/// user's Cancel.
pub struct Guard {
    started: Instant,
    timeout: Option<Duration>,
    max_memory: Option<u64>,
    cancel: Option<Arc<AtomicBool>>,
    /// When the resident memory is next read, in nanoseconds after `started` (shared by
    /// the threads of replications, which share the process's memory).
    next_memory_ns: AtomicU64,
}

impl Guard {
    pub(super) fn new(args: &RunArgs, started: Instant) -> Guard {
        Guard {
            started,
            timeout: args.timeout.map(|ms| Duration::from_secs_f64(ms / 1000.0)),
            max_memory: args.max_memory.or_else(default_memory_ceiling),
            cancel: None,
            next_memory_ns: AtomicU64::new(0),
        }
    }

    /// No timeout, the default memory ceiling, and a flag that stops the runs when set.
    pub fn cancellable(cancel: Arc<AtomicBool>) -> Guard {
        Guard {
            started: Instant::now(),
            timeout: None,
            max_memory: default_memory_ceiling(),
            cancel: Some(cancel),
            next_memory_ns: AtomicU64::new(0),
        }
    }

    fn check(&self, sim: &Simulation) -> Result<(), String> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Err(format!(
                "cancelled at simulated {}",
                summary::format_sim_duration(sim.now_ms())
            ));
        }
        let elapsed = self.started.elapsed();
        if let Some(timeout) = self.timeout
            && elapsed >= timeout
        {
            return Err(format!(
                "stopped by --timeout {} at simulated {}",
                summary::format_wall_secs(timeout.as_secs_f64() * 1000.0),
                summary::format_sim_duration(sim.now_ms())
            ));
        }
        if let Some(ceiling) = self.max_memory
            && self.memory_due(elapsed)
            && let Some(resident) = resident_bytes()
            && resident > ceiling
        {
            let holder = match sim.largest_holder() {
                Some((id, held)) => format!("; node '{id}' holds {held} of them"),
                None => String::new(),
            };
            return Err(format!(
                "stopped at the memory ceiling of {} at simulated {}: {} messages are inside the \
                 graph{holder}. A queue without a consumer or bound? Bound it, shorten \
                 --duration or raise --max-memory",
                format_size(ceiling),
                summary::format_sim_duration(sim.now_ms()),
                sim.in_flight()
            ));
        }
        Ok(())
    }

    /// Whether the resident memory is to be read now, `elapsed` after the start: the first
    /// time, then once per [`MEMORY_EVERY`].
    fn memory_due(&self, elapsed: Duration) -> bool {
        let now = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let next = self.next_memory_ns.load(Ordering::Relaxed);
        if now < next {
            return false;
        }
        let after = now.saturating_add(MEMORY_EVERY.as_nanos() as u64);
        self.next_memory_ns.store(after, Ordering::Relaxed);
        true
    }
}

/// Resident memory of this process, where the system tells it (Linux).
fn resident_bytes() -> Option<u64> {
    proc_status_kib("/proc/self/status", "VmRSS:").map(|kib| kib * 1024)
}

/// Half the machine's memory, at most 8 GiB; none where the system does not tell.
fn default_memory_ceiling() -> Option<u64> {
    let total = proc_status_kib("/proc/meminfo", "MemTotal:")? * 1024;
    Some((total / 2).min(8 << 30))
}

/// The `kB` value of a `Key:   1234 kB` line of a /proc file.
///
/// Read into one buffer of a fixed size: the files have no length to go by, and reading
/// them to a string probes with small reads that double, eight system calls each time where
/// two do (the guard looks at the resident memory every 131,072 events).
fn proc_status_kib(path: &str, key: &str) -> Option<u64> {
    let mut buf = [0u8; 8192];
    let mut file = std::fs::File::open(path).ok()?;
    let mut len = 0;
    while len < buf.len() {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    let text = String::from_utf8_lossy(&buf[..len]);
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// `512MB`, `2GB`, `1.5GiB`, `800k`, or plain bytes.
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => f64::NAN,
    };
    match number.parse::<f64>() {
        Ok(n) if factor.is_finite() && n > 0.0 && (n * factor) < 1e19 => Ok((n * factor) as u64),
        _ => Err(format!(
            "'{text}' is not a memory size; write e.g. 512MB, 2GB or 1.5GiB"
        )),
    }
}

fn format_size(bytes: u64) -> String {
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{mib:.0} MiB")
    }
}

/// How fast simulated time runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as the machine can.
    Max,
    /// Simulated time = wall time × this factor.
    Paced(f64),
}

fn parse_speed(text: &str) -> Result<Speed, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("max") {
        return Ok(Speed::Max);
    }
    match text.parse::<f64>() {
        Ok(factor) if factor.is_finite() && factor > 0.0 => Ok(Speed::Paced(factor)),
        _ => Err(format!(
            "'{text}' is not a speed; write `max` or a number above 0 (1 = live, 10 = ten \
             times faster)"
        )),
    }
}

/// Where a run stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum End {
    /// At this simulated time.
    At(f64),
    /// When no event is left (every limit reached and every message settled).
    Idle,
}

impl End {
    /// Where a run of `graph` ends: at `duration`; without one, when idle if the graph ends
    /// by itself, else at the default horizon (then the flag is set, for a note).
    pub fn of(duration: Option<f64>, graph: &Graph) -> (End, bool) {
        match duration {
            Some(ms) => (End::At(ms), false),
            None if sim::ends_by_itself(graph) => (End::Idle, false),
            None => (End::At(DEFAULT_HORIZON_MS), true),
        }
    }
}

/// Steps of a run at full speed with a known end, so a progress bar can move.
const CHUNKS: u32 = 100;
/// How often a paced run catches up with the wall clock.
const PACE_TICK: Duration = Duration::from_millis(10);
/// The same with broker-backed channels: how often their news is taken in.
const BROKER_TICK: Duration = Duration::from_millis(2);
/// How long the end of a run waits for the brokers to confirm what was published.
const CONFIRM_WAIT: Duration = Duration::from_secs(10);

/// The broker connections of a live run, and what the user was last told about them.
struct Brokers {
    hub: Option<Hub>,
    shown: Vec<(String, LinkState)>,
    file: PathBuf,
}

impl Brokers {
    fn connect(sim: &mut Simulation, speed: Speed, file: &Path) -> Brokers {
        let hub = match speed {
            Speed::Paced(factor) if sim.has_brokers() => {
                let hub = Hub::new();
                sim.connect_brokers(&hub, factor);
                Some(hub)
            }
            _ => None,
        };
        Brokers {
            hub,
            shown: Vec::new(),
            file: file.to_owned(),
        }
    }

    fn active(&self) -> bool {
        self.hub.is_some()
    }

    /// Takes the brokers' news into the simulation and tells the user, on stderr, when a
    /// connection changes state.
    fn poll(&mut self, sim: &mut Simulation) {
        if self.hub.is_none() {
            return;
        }
        sim.poll_brokers(true);
        self.show(sim);
    }

    fn show(&mut self, sim: &Simulation) {
        for (id, state) in sim.broker_states() {
            let known = self.shown.iter_mut().find(|(n, _)| n == id);
            let changed = match &known {
                Some((_, last)) => last != &state,
                None => true,
            };
            if !changed {
                continue;
            }
            let line = match &state {
                LinkState::Connecting => format!("node '{id}': broker connecting"),
                LinkState::Up => format!("node '{id}': broker up"),
                LinkState::Down { error } => format!("node '{id}': broker down: {error}"),
                LinkState::Retrying {
                    attempt,
                    in_ms,
                    error,
                } => format!(
                    "node '{id}': broker retrying in {in_ms} ms (attempt {attempt}): {error}"
                ),
            };
            eprintln!("{}: {line}", self.file.display());
            match known {
                Some((_, last)) => *last = state,
                None => self.shown.push((id.to_owned(), state)),
            }
        }
    }

    /// Ends the connections: waits for outstanding confirms, gives untaken deliveries back
    /// to the brokers, and takes the last news in.
    fn close(&mut self, sim: &mut Simulation) {
        if let Some(hub) = self.hub.take() {
            hub.shutdown(CONFIRM_WAIT);
            sim.poll_brokers(false);
        }
    }
}

pub fn run(args: &RunArgs) -> Result<(), Failure> {
    let file = &args.file;
    let share = Share {
        process: args.process.clone(),
        nodes: args.node_filter.clone(),
    };
    let graph = super::load_share(file, &share)?;
    if let Some(first) = graph.brokered().first()
        && args.speed == Speed::Max
    {
        return Err(Failure::Invalid(vec![format!(
            "{}: node '{first}' lives on a broker: broker-backed channels run live only; pass \
             --speed 1 (live) or --speed N",
            file.display(),
        )]));
    }

    let batch = !args.set.is_empty() || args.replications.is_some();
    if batch && args.speed != Speed::Max {
        let flag = if args.set.is_empty() {
            "--replications"
        } else {
            "--set"
        };
        return Err(Failure::Usage(format!(
            "{flag} runs as fast as the machine can: it cannot be paced (leave out --speed, \
             or pass --speed max)"
        )));
    }
    if !args.figures.is_empty() {
        if !batch {
            return Err(Failure::Usage(
                "--figures chooses rows of the --replications or --set table; a single run's \
                 table has a row per node (and its --json every figure)"
                    .to_owned(),
            ));
        }
        super::replications::check_figure_patterns(&args.figures, &graph)
            .map_err(Failure::Usage)?;
    }
    if !args.set.is_empty() {
        let replications = args.replications.map_or(1, usize::from);
        return super::sweep::run(args, &graph, replications);
    }

    let (end, defaulted) = End::of(args.duration, &graph);
    if defaulted {
        print_stderr(&[format!(
            "note: {} runs forever (a producer without limit); simulating {} — pass \
             --duration to choose",
            file.display(),
            summary::format_duration_arg(DEFAULT_HORIZON_MS)
        )]);
    }

    if let Some(n) = args.replications {
        return super::replications::run(args, &graph, end, usize::from(n));
    }

    let started = Instant::now();
    let mut sim = Simulation::new(&graph, args.seed).map_err(|e| build_error_lines(file, e))?;
    let progress = Progress::new(end, started);
    let guard = Guard::new(args, started);
    let mut brokers = Brokers::connect(&mut sim, args.speed, file);
    let stopped = match args.speed {
        Speed::Max => run_at_full_speed(&mut sim, end, &progress, &guard),
        Speed::Paced(factor) => run_paced(
            &mut sim,
            end,
            factor,
            started,
            &progress,
            &guard,
            &mut brokers,
        ),
    }
    .err();
    progress.finish();
    brokers.close(&mut sim);
    let report = sim.report(started.elapsed().as_secs_f64() * 1000.0);

    let json = report_json(&report);
    if let Some(out) = &args.report {
        crate::file_io::write_atomic(out, json.as_bytes(), false).map_err(|e| {
            Failure::Invalid(vec![format!(
                "{}: cannot write the report: {e}",
                out.display()
            )])
        })?;
    }
    if args.json {
        print_stdout(&json)?;
    } else {
        print_stdout(&summary::render(&report))?;
    }
    if !report.conservation.ok {
        return Err(Failure::ConservationFailed(conservation_detail(&report)));
    }
    match stopped {
        Some(why) => Err(Failure::Stopped(format!("{}: {why}", file.display()))),
        None => Ok(()),
    }
}

pub(super) fn run_at_full_speed(
    sim: &mut Simulation,
    end: End,
    progress: &Progress,
    guard: &Guard,
) -> Result<(), String> {
    let mut check = |s: &Simulation| guard.check(s);
    match end {
        End::At(end_ms) => {
            // The same chunks whether or not a bar is shown, so every run takes one path.
            for step in 1..=CHUNKS {
                let t_ms = if step == CHUNKS {
                    end_ms
                } else {
                    end_ms * f64::from(step) / f64::from(CHUNKS)
                };
                sim.run_guarded(Some(ms_to_ns(t_ms)), GUARD_EVERY, &mut check)?;
                progress.update(sim);
            }
        }
        End::Idle => {
            sim.run_guarded(None, GUARD_EVERY, &mut check)?;
            progress.update(sim);
        }
    }
    Ok(())
}

/// Keeps simulated time at `factor` × the wall time since `started`, until the end (or, for
/// a run that ends by itself, until nothing is left to do).
fn run_paced(
    sim: &mut Simulation,
    end: End,
    factor: f64,
    started: Instant,
    progress: &Progress,
    guard: &Guard,
    brokers: &mut Brokers,
) -> Result<(), String> {
    let end_ms = match end {
        End::At(ms) => ms,
        End::Idle => f64::INFINITY,
    };
    let mut check = |s: &Simulation| guard.check(s);
    loop {
        let target_ms = (started.elapsed().as_secs_f64() * 1000.0 * factor).min(end_ms);
        // What the brokers brought enters at the current time, then time moves on.
        brokers.poll(sim);
        sim.run_guarded(Some(ms_to_ns(target_ms)), GUARD_EVERY, &mut check)?;
        progress.update(sim);
        let done = match end {
            End::At(_) => target_ms >= end_ms,
            End::Idle => sim.is_idle(),
        };
        if done {
            return Ok(());
        }
        std::thread::sleep(if brokers.active() {
            BROKER_TICK
        } else {
            PACE_TICK
        });
    }
}

/// The report as pretty JSON with a final newline.
fn report_json(report: &Report) -> String {
    // A report is plain numbers and strings; serialising it cannot fail.
    let mut json = serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        format!("{{\"error\": \"the report could not be written as JSON: {e}\"}}")
    });
    json.push('\n');
    json
}

pub(super) fn conservation_detail(report: &Report) -> String {
    report.conservation.detail.clone().unwrap_or_else(|| {
        let t = &report.totals;
        format!(
            "{} messages entered the graph but {} are accounted for",
            t.entered(),
            t.accounted()
        )
    })
}

pub(super) fn build_error_lines(file: &Path, error: BuildError) -> Vec<String> {
    match &error {
        BuildError::Invalid(diagnostics) => {
            let lines = load::diagnostic_lines(file, diagnostics);
            if lines.is_empty() {
                vec![format!("{}: {error}", file.display())]
            } else {
                lines
            }
        }
    }
}

/// A progress bar on stderr, only when stderr is a terminal.
pub(super) struct Progress {
    bar: Option<ProgressBar>,
    end: End,
    started: Instant,
}

impl Progress {
    /// Bar positions per run (0.1 % steps).
    const LENGTH: u64 = 1000;

    fn new(end: End, started: Instant) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| match end {
            End::At(_) => {
                let bar = ProgressBar::new(Self::LENGTH);
                if let Ok(style) =
                    ProgressStyle::with_template("{bar:40.cyan/blue} {percent:>3}% {msg}")
                {
                    bar.set_style(style.progress_chars("█▌ "));
                }
                bar
            }
            End::Idle => {
                let bar = ProgressBar::new_spinner();
                bar.set_message("simulating until every limit is reached…");
                bar.enable_steady_tick(Duration::from_millis(100));
                bar
            }
        });
        Progress { bar, end, started }
    }

    /// No bar (one run among others: their bar counts whole runs).
    pub(super) fn hidden() -> Progress {
        Progress {
            bar: None,
            end: End::Idle,
            started: Instant::now(),
        }
    }

    /// A bar counting `n` runs as they finish.
    pub(super) fn for_runs(n: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(n as u64);
            if let Ok(style) = ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} runs") {
                bar.set_style(style.progress_chars("█▌ "));
            }
            bar
        });
        Progress {
            bar,
            end: End::Idle,
            started: Instant::now(),
        }
    }

    pub(super) fn run_done(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn update(&self, sim: &Simulation) {
        let Some(bar) = &self.bar else {
            return;
        };
        let wall_s = self.started.elapsed().as_secs_f64();
        let rate = if wall_s > 0.0 {
            summary::format_rate(sim.events() as f64 / wall_s)
        } else {
            "–".to_owned()
        };
        bar.set_message(format!(
            "simulated {} · {rate} events/s",
            summary::format_sim_duration(sim.now_ms())
        ));
        if let End::At(end_ms) = self.end {
            let share = if end_ms > 0.0 {
                (sim.now_ms() / end_ms).clamp(0.0, 1.0)
            } else {
                1.0
            };
            bar.set_position((share * Self::LENGTH as f64) as u64);
        }
    }

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `max` and any positive factor are speeds; zero, negatives and words are not.
    #[test]
    fn speeds() {
        assert_eq!(parse_speed("max"), Ok(Speed::Max));
        assert_eq!(parse_speed("1"), Ok(Speed::Paced(1.0)));
        assert_eq!(parse_speed("2.5"), Ok(Speed::Paced(2.5)));
        for bad in ["0", "-1", "fast", "inf", "NaN", ""] {
            assert!(parse_speed(bad).is_err(), "{bad}");
        }
    }

    /// The resident memory and the machine's memory are read where Linux tells them.
    #[test]
    #[cfg(target_os = "linux")]
    fn proc_files_are_read() {
        let resident = resident_bytes().expect("VmRSS in /proc/self/status");
        assert!(resident > 1 << 20, "{resident}");
        let ceiling = default_memory_ceiling().expect("MemTotal in /proc/meminfo");
        assert!(ceiling > 1 << 20 && ceiling <= 8 << 30, "{ceiling}");
        assert_eq!(proc_status_kib("/proc/self/status", "NoSuchKey:"), None);
        assert_eq!(proc_status_kib("/no/such/file", "VmRSS:"), None);
    }

    /// The resident memory is read at the first look, then once per MEMORY_EVERY of wall
    /// time, however often the guard looks.
    #[test]
    fn memory_is_read_once_per_interval() {
        let guard = Guard::cancellable(Arc::new(AtomicBool::new(false)));
        let ms = Duration::from_millis;
        assert!(guard.memory_due(ms(0)));
        assert!(!guard.memory_due(ms(0)));
        assert!(!guard.memory_due(MEMORY_EVERY - ms(1)));
        assert!(guard.memory_due(MEMORY_EVERY));
        assert!(!guard.memory_due(MEMORY_EVERY + ms(5)));
        assert!(guard.memory_due(MEMORY_EVERY * 5));
        assert!(!guard.memory_due(MEMORY_EVERY * 5 + ms(9)));
    }

    /// Memory sizes read with their units; anything else is refused.
    #[test]
    fn memory_sizes() {
        assert_eq!(parse_size("512MB"), Ok(512_000_000));
        assert_eq!(parse_size("1.5GiB"), Ok(1_610_612_736));
        assert_eq!(parse_size("800k"), Ok(800_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        for bad in ["", "lots", "-1GB", "0", "2TB", "1e30"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
