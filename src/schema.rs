//! The columns of a recording, each named once, here: the writers (CSV and
//! JSON Lines), the reader, `report`, `plot`, the error messages and the
//! tests all take them from this registry. `docs/format.md` states the
//! schema for users.
//!
//! Adding a column is one entry in [`COLUMNS`] (its name, kind, the rows it
//! belongs to, the option that turns it on) plus the probe code that fills
//! the figure its `value` function reads.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use crate::cgroup::attach::Parts;
use crate::probe::{Breakdown, ProcessSample, Sample};
use crate::stats;

/// How a column's values are written and checked when read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Wall clock, RFC 3339 UTC with milliseconds (a string in JSON Lines).
    Timestamp,
    /// Seconds, written with 6 decimals.
    Seconds,
    /// A [`Trigger`] name.
    Trigger,
    /// A whole number of things.
    Count,
    /// A process id.
    Pid,
    /// A whole number of bytes.
    Bytes,
    /// A percentage, written with 1 decimal.
    Percent,
    /// Free text (a command name).
    Text,
}

impl Kind {
    /// Whether JSON Lines holds this kind as a string (else as a number).
    pub(crate) fn is_text(self) -> bool {
        matches!(self, Kind::Timestamp | Kind::Trigger | Kind::Text)
    }
}

/// Which rows a column belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    /// Both layouts.
    All,
    /// Only the default layout (one row per sample, summed over the tree).
    Tree,
    /// Only `--per-process` rows.
    Process,
}

/// An option that adds columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opt {
    /// `--pss`.
    Pss,
    /// `--breakdown`.
    Breakdown,
    /// A cgroup of the command's own (`--cgroup`, where one could be made),
    /// or one attached to.
    Cgroup,
    /// A cgroup attached to (`--cgroup-path`, `--unit`, `--cgroup-of`).
    Attached,
    /// `--breakdown` of a cgroup attached to: what its charge is made of.
    AttachedParts,
    /// `--phases`: the phase each row belongs to (docs/phases.md).
    Phases,
}

/// One column of the registry.
pub(crate) struct Column {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) rows: Rows,
    /// The option that adds it; `None` for the columns always present.
    pub(crate) option: Option<Opt>,
    /// Its value in one row: a process's row with `Some(process)`, the
    /// tree's row otherwise.
    pub(crate) value: for<'a> fn(&'a Row<'a>, Option<&'a ProcessSample>) -> Value<'a>,
}

impl fmt::Debug for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for Column {
    fn eq(&self, other: &Column) -> bool {
        self.name == other.name
    }
}

/// One value, before a format writes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Time(SystemTime),
    Text(&'a str),
    Int(u64),
    /// A float with this many decimals.
    Fixed(f64, usize),
    /// An empty field: a figure that could not be read.
    Empty,
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Time(time) => write!(f, "{}", humantime::format_rfc3339_millis(*time)),
            Value::Text(text) => f.write_str(text),
            Value::Int(value) => write!(f, "{value}"),
            Value::Fixed(value, decimals) => write!(f, "{value:.decimals$}"),
            Value::Empty => Ok(()),
        }
    }
}

/// What one sample's row(s) hold beyond the probe's figures.
pub struct Row<'a> {
    pub wall_clock: SystemTime,
    pub elapsed_s: f64,
    pub trigger: Trigger,
    pub sample: &'a Sample,
    /// The tree's peak so far (see `stats::raise_peak`).
    pub peak_rss_bytes: u64,
    /// The kernel's figures of the command's cgroup; all `None` without one.
    pub cgroup: CgroupFigures,
    /// The phase the row belongs to (`--phases`); `None` without.
    pub phase: Option<&'a str>,
}

/// One reading of the command's cgroup (docs/cgroups.md); a figure that could
/// not be read is `None`, an empty field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupFigures {
    /// `memory.current`.
    pub(crate) current_bytes: Option<u64>,
    /// `memory.peak`, since the cgroup was made.
    pub(crate) peak_bytes: Option<u64>,
    /// The highest since the previous row; `None` where the kernel cannot
    /// reset the mark.
    pub(crate) interval_peak_bytes: Option<u64>,
    /// `memory.max` of an attached cgroup; `None` for no limit.
    pub(crate) limit_bytes: Option<u64>,
    /// Processes of an attached cgroup killed by the OOM killer since attach.
    pub(crate) oom_kills: Option<u64>,
    /// What an attached cgroup's charge is made of (`--breakdown`).
    pub(crate) parts: Option<Parts>,
}

