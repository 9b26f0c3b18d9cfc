//! The run report of graph-format.md §2: the numbers a run leaves behind, as serde types so
//! the command line writes them and tests and the UI read them back.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub const REPORT_FORMAT: &str = "flowbench.report";
pub const REPORT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub format: String,
    pub version: u32,
    /// The graph's name.
    pub graph: String,
    pub seed: u64,
    pub sim_time_ms: f64,
    /// Wall-clock time of the run; the only field that differs between identical runs.
    pub wall_time_ms: f64,
    /// Scheduler events processed.
    pub events: u64,
    pub totals: Totals,
    pub conservation: Conservation,
    pub nodes: IndexMap<String, NodeReport>,
}

impl Report {
    /// The report with its wall-clock field zeroed, for comparing two runs.
    pub fn without_wall_time(&self) -> Report {
        Report {
            wall_time_ms: 0.0,
            ..self.clone()
        }
    }
}

/// Where every message ended up. `created + copies` is what entered the graph.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Messages from producers and requests from clients.
    pub created: u64,
    /// Messages that reached a sink (or ended at a node with nothing connected after it), and
    /// requests answered ok to their client.
    pub delivered: u64,
    pub dropped: u64,
    pub failed: u64,
    pub rejected: u64,
    pub filtered: u64,
    pub lost: u64,
    /// Messages held anywhere in the graph when the run ended.
    pub in_flight: u64,
    /// Extra copies made by fan-out (one message to k edges makes k - 1 copies) and messages
    /// emitted while answering a request.
    #[serde(default)]
    pub copies: u64,
}

impl Totals {
    /// Messages that entered the graph.
    pub fn entered(&self) -> u64 {
        self.created + self.copies
    }

    /// Messages accounted for at the end.
    pub fn accounted(&self) -> u64 {
        self.delivered
            + self.dropped
            + self.failed
            + self.rejected
            + self.filtered
            + self.lost
            + self.in_flight
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conservation {
    pub ok: bool,
    /// When not ok: what entered and what was accounted for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Mean, percentiles and max of a duration, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub mean: f64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    /// Samples behind the summary.
    #[serde(default)]
    pub count: u64,
}

/// A gauge over the run: `mean` is time-weighted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct GaugeSummary {
    pub mean: f64,
    pub max: f64,
    pub last: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub at_ms: f64,
    pub from: BreakerState,
    pub to: BreakerState,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    #[default]
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriberReport {
    pub delivered: u64,
    pub dropped: u64,
    pub depth: GaugeSummary,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ConsumerOffset {
    pub offset: u64,
    pub lag: u64,
}

/// One saga step: how its action and its compensation calls ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub name: String,
    /// Actions that succeeded.
    pub ok: u64,
    /// Actions that failed (or were rejected): the sagas compensated from this step.
    pub failed: u64,
    /// Compensations that succeeded.
    pub compensated: u64,
    pub compensation_failed: u64,
}

/// One node's numbers. `kind`, `in` and `out` always; the rest where the kind has them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    pub kind: String,
    #[serde(rename = "in")]
    pub in_: u64,
    pub out: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<u64>,
    /// Messages this node held when the run ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<u64>,

    // producer / client
    /// Time the node spent unable to send because the next node was full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_ms: Option<f64>,

    // queue / topic
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<GaugeSummary>,
    /// A queue with `when_full: throttle`: time it spent throttling its senders, and
    /// whether it throttles them at the end of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttling: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<LatencySummary>,

    // service
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_ms: Option<LatencySummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    /// Autoscaled services: the most workers the service had at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers_max: Option<u32>,

    // sink
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<LatencySummary>,

    // client
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<u64>,

    // breaker
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<BreakerState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transitions: Option<Vec<Transition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed: Option<u64>,

    // topic
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribers: Option<IndexMap<String, SubscriberReport>>,

    // event_log
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumers: Option<IndexMap<String, ConsumerOffset>>,

    // saga
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compensated: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compensation_failed: Option<u64>,
    /// Per step, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepReport>>,

    // gateway
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<IndexMap<String, u64>>,

    // router
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filtered: Option<u64>,

    // event_log
    /// Events a consumer behind the oldest kept event never read (retention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<u64>,

    // projector
    /// Queries answered ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries: Option<u64>,
    /// Events appended to the feeding logs that the projector has not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<u64>,
    /// Age of the oldest event not applied yet; 0 when caught up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staleness_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_model: Option<ReadModelReport>,

    // queue / topic / event_log on a broker
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<BrokerReport>,
}

/// A broker-backed channel: its connection and what crossed it, from this process's side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BrokerReport {
    /// `rabbitmq`, `nats` or `jetstream`.
    pub kind: String,
    /// The broker's URL, password masked.
    pub url: String,
    /// Queue, subject or stream name.
    pub name: String,
    /// `connecting`, `up`, `down` or `retrying`.
    pub state: String,
    /// Why it is down or retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Messages sent to the broker, and of those confirmed by it or refused.
    pub published: u64,
    pub confirmed: u64,
    pub publish_failed: u64,
    /// Messages the broker delivered here, acknowledged after the local consumer finished
    /// them; `redelivered`: delivered before to a process that did not acknowledge them.
    pub consumed: u64,
    pub acked: u64,
    pub redelivered: u64,
    /// RabbitMQ: messages ready in the broker's queue; JetStream: messages in the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_depth: Option<u64>,
    /// Times the connection came back after being lost.
    pub reconnects: u64,
}

/// A projector's read model in brief, to compare two projections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadModelReport {
    /// Distinct message keys (unkeyed events share one entity).
    pub entities: u64,
    /// A hash over the sorted (key, last event id) pairs.
    pub checksum: u64,
}
