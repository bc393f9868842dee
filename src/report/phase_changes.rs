//! `report NEW --baseline OLD` of two `--phases` recordings: the phases
//! compared by name, each name's highest peak against the baseline's, and
//! the `--max-increase` gate on every phase found on both sides
//! (docs/phases.md, "Against a baseline"). A phase found on one side only
//! is listed, not gated: nothing says what it should be compared with.

use std::fmt::Write as _;

use serde::Serialize;

use super::compare::{MaxIncrease, limit_text, signed_bytes, signed_percent};
use super::phases::{PhaseRow, how};
use crate::read::printable;
use crate::units::format_bytes;

/// Where a phase name was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Presence {
    /// In both recordings: compared and gated.
    Both,
    /// In this recording only.
    New,
    /// In the baseline only.
    Gone,
}

/// One phase name against the baseline; also its `--json` object. The
/// figures of a side the phase is not in are null.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PhaseChange {
    pub(crate) name: String,
    pub(crate) presence: Presence,
    /// The baseline's highest peak of the phase (all its runs).
    pub(crate) baseline_peak_bytes: Option<u64>,
    /// This recording's highest peak of the phase (all its runs).
    pub(crate) peak_bytes: Option<u64>,
    /// peak_bytes − baseline_peak_bytes.
    pub(crate) change_bytes: Option<i64>,
    /// The change in % of the baseline's peak; null when that is 0.
    pub(crate) percent: Option<f64>,
    /// Each side's peak is the whole tree's exact one (the cgroup's).
    pub(crate) baseline_peak_exact: Option<bool>,
    pub(crate) peak_exact: Option<bool>,
    /// Each side's peak has the main process's high-water mark over the
    /// phase in it; true when exact.
    pub(crate) baseline_peak_main_exact: Option<bool>,
    pub(crate) peak_main_exact: Option<bool>,
    /// How many times the phase ran in the baseline, and in this recording.
    pub(crate) baseline_count: Option<u64>,
    pub(crate) count: Option<u64>,
    /// The growth `--max-increase` allows this phase, in bytes (of its own
    /// baseline peak, for a percentage); null when not gated.
    pub(crate) max_increase_bytes: Option<u64>,
    /// The peak grew by more than that: `report` exits 1.
    pub(crate) above_limit: bool,
}

impl PhaseChange {
    fn new(row: &PhaseRow, old: &PhaseRow, limit: MaxIncrease) -> PhaseChange {
        let change = i128::from(row.peak_bytes) - i128::from(old.peak_bytes);
        let change = i64::try_from(change).unwrap_or(if change < 0 { i64::MIN } else { i64::MAX });
        let allowed = limit.allowed(old.peak_bytes);
        PhaseChange {
            name: row.name.clone(),
            presence: Presence::Both,
            baseline_peak_bytes: Some(old.peak_bytes),
            peak_bytes: Some(row.peak_bytes),
            change_bytes: Some(change),
            percent: (old.peak_bytes > 0).then(|| change as f64 / old.peak_bytes as f64 * 100.0),
            baseline_peak_exact: Some(old.peak_exact),
            peak_exact: Some(row.peak_exact),
            baseline_peak_main_exact: Some(old.peak_main_exact),
            peak_main_exact: Some(row.peak_main_exact),
            baseline_count: Some(old.count),
            count: Some(row.count),
            max_increase_bytes: Some(allowed),
            above_limit: change > 0 && change.unsigned_abs() > allowed,
        }
    }

    /// A phase of one side only.
    fn alone(row: &PhaseRow, presence: Presence) -> PhaseChange {
        let (ours, theirs) = match presence {
            Presence::Gone => (None, Some(row)),
            Presence::Both | Presence::New => (Some(row), None),
        };
        PhaseChange {
            name: row.name.clone(),
            presence,
            baseline_peak_bytes: theirs.map(|row| row.peak_bytes),
            peak_bytes: ours.map(|row| row.peak_bytes),
            change_bytes: None,
            percent: None,
            baseline_peak_exact: theirs.map(|row| row.peak_exact),
            peak_exact: ours.map(|row| row.peak_exact),
            baseline_peak_main_exact: theirs.map(|row| row.peak_main_exact),
            peak_main_exact: ours.map(|row| row.peak_main_exact),
            baseline_count: theirs.map(|row| row.count),
            count: ours.map(|row| row.count),
            max_increase_bytes: None,
            above_limit: false,
        }
    }

    /// The gate's line for stderr when this phase failed it, in the words
    /// of the whole recording's (`super::compare::Comparison::verdict`).
    pub(crate) fn verdict(&self, file: &str, baseline: &str, max_increase: &str) -> String {
        format!(
            "{file}: phase \"{}\" peak {} over the baseline {baseline}, above the limit of {}{}",
            printable(&self.name),
            self.signed_change(),
            limit_text(max_increase, self.max_increase_bytes.unwrap_or(0)),
            self.sampled_note()
        )
    }

    /// `+62.0 MiB (+48.1%)`.
    fn signed_change(&self) -> String {
        format!(
            "{} ({})",
            signed_bytes(self.change_bytes.unwrap_or(0)),
            signed_percent(self.percent)
        )
    }

