//! The parsers of `/proc` texts: `stat`, `statm`, `status`,
//! `smaps_rollup`. Pure functions of the bytes read, so that each is tested
//! against recorded texts (`tests/data/`).

use crate::probe::Breakdown;

/// `PF_KTHREAD` in the flags field of `/proc/PID/stat`.
const PF_KTHREAD: u64 = 0x0020_0000;

/// The fields of `/proc/PID/stat` that memsample uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat<'a> {
    pub(crate) command: &'a [u8],
    pub(crate) state: u8,
    pub(crate) ppid: u32,
    pub(crate) flags: u64,
    /// Minor plus major page faults of all threads.
    pub(crate) faults: u64,
    /// User plus system time of all threads, in clock ticks.
    pub(crate) cpu_ticks: u64,
    /// When the process started, in clock ticks since boot: with the pid,
    /// its identity (a pid is reused, a pid and a start time are not).
    pub(crate) start_time: u64,
    pub(crate) vsize_bytes: u64,
    /// Approximate (per-CPU counters not summed): memsample takes RSS from
    /// `statm` instead.
    pub(crate) rss_pages: u64,
    /// Where the program's code starts: 0 while there is no program in the
    /// address space (an `exec` half-way, or memory already released by an
    /// exiting process), when every other figure would be a meaningless 0.
    /// (1 for another user's process that memsample may not inspect.)
    pub(crate) start_code: u64,
    /// -1 for a thread that is not its group's leader: a thread id handed out
    /// by the kernel looks like a process in `/proc/TID`, and this tells them
    /// apart without reading `status` for its Tgid.
    pub(crate) exit_signal: i64,
}

impl Stat<'_> {
    pub(crate) fn is_gone(&self) -> bool {
        matches!(self.state, b'Z' | b'X' | b'x')
    }

    pub(crate) fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }

    pub(crate) fn is_thread(&self) -> bool {
        self.exit_signal == -1
    }

    /// A program is loaded: the figures describe it.
    pub(crate) fn has_program(&self) -> bool {
        self.start_code != 0
    }
}

/// Parses `/proc/PID/stat`. The command sits in parentheses and may itself
/// contain spaces and parentheses, so fields are counted after the last `)`.
pub(crate) fn parse_stat(text: &[u8]) -> Option<Stat<'_>> {
    let open = text.iter().position(|&b| b == b'(')?;
    let close = text.iter().rposition(|&b| b == b')')?;
    let command = text.get(open + 1..close)?;
    let mut fields = text.get(close + 2..)?.split(|&b| b == b' ');
    // Field numbers as in proc(5); the state is field 3.
    let mut next = |skip: usize| fields.nth(skip);
    let state = *next(0)?.first()?;
    let ppid = parse_u64(next(0)?)? as u32; // 4
    let flags = parse_u64(next(4)?)?; // 9
    let minflt = parse_u64(next(0)?)?; // 10
    let majflt = parse_u64(next(1)?)?; // 12
    let utime = parse_u64(next(1)?)?; // 14
    let stime = parse_u64(next(0)?)?; // 15
    let start_time = parse_u64(next(6)?)?; // 22
    let vsize_bytes = parse_u64(next(0)?)?; // 23
    let rss_pages = parse_u64(next(0)?)?; // 24
    let start_code = parse_u64(next(1)?)?; // 26
    let exit_signal = parse_i64(next(11)?)?; // 38
    Some(Stat {
        command,
        state,
        ppid,
        flags,
        faults: minflt + majflt,
        cpu_ticks: utime + stime,
        start_time,
        vsize_bytes,
        rss_pages,
        start_code,
        exit_signal,
    })
}

