//! The `/proc` backend: the hot path of memsample.
//!
//! Written by hand rather than through a crate because the cost per sample is
//! the point: each counted process keeps `/proc/PID/stat` and
//! `/proc/PID/statm` open and re-reads them with one `pread` at offset 0 per
//! tick. `stat` (about 4 µs) gives state, parent, CPU time and page faults;
//! `statm` (about 1 µs) gives the sizes, exactly: the RSS in `stat` comes from
//! the kernel's per-CPU counters without summing them, and can be short by
//! hundreds of KiB, or read 0 for a process just started. The kernel's
//! high-water mark (VmHWM) is only in `/proc/PID/status`, which costs twice as
//! much, so it is read only when the process has taken a page fault since it
//! was last read: without a fault no page was mapped, so RSS cannot have risen
//! and the high-water mark cannot have moved. With `--breakdown`, `status` is
//! read every sample in place of `statm` (docs/format.md, "What memory is it"):
//! the split of RSS, the sizes and the high-water mark all come from that one
//! read, so the parts add up to the row's RSS exactly. A kept-open `/proc` file
//! fails with ESRCH once its process is gone, so a recycled pid is never read
//! by mistake.
//!
//! `parse` reads the texts; `files` keeps the files open within the limit
//! on open files; this module is the tracker: which processes are counted,
//! and one sample of them.

mod files;
mod parse;

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use super::{AttachError, Breakdown, Probe, ProbeConfig, ProcessSample, Sample, pss_warning};
use crate::probe::tree::{self, NewPids, PidWatch};

use self::files::{
    is_out_of_files, kept_limit, raise_open_file_limit, read_by_path, read_kept, read_new_stat,
    read_statm, read_status_hwm,
};
use self::parse::{Stat, parse_number_line, parse_rollup, parse_status};
pub(crate) use self::parse::{parse_kb_line, parse_stat};

mod members;

pub(crate) use members::MemberList;

/// The process whose thread `tid` is, with its name, when `tid` is a thread
/// id rather than a process id: `/proc/TID` exists for every thread (hidden
/// from listings only), so a thread id given as `--pid` would otherwise be
/// sampled as if it were its process, and the recording would end with the
/// thread. Read once, at attach.
pub(crate) fn thread_owner(tid: u32) -> Option<(u32, String)> {
    let status = std::fs::read(format!("/proc/{tid}/status")).ok()?;
    let tgid = parse_number_line(&status, b"\nTgid:")?;
    if tgid == u64::from(tid) {
        return None;
    }
    let tgid = u32::try_from(tgid).ok()?;
    let name = std::fs::read_to_string(format!("/proc/{tgid}/comm"))
        .map(|name| name.trim_end().to_string())
        .unwrap_or_else(|_| "?".into());
    Some((tgid, name))
}

/// The start time of whatever process has `pid` now, read afresh.
pub(crate) fn start_time_of(pid: u32) -> Option<u64> {
    let text = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text).map(|stat| stat.start_time)
}

/// Checks that `/proc` shows memsample's own pid namespace. A `/proc` mounted
/// for another one (`unshare --pid --fork` without `--mount-proc`) numbers
/// processes differently: the command's pid there is some other process,
/// which memsample would sample instead. `/proc/self` names the reader as
/// that `/proc` numbers it; it must be memsample's own pid. A `/proc` that
/// cannot say (not mounted) is left to the probe to report.
pub(crate) fn check_pid_namespace() -> Result<(), String> {
    let own = std::process::id();
    let Ok(link) = std::fs::read_link("/proc/self") else {
        return Ok(());
    };
    match link.to_str().and_then(|text| text.parse::<u32>().ok()) {
        Some(seen) if seen == own => Ok(()),
        seen => Err(format!(
            "/proc is not this process's pid namespace (/proc/self is {}, memsample is pid {own}): \
             it would sample other processes (mount a new /proc, e.g. unshare --mount-proc)",
            seen.map_or_else(|| link.display().to_string(), |pid| format!("pid {pid}"))
        )),
    }
}

