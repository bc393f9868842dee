//! A cgroup memsample did not make: a service, a container, a CI job
//! (docs/cgroups.md, "Attaching to a cgroup").
//!
//! - [`find`] turns `--cgroup-path`, `--unit` or `--cgroup-of` into a
//!   directory of the cgroup filesystem, reading only.
//! - [`Attached::open`] pins it: the directory stays open (one removed and
//!   made again under the same name is another cgroup) with the files a
//!   sample reads. Nothing in the cgroup is written: the one write is
//!   `reset` to memsample's own open `memory.peak` (Linux ≥ 6.12), which
//!   resets the mark seen through that open file alone.
//! - [`Members`] lists the processes of the cgroup and of the cgroups under
//!   it, for the `/proc` columns; [`Removal`] tells when the cgroup is gone.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::{Mode, OFlags};

use super::{Host, MEMORY, has_word, parse_bytes, parse_keyed, parse_populated, unescape};

/// Which cgroup to attach to, as the command line names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Which {
    /// `--cgroup-path`: absolute, or relative to the cgroup mount.
    Path(PathBuf),
    /// `--unit`: the one directory of that name under the mount.
    Unit(String),
    /// `--cgroup-of`: the cgroup this process is in.
    Of(u32),
}

/// The cgroup hierarchy a cgroup belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    V2,
    /// The memory controller's hierarchy of cgroup v1 (read-only figures,
    /// no interval peaks).
    V1,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V2 => "cgroup v2",
            Version::V1 => "cgroup v1",
        })
    }
}

/// A cgroup filesystem mounted on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hierarchy {
    version: Version,
    /// The cgroup path mounted there (`/` unless bind-mounted from deeper).
    root: String,
    point: PathBuf,
}

/// The cgroup mounts of a `mountinfo` text: cgroup2 ones, and cgroup v1 ones
/// that hold the memory controller.
fn parse_hierarchies(mountinfo: &str) -> Vec<Hierarchy> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let mut after = after.split(' ');
            let fstype = after.next()?;
            let super_options = after.nth(1).unwrap_or("");
            let version = match fstype {
                "cgroup2" => Version::V2,
                "cgroup" if super_options.split(',').any(|o| o == MEMORY) => Version::V1,
                _ => return None,
            };
            let fields: Vec<&str> = before.split(' ').collect();
            Some(Hierarchy {
                version,
                root: unescape(fields.get(3)?),
                point: PathBuf::from(unescape(fields.get(4)?)),
            })
        })
        .collect()
}

/// The hierarchy that has the memory controller: cgroup v2 where its top
/// lists `memory` in `cgroup.controllers`, else the v1 memory hierarchy (a
/// hybrid host binds memory to v1).
fn memory_hierarchy(host: &Host) -> Result<Hierarchy, String> {
    let path = host.proc_self.join("mountinfo");
    let mountinfo = std::fs::read_to_string(&path).map_err(|err| cannot_read(&path, &err))?;
    let mounts = parse_hierarchies(&mountinfo);
    let v2 = mounts.iter().find(|mount| {
        mount.version == Version::V2
            && std::fs::read_to_string(mount.point.join("cgroup.controllers"))
                .is_ok_and(|controllers| has_word(&controllers, MEMORY))
    });
    v2.or_else(|| mounts.iter().find(|mount| mount.version == Version::V1))
        .cloned()
        .ok_or_else(|| "no cgroup hierarchy with the memory controller is mounted".into())
}

/// The directory of the cgroup named on the command line; reads only.
pub(crate) fn find(which: &Which, host: &Host) -> Result<PathBuf, String> {
    match which {
        Which::Path(path) if path.is_absolute() => Ok(path.clone()),
        Which::Path(path) => Ok(memory_hierarchy(host)?.point.join(path)),
        Which::Unit(name) => find_unit(&memory_hierarchy(host)?.point, name),
        Which::Of(pid) => cgroup_of(*pid, host),
    }
}

/// The one directory named `name` under `top` (systemd's unit names are
/// unique); none or several is an error naming what was found.
fn find_unit(top: &Path, name: &str) -> Result<PathBuf, String> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(format!(
            "--unit {name:?}: a unit name, such as nginx.service (for a path: --cgroup-path)"
        ));
    }
    let mut found = Vec::new();
    let mut pending = vec![top.to_path_buf()];
    while let Some(dir) = pending.pop() {
        // A directory that cannot be listed (no permission, just removed)
        // hides nothing memsample could attach to anyway.
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                if entry.file_name() == name {
                    found.push(entry.path());
                }
                pending.push(entry.path());
            }
        }
    }
    found.sort();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "--unit {name}: no cgroup of that name under {}",
            top.display()
        )),
        several => {
            let listed: Vec<String> = several.iter().map(|p| p.display().to_string()).collect();
            Err(format!(
                "--unit {name}: {} cgroups of that name: {}; give one with --cgroup-path",
                several.len(),
                listed.join(", ")
            ))
        }
    }
}

