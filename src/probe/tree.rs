//! Noticing new processes without scanning `/proc` on every tick.
//!
//! Descendants are found by looking only at the pids handed out since the
//! previous tick. The kernel publishes the last pid it handed out as the 5th
//! field of `/proc/loadavg`; reading it through a kept-open file costs about a
//! microsecond, and when it has not moved no process (or thread) was created,
//! so nothing else needs a look. When it has moved, the caller inspects just
//! the ids in between, in allocation order, which visits a parent before the
//! children it created in the same interval. A full scan of `/proc` happens
//! only when that range is larger than the number of tasks on the machine.
//!
//! `/proc/PID/task/*/children` would be simpler but is missing on kernels built
//! without `CONFIG_PROC_CHILDREN`, and a `/proc` scan per tick costs
//! milliseconds on a desktop; this module keeps the tree nearly free.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

/// Pids below this are reserved for the kernel's own threads: when the pid
/// counter wraps around `pid_max`, the kernel starts again from here (in the
/// initial pid namespace; in others it restarts from 1, which the scan also
/// covers since ids that do not exist cost one failed `open` each).
const WRAP_RESTART: u32 = 1;

/// The ids handed out since the previous look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NewPids {
    /// Nothing was created.
    Nothing,
    /// These ids, in allocation order (see [`PidRange::iter`]).
    Range(PidRange),
    /// Too many to look at one by one: scan `/proc`.
    Rescan,
}

/// Ids `after + 1 ..= last`, wrapping at `pid_max` when `last <= after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PidRange {
    after: u32,
    last: u32,
    pid_max: u32,
}

impl PidRange {
    pub(crate) fn len(&self) -> u64 {
        if self.last > self.after {
            u64::from(self.last - self.after)
        } else {
            u64::from(self.pid_max.saturating_sub(self.after + 1))
                + u64::from(self.last.saturating_sub(WRAP_RESTART - 1))
        }
    }

    /// The ids in the order the kernel handed them out.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + use<> {
        let (after, last, pid_max) = (self.after, self.last, self.pid_max);
        let (head, tail) = if last > after {
            (after + 1..=last, None)
        } else {
            (
                after + 1..=pid_max.saturating_sub(1),
                Some(WRAP_RESTART..=last),
            )
        };
        head.chain(tail.into_iter().flatten())
    }
}

/// Watches `/proc/loadavg` for the last pid handed out.
#[derive(Debug)]
pub(crate) struct PidWatch {
    loadavg: File,
    last_pid: u32,
    pid_max: u32,
    wrap: WrapCheck,
}

/// A full wrap of the pid counter between two looks brings the last pid
/// back to where it was, or past it: the ids in between would look like all
/// that was handed out. The kernel's fork count (`processes` in `/proc/stat`)
/// tells: more forks than ids looked at means some ids were not looked at.
/// `/proc/stat` costs more than `/proc/loadavg`, so it is read only after a
/// gap between two looks long enough for a full wrap (see [`min_wrap_time`]);
/// the forks of shorter gaps are counted in the next reading.
#[derive(Debug)]
struct WrapCheck {
    /// Forks at the last reading of `/proc/stat` (`None`: unreadable).
    forks: Option<u64>,
    /// Ids looked at since that reading.
    seen: u64,
    previous_look: Instant,
    min_wrap: Duration,
}

/// No CPU forks faster than this (a thread's creation takes tens of
/// microseconds in the kernel): the bound that makes a full wrap of the pid
/// counter take a minimum time.
const MAX_FORKS_PER_CPU_SECOND: u64 = 100_000;

/// Pids the initial namespace never hands out again after a wrap, plus room
/// for counts that move between two reads.
const WRAP_SLACK: u64 = 300;

/// The shortest time in which the pid counter can go all the way round.
pub(crate) fn min_wrap_time(pid_max: u32, cpus: u64) -> Duration {
    let per_second = cpus.max(1).saturating_mul(MAX_FORKS_PER_CPU_SECOND);
    Duration::from_secs_f64(f64::from(pid_max) / per_second as f64)
}

/// Whether the fork count must be read: only after a gap in which a full
/// wrap could happen.
pub(crate) fn wrap_possible(gap: Duration, min_wrap: Duration) -> bool {
    gap >= min_wrap
}

