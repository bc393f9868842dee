//! The figures publishing sends, kept up to date by the sampling thread at
//! the cost of a few additions and an uncontended lock (no allocation, no
//! system call), and copied out by the publishing threads (docs/publishing.md).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use super::phases::PhaseTable;
use crate::probe::Sample;
use crate::schema::CgroupFigures;
use crate::stats::PeakOf;

/// One copy of what is published: plain numbers, so copying it allocates
/// nothing. A figure memsample does not know is `None` and left out.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Figures {
    pub(crate) samples: u64,
    pub(crate) processes: u64,
    pub(crate) rss_bytes: u64,
    pub(crate) vsz_bytes: u64,
    /// `peak_rss_bytes` of the recording (its peak rule).
    pub(crate) rss_peak_bytes: u64,
    /// The highest summed PSS sampled (`--pss`).
    pub(crate) pss_peak_bytes: Option<u64>,
    /// The tree's threads, when they are read (`--breakdown`).
    pub(crate) threads: Option<u64>,
    /// The command's cgroup now, and its peak (`memory.peak`).
    pub(crate) cgroup_bytes: Option<u64>,
    pub(crate) cgroup_peak_bytes: Option<u64>,
    /// The cgroup's `memory.max` (an attached cgroup's); `None`: no limit.
    pub(crate) cgroup_limit_bytes: Option<u64>,
    /// The cgroup's OOM kills: an attached cgroup's at every row, the
    /// command's own at the end.
    pub(crate) oom_kills: Option<u64>,
    /// Seconds since the first sample.
    pub(crate) duration_seconds: f64,
    /// The command's exit code at the end (128 + N for a death by signal N).
    pub(crate) exit_code: Option<i32>,
    /// When these figures were taken, in nanoseconds since the epoch.
    pub(crate) unix_nanos: u64,
}

/// The figures shared between the sampling thread and the publishers, and
/// the phases closed so far (`--phases`), which only a mark changes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Feed {
    figures: Arc<Mutex<Figures>>,
    phases: Arc<Mutex<PhaseTable>>,
}

/// Nanoseconds since the epoch (0 before it, saturating far after it).
pub(crate) fn unix_nanos(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    })
}

/// What one row of the recording brings.
pub(crate) struct Row<'a> {
    pub(crate) wall_clock: SystemTime,
    pub(crate) elapsed_s: f64,
    /// `None` for the `exit` row, which samples no RSS.
    pub(crate) sample: Option<&'a Sample>,
    pub(crate) samples: u64,
    pub(crate) rss_peak_bytes: u64,
    pub(crate) cgroup: CgroupFigures,
}

impl Feed {
    /// The figures now.
    pub(crate) fn get(&self) -> Figures {
        *self.figures.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The phases closed so far.
    pub(crate) fn phases(&self) -> PhaseTable {
        self.phases
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A mark closed the phase `name` with `peak`.
    pub(crate) fn phase_closed(&self, name: String, peak: PeakOf) {
        self.phases
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(&name, peak);
    }

    /// A row was written: the sampling thread's whole part in publishing.
    pub(crate) fn row(&self, row: &Row<'_>) {
        let mut figures = self.figures.lock().unwrap_or_else(PoisonError::into_inner);
        figures.samples = row.samples;
        figures.duration_seconds = row.elapsed_s;
        figures.rss_peak_bytes = figures.rss_peak_bytes.max(row.rss_peak_bytes);
        figures.unix_nanos = unix_nanos(row.wall_clock);
        if let Some(bytes) = row.cgroup.current_bytes {
            figures.cgroup_bytes = Some(bytes);
        }
        if let Some(bytes) = row.cgroup.peak_bytes {
            figures.cgroup_peak_bytes = Some(figures.cgroup_peak_bytes.unwrap_or(0).max(bytes));
        }
        if row.cgroup.current_bytes.is_some() {
            figures.cgroup_limit_bytes = row.cgroup.limit_bytes;
        }
        if let Some(kills) = row.cgroup.oom_kills {
            figures.oom_kills = Some(kills);
        }
        let Some(sample) = row.sample else {
            return;
        };
        figures.processes = sample.procs() as u64;
        figures.rss_bytes = sample.rss_bytes();
        figures.vsz_bytes = sample.vsz_bytes();
        if let Some(pss) = sample.pss_bytes() {
            figures.pss_peak_bytes = Some(figures.pss_peak_bytes.unwrap_or(0).max(pss));
        }
        if let Some(breakdown) = sample.breakdown() {
            figures.threads = Some(breakdown.threads);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProcessSample;

    fn process(rss: u64, pss: Option<u64>) -> ProcessSample {
        ProcessSample {
            pid: 1,
            ppid: 0,
            command: "x".into(),
            rss_bytes: rss,
            vsz_bytes: 2 * rss,
            cpu_percent: 0.0,
            hwm_bytes: None,
            pss_bytes: pss,
            uss_bytes: None,
            breakdown: None,
        }
    }

    #[test]
    fn peaks_only_rise_and_the_exit_row_keeps_the_last_rss() {
        let feed = Feed::default();
        let big = Sample {
            processes: vec![process(300, Some(200))],
            main_hwm_bytes: None,
        };
        let small = Sample {
            processes: vec![process(100, Some(50))],
            main_hwm_bytes: None,
        };
        let row = |sample, samples, peak, cgroup_peak| Row {
            wall_clock: UNIX_EPOCH + std::time::Duration::from_secs(2),
            elapsed_s: samples as f64,
            sample,
            samples,
            rss_peak_bytes: peak,
            cgroup: CgroupFigures {
                current_bytes: Some(7),
                peak_bytes: cgroup_peak,
                interval_peak_bytes: None,
                limit_bytes: Some(4096),
                // Read at every row of an attached cgroup; kept when a read fails.
                oom_kills: cgroup_peak.map(|_| samples),
                ..CgroupFigures::default()
            },
        };
        feed.row(&row(Some(&big), 1, 300, Some(900)));
        feed.row(&row(Some(&small), 2, 300, Some(800)));
        feed.row(&row(None, 2, 400, None));
        let figures = feed.get();
        assert_eq!(figures.rss_bytes, 100);
        assert_eq!(figures.vsz_bytes, 200);
        assert_eq!(figures.rss_peak_bytes, 400);
        assert_eq!(figures.pss_peak_bytes, Some(200));
        assert_eq!(figures.cgroup_peak_bytes, Some(900));
        assert_eq!(figures.cgroup_bytes, Some(7));
        assert_eq!(figures.cgroup_limit_bytes, Some(4096));
        assert_eq!(figures.oom_kills, Some(2));
        assert_eq!(figures.samples, 2);
        assert_eq!(figures.threads, None);
        assert_eq!(figures.unix_nanos, 2_000_000_000);
    }
}
