//! `memsample plot`, run as users run it: the real binary on CSV files.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::common::{Run, data, run};

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
fn per_process_chart_stacks_the_processes() {
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
    // One filled band per process, by rank from the bottom, over all 3
    // samples (6 corners: its top edge forward, the one below back); no
    // process is drawn as a line of its own.
    let bands = polygons(&svg);
    let fills: Vec<&str> = bands.iter().map(|(fill, _)| fill.as_str()).collect();
    assert_eq!(fills, ["#1F77B4", "#FF7F0E", "#2CA02C"]);
    assert!(
        bands.iter().all(|(_, points)| points.len() == 6),
        "{bands:?}"
    );
    for pair in bands.windows(2) {
        // Each band starts where the one below it ends.
        let below_top: Vec<&String> = pair[0].1[..3].iter().collect();
        let mut above_bottom: Vec<&String> = pair[1].1[3..].iter().collect();
        above_bottom.reverse();
        assert_eq!(below_top, above_bottom);
    }
    // The top band ends at the total, drawn in black over 3 samples; the
    // peak steps (2 → 82 → 87 MiB) in red.
    let total = polyline_points(&svg, "#000000", "2");
    assert_eq!(total, bands[2].1[..3].to_vec());
    for color in ["#1F77B4", "#FF7F0E", "#2CA02C"] {
        assert!(
            !polylines(&svg).contains(&(color.to_owned(), "1".to_owned(), 3)),
            "{color} drawn as a line"
        );
    }
    assert!(has_line(&svg, "#FF0000", "1", 5), "{:?}", polylines(&svg));
}

/// The chart's filled polygons: fill colour and corners, in drawing order.
fn polygons(svg: &Path) -> Vec<(String, Vec<String>)> {
    let document = std::fs::read_to_string(svg).expect("chart written");
    let tree = roxmltree::Document::parse(&document).expect("well-formed XML");
    tree.descendants()
        .filter(|node| node.has_tag_name("polygon"))
        .map(|node| {
            let points = node.attribute("points").unwrap_or_default();
            (
                node.attribute("fill").unwrap_or_default().to_owned(),
                points.split_whitespace().map(str::to_owned).collect(),
            )
        })
        .collect()
}

/// The points of the (first) polyline of this stroke and width.
fn polyline_points(svg: &Path, stroke: &str, width: &str) -> Vec<String> {
    let document = std::fs::read_to_string(svg).expect("chart written");
    let tree = roxmltree::Document::parse(&document).expect("well-formed XML");
    tree.descendants()
        .find(|node| {
            node.has_tag_name("polyline")
                && node.attribute("stroke") == Some(stroke)
                && node.attribute("stroke-width") == Some(width)
        })
        .and_then(|node| node.attribute("points"))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn units_follow_the_data() {
    let dir = TempDir::new().expect("temp dir");
    // 50 minutes, in KiB.
    let mut csv = format!("{}\n", crate::common::layout_header(false, false));
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

#[test]
fn many_processes_stack_the_largest_and_the_rest_as_others() {
    let dir = TempDir::new().expect("temp dir");
    // 10 processes, process k holding k MiB, over 2 samples.
    let mut csv = format!("{}\n", crate::common::layout_header(true, false));
    for (second, trigger) in [(0, "start"), (1, "stop")] {
        for k in 1..=10u64 {
            let rss = k << 20;
            csv.push_str(&format!(
                "2026-11-25T10:15:0{second}.000Z,{second}.000000,{trigger},{},1,p{k},{rss},{rss},0.0,{rss}\n",
                100 + k
            ));
        }
    }
    std::fs::write(dir.path().join("many.csv"), csv).expect("recording written");
    let run = plot(dir.path(), &["many.csv", "-o", "many.svg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let svg = dir.path().join("many.svg");
    // 7 bands of their own, the largest at the bottom, then "others".
    let bands = polygons(&svg);
    assert_eq!(bands.len(), 8, "{bands:?}");
    let texts = texts(&svg);
    for expected in ["p10 (110)", "p4 (104)", "others (3 processes)"] {
        assert!(texts.iter().any(|text| text == expected), "{texts:?}");
    }
    assert!(!texts.iter().any(|text| text == "p3 (103)"), "{texts:?}");
    // The stack's top is the total: 55 MiB.
    let top = &bands[7].1;
    let total = polyline_points(&svg, "#000000", "2");
    assert_eq!(top[..2], total[..]);
}

/// Two recordings overlaid, one with a cgroup: its whole-tree peaks between
/// samples (each interval's peak, 318 MiB) are drawn dashed in its colour and
/// named in the legend, and the axis reaches them; the recording without a
/// cgroup gets no such line.
#[test]
fn overlaid_recordings_show_a_cgroup_line_dashed() {
    let dir = TempDir::new().expect("temp dir");
    fixture(&dir, "cgroup.csv", "a.csv");
    fixture(&dir, "basic.csv", "b.csv");
    let run = plot(dir.path(), &["a.csv", "b.csv", "-o", "cmp.svg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let svg = dir.path().join("cmp.svg");
    let texts = texts(&svg);
    for expected in ["a.csv: cgroup 318.0 MiB", "300.0"] {
        assert!(
            texts.iter().any(|text| text == expected),
            "no {expected:?} in {texts:?}"
        );
    }
    assert!(!texts.iter().any(|text| text.starts_with("b.csv: cgroup")));
    // Dashes: many two-point segments, 2 wide, in each recording's colour.
    let dashes = |colour: &str| {
        polylines(&svg)
            .iter()
            .filter(|(stroke, width, points)| stroke == colour && width == "2" && *points == 2)
            .count()
    };
    assert!(dashes("#1F77B4") >= 20, "{:?}", polylines(&svg));
    assert_eq!(dashes("#FF7F0E"), 0, "{:?}", polylines(&svg));
}
