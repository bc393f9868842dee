//! CSV rows (RFC 4180 quoting by the `csv` crate), header first.

use std::fmt::Write as _;
use std::io;

use super::Encoder;
use crate::schema::{Column, Value};

/// The CSV encoder.
#[derive(Default)]
pub(crate) struct Csv {
    /// A number's text, kept to avoid an allocation per field.
    field: String,
}

impl Csv {
    /// Runs `fill` on a CSV writer that appends to `out`.
    fn with_writer<F>(out: &mut Vec<u8>, fill: F) -> io::Result<()>
    where
        F: FnOnce(&mut ::csv::Writer<&mut Vec<u8>>) -> ::csv::Result<()>,
    {
        // A small buffer: rows are short, and the writer is made per row.
        let mut writer = ::csv::WriterBuilder::new()
            .buffer_capacity(512)
            .from_writer(out);
        fill(&mut writer).map_err(io::Error::other)?;
        writer.flush()
    }
}

impl Encoder for Csv {
    fn header(&mut self, columns: &[&'static Column], out: &mut Vec<u8>) -> io::Result<()> {
        Csv::with_writer(out, |writer| {
            writer.write_record(columns.iter().map(|column| column.name))
        })
    }

    fn row(
        &mut self,
        _columns: &[&'static Column],
        values: &[Value<'_>],
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        let field = &mut self.field;
        Csv::with_writer(out, |writer| {
            for value in values {
                match value {
                    Value::Text(text) => writer.write_field(text)?,
                    other => {
                        field.clear();
                        let _ = write!(field, "{other}");
                        writer.write_field(field.as_bytes())?;
                    }
                }
            }
            writer.write_record(None::<&[u8]>)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::schema::Layout;
    use crate::sink::Format;
    use crate::sink::tests::{written, written_layout};

    #[test]
    fn default_rows() {
        assert_eq!(
            written(Format::Csv, false, false),
            "timestamp,elapsed_s,trigger,procs,rss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes\n\
             2025-11-25T10:15:00.123Z,1.500000,interval,2,4196,8392,13.2,10000\n"
        );
        assert_eq!(
            written(Format::Csv, false, true),
            "timestamp,elapsed_s,trigger,procs,rss_bytes,pss_bytes,uss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes\n\
             2025-11-25T10:15:00.123Z,1.500000,interval,2,4196,,,8392,13.2,10000\n",
            "one process without PSS leaves the sum empty"
        );
    }

    #[test]
    fn per_process_rows_with_pss_and_quoting() {
        let text = written(Format::Csv, true, true);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "timestamp,elapsed_s,trigger,pid,ppid,command,rss_bytes,pss_bytes,uss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes"
        );
        assert_eq!(
            lines[1],
            "2025-11-25T10:15:00.123Z,1.500000,interval,10,1,\"a,b \"\"c\"\"\",4096,1000,600,8192,12.2,10000"
        );
        assert_eq!(
            lines[2],
            "2025-11-25T10:15:00.123Z,1.500000,interval,11,10,child,100,,,200,1.0,100"
        );
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn breakdown_rows_per_process_and_summed() {
        let layout = |per_process| Layout {
            per_process,
            pss: false,
            breakdown: true,
            cgroup: false,
            attached: false,
            phases: false,
        };
        let text = written_layout(Format::Csv, layout(true));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "timestamp,elapsed_s,trigger,pid,ppid,command,rss_bytes,anon_bytes,file_bytes,\
             shmem_bytes,swap_bytes,threads,vsz_bytes,cpu_percent,peak_rss_bytes"
        );
        assert!(
            lines[1].contains(",4096,3000,1000,96,0,3,8192,"),
            "{}",
            lines[1]
        );
        assert!(lines[2].contains(",100,,,,,,200,"), "{}", lines[2]);
        // One process without its parts leaves the tree's empty.
        let text = written_layout(Format::Csv, layout(false));
        assert!(text.ends_with(",2,4196,,,,,,8392,13.2,10000\n"), "{text}");
    }
}
