//! Reading the memory and CPU of the target and its descendants.
//!
//! A [`Probe`] returns one [`Sample`] per call: the processes it counts now,
//! each with its own figures, and their sums. Two backends implement it:
//! [`procfs::ProcProbe`] reads `/proc` directly with kept-open files (the
//! default, and the only one that sees the kernel's high-water mark), and
//! [`sysinfo::SysinfoProbe`] goes through the portable `sysinfo` crate.
//! `tree` finds the target's new descendants cheaply, for the `/proc` probe.

pub mod procfs;
pub mod sysinfo;
mod tree;

/// How processes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Backend {
    /// `/proc` directly, with kept-open files (Linux; the fast one)
    Proc,
    /// the `sysinfo` crate (portable; slower, no kernel high-water mark)
    Sysinfo,
}

/// What a probe looks at.
#[derive(Debug, Clone, Copy)]
pub struct ProbeConfig {
    /// The main process: the spawned command or the attached pid.
    pub pid: u32,
    /// Count descendants too (sticky: once a descendant, counted until it exits).
    pub children: bool,
    /// Read each process's own kernel high-water mark (for per-process rows).
    /// The main process's is always read.
    pub every_hwm: bool,
    /// Read `pss_bytes` and `uss_bytes` from `smaps_rollup` (costly: it
    /// walks page tables).
    pub pss: bool,
    /// Read the split of RSS and the thread count from `status` every
    /// sample (docs/format.md, "What memory is it"): one more read per process.
    pub breakdown: bool,
    /// In spawn mode memsample is a child subreaper: a process re-parented to
    /// it is an orphaned descendant and belongs to the tree.
    pub adopted_parent: Option<u32>,
    /// The main process was just started by memsample: it has no
    /// descendants older than itself, so no full scan of `/proc` is needed.
    pub just_started: bool,
}

impl ProbeConfig {
    /// `pid` and its descendants with the default columns, as
    /// `memsample --pid PID` reads them; the fields say what else to read.
    pub fn of(pid: u32) -> ProbeConfig {
        ProbeConfig {
            pid,
            children: true,
            every_hwm: false,
            pss: false,
            breakdown: false,
            adopted_parent: None,
            just_started: false,
        }
    }
}

/// One process as seen at one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessSample {
    pub pid: u32,
    pub ppid: u32,
    /// The executable name (the kernel's `comm`, at most 15 bytes).
    pub command: String,
    pub rss_bytes: u64,
    pub vsz_bytes: u64,
    /// CPU time since the previous sample, in % of one core.
    pub cpu_percent: f64,
    /// The process's own high-water mark (VmHWM), when it was read.
    pub hwm_bytes: Option<u64>,
    /// Proportional set size, with `--pss`; `None` when it could not be read.
    pub pss_bytes: Option<u64>,
    /// Unique set size (private clean + private dirty), read with PSS.
    pub uss_bytes: Option<u64>,
    /// What the RSS is made of, with `--breakdown`.
    pub breakdown: Option<Breakdown>,
}

/// What one process's memory is (`--breakdown`), from one read of
/// `/proc/PID/status`: `anon_bytes + file_bytes + shmem_bytes` is the RSS of
/// that same read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Breakdown {
    /// `RssAnon`: heap, stacks, private anonymous mappings.
    pub anon_bytes: u64,
    /// `RssFile`: mapped files (program, libraries, mmap'd data).
    pub file_bytes: u64,
    /// `RssShmem`: shared anonymous memory, System V and POSIX shared memory, tmpfs.
    pub shmem_bytes: u64,
    /// `VmSwap`: pushed out to swap, so not in RSS.
    pub swap_bytes: u64,
    /// `Threads`.
    pub threads: u64,
}

impl Breakdown {
    /// The resident part: anon + file + shmem.
    pub(crate) fn rss_bytes(&self) -> u64 {
        self.anon_bytes + self.file_bytes + self.shmem_bytes
    }

    /// Both, added (the figures of a tree).
    pub(crate) fn plus(self, other: Breakdown) -> Breakdown {
        Breakdown {
            anon_bytes: self.anon_bytes.saturating_add(other.anon_bytes),
            file_bytes: self.file_bytes.saturating_add(other.file_bytes),
            shmem_bytes: self.shmem_bytes.saturating_add(other.shmem_bytes),
            swap_bytes: self.swap_bytes.saturating_add(other.swap_bytes),
            threads: self.threads.saturating_add(other.threads),
        }
    }
}