/// The cgroup `pid` is in, in the memory hierarchy: `/proc/PID/cgroup`'s
/// `0::` line (v2) or its `memory` line (v1), under the mount.
fn cgroup_of(pid: u32, host: &Host) -> Result<PathBuf, String> {
    let proc_root = host.proc_self.parent().unwrap_or(Path::new("/proc"));
    let process = proc_root.join(pid.to_string());
    let status = match std::fs::read_to_string(process.join("status")) {
        Ok(status) => status,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(format!("--cgroup-of {pid}: no process with pid {pid}"));
        }
        Err(err) => return Err(cannot_read(&process.join("status"), &err)),
    };
    if let Some(tgid) = parse_tgid(&status).filter(|tgid| *tgid != pid) {
        return Err(format!(
            "--cgroup-of {pid}: {pid} is a thread of process {tgid}; give --cgroup-of {tgid}"
        ));
    }
    let cgroups = std::fs::read_to_string(process.join("cgroup"))
        .map_err(|err| cannot_read(&process.join("cgroup"), &err))?;
    let hierarchy = memory_hierarchy(host)?;
    let path = match hierarchy.version {
        Version::V2 => super::parse_own_cgroup(&cgroups),
        Version::V1 => parse_v1_memory_line(&cgroups),
    }
    .ok_or_else(|| {
        format!(
            "--cgroup-of {pid}: /proc/{pid}/cgroup has no {} line",
            hierarchy.version
        )
    })?;
    under_mount(&hierarchy, path).ok_or_else(|| {
        format!(
            "--cgroup-of {pid}: its cgroup {path} is not under the mount {}",
            hierarchy.point.display()
        )
    })
}

/// A cgroup path as `/proc/PID/cgroup` gives it, as a directory of the mount.
fn under_mount(hierarchy: &Hierarchy, path: &str) -> Option<PathBuf> {
    let root = hierarchy.root.trim_end_matches('/');
    let relative = path.strip_prefix(root)?;
    if !relative.is_empty() && !relative.starts_with('/') {
        return None;
    }
    let relative = relative.trim_matches('/');
    Some(if relative.is_empty() {
        hierarchy.point.clone()
    } else {
        hierarchy.point.join(relative)
    })
}

/// The path of the `memory` controller's line of `/proc/PID/cgroup` (v1):
/// `ID:CONTROLLERS:PATH`, the controllers comma-separated.
pub(crate) fn parse_v1_memory_line(text: &str) -> Option<&str> {
    text.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let _id = fields.next()?;
        let controllers = fields.next()?;
        let path = fields.next()?;
        controllers.split(',').any(|c| c == MEMORY).then_some(path)
    })
}

/// `Tgid:` of a `/proc/PID/status` text.
fn parse_tgid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Tgid:"))
        .and_then(|value| value.trim().parse().ok())
}

fn cannot_read(path: &Path, err: &io::Error) -> String {
    format!(
        "cannot read {}: {}",
        path.display(),
        crate::console::reason::reason(err)
    )
}

/// One reading of an attached cgroup; a figure that cannot be read is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Reading {
    /// `memory.current` (v1: `memory.usage_in_bytes`).
    pub(crate) current_bytes: Option<u64>,
    /// The high-water mark: since attach where the kernel resets it per open
    /// file, else since the cgroup was made ([`Attached::peak_since_attach`]).
    pub(crate) peak_bytes: Option<u64>,
    /// The highest since the previous reading (v2, Linux ≥ 6.12).
    pub(crate) interval_peak_bytes: Option<u64>,
    /// `memory.max` (v1: `memory.limit_in_bytes`); `None` for no limit.
    pub(crate) limit_bytes: Option<u64>,
    /// Processes killed by the kernel's OOM killer since attach.
    pub(crate) oom_kills: Option<u64>,
    /// What the charge is made of, with `--breakdown`.
    pub(crate) parts: Option<Parts>,
}

