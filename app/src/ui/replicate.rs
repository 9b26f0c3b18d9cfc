//! Replications in the designer: the graph as it is, run N times with the seeds S … S+N−1
//! (S: the run bar's seed) at full speed on every core beside the window, and each figure's
//! mean with its 95 % interval, min and max: what `flowbench run --replications N` prints.
//! With settings to vary (`worker.concurrency=1,2,4`, as `--set` takes them), every
//! scenario runs so, and the figures show side by side.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use flowbench_engine::sim;
use flowbench_engine::{Graph, Report};

use crate::cli::duration::parse_duration_ms;
use crate::cli::replications::{
    self, Figure, Job, REPLICATIONS_FORMAT, REPLICATIONS_VERSION, RunFigures, figures, run_jobs,
    side_by_side,
};
use crate::cli::run::{End, Guard};
use crate::cli::summary::{format_sim_duration, format_wall_secs};
use crate::cli::sweep::{
    SWEEP_FORMAT, SWEEP_VERSION, ScenarioError, build_scenarios, parse_setting,
};
use crate::ui::document::DocStamp;
use crate::ui::live::LiveSession;
use crate::ui::live::export::{ExportWhat, csv_field};
use crate::ui::{AppCommand, Document};

/// Replications a window offers at most.
const MAX_RUNS: u32 = 1000;

/// The Replications window's state.
pub struct ReplicateState {
    pub open: bool,
    /// How many runs.
    pub runs: u32,
    /// Simulated time per run as typed (`90s`, `1h`); empty: until done, for a graph that
    /// ends by itself.
    pub duration: String,
    /// Settings to vary, `;` between them: `worker.concurrency=1,2; q.capacity=10,100`.
    pub vary: String,
    running: Option<Running>,
    /// The last result (or why it has none), for the graph it ran.
    pub outcome: Option<Result<Outcome, String>>,
}

impl Default for ReplicateState {
    fn default() -> Self {
        ReplicateState {
            open: false,
            runs: 10,
            duration: String::new(),
            vary: String::new(),
            running: None,
            outcome: None,
        }
    }
}

struct Running {
    /// Runs per scenario.
    n: usize,
    /// Runs in all.
    total: usize,
    labels: Vec<String>,
    /// Per scenario, what it sets (empty without settings to vary).
    sets: Vec<Settings>,
    graph: String,
    ends: &'static str,
    stamp: DocStamp,
    finished: Arc<AtomicUsize>,
    cancel: Arc<AtomicBool>,
    started: Instant,
    first_seed: u64,
    /// Per scenario, the figures of each run (the reports themselves are not kept), and
    /// the threads that ran them.
    handle: JoinHandle<RunsDone>,
}

/// Per scenario, each run's figures, and how many threads ran them; or why they stopped.
type RunsDone = Result<(Vec<Vec<RunFigures>>, usize), String>;

/// What a scenario sets: field path → value, as `--set` takes them.
type Settings = serde_json::Map<String, serde_json::Value>;

/// What a set of replications found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The document, at the revision that ran.
    pub stamp: DocStamp,
    /// Per scenario (one, without settings to vary): what it set, and its figures.
    pub scenarios: Vec<(String, Vec<Figure>)>,
    /// Per scenario, what it sets (empty without settings to vary).
    pub sets: Vec<Settings>,
    /// The graph's name.
    pub graph: String,
    /// `duration` or `idle`, as in the command line's JSON.
    pub ends: &'static str,
    pub threads: usize,
    pub runs: usize,
    pub first_seed: u64,
    pub sim_time_ms: f64,
    pub wall_time_ms: f64,
}

