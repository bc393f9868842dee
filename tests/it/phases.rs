//! Phases (docs/phases.md): marks sent by the job become `mark` rows that
//! start a phase, and `report` gives each phase's peak.

use std::process::Command;

use crate::common::{MIB, Step, fixture, memsample, num, record, record_as, script};

/// The report's phase table, as `--json` gives it.
fn phase_table(recording: &std::path::Path) -> Vec<serde_json::Value> {
    let output = memsample()
        .arg("report")
        .arg("--json")
        .arg(recording)
        .output()
        .expect("report runs");
    assert!(output.status.success(), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    report["phases"].as_array().expect("a phase table").clone()
}

fn field(phase: &serde_json::Value, name: &str) -> u64 {
    phase[name]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} in {phase}"))
}

/// Three phases of known memory: 20 MiB held, then a 120 MiB spike of
/// 10 ms (between samples: only the kernel's high-water mark sees it),
/// then 10 MiB more held. Each phase's peak is the kernel's: the spike's
/// phase has exactly the VmHWM the fixture prints at its end.
#[test]
fn three_phases_have_the_peaks_the_kernel_saw() {
    let recorded = record(
        &[
            "-q",
            "--phases",
            "-i",
            "1s",
            "--json-summary",
            "summary.json",
        ],
        &[
            Step::WaitLines("mem.csv", 2),
            Step::Hold(20),
            // Each mark's row is waited for: a mark returns before its row
            // is taken, and what the job does meanwhile is before it.
            Step::Mark("spike"),
            Step::WaitLines("mem.csv", 3),
            Step::Spike(120, 10),
            Step::Mark("more"),
            Step::WaitLines("mem.csv", 4),
            Step::Hold(10),
            Step::Mark("end"),
            Step::WaitLines("mem.csv", 5),
            Step::PrintHwm,
        ],
    );
    recorded.assert_code(0);
    let (header, rows) = recorded.rows();
    assert_eq!(&header[..4], ["timestamp", "elapsed_s", "trigger", "phase"]);
    let triggers: Vec<(&str, &str)> = rows
        .iter()
        .map(|row| (row["trigger"].as_str(), row["phase"].as_str()))
        .collect();
    assert_eq!(
        triggers[..4],
        [
            ("start", "start"),
            ("mark", "spike"),
            ("mark", "more"),
            ("mark", "end")
        ]
    );
    let hwm: u64 = recorded
        .stdout
        .trim()
        .strip_prefix("VmHWM ")
        .and_then(|n| n.parse().ok())
        .expect("VmHWM printed");
    let phases = phase_table(&recorded.out);
    let names: Vec<&str> = phases.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["start", "spike", "more", "end"]);
    let peak = |index: usize| field(&phases[index], "peak_bytes");
    assert_eq!(peak(1), hwm, "the spike's phase peaks at VmHWM: {phases:?}");
    // What the fixture held, and its own few MiB of program.
    let near = |got: u64, held: u64| got >= held * MIB && got < (held + 16) * MIB;
    assert!(near(peak(0), 20), "start: {phases:?}");
    assert!(near(peak(2), 30), "more: {phases:?}");
    assert!(hwm >= 140 * MIB);
    assert!(phases.iter().all(|p| p["peak_exact"] == false));
    // The mark rows are samples of the moment: 20 MiB held at the first.
    assert!(num(&rows[1], "rss_bytes") >= 20 * MIB);
    // The JSON summary lists the same table.
    let summary = recorded.out.with_file_name("summary.json");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(summary).expect("the summary")).expect("JSON");
    assert_eq!(summary["phases"], serde_json::Value::Array(phases.clone()));
}

