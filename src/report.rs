//! `memsample report`: the figures of a recording.

use crate::cli::ReportArgs;

/// Runs `memsample report`; returns the exit code (0, or 1 when the peak is above `--fail-above`).
pub fn run(args: &ReportArgs) -> anyhow::Result<u8> {
    anyhow::bail!("{}: report is not available yet", args.file.display())
}
