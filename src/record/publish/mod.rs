//! Publishing a recording's figures into a fleet's metrics engine, during
//! the recording and once at its end (docs/publishing.md): a Prometheus
//! Pushgateway (`--push`), node_exporter's textfile collector
//! (`--textfile`), any OTLP receiver (`--otlp`).
//!
//! Never in the job's way: the sampling thread only updates a [`Feed`]
//! (no allocation, no system call); each destination has a thread of its
//! own that publishes every `--push-every` and once more with the final
//! figures, and the end of the recording waits for those at most
//! `--push-timeout`. A destination that fails is said once, as a warning,
//! and never changes memsample's exit status.

mod figures;
mod http;
mod otlp;
mod phases;
mod prometheus;
mod pushgateway;
mod settings;
mod textfile;
mod thread;

pub(crate) use figures::{Feed, Figures, Row, unix_nanos};
pub(crate) use phases::PhaseTable;
pub(crate) use settings::{Asked, Settings};
pub(crate) use thread::{Publisher, start};

/// What the figures are of, fixed at the start of the recording.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    /// `--job`, or the command's name.
    pub(crate) job: String,
    /// The host's name (the Pushgateway's `instance`, OTLP's `host.name`).
    pub(crate) host: String,
    /// The main process; none when attached to a cgroup.
    pub(crate) pid: Option<u32>,
    /// The command line, argument by argument; empty when attached to a
    /// cgroup.
    pub(crate) command: Vec<String>,
    /// OTLP's `service.name`.
    pub(crate) service: String,
    /// When the recording started, in nanoseconds since the epoch.
    pub(crate) started_unix_nanos: u64,
}
