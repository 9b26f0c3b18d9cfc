//! The hostile corpus (docs/RELIABILITY.md): files made to break the loader and validator.
//! Every file in tests/hostile/ is refused by the real binary, by both `flowbench validate
//! FILE` and `flowbench run FILE --duration 1s`: exit 1, nothing on stdout, and on stderr one
//! line per problem, each naming the file and the place (`FILE:LINE:COLUMN: ...` for text
//! that is not a graph, `FILE: node 'id': ...` and the like for a graph that is wrong). None
//! panics, and each answers in well under the time limit, inside a memory limit.
//!
//! The files in tests/hostile/accepted/ look hostile but are valid graphs (a BOM, -0, 1e308,
//! u64::MAX where a count may take it): both commands accept them. The largest cases (100,000
//! nodes, 10 MB files) are written at run time rather than checked in.
//!
//! `cargo test --test hostile -- --nocapture` prints the time each command took.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// Wall time one command may take. Each answers in well under a second on an idle machine
/// (docs/RELIABILITY.md has the times); the limit leaves room for a loaded CI machine.
const TIME_LIMIT: Duration = Duration::from_secs(5);

/// Address space one command may take (`ulimit -v`, in KiB), so that an allocation without
/// bound fails here instead of exhausting the machine.
const MEMORY_LIMIT_KIB: u64 = 4 * 1024 * 1024;

