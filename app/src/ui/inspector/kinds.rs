//! The config form of each node kind: every field of graph-format.md with its widget, its
//! explanation and its unit.

use flowbench_engine::model::{
    Arrival, Autoscale, BreakerConfig, Fallback, GatewayConfig, GatewayMode, Trip, WhenFull,
};
use flowbench_engine::{Graph, Node, NodeConfig};

use super::dist::dist_rows;
use super::fields::{Num, Rows, grid};
use super::payload::payload_ui;
use super::rules::rules_ui;
use super::saga::steps_ui;

/// What the form asks for besides a new config.
#[derive(Debug, Default)]
pub struct Asked {
    /// The node's new config, and the field that changed (what undo merges by).
    pub config: Option<(String, NodeConfig)>,
    /// An edge from this node to that one (a saga step's missing edge).
    pub connect: Option<String>,
}

const ARRIVALS: [(Arrival, &str, &str); 2] = [
    (
        Arrival::Poisson,
        "poisson",
        "Exponential gaps: a Poisson process, like independent users",
    ),
    (Arrival::Constant, "constant", "Exactly 1 / rate apart"),
];

const WHEN_FULL: [(WhenFull, &str, &str); 4] = [
    (
        WhenFull::Block,
        "block",
        "The sender waits until there is room; its blocked time is counted (back-pressure)",
    ),
    (
        WhenFull::DropNewest,
        "drop_newest",
        "The arriving message is dropped (counted dropped)",
    ),
    (
        WhenFull::DropOldest,
        "drop_oldest",
        "The oldest waiting message is dropped to make room (counted dropped)",
    ),
    (
        WhenFull::Throttle,
        "throttle",
        "Senders are slowed, not stopped: once full, the queue takes throttle_rate_per_sec \
         messages per second until it is down to half its capacity (its time throttling is \
         counted)",
    ),
];

/// A topic's subscriber buffers block or drop; only queues throttle.
const TOPIC_WHEN_FULL: [(WhenFull, &str, &str); 3] = [WHEN_FULL[0], WHEN_FULL[1], WHEN_FULL[2]];

/// The rate a queue gets when throttle is chosen for it.
const DEFAULT_THROTTLE_RATE: f64 = 100.0;

const FALLBACKS: [(Fallback, &str, &str); 3] = [
    (
        Fallback::FailFast,
        "fail_fast",
        "Rejected calls fail at once",
    ),
    (
        Fallback::Cached,
        "cached",
        "Rejected calls are answered with the last good reply",
    ),
    (
        Fallback::Port,
        "port",
        "Rejected calls go out the fallback port (wire it to a node)",
    ),
];

const MODES: [(GatewayMode, &str, &str); 2] = [
    (GatewayMode::Route, "route", "Each call goes to one route"),
    (
        GatewayMode::Aggregate,
        "aggregate",
        "Each call goes to every route in parallel and is answered once all have answered",
    ),
];

const WHEN_FULL_HELP: &str = "What a full buffer does with one more message. Default block.";

// Why a field of a broker-backed channel is greyed out: the broker decides it, and the value
// stays in the file unchanged (used again if the channel moves back into the engine).
const BROKER_QUEUE_WHEN_FULL: &str = "RabbitMQ queue: the broker decides. Senders wait while \
                                      the confirm window (capacity) is full, so nothing is \
                                      dropped here; when_full is not used.";
const BROKER_QUEUE_DURABLE: &str = "RabbitMQ queue: durability is set under Broker \
                                    (backend.durable), since the messages wait on the broker; \
                                    this field is not used.";
const BROKER_TOPIC_PARTITIONS: &str = "NATS topic: the broker decides. A NATS subject has no \
                                       partitions; partitions is not used.";
const BROKER_TOPIC_WHEN_FULL: &str = "NATS topic: the broker decides. NATS cannot be slowed \
                                      down, so a full subscriber buffer always drops the \
                                      arriving message (counted dropped); when_full is not used.";
