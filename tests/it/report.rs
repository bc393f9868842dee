//! `memsample report`, run as users run it: the real binary on CSV files.

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use memsample::units::{format_bytes, format_rate};
use serde_json::Value;
use tempfile::TempDir;

use crate::common::{MIB, Run, data, layout_header, run};

fn memsample(args: &[&str]) -> Run {
    run(None, args)
}

fn report(path: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["report", path.to_str().expect("UTF-8 path")];
    args.extend_from_slice(extra);
    memsample(&args)
}

fn report_json(path: &Path) -> Value {
    let run = report(path, &["--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).expect("--json prints one JSON object")
}

/// The text line that starts with `label`.
fn line<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{text}"))
}

/// A default-format row at `elapsed` seconds into the recording.
fn row(elapsed: f64, rss: u64, peak: u64) -> String {
    let time = UNIX_EPOCH + Duration::from_secs(1_795_000_000) + Duration::from_secs_f64(elapsed);
    format!(
        "{},{elapsed:.6},interval,1,{rss},{},1.0,{peak}",
        humantime::format_rfc3339_millis(time),
        rss * 2
    )
}

/// Writes a default-format recording of (elapsed, rss) samples, the peak
/// column being the running maximum as memsample writes it.
fn write_recording(
    dir: &TempDir,
    name: &str,
    samples: impl IntoIterator<Item = (f64, u64)>,
) -> PathBuf {
    let default_header = layout_header(false, false);
    let mut text = format!("{default_header}\n");
    let mut peak = 0;
    for (elapsed, rss) in samples {
        peak = peak.max(rss);
        text.push_str(&row(elapsed, rss, peak));
        text.push('\n');
    }
    write(dir, name, &text)
}

fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("fixture written");
    path
}

