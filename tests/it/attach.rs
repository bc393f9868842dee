//! Attaching to a cgroup (`--cgroup-path`, `--unit`, `--cgroup-of`) on this
//! machine: bad input gives one line, exit 125 and nothing created. This
//! machine's cgroups are only ever read here; the figures of a cgroup
//! memsample attaches to are checked against its own files inside real
//! kernels (tests/vm/attach.sh).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use crate::common::*;

const LIMIT: Duration = Duration::from_secs(60);

/// Runs memsample in an empty directory; asserts exit 125, one line on
/// stderr and nothing created; returns the line.
fn refused(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = memsample()
        .current_dir(dir.path())
        .args(args)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(125), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("memsample: "), "{stderr}");
    let created: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert!(created.is_empty(), "{args:?} created {created:?}");
    stderr
}

#[test]
fn a_missing_path_a_file_and_a_plain_directory_are_no_cgroups() {
    let stderr = refused(&["--cgroup-path", "/sys/fs/cgroup/memsample-no-such-cgroup"]);
    assert_eq!(
        stderr,
        "memsample: no cgroup /sys/fs/cgroup/memsample-no-such-cgroup: No such file or directory\n"
    );
    let file = tempfile::NamedTempFile::new().expect("file");
    let path = file.path().to_str().expect("utf-8");
    let stderr = refused(&["--cgroup-path", path]);
    assert_eq!(
        stderr,
        format!("memsample: {path} is not a cgroup: not a directory\n")
    );
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().to_str().expect("utf-8");
    let stderr = refused(&["--cgroup-path", path]);
    assert_eq!(
        stderr,
        format!("memsample: {path} is not a cgroup: not on a cgroup filesystem\n")
    );
}

#[test]
fn a_unit_that_is_nowhere_is_named() {
    let stderr = refused(&["--unit", "memsample-no-such-unit.service"]);
    assert!(
        stderr.starts_with(
            "memsample: --unit memsample-no-such-unit.service: no cgroup of that name under /"
        ),
        "{stderr}"
    );
    let stderr = refused(&["--unit", "system.slice/x.service"]);
    assert!(stderr.contains("for a path: --cgroup-path"), "{stderr}");
}

#[test]
fn cgroup_of_a_missing_pid_or_a_thread() {
    // Above the largest pid_max Linux allows (2^22).
    let stderr = refused(&["--cgroup-of", "4194305"]);
    assert_eq!(
        stderr,
        "memsample: --cgroup-of 4194305: no process with pid 4194305\n"
    );
    let dir = tempfile::tempdir().expect("tempdir");
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
    let stderr = refused(&["--cgroup-of", &tid.to_string()]);
    assert_eq!(
        stderr,
        format!(
            "memsample: --cgroup-of {tid}: {tid} is a thread of process {pid}; give --cgroup-of {pid}\n"
        )
    );
    target.release();
    wait_child(&mut target.child, LIMIT);
}

#[test]
fn one_target_at_a_time() {
    for args in [
        &["--cgroup-path", "a", "--pid", "1"][..],
        &["--unit", "a.service", "--", "true"],
        &["--cgroup-of", "1", "--cgroup-path", "a"],
        &["--cgroup-of", "1", "--unit", "a.service"],
        &["--cgroup-path", "a", "--no-children"],
        &["--cgroup-of", "0"],
    ] {
        let stderr = refused(args);
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let stderr = refused(&["--cgroup-path", "a", "--backend", "sysinfo"]);
    assert!(stderr.contains("--backend sysinfo"), "{stderr}");
    let stderr = refused(&["--cgroup-path", "a", "--cgroup", "require"]);
    assert!(stderr.contains("--cgroup require"), "{stderr}");
}

/// The memory controller's hierarchy of this machine and this process's
/// cgroup in it: `(v1, directory)`.
fn own_memory_cgroup() -> (bool, std::path::PathBuf) {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").expect("cgroup");
    let v2 = mountinfo.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        after
            .starts_with("cgroup2 ")
            .then(|| before.split(' ').nth(4).map(String::from))?
    });
    if let Some(point) = v2.filter(|point| {
        std::fs::read_to_string(format!("{point}/cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|w| w == "memory"))
    }) {
        let own = cgroups
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .expect("0:: line");
        return (false, format!("{point}{own}").into());
    }
    let point = mountinfo
        .lines()
        .find_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let memory =
                after.starts_with("cgroup ") && after.split([' ', ',']).any(|o| o == "memory");
            memory.then(|| before.split(' ').nth(4).map(String::from))?
        })
        .expect("a cgroup memory hierarchy");
    let own = cgroups
        .lines()
        .find_map(|line| {
            let mut fields = line.splitn(3, ':');
            fields.next();
            let controllers = fields.next()?;
            let path = fields.next()?;
            controllers
                .split(',')
                .any(|c| c == "memory")
                .then_some(path)
        })
        .expect("a memory line");
    (true, format!("{point}{own}").into())
}

fn number_in(path: &std::path::Path) -> u64 {
    std::fs::read_to_string(path)
        .expect("readable")
        .trim()
        .parse()
        .expect("a number")
}

