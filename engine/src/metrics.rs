//! Counters, time-weighted gauges and latency histograms: what nodes record while a run goes,
//! and the summaries the report shows.

use std::collections::VecDeque;

use crate::report::{GaugeSummary, LatencySummary};
use crate::sim::{Time, ns_to_ms};

/// A value that changes over time (a queue's depth, busy workers) with its time-weighted
/// mean: the area under the curve divided by the time observed.
#[derive(Debug, Clone, Default)]
pub struct TimeGauge {
    value: u64,
    max: u64,
    since: Time,
    /// Sum of value × duration in value·ns, the low and high halves of a u128 (an hour at
    /// depth 10⁷ overflows u64): two words, so that a gauge needs no 16-byte alignment
    /// and packs tightly beside a node's other hot fields.
    area: [u64; 2],
}

impl TimeGauge {
    pub fn value(&self) -> u64 {
        self.value
    }

    pub fn set(&mut self, now: Time, value: u64) {
        if value == self.value {
            return;
        }
        let area = self.area_before(now);
        self.area = [area as u64, (area >> 64) as u64];
        self.since = now;
        self.value = value;
        self.max = self.max.max(value);
    }

    /// Area under the curve from time 0 to `now`, in value·ns.
    pub fn area(&self, now: Time) -> u128 {
        self.area_before(now)
    }