#[test]
fn known_figures() {
    let run = report(&data("basic.csv"), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    let text = &run.stdout;
    assert!(
        line(text, "").contains("5 samples over 4s, every 1s (default format)"),
        "{text}"
    );
    assert_eq!(
        line(text, "peak RSS"),
        "peak RSS      50.0 MiB at 3s (2026-11-25T10:15:03.000Z)"
    );
    assert_eq!(line(text, "mean"), "mean          30.0 MiB");
    assert_eq!(line(text, "median"), "median        30.0 MiB");
    // Linear between ranks: 40 + 0.8 × (50 − 40).
    assert_eq!(line(text, "p95"), "p95           48.0 MiB");
    assert_eq!(
        line(text, "first, last"),
        "first, last   10.0 MiB, 40.0 MiB"
    );
    assert_eq!(line(text, "most procs"), "most procs    3");
    assert!(line(text, "kernel peak").contains("not above the sampled peak"));
    let spark = line(text, "RSS ");
    assert!(spark.contains("▁▅▃█▆"), "{spark}");

    let json = report_json(&data("basic.csv"));
    assert_eq!(json["format"], "default");
    assert_eq!(json["samples"], 5);
    assert_eq!(json["duration_s"], 4.0);
    assert_eq!(json["interval_s"], 1.0);
    assert_eq!(json["peak_rss_bytes"], 50 * MIB);
    assert_eq!(json["peak_elapsed_s"], 3.0);
    assert_eq!(json["peak_timestamp"], "2026-11-25T10:15:03.000Z");
    assert_eq!(json["mean_rss_bytes"], 30 * MIB);
    assert_eq!(json["median_rss_bytes"], 30 * MIB);
    assert_eq!(json["p95_rss_bytes"], 48 * MIB);
    assert_eq!(json["first_rss_bytes"], 10 * MIB);
    assert_eq!(json["last_rss_bytes"], 40 * MIB);
    assert_eq!(json["max_procs"], 3);
    assert_eq!(json["kernel_peak_rss_bytes"], 50 * MIB);
    assert_eq!(json["peak_between_samples"], false);
    assert_eq!(json["peak_pss_bytes"], Value::Null);
    assert_eq!(json["top_processes"], Value::Null);
    assert!(json.get("fail_above_bytes").is_none());
    assert!(json.get("above_limit").is_none());
}

#[test]
fn json_matches_text() {
    for fixture in [
        "basic.csv",
        "spike.csv",
        "per-process.csv",
        "pss.csv",
        "single.csv",
    ] {
        let text = report(&data(fixture), &[]).stdout;
        let json = report_json(&data(fixture));
        for (label, field) in [
            ("peak RSS", "peak_rss_bytes"),
            ("kernel peak", "kernel_peak_rss_bytes"),
            ("mean", "mean_rss_bytes"),
            ("median", "median_rss_bytes"),
            ("p95", "p95_rss_bytes"),
            ("first, last", "first_rss_bytes"),
            ("first, last", "last_rss_bytes"),
        ] {
            let bytes = json[field].as_u64().expect("bytes are integers");
            let shown = line(&text, label);
            assert!(
                shown.contains(&format_bytes(bytes)),
                "{fixture}: {field} {bytes} is not on {shown:?}"
            );
        }
        let samples = json["samples"].as_u64().expect("a count");
        assert!(
            line(&text, "").contains(&format!(" {samples} sample")),
            "{fixture}"
        );
        let procs = json["max_procs"].as_u64().expect("a count");
        assert_eq!(line(&text, "most procs"), format!("most procs    {procs}"));
    }
}

#[test]
fn linear_leak_slope_and_r2() {
    let dir = TempDir::new().expect("temp dir");
    // 1 MiB every 10 s = 360 MiB/hour, with ±48 KiB of allocator noise.
    let noise = [0i64, 48 << 10, -(32 << 10), 16 << 10, -(48 << 10)];
    let path = write_recording(
        &dir,
        "leak.csv",
        (0..1000).map(|i| {
            let rss = 100 * MIB as i64 + i * MIB as i64 / 10 + noise[i as usize % noise.len()];
            (i as f64, rss as u64)
        }),
    );
    let json = report_json(&path);
    let slope = json["growth_mib_per_hour"].as_f64().expect("a slope");
    assert!((slope - 360.0).abs() < 3.6, "slope {slope}");
    let r2 = json["growth_r2"].as_f64().expect("an R²");
    assert!(r2 > 0.99, "R² {r2}");

    assert_eq!(json["growth_steady"], true);
    let text = report(&path, &[]).stdout;
    let growth = line(&text, "growth");
    // 16m39s seen: stated per minute (6 MiB/min), not extrapolated to hours.
    let rate = format_rate(slope * MIB as f64 / 3600.0, 999.0);
    assert!(rate.ends_with(" MiB/min"), "{rate}");
    assert_eq!(
        growth,
        format!("growth        RSS grew {rate}, steadily (R² 1.00)")
    );
    // Markdown states the same rate.
    let markdown = report(&path, &["--markdown"]).stdout;
    assert!(
        markdown.contains(&format!("| +{rate} (R² 1.00) |")),
        "{markdown}"
    );
    assert!(
        line(&text, "").contains("1000 samples over 16m39s, every 1s"),
        "{text}"
    );
}

#[test]
fn shrinking_recording_is_said_so() {
    let dir = TempDir::new().expect("temp dir");
    let path = write_recording(
        &dir,
        "shrink.csv",
        (0..100).map(|i| (i as f64, 500 * MIB - i * MIB)),
    );
    let text = report(&path, &[]).stdout;
    assert!(
        line(&text, "growth").contains("RSS shrank 60.0 MiB/min, steadily"),
        "{text}"
    );
}

#[test]
fn flat_recording_has_no_steady_growth() {
    let dir = TempDir::new().expect("temp dir");
    // Noise around a constant, and a start-up ramp that must not count.
    let path = write_recording(
        &dir,
        "flat.csv",
        (0..300).map(|i| {
            let rss = if i < 30 {
                i * 4 * MIB
            } else {
                120 * MIB + (i % 7) * (64 << 10)
            };
            (i as f64 * 0.5, rss)
        }),
    );
    let text = report(&path, &[]).stdout;
    let growth = line(&text, "growth");
    assert!(
        growth.starts_with("growth        no steady growth (R² 0.0"),
        "{growth}"
    );
    let json = report_json(&path);
    assert!(json["growth_r2"].as_f64().expect("an R²") < 0.1);

    let constant = write_recording(&dir, "constant.csv", (0..10).map(|i| (i as f64, 7 * MIB)));
    let text = report(&constant, &[]).stdout;
    assert_eq!(
        line(&text, "growth"),
        "growth        no steady growth (RSS flat)"
    );
    let json = report_json(&constant);
    assert_eq!(json["growth_mib_per_hour"], 0.0);
    assert_eq!(json["growth_r2"], Value::Null);
}

#[test]
fn kernel_peak_between_samples() {
    let run = report(&data("spike.csv"), &[]);
    assert_eq!(run.code, 0);
    assert_eq!(
        line(&run.stdout, "peak RSS"),
        "peak RSS      130.0 MiB at 3s (2026-11-25T10:15:03.000Z)"
    );
    assert_eq!(
        line(&run.stdout, "kernel peak"),
        "kernel peak   200.0 MiB, above every sample: a spike fell between two samples"
    );
    let json = report_json(&data("spike.csv"));
    assert_eq!(json["peak_rss_bytes"], 130 * MIB);
    assert_eq!(json["kernel_peak_rss_bytes"], 200 * MIB);
    assert_eq!(json["peak_between_samples"], true);
}

#[test]
fn fail_above_is_a_gate() {
    let basic = data("basic.csv");
    let above = report(&basic, &["--fail-above", "40MiB"]);
    assert_eq!(above.code, 1);
    assert!(
        above.stdout.contains("peak RSS"),
        "the report is still printed"
    );
    assert_eq!(
        above.stderr,
        "memsample: peak RSS 50.0 MiB is above the limit of 40.0 MiB\n"
    );

    let below = report(&basic, &["--fail-above", "50MiB"]);
    assert_eq!(below.code, 0, "equal to the limit passes");
    assert_eq!(below.stderr, "");

    // The kernel's peak counts: 130 MiB sampled, 200 MiB between samples.
    let spike = report(&data("spike.csv"), &["--fail-above", "150MiB"]);
    assert_eq!(spike.code, 1);
    assert!(
        spike
            .stderr
            .contains("200.0 MiB is above the limit of 150.0 MiB")
    );

    // One byte over reads the same rounded: the bytes are shown.
    let close = report(&basic, &["--fail-above", &(50 * MIB - 1).to_string()]);
    assert_eq!(close.code, 1);
    assert_eq!(
        close.stderr,
        "memsample: peak RSS 50.0 MiB (52428800 bytes) is above the limit of 50.0 MiB (52428799 bytes)\n"
    );

    let json = report(&basic, &["--json", "--fail-above", "40MiB"]);
    assert_eq!(json.code, 1);
    let value: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(value["fail_above_bytes"], 40 * MIB);
    assert_eq!(value["above_limit"], true);
    let json = report(&basic, &["--json", "--fail-above", "1GiB"]);
    assert_eq!(json.code, 0);
    let value: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(value["above_limit"], false);

    let bad = report(&basic, &["--fail-above", "lots"]);
    assert_eq!(bad.code, 2);
}

#[test]
fn per_process_rows_are_summed_per_sample() {
    let run = report(&data("per-process.csv"), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = &run.stdout;
    assert!(line(text, "").contains("3 samples over 2s, every 1s (per-process format)"));
    // 2 + 50 + 30 = 82 MiB at 1 s, 2 + 40 + 45 = 87 MiB at 2 s.
    assert!(line(text, "peak RSS").starts_with("peak RSS      87.0 MiB at 2s"));
    assert_eq!(line(text, "mean"), "mean          57.0 MiB");
    assert_eq!(line(text, "most procs"), "most procs    3");
    let top: Vec<&str> = text
        .lines()
        .skip_while(|line| !line.starts_with("top processes"))
        .skip(1)
        .collect();
    assert_eq!(
        top,
        [
            "    60.0 MiB  my,prog (101)",
            "    45.0 MiB  worker (102)",
            "     2.0 MiB  sh (100)"
        ]
    );

    let json = report_json(&data("per-process.csv"));
    assert_eq!(json["format"], "per-process");
    assert_eq!(json["peak_rss_bytes"], 87 * MIB);
    assert_eq!(json["first_rss_bytes"], 2 * MIB);
    assert_eq!(json["max_procs"], 3);
    let top = json["top_processes"].as_array().expect("an array");
    assert_eq!(top.len(), 3);
    assert_eq!(top[0]["pid"], 101);
    assert_eq!(top[0]["command"], "my,prog");
    assert_eq!(top[0]["peak_rss_bytes"], 60 * MIB);
    assert_eq!(top[1]["command"], "worker");
}

#[test]
fn pss_column_is_optional_and_may_be_empty() {
    let json = report_json(&data("pss.csv"));
    assert_eq!(json["peak_rss_bytes"], 6 * MIB);
    assert_eq!(json["peak_pss_bytes"], 4 * MIB);
    let text = report(&data("pss.csv"), &[]).stdout;
    assert_eq!(line(&text, "peak PSS"), "peak PSS      4.0 MiB");
    // Written before uss_bytes was: read as it is, without USS.
    assert_eq!(json["peak_uss_bytes"], Value::Null);
    assert!(!text.contains("peak USS"));

    let dir = TempDir::new().expect("temp dir");
    let header = layout_header(true, true);
    let path = write(
        &dir,
        "pp-pss.csv",
        &format!(
            "{header}\n\
             2026-11-25T10:15:00.000Z,0.000000,start,7,1,a,100,50,40,300,0.0,100\n\
             2026-11-25T10:15:00.000Z,0.000000,start,8,7,b,200,,,300,0.0,200\n\
             2026-11-25T10:15:01.000Z,1.000000,stop,7,1,a,100,60,45,300,0.0,100\n\
             2026-11-25T10:15:01.000Z,1.000000,stop,8,7,b,200,70,50,300,0.0,200\n"
        ),
    );
    let json = report_json(&path);
    assert_eq!(json["peak_rss_bytes"], 300);
    // The first sample lacks b's PSS: only the complete one counts.
    assert_eq!(json["peak_pss_bytes"], 130);
    assert_eq!(json["peak_uss_bytes"], 95);
}

#[test]
fn single_row_still_reports() {
    let run = report(&data("single.csv"), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(line(&run.stdout, "").ends_with(": 1 sample (default format)"));
    assert!(line(&run.stdout, "growth").contains("not enough samples"));
    let json = report_json(&data("single.csv"));
    assert_eq!(json["samples"], 1);
    assert_eq!(json["duration_s"], 0.0);
    assert_eq!(json["interval_s"], Value::Null);
    assert_eq!(json["growth_mib_per_hour"], Value::Null);
    assert_eq!(json["growth_r2"], Value::Null);
    assert_eq!(json["peak_rss_bytes"], 2105344);
}

#[test]
fn bad_input_is_one_line_naming_file_and_line() {
    let default_header = layout_header(false, false);
    let per_process_header = layout_header(true, false);
    let dir = TempDir::new().expect("temp dir");
    let good = row(0.0, 100, 100);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "empty.csv",
            String::new(),
            "empty.csv: empty file, no CSV header",
        ),
        (
            "header-only.csv",
            format!("{default_header}\n"),
            "header-only.csv: no samples",
        ),
        (
            "other.csv",
            "name,size\nx,1\n".into(),
            "other.csv:1: not a memsample recording: unexpected header \"name,size\"",
        ),
        (
            "extra-column.csv",
            format!("{default_header},gpu_bytes\n{good},1\n"),
            "extra-column.csv:1: not a memsample recording: unexpected column \"gpu_bytes\" (column 9)",
        ),
        (
            "missing-column.csv",
            format!("{}\n", default_header.replace(",peak_rss_bytes", "")),
            "missing-column.csv:1: not a memsample recording: missing column peak_rss_bytes",
        ),
        (
            "short.csv",
            format!("{default_header}\n{good}\n2026-11-25T10:15:01.000Z,1.000000,interval,1,100\n"),
            "short.csv:3: row cut short: 5 fields, the header has 8",
        ),
        (
            "long.csv",
            format!("{default_header}\n{good},9\n"),
            "long.csv:2: row too long: 9 fields, the header has 8",
        ),
        (
            "letters.csv",
            format!(
                "{default_header}\n{good}\n{}\n",
                row(1.0, 100, 100).replace(",100,", ",12a,")
            ),
            "letters.csv:3: field rss_bytes is not a number: \"12a\"",
        ),
        (
            "nan.csv",
            format!(
                "{default_header}\n{}\n",
                row(0.0, 100, 100).replace(",100,", ",NaN,")
            ),
            "nan.csv:2: field rss_bytes is not a number: \"NaN\"",
        ),
        (
            "negative.csv",
            format!(
                "{default_header}\n{good}\n{good}\n2026-11-25T10:15:01.000Z,1.000000,interval,1,-100,200,1.0,100\n"
            ),
            "negative.csv:4: field rss_bytes is negative: \"-100\"",
        ),
        (
            "fraction.csv",
            format!(
                "{default_header}\n{}\n",
                row(0.0, 100, 100).replace(",100,", ",1.5,")
            ),
            "fraction.csv:2: field rss_bytes is not a whole number of bytes: \"1.5\"",
        ),
        (
            "elapsed-nan.csv",
            format!(
                "{default_header}\n{}\n",
                row(0.0, 100, 100).replace("0.000000", "nan")
            ),
            "elapsed-nan.csv:2: field elapsed_s is not a number: \"nan\"",
        ),
        (
            "timestamp.csv",
            format!("{default_header}\nyesterday,0.000000,start,1,100,200,0.0,100\n"),
            "timestamp.csv:2: field timestamp is not an RFC 3339 UTC time: \"yesterday\"",
        ),
        (
            "trigger.csv",
            format!("{default_header}\n{}\n", good.replace("interval", "tick")),
            "trigger.csv:2: field trigger is not start, interval, manual, stop, exit or mark: \"tick\"",
        ),
        (
            "backwards.csv",
            format!("{default_header}\n{}\n{}\n", row(2.0, 1, 1), row(1.0, 1, 1)),
            "backwards.csv:3: elapsed_s goes back in time: 1.000000 after 2.000000",
        ),
        (
            // A quoted field may hold a newline: the message must not.
            "newline.csv",
            format!("{default_header}\n{good}\n\"2026\n\",1.0,interval,1,1,1,1.0,1\n"),
            "newline.csv:3: field timestamp is not an RFC 3339 UTC time: \"2026\\n\"",
        ),
        (
            "per-process-short.csv",
            format!("{per_process_header}\n2026-11-25T10:15:00.000Z,0.000000,start,7,1,sh,100\n"),
            "per-process-short.csv:2: row cut short: 7 fields, the header has 10",
        ),
        (
            "pid.csv",
            format!(
                "{per_process_header}\n2026-11-25T10:15:00.000Z,0.000000,start,x,1,sh,1,1,0.0,1\n"
            ),
            "pid.csv:2: field pid is not a whole number: \"x\"",
        ),
    ];
    for (name, content, expected) in &cases {
        let path = write(&dir, name, content);
        let run = report(&path, &[]);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{name}");
        assert_eq!(run.stderr.lines().count(), 1, "{name}: {:?}", run.stderr);
        let message = format!("memsample: {}{expected}", dir.path().join("").display());
        assert!(
            run.stderr.starts_with(&message),
            "{name}:\n got  {:?}\n want {message:?}…",
            run.stderr
        );
    }

    let utf8 = dir.path().join("latin1.csv");
    let mut latin1 = format!("{default_header}\n{good}\n").into_bytes();
    latin1.extend_from_slice(b"2026-11-25T10:15:01.000Z,1.000000,int\xe9rval,1,1,1,1.0,1\n");
    std::fs::write(&utf8, latin1).expect("fixture written");
    let run = report(&utf8, &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.ends_with("latin1.csv:3: not valid UTF-8\n"),
        "{:?}",
        run.stderr
    );

    let missing = dir.path().join("missing.csv");
    let run = report(&missing, &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "memsample: cannot open {}: No such file or directory\n",
            missing.display()
        )
    );

    let run = report(dir.path(), &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "memsample: cannot read {}: Is a directory\n",
            dir.path().display()
        )
    );
}

