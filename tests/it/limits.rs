//! Under resource limits too small for memsample (an address-space limit,
//! `ulimit -v`; a process limit, `RLIMIT_NPROC`), memsample either records
//! the command whole or refuses before the command runs (125): it never
//! starts the command and then gives up on it. Each limit is swept over the
//! range where memsample goes from unable to start to able to record; the
//! command leaves a marker file when it runs.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::*;

const LIMIT: Duration = Duration::from_secs(20);

/// What one run under a limit did.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// memsample did not run the command (it could not start, or refused).
    Refused,
    /// The command ran and was recorded.
    Recorded,
    Wrong(String),
}

fn check_run(mut command: Command, dir: &Path, what: &str) -> Outcome {
    let marker = dir.join("ran");
    let csv = dir.join("mem.csv");
    command
        .args(["-i", "10ms", "-o"])
        .arg(&csv)
        .args(["--", "sh", "-c", "echo ran > \"$0\"; exec sleep 0.2"])
        .arg(&marker);
    let running = match command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        // Not even memsample's exec: nothing ran.
        Err(_) => return Outcome::Refused,
    };
    let output = running.wait_with_output().expect("memsample ends");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let ran = marker.exists();
    let rows = std::fs::read_to_string(&csv)
        .map(|text| text.lines().count().saturating_sub(1))
        .unwrap_or(0);
    let code = output.status.code();
    let why = match (ran, code) {
        (false, Some(0)) => "exit 0 without running the command",
        (false, _) => return Outcome::Refused,
        (true, Some(0)) if rows < 3 => "the command ran but was not sampled",
        (true, Some(0)) if stderr.contains("sampling stopped") => "sampling stopped",
        (true, Some(0)) if stderr.contains("marks") => "marks not received",
        (true, Some(0)) => return Outcome::Recorded,
        (true, _) => "the command ran, then memsample failed",
    };
    Outcome::Wrong(format!(
        "{what}: {why} ({:?}, {rows} rows): {stderr}",
        output.status
    ))
}

/// Every run refused or recorded, and the sweep reached both.
fn check_sweep(outcomes: &[Outcome]) {
    let wrong: Vec<&Outcome> = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Outcome::Wrong(_)))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(
        outcomes.contains(&Outcome::Refused),
        "no limit was too small"
    );
    assert!(
        outcomes.contains(&Outcome::Recorded),
        "no limit was enough: {outcomes:?}"
    );
}

/// Runs memsample (with `flags`) under each address-space limit of the
/// sweep: from too small for the dynamic loader to plenty, for a debug or a
/// release build, in steps smaller than one thread's default stack.
fn sweep_address_space(flags: &[&str]) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for kib in (8_000u64..=48_000).step_by(1_000) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut command = memsample();
        command.args(flags);
        // SAFETY: setrlimit(2) is async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: kib * 1024,
                    rlim_max: kib * 1024,
                };
                libc::setrlimit(libc::RLIMIT_AS, &limit);
                Ok(())
            });
        }
        outcomes.push(check_run(command, dir.path(), &format!("ulimit -v {kib}")));
    }
    outcomes
}

#[test]
fn under_an_address_space_limit_memsample_records_or_refuses_before_the_command() {
    check_sweep(&sweep_address_space(&[]));
}

/// `--phases` adds the thread that receives marks: it too is started before
/// the command, so a limit too small for it refuses the run (docs/phases.md).
#[test]
fn under_an_address_space_limit_a_phases_recording_records_or_refuses_before_the_command() {
    check_sweep(&sweep_address_space(&["--phases"]));
}

/// A uid no other process runs as, so that `RLIMIT_NPROC` counts exactly
/// memsample's threads and processes.
const LONELY_UID: u32 = 54_321;

#[test]
#[ignore = "needs root to run memsample as an unused uid; run with: cargo test --test it limits:: -- --ignored (as root)"]
fn under_a_process_limit_memsample_records_or_refuses_before_the_command() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "needs root, to switch to an unused uid"
    );
    // Without and with `--phases` (one more thread: the marks' receiver).
    for flags in [&[][..], &["--phases"][..]] {
        check_sweep(&sweep_processes(flags));
    }
}

/// Runs memsample (with `flags`) as [`LONELY_UID`] under each process limit
/// of the sweep.
fn sweep_processes(flags: &[&str]) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for nproc in 1u64..=10 {
        // The guard of the run before, re-parented, counts until its new
        // parent (init) has reaped it.
        wait_until("no process of the uid", LIMIT, || {
            !processes()
                .iter()
                .any(|(pid, _, _)| stat_uid(*pid) == Some(LONELY_UID))
        });
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let mut command = memsample();
        command.args(flags);
        // SAFETY: setrlimit, setgroups, setgid and setuid are
        // async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: nproc,
                    rlim_max: nproc,
                };
                libc::setrlimit(libc::RLIMIT_NPROC, &limit);
                libc::setgroups(0, std::ptr::null());
                if libc::setgid(LONELY_UID) != 0 || libc::setuid(LONELY_UID) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        outcomes.push(check_run(command, dir.path(), &format!("nproc {nproc}")));
    }
    outcomes
}

/// The real uid of `pid`.
fn stat_uid(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
