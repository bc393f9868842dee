//! `report` as text for people: the figures, one per line, with a
//! sparkline of RSS over time.

use std::fmt::Write as _;

use super::Report;
use super::compare::{Comparison, signed_bytes_with_percent, signed_percent, signed_seconds};
use super::growth::Verdict;
use crate::read::printable;
use crate::units::{format_bytes, format_rate, format_seconds};

/// The longest sparkline, in characters: it fits an 80-column terminal
/// after its label and range.
pub(crate) const SPARKLINE_WIDTH: usize = 60;

pub(crate) fn render(report: &Report) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_figures(report, &mut out)
        .and_then(|()| write_shape(report, &mut out))
        .and_then(|()| match &report.phases {
            Some(rows) => super::phases::write_text(rows, &mut out),
            None => Ok(()),
        })
        .and_then(|()| match &report.baseline {
            Some(comparison) => write_comparison(comparison, &mut out),
            None => Ok(()),
        });
    out
}

/// The cgroup's lines: its peak; a cgroup attached to, its limit and the
/// headroom the peak left, and the OOM kills since attach.
fn write_cgroup(report: &Report, out: &mut String) -> std::fmt::Result {
    if let (Some(peak), Some(at)) = (report.cgroup_peak_bytes, report.cgroup_peak_elapsed_s) {
        writeln!(
            out,
            "cgroup peak   {} by {}: the whole tree, exact, incl. page cache and kernel memory",
            format_bytes(peak),
            format_seconds(at)
        )?;
    }
    if let (Some(limit), Some(percent)) = (
        report.cgroup_limit_bytes,
        report.cgroup_peak_percent_of_limit,
    ) {
        writeln!(
            out,
            "cgroup limit  {}: peak {percent:.0} % of memory.max",
            format_bytes(limit)
        )?;
    }
    if let Some(kills) = report.oom_kills.filter(|&kills| kills > 0) {
        writeln!(
            out,
            "OOM kills     {kills} since attach (the kernel's OOM killer, in the cgroup)"
        )?;
    }
    Ok(())
}

fn write_figures(report: &Report, out: &mut String) -> std::fmt::Result {
    let plural = if report.samples == 1 { "" } else { "s" };
    write!(out, "{}: {} sample{plural}", report.file, report.samples)?;
    if let Some(interval) = report.interval_s {
        write!(
            out,
            " over {}, every {}",
            format_seconds(report.duration_s),
            format_seconds(interval)
        )?;
    }
    writeln!(out, " ({} format)", report.format)?;
    // A `--no-procs` recording read no process (docs/reading-back.md): its
    // 0 B of RSS is no figure, as the summary at record time says; the
    // cgroup's lines follow.
    if report.processes_read {
        write_rss(report, out)?;
    } else {
        writeln!(
            out,
            "processes     not read (--no-procs): no RSS figures, the cgroup's below"
        )?;
    }
    write_cgroup(report, out)?;
    writeln!(out, "most procs    {}", report.max_procs)?;
    if report.processes_read {
        writeln!(
            out,
            "growth        {}",
            growth_sentence(
                super::growth::verdict(report.growth_mib_per_hour, report.growth_r2),
                report.duration_s
            )
        )?;
    }
    if let Some(breakdown) = &report.breakdown {
        super::breakdown::write_text(breakdown, out)?;
    }
    Ok(())
}

