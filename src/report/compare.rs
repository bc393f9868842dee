//! `report NEW --baseline OLD`: the signed changes in peak, mean, p95 and
//! duration, and the regression gate on the peak (docs/reading-back.md). The
//! peak compared is the one `--fail-above` gates: the larger of the sampled
//! peak and the kernel's high-water mark. Two `--phases` recordings also
//! have their phases compared and gated by name (`super::phase_changes`).

use std::fmt;

use serde::Serialize;

use super::Report;
use super::phase_changes::{self, PhaseChange};
use crate::units::{self, format_bytes, format_seconds};

/// How much the peak may grow over the baseline's before `report` exits 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum MaxIncrease {
    /// Percent of the baseline's peak.
    Percent(f64),
    Bytes(u64),
}

/// The default limit: 10 % of the baseline's peak, above the run-to-run
/// noise of most programs, below a real regression.
impl Default for MaxIncrease {
    fn default() -> Self {
        MaxIncrease::Percent(10.0)
    }
}

impl fmt::Display for MaxIncrease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxIncrease::Percent(percent) => write!(f, "{percent}%"),
            MaxIncrease::Bytes(bytes) => f.write_str(&format_bytes(*bytes)),
        }
    }
}

impl MaxIncrease {
    /// `10%`, `2.5%`, or a size (`50MiB`, `1GiB`, bytes). A percentage is
    /// plain decimal (no exponent), at most [`MAX_PERCENT`] with at most
    /// four decimals, so that it prints as it was typed.
    pub(crate) fn parse(text: &str) -> Result<MaxIncrease, String> {
        let trimmed = text.trim();
        match trimmed.strip_suffix('%') {
            Some(number) => parse_percent(number.trim()).map(MaxIncrease::Percent).ok_or_else(|| {
                format!(
                    "invalid percentage {text:?}: a number from 0 to {MAX_PERCENT}, at most 4 decimals, e.g. 10% or 2.5%"
                )
            }),
            None => units::parse_size(trimmed).map(MaxIncrease::Bytes),
        }
    }

    /// The growth allowed over a baseline's peak, in bytes.
    pub(crate) fn allowed(self, baseline_peak: u64) -> u64 {
        match self {
            MaxIncrease::Percent(percent) => (baseline_peak as f64 * percent / 100.0) as u64,
            MaxIncrease::Bytes(bytes) => bytes,
        }
    }
}

/// The largest `--max-increase` percentage: a peak 10,000 times the
/// baseline's. More is no gate at all, and is refused as a typo.
pub(crate) const MAX_PERCENT: u32 = 1_000_000;

/// `12`, `2.5`, `0.0001`: digits, an optional fraction of at most 4 digits,
/// up to [`MAX_PERCENT`].
fn parse_percent(number: &str) -> Option<f64> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 4 {
        return None;
    }
    if number.ends_with('.') {
        return None;
    }
    let percent: f64 = number.parse().ok()?;
    (percent <= f64::from(MAX_PERCENT)).then_some(percent)
}

/// One figure now and in the baseline, and the signed change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Change<T, D> {
    pub(crate) baseline: T,
    pub(crate) value: T,
    pub(crate) change: D,
    /// The change in % of the baseline; null when the baseline is 0.
    pub(crate) percent: Option<f64>,
}

fn percent(change: f64, baseline: f64) -> Option<f64> {
    (baseline > 0.0).then(|| change / baseline * 100.0)
}

fn bytes_change(value: u64, baseline: u64) -> Change<u64, i64> {
    let change = i128::from(value) - i128::from(baseline);
    Change {
        baseline,
        value,
        change: i64::try_from(change).unwrap_or(if change < 0 { i64::MIN } else { i64::MAX }),
        percent: percent(change as f64, baseline as f64),
    }
}

/// A recording against its baseline; also `--json`'s `baseline` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Comparison {
    /// The baseline's file.
    pub(crate) file: String,
    /// The larger of the sampled peak and the kernel's, as `--fail-above`.
    pub(crate) peak_rss_bytes: Change<u64, i64>,
    pub(crate) mean_rss_bytes: Change<u64, i64>,
    pub(crate) p95_rss_bytes: Change<u64, i64>,
    pub(crate) duration_s: Change<f64, f64>,
    /// `--max-increase` as given (default 10%).
    pub(crate) max_increase: String,
    /// The growth of the peak it allows, in bytes.
    pub(crate) max_increase_bytes: u64,
    /// The peak grew by more than that: `report` exits 1.
    pub(crate) above_limit: bool,
    /// The gate failed: the whole recording's peak or a phase's grew
    /// beyond the limit (`report` exits 1).
    pub(crate) gate_failed: bool,
    /// Both recordings made with `--phases`: each phase name against the
    /// baseline's (docs/phases.md, "Against a baseline"); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) phases: Option<Vec<PhaseChange>>,
    /// Why the phases were not compared when only one side has them.
    #[serde(skip)]
    pub(crate) phases_missing: Option<&'static str>,
}

