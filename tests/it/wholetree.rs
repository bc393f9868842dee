//! The whole tree's peaks: `--cgroup` where the machine gives no cgroup (this
//! project's machines are cgroup v1: `auto` falls back, `require` refuses;
//! nothing is ever created here), and the `exit` row with the command's kernel
//! peak from `wait4` (docs/cgroups.md). The cgroup itself is tested on real
//! kernels: tests/vm.

use std::process::Command;
use std::time::Duration;

use crate::common::{self, MIB, fixture, memsample, num, read_csv, run};
use memsample::cgroup::Placement;

/// The tests of the fallback need a machine that gives memsample no cgroup
/// (cgroup v1 or hybrid, as CI's): they never make cgroups. Elsewhere they
/// are run on purpose only, and fail saying why.
const NEEDS_NO_CGROUP: &str = "needs a machine that gives no cgroup v2 (cgroup v1 or hybrid, as CI's); \
                               run with: cargo test --test it wholetree:: -- --ignored";

/// Why this machine gives no cgroup.
fn no_cgroup_here() -> String {
    match Placement::find() {
        Ok(placement) => panic!(
            "cgroup v2 available under {}: the fallback cannot be tested here ({NEEDS_NO_CGROUP})",
            placement.own.display()
        ),
        Err(why) => why.to_string(),
    }
}

