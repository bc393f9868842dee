//! The phases of a `--phases` recording in its chart (docs/phases.md, "In
//! the chart"): each phase a band, shaded in turn in two light tones behind
//! the series of both panels; each boundary (a mark's row) a thin vertical
//! line; each phase's peak a bar over its span, solid where exact, dashed
//! where exact for the main process, dotted where sampled; the labels on a
//! row above the plot, thinned where they would meet (see
//! [`super::labels`]). A name that repeats is a band, a line and a bar at
//! each of its runs: the chart is a timeline, where the report's table is
//! by name.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::labels::{self, Candidate, Placed, Rect};
use super::{Axes, Chart, LegendEntry, Stroke};
use crate::read::phases::Phase;
use crate::read::printable;

/// The plot's top margin with phases: room for the labels' row.
pub(super) const TOP_MARGIN: u32 = 36;

/// The two tones of the bands, in turn from the first phase.
const BAND_TONES: [RGBColor; 2] = [RGBColor(0xec, 0xf1, 0xf8), RGBColor(0xf8, 0xf3, 0xe8)];

/// The boundaries' colour: darker where the boundary has its label.
const BOUNDARY: RGBColor = RGBColor(0x60, 0x60, 0x60);

/// The peak bars' colour: apart from RSS (blue, or black over stacked
/// areas), the peak so far (red), the cgroup (green) and the processes'
/// palette.
const PEAK_BAR: RGBColor = RGBColor(0xa0, 0x1c, 0x6a);

/// The room kept between a peak bar and the chart's peak text, in pixels.
const BAR_CLEARANCE: f64 = 2.0;

/// The labels' colour and size (plotters' size).
const LABEL_COLOR: RGBColor = RGBColor(0x30, 0x30, 0x30);
const LABEL_SIZE: f64 = 13.0;

/// plotters writes a font of size `s` as the SVG's `font-size` `s / 1.24`:
/// the size the labels' widths are estimated at.
pub(super) const SVG_FONT_SCALE: f64 = 1.24;

/// The longest label, in characters, before its ellipsis.
const LABEL_CHARS: usize = 24;

/// The phases of a chart and where their labels go.
pub(super) struct Timeline {
    phases: Vec<Phase>,
    labels: Vec<Placed>,
    /// Whether each phase has its label, and its boundary its line.
    labelled: Vec<bool>,
    lines: Vec<bool>,
    /// The labels' row: its baseline, in the memory panel's pixels.
    label_y: i32,
    /// The memory panel's origin, in the chart's pixels.
    base: (i32, i32),
}

impl Timeline {
    /// The phases, their labels placed over the memory panel's `chart`
    /// (drawn in `area`).
    pub(super) fn new(
        phases: Vec<Phase>,
        chart: &Chart<'_, '_>,
        area: &DrawingArea<SVGBackend<'_>, Shift>,
        axes: &Axes,
    ) -> Timeline {
        let (x_range, y_range) = chart.plotting_area().get_pixel_range();
        let candidates: Vec<Candidate> = phases
            .iter()
            .map(|phase| Candidate {
                x: f64::from(
                    chart
                        .backend_coord(&(phase.start_s / axes.time.divisor, 0.0))
                        .0,
                ),
                text: labels::shortened(&printable(&phase.name), LABEL_CHARS),
                rank: phase.peak_bytes,
            })
            .collect();
        // Up to the plot's right edge: the legend's lines start just beyond.
        let right = f64::from(x_range.end);
        let labels = labels::place(&candidates, LABEL_SIZE / SVG_FONT_SCALE, right);
        let mut labelled = vec![false; phases.len()];
        for label in &labels {
            if let Some(flag) = labelled.get_mut(label.index) {
                *flag = true;
            }
        }
        let xs: Vec<f64> = candidates.iter().map(|candidate| candidate.x).collect();
        let lines = labels::lines(&xs, &labelled);
        let base = area.get_base_pixel();
        Timeline {
            phases,
            labels,
            labelled,
            lines,
            label_y: y_range.start - base.1 - 6,
            base,
        }
    }

    /// The bands and boundaries, behind the series of a panel.
    pub(super) fn draw_behind(&self, chart: &mut Chart<'_, '_>, axes: &Axes) -> Result<()> {
        let y = chart.y_range();
        let x = |seconds: f64| seconds / axes.time.divisor;
        chart.draw_series(self.phases.iter().zip(BAND_TONES.iter().cycle()).map(
            |(phase, tone)| {
                Rectangle::new(
                    [(x(phase.start_s), y.start), (x(phase.end_s), y.end)],
                    tone.filled(),
                )
            },
        ))?;
        let boundaries = self.phases.iter().zip(&self.labelled).zip(&self.lines);
        // The first phase starts at the axis: no line of its own.
        for ((phase, &shown), _) in boundaries.skip(1).filter(|(_, line)| **line) {
            let alpha = if shown { 0.7 } else { 0.2 };
            chart.draw_series(LineSeries::new(
                [(x(phase.start_s), y.start), (x(phase.start_s), y.end)],
                BOUNDARY.mix(alpha).stroke_width(1),
            ))?;
        }
        Ok(())
    }

