//! `flowbench run FILE --replications N`: N independent runs of one graph with the seeds
//! S, S+1, … S+N−1, run side by side on the machine's cores, and every figure of their
//! reports as the mean over the runs with its 95 % confidence interval (Student t): how a
//! simulation study states a result, instead of one sample path.
//!
//! Each run is the run `flowbench run --seed S+k` makes, so the figures do not depend on
//! how many cores shared the work.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use flowbench_engine::report::{LatencySummary, NodeReport, Report};
use flowbench_engine::split::matches;
use flowbench_engine::{Graph, Simulation};
use serde::Serialize;

use super::run::{End, Guard, Progress, build_error_lines, run_at_full_speed};
use super::spill::{Spill, SpilledReport};
use super::summary::{align, format_sim_duration, format_wall_secs};
use super::{Failure, print_stdout};

pub const REPLICATIONS_FORMAT: &str = "flowbench.replications";
pub const REPLICATIONS_VERSION: u32 = 1;

/// What a figure counts, for printing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Count,
    PerSecond,
    Ms,
    Share,
}

/// One figure of the reports across the runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// The node it belongs to; none for the graph's totals.
    pub node: Option<String>,
    pub name: String,
    pub unit: Unit,
    pub mean: f64,
    /// Half-width of the 95 % confidence interval of the mean; NaN (JSON null) for one run.
    pub ci95: f64,
    pub min: f64,
    pub max: f64,
    /// Each run's value, in seed order.
    pub values: Vec<f64>,
}

/// The JSON `--json` prints and `--report` writes.
#[derive(Debug, Clone, Serialize)]
pub struct Replications {
    pub format: &'static str,
    pub version: u32,
    pub graph: String,
    pub replications: usize,
    pub seeds: Vec<u64>,
    /// Simulated time of a run: the one `--duration` set, or, for a graph that ends by
    /// itself, the mean over the runs (each ends when its last message settles).
    pub sim_time_ms: f64,
    /// Whether the runs ended by themselves (`"idle"`) or at `--duration` (`"duration"`).
    pub ends: &'static str,
    /// Wall time of all runs together.
    pub wall_time_ms: f64,
    pub threads: usize,
    pub figures: Vec<Figure>,
    /// Every run's own report, in seed order (kept only for the JSON, on disk until it is
    /// written).
    pub reports: Vec<SpilledReport>,
    /// What the table needs of each run.
    #[serde(skip)]
    pub runs: Vec<RunFigures>,
}

/// Student t quantile for a two-sided 95 % interval (the 97.5 % point), by degrees of
/// freedom; from 31 on, the normal quantile with its first Cornish–Fisher correction
/// (within 0.1 % of the exact value).
pub fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        _ => {
            let z = 1.959_964;
            z + (z * z * z + z) / (4.0 * df as f64)
        }
    }
}

impl Figure {
    fn new(node: Option<&str>, name: &str, unit: Unit, values: Vec<f64>) -> Figure {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let ci95 = if values.len() < 2 {
            // One run gives no interval (written as null in JSON).
            f64::NAN
        } else {
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
            t_975(values.len() - 1) * (var / n).sqrt()
        };
        Figure {
            node: node.map(str::to_owned),
            name: name.to_owned(),
            unit,
            mean,
            ci95,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            values,
        }
    }

    /// The mean, `± half-width`, min and max as printed: in one unit chosen by the mean's
    /// size, the half-width to two significant digits and the other three to the same
    /// decimal place (digits below the interval's would be noise).
    pub fn cells(&self) -> [String; 4] {
        let (scale, suffix) = match self.unit {
            Unit::Count | Unit::PerSecond => (1.0, ""),
            Unit::Share => (100.0, "%"),
            Unit::Ms => match self.mean.abs() {
                m if m < 1_000.0 => (1.0, " ms"),
                m if m < 60_000.0 => (1e-3, " s"),
                m if m < 3_600_000.0 => (1.0 / 60_000.0, " min"),
                _ => (1.0 / 3_600_000.0, " h"),
            },
        };
        let ci = self.ci95 * scale;
        let decimals = if ci > 0.0 && ci.is_finite() {
            (1 - ci.log10().floor() as i32).clamp(0, 6) as usize
        } else {
            // No spread: whole counts as they are, else as many decimals as two
            // significant digits of the mean need.
            let m = (self.mean * scale).abs();
            if self.unit == Unit::Count && self.mean.fract() == 0.0 {
                0
            } else if m > 0.0 {
                (1 - m.log10().floor() as i32).clamp(0, 6) as usize
            } else {
                0
            }
        };
        let show = |x: f64| format!("{:.decimals$}{suffix}", x * scale);
        [
            show(self.mean),
            format!("± {}", show(self.ci95)),
            show(self.min),
            show(self.max),
        ]
    }

