//! The command's cgroup in a chart of one recording (docs/cgroups.md):
//! `cgroup_bytes` as a line, and where the kernel could reset its mark, each
//! interval's peak as a shaded envelope over the interval it covers, above the
//! samples.

use anyhow::Result;
use plotters::prelude::*;

use super::{Axes, Chart, LegendEntry, Stroke};
use crate::read::Recording;
use crate::units::format_bytes;

/// The cgroup's colour: apart from RSS (blue), the peak (red) and the
/// processes' palette.
const CGROUP: RGBColor = RGBColor(0, 140, 70);

/// The limit's colour and the OOM kills': alarm red, apart from the peak's.
const LIMIT: RGBColor = RGBColor(200, 30, 30);

/// A limit more than this many times the highest figure stays off the
/// axis (its line would flatten everything else); the legend still gives it.
const LIMIT_REACH: u64 = 2;

/// The highest memory the cgroup's figures reach, for the axis: its limit
/// too when it is near.
pub(super) fn highest(recording: &Recording) -> u64 {
    let figures = figures_highest(recording);
    match recording.cgroup_limit {
        Some(limit) if limit <= figures.saturating_mul(LIMIT_REACH) => figures.max(limit),
        _ => figures,
    }
}

fn figures_highest(recording: &Recording) -> u64 {
    let envelope = recording
        .cgroup_interval_peak
        .points()
        .iter()
        .map(|point| point.1 as u64)
        .max()
        .unwrap_or(0);
    recording
        .cgroup_peak
        .map_or(0, |(bytes, _)| bytes)
        .max(envelope)
}

/// Draws the envelope and the line; their legend entries (none without a
/// cgroup).
pub(super) fn draw(
    chart: &mut Chart<'_, '_>,
    recording: &Recording,
    axes: &Axes,
) -> Result<Vec<LegendEntry>> {
    let mut legend = Vec::new();
    let Some((peak, _)) = recording.cgroup_peak else {
        return Ok(legend);
    };
    let envelope = intervals(&recording.cgroup_interval_peak.points());
    if !envelope.is_empty() {
        // Under the lines, translucent: no sample is hidden.
        chart.draw_series(
            AreaSeries::new(axes.scaled(&envelope, 0.0), 0.0, CGROUP.mix(0.12))
                .border_style(CGROUP.mix(0.5).stroke_width(1)),
        )?;
        legend.push(LegendEntry {
            label: "cgroup peak per interval".into(),
            color: RGBColor(170, 215, 190),
            width: 6,
            stroke: Stroke::Solid,
        });
    }
    for run in recording.cgroup.runs() {
        chart.draw_series(LineSeries::new(
            axes.scaled(&run, 0.0),
            CGROUP.stroke_width(2),
        ))?;
    }
    legend.push(LegendEntry {
        label: format!("cgroup, peak {}", format_bytes(peak)),
        color: CGROUP,
        width: 2,
        stroke: Stroke::Solid,
    });
    legend.extend(draw_limit(chart, recording, axes)?);
    Ok(legend)
}

/// An attached cgroup's limit as a dashed line across the chart (when it
/// is on the axis), and each OOM kill as a dashed line up the chart at the
/// row that counted it; their legend entries.
fn draw_limit(
    chart: &mut Chart<'_, '_>,
    recording: &Recording,
    axes: &Axes,
) -> Result<Vec<LegendEntry>> {
    let mut legend = Vec::new();
    let (start, end) = (recording.first_elapsed_s, recording.last_elapsed_s);
    if let Some(limit) = recording.cgroup_limit {
        let on_axis = limit <= figures_highest(recording).saturating_mul(LIMIT_REACH);
        if on_axis {
            let line = [(start, limit as f64), (end, limit as f64)];
            chart.draw_series(DashedLineSeries::new(
                axes.scaled(&line, 0.0),
                10,
                6,
                LIMIT.stroke_width(2),
            ))?;
        }
        let off = if on_axis { "" } else { ", off the chart" };
        legend.push(LegendEntry {
            label: format!("limit {}{off}", format_bytes(limit)),
            color: LIMIT,
            width: 2,
            stroke: Stroke::Solid,
        });
    }
    let top = highest(recording) as f64;
    for &at in &recording.oom_marks {
        chart.draw_series(DashedLineSeries::new(
            axes.scaled(&[(at, 0.0), (at, top)], 0.0),
            4,
            4,
            LIMIT.mix(0.8).stroke_width(1),
        ))?;
    }
    if let Some(kills) = recording.oom_kills.filter(|&kills| kills > 0) {
        legend.push(LegendEntry {
            label: format!("OOM kills since attach: {kills}"),
            color: LIMIT,
            width: 1,
            stroke: Stroke::Solid,
        });
    }
    Ok(legend)
}

/// In a chart of several recordings: one cgroup line of one recording,
/// dashed, in its colour: each interval's peak held over its interval where
/// the kernel could reset its mark (so the bursts between samples show),
/// else `cgroup_bytes`. No envelope: it would hide the other recordings.
/// Its legend entry (none without a cgroup).
pub(super) fn draw_overlaid(
    chart: &mut Chart<'_, '_>,
    recording: &Recording,
    axes: &Axes,
    color: RGBColor,
) -> Result<Option<LegendEntry>> {
    let Some((peak, _)) = recording.cgroup_peak else {
        return Ok(None);
    };
    let envelope = intervals(&recording.cgroup_interval_peak.points());
    let runs = if envelope.is_empty() {
        recording.cgroup.runs()
    } else {
        vec![envelope]
    };
    for run in runs {
        chart.draw_series(DashedLineSeries::new(
            axes.scaled(&run, recording.first_elapsed_s),
            8,
            5,
            color.stroke_width(2),
        ))?;
    }
    Ok(Some(LegendEntry {
        label: format!(
            "{}: cgroup {}",
            super::display_name(recording),
            format_bytes(peak)
        ),
        color,
        width: 1,
        stroke: Stroke::Solid,
    }))
}

/// Each row's per-interval peak held over the interval before it, from the
/// previous row (the first row's covers nothing before it).
fn intervals(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut steps = Vec::with_capacity(points.len() * 2);
    for (index, &(x, y)) in points.iter().enumerate() {
        let from = index
            .checked_sub(1)
            .map_or(x, |previous| points[previous].0);
        steps.push((from, y));
        steps.push((x, y));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_peak_covers_the_interval_before_its_row() {
        let steps = intervals(&[(0.0, 5.0), (1.0, 300.0), (2.0, 7.0)]);
        assert_eq!(
            steps,
            [
                (0.0, 5.0),
                (0.0, 5.0),
                (0.0, 300.0),
                (1.0, 300.0),
                (1.0, 7.0),
                (2.0, 7.0)
            ]
        );
    }
}
