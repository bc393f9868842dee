//! The dispatcher: parse the command line, route to a mode, and map every
//! error to its one line and exit code (docs/exit-status.md).

use std::ffi::OsString;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, RecordArgs, Subcommands};
use crate::console;
use crate::record::error::{self, RecordError};
use crate::record::session::{self, Exit};

/// Subcommands that read recordings back exit 2 on errors, not 125.
const READER_SUBCOMMANDS: [&str; 5] = ["report", "plot", "completions", "man", "mark"];
const READER_ERROR: u8 = 2;

/// Runs memsample with these arguments and returns how it should end.
pub(crate) fn run(args: Vec<OsString>) -> Exit {
    let reader = args
        .get(1)
        .and_then(|arg| arg.to_str())
        .is_some_and(|arg| READER_SUBCOMMANDS.contains(&arg));
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => return parse_error(&err, reader),
    };
    match cli.subcommand {
        None => match record(cli.record) {
            Ok(exit) => exit,
            Err(err) => {
                console::say!("{err}");
                Exit::Code(err.exit_code())
            }
        },
        Some(Subcommands::Report(args)) => match crate::report::run(&args.into_options()) {
            Ok(code) => Exit::Code(code),
            Err(err) => reader_error(err),
        },
        Some(Subcommands::Plot(args)) => match crate::plot::run(&args.into_options()) {
            Ok(()) => Exit::Code(0),
            Err(err) => reader_error(err),
        },
        Some(Subcommands::Completions { shell }) => completions(shell),
        Some(Subcommands::Man) => man(),
        Some(Subcommands::Mark(args)) => mark(&args),
    }
}

/// `memsample mark NAME`: a refused name exits 2; without a recording to
/// tell (no socket given, or it is gone), nothing happens and it exits 0,
/// so that a script may always call it (docs/phases.md).
fn mark(args: &crate::cli::MarkArgs) -> Exit {
    use crate::record::control;
    if let Err(message) = control::check_name(&args.name) {
        console::say!("{message}");
        return Exit::Code(READER_ERROR);
    }
    let socket = args.control.clone().or_else(|| {
        std::env::var_os(control::ENV)
            .filter(|v| !v.is_empty())
            .map(Into::into)
    });
    let Some(socket) = socket else {
        return Exit::Code(0);
    };
    match control::send(&socket, &args.name) {
        Ok(()) => Exit::Code(0),
        Err(message) => {
            console::say!("{message}");
            Exit::Code(READER_ERROR)
        }
    }
}

/// The recording mode: the arguments resolved, then the session.
fn record(args: RecordArgs) -> Result<Exit, RecordError> {
    // Before anything is created or started: with another namespace's
    // /proc, every pid would name some other process.
    crate::probe::procfs::check_pid_namespace().map_err(RecordError::Usage)?;
    session::run(args.into_config()?)
}

fn reader_error(err: anyhow::Error) -> Exit {
    console::say!("{err:#}");
    Exit::Code(READER_ERROR)
}

fn parse_error(err: &clap::Error, reader: bool) -> Exit {
    use clap::error::ErrorKind;
    match err.kind() {
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
            Exit::Code(if reader {
                READER_ERROR
            } else {
                error::EXIT_FAILURE
            })
        }
    }
}

fn completions(shell: clap_complete::Shell) -> Exit {
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

fn man() -> Exit {
    match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
        Ok(()) => Exit::Code(0),
        Err(err) => {
            console::say!("cannot write the man page: {}", error::reason(&err));
            Exit::Code(READER_ERROR)
        }
    }
}

/// clap's messages span several lines (usage, tips); every error is one
/// line (docs/exit-status.md).
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

/// memsample's whole life: parse, run, and exit as docs/exit-status.md says.
pub fn main_entry() -> ! {
    // Where the load-time constructor did not run; then a no-op.
    crate::sink::stdfds::guard_standard_fds();
    match run(std::env::args_os().collect()) {
        Exit::Code(code) => std::process::exit(code.into()),
        Exit::Signal(signal) => crate::record::signals::die_of(signal),
    }
}
