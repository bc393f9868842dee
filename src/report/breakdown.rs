//! `report` on a `--breakdown` recording: what the memory was at the peak
//! and which part of it grows (docs/format.md, "What memory is it"). A leak in
//! anonymous memory and a growing page cache are different stories, so each
//! part gets its own growth fit from the one statistics engine.

use std::fmt::Write as _;

use serde::Serialize;

use crate::probe::Breakdown;
use crate::read::Recording;
use crate::stats;
use crate::units::{format_bytes, format_rate};

const MIB: f64 = (1u64 << 20) as f64;

/// A part grows (or shrinks) when its fitted change over the fitted span is
/// at least this many bytes...
const LEAST_CHANGE_BYTES: f64 = MIB;

/// ...and at least this share of the peak RSS: a few pages of page cache
/// coming and going in a 10 GiB process is not a story.
const LEAST_CHANGE_SHARE: f64 = 0.02;

/// The parts, in the order the report names them.
const PARTS: [Part; 4] = [Part::Anon, Part::File, Part::Shmem, Part::Swap];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Anon,
    File,
    Shmem,
    Swap,
}

impl Part {
    fn key(self) -> &'static str {
        match self {
            Part::Anon => "anon",
            Part::File => "file",
            Part::Shmem => "shmem",
            Part::Swap => "swap",
        }
    }

    /// Its name in a sentence, and whether that name is plural.
    fn words(self) -> (&'static str, bool) {
        match self {
            Part::Anon => ("anonymous memory", false),
            Part::File => ("file pages", true),
            Part::Shmem => ("shared memory", false),
            Part::Swap => ("swap", false),
        }
    }
}

/// The growth of each part in MiB/hour (least squares after the first
/// 20 % of the run, as RSS's); null with too few samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PartsGrowth {
    pub(crate) anon: Option<f64>,
    pub(crate) file: Option<f64>,
    pub(crate) shmem: Option<f64>,
    pub(crate) swap: Option<f64>,
}

/// The `breakdown` object of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct BreakdownReport {
    /// The parts at the peak sample (the first at the highest RSS); null
    /// when that sample lacks them.
    pub(crate) at_peak: Option<Breakdown>,
    pub(crate) growth_mib_per_hour: PartsGrowth,
    /// The parts that grow steadily (`anon`, `file`, `shmem`, `swap`).
    pub(crate) growing: Vec<&'static str>,
    /// The same in words: "anonymous memory grows 12 MiB/h; file pages are flat; …".
    pub(crate) summary: String,
}

/// One part's verdict.
enum Trend {
    /// In bytes per second.
    Grows(f64),
    Shrinks(f64),
    /// Moves by more than the least change, but not along a line.
    Varies,
    Flat,
}

/// The breakdown figures of a recording; `None` when it has none.
pub(crate) fn compute(recording: &Recording) -> Option<BreakdownReport> {
    let timeline = &recording.parts.as_ref()?.timeline;
    let peak_rss = recording.running.peak as f64;
    // Every part fitted in the same few reads of the packed samples.
    let fits = stats::growth_each(timeline.points());
    let windows = fitted_windows(timeline.points());
    let had_swap = timeline.points().any(|(_, parts)| parts[3] > 0);
    let duration_s = recording.last_elapsed_s - recording.first_elapsed_s;
    let mut growing = Vec::new();
    let mut clauses = Vec::new();
    for (index, part) in PARTS.into_iter().enumerate() {
        let trend = trend(fits[index], windows[index], peak_rss);
        if matches!(trend, Trend::Grows(_)) {
            growing.push(part.key());
        }
        if part != Part::Swap || had_swap {
            clauses.push(clause(part, &trend, duration_s));
        }
    }
    let slopes = fits.map(|fit| fit.map(|fit| fit.slope * 3600.0 / MIB));
    Some(BreakdownReport {
        at_peak: recording.peak_breakdown,
        growth_mib_per_hour: PartsGrowth {
            anon: slopes[0],
            file: slopes[1],
            shmem: slopes[2],
            swap: slopes[3],
        },
        growing,
        summary: clauses.join("; "),
    })
}

/// The part of the run [`stats::growth`] fits over, for each part: its
/// length in seconds, and how far the part spreads in it (highest − lowest,
/// bytes).
fn fitted_windows<const N: usize>(
    points: impl Iterator<Item = (f64, [u64; N])> + Clone,
) -> [(f64, f64); N] {
    let Some(start) = stats::growth_start(points.clone()) else {
        return [(0.0, 0.0); N];
    };
    let mut last = start;
    let (mut low, mut high) = ([u64::MAX; N], [0u64; N]);
    for (elapsed, values) in points.filter(|point| point.0 >= start) {
        last = elapsed;
        for (index, value) in values.into_iter().enumerate() {
            low[index] = low[index].min(value);
            high[index] = high[index].max(value);
        }
    }
    std::array::from_fn(|index| {
        let spread = high[index].saturating_sub(low[index]);
        (last - start, spread as f64)
    })
}

