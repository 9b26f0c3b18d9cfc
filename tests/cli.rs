//! The `flowbench` binary end to end: every sample graph validates and runs, reports are
//! reproducible, bad input gives exit 1 with one line per problem naming the file, usage
//! errors give exit 2, and nothing ever panics.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use flowbench_engine::{Graph, Report};
use serde_json::{Value, json};

/// What one run of the binary left behind.
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn stderr_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }

    fn report(&self) -> Report {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not a report ({e}):\n{}", self.stdout))
    }
}

/// Runs `flowbench args...` and checks what must hold for every run: it ends within the
/// timeout, and it does not panic.
fn flowbench<I, S>(args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let output = Command::cargo_bin("flowbench")
        .expect("the flowbench binary is built")
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .expect("flowbench runs");
    let outcome = Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        !outcome.stderr.contains("panicked") && !outcome.stderr.contains("RUST_BACKTRACE"),
        "flowbench panicked:\n{}",
        outcome.stderr
    );
    assert_ne!(
        outcome.code, -1,
        "flowbench was killed:\n{}",
        outcome.stderr
    );
    outcome
}

fn sample_graphs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-graphs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("sample-graphs/ exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "expected the sample graphs, found {files:?}"
    );
    files
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-graphs")
        .join(name)
}

/// Runs `flowbench run FILE args...`.
fn run_file(file: &Path, args: &[&str]) -> Outcome {
    let mut all = vec![OsStr::new("run"), file.as_os_str()];
    all.extend(args.iter().map(OsStr::new));
    flowbench(all)
}

/// Runs `flowbench run FILE args... --json` and returns the report, after checking it
/// succeeded.
fn run_report(file: &Path, args: &[&str]) -> Report {
    let mut all = vec![OsStr::new("run"), file.as_os_str()];
    all.extend(args.iter().map(OsStr::new));
    all.push(OsStr::new("--json"));
    let outcome = flowbench(all);
    assert_eq!(outcome.code, 0, "{}: {}", file.display(), outcome.stderr);
    outcome.report()
}

// ---------------------------------------------------------------------------------------
// Sample graphs

/// Every sample graph is valid: exit 0 and not even a warning.
#[test]
fn every_sample_graph_validates() {
    for file in sample_graphs() {
        let outcome = flowbench(["validate".as_ref(), file.as_os_str()]);
        assert_eq!(outcome.code, 0, "{}: {}", file.display(), outcome.stderr);
        assert!(
            outcome.stderr_lines().is_empty(),
            "{}: {}",
            file.display(),
            outcome.stderr
        );
    }
}

/// Every sample graph has the fields the docs rely on: a name, a description of what to
/// watch, a seed, and a position for every node.
#[test]
fn every_sample_graph_is_documented_and_laid_out() {
    for file in sample_graphs() {
        let text = std::fs::read_to_string(&file).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        for field in ["name", "description", "seed"] {
            assert!(value.get(field).is_some(), "{}: no {field}", file.display());
        }
        let graph = Graph::from_json_str(&text).unwrap();
        assert!(graph.description.len() > 40, "{}", file.display());
        assert!(
            graph.nodes.iter().all(|n| n.pos.is_some()),
            "{}: a node has no pos",
            file.display()
        );
    }
}

/// The M/M/1 sample is exactly the contract's example graph (graph-format.md §1).
#[test]
fn mm1_sample_is_the_contract_example() {
    let graph = Graph::from_json_slice(&std::fs::read(sample("mm1.json")).unwrap()).unwrap();
    let contract = Graph::from_json_str(
        r#"{
          "format": "flowbench.graph", "version": 1, "name": "M/M/1 queue", "seed": 42,
          "nodes": [
            {"id": "orders", "kind": "producer", "pos": [80, 120],
             "config": {"rate_per_sec": 0.9, "arrival": "poisson"}},
            {"id": "q", "kind": "queue", "pos": [280, 120],
             "config": {"capacity": null, "when_full": "block"}},
            {"id": "worker", "kind": "service", "pos": [480, 120],
             "config": {"concurrency": 1, "service_time": {"dist": "exp", "mean_ms": 1000}}},
            {"id": "done", "kind": "sink", "pos": [680, 120]}
          ],
          "edges": [{"from": "orders", "to": "q"}, {"from": "q", "to": "worker"},
                    {"from": "worker", "to": "done"}],
          "faults": []
        }"#,
    )
    .unwrap();
    assert_eq!(
        Graph {
            description: String::new(),
            ..graph
        },
        contract
    );
}

/// Every sample graph runs for 60 simulated seconds and gives a report of the contract's
/// format whose messages all add up, with a row for every node.
#[test]
fn every_sample_graph_runs_and_conserves_messages() {
    for file in sample_graphs() {
        let report = run_report(&file, &["--duration", "60s"]);
        let name = file.display();
        assert_eq!(report.format, "flowbench.report", "{name}");
        assert_eq!(report.version, 1, "{name}");
        assert!(report.conservation.ok, "{name}: {:?}", report.conservation);
        assert_eq!(report.sim_time_ms, 60_000.0, "{name}");
        assert!(report.totals.created > 0, "{name}: nothing was created");
        assert!(report.events > 0, "{name}: no events");
        let graph = Graph::from_json_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(report.graph, graph.name, "{name}");
        assert_eq!(report.seed, graph.seed, "{name}");
        for node in &graph.nodes {
            let row = report
                .nodes
                .get(&node.id)
                .unwrap_or_else(|| panic!("{name}: no report for node '{}'", node.id));
            assert_eq!(row.kind, node.kind_name(), "{name}: {}", node.id);
        }
    }
}

