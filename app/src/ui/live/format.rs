//! Numbers as the live views show them: rates, counts, durations, the simulated clock.

/// A simulated time as h:mm:ss.mmm.
pub fn clock(ms: f64) -> String {
    let total = ms.max(0.0).round() as u64;
    let (h, rest) = (total / 3_600_000, total % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    format!("{h}:{m:02}:{s:02}.{milli:03}")
}

/// A number with a k/M suffix when large, one decimal when small.
pub fn number(value: f64) -> String {
    let a = value.abs();
    if !value.is_finite() {
        "–".to_owned()
    } else if a >= 9_999_500.0 {
        format!("{:.1}M", value / 1e6)
    } else if a >= 999_950.0 {
        format!("{:.2}M", value / 1e6)
    } else if a >= 9_999.5 {
        format!("{:.1}k", value / 1e3)
    } else if a >= 100.0 || value == value.trunc() {
        format!("{value:.0}")
    } else if a >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A chart axis's mark: "400k", "1.5M", "250", "0.25", without trailing zeros (a mark is
/// a round number).
pub fn axis(value: f64) -> String {
    let a = value.abs();
    let (scaled, suffix) = if a >= 1e6 {
        (value / 1e6, "M")
    } else if a >= 1e4 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let digits = format!("{scaled:.3}");
    let digits = digits.trim_end_matches('0').trim_end_matches('.');
    let digits = if digits == "-0" { "0" } else { digits };
    format!("{digits}{suffix}")
}

/// A rate per second: "48/s", "1.2k/s", "0.90/s".
pub fn rate(per_sec: f64) -> String {
    format!("{}/s", number(per_sec))
}

/// A count, as the command line's summary writes it.
pub fn count(n: u64) -> String {
    n.to_string()
}

/// A count in a few characters: exact below a million, then three digits with M or G
/// ("5.75M", "57.5M", "575M", "1.20G").
pub fn count_short(n: u64) -> String {
    if n < 1_000_000 {
        return n.to_string();
    }
    let (v, suffix) = if n < 999_500_000 {
        (n as f64 / 1e6, "M")
    } else {
        (n as f64 / 1e9, "G")
    };
    let decimals = if v < 9.995 {
        2
    } else if v < 99.95 {
        1
    } else {
        0
    };
    format!("{v:.decimals$}{suffix}")
}

/// A duration in milliseconds, in the unit that reads best: "850 µs", "12.5 ms", "3.20 s".
pub fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() {
        "–".to_owned()
    } else if ms.abs() < 1.0 && ms != 0.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms.abs() < 1000.0 {
        format!("{} ms", number(ms))
    } else if ms.abs() < 120_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        clock(ms)
    }
}

/// A share 0..=1 as a percentage: "72 %".
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p > 0.0 && p < 1.0 {
        format!("{p:.1} %")
    } else {
        format!("{p:.0} %")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clock reads h:mm:ss.mmm, and numbers keep three or four significant digits.
    #[test]
    fn clock_and_numbers_read_well() {
        assert_eq!(clock(0.0), "0:00:00.000");
        assert_eq!(clock(3_723_004.4), "1:02:03.004");
        assert_eq!(rate(48.0), "48/s");
        assert_eq!(rate(0.9), "0.90/s");
        assert_eq!(rate(12_345.0), "12.3k/s");
        assert_eq!(number(3_032_500.0), "3.03M");
        assert_eq!(count_short(999_999), "999999");
        assert_eq!(count_short(5_748_848), "5.75M");
        assert_eq!(count_short(9_995_000), "10.0M");
        assert_eq!(count_short(57_488_480), "57.5M");
        assert_eq!(count_short(574_884_800), "575M");
        assert_eq!(count_short(999_499_999), "999M");
        assert_eq!(count_short(1_204_000_000), "1.20G");
        assert_eq!(number(999_949.0), "999.9k");
        assert_eq!(number(12_345_678.0), "12.3M");
        assert_eq!(axis(400_000.0), "400k");
        assert_eq!(axis(1_500_000.0), "1.5M");
        assert_eq!(axis(250.0), "250");
        assert_eq!(axis(0.25), "0.25");
        assert_eq!(axis(0.0), "0");
        assert_eq!(axis(-20_000.0), "-20k");
        assert_eq!(duration_ms(0.25), "250 µs");
        assert_eq!(duration_ms(12.5), "12.5 ms");
        assert_eq!(duration_ms(3200.0), "3.20 s");
        assert_eq!(percent(0.724), "72 %");
    }
}