    pub fn label(&self) -> String {
        match &self.node {
            Some(node) => format!("{node} · {}", self.name),
            None => self.name.clone(),
        }
    }
}

/// One row per figure of `scenarios`, in order of first appearance (a count that stays 0
/// in one scenario may not in another): its label, then per scenario the mean, with its
/// interval when `interval`, or `0` where the scenario left the figure out.
pub fn side_by_side(scenarios: &[&[Figure]], interval: bool) -> Vec<Vec<String>> {
    let mut keys: Vec<&Figure> = Vec::new();
    for f in scenarios.iter().copied().flatten() {
        if !keys.iter().any(|k| k.node == f.node && k.name == f.name) {
            keys.push(f);
        }
    }
    keys.iter()
        .map(|key| {
            let mut row = vec![key.label()];
            row.extend(scenarios.iter().map(|figures| {
                match figures
                    .iter()
                    .find(|f| f.node == key.node && f.name == key.name)
                {
                    Some(f) => {
                        let [mean, ci, ..] = f.cells();
                        if interval {
                            format!("{mean} {ci}")
                        } else {
                            mean
                        }
                    }
                    None => "0".to_owned(),
                }
            }));
            row
        })
        .collect()
}

/// A figure of the graph's totals: its name, unit, whether it shows when it is 0 in every
/// run, and how a report gives it.
struct TotalField {
    name: &'static str,
    unit: Unit,
    always: bool,
    read: fn(&Report) -> f64,
}

/// A figure of a node: as [`TotalField`]; `None` when the node's kind does not have it (or
/// a duration it did not measure).
struct NodeField {
    name: &'static str,
    unit: Unit,
    always: bool,
    read: fn(&NodeReport) -> Option<f64>,
}

impl TotalField {
    const fn new(name: &'static str, unit: Unit, always: bool, read: fn(&Report) -> f64) -> Self {
        TotalField {
            name,
            unit,
            always,
            read,
        }
    }
}

impl NodeField {
    const fn new(
        name: &'static str,
        unit: Unit,
        always: bool,
        read: fn(&NodeReport) -> Option<f64>,
    ) -> Self {
        NodeField {
            name,
            unit,
            always,
            read,
        }
    }
}

const TOTAL_FIELDS: [TotalField; 9] = [
    TotalField::new("created", Unit::Count, true, |r| r.totals.created as f64),
    TotalField::new("delivered", Unit::Count, true, |r| {
        r.totals.delivered as f64
    }),
    TotalField::new("delivered/s", Unit::PerSecond, true, |r| {
        r.totals.delivered as f64 / (r.sim_time_ms / 1000.0).max(f64::MIN_POSITIVE)
    }),
    TotalField::new("dropped", Unit::Count, false, |r| r.totals.dropped as f64),
    TotalField::new("failed", Unit::Count, false, |r| r.totals.failed as f64),
    TotalField::new("rejected", Unit::Count, false, |r| r.totals.rejected as f64),
    TotalField::new("filtered", Unit::Count, false, |r| r.totals.filtered as f64),
    TotalField::new("lost", Unit::Count, false, |r| r.totals.lost as f64),
    TotalField::new("in flight", Unit::Count, false, |r| {
        r.totals.in_flight as f64
    }),
];

/// A duration's figure, only from runs that measured it.
fn measured(l: Option<LatencySummary>) -> Option<LatencySummary> {
    l.filter(|l| l.count > 0)
}

