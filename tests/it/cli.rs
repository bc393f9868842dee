//! Usage errors: one line on stderr naming the thing, exit 125, and nothing
//! started or created.

use crate::common::*;

fn fails_with(args: &[&str], expected_code: i32) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = memsample()
        .current_dir(dir.path())
        .args(args)
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(expected_code),
        "{args:?}: {output:?}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?}: not one line: {stderr}"
    );
    assert!(stderr.starts_with("memsample: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let created: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert!(created.is_empty(), "{args:?} created files");
    stderr
}

#[test]
fn invalid_intervals_and_durations() {
    for bad in [
        "0",
        "0s",
        "-1",
        "-5s",
        "NaN",
        "inf",
        "",
        "abc",
        "5 parsecs",
        "0.0001",
        "500us",
        "1e400",
    ] {
        let stderr = fails_with(&["-i", bad, "--", "true"], 125);
        assert!(stderr.contains("--interval"), "{bad:?}: {stderr}");
        let stderr = fails_with(&["--duration", bad, "--", "true"], 125);
        assert!(stderr.contains("--duration"), "{bad:?}: {stderr}");
    }
    for bad in ["0", "-1", "x", ""] {
        fails_with(&["--samples", bad, "--", "true"], 125);
    }
}

#[test]
fn nothing_to_record() {
    let stderr = fails_with(&[], 125);
    assert!(stderr.contains("nothing to record"), "{stderr}");
    let stderr = fails_with(&["--"], 125);
    assert!(stderr.contains("nothing to record"), "{stderr}");
}

#[test]
fn bad_pids() {
    let stderr = fails_with(&["--pid", "0"], 125);
    assert!(stderr.contains("--pid"), "{stderr}");
    fails_with(&["--pid", "-1"], 125);
    fails_with(&["--pid", "abc"], 125);
    let stderr = fails_with(&["--pid", "99999999999"], 125);
    assert!(stderr.contains("--pid"), "{stderr}");
    // Above pid_max: no such process.
    let stderr = fails_with(&["--pid", "4194305"], 125);
    assert_eq!(stderr, "memsample: no process with pid 4194305\n");
    let stderr = fails_with(&["--pid", "1", "--", "true"], 125);
    assert!(stderr.contains("--pid"), "{stderr}");
}

#[test]
#[ignore = "needs pid 2 to be kthreadd (a host, not a container); run with: cargo test --test it cli:: -- --ignored"]
fn a_kernel_thread_has_no_memory_to_sample() {
    // kthreadd is pid 2 outside containers.
    let stat = std::fs::read_to_string("/proc/2/stat").unwrap_or_default();
    assert!(
        stat.contains("(kthreadd)"),
        "pid 2 is not kthreadd here: {stat:?}"
    );
    let stderr = fails_with(&["--pid", "2"], 125);
    assert_eq!(
        stderr,
        "memsample: process 2 (kthreadd) is a kernel thread: it has no memory of its own to sample\n"
    );
}

#[test]
fn a_zombie_cannot_be_attached_to() {
    // A child of this test that exited and is not reaped yet is a zombie.
    let mut child = std::process::Command::new("true").spawn().expect("true");
    let pid = child.id();
    wait_until("the zombie", std::time::Duration::from_secs(20), || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
    });
    let stderr = fails_with(&["--pid", &pid.to_string()], 125);
    assert_eq!(
        stderr,
        format!("memsample: process {pid} (true) has already exited (it is a zombie)\n")
    );
    child.wait().expect("reap");
}

#[test]
fn help_and_version_exit_zero() {
    for flag in ["--help", "-h", "--version", "-V"] {
        let output = memsample().arg(flag).output().expect("runs");
        assert_eq!(output.status.code(), Some(0), "{flag}");
        assert!(!output.stdout.is_empty());
    }
    let help = memsample().arg("--help").output().expect("runs");
    let help = String::from_utf8_lossy(&help.stdout);
    for option in [
        "--interval",
        "--output",
        "--pid",
        "--no-children",
        "--duration",
        "--samples",
        "--backend",
        "--quiet",
        "report",
        "plot",
    ] {
        assert!(help.contains(option), "--help lacks {option}");
    }
}

#[test]
fn unknown_options() {
    let stderr = fails_with(&["--frobnicate", "--", "true"], 125);
    assert!(stderr.contains("--frobnicate"), "{stderr}");
    // A command without `--` is not run: it could be taken for an option.
    let stderr = fails_with(&["./prog", "arg"], 125);
    assert_eq!(
        stderr,
        "memsample: unexpected argument './prog' found (a command goes after --: memsample [OPTIONS] -- ./prog ...)\n"
    );
    // The readers use 2 for errors.
    fails_with(&["report", "--frobnicate"], 2);
    fails_with(&["plot"], 2);
}

#[test]
fn completions_and_man_page() {
    let output = memsample()
        .args(["completions", "bash"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let script = String::from_utf8_lossy(&output.stdout);
    assert!(script.contains("_memsample()"), "{script}");
    assert!(script.contains("--per-process"));
    let output = memsample().arg("man").output().expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let page = String::from_utf8_lossy(&output.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH memsample"),
        "{page}"
    );
    assert!(page.contains("interval"));
    fails_with(&["completions", "cmd.exe"], 2);
}

#[test]
fn plot_needs_a_csv_file_and_a_directory_for_the_chart() {
    let stderr = fails_with(&["-o", "-", "--plot", "mem.svg", "--", "true"], 125);
    assert_eq!(
        stderr,
        "memsample: --plot needs the recording in a file: give -o FILE instead of -o -\n"
    );
    let stderr = fails_with(
        &["-o", "mem.csv", "--plot", "missing/mem.svg", "--", "true"],
        125,
    );
    assert_eq!(
        stderr,
        "memsample: cannot write the chart to missing/mem.svg: No such directory missing\n"
    );
}
