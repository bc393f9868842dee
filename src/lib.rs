//! memsample: sample the memory of a command or a running process, and of its
//! whole process tree, into CSV or JSON Lines, at a fixed drift-free interval.
//!
//! The binary is a thin wrapper around [`main_entry`]; each concern lives in a
//! module of its own so that it can be read and tested alone:
//!
//! - [`cli`]: the command line (clap derive) and its value parsers;
//! - [`interval`]: a drift-free, cancellable, triggerable repeating timer;
//! - [`target`]: spawning a command or attaching to a pid, waiting, exit status;
//! - [`probe`]: reading a process's memory and CPU (`/proc` and `sysinfo` backends);
//! - [`tree`]: finding the descendants of the target cheaply, tick after tick;
//! - [`schema`]: the columns of a recording, each named once, and the triggers;
//! - [`output`]: where a recording goes (`-o`);
//! - [`sink`]: the rows written as CSV or JSON Lines, never a partial row;
//! - [`signals`]: signals with their origin, relayed or acted on;
//! - [`stats`]: the peak rule and the statistics, shared by summary and report;
//! - [`summary`]: the figures printed on stderr at the end of a recording;
//! - [`record`]: the recording itself, tying the above together;
//! - [`recording`]: reading a recording back, in either format;
//! - [`report`] and [`plot`]: its figures and its chart;
//! - [`units`]: parsing and printing sizes and durations.

mod chart_file;
pub mod cli;
mod console;
pub mod error;
pub mod interval;
pub mod output;
pub mod plot;
mod plot_areas;
pub mod probe;
mod quote;
pub mod reason;
pub mod record;
pub mod recording;
pub mod report;
pub mod schema;
pub mod signals;
pub mod sink;
pub mod stats;
#[doc(hidden)]
pub mod stdfds;
pub mod summary;
pub mod target;
pub mod tree;
pub mod units;

use std::ffi::OsString;

use clap::{CommandFactory, Parser};

use cli::{Cli, Subcommands};
use record::Exit;

/// Subcommands that read recordings back exit 2 on errors, not 125.
const READER_SUBCOMMANDS: [&str; 4] = ["report", "plot", "completions", "man"];
const READER_ERROR: u8 = 2;

/// The whole program: parse, run, and exit as the README says ("Exit status
/// and signals").
pub fn main_entry() {
    // Where the load-time constructor did not run; then a no-op.
    stdfds::guard_standard_fds();
    match run(std::env::args_os().collect()) {
        Exit::Code(code) => std::process::exit(code.into()),
        Exit::Signal(signal) => signals::die_of(signal),
    }
}

/// Runs memsample with these arguments and returns how it should end.
pub fn run(args: Vec<OsString>) -> Exit {
    let reader = args
        .get(1)
        .and_then(|arg| arg.to_str())
        .is_some_and(|arg| READER_SUBCOMMANDS.contains(&arg));
    let usage_error = if reader {
        READER_ERROR
    } else {
        error::EXIT_FAILURE
    };
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            return match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = err.print();
                    Exit::Code(0)
                }
                _ => {
                    let mut message = one_line(&err.to_string());
                    if let Some(clap::error::ContextValue::String(arg)) =
                        err.get(clap::error::ContextKind::InvalidArg)
                        && err.kind() == ErrorKind::UnknownArgument
                        && !arg.starts_with('-')
                        && !reader
                    {
                        message.push_str(&format!(
                            " (a command goes after --: memsample [OPTIONS] -- {arg} ...)"
                        ));
                    }
                    console::say!("{message}");
                    Exit::Code(usage_error)
                }
            };
        }
    };
    match cli.subcommand {
        None => match record::run(cli.record) {
            Ok(exit) => exit,
            Err(err) => {
                console::say!("{err}");
                Exit::Code(err.exit_code())
            }
        },
        Some(Subcommands::Report(args)) => match report::run(&args) {
            Ok(code) => Exit::Code(code),
            Err(err) => {
                console::say!("{err:#}");
                Exit::Code(READER_ERROR)
            }
        },
        Some(Subcommands::Plot(args)) => match plot::run(&args) {
            Ok(()) => Exit::Code(0),
            Err(err) => {
                console::say!("{err:#}");
                Exit::Code(READER_ERROR)
            }
        },
        Some(Subcommands::Completions { shell }) => {
            // Generated in memory: clap_complete panics on a failed write.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "memsample", &mut script);
            let mut stdout = std::io::stdout().lock();
            match std::io::Write::write_all(&mut stdout, &script)
                .and_then(|()| std::io::Write::flush(&mut stdout))
            {
                Ok(()) => Exit::Code(0),
                Err(err) => {
                    console::say!("cannot write the completions: {}", error::reason(&err));
                    Exit::Code(READER_ERROR)
                }
            }
        }
        Some(Subcommands::Man) => {
            match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => Exit::Code(0),
                Err(err) => {
                    console::say!("cannot write the man page: {}", error::reason(&err));
                    Exit::Code(READER_ERROR)
                }
            }
        }
    }
}

/// clap's messages span several lines (usage, tips); every error is one
/// line (README, "Exit status and signals").
fn one_line(message: &str) -> String {
    let mut parts = Vec::new();
    let mut tips = Vec::new();
    for line in message.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if let Some(tip) = line.strip_prefix("tip: ") {
            tips.push(tip);
        } else if !line.is_empty() {
            parts.push(line.strip_prefix("error: ").unwrap_or(line));
        }
    }
    let mut text = parts.join(" ");
    if !tips.is_empty() {
        text.push_str(&format!(" ({})", tips.join("; ")));
    }
    text
}
