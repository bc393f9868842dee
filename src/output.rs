//! The CSV schema and a writer that never leaves a partial row behind.
//!
//! Each sample is formatted into a buffer by the `csv` crate (RFC 4180
//! quoting), then handed to the OS with one `write` and no user-space
//! buffering, so a SIGKILL right after loses nothing that was sampled. If a
//! write fails half-way (disk full, file size limit), the file is cut back to
//! the end of the last complete row.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::reason;
use crate::probe::Sample;

/// The columns, as the contract names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    pub per_process: bool,
    pub pss: bool,
}

impl Schema {
    pub fn header(&self) -> Vec<&'static str> {
        let mut columns = vec!["timestamp", "elapsed_s", "trigger"];
        if self.per_process {
            columns.extend(["pid", "ppid", "command"]);
        } else {
            columns.push("procs");
        }
        columns.push("rss_bytes");
        if self.pss {
            columns.push("pss_bytes");
        }
        columns.extend(["vsz_bytes", "cpu_percent", "peak_rss_bytes"]);
        columns
    }
}

/// Why a row was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Start,
    Interval,
    Manual,
    Stop,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::Interval => "interval",
            Trigger::Manual => "manual",
            Trigger::Stop => "stop",
        }
    }
}

/// Where the CSV goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `-o -`, and `/dev/stdout`, `/dev/fd/1`, `/proc/self/fd/1`: written
    /// through the inherited descriptor, never reopened, so that a file the
    /// shell opened for appending (`>> log`) is not truncated.
    Stdout,
    /// `/dev/stderr`, `/dev/fd/2`, `/proc/self/fd/2`: as [`Destination::Stdout`].
    Stderr,
    /// `-o FILE`: created, or truncated when it exists.
    File(PathBuf),
    /// No `-o`: `memsample-YYYYmmdd-HHMMSS.csv` in the working directory,
    /// never overwriting and never following a planted symlink.
    Default,
}

impl Destination {
    pub fn from_arg(output: Option<&Path>) -> Destination {
        match output {
            None => Destination::Default,
            Some(path) if path == Path::new("-") => Destination::Stdout,
            Some(path) => match standard_fd_alias(path) {
                Some(1) => Destination::Stdout,
                Some(2) => Destination::Stderr,
                _ => Destination::File(path.to_path_buf()),
            },
        }
    }

    /// Whether the CSV lands in a file that can be read back once written
    /// (`--plot` needs that): not a pipe, terminal or device.
    pub(crate) fn is_readable_back(&self) -> bool {
        match self {
            Destination::Stdout | Destination::Stderr => false,
            Destination::Default => true,
            Destination::File(path) => std::fs::metadata(path)
                .map(|meta| meta.is_file())
                .unwrap_or(true),
        }
    }

    /// The inherited descriptor's sink, refused when that descriptor was
    /// closed at start: Rust's stdout would silently write nowhere.
    fn inherited_sink(&self) -> Result<(Sink, String), OutputError> {
        let (fd, what) = match self {
            Destination::Stderr => (2, "standard error"),
            _ => (1, "standard output"),
        };
        if crate::stdfds::was_closed(fd) {
            return Err(OutputError::Inherited {
                what,
                source: io::Error::from_raw_os_error(libc::EBADF),
            });
        }
        Ok(match fd {
            2 => (Sink::Stderr(io::stderr()), "/dev/stderr".to_string()),
            _ => (Sink::Stdout(io::stdout()), "-".to_string()),
        })
    }
}