/// A pipeline whose last step is small: a child spikes to 150 MiB in
/// `load` and is waited for, then `save` idles until the job exits. The
/// `exit` row's `peak_rss_bytes` is `wait4`'s, which holds that child's
/// peak: it stays the recording's peak, but is not `save`'s. Each phase
/// has what was sampled in it, in the report and in the table the
/// recording published as it went (the textfile).
#[test]
fn the_last_phase_does_not_take_an_earlier_childs_peak() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("mem.csv");
    let prom = dir.path().join("phases.prom");
    let out_text = out.to_string_lossy().into_owned();
    let steps = [
        Step::WaitLines(&out_text, 2),
        Step::Mark("load"),
        Step::WaitLines(&out_text, 3),
        Step::Children(1, 150, 10),
        Step::Wait,
        Step::Mark("save"),
        Step::WaitLines(&out_text, 4),
    ];
    let output = memsample()
        .args(["-q", "--phases", "-i", "1h", "-o"])
        .arg(&out)
        .arg("--textfile")
        .arg(&prom)
        .arg("--")
        .arg(fixture())
        .args(script(&steps))
        .output()
        .expect("memsample runs");
    assert!(output.status.success(), "{output:?}");
    let (_, rows) = crate::common::read_csv(&out);
    let shape: Vec<(&str, &str)> = rows
        .iter()
        .map(|row| (row["trigger"].as_str(), row["phase"].as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            ("start", "start"),
            ("mark", "load"),
            ("mark", "save"),
            ("exit", "save")
        ]
    );
    // wait4's figure: the child's whole high-water mark.
    assert!(num(&rows[3], "peak_rss_bytes") >= 150 * MIB, "{rows:?}");
    let table = phase_table(&out);
    let (load, save) = (&table[1], &table[2]);
    assert_eq!(
        (&load["name"], &save["name"]),
        (&"load".into(), &"save".into())
    );
    // The spike fell between samples: load has what was sampled, its mark
    // row's and its closing row's RSS (the main process alone).
    let sampled = num(&rows[1], "rss_bytes").max(num(&rows[2], "rss_bytes"));
    assert_eq!(field(load, "peak_bytes"), sampled, "{table:?}");
    assert!(sampled < 40 * MIB, "{rows:?}");
    assert_eq!(field(save, "peak_bytes"), num(&rows[2], "rss_bytes"));
    assert_eq!(save["peak_main_exact"], false, "{save}");
    // The recording's peak still includes the exit row's.
    let output = memsample()
        .args(["report", "--json"])
        .arg(&out)
        .output()
        .expect("report runs");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(
        field(&report, "kernel_peak_rss_bytes") >= 150 * MIB,
        "{report}"
    );
    // The recording's own fold, published at its end, agrees.
    let text = std::fs::read_to_string(&prom).expect("the textfile");
    let published = format!(
        "memsample_phase_peak_bytes{{job=\"fixture\",phase=\"save\"}} {}\n",
        field(save, "peak_bytes")
    );
    assert!(text.contains(&published), "{published}{text}");
}

/// 1,000 marks as fast as the job can send them: every one a row of its
/// own, in order, none lost or merged.
#[test]
fn a_thousand_marks_are_all_recorded() {
    let recorded = record_as(
        "mem.jsonl",
        &["-q", "--phases", "-i", "1h"],
        &[
            Step::WaitLines("mem.jsonl", 1),
            Step::Marks(1000, "m"),
            Step::Mark("done"),
        ],
    );
    recorded.assert_code(0);
    let (_, rows) = recorded.rows();
    let marks: Vec<&str> = rows
        .iter()
        .filter(|row| row["trigger"] == "mark")
        .map(|row| row["phase"].as_str())
        .collect();
    let expected: Vec<String> = (0..1000)
        .map(|n| format!("m{n}"))
        .chain(["done".to_string()])
        .collect();
    assert_eq!(marks, expected);
    let phases = phase_table(&recorded.out);
    assert_eq!(phases.len(), 1002, "start, m0..m999, done");
}

/// A mark from deep in the tree: `memsample mark` run by a shell that a
/// shell started.
#[test]
fn a_grandchild_marks_with_memsample_mark() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("mem.csv");
    let output = memsample()
        .args(["-q", "--phases", "-i", "1h", "-o"])
        .arg(&out)
        .args(["--", "sh", "-c", "sh -c \"$0 mark deep; :\"; :"])
        .arg(env!("CARGO_BIN_EXE_memsample"))
        .output()
        .expect("memsample runs");
    assert!(output.status.success(), "{output:?}");
    let (_, rows) = crate::common::read_csv(&out);
    assert!(
        rows.iter()
            .any(|row| row["trigger"] == "mark" && row["phase"] == "deep"),
        "{rows:?}"
    );
}

/// Without a recording, `memsample mark` does nothing, quietly: scripts
/// may always call it.
#[test]
fn mark_without_a_recording_does_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    for control in [None, Some(dir.path().join("gone"))] {
        let mut command = memsample();
        command
            .env_remove("MEMSAMPLE_CONTROL")
            .args(["mark", "load"]);
        if let Some(path) = &control {
            command.env("MEMSAMPLE_CONTROL", path);
        }
        let output = command.output().expect("runs");
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        assert!(output.stdout.is_empty() && output.stderr.is_empty());
    }
}

