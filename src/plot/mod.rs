//! `memsample plot` and `--plot`: a recording as an SVG chart.
//!
//! Drawn with plotters' SVG backend into a string, then written in one go:
//! plotters' own file target would report a failed write as a drawing
//! error, without the file's name. `areas` stacks a recording's parts or
//! processes, `cgroup` and `overlay` add the cgroup's line and several
//! recordings, `chart_file` writes the SVG where `-o` or `--plot` says.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::console::reason::reason;
use crate::read::{Keep, Peak, Recording, printable};
use crate::units::{format_bytes, format_seconds};

mod areas;
mod cgroup;
pub(crate) mod chart_file;
mod labels;
mod overlay;
mod phases;

const SIZE: (u32, u32) = (1100, 820);

/// The margin around each panel's plot, in pixels.
const MARGIN: u32 = 15;

/// The height of the memory panel (the CPU panel has the rest, under it).
const MEMORY_HEIGHT: u32 = 540;

/// The CPU panel's axis.
const CPU_LABEL: &str = "CPU (% of one core)";

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

/// What `memsample plot` is asked (the command line's `plot` arguments).
#[derive(Debug, Clone, Default)]
pub(crate) struct PlotOptions {
    /// The recordings to draw.
    pub(crate) files: Vec<PathBuf>,
    /// `-o`: where the chart goes; by default next to a single recording.
    pub(crate) output: Option<PathBuf>,
}

/// Runs `memsample plot`.
pub(crate) fn run(args: &PlotOptions) -> anyhow::Result<()> {
    let svg = match (&args.output, args.files.as_slice()) {
        (Some(svg), _) => svg.clone(),
        (None, [file]) => default_output(file),
        // No name would be obvious, and a guessed one could replace a file.
        (None, _) => bail!("plot: several recordings need -o FILE.svg"),
    };
    write_charts(&args.files, &svg)?;
    crate::console::say!("wrote {}", svg.display());
    Ok(())
}

/// The chart's default name: the recording's, with `.svg`.
fn default_output(csv: &Path) -> PathBuf {
    csv.with_extension("svg")
}

/// Reads the recording at `csv` and writes its chart to `svg`.
pub(crate) fn write_chart(csv: &Path, svg: &Path) -> anyhow::Result<()> {
    write_charts(&[csv.to_path_buf()], svg)
}

/// Reads the recordings and writes their chart to `svg`: one recording
/// alone, several overlaid. Nothing is written when one cannot be read.
pub(crate) fn write_charts(files: &[PathBuf], svg: &Path) -> anyhow::Result<()> {
    let mut recordings = Vec::with_capacity(files.len());
    let mut inputs = crate::report::inputs::Inputs::default();
    for csv in files {
        // `plot mem.svg` (a recording named .svg) would otherwise replace
        // the recording with its own chart.
        if let (Ok(input), Ok(output)) = (csv.canonicalize(), svg.canonicalize())
            && input == output
        {
            bail!(
                "{}: refusing to overwrite the recording with its chart (give -o FILE.svg)",
                svg.display()
            );
        }
        // Overlaid, a recording is drawn by its totals only.
        let keep = Keep {
            timeline: false,
            process_lines: files.len() == 1,
        };
        let recording = Recording::read_as(csv, keep)?;
        inputs.admit(&recording)?;
        recordings.push(recording);
    }
    let mut document = String::new();
    {
        let root = SVGBackend::with_string(&mut document, SIZE).into_drawing_area();
        let drawn = match recordings.as_slice() {
            [one] => draw(one, &root),
            many => overlay::draw(many, &root),
        };
        drawn
            .and_then(|()| Ok(root.present()?))
            .with_context(|| match files {
                [one] => format!("cannot draw the chart of {}", one.display()),
                _ => "cannot draw the chart".into(),
            })?;
    }
    crate::plot::chart_file::write(svg, document.as_bytes())
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

/// The peak-so-far line as steps: it holds its value until the next point
/// shows another. It rises where a row knew of a higher peak; it falls only
/// where `--reset-peaks` restarted it at a mark, a point the reading put
/// just after the mark row ([`crate::read::PeakLine`]).
fn steps(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut steps: Vec<(f64, f64)> = Vec::with_capacity(points.len() * 2);
    for &(x, y) in points {
        if let Some(&(_, held)) = steps.last() {
            if held == y {
                continue;
            }
            steps.push((x, held));
        }
        steps.push((x, y));
    }
    if let (Some(&(last_x, last_y)), Some(&(x, _))) = (points.last(), steps.last())
        && last_x > x
    {
        steps.push((last_x, last_y));
    }
    steps
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
    stroke: Stroke,
}

/// How a legend entry shows its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stroke {
    Solid,
    /// Dashes and gaps of these lengths, in pixels.
    Dashed(u32, u32),
    /// A note: text only, from the panel's left edge.
    None,
}