/// What the binary must say about a refused file.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The text is not a graph: exactly one line, `FILE:LINE:COLUMN: message`, the message
    /// containing this.
    Syntax(&'static str),
    /// A graph with this many errors (warnings may come too), an error line containing this.
    Problems(usize, &'static str),
}

use Expect::{Problems, Syntax};

/// Every file of tests/hostile/ and what it must give.
const CORPUS: &[(&str, Expect)] = &[
    // Text that is not a whole graph.
    ("empty.json", Syntax("the file is empty")),
    ("whitespace-only.json", Syntax("the file is empty")),
    ("truncated-half.json", Syntax("the file ends too early")),
    (
        "truncated-in-string.json",
        Syntax("the file ends too early: EOF while parsing a string"),
    ),
    (
        "truncated-after-key.json",
        Syntax("the file ends too early"),
    ),
    (
        "truncated-in-number.json",
        Syntax("the file ends too early"),
    ),
    ("trailing-garbage.json", Syntax("trailing characters")),
    ("two-documents.json", Syntax("trailing characters")),
    ("yaml-not-json.json", Syntax("expected ident")),
    ("comments.json", Syntax("expected value")),
    ("single-quotes.json", Syntax("key must be a string")),
    ("trailing-comma.json", Syntax("trailing comma")),
    (
        "top-level-array.json",
        Syntax("expected a graph: an object"),
    ),
    (
        "top-level-string.json",
        Syntax("expected a graph: an object"),
    ),
    ("top-level-null.json", Syntax("expected a graph: an object")),
    // Numbers JSON cannot hold, or a field cannot take.
    ("nan.json", Syntax("expected value")),
    ("infinity.json", Syntax("expected value")),
    ("minus-infinity.json", Syntax("invalid number")),
    ("exponent-out-of-range.json", Syntax("number out of range")),
    ("huge-integer-literal.json", Syntax("number out of range")),
    ("seed-beyond-u64.json", Syntax("expected u64")),
    ("seed-negative.json", Syntax("expected u64")),
    (
        "seed-minus-zero.json",
        Syntax("floating point `-0.0`, expected u64"),
    ),
    ("seed-fraction.json", Syntax("expected u64")),
    ("version-beyond-u32.json", Syntax("expected u32")),
    (
        "limit-beyond-u64.json",
        Problems(1, "node 'orders': limit: invalid type"),
    ),
    (
        "limit-minus-zero.json",
        Problems(1, "node 'orders': limit: invalid type"),
    ),
    (
        "concurrency-beyond-u32.json",
        Problems(1, "node 'worker': concurrency: invalid value"),
    ),
    (
        "concurrency-u32-max.json",
        Problems(1, "concurrency: must be at most 100000"),
    ),
    (
        "concurrency-4e9.json",
        Problems(1, "concurrency: must be at most 100000"),
    ),
    (
        "partitions-4e9.json",
        Problems(1, "partitions: must be at most 10000"),
    ),
    (
        "autoscale-max-4e9.json",
        Problems(1, "autoscale.max: must be at most 100000"),
    ),
    (
        "rate-1e308.json",
        Problems(1, "rate_per_sec: must be at most 1000000000 per second"),
    ),
    (
        "mean-ms-minus-zero.json",
        Problems(1, "service_time.mean_ms: must be a finite number"),
    ),
    (
        "mean-ms-1e308-capacity-zero.json",
        Problems(1, "node 'q': capacity: must be at least 1"),
    ),
    (
        "minus-zero-and-negative.json",
        Problems(1, "service_time.max_ms: must be at least min_ms (-0)"),
    ),
    (
        "payload-float-range-too-wide.json",
        Problems(1, "payload.amount.$float: the range is too wide"),
    ),
    (
        "payload-int-range-too-wide.json",
        Problems(1, "payload.amount.$int: no integer lies"),
    ),
    // Nesting, repeated keys, encodings.
    ("nesting-10000-ui.json", Syntax("recursion limit exceeded")),
    (
        "nesting-10000-payload.json",
        Syntax("recursion limit exceeded"),
    ),
    (
        "nesting-10000-open.json",
        Syntax("expected a graph: an object"),
    ),
    (
        "duplicate-top-level-key.json",
        Syntax("duplicate field `version`"),
    ),
    ("duplicate-node-key.json", Syntax("duplicate field `id`")),
    ("duplicate-edge-key.json", Syntax("duplicate field `from`")),
    (
        "duplicate-config-key.json",
        Syntax("the key \"capacity\" is given twice"),
    ),
    (
        "duplicate-payload-key.json",
        Syntax("the key \"amount\" is given twice"),
    ),
    (
        "duplicate-ui-key.json",
        Syntax("the key \"zoom\" is given twice"),
    ),
    ("invalid-utf8.json", Syntax("the file is not UTF-8 text")),
    (
        "invalid-utf8-overlong.json",
        Syntax("the file is not UTF-8 text"),
    ),
    (
        "invalid-utf8-surrogate.json",
        Syntax("the file is not UTF-8 text"),
    ),
    ("utf16-bom.json", Syntax("the file is not UTF-8 text")),
    ("nul-bytes.json", Syntax("expected value")),
    ("lone-surrogate-escape.json", Syntax("hex escape")),
    ("bom-twice.json", Syntax("expected value")),
    (
        "bom-then-error.json",
        Problems(1, "graph: version: unsupported version 2"),
    ),
    // Wrong types in every field: top level, node, edge and fault fields stop the reading;
    // a config field keeps the node and names the field.
    ("wrong-type-top-format.json", Syntax("expected a string")),
    ("wrong-type-top-version.json", Syntax("expected u32")),
    ("wrong-type-top-name.json", Syntax("expected a string")),
    (
        "wrong-type-top-description.json",
        Syntax("expected a string"),
    ),
    ("wrong-type-top-seed.json", Syntax("expected u64")),
    ("wrong-type-top-nodes.json", Syntax("expected a sequence")),
    (
        "wrong-type-top-nodes-null.json",
        Syntax("expected a sequence"),
    ),
    ("wrong-type-top-edges.json", Syntax("expected a sequence")),
    ("wrong-type-top-faults.json", Syntax("expected a sequence")),
    ("wrong-type-node-id.json", Syntax("expected a string")),
    ("wrong-type-node-kind.json", Syntax("expected a string")),
    ("wrong-type-node-label.json", Syntax("expected a string")),
    ("wrong-type-node-pos.json", Syntax("expected f64")),
    (
        "wrong-type-node-pos-length.json",
        Syntax("trailing characters"),
    ),
    (
        "wrong-type-node-string.json",
        Syntax("expected a node: an object"),
    ),
    (
        "wrong-type-node-config.json",
        Problems(1, "node 'q': config: does not fit a queue"),
    ),
    ("wrong-type-edge-from.json", Syntax("expected a string")),
    ("wrong-type-edge-to.json", Syntax("expected a string")),
    ("wrong-type-edge-port.json", Syntax("expected a string")),
    (
        "wrong-type-edge-array.json",
        Syntax("expected an edge: an object"),
    ),
    ("wrong-type-fault-node.json", Syntax("expected a string")),
    (
        "wrong-type-fault-kind.json",
        Syntax("unknown variant `explode`"),
    ),
    ("wrong-type-fault-at_ms.json", Syntax("expected f64")),
    ("wrong-type-fault-until_ms.json", Syntax("expected f64")),
    ("wrong-type-fault-rate.json", Syntax("expected f64")),
    ("wrong-type-fault-factor.json", Syntax("expected f64")),
    (
        "wrong-type-fault-consumer.json",
        Syntax("expected a string"),
    ),
    (
        "wrong-type-every-config-field.json",
        Problems(44, "node 'producer-0': rate_per_sec: invalid type"),
    ),
    // An array where an object belongs, which serde would read field by field: the graph, a
    // node and a fault stop the reading; inside a config, the node is kept and the field
    // named.
    (
        "array-for-graph.json",
        Syntax("invalid type: sequence, expected a graph: an object"),
    ),
    (
        "array-for-node.json",
        Syntax("invalid type: sequence, expected a node: an object"),
    ),
    (
        "array-for-fault.json",
        Syntax("invalid type: sequence, expected a fault: an object"),
    ),
    (
        "array-for-service-time.json",
        Problems(
            1,
            "node 'worker': service_time: invalid type: sequence, expected a distribution",
        ),
    ),
    (
        "array-for-autoscale.json",
        Problems(
            1,
            "node 'worker': autoscale: invalid type: sequence, expected an autoscale object",
        ),
    ),
    (
        "array-for-trip.json",
        Problems(
            1,
            "node 'guard': trip: invalid type: sequence, expected a trip rule",
        ),
    ),
    (
        "array-for-router-rule.json",
        Problems(
            1,
            "node 'r': rules[0]: invalid type: sequence, expected a router rule: an object",
        ),
    ),
    (
        "array-for-saga-step.json",
        Problems(
            1,
            "node 'order': steps[0]: invalid type: sequence, expected a saga step: an object",
        ),
    ),
    (
        "array-for-backend.json",
        Problems(
            1,
            "node 'events': backend: invalid type: sequence, expected a backend: an object",
        ),
    ),
    // Graphs that read but cannot run.
    (
        "version-2.json",
        Problems(1, "graph: version: unsupported version 2"),
    ),
    (
        "version-0.json",
        Problems(1, "graph: version: unsupported version 0"),
    ),
    (
        "format-report.json",
        Problems(1, "graph: format: must be \"flowbench.graph\""),
    ),
    (
        "edge-to-itself.json",
        Problems(1, "edge 3 (q -> q): a node cannot be wired to itself"),
    ),
    (
        "call-to-itself.json",
        Problems(1, "a node cannot be wired to itself"),
    ),
    (
        "call-cycle.json",
        Problems(1, "node 'a': call cycle would deadlock: a -> b -> c -> a"),
    ),
    (
        "loop-without-delay.json",
        Problems(1, "loop without delay would stop the clock: q -> r -> q"),
    ),
    (
        "loop-without-delay-service.json",
        Problems(1, "loop without delay would stop the clock"),
    ),
    (
        "fault-on-missing-node.json",
        Problems(1, "fault 0 (on 'ghost'): node: no node has id 'ghost'"),
    ),
    (
        "fault-times-backwards.json",
        Problems(2, "until_ms: must be at least at_ms"),
    ),
    (
        "edge-to-missing-node.json",
        Problems(1, "to: no node has id 'ghost'"),
    ),
    (
        "duplicate-node-id.json",
        Problems(1, "node 'q': id: duplicate id"),
    ),
    (
        "empty-id.json",
        Problems(3, "node '': id: must not be empty"),
    ),
    (
        "id-with-newline.json",
        Problems(1, "id: may only use letters"),
    ),
    ("kind-with-newline.json", Problems(1, "kind: unknown kind")),
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile")
}

/// What one command did.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }
}

