//! `--json-summary FILE`: the end summary as JSON, written whatever the
//! ending (docs/reading-back.md, "JSON summary"). The real binary records the
//! fixture; the figures are checked against the recording and the kernel.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::common::*;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

/// Every field, in this order (docs/reading-back.md, "JSON summary").
const FIELDS: [&str; 24] = [
    "command",
    "pid",
    "hostname",
    "kernel",
    "memsample_version",
    "interval_s",
    "started",
    "ended",
    "samples",
    "skipped_ticks",
    "peak_rss_bytes",
    "peak_elapsed_s",
    "peak_pss_bytes",
    "mean_rss_bytes",
    "last_rss_bytes",
    "max_procs",
    "exit_code",
    "signal",
    "kernel_peak_bytes",
    "cgroup_peak_bytes",
    "oom_kills",
    "cgroup_path",
    "cgroup_limit_bytes",
    "output",
];

/// The summary as an object, after checking that it has every field, in
/// order, and nothing else.
fn read_summary(path: &Path) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(path).expect("the JSON summary was written");
    assert_eq!(json_keys(&text), FIELDS, "{text}");
    match serde_json::from_str(&text).expect("valid JSON") {
        Value::Object(object) => object,
        other => panic!("not an object: {other}"),
    }
}

fn int(summary: &serde_json::Map<String, Value>, field: &str) -> u64 {
    summary[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is not a whole number: {}", summary[field]))
}

fn time(summary: &serde_json::Map<String, Value>, field: &str) -> SystemTime {
    let text = summary[field].as_str().expect("a string");
    assert!(text.ends_with('Z') && text.len() == 24, "{field}: {text}");
    humantime::parse_rfc3339(text).expect("RFC 3339")
}

fn kernel_text(path: &str) -> String {
    std::fs::read_to_string(path)
        .expect(path)
        .trim()
        .to_string()
}

/// The figures of the summary are those of the recording: the same rows,
/// the same peak (the last `peak_rss_bytes`, reached at the first row
/// holding it), the same mean and last RSS.
fn check_figures_match(summary: &serde_json::Map<String, Value>, rows: &[Row]) {
    // The exit row's peak counts (it may be the command's kernel peak,
    // above every sample); it is no sample of RSS.
    let peak = num(rows.last().expect("rows"), "peak_rss_bytes");
    let first_at_peak = rows
        .iter()
        .find(|row| num(row, "peak_rss_bytes") == peak)
        .expect("a row at the peak");
    let rows = &sampled(rows);
    assert_eq!(int(summary, "samples"), rows.len() as u64);
    let last = rows.last().expect("rows");
    assert_eq!(int(summary, "peak_rss_bytes"), peak);
    assert_eq!(
        summary["peak_elapsed_s"].as_f64(),
        Some(float(first_at_peak, "elapsed_s"))
    );
    assert_eq!(int(summary, "last_rss_bytes"), num(last, "rss_bytes"));
    let total: u64 = rows.iter().map(|row| num(row, "rss_bytes")).sum();
    let mean = int(summary, "mean_rss_bytes");
    assert!(mean.abs_diff(total / rows.len() as u64) <= 1, "{mean}");
    let procs = rows.iter().map(|row| num(row, "procs")).max();
    assert_eq!(Some(int(summary, "max_procs")), procs);
}

#[test]
fn every_field_for_a_command_that_exits_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let json = dir.path().join("summary.json");
    let steps = ["hold", "40", "sleep", "300", "print-hwm", "exit", "3"];
    let output = memsample()
        .args(["-i", "50ms", "-o"])
        .arg(&csv)
        .arg("--json-summary")
        .arg(&json)
        .arg("--")
        .arg(fixture())
        .args(steps)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let summary = read_summary(&json);
    let mut argv = vec![fixture().to_string_lossy().into_owned()];
    argv.extend(steps.iter().map(|step| step.to_string()));
    assert_eq!(summary["command"], serde_json::json!(argv));
    assert_eq!(
        int(&summary, "pid"),
        u64::from(pid_from_start_line(&stderr))
    );
    assert_eq!(
        summary["hostname"],
        kernel_text("/proc/sys/kernel/hostname")
    );
    assert_eq!(summary["kernel"], kernel_text("/proc/sys/kernel/osrelease"));
    assert_eq!(summary["memsample_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(summary["interval_s"].as_f64(), Some(0.05));
    assert_eq!(summary["output"], csv.to_string_lossy().as_ref());
    // The rows lie between the start and the end.
    let (_, rows) = read_csv(&csv);
    let (started, ended) = (time(&summary, "started"), time(&summary, "ended"));
    let first = humantime::parse_rfc3339(&rows[0]["timestamp"]).expect("timestamp");
    let last = humantime::parse_rfc3339(&rows[rows.len() - 1]["timestamp"]).expect("timestamp");
    assert!(started <= first && last <= ended, "{summary:?}");
    check_figures_match(&summary, &rows);
    int(&summary, "skipped_ticks");
    // The kernel's figures for the fixture: its high-water mark, as it
    // printed it, and as wait4 reports it.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let hwm: u64 = stdout
        .trim()
        .strip_prefix("VmHWM ")
        .and_then(|bytes| bytes.parse().ok())
        .expect("VmHWM BYTES");
    assert!(hwm >= 40 * MIB, "{hwm}");
    // wait4's figure and VmHWM come from the same counters, read at
    // different times (and the kernel batches its RSS counters per CPU).
    let kernel_peak = int(&summary, "kernel_peak_bytes");
    assert!(
        kernel_peak >= 40 * MIB && kernel_peak.abs_diff(hwm) <= MIB,
        "kernel peak {kernel_peak}, VmHWM {hwm}"
    );
    // The exit row carries wait4's figure: the peak is one of the two.
    let peak = int(&summary, "peak_rss_bytes");
    assert!(
        peak >= 40 * MIB && peak <= hwm.max(kernel_peak),
        "peak {peak}, VmHWM {hwm}"
    );
    assert_eq!(int(&summary, "exit_code"), 3);
    assert!(summary["signal"].is_null(), "{}", summary["signal"]);
    // No --pss, no PSS.
    assert!(summary["peak_pss_bytes"].is_null(), "{summary:?}");
    assert!(!stderr.contains("PSS"), "{stderr}");
    // No cgroup here (the VM checks see them filled); where the machine
    // gives one, they are figures.
    let cgroup = memsample::cgroup::Placement::find().is_ok();
    for field in ["cgroup_peak_bytes", "oom_kills"] {
        assert_eq!(
            summary[field].is_u64(),
            cgroup,
            "{field}: {}",
            summary[field]
        );
    }
}

/// memsample stopped by SIGTERM (spawn mode): relayed, the command dies of
/// it, and so does memsample, after writing the summary; `-q` writes it too.
#[test]
fn a_command_killed_by_sigterm_with_quiet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let json = dir.path().join("summary.json");
    let ready = dir.path().join("ready");
    let running = Running::start(
        memsample()
            .args(["-q", "-i", "50ms", "-o"])
            .arg(&csv)
            .arg("--json-summary")
            .arg(&json)
            .arg("--")
            .arg(fixture())
            .args(["hold", "10", "touch"])
            .arg(&ready)
            .args(["sleep", "60000"]),
    );
    wait_until("the fixture to be ready", LIMIT, || ready.exists());
    wait_until("two rows", LIMIT, || line_count(&csv) >= 3);
    assert!(!json.exists(), "the summary is written at the end");
    send(running.pid(), libc::SIGTERM);
    let (status, _, stderr) = running.finish(LIMIT);
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{stderr}");
    assert_eq!(stderr, "", "-q");
    let summary = read_summary(&json);
    assert_eq!(int(&summary, "signal"), libc::SIGTERM as u64);
    assert!(summary["exit_code"].is_null());
    let (_, rows) = read_csv(&csv);
    check_figures_match(&summary, &rows);
    assert!(int(&summary, "peak_rss_bytes") >= 10 * MIB);
}

/// Attach mode stopped by SIGINT: the signal is memsample's own, not the
/// target's status, so both are null; the command is read from /proc.
#[test]
fn attach_mode_stopped_by_sigint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let json = dir.path().join("summary.json");
    let target = Waiting::start(dir.path(), &["count", "INT", "hold", "20"], |command| {
        command.stdout(std::process::Stdio::piped());
    });
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", target.pid())).expect("cmdline");
    let argv: Vec<String> = cmdline
        .strip_suffix(b"\0")
        .expect("NUL-terminated")
        .split(|&byte| byte == 0)
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    let running = Running::start(
        memsample()
            .args(["-i", "50ms", "-o"])
            .arg(&csv)
            .arg("--json-summary")
            .arg(&json)
            .args(["--pid", &target.pid().to_string()]),
    );
    wait_until("three rows", LIMIT, || line_count(&csv) >= 4);
    send(running.pid(), libc::SIGINT);
    let (status, _, stderr) = running.finish(LIMIT);
    assert_eq!(status.signal(), Some(libc::SIGINT), "{stderr}");
    let summary = read_summary(&json);
    assert_eq!(summary["command"], serde_json::json!(argv));
    assert_eq!(int(&summary, "pid"), u64::from(target.pid()));
    for null in ["exit_code", "signal", "kernel_peak_bytes"] {
        assert!(summary[null].is_null(), "{null}: {}", summary[null]);
    }
    let (_, rows) = read_csv(&csv);
    assert_eq!(rows[rows.len() - 1]["trigger"], "stop");
    check_figures_match(&summary, &rows);
    assert!(int(&summary, "peak_rss_bytes") >= 20 * MIB);
    target.release_and_check_no_signal();
}

