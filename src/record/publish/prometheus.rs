//! The figures in Prometheus's text exposition format 0.0.4, the format the
//! Pushgateway and node_exporter's textfile collector read
//! (docs/publishing.md, "Metrics"): `# HELP` and `# TYPE` lines, base units,
//! no timestamps.

use std::fmt::Write;

use super::Context;
use super::figures::Figures;
use super::phases::{PHASE_EXACT_HELP, PHASE_PEAK_HELP, PhaseSeries};

/// The content type of what [`exposition`] writes.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One metric: its name, help text and value; every one is a gauge (a
/// figure of one run, replaced whole at each push).
struct Metric {
    name: &'static str,
    help: &'static str,
    value: Value,
}

enum Value {
    Int(u64),
    Signed(i64),
    Seconds(f64),
}

/// Name and help text of each metric, in the order of [`values`].
const METRICS: [(&str, &str); 13] = [
    (
        "memsample_rss_bytes",
        "Resident memory of the recorded process tree at the last sample.",
    ),
    (
        "memsample_rss_peak_bytes",
        "Highest resident memory of the tree so far (the recording's peak_rss_bytes).",
    ),
    (
        "memsample_vsz_bytes",
        "Virtual memory of the tree at the last sample.",
    ),
    (
        "memsample_processes",
        "Processes counted at the last sample.",
    ),
    (
        "memsample_threads",
        "Threads of the tree at the last sample (with --breakdown).",
    ),
    (
        "memsample_pss_peak_bytes",
        "Highest proportional set size of the tree sampled (with --pss).",
    ),
    (
        "memsample_cgroup_bytes",
        "Memory charged to the command's cgroup at the last sample (memory.current).",
    ),
    (
        "memsample_cgroup_peak_bytes",
        "Exact peak of the command's whole tree from its cgroup (memory.peak).",
    ),
    (
        "memsample_cgroup_limit_bytes",
        "The memory limit of the attached cgroup (memory.max); absent without a limit.",
    ),
    (
        "memsample_oom_kills",
        "Processes of the cgroup killed by the OOM killer (an attached cgroup's since attach).",
    ),
    ("memsample_samples", "Samples taken so far."),
    (
        "memsample_duration_seconds",
        "Seconds since the first sample.",
    ),
    (
        "memsample_exit_code",
        "The command's exit status at the end (128 + N when killed by signal N).",
    ),
];

/// The value of each of [`METRICS`]; `None` when not known (left out).
fn values(figures: &Figures) -> [Option<Value>; 13] {
    let sampled = figures.samples > 0;
    let some = |known: bool, value: u64| known.then_some(Value::Int(value));
    [
        some(sampled, figures.rss_bytes),
        some(
            sampled || figures.rss_peak_bytes > 0,
            figures.rss_peak_bytes,
        ),
        some(sampled, figures.vsz_bytes),
        some(sampled, figures.processes),
        figures.threads.map(Value::Int),
        figures.pss_peak_bytes.map(Value::Int),
        figures.cgroup_bytes.map(Value::Int),
        figures.cgroup_peak_bytes.map(Value::Int),
        figures.cgroup_limit_bytes.map(Value::Int),
        figures.oom_kills.map(Value::Int),
        Some(Value::Int(figures.samples)),
        Some(Value::Seconds(figures.duration_seconds)),
        figures.exit_code.map(|code| Value::Signed(i64::from(code))),
    ]
}

/// The metrics the figures give, in a fixed order; those not known are left
/// out.
fn metrics(figures: &Figures) -> Vec<Metric> {
    METRICS
        .into_iter()
        .zip(values(figures))
        .filter_map(|((name, help), value)| {
            Some(Metric {
                name,
                help,
                value: value?,
            })
        })
        .collect()
}