/// A counted process and its kept-open files.
struct Tracked {
    pid: u32,
    ppid: u32,
    /// With the pid, the process's identity.
    start_time: u64,
    /// Kept open, or `None` when memsample is short of open files: then each
    /// file is opened, read and closed every time, and the start time read
    /// tells the process from a later one with the same pid.
    stat: Option<File>,
    /// Opened on first use, like `status` (kept open only with `stat`).
    statm: Option<File>,
    status: Option<File>,
    command: String,
    /// CPU ticks at the previous sample.
    cpu_ticks: u64,
    /// Page faults when the high-water mark was last read (`None`: never read).
    faults_at_hwm: Option<u64>,
    hwm_bytes: u64,
    pss_warned: bool,
}

enum ReadOutcome {
    Alive(ProcessSample),
    /// Exited (or a zombie, which is an exited process too).
    Gone,
    /// Alive, but with no program to measure right now: half-way through an
    /// `exec`, or exiting with its memory already released. Not in this
    /// sample; looked at again next time.
    NoProgram,
}

/// Why a member is not in this sample: [`ReadOutcome`] without a sample
/// (small, for the `Err` side of the reading steps).
#[derive(Debug, Clone, Copy)]
enum Skip {
    Gone,
    NoProgram,
}

impl From<Skip> for ReadOutcome {
    fn from(skip: Skip) -> ReadOutcome {
        match skip {
            Skip::Gone => ReadOutcome::Gone,
            Skip::NoProgram => ReadOutcome::NoProgram,
        }
    }
}

/// The `/proc` backend of [`Probe`].
pub struct ProcProbe {
    config: ProbeConfig,
    page_size: u64,
    ticks_per_second: f64,
    /// The main process first, then descendants in the order they were found.
    members: Vec<Tracked>,
    /// The start time of each member, by pid. A member that exited stays
    /// here until its next read fails, so its pid may meanwhile name another
    /// process: membership is by pid and start time.
    member_pids: HashMap<u32, u64>,
    /// How many members may keep their files open, and how many do: the
    /// rest is read by opening and closing (see [`FILES_SPARED`]).
    kept_limit: usize,
    kept: usize,
    /// "Out of open files" was said once.
    files_warned: bool,
    /// A member could not be read for want of files in this sample.
    files_warned_pending: bool,
    watch: Option<PidWatch>,
    /// Ids that could not be opened at the previous look: a pid is handed out
    /// a moment before its process appears in `/proc`, so it gets a second look.
    retry: Vec<u32>,
    previous_sample: Option<Instant>,
    /// Warnings for the recording to print (see [`Probe::take_warnings`]).
    warnings: Vec<String>,
    buf: Box<[u8; 4096]>,
    /// Where the members come from when they are not a tree (an attached
    /// cgroup's processes): read again at each sample.
    list: Option<MemberList>,
}

impl ProcProbe {
    /// Opens the main process. Fails when it cannot be sampled: missing, a
    /// zombie, a kernel thread, or not readable.
    pub fn new(config: ProbeConfig) -> Result<ProcProbe, AttachError> {
        let pid = config.pid;
        let mut buf = Box::new([0u8; 4096]);
        let main = open_main(&config, &mut buf[..])?;
        let start_time = main.start_time;
        let mut probe = ProcProbe {
            config,
            page_size: rustix::param::page_size() as u64,
            ticks_per_second: rustix::param::clock_ticks_per_second() as f64,
            members: Vec::new(),
            member_pids: HashMap::from([(pid, start_time)]),
            kept_limit: kept_limit(
                raise_open_file_limit(),
                config.every_hwm && !config.breakdown,
            ),
            kept: 1,
            files_warned: false,
            files_warned_pending: false,
            watch: None,
            retry: Vec::new(),
            previous_sample: None,
            warnings: Vec::new(),
            buf,
            list: None,
        };
        probe.members.push(main);
        if config.children && config.just_started {
            probe.watch = PidWatch::open_after(pid).ok();
        } else if config.children {
            // Open the watch before the scan: what is created during the scan
            // then shows up in the first range instead of being missed.
            probe.watch = PidWatch::open().ok();
            probe.rescan();
        }
        Ok(probe)
    }

