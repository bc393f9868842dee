//! Reading a recording back: the reading twin of [`crate::sink`], shared by
//! `report` and `plot`.
//!
//! The format is told by the content, never the name (docs/format.md): a
//! file whose first non-blank byte is `{` is JSON Lines, anything else CSV.
//! Both go through the same row checks (`fields`) and the same summing of
//! per-process rows (`build`), so they give the same figures. Every error
//! names the file, and the line when one row is at fault, on a single line.

mod build;
mod csv;
mod decimate;
mod fields;
mod jsonl;
mod packed;
pub(crate) mod parts;
pub(crate) mod phases;
mod series;
mod timeline;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Result, anyhow, bail};

use crate::console::reason::reason;
use crate::probe::Breakdown;
use crate::schema::{CgroupFigures, Layout};
use crate::sink::Format;
use crate::stats::Running;

pub(crate) use parts::Parts;
pub(crate) use series::{PeakLine, Series};
pub(crate) use timeline::Timeline;

/// One sample of the whole tree (per-process rows already summed).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub timestamp: SystemTime,
    pub elapsed_s: f64,
    pub procs: u64,
    pub rss_bytes: u64,
    /// `None` when PSS was not recorded, or not read for every process.
    pub pss_bytes: Option<u64>,
    /// As `pss_bytes`, for USS.
    pub uss_bytes: Option<u64>,
    /// What RSS is made of (`--breakdown`); `None` as for PSS.
    pub breakdown: Option<Breakdown>,
    /// CPU of the tree since the previous sample, in % of one core.
    pub(crate) cpu_percent: f64,
    /// Highest memory known so far: the recorded column in the default
    /// layout; in the per-process layout, the largest of every sum of RSS so
    /// far and every process's own high-water mark so far (each is a lower
    /// bound of the tree's peak, as the default column is).
    pub peak_rss_bytes: u64,
    /// The `exit` row: it closes the recording with what is left of the
    /// tree and the final peaks; it is no sample of RSS.
    pub(crate) exit: bool,
    /// The cgroup's figures; all `None` in a recording without them.
    pub(crate) cgroup: CgroupFigures,
    /// Its phase (`--phases`); `None` without the column.
    pub(crate) phase: Option<String>,
    /// A `mark` row: the first of its phase.
    pub(crate) mark: bool,
}

/// One row of a per-process recording, as it is read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProcessRow<'a> {
    /// The number of the sample it belongs to (0 for the first).
    pub(crate) sample_index: u64,
    pub(crate) elapsed_s: f64,
    pub(crate) pid: u32,
    pub(crate) command: &'a str,
    pub(crate) rss_bytes: u64,
    /// The largest of its own `peak_rss_bytes` and its RSS.
    pub(crate) peak_rss_bytes: u64,
}

/// What reading a recording hands its rows to, one sample at a time.
pub(crate) trait Visitor {
    /// A whole sample, in time order.
    fn sample(&mut self, sample: &Sample);
    /// A process's row (per-process layout), before its sample is whole.
    fn process(&mut self, _row: &ProcessRow<'_>) {}
}

/// Collects every sample: for tests and small files.
impl Visitor for Vec<Sample> {
    fn sample(&mut self, sample: &Sample) {
        self.push(sample.clone());
    }
}

/// Reads and checks a recording in either format and either layout,
/// handing its samples to `visitor` as they are read; returns the format,
/// the layout and the number of samples (an error when there are none).
pub(crate) fn read_with(
    path: &Path,
    visitor: &mut (impl Visitor + ?Sized),
) -> Result<(Format, Layout, u64)> {
    let file = File::open(path)
        .map_err(|err| anyhow!("cannot open {}: {}", path.display(), reason(&err)))?;
    // Large enough that the first non-blank byte is in the first fill.
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let format = detect(&mut reader)
        .map_err(|err| anyhow!("cannot read {}: {}", path.display(), reason(&err)))?;
    let (layout, count) = match format {
        Format::Csv => csv::read(path, reader, visitor)?,
        Format::Jsonl => jsonl::read(path, reader, visitor)?,
    };
    if count == 0 {
        bail!("{}: no samples", path.display());
    }
    Ok((format, layout, count))
}

/// Every sample of a recording, in memory: for small files and tests;
/// `report` and `plot` read a [`Recording`] instead.
pub fn samples(path: &Path) -> Result<(Format, Layout, Vec<Sample>)> {
    let mut samples = Vec::new();
    let (format, layout, _) = read_with(path, &mut samples)?;
    Ok((format, layout, samples))
}

/// One process of a per-process recording, keyed by pid and command (a pid
/// that execs or is reused starts a new entry: its high-water mark restarts).
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    pub pid: u32,
    pub command: String,
    /// The largest of its own `peak_rss_bytes` and its sampled RSS.
    pub peak_rss_bytes: u64,
    /// Its RSS over time, decimated; empty unless read for a chart.
    pub series: Series,
}

