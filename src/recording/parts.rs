//! What a `--breakdown` recording keeps beyond RSS (README, "What memory is
//! it"): the parts over time, in two shapes: every sample's parts
//! [`Packed`] (a few bytes a sample) for the growth fit of each part, and a
//! [`Stack`] of decimated samples for the stacked chart. Nothing is kept for
//! a recording without the columns.

use super::packed::Packed;
pub(crate) use super::packed::Values;
use crate::probe::Breakdown;

/// At most this many buckets are kept (each up to two samples): more than
/// a chart has pixels across, as [`super::series::MAX_BUCKETS`].
const MAX_BUCKETS: usize = 1000;

/// The parts of a breakdown recording, as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Parts {
    /// Every sample's parts, when kept for a report.
    pub timeline: Packed,
    /// Decimated samples, when kept for a chart.
    pub stack: Stack,
}

impl Parts {
    pub fn values(parts: &Breakdown) -> Values {
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

#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    /// Sample index divided by the width.
    id: u64,
    low: Point,
    high: Point,
}

/// Samples decimated as [`super::Series`] decimates a line, but whole: the
/// index is decimated once, and each bucket keeps the samples of its lowest
/// and highest resident total (anon + file + shmem) with all their parts,
/// so that the stacked bands still add up to a real sample's RSS and the
/// peak sample is always kept.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stack {
    width: u64,
    buckets: Vec<Bucket>,
}

impl Default for Stack {
    fn default() -> Self {
        Stack {
            width: 1,
            buckets: Vec::new(),
        }
    }
}

/// What the low and high of a bucket are told by: the resident total.
fn resident(point: &Point) -> u64 {
    point.1[0]
        .saturating_add(point.1[1])
        .saturating_add(point.1[2])
}

/// The bucket with `other`'s lowest and highest if they are beyond its own.
fn widen(bucket: &mut Bucket, low: Point, high: Point) {
    if resident(&low) < resident(&bucket.low) {
        bucket.low = low;
    }
    if resident(&high) > resident(&bucket.high) {
        bucket.high = high;
    }
}

impl Stack {
    /// Adds sample number `index` (indices never decrease).
    pub fn push(&mut self, index: u64, point: Point) {
        let id = index / self.width;
        match self.buckets.last_mut() {
            Some(bucket) if bucket.id == id => widen(bucket, point, point),
            _ => self.buckets.push(Bucket {
                id,
                low: point,
                high: point,
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
                Some(last) if last.id == id => widen(last, bucket.low, bucket.high),
                _ => merged.push(Bucket { id, ..bucket }),
            }
        }
        self.buckets = merged;
    }

    /// The kept samples, in time order.
    pub fn points(&self) -> Vec<Point> {
        let mut points = Vec::with_capacity(self.buckets.len() * 2);
        for bucket in &self.buckets {
            let (first, second) = if bucket.low.0 <= bucket.high.0 {
                (bucket.low, bucket.high)
            } else {
                (bucket.high, bucket.low)
            };
            points.push(first);
            if second != first {
                points.push(second);
            }
        }
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