/// What a cgroup's charge is made of (`--breakdown`), from `memory.stat`;
/// a part the kernel does not give is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Parts {
    /// Anonymous memory (v1: `total_rss`).
    pub(crate) anon: Option<u64>,
    /// Page cache, shmem included (v1: `total_cache`).
    pub(crate) file: Option<u64>,
    /// Kernel memory: stacks, page tables, slab (v2 ≥ 5.18; not in v1).
    pub(crate) kernel: Option<u64>,
    /// Shared memory and tmpfs (v1: `total_shmem`).
    pub(crate) shmem: Option<u64>,
    /// Swapped out: `memory.swap.current` (v1: `total_swap`).
    pub(crate) swap: Option<u64>,
    /// The working set: the charge less the inactive page cache
    /// (`inactive_file`, v1: `total_inactive_file`), what the kubelet
    /// evicts on.
    pub(crate) working_set: Option<u64>,
}

/// The parts of a `memory.stat` text, with the charge (`current`) and the
/// swap (`memory.swap.current`, v2) read beside it.
pub(crate) fn parse_parts(
    version: Version,
    stat: &str,
    current: Option<u64>,
    swap: Option<u64>,
) -> Parts {
    let key = |v2: &str, v1: &str| match version {
        Version::V2 => parse_keyed(stat, v2),
        Version::V1 => parse_keyed(stat, v1),
    };
    let inactive_file = key("inactive_file", "total_inactive_file");
    Parts {
        anon: key("anon", "total_rss"),
        file: key("file", "total_cache"),
        kernel: match version {
            Version::V2 => parse_keyed(stat, "kernel"),
            Version::V1 => None,
        },
        shmem: key("shmem", "total_shmem"),
        swap: match version {
            Version::V2 => swap,
            Version::V1 => parse_keyed(stat, "total_swap"),
        },
        working_set: current
            .zip(inactive_file)
            .map(|(current, inactive)| current.saturating_sub(inactive)),
    }
}

/// The files a sample reads, kept open: cgroup v2's, or their cgroup v1
/// counterparts in the memory hierarchy.
#[derive(Debug)]
struct Files {
    /// `memory.current` (v1: `memory.usage_in_bytes`).
    current: File,
    /// Reset once at attach where the kernel allows, never after: the peak
    /// since attach; else read-only, the peak since the cgroup was made.
    /// Missing before Linux 5.19. v1: `memory.max_usage_in_bytes`, never
    /// written (resetting it would change it for everyone).
    peak: Option<File>,
    /// Another open of `memory.peak`, reset after each read.
    interval: Option<File>,
    /// `memory.max` (v1: `memory.limit_in_bytes`); missing in the root cgroup.
    max: Option<File>,
    /// `memory.events` (v1: `memory.oom_control`), for `oom_kill`.
    events: Option<File>,
    /// `memory.stat`, read with `--breakdown` only.
    stat: Option<File>,
    /// `memory.swap.current` (v2; v1 has `total_swap` in `memory.stat`).
    swap: Option<File>,
}

/// An attached cgroup: pinned, with its files open.
#[derive(Debug)]
pub(crate) struct Attached {
    path: PathBuf,
    dir: File,
    version: Version,
    files: Files,
    peak_since_attach: bool,
    /// The highest interval peak so far: the peak since attach, where the
    /// kernel gives interval peaks.
    running_peak: Option<u64>,
    /// `oom_kill` at attach, so that the figure counts from there.
    oom_at_attach: Option<u64>,
}

/// The cgroup filesystems' magic numbers (statfs(2)).
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;

impl Attached {
    /// Pins the cgroup at `path`: a one-line error when it is not one, is
    /// gone, or cannot be read. Nothing is created.
    pub(crate) fn open(path: &Path) -> Result<Attached, String> {
        let dir = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map(File::from)
        .map_err(|errno| match errno {
            rustix::io::Errno::NOTDIR => {
                format!("{} is not a cgroup: not a directory", path.display())
            }
            rustix::io::Errno::NOENT => {
                format!("no cgroup {}: No such file or directory", path.display())
            }
            errno => format!(
                "cannot open cgroup {}: {}",
                path.display(),
                crate::console::reason::reason(&errno.into())
            ),
        })?;
        // `f_type` is an i64 on x86-64 but not on every architecture.
        #[allow(clippy::unnecessary_cast)]
        let magic = rustix::fs::fstatfs(&dir)
            .map(|fs| fs.f_type as i64)
            .map_err(|errno| format!("cannot open cgroup {}: {errno}", path.display()))?;
        let version = match magic {
            CGROUP2_SUPER_MAGIC => Version::V2,
            CGROUP_SUPER_MAGIC => Version::V1,
            _ => {
                return Err(format!(
                    "{} is not a cgroup: not on a cgroup filesystem",
                    path.display()
                ));
            }
        };
        Attached::pin(dir, path, version)
    }

