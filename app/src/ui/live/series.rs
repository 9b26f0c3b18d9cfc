//! Time series of a live run: per node, one sample per interval of simulated time, derived
//! from the cumulative counters of two successive snapshots, kept in ring buffers that hold
//! about the last ten minutes of simulated time.
//!
//! Rates and windowed means come from count deltas over simulated time, so they are exact
//! for the interval: `in_per_sec = Δin / Δt`, `latency_mean_ms = Δ(mean × count) / Δcount`.
//! Percentiles come from the engine's rolling window ([`Snapshot::recent_latency`]): the
//! values of about the last second of simulated time before the sample, which is the
//! sample's interval at the usual spacing.
//!
//! [`Snapshot::recent_latency`]: flowbench_engine::runtime::Snapshot::recent_latency

use std::collections::{HashMap, VecDeque};

use flowbench_engine::Report;
use flowbench_engine::metrics::WindowPercentiles;
use flowbench_engine::report::{BreakerState, LatencySummary, NodeReport};

/// Simulated time a series keeps.
pub const KEEP_MS: f64 = 600_000.0;
/// Least simulated time between two samples: rates over a second are steady enough to
/// read, and ten minutes are 600 samples a node.
pub const SPACING_MS: f64 = 1000.0;
/// Samples one node keeps.
pub const CAPACITY: usize = (KEEP_MS / SPACING_MS) as usize + 1;
/// Graphs with more nodes than this record only the nodes the user watches.
pub const RECORD_ALL_UP_TO: usize = 1000;

/// A fixed-capacity buffer that forgets its oldest items.
#[derive(Debug, Clone)]
pub struct Ring<T> {
    items: VecDeque<T>,
    capacity: usize,
}