fn bytes<'a>(value: Option<u64>) -> Value<'a> {
    value.map_or(Value::Empty, Value::Int)
}

/// One figure of the breakdown of a process's row, or of the tree's (empty
/// when any counted process's breakdown is unknown).
fn part<'a>(
    row: &Row<'a>,
    process: Option<&ProcessSample>,
    figure: fn(&Breakdown) -> u64,
) -> Value<'a> {
    let breakdown = process.map_or_else(|| row.sample.breakdown(), |p| p.breakdown);
    bytes(breakdown.as_ref().map(figure))
}

pub(crate) const TIMESTAMP: Column = Column {
    name: "timestamp",
    kind: Kind::Timestamp,
    rows: Rows::All,
    option: None,
    value: |row, _| Value::Time(row.wall_clock),
};
pub(crate) const ELAPSED_S: Column = Column {
    name: "elapsed_s",
    kind: Kind::Seconds,
    rows: Rows::All,
    option: None,
    value: |row, _| Value::Fixed(row.elapsed_s, 6),
};
pub(crate) const TRIGGER: Column = Column {
    name: "trigger",
    kind: Kind::Trigger,
    rows: Rows::All,
    option: None,
    value: |row, _| Value::Text(row.trigger.as_str()),
};
pub(crate) const PHASE: Column = Column {
    name: "phase",
    kind: Kind::Text,
    rows: Rows::All,
    option: Some(Opt::Phases),
    value: |row, _| row.phase.map_or(Value::Empty, Value::Text),
};
pub(crate) const PROCS: Column = Column {
    name: "procs",
    kind: Kind::Count,
    rows: Rows::Tree,
    option: None,
    value: |row, _| Value::Int(row.sample.procs() as u64),
};
pub(crate) const PID: Column = Column {
    name: "pid",
    kind: Kind::Pid,
    rows: Rows::Process,
    option: None,
    value: |_, process| process.map_or(Value::Empty, |p| Value::Int(p.pid.into())),
};
pub(crate) const PPID: Column = Column {
    name: "ppid",
    kind: Kind::Pid,
    rows: Rows::Process,
    option: None,
    value: |_, process| process.map_or(Value::Empty, |p| Value::Int(p.ppid.into())),
};
pub(crate) const COMMAND: Column = Column {
    name: "command",
    kind: Kind::Text,
    rows: Rows::Process,
    option: None,
    value: |_, process| process.map_or(Value::Empty, |p| Value::Text(&p.command)),
};
pub(crate) const RSS_BYTES: Column = Column {
    name: "rss_bytes",
    kind: Kind::Bytes,
    rows: Rows::All,
    option: None,
    value: |row, process| {
        Value::Int(process.map_or_else(|| row.sample.rss_bytes(), |p| p.rss_bytes))
    },
};
pub(crate) const PSS_BYTES: Column = Column {
    name: "pss_bytes",
    kind: Kind::Bytes,
    rows: Rows::All,
    option: Some(Opt::Pss),
    value: |row, process| bytes(process.map_or_else(|| row.sample.pss_bytes(), |p| p.pss_bytes)),
};
pub(crate) const USS_BYTES: Column = Column {
    name: "uss_bytes",
    kind: Kind::Bytes,
    rows: Rows::All,
    option: Some(Opt::Pss),
    value: |row, process| bytes(process.map_or_else(|| row.sample.uss_bytes(), |p| p.uss_bytes)),
};
pub(crate) const ANON_BYTES: Column = Column {
    name: "anon_bytes",
    kind: Kind::Bytes,
    rows: Rows::All,
    option: Some(Opt::Breakdown),
    value: |row, process| part(row, process, |b| b.anon_bytes),
};
pub(crate) const FILE_BYTES: Column = Column {
    name: "file_bytes",
    kind: Kind::Bytes,
    rows: Rows::All,
    option: Some(Opt::Breakdown),
    value: |row, process| part(row, process, |b| b.file_bytes),
};
pub(crate) const SHMEM_BYTES: Column = Column {
    name: "shmem_bytes",
    kind: Kind::Bytes,
    rows: Rows::All,
    option: Some(Opt::Breakdown),
    value: |row, process| part(row, process, |b| b.shmem_bytes),
};
pub(crate) const SWAP_BYTES: Column = Column {
    name: "swap_bytes",
    kind: Kind::Bytes,
    rows: Rows::All,
    option: Some(Opt::Breakdown),
    value: |row, process| part(row, process, |b| b.swap_bytes),
};
pub(crate) const THREADS: Column = Column {
    name: "threads",
    kind: Kind::Count,
    rows: Rows::All,
    option: Some(Opt::Breakdown),
    value: |row, process| part(row, process, |b| b.threads),
};
pub(crate) const VSZ_BYTES: Column = Column {
    name: "vsz_bytes",
    kind: Kind::Bytes,
    rows: Rows::All,
    option: None,
    value: |row, process| {
        Value::Int(process.map_or_else(|| row.sample.vsz_bytes(), |p| p.vsz_bytes))
    },
};
pub(crate) const CPU_PERCENT: Column = Column {
    name: "cpu_percent",
    kind: Kind::Percent,
    rows: Rows::All,
    option: None,
    value: |row, process| {
        let cpu = process.map_or_else(|| row.sample.cpu_percent(), |p| p.cpu_percent);
        Value::Fixed(cpu, 1)
    },
};
pub(crate) const PEAK_RSS_BYTES: Column = Column {
    name: "peak_rss_bytes",
    kind: Kind::Bytes,
    rows: Rows::All,
    option: None,
    value: |row, process| {
        Value::Int(process.map_or(row.peak_rss_bytes, |p| {
            stats::raise_peak(0, p.rss_bytes, p.hwm_bytes)
        }))
    },
};