fn trend(fit: Option<stats::Fit>, (span_s, spread): (f64, f64), peak_rss: f64) -> Trend {
    let least = LEAST_CHANGE_BYTES.max(peak_rss * LEAST_CHANGE_SHARE);
    let Some(fit) = fit else {
        return Trend::Flat;
    };
    let enough = (fit.slope * span_s).abs() >= least;
    // The report's one rule for stating a rate, as for RSS.
    let steady = super::growth::is_steady(fit.slope, fit.r2);
    match (enough && steady, fit.slope > 0.0) {
        (true, true) => Trend::Grows(fit.slope),
        (true, false) => Trend::Shrinks(-fit.slope),
        (false, _) if spread >= least => Trend::Varies,
        (false, _) => Trend::Flat,
    }
}

/// A part's trend in words, its rate in a unit that fits a run of
/// `duration_s`.
fn clause(part: Part, trend: &Trend, duration_s: f64) -> String {
    let (name, plural) = part.words();
    let (grow, shrink, vary, be) = if plural {
        ("grow", "shrink", "vary", "are")
    } else {
        ("grows", "shrinks", "varies", "is")
    };
    match trend {
        Trend::Grows(rate) => format!("{name} {grow} {}", format_rate(*rate, duration_s)),
        Trend::Shrinks(rate) => format!("{name} {shrink} {}", format_rate(*rate, duration_s)),
        Trend::Varies => format!("{name} {vary}, with no steady trend"),
        Trend::Flat => format!("{name} {be} flat"),
    }
}

/// The report's lines for people.
pub(crate) fn write_text(report: &BreakdownReport, out: &mut String) -> std::fmt::Result {
    if let Some(parts) = &report.at_peak {
        writeln!(
            out,
            "at the peak   anon {}, file {}, shmem {}, swap {}; {} thread{}",
            format_bytes(parts.anon_bytes),
            format_bytes(parts.file_bytes),
            format_bytes(parts.shmem_bytes),
            format_bytes(parts.swap_bytes),
            parts.threads,
            if parts.threads == 1 { "" } else { "s" }
        )?;
    }
    writeln!(out, "parts         {}", report.summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(slope: f64, r2: Option<f64>) -> Option<stats::Fit> {
        Some(stats::Fit { slope, r2 })
    }

    #[test]
    fn a_steady_climb_grows_and_noise_is_flat() {
        let peak = 200.0 * MIB;
        // 40 MiB over 100 s.
        let window = (100.0, 40.0 * MIB);
        let grows = trend(fit(0.4 * MIB, Some(0.95)), window, peak);
        assert!(matches!(grows, Trend::Grows(rate) if (rate - 0.4 * MIB).abs() < 1e-6));
        // The report's one rule: R² 0.6 states no rate.
        assert!(matches!(
            trend(fit(0.4 * MIB, Some(0.6)), window, peak),
            Trend::Varies
        ));
        // Up and down by 40 MiB, not along a line.
        assert!(matches!(
            trend(fit(0.4 * MIB, Some(0.1)), window, peak),
            Trend::Varies
        ));
        // 1 MiB in 200 MiB is below 2 %.
        let small = (100.0, MIB);
        assert!(matches!(
            trend(fit(0.01 * MIB, Some(0.99)), small, peak),
            Trend::Flat
        ));
        assert!(matches!(
            trend(fit(0.01 * MIB, Some(0.1)), small, peak),
            Trend::Flat
        ));
        assert!(matches!(
            trend(fit(-0.4 * MIB, Some(0.9)), window, peak),
            Trend::Shrinks(_)
        ));
        assert!(matches!(trend(None, window, peak), Trend::Flat));
    }

    #[test]
    fn sentences_name_each_part() {
        let hours = 7200.0;
        let per_hour = |mib: f64| mib * MIB / 3600.0;
        assert_eq!(
            clause(Part::Anon, &Trend::Grows(per_hour(12.0)), hours),
            "anonymous memory grows 12.0 MiB/h"
        );
        assert_eq!(
            clause(Part::File, &Trend::Flat, hours),
            "file pages are flat"
        );
        assert_eq!(
            clause(Part::Anon, &Trend::Varies, hours),
            "anonymous memory varies, with no steady trend"
        );
        assert_eq!(
            clause(Part::Shmem, &Trend::Shrinks(per_hour(150.4)), hours),
            "shared memory shrinks 150 MiB/h"
        );
        assert_eq!(
            clause(Part::File, &Trend::Grows(per_hour(1.5)), hours),
            "file pages grow 1.50 MiB/h"
        );
        // A 40 s build: per second, not 17227 MiB/h.
        assert_eq!(
            clause(Part::File, &Trend::Shrinks(per_hour(17227.0)), 40.0),
            "file pages shrink 4.79 MiB/s"
        );
    }
}
