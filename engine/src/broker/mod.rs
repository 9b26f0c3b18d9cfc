//! Channels that live on real brokers: RabbitMQ queues, NATS subjects and JetStream streams.
//!
//! The simulation is single-threaded and synchronous; brokers are asynchronous. A [`Hub`]
//! owns one tokio runtime on its own thread and, per broker-backed node, a [`Link`]: two
//! crossbeam channels, [`ToBroker`] commands in and [`FromBroker`] news out. The node never
//! blocks on a link: it sends commands and drains news whenever the live loop polls it.
//!
//! Messages travel with their identity in headers, so end-to-end latency stays true across
//! processes: see [`Envelope`] and the `flowbench-*` header names.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender};
use serde_json::Value;

use crate::model::Backend;

#[cfg(feature = "brokers")]
mod hub;
#[cfg(feature = "brokers")]
mod nats;
#[cfg(feature = "brokers")]
mod rabbitmq;
#[cfg(all(test, feature = "brokers"))]
mod tests;

/// Header carrying the message's id in the process that created it.
pub const HEADER_ID: &str = "flowbench-id";
/// Header carrying the message's creation time, nanoseconds since the Unix epoch.
pub const HEADER_CREATED: &str = "flowbench-created-unix-ns";
/// Header carrying the message key, when it has one.
pub const HEADER_KEY: &str = "flowbench-key";

/// A message as it crosses a broker. The body is the payload as JSON (empty without one).
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub id: u64,
    /// Creation time, nanoseconds since the Unix epoch (wall clock of the creating process).
    pub created_unix_ns: u64,
    pub key: Option<u32>,
    pub payload: Option<Arc<Value>>,
}

/// What a node's link does on the broker.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Role {
    /// The node has local senders: it publishes what they send.
    pub publish: bool,
    /// Local consumers (node ids). A RabbitMQ queue consumes once for all of them (they
    /// compete); a NATS topic subscribes once and the node copies to each; a JetStream log
    /// has one durable consumer per local consumer, each at its own sequence.
    pub consumers: Vec<String>,
}

/// Commands from the node to its link.
#[derive(Debug, Clone, PartialEq)]
pub enum ToBroker {
    /// Publish; `seq` (increasing per link) comes back in [`FromBroker::Confirmed`].
    Publish { seq: u64, envelope: Envelope },
    /// The delivery `tag` of `consumer` (index into [`Role::consumers`]) was taken by the
    /// local downstream: acknowledge it on the broker.
    Ack { consumer: usize, tag: u64 },
    /// Give a delivery back to the broker for redelivery (e.g. the run ends before it was
    /// taken).
    Nack { consumer: usize, tag: u64 },
    /// JetStream: restart `consumer` from stream sequence `from_seq` (1 = the start).
    Replay { consumer: usize, from_seq: u64 },
}

/// News from the link to the node.
#[derive(Debug, Clone, PartialEq)]
pub enum FromBroker {
    /// A message for local consumer `consumer`. `tag` identifies it for Ack/Nack.
    Delivery {
        consumer: usize,
        tag: u64,
        /// The broker delivered it before (to a process that did not acknowledge it).
        redelivered: bool,
        /// JetStream: the event's sequence in the stream.
        stream_seq: Option<u64>,
        envelope: Envelope,
    },
    /// The broker took the publish `seq` (`ok`), or refused it / it could not be sent
    /// (`error` says why; the bridge has given up on it).
    Confirmed {
        seq: u64,
        ok: bool,
        error: Option<String>,
    },
    /// The connection changed state.
    State(LinkState),
    /// RabbitMQ: messages ready in the broker's queue, polled about once a second.
    /// JetStream: messages in the stream.
    Depth(u64),
}

/// A link's connection, as the node shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkState {
    Connecting,
    Up,
    /// Lost; `error` is the broker's or the network's message.
    Down {
        error: String,
    },
    /// Next attempt in `in_ms` (exponential backoff), attempt number `attempt`.
    Retrying {
        attempt: u32,
        in_ms: u64,
        error: String,
    },
}

