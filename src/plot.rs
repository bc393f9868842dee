//! `memsample plot` and `--plot`: a recording as an SVG chart.
//!
//! Drawn with plotters' SVG backend into a string, then written in one go:
//! plotters' own file target would report a failed write as a drawing
//! error, without the file's name.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::cli::PlotArgs;
use crate::reason::reason;
use crate::recording::{Recording, Sample, printable};
use crate::units::{format_bytes, format_seconds};

const SIZE: (u32, u32) = (1100, 600);

/// A line keeps at most about this many points: more than the chart has
/// pixels across, so nothing visible is lost, while a day at 10 Hz does not
/// become a 20 MB SVG.
const MAX_BUCKETS: usize = 1000;

/// The width of the legend's panel, right of the plot, in pixels.
const LEGEND_WIDTH: u32 = 230;

/// The longest legend label: what fits in its panel.
const LEGEND_CHARS: usize = 26;

/// The colours of the processes of a per-process recording, one each for
/// the ones with the highest peaks (Tableau's, without the red of the peak
/// line and the grey that reads as a grid).
const PROCESS_COLORS: [RGBColor; 8] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// Runs `memsample plot`.
pub fn run(args: &PlotArgs) -> anyhow::Result<()> {
    let svg = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.file));
    write_chart(&args.file, &svg)?;
    crate::console::say!("wrote {}", svg.display());
    Ok(())
}

/// The chart's default name: the recording's, with `.svg`.
fn default_output(csv: &Path) -> PathBuf {
    csv.with_extension("svg")
}

/// Reads the recording at `csv` and writes its chart to `svg`.
pub fn write_chart(csv: &Path, svg: &Path) -> anyhow::Result<()> {
    let recording = Recording::read(csv)?;
    // `plot mem.svg` (a recording named .svg) would otherwise replace the
    // recording with its own chart.
    if let (Ok(input), Ok(output)) = (csv.canonicalize(), svg.canonicalize())
        && input == output
    {
        bail!(
            "{}: refusing to overwrite the recording with its chart (give -o FILE.svg)",
            svg.display()
        );
    }
    let mut document = String::new();
    {
        let root = SVGBackend::with_string(&mut document, SIZE).into_drawing_area();
        draw(&recording, &root)
            .and_then(|()| Ok(root.present()?))
            .with_context(|| format!("cannot draw the chart of {}", csv.display()))?;
    }
    crate::chart_file::write(svg, document.as_bytes())
        .map_err(|err| anyhow!("cannot write {}: {}", svg.display(), reason(&err)))
}

/// A unit for an axis: values are divided by `divisor` and the axis says `name`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Unit {
    divisor: f64,
    name: &'static str,
}

/// The largest binary unit in which the highest value is at least 1.
fn bytes_unit(highest: u64) -> Unit {
    let (shift, name) = match highest {
        0..0x400 => (0, "B"),
        0x400..0x10_0000 => (10, "KiB"),
        0x10_0000..0x4000_0000 => (20, "MiB"),
        _ => (30, "GiB"),
    };
    Unit {
        divisor: (1u64 << shift) as f64,
        name,
    }
}

/// Seconds up to two minutes, minutes up to two hours, hours beyond.
fn time_unit(duration_s: f64) -> Unit {
    if duration_s < 120.0 {
        Unit {
            divisor: 1.0,
            name: "s",
        }
    } else if duration_s < 7200.0 {
        Unit {
            divisor: 60.0,
            name: "min",
        }
    } else {
        Unit {
            divisor: 3600.0,
            name: "h",
        }
    }
}

/// Keeps the lowest and the highest point of each of about `buckets` runs
/// of consecutive points, in order: the line looks the same at the chart's
/// resolution and every peak stays.
fn decimate(points: &[(f64, f64)], buckets: usize) -> Vec<(f64, f64)> {
    if points.len() <= 2 * buckets || buckets == 0 {
        return points.to_vec();
    }
    let size = points.len().div_ceil(buckets);
    let mut kept = Vec::with_capacity(2 * buckets + 1);
    for chunk in points.chunks(size) {
        let low = (0..chunk.len()).min_by(|&a, &b| chunk[a].1.total_cmp(&chunk[b].1));
        let high = (0..chunk.len()).max_by(|&a, &b| chunk[a].1.total_cmp(&chunk[b].1));
        if let (Some(low), Some(high)) = (low, high) {
            kept.push(chunk[low.min(high)]);
            if low != high {
                kept.push(chunk[low.max(high)]);
            }
        }
    }
    if let (Some(&last), Some(&kept_last)) = (points.last(), kept.last())
        && last != kept_last
    {
        kept.push(last);
    }
    kept
}

