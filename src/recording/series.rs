//! A line for a chart, decimated as it is read: samples fall into buckets of
//! `width` consecutive samples, each keeping its lowest and its highest
//! point; when there are too many buckets, neighbours merge and the width
//! doubles. Every peak and trough stays, the memory stays bounded whatever
//! the length of the recording, and a short recording keeps every point.

/// At most this many buckets are kept (twice as many points): more than a
/// chart has pixels across.
pub(crate) const MAX_BUCKETS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    /// Sample index divided by the width.
    id: u64,
    low: (f64, f64),
    high: (f64, f64),
}

/// One decimated line: (x, y) points by sample index.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    width: u64,
    buckets: Vec<Bucket>,
}

impl Default for Series {
    fn default() -> Self {
        Series {
            width: 1,
            buckets: Vec::new(),
        }
    }
}

impl Series {
    /// Adds the point of sample number `index` (indices never decrease).
    pub(crate) fn push(&mut self, index: u64, x: f64, y: f64) {
        let id = index / self.width;
        match self.buckets.last_mut() {
            Some(bucket) if bucket.id == id => {
                if y < bucket.low.1 {
                    bucket.low = (x, y);
                }
                if y > bucket.high.1 {
                    bucket.high = (x, y);
                }
            }
            _ => self.buckets.push(Bucket {
                id,
                low: (x, y),
                high: (x, y),
            }),
        }
        if self.buckets.len() > MAX_BUCKETS {
            self.merge();
        }
    }

    /// Doubles the width: each pair of neighbouring buckets becomes one.
    fn merge(&mut self) {
        self.width *= 2;
        let mut merged: Vec<Bucket> = Vec::with_capacity(self.buckets.len() / 2 + 1);
        for bucket in self.buckets.drain(..) {
            let id = bucket.id / 2;
            match merged.last_mut() {
                Some(last) if last.id == id => {
                    if bucket.low.1 < last.low.1 {
                        last.low = bucket.low;
                    }
                    if bucket.high.1 > last.high.1 {
                        last.high = bucket.high;
                    }
                }
                _ => merged.push(Bucket { id, ..bucket }),
            }
        }
        self.buckets = merged;
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// The kept points, in order, as runs: a line breaks where samples
    /// are missing (a process absent for a while is not drawn across).
    pub fn runs(&self) -> Vec<Vec<(f64, f64)>> {
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut previous: Option<u64> = None;
        for bucket in &self.buckets {
            let (first, second) = if bucket.low.0 <= bucket.high.0 {
                (bucket.low, bucket.high)
            } else {
                (bucket.high, bucket.low)
            };
            let run = match (runs.last_mut(), previous) {
                (Some(run), Some(id)) if bucket.id <= id + 1 => run,
                _ => {
                    runs.push(Vec::new());
                    let Some(run) = runs.last_mut() else { break };
                    run
                }
            };
            run.push(first);
            if second != first {
                run.push(second);
            }
            previous = Some(bucket.id);
        }
        runs
    }

    /// All the kept points, in order.
    pub fn points(&self) -> Vec<(f64, f64)> {
        self.runs().into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_keep_every_point() {
        let mut series = Series::default();
        for i in 0..10u64 {
            series.push(i, i as f64, (i * i) as f64);
        }
        let expected: Vec<(f64, f64)> = (0..10u64).map(|i| (i as f64, (i * i) as f64)).collect();
        assert_eq!(series.points(), expected);
    }

    #[test]
    fn long_lines_keep_extremes_and_stay_bounded() {
        let mut series = Series::default();
        for i in 0..100_000u64 {
            let y = match i {
                54_321 => 99.0,
                12_345 => -5.0,
                _ => 1.0,
            };
            series.push(i, i as f64, y);
        }
        let points = series.points();
        assert!(points.len() <= 2 * MAX_BUCKETS, "{}", points.len());
        assert!(points.contains(&(54_321.0, 99.0)));
        assert!(points.contains(&(12_345.0, -5.0)));
        assert_eq!(points.first(), Some(&(0.0, 1.0)));
        assert!(points.windows(2).all(|pair| pair[0].0 < pair[1].0));
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