/// Times of every command run, printed at the end of a test.
static TIMES: Mutex<Vec<(String, Duration)>> = Mutex::new(Vec::new());

/// Runs `flowbench args...` inside the memory limit (where a shell can set it) and checks
/// what holds for every input: it ends, within the time limit, without a panic.
fn flowbench(label: &str, args: &[OsString]) -> Outcome {
    let bin = assert_cmd::cargo::cargo_bin("flowbench");
    let mut cmd = if cfg!(unix) {
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(format!(
                "ulimit -v {MEMORY_LIMIT_KIB} && exec \"$0\" \"$@\""
            ))
            .arg(bin);
        sh
    } else {
        Command::new(bin)
    };
    let started = Instant::now();
    let output = cmd
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .expect("flowbench runs");
    let took = started.elapsed();
    let outcome = Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    let head: String = outcome.stderr.chars().take(2000).collect();
    for sign in [
        "panicked",
        "internal error",
        "RUST_BACKTRACE",
        "memory allocation",
    ] {
        assert!(!outcome.stderr.contains(sign), "{label}: {sign}:\n{head}");
    }
    assert!(
        outcome.code.is_some(),
        "{label}: killed (timeout or signal):\n{head}"
    );
    assert!(took < TIME_LIMIT, "{label}: took {took:?}:\n{head}");
    TIMES.lock().unwrap().push((label.to_owned(), took));
    outcome
}

