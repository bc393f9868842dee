//! Process trees: the sum over descendants, the long format, a grandchild
//! that daemonizes, reaping, and PSS for shared memory.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use crate::common::*;

const LIMIT: Duration = Duration::from_secs(60);

/// Rows of one sample in the long format, by elapsed_s.
fn samples(rows: &[Row]) -> BTreeMap<String, Vec<&Row>> {
    let mut by_sample: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    // The exit row is what is left after the command: no sample of the tree.
    for row in rows.iter().filter(|row| row["trigger"] != "exit") {
        by_sample
            .entry(row["elapsed_s"].clone())
            .or_default()
            .push(row);
    }
    by_sample
}

/// 10 + 4 × 50 + 30 MiB: what the fixture's tree holds once it is built.
const TREE_BYTES: u64 = 240 * MIB;

/// Samples (rows of one elapsed_s) that count the fixture's whole tree with
/// its memory touched, in either format.
fn full_samples(rows: &[Row]) -> impl Iterator<Item = Vec<&Row>> {
    samples(rows).into_values().filter(|sample| {
        let procs: u64 = if sample[0].contains_key("procs") {
            num(sample[0], "procs")
        } else {
            sample.len() as u64
        };
        let rss: u64 = sample.iter().map(|row| num(row, "rss_bytes")).sum();
        procs == 6 && rss >= TREE_BYTES
    })
}

/// The fixture's tree: main holding 10 MiB, 4 children × 50 MiB, and a
/// grandchild of 30 MiB whose parent exits at once (re-parented to memsample).
/// The descendants outlive the main process by a few seconds, then exit.
fn tree_fixture(ready: &std::path::Path, go: &std::path::Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec![fixture().into()];
    for arg in [
        "hold",
        "10",
        "children",
        "4",
        "50",
        "5000",
        "daemonize",
        "30",
        "5000",
        "touch",
    ] {
        args.push(arg.into());
    }
    args.push(ready.into());
    args.push("wait-file".into());
    args.push(go.into());
    args.push("exit".into());
    args.push("5".into());
    args
}

#[test]
fn the_whole_tree_is_counted_per_process_and_summed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("ready");
    let go = dir.path().join("go");
    for per_process in [false, true] {
        let _ = std::fs::remove_file(&ready);
        let _ = std::fs::remove_file(&go);
        let csv = dir.path().join(format!("tree-{per_process}.csv"));
        let mut command = memsample();
        command.args(["-i", "50ms", "-o"]).arg(&csv);
        if per_process {
            command.arg("--per-process");
        }
        let running = Running::start(command.arg("--").args(tree_fixture(&ready, &go)));
        wait_until("the fixture's tree", LIMIT, || ready.exists());
        let main = running.command_pid();
        let memsample_pid = running.pid();
        // Wait until a sample sees all six processes with their memory
        // touched.
        wait_until("a sample of the whole tree", LIMIT, || {
            let Ok(text) = std::fs::read_to_string(&csv) else {
                return false;
            };
            let (_, rows) = parse_csv(&text);
            full_samples(&rows).next().is_some()
        });
        std::fs::write(&go, b"").expect("go");
        let (status, _, stderr) = running.finish(LIMIT);
        // The main command's status comes through the subreaper's reaping.
        assert_eq!(status.code(), Some(5), "{stderr}");
        // 7 when a sample caught the grandchild's parent before it exited.
        assert!(
            stderr.contains("up to 6 processes") || stderr.contains("up to 7 processes"),
            "{stderr}"
        );
        // The children and the grandchild hold on: left running, said so.
        assert!(
            stderr.contains("5 descendant processes left running"),
            "{stderr}"
        );
        let (_, rows) = read_csv(&csv);
        // Plus each process's own few MiB.
        let expected = TREE_BYTES;
        let sample = full_samples(&rows).last().expect("a full sample");
        let total: u64 = sample.iter().map(|row| num(row, "rss_bytes")).sum();
        assert!(total < expected + 6 * 8 * MIB, "{total}");
        if per_process {
            let parents: BTreeMap<u64, u64> = sample
                .iter()
                .map(|row| (num(row, "pid"), num(row, "ppid")))
                .collect();
            assert_eq!(
                sample[0]["pid"],
                main.to_string(),
                "the main process comes first"
            );
            let children: Vec<u64> = parents
                .iter()
                .filter(|(_, ppid)| **ppid == u64::from(main))
                .map(|(pid, _)| *pid)
                .collect();
            assert_eq!(children.len(), 4, "{parents:?}");
            // The daemonized grandchild's parent exited: memsample adopted it.
            let orphans: Vec<&&Row> = sample
                .iter()
                .filter(|row| num(row, "ppid") == u64::from(memsample_pid))
                .filter(|row| num(row, "pid") != u64::from(main))
                .collect();
            assert_eq!(orphans.len(), 1, "{parents:?}");
            let orphan = orphans[0];
            let rss = num(orphan, "rss_bytes");
            assert!((30 * MIB..38 * MIB).contains(&rss), "{rss}");
            for row in &sample {
                assert_eq!(row["command"], "fixture");
                assert!(num(row, "peak_rss_bytes") >= num(row, "rss_bytes"));
            }
        } else {
            assert_eq!(sample.len(), 1);
            assert_eq!(num(sample[0], "procs"), 6);
        }
        if per_process {
            // The descendants would go on for a few seconds: end them now.
            let pids: BTreeSet<u64> = rows.iter().map(|row| num(row, "pid")).collect();
            for pid in pids {
                if is_alive(pid as u32) {
                    send(pid as u32, libc::SIGKILL);
                }
            }
        }
    }
}

