//! `memsample report`: the figures of a recording, and the reader of
//! recordings that `memsample plot` shares.
//!
//! Every error names the file, and the line when one row is at fault, on a
//! single line: the dispatcher prints it as `memsample: {err:#}`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Result, anyhow, bail};
use serde::Serialize;

use crate::cli::ReportArgs;
use crate::error::reason;
use crate::units::{format_bytes, format_seconds};

/// The columns of a default recording (one row per sample).
const DEFAULT_COLUMNS: [&str; 8] = [
    "timestamp",
    "elapsed_s",
    "trigger",
    "procs",
    "rss_bytes",
    "vsz_bytes",
    "cpu_percent",
    "peak_rss_bytes",
];

/// The columns of a `--per-process` recording (one row per process per sample).
const PER_PROCESS_COLUMNS: [&str; 10] = [
    "timestamp",
    "elapsed_s",
    "trigger",
    "pid",
    "ppid",
    "command",
    "rss_bytes",
    "vsz_bytes",
    "cpu_percent",
    "peak_rss_bytes",
];

/// The part of the run left out of the growth rate, so that start-up
/// (loading, warming caches) does not pass for a leak.
const GROWTH_SKIP: f64 = 0.2;

/// From this R² on, a slope is called steady.
const STEADY_R2: f64 = 0.8;

/// How many processes the report lists.
const TOP_PROCESSES: usize = 5;

/// The longest sparkline, in characters: it fits an 80-column terminal
/// after its label and range.
const SPARKLINE_WIDTH: usize = 60;

/// Which of memsample's two CSV layouts a recording uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// One row per sample, summed over the process tree.
    Default,
    /// One row per process per sample (`--per-process`).
    PerProcess,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Default => "default",
            Format::PerProcess => "per-process",
        }
    }
}

/// One sample of the whole tree (per-process rows already summed).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub timestamp: SystemTime,
    pub elapsed_s: f64,
    pub procs: u64,
    pub rss_bytes: u64,
    /// `None` when PSS was not recorded, or not read for every process.
    pub pss_bytes: Option<u64>,
    /// Highest memory known so far: the recorded column in the default
    /// format; in the per-process format, the largest of every sum of RSS so
    /// far and every process's own high-water mark so far (each is a lower
    /// bound of the tree's peak, as the default column is).
    pub peak_rss_bytes: u64,
}

/// One process of a per-process recording, keyed by pid and command (a pid
/// that execs or is reused starts a new entry: its high-water mark restarts).
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    pub pid: u32,
    pub command: String,
    /// The largest of its own `peak_rss_bytes` and its sampled RSS.
    pub peak_rss_bytes: u64,
    /// (index into [`Recording::samples`], RSS) for each sample it was in.
    pub points: Vec<(usize, u64)>,
}

/// A recording read back from CSV: at least one sample, in time order.
#[derive(Debug, Clone)]
pub struct Recording {
    path: PathBuf,
    format: Format,
    samples: Vec<Sample>,
    processes: Vec<Process>,
}

