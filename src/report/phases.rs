//! The phase table of a `--phases` recording (docs/phases.md): one row per
//! phase name, in order of first appearance; a name that repeats (a test
//! run twice, a loop's iterations) is one row with its count, its highest
//! peak, its total duration and what all of them retained.

use std::fmt::Write as _;

use serde::Serialize;

use crate::read::phases::Phase;
use crate::read::printable;
use crate::units::{format_bytes, format_seconds};

/// One row of the table; also its `--json` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PhaseRow {
    pub(crate) name: String,
    /// How many times the phase ran.
    pub(crate) count: u64,
    /// elapsed_s of its first start.
    pub(crate) start_s: f64,
    /// Its time, all runs together.
    pub(crate) duration_s: f64,
    /// The highest peak of its runs.
    pub(crate) peak_bytes: u64,
    /// Every run's peak is the cgroup's exact figure (else sampled).
    pub(crate) peak_exact: bool,
    /// Every run's peak has the main process's high-water mark over the
    /// run in it (docs/phases.md, "Each phase's peak"); true when exact.
    pub(crate) peak_main_exact: bool,
    /// Mean RSS over its samples, weighted by each run's duration.
    pub(crate) mean_bytes: u64,
    /// RSS at its end minus at its start, summed over its runs.
    pub(crate) retained_bytes: i64,
}

/// The table from the phases, by name.
pub(crate) fn table(phases: &[Phase]) -> Vec<PhaseRow> {
    let mut rows: Vec<PhaseRow> = Vec::new();
    let mut weights: Vec<f64> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for phase in phases {
        let duration = (phase.end_s - phase.start_s).max(0.0);
        let at = *index.entry(phase.name.clone()).or_insert_with(|| {
            rows.push(PhaseRow {
                name: phase.name.clone(),
                count: 0,
                start_s: phase.start_s,
                duration_s: 0.0,
                peak_bytes: 0,
                peak_exact: true,
                peak_main_exact: true,
                mean_bytes: 0,
                retained_bytes: 0,
            });
            weights.push(0.0);
            rows.len() - 1
        });
        let (Some(row), Some(weight)) = (rows.get_mut(at), weights.get_mut(at)) else {
            continue;
        };
        // A run of no duration still counts in the mean when it is alone.
        let w = duration.max(1e-9);
        let mean = (row.mean_bytes as f64 * *weight + phase.mean_bytes as f64 * w) / (*weight + w);
        *weight += w;
        row.mean_bytes = mean.round() as u64;
        row.count += 1;
        row.duration_s += duration;
        row.peak_bytes = row.peak_bytes.max(phase.peak_bytes);
        row.peak_exact &= phase.exact;
        row.peak_main_exact &= phase.main_exact;
        row.retained_bytes += phase.retained_bytes;
    }
    rows
}

use super::compare::signed_bytes as signed;

fn peak(row: &PhaseRow) -> String {
    format!(
        "{} ({})",
        format_bytes(row.peak_bytes),
        how(row.peak_exact, row.peak_main_exact)
    )
}

/// What kind of peak a phase's is (docs/phases.md, "Each phase's peak").
pub(crate) fn how(exact: bool, main_exact: bool) -> &'static str {
    match (exact, main_exact) {
        (true, _) => "exact",
        (false, true) => "exact for the main process",
        (false, false) => "sampled",
    }
}

/// The table as text, after the report's figures.
pub(crate) fn write_text(rows: &[PhaseRow], out: &mut String) -> std::fmt::Result {
    writeln!(out, "phases        {} (by name, in order)", rows.len())?;
    for row in rows {
        let runs = if row.count > 1 {
            format!(" ×{}", row.count)
        } else {
            String::new()
        };
        writeln!(
            out,
            "  {}{runs}: from {} for {}, peak {}, mean {}, retained {}",
            printable(&row.name),
            format_seconds(row.start_s),
            format_seconds(row.duration_s),
            peak(row),
            format_bytes(row.mean_bytes),
            signed(row.retained_bytes)
        )?;
    }
    Ok(())
}

/// The table in Markdown, after the report's; `cell` escapes a name.
pub(crate) fn markdown(rows: &[PhaseRow], cell: fn(&str) -> String) -> String {
    let mut out = String::from(
        "\n| phase | runs | start | duration | peak | mean | retained |\n|---|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&row.name),
            row.count,
            format_seconds(row.start_s),
            format_seconds(row.duration_s),
            peak(row),
            format_bytes(row.mean_bytes),
            signed(row.retained_bytes)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(name: &str, start_s: f64, end_s: f64, peak: u64, exact: bool) -> Phase {
        Phase {
            name: name.into(),
            start_s,
            end_s,
            peak_bytes: peak,
            exact,
            main_exact: exact,
            mean_bytes: peak / 2,
            retained_bytes: 10,
        }
    }

    #[test]
    fn repeated_names_are_one_row_with_a_count() {
        let rows = table(&[
            phase("start", 0.0, 1.0, 100, true),
            phase("test:a", 1.0, 2.0, 300, true),
            phase("between", 2.0, 2.5, 50, true),
            phase("test:b", 2.5, 4.0, 900, true),
            phase("between", 4.0, 5.0, 70, false),
        ]);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["start", "test:a", "between", "test:b"]);
        let between = &rows[2];
        assert_eq!(
            (between.count, between.peak_bytes, between.peak_exact),
            (2, 70, false)
        );
        assert!((between.duration_s - 1.5).abs() < 1e-9);
        assert_eq!(between.retained_bytes, 20);
        assert_eq!(between.start_s, 2.0);
    }
}
