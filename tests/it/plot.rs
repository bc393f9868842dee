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

/// The colours of a phased chart: the bands' two tones, the peak bars and
/// the labels (src/plot/phases.rs).
const BAND_TONES: [&str; 2] = ["#ECF1F8", "#F8F3E8"];
const PEAK_BAR: &str = "#A01C6A";
const LABEL: &str = "#303030";

/// A label's width in pixels at `size` (its `font-size`), by the chart's
/// own estimate (docs/phases.md, "In the chart").
fn label_width(text: &str, size: f64) -> f64 {
    let em = |c: char| match c {
        ' ' | '!' | '\'' | '(' | ')' | ',' | '-' | '.' | '/' | ':' | ';' | 'I' | '[' | '\\'
        | ']' | '`' | 'f' | 'i' | 'j' | 'l' | 'r' | 't' | '|' => 0.45,
        'm' | 'w' | 'M' | 'W' | '@' | '%' | '&' | '#' | '=' | '+' | '~' | '<' | '>' | '^' => 1.0,
        'A'..='Z' => 0.8,
        _ if c.is_ascii() => 0.7,
        _ => 1.0,
    };
    text.chars().map(em).sum::<f64>() * size
}

/// The phase labels: text, x, width by the estimate; in the chart's order.
fn phase_labels(svg: &Path) -> Vec<(String, f64, f64)> {
    let document = std::fs::read_to_string(svg).expect("chart written");
    let tree = roxmltree::Document::parse(&document).expect("well-formed XML");
    tree.descendants()
        .filter(|node| node.has_tag_name("text") && node.attribute("fill") == Some(LABEL))
        .map(|node| {
            let number = |name| -> f64 {
                node.attribute(name)
                    .and_then(|value| value.parse().ok())
                    .expect("a number")
            };
            let text = node.text().unwrap_or_default().trim().to_owned();
            let width = label_width(&text, number("font-size"));
            (text, number("x"), width)
        })
        .collect()
}

/// Labels sorted by x never meet.
fn assert_apart(labels: &[(String, f64, f64)]) {
    let mut sorted = labels.to_vec();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
    for pair in sorted.windows(2) {
        let (left, right) = (&pair[0], &pair[1]);
        assert!(left.1 + left.2 <= right.1, "{left:?} meets {right:?}");
    }
}

/// The fill colours of the chart's rectangles, in drawing order.
fn rect_fills(svg: &Path) -> Vec<String> {
    let document = std::fs::read_to_string(svg).expect("chart written");
    let tree = roxmltree::Document::parse(&document).expect("well-formed XML");
    tree.descendants()
        .filter(|node| node.has_tag_name("rect"))
        .map(|node| node.attribute("fill").unwrap_or_default().to_owned())
        .collect()
}

/// Each band's tone, in order, over both panels: `count` alternating,
/// twice.
fn assert_bands_alternate(svg: &Path, count: usize) {
    let bands: Vec<String> = rect_fills(svg)
        .into_iter()
        .filter(|fill| BAND_TONES.contains(&fill.as_str()))
        .collect();
    assert_eq!(bands.len(), 2 * count, "{bands:?}");
    for panel in bands.chunks(count) {
        for (index, fill) in panel.iter().enumerate() {
            assert_eq!(fill, BAND_TONES[index % 2], "band {index} of {panel:?}");
        }
    }
}

/// Points of the chart's polylines of this stroke and width, as pixels.
fn lines_of(svg: &Path, stroke: &str, width: &str) -> Vec<Vec<(f64, f64)>> {
    let document = std::fs::read_to_string(svg).expect("chart written");
    let tree = roxmltree::Document::parse(&document).expect("well-formed XML");
    tree.descendants()
        .filter(|node| {
            node.has_tag_name("polyline")
                && node.attribute("stroke") == Some(stroke)
                && node.attribute("stroke-width") == Some(width)
        })
        .map(|node| {
            node.attribute("points")
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|point| point.split_once(','))
                .map(|(x, y)| (x.parse().expect("x"), y.parse().expect("y")))
                .collect()
        })
        .collect()
}

