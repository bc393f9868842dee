//! Faults and bad input, each with the outcome the docs promise
//! (docs/exit-status.md): output trouble mid-run (a file size limit, a reader
//! of `-o -` that goes away), targets that exit or turn into zombies between
//! two reads, descendants that vanish mid-read, a command that ignores SIGTERM,
//! a stop while ticks are slow, another user's process, and an output directory
//! memsample may not write to. (memsample SIGKILLed mid-run is in the `record`
//! module.)

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;

const LIMIT: Duration = Duration::from_secs(20);

/// How long a stopped writer is watched to show that it stays stopped: 50
/// ticks at the 2 ms interval these tests use.
const QUIET_WINDOW: Duration = Duration::from_millis(100);

/// Checks that a recording (CSV or JSON Lines) holds only complete rows
/// and returns them.
fn complete_rows(path: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path).expect("csv");
    assert!(
        text.ends_with('\n'),
        "{}: ends with a partial row: {:?}",
        path.display(),
        &text[text.len().saturating_sub(80)..]
    );
    let (_, rows) = parse_recording(&text);
    rows
}

/// What is wrong when some rows have no memory: a zero is never a real
/// sample of a user process (an exited one is not sampled at all). The
/// `exit` row says what is left after the end: often nothing.
fn zero_rows(rows: &[Row], what: &str) -> Option<String> {
    let zero: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, row)| row["trigger"] != "exit")
        .filter(|(_, row)| num(row, "rss_bytes") == 0 || num(row, "vsz_bytes") == 0)
        .map(|(index, _)| index)
        .collect();
    let first = &rows[*zero.first()?];
    Some(format!(
        "{what}: {} of {} rows have no memory, the first at row {} ({}): {first:?}",
        zero.len(),
        rows.len(),
        zero[0],
        first["trigger"]
    ))
}

/// Fails with every problem found, one per line.
fn assert_no_problems(problems: &[String]) {
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// memsample's stderr lines, without the start line and the summary: what
/// is left are errors and warnings.
fn non_summary_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| {
            !(line.starts_with("memsample: recording ")
                || line.contains(" samples over ")
                || line.contains(" sample over ")
                || line.starts_with("memsample: peak RSS ")
                || line.starts_with("memsample: peak PSS ")
                || line.contains("; CSV in ")
                || line.contains("; JSON Lines in ")
                || line.starts_with("memsample: warning: --pss every "))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Output trouble mid-run.

/// A file size limit (RLIMIT_FSIZE) hit after some rows: one line naming the
/// file, sampling stops, the command is left to finish, memsample exits
/// with its status (125 when it is 0), and the recording holds complete
/// rows, in either format.
#[test]
fn a_full_output_file_mid_run() {
    const FILE_LIMIT: u64 = 4096;
    for (command_code, name) in [(3, "mem.csv"), (0, "mem.csv"), (0, "mem.jsonl")] {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv = dir.path().join(name);
        let go = dir.path().join("go");
        let done = dir.path().join("done");
        let mut command = memsample();
        command
            .args(["-q", "-i", "2ms", "-o"])
            .arg(&csv)
            .arg("--")
            .arg(fixture())
            .arg("wait-file")
            .arg(&go)
            .arg("touch")
            .arg(&done)
            .args(["exit", &command_code.to_string()]);
        limit_file_size(&mut command, FILE_LIMIT);
        let mut running = Running::start(&mut command);
        wait_until("the error line", LIMIT, || !running.stderr().is_empty());
        // Sampling has stopped: no more writes while the command goes on.
        let writes = write_syscalls(running.pid());
        std::thread::sleep(QUIET_WINDOW);
        assert_eq!(
            write_syscalls(running.pid()),
            writes,
            "memsample kept writing after the output failed"
        );
        assert!(
            running.child.try_wait().expect("try_wait").is_none(),
            "memsample ended before the command"
        );
        std::fs::write(&go, b"").expect("go");
        let (status, _, stderr) = running.finish(LIMIT);
        let expected = if command_code == 0 { 125 } else { command_code };
        assert_eq!(
            status.code(),
            Some(expected),
            "command exited {command_code}: {status:?} {stderr}"
        );
        assert!(done.exists(), "the command did not run to its end");
        // One line, naming the file and the reason.
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!("memsample: cannot write to {}: ", csv.display())),
            "{stderr}"
        );
        assert!(stderr.contains("File too large"), "{stderr}");
        let size = std::fs::metadata(&csv).expect("csv").len();
        assert!(size <= FILE_LIMIT, "{size}");
        let rows = complete_rows(&csv);
        // It failed mid-run, not at the header: about 50 rows fit (about
        // 20 of JSON Lines, whose rows are longer).
        assert!(rows.len() >= 15, "{} rows", rows.len());
        assert!(
            size + 250 > FILE_LIMIT,
            "the file was cut further back than the last complete row: {size} bytes"
        );
    }
}

