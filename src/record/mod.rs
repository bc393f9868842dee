//! A recording (docs/how-it-works.md): its settings (`config`), the state
//! machine that runs it (`session`), the timer (`interval`), the threads
//! started before the command (`spare`), the process (`target`), the signals (`signals`), the end figures (`summary`,
//! `summary_json`), the figures published while it runs (`publish`), and
//! the errors and exit codes of the recording modes (`error`).

pub(crate) mod config;
pub(crate) mod control;
pub(crate) mod error;
mod interval;
pub(crate) mod publish;
pub(crate) mod session;
pub(crate) mod signals;
mod spare;
mod summary;
mod summary_json;
mod target;
