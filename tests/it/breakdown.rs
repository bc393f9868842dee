//! `--breakdown` and USS against the kernel: a fixture holding known amounts
//! of anonymous memory, a mapped file, shared memory and threads, recorded
//! by the real binary and compared with the kernel's own `/proc/PID/status`
//! of the fixture, read around the recording (the fixture is idle then, its
//! memory does not move). Swap is 0 on the test machines (no swap): its
//! parsing is tested on captured kernel text in the unit tests.

use std::path::Path;
use std::time::Duration;

use crate::common::{MIB, Running, Waiting, fixture, memsample, num, read_csv, run};

/// A figure of `/proc/PID/status` (kB lines in bytes; `Threads` as is).
fn kernel_status(pid: u32, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let value = text
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("{key} in status"));
    let number: u64 = value
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .expect("a number");
    if key == "Threads" {
        number
    } else {
        number * 1024
    }
}

/// The parts of an idle fixture: what the process is before it holds anything.
fn baseline(dir: &Path) -> [u64; 3] {
    let bare = Waiting::start(dir, &[], |_| {});
    let parts = ["RssAnon", "RssFile", "RssShmem"].map(|key| kernel_status(bare.pid(), key));
    bare.release_and_check_no_signal();
    parts
}

/// `reported` is `held` plus at most 2 % of it plus the process's own
/// baseline of that kind.
fn assert_holds(what: &str, reported: u64, held: u64, baseline: u64) {
    let most = held + held / 50 + baseline;
    assert!(
        (held..=most).contains(&reported),
        "{what}: {reported} bytes reported, {held} held (+2 % + {baseline} baseline: at most {most})"
    );
}

#[test]
fn the_parts_are_the_kernels_and_add_up_to_rss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = baseline(dir.path());
    let mapped = dir.path().join("mapped");
    let mapped = mapped.to_str().expect("UTF-8 path");
    let target = Waiting::start(
        dir.path(),
        &[
            "hold", "60", "map-file", mapped, "30", "shm", "20", "threads", "4",
        ],
        |_| {},
    );
    let pid = target.pid();
    let before =
        ["RssAnon", "RssFile", "RssShmem", "VmSwap", "Threads"].map(|key| kernel_status(pid, key));
    let csv = dir.path().join("parts.csv");
    let pid_text = pid.to_string();
    let recorded = run(
        None,
        &[
            "--pid",
            &pid_text,
            "--breakdown",
            "--pss",
            "--per-process",
            "-q",
            "-i",
            "50ms",
            "--samples",
            "3",
            "-o",
            csv.to_str().expect("UTF-8 path"),
        ],
    );
    assert_eq!(recorded.code, 0, "{}", recorded.stderr);
    let after =
        ["RssAnon", "RssFile", "RssShmem", "VmSwap", "Threads"].map(|key| kernel_status(pid, key));
    target.release_and_check_no_signal();

    let (header, rows) = read_csv(&csv);
    for column in [
        "uss_bytes",
        "anon_bytes",
        "file_bytes",
        "shmem_bytes",
        "swap_bytes",
        "threads",
    ] {
        assert!(
            header.iter().any(|name| name == column),
            "{column} in {header:?}"
        );
    }
    assert_eq!(rows.len(), 3);
    for row in &rows {
        let parts = [
            "anon_bytes",
            "file_bytes",
            "shmem_bytes",
            "swap_bytes",
            "threads",
        ]
        .map(|column| num(row, column));
        // The kernel's figures, read before and after: the row's are among them.
        for (index, value) in parts.iter().enumerate() {
            let (low, high) = (
                before[index].min(after[index]),
                before[index].max(after[index]),
            );
            assert!(
                (low..=high).contains(value),
                "part {index}: {value} not between the kernel's {low} and {high}"
            );
        }
        assert_eq!(
            parts[0] + parts[1] + parts[2],
            num(row, "rss_bytes"),
            "{row:?}"
        );
        assert_holds("anon", parts[0], 60 * MIB, base[0]);
        assert_holds("file", parts[1], 30 * MIB, base[1]);
        assert_holds("shmem", parts[2], 20 * MIB, base[2]);
        assert_eq!(parts[3], 0, "no swap on this machine");
        assert_eq!(parts[4], 5, "the main thread and 4 more");
        let (uss, pss, rss) = (
            num(row, "uss_bytes"),
            num(row, "pss_bytes"),
            num(row, "rss_bytes"),
        );
        assert!(
            uss <= pss && pss <= rss,
            "USS {uss} ≤ PSS {pss} ≤ RSS {rss}"
        );
        // Alone with its memory, nearly all of it is its own.
        assert!(uss >= 100 * MIB, "USS {uss}");
    }
}