fn parse_u64(field: &[u8]) -> Option<u64> {
    if field.is_empty() {
        return None;
    }
    field.iter().try_fold(0u64, |acc, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

fn parse_i64(field: &[u8]) -> Option<i64> {
    match field.split_first() {
        Some((b'-', rest)) => parse_u64(rest).map(|v| -(v as i64)),
        _ => parse_u64(field).map(|v| v as i64),
    }
}

/// Parses `/proc/PID/statm`: total program size and resident set, in pages.
pub(crate) fn parse_statm(text: &[u8]) -> Option<(u64, u64)> {
    let mut fields = text.split(|&b| b == b' ');
    let size = parse_u64(fields.next()?)?;
    let resident = parse_u64(fields.next()?)?;
    Some((size, resident))
}

/// Finds `key` (e.g. `VmHWM:`) in a `status`/`smaps_rollup` text and returns
/// its value in bytes (the kernel prints kB).
pub(crate) fn parse_kb_line(text: &[u8], key: &[u8]) -> Option<u64> {
    let start = text.windows(key.len()).position(|w| w == key)? + key.len();
    let rest = &text[start..];
    let digits: Vec<u8> = rest
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    parse_u64(&digits).map(|kb| kb * 1024)
}

/// The figures of `/proc/PID/status` that memsample uses, found in one
/// pass over its lines (sizes in bytes; the kernel prints kB).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) vm_size: Option<u64>,
    pub(crate) vm_hwm: Option<u64>,
    pub(crate) rss_anon: Option<u64>,
    pub(crate) rss_file: Option<u64>,
    pub(crate) rss_shmem: Option<u64>,
    pub(crate) vm_swap: Option<u64>,
    pub(crate) threads: Option<u64>,
}

impl Status {
    /// The split of RSS; `None` without the three `Rss` lines (the kernel
    /// prints no memory lines for a process whose memory is gone).
    pub(crate) fn breakdown(&self) -> Option<Breakdown> {
        Some(Breakdown {
            anon_bytes: self.rss_anon?,
            file_bytes: self.rss_file?,
            shmem_bytes: self.rss_shmem?,
            swap_bytes: self.vm_swap.unwrap_or(0),
            threads: self.threads.unwrap_or(0),
        })
    }
}

/// Parses `/proc/PID/status` in one pass: each line is `Key:<blanks>value`,
/// sizes followed by ` kB`.
pub(crate) fn parse_status(text: &[u8]) -> Status {
    let mut status = Status::default();
    for line in text.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (key, rest) = line.split_at(colon);
        let slot = match key {
            b"VmSize" => &mut status.vm_size,
            b"VmHWM" => &mut status.vm_hwm,
            b"RssAnon" => &mut status.rss_anon,
            b"RssFile" => &mut status.rss_file,
            b"RssShmem" => &mut status.rss_shmem,
            b"VmSwap" => &mut status.vm_swap,
            b"Threads" => &mut status.threads,
            _ => continue,
        };
        let value = leading_number(&rest[1..]);
        *slot = if key == b"Threads" {
            value
        } else {
            value.and_then(|kb| kb.checked_mul(1024))
        };
    }
    status
}

/// The number at the start of `text`, after blanks.
fn leading_number(text: &[u8]) -> Option<u64> {
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let digits = &text[start..];
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    parse_u64(&digits[..end])
}

/// Pss and USS (`Private_Clean` + `Private_Dirty`) from `smaps_rollup`, in
/// one pass; `None` when the text has no `Pss` (memory already released).
pub(crate) fn parse_rollup(text: &[u8]) -> Option<(u64, u64)> {
    let (mut pss, mut private) = (None, 0u64);
    for line in text.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (key, rest) = line.split_at(colon);
        let kb = || leading_number(&rest[1..]).unwrap_or(0).saturating_mul(1024);
        match key {
            b"Pss" => pss = Some(kb()),
            b"Private_Clean" | b"Private_Dirty" => private = private.saturating_add(kb()),
            _ => {}
        }
    }
    pss.map(|pss| (pss, private))
}