/// The RSS lines: peak, kernel peak, mean, median, p95, first and last,
/// and PSS and USS when recorded.
fn write_rss(report: &Report, out: &mut String) -> std::fmt::Result {
    writeln!(
        out,
        "peak RSS      {} at {} ({})",
        format_bytes(report.peak_rss_bytes),
        format_seconds(report.peak_elapsed_s),
        report.peak_timestamp
    )?;
    if report.peak_between_samples {
        writeln!(
            out,
            "kernel peak   {}, above every sample: a spike fell between two samples",
            format_bytes(report.kernel_peak_rss_bytes)
        )?;
    } else {
        writeln!(
            out,
            "kernel peak   {}, not above the sampled peak",
            format_bytes(report.kernel_peak_rss_bytes)
        )?;
    }
    writeln!(out, "mean          {}", format_bytes(report.mean_rss_bytes))?;
    writeln!(
        out,
        "median        {}",
        format_bytes(report.median_rss_bytes)
    )?;
    writeln!(out, "p95           {}", format_bytes(report.p95_rss_bytes))?;
    writeln!(
        out,
        "first, last   {}, {}",
        format_bytes(report.first_rss_bytes),
        format_bytes(report.last_rss_bytes)
    )?;
    if let Some(pss) = report.peak_pss_bytes {
        writeln!(out, "peak PSS      {}", format_bytes(pss))?;
    }
    if let Some(uss) = report.peak_uss_bytes {
        writeln!(out, "peak USS      {}", format_bytes(uss))?;
    }
    Ok(())
}

/// The sparkline (none where no process was read), and the top
/// processes of a per-process recording.
fn write_shape(report: &Report, out: &mut String) -> std::fmt::Result {
    let (line, low, high) = &report.sparkline;
    let (low, high) = (*low, *high);
    if report.processes_read {
        writeln!(
            out,
            "RSS           {line}  {} to {}",
            format_bytes(low),
            format_bytes(high)
        )?;
    }
    if let Some(top) = &report.top_processes {
        writeln!(out, "top processes by peak RSS")?;
        for process in top {
            writeln!(
                out,
                "  {:>10}  {} ({})",
                format_bytes(process.peak_rss_bytes),
                printable(&process.command),
                process.pid
            )?;
        }
    }
    Ok(())
}

/// The changes from the baseline, and the gate's verdict.
fn write_comparison(comparison: &Comparison, out: &mut String) -> std::fmt::Result {
    writeln!(out, "against the baseline {}", comparison.file)?;
    for (label, change) in [
        ("peak RSS", &comparison.peak_rss_bytes),
        ("mean", &comparison.mean_rss_bytes),
        ("p95", &comparison.p95_rss_bytes),
    ] {
        writeln!(
            out,
            "  {label:<12}{}, was {}: {}",
            format_bytes(change.value),
            format_bytes(change.baseline),
            signed_bytes_with_percent(change)
        )?;
    }
    let duration = &comparison.duration_s;
    writeln!(
        out,
        "  duration    {}, was {}: {} ({})",
        format_seconds(duration.value),
        format_seconds(duration.baseline),
        signed_seconds(duration.change),
        signed_percent(duration.percent)
    )?;
    let verdict = if comparison.above_limit {
        "REGRESSION: the peak grew above"
    } else {
        "ok: the peak is within"
    };
    writeln!(
        out,
        "  gate        {verdict} the limit of {}",
        comparison.limit_text()
    )?;
    if let Some(changes) = &comparison.phases {
        super::phase_changes::write_text(changes, &comparison.max_increase, out)?;
    } else if let Some(why) = comparison.phases_missing {
        writeln!(out, "  phases      not compared: {why}")?;
    }
    Ok(())
}

/// The growth rate as a plain sentence, stated by the report's one rule,
/// in a unit that fits the run's length.
fn growth_sentence(verdict: Verdict, duration_s: f64) -> String {
    match verdict {
        Verdict::TooFew => {
            "not enough samples for a growth rate (3 needed after the first 20% of the run)".into()
        }
        Verdict::Flat => "no steady growth (RSS flat)".into(),
        Verdict::Unsteady { r2 } => format!("no steady growth (R² {r2:.2})"),
        Verdict::Steady { bytes_per_s, r2 } => {
            let verb = if bytes_per_s > 0.0 { "grew" } else { "shrank" };
            format!(
                "RSS {verb} {}, steadily (R² {r2:.2})",
                format_rate(bytes_per_s.abs(), duration_s)
            )
        }
    }
}

