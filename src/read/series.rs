//! A line for a chart, decimated as it is read ([`super::decimate`]), that
//! breaks where samples are missing.

use super::decimate::Decimated;

/// One decimated line: (x, y) points by sample index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series(Decimated<(f64, f64)>);

impl Series {
    /// Adds the point of sample number `index` (indices never decrease).
    pub(crate) fn push(&mut self, index: u64, x: f64, y: f64) {
        self.0.push(index, (x, y));
    }

    /// The kept points, in order, as runs: a line breaks where samples
    /// are missing (a process absent for a while is not drawn across).
    pub(crate) fn runs(&self) -> Vec<Vec<(f64, f64)>> {
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut previous: Option<u64> = None;
        for bucket in self.0.buckets() {
            let adjacent = previous.is_some_and(|id| bucket.id <= id + 1);
            match runs.last_mut() {
                Some(run) if adjacent => run.extend(bucket.points()),
                _ => runs.push(bucket.points().collect()),
            }
            previous = Some(bucket.id);
        }
        runs
    }

    /// All the kept points, in order.
    pub fn points(&self) -> Vec<(f64, f64)> {
        self.0.points()
    }
}

/// A restart is put this long after its mark row: after it in the line's
/// time order, and before any later row, whose `elapsed_s` has microseconds
/// at most (docs/format.md).
const RESTART_AFTER_S: f64 = 1e-7;

/// `peak_rss_bytes` over time, the chart's peak so far. The column never
/// falls, except where `--reset-peaks` restarted it at a mark
/// (docs/format.md, "The peak rule"): the mark row still holds the closing
/// phase's peak, and the row after it starts again from the mark row's
/// RSS. The restart is put on the line where it happened, just after the
/// mark row, at that RSS: the steps fall at the mark, not a row later.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PeakLine {
    series: Series,
    /// The row before, when it was a mark row: index, time, peak, RSS.
    mark: Option<(u64, f64, u64, u64)>,
}

impl PeakLine {
    /// Adds the row of sample number `index` (indices never decrease).
    pub(crate) fn push(&mut self, index: u64, x: f64, peak: u64, rss: u64, mark: bool) {
        if let Some((at, mark_x, mark_peak, mark_rss)) = self.mark.take()
            && peak < mark_peak
        {
            let restart = mark_rss.min(peak) as f64;
            self.series.push(at, mark_x + RESTART_AFTER_S, restart);
        }
        self.series.push(index, x, peak as f64);
        self.mark = mark.then_some((index, x, peak, rss));
    }

    /// All the kept points, in order.
    pub(crate) fn points(&self) -> Vec<(f64, f64)> {
        self.series.points()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_run_without_gaps() {
        let mut series = Series::default();
        for i in 0..100_000u64 {
            series.push(i, i as f64, (i % 7) as f64);
        }
        assert_eq!(series.runs().len(), 1);
    }

    #[test]
    fn lines_break_at_gaps() {
        let mut series = Series::default();
        for i in [0u64, 1, 3, 4] {
            series.push(i, i as f64, 10.0 + i as f64);
        }
        assert_eq!(
            series.runs(),
            [
                vec![(0.0, 10.0), (1.0, 11.0)],
                vec![(3.0, 13.0), (4.0, 14.0)]
            ]
        );
    }

    /// A restart at a mark falls just after the mark row, to its RSS; a
    /// mark without a restart adds nothing.
    #[test]
    fn the_peak_line_restarts_at_a_mark() {
        let mut line = PeakLine::default();
        for (index, (x, peak, rss, mark)) in [
            (0.0, 10, 10, false),
            (1.0, 80, 20, false),
            (2.0, 80, 20, true),
            (3.0, 30, 30, false),
            (4.0, 40, 25, true),
            (5.0, 40, 25, false),
        ]
        .into_iter()
        .enumerate()
        {
            line.push(index as u64, x, peak, rss, mark);
        }
        let points: Vec<(f64, f64)> = line
            .points()
            .into_iter()
            .map(|(x, y)| ((x * 10.0).round() / 10.0, y))
            .collect();
        assert_eq!(
            points,
            [
                (0.0, 10.0),
                (1.0, 80.0),
                (2.0, 80.0),
                (2.0, 20.0),
                (3.0, 30.0),
                (4.0, 40.0),
                (5.0, 40.0)
            ]
        );
        assert!(line.points()[3].0 > 2.0 && line.points()[3].0 < 2.001);
    }
}
