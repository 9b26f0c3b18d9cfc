//! Counters, time-weighted gauges and latency histograms: what nodes record while a run goes,
//! and the summaries the report shows.

use hdrhistogram::Histogram;

use crate::report::{GaugeSummary, LatencySummary};
use crate::sim::{Time, ns_to_ms};

/// A value that changes over time (a queue's depth, busy workers) with its time-weighted
/// mean: the area under the curve divided by the time observed.
#[derive(Debug, Clone, Default)]
pub struct TimeGauge {
    value: u64,
    max: u64,
    since: Time,
    /// Sum of value × duration in value·ns; u128 because an hour at depth 10⁷ overflows u64.
    area: u128,
}

impl TimeGauge {
    pub fn value(&self) -> u64 {
        self.value
    }

    pub fn set(&mut self, now: Time, value: u64) {
        if value == self.value {
            return;
        }
        self.area += u128::from(self.value) * u128::from(now.saturating_sub(self.since));
        self.since = now;
        self.value = value;
        self.max = self.max.max(value);
    }

    /// Area under the curve from time 0 to `now`, in value·ns.
    pub fn area(&self, now: Time) -> u128 {
        self.area + u128::from(self.value) * u128::from(now.saturating_sub(self.since))
    }

    /// Time-weighted mean from time 0 to `now`.
    pub fn mean(&self, now: Time) -> f64 {
        if now == 0 {
            return self.value as f64;
        }
        self.area(now) as f64 / now as f64
    }

    pub fn summary(&self, now: Time) -> GaugeSummary {
        GaugeSummary {
            mean: self.mean(now),
            max: self.max as f64,
            last: self.value as f64,
        }
    }
}

/// A distribution of durations: exact count, mean and max, percentiles from an HDR
/// histogram with three significant digits.
#[derive(Debug, Clone)]
pub struct Latency {
    hist: Histogram<u64>,
    count: u64,
    sum_ns: u128,
    max_ns: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            hist: Histogram::new(3).expect("3 significant digits is a valid histogram"),
            count: 0,
            sum_ns: 0,
            max_ns: 0,
        }
    }
}

impl Latency {
    pub fn record(&mut self, ns: Time) {
        // The histogram grows to fit; should it refuse, the value is clamped to its range.
        let v = ns.max(1);
        if self.hist.record(v).is_err() {
            self.hist.saturating_record(v);
        }
        self.count += 1;
        self.sum_ns += u128::from(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn mean_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            ns_to_ms((self.sum_ns / u128::from(self.count)) as u64)
                + ((self.sum_ns % u128::from(self.count)) as f64 / self.count as f64) / 1e6
        }
    }

    pub fn summary(&self) -> LatencySummary {
        if self.count == 0 {
            return LatencySummary::default();
        }
        LatencySummary {
            mean: self.mean_ms(),
            p50: ns_to_ms(self.hist.value_at_quantile(0.5)),
            p99: ns_to_ms(self.hist.value_at_quantile(0.99)),
            max: ns_to_ms(self.max_ns),
            count: self.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gauge's mean weighs each value by how long it held.
    #[test]
    fn gauge_mean_is_time_weighted() {
        let mut g = TimeGauge::default();
        g.set(0, 2); // 2 for 10 ns
        g.set(10, 0); // 0 for 30 ns
        assert_eq!(g.mean(40), 0.5);
        assert_eq!(g.summary(40).max, 2.0);
    }

    /// Mean and max are exact; percentiles within the histogram's precision.
    #[test]
    fn latency_summary() {
        let mut l = Latency::default();
        for ms in 1..=100u64 {
            l.record(ms * 1_000_000);
        }
        let s = l.summary();
        assert_eq!(s.mean, 50.5);
        assert_eq!(s.max, 100.0);
        assert!((s.p50 - 50.0).abs() < 0.1, "{}", s.p50);
        assert!((s.p99 - 99.0).abs() < 0.1, "{}", s.p99);
    }
}