/// A node's end of its broker connection.
pub struct Link {
    pub tx: Sender<ToBroker>,
    pub rx: Receiver<FromBroker>,
}

/// Owns the runtime that talks to brokers for one process.
///
/// Delivery guarantees: publishing is at-least-once. A publish that the broker has not
/// confirmed when a connection drops is published again once the link is back (JetStream
/// publishes carry a `Nats-Msg-Id`, so the stream drops those duplicates within its
/// duplicate window); one that the bridge gives up on is reported as
/// [`FromBroker::Confirmed`] with `ok: false`. Core NATS has no acknowledgements: its
/// publishes are confirmed once the client flushed them to the server.
///
/// Ordering: the commands of one link are carried out in the order they were sent. Across
/// the links of one hub, a `Publish` sent before an `Ack`/`Nack` is handed to its broker
/// client before that acknowledgement, as long as the publishing link is up (while it is
/// not, the publish waits for the connection and the acknowledgement does not). Only
/// [`FromBroker::Confirmed`] says that the broker holds a message: acknowledge an input
/// after the confirm of what it produced to be safe against a crash in between.
///
/// News arrive at any time after [`Hub::open`]: deliveries only while the link is `Up`,
/// confirms also after `Down` (a broker that acknowledged just before the loss) and at
/// shutdown.
pub struct Hub {
    #[cfg(feature = "brokers")]
    inner: Option<hub::Inner>,
}

impl Hub {
    /// Starts the runtime thread (once per process that runs broker-backed nodes).
    pub fn new() -> Hub {
        Hub {
            #[cfg(feature = "brokers")]
            inner: Some(hub::Inner::start()),
        }
    }

    /// Opens the link of node `node` on `backend` with `role`: connects in the
    /// background (news arrive as [`FromBroker::State`]), declares what is missing, and
    /// starts consuming for `role.consumers`.
    ///
    /// The first news is always `State(Connecting)`. Connection trouble is reported as
    /// `State(Down)` followed by `State(Retrying)` (exponential backoff, 250 ms doubling up
    /// to 10 s) until the link is `State(Up)` again. Delivery tags are unique per link for
    /// its whole life: an `Ack` for a delivery made before a reconnection is ignored (the
    /// broker redelivers that message), never applied to another message.
    pub fn open(&self, node: &str, backend: &Backend, role: Role) -> Link {
        let (tx, cmd_rx) = crossbeam_channel::unbounded();
        let (news_tx, rx) = crossbeam_channel::unbounded();
        let _ = news_tx.send(FromBroker::State(LinkState::Connecting));
        #[cfg(feature = "brokers")]
        if let Some(inner) = &self.inner {
            inner.open(node, backend, role, cmd_rx, news_tx);
            return Link { tx, rx };
        }
        let _ = (node, backend, role, cmd_rx);
        let _ = news_tx.send(FromBroker::State(LinkState::Down {
            error: NO_BROKERS.to_owned(),
        }));
        Link { tx, rx }
    }

