//! No lost work when the designer dies: a process killed (SIGKILL on Unix) in the middle of
//! saving leaves the graph file, and its backup, as the old version or the new one, never a
//! mixture; a process killed in the middle of editing leaves an autosave that the next start
//! offers back whole.
//!
//! The killed processes are this test binary itself, started again with
//! `FLOWBENCH_CRASH_CHILD` naming what to do: the ignored `child_*` tests below run only then,
//! and loop until they are killed.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flowbench::file_io::{self, DiskStamp};
use flowbench::ui::files::{self, AUTOSAVE_INTERVAL, Autosave, DATA_DIR_ENV, FileState, Question};
use flowbench::ui::{Document, FlowbenchApp};
use flowbench_engine::{Graph, NodeKind};
use serde_json::Value;

/// Selects the child's work: `save-loop` or `editing`.
const CHILD_ENV: &str = "FLOWBENCH_CRASH_CHILD";
/// The graph file the child saves to, or edits.
const PATH_ENV: &str = "FLOWBENCH_CRASH_PATH";

/// The saved graph: 2,000 nodes.
const SAVED_LINES: usize = 400;
/// The edited graph: 500 nodes (an autosave serialises the whole document on every write).
const EDITED_LINES: usize = 100;
/// Kills of the save loop.
const SAVE_KILLS: usize = 60;
/// Kills of the editing session.
const EDIT_KILLS: usize = 50;
/// Whether the product removes the temporary files of killed writes at once: where it can
/// tell a killed writer from a running one (Linux); elsewhere only day-old ones go.
const CLEANS_TEMPS: bool = cfg!(target_os = "linux");
/// How long a child may take to get to where it is killed.
const CHILD_TIMEOUT: Duration = Duration::from_secs(30);

// ---- graphs ------------------------------------------------------------------------------