/// The sample at the highest RSS: the first one, as a plateau is reached
/// when it starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Peak {
    pub(crate) rss_bytes: u64,
    pub(crate) elapsed_s: f64,
    pub(crate) timestamp: SystemTime,
}

/// A recording read back as the figures `report` and `plot` need, never
/// its rows: running figures, RSS and time of each sample in 12 bytes
/// (`Timeline`), decimated lines for the chart ([`Series`]), and the
/// processes of a per-process file.
#[derive(Debug, Clone)]
pub struct Recording {
    path: PathBuf,
    format: Format,
    layout: Layout,
    pub(crate) running: Running,
    pub(crate) peak: Peak,
    pub(crate) first_elapsed_s: f64,
    pub(crate) last_elapsed_s: f64,
    /// Highest `peak_rss_bytes` (the kernel's high-water mark).
    pub(crate) kernel_peak_rss_bytes: u64,
    pub(crate) peak_pss_bytes: Option<u64>,
    /// Highest USS over the samples that have one (`--pss`).
    pub(crate) peak_uss_bytes: Option<u64>,
    /// The parts of the peak sample (`--breakdown`); `None` when it lacks them.
    pub(crate) peak_breakdown: Option<Breakdown>,
    /// The parts over time, from the first sample that has them; `None`
    /// without `--breakdown`, so a default recording keeps nothing more.
    pub(crate) parts: Option<Parts>,
    pub(crate) max_procs: u64,
    /// The cgroup's peak (`cgroup_peak_bytes`, the highest) and the
    /// `elapsed_s` of the first row that holds it; `None` without the column.
    pub(crate) cgroup_peak: Option<(u64, f64)>,
    /// An attached cgroup's limit (`cgroup_limit_bytes`) as last recorded;
    /// `None` without a limit or the column.
    pub(crate) cgroup_limit: Option<u64>,
    /// An attached cgroup's OOM kills since attach (`cgroup_oom_kills`, the
    /// highest), and the `elapsed_s` of each row where it rose (the first
    /// [`MAX_OOM_MARKS`]).
    pub(crate) oom_kills: Option<u64>,
    pub(crate) oom_marks: Vec<f64>,
    pub(crate) timeline: Timeline,
    /// RSS, the peak so far and CPU over time, decimated.
    pub(crate) rss: Series,
    pub(crate) peak_so_far: PeakLine,
    pub(crate) cpu: Series,
    /// `cgroup_bytes` and `cgroup_interval_peak_bytes` over time, decimated.
    pub(crate) cgroup: Series,
    pub(crate) cgroup_interval_peak: Series,
    /// The phases, with the `phase` column.
    phases: phases::Phases,
    processes: Vec<Process>,
    /// By pid: its entry in `processes` and the last sample it was in.
    process_index: HashMap<u32, (usize, u64)>,
    keep: Keep,
}

/// What a reading keeps beyond the running figures and the chart's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Keep {
    /// Every sample's RSS and time, for `report`'s percentiles and growth.
    pub(crate) timeline: bool,
    /// Each process's line, or the stack of a `--breakdown` recording's
    /// parts, for a chart of one recording.
    pub(crate) process_lines: bool,
}

impl Recording {
    /// Reads and checks a recording written by memsample, in either format
    /// and either layout, for its report.
    pub fn read(path: &Path) -> Result<Recording> {
        let keep = Keep {
            timeline: true,
            process_lines: false,
        };
        Self::read_as(path, keep)
    }