/// `--report OUT.json` writes the very report `--json` prints, and leaves no temporary file.
#[test]
fn report_file_holds_the_printed_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let file = sample("point-to-point.json");
    let outcome = flowbench([
        "run".as_ref(),
        file.as_os_str(),
        "--duration".as_ref(),
        "60s".as_ref(),
        "--json".as_ref(),
        "--report".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let written: Report = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written, outcome.report());
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1, "a temporary file was left behind");
}

/// `--report` without `--json` still prints the summary table and writes the report.
#[test]
fn report_file_with_summary_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let file = sample("mm1.json");
    let outcome = flowbench([
        "run".as_ref(),
        file.as_os_str(),
        "--duration".as_ref(),
        "60s".as_ref(),
        "--report".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let report: Report = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report.graph, "M/M/1 queue");
    assert!(
        outcome
            .stdout
            .starts_with("M/M/1 queue — seed 42 — simulated 1m 0s in ")
    );
}

/// The same graph and seed give the same report, number for number; passing the graph's own
/// seed changes nothing; another seed gives another run.
#[test]
fn runs_are_reproducible_by_seed() {
    let file = sample("mm1.json");
    let plain = run_report(&file, &["--duration", "60s"]).without_wall_time();
    let again = run_report(&file, &["--duration", "60s"]).without_wall_time();
    assert_eq!(plain, again);
    let own_seed = run_report(&file, &["--duration", "60s", "--seed", "42"]).without_wall_time();
    assert_eq!(plain, own_seed);

    let seven = run_report(&file, &["--duration", "60s", "--seed", "7"]).without_wall_time();
    let seven_again = run_report(&file, &["--duration", "60s", "--seed", "7"]).without_wall_time();
    assert_eq!(seven, seven_again);
    assert_eq!(seven.seed, 7);
    assert_ne!(seven.nodes, plain.nodes, "--seed 7 ran the same as seed 42");
}

/// `--replications N` runs the seeds S … S+N−1 (each exactly the run `--seed S+k` makes,
/// whatever the number of threads), prints every figure's mean and 95 % interval, and
/// writes the same JSON with `--report` as it prints with `--json`. On the sample M/M/1
/// graph the interval of the mean time in system holds the theory's 10 s.
#[test]
fn replications_give_means_with_confidence_intervals() {
    let file = sample("mm1.json");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("replications.json");
    let args = |extra: &[&str]| {
        let mut all = vec!["--duration", "100h", "--seed", "7", "--replications", "6"];
        all.extend(extra);
        run_file(&file, &all)
    };
    let printed = args(&["--json", "--report", out.to_str().unwrap()]);
    assert_eq!(printed.code, 0, "{}", printed.stderr);
    let json: Value = serde_json::from_str(&printed.stdout).unwrap();
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let without_wall = |v: &Value| {
        let mut v = v.clone();
        v["wall_time_ms"] = json!(0);
        for r in v["reports"].as_array_mut().unwrap() {
            r["wall_time_ms"] = json!(0);
        }
        v
    };
    assert_eq!(without_wall(&json), without_wall(&written));
    assert_eq!(json["format"], "flowbench.replications");
    assert_eq!(json["version"], 1);
    assert_eq!(json["seeds"], json!([7, 8, 9, 10, 11, 12]));

    // Each replication is the plain run of its seed.
    let reports: Vec<Report> = serde_json::from_value(json["reports"].clone()).unwrap();
    assert_eq!(reports.len(), 6);
    let ninth = run_report(&file, &["--duration", "100h", "--seed", "9"]);
    assert_eq!(reports[2].without_wall_time(), ninth.without_wall_time());

    let figure = |node: Value, name: &str| {
        json["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["node"] == node && f["name"] == name)
            .unwrap_or_else(|| panic!("no figure {node} {name}"))
            .clone()
    };
    let latency = figure(json!("done"), "latency mean");
    let values: Vec<f64> = serde_json::from_value(latency["values"].clone()).unwrap();
    let means: Vec<f64> = reports
        .iter()
        .map(|r| r.nodes["done"].latency_ms.unwrap().mean)
        .collect();
    assert_eq!(values, means);
    let (mean, ci) = (
        latency["mean"].as_f64().unwrap(),
        latency["ci95"].as_f64().unwrap(),
    );
    assert!(
        (mean - ci..=mean + ci).contains(&10_000.0),
        "W = 10 s outside {mean} ± {ci} ms"
    );
    assert!(ci > 0.0 && ci < 1_000.0, "{ci}");
    let delivered = figure(Value::Null, "delivered");
    assert_eq!(
        delivered["values"],
        json!(
            reports
                .iter()
                .map(|r| r.totals.delivered as f64)
                .collect::<Vec<_>>()
        )
    );

    let table = args(&[]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table
            .stdout
            .starts_with("M/M/1 queue — 6 replications (seeds 7–12) of 100h 0m 0s each"),
        "{}",
        table.stdout
    );
    for line in [
        "done · latency mean",
        "worker · utilization",
        "q · depth mean",
    ] {
        assert!(table.stdout.contains(line), "{line}:\n{}", table.stdout);
    }
    assert!(
        table
            .stdout
            .ends_with("conservation ok in every replication\n")
    );
}

/// The runs' reports wait for the JSON in a temporary file (`TMPDIR`), not in memory: the
/// document is the same either way (above); where no temporary file can be made, the
/// command says so and where it looked, with exit 1, and asks for no file when no JSON is
/// wanted.
#[test]
fn replications_keep_reports_for_the_json_in_a_temporary_file() {
    let file = sample("mm1.json");
    let missing = tempfile::tempdir().unwrap().path().join("gone");
    let run = |extra: &[&str]| {
        let mut all = vec![
            OsStr::new("run"),
            file.as_os_str(),
            OsStr::new("--duration"),
            OsStr::new("1h"),
            OsStr::new("--replications"),
            OsStr::new("2"),
        ];
        all.extend(extra.iter().map(OsStr::new));
        let output = Command::cargo_bin("flowbench")
            .unwrap()
            .args(all)
            .env("TMPDIR", &missing)
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&["--json"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "{}: cannot keep the runs' reports for the JSON in a temporary file",
            missing.display()
        )) && stderr.contains("TMPDIR"),
        "{stderr}"
    );
    let (code, stdout, stderr) = run(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("2 replications"), "{stdout}");
}