impl Recording {
    /// Reads and checks a CSV written by memsample, in either format.
    pub fn read(path: &Path) -> Result<Recording> {
        let file = File::open(path)
            .map_err(|err| anyhow!("cannot open {}: {}", path.display(), reason(&err)))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            // Row lengths are checked here, to say which line was cut short.
            .flexible(true)
            .from_reader(file);
        let mut record = csv::StringRecord::new();
        if !reader
            .read_record(&mut record)
            .map_err(|err| csv_error(path, &err))?
        {
            bail!("{}: empty file, no CSV header", path.display());
        }
        let columns = Columns::from_header(&record).ok_or_else(|| {
            anyhow!(
                "{}:1: not a memsample recording: {}",
                path.display(),
                header_problem(&record)
            )
        })?;

        let mut builder = Builder::default();
        while reader
            .read_record(&mut record)
            .map_err(|err| csv_error(path, &err))?
        {
            let line = record.position().map_or(0, csv::Position::line);
            let row = Row {
                path,
                line,
                record: &record,
            };
            if record.len() != columns.count {
                return Err(row.error(format!(
                    "row {}: {} fields, the header has {}",
                    if record.len() < columns.count {
                        "cut short"
                    } else {
                        "too long"
                    },
                    record.len(),
                    columns.count,
                )));
            }
            builder.push(&row, &columns)?;
        }
        if builder.samples.is_empty() {
            bail!("{}: no samples", path.display());
        }
        Ok(Recording {
            path: path.to_path_buf(),
            format: columns.format(),
            samples: builder.samples,
            processes: builder.processes,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The samples, in time order; never empty.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// The processes of a per-process recording, in order of appearance;
    /// empty for the default format.
    pub fn processes(&self) -> &[Process] {
        &self.processes
    }

    /// The first sample at the highest RSS: a plateau is reached when it
    /// starts.
    pub fn peak(&self) -> &Sample {
        // Never empty: read() refuses a file without samples.
        let mut peak = &self.samples[0];
        for sample in &self.samples {
            if sample.rss_bytes > peak.rss_bytes {
                peak = sample;
            }
        }
        peak
    }

    /// The processes with the highest peaks, highest first.
    pub fn top_processes(&self, count: usize) -> Vec<&Process> {
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

/// Where each column is in this file's header.
struct Columns {
    layout: Layout,
    count: usize,
    pss: Option<usize>,
    timestamp: usize,
    elapsed: usize,
    trigger: usize,
    rss: usize,
    vsz: usize,
    cpu: usize,
    peak: usize,
}

/// The columns of one format only.
enum Layout {
    Default {
        procs: usize,
    },
    PerProcess {
        pid: usize,
        ppid: usize,
        command: usize,
    },
}

impl Columns {
    fn format(&self) -> Format {
        match self.layout {
            Layout::Default { .. } => Format::Default,
            Layout::PerProcess { .. } => Format::PerProcess,
        }
    }

    /// Recognizes one of memsample's headers, exactly (an unknown column
    /// means a file from something else, or from a newer memsample whose
    /// figures this one cannot vouch for), `pss_bytes` after `rss_bytes`
    /// being the one optional column.
    fn from_header(header: &csv::StringRecord) -> Option<Columns> {
        let names: Vec<&str> = header.iter().collect();
        let format = [
            (Format::Default, &DEFAULT_COLUMNS[..]),
            (Format::PerProcess, &PER_PROCESS_COLUMNS[..]),
        ]
        .into_iter()
        .find_map(|(format, expected)| {
            let without_pss: Vec<&str> = names
                .iter()
                .copied()
                .enumerate()
                .filter(|&(index, name)| {
                    !(name == "pss_bytes" && index > 0 && names[index - 1] == "rss_bytes")
                })
                .map(|(_, name)| name)
                .collect();
            (without_pss == expected).then_some(format)
        })?;
        let find = |name: &str| names.iter().position(|column| *column == name);
        let layout = match format {
            Format::Default => Layout::Default {
                procs: find("procs")?,
            },
            Format::PerProcess => Layout::PerProcess {
                pid: find("pid")?,
                ppid: find("ppid")?,
                command: find("command")?,
            },
        };
        Some(Columns {
            layout,
            count: names.len(),
            pss: find("pss_bytes"),
            timestamp: find("timestamp")?,
            elapsed: find("elapsed_s")?,
            trigger: find("trigger")?,
            rss: find("rss_bytes")?,
            vsz: find("vsz_bytes")?,
            cpu: find("cpu_percent")?,
            peak: find("peak_rss_bytes")?,
        })
    }
}

/// What is wrong with a header: the first column that differs from the
/// closest of memsample's layouts, or the whole header when it is not
/// memsample's at all.
fn header_problem(header: &csv::StringRecord) -> String {
    let names: Vec<&str> = header.iter().collect();
    if names.first() != Some(&"timestamp") {
        return format!("unexpected header {}", quoted(&names.join(",")));
    }
    let layout = if names.contains(&"pid") {
        &PER_PROCESS_COLUMNS[..]
    } else {
        &DEFAULT_COLUMNS[..]
    };
    let mut expected: Vec<&str> = Vec::with_capacity(layout.len() + 1);
    for &column in layout {
        expected.push(column);
        if column == "rss_bytes" && names.contains(&"pss_bytes") {
            expected.push("pss_bytes");
        }
    }
    let differs = names
        .iter()
        .zip(&expected)
        .position(|(name, column)| name != column)
        .unwrap_or(names.len().min(expected.len()));
    match (names.get(differs), expected.get(differs)) {
        (Some(name), Some(column)) => format!(
            "unexpected column {} (column {}), expected {column}",
            quoted(name),
            differs + 1
        ),
        (Some(name), None) => format!(
            "unexpected column {} (column {}) after {}",
            quoted(name),
            differs + 1,
            layout[layout.len() - 1]
        ),
        (None, Some(column)) => format!("missing column {column}"),
        (None, None) => format!("unexpected header {}", quoted(&names.join(","))),
    }
}

/// One CSV row being checked, with what an error message needs.
struct Row<'a> {
    path: &'a Path,
    line: u64,
    record: &'a csv::StringRecord,
}

impl Row<'_> {
    fn error(&self, reason: impl std::fmt::Display) -> anyhow::Error {
        anyhow!("{}:{}: {reason}", self.path.display(), self.line)
    }

    fn text(&self, index: usize) -> &str {
        self.record.get(index).unwrap_or("")
    }

    fn field_error(&self, name: &str, index: usize, problem: &str) -> anyhow::Error {
        self.error(format!(
            "field {name} {problem}: {}",
            quoted(self.text(index))
        ))
    }

    fn bytes(&self, name: &str, index: usize) -> Result<u64> {
        parse_bytes(self.text(index)).map_err(|problem| self.field_error(name, index, problem))
    }

    fn optional_bytes(&self, name: &str, index: Option<usize>) -> Result<Option<u64>> {
        match index {
            Some(index) if !self.text(index).is_empty() => self.bytes(name, index).map(Some),
            _ => Ok(None),
        }
    }

    /// A finite, non-negative float (seconds, percents).
    fn float(&self, name: &str, index: usize) -> Result<f64> {
        let text = self.text(index);
        match text.parse::<f64>() {
            Ok(value) if value.is_nan() => Err(self.field_error(name, index, "is not a number")),
            Ok(value) if value.is_infinite() => Err(self.field_error(name, index, "is not finite")),
            Ok(value) if value < 0.0 || text.starts_with('-') => {
                Err(self.field_error(name, index, "is negative"))
            }
            Ok(value) => Ok(value),
            Err(_) => Err(self.field_error(name, index, "is not a number")),
        }
    }

    fn integer<T: std::str::FromStr>(&self, name: &str, index: usize) -> Result<T> {
        self.text(index)
            .parse()
            .map_err(|_| self.field_error(name, index, "is not a whole number"))
    }
}

/// Parses a byte count, saying what is wrong with it otherwise.
fn parse_bytes(text: &str) -> Result<u64, &'static str> {
    if let Ok(bytes) = text.parse::<u64>() {
        return Ok(bytes);
    }
    if text.is_empty() {
        return Err("is empty");
    }
    match text.parse::<f64>() {
        Ok(value) if value.is_nan() => Err("is not a number"),
        Ok(_) if text.starts_with('-') => Err("is negative"),
        Ok(value) if value.is_infinite() => Err("is not finite"),
        Ok(value) if value.fract() == 0.0 => Err("is too large"),
        Ok(_) => Err("is not a whole number of bytes"),
        Err(_) => Err("is not a number"),
    }
}

/// Accumulates rows into samples (and processes, for per-process files).
#[derive(Default)]
struct Builder {
    samples: Vec<Sample>,
    processes: Vec<Process>,
    process_index: HashMap<(u32, String), usize>,
}

impl Builder {
    fn push(&mut self, row: &Row, columns: &Columns) -> Result<()> {
        let timestamp_text = row.text(columns.timestamp);
        let timestamp = humantime::parse_rfc3339(timestamp_text).map_err(|_| {
            row.field_error(
                "timestamp",
                columns.timestamp,
                "is not an RFC 3339 UTC time",
            )
        })?;
        let elapsed_s = row.float("elapsed_s", columns.elapsed)?;
        let trigger = row.text(columns.trigger);
        if !matches!(trigger, "start" | "interval" | "manual" | "stop") {
            return Err(row.field_error(
                "trigger",
                columns.trigger,
                "is not start, interval, manual or stop",
            ));
        }
        let rss_bytes = row.bytes("rss_bytes", columns.rss)?;
        let pss_bytes = row.optional_bytes("pss_bytes", columns.pss)?;
        row.bytes("vsz_bytes", columns.vsz)?;
        row.float("cpu_percent", columns.cpu)?;
        let peak_rss_bytes = row.bytes("peak_rss_bytes", columns.peak)?;

        let previous = self.samples.last();
        if let Some(previous) = previous
            && elapsed_s < previous.elapsed_s
        {
            return Err(row.error(format!(
                "elapsed_s goes back in time: {elapsed_s:.6} after {:.6}",
                previous.elapsed_s
            )));
        }

        match columns.layout {
            Layout::Default { procs } => {
                let procs = row.integer("procs", procs)?;
                self.samples.push(Sample {
                    timestamp,
                    elapsed_s,
                    procs,
                    rss_bytes,
                    pss_bytes,
                    peak_rss_bytes,
                });
            }
            Layout::PerProcess { pid, ppid, command } => {
                let pid: u32 = row.integer("pid", pid)?;
                row.integer::<u32>("ppid", ppid)?;
                let command = row.text(command).to_owned();

                // Rows of one sample share its elapsed_s and are consecutive.
                let same_sample = previous.is_some_and(|sample| sample.elapsed_s == elapsed_s);
                let sample_peak = previous.map_or(0, |sample| sample.peak_rss_bytes);
                let process_peak = peak_rss_bytes.max(rss_bytes);
                match self.samples.last_mut() {
                    Some(sample) if same_sample => {
                        sample.procs += 1;
                        sample.rss_bytes = sample.rss_bytes.saturating_add(rss_bytes);
                        // One process without PSS leaves the sample without.
                        sample.pss_bytes = sample
                            .pss_bytes
                            .zip(pss_bytes)
                            .map(|(sum, pss)| sum.saturating_add(pss));
                        sample.peak_rss_bytes = sample
                            .peak_rss_bytes
                            .max(sample.rss_bytes)
                            .max(process_peak);
                    }
                    _ => {
                        self.samples.push(Sample {
                            timestamp,
                            elapsed_s,
                            procs: 1,
                            rss_bytes,
                            pss_bytes,
                            peak_rss_bytes: sample_peak.max(process_peak),
                        });
                    }
                }
                let sample_index = self.samples.len() - 1;
                let next_index = self.processes.len();
                let index = *self
                    .process_index
                    .entry((pid, command.clone()))
                    .or_insert(next_index);
                if index == next_index {
                    self.processes.push(Process {
                        pid,
                        command,
                        peak_rss_bytes: 0,
                        points: Vec::new(),
                    });
                }
                let process = &mut self.processes[index];
                process.peak_rss_bytes = process.peak_rss_bytes.max(process_peak);
                process.points.push((sample_index, rss_bytes));
            }
        }
        Ok(())
    }
}

/// A csv crate error as one line naming the file and, when known, the line.
fn csv_error(path: &Path, err: &csv::Error) -> anyhow::Error {
    let line = err.position().map(csv::Position::line);
    match (err.kind(), line) {
        (csv::ErrorKind::Io(io_err), _) => {
            anyhow!("cannot read {}: {}", path.display(), reason(io_err))
        }
        (csv::ErrorKind::Utf8 { .. }, Some(line)) => {
            anyhow!("{}:{line}: not valid UTF-8", path.display())
        }
        (_, Some(line)) => anyhow!("{}:{line}: {err}", path.display()),
        (_, None) => anyhow!("{}: {err}", path.display()),
    }
}

/// A field as it appears in an error: quoted, escaped (a field may hold a
/// newline, the message must stay on one line) and cut when long.
fn quoted(text: &str) -> String {
    const LONGEST: usize = 60;
    if text.chars().count() > LONGEST {
        let cut: String = text.chars().take(LONGEST).collect();
        format!("{cut:?}…")
    } else {
        format!("{text:?}")
    }
}

/// Text safe for a terminal line and for XML: control characters (a
/// command name can hold any byte but `/` and NUL) become `?`.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// One of the top processes, as `--json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopProcess {
    pub pid: u32,
    pub command: String,
    pub peak_rss_bytes: u64,
}

/// The figures of a recording; also the `--json` object, field for field.
/// Sizes are bytes, times seconds; `None` (null) where a figure cannot be
/// computed from this recording.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub file: String,
    pub format: Format,
    pub samples: usize,
    /// Last elapsed_s minus the first.
    pub duration_s: f64,
    /// Median time between samples; null with one sample.
    pub interval_s: Option<f64>,
    /// Highest sampled RSS (summed over the tree).
    pub peak_rss_bytes: u64,
    /// elapsed_s of the first sample at the peak.
    pub peak_elapsed_s: f64,
    /// Wall clock of that sample, RFC 3339 UTC with milliseconds.
    pub peak_timestamp: String,
    /// Highest `peak_rss_bytes` of the recording (the kernel's high-water
    /// mark; can be above every sample when a spike fell between two).
    pub kernel_peak_rss_bytes: u64,
    /// kernel_peak_rss_bytes > peak_rss_bytes.
    pub peak_between_samples: bool,
    pub mean_rss_bytes: u64,
    pub median_rss_bytes: u64,
    pub p95_rss_bytes: u64,
    pub first_rss_bytes: u64,
    pub last_rss_bytes: u64,
    /// Highest PSS over the samples that have one; null without `--pss`.
    pub peak_pss_bytes: Option<u64>,
    /// Most processes in one sample.
    pub max_procs: u64,
    /// Least-squares slope of RSS after the first 20 % of the run, MiB/hour.
    pub growth_mib_per_hour: Option<f64>,
    /// Its coefficient of determination, 0 to 1; null when RSS is flat.
    pub growth_r2: Option<f64>,
    /// Per-process recordings: the processes with the highest peaks; null
    /// for the default format, which does not record processes.
    pub top_processes: Option<Vec<TopProcess>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_above_bytes: Option<u64>,
    /// max(peak_rss_bytes, kernel_peak_rss_bytes) > fail_above_bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub above_limit: Option<bool>,
}

