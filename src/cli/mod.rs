//! The command line, as docs/usage.md states it: recording
//! options, then either `-- CMD [ARGS...]` or `--pid PID`; or one of the
//! subcommands that read a recording back.
//!
//! `app` routes a parsed command line and maps errors to exit codes;
//! `resolve` turns the arguments into each mode's settings. Nothing outside
//! this module sees the clap types.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::cgroup::CgroupMode;
use crate::probe::Backend;
use crate::report::compare::MaxIncrease;
use crate::sink::Format;
use crate::units;

pub(crate) mod app;
mod resolve;

const AFTER_HELP: &str = "\
Examples:
  memsample -i 5 -o mem.csv -- ./myprog --its-flags   spawn, sample every 5 s
  memsample -o mem.jsonl -- ./myprog                  JSON Lines instead of CSV
  memsample --pid 1234                                attach until it exits or Ctrl-C
  memsample --unit nginx.service -i 5 -o nginx.csv    a service's cgroup: its limit sees this
  memsample report mem.csv                            peak, mean, growth rate
  memsample plot mem.csv                              mem.svg, no Python needed
  memsample report new.csv --baseline old.csv         exit 1 if the peak grew over 10%
  memsample plot a.csv b.csv -o cmp.svg               overlaid, with a CPU panel
  memsample --push http://gateway:9091 -- make        also publish to a Prometheus Pushgateway
  memsample --phases -o t.csv -- ./pipeline.sh        its steps call `memsample mark load`: a peak each
  memsample --phases -o t.csv -- python -m pytest    pip's package marks each test: a peak each

Signals: the command runs in a process group of its own and is given the terminal, so
Ctrl-C, Ctrl-\\ and Ctrl-Z reach it once; INT, TERM, HUP, QUIT and TSTP sent to memsample
(alone or with its group) are relayed once to the command's group, repeats from one sender
within 1 s folded; Ctrl-Z stops memsample too, fg/bg continue both. Signals ignored at
start stay ignored. The command dies with memsample (even kill -9); memsample waits for it.
In attach mode the target is never signalled. `kill -USR1 <memsample's pid>` samples now.

Exit status (recording): the command's own status (or death by the same signal);
125 memsample failed or was misused, 126 the command cannot be executed, 127 not found.
Attach mode exits 0 when the target exits (a cgroup: is removed), or dies of the signal that stopped it.
report/plot: 0, 1 when report finds the peak above --fail-above (or --fail-above-cgroup) or grown
beyond --max-increase over --baseline (the whole's or a phase's), 2 on errors.";

const USAGE: &str = "\
memsample [OPTIONS] -- CMD [ARGS...]
       memsample [OPTIONS] --pid PID
       memsample [OPTIONS] --cgroup-path PATH | --unit NAME | --cgroup-of PID
       memsample report FILE... [--json|--markdown] [--fail-above SIZE] [--fail-above-cgroup SIZE]
       memsample report NEW... --baseline OLD [--max-increase 10%|SIZE]
       memsample plot FILE... [-o FILE.svg]
       memsample mark NAME";

/// Sample the memory of a command or a running process, and of its whole
/// process tree, into CSV or JSON Lines.
#[derive(Debug, Parser)]
#[command(
    name = "memsample",
    version,
    about,
    args_conflicts_with_subcommands = true,
    after_help = AFTER_HELP,
    override_usage = USAGE,
    subcommand_negates_reqs = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) subcommand: Option<Subcommands>,

    #[command(flatten)]
    pub(crate) record: RecordArgs,
}

/// What to record and where.
#[derive(Debug, Args)]
pub(crate) struct RecordArgs {
    /// Time between samples: 5 and 0.5 are seconds; 250ms, 2s, 1m also work (1ms to 100 years)
    #[arg(short, long, value_name = "DUR", default_value = "1s", value_parser = parse_duration_arg, allow_hyphen_values = true)]
    pub(crate) interval: Duration,

    /// Recording destination, `-` for stdout; /dev/stdout, /dev/stderr, /dev/fd/1 and /dev/fd/2
    /// are written through the inherited descriptor, never reopened (an appending log is kept)
    /// [default: memsample-YYYYmmdd-HHMMSS.csv, UTC; .jsonl with --format jsonl]
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,