/// Whether ids were handed out that were not looked at: `forks` since the
/// last reading against the ids `seen` since then. A full wrap hides nearly
/// `pid_max - tasks` ids; half of that is the threshold, so that forks in
/// other pid namespaces (counted by the kernel, invisible here) must be
/// many before they cost a needless scan.
pub(crate) fn ids_were_missed(forks: u64, seen: u64, pid_max: u32, tasks: u32) -> bool {
    let hidden_by_a_wrap = u64::from(pid_max).saturating_sub(u64::from(tasks) + WRAP_SLACK);
    forks.saturating_sub(seen) > hidden_by_a_wrap / 2
}

/// The `processes` line of `/proc/stat`: forks since boot.
fn read_forks() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    parse_forks(&text)
}

fn parse_forks(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("processes "))?
        .trim()
        .parse()
        .ok()
}

fn online_cpus() -> u64 {
    // SAFETY: sysconf only reads a system setting.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) };
    u64::try_from(cpus).unwrap_or(1).max(1)
}

impl PidWatch {
    /// Opens `/proc/loadavg` and notes the current last pid: what exists now
    /// must be found by a full scan; only what comes later is reported.
    pub(crate) fn open() -> io::Result<PidWatch> {
        let loadavg = File::open("/proc/loadavg")?;
        let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(4_194_304);
        let mut watch = PidWatch {
            loadavg,
            last_pid: 0,
            pid_max,
            wrap: WrapCheck {
                forks: read_forks(),
                seen: 0,
                previous_look: Instant::now(),
                min_wrap: min_wrap_time(pid_max, online_cpus()),
            },
        };
        let (last_pid, _) = watch.read()?;
        watch.last_pid = last_pid;
        Ok(watch)
    }

    /// Like [`open`](Self::open), but reports every id handed out after
    /// `pid` too: for a process just started, whose descendants (if it had
    /// time to make any) all got later ids, no full scan is needed.
    pub(crate) fn open_after(pid: u32) -> io::Result<PidWatch> {
        let mut watch = PidWatch::open()?;
        watch.last_pid = pid;
        Ok(watch)
    }

    /// What was handed out since the previous call (or since `open`).
    pub(crate) fn poll(&mut self) -> NewPids {
        let Ok((last_pid, tasks)) = self.read() else {
            return NewPids::Rescan;
        };
        let now = Instant::now();
        let gap = now.duration_since(self.wrap.previous_look);
        self.wrap.previous_look = now;
        if wrap_possible(gap, self.wrap.min_wrap) && self.wrapped(tasks) {
            self.last_pid = last_pid;
            return NewPids::Rescan;
        }
        if last_pid == self.last_pid {
            return NewPids::Nothing;
        }
        let range = PidRange {
            after: self.last_pid,
            last: last_pid,
            pid_max: self.pid_max,
        };
        self.last_pid = last_pid;
        self.wrap.seen = self.wrap.seen.saturating_add(range.len());
        if range.len() > u64::from(tasks) {
            NewPids::Rescan
        } else {
            NewPids::Range(range)
        }
    }

    /// Reads the fork count and says whether the pid counter may have gone
    /// round since the previous reading; starts counting afresh.
    fn wrapped(&mut self, tasks: u32) -> bool {
        let Some(forks) = read_forks() else {
            return false;
        };
        let missed = self.wrap.forks.is_some_and(|before| {
            ids_were_missed(
                // The count only grows (wrapping: a baseline set back by a
                // test stays meaningful).
                forks.wrapping_sub(before),
                self.wrap.seen,
                self.pid_max,
                tasks,
            )
        });
        self.wrap.forks = Some(forks);
        self.wrap.seen = 0;
        missed
    }

    /// The last pid handed out and the number of tasks (threads included).
    fn read(&self) -> io::Result<(u32, u32)> {
        let mut buf = [0u8; 128];
        let len = self.loadavg.read_at(&mut buf, 0)?;
        parse_loadavg(&buf[..len])
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc/loadavg"))
    }
}

