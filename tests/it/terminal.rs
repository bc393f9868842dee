//! memsample under a real terminal: the command runs in a process group of its
//! own, which memsample makes the terminal's foreground group, so Ctrl-C
//! typed at a pseudo-terminal reaches the command once, from the kernel, and
//! not memsample; the same SIGINT sent by `kill` to memsample alone is relayed
//! once. Ctrl-Z stops the command, and memsample with it (as a shell's job);
//! a SIGCONT to memsample (what `fg` and `bg` send) continues both. In attach
//! mode on a terminal the live line is drawn and Ctrl-C ends the recording
//! with a `stop` row, leaving the target alone.
//!
//! Why `rexpect` (and not `portable-pty` or hand-written `openpty` code):
//! it gives exactly what these tests check, with little code: the program is
//! the session leader of a fresh pty (so memsample starts in the terminal's
//! foreground process group, as a shell's foreground job does), its output is read by a thread
//! and matched with deadlines (`exp_*` with a timeout, no sleeping), and
//! `status()` returns the raw wait status, `Signaled(pid, SIGINT, _)`, which
//! is what "memsample dies of SIGINT" means. `portable-pty` turns a death by
//! a signal into exit code 1 plus the signal's description text, losing the
//! number. Two quirks of rexpect 0.7 are worked around here: it decodes output
//! byte by byte as Latin-1 (so only ASCII text is matched, not `·` or `→`),
//! and it does not expose the child's pid (memsample's pid is read as the
//! parent of the command's pid, which the start line gives).

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use rexpect::process::{Signal, WaitStatus};
use rexpect::reader::Options;
use rexpect::session::{PtySession, spawn_with_options};

const LIMIT: Duration = Duration::from_secs(20);

/// Starts `command` as the session leader of a new pseudo-terminal, with the
/// terminal as its stdin, stdout and stderr.
fn in_terminal(command: Command) -> PtySession {
    let options = Options::new()
        .timeout_ms(Some(LIMIT.as_millis() as u64))
        .strip_ansi_escape_codes(true);
    spawn_with_options(command, options).expect("memsample starts under a pty")
}

/// Waits for the session's process (memsample) to end, with a deadline.
fn wait_terminal(session: &PtySession, limit: Duration) -> WaitStatus {
    let deadline = Instant::now() + limit;
    loop {
        match session.process().status() {
            Some(WaitStatus::StillAlive) => {}
            Some(status) => return status,
            None => panic!("waitpid on memsample failed"),
        }
        assert!(
            Instant::now() < deadline,
            "memsample did not end within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The terminal's output from here to its end (everything holding it closed).
fn rest_of_output(session: &mut PtySession) -> String {
    session.exp_eof().expect("the terminal's output ends")
}

/// The parent pid of `pid`, from `/proc/PID/stat`.
fn ppid_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
        .and_then(|ppid| ppid.parse().ok())
        .expect("ppid in stat")
}

/// The process group of `pid`.
fn pgrp_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(2))
        .and_then(|pgrp| pgrp.parse().ok())
        .expect("pgrp in stat")
}

/// The terminal's foreground process group, as `pid` sees it (`tpgid`).
fn foreground_of(pid: u32) -> u32 {
    stat_field(pid, 5)
        .and_then(|tpgid| tpgid.parse().ok())
        .expect("tpgid in stat")
}

/// The counts the fixture printed at exit (`SIGINT 1`), as (name, count).
fn signal_counts(output: &str) -> Vec<(String, u64)> {
    output
        .lines()
        .filter_map(|line| {
            let (name, count) = line.trim().split_once(' ')?;
            if !name.starts_with("SIG") {
                return None;
            }
            Some((name.to_string(), count.parse().ok()?))
        })
        .collect()
}

/// memsample spawning the fixture with `steps`, recording every 20 ms.
fn spawn_mode(csv: &Path, steps: &[&std::ffi::OsStr]) -> Command {
    let mut command = memsample();
    command
        .args(["-i", "20ms", "-o"])
        .arg(csv)
        .arg("--")
        .arg(fixture())
        .args(steps);
    command
}

