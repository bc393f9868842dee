//! A cgroup v2 of the command's own, for exact whole-tree figures.
//!
//! Sampling misses what happens between two samples; the kernel keeps an
//! exact high-water mark per cgroup (`memory.peak`). memsample puts the
//! command, before it execs, into a fresh cgroup and reads the kernel's
//! figures for the whole tree from it.
//!
//! The command never leaves a cgroup memsample is in (docs/cgroups.md): so
//! that every limit, every accounting and every stop that applies to
//! memsample applies to the command, its cgroup is made only inside
//! memsample's own, never beside it or above it.
//!
//! - [`Placement::find`] decides whether memsample's own cgroup can hold the
//!   command's, and how ([`Layout`]), or says in a few words why not
//!   ([`Unavailable`]). It only reads: nothing is created or moved.
//! - [`Cgroup::create`] makes the cgroup and keeps its files open, so that a
//!   sample is a few `pread`s and the child joins it with one `write(2)`
//!   ([`Joiner::join`], async-signal-safe, for `pre_exec`).
//! - [`Cgroup::remove`] undoes what memsample made and changed once the tree
//!   is empty (`made.rs`).
//!
//! The root paths are injectable ([`Host`]) so that the decision is tested
//! against a fake cgroupfs in a temporary directory; the parsers are pure.

pub(crate) mod attach;
mod made;

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

pub use made::Left;
use made::Made;

/// The controller memsample needs.
const MEMORY: &str = "memory";

/// How to get a cgroup of one's own where a shell shares its scope.
const OWN_SCOPE_HINT: &str = "systemd-run --user --scope -p Delegate=yes memsample …";

/// Why memsample cannot give the command a cgroup with the memory controller.
/// Each renders as a few words for the start line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    /// No cgroup2 hierarchy, or one without the memory controller (cgroup v1,
    /// or a hybrid setup where memory is bound to v1).
    #[error("no cgroup v2 memory controller")]
    NoCgroupV2,
    /// cgroup v2 has the memory controller, but memsample's own cgroup was
    /// not given it (`cgroup.controllers`): not delegated this far.
    #[error("memsample's cgroup has no memory controller")]
    NoMemoryController,
    /// Other processes share memsample's cgroup: the "no internal processes"
    /// rule forbids a child with the memory controller, and moving them is
    /// not memsample's to do.
    #[error("other processes share memsample's cgroup; for one of its own: {OWN_SCOPE_HINT}")]
    Shared,
    /// memsample's cgroup is part of a threaded subtree, where the memory
    /// controller (a domain controller) cannot be given to a child.
    #[error("memsample's cgroup is threaded")]
    Threaded,
    /// memsample may not write a file or directory it needs (the cgroup v2
    /// delegation rule).
    #[error("no permission to write {path}")]
    NoPermission { path: String },
    #[error("read-only cgroup filesystem")]
    ReadOnly,
    /// A file of the cgroupfs could not be read.
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
}

/// Where memsample looks: `/proc/self` (own cgroup, mount table), its own
/// pid and how it decides whether it may write a path. Injectable for tests.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub(crate) proc_self: PathBuf,
    /// memsample's pid, as `cgroup.procs` lists it.
    pub(crate) pid: u32,
    /// `Ok` when the caller may write `path`; the error's kind tells a
    /// read-only filesystem (`ReadOnlyFilesystem`) from a denial.
    pub(crate) may_write: fn(&Path) -> io::Result<()>,
}

impl Host {
    /// This machine, as this process sees it.
    pub(crate) fn real() -> Host {
        Host {
            proc_self: PathBuf::from("/proc/self"),
            pid: std::process::id(),
            may_write: may_write_real,
        }
    }
}

/// access(2) with W_OK: the kernel's own permission rule, for this process's
/// user (memsample is never set-uid, so real and effective ids agree).
fn may_write_real(path: &Path) -> io::Result<()> {
    rustix::fs::access(path, rustix::fs::Access::WRITE_OK).map_err(io::Error::from)
}

/// How the command's cgroup sits inside memsample's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// memsample's cgroup is the root (a VM, bare metal, as root), which may
    /// hold processes and give controllers to children at once: the
    /// command's cgroup is `memsample-PID` right under it.
    UnderRoot,
    /// memsample is the only process in its cgroup: it makes
    /// `memsample-PID/sampler` for itself and `memsample-PID/job` for the
    /// command, moves itself into the first and the command into the second.
    Leaves,
}

/// Where and how memsample makes the command's cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// memsample's own cgroup (a directory of the cgroupfs).
    pub own: PathBuf,
    pub layout: Layout,
    /// memsample's cgroup does not yet give the memory controller to its
    /// children (`cgroup.subtree_control`): memsample enables it there, and
    /// disables it again when it leaves.
    pub(crate) enable_memory: bool,
}

/// The cgroup2 mount that holds memsample's own cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    /// The cgroup path mounted there (`/` unless bind-mounted from deeper).
    pub(crate) root: String,
    pub(crate) point: PathBuf,
    pub(crate) read_only: bool,
}

