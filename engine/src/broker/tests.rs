//! Against the real brokers of the machine: RabbitMQ on 127.0.0.1:5672 (guest/guest) and
//! NATS with JetStream on 127.0.0.1:4222. Every test uses names of its own and removes
//! what it created; a missing broker makes the tests fail by timeout, never hang.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::model::{JetStreamBackend, NatsBackend, RabbitMqBackend};

const RABBIT_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const NATS_URL: &str = "nats://127.0.0.1:4222";
const WAIT: Duration = Duration::from_secs(15);

fn unique(what: &str) -> String {
    format!(
        "flowbench-test-{what}-{}-{}",
        std::process::id(),
        now_unix_ns()
    )
}

fn rabbit(queue: &str, durable: bool) -> Backend {
    Backend::RabbitMq(RabbitMqBackend {
        url: RABBIT_URL.to_owned(),
        queue: queue.to_owned(),
        durable,
        prefetch: 10,
    })
}

fn envelope(id: u64, key: Option<u32>, payload: Option<serde_json::Value>) -> Envelope {
    Envelope {
        id,
        created_unix_ns: 1_700_000_000_000_000_000 + id,
        key,
        payload: payload.map(Arc::new),
    }
}

fn publisher() -> Role {
    Role {
        publish: true,
        consumers: Vec::new(),
    }
}

fn consumer(id: &str) -> Role {
    Role {
        publish: false,
        consumers: vec![id.to_owned()],
    }
}

/// Collects news until `done` says so; fails with everything seen after `WAIT`.
fn collect(
    link: &Link,
    what: &str,
    mut done: impl FnMut(&[FromBroker]) -> bool,
) -> Vec<FromBroker> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    while !done(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        match link.rx.recv_timeout(left) {
            Ok(news) => seen.push(news),
            Err(_) => {
                panic!("timed out waiting for {what} (is the broker running?); news: {seen:#?}")
            }
        }
    }
    seen
}

fn wait_up(link: &Link, what: &str) {
    collect(link, what, |seen| {
        seen.iter()
            .any(|n| matches!(n, FromBroker::State(LinkState::Up)))
    });
}

fn deliveries(seen: &[FromBroker]) -> Vec<(usize, u64, bool, Option<u64>, Envelope)> {
    seen.iter()
        .filter_map(|n| match n {
            FromBroker::Delivery {
                consumer,
                tag,
                redelivered,
                stream_seq,
                envelope,
            } => Some((*consumer, *tag, *redelivered, *stream_seq, envelope.clone())),
            _ => None,
        })
        .collect()
}

fn confirms(seen: &[FromBroker]) -> Vec<(u64, bool)> {
    seen.iter()
        .filter_map(|n| match n {
            FromBroker::Confirmed { seq, ok, .. } => Some((*seq, *ok)),
            _ => None,
        })
        .collect()
}

fn admin<T>(f: impl std::future::Future<Output = T>) -> T {
    hub::install_crypto();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("test runtime")
        .block_on(f)
}

fn rabbit_delete(queue: &str) {
    admin(async {
        let _ = tokio::time::timeout(WAIT, async {
            let conn =
                lapin::Connection::connect(RABBIT_URL, lapin::ConnectionProperties::default())
                    .await?;
            let channel = conn.create_channel().await?;
            channel
                .queue_delete(queue.into(), lapin::options::QueueDeleteOptions::default())
                .await?;
            conn.close(200, "bye".into()).await
        })
        .await;
    });
}

fn stream_delete(stream: &str) {
    admin(async {
        let _ = tokio::time::timeout(WAIT, async {
            let client = async_nats::connect(NATS_URL).await.ok()?;
            let _ = async_nats::jetstream::new(client.clone())
                .delete_stream(stream)
                .await;
            client.drain().await.ok()
        })
        .await;
    });
}