impl Comparison {
    pub(crate) fn new(report: &Report, baseline: &Report, limit: MaxIncrease) -> Comparison {
        let peak = bytes_change(report.gate_peak_bytes(), baseline.gate_peak_bytes());
        let allowed = limit.allowed(peak.baseline);
        let duration = report.duration_s - baseline.duration_s;
        let above_limit = peak.change > 0 && peak.change.unsigned_abs() > allowed;
        let (phases, phases_missing) = match (&report.phases, &baseline.phases) {
            (Some(rows), Some(old)) => (Some(phase_changes::compare(rows, old, limit)), None),
            (Some(_), None) => (None, Some("the baseline has no phase column")),
            (None, Some(_)) => (None, Some("this recording has no phase column")),
            (None, None) => (None, None),
        };
        let phase_failed = phases.iter().flatten().any(|phase| phase.above_limit);
        Comparison {
            file: baseline.file.clone(),
            above_limit,
            gate_failed: above_limit || phase_failed,
            phases,
            phases_missing,
            peak_rss_bytes: peak,
            mean_rss_bytes: bytes_change(report.mean_rss_bytes, baseline.mean_rss_bytes),
            p95_rss_bytes: bytes_change(report.p95_rss_bytes, baseline.p95_rss_bytes),
            duration_s: Change {
                baseline: baseline.duration_s,
                value: report.duration_s,
                change: duration,
                percent: percent(duration, baseline.duration_s),
            },
            max_increase: limit.to_string(),
            max_increase_bytes: allowed,
        }
    }

    /// The limit for people: `10% (4.0 MiB)`, or `50.0 MiB`.
    pub(crate) fn limit_text(&self) -> String {
        limit_text(&self.max_increase, self.max_increase_bytes)
    }

    /// The gate's lines for stderr, one for the whole recording and one
    /// for each phase, that failed it.
    pub(crate) fn verdicts(&self, file: &str) -> Vec<String> {
        let whole = self.above_limit.then(|| self.verdict(file));
        let phases = self
            .phases
            .iter()
            .flatten()
            .filter(|phase| phase.above_limit)
            .map(|phase| phase.verdict(file, &self.file, &self.max_increase));
        whole.into_iter().chain(phases).collect()
    }

    /// The gate's one line, for stderr when it fails.
    fn verdict(&self, file: &str) -> String {
        format!(
            "{file}: peak RSS {} over the baseline {}, above the limit of {}",
            signed_bytes_with_percent(&self.peak_rss_bytes),
            self.file,
            self.limit_text()
        )
    }
}

/// A limit for people: `--max-increase` as given and the bytes it allows,
/// `10% (4.0 MiB)`, or `50.0 MiB` alone when that is all it says.
pub(crate) fn limit_text(max_increase: &str, allowed: u64) -> String {
    let bytes = format_bytes(allowed);
    if max_increase == bytes {
        bytes
    } else {
        format!("{max_increase} ({bytes})")
    }
}

/// `+20.0 MiB`, `-512 B`, `+0 B`.
pub(crate) fn signed_bytes(change: i64) -> String {
    let sign = if change < 0 { '-' } else { '+' };
    format!("{sign}{}", format_bytes(change.unsigned_abs()))
}

/// `+1.5s`, `-0.25s`.
pub(crate) fn signed_seconds(change: f64) -> String {
    let sign = if change < 0.0 { '-' } else { '+' };
    format!("{sign}{}", format_seconds(change.abs()))
}

/// `+50.0%`, or `n/a` when the baseline is 0.
pub(crate) fn signed_percent(percent: Option<f64>) -> String {
    percent.map_or_else(|| "n/a".into(), |percent| format!("{percent:+.1}%"))
}

/// `+20.0 MiB (+50.0%)`.
pub(crate) fn signed_bytes_with_percent(change: &Change<u64, i64>) -> String {
    format!(
        "{} ({})",
        signed_bytes(change.change),
        signed_percent(change.percent)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse() {
        assert_eq!(MaxIncrease::parse("10%"), Ok(MaxIncrease::Percent(10.0)));
        assert_eq!(MaxIncrease::parse(" 2.5 %"), Ok(MaxIncrease::Percent(2.5)));
        assert_eq!(
            MaxIncrease::parse("50MiB"),
            Ok(MaxIncrease::Bytes(50 << 20))
        );
        assert!(MaxIncrease::parse("-1%").is_err());
        assert!(MaxIncrease::parse("NaN%").is_err());
        assert!(MaxIncrease::parse("lots").is_err());
        // Absurd or unprintable: refused, not printed with 300 digits.
        for bad in [
            "1e308%", "1e-300%", "1000001%", "0.00001%", "inf%", "%", ".5%", "5.%",
        ] {
            assert!(MaxIncrease::parse(bad).is_err(), "{bad} was accepted");
        }
        assert_eq!(
            MaxIncrease::parse("1000000%"),
            Ok(MaxIncrease::Percent(1e6))
        );
        assert_eq!(
            MaxIncrease::parse("0.0001%").map(|limit| limit.to_string()),
            Ok("0.0001%".into())
        );
        assert_eq!(
            MaxIncrease::parse("12.50%").map(|limit| limit.to_string()),
            Ok("12.5%".into())
        );
        assert_eq!(MaxIncrease::default().to_string(), "10%");
    }

    #[test]
    fn allowed_growth() {
        assert_eq!(MaxIncrease::Percent(10.0).allowed(1000), 100);
        assert_eq!(MaxIncrease::Bytes(7).allowed(1000), 7);
        assert_eq!(MaxIncrease::Percent(50.0).allowed(0), 0);
    }

    #[test]
    fn signed_texts() {
        assert_eq!(signed_bytes(20 << 20), "+20.0 MiB");
        assert_eq!(signed_bytes(-512), "-512 B");
        assert_eq!(signed_bytes(0), "+0 B");
        assert_eq!(signed_percent(Some(50.0)), "+50.0%");
        assert_eq!(signed_percent(Some(-2.26)), "-2.3%");
        assert_eq!(signed_percent(None), "n/a");
        assert_eq!(signed_seconds(-0.25), "-0.25s");
        let change = bytes_change(60, 40);
        assert_eq!((change.change, change.percent), (20, Some(50.0)));
        assert_eq!(bytes_change(5, 0).percent, None);
    }
}