pub(crate) const CGROUP_BYTES: Column = Column {
    name: "cgroup_bytes",
    kind: Kind::Bytes,
    rows: Rows::Tree,
    option: Some(Opt::Cgroup),
    value: |row, _| bytes(row.cgroup.current_bytes),
};
pub(crate) const CGROUP_PEAK_BYTES: Column = Column {
    name: "cgroup_peak_bytes",
    kind: Kind::Bytes,
    rows: Rows::Tree,
    option: Some(Opt::Cgroup),
    value: |row, _| bytes(row.cgroup.peak_bytes),
};
pub(crate) const CGROUP_INTERVAL_PEAK_BYTES: Column = Column {
    name: "cgroup_interval_peak_bytes",
    kind: Kind::Bytes,
    rows: Rows::Tree,
    option: Some(Opt::Cgroup),
    value: |row, _| bytes(row.cgroup.interval_peak_bytes),
};
pub(crate) const CGROUP_LIMIT_BYTES: Column = Column {
    name: "cgroup_limit_bytes",
    kind: Kind::Bytes,
    rows: Rows::Tree,
    option: Some(Opt::Attached),
    value: |row, _| bytes(row.cgroup.limit_bytes),
};
pub(crate) const CGROUP_OOM_KILLS: Column = Column {
    name: "cgroup_oom_kills",
    kind: Kind::Count,
    rows: Rows::Tree,
    option: Some(Opt::Attached),
    value: |row, _| bytes(row.cgroup.oom_kills),
};

pub(crate) const CGROUP_ANON_BYTES: Column = Column {
    name: "cgroup_anon_bytes",
    kind: Kind::Bytes,
    rows: Rows::Tree,
    option: Some(Opt::AttachedParts),
    value: |row, _| bytes(row.cgroup.parts.and_then(|parts| parts.anon)),
};
pub(crate) const CGROUP_FILE_BYTES: Column = Column {
    name: "cgroup_file_bytes",
    kind: Kind::Bytes,
    rows: Rows::Tree,
    option: Some(Opt::AttachedParts),
    value: |row, _| bytes(row.cgroup.parts.and_then(|parts| parts.file)),
};
pub(crate) const CGROUP_KERNEL_BYTES: Column = Column {
    name: "cgroup_kernel_bytes",
    kind: Kind::Bytes,
    rows: Rows::Tree,
    option: Some(Opt::AttachedParts),
    value: |row, _| bytes(row.cgroup.parts.and_then(|parts| parts.kernel)),
};
pub(crate) const CGROUP_SHMEM_BYTES: Column = Column {
    name: "cgroup_shmem_bytes",
    kind: Kind::Bytes,
    rows: Rows::Tree,
    option: Some(Opt::AttachedParts),
    value: |row, _| bytes(row.cgroup.parts.and_then(|parts| parts.shmem)),
};
pub(crate) const CGROUP_SWAP_BYTES: Column = Column {
    name: "cgroup_swap_bytes",
    kind: Kind::Bytes,
    rows: Rows::Tree,
    option: Some(Opt::AttachedParts),
    value: |row, _| bytes(row.cgroup.parts.and_then(|parts| parts.swap)),
};
pub(crate) const CGROUP_WORKING_SET_BYTES: Column = Column {
    name: "cgroup_working_set_bytes",
    kind: Kind::Bytes,
    rows: Rows::Tree,
    option: Some(Opt::AttachedParts),
    value: |row, _| bytes(row.cgroup.parts.and_then(|parts| parts.working_set)),
};

