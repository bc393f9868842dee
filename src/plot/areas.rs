//! The stacked areas of a chart (docs/format.md, "What memory is it"): the
//! parts of RSS of a `--breakdown` recording (anonymous, file, shared), or the
//! processes of a `--per-process` one (the largest ones, the rest as "others").
//! Stacked, the bands add up to the RSS line drawn over them, and no band hides
//! another as overlapping lines do.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::read::{Recording, printable};

/// How many processes get a band of their own; the rest are "others".
const PROCESS_BANDS: usize = 7;

/// The bands' fill opacity: the grid stays visible through them.
const FILL_OPACITY: f64 = 0.55;

const ANON_COLOR: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const FILE_COLOR: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const SHMEM_COLOR: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
const OTHERS_COLOR: RGBColor = RGBColor(0xa0, 0xa0, 0xa0);

/// One band: its label, colour and value at each of the stack's times.
pub(crate) struct Band {
    pub(crate) label: String,
    pub(crate) color: RGBColor,
    pub(crate) values: Vec<u64>,
}

/// The bands, bottom first, over the times they are drawn at (the
/// recording's kept samples: a long recording's chart stays small).
#[derive(Default)]
pub(crate) struct Stacked {
    pub(crate) xs: Vec<f64>,
    pub(crate) bands: Vec<Band>,
}

impl Stacked {
    pub(super) fn is_empty(&self) -> bool {
        self.bands.is_empty()
    }
}

/// The bands of a recording read for a chart; empty when it has nothing
/// to stack (a default recording without `--breakdown`).
pub(crate) fn bands(recording: &Recording, colors: &[RGBColor]) -> Stacked {
    if recording.layout().per_process {
        process_bands(recording, colors)
    } else if let Some(parts) = &recording.parts {
        part_bands(&parts.stack.points())
    } else {
        Stacked::default()
    }
}

/// The parts at the kept samples: each kept sample gives every band its
/// value, so the stack's top is that sample's RSS.
fn part_bands(points: &[crate::read::parts::Point]) -> Stacked {
    let band = |label: &str, color, part: usize| Band {
        label: label.into(),
        color,
        values: points.iter().map(|(_, values)| values[part]).collect(),
    };
    Stacked {
        xs: points.iter().map(|&(x, _)| x).collect(),
        bands: vec![
            band("anonymous (heap)", ANON_COLOR, 0),
            band("file-backed", FILE_COLOR, 1),
            band("shared memory", SHMEM_COLOR, 2),
        ],
    }
}

/// The processes with the highest peaks, largest at the bottom, then the
/// rest of the tree's RSS as "others", at the times the RSS line keeps.
fn process_bands(recording: &Recording, colors: &[RGBColor]) -> Stacked {
    let totals = recording.rss.points();
    let xs: Vec<f64> = totals.iter().map(|&(x, _)| x).collect();
    let everyone = recording.processes().len();
    // With one process more than fits, give it a band rather than "others".
    let shown = if everyone <= PROCESS_BANDS + 1 {
        everyone
    } else {
        PROCESS_BANDS
    };
    let mut bands = Vec::new();
    let mut banded = vec![0u64; xs.len()];
    let palette = colors.iter().copied().cycle();
    for (process, color) in recording.top_processes(shown).into_iter().zip(palette) {
        let values = aligned(&process.series.runs(), &xs);
        for (sum, value) in banded.iter_mut().zip(&values) {
            *sum = sum.saturating_add(*value);
        }
        bands.push(Band {
            label: format!("{} ({})", printable(&process.command), process.pid),
            color,
            values,
        });
    }
    if everyone > shown {
        let rest = everyone - shown;
        bands.push(Band {
            label: format!("others ({rest} processes)"),
            color: OTHERS_COLOR,
            values: totals
                .iter()
                .zip(&banded)
                .map(|(&(_, rss), banded)| (rss as u64).saturating_sub(*banded))
                .collect(),
        });
    }
    Stacked { xs, bands }
}

/// A process's line at the times `xs` (sorted): its kept point at that
/// time, else the last kept one before it in the same run (a decimated
/// line keeps other samples than the tree's); 0 outside its runs, where
/// it was not sampled.
pub(crate) fn aligned(runs: &[Vec<(f64, f64)>], xs: &[f64]) -> Vec<u64> {
    let mut values = vec![0u64; xs.len()];
    let mut start = 0;
    for run in runs {
        let (Some(first), Some(last)) = (run.first(), run.last()) else {
            continue;
        };
        let mut point = 0;
        for (index, &x) in xs.iter().enumerate().skip(start) {
            if x < first.0 {
                continue;
            }
            if x > last.0 {
                start = index;
                break;
            }
            while run.get(point + 1).is_some_and(|next| next.0 <= x) {
                point += 1;
            }
            values[index] = run.get(point).map_or(0, |p| p.1 as u64);
        }
    }
    values
}

/// Draws the bands stacked, as filled polygons, each between the sum of
/// the bands below it and that sum plus itself; x and y are divided by
/// their axes' units.
pub(crate) fn draw<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    stacked: &Stacked,
    (time_divisor, bytes_divisor): (f64, f64),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let xs: Vec<f64> = stacked.xs.iter().map(|x| x / time_divisor).collect();
    let mut below = vec![0u64; xs.len()];
    for band in &stacked.bands {
        let above: Vec<u64> = below
            .iter()
            .zip(&band.values)
            .map(|(low, value)| low.saturating_add(*value))
            .collect();
        let y = |bytes: u64| bytes as f64 / bytes_divisor;
        let mut outline: Vec<(f64, f64)> =
            xs.iter().zip(&above).map(|(&x, &b)| (x, y(b))).collect();
        outline.extend(xs.iter().zip(&below).rev().map(|(&x, &b)| (x, y(b))));
        chart.draw_series(std::iter::once(Polygon::new(
            outline,
            band.color.mix(FILL_OPACITY).filled(),
        )))?;
        below = above;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_align_on_the_stack_times() {
        let runs = vec![vec![(1.0, 10.0), (3.0, 30.0)], vec![(6.0, 60.0)]];
        let xs = [0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 7.0];
        assert_eq!(aligned(&runs, &xs), [0, 10, 10, 30, 0, 60, 0]);
    }
}