#[test]
#[ignore = "needs a machine that gives no cgroup v2 (cgroup v1 or hybrid, as CI's); run with: cargo test --test it wholetree:: -- --ignored"]
fn auto_falls_back_and_says_why_on_the_start_line() {
    let why = no_cgroup_here();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("mem.csv");
    let fixture = fixture();
    let ran = run(
        None,
        &[
            "-o",
            out.to_str().expect("UTF-8"),
            "--",
            fixture.to_str().expect("UTF-8"),
            "hold",
            "10",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let start = ran.stderr.lines().next().expect("a start line");
    assert!(
        start.ends_with(&format!("(whole-tree peak: sampled; {why})")),
        "{start}"
    );
    let (header, rows) = read_csv(&out);
    assert_eq!(header.join(","), common::layout_header(false, false));
    assert!(!ran.stderr.contains("whole-tree peak "), "{}", ran.stderr);
    assert!(!rows.is_empty());
}

/// `off` never tries: nothing to say, whatever the machine gives.
#[test]
fn off_never_tries_a_cgroup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("mem.csv");
    let fixture = fixture();
    let ran = run(
        None,
        &[
            "--cgroup",
            "off",
            "-o",
            out.to_str().expect("UTF-8"),
            "--",
            fixture.to_str().expect("UTF-8"),
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(!ran.stderr.contains("whole-tree"), "{}", ran.stderr);
}

#[test]
#[ignore = "needs a machine that gives no cgroup v2 (cgroup v1 or hybrid, as CI's); run with: cargo test --test it wholetree:: -- --ignored"]
fn require_without_a_cgroup_exits_125_before_the_command_starts() {
    let why = no_cgroup_here();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("mem.csv");
    let marker = dir.path().join("ran");
    let fixture = fixture();
    let ran = run(
        None,
        &[
            "--cgroup",
            "require",
            "-o",
            out.to_str().expect("UTF-8"),
            "--",
            fixture.to_str().expect("UTF-8"),
            "touch",
            marker.to_str().expect("UTF-8"),
        ],
    );
    assert_eq!(ran.code, 125);
    assert_eq!(
        ran.stderr,
        format!("memsample: --cgroup require: cannot give the command a cgroup: {why}\n")
    );
    assert!(!marker.exists(), "the command ran");
    assert!(!out.exists(), "a recording was created");
}

#[test]
fn require_with_pid_is_refused_and_auto_ignored() {
    let own = std::process::id().to_string();
    let ran = run(None, &["--cgroup", "require", "--pid", &own]);
    assert_eq!(ran.code, 125);
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    assert!(
        ran.stderr
            .starts_with("memsample: --cgroup require: only a command memsample starts"),
        "{}",
        ran.stderr
    );
}

/// Records, every second into `out`, a fixture whose one child holds
/// 200 MiB for 50 ms: between two samples.
fn record_a_short_lived_child(out: &std::path::Path, flags: &[&str]) {
    let fixture = fixture();
    let mut args = flags.to_vec();
    args.extend(["-i", "1s", "-o", out.to_str().expect("UTF-8"), "--"]);
    args.extend([
        fixture.to_str().expect("UTF-8"),
        "children",
        "1",
        "200",
        "50",
        "wait",
    ]);
    let ran = run(None, &args);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

/// The largest short-lived child, missed by a 1 s interval, is in the exit
/// row: `wait4` on the command gives its peak (the command waited for it).
#[test]
fn the_exit_row_has_the_largest_short_lived_child() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("mem.csv");
    let fixture = fixture();
    record_a_short_lived_child(&out, &[]);
    let (_, rows) = read_csv(&out);
    let exit = rows.last().expect("rows");
    assert_eq!(exit["trigger"], "exit");
    assert_eq!((num(exit, "procs"), num(exit, "rss_bytes")), (0, 0));
    let peak = num(exit, "peak_rss_bytes");
    // The child's 200 MiB and the fixture's own few MiB: its peak, not more.
    assert!(
        (200 * MIB..210 * MIB).contains(&peak),
        "exit row peak {peak}"
    );
    // Within 1 % of the kernel's own high-water mark of such a child, run
    // alone (the same steps the fixture's `children` gives each child).
    let alone = std::process::Command::new(&fixture)
        .args(["hold", "200", "sleep", "50", "print-hwm"])
        .output()
        .expect("the fixture runs alone");
    let hwm: u64 = String::from_utf8_lossy(&alone.stdout)
        .trim()
        .strip_prefix("VmHWM ")
        .and_then(|bytes| bytes.parse().ok())
        .expect("VmHWM printed");
    assert!(
        peak.abs_diff(hwm) * 100 <= hwm,
        "exit row peak {peak} against the child's own {hwm}"
    );
    // The rows before it missed the child (sampled at start only).
    let sampled = num(&rows[0], "peak_rss_bytes");
    assert!(sampled < 100 * MIB, "start row peak {sampled}");
    // The gate sees it.
    let gate = run(
        None,
        &[
            "report",
            out.to_str().expect("UTF-8"),
            "--fail-above",
            "150MiB",
        ],
    );
    assert_eq!(gate.code, 1, "{}", gate.stderr);
}

/// What the program that exec'd memsample had reaped (cargo's compiler,
/// here a 300 MiB fixture reaped by a shell) is not the command's peak.
#[test]
fn the_exit_row_is_not_what_memsample_parent_had_reaped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("mem.csv");
    let script = r#"fixture="$1"; memsample="$2"; out="$3"
"$fixture" hold 300 || exit 9
exec "$memsample" -q -i 1s -o "$out" -- "$fixture" hold 20"#;
    let status = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(fixture())
        .arg(env!("CARGO_BIN_EXE_memsample"))
        .arg(&out)
        .status()
        .expect("sh runs");
    assert_eq!(status.code(), Some(0));
    let (_, rows) = read_csv(&out);
    let exit = rows.last().expect("rows");
    assert_eq!(exit["trigger"], "exit");
    let peak = num(exit, "peak_rss_bytes");
    assert!(
        (20 * MIB..100 * MIB).contains(&peak),
        "exit row peak {peak}"
    );
}

#[test]
fn attach_mode_ends_with_an_exit_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("mem.csv");
    let (ready, go) = (dir.path().join("ready"), dir.path().join("go"));
    let mut target = Command::new(fixture())
        .args(["hold", "10", "touch"])
        .arg(&ready)
        .arg("wait-file")
        .arg(&go)
        .spawn()
        .expect("fixture");
    common::wait_until("the fixture", Duration::from_secs(20), || ready.exists());
    let pid = target.id().to_string();
    let mut recorder = memsample()
        .args(["-q", "-i", "50ms", "-o"])
        .arg(&out)
        .args(["--pid", &pid])
        .spawn()
        .expect("memsample");
    common::wait_until("the start row", Duration::from_secs(20), || {
        common::line_count(&out) >= 2
    });
    std::fs::write(&go, b"").expect("go");
    let _ = common::wait_child(&mut target, Duration::from_secs(20));
    let status = common::wait_child(&mut recorder, Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
    let (_, rows) = read_csv(&out);
    let exit = rows.last().expect("rows");
    assert_eq!(exit["trigger"], "exit");
    assert_eq!(num(exit, "procs"), 0);
    assert!(num(exit, "peak_rss_bytes") >= 10 * MIB);
}

/// `--per-process`: the command, gone, still has a row in the exit sample:
/// 0 bytes, its kernel peak.
#[test]
fn the_per_process_exit_row_is_the_command_with_its_peak() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("mem.csv");
    record_a_short_lived_child(&out, &["--per-process"]);
    let (_, rows) = read_csv(&out);
    let command = rows[0]["pid"].clone();
    let exit: Vec<_> = rows.iter().filter(|row| row["trigger"] == "exit").collect();
    assert_eq!(exit.len(), 1, "{exit:?}");
    assert_eq!(exit[0]["pid"], command);
    assert_eq!(num(exit[0], "rss_bytes"), 0);
    assert!(num(exit[0], "peak_rss_bytes") >= 200 * MIB, "{:?}", exit[0]);
    // report's kernel peak is it.
    let report = run(None, &["report", "--json", out.to_str().expect("UTF-8")]);
    let json: serde_json::Value = serde_json::from_str(&report.stdout).expect("JSON");
    assert!(json["kernel_peak_rss_bytes"].as_u64() >= Some(200 * MIB));
}
