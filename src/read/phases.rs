//! The phases of a `--phases` recording (docs/phases.md), folded from its
//! samples as they are read: each mark starts one; its peak is exact where
//! the cgroup's per-row peak (`cgroup_interval_peak_bytes`) covers all of
//! it, up to the reading that closes it (the next mark's row, or the last
//! row); sampled otherwise, raised to `peak_rss_bytes` when that moved
//! during the phase (the main process's kernel high-water mark rose, or
//! `--reset-peaks` restarted it): the rule of [`PhasePeak`].

use super::Sample;
use crate::stats::PhasePeak;

/// One phase, from its mark to the next.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Phase {
    pub(crate) name: String,
    pub(crate) start_s: f64,
    pub(crate) end_s: f64,
    pub(crate) peak_bytes: u64,
    /// From the cgroup's per-row peaks over the whole phase.
    pub(crate) exact: bool,
    /// The main process's high-water mark over the phase is in the peak
    /// (`peak_rss_bytes` moved during it: [`PhasePeak::peak`]).
    pub(crate) main_exact: bool,
    pub(crate) mean_bytes: u64,
    /// RSS at its end minus RSS at its start (what it left behind).
    pub(crate) retained_bytes: i64,
}

/// A phase being read.
#[derive(Debug, Clone)]
struct Open {
    name: String,
    start_s: f64,
    start_rss: u64,
    peak: PhasePeak,
    sum: u128,
    count: u64,
    /// elapsed_s and RSS of its latest row.
    last: (f64, u64),
}

/// The phases read so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Phases {
    done: Vec<Phase>,
    open: Option<Open>,
}

impl Phases {
    /// Adds a sample of a recording with the `phase` column.
    pub(crate) fn push(&mut self, sample: &Sample) {
        let Some(name) = &sample.phase else {
            return;
        };
        let starts = sample.mark || self.open.is_none();
        if starts {
            if let Some(open) = self.open.take() {
                self.done.push(close(open, Some(sample)));
            }
            self.open = Some(Open {
                name: name.clone(),
                start_s: sample.elapsed_s,
                start_rss: sample.rss_bytes,
                peak: PhasePeak::start(sample.rss_bytes, sample.peak_rss_bytes),
                sum: u128::from(sample.rss_bytes),
                count: 1,
                last: (sample.elapsed_s, sample.rss_bytes),
            });
            return;
        }
        let Some(open) = &mut self.open else {
            return;
        };
        let rss = (!sample.exit).then_some(sample.rss_bytes);
        open.peak.row(
            rss,
            sample.peak_rss_bytes,
            sample.cgroup.interval_peak_bytes,
        );
        if let Some(rss) = rss {
            open.sum += u128::from(rss);
            open.count += 1;
            open.last = (sample.elapsed_s, rss);
        } else {
            open.last.0 = sample.elapsed_s;
        }
    }

    /// Every phase, in order, the last closed by the last row.
    pub(crate) fn finish(&self) -> Vec<Phase> {
        let mut phases = self.done.clone();
        if let Some(open) = &self.open {
            phases.push(close(open.clone(), None));
        }
        phases
    }
}

/// Closes a phase with the reading that ends it: the next phase's first
/// row, whose cgroup peak since the row before counts for this phase; or
/// none for the last phase.
fn close(mut open: Open, closing: Option<&Sample>) -> Phase {
    let (mut end_s, mut end_rss) = open.last;
    if let Some(closing) = closing {
        open.peak.row(
            Some(closing.rss_bytes),
            closing.peak_rss_bytes,
            closing.cgroup.interval_peak_bytes,
        );
        (end_s, end_rss) = (closing.elapsed_s, closing.rss_bytes);
    }
    let peak = open.peak.peak();
    Phase {
        name: open.name,
        start_s: open.start_s,
        end_s,
        peak_bytes: peak.bytes,
        exact: peak.exact,
        main_exact: peak.main_exact,
        mean_bytes: (open.sum / u128::from(open.count.max(1))) as u64,
        retained_bytes: end_rss as i64 - open.start_rss as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::CgroupFigures;

    fn sample(elapsed_s: f64, phase: &str, mark: bool, rss: u64, peak: u64) -> Sample {
        Sample {
            timestamp: std::time::SystemTime::UNIX_EPOCH,
            elapsed_s,
            procs: 1,
            rss_bytes: rss,
            pss_bytes: None,
            uss_bytes: None,
            breakdown: None,
            cpu_percent: 0.0,
            peak_rss_bytes: peak,
            exit: false,
            cgroup: CgroupFigures::default(),
            phase: Some(phase.into()),
            mark,
        }
    }

    #[test]
    fn each_mark_closes_the_phase_before_it() {
        let mut phases = Phases::default();
        for s in [
            sample(0.0, "start", false, 10, 10),
            sample(1.0, "start", false, 30, 30),
            sample(2.0, "load", true, 20, 30),
            // The main process's high-water mark rose to 90 between samples.
            sample(3.0, "load", false, 40, 90),
            sample(4.0, "load", true, 40, 90),
        ] {
            phases.push(&s);
        }
        let got = phases.finish();
        assert_eq!(got.len(), 3);
        assert_eq!(
            (got[0].name.as_str(), got[0].peak_bytes, got[0].exact),
            ("start", 30, false)
        );
        assert_eq!((got[0].end_s, got[0].retained_bytes), (2.0, 10));
        assert_eq!((got[1].name.as_str(), got[1].peak_bytes), ("load", 90));
        assert_eq!(got[1].mean_bytes, 30);
        assert_eq!((got[2].name.as_str(), got[2].start_s), ("load", 4.0));
    }

    /// The exit row's `peak_rss_bytes` (wait4's, with a child's peak of
    /// an earlier phase in it) is not the last phase's; it ends the phase.
    #[test]
    fn the_exit_row_ends_the_last_phase_without_its_peak() {
        let mut phases = Phases::default();
        let mut exit = sample(3.0, "save", false, 0, 200);
        exit.exit = true;
        for s in [
            sample(0.0, "start", false, 10, 10),
            sample(1.0, "save", true, 12, 12),
            sample(2.0, "save", false, 15, 15),
            exit,
        ] {
            phases.push(&s);
        }
        let save = &phases.finish()[1];
        assert_eq!((save.peak_bytes, save.main_exact), (15, true));
        assert_eq!((save.end_s, save.mean_bytes), (3.0, 13));
    }

    #[test]
    fn per_row_cgroup_peaks_make_a_phase_exact() {
        let mut phases = Phases::default();
        let with = |mut s: Sample, peak| {
            s.cgroup.interval_peak_bytes = Some(peak);
            s
        };
        for s in [
            with(sample(0.0, "start", false, 10, 10), 10),
            with(sample(1.0, "a", true, 10, 10), 500),
            with(sample(2.0, "a", false, 10, 10), 70),
            with(sample(3.0, "b", true, 10, 10), 80),
        ] {
            phases.push(&s);
        }
        let got = phases.finish();
        assert_eq!((got[0].peak_bytes, got[0].exact), (500, true));
        assert_eq!((got[1].peak_bytes, got[1].exact), (80, true));
        // The last phase has no reading after its first row.
        assert!(!got[2].exact);
    }
}
