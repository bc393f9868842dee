//! The two formats of a recording (docs/format.md): `--format` and its
//! default from `-o`, JSON Lines rows with the CSV header's fields as
//! numbers and strings, and `report` and `plot` reading either format
//! whatever the file is named, with the same figures.

use std::path::Path;
use std::process::Output;

use crate::common::*;
use serde_json::Value;

/// Records the fixture holding 30 MiB (with two children holding 10 MiB
/// each) for a few samples, in `dir`, with these options.
fn record(dir: &Path, options: &[&str]) -> Output {
    let output = memsample()
        .current_dir(dir)
        .args(["-q", "-i", "50ms"])
        .args(options)
        .arg("--")
        .arg(fixture())
        .args([
            "hold", "30", "children", "2", "10", "300", "sleep", "350", "wait",
        ])
        .output()
        .expect("memsample runs");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    output
}

/// The `report --json` object of a file, without its name.
fn report_json(path: &Path) -> Value {
    let run = run(None, &["report", "--json", path.to_str().expect("UTF-8")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut json: Value = serde_json::from_str(&run.stdout).expect("JSON");
    json.as_object_mut().expect("an object").remove("file");
    json
}

/// Checks JSON Lines text: every row's keys are the CSV header of the same
/// options, in order; text fields are strings, the others numbers (or null
/// for an optional figure). Returns the rows.
fn check_jsonl(text: &str, per_process: bool, pss: bool) -> Vec<Row> {
    let header = layout_header(per_process, pss);
    let expected: Vec<&str> = header.split(',').collect();
    for line in text.lines() {
        assert_eq!(json_keys(line), expected, "{line}");
        let object: serde_json::Map<String, Value> = serde_json::from_str(line).expect("JSON");
        for (key, value) in &object {
            let ok = match key.as_str() {
                "timestamp" | "trigger" | "command" => value.is_string(),
                "pss_bytes" | "uss_bytes" => value.is_u64() || value.is_null(),
                "elapsed_s" | "cpu_percent" => value.is_f64() || value.is_u64(),
                _ => value.is_u64(),
            };
            assert!(ok, "{key} = {value} in {line}");
        }
    }
    parse_recording(text).1
}

#[test]
fn jsonl_rows_have_the_csv_fields_as_json_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (per_process, pss) in [(false, false), (true, true)] {
        let mut options = vec!["-o", "mem.jsonl"];
        if per_process {
            options.push("--per-process");
        }
        if pss {
            options.push("--pss");
        }
        record(dir.path(), &options);
        let text = std::fs::read_to_string(dir.path().join("mem.jsonl")).expect("written");
        assert!(text.starts_with("{\"timestamp\":\""), "{text}");
        // elapsed_s keeps the CSV's 6 decimals.
        assert!(text.contains(",\"elapsed_s\":0.000000,"), "{text}");
        let rows = check_jsonl(&text, per_process, pss);
        assert!(rows.len() >= 3, "{text}");
        // The kernel's figures: the main process holds 30 MiB.
        let main_rss = rows.iter().map(|row| num(row, "rss_bytes")).max();
        assert!(main_rss >= Some(30 * MIB), "{main_rss:?}");
        if per_process {
            let pids: std::collections::BTreeSet<u64> =
                rows.iter().map(|row| num(row, "pid")).collect();
            assert_eq!(pids.len(), 3, "the command and its two children");
        }
    }
}

#[test]
fn format_flag_and_default_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    // --format jsonl without -o: the default name ends in .jsonl.
    record(dir.path(), &["--format", "jsonl"]);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(
        names[0].starts_with("memsample-") && names[0].ends_with(".jsonl"),
        "{names:?}"
    );
    let text = std::fs::read_to_string(dir.path().join(&names[0])).expect("written");
    check_jsonl(&text, false, false);

    // .ndjson is JSON Lines too; --format csv wins over the name.
    record(dir.path(), &["-o", "mem.ndjson"]);
    let text = std::fs::read_to_string(dir.path().join("mem.ndjson")).expect("written");
    check_jsonl(&text, false, false);
    record(dir.path(), &["-o", "csv.jsonl", "--format", "csv"]);
    let text = std::fs::read_to_string(dir.path().join("csv.jsonl")).expect("written");
    assert!(text.starts_with(&layout_header(false, false)), "{text}");

    // stdout: CSV unless --format jsonl.
    let output = record(dir.path(), &["-o", "-"]);
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(stdout.starts_with(&layout_header(false, false)), "{stdout}");
    let output = record(dir.path(), &["-o", "-", "--format", "jsonl"]);
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    check_jsonl(&stdout, false, false);
}

