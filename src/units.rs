//! Sizes and durations as people type and read them.
//!
//! Parsing is strict (a typo in a CI gate must not pass silently); printing
//! uses binary units (KiB, MiB, GiB), as `ps`, `top` and the kernel do.
//!
//! The parsers, `format_bytes` and `format_duration` are `pub`: the
//! integration tests check them (and the report's figures) with them.

use std::time::Duration;

/// The shortest interval or duration memsample accepts. Below a millisecond
/// the cost of a sample is no longer small next to the interval.
pub const MIN_DURATION: Duration = Duration::from_millis(1);

/// The longest interval or duration memsample accepts: a hundred years
/// (of 365.25 days). Longer is a typo, and past a few hundred billion years
/// a deadline no longer fits in the clock's arithmetic.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(100 * 31_557_600);

/// Parses an interval or a duration: a bare number is seconds (`5`, `0.5`);
/// otherwise humantime's syntax (`250ms`, `2s`, `1m`, `1h 30m`).
///
/// Refuses zero, negatives, NaN, infinities, empty text and anything below
/// [`MIN_DURATION`] or above `MAX_DURATION`, with a message that says why.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration: give e.g. 5, 0.5, 250ms, 2s or 1m".into());
    }
    let duration = if let Ok(seconds) = trimmed.parse::<f64>() {
        if !seconds.is_finite() {
            return Err(format!("'{trimmed}' is not a finite number of seconds"));
        }
        if seconds < 0.0 {
            return Err(format!("'{trimmed}' is negative"));
        }
        Duration::try_from_secs_f64(seconds)
            .map_err(|_| format!("'{trimmed}' is too large a number of seconds"))?
    } else {
        humantime::parse_duration(trimmed).map_err(|err| {
            format!("'{trimmed}' is not a duration ({err}): give e.g. 5, 0.5, 250ms, 2s or 1m")
        })?
    };
    if duration.is_zero() {
        return Err(format!("'{trimmed}' is zero"));
    }
    if duration < MIN_DURATION {
        return Err(format!("'{trimmed}' is below the minimum of 1ms"));
    }
    if duration > MAX_DURATION {
        return Err(format!("'{trimmed}' is above the maximum of 100 years"));
    }
    Ok(duration)
}

/// Parses a size: bare bytes (`1048576`), binary units (`512KiB`, `512MiB`,
/// `1.5GiB`, and the short `K`, `M`, `G`, `T`, which are binary too, as in
/// `ulimit` and `ps`), or decimal units (`500kB`, `500MB`, `2GB`). Case-insensitive,
/// spaces allowed between number and unit.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{trimmed}' is not a size: give e.g. 512MiB, 2GiB or 1048576"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "'{trimmed}' has an unknown unit '{other}': use B, KiB, MiB, GiB, TiB, kB, MB, GB or TB"
            ));
        }
    };
    let too_large = || format!("'{trimmed}' is too large");
    // Whole numbers are exact (f64 is not above 2^53).
    if let Ok(whole) = number.parse::<u64>() {
        return whole.checked_mul(multiplier).ok_or_else(too_large);
    }
    if multiplier == 1 {
        return Err(format!("'{trimmed}' is not a whole number of bytes"));
    }
    let bytes = value * multiplier as f64;
    // u64::MAX as f64 rounds up to 2^64, which does not fit.
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(too_large());
    }
    Ok(bytes.round() as u64)
}

/// Formats bytes with a binary unit and three significant digits or so:
/// `512 B`, `4.0 KiB`, `251.3 MiB`, `1.50 GiB`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 && unit >= 2 {
        format!("{value:.2} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Formats seconds for people, with the precision they need: `2ms`,
/// `12.5ms`, `0.25s`, `3.2s`, `12.3s`, `2m05s`, `1h02m`. Below 0.1 s in
/// milliseconds, so that a 2 ms interval is never `0s`; below 1 ms, `<1ms`.
pub(crate) fn format_seconds(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".into();
    }
    if seconds == 0.0 {
        return "0s".into();
    }
    if seconds < 0.001 {
        // Below the shortest interval: nothing memsample measures.
        return "<1ms".into();
    }
    if seconds < 0.1 {
        let ms = seconds * 1000.0;
        let decimals = if ms >= 10.0 { 1 } else { 2 };
        return format!("{}ms", trimmed(ms, decimals));
    }
    if seconds < 10.0 {
        return format!("{}s", trimmed(seconds, 2));
    }
    if seconds < 60.0 {
        return format!("{seconds:.1}s");
    }
    let whole = seconds.round() as u64;
    if whole < 3600 {
        format!("{}m{:02}s", whole / 60, whole % 60)
    } else {
        format!("{}h{:02}m", whole / 3600, (whole % 3600) / 60)
    }
}