/// The standard descriptor (1 or 2) that `path` names through `/dev` or
/// `/proc`, if any.
pub(crate) fn standard_fd_alias(path: &Path) -> Option<u8> {
    const ALIASES: [(&str, u8); 8] = [
        ("/dev/stdout", 1),
        ("/dev/fd/1", 1),
        ("/proc/self/fd/1", 1),
        ("/proc/thread-self/fd/1", 1),
        ("/dev/stderr", 2),
        ("/dev/fd/2", 2),
        ("/proc/self/fd/2", 2),
        ("/proc/thread-self/fd/2", 2),
    ];
    let own = format!("/proc/{}/fd/", std::process::id());
    if let Some(fd) = path
        .to_str()
        .and_then(|text| text.strip_prefix(own.as_str()))
    {
        return match fd {
            "1" => Some(1),
            "2" => Some(2),
            _ => None,
        };
    }
    ALIASES
        .iter()
        .find(|(alias, _)| path == Path::new(alias))
        .map(|&(_, fd)| fd)
}

/// Output trouble, named for the one-line message.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot create {path}: {}", reason(source))]
    Create { path: String, source: io::Error },
    #[error("cannot write to {path}: {}", reason(source))]
    Write { path: String, source: io::Error },
    #[error("cannot write the CSV to {what}: {}", reason(source))]
    Inherited {
        what: &'static str,
        source: io::Error,
    },
}

