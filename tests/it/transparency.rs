//! memsample is transparent under every parent: whatever its stderr and
//! stdout are (full, closed, a pipe nobody reads, a log opened for
//! appending), the command's status comes back and the CSV is whole.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common::*;

const LIMIT: Duration = Duration::from_secs(30);

/// Closes `fds` in the child before memsample is executed.
fn close_in_child(command: &mut Command, fds: &'static [i32]) {
    // SAFETY: close(2) only, which is async-signal-safe, between fork and exec.
    unsafe {
        command.pre_exec(move || {
            for &fd in fds {
                libc::close(fd);
            }
            Ok(())
        });
    }
}

/// Runs memsample to its end (killed past [`LIMIT`]), its stderr collected
/// when it is piped.
fn run(command: &mut Command) -> Output {
    let mut child = command.spawn().expect("memsample starts");
    let stderr = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = std::io::Read::read_to_end(&mut pipe, &mut text);
            text
        })
    });
    let status = wait_child(&mut child, LIMIT);
    let stderr = stderr
        .map(|reader| reader.join().expect("stderr reader"))
        .unwrap_or_default();
    Output {
        status,
        stdout: Vec::new(),
        stderr,
    }
}

/// The CSV is a header and complete rows, with nothing else in it.
fn assert_clean_csv(path: &Path) {
    let text = std::fs::read_to_string(path).expect("the CSV");
    assert!(
        text.starts_with(&format!("{}\n", layout_header(false, false))),
        "{text}"
    );
    assert!(!text.contains("memsample"), "stray text in the CSV: {text}");
    let (_, rows) = parse_csv(&text);
    assert!(!rows.is_empty(), "no rows: {text}");
}

fn recording(csv: &Path) -> Command {
    let mut command = memsample();
    command
        .args(["-i", "50ms", "-o"])
        .arg(csv)
        .arg("--")
        .arg(fixture())
        .args(["sleep", "300", "exit", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

#[test]
fn a_full_stderr_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let full = OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let output = run(recording(&csv).stderr(full));
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    assert_clean_csv(&csv);
}

#[test]
fn a_closed_stderr_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let mut command = recording(&csv);
    close_in_child(&mut command, &[2]);
    let output = run(&mut command);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    assert_clean_csv(&csv);
}

#[test]
fn a_stderr_pipe_without_reader_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let output = run(recording(&csv).stderr(writer));
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    assert_clean_csv(&csv);
}

#[test]
fn the_command_inherits_closed_descriptors_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let mut command = memsample();
    command
        .args(["-q", "-o"])
        .arg(&csv)
        .args(["--", "sh", "-c"])
        // `test` is built into sh: /proc/self is the command itself.
        .arg("test -e /proc/self/fd/0 && exit 4; test -e /proc/self/fd/2 && exit 5; exit 3")
        .stdout(Stdio::null());
    close_in_child(&mut command, &[0, 2]);
    let output = run(&mut command);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let text = std::fs::read_to_string(&csv).expect("the CSV");
    assert!(text.starts_with(&layout_header(false, false)), "{text}");
    assert!(!text.contains("memsample"), "{text}");
}

#[test]
fn csv_to_a_closed_stdout_is_refused_before_the_command_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("started");
    for output in ["-", "/dev/stdout", "/proc/self/fd/1"] {
        let mut command = memsample();
        command
            .args(["-o", output, "--"])
            .arg(fixture())
            .arg("touch")
            .arg(&marker);
        close_in_child(&mut command, &[1]);
        let result = run(command.stderr(Stdio::piped()));
        assert_eq!(result.status.code(), Some(125), "{output}: {result:?}");
        assert_eq!(
            String::from_utf8_lossy(&result.stderr),
            "memsample: cannot write the CSV to standard output: Bad file descriptor\n"
        );
        assert!(!marker.exists(), "the command ran");
    }
}

/// A log the shell opened for appending (`>> log`, `2>> log`).
fn appending_log(path: &Path) -> File {
    let mut log = File::create(path).expect("log");
    log.write_all(b"earlier line\n").expect("written");
    OpenOptions::new()
        .append(true)
        .open(path)
        .expect("log for appending")
}

#[test]
fn csv_to_dev_stdout_or_stderr_appends_to_the_inherited_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (output, fd) in [
        ("/dev/stdout", 1),
        ("/dev/fd/1", 1),
        ("/proc/self/fd/1", 1),
        ("/dev/stderr", 2),
        ("/dev/fd/2", 2),
        ("/proc/self/fd/2", 2),
    ] {
        let path = dir.path().join("log");
        let log = appending_log(&path);
        let mut command = memsample();
        command.args(["-q", "--samples", "2", "-i", "20ms", "-o", output, "--"]);
        command.arg(fixture()).args(["sleep", "200"]);
        if fd == 1 {
            command.stdout(log).stderr(Stdio::null());
        } else {
            command.stderr(log).stdout(Stdio::null());
        }
        let result = run(&mut command);
        assert_eq!(result.status.code(), Some(0), "{output}: {result:?}");
        let text = std::fs::read_to_string(&path).expect("log");
        let csv = text
            .strip_prefix("earlier line\n")
            .unwrap_or_else(|| panic!("{output} truncated the log: {text:?}"));
        let (header, rows) = parse_csv(csv);
        assert_eq!(header.join(","), layout_header(false, false), "{output}");
        assert_eq!(rows.len(), 2, "{output}: {csv}");
    }
}