/// `-o -` into a pipe whose reader goes away: memsample stops writing at
/// once, says so in one line, the command finishes, and memsample exits
/// with the command's status, 125 as the command exited 0.
#[test]
fn the_reader_of_stdout_goes_away() {
    let dir = tempfile::tempdir().expect("tempdir");
    let go = dir.path().join("go");
    let done = dir.path().join("done");
    let mut child = memsample()
        .args(["-q", "-i", "2ms", "-o", "-", "--"])
        .arg(fixture())
        .arg("wait-file")
        .arg(&go)
        .arg("touch")
        .arg(&done)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("memsample starts");
    let stderr = Arc::new(Mutex::new(String::new()));
    let collected = Arc::clone(&stderr);
    let mut source = child.stderr.take().expect("stderr");
    let collector = std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while let Ok(n) = source.read(&mut buf) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            collected.lock().expect("lock").push_str(&text);
        }
    });
    // Read the header and one row, then go away (as `head -2` does).
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first_lines = String::new();
    for _ in 0..2 {
        reader.read_line(&mut first_lines).expect("a line");
    }
    assert!(
        first_lines.starts_with(&layout_header(false, false)),
        "{first_lines}"
    );
    drop(reader);

    wait_until("the line about the reader", LIMIT, || {
        !stderr.lock().expect("lock").is_empty()
    });
    let writes = write_syscalls(child.id());
    std::thread::sleep(QUIET_WINDOW);
    assert_eq!(
        write_syscalls(child.id()),
        writes,
        "memsample kept writing after the reader went away"
    );
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "memsample ended before the command"
    );
    std::fs::write(&go, b"").expect("go");
    let status = wait_child(&mut child, LIMIT);
    collector.join().expect("stderr collected");
    let stderr = stderr.lock().expect("lock").clone();
    assert_eq!(status.code(), Some(125), "{status:?}: {stderr}");
    assert!(done.exists(), "the command did not run to its end");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("memsample: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("failed printing"), "{stderr}");
}

/// The same through a shell pipeline, `memsample -o - ... | head -2`, with
/// a command that exits 4: its status comes back, and head got the header
/// and one complete row.
#[test]
fn the_reader_of_stdout_is_head() {
    let dir = tempfile::tempdir().expect("tempdir");
    let status_file = dir.path().join("status");
    let output = Command::new("sh")
        .arg("-c")
        .arg(r#"{ "$0" -q -i 2ms -o - -- "$1" sleep 300 exit 4; echo $? > "$2"; } | head -2"#)
        .arg(env!("CARGO_BIN_EXE_memsample"))
        .arg(fixture())
        .arg(&status_file)
        .output()
        .expect("sh runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let (header, rows) = parse_csv(&stdout);
    assert_eq!(header.join(","), layout_header(false, false));
    assert_eq!(rows.len(), 1, "{stdout}");
    assert_eq!(
        std::fs::read_to_string(&status_file)
            .expect("memsample's status")
            .trim(),
        "4",
        "{stderr}"
    );
    assert!(stderr.lines().count() <= 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("failed printing"), "{stderr}");
}

// ---------------------------------------------------------------------------
// Targets that end while they are being read.

/// The start sample is "taken as soon as the command has been exec'd": it
/// must show the program, not an address space still being set up (a
/// process never has 0 bytes resident). The command lives 50 ms: long
/// enough that even on a loaded machine the start row is taken before it
/// exits (a command gone before its first sample has no rows at all).
#[test]
fn the_start_row_shows_the_loaded_program() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let mut problems = Vec::new();
    for run in 0..50 {
        let output = memsample()
            .args(["-q", "-i", "1h", "--samples", "1", "-o"])
            .arg(&csv)
            .arg("--")
            .arg(fixture())
            .args(["sleep", "50"])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let rows = complete_rows(&csv);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["trigger"], "start");
        problems.extend(zero_rows(&rows, &format!("run {run}")));
    }
    assert_no_problems(&problems);
}