/// The exposition of `figures`. `labels` go on every sample (the textfile's
/// job and `--label`s; none for the Pushgateway, whose grouping key carries
/// them).
pub(crate) fn exposition(
    figures: &Figures,
    phases: &[PhaseSeries],
    context: &Context,
    labels: &[(String, String)],
) -> String {
    let mut text = String::with_capacity(2048);
    let common = label_set(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for metric in metrics(figures) {
        let _ = writeln!(text, "# HELP {} {}", metric.name, metric.help);
        let _ = writeln!(text, "# TYPE {} gauge", metric.name);
        let _ = match metric.value {
            Value::Int(value) => writeln!(text, "{}{common} {value}", metric.name),
            Value::Signed(value) => writeln!(text, "{}{common} {value}", metric.name),
            Value::Seconds(value) => writeln!(text, "{}{common} {}", metric.name, seconds(value)),
        };
    }
    write_phases(&mut text, phases, labels);
    let command = context.command.join(" ");
    let info = label_set(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain([
        ("command", command.as_str()),
        ("version", env!("CARGO_PKG_VERSION")),
    ]));
    text.push_str(
        "# HELP memsample_info The recorded command and memsample's version; always 1.\n",
    );
    text.push_str("# TYPE memsample_info gauge\n");
    let _ = writeln!(text, "memsample_info{info} 1");
    text
}

/// A family of phase series: its name, help text and each phase's value.
type PhaseFamily = (&'static str, &'static str, fn(&PhaseSeries) -> u64);

/// The phase table (docs/publishing.md, "Phases"): one sample per phase
/// name, labelled `phase`, in each of two gauges; nothing without phases.
fn write_phases(text: &mut String, phases: &[PhaseSeries], labels: &[(String, String)]) {
    if phases.is_empty() {
        return;
    }
    let families: [PhaseFamily; 2] = [
        ("memsample_phase_peak_bytes", PHASE_PEAK_HELP, |phase| {
            phase.peak_bytes
        }),
        ("memsample_phase_peak_exact", PHASE_EXACT_HELP, |phase| {
            u64::from(phase.exact)
        }),
    ];
    for (name, help, value) in families {
        let _ = writeln!(text, "# HELP {name} {help}");
        let _ = writeln!(text, "# TYPE {name} gauge");
        for phase in phases {
            let set = label_set(
                labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .chain([("phase", phase.name.as_str())]),
            );
            let _ = writeln!(text, "{name}{set} {}", value(phase));
        }
    }
}

/// Seconds as a float Prometheus parses: finite, never negative.
fn seconds(value: f64) -> String {
    if value.is_finite() && value > 0.0 {
        format!("{value}")
    } else {
        "0".into()
    }
}

/// `{k="v",...}`, or nothing without labels.
fn label_set<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let pairs: Vec<String> = labels
        .map(|(name, value)| format!("{name}=\"{}\"", escape_label_value(value)))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", pairs.join(","))
    }
}