/// `value` with `decimals` decimals, trailing zeros (and point) removed.
fn trimmed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Formats a rate of change of memory for a run of `run_s` seconds: per
/// hour, per minute or per second, the longest that is not longer than the
/// run (a 40 s run's rate is never stated per hour: that would extrapolate
/// 90 times beyond what was seen), in a binary unit with three significant
/// digits or so: `4.79 MiB/s`, `12.0 MiB/min`, `1.50 GiB/h`, `512 B/s`.
pub fn format_rate(bytes_per_s: f64, run_s: f64) -> String {
    let (per, seconds) = if run_s >= 3600.0 {
        ("h", 3600.0)
    } else if run_s >= 60.0 {
        ("min", 60.0)
    } else {
        ("s", 1.0)
    };
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes_per_s * seconds;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let magnitude = value.abs();
    let text = if magnitude >= 100.0 || (unit == 0 && magnitude >= 10.0) {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if unit == 0 {
        trimmed(value, 2)
    } else {
        format!("{value:.2}")
    };
    format!("{text} {}/{per}", UNITS[unit])
}

/// Formats an interval the way it was probably typed: `1s`, `250ms`, `1m`.
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accepted() {
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration(" 1ms "), Ok(Duration::from_millis(1)));
        assert_eq!(parse_duration("0.001"), Ok(Duration::from_millis(1)));
        assert_eq!(parse_duration("100y"), Ok(MAX_DURATION));
    }

    #[test]
    fn durations_refused() {
        for bad in [
            "",
            " ",
            "0",
            "0s",
            "0.0",
            "-1",
            "-1s",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "1e400",
            "abc",
            "5 parsecs",
            "999us",
            "0.0005",
            "1e-9",
            "1e19",
            "1e10",
            "101y",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("512 mib"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert!(parse_size("").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("-5MiB").is_err());
        assert!(parse_size("MiB").is_err());
        assert_eq!(parse_size("9007199254740993"), Ok(9_007_199_254_740_993));
        assert!(parse_size("18446744073709551616").is_err());
        assert!(parse_size("16777216TiB").is_err());
        assert!(parse_size("0.4B").is_err());
    }

    #[test]
    fn bytes_for_people() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(4096), "4.0 KiB");
        assert_eq!(format_bytes(251 << 20), "251.0 MiB");
        assert_eq!(format_bytes(3 << 29), "1.50 GiB");
    }

    #[test]
    fn seconds_for_people() {
        assert_eq!(format_seconds(0.25), "0.25s");
        assert_eq!(format_seconds(3.2), "3.2s");
        assert_eq!(format_seconds(2.0), "2s");
        assert_eq!(format_seconds(12.34), "12.3s");
        assert_eq!(format_seconds(125.0), "2m05s");
        assert_eq!(format_seconds(3720.0), "1h02m");
        // The precision they need: a 2 ms interval is not 0s.
        assert_eq!(format_seconds(0.002), "2ms");
        assert_eq!(format_seconds(0.0025), "2.5ms");
        assert_eq!(format_seconds(0.002013), "2.01ms");
        assert_eq!(format_seconds(0.0504), "50.4ms");
        assert_eq!(format_seconds(0.0004), "<1ms");
        assert_eq!(format_seconds(0.1), "0.1s");
        assert_eq!(format_seconds(0.0), "0s");
        assert_eq!(format_seconds(10.0), "10.0s");
    }

    #[test]
    fn rates_in_a_unit_that_fits_the_run() {
        let mib = (1u64 << 20) as f64;
        // 17227 MiB/h seen over 40 s: per second.
        assert_eq!(format_rate(17227.0 * mib / 3600.0, 40.0), "4.79 MiB/s");
        assert_eq!(format_rate(0.2 * mib, 300.0), "12.0 MiB/min");
        assert_eq!(format_rate(1536.0 * mib / 3600.0, 7200.0), "1.50 GiB/h");
        assert_eq!(format_rate(512.0, 1.0), "512 B/s");
        assert_eq!(format_rate(0.5, 30.0), "0.5 B/s");
        assert_eq!(format_rate(2048.0 * 1024.0 / 3600.0, 3600.0), "2.00 MiB/h");
        // A run shorter than a second still says per second.
        assert_eq!(format_rate(mib, 0.2), "1.00 MiB/s");
    }
}