const NODE_FIELDS: [NodeField; 18] = [
    NodeField::new("in", Unit::Count, false, |n| Some(n.in_ as f64)),
    NodeField::new("out", Unit::Count, false, |n| Some(n.out as f64)),
    NodeField::new("dropped", Unit::Count, false, |n| {
        n.dropped.map(|v| v as f64)
    }),
    NodeField::new("failed", Unit::Count, false, |n| n.failed.map(|v| v as f64)),
    NodeField::new("lost", Unit::Count, false, |n| n.lost.map(|v| v as f64)),
    NodeField::new("rejected", Unit::Count, false, |n| {
        n.rejected.map(|v| v as f64)
    }),
    NodeField::new("timeouts", Unit::Count, false, |n| {
        n.timeouts.map(|v| v as f64)
    }),
    NodeField::new("retries", Unit::Count, false, |n| {
        n.retries.map(|v| v as f64)
    }),
    NodeField::new("depth mean", Unit::Count, true, |n| n.depth.map(|d| d.mean)),
    NodeField::new("utilization", Unit::Share, true, |n| n.utilization),
    NodeField::new("blocked", Unit::Ms, false, |n| n.blocked_ms),
    NodeField::new("throttled", Unit::Ms, false, |n| n.throttled_ms),
    NodeField::new("wait mean", Unit::Ms, true, |n| {
        measured(n.wait_ms).map(|l| l.mean)
    }),
    NodeField::new("wait p99", Unit::Ms, true, |n| {
        measured(n.wait_ms).map(|l| l.p99)
    }),
    NodeField::new("service mean", Unit::Ms, true, |n| {
        measured(n.service_ms).map(|l| l.mean)
    }),
    NodeField::new("service p99", Unit::Ms, true, |n| {
        measured(n.service_ms).map(|l| l.p99)
    }),
    NodeField::new("latency mean", Unit::Ms, true, |n| {
        measured(n.latency_ms).map(|l| l.mean)
    }),
    NodeField::new("latency p99", Unit::Ms, true, |n| {
        measured(n.latency_ms).map(|l| l.p99)
    }),
];

/// What the figures need of one finished run, without its report: a few numbers per node
/// (a report can take megabytes on a big graph; a thousand runs of one must not hold them
/// all), and its conservation check.
#[derive(Debug, Clone)]
pub struct RunFigures {
    pub seed: u64,
    pub sim_time_ms: f64,
    /// Why its conservation check failed; `None` when it passed.
    pub conservation_failed: Option<String>,
    /// Ids of the nodes, in report order (shared by the runs of one graph).
    ids: Arc<[String]>,
    totals: [f64; TOTAL_FIELDS.len()],
    /// Per node, by [`NODE_FIELDS`]; NaN where the node does not have the figure.
    nodes: Vec<[f64; NODE_FIELDS.len()]>,
}

impl RunFigures {
    /// The figures of `report`. `ids` keeps the node ids of the runs so far: runs of one
    /// graph share one list.
    pub fn of(report: &Report, ids: &Mutex<Option<Arc<[String]>>>) -> RunFigures {
        let ids = {
            let mut shared = ids.lock().unwrap_or_else(|e| e.into_inner());
            match &*shared {
                Some(known) if known.iter().eq(report.nodes.keys()) => Arc::clone(known),
                _ => {
                    let fresh: Arc<[String]> = report.nodes.keys().cloned().collect();
                    *shared = Some(Arc::clone(&fresh));
                    fresh
                }
            }
        };
        RunFigures {
            seed: report.seed,
            sim_time_ms: report.sim_time_ms,
            conservation_failed: (!report.conservation.ok)
                .then(|| super::run::conservation_detail(report)),
            ids,
            totals: TOTAL_FIELDS.map(|f| (f.read)(report)),
            nodes: report
                .nodes
                .values()
                .map(|n| {
                    NODE_FIELDS
                        .each_ref()
                        .map(|f| (f.read)(n).unwrap_or(f64::NAN))
                })
                .collect(),
        }
    }
}

/// The figures of a set of runs of one graph: the totals, the delivery rate, and per node
/// what its kind measures (counts that stay 0 in every run are left out; a figure some run
/// lacks, such as a duration it never measured, too).
pub fn figures(runs: &[RunFigures]) -> Vec<Figure> {
    let mut out = Vec::new();
    let mut add = |node: Option<&str>, name: &str, unit: Unit, values: Vec<f64>, always: bool| {
        if always || values.iter().any(|&v| v != 0.0) {
            out.push(Figure::new(node, name, unit, values));
        }
    };
    for (k, f) in TOTAL_FIELDS.iter().enumerate() {
        add(
            None,
            f.name,
            f.unit,
            runs.iter().map(|r| r.totals[k]).collect(),
            f.always,
        );
    }
    let Some(first) = runs.first() else {
        return out;
    };
    for (i, id) in first.ids.iter().enumerate() {
        // Where each run has this node (runs of one graph: the same place).
        let Some(places) = runs
            .iter()
            .map(|r| {
                if Arc::ptr_eq(&r.ids, &first.ids) {
                    Some(i)
                } else {
                    r.ids.iter().position(|other| other == id)
                }
            })
            .collect::<Option<Vec<usize>>>()
        else {
            continue;
        };
        for (k, f) in NODE_FIELDS.iter().enumerate() {
            let values: Vec<f64> = runs
                .iter()
                .zip(&places)
                .map(|(r, &at)| r.nodes[at][k])
                .collect();
            if values.iter().any(|v| v.is_nan()) {
                continue;
            }
            add(Some(id), f.name, f.unit, values, f.always);
        }
    }
    out
}