impl Placement {
    /// The placement on this machine, or why there is none.
    pub fn find() -> Result<Placement, Unavailable> {
        Placement::find_in(&Host::real())
    }

    /// The placement as `host` sees it, or why there is none. Only
    /// memsample's own cgroup is considered: never one above it.
    pub(crate) fn find_in(host: &Host) -> Result<Placement, Unavailable> {
        let own = own_dir(host)?;
        if !has_word(&read_text(&own.join("cgroup.controllers"))?, MEMORY) {
            return Err(Unavailable::NoMemoryController);
        }
        // The root cgroup alone has no `cgroup.type`.
        let layout = match fs::read_to_string(own.join("cgroup.type")) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => Layout::UnderRoot,
            Err(err) => return Err(unreadable(&own.join("cgroup.type"), &err)),
            Ok(kind) if kind.trim() != "domain" => return Err(Unavailable::Threaded),
            Ok(_) => {
                let procs = read_text(&own.join("cgroup.procs"))?;
                let pid = host.pid.to_string();
                if procs.split_whitespace().any(|listed| listed != pid) {
                    return Err(Unavailable::Shared);
                }
                Layout::Leaves
            }
        };
        let subtree = own.join("cgroup.subtree_control");
        let enable_memory = !has_word(&read_text(&subtree)?, MEMORY);
        // Creating the cgroup needs the directory writable; moving a process
        // between two cgroups needs `cgroup.procs` of their common ancestor
        // (memsample's own: the command from it under the root, memsample
        // itself out of it and back into it in a leaf of its own).
        let mut needed = vec![own.clone(), own.join("cgroup.procs")];
        if enable_memory {
            needed.push(subtree);
        }
        for path in needed {
            if let Err(err) = (host.may_write)(&path) {
                return Err(denial(&err, &path));
            }
        }
        Ok(Placement {
            own,
            layout,
            enable_memory,
        })
    }
}

/// The directory of memsample's own cgroup, on a cgroup2 mount that has the
/// memory controller and may be written.
fn own_dir(host: &Host) -> Result<PathBuf, Unavailable> {
    let cgroup = read_text(&host.proc_self.join("cgroup"))?;
    let own = parse_own_cgroup(&cgroup).ok_or(Unavailable::NoCgroupV2)?;
    let mountinfo = read_text(&host.proc_self.join("mountinfo"))?;
    let mount = parse_cgroup2_mount(&mountinfo, own).ok_or(Unavailable::NoCgroupV2)?;
    // The top of the visible hierarchy lists every controller v2 has;
    // in a hybrid setup memory is bound to v1 and missing here.
    if !has_word(&read_text(&mount.point.join("cgroup.controllers"))?, MEMORY) {
        return Err(Unavailable::NoCgroupV2);
    }
    if mount.read_only {
        return Err(Unavailable::ReadOnly);
    }
    let relative = own
        .strip_prefix(mount.root.as_str())
        .unwrap_or("")
        .trim_matches('/');
    Ok(if relative.is_empty() {
        mount.point
    } else {
        mount.point.join(relative)
    })
}

fn denial(err: &io::Error, path: &Path) -> Unavailable {
    if err.kind() == io::ErrorKind::ReadOnlyFilesystem {
        Unavailable::ReadOnly
    } else {
        Unavailable::NoPermission {
            path: path.display().to_string(),
        }
    }
}

fn unreadable(path: &Path, err: &io::Error) -> Unavailable {
    Unavailable::Unreadable {
        path: path.display().to_string(),
        reason: crate::console::reason::reason(err),
    }
}

fn read_text(path: &Path) -> Result<String, Unavailable> {
    fs::read_to_string(path).map_err(|err| unreadable(path, &err))
}

fn has_word(text: &str, word: &str) -> bool {
    text.split_whitespace().any(|w| w == word)
}

/// memsample's cgroup v2 path, from `/proc/self/cgroup` (the `0::` line).
pub(crate) fn parse_own_cgroup(text: &str) -> Option<&str> {
    text.lines().find_map(|line| line.strip_prefix("0::"))
}

/// The cgroup2 mount that shows the cgroup `own`, from
/// `/proc/self/mountinfo`: `ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...]
/// - FSTYPE SOURCE SUPER_OPTIONS`.
pub(crate) fn parse_cgroup2_mount(mountinfo: &str, own: &str) -> Option<Mount> {
    mountinfo.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        let mut after = after.split(' ');
        if after.next()? != "cgroup2" {
            return None;
        }
        let super_options = after.nth(1).unwrap_or("");
        let fields: Vec<&str> = before.split(' ').collect();
        let root = unescape(fields.get(3)?);
        let point = PathBuf::from(unescape(fields.get(4)?));
        let options = fields.get(5)?;
        let under_root =
            root == "/" || own == root || own.strip_prefix(root.as_str())?.starts_with('/');
        under_root.then(|| Mount {
            point,
            read_only: has_option(options, "ro") || has_option(super_options, "ro"),
            root,
        })
    })
}

fn has_option(options: &str, option: &str) -> bool {
    options.split(',').any(|o| o == option)
}

