//! Checked rows into samples, and per-process rows summed into the samples
//! of the tree (rows of one sample share its `elapsed_s` and are
//! consecutive). Samples are handed to a [`Visitor`] as soon as they are
//! whole, so that nothing the size of the file is kept (docs/reading-back.md).

use anyhow::Result;

use super::fields::Fields;
use super::{ProcessRow, Sample, Visitor};
use crate::cgroup::attach::Parts;
use crate::probe::Breakdown;
use crate::schema::{
    ANON_BYTES, CGROUP_ANON_BYTES, CGROUP_BYTES, CGROUP_FILE_BYTES, CGROUP_INTERVAL_PEAK_BYTES,
    CGROUP_KERNEL_BYTES, CGROUP_LIMIT_BYTES, CGROUP_OOM_KILLS, CGROUP_PEAK_BYTES,
    CGROUP_SHMEM_BYTES, CGROUP_SWAP_BYTES, CGROUP_WORKING_SET_BYTES, COMMAND, CPU_PERCENT,
    CgroupFigures, ELAPSED_S, FILE_BYTES, Layout, PEAK_RSS_BYTES, PHASE, PID, PPID, PROCS,
    PSS_BYTES, RSS_BYTES, SHMEM_BYTES, SWAP_BYTES, THREADS, TIMESTAMP, TRIGGER, Trigger, USS_BYTES,
};
use crate::stats::raise_peak;

/// Accumulates rows into samples, handed to the visitor.
pub(crate) struct Builder<'v, V: Visitor + ?Sized> {
    pub(crate) layout: Layout,
    visitor: &'v mut V,
    /// The sample being summed (per-process layout), not yet handed over.
    pending: Option<Sample>,
    /// Samples handed over so far.
    pub(crate) count: u64,
    last_elapsed: Option<f64>,
    peak_so_far: u64,
}

impl<'v, V: Visitor + ?Sized> Builder<'v, V> {
    pub(super) fn new(layout: Layout, visitor: &'v mut V) -> Self {
        Builder {
            layout,
            visitor,
            pending: None,
            count: 0,
            last_elapsed: None,
            peak_so_far: 0,
        }
    }

    /// Checks one row and adds it.
    pub(super) fn push(&mut self, fields: &Fields<'_>) -> Result<()> {
        fields.check()?;
        let sample = Sample {
            timestamp: fields.timestamp(&TIMESTAMP)?,
            elapsed_s: fields.float(&ELAPSED_S)?,
            procs: 1,
            rss_bytes: fields.bytes(&RSS_BYTES)?,
            pss_bytes: fields.optional_bytes(&PSS_BYTES)?,
            uss_bytes: fields.optional_bytes(&USS_BYTES)?,
            breakdown: breakdown(fields)?,
            cpu_percent: fields.float(&CPU_PERCENT)?,
            peak_rss_bytes: fields.bytes(&PEAK_RSS_BYTES)?,
            exit: fields.trigger(&TRIGGER)? == Trigger::Exit,
            mark: fields.trigger(&TRIGGER)? == Trigger::Mark,
            phase: self.layout.phases.then(|| fields.text(&PHASE).to_owned()),
            cgroup: CgroupFigures {
                current_bytes: fields.optional_bytes(&CGROUP_BYTES)?,
                peak_bytes: fields.optional_bytes(&CGROUP_PEAK_BYTES)?,
                interval_peak_bytes: fields.optional_bytes(&CGROUP_INTERVAL_PEAK_BYTES)?,
                limit_bytes: fields.optional_bytes(&CGROUP_LIMIT_BYTES)?,
                oom_kills: fields.optional_integer(&CGROUP_OOM_KILLS)?,
                parts: cgroup_parts(fields)?,
            },
        };
        if let Some(previous) = self.last_elapsed
            && sample.elapsed_s < previous
        {
            return Err(fields.error(format!(
                "elapsed_s goes back in time: {:.6} after {previous:.6}",
                sample.elapsed_s
            )));
        }
        self.last_elapsed = Some(sample.elapsed_s);
        if self.layout.per_process {
            self.push_process(fields, sample)
        } else {
            let sample = Sample {
                procs: fields.integer(&PROCS)?,
                ..sample
            };
            self.hand_over(sample);
            Ok(())
        }
    }

    fn hand_over(&mut self, sample: Sample) {
        self.visitor.sample(&sample);
        self.count += 1;
    }

    /// Hands over the sample being summed, if any: call after the last row.
    pub(super) fn finish(&mut self) {
        if let Some(sample) = self.pending.take() {
            self.hand_over(sample);
        }
    }

    fn push_process(&mut self, fields: &Fields<'_>, row: Sample) -> Result<()> {
        let pid: u32 = fields.integer(&PID)?;
        fields.integer::<u32>(&PPID)?;
        let process_peak = raise_peak(row.peak_rss_bytes, row.rss_bytes, None);
        match &mut self.pending {
            Some(sample) if sample.elapsed_s == row.elapsed_s => {
                sample.procs += 1;
                sample.rss_bytes = sample.rss_bytes.saturating_add(row.rss_bytes);
                // One process without PSS leaves the sample without.
                sample.pss_bytes = sample
                    .pss_bytes
                    .zip(row.pss_bytes)
                    .map(|(sum, pss)| sum.saturating_add(pss));
                sample.uss_bytes = sample
                    .uss_bytes
                    .zip(row.uss_bytes)
                    .map(|(sum, uss)| sum.saturating_add(uss));
                sample.breakdown = sample
                    .breakdown
                    .zip(row.breakdown)
                    .map(|(sum, parts)| sum.plus(parts));
                sample.cpu_percent += row.cpu_percent;
                sample.peak_rss_bytes =
                    raise_peak(sample.peak_rss_bytes, sample.rss_bytes, Some(process_peak));
            }
            _ => {
                self.finish();
                let so_far = self.peak_so_far;
                self.pending = Some(Sample {
                    peak_rss_bytes: raise_peak(so_far, row.rss_bytes, Some(process_peak)),
                    ..row.clone()
                });
            }
        }
        if let Some(sample) = &self.pending {
            self.peak_so_far = sample.peak_rss_bytes;
        }
        self.visitor.process(&ProcessRow {
            sample_index: self.count,
            elapsed_s: row.elapsed_s,
            pid,
            command: fields.text(&COMMAND),
            rss_bytes: row.rss_bytes,
            peak_rss_bytes: process_peak,
        });
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

/// An attached cgroup's parts (`--breakdown`), when the row has any.
fn cgroup_parts(fields: &Fields<'_>) -> Result<Option<Parts>> {
    let parts = Parts {
        anon: fields.optional_bytes(&CGROUP_ANON_BYTES)?,
        file: fields.optional_bytes(&CGROUP_FILE_BYTES)?,
        kernel: fields.optional_bytes(&CGROUP_KERNEL_BYTES)?,
        shmem: fields.optional_bytes(&CGROUP_SHMEM_BYTES)?,
        swap: fields.optional_bytes(&CGROUP_SWAP_BYTES)?,
        working_set: fields.optional_bytes(&CGROUP_WORKING_SET_BYTES)?,
    };
    Ok((parts != Parts::default()).then_some(parts))
}
