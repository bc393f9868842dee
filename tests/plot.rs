//! `memsample plot`, run as users run it: the real binary on CSV files.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

mod common;
use common::{Run, data, run};

fn plot(dir: &Path, args: &[&str]) -> Run {
    let mut all = vec!["plot"];
    all.extend_from_slice(args);
    run(Some(dir), &all)
}

/// Copies a fixture into `dir` under `name`.
fn fixture(dir: &TempDir, fixture: &str, name: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::copy(data(fixture), &path).expect("fixture copied");
    path
}

/// The chart's text elements, whitespace trimmed, after checking that the
/// document is well-formed XML with an `<svg>` root.
fn texts(svg: &Path) -> Vec<String> {
    let document = std::fs::read_to_string(svg).expect("chart written");
    let tree = roxmltree::Document::parse(&document).expect("well-formed XML");
    assert_eq!(tree.root_element().tag_name().name(), "svg");
    tree.descendants()
        .filter(|node| node.has_tag_name("text"))
        .filter_map(|node| node.text())
        .map(|text| text.trim().to_owned())
        .collect()
}

/// The chart's polylines wider than one point, as (stroke colour, stroke
/// width, number of points): the data series and the legend's samples.
fn polylines(svg: &Path) -> Vec<(String, String, usize)> {
    let document = std::fs::read_to_string(svg).expect("chart written");
    let tree = roxmltree::Document::parse(&document).expect("well-formed XML");
    tree.descendants()
        .filter(|node| node.has_tag_name("polyline"))
        .map(|node| {
            let attribute = |name| node.attribute(name).unwrap_or_default().to_owned();
            let points = node.attribute("points").unwrap_or_default();
            (
                attribute("stroke"),
                attribute("stroke-width"),
                points.split_whitespace().count(),
            )
        })
        .collect()
}

fn has_line(svg: &Path, stroke: &str, width: &str, points: usize) -> bool {
    polylines(svg).contains(&(stroke.to_owned(), width.to_owned(), points))
}