impl Report {
    /// Computes the figures; `fail_above` is the `--fail-above` limit.
    pub fn new(recording: &Recording, fail_above: Option<u64>) -> Result<Report> {
        let samples = recording.samples();
        let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
            bail!("{}: no samples", recording.path().display());
        };
        let peak = recording.peak();
        let mut sorted: Vec<u64> = samples.iter().map(|sample| sample.rss_bytes).collect();
        sorted.sort_unstable();
        let total: u128 = sorted.iter().map(|&rss| u128::from(rss)).sum();
        let mean = total as f64 / sorted.len() as f64;
        let mut gaps: Vec<f64> = samples
            .windows(2)
            .map(|pair| pair[1].elapsed_s - pair[0].elapsed_s)
            .collect();
        gaps.sort_unstable_by(f64::total_cmp);
        let kernel_peak = samples
            .iter()
            .map(|sample| sample.peak_rss_bytes)
            .max()
            .unwrap_or(0);
        let growth = growth(samples);
        let top_processes = (recording.format() == Format::PerProcess).then(|| {
            recording
                .top_processes(TOP_PROCESSES)
                .into_iter()
                .map(|process| TopProcess {
                    pid: process.pid,
                    command: process.command.clone(),
                    peak_rss_bytes: process.peak_rss_bytes,
                })
                .collect()
        });
        let gate_peak = peak.rss_bytes.max(kernel_peak);
        Ok(Report {
            file: recording.path().display().to_string(),
            format: recording.format(),
            samples: samples.len(),
            duration_s: last.elapsed_s - first.elapsed_s,
            interval_s: median(&gaps),
            peak_rss_bytes: peak.rss_bytes,
            peak_elapsed_s: peak.elapsed_s,
            peak_timestamp: humantime::format_rfc3339_millis(peak.timestamp).to_string(),
            kernel_peak_rss_bytes: kernel_peak,
            peak_between_samples: kernel_peak > peak.rss_bytes,
            mean_rss_bytes: mean.round() as u64,
            median_rss_bytes: percentile_u64(&sorted, 50.0),
            p95_rss_bytes: percentile_u64(&sorted, 95.0),
            first_rss_bytes: first.rss_bytes,
            last_rss_bytes: last.rss_bytes,
            peak_pss_bytes: samples.iter().filter_map(|sample| sample.pss_bytes).max(),
            max_procs: samples.iter().map(|sample| sample.procs).max().unwrap_or(0),
            growth_mib_per_hour: growth.map(|fit| fit.slope * 3600.0 / MIB),
            growth_r2: growth.and_then(|fit| fit.r2),
            top_processes,
            fail_above_bytes: fail_above,
            above_limit: fail_above.map(|limit| gate_peak > limit),
        })
    }

    /// The peak the `--fail-above` gate compares: sampled or kernel's.
    pub fn gate_peak_bytes(&self) -> u64 {
        self.peak_rss_bytes.max(self.kernel_peak_rss_bytes)
    }

    /// The report for people, with a sparkline of the recording's RSS.
    pub fn text(&self, recording: &Recording) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_text(recording, &mut out);
        out
    }

    fn write_text(&self, recording: &Recording, out: &mut String) -> std::fmt::Result {
        let plural = if self.samples == 1 { "" } else { "s" };
        write!(out, "{}: {} sample{plural}", self.file, self.samples)?;
        if let Some(interval) = self.interval_s {
            write!(
                out,
                " over {}, every {}",
                format_seconds(self.duration_s),
                format_seconds(interval)
            )?;
        }
        writeln!(out, " ({} format)", self.format.name())?;
        writeln!(
            out,
            "peak RSS      {} at {} ({})",
            format_bytes(self.peak_rss_bytes),
            format_seconds(self.peak_elapsed_s),
            self.peak_timestamp
        )?;
        if self.peak_between_samples {
            writeln!(
                out,
                "kernel peak   {}, above every sample: a spike fell between two samples",
                format_bytes(self.kernel_peak_rss_bytes)
            )?;
        } else {
            writeln!(
                out,
                "kernel peak   {}, not above the sampled peak",
                format_bytes(self.kernel_peak_rss_bytes)
            )?;
        }
        writeln!(out, "mean          {}", format_bytes(self.mean_rss_bytes))?;
        writeln!(out, "median        {}", format_bytes(self.median_rss_bytes))?;
        writeln!(out, "p95           {}", format_bytes(self.p95_rss_bytes))?;
        writeln!(
            out,
            "first, last   {}, {}",
            format_bytes(self.first_rss_bytes),
            format_bytes(self.last_rss_bytes)
        )?;
        if let Some(pss) = self.peak_pss_bytes {
            writeln!(out, "peak PSS      {}", format_bytes(pss))?;
        }
        writeln!(out, "most procs    {}", self.max_procs)?;
        writeln!(
            out,
            "growth        {}",
            growth_sentence(self.growth_mib_per_hour, self.growth_r2)
        )?;
        let (line, low, high) = sparkline(recording.samples(), SPARKLINE_WIDTH);
        writeln!(
            out,
            "RSS           {line}  {} to {}",
            format_bytes(low),
            format_bytes(high)
        )?;
        if let Some(top) = &self.top_processes {
            writeln!(out, "top processes by peak RSS")?;
            for process in top {
                writeln!(
                    out,
                    "  {:>10}  {} ({})",
                    format_bytes(process.peak_rss_bytes),
                    printable(&process.command),
                    process.pid
                )?;
            }
        }
        Ok(())
    }
}

