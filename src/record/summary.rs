//! The figures memsample prints on stderr when a recording ends.

use crate::probe::Sample;
use crate::sink::Format;
use crate::stats::{Running, raise_peak};
use crate::units::{format_bytes, format_seconds};

/// Running figures of a recording, updated once per sample.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    pub(crate) samples: u64,
    pub(crate) last_elapsed_s: f64,
    pub(crate) skipped_ticks: u64,
    /// Ticks not taken while the job was stopped (Ctrl-Z): not lateness.
    pub(crate) stopped_ticks: u64,
    /// The summed RSS of the samples: peak, mean, last.
    pub(crate) rss: Running,
    /// When the first sample at the peak was taken.
    pub(crate) peak_sampled_at_s: f64,
    /// The main process's kernel high-water mark, the highest seen.
    pub(crate) main_hwm_bytes: u64,
    /// When `peak_rss_bytes` (the peak rule) last rose: the `elapsed_s` of
    /// the first row whose `peak_rss_bytes` column holds the final peak.
    pub(crate) peak_known_at_s: f64,
    pub(crate) max_procs: usize,
    /// Processes counted in the last sample.
    pub(crate) last_procs: usize,
    /// The main process's name, as first seen.
    pub(crate) main_command: Option<String>,
    /// Its pid and its name as last seen (it may rename itself or `exec`):
    /// the name its `exit` row carries.
    main_last: Option<(u32, String)>,
    /// The `peak_rss_bytes` of the `exit` row (the command's kernel peak).
    pub(crate) exit_peak_bytes: u64,
    /// The highest summed PSS of the samples that have one (`--pss`), and
    /// when: with shared pages, the RSS sum counts them once per process.
    pub(crate) peak_pss: Option<(u64, f64)>,
}

impl Summary {
    pub(crate) fn record(&mut self, elapsed_s: f64, sample: &Sample) {
        let rss = sample.rss_bytes();
        let peak_before = self.peak_rss_bytes();
        self.samples += 1;
        self.last_elapsed_s = elapsed_s;
        if self.main_command.is_none() {
            self.main_command = sample.processes.first().map(|p| p.command.clone());
            self.main_last = sample.processes.first().map(|p| (p.pid, p.command.clone()));
        }
        if let (Some((pid, name)), Some(first)) = (&mut self.main_last, sample.processes.first())
            && first.pid == *pid
            && first.command != *name
        {
            first.command.clone_into(name);
        }
        if self.rss.push(rss) {
            self.peak_sampled_at_s = elapsed_s;
        }
        self.main_hwm_bytes = raise_peak(self.main_hwm_bytes, 0, sample.main_hwm_bytes);
        if self.samples == 1 || self.peak_rss_bytes() > peak_before {
            self.peak_known_at_s = elapsed_s;
        }
        self.max_procs = self.max_procs.max(sample.procs());
        self.last_procs = sample.procs();
        // No process, no PSS read (a sum over none would say 0).
        if let Some(pss) = sample.pss_bytes().filter(|_| sample.procs() > 0)
            && self.peak_pss.is_none_or(|(peak, _)| pss > peak)
        {
            self.peak_pss = Some((pss, elapsed_s));
        }
    }

    /// The `exit` row: no sample of RSS (the tree is mostly gone), but its
    /// peak counts and it ends the recording.
    pub(crate) fn record_exit(&mut self, elapsed_s: f64, peak_rss_bytes: u64) {
        let peak_before = self.peak_rss_bytes();
        self.last_elapsed_s = elapsed_s;
        self.exit_peak_bytes = self.exit_peak_bytes.max(peak_rss_bytes);
        if self.peak_rss_bytes() > peak_before {
            self.peak_known_at_s = elapsed_s;
        }
    }

    /// `peak_rss_bytes` by the peak rule (docs/format.md, "The peak rule"):
    /// the larger of the highest summed RSS sampled and the main process's
    /// high-water mark, and the `exit` row's peak.
    pub(crate) fn peak_rss_bytes(&self) -> u64 {
        raise_peak(
            self.rss.peak,
            self.exit_peak_bytes,
            Some(self.main_hwm_bytes),
        )
    }

    /// The main process's name as last seen.
    pub(crate) fn main_last_command(&self) -> Option<&str> {
        self.main_last.as_ref().map(|(_, name)| name.as_str())
    }

    /// Rounded to the nearest byte, as `report`'s.
    pub(crate) fn mean_rss_bytes(&self) -> u64 {
        self.rss.mean()
    }

    /// `peak RSS 60.0 MiB at 1s, mean 50.0 MiB, last 40.0 MiB, 1 process`.
    fn rss_line(&self) -> String {
        let peak = if self.main_hwm_bytes > self.rss.peak {
            format!(
                "peak RSS {} (kernel high-water mark; highest sample {} at {})",
                format_bytes(self.main_hwm_bytes),
                format_bytes(self.rss.peak),
                format_seconds(self.peak_sampled_at_s)
            )
        } else {
            format!(
                "peak RSS {} at {}",
                format_bytes(self.rss.peak),
                format_seconds(self.peak_sampled_at_s)
            )
        };
        let procs = match self.max_procs {
            1 => "1 process".to_string(),
            n => format!("up to {n} processes"),
        };
        format!(
            "{peak}, mean {}, last {}, {procs}",
            format_bytes(self.mean_rss_bytes()),
            format_bytes(self.rss.last)
        )
    }

