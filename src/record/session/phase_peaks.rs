//! Each phase's peak while recording (docs/phases.md): `--reset-peaks`
//! at each mark, and the peak of the phase the rows belong to, folded by
//! the rule `report` uses, whose closed phases go to the publishers
//! (docs/publishing.md).

use crate::probe::Sample;
use crate::schema::Trigger;
use crate::stats::{PeakOf, PhasePeak};

use super::state::Session;

impl Session {
    /// `--reset-peaks`, at a mark whose sample has been read: every member's
    /// high-water mark restarts from its RSS now, and `peak_rss_bytes` from
    /// the mark row's RSS (the mark row is the new phase's first). A
    /// process memsample may not write to is said once per recording.
    pub(super) fn reset_peaks(&mut self, sample: &Sample) {
        if self.peak_since_reset.is_none() {
            return;
        }
        self.peak_since_reset = Some(sample.rss_bytes());
        let done = self.parts_mut().probe.reset_peaks();
        if done.denied > 0 && !self.reset_denied_said {
            self.reset_denied_said = true;
            let which = match done.denied {
                1 => "1 process".to_string(),
                n => format!("{n} processes"),
            };
            self.console().note(format_args!(
                "warning: --reset-peaks: cannot reset the high-water mark of {which} of another \
                 user (permission denied): its peaks are not per phase (said once)"
            ));
        }
    }

    /// Folds a written row into the current phase's peak; a mark closes the
    /// phase before it, whose peak goes to the publishers (a mark may
    /// allocate; other rows do not). `rss_bytes` is `None` for the `exit`
    /// row, which samples no RSS and whose `peak_rss_bytes` moves no
    /// phase's peak ([`PhasePeak::row`]).
    pub(super) fn follow_phase(
        &mut self,
        trigger: Trigger,
        rss_bytes: Option<u64>,
        peak_rss_bytes: u64,
        cgroup_peak: Option<u64>,
    ) {
        if self.phase_name().is_none() {
            return;
        }
        let starts = trigger == Trigger::Mark || self.phase_peak.is_none();
        if !starts {
            if let Some(phase) = &mut self.phase_peak {
                phase.row(rss_bytes, peak_rss_bytes, cgroup_peak);
            }
            return;
        }
        let rss_bytes = rss_bytes.unwrap_or(0);
        if let Some(mut closed) = self.phase_peak.take() {
            closed.row(Some(rss_bytes), peak_rss_bytes, cgroup_peak);
            let name = self.closing_phase.take();
            if let (Some(feed), Some(name)) = (&self.parts().feed, name) {
                feed.phase_closed(name, closed.peak());
            }
        }
        self.phase_peak = Some(PhasePeak::start(rss_bytes, peak_rss_bytes));
    }

    /// The phase still open, and its peak up to the last row: at the end,
    /// the last phase, closed by the last row as `report` closes it.
    pub(crate) fn open_phase(&self) -> Option<(&str, PeakOf)> {
        Some((self.phase_name()?, self.phase_peak?.peak()))
    }
}