const BROKER_LOG_RETENTION: &str = "JetStream log: the broker decides. The stream keeps events \
                                    by its own limits on the server; retention is not used.";

/// The form of `node`'s config. Edits a copy; the copy comes back in [`Asked::config`]
/// when a field changed.
pub fn config_ui(ui: &mut egui::Ui, rows: &mut Rows, graph: &Graph, node: &Node) -> Asked {
    let mut config = node.config.clone();
    let mut asked = Asked::default();
    let id = node.id.as_str();
    match &mut config {
        NodeConfig::Producer(c) => {
            grid("producer", ui, |ui| {
                rows.number(
                    ui,
                    "rate_per_sec",
                    "Messages sent per second on average. Default 10; 0 sends nothing.",
                    &mut c.rate_per_sec,
                    Num::PER_SEC,
                );
                rows.choice(
                    ui,
                    "arrival",
                    "How messages are spaced in time. Default poisson.",
                    &mut c.arrival,
                    &ARRIVALS,
                );
                limit_row(
                    rows,
                    ui,
                    &mut c.limit,
                    "Messages to send in all, then the producer stops.",
                );
                keys_row(rows, ui, &mut c.keys);
            });
            ui.add_space(6.0);
            if let Some(p) = payload_ui(ui, rows, id, c.payload.as_ref()) {
                c.payload = p;
                rows.change("payload");
            }
        }
        NodeConfig::Client(c) => {
            grid("client", ui, |ui| {
                rows.number(
                    ui,
                    "rate_per_sec",
                    "Requests sent per second on average. Default 10; 0 sends nothing.",
                    &mut c.rate_per_sec,
                    Num::PER_SEC,
                );
                rows.choice(
                    ui,
                    "arrival",
                    "How requests are spaced in time. Default poisson.",
                    &mut c.arrival,
                    &ARRIVALS,
                );
                limit_row(
                    rows,
                    ui,
                    &mut c.limit,
                    "Requests to send in all, then the client stops.",
                );
                rows.number(
                    ui,
                    "timeout_ms",
                    "A request not answered within this is counted a timeout; a late reply is ignored. \
                     Milliseconds; default 1000.",
                    &mut c.timeout_ms,
                    Num::MS,
                );
                keys_row(rows, ui, &mut c.keys);
            });
            ui.add_space(6.0);
            if let Some(p) = payload_ui(ui, rows, id, c.payload.as_ref()) {
                c.payload = p;
                rows.change("payload");
            }
        }
        NodeConfig::Queue(c) => grid("queue", ui, |ui| {
            // On a broker the queue's messages wait there: capacity is the confirm window,
            // and when_full and durable are not used (the broker's own settings are).
            let on_broker = c.backend.is_some();
            let (capacity_help, capacity_null) = if on_broker {
                (
                    "On the broker: publishes awaiting the broker's confirm at most; senders \
                     wait while that many are unconfirmed. Default 1000; null = 1000.",
                    "default 1000",
                )
            } else {
                (
                    "Waiting messages the queue holds (not counting those being processed \
                     downstream). Default 1000; null = unbounded.",
                    "unbounded",
                )
            };
            rows.optional_number(
                ui,
                "capacity",
                capacity_help,
                &mut c.capacity,
                1000,
                capacity_null,
                Num::COUNT,
            );
            rows.disabled(on_broker.then_some(BROKER_QUEUE_WHEN_FULL));
            rows.choice(
                ui,
                "when_full",
                WHEN_FULL_HELP,
                &mut c.when_full,
                &WHEN_FULL,
            );
            if c.when_full == WhenFull::Throttle {
                if c.throttle_rate_per_sec.is_none() && !on_broker {
                    // Chosen just now: a throttling queue needs its rate (on a broker,
                    // where when_full is not used, the file stays as it is).
                    c.throttle_rate_per_sec = Some(DEFAULT_THROTTLE_RATE);
                    rows.change("when_full");
                }
                let shown = c.throttle_rate_per_sec.unwrap_or(DEFAULT_THROTTLE_RATE);
                let mut rate = shown;
                rows.number(
                    ui,
                    "throttle_rate_per_sec",
                    "Messages per second the queue takes once full, until it is down to half \
                     its capacity: its senders wait their turn. Below what the consumers manage, \
                     the queue drains while senders go on at this pace.",
                    &mut rate,
                    Num::PER_SEC,
                );
                if rate != shown {
                    c.throttle_rate_per_sec = Some(rate);
                }
            }
            rows.disabled(on_broker.then_some(BROKER_QUEUE_DURABLE));
            rows.flag(
                ui,
                "durable",
                "A durable queue keeps its waiting messages across a crash; a non-durable one loses \
                 them (counted lost). Default false.",
                &mut c.durable,
                "survives a crash",
            );
            rows.disabled(None);
        }),
        NodeConfig::Topic(c) => grid("topic", ui, |ui| {
            let on_broker = c.backend.is_some();
            rows.disabled(on_broker.then_some(BROKER_TOPIC_PARTITIONS));
            rows.number(
                ui,
                "partitions",
                "Keyed messages go to partition key % partitions; order is kept per partition. Default 1.",
                &mut c.partitions,
                Num::COUNT.max(4096.0),
            );
            rows.disabled(None);
            rows.optional_number(
                ui,
                "subscriber_capacity",
                "Waiting messages per subscriber. Default 1000; null = unbounded.",
                &mut c.subscriber_capacity,
                1000,
                "unbounded",
                Num::COUNT,
            );
            rows.disabled(on_broker.then_some(BROKER_TOPIC_WHEN_FULL));
            rows.choice(
                ui,
                "when_full",
                WHEN_FULL_HELP,
                &mut c.when_full,
                &TOPIC_WHEN_FULL,
            );
            rows.disabled(None);
        }),
        NodeConfig::Service(c) => grid("service", ui, |ui| {
            let scaled = c.autoscale.is_some();
            rows.disabled(
                scaled.then_some("Ignored while autoscale is on: the scaler sets the workers."),
            );
            rows.number(
                ui,
                "concurrency",
                "Workers handling messages in parallel. Default 1.",
                &mut c.concurrency,
                Num::COUNT.max(100_000.0),
            );
            rows.disabled(None);
            dist_rows(
                rows,
                ui,
                "service_time",
                "How long one attempt takes. Default exp with mean 10 ms.",
                &mut c.service_time,
            );
            rows.number(
                ui,
                "failure_rate",
                "Share of attempts that fail, 0 to 1. Default 0.",
                &mut c.failure_rate,
                Num::PROBABILITY,
            );
            rows.number(
                ui,
                "max_retries",
                "Attempts after the first before a message counts as failed (it then leaves by the \
                 error port). Default 0.",
                &mut c.max_retries,
                Num::COUNT0.max(1000.0),
            );
            rows.number(
                ui,
                "retry_backoff_ms",
                "Wait before each retry; the worker stays busy. Milliseconds; default 100.",
                &mut c.retry_backoff_ms,
                Num::MS,
            );
            autoscale_rows(rows, ui, &mut c.autoscale);
        }),
        NodeConfig::Sink(_) => {
            ui.weak("A sink has no settings: every message reaching it is delivered and its end-to-end latency recorded.");
        }
        NodeConfig::Breaker(c) => grid("breaker", ui, |ui| breaker_rows(rows, ui, c)),
        NodeConfig::Gateway(c) => grid("gateway", ui, |ui| gateway_rows(rows, ui, c)),
        NodeConfig::Router(c) => {
            rules_ui(ui, rows, id, c);
            ui.add_space(6.0);
            grid("router", ui, |ui| {
                rows.optional_text(
                    ui,
                    "default_port",
                    "The port unmatched messages leave by. Default \"out\"; null = filter: unmatched \
                     messages are counted filtered.",
                    &mut c.default_port,
                    "out",
                    "filter",
                );
            });
        }
        NodeConfig::EventLog(c) => grid("event_log", ui, |ui| {
            rows.disabled(c.backend.is_some().then_some(BROKER_LOG_RETENTION));
            rows.optional_number(
                ui,
                "retention",
                "Events kept: older ones are dropped, and a consumer behind them skips ahead \
                 (counted skipped). Default null = keep all.",
                &mut c.retention,
                10_000,
                "keep all",
                Num::COUNT,
            );
            rows.disabled(None);
        }),
        NodeConfig::Projector(c) => grid("projector", ui, |ui| {
            dist_rows(
                rows,
                ui,
                "service_time",
                "Time to apply one event to the read model, or to answer one query. Default const 1 ms.",
                &mut c.service_time,
            );
        }),
        NodeConfig::Saga(c) => {
            asked.connect = steps_ui(ui, rows, graph, node, c);
        }
        NodeConfig::Invalid(_) => {}
    }
    if let Some(field) = rows.changed.clone() {
        asked.config = Some((field, config));
    }
    asked
}

