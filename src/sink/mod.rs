//! Where the rows of a recording are written: the [`Sink`] seam, and the
//! guarantee both formats inherit (docs/format.md).
//!
//! Each sample's row(s) are encoded into a buffer, then handed to the OS with
//! one `write` and no user-space buffering, so a SIGKILL right after loses
//! nothing that was sampled. If a write fails half-way (disk full, file size
//! limit), the file is cut back to the end of the last complete row.
//!
//! [`output`] is where the bytes go (`-o`: a file, stdout, an inherited
//! descriptor); `stdfds` remembers which standard descriptors were closed
//! when memsample started.
//!
//! [`open`], [`Sink`] and [`Format`] are `pub`: the benchmarks and the
//! property tests write rows through them.

mod csv;
mod jsonl;
pub mod output;
#[doc(hidden)]
pub mod stdfds;

use std::io;
use std::path::Path;

use crate::probe::ProcessSample;
use crate::schema::{Column, Layout, Row, Value};
use crate::sink::output::{Destination, OutputError, Target};

use self::csv::Csv;
use self::jsonl::JsonLines;

/// The formats a recording can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// CSV (RFC 4180), header row first
    Csv,
    /// JSON Lines: one object per row, the CSV's fields in the same order
    Jsonl,
}

impl Format {
    /// `--format` when given; else `jsonl` for an `-o` ending in `.jsonl`
    /// or `.ndjson`, else `csv` (stdout included).
    pub(crate) fn resolve(explicit: Option<Format>, output: Option<&Path>) -> Format {
        let by_name = || {
            let extension = output?.extension()?.to_str()?.to_ascii_lowercase();
            matches!(extension.as_str(), "jsonl" | "ndjson").then_some(Format::Jsonl)
        };
        explicit.or_else(by_name).unwrap_or(Format::Csv)
    }

    /// The extension of the default file name.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    /// The format's name for people.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Jsonl => "JSON Lines",
        }
    }
}

