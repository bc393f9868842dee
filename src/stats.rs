//! The one statistics engine: the peak rule, the running figures and the
//! distribution of RSS, and the growth rate. The end-of-recording summary
//! and `report` both compute with it, so they cannot disagree.

/// The part of the run left out of the growth rate, so that start-up
/// (loading, warming caches) does not pass for a leak.
pub(crate) const GROWTH_SKIP: f64 = 0.2;

/// The peak rule (docs/format.md, "The peak rule"): the highest memory
/// known so far is the largest of the peak before, the RSS sampled now and
/// the kernel's high-water mark, when one was read. It never decreases.
pub(crate) fn raise_peak(so_far: u64, rss_bytes: u64, hwm_bytes: Option<u64>) -> u64 {
    so_far.max(rss_bytes).max(hwm_bytes.unwrap_or(0))
}

/// The peak of one phase, folded row by row (docs/phases.md, "Each phase's
/// peak"): the recording's session and `report` both fold with it, so the
/// published phase table and the report's agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PhasePeak {
    /// `peak_rss_bytes` of the phase's first row, and of its latest.
    column_at_start: u64,
    column_last: u64,
    /// The highest `rss_bytes` sampled in it.
    sampled: u64,
    /// The highest per-row cgroup peak (`cgroup_interval_peak_bytes`).
    cgroup: Option<u64>,
    /// Every row after its first had a per-row cgroup peak.
    covered: bool,
}

/// A phase's peak, and how it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeakOf {
    pub(crate) bytes: u64,
    /// The cgroup's exact peak of the whole tree.
    pub(crate) exact: bool,
    /// The main process's kernel high-water mark over the phase is in it,
    /// exactly (a spike between two samples included).
    pub(crate) main_exact: bool,
}

impl PhasePeak {
    /// The phase's first row (its `mark` row, or the recording's first).
    pub(crate) fn start(rss_bytes: u64, peak_rss_bytes: u64) -> PhasePeak {
        PhasePeak {
            column_at_start: peak_rss_bytes,
            column_last: peak_rss_bytes,
            sampled: rss_bytes,
            cgroup: None,
            covered: true,
        }
    }

    /// Another row of the phase, or the row that closes it (the next
    /// phase's first): its RSS (`None` for the `exit` row, which samples
    /// none), its `peak_rss_bytes`, its cgroup peak since the row before.
    pub(crate) fn row(&mut self, rss_bytes: Option<u64>, peak_rss_bytes: u64, cgroup: Option<u64>) {
        match cgroup {
            Some(peak) => self.cgroup = Some(self.cgroup.unwrap_or(0).max(peak)),
            None => self.covered = false,
        }
        // The exit row's column also holds `wait4`'s peak: the largest
        // process of the whole run, whichever phase it peaked in
        // (docs/format.md, "The exit row"), so it moves no phase's.
        if let Some(rss) = rss_bytes {
            self.sampled = self.sampled.max(rss);
            self.column_last = peak_rss_bytes;
        }
    }

    /// The peak: the cgroup's when its per-row peaks cover the whole phase;
    /// else the highest RSS sampled, raised to `peak_rss_bytes` at the end
    /// when that column moved during the phase. It rose: the main
    /// process's high-water mark (or the tree's RSS) went above anything
    /// before, within the phase. It fell: `--reset-peaks` restarted it at
    /// the phase's mark, so it holds the phase's own highs. Either way the
    /// main process's high-water mark over the phase is in it.
    pub(crate) fn peak(&self) -> PeakOf {
        if let (true, Some(bytes)) = (self.covered, self.cgroup) {
            return PeakOf {
                bytes,
                exact: true,
                main_exact: true,
            };
        }
        let moved = self.column_last != self.column_at_start;
        PeakOf {
            bytes: if moved {
                self.sampled.max(self.column_last)
            } else {
                self.sampled
            },
            exact: false,
            main_exact: moved,
        }
    }
}

/// Running figures of RSS, one value per sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Running {
    pub(crate) count: u64,
    total: u128,
    pub(crate) first: u64,
    pub(crate) last: u64,
    /// The highest value, and the index of the first sample at it: a
    /// plateau is reached when it starts.
    pub(crate) peak: u64,
    pub(crate) peak_index: u64,
}

