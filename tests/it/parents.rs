//! memsample is invisible to the command it wraps: signals ignored at start
//! stay ignored, a group kill reaches the command once, the command never
//! outlives memsample, scripts without `#!` run as they do alone, and every
//! orphan adopted by memsample is reaped at once. Ctrl-C and Ctrl-Z at a
//! terminal are in the `terminal` module.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::*;

const LIMIT: Duration = Duration::from_secs(20);

/// The signal mask `field` (`SigIgn`, `SigBlk`...) of `/proc/PID/status`.
fn signal_mask(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let hex = status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .expect("mask in status");
    u64::from_str_radix(hex.trim(), 16).expect("hex mask")
}

fn has(mask: u64, signal: i32) -> bool {
    mask & (1 << (signal - 1)) != 0
}

/// memsample, started with `signal` ignored (as `nohup` does for SIGHUP),
/// recording the fixture with `steps` every 50 ms.
fn with_ignored(signal: i32, csv: &Path, steps: &[&std::ffi::OsStr]) -> Command {
    let mut command = memsample();
    command
        .args(["-i", "50ms", "-o"])
        .arg(csv)
        .arg("--")
        .arg(fixture())
        .args(steps);
    // SAFETY: signal(2) is async-signal-safe; nothing else runs in the child.
    unsafe {
        command.pre_exec(move || {
            libc::signal(signal, libc::SIG_IGN);
            Ok(())
        });
    }
    command
}

#[test]
fn a_signal_ignored_at_start_stays_ignored_for_memsample_and_the_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ready, go) = (dir.path().join("ready"), dir.path().join("go"));
    let mut running = Running::start(&mut with_ignored(
        libc::SIGHUP,
        &dir.path().join("mem.csv"),
        &[
            "touch".as_ref(),
            ready.as_os_str(),
            "wait-file".as_ref(),
            go.as_os_str(),
        ],
    ));
    let _cleanup = KillGroupOnDrop(running.command_pid());
    wait_until("the fixture to be ready", LIMIT, || ready.exists());
    let command = running.command_pid();
    // Alone under nohup the command has SIGHUP ignored; so it has here.
    assert!(
        has(signal_mask(command, "SigIgn"), libc::SIGHUP),
        "the command lost nohup's SIGHUP immunity"
    );
    // memsample catches it, to relay one sent to it on purpose.
    assert!(has(signal_mask(running.pid(), "SigCgt"), libc::SIGHUP));
    // Relayed to a command that ignores it: nothing ends, sampling goes on.
    let csv = dir.path().join("mem.csv");
    let rows = line_count(&csv);
    send(running.pid(), libc::SIGHUP);
    wait_until("sampling to go on", LIMIT, || line_count(&csv) > rows + 2);
    assert!(is_alive(running.pid()) && is_alive(command));
    std::fs::write(&go, b"").expect("go");
    let status = wait_child(&mut running.child, LIMIT);
    assert_eq!(status.code(), Some(0), "{}", running.stderr());
}

/// A script's background job starts with SIGINT ignored; `kill -INT $!`
/// then reaches memsample, which relays it: a command that set its own
/// handler gets it once, as it would alone (while it started with SIGINT
/// ignored, as alone).
#[test]
fn a_signal_ignored_at_start_but_sent_to_memsample_is_relayed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ready, go, counting) = (
        dir.path().join("ready"),
        dir.path().join("go"),
        dir.path().join("counting"),
    );
    let running = Running::start(&mut with_ignored(
        libc::SIGINT,
        &dir.path().join("mem.csv"),
        &[
            "touch".as_ref(),
            ready.as_os_str(),
            "wait-file".as_ref(),
            go.as_os_str(),
            "count".as_ref(),
            "INT".as_ref(),
            "touch".as_ref(),
            counting.as_os_str(),
            "until-signal".as_ref(),
            "30000".as_ref(),
        ],
    ));
    let command = running.command_pid();
    let _cleanup = KillGroupOnDrop(command);
    wait_until("the fixture to be ready", LIMIT, || ready.exists());
    assert!(
        has(signal_mask(command, "SigIgn"), libc::SIGINT),
        "the command did not start with SIGINT ignored"
    );
    std::fs::write(&go, b"").expect("go");
    wait_until("the fixture's handler", LIMIT, || counting.exists());
    send(running.pid(), libc::SIGINT);
    let (status, stdout, stderr) = running.finish(LIMIT);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(stdout.trim(), "SIGINT 1", "{stderr}");
}

