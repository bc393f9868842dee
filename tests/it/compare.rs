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

/// A row of a hand-written `--phases` recording: elapsed_s, trigger,
/// phase, rss MiB, peak_rss MiB, and with a cgroup its per-row peak MiB.
type PhaseRow<'a> = (u32, &'a str, &'a str, u64, u64, Option<u64>);

/// A `--phases` recording written by hand, in CSV.
fn phase_recording(rows: &[PhaseRow]) -> String {
    let cgroup = rows.iter().any(|row| row.5.is_some());
    let mut text = String::from(
        "timestamp,elapsed_s,trigger,phase,procs,rss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes",
    );
    if cgroup {
        text.push_str(",cgroup_bytes,cgroup_peak_bytes,cgroup_interval_peak_bytes");
    }
    text.push('\n');
    let mut cgroup_peak = 0;
    for &(at, trigger, phase, rss, peak, interval_peak) in rows {
        text.push_str(&format!(
            "2026-11-25T10:15:{at:02}.000Z,{at}.000000,{trigger},{phase},1,{},104857600,0.0,{}",
            rss * MIB,
            peak * MIB
        ));
        if let Some(interval_peak) = interval_peak {
            cgroup_peak = cgroup_peak.max(interval_peak);
            text.push_str(&format!(
                ",{},{},{}",
                rss * MIB,
                cgroup_peak * MIB,
                interval_peak * MIB
            ));
        }
        text.push('\n');
    }
    text
}

/// Two hand-written `--phases` recordings of known peaks, in a directory:
/// `old.csv` (without a cgroup: start 10, load 30, train 50, save 20 MiB,
/// load and train exact for the main process, its high-water mark rising) and
/// `new.csv` (exact, from the cgroup: start 10, load 45, train ×2 48 and
/// 50, eval 25 MiB). The whole peak is 50 MiB in both; only load grew.
fn phase_recordings() -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    let old = phase_recording(&[
        (0, "start", "start", 10, 10, None),
        (1, "mark", "load", 10, 10, None),
        (2, "interval", "load", 30, 30, None),
        (3, "mark", "train", 30, 30, None),
        (4, "interval", "train", 50, 50, None),
        (5, "mark", "save", 20, 50, None),
        (6, "interval", "save", 20, 50, None),
    ]);
    let new = phase_recording(&[
        (0, "start", "start", 10, 10, Some(10)),
        (1, "mark", "load", 10, 10, Some(10)),
        (2, "interval", "load", 45, 45, Some(45)),
        (3, "mark", "train", 30, 45, Some(45)),
        (4, "interval", "train", 48, 48, Some(48)),
        (5, "mark", "eval", 20, 48, Some(48)),
        (6, "mark", "train", 25, 48, Some(25)),
        (7, "interval", "train", 50, 50, Some(50)),
        (8, "interval", "train", 20, 50, Some(50)),
    ]);
    std::fs::write(dir.path().join("old.csv"), old).expect("old.csv");
    std::fs::write(dir.path().join("new.csv"), new).expect("new.csv");
    dir
}

