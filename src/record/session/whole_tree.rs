//! The command's cgroup during a recording (docs/cgroups.md): its figures in
//! each row, its peak and the OOM kills for the summary, and its removal once
//! the tree is empty.

use std::path::PathBuf;

use crate::cgroup::Cgroup;

use super::attached::{AttachedEnd, AttachedTree};
use crate::schema::CgroupFigures;
use crate::units::{format_bytes, format_seconds};

/// The cgroup and what its rows have shown so far.
#[derive(Debug)]
pub(crate) struct WholeTree {
    source: Source,
    /// The highest `memory.peak` read, and between which rows it rose.
    peak: Option<Reached>,
    /// `elapsed_s` of the previous reading.
    previous_s: Option<f64>,
}

/// When the whole-tree peak was first seen in the rows: it rose after the
/// row before (`after_s`, `None` for the first row) and by this row
/// (`by_s`, `None` when it rose after the last row, read at the end).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Reached {
    pub(crate) bytes: u64,
    pub(crate) after_s: Option<f64>,
    pub(crate) by_s: Option<f64>,
}

/// What became of the cgroup, for the summary and the JSON summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TreeEnd {
    pub(crate) peak: Option<Reached>,
    /// `oom_kill` of `memory.events`; `None` when it could not be read.
    pub(crate) oom_kills: Option<u64>,
    /// Processes of the tree are still running in it (or in a cgroup the
    /// tree made inside it).
    pub(crate) kept: Option<PathBuf>,
    /// What memsample made or changed and could not undo, one line each.
    pub(crate) errors: Vec<String>,
    /// The kernel's peak of a single process of the tree, when it is well
    /// above the whole tree's: part of the tree was not counted in the
    /// cgroup.
    pub(crate) above: Option<u64>,
    /// A cgroup attached to, not made.
    pub(crate) attached: Option<AttachedEnd>,
}

/// Where the figures come from: the command's own cgroup, which memsample
/// made and removes, or a cgroup attached to, which it only reads.
#[derive(Debug)]
enum Source {
    Made(Cgroup),
    Attached(AttachedTree),
}

/// Whether the recording is of an attached cgroup, and whether it is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attached {
    No,
    Live,
    JustRemoved,
    Removed,
}

/// A single process's peak this much above the whole tree's (and at least
/// twice it) cannot be file pages of a program or its libraries charged to
/// another cgroup: the process, or a part of the tree, left the cgroup
/// (`echo $$ > …/cgroup.procs` elsewhere), which no limit of memsample's
/// prevents as root.
const UNCOUNTED_MIN: u64 = 8 << 20;

impl WholeTree {
    pub(crate) fn new(cgroup: Cgroup) -> WholeTree {
        WholeTree::of(Source::Made(cgroup))
    }

    pub(crate) fn attached(cgroup: AttachedTree) -> WholeTree {
        WholeTree::of(Source::Attached(cgroup))
    }

    fn of(source: Source) -> WholeTree {
        WholeTree {
            source,
            peak: None,
            previous_s: None,
        }
    }

    /// The start line's name of an attached cgroup.
    pub(crate) fn attached_label(&self) -> Option<String> {
        match &self.source {
            Source::Made(_) => None,
            Source::Attached(cgroup) => Some(cgroup.label()),
        }
    }

    /// The path of an attached cgroup.
    pub(crate) fn attached_path(&self) -> Option<String> {
        match &self.source {
            Source::Made(_) => None,
            Source::Attached(cgroup) => Some(cgroup.path().display().to_string()),
        }
    }

    /// `Removed` once an attached cgroup is gone, `JustRemoved` the first
    /// time it is seen gone.
    pub(crate) fn attached_state(&mut self) -> Attached {
        match &mut self.source {
            Source::Made(_) => Attached::No,
            Source::Attached(cgroup) => match cgroup.removed() {
                (true, true) => Attached::JustRemoved,
                (true, false) => Attached::Removed,
                (false, _) => Attached::Live,
            },
        }
    }