    /// Reads a recording for its chart: each process's line is kept, not
    /// the RSS of every sample (a [`crate::report::Report`] of it would lack
    /// its percentiles and growth).
    pub fn read_for_chart(path: &Path) -> Result<Recording> {
        let keep = Keep {
            timeline: false,
            process_lines: true,
        };
        Self::read_as(path, keep)
    }

    pub(crate) fn read_as(path: &Path, keep: Keep) -> Result<Recording> {
        let mut recording = Recording {
            path: path.to_path_buf(),
            format: Format::Csv,
            layout: Layout::default(),
            running: Running::default(),
            peak: Peak {
                rss_bytes: 0,
                elapsed_s: 0.0,
                timestamp: SystemTime::UNIX_EPOCH,
            },
            first_elapsed_s: 0.0,
            last_elapsed_s: 0.0,
            kernel_peak_rss_bytes: 0,
            peak_pss_bytes: None,
            peak_uss_bytes: None,
            peak_breakdown: None,
            parts: None,
            max_procs: 0,
            cgroup_peak: None,
            cgroup_limit: None,
            oom_kills: None,
            oom_marks: Vec::new(),
            timeline: Timeline::default(),
            rss: Series::default(),
            peak_so_far: PeakLine::default(),
            cpu: Series::default(),
            cgroup: Series::default(),
            cgroup_interval_peak: Series::default(),
            phases: phases::Phases::default(),
            processes: Vec::new(),
            process_index: HashMap::new(),
            keep,
        };
        let (format, layout, _) = read_with(path, &mut recording)?;
        recording.format = format;
        recording.layout = layout;
        Ok(recording)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The file's format, as told by its content.
    pub fn format(&self) -> Format {
        self.format
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// How many samples it has; never 0.
    pub fn count(&self) -> u64 {
        self.running.count
    }

    /// Whether it has the `--breakdown` columns.
    pub(crate) fn has_breakdown(&self) -> bool {
        self.parts.is_some()
    }

    /// The phases of a `--phases` recording, in order; `None` without.
    pub(crate) fn phases(&self) -> Option<Vec<phases::Phase>> {
        self.layout.phases.then(|| self.phases.finish())
    }

    /// The processes of a per-process recording, in order of appearance;
    /// empty for the default layout.
    pub fn processes(&self) -> &[Process] {
        &self.processes
    }

    /// The processes with the highest peaks, highest first.
    pub(crate) fn top_processes(&self, count: usize) -> Vec<&Process> {
        let mut processes: Vec<&Process> = self.processes.iter().collect();
        processes.sort_by(|a, b| {
            b.peak_rss_bytes
                .cmp(&a.peak_rss_bytes)
                .then(a.pid.cmp(&b.pid))
        });
        processes.truncate(count);
        processes
    }
}

impl Visitor for Recording {
    fn sample(&mut self, sample: &Sample) {
        let index = self.running.count;
        if index == 0 {
            self.first_elapsed_s = sample.elapsed_s;
        }
        self.last_elapsed_s = sample.elapsed_s;
        self.kernel_peak_rss_bytes = self.kernel_peak_rss_bytes.max(sample.peak_rss_bytes);
        self.cgroup_sample(index, sample);
        self.phases.push(sample);
        let x = sample.elapsed_s;
        self.peak_so_far.push(
            index,
            x,
            sample.peak_rss_bytes,
            sample.rss_bytes,
            sample.mark,
        );
        if sample.exit {
            // Its peaks count; its RSS (what is left) is no sample of the run.
            return;
        }
        if self.running.push(sample.rss_bytes) {
            self.peak = Peak {
                rss_bytes: sample.rss_bytes,
                elapsed_s: sample.elapsed_s,
                timestamp: sample.timestamp,
            };
            self.peak_breakdown = sample.breakdown;
        }
        if let Some(pss) = sample.pss_bytes {
            self.peak_pss_bytes = Some(self.peak_pss_bytes.map_or(pss, |peak| peak.max(pss)));
        }
        if let Some(uss) = sample.uss_bytes {
            self.peak_uss_bytes = Some(self.peak_uss_bytes.map_or(uss, |peak| peak.max(uss)));
        }
        if let Some(breakdown) = &sample.breakdown {
            self.keep_parts(index, sample.elapsed_s, breakdown);
        }
        self.max_procs = self.max_procs.max(sample.procs);
        if self.keep.timeline {
            self.timeline.push(sample.elapsed_s, sample.rss_bytes);
        }
        self.rss.push(index, x, sample.rss_bytes as f64);
        self.cpu.push(index, x, sample.cpu_percent);
    }

    fn process(&mut self, row: &ProcessRow<'_>) {
        self.keep_process(row);
    }
}

impl Recording {
    /// Keeps a sample's parts as the reading asks: all for a report, the
    /// chart's stack for a chart.
    fn keep_parts(&mut self, index: u64, elapsed_s: f64, breakdown: &Breakdown) {
        let values = Parts::values(breakdown);
        let parts = self.parts.get_or_insert_with(Parts::default);
        if self.keep.timeline {
            parts.timeline.push(elapsed_s, values);
        }
        if self.keep.process_lines {
            parts.stack.push(index, (elapsed_s, values));
        }
    }

    /// A process is its pid for as long as it is in every sample: one
    /// entry however often it renames itself (`prctl(PR_SET_NAME)`) or
    /// `exec`s, named by its last name; a pid that was missing from a sample
    /// and comes back is another process (docs/reading-back.md).
    fn keep_process(&mut self, row: &ProcessRow<'_>) {
        let next = self.processes.len();
        let index = match self.process_index.get_mut(&row.pid) {
            Some((index, last_sample)) if row.sample_index <= *last_sample + 1 => {
                *last_sample = row.sample_index;
                *index
            }
            _ => {
                self.process_index.insert(row.pid, (next, row.sample_index));
                self.processes.push(Process {
                    pid: row.pid,
                    command: row.command.to_owned(),
                    peak_rss_bytes: 0,
                    series: Series::default(),
                });
                next
            }
        };
        let Some(process) = self.processes.get_mut(index) else {
            return;
        };
        if process.command != row.command {
            row.command.clone_into(&mut process.command);
        }
        process.peak_rss_bytes = process.peak_rss_bytes.max(row.peak_rss_bytes);
        if self.keep.process_lines {
            process
                .series
                .push(row.sample_index, row.elapsed_s, row.rss_bytes as f64);
        }
    }
}

impl Recording {
    /// The cgroup's line, its per-interval peaks and its highest peak.
    fn cgroup_sample(&mut self, index: u64, sample: &Sample) {
        let x = sample.elapsed_s;
        let figures = sample.cgroup;
        if let Some(bytes) = figures.current_bytes {
            self.cgroup.push(index, x, bytes as f64);
        }
        if let Some(bytes) = figures.interval_peak_bytes {
            self.cgroup_interval_peak.push(index, x, bytes as f64);
        }
        if let Some(bytes) = figures.peak_bytes
            && self.cgroup_peak.is_none_or(|(peak, _)| bytes > peak)
        {
            self.cgroup_peak = Some((bytes, x));
        }
        if figures.current_bytes.is_some() {
            // An exit row after the cgroup's removal has no figures at all.
            self.cgroup_limit = figures.limit_bytes;
        }
        if let Some(kills) = figures.oom_kills {
            if kills > self.oom_kills.unwrap_or(0) && self.oom_marks.len() < MAX_OOM_MARKS {
                self.oom_marks.push(x);
            }
            self.oom_kills = Some(kills.max(self.oom_kills.unwrap_or(0)));
        }
    }
}

/// OOM kills marked on a chart, at most (the count is kept whatever it is).
pub(crate) const MAX_OOM_MARKS: usize = 100;

/// JSON Lines when the first non-blank byte is `{`, else CSV.
fn detect(reader: &mut impl BufRead) -> io::Result<Format> {
    let buffer = reader.fill_buf()?;
    let first = buffer.iter().find(|byte| !byte.is_ascii_whitespace());
    Ok(if first == Some(&b'{') {
        Format::Jsonl
    } else {
        Format::Csv
    })
}

/// Text safe for a terminal line and for XML: control characters (a
/// command name can hold any byte but `/` and NUL) become `?`.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_told_by_the_first_non_blank_byte() {
        let detect = |text: &str| detect(&mut text.as_bytes()).expect("reads");
        assert_eq!(detect("{\"timestamp\":1}\n"), Format::Jsonl);
        assert_eq!(detect("\n  \t{"), Format::Jsonl);
        assert_eq!(detect("timestamp,elapsed_s\n"), Format::Csv);
        assert_eq!(detect(""), Format::Csv);
    }