/// A `--phases` recording with the cgroup's per-row peaks, by hand:
/// `start`, `load`, a hostile name, `save` and `load` again. The third and
/// fourth phases lack a per-row peak: the third's high-water mark rose
/// (exact for the main process: 90 MiB), the fourth's did not (sampled: its
/// highest RSS, 50 MiB); the others are exact (16, 40, 45 MiB).
const PHASED: &str = "\
timestamp,elapsed_s,trigger,phase,procs,rss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes,cgroup_bytes,cgroup_peak_bytes,cgroup_interval_peak_bytes
2026-11-25T10:15:00.000Z,0.000000,start,start,1,10485760,104857600,1.0,10485760,11534336,10485760,10485760
2026-11-25T10:15:01.000Z,1.000000,interval,start,1,12582912,104857600,1.0,12582912,13631488,15728640,15728640
2026-11-25T10:15:02.000Z,2.000000,mark,load,1,12582912,104857600,1.0,12582912,13631488,16777216,16777216
2026-11-25T10:15:03.000Z,3.000000,interval,load,1,31457280,104857600,1.0,31457280,32505856,41943040,41943040
2026-11-25T10:15:04.000Z,4.000000,mark,\"train <&\"\"'>\",1,20971520,104857600,1.0,31457280,22020096,41943040,36700160
2026-11-25T10:15:05.000Z,5.000000,interval,\"train <&\"\"'>\",1,94371840,104857600,1.0,94371840,95420416,41943040,
2026-11-25T10:15:06.000Z,6.000000,mark,save,1,26214400,104857600,1.0,94371840,27262976,99614720,99614720
2026-11-25T10:15:07.000Z,7.000000,interval,save,1,52428800,104857600,1.0,94371840,53477376,99614720,
2026-11-25T10:15:08.000Z,8.000000,mark,load,1,20971520,104857600,1.0,94371840,22020096,99614720,57671680
2026-11-25T10:15:09.000Z,9.000000,interval,load,1,36700160,104857600,1.0,94371840,37748736,99614720,47185920
2026-11-25T10:15:10.000Z,10.000000,stop,load,1,15728640,104857600,1.0,94371840,16777216,99614720,20971520
";