impl<T> Ring<T> {
    pub fn new(capacity: usize) -> Ring<T> {
        Ring {
            items: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Adds `item`, forgetting the oldest one when full.
    pub fn push(&mut self, item: T) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    /// Forgets the oldest items while `old` says so.
    pub fn forget_while(&mut self, old: impl Fn(&T) -> bool) {
        while self.items.front().is_some_and(&old) {
            self.items.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn last(&self) -> Option<&T> {
        self.items.back()
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator + '_ {
        self.items.iter()
    }

    pub fn clear(&mut self) {
        self.items.clear();
    }
}

/// Breaker states as numbers for plots and CSV: higher is worse.
pub fn breaker_level(state: BreakerState) -> u8 {
    match state {
        BreakerState::Closed => 0,
        BreakerState::HalfOpen => 1,
        BreakerState::Open => 2,
    }
}

/// One node over one interval ending at `t_ms`. Values a node does not have are NaN
/// (f32 keeps ten minutes of samples of a thousand nodes small).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Simulated time at the end of the interval.
    pub t_ms: f64,
    /// Length of the interval.
    pub dt_ms: f32,
    pub in_per_sec: f32,
    pub out_per_sec: f32,
    /// Waiting messages at `t_ms`: a queue's depth, a topic's over all subscribers.
    pub depth: f32,
    /// Mean busy workers over the interval (services).
    pub busy: f32,
    pub workers: f32,
    /// Busy share of the workers over the interval, 0..=1 (services).
    pub utilization: f32,
    /// Mean latency of what completed in the interval: end to end at a sink or client,
    /// service time at a service, wait at a queue.
    pub latency_mean_ms: f32,
    /// Percentiles of the same latency over the last [`RECENT_MS`] of simulated time before
    /// `t_ms` (not since the run started): after a slow period they come back down.
    ///
    /// [`RECENT_MS`]: flowbench_engine::runtime::RECENT_MS
    pub p50_ms: f32,
    pub p99_ms: f32,
    /// (failed + lost + dropped) in the interval over what came in, 0..=1.
    pub error_rate: f32,
    /// [`breaker_level`] at `t_ms` (breakers).
    pub breaker_state: f32,
}

impl Sample {
    /// `value` as an option: `None` where the node has no such number.
    pub fn get(value: f32) -> Option<f64> {
        (!value.is_nan()).then_some(f64::from(value))
    }
}

/// A node's cumulative counters at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    pub t_ms: f64,
    pub in_: u64,
    pub out: u64,
    /// failed + lost + dropped.
    pub errors: u64,
    /// Latency mean × count: the sum of every latency so far.
    pub latency_sum_ms: f64,
    pub latency_count: u64,
    /// Estimated worker·ms staffed since the start (workers between two snapshots are
    /// taken as those at the first); exact while the worker count does not change.
    pub staffed_area: f64,
    /// Utilization × staffed area: busy worker·ms since the start.
    pub busy_area: f64,
    pub workers: u32,
}

/// The latency a node's series follows: end to end where it ends requests or messages,
/// else its service time, else its wait.
pub fn latency_of(report: &NodeReport) -> Option<&LatencySummary> {
    report
        .latency_ms
        .as_ref()
        .or(report.service_ms.as_ref())
        .or(report.wait_ms.as_ref())
}

impl Counters {
    /// The counters of `report` at `t_ms`, continuing `prev` (for the staffed area).
    pub fn of(report: &NodeReport, t_ms: f64, prev: Option<&Counters>) -> Counters {
        let errors =
            report.failed.unwrap_or(0) + report.lost.unwrap_or(0) + report.dropped.unwrap_or(0);
        let (latency_sum_ms, latency_count) =
            latency_of(report).map_or((0.0, 0), |l| (l.mean * l.count as f64, l.count));
        let workers = report.workers.unwrap_or(0);
        let staffed_area = match prev {
            Some(p) => {
                let w = if p.workers > 0 { p.workers } else { workers };
                p.staffed_area + f64::from(w) * (t_ms - p.t_ms).max(0.0)
            }
            None => f64::from(workers) * t_ms,
        };
        let busy_area = report.utilization.unwrap_or(0.0) * staffed_area;
        Counters {
            t_ms,
            in_: report.in_,
            out: report.out,
            errors,
            latency_sum_ms,
            latency_count,
            staffed_area,
            busy_area,
            workers,
        }
    }

    /// Counters of a run that has not started: everything zero at time 0.
    pub fn origin() -> Counters {
        Counters::default()
    }
}

/// The sample for the interval from `prev` to `now`, or `None` when no time passed;
/// `recent` is the node's latency percentiles over the last second at `now`.
pub fn sample_between(
    prev: &Counters,
    now: &Counters,
    report: &NodeReport,
    recent: Option<&WindowPercentiles>,
) -> Option<Sample> {
    let dt_ms = now.t_ms - prev.t_ms;
    if dt_ms <= 0.0 {
        return None;
    }
    let dt_s = dt_ms / 1000.0;
    let d_in = now.in_.saturating_sub(prev.in_);
    let d_out = now.out.saturating_sub(prev.out);
    let d_err = now.errors.saturating_sub(prev.errors);
    let nan = f32::NAN;
    let latency = latency_of(report);
    let d_count = now.latency_count.saturating_sub(prev.latency_count);
    let latency_mean_ms = match latency {
        Some(_) if d_count > 0 => {
            ((now.latency_sum_ms - prev.latency_sum_ms) / d_count as f64).max(0.0) as f32
        }
        _ => nan,
    };
    let (p50_ms, p99_ms) = match (latency, recent) {
        (Some(_), Some(w)) if w.count > 0 => (w.p50 as f32, w.p99 as f32),
        _ => (nan, nan),
    };
    let (utilization, busy, workers) = match report.workers {
        Some(w) => {
            let staffed = now.staffed_area - prev.staffed_area;
            let u = if staffed > 0.0 {
                ((now.busy_area - prev.busy_area) / staffed).clamp(0.0, 1.0)
            } else {
                0.0
            };
            (u as f32, (u * f64::from(w)) as f32, w as f32)
        }
        None => (nan, nan, nan),
    };
    // Nodes that take no input (producers) measure errors against what they sent.
    let base = if d_in > 0 { d_in } else { d_out };
    let error_rate = if d_err == 0 {
        0.0
    } else {
        d_err as f32 / base.max(d_err) as f32
    };
    Some(Sample {
        t_ms: now.t_ms,
        dt_ms: dt_ms as f32,
        in_per_sec: (d_in as f64 / dt_s) as f32,
        out_per_sec: (d_out as f64 / dt_s) as f32,
        depth: report.depth.map_or(nan, |d| d.last as f32),
        busy,
        workers,
        utilization,
        latency_mean_ms,
        p50_ms,
        p99_ms,
        error_rate,
        breaker_state: report.state.map_or(nan, |s| f32::from(breaker_level(s))),
    })
}

/// One node's samples and the counters of its last sample.
#[derive(Debug, Clone)]
pub struct NodeSeries {
    pub samples: Ring<Sample>,
    last: Option<Counters>,
}

impl NodeSeries {
    fn new(last: Option<Counters>) -> NodeSeries {
        NodeSeries {
            samples: Ring::new(CAPACITY),
            last,
        }
    }

    /// Samples from `from_ms` on (oldest first).
    pub fn since(&self, from_ms: f64) -> impl Iterator<Item = &Sample> + '_ {
        let skip = self.samples.iter().take_while(|s| s.t_ms < from_ms).count();
        self.samples.iter().skip(skip)
    }

    pub fn last(&self) -> Option<&Sample> {
        self.samples.last()
    }

    /// In and out rates over the last `window_ms` of simulated time (at least the last
    /// sample's interval): time-weighted over the samples, so exact count deltas.
    pub fn rates_over(&self, window_ms: f64) -> Option<(f64, f64)> {
        let last = self.samples.last()?;
        let from = last.t_ms - window_ms;
        let (mut span, mut ins, mut outs) = (0.0, 0.0, 0.0);
        for s in self.samples.iter().rev() {
            let dt = f64::from(s.dt_ms);
            span += dt;
            ins += f64::from(s.in_per_sec) * dt;
            outs += f64::from(s.out_per_sec) * dt;
            if s.t_ms - dt <= from {
                break;
            }
        }
        (span > 0.0).then(|| (ins / span, outs / span))
    }
}

/// Every recorded node's series, plus one for the graph as a whole (created, delivered,
/// failed + lost + dropped, in flight).
#[derive(Debug, Clone)]
pub struct Series {
    nodes: HashMap<String, NodeSeries>,
    /// Created as "in", delivered as "out", in flight as "depth".
    pub graph: NodeSeries,
    /// Whether a snapshot was recorded yet: nodes present in the first one count from the
    /// run's start, nodes recorded later from their first snapshot.
    started: bool,
}

impl Default for Series {
    fn default() -> Self {
        Series {
            nodes: HashMap::new(),
            graph: NodeSeries::new(Some(Counters::origin())),
            started: false,
        }
    }
}

impl Series {
    pub fn node(&self, id: &str) -> Option<&NodeSeries> {
        self.nodes.get(id)
    }