/// mountinfo writes space, tab, newline and backslash as `\ooo` octal.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `oom_kill` of `memory.events`: processes of the tree (sub-cgroups
/// included) killed by the kernel's OOM killer.
pub(crate) fn parse_oom_kills(events: &str) -> Option<u64> {
    parse_keyed(events, "oom_kill")
}

/// `populated` of `cgroup.events`: whether any process is left in the tree.
pub(crate) fn parse_populated(events: &str) -> Option<bool> {
    parse_keyed(events, "populated").map(|value| value != 0)
}

/// The value of `key` in a flat-keyed file (`key value` lines).
fn parse_keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok())?
    })
}

/// What the memory of the tree is, from `memory.stat`, in bytes. `kernel` is
/// missing before Linux 5.18.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryStat {
    pub anon: Option<u64>,
    pub file: Option<u64>,
    pub kernel: Option<u64>,
    pub shmem: Option<u64>,
}

pub fn parse_memory_stat(text: &str) -> MemoryStat {
    MemoryStat {
        anon: parse_keyed(text, "anon"),
        file: parse_keyed(text, "file"),
        kernel: parse_keyed(text, "kernel"),
        shmem: parse_keyed(text, "shmem"),
    }
}

/// A single number (`memory.current`, `memory.peak`).
pub(crate) fn parse_bytes(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// A cgroup that could not be made or opened: one line, `what: reason`.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {}", crate::console::reason::reason(source))]
pub struct CgroupError {
    pub(crate) what: String,
    pub(crate) source: io::Error,
}

fn failed(what: impl Into<String>) -> impl FnOnce(io::Error) -> CgroupError {
    let what = what.into();
    move |source| CgroupError { what, source }
}

/// The command's cgroup, with the files a sample reads kept open.
#[derive(Debug)]
pub struct Cgroup {
    path: PathBuf,
    /// Holds the directory open; its files are opened relative to it.
    dir: File,
    /// `cgroup.procs`, opened for writing before the fork ([`Joiner`]).
    procs: File,
    events: File,
    current: File,
    memory_events: File,
    /// Never written: the kernel's high-water mark since creation. Missing
    /// before Linux 5.19.
    peak: Option<File>,
    /// Another open of `memory.peak`, reset after each read (see
    /// [`Cgroup::interval_peak_bytes`]); `None` where the kernel cannot reset.
    interval: Option<File>,
    /// What memsample made and changed for it; `None` for a cgroup only
    /// opened.
    made: Option<Made>,
}

/// What a child needs to join the cgroup: the raw fd of `cgroup.procs`.
#[derive(Debug, Clone, Copy)]
pub struct Joiner {
    procs: RawFd,
}

impl Joiner {
    /// Moves the calling process into the cgroup by writing `0` (the caller
    /// itself) to `cgroup.procs`. Meant for `CommandExt::pre_exec`, between
    /// fork and exec: it only makes one `write(2)`, which is
    /// async-signal-safe, allocates nothing and takes no lock; on failure it
    /// reads errno, which is async-signal-safe too.
    pub fn join(self) -> io::Result<()> {
        // SAFETY: `procs` is the fd of `cgroup.procs` that the parent's
        // `Cgroup` keeps open (so it is valid in the forked child, whose fd
        // table is a copy); the buffer is a static one-byte slice.
        let written = unsafe { libc::write(self.procs, b"0".as_ptr().cast(), 1) };
        if written == 1 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

impl Cgroup {
    /// Creates `name` in memsample's own cgroup as `placement` says and
    /// opens the command's cgroup's files. The caller then starts the
    /// command with [`Cgroup::joiner`] in its `pre_exec`. On failure nothing
    /// is left made or changed.
    pub fn create(placement: &Placement, name: &str) -> Result<Cgroup, CgroupError> {
        let mut made = Made::new(placement, name);
        let cgroup = made.build(placement).and_then(Cgroup::open);
        // On failure, dropping `made` undoes what was done.
        let mut cgroup = cgroup?;
        cgroup.made = Some(made);
        Ok(cgroup)
    }

    fn open(path: PathBuf) -> Result<Cgroup, CgroupError> {
        let dir = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(&path)
            .map_err(failed(format!("cannot open {}", path.display())))?;
        let at = |name: &str, flags: OFlags| open_at(&dir, &path, name, flags);
        let procs = at("cgroup.procs", OFlags::WRONLY)?;
        let events = at("cgroup.events", OFlags::RDONLY)?;
        let current = at("memory.current", OFlags::RDONLY)?;
        let memory_events = at("memory.events", OFlags::RDONLY)?;
        let peak = at("memory.peak", OFlags::RDONLY).ok();
        let interval = at("memory.peak", OFlags::RDWR).ok();
        let mut cgroup = Cgroup {
            path,
            dir,
            procs,
            events,
            current,
            memory_events,
            peak,
            interval,
            made: None,
        };
        // Linux before 6.12 has a read-only `memory.peak` (opening it for
        // writing already fails); a write that fails also means no reset.
        if let Some(file) = &cgroup.interval
            && reset(file).is_err()
        {
            cgroup.interval = None;
        }
        Ok(cgroup)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cgroup's directory, as `clone3(CLONE_INTO_CGROUP)` takes it.
    pub fn dir(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// For the child's `pre_exec`: valid while this `Cgroup` lives.
    pub fn joiner(&self) -> Joiner {
        Joiner {
            procs: self.procs.as_raw_fd(),
        }
    }

    /// `memory.current`: all the tree is charged now (anonymous memory, page
    /// cache, kernel memory).
    pub fn current_bytes(&self) -> io::Result<u64> {
        read_number(&self.current)
    }

    /// `memory.peak`: the exact high-water mark of the tree since creation;
    /// `None` before Linux 5.19.
    pub fn peak_bytes(&self) -> io::Result<Option<u64>> {
        self.peak.as_ref().map(read_number).transpose()
    }

    /// Whether [`Cgroup::interval_peak_bytes`] gives figures (Linux ≥ 6.12).
    pub fn has_interval_peak(&self) -> bool {
        self.interval.is_some()
    }

    /// The highest the tree reached since the previous call (since creation
    /// for the first), or `None` where the kernel cannot reset the mark.
    ///
    /// Linux ≥ 6.12 keeps a mark per open file of `memory.peak` once it has
    /// been written to, and a write resets it to the usage now. One file
    /// only: a reset also lowers the mark every other written-to file sees
    /// (the kernel keeps one "since the last reset" watermark per cgroup), so
    /// alternating two files would lose spikes. A spike that rises and falls
    /// in the few microseconds between the read and the reset is missed here,
    /// never in [`Cgroup::peak_bytes`].
    pub fn interval_peak_bytes(&mut self) -> io::Result<Option<u64>> {
        let Some(file) = &self.interval else {
            return Ok(None);
        };
        let bytes = read_number(file)?;
        reset(file)?;
        Ok(Some(bytes))
    }

    /// `oom_kill` of `memory.events`: processes of the tree that the kernel's
    /// OOM killer killed.
    pub fn oom_kills(&self) -> io::Result<u64> {
        let text = read_small(&self.memory_events)?;
        parse_oom_kills(&text).ok_or_else(|| malformed("memory.events"))
    }

    /// Whether processes are left in the tree (`populated` of
    /// `cgroup.events`).
    pub fn is_populated(&self) -> io::Result<bool> {
        let text = read_small(&self.events)?;
        parse_populated(&text).ok_or_else(|| malformed("cgroup.events"))
    }

    /// Once the tree is empty, or as far as it is: undoes what memsample
    /// made and changed (see `made.rs`); says what is kept and what could
    /// not be undone. Called again, it removes what was kept if the tree
    /// has ended by then.
    pub fn remove(&mut self) -> Left {
        match &mut self.made {
            Some(made) => made.undo(),
            None => made::remove_opened(&self.path),
        }
    }
}

fn open_at(dir: &File, path: &Path, name: &str, flags: OFlags) -> Result<File, CgroupError> {
    rustix::fs::openat(dir, name, flags | OFlags::CLOEXEC, Mode::empty())
        .map(File::from)
        .map_err(|errno| failed(format!("cannot open {}", path.join(name).display()))(errno.into()))
}

/// Resets the mark of this open file (Linux ≥ 6.12). The kernel's first
/// version of the interface took only the word `reset`, so that is written.
fn reset(file: &File) -> io::Result<()> {
    file.write_at(b"reset", 0).and_then(|written| {
        if written == 5 {
            Ok(())
        } else {
            Err(io::ErrorKind::WriteZero.into())
        }
    })
}

/// One `pread` at offset 0: kernfs regenerates the text at each read from
/// the start.
fn read_small(file: &File) -> io::Result<String> {
    let mut buffer = [0u8; 512];
    let length = file.read_at(&mut buffer, 0)?;
    Ok(String::from_utf8_lossy(&buffer[..length]).into_owned())
}

fn read_number(file: &File) -> io::Result<u64> {
    let mut buffer = [0u8; 32];
    let length = file.read_at(&mut buffer, 0)?;
    std::str::from_utf8(&buffer[..length])
        .ok()
        .and_then(parse_bytes)
        .ok_or_else(|| malformed("memory file"))
}

fn malformed(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("unexpected {name}"))
}

/// Whether the command gets a cgroup of its own (docs/cgroups.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum CgroupMode {
    /// a cgroup where cgroup v2 allows one, else sampled figures only (the start line says why)
    Auto,
    /// never a cgroup
    Off,
    /// a cgroup, or exit 125 before the command starts
    Require,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// `/proc/self/mountinfo` of a hybrid machine: memory on v1, cgroup2 at
    /// `unified` with no controllers.
    const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_CGROUP: &str = "\
9:name=systemd:/
4:memory:/process_api/50daf68f27611c830ed283c47ed73c5d
0::/
";
    /// A systemd machine on cgroup v2 alone.
    const UNIFIED_MOUNTINFO: &str = "\
22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
26 24 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";
    /// The files of a cgroup holding the fixture's 50 MiB, as Debian's 6.12
    /// cloud kernel wrote them (captured in the machines of `tests/vm/`).
    const MEMORY_EVENTS: &str = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n";
    const CGROUP_EVENTS: &str = "populated 1\nfrozen 0\n";
    const MEMORY_PEAK: &str = "52674560\n";
    const MEMORY_STAT_6_12: &str = "\
anon 52510720
file 0
kernel 163840
kernel_stack 0
pagetables 143360
sec_pagetables 0
percpu 0
sock 0
vmalloc 0
shmem 0
file_mapped 0
file_dirty 0
file_writeback 0
swapcached 0
anon_thp 52428800
file_thp 0
shmem_thp 0
inactive_anon 0
active_anon 52510720
inactive_file 0
active_file 0
unevictable 0
slab_reclaimable 0
slab_unreclaimable 5176
slab 5176
workingset_refault_anon 0
workingset_refault_file 0
workingset_activate_anon 0
workingset_activate_file 0
workingset_restore_anon 0
workingset_restore_file 0
workingset_nodereclaim 0
pgdemote_kswapd 0
pgdemote_direct 0
pgdemote_khugepaged 0
pgpromote_success 0
pgscan 0
pgsteal 0
pgscan_kswapd 0
pgscan_direct 0
pgscan_khugepaged 0
pgsteal_kswapd 0
pgsteal_direct 0
pgsteal_khugepaged 0
pgfault 65
pgmajfault 0
pgrefill 0
pgactivate 0
pgdeactivate 0
pglazyfree 0
pglazyfreed 0
swpin_zero 0
swpout_zero 0
thp_fault_alloc 25
thp_collapse_alloc 0
thp_swpout 0
thp_swpout_fallback 0
numa_pages_migrated 0
numa_pte_updates 0
numa_hint_faults 0
";
    /// The mount table those machines see.
    const VM_MOUNTINFO: &str = "\
1 1 0:2 / / rw - rootfs rootfs rw,size=358064k,nr_inodes=89516,inode64
24 1 0:22 / /proc rw,relatime - proc proc rw
25 1 0:6 / /dev rw,relatime - devtmpfs dev rw,size=358064k,nr_inodes=89516,mode=755,inode64
26 1 0:23 / /sys rw,relatime - sysfs sys rw
27 26 0:24 / /sys/fs/cgroup rw,relatime - cgroup2 none rw
";

    #[test]
    fn own_cgroup_is_the_v2_line() {
        assert_eq!(parse_own_cgroup(HYBRID_CGROUP), Some("/"));
        assert_eq!(
            parse_own_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n"),
            Some("/user.slice/user-1000.slice/session-2.scope")
        );
        assert_eq!(parse_own_cgroup("4:memory:/a\n1:cpu:/\n"), None);
    }

    #[test]
    fn cgroup2_mount_is_found_with_its_options() {
        let hybrid = parse_cgroup2_mount(HYBRID_MOUNTINFO, "/").expect("hybrid mount");
        assert_eq!(hybrid.point, PathBuf::from("/sys/fs/cgroup/unified"));
        assert_eq!(hybrid.root, "/");
        assert!(!hybrid.read_only);
        let unified = parse_cgroup2_mount(UNIFIED_MOUNTINFO, "/user.slice").expect("v2 mount");
        assert_eq!(unified.point, PathBuf::from("/sys/fs/cgroup"));
        let vm = parse_cgroup2_mount(VM_MOUNTINFO, "/").expect("vm mount");
        assert_eq!(vm.point, PathBuf::from("/sys/fs/cgroup"));
        assert!(!vm.read_only);
        let ro = "30 25 0:26 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw\n";
        assert!(parse_cgroup2_mount(ro, "/").expect("ro mount").read_only);
        let v1_only = "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        assert_eq!(parse_cgroup2_mount(v1_only, "/"), None);
    }

    #[test]
    fn a_bind_mounted_subtree_only_shows_what_is_under_it() {
        let text = "40 30 0:26 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let mount = parse_cgroup2_mount(text, "/docker/abc/app").expect("inside");
        assert_eq!(mount.root, "/docker/abc");
        assert!(parse_cgroup2_mount(text, "/docker/abcdef").is_none());
        assert!(parse_cgroup2_mount(text, "/other").is_none());
    }

    #[test]
    fn mount_points_are_unescaped() {
        assert_eq!(unescape("/mnt/a\\040b\\134c"), "/mnt/a b\\c");
        assert_eq!(unescape("/plain\\"), "/plain\\");
    }

    #[test]
    fn flat_keyed_files_parse() {
        assert_eq!(parse_oom_kills(MEMORY_EVENTS), Some(0));
        let killed = MEMORY_EVENTS.replace("oom_kill 0", "oom_kill 2");
        assert_eq!(parse_oom_kills(&killed), Some(2));
        assert_eq!(parse_oom_kills("low 0\n"), None);
        assert_eq!(parse_populated(CGROUP_EVENTS), Some(true));
        assert_eq!(parse_populated("populated 0\nfrozen 0\n"), Some(false));
        assert_eq!(parse_bytes(MEMORY_PEAK), Some(52_674_560));
        assert_eq!(parse_bytes("max\n"), None);
        let stat = parse_memory_stat(MEMORY_STAT_6_12);
        assert_eq!(
            stat,
            MemoryStat {
                anon: Some(52_510_720),
                file: Some(0),
                kernel: Some(163_840),
                shmem: Some(0),
            }
        );
        assert_eq!(parse_memory_stat("anon_thp 5\nfile 1\n").anon, None);
    }

    /// A fake cgroupfs: `/proc/self` and a hierarchy under a temp dir, with
    /// write permission given by the owner's write bit.
    struct Fake {
        dir: tempfile::TempDir,
    }

    impl Fake {
        fn new(own: &str, mount_options: &str) -> Fake {
            let dir = tempfile::tempdir().expect("temp dir");
            let proc_self = dir.path().join("proc");
            fs::create_dir(&proc_self).expect("proc");
            fs::write(proc_self.join("cgroup"), format!("0::{own}\n")).expect("cgroup");
            let point = dir.path().join("cg");
            let line = format!(
                "26 24 0:23 / {} {mount_options} shared:9 - cgroup2 cgroup2 rw\n",
                point.display()
            );
            fs::write(proc_self.join("mountinfo"), line).expect("mountinfo");
            Fake { dir }
        }

        fn host(&self) -> Host {
            Host {
                proc_self: self.dir.path().join("proc"),
                pid: PID,
                may_write: |path| {
                    let mode = fs::metadata(path)?.permissions().mode();
                    if mode & 0o200 != 0 {
                        Ok(())
                    } else {
                        Err(io::ErrorKind::PermissionDenied.into())
                    }
                },
            }
        }

        fn path(&self, cgroup: &str) -> PathBuf {
            self.dir
                .path()
                .join("cg")
                .join(cgroup.trim_start_matches('/'))
        }

        /// A cgroup with these controllers, of which `subtree` are given to
        /// children, and these processes; writable or not.
        fn cgroup(
            &self,
            name: &str,
            controllers: &str,
            subtree: &str,
            procs: &str,
            writable: bool,
        ) {
            let path = self.path(name);
            fs::create_dir_all(&path).expect("cgroup dir");
            fs::write(path.join("cgroup.controllers"), format!("{controllers}\n")).expect("c");
            fs::write(path.join("cgroup.subtree_control"), format!("{subtree}\n")).expect("s");
            fs::write(path.join("cgroup.procs"), procs).expect("procs");
            if !name.is_empty() {
                fs::write(path.join("cgroup.type"), "domain\n").expect("type");
            }
            let mode = if writable { 0o755 } else { 0o555 };
            for file in ["", "cgroup.subtree_control", "cgroup.procs"] {
                let target = path.join(file);
                let file_mode = if file.is_empty() { mode } else { mode & 0o644 };
                fs::set_permissions(&target, fs::Permissions::from_mode(file_mode)).expect("chmod");
            }
        }
    }

    #[test]
    fn hybrid_without_memory_on_v2_says_so() {
        let fake = Fake::new("/", "rw,relatime");
        fake.cgroup("", "cpuset cpu io pids", "", "1\n", true);
        assert_eq!(
            Placement::find_in(&fake.host()),
            Err(Unavailable::NoCgroupV2)
        );
        assert_eq!(
            Unavailable::NoCgroupV2.to_string(),
            "no cgroup v2 memory controller"
        );
    }

    #[test]
    fn no_cgroup2_mount_or_line_is_no_cgroup_v2() {
        let fake = Fake::new("/", "rw");
        fs::write(
            fake.dir.path().join("proc/mountinfo"),
            HYBRID_MOUNTINFO.lines().next().unwrap_or(""),
        )
        .expect("mountinfo");
        assert_eq!(
            Placement::find_in(&fake.host()),
            Err(Unavailable::NoCgroupV2)
        );
        fs::write(fake.dir.path().join("proc/cgroup"), "4:memory:/\n").expect("cgroup");
        assert_eq!(
            Placement::find_in(&fake.host()),
            Err(Unavailable::NoCgroupV2)
        );
    }

    /// memsample's pid in the fake `/proc/self`.
    const PID: u32 = 4242;

    #[test]
    fn root_in_the_root_cgroup_goes_right_under_it() {
        // The root may hold processes and give controllers at once.
        let fake = Fake::new("/", "rw");
        fake.cgroup("", "cpu io memory pids", "", "1\n42\n4242\n", true);
        let placement = Placement::find_in(&fake.host()).expect("placement");
        // Named as the mount point is, without a trailing slash.
        assert!(!placement.own.to_string_lossy().ends_with('/'));
        assert_eq!(
            placement,
            Placement {
                own: fake.path(""),
                layout: Layout::UnderRoot,
                enable_memory: true,
            }
        );
        fake.cgroup("", "cpu io memory pids", "cpu memory", "1\n", true);
        let placement = Placement::find_in(&fake.host()).expect("placement");
        assert!(!placement.enable_memory);
    }

    #[test]
    fn alone_in_a_writable_cgroup_it_makes_leaves_there() {
        let fake = Fake::new("/user.slice/user@1000.service/app.slice/run-r1.scope", "rw");
        fake.cgroup("", "cpu memory pids", "cpu memory pids", "1\n", false);
        fake.cgroup(
            "user.slice/user@1000.service/app.slice",
            "memory",
            "memory",
            "",
            true,
        );
        fake.cgroup(
            "user.slice/user@1000.service/app.slice/run-r1.scope",
            "memory pids",
            "",
            "4242\n",
            true,
        );
        let placement = Placement::find_in(&fake.host()).expect("placement");
        assert_eq!(
            placement,
            Placement {
                own: fake.path("user.slice/user@1000.service/app.slice/run-r1.scope"),
                layout: Layout::Leaves,
                enable_memory: true,
            }
        );
    }

    #[test]
    fn a_shared_cgroup_is_refused_and_the_way_out_is_said() {
        // A terminal's scope: the shell is there too. The slice above is
        // writable and has the memory controller: it is never used.
        let fake = Fake::new("/user.slice/user@1000.service/app.slice/term.scope", "rw");
        fake.cgroup("", "cpu memory pids", "cpu memory pids", "1\n", false);
        fake.cgroup(
            "user.slice/user@1000.service",
            "memory pids",
            "memory pids",
            "",
            true,
        );
        fake.cgroup(
            "user.slice/user@1000.service/app.slice",
            "memory",
            "memory",
            "",
            true,
        );
        fake.cgroup(
            "user.slice/user@1000.service/app.slice/term.scope",
            "memory",
            "",
            "77\n4242\n",
            true,
        );
        assert_eq!(Placement::find_in(&fake.host()), Err(Unavailable::Shared));
        assert_eq!(
            Unavailable::Shared.to_string(),
            "other processes share memsample's cgroup; for one of its own: \
             systemd-run --user --scope -p Delegate=yes memsample …"
        );
    }

    #[test]
    fn a_limited_service_is_never_left_for_the_slice_above() {
        // As root inside a service with `memory.max`: the slice beside it
        // and the root are writable, the service is shared.
        let fake = Fake::new("/system.slice/svc.service", "rw");
        fake.cgroup("", "cpu memory pids", "cpu memory pids", "1\n", true);
        fake.cgroup("system.slice", "cpu memory pids", "memory pids", "", true);
        fake.cgroup(
            "system.slice/svc.service",
            "memory pids",
            "",
            "300\n4242\n",
            true,
        );
        fs::write(
            fake.path("system.slice/svc.service/memory.max"),
            "67108864\n",
        )
        .expect("max");
        assert_eq!(Placement::find_in(&fake.host()), Err(Unavailable::Shared));
        // Alone there (memsample is the service's main process): inside it.
        fake.cgroup(
            "system.slice/svc.service",
            "memory pids",
            "",
            "4242\n",
            true,
        );
        let placement = Placement::find_in(&fake.host()).expect("placement");
        assert_eq!(placement.own, fake.path("system.slice/svc.service"));
        assert_eq!(placement.layout, Layout::Leaves);
    }

    #[test]
    fn without_the_memory_controller_in_its_cgroup_it_does_not_look_up() {
        let fake = Fake::new("/a/b", "rw");
        fake.cgroup("", "cpu memory pids", "memory", "1\n", true);
        fake.cgroup("a", "memory pids", "pids", "", true);
        fake.cgroup("a/b", "pids", "", "4242\n", true);
        assert_eq!(
            Placement::find_in(&fake.host()),
            Err(Unavailable::NoMemoryController)
        );
    }

    #[test]
    fn a_threaded_cgroup_is_refused() {
        let fake = Fake::new("/t", "rw");
        fake.cgroup("", "memory pids", "memory pids", "1\n", true);
        fake.cgroup("t", "memory pids", "", "4242\n", true);
        fs::write(fake.path("t").join("cgroup.type"), "threaded\n").expect("type");
        assert_eq!(Placement::find_in(&fake.host()), Err(Unavailable::Threaded));
    }

    #[test]
    fn without_write_access_the_file_is_named() {
        let fake = Fake::new("/user.slice/session-3.scope", "rw");
        fake.cgroup("", "cpu memory pids", "memory pids", "1\n", false);
        fake.cgroup("user.slice", "memory pids", "memory", "", true);
        fake.cgroup("user.slice/session-3.scope", "memory", "", "4242\n", false);
        let own = fake.path("user.slice/session-3.scope");
        assert_eq!(
            Placement::find_in(&fake.host()),
            Err(Unavailable::NoPermission {
                path: own.display().to_string()
            })
        );
        assert_eq!(
            Unavailable::NoPermission {
                path: "/sys/fs/cgroup".into()
            }
            .to_string(),
            "no permission to write /sys/fs/cgroup"
        );
    }

    #[test]
    fn every_file_it_writes_must_be_writable() {
        for file in ["cgroup.procs", "cgroup.subtree_control"] {
            let fake = Fake::new("/a", "rw");
            fake.cgroup("", "memory", "memory", "1\n", false);
            fake.cgroup("a", "memory", "", "4242\n", true);
            let path = fake.path("a").join(file);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).expect("chmod");
            assert_eq!(
                Placement::find_in(&fake.host()),
                Err(Unavailable::NoPermission {
                    path: path.display().to_string()
                }),
                "{file}"
            );
        }
        // As root at the root with memory already given to children, the
        // controls are not written.
        let fake = Fake::new("/", "rw");
        fake.cgroup("", "memory", "memory", "1\n", true);
        let control = fake.path("").join("cgroup.subtree_control");
        fs::set_permissions(&control, fs::Permissions::from_mode(0o444)).expect("chmod");
        assert!(Placement::find_in(&fake.host()).is_ok());
    }

    #[test]
    fn a_read_only_cgroupfs_says_so() {
        let fake = Fake::new("/", "ro,nosuid");
        fake.cgroup("", "memory", "memory", "1\n", true);
        assert_eq!(Placement::find_in(&fake.host()), Err(Unavailable::ReadOnly));
    }

    #[test]
    fn a_container_top_with_other_processes_is_shared() {
        // A container's cgroupfs: its top is not the root cgroup and holds
        // the container's processes.
        let fake = Fake::new("/", "rw");
        fake.cgroup("", "memory pids", "", "1\n9\n4242\n", true);
        fs::write(fake.path("").join("cgroup.type"), "domain\n").expect("type");
        assert_eq!(Placement::find_in(&fake.host()), Err(Unavailable::Shared));
        // memsample alone in it (the container's only process): leaves.
        fake.cgroup("", "memory pids", "", "4242\n", true);
        fs::write(fake.path("").join("cgroup.type"), "domain\n").expect("type");
        let placement = Placement::find_in(&fake.host()).expect("placement");
        assert_eq!(placement.layout, Layout::Leaves);
    }

    /// The files of a cgroup, as plain files: enough to check what is read
    /// from which (real cgroups are checked in the VMs, `tests/vm/`).
    fn fake_cgroup(populated: bool) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in [
            ("cgroup.procs", ""),
            (
                "cgroup.events",
                if populated {
                    CGROUP_EVENTS
                } else {
                    "populated 0\nfrozen 0\n"
                },
            ),
            ("memory.current", "1404928\n"),
            ("memory.peak", MEMORY_PEAK),
            (
                "memory.events",
                "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n",
            ),
        ] {
            fs::write(dir.path().join(name), text).expect("cgroup file");
        }
        dir
    }

    #[test]
    fn figures_are_read_from_the_kept_open_files() {
        let dir = fake_cgroup(true);
        let mut cgroup = Cgroup::open(dir.path().to_path_buf()).expect("open");
        // A plain file takes the reset write that a pre-6.12 kernel refuses.
        fs::write(dir.path().join("memory.peak"), MEMORY_PEAK).expect("rewrite");
        assert_eq!(cgroup.current_bytes().expect("current"), 1_404_928);
        assert_eq!(cgroup.peak_bytes().expect("peak"), Some(52_674_560));
        assert_eq!(cgroup.oom_kills().expect("events"), 1);
        assert!(cgroup.is_populated().expect("populated"));
        // Read again at offset 0, not where the last read stopped.
        fs::write(dir.path().join("memory.current"), "2048\n").expect("rewrite");
        assert_eq!(cgroup.current_bytes().expect("current"), 2048);
        assert_eq!(
            cgroup.remove(),
            Left {
                kept: Some(dir.path().to_path_buf()),
                errors: Vec::new(),
            }
        );
    }

    #[test]
    fn the_child_joins_with_one_write_of_0_before_exec() {
        let dir = fake_cgroup(false);
        let cgroup = Cgroup::open(dir.path().to_path_buf()).expect("open");
        let joiner = cgroup.joiner();
        let mut command = std::process::Command::new("true");
        // SAFETY: `Joiner::join` makes one write(2) and allocates nothing.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, move || joiner.join())
        };
        let status = command.status().expect("spawn true");
        assert!(status.success());
        let written = fs::read_to_string(dir.path().join("cgroup.procs")).expect("procs");
        assert_eq!(written, "0");
    }

    #[test]
    fn a_cgroup_whose_files_cannot_be_opened_is_not_left_behind() {
        let parent = tempfile::tempdir().expect("temp dir");
        let placement = Placement {
            own: parent.path().to_path_buf(),
            layout: Layout::UnderRoot,
            enable_memory: false,
        };
        let err = Cgroup::create(&placement, "memsample-1").expect_err("not a cgroupfs");
        assert!(
            err.to_string().starts_with("cannot open ")
                && err
                    .to_string()
                    .ends_with("memsample-1/cgroup.procs: No such file or directory"),
            "{err}"
        );
        assert!(!parent.path().join("memsample-1").exists());
    }

    #[test]
    fn an_unreadable_file_is_named() {
        let fake = Fake::new("/gone", "rw");
        fake.cgroup("", "memory", "memory", "1\n", true);
        match Placement::find_in(&fake.host()) {
            Err(Unavailable::Unreadable { path, .. }) => {
                assert!(path.ends_with("gone/cgroup.controllers"), "{path}")
            }
            other => panic!("expected unreadable, got {other:?}"),
        }
    }
}
