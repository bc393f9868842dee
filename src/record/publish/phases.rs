//! The phase table as it is published (docs/publishing.md, "Phases"): one
//! series per phase name, its highest peak, and at most [`SERIES_MAX`] of
//! them, the highest, so that a test suite's thousands of phases cannot
//! swamp a metrics engine.

use crate::stats::PeakOf;

/// The most phase series published: those with the highest peaks.
pub(crate) const SERIES_MAX: usize = 100;

/// What the phase metrics are, in both encodings.
pub(crate) const PHASE_PEAK_HELP: &str =
    "Peak resident memory of each phase of the job (--phases), the highest of its runs.";
pub(crate) const PHASE_EXACT_HELP: &str =
    "1 when the phase's peak is its whole tree's exact peak (from the cgroup), 0 when sampled.";

/// One phase name's published figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PhaseSeries {
    pub(crate) name: String,
    /// The highest peak of its runs.
    pub(crate) peak_bytes: u64,
    /// Every run's peak was the cgroup's exact figure of the whole tree.
    pub(crate) exact: bool,
}

/// The closed phases by name, in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PhaseTable {
    series: Vec<PhaseSeries>,
}

impl PhaseTable {
    /// A run of phase `name` ended with `peak`. A name already there keeps
    /// its highest peak; a new one takes the place of the lowest when the
    /// table is full and its peak is higher. A name pushed out can only
    /// come back with a peak above every one it was below, so the highest
    /// of each name kept is its highest of all.
    pub(crate) fn add(&mut self, name: &str, peak: PeakOf) {
        if let Some(series) = self.series.iter_mut().find(|series| series.name == name) {
            series.peak_bytes = series.peak_bytes.max(peak.bytes);
            series.exact &= peak.exact;
            return;
        }
        if self.series.len() >= SERIES_MAX {
            let lowest = self
                .series
                .iter()
                .enumerate()
                .min_by_key(|(_, series)| series.peak_bytes)
                .map(|(index, series)| (index, series.peak_bytes));
            match lowest {
                Some((index, bytes)) if bytes < peak.bytes => {
                    self.series.remove(index);
                }
                _ => return,
            }
        }
        self.series.push(PhaseSeries {
            name: name.to_owned(),
            peak_bytes: peak.bytes,
            exact: peak.exact,
        });
    }

    pub(crate) fn series(&self) -> &[PhaseSeries] {
        &self.series
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peak(bytes: u64, exact: bool) -> PeakOf {
        PeakOf {
            bytes,
            exact,
            main_exact: exact,
        }
    }

    #[test]
    fn names_are_aggregated_by_their_highest_peak() {
        let mut table = PhaseTable::default();
        table.add("start", peak(10, true));
        table.add("between", peak(30, true));
        table.add("test:a", peak(90, true));
        table.add("between", peak(50, false));
        table.add("between", peak(20, true));
        let got: Vec<(&str, u64, bool)> = table
            .series()
            .iter()
            .map(|s| (s.name.as_str(), s.peak_bytes, s.exact))
            .collect();
        assert_eq!(
            got,
            [
                ("start", 10, true),
                ("between", 50, false),
                ("test:a", 90, true)
            ]
        );
    }

    #[test]
    fn at_most_the_highest_hundred_are_kept() {
        let mut table = PhaseTable::default();
        // 1,000 names, peaks in a scrambled order; each name twice.
        for round in 0..2u64 {
            for n in 0..1000u64 {
                let bytes = (n * 7919) % 1000 + round;
                table.add(&format!("test:{n}"), peak(bytes, false));
            }
        }
        assert_eq!(table.series().len(), SERIES_MAX);
        let mut peaks: Vec<u64> = table.series().iter().map(|s| s.peak_bytes).collect();
        peaks.sort_unstable();
        // The highest of each name is 1 above its first run's.
        let expected: Vec<u64> = (900..1000).map(|b| b + 1).collect();
        assert_eq!(peaks, expected);
    }
}
