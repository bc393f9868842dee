//! Comparing and sharing recordings: `report` of several files, against a
//! baseline, as Markdown; `plot` of several files, with a CPU panel. Two
//! real recordings of the fixture holding 40 and 60 MiB, read back by the
//! real binary; the figures are checked against the rows the kernel gave.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::TempDir;

use crate::common::{
    MIB, Run, Step, data, fixture, layout_header, memsample, num, read_csv, run, script,
};

/// Records the fixture holding `mib` MiB for a moment into `dir/name`.
fn record(dir: &Path, name: &str, mib: u64) -> PathBuf {
    let path = dir.join(name);
    let status = memsample()
        .args(["-q", "-i", "50ms", "-o"])
        .arg(&path)
        .arg("--")
        .arg(fixture())
        .args(script(&[Step::Hold(mib), Step::Sleep(400)]))
        .status()
        .expect("memsample runs");
    assert!(status.success(), "recording {name}: {status}");
    path
}

/// A directory with `a40.csv` and `b60.csv`, recordings of 40 and 60 MiB.
fn two_recordings() -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    record(dir.path(), "a40.csv", 40);
    record(dir.path(), "b60.csv", 60);
    dir
}

/// The highest rss_bytes of a recording, as the kernel gave it.
fn sampled_peak(path: &Path) -> u64 {
    let (_, rows) = read_csv(path);
    rows.iter()
        .map(|row| num(row, "rss_bytes"))
        .max()
        .expect("rows")
}

fn in_dir(dir: &TempDir, args: &[&str]) -> Run {
    run(Some(dir.path()), args)
}