    /// A peak that is not the cgroup's exact one is a lower bound for a
    /// tree (docs/phases.md, "Each phase's peak"): the gate's line says
    /// which side's was not, and what it was.
    fn sampled_note(&self) -> String {
        let theirs = self.baseline_how().filter(|&how| how != "exact");
        let ours = self.how().filter(|&how| how != "exact");
        match (theirs, ours) {
            (Some(theirs), Some(ours)) if theirs == ours => format!("; both peaks {theirs}"),
            (Some(theirs), Some(ours)) => {
                format!("; the baseline's peak {theirs}, this peak {ours}")
            }
            (Some(theirs), None) => format!("; the baseline's peak {theirs}"),
            (None, Some(ours)) => format!("; this peak {ours}"),
            (None, None) => String::new(),
        }
    }

    /// What kind of peak this recording's is, when it has the phase.
    fn how(&self) -> Option<&'static str> {
        Some(how(self.peak_exact?, self.peak_main_exact?))
    }

    /// What kind of peak the baseline's is, when it has the phase.
    fn baseline_how(&self) -> Option<&'static str> {
        Some(how(
            self.baseline_peak_exact?,
            self.baseline_peak_main_exact?,
        ))
    }
}

/// Compares two phase tables by name: this recording's phases in its
/// order, then those of the baseline it does not have, in the baseline's.
pub(crate) fn compare(
    rows: &[PhaseRow],
    baseline: &[PhaseRow],
    limit: MaxIncrease,
) -> Vec<PhaseChange> {
    let find = |table: &[PhaseRow], name: &str| -> Option<usize> {
        table.iter().position(|row| row.name == name)
    };
    let mut changes: Vec<PhaseChange> = rows
        .iter()
        .map(
            |row| match find(baseline, &row.name).and_then(|at| baseline.get(at)) {
                Some(old) => PhaseChange::new(row, old, limit),
                None => PhaseChange::alone(row, Presence::New),
            },
        )
        .collect();
    changes.extend(
        baseline
            .iter()
            .filter(|old| find(rows, &old.name).is_none())
            .map(|old| PhaseChange::alone(old, Presence::Gone)),
    );
    changes
}

/// `2.10 GiB (exact)`, or `n/a` for a side without the phase.
fn peak(bytes: Option<u64>, how: Option<&str>) -> String {
    match (bytes, how) {
        (Some(bytes), Some(how)) => format!("{} ({how})", format_bytes(bytes)),
        _ => "n/a".into(),
    }
}

/// `3 on both sides, 1 new, 1 gone; 1 above the limit`.
fn counts(changes: &[PhaseChange]) -> String {
    let count = |presence| changes.iter().filter(|c| c.presence == presence).count();
    let above = changes.iter().filter(|c| c.above_limit).count();
    let mut text = format!("{} on both sides", count(Presence::Both));
    for (n, what) in [
        (count(Presence::New), "new"),
        (count(Presence::Gone), "gone"),
    ] {
        if n > 0 {
            let _ = write!(text, ", {n} {what}");
        }
    }
    let verdict = match above {
        0 => "all within the limit".to_string(),
        n => format!("{n} above the limit"),
    };
    format!("{text}; {verdict}")
}

/// The phases against the baseline, in the text report's comparison.
pub(crate) fn write_text(
    changes: &[PhaseChange],
    max_increase: &str,
    out: &mut String,
) -> std::fmt::Result {
    writeln!(out, "  phases      by name: {}", counts(changes))?;
    for change in changes {
        let name = printable(&change.name);
        match change.presence {
            Presence::Both => {
                let verdict = if change.above_limit {
                    format!(
                        ": REGRESSION, above the limit of {}",
                        limit_text(max_increase, change.max_increase_bytes.unwrap_or(0))
                    )
                } else {
                    String::new()
                };
                writeln!(
                    out,
                    "    {name}: {}, was {}: {}{verdict}",
                    peak(change.peak_bytes, change.how()),
                    peak(change.baseline_peak_bytes, change.baseline_how()),
                    change.signed_change()
                )?;
            }
            Presence::New => writeln!(
                out,
                "    {name}: {}, new: not in the baseline",
                peak(change.peak_bytes, change.how())
            )?,
            Presence::Gone => writeln!(
                out,
                "    {name}: gone: was {}, not in this recording",
                peak(change.baseline_peak_bytes, change.baseline_how())
            )?,
        }
    }
    Ok(())
}

/// The phases against the baseline as a Markdown table; `cell` escapes a
/// name.
pub(crate) fn markdown(changes: &[PhaseChange], cell: fn(&str) -> String) -> String {
    let mut out =
        String::from("\n| phase | baseline peak | peak | change | gate |\n|---|--:|--:|--:|---|\n");
    for change in changes {
        let (difference, gate) = match change.presence {
            Presence::Both if change.above_limit => (change.signed_change(), "**regression**"),
            Presence::Both => (change.signed_change(), "ok"),
            Presence::New => ("new".into(), "not gated"),
            Presence::Gone => ("gone".into(), "not gated"),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {difference} | {gate} |",
            cell(&change.name),
            peak(change.baseline_peak_bytes, change.baseline_how()),
            peak(change.peak_bytes, change.how()),
        );
    }
    out
}