/// `--samples`: sampling stops, the command is waited for, and its code is
/// in the summary.
#[test]
fn samples_reached_then_the_command_exits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let json = dir.path().join("summary.json");
    let status = memsample()
        .args(["-q", "-i", "20ms", "--samples", "2", "-o"])
        .arg(&csv)
        .arg("--json-summary")
        .arg(&json)
        .arg("--")
        .arg(fixture())
        .args(["sleep", "200", "exit", "4"])
        .status()
        .expect("runs");
    assert_eq!(status.code(), Some(4));
    let summary = read_summary(&json);
    assert_eq!(int(&summary, "samples"), 2);
    assert_eq!(int(&summary, "exit_code"), 4);
    let (_, rows) = read_csv(&csv);
    check_figures_match(&summary, &rows);
}

/// The output fails mid-run (a file size limit): the summary is still
/// written, with the rows that reached the recording.
#[test]
fn written_when_the_output_failed() {
    const FILE_LIMIT: u64 = 4096;
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let json = dir.path().join("summary.json");
    let go = dir.path().join("go");
    let mut command = memsample();
    command
        .args(["-q", "-i", "2ms", "-o"])
        .arg(&csv)
        .arg("--json-summary")
        .arg(&json)
        .arg("--")
        .arg(fixture())
        .arg("wait-file")
        .arg(&go);
    limit_file_size(&mut command, FILE_LIMIT);
    let running = Running::start(&mut command);
    wait_until("the error line", LIMIT, || !running.stderr().is_empty());
    std::fs::write(&go, b"").expect("go");
    let (status, _, stderr) = running.finish(LIMIT);
    // The command exited 0, the output failed: 125.
    assert_eq!(status.code(), Some(125), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let summary = read_summary(&json);
    assert_eq!(int(&summary, "exit_code"), 0);
    let (_, rows) = read_csv(&csv);
    assert!(rows.len() > 2, "{} rows", rows.len());
    check_figures_match(&summary, &rows);
}

/// Checked as -o is: refused before the command starts, one line, 125,
/// nothing created.
#[test]
fn an_unwritable_summary_is_refused_before_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let ran = dir.path().join("ran");
    let missing = dir.path().join("missing/summary.json");
    let cases = [
        (missing.clone(), "cannot write the JSON summary to "),
        (dir.path().to_path_buf(), "Is a directory"),
        (
            "/proc/summary.json".into(),
            "cannot write the JSON summary to ",
        ),
        (csv.clone(), "would replace the recording"),
    ];
    for (summary, reason) in cases {
        let output = memsample()
            .arg("-o")
            .arg(&csv)
            .arg("--json-summary")
            .arg(&summary)
            .arg("--")
            .arg(fixture())
            .arg("touch")
            .arg(&ran)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(125), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("memsample: ") && stderr.contains(reason),
            "{stderr}"
        );
        assert!(!ran.exists(), "the command was started");
        assert!(!csv.exists(), "the recording was created");
    }
    assert!(!missing.parent().expect("parent").exists());
}