/// Runs `memsample report`; returns the exit code (0, or 1 when the peak is above `--fail-above`).
pub fn run(args: &ReportArgs) -> anyhow::Result<u8> {
    let recording = Recording::read(&args.file)?;
    let report = Report::new(&recording, args.fail_above)?;
    let out = if args.json {
        let mut json = serde_json::to_string_pretty(&report)?;
        json.push('\n');
        json
    } else {
        report.text(&recording)
    };
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|err| anyhow!("cannot write the report: {}", reason(&err)))?;

    match args.fail_above {
        Some(limit) if report.gate_peak_bytes() > limit => {
            let peak = report.gate_peak_bytes();
            let (peak_text, limit_text) = (format_bytes(peak), format_bytes(limit));
            // Rounded alike, the two would read as equal: show the bytes.
            if peak_text == limit_text {
                crate::console::say!(
                    "peak RSS {peak_text} ({peak} bytes) is above the limit of {limit_text} ({limit} bytes)"
                );
            } else {
                crate::console::say!("peak RSS {peak_text} is above the limit of {limit_text}");
            }
            Ok(1)
        }
        _ => Ok(0),
    }
}

const MIB: f64 = (1u64 << 20) as f64;

/// A least-squares line.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Fit {
    /// Units of y per unit of x.
    slope: f64,
    /// Coefficient of determination; `None` when y does not vary at all.
    r2: Option<f64>,
}