fn limit_row(rows: &mut Rows, ui: &mut egui::Ui, limit: &mut Option<u64>, help: &str) {
    let help = format!("{help} Default null = endless.");
    rows.optional_number(ui, "limit", &help, limit, 1000, "endless", Num::COUNT0);
}

fn keys_row(rows: &mut Rows, ui: &mut egui::Ui, keys: &mut Option<u64>) {
    rows.optional_number(
        ui,
        "keys",
        "Number of distinct message keys, drawn uniformly. Keys keep order through topics and \
         name the entities of projectors. Default null = unkeyed.",
        keys,
        100,
        "unkeyed",
        Num::COUNT,
    );
}

fn autoscale_rows(rows: &mut Rows, ui: &mut egui::Ui, autoscale: &mut Option<Autoscale>) {
    let help = "Worker count follows the depth of the queues feeding the service (concurrency is \
                then ignored): desired = clamp(ceil(depth / target_depth), min, max), one worker per \
                step. Default off.";
    rows.row(ui, "autoscale", "autoscale", help, |rows, ui, label| {
        let mut on = autoscale.is_some();
        let response = ui
            .checkbox(&mut on, "follow the queue depth")
            .on_hover_text(help);
        rows.name(response, label, "autoscale");
        if on != autoscale.is_some() {
            *autoscale = on.then(Autoscale::default);
            rows.change("autoscale");
        }
    });
    if let Some(a) = autoscale {
        rows.number_as(
            ui,
            "autoscale.min",
            "  min",
            "Fewest workers; the scaler starts here. Default 1.",
            &mut a.min,
            Num::COUNT.max(100_000.0),
        );
        rows.number_as(
            ui,
            "autoscale.max",
            "  max",
            "Most workers (at least min). Default 8.",
            &mut a.max,
            Num::COUNT.max(100_000.0),
        );
        rows.number_as(
            ui,
            "autoscale.target_depth",
            "  target_depth",
            "Waiting messages per worker the scaler aims for. Default 10.",
            &mut a.target_depth,
            Num {
                min: 0.0,
                max_decimals: 2,
                ..Num::COUNT
            },
        );
        rows.number_as(
            ui,
            "autoscale.cooldown_ms",
            "  cooldown_ms",
            "Least time between two scaling steps. Milliseconds; default 5000.",
            &mut a.cooldown_ms,
            Num::MS,
        );
    }
}