    #[inline]
    fn area_before(&self, now: Time) -> u128 {
        let [low, high] = self.area;
        (u128::from(high) << 64 | u128::from(low))
            + u128::from(self.value) * u128::from(now.saturating_sub(self.since))
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

/// Sub-buckets per power of two: 64, so a bucket is at most 1/64 of its values wide and its
/// midpoint is within 0.8 % of every value in it (two significant digits).
const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;

/// The bucket of `v`: values below 64 ns have one bucket each; above, every power of two
/// [2^e, 2^(e+1)) is split into 64 equal buckets. A `leading_zeros`, a shift and a mask.
#[inline]
fn bucket_of(v: u64) -> usize {
    if v < SUB as u64 {
        v as usize
    } else {
        let e = 63 - v.leading_zeros(); // ≥ SUB_BITS
        let shift = e - SUB_BITS;
        (((shift + 1) as usize) << SUB_BITS) | ((v >> shift) as usize & (SUB - 1))
    }
}

/// The smallest value of bucket `b` and its width.
fn bucket_range(b: usize) -> (u64, u64) {
    let block = b >> SUB_BITS;
    let sub = (b & (SUB - 1)) as u64;
    if block == 0 {
        (sub, 1)
    } else {
        let shift = (block - 1) as u32;
        ((SUB as u64 + sub) << shift, 1 << shift)
    }
}

/// A distribution of durations: exact count, mean, min and max; percentiles from a
/// log-linear histogram with 64 buckets per power of two (within 0.8 %). The counters
/// cover only the powers of two seen so far (a few KiB) and are allocated on the first
/// record, so a node that never records costs nothing.
///
/// In a big graph (see [`Latency::batch_records`]) recording notes the value's bucket beside
/// the exact figures and adds eight buckets to the counters at a time: there the counters
/// are rarely in cache, and eight independent increments wait for memory together rather
/// than one after another.
///
/// What a record reads and writes comes first (`repr(C)`), 56 bytes, then what adding the
/// staged buckets reads; the high half of the sum, written once in 2⁶⁴ ns, comes last.
#[derive(Debug, Clone)]
#[repr(C)]
pub struct Latency {
    /// Buckets recorded but not yet counted in `counts`.
    staged: [u16; STAGED],
    n_staged: u8,
    /// Stage buckets instead of counting each at once.
    batched: bool,
    /// The counters are `u32` words; otherwise two `u16` counters share each word.
    wide: bool,
    count: u64,
    /// `u64::MAX` until the first record.
    min_ns: u64,
    max_ns: u64,
    /// The sum of the values: its low half here, the high half in `sum_high`.
    sum_low: u64,
    /// Counters of buckets `first_block * 64 ..`, one block of 64 per power of two: a
    /// `u32` each; in a big graph a `u16` each (the low half of a word first) until one
    /// would pass 65,535, then a `u32` each. A big graph's histograms take up half the
    /// cache lines that way: most of them never count that many values in one bucket.
    counts: Vec<u32>,
    first_block: usize,
    sum_high: u64,
}

/// Buckets noted before they are added to the counters.
const STAGED: usize = 8;

impl Default for Latency {
    fn default() -> Self {
        Latency {
            counts: Vec::new(),
            first_block: 0,
            count: 0,
            sum_low: 0,
            sum_high: 0,
            min_ns: u64::MAX,
            max_ns: 0,
            staged: [0; STAGED],
            n_staged: 0,
            batched: false,
            wide: true,
        }
    }
}

impl Latency {
    /// Counts buckets eight at a time from now on, in 16-bit counters while they fit:
    /// for graphs too big for the caches. Reports are the same either way.
    pub fn batch_records(&mut self) {
        self.batched = true;
        if self.counts.is_empty() {
            self.wide = false;
        }
    }

    #[inline]
    pub fn record(&mut self, ns: Time) {
        let b = bucket_of(ns);
        if self.batched {
            self.staged[usize::from(self.n_staged) % STAGED] = b as u16;
            self.n_staged += 1;
            if usize::from(self.n_staged) == STAGED {
                self.add_staged();
            }
        } else {
            // Unbatched counters are always `u32`s (see `batch_records`).
            debug_assert!(self.wide);
            match self
                .counts
                .get_mut(b.wrapping_sub(self.first_block << SUB_BITS))
            {
                Some(c) if *c < u32::MAX => *c += 1,
                _ => self.count_slow(b),
            }
        }
        self.min_ns = self.min_ns.min(ns);
        self.count += 1;
        let (low, carry) = self.sum_low.overflowing_add(ns);
        self.sum_low = low;
        if carry {
            self.sum_high += 1;
        }
        self.max_ns = self.max_ns.max(ns);
    }

    /// Adds the staged buckets to the counters.
    fn add_staged(&mut self) {
        let base = self.first_block << SUB_BITS;
        for k in 0..usize::from(self.n_staged) {
            self.count_bucket(usize::from(self.staged[k]), base);
        }
        self.n_staged = 0;
    }

    /// Adds one to bucket `b`'s counter (`base`: the first counter's bucket).
    #[inline(always)]
    fn count_bucket(&mut self, b: usize, base: usize) {
        let i = b.wrapping_sub(base);
        if self.wide {
            match self.counts.get_mut(i) {
                Some(c) if *c < u32::MAX => *c += 1,
                _ => self.count_slow(b),
            }
        } else {
            let shift = (i & 1) * 16;
            match self.counts.get_mut(i >> 1) {
                Some(c) if (*c >> shift) & 0xffff != 0xffff => *c += 1 << shift,
                _ => self.count_slow(b),
            }
        }
    }

    /// Counters per word of `counts`: 1 or 2.
    fn per_word(&self) -> usize {
        if self.wide { 1 } else { 2 }
    }

    /// Counter `j` of a word of `counts` (`j < per_word()`).
    fn in_word(&self, word: u32, j: usize) -> u32 {
        if self.wide {
            word
        } else {
            (word >> (16 * j)) & 0xffff
        }
    }

    /// Counters in all (buckets covered).
    fn n_counters(&self) -> usize {
        self.counts.len() * self.per_word()
    }

    /// Counter `i` (of bucket `first_block * 64 + i`).
    fn counter(&self, i: usize) -> u32 {
        let per_word = self.per_word();
        self.in_word(self.counts[i / per_word], i % per_word)
    }

    /// The counters in bucket order.
    fn counters(&self) -> Vec<u32> {
        (0..self.n_counters()).map(|i| self.counter(i)).collect()
    }

    /// The sum of the counters, word by word (a live view of a big graph sums every
    /// node's counters a few times a second).
    fn counted(&self) -> u64 {
        if self.wide {
            self.counts.iter().map(|&w| u64::from(w)).sum()
        } else {
            self.counts
                .iter()
                .map(|&w| u64::from(w & 0xffff) + u64::from(w >> 16))
                .sum()
        }
    }

    /// A bucket outside the counters' range (they grow to cover it), or a full counter.
    #[cold]
    fn count_slow(&mut self, b: usize) {
        let block = b >> SUB_BITS;
        // Words per block of counters.
        let words = SUB / self.per_word();
        if self.counts.is_empty() {
            self.first_block = block;
            self.counts = vec![0; words];
        } else {
            let last_block = self.first_block + self.counts.len() / words - 1;
            if block < self.first_block {
                let mut grown = vec![0; (self.first_block - block) * words];
                grown.extend_from_slice(&self.counts);
                self.counts = grown;
                self.first_block = block;
            } else if block > last_block {
                self.counts
                    .resize((block + 1 - self.first_block) * words, 0);
            }
        }
        let i = b - (self.first_block << SUB_BITS);
        if !self.wide && self.counter(i) == u32::from(u16::MAX) {
            // A bucket outgrows 16 bits: every counter gets a word of its own.
            self.counts = self.counters();
            self.wide = true;
        }
        if self.wide && self.counts[i] == u32::MAX {
            // Over four billion values in one bucket: halve every counter (rounding up,
            // so no bucket empties); percentiles depend only on the counters' ratios.
            for c in &mut self.counts {
                *c = c.div_ceil(2);
            }
        }
        self.count_bucket(b, self.first_block << SUB_BITS);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn mean_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            let sum = u128::from(self.sum_high) << 64 | u128::from(self.sum_low);
            ns_to_ms((sum / u128::from(self.count)) as u64)
                + ((sum % u128::from(self.count)) as f64 / self.count as f64) / 1e6
        }
    }

    /// The value at quantile `q`: the midpoint of the bucket holding the value of rank
    /// ceil(q × count), kept within the exact min and max.
    #[cfg(test)]
    fn value_at_quantile(&self, q: f64) -> u64 {
        self.values_at_quantiles([q])[0]
    }

    /// The values at quantiles `qs` (in increasing order), in one walk over the counters.
    fn values_at_quantiles<const N: usize>(&self, qs: [f64; N]) -> [u64; N] {
        let mut staged = self.staged;
        let staged = &mut staged[..usize::from(self.n_staged)];
        staged.sort_unstable();
        let total = self.counted() + staged.len() as u64;
        let ranks = qs.map(|q| ((q * total as f64).ceil() as u64).clamp(1, total.max(1)));
        let mut values = [self.max_ns; N];
        let value = |b: usize| {
            let (low, width) = bucket_range(b);
            (low + (width - 1) / 2).clamp(self.min_ns, self.max_ns)
        };
        // Walk the buckets in order, the counters' and the staged ones merged; a word of
        // counters at zero with no staged bucket in it is passed over at once.
        let mut found = 0;
        let mut seen = 0;
        let mut reach = |bucket: usize, seen: u64, found: &mut usize| {
            while *found < N && seen >= ranks[*found] {
                values[*found] = value(bucket);
                *found += 1;
            }
            *found == N
        };
        let base = self.first_block << SUB_BITS;
        let per_word = self.per_word();
        let mut st = 0;
        for (wi, &word) in self.counts.iter().enumerate() {
            let first = base + wi * per_word;
            if word == 0
                && staged
                    .get(st)
                    .is_none_or(|&s| usize::from(s) >= first + per_word)
            {
                continue;
            }
            for j in 0..per_word {
                let b = first + j;
                while let Some(&s) = staged.get(st).filter(|&&s| usize::from(s) < b) {
                    st += 1;
                    seen += 1;
                    if reach(usize::from(s), seen, &mut found) {
                        return values;
                    }
                }
                seen += u64::from(self.in_word(word, j));
                while staged.get(st).is_some_and(|&s| usize::from(s) == b) {
                    st += 1;
                    seen += 1;
                }
                if reach(b, seen, &mut found) {
                    return values;
                }
            }
        }
        for &s in &staged[st..] {
            seen += 1;
            if reach(usize::from(s), seen, &mut found) {
                return values;
            }
        }
        values
    }

    pub fn summary(&self) -> LatencySummary {
        if self.count == 0 {
            return LatencySummary::default();
        }
        let [p50, p99] = self.values_at_quantiles([0.5, 0.99]);
        LatencySummary {
            mean: self.mean_ms(),
            p50: ns_to_ms(p50),
            p99: ns_to_ms(p99),
            max: ns_to_ms(self.max_ns),
            count: self.count,
        }
    }
}

/// Percentiles of the values a histogram recorded over a recent window (see
/// [`RecentLatency`]), in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowPercentiles {
    pub p50: f64,
    pub p99: f64,
    /// Values in the window.
    pub count: u64,
}