fn one_line_failure(command: &mut Command, code: i32) -> String {
    let output = run(command.stderr(Stdio::piped()).stdout(Stdio::null()));
    assert_eq!(output.status.code(), Some(code), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn plot_problems_show_before_the_command_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("started");
    let svg = dir.path().join("mem.svg");
    let cases: [(&[&str], &str, String); 2] = [
        (
            &["-o", "/dev/null", "--plot"],
            svg.to_str().expect("utf-8"),
            "memsample: --plot needs the recording in a file: give -o FILE instead of -o /dev/null\n"
                .into(),
        ),
        (
            &["-o", "mem.csv", "--plot"],
            "/proc/mem.svg",
            "memsample: cannot write the chart to /proc/mem.svg: ".into(),
        ),
    ];
    for (args, chart, expected) in cases {
        let mut command = memsample();
        command.current_dir(dir.path()).args(args).arg(chart);
        command.arg("--").arg(fixture()).arg("touch").arg(&marker);
        let stderr = one_line_failure(&mut command, 125);
        assert!(stderr.starts_with(&expected), "{stderr}");
        assert!(!marker.exists(), "the command ran");
        assert!(!dir.path().join("mem.csv").exists());
    }
    // The check leaves nothing behind in the chart's directory.
    let mut command = memsample();
    command
        .current_dir(dir.path())
        .args(["-q", "-o", "mem.csv", "--plot", "mem.svg"]);
    command.arg("--").arg(fixture()).args(["sleep", "100"]);
    assert_eq!(run(&mut command).status.code(), Some(0));
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["mem.csv", "mem.svg"]);
}

#[test]
fn charts_replace_a_planted_symlink_instead_of_following_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").expect("victim");
    for chart in ["mem.svg", "other.svg"] {
        std::os::unix::fs::symlink(&victim, dir.path().join(chart)).expect("symlink");
    }
    let mut command = memsample();
    command
        .current_dir(dir.path())
        .args(["-q", "-o", "mem.csv", "--plot", "mem.svg"]);
    command.arg("--").arg(fixture()).args(["sleep", "100"]);
    assert_eq!(run(&mut command).status.code(), Some(0));
    let mut command = memsample();
    command
        .current_dir(dir.path())
        .args(["plot", "mem.csv", "-o", "other.svg"]);
    assert_eq!(run(&mut command).status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "precious"
    );
    for chart in ["mem.svg", "other.svg"] {
        let path = dir.path().join(chart);
        assert!(path.symlink_metadata().expect("chart").is_file(), "{chart}");
        let svg = std::fs::read_to_string(&path).expect("chart");
        roxmltree::Document::parse(&svg).expect("a whole SVG");
    }
}

#[test]
fn a_multi_line_command_keeps_every_message_on_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let mut command = memsample();
    command
        .arg("-o")
        .arg(&csv)
        .args(["--", "sh", "-c", "exit 3\n", "a b"]);
    let output = run(command.stderr(Stdio::piped()).stdout(Stdio::null()));
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.lines().all(|line| line.starts_with("memsample: ")),
        "{stderr}"
    );
    assert!(
        stderr.contains(r"memsample: recording sh -c $'exit 3\n' 'a b' (pid "),
        "{stderr}"
    );
    assert!(
        stderr.contains(r"memsample: sh -c $'exit 3\n' 'a b' exited with code 3"),
        "{stderr}"
    );
    let mut command = memsample();
    command.current_dir(dir.path()).args(["--", "./no\nsuch"]);
    let stderr = one_line_failure(&mut command, 127);
    assert_eq!(
        stderr,
        "memsample: cannot run $'./no\\nsuch': No such file or directory\n"
    );
    // Any name in a message: a path, a process's.
    let mut command = memsample();
    command
        .current_dir(dir.path())
        .args(["-o", "no\nsuch/mem.csv", "--", "true"]);
    let stderr = one_line_failure(&mut command, 125);
    assert_eq!(
        stderr,
        "memsample: cannot create no\\nsuch/mem.csv: No such file or directory\n"
    );
}

#[test]
fn durations_that_do_not_fit_are_refused_before_the_command_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("started");
    for (option, value) in [
        ("--duration", "1e19"),
        ("-i", "1e19"),
        ("--duration", "1e12"),
    ] {
        let mut command = memsample();
        command.current_dir(dir.path()).args([option, value]);
        command.arg("--").arg(fixture()).arg("touch").arg(&marker);
        let stderr = one_line_failure(&mut command, 125);
        assert!(
            stderr.ends_with(&format!("'{value}' is above the maximum of 100 years\n")),
            "{stderr}"
        );
        assert!(!marker.exists(), "the command ran");
    }
}

#[test]
fn a_full_stdout_is_one_line_for_completions_and_the_man_page() {
    for args in [&["completions", "bash"][..], &["man"]] {
        let full = OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let mut command = memsample();
        command.args(args).stdout(full).stderr(Stdio::piped());
        let output = run(&mut command);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.ends_with(": No space left on device\n") && stderr.lines().count() == 1,
            "{stderr}"
        );
    }
}