impl Running {
    /// Adds one value; true when it is the first at a new peak.
    pub(crate) fn push(&mut self, value: u64) -> bool {
        let new_peak = self.count == 0 || value > self.peak;
        if self.count == 0 {
            self.first = value;
        }
        if new_peak {
            self.peak = value;
            self.peak_index = self.count;
        }
        self.count += 1;
        self.total += u128::from(value);
        self.last = value;
        new_peak
    }

    /// The mean, rounded to the nearest byte (halves up), computed on
    /// integers so that no byte is lost however long the recording.
    pub(crate) fn mean(&self) -> u64 {
        match u128::from(self.count) {
            0 => 0,
            count => u64::try_from((self.total + count / 2) / count).unwrap_or(u64::MAX),
        }
    }
}

/// The value at percentile `p` (0 to 100) of `len` sorted values, read by
/// `value(index)`, interpolated linearly between the two nearest ranks (as
/// numpy and spreadsheets do). Values are read in place: no copy of a long
/// recording's values.
pub(crate) fn percentile_by(len: usize, p: f64, value: impl Fn(usize) -> f64) -> Option<f64> {
    let last = len.checked_sub(1)?;
    let rank = (p / 100.0).clamp(0.0, 1.0) * last as f64;
    let below = (rank.floor() as usize).min(last);
    let above = (rank.ceil() as usize).min(last);
    let (low, high) = (value(below), value(above));
    Some(low + (high - low) * (rank - below as f64))
}

/// A percentile of sorted byte counts, rounded to the nearest byte.
pub(crate) fn percentile_u64(sorted: &[u64], p: f64) -> u64 {
    percentile_by(sorted.len(), p, |index| sorted[index] as f64).map_or(0, |v| v.round() as u64)
}

/// A least-squares line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fit {
    /// Units of y per unit of x.
    pub(crate) slope: f64,
    /// Coefficient of determination; `None` when y does not vary at all.
    pub(crate) r2: Option<f64>,
}

/// Fits y = a + b·x; `None` with fewer than 3 points or a single x. The
/// points are read twice (means, then centred sums), never collected: a
/// long recording's points are not copied. (Reports fit through
/// [`growth`]; this is its one-value case, kept for the tests of the fit.)
#[cfg(test)]
pub(crate) fn least_squares(points: impl Iterator<Item = (f64, f64)> + Clone) -> Option<Fit> {
    let [fit] = least_squares_each(points.map(|(x, y)| (x, [y])));
    fit
}

/// `least_squares` of `N` values sharing their x, in the same two reads
/// (the parts of a `--breakdown` recording are fitted together).
pub(crate) fn least_squares_each<const N: usize>(
    points: impl Iterator<Item = (f64, [f64; N])> + Clone,
) -> [Option<Fit>; N] {
    let (count, sum_x, sum_y) =
        points
            .clone()
            .fold((0usize, 0.0, [0.0; N]), |(n, sx, mut sy), (x, ys)| {
                for (sum, y) in sy.iter_mut().zip(ys) {
                    *sum += y;
                }
                (n + 1, sx + x, sy)
            });
    if count < 3 {
        return [None; N];
    }
    let n = count as f64;
    let (mean_x, mean_y) = (sum_x / n, sum_y.map(|sum| sum / n));
    // Centred sums: bytes are large (1e9) and x·y sums would lose digits.
    let (mut sxx, mut syy, mut sxy) = (0.0, [0.0; N], [0.0; N]);
    for (x, ys) in points {
        let dx = x - mean_x;
        sxx += dx * dx;
        for (index, y) in ys.into_iter().enumerate() {
            let dy = y - mean_y[index];
            syy[index] += dy * dy;
            sxy[index] += dx * dy;
        }
    }
    std::array::from_fn(|index| {
        if sxx <= 0.0 {
            return None;
        }
        let (syy, sxy) = (syy[index], sxy[index]);
        let r2 = (syy > 0.0).then(|| (sxy * sxy / (sxx * syy)).clamp(0.0, 1.0));
        Some(Fit {
            slope: sxy / sxx,
            r2,
        })
    })
}

/// The start of the part of a run that growth is fitted over: after the
/// first [`GROWTH_SKIP`] of the duration; `None` without points.
pub(crate) fn growth_start<T>(mut points: impl Iterator<Item = (f64, T)>) -> Option<f64> {
    let first = points.next()?.0;
    let last = points.last().map_or(first, |point| point.0);
    Some(first + (last - first) * GROWTH_SKIP)
}