    /// Whether `ppid`, the parent of a process started at `child_start`, is
    /// in the tree. A member counts only while it is alive (its kept-open
    /// `stat` still reads, or its pid still has its start time) and if it
    /// started no later than the child: otherwise the pid now names another
    /// process, whose children are strangers.
    fn is_parent_in_tree(&self, ppid: u32, child_start: u64) -> bool {
        if self.config.adopted_parent == Some(ppid) {
            return true;
        }
        let Some(&start) = self.member_pids.get(&ppid) else {
            return false;
        };
        if start > child_start {
            return false;
        }
        let Some(parent) = self
            .members
            .iter()
            .find(|m| m.pid == ppid && m.start_time == start)
        else {
            return false;
        };
        match &parent.stat {
            Some(stat) => stat.read_at(&mut [0u8; 64], 0).is_ok(),
            None => start_time_of(ppid) == Some(start),
        }
    }

    fn is_member(&self, pid: u32, start_time: u64) -> bool {
        self.member_pids.get(&pid) == Some(&start_time)
    }

    /// Looks at the ids handed out since the previous tick.
    fn discover(&mut self) {
        let Some(watch) = self.watch.as_mut() else {
            return;
        };
        match watch.poll() {
            NewPids::Nothing if self.retry.is_empty() => {}
            NewPids::Nothing => {
                let retry = std::mem::take(&mut self.retry);
                for pid in retry {
                    self.consider(pid, false);
                }
            }
            NewPids::Range(range) => {
                let retry = std::mem::take(&mut self.retry);
                for pid in retry {
                    self.consider(pid, false);
                }
                for pid in range.iter() {
                    self.consider(pid, true);
                }
            }
            NewPids::Rescan => {
                self.retry.clear();
                self.rescan();
            }
        }
    }

    /// Opens one new id and adds it when its parent is in the tree.
    fn consider(&mut self, pid: u32, may_retry: bool) {
        let keep = self.kept < self.kept_limit;
        let (stat, len) = match read_new_stat(pid, keep, &mut self.buf[..]) {
            Ok(read) => read,
            Err(err) if is_out_of_files(&err) => {
                // Not even one more file: this one gets another look later.
                self.warn_out_of_files();
                self.retry.push(pid);
                return;
            }
            Err(_) => {
                if may_retry {
                    self.retry.push(pid);
                }
                return;
            }
        };
        let Some(parsed) = parse_stat(&self.buf[..len]) else {
            return;
        };
        let (mut ppid, start_time) = (parsed.ppid, parsed.start_time);
        let (is_thread, is_gone) = (parsed.is_thread(), parsed.is_gone());
        let command = String::from_utf8_lossy(parsed.command).into_owned();
        if is_thread || self.is_member(pid, start_time) {
            return;
        }
        if !self.is_parent_in_tree(ppid, start_time) {
            match self.new_parent(pid, ppid, start_time, stat.as_ref()) {
                Some(adopter) => ppid = adopter,
                None => return,
            }
        }
        if is_gone {
            // An adopted orphan that exited is reaped by the waiter thread.
            return;
        }
        // A pid that named an exited member now names this process.
        self.member_pids.insert(pid, start_time);
        self.kept += usize::from(stat.is_some());
        self.members.push(Tracked {
            pid,
            ppid,
            start_time,
            stat,
            statm: None,
            status: None,
            command,
            // Born since the previous sample: all of its CPU time is new.
            cpu_ticks: 0,
            faults_at_hwm: None,
            hwm_bytes: 0,
            pss_warned: false,
        });
    }

    /// A member that was the parent when the child's `stat` was read may
    /// have exited since: the child has been re-parented by then (before its
    /// old parent could be reaped), to a member or to memsample. Reads the
    /// child's parent again, and returns it if it is in the tree.
    fn new_parent(&mut self, pid: u32, ppid: u32, start: u64, stat: Option<&File>) -> Option<u32> {
        if !self.member_pids.contains_key(&ppid) {
            return None;
        }
        let buf = &mut self.buf[..];
        let len = match stat {
            Some(file) => file.read_at(buf, 0),
            None => read_by_path(pid, "stat", buf),
        }
        .ok()?;
        let now = parse_stat(&buf[..len])
            .filter(|now| now.start_time == start)?
            .ppid;
        (now != ppid && self.is_parent_in_tree(now, start)).then_some(now)
    }

    fn warn_out_of_files(&mut self) {
        if !self.files_warned {
            self.files_warned = true;
            self.warnings.push(
                "warning: out of open files: some processes of the tree may not be counted (raise the limit: ulimit -n)"
                    .into(),
            );
        }
    }

