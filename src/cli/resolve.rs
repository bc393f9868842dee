//! The command line's arguments resolved into each mode's settings: a
//! recording's [`RecordConfig`], `report`'s and `plot`'s options. The clap
//! types stop here; nothing below sees them.

use crate::cgroup::CgroupMode;
use crate::cgroup::attach::Which;
use crate::plot::PlotOptions;
use crate::record::config::{Limits, Mode, ProbeSettings, RecordConfig};
use crate::record::error::RecordError;
use crate::record::publish::{Asked, Settings};
use crate::report::ReportOptions;
use crate::schema::Layout;
use crate::sink::Format;
use crate::sink::output::Destination;

use super::{PlotArgs, PublishArgs, RecordArgs, ReportArgs};

impl RecordArgs {
    /// Resolves the arguments; fails when there is nothing to record.
    pub(crate) fn into_config(self) -> Result<RecordConfig, RecordError> {
        let mode = match (self.pid, self.attached_cgroup()) {
            (Some(pid), _) => Mode::Attach { pid },
            (None, Some(which)) => Mode::Cgroup { which },
            (None, None) if self.command.is_empty() => {
                return Err(RecordError::Usage(
                    "nothing to record: give a command after -- (memsample -- ./myprog), --pid PID or --cgroup-path PATH"
                        .into(),
                ));
            }
            (None, None) => Mode::Spawn {
                command: self.command,
            },
        };
        let attached = matches!(mode, Mode::Cgroup { .. });
        if self.no_procs && !attached {
            return Err(RecordError::Usage(
                "--no-procs is for a cgroup attached to (--cgroup-path, --unit or --cgroup-of)"
                    .into(),
            ));
        }
        if attached && self.backend == crate::probe::Backend::Sysinfo {
            return Err(RecordError::Usage(
                "--backend sysinfo cannot follow a cgroup's processes: leave the default --backend proc".into(),
            ));
        }
        // Before anything is created or started.
        crate::probe::sysinfo::check_options(self.backend, self.breakdown)
            .map_err(RecordError::Usage)?;
        let cgroup = cgroup_mode(self.cgroup, &mode)?;
        let phases = phases_of(
            (self.phases, self.control.is_some()),
            self.reset_peaks,
            self.backend,
            &mode,
        )?;
        let publish =
            Settings::resolve(self.publish.into_asked(), &mode).map_err(RecordError::Usage)?;
        Ok(RecordConfig {
            mode,
            interval: self.interval,
            destination: Destination::from_arg(self.output.as_deref()),
            format: Format::resolve(self.format, self.output.as_deref()),
            output: self.output,
            layout: Layout {
                per_process: self.per_process,
                pss: self.pss,
                breakdown: self.breakdown,
                // Set once a cgroup is made (session setup); known now for one
                // attached to.
                cgroup: attached,
                attached,
                phases,
            },
            probe: ProbeSettings {
                backend: self.backend,
                children: !self.no_children,
                pss: self.pss,
                breakdown: self.breakdown,
                no_procs: self.no_procs,
                every_hwm: self.per_process,
            },
            limits: Limits {
                duration: self.duration,
                samples: self.samples,
            },
            plot: self.plot,
            json_summary: self.json_summary,
            cgroup,
            quiet: self.quiet,
            publish,
            control: self.control,
            reset_peaks: self.reset_peaks,
        })
    }
}

/// Whether phases are recorded (`--phases`, or `--control PATH`), and
/// `--reset-peaks` with them (docs/phases.md).
fn phases_of(
    (phases, control): (bool, bool),
    reset_peaks: bool,
    backend: crate::probe::Backend,
    mode: &Mode,
) -> Result<bool, RecordError> {
    let phases = phases || control;
    if phases && !control && !matches!(mode, Mode::Spawn { .. }) {
        return Err(RecordError::Usage(
            "--phases with --pid, --cgroup-path, --unit or --cgroup-of needs --control PATH: the socket the job sends its marks to".into(),
        ));
    }
    if reset_peaks && !phases {
        return Err(RecordError::Usage(
            "--reset-peaks resets the peaks at each mark: it needs --phases (or --control PATH)"
                .into(),
        ));
    }
    if reset_peaks && backend == crate::probe::Backend::Sysinfo {
        return Err(RecordError::Usage(
            "--reset-peaks is not available with --backend sysinfo, which reads no high-water mark (use the default --backend proc)".into(),
        ));
    }
    Ok(phases)
}

impl PublishArgs {
    fn into_asked(self) -> Asked {
        Asked {
            push: self.push,
            textfile: self.textfile,
            otlp: self.otlp,
            job: self.job,
            labels: self.labels,
            push_every: self.push_every,
            push_timeout: self.push_timeout,
        }
    }
}

impl RecordArgs {
    /// The cgroup named by `--cgroup-path`, `--unit` or `--cgroup-of` (clap
    /// lets at most one through).
    fn attached_cgroup(&self) -> Option<Which> {
        let path = self.cgroup_path.clone().map(Which::Path);
        let unit = self.unit.clone().map(Which::Unit);
        path.or(unit).or(self.cgroup_of.map(Which::Of))
    }
}

impl ReportArgs {
    pub(crate) fn into_options(self) -> ReportOptions {
        ReportOptions {
            files: self.files,
            json: self.json,
            markdown: self.markdown,
            fail_above: self.fail_above,
            fail_above_cgroup: self.fail_above_cgroup,
            baseline: self.baseline,
            max_increase: self.max_increase,
        }
    }
}

impl PlotArgs {
    pub(crate) fn into_options(self) -> PlotOptions {
        PlotOptions {
            files: self.files,
            output: self.output,
        }
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
        (Some(CgroupMode::Require), Mode::Cgroup { .. }) => Err(RecordError::Usage(
            "--cgroup require: only a command memsample starts can be given a cgroup; an attached cgroup is read as it is"
                .into(),
        )),
        (_, Mode::Attach { .. } | Mode::Cgroup { .. }) => Ok(CgroupMode::Off),
        (given, Mode::Spawn { .. }) => Ok(given.unwrap_or(CgroupMode::Auto)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn config(args: &[&str]) -> Result<RecordConfig, RecordError> {
        let cli = Cli::try_parse_from(args).expect("parses");
        cli.record.into_config()
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
        assert_eq!(err.exit_code(), crate::record::error::EXIT_FAILURE);
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