#[test]
fn report_and_plot_give_the_same_figures_in_either_format_whatever_the_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    record(dir.path(), &["-o", "mem.csv", "--per-process", "--pss"]);
    let csv = std::fs::read_to_string(dir.path().join("mem.csv")).expect("written");
    let jsonl = csv_to_jsonl(&csv);
    check_jsonl(&jsonl, true, true);
    // The same rows as JSON Lines, named .jsonl and named .csv.
    let as_jsonl = dir.path().join("same.jsonl");
    let misnamed = dir.path().join("same.csv");
    std::fs::write(&as_jsonl, &jsonl).expect("written");
    std::fs::write(&misnamed, &jsonl).expect("written");

    let from_csv = report_json(&dir.path().join("mem.csv"));
    assert_eq!(report_json(&as_jsonl), from_csv);
    assert_eq!(report_json(&misnamed), from_csv);
    assert_eq!(from_csv["max_procs"], 3);
    assert!(from_csv["peak_rss_bytes"].as_u64() >= Some(50 * MIB));

    let svg = dir.path().join("chart.svg");
    let run = run(
        None,
        &[
            "plot",
            misnamed.to_str().expect("UTF-8"),
            "-o",
            svg.to_str().expect("UTF-8"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let chart = std::fs::read_to_string(&svg).expect("the chart");
    roxmltree::Document::parse(&chart).expect("well-formed XML");
    assert!(chart.contains("peak "), "no peak label");
}

#[test]
fn a_jsonl_recording_and_its_plot_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    record(dir.path(), &["-o", "mem.jsonl", "--plot", "mem.svg"]);
    let text = std::fs::read_to_string(dir.path().join("mem.jsonl")).expect("written");
    let rows = check_jsonl(&text, false, false);
    let json = report_json(&dir.path().join("mem.jsonl"));
    assert_eq!(rows.last().map(|row| row["trigger"].as_str()), Some("exit"));
    let rows = sampled(&rows);
    assert_eq!(json["samples"].as_u64(), Some(rows.len() as u64));
    let peak = rows.iter().map(|row| num(row, "rss_bytes")).max();
    assert_eq!(json["peak_rss_bytes"].as_u64(), peak);
    let chart = std::fs::read_to_string(dir.path().join("mem.svg")).expect("--plot");
    roxmltree::Document::parse(&chart).expect("well-formed XML");
}

#[test]
fn bad_jsonl_is_one_line_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = format!(
        "{}\n2026-11-25T10:15:00.000Z,0.000000,start,1,100,200,0.0,100\n",
        layout_header(false, false)
    );
    let good = csv_to_jsonl(&csv);
    let good = good.trim_end();
    let cases = [
        (
            format!(
                "{good}\n{}\n",
                good.replace("\"rss_bytes\":100", "\"rss_bytes\":\"100\"")
            ),
            "bad.jsonl:2: field rss_bytes is not a number: \"\\\"100\\\"\"",
        ),
        (
            format!("{good}\n{}\n", good.replace("\"start\"", "\"tick\"")),
            "bad.jsonl:2: field trigger is not start, interval, manual, stop, exit or mark: \"tick\"",
        ),
        (
            format!("{good}\n{{\"timestamp\":\n"),
            "bad.jsonl:2: not a JSON object: ",
        ),
        (
            format!("{}\n", good.replace("\"procs\"", "\"threads\"")),
            "bad.jsonl:1: not a memsample recording: missing field procs",
        ),
        (
            format!("{}\n", good.replace("\"procs\"", "\"gpus\"")),
            "bad.jsonl:1: not a memsample recording: unknown field \"gpus\"",
        ),
    ];
    for (content, expected) in cases {
        let path = dir.path().join("bad.jsonl");
        std::fs::write(&path, &content).expect("written");
        let run = run(None, &["report", path.to_str().expect("UTF-8")]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
        let message = format!("memsample: {}", dir.path().join(expected).display());
        assert!(
            run.stderr.starts_with(&message),
            "got {:?}, want {message:?}…",
            run.stderr
        );
    }
}

/// JSON Lines has no header: a full disk shows at the first row, after the
/// command has started. Sampling stops, the command runs to its end, and
/// memsample exits 125 as the command exited 0.
#[test]
fn jsonl_on_a_full_disk_fails_at_the_first_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("ran");
    let output = memsample()
        .args(["-o", "/dev/full", "--format", "jsonl", "--"])
        .arg(fixture())
        .args(["sleep", "300", "touch"])
        .arg(&marker)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(125), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "memsample: cannot write to /dev/full: No space left on device; sampling stopped\n"
        ),
        "{stderr}"
    );
    assert!(marker.exists(), "the command ran to its end");
}

/// JSON fields are found by name: a recording whose keys were reordered
/// (`jq -S` sorts them) reads as the original, and a row that lacks a
/// field, or has one of no column, is still refused.
#[test]
fn jsonl_keys_in_any_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    record(dir.path(), &["-o", "mem.jsonl", "--per-process", "--pss"]);
    let text = std::fs::read_to_string(dir.path().join("mem.jsonl")).expect("written");
    // As `jq -S -c .` writes it: serde_json's map sorts the keys.
    let sort = |line: &str| {
        let object: serde_json::Map<String, Value> = serde_json::from_str(line).expect("JSON");
        serde_json::to_string(&object).expect("JSON")
    };
    let sorted: Vec<String> = text.lines().map(sort).collect();
    assert_ne!(sorted[0], text.lines().next().expect("a row"));
    assert!(sorted[0].starts_with("{\"command\":"), "{}", sorted[0]);
    let path = dir.path().join("sorted.jsonl");
    std::fs::write(&path, sorted.join("\n") + "\n").expect("written");
    assert_eq!(
        report_json(&path),
        report_json(&dir.path().join("mem.jsonl"))
    );
    // Still strict, by name.
    let without_rss = {
        let mut object: serde_json::Map<String, Value> =
            serde_json::from_str(&sorted[1]).expect("JSON");
        object.remove("rss_bytes");
        serde_json::to_string(&object).expect("JSON")
    };
    let cases = [
        (
            without_rss,
            "field rss_bytes missing (the first row has it)",
        ),
        (
            sorted[1].replacen("{", "{\"gpus\":1,", 1),
            "field \"gpus\" not in the first row",
        ),
    ];
    for (second, expected) in cases {
        let bad = dir.path().join("bad.jsonl");
        std::fs::write(&bad, format!("{}\n{second}\n", sorted[0])).expect("written");
        let run = run(None, &["report", bad.to_str().expect("UTF-8")]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
        assert!(
            run.stderr.contains(&format!("bad.jsonl:2: {expected}")),
            "{expected}: {}",
            run.stderr
        );
    }
}