    pub fn is_empty(&self) -> bool {
        self.graph.samples.is_empty() && self.nodes.values().all(|n| n.samples.is_empty())
    }

    /// Adds the samples `report` makes, for the nodes `record` picks; `recent` holds the
    /// nodes' recent latency percentiles in the report's order
    /// ([`flowbench_engine::runtime::Snapshot::recent_latency`]). A report less than the
    /// sample spacing after the last sample is skipped (its interval joins the next).
    pub fn record(
        &mut self,
        report: &Report,
        recent: &[Option<WindowPercentiles>],
        record: impl Fn(&str) -> bool,
    ) {
        let t = report.sim_time_ms;
        let first = !self.started;
        self.started = true;
        let graph_report = graph_as_node(report);
        push_sample(&mut self.graph, &graph_report, t, None);
        for (i, (id, node)) in report.nodes.iter().enumerate() {
            if !record(id) {
                continue;
            }
            let series = self
                .nodes
                .entry(id.clone())
                .or_insert_with(|| NodeSeries::new(first.then(Counters::origin)));
            push_sample(series, node, t, recent.get(i).and_then(Option::as_ref));
        }
        let horizon = t - KEEP_MS;
        self.graph.samples.forget_while(|s| s.t_ms < horizon);
        for series in self.nodes.values_mut() {
            series.samples.forget_while(|s| s.t_ms < horizon);
        }
    }

    /// Every recorded node id with its series, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &NodeSeries)> + '_ {
        self.nodes.iter()
    }
}

