//! memsample's own lines on stderr: the one place that writes them (start
//! line, live line, warnings, errors, summary, chart line), with how
//! commands are quoted in them (`quote`) and how OS errors read (`reason`).
//!
//! A write to stderr can fail (`2>/dev/full`, a closed pipe, a hung-up
//! terminal); `eprintln!` would panic and memsample would leave the command
//! orphaned and its status lost. Here failures are ignored: a message nobody
//! can read must not change how memsample ends (docs/usage.md).

pub(crate) mod quote;
pub(crate) mod reason;

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::units::{format_bytes, format_duration, format_seconds};

/// Writes `memsample: {text}` and a newline on stderr, in one write, and
/// ignores any failure. Control characters in `text` (a process's name, a
/// path) are escaped, so that the message stays one line.
pub(crate) fn line(text: impl Display) {
    let text = text.to_string();
    let whole = format!(
        "memsample: {}\n",
        crate::console::quote::escape_controls(&text)
    );
    let _ = std::io::stderr().lock().write_all(whole.as_bytes());
}

/// `say!("format", args...)`: [`line()`] with `format!` arguments.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::console::line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// `1 process`, `2 processes`: a count with its noun, singular for one.
pub(crate) fn count(n: u64, singular: &str, plural: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {plural}")
    }
}

/// The live line of attach mode (without the `memsample: ` prefix).
pub(crate) fn live_message(
    rss: &str,
    peak: &str,
    processes: u64,
    samples: u64,
    elapsed: &str,
) -> String {
    format!(
        "RSS {rss} · peak {peak} · {} · {} · {elapsed}",
        count(processes, "process", "processes"),
        count(samples, "sample", "samples"),
    )
}

/// The lines of one recording: `-q` silences all but errors, and a line
/// printed while the live line shows goes above it, not through it.
pub(crate) struct Console {
    quiet: bool,
    live: Option<ProgressBar>,
}

/// Says warnings from another thread (publishing), as [`Console::note`]
/// does: silenced by `-q`, above the live line.
#[derive(Clone)]
pub(crate) struct Warner {
    quiet: bool,
    live: Option<ProgressBar>,
}

impl Warner {
    pub(crate) fn note(&self, text: impl Display) {
        if self.quiet {
            return;
        }
        match &self.live {
            Some(live) => live.suspend(|| line(text)),
            None => line(text),
        }
    }
}

/// What the live line shows after each sample.
pub(crate) struct Live {
    pub(crate) rss_bytes: u64,
    pub(crate) peak_bytes: u64,
    pub(crate) processes: usize,
    pub(crate) samples: u64,
    pub(crate) elapsed_s: f64,
}

impl Console {
    /// With a live line when `live` is asked (attach mode), memsample is not
    /// quiet and stderr is a terminal.
    pub(crate) fn new(quiet: bool, live: bool) -> Console {
        let live = (live && !quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
            if let Ok(style) = ProgressStyle::with_template("memsample: {msg}") {
                bar.set_style(style);
            }
            bar
        });
        Console { quiet, live }
    }

    /// A handle for another thread's warnings.
    pub(crate) fn warner(&self) -> Warner {
        Warner {
            quiet: self.quiet,
            live: self.live.clone(),
        }
    }

    /// A line that is printed even with `-q`, above the live line.
    pub(crate) fn error(&self, text: impl Display) {
        match &self.live {
            Some(live) => live.suspend(|| line(text)),
            None => line(text),
        }
    }

    /// A line that `-q` silences, above the live line.
    pub(crate) fn note(&self, text: impl Display) {
        if !self.quiet {
            self.error(text);
        }
    }

    /// `recording WHAT every DUR → FILE`, and a note in parentheses (why
    /// the whole tree's peak is only sampled).
    pub(crate) fn start(&self, what: &str, interval: Duration, file: &str, note: Option<&str>) {
        let note = note.map(|note| format!(" ({note})")).unwrap_or_default();
        self.note(format_args!(
            "recording {what} every {} → {file}{note}",
            format_duration(interval)
        ));
    }

    /// `--pss` at a short interval slows the target down.
    pub(crate) fn pss_cost(&self, interval: Duration) {
        self.note(format_args!(
            "warning: --pss every {} is costly: each read walks the page tables and holds the process's memory lock",
            format_duration(interval)
        ));
    }

    /// Updates the live line, when there is one (`now` is only worked out then).
    pub(crate) fn live(&self, now: impl FnOnce() -> Live) {
        if let Some(live) = &self.live {
            let now = now();
            live.set_message(live_message(
                &format_bytes(now.rss_bytes),
                &format_bytes(now.peak_bytes),
                now.processes as u64,
                now.samples,
                &format_seconds(now.elapsed_s),
            ));
        }
    }

    /// The output failed: sampling stops (printed even with `-q`).
    pub(crate) fn sampling_stopped(&self, file: &str, err: &dyn Display, broken_pipe: bool) {
        if broken_pipe {
            self.error(format_args!(
                "{file}: the reader went away, sampling stopped"
            ));
        } else {
            self.error(format_args!("{err}; sampling stopped"));
        }
    }

    /// Clears the live line, for the summary.
    pub(crate) fn finish_live(&mut self) {
        if let Some(live) = self.live.take() {
            live.finish_and_clear();
        }
    }

    pub(crate) fn summary(&self, lines: &[String]) {
        for text in lines {
            self.note(text);
        }
    }

    /// The `--plot` chart: where it is, or why it is not (even with `-q`).
    pub(crate) fn chart(&self, svg: &std::path::Path, written: &anyhow::Result<()>) {
        match written {
            Ok(()) => self.note(format_args!("chart in {}", svg.display())),
            Err(err) => self.error(format_args!("cannot write the chart: {err:#}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular() {
        assert_eq!(count(1, "process", "processes"), "1 process");
        assert_eq!(count(0, "process", "processes"), "0 processes");
        assert_eq!(count(3, "sample", "samples"), "3 samples");
        assert_eq!(
            live_message("1.0 MiB", "2.0 MiB", 1, 1, "0.0s"),
            "RSS 1.0 MiB · peak 2.0 MiB · 1 process · 1 sample · 0.0s"
        );
    }
}