#[test]
fn several_recordings_give_a_json_array_and_a_markdown_table() {
    let dir = two_recordings();
    let (a, b) = (dir.path().join("a40.csv"), dir.path().join("b60.csv"));
    let (peak_a, peak_b) = (sampled_peak(&a), sampled_peak(&b));
    assert!((40 * MIB..60 * MIB).contains(&peak_a), "{peak_a}");
    assert!(peak_b >= 60 * MIB, "{peak_b}");

    let json = in_dir(&dir, &["report", "--json", "a40.csv", "b60.csv"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let array: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let array = array.as_array().expect("an array");
    assert_eq!(array.len(), 2);
    assert_eq!(array[0]["file"], "a40.csv");
    assert_eq!(array[1]["file"], "b60.csv");
    assert_eq!(array[0]["peak_rss_bytes"], peak_a);
    assert_eq!(array[1]["peak_rss_bytes"], peak_b);
    // One file keeps its one object.
    let one = in_dir(&dir, &["report", "--json", "a40.csv"]);
    let one: Value = serde_json::from_str(&one.stdout).expect("JSON");
    assert_eq!(one["peak_rss_bytes"], peak_a);

    let markdown = in_dir(&dir, &["report", "--markdown", "a40.csv", "b60.csv"]);
    assert_eq!(markdown.code, 0, "{}", markdown.stderr);
    let lines: Vec<&str> = markdown.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", markdown.stdout);
    assert!(
        lines[0].starts_with("| recording | samples |"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("|---|"), "{}", lines[1]);
    assert!(lines[2].starts_with("| a40.csv | "), "{}", lines[2]);
    assert!(lines[3].starts_with("| b60.csv | "), "{}", lines[3]);

    let text = in_dir(&dir, &["report", "a40.csv", "b60.csv"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let blocks: Vec<&str> = text.stdout.split("\n\n").collect();
    assert_eq!(blocks.len(), 2, "{}", text.stdout);
    assert!(blocks[0].starts_with("a40.csv: ") && blocks[1].starts_with("b60.csv: "));
}

#[test]
fn baseline_gate_fails_at_10_percent_and_passes_at_60() {
    let dir = two_recordings();
    let grown = sampled_peak(&dir.path().join("b60.csv")) as i64
        - sampled_peak(&dir.path().join("a40.csv")) as i64;
    assert!(grown > 15 * MIB as i64, "{grown}");

    let base = ["report", "b60.csv", "--baseline", "a40.csv"];
    let failed = in_dir(&dir, &[&base[..], &["--max-increase", "10%"]].concat());
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert_eq!(failed.stderr.lines().count(), 1, "{}", failed.stderr);
    assert!(
        failed.stderr.starts_with("memsample: b60.csv: peak RSS +")
            && failed
                .stderr
                .contains("over the baseline a40.csv, above the limit of 10% ("),
        "{}",
        failed.stderr
    );
    assert!(failed.stdout.contains("against the baseline a40.csv"));
    assert!(failed.stdout.contains("REGRESSION"));
    // The default limit is 10% too.
    assert_eq!(in_dir(&dir, &base).code, 1);
    // A limit in bytes: 10 MiB fails, 30 MiB passes.
    assert_eq!(
        in_dir(&dir, &[&base[..], &["--max-increase", "10MiB"]].concat()).code,
        1
    );

    let passed = in_dir(
        &dir,
        &[&base[..], &["--max-increase", "60%", "--json"]].concat(),
    );
    assert_eq!(passed.code, 0, "{}", passed.stderr);
    assert_eq!(passed.stderr, "");
    let json: Value = serde_json::from_str(&passed.stdout).expect("JSON");
    let comparison = &json["baseline"];
    assert_eq!(comparison["file"], "a40.csv");
    assert_eq!(comparison["above_limit"], false);
    assert_eq!(comparison["max_increase"], "60%");
    let peak = &comparison["peak_rss_bytes"];
    assert_eq!(
        peak["change"].as_i64().expect("signed bytes"),
        peak["value"].as_i64().expect("bytes") - peak["baseline"].as_i64().expect("bytes")
    );
    let percent = peak["percent"].as_f64().expect("percent");
    assert!((10.0..60.0).contains(&percent), "{percent}");
    for figure in ["mean_rss_bytes", "p95_rss_bytes", "duration_s"] {
        assert!(comparison[figure]["change"].is_number(), "{figure}");
    }

    let markdown = in_dir(
        &dir,
        &[&base[..], &["--max-increase", "60%", "--markdown"]].concat(),
    );
    assert_eq!(markdown.code, 0, "{}", markdown.stderr);
    let lines: Vec<&str> = markdown.stdout.lines().collect();
    assert!(
        lines[2].starts_with("| a40.csv (baseline) | "),
        "{}",
        lines[2]
    );
    assert!(lines[3].starts_with("| b60.csv | "), "{}", lines[3]);
    assert!(lines[4].starts_with("| change | +"), "{}", lines[4]);
    assert!(
        markdown.stdout.contains("within the limit of 60% ("),
        "{}",
        markdown.stdout
    );
    // The baseline against itself: no change.
    let same = in_dir(
        &dir,
        &["report", "a40.csv", "--baseline", "a40.csv", "--json"],
    );
    assert_eq!(same.code, 0, "{}", same.stderr);
    let same: Value = serde_json::from_str(&same.stdout).expect("JSON");
    assert_eq!(same["baseline"]["peak_rss_bytes"]["change"], 0);
}

/// The chart's polylines as (stroke, stroke width), and its texts.
fn svg_parts(svg: &Path) -> (Vec<(String, String)>, Vec<String>) {
    let document = std::fs::read_to_string(svg).expect("chart written");
    let tree = roxmltree::Document::parse(&document).expect("well-formed XML");
    assert_eq!(tree.root_element().tag_name().name(), "svg");
    let lines = tree
        .descendants()
        .filter(|node| node.has_tag_name("polyline"))
        .filter(|node| {
            let points = node.attribute("points").unwrap_or_default();
            points.split_whitespace().count() > 2
        })
        .map(|node| {
            let attribute = |name| node.attribute(name).unwrap_or_default().to_owned();
            (attribute("stroke"), attribute("stroke-width"))
        })
        .collect();
    let texts = tree
        .descendants()
        .filter(|node| node.has_tag_name("text"))
        .filter_map(|node| node.text())
        .map(|text| text.trim().to_owned())
        .collect();
    (lines, texts)
}

#[test]
fn plot_overlays_recordings_with_a_cpu_panel() {
    let dir = two_recordings();
    let plotted = in_dir(&dir, &["plot", "a40.csv", "b60.csv", "-o", "cmp.svg"]);
    assert_eq!(plotted.code, 0, "{}", plotted.stderr);
    assert_eq!(plotted.stderr, "memsample: wrote cmp.svg\n");
    let (lines, texts) = svg_parts(&dir.path().join("cmp.svg"));
    for (colour, file) in [("#1F77B4", "a40.csv"), ("#FF7F0E", "b60.csv")] {
        // Memory (2 wide) and CPU (1 wide), in the recording's colour.
        let count = |width: &str| {
            lines
                .iter()
                .filter(|(stroke, w)| stroke.eq_ignore_ascii_case(colour) && w == width)
                .count()
        };
        assert!(count("2") >= 1, "no memory line for {file}: {lines:?}");
        assert!(count("1") >= 1, "no CPU line for {file}: {lines:?}");
        assert!(
            texts
                .iter()
                .any(|text| text.starts_with(&format!("{file}: "))),
            "no legend for {file}: {texts:?}"
        );
    }
    for expected in ["memory of 2 recordings", "CPU (% of one core)", "RSS (MiB)"] {
        assert!(
            texts.iter().any(|t| t == expected),
            "no {expected:?}: {texts:?}"
        );
    }

    // A single recording's chart has the CPU panel too.
    let single = in_dir(&dir, &["plot", "a40.csv"]);
    assert_eq!(single.code, 0, "{}", single.stderr);
    let (_, texts) = svg_parts(&dir.path().join("a40.svg"));
    assert!(
        texts.iter().any(|t| t == "CPU (% of one core)"),
        "{texts:?}"
    );
}

/// Runs memsample in `dir`, expecting exit 2, one line on stderr equal to
/// `expected`, nothing on stdout, and no file added to `dir`.
fn refused(dir: &TempDir, args: &[&str], expected: &str) {
    let before = std::fs::read_dir(dir.path()).expect("dir").count();
    let run = in_dir(dir, args);
    assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    assert_eq!(run.stderr, format!("memsample: {expected}\n"), "{args:?}");
    assert_eq!(run.stdout, "", "{args:?}: half a report");
    let after = std::fs::read_dir(dir.path()).expect("dir").count();
    assert_eq!(before, after, "{args:?}: a file was written");
}

#[test]
fn bad_input_is_one_line_naming_the_file_and_exit_2() {
    let dir = TempDir::new().expect("temp dir");
    let basic = std::fs::read_to_string(data("basic.csv")).expect("fixture");
    std::fs::write(dir.path().join("a.csv"), &basic).expect("a.csv");
    std::fs::write(
        dir.path().join("b.jsonl"),
        crate::common::csv_to_jsonl(&basic),
    )
    .expect("b.jsonl");
    std::fs::copy(data("per-process.csv"), dir.path().join("p.csv")).expect("p.csv");
    std::fs::write(
        dir.path().join("empty.csv"),
        format!("{}\n", layout_header(false, false)),
    )
    .expect("empty.csv");
    for command in ["report", "plot"] {
        let o: &[&str] = if command == "plot" {
            &["-o", "cmp.svg"]
        } else {
            &[]
        };
        refused(
            &dir,
            &[&[command, "a.csv", "b.jsonl"], o].concat(),
            "b.jsonl: JSON Lines, while a.csv is CSV: give recordings of one format",
        );
        refused(
            &dir,
            &[&[command, "a.csv", "p.csv"], o].concat(),
            "p.csv: per-process layout, while a.csv is default (one row per sample): give recordings of one layout",
        );
        refused(
            &dir,
            &[&[command, "a.csv", "empty.csv"], o].concat(),
            "empty.csv: no samples",
        );
    }
    refused(
        &dir,
        &["report", "a.csv", "--baseline", "old.csv"],
        "baseline old.csv: No such file or directory",
    );
    refused(
        &dir,
        &["report", "a.csv", "--markdown", "--baseline", "b.jsonl"],
        "a.csv: CSV, while the baseline b.jsonl is JSON Lines: give recordings of one format",
    );
    refused(
        &dir,
        &["report", "a.csv", "--baseline", "empty.csv"],
        "baseline empty.csv: no samples",
    );
    refused(
        &dir,
        &["report", "a.csv", "--baseline", "."],
        "baseline .: Is a directory",
    );
    // A limit that would print 300 digits, or is no limit at all: refused.
    for absurd in ["1e308%", "1e-300%", "1000001%"] {
        let run = in_dir(
            &dir,
            &[
                "report",
                "a.csv",
                "--baseline",
                "a.csv",
                "--max-increase",
                absurd,
            ],
        );
        assert_eq!(run.code, 2, "{absurd}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.contains("invalid percentage"), "{}", run.stderr);
        assert!(run.stderr.len() < 200, "{}", run.stderr);
        assert_eq!(run.stdout, "");
    }
    refused(
        &dir,
        &["plot", "a.csv", "a.csv"],
        "plot: several recordings need -o FILE.svg",
    );
    let bad_limit = in_dir(
        &dir,
        &[
            "report",
            "a.csv",
            "--baseline",
            "a.csv",
            "--max-increase",
            "lots",
        ],
    );
    assert_eq!(bad_limit.code, 2);
    assert_eq!(bad_limit.stderr.lines().count(), 1, "{}", bad_limit.stderr);
    let no_baseline = in_dir(&dir, &["report", "a.csv", "--max-increase", "10%"]);
    assert_eq!(no_baseline.code, 2);
    assert_eq!(
        no_baseline.stderr.lines().count(),
        1,
        "{}",
        no_baseline.stderr
    );
}