/// Phases are compared by name against the baseline, and `--max-increase`
/// gates each phase on both sides: here the whole peak did not grow, and
/// the one line on stderr names the one phase that did.
#[test]
fn baseline_compares_phases_by_name_and_gates_each() {
    let dir = phase_recordings();
    let base = ["report", "new.csv", "--baseline", "old.csv"];
    let failed = in_dir(&dir, &base);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert_eq!(
        failed.stderr,
        "memsample: new.csv: phase \"load\" peak +15.0 MiB (+50.0%) over the baseline \
         old.csv, above the limit of 10% (3.0 MiB); the baseline's peak exact for the main \
         process\n"
    );
    let text = &failed.stdout;
    for line in [
        "  gate        ok: the peak is within the limit of 10% (5.0 MiB)\n",
        "  phases      by name: 3 on both sides, 1 new, 1 gone; 1 above the limit\n",
        "    start: 10.0 MiB (exact), was 10.0 MiB (sampled): +0 B (+0.0%)\n",
        "    load: 45.0 MiB (exact), was 30.0 MiB (exact for the main process): +15.0 MiB \
         (+50.0%): REGRESSION, above the limit of 10% (3.0 MiB)\n",
        "    train: 50.0 MiB (exact), was 50.0 MiB (exact for the main process): +0 B (+0.0%)\n",
        "    eval: 25.0 MiB (exact), new: not in the baseline\n",
        "    save: gone: was 20.0 MiB (sampled), not in this recording\n",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }

    // The limit is "more than": 50% of 30 MiB is exactly the growth.
    for (limit, code) in [("50%", 0), ("49.9999%", 1), ("15MiB", 0), ("15728639", 1)] {
        let run = in_dir(&dir, &[&base[..], &["--max-increase", limit]].concat());
        assert_eq!(run.code, code, "{limit}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), code as usize, "{}", run.stderr);
    }

    let json = in_dir(&dir, &[&base[..], &["--json"]].concat());
    assert_eq!(json.code, 1, "{}", json.stderr);
    let json: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let comparison = &json["baseline"];
    assert_eq!(comparison["above_limit"], false);
    assert_eq!(comparison["gate_failed"], true);
    let phases = comparison["phases"].as_array().expect("phases");
    let names: Vec<(&str, &str)> = phases
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("name"),
                p["presence"].as_str().expect("presence"),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("start", "both"),
            ("load", "both"),
            ("train", "both"),
            ("eval", "new"),
            ("save", "gone")
        ]
    );
    let load = &phases[1];
    assert_eq!(load["baseline_peak_bytes"], 30 * MIB);
    assert_eq!(load["peak_bytes"], 45 * MIB);
    assert_eq!(load["change_bytes"], 15 * MIB);
    assert_eq!(load["percent"], 50.0);
    assert_eq!(load["baseline_peak_exact"], false);
    assert_eq!(load["baseline_peak_main_exact"], true);
    assert_eq!(load["peak_exact"], true);
    assert_eq!(load["max_increase_bytes"], 3 * MIB);
    assert_eq!(load["above_limit"], true);
    // A repeated name is aggregated: its highest peak is gated.
    let train = &phases[2];
    assert_eq!(
        (&train["count"], &train["baseline_count"]),
        (&2.into(), &1.into())
    );
    assert_eq!(train["peak_bytes"], 50 * MIB);
    assert_eq!(train["above_limit"], false);
    for (index, side) in [(3, "baseline_peak_bytes"), (4, "peak_bytes")] {
        assert!(phases[index][side].is_null(), "{}", phases[index]);
        assert!(phases[index]["change_bytes"].is_null());
        assert!(phases[index]["max_increase_bytes"].is_null());
        assert_eq!(phases[index]["above_limit"], false);
    }
    assert_eq!(phases[3]["peak_bytes"], 25 * MIB);
    assert_eq!(phases[4]["baseline_peak_bytes"], 20 * MIB);

    let markdown = in_dir(&dir, &[&base[..], &["--markdown"]].concat());
    assert_eq!(markdown.code, 1, "{}", markdown.stderr);
    for line in [
        "- new.csv: phases: 1 of 3 above the limit (load): **regression**",
        "| phase | baseline peak | peak | change | gate |",
        "| load | 30.0 MiB (exact for the main process) | 45.0 MiB (exact) | +15.0 MiB (+50.0%) \
         | **regression** |",
        "| train | 50.0 MiB (exact for the main process) | 50.0 MiB (exact) | +0 B (+0.0%) | ok |",
        "| eval | n/a | 25.0 MiB (exact) | new | not gated |",
        "| save | 20.0 MiB (sampled) | n/a | gone | not gated |",
    ] {
        assert!(
            markdown.stdout.lines().any(|got| got == line),
            "no {line:?} in:\n{}",
            markdown.stdout
        );
    }
}

/// One side without the phase column: the whole is compared and gated,
/// the phases are not (and the text says why).
#[test]
fn phases_of_one_side_only_are_not_compared() {
    let dir = phase_recordings();
    std::fs::copy(data("basic.csv"), dir.path().join("plain.csv")).expect("plain.csv");
    for (new, old, why) in [
        ("new.csv", "plain.csv", "the baseline has no phase column"),
        ("plain.csv", "new.csv", "this recording has no phase column"),
    ] {
        let args = ["report", new, "--baseline", old, "--max-increase", "1000%"];
        let text = in_dir(&dir, &args);
        assert_eq!(text.code, 0, "{}", text.stderr);
        assert!(
            text.stdout
                .contains(&format!("  phases      not compared: {why}\n")),
            "{}",
            text.stdout
        );
        let json = in_dir(&dir, &[&args[..], &["--json"]].concat());
        let json: Value = serde_json::from_str(&json.stdout).expect("JSON");
        assert!(json["baseline"].get("phases").is_none(), "{json}");
        assert_eq!(json["baseline"]["gate_failed"], false);
    }
}