/// A rolling window over a [`Latency`]: the percentiles of only the values recorded during
/// about the last `span` of simulated time, with the histogram's precision.
///
/// [`RecentLatency::update`] is called at successive instants (the live run's snapshots).
/// Each call takes the difference between the histogram's counters and those seen at the
/// previous call, a short list of (bucket, count) steps, and keeps the steps of the instants
/// within the last `span`: the window holds every value recorded since the last update at
/// least `span` ago, so it covers at least `span` (once the run is that old) and at most
/// `span` plus one interval between updates. When updates are further apart than `span`
/// (a fast run), the window is the interval since the previous update.
#[derive(Debug, Clone, Default)]
pub struct RecentLatency {
    /// The counters of buckets `first_block * 64 ..` as of the last update, staged values
    /// included.
    seen: Vec<u32>,
    /// The counters of the values in the window, same layout.
    window: Vec<u32>,
    first_block: usize,
    /// Per update with new values: its instant and the buckets it added.
    steps: VecDeque<(Time, Vec<(u32, u32)>)>,
    /// Values in the window.
    count: u64,
    /// The histogram's count at the last update.
    recorded: u64,
    /// The percentiles of the window as of the last update.
    last: Option<WindowPercentiles>,
}

impl RecentLatency {
    /// Takes in what `latency` recorded since the last update, forgets the updates more than
    /// `span` before `now`, and gives the percentiles of what is left (`None` when the window
    /// holds no value). Costs a walk over the histogram's counters when it has new values,
    /// next to nothing when not.
    pub fn update(
        &mut self,
        latency: &Latency,
        now: Time,
        span: Time,
    ) -> Option<WindowPercentiles> {
        let mut changed = false;
        if latency.count != self.recorded {
            self.recorded = latency.count;
            changed |= self.take_new(latency, now);
        }
        while let Some(&(t, _)) = self.steps.front() {
            if t.saturating_add(span) > now {
                break;
            }
            let (_, step) = self.steps.pop_front().expect("a front step");
            let base = self.first_block << SUB_BITS;
            for (b, c) in step {
                let w = &mut self.window[b as usize - base];
                *w = w.saturating_sub(c);
                self.count -= u64::from(c);
            }
            changed = true;
        }
        if changed {
            self.last = self.percentiles(latency);
        }
        self.last
    }