fn validate(file: &Path, label: &str) -> Outcome {
    flowbench(
        &format!("validate {label}"),
        &["validate".into(), file.into()],
    )
}

fn run(file: &Path, label: &str) -> Outcome {
    flowbench(
        &format!("run {label}"),
        &["run".into(), file.into(), "--duration".into(), "1s".into()],
    )
}

/// Whether `rest` (a line after `FILE:`) starts with a place: `LINE:COLUMN: ` or ` graph`,
/// ` node '…'`, ` edge N (…)`, ` fault N (…)`, a warning's in front of one.
fn names_a_place(rest: &str) -> bool {
    if let Some((line, after)) = rest.split_once(':')
        && let Some((column, message)) = after.split_once(':')
    {
        let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if number(line) && number(column) && message.starts_with(' ') {
            return true;
        }
    }
    let rest = rest.strip_prefix(" warning:").unwrap_or(rest);
    [" graph", " node '", " edge ", " fault "]
        .iter()
        .any(|p| rest.starts_with(p))
}

/// Checks one command's answer to a refused file.
fn assert_refused(file: &Path, label: &str, outcome: &Outcome, expect: Expect) {
    let prefix = format!("{}:", file.display());
    let head: String = outcome.stderr.chars().take(2000).collect();
    assert_eq!(outcome.code, Some(1), "{label}: exit code:\n{head}");
    assert!(
        outcome.stdout.is_empty(),
        "{label}: stdout: {}",
        outcome.stdout
    );
    let lines = outcome.lines();
    assert!(!lines.is_empty(), "{label}: no message");
    let mut errors = Vec::new();
    for line in &lines {
        let rest = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{label}: a line not naming the file: {line:.300}"));
        assert!(
            names_a_place(rest),
            "{label}: a line not naming a place: {line:.300}"
        );
        if !rest.starts_with(" warning:") {
            errors.push(rest);
        }
    }
    match expect {
        Syntax(fragment) => {
            assert_eq!(lines.len(), 1, "{label}: expected one line:\n{head}");
            assert!(
                !lines[0][prefix.len()..].starts_with(' ') && lines[0].contains(fragment),
                "{label}: expected `FILE:LINE:COLUMN: ...{fragment}...`, got {:.300}",
                lines[0]
            );
        }
        Problems(count, fragment) => {
            assert_eq!(
                errors.len(),
                count,
                "{label}: expected {count} error line(s):\n{head}"
            );
            assert!(
                errors.iter().any(|e| e.contains(fragment)),
                "{label}: no error line says `{fragment}`:\n{head}"
            );
        }
    }
}