    /// Format of the recording [default: jsonl when -o ends in .jsonl or .ndjson, else csv]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) format: Option<Format>,

    /// Attach to a running process (a process id; a thread id is refused) instead of spawning a command
    #[arg(long, value_name = "PID", value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "command", allow_hyphen_values = true)]
    pub(crate) pid: Option<u32>,

    /// Attach to a cgroup (a service, a container, a CI job): its directory, absolute or relative to
    /// the cgroup mount (system.slice/nginx.service); recorded until it is removed or you stop it
    #[arg(long, value_name = "PATH", conflicts_with_all = ["command", "pid", "unit", "cgroup_of"])]
    pub(crate) cgroup_path: Option<PathBuf>,

    /// Attach to the cgroup of a systemd unit, scope or slice, found by name under the cgroup mount
    /// (nginx.service)
    #[arg(long, value_name = "NAME", conflicts_with_all = ["command", "pid", "cgroup_of"])]
    pub(crate) unit: Option<String>,

    /// Attach to the cgroup a process is in (a container's: docker inspect -f '{{.State.Pid}}' web)
    #[arg(long, value_name = "PID", value_parser = clap::value_parser!(u32).range(1..), conflicts_with_all = ["command", "pid"], allow_hyphen_values = true)]
    pub(crate) cgroup_of: Option<u32>,

    /// With --cgroup-path, --unit or --cgroup-of: the cgroup's figures alone, no process read (the
    /// same cost however many processes it has; procs and the process columns are 0, and the
    /// summary and memsample report give no RSS figure)
    #[arg(long, conflicts_with_all = ["per_process", "pss"])]
    pub(crate) no_procs: bool,

    /// Only the main process, not its descendants
    #[arg(long, conflicts_with_all = ["cgroup_path", "unit", "cgroup_of"])]
    pub(crate) no_children: bool,

    /// Long format: one row per process per sample (pid, ppid, command, its own peak)
    #[arg(long)]
    pub(crate) per_process: bool,

    /// Add pss_bytes and uss_bytes (private memory: what exiting would free) from
    /// /proc/PID/smaps_rollup (costly: it walks the page tables)
    #[arg(long)]
    pub(crate) pss: bool,

    /// What the memory is: add anon_bytes, file_bytes, shmem_bytes (anon + file + shmem =
    /// rss_bytes), swap_bytes and threads from /proc/PID/status, read for every process every
    /// sample (in place of statm: about twice the cost per process); the /proc backend only
    #[arg(long)]
    pub(crate) breakdown: bool,

    /// Also write the chart of the recording (as `memsample plot`) when it ends; needs the CSV in a
    /// file, and both are checked before the command starts
    #[arg(long, value_name = "FILE.svg")]
    pub(crate) plot: Option<PathBuf>,

    /// Also write the end summary as one JSON object (command, host, start and end, peak, mean, exit
    /// code or signal number, ...) when the recording ends, however it ends, even with -q; checked
    /// before the command starts
    #[arg(long, value_name = "FILE")]
    pub(crate) json_summary: Option<PathBuf>,

    /// Run the command in a cgroup v2 of its own, memsample-PID, for the kernel's exact whole-tree
    /// figures (columns cgroup_bytes, cgroup_peak_bytes, cgroup_interval_peak_bytes; short-lived
    /// children included); removed when the tree is empty. Only inside memsample's own cgroup, so
    /// every limit on memsample holds for the command: in the root cgroup, or where memsample is
    /// alone in a cgroup it may write (systemd-run --user --scope -p Delegate=yes memsample …).
    /// Spawn mode only: with --pid, auto does nothing and require is refused [default: auto]
    #[arg(long, value_enum, value_name = "WHEN")]
    pub(crate) cgroup: Option<CgroupMode>,

    /// Stop sampling after this long, at most 100 years (a spawned command keeps running and is waited
    /// for)
    #[arg(long, value_name = "DUR", value_parser = parse_duration_arg, allow_hyphen_values = true)]
    pub(crate) duration: Option<Duration>,

    /// Stop sampling after this many samples (a spawned command keeps running and is waited for)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), allow_hyphen_values = true)]
    pub(crate) samples: Option<u64>,

    /// Named phases of the job (docs/phases.md): a phase column, and MEMSAMPLE_CONTROL given to the
    /// command, where `memsample mark NAME` (or one datagram of the name; from Python,
    /// memsample.mark(NAME); under pytest, each test) starts a phase at once
    #[arg(long)]
    pub(crate) phases: bool,

