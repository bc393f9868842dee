//! memsample: sample the memory of a command or a running process, and of its
//! whole process tree, into CSV, at a fixed drift-free interval.
//!
//! The binary is a thin wrapper around [`main_entry`]; each concern lives in a
//! module of its own so that it can be read and tested alone:
//!
//! - [`cli`]: the command line (clap derive) and its value parsers;
//! - [`interval`]: a drift-free, cancellable, triggerable repeating timer;
//! - [`target`]: spawning a command or attaching to a pid, waiting, exit status;
//! - [`probe`]: reading a process's memory and CPU (`/proc` and `sysinfo` backends);
//! - [`tree`]: finding the descendants of the target cheaply, tick after tick;
//! - [`output`]: the CSV schema and a writer that never leaves a partial row;
//! - [`signals`]: signals with their origin, relayed or acted on;
//! - [`summary`]: the figures printed on stderr at the end of a recording;
//! - [`record`]: the recording itself, tying the above together;
//! - [`report`] and [`plot`]: reading a recording back;
//! - [`units`]: parsing and printing sizes and durations.

pub mod cli;
pub mod error;
pub mod interval;
pub mod output;
pub mod plot;
pub mod probe;
pub mod record;
pub mod report;
pub mod signals;
pub mod summary;
pub mod target;
pub mod tree;
pub mod units;

pub use error::main_entry;
