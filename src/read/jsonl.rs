//! A JSON Lines recording: the first object's keys tell the layout, every
//! object must have the same ones, in any order (fields are found by name);
//! each value is turned into the text CSV would hold (`null` empty) and
//! checked as a CSV field is.

use std::borrow::Cow;
use std::fmt;
use std::io::BufRead;
use std::path::Path;

use anyhow::{Result, anyhow};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::Visitor as SampleVisitor;
use super::build::Builder;
use super::fields::Fields;
use crate::console::reason::reason;
use crate::schema::{COLUMNS, Column, Layout, Opt, quoted};

/// Reads the rows, handing each whole sample to `visitor`; returns the
/// layout and the number of samples.
pub(crate) fn read<V: SampleVisitor + ?Sized>(
    path: &Path,
    mut input: impl BufRead,
    visitor: &mut V,
) -> Result<(Layout, u64)> {
    // The first row's keys and columns; the layout is set from them.
    let mut state: Option<(Vec<String>, Vec<&'static Column>)> = None;
    let mut builder = Builder::new(Layout::default(), visitor);
    let mut bytes = Vec::new();
    let mut line = 0u64;
    loop {
        bytes.clear();
        let read = input
            .read_until(b'\n', &mut bytes)
            .map_err(|err| anyhow!("cannot read {}: {}", path.display(), reason(&err)))?;
        if read == 0 {
            break;
        }
        line += 1;
        let here = |reason: String| anyhow!("{}:{line}: {reason}", path.display());
        let text = std::str::from_utf8(&bytes).map_err(|_| here("not valid UTF-8".into()))?;
        if text.trim().is_empty() {
            continue;
        }
        let Entries(mut entries) =
            serde_json::from_str(text).map_err(|err| here(format!("not a JSON object: {err}")))?;
        // Keys are fields by name, in any order (`jq -S` sorts them): put
        // them in the columns' order, unless they are in the first row's.
        let as_first = state.as_ref().is_some_and(|(first, _)| {
            first.len() == entries.len() && first.iter().zip(&entries).all(|(a, (b, _))| a == b)
        });
        if !as_first {
            entries.sort_by_key(|(key, _)| column_rank(key));
        }
        let keys: Vec<&str> = entries.iter().map(|(key, _)| key.as_str()).collect();
        let (first_keys, columns) = match &mut state {
            Some(state) => state,
            None => {
                let layout = Layout::from_header(&keys).ok_or_else(|| {
                    here(format!(
                        "not a memsample recording: {}",
                        fields_problem(&keys)
                    ))
                })?;
                let first = keys.iter().map(|key| key.to_string()).collect();
                builder.layout = layout;
                state.insert((first, layout.columns_in(&keys)))
            }
        };
        if *first_keys != keys {
            return Err(here(keys_problem(first_keys, &keys)));
        }
        let texts = texts(columns, &entries).map_err(here)?;
        let texts: Vec<&str> = texts.iter().map(|text| text.as_ref()).collect();
        builder.push(&Fields {
            path,
            line,
            columns,
            texts: &texts,
        })?;
    }
    if state.is_none() {
        return Err(anyhow!("{}: empty file, no rows", path.display()));
    }
    builder.finish();
    Ok((builder.layout, builder.count))
}

/// Where a key goes among the columns: a column's place in the registry,
/// anything else after every column (then refused by name).
fn column_rank(key: &str) -> usize {
    COLUMNS
        .iter()
        .position(|column| column.name == key)
        .unwrap_or(COLUMNS.len())
}

/// What is wrong with a first row's fields (in the columns' order), by
/// name: order does not matter in JSON.
fn fields_problem(keys: &[&str]) -> String {
    if let Some(unknown) = keys.iter().find(|key| column_rank(key) == COLUMNS.len()) {
        return format!("unknown field {}", quoted(unknown));
    }
    if let Some(twice) = keys.windows(2).find(|pair| pair[0] == pair[1]) {
        return format!("field {} given twice", twice[0]);
    }
    // The layout the fields point at: pid for per-process rows, an option's
    // field for that option.
    let mut layout = Layout {
        per_process: keys.contains(&"pid"),
        ..Layout::default()
    };
    for column in COLUMNS.iter().filter(|column| keys.contains(&column.name)) {
        match column.option {
            Some(Opt::Pss) => layout.pss = true,
            Some(Opt::Breakdown) => layout.breakdown = true,
            Some(Opt::Cgroup) => layout.cgroup = true,
            Some(Opt::Attached) => layout.attached = true,
            Some(Opt::AttachedParts) => {
                layout.attached = true;
                layout.breakdown = true;
            }
            Some(Opt::Phases) => layout.phases = true,
            None => {}
        }
    }
    let expected = layout.header();
    if let Some(missing) = expected.iter().find(|name| !keys.contains(name)) {
        return format!("missing field {missing}");
    }
    match keys.iter().find(|key| !expected.contains(key)) {
        Some(extra) => format!("field {} does not belong with the others", quoted(extra)),
        None => Layout::header_problem(keys),
    }
}

/// How a row's keys differ from the first row's, by name.
fn keys_problem(first: &[String], keys: &[&str]) -> String {
    if let Some(extra) = keys
        .iter()
        .find(|key| !first.iter().any(|name| name == *key))
    {
        return format!("field {} not in the first row", quoted(extra));
    }
    match first.iter().find(|name| !keys.contains(&name.as_str())) {
        Some(missing) => format!("field {missing} missing (the first row has it)"),
        None => "fields differ from the first row's".into(),
    }
}

/// The values as CSV would hold them: numbers for numeric columns, strings
/// for text ones, `null` as an empty field.
fn texts<'a>(
    columns: &[&'static Column],
    entries: &'a [(String, Value)],
) -> Result<Vec<Cow<'a, str>>, String> {
    columns
        .iter()
        .zip(entries)
        .map(|(column, (_, value))| match value {
            Value::Null => Ok(Cow::Borrowed("")),
            Value::String(text) if column.kind.is_text() => Ok(Cow::Borrowed(text.as_str())),
            Value::Number(number) if !column.kind.is_text() => Ok(Cow::Owned(number.to_string())),
            other => {
                let expected = if column.kind.is_text() {
                    "a string"
                } else {
                    "a number"
                };
                Err(format!(
                    "field {} is not {expected}: {}",
                    column.name,
                    quoted(&other.to_string())
                ))
            }
        })
        .collect()
}