/// `--figures` keeps the rows of the replications' and the sweep's table (and the JSON's
/// figures) that a pattern chooses; alone, or with a pattern that matches nothing, it is a
/// usage error (exit 2) before any run.
#[test]
fn figures_choose_the_rows_of_replications_and_sweeps() {
    let file = sample("mm1.json");
    let base = ["--duration", "1h", "--replications", "3"];
    let with = |extra: &[&str]| {
        let mut all = base.to_vec();
        all.extend(extra);
        run_file(&file, &all)
    };
    let table = with(&["--figures", "done,delivered"]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    let rows: Vec<&str> = table
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("figure"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(rows.len() >= 3, "{}", table.stdout);
    assert!(
        rows.iter()
            .all(|r| r.starts_with("done · ") || r.starts_with("delivered")),
        "{}",
        table.stdout
    );

    let json = with(&["--figures", "*latency mean", "--json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    let figures = doc["figures"].as_array().unwrap();
    assert_eq!(figures.len(), 1, "{figures:?}");
    assert_eq!(figures[0]["node"], "done");
    assert_eq!(
        doc["reports"].as_array().unwrap().len(),
        3,
        "reports stay whole"
    );

    let sweep = run_file(
        &file,
        &[
            "--duration",
            "1h",
            "--set",
            "worker.concurrency=1,2",
            "--figures",
            "worker · utilization",
        ],
    );
    assert_eq!(sweep.code, 0, "{}", sweep.stderr);
    let rows: Vec<&str> = sweep.stdout.lines().filter(|l| l.contains(" · ")).collect();
    assert_eq!(rows.len(), 1, "{}", sweep.stdout);
    assert!(
        rows[0].starts_with("worker · utilization"),
        "{}",
        sweep.stdout
    );

    let alone = run_file(&file, &["--duration", "1h", "--figures", "done"]);
    assert_eq!(alone.code, 2, "{}", alone.stderr);
    assert!(alone.stderr.contains("--figures"), "{}", alone.stderr);
    let nothing = with(&["--figures", "done,nobody"]);
    assert_eq!(nothing.code, 2, "{}", nothing.stderr);
    assert!(
        nothing.stderr.contains("--figures nobody: no figure"),
        "{}",
        nothing.stderr
    );
    assert!(nothing.stdout.is_empty());
}

/// `--set NODE.FIELD=V1,V2` runs one scenario per value and compares them: on M/M/1 a
/// second worker cuts the time in system; the scenario that keeps the file's value is
/// exactly the plain run; the JSON names what each scenario set.
#[test]
fn set_runs_one_scenario_per_value() {
    let file = sample("mm1.json");
    let outcome = run_file(
        &file,
        &[
            "--duration",
            "10h",
            "--set",
            "worker.concurrency=1,2",
            "--json",
        ],
    );
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let sweep: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(sweep["format"], "flowbench.sweep");
    assert_eq!(sweep["replications"], 1);
    let scenarios = sweep["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 2);
    assert_eq!(scenarios[1]["set"], json!({"worker.concurrency": 2}));
    let report = |k: usize| -> Report {
        serde_json::from_value(scenarios[k]["reports"][0].clone()).unwrap()
    };
    let plain = run_report(&file, &["--duration", "10h"]);
    assert_eq!(report(0).without_wall_time(), plain.without_wall_time());
    let latency = |r: &Report| r.nodes["done"].latency_ms.unwrap().mean;
    assert!(
        latency(&report(1)) < latency(&report(0)) / 3.0,
        "{} vs {}",
        latency(&report(1)),
        latency(&report(0))
    );
    assert_eq!(report(1).nodes["worker"].workers, Some(2));

    let table = run_file(
        &file,
        &[
            "--duration",
            "10h",
            "--set",
            "worker.concurrency=1,2",
            "--replications",
            "3",
        ],
    );
    assert_eq!(table.code, 0, "{}", table.stderr);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(
        lines[0].starts_with("M/M/1 queue — 2 scenarios, 3 replications each (seeds 42–44)"),
        "{}",
        table.stdout
    );
    assert!(
        lines[2].starts_with("worker.concurrency"),
        "{}",
        table.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("done · latency mean") && l.contains(" ± ")),
        "{}",
        table.stdout
    );
}

/// What a bad --set gets: a field the node does not have or a malformed setting is a
/// usage error (exit 2) naming it; a value the model refuses is invalid input (exit 1)
/// naming the scenario and the node.
#[test]
fn bad_settings_are_refused_with_the_reason() {
    let file = sample("mm1.json");
    let run = |set: &str, extra: &[&str]| {
        let mut args = vec!["--set", set];
        args.extend(extra);
        run_file(&file, &args)
    };
    let typo = run("worker.concurency=2", &[]);
    assert_eq!(typo.code, 2, "{}", typo.stderr);
    assert!(
        typo.stderr.contains("no config field 'concurency'"),
        "{}",
        typo.stderr
    );
    assert!(typo.stderr.contains("concurrency"), "{}", typo.stderr);
    let malformed = run("worker.concurrency", &[]);
    assert_eq!(malformed.code, 2);
    assert!(
        malformed.stderr.contains("NODE.FIELD=VALUE"),
        "{}",
        malformed.stderr
    );
    let paced = run("worker.concurrency=1,2", &["--speed", "10"]);
    assert_eq!(paced.code, 2);
    assert!(paced.stderr.contains("cannot be paced"), "{}", paced.stderr);

    let zero = run("worker.concurrency=1,0", &[]);
    assert_eq!(zero.code, 1, "{}", zero.stderr);
    let line = zero.stderr_lines()[0].to_owned();
    assert!(
        line.starts_with(&format!(
            "{}: with worker.concurrency=0: node 'worker'",
            file.display()
        )),
        "{line}"
    );
}

/// A paced run (`--speed N`) computes exactly what a full-speed run computes.
#[test]
fn paced_run_matches_full_speed() {
    let file = sample("point-to-point.json");
    let max = run_report(&file, &["--duration", "10s"]).without_wall_time();
    let paced = run_report(&file, &["--duration", "10s", "--speed", "100"]).without_wall_time();
    assert_eq!(max, paced);
}

/// A graph whose producers all have a limit runs, without --duration, until every message
/// is delivered.
#[test]
fn limited_graph_runs_to_the_end_by_itself() {
    let file = sample("point-to-point.json");
    let outcome = flowbench(["run".as_ref(), file.as_os_str(), "--json".as_ref()]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(
        !outcome.stderr.contains("runs forever"),
        "{}",
        outcome.stderr
    );
    let report = outcome.report();
    assert_eq!(report.totals.created, 1000);
    assert_eq!(report.totals.delivered, 1000);
    assert_eq!(report.totals.in_flight, 0);
    assert!(report.conservation.ok);
}

/// A graph that never ends runs for the default hour, and says so on stderr.
#[test]
fn endless_graph_runs_one_hour_with_a_note() {
    let file = sample("mm1.json");
    let outcome = flowbench(["run".as_ref(), file.as_os_str(), "--json".as_ref()]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains(&format!(
            "note: {} runs forever (a producer without limit); simulating 1h",
            file.display()
        )),
        "{}",
        outcome.stderr
    );
    assert_eq!(outcome.report().sim_time_ms, 3_600_000.0);
}

/// The summary table: the header line, the totals and one row per node.
#[test]
fn summary_table_lists_every_node() {
    let file = sample("back-pressure.json");
    let outcome = flowbench([
        "run".as_ref(),
        file.as_os_str(),
        "--duration".as_ref(),
        "60s".as_ref(),
    ]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert!(
        lines[0].starts_with("Back-pressure policies side by side — seed 3 — simulated 1m 0s in "),
        "{}",
        outcome.stdout
    );
    assert!(lines[1].starts_with("created "), "{}", outcome.stdout);
    assert!(lines[1].ends_with("conservation ok"), "{}", outcome.stdout);
    let graph = Graph::from_json_slice(&std::fs::read(&file).unwrap()).unwrap();
    for node in &graph.nodes {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{} ", node.id)) && l.contains(node.kind_name())),
            "no row for {}:\n{}",
            node.id,
            outcome.stdout
        );
    }
}

// ---------------------------------------------------------------------------------------
// Export and import

/// DOT export: a digraph with `id\nkind` labels.
#[test]
fn exports_dot() {
    let file = sample("mm1.json");
    let outcome = flowbench([
        "export".as_ref(),
        file.as_os_str(),
        "--format".as_ref(),
        "dot".as_ref(),
    ]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(outcome.stdout.starts_with("digraph \"M/M/1 queue\" {"));
    assert!(outcome.stdout.contains("\"q\" [label=\"q\\nqueue\""));
    assert!(outcome.stdout.contains("\"orders\" -> \"q\";"));
}

/// Mermaid export: a `flowchart LR` with shapes by kind.
#[test]
fn exports_mermaid() {
    let file = sample("mm1.json");
    let outcome = flowbench([
        "export".as_ref(),
        file.as_os_str(),
        "--format".as_ref(),
        "mermaid".as_ref(),
    ]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let lines: Vec<&str> = outcome.stdout.lines().map(str::trim).collect();
    assert_eq!(lines[0], "flowchart LR");
    for expected in [
        "orders[orders]",
        "q[(q)]",
        "worker[worker]",
        "done((done))",
        "orders --> q",
    ] {
        assert!(lines.contains(&expected), "{expected}:\n{}", outcome.stdout);
    }
}

/// JSON export is the same graph, normalised, and itself valid.
#[test]
fn exports_normalised_json() {
    for file in sample_graphs() {
        let outcome = flowbench([
            "export".as_ref(),
            file.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ]);
        assert_eq!(outcome.code, 0, "{}", outcome.stderr);
        let exported = Graph::from_json_str(&outcome.stdout).unwrap();
        let original = Graph::from_json_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(exported, original, "{}", file.display());

        let dir = tempfile::tempdir().unwrap();
        let again = dir.path().join("again.json");
        std::fs::write(&again, &outcome.stdout).unwrap();
        let outcome = flowbench(["validate".as_ref(), again.as_os_str()]);
        assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    }
}

/// Import of a file that is not there: exit 1, one line naming the file (the Mermaid cases
/// are in `cli_import.rs`).
#[test]
fn import_of_a_missing_file() {
    let outcome = flowbench(["import", "design.mmd"]);
    assert_eq!(outcome.code, 1);
    let lines = outcome.stderr_lines();
    assert_eq!(lines.len(), 1, "{}", outcome.stderr);
    assert!(lines[0].starts_with("design.mmd: "), "{}", outcome.stderr);
}

// ---------------------------------------------------------------------------------------
// Bad input: exit 1, one line per problem, each naming the file

/// A small valid graph that the bad-input tests break in one place each.
fn base_graph() -> Value {
    json!({
        "format": "flowbench.graph",
        "version": 1,
        "name": "base",
        "seed": 1,
        "nodes": [
            {"id": "orders", "kind": "producer", "config": {"rate_per_sec": 10, "limit": 100}},
            {"id": "q", "kind": "queue", "config": {"capacity": 10}},
            {"id": "worker", "kind": "service",
             "config": {"concurrency": 1, "service_time": {"dist": "exp", "mean_ms": 5}}},
            {"id": "done", "kind": "sink"}
        ],
        "edges": [
            {"from": "orders", "to": "q"},
            {"from": "q", "to": "worker"},
            {"from": "worker", "to": "done"}
        ],
        "faults": []
    })
}

fn node_mut<'a>(graph: &'a mut Value, id: &str) -> &'a mut Value {
    graph["nodes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|n| n["id"] == id)
        .unwrap()
}

fn push(graph: &mut Value, list: &str, item: Value) {
    graph[list].as_array_mut().unwrap().push(item);
}

fn write_graph(dir: &Path, name: &str, graph: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(graph).unwrap()).unwrap();
    path
}

/// Checks that `validate FILE` and `run FILE` both refuse the file with exit 1, print only
/// lines naming the file, and exactly `errors` error lines; each group in `mentions` must be
/// matched (by any of its strings) by some error line.
fn assert_refused(file: &Path, errors: usize, mentions: &[&[&str]]) {
    let prefix = format!("{}:", file.display());
    let validate = flowbench(["validate".as_ref(), file.as_os_str()]);
    let run = flowbench([
        "run".as_ref(),
        file.as_os_str(),
        "--duration".as_ref(),
        "1s".as_ref(),
    ]);
    for (command, outcome) in [("validate", &validate), ("run", &run)] {
        assert_eq!(outcome.code, 1, "{command}: {}", outcome.stderr);
        assert!(outcome.stdout.is_empty(), "{command}: {}", outcome.stdout);
        let lines = outcome.stderr_lines();
        for line in &lines {
            assert!(
                line.starts_with(&prefix),
                "{command}: not naming the file: {line}"
            );
        }
        let error_lines: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| !l[prefix.len()..].trim_start().starts_with("warning:"))
            .collect();
        assert_eq!(
            error_lines.len(),
            errors,
            "{command}: expected {errors} error line(s):\n{}",
            outcome.stderr
        );
        for group in mentions {
            assert!(
                error_lines
                    .iter()
                    .any(|l| group.iter().any(|m| l.contains(m))),
                "{command}: no error line mentions {group:?}:\n{}",
                outcome.stderr
            );
        }
    }
}

/// Checks a file that is not JSON at all: exactly one line, `FILE:LINE:COLUMN: message`.
fn assert_syntax_error(file: &Path) -> (usize, usize) {
    let outcome = flowbench(["validate".as_ref(), file.as_os_str()]);
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    let lines = outcome.stderr_lines();
    assert_eq!(lines.len(), 1, "{}", outcome.stderr);
    let prefix = format!("{}:", file.display());
    let rest = lines[0]
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("not naming the file: {}", lines[0]));
    let mut parts = rest.splitn(3, ':');
    let line: usize = parts.next().unwrap().parse().expect("a line number");
    let column: usize = parts.next().unwrap().parse().expect("a column number");
    let message = parts.next().unwrap_or_default().trim();
    assert!(
        line >= 1 && column >= 1 && !message.is_empty(),
        "{}",
        lines[0]
    );
    (line, column)
}

/// The base graph of the bad-input tests is itself valid, so each test's one change is what
/// makes its file invalid.
#[test]
fn base_graph_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_graph(dir.path(), "base.json", &base_graph());
    let outcome = flowbench(["validate".as_ref(), file.as_os_str()]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(outcome.stderr_lines().is_empty(), "{}", outcome.stderr);
}

/// An empty file is one problem with its place.
#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("empty.json");
    std::fs::write(&file, "").unwrap();
    assert_syntax_error(&file);
}

/// A binary file (bytes that are not text, NULs included) is one problem with its place.
#[test]
fn binary_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("binary.json");
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect();
    bytes[0] = 0;
    bytes[100] = 0;
    std::fs::write(&file, &bytes).unwrap();
    assert_syntax_error(&file);
}

/// 10 MB of nonsense, and 10 MB of nesting, are refused quickly with one line each.
#[test]
fn huge_nonsense_files() {
    let dir = tempfile::tempdir().unwrap();
    let words = "lorem ipsum {dolor] \"sit\" amet, 42 :: null\n";
    let nonsense = dir.path().join("nonsense.json");
    std::fs::write(&nonsense, words.repeat(10 * 1024 * 1024 / words.len())).unwrap();
    assert_syntax_error(&nonsense);

    let deep = dir.path().join("deep.json");
    std::fs::write(&deep, "[".repeat(10 * 1024 * 1024)).unwrap();
    assert_syntax_error(&deep);

    let inside = dir.path().join("deep-inside.json");
    let text = format!(
        "{{\"format\": \"flowbench.graph\", \"version\": 1, \"ui\": {}",
        "{\"a\": ".repeat(1024 * 1024)
    );
    std::fs::write(&inside, text).unwrap();
    assert_syntax_error(&inside);
}

/// Truncated JSON is reported at the place it stops, past the first line.
#[test]
fn truncated_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("truncated.json");
    let text = serde_json::to_string_pretty(&base_graph()).unwrap();
    std::fs::write(&file, &text[..text.len() / 2]).unwrap();
    let (line, _) = assert_syntax_error(&file);
    assert!(
        line > 1,
        "the place should be where the text stops, got line {line}"
    );
}