    /// Each phase's peak as a bar over its span, over the series; their
    /// legend entries.
    pub(super) fn draw_peaks(
        &self,
        chart: &mut Chart<'_, '_>,
        axes: &Axes,
    ) -> Result<Vec<LegendEntry>> {
        for phase in &self.phases {
            let peak = phase.peak_bytes as f64;
            let bar = axes.scaled(&[(phase.start_s, peak), (phase.end_s, peak)], 0.0);
            let style = PEAK_BAR.stroke_width(3);
            match how(phase) {
                Stroke::Dashed(dash, gap) => {
                    chart.draw_series(DashedLineSeries::new(bar, dash, gap, style))?
                }
                _ => chart.draw_series(LineSeries::new(bar, style))?,
            };
        }
        let mut legend = Vec::new();
        for (stroke, label) in [
            (EXACT, "phase peak (exact)"),
            (MAIN_EXACT, "phase peak (main exact)"),
            (SAMPLED, "phase peak (sampled)"),
        ] {
            if self.phases.iter().any(|phase| how(phase) == stroke) {
                legend.push(LegendEntry {
                    label: label.into(),
                    color: PEAK_BAR,
                    width: 2,
                    stroke,
                });
            }
        }
        Ok(legend)
    }

    /// The boxes of the peak bars, in the chart's pixels, for the chart's
    /// own peak text to keep clear of: each bar's 3 px stroke and
    /// [`BAR_CLEARANCE`] around it.
    pub(super) fn bar_boxes(&self, chart: &Chart<'_, '_>, axes: &Axes) -> Vec<Rect> {
        let pad = 1.5 + BAR_CLEARANCE;
        self.phases
            .iter()
            .map(|phase| {
                let peak = phase.peak_bytes as f64 / axes.bytes.divisor;
                let (left, y) = chart.backend_coord(&(phase.start_s / axes.time.divisor, peak));
                let (right, _) = chart.backend_coord(&(phase.end_s / axes.time.divisor, peak));
                Rect {
                    left: f64::from(left) - pad,
                    top: f64::from(y) - pad,
                    right: f64::from(right) + pad,
                    bottom: f64::from(y) + pad,
                }
            })
            .collect()
    }

    /// The labels on their row above the plot; the legend's note when some
    /// were left out.
    pub(super) fn draw_labels(
        &self,
        area: &DrawingArea<SVGBackend<'_>, Shift>,
    ) -> Result<Vec<LegendEntry>> {
        let style = TextStyle::from(("sans-serif", LABEL_SIZE).into_font())
            .color(&LABEL_COLOR)
            .pos(Pos::new(HPos::Left, VPos::Bottom));
        for label in &self.labels {
            // Whole pixels: the estimate of its width starts there.
            let x = label.x.round() as i32 - self.base.0;
            area.draw(&Text::new(
                label.text.clone(),
                (x, self.label_y),
                style.clone(),
            ))?;
        }
        let (shown, all) = (self.labels.len(), self.phases.len());
        Ok(if shown < all {
            vec![LegendEntry {
                label: format!("{shown} of {all} phase labels shown"),
                color: LABEL_COLOR,
                width: 0,
                stroke: Stroke::None,
            }]
        } else {
            Vec::new()
        })
    }
}

/// A peak bar: solid where the peak is the whole tree's, exact; dashed
/// where it is exact for the main process only; dotted where sampled.
const EXACT: Stroke = Stroke::Solid;
const MAIN_EXACT: Stroke = Stroke::Dashed(8, 4);
const SAMPLED: Stroke = Stroke::Dashed(2, 4);

/// How a phase's peak is known, as its bar's stroke.
fn how(phase: &Phase) -> Stroke {
    if phase.exact {
        EXACT
    } else if phase.main_exact {
        MAIN_EXACT
    } else {
        SAMPLED
    }
}

/// The highest phase peak, for the axis.
pub(super) fn highest(phases: Option<&[Phase]>) -> u64 {
    phases
        .unwrap_or_default()
        .iter()
        .map(|phase| phase.peak_bytes)
        .max()
        .unwrap_or(0)
}