/// A recording of a fixture whose heap grows 4 MiB every 100 ms while a
/// mapped file and shared memory stay as they are.
fn growing_heap(dir: &Path, extra: &[&str]) -> std::path::PathBuf {
    let out = dir.join(format!("grow{}.csv", extra.len()));
    let mapped = dir.join("grow-mapped");
    let mut args: Vec<String> = ["--breakdown", "-q", "-i", "50ms", "-o"]
        .map(String::from)
        .to_vec();
    args.push(out.to_str().expect("UTF-8").into());
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args.extend(
        [
            "--",
            fixture().to_str().expect("UTF-8"),
            "map-file",
            mapped.to_str().expect("UTF-8"),
            "16",
            "shm",
            "8",
        ]
        .map(String::from),
    );
    for _ in 0..12 {
        args.extend(["hold", "4", "sleep", "100"].map(String::from));
    }
    let status = memsample().args(&args).status().expect("memsample runs");
    assert!(status.success());
    out
}

#[test]
fn report_names_the_growing_part() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = growing_heap(dir.path(), &[]);
    let path = csv.to_str().expect("UTF-8");
    let text = run(None, &["report", path]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let parts = text
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("parts"))
        .expect("a parts line")
        .trim();
    assert!(parts.starts_with("anonymous memory grows "), "{parts}");
    assert!(parts.contains("file pages are flat"), "{parts}");
    assert!(parts.contains("shared memory is flat"), "{parts}");

    let json = run(None, &["report", path, "--json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let breakdown = &report["breakdown"];
    assert_eq!(breakdown["growing"], serde_json::json!(["anon"]));
    // 4 MiB every 100 ms, about 144 000 MiB/h less the sleeps' slack.
    let anon = breakdown["growth_mib_per_hour"]["anon"]
        .as_f64()
        .expect("a rate");
    assert!((80_000.0..160_000.0).contains(&anon), "{anon}");
    // The parts at the peak are the peak row's.
    let (_, rows) = read_csv(&csv);
    let peak = rows
        .iter()
        .find(|row| num(row, "rss_bytes") == report["peak_rss_bytes"].as_u64().expect("peak"))
        .expect("the peak row");
    for column in [
        "anon_bytes",
        "file_bytes",
        "shmem_bytes",
        "swap_bytes",
        "threads",
    ] {
        assert_eq!(
            breakdown["at_peak"][column].as_u64(),
            Some(num(peak, column)),
            "{column}"
        );
    }
}

/// The chart's filled polygons, as their fill colours.
fn polygon_fills(svg: &Path) -> Vec<String> {
    let document = std::fs::read_to_string(svg).expect("chart written");
    let tree = roxmltree::Document::parse(&document).expect("well-formed XML");
    tree.descendants()
        .filter(|node| node.has_tag_name("polygon"))
        .filter_map(|node| node.attribute("fill").map(str::to_owned))
        .collect()
}

fn texts(svg: &Path) -> Vec<String> {
    let document = std::fs::read_to_string(svg).expect("chart written");
    let tree = roxmltree::Document::parse(&document).expect("well-formed XML");
    tree.descendants()
        .filter(|node| node.has_tag_name("text"))
        .filter_map(|node| node.text())
        .map(|text| text.trim().to_owned())
        .collect()
}

#[test]
fn chart_stacks_the_parts_under_rss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = growing_heap(dir.path(), &[]);
    let svg = dir.path().join("parts.svg");
    let plotted = run(
        None,
        &[
            "plot",
            csv.to_str().expect("UTF-8"),
            "-o",
            svg.to_str().expect("UTF-8"),
        ],
    );
    assert_eq!(plotted.code, 0, "{}", plotted.stderr);
    let fills = polygon_fills(&svg);
    assert_eq!(
        fills,
        ["#1F77B4", "#2CA02C", "#FF7F0E"],
        "anon, file, shmem from the bottom"
    );
    // anon + file + shmem = RSS: the top band's upper edge is the RSS line.
    let document = std::fs::read_to_string(&svg).expect("chart written");
    let tree = roxmltree::Document::parse(&document).expect("well-formed XML");
    let points = |node: roxmltree::Node| -> Vec<String> {
        let text = node.attribute("points").unwrap_or_default();
        text.split_whitespace().map(str::to_owned).collect()
    };
    let top = tree
        .descendants()
        .rfind(|node| node.has_tag_name("polygon"))
        .map(points)
        .expect("a band");
    let rss = tree
        .descendants()
        .find(|node| {
            node.has_tag_name("polyline")
                && node.attribute("stroke") == Some("#000000")
                && node.attribute("stroke-width") == Some("2")
        })
        .map(points)
        .expect("the RSS line");
    assert_eq!(top[..rss.len()], rss[..]);
    let labels = texts(&svg);
    for label in [
        "anonymous (heap)",
        "file-backed",
        "shared memory",
        "RSS, total",
    ] {
        assert!(
            labels.iter().any(|text| text == label),
            "{label} in {labels:?}"
        );
    }
}