    /// A full scan of `/proc`: at start, and when too many ids were handed
    /// out to look at one by one.
    fn rescan(&mut self) {
        let Ok(pids) = tree::list_pids() else {
            return;
        };
        // (pid, ppid, start time) of every process not yet counted; a child
        // may be listed before its parent, so repeat until nothing more joins.
        let mut others: Vec<(u32, u32, u64)> = Vec::new();
        for pid in pids {
            let text = match std::fs::read(format!("/proc/{pid}/stat")) {
                Ok(text) => text,
                Err(err) => {
                    if is_out_of_files(&err) {
                        self.warn_out_of_files();
                    }
                    continue;
                }
            };
            if let Some(parsed) = parse_stat(&text) {
                if self.is_member(pid, parsed.start_time) {
                    continue;
                }
                if !parsed.is_gone() {
                    others.push((pid, parsed.ppid, parsed.start_time));
                }
            }
        }
        loop {
            let before = self.members.len();
            let mut index = 0;
            while index < others.len() {
                let (pid, ppid, start_time) = others[index];
                if self.is_parent_in_tree(ppid, start_time) {
                    others.swap_remove(index);
                    self.consider(pid, false);
                } else {
                    index += 1;
                }
            }
            if self.members.len() == before {
                break;
            }
        }
    }

    fn read_member(&mut self, index: usize, seconds: Option<f64>) -> ReadOutcome {
        let want_hwm = (index == 0 && self.has_main()) || self.config.every_hwm;
        let config = self.config;
        let page_size = self.page_size;
        let ticks_per_second = self.ticks_per_second;
        let buf = &mut self.buf[..];
        let member = &mut self.members[index];
        let (faults, cpu_ticks) =
            match read_member_stat(member, buf, &mut self.files_warned_pending) {
                Ok(figures) => figures,
                Err(skip) => return skip.into(),
            };
        let sizes = if config.breakdown {
            read_status_sizes(member, faults, buf)
        } else {
            read_statm_sizes(member, faults, want_hwm, page_size, buf)
        };
        let sizes = match sizes {
            Ok(sizes) => sizes,
            Err(skip) => return skip.into(),
        };

        let cpu_percent = super::cpu_percent(
            cpu_ticks.saturating_sub(member.cpu_ticks) as f64 / ticks_per_second,
            seconds,
        );
        member.cpu_ticks = cpu_ticks;
        let hwm_bytes = want_hwm.then(|| member.hwm_bytes.max(sizes.rss_bytes));

        let (pss_bytes, uss_bytes) = if config.pss {
            match read_pss(member.pid, buf) {
                Ok((pss, uss)) => (Some(pss), Some(uss)),
                Err(PssError::Denied) => {
                    if !member.pss_warned {
                        member.pss_warned = true;
                        self.warnings.push(pss_warning(&format!(
                            "process {} ({})",
                            member.pid, member.command
                        )));
                    }
                    (None, None)
                }
                // It exited between the two reads.
                Err(PssError::Gone) => return ReadOutcome::NoProgram,
            }
        } else {
            (None, None)
        };

        ReadOutcome::Alive(ProcessSample {
            pid: member.pid,
            ppid: member.ppid,
            command: member.command.clone(),
            rss_bytes: sizes.rss_bytes,
            vsz_bytes: sizes.vsz_bytes,
            cpu_percent,
            hwm_bytes,
            pss_bytes,
            uss_bytes,
            breakdown: sizes.breakdown,
        })
    }
}

/// A member's sizes at one sample.
struct Sizes {
    rss_bytes: u64,
    vsz_bytes: u64,
    breakdown: Option<Breakdown>,
}

/// The default path: sizes from `statm`; `status` only for the high-water
/// mark, and only when the process took a page fault since it was last read.
fn read_statm_sizes(
    member: &mut Tracked,
    faults: u64,
    want_hwm: bool,
    page_size: u64,
    buf: &mut [u8],
) -> Result<Sizes, Skip> {
    let keep = member.stat.is_some();
    let Some((size_pages, resident_pages)) = read_statm(&mut member.statm, member.pid, keep, buf)
    else {
        return Err(Skip::Gone);
    };
    if size_pages == 0 {
        // Its memory was released between the two reads: exiting.
        return Err(Skip::NoProgram);
    }
    if want_hwm
        && member.faults_at_hwm != Some(faults)
        && let Some(hwm) = read_status_hwm(&mut member.status, member.pid, keep, buf)
    {
        member.hwm_bytes = hwm;
        member.faults_at_hwm = Some(faults);
    }
    Ok(Sizes {
        rss_bytes: resident_pages * page_size,
        vsz_bytes: size_pages * page_size,
        breakdown: None,
    })
}