/// A command that cannot be started still gets its summary: exit 127 when it
/// is not found, 126 when it cannot be executed, as memsample exits; no pid,
/// no samples, the figures null. The recording holds its header alone.
#[test]
fn a_command_that_cannot_be_started() {
    let dir = tempfile::tempdir().expect("tempdir");
    let not_executable = dir.path().join("data.txt");
    std::fs::write(&not_executable, "not a program\n").expect("file");
    let missing = dir.path().join("no-such-program");
    for (program, code) in [(&missing, 127), (&not_executable, 126)] {
        let csv = dir.path().join(format!("{code}.csv"));
        let json = dir.path().join(format!("{code}.json"));
        let output = memsample()
            .arg("-o")
            .arg(&csv)
            .arg("--json-summary")
            .arg(&json)
            .arg("--")
            .arg(program)
            .arg("an argument")
            .output()
            .expect("memsample runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{stderr}");
        assert!(stderr.contains("cannot run"), "{stderr}");
        let summary = read_summary(&json);
        assert_eq!(int(&summary, "exit_code"), code as u64);
        let argv = [program.to_str().expect("UTF-8 path"), "an argument"];
        assert_eq!(summary["command"], serde_json::json!(argv));
        assert_eq!(int(&summary, "samples"), 0);
        for null in ["pid", "signal", "peak_rss_bytes", "max_procs"] {
            assert!(summary[null].is_null(), "{null}: {}", summary[null]);
        }
        assert_eq!(summary["output"], serde_json::json!(csv.to_str()));
        let (_, rows) = read_csv(&csv);
        assert!(rows.is_empty());
    }
}