/// An unknown top-level field (a typo) is refused, naming the field.
#[test]
fn unknown_top_level_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut graph = base_graph();
    graph["sead"] = json!(3);
    let file = write_graph(dir.path(), "sead.json", &graph);
    assert_syntax_error(&file);
    let outcome = flowbench(["validate".as_ref(), file.as_os_str()]);
    assert!(outcome.stderr.contains("sead"), "{}", outcome.stderr);
}

/// A file that does not exist: `FILE: cannot read: ...`, exit 1.
#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("missing.json");
    for command in ["validate", "run"] {
        let outcome = flowbench([command.as_ref(), file.as_os_str()]);
        assert_eq!(outcome.code, 1, "{command}: {}", outcome.stderr);
        let lines = outcome.stderr_lines();
        assert_eq!(lines.len(), 1, "{command}: {}", outcome.stderr);
        assert!(
            lines[0].starts_with(&format!("{}: cannot read: ", file.display())),
            "{command}: {}",
            lines[0]
        );
    }
}

/// A folder given as a graph file cannot be read, and says so.
#[test]
fn folder_instead_of_file() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = flowbench(["validate".as_ref(), dir.path().as_os_str()]);
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    assert_eq!(outcome.stderr_lines().len(), 1, "{}", outcome.stderr);
    assert!(outcome.stderr.contains("cannot read"), "{}", outcome.stderr);
}

