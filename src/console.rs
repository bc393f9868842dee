//! memsample's own lines on stderr: the one place that writes them.
//!
//! A write to stderr can fail (`2>/dev/full`, a closed pipe, a hung-up
//! terminal); `eprintln!` would panic and memsample would leave the command
//! orphaned and its status lost. Here failures are ignored: a message nobody
//! can read must not change how memsample ends (README, "Usage").

use std::fmt::Display;
use std::io::Write;

/// Writes `memsample: {text}` and a newline on stderr, in one write, and
/// ignores any failure. Control characters in `text` (a process's name, a
/// path) are escaped, so that the message stays one line.
pub(crate) fn line(text: impl Display) {
    let text = text.to_string();
    let whole = format!("memsample: {}\n", crate::quote::escape_controls(&text));
    let _ = std::io::stderr().lock().write_all(whole.as_bytes());
}

/// `say!("format", args...)`: [`line`] with `format!` arguments.
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