    /// Opens the files of the cgroup whose directory is `dir`, on a
    /// filesystem of `version` (checked by the caller).
    fn pin(dir: File, path: &Path, version: Version) -> Result<Attached, String> {
        let opened = match version {
            Version::V2 => Files::open(&dir, path)?,
            Version::V1 => Files::open_v1(&dir, path)?,
        };
        let mut attached = Attached {
            path: path.to_path_buf(),
            dir,
            version,
            peak_since_attach: opened.peak_since_attach,
            running_peak: None,
            files: opened.files,
            oom_at_attach: None,
        };
        attached.oom_at_attach = attached.oom_total();
        Ok(attached)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn version(&self) -> Version {
        self.version
    }

    /// Whether `cgroup_peak_bytes` counts from attach (else from when the
    /// cgroup was made).
    pub(crate) fn peak_since_attach(&self) -> bool {
        self.peak_since_attach
    }

    /// What the charge is made of now (one more read of `memory.stat`).
    pub(crate) fn parts(&self, current: Option<u64>) -> Option<Parts> {
        let stat = read_stat(self.files.stat.as_ref()?).ok()?;
        let swap = self
            .files
            .swap
            .as_ref()
            .and_then(|file| read_number(file).ok());
        Some(parse_parts(self.version, &stat, current, swap))
    }

    /// The figures now, with what the charge is made of when `parts` (one
    /// more read). The interval peak is reset after it is read.
    pub(crate) fn read(&mut self, parts: bool) -> Reading {
        let current_bytes = read_number(&self.files.current).ok();
        let files = &self.files;
        let interval_peak_bytes = files.interval.as_ref().and_then(|file| {
            let bytes = read_number(file).ok()?;
            super::reset(file).ok()?;
            Some(bytes)
        });
        let peak_bytes = if self.peak_since_attach {
            if let Some(bytes) = interval_peak_bytes {
                self.running_peak = Some(self.running_peak.map_or(bytes, |peak| peak.max(bytes)));
            }
            self.running_peak
        } else {
            files.peak.as_ref().and_then(|file| read_number(file).ok())
        };
        Reading {
            current_bytes,
            peak_bytes,
            interval_peak_bytes,
            limit_bytes: self.read_limit(),
            oom_kills: self.oom_kills(),
            parts: if parts {
                self.parts(current_bytes)
            } else {
                None
            },
        }
    }

    /// `memory.max` now; `None` for no limit (or none readable).
    pub(crate) fn read_limit(&self) -> Option<u64> {
        let file = self.files.max.as_ref()?;
        parse_limit(&read_small(file).ok()?)
    }

    /// The OOM kills since attach, `None` when they cannot be read.
    pub(crate) fn oom_kills(&self) -> Option<u64> {
        let total = self.oom_total()?;
        Some(total.saturating_sub(self.oom_at_attach.unwrap_or(0)))
    }

    fn oom_total(&self) -> Option<u64> {
        let text = read_small(self.files.events.as_ref()?).ok()?;
        parse_keyed(&text, "oom_kill")
    }

    /// Whether the cgroup has been removed (its files read as `ENODEV`).
    pub(crate) fn is_removed(&self) -> bool {
        read_small(&self.files.current).is_err_and(|err| err.raw_os_error() == Some(libc::ENODEV))
    }

    /// The member processes, read from the cgroup's own directory.
    pub(crate) fn members(&self) -> io::Result<Members> {
        Ok(Members {
            dir: self.dir.try_clone()?,
        })
    }

    /// Tells when the cgroup is removed (v2; a v1 cgroup's removal is seen
    /// at the next row: `None`).
    pub(crate) fn removal(&self) -> io::Result<Option<Removal>> {
        if self.version == Version::V1 {
            return Ok(None);
        }
        let events = open_at(&self.dir, "cgroup.events", OFlags::RDONLY)?;
        Ok(Some(Removal { events }))
    }
}

/// What [`Files::open`] found.
struct Opened {
    files: Files,
    peak_since_attach: bool,
}

impl Files {
    fn open(dir: &File, path: &Path) -> Result<Opened, String> {
        let current = match open_at(dir, "memory.current", OFlags::RDONLY) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(gone_or(
                    dir,
                    path,
                    "has no memory.current: the memory controller is not enabled for it (or it is the root cgroup)",
                ));
            }
            Err(err) => return Err(unreadable(dir, path, "memory.current", &err)),
        };
        // memsample's own open file, reset here and after each read: the
        // peak of each interval, and their running highest the peak since
        // attach. Not a second file reset once: the kernel keeps one mark
        // for all resetting readers (Linux 6.12), so each reset here would
        // lower what that file shows. Where the kernel cannot reset (before
        // 6.12, or no write permission), the read-only file gives the peak
        // since the cgroup was made.
        let interval = open_at(dir, "memory.peak", OFlags::RDWR)
            .ok()
            .filter(|file| super::reset(file).is_ok());
        let peak_since_attach = interval.is_some();
        let files = Files {
            current,
            peak: open_at(dir, "memory.peak", OFlags::RDONLY).ok(),
            interval,
            max: open_at(dir, "memory.max", OFlags::RDONLY).ok(),
            events: open_at(dir, "memory.events", OFlags::RDONLY).ok(),
            stat: open_at(dir, "memory.stat", OFlags::RDONLY).ok(),
            swap: open_at(dir, "memory.swap.current", OFlags::RDONLY).ok(),
        };
        Ok(Opened {
            files,
            peak_since_attach,
        })
    }
}