/// A target that exits between two reads, at a 1 ms interval: its memory
/// (200 MiB) takes a few ms to be released, during which `/proc` still lists
/// it, with no address space. Complete rows, none with zero bytes.
#[test]
fn a_target_exiting_between_two_reads_leaves_no_zero_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut problems = Vec::new();
    for flags in [&[][..], &["--per-process"], &["--backend", "sysinfo"]] {
        let csv = dir.path().join("mem.csv");
        let output = memsample()
            .args(["-q", "-i", "1ms", "-o"])
            .arg(&csv)
            .args(flags)
            .arg("--")
            .arg(fixture())
            .args(["hold", "200", "sleep", "30"])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(0), "{flags:?}: {output:?}");
        assert!(output.stderr.is_empty(), "{flags:?}: {output:?}");
        let rows = complete_rows(&csv);
        assert!(rows.len() >= 5, "{flags:?}: {} rows", rows.len());
        // The start row is checked on its own above; here the end matters.
        problems.extend(zero_rows(&rows[1..], &format!("{flags:?}")));
    }
    assert_no_problems(&problems);
}

/// Attach mode: a target that exits and stays a zombie (its parent, this
/// test, does not reap it yet) ends the recording with status 0, and no
/// row samples the zombie or the exiting process as 0 bytes.
#[test]
fn an_attached_target_that_becomes_a_zombie() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut problems = Vec::new();
    for backend in ["proc", "sysinfo"] {
        let csv = dir.path().join(format!("mem-{backend}.csv"));
        let mut target = Waiting::start(dir.path(), &["hold", "100"], |_| {});
        let running = Running::start(
            memsample()
                .args(["-i", "1ms", "--backend", backend, "-o"])
                .arg(&csv)
                .args(["--pid", &target.pid().to_string()]),
        );
        wait_until("a few rows", LIMIT, || line_count(&csv) >= 5);
        target.release();
        let (status, _, stderr) = running.finish(LIMIT);
        // memsample ended while the target is a zombie: not reaped yet.
        assert!(is_zombie(target.pid()), "{backend}: not a zombie");
        assert_eq!(status.code(), Some(0), "{backend}: {stderr}");
        assert!(
            stderr.contains(&format!("pid {} exited", target.pid())),
            "{backend}: {stderr}"
        );
        assert_eq!(non_summary_lines(&stderr), Vec::<&str>::new(), "{backend}");
        wait_child(&mut target.child, LIMIT);
        let rows = complete_rows(&csv);
        assert!(rows.iter().all(|row| row["trigger"] != "stop"));
        problems.extend(zero_rows(&rows, backend));
    }
    assert_no_problems(&problems);
}

/// Descendants with lives of a few ms, at a 1 ms interval: many vanish while
/// they are being read, and many are caught being born. No error or
/// warning, no zero rows, exit 0; with `--pss`, no process is said to be
/// unreadable (a process that vanished is skipped, it is not another user's).
#[test]
fn descendants_that_vanish_mid_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let steps = [
        "hold", "2", "children", "12", "1", "1", "wait", "children", "12", "1", "3", "wait",
        "children", "12", "1", "0", "sleep", "5", "wait",
    ];
    let mut problems = Vec::new();
    for flags in [
        &[][..],
        &["--per-process"],
        &["--per-process", "--pss"],
        &["--pss"],
    ] {
        let csv = dir.path().join("mem.csv");
        let output = memsample()
            .args(["-i", "1ms", "-o"])
            .arg(&csv)
            .args(flags)
            .arg("--")
            .arg(fixture())
            .args(steps)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{flags:?}: {stderr}");
        let unexpected = non_summary_lines(&stderr);
        if !unexpected.is_empty() {
            problems.push(format!(
                "{flags:?}: {} unexpected stderr lines, the first: {}",
                unexpected.len(),
                unexpected[0]
            ));
        }
        let rows = complete_rows(&csv);
        let most = if flags.contains(&"--per-process") {
            let mut per_sample = std::collections::HashMap::<&str, u64>::new();
            for row in &rows {
                *per_sample.entry(row["elapsed_s"].as_str()).or_default() += 1;
            }
            per_sample.values().copied().max().unwrap_or(0)
        } else {
            rows.iter().map(|row| num(row, "procs")).max().unwrap_or(0)
        };
        assert!(most >= 2, "{flags:?}: the children were never seen");
        // The main process's start row is checked on its own above.
        let first_sample = rows
            .iter()
            .position(|row| row["trigger"] != "start")
            .unwrap_or(rows.len());
        problems.extend(zero_rows(&rows[first_sample..], &format!("{flags:?}")));
        if flags.contains(&"--pss") {
            let without = rows[first_sample..]
                .iter()
                .filter(|row| row["pss_bytes"].is_empty())
                .count();
            if without > 0 {
                problems.push(format!(
                    "{flags:?}: {without} of {} rows have an empty pss_bytes",
                    rows.len()
                ));
            }
        }
    }
    assert_no_problems(&problems);
}