impl OutputError {
    /// A reader of stdout that went away is not a failure worth a scary
    /// message, but recording stops all the same.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, OutputError::Write { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

enum Sink {
    Stdout(io::Stdout),
    Stderr(io::Stderr),
    File(File),
}

/// The CSV being written.
pub struct CsvOutput {
    schema: Schema,
    sink: Sink,
    /// The name to show people: the path, or `-` for stdout.
    name: String,
    /// Bytes of complete rows in the file: where to cut back to after a
    /// failed write.
    complete_len: u64,
    /// Spare bytes for the next row, kept to avoid an allocation per sample.
    spare: Vec<u8>,
    field: String,
}

impl CsvOutput {
    /// Opens the destination and writes the header: any trouble shows now,
    /// before a command is started.
    pub fn create(destination: &Destination, schema: Schema) -> Result<CsvOutput, OutputError> {
        let (sink, name) = match destination {
            Destination::Stdout | Destination::Stderr => destination.inherited_sink()?,
            Destination::File(path) => {
                let name = path.display().to_string();
                let file = File::create(path).map_err(|source| OutputError::Create {
                    path: name.clone(),
                    source,
                })?;
                (Sink::File(file), name)
            }
            Destination::Default => {
                let (file, path) = create_default_file(Path::new("."), SystemTime::now())?;
                (Sink::File(file), path.display().to_string())
            }
        };
        let mut output = CsvOutput {
            schema,
            sink,
            name,
            complete_len: 0,
            spare: Vec::with_capacity(256),
            field: String::with_capacity(32),
        };
        let header = schema.header();
        output.encode(|row, _| row.write_record(&header))?;
        Ok(output)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_stdout(&self) -> bool {
        matches!(self.sink, Sink::Stdout(_))
    }

    /// Writes one sample: one row, or one row per process in the long format.
    pub fn write_sample(&mut self, row: &Row<'_>) -> Result<(), OutputError> {
        let schema = self.schema;
        self.encode(|writer, field| {
            let timestamp = humantime::format_rfc3339_millis(row.wall_clock).to_string();
            let elapsed = format!("{:.6}", row.elapsed_s);
            let trigger = row.trigger.as_str();
            if schema.per_process {
                for process in &row.sample.processes {
                    writer.write_field(&timestamp)?;
                    writer.write_field(&elapsed)?;
                    writer.write_field(trigger)?;
                    write_num(writer, field, process.pid)?;
                    write_num(writer, field, process.ppid)?;
                    writer.write_field(&process.command)?;
                    write_num(writer, field, process.rss_bytes)?;
                    if schema.pss {
                        write_opt(writer, field, process.pss_bytes)?;
                    }
                    write_num(writer, field, process.vsz_bytes)?;
                    write_cpu(writer, field, process.cpu_percent)?;
                    let peak = process.hwm_bytes.unwrap_or(0).max(process.rss_bytes);
                    write_num(writer, field, peak)?;
                    writer.write_record(None::<&[u8]>)?;
                }
            } else {
                writer.write_field(&timestamp)?;
                writer.write_field(&elapsed)?;
                writer.write_field(trigger)?;
                write_num(writer, field, row.sample.procs())?;
                write_num(writer, field, row.sample.rss_bytes())?;
                if schema.pss {
                    write_opt(writer, field, row.sample.pss_bytes())?;
                }
                write_num(writer, field, row.sample.vsz_bytes())?;
                write_cpu(writer, field, row.sample.cpu_percent())?;
                write_num(writer, field, row.peak_rss_bytes)?;
                writer.write_record(None::<&[u8]>)?;
            }
            Ok(())
        })
    }

    /// Formats with `fill` into the row buffer, then hands the bytes to the
    /// OS in one go.
    fn encode<F>(&mut self, fill: F) -> Result<(), OutputError>
    where
        F: FnOnce(&mut csv::Writer<Vec<u8>>, &mut String) -> csv::Result<()>,
    {
        let mut spare = std::mem::take(&mut self.spare);
        spare.clear();
        // A small buffer: rows are short, and the writer is made per sample.
        let mut writer = csv::WriterBuilder::new()
            .buffer_capacity(512)
            .from_writer(spare);
        let encoded = fill(&mut writer, &mut self.field).and_then(|()| Ok(writer.flush()?));
        let bytes = match (encoded, writer.into_inner()) {
            (Ok(()), Ok(bytes)) => bytes,
            (Err(err), _) => return Err(self.write_error(io::Error::other(err))),
            (_, Err(err)) => return Err(self.write_error(err.into_error())),
        };
        let written = match &mut self.sink {
            Sink::Stdout(stdout) => {
                let mut lock = stdout.lock();
                lock.write_all(&bytes).and_then(|()| lock.flush())
            }
            Sink::Stderr(stderr) => stderr.lock().write_all(&bytes),
            Sink::File(file) => file.write_all(&bytes),
        };
        self.spare = bytes;
        match written {
            Ok(()) => {
                self.complete_len += self.spare.len() as u64;
                Ok(())
            }
            Err(err) => {
                self.cut_back();
                Err(self.write_error(err))
            }
        }
    }

    /// Removes a partial row left by a failed write. Best effort: a pipe or
    /// a device cannot be cut.
    fn cut_back(&mut self) {
        if let Sink::File(file) = &mut self.sink {
            let _ = file.set_len(self.complete_len);
            let _ = file.seek(SeekFrom::Start(self.complete_len));
        }
    }

    fn write_error(&self, source: io::Error) -> OutputError {
        OutputError::Write {
            path: self.name.clone(),
            source,
        }
    }
}

/// What one sample's row(s) hold beyond the probe's figures.
pub struct Row<'a> {
    pub wall_clock: SystemTime,
    pub elapsed_s: f64,
    pub trigger: Trigger,
    pub sample: &'a Sample,
    pub peak_rss_bytes: u64,
}

fn write_num(
    writer: &mut csv::Writer<Vec<u8>>,
    field: &mut String,
    value: impl std::fmt::Display,
) -> csv::Result<()> {
    field.clear();
    let _ = write!(field, "{value}");
    writer.write_field(field.as_bytes())
}

fn write_opt(
    writer: &mut csv::Writer<Vec<u8>>,
    field: &mut String,
    value: Option<u64>,
) -> csv::Result<()> {
    match value {
        Some(value) => write_num(writer, field, value),
        None => writer.write_field(b""),
    }
}

fn write_cpu(writer: &mut csv::Writer<Vec<u8>>, field: &mut String, value: f64) -> csv::Result<()> {
    field.clear();
    let _ = write!(field, "{value:.1}");
    writer.write_field(field.as_bytes())
}

/// Creates `memsample-YYYYmmdd-HHMMSS.csv` (UTC) in the working directory
/// with `O_EXCL`, which neither follows a symlink nor overwrites; on a clash
/// it tries `-2`, `-3`, ... . Returns the file and its name relative to `dir`.
fn create_default_file(dir: &Path, now: SystemTime) -> Result<(File, PathBuf), OutputError> {
    let stamp = humantime::format_rfc3339_seconds(now).to_string();
    // 2026-11-25T10:15:00Z -> 20261125-101500
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    let base = format!("memsample-{}-{}", &digits[..8], &digits[8..14]);
    for attempt in 1..1000 {
        let name = if attempt == 1 {
            format!("{base}.csv")
        } else {
            format!("{base}-{attempt}.csv")
        };
        let path = PathBuf::from(&name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(&path))
        {
            Ok(file) => return Ok((file, path)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(OutputError::Create { path: name, source }),
        }
    }
    Err(OutputError::Create {
        path: format!("{base}.csv"),
        source: io::Error::new(io::ErrorKind::AlreadyExists, "999 files of that name exist"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProcessSample;

    fn sample() -> Sample {
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
                },
            ],
            main_hwm_bytes: Some(10_000),
        }
    }

    fn row(sample: &Sample) -> Row<'_> {
        Row {
            wall_clock: SystemTime::UNIX_EPOCH
                + std::time::Duration::from_millis(1_764_065_700_123),
            elapsed_s: 1.5,
            trigger: Trigger::Interval,
            sample,
            peak_rss_bytes: 10_000,
        }
    }

    #[test]
    fn default_schema_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.csv");
        let schema = Schema {
            per_process: false,
            pss: false,
        };
        let mut output =
            CsvOutput::create(&Destination::File(path.clone()), schema).expect("creates");
        let sample = sample();
        output.write_sample(&row(&sample)).expect("writes");
        let text = std::fs::read_to_string(&path).expect("reads");
        assert_eq!(
            text,
            "timestamp,elapsed_s,trigger,procs,rss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes\n\
             2025-11-25T10:15:00.123Z,1.500000,interval,2,4196,8392,13.2,10000\n"
        );
    }