/// Where the recorder sends its rows.
pub trait Sink: Send {
    /// Writes one sample: one row, or one row per process in the long
    /// layout; all of it or, after a failure, none of it.
    fn write(&mut self, row: &Row<'_>) -> Result<(), OutputError>;

    /// The name to show people: the path, or `-` for stdout.
    fn name(&self) -> &str;

    fn format(&self) -> Format;
}

/// How one format turns rows into bytes.
pub(crate) trait Encoder: Send {
    fn header(&mut self, columns: &[&'static Column], out: &mut Vec<u8>) -> io::Result<()>;

    /// Appends one row, `values[i]` being the value of `columns[i]`.
    fn row(
        &mut self,
        columns: &[&'static Column],
        values: &[Value<'_>],
        out: &mut Vec<u8>,
    ) -> io::Result<()>;
}

/// Opens the destination and writes the header, if the format has one:
/// any trouble shows now, before a command is started.
pub fn open(
    destination: &Destination,
    format: Format,
    layout: Layout,
) -> Result<Box<dyn Sink>, OutputError> {
    Ok(match format {
        Format::Csv => Box::new(Output::open(destination, format, layout, Csv::default())?),
        Format::Jsonl => Box::new(Output::open(destination, format, layout, JsonLines)?),
    })
}

/// A recording being written in one format, whole rows only.
pub(crate) struct Output<E> {
    encoder: E,
    format: Format,
    layout: Layout,
    columns: Vec<&'static Column>,
    target: Target,
    name: String,
    /// Bytes of complete rows in the file: where to cut back to after a
    /// failed write.
    complete_len: u64,
    /// The bytes of the sample being written, kept to avoid an allocation
    /// per sample.
    buffer: Vec<u8>,
}

impl<E: Encoder> Output<E> {
    pub(crate) fn open(
        destination: &Destination,
        format: Format,
        layout: Layout,
        encoder: E,
    ) -> Result<Output<E>, OutputError> {
        let (target, name) = destination.open(format.extension())?;
        let mut output = Output {
            encoder,
            format,
            layout,
            columns: layout.columns(),
            target,
            name,
            complete_len: 0,
            buffer: Vec::with_capacity(512),
        };
        let encoded = output.encoder.header(&output.columns, &mut output.buffer);
        output.commit(encoded)?;
        Ok(output)
    }

    /// Encodes the row of the tree, or of each process.
    fn encode(&mut self, row: &Row<'_>) -> io::Result<()> {
        if self.layout.per_process {
            for process in &row.sample.processes {
                self.encode_one(row, Some(process))?;
            }
            Ok(())
        } else {
            self.encode_one(row, None)
        }
    }

    fn encode_one(&mut self, row: &Row<'_>, process: Option<&ProcessSample>) -> io::Result<()> {
        let values: Vec<Value<'_>> = self
            .columns
            .iter()
            .map(|column| (column.value)(row, process))
            .collect();
        self.encoder.row(&self.columns, &values, &mut self.buffer)
    }

    /// Hands the encoded bytes to the OS in one go; cuts a failed write back.
    fn commit(&mut self, encoded: io::Result<()>) -> Result<(), OutputError> {
        let written = encoded.and_then(|()| self.target.write_all(&self.buffer));
        match written {
            Ok(()) => {
                self.complete_len += self.buffer.len() as u64;
                Ok(())
            }
            Err(source) => {
                self.target.cut_back(self.complete_len);
                Err(OutputError::Write {
                    path: self.name.clone(),
                    source,
                })
            }
        }
    }
}

impl<E: Encoder> Sink for Output<E> {
    fn write(&mut self, row: &Row<'_>) -> Result<(), OutputError> {
        self.buffer.clear();
        let encoded = self.encode(row);
        self.commit(encoded)
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn format(&self) -> Format {
        self.format
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::probe::{ProcessSample, Sample};
    use crate::schema::Trigger;
    use std::time::{Duration, SystemTime};

    pub(crate) fn sample() -> Sample {
        Sample {
            processes: vec![
                ProcessSample {
                    pid: 10,
                    ppid: 1,
                    command: "a,b \"c\"".into(),
                    rss_bytes: 4096,
                    vsz_bytes: 8192,
                    cpu_percent: 12.25,
                    hwm_bytes: Some(10_000),
                    pss_bytes: Some(1000),
                    uss_bytes: Some(600),
                    breakdown: Some(crate::probe::Breakdown {
                        anon_bytes: 3000,
                        file_bytes: 1000,
                        shmem_bytes: 96,
                        swap_bytes: 0,
                        threads: 3,
                    }),
                },
                ProcessSample {
                    pid: 11,
                    ppid: 10,
                    command: "child".into(),
                    rss_bytes: 100,
                    vsz_bytes: 200,
                    cpu_percent: 1.0,
                    hwm_bytes: None,
                    pss_bytes: None,
                    uss_bytes: None,
                    breakdown: None,
                },
            ],
            main_hwm_bytes: Some(10_000),
        }
    }

    pub(crate) fn row(sample: &Sample) -> Row<'_> {
        Row {
            wall_clock: SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_065_700_123),
            elapsed_s: 1.5,
            trigger: Trigger::Interval,
            sample,
            peak_rss_bytes: 10_000,
            cgroup: Default::default(),
            phase: None,
        }
    }

    /// Writes the test sample with these options; returns the file's text.
    pub(crate) fn written(format: Format, per_process: bool, pss: bool) -> String {
        let layout = Layout {
            per_process,
            pss,
            breakdown: false,
            cgroup: false,
            attached: false,
            phases: false,
        };
        written_layout(format, layout)
    }

    /// Writes the test sample in `layout`; returns the file's text.
    pub(crate) fn written_layout(format: Format, layout: Layout) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out");
        let mut sink = open(&Destination::File(path.clone()), format, layout).expect("creates");
        let sample = sample();
        sink.write(&row(&sample)).expect("writes");
        std::fs::read_to_string(&path).expect("reads")
    }

    #[test]
    fn format_follows_the_name_unless_given() {
        let resolve = |explicit, name: &str| Format::resolve(explicit, Some(Path::new(name)));
        assert_eq!(resolve(None, "mem.jsonl"), Format::Jsonl);
        assert_eq!(resolve(None, "mem.NDJSON"), Format::Jsonl);
        assert_eq!(resolve(None, "mem.csv"), Format::Csv);
        assert_eq!(resolve(None, "-"), Format::Csv);
        assert_eq!(resolve(Some(Format::Jsonl), "-"), Format::Jsonl);
        assert_eq!(resolve(Some(Format::Csv), "mem.jsonl"), Format::Csv);
        assert_eq!(Format::resolve(None, None), Format::Csv);
    }

    #[test]
    fn full_device_fails_at_the_header_in_either_format() {
        for format in [Format::Csv, Format::Jsonl] {
            let destination = Destination::File("/dev/full".into());
            let mut sink = match open(&destination, format, Layout::default()) {
                // JSON Lines has no header: the first row meets the full disk.
                Ok(sink) if format == Format::Jsonl => sink,
                Ok(_) => panic!("/dev/full refuses the CSV header"),
                Err(err) => {
                    assert_eq!(
                        err.to_string(),
                        "cannot write to /dev/full: No space left on device"
                    );
                    continue;
                }
            };
            let sample = sample();
            let Err(err) = sink.write(&row(&sample)) else {
                panic!("/dev/full refuses the row")
            };
            assert_eq!(
                err.to_string(),
                "cannot write to /dev/full: No space left on device"
            );
        }
    }
}