fn push_sample(
    series: &mut NodeSeries,
    report: &NodeReport,
    t_ms: f64,
    recent: Option<&WindowPercentiles>,
) {
    match series.last {
        Some(prev) if t_ms - prev.t_ms < SPACING_MS => {}
        Some(prev) => {
            let now = Counters::of(report, t_ms, Some(&prev));
            if let Some(sample) = sample_between(&prev, &now, report, recent) {
                series.samples.push(sample);
            }
            series.last = Some(now);
        }
        None => series.last = Some(Counters::of(report, t_ms, None)),
    }
}

/// The graph's totals as if they were one node.
fn graph_as_node(report: &Report) -> NodeReport {
    let t = &report.totals;
    NodeReport {
        kind: "graph".to_owned(),
        in_: t.created,
        out: t.delivered,
        failed: Some(t.failed),
        lost: Some(t.lost),
        dropped: Some(t.dropped),
        depth: Some(flowbench_engine::report::GaugeSummary {
            mean: 0.0,
            max: 0.0,
            last: t.in_flight as f64,
        }),
        ..NodeReport::default()
    }
}

#[cfg(test)]
mod tests {
    use flowbench_engine::report::GaugeSummary;

    use super::*;

    fn service(
        in_: u64,
        out: u64,
        failed: u64,
        latency: (f64, u64),
        utilization: f64,
        workers: u32,
    ) -> NodeReport {
        NodeReport {
            kind: "service".into(),
            in_,
            out,
            failed: Some(failed),
            lost: Some(0),
            utilization: Some(utilization),
            workers: Some(workers),
            service_ms: Some(LatencySummary {
                mean: latency.0,
                p50: latency.0,
                p99: latency.0 * 3.0,
                max: latency.0 * 4.0,
                count: latency.1,
            }),
            ..NodeReport::default()
        }
    }

    /// Rates are count deltas over simulated time, the latency mean is the exact mean of
    /// what completed in the interval, and utilization is windowed, not cumulative.
    #[test]
    fn rates_and_means_come_from_deltas() {
        // 0..2 s: 100 in, 90 out, mean 10 ms over 90, utilization 0.5 of 4 workers.
        let r1 = service(100, 90, 0, (10.0, 90), 0.5, 4);
        let c1 = Counters::of(&r1, 2000.0, Some(&Counters::origin()));
        let s1 = sample_between(&Counters::origin(), &c1, &r1, None).unwrap();
        assert_eq!(s1.in_per_sec, 50.0);
        assert_eq!(s1.out_per_sec, 45.0);
        assert_eq!(s1.latency_mean_ms, 10.0);
        assert!((s1.utilization - 0.5).abs() < 1e-6);
        assert!((s1.busy - 2.0).abs() < 1e-6);
        // 2..3 s: 60 more in, 70 more out at 40 ms each (cumulative mean (900+2800)/160),
        // 6 failed; fully busy (cumulative utilization (0.5·8000 + 4000)/12000).
        let r2 = service(160, 160, 6, (3700.0 / 160.0, 160), 8000.0 / 12000.0, 4);
        let c2 = Counters::of(&r2, 3000.0, Some(&c1));
        let s2 = sample_between(&c1, &c2, &r2, None).unwrap();
        assert_eq!(s2.in_per_sec, 60.0);
        assert_eq!(s2.out_per_sec, 70.0);
        assert!(
            (s2.latency_mean_ms - 40.0).abs() < 1e-3,
            "{}",
            s2.latency_mean_ms
        );
        assert!((s2.utilization - 1.0).abs() < 1e-6, "{}", s2.utilization);
        assert!((s2.error_rate - 0.1).abs() < 1e-6);
        assert_eq!(s2.dt_ms, 1000.0);
        // No time passed: no sample.
        assert!(sample_between(&c2, &c2, &r2, None).is_none());
    }