    /// Adds the values recorded since the last update to the window as one step; whether
    /// there were any.
    fn take_new(&mut self, latency: &Latency, now: Time) -> bool {
        // Cover the histogram's range.
        if !latency.counts.is_empty() {
            if self.seen.is_empty() {
                self.first_block = latency.first_block;
            } else if latency.first_block < self.first_block {
                let grow = (self.first_block - latency.first_block) * SUB;
                for v in [&mut self.seen, &mut self.window] {
                    let mut grown = vec![0; grow];
                    grown.extend_from_slice(v);
                    *v = grown;
                }
                self.first_block = latency.first_block;
            }
            let len = (latency.first_block - self.first_block) * SUB + latency.n_counters();
            if self.seen.len() < len {
                self.seen.resize(len, 0);
                self.window.resize(len, 0);
            }
        }
        let mut staged = latency.staged;
        let staged = &mut staged[..usize::from(latency.n_staged)];
        staged.sort_unstable();
        let mut staged = staged.iter().map(|&b| usize::from(b)).peekable();
        let base = self.first_block << SUB_BITS;
        let offset = (latency.first_block << SUB_BITS).wrapping_sub(base);
        let mut step = Vec::new();
        let per_word = latency.per_word();
        for (wi, &word) in latency.counts.iter().enumerate() {
            // A word of counters at zero has nothing new (a counter never goes back to
            // zero) unless a staged bucket falls in it.
            let first = offset + base + wi * per_word;
            if word == 0 && staged.peek().is_none_or(|&s| s >= first + per_word) {
                continue;
            }
            for j in 0..per_word {
                let i = wi * per_word + j;
                let mut now_count = u64::from(latency.in_word(word, j));
                let b = i + offset + base;
                while staged.next_if_eq(&b).is_some() {
                    now_count += 1;
                }
                let seen = &mut self.seen[i + offset];
                let before = u64::from(*seen);
                if now_count != before {
                    // Fewer than before only when the histogram halved its counters (billions
                    // of values in one bucket): the bucket starts over from there.
                    let added = now_count.saturating_sub(before).min(u64::from(u32::MAX)) as u32;
                    *seen = now_count.min(u64::from(u32::MAX)) as u32;
                    if added > 0 {
                        step.push((b as u32, added));
                    }
                }
            }
        }
        // Staged buckets not met in the walk above, or outside the counters' range (these
        // are taken once counted: the next update looks again).
        for b in staged {
            if b < base || b - base >= self.seen.len() {
                self.recorded = u64::MAX;
                continue;
            }
            let i = b - base;
            self.seen[i] += 1;
            match step.iter_mut().find(|(s, _)| *s as usize == b) {
                Some((_, c)) => *c += 1,
                None => step.push((b as u32, 1)),
            }
        }
        if step.is_empty() {
            return false;
        }
        for &(b, c) in &step {
            let w = &mut self.window[b as usize - base];
            *w = w.saturating_add(c);
            self.count += u64::from(c);
        }
        self.steps.push_back((now, step));
        true
    }