fn breaker_rows(rows: &mut Rows, ui: &mut egui::Ui, c: &mut BreakerConfig) {
    let help = "When a closed breaker opens: after a number of consecutive failures, or when the \
                share of failures among the last calls is too high. Default 5 consecutive failures.";
    rows.row(ui, "trip", "trip", help, |rows, ui, _label| {
        ui.vertical(|ui| {
            let consecutive = matches!(c.trip, Trip::ConsecutiveFailures { .. });
            if ui
                .radio(consecutive, "consecutive failures")
                .on_hover_text("Opens after this many failed calls in a row")
                .clicked()
                && !consecutive
            {
                c.trip = Trip::ConsecutiveFailures {
                    consecutive_failures: 5,
                };
                rows.change("trip");
            }
            if ui
                .radio(!consecutive, "failure rate over a window")
                .on_hover_text(
                    "Opens when the share of failures among the last calls reaches a rate",
                )
                .clicked()
                && consecutive
            {
                c.trip = Trip::FailureRate {
                    failure_rate: 0.5,
                    window: 20,
                    min_calls: 10,
                };
                rows.change("trip");
            }
            ui.add_space(4.0);
        });
    });
    match &mut c.trip {
        Trip::ConsecutiveFailures {
            consecutive_failures,
        } => rows.number_as(
            ui,
            "trip.consecutive_failures",
            "  consecutive_failures",
            "Failed calls in a row that open the breaker. Default 5.",
            consecutive_failures,
            Num::COUNT.max(1e6),
        ),
        Trip::FailureRate {
            failure_rate,
            window,
            min_calls,
        } => {
            rows.number_as(
                ui,
                "trip.failure_rate",
                "  failure_rate",
                "Share of failed calls in the window, 0 to 1, at which the breaker opens.",
                failure_rate,
                Num::PROBABILITY,
            );
            rows.number_as(
                ui,
                "trip.window",
                "  window",
                "The number of latest calls the rate is taken over.",
                window,
                Num::COUNT.max(1e6),
            );
            rows.number_as(
                ui,
                "trip.min_calls",
                "  min_calls",
                "Calls the window must hold before the rate can open the breaker (at most window).",
                min_calls,
                Num::COUNT.max(1e6),
            );
        }
    }
    rows.number(
        ui,
        "open_ms",
        "Time spent open before letting probe calls through. Milliseconds; default 5000.",
        &mut c.open_ms,
        Num::MS,
    );
    rows.number(
        ui,
        "half_open_max_calls",
        "Probe calls let through when half-open; all must succeed to close. Default 1.",
        &mut c.half_open_max_calls,
        Num::COUNT.max(1e6),
    );
    rows.optional_number(
        ui,
        "call_timeout_ms",
        "A call not answered within this counts as a failure. Milliseconds; default null = no timeout.",
        &mut c.call_timeout_ms,
        1000.0,
        "no timeout",
        Num::MS,
    );
    rows.choice(
        ui,
        "fallback",
        "How calls are answered while the breaker is open. Default fail_fast.",
        &mut c.fallback,
        &FALLBACKS,
    );
}