/// Records the fixture through four phases into `dir/name`: `start`;
/// `load`, holding `load_mib` MiB for a moment; `train`, 80 MiB; then
/// `last`. Each phase's memory is freed before the next mark, so each
/// phase's peak is the fixture's high-water mark rising in it.
fn record_phases(dir: &Path, name: &str, load_mib: u64, last: &str) -> PathBuf {
    let path = dir.join(name);
    let lines = path.to_str().expect("a UTF-8 path");
    let status = memsample()
        .args(["-q", "--phases", "-i", "1h", "-o"])
        .arg(&path)
        .arg("--")
        .arg(fixture())
        .args(script(&[
            // Each mark's row is waited for: what the job does before the
            // row is taken counts in the phase before.
            Step::WaitLines(lines, 2),
            Step::Mark("load"),
            Step::WaitLines(lines, 3),
            Step::Hold(load_mib),
            Step::Free,
            Step::Mark("train"),
            Step::WaitLines(lines, 4),
            Step::Hold(80),
            Step::Free,
            Step::Mark(last),
            Step::WaitLines(lines, 5),
        ]))
        .status()
        .expect("memsample runs");
    assert!(status.success(), "recording {name}: {status}");
    path
}

/// Two real recordings where one phase grew from 20 to 60 MiB and the
/// others stayed: the gate fails on that phase alone, naming it.
#[test]
fn a_phase_that_grew_fails_the_gate_by_name() {
    let dir = TempDir::new().expect("temp dir");
    record_phases(dir.path(), "old.csv", 20, "save");
    record_phases(dir.path(), "new.csv", 60, "export");
    let base = ["report", "new.csv", "--baseline", "old.csv"];

    let failed = in_dir(&dir, &[&base[..], &["--max-increase", "10%"]].concat());
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert_eq!(failed.stderr.lines().count(), 1, "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .starts_with("memsample: new.csv: phase \"load\" peak +")
            && failed
                .stderr
                .contains("over the baseline old.csv, above the limit of 10% (")
            && failed
                .stderr
                .ends_with("; both peaks exact for the main process\n"),
        "{}",
        failed.stderr
    );

    let json = in_dir(
        &dir,
        &[&base[..], &["--max-increase", "10%", "--json"]].concat(),
    );
    assert_eq!(json.code, 1, "{}", json.stderr);
    let json: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let comparison = &json["baseline"];
    // The whole peak is train's 80 MiB on both sides: within the limit.
    assert_eq!(comparison["above_limit"], false, "{comparison}");
    assert_eq!(comparison["gate_failed"], true);
    let phases = comparison["phases"].as_array().expect("phases");
    let phase = |name: &str| {
        phases
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {phases:?}"))
    };
    let signed = |p: &Value| p["change_bytes"].as_i64().expect("a change");
    let load = phase("load");
    let grown = signed(load);
    // 40 MiB more held; the fixture's own pages move by well under 2 MiB.
    assert!(
        (38 * MIB as i64..42 * MIB as i64).contains(&grown),
        "{load}"
    );
    assert!(load["baseline_peak_bytes"].as_u64().expect("bytes") >= 20 * MIB);
    assert!(load["peak_bytes"].as_u64().expect("bytes") >= 60 * MIB);
    assert_eq!(load["above_limit"], true);
    // The fixture's high-water mark rose in the phase, on both sides.
    assert_eq!(load["peak_main_exact"], true);
    assert_eq!(load["baseline_peak_main_exact"], true);
    assert_eq!(load["peak_exact"], false);
    for name in ["start", "train"] {
        let stayed = phase(name);
        assert_eq!(stayed["presence"], "both");
        assert!(signed(stayed).unsigned_abs() < 2 * MIB, "{stayed}");
        assert_eq!(stayed["above_limit"], false, "{stayed}");
    }
    assert!(phase("train")["peak_bytes"].as_u64().expect("bytes") >= 80 * MIB);
    assert_eq!(phase("export")["presence"], "new");
    assert_eq!(phase("save")["presence"], "gone");

    let markdown = in_dir(&dir, &[&base[..], &["--markdown"]].concat());
    assert_eq!(markdown.code, 1, "{}", markdown.stderr);
    // The comparison's table, after the phase table's rows.
    let row = |name: &str| {
        markdown
            .stdout
            .lines()
            .skip_while(|line| !line.starts_with("| phase | baseline peak | peak |"))
            .find(|line| line.starts_with(&format!("| {name} | ")) && line.ends_with(" |"))
            .unwrap_or_else(|| panic!("no {name} row in:\n{}", markdown.stdout))
            .to_owned()
    };
    assert!(
        row("load").ends_with("| **regression** |"),
        "{}",
        row("load")
    );
    assert!(row("train").ends_with("| ok |"), "{}", row("train"));
    assert!(row("export").ends_with("| new | not gated |"));
    assert!(row("save").ends_with("| gone | not gated |"));

    // A limit above load's growth (about 2.5 times its baseline) passes.
    let passed = in_dir(&dir, &[&base[..], &["--max-increase", "1000%"]].concat());
    assert_eq!(passed.code, 0, "{}", passed.stderr);
    assert_eq!(passed.stderr, "");
    assert!(
        passed.stdout.contains(
            "  phases      by name: 3 on both sides, 1 new, 1 gone; all within the limit\n"
        ),
        "{}",
        passed.stdout
    );
}