/// A label value as the text format escapes it: backslash, double quote and
/// line feed, nothing else.
pub(crate) fn escape_label_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Whether `name` is a label name Prometheus accepts and a user may set:
/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved).
pub(crate) fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposition_of(figures: &Figures, context: &Context, labels: &[(String, String)]) -> String {
        exposition(figures, &[], context, labels)
    }

    fn context(command: &[&str]) -> Context {
        Context {
            job: "build".into(),
            host: "host".into(),
            pid: Some(42),
            command: command.iter().map(|arg| arg.to_string()).collect(),
            service: "build".into(),
            started_unix_nanos: 0,
        }
    }

    fn sampled() -> Figures {
        Figures {
            samples: 3,
            processes: 2,
            rss_bytes: 1000,
            vsz_bytes: 5000,
            rss_peak_bytes: 2000,
            duration_seconds: 1.5,
            ..Figures::default()
        }
    }

    #[test]
    fn every_metric_has_help_and_type_and_one_sample() {
        let text = exposition_of(&sampled(), &context(&["make", "-j8"]), &[]);
        let expected = "\
# HELP memsample_rss_bytes Resident memory of the recorded process tree at the last sample.
# TYPE memsample_rss_bytes gauge
memsample_rss_bytes 1000
";
        assert!(text.starts_with(expected), "{text}");
        for name in [
            "memsample_rss_peak_bytes 2000",
            "memsample_vsz_bytes 5000",
            "memsample_processes 2",
            "memsample_samples 3",
            "memsample_duration_seconds 1.5",
            "memsample_info{command=\"make -j8\",version=\"",
        ] {
            assert!(
                text.lines().any(|line| line.starts_with(name)),
                "{name} in {text}"
            );
        }
        // Not known, so not there.
        for absent in [
            "memsample_exit_code",
            "memsample_cgroup",
            "memsample_pss",
            "memsample_oom",
            "memsample_threads",
        ] {
            assert!(!text.contains(absent), "{absent} in {text}");
        }
        let helps = text
            .lines()
            .filter(|line| line.starts_with("# HELP "))
            .count();
        let types = text
            .lines()
            .filter(|line| line.starts_with("# TYPE "))
            .count();
        let samples = text.lines().filter(|line| !line.starts_with('#')).count();
        assert_eq!((helps, types), (samples, samples));
        assert!(text.ends_with(" 1\n"));
    }

    #[test]
    fn label_values_are_escaped_and_names_untouched() {
        let text = exposition_of(
            &sampled(),
            &context(&["sh", "-c", "echo \"hi\"\nexit 1", "C:\\dir"]),
            &[("job".into(), "a\"b".into())],
        );
        assert!(
            text.contains("memsample_rss_bytes{job=\"a\\\"b\"} 1000\n"),
            "{text}"
        );
        let info = text.lines().last().expect("the info line");
        assert_eq!(
            info,
            format!(
                "memsample_info{{job=\"a\\\"b\",command=\"sh -c echo \\\"hi\\\"\\nexit 1 C:\\\\dir\",version=\"{}\"}} 1",
                env!("CARGO_PKG_VERSION")
            )
        );
        // One line per sample: the newline in the command is escaped.
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("memsample_info"))
                .count(),
            1
        );
    }

    #[test]
    fn huge_and_zero_values_are_written_exactly() {
        let huge = Figures {
            samples: u64::MAX,
            rss_bytes: u64::MAX,
            rss_peak_bytes: u64::MAX,
            cgroup_peak_bytes: Some(u64::MAX),
            cgroup_limit_bytes: Some(0),
            oom_kills: Some(0),
            exit_code: Some(i32::MIN),
            duration_seconds: 1e300,
            ..Figures::default()
        };
        let text = exposition_of(&huge, &context(&["x"]), &[]);
        assert!(
            text.contains("\nmemsample_rss_bytes 18446744073709551615\n"),
            "{text}"
        );
        assert!(text.contains("\nmemsample_cgroup_peak_bytes 18446744073709551615\n"));
        assert!(text.contains("\nmemsample_oom_kills 0\n"));
        assert!(text.contains("\nmemsample_cgroup_limit_bytes 0\n"));
        assert!(text.contains("\nmemsample_exit_code -2147483648\n"));
        let duration = text
            .lines()
            .find_map(|l| l.strip_prefix("memsample_duration_seconds "))
            .expect("duration");
        assert_eq!(duration.parse::<f64>().expect("a float"), 1e300);
        let zero = exposition_of(&Figures::default(), &context(&["x"]), &[]);
        assert!(zero.contains("\nmemsample_samples 0\n"), "{zero}");
        assert!(zero.contains("\nmemsample_duration_seconds 0\n"));
        // Nothing sampled: no figure of memory is claimed.
        assert!(!zero.contains("memsample_rss_bytes"));
        let odd = Figures {
            duration_seconds: f64::NAN,
            ..Figures::default()
        };
        assert!(
            exposition_of(&odd, &context(&["x"]), &[]).contains("\nmemsample_duration_seconds 0\n")
        );
    }

    #[test]
    fn each_phase_is_a_series_with_its_name_escaped() {
        use crate::record::publish::PhaseTable;
        use crate::stats::PeakOf;
        let mut table = PhaseTable::default();
        let peak = |bytes, exact| PeakOf {
            bytes,
            exact,
            main_exact: exact,
        };
        table.add("load", peak(104_857_600, true));
        table.add("test:a.py::t[\"x\\y\"]\\n", peak(7, false));
        let labels = [("job".to_string(), "build".to_string())];
        let text = exposition(&sampled(), table.series(), &context(&["x"]), &labels);
        let expected = "\
# HELP memsample_phase_peak_bytes Peak resident memory of each phase of the job (--phases), the highest of its runs.
# TYPE memsample_phase_peak_bytes gauge
memsample_phase_peak_bytes{job=\"build\",phase=\"load\"} 104857600
memsample_phase_peak_bytes{job=\"build\",phase=\"test:a.py::t[\\\"x\\\\y\\\"]\\\\n\"} 7
# HELP memsample_phase_peak_exact 1 when the phase's peak is its whole tree's exact peak (from the cgroup), 0 when sampled.
# TYPE memsample_phase_peak_exact gauge
memsample_phase_peak_exact{job=\"build\",phase=\"load\"} 1
memsample_phase_peak_exact{job=\"build\",phase=\"test:a.py::t[\\\"x\\\\y\\\"]\\\\n\"} 0
# HELP memsample_info ";
        assert!(text.contains(expected), "{text}");
        // Without phases, no phase family at all.
        let none = exposition(&sampled(), &[], &context(&["x"]), &labels);
        assert!(!none.contains("memsample_phase"), "{none}");
    }

    #[test]
    fn label_names() {
        for good in ["a", "_x", "branch", "CI_job2"] {
            assert!(is_label_name(good), "{good}");
        }
        for bad in ["", "2x", "a-b", "a.b", "__name__", "é", "a b"] {
            assert!(!is_label_name(bad), "{bad}");
        }
    }
}