    /// Ends every link: waits up to `timeout` for outstanding publish confirms (reporting
    /// them through the links), gives unacknowledged deliveries back (they are redelivered
    /// to other consumers), and closes the connections.
    ///
    /// Commands the nodes sent before this call are still carried out (publishes are sent,
    /// acknowledgements applied). Publishes still unconfirmed at the deadline are reported
    /// as `Confirmed { ok: false }`.
    pub fn shutdown(mut self, timeout: Duration) {
        #[cfg(feature = "brokers")]
        if let Some(inner) = self.inner.take() {
            inner.finish(timeout, true);
        }
        let _ = (&mut self, timeout);
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Drop for Hub {
    /// Without [`Hub::shutdown`]: links stop at once (deliveries not acknowledged go back to
    /// the broker) and the runtime thread ends by itself; nothing waits for it.
    fn drop(&mut self) {
        #[cfg(feature = "brokers")]
        if let Some(inner) = self.inner.take() {
            inner.finish(Duration::ZERO, false);
        }
    }
}

/// `flowbench validate --connect`: whether the broker answers within `timeout` and the
/// names exist (RabbitMQ queue, JetStream stream; a NATS subject always exists). `Ok` is a
/// one-line description of what was found (e.g. "queue 'orders': 12 ready, 2 consumers").
///
/// Errors name the (password-masked) URL and what failed.
pub fn check(backend: &Backend, timeout: Duration) -> Result<String, String> {
    #[cfg(feature = "brokers")]
    {
        hub::check(backend, timeout)
    }
    #[cfg(not(feature = "brokers"))]
    {
        let _ = timeout;
        Err(unsupported(backend))
    }
}

/// Deletes what a channel created on its broker: the RabbitMQ queue (with the messages in
/// it) or the JetStream stream (with its durable consumers); nothing for a NATS subject. For
/// tests and benchmarks that must leave the broker as they found it.
pub fn remove(backend: &Backend, timeout: Duration) -> Result<(), String> {
    #[cfg(feature = "brokers")]
    {
        hub::remove(backend, timeout)
    }
    #[cfg(not(feature = "brokers"))]
    {
        let _ = timeout;
        Err(unsupported(backend))
    }
}

const NO_BROKERS: &str = "built without broker support";

/// What `check` and `remove` say in a build without broker support.
#[cfg(not(feature = "brokers"))]
fn unsupported(backend: &Backend) -> String {
    format!(
        "{} at {}: {NO_BROKERS}",
        backend.kind_name(),
        mask_url(backend.url())
    )
}

/// The URL as it may be shown: the password of `user:password@` replaced by `***`.
pub(crate) fn mask_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_owned(),
    }
}

fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The message body of `envelope`: its payload as JSON, empty without one.
#[cfg_attr(not(feature = "brokers"), allow(dead_code))]
fn encode_body(envelope: &Envelope) -> Vec<u8> {
    match &envelope.payload {
        Some(value) => serde_json::to_vec(value.as_ref()).unwrap_or_default(),
        None => Vec::new(),
    }
}

/// An envelope from what a broker delivered. Without the `flowbench-id` header the message
/// was published by another tool: id 0, created now, and a body that is not JSON becomes a
/// JSON string of its text.
#[cfg_attr(not(feature = "brokers"), allow(dead_code))]
fn decode_envelope(
    id: Option<u64>,
    created_unix_ns: Option<u64>,
    key: Option<u32>,
    body: &[u8],
) -> Envelope {
    let payload = if body.is_empty() {
        None
    } else {
        Some(Arc::new(
            serde_json::from_slice::<Value>(body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())),
        ))
    };
    Envelope {
        id: id.unwrap_or(0),
        created_unix_ns: created_unix_ns.unwrap_or_else(now_unix_ns),
        key,
        payload,
    }
}

/// Delay before reconnection attempt `attempt` (1-based): 250 ms doubling up to 10 s.
#[cfg_attr(not(feature = "brokers"), allow(dead_code))]
fn backoff(attempt: u32) -> Duration {
    let ms = 250u64.saturating_mul(1u64 << attempt.saturating_sub(1).min(10));
    Duration::from_millis(ms.min(10_000))
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn broker_masks_passwords() {
        assert_eq!(
            mask_url("amqp://guest:secret@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(mask_url("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
        assert_eq!(mask_url("nats://token@host:4222"), "nats://token@host:4222");
        assert_eq!(mask_url("not a url"), "not a url");
    }

    #[test]
    fn broker_decodes_foreign_messages() {
        let e = decode_envelope(None, None, None, b"hello there");
        assert_eq!(e.id, 0);
        assert!(e.created_unix_ns > 0);
        assert_eq!(e.payload.as_deref(), Some(&Value::from("hello there")));
        let e = decode_envelope(Some(7), Some(9), Some(3), br#"{"a":1}"#);
        assert_eq!((e.id, e.created_unix_ns, e.key), (7, 9, Some(3)));
        assert_eq!(e.payload.as_deref(), Some(&serde_json::json!({"a": 1})));
        assert_eq!(decode_envelope(None, None, None, b"").payload, None);
    }

    #[test]
    fn broker_backoff_doubles_to_ten_seconds() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
        assert_eq!(backoff(7), Duration::from_secs(10));
        assert_eq!(backoff(400), Duration::from_secs(10));
    }
}