/// The command's signal mask is the caller's, whatever memsample's own
/// threads block (SIGTTOU, so that its lines never stop it): a command
/// started with SIGTTOU blocked would write to the terminal from the
/// background under `stty tostop`.
#[test]
fn the_command_starts_with_the_signal_mask_memsample_was_given() {
    for given in [None, Some(libc::SIGUSR2)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut command = memsample();
        command
            .args(["-q", "-o"])
            .arg(dir.path().join("mem.csv"))
            .args(["--", "grep", "^SigBlk:", "/proc/self/status"]);
        // SAFETY: sigset calls and pthread_sigmask are async-signal-safe;
        // nothing else runs in the child.
        unsafe {
            command.pre_exec(move || {
                let mut mask: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut mask);
                if let Some(signal) = given {
                    libc::sigaddset(&mut mask, signal);
                }
                libc::pthread_sigmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut());
                Ok(())
            });
        }
        let (status, stdout, stderr) = Running::start(&mut command).finish(LIMIT);
        assert_eq!(status.code(), Some(0), "{stderr}");
        let hex = stdout
            .trim()
            .strip_prefix("SigBlk:")
            .expect("grep's line")
            .trim();
        let mask = u64::from_str_radix(hex, 16).expect("hex mask");
        let expected = given.map_or(0, |signal| 1u64 << (signal - 1));
        assert_eq!(
            mask, expected,
            "the command's SigBlk {hex}, memsample was given {expected:x}"
        );
    }
}

/// SIGPIPE as the caller left it: ignored when it was ignored (Rust's
/// runtime ignores it for memsample and `Command` restores the default for
/// a child, so this is memsample's doing), and the default otherwise. The
/// command is `grep` (a Rust fixture would ignore SIGPIPE itself).
#[test]
fn sigpipe_reaches_the_command_as_the_caller_left_it() {
    for ignored in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv = dir.path().join("mem.csv");
        let mut command = memsample();
        command
            .args(["-q", "-o"])
            .arg(&csv)
            .args(["--", "grep", "^SigIgn:", "/proc/self/status"]);
        if ignored {
            // SAFETY: signal(2) is async-signal-safe; nothing else runs in the child.
            unsafe {
                command.pre_exec(|| {
                    libc::signal(libc::SIGPIPE, libc::SIG_IGN);
                    Ok(())
                });
            }
        }
        let (status, stdout, stderr) = Running::start(&mut command).finish(LIMIT);
        assert_eq!(status.code(), Some(0), "{stderr}");
        let hex = stdout
            .trim()
            .strip_prefix("SigIgn:")
            .expect("grep's line")
            .trim();
        let mask = u64::from_str_radix(hex, 16).expect("hex mask");
        assert_eq!(
            has(mask, libc::SIGPIPE),
            ignored,
            "SIGPIPE ignored by the caller: {ignored}, the command's SigIgn: {hex}"
        );
    }
}

#[test]
fn an_ignored_sigchld_keeps_the_exit_status_and_is_ignored_for_the_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ready, go) = (dir.path().join("ready"), dir.path().join("go"));
    let mut running = Running::start(&mut with_ignored(
        libc::SIGCHLD,
        &dir.path().join("mem.csv"),
        &[
            "touch".as_ref(),
            ready.as_os_str(),
            "wait-file".as_ref(),
            go.as_os_str(),
            "exit".as_ref(),
            "3".as_ref(),
        ],
    ));
    let _cleanup = KillGroupOnDrop(running.command_pid());
    wait_until("the fixture to be ready", LIMIT, || ready.exists());
    // What the command would have had alone.
    assert!(has(
        signal_mask(running.command_pid(), "SigIgn"),
        libc::SIGCHLD
    ));
    std::fs::write(&go, b"").expect("go");
    let status = wait_child(&mut running.child, LIMIT);
    assert_eq!(status.code(), Some(3), "{}", running.stderr());
}

/// memsample as the leader of a process group of its own (as a shell or a CI
/// runner starts a job), on a fixture that counts SIGTERM, catches it and
/// cleans up for 200 ms.
fn catching_sigterm(dir: &Path) -> Running {
    let ready = dir.join("ready");
    let running = Running::start(
        memsample()
            .args(["-i", "50ms", "-o"])
            .arg(dir.join("mem.csv"))
            .arg("--")
            .arg(fixture())
            .args(["count", "TERM", "touch"])
            .arg(&ready)
            .args(["until-signal", "30000", "sleep", "200"])
            .process_group(0),
    );
    wait_until("the fixture to be ready", LIMIT, || ready.exists());
    running
}

#[test]
fn a_group_kill_reaches_the_command_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let running = catching_sigterm(dir.path());
    let _cleanup = KillGroupOnDrop(running.command_pid());
    // The command has a group of its own, so it is not in the one killed.
    assert_eq!(
        stat_field(running.command_pid(), 2),
        Some(running.command_pid().to_string())
    );
    // kill -TERM -- -PGID
    send_group(running.pid(), libc::SIGTERM);
    let (status, stdout, stderr) = running.finish(LIMIT);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(stdout.trim(), "SIGTERM 1");
}