/// This test's own cgroup, read (never written on cgroup v1; on v2 only
/// memsample's own open `memory.peak` is reset): its figures, its version
/// on the start line, and on v1 empty interval peaks and a
/// `memory.max_usage_in_bytes` that memsample leaves as it is.
#[test]
fn its_own_cgroup_is_read() {
    let (v1, dir) = own_memory_cgroup();
    let peak_file = dir.join(if v1 {
        "memory.max_usage_in_bytes"
    } else {
        "memory.peak"
    });
    let before = v1.then(|| number_in(&peak_file));
    let out = tempfile::tempdir().expect("dir");
    let csv = out.path().join("own.csv");
    let pid = std::process::id().to_string();
    let run = run(
        None,
        &[
            "--cgroup-of",
            &pid,
            "-i",
            "100ms",
            "--samples",
            "3",
            "-o",
            csv.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let version = if v1 { "cgroup v1" } else { "cgroup v2" };
    assert!(
        run.stderr.starts_with(&format!(
            "memsample: recording cgroup {} ({version}, ",
            dir.display()
        )),
        "{}",
        run.stderr
    );
    let (header, rows) = read_csv(&csv);
    assert!(header.ends_with(&[
        "cgroup_limit_bytes".to_string(),
        "cgroup_oom_kills".to_string()
    ]));
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert!(num(row, "procs") >= 1, "{row:?}");
        assert!(num(row, "cgroup_bytes") > 0, "{row:?}");
        assert_eq!(row["cgroup_oom_kills"], "0", "{row:?}");
    }
    if let Some(before) = before {
        let after = number_in(&peak_file);
        for row in &rows {
            assert_eq!(row["cgroup_interval_peak_bytes"], "", "{row:?}");
            let peak = num(row, "cgroup_peak_bytes");
            assert!(
                before <= peak && peak <= after,
                "{before} <= {peak} <= {after}"
            );
        }
        let limit = number_in(&dir.join("memory.limit_in_bytes"));
        let recorded = &rows[2]["cgroup_limit_bytes"];
        if limit >= 1 << 62 {
            assert_eq!(recorded, "", "no limit");
        } else {
            assert_eq!(recorded, &limit.to_string());
        }
    }
}

/// `--no-procs` on this test's own cgroup (read only): the summary gives
/// no RSS figure, having read no process, and gives the cgroup's peak.
#[test]
fn no_procs_gives_no_rss_figure() {
    let out = tempfile::tempdir().expect("dir");
    let csv = out.path().join("own.csv");
    let pid = std::process::id().to_string();
    let run = run(
        None,
        &[
            "--cgroup-of",
            &pid,
            "--no-procs",
            "-i",
            "100ms",
            "--samples",
            "2",
            "-o",
            csv.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (_, rows) = read_csv(&csv);
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|row| num(row, "procs") == 0 && num(row, "cgroup_bytes") > 0)
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines[1].starts_with("memsample: 2 samples over "),
        "{}",
        run.stderr
    );
    assert_eq!(
        lines[2], "memsample: processes not read (--no-procs): no RSS figures",
        "{}",
        run.stderr
    );
    assert!(
        lines[3].starts_with("memsample: cgroup peak "),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("RSS 0 B"), "{}", run.stderr);
}

/// A recording of an attached cgroup (tests/data/attached.csv: a 200 MiB
/// limit, a 122 MiB peak, one OOM kill at 2 s, an exit row once removed):
/// `report` gives the headroom and the OOM kills, `plot` the limit's line
/// and the kill's mark.
#[test]
fn report_and_plot_know_the_limit() {
    let recording = data("attached.csv");
    let path = recording.to_str().expect("utf-8");
    let text = run(None, &["report", path]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout
            .contains("cgroup limit  200.0 MiB: peak 61 % of memory.max\n"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("OOM kills     1 since attach"),
        "{}",
        text.stdout
    );
    let json = run(None, &["report", "--json", path]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(json["cgroup_limit_bytes"].as_u64(), Some(200 << 20));
    assert_eq!(json["cgroup_peak_percent_of_limit"].as_f64(), Some(61.0));
    assert_eq!(json["oom_kills"].as_u64(), Some(1));
    let dir = tempfile::tempdir().expect("dir");
    let svg = dir.path().join("chart.svg");
    let plot = run(None, &["plot", path, "-o", svg.to_str().expect("utf-8")]);
    assert_eq!(plot.code, 0, "{}", plot.stderr);
    let document = std::fs::read_to_string(&svg).expect("chart");
    let tree = roxmltree::Document::parse(&document).expect("well-formed XML");
    let texts: Vec<&str> = tree
        .descendants()
        .filter(|node| node.has_tag_name("text"))
        .filter_map(|node| node.text())
        .map(str::trim)
        .collect();
    for expected in ["limit 200.0 MiB", "OOM kills since attach: 1"] {
        assert!(texts.contains(&expected), "no {expected:?} in {texts:?}");
    }
    // The limit's dashes across the chart and the kill's up it, in red.
    let red = tree
        .descendants()
        .filter(|node| node.has_tag_name("polyline"))
        .filter(|node| node.attribute("stroke") == Some("#C81E1E"))
        .count();
    assert!(red > 10, "{red} red dashes");
}