#[test]
fn no_children_shows_only_the_main_process() {
    let recorded = record(
        &["-i", "50ms", "--no-children", "--per-process", "-q"],
        &[
            Step::Hold(10),
            Step::Children(2, 20, 400),
            Step::Sleep(300),
            Step::Wait,
        ],
    );
    recorded.assert_code(0);
    let (_, rows) = recorded.rows();
    let pids: BTreeSet<&str> = rows.iter().map(|row| row["pid"].as_str()).collect();
    assert_eq!(pids.len(), 1, "{pids:?}");
}

#[test]
fn an_adopted_orphan_that_exits_is_reaped_while_memsample_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let go = dir.path().join("go");
    // The grandchild lives 300 ms, long after its parent exited.
    let running = Running::start(
        memsample()
            .args(["-i", "20ms", "--per-process", "-o"])
            .arg(&csv)
            .arg("--")
            .arg(fixture())
            .args(["daemonize", "5", "300", "wait-file"])
            .arg(&go),
    );
    let main = running.command_pid();
    let memsample_pid = running.pid();
    // Seen as a member...
    wait_until("the adopted grandchild in a row", LIMIT, || {
        std::fs::read_to_string(&csv).is_ok_and(|text| {
            parse_csv(&text).1.iter().any(|row| {
                row["ppid"] == memsample_pid.to_string() && row["pid"] != main.to_string()
            })
        })
    });
    // ...then gone without leaving a zombie behind, while memsample runs.
    wait_until("no zombie child of memsample", LIMIT, || {
        zombie_children(memsample_pid).is_empty() && last_sample_procs(&csv) == 1
    });
    assert!(is_alive(running.pid()));
    std::fs::write(&go, b"").expect("go");
    let (status, _, _) = running.finish(LIMIT);
    assert_eq!(status.code(), Some(0));
}

fn last_sample_procs(csv: &std::path::Path) -> usize {
    let Ok(text) = std::fs::read_to_string(csv) else {
        return 0;
    };
    let (_, rows) = parse_csv(&text);
    samples(&rows)
        .into_values()
        .max_by(|a, b| {
            float(a[0], "elapsed_s")
                .partial_cmp(&float(b[0], "elapsed_s"))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .map_or(0, |sample| sample.len())
}

/// Zombies whose parent is `pid`.
fn zombie_children(pid: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|(_, ppid, state)| *ppid == pid && *state == 'Z')
        .map(|(child, _, _)| child)
        .collect()
}

#[test]
fn pss_is_below_rss_when_pages_are_shared() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let ready = dir.path().join("ready");
    let go = dir.path().join("go");
    // 40 MiB shared by the main process and 3 forked children.
    let running = Running::start(
        memsample()
            .args(["-i", "50ms", "--pss", "-o"])
            .arg(&csv)
            .arg("--")
            .arg(fixture())
            .args(["fork-share", "40", "3", "4000", "sleep", "300", "touch"])
            .arg(&ready)
            .arg("wait-file")
            .arg(&go),
    );
    wait_until("the shared memory", LIMIT, || ready.exists());
    let start = line_count(&csv);
    wait_until("two more rows", LIMIT, || line_count(&csv) >= start + 2);
    let (header, rows) = read_csv(&csv);
    assert_eq!(
        header.join(","),
        "timestamp,elapsed_s,trigger,procs,rss_bytes,pss_bytes,uss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes"
    );
    let row = rows.last().expect("rows");
    assert_eq!(num(row, "procs"), 4);
    let rss = num(row, "rss_bytes");
    let pss = num(row, "pss_bytes");
    // Each of the 4 counts the 40 MiB in its RSS; PSS counts them once.
    assert!(rss >= 160 * MIB, "rss {rss}");
    assert!((40 * MIB..70 * MIB).contains(&pss), "pss {pss}");
    // USS counts private pages only: none of the shared 40 MiB.
    let uss = num(row, "uss_bytes");
    assert!(uss <= pss && uss < 30 * MIB, "uss {uss}, pss {pss}");
    let stderr = running.stderr();
    send(running.pid(), libc::SIGTERM);
    let (status, _, _) = running.finish(LIMIT);
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{stderr}");
    // The forked children outlive the command by a few seconds, then exit.
}
