//! A cgroup memsample attaches to (docs/cgroups.md, "Attaching to a
//! cgroup"): found and pinned before the output is opened, so that
//! bad input leaves nothing behind; its member processes feed the `/proc`
//! columns, its own files the cgroup columns; its removal ends the
//! recording. Nothing in it is written to and no process is moved.

use std::path::PathBuf;
use std::sync::mpsc::Sender;

use crate::cgroup::Host;
use crate::cgroup::attach::{self, Attached, Removal, Version};
use crate::probe::procfs::ProcProbe;
use crate::probe::{Probe, ProbeConfig, Sample};
use crate::record::config::{Mode, RecordConfig};
use crate::record::error::RecordError;
use crate::schema::CgroupFigures;
use crate::units::format_bytes;

use super::setup::{Started, Watch};
use super::state::{Event, Target};
use super::whole_tree::WholeTree;

/// The attached cgroup and what the recording needs of it.
pub(super) struct Pinned {
    pub(super) started: Started,
    pub(super) tree: WholeTree,
}

/// Finds and pins the cgroup of `--cgroup-path`, `--unit` or `--cgroup-of`;
/// `None` in the other modes.
pub(super) fn pin(config: &RecordConfig) -> Result<Option<Pinned>, RecordError> {
    let Mode::Cgroup { which } = &config.mode else {
        return Ok(None);
    };
    let path = attach::find(which, &Host::real()).map_err(RecordError::Usage)?;
    let cgroup = Attached::open(&path).map_err(RecordError::Usage)?;
    let cannot = |what: &str, err| {
        RecordError::system(format!("cannot {what} cgroup {}", path.display()), err)
    };
    let removal = cgroup.removal().map_err(|err| cannot("watch", err))?;
    let probe: Box<dyn Probe> = if config.probe.no_procs {
        Box::new(NoProcs)
    } else {
        let mut members = cgroup
            .members()
            .map_err(|err| cannot("list the processes of", err))?;
        let settings = ProbeConfig {
            every_hwm: config.probe.every_hwm,
            pss: config.probe.pss,
            breakdown: config.probe.breakdown,
            ..ProbeConfig::of(0)
        };
        Box::new(ProcProbe::of_members(
            settings,
            Box::new(move || members.pids()),
        ))
    };
    Ok(Some(Pinned {
        started: Started {
            target: Target {
                pid: 0,
                command: None,
                own_peak_at_fork: None,
            },
            probe,
            watch: Watch::Cgroup(removal),
        },
        tree: WholeTree::attached(AttachedTree::new(cgroup, config.probe.breakdown)),
    }))
}

/// The recording ends when the cgroup is removed: an `exit` row, exit 0.
/// Without a watch (cgroup v1) the next row finds it gone.
pub(super) fn watch_removal(
    removal: Option<Removal>,
    events: Sender<Event>,
) -> Result<(), RecordError> {
    let Some(removal) = removal else {
        return Ok(());
    };
    std::thread::Builder::new()
        .name("cgroup-removal".into())
        .spawn(move || {
            removal.wait();
            let _ = events.send(Event::Exited {
                status: None,
                max_rss: None,
            });
        })
        .map(|_| ())
        .map_err(|err| RecordError::system("cannot start the thread that watches the cgroup", err))
}

/// `--no-procs`: no process is read; rows carry the cgroup's figures.
struct NoProcs;

impl Probe for NoProcs {
    fn sample(&mut self) -> Sample {
        Sample::default()
    }

    fn reads_processes(&self) -> bool {
        false
    }
}

/// An attached cgroup during the recording, and what its rows showed.
#[derive(Debug)]
pub(crate) struct AttachedTree {
    cgroup: Attached,
    /// The last figures read: a removed cgroup's files read no more.
    last_oom_kills: Option<u64>,
    last_limit: Option<u64>,
    /// The recording was told that the cgroup is gone.
    told_removed: bool,
    /// `--breakdown`: what the charge is made of, in every row.
    parts: bool,
}

