//! Several recordings in one chart: each from its own start (elapsed time
//! from its first sample), one colour each in both panels, its peak
//! marked, the legend by file name with the peak; a recording with a
//! cgroup adds its cgroup line, dashed, in the same colour.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    Axes, LegendEntry, MARGIN, PROCESS_COLORS, Stroke, cgroup, cpu_chart, cpu_highest,
    display_name, draw_legend, memory_chart, panels,
};
use crate::read::Recording;
use crate::units::format_bytes;

/// The colour of the `index`th recording (the palette repeats past 8).
fn color(index: usize) -> RGBColor {
    PROCESS_COLORS[index % PROCESS_COLORS.len()]
}

pub(super) fn draw(recordings: &[Recording], root: &DrawingArea<SVGBackend, Shift>) -> Result<()> {
    let longest = recordings
        .iter()
        .map(|recording| recording.last_elapsed_s - recording.first_elapsed_s)
        .fold(0.0, f64::max);
    let highest = recordings
        .iter()
        .map(|recording| recording.running.peak.max(cgroup::highest(recording)))
        .max()
        .unwrap_or(0);
    let cpu = recordings.iter().map(cpu_highest).fold(0.0, f64::max);
    let axes = Axes::new(0.0, longest, highest, cpu);
    let title = format!("memory of {} recordings", recordings.len());
    let panels = panels(root, &title)?;
    let mut memory = memory_chart(&panels.memory, &axes, MARGIN)?;
    let mut legend = Vec::with_capacity(recordings.len());
    for (index, recording) in recordings.iter().enumerate() {
        let (color, offset) = (color(index), recording.first_elapsed_s);
        for run in recording.rss.runs() {
            memory.draw_series(LineSeries::new(
                axes.scaled(&run, offset),
                color.stroke_width(2),
            ))?;
        }
        let peak = &recording.peak;
        memory.draw_series(std::iter::once(Circle::new(
            (
                (peak.elapsed_s - offset) / axes.time.divisor,
                peak.rss_bytes as f64 / axes.bytes.divisor,
            ),
            4,
            color.filled(),
        )))?;
        legend.push(LegendEntry {
            label: format!(
                "{}: {}",
                display_name(recording),
                format_bytes(peak.rss_bytes)
            ),
            color,
            width: 2,
            stroke: Stroke::Solid,
        });
        legend.extend(cgroup::draw_overlaid(&mut memory, recording, &axes, color)?);
    }
    let mut cpu = cpu_chart(&panels.cpu, &axes)?;
    for (index, recording) in recordings.iter().enumerate() {
        cpu.draw_series(LineSeries::new(
            axes.scaled_cpu(&recording.cpu.points(), recording.first_elapsed_s),
            color(index).stroke_width(1),
        ))?;
    }
    draw_legend(&panels.legend, &legend)
}