/// Phases in the chart: a band each, alternating, behind the series of
/// both panels; a line at each mark; a label each, escaped, none meeting
/// another; each run's peak a bar over its span at its height (within a
/// pixel), solid where exact, dashed where exact for the main process,
/// dotted where sampled.
#[test]
fn chart_of_phases_has_bands_lines_labels_and_peak_bars() {
    let dir = TempDir::new().expect("temp dir");
    std::fs::write(dir.path().join("phased.csv"), PHASED).expect("recording written");
    let run = plot(dir.path(), &["phased.csv", "-o", "phased.svg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let svg = dir.path().join("phased.svg");
    let labels = phase_labels(&svg);
    let names: Vec<&str> = labels.iter().map(|label| label.0.as_str()).collect();
    assert_eq!(names, ["start", "load", "train <&\"'>", "save", "load"]);
    assert_apart(&labels);
    assert_bands_alternate(&svg, 5);
    let texts = texts(&svg);
    for expected in [
        "phase peak (exact)",
        "phase peak (main exact)",
        "phase peak (sampled)",
    ] {
        assert!(texts.iter().any(|text| text == expected), "{texts:?}");
    }
    assert!(!texts.iter().any(|text| text.contains("labels shown")));
    // RSS's line gives the pixels of time and bytes: 0 s at 10 MiB, 5 s at 90.
    let rss = &lines_of(&svg, "#0000FF", "2")[0];
    assert_eq!(rss.len(), 11, "{rss:?}");
    let (x0, y0, x5, y5) = (rss[0].0, rss[0].1, rss[5].0, rss[5].1);
    let x_at = |seconds: f64| x0 + (x5 - x0) * seconds / 5.0;
    let y_at = |mib: f64| y0 + (y5 - y0) * (mib - 10.0) / 80.0;
    // Bars: within the plot (the legend's samples are right of it).
    let bars: Vec<Vec<(f64, f64)>> = lines_of(&svg, PEAK_BAR, "3")
        .into_iter()
        .filter(|points| points.iter().all(|&(x, _)| x <= x_at(10.0) + 1.0))
        .collect();
    // Solid: one piece; dashed: pieces up to 8 px; dotted: up to 2 px.
    for (start, end, mib, longest) in [
        (0.0, 2.0, 16.0, None),
        (2.0, 4.0, 40.0, None),
        (4.0, 6.0, 90.0, Some(8.0)),
        (6.0, 8.0, 50.0, Some(2.0)),
        (8.0, 10.0, 45.0, None),
    ] {
        let within = |&(x, y): &(f64, f64)| {
            x >= x_at(start) - 1.0 && x <= x_at(end) + 1.0 && (y - y_at(mib)).abs() <= 1.0
        };
        let pieces: Vec<&Vec<(f64, f64)>> = bars
            .iter()
            .filter(|points| points.iter().all(within))
            .collect();
        let span = |piece: &Vec<(f64, f64)>| piece[piece.len() - 1].0 - piece[0].0;
        match longest {
            None => {
                assert_eq!(pieces.len(), 1, "{mib} MiB from {start}s: {bars:?}");
                let (from, to) = (pieces[0][0].0, pieces[0][1].0);
                assert!((from - x_at(start)).abs() <= 1.0 && (to - x_at(end)).abs() <= 1.0);
            }
            Some(longest) => {
                assert!(pieces.len() >= 10, "{mib} MiB from {start}s: {bars:?}");
                let widest = pieces.iter().map(|piece| span(piece)).fold(0.0, f64::max);
                assert!(
                    widest <= longest + 1.0 && widest >= longest - 1.0,
                    "{mib} MiB from {start}s: pieces up to {widest} px"
                );
            }
        }
    }
}

/// A test suite's worth of phases: 200 marks, their labels thinned so that
/// none meets another, the highest peak's kept, the legend saying how many
/// are shown; every phase still has its band.
#[test]
fn two_hundred_marks_thin_the_labels() {
    let dir = TempDir::new().expect("temp dir");
    let mut csv =
        crate::common::layout_header(false, false).replacen(",trigger,", ",trigger,phase,", 1);
    csv.push('\n');
    let row = |csv: &mut String, seconds: f64, trigger: &str, phase: &str, mib: u64| {
        let rss = mib << 20;
        csv.push_str(&format!(
            "2026-11-25T10:15:00.000Z,{seconds:.6},{trigger},{phase},1,{rss},{rss},1.0,{rss}\n"
        ));
    };
    row(&mut csv, 0.0, "start", "start", 10);
    for mark in 0..200u64 {
        let name = if mark % 2 == 0 {
            format!("test:tests/test_suite.py::test_{mark:03}")
        } else {
            "between".to_owned()
        };
        // One test stands out; the rest repeat a small ramp.
        let mib = if mark == 122 { 300 } else { 10 + mark % 17 };
        let at = 0.5 + mark as f64 * 0.2;
        row(&mut csv, at, "mark", &name, mib);
        row(&mut csv, at + 0.1, "interval", &name, mib + 5);
    }
    row(&mut csv, 40.5, "stop", "between", 10);
    std::fs::write(dir.path().join("suite.csv"), csv).expect("recording written");
    let run = plot(dir.path(), &["suite.csv", "-o", "suite.svg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let svg = dir.path().join("suite.svg");
    let labels = phase_labels(&svg);
    assert!(
        labels.len() > 3 && labels.len() < 50,
        "{} labels: {labels:?}",
        labels.len()
    );
    assert_apart(&labels);
    assert!(
        labels.iter().any(|label| label.0.ends_with("::test_122")),
        "no label for the highest peak: {labels:?}"
    );
    let note = format!("{} of 201 phase labels shown", labels.len());
    assert!(texts(&svg).contains(&note), "no {note:?}");
    assert_bands_alternate(&svg, 201);
}

/// Without the `phase` column, nothing of the phases is drawn, and the
/// plot keeps its margins (the chart is as it was before phases).
#[test]
fn a_recording_without_phases_has_none_in_its_chart() {
    let dir = TempDir::new().expect("temp dir");
    fixture(&dir, "cgroup.csv", "plain.csv");
    let run = plot(dir.path(), &["plain.csv", "-o", "plain.svg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let svg = dir.path().join("plain.svg");
    assert!(phase_labels(&svg).is_empty());
    assert!(
        !rect_fills(&svg)
            .iter()
            .any(|fill| BAND_TONES.contains(&fill.as_str()))
    );
    assert!(lines_of(&svg, PEAK_BAR, "3").is_empty());
    assert!(!texts(&svg).iter().any(|text| text.contains("phase")));
}

/// A `--reset-peaks` recording, by hand: the column holds the closing
/// phase's peak at each mark row (80 MiB at 2 s, 40 MiB at 4 s) and starts
/// again from the mark row's RSS (20 MiB, 25 MiB) after it.
const RESTARTED: &str = "\
timestamp,elapsed_s,trigger,phase,procs,rss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes
2026-11-25T10:15:00.000Z,0.000000,start,start,1,10485760,104857600,1.0,10485760
2026-11-25T10:15:01.000Z,1.000000,interval,start,1,20971520,104857600,1.0,83886080
2026-11-25T10:15:02.000Z,2.000000,mark,a,1,20971520,104857600,1.0,83886080
2026-11-25T10:15:03.000Z,3.000000,interval,a,1,31457280,104857600,1.0,31457280
2026-11-25T10:15:04.000Z,4.000000,mark,b,1,26214400,104857600,1.0,41943040
2026-11-25T10:15:05.000Z,5.000000,interval,b,1,26214400,104857600,1.0,26214400
2026-11-25T10:15:06.000Z,6.000000,stop,b,1,26214400,104857600,1.0,26214400
";

/// The peak so far falls where `--reset-peaks` restarted it: at each mark
/// row, down to that row's RSS, and rises from there.
#[test]
fn the_peak_so_far_falls_at_a_mark_that_restarted_it() {
    let dir = TempDir::new().expect("temp dir");
    std::fs::write(dir.path().join("restarted.csv"), RESTARTED).expect("recording written");
    let run = plot(dir.path(), &["restarted.csv", "-o", "restarted.svg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let svg = dir.path().join("restarted.svg");
    assert!(
        texts(&svg)
            .iter()
            .any(|text| text == "peak so far: 80.0 MiB"),
        "{:?}",
        texts(&svg)
    );
    // RSS's line gives the pixels: 0 s at 10 MiB, 3 s at 30 MiB.
    let rss = &lines_of(&svg, "#0000FF", "2")[0];
    assert_eq!(rss.len(), 7, "{rss:?}");
    let (x0, y0, x3, y3) = (rss[0].0, rss[0].1, rss[3].0, rss[3].1);
    let pixel = |(seconds, mib): (f64, f64)| {
        (
            x0 + (x3 - x0) * seconds / 3.0,
            y0 + (y3 - y0) * (mib - 10.0) / 20.0,
        )
    };
    let expected: Vec<(f64, f64)> = [
        (0.0, 10.0),
        (1.0, 10.0),
        (1.0, 80.0),
        (2.0, 80.0),
        (2.0, 20.0),
        (3.0, 20.0),
        (3.0, 30.0),
        (4.0, 30.0),
        (4.0, 40.0),
        (4.0, 40.0),
        (4.0, 25.0),
        (6.0, 25.0),
    ]
    .into_iter()
    .map(pixel)
    .collect();
    let peak = lines_of(&svg, "#FF0000", "1")
        .into_iter()
        .max_by_key(Vec::len)
        .expect("the peak so far");
    assert_eq!(peak.len(), expected.len(), "{peak:?}");
    // Pixels are whole: 2 px, the RSS line's rounding carried up to 80 MiB.
    for (got, want) in peak.iter().zip(&expected) {
        assert!(
            (got.0 - want.0).abs() <= 2.0 && (got.1 - want.1).abs() <= 2.0,
            "{got:?} for {want:?}: {peak:?}"
        );
    }
}

/// A spike between samples, by hand: the `spike` phase (2–4 s) peaks at
/// 100 MiB by the cgroup's per-row peak, above every sample; the highest
/// sample, 95 MiB at 5 s, comes after it, 5 MiB (some 20 px) under the
/// spike's bar, which ends left of it.
const SPIKE_BEFORE_PEAK: &str = "\
timestamp,elapsed_s,trigger,phase,procs,rss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes,cgroup_bytes,cgroup_peak_bytes,cgroup_interval_peak_bytes
2026-11-25T10:15:00.000Z,0.000000,start,start,1,10485760,104857600,1.0,10485760,11534336,10485760,10485760
2026-11-25T10:15:01.000Z,1.000000,interval,start,1,20971520,104857600,1.0,20971520,22020096,20971520,20971520
2026-11-25T10:15:02.000Z,2.000000,mark,spike,1,20971520,104857600,1.0,20971520,22020096,20971520,20971520
2026-11-25T10:15:03.000Z,3.000000,interval,spike,1,41943040,104857600,1.0,41943040,42991616,104857600,104857600
2026-11-25T10:15:04.000Z,4.000000,mark,after,1,41943040,104857600,1.0,41943040,42991616,104857600,104857600
2026-11-25T10:15:05.000Z,5.000000,interval,after,1,99614720,104857600,1.0,99614720,100663296,104857600,99614720
2026-11-25T10:15:06.000Z,6.000000,stop,after,1,31457280,104857600,1.0,99614720,32505856,104857600,99614720
";

/// A box in pixels: left, top, right, bottom.
type Box = (f64, f64, f64, f64);

fn boxes_meet(a: Box, b: Box) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// The peak's text ("peak X at T") never crosses a phase's peak bar: with
/// the spike's bar where the text would go (above the dot, on the side
/// with more room), the text moves to where no bar is, inside the plot.
#[test]
fn the_peak_text_keeps_clear_of_the_phase_bars() {
    let dir = TempDir::new().expect("temp dir");
    std::fs::write(dir.path().join("spike.csv"), SPIKE_BEFORE_PEAK).expect("recording written");
    let run = plot(dir.path(), &["spike.csv", "-o", "spike.svg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let svg = dir.path().join("spike.svg");
    let document = std::fs::read_to_string(&svg).expect("chart written");
    let tree = roxmltree::Document::parse(&document).expect("well-formed XML");
    let number = |node: roxmltree::Node, name: &str| -> f64 {
        node.attribute(name)
            .and_then(|value| value.parse().ok())
            .expect("a number")
    };
    let dot = tree
        .descendants()
        .find(|node| node.has_tag_name("circle") && node.attribute("fill") == Some("#FF0000"))
        .expect("the peak's dot");
    let (dot_x, dot_y) = (number(dot, "cx"), number(dot, "cy"));
    let text = tree
        .descendants()
        .find(|node| {
            node.has_tag_name("text")
                && node
                    .text()
                    .is_some_and(|text| text.trim().starts_with("peak 95.0 MiB at "))
        })
        .expect("the peak's text");
    assert_eq!(text.attribute("text-anchor"), Some("start"));
    // Its top-left corner (`dy` 0.76em: the box starts at `y`), as wide as
    // the estimate, a font size high.
    let size = number(text, "font-size");
    let (x, y) = (number(text, "x"), number(text, "y"));
    let width = label_width(text.text().unwrap_or_default().trim(), size);
    let placed = (x, y, x + width, y + size);
    // The bars' pixels, with their 3 px stroke.
    let bars: Vec<Box> = lines_of(&svg, PEAK_BAR, "3")
        .into_iter()
        .filter(|points| points.len() == 2 && points[0].0 < points[1].0)
        .filter(|points| points[1].0 <= dot_x + 200.0)
        .map(|points| {
            (
                points[0].0,
                points[0].1 - 1.5,
                points[1].0,
                points[1].1 + 1.5,
            )
        })
        .collect();
    // The spike's bar: 0 to 20 px above the dot, ending left of it.
    let spike = bars
        .iter()
        .copied()
        .find(|bar| bar.3 < dot_y && bar.3 > dot_y - 25.0 && bar.2 < dot_x)
        .unwrap_or_else(|| panic!("no bar just above the dot at {dot_x},{dot_y}: {bars:?}"));
    // Where the text went before: above-left of the dot (right half).
    let before = (
        dot_x - 8.0 - width,
        dot_y - 8.0 - size,
        dot_x - 8.0,
        dot_y - 8.0,
    );
    assert!(boxes_meet(before, spike), "{before:?} clear of {spike:?}");
    for bar in &bars {
        assert!(
            !boxes_meet(placed, *bar),
            "text {placed:?} crosses bar {bar:?}"
        );
    }
    // Beside the dot, 8 px off, and inside the plot (the x axis ends at 6 s:
    // the RSS line's last point).
    let rss = &lines_of(&svg, "#0000FF", "2")[0];
    let right_edge = rss[rss.len() - 1].0;
    assert!(placed.2 <= right_edge + 1.0, "{placed:?} past {right_edge}");
    assert!((placed.1 - (dot_y + 8.0)).abs() <= 1.0 || (placed.3 - (dot_y - 8.0)).abs() <= 1.0);
}