/// Whether `pattern` (of `--figures`) chooses the figure `name` of `node` (of the totals
/// without one): it matches the node, the name or the whole row label.
fn chooses(pattern: &str, node: Option<&str>, name: &str) -> bool {
    match node {
        Some(node) => {
            matches(pattern, node)
                || matches(pattern, name)
                || matches(pattern, &format!("{node} · {name}"))
        }
        None => matches(pattern, name),
    }
}

/// Whether some of `patterns` chooses `figure`; every figure when there is no pattern.
fn chosen(figure: &Figure, patterns: &[String]) -> bool {
    patterns.is_empty()
        || patterns
            .iter()
            .any(|p| chooses(p, figure.node.as_deref(), &figure.name))
}

/// The figures of `runs` that `patterns` choose (all without patterns): [`figures`], then
/// `--figures`.
pub fn chosen_figures(runs: &[RunFigures], patterns: &[String]) -> Vec<Figure> {
    let mut out = figures(runs);
    out.retain(|f| chosen(f, patterns));
    out
}

/// Refuses a `--figures` pattern that can choose no figure of `graph`, before any run: the
/// figures' names are known, the nodes are the graph's.
pub fn check_figure_patterns(patterns: &[String], graph: &Graph) -> Result<(), String> {
    let any = |pattern: &str| {
        TOTAL_FIELDS.iter().any(|f| chooses(pattern, None, f.name))
            || graph.nodes.iter().any(|node| {
                NODE_FIELDS
                    .iter()
                    .any(|f| chooses(pattern, Some(node.id.as_str()), f.name))
            })
    };
    match patterns.iter().find(|p| !any(p)) {
        Some(p) => Err(format!(
            "--figures {p}: no figure of this graph matches it; a figure is chosen by its \
             node, its name or its row (`done · latency mean`, `delivered`; `*` matches any \
             characters)"
        )),
        None => Ok(()),
    }
}

/// The table printed for the replications.
pub fn render(r: &Replications) -> String {
    let name = if r.graph.is_empty() {
        "(unnamed graph)"
    } else {
        &r.graph
    };
    let seeds = match (r.seeds.first(), r.seeds.last()) {
        (Some(a), Some(b)) => format!("{a}–{b}"),
        _ => String::new(),
    };
    let length = if r.ends == "idle" {
        format!(
            "each until done (mean {} simulated)",
            format_sim_duration(r.sim_time_ms)
        )
    } else {
        format!("of {} each", format_sim_duration(r.sim_time_ms))
    };
    let mut out = format!(
        "{name} — {} replications (seeds {seeds}) {length} — {} on {} thread{}\n",
        r.replications,
        format_wall_secs(r.wall_time_ms),
        r.threads,
        if r.threads == 1 { "" } else { "s" },
    );
    out.push_str(&format!(
        "mean over the replications and its 95 % confidence interval (Student t, {} degrees of \
         freedom)\n\n",
        r.replications.saturating_sub(1)
    ));
    let mut rows = vec![[
        "figure".to_owned(),
        "mean".to_owned(),
        "± 95 %".to_owned(),
        "min".to_owned(),
        "max".to_owned(),
    ]];
    for f in &r.figures {
        let [mean, ci, min, max] = f.cells();
        rows.push([f.label(), mean, ci, min, max]);
    }
    out.push_str(&align(&rows, &[false, true, true, true, true], None));
    let failed: Vec<String> = r
        .runs
        .iter()
        .filter(|run| run.conservation_failed.is_some())
        .map(|run| run.seed.to_string())
        .collect();
    out.push('\n');
    if failed.is_empty() {
        out.push_str("conservation ok in every replication\n");
    } else {
        out.push_str(&format!(
            "conservation FAILED in the replications with seeds {}\n",
            failed.join(", ")
        ));
    }
    out
}