/// Starts memsample under a pty on a fixture that counts SIGINT, catches it
/// (`until-signal`), touches `got` and cleans up for 300 ms. Returns the
/// session, memsample's pid and the command's pid once the fixture is ready.
fn start_catching_fixture(dir: &Path) -> (PtySession, u32, u32) {
    let csv = dir.join("mem.csv");
    let ready = dir.join("ready");
    let got = dir.join("got");
    let mut session = in_terminal(spawn_mode(
        &csv,
        &[
            "count".as_ref(),
            "INT".as_ref(),
            "touch".as_ref(),
            ready.as_os_str(),
            "until-signal".as_ref(),
            "30000".as_ref(),
            "touch".as_ref(),
            got.as_os_str(),
            "sleep".as_ref(),
            "300".as_ref(),
        ],
    ));
    // The start line is read before any signal: a Ctrl-C flushes what the
    // terminal holds that nobody has read yet.
    let (_, pid_text) = session
        .exp_regex(r"\(pid [0-9]+\)")
        .expect("the start line");
    let command: u32 = pid_text
        .trim_start_matches("(pid ")
        .trim_end_matches(')')
        .parse()
        .expect("pid");
    wait_until("the fixture to be ready", LIMIT, || ready.exists());
    wait_until("the start row", LIMIT, || line_count(&csv) >= 2);
    let memsample_pid = ppid_of(command);
    // The command has a group of its own, and the terminal is given to it.
    assert_eq!(pgrp_of(memsample_pid), memsample_pid);
    assert_eq!(pgrp_of(command), command);
    assert_eq!(foreground_of(command), command);
    (session, memsample_pid, command)
}

/// After the signal: the fixture got it (`got` exists), memsample keeps
/// sampling through the command's 300 ms of clean-up, and exits 0.
fn check_one_sigint_and_clean_exit(dir: &Path, mut session: PtySession, command: u32) {
    let csv = dir.join("mem.csv");
    wait_until("the fixture to get SIGINT", LIMIT, || {
        dir.join("got").exists()
    });
    let rows_at_signal = line_count(&csv).saturating_sub(1);
    let status = wait_terminal(&session, LIMIT);
    let output = rest_of_output(&mut session);
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "memsample ended with {status:?} although the command caught SIGINT and exited 0: {output}"
    );
    assert_eq!(
        signal_counts(&output),
        [("SIGINT".to_string(), 1)],
        "the command did not get exactly one SIGINT: {output}"
    );
    assert!(output.contains("exited with code 0"), "{output}");
    assert!(!is_alive(command));
    let text = std::fs::read_to_string(&csv).expect("csv");
    assert!(text.ends_with('\n'));
    let (_, rows) = parse_csv(&text);
    // 300 ms of clean-up at 20 ms: about 15 rows; at least a few, spread over
    // most of that time, show that sampling went on after the signal.
    assert!(
        rows.len() >= rows_at_signal + 5,
        "{} rows after the signal, {} before",
        rows.len() - rows_at_signal,
        rows_at_signal
    );
    let at_signal = float(&rows[rows_at_signal.max(1) - 1], "elapsed_s");
    let last = float(rows.last().expect("rows"), "elapsed_s");
    assert!(
        last - at_signal >= 0.2,
        "sampling stopped {:.3} s after the signal, during the command's 300 ms of clean-up",
        last - at_signal
    );
    // Zero-byte rows (at the start, and while the command exits) are
    // checked in the `faults` module.
}

#[test]
fn ctrl_c_reaches_the_command_once_and_memsample_waits_for_its_clean_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut session, _, command) = start_catching_fixture(dir.path());
    // Ctrl-C: the line discipline sends SIGINT to the foreground group.
    session.send_control('c').expect("Ctrl-C");
    check_one_sigint_and_clean_exit(dir.path(), session, command);
}

#[test]
fn sigint_from_kill_to_memsample_alone_is_relayed_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (session, memsample_pid, command) = start_catching_fixture(dir.path());
    // Not the group: memsample alone, as a supervisor would.
    send(memsample_pid, libc::SIGINT);
    check_one_sigint_and_clean_exit(dir.path(), session, command);
}

