//! Process identity: a pid names a process only with its start time. Large
//! trees under a low open-file limit, a `/proc` of another pid namespace, a
//! thread id given as `--pid`, and a pid that changes hands while memsample
//! attaches.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

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
