//! The summary table `flowbench run` prints: a header line, the totals, and one aligned row
//! per node with the numbers that matter for its kind.

use flowbench_engine::report::{GaugeSummary, LatencySummary, NodeReport, Report};

/// A graph with more nodes than this gets a row for each of the nodes most worth a look
/// instead of one per node: a 10,000-node graph's summary stays a screenful.
pub const MAX_NODE_ROWS: usize = 40;

/// The whole summary, ending with a newline.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&header(report));
    out.push('\n');
    out.push_str(&totals(report));
    out.push('\n');
    out.push('\n');
    let mut rows = vec![[
        "node".to_owned(),
        "kind".to_owned(),
        "in".to_owned(),
        "out".to_owned(),
        "details".to_owned(),
    ]];
    let shown = shown_nodes(report);
    for &i in &shown {
        let (id, node) = report
            .nodes
            .get_index(i)
            .expect("an index of the report's nodes");
        rows.push([
            id.clone(),
            node.kind.clone(),
            node.in_.to_string(),
            node.out.to_string(),
            details(node),
        ]);
    }
    out.push_str(&align(&rows, &[false, false, true, true, false], None));
    let hidden = report.nodes.len() - shown.len();
    if hidden > 0 {
        out.push_str(&format!(
            "… and {hidden} more nodes (shown: the {} that failed, dropped, lost or rejected \
             the most messages, then the busiest); --json or --report FILE lists every node\n",
            shown.len()
        ));
    }
    out
}

/// Which nodes get a row, by their place in the report: all of them up to
/// [`MAX_NODE_ROWS`]; beyond, the nodes that ended the most messages badly, then the
/// busiest, kept in the graph's order.
fn shown_nodes(report: &Report) -> Vec<usize> {
    let n = report.nodes.len();
    if n <= MAX_NODE_ROWS {
        return (0..n).collect();
    }
    let trouble = |node: &NodeReport| {
        [node.dropped, node.failed, node.lost, node.rejected]
            .iter()
            .map(|c| c.unwrap_or(0))
            .sum::<u64>()
    };
    let mut ranked: Vec<(u64, u64, usize)> = report
        .nodes
        .values()
        .enumerate()
        .map(|(i, node)| (trouble(node), node.in_, i))
        .collect();
    // Most trouble, then most traffic; ties in the graph's order.
    ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let mut shown: Vec<usize> = ranked[..MAX_NODE_ROWS].iter().map(|r| r.2).collect();
    shown.sort_unstable();
    shown
}

/// `M/M/1 queue — seed 42 — simulated 1h 0m 0s in 0.41 s (7.9 M events/s)`.
pub fn header(report: &Report) -> String {
    let name = if report.graph.is_empty() {
        "(unnamed graph)"
    } else {
        &report.graph
    };
    let mut line = format!(
        "{name} — seed {} — simulated {} in {}",
        report.seed,
        format_sim_duration(report.sim_time_ms),
        format_wall_secs(report.wall_time_ms),
    );
    if report.wall_time_ms > 0.0 {
        let per_sec = report.events as f64 / (report.wall_time_ms / 1000.0);
        line.push_str(&format!(" ({} events/s)", format_rate(per_sec)));
    }
    line
}

/// Where every message ended up, and whether that adds up.
pub fn totals(report: &Report) -> String {
    let t = &report.totals;
    format!(
        "created {} · delivered {} · dropped {} · failed {} · rejected {} · filtered {} · \
         lost {} · in flight {} · conservation {}",
        t.created,
        t.delivered,
        t.dropped,
        t.failed,
        t.rejected,
        t.filtered,
        t.lost,
        t.in_flight,
        if report.conservation.ok {
            "ok"
        } else {
            "FAILED"
        }
    )
}