/// A node of a kind that does not exist is named.
#[test]
fn unknown_kind() {
    let dir = tempfile::tempdir().unwrap();
    let mut graph = base_graph();
    node_mut(&mut graph, "done")["kind"] = json!("sinc");
    let file = write_graph(dir.path(), "unknown-kind.json", &graph);
    assert_refused(&file, 1, &[&["node 'done'"], &["sinc"]]);
}

/// Two nodes with the same id are one problem, naming the id.
#[test]
fn duplicate_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut graph = base_graph();
    push(&mut graph, "nodes", json!({"id": "done", "kind": "sink"}));
    let file = write_graph(dir.path(), "duplicate-id.json", &graph);
    assert_refused(&file, 1, &[&["'done'"]]);
}

/// An edge to a node that does not exist is named by its missing end.
#[test]
fn dangling_edge() {
    let dir = tempfile::tempdir().unwrap();
    let mut graph = base_graph();
    push(
        &mut graph,
        "edges",
        json!({"from": "worker", "to": "nowhere"}),
    );
    let file = write_graph(dir.path(), "dangling-edge.json", &graph);
    assert_refused(&file, 1, &[&["nowhere"]]);
}

/// An edge from a port the kind does not have is named by its port.
#[test]
fn bad_port() {
    let dir = tempfile::tempdir().unwrap();
    let mut graph = base_graph();
    push(
        &mut graph,
        "edges",
        json!({"from": "q", "to": "done", "port": "sideways"}),
    );
    let file = write_graph(dir.path(), "bad-port.json", &graph);
    assert_refused(&file, 1, &[&["sideways"]]);
}

