//! `flowbench run FILE --set NODE.FIELD=V1,V2,…`: "what happens if" as one command. Each
//! value (each combination, with several `--set`) is a scenario: the graph with that config
//! field changed, run with the same seed (or the same `--replications`), side by side on
//! the machine's cores. The table has a row per figure and a column per scenario.

use std::path::Path;
use std::time::Instant;

use flowbench_engine::sim::DEFAULT_HORIZON_MS;
use flowbench_engine::{Diagnostic, Graph};
use serde::Serialize;
use serde_json::Value;

use super::replications::{
    Figure, Job, RunFigures, chosen_figures, deliver, run_for_command_line, side_by_side,
};
use super::run::{End, Guard, RunArgs};
use super::summary::{align, format_duration_arg, format_wall_secs};
use super::{Failure, print_stderr};

pub const SWEEP_FORMAT: &str = "flowbench.sweep";
pub const SWEEP_VERSION: u32 = 1;

/// Scenarios a sweep may have at most (all `--set` lists multiplied).
const MAX_SCENARIOS: usize = 1000;
/// Runs a sweep may make at most (scenarios × replications).
const MAX_RUNS: usize = 10_000;

/// One `--set`: a config field of a node and the values to give it.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// As the user wrote it (`worker.concurrency`).
    pub name: String,
    pub node: String,
    /// Field names inside the node's `config`.
    pub field: Vec<String>,
    pub values: Vec<Value>,
}

/// Parses `NODE.FIELD[.FIELD…]=V1,V2,…` against `graph`. Node ids may hold dots: the
/// longest leading part that is a node id names the node. A value is JSON when it parses as
/// JSON (`2`, `0.5`, `null`, `true`, `{"dist": "exp", "mean_ms": 5}`), else a string.
pub fn parse_setting(text: &str, graph: &Graph) -> Result<Setting, String> {
    let Some((name, values)) = text.split_once('=') else {
        return Err(format!(
            "--set {text}: write NODE.FIELD=VALUE,VALUE,… (e.g. --set worker.concurrency=1,2,4)"
        ));
    };
    let name = name.trim();
    let parts: Vec<&str> = name.split('.').collect();
    let Some(split) = (1..parts.len())
        .rev()
        .find(|&k| graph.node(&parts[..k].join(".")).is_some())
    else {
        return Err(format!(
            "--set {name}: no node of the graph starts this path (NODE.FIELD, e.g. \
             worker.concurrency)"
        ));
    };
    let values = split_values(values)?;
    if values.is_empty() {
        return Err(format!("--set {name}: no value after '='"));
    }
    Ok(Setting {
        name: name.to_owned(),
        node: parts[..split].join("."),
        field: parts[split..].iter().map(|&f| f.to_owned()).collect(),
        values: values
            .iter()
            .map(|v| serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.clone())))
            .collect(),
    })
}

/// Splits `a,b,{"x": 1, "y": 2}` at the commas outside brackets and quotes.
fn split_values(text: &str) -> Result<Vec<String>, String> {
    let mut values = Vec::new();
    let mut current = String::new();
    let (mut depth, mut quoted, mut escaped) = (0i32, false, false);
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '{' | '[' if !quoted => depth += 1,
            '}' | ']' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                values.push(std::mem::take(&mut current).trim().to_owned());
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if quoted || depth != 0 {
        return Err(format!("--set …={text}: a quote or bracket is not closed"));
    }
    values.push(current.trim().to_owned());
    if values.iter().any(String::is_empty) {
        return Err(format!("--set …={text}: an empty value between commas"));
    }
    Ok(values)
}

/// `graph` with `setting` set to `value`: the field must exist in the node's config as the
/// graph file writes it out in full (`flowbench export --format json` shows them all).
fn apply(graph: &Value, setting: &Setting, value: &Value) -> Result<Value, String> {
    let mut graph = graph.clone();
    let node = graph["nodes"]
        .as_array_mut()
        .and_then(|nodes| nodes.iter_mut().find(|n| n["id"] == setting.node.as_str()))
        .ok_or_else(|| format!("--set {}: no node '{}'", setting.name, setting.node))?;
    let mut place = &mut node["config"];
    for (i, field) in setting.field.iter().enumerate() {
        let Some(object) = place.as_object_mut() else {
            return Err(format!(
                "--set {}: '{}' is not an object",
                setting.name,
                setting.field[..i].join(".")
            ));
        };
        if !object.contains_key(field) {
            let mut known: Vec<&str> = object.keys().map(String::as_str).collect();
            known.sort_unstable();
            return Err(format!(
                "--set {}: node '{}' has no config field '{}' here (there are: {})",
                setting.name,
                setting.node,
                setting.field[..=i].join("."),
                known.join(", ")
            ));
        }
        place = &mut object[field];
    }
    *place = value.clone();
    Ok(graph)
}

