//! The one line under a node's name that tells its key config at a glance.

use flowbench_engine::NodeConfig;
use flowbench_engine::model::{
    Arrival, Backend, Dist, GatewayMode, InvalidProblem, Trip, WhenFull,
};

/// The product name of a broker kind as written in graph files and reports ("rabbitmq").
pub fn broker_title(kind: &str) -> &'static str {
    match kind {
        "rabbitmq" => "RabbitMQ",
        "nats" => "NATS",
        "jetstream" => "JetStream",
        _ => "broker",
    }
}

/// A broker-backed channel: "RabbitMQ orders · prefetch 100", "NATS events.orders",
/// "JetStream ORDERS".
fn broker(backend: &Backend) -> String {
    let title = broker_title(backend.kind_name());
    let name = backend.channel_name();
    let mut s = if name.is_empty() {
        title.to_owned()
    } else {
        format!("{title} {name}")
    };
    if let Backend::RabbitMq(b) = backend {
        s += &format!(" · prefetch {}", b.prefetch);
    }
    s
}

/// "cap 1000 · block", "×4 · exp 10 ms · 5% fail", "10/s poisson · limit 1000", …
pub fn summary(config: &NodeConfig) -> String {
    if let Some(backend) = config.backend() {
        return broker(backend);
    }
    match config {
        NodeConfig::Producer(c) => {
            let mut s = format!("{} {}", rate(c.rate_per_sec), arrival(c.arrival));
            if let Some(limit) = c.limit {
                s += &format!(" · limit {limit}");
            }
            s
        }
        NodeConfig::Client(c) => {
            let mut s = format!(
                "{} · timeout {}",
                rate(c.rate_per_sec),
                duration(c.timeout_ms)
            );
            if let Some(limit) = c.limit {
                s += &format!(" · limit {limit}");
            }
            s
        }
        NodeConfig::Queue(c) => {
            let mut s = match c.capacity {
                Some(cap) => format!("cap {cap} · {}", when_full(c.when_full)),
                None => "unbounded".to_owned(),
            };
            if let (WhenFull::Throttle, Some(_), Some(r)) =
                (c.when_full, c.capacity, c.throttle_rate_per_sec)
            {
                s += &format!(" {}", rate(r));
            }
            if c.durable {
                s += " · durable";
            }
            s
        }
        NodeConfig::Topic(c) => {
            let partitions = plural(u64::from(c.partitions), "partition", "partitions");
            match c.subscriber_capacity {
                Some(cap) => format!("{partitions} · cap {cap}"),
                None => format!("{partitions} · unbounded"),
            }
        }
        NodeConfig::Service(c) => {
            let workers = match &c.autoscale {
                Some(a) => format!("×{}–{}", a.min, a.max),
                None => format!("×{}", c.concurrency),
            };
            let mut s = format!("{workers} · {}", dist(&c.service_time));
            if c.failure_rate > 0.0 {
                s += &format!(" · {} fail", percent(c.failure_rate));
            }
            if c.max_retries > 0 {
                s += &format!(
                    " · {}",
                    plural(u64::from(c.max_retries), "retry", "retries")
                );
            }
            s
        }
        NodeConfig::Sink(_) => "end of the flow".to_owned(),
        NodeConfig::Breaker(c) => {
            let trip = match c.trip {
                Trip::ConsecutiveFailures {
                    consecutive_failures,
                } => plural(u64::from(consecutive_failures), "failure", "failures"),
                Trip::FailureRate {
                    failure_rate,
                    window,
                    ..
                } => {
                    format!("{} of {window}", percent(failure_rate))
                }
            };
            format!("{trip} · open {}", duration(c.open_ms))
        }
        NodeConfig::Gateway(c) => {
            let mut s = match (c.mode, &c.route_by) {
                (GatewayMode::Route, Some(field)) => format!("route by {field}"),
                (GatewayMode::Route, None) => "round robin".to_owned(),
                (GatewayMode::Aggregate, _) => format!("aggregate · {}", duration(c.timeout_ms)),
            };
            if let Some(limit) = c.rate_limit_per_sec {
                s += &format!(" · ≤{}", rate(limit));
            }
            s
        }
        NodeConfig::Router(c) => {
            let rules = plural(c.rules.len() as u64, "rule", "rules");
            match c.default_port {
                Some(_) => rules,
                None => format!("{rules} · filter"),
            }
        }
        NodeConfig::EventLog(c) => match c.retention {
            None => "keep all".to_owned(),
            Some(n) => format!("keep {n}"),
        },
        NodeConfig::Projector(c) => dist(&c.service_time),
        NodeConfig::Saga(c) => plural(c.steps.len() as u64, "step", "steps"),
        NodeConfig::Invalid(bad) => match &bad.problem {
            InvalidProblem::UnknownKind => format!("unknown kind '{}'", bad.kind),
            InvalidProblem::BadConfig {
                field: Some(field), ..
            } => format!("bad config: {field}"),
            InvalidProblem::BadConfig { field: None, .. } => "bad config".to_owned(),
        },
    }
}

