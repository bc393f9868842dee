//! Property tests of what memsample parses: intervals and durations, sizes,
//! and recordings read back from CSV. Nothing a user can type or a file can
//! hold makes them panic; what is accepted means what it says and survives a
//! round trip.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use memsample::probe::{Breakdown, ProcessSample, Sample};
use memsample::read::{self, Recording};
use memsample::report::Report;
use memsample::schema::{Layout, Row, Trigger};
use memsample::sink::output::Destination;
use memsample::sink::{self, Format};
use memsample::units::{MIN_DURATION, format_duration, parse_duration, parse_size};
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Modest case counts keep the file to a few seconds; no regression files
/// are written into the tree (a failure prints its minimal input).
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text close to what people type for a duration: signs, decimals,
/// exponents, units, spaces, several parts, and a few strange characters.
fn duration_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ \t]{0,2}[-+]?[0-9]{0,7}(\\.[0-9]{0,10})?([eE][-+]?[0-9]{1,3})?[ ]?(ns|us|µs|ms|s|sec|secs|m|min|mins|h|hr|d|days|w|weeks|M|months|y|years|year)?[ \t]{0,2}",
        "([0-9]{1,20}(ns|us|ms|s|m|h|d|w|y|M) ?){1,4}",
        "(nan|NaN|inf|-inf|infinity|\\+inf|-0|0x10|1_000|١|٣s|∞)",
        "\\PC{0,12}",
        any::<String>(),
    ]
}

/// Text close to what people type for a size.
fn size_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ \t]{0,2}[-+]?[0-9]{0,25}(\\.[0-9]{0,10})?[ ]{0,2}(b|B|k|K|kb|kB|KB|kib|KiB|m|M|mb|MB|MiB|g|G|GB|GiB|t|T|TB|TiB|PiB|e5|x)?[ \t]{0,2}",
        "[0-9.]{0,30}",
        "\\PC{0,12}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    /// Any text: an error or a duration of at least 1 ms, never a panic.
    #[test]
    fn parse_duration_never_panics(text in duration_like()) {
        if let Ok(duration) = parse_duration(&text) {
            prop_assert!(duration >= MIN_DURATION, "{text:?} gave {duration:?}");
        }
    }

    /// Every accepted duration, printed the way memsample prints it (start
    /// line, summary), reads back as the same duration.
    #[test]
    fn accepted_durations_round_trip(text in duration_like()) {
        if let Ok(duration) = parse_duration(&text) {
            let printed = format_duration(duration);
            prop_assert_eq!(
                parse_duration(&printed),
                Ok(duration),
                "{:?} -> {:?} -> {:?}",
                text,
                duration,
                printed
            );
        }
    }

    /// Any duration from 1 ms to about 11 days, written as seconds with nine
    /// decimals, as milliseconds, or the way memsample prints it, reads back
    /// to within 1 ns.
    #[test]
    fn durations_in_any_notation_round_trip(nanos in 1_000_000u64..1_000_000_000_000_000) {
        let duration = Duration::from_nanos(nanos);
        let seconds = format!("{}.{:09}", duration.as_secs(), duration.subsec_nanos());
        let millis = format!("{}ms", nanos / 1_000_000);
        for (text, expected) in [
            (seconds, duration),
            (millis, Duration::from_millis(nanos / 1_000_000)),
            (format_duration(duration), duration),
        ] {
            let parsed = parse_duration(&text);
            prop_assert!(parsed.is_ok(), "{text:?}: {parsed:?}");
            let parsed = parsed.unwrap_or_default();
            let difference = parsed.abs_diff(expected);
            prop_assert!(
                difference <= Duration::from_nanos(1),
                "{text:?} read back as {parsed:?}, not {expected:?}"
            );
        }
    }

    /// Any text: an error or a size, never a panic.
    #[test]
    fn parse_size_never_panics(text in size_like()) {
        let _ = parse_size(&text);
    }

    /// Whole numbers of bytes, and whole numbers of a unit, mean exactly
    /// that many bytes (within the 2^53 that a double holds exactly).
    #[test]
    fn sizes_mean_what_they_say(
        count in 0u64..(1 << 20),
        bytes in 0u64..(1 << 53),
        unit in prop::sample::select(vec![
            ("", 1u64), ("B", 1), ("K", 1 << 10), ("KiB", 1 << 10), ("mib", 1 << 20),
            ("G", 1 << 30), ("GiB", 1 << 30), ("kB", 1_000), ("MB", 1_000_000),
            ("GB", 1_000_000_000),
        ]),
        space in prop::bool::ANY,
    ) {
        prop_assert_eq!(parse_size(&bytes.to_string()), Ok(bytes));
        let (name, multiplier) = unit;
        let text = format!("{count}{}{name}", if space { " " } else { "" });
        prop_assert_eq!(parse_size(&text), Ok(count * multiplier), "{:?}", text);
    }
}