// ---------------------------------------------------------------------------
// Signals while things are slow or ignored.

/// A command that ignores SIGTERM: memsample, sent SIGTERM by `kill`,
/// relays it (to no effect), keeps waiting and keeps sampling, and exits
/// with the command's status once it ends by itself.
#[test]
fn a_command_that_ignores_sigterm_is_waited_for_and_sampled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("ready");
    let go = dir.path().join("go");
    let done = dir.path().join("done");
    let csv = dir.path().join("mem.csv");
    let mut running = Running::start(
        memsample()
            .args(["-i", "10ms", "-o"])
            .arg(&csv)
            .arg("--")
            .arg(fixture())
            .args(["ignore", "TERM", "touch"])
            .arg(&ready)
            .arg("wait-file")
            .arg(&go)
            .arg("touch")
            .arg(&done)
            .args(["exit", "5"]),
    );
    wait_until("the fixture to be ready", LIMIT, || ready.exists());
    let command = running.command_pid();
    send(running.pid(), libc::SIGTERM);
    let rows_at_signal = line_count(&csv) - 1;
    // 10 more rows at 10 ms: sampling goes on after the signal.
    wait_until("rows after the signal", LIMIT, || {
        line_count(&csv) > rows_at_signal + 10
    });
    assert!(
        running.child.try_wait().expect("try_wait").is_none(),
        "memsample ended while the command lives"
    );
    assert!(is_alive(command));
    std::fs::write(&go, b"").expect("go");
    let (status, _, stderr) = running.finish(LIMIT);
    assert_eq!(status.code(), Some(5), "{stderr}");
    assert!(done.exists());
    assert!(stderr.contains("exited with code 5"), "{stderr}");
    let rows = complete_rows(&csv);
    let at_signal = float(&rows[rows_at_signal - 1], "elapsed_s");
    let last = float(rows.last().expect("rows"), "elapsed_s");
    assert!(last - at_signal >= 0.1, "{at_signal} -> {last}");
}