#[test]
fn broker_rabbit_round_trip_keeps_headers() {
    let queue = unique("rt");
    let hub = Hub::new();
    let backend = rabbit(&queue, false);
    let producer = hub.open("producer", &backend, publisher());
    let worker = hub.open("worker", &backend, consumer("w"));
    assert_eq!(
        producer.rx.recv_timeout(WAIT).ok(),
        Some(FromBroker::State(LinkState::Connecting))
    );
    wait_up(&producer, "the publishing link to come up");
    let sent = vec![
        envelope(1, Some(7), Some(json!({"order": 1, "items": ["a", "b"]}))),
        envelope(2, None, None),
        envelope(3, Some(u32::MAX), Some(json!("text"))),
    ];
    for (i, e) in sent.iter().enumerate() {
        producer
            .tx
            .send(ToBroker::Publish {
                seq: i as u64 + 1,
                envelope: e.clone(),
            })
            .unwrap();
    }
    let seen = collect(&producer, "3 confirms", |s| confirms(s).len() == 3);
    let mut got = confirms(&seen);
    got.sort();
    assert_eq!(got, vec![(1, true), (2, true), (3, true)]);

    let seen = collect(&worker, "3 deliveries", |s| deliveries(s).len() == 3);
    let got = deliveries(&seen);
    let envelopes: Vec<Envelope> = got.iter().map(|d| d.4.clone()).collect();
    assert_eq!(envelopes, sent);
    assert!(got.iter().all(|d| d.0 == 0 && !d.2 && d.3.is_none()));
    for d in &got {
        worker
            .tx
            .send(ToBroker::Ack {
                consumer: 0,
                tag: d.1,
            })
            .unwrap();
    }
    // Acknowledged: the queue drains to zero.
    collect(&producer, "depth 0", |s| {
        s.last() == Some(&FromBroker::Depth(0))
    });
    hub.shutdown(Duration::from_secs(2));
    rabbit_delete(&queue);
}

#[test]
fn broker_rabbit_unacked_deliveries_come_back() {
    let queue = unique("redeliver");
    let backend = rabbit(&queue, true);
    let hub = Hub::new();
    let producer = hub.open("producer", &backend, publisher());
    let worker = hub.open("worker", &backend, consumer("w"));
    for seq in 1..=2 {
        producer
            .tx
            .send(ToBroker::Publish {
                seq,
                envelope: envelope(seq, None, Some(json!(seq))),
            })
            .unwrap();
    }
    collect(&producer, "2 confirms", |s| confirms(s).len() == 2);
    let seen = collect(&worker, "2 deliveries", |s| deliveries(s).len() == 2);
    assert!(deliveries(&seen).iter().all(|d| !d.2));
    // Not acknowledged: shutting the hub down gives them back.
    hub.shutdown(Duration::from_secs(2));

    let hub = Hub::new();
    let worker = hub.open("worker", &backend, consumer("w"));
    let seen = collect(&worker, "2 redeliveries", |s| deliveries(s).len() == 2);
    let got = deliveries(&seen);
    assert!(got.iter().all(|d| d.2), "redelivered flag: {got:?}");
    let mut ids: Vec<u64> = got.iter().map(|d| d.4.id).collect();
    ids.sort();
    assert_eq!(ids, vec![1, 2]);
    for d in &got {
        worker
            .tx
            .send(ToBroker::Ack {
                consumer: 0,
                tag: d.1,
            })
            .unwrap();
    }
    hub.shutdown(Duration::from_secs(2));
    rabbit_delete(&queue);
}

