//! `report --markdown`: the reports as one Markdown table (GitHub's
//! flavour, as a CI job summary shows it), one row per recording; with a
//! baseline, its row first and a row of changes under each recording, then
//! the gate's verdict for each.

use std::fmt::Write as _;

use super::Report;
use super::compare::{signed_bytes_with_percent, signed_percent, signed_seconds};
use super::growth::Verdict;
use super::phase_changes;
use crate::read::printable;
use crate::units::{format_bytes, format_seconds};

pub(crate) fn render(reports: &[Report], baseline: Option<&Report>) -> String {
    let mut out = match baseline {
        Some(baseline) => against_baseline(reports, baseline),
        None => table(reports),
    };
    // Each `--phases` recording's phase table under the figures.
    for report in reports {
        if let Some(rows) = &report.phases {
            if reports.len() > 1 {
                out.push_str(&format!("\n**{}**\n", cell(&report.file)));
            }
            out.push_str(&super::phases::markdown(rows, cell));
        }
    }
    out.push_str(&phase_comparisons(reports));
    out
}

/// Text safe in a table cell: Markdown's punctuation escaped, control
/// characters shown as `?`.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        if "\\`*_[]<>|#~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The growth cell, by the rule the text report states it by.
fn growth(report: &Report) -> String {
    let verdict = super::growth::verdict(report.growth_mib_per_hour, report.growth_r2);
    match verdict {
        Verdict::TooFew => "n/a".into(),
        Verdict::Flat => "flat".into(),
        Verdict::Unsteady { r2 } => format!("no steady growth (R² {r2:.2})"),
        Verdict::Steady { r2, .. } => format!(
            "{} (R² {r2:.2})",
            verdict.signed_rate(report.duration_s).unwrap_or_default()
        ),
    }
}

fn table(reports: &[Report]) -> String {
    // The whole tree's cgroup peak, when any recording has one.
    let cgroup = reports.iter().any(|r| r.cgroup_peak_bytes.is_some());
    let (head, align) = if cgroup {
        (" cgroup peak |", "--:|")
    } else {
        ("", "")
    };
    let mut out = format!(
        "| recording | samples | duration | peak RSS | peak at | mean | p95 | growth |{head}\n\
         |---|--:|--:|--:|--:|--:|--:|--:|{align}\n",
    );
    for report in reports {
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "| {} | {} | {} | {} |",
            cell(&report.file),
            report.samples,
            format_seconds(report.duration_s),
            rss_cells(report)
        );
        if cgroup {
            let peak = report.cgroup_peak_bytes.map_or("n/a".into(), format_bytes);
            let _ = write!(out, " {peak} |");
        }
        out.push('\n');
    }
    out
}

/// The RSS columns (peak, peak at, mean, p95, growth): `not read` in
/// each for a `--no-procs` recording, whose 0 B is no figure
/// (docs/reading-back.md); its cgroup peak has a column of its own.
fn rss_cells(report: &Report) -> String {
    if !report.processes_read {
        return ["not read"; 5].join(" | ");
    }
    format!(
        "{} | {} | {} | {} | {}",
        format_bytes(report.gate_peak_bytes()),
        format_seconds(report.peak_elapsed_s),
        format_bytes(report.mean_rss_bytes),
        format_bytes(report.p95_rss_bytes),
        growth(report)
    )
}

/// A recording's figures in the comparison table's columns.
fn figures_row(label: &str, report: &Report) -> String {
    format!(
        "| {label} | {} | {} | {} | {} |\n",
        format_bytes(report.gate_peak_bytes()),
        format_bytes(report.mean_rss_bytes),
        format_bytes(report.p95_rss_bytes),
        format_seconds(report.duration_s)
    )
}

fn against_baseline(reports: &[Report], baseline: &Report) -> String {
    let mut out =
        String::from("| recording | peak RSS | mean | p95 | duration |\n|---|--:|--:|--:|--:|\n");
    out.push_str(&figures_row(
        &format!("{} (baseline)", cell(&baseline.file)),
        baseline,
    ));
    let mut verdicts = String::new();
    for report in reports {
        out.push_str(&figures_row(&cell(&report.file), report));
        let Some(comparison) = &report.baseline else {
            continue;
        };
        let duration = &comparison.duration_s;
        let _ = writeln!(
            out,
            "| change | {} | {} | {} | {} ({}) |",
            signed_bytes_with_percent(&comparison.peak_rss_bytes),
            signed_bytes_with_percent(&comparison.mean_rss_bytes),
            signed_bytes_with_percent(&comparison.p95_rss_bytes),
            signed_seconds(duration.change),
            signed_percent(duration.percent)
        );
        let (limit, verdict) = if comparison.above_limit {
            ("above", "**regression**")
        } else {
            ("within", "ok")
        };
        let _ = writeln!(
            verdicts,
            "- {}: peak {} over the baseline, {limit} the limit of {}: {verdict}",
            cell(&report.file),
            signed_bytes_with_percent(&comparison.peak_rss_bytes),
            comparison.limit_text(),
        );
        if let Some(changes) = &comparison.phases {
            let _ = writeln!(
                verdicts,
                "- {}: {}",
                cell(&report.file),
                phase_changes::markdown_verdict(changes, cell)
            );
        }
    }
    out.push('\n');
    out.push_str(&verdicts);
    out
}

/// Each recording's phases against the baseline's, under the phase
/// tables; a heading names the recording when there are several.
fn phase_comparisons(reports: &[Report]) -> String {
    let mut out = String::new();
    for report in reports {
        let Some(changes) = report.baseline.as_ref().and_then(|c| c.phases.as_ref()) else {
            continue;
        };
        let heading = if reports.len() > 1 {
            format!("**{}**: ", cell(&report.file))
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "\n{heading}phases against the baseline, by name (`--max-increase` gates those on both sides)\n"
        );
        out.push_str(&phase_changes::markdown(changes, cell));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_markdown() {
        assert_eq!(cell("a|b_c.csv"), "a\\|b\\_c.csv");
        assert_eq!(cell("x\ny"), "x?y");
    }
}