impl ReplicateState {
    /// Opens the window, with a duration suited to `graph` when none is typed yet.
    pub fn show(&mut self, graph: &Graph) {
        self.open = true;
        if self.duration.trim().is_empty() && !sim::ends_by_itself(graph) {
            self.duration = "1h".to_owned();
        }
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Starts `runs` replications of `doc`'s graph (of each scenario, with settings to
    /// vary) from `first_seed` on a thread of their own.
    pub fn start(&mut self, doc: &Document, first_seed: u64, ctx: &egui::Context) {
        let n = self.runs.clamp(2, MAX_RUNS) as usize;
        let scenarios = match self.scenarios(&doc.graph, n) {
            Ok(scenarios) => scenarios,
            Err(why) => {
                self.outcome = Some(Err(why));
                return;
            }
        };
        let duration = match self.duration.trim() {
            "" => None,
            text => match parse_duration_ms(text) {
                Ok(ms) => Some(ms),
                Err(why) => {
                    self.outcome = Some(Err(format!("Duration: {why}")));
                    return;
                }
            },
        };
        let labels: Vec<String> = scenarios.iter().map(|(label, ..)| label.clone()).collect();
        let sets: Vec<Settings> = scenarios.iter().map(|(_, set, _)| set.clone()).collect();
        let graphs: Vec<Graph> = scenarios.into_iter().map(|(.., g)| g).collect();
        let ends = match End::of(duration, &doc.graph).0 {
            End::At(_) => "duration",
            End::Idle => "idle",
        };
        let total = graphs.len() * n;
        let finished = Arc::new(AtomicUsize::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let ctx = ctx.clone();
        let (counter, stop) = (Arc::clone(&finished), Arc::clone(&cancel));
        let handle = std::thread::spawn(move || {
            let seeds: Vec<u64> = (0..n as u64).map(|k| first_seed.wrapping_add(k)).collect();
            let jobs: Vec<Job> = graphs
                .iter()
                .flat_map(|graph| {
                    let (end, _) = End::of(duration, graph);
                    seeds.iter().map(move |&seed| Job { graph, seed, end })
                })
                .collect();
            let guard = Guard::cancellable(stop);
            let ids = Mutex::new(None);
            let keep = |report: Report| RunFigures::of(&report, &ids);
            let (results, threads) = run_jobs(&jobs, &guard, &keep, &|| {
                counter.fetch_add(1, Ordering::Relaxed);
                ctx.request_repaint();
            });
            let runs =
                replications::finished(results, |k| format!("Run with seed {}", seeds[k % n]));
            ctx.request_repaint();
            let runs = runs?;
            Ok((
                runs.chunks(n).map(<[RunFigures]>::to_vec).collect(),
                threads,
            ))
        });
        self.outcome = None;
        self.running = Some(Running {
            n,
            total,
            labels,
            sets,
            graph: doc.graph.name.clone(),
            ends,
            stamp: doc.stamp(),
            finished,
            cancel,
            started: Instant::now(),
            first_seed,
            handle,
        });
    }

    /// The graphs to run: `graph` itself, or one per combination of the settings to vary,
    /// each with its label and what it sets.
    fn scenarios(
        &self,
        graph: &Graph,
        runs: usize,
    ) -> Result<Vec<(String, Settings, Graph)>, String> {
        let settings = self
            .vary
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| parse_setting(s, graph))
            .collect::<Result<Vec<_>, _>>()?;
        if settings.is_empty() {
            return Ok(vec![(String::new(), Settings::new(), graph.clone())]);
        }
        match build_scenarios(graph, &settings, runs) {
            Ok(built) => Ok(built
                .into_iter()
                .map(|sc| (sc.label, sc.set, sc.graph))
                .collect()),
            Err(ScenarioError::Usage(why)) => Err(why),
            Err(ScenarioError::Invalid(lines)) => Err(lines.join("\n")),
        }
    }

    pub fn cancel(&mut self) {
        if let Some(running) = &self.running {
            running.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// Takes in the result once the runs are over.
    pub fn poll(&mut self) {
        if !self
            .running
            .as_ref()
            .is_some_and(|r| r.handle.is_finished())
        {
            return;
        }
        let Some(running) = self.running.take() else {
            return;
        };
        let wall_time_ms = running.started.elapsed().as_secs_f64() * 1000.0;
        self.outcome = Some(match running.handle.join() {
            Ok(Ok((per_scenario, threads))) => Ok(Outcome {
                stamp: running.stamp,
                sim_time_ms: per_scenario
                    .iter()
                    .flatten()
                    .map(|r| r.sim_time_ms)
                    .sum::<f64>()
                    / running.total.max(1) as f64,
                scenarios: running
                    .labels
                    .into_iter()
                    .zip(per_scenario.iter().map(|runs| figures(runs)))
                    .collect(),
                sets: running.sets,
                graph: running.graph,
                ends: running.ends,
                threads,
                runs: running.n,
                first_seed: running.first_seed,
                wall_time_ms,
            }),
            Ok(Err(why)) => Err(why),
            Err(_) => Err("The replications failed inside the engine".to_owned()),
        });
    }

    /// How many runs are done, of how many, while they go on.
    pub fn progress(&self) -> Option<(usize, usize)> {
        self.running
            .as_ref()
            .map(|r| (r.finished.load(Ordering::Relaxed), r.total))
    }
}

/// The table of an outcome: its headings and rows. One scenario: figure, mean, ± 95 %,
/// min, max; several: figure, then "mean ± half-width" per scenario.
pub fn table(outcome: &Outcome) -> (Vec<String>, Vec<Vec<String>>) {
    if let [(_, figures)] = outcome.scenarios.as_slice() {
        let headings = ["figure", "mean", "± 95 %", "min", "max"].map(str::to_owned);
        let rows = figures
            .iter()
            .map(|f| {
                let mut row = vec![f.label()];
                row.extend(f.cells());
                row
            })
            .collect();
        return (headings.to_vec(), rows);
    }
    let mut headings = vec!["figure".to_owned()];
    headings.extend(outcome.scenarios.iter().map(|(label, _)| label.clone()));
    let figures: Vec<&[Figure]> = outcome.scenarios.iter().map(|(_, f)| &f[..]).collect();
    (headings, side_by_side(&figures, true))
}

/// The table as tab-separated text, for the clipboard.
pub fn as_text(outcome: &Outcome) -> String {
    let (headings, rows) = table(outcome);
    let mut text = headings.join("\t");
    text.push('\n');
    for row in rows {
        text.push_str(&row.join("\t"));
        text.push('\n');
    }
    text
}

/// The figures as CSV, for a spreadsheet: one row per figure and scenario with its unit
/// (`count`, `per_second`, `ms`, `share` 0–1), mean, 95 % half-width, min and max, and then
/// every run's value, one column per seed.
pub fn as_csv(outcome: &Outcome) -> String {
    let seeds: Vec<u64> = (0..outcome.runs as u64)
        .map(|k| outcome.first_seed.wrapping_add(k))
        .collect();
    let mut text = "scenario,node,figure,unit,mean,ci95,min,max".to_owned();
    for seed in &seeds {
        text.push_str(&format!(",seed_{seed}"));
    }
    text.push('\n');
    let number = |x: f64| {
        if x.is_finite() {
            x.to_string()
        } else {
            String::new()
        }
    };
    for (label, figures) in &outcome.scenarios {
        for f in figures {
            let unit = serde_json::to_value(f.unit)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let mut row = vec![
                csv_field(label),
                csv_field(f.node.as_deref().unwrap_or("")),
                csv_field(&f.name),
                unit,
                number(f.mean),
                number(f.ci95),
                number(f.min),
                number(f.max),
            ];
            row.extend(f.values.iter().map(|&v| number(v)));
            text.push_str(&row.join(","));
            text.push('\n');
        }
    }
    text
}

/// The figures as `flowbench run --replications N --json` prints them (`--set`: as a
/// sweep's JSON), without `reports`: the window keeps each run's figures, not its report.
pub fn as_json(outcome: &Outcome) -> String {
    let seeds: Vec<u64> = (0..outcome.runs as u64)
        .map(|k| outcome.first_seed.wrapping_add(k))
        .collect();
    let document = if outcome.sets.iter().all(Settings::is_empty) {
        let figures = outcome.scenarios.first().map_or(&[][..], |(_, f)| f);
        serde_json::json!({
            "format": REPLICATIONS_FORMAT,
            "version": REPLICATIONS_VERSION,
            "graph": outcome.graph,
            "replications": outcome.runs,
            "seeds": seeds,
            "sim_time_ms": outcome.sim_time_ms,
            "ends": outcome.ends,
            "wall_time_ms": outcome.wall_time_ms,
            "threads": outcome.threads,
            "figures": figures,
        })
    } else {
        let scenarios: Vec<serde_json::Value> = outcome
            .sets
            .iter()
            .zip(&outcome.scenarios)
            .map(|(set, (_, figures))| serde_json::json!({"set": set, "figures": figures}))
            .collect();
        serde_json::json!({
            "format": SWEEP_FORMAT,
            "version": SWEEP_VERSION,
            "graph": outcome.graph,
            "replications": outcome.runs,
            "seeds": seeds,
            "wall_time_ms": outcome.wall_time_ms,
            "threads": outcome.threads,
            "scenarios": scenarios,
        })
    };
    let mut text = serde_json::to_string_pretty(&document).expect("figures serialize");
    text.push('\n');
    text
}

/// The Replications window, when open.
pub fn window(
    ctx: &egui::Context,
    state: &mut ReplicateState,
    doc: &Document,
    live: &LiveSession,
    commands: &mut Vec<AppCommand>,
) {
    state.poll();
    if !state.open {
        return;
    }
    let mut open = true;
    egui::Window::new("Replications")
        .open(&mut open)
        .collapsible(false)
        .default_width(520.0)
        .pivot(egui::Align2::CENTER_TOP)
        .default_pos(egui::pos2(ctx.content_rect().center().x, 90.0))
        .show(ctx, |ui| {
            ui.label(
                "Runs the graph as it is several times, each with its own seed, at full speed \
                 on every core, and shows each figure's mean with its 95 % confidence interval.",
            );
            ui.add_space(4.0);
            let first_seed = live.seed_for(&doc.graph);
            let blocked = if doc.has_errors() {
                Some("Fix the graph's errors first (see Problems)")
            } else if !doc.graph.brokered().is_empty() {
                Some("Channels on a broker run live only")
            } else {
                None
            };
            egui::Grid::new("replicate.settings")
                .num_columns(2)
                .show(ui, |ui| {
                    let label = ui.label("Runs");
                    ui.add_enabled(
                        !state.is_running(),
                        egui::DragValue::new(&mut state.runs).range(2..=MAX_RUNS),
                    )
                    .labelled_by(label.id);
                    ui.end_row();
                    let label = ui.label("Duration");
                    ui.add_enabled(
                        !state.is_running(),
                        egui::TextEdit::singleline(&mut state.duration)
                            .hint_text("until done")
                            .desired_width(100.0),
                    )
                    .labelled_by(label.id)
                    .on_hover_text("Simulated time per run: 90s, 10m, 1h; empty: until done");
                    ui.end_row();
                    let label = ui.label("Vary");
                    ui.add_enabled(
                        !state.is_running(),
                        egui::TextEdit::singleline(&mut state.vary)
                            .hint_text("worker.concurrency=1,2,4; q.capacity=10,100")
                            .desired_width(320.0),
                    )
                    .labelled_by(label.id)
                    .on_hover_text(
                        "Optional: NODE.FIELD=VALUE,VALUE,… (a field of the node's config), \
                         ; between settings. Every combination runs, side by side",
                    );
                    ui.end_row();
                    ui.label("Seeds");
                    ui.label(format!(
                        "{first_seed} … {}",
                        first_seed.wrapping_add(u64::from(state.runs.max(2)) - 1)
                    ));
                    ui.end_row();
                });
            ui.horizontal(|ui| {
                if let Some((done, n)) = state.progress() {
                    ui.spinner();
                    ui.label(format!("{done} of {n} runs done"));
                    if ui.button("Cancel").clicked() {
                        state.cancel();
                    }
                } else {
                    let run = ui
                        .add_enabled(blocked.is_none(), egui::Button::new("Run replications"))
                        .on_disabled_hover_text(blocked.unwrap_or_default());
                    if run.clicked() {
                        state.start(doc, first_seed, ctx);
                    }
                    if let Some(why) = blocked {
                        ui.weak(why);
                    }
                }
            });
            ui.separator();
            match &state.outcome {
                None => {
                    ui.weak("No result yet.");
                }
                Some(Err(why)) => {
                    ui.colored_label(ui.visuals().error_fg_color, why);
                }
                Some(Ok(outcome)) => {
                    if outcome.stamp != doc.stamp() {
                        ui.colored_label(
                            ui.visuals().warn_fg_color,
                            "The graph changed since these runs: run again for its numbers.",
                        );
                    }
                    outcome_ui(ui, outcome, commands);
                }
            }
        });
    if !open {
        state.cancel();
        state.open = false;
    }
}

fn outcome_ui(ui: &mut egui::Ui, outcome: &Outcome, commands: &mut Vec<AppCommand>) {
    let scenarios = match outcome.scenarios.len() {
        1 => String::new(),
        n => format!(" for each of {n} scenarios"),
    };
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} runs (seeds {} …){scenarios}, {} simulated each, in {}",
            outcome.runs,
            outcome.first_seed,
            format_sim_duration(outcome.sim_time_ms),
            format_wall_secs(outcome.wall_time_ms)
        ));
        if ui
            .button("Copy")
            .on_hover_text("Copy the table as tab-separated text")
            .clicked()
        {
            ui.ctx().copy_text(as_text(outcome));
        }
        if ui
            .button("Save CSV…")
            .on_hover_text("Every figure with each run's value, one column per seed")
            .clicked()
        {
            commands.push(AppCommand::ExportReplications(
                ExportWhat::ReplicationsCsv,
                as_csv(outcome),
            ));
        }
        if ui
            .button("Save JSON…")
            .on_hover_text(
                "The figures as `flowbench run --replications N --json` gives them \
                 (without each run's report)",
            )
            .clicked()
        {
            commands.push(AppCommand::ExportReplications(
                ExportWhat::ReplicationsJson,
                as_json(outcome),
            ));
        }
    });
    let (headings, rows) = table(outcome);
    egui::ScrollArea::both()
        .max_height(360.0)
        .min_scrolled_height(320.0)
        .show(ui, |ui| {
            egui::Grid::new("replicate.figures")
                .striped(true)
                .num_columns(headings.len())
                .show(ui, |ui| {
                    for heading in &headings {
                        ui.strong(heading);
                    }
                    ui.end_row();
                    for row in &rows {
                        for (i, cell) in row.iter().enumerate() {
                            if i == 0 {
                                ui.label(cell);
                            } else {
                                ui.monospace(cell);
                            }
                        }
                        ui.end_row();
                    }
                });
        });
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn mm1() -> Document {
        let path = format!("{}/sample-graphs/mm1.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        Document::new(Graph::from_json_str(&text).unwrap(), None)
    }

    fn wait(state: &mut ReplicateState) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while state.is_running() {
            assert!(Instant::now() < deadline, "the runs did not end");
            std::thread::sleep(Duration::from_millis(10));
            state.poll();
        }
    }

    #[test]
    fn cancel_stops_long_runs_and_says_so() {
        let doc = mm1();
        let mut state = ReplicateState {
            runs: 4,
            duration: "100000h".to_owned(),
            ..ReplicateState::default()
        };
        state.start(&doc, 1, &egui::Context::default());
        assert!(state.is_running());
        std::thread::sleep(Duration::from_millis(50));
        state.cancel();
        wait(&mut state);
        let why = state.outcome.clone().unwrap().unwrap_err();
        assert!(why.contains("cancelled at simulated"), "{why}");
    }

    #[test]
    fn bad_duration_or_setting_is_said_without_running() {
        let doc = mm1();
        let ctx = egui::Context::default();
        let mut state = ReplicateState {
            duration: "soon".to_owned(),
            ..ReplicateState::default()
        };
        state.start(&doc, 1, &ctx);
        assert!(!state.is_running());
        let why = state.outcome.clone().unwrap().unwrap_err();
        assert!(why.starts_with("Duration:"), "{why}");

        state.duration = "1h".to_owned();
        state.vary = "worker.concurrency=0".to_owned();
        state.start(&doc, 1, &ctx);
        assert!(!state.is_running());
        let why = state.outcome.clone().unwrap().unwrap_err();
        assert!(
            why.contains("with worker.concurrency=0: node 'worker'"),
            "{why}"
        );
    }

    /// The outcome of `state`'s runs of the M/M/1 graph from `first_seed`.
    fn outcome_of(mut state: ReplicateState, first_seed: u64) -> Outcome {
        state.start(&mm1(), first_seed, &egui::Context::default());
        wait(&mut state);
        state.outcome.unwrap().unwrap()
    }

    #[test]
    fn one_scenario_lists_mean_interval_min_and_max() {
        let state = ReplicateState {
            runs: 3,
            duration: "10h".to_owned(),
            ..ReplicateState::default()
        };
        let outcome = outcome_of(state, 7);
        let (headings, rows) = table(&outcome);
        assert_eq!(headings, ["figure", "mean", "± 95 %", "min", "max"]);
        assert!(rows.iter().any(|r| r[0] == "done · latency mean"));
        let text = as_text(&outcome);
        assert!(
            text.starts_with("figure\tmean\t± 95 %\tmin\tmax\n"),
            "{text}"
        );
        assert_eq!(text.lines().count(), rows.len() + 1);

        let csv = as_csv(&outcome);
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("scenario,node,figure,unit,mean,ci95,min,max,seed_7,seed_8,seed_9")
        );
        let figures = &outcome.scenarios[0].1;
        assert_eq!(lines.clone().count(), figures.len());
        let latency = figures
            .iter()
            .find(|f| f.node.as_deref() == Some("done") && f.name == "latency mean")
            .unwrap();
        let row = lines
            .find(|l| l.starts_with(",done,latency mean,ms,"))
            .unwrap();
        let cells: Vec<f64> = row.split(',').skip(4).map(|c| c.parse().unwrap()).collect();
        assert_eq!(cells[0], latency.mean);
        assert_eq!(&cells[4..], latency.values.as_slice());

        // The JSON has the command line's fields but `reports`, and the same figures.
        let json: serde_json::Value = serde_json::from_str(&as_json(&outcome)).unwrap();
        let cli = serde_json::to_value(replications::Replications {
            format: REPLICATIONS_FORMAT,
            version: REPLICATIONS_VERSION,
            graph: String::new(),
            replications: 0,
            seeds: Vec::new(),
            sim_time_ms: 0.0,
            ends: "duration",
            wall_time_ms: 0.0,
            threads: 1,
            figures: Vec::new(),
            reports: Vec::new(),
            runs: Vec::new(),
        })
        .unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        let mut expected = keys(&cli);
        expected.retain(|k| k != "reports");
        assert_eq!(keys(&json), expected);
        assert_eq!(json["format"], "flowbench.replications");
        assert_eq!(json["graph"], mm1().graph.name.as_str());
        assert_eq!(json["seeds"], serde_json::json!([7, 8, 9]));
        assert_eq!(json["ends"], "duration");
        assert_eq!(json["sim_time_ms"], 36_000_000.0);
        assert_eq!(json["figures"], serde_json::to_value(figures).unwrap());
    }

    /// With settings to vary, the JSON is a sweep's: a scenario per value with what it set.
    #[test]
    fn varied_settings_save_as_a_sweep() {
        let state = ReplicateState {
            runs: 2,
            duration: "1h".to_owned(),
            vary: "worker.concurrency=1,2".to_owned(),
            ..ReplicateState::default()
        };
        let outcome = outcome_of(state, 42);
        let json: serde_json::Value = serde_json::from_str(&as_json(&outcome)).unwrap();
        assert_eq!(json["format"], "flowbench.sweep");
        assert_eq!(json["seeds"], serde_json::json!([42, 43]));
        let scenarios = json["scenarios"].as_array().unwrap();
        assert_eq!(scenarios.len(), 2);
        assert_eq!(
            scenarios[1]["set"],
            serde_json::json!({"worker.concurrency": 2})
        );
        assert_eq!(
            scenarios[1]["figures"],
            serde_json::to_value(&outcome.scenarios[1].1).unwrap()
        );
        assert!(scenarios[0].get("reports").is_none());
    }
}
