//! A recording's settings, resolved once from the command line (README,
//! "Usage"): the clap types stop here, and nothing below the dispatcher sees
//! them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{Backend, CgroupMode, RecordArgs};
use crate::error::RecordError;
use crate::output::Destination;
use crate::schema::Layout;
use crate::sink::Format;

/// What is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Start this command (never empty) and record it until it exits.
    Spawn { command: Vec<OsString> },
    /// Record a running process, which is never signalled.
    Attach { pid: u32 },
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
    pub(crate) publish: Option<crate::publish::Settings>,
}

impl RecordConfig {
    /// Resolves the arguments; fails when there is nothing to record.
    pub(crate) fn from_args(args: RecordArgs) -> Result<RecordConfig, RecordError> {
        let mode = match args.pid {
            Some(pid) => Mode::Attach { pid },
            None if args.command.is_empty() => {
                return Err(RecordError::Usage(
                    "nothing to record: give a command after -- (memsample -- ./myprog) or --pid PID"
                        .into(),
                ));
            }
            None => Mode::Spawn {
                command: args.command,
            },
        };
        // Before anything is created or started.
        crate::probe::sysinfo::check_options(args.backend, args.breakdown)
            .map_err(RecordError::Usage)?;
        let cgroup = cgroup_mode(args.cgroup, &mode)?;
        let publish =
            crate::publish::Settings::resolve(args.publish, &mode).map_err(RecordError::Usage)?;
        Ok(RecordConfig {
            mode,
            interval: args.interval,
            destination: Destination::from_arg(args.output.as_deref()),
            format: Format::resolve(args.format, args.output.as_deref()),
            output: args.output,
            layout: Layout {
                per_process: args.per_process,
                pss: args.pss,
                breakdown: args.breakdown,
                // Set once a cgroup is made (session setup).
                cgroup: false,
            },
            probe: ProbeSettings {
                backend: args.backend,
                children: !args.no_children,
                pss: args.pss,
                breakdown: args.breakdown,
                every_hwm: args.per_process,
            },
            limits: Limits {
                duration: args.duration,
                samples: args.samples,
            },
            plot: args.plot,
            json_summary: args.json_summary,
            cgroup,
            quiet: args.quiet,
            publish,
        })
    }

    pub(crate) fn is_spawn(&self) -> bool {
        matches!(self.mode, Mode::Spawn { .. })
    }
}

/// `--cgroup` resolved: a cgroup is for a command memsample starts, so in
/// attach mode `auto` (the default) does nothing and `require` is refused.
fn cgroup_mode(given: Option<CgroupMode>, mode: &Mode) -> Result<CgroupMode, RecordError> {
    match (given, mode) {
        (Some(CgroupMode::Require), Mode::Attach { .. }) => Err(RecordError::Usage(
            "--cgroup require: only a command memsample starts can be given a cgroup, not --pid"
                .into(),
        )),
        (_, Mode::Attach { .. }) => Ok(CgroupMode::Off),
        (given, Mode::Spawn { .. }) => Ok(given.unwrap_or(CgroupMode::Auto)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn config(args: &[&str]) -> Result<RecordConfig, RecordError> {
        let cli = Cli::try_parse_from(args).expect("parses");
        RecordConfig::from_args(cli.record)
    }

    #[test]
    fn spawn_mode_with_its_settings() {
        let config = config(&[
            "memsample",
            "-i",
            "250ms",
            "-o",
            "x.jsonl",
            "--no-children",
            "--samples",
            "3",
            "--",
            "./prog",
            "-a",
        ])
        .expect("resolves");
        assert_eq!(
            config.mode,
            Mode::Spawn {
                command: vec!["./prog".into(), "-a".into()]
            }
        );
        assert_eq!(config.interval, Duration::from_millis(250));
        assert_eq!(config.format, Format::Jsonl);
        assert_eq!(config.destination, Destination::File("x.jsonl".into()));
        assert!(!config.probe.children);
        assert_eq!(config.limits.samples, Some(3));
        assert!(config.is_spawn());
    }

    #[test]
    fn attach_mode_and_stdout() {
        let config =
            config(&["memsample", "--pid", "42", "-o", "-", "--per-process"]).expect("resolves");
        assert_eq!(config.mode, Mode::Attach { pid: 42 });
        assert_eq!(config.destination, Destination::Stdout);
        assert_eq!(config.format, Format::Csv);
        assert!(config.layout.per_process && config.probe.every_hwm);
    }

    #[test]
    fn cgroup_is_for_spawn_mode() {
        let spawn = config(&["memsample", "--", "true"]).expect("resolves");
        assert_eq!(spawn.cgroup, CgroupMode::Auto);
        let off = config(&["memsample", "--cgroup", "off", "--", "true"]).expect("resolves");
        assert_eq!(off.cgroup, CgroupMode::Off);
        let attach = config(&["memsample", "--pid", "42"]).expect("resolves");
        assert_eq!(attach.cgroup, CgroupMode::Off);
        let auto = config(&["memsample", "--cgroup", "auto", "--pid", "42"]).expect("resolves");
        assert_eq!(auto.cgroup, CgroupMode::Off);
        let err =
            config(&["memsample", "--cgroup", "require", "--pid", "42"]).expect_err("refused");
        assert!(err.to_string().starts_with("--cgroup require: "), "{err}");
    }

    #[test]
    fn nothing_to_record_is_a_usage_error() {
        let err = config(&["memsample", "-i", "1s"]).expect_err("refused");
        assert!(err.to_string().starts_with("nothing to record"), "{err}");
        assert_eq!(err.exit_code(), crate::error::EXIT_FAILURE);
    }

    #[test]
    fn breakdown_adds_columns_and_needs_the_proc_backend() {
        let resolved = config(&["memsample", "--breakdown", "--", "./prog"]).expect("resolves");
        assert!(resolved.layout.breakdown && resolved.probe.breakdown);
        let refused = config(&[
            "memsample",
            "--breakdown",
            "--backend",
            "sysinfo",
            "--",
            "./prog",
        ]);
        assert!(matches!(refused, Err(RecordError::Usage(message))
            if message.starts_with("--breakdown is not available with --backend sysinfo: ")));
    }
}