/// A client calling a queue (which cannot answer calls) is refused, naming the caller.
#[test]
fn call_target_of_the_wrong_kind() {
    let dir = tempfile::tempdir().unwrap();
    let mut graph = base_graph();
    push(
        &mut graph,
        "nodes",
        json!({"id": "caller", "kind": "client", "config": {"limit": 10}}),
    );
    push(&mut graph, "edges", json!({"from": "caller", "to": "q"}));
    let file = write_graph(dir.path(), "call-target.json", &graph);
    assert_refused(&file, 1, &[&["caller"]]);
}

/// A negative rate is refused, naming the node and the field.
#[test]
fn negative_rate() {
    let dir = tempfile::tempdir().unwrap();
    let mut graph = base_graph();
    node_mut(&mut graph, "orders")["config"]["rate_per_sec"] = json!(-1);
    let file = write_graph(dir.path(), "negative-rate.json", &graph);
    assert_refused(&file, 1, &[&["node 'orders'"], &["rate_per_sec"]]);
}

/// A service with no workers is refused, naming the node and the field.
#[test]
fn zero_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let mut graph = base_graph();
    node_mut(&mut graph, "worker")["config"]["concurrency"] = json!(0);
    let file = write_graph(dir.path(), "zero-concurrency.json", &graph);
    assert_refused(&file, 1, &[&["node 'worker'"], &["concurrency"]]);
}