/// Attach mode, `--pss` at 1 ms on a tree of about 1 GiB: every tick takes
/// many ms (reading smaps_rollup walks page tables). SIGTERM still ends
/// memsample promptly, with a `stop` row, and the tree is left alone.
#[test]
fn stopped_while_ticks_are_slow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("ready");
    let go = dir.path().join("go");
    let csv = dir.path().join("mem.csv");
    let mut target = Command::new(fixture())
        .args(["children", "6", "100", "60000", "hold", "200", "touch"])
        .arg(&ready)
        .arg("wait-file")
        .arg(&go)
        .process_group(0)
        .spawn()
        .expect("fixture");
    let _cleanup = KillGroupOnDrop(target.id());
    wait_until("the target to be ready", LIMIT, || ready.exists());
    let running = Running::start(
        memsample()
            .args(["-i", "1ms", "--pss", "-o"])
            .arg(&csv)
            .args(["--pid", &target.id().to_string()]),
    );
    // Wait until the whole tree is in the rows, its memory touched.
    wait_until("the whole tree", LIMIT, || {
        let text = std::fs::read_to_string(&csv).unwrap_or_default();
        text.lines().rev().nth(1).is_some_and(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            fields.len() == 10
                && fields[3] == "7"
                && fields[4].parse::<u64>().is_ok_and(|rss| rss > 700 * MIB)
        })
    });
    let rows_before = complete_rows(&csv).len();
    let stopped = Instant::now();
    send(running.pid(), libc::SIGTERM);
    let (status, _, stderr) = running.finish(LIMIT);
    let took = stopped.elapsed();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{stderr}");
    assert!(
        stderr.contains("ticks skipped"),
        "the ticks were not slow: {stderr}"
    );
    let rows = complete_rows(&csv);
    // Promptly means: the tick in flight finishes, the `stop` row is taken,
    // and nothing else. At most one more row may have landed between
    // counting and the signal. No backlog of skipped ticks is worked off.
    assert!(
        rows.len() <= rows_before + 3,
        "{} rows before the signal, {} after, took {took:?}: {:?}",
        rows_before,
        rows.len(),
        rows.iter()
            .map(|r| (r["elapsed_s"].clone(), r["trigger"].clone()))
            .collect::<Vec<_>>()
    );
    // And in time: a tick's length is whatever this machine's load makes it,
    // so the bound is in ticks as memsample measured them (the longest gap
    // between rows), not in seconds alone.
    let longest_tick = rows
        .windows(2)
        .map(|pair| float(&pair[1], "elapsed_s") - float(&pair[0], "elapsed_s"))
        .fold(0.0, f64::max);
    let bound = Duration::from_secs_f64(1.0 + 3.0 * longest_tick);
    assert!(
        took < bound,
        "took {took:?} to stop, longest tick {longest_tick:.3} s"
    );
    let last = rows.last().expect("rows");
    assert_eq!(last["trigger"], "stop");
    assert_eq!(num(last, "procs"), 7);
    assert!(num(last, "pss_bytes") > 700 * MIB, "{last:?}");
    // The tree is untouched.
    assert!(is_alive(target.id()));
    std::fs::write(&go, b"").expect("go");
    assert_eq!(wait_child(&mut target, LIMIT).code(), Some(0));
}

// ---------------------------------------------------------------------------
// Bad input.

/// Why `as_nobody` gave no command: it printed the reason above.
const AS_NOBODY: &str = "cannot run as nobody here (the reason is above): needs root, setpriv \
                         and a path nobody can reach";

/// A directory everybody may enter, for files that `nobody` reads or writes.
fn open_dir(parent: &Path, name: &str, mode: u32) -> std::path::PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).expect("chmod");
    dir
}

/// The realistic case of another user's process: memsample run by `nobody`
/// attached to a root-owned process. RSS is readable, PSS is not: an empty
/// pss_bytes field in every row and one warning naming the process.
#[test]
#[ignore = "needs root and setpriv (util-linux) to run memsample as nobody; run with: cargo test --test it faults:: -- --ignored (as root)"]
fn attached_to_another_users_process() {
    let mut command = as_nobody(env!("CARGO_BIN_EXE_memsample")).expect(AS_NOBODY);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let shared = open_dir(dir.path(), "shared", 0o777);
    assert!(
        nobody_may(&["-w".as_ref(), shared.as_os_str()]),
        "nobody cannot reach {}",
        shared.display()
    );
    let csv = shared.join("mem.csv");
    let mut target = Waiting::start(dir.path(), &["hold", "20"], |command| {
        command.process_group(0);
    });
    let _cleanup = KillGroupOnDrop(target.pid());
    let output = command
        .args(["-i", "100ms", "--samples", "3", "--pss", "-o"])
        .arg(&csv)
        .args(["--pid", &target.pid().to_string()])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let warnings: Vec<&str> = non_summary_lines(&stderr);
    assert_eq!(
        warnings,
        [format!(
            "memsample: warning: cannot read the PSS of process {} (fixture): its pss_bytes are empty",
            target.pid()
        )],
        "{stderr}"
    );
    let rows = complete_rows(&csv);
    assert_eq!(rows.len(), 3);
    for row in &rows {
        let rss = num(row, "rss_bytes");
        assert!((20 * MIB..30 * MIB).contains(&rss), "{row:?}");
        assert_eq!(row["pss_bytes"], "", "{row:?}");
        assert_eq!(row["uss_bytes"], "", "{row:?}");
        // The kernel's high-water mark (in /proc/PID/status) is readable too.
        assert!(num(row, "peak_rss_bytes") >= rss);
    }
    target.release();
    assert_eq!(wait_child(&mut target.child, LIMIT).code(), Some(0));
}