#[test]
fn broker_nats_every_subscriber_gets_every_message() {
    let subject = unique("topic").replace('-', ".");
    let backend = Backend::Nats(NatsBackend {
        url: NATS_URL.to_owned(),
        subject,
    });
    let hub = Hub::new();
    let a = hub.open("a", &backend, consumer("a1"));
    let b = hub.open("b", &backend, consumer("b1"));
    wait_up(&a, "subscriber a");
    wait_up(&b, "subscriber b");
    let producer = hub.open("producer", &backend, publisher());
    let sent: Vec<Envelope> = (1..=3)
        .map(|i| envelope(i, Some(i as u32), Some(json!({"n": i}))))
        .collect();
    for (i, e) in sent.iter().enumerate() {
        producer
            .tx
            .send(ToBroker::Publish {
                seq: i as u64 + 1,
                envelope: e.clone(),
            })
            .unwrap();
    }
    let seen = collect(&producer, "3 confirms", |s| confirms(s).len() == 3);
    assert!(confirms(&seen).iter().all(|c| c.1));
    for (name, link) in [("a", &a), ("b", &b)] {
        let seen = collect(link, &format!("3 deliveries on {name}"), |s| {
            deliveries(s).len() == 3
        });
        let got = deliveries(&seen);
        let envelopes: Vec<Envelope> = got.iter().map(|d| d.4.clone()).collect();
        assert_eq!(envelopes, sent, "subscriber {name}");
        let tags: Vec<u64> = got.iter().map(|d| d.1).collect();
        assert_eq!(tags, vec![1, 2, 3]);
    }
    hub.shutdown(Duration::from_secs(2));
}

#[test]
fn broker_jetstream_consume_ack_and_replay() {
    let stream = unique("log");
    let backend = Backend::JetStream(JetStreamBackend {
        url: NATS_URL.to_owned(),
        stream: stream.clone(),
        subject: format!("{stream}.>"),
    });
    let hub = Hub::new();
    let log = hub.open(
        "log",
        &backend,
        Role {
            publish: true,
            consumers: vec!["reader".to_owned()],
        },
    );
    wait_up(&log, "the log link");
    let sent: Vec<Envelope> = (1..=3)
        .map(|i| envelope(i, None, Some(json!({"event": i}))))
        .collect();
    for (i, e) in sent.iter().enumerate() {
        log.tx
            .send(ToBroker::Publish {
                seq: i as u64 + 1,
                envelope: e.clone(),
            })
            .unwrap();
    }
    let seen = collect(&log, "3 confirms and 3 deliveries", |s| {
        confirms(s).len() == 3 && deliveries(s).len() == 3
    });
    assert!(confirms(&seen).iter().all(|c| c.1));
    let got = deliveries(&seen);
    let seqs: Vec<Option<u64>> = got.iter().map(|d| d.3).collect();
    assert_eq!(seqs, vec![Some(1), Some(2), Some(3)]);
    let envelopes: Vec<Envelope> = got.iter().map(|d| d.4.clone()).collect();
    assert_eq!(envelopes, sent);
    for d in &got {
        log.tx
            .send(ToBroker::Ack {
                consumer: 0,
                tag: d.1,
            })
            .unwrap();
    }
    log.tx
        .send(ToBroker::Replay {
            consumer: 0,
            from_seq: 1,
        })
        .unwrap();
    let seen = collect(&log, "3 replayed deliveries", |s| deliveries(s).len() == 3);
    let again = deliveries(&seen);
    let seqs: Vec<Option<u64>> = again.iter().map(|d| d.3).collect();
    assert_eq!(seqs, vec![Some(1), Some(2), Some(3)]);
    let envelopes: Vec<Envelope> = again.iter().map(|d| d.4.clone()).collect();
    assert_eq!(envelopes, sent);
    assert!(again.iter().all(|d| d.1 > 3), "tags are never reused");
    hub.shutdown(Duration::from_secs(2));
    stream_delete(&stream);
}

