//! Kept-open `/proc` files and their budget: each counted process keeps its
//! `stat` and `statm` (and `status` with `--per-process`) open while the
//! soft limit on open files leaves room; past it, files are opened and
//! closed for each read.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::parse::{parse_kb_line, parse_statm};

/// Sizes from a kept-open `statm` (opened on first use), or read by path.
pub(super) fn read_statm(
    statm: &mut Option<File>,
    pid: u32,
    keep: bool,
    buf: &mut [u8],
) -> Option<(u64, u64)> {
    let len = read_kept(statm, pid, "statm", keep, buf)?;
    parse_statm(&buf[..len])
}

/// VmHWM from a kept-open `status` (opened on first use), or read by path.
pub(super) fn read_status_hwm(
    status: &mut Option<File>,
    pid: u32,
    keep: bool,
    buf: &mut [u8],
) -> Option<u64> {
    let len = read_kept(status, pid, "status", keep, buf)?;
    parse_kb_line(&buf[..len], b"VmHWM:")
}

/// Reads `/proc/PID/NAME` through `file`, opening it on first use when
/// `keep`, else by opening and closing it.
pub(super) fn read_kept(
    file: &mut Option<File>,
    pid: u32,
    name: &str,
    keep: bool,
    buf: &mut [u8],
) -> Option<usize> {
    if !keep {
        return read_by_path(pid, name, buf).ok();
    }
    if file.is_none() {
        *file = File::open(format!("/proc/{pid}/{name}")).ok();
    }
    file.as_ref()?.read_at(buf, 0).ok()
}

/// Opens, reads and closes `/proc/PID/NAME`: one file for a moment.
pub(super) fn read_by_path(pid: u32, name: &str, buf: &mut [u8]) -> io::Result<usize> {
    File::open(format!("/proc/{pid}/{name}"))?.read_at(buf, 0)
}

/// Reads the `stat` of a new id into `buf`, keeping the file open when
/// `keep` and there are files to spare, else opening and closing it.
pub(super) fn read_new_stat(
    pid: u32,
    keep: bool,
    buf: &mut [u8],
) -> io::Result<(Option<File>, usize)> {
    if keep {
        match File::open(format!("/proc/{pid}/stat")) {
            Ok(file) => {
                let len = file.read_at(buf, 0)?;
                return Ok((Some(file), len));
            }
            Err(err) if !is_out_of_files(&err) => return Err(err),
            // Other files took the room: fall back to opening and closing.
            Err(_) => {}
        }
    }
    Ok((None, read_by_path(pid, "stat", buf)?))
}

/// Resets the kernel's high-water mark of `pid` to its RSS now: `5` written
/// to `/proc/PID/clear_refs` (the kernel's proc(5); docs/phases.md,
/// `--reset-peaks`). One open, one write, one close.
pub(super) fn reset_hwm(pid: u32) -> io::Result<()> {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/{pid}/clear_refs"))?
        .write_all(b"5")
}

/// Whether memsample may not write to that process's files.
pub(super) fn is_denied(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EACCES | libc::EPERM))
}

pub(super) fn is_out_of_files(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Files memsample keeps for itself (standard streams, the output, the pidfd,
/// `/proc/loadavg`, signal pipes, a directory being scanned, files read by
/// path) before it gives members kept-open files.
pub(super) const FILES_SPARED: u64 = 32;

/// How many members may keep their files open under a soft limit of
/// `open_files`: each keeps `stat` and `statm`, and `status` with
/// `--per-process` (with `--breakdown`, `status` takes the place of `statm`).
pub(super) fn kept_limit(open_files: u64, every_hwm: bool) -> usize {
    let per_member = if every_hwm { 3 } else { 2 };
    usize::try_from(open_files.saturating_sub(FILES_SPARED) / per_member).unwrap_or(usize::MAX)
}

/// Raises the soft limit on open files to the hard limit, so that a large tree
/// can be read through kept-open files; returns the soft limit now in force.
/// The command inherits rlimits, so this runs only once it is started:
/// [`super::ProcProbe::new`] is called after the spawn (docs/how-it-works.md,
/// "Safety with your process and your data").
pub(super) fn raise_open_file_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let current = limit.current.unwrap_or(u64::MAX);
    match limit.maximum {
        Some(maximum) if maximum > current => {
            let raised = Rlimit {
                current: Some(maximum),
                maximum: Some(maximum),
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => maximum,
                Err(_) => current,
            }
        }
        _ => current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_files_stay_within_the_limit() {
        assert_eq!(kept_limit(1024, false), 496);
        assert_eq!(kept_limit(1024, true), 330);
        assert_eq!(kept_limit(16, false), 0);
    }
}