/// `--reset-peaks` attached to another user's process (memsample run by
/// `nobody`, the target root's): its high-water mark cannot be reset. Each
/// mark is still a row; one warning for the whole recording.
#[test]
#[ignore = "needs root and setpriv (util-linux) to run memsample as nobody; run with: cargo test --test it faults:: -- --ignored (as root)"]
fn reset_peaks_of_another_users_process_is_one_warning() {
    let mut command = as_nobody(env!("CARGO_BIN_EXE_memsample")).expect(AS_NOBODY);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let shared = open_dir(dir.path(), "shared", 0o777);
    let csv = shared.join("mem.csv");
    let socket = shared.join("control");
    let go = shared.join("go");
    // Root's fixture: once memsample's socket is there and the start row
    // written, two marks; it holds 20 MiB and waits for the test.
    let mut target = Command::new(fixture())
        .env("MEMSAMPLE_CONTROL", &socket)
        .args(["hold", "20", "wait-file"])
        .arg(&socket)
        .arg("wait-lines")
        .arg(&csv)
        .args(["2", "mark", "a", "mark", "b", "wait-file"])
        .arg(&go)
        .process_group(0)
        .spawn()
        .expect("the fixture starts");
    let _cleanup = KillGroupOnDrop(target.id());
    let running = Running::start(
        command
            .args(["-i", "1h", "--reset-peaks", "--control"])
            .arg(&socket)
            .arg("-o")
            .arg(&csv)
            .args(["--pid", &target.id().to_string()]),
    );
    let lines = || std::fs::read_to_string(&csv).map_or(0, |text| text.lines().count());
    wait_until("the two mark rows", LIMIT, || lines() >= 4);
    send(running.pid(), libc::SIGTERM);
    let (status, _, stderr) = running.finish(LIMIT);
    // Attach mode: memsample dies of the signal that stopped it.
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{stderr}");
    let warnings: Vec<&str> = non_summary_lines(&stderr)
        .into_iter()
        .filter(|line| line.contains("--reset-peaks"))
        .collect();
    assert_eq!(
        warnings,
        [
            "memsample: warning: --reset-peaks: cannot reset the high-water mark of 1 process of \
          another user (permission denied): its peaks are not per phase (said once)"
        ],
        "{stderr}"
    );
    let rows = complete_rows(&csv);
    let marks: Vec<&str> = rows
        .iter()
        .filter(|row| row["trigger"] == "mark")
        .map(|row| row["phase"].as_str())
        .collect();
    assert_eq!(marks, ["a", "b"]);
    std::fs::write(&go, b"").expect("go");
    assert_eq!(wait_child(&mut target, LIMIT).code(), Some(0));
}

/// `-o` in a directory memsample may not write to (run as `nobody`, the
/// directory root's and 0755): exit 125, one line naming the file and the
/// reason, and the command never started.
#[test]
#[ignore = "needs root and setpriv (util-linux) to run memsample as nobody; run with: cargo test --test it faults:: -- --ignored (as root)"]
fn an_output_directory_that_is_not_writable() {
    let mut command = as_nobody(env!("CARGO_BIN_EXE_memsample")).expect(AS_NOBODY);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let closed = open_dir(dir.path(), "closed", 0o755);
    let shared = open_dir(dir.path(), "shared", 0o777);
    let csv = closed.join("mem.csv");
    let marker = shared.join("ran");
    // The fixture itself could create the marker as nobody.
    let mut check = as_nobody(fixture()).expect(AS_NOBODY);
    let checked = check
        .arg("touch")
        .arg(shared.join("can-write"))
        .status()
        .is_ok_and(|status| status.success());
    assert!(checked, "nobody cannot write to {}", shared.display());

    let output = command
        .arg("-o")
        .arg(&csv)
        .arg("--")
        .arg(fixture())
        .arg("touch")
        .arg(&marker)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(125), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "memsample: cannot create {}: Permission denied\n",
            csv.display()
        )
    );
    assert!(!marker.exists(), "the command ran");
    assert!(!csv.exists());
}
