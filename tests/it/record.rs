//! The recording modes, end to end: the real binary records the fixture
//! program, and the tests check the numbers against what the kernel says.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use crate::common::*;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn steady_memory_is_sampled_on_schedule() {
    let recorded = record(&["-i", "100ms"], &[Step::Hold(100), Step::Sleep(1500)]);
    recorded.assert_code(0);
    let (header, mut rows) = recorded.rows();
    assert_eq!(header.join(","), layout_header(false, false));
    // The exit row, right after the command's end, closes the recording.
    let exit = rows.pop().expect("rows");
    assert_eq!(exit["trigger"], "exit");
    assert_eq!((num(&exit, "procs"), num(&exit, "rss_bytes")), (0, 0));
    assert!(num(&exit, "peak_rss_bytes") >= 100 * MIB);
    // 1.5 s at 100 ms: the start row plus about 15 ticks; the fixture takes
    // longer on a loaded machine (touching 100 MiB), so the count follows
    // the recorded duration: one row per 100 ms, none skipped.
    let last = float(&rows[rows.len() - 1], "elapsed_s");
    assert!(last >= 1.4, "the recording lasted {last} s");
    let expected = 1 + (last / 0.1) as usize;
    assert!(
        rows.len().abs_diff(expected) <= 1,
        "{} rows over {last} s",
        rows.len()
    );
    assert_eq!(rows[0]["trigger"], "start");
    assert_eq!(float(&rows[0], "elapsed_s"), 0.0);
    for (index, row) in rows.iter().enumerate().skip(1) {
        assert_eq!(row["trigger"], "interval");
        // Absolute deadlines: tick k is at k·100 ms, late by less than a tick.
        let elapsed = float(row, "elapsed_s");
        let lateness = elapsed - index as f64 * 0.1;
        assert!((0.0..0.1).contains(&lateness), "row {index} at {elapsed}");
    }
    // Once the 100 MiB are held (after the first rows), rss is 100 MiB plus
    // the fixture's own few MiB.
    let held: Vec<u64> = rows[3..rows.len() - 1]
        .iter()
        .map(|row| num(row, "rss_bytes"))
        .collect();
    for rss in &held {
        assert!(
            (100 * MIB..110 * MIB).contains(rss),
            "rss {rss} is not 100 MiB + a little"
        );
    }
    for row in &rows {
        assert_eq!(num(row, "procs"), 1);
        assert!(num(row, "vsz_bytes") >= num(row, "rss_bytes"));
        assert!(num(row, "peak_rss_bytes") >= num(row, "rss_bytes"));
    }
    let stderr = &recorded.stderr;
    assert!(stderr.contains("memsample: recording "), "{stderr}");
    assert!(stderr.contains(" every 100ms → "), "{stderr}");
    assert!(stderr.contains("exited with code 0"), "{stderr}");
}

#[test]
fn a_spike_between_two_samples_shows_in_peak_rss() {
    // Samples at 0 s and 1 s; a 200 MiB spike of 50 ms at about 0.3 s. On a
    // heavily loaded machine the fixture can be slow enough that a sample
    // lands inside the spike: then the case under test (a spike *between*
    // samples) did not happen, so it is recorded again, at most three times.
    let mut attempts = 0;
    let (rows, kernel_hwm) = loop {
        attempts += 1;
        let recorded = record(
            &["-i", "1s", "-q"],
            &[
                Step::Hold(10),
                Step::Sleep(300),
                Step::Spike(200, 50),
                Step::Sleep(1200),
                Step::PrintHwm,
            ],
        );
        recorded.assert_code(0);
        let stdout = &recorded.stdout;
        let kernel_hwm: u64 = stdout
            .trim()
            .strip_prefix("VmHWM ")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("fixture printed {stdout:?}"));
        assert!(kernel_hwm > 200 * MIB);
        let (_, rows) = recorded.rows();
        assert!(rows.len() >= 2, "{rows:?}");
        let sampled_max = sampled(&rows)
            .iter()
            .map(|r| num(r, "rss_bytes"))
            .max()
            .unwrap_or(0);
        if sampled_max < 100 * MIB {
            break (rows, kernel_hwm);
        }
        assert!(
            attempts < 3,
            "the spike itself was sampled in {attempts} recordings: {sampled_max}"
        );
    };
    let last_peak = num(sampled(&rows).last().expect("rows"), "peak_rss_bytes");
    assert!(
        last_peak as f64 >= 0.99 * kernel_hwm as f64 && last_peak <= kernel_hwm,
        "peak_rss_bytes {last_peak} vs the kernel's VmHWM {kernel_hwm}"
    );
    // The exit row: wait4's figure, the same counters read a moment later.
    let exit_peak = num(rows.last().expect("rows"), "peak_rss_bytes");
    assert!(
        exit_peak.abs_diff(kernel_hwm) <= MIB,
        "exit row {exit_peak} vs the kernel's VmHWM {kernel_hwm}"
    );
    // The peak never decreases.
    let peaks: Vec<u64> = rows.iter().map(|r| num(r, "peak_rss_bytes")).collect();
    assert!(peaks.windows(2).all(|w| w[0] <= w[1]), "{peaks:?}");
}