/// A queue that can hold nothing is refused, naming the node and the field.
#[test]
fn capacity_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut graph = base_graph();
    node_mut(&mut graph, "q")["config"]["capacity"] = json!(0);
    let file = write_graph(dir.path(), "capacity-zero.json", &graph);
    assert_refused(&file, 1, &[&["node 'q'"], &["capacity"]]);
}

/// A probability outside 0..=1 is refused, naming the node and the field.
#[test]
fn probability_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let mut graph = base_graph();
    node_mut(&mut graph, "worker")["config"]["failure_rate"] = json!(1.5);
    let file = write_graph(dir.path(), "probability.json", &graph);
    assert_refused(&file, 1, &[&["node 'worker'"], &["failure_rate"]]);
}

/// Two services calling each other would deadlock: one problem, naming the cycle.
#[test]
fn call_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let mut graph = base_graph();
    push(
        &mut graph,
        "nodes",
        json!({"id": "caller", "kind": "client", "config": {"limit": 10}}),
    );
    push(
        &mut graph,
        "nodes",
        json!({"id": "ping", "kind": "service"}),
    );
    push(
        &mut graph,
        "nodes",
        json!({"id": "pong", "kind": "service"}),
    );
    push(&mut graph, "edges", json!({"from": "caller", "to": "ping"}));
    push(
        &mut graph,
        "edges",
        json!({"from": "ping", "to": "pong", "port": "call"}),
    );
    push(
        &mut graph,
        "edges",
        json!({"from": "pong", "to": "ping", "port": "call"}),
    );
    let file = write_graph(dir.path(), "call-cycle.json", &graph);
    assert_refused(&file, 1, &[&["ping", "pong"]]);
}

/// A misspelt config field is refused, naming the node and the field as written.
#[test]
fn unknown_config_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut graph = base_graph();
    node_mut(&mut graph, "q")["config"]["when_ful"] = json!("block");
    let file = write_graph(dir.path(), "config-typo.json", &graph);
    assert_refused(&file, 1, &[&["node 'q'"], &["when_ful"]]);
}

/// Every problem of a file is reported at once, one line each.
#[test]
fn every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut graph = base_graph();
    node_mut(&mut graph, "orders")["config"]["rate_per_sec"] = json!(-1);
    node_mut(&mut graph, "worker")["config"]["concurrency"] = json!(0);
    let file = write_graph(dir.path(), "two-problems.json", &graph);
    assert_refused(&file, 2, &[&["node 'orders'"], &["node 'worker'"]]);
}

/// `validate` checks every file it is given and names only the bad ones.
#[test]
fn validate_many_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_graph(dir.path(), "good.json", &base_graph());
    let mut broken = base_graph();
    node_mut(&mut broken, "q")["config"]["capacity"] = json!(0);
    let bad = write_graph(dir.path(), "bad.json", &broken);
    let missing = dir.path().join("missing.json");
    let outcome = flowbench([
        "validate".as_ref(),
        good.as_os_str(),
        bad.as_os_str(),
        missing.as_os_str(),
    ]);
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    let lines = outcome.stderr_lines();
    let good_name = good.display().to_string();
    assert!(
        lines.iter().all(|l| !l.starts_with(&good_name)),
        "{}",
        outcome.stderr
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{}:", bad.display())))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{}:", missing.display())))
    );
}