/// The growth of a value in units per second, from (elapsed_s, value)
/// points in time order, over the points after the first [`GROWTH_SKIP`]
/// of the duration.
pub(crate) fn growth(points: impl Iterator<Item = (f64, u64)> + Clone) -> Option<Fit> {
    let [fit] = growth_each(points.map(|(x, y)| (x, [y])));
    fit
}

/// [`growth`] of `N` values sharing their times, in one set of reads.
pub(crate) fn growth_each<const N: usize>(
    points: impl Iterator<Item = (f64, [u64; N])> + Clone,
) -> [Option<Fit>; N] {
    let Some(start) = growth_start(points.clone()) else {
        return [None; N];
    };
    least_squares_each(
        points
            .filter(move |point| point.0 >= start)
            .map(|(elapsed, values)| (elapsed, values.map(|value| value as f64))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phase_peak_is_raised_when_the_column_moved() {
        // Rose within the phase: the main process's mark, exactly.
        let mut rose = PhasePeak::start(10, 50);
        rose.row(Some(20), 50, None);
        rose.row(Some(15), 90, None);
        let expected = PeakOf {
            bytes: 90,
            exact: false,
            main_exact: true,
        };
        assert_eq!(rose.peak(), expected);
        // Still: the column holds an earlier phase's high; the samples only.
        let mut still = PhasePeak::start(10, 50);
        still.row(Some(20), 50, None);
        assert_eq!(
            still.peak(),
            PeakOf {
                bytes: 20,
                exact: false,
                main_exact: false
            }
        );
        // The exit row's column is `wait4`'s, a child of any phase: it
        // moves none.
        let mut last = PhasePeak::start(10, 50);
        last.row(Some(20), 50, None);
        last.row(None, 120, None);
        assert_eq!(last.peak(), still.peak());
        // Fell: restarted at the mark (--reset-peaks), the phase's own.
        let mut fell = PhasePeak::start(10, 50);
        fell.row(Some(12), 30, None);
        fell.row(None, 30, None);
        assert_eq!(fell.peak().bytes, 30);
        assert!(fell.peak().main_exact);
        // The cgroup's per-row peaks over every row after the first.
        let mut exact = PhasePeak::start(10, 50);
        exact.row(Some(12), 50, Some(70));
        exact.row(Some(12), 50, Some(40));
        assert_eq!(
            exact.peak(),
            PeakOf {
                bytes: 70,
                exact: true,
                main_exact: true
            }
        );
        exact.row(Some(12), 50, None);
        assert!(!exact.peak().exact);
    }

    /// A pipeline: a child spiked to 200 in an earlier phase, so the
    /// `exit` row's `wait4` peak says 200; the last phase, which held 15,
    /// keeps its own peak. The exit row's cgroup peak still counts.
    #[test]
    fn the_exit_rows_wait4_peak_is_not_the_last_phases() {
        let mut last = PhasePeak::start(12, 30);
        last.row(Some(15), 30, None);
        last.row(None, 200, None);
        let sampled = PeakOf {
            bytes: 15,
            exact: false,
            main_exact: false,
        };
        assert_eq!(last.peak(), sampled);
        // Within the phase the column still moves as before.
        let mut rose = PhasePeak::start(12, 30);
        rose.row(Some(15), 40, None);
        rose.row(None, 200, None);
        assert_eq!((rose.peak().bytes, rose.peak().main_exact), (40, true));
        // With a cgroup, the exit row's per-row peak closes the phase.
        let mut exact = PhasePeak::start(12, 30);
        exact.row(Some(15), 30, Some(20));
        exact.row(None, 200, Some(26));
        let whole = PeakOf {
            bytes: 26,
            exact: true,
            main_exact: true,
        };
        assert_eq!(exact.peak(), whole);
        let mut uncovered = PhasePeak::start(12, 30);
        uncovered.row(Some(15), 30, Some(20));
        uncovered.row(None, 200, None);
        assert!(!uncovered.peak().exact);
    }

    #[test]
    fn values_fitted_together_fit_as_each_alone() {
        let points: Vec<(f64, [u64; 3])> = (0..50u64)
            .map(|i| (i as f64 * 0.5, [1000 + 7 * i, (i * i) % 13, 5]))
            .collect();
        let together = growth_each(points.iter().copied());
        for (index, fit) in together.into_iter().enumerate() {
            let alone = growth(points.iter().map(|&(x, values)| (x, values[index])));
            assert_eq!(fit, alone, "value {index}");
        }
        assert!((together[0].expect("a fit").slope - 14.0).abs() < 1e-9);
        assert_eq!(
            together[2].map(|fit| (fit.slope, fit.r2)),
            Some((0.0, None))
        );
    }

    #[test]
    fn peak_rule_takes_the_largest_and_never_decreases() {
        assert_eq!(raise_peak(0, 10, None), 10);
        assert_eq!(raise_peak(0, 10, Some(25)), 25);
        assert_eq!(raise_peak(30, 10, Some(25)), 30);
    }

    #[test]
    fn running_figures() {
        let mut running = Running::default();
        assert_eq!(running.mean(), 0);
        assert!(running.push(5));
        assert!(running.push(9));
        assert!(!running.push(9), "a plateau keeps its first sample");
        assert!(!running.push(2));
        assert_eq!((running.first, running.last), (5, 2));
        assert_eq!((running.peak, running.peak_index), (9, 1));
        // 25 / 4 = 6.25 -> 6; below, 13 / 2 = 6.5 -> 7: halves round up.
        assert_eq!(running.mean(), 6);
        let mut half = Running::default();
        for value in [6, 7] {
            half.push(value);
        }
        assert_eq!(half.mean(), 7);
        let mut huge = Running::default();
        for _ in 0..3 {
            huge.push(u64::MAX);
        }
        assert_eq!(huge.mean(), u64::MAX, "no overflow, no precision lost");
    }

    #[test]
    fn percentiles_interpolate() {
        let percentile = |values: &[f64], p| percentile_by(values.len(), p, |i| values[i]);
        let values = [10.0, 20.0, 30.0, 40.0, 50.0];
        assert_eq!(percentile(&values, 0.0), Some(10.0));
        assert_eq!(percentile(&values, 50.0), Some(30.0));
        assert_eq!(percentile(&values, 100.0), Some(50.0));
        assert_eq!(percentile(&values, 95.0), Some(48.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), Some(2.5));
        assert_eq!(percentile(&[7.0], 50.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile_u64(&[1, 2], 50.0), 2, "1.5 rounds up");
    }

    #[test]
    fn least_squares_exact_line() {
        let points: Vec<(f64, f64)> = (0..10).map(|x| (x as f64, 3.0 + 2.0 * x as f64)).collect();
        let fit = least_squares(points.iter().copied()).expect("a fit");
        assert!((fit.slope - 2.0).abs() < 1e-12);
        assert!((fit.r2.expect("r2") - 1.0).abs() < 1e-12);
    }

    #[test]
    fn least_squares_large_values_keep_precision() {
        // 4 GiB baseline, 1 byte per second: naive sums of x·y would lose it.
        let points: Vec<(f64, f64)> = (0..1000)
            .map(|x| (1e6 + x as f64, 4e9 + x as f64))
            .collect();
        let fit = least_squares(points.iter().copied()).expect("a fit");
        assert!((fit.slope - 1.0).abs() < 1e-9, "{fit:?}");
    }

    #[test]
    fn least_squares_degenerate() {
        assert_eq!(
            least_squares([(0.0, 1.0), (1.0, 2.0)].iter().copied()),
            None
        );
        assert_eq!(
            least_squares([(5.0, 1.0), (5.0, 2.0), (5.0, 3.0)].iter().copied()),
            None
        );
        let flat =
            least_squares([(0.0, 7.0), (1.0, 7.0), (2.0, 7.0)].iter().copied()).expect("a fit");
        assert_eq!(
            flat,
            Fit {
                slope: 0.0,
                r2: None
            }
        );
    }

    #[test]
    fn least_squares_noise_has_low_r2() {
        let points: Vec<(f64, f64)> = (0..100)
            .map(|x| (x as f64, if x % 2 == 0 { 100.0 } else { 200.0 }))
            .collect();
        let fit = least_squares(points.iter().copied()).expect("a fit");
        assert!(fit.r2.expect("r2") < 0.01, "{fit:?}");
    }

    #[test]
    fn growth_skips_start_up() {
        // A jump during the first 20 %, flat afterwards: no growth.
        let points: Vec<(f64, u64)> = (0..100u64)
            .map(|t| (t as f64, if t < 10 { t * 1000 } else { 1 << 30 }))
            .collect();
        let fit = growth(points.iter().copied()).expect("a fit");
        assert_eq!(fit.slope, 0.0);
        assert_eq!(growth(points[..1].iter().copied()), None);
    }
}
