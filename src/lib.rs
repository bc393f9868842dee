//! memsample: sample the memory of a command or a running process, and of its
//! whole process tree, into CSV or JSON Lines, at a fixed drift-free interval.
//!
//! This file only declares the modules; [`main_entry`] (in `app`) is the
//! whole program. Each concern lives in a module of its own so that it can be
//! read and tested alone:
//!
//! - `app`: parse the command line, route, map errors to exit codes;
//! - [`cgroup`]: a cgroup v2 of the command's own, for exact whole-tree peaks;
//! - `cli`: the command line (clap derive) and its value parsers;
//! - `config`: a recording's settings, resolved from the command line once;
//! - `session`: the recording itself, a state machine tying the below together;
//! - `console`: every line memsample writes on stderr;
//! - `interval`: a drift-free, cancellable, triggerable repeating timer;
//! - `target`: spawning a command or attaching to a pid, waiting, exit status;
//! - [`probe`]: reading a process's memory and CPU (`/proc` and `sysinfo` backends);
//! - `tree`: finding the descendants of the target cheaply, tick after tick;
//! - [`schema`]: the columns of a recording, each named once, and the triggers;
//! - [`output`]: where a recording goes (`-o`);
//! - [`sink`]: the rows written as CSV or JSON Lines, never a partial row;
//! - `signals`: signals with their origin, relayed or acted on;
//! - `stats`: the peak rule and the statistics, shared by summary and report;
//! - `summary`: the figures printed on stderr at the end of a recording;
//! - `summary_json`: the same figures as a JSON file (`--json-summary`);
//! - `publish`: the figures pushed to Prometheus while recording;
//! - [`recording`]: reading a recording back, in either format;
//! - [`report`] and `plot`: its figures and its chart;
//! - [`units`]: parsing and printing sizes and durations.
//!
//! Modules are private to the crate, except those the benchmarks
//! (`benches/`) and the integration tests (`tests/`) use directly: the
//! probes, the schema, the sinks and their destinations, the reader and the
//! report, the units; `stdfds` is for the binary's load-time constructor.
//! `cgroup` is `pub` for the integration tests, which ask it whether the
//! machine gives a cgroup (they never make one) and for its VM checks.

mod app;
pub mod cgroup;
mod chart_file;
mod cli;
mod config;
mod console;
mod error;
mod interval;
pub mod output;
mod plot;
mod plot_areas;
pub mod probe;
mod publish;
mod quote;
mod reason;
pub mod recording;
pub mod report;
pub mod schema;
mod session;
mod signals;
pub mod sink;
mod stats;
#[doc(hidden)]
pub mod stdfds;
mod summary;
mod summary_json;
mod target;
mod tree;
pub mod units;

pub use app::main_entry;
