//! What a `--breakdown` recording keeps beyond RSS (docs/format.md, "What
//! memory is it"): the parts over time, in two shapes: every sample's parts
//! [`Packed`] (a few bytes a sample) for the growth fit of each part, and a
//! [`Stack`] of decimated samples for the stacked chart. Nothing is kept for a
//! recording without the columns.

use super::decimate::{Decimated, Point as DecimatedPoint};
use super::packed::Packed;
pub(crate) use super::packed::Values;
use crate::probe::Breakdown;

/// The parts of a breakdown recording, as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Parts {
    /// Every sample's parts, when kept for a report.
    pub(crate) timeline: Packed,
    /// Decimated samples, when kept for a chart.
    pub(crate) stack: Stack,
}

impl Parts {
    pub(crate) fn values(parts: &Breakdown) -> Values {
        [
            parts.anon_bytes,
            parts.file_bytes,
            parts.shmem_bytes,
            parts.swap_bytes,
        ]
    }
}

/// One sample kept for the chart: its time and its parts.
pub(crate) type Point = (f64, Values);

/// A sample kept for the stacked chart is told by its resident total
/// (anon + file + shmem): each bucket keeps the samples of its lowest and
/// highest total with all their parts, so that the stacked bands still add
/// up to a real sample's RSS and the peak sample is always kept.
impl DecimatedPoint for Point {
    type Level = u64;
    fn x(&self) -> f64 {
        self.0
    }
    fn level(&self) -> u64 {
        self.1[0]
            .saturating_add(self.1[1])
            .saturating_add(self.1[2])
    }
}

/// Samples decimated whole, as a chart's line is ([`super::decimate`]).
pub(crate) type Stack = Decimated<Point>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::decimate::MAX_BUCKETS;

    #[test]
    fn long_stacks_stay_bounded_keep_the_peak_and_whole_samples() {
        let mut stack = Stack::default();
        for i in 0..100_000u64 {
            // anon grows, file is 3 × anon: every kept sample keeps that.
            let anon = if i == 54_321 { 1 << 30 } else { i };
            stack.push(i, (i as f64, [anon, 3 * anon, 7, 0]));
        }
        let points = stack.points();
        assert!(points.len() <= 2 * MAX_BUCKETS, "{}", points.len());
        assert!(points.contains(&(54_321.0, [1 << 30, 3 << 30, 7, 0])));
        assert_eq!(points.first(), Some(&(0.0, [0, 0, 7, 0])));
        assert!(points.iter().all(|(_, v)| v[1] == 3 * v[0] && v[2] == 7));
        assert!(points.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }

    #[test]
    fn short_stacks_keep_every_sample() {
        let mut stack = Stack::default();
        for i in 0..10u64 {
            stack.push(i, (i as f64, [i, 0, 0, 0]));
        }
        assert_eq!(stack.points().len(), 10);
    }
}