    fn figures(&mut self) -> CgroupFigures {
        match &mut self.source {
            Source::Made(cgroup) => CgroupFigures {
                current_bytes: cgroup.current_bytes().ok(),
                peak_bytes: cgroup.peak_bytes().ok().flatten(),
                interval_peak_bytes: cgroup.interval_peak_bytes().ok().flatten(),
                ..CgroupFigures::default()
            },
            Source::Attached(cgroup) => cgroup.read(),
        }
    }

    /// The peak as the cgroup gives it now.
    fn peak_now(&mut self) -> Option<u64> {
        match &mut self.source {
            Source::Made(cgroup) => cgroup.peak_bytes().ok().flatten(),
            Source::Attached(cgroup) => cgroup.peak_bytes(),
        }
    }

    /// The cgroup's figures for the row at `elapsed_s`. A figure that cannot
    /// be read is left empty rather than stopping the recording.
    pub(crate) fn read(&mut self, elapsed_s: f64) -> CgroupFigures {
        let figures = self.figures();
        if let Some(bytes) = figures.peak_bytes
            && self.peak.is_none_or(|peak| bytes > peak.bytes)
        {
            self.peak = Some(Reached {
                bytes,
                after_s: self.previous_s,
                by_s: Some(elapsed_s),
            });
        }
        self.previous_s = Some(elapsed_s);
        figures
    }

    /// The end of the recording: the peak (also what came after the last
    /// row, when sampling stopped before the command ended), the OOM kills,
    /// then the cgroup removed if the tree is empty, kept (and named) if not,
    /// and memsample's own cgroup left as it was found. `largest_process` is
    /// the kernel's peak of a single process of the tree (`wait4`), to tell
    /// when the cgroup did not hold all of the tree.
    pub(crate) fn end(&mut self, largest_process: Option<u64>) -> TreeEnd {
        let mut peak = self.peak;
        if let Some(bytes) = self.peak_now()
            && peak.is_none_or(|peak| bytes > peak.bytes)
        {
            peak = Some(Reached {
                bytes,
                after_s: self.previous_s,
                by_s: None,
            });
        }
        let above = largest_process.filter(|&largest| uncounted(largest, peak));
        let mut end = TreeEnd {
            peak,
            above,
            ..TreeEnd::default()
        };
        match &mut self.source {
            Source::Made(cgroup) => {
                end.oom_kills = cgroup.oom_kills().ok();
                let left = cgroup.remove();
                end.kept = left.kept;
                end.errors = left.errors;
            }
            Source::Attached(cgroup) => {
                let (oom_kills, attached) = cgroup.end();
                end.oom_kills = oom_kills;
                end.attached = Some(attached);
            }
        }
        end
    }
}

/// Whether a single process's kernel peak is more than the cgroup can have
/// missed of it (see [`UNCOUNTED_MIN`]).
fn uncounted(largest: u64, peak: Option<Reached>) -> bool {
    peak.is_some_and(|peak| largest / 2 > peak.bytes && largest - peak.bytes >= UNCOUNTED_MIN)
}

impl TreeEnd {
    /// The summary's lines about the whole tree, without the prefix.
    pub(crate) fn lines(&self) -> Vec<String> {
        if let Some(attached) = &self.attached {
            return self.attached_lines(attached);
        }
        let mut lines = Vec::new();
        if let Some(peak) = self.peak {
            lines.push(format!(
                "whole-tree peak {} (cgroup, incl. page cache) {}",
                format_bytes(peak.bytes),
                peak.when()
            ));
        }
        if let Some(largest) = self.above {
            lines.push(format!(
                "the whole-tree peak misses part of the tree, which left the cgroup: \
                 one process alone peaked at {}",
                format_bytes(largest)
            ));
        }
        match self.oom_kills {
            Some(0) | None => {}
            Some(1) => lines.push("the kernel's OOM killer killed 1 process of the tree".into()),
            Some(n) => lines.push(format!(
                "the kernel's OOM killer killed {n} processes of the tree"
            )),
        }
        if let Some(path) = &self.kept {
            lines.push(format!(
                "cgroup {} kept: processes of the tree still run in it",
                path.display()
            ));
        }
        lines.extend(self.errors.iter().cloned());
        lines
    }
}