/// "10/s", "0.5/s".
fn rate(per_sec: f64) -> String {
    format!("{}/s", number(per_sec))
}

fn arrival(a: Arrival) -> &'static str {
    match a {
        Arrival::Poisson => "poisson",
        Arrival::Constant => "constant",
    }
}

fn when_full(w: WhenFull) -> &'static str {
    match w {
        WhenFull::Block => "block",
        WhenFull::DropNewest => "drop newest",
        WhenFull::DropOldest => "drop oldest",
        WhenFull::Throttle => "throttle",
    }
}

/// "exp 10 ms", "const 1 ms", "uniform 1–9 ms", "lognormal 20 ms".
fn dist(d: &Dist) -> String {
    match *d {
        Dist::Const { ms } => format!("const {}", duration(ms)),
        Dist::Exp { mean_ms } => format!("exp {}", duration(mean_ms)),
        Dist::Uniform { min_ms, max_ms } => {
            if max_ms < 1000.0 {
                format!("uniform {}–{} ms", number(min_ms), number(max_ms))
            } else {
                format!("uniform {}–{}", duration(min_ms), duration(max_ms))
            }
        }
        Dist::Lognormal { median_ms, .. } => format!("lognormal {}", duration(median_ms)),
    }
}

/// "250 ms", "1 s", "1.5 s", "2 min".
pub fn duration(ms: f64) -> String {
    if ms >= 60_000.0 && (ms / 60_000.0).fract() == 0.0 {
        format!("{} min", number(ms / 60_000.0))
    } else if ms >= 1000.0 {
        format!("{} s", number(ms / 1000.0))
    } else {
        format!("{} ms", number(ms))
    }
}

/// "5%", "0.5%".
fn percent(share: f64) -> String {
    format!("{}%", number(share * 100.0))
}