/// The number after `key` in a `status` text (no unit).
pub(super) fn parse_number_line(text: &[u8], key: &[u8]) -> Option<u64> {
    let start = text.windows(key.len()).position(|w| w == key)? + key.len();
    let digits: Vec<u8> = text[start..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    parse_u64(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &[u8] = b"1677 (my (odd) prog) S 1675 1677 1675 34816 1677 4194304 95 0 1 0 7 3 0 0 20 0 1 0 6253 5521408 514 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    const STATUS: &[u8] = include_bytes!("../../../tests/data/status.txt");
    const STATUS_KTHREAD: &[u8] = include_bytes!("../../../tests/data/status-kthread.txt");
    const ROLLUP: &[u8] = include_bytes!("../../../tests/data/smaps_rollup.txt");

    #[test]
    fn stat_fields() {
        let stat = parse_stat(STAT).expect("parses");
        assert_eq!(stat.command, b"my (odd) prog");
        assert_eq!(stat.state, b'S');
        assert_eq!(stat.ppid, 1675);
        assert_eq!(stat.flags, 4194304);
        assert_eq!(stat.faults, 96);
        assert_eq!(stat.cpu_ticks, 10);
        assert_eq!(stat.start_time, 6253);
        assert_eq!(stat.vsize_bytes, 5521408);
        assert_eq!(stat.rss_pages, 514);
        assert_eq!(stat.exit_signal, 17);
        assert!(!stat.is_thread() && !stat.is_gone() && !stat.is_kernel_thread());
    }

    #[test]
    fn stat_of_a_thread() {
        let text = String::from_utf8_lossy(STAT).replace(" 17 1 0 0", " -1 1 0 0");
        assert!(parse_stat(text.as_bytes()).expect("parses").is_thread());
    }

    #[test]
    fn stat_truncated() {
        assert_eq!(parse_stat(b"1677 (prog) S 1675 1677"), None);
        assert_eq!(parse_stat(b""), None);
    }

    #[test]
    fn own_stat_parses() {
        let text = std::fs::read("/proc/self/stat").expect("readable");
        let stat = parse_stat(&text).expect("parses");
        assert_eq!(stat.ppid, std::os::unix::process::parent_id());
        assert!(stat.rss_pages > 0);
    }

    #[test]
    fn statm_fields() {
        assert_eq!(parse_statm(b"1348 514 440 4 0 96 0\n"), Some((1348, 514)));
        assert_eq!(parse_statm(b""), None);
    }

    #[test]
    fn kb_lines() {
        let status = b"Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    2056 kB\nVmRSS:\t 2000 kB\n";
        assert_eq!(parse_kb_line(status, b"VmHWM:"), Some(2056 * 1024));
        assert_eq!(parse_kb_line(status, b"Missing:"), None);
        let rollup = b"55-66 ---p 0 00:00 0 [rollup]\nRss: 100 kB\nPss: 40 kB\nPss_Anon: 30 kB\n";
        assert_eq!(parse_kb_line(rollup, b"\nPss:"), Some(40 * 1024));
    }

    #[test]
    fn status_of_the_kernel_parses_in_one_pass() {
        let status = parse_status(STATUS);
        assert_eq!(status.vm_size, Some(3060 * 1024));
        assert_eq!(status.vm_hwm, Some(1728 * 1024));
        let parts = status.breakdown().expect("memory lines");
        assert_eq!(
            parts,
            Breakdown {
                anon_bytes: 108 * 1024,
                file_bytes: 1620 * 1024,
                shmem_bytes: 0,
                swap_bytes: 0,
                threads: 1,
            }
        );
        // VmRSS: 1728 kB, the sum of the three.
        assert_eq!(parts.rss_bytes(), 1728 * 1024);
        // No process memory: no breakdown (the member is not in the sample).
        let kthread = parse_status(STATUS_KTHREAD);
        assert_eq!(kthread.breakdown(), None);
        assert_eq!(kthread.threads, Some(1));
        assert_eq!(parse_status(b""), Status::default());
    }

    #[test]
    fn swap_is_read_from_its_line() {
        // There is no swap on the test machines: the kernel's own text,
        // with its VmSwap line as a swapping process has it.
        let text =
            String::from_utf8_lossy(STATUS).replace("VmSwap:\t       0 kB", "VmSwap:\t   20480 kB");
        assert_ne!(text.as_bytes(), STATUS, "the line was found");
        let parts = parse_status(text.as_bytes()).breakdown().expect("parses");
        assert_eq!(parts.swap_bytes, 20 * 1024 * 1024);
        // Swapped-out pages are not resident: RSS is unchanged.
        assert_eq!(parts.rss_bytes(), 1728 * 1024);
    }

    #[test]
    fn rollup_gives_pss_and_uss() {
        // Pss 264 kB; Private_Clean 40 kB + Private_Dirty 116 kB.
        assert_eq!(parse_rollup(ROLLUP), Some((264 * 1024, 156 * 1024)));
        assert_eq!(parse_rollup(b""), None);
    }

    #[test]
    fn own_status_adds_up_to_its_rss() {
        let text = std::fs::read("/proc/self/status").expect("readable");
        let status = parse_status(&text);
        let parts = status.breakdown().expect("memory lines");
        let vm_rss = parse_kb_line(&text, b"VmRSS:").expect("VmRSS");
        assert_eq!(parts.rss_bytes(), vm_rss);
        assert!(parts.threads >= 1);
    }
}