    /// With --pid, --cgroup-path, --unit or --cgroup-of: make the marks' socket at PATH (implies
    /// --phases; give PATH to the job as MEMSAMPLE_CONTROL)
    #[arg(long, value_name = "PATH")]
    pub(crate) control: Option<PathBuf>,

    /// With --phases or --control: at each mark, reset the kernel's high-water mark (VmHWM) of every
    /// process read, by writing 5 to /proc/PID/clear_refs, so that each phase's peak_rss_bytes is its
    /// own. It changes what the processes see as their own maximum RSS (getrusage's ru_maxrss,
    /// VmHWM in /proc/PID/status) and costs one write per process per mark
    #[arg(long)]
    pub(crate) reset_peaks: bool,

    /// How processes are read
    #[arg(long, value_enum, value_name = "BACKEND", default_value_t = Backend::Proc)]
    pub(crate) backend: Backend,

    /// No start line, no live line, no warnings, no summary (errors are still printed)
    #[arg(short, long)]
    pub(crate) quiet: bool,

    #[command(flatten)]
    pub(crate) publish: PublishArgs,

    /// The command to spawn and its arguments, after `--`
    #[arg(value_name = "CMD", last = true)]
    pub(crate) command: Vec<OsString>,
}

/// Publishing the figures into Prometheus (docs/publishing.md).
#[derive(Debug, Args)]
#[command(next_help_heading = "Publishing (docs/publishing.md)")]
pub(crate) struct PublishArgs {
    /// Push the figures to a Prometheus Pushgateway (http:// or https://, user:password@ allowed)
    /// every --push-every and at the end, grouped by job and instance (the host's name)
    #[arg(long, value_name = "URL")]
    pub(crate) push: Option<String>,

    /// Write the figures for node_exporter's textfile collector every --push-every and at the end
    /// (FILE.prom.tmp beside it, renamed over FILE.prom)
    #[arg(long, value_name = "FILE.prom")]
    pub(crate) textfile: Option<PathBuf>,

    /// Send the figures over OTLP/HTTP (JSON) every --push-every and at the end; without URL, from
    /// OTEL_EXPORTER_OTLP_METRICS_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/metrics);
    /// OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are honoured
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub(crate) otlp: Option<String>,

    /// The job's name: the Pushgateway's grouping key, the textfile's job label, OTLP's
    /// service.name unless OTEL_SERVICE_NAME gives one [default: the command's base name]
    #[arg(long, value_name = "NAME")]
    pub(crate) job: Option<String>,

    /// A label for the published metrics, repeatable (NAME a Prometheus label name; instance=
    /// replaces the host's name)
    #[arg(long = "label", value_name = "NAME=VALUE")]
    pub(crate) labels: Vec<String>,

    /// How often to publish while recording (at least 100ms)
    #[arg(long, value_name = "DUR", default_value = "15s", value_parser = parse_duration_arg, allow_hyphen_values = true)]
    pub(crate) push_every: Duration,

    /// How long a push may take; the exit waits at most this long for the final one
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = parse_duration_arg, allow_hyphen_values = true)]
    pub(crate) push_timeout: Duration,
}

/// Reading a recording back.
#[derive(Debug, Subcommand)]
pub(crate) enum Subcommands {
    /// Peak, mean, percentiles and growth rate of recordings; a comparison with a baseline (exit 1
    /// above --fail-above or --max-increase)
    Report(ReportArgs),
    /// Draw recordings as an SVG chart: memory, and CPU under it
    Plot(PlotArgs),
    /// Print a shell completion script (e.g. `memsample completions bash > /etc/bash_completion.d/memsample`)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout (e.g. `memsample man > memsample.1`)
    Man,
    /// Start a phase of the job being recorded with --phases (docs/phases.md): sends NAME to
    /// $MEMSAMPLE_CONTROL and returns at once; does nothing without a recording
    Mark(MarkArgs),
}

#[derive(Debug, Args)]
pub(crate) struct MarkArgs {
    /// The phase's name: at most 200 bytes, no control characters
    #[arg(value_name = "NAME", allow_hyphen_values = true)]
    pub(crate) name: String,