/// Columns padded to their widest cell, two spaces apart, right-aligned where `right`
/// says (columns past its end: left); no line ends in spaces. With `rule_after`, a rule of
/// `─` under that many heading rows.
pub fn align<R: AsRef<[String]>>(rows: &[R], right: &[bool], rule_after: Option<usize>) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (c, cell) in row.as_ref().iter().enumerate() {
            if widths.len() <= c {
                widths.push(0);
            }
            widths[c] = widths[c].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .as_ref()
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, &w))| {
                if right.get(c).copied().unwrap_or(false) {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:<w$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if rule_after == Some(i + 1) {
            let rule: Vec<String> = widths.iter().map(|&w| "─".repeat(w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out
}

/// The key numbers of one node for its kind; for kinds without a special view, every field
/// the report has.
pub fn details(node: &NodeReport) -> String {
    let mut parts = Vec::new();
    if let Some(b) = &node.broker {
        parts.push(broker(b));
    }
    match node.kind.as_str() {
        "queue" => {
            parts.extend(node.depth.map(|d| gauge("depth", &d)));
            parts.extend(node.wait_ms.map(|w| percentiles("wait", &w)));
            parts.extend(
                node.throttled_ms
                    .map(|t| format!("throttled {}", format_ms(t))),
            );
            nonzero(&mut parts, "dropped", node.dropped);
            nonzero(&mut parts, "lost", node.lost);
        }
        "service" => {
            parts.extend(
                node.utilization
                    .map(|u| format!("util {}", format_percent(u))),
            );
            parts.extend(node.service_ms.map(|s| percentiles("service", &s)));
            parts.extend(node.failed.map(|f| format!("failed {f}")));
            nonzero(&mut parts, "retries", node.retries);
            // One worker is the common case; more (or autoscaled) is worth a mention.
            match (node.workers, node.workers_max) {
                (Some(w), Some(max)) => parts.push(format!("workers {w} (max {max})")),
                (Some(w), None) if w != 1 => parts.push(format!("workers {w}")),
                _ => {}
            }
            nonzero(&mut parts, "dropped", node.dropped);
            nonzero(&mut parts, "lost", node.lost);
        }
        "sink" => {
            parts.extend(node.latency_ms.map(|l| {
                format!(
                    "latency mean {} p50 {} p99 {}",
                    format_ms(l.mean),
                    format_ms(l.p50),
                    format_ms(l.p99)
                )
            }));
        }
        "client" => {
            parts.extend(node.ok.map(|n| format!("ok {n}")));
            parts.extend(node.failed.map(|n| format!("failed {n}")));
            parts.extend(node.timeouts.map(|n| format!("timeouts {n}")));
            nonzero(&mut parts, "rejected", node.rejected);
            parts.extend(node.latency_ms.map(|l| percentiles("latency", &l)));
        }
        "producer" => {
            parts.extend(node.blocked_ms.map(|b| format!("blocked {}", format_ms(b))));
            nonzero(&mut parts, "dropped", node.dropped);
        }
        "topic" => {
            for (id, sub) in node.subscribers.iter().flatten() {
                parts.push(format!(
                    "{id} delivered {} dropped {}",
                    sub.delivered, sub.dropped
                ));
            }
            // The subscribers' drops add up to the topic's; show the total only without them.
            if node.subscribers.is_none() {
                nonzero(&mut parts, "dropped", node.dropped);
            }
        }
        _ => parts = every_field(node),
    }
    parts.join(" · ")
}

/// Every optional field of a node report that is present, in a fixed order.
fn every_field(node: &NodeReport) -> Vec<String> {
    let mut parts = Vec::new();
    let mut count = |name: &str, value: Option<u64>| {
        if let Some(v) = value {
            parts.push(format!("{name} {v}"));
        }
    };
    count("dropped", node.dropped);
    count("failed", node.failed);
    count("lost", node.lost);
    count("ok", node.ok);
    count("timeouts", node.timeouts);
    count("rejected", node.rejected);
    count("passed", node.passed);
    count("filtered", node.filtered);
    count("retries", node.retries);
    count("length", node.length);
    count("started", node.started);
    count("completed", node.completed);
    count("compensated", node.compensated);
    count("compensation failed", node.compensation_failed);
    count("in flight", node.in_flight);
    if let Some(state) = node.state {
        let name = match state {
            flowbench_engine::report::BreakerState::Closed => "closed",
            flowbench_engine::report::BreakerState::Open => "open",
            flowbench_engine::report::BreakerState::HalfOpen => "half_open",
        };
        parts.push(format!("state {name}"));
    }
    if let Some(transitions) = &node.transitions {
        parts.push(format!("transitions {}", transitions.len()));
    }
    if let Some(b) = node.blocked_ms {
        parts.push(format!("blocked {}", format_ms(b)));
    }
    if let Some(u) = node.utilization {
        parts.push(format!("util {}", format_percent(u)));
    }
    if let Some(w) = node.workers {
        parts.push(format!("workers {w}"));
    }
    if let Some(d) = &node.depth {
        parts.push(gauge("depth", d));
    }
    for (name, summary) in [
        ("wait", &node.wait_ms),
        ("service", &node.service_ms),
        ("latency", &node.latency_ms),
    ] {
        if let Some(s) = summary {
            parts.push(percentiles(name, s));
        }
    }
    if let Some(routes) = &node.routes {
        let routes: Vec<String> = routes.iter().map(|(r, n)| format!("{r}={n}")).collect();
        parts.push(format!("routes {}", routes.join(" ")));
    }
    for (id, c) in node.consumers.iter().flatten() {
        parts.push(format!("{id} offset {} lag {}", c.offset, c.lag));
    }
    for (id, sub) in node.subscribers.iter().flatten() {
        parts.push(format!(
            "{id} delivered {} dropped {}",
            sub.delivered, sub.dropped
        ));
    }
    parts
}

fn nonzero(parts: &mut Vec<String>, name: &str, value: Option<u64>) {
    if let Some(v) = value.filter(|&v| v > 0) {
        parts.push(format!("{name} {v}"));
    }
}

fn gauge(name: &str, g: &GaugeSummary) -> String {
    // The max of a count is a whole number: `61`, not `61.0`.
    let max = if g.max.fract() == 0.0 {
        format!("{:.0}", g.max)
    } else {
        format_number(g.max)
    };
    format!("{name} mean {} max {max}", format_number(g.mean))
}

fn percentiles(name: &str, l: &LatencySummary) -> String {
    if l.count == 0 {
        // Nothing measured yet (e.g. a queue nothing has taken from).
        return format!("{name} –");
    }
    format!("{name} p50 {} p99 {}", format_ms(l.p50), format_ms(l.p99))
}

/// A number with two significant digits, but never fewer than its integer digits:
/// `0.35`, `0.035`, `8.1`, `41`, `690`, `12345`.
pub fn format_number(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (1 - magnitude).clamp(0, 6) as usize;
    format!("{x:.decimals$}")
}

/// A duration in milliseconds, in the unit that reads best: `0.35 ms`, `41 ms`, `9.0 s`,
/// `2.5 min`, `1.5 h`.
pub fn format_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return format!("{ms} ms");
    }
    let abs = ms.abs();
    if abs == 0.0 {
        "0 ms".to_owned()
    } else if abs < 1_000.0 {
        format!("{} ms", format_number(ms))
    } else if abs < 60_000.0 {
        format!("{} s", format_number(ms / 1_000.0))
    } else if abs < 3_600_000.0 {
        format!("{:.1} min", ms / 60_000.0)
    } else {
        format!("{:.1} h", ms / 3_600_000.0)
    }
}

/// Simulated time as hours, minutes and seconds: `1h 0m 0s`, `1m 30s`, `45.5 s`, `500 ms`.
pub fn format_sim_duration(ms: f64) -> String {
    if !ms.is_finite() || ms < 60_000.0 {
        return format_ms(ms);
    }
    let total_s = ms / 1_000.0;
    let hours = (total_s / 3_600.0).floor();
    let minutes = ((total_s - hours * 3_600.0) / 60.0).floor();
    let seconds = total_s - hours * 3_600.0 - minutes * 60.0;
    let seconds = if (seconds - seconds.round()).abs() < 0.05 {
        format!("{}s", seconds.round())
    } else {
        format!("{seconds:.1}s")
    };
    if hours > 0.0 {
        format!("{hours}h {minutes}m {seconds}")
    } else {
        format!("{minutes}m {seconds}")
    }
}

/// A simulated duration the way `--duration` takes it, when it is a whole number of one
/// unit (`1h`, `10m`, `90s`, `500ms`); otherwise as [`format_ms`].
pub fn format_duration_arg(ms: f64) -> String {
    for (unit, size) in [("h", 3_600_000.0), ("m", 60_000.0), ("s", 1_000.0)] {
        if ms >= size && ms % size == 0.0 {
            return format!("{}{unit}", ms / size);
        }
    }
    if ms.fract() == 0.0 && ms > 0.0 {
        format!("{ms}ms")
    } else {
        format_ms(ms)
    }
}

/// Wall-clock time: `4.2 ms`, `0.41 s`, `12.3 s`, `250 s`.
pub fn format_wall_secs(ms: f64) -> String {
    let s = ms / 1_000.0;
    if ms < 100.0 {
        format_ms(ms)
    } else if s < 10.0 {
        format!("{s:.2} s")
    } else if s < 100.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

/// A rate with a k/M/G prefix: `7.9 M`, `850 k`, `120`.
pub fn format_rate(per_sec: f64) -> String {
    for (prefix, size) in [("G", 1e9), ("M", 1e6), ("k", 1e3)] {
        if per_sec >= size {
            return format!("{} {prefix}", format_number(per_sec / size));
        }
    }
    format_number(per_sec)
}

/// A share in 0..=1 as a whole percentage: `90%`.
pub fn format_percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

/// `rabbitmq 'orders' up · published 500 (confirmed 500) · consumed 120 (acked 120,
/// redelivered 3) · broker depth 0`.
fn broker(b: &flowbench_engine::report::BrokerReport) -> String {
    let mut line = format!("{} '{}' {}", b.kind, b.name, b.state);
    if let Some(error) = &b.error {
        line.push_str(&format!(" ({error})"));
    }
    if b.published > 0 {
        line.push_str(&format!(
            " · published {} (confirmed {}",
            b.published, b.confirmed
        ));
        if b.publish_failed > 0 {
            line.push_str(&format!(", refused {}", b.publish_failed));
        }
        line.push(')');
    }
    if b.consumed > 0 {
        line.push_str(&format!(" · consumed {} (acked {}", b.consumed, b.acked));
        if b.redelivered > 0 {
            line.push_str(&format!(", redelivered {}", b.redelivered));
        }
        line.push(')');
    }
    if let Some(depth) = b.broker_depth {
        line.push_str(&format!(" · broker depth {depth}"));
    }
    if b.reconnects > 0 {
        line.push_str(&format!(" · reconnected {}×", b.reconnects));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowbench_engine::report::{Conservation, SubscriberReport, Totals};

    /// Durations read in the unit a person would use, with two significant digits.
    #[test]
    fn ms_in_the_best_unit() {
        assert_eq!(format_ms(0.0), "0 ms");
        assert_eq!(format_ms(0.35), "0.35 ms");
        assert_eq!(format_ms(0.035), "0.035 ms");
        assert_eq!(format_ms(4.6), "4.6 ms");
        assert_eq!(format_ms(41.0), "41 ms");
        assert_eq!(format_ms(690.4), "690 ms");
        assert_eq!(format_ms(9_000.0), "9.0 s");
        assert_eq!(format_ms(41_000.0), "41 s");
        assert_eq!(format_ms(150_000.0), "2.5 min");
        assert_eq!(format_ms(5_400_000.0), "1.5 h");
    }

    /// Simulated time in the header reads as hours, minutes and seconds.
    #[test]
    fn sim_duration_in_hours_minutes_seconds() {
        assert_eq!(format_sim_duration(3_600_000.0), "1h 0m 0s");
        assert_eq!(format_sim_duration(60_000.0), "1m 0s");
        assert_eq!(format_sim_duration(90_500.0), "1m 30.5s");
        assert_eq!(format_sim_duration(3_725_000.0), "1h 2m 5s");
        assert_eq!(format_sim_duration(45_500.0), "46 s");
        assert_eq!(format_sim_duration(500.0), "500 ms");
    }

    /// Durations echo back in the `--duration` syntax when they can.
    #[test]
    fn duration_arg_round_trips() {
        assert_eq!(format_duration_arg(3_600_000.0), "1h");
        assert_eq!(format_duration_arg(600_000.0), "10m");
        assert_eq!(format_duration_arg(90_000.0), "90s");
        assert_eq!(format_duration_arg(500.0), "500ms");
        assert_eq!(format_duration_arg(0.25), "0.25 ms");
    }

    /// Wall time, rates and shares.
    #[test]
    fn wall_rates_and_percentages() {
        assert_eq!(format_wall_secs(412.0), "0.41 s");
        assert_eq!(format_wall_secs(4.2), "4.2 ms");
        assert_eq!(format_wall_secs(12_340.0), "12.3 s");
        assert_eq!(format_wall_secs(250_000.0), "250 s");
        assert_eq!(format_rate(7_900_000.0), "7.9 M");
        assert_eq!(format_rate(850_000.0), "850 k");
        assert_eq!(format_rate(120.0), "120");
        assert_eq!(format_rate(2.5e9), "2.5 G");
        assert_eq!(format_percent(0.9), "90%");
        assert_eq!(format_number(8.1), "8.1");
        assert_eq!(format_number(61.0), "61");
        assert_eq!(format_number(12_345.6), "12346");
        assert_eq!(
            gauge(
                "depth",
                &GaugeSummary {
                    mean: 2.0,
                    max: 6.0,
                    last: 1.0
                }
            ),
            "depth mean 2.0 max 6"
        );
    }

    fn contract_report() -> Report {
        let mut report = Report {
            format: "flowbench.report".into(),
            version: 1,
            graph: "M/M/1 queue".into(),
            seed: 42,
            sim_time_ms: 3_600_000.0,
            wall_time_ms: 412.0,
            events: 3_245_001,
            totals: Totals {
                created: 3240,
                delivered: 3231,
                in_flight: 9,
                ..Default::default()
            },
            conservation: Conservation {
                ok: true,
                detail: None,
            },
            nodes: Default::default(),
        };
        let nodes = &mut report.nodes;
        nodes.insert(
            "q".to_owned(),
            NodeReport {
                kind: "queue".into(),
                in_: 3240,
                out: 3231,
                dropped: Some(0),
                lost: Some(0),
                depth: Some(GaugeSummary {
                    mean: 8.1,
                    max: 61.0,
                    last: 8.0,
                }),
                wait_ms: Some(LatencySummary {
                    mean: 9000.0,
                    p50: 6100.0,
                    p99: 41000.0,
                    max: 70000.0,
                    count: 3231,
                }),
                ..Default::default()
            },
        );
        nodes.insert(
            "worker".to_owned(),
            NodeReport {
                kind: "service".into(),
                in_: 3231,
                out: 3230,
                failed: Some(0),
                utilization: Some(0.9),
                service_ms: Some(LatencySummary {
                    mean: 1000.0,
                    p50: 690.0,
                    p99: 4600.0,
                    max: 9000.0,
                    count: 3230,
                }),
                ..Default::default()
            },
        );
        let mut topic = NodeReport {
            kind: "topic".into(),
            in_: 15,
            out: 10,
            subscribers: Some(Default::default()),
            ..Default::default()
        };
        if let Some(subscribers) = &mut topic.subscribers {
            subscribers.insert(
                "slow".to_owned(),
                SubscriberReport {
                    delivered: 10,
                    dropped: 5,
                    depth: GaugeSummary::default(),
                },
            );
        }
        nodes.insert("fan".to_owned(), topic);
        nodes.insert(
            "cb".to_owned(),
            NodeReport {
                kind: "breaker".into(),
                in_: 7,
                out: 5,
                rejected: Some(2),
                passed: Some(5),
                state: Some(flowbench_engine::report::BreakerState::Open),
                ..Default::default()
            },
        );
        report
    }

    /// The header, totals and rows of the contract's example report.
    #[test]
    fn renders_the_contract_example() {
        let text = render(&contract_report());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "M/M/1 queue — seed 42 — simulated 1h 0m 0s in 0.41 s (7.9 M events/s)"
        );
        assert_eq!(
            lines[1],
            "created 3240 · delivered 3231 · dropped 0 · failed 0 · rejected 0 · filtered 0 · \
             lost 0 · in flight 9 · conservation ok"
        );
        assert_eq!(lines[2], "");
        assert_eq!(lines[3], "node    kind       in   out  details");
        assert_eq!(
            lines[4],
            "q       queue    3240  3231  depth mean 8.1 max 61 · wait p50 6.1 s p99 41 s"
        );
        assert_eq!(
            lines[5],
            "worker  service  3231  3230  util 90% · service p50 690 ms p99 4.6 s · failed 0"
        );
        assert_eq!(
            lines[6],
            "fan     topic      15    10  slow delivered 10 dropped 5"
        );
        assert_eq!(
            lines[7],
            "cb      breaker     7     5  rejected 2 · passed 5 · state open"
        );
    }

    /// A graph too big for a row per node gets rows for the nodes worth a look (the ones
    /// that lost messages first, then the busiest), in the graph's order, and says how many
    /// it left out and where they are.
    #[test]
    fn big_graphs_show_the_nodes_worth_a_look() {
        let mut report = contract_report();
        report.nodes.clear();
        for i in 0..1_000u64 {
            let node = NodeReport {
                kind: "service".into(),
                in_: i % 100,
                out: i % 100,
                failed: Some(u64::from(i == 500 || i == 7) * (i + 1)),
                ..Default::default()
            };
            report.nodes.insert(format!("s{i}"), node);
        }
        let text = render(&report);
        let rows: Vec<&str> = text.lines().skip(4).collect();
        assert_eq!(rows.len(), MAX_NODE_ROWS + 1, "{text}");
        let ids: Vec<&str> = rows[..MAX_NODE_ROWS]
            .iter()
            .map(|r| r.split_whitespace().next().unwrap())
            .collect();
        // The two with failures, and 38 of the ten nodes each at in 99, 98, 97 and 96.
        assert_eq!(ids[0], "s7");
        assert!(ids.contains(&"s500"));
        assert!(ids.contains(&"s99") && ids.contains(&"s999") && ids.contains(&"s96"));
        assert!(!ids.contains(&"s95"));
        let order: Vec<usize> = ids.iter().map(|id| id[1..].parse().unwrap()).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        assert!(
            rows[MAX_NODE_ROWS].starts_with("… and 960 more nodes (shown: the 40 "),
            "{text}"
        );

        // Up to the limit, every node in order and no note.
        report.nodes.truncate(MAX_NODE_ROWS);
        let text = render(&report);
        assert_eq!(text.lines().count(), 4 + MAX_NODE_ROWS);
        assert!(!text.contains("more nodes"));
    }

    /// A failed conservation check is impossible to miss.
    #[test]
    fn failed_conservation_is_shown() {
        let mut report = contract_report();
        report.conservation.ok = false;
        assert!(totals(&report).ends_with("conservation FAILED"));
    }
}