#[test]
fn chart_of_a_default_recording() {
    let dir = TempDir::new().expect("temp dir");
    fixture(&dir, "spike.csv", "spike.csv");
    let run = plot(dir.path(), &["spike.csv", "-o", "chart.svg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "memsample: wrote chart.svg\n");
    let svg = dir.path().join("chart.svg");
    let texts = texts(&svg);
    for expected in [
        "memory of spike.csv",
        "peak 130.0 MiB at 3s",
        "RSS (MiB)",
        "elapsed (s)",
        "RSS",
        "peak so far: 200.0 MiB",
    ] {
        assert!(
            texts.iter().any(|text| text == expected),
            "no {expected:?} in {texts:?}"
        );
    }
    // RSS in blue through its 4 samples; the peak so far in red, as steps.
    assert!(has_line(&svg, "#0000FF", "2", 4), "{:?}", polylines(&svg));
    assert!(has_line(&svg, "#FF0000", "1", 6), "{:?}", polylines(&svg));
}

#[test]
fn default_output_is_the_recording_with_svg() {
    let dir = TempDir::new().expect("temp dir");
    fixture(&dir, "basic.csv", "mem.csv");
    let run = plot(dir.path(), &["mem.csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "memsample: wrote mem.svg\n");
    let texts = texts(&dir.path().join("mem.svg"));
    assert!(
        texts.iter().any(|text| text == "peak 50.0 MiB at 3s"),
        "{texts:?}"
    );
}

#[test]
fn single_row_still_makes_a_chart() {
    let dir = TempDir::new().expect("temp dir");
    fixture(&dir, "single.csv", "one.csv");
    let run = plot(dir.path(), &["one.csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let texts = texts(&dir.path().join("one.svg"));
    assert!(
        texts.iter().any(|text| text == "peak 2.0 MiB at 0s"),
        "{texts:?}"
    );
    let document = std::fs::read_to_string(dir.path().join("one.svg")).expect("chart");
    assert!(
        !document.contains("NaN") && !document.contains("inf"),
        "degenerate ranges"
    );
}

#[test]
fn per_process_chart_has_a_line_per_process() {
    let dir = TempDir::new().expect("temp dir");
    fixture(&dir, "per-process.csv", "tree.csv");
    let run = plot(dir.path(), &["tree.csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let svg = dir.path().join("tree.svg");
    let texts = texts(&svg);
    for expected in [
        "my,prog (101)",
        "worker (102)",
        "sh (100)",
        "RSS, total",
        "peak 87.0 MiB at 2s",
    ] {
        assert!(
            texts.iter().any(|text| text == expected),
            "no {expected:?} in {texts:?}"
        );
    }
    // The total in black over 3 samples; each process in its colour, by
    // rank, over the samples it was in; the peak steps (2 → 82 → 87 MiB).
    assert!(has_line(&svg, "#000000", "2", 3), "{:?}", polylines(&svg));
    for (color, points) in [("#1F77B4", 2), ("#FF7F0E", 2), ("#2CA02C", 3)] {
        assert!(
            has_line(&svg, color, "1", points),
            "{color}: {:?}",
            polylines(&svg)
        );
    }
    assert!(has_line(&svg, "#FF0000", "1", 5), "{:?}", polylines(&svg));
}

#[test]
fn units_follow_the_data() {
    let dir = TempDir::new().expect("temp dir");
    // 50 minutes, in KiB.
    let mut csv = format!("{}\n", common::layout_header(false, false));
    for minute in 0..=50u32 {
        let rss = 200_000 + u64::from(minute) * 1000;
        csv.push_str(&format!(
            "2026-11-25T10:{minute:02}:00.000Z,{}.000000,interval,1,{rss},{rss},0.0,{rss}\n",
            minute * 60
        ));
    }
    std::fs::write(dir.path().join("small.csv"), csv).expect("fixture written");
    let run = plot(dir.path(), &["small.csv", "-o", "small.svg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let texts = texts(&dir.path().join("small.svg"));
    assert!(texts.iter().any(|text| text == "RSS (KiB)"), "{texts:?}");
    assert!(
        texts.iter().any(|text| text == "elapsed (min)"),
        "{texts:?}"
    );
}

#[test]
fn errors_exit_2_with_one_line() {
    let dir = TempDir::new().expect("temp dir");
    let run = plot(dir.path(), &["missing.csv"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "memsample: cannot open missing.csv: No such file or directory\n"
    );
    assert!(!dir.path().join("missing.svg").exists());

    std::fs::write(dir.path().join("bad.csv"), "a,b\n1,2\n").expect("written");
    let run = plot(dir.path(), &["bad.csv"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("memsample: bad.csv:1: not a memsample recording")
    );
    assert!(!dir.path().join("bad.svg").exists());

    fixture(&dir, "basic.csv", "mem.csv");
    let run = plot(dir.path(), &["mem.csv", "-o", "no/such/dir/mem.svg"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "memsample: cannot write no/such/dir/mem.svg: No such file or directory\n"
    );

    // A recording named .svg is not replaced by its own chart.
    fixture(&dir, "basic.csv", "odd.svg");
    let run = plot(dir.path(), &["odd.svg"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("refusing to overwrite the recording"));
    let kept = std::fs::read_to_string(dir.path().join("odd.svg")).expect("still there");
    assert!(kept.starts_with("timestamp,"));
}

/// A recording with a cgroup: its line (green, through the 5 rows, the exit
/// row's included) and each interval's peak as an envelope; the axis reaches
/// the cgroup's peak, the legend's peak so far stays RSS's.
#[test]
fn chart_with_a_cgroup_has_its_line_and_envelope() {
    let dir = TempDir::new().expect("temp dir");
    fixture(&dir, "cgroup.csv", "cgroup.csv");
    let run = plot(dir.path(), &["cgroup.csv", "-o", "chart.svg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let svg = dir.path().join("chart.svg");
    let texts = texts(&svg);
    for expected in [
        "cgroup, peak 318.0 MiB",
        "cgroup peak per interval",
        "peak so far: 302.0 MiB",
        "300.0",
    ] {
        assert!(
            texts.iter().any(|text| text == expected),
            "no {expected:?} in {texts:?}"
        );
    }
    assert!(has_line(&svg, "#008C46", "2", 5), "{:?}", polylines(&svg));
    // The envelope: a step per row, its border drawn over it.
    let document = std::fs::read_to_string(&svg).expect("chart");
    assert!(document.contains("<polygon"), "no envelope");
}
