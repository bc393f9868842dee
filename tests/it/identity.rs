//! Process identity: a pid names a process only with its start time. Large
//! trees under a low open-file limit, a `/proc` of another pid namespace, a
//! thread id given as `--pid`, and a pid that changes hands while memsample
//! attaches.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;

const LIMIT: Duration = Duration::from_secs(60);

/// The soft limit on open files of `pid`, from `/proc/PID/limits`.
fn soft_open_files(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("Max open files");
    line.split_whitespace()
        .nth(3)
        .and_then(|soft| soft.parse().ok())
        .expect("a number")
}

/// The resident set of `pid` from `/proc/PID/statm`, in bytes.
fn rss_bytes(pid: u32) -> u64 {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse().ok())
        .expect("resident pages");
    pages * 4096
}

#[test]
fn a_tree_larger_than_the_open_file_limit_is_counted_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, ready, go) = (
        dir.path().join("out.csv"),
        dir.path().join("ready"),
        dir.path().join("go"),
    );
    // 64 files at first, 100 at most: 201 processes need 402 kept-open files.
    let mut command = Command::new("prlimit");
    command
        .args(["--nofile=64:100", "--"])
        .arg(env!("CARGO_BIN_EXE_memsample"))
        .args(["-i", "100ms", "-o"])
        .arg(&out)
        .arg("--")
        .arg(fixture())
        .args(["forks", "200", "touch"])
        .arg(&ready)
        .arg("wait-file")
        .arg(&go)
        .arg("release-forks");
    let running = Running::start(&mut command);
    let fixture_pid = running.command_pid();
    wait_until("the tree", LIMIT, || ready.exists());

    // The command runs under the limit it was given, not memsample's.
    assert_eq!(soft_open_files(fixture_pid), 64);
    assert_eq!(soft_open_files(running.pid()), 100);

    let mut tree = vec![fixture_pid];
    tree.extend(
        processes()
            .into_iter()
            .filter(|&(_, ppid, _)| ppid == fixture_pid)
            .map(|(pid, _, _)| pid),
    );
    assert_eq!(tree.len(), 201);
    let whole = |row: &Row| num(row, "procs") == 201;
    wait_until("a sample of all 201 processes", LIMIT, || {
        read_csv(&out).1.iter().any(whole)
    });
    let before: u64 = tree.iter().map(|&pid| rss_bytes(pid)).sum();
    let start = line_count(&out);
    wait_until("two more samples", LIMIT, || line_count(&out) >= start + 2);
    let after: u64 = tree.iter().map(|&pid| rss_bytes(pid)).sum();
    let (_, rows) = read_csv(&out);
    let last = rows.last().expect("a row");
    assert!(whole(last), "procs {}", num(last, "procs"));
    let rss = num(last, "rss_bytes");
    let (low, high) = (before.min(after), before.max(after));
    assert!(
        rss + 64 * 1024 >= low && rss <= high + 64 * 1024,
        "memsample {rss}, /proc {low}..{high}"
    );

    std::fs::write(&go, b"").expect("go");
    let (status, _, stderr) = running.finish(LIMIT);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("open files"), "{stderr}");
}

#[test]
fn a_proc_of_another_pid_namespace_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.csv");
    let started = dir.path().join("started");
    let output = Command::new("unshare")
        .args(["--pid", "--fork", "--"])
        .arg(env!("CARGO_BIN_EXE_memsample"))
        .arg("-o")
        .arg(&out)
        .arg("--")
        .arg(fixture())
        .arg("touch")
        .arg(&started)
        .output()
        .expect("unshare runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("memsample: /proc is not this process's pid namespace")
            && stderr.contains("unshare --mount-proc"),
        "{stderr}"
    );
    assert!(!out.exists() && !started.exists());

    // With its own /proc, the same namespace records the command.
    let output = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--"])
        .arg(env!("CARGO_BIN_EXE_memsample"))
        .args(["-i", "50ms", "-o"])
        .arg(&out)
        .arg("--")
        .arg(fixture())
        .args(["hold", "20", "sleep", "300"])
        .output()
        .expect("unshare runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let (_, rows) = read_csv(&out);
    assert!(
        rows.iter().any(|row| num(row, "rss_bytes") >= 20 * MIB),
        "{rows:?}"
    );
}