/// `--breakdown`: every size from one read of `status` (no `statm`), so that
/// the row's RSS is exactly anon + file + shmem of that read; the
/// high-water mark comes with it.
fn read_status_sizes(member: &mut Tracked, faults: u64, buf: &mut [u8]) -> Result<Sizes, Skip> {
    let keep = member.stat.is_some();
    let len = read_kept(&mut member.status, member.pid, "status", keep, buf).ok_or(Skip::Gone)?;
    let status = parse_status(&buf[..len]);
    // Without memory lines (or with no address space) it is exiting.
    let (Some(breakdown), Some(vsz_bytes)) = (status.breakdown(), status.vm_size) else {
        return Err(Skip::NoProgram);
    };
    if vsz_bytes == 0 {
        return Err(Skip::NoProgram);
    }
    if let Some(hwm) = status.vm_hwm {
        member.hwm_bytes = hwm;
        member.faults_at_hwm = Some(faults);
    }
    Ok(Sizes {
        rss_bytes: breakdown.rss_bytes(),
        vsz_bytes,
        breakdown: Some(breakdown),
    })
}

/// Opens the main process and checks that it can be sampled: it exists, is
/// no zombie, no kernel thread and no thread of another process.
fn open_main(config: &ProbeConfig, buf: &mut [u8]) -> Result<Tracked, AttachError> {
    let pid = config.pid;
    let stat = File::open(format!("/proc/{pid}/stat")).map_err(|err| match err.kind() {
        io::ErrorKind::NotFound => AttachError::NoSuchProcess(pid),
        _ => AttachError::Unreadable {
            pid,
            reason: err.to_string(),
        },
    })?;
    let len = stat
        .read_at(buf, 0)
        .map_err(|_| AttachError::NoSuchProcess(pid))?;
    let parsed = parse_stat(&buf[..len]).ok_or_else(|| AttachError::Unreadable {
        pid,
        reason: "unexpected /proc/PID/stat".into(),
    })?;
    let mut command = String::from_utf8_lossy(parsed.command).into_owned();
    if parsed.is_gone() {
        return Err(AttachError::Zombie { pid, command });
    }
    if parsed.is_kernel_thread() {
        return Err(AttachError::KernelThread { pid, command });
    }
    if !config.just_started
        && let Some((owner, name)) = thread_owner(pid)
    {
        return Err(AttachError::Thread {
            tid: pid,
            pid: owner,
            command: name,
        });
    }
    let start_time = parsed.start_time;
    let mut cpu_ticks = parsed.cpu_ticks;
    let mut ppid = parsed.ppid;
    let has_program = parsed.has_program();
    if config.just_started && !has_program {
        // `spawn` returns once the kernel has switched the child to its
        // new, still empty, address space; the program is loaded a moment
        // later. The start row should show the program, not the gap.
        if let Some(loaded) = wait_for_program(&stat, buf) {
            command = String::from_utf8_lossy(loaded.command).into_owned();
            cpu_ticks = loaded.cpu_ticks;
            ppid = loaded.ppid;
        }
    }
    Ok(Tracked {
        pid,
        ppid,
        start_time,
        stat: Some(stat),
        statm: None,
        status: None,
        command,
        cpu_ticks,
        faults_at_hwm: None,
        hwm_bytes: 0,
        pss_warned: false,
    })
}