#[test]
fn ctrl_c_kills_a_command_that_does_not_catch_it_and_memsample_dies_of_sigint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let ready = dir.path().join("ready");
    let mut session = in_terminal(spawn_mode(
        &csv,
        &[
            "touch".as_ref(),
            ready.as_os_str(),
            "sleep".as_ref(),
            "30000".as_ref(),
        ],
    ));
    session.exp_string("(pid ").expect("the start line");
    wait_until("the fixture to be ready", LIMIT, || ready.exists());
    wait_until("the start row", LIMIT, || line_count(&csv) >= 2);
    let started = Instant::now();
    session.send_control('c').expect("Ctrl-C");
    let status = wait_terminal(&session, LIMIT);
    let output = rest_of_output(&mut session);
    assert!(
        matches!(status, WaitStatus::Signaled(_, Signal::SIGINT, _)),
        "memsample ended with {status:?}: {output}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the 30 s sleep was not interrupted"
    );
    assert!(output.contains("was killed by SIGINT"), "{output}");
    let text = std::fs::read_to_string(&csv).expect("csv");
    assert!(text.ends_with('\n'));
    let (_, rows) = parse_csv(&text);
    assert!(!rows.is_empty());
}

#[test]
fn attach_mode_on_a_terminal_draws_the_live_line_and_ctrl_c_stops_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    // The target is started outside the terminal, in a process group of its
    // own: a Ctrl-C typed at memsample's terminal cannot reach it.
    let target = Waiting::start(
        dir.path(),
        &[
            "count", "INT", "count", "TERM", "count", "HUP", "count", "QUIT", "hold", "20",
        ],
        |command| {
            command.process_group(0).stdout(Stdio::piped());
        },
    );

    let mut command = memsample();
    command
        .args(["-i", "50ms", "-o"])
        .arg(&csv)
        .args(["--pid", &target.pid().to_string()]);
    let mut session = in_terminal(command);
    session
        .exp_string(&format!("recording pid {}", target.pid()))
        .expect("the start line");
    // The live line: `RSS 21.3 MiB · peak 21.3 MiB · 1 process · 3 samples · 0.1s`
    // (the `·` arrive as mojibake: match the ASCII parts).
    session
        .exp_regex(r"RSS [0-9.]+ MiB")
        .expect("the live line's RSS");
    session
        .exp_regex(r" 1 process[^e]")
        .expect("the live line's process count, singular for one");
    session
        .exp_regex(r"[0-9]+ samples")
        .expect("the live line's sample count");
    wait_until("a few rows", LIMIT, || line_count(&csv) >= 4);

    let stopped = Instant::now();
    session.send_control('c').expect("Ctrl-C");
    let status = wait_terminal(&session, LIMIT);
    let output = rest_of_output(&mut session);
    assert!(
        matches!(status, WaitStatus::Signaled(_, Signal::SIGINT, _)),
        "memsample ended with {status:?}: {output}"
    );
    // 50 ms ticks: seconds mean Ctrl-C did not stop it (the target holds on).
    assert!(stopped.elapsed() < Duration::from_secs(10));
    assert!(
        output.contains(&format!("pid {} left running, untouched", target.pid())),
        "{output}"
    );

    let text = std::fs::read_to_string(&csv).expect("csv");
    assert!(text.ends_with('\n'));
    let (_, rows) = parse_csv(&text);
    let last = rows.last().expect("rows");
    assert_eq!(last["trigger"], "stop");
    let rss = num(last, "rss_bytes");
    assert!((20 * MIB..30 * MIB).contains(&rss), "{rss}");
    assert_eq!(
        rows.iter().filter(|row| row["trigger"] == "stop").count(),
        1
    );

    // The target lives on and got no signal at all.
    assert!(is_alive(target.pid()));
    target.release_and_check_no_signal();
}

/// How the stop is asked for.
enum Stop {
    /// Ctrl-Z: the line discipline sends SIGTSTP to the command's group.
    CtrlZ,
    /// `kill -TSTP` of memsample alone: relayed to the command's group.
    KillMemsample,
}

#[test]
fn ctrl_z_stops_the_command_and_memsample_and_sigcont_continues_both() {
    stop_and_continue(Stop::CtrlZ);
}

#[test]
fn sigtstp_sent_to_memsample_stops_both_through_the_command() {
    stop_and_continue(Stop::KillMemsample);
}

