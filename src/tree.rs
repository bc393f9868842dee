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

/// Pids below this are reserved for the kernel's own threads: when the pid
/// counter wraps around `pid_max`, the kernel starts again from here (in the
/// initial pid namespace; in others it restarts from 1, which the scan also
/// covers since ids that do not exist cost one failed `open` each).
const WRAP_RESTART: u32 = 1;

/// The ids handed out since the previous look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewPids {
    /// Nothing was created.
    Nothing,
    /// These ids, in allocation order (see [`PidRange::iter`]).
    Range(PidRange),
    /// Too many to look at one by one: scan `/proc`.
    Rescan,
}

/// Ids `after + 1 ..= last`, wrapping at `pid_max` when `last <= after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidRange {
    after: u32,
    last: u32,
    pid_max: u32,
}

impl PidRange {
    pub fn len(&self) -> u64 {
        if self.last > self.after {
            u64::from(self.last - self.after)
        } else {
            u64::from(self.pid_max.saturating_sub(self.after + 1))
                + u64::from(self.last.saturating_sub(WRAP_RESTART - 1))
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids in the order the kernel handed them out.
    pub fn iter(&self) -> impl Iterator<Item = u32> + use<> {
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
pub struct PidWatch {
    loadavg: File,
    last_pid: u32,
    pid_max: u32,
}

impl PidWatch {
    /// Opens `/proc/loadavg` and notes the current last pid: what exists now
    /// must be found by a full scan; only what comes later is reported.
    pub fn open() -> io::Result<PidWatch> {
        let loadavg = File::open("/proc/loadavg")?;
        let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(4_194_304);
        let mut watch = PidWatch {
            loadavg,
            last_pid: 0,
            pid_max,
        };
        let (last_pid, _) = watch.read()?;
        watch.last_pid = last_pid;
        Ok(watch)
    }

    /// Like [`open`](Self::open), but reports every id handed out after
    /// `pid` too: for a process just started, whose descendants (if it had
    /// time to make any) all got later ids, no full scan is needed.
    pub fn open_after(pid: u32) -> io::Result<PidWatch> {
        let mut watch = PidWatch::open()?;
        watch.last_pid = pid;
        Ok(watch)
    }

    /// What was handed out since the previous call (or since `open`).
    pub fn poll(&mut self) -> NewPids {
        let Ok((last_pid, tasks)) = self.read() else {
            return NewPids::Rescan;
        };
        if last_pid == self.last_pid {
            return NewPids::Nothing;
        }
        let range = PidRange {
            after: self.last_pid,
            last: last_pid,
            pid_max: self.pid_max,
        };
        self.last_pid = last_pid;
        if range.len() > u64::from(tasks) {
            NewPids::Rescan
        } else {
            NewPids::Range(range)
        }
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
pub fn list_pids() -> io::Result<Vec<u32>> {
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
