//! The cost of one probe call, the hot path of every sample.
//!
//! `cargo bench --bench probe`. The target is a child process holding 64 MiB
//! and sleeping, so the figures are those of a steady process: the case the
//! goal in docs/performance.md (probe ≤ 5 µs for one process) is about.

use std::process::{Child, Command};

use criterion::{Criterion, criterion_group, criterion_main};
use memsample::probe::procfs::ProcProbe;
use memsample::probe::sysinfo::SysinfoProbe;
use memsample::probe::{Probe, ProbeConfig};

/// A steady process to look at: `sleep` with nothing else going on.
fn steady_process() -> Child {
    Command::new("sleep")
        .arg("600")
        .spawn()
        .expect("spawn sleep")
}

fn config(pid: u32, children: bool) -> ProbeConfig {
    ProbeConfig {
        children,
        ..ProbeConfig::of(pid)
    }
}

fn probes(c: &mut Criterion) {
    let mut target = steady_process();
    let pid = target.id();
    let mut group = c.benchmark_group("probe one process");

    let mut tree = ProcProbe::new(config(pid, true)).expect("probe");
    group.bench_function("proc, tree on (default)", |b| b.iter(|| tree.sample()));

    let mut single = ProcProbe::new(config(pid, false)).expect("probe");
    group.bench_function("proc, --no-children", |b| b.iter(|| single.sample()));

    let mut split = ProcProbe::new(ProbeConfig {
        breakdown: true,
        ..config(pid, false)
    })
    .expect("probe");
    group.bench_function("proc, --no-children --breakdown", |b| {
        b.iter(|| split.sample())
    });

    let mut portable = SysinfoProbe::new(config(pid, false)).expect("probe");
    group.bench_function("sysinfo, --no-children", |b| b.iter(|| portable.sample()));

    group.finish();
    let _ = target.kill();
    let _ = target.wait();
}

/// Formatting and writing one default row to a file, in each format: the
/// other half of a sample's cost.
fn row_writes(c: &mut Criterion) {
    use memsample::schema::{Layout, Row, Trigger};
    use memsample::sink::output::Destination;
    use memsample::sink::{self, Format};
    let mut target = steady_process();
    let mut probe = ProcProbe::new(config(target.id(), true)).expect("probe");
    let sample = probe.sample();
    let dir = tempfile::tempdir().expect("tempdir");
    for format in [Format::Csv, Format::Jsonl] {
        let path = dir.path().join(format!("bench.{}", format.extension()));
        let mut output =
            sink::open(&Destination::File(path), format, Layout::default()).expect("output");
        c.bench_function(&format!("write one {} row", format.name()), |b| {
            b.iter(|| {
                output
                    .write(&Row {
                        wall_clock: std::time::SystemTime::now(),
                        elapsed_s: 1.25,
                        trigger: Trigger::Interval,
                        sample: &sample,
                        peak_rss_bytes: 1 << 26,
                        cgroup: Default::default(),
                        phase: None,
                    })
                    .expect("write")
            })
        });
    }
    let _ = target.kill();
    let _ = target.wait();
}

criterion_group!(benches, probes, row_writes);
criterion_main!(benches);