    /// The socket to send to [default: $MEMSAMPLE_CONTROL]
    #[arg(long, value_name = "PATH")]
    pub(crate) control: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Recordings written by memsample: CSV or JSON Lines (told by the content), either layout; several
    /// must be of one format and one layout
    #[arg(value_name = "FILE", required = true)]
    pub(crate) files: Vec<PathBuf>,

    /// Print JSON instead of text: one object for one file, an array for several
    #[arg(long, conflicts_with = "markdown")]
    pub(crate) json: bool,

    /// Print a Markdown table instead of text (e.g. >> "$GITHUB_STEP_SUMMARY")
    #[arg(long)]
    pub(crate) markdown: bool,

    /// Exit 1 when the peak RSS is above SIZE (e.g. 512MiB, 2GiB): a CI memory gate
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub(crate) fail_above: Option<u64>,

    /// Exit 1 when the cgroup's peak (the whole tree, page cache included) is above SIZE; needs a
    /// recording with cgroup_peak_bytes
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub(crate) fail_above_cgroup: Option<u64>,

    /// Compare with this recording: signed changes in peak, mean, p95 and duration; exit 1 when the
    /// peak grew by more than --max-increase. Two --phases recordings: each phase too, by name
    /// (its highest peak; phases of one side only are listed, not gated)
    #[arg(long, value_name = "OLD")]
    pub(crate) baseline: Option<PathBuf>,

    /// With --baseline: the growth of the peak allowed, in % of the baseline's peak (up to
    /// 1000000%, at most 4 decimals) or as a size (10%, 50MiB) [default: 10%]; for a phase, in %
    /// of its own baseline peak, or the same size
    #[arg(long, value_name = "LIMIT", requires = "baseline", value_parser = parse_max_increase_arg)]
    pub(crate) max_increase: Option<MaxIncrease>,
}

#[derive(Debug, Args)]
pub(crate) struct PlotArgs {
    /// Recordings written by memsample: CSV or JSON Lines (told by the content), either layout;
    /// one alone has its --breakdown parts or its processes stacked under RSS, and its --phases
    /// as shaded bands with labelled boundaries and each phase's peak as a bar; several are
    /// overlaid on elapsed time, one colour each (totals only)
    #[arg(value_name = "FILE", required = true)]
    pub(crate) files: Vec<PathBuf>,

    /// Where to write the chart [default: FILE with .svg for one recording; required for several]
    #[arg(short, long, value_name = "FILE.svg")]
    pub(crate) output: Option<PathBuf>,
}

fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    units::parse_duration(text)
}

fn parse_size_arg(text: &str) -> Result<u64, String> {
    units::parse_size(text)
}

fn parse_max_increase_arg(text: &str) -> Result<MaxIncrease, String> {
    MaxIncrease::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn command_after_double_dash() {
        let cli = Cli::try_parse_from(["memsample", "-i", "5", "--", "./prog", "-x", "report"])
            .expect("parses");
        assert!(cli.subcommand.is_none());
        assert_eq!(cli.record.interval, Duration::from_secs(5));
        assert_eq!(cli.record.command, ["./prog", "-x", "report"]);
    }

    #[test]
    fn subcommand_named_report() {
        let cli =
            Cli::try_parse_from(["memsample", "report", "mem.csv", "--json"]).expect("parses");
        assert!(matches!(
            cli.subcommand,
            Some(Subcommands::Report(ReportArgs { json: true, .. }))
        ));
    }

    #[test]
    fn command_after_double_dash_named_like_a_subcommand() {
        let cli = Cli::try_parse_from(["memsample", "--", "report", "x"]).expect("parses");
        assert!(cli.subcommand.is_none());
        assert_eq!(cli.record.command, ["report", "x"]);
    }

    #[test]
    fn a_command_needs_double_dash() {
        assert!(Cli::try_parse_from(["memsample", "--frobnicate", "--", "true"]).is_err());
        assert!(Cli::try_parse_from(["memsample", "./prog"]).is_err());
    }

    #[test]
    fn pid_conflicts_with_command() {
        assert!(Cli::try_parse_from(["memsample", "--pid", "1", "--", "true"]).is_err());
        assert!(Cli::try_parse_from(["memsample", "--pid", "0"]).is_err());
        assert!(Cli::try_parse_from(["memsample", "--pid", "-1"]).is_err());
    }
}