/// The Markdown verdict's words for the phases: `phases: all 3 within the
/// limit: ok`, `phases: 1 of 3 above the limit (train): **regression**`.
pub(crate) fn markdown_verdict(changes: &[PhaseChange], cell: fn(&str) -> String) -> String {
    let gated = changes
        .iter()
        .filter(|c| c.presence == Presence::Both)
        .count();
    let above: Vec<String> = changes
        .iter()
        .filter(|c| c.above_limit)
        .map(|c| cell(&c.name))
        .collect();
    if above.is_empty() {
        format!("phases: all {gated} on both sides within the limit: ok")
    } else {
        format!(
            "phases: {} of {gated} above the limit ({}): **regression**",
            above.len(),
            above.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, peak_bytes: u64, peak_exact: bool) -> PhaseRow {
        PhaseRow {
            name: name.into(),
            count: 1,
            start_s: 0.0,
            duration_s: 1.0,
            peak_bytes,
            peak_exact,
            peak_main_exact: peak_exact,
            mean_bytes: peak_bytes / 2,
            retained_bytes: 0,
        }
    }

    const MIB: u64 = 1 << 20;

    #[test]
    fn phases_are_matched_by_name_and_gated_on_both_sides_only() {
        let old = [
            row("start", 10 * MIB, true),
            row("train", 20 * MIB, true),
            row("save", 5 * MIB, false),
        ];
        let new = [
            row("start", 10 * MIB, true),
            row("eval", 90 * MIB, false),
            row("train", 60 * MIB, false),
        ];
        let changes = compare(&new, &old, MaxIncrease::Percent(10.0));
        let names: Vec<(&str, Presence)> = changes
            .iter()
            .map(|c| (c.name.as_str(), c.presence))
            .collect();
        assert_eq!(
            names,
            [
                ("start", Presence::Both),
                ("eval", Presence::New),
                ("train", Presence::Both),
                ("save", Presence::Gone)
            ]
        );
        let train = &changes[2];
        assert_eq!(train.change_bytes, Some(40 * MIB as i64));
        assert_eq!(train.percent, Some(200.0));
        assert_eq!(train.max_increase_bytes, Some(2 * MIB));
        assert!(train.above_limit);
        assert!(!changes[0].above_limit && !changes[1].above_limit && !changes[3].above_limit);
        assert_eq!(
            (changes[3].peak_bytes, changes[3].baseline_peak_bytes),
            (None, Some(5 * MIB))
        );
        assert_eq!(
            train.verdict("new.csv", "old.csv", "10%"),
            "new.csv: phase \"train\" peak +40.0 MiB (+200.0%) over the baseline old.csv, \
             above the limit of 10% (2.0 MiB); this peak sampled"
        );
        assert_eq!(
            counts(&changes),
            "2 on both sides, 1 new, 1 gone; 1 above the limit"
        );
    }

    #[test]
    fn the_gates_line_says_which_peak_is_not_exact() {
        let mut main_exact = row("a", 20 * MIB, false);
        main_exact.peak_main_exact = true;
        let note = |new: &PhaseRow, old: &PhaseRow| {
            compare(
                std::slice::from_ref(new),
                std::slice::from_ref(old),
                MaxIncrease::default(),
            )[0]
            .sampled_note()
        };
        let (exact, sampled) = (row("a", 10 * MIB, true), row("a", 10 * MIB, false));
        assert_eq!(
            note(&main_exact, &exact),
            "; this peak exact for the main process"
        );
        assert_eq!(
            note(&main_exact, &sampled),
            "; the baseline's peak sampled, this peak exact for the main process"
        );
        assert_eq!(note(&sampled, &sampled), "; both peaks sampled");
        assert_eq!(note(&exact, &exact), "");
    }

    #[test]
    fn a_byte_limit_is_each_phases_and_a_shrinking_phase_passes() {
        let old = [row("a", 100 * MIB, true), row("b", 10 * MIB, true)];
        let new = [row("a", 120 * MIB, true), row("b", 5 * MIB, true)];
        let changes = compare(&new, &old, MaxIncrease::Bytes(30 * MIB));
        assert_eq!(changes[0].max_increase_bytes, Some(30 * MIB));
        assert!(!changes[0].above_limit && !changes[1].above_limit);
        assert_eq!(changes[1].change_bytes, Some(-5 * MIB as i64));
        let limit = MaxIncrease::Bytes(15 * MIB);
        let changes = compare(&new, &old, limit);
        assert!(changes[0].above_limit);
        assert_eq!(
            changes[0].verdict("n", "o", &limit.to_string()),
            "n: phase \"a\" peak +20.0 MiB (+20.0%) over the baseline o, above the limit of \
             15.0 MiB"
        );
        assert_eq!(
            markdown_verdict(&changes, |s| s.to_string()),
            "phases: 1 of 2 above the limit (a): **regression**"
        );
    }
}