/// The chart's plotting area, in the units of the axes.
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The axes' units and ranges, shared by the memory and the CPU panels.
struct Axes {
    time: Unit,
    bytes: Unit,
    x: std::ops::Range<f64>,
    y_end: f64,
    /// The highest value drawn: RSS or the peak so far.
    highest: u64,
    cpu_end: f64,
}

impl Axes {
    /// Axes for lines from `x_start` to `x_end` seconds, bytes up to
    /// `highest` and CPU up to `cpu_highest` %.
    fn new(x_start: f64, x_end: f64, highest: u64, cpu_highest: f64) -> Axes {
        let time = time_unit(x_end - x_start);
        let bytes = bytes_unit(highest);
        // A single sample (or a flat one) still needs ranges of some width.
        let x_start = x_start / time.divisor;
        let mut x_end = x_end / time.divisor;
        if x_end <= x_start {
            x_end = x_start + 1.0;
        }
        let y_end = if highest == 0 {
            1.0
        } else {
            highest as f64 / bytes.divisor * 1.1
        };
        Axes {
            time,
            bytes,
            x: x_start..x_end,
            y_end,
            highest,
            cpu_end: (cpu_highest * 1.1).max(1.0),
        }
    }

    /// Points of a memory line, `offset` seconds earlier.
    fn scaled(&self, points: &[(f64, f64)], offset: f64) -> Vec<(f64, f64)> {
        let shifted: Vec<(f64, f64)> = points.iter().map(|&(x, y)| (x - offset, y)).collect();
        scaled(&shifted, self.time, self.bytes)
    }

    /// Points of a CPU line (percents stay as they are).
    fn scaled_cpu(&self, points: &[(f64, f64)], offset: f64) -> Vec<(f64, f64)> {
        points
            .iter()
            .map(|&(x, y)| ((x - offset) / self.time.divisor, y))
            .collect()
    }
}

/// The highest CPU of a recording's line.
fn cpu_highest(recording: &Recording) -> f64 {
    recording
        .cpu
        .points()
        .iter()
        .map(|point| point.1)
        .fold(0.0, f64::max)
}

/// The parts of the chart: memory above CPU, the legend right of memory.
struct Panels<'a> {
    memory: DrawingArea<SVGBackend<'a>, Shift>,
    cpu: DrawingArea<SVGBackend<'a>, Shift>,
    legend: DrawingArea<SVGBackend<'a>, Shift>,
}

fn panels<'a>(root: &DrawingArea<SVGBackend<'a>, Shift>, title: &str) -> Result<Panels<'a>> {
    root.fill(&WHITE)?;
    let below_title = root.titled(title, ("sans-serif", 24))?;
    let (top, bottom) = below_title.split_vertically(MEMORY_HEIGHT);
    // The legend has a panel of its own: inside the plot it would hide
    // whichever part of the data happens to lie under it.
    let (memory, legend) = top.split_horizontally(SIZE.0 - LEGEND_WIDTH);
    let (cpu, _) = bottom.split_horizontally(SIZE.0 - LEGEND_WIDTH);
    Ok(Panels {
        memory,
        cpu,
        legend,
    })
}

/// The memory panel, `top` pixels below its top edge.
fn memory_chart<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, Shift>,
    axes: &Axes,
    top: u32,
) -> Result<Chart<'a, 'b>> {
    let label = format!("RSS ({})", axes.bytes.name);
    panel(area, axes, (axes.y_end, top), &label, None)
}

/// The CPU panel: the same time axis, CPU in % of one core.
fn cpu_chart<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, Shift>,
    axes: &Axes,
) -> Result<Chart<'a, 'b>> {
    panel(area, axes, (axes.cpu_end, MARGIN), CPU_LABEL, Some(5))
}