// ---------------------------------------------------------------------------------------
// Usage errors: exit 2

/// Unknown flags, commands and values, a bad `--duration` or `--speed`, and missing
/// arguments are usage errors (exit 2) that say what was wrong.
#[test]
fn usage_errors_exit_2() {
    let file = sample("mm1.json");
    let file = file.to_str().unwrap();
    for (args, mention) in [
        (vec!["run", file, "--bogus"], "--bogus"),
        (vec!["run", file, "--duration", "5x"], "5x"),
        (vec!["run", file, "--duration", "-1s"], "more than 0"),
        (vec!["run", file, "--speed", "-2"], "--speed"),
        (vec!["run", file, "--duration", "0"], "--duration"),
        (vec!["run", file, "--speed", "0"], "--speed"),
        (vec!["run", file, "--seed", "minus-one"], "--seed"),
        (vec!["run"], "FILE"),
        (vec!["validate"], "FILE"),
        (vec!["export", file, "--format", "svg"], "svg"),
        (vec!["frobnicate"], "frobnicate"),
        (vec!["run", file, "--replications", "1"], "--replications"),
        (
            vec!["run", file, "--replications", "1001"],
            "--replications",
        ),
        (
            vec!["run", file, "--replications", "many"],
            "--replications",
        ),
        (
            vec!["run", file, "--replications", "3", "--speed", "10"],
            "cannot be paced",
        ),
    ] {
        let outcome = flowbench(&args);
        assert_eq!(outcome.code, 2, "{args:?}: {}", outcome.stderr);
        assert!(
            outcome.stderr.contains(mention),
            "{args:?} should mention {mention}: {}",
            outcome.stderr
        );
    }
}

/// The bad-duration message shows the accepted forms.
#[test]
fn bad_duration_explains_the_syntax() {
    let file = sample("mm1.json");
    let outcome = flowbench([
        "run".as_ref(),
        file.as_os_str(),
        "--duration".as_ref(),
        "ten".as_ref(),
    ]);
    assert_eq!(outcome.code, 2);
    for form in ["500ms", "90s", "10m", "1h"] {
        assert!(outcome.stderr.contains(form), "{}", outcome.stderr);
    }
}

/// Help works for every command, with exit 0.
#[test]
fn help_for_every_command() {
    for command in ["run", "validate", "export", "import", "open"] {
        let outcome = flowbench([command, "--help"]);
        assert_eq!(outcome.code, 0, "{command}: {}", outcome.stderr);
        assert!(
            outcome.stdout.contains("Usage: flowbench"),
            "{}",
            outcome.stdout
        );
    }
}

/// A graph that grows without bound (an endless fast producer into an unbounded queue that
/// nothing drains) stops at the memory ceiling with exit 4 and a message naming the queue,
/// instead of exhausting the machine; the report still covers what was simulated.
#[test]
fn unbounded_growth_stops_at_the_memory_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let graph = json!({
        "format": "flowbench.graph", "version": 1, "name": "leak",
        "nodes": [
            {"id": "firehose", "kind": "producer", "config": {"rate_per_sec": 1_000_000}},
            {"id": "backlog", "kind": "queue", "config": {"capacity": null}}
        ],
        "edges": [{"from": "firehose", "to": "backlog"}]
    });
    let file = write_graph(dir.path(), "leak.json", &graph);
    let started = std::time::Instant::now();
    let out = flowbench([
        "run",
        file.to_str().unwrap(),
        "--duration",
        "10h",
        "--max-memory",
        "150MB",
        "--json",
    ]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(started.elapsed().as_secs() < 60);
    let lines = out.stderr_lines();
    let line = lines.last().unwrap();
    assert!(line.starts_with(file.to_str().unwrap()), "{line}");
    assert!(
        line.contains("memory ceiling") && line.contains("node 'backlog'"),
        "{line}"
    );
    let report = out.report();
    assert!(report.conservation.ok);
    assert!(report.sim_time_ms < 36_000_000.0);
}

/// A wall-clock --timeout ends a live-paced run that would otherwise take an hour.
#[test]
fn timeout_ends_a_long_run() {
    let started = std::time::Instant::now();
    let out = flowbench([
        "run",
        sample("mm1.json").to_str().unwrap(),
        "--duration",
        "1h",
        "--speed",
        "1",
        "--timeout",
        "1s",
    ]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(started.elapsed().as_secs() < 20);
    assert!(
        out.stderr.contains("stopped by --timeout 1"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("M/M/1 queue"),
        "the summary of what ran is printed"
    );
}

/// A bad --max-memory is a usage error.
#[test]
fn bad_memory_size_is_a_usage_error() {
    let out = flowbench([
        "run",
        sample("mm1.json").to_str().unwrap(),
        "--max-memory",
        "lots",
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not a memory size"), "{}", out.stderr);
}