/// The command and memsample stop together, the terminal is memsample's while
/// they are stopped, and a SIGCONT to memsample continues both.
fn stop_and_continue(stop: Stop) {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let (ready, go) = (dir.path().join("ready"), dir.path().join("go"));
    let mut session = in_terminal(spawn_mode(
        &csv,
        &[
            "touch".as_ref(),
            ready.as_os_str(),
            "wait-file".as_ref(),
            go.as_os_str(),
            "exit".as_ref(),
            "5".as_ref(),
        ],
    ));
    let (_, pid_text) = session
        .exp_regex(r"\(pid [0-9]+\)")
        .expect("the start line");
    let command: u32 = pid_text
        .trim_start_matches("(pid ")
        .trim_end_matches(')')
        .parse()
        .expect("pid");
    wait_until("the fixture to be ready", LIMIT, || ready.exists());
    let memsample_pid = ppid_of(command);
    let state = |pid| stat_field(pid, 0).unwrap_or_default();

    match stop {
        Stop::CtrlZ => session.send_control('z').expect("Ctrl-Z"),
        Stop::KillMemsample => send(memsample_pid, libc::SIGTSTP),
    }
    wait_until("the command and memsample to stop", LIMIT, || {
        state(command) == "T" && state(memsample_pid) == "T"
    });
    // memsample took the terminal back before it stopped.
    assert_eq!(foreground_of(command), memsample_pid);
    let rows_stopped = line_count(&csv);
    // Stopped for 10 ticks of 20 ms at least: the summary must say they were
    // not taken because the job was stopped, not that memsample was late.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(line_count(&csv), rows_stopped, "a row while stopped");

    // `fg` (or `bg`) sends SIGCONT to memsample's group: memsample alone here.
    send(memsample_pid, libc::SIGCONT);
    wait_until("both to run again", LIMIT, || {
        state(command) != "T" && state(memsample_pid) != "T"
    });
    wait_until("the terminal to be the command's again", LIMIT, || {
        foreground_of(command) == command
    });
    wait_until("sampling to go on", LIMIT, || {
        line_count(&csv) > rows_stopped + 2
    });

    std::fs::write(&go, b"").expect("go");
    let status = wait_terminal(&session, LIMIT);
    let output = rest_of_output(&mut session);
    assert!(
        matches!(status, WaitStatus::Exited(_, 5)),
        "memsample ended with {status:?}: {output}"
    );
    assert!(output.contains("exited with code 5"), "{output}");
    assert!(
        output.contains("ticks not taken while the job was stopped"),
        "{output}"
    );
}

#[test]
fn with_tostop_memsample_writes_while_the_command_holds_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    // `stty tostop`: a background process that writes to the terminal is
    // stopped; memsample is one while the command's group holds it.
    let mut command = Command::new("sh");
    command
        .args(["-c", "stty tostop && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_memsample"))
        .args(["-i", "20ms", "-o"])
        .arg(&csv)
        .arg("--")
        .arg(fixture())
        .args(["sleep", "300", "exit", "4"]);
    let mut session = in_terminal(command);
    let status = wait_terminal(&session, LIMIT);
    let output = rest_of_output(&mut session);
    assert!(
        matches!(status, WaitStatus::Exited(_, 4)),
        "memsample ended with {status:?}: {output}"
    );
    assert!(output.contains("recording "), "{output}");
    assert!(output.contains("exited with code 4"), "{output}");
}

#[test]
fn a_sigstop_of_the_command_does_not_stop_memsample() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_session, memsample_pid, command) = start_catching_fixture(dir.path());
    let rows = line_count(&dir.path().join("mem.csv"));
    // A debugger's stop: nothing would continue memsample, so it runs on.
    send(command, libc::SIGSTOP);
    wait_until("the command to stop", LIMIT, || {
        stat_field(command, 0).as_deref() == Some("T")
    });
    wait_until("sampling to go on", LIMIT, || {
        line_count(&dir.path().join("mem.csv")) > rows + 3
    });
    assert_ne!(stat_field(memsample_pid, 0).as_deref(), Some("T"));
    send(command, libc::SIGCONT);
    send(command, libc::SIGINT);
    wait_until("the command to end", LIMIT, || !is_alive(command));
}