// ---------------------------------------------------------------------------
// Reading recordings back.

/// memsample's own recordings, the seeds of the mutations.
const SEEDS: [&str; 6] = [
    include_str!("../data/basic.csv"),
    include_str!("../data/cgroup.csv"),
    include_str!("../data/per-process.csv"),
    include_str!("../data/pss.csv"),
    include_str!("../data/single.csv"),
    include_str!("../data/spike.csv"),
];

/// A file for one case at a time (each test has its own).
struct Scratch {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("recording.csv");
        Scratch { _dir: dir, path }
    }
}

/// Reads `bytes` as a recording; when that works, computes and prints the
/// report too, which must not panic either.
fn read_back(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write");
    if let Ok(recording) = Recording::read(path) {
        assert!(recording.count() > 0);
        let chart = Recording::read_for_chart(path).expect("read for a chart too");
        assert_eq!(chart.count(), recording.count());
        for limit in [None, Some(0), Some(u64::MAX)] {
            let report = Report::new(recording.clone(), limit);
            let _ = report.text();
            let _ = serde_json::to_string(&report).expect("the report as JSON");
        }
    }
}

/// One change to a file's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Insert { at: usize, text: &'static str },
    Delete { at: usize, len: usize },
    Truncate { at: usize },
    DuplicateLine { line: usize },
    SwapLines { a: usize, b: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop::sample::select(vec![
        ",",
        "\n",
        "\r\n",
        "\"",
        "-",
        "0",
        "9",
        ".",
        "e",
        "E",
        "+",
        " ",
        "NaN",
        "inf",
        "-1",
        "99999999999999999999",
        "1e309",
        "\u{0}",
        "\u{ff}",
        "\u{feff}",
        "é",
        ",,,",
        "\"\"",
        "start",
        "stop",
        "pss_bytes",
        "rss_bytes,",
        "{",
        "}",
        ":",
        "null",
        "\"rss_bytes\":",
        "[1]",
        "2026-13-45T99:99:99.999Z",
    ]);
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), interesting).prop_map(|(at, text)| Mutation::Insert { at, text }),
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let len = bytes.len();
    match *mutation {
        Mutation::Flip { at, bit } if len > 0 => bytes[at % len] ^= 1 << bit,
        Mutation::Flip { .. } => {}
        Mutation::Insert { at, text } => {
            let at = at % (len + 1);
            bytes.splice(at..at, text.bytes());
        }
        Mutation::Delete { at, len: count } => {
            let at = at % (len + 1);
            let end = (at + count).min(len);
            bytes.drain(at..end);
        }
        Mutation::Truncate { at } => bytes.truncate(at % (len + 1)),
        Mutation::DuplicateLine { line } | Mutation::SwapLines { a: line, .. } => {
            let mut lines: Vec<Vec<u8>> = bytes
                .split_inclusive(|&byte| byte == b'\n')
                .map(<[u8]>::to_vec)
                .collect();
            if lines.is_empty() {
                return;
            }
            let count = lines.len();
            match *mutation {
                Mutation::SwapLines { b, .. } => lines.swap(line % count, b % count),
                _ => {
                    let copy = lines[line % count].clone();
                    lines.insert(line % count, copy);
                }
            }
            *bytes = lines.concat();
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Arbitrary bytes: an error or a recording, never a panic.
    #[test]
    fn reading_arbitrary_bytes_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..1024),
        header in prop::sample::select(vec![
            "",
            "timestamp,elapsed_s,trigger,procs,rss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes\n",
            "timestamp,elapsed_s,trigger,pid,ppid,command,rss_bytes,pss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes\n",
        ]),
    ) {
        thread_local!(static SCRATCH: Scratch = Scratch::new());
        let mut file = header.as_bytes().to_vec();
        file.extend_from_slice(&bytes);
        SCRATCH.with(|scratch| read_back(&scratch.path, &file));
    }

    /// Arbitrary changes to a real recording, CSV or JSON Lines: an error
    /// or a recording, never a panic.
    #[test]
    fn reading_mutated_recordings_never_panics(
        seed in prop::sample::select(SEEDS.to_vec()),
        as_jsonl in prop::bool::ANY,
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        thread_local!(static SCRATCH: Scratch = Scratch::new());
        let seed = if as_jsonl { crate::common::csv_to_jsonl(seed) } else { seed.to_string() };
        let mut bytes = seed.as_bytes().to_vec();
        for mutation in &mutations {
            apply(&mut bytes, mutation);
        }
        SCRATCH.with(|scratch| read_back(&scratch.path, &bytes));
    }
}