/// Every column, in the order of the header. The cgroup's figures come
/// after the columns of every recording: they are the tree's as a whole.
///
/// A cgroup attached to adds its limit and OOM kills, and with
/// `--breakdown` its split from `memory.stat` (`cgroup_anon_bytes` …
/// `cgroup_working_set_bytes`), last: all of them are the cgroup's figures,
/// kept together. (A command's own cgroup in spawn mode has no split yet.)
pub(crate) const COLUMNS: [&Column; 30] = [
    &TIMESTAMP,
    &ELAPSED_S,
    &TRIGGER,
    &PHASE,
    &PROCS,
    &PID,
    &PPID,
    &COMMAND,
    &RSS_BYTES,
    &PSS_BYTES,
    &USS_BYTES,
    &ANON_BYTES,
    &FILE_BYTES,
    &SHMEM_BYTES,
    &SWAP_BYTES,
    &THREADS,
    &VSZ_BYTES,
    &CPU_PERCENT,
    &PEAK_RSS_BYTES,
    &CGROUP_BYTES,
    &CGROUP_PEAK_BYTES,
    &CGROUP_INTERVAL_PEAK_BYTES,
    &CGROUP_LIMIT_BYTES,
    &CGROUP_OOM_KILLS,
    &CGROUP_ANON_BYTES,
    &CGROUP_FILE_BYTES,
    &CGROUP_KERNEL_BYTES,
    &CGROUP_SHMEM_BYTES,
    &CGROUP_SWAP_BYTES,
    &CGROUP_WORKING_SET_BYTES,
];

/// Which columns a recording has: its layout and its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Layout {
    /// One row per process per sample, instead of one per sample.
    pub per_process: bool,
    pub pss: bool,
    pub breakdown: bool,
    /// The command's cgroup figures (default layout only).
    pub cgroup: bool,
    /// An attached cgroup's limit and OOM kills, besides its figures.
    pub attached: bool,
    /// The `phase` column (`--phases`).
    pub phases: bool,
}