    /// p50 and p99 of the window, as [`Latency`] computes them: the midpoint of the bucket
    /// of rank ceil(q × count), kept within the histogram's exact min and max.
    fn percentiles(&self, latency: &Latency) -> Option<WindowPercentiles> {
        if self.count == 0 {
            return None;
        }
        let rank = |q: f64| ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let ranks = [rank(0.5), rank(0.99)];
        let mut values = [latency.max_ns; 2];
        let value = |b: usize| {
            let (low, width) = bucket_range(b);
            (low + (width - 1) / 2).clamp(latency.min_ns, latency.max_ns)
        };
        let base = self.first_block << SUB_BITS;
        let mut seen = 0;
        let mut next = 0;
        for (i, &c) in self.window.iter().enumerate() {
            if c == 0 {
                continue;
            }
            seen += u64::from(c);
            while next < 2 && seen >= ranks[next] {
                values[next] = value(base + i);
                next += 1;
            }
            if next == 2 {
                break;
            }
        }
        Some(WindowPercentiles {
            p50: ns_to_ms(values[0]),
            p99: ns_to_ms(values[1]),
            count: self.count,
        })
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
        assert!((s.p50 - 50.0).abs() < 0.5, "{}", s.p50);
        assert!((s.p99 - 99.0).abs() < 0.99, "{}", s.p99);
    }

    /// Every value lands in a bucket that contains it, buckets are in value order, and a
    /// bucket's midpoint is within 0.8 % of the values in it.
    #[test]
    fn buckets_contain_their_values() {
        let mut values: Vec<u64> = (0..5000).collect();
        for e in 6..64 {
            let p = 1u64 << e;
            values.extend([p - 1, p, p + 1, p + p / 3, p + p / 2 + 7]);
        }
        values.push(u64::MAX);
        let mut last = 0;
        values.sort_unstable();
        for v in values {
            let b = bucket_of(v);
            assert!(b >= last, "{v}");
            last = b;
            let (low, width) = bucket_range(b);
            assert!(
                low <= v && v - low < width,
                "{v}: bucket {b} = {low} + {width}"
            );
            let mid = low + (width - 1) / 2;
            assert!(
                mid.abs_diff(v) as f64 <= v as f64 / 128.0 + 0.5,
                "{v}: {mid}"
            );
        }
    }

    /// Percentiles within 1 % of the exact ones over six decades, min and max exact, and
    /// the counters cover only the range seen.
    #[test]
    fn latency_percentiles_within_one_percent() {
        let mut l = Latency::default();
        assert!(l.counts.is_empty());
        let mut values: Vec<u64> = (0..100_000u64).map(|i| 1_000 + i * i * 97).collect();
        for &v in values.iter().rev() {
            l.record(v);
        }
        values.sort_unstable();
        for q in [0.01, 0.25, 0.5, 0.9, 0.99, 0.999] {
            let exact = values[((q * values.len() as f64).ceil() as usize) - 1] as f64;
            let got = l.value_at_quantile(q) as f64;
            assert!(
                (got - exact).abs() <= exact * 0.01,
                "q {q}: {got} vs {exact}"
            );
        }
        let s = l.summary();
        assert_eq!(s.max, *values.last().unwrap() as f64 / 1e6);
        assert!(l.value_at_quantile(0.0).abs_diff(1_000) <= 10);
        l.add_staged();
        assert!(l.n_counters() <= 40 * SUB, "{}", l.n_counters());
    }