fn gateway_rows(rows: &mut Rows, ui: &mut egui::Ui, c: &mut GatewayConfig) {
    rows.choice(
        ui,
        "mode",
        "How a call is spread over the routes (the edges leaving the gateway). Default route.",
        &mut c.mode,
        &MODES,
    );
    let aggregate = c.mode == GatewayMode::Aggregate;
    rows.disabled(aggregate.then_some("Applies in route mode only."));
    rows.optional_text(
        ui,
        "route_by",
        "Payload field (a dotted path) whose value names the route: the edge whose port equals \
         it. Default null = round robin.",
        &mut c.route_by,
        "type",
        "round robin",
    );
    rows.disabled(None);
    rows.number(
        ui,
        "timeout_ms",
        "Calls not answered within this are answered failed. Milliseconds; default 1000.",
        &mut c.timeout_ms,
        Num::MS,
    );
    rows.disabled((!aggregate).then_some("Applies in aggregate mode only."));
    rows.flag(
        ui,
        "partial",
        "Aggregate: on timeout, reply with the answers so far instead of failing. Default false.",
        &mut c.partial,
        "answer with what arrived",
    );
    rows.disabled(None);
    rows.optional_number(
        ui,
        "rate_limit_per_sec",
        "Calls taken per second (a token bucket); more are rejected. Default null = no limit.",
        &mut c.rate_limit_per_sec,
        100.0,
        "no limit",
        Num::PER_SEC,
    );
}
