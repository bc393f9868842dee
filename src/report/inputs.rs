//! Recordings read together must be alike: one format and one layout, so
//! that a table or a comparison sets like against like. The first file read
//! (the baseline, when there is one) sets both.

use std::path::Path;

use anyhow::{Result, anyhow, bail};

use crate::recording::Recording;
use crate::sink::Format;

/// What the first recording was: its name, format and layout.
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
    /// Accepts a recording like the first one, or says how it differs.
    pub fn admit(&mut self, recording: &Recording) -> Result<()> {
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

/// Reads the baseline; its errors say that it is the baseline.
pub(crate) fn read_baseline(path: &Path) -> Result<Recording> {
    Recording::read(path).map_err(|err| anyhow!("baseline: {err:#}"))
}