#[test]
fn broker_check_finds_or_names_what_is_missing() {
    let queue = unique("check");
    let hub = Hub::new();
    let link = hub.open("q", &rabbit(&queue, false), publisher());
    wait_up(&link, "the queue to be declared");
    hub.shutdown(Duration::from_secs(1));
    let ok = check(&rabbit(&queue, false), WAIT);
    rabbit_delete(&queue);
    assert_eq!(ok, Ok(format!("queue '{queue}': 0 ready, 0 consumers")));

    let missing = unique("missing");
    let err = check(&rabbit(&missing, false), WAIT).unwrap_err();
    assert_eq!(
        err,
        format!("queue '{missing}' does not exist on amqp://guest:***@127.0.0.1:5672/%2f")
    );

    let bad_port = Backend::RabbitMq(RabbitMqBackend {
        url: "amqp://guest:secret@127.0.0.1:1/%2f".to_owned(),
        queue: queue.clone(),
        durable: false,
        prefetch: 1,
    });
    let started = Instant::now();
    let err = check(&bad_port, Duration::from_secs(2)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(err.contains("amqp://guest:***@127.0.0.1:1"), "{err}");
    assert!(!err.contains("secret"), "{err}");

    let nats = Backend::Nats(NatsBackend {
        url: NATS_URL.to_owned(),
        subject: "anything".to_owned(),
    });
    assert!(check(&nats, WAIT).is_ok());
    let started = Instant::now();
    let err = check(
        &Backend::Nats(NatsBackend {
            url: "nats://127.0.0.1:1".to_owned(),
            subject: "x".to_owned(),
        }),
        Duration::from_secs(2),
    )
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(err.contains("nats://127.0.0.1:1"), "{err}");

    let stream = unique("checklog");
    let js = |name: &str| {
        Backend::JetStream(JetStreamBackend {
            url: NATS_URL.to_owned(),
            stream: name.to_owned(),
            subject: format!("{stream}.>"),
        })
    };
    let err = check(&js(&stream), WAIT).unwrap_err();
    assert_eq!(
        err,
        format!("stream '{stream}' does not exist on nats://127.0.0.1:4222")
    );
    let hub = Hub::new();
    let link = hub.open("log", &js(&stream), publisher());
    wait_up(&link, "the stream to be created");
    hub.shutdown(Duration::from_secs(1));
    let ok = check(&js(&stream), WAIT);
    stream_delete(&stream);
    assert_eq!(
        ok,
        Ok(format!(
            "stream '{stream}': 0 messages, subjects {stream}.>"
        ))
    );
}

#[test]
fn broker_bad_urls_are_reported_and_retried() {
    let hub = Hub::new();
    let link = hub.open(
        "q",
        &Backend::RabbitMq(RabbitMqBackend {
            url: "definitely not a url".to_owned(),
            queue: "q".to_owned(),
            durable: false,
            prefetch: 1,
        }),
        publisher(),
    );
    let seen = collect(&link, "Down then Retrying", |s| {
        s.iter()
            .any(|n| matches!(n, FromBroker::State(LinkState::Retrying { .. })))
    });
    assert!(
        seen.iter().any(|n| matches!(
            n,
            FromBroker::State(LinkState::Down { error }) if error.contains("definitely not a url")
        )),
        "{seen:#?}"
    );
    link.tx
        .send(ToBroker::Publish {
            seq: 1,
            envelope: envelope(1, None, None),
        })
        .unwrap();
    // A publish that never reached a broker is reported at shutdown, not lost silently.
    hub.shutdown(Duration::from_millis(100));
    let seen = collect(&link, "the publish given up", |s| !confirms(s).is_empty());
    assert_eq!(confirms(&seen), vec![(1, false)]);
    // Dropping a hub without shutdown neither hangs nor panics.
    let hub = Hub::new();
    let _link = hub.open(
        "t",
        &Backend::Nats(NatsBackend {
            url: NATS_URL.to_owned(),
            subject: unique("unused").replace('-', "."),
        }),
        publisher(),
    );
    drop(hub);
}

/// Stops and starts the RabbitMQ application (`rabbitmqctl`), so it is ignored by default:
/// run it alone, by hand, on a machine where nothing else uses the broker.
#[test]
#[ignore]
fn broker_rabbit_survives_a_broker_restart() {
    fn rabbitmqctl(arg: &str) {
        let status = std::process::Command::new("rabbitmqctl")
            .arg(arg)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("rabbitmqctl");
        assert!(status.success(), "rabbitmqctl {arg}");
    }
    let queue = unique("restart");
    let backend = rabbit(&queue, true);
    let hub = Hub::new();
    let producer = hub.open("producer", &backend, publisher());
    let worker = hub.open("worker", &backend, consumer("w"));
    wait_up(&producer, "the producer");
    wait_up(&worker, "the worker");
    rabbitmqctl("stop_app");
    let seen = collect(&producer, "Down", |s| {
        s.iter()
            .any(|n| matches!(n, FromBroker::State(LinkState::Down { .. })))
    });
    eprintln!("producer: {seen:?}");
    for seq in 1..=2 {
        producer
            .tx
            .send(ToBroker::Publish {
                seq,
                envelope: envelope(seq, None, Some(json!(seq))),
            })
            .unwrap();
    }
    rabbitmqctl("start_app");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while confirms(&seen).len() < 2 && Instant::now() < deadline {
        if let Ok(n) = producer.rx.recv_timeout(Duration::from_millis(100)) {
            seen.push(n);
        }
    }
    eprintln!("producer: {seen:?}");
    assert!(seen.contains(&FromBroker::State(LinkState::Up)));
    let mut got = confirms(&seen);
    got.sort();
    assert_eq!(got, vec![(1, true), (2, true)]);
    let mut seen = Vec::new();
    while deliveries(&seen).len() < 2 && Instant::now() < deadline {
        if let Ok(n) = worker.rx.recv_timeout(Duration::from_millis(100)) {
            seen.push(n);
        }
    }
    eprintln!("worker: {seen:?}");
    assert_eq!(deliveries(&seen).len(), 2);
    hub.shutdown(Duration::from_secs(2));
    rabbit_delete(&queue);
}

/// A NATS server of the test's own (JetStream on, its own store), on a free port.
struct PrivateNats {
    child: std::process::Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl PrivateNats {
    fn start(port: u16, dir: &std::path::Path) -> PrivateNats {
        let child = std::process::Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server must be installed for this test");
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "private nats-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        PrivateNats {
            child,
            port,
            dir: dir.to_owned(),
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn broker_jetstream_survives_a_server_restart() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = std::env::temp_dir().join(unique("nats-store"));
    let mut server = PrivateNats::start(port, &dir);
    let stream = unique("restart");
    let backend = Backend::JetStream(JetStreamBackend {
        url: format!("nats://127.0.0.1:{}", server.port),
        stream: stream.clone(),
        subject: format!("{stream}.>"),
    });
    let hub = Hub::new();
    let log = hub.open(
        "log",
        &backend,
        Role {
            publish: true,
            consumers: vec!["reader".to_owned()],
        },
    );
    wait_up(&log, "the log link");
    log.tx
        .send(ToBroker::Publish {
            seq: 1,
            envelope: envelope(1, None, Some(json!(1))),
        })
        .unwrap();
    let seen = collect(&log, "the first event", |s| {
        confirms(s).len() == 1 && deliveries(s).len() == 1
    });
    let first = deliveries(&seen);
    log.tx
        .send(ToBroker::Ack {
            consumer: 0,
            tag: first[0].1,
        })
        .unwrap();

    server.stop();
    collect(&log, "Down", |s| {
        s.iter()
            .any(|n| matches!(n, FromBroker::State(LinkState::Down { .. })))
    });
    log.tx
        .send(ToBroker::Publish {
            seq: 2,
            envelope: envelope(2, None, Some(json!(2))),
        })
        .unwrap();
    let _server = PrivateNats::start(port, &dir);
    // The ack of the first event may have died with the server: then it comes again (the
    // restarted server may also have lost its delivery count, so it need not be marked
    // redelivered).
    let seen = collect(&log, "the second event after the restart", |s| {
        confirms(s).len() == 1 && deliveries(s).iter().any(|d| d.3 == Some(2))
    });
    assert!(
        seen.contains(&FromBroker::State(LinkState::Up)),
        "{seen:#?}"
    );
    assert_eq!(confirms(&seen), vec![(2, true)]);
    for d in deliveries(&seen) {
        match d.3 {
            Some(1) => assert_eq!(d.4.id, 1, "event 1 again, whole"),
            Some(2) => assert_eq!(d.4.id, 2),
            other => panic!("unexpected stream sequence {other:?}"),
        }
    }
    hub.shutdown(Duration::from_secs(1));
}