/// Reads a member's `stat`: its page faults and CPU ticks, or why it is not
/// in this sample. Notes the command (after an `exec`) and the parent.
fn read_member_stat(
    member: &mut Tracked,
    buf: &mut [u8],
    out_of_files: &mut bool,
) -> Result<(u64, u64), Skip> {
    let len = match &member.stat {
        Some(file) => file.read_at(buf, 0),
        None => read_by_path(member.pid, "stat", buf),
    };
    let len = match len {
        Ok(len) => len,
        Err(err) if is_out_of_files(&err) => {
            *out_of_files = true;
            return Err(Skip::NoProgram);
        }
        Err(_) => return Err(Skip::Gone),
    };
    let Some(stat) = parse_stat(&buf[..len]) else {
        return Err(Skip::Gone);
    };
    // Read by path, the pid may name a later process by now.
    if stat.is_gone() || stat.start_time != member.start_time {
        return Err(Skip::Gone);
    }
    if !stat.has_program() {
        return Err(Skip::NoProgram);
    }
    if stat.command != member.command.as_bytes() {
        // It exec'd since it was found.
        member.command = String::from_utf8_lossy(stat.command).into_owned();
    }
    member.ppid = stat.ppid;
    Ok((stat.faults, stat.cpu_ticks))
}

/// How long a just-started command may take to load its program before the
/// start sample is taken anyway.
const EXEC_GRACE: Duration = Duration::from_millis(100);

/// Polls `stat` until a program is loaded (or the process is gone, or
/// [`EXEC_GRACE`] has passed): an `exec` takes well under a millisecond, and
/// the kernel offers no event for its end, so this is a short, bounded poll.
fn wait_for_program<'a>(stat: &File, buf: &'a mut [u8]) -> Option<Stat<'a>> {
    let deadline = Instant::now() + EXEC_GRACE;
    let mut loaded = false;
    let mut len = 0;
    while Instant::now() < deadline {
        len = stat.read_at(buf, 0).ok()?;
        let parsed = parse_stat(&buf[..len])?;
        if parsed.is_gone() {
            return None;
        }
        if parsed.has_program() {
            loaded = true;
            break;
        }
        std::thread::sleep(Duration::from_micros(50));
    }
    if loaded {
        parse_stat(&buf[..len])
    } else {
        None
    }
}

/// Why PSS is missing.
enum PssError {
    /// Not ours to inspect (another user's process): worth a warning.
    Denied,
    /// The process or its memory went away between two reads: not worth one.
    Gone,
}

/// Pss and USS from `smaps_rollup`. Opened anew each time: the file holds
/// on to the address space it was opened against, which an `exec` replaces.
fn read_pss(pid: u32, buf: &mut [u8]) -> Result<(u64, u64), PssError> {
    let denied_or_gone = |err: io::Error| match err.kind() {
        io::ErrorKind::PermissionDenied => PssError::Denied,
        _ => PssError::Gone,
    };
    let file = File::open(format!("/proc/{pid}/smaps_rollup")).map_err(denied_or_gone)?;
    let len = file.read_at(buf, 0).map_err(denied_or_gone)?;
    // An address space already released reads as empty.
    parse_rollup(&buf[..len]).ok_or(PssError::Gone)
}

impl Probe for ProcProbe {
    fn sample(&mut self) -> Sample {
        let now = Instant::now();
        let seconds = self
            .previous_sample
            .map(|previous| now.duration_since(previous).as_secs_f64());
        if self.list.is_some() {
            self.sync_members();
        } else if self.config.children {
            self.discover();
        }
        let mut processes = Vec::with_capacity(self.members.len());
        let mut index = 0;
        while index < self.members.len() {
            match self.read_member(index, seconds) {
                ReadOutcome::Alive(process) => {
                    processes.push(process);
                    index += 1;
                }
                ReadOutcome::Gone | ReadOutcome::NoProgram if index == 0 && self.has_main() => {
                    // The main process stays first in the list even once it
                    // is gone, so that index 0 always means "main".
                    index += 1;
                }
                ReadOutcome::NoProgram => index += 1,
                ReadOutcome::Gone => {
                    let gone = self.members.remove(index);
                    if self.is_member(gone.pid, gone.start_time) {
                        self.member_pids.remove(&gone.pid);
                    }
                    self.kept -= usize::from(gone.stat.is_some());
                }
            }
        }
        if std::mem::take(&mut self.files_warned_pending) {
            self.warn_out_of_files();
        }
        self.previous_sample = Some(now);
        let main_hwm_bytes = processes
            .first()
            .filter(|p| p.pid == self.config.pid)
            .and_then(|p| p.hwm_bytes);
        Sample {
            processes,
            main_hwm_bytes,
        }
    }

    fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    fn reset_peaks(&mut self) -> super::ResetPeaks {
        let mut done = super::ResetPeaks::default();
        for member in &mut self.members {
            match files::reset_hwm(member.pid) {
                Ok(()) => done.reset += 1,
                Err(err) if files::is_denied(&err) => done.denied += 1,
                // Gone meanwhile (ENOENT, ESRCH): its next read says so.
                Err(_) => {}
            }
            // Read again at the next sample, whatever the page faults say:
            // the mark is lower now.
            member.hwm_bytes = 0;
            member.faults_at_hwm = None;
        }
        done
    }

    fn main_start_time(&self) -> Option<u64> {
        self.members.first().map(|main| main.start_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/proc/self/status` of `cat` and `/proc/2/status` (kthreadd, no
    /// memory lines), captured from Linux 6.18 as they are.
    /// `/proc/self/smaps_rollup` of `cat`, captured likewise.

    #[test]
    fn samples_itself() {
        let mut probe =
            ProcProbe::new(ProbeConfig::of(std::process::id())).expect("own process is readable");
        let sample = probe.sample();
        assert!(sample.has_pid(std::process::id()));
        assert!(sample.rss_bytes() > 0);
        assert!(sample.main_hwm_bytes.unwrap_or(0) >= sample.processes[0].rss_bytes);
    }

    #[test]
    fn a_reaped_process_is_never_read_again() {
        // The kept-open files belong to that process, not to its pid: once it
        // is reaped they fail, whoever gets the pid next.
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id();
        let mut probe = ProcProbe::new(ProbeConfig {
            children: false,
            just_started: true,
            ..ProbeConfig::of(pid)
        })
        .expect("probe");
        assert!(probe.sample().has_pid(pid));
        child.kill().expect("kill");
        child.wait().expect("reap");
        assert_eq!(probe.sample().procs(), 0);
        assert!(
            probe.members[0]
                .stat
                .as_ref()
                .expect("kept")
                .read_at(&mut [0u8; 64], 0)
                .is_err()
        );
    }

    #[test]
    fn an_exited_member_is_no_parent_to_the_next_owner_of_its_pid() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id();
        let mut probe =
            ProcProbe::new(ProbeConfig::of(std::process::id())).expect("own process is readable");
        assert!(probe.sample().has_pid(pid));
        let start = start_time_of(pid).expect("alive");
        assert!(probe.is_member(pid, start));
        // Alive: the parent of what it starts, not of what is older than it.
        assert!(probe.is_parent_in_tree(pid, start));
        assert!(!probe.is_parent_in_tree(pid, start - 1));
        assert!(!probe.is_member(pid, start + 1));
        child.kill().expect("kill");
        child.wait().expect("reap");
        // Still listed until its next read fails, yet whoever gets its pid
        // next, and that one's children, are strangers.
        assert!(probe.is_member(pid, start));
        assert!(!probe.is_parent_in_tree(pid, start + 1));
    }

    #[test]
    fn thread_ids_name_their_process() {
        assert_eq!(thread_owner(std::process::id()), None);
        let (sender, receiver) = std::sync::mpsc::channel();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // SAFETY: gettid has no arguments and cannot fail.
            let _ = sender.send(unsafe { libc::gettid() } as u32);
            let _ = stopped.recv();
        });
        let tid = receiver.recv().expect("tid");
        let owner = thread_owner(tid).expect("a thread");
        assert_eq!(owner.0, std::process::id());
        let _ = stop.send(());
        thread.join().expect("join");
    }

    #[test]
    fn own_proc_is_own_pid_namespace() {
        assert_eq!(check_pid_namespace(), Ok(()));
    }

    #[test]
    fn refuses_kernel_threads_and_missing_pids() {
        let kthreadd = ProcProbe::new(ProbeConfig {
            children: false,
            ..ProbeConfig::of(2)
        });
        // pid 2 is kthreadd outside containers; inside one it may not exist.
        assert!(matches!(
            kthreadd,
            Err(AttachError::KernelThread { .. } | AttachError::NoSuchProcess(2))
        ));
        let missing = ProcProbe::new(ProbeConfig {
            children: false,
            ..ProbeConfig::of(u32::MAX - 1)
        });
        assert!(matches!(missing, Err(AttachError::NoSuchProcess(_))));
    }
}
