//! `flowbench import FILE.mmd [-o OUT.json]` end to end: a design-doc flowchart becomes a
//! valid, laid-out graph file (on stdout or written atomically), exports import back with
//! their kinds and edges, and unreadable charts fail with `FILE:LINE: message` and exit 1.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use flowbench_engine::Graph;

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn flowbench(args: &[&std::ffi::OsStr]) -> Outcome {
    let output = Command::cargo_bin("flowbench")
        .expect("the flowbench binary is built")
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .expect("flowbench runs");
    let outcome = Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        !outcome.stderr.contains("panicked"),
        "flowbench panicked:\n{}",
        outcome.stderr
    );
    outcome
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

const DESIGN: &str = "\
---
title: Checkout
---
flowchart LR
  %% from the design doc
  shop[Web shop client] -->|place order| gw[API Gateway]
  gw --> orders(Order Service)
  orders -->|error| dlq[(Dead letters)]
  orders --> bus{{Order events}}
  bus --> mail[Mailer] & stats[Analytics]
  mail --> sent((Sent))
  stats --> db[(Analytics DB)]
  classDef hot fill:#f96
  class orders hot
";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A design-doc flowchart prints as a graph: kinds from labels and shapes, ports from edge
/// labels, every node placed, no validation errors.
#[test]
fn imports_a_design_flowchart_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let chart = write(dir.path(), "checkout.mmd", DESIGN);
    let outcome = flowbench(&[os("import"), chart.as_os_str()]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let graph = Graph::from_json_str(&outcome.stdout).unwrap();
    assert_eq!(graph.name, "Checkout");
    let kinds: Vec<(&str, &str)> = graph
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.kind_name()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("shop", "client"),
            ("gw", "gateway"),
            ("orders", "service"),
            ("dlq", "queue"),
            ("bus", "topic"),
            ("mail", "service"),
            ("stats", "service"),
            ("sent", "sink"),
            ("db", "sink"),
        ]
    );
    assert!(
        graph
            .edges
            .iter()
            .any(|e| e.from == "orders" && e.to == "dlq" && e.port == "error")
    );
    assert_eq!(graph.edges.len(), 8);
    assert!(graph.nodes.iter().all(|n| n.pos.is_some()));
    let errors: Vec<String> = flowbench_engine::validate(&graph)
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

/// `-o` writes the file (and nothing on stdout); the result validates with the CLI.
#[test]
fn writes_the_graph_with_dash_o() {
    let dir = tempfile::tempdir().unwrap();
    let chart = write(dir.path(), "checkout.mmd", DESIGN);
    let out = dir.path().join("checkout.json");
    let outcome = flowbench(&[os("import"), chart.as_os_str(), os("-o"), out.as_os_str()]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(outcome.stdout.is_empty(), "{}", outcome.stdout);
    let outcome = flowbench(&[os("validate"), out.as_os_str()]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    // Only the graph is left in the folder: no temporary files.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["checkout.json", "checkout.mmd"]);
}

/// Without a title, the graph is named after the file.
#[test]
fn untitled_charts_take_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let chart = write(
        dir.path(),
        "orders.mmd",
        "graph TD\n  p[Producer] --> q[(Queue)]\n",
    );
    let outcome = flowbench(&[os("import"), chart.as_os_str()]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_eq!(
        Graph::from_json_str(&outcome.stdout).unwrap().name,
        "orders"
    );
}

/// Every sample graph exported as Mermaid imports back with the same kinds and edges.
#[test]
fn export_then_import_round_trips_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-graphs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&samples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 5);
    for file in files {
        let exported = flowbench(&[
            os("export"),
            file.as_os_str(),
            os("--format"),
            os("mermaid"),
        ]);
        assert_eq!(exported.code, 0, "{}", exported.stderr);
        let chart = write(dir.path(), "chart.mmd", &exported.stdout);
        let imported = flowbench(&[os("import"), chart.as_os_str()]);
        assert_eq!(imported.code, 0, "{}", imported.stderr);
        let back = Graph::from_json_str(&imported.stdout).unwrap();
        let original = Graph::from_json_slice(&std::fs::read(&file).unwrap()).unwrap();
        let kinds = |g: &Graph| -> Vec<(String, String)> {
            g.nodes
                .iter()
                .map(|n| (n.id.clone(), n.kind_name().to_owned()))
                .collect()
        };
        assert_eq!(kinds(&back), kinds(&original), "{}", file.display());
        assert_eq!(back.edges, original.edges, "{}", file.display());
    }
}

/// Unreadable charts: exit 1, one line `FILE:LINE: message`.
#[test]
fn bad_charts_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, line) in [
        ("seq.mmd", "sequenceDiagram\n  A->>B: hi\n", 1),
        ("arrow.mmd", "flowchart LR\n  a --> b\n  b --> \n", 3),
        (
            "shape.mmd",
            "flowchart LR\n  a --> b\n\n  c[never closed --> d\n",
            4,
        ),
        ("empty.mmd", "", 1),
    ] {
        let chart = write(dir.path(), name, text);
        let outcome = flowbench(&[os("import"), chart.as_os_str()]);
        assert_eq!(outcome.code, 1, "{name}: {}", outcome.stderr);
        let lines: Vec<&str> = outcome.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{name}: {}", outcome.stderr);
        let prefix = format!("{}:{line}: ", chart.display());
        assert!(lines[0].starts_with(&prefix), "{name}: {}", lines[0]);
    }
    let missing = dir.path().join("missing.mmd");
    let outcome = flowbench(&[os("import"), missing.as_os_str()]);
    assert_eq!(outcome.code, 1);
    assert!(
        outcome
            .stderr
            .starts_with(&format!("{}: cannot read", missing.display())),
        "{}",
        outcome.stderr
    );
}

/// A file that cannot be written is reported, exit 1.
#[test]
fn unwritable_output_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let chart = write(dir.path(), "c.mmd", "flowchart LR\n a --> b\n");
    let out = dir.path().join("no-such-folder").join("g.json");
    let outcome = flowbench(&[os("import"), chart.as_os_str(), os("-o"), out.as_os_str()]);
    assert_eq!(outcome.code, 1);
    assert!(
        outcome
            .stderr
            .contains(&format!("{}: cannot write", out.display())),
        "{}",
        outcome.stderr
    );
}