/// `lines` lines of producer → queue → service → service → sink (400 lines: 2,000 nodes, 600
/// kB of JSON). Version `b` differs from `a` in every node (position and config) and in the
/// name, so a file mixing the two cannot pass for either.
fn chains(lines: usize, b: bool) -> Graph {
    let (name, shift, capacity, mean) = if b {
        ("version B", 55.0, 2000, 7)
    } else {
        ("version A", 0.0, 1000, 4)
    };
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for c in 0..lines {
        let y = c as f64 * 110.0 + shift;
        let ids = [
            format!("p{c}"),
            format!("q{c}"),
            format!("a{c}"),
            format!("b{c}"),
            format!("done{c}"),
        ];
        let configs = [
            format!(
                r#""kind": "producer", "config": {{"rate_per_sec": {}}}"#,
                100 + capacity / 10
            ),
            format!(r#""kind": "queue", "config": {{"capacity": {capacity}}}"#),
            format!(
                r#""kind": "service", "config": {{"concurrency": 2, "service_time": {{"dist": "exp", "mean_ms": {mean}}}}}"#
            ),
            format!(
                r#""kind": "service", "config": {{"concurrency": 4, "service_time": {{"dist": "exp", "mean_ms": {}}}}}"#,
                mean + 2
            ),
            r#""kind": "sink""#.to_owned(),
        ];
        for (k, (id, config)) in ids.iter().zip(configs).enumerate() {
            nodes.push(format!(
                r#"{{"id": "{id}", {config}, "pos": [{}, {y}]}}"#,
                k as f64 * 200.0 + shift
            ));
        }
        for w in ids.windows(2) {
            edges.push(format!(r#"{{"from": "{}", "to": "{}"}}"#, w[0], w[1]));
        }
    }
    let text = format!(
        r#"{{"format": "flowbench.graph", "version": 1, "name": "{name}", "nodes": [{}], "edges": [{}]}}"#,
        nodes.join(","),
        edges.join(",")
    );
    Graph::from_json_str(&text).expect("generated graph parses")
}

/// Where the editing session puts the sink it adds to a graph of `count` nodes.
fn sink_pos(count: usize) -> [f64; 2] {
    [
        (count % 50) as f64 * 40.0,
        50_000.0 + (count / 50) as f64 * 40.0,
    ]
}

/// The editing session's one kind of edit, exactly as the designer makes it.
fn add_sink(doc: &mut Document) {
    doc.add_node(NodeKind::Sink, sink_pos(doc.graph.nodes.len()));
}

// ---- child processes ---------------------------------------------------------------------

/// A child process, killed and reaped when dropped (also when an assertion fails), so no
/// endless loop outlives the test.
struct Running {
    child: Child,
    /// The lines it prints, read on a helper thread.
    lines: mpsc::Receiver<String>,
}

impl Running {
    /// Starts this test binary again, running only the ignored test `test` with `mode`.
    fn start(test: &str, mode: &str, path: &Path, data_dir: Option<&Path>) -> Running {
        let mut command = Command::new(std::env::current_exe().expect("the test binary"));
        command
            .args([
                test,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, mode)
            .env(PATH_ENV, path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(dir) = data_dir {
            command.env(DATA_DIR_ENV, dir);
        }
        let mut child = command.spawn().expect("the test binary starts again");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// What follows `marker` in the first line the child prints with it (the test harness
    /// prints `test NAME ... ` before it on the same line).
    fn expect_line(&mut self, marker: &str) -> String {
        let deadline = Instant::now() + CHILD_TIMEOUT;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(wait) {
                Ok(line) => {
                    if let Some((_, rest)) = line.split_once(marker) {
                        return rest.trim().to_owned();
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("the child printed no '{marker}' within {CHILD_TIMEOUT:?}")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("the child ended without printing '{marker}'")
                }
            }
        }
    }

    fn id(&self) -> u32 {
        self.child.id()
    }

    /// Kills the child (SIGKILL on Unix) and checks that it was the kill that ended it.
    fn kill(mut self) {
        self.child.kill().expect("the child can be killed");
        let status = self.child.wait().expect("the child is reaped");
        assert!(!status.success(), "the child was still running: {status}");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt as _;
            assert_eq!(status.signal(), Some(9), "ended by SIGKILL: {status}");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small deterministic random source (splitmix64); the seed is printed, so a failing run
/// can be told apart, though the kill moments themselves depend on the machine.
struct Rng(u64);

impl Rng {
    fn from_time() -> Rng {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        println!("seed {seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A duration in `[0, max)`.
    fn below(&mut self, max: Duration) -> Duration {
        let micros = u64::try_from(max.as_micros()).unwrap_or(u64::MAX).max(1);
        Duration::from_micros(self.next() % micros)
    }
}

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("readable folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Temporary files of unfinished writes (`.NAME.PID-N.tmp`).
fn temp_files(dir: &Path) -> Vec<String> {
    entries(dir)
        .into_iter()
        .filter(|n| n.starts_with('.') && n.ends_with(".tmp"))
        .collect()
}

/// Polls `condition` until it holds (or [`CHILD_TIMEOUT`] passes: then the kill comes late
/// and the checks after it hold all the same).
fn wait_until(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + CHILD_TIMEOUT;
    while !condition() && Instant::now() < deadline {
        std::hint::spin_loop();
    }
}

// ---- 1. saves ----------------------------------------------------------------------------

/// A process saving a 2,000-node graph over and over, alternately as version A and B, through
/// the designer's save (`file_io::save_graph`, with the changed-on-disk check), is killed at
/// random moments 60 times: after every kill the file, and its `.bak` (always there), is
/// exactly A or B, and the temporary files a killed save leaves are removed by the next save,
/// so they never pile up.
#[test]
fn killed_saves_leave_the_old_or_the_new_file() {
    let (a, b) = (chains(SAVED_LINES, false), chains(SAVED_LINES, true));
    let (a_text, b_text) = (a.to_json_pretty(), b.to_json_pretty());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("design.json");
    let bak = file_io::backup_path(&path);
    // One save, to scale the kill moments to how long a save takes here.
    let started = Instant::now();
    file_io::save_graph(&path, &a, None).unwrap();
    let save_time = started.elapsed();
    file_io::save_graph(&path, &b, None).unwrap();

    let mut rng = Rng::from_time();
    let (mut on_disk_a, mut on_disk_b, mut backup_same, mut mid_write) = (0, 0, 0, 0);
    for kill in 0..SAVE_KILLS {
        let mut child = Running::start("child_save_loop", "save-loop", &path, None);
        child.expect_line("@saving");
        let pid = child.id();
        if kill % 4 == 3 {
            // As soon as it is writing: its temporary file exists.
            let writing = format!(".{pid}-");
            wait_until(|| temp_files(dir.path()).iter().any(|t| t.contains(&writing)));
        } else {
            // From within the first save to several saves in.
            std::thread::sleep(rng.below(save_time * [1, 3, 10][kill % 4]));
        }
        child.kill();

        let text = std::fs::read_to_string(&path).unwrap();
        let graph = Graph::from_json_str(&text)
            .unwrap_or_else(|e| panic!("kill {kill}: the file does not parse: {e}"));
        if text == a_text {
            assert_eq!(graph, a);
            on_disk_a += 1;
        } else {
            assert!(text == b_text, "kill {kill}: the file is neither A nor B");
            assert_eq!(graph, b);
            on_disk_b += 1;
        }
        // The backup is never missing: a new one replaces the old one whole.
        let backup =
            std::fs::read_to_string(&bak).unwrap_or_else(|e| panic!("kill {kill}: no backup: {e}"));
        assert!(
            backup == a_text || backup == b_text,
            "kill {kill}: the backup is neither A nor B"
        );
        if backup == text {
            // Killed after the backup was made and before the new version replaced the file.
            backup_same += 1;
        }
        // Only what one killed process was writing (its save and its backup): each save
        // first removes what earlier ones left.
        let temps = temp_files(dir.path());
        let writers: BTreeSet<&str> = temps
            .iter()
            .filter_map(|t| t.rsplit_once('.')?.0.rsplit_once('.')?.1.split_once('-'))
            .map(|(pid, _)| pid)
            .collect();
        assert!(
            !CLEANS_TEMPS || (temps.len() <= 2 && writers.len() <= 1),
            "kill {kill}: temporary files pile up: {temps:?}"
        );
        if writers.contains(pid.to_string().as_str()) {
            mid_write += 1;
        }
    }
    println!(
        "{SAVE_KILLS} kills of the save loop (one save: {save_time:?}): file was A {on_disk_a}×, \
         B {on_disk_b}×, never torn; backup always whole, {backup_same}× already the file's \
         version; killed mid-write (its temporary file left) {mid_write}×"
    );
    assert!(
        mid_write > 0,
        "no kill landed inside a write; the test proves nothing"
    );
    // The next save, by a live process, clears what killed ones left.
    file_io::save_graph(&path, &a, None).unwrap();
    if CLEANS_TEMPS {
        assert_eq!(
            entries(dir.path()),
            ["design.json", "design.json.bak"],
            "only the file and its backup remain"
        );
    }
}

/// The save loop of [`killed_saves_leave_the_old_or_the_new_file`]; runs only in a child.
#[test]
#[ignore = "run in a child process by killed_saves_leave_the_old_or_the_new_file"]
fn child_save_loop() {
    if std::env::var(CHILD_ENV).as_deref() != Ok("save-loop") {
        return;
    }
    let path = PathBuf::from(std::env::var_os(PATH_ENV).expect("the file to save"));
    let versions = [chains(SAVED_LINES, false), chains(SAVED_LINES, true)];
    // As the designer does: remember the file as last seen, refuse if someone else changed it.
    let mut stamp = DiskStamp::of(&path);
    let on_disk = Graph::from_json_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut next = usize::from(on_disk == versions[0]);
    println!("@saving");
    loop {
        stamp = Some(
            file_io::save_graph(&path, &versions[next], stamp.as_ref())
                .unwrap_or_else(|e| panic!("save failed: {e}")),
        );
        next = 1 - next;
    }
}

// ---- 2. autosave and recovery --------------------------------------------------------------

/// An editing session on a 500-node graph, autosaving through the designer's autosave
/// (`Autosave::tick`, writing on its helper thread) after every edit, is killed 50 times:
/// while it recovers the previous session's work right after a restart, while an autosave
/// is being written (its temporary file exists), and at random moments. After every kill
/// each autosave is a complete record whose graph is exactly the document after some number
/// of edits, never fewer than the session had when it started; the next session, started
/// with FLOWBENCH_DATA_DIR, offers exactly that work back; and a new session removes the
/// temporary files killed autosaves left.
#[test]
fn killed_editing_session_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = dir.path().join("design.json");
    let start = chains(EDITED_LINES, false);
    file_io::save_graph(&path, &start, None).unwrap();
    let mut probe = Autosave::new(dir.path().join("probe"));
    let mut doc = Document::new(start.clone(), Some(path.clone()));
    add_sink(&mut doc);
    let started = Instant::now();
    probe.write_now(&doc).unwrap();
    let write_time = started.elapsed();

    // The document after each number of edits, extended as sessions get further.
    let mut expected = start;
    let mut rng = Rng::from_time();
    // Work no kill may lose: what a session was offered, and what it had once it started.
    let mut floor: Option<usize> = None;
    let mut previous: Option<usize> = None;
    let (mut early_kills, mut watched_kills, mut mid_write, mut most) = (0, 0, 0, 0);
    for kill in 0..EDIT_KILLS {
        let mut child = Running::start("child_editing_session", "editing", &path, Some(&data));
        let offered = child.expect_line("@offered");
        assert_eq!(
            offered,
            previous.map_or("none".to_owned(), |n| n.to_string()),
            "kill {kill}: the restarted session offers what the last one left"
        );
        // From here on, what it was offered must never be lost.
        floor = floor.max(previous);
        if kill % 3 == 0 && kill > 0 {
            // While it recovers and writes its first autosave.
            std::thread::sleep(rng.below(write_time * 4));
            early_kills += 1;
        } else {
            let ready: usize = child.expect_line("@ready").parse().unwrap();
            floor = Some(floor.unwrap_or(0).max(ready));
            if kill % 3 == 1 {
                // As soon as an autosave is being written.
                wait_until(|| !temp_files(&data).is_empty());
                watched_kills += 1;
            } else {
                std::thread::sleep(rng.below(write_time * [3, 12][kill % 2]));
            }
        }
        child.kill();

        let temps = temp_files(&data);
        mid_write += temps.len();
        // Every autosave there is a whole record.
        for name in entries(&data).iter().filter(|n| n.starts_with("autosave-")) {
            let text = std::fs::read_to_string(data.join(name)).unwrap();
            let record: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("kill {kill}: {name} is not whole: {e}"));
            assert_eq!(
                record["format"], "flowbench.autosave",
                "kill {kill}: {name}"
            );
            Graph::from_json_str(&record["graph"].to_string())
                .unwrap_or_else(|e| panic!("kill {kill}: {name} holds no graph: {e}"));
        }

        // What a fresh session finds.
        let mut files = FileState::default();
        files.enable_autosave(data.clone());
        let recovered = match files.question.take() {
            Some(Question::Recover(recovery)) => {
                assert_eq!(recovery.path.as_deref(), Some(path.as_path()));
                let n = recovery.graph.nodes.len();
                assert!(
                    floor.is_none_or(|f| n >= f),
                    "kill {kill}: work was lost: {n} nodes, the session had {floor:?}"
                );
                while expected.nodes.len() < n {
                    let mut step = Document::new(expected, None);
                    add_sink(&mut step);
                    expected = step.graph;
                }
                assert!(
                    recovery.graph == expected,
                    "kill {kill}: the recovered graph of {n} nodes is not the edited one"
                );
                Some(n)
            }
            None => {
                assert!(floor.is_none(), "kill {kill}: no autosave after edits");
                None
            }
            other => panic!("kill {kill}: unexpected question {other:?}"),
        };
        assert!(
            !CLEANS_TEMPS || temp_files(&data).is_empty(),
            "a new session removes what killed writes left"
        );
        most = most.max(recovered.unwrap_or(0));
        previous = recovered;
    }
    println!(
        "{EDIT_KILLS} kills of the editing session (one autosave: {write_time:?}): every \
         autosave whole and recovered exactly; {early_kills} kills during recovery, \
         {watched_kills} as an autosave was being written; killed mid-write (temporary file \
         left) {mid_write}×; the document grew from {} to {most} nodes",
        EDITED_LINES * 5
    );
    assert!(most > EDITED_LINES * 5, "the sessions edited");
    assert!(mid_write > 0, "no kill landed inside an autosave write");
}

/// One editing session of [`killed_editing_session_is_recovered`]; runs only in a child.
/// Starts as the designer does, recovers what the last session left, then edits and
/// autosaves until killed.
#[test]
#[ignore = "run in a child process by killed_editing_session_is_recovered"]
fn child_editing_session() {
    if std::env::var(CHILD_ENV).as_deref() != Ok("editing") {
        return;
    }
    let path = PathBuf::from(std::env::var_os(PATH_ENV).expect("the file to edit"));
    let mut app = FlowbenchApp::with_document(files::open_document(&path).unwrap());
    app.files.check_recovery(&mut Vec::new());
    let ctx = egui::Context::default();
    match app.files.question.clone() {
        Some(Question::Recover(recovery)) => {
            println!("@offered {}", recovery.graph.nodes.len());
            files::answer_question(&mut app, &ctx, Question::Recover(recovery), "Recover");
        }
        None => {
            println!("@offered none");
            add_sink(&mut app.doc);
        }
        other => panic!("unexpected question {other:?}"),
    }
    // This session's autosave, the file `check_recovery` set up.
    let mut autosave = Autosave::new(files::data_dir().expect("FLOWBENCH_DATA_DIR"));
    assert_eq!(
        Some(autosave.file()),
        app.files.autosave().map(Autosave::file)
    );
    autosave.write_now(&app.doc).unwrap();
    println!("@ready {}", app.doc.graph.nodes.len());
    // The autosave interval passes between edits: every tick writes, unless the last write
    // is still going.
    let mut now = Instant::now();
    loop {
        add_sink(&mut app.doc);
        now += AUTOSAVE_INTERVAL;
        autosave.tick(&app.doc, now);
        std::thread::sleep(Duration::from_millis(3));
    }
}
