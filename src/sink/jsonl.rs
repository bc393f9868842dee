//! JSON Lines rows (docs/format.md): one object per row, the CSV header's
//! names as keys in the same order, numbers as JSON numbers, an empty field
//! as `null`. No header line: each row names its fields.

use std::io::{self, Write as _};

use super::Encoder;
use crate::schema::{Column, Value};

/// The JSON Lines encoder.
pub(crate) struct JsonLines;

impl Encoder for JsonLines {
    fn header(&mut self, _columns: &[&'static Column], _out: &mut Vec<u8>) -> io::Result<()> {
        Ok(())
    }

    fn row(
        &mut self,
        columns: &[&'static Column],
        values: &[Value<'_>],
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        out.push(b'{');
        for (index, (column, value)) in columns.iter().zip(values).enumerate() {
            if index > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, column.name)?;
            out.push(b':');
            match value {
                Value::Empty => out.extend_from_slice(b"null"),
                // JSON has no NaN nor infinity: a figure that is not one is
                // unknown.
                Value::Fixed(number, _) if !number.is_finite() => out.extend_from_slice(b"null"),
                Value::Int(_) | Value::Fixed(..) => write!(out, "{value}")?,
                Value::Time(_) => serde_json::to_writer(&mut *out, &value.to_string())?,
                Value::Text(text) => serde_json::to_writer(&mut *out, text)?,
            }
        }
        out.extend_from_slice(b"}\n");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::sink::Format;
    use crate::sink::tests::written;

    #[test]
    fn default_rows() {
        assert_eq!(
            written(Format::Jsonl, false, true),
            "{\"timestamp\":\"2025-11-25T10:15:00.123Z\",\"elapsed_s\":1.500000,\
             \"trigger\":\"interval\",\"procs\":2,\"rss_bytes\":4196,\"pss_bytes\":null,\
             \"uss_bytes\":null,\"vsz_bytes\":8392,\"cpu_percent\":13.2,\"peak_rss_bytes\":10000}\n"
        );
    }

    #[test]
    fn per_process_rows_escape_the_command() {
        let text = written(Format::Jsonl, true, true);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            "{\"timestamp\":\"2025-11-25T10:15:00.123Z\",\"elapsed_s\":1.500000,\
             \"trigger\":\"interval\",\"pid\":10,\"ppid\":1,\"command\":\"a,b \\\"c\\\"\",\
             \"rss_bytes\":4096,\"pss_bytes\":1000,\"uss_bytes\":600,\"vsz_bytes\":8192,\"cpu_percent\":12.2,\
             \"peak_rss_bytes\":10000}"
        );
        for line in lines {
            let _: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
        }
    }
}