/// One scenario's column: what was set, and the figures of its runs.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// Field → value, in the order of the `--set` flags.
    pub set: serde_json::Map<String, Value>,
    pub figures: Vec<Figure>,
    /// Every run's own report (kept only for the JSON, on disk until it is written).
    pub reports: Vec<super::spill::SpilledReport>,
    /// What the table needs of each run.
    #[serde(skip)]
    pub runs: Vec<RunFigures>,
}

/// The JSON `--json` prints and `--report` writes for a sweep.
#[derive(Debug, Clone, Serialize)]
pub struct Sweep {
    pub format: &'static str,
    pub version: u32,
    pub graph: String,
    /// Runs per scenario, with the seeds S … S+N−1 in every scenario.
    pub replications: usize,
    pub seeds: Vec<u64>,
    pub wall_time_ms: f64,
    pub threads: usize,
    pub scenarios: Vec<Scenario>,
}

/// Every combination of the settings' values, the first setting varying slowest.
fn combinations(settings: &[Setting]) -> Vec<Vec<&Value>> {
    settings.iter().fold(vec![Vec::new()], |acc, s| {
        acc.iter()
            .flat_map(|prefix| {
                s.values.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push(v);
                    next
                })
            })
            .collect()
    })
}

/// A value as the table's heading shows it: JSON without the quotes of a plain string.
fn show_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The table: a row per figure, a column per scenario.
pub fn render(sweep: &Sweep, settings: &[Setting]) -> String {
    let name = if sweep.graph.is_empty() {
        "(unnamed graph)"
    } else {
        &sweep.graph
    };
    let runs = if sweep.replications > 1 {
        format!(
            "{} replications each (seeds {}–{}): mean ± 95 % interval",
            sweep.replications,
            sweep.seeds.first().copied().unwrap_or(0),
            sweep.seeds.last().copied().unwrap_or(0)
        )
    } else {
        format!("seed {}", sweep.seeds.first().copied().unwrap_or(0))
    };
    let mut out = format!(
        "{name} — {} scenario{}, {runs} — {} on {} thread{}\n",
        sweep.scenarios.len(),
        if sweep.scenarios.len() == 1 { "" } else { "s" },
        format_wall_secs(sweep.wall_time_ms),
        sweep.threads,
        if sweep.threads == 1 { "" } else { "s" },
    );
    // Headings: the values of the settings that vary, each on its own row.
    let varying: Vec<&Setting> = settings.iter().filter(|s| s.values.len() > 1).collect();
    let fixed: Vec<String> = settings
        .iter()
        .filter(|s| s.values.len() == 1)
        .map(|s| format!("{}={}", s.name, show_value(&s.values[0])))
        .collect();
    if !fixed.is_empty() {
        out.push_str(&format!("with {}\n", fixed.join(", ")));
    }
    out.push('\n');

    let mut rows: Vec<Vec<String>> = Vec::new();
    for setting in &varying {
        let mut row = vec![setting.name.clone()];
        row.extend(sweep.scenarios.iter().map(|sc| {
            sc.set
                .get(&setting.name)
                .map(show_value)
                .unwrap_or_default()
        }));
        rows.push(row);
    }
    if varying.is_empty() {
        rows.push(
            std::iter::once("figure".to_owned())
                .chain(sweep.scenarios.iter().map(|_| "value".to_owned()))
                .collect(),
        );
    }
    let heading_rows = rows.len();
    let figures: Vec<&[Figure]> = sweep.scenarios.iter().map(|sc| &sc.figures[..]).collect();
    rows.extend(side_by_side(&figures, sweep.replications > 1));
    let mut right = vec![true; sweep.scenarios.len() + 1];
    right[0] = false;
    out.push_str(&align(&rows, &right, Some(heading_rows)));
    let failed: Vec<usize> = sweep
        .scenarios
        .iter()
        .enumerate()
        .filter(|(_, sc)| sc.runs.iter().any(|r| r.conservation_failed.is_some()))
        .map(|(k, _)| k + 1)
        .collect();
    out.push('\n');
    if failed.is_empty() {
        out.push_str("conservation ok in every run\n");
    } else {
        out.push_str(&format!(
            "conservation FAILED in scenario {}\n",
            failed
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out
}

/// Where a scenario's runs end: at `--duration`, else when idle if the scenario's graph
/// ends by itself, else at the default horizon (said once on stderr).
fn end_of(duration: Option<f64>, graph: &Graph, noted: &mut bool, file: &Path) -> End {
    let (end, defaulted) = End::of(duration, graph);
    if defaulted && !*noted {
        *noted = true;
        print_stderr(&[format!(
            "note: {} runs forever in some scenario (a producer without limit); simulating {} \
             — pass --duration to choose",
            file.display(),
            format_duration_arg(DEFAULT_HORIZON_MS)
        )]);
    }
    end
}

/// Why scenarios could not be built: a setting that names nothing (a usage error), or
/// scenario graphs the model refuses (one line per problem, `with NODE.FIELD=V: …`).
#[derive(Debug, Clone, PartialEq)]
pub enum ScenarioError {
    Usage(String),
    Invalid(Vec<String>),
}

/// One scenario: what it set, as a label, and its graph.
pub struct ScenarioGraph {
    pub set: serde_json::Map<String, Value>,
    /// `worker.concurrency=2, q.capacity=10`.
    pub label: String,
    pub graph: Graph,
}

/// Every combination of `settings` applied to `graph`, each checked as a file would be.
/// `runs` is the number of runs per scenario, for the limits.
pub fn build_scenarios(
    graph: &Graph,
    settings: &[Setting],
    runs: usize,
) -> Result<Vec<ScenarioGraph>, ScenarioError> {
    let combos = combinations(settings);
    if combos.len() > MAX_SCENARIOS || combos.len() * runs > MAX_RUNS {
        return Err(ScenarioError::Usage(format!(
            "--set: {} scenarios × {runs} runs is more than a sweep makes (at most \
             {MAX_SCENARIOS} scenarios and {MAX_RUNS} runs)",
            combos.len()
        )));
    }
    let base = serde_json::to_value(graph).map_err(|e| ScenarioError::Usage(e.to_string()))?;
    let mut out = Vec::with_capacity(combos.len());
    for combo in &combos {
        let mut value = base.clone();
        let mut set = serde_json::Map::new();
        for (setting, v) in settings.iter().zip(combo) {
            value = apply(&value, setting, v).map_err(ScenarioError::Usage)?;
            set.insert(setting.name.clone(), (*v).clone());
        }
        let label = set
            .iter()
            .map(|(k, v)| format!("{k}={}", show_value(v)))
            .collect::<Vec<_>>()
            .join(", ");
        let scenario = Graph::from_json_str(&value.to_string())
            .map_err(|e| ScenarioError::Invalid(vec![format!("with {label}: {e}")]))?;
        let errors: Vec<String> = flowbench_engine::validate(&scenario)
            .iter()
            .filter(|d| d.is_error())
            .map(|d: &Diagnostic| format!("with {label}: {d}"))
            .collect();
        if !errors.is_empty() {
            return Err(ScenarioError::Invalid(errors));
        }
        out.push(ScenarioGraph {
            set,
            label,
            graph: scenario,
        });
    }
    Ok(out)
}

/// Runs every scenario of `args.set` on `graph` and prints (or writes) the comparison.
pub fn run(args: &RunArgs, graph: &Graph, replications: usize) -> Result<(), Failure> {
    let file = args.file();
    let usage = |why: String| Failure::Usage(why);
    let settings = args
        .settings()
        .iter()
        .map(|text| parse_setting(text, graph))
        .collect::<Result<Vec<_>, _>>()
        .map_err(usage)?;
    let built = build_scenarios(graph, &settings, replications).map_err(|e| match e {
        ScenarioError::Usage(why) => Failure::Usage(why),
        ScenarioError::Invalid(lines) => Failure::Invalid(
            lines
                .into_iter()
                .map(|l| format!("{}: {l}", file.display()))
                .collect(),
        ),
    })?;
    let (sets, graphs): (Vec<_>, Vec<_>) = built
        .into_iter()
        .map(|sc| ((sc.set, sc.label), sc.graph))
        .unzip();

    let first = args.seed().unwrap_or(graph.seed);
    let seeds: Vec<u64> = (0..replications as u64)
        .map(|k| first.wrapping_add(k))
        .collect();
    let mut noted = false;
    let ends: Vec<End> = graphs
        .iter()
        .map(|g| end_of(args.duration_ms(), g, &mut noted, file))
        .collect();
    let jobs: Vec<Job> = graphs
        .iter()
        .zip(&ends)
        .flat_map(|(g, &end)| {
            seeds.iter().map(move |&seed| Job {
                graph: g,
                seed,
                end,
            })
        })
        .collect();
    let started = Instant::now();
    let guard = Guard::new(args, started);
    let (runs, reports, threads) = run_for_command_line(args, &jobs, &guard, |k| {
        format!(
            "{}: with {} (seed {})",
            file.display(),
            sets[k / replications].1,
            seeds[k % replications]
        )
    })?;
    let wall_time_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut runs = runs.into_iter();
    let mut reports = reports.into_iter();
    let scenarios: Vec<Scenario> = sets
        .into_iter()
        .map(|(set, _)| {
            let runs: Vec<RunFigures> = runs.by_ref().take(replications).collect();
            Scenario {
                set,
                figures: chosen_figures(&runs, args.figure_patterns()),
                // Empty unless the JSON is wanted.
                reports: reports.by_ref().take(replications).collect(),
                runs,
            }
        })
        .collect();
    let sweep = Sweep {
        format: SWEEP_FORMAT,
        version: SWEEP_VERSION,
        graph: graph.name.clone(),
        replications,
        seeds,
        wall_time_ms,
        threads,
        scenarios,
    };
    deliver(
        args,
        &sweep,
        || render(&sweep, &settings),
        sweep.scenarios.iter().flat_map(|sc| &sc.runs),
    )
}

#[cfg(test)]
mod tests {
    use flowbench_engine::{Node, NodeConfig, NodeKind};

    use super::*;

    fn graph() -> Graph {
        Graph {
            nodes: vec![
                Node::new("orders.v2", NodeConfig::default_for(NodeKind::Producer)),
                Node::new("worker", NodeConfig::default_for(NodeKind::Service)),
            ],
            ..Graph::default()
        }
    }

    #[test]
    fn settings_name_the_longest_node_id_and_take_json_or_text() {
        let s = parse_setting("orders.v2.rate_per_sec=10,20.5", &graph()).unwrap();
        assert_eq!(s.node, "orders.v2");
        assert_eq!(s.field, ["rate_per_sec"]);
        assert_eq!(s.values, [serde_json::json!(10), serde_json::json!(20.5)]);
        let s = parse_setting(
            r#"worker.service_time={"dist": "exp", "mean_ms": 5},{"dist":"const","ms":5}"#,
            &graph(),
        )
        .unwrap();
        assert_eq!(s.values.len(), 2);
        assert_eq!(s.values[1]["dist"], "const");
        let s = parse_setting("worker.failure_rate=0, 0.1 ,null,fast", &graph()).unwrap();
        assert_eq!(s.values[3], serde_json::json!("fast"));
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let err = |t: &str| parse_setting(t, &graph()).unwrap_err();
        assert!(err("worker.concurrency").contains("NODE.FIELD=VALUE"));
        assert!(err("nobody.concurrency=2").contains("no node"));
        assert!(err("worker.concurrency=").contains("empty value"));
        assert!(err("worker.concurrency=1,,2").contains("empty value"));
        assert!(err(r#"worker.service_time={"dist": "exp""#).contains("not closed"));
    }

    #[test]
    fn a_field_must_exist_in_the_node_config() {
        let base = serde_json::to_value(graph()).unwrap();
        let setting = parse_setting("worker.concurency=2", &graph()).unwrap();
        let e = apply(&base, &setting, &setting.values[0]).unwrap_err();
        assert!(e.contains("no config field 'concurency'"), "{e}");
        assert!(e.contains("concurrency"), "{e}");
        let setting = parse_setting("worker.concurrency=3", &graph()).unwrap();
        let changed = apply(&base, &setting, &setting.values[0]).unwrap();
        assert_eq!(changed["nodes"][1]["config"]["concurrency"], 3);
        let setting = parse_setting("worker.service_time.mean_ms=7", &graph()).unwrap();
        let changed = apply(&base, &setting, &setting.values[0]).unwrap();
        assert_eq!(changed["nodes"][1]["config"]["service_time"]["mean_ms"], 7);
    }

    #[test]
    fn combinations_vary_the_last_setting_fastest() {
        let g = graph();
        let a = parse_setting("worker.concurrency=1,2", &g).unwrap();
        let b = parse_setting("worker.failure_rate=0,0.5,1", &g).unwrap();
        let settings = [a, b];
        let combos = combinations(&settings);
        assert_eq!(combos.len(), 6);
        assert_eq!(combos[1], [&serde_json::json!(1), &serde_json::json!(0.5)]);
    }
}