// ---------------------------------------------------------------------------
// Writing recordings with memsample's own writer and reading them back.

fn process() -> impl Strategy<Value = ProcessSample> {
    (
        1u32..4_194_304,
        0u32..4_194_304,
        prop_oneof![
            "[a-z][a-z0-9_.-]{0,14}",
            "[a-z ,\"\r\n'#;|-]{0,15}",
            "\\PC{0,8}",
        ],
        0u64..(1 << 44),
        0u64..(1 << 46),
        (0u32..100_000).prop_map(|tenths| f64::from(tenths) / 10.0),
        prop::option::of(0u64..(1 << 44)),
        prop::option::of(0u64..(1 << 44)),
        prop::option::of((
            0u64..(1 << 42),
            0u64..(1 << 42),
            0u64..(1 << 42),
            0u64..(1 << 42),
            1u64..100_000,
        )),
    )
        .prop_map(
            |(
                pid,
                ppid,
                command,
                rss_bytes,
                vsz_bytes,
                cpu_percent,
                hwm_bytes,
                pss_bytes,
                parts,
            )| {
                ProcessSample {
                    pid,
                    ppid,
                    command,
                    rss_bytes,
                    vsz_bytes,
                    cpu_percent,
                    hwm_bytes,
                    pss_bytes,
                    uss_bytes: pss_bytes.map(|pss| pss / 2),
                    breakdown: parts.map(|(anon, file, shmem, swap, threads)| Breakdown {
                        anon_bytes: anon,
                        file_bytes: file,
                        shmem_bytes: shmem,
                        swap_bytes: swap,
                        threads,
                    }),
                }
            },
        )
}

/// One written sample: wall clock in ms, elapsed in µs after the previous
/// one, the trigger, the processes and the peak column.
type Written = (u64, u64, Trigger, Vec<ProcessSample>, u64);

fn samples() -> impl Strategy<Value = Vec<Written>> {
    prop::collection::vec(
        (
            0u64..4_000_000_000_000,
            1u64..100_000_000,
            prop::sample::select(vec![
                Trigger::Start,
                Trigger::Interval,
                Trigger::Manual,
                Trigger::Stop,
                Trigger::Exit,
            ]),
            prop::collection::vec(process(), 1..5),
            0u64..(1 << 50),
        ),
        1..12,
    )
}