impl Files {
    /// cgroup v1's memory hierarchy: read-only, no interval peaks, the peak
    /// since the cgroup was made (or someone else reset it).
    fn open_v1(dir: &File, path: &Path) -> Result<Opened, String> {
        let current = match open_at(dir, "memory.usage_in_bytes", OFlags::RDONLY) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(gone_or(
                    dir,
                    path,
                    "is not in the memory controller's hierarchy (cgroup v1: no memory.usage_in_bytes)",
                ));
            }
            Err(err) => return Err(unreadable(dir, path, "memory.usage_in_bytes", &err)),
        };
        let files = Files {
            current,
            peak: open_at(dir, "memory.max_usage_in_bytes", OFlags::RDONLY).ok(),
            interval: None,
            max: open_at(dir, "memory.limit_in_bytes", OFlags::RDONLY).ok(),
            events: open_at(dir, "memory.oom_control", OFlags::RDONLY).ok(),
            stat: open_at(dir, "memory.stat", OFlags::RDONLY).ok(),
            swap: None,
        };
        Ok(Opened {
            files,
            peak_since_attach: false,
        })
    }
}

/// Why a cgroup directory lacks a memory file: gone since it was opened,
/// or `why` (no memory controller there).
fn gone_or(dir: &File, path: &Path, why: &str) -> String {
    if open_at(dir, "cgroup.procs", OFlags::RDONLY).is_err() {
        return format!("cgroup {} was removed while attaching", path.display());
    }
    format!("cgroup {} {why}", path.display())
}

/// A memory file that is there but cannot be opened (no permission).
fn unreadable(dir: &File, path: &Path, name: &str, err: &io::Error) -> String {
    if open_at(dir, "cgroup.procs", OFlags::RDONLY).is_err() {
        return format!("cgroup {} was removed while attaching", path.display());
    }
    cannot_read(&path.join(name), err)
}

pub(super) fn open_at(dir: &File, name: &str, flags: OFlags) -> io::Result<File> {
    rustix::fs::openat(dir, name, flags | OFlags::CLOEXEC, Mode::empty())
        .map(File::from)
        .map_err(io::Error::from)
}

fn read_small(file: &File) -> io::Result<String> {
    let mut buffer = [0u8; 512];
    let length = file.read_at(&mut buffer, 0)?;
    Ok(String::from_utf8_lossy(&buffer[..length]).into_owned())
}

/// `memory.stat`, whole (about 1.5 KiB on v2, 1 KiB on v1).
fn read_stat(file: &File) -> io::Result<String> {
    let mut buffer = [0u8; 8192];
    let length = file.read_at(&mut buffer, 0)?;
    Ok(String::from_utf8_lossy(&buffer[..length]).into_owned())
}

fn read_number(file: &File) -> io::Result<u64> {
    parse_bytes(&read_small(file)?)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected memory file"))
}

/// `memory.max`: a number, or `max` for no limit (`None`). cgroup v1 says
/// "no limit" with the largest number it can hold (9223372036854771712 on
/// x86-64): no real limit is that large.
pub(crate) fn parse_limit(text: &str) -> Option<u64> {
    parse_bytes(text).filter(|&bytes| bytes < NO_LIMIT_V1)
}

