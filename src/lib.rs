//! memsample: sample the memory of a command or a running process, and of its
//! whole process tree, into CSV or JSON Lines, at a fixed drift-free interval.
//!
//! The map (docs/architecture.md walks one sample through it):
//!
//! - `cli`: the command line, resolved into settings; `main_entry` routes and exits;
//! - `record`: a recording: settings, the session state machine, timer, target, signals,
//!   summary, publishing;
//! - [`probe`]: reading processes (`/proc` or `sysinfo`) and finding the tree;
//! - [`cgroup`]: a cgroup v2 of the command's own, or one attached to, for whole-tree figures;
//! - [`schema`]: the columns of a recording, each named once, and the triggers;
//! - [`sink`]: rows written as CSV or JSON Lines, and where they go (`-o`);
//! - [`read`]: reading a recording back, in either format;
//! - [`report`] and `plot`: its figures and its chart;
//! - `stats`: the peak rule and the statistics, shared by summary and report;
//! - `console`: every line memsample writes on stderr;
//! - [`units`]: parsing and printing sizes and durations.
//!
//! Modules are `pub` only where the benchmarks, the integration tests or the
//! real-kernel checks (`examples/cgroup_check.rs`) use them; `sink::stdfds`
//! is for the binary's load-time constructor.

pub mod cgroup;
mod cli;
mod console;
mod plot;
pub mod probe;
pub mod read;
mod record;
pub mod report;
pub mod schema;
pub mod sink;
mod stats;
pub mod units;

pub use cli::app::main_entry;