/// One run to make: a graph, its seed, and where it ends.
#[derive(Clone, Copy)]
pub struct Job<'a> {
    pub graph: &'a Graph,
    pub seed: u64,
    pub end: End,
}

/// Makes the runs side by side, one per core, and gives what `keep` takes of each report in
/// the jobs' order (or why a guard stopped one; once one is stopped, the runs not yet begun
/// are left out: `None`), with the number of threads used. Each report goes to `keep` as
/// its run ends, so what is not kept is freed at once. `done` is called as each run ends.
pub fn run_jobs<T: Send>(
    jobs: &[Job],
    guard: &Guard,
    keep: &(dyn Fn(Report) -> T + Sync),
    done: &(dyn Fn() + Sync),
) -> (Vec<Option<Result<T, String>>>, usize) {
    let n = jobs.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(n)
        .max(1);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<T, String>>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(k) else {
                        break;
                    };
                    let run_started = Instant::now();
                    let outcome = Simulation::new(job.graph, Some(job.seed))
                        .map_err(|e| e.to_string())
                        .and_then(|mut sim| {
                            run_at_full_speed(&mut sim, job.end, &Progress::hidden(), guard)?;
                            Ok(sim.report(run_started.elapsed().as_secs_f64() * 1000.0))
                        })
                        .map(keep);
                    let stop = outcome.is_err();
                    if let Ok(mut results) = results.lock() {
                        results[k] = Some(outcome);
                    }
                    done();
                    if stop {
                        // A guard stopped this run; the others would meet it too.
                        next.store(n, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    (results, threads)
}

/// What was kept of runs that all finished; else why the first did not, named by `name`.
pub fn finished<T>(
    results: Vec<Option<Result<T, String>>>,
    name: impl Fn(usize) -> String,
) -> Result<Vec<T>, String> {
    let mut kept = Vec::with_capacity(results.len());
    for (k, result) in results.into_iter().enumerate() {
        match result {
            Some(Ok(run)) => kept.push(run),
            Some(Err(why)) => return Err(format!("{}: {why}", name(k))),
            None => {
                return Err(format!(
                    "{} did not run: an earlier run was stopped",
                    name(k)
                ));
            }
        }
    }
    Ok(kept)
}

/// Makes `jobs` for the command line: each run's figures, and its whole report only when
/// the JSON is wanted (`--json`, `--report`), kept in a [`Spill`] as each run ends; why a
/// run did not finish names it by `name`.
pub fn run_for_command_line(
    args: &super::run::RunArgs,
    jobs: &[Job],
    guard: &Guard,
    name: impl Fn(usize) -> String,
) -> Result<(Vec<RunFigures>, Vec<SpilledReport>, usize), Failure> {
    let spill_failed = |e: std::io::Error| {
        Failure::Invalid(vec![format!(
            "{}: cannot keep the runs' reports for the JSON in a temporary file: {e} \
             (TMPDIR names where they go)",
            std::env::temp_dir().display()
        )])
    };
    let spill = if args.json() || args.report_path().is_some() {
        Some(Spill::new().map_err(spill_failed)?)
    } else {
        None
    };
    let ids = Mutex::new(None);
    let keep = |report: Report| {
        let figures = RunFigures::of(&report, &ids);
        (figures, spill.as_ref().map(|spill| spill.put(&report)))
    };
    let progress = Progress::for_runs(jobs.len());
    let (results, threads) = run_jobs(jobs, guard, &keep, &|| progress.run_done());
    progress.finish();
    let kept = finished(results, name).map_err(Failure::Stopped)?;
    let mut runs = Vec::with_capacity(kept.len());
    let mut reports = Vec::with_capacity(kept.len());
    for (figures, report) in kept {
        runs.push(figures);
        if let Some(report) = report {
            reports.push(report.map_err(spill_failed)?);
        }
    }
    Ok((runs, reports, threads))
}

/// Runs `n` replications of `graph` to `end` and prints (or writes) what they found.
pub fn run(args: &super::run::RunArgs, graph: &Graph, end: End, n: usize) -> Result<(), Failure> {
    let file = args.file();
    let base = args.seed().unwrap_or(graph.seed);
    let seeds: Vec<u64> = (0..n as u64).map(|k| base.wrapping_add(k)).collect();
    // Every run is built once up front, so a graph the engine refuses fails at once.
    Simulation::new(graph, Some(base)).map_err(|e| build_error_lines(file, e))?;

    let started = Instant::now();
    let guard = Guard::new(args, started);
    let jobs: Vec<Job> = seeds.iter().map(|&seed| Job { graph, seed, end }).collect();
    let (runs, reports, threads) = run_for_command_line(args, &jobs, &guard, |k| {
        format!(
            "{}: replication {} (seed {})",
            file.display(),
            k + 1,
            seeds[k]
        )
    })?;
    let wall_time_ms = started.elapsed().as_secs_f64() * 1000.0;

    let replications = Replications {
        format: REPLICATIONS_FORMAT,
        version: REPLICATIONS_VERSION,
        graph: graph.name.clone(),
        replications: n,
        seeds,
        sim_time_ms: runs.iter().map(|r| r.sim_time_ms).sum::<f64>() / n as f64,
        ends: match end {
            End::At(_) => "duration",
            End::Idle => "idle",
        },
        wall_time_ms,
        threads,
        figures: chosen_figures(&runs, args.figure_patterns()),
        reports,
        runs,
    };
    deliver(
        args,
        &replications,
        || render(&replications),
        &replications.runs,
    )
}

/// Writes `document` to `--report`, prints it (`--json`) or else `table`, and fails with
/// exit 3 when a run's conservation check failed.
///
/// The JSON goes straight to the file or to standard output as it is made: the runs'
/// reports in it are read back from their spill one at a time, never all in memory.
pub fn deliver<'a>(
    args: &super::run::RunArgs,
    document: &impl Serialize,
    table: impl FnOnce() -> String,
    runs: impl IntoIterator<Item = &'a RunFigures>,
) -> Result<(), Failure> {
    let write_json = |out: &mut dyn Write| -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(out);
        serde_json::to_writer_pretty(&mut out, document)?;
        out.write_all(b"\n")?;
        out.flush()
    };
    if let Some(out) = args.report_path() {
        crate::file_io::write_atomic_with(out, false, |file| write_json(file)).map_err(|e| {
            Failure::Invalid(vec![format!(
                "{}: cannot write the report: {e}",
                out.display()
            )])
        })?;
    }
    if args.json() {
        write_json(&mut std::io::stdout().lock()).map_err(|e| {
            // An error of the document itself (a report that could not be read back)
            // rather than of standard output: say what it was.
            match e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<serde_json::Error>())
            {
                Some(json) if !json.is_io() => Failure::Invalid(vec![format!(
                    "the results could not be written as JSON: {json}"
                )]),
                _ => Failure::Output(e),
            }
        })?;
    } else {
        print_stdout(&table())?;
    }
    if let Some((bad, why)) = runs
        .into_iter()
        .find_map(|r| r.conservation_failed.as_ref().map(|why| (r, why)))
    {
        return Err(Failure::ConservationFailed(format!(
            "seed {}: {why}",
            bad.seed
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_table_and_approach_the_normal() {
        assert_eq!(t_975(1), 12.706);
        assert_eq!(t_975(9), 2.262);
        assert_eq!(t_975(30), 2.042);
        // Exact values: 2.0211 (40), 2.0003 (60), 1.9840 (100).
        assert!((t_975(40) - 2.0211).abs() < 0.002, "{}", t_975(40));
        assert!((t_975(60) - 2.0003).abs() < 0.001, "{}", t_975(60));
        assert!((t_975(100) - 1.9840).abs() < 0.001, "{}", t_975(100));
        assert!(t_975(0).is_infinite());
    }

    fn mm1_report(seed: u64, duration_ms: f64) -> Report {
        let path = format!("{}/sample-graphs/mm1.json", env!("CARGO_MANIFEST_DIR"));
        let graph = Graph::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut sim = Simulation::new(&graph, Some(seed)).unwrap();
        sim.run_until_ms(duration_ms);
        sim.report(0.0)
    }

    /// Runs of one graph share one list of node ids, and each figure holds every run's
    /// value in run order; a figure one run lacks (a latency it never measured) is left
    /// out, as are counts that stay 0.
    /// `--figures` keeps the figures whose node, name or row label a pattern matches, and
    /// refuses up front a pattern that can match no figure of the graph.
    #[test]
    fn figure_patterns_choose_rows_by_node_name_or_label() {
        let ids = Mutex::new(None);
        let reports = [mm1_report(1, 60_000.0), mm1_report(2, 60_000.0)];
        let runs: Vec<RunFigures> = reports.iter().map(|r| RunFigures::of(r, &ids)).collect();
        let labels = |patterns: &[&str]| -> Vec<String> {
            let patterns: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
            chosen_figures(&runs, &patterns)
                .iter()
                .map(Figure::label)
                .collect()
        };
        assert_eq!(labels(&[]).len(), figures(&runs).len());
        let done = labels(&["done"]);
        assert!(!done.is_empty());
        assert!(done.iter().all(|l| l.starts_with("done · ")), "{done:?}");
        assert_eq!(
            labels(&["done · latency mean", "delivered"]),
            ["delivered", "done · latency mean"]
        );
        let latencies = labels(&["latency*"]);
        assert!(latencies.contains(&"done · latency mean".to_owned()));
        assert!(latencies.iter().all(|l| l.contains("latency")));
        assert_eq!(labels(&["*wait p99"]), ["q · wait p99"]);

        let path = format!("{}/sample-graphs/mm1.json", env!("CARGO_MANIFEST_DIR"));
        let graph = Graph::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let check = |patterns: &[&str]| {
            let patterns: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
            check_figure_patterns(&patterns, &graph)
        };
        assert!(check(&["done", "delivered", "q · wait*", "*utilization"]).is_ok());
        let refused = check(&["done", "nodes"]).unwrap_err();
        assert!(
            refused.starts_with("--figures nodes: no figure"),
            "{refused}"
        );
        assert!(check(&["done · nothing"]).is_err());
    }

    #[test]
    fn figures_come_from_what_each_run_kept() {
        let ids = Mutex::new(None);
        let reports = [mm1_report(1, 60_000.0), mm1_report(2, 60_000.0)];
        let runs: Vec<RunFigures> = reports.iter().map(|r| RunFigures::of(r, &ids)).collect();
        assert!(Arc::ptr_eq(&runs[0].ids, &runs[1].ids));
        let all = figures(&runs);
        let find = |node: Option<&str>, name: &str| {
            all.iter()
                .find(|f| f.node.as_deref() == node && f.name == name)
                .cloned()
        };
        let delivered = find(None, "delivered").unwrap();
        assert_eq!(
            delivered.values,
            reports
                .iter()
                .map(|r| r.totals.delivered as f64)
                .collect::<Vec<_>>()
        );
        let latency = find(Some("done"), "latency mean").unwrap();
        assert_eq!(
            latency.values[1],
            reports[1].nodes["done"].latency_ms.unwrap().mean
        );
        assert!(find(None, "dropped").is_none(), "0 in every run");

        // A run too short for any message to reach the sink has no latency to average.
        let early = RunFigures::of(&mm1_report(3, 1.0), &ids);
        let with_early = figures(&[runs[0].clone(), early]);
        assert!(
            !with_early
                .iter()
                .any(|f| f.node.as_deref() == Some("done") && f.name == "latency mean")
        );
        assert!(
            with_early
                .iter()
                .any(|f| f.node.as_deref() == Some("worker") && f.name == "utilization")
        );
    }

    #[test]
    fn a_figure_has_the_mean_and_the_student_interval_of_its_values() {
        let f = Figure::new(None, "x", Unit::Count, vec![9.0, 10.0, 11.0, 12.0, 8.0]);
        assert_eq!(f.mean, 10.0);
        // Sample standard deviation √2.5; t(4) = 2.776.
        let expected = 2.776 * (2.5f64 / 5.0).sqrt();
        assert!((f.ci95 - expected).abs() < 1e-12, "{}", f.ci95);
        assert_eq!((f.min, f.max), (8.0, 12.0));
        assert_eq!(
            f.cells(),
            ["10.0", "± 2.0", "8.0", "12.0"].map(str::to_owned)
        );
        let ms = Figure::new(None, "latency", Unit::Ms, vec![9_700.0, 10_050.0, 10_400.0]);
        assert_eq!(
            ms.cells(),
            ["10.05 s", "± 0.87 s", "9.70 s", "10.40 s"].map(str::to_owned)
        );
        let same = Figure::new(None, "created", Unit::Count, vec![5000.0; 4]);
        assert_eq!(
            same.cells(),
            ["5000", "± 0", "5000", "5000"].map(str::to_owned)
        );
    }
}