    /// An interval with no input and no errors has error rate 0; losses without input
    /// count fully; a queue's depth and a breaker's state are the values at the end.
    #[test]
    fn error_rate_depth_and_breaker_state() {
        let q = |in_, lost, depth| NodeReport {
            kind: "queue".into(),
            in_,
            lost: Some(lost),
            depth: Some(GaugeSummary {
                mean: 0.0,
                max: 0.0,
                last: depth,
            }),
            ..NodeReport::default()
        };
        let (a, b) = (q(10, 0, 7.0), q(10, 5, 0.0));
        let ca = Counters::of(&a, 1000.0, None);
        let cb = Counters::of(&b, 2000.0, Some(&ca));
        let s = sample_between(&ca, &ca.with_time(1500.0), &a, None).unwrap();
        assert_eq!((s.error_rate, s.depth), (0.0, 7.0));
        let s = sample_between(&ca, &cb, &b, None).unwrap();
        assert_eq!((s.error_rate, s.depth, s.in_per_sec), (1.0, 0.0, 0.0));
        assert!(s.latency_mean_ms.is_nan() && s.breaker_state.is_nan());
        let breaker = NodeReport {
            kind: "breaker".into(),
            state: Some(BreakerState::Open),
            ..NodeReport::default()
        };
        let c = Counters::of(&breaker, 10.0, None);
        let s = sample_between(&Counters::origin(), &c, &breaker, None).unwrap();
        assert_eq!(s.breaker_state, 2.0);
    }

    impl Counters {
        fn with_time(mut self, t_ms: f64) -> Counters {
            self.t_ms = t_ms;
            self
        }
    }

    /// A ring forgets its oldest items at capacity and on request.
    #[test]
    fn ring_buffer_forgets_the_oldest() {
        let mut ring = Ring::new(3);
        for i in 0..5 {
            ring.push(i);
        }
        assert_eq!(ring.iter().copied().collect::<Vec<_>>(), [2, 3, 4]);
        ring.forget_while(|&i| i < 4);
        assert_eq!(ring.iter().copied().collect::<Vec<_>>(), [4]);
        ring.forget_while(|_| true);
        assert!(ring.is_empty());
        assert_eq!(ring.capacity(), 3);
    }

    fn report(t_ms: f64, nodes: &[(&str, NodeReport)]) -> Report {
        Report {
            format: "flowbench.report".into(),
            version: 1,
            graph: "g".into(),
            seed: 0,
            sim_time_ms: t_ms,
            wall_time_ms: 0.0,
            events: 0,
            totals: Default::default(),
            conservation: Default::default(),
            nodes: nodes
                .iter()
                .map(|(id, r)| ((*id).to_owned(), r.clone()))
                .collect(),
        }
    }

    /// The series keeps about ten minutes of simulated time, skips snapshots closer than
    /// its spacing, and counts nodes of the first snapshot from the run's start.
    #[test]
    fn series_keeps_ten_minutes_at_its_spacing() {
        let mut series = Series::default();
        let sink = |n| NodeReport {
            kind: "sink".into(),
            in_: n,
            ..NodeReport::default()
        };
        // Closer than the spacing to the start: skipped, joins the next interval.
        series.record(&report(500.0, &[("s", sink(5))]), &[], |_| true);
        assert!(series.node("s").unwrap().last().is_none());
        // From the start: 10 in the first second.
        series.record(&report(1000.0, &[("s", sink(10))]), &[], |_| true);
        assert_eq!(series.node("s").unwrap().last().unwrap().in_per_sec, 10.0);
        series.record(&report(1500.0, &[("s", sink(11))]), &[], |_| true);
        series.record(&report(3000.0, &[("s", sink(50))]), &[], |_| true);
        let s = series.node("s").unwrap();
        assert_eq!(s.samples.len(), 2);
        assert!((s.last().unwrap().in_per_sec - 20.0).abs() < 1e-3);
        assert_eq!(s.rates_over(3000.0).map(|r| r.0.round()), Some(17.0));
        // Eleven minutes later only the last ten are kept.
        for i in 1..=660_u32 {
            let t = 3000.0 + f64::from(i) * 1000.0;
            series.record(&report(t, &[("s", sink(50 + u64::from(i)))]), &[], |_| true);
        }
        let s = series.node("s").unwrap();
        let first = s.samples.iter().next().unwrap().t_ms;
        let last = s.last().unwrap().t_ms;
        assert_eq!(last - first, KEEP_MS, "{first}..{last}");
        assert_eq!(s.samples.len(), CAPACITY);
        assert!(series.node("other").is_none());
    }
}
