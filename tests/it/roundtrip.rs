//! A recording made by memsample in this test run, read back by `report`
//! and drawn by `--plot`.

use crate::common::*;

#[test]
fn a_fresh_recording_round_trips_through_report_and_plot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let svg = dir.path().join("mem.svg");
    for per_process in [false, true] {
        let mut command = memsample();
        command
            .args(["-i", "50ms", "-q", "-o"])
            .arg(&csv)
            .arg("--plot")
            .arg(&svg);
        if per_process {
            command.arg("--per-process");
        }
        let output = command
            .arg("--")
            .arg(fixture())
            .args([
                "hold", "40", "children", "2", "20", "400", "sleep", "500", "wait",
            ])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let (_, rows) = read_csv(&csv);
        // The exit row closes the recording; the samples are the rest.
        let rows = sampled(&rows);

        let report = memsample()
            .args(["report", "--json"])
            .arg(&csv)
            .output()
            .expect("report runs");
        assert_eq!(report.status.code(), Some(0), "{report:?}");
        let json: serde_json::Value =
            serde_json::from_slice(&report.stdout).expect("report --json is JSON");

        // The report's figures are the CSV's.
        let mut sums: Vec<(String, u64)> = Vec::new();
        for row in &rows {
            match sums.last_mut() {
                Some((elapsed, sum)) if *elapsed == row["elapsed_s"] => {
                    *sum += num(row, "rss_bytes")
                }
                _ => sums.push((row["elapsed_s"].clone(), num(row, "rss_bytes"))),
            }
        }
        let peak = sums.iter().map(|(_, sum)| *sum).max().expect("rows");
        assert_eq!(json["samples"].as_u64(), Some(sums.len() as u64));
        assert_eq!(json["peak_rss_bytes"].as_u64(), Some(peak));
        assert_eq!(json["max_procs"].as_u64(), Some(3));
        assert!(peak >= 80 * MIB, "{peak}");
        let expected_format = if per_process {
            "per-process"
        } else {
            "default"
        };
        assert_eq!(json["format"], expected_format);

        let chart = std::fs::read_to_string(&svg).expect("--plot wrote the chart");
        roxmltree::Document::parse(&chart).expect("the chart is well-formed XML");
        assert!(chart.contains("peak "), "no peak label");
    }
}