/// The peak-so-far column as steps: it holds its value until the next
/// sample shows a higher one (it never decreases in a memsample file).
fn peak_steps(samples: &[Sample]) -> Vec<(f64, f64)> {
    let mut steps: Vec<(f64, f64)> = Vec::new();
    let mut previous: Option<u64> = None;
    for sample in samples {
        let value = sample.peak_rss_bytes;
        match previous {
            Some(held) if held == value => continue,
            Some(held) => steps.push((sample.elapsed_s, held as f64)),
            None => {}
        }
        steps.push((sample.elapsed_s, value as f64));
        previous = Some(value);
    }
    if let (Some(last), Some(&(x, _))) = (samples.last(), steps.last())
        && last.elapsed_s > x
    {
        steps.push((last.elapsed_s, last.peak_rss_bytes as f64));
    }
    steps
}

/// Splits a process's points into runs of consecutive samples, so that a
/// process that was absent for a while is not drawn across the gap.
fn runs(points: &[(usize, u64)], samples: &[Sample]) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut previous_index: Option<usize> = None;
    for &(index, rss) in points {
        let Some(sample) = samples.get(index) else {
            continue;
        };
        let point = (sample.elapsed_s, rss as f64);
        match (runs.last_mut(), previous_index) {
            (Some(run), Some(previous)) if index == previous + 1 => run.push(point),
            _ => runs.push(vec![point]),
        }
        previous_index = Some(index);
    }
    runs
}

fn scaled(points: &[(f64, f64)], time: Unit, bytes: Unit) -> Vec<(f64, f64)> {
    points
        .iter()
        .map(|&(x, y)| (x / time.divisor, y / bytes.divisor))
        .collect()
}

/// One line of the legend.
struct LegendEntry {
    label: String,
    color: RGBColor,
    width: u32,
}

/// The chart's plotting area, in the units of the axes.
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The axes' units and ranges.
struct Axes {
    time: Unit,
    bytes: Unit,
    x: std::ops::Range<f64>,
    y_end: f64,
    /// The highest value drawn: RSS or the peak so far.
    highest: u64,
}

impl Axes {
    fn new(samples: &[Sample]) -> Result<Axes> {
        let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
            bail!("no samples");
        };
        let highest = samples
            .iter()
            .map(|sample| sample.rss_bytes.max(sample.peak_rss_bytes))
            .max()
            .unwrap_or(0);
        let time = time_unit(last.elapsed_s - first.elapsed_s);
        let bytes = bytes_unit(highest);
        // A single sample (or a flat one) still needs ranges of some width.
        let x_start = first.elapsed_s / time.divisor;
        let mut x_end = last.elapsed_s / time.divisor;
        if x_end <= x_start {
            x_end = x_start + 1.0;
        }
        let y_end = if highest == 0 {
            1.0
        } else {
            highest as f64 / bytes.divisor * 1.1
        };
        Ok(Axes {
            time,
            bytes,
            x: x_start..x_end,
            y_end,
            highest,
        })
    }

    fn scaled(&self, points: &[(f64, f64)]) -> Vec<(f64, f64)> {
        scaled(&decimate(points, MAX_BUCKETS), self.time, self.bytes)
    }
}

