//! The portable backend, through the `sysinfo` crate.
//!
//! It sees the same processes as the `/proc` backend, but has no access to the
//! kernel's high-water mark (so `peak_rss_bytes` is the highest sampled RSS),
//! no PSS nor USS, no `--breakdown` (refused up front), and it refreshes every process on the machine on each tick to know
//! who is whose parent, which costs milliseconds rather than microseconds.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use sysinfo::{Pid, ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System};

use super::{AttachError, Probe, ProbeConfig, ProcessSample, Sample};

/// Refuses, before anything starts, what this backend cannot give:
/// `sysinfo` reads a process's RSS and virtual size only, not the split of
/// RSS nor the thread count.
pub(crate) fn check_options(backend: super::Backend, breakdown: bool) -> Result<(), String> {
    if backend == super::Backend::Sysinfo && breakdown {
        return Err(
            "--breakdown is not available with --backend sysinfo: it reads RSS and \
             virtual size only (use the default --backend proc)"
                .into(),
        );
    }
    Ok(())
}

/// The `sysinfo` backend of [`Probe`].
pub struct SysinfoProbe {
    config: ProbeConfig,
    system: System,
    /// Counted processes and their start times: a pid whose start time
    /// changed was recycled and is not ours any more.
    members: HashMap<u32, u64>,
    /// Order in which members were found, main first.
    order: Vec<u32>,
    cpu_ms: HashMap<u32, u64>,
    previous_sample: Option<Instant>,
    pss_warned: bool,
    /// The main process's start time in clock ticks (sysinfo's is in
    /// seconds, too coarse to tell two processes apart).
    main_start_ticks: Option<u64>,
}

/// At most the one page of arguments that an address space holds before a
/// program is loaded into it.
const PAGE: u64 = 4096;

fn refresh_kind() -> ProcessRefreshKind {
    ProcessRefreshKind::nothing().with_memory().with_cpu()
}

impl SysinfoProbe {
    pub fn new(config: ProbeConfig) -> Result<SysinfoProbe, AttachError> {
        let pid = config.pid;
        if !config.just_started
            && let Some((owner, name)) = super::procfs::thread_owner(pid)
        {
            return Err(AttachError::Thread {
                tid: pid,
                pid: owner,
                command: name,
            });
        }
        let main_start_ticks = super::procfs::start_time_of(pid);
        let mut system = System::new().map_err(|err| AttachError::Unreadable {
            pid,
            reason: err.to_string(),
        })?;
        system.refresh_processes_specifics(ProcessesToUpdate::All, true, refresh_kind());
        let process = system
            .process(Pid::from_u32(pid))
            .ok_or(AttachError::NoSuchProcess(pid))?;
        let command = process.name().to_string_lossy().into_owned();
        if matches!(
            process.status(),
            ProcessStatus::Zombie | ProcessStatus::Dead
        ) {
            return Err(AttachError::Zombie { pid, command });
        }
        let start_time = process.start_time();
        let mut probe = SysinfoProbe {
            config,
            system,
            members: HashMap::from([(pid, start_time)]),
            order: vec![pid],
            cpu_ms: HashMap::new(),
            previous_sample: None,
            pss_warned: false,
            main_start_ticks,
        };
        if config.children {
            probe.add_descendants();
        }
        Ok(probe)
    }

    fn add_descendants(&mut self) {
        loop {
            let mut joined = Vec::new();
            for (pid, process) in self.system.processes() {
                let pid = pid.as_u32();
                if self.members.contains_key(&pid) || process.thread_kind().is_some() {
                    continue;
                }
                let Some(ppid) = process.parent().map(|p| p.as_u32()) else {
                    continue;
                };
                if self.members.contains_key(&ppid) || self.config.adopted_parent == Some(ppid) {
                    joined.push((pid, process.start_time()));
                }
            }
            if joined.is_empty() {
                break;
            }
            for (pid, start_time) in joined {
                self.members.insert(pid, start_time);
                self.order.push(pid);
            }
        }
    }
}

impl Probe for SysinfoProbe {
    fn sample(&mut self) -> Sample {
        let now = Instant::now();
        let seconds = self
            .previous_sample
            .map(|previous| now.duration_since(previous).as_secs_f64());
        if self.config.children {
            self.system
                .refresh_processes_specifics(ProcessesToUpdate::All, true, refresh_kind());
            self.add_descendants();
        } else {
            let pid = [Pid::from_u32(self.config.pid)];
            self.system.refresh_processes_specifics(
                ProcessesToUpdate::Some(&pid),
                true,
                refresh_kind(),
            );
        }
        let mut processes = Vec::with_capacity(self.order.len());
        let mut alive = HashSet::new();
        for &pid in &self.order {
            let Some(process) = self.system.process(Pid::from_u32(pid)) else {
                continue;
            };
            let recycled = self.members.get(&pid) != Some(&process.start_time());
            if recycled
                || matches!(
                    process.status(),
                    ProcessStatus::Zombie | ProcessStatus::Dead
                )
            {
                continue;
            }
            alive.insert(pid);
            if process.virtual_memory() <= PAGE && process.memory() == 0 {
                // No program in its address space right now (half-way
                // through an exec, or exiting): nothing to measure this time.
                continue;
            }
            let cpu_ms = process.accumulated_cpu_time();
            // A process born since the previous sample: all its CPU time is new.
            let previous = self.cpu_ms.get(&pid).copied().unwrap_or(0);
            let cpu_percent =
                super::cpu_percent(cpu_ms.saturating_sub(previous) as f64 / 1000.0, seconds);
            self.cpu_ms.insert(pid, cpu_ms);
            let rss_bytes = process.memory();
            processes.push(ProcessSample {
                pid,
                ppid: process.parent().map_or(0, |p| p.as_u32()),
                command: process.name().to_string_lossy().into_owned(),
                rss_bytes,
                vsz_bytes: process.virtual_memory(),
                cpu_percent,
                hwm_bytes: None,
                pss_bytes: None,
                uss_bytes: None,
                breakdown: None,
            });
        }
        // Sticky membership ends with the process; the main pid stays first.
        let main = self.config.pid;
        self.order.retain(|pid| *pid == main || alive.contains(pid));
        self.members
            .retain(|pid, _| *pid == main || alive.contains(pid));
        self.cpu_ms.retain(|pid, _| alive.contains(pid));
        self.previous_sample = Some(now);
        Sample {
            processes,
            main_hwm_bytes: None,
        }
    }

    fn take_warnings(&mut self) -> Vec<String> {
        if self.config.pss && !self.pss_warned {
            self.pss_warned = true;
            vec![super::pss_warning(
                "every process (the sysinfo backend cannot read PSS)",
            )]
        } else {
            Vec::new()
        }
    }

    fn main_start_time(&self) -> Option<u64> {
        self.main_start_ticks
    }
}