/// -o, --plot and --json-summary each name a file of their own: two on one
/// file (the same name, another spelling of it, a hard link to it, or one
/// standard output) are refused before the command starts, one line, 125,
/// and the existing file is left as it was.
#[test]
fn outputs_on_one_file_are_refused_before_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ran = dir.path().join("ran");
    let csv = dir.path().join("mem.csv");
    let link = dir.path().join("link.csv");
    let svg = dir.path().join("mem.svg");
    std::fs::create_dir(dir.path().join("sub")).expect("sub");
    let spelled = dir.path().join("sub/../mem.csv");
    let path = |path: &Path| path.to_str().expect("utf-8").to_string();
    let cases: [(Vec<String>, &str); 6] = [
        (
            vec!["-o".into(), path(&csv), "--plot".into(), path(&csv)],
            "would replace the recording",
        ),
        (
            vec!["-o".into(), path(&csv), "--plot".into(), path(&spelled)],
            "would replace the recording",
        ),
        (
            vec!["-o".into(), path(&csv), "--plot".into(), path(&link)],
            "would replace the recording",
        ),
        (
            vec![
                "-o".into(),
                path(&csv),
                "--plot".into(),
                path(&svg),
                "--json-summary".into(),
                path(&svg),
            ],
            "are one file",
        ),
        (
            vec![
                "-o".into(),
                path(&spelled),
                "--json-summary".into(),
                path(&csv),
            ],
            "would replace the recording",
        ),
        (
            vec![
                "-o".into(),
                "-".into(),
                "--json-summary".into(),
                "/dev/stdout".into(),
            ],
            "would go into the recording (-o -)",
        ),
    ];
    for (args, reason) in cases {
        std::fs::write(&csv, "kept\n").expect("an earlier recording");
        std::fs::hard_link(&csv, &link).expect("hard link");
        let output = memsample()
            .args(&args)
            .arg("--")
            .arg(fixture())
            .arg("touch")
            .arg(&ran)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(125), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("memsample: ") && stderr.contains(reason),
            "{args:?}: {stderr}"
        );
        assert!(!ran.exists(), "{args:?}: the command was started");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert_eq!(std::fs::read_to_string(&csv).expect("kept"), "kept\n");
        assert!(!svg.exists(), "{args:?}");
        std::fs::remove_file(&link).expect("unlink");
    }
}

/// With --pss, the end of the recording says the PSS peak as well as the
/// RSS one: 11 processes sharing 40 MiB count 440 MiB of RSS but 40 MiB of
/// PSS. The figure is the highest pss_bytes of the rows (the kernel's, from
/// smaps_rollup), on stderr and in the JSON summary.
#[test]
fn the_pss_peak_with_pss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let json = dir.path().join("summary.json");
    let output = memsample()
        .args(["-i", "100ms", "--pss", "-o"])
        .arg(&csv)
        .arg("--json-summary")
        .arg(&json)
        .arg("--")
        .arg(fixture())
        .args(["fork-share", "40", "10", "1500", "sleep", "1000"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let summary = read_summary(&json);
    let (_, rows) = read_csv(&csv);
    check_figures_match(&summary, &rows);
    let rows = sampled(&rows);
    let pss_peak = rows
        .iter()
        .filter(|row| !row["pss_bytes"].is_empty())
        .map(|row| num(row, "pss_bytes"))
        .max()
        .expect("PSS figures");
    assert_eq!(int(&summary, "peak_pss_bytes"), pss_peak);
    let rss_peak = int(&summary, "peak_rss_bytes");
    assert!(
        (40 * MIB..100 * MIB).contains(&pss_peak) && rss_peak > 4 * pss_peak,
        "PSS {pss_peak}, RSS {rss_peak}"
    );
    let line = stderr
        .lines()
        .find(|line| line.contains("peak PSS "))
        .unwrap_or_else(|| panic!("no PSS peak on stderr: {stderr}"));
    let shown = memsample::units::format_bytes(pss_peak);
    assert!(line.contains(&format!("peak PSS {shown} at ")), "{line}");
}