impl TreeEnd {
    /// The summary's lines about an attached cgroup: its peak, from when it
    /// counts and against its limit, and the OOM kills since attach.
    fn attached_lines(&self, attached: &AttachedEnd) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(peak) = self.peak {
            // A peak since the cgroup was made may predate the recording:
            // no row to place it by.
            let since = if attached.since_attach {
                format!("since attach, {}", peak.when())
            } else {
                "since the cgroup was made".into()
            };
            lines.push(format!(
                "cgroup peak {} (incl. page cache) {since}{}",
                format_bytes(peak.bytes),
                attached.headroom(peak.bytes)
            ));
        }
        match self.oom_kills {
            Some(0) | None => {}
            Some(1) => lines
                .push("the kernel's OOM killer killed 1 process of the cgroup since attach".into()),
            Some(n) => lines.push(format!(
                "the kernel's OOM killer killed {n} processes of the cgroup since attach"
            )),
        }
        lines
    }
}

impl Reached {
    /// Between which rows the peak was reached.
    fn when(&self) -> String {
        match (self.after_s, self.by_s) {
            (Some(after), Some(by)) => format!(
                "between {} and {}",
                format_seconds(after),
                format_seconds(by)
            ),
            (None, Some(by)) => format!("by {}", format_seconds(by)),
            (Some(after), None) => format!("after {}, the last row", format_seconds(after)),
            (None, None) => "with no row".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines_say_peak_when_and_oom_kills() {
        let end = TreeEnd {
            peak: Some(Reached {
                bytes: 300 << 20,
                after_s: Some(1.0),
                by_s: Some(2.0),
            }),
            oom_kills: Some(2),
            kept: Some("/sys/fs/cgroup/memsample-7".into()),
            errors: Vec::new(),
            above: None,
            attached: None,
        };
        assert_eq!(
            end.lines(),
            [
                "whole-tree peak 300.0 MiB (cgroup, incl. page cache) between 1s and 2s",
                "the kernel's OOM killer killed 2 processes of the tree",
                "cgroup /sys/fs/cgroup/memsample-7 kept: processes of the tree still run in it",
            ]
        );
        let late = TreeEnd {
            peak: Some(Reached {
                bytes: 1 << 30,
                after_s: Some(5.0),
                by_s: None,
            }),
            ..TreeEnd::default()
        };
        assert_eq!(
            late.lines(),
            ["whole-tree peak 1.00 GiB (cgroup, incl. page cache) after 5s, the last row"]
        );
        let left = TreeEnd {
            peak: Some(Reached {
                bytes: 700 << 10,
                after_s: None,
                by_s: Some(1.0),
            }),
            above: Some(100 << 20),
            ..TreeEnd::default()
        };
        assert_eq!(
            left.lines()[1],
            "the whole-tree peak misses part of the tree, which left the cgroup: \
             one process alone peaked at 100.0 MiB"
        );
        let quiet = TreeEnd {
            oom_kills: Some(0),
            ..TreeEnd::default()
        };
        assert!(quiet.lines().is_empty());
    }

    #[test]
    fn a_process_far_above_the_tree_means_part_of_it_left() {
        let peak = |mib: u64| {
            Some(Reached {
                bytes: mib << 20,
                after_s: None,
                by_s: None,
            })
        };
        // The nested case of old: 0.7 MiB counted for a 100 MiB tree.
        assert!(uncounted(
            100 << 20,
            Some(Reached {
                bytes: 700 << 10,
                after_s: None,
                by_s: None
            })
        ));
        // A small program's libraries charged elsewhere: not enough.
        assert!(!uncounted(6 << 20, peak(1)));
        // Counted, with or without page cache beside it.
        assert!(!uncounted(100 << 20, peak(100)));
        assert!(!uncounted(100 << 20, peak(60)));
        assert!(!uncounted(100 << 20, None));
    }
}
