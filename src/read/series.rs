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
}