/// RSS over time in at most `width` characters: time is cut into equal
/// buckets, each showing its highest sample (so a spike is never averaged
/// away); a bucket without samples repeats the one before. Scaled from the
/// lowest bucket to the highest, which are returned with the line.
pub(crate) fn sparkline(samples: &[(f64, u64)], width: usize) -> (String, u64, u64) {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (Some(&(first_x, first_rss)), Some(&(last_x, _))) = (samples.first(), samples.last())
    else {
        return (String::new(), 0, 0);
    };
    let span = last_x - first_x;
    let width = if span > 0.0 {
        width.min(samples.len()).max(1)
    } else {
        1
    };
    let mut buckets: Vec<Option<u64>> = vec![None; width];
    for &(x, rss) in samples {
        let position = if span > 0.0 {
            ((x - first_x) / span * width as f64) as usize
        } else {
            0
        };
        let bucket = &mut buckets[position.min(width - 1)];
        *bucket = Some(bucket.map_or(rss, |high| high.max(rss)));
    }
    let mut previous = first_rss;
    let values: Vec<u64> = buckets
        .into_iter()
        .map(|bucket| {
            previous = bucket.unwrap_or(previous);
            previous
        })
        .collect();
    let low = values.iter().copied().min().unwrap_or(0);
    let high = values.iter().copied().max().unwrap_or(0);
    let line = values
        .into_iter()
        .map(|value| {
            if high == low {
                BARS[0]
            } else {
                let level = (value - low) as f64 / (high - low) as f64 * (BARS.len() - 1) as f64;
                BARS[(level.round() as usize).min(BARS.len() - 1)]
            }
        })
        .collect();
    (line, low, high)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(elapsed_s: f64, rss_bytes: u64) -> (f64, u64) {
        (elapsed_s, rss_bytes)
    }

    #[test]
    fn sentences() {
        use super::super::growth::verdict;
        assert_eq!(
            growth_sentence(verdict(Some(12.34), Some(0.97)), 7200.0),
            "RSS grew 12.3 MiB/h, steadily (R² 0.97)"
        );
        assert_eq!(
            growth_sentence(verdict(Some(-4.0), Some(0.9)), 7200.0),
            "RSS shrank 4.00 MiB/h, steadily (R² 0.90)"
        );
        // 40 s seen: per second, not 17227 MiB/h.
        assert_eq!(
            growth_sentence(verdict(Some(17227.0), Some(0.9)), 40.0),
            "RSS grew 4.79 MiB/s, steadily (R² 0.90)"
        );
        assert_eq!(
            growth_sentence(verdict(Some(5.0), Some(0.12)), 7200.0),
            "no steady growth (R² 0.12)"
        );
        assert_eq!(
            growth_sentence(verdict(Some(0.0), None), 10.0),
            "no steady growth (RSS flat)"
        );
        assert!(growth_sentence(verdict(None, None), 1.0).starts_with("not enough samples"));
    }

    #[test]
    fn sparkline_keeps_spikes_and_width() {
        let mut samples: Vec<(f64, u64)> = (0..1000).map(|t| sample(t as f64, 100)).collect();
        samples[500].1 = 1000;
        let (line, low, high) = sparkline(&samples, 60);
        assert_eq!(line.chars().count(), 60);
        assert_eq!(line.chars().filter(|&c| c == '█').count(), 1, "{line}");
        assert_eq!((low, high), (100, 1000));
        assert_eq!(sparkline(&samples[..1], 60), ("▁".into(), 100, 100));
        let rising: Vec<(f64, u64)> = (0..8).map(|t| sample(t as f64, t as u64)).collect();
        assert_eq!(sparkline(&rising, 60).0, "▁▂▃▄▅▆▇█");
    }

    #[test]
    fn sparkline_fills_gaps_with_the_previous_value() {
        // Buckets of 2.5 s: [0, 0.5], nothing, nothing, [9, 10].
        let gap = [
            sample(0.0, 10),
            sample(0.5, 20),
            sample(9.0, 10),
            sample(10.0, 0),
        ];
        assert_eq!(sparkline(&gap, 4), ("███▁".into(), 10, 20));
    }
}