#[test]
fn per_process_chart_stacks_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("tree.csv");
    let svg = dir.path().join("tree.svg");
    let mut memsample = memsample();
    memsample
        .args(["--per-process", "-i", "50ms", "-o"])
        .arg(&csv)
        .arg("--plot")
        .arg(&svg)
        .arg("--")
        .arg(fixture())
        .args(["hold", "30", "children", "3", "10", "600", "wait"]);
    let (status, _, stderr) = Running::start(&mut memsample).finish(Duration::from_secs(60));
    assert!(status.success(), "{stderr}");
    // The main process and its 3 children: one band each, none as lines.
    assert_eq!(polygon_fills(&svg).len(), 4);
    let labels = texts(&svg);
    assert_eq!(
        labels
            .iter()
            .filter(|text| text.starts_with("fixture ("))
            .count(),
        4
    );
}

#[test]
fn sysinfo_backend_refuses_breakdown_before_starting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("ran");
    let out = dir.path().join("never.csv");
    let refused = run(
        Some(dir.path()),
        &[
            "--breakdown",
            "--backend",
            "sysinfo",
            "-o",
            out.to_str().expect("UTF-8"),
            "--",
            "touch",
            marker.to_str().expect("UTF-8"),
        ],
    );
    assert_eq!(refused.code, 125);
    assert_eq!(
        refused.stderr,
        "memsample: --breakdown is not available with --backend sysinfo: it reads RSS and \
         virtual size only (use the default --backend proc)\n"
    );
    assert!(!marker.exists(), "the command was not started");
    assert!(!out.exists(), "no recording was created");
}