/// A panel on the shared time axis, from 0 to `y_end` on its own axis,
/// its plot `top` pixels below its top edge.
fn panel<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, Shift>,
    axes: &Axes,
    (y_end, top): (f64, u32),
    y_label: &str,
    y_labels: Option<usize>,
) -> Result<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(area)
        .margin(MARGIN)
        .margin_top(top)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(axes.x.clone(), 0.0..y_end)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(format!("elapsed ({})", axes.time.name))
        .y_desc(y_label)
        .light_line_style(BLACK.mix(0.05));
    if let Some(count) = y_labels {
        mesh.y_labels(count);
    }
    mesh.draw()?;
    Ok(chart)
}

/// A recording's name on the chart: its file name.
fn display_name(recording: &Recording) -> String {
    let name = recording.path().file_name().map_or_else(
        || recording.path().display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    printable(&name)
}

fn draw(recording: &Recording, root: &DrawingArea<SVGBackend, Shift>) -> Result<()> {
    let phases = recording.phases().filter(|list| !list.is_empty());
    let rss_highest = recording.running.peak.max(recording.kernel_peak_rss_bytes);
    let mut axes = Axes::new(
        recording.first_elapsed_s,
        recording.last_elapsed_s,
        rss_highest
            .max(cgroup::highest(recording))
            .max(phases::highest(phases.as_deref())),
        cpu_highest(recording),
    );
    // The axis reaches the cgroup's figures; the legend's peak is RSS's.
    axes.highest = rss_highest;
    let panels = panels(root, &format!("memory of {}", display_name(recording)))?;
    let top = phases.as_ref().map_or(MARGIN, |_| phases::TOP_MARGIN);
    let mut chart = memory_chart(&panels.memory, &axes, top)?;
    let timeline = phases.map(|list| phases::Timeline::new(list, &chart, &panels.memory, &axes));
    if let Some(timeline) = &timeline {
        timeline.draw_behind(&mut chart, &axes)?;
    }
    // Drawn first, under the lines; listed after them.
    let cgroup_legend = cgroup::draw(&mut chart, recording, &axes)?;
    let bands = crate::plot::areas::bands(recording, &PROCESS_COLORS);
    let mut legend = if bands.is_empty() {
        draw_processes(&mut chart, recording, &axes)?
    } else {
        draw_bands(&mut chart, &bands, &axes)?
    };
    legend.extend(draw_totals(&mut chart, recording, &axes)?);
    legend.extend(cgroup_legend);
    if let Some(timeline) = &timeline {
        legend.extend(timeline.draw_peaks(&mut chart, &axes)?);
        legend.extend(timeline.draw_labels(&panels.memory)?);
    }
    let bars = timeline
        .as_ref()
        .map(|timeline| timeline.bar_boxes(&chart, &axes))
        .unwrap_or_default();
    draw_peak(&mut chart, &recording.peak, &axes, &bars)?;
    let mut cpu = cpu_chart(&panels.cpu, &axes)?;
    if let Some(timeline) = &timeline {
        timeline.draw_behind(&mut cpu, &axes)?;
    }
    let color = if recording.layout().per_process {
        BLACK
    } else {
        BLUE
    };
    cpu.draw_series(LineSeries::new(
        axes.scaled_cpu(&recording.cpu.points(), 0.0),
        color.stroke_width(1),
    ))?;
    draw_legend(&panels.legend, &legend)
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
        for run in process.series.runs() {
            chart.draw_series(LineSeries::new(
                axes.scaled(&run, 0.0),
                color.stroke_width(1),
            ))?;
        }
        legend.push(LegendEntry {
            label: format!("{} ({})", printable(&process.command), process.pid),
            color,
            width: 1,
            stroke: Stroke::Solid,
        });
    }
    Ok(legend)
}

/// Stacked areas (see [`crate::plot::areas`]); their legend entries, top
/// band first as they lie on the chart.
fn draw_bands(
    chart: &mut Chart<'_, '_>,
    bands: &crate::plot::areas::Stacked,
    axes: &Axes,
) -> Result<Vec<LegendEntry>> {
    crate::plot::areas::draw(chart, bands, (axes.time.divisor, axes.bytes.divisor))?;
    Ok(bands
        .bands
        .iter()
        .rev()
        .map(|band| LegendEntry {
            label: band.label.clone(),
            color: band.color,
            width: 6,
            stroke: Stroke::Solid,
        })
        .collect())
}