/// What the summary and the JSON summary say of an attached cgroup.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AttachedEnd {
    pub(crate) path: PathBuf,
    pub(crate) version: Version,
    /// `cgroup_peak_bytes` counts from attach (else from the cgroup's making).
    pub(crate) since_attach: bool,
    /// `memory.max` as last read; `None` for no limit.
    pub(crate) limit_bytes: Option<u64>,
}

impl AttachedTree {
    fn new(cgroup: Attached, parts: bool) -> AttachedTree {
        let mut tree = AttachedTree {
            cgroup,
            last_oom_kills: None,
            last_limit: None,
            told_removed: false,
            parts,
        };
        tree.last_limit = tree.cgroup.read_limit();
        tree
    }

    /// The start line's name for it: the path, the version, and from when
    /// the peak counts.
    pub(crate) fn label(&self) -> String {
        let since = match (self.cgroup.version(), self.cgroup.peak_since_attach()) {
            (Version::V2, true) => "peak since attach",
            (Version::V2, false) => {
                "peak since the cgroup was made: this kernel cannot reset memory.peak for memsample alone"
            }
            (Version::V1, _) => "peak since the cgroup was made or last reset",
        };
        format!(
            "cgroup {} ({}, {since})",
            self.cgroup.path().display(),
            self.cgroup.version()
        )
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        self.cgroup.path()
    }

    /// The peak now, for the end of the recording.
    pub(crate) fn peak_bytes(&mut self) -> Option<u64> {
        self.cgroup.read(false).peak_bytes
    }

    /// Whether the cgroup is gone (one `pread`, or none once it is known),
    /// and whether the recording is told so for the first time (then it is,
    /// by the caller): `(removed, news)`.
    pub(crate) fn removed(&mut self) -> (bool, bool) {
        if self.told_removed {
            return (true, false);
        }
        let removed = self.cgroup.is_removed();
        self.told_removed = removed;
        (removed, removed)
    }

    pub(crate) fn read(&mut self) -> CgroupFigures {
        let reading = self.cgroup.read(self.parts);
        if reading.oom_kills.is_some() {
            self.last_oom_kills = reading.oom_kills;
        }
        if reading.current_bytes.is_some() {
            self.last_limit = reading.limit_bytes;
        }
        CgroupFigures {
            current_bytes: reading.current_bytes,
            peak_bytes: reading.peak_bytes,
            interval_peak_bytes: reading.interval_peak_bytes,
            limit_bytes: reading.limit_bytes,
            oom_kills: reading.oom_kills,
            parts: reading.parts,
        }
    }

    /// The OOM kills since attach (the last known once the cgroup is gone)
    /// and what the summary says of it.
    pub(crate) fn end(&mut self) -> (Option<u64>, AttachedEnd) {
        let oom_kills = self.cgroup.oom_kills().or(self.last_oom_kills);
        let limit_bytes = if self.cgroup.is_removed() {
            self.last_limit
        } else {
            self.cgroup.read_limit()
        };
        let end = AttachedEnd {
            path: self.cgroup.path().to_path_buf(),
            version: self.cgroup.version(),
            since_attach: self.cgroup.peak_since_attach(),
            limit_bytes,
        };
        (oom_kills, end)
    }
}

impl AttachedEnd {
    /// How close to the limit `peak` came (`; 61 % of memory.max (200.0
    /// MiB)`), or nothing without a limit.
    pub(crate) fn headroom(&self, peak: u64) -> String {
        let file = match self.version {
            Version::V2 => "memory.max",
            Version::V1 => "memory.limit_in_bytes",
        };
        match self.limit_bytes {
            Some(limit) if limit > 0 => format!(
                "; {:.0} % of {file} ({})",
                peak as f64 * 100.0 / limit as f64,
                format_bytes(limit)
            ),
            _ => String::new(),
        }
    }
}