/// A default-layout `--breakdown` recording of `rows` samples at 1 s: anon
/// grows a page a second from 100 MiB, file wobbles around 30 MiB, shmem is
/// 20 MiB, and sample `spike` has 500 MiB more anon.
fn long_recording(path: &Path, rows: u64, spike: u64) {
    let layout = memsample::schema::Layout {
        per_process: false,
        pss: false,
        breakdown: true,
        cgroup: false,
        attached: false,
        phases: false,
    };
    let header = layout.header();
    let mut text = format!("{}\n", header.join(","));
    let mut peak = 0u64;
    for i in 0..rows {
        let anon = (100 << 20) + i * 4096 + if i == spike { 500 << 20 } else { 0 };
        let (file, shmem) = ((30 << 20) + (i % 7) * 4096, 20u64 << 20);
        let rss = anon + file + shmem;
        peak = peak.max(rss);
        let value = |column: &str| -> String {
            match column {
                "timestamp" => format!(
                    "2026-11-25T{:02}:{:02}:{:02}.000Z",
                    i / 3600,
                    i / 60 % 60,
                    i % 60
                ),
                "elapsed_s" => format!("{i}.000000"),
                "trigger" => if i == 0 { "start" } else { "interval" }.into(),
                "procs" | "threads" => "1".into(),
                "rss_bytes" => rss.to_string(),
                "vsz_bytes" => (2 * rss).to_string(),
                "cpu_percent" => "1.0".into(),
                "peak_rss_bytes" => peak.to_string(),
                "anon_bytes" => anon.to_string(),
                "file_bytes" => file.to_string(),
                "shmem_bytes" => shmem.to_string(),
                "swap_bytes" => "0".into(),
                other => panic!("a column the test does not know: {other}"),
            }
        };
        let row: Vec<String> = header.iter().map(|column| value(column)).collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    std::fs::write(path, text).expect("recording written");
}

#[test]
fn long_recording_chart_stays_small_and_its_stack_is_rss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("long.csv");
    let svg = dir.path().join("long.svg");
    long_recording(&csv, 20_000, 12_345);
    let csv_arg = csv.to_str().expect("UTF-8");
    let plotted = run(None, &["plot", csv_arg, "-o", svg.to_str().expect("UTF-8")]);
    assert_eq!(plotted.code, 0, "{}", plotted.stderr);
    let document = std::fs::read_to_string(&svg).expect("chart written");
    let tree = roxmltree::Document::parse(&document).expect("well-formed XML");
    let points = |node: roxmltree::Node| -> Vec<String> {
        let text = node.attribute("points").unwrap_or_default();
        text.split_whitespace().map(str::to_owned).collect()
    };
    let bands: Vec<Vec<String>> = tree
        .descendants()
        .filter(|node| node.has_tag_name("polygon"))
        .map(points)
        .collect();
    assert_eq!(bands.len(), 3);
    let rss = tree
        .descendants()
        .find(|node| {
            node.has_tag_name("polyline")
                && node.attribute("stroke") == Some("#000000")
                && node.attribute("stroke-width") == Some("2")
        })
        .map(points)
        .expect("the RSS line");
    // Decimated: at most 2 samples in each of 1000 slices, edges both ways.
    assert!(rss.len() <= 2000, "{}", rss.len());
    assert!(bands.iter().all(|band| band.len() <= 4000));
    // Whole samples kept: the top band's upper edge is the RSS line, the
    // spike included.
    assert_eq!(bands[2][..rss.len()], rss[..]);
    assert!(document.len() < 400_000, "{} bytes", document.len());
    assert!(
        texts(&svg)
            .iter()
            .any(|text| text.starts_with("peak 698.2 MiB")),
        "{:?}",
        texts(&svg)
    );

    let json = run(None, &["report", csv_arg, "--json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let breakdown = &report["breakdown"];
    let at_peak = &breakdown["at_peak"];
    assert_eq!(at_peak["anon_bytes"], (600u64 << 20) + 12_345 * 4096);
    assert_eq!(at_peak["shmem_bytes"], 20u64 << 20);
    assert_eq!(breakdown["growing"], serde_json::json!(["anon"]));
    // A page a second: 4096 × 3600 / 2^20 = 14.0625 MiB/h. The spike is
    // in the fitted part, one point in 16 000: the fit barely moves.
    let anon = breakdown["growth_mib_per_hour"]["anon"]
        .as_f64()
        .expect("a rate");
    assert!((anon - 14.0625).abs() < 0.5, "{anon}");
    let file = breakdown["growth_mib_per_hour"]["file"]
        .as_f64()
        .expect("a rate");
    assert!(file.abs() < 0.01, "{file}");
}