#[test]
fn a_thread_id_is_refused_with_its_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.csv");
    let mut target = Waiting::start(dir.path(), &["thread"], |command| {
        command.stdout(Stdio::piped());
    });
    let mut line = String::new();
    BufReader::new(target.child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the tid line");
    let tid: u32 = line
        .trim()
        .strip_prefix("tid ")
        .and_then(|tid| tid.parse().ok())
        .expect("tid N");
    let pid = target.pid();
    assert_ne!(tid, pid);
    let run = run(
        None,
        &[
            "--pid",
            &tid.to_string(),
            "-o",
            out.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(run.code, 125, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!("memsample: {tid} is a thread of process {pid} (fixture); attach to --pid {pid}\n")
    );
    assert!(!out.exists());
    target.release();
    wait_child(&mut target.child, LIMIT);
}

/// Inside a pid namespace of its own: attach to P with a FIFO as output (the
/// open blocks until a reader comes); meanwhile P exits and, steered through
/// `ns_last_pid`, a stranger S gets its pid. memsample pinned P before the
/// output, so it must end with P instead of recording S.
const PID_REUSE_SCRIPT: &str = r#"
set -u
cd "$DIR"
"$FIXTURE" sleep 60000 & P=$!
mkfifo fifo
"$MEMSAMPLE" -q --pid $P -o fifo -i 50ms 2>err & M=$!
n=0
until [ "$(cat /proc/$M/wchan 2>/dev/null)" = wait_for_partner ]; do
    n=$((n+1)); [ $n -lt 3000 ] || { echo "memsample never opened the FIFO"; exit 97; }
    sleep 0.01
done
kill $P; wait $P
echo $((P-1)) > /proc/sys/kernel/ns_last_pid
"$FIXTURE" sleep 60000 & S=$!
[ "$S" = "$P" ] || { echo "pid not reused: $S, not $P"; exit 99; }
cat fifo > out.csv &
( sleep 10; kill $M 2>/dev/null ) & W=$!
wait $M; echo "memsample exit $?"
kill $W $S 2>/dev/null
wait
"#;

#[test]
fn a_pid_that_changes_hands_while_the_output_opens_is_not_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new("unshare")
        .args([
            "--pid",
            "--fork",
            "--mount-proc",
            "sh",
            "-c",
            PID_REUSE_SCRIPT,
        ])
        .env("DIR", dir.path())
        .env("FIXTURE", fixture())
        .env("MEMSAMPLE", env!("CARGO_BIN_EXE_memsample"))
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let err = std::fs::read_to_string(dir.path().join("err")).unwrap_or_default();
    assert_eq!(stdout.trim(), "memsample exit 0", "stderr: {err}");
    // Nothing of the stranger was recorded: the header only.
    assert_eq!(line_count(&dir.path().join("out.csv")), 1);
}

/// The only child of `parent`, waited for.
fn only_child(parent: u32) -> u32 {
    let mut child = None;
    wait_until("a child process", LIMIT, || {
        child = processes()
            .into_iter()
            .find(|&(_, ppid, _)| ppid == parent)
            .map(|(pid, _, _)| pid);
        child.is_some()
    });
    child.expect("found")
}

/// The pid of `pid` in its own (innermost) pid namespace.
fn pid_inside(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("NSpid:"))
        .and_then(|pids| pids.split_whitespace().last())
        .and_then(|pid| pid.parse().ok())
        .expect("NSpid")
}

/// Takes a manual sample and returns its row.
fn sample_now(memsample: u32, out: &std::path::Path) -> Row {
    let before = line_count(out);
    send(memsample, libc::SIGUSR1);
    wait_until("a manual sample", LIMIT, || line_count(out) > before);
    read_csv(out).1.pop().expect("a row")
}

/// In a pid namespace of its own, memsample (its init) records a fixture
/// whose child M exits; a stranger S, outside the tree, is steered to M's
/// pid and starts a child holding 40 MiB. Neither is in the tree.
#[test]
fn a_stranger_with_an_exited_members_pid_is_not_counted_nor_its_children() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name);
    let (out, ready, go, released) = (path("out.csv"), path("ready"), path("go"), path("released"));
    let mut unshare = Command::new("unshare");
    unshare
        .args(["--pid", "--fork", "--mount-proc", "--"])
        .arg(env!("CARGO_BIN_EXE_memsample"))
        .args(["-q", "-i", "1h", "-o"])
        .arg(&out)
        .arg("--")
        .arg(fixture())
        .args(["forks", "1", "touch"])
        .arg(&ready)
        .arg("wait-file")
        .arg(&go)
        .args(["release-forks", "touch"])
        .arg(&released)
        .arg("wait-file")
        .arg(path("end"));
    let mut unshare = unshare.spawn().expect("unshare runs");
    let memsample = only_child(unshare.id());
    let command = only_child(memsample);
    wait_until("the fixture's child", LIMIT, || ready.exists());
    let member = only_child(command);
    let member_inside = pid_inside(member);
    assert_eq!(num(&sample_now(memsample, &out), "procs"), 2);

    std::fs::write(&go, b"").expect("go");
    wait_until("the child to be reaped", LIMIT, || released.exists());
    // The stranger: forked by a shell that entered the namespace from
    // outside, right after steering the next pid to the member's.
    let script = format!(
        "echo {} > /proc/sys/kernel/ns_last_pid; \"$0\" children 1 40 60000 wait & wait",
        member_inside - 1
    );
    let mut stranger_shell = Command::new("nsenter")
        .args([
            "-t",
            &memsample.to_string(),
            "--pid",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .arg(fixture())
        .spawn()
        .expect("nsenter runs");
    let shell = only_child(stranger_shell.id());
    let stranger = only_child(shell);
    assert_eq!(
        pid_inside(stranger),
        member_inside,
        "the pid was not reused"
    );
    let grandchild = only_child(stranger);
    wait_until("the stranger's child to hold its memory", LIMIT, || {
        rss_bytes(grandchild) >= 40 * MIB
    });

    let row = sample_now(memsample, &out);
    assert_eq!(num(&row, "procs"), 1, "{row:?}");
    assert!(num(&row, "rss_bytes") < 40 * MIB, "{row:?}");

    // The command ends; memsample with it, and the namespace with memsample.
    std::fs::write(path("end"), b"").expect("end");
    let status = wait_child(&mut unshare, LIMIT);
    assert_eq!(status.code(), Some(0));
    wait_child(&mut stranger_shell, LIMIT);
}