    /// A bucket passing 65,535 values turns a big graph's 16-bit counters into 32-bit ones,
    /// and the counts and percentiles carry on as if they had been 32-bit all along (as a
    /// small graph's are from the start).
    #[test]
    fn counters_widen_without_losing_counts() {
        for batched in [false, true] {
            let mut l = Latency::default();
            if batched {
                l.batch_records();
            }
            let mut recent = RecentLatency::default();
            let mut values = Vec::new();
            for i in 0..100_000u64 {
                // 70 % at 1 µs (one bucket), 30 % spread from 2 µs to 5 µs.
                let v = if i % 10 < 7 { 1_000 } else { 2_000 + i % 3_000 };
                l.record(v);
                values.push(v);
                if i == 50_000 {
                    // 35,001 in the fullest bucket: a big graph's counters still 16 bits.
                    assert_eq!(l.wide, !batched);
                    assert_eq!(l.counted() + u64::from(l.n_staged), 50_001);
                    recent.update(&l, 1, 10);
                }
            }
            l.add_staged();
            assert!(l.wide);
            assert_eq!(l.counted(), 100_000);
            assert_eq!(
                l.counter(bucket_of(1_000) - (l.first_block << SUB_BITS)),
                70_000
            );
            assert!(l.value_at_quantile(0.5).abs_diff(1_000) <= 8);
            values.sort_unstable();
            let p99 = values[98_999];
            assert!(l.value_at_quantile(0.99).abs_diff(p99) <= p99 / 100);
            let window = recent.update(&l, 2, 10).expect("values in the window");
            assert_eq!(window.count, 100_000);
        }
    }

    /// Percentiles are the same whether the last values are still staged or counted.
    #[test]
    fn staged_values_count_in_percentiles() {
        for n in 1..40u64 {
            let mut l = Latency::default();
            l.batch_records();
            for i in 0..n {
                l.record(((i * 7919) % 97 + 1) * 1_000_000 + if i % 5 == 0 { 10 } else { 1 << 40 });
            }
            let mut counted = l.clone();
            counted.add_staged();
            assert_eq!(counted.n_staged, 0);
            for q in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
                assert_eq!(
                    l.value_at_quantile(q),
                    counted.value_at_quantile(q),
                    "{n} {q}"
                );
            }
        }
    }

    /// Zero, one value, and values far apart.
    #[test]
    fn latency_edges() {
        let mut l = Latency::default();
        l.record(0);
        let s = l.summary();
        assert_eq!((s.p50, s.p99, s.max, s.count), (0.0, 0.0, 0.0, 1));
        let mut l = Latency::default();
        l.record(5_000_000_000);
        l.record(3);
        let s = l.summary();
        assert_eq!((s.p50, s.max), (3e-6, 5000.0));
        assert!((s.p99 - 5000.0).abs() <= 5000.0 / 128.0, "{}", s.p99);
        let mut l = Latency::default();
        l.record(u64::MAX);
        assert_eq!(l.summary().max, u64::MAX as f64 / 1e6);
    }

    /// The rolling window holds only the values of the last updates within its span, the
    /// same whether values are staged or counted, and empties when nothing new comes.
    #[test]
    fn recent_latency_forgets_old_values() {
        const S: Time = 1_000_000_000;
        for batched in [false, true] {
            let mut l = Latency::default();
            if batched {
                l.batch_records();
            }
            let mut r = RecentLatency::default();
            assert_eq!(r.update(&l, 0, S), None);
            // 0..1 s: 100 values of 10 ms; 1..2 s: 100 of 1 s; 2..3 s: 100 of 10 ms.
            for (step, ms) in [(1, 10), (2, 1000), (3, 10)] {
                for half in 0..2u64 {
                    for _ in 0..50 {
                        l.record(ms * 1_000_000);
                    }
                    let w = r.update(&l, step * S - S / 2 + half * S / 2, S).unwrap();
                    let expected = if step == 1 && half == 0 { 50 } else { 100 };
                    assert_eq!(w.count, expected, "{batched} {step} {half}");
                }
                let w = r.last.unwrap();
                assert!(
                    (w.p99 - ms as f64).abs() <= ms as f64 / 100.0,
                    "{batched} {step} {w:?}"
                );
            }
            // More values than the window: the cumulative p99 is 1 s.
            assert!((l.summary().p99 - 1000.0).abs() < 10.0);
            // Nothing new for a second: the window is empty.
            assert_eq!(r.update(&l, 4 * S, S), None);
            assert_eq!(r.count, 0);
            assert!(r.window.iter().all(|&c| c == 0));
        }
    }
}
