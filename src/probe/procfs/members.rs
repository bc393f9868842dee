//! Members from a list instead of a tree: an attached cgroup's processes
//! (docs/cgroups.md, "Attaching to a cgroup"). There is no main process;
//! at each sample the list is read again, members that left are dropped
//! (their files closed) and new ones opened, and each is read as a tree's
//! member is.

use std::collections::HashMap;
use std::time::Instant;

use super::{
    ProcProbe, Tracked, is_out_of_files, kept_limit, parse_stat, raise_open_file_limit,
    read_new_stat,
};
use crate::probe::ProbeConfig;

/// Lists the pids to count now, sorted, each once.
pub(crate) type MemberList = Box<dyn FnMut() -> Vec<u32> + Send>;

impl ProcProbe {
    /// A probe of the processes `list` gives at each sample (`config.pid`
    /// and `config.children` are not used).
    pub(crate) fn of_members(config: ProbeConfig, list: MemberList) -> ProcProbe {
        ProcProbe {
            config: ProbeConfig {
                pid: 0,
                children: false,
                ..config
            },
            page_size: rustix::param::page_size() as u64,
            ticks_per_second: rustix::param::clock_ticks_per_second() as f64,
            members: Vec::new(),
            member_pids: HashMap::new(),
            kept_limit: kept_limit(
                raise_open_file_limit(),
                config.every_hwm && !config.breakdown,
            ),
            kept: 0,
            files_warned: false,
            files_warned_pending: false,
            watch: None,
            retry: Vec::new(),
            previous_sample: None,
            warnings: Vec::new(),
            buf: Box::new([0u8; 4096]),
            list: Some(list),
        }
    }

    /// Whether members come from a list (no main process).
    pub(super) fn has_main(&self) -> bool {
        self.list.is_none()
    }

    /// Brings the members in line with the list.
    pub(super) fn sync_members(&mut self) {
        let Some(list) = self.list.as_mut() else {
            return;
        };
        let pids = list();
        let mut index = 0;
        while index < self.members.len() {
            if pids.binary_search(&self.members[index].pid).is_ok() {
                index += 1;
                continue;
            }
            let left = self.members.remove(index);
            if self.is_member(left.pid, left.start_time) {
                self.member_pids.remove(&left.pid);
            }
            self.kept -= usize::from(left.stat.is_some());
        }
        for pid in pids {
            if !self.member_pids.contains_key(&pid) {
                self.join(pid);
            }
        }
        self.members.sort_by_key(|member| member.pid);
    }

    /// Opens one listed process.
    fn join(&mut self, pid: u32) {
        let keep = self.kept < self.kept_limit;
        let (stat, len) = match read_new_stat(pid, keep, &mut self.buf[..]) {
            Ok(read) => read,
            Err(err) => {
                if is_out_of_files(&err) {
                    self.warn_out_of_files();
                }
                return;
            }
        };
        let Some(parsed) = parse_stat(&self.buf[..len]) else {
            return;
        };
        if parsed.is_thread() || parsed.is_gone() || parsed.is_kernel_thread() {
            return;
        }
        // At the first sample CPU counts from now; a process that joins
        // later was (nearly always) born since the previous sample, so all
        // of its CPU time is new.
        let cpu_ticks = match self.previous_sample {
            None => parsed.cpu_ticks,
            Some(_) => 0,
        };
        let _: Option<Instant> = None;
        let member = Tracked {
            pid,
            ppid: parsed.ppid,
            start_time: parsed.start_time,
            stat,
            statm: None,
            status: None,
            command: String::from_utf8_lossy(parsed.command).into_owned(),
            cpu_ticks,
            faults_at_hwm: None,
            hwm_bytes: 0,
            pss_warned: false,
        };
        self.member_pids.insert(pid, member.start_time);
        self.kept += usize::from(member.stat.is_some());
        self.members.push(member);
    }
}