/// A burst recording with a cgroup (tests/data/cgroup.csv): the sampled RSS
/// stays at a few MiB, the cgroup's peak is 318 MiB, the exit row carries
/// the command's wait4 peak (302 MiB) with nothing left.
#[test]
fn cgroup_peak_is_reported_and_gated() {
    let cgroup = data("cgroup.csv");
    let json = report_json(&cgroup);
    assert_eq!(json["cgroup_peak_bytes"].as_u64(), Some(318 * MIB));
    assert_eq!(json["cgroup_peak_elapsed_s"].as_f64(), Some(1.0));
    // The exit row is no sample: 4 samples, the last RSS is the last
    // sample's; its peak is the kernel's.
    assert_eq!(json["samples"].as_u64(), Some(4));
    assert_eq!(json["last_rss_bytes"].as_u64(), Some(3 * MIB));
    assert_eq!(json["kernel_peak_rss_bytes"].as_u64(), Some(302 * MIB));
    let text = report(&cgroup, &[]);
    assert!(
        line(&text.stdout, "cgroup peak").contains("318.0 MiB by 1s"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("incl. page cache"), "{}", text.stdout);

    let above = report(&cgroup, &["--fail-above-cgroup", "280MiB"]);
    assert_eq!(above.code, 1, "{}", above.stderr);
    assert_eq!(
        above.stderr,
        "memsample: whole-tree peak 318.0 MiB (cgroup, incl. page cache; 333447168 bytes) \
         is above the limit of 280.0 MiB (293601280 bytes)\n"
    );
    assert_eq!(report(&cgroup, &["--fail-above-cgroup", "320MiB"]).code, 0);
    // --fail-above gates RSS, the exit row's kernel peak included.
    assert_eq!(report(&cgroup, &["--fail-above", "300MiB"]).code, 1);

    // Without the column: an error, not a pass.
    let spike = data("spike.csv");
    let both = memsample(&[
        "report",
        "--markdown",
        cgroup.to_str().expect("UTF-8"),
        spike.to_str().expect("UTF-8"),
    ]);
    assert_eq!(both.code, 0, "{}", both.stderr);
    let lines: Vec<&str> = both.stdout.lines().collect();
    assert!(
        lines[0].ends_with("| growth | cgroup peak |"),
        "{}",
        both.stdout
    );
    assert!(lines[2].ends_with(" 318.0 MiB |"), "{}", both.stdout);
    assert!(lines[3].ends_with(" n/a |"), "{}", both.stdout);
    assert_eq!(report_json(&spike)["cgroup_peak_bytes"], Value::Null);
    let refused = report(&spike, &["--fail-above-cgroup", "280MiB"]);
    assert_eq!(refused.code, 2);
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("--fail-above-cgroup: no cgroup_peak_bytes in this recording"),
        "{}",
        refused.stderr
    );
}