#[test]
fn exit_status_of_the_command_comes_through() {
    record(&["-q"], &[Step::Exit(7)]).assert_code(7);
}

#[test]
fn death_by_a_signal_is_passed_on() {
    for (name, signal) in [("KILL", libc::SIGKILL), ("SEGV", libc::SIGSEGV)] {
        // Alive long enough for the start sample, even on a busy machine.
        let recorded = record(&[], &[Step::Hold(5), Step::Sleep(100), Step::Kill(name)]);
        assert_eq!(recorded.signal, Some(signal), "{}", recorded.stderr);
        assert!(
            recorded
                .stderr
                .contains(&format!("was killed by SIG{name}")),
            "{}",
            recorded.stderr
        );
        // Rows were flushed before memsample died.
        let (_, rows) = recorded.rows();
        assert!(!rows.is_empty());
    }
}

#[test]
fn a_command_that_is_not_found_or_not_executable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = memsample()
        .current_dir(dir.path())
        .args(["-o", "out.csv", "--", "./no-such-program", "arg"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(127));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "memsample: cannot run ./no-such-program: No such file or directory\n"
    );

    let script = dir.path().join("not-executable");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").expect("write");
    let output = memsample()
        .current_dir(dir.path())
        .args(["-o", "out.csv", "--", "./not-executable"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(126));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "memsample: cannot run ./not-executable: Permission denied\n"
    );

    let output = memsample()
        .current_dir(dir.path())
        .args(["-o", "out.csv", "--", "."])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(126), "{output:?}");
}

#[test]
fn a_bad_output_fails_before_the_command_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("ran");
    for (output_arg, reason) in [
        (
            "missing/mem.csv",
            "cannot create missing/mem.csv: No such file or directory",
        ),
        (".", "cannot create .: Is a directory"),
        (
            "/dev/full",
            "cannot write to /dev/full: No space left on device",
        ),
    ] {
        let output = memsample()
            .current_dir(dir.path())
            .args(["-o", output_arg, "--"])
            .arg(fixture())
            .arg("touch")
            .arg(&marker)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(125), "{output:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            format!("memsample: {reason}\n")
        );
        assert!(
            !marker.exists(),
            "the command ran although -o {output_arg} is bad"
        );
    }
}

#[test]
fn sigterm_from_kill_reaches_the_command_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("ready");
    let mut running = Running::start(
        memsample()
            .args(["-i", "50ms", "-o"])
            .arg(dir.path().join("mem.csv"))
            .arg("--")
            .arg(fixture())
            .args(["count", "TERM", "touch"])
            .arg(&ready)
            .args(["until-signal", "30000", "sleep", "200"]),
    );
    wait_until("the fixture to be ready", LIMIT, || ready.exists());
    let command = running.command_pid();
    send(running.pid(), libc::SIGTERM);
    // The command caught it, cleaned up for 200 ms and exited 0: so does memsample.
    let status = wait_child(&mut running.child, LIMIT);
    assert_eq!(status.code(), Some(0));
    let (_, stdout, _) = running.finish(LIMIT);
    assert_eq!(stdout.trim(), "SIGTERM 1");
    assert!(!is_alive(command));
}

#[test]
fn sigterm_kills_the_command_and_memsample_dies_of_it_leaving_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("ready");
    let csv = dir.path().join("mem.csv");
    let running = Running::start(
        memsample()
            .args(["-i", "50ms", "-o"])
            .arg(&csv)
            .arg("--")
            .arg(fixture())
            .args(["children", "2", "5", "60000", "touch"])
            .arg(&ready)
            .args(["sleep", "60000"]),
    );
    wait_until("the fixture to be ready", LIMIT, || ready.exists());
    let command = running.command_pid();
    wait_until("a row with the children", LIMIT, || {
        std::fs::read_to_string(&csv).is_ok_and(|t| t.contains(",interval,3,"))
    });
    let children = children_of(command);
    assert_eq!(children.len(), 2);
    send(running.pid(), libc::SIGTERM);
    let (status, _, stderr) = running.finish(LIMIT);
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{stderr}");
    assert!(!is_alive(command), "the command was left running");
    // The signal went to the command's process group, which its children
    // share: they got it too, as from a kill of the job's group.
    wait_until("the command's children to die of it", LIMIT, || {
        children.iter().all(|child| !is_alive(*child))
    });
}