/// A JSON object's entries in the order of the line (a map would sort
/// them, and the order is part of the format).
struct Entries(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entries, D::Error> {
        deserializer.deserialize_map(EntriesVisitor)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Entries;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Value>()? {
            entries.push(entry);
        }
        Ok(Entries(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<(Layout, Vec<crate::read::Sample>)> {
        let mut samples = Vec::new();
        let (layout, _) = read(Path::new("m.jsonl"), text.as_bytes(), &mut samples)?;
        Ok((layout, samples))
    }

    const ROW: &str = "{\"timestamp\":\"2026-11-25T10:15:00.000Z\",\"elapsed_s\":0.000000,\
        \"trigger\":\"start\",\"procs\":1,\"rss_bytes\":100,\"vsz_bytes\":200,\
        \"cpu_percent\":0.0,\"peak_rss_bytes\":150}";

    #[test]
    fn rows_read_as_samples() {
        let (layout, samples) =
            read_text(&format!("{ROW}\n\n{}\n", ROW.replace("start", "exit"))).expect("reads");
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[1].rss_bytes, 100);
        assert_eq!(samples[1].peak_rss_bytes, 150);
        assert_eq!(layout, Layout::default());
    }

    /// The row with its keys sorted, as `jq -S` writes it.
    fn sorted_keys(row: &str) -> String {
        let object: serde_json::Map<String, Value> = serde_json::from_str(row).expect("JSON");
        // serde_json's map is sorted by key.
        serde_json::to_string(&object).expect("JSON")
    }

    #[test]
    fn keys_in_any_order_are_read_by_name() {
        let sorted = sorted_keys(ROW);
        assert!(sorted.starts_with("{\"cpu_percent\""), "{sorted}");
        let (layout, samples) = read_text(&format!(
            "{sorted}\n{ROW}\n{}\n",
            sorted.replace("start", "exit")
        ))
        .expect("reads");
        assert_eq!(layout, Layout::default());
        assert_eq!(samples.len(), 3);
        assert!(samples.iter().all(|sample| sample.rss_bytes == 100));
        assert_eq!(samples[2].peak_rss_bytes, 150);
        // Still strict: a field of no column, or one missing, is refused.
        let unknown = sorted.replace("}", ",\"gpus\":1}");
        let refused = read_text(&unknown).expect_err("refused").to_string();
        assert!(refused.contains("\"gpus\""), "{refused}");
    }

    #[test]
    fn bad_rows_name_file_and_line() {
        let error = |text: &str| read_text(text).expect_err("refused").to_string();
        assert_eq!(
            error(&format!("{ROW}\n{}\n", ROW.replace("100", "\"100\""))),
            "m.jsonl:2: field rss_bytes is not a number: \"\\\"100\\\"\""
        );
        assert_eq!(
            error(&format!("{ROW}\n{}\n", ROW.replace("\"procs\":1,", ""))),
            "m.jsonl:2: field procs missing (the first row has it)"
        );
        // In another order, a missing field is still missing.
        assert_eq!(
            error(&format!(
                "{}\n",
                sorted_keys(&ROW.replace("\"procs\":1,", ""))
            )),
            "m.jsonl:1: not a memsample recording: missing field procs"
        );
        assert!(
            error(&format!("{ROW}\n{{\"timest\n")).starts_with("m.jsonl:2: not a JSON object: ")
        );
        assert_eq!(
            error(&ROW.replace("\"procs\"", "\"gpus\"")),
            "m.jsonl:1: not a memsample recording: unknown field \"gpus\""
        );
        assert_eq!(
            error(&ROW.replace("100", "-1")),
            "m.jsonl:1: field rss_bytes is negative: \"-1\""
        );
        assert_eq!(
            error(&format!("{ROW}\n{}\n", ROW.replace("}", ",\"x\":1}"))),
            "m.jsonl:2: field \"x\" not in the first row"
        );
        assert_eq!(error("\n"), "m.jsonl: empty file, no rows");
    }
}
