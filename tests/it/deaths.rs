//! Whatever kills memsample, nothing of the command's process group outlives
//! it: a SIGKILL of memsample alone, `timeout -s KILL`, a command whose
//! parent-death signal was cleared (as the exec of a set-uid program does). The
//! command's own children (`sleep` below `sh`) are the test: a group kill
//! without memsample takes them, the parent-death signal alone does not.
//! Once the command has ended normally, what it left in its group lives on,
//! as it does alone. Processes are read from `/proc`, with deadlines.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Command;
use std::time::Duration;

use crate::common::*;

const LIMIT: Duration = Duration::from_secs(20);

/// The name (`comm`) and session of `pid`.
fn name_and_session(pid: u32) -> Option<(String, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_string();
    let session = rest.split_whitespace().nth(3)?.parse().ok()?;
    Some((name, session))
}

/// The live processes below `root`.
fn descendants(root: u32) -> Vec<u32> {
    let all = processes();
    let mut found = vec![root];
    let mut index = 0;
    while index < found.len() {
        let parent = found[index];
        found.extend(
            all.iter()
                .filter(|(_, ppid, state)| *ppid == parent && !matches!(state, 'Z' | 'X'))
                .map(|(pid, _, _)| *pid),
        );
        index += 1;
    }
    found.remove(0);
    found
}

/// The `sleep` below `root`, once it runs.
fn sleep_below(root: u32) -> u32 {
    let mut sleep = None;
    wait_until("the command's sleep", LIMIT, || {
        sleep = descendants(root)
            .into_iter()
            .find(|&pid| name_and_session(pid).is_some_and(|(name, _)| name == "sleep"));
        sleep.is_some()
    });
    sleep.expect("sleep")
}

/// memsample recording `sh -c 'sleep 60; :'` (the `:` keeps `sh` from
/// exec'ing `sleep`).
fn recording_sh(dir: &std::path::Path) -> Command {
    let mut command = memsample();
    command
        .args(["-i", "50ms", "-o"])
        .arg(dir.join("mem.csv"))
        .args(["--", "sh", "-c", "sleep 60; :"]);
    command
}

#[test]
fn a_sigkill_of_memsample_alone_takes_the_commands_children_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut running = Running::start(&mut recording_sh(dir.path()));
    let command = running.command_pid();
    let _cleanup = KillGroupOnDrop(command);
    let sleep = sleep_below(command);
    send(running.pid(), libc::SIGKILL);
    let status = wait_child(&mut running.child, LIMIT);
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    wait_until("the command's child to die with memsample", LIMIT, || {
        !is_alive(sleep)
    });
    assert!(!is_alive(command));
}

#[test]
fn timeout_s_kill_leaves_nothing_of_the_command_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut running = Running::start(
        Command::new("timeout")
            .args(["-s", "KILL", "1"])
            .arg(env!("CARGO_BIN_EXE_memsample"))
            .args(["-i", "50ms", "-o"])
            .arg(dir.path().join("mem.csv"))
            .args(["--", "sh", "-c", "sleep 60; :"]),
    );
    let command = running.command_pid();
    let _cleanup = KillGroupOnDrop(command);
    let sleep = sleep_below(command);
    let status = wait_child(&mut running.child, LIMIT);
    // timeout sends SIGKILL to memsample, then to its own group, itself
    // included; 137 if it outlives that.
    assert!(
        status.signal() == Some(libc::SIGKILL) || status.code() == Some(137),
        "{status:?}: {}",
        running.stderr()
    );
    wait_until("the command's child to die with memsample", LIMIT, || {
        !is_alive(sleep)
    });
    assert!(!is_alive(command));
}

/// The exec of a set-uid program (`su`, `sudo`) clears the parent-death
/// signal memsample gives the command; the fixture clears it the same way.
#[test]
fn a_command_without_its_parent_death_signal_dies_with_memsample() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("ready");
    let mut running = Running::start(
        memsample()
            .args(["-i", "50ms", "-o"])
            .arg(dir.path().join("mem.csv"))
            .arg("--")
            .arg(fixture())
            .arg("no-death-signal")
            .arg("touch")
            .arg(&ready)
            .args(["sleep", "60000"]),
    );
    let command = running.command_pid();
    let _cleanup = KillGroupOnDrop(command);
    wait_until("the fixture to be ready", LIMIT, || ready.exists());
    send(running.pid(), libc::SIGKILL);
    let status = wait_child(&mut running.child, LIMIT);
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    wait_until("the command to die with memsample", LIMIT, || {
        !is_alive(command)
    });
}

/// A background process the command leaves in its group when it exits is
/// not killed when memsample exits after it: run alone, it would live on.
#[test]
fn what_the_command_leaves_behind_when_it_ends_lives_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = memsample();
    command
        .args(["-q", "-i", "50ms", "-o"])
        .arg(dir.path().join("mem.csv"))
        .args(["--", "sh", "-c", "sleep 60 & echo $!"]);
    // A session of its own: the guard memsample starts is found by it.
    // SAFETY: setsid(2) is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let running = Running::start(&mut command);
    let session = running.pid();
    let (status, stdout, stderr) = running.finish(LIMIT);
    assert_eq!(status.code(), Some(0), "{stderr}");
    let sleep: u32 = stdout.trim().parse().expect("the sleep's pid");
    let _cleanup = KillGroupOnDrop(sleep);
    let guards = || {
        processes()
            .into_iter()
            .filter(|(pid, _, state)| {
                !matches!(state, 'Z' | 'X')
                    && name_and_session(*pid)
                        .is_some_and(|(name, s)| name == "memsample-guard" && s == session)
            })
            .count()
    };
    wait_until("memsample's guard to be gone", LIMIT, || guards() == 0);
    assert!(is_alive(sleep), "the command's background sleep was killed");
    // SAFETY: kill(2) of the sleep this test started.
    unsafe { libc::kill(sleep as i32, libc::SIGKILL) };
}
