//! Simulated durations on the command line: `500ms`, `90s`, `1.5s`, `10m`, `1h`, or a plain
//! number of milliseconds.

/// Parses a `--duration` value into milliseconds. The error is shown by clap as a usage error.
pub fn parse_duration_ms(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let explain = || {
        format!(
            "'{text}' is not a duration; write a number with a unit: 500ms, 90s, 1.5s, 10m, 1h \
             (a plain number is milliseconds)"
        )
    };
    if text.starts_with('-') {
        return Err(format!("'{text}': the duration must be more than 0"));
    }
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(number_end);
    let scale_ms = match unit.trim_start() {
        "" | "ms" => 1.0,
        "s" => 1_000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return Err(explain()),
    };
    // Only digits and dots reach here, so `parse` refuses nothing but malformed numbers
    // ("1.2.3", "."), never signs, "inf" or "NaN".
    let value: f64 = number.parse().map_err(|_| explain())?;
    let ms = value * scale_ms;
    if !ms.is_finite() || ms <= 0.0 {
        return Err(format!("'{text}': the duration must be more than 0"));
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every unit of the command line contract, fractions and a bare number of milliseconds.
    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration_ms("500ms"), Ok(500.0));
        assert_eq!(parse_duration_ms("90s"), Ok(90_000.0));
        assert_eq!(parse_duration_ms("1.5s"), Ok(1_500.0));
        assert_eq!(parse_duration_ms("10m"), Ok(600_000.0));
        assert_eq!(parse_duration_ms("1h"), Ok(3_600_000.0));
        assert_eq!(parse_duration_ms("250"), Ok(250.0));
        assert_eq!(parse_duration_ms("0.25"), Ok(0.25));
        assert_eq!(parse_duration_ms(" 2 s "), Ok(2_000.0));
    }

    /// Anything else is refused with a message that shows the accepted forms.
    #[test]
    fn refuses_nonsense_zero_and_negative() {
        for bad in [
            "", "s", "5x", "1hour", "-5s", "1.2.3s", "inf", "NaN", "1e3", "0", "0s", ".",
        ] {
            let err = parse_duration_ms(bad).expect_err(bad);
            assert!(err.contains(bad.trim()), "{bad}: {err}");
        }
        assert!(parse_duration_ms("5x").unwrap_err().contains("90s"));
    }
}
