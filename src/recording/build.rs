//! Checked rows into samples, and per-process rows summed into the samples
//! of the tree (rows of one sample share its `elapsed_s` and are
//! consecutive).

use std::collections::HashMap;

use anyhow::Result;

use super::fields::Fields;
use super::{Process, Sample};
use crate::probe::Breakdown;
use crate::schema::{
    ANON_BYTES, COMMAND, ELAPSED_S, FILE_BYTES, Layout, PEAK_RSS_BYTES, PID, PPID, PROCS,
    PSS_BYTES, RSS_BYTES, SHMEM_BYTES, SWAP_BYTES, THREADS, TIMESTAMP, USS_BYTES,
};
use crate::stats::raise_peak;

/// Accumulates rows into samples (and processes, for per-process files).
pub(crate) struct Builder {
    pub layout: Layout,
    pub samples: Vec<Sample>,
    pub processes: Vec<Process>,
    process_index: HashMap<(u32, String), usize>,
}

/// The figures of one row that the samples are made of.
struct Figures {
    sample: Sample,
    peak_rss_bytes: u64,
}

impl Builder {
    pub fn new(layout: Layout) -> Builder {
        Builder {
            layout,
            samples: Vec::new(),
            processes: Vec::new(),
            process_index: HashMap::new(),
        }
    }

    /// Checks one row and adds it.
    pub fn push(&mut self, fields: &Fields<'_>) -> Result<()> {
        fields.check()?;
        let figures = Figures {
            sample: Sample {
                timestamp: fields.timestamp(&TIMESTAMP)?,
                elapsed_s: fields.float(&ELAPSED_S)?,
                procs: 1,
                rss_bytes: fields.bytes(&RSS_BYTES)?,
                pss_bytes: fields.optional_bytes(&PSS_BYTES)?,
                uss_bytes: fields.optional_bytes(&USS_BYTES)?,
                breakdown: breakdown(fields)?,
                peak_rss_bytes: 0,
            },
            peak_rss_bytes: fields.bytes(&PEAK_RSS_BYTES)?,
        };
        if let Some(previous) = self.samples.last()
            && figures.sample.elapsed_s < previous.elapsed_s
        {
            return Err(fields.error(format!(
                "elapsed_s goes back in time: {:.6} after {:.6}",
                figures.sample.elapsed_s, previous.elapsed_s
            )));
        }
        if self.layout.per_process {
            self.push_process(fields, figures)
        } else {
            self.samples.push(Sample {
                procs: fields.integer(&PROCS)?,
                peak_rss_bytes: figures.peak_rss_bytes,
                ..figures.sample
            });
            Ok(())
        }
    }

    fn push_process(&mut self, fields: &Fields<'_>, figures: Figures) -> Result<()> {
        let pid: u32 = fields.integer(&PID)?;
        fields.integer::<u32>(&PPID)?;
        let command = fields.text(&COMMAND).to_owned();
        let (elapsed_s, rss_bytes, pss_bytes, uss_bytes, parts) = (
            figures.sample.elapsed_s,
            figures.sample.rss_bytes,
            figures.sample.pss_bytes,
            figures.sample.uss_bytes,
            figures.sample.breakdown,
        );
        let process_peak = raise_peak(figures.peak_rss_bytes, rss_bytes, None);
        match self.samples.last_mut() {
            Some(sample) if sample.elapsed_s == elapsed_s => {
                sample.procs += 1;
                sample.rss_bytes = sample.rss_bytes.saturating_add(rss_bytes);
                // One process without PSS leaves the sample without.
                sample.pss_bytes = sample
                    .pss_bytes
                    .zip(pss_bytes)
                    .map(|(sum, pss)| sum.saturating_add(pss));
                sample.uss_bytes = sample
                    .uss_bytes
                    .zip(uss_bytes)
                    .map(|(sum, uss)| sum.saturating_add(uss));
                sample.breakdown = sample
                    .breakdown
                    .zip(parts)
                    .map(|(sum, parts)| sum.plus(parts));
                sample.peak_rss_bytes =
                    raise_peak(sample.peak_rss_bytes, sample.rss_bytes, Some(process_peak));
            }
            previous => {
                let so_far = previous.map_or(0, |sample| sample.peak_rss_bytes);
                self.samples.push(Sample {
                    peak_rss_bytes: raise_peak(so_far, rss_bytes, Some(process_peak)),
                    ..figures.sample
                });
            }
        }
        let sample_index = self.samples.len() - 1;
        let next_index = self.processes.len();
        let index = *self
            .process_index
            .entry((pid, command.clone()))
            .or_insert(next_index);
        if index == next_index {
            self.processes.push(Process {
                pid,
                command,
                peak_rss_bytes: 0,
                points: Vec::new(),
            });
        }
        let process = &mut self.processes[index];
        process.peak_rss_bytes = process.peak_rss_bytes.max(process_peak);
        process.points.push((sample_index, rss_bytes));
        Ok(())
    }
}

/// The parts of one row, when it has them: anon, file and shmem are needed;
/// swap and threads read as 0 when empty.
fn breakdown(fields: &Fields<'_>) -> Result<Option<Breakdown>> {
    let (Some(anon_bytes), Some(file_bytes), Some(shmem_bytes)) = (
        fields.optional_bytes(&ANON_BYTES)?,
        fields.optional_bytes(&FILE_BYTES)?,
        fields.optional_bytes(&SHMEM_BYTES)?,
    ) else {
        return Ok(None);
    };
    Ok(Some(Breakdown {
        anon_bytes,
        file_bytes,
        shmem_bytes,
        swap_bytes: fields.optional_bytes(&SWAP_BYTES)?.unwrap_or(0),
        threads: fields.optional_integer(&THREADS)?.unwrap_or(0),
    }))
}