/// Everything one call of [`Probe::sample`] saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// The processes counted, main process first, then by pid.
    pub processes: Vec<ProcessSample>,
    /// The main process's high-water mark (VmHWM), when the backend can read it.
    pub main_hwm_bytes: Option<u64>,
}

impl Sample {
    pub(crate) fn procs(&self) -> usize {
        self.processes.len()
    }

    pub(crate) fn rss_bytes(&self) -> u64 {
        self.processes.iter().map(|p| p.rss_bytes).sum()
    }

    pub(crate) fn vsz_bytes(&self) -> u64 {
        self.processes.iter().map(|p| p.vsz_bytes).sum()
    }

    pub(crate) fn cpu_percent(&self) -> f64 {
        // A fold from +0.0: an empty float sum is -0.0, written "-0.0".
        self.processes
            .iter()
            .fold(0.0, |total, p| total + p.cpu_percent)
    }

    /// The sum of PSS, or `None` when any counted process's PSS is unknown
    /// (a partial sum would understate it without saying so).
    pub fn pss_bytes(&self) -> Option<u64> {
        self.processes.iter().map(|p| p.pss_bytes).sum()
    }

    /// The sum of USS, `None` as for PSS.
    pub fn uss_bytes(&self) -> Option<u64> {
        self.processes.iter().map(|p| p.uss_bytes).sum()
    }

    /// The sum of the parts, `None` when any counted process's are unknown.
    pub fn breakdown(&self) -> Option<Breakdown> {
        self.processes
            .iter()
            .try_fold(Breakdown::default(), |sum, p| Some(sum.plus(p.breakdown?)))
    }

    /// Whether the main process is among the counted ones.
    pub(crate) fn has_pid(&self, pid: u32) -> bool {
        self.processes.iter().any(|p| p.pid == pid)
    }
}

/// CPU use between two samples, in % of one core: the CPU time used since
/// the previous sample over the wall time since then. The first sample has no
/// previous one to measure from (`wall_seconds` is `None`): 0.
pub(crate) fn cpu_percent(cpu_seconds_used: f64, wall_seconds: Option<f64>) -> f64 {
    match wall_seconds {
        Some(wall) if wall > 0.0 => cpu_seconds_used.max(0.0) / wall * 100.0,
        _ => 0.0,
    }
}

/// The warning for processes whose PSS cannot be read.
pub(crate) fn pss_warning(which: &str) -> String {
    format!("warning: cannot read the PSS of {which}: its pss_bytes are empty")
}

/// A way of reading processes. `sample` never fails: a process that cannot be
/// read (gone, a zombie, no permission) is simply not in the sample.
pub trait Probe: Send {
    fn sample(&mut self) -> Sample;

    /// Warnings queued since the last call, each a whole line (`warning:
    /// ...`) said once: drained by the recording, which prints them.
    fn take_warnings(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// `--reset-peaks`: resets the kernel's high-water mark (VmHWM) of
    /// every process the probe counts, so that the next readings start
    /// from each one's RSS now (docs/phases.md). A process that is gone is
    /// skipped; the count is of those memsample may not write to (another
    /// user's). The backends that read no high-water mark do nothing.
    fn reset_peaks(&mut self) -> ResetPeaks {
        ResetPeaks::default()
    }

    /// Whether it reads processes at all: not `--no-procs`, whose rows
    /// carry an attached cgroup's figures alone.
    fn reads_processes(&self) -> bool {
        true
    }

    /// The main process's start time (clock ticks since boot) as the probe
    /// found it at attach, when the backend knows it: with the pid, the
    /// process's identity.
    fn main_start_time(&self) -> Option<u64> {
        None
    }
}

/// What one [`Probe::reset_peaks`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResetPeaks {
    /// Processes whose high-water mark was reset.
    pub reset: usize,
    /// Processes memsample may not reset (`EACCES`, `EPERM`): another
    /// user's, or one made undumpable.
    pub denied: usize,
}

/// Why a pid cannot be attached to.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AttachError {
    #[error("no process with pid {0}")]
    NoSuchProcess(u32),
    #[error("process {pid} ({command}) has already exited (it is a zombie)")]
    Zombie { pid: u32, command: String },
    #[error("process {pid} ({command}) is a kernel thread: it has no memory of its own to sample")]
    KernelThread { pid: u32, command: String },
    #[error("{tid} is a thread of process {pid} ({command}); attach to --pid {pid}")]
    Thread { tid: u32, pid: u32, command: String },
    #[error("process {pid} exited while memsample attached to it")]
    Replaced { pid: u32 },
    #[error("cannot read process {pid}: {reason}")]
    Unreadable { pid: u32, reason: String },
}