    /// A default-layout recording of two samples, with the parts when
    /// `breakdown`; the second is the peak.
    fn two_samples(breakdown: bool) -> tempfile::NamedTempFile {
        let layout = Layout {
            per_process: false,
            pss: false,
            breakdown,
            cgroup: false,
            attached: false,
            phases: false,
        };
        let header = layout.header();
        let mut text = header.join(",");
        for (second, trigger, rss) in [(0, "start", 60u64), (1, "interval", 90)] {
            let value = |column: &str| match column {
                "timestamp" => format!("2026-11-25T10:15:0{second}.000Z"),
                "elapsed_s" => format!("{second}.000000"),
                "trigger" => trigger.into(),
                "procs" | "threads" => "1".into(),
                "cpu_percent" => "0.0".into(),
                "anon_bytes" => (rss - 30).to_string(),
                "file_bytes" => "20".into(),
                "shmem_bytes" => "10".into(),
                "swap_bytes" => "0".into(),
                _ => rss.to_string(),
            };
            let row: Vec<String> = header.iter().map(|column| value(column)).collect();
            text.push('\n');
            text.push_str(&row.join(","));
        }
        text.push('\n');
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), text).expect("written");
        file
    }

    #[test]
    fn parts_are_kept_only_when_recorded_and_as_the_reading_asks() {
        let plain = two_samples(false);
        for read in [Recording::read, Recording::read_for_chart] {
            let recording = read(plain.path()).expect("reads");
            assert!(!recording.has_breakdown());
            assert_eq!(recording.peak_breakdown, None);
        }
        let file = two_samples(true);
        let report = Recording::read(file.path()).expect("reads");
        let parts = report.parts.as_ref().expect("parts kept");
        assert_eq!(
            parts.timeline.points().collect::<Vec<_>>(),
            [(0.0, [30, 20, 10, 0]), (1.0, [60, 20, 10, 0])]
        );
        assert!(
            parts.stack.points().is_empty(),
            "no chart stack for a report"
        );
        let at_peak = report.peak_breakdown.expect("parts at the peak");
        assert_eq!((at_peak.anon_bytes, at_peak.threads), (60, 1));
        let chart = Recording::read_for_chart(file.path()).expect("reads");
        let parts = chart.parts.as_ref().expect("parts kept");
        assert_eq!(
            parts.timeline.points().count(),
            0,
            "no timeline for a chart"
        );
        assert_eq!(parts.stack.points().len(), 2);
    }

    /// A pid in consecutive samples is one process, renamed or not; gone
    /// for a sample and back, it is another one (the pid was reused).
    #[test]
    fn a_process_is_its_pid_while_it_lasts() {
        let header = "timestamp,elapsed_s,trigger,pid,ppid,command,rss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes";
        let mut text = format!("{header}\n");
        let rows = [
            (0, 7, "sh", 10),
            (1, 7, "worker", 30),
            (1, 8, "cc", 5),
            (2, 8, "cc", 5),
            (3, 7, "make", 20),
        ];
        for (second, pid, command, rss) in rows {
            text.push_str(&format!(
                "2026-11-25T10:15:0{second}.000Z,{second}.000000,interval,{pid},1,{command},{rss},{rss},0.0,{rss}\n"
            ));
        }
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), text).expect("written");
        let recording = Recording::read_for_chart(file.path()).expect("reads");
        let seen: Vec<(u32, &str, u64, usize)> = recording
            .processes()
            .iter()
            .map(|p| {
                (
                    p.pid,
                    p.command.as_str(),
                    p.peak_rss_bytes,
                    p.series.points().len(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [(7, "worker", 30, 2), (8, "cc", 5, 2), (7, "make", 20, 1)]
        );
    }

    #[test]
    fn printable_replaces_control_characters() {
        assert_eq!(printable("a\u{1b}[31mb"), "a?[31mb");
    }
}
