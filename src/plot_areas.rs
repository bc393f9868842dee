//! The stacked areas of a chart (README, "What memory is it"): the parts of
//! RSS of a `--breakdown` recording (anonymous, file, shared), or the
//! processes of a `--per-process` one (the largest ones, the rest as
//! "others"). Stacked, the bands add up to the RSS line drawn over them,
//! and no band hides another as overlapping lines do.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::recording::{Recording, Sample, printable};

/// How many processes get a band of their own; the rest are "others".
const PROCESS_BANDS: usize = 7;

/// At most this many points per band edge: more than the chart has pixels
/// across (the samples are thinned evenly, the peak sample always kept).
const MAX_POINTS: usize = 2000;

/// The bands' fill opacity: the grid stays visible through them.
const FILL_OPACITY: f64 = 0.55;

const ANON_COLOR: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const FILE_COLOR: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const SHMEM_COLOR: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
const OTHERS_COLOR: RGBColor = RGBColor(0xa0, 0xa0, 0xa0);

/// One band: its label, colour and value at every sample (0 where absent).
pub(crate) struct Band {
    pub label: String,
    pub color: RGBColor,
    pub values: Vec<u64>,
}

/// The bands of a recording, bottom first; empty when it has nothing to
/// stack (a default recording without `--breakdown`).
pub(crate) fn bands(recording: &Recording, colors: &[RGBColor]) -> Vec<Band> {
    if recording.layout().per_process {
        process_bands(recording, colors)
    } else if recording.samples().iter().any(|s| s.breakdown.is_some()) {
        part_bands(recording.samples())
    } else {
        Vec::new()
    }
}

fn part_bands(samples: &[Sample]) -> Vec<Band> {
    let band = |label: &str, color, figure: fn(&crate::probe::Breakdown) -> u64| Band {
        label: label.into(),
        color,
        values: samples
            .iter()
            .map(|s| s.breakdown.as_ref().map_or(0, figure))
            .collect(),
    };
    vec![
        band("anonymous (heap)", ANON_COLOR, |b| b.anon_bytes),
        band("file-backed", FILE_COLOR, |b| b.file_bytes),
        band("shared memory", SHMEM_COLOR, |b| b.shmem_bytes),
    ]
}

/// The processes with the highest peaks, largest at the bottom, then the
/// rest of each sample's RSS as "others".
fn process_bands(recording: &Recording, colors: &[RGBColor]) -> Vec<Band> {
    let samples = recording.samples();
    let everyone = recording.processes().len();
    // With one process more than fits, give it a band rather than "others".
    let shown = if everyone <= PROCESS_BANDS + 1 {
        everyone
    } else {
        PROCESS_BANDS
    };
    let mut bands = Vec::new();
    let mut banded = vec![0u64; samples.len()];
    let palette = colors.iter().copied().cycle();
    for (process, color) in recording.top_processes(shown).into_iter().zip(palette) {
        let mut values = vec![0u64; samples.len()];
        for &(index, rss) in &process.points {
            if let Some(value) = values.get_mut(index) {
                *value = rss;
                banded[index] = banded[index].saturating_add(rss);
            }
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
            values: samples
                .iter()
                .zip(&banded)
                .map(|(sample, banded)| sample.rss_bytes.saturating_sub(*banded))
                .collect(),
        });
    }
    bands
}

/// The indices of the samples drawn: all of them, or an even selection of
/// at most about `most` that keeps the first, the last and `keep`.
pub(crate) fn thinned(count: usize, most: usize, keep: usize) -> Vec<usize> {
    if count <= most || most == 0 {
        return (0..count).collect();
    }
    let stride = count.div_ceil(most);
    let mut indices: Vec<usize> = (0..count).step_by(stride).collect();
    indices.push(keep.min(count - 1));
    indices.push(count - 1);
    indices.sort_unstable();
    indices.dedup();
    indices
}

/// Draws the bands stacked, as filled polygons, each between the sum of
/// the bands below it and that sum plus itself; x and y are divided by
/// their axes' units.
pub(crate) fn draw<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    recording: &Recording,
    bands: &[Band],
    (time_divisor, bytes_divisor): (f64, f64),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let samples = recording.samples();
    let peak_index = samples
        .iter()
        .position(|s| std::ptr::eq(s, recording.peak()))
        .unwrap_or(0);
    let indices = thinned(samples.len(), MAX_POINTS, peak_index);
    let xs: Vec<f64> = indices
        .iter()
        .map(|&i| samples[i].elapsed_s / time_divisor)
        .collect();
    let mut below = vec![0u64; indices.len()];
    for band in bands {
        let above: Vec<u64> = indices
            .iter()
            .zip(&below)
            .map(|(&i, low)| low.saturating_add(band.values.get(i).copied().unwrap_or(0)))
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
    fn thinning_keeps_the_ends_and_the_peak() {
        assert_eq!(thinned(5, 10, 2), [0, 1, 2, 3, 4]);
        let kept = thinned(10_000, 100, 4321);
        assert!(kept.len() <= 103, "{}", kept.len());
        assert!(kept.contains(&0) && kept.contains(&9999) && kept.contains(&4321));
        assert!(kept.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