/// At or above this, a v1 limit means none (4 EiB).
const NO_LIMIT_V1: u64 = 1 << 62;

/// The processes of an attached cgroup and of every cgroup under it.
#[derive(Debug)]
pub(crate) struct Members {
    dir: File,
}

/// How deep memsample follows cgroups under the attached one.
const MAX_DEPTH: usize = 32;

impl Members {
    /// The process ids, sorted, each once; empty once the cgroup is gone.
    pub(crate) fn pids(&mut self) -> Vec<u32> {
        let mut pids = Vec::new();
        collect(self.dir.as_fd(), &mut pids, 0);
        pids.sort_unstable();
        pids.dedup();
        pids
    }
}

/// `cgroup.procs` of `dir`, then of the cgroups under it.
fn collect(dir: BorrowedFd<'_>, pids: &mut Vec<u32>, depth: usize) {
    let procs = rustix::fs::openat(
        dir,
        "cgroup.procs",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    );
    if let Ok(procs) = procs {
        let mut text = String::new();
        if File::from(procs).read_to_string(&mut text).is_ok() {
            pids.extend(
                text.split_whitespace()
                    .filter_map(|pid| pid.parse::<u32>().ok()),
            );
        }
    }
    if depth >= MAX_DEPTH {
        return;
    }
    let Ok(entries) = rustix::fs::Dir::read_from(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if entry.file_type() != rustix::fs::FileType::Directory
            || name.to_bytes() == b"."
            || name.to_bytes() == b".."
        {
            continue;
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if let Ok(child) = rustix::fs::openat(dir, name, flags, Mode::empty()) {
            collect(child.as_fd(), pids, depth + 1);
        }
    }
}

/// Tells when an attached cgroup is removed: `cgroup.events` is polled for
/// changes while processes are in the tree (the kernel notifies when it
/// empties; a populated cgroup cannot be removed), and looked at ten times a
/// second while it is empty.
#[derive(Debug)]
pub(crate) struct Removal {
    events: File,
}

const EMPTY_LOOK: Duration = Duration::from_millis(100);

impl Removal {
    /// Blocks until the cgroup is gone.
    pub(crate) fn wait(self) {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        loop {
            let populated = match read_small(&self.events) {
                Ok(text) => parse_populated(&text).unwrap_or(false),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                // ENODEV: removed (any other error: nothing more to watch).
                Err(_) => return,
            };
            let timeout = Timespec {
                tv_sec: 0,
                tv_nsec: EMPTY_LOOK.as_nanos() as _,
            };
            let fd = self.events.as_fd();
            let mut fds = [PollFd::new(&fd, PollFlags::PRI)];
            let _ = poll(&mut fds, (!populated).then_some(&timeout));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A cgroup filesystem in a temporary directory: `proc/` for the host's
    /// `/proc` (its `self` is `proc/self`), `cg/` for the mount.
    struct Fake {
        dir: tempfile::TempDir,
    }

    impl Fake {
        fn new(mountinfo_tail: &str, controllers: &str) -> Fake {
            let dir = tempfile::tempdir().expect("temp dir");
            fs::create_dir_all(dir.path().join("proc/self")).expect("proc");
            fs::create_dir_all(dir.path().join("cg")).expect("cg");
            let point = dir.path().join("cg");
            let line = format!(
                "26 24 0:23 / {} rw shared:9 - {mountinfo_tail}\n",
                point.display()
            );
            fs::write(dir.path().join("proc/self/mountinfo"), line).expect("mountinfo");
            fs::write(point.join("cgroup.controllers"), controllers).expect("controllers");
            Fake { dir }
        }

        fn v2() -> Fake {
            Fake::new("cgroup2 cgroup2 rw", "cpu io memory pids\n")
        }

        fn host(&self) -> Host {
            Host {
                proc_self: self.dir.path().join("proc/self"),
                pid: 1,
                may_write: |_| Ok(()),
            }
        }

        fn cg(&self, path: &str) -> PathBuf {
            self.dir.path().join("cg").join(path)
        }

        /// A cgroup with these processes and figures.
        fn cgroup(&self, path: &str, procs: &str, current: &str, max: &str, oom: u64) -> PathBuf {
            let dir = self.cg(path);
            fs::create_dir_all(&dir).expect("cgroup dir");
            fs::write(dir.join("cgroup.procs"), procs).expect("procs");
            fs::write(dir.join("memory.current"), current).expect("current");
            fs::write(dir.join("memory.max"), max).expect("max");
            fs::write(
                dir.join("memory.events"),
                format!("oom 0\noom_kill {oom}\n"),
            )
            .expect("e");
            dir
        }

        fn process(&self, pid: u32, tgid: u32, cgroup: &str) {
            let dir = self.dir.path().join("proc").join(pid.to_string());
            fs::create_dir_all(&dir).expect("pid dir");
            fs::write(
                dir.join("status"),
                format!("Name:\tx\nTgid:\t{tgid}\nPid:\t{pid}\n"),
            )
            .expect("status");
            fs::write(dir.join("cgroup"), cgroup).expect("cgroup");
        }
    }

    fn pinned(path: &Path) -> Result<Attached, String> {
        let dir = File::open(path).map_err(|err| err.to_string())?;
        Attached::pin(dir, path, Version::V2)
    }

    #[test]
    fn paths_are_absolute_or_under_the_memory_mount() {
        let fake = Fake::v2();
        let host = fake.host();
        let relative = find(&Which::Path("system.slice/a.service".into()), &host);
        assert_eq!(relative, Ok(fake.cg("system.slice/a.service")));
        let absolute = find(&Which::Path("/elsewhere/x".into()), &host);
        assert_eq!(absolute, Ok(PathBuf::from("/elsewhere/x")));
    }

    #[test]
    fn a_hybrid_host_resolves_in_the_v1_memory_hierarchy() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir_all(dir.path().join("proc/self")).expect("proc");
        let unified = dir.path().join("unified");
        let memory = dir.path().join("memory");
        fs::create_dir_all(&unified).expect("unified");
        fs::create_dir_all(&memory).expect("memory");
        fs::write(unified.join("cgroup.controllers"), "\n").expect("controllers");
        let mountinfo = format!(
            "35 31 0:32 / {} rw - cgroup cgroup rw,memory\n41 31 0:38 / {} rw - cgroup2 cgroup2 rw\n",
            memory.display(),
            unified.display()
        );
        fs::write(dir.path().join("proc/self/mountinfo"), mountinfo).expect("mountinfo");
        let host = Host {
            proc_self: dir.path().join("proc/self"),
            pid: 1,
            may_write: |_| Ok(()),
        };
        assert_eq!(
            find(&Which::Path("a/b".into()), &host),
            Ok(memory.join("a/b"))
        );
        let pid_dir = dir.path().join("proc/77");
        fs::create_dir_all(&pid_dir).expect("pid");
        fs::write(pid_dir.join("status"), "Tgid:\t77\n").expect("status");
        fs::write(
            pid_dir.join("cgroup"),
            "12:cpu,cpuacct:/x\n4:memory:/docker/abc\n0::/\n",
        )
        .expect("cgroup");
        assert_eq!(find(&Which::Of(77), &host), Ok(memory.join("docker/abc")));
    }

    #[test]
    fn a_unit_is_the_one_directory_of_its_name() {
        let fake = Fake::v2();
        let host = fake.host();
        fake.cgroup("system.slice/nginx.service", "", "0\n", "max\n", 0);
        fake.cgroup("system.slice/db.service", "", "0\n", "max\n", 0);
        let found = find(&Which::Unit("nginx.service".into()), &host);
        assert_eq!(found, Ok(fake.cg("system.slice/nginx.service")));
        let none = find(&Which::Unit("web.service".into()), &host).expect_err("none");
        assert!(
            none.starts_with("--unit web.service: no cgroup of that name under "),
            "{none}"
        );
        fake.cgroup("user.slice/nginx.service", "", "0\n", "max\n", 0);
        let several = find(&Which::Unit("nginx.service".into()), &host).expect_err("several");
        assert!(
            several.starts_with("--unit nginx.service: 2 cgroups of that name: "),
            "{several}"
        );
        assert!(
            several.contains("system.slice/nginx.service")
                && several.contains("user.slice/nginx.service")
        );
        let slash = find(&Which::Unit("a/b".into()), &host).expect_err("a path");
        assert!(slash.contains("for a path: --cgroup-path"), "{slash}");
    }

    #[test]
    fn cgroup_of_a_process_a_thread_or_none() {
        let fake = Fake::v2();
        let host = fake.host();
        fake.process(4242, 4242, "0::/system.slice/web.service\n");
        assert_eq!(
            find(&Which::Of(4242), &host),
            Ok(fake.cg("system.slice/web.service"))
        );
        fake.process(4243, 4242, "0::/system.slice/web.service\n");
        assert_eq!(
            find(&Which::Of(4243), &host),
            Err("--cgroup-of 4243: 4243 is a thread of process 4242; give --cgroup-of 4242".into())
        );
        assert_eq!(
            find(&Which::Of(9), &host),
            Err("--cgroup-of 9: no process with pid 9".into())
        );
    }

    #[test]
    fn figures_limit_and_oom_kills_since_attach() {
        let fake = Fake::v2();
        let dir = fake.cgroup("svc", "10\n11\n", "52674560\n", "67108864\n", 2);
        let mut attached = pinned(&dir).expect("pinned");
        assert_eq!(attached.oom_kills(), Some(0));
        fs::write(dir.join("memory.events"), "oom 5\noom_kill 5\n").expect("events");
        let reading = attached.read(false);
        assert_eq!(reading.current_bytes, Some(52_674_560));
        assert_eq!(reading.limit_bytes, Some(64 << 20));
        assert_eq!(reading.oom_kills, Some(3));
        fs::write(dir.join("memory.max"), "max\n").expect("max");
        assert_eq!(attached.read(false).limit_bytes, None);
        fs::write(
            dir.join("memory.stat"),
            "anon 100\nfile 50\nkernel 7\nshmem 5\ninactive_file 30\n",
        )
        .expect("stat");
        fs::write(dir.join("memory.swap.current"), "4096\n").expect("swap");
        let mut attached = pinned(&dir).expect("pinned");
        let parts = attached.read(true).parts.expect("parts");
        assert_eq!(
            parts,
            Parts {
                anon: Some(100),
                file: Some(50),
                kernel: Some(7),
                shmem: Some(5),
                swap: Some(4096),
                working_set: Some(52_674_560 - 30),
            }
        );
        assert_eq!(attached.read(false).parts, None);
    }

    #[test]
    fn members_are_the_whole_subtree_sorted_once() {
        let fake = Fake::v2();
        let dir = fake.cgroup("svc", "30\n10\n", "0\n", "max\n", 0);
        fake.cgroup("svc/a", "20\n", "0\n", "max\n", 0);
        fake.cgroup("svc/a/b", "5\n10\n", "0\n", "max\n", 0);
        fake.cgroup("other", "99\n", "0\n", "max\n", 0);
        let attached = pinned(&dir).expect("pinned");
        let mut members = attached.members().expect("members");
        assert_eq!(members.pids(), [5, 10, 20, 30]);
        fs::write(dir.join("a/cgroup.procs"), "").expect("procs");
        assert_eq!(members.pids(), [5, 10, 30]);
    }

    #[test]
    fn a_directory_without_memory_current_is_refused() {
        let fake = Fake::v2();
        let dir = fake.cgroup("nomem", "", "0\n", "max\n", 0);
        fs::remove_file(dir.join("memory.current")).expect("rm");
        let err = pinned(&dir).expect_err("refused");
        assert!(err.ends_with("has no memory.current: the memory controller is not enabled for it (or it is the root cgroup)"), "{err}");
        fs::remove_file(dir.join("cgroup.procs")).expect("rm");
        let err = pinned(&dir).expect_err("refused");
        assert!(err.ends_with("was removed while attaching"), "{err}");
    }

    #[test]
    fn v1_parts_come_from_the_total_lines() {
        let stat = "cache 1\nrss 2\ntotal_cache 4096\ntotal_rss 8192\ntotal_shmem 1024\n\
                    total_mapped_file 512\ntotal_swap 0\ntotal_inactive_file 2048\n";
        let parts = parse_parts(Version::V1, stat, Some(20_000), None);
        assert_eq!(
            parts,
            Parts {
                anon: Some(8192),
                file: Some(4096),
                kernel: None,
                shmem: Some(1024),
                swap: Some(0),
                working_set: Some(20_000 - 2048),
            }
        );
    }

    #[test]
    fn v1_memory_lines_parse() {
        assert_eq!(parse_v1_memory_line("4:memory:/a/b\n0::/\n"), Some("/a/b"));
        assert_eq!(parse_v1_memory_line("7:cpu,memory:/c\n"), Some("/c"));
        assert_eq!(parse_v1_memory_line("7:cpu:/c\n0::/x\n"), None);
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("1048576\n"), Some(1 << 20));
        assert_eq!(parse_limit("9223372036854771712\n"), None);
    }
}
