use std::time::Duration;

/// The longest duration any input may name: a year of simulated time. Far
/// beyond any run (a run is bounded by its scenario's `run_limit`), and small
/// enough that sums and products of a few thousand of them cannot overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Parses a duration as written in schedules: `30s`, `250ms`, `1m30s`, `2us`.
///
/// Negative and fractional forms, and durations over [`MAX_DURATION`], are
/// rejected with a message that shows the accepted form.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    // Errors quote the value; a pasted megabyte is shown by its start.
    let shown: String = if trimmed.chars().count() > 40 {
        format!("{}…", trimmed.chars().take(40).collect::<String>())
    } else {
        trimmed.to_string()
    };
    if trimmed.starts_with('-') {
        return Err(format!(
            "`{shown}` is negative; durations are written like 30s or 250ms"
        ));
    }
    if trimmed.chars().all(|c| c.is_ascii_digit()) && !trimmed.is_empty() {
        return Err(format!(
            "`{shown}` has no unit; write it like {shown}s or {shown}ms"
        ));
    }
    let d = humantime::parse_duration(trimmed).map_err(|e| {
        let why: String = e.to_string().chars().take(60).collect();
        format!("`{shown}` is not a duration ({why}); write it like 30s or 250ms")
    })?;
    if d > MAX_DURATION {
        return Err(format!(
            "`{shown}` is longer than the longest duration allowed, {} (365 days)",
            format_duration(MAX_DURATION)
        ));
    }
    Ok(d)
}

/// Formats a duration in the largest unit (s, ms, us, ns) that writes it exactly,
/// so that `parse_duration(format_duration(d)) == d` for every `d`.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    for (unit, scale) in [("s", 1_000_000_000u128), ("ms", 1_000_000), ("us", 1_000)] {
        if nanos % scale == 0 {
            return format!("{}{unit}", nanos / scale);
        }
    }
    format!("{nanos}ns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
    }

    #[test]
    fn rejects_negative_unitless_and_garbage() {
        assert!(parse_duration("-5s").unwrap_err().contains("negative"));
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn rejects_durations_that_could_overflow_sums() {
        let e = parse_duration("18446744073709551615s").unwrap_err();
        assert!(e.contains("not a duration") || e.contains("longest"), "{e}");
        assert!(parse_duration("366days").unwrap_err().contains("longest"));
        assert_eq!(parse_duration("365days").unwrap(), MAX_DURATION);
        let long = "9".repeat(10_000) + "s";
        assert!(parse_duration(&long).unwrap_err().len() < 200);
    }

    #[test]
    fn formats_in_the_largest_exact_unit() {
        assert_eq!(format_duration(Duration::from_secs(60)), "60s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_micros(3)), "3us");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
