//! A CSV recording: the header tells the layout, each row is checked.

use std::io::Read;
use std::path::Path;

use anyhow::{Result, anyhow, bail};

use super::Visitor;
use super::build::Builder;
use super::fields::Fields;
use crate::console::reason::reason;
use crate::schema::Layout;

/// Reads the rows, handing each whole sample to `visitor`; returns the
/// layout and the number of samples.
pub(crate) fn read(
    path: &Path,
    input: impl Read,
    visitor: &mut (impl Visitor + ?Sized),
) -> Result<(Layout, u64)> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        // Row lengths are checked here, to say which line was cut short.
        .flexible(true)
        .from_reader(input);
    let mut record = ::csv::StringRecord::new();
    if !reader
        .read_record(&mut record)
        .map_err(|err| csv_error(path, &err))?
    {
        bail!("{}: empty file, no CSV header", path.display());
    }
    let names: Vec<&str> = record.iter().collect();
    let layout = Layout::from_header(&names).ok_or_else(|| {
        anyhow!(
            "{}:1: not a memsample recording: {}",
            path.display(),
            Layout::header_problem(&names)
        )
    })?;
    let columns = layout.columns_in(&names);
    let mut builder = Builder::new(layout, visitor);
    while reader
        .read_record(&mut record)
        .map_err(|err| csv_error(path, &err))?
    {
        let texts: Vec<&str> = record.iter().collect();
        let fields = Fields {
            path,
            line: record.position().map_or(0, ::csv::Position::line),
            columns: &columns,
            texts: &texts,
        };
        if texts.len() != columns.len() {
            return Err(fields.error(format!(
                "row {}: {} fields, the header has {}",
                if texts.len() < columns.len() {
                    "cut short"
                } else {
                    "too long"
                },
                texts.len(),
                columns.len(),
            )));
        }
        builder.push(&fields)?;
    }
    builder.finish();
    Ok((layout, builder.count))
}

/// A csv crate error as one line naming the file and, when known, the line.
fn csv_error(path: &Path, err: &::csv::Error) -> anyhow::Error {
    let line = err.position().map(::csv::Position::line);
    match (err.kind(), line) {
        (::csv::ErrorKind::Io(io_err), _) => {
            anyhow!("cannot read {}: {}", path.display(), reason(io_err))
        }
        (::csv::ErrorKind::Utf8 { .. }, Some(line)) => {
            anyhow!("{}:{line}: not valid UTF-8", path.display())
        }
        (_, Some(line)) => anyhow!("{}:{line}: {err}", path.display()),
        (_, None) => anyhow!("{}: {err}", path.display()),
    }
}