    #[test]
    fn per_process_rows_with_pss_and_quoting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.csv");
        let schema = Schema {
            per_process: true,
            pss: true,
        };
        let mut output =
            CsvOutput::create(&Destination::File(path.clone()), schema).expect("creates");
        let sample = sample();
        output.write_sample(&row(&sample)).expect("writes");
        let text = std::fs::read_to_string(&path).expect("reads");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "timestamp,elapsed_s,trigger,pid,ppid,command,rss_bytes,pss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes"
        );
        assert_eq!(
            lines[1],
            "2025-11-25T10:15:00.123Z,1.500000,interval,10,1,\"a,b \"\"c\"\"\",4096,1000,8192,12.2,10000"
        );
        assert_eq!(
            lines[2],
            "2025-11-25T10:15:00.123Z,1.500000,interval,11,10,child,100,,200,1.0,100"
        );
    }

    #[test]
    fn full_device_fails_at_the_header() {
        let err = CsvOutput::create(
            &Destination::File("/dev/full".into()),
            Schema {
                per_process: false,
                pss: false,
            },
        )
        .err()
        .expect("/dev/full refuses the header");
        assert_eq!(
            err.to_string(),
            "cannot write to /dev/full: No space left on device"
        );
    }

    #[test]
    fn default_name_never_overwrites() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_764_065_700);
        // A symlink planted where the first name will be is neither followed
        // nor replaced.
        let target = dir.path().join("elsewhere");
        std::os::unix::fs::symlink(&target, dir.path().join("memsample-20251125-101500-3.csv"))
            .expect("symlink");
        let first = create_default_file(dir.path(), now).map(|(_, p)| p);
        let second = create_default_file(dir.path(), now).map(|(_, p)| p);
        let third = create_default_file(dir.path(), now).map(|(_, p)| p);
        assert!(!target.exists());
        assert_eq!(
            third.expect("third"),
            PathBuf::from("memsample-20251125-101500-4.csv")
        );
        assert_eq!(
            first.expect("first"),
            PathBuf::from("memsample-20251125-101500.csv")
        );
        assert_eq!(
            second.expect("second"),
            PathBuf::from("memsample-20251125-101500-2.csv")
        );
    }
}