impl Layout {
    /// The layout's name in `report`: `default` or `per-process`.
    pub(crate) fn name(self) -> &'static str {
        if self.per_process {
            "per-process"
        } else {
            "default"
        }
    }

    fn fits(self, column: &Column) -> bool {
        self.fits_rows(column) && column.option.is_none_or(|option| self.has(option))
    }

    fn fits_rows(self, column: &Column) -> bool {
        match column.rows {
            Rows::All => true,
            Rows::Tree => !self.per_process,
            Rows::Process => self.per_process,
        }
    }

    pub(crate) fn has(self, option: Opt) -> bool {
        match option {
            Opt::Pss => self.pss,
            Opt::Breakdown => self.breakdown,
            Opt::Cgroup => self.cgroup,
            Opt::Attached => self.attached,
            Opt::AttachedParts => self.attached && self.breakdown,
            Opt::Phases => self.phases,
        }
    }

    fn enable(&mut self, option: Opt) {
        match option {
            Opt::Pss => self.pss = true,
            Opt::Breakdown => self.breakdown = true,
            Opt::Cgroup => self.cgroup = true,
            Opt::Attached => self.attached = true,
            Opt::AttachedParts => {
                self.attached = true;
                self.breakdown = true;
            }
            Opt::Phases => self.phases = true,
        }
    }

    /// This layout's columns, in order.
    pub(crate) fn columns(self) -> Vec<&'static Column> {
        COLUMNS.into_iter().filter(|c| self.fits(c)).collect()
    }

    /// The columns of a header recognized as this layout, in order: an
    /// option's column that an earlier version did not write yet
    /// (`uss_bytes` beside `pss_bytes`) is not among them.
    pub(crate) fn columns_in(self, names: &[&str]) -> Vec<&'static Column> {
        self.columns()
            .into_iter()
            .filter(|column| names.contains(&column.name))
            .collect()
    }

    /// The column names, in order: the CSV header, the JSON Lines keys.
    pub fn header(self) -> Vec<&'static str> {
        self.columns().into_iter().map(|c| c.name).collect()
    }

    /// Recognizes one of memsample's headers exactly: an unknown column
    /// means a file from something else, or from a newer memsample whose
    /// figures this one cannot vouch for.
    pub(crate) fn from_header(names: &[&str]) -> Option<Layout> {
        [false, true].into_iter().find_map(|per_process| {
            let mut layout = Layout {
                per_process,
                ..Layout::default()
            };
            let shape = layout;
            let mut names = names.iter().peekable();
            for column in COLUMNS.into_iter().filter(|c| shape.fits_rows(c)) {
                match (names.peek(), column.option) {
                    (Some(name), option) if **name == column.name => {
                        names.next();
                        if let Some(option) = option {
                            layout.enable(option);
                        }
                    }
                    (_, Some(_)) => {}
                    (_, None) => return None,
                }
            }
            names.next().is_none().then_some(layout)
        })
    }

    /// What is wrong with a header that is not one of memsample's: the
    /// first column that differs from the closest layout, or the whole
    /// header when it is not memsample's at all.
    pub(crate) fn header_problem(names: &[&str]) -> String {
        if names.first() != Some(&TIMESTAMP.name) {
            return format!("unexpected header {}", quoted(&names.join(",")));
        }
        let mut layout = Layout {
            per_process: names.contains(&PID.name),
            ..Layout::default()
        };
        for column in COLUMNS {
            if let Some(option) = column.option
                && names.contains(&column.name)
            {
                layout.enable(option);
            }
        }
        let expected = layout.header();
        let differs = names
            .iter()
            .zip(&expected)
            .position(|(name, column)| name != column)
            .unwrap_or(names.len().min(expected.len()));
        match (names.get(differs), expected.get(differs)) {
            (Some(name), Some(column)) => format!(
                "unexpected column {} (column {}), expected {column}",
                quoted(name),
                differs + 1
            ),
            (Some(name), None) => format!(
                "unexpected column {} (column {}) after {}",
                quoted(name),
                differs + 1,
                expected.last().copied().unwrap_or_default()
            ),
            (None, Some(column)) => format!("missing column {column}"),
            (None, None) => format!("unexpected header {}", quoted(&names.join(","))),
        }
    }
}

/// A field as it appears in an error: quoted, escaped (a field may hold a
/// newline, the message must stay on one line) and cut when long.
pub(crate) fn quoted(text: &str) -> String {
    const LONGEST: usize = 60;
    if text.chars().count() > LONGEST {
        let cut: String = text.chars().take(LONGEST).collect();
        format!("{cut:?}…")
    } else {
        format!("{text:?}")
    }
}

/// Why a row was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Start,
    Interval,
    /// `SIGUSR1`.
    Manual,
    /// memsample stopped while the target lives.
    Stop,
    /// The job marked the start of a phase (`--phases`).
    Mark,
    /// The target has just ended.
    Exit,
}

