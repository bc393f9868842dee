//! RSS and time of every sample, in 12 bytes a sample: what percentiles (all
//! values), the growth rate (every point, in order) and the median interval
//! need, without keeping rows (docs/reading-back.md: a long recording is read
//! in a fraction of its size).
//!
//! Times are kept as gaps in microseconds (the 6 decimals of `elapsed_s`),
//! in a `u32` each; the rare gap above 71 minutes is kept whole beside.

use crate::stats;

/// A gap that does not fit: the real value is in `large`, in order.
const LARGE: u32 = u32::MAX;

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Timeline {
    first_micros: u64,
    last_micros: u64,
    rss: Vec<u64>,
    gaps: Vec<u32>,
    large: Vec<u64>,
}

fn micros(elapsed_s: f64) -> u64 {
    (elapsed_s * 1e6).round() as u64
}

impl Timeline {
    pub(crate) fn push(&mut self, elapsed_s: f64, rss_bytes: u64) {
        let now = micros(elapsed_s);
        if self.rss.is_empty() {
            self.first_micros = now;
        } else {
            let gap = now.saturating_sub(self.last_micros);
            match u32::try_from(gap) {
                Ok(gap) if gap != LARGE => self.gaps.push(gap),
                _ => {
                    self.gaps.push(LARGE);
                    self.large.push(gap);
                }
            }
        }
        self.last_micros = now;
        self.rss.push(rss_bytes);
    }

    /// (elapsed_s, rss_bytes) of every sample, in order.
    pub(crate) fn points(&self) -> impl Iterator<Item = (f64, u64)> + Clone + '_ {
        let mut large = self.large.iter();
        let gaps = std::iter::once(0).chain(self.gaps.iter().map(move |&gap| {
            if gap == LARGE {
                large.next().copied().unwrap_or(u64::from(LARGE))
            } else {
                u64::from(gap)
            }
        }));
        gaps.zip(&self.rss)
            .scan(self.first_micros, |time, (gap, &rss)| {
                *time += gap;
                Some((*time as f64 / 1e6, rss))
            })
    }

    /// The growth rate of RSS (see [`stats::growth`]).
    pub(crate) fn growth(&self) -> Option<stats::Fit> {
        stats::growth(self.points())
    }

    /// Sorts the values in place (the order is lost) and returns the median
    /// gap in seconds and the RSS values, sorted.
    pub(crate) fn into_sorted(mut self) -> (Option<f64>, Vec<u64>) {
        self.gaps.sort_unstable();
        self.large.sort_unstable();
        let small = self.gaps.len() - self.large.len();
        let gap = |index: usize| -> u64 {
            if index < small {
                self.gaps.get(index).map_or(0, |&gap| u64::from(gap))
            } else {
                self.large.get(index - small).copied().unwrap_or(0)
            }
        };
        let median = stats::percentile_by(self.gaps.len(), 50.0, |index| gap(index) as f64 / 1e6);
        self.rss.sort_unstable();
        (median, self.rss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_come_back_exactly() {
        let mut timeline = Timeline::default();
        let times = [0.5, 1.5, 2.000001, 7200.0, 7201.25];
        for (i, &time) in times.iter().enumerate() {
            timeline.push(time, i as u64);
        }
        let points: Vec<(f64, u64)> = timeline.points().collect();
        assert_eq!(
            points,
            times
                .iter()
                .enumerate()
                .map(|(i, &time)| (time, i as u64))
                .collect::<Vec<_>>()
        );
        // Gaps 1, 0.500001, 7198, 1.25: the median is between the middle two.
        let (median, sorted) = timeline.into_sorted();
        assert_eq!(median, Some((1.0 + 1.25) / 2.0));
        assert_eq!(sorted, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn one_sample_has_no_interval() {
        let mut timeline = Timeline::default();
        timeline.push(3.0, 9);
        assert_eq!(timeline.into_sorted(), (None, vec![9]));
    }
}