/// A number with at most three significant decimals and no trailing zeros.
fn number(x: f64) -> String {
    let text = if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use flowbench_engine::{Graph, NodeKind};

    use super::*;

    fn of(kind: &str, config: &str) -> String {
        let json = format!(
            r#"{{"format": "flowbench.graph", "version": 1,
                "nodes": [{{"id": "n", "kind": "{kind}", "config": {config}}}]}}"#
        );
        summary(&Graph::from_json_str(&json).unwrap().nodes[0].config)
    }

    /// Every kind's key config reads as one short line.
    #[test]
    fn summary_per_kind() {
        let cases = [
            ("queue", r#"{"capacity": 1000}"#, "cap 1000 · block"),
            (
                "queue",
                r#"{"capacity": null, "durable": true}"#,
                "unbounded · durable",
            ),
            (
                "queue",
                r#"{"capacity": 50, "when_full": "drop_oldest"}"#,
                "cap 50 · drop oldest",
            ),
            (
                "queue",
                r#"{"capacity": 50, "when_full": "throttle", "throttle_rate_per_sec": 80}"#,
                "cap 50 · throttle 80/s",
            ),
            (
                "service",
                r#"{"concurrency": 4, "failure_rate": 0.05, "service_time": {"dist": "exp", "mean_ms": 10}}"#,
                "×4 · exp 10 ms · 5% fail",
            ),
            (
                "service",
                r#"{"autoscale": {"min": 1, "max": 8, "target_depth": 10}, "max_retries": 2}"#,
                "×1–8 · exp 10 ms · 2 retries",
            ),
            (
                "producer",
                r#"{"rate_per_sec": 10, "limit": 1000}"#,
                "10/s poisson · limit 1000",
            ),
            (
                "producer",
                r#"{"rate_per_sec": 0.9, "arrival": "constant"}"#,
                "0.9/s constant",
            ),
            ("topic", r#"{"partitions": 3}"#, "3 partitions · cap 1000"),
            (
                "topic",
                r#"{"subscriber_capacity": null}"#,
                "1 partition · unbounded",
            ),
            ("breaker", "{}", "5 failures · open 5 s"),
            (
                "breaker",
                r#"{"trip": {"failure_rate": 0.5, "window": 20, "min_calls": 10}, "open_ms": 1500}"#,
                "50% of 20 · open 1.5 s",
            ),
            ("gateway", r#"{"route_by": "region"}"#, "route by region"),
            ("gateway", "{}", "round robin"),
            ("gateway", r#"{"mode": "aggregate"}"#, "aggregate · 1 s"),
            (
                "router",
                r#"{"rules": [{"field": "a", "op": ">", "value": 1, "port": "x"},
                              {"field": "b", "op": "exists", "port": "y"},
                              {"field": "c", "op": "==", "value": 2, "port": "z"}]}"#,
                "3 rules",
            ),
            ("router", r#"{"default_port": null}"#, "0 rules · filter"),
            ("event_log", "{}", "keep all"),
            ("event_log", r#"{"retention": 10000}"#, "keep 10000"),
            ("projector", "{}", "const 1 ms"),
            (
                "saga",
                r#"{"steps": [{"name": "a", "action": "x"}, {"name": "b", "action": "y"},
                              {"name": "c", "action": "z"}]}"#,
                "3 steps",
            ),
            ("client", "{}", "10/s · timeout 1 s"),
            ("sink", "{}", "end of the flow"),
            ("teleporter", "{}", "unknown kind 'teleporter'"),
        ];
        for (kind, config, expected) in cases {
            assert_eq!(of(kind, config), expected, "{kind} {config}");
        }
        // A channel on a broker names the broker and the channel there.
        let on_broker = [
            (
                "queue",
                r#"{"backend": {"kind": "rabbitmq", "queue": "orders"}}"#,
                "RabbitMQ orders · prefetch 100",
            ),
            (
                "topic",
                r#"{"backend": {"kind": "nats", "subject": "events.orders"}}"#,
                "NATS events.orders",
            ),
            (
                "event_log",
                r#"{"backend": {"kind": "jetstream", "stream": "ORDERS", "subject": "orders.>"}}"#,
                "JetStream ORDERS",
            ),
            (
                "queue",
                r#"{"backend": {"kind": "rabbitmq", "prefetch": 5}}"#,
                "RabbitMQ · prefetch 5",
            ),
        ];
        for (kind, config, expected) in on_broker {
            assert_eq!(of(kind, config), expected, "{kind} {config}");
        }
        // Every kind has a summary with its defaults.
        for kind in NodeKind::ALL {
            assert!(
                !summary(&NodeConfig::default_for(kind)).is_empty(),
                "{kind}"
            );
        }
    }

    /// Durations pick a readable unit.
    #[test]
    fn durations() {
        assert_eq!(duration(0.25), "0.25 ms");
        assert_eq!(duration(250.0), "250 ms");
        assert_eq!(duration(1000.0), "1 s");
        assert_eq!(duration(12_500.0), "12.5 s");
        assert_eq!(duration(120_000.0), "2 min");
        assert_eq!(duration(90_000.0), "90 s");
    }
}
