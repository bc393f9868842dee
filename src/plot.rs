//! `memsample plot` and `--plot`: a recording as an SVG chart.

use std::path::Path;

use crate::cli::PlotArgs;

/// Runs `memsample plot`.
pub fn run(args: &PlotArgs) -> anyhow::Result<()> {
    write_chart(&args.file, args.output.as_deref().unwrap_or(Path::new("out.svg")))
}

/// Reads the recording at `csv` and writes its chart to `svg`.
pub fn write_chart(csv: &Path, svg: &Path) -> anyhow::Result<()> {
    anyhow::bail!("{} -> {}: plot is not available yet", csv.display(), svg.display())
}
