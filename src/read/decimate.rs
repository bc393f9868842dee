//! Decimation as a recording is read: samples fall into buckets of `width`
//! consecutive samples, each keeping its lowest and its highest point; when
//! there are too many buckets, neighbours merge and the width doubles. Every
//! peak and trough stays, the memory stays bounded whatever the length of
//! the recording, and a short recording keeps every point. A chart's line
//! ([`super::Series`]) and the stacked parts of a `--breakdown` chart
//! ([`super::parts::Stack`]) are both kept this way.

/// At most this many buckets are kept (twice as many points): more than a
/// chart has pixels across.
pub(crate) const MAX_BUCKETS: usize = 1000;

/// What decimation needs of a point: where it is in time, and the level that
/// tells the lowest and highest of a bucket.
pub(crate) trait Point: Copy + PartialEq {
    type Level: PartialOrd;
    fn x(&self) -> f64;
    fn level(&self) -> Self::Level;
}

/// A line's point: (x, y), told by y.
impl Point for (f64, f64) {
    type Level = f64;
    fn x(&self) -> f64 {
        self.0
    }
    fn level(&self) -> f64 {
        self.1
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bucket<P> {
    /// Sample index divided by the width.
    pub(crate) id: u64,
    low: P,
    high: P,
}

impl<P: Point> Bucket<P> {
    /// Takes `low` and `high` where they are beyond the bucket's own.
    fn widen(&mut self, low: P, high: P) {
        if low.level() < self.low.level() {
            self.low = low;
        }
        if high.level() > self.high.level() {
            self.high = high;
        }
    }

    /// The bucket's points in time order: one, or two when they differ.
    pub(crate) fn points(&self) -> impl Iterator<Item = P> {
        let (first, second) = if self.low.x() <= self.high.x() {
            (self.low, self.high)
        } else {
            (self.high, self.low)
        };
        std::iter::once(first).chain((second != first).then_some(second))
    }
}

/// Points by sample index, decimated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decimated<P> {
    width: u64,
    buckets: Vec<Bucket<P>>,
}

impl<P> Default for Decimated<P> {
    fn default() -> Self {
        Decimated {
            width: 1,
            buckets: Vec::new(),
        }
    }
}

impl<P: Point> Decimated<P> {
    /// Adds the point of sample number `index` (indices never decrease).
    pub(crate) fn push(&mut self, index: u64, point: P) {
        let id = index / self.width;
        match self.buckets.last_mut() {
            Some(bucket) if bucket.id == id => bucket.widen(point, point),
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
        let mut merged: Vec<Bucket<P>> = Vec::with_capacity(self.buckets.len() / 2 + 1);
        for bucket in self.buckets.drain(..) {
            let id = bucket.id / 2;
            match merged.last_mut() {
                Some(last) if last.id == id => last.widen(bucket.low, bucket.high),
                _ => merged.push(Bucket { id, ..bucket }),
            }
        }
        self.buckets = merged;
    }

    pub(crate) fn buckets(&self) -> &[Bucket<P>] {
        &self.buckets
    }

    /// All the kept points, in time order.
    pub(crate) fn points(&self) -> Vec<P> {
        self.buckets.iter().flat_map(Bucket::points).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_keep_every_point() {
        let mut line = Decimated::default();
        for i in 0..10u64 {
            line.push(i, (i as f64, (i * i) as f64));
        }
        let expected: Vec<(f64, f64)> = (0..10u64).map(|i| (i as f64, (i * i) as f64)).collect();
        assert_eq!(line.points(), expected);
    }

    #[test]
    fn long_lines_keep_extremes_and_stay_bounded() {
        let mut line = Decimated::default();
        for i in 0..100_000u64 {
            let y = match i {
                54_321 => 99.0,
                12_345 => -5.0,
                _ => 1.0,
            };
            line.push(i, (i as f64, y));
        }
        let points = line.points();
        assert!(points.len() <= 2 * MAX_BUCKETS, "{}", points.len());
        assert!(points.contains(&(54_321.0, 99.0)));
        assert!(points.contains(&(12_345.0, -5.0)));
        assert_eq!(points.first(), Some(&(0.0, 1.0)));
        assert!(points.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }
}