/// The RSS of the tree and the peak so far; their legend entries.
fn draw_totals(
    chart: &mut Chart<'_, '_>,
    recording: &Recording,
    axes: &Axes,
) -> Result<Vec<LegendEntry>> {
    // Over stacked areas the RSS line is their total.
    let per_process = recording.layout().per_process || recording.has_breakdown();
    // Under the RSS line: where the two are equal, RSS shows.
    chart.draw_series(LineSeries::new(
        axes.scaled(&steps(&recording.peak_so_far.points()), 0.0),
        RED.stroke_width(1),
    ))?;
    let rss_color = if per_process { BLACK } else { BLUE };
    chart.draw_series(LineSeries::new(
        axes.scaled(&recording.rss.points(), 0.0),
        rss_color.stroke_width(2),
    ))?;
    Ok(vec![
        LegendEntry {
            label: if per_process { "RSS, total" } else { "RSS" }.into(),
            color: rss_color,
            width: 2,
            stroke: Stroke::Solid,
        },
        LegendEntry {
            label: format!("peak so far: {}", format_bytes(axes.highest)),
            color: RED,
            width: 1,
            stroke: Stroke::Solid,
        },
    ])
}

/// The peak's text: its size (plotters' size).
const PEAK_TEXT_SIZE: f64 = 16.0;

/// The peak, marked and labelled on the side with more room, clear of the
/// phases' peak `bars` (docs/phases.md, "In the chart").
fn draw_peak(
    chart: &mut Chart<'_, '_>,
    peak: &Peak,
    axes: &Axes,
    bars: &[labels::Rect],
) -> Result<()> {
    let at = (
        peak.elapsed_s / axes.time.divisor,
        peak.rss_bytes as f64 / axes.bytes.divisor,
    );
    let label = format!(
        "peak {} at {}",
        format_bytes(peak.rss_bytes),
        format_seconds(peak.elapsed_s)
    );
    // Estimated as the phase labels are, at the SVG's font size.
    let font = PEAK_TEXT_SIZE / phases::SVG_FONT_SCALE;
    let size = (labels::text_width(&label, font), font);
    let (x_range, y_range) = chart.plotting_area().get_pixel_range();
    let plot = labels::Rect {
        left: f64::from(x_range.start),
        top: f64::from(y_range.start),
        right: f64::from(x_range.end),
        bottom: f64::from(y_range.end),
    };
    let (x, y) = chart.backend_coord(&at);
    let right_half = at.0 > axes.x.start.midpoint(axes.x.end);
    let place = labels::peak_text((f64::from(x), f64::from(y)), size, right_half, bars, &plot);
    // Whole pixels from the dot: the box's top-left corner.
    let offset = (
        (place.left - f64::from(x)).round() as i32,
        (place.top - f64::from(y)).round() as i32,
    );
    let style = TextStyle::from(("sans-serif", PEAK_TEXT_SIZE).into_font())
        .pos(Pos::new(HPos::Left, VPos::Top));
    chart.draw_series(std::iter::once(
        EmptyElement::at(at)
            + Circle::new((0, 0), 5, RED.filled())
            + Text::new(label, offset, style),
    ))?;
    Ok(())
}

/// The legend, in its panel right of the plot.
fn draw_legend(area: &DrawingArea<SVGBackend, Shift>, legend: &[LegendEntry]) -> Result<()> {
    let text_style =
        TextStyle::from(("sans-serif", 14).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (row, entry) in (0i32..).zip(legend) {
        let y = 30 + row * 22;
        let line = vec![(0, y), (24, y)];
        let style = entry.color.stroke_width(entry.width + 1);
        match entry.stroke {
            Stroke::Solid => area.draw(&PathElement::new(line, style))?,
            Stroke::Dashed(dash, gap) => area.draw(&plotters::element::DashedPathElement::new(
                line, dash, gap, style,
            ))?,
            Stroke::None => {}
        }
        // A note has no line: its text has the line's room.
        let (x, chars) = match entry.stroke {
            Stroke::None => (0, LEGEND_CHARS + 4),
            _ => (32, LEGEND_CHARS),
        };
        area.draw(&Text::new(
            shortened(&entry.label, chars),
            (x, y),
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
    fn peak_is_drawn_as_steps() {
        let points = [(0.0, 1.0), (1.0, 3.0), (2.0, 3.0), (3.0, 8.0), (4.0, 8.0)];
        assert_eq!(
            steps(&points),
            [
                (0.0, 1.0),
                (1.0, 1.0),
                (1.0, 3.0),
                (3.0, 3.0),
                (3.0, 8.0),
                (4.0, 8.0)
            ]
        );
        assert_eq!(steps(&points[..1]), [(0.0, 1.0)]);
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
