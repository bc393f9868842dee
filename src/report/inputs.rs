//! Recordings read together must be alike: one format and one layout, so
//! that a table or a comparison sets like against like. The first file read
//! (the baseline, when there is one) sets both.

use std::path::Path;

use anyhow::{Result, anyhow, bail};

use crate::read::Recording;
use crate::sink::Format;

/// What the first recording was: its name (`the baseline old.csv` for a
/// baseline), format and layout.
#[derive(Debug, Default)]
pub(crate) struct Inputs {
    first: Option<(String, Format, bool)>,
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Csv => "CSV",
        Format::Jsonl => "JSON Lines",
    }
}

fn layout_name(per_process: bool) -> &'static str {
    if per_process {
        "per-process"
    } else {
        "default (one row per sample)"
    }
}

impl Inputs {
    /// Admits the baseline, read first: the others are compared with it,
    /// and a message about a difference names it as the baseline.
    pub(crate) fn admit_baseline(&mut self, recording: &Recording) -> Result<()> {
        self.admit(recording)?;
        if let Some((name, _, _)) = &mut self.first {
            *name = format!("the baseline {name}");
        }
        Ok(())
    }

    /// Accepts a recording like the first one, or says how it differs.
    pub(crate) fn admit(&mut self, recording: &Recording) -> Result<()> {
        let name = recording.path().display().to_string();
        let (format, per_process) = (recording.format(), recording.layout().per_process);
        let Some((first, first_format, first_per_process)) = &self.first else {
            self.first = Some((name, format, per_process));
            return Ok(());
        };
        if format != *first_format {
            bail!(
                "{name}: {}, while {first} is {}: give recordings of one format",
                format_name(format),
                format_name(*first_format)
            );
        }
        if per_process != *first_per_process {
            bail!(
                "{name}: {} layout, while {first} is {}: give recordings of one layout",
                layout_name(per_process),
                layout_name(*first_per_process)
            );
        }
        Ok(())
    }
}

/// Reads the baseline; its errors say that it is the baseline, before its
/// name: `baseline old.csv: No such file or directory`,
/// `baseline old.csv:3: field rss_bytes is not a number: "x"`.
pub(crate) fn read_baseline(path: &Path) -> Result<Recording> {
    Recording::read(path).map_err(|err| anyhow!("{}", baseline_message(path, &format!("{err:#}"))))
}

/// The reader's message about `path`, with `baseline ` before the name.
fn baseline_message(path: &Path, message: &str) -> String {
    let name = path.display().to_string();
    // `cannot open NAME: reason` and `cannot read NAME: reason`: the reason
    // alone says it.
    let rest = ["cannot open ", "cannot read "]
        .iter()
        .find_map(|verb| message.strip_prefix(verb)?.strip_prefix(name.as_str()))
        .or_else(|| message.strip_prefix(name.as_str()));
    match rest {
        Some(rest) => format!("baseline {name}{rest}"),
        None => format!("baseline {name}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_errors_say_it_is_the_baseline() {
        let old = Path::new("old.csv");
        assert_eq!(
            baseline_message(old, "cannot open old.csv: No such file or directory"),
            "baseline old.csv: No such file or directory"
        );
        assert_eq!(
            baseline_message(old, "old.csv:3: field rss_bytes is not a number: \"x\""),
            "baseline old.csv:3: field rss_bytes is not a number: \"x\""
        );
        assert_eq!(
            baseline_message(old, "something else"),
            "baseline old.csv: something else"
        );
    }
}
