//! The checks of one row, whatever its format: each field by its column's
//! kind, with errors that name the file, the line and the field.

use std::path::Path;
use std::str::FromStr;
use std::time::SystemTime;

use anyhow::{Result, anyhow};

use crate::schema::{Column, Kind, Trigger, quoted};

/// One row's fields as text, in the order of `columns` (a JSON Lines
/// `null` is an empty field, as in CSV).
pub(crate) struct Fields<'a> {
    pub(crate) path: &'a Path,
    pub(crate) line: u64,
    pub(crate) columns: &'a [&'static Column],
    pub(crate) texts: &'a [&'a str],
}

impl Fields<'_> {
    pub(super) fn error(&self, reason: impl std::fmt::Display) -> anyhow::Error {
        anyhow!("{}:{}: {reason}", self.path.display(), self.line)
    }

    /// The text of a column; empty when this layout has no such column.
    pub(super) fn text(&self, column: &Column) -> &str {
        self.columns
            .iter()
            .position(|c| *c == column)
            .and_then(|index| self.texts.get(index))
            .copied()
            .unwrap_or("")
    }

    pub(super) fn field_error(&self, column: &Column, problem: &str) -> anyhow::Error {
        self.error(format!(
            "field {} {problem}: {}",
            column.name,
            quoted(self.text(column))
        ))
    }

    /// Checks every field by its kind; an optional column may be empty.
    pub(super) fn check(&self) -> Result<()> {
        for &column in self.columns {
            if column.option.is_some() && self.text(column).is_empty() {
                continue;
            }
            match column.kind {
                Kind::Timestamp => self.timestamp(column).map(drop)?,
                Kind::Seconds | Kind::Percent => self.float(column).map(drop)?,
                Kind::Trigger => self.trigger(column).map(drop)?,
                Kind::Count => self.integer::<u64>(column).map(drop)?,
                Kind::Pid => self.integer::<u32>(column).map(drop)?,
                Kind::Bytes => self.bytes(column).map(drop)?,
                Kind::Text => {}
            }
        }
        Ok(())
    }

    pub(super) fn timestamp(&self, column: &Column) -> Result<SystemTime> {
        humantime::parse_rfc3339(self.text(column))
            .map_err(|_| self.field_error(column, "is not an RFC 3339 UTC time"))
    }

    pub(super) fn trigger(&self, column: &Column) -> Result<Trigger> {
        Trigger::from_str(self.text(column))
            .map_err(|err| self.field_error(column, &err.to_string()))
    }

    pub(super) fn bytes(&self, column: &Column) -> Result<u64> {
        parse_bytes(self.text(column)).map_err(|problem| self.field_error(column, problem))
    }

    /// `None` when the column is absent or empty.
    pub(super) fn optional_bytes(&self, column: &Column) -> Result<Option<u64>> {
        if self.text(column).is_empty() {
            Ok(None)
        } else {
            self.bytes(column).map(Some)
        }
    }

    /// `None` when the column is absent or empty.
    pub(super) fn optional_integer(&self, column: &Column) -> Result<Option<u64>> {
        if self.text(column).is_empty() {
            Ok(None)
        } else {
            self.integer(column).map(Some)
        }
    }

    /// A finite, non-negative float (seconds, percents).
    pub(super) fn float(&self, column: &Column) -> Result<f64> {
        let text = self.text(column);
        match text.parse::<f64>() {
            Ok(value) if value.is_nan() => Err(self.field_error(column, "is not a number")),
            Ok(value) if value.is_infinite() => Err(self.field_error(column, "is not finite")),
            Ok(value) if value < 0.0 || text.starts_with('-') => {
                Err(self.field_error(column, "is negative"))
            }
            Ok(value) => Ok(value),
            Err(_) => Err(self.field_error(column, "is not a number")),
        }
    }

    pub(super) fn integer<T: FromStr>(&self, column: &Column) -> Result<T> {
        self.text(column)
            .parse()
            .map_err(|_| self.field_error(column, "is not a whole number"))
    }
}

/// Parses a byte count, saying what is wrong with it otherwise.
pub(crate) fn parse_bytes(text: &str) -> Result<u64, &'static str> {
    if let Ok(bytes) = text.parse::<u64>() {
        return Ok(bytes);
    }
    if text.is_empty() {
        return Err("is empty");
    }
    match text.parse::<f64>() {
        Ok(value) if value.is_nan() => Err("is not a number"),
        Ok(_) if text.starts_with('-') => Err("is negative"),
        Ok(value) if value.is_infinite() => Err("is not finite"),
        Ok(value) if value.fract() == 0.0 && value >= u64::MAX as f64 => Err("is too large"),
        Ok(value) if value.fract() == 0.0 => Err("is not written as a whole number"),
        Ok(_) => Err("is not a whole number of bytes"),
        Err(_) => Err("is not a number"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Layout, RSS_BYTES, TRIGGER};

    #[test]
    fn bytes_parse_with_reasons() {
        assert_eq!(parse_bytes("123"), Ok(123));
        assert_eq!(parse_bytes("12a"), Err("is not a number"));
        assert_eq!(parse_bytes("NaN"), Err("is not a number"));
        assert_eq!(parse_bytes("-5"), Err("is negative"));
        assert_eq!(parse_bytes("1.5"), Err("is not a whole number of bytes"));
        assert_eq!(
            parse_bytes("100.0"),
            Err("is not written as a whole number")
        );
        assert_eq!(parse_bytes("99999999999999999999999"), Err("is too large"));
        assert_eq!(parse_bytes("inf"), Err("is not finite"));
        assert_eq!(parse_bytes(""), Err("is empty"));
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let columns = Layout::default().columns();
        let texts = [
            "2026-11-25T10:15:00.000Z",
            "0.000000",
            "tick",
            "1",
            "12a",
            "1",
            "0.0",
            "1",
        ];
        let fields = Fields {
            path: Path::new("m.csv"),
            line: 7,
            columns: &columns,
            texts: &texts,
        };
        let err = fields.check().expect_err("refused");
        assert_eq!(
            err.to_string(),
            "m.csv:7: field trigger is not start, interval, manual, stop, exit or mark: \"tick\""
        );
        assert!(fields.trigger(&TRIGGER).is_err());
        assert_eq!(
            fields.bytes(&RSS_BYTES).expect_err("refused").to_string(),
            "m.csv:7: field rss_bytes is not a number: \"12a\""
        );
        assert_eq!(quoted("a\nb"), "\"a\\nb\"");
        assert!(quoted(&"x".repeat(500)).len() < 80);
    }
}