/// Both commands refuse `file` as `expect` says.
fn check_refused(file: &Path, expect: Expect) {
    let label = file.file_name().unwrap().to_string_lossy().into_owned();
    let outcome = validate(file, &label);
    assert_refused(file, &format!("validate {label}"), &outcome, expect);
    let outcome = run(file, &label);
    assert_refused(file, &format!("run {label}"), &outcome, expect);
}

/// Prints the times of the commands run so far, slowest first.
fn print_times() {
    let mut times = TIMES.lock().unwrap();
    times.sort_by_key(|(_, took)| std::cmp::Reverse(*took));
    let mut table = String::from("command                                            ms\n");
    for (label, took) in times.iter() {
        let _ = writeln!(table, "{label:<48} {:>6.0}", took.as_secs_f64() * 1000.0);
    }
    eprintln!("{table}");
    times.clear();
}

/// The table above lists exactly the files of tests/hostile/.
#[test]
fn corpus_table_lists_every_file() {
    let mut on_disk: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("tests/hostile exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CORPUS.iter().map(|(f, _)| (*f).to_owned()).collect();
    listed.sort();
    let before = listed.len();
    listed.dedup();
    assert_eq!(before, listed.len(), "a file is listed twice");
    assert_eq!(on_disk, listed);
}

/// Every checked-in hostile file is refused by `validate` and by `run`, with one line per
/// problem naming the file and the place, quickly and without a panic.
#[test]
fn every_hostile_file_is_refused_with_its_place() {
    for (name, expect) in CORPUS {
        check_refused(&corpus_dir().join(name), *expect);
    }
    print_times();
}

/// The files that only look hostile load, validate and run.
#[test]
fn hostile_looking_valid_files_are_accepted() {
    let dir = corpus_dir().join("accepted");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/hostile/accepted exists")
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        let label = file.file_name().unwrap().to_string_lossy().into_owned();
        let checked = validate(&file, &label);
        assert_eq!(
            checked.code,
            Some(0),
            "validate {label}: {}",
            checked.stderr
        );
        assert_eq!(checked.stdout, format!("{}: ok\n", file.display()));
        let ran = run(&file, &label);
        assert_eq!(ran.code, Some(0), "run {label}: {}", ran.stderr);
    }
    print_times();
}

