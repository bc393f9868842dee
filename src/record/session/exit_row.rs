//! The `exit` row (docs/format.md, "The exit row"): right after the target
//! ends, one last row with what is left of the tree, the final cgroup figures
//! and, in spawn mode, the kernel's peak for the command from `wait4`.

use std::time::{Instant, SystemTime};

use crate::probe::{Breakdown, ProcessSample};
use crate::schema::Trigger;

use super::state::{Kind, Session};

impl Session {
    /// Writes the `exit` row; written even when nothing is left (`procs` 0),
    /// as it carries the peaks, but not in a recording without rows. Called
    /// only while sampling: not after `--samples` or `--duration` ended it,
    /// nor after the output failed.
    pub(super) fn take_exit(&mut self, max_rss: Option<u64>) {
        // Gone before the start row: the recording stays without rows.
        if self.summary().samples == 0 {
            return;
        }
        let now = Instant::now();
        let wall_clock = SystemTime::now();
        let mut sample = self.parts_mut().probe.sample();
        let kernel_peak = self.command_peak(max_rss);
        let pid = self.parts().target.pid;
        let attached = self
            .parts()
            .tree
            .as_ref()
            .is_some_and(|tree| tree.attached_path().is_some());
        if self.parts().per_process && !attached && !sample.has_pid(pid) {
            // Per-process rows need a process to carry the command's peak.
            let gone = self.gone_command(kernel_peak);
            sample.processes.insert(0, gone);
        }
        let elapsed_s = now.duration_since(self.origin()).as_secs_f64();
        if let Err(err) = self.write(wall_clock, elapsed_s, Trigger::Exit, &sample, kernel_peak) {
            let name = self.parts().sink.name().to_string();
            self.console()
                .sampling_stopped(&name, &err, err.is_broken_pipe());
            self.end_sampling(true);
        }
    }

    /// The marks the job sent just before it ended, each its `mark` row,
    /// written even when nothing is left of the tree: the job may be gone
    /// before they are read (docs/phases.md).
    pub(super) fn take_late_marks(&mut self) {
        let names = self
            .parts()
            .marks
            .as_ref()
            .map(|marks| marks.take_all())
            .unwrap_or_default();
        if names.is_empty() || self.summary().samples == 0 {
            return;
        }
        for name in names {
            self.start_phase(name);
            let now = Instant::now();
            let wall_clock = SystemTime::now();
            let sample = self.parts_mut().probe.sample();
            let elapsed_s = now.duration_since(self.origin()).as_secs_f64();
            if let Err(err) = self.write(wall_clock, elapsed_s, Trigger::Mark, &sample, None) {
                let name = self.parts().sink.name().to_string();
                self.console()
                    .sampling_stopped(&name, &err, err.is_broken_pipe());
                self.end_sampling(true);
                return;
            }
        }
    }

    /// The command's row once it is gone (per-process layout): 0 bytes of
    /// everything, its peak the kernel's.
    fn gone_command(&self, kernel_peak: Option<u64>) -> ProcessSample {
        let main_hwm = self.summary().main_hwm_bytes;
        ProcessSample {
            pid: self.parts().target.pid,
            // memsample was its parent in spawn mode; an attached target's
            // is not known any more (0, as for a process without one).
            ppid: match self.parts().kind {
                Kind::Spawn => std::process::id(),
                Kind::Attach => 0,
            },
            // Its name as last sampled: the one its other rows end with.
            command: self
                .summary()
                .main_last_command()
                .unwrap_or_default()
                .to_owned(),
            rss_bytes: 0,
            vsz_bytes: 0,
            cpu_percent: 0.0,
            hwm_bytes: Some(kernel_peak.unwrap_or(0).max(main_hwm)),
            // Exited: nothing of it is left, shared or not.
            pss_bytes: Some(0),
            uss_bytes: Some(0),
            breakdown: Some(Breakdown {
                anon_bytes: 0,
                file_bytes: 0,
                shmem_bytes: 0,
                swap_bytes: 0,
                threads: 0,
            }),
        }
    }

    /// The kernel's peak for the command (`wait4`'s ru_maxrss for its pid:
    /// the command and the descendants it waited for), in spawn mode, when
    /// above memsample's own high-water mark at fork: until exec the child
    /// ran on a copy of memsample's pages, which that figure includes.
    pub(super) fn command_peak(&self, max_rss: Option<u64>) -> Option<u64> {
        let parts = self.parts();
        if parts.kind != Kind::Spawn {
            return None;
        }
        // Unknown, it could be all the figure is: none is given.
        let own = parts.target.own_peak_at_fork?;
        max_rss.filter(|peak| *peak > own)
    }
}