/// Hostile names: `memsample mark` refuses them in one line (exit 2);
/// sent raw, they are escaped and cut, and the recording stays whole.
#[test]
fn hostile_names_are_refused_or_escaped() {
    for name in [
        "x".repeat(201),
        "a\nb".into(),
        "\u{1b}[2J".into(),
        String::new(),
    ] {
        let output = memsample()
            .args(["mark", "--control", "/nonexistent", &name])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{name:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let long = "é".repeat(150);
    let recorded = record(
        &["-q", "--phases", "-i", "1h"],
        &[
            Step::WaitLines("mem.csv", 2),
            Step::Mark("a\nb,\"c\u{1b}"),
            Step::Mark(&long),
        ],
    );
    recorded.assert_code(0);
    let (_, rows) = recorded.rows();
    let phases: Vec<&str> = rows.iter().map(|row| row["phase"].as_str()).collect();
    assert_eq!(phases[1], "a\\nb,\"c\\u{1b}");
    assert_eq!(phases[2], "é".repeat(100));
    let text = memsample()
        .arg("report")
        .arg(&recorded.out)
        .output()
        .expect("report runs");
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains("a\\nb,\"c\\u{1b}: from"));
}

/// Without --phases nothing changes: no phase column, no socket given.
#[test]
fn without_phases_there_is_no_column_nor_socket() {
    let recorded = record(
        &["-q", "-i", "1h"],
        &[Step::WaitLines("mem.csv", 2), Step::Mark("ignored")],
    );
    recorded.assert_code(0);
    let (header, rows) = recorded.rows();
    assert!(!header.iter().any(|name| name == "phase"));
    assert!(rows.iter().all(|row| row["trigger"] != "mark"));
    let output = Command::new(fixture())
        .env_remove("MEMSAMPLE_CONTROL")
        .args(["mark", "x"])
        .output()
        .expect("fixture runs");
    assert!(output.status.success());
}

/// The socket's directory is private and removed at the end.
#[test]
fn the_socket_is_private_and_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seen = dir.path().join("seen");
    let output = memsample()
        .args(["-q", "--phases", "-i", "1h", "-o"])
        .arg(dir.path().join("m.csv"))
        .args([
            "--",
            "sh",
            "-c",
            "stat -c %a \"$(dirname \"$MEMSAMPLE_CONTROL\")\" > \"$0\"; echo \"$MEMSAMPLE_CONTROL\" >> \"$0\"",
        ])
        .arg(&seen)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    let text = std::fs::read_to_string(&seen).expect("written");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("700"));
    let socket = std::path::PathBuf::from(lines.next().expect("the path"));
    let parent = socket.parent().expect("a directory");
    assert!(
        !socket.exists() && !parent.exists(),
        "{} left",
        parent.display()
    );
}

/// `--reset-peaks`: after a phase with a 100 MiB spike, the next phase,
/// holding 20 MiB, peaks at what it holds: in `peak_rss_bytes`, in the
/// report, and in the kernel's own VmHWM of the process. Without it, the
/// spike stays in both.
#[test]
fn reset_peaks_gives_each_phase_its_own_high_water_mark() {
    let steps = [
        Step::WaitLines("mem.csv", 2),
        Step::Mark("a"),
        Step::WaitLines("mem.csv", 3),
        Step::Spike(100, 10),
        Step::Mark("b"),
        // The mark's row is out once the peaks were reset.
        Step::WaitLines("mem.csv", 4),
        Step::PrintHwm,
        Step::Hold(20),
        Step::Mark("end"),
        Step::WaitLines("mem.csv", 5),
    ];
    // The fixture's own few MiB of program over what it holds.
    let near = |got: u64, held: u64| got >= held * MIB && got < (held + 16) * MIB;
    for reset in [true, false] {
        let mut flags = vec!["-q", "--phases", "-i", "1h"];
        if reset {
            flags.push("--reset-peaks");
        }
        let recorded = record(&flags, &steps);
        recorded.assert_code(0);
        let (_, rows) = recorded.rows();
        let phases: Vec<&str> = rows.iter().map(|row| row["phase"].as_str()).collect();
        assert_eq!(phases[..4], ["start", "a", "b", "end"], "reset {reset}");
        let hwm_after_mark: u64 = recorded
            .stdout
            .trim()
            .strip_prefix("VmHWM ")
            .and_then(|n| n.parse().ok())
            .expect("VmHWM printed");
        // The row of mark b closes a: it read the spike's VmHWM first.
        assert!(num(&rows[2], "peak_rss_bytes") >= 100 * MIB, "{rows:?}");
        let closing_b = num(&rows[3], "peak_rss_bytes");
        let table = phase_table(&recorded.out);
        let b = &table[2];
        assert_eq!(b["name"], "b");
        assert!(field(&table[1], "peak_bytes") >= 100 * MIB, "{table:?}");
        assert!(near(field(b, "peak_bytes"), 20), "reset {reset}: {table:?}");
        if reset {
            assert!(
                hwm_after_mark < 16 * MIB,
                "the kernel's mark: {hwm_after_mark}"
            );
            assert!(near(closing_b, 20), "{closing_b}");
            // The phase's own high-water mark: the main process's, exactly.
            assert_eq!(field(b, "peak_bytes"), closing_b);
            assert_eq!(b["peak_main_exact"], true, "{b}");
        } else {
            assert!(hwm_after_mark >= 100 * MIB, "{hwm_after_mark}");
            assert!(closing_b >= 100 * MIB, "{closing_b}");
            assert_eq!(b["peak_main_exact"], false, "{b}");
        }
        assert_eq!(b["peak_exact"], false);
    }
}

/// `--reset-peaks` needs marks, and a backend that reads the high-water
/// mark: refused in one line, exit 125, before the command starts.
#[test]
fn reset_peaks_is_refused_without_phases() {
    for flags in [
        &["--reset-peaks"][..],
        &["--reset-peaks", "--phases", "--backend", "sysinfo"][..],
    ] {
        let output = memsample()
            .args(flags)
            .args(["-o", "/dev/null", "--", "sh", "-c", "echo ran"])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(125), "{flags:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("--reset-peaks"), "{stderr}");
        assert!(output.stdout.is_empty(), "the command did not run");
    }
}