/// Fits y = a + b·x; `None` with fewer than 3 points or a single x.
fn least_squares(points: &[(f64, f64)]) -> Option<Fit> {
    if points.len() < 3 {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    // Centred sums: bytes are large (1e9) and x·y sums would lose digits.
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for &(x, y) in points {
        let (dx, dy) = (x - mean_x, y - mean_y);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    if sxx <= 0.0 {
        return None;
    }
    let r2 = (syy > 0.0).then(|| (sxy * sxy / (sxx * syy)).clamp(0.0, 1.0));
    Some(Fit {
        slope: sxy / sxx,
        r2,
    })
}

/// The growth of RSS in bytes per second, over the samples after the first
/// [`GROWTH_SKIP`] of the duration.
fn growth(samples: &[Sample]) -> Option<Fit> {
    let first = samples.first()?.elapsed_s;
    let last = samples.last()?.elapsed_s;
    let start = first + (last - first) * GROWTH_SKIP;
    let points: Vec<(f64, f64)> = samples
        .iter()
        .filter(|sample| sample.elapsed_s >= start)
        .map(|sample| (sample.elapsed_s, sample.rss_bytes as f64))
        .collect();
    least_squares(&points)
}

/// The growth rate as a plain sentence.
fn growth_sentence(mib_per_hour: Option<f64>, r2: Option<f64>) -> String {
    match (mib_per_hour, r2) {
        (None, _) => {
            "not enough samples for a growth rate (3 needed after the first 20% of the run)".into()
        }
        (Some(_), None) => "no steady growth (RSS flat)".into(),
        (Some(slope), Some(r2)) if r2 >= STEADY_R2 && slope > 0.0 => {
            format!("RSS grew {} MiB/hour, steadily (R² {r2:.2})", rate(slope))
        }
        (Some(slope), Some(r2)) if r2 >= STEADY_R2 && slope < 0.0 => {
            format!(
                "RSS shrank {} MiB/hour, steadily (R² {r2:.2})",
                rate(-slope)
            )
        }
        (Some(_), Some(r2)) => format!("no steady growth (R² {r2:.2})"),
    }
}

/// A rate with about three significant digits, so that a slow leak does
/// not print as 0.0.
fn rate(value: f64) -> String {
    if value >= 10.0 {
        format!("{value:.1}")
    } else if value >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// The value at percentile `p` (0 to 100) of sorted values, interpolated
/// linearly between the two nearest ranks (as numpy and spreadsheets do).
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = (p / 100.0).clamp(0.0, 1.0) * last as f64;
    let below = rank.floor() as usize;
    let above = rank.ceil() as usize;
    let (low, high) = (*sorted.get(below)?, *sorted.get(above)?);
    Some(low + (high - low) * (rank - below as f64))
}

fn percentile_u64(sorted: &[u64], p: f64) -> u64 {
    let values: Vec<f64> = sorted.iter().map(|&value| value as f64).collect();
    percentile(&values, p).map_or(0, |value| value.round() as u64)
}

fn median(sorted: &[f64]) -> Option<f64> {
    percentile(sorted, 50.0)
}

/// RSS over time in at most `width` characters: time is cut into equal
/// buckets, each showing its highest sample (so a spike is never averaged
/// away); a bucket without samples repeats the one before. Scaled from the
/// lowest bucket to the highest, which are returned with the line.
fn sparkline(samples: &[Sample], width: usize) -> (String, u64, u64) {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return (String::new(), 0, 0);
    };
    let span = last.elapsed_s - first.elapsed_s;
    let width = if span > 0.0 {
        width.min(samples.len()).max(1)
    } else {
        1
    };
    let mut buckets: Vec<Option<u64>> = vec![None; width];
    for sample in samples {
        let position = if span > 0.0 {
            ((sample.elapsed_s - first.elapsed_s) / span * width as f64) as usize
        } else {
            0
        };
        let bucket = &mut buckets[position.min(width - 1)];
        *bucket = Some(bucket.map_or(sample.rss_bytes, |high| high.max(sample.rss_bytes)));
    }
    let mut previous = first.rss_bytes;
    let values: Vec<u64> = buckets
        .into_iter()
        .map(|bucket| {
            previous = bucket.unwrap_or(previous);
            previous
        })
        .collect();
    let low = values.iter().copied().min().unwrap_or(0);
    let high = values.iter().copied().max().unwrap_or(0);
    let line = values
        .into_iter()
        .map(|value| {
            if high == low {
                BARS[0]
            } else {
                let level = (value - low) as f64 / (high - low) as f64 * (BARS.len() - 1) as f64;
                BARS[(level.round() as usize).min(BARS.len() - 1)]
            }
        })
        .collect();
    (line, low, high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn sample(elapsed_s: f64, rss_bytes: u64) -> Sample {
        Sample {
            timestamp: UNIX_EPOCH + Duration::from_secs_f64(elapsed_s),
            elapsed_s,
            procs: 1,
            rss_bytes,
            pss_bytes: None,
            peak_rss_bytes: rss_bytes,
        }
    }

    #[test]
    fn percentiles_interpolate() {
        let values = [10.0, 20.0, 30.0, 40.0, 50.0];
        assert_eq!(percentile(&values, 0.0), Some(10.0));
        assert_eq!(percentile(&values, 50.0), Some(30.0));
        assert_eq!(percentile(&values, 100.0), Some(50.0));
        assert_eq!(percentile(&values, 95.0), Some(48.0));
        assert_eq!(median(&[1.0, 2.0, 3.0, 4.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
        assert_eq!(percentile_u64(&[1, 2], 50.0), 2, "1.5 rounds up");
    }

    #[test]
    fn least_squares_exact_line() {
        let points: Vec<(f64, f64)> = (0..10).map(|x| (x as f64, 3.0 + 2.0 * x as f64)).collect();
        let fit = least_squares(&points).expect("a fit");
        assert!((fit.slope - 2.0).abs() < 1e-12);
        assert!((fit.r2.expect("r2") - 1.0).abs() < 1e-12);
    }

    #[test]
    fn least_squares_large_values_keep_precision() {
        // 4 GiB baseline, 1 byte per second: naive sums of x·y would lose it.
        let points: Vec<(f64, f64)> = (0..1000)
            .map(|x| (1e6 + x as f64, 4e9 + x as f64))
            .collect();
        let fit = least_squares(&points).expect("a fit");
        assert!((fit.slope - 1.0).abs() < 1e-9, "{fit:?}");
    }

    #[test]
    fn least_squares_degenerate() {
        assert_eq!(least_squares(&[(0.0, 1.0), (1.0, 2.0)]), None);
        assert_eq!(least_squares(&[(5.0, 1.0), (5.0, 2.0), (5.0, 3.0)]), None);
        let flat = least_squares(&[(0.0, 7.0), (1.0, 7.0), (2.0, 7.0)]).expect("a fit");
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
        let fit = least_squares(&points).expect("a fit");
        assert!(fit.r2.expect("r2") < 0.01, "{fit:?}");
    }

    #[test]
    fn growth_skips_start_up() {
        // A jump during the first 20 %, flat afterwards: no growth.
        let samples: Vec<Sample> = (0..100)
            .map(|t| sample(t as f64, if t < 10 { t * 1000 } else { 1 << 30 }))
            .collect();
        let fit = growth(&samples).expect("a fit");
        assert_eq!(fit.slope, 0.0);
        assert_eq!(growth(&samples[..1]), None);
    }

    #[test]
    fn sentences() {
        assert_eq!(
            growth_sentence(Some(12.34), Some(0.97)),
            "RSS grew 12.3 MiB/hour, steadily (R² 0.97)"
        );
        assert_eq!(
            growth_sentence(Some(-4.0), Some(0.9)),
            "RSS shrank 4.00 MiB/hour, steadily (R² 0.90)"
        );
        assert_eq!(
            growth_sentence(Some(5.0), Some(0.12)),
            "no steady growth (R² 0.12)"
        );
        assert_eq!(
            growth_sentence(Some(0.0), None),
            "no steady growth (RSS flat)"
        );
        assert!(growth_sentence(None, None).starts_with("not enough samples"));
    }

    #[test]
    fn sparkline_keeps_spikes_and_width() {
        let mut samples: Vec<Sample> = (0..1000).map(|t| sample(t as f64, 100)).collect();
        samples[500].rss_bytes = 1000;
        let (line, low, high) = sparkline(&samples, 60);
        assert_eq!(line.chars().count(), 60);
        assert_eq!(line.chars().filter(|&c| c == '█').count(), 1, "{line}");
        assert_eq!((low, high), (100, 1000));
        assert_eq!(sparkline(&samples[..1], 60), ("▁".into(), 100, 100));
        let rising: Vec<Sample> = (0..8).map(|t| sample(t as f64, t as u64)).collect();
        assert_eq!(sparkline(&rising, 60).0, "▁▂▃▄▅▆▇█");
    }

    #[test]
    fn sparkline_fills_gaps_with_the_previous_value() {
        // Buckets of 2.5 s: [0, 0.5], nothing, nothing, [9, 10].
        let gap = [
            sample(0.0, 10),
            sample(0.5, 20),
            sample(9.0, 10),
            sample(10.0, 0),
        ];
        assert_eq!(sparkline(&gap, 4), ("███▁".into(), 10, 20));
    }

    #[test]
    fn bytes_parse_with_reasons() {
        assert_eq!(parse_bytes("123"), Ok(123));
        assert_eq!(parse_bytes("12a"), Err("is not a number"));
        assert_eq!(parse_bytes("NaN"), Err("is not a number"));
        assert_eq!(parse_bytes("-5"), Err("is negative"));
        assert_eq!(parse_bytes("1.5"), Err("is not a whole number of bytes"));
        assert_eq!(parse_bytes("99999999999999999999999"), Err("is too large"));
        assert_eq!(parse_bytes("inf"), Err("is not finite"));
        assert_eq!(parse_bytes(""), Err("is empty"));
    }

    #[test]
    fn quoting_stays_on_one_line() {
        assert_eq!(quoted("a\nb"), "\"a\\nb\"");
        assert!(quoted(&"x".repeat(500)).len() < 80);
        assert_eq!(printable("a\u{1b}[31mb"), "a?[31mb");
    }
}