fn draw(recording: &Recording, root: &DrawingArea<SVGBackend, Shift>) -> Result<()> {
    let samples = recording.samples();
    let axes = Axes::new(samples)?;
    root.fill(&WHITE)?;
    let name = recording.path().file_name().map_or_else(
        || recording.path().display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let below_title = root.titled(
        &format!("memory of {}", printable(&name)),
        ("sans-serif", 24),
    )?;
    // The legend has a panel of its own: inside the plot it would hide
    // whichever part of the data happens to lie under it.
    let (plot_area, legend_area) = below_title.split_horizontally(SIZE.0 - LEGEND_WIDTH);
    let mut chart = ChartBuilder::on(&plot_area)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(axes.x.clone(), 0.0..axes.y_end)?;
    chart
        .configure_mesh()
        .x_desc(format!("elapsed ({})", axes.time.name))
        .y_desc(format!("RSS ({})", axes.bytes.name))
        .light_line_style(BLACK.mix(0.05))
        .draw()?;

    let bands = crate::plot_areas::bands(recording, &PROCESS_COLORS);
    let mut legend = if bands.is_empty() {
        draw_processes(&mut chart, recording, &axes)?
    } else {
        draw_bands(&mut chart, recording, &bands, &axes)?
    };
    legend.extend(draw_totals(&mut chart, recording, &axes)?);
    draw_peak(&mut chart, recording.peak(), &axes)?;
    draw_legend(&legend_area, &legend)
}

/// A per-process recording's processes with the highest peaks, one line
/// each; their legend entries.
fn draw_processes(
    chart: &mut Chart<'_, '_>,
    recording: &Recording,
    axes: &Axes,
) -> Result<Vec<LegendEntry>> {
    let mut legend = Vec::new();
    if !recording.layout().per_process {
        return Ok(legend);
    }
    let top = recording.top_processes(PROCESS_COLORS.len());
    for (process, &color) in top.into_iter().zip(&PROCESS_COLORS) {
        for run in runs(&process.points, recording.samples()) {
            chart.draw_series(LineSeries::new(axes.scaled(&run), color.stroke_width(1)))?;
        }
        legend.push(LegendEntry {
            label: format!("{} ({})", printable(&process.command), process.pid),
            color,
            width: 1,
        });
    }
    Ok(legend)
}

/// Stacked areas (see [`crate::plot_areas`]); their legend entries, top
/// band first as they lie on the chart.
fn draw_bands(
    chart: &mut Chart<'_, '_>,
    recording: &Recording,
    bands: &[crate::plot_areas::Band],
    axes: &Axes,
) -> Result<Vec<LegendEntry>> {
    crate::plot_areas::draw(
        chart,
        recording,
        bands,
        (axes.time.divisor, axes.bytes.divisor),
    )?;
    Ok(bands
        .iter()
        .rev()
        .map(|band| LegendEntry {
            label: band.label.clone(),
            color: band.color,
            width: 6,
        })
        .collect())
}

/// The RSS of the tree and the peak so far; their legend entries.
fn draw_totals(
    chart: &mut Chart<'_, '_>,
    recording: &Recording,
    axes: &Axes,
) -> Result<Vec<LegendEntry>> {
    let samples = recording.samples();
    // Over stacked areas the RSS line is their total.
    let per_process =
        recording.layout().per_process || samples.iter().any(|sample| sample.breakdown.is_some());
    // Under the RSS line: where the two are equal, RSS shows.
    chart.draw_series(LineSeries::new(
        axes.scaled(&peak_steps(samples)),
        RED.stroke_width(1),
    ))?;
    let rss: Vec<(f64, f64)> = samples
        .iter()
        .map(|sample| (sample.elapsed_s, sample.rss_bytes as f64))
        .collect();
    let rss_color = if per_process { BLACK } else { BLUE };
    chart.draw_series(LineSeries::new(
        axes.scaled(&rss),
        rss_color.stroke_width(2),
    ))?;
    Ok(vec![
        LegendEntry {
            label: if per_process { "RSS, total" } else { "RSS" }.into(),
            color: rss_color,
            width: 2,
        },
        LegendEntry {
            label: format!("peak so far: {}", format_bytes(axes.highest)),
            color: RED,
            width: 1,
        },
    ])
}

/// The peak, marked and labelled on the side with more room.
fn draw_peak(chart: &mut Chart<'_, '_>, peak: &Sample, axes: &Axes) -> Result<()> {
    let peak_x = peak.elapsed_s / axes.time.divisor;
    let right_half = peak_x > axes.x.start.midpoint(axes.x.end);
    let (anchor, offset) = if right_half {
        (HPos::Right, -8)
    } else {
        (HPos::Left, 8)
    };
    let label = format!(
        "peak {} at {}",
        format_bytes(peak.rss_bytes),
        format_seconds(peak.elapsed_s)
    );
    let style = TextStyle::from(("sans-serif", 16).into_font()).pos(Pos::new(anchor, VPos::Bottom));
    chart.draw_series(std::iter::once(
        EmptyElement::at((peak_x, peak.rss_bytes as f64 / axes.bytes.divisor))
            + Circle::new((0, 0), 5, RED.filled())
            + Text::new(label, (offset, -8), style),
    ))?;
    Ok(())
}

/// The legend, in its panel right of the plot.
fn draw_legend(area: &DrawingArea<SVGBackend, Shift>, legend: &[LegendEntry]) -> Result<()> {
    let text_style =
        TextStyle::from(("sans-serif", 14).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (row, entry) in (0i32..).zip(legend) {
        let y = 30 + row * 22;
        area.draw(&PathElement::new(
            vec![(0, y), (24, y)],
            entry.color.stroke_width(entry.width + 1),
        ))?;
        area.draw(&Text::new(
            shortened(&entry.label, LEGEND_CHARS),
            (32, y),
            text_style.clone(),
        ))?;
    }
    Ok(())
}

/// `text` cut to `chars` characters, with an ellipsis when cut.
fn shortened(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn sample(elapsed_s: f64, rss_bytes: u64, peak_rss_bytes: u64) -> Sample {
        Sample {
            timestamp: UNIX_EPOCH,
            elapsed_s,
            procs: 1,
            rss_bytes,
            pss_bytes: None,
            uss_bytes: None,
            breakdown: None,
            peak_rss_bytes,
        }
    }

    #[test]
    fn units_fit_the_data() {
        assert_eq!(bytes_unit(0).name, "B");
        assert_eq!(bytes_unit(1023).name, "B");
        assert_eq!(bytes_unit(1024).name, "KiB");
        assert_eq!(bytes_unit(300 << 20).name, "MiB");
        assert_eq!(bytes_unit(3 << 30).name, "GiB");
        assert_eq!(time_unit(0.0).name, "s");
        assert_eq!(time_unit(600.0).name, "min");
        assert_eq!(time_unit(86400.0).name, "h");
    }

    #[test]
    fn decimation_keeps_extremes_and_ends() {
        let mut points: Vec<(f64, f64)> = (0..100_000).map(|x| (x as f64, 1.0)).collect();
        points[54_321].1 = 99.0;
        points[12_345].1 = -5.0;
        let kept = decimate(&points, 100);
        assert!(kept.len() <= 201, "{}", kept.len());
        assert!(kept.contains(&(54_321.0, 99.0)));
        assert!(kept.contains(&(12_345.0, -5.0)));
        assert_eq!(kept.first(), points.first());
        assert_eq!(kept.last(), points.last());
        assert!(kept.windows(2).all(|pair| pair[0].0 < pair[1].0));
        assert_eq!(decimate(&points[..10], 100), points[..10].to_vec());
    }

    #[test]
    fn peak_is_drawn_as_steps() {
        let samples = [
            sample(0.0, 1, 1),
            sample(1.0, 3, 3),
            sample(2.0, 2, 3),
            sample(3.0, 2, 8),
            sample(4.0, 2, 8),
        ];
        assert_eq!(
            peak_steps(&samples),
            [
                (0.0, 1.0),
                (1.0, 1.0),
                (1.0, 3.0),
                (3.0, 3.0),
                (3.0, 8.0),
                (4.0, 8.0)
            ]
        );
        assert_eq!(peak_steps(&samples[..1]), [(0.0, 1.0)]);
    }

    #[test]
    fn process_lines_break_at_gaps() {
        let samples: Vec<Sample> = (0..5).map(|t| sample(t as f64, 0, 0)).collect();
        let points = [(0, 10), (1, 11), (3, 13), (4, 14)];
        assert_eq!(
            runs(&points, &samples),
            [
                vec![(0.0, 10.0), (1.0, 11.0)],
                vec![(3.0, 13.0), (4.0, 14.0)]
            ]
        );
    }

    #[test]
    fn long_labels_are_shortened() {
        assert_eq!(shortened("worker (12)", 26), "worker (12)");
        assert_eq!(shortened("abcdefgh", 5), "abcd…");
    }

    #[test]
    fn default_output_replaces_the_extension() {
        assert_eq!(
            default_output(Path::new("out/mem.csv")),
            Path::new("out/mem.svg")
        );
        assert_eq!(default_output(Path::new("mem")), Path::new("mem.svg"));
    }
}
