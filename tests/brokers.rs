//! One graph run as several `flowbench` processes over real brokers: RabbitMQ for a work
//! queue (competing consumers, a consumer killed mid-run), NATS for pub/sub fan-out, and
//! JetStream for an event log replayed from its first sequence.
//!
//! They need RabbitMQ on 127.0.0.1:5672 (guest/guest) and NATS with JetStream on
//! 127.0.0.1:4222 (`.ci/run` starts them when they are not listening). Every test uses its
//! own queue, subject and stream names and removes what it created.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flowbench_engine::Report;
use flowbench_engine::broker::{self, FromBroker, Hub, LinkState, Role, ToBroker};
use flowbench_engine::model::{Backend, JetStreamBackend, RabbitMqBackend};
use serde_json::{Value, json};

const RABBIT: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const NATS: &str = "nats://127.0.0.1:4222";

/// Fails at once, with what to do, when a broker is not listening.
fn require(port: u16, broker: &str, start: &str) {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    if std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_err() {
        panic!("{broker} is not listening on {address}: start it (`{start}`) or run .ci/run");
    }
}

fn require_rabbitmq() {
    require(5672, "RabbitMQ", "rabbitmq-server -detached");
}

fn require_nats() {
    require(4222, "NATS", "nats-server -a 127.0.0.1 -p 4222 -js");
}

/// A name no other run uses.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

fn write_graph(dir: &Path, graph: &Value) -> PathBuf {
    let path = dir.join("graph.json");
    std::fs::write(&path, serde_json::to_string_pretty(graph).unwrap()).unwrap();
    path
}

/// A `flowbench run` process, with its stderr lines collected as they come.
struct Process {
    name: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    report: PathBuf,
}

