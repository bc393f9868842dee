//! When a growth rate is stated, and in what unit (docs/reading-back.md): one
//! rule for the text, Markdown and JSON reports, and for the parts of a
//! `--breakdown` recording, so that no form states a rate another rejects.

use crate::units::format_rate;

/// From this R² on, a fitted slope is a growth rate worth stating; below,
/// the line explains too little of how RSS moved.
pub(crate) const STEADY_R2: f64 = 0.8;

const MIB: f64 = (1u64 << 20) as f64;

/// What a growth fit says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Verdict {
    /// Fewer than 3 samples after the first 20 % of the run.
    TooFew,
    /// The value did not move at all.
    Flat,
    /// It moved, but not along a line: no rate is stated.
    Unsteady { r2: f64 },
    /// A steady change, in bytes per second (negative: shrinking).
    Steady { bytes_per_s: f64, r2: f64 },
}

/// The verdict on a fit given as the report keeps it (MiB/hour, R²).
pub(crate) fn verdict(mib_per_hour: Option<f64>, r2: Option<f64>) -> Verdict {
    match (mib_per_hour, r2) {
        (None, _) => Verdict::TooFew,
        (Some(_), None) => Verdict::Flat,
        (Some(slope), Some(r2)) if is_steady(slope, Some(r2)) => Verdict::Steady {
            bytes_per_s: slope * MIB / 3600.0,
            r2,
        },
        (Some(_), Some(r2)) => Verdict::Unsteady { r2 },
    }
}

/// The rule itself: a slope that is not zero, with R² ≥ [`STEADY_R2`].
pub(crate) fn is_steady(slope: f64, r2: Option<f64>) -> bool {
    slope != 0.0 && r2.is_some_and(|r2| r2 >= STEADY_R2)
}

impl Verdict {
    /// The rate as a report states it, signed (`+4.79 MiB/s`), in a unit
    /// that fits a run of `duration_s`; `None` when no rate is stated.
    pub(crate) fn signed_rate(&self, duration_s: f64) -> Option<String> {
        match *self {
            Verdict::Steady { bytes_per_s, .. } => {
                let sign = if bytes_per_s < 0.0 { '-' } else { '+' };
                Some(format!(
                    "{sign}{}",
                    format_rate(bytes_per_s.abs(), duration_s)
                ))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_every_form() {
        assert_eq!(verdict(None, None), Verdict::TooFew);
        assert_eq!(verdict(Some(0.0), None), Verdict::Flat);
        assert_eq!(
            verdict(Some(5.0), Some(0.03)),
            Verdict::Unsteady { r2: 0.03 }
        );
        assert_eq!(
            verdict(Some(3600.0), Some(0.8)),
            Verdict::Steady {
                bytes_per_s: MIB,
                r2: 0.8
            }
        );
        assert_eq!(
            verdict(Some(3600.0), Some(0.97)).signed_rate(40.0),
            Some("+1.00 MiB/s".into())
        );
        assert_eq!(
            verdict(Some(-3600.0), Some(0.97)).signed_rate(7200.0),
            Some("-3.52 GiB/h".into())
        );
        assert_eq!(verdict(Some(5.0), Some(0.03)).signed_rate(40.0), None);
    }
}
