//! Job control as a user gets it: an interactive bash in a pseudo-terminal
//! runs memsample as a job, and Ctrl-Z, `fg` and background reads behave as
//! they do for the command run alone. One Ctrl-Z stops the whole job, nested
//! memsample and a script running memsample included; the shell names the
//! stop the command got ("Stopped", "Stopped (tty input)"); `fg` of a job
//! that still runs hands the terminal to the command when it reads.
//!
//! Process states, parents and the terminal's foreground group are read from
//! `/proc` with deadlines; the shell's own reports are matched in its output.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::*;
use rexpect::reader::Options;
use rexpect::session::{PtySession, spawn_with_options};

const LIMIT: Duration = Duration::from_secs(20);

/// An interactive bash without start-up files, the session leader of a new
/// pseudo-terminal, reporting job changes at once (`set -b`). Dropped, it
/// kills every process of its session: a failed test leaves nothing behind.
struct Shell {
    session: PtySession,
    pid: u32,
}

impl Shell {
    fn start() -> Shell {
        let mut command = Command::new("bash");
        command
            .args(["--norc", "--noprofile", "-i"])
            .env("PS1", "$ ")
            .env("HISTFILE", "/dev/null")
            .env("TERM", "dumb");
        let options = Options::new()
            .timeout_ms(Some(LIMIT.as_millis() as u64))
            .strip_ansi_escape_codes(true);
        let mut session = spawn_with_options(command, options).expect("bash starts under a pty");
        // An interactive bash ignores the SIGTERM that ends the session on drop.
        session.process_mut().set_kill_timeout(Some(500));
        session
            .send_line("set -b; echo \"shell-$$-\"ready")
            .expect("typed");
        let (_, ready) = session
            .exp_regex("shell-[0-9]+-ready")
            .expect("bash runs commands");
        let pid = ready
            .trim_start_matches("shell-")
            .trim_end_matches("-ready")
            .parse()
            .expect("bash's pid");
        Shell { session, pid }
    }
}

impl std::ops::Deref for Shell {
    type Target = PtySession;
    fn deref(&self) -> &PtySession {
        &self.session
    }
}

impl std::ops::DerefMut for Shell {
    fn deref_mut(&mut self) -> &mut PtySession {
        &mut self.session
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        for (pid, _, _) in processes() {
            if stat_of(pid).get(3).and_then(|sid| sid.parse().ok()) == Some(self.pid) {
                // SAFETY: kill(2) of a process of the session this test made.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        }
    }
}

/// Fields of `/proc/PID/stat` after the command name.
fn stat_of(pid: u32) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.split_whitespace().map(str::to_string).collect())
        })
        .unwrap_or_default()
}

fn state(pid: u32) -> String {
    stat_of(pid).first().cloned().unwrap_or_default()
}

fn ppid(pid: u32) -> u32 {
    stat_of(pid)
        .get(1)
        .and_then(|ppid| ppid.parse().ok())
        .expect("ppid in stat")
}

fn pgrp(pid: u32) -> u32 {
    stat_of(pid)
        .get(2)
        .and_then(|pgrp| pgrp.parse().ok())
        .expect("pgrp in stat")
}

/// The terminal's foreground process group, as `pid` sees it.
fn foreground(pid: u32) -> u32 {
    stat_of(pid)
        .get(5)
        .and_then(|tpgid| tpgid.parse().ok())
        .unwrap_or_default()
}

/// The pid a script wrote to `path`, once it is there.
fn pid_in(path: &Path) -> u32 {
    let mut pid = None;
    wait_until("the command's pid", LIMIT, || {
        pid = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse().ok());
        pid.is_some()
    });
    pid.expect("pid")
}

/// A `sh` script that writes its pid to `pid`, then runs `body`.
fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    let text = format!(
        "echo $$ > '{pid}.tmp' && mv '{pid}.tmp' '{pid}'\n{body}\n",
        pid = dir.join("pid").display()
    );
    std::fs::write(&path, text).expect("script");
    path.display().to_string()
}

/// memsample recording `command` every 20 ms into `csv` (a command line for
/// the shell).
fn recording(csv: &Path, command: &str) -> String {
    format!(
        "'{}' -i 20ms -o '{}' -- {command}",
        env!("CARGO_BIN_EXE_memsample"),
        csv.display()
    )
}

/// The body of a command that waits for `go` to appear, then exits `code`:
/// the fixture, exec'd. Not a loop of `sleep` in `sh`: a Ctrl-Z that stops a
/// child `sh` has vforked before it execs leaves `sh` waiting for it in
/// uninterruptible sleep, never stopped, with or without memsample.
fn until_go(dir: &Path, code: i32) -> String {
    format!(
        "exec '{}' wait-file '{}' exit {code}",
        fixture().display(),
        dir.join("go").display()
    )
}

fn go(dir: &Path) {
    std::fs::write(dir.join("go"), b"").expect("go");
}

fn all_stopped(pids: &[u32]) -> bool {
    pids.iter().all(|&pid| state(pid) == "T")
}

fn none_stopped(pids: &[u32]) -> bool {
    pids.iter().all(|&pid| {
        let state = state(pid);
        !state.is_empty() && state != "T"
    })
}