impl Process {
    fn start(name: &str, graph: &Path, args: &[&str]) -> Process {
        let report = graph.with_file_name(format!("{name}.report.json"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_flowbench"))
            .arg("run")
            .arg(graph)
            .args(["--speed", "1", "--report"])
            .arg(&report)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flowbench starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Process {
            name: name.to_owned(),
            child,
            lines,
            seen: Vec::new(),
            report,
        }
    }

    /// Waits until a stderr line contains `text`.
    fn expect(&mut self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        if self.seen.iter().any(|l| l.contains(text)) {
            return;
        }
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "{}: no line with '{text}' within {within:?}; stderr so far:\n{}",
            self.name,
            self.seen.join("\n")
        );
    }

    /// Waits for the process to end by itself and reads its report.
    fn finish(mut self, within: Duration) -> Report {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{}: still running after {within:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        let stderr = self.seen.join("\n");
        assert!(
            status.success(),
            "{}: exit {status}; stderr:\n{stderr}",
            self.name
        );
        assert!(!stderr.contains("panicked"), "{}: {stderr}", self.name);
        let text = std::fs::read_to_string(&self.report).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// A report's number at `node`, e.g. the sink's `in` or the broker's `consumed`.
fn node(report: &Report, id: &str) -> flowbench_engine::report::NodeReport {
    report
        .nodes
        .get(id)
        .unwrap_or_else(|| panic!("no node '{id}' in the report"))
        .clone()
}

fn broker_of(report: &Report, id: &str) -> flowbench_engine::report::BrokerReport {
    node(report, id)
        .broker
        .unwrap_or_else(|| panic!("node '{id}' has no broker section"))
}

/// Reads every message waiting in `backend` through the engine's own bridge (acknowledging
/// each), until nothing new came for `quiet`; returns the payloads.
fn drain(backend: &Backend, quiet: Duration, within: Duration) -> Vec<Value> {
    let hub = Hub::new();
    let link = hub.open(
        "test-drain",
        backend,
        Role {
            publish: false,
            consumers: vec!["test".to_owned()],
        },
    );
    let started = Instant::now();
    let mut last = Instant::now();
    let mut payloads = Vec::new();
    while last.elapsed() < quiet && started.elapsed() < within {
        match link.rx.recv_timeout(Duration::from_millis(100)) {
            Ok(FromBroker::Delivery {
                consumer,
                tag,
                envelope,
                ..
            }) => {
                payloads.push(envelope.payload.map_or(Value::Null, |p| (*p).clone()));
                link.tx.send(ToBroker::Ack { consumer, tag }).unwrap();
                last = Instant::now();
            }
            Ok(FromBroker::State(LinkState::Up)) => last = Instant::now(),
            Ok(_) | Err(_) => {}
        }
    }
    hub.shutdown(Duration::from_secs(5));
    payloads
}

/// The `"n"` field of each payload, counted.
fn counts(payloads: &[Value]) -> BTreeMap<u64, u32> {
    let mut seen = BTreeMap::new();
    for p in payloads {
        let n = p["n"].as_u64().unwrap_or_else(|| panic!("payload {p}"));
        *seen.entry(n).or_default() += 1;
    }
    seen
}

fn rabbit(queue: &str, prefetch: u16) -> Value {
    json!({"kind": "rabbitmq", "url": RABBIT, "queue": queue, "durable": true, "prefetch": prefetch})
}

fn rabbit_backend(queue: &str) -> Backend {
    Backend::RabbitMq(RabbitMqBackend {
        url: RABBIT.to_owned(),
        queue: queue.to_owned(),
        durable: true,
        prefetch: 100,
    })
}

/// A work queue graph: `front` produces `n` messages into a RabbitMQ queue; `back`
/// processes compete for them (a worker, then `out`: a sink, or a second RabbitMQ queue).
fn work_queue(queue: &str, n: u64, rate: f64, service_ms: f64, prefetch: u16, out: Value) -> Value {
    json!({
        "format": "flowbench.graph", "version": 1, "name": "work queue over RabbitMQ",
        "nodes": [
            {"id": "p", "kind": "producer", "process": "front",
             "config": {"rate_per_sec": rate, "limit": n, "arrival": "constant",
                        "payload": {"n": "$seq"}}},
            {"id": "q", "kind": "queue", "config": {"backend": rabbit(queue, prefetch)}},
            {"id": "w", "kind": "service", "process": "back",
             "config": {"concurrency": 4, "service_time": {"dist": "const", "ms": service_ms}}},
            out
        ],
        "edges": [{"from": "p", "to": "q"}, {"from": "q", "to": "w"}, {"from": "w", "to": "out"}]
    })
}

/// (a) One producer process, two consumer processes: every message is consumed exactly
/// once, and the three reports agree.
#[test]
fn rabbitmq_competing_consumer_processes_take_each_message_once() {
    require_rabbitmq();
    let dir = tempfile::tempdir().unwrap();
    let queue = unique("flowbench-test-orders");
    let n = 300;
    let graph = work_queue(
        &queue,
        n,
        150.0,
        5.0,
        20,
        json!({"id": "out", "kind": "sink", "process": "back"}),
    );
    let file = write_graph(dir.path(), &graph);
    let mut consumers: Vec<Process> = ["c1", "c2"]
        .iter()
        .map(|name| Process::start(name, &file, &["--process", "back", "--duration", "12s"]))
        .collect();
    for c in &mut consumers {
        c.expect("node 'q': broker up", Duration::from_secs(15));
    }
    let producer = Process::start("producer", &file, &["--process", "front"]);
    let p = producer.finish(Duration::from_secs(30));
    let reports: Vec<Report> = consumers
        .into_iter()
        .map(|c| c.finish(Duration::from_secs(30)))
        .collect();
    let remaining = drain(
        &rabbit_backend(&queue),
        Duration::from_millis(500),
        Duration::from_secs(10),
    );
    let _ = broker::remove(&rabbit_backend(&queue), Duration::from_secs(5));

    let published = broker_of(&p, "q");
    assert_eq!(node(&p, "p").out, n, "the producer made every message");
    assert_eq!(published.published, n);
    assert_eq!(published.confirmed, n, "the broker confirmed every publish");
    assert!(p.conservation.ok);
    let consumed: Vec<u64> = reports.iter().map(|r| broker_of(r, "q").consumed).collect();
    let sunk: Vec<u64> = reports.iter().map(|r| node(r, "out").in_).collect();
    println!(
        "consumed per process {consumed:?}, at the sinks {sunk:?}, left on the broker {}",
        remaining.len()
    );
    assert_eq!(
        consumed.iter().sum::<u64>(),
        n,
        "consumed once in all: {consumed:?}"
    );
    assert_eq!(
        sunk.iter().sum::<u64>(),
        n,
        "delivered once in all: {sunk:?}"
    );
    assert!(
        consumed.iter().all(|&c| c > 0),
        "both compete: {consumed:?}"
    );
    for r in &reports {
        let b = broker_of(r, "q");
        assert_eq!(b.redelivered, 0);
        assert_eq!(b.acked, b.consumed, "every delivery acknowledged");
        assert!(r.conservation.ok, "{:?}", r.conservation);
        assert_eq!(r.totals.in_flight, 0);
    }
    assert!(
        remaining.is_empty(),
        "{} left on the broker",
        remaining.len()
    );
}

/// (b) The same with one consumer process killed (SIGKILL) mid-run: its unacknowledged
/// messages are redelivered to the other, which counts them, and every message reaches the
/// results queue (a redelivered one may arrive twice: at-least-once).
#[test]
fn rabbitmq_killed_consumer_process_loses_nothing() {
    require_rabbitmq();
    let dir = tempfile::tempdir().unwrap();
    let queue = unique("flowbench-test-jobs");
    let results = unique("flowbench-test-results");
    let n = 200;
    let graph = work_queue(
        &queue,
        n,
        100.0,
        100.0,
        30,
        json!({"id": "out", "kind": "queue", "config": {"backend": rabbit(&results, 100)}}),
    );
    let file = write_graph(dir.path(), &graph);
    let mut victim = Process::start("victim", &file, &["--process", "back", "--duration", "60s"]);
    victim.expect("node 'q': broker up", Duration::from_secs(15));
    victim.expect("node 'out': broker up", Duration::from_secs(15));
    let producer = Process::start("producer", &file, &["--process", "front"]);
    // Let the victim take and start work, then kill it while it holds unacknowledged ones.
    std::thread::sleep(Duration::from_millis(1200));
    victim.kill();
    let mut survivor = Process::start(
        "survivor",
        &file,
        &["--process", "back", "--duration", "12s"],
    );
    survivor.expect("node 'q': broker up", Duration::from_secs(15));
    let p = producer.finish(Duration::from_secs(30));
    let s = survivor.finish(Duration::from_secs(30));
    let results_backend = rabbit_backend(&results);
    let payloads = drain(
        &results_backend,
        Duration::from_secs(1),
        Duration::from_secs(20),
    );
    let left = drain(
        &rabbit_backend(&queue),
        Duration::from_millis(500),
        Duration::from_secs(10),
    );
    let _ = broker::remove(&rabbit_backend(&queue), Duration::from_secs(5));
    let _ = broker::remove(&results_backend, Duration::from_secs(5));

    assert_eq!(broker_of(&p, "q").confirmed, n);
    let seen = counts(&payloads);
    let missing: Vec<u64> = (1..=n).filter(|i| !seen.contains_key(i)).collect();
    let twice: u64 = seen.values().map(|&c| u64::from(c) - 1).sum();
    let b = broker_of(&s, "q");
    println!(
        "results: {} messages, {} distinct, {twice} twice; survivor consumed {}, redelivered {}",
        payloads.len(),
        seen.len(),
        b.consumed,
        b.redelivered
    );
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert!(
        b.redelivered > 0,
        "the kill left nothing unacknowledged; the test proves nothing"
    );
    assert!(twice <= b.redelivered, "duplicates only from redeliveries");
    assert!(left.is_empty(), "{} left in the work queue", left.len());
    assert!(s.conservation.ok);
}

/// (c) NATS fan-out: two subscriber processes each get every message published while they
/// were subscribed.
#[test]
fn nats_topic_fans_out_to_every_subscriber_process() {
    require_nats();
    let dir = tempfile::tempdir().unwrap();
    let subject = unique("flowbench.test").replace('-', "_");
    let n = 150;
    let graph = json!({
        "format": "flowbench.graph", "version": 1, "name": "fan-out over NATS",
        "nodes": [
            {"id": "p", "kind": "producer", "process": "feed",
             "config": {"rate_per_sec": 100, "limit": n, "arrival": "constant", "payload": {"n": "$seq"}}},
            {"id": "t", "kind": "topic",
             "config": {"backend": {"kind": "nats", "url": NATS, "subject": subject}}},
            {"id": "screen", "kind": "sink", "process": "screens"}
        ],
        "edges": [{"from": "p", "to": "t"}, {"from": "t", "to": "screen"}]
    });
    let file = write_graph(dir.path(), &graph);
    let mut subscribers: Vec<Process> = ["s1", "s2"]
        .iter()
        .map(|name| Process::start(name, &file, &["--process", "screens", "--duration", "10s"]))
        .collect();
    for s in &mut subscribers {
        s.expect("node 't': broker up", Duration::from_secs(15));
    }
    // A subscription is in place once the connection is up and flushed; give it a moment.
    std::thread::sleep(Duration::from_millis(300));
    let p = Process::start("feed", &file, &["--process", "feed"]).finish(Duration::from_secs(30));
    assert_eq!(broker_of(&p, "t").confirmed, n);
    for s in subscribers {
        let name = s.name.clone();
        let r = s.finish(Duration::from_secs(30));
        assert_eq!(node(&r, "screen").in_, n, "{name} got every message");
        assert_eq!(broker_of(&r, "t").consumed, n);
        assert!(r.conservation.ok);
    }
}

/// (d) JetStream: a reader process builds a projection from the log; a second reader run,
/// whose durable consumer is already at the end, replays from sequence 1 and rebuilds the
/// same projection.
#[test]
fn jetstream_replay_from_the_start_rebuilds_the_projection() {
    require_nats();
    let dir = tempfile::tempdir().unwrap();
    let stream = unique("FLOWBENCH_TEST").replace('-', "_");
    let subject = format!("{}.events.>", stream.to_lowercase());
    let n = 120;
    let backend = json!({"kind": "jetstream", "url": NATS, "stream": stream, "subject": subject});
    let graph = |replay_at_ms: Option<u64>| {
        let faults = match replay_at_ms {
            Some(at) => {
                json!([{"node": "log", "kind": "replay", "at_ms": at, "consumer": "model"}])
            }
            None => json!([]),
        };
        json!({
            "format": "flowbench.graph", "version": 1, "name": "projection over JetStream",
            "nodes": [
                {"id": "p", "kind": "producer", "process": "writer",
                 "config": {"rate_per_sec": 200, "limit": n, "keys": 12, "arrival": "constant",
                            "payload": {"n": "$seq", "account": "$key"}}},
                {"id": "log", "kind": "event_log", "config": {"backend": backend}},
                {"id": "model", "kind": "projector", "process": "reader"}
            ],
            "edges": [{"from": "p", "to": "log"}, {"from": "log", "to": "model"}],
            "faults": faults
        })
    };
    let first_file = write_graph(dir.path(), &graph(None));
    let w = Process::start("writer", &first_file, &["--process", "writer"])
        .finish(Duration::from_secs(30));
    assert_eq!(broker_of(&w, "log").confirmed, n);

    let first = Process::start(
        "reader-1",
        &first_file,
        &["--process", "reader", "--duration", "6s"],
    )
    .finish(Duration::from_secs(30));
    let replay_dir = dir.path().join("replay");
    std::fs::create_dir(&replay_dir).unwrap();
    let replay_file = write_graph(&replay_dir, &graph(Some(2000)));
    let second = Process::start(
        "reader-2",
        &replay_file,
        &["--process", "reader", "--duration", "8s"],
    )
    .finish(Duration::from_secs(30));
    let stream_backend = Backend::JetStream(JetStreamBackend {
        url: NATS.to_owned(),
        stream: stream.clone(),
        subject: subject.clone(),
    });
    let _ = broker::remove(&stream_backend, Duration::from_secs(5));

    let m1 = node(&first, "model");
    let m2 = node(&second, "model");
    assert_eq!(
        broker_of(&first, "log").consumed,
        n,
        "the first pass read the whole log"
    );
    assert_eq!(
        broker_of(&second, "log").consumed,
        n,
        "the replay read it again from sequence 1, and only through the replay"
    );
    assert_eq!(m1.in_, n);
    let (r1, r2) = (m1.read_model.unwrap(), m2.read_model.unwrap());
    assert_eq!(r1.entities, 12);
    assert_eq!(r1, r2, "the replay rebuilt the same projection");
}
