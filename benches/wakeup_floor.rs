//! The floor under memsample's cost per sample on this machine: a loop that
//! does what memsample's `/proc` backend does per tick for one process (sleep
//! until an absolute deadline, `pread` three kept-open `/proc` files:
//! `loadavg`, `stat`, `statm`; write one CSV line to a file), and nothing
//! else. CPU per iteration from getrusage.
//!
//! `cargo bench --bench wakeup_floor` (10 ms interval, 500 ticks).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct passed to it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn run(label: &str, ticks: u32, mut work: impl FnMut()) {
    let period = Duration::from_millis(10);
    let before = cpu_seconds();
    let origin = Instant::now();
    for k in 1..=ticks {
        std::thread::sleep((origin + period * k).saturating_duration_since(Instant::now()));
        work();
    }
    let per_tick = (cpu_seconds() - before) / f64::from(ticks) * 1e6;
    println!("{label:<40} {per_tick:7.1} µs CPU per tick");
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let mut target = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .expect("spawn sleep");
    let stat = File::open(format!("/proc/{}/stat", target.id())).expect("stat");
    let statm = File::open(format!("/proc/{}/statm", target.id())).expect("statm");
    let loadavg = File::open("/proc/loadavg").expect("loadavg");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut csv = File::create(dir.path().join("floor.csv")).expect("csv");
    let line = b"2026-11-26T01:17:38.339Z,0.100102,interval,1,67108864,69394432,0.0,67108864\n";
    let mut buf = [0u8; 4096];
    let ticks = 500;
    run("sleep to the deadline only", ticks, || {});
    run("+ pread loadavg, stat, statm", ticks, || {
        let _ = loadavg.read_at(&mut buf, 0);
        let _ = stat.read_at(&mut buf, 0);
        let _ = statm.read_at(&mut buf, 0);
    });
    run("+ pread loadavg, stat, statm + write a line", ticks, || {
        let _ = loadavg.read_at(&mut buf, 0);
        let _ = stat.read_at(&mut buf, 0);
        let _ = statm.read_at(&mut buf, 0);
        let _ = csv.write_all(line);
    });
    let _ = target.kill();
    let _ = target.wait();
}