impl Trigger {
    pub(crate) const ALL: [Trigger; 6] = [
        Trigger::Start,
        Trigger::Interval,
        Trigger::Manual,
        Trigger::Stop,
        Trigger::Exit,
        Trigger::Mark,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::Interval => "interval",
            Trigger::Manual => "manual",
            Trigger::Stop => "stop",
            Trigger::Exit => "exit",
            Trigger::Mark => "mark",
        }
    }

    /// `start, interval, manual, stop, exit or mark`, for error messages.
    pub(crate) fn choices() -> String {
        let names: Vec<&str> = Trigger::ALL.iter().map(|t| t.as_str()).collect();
        match names.split_last() {
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a trigger's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not {}", Trigger::choices())]
pub struct UnknownTrigger;

impl FromStr for Trigger {
    type Err = UnknownTrigger;

    fn from_str(text: &str) -> Result<Trigger, UnknownTrigger> {
        Trigger::ALL
            .into_iter()
            .find(|trigger| trigger.as_str() == text)
            .ok_or(UnknownTrigger)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_layouts() -> Vec<Layout> {
        let mut layouts = Vec::new();
        for per_process in [false, true] {
            for pss in [false, true] {
                for breakdown in [false, true] {
                    layouts.push(Layout {
                        per_process,
                        pss,
                        breakdown,
                        ..Layout::default()
                    });
                }
            }
            layouts.push(Layout {
                per_process: false,
                pss: per_process,
                breakdown: per_process,
                cgroup: true,
                attached: per_process,
                phases: per_process,
            });
        }
        layouts
    }

    #[test]
    fn headers_for_every_option() {
        let header = |per_process, pss| {
            Layout {
                per_process,
                pss,
                ..Layout::default()
            }
            .header()
            .join(",")
        };
        assert_eq!(
            header(false, false),
            "timestamp,elapsed_s,trigger,procs,rss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes"
        );
        assert_eq!(
            header(false, true),
            "timestamp,elapsed_s,trigger,procs,rss_bytes,pss_bytes,uss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes"
        );
        assert_eq!(
            header(true, false),
            "timestamp,elapsed_s,trigger,pid,ppid,command,rss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes"
        );
        assert_eq!(
            header(true, true),
            "timestamp,elapsed_s,trigger,pid,ppid,command,rss_bytes,pss_bytes,uss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes"
        );
        let all = Layout {
            per_process: false,
            pss: true,
            breakdown: true,
            cgroup: false,
            attached: false,
            phases: false,
        };
        assert_eq!(
            all.header().join(","),
            "timestamp,elapsed_s,trigger,procs,rss_bytes,pss_bytes,uss_bytes,anon_bytes,file_bytes,\
             shmem_bytes,swap_bytes,threads,vsz_bytes,cpu_percent,peak_rss_bytes"
        );
    }

    #[test]
    fn recordings_from_before_uss_still_read() {
        let old = [
            "timestamp",
            "elapsed_s",
            "trigger",
            "procs",
            "rss_bytes",
            "pss_bytes",
            "vsz_bytes",
            "cpu_percent",
            "peak_rss_bytes",
        ];
        let layout = Layout::from_header(&old).expect("recognized");
        assert!(layout.pss && !layout.breakdown);
    }

    #[test]
    fn cgroup_columns_close_the_default_layout_only() {
        let cgroup = Layout {
            cgroup: true,
            ..Layout::default()
        };
        assert_eq!(
            cgroup.header().join(","),
            "timestamp,elapsed_s,trigger,procs,rss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes,\
             cgroup_bytes,cgroup_peak_bytes,cgroup_interval_peak_bytes"
        );
        let per_process = Layout {
            per_process: true,
            ..cgroup
        };
        assert!(!per_process.header().contains(&"cgroup_bytes"));
        let attached = Layout {
            attached: true,
            ..cgroup
        };
        assert_eq!(
            attached.header().join(","),
            "timestamp,elapsed_s,trigger,procs,rss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes,\
             cgroup_bytes,cgroup_peak_bytes,cgroup_interval_peak_bytes,cgroup_limit_bytes,\
             cgroup_oom_kills"
        );
    }

    #[test]
    fn every_header_is_recognized_as_its_layout() {
        for layout in all_layouts() {
            assert_eq!(Layout::from_header(&layout.header()), Some(layout));
        }
        assert_eq!(Layout::from_header(&["timestamp", "x"]), None);
        let mut extra = Layout::default().header();
        extra.push("gpu_bytes");
        assert_eq!(Layout::from_header(&extra), None);
        let mut moved = Layout::default().header();
        moved.swap(4, 5);
        assert_eq!(Layout::from_header(&moved), None);
    }

    #[test]
    fn header_problems_name_the_column() {
        let mut header = Layout::default().header();
        header.pop();
        assert_eq!(
            Layout::header_problem(&header),
            "missing column peak_rss_bytes"
        );
        assert_eq!(
            Layout::header_problem(&["name", "size"]),
            "unexpected header \"name,size\""
        );
        let mut swapped = Layout::default().header();
        swapped.swap(4, 5);
        assert_eq!(
            Layout::header_problem(&swapped),
            "unexpected column \"vsz_bytes\" (column 5), expected rss_bytes"
        );
    }

    #[test]
    fn column_names_are_unique() {
        for (index, column) in COLUMNS.iter().enumerate() {
            assert!(!COLUMNS[..index].contains(column), "{column:?} twice");
        }
    }

    #[test]
    fn triggers_parse_from_their_names() {
        for trigger in Trigger::ALL {
            assert_eq!(trigger.to_string().parse(), Ok(trigger));
        }
        assert_eq!("tick".parse::<Trigger>(), Err(UnknownTrigger));
        assert_eq!(
            UnknownTrigger.to_string(),
            "is not start, interval, manual, stop, exit or mark"
        );
    }
}