/// A process that renames itself (`prctl(PR_SET_NAME)`, as workers do) is
/// one process of the per-process report: one entry for its pid, under its
/// last name; the recording itself shows both names for that pid.
#[test]
fn a_process_that_renames_itself_is_listed_once() {
    let dir = TempDir::new().expect("temp dir");
    let csv = dir.path().join("mem.csv");
    let output = crate::common::memsample()
        .args(["-q", "-i", "50ms", "--per-process", "-o"])
        .arg(&csv)
        .arg("--")
        .arg(crate::common::fixture())
        .args(["hold", "30", "sleep", "400", "rename", "worker"])
        .args(["hold", "10", "sleep", "400"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let (_, rows) = crate::common::read_csv(&csv);
    let pid = rows[0]["pid"].clone();
    let names: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter(|row| row["pid"] == pid)
        .map(|row| row["command"].as_str())
        .collect();
    assert_eq!(names, ["fixture", "worker"].into(), "{rows:?}");
    let json = report_json(&csv);
    let top = json["top_processes"].as_array().expect("an array");
    let entries: Vec<&Value> = top
        .iter()
        .filter(|process| process["pid"].as_u64().map(|p| p.to_string()) == Some(pid.clone()))
        .collect();
    assert_eq!(entries.len(), 1, "{top:?}");
    assert_eq!(entries[0]["command"], "worker");
    assert!(
        entries[0]["peak_rss_bytes"].as_u64().expect("bytes") >= 40 * MIB,
        "{top:?}"
    );
    let text = report(&csv, &[]).stdout;
    let listed = text
        .lines()
        .skip_while(|line| !line.starts_with("top processes"))
        .filter(|line| line.ends_with(&format!("({pid})")))
        .count();
    assert_eq!(listed, 1, "{text}");
}

/// One rule says when a growth rate is stated, in text, Markdown and JSON:
/// a recording whose fit explains little (R² near 0) gets no rate in any.
#[test]
fn a_growth_rate_is_stated_by_one_rule_everywhere() {
    let dir = TempDir::new().expect("temp dir");
    // Noise with a slight upward drift: a slope, but R² far below 0.8.
    let path = write_recording(
        &dir,
        "noisy.csv",
        (0..300).map(|i| {
            let noise = [0, 9, 2, 7, 4, 11, 1, 8][i as usize % 8] * (256 << 10);
            (i as f64, 100 * MIB + i * 256 + noise)
        }),
    );
    let json = report_json(&path);
    let r2 = json["growth_r2"].as_f64().expect("an R²");
    assert!(r2 < 0.1, "R² {r2}");
    assert_ne!(json["growth_mib_per_hour"], 0.0);
    assert_eq!(json["growth_steady"], false);
    let text = report(&path, &[]).stdout;
    assert_eq!(
        line(&text, "growth"),
        format!("growth        no steady growth (R² {r2:.2})")
    );
    let markdown = report(&path, &["--markdown"]).stdout;
    let row = markdown
        .lines()
        .find(|line| line.starts_with("| ") && line.contains("noisy.csv"))
        .unwrap_or_else(|| panic!("{markdown}"));
    assert!(
        row.ends_with(&format!("| no steady growth (R² {r2:.2}) |")),
        "{row}"
    );
    assert!(!row.contains("MiB/"), "{row}");
}

/// A rate is stated in a unit that fits the run: 40 s growing 4 MiB a
/// second is 4 MiB/s, not 14400 MiB/h.
#[test]
fn rates_of_a_short_run_are_per_second() {
    let dir = TempDir::new().expect("temp dir");
    let path = write_recording(
        &dir,
        "build.csv",
        (0..=40).map(|i| (i as f64, 100 * MIB + i * 4 * MIB)),
    );
    let text = report(&path, &[]).stdout;
    assert_eq!(
        line(&text, "growth"),
        "growth        RSS grew 4.00 MiB/s, steadily (R² 1.00)"
    );
    let markdown = report(&path, &["--markdown"]).stdout;
    assert!(markdown.contains("| +4.00 MiB/s (R² 1.00) |"), "{markdown}");
    // JSON keeps its one unit, for machines.
    let json = report_json(&path);
    let slope = json["growth_mib_per_hour"].as_f64().expect("a slope");
    assert!((slope - 14_400.0).abs() < 1e-6, "{slope}");
}

/// Durations are printed with the precision they need: a recording every
/// 2 ms says so, not "every 0s".
#[test]
fn a_recording_every_2ms_says_so() {
    let dir = TempDir::new().expect("temp dir");
    let csv = dir.path().join("mem.csv");
    let output = crate::common::memsample()
        .args(["-i", "2ms", "--samples", "40", "-o"])
        .arg(&csv)
        .arg("--")
        .arg(crate::common::fixture())
        .args(["sleep", "300"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(" every 2ms "), "{stderr}");
    let json = report_json(&csv);
    let interval = json["interval_s"].as_f64().expect("an interval");
    assert!((0.0015..0.005).contains(&interval), "{interval}");
    let text = report(&csv, &[]).stdout;
    let first = line(&text, "");
    let every = first
        .split(", every ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{first}"));
    let ms: f64 = every
        .strip_suffix("ms")
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("every {every}: {first}"));
    assert!(
        (ms - interval * 1000.0).abs() < 0.006,
        "{every} vs {interval}"
    );
}

/// A `--no-procs` recording, by hand: a cgroup attached to without reading
/// its processes, so `procs` and the RSS columns are 0 in every row and
/// the cgroup's columns hold the figures (a peak of 120 MiB at 2 s under a
/// 200 MiB limit).
const NO_PROCS: &str = "\
timestamp,elapsed_s,trigger,procs,rss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes,cgroup_bytes,cgroup_peak_bytes,cgroup_interval_peak_bytes,cgroup_limit_bytes,cgroup_oom_kills
2026-11-25T10:15:00.000Z,0.000000,start,0,0,0,0.0,0,52428800,52428800,52428800,209715200,0
2026-11-25T10:15:01.000Z,1.000000,interval,0,0,0,0.0,0,73400320,83886080,83886080,209715200,0
2026-11-25T10:15:02.000Z,2.000000,interval,0,0,0,0.0,0,104857600,125829120,125829120,209715200,0
2026-11-25T10:15:03.000Z,3.000000,stop,0,0,0,0.0,0,62914560,125829120,104857600,209715200,0
";

/// A `--no-procs` recording's report gives no RSS figure (its 0 B is none),
/// says why as the summary at record time does, and gives the cgroup's;
/// `--json` keeps the numbers and says `processes_read: false`; the
/// Markdown table writes `not read` in the RSS columns.
#[test]
fn a_no_procs_recording_reports_the_cgroup_not_rss() {
    let dir = TempDir::new().expect("temp dir");
    let path = write(&dir, "no-procs.csv", NO_PROCS);
    let run = report(&path, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = &run.stdout;
    assert!(
        line(text, "processes").contains("not read (--no-procs): no RSS figures"),
        "{text}"
    );
    for gone in [
        "peak RSS",
        "kernel peak",
        "mean",
        "median",
        "p95",
        "first, last",
        "growth",
        "RSS ",
    ] {
        assert!(
            !text.lines().any(|l| l.starts_with(gone)),
            "{gone:?} in:\n{text}"
        );
    }
    assert!(!text.contains(" 0 B"), "{text}");
    assert!(
        line(text, "cgroup peak").contains(&format_bytes(120 * MIB)),
        "{text}"
    );
    assert!(line(text, "cgroup peak").contains("by 2s"), "{text}");
    assert!(line(text, "cgroup limit").contains("peak 60 %"), "{text}");
    assert_eq!(line(text, "most procs").trim_end(), "most procs    0");

    let json = report_json(&path);
    assert_eq!(json["processes_read"], false);
    assert_eq!(json["peak_rss_bytes"], 0);
    assert_eq!(json["mean_rss_bytes"], 0);
    assert_eq!(json["cgroup_peak_bytes"].as_u64(), Some(120 * MIB));
    assert_eq!(json["cgroup_peak_elapsed_s"].as_f64(), Some(2.0));

    let run = report(&path, &["--markdown"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let row = run
        .stdout
        .lines()
        .find(|l| l.contains("no-procs.csv"))
        .unwrap_or_else(|| panic!("no row in:\n{}", run.stdout));
    assert_eq!(row.matches("| not read ").count(), 5, "{row}");
    assert!(row.contains(&format_bytes(120 * MIB)), "{row}");

    // A recording that read processes says so.
    let read = write_recording(&dir, "read.csv", [(0.0, 10 * MIB), (1.0, 20 * MIB)]);
    assert_eq!(report_json(&read)["processes_read"], true);
}
