//! A recording's settings, resolved once from the command line (docs/usage.md)
//! by `cli::resolve`: the clap types stop there, and nothing below the
//! dispatcher sees them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::cgroup::CgroupMode;
use crate::cgroup::attach::Which;
use crate::probe::Backend;
use crate::schema::Layout;
use crate::sink::Format;
use crate::sink::output::Destination;

/// What is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Start this command (never empty) and record it until it exits.
    Spawn { command: Vec<OsString> },
    /// Record a running process, which is never signalled.
    Attach { pid: u32 },
    /// Record a cgroup memsample did not make, and its processes; nothing
    /// in it is written to, no process is moved.
    Cgroup { which: Which },
}

/// How processes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProbeSettings {
    pub(crate) backend: Backend,
    /// Descendants are counted too (no `--no-children`).
    pub(crate) children: bool,
    /// `--pss`.
    pub(crate) pss: bool,
    /// `--breakdown`.
    pub(crate) breakdown: bool,
    /// `--no-procs`: an attached cgroup's figures alone, no process read.
    pub(crate) no_procs: bool,
    /// Every process's own high-water mark is read (`--per-process`).
    pub(crate) every_hwm: bool,
}

/// When sampling stops before the target ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) duration: Option<Duration>,
    pub(crate) samples: Option<u64>,
}

/// Everything a recording needs to know, resolved.
#[derive(Debug, Clone)]
pub(crate) struct RecordConfig {
    pub(crate) mode: Mode,
    pub(crate) interval: Duration,
    pub(crate) destination: Destination,
    /// `-o` as given, for messages.
    pub(crate) output: Option<PathBuf>,
    pub(crate) format: Format,
    pub(crate) layout: Layout,
    pub(crate) probe: ProbeSettings,
    pub(crate) limits: Limits,
    /// `--plot FILE.svg`.
    pub(crate) plot: Option<PathBuf>,
    /// `--json-summary FILE`.
    pub(crate) json_summary: Option<PathBuf>,
    /// `--cgroup`: `Off` in attach mode unless `require` was asked (refused).
    pub(crate) cgroup: CgroupMode,
    pub(crate) quiet: bool,
    /// `--push`, `--textfile` and their settings, when asked.
    pub(crate) publish: Option<crate::record::publish::Settings>,
    /// `--control PATH`: where the socket of `--phases` is made (attach
    /// modes); a private directory's otherwise.
    pub(crate) control: Option<PathBuf>,
    /// `--reset-peaks`: each member's VmHWM is reset at every mark
    /// (docs/phases.md).
    pub(crate) reset_peaks: bool,
}

impl RecordConfig {
    pub(crate) fn is_spawn(&self) -> bool {
        matches!(self.mode, Mode::Spawn { .. })
    }
}