    /// ` (3 ticks skipped: memsample was late; 40 not taken while the job
    /// was stopped)`, or nothing.
    fn skipped_note(&self) -> String {
        let mut notes = Vec::new();
        match self.skipped_ticks {
            0 => {}
            1 => notes.push("1 tick skipped: memsample was late".to_string()),
            n => notes.push(format!("{n} ticks skipped: memsample was late")),
        }
        match self.stopped_ticks {
            0 => {}
            1 => notes.push("1 tick not taken while the job was stopped".to_string()),
            n => notes.push(format!("{n} ticks not taken while the job was stopped")),
        }
        if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        }
    }

    /// The lines printed at the end, without the `memsample: ` prefix.
    pub(crate) fn lines(&self, ending: &Ending) -> Vec<String> {
        let mut lines = Vec::new();
        let skipped = self.skipped_note();
        if self.samples == 0 {
            lines.push(format!(
                "no samples{skipped}: the process ended before the first one"
            ));
        } else {
            let samples = if self.samples == 1 {
                "sample"
            } else {
                "samples"
            };
            lines.push(format!(
                "{} {samples} over {}{skipped}",
                self.samples,
                format_seconds(self.last_elapsed_s)
            ));
            // `--no-procs` reads no process (docs/usage.md): its rows' 0 B
            // is no figure; the cgroup's lines follow.
            if ending.processes_read {
                lines.push(self.rss_line());
            } else {
                lines.push("processes not read (--no-procs): no RSS figures".into());
            }
            if let Some((pss, at)) = self.peak_pss {
                lines.push(format!(
                    "peak PSS {} at {} (shared pages counted once)",
                    format_bytes(pss),
                    format_seconds(at)
                ));
            }
        }
        let mut end = ending.outcome.clone();
        if let Some(kernel_peak) = ending.kernel_peak_bytes {
            end.push_str(&format!(
                " (kernel peak of a single process: {})",
                format_bytes(kernel_peak)
            ));
        }
        if ending.left_running > 0 {
            let s = if ending.left_running == 1 { "" } else { "es" };
            end.push_str(&format!(
                "; {} descendant process{s} left running",
                ending.left_running
            ));
        }
        end.push_str(&format!("; {} in {}", ending.format.name(), ending.file));
        lines.push(end);
        lines
    }
}

/// How the recording ended, for the last summary line.
#[derive(Debug, Clone)]
pub(crate) struct Ending {
    /// `./myprog exited with code 0`, `pid 1234 exited`, ...
    pub(crate) outcome: String,
    /// `getrusage(RUSAGE_CHILDREN)` ru_maxrss, in spawn mode.
    pub(crate) kernel_peak_bytes: Option<u64>,
    pub(crate) left_running: usize,
    /// Processes were read: not so with `--no-procs`.
    pub(crate) processes_read: bool,
    pub(crate) file: String,
    pub(crate) format: Format,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProcessSample;

    fn sample(rss: u64, hwm: u64) -> Sample {
        Sample {
            processes: vec![ProcessSample {
                pid: 1,
                ppid: 0,
                command: "x".into(),
                rss_bytes: rss,
                vsz_bytes: rss * 2,
                cpu_percent: 0.0,
                hwm_bytes: Some(hwm),
                pss_bytes: None,
                uss_bytes: None,
                breakdown: None,
            }],
            main_hwm_bytes: Some(hwm),
        }
    }

    #[test]
    fn peak_takes_the_high_water_mark() {
        let mut summary = Summary::default();
        summary.record(0.0, &sample(50 << 20, 50 << 20));
        summary.record(1.0, &sample(60 << 20, 250 << 20));
        summary.record(2.0, &sample(40 << 20, 250 << 20));
        assert_eq!(summary.peak_rss_bytes(), 250 << 20);
        assert_eq!(summary.rss.peak, 60 << 20);
        assert_eq!(summary.peak_sampled_at_s, 1.0);
        assert_eq!(summary.peak_known_at_s, 1.0);
        assert_eq!(summary.mean_rss_bytes(), 50 << 20);
        let lines = summary.lines(&Ending {
            outcome: "./x exited with code 0".into(),
            kernel_peak_bytes: Some(250 << 20),
            left_running: 0,
            processes_read: true,
            file: "mem.csv".into(),
            format: Format::Csv,
        });
        assert_eq!(lines[0], "3 samples over 2s");
        assert_eq!(
            lines[1],
            "peak RSS 250.0 MiB (kernel high-water mark; highest sample 60.0 MiB at 1s), mean 50.0 MiB, last 40.0 MiB, 1 process"
        );
        assert_eq!(
            lines[2],
            "./x exited with code 0 (kernel peak of a single process: 250.0 MiB); CSV in mem.csv"
        );
    }

    /// `--no-procs`: no RSS figure where no process was read.
    #[test]
    fn no_rss_figures_without_processes() {
        let mut summary = Summary::default();
        summary.record(0.0, &Sample::default());
        summary.record(1.0, &Sample::default());
        let lines = summary.lines(&Ending {
            outcome: "cgroup /sys/fs/cgroup/web.service was removed".into(),
            kernel_peak_bytes: None,
            left_running: 0,
            processes_read: false,
            file: "mem.csv".into(),
            format: Format::Csv,
        });
        assert_eq!(
            lines,
            [
                "2 samples over 1s",
                "processes not read (--no-procs): no RSS figures",
                "cgroup /sys/fs/cgroup/web.service was removed; CSV in mem.csv"
            ]
        );
    }
}