/// A graph of `n` nodes: a producer, then queues and services in turn, then a sink, in a
/// chain; `extra_edges` are added at the end.
fn chain(n: usize, extra_edges: &str) -> String {
    let mut nodes =
        String::from(r#"{"id": "orders", "kind": "producer", "config": {"limit": 10}}"#);
    let mut edges = String::new();
    let mut prev = "orders".to_owned();
    for i in 0..n - 2 {
        let (id, kind) = if i % 2 == 0 {
            (format!("q{i}"), "queue")
        } else {
            (format!("w{i}"), "service")
        };
        let _ = write!(nodes, r#", {{"id": "{id}", "kind": "{kind}"}}"#);
        let _ = write!(edges, r#"{{"from": "{prev}", "to": "{id}"}}, "#);
        prev = id;
    }
    nodes.push_str(r#", {"id": "done", "kind": "sink"}"#);
    let _ = write!(edges, r#"{{"from": "{prev}", "to": "done"}}{extra_edges}"#);
    format!(
        r#"{{"format": "flowbench.graph", "version": 1, "nodes": [{nodes}], "edges": [{edges}]}}"#
    )
}

/// The largest cases, written at run time: 100,000 nodes, and files of 10 MB.
#[test]
fn large_hostile_files_are_refused_quickly() {
    const MB10: usize = 10 * 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let graph = |body: &str| format!(r#"{{"format": "flowbench.graph", {body}}}"#);

    // 100,000 nodes in a chain, one edge to a node that is not there.
    let file = write(
        "nodes-100k.json",
        chain(100_000, r#", {"from": "orders", "to": "nowhere"}"#).as_bytes(),
    );
    check_refused(&file, Problems(1, "to: no node has id 'nowhere'"));

    // 100,000 nodes that are each wrong: one line each.
    let mut nodes = String::new();
    for i in 0..100_000 {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(
            nodes,
            r#"{sep}{{"id": "q{i}", "kind": "queue", "config": {{"capacity": 0}}}}"#
        );
    }
    let file = write(
        "nodes-100k-each-wrong.json",
        graph(&format!(r#""version": 1, "nodes": [{nodes}]"#)).as_bytes(),
    );
    check_refused(&file, Problems(100_000, "capacity: must be at least 1"));

    // A call cycle through 100,000 services, and a loop without delay through 100,000
    // queues: found without deep recursion, one line each.
    let n = 100_000;
    let mut nodes = String::from(r#"{"id": "web", "kind": "client", "config": {"limit": 1}}"#);
    let mut edges = String::from(r#"{"from": "web", "to": "s0"}"#);
    for i in 0..n {
        let _ = write!(nodes, r#", {{"id": "s{i}", "kind": "service"}}"#);
        let _ = write!(
            edges,
            r#", {{"from": "s{i}", "to": "s{}", "port": "call"}}"#,
            (i + 1) % n
        );
    }
    let body = format!(r#""version": 1, "nodes": [{nodes}], "edges": [{edges}]"#);
    let file = write("call-cycle-100k.json", graph(&body).as_bytes());
    check_refused(
        &file,
        Problems(1, "call cycle would deadlock: s0 -> s1 -> s2 -> "),
    );
    let body = body
        .replace(r#""kind": "service""#, r#""kind": "queue""#)
        .replace(r#", "port": "call""#, "")
        .replace(r#""kind": "client""#, r#""kind": "producer""#);
    let file = write("loop-100k-queues.json", graph(&body).as_bytes());
    check_refused(
        &file,
        Problems(1, "loop without delay would stop the clock: s0 -> s1"),
    );

    // 10 MB files.
    let name = "x".repeat(MB10);
    let file = write(
        "name-10mb.json",
        graph(&format!(r#""version": 2, "name": "{name}""#)).as_bytes(),
    );
    check_refused(&file, Problems(1, "graph: version: unsupported version 2"));

    let numbers = vec!["0"; MB10 / 2].join(",");
    let file = write(
        "ui-10mb.json",
        graph(&format!(r#""version": 0, "ui": [{numbers}]"#)).as_bytes(),
    );
    check_refused(&file, Problems(1, "graph: version: unsupported version 0"));

    let id = "n".repeat(MB10);
    let file = write(
        "id-10mb.json",
        graph(&format!(
            r#""version": 1, "nodes": [{{"id": "{id}", "kind": "nope"}}]"#
        ))
        .as_bytes(),
    );
    check_refused(&file, Problems(1, "kind: unknown kind 'nope'"));

    let file = write("nesting-10mb.json", "[".repeat(MB10).as_bytes());
    check_refused(&file, Syntax("expected a graph: an object"));

    let file = write(
        "unterminated-string-10mb.json",
        format!(r#"{{"format": "{}"#, "a".repeat(MB10)).as_bytes(),
    );
    check_refused(&file, Syntax("the file ends too early"));

    let mut text = graph(&format!(r#""version": 1, "name": "{}""#, "y".repeat(MB10))).into_bytes();
    let at = text.len() - 10;
    text[at] = 0xff;
    let file = write("invalid-utf8-at-10mb.json", &text);
    check_refused(&file, Syntax("the file is not UTF-8 text"));

    let mut text = " \n".repeat(MB10 / 2);
    text.push('x');
    let file = write("whitespace-10mb.json", text.as_bytes());
    check_refused(&file, Syntax("expected value"));

    print_times();
}