/// `0.12 0.03 0.01 2/77 1677`: the 4th field is running/total tasks, the 5th
/// the last pid handed out.
fn parse_loadavg(text: &[u8]) -> Option<(u32, u32)> {
    let text = std::str::from_utf8(text).ok()?;
    let mut fields = text.split_ascii_whitespace().skip(3);
    let tasks = fields.next()?.split_once('/')?.1.parse().ok()?;
    let last_pid = fields.next()?.parse().ok()?;
    Some((last_pid, tasks))
}

/// Every process id in `/proc` (threads are not listed there).
pub(crate) fn list_pids() -> io::Result<Vec<u32>> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        if let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
            pids.push(pid);
        }
    }
    Ok(pids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loadavg_fields() {
        assert_eq!(
            parse_loadavg(b"0.12 0.03 0.01 2/77 1677\n"),
            Some((1677, 77))
        );
        assert_eq!(parse_loadavg(b"garbage"), None);
    }

    #[test]
    fn range_without_wrap() {
        let range = PidRange {
            after: 100,
            last: 103,
            pid_max: 32768,
        };
        assert_eq!(range.iter().collect::<Vec<_>>(), [101, 102, 103]);
        assert_eq!(range.len(), 3);
    }

    #[test]
    fn range_with_wrap() {
        let range = PidRange {
            after: 32765,
            last: 2,
            pid_max: 32768,
        };
        assert_eq!(range.iter().collect::<Vec<_>>(), [32766, 32767, 1, 2]);
        assert_eq!(range.len(), 4);
    }

    #[test]
    fn fork_count_line() {
        let stat = "cpu  1 2 3\nintr 5 0 1\nctxt 77\nprocesses 24570\nprocs_running 1\n";
        assert_eq!(parse_forks(stat), Some(24570));
        assert_eq!(parse_forks("cpu 1\n"), None);
        assert!(read_forks().is_some_and(|forks| forks > 0));
    }

    #[test]
    fn fork_count_read_only_after_a_gap_a_wrap_fits_in() {
        // 32768 pids, 2 CPUs: at most 200,000 forks a second, 164 ms a wrap.
        let min_wrap = min_wrap_time(32_768, 2);
        assert_eq!(min_wrap.as_millis(), 163);
        assert!(!wrap_possible(Duration::from_millis(100), min_wrap));
        assert!(wrap_possible(Duration::from_secs(1), min_wrap));
        // The usual 4M pids take seconds to go round even on 64 CPUs.
        assert!(min_wrap_time(4_194_304, 64) > Duration::from_millis(600));
    }

    #[test]
    fn a_full_wrap_is_told_from_forks_elsewhere() {
        // Every fork was looked at: nothing missed.
        assert!(!ids_were_missed(1_000, 1_000, 32_768, 200));
        // The counter came back to the same last pid: 32,000 forks, no id
        // looked at.
        assert!(ids_were_missed(32_000, 0, 32_768, 200));
        // ... or a little past it.
        assert!(ids_were_missed(32_100, 100, 32_768, 200));
        // A few forks in other pid namespaces do not cost a scan.
        assert!(!ids_were_missed(5_000, 100, 32_768, 200));
    }

    #[test]
    fn a_wrap_in_the_gap_asks_for_a_scan() {
        let mut watch = PidWatch::open().expect("loadavg readable");
        // As if a whole round of pids had gone by since the last reading,
        // long enough ago for it.
        watch.wrap.forks = watch
            .wrap
            .forks
            .map(|forks| forks.wrapping_sub(u64::from(watch.pid_max)));
        watch.wrap.previous_look -= watch.wrap.min_wrap;
        assert_eq!(watch.poll(), NewPids::Rescan);
        // Read again within the minimum wrap time: no reading, no scan.
        watch.wrap.min_wrap = Duration::from_secs(3600);
        watch.wrap.forks = watch
            .wrap
            .forks
            .map(|forks| forks.wrapping_sub(u64::from(watch.pid_max)));
        assert_ne!(watch.poll(), NewPids::Rescan);
    }

    #[test]
    fn watch_sees_a_new_process() {
        let mut watch = PidWatch::open().expect("loadavg readable");
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait");
        match watch.poll() {
            NewPids::Range(range) => assert!(range.iter().any(|p| p == pid)),
            NewPids::Rescan => {}
            NewPids::Nothing => panic!("a spawned process went unnoticed"),
        }
    }
}