/// Pids whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|(_, ppid, _)| *ppid == pid)
        .map(|(child, _, _)| child)
        .collect()
}

#[test]
fn attach_mode_never_signals_the_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let target = Waiting::start(
        dir.path(),
        &["count", "TERM", "count", "INT", "hold", "20"],
        |command| {
            command.stdout(std::process::Stdio::piped());
        },
    );
    let running = Running::start(
        memsample()
            .args(["-i", "50ms", "-o"])
            .arg(&csv)
            .args(["--pid", &target.pid().to_string()]),
    );
    wait_until("three rows", LIMIT, || line_count(&csv) >= 4);
    send(running.pid(), libc::SIGTERM);
    let (status, _, stderr) = running.finish(LIMIT);
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{stderr}");
    let (_, rows) = read_csv(&csv);
    assert_eq!(rows.last().expect("rows")["trigger"], "stop");
    let rss = num(&rows[rows.len() - 1], "rss_bytes");
    assert!((20 * MIB..30 * MIB).contains(&rss), "{rss}");
    assert!(
        stderr.contains(&format!("pid {} left running", target.pid())),
        "{stderr}"
    );
    // The target is alive and got no signal.
    assert!(is_alive(target.pid()));
    target.release_and_check_no_signal();
}

#[test]
fn attach_mode_ends_when_the_target_exits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let mut target = Waiting::start(dir.path(), &["hold", "30"], |_| {});
    let running = Running::start(
        memsample()
            .args(["-i", "20ms", "-o"])
            .arg(&csv)
            .args(["--pid", &target.pid().to_string()]),
    );
    wait_until("a few rows", LIMIT, || line_count(&csv) >= 4);
    target.release();
    // memsample sees the exit even before the test reaps its child.
    let (status, _, stderr) = running.finish(LIMIT);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("pid {} exited", target.pid())),
        "{stderr}"
    );
    wait_child(&mut target.child, LIMIT);
    let (_, rows) = read_csv(&csv);
    assert!(rows.iter().all(|row| row["trigger"] != "stop"));
    assert_eq!(rows.last().map(|row| row["trigger"].as_str()), Some("exit"));
    let rows = sampled(&rows);
    assert!(rows.iter().all(|row| num(row, "rss_bytes") >= 30 * MIB));
}

#[test]
fn a_sigkilled_memsample_leaves_only_complete_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let mut running = Running::start(
        memsample()
            .args(["-i", "5ms", "-o"])
            .arg(&csv)
            .arg("--")
            .arg(fixture())
            .args(["hold", "5", "sleep", "60000"]),
    );
    let command = running.command_pid();
    let _cleanup = KillGroupOnDrop(command);
    wait_until("50 rows", LIMIT, || line_count(&csv) > 50);
    send(running.pid(), libc::SIGKILL);
    wait_child(&mut running.child, LIMIT);
    let text = std::fs::read_to_string(&csv).expect("csv");
    assert!(text.ends_with('\n'), "a partial row at the end");
    let (_, rows) = read_csv(&csv);
    assert!(rows.len() >= 50);
    for row in &rows {
        assert!(num(row, "rss_bytes") > 0);
    }
    // memsample could not clean up after SIGKILL, but the command never
    // outlives it: the kernel kills it too (its parent-death signal).
    wait_until("the command to die with memsample", LIMIT, || {
        !is_alive(command)
    });
}

#[test]
fn descendants_are_counted_unless_no_children() {
    for (flags, procs, min_rss) in [(&[][..], 4, 90 * MIB), (&["--no-children"][..], 1, 0)] {
        let flags: Vec<&str> = ["-i", "50ms", "-q"].iter().chain(flags).copied().collect();
        let recorded = record(
            &flags,
            &[Step::Children(3, 30, 1000), Step::Sleep(700), Step::Wait],
        );
        recorded.assert_code(0);
        let (_, rows) = recorded.rows();
        let most = rows.iter().map(|r| num(r, "procs")).max().unwrap_or(0);
        assert_eq!(most, procs, "{flags:?}");
        let biggest = rows.iter().map(|r| num(r, "rss_bytes")).max().unwrap_or(0);
        assert!(biggest >= min_rss, "{flags:?}: {biggest}");
        if procs == 1 {
            assert!(biggest < 20 * MIB, "children counted with --no-children");
        }
    }
}

