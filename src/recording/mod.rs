//! Reading a recording back: the reading twin of [`crate::sink`], shared by
//! `report` and `plot`.
//!
//! The format is told by the content, never the name (docs/format.md): a
//! file whose first non-blank byte is `{` is JSON Lines, anything else CSV.
//! Both go through the same row checks ([`fields`]) and the same summing of
//! per-process rows ([`build`]), so they give the same figures. Every error
//! names the file, and the line when one row is at fault, on a single line.

mod build;
mod csv;
mod fields;
mod jsonl;

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Result, anyhow, bail};

use crate::probe::Breakdown;
use crate::reason::reason;
use crate::schema::Layout;
use crate::sink::Format;
use crate::stats::Running;

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
    /// Highest memory known so far: the recorded column in the default
    /// layout; in the per-process layout, the largest of every sum of RSS so
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

/// A recording read back: at least one sample, in time order.
#[derive(Debug, Clone)]
pub struct Recording {
    path: PathBuf,
    format: Format,
    layout: Layout,
    samples: Vec<Sample>,
    processes: Vec<Process>,
}

impl Recording {
    /// Reads and checks a recording written by memsample, in either format
    /// and either layout.
    pub fn read(path: &Path) -> Result<Recording> {
        let file = File::open(path)
            .map_err(|err| anyhow!("cannot open {}: {}", path.display(), reason(&err)))?;
        // Large enough that the first non-blank byte is in the first fill.
        let mut reader = BufReader::with_capacity(64 * 1024, file);
        let format = detect(&mut reader)
            .map_err(|err| anyhow!("cannot read {}: {}", path.display(), reason(&err)))?;
        let built = match format {
            Format::Csv => csv::read(path, reader)?,
            Format::Jsonl => jsonl::read(path, reader)?,
        };
        if built.samples.is_empty() {
            bail!("{}: no samples", path.display());
        }
        Ok(Recording {
            path: path.to_path_buf(),
            format,
            layout: built.layout,
            samples: built.samples,
            processes: built.processes,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's format, as told by its content.
    pub fn format(&self) -> Format {
        self.format
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The samples, in time order; never empty.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// The processes of a per-process recording, in order of appearance;
    /// empty for the default layout.
    pub fn processes(&self) -> &[Process] {
        &self.processes
    }

    /// The RSS figures of the samples, by the one statistics engine.
    pub(crate) fn running(&self) -> Running {
        let mut running = Running::default();
        for sample in &self.samples {
            running.push(sample.rss_bytes);
        }
        running
    }

    /// The first sample at the highest RSS: a plateau is reached when it
    /// starts.
    pub fn peak(&self) -> &Sample {
        let index = usize::try_from(self.running().peak_index).unwrap_or(0);
        // Never empty: read() refuses a file without samples.
        &self.samples[index.min(self.samples.len() - 1)]
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

    #[test]
    fn printable_replaces_control_characters() {
        assert_eq!(printable("a\u{1b}[31mb"), "a?[31mb");
    }
}