proptest! {
    #![proptest_config(config(128))]

    /// Rows written by memsample's writers, CSV or JSON Lines, in either
    /// layout, with or without PSS, read back as the same samples.
    #[test]
    fn written_recordings_read_back_the_same(
        written in samples(),
        per_process in prop::bool::ANY,
        pss in prop::bool::ANY,
        breakdown in prop::bool::ANY,
        format in prop::sample::select(vec![Format::Csv, Format::Jsonl]),
    ) {
        thread_local!(static SCRATCH: Scratch = Scratch::new());
        SCRATCH.with(|scratch| -> Result<(), TestCaseError> {
            let layout = Layout {
                per_process,
                pss,
                breakdown,
                ..Layout::default()
            };
            let destination = Destination::File(scratch.path.clone());
            let mut output = sink::open(&destination, format, layout).expect("creates");
            let mut elapsed_us = 0u64;
            let mut expected = Vec::new();
            let mut tree_peak = 0u64;
            for (wall_ms, step_us, trigger, processes, peak_column) in &written {
                elapsed_us += step_us;
                let sample = Sample {
                    processes: processes.clone(),
                    main_hwm_bytes: processes[0].hwm_bytes,
                };
                let wall_clock = SystemTime::UNIX_EPOCH + Duration::from_millis(*wall_ms);
                let elapsed_s = elapsed_us as f64 / 1e6;
                output
                    .write(&Row {
                        wall_clock,
                        elapsed_s,
                        trigger: *trigger,
                        sample: &sample,
                        peak_rss_bytes: *peak_column,
                        cgroup: Default::default(),
                        phase: None,
                    })
                    .expect("writes");
                let rss: u64 = processes.iter().map(|p| p.rss_bytes).sum();
                // Per-process files have no tree column: the reader takes the
                // highest of every sum and every process's own peak so far.
                let peak = if per_process {
                    let own = processes
                        .iter()
                        .map(|p| p.hwm_bytes.unwrap_or(0).max(p.rss_bytes))
                        .max()
                        .unwrap_or(0);
                    tree_peak = tree_peak.max(rss).max(own);
                    tree_peak
                } else {
                    *peak_column
                };
                let pss_sum = if pss { sample.pss_bytes() } else { None };
                let uss_sum = if pss { sample.uss_bytes() } else { None };
                let parts = if breakdown { sample.breakdown() } else { None };
                expected.push((
                    wall_clock, elapsed_s, processes.len() as u64, rss, pss_sum, peak, uss_sum, parts,
                ));
            }
            drop(output);

            let recording = Recording::read_for_chart(&scratch.path);
            let text = std::fs::read_to_string(&scratch.path).unwrap_or_default();
            prop_assert!(recording.is_ok(), "{:?}\n{}", recording.err(), text);
            let Ok(recording) = recording else { return Ok(()) };
            prop_assert_eq!(recording.layout(), layout);
            prop_assert_eq!(recording.format(), format);
            let (_, _, samples) = read::samples(&scratch.path).expect("read twice");
            prop_assert_eq!(samples.len(), expected.len(), "{}", text);
            for (sample, (wall_clock, elapsed_s, procs, rss, pss_sum, peak, uss_sum, parts)) in
                samples.iter().zip(&expected)
            {
                prop_assert_eq!(sample.timestamp, *wall_clock);
                prop_assert_eq!(format!("{:.6}", sample.elapsed_s), format!("{elapsed_s:.6}"));
                prop_assert_eq!(sample.procs, *procs);
                prop_assert_eq!(sample.rss_bytes, *rss);
                prop_assert_eq!(sample.pss_bytes, *pss_sum);
                prop_assert_eq!(sample.peak_rss_bytes, *peak);
                prop_assert_eq!(sample.uss_bytes, *uss_sum);
                prop_assert_eq!(sample.breakdown, *parts);
            }
            if per_process {
                // Each (pid, command) is one process, in order of appearance,
                // with its highest peak and one point per row.
                let mut keys: Vec<(u32, String)> = Vec::new();
                for (_, _, _, processes, _) in &written {
                    for process in processes {
                        let key = (process.pid, process.command.clone());
                        if !keys.contains(&key) {
                            keys.push(key);
                        }
                    }
                }
                let read_keys: Vec<(u32, String)> = recording
                    .processes()
                    .iter()
                    .map(|p| (p.pid, p.command.clone()))
                    .collect();
                prop_assert_eq!(&read_keys, &keys);
                for process in recording.processes() {
                    let rows: Vec<&ProcessSample> = written
                        .iter()
                        .flat_map(|(_, _, _, processes, _)| processes)
                        .filter(|p| p.pid == process.pid && p.command == process.command)
                        .collect();
                    prop_assert_eq!(process.series.points().len(), rows.len());
                    let peak = rows
                        .iter()
                        .map(|p| p.hwm_bytes.unwrap_or(0).max(p.rss_bytes))
                        .max()
                        .unwrap_or(0);
                    prop_assert_eq!(process.peak_rss_bytes, peak);
                }
            } else {
                prop_assert!(recording.processes().is_empty());
            }
            Ok(())
        })?;
    }
}