#[test]
fn nested_memsample_stops_with_one_ctrl_z_and_fg_continues_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let command = script(dir, "job.sh", &until_go(dir, 3));
    let inner = recording(&dir.join("inner.csv"), &format!("sh '{command}'"));
    let mut bash = Shell::start();
    let outer_csv = dir.join("outer.csv");
    bash.send_line(&recording(&outer_csv, &inner))
        .expect("typed");
    let command = pid_in(&dir.join("pid"));
    let inner = ppid(command);
    let outer = ppid(inner);
    let shell = ppid(outer);
    wait_until("the terminal to be the command's", LIMIT, || {
        foreground(command) == pgrp(command)
    });

    bash.send_control('z').expect("Ctrl-Z");
    bash.exp_string("Stopped")
        .expect("the shell reports the job stopped");
    wait_until("the whole job to stop", LIMIT, || {
        all_stopped(&[command, inner, outer])
    });
    assert_eq!(
        foreground(command),
        pgrp(shell),
        "the shell has the terminal"
    );
    // Stopped by SIGTSTP, as the command was (a SIGSTOP would show as
    // "Stopped (signal)").
    bash.send_line("jobs -l").expect("typed");
    bash.exp_regex("[0-9]+ Stopped +'")
        .expect("the shell reports a stop by SIGTSTP");

    bash.send_line("fg").expect("typed");
    wait_until("the whole job to run", LIMIT, || {
        none_stopped(&[command, inner, outer])
    });
    wait_until("the terminal to be the command's again", LIMIT, || {
        foreground(command) == pgrp(command)
    });
    go(dir);
    bash.exp_regex(&format!(
        "exited with code 3[^\n]*; CSV in {}",
        outer_csv.display()
    ))
    .expect("the outer memsample's summary");
}

#[test]
fn a_script_running_memsample_stops_with_one_ctrl_z() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let command = script(dir, "job.sh", &until_go(dir, 4));
    let outer = dir.join("outer.sh");
    std::fs::write(
        &outer,
        format!(
            "{}\necho \"script saw $?\"\n",
            recording(&dir.join("mem.csv"), &format!("sh '{command}'"))
        ),
    )
    .expect("script");
    let mut bash = Shell::start();
    bash.send_line(&format!("bash '{}'", outer.display()))
        .expect("typed");
    let command = pid_in(&dir.join("pid"));
    let memsample = ppid(command);
    let script = ppid(memsample);
    wait_until("the terminal to be the command's", LIMIT, || {
        foreground(command) == pgrp(command)
    });

    bash.send_control('z').expect("Ctrl-Z");
    bash.exp_string("Stopped")
        .expect("the shell reports the job stopped");
    wait_until(
        "the script, memsample and the command to stop",
        LIMIT,
        || all_stopped(&[command, memsample, script]),
    );

    bash.send_line("fg").expect("typed");
    wait_until("the whole job to run", LIMIT, || {
        none_stopped(&[command, memsample, script])
    });
    wait_until("the terminal to be the command's again", LIMIT, || {
        foreground(command) == pgrp(command)
    });
    go(dir);
    bash.exp_string("script saw 4")
        .expect("the command's status");
}

#[test]
fn a_background_read_stops_the_job_for_tty_input_and_fg_lets_it_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let command = script(dir, "job.sh", "read x; echo \"got $x\"");
    let mut bash = Shell::start();
    bash.send_line(&format!(
        "{} &",
        recording(&dir.join("mem.csv"), &format!("sh '{command}'"))
    ))
    .expect("typed");
    let command = pid_in(&dir.join("pid"));
    let memsample = ppid(command);
    bash.exp_string("Stopped")
        .expect("the shell reports the job stopped");
    wait_until("the command and memsample to stop", LIMIT, || {
        all_stopped(&[command, memsample])
    });
    // The shell names the signal the job was stopped by: the command's.
    bash.send_line("jobs -l").expect("typed");
    bash.exp_string("Stopped (tty input)")
        .expect("the shell reports a stop for terminal input");

    bash.send_line("fg").expect("typed");
    wait_until("the terminal to be the command's", LIMIT, || {
        foreground(command) == pgrp(command) && none_stopped(&[command, memsample])
    });
    bash.send_line("hello").expect("typed");
    bash.exp_string("got hello")
        .expect("the command read the line");
}

#[test]
fn fg_of_a_running_job_hands_the_terminal_to_the_command_when_it_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let body = format!(
        "'{}' wait-file '{}'; read x; echo \"got $x\"",
        fixture().display(),
        dir.join("go").display()
    );
    let command = script(dir, "job.sh", &body);
    let mut bash = Shell::start();
    bash.send_line(&format!(
        "{} &",
        recording(&dir.join("mem.csv"), &format!("sh '{command}'"))
    ))
    .expect("typed");
    let command = pid_in(&dir.join("pid"));
    let memsample = ppid(command);
    // `fg` of a running job: the shell gives memsample's group the terminal
    // and sends no SIGCONT.
    bash.send_line("fg").expect("typed");
    wait_until("the terminal to be memsample's", LIMIT, || {
        foreground(memsample) == pgrp(memsample)
    });
    go(dir);
    // The read raises SIGTTIN; memsample, in the foreground, hands over.
    wait_until("the terminal to be the command's", LIMIT, || {
        foreground(command) == pgrp(command) && none_stopped(&[command, memsample])
    });
    bash.send_line("hello").expect("typed");
    bash.exp_string("got hello")
        .expect("the command read the line");
}