#[test]
fn timeout_reaches_the_command_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("ready");
    // `timeout` signals its child, then its own group, which holds memsample:
    // two arrivals from one sender, one intent.
    let running = Running::start(
        Command::new("timeout")
            .args(["-s", "TERM", "0.5"])
            .arg(env!("CARGO_BIN_EXE_memsample"))
            .args(["-i", "50ms", "-o"])
            .arg(dir.path().join("mem.csv"))
            .arg("--")
            .arg(fixture())
            .args(["count", "TERM", "touch"])
            .arg(&ready)
            .args(["until-signal", "30000", "sleep", "200"]),
    );
    let _cleanup = KillGroupOnDrop(running.command_pid());
    let (status, stdout, stderr) = running.finish(LIMIT);
    // 124: timed out (the command caught the signal and exited 0).
    assert_eq!(status.code(), Some(124), "{stderr}");
    assert_eq!(stdout.trim(), "SIGTERM 1", "{stderr}");
}

#[test]
fn a_group_sigkill_of_memsample_leaves_no_command_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("ready");
    let mut running = Running::start(
        memsample()
            .args(["-i", "50ms", "-o"])
            .arg(dir.path().join("mem.csv"))
            .arg("--")
            .arg(fixture())
            .arg("touch")
            .arg(&ready)
            .args(["sleep", "60000"])
            .process_group(0),
    );
    let command = running.command_pid();
    let _cleanup = KillGroupOnDrop(command);
    wait_until("the fixture to be ready", LIMIT, || ready.exists());
    // `timeout -k`, a CI runner's last resort.
    send_group(running.pid(), libc::SIGKILL);
    let status = wait_child(&mut running.child, LIMIT);
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    wait_until("the command to die with memsample", LIMIT, || {
        !is_alive(command)
    });
}

#[test]
fn a_script_without_a_shebang_runs_under_sh_as_it_does_with_env() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("job");
    std::fs::write(&script, "echo \"ran $1\"\nexit 7\n").expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let alone = Command::new("env")
        .arg(&script)
        .arg("alone")
        .output()
        .expect("env runs");
    assert_eq!(alone.status.code(), Some(7));
    let output = memsample()
        .args(["-q", "-o"])
        .arg(dir.path().join("mem.csv"))
        .arg("--")
        .arg(&script)
        .arg("here")
        .output()
        .expect("memsample runs");
    assert_eq!(
        output.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "ran here\n");
}

#[test]
fn adopted_orphans_are_reaped_as_soon_as_they_exit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (done, go) = (dir.path().join("done"), dir.path().join("go"));
    // At 10 s no tick comes during the test: only the reaping is measured.
    let mut running = Running::start(
        memsample()
            .args(["-i", "10s", "-o"])
            .arg(dir.path().join("mem.csv"))
            .arg("--")
            .arg(fixture())
            .args(["orphans", "200", "touch"])
            .arg(&done)
            .arg("wait-file")
            .arg(&go),
    );
    let command = running.command_pid();
    let _cleanup = KillGroupOnDrop(command);
    wait_until("the orphans to be started", LIMIT, || done.exists());
    let memsample_pid = running.pid();
    let others = || {
        processes()
            .into_iter()
            .filter(|(pid, ppid, _)| *ppid == memsample_pid && *pid != command)
            .collect::<Vec<_>>()
    };
    // Each grandchild exits 2 ms after it is orphaned: memsample has only
    // its command left as a child well within a second.
    let deadline = std::time::Instant::now() + Duration::from_millis(900);
    while !others().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let left = others();
    assert!(left.is_empty(), "children of memsample left: {left:?}");
    std::fs::write(&go, b"").expect("go");
    let status = wait_child(&mut running.child, LIMIT);
    assert_eq!(status.code(), Some(0), "{}", running.stderr());
}

#[test]
fn without_a_terminal_sigtstp_and_sigcont_are_relayed_and_memsample_keeps_sampling() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let (ready, go) = (dir.path().join("ready"), dir.path().join("go"));
    let mut command = memsample();
    command
        .args(["-i", "20ms", "-o"])
        .arg(&csv)
        .arg("--")
        .arg(fixture())
        .arg("touch")
        .arg(&ready)
        .arg("wait-file")
        .arg(&go);
    // SAFETY: setsid(2) is async-signal-safe: a new session has no
    // controlling terminal, whatever the test runs under.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut running = Running::start(&mut command);
    let command = running.command_pid();
    let _cleanup = KillGroupOnDrop(command);
    wait_until("the fixture to be ready", LIMIT, || ready.exists());
    let state = |pid| stat_field(pid, 0).unwrap_or_default();

    send(running.pid(), libc::SIGTSTP);
    wait_until("the command to stop", LIMIT, || state(command) == "T");
    // No job control to mirror: memsample samples the stopped command.
    let rows = line_count(&csv);
    wait_until("sampling to go on", LIMIT, || line_count(&csv) > rows + 3);
    assert_ne!(state(running.pid()), "T");

    send(running.pid(), libc::SIGCONT);
    wait_until("the command to run again", LIMIT, || state(command) != "T");
    std::fs::write(&go, b"").expect("go");
    let status = wait_child(&mut running.child, LIMIT);
    assert_eq!(status.code(), Some(0), "{}", running.stderr());
}
