//! Where a recording goes (`-o`), and the writes and cuts of its bytes.
//!
//! The rows themselves are encoded by [`crate::sink`], which keeps the
//! whole-row guarantee on top of `Target`.
//!
//! [`Destination`] and [`OutputError`] are `pub` for the benchmarks and the
//! property tests, which open sinks on files of their own; the rest is the
//! crate's.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::console::reason::reason;

/// Where the recording goes.
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
    /// No `-o`: `memsample-YYYYmmdd-HHMMSS.csv` (`.jsonl` with
    /// `--format jsonl`) in the working directory,
    /// never overwriting and never following a planted symlink.
    Default,
}

impl Destination {
    pub(crate) fn from_arg(output: Option<&Path>) -> Destination {
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
    fn inherited_target(&self) -> Result<(Target, String), OutputError> {
        let (fd, what) = match self {
            Destination::Stderr => (2, "standard error"),
            _ => (1, "standard output"),
        };
        if crate::sink::stdfds::was_closed(fd) {
            return Err(OutputError::Inherited {
                what,
                source: io::Error::from_raw_os_error(libc::EBADF),
            });
        }
        Ok(match fd {
            2 => (Target::Stderr(io::stderr()), "/dev/stderr".to_string()),
            _ => (Target::Stdout(io::stdout()), "-".to_string()),
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

/// A name an output is written under, as far as sharing one goes.
enum Name<'a> {
    /// The inherited standard output (1) or error (2).
    Fd(u8),
    Path(&'a Path),
}

impl<'a> Name<'a> {
    fn of(path: &'a Path) -> Name<'a> {
        match standard_fd_alias(path) {
            Some(fd) => Name::Fd(fd),
            None => Name::Path(path),
        }
    }

    /// Whether what is written under both ends up in one file, one replacing
    /// or running into the other. A device, FIFO or socket named twice is
    /// written into twice (`/dev/null`), which loses nothing.
    fn is_shared_with(&self, other: &Name<'_>) -> bool {
        match (self, other) {
            (Name::Fd(a), Name::Fd(b)) => a == b,
            (Name::Path(a), Name::Path(b)) => {
                same_file(a, b)
                    && std::fs::metadata(a).map_or(true, |meta| meta.is_file() || meta.is_dir())
            }
            _ => false,
        }
    }
}

/// Two names of one file: the same path once the directory is resolved
/// (`sub/../mem.csv`, a symlinked directory), or, when both exist, one inode
/// (a hard link, a symlink to it).
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    if let (Some(a), Some(b)) = (resolved(a), resolved(b))
        && a == b
    {
        return true;
    }
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// `path` with its directory resolved (symlinks, `..`); the file itself need
/// not exist.
fn resolved(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => dir.canonicalize().ok().map(|dir| dir.join(name)),
        _ => absolute.canonicalize().ok(),
    }
}

/// `-o`, `--plot` and `--json-summary` each need a file of their own: one
/// written over another at the end would lose it silently
/// (docs/how-it-works.md, "Safety with your process and your data"). Checked
/// before anything is created or started; the error is the message.
pub(crate) fn check_distinct(
    output: Option<&Path>,
    plot: Option<&Path>,
    json_summary: Option<&Path>,
) -> Result<(), String> {
    let recording = match Destination::from_arg(output) {
        Destination::Stdout => Some(Name::Fd(1)),
        Destination::Stderr => Some(Name::Fd(2)),
        Destination::File(_) => output.map(Name::Path),
        // A name of the moment, made with O_EXCL: nothing else can be it.
        Destination::Default => None,
    };
    let given = output.map_or(String::new(), |path| path.display().to_string());
    let extras = [("--plot", plot), ("--json-summary", json_summary)];
    for (option, path) in extras.iter().filter_map(|(o, p)| p.map(|p| (*o, p))) {
        let Some(recording) = &recording else { break };
        if recording.is_shared_with(&Name::of(path)) {
            let verb = match recording {
                Name::Fd(_) => "go into",
                Name::Path(_) => "replace",
            };
            return Err(format!(
                "{option} {} would {verb} the recording (-o {given}): give another file",
                path.display()
            ));
        }
    }
    if let (Some(svg), Some(json)) = (plot, json_summary)
        && Name::of(svg).is_shared_with(&Name::of(json))
    {
        return Err(format!(
            "--json-summary {} and --plot {} are one file: give each its own",
            json.display(),
            svg.display()
        ));
    }
    Ok(())
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
    pub(crate) fn is_broken_pipe(&self) -> bool {
        matches!(self, OutputError::Write { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// The opened destination.
pub(crate) enum Target {
    Stdout(io::Stdout),
    Stderr(io::Stderr),
    File(File),
}

impl Destination {
    /// Opens the destination: any trouble shows now, before a command is
    /// started. `extension` names the default file (`csv`, `jsonl`).
    /// Returns the target and the name to show people (`-` for stdout).
    pub(crate) fn open(&self, extension: &str) -> Result<(Target, String), OutputError> {
        Ok(match self {
            Destination::Stdout | Destination::Stderr => self.inherited_target()?,
            Destination::File(path) => {
                let name = path.display().to_string();
                let file = File::create(path).map_err(|source| OutputError::Create {
                    path: name.clone(),
                    source,
                })?;
                (Target::File(file), name)
            }
            Destination::Default => {
                let (file, path) =
                    create_default_file(Path::new("."), SystemTime::now(), extension)?;
                (Target::File(file), path.display().to_string())
            }
        })
    }
}

impl Target {
    /// Hands the bytes to the OS, with no user-space buffering left behind.
    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Target::Stdout(stdout) => {
                let mut lock = stdout.lock();
                lock.write_all(bytes).and_then(|()| lock.flush())
            }
            Target::Stderr(stderr) => {
                let mut lock = stderr.lock();
                lock.write_all(bytes).and_then(|()| lock.flush())
            }
            Target::File(file) => file.write_all(bytes),
        }
    }

    /// Cuts the file back to `len` bytes. Best effort: a pipe or a device
    /// cannot be cut.
    pub(crate) fn cut_back(&mut self, len: u64) {
        if let Target::File(file) = self {
            let _ = file.set_len(len);
            let _ = file.seek(SeekFrom::Start(len));
        }
    }
}

/// Creates `memsample-YYYYmmdd-HHMMSS.EXT` (UTC) in the working directory
/// with `O_EXCL`, which neither follows a symlink nor overwrites; on a clash
/// it tries `-2`, `-3`, ... . Returns the file and its name relative to `dir`.
fn create_default_file(
    dir: &Path,
    now: SystemTime,
    extension: &str,
) -> Result<(File, PathBuf), OutputError> {
    let stamp = humantime::format_rfc3339_seconds(now).to_string();
    // 2026-11-25T10:15:00Z -> 20261125-101500
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    let base = format!("memsample-{}-{}", &digits[..8], &digits[8..14]);
    for attempt in 1..1000 {
        let name = if attempt == 1 {
            format!("{base}.{extension}")
        } else {
            format!("{base}-{attempt}.{extension}")
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
        path: format!("{base}.{extension}"),
        source: io::Error::new(io::ErrorKind::AlreadyExists, "999 files of that name exist"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_name_never_overwrites() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_764_065_700);
        // A symlink planted where the first name will be is neither followed
        // nor replaced.
        let target = dir.path().join("elsewhere");
        std::os::unix::fs::symlink(&target, dir.path().join("memsample-20251125-101500-3.csv"))
            .expect("symlink");
        let first = create_default_file(dir.path(), now, "csv").map(|(_, p)| p);
        let second = create_default_file(dir.path(), now, "csv").map(|(_, p)| p);
        let third = create_default_file(dir.path(), now, "csv").map(|(_, p)| p);
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
        let jsonl = create_default_file(dir.path(), now, "jsonl").map(|(_, p)| p);
        assert_eq!(
            jsonl.expect("jsonl"),
            PathBuf::from("memsample-20251125-101500.jsonl")
        );
    }
}