#[test]
fn samples_limit_stops_sampling_but_waits_for_the_command() {
    let recorded = record(
        &["-i", "50ms", "--samples", "3"],
        &[Step::Sleep(600), Step::Exit(4)],
    );
    recorded.assert_code(4);
    let (_, rows) = recorded.rows();
    assert_eq!(rows.len(), 3);
}

#[test]
fn duration_ends_with_a_stop_row() {
    let recorded = record(
        &["-i", "100ms", "--duration", "500ms"],
        &[Step::Sleep(1200)],
    );
    recorded.assert_code(0);
    let (_, rows) = recorded.rows();
    let triggers: Vec<&str> = rows.iter().map(|r| r["trigger"].as_str()).collect();
    assert_eq!(
        triggers,
        [
            "start", "interval", "interval", "interval", "interval", "stop"
        ]
    );
    let last = float(rows.last().expect("rows"), "elapsed_s");
    assert!((0.5..0.6).contains(&last), "{last}");
}

#[test]
fn sigusr1_takes_a_manual_sample() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let ready = dir.path().join("ready");
    let go = dir.path().join("go");
    let running = Running::start(
        memsample()
            .args(["-i", "1h", "-o"])
            .arg(&csv)
            .arg("--")
            .arg(fixture())
            .arg("touch")
            .arg(&ready)
            .arg("wait-file")
            .arg(&go),
    );
    wait_until("the fixture to be ready", LIMIT, || ready.exists());
    wait_until("the start row", LIMIT, || line_count(&csv) >= 2);
    send(running.pid(), libc::SIGUSR1);
    wait_until("the manual row", LIMIT, || line_count(&csv) >= 3);
    std::fs::write(&go, b"").expect("go");
    let (status, _, _) = running.finish(LIMIT);
    assert_eq!(status.code(), Some(0));
    let (_, rows) = read_csv(&csv);
    let triggers: Vec<&str> = rows.iter().map(|r| r["trigger"].as_str()).collect();
    assert_eq!(triggers, ["start", "manual", "exit"]);
}

#[test]
fn csv_to_stdout() {
    let output = memsample()
        .args(["-i", "50ms", "-q", "-o", "-", "--"])
        .arg(fixture())
        .args(["sleep", "300"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let (header, rows) = parse_csv(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(header.join(","), layout_header(false, false));
    assert!(rows.len() >= 4);
    assert!(output.stderr.is_empty());
}

#[test]
fn default_file_name_is_printed_and_never_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    for _ in 0..2 {
        let output = memsample()
            .current_dir(dir.path())
            .arg("--")
            .arg(fixture())
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(0));
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    for name in &names {
        assert!(
            name.starts_with("memsample-") && name.ends_with(".csv"),
            "{name}"
        );
    }
}

#[test]
fn the_sysinfo_backend_agrees_with_proc() {
    let recorded = record(
        &["--backend", "sysinfo", "-i", "100ms", "-q"],
        &[
            Step::Hold(50),
            Step::Children(1, 20, 800),
            Step::Sleep(800),
            Step::Wait,
        ],
    );
    recorded.assert_code(0);
    let (_, rows) = recorded.rows();
    let middle = &rows[rows.len() / 2];
    assert_eq!(num(middle, "procs"), 2);
    let rss = num(middle, "rss_bytes");
    assert!((70 * MIB..85 * MIB).contains(&rss), "{rss}");
}

/// The probe's warnings reach stderr through the recording, once each, and
/// `-q` silences them: the sysinfo backend cannot read PSS at all.
#[test]
fn probe_warnings_are_printed_once_and_silenced_by_quiet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let warning = "memsample: warning: cannot read the PSS of every process (the sysinfo backend cannot read PSS): its pss_bytes are empty";
    for quiet in [false, true] {
        let mut command = memsample();
        if quiet {
            command.arg("-q");
        }
        let output = command
            .args([
                "--backend",
                "sysinfo",
                "--pss",
                "-i",
                "100ms",
                "--samples",
                "3",
                "-o",
            ])
            .arg(&csv)
            .arg("--")
            .arg(fixture())
            .args(["hold", "10", "sleep", "1000"])
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        let (_, rows) = read_csv(&csv);
        assert_eq!(rows.len(), 3, "{stderr}");
        assert!(rows.iter().all(|row| row["pss_bytes"].is_empty()));
        let printed = stderr.lines().filter(|line| *line == warning).count();
        assert_eq!(printed, usize::from(!quiet), "{stderr}");
        if quiet {
            assert_eq!(stderr, "", "{stderr}");
        }
    }
}
