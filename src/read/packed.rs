//! The parts of every sample of a `--breakdown` recording, packed for the
//! growth fits of `report` (docs/reading-back.md): each sample
//! is its gap since the one before (microseconds) and the change of each
//! part since the one before, as variable-length integers. Parts move by a
//! few pages between samples, so a sample takes about 5 to 12 bytes, where
//! the row it comes from takes over 100.

/// anon, file, shmem and swap, in that order.
pub(crate) type Values = [u64; 4];

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Packed {
    bytes: Vec<u8>,
    last_micros: u64,
    last: Values,
}

fn micros(elapsed_s: f64) -> u64 {
    (elapsed_s * 1e6).round() as u64
}

/// LEB128: 7 bits a byte, low first, the high bit set on all but the last.
fn put(bytes: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

fn take(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

/// A change as an unsigned number, small either way (zigzag).
fn zigzag(change: i64) -> u64 {
    ((change << 1) ^ (change >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

impl Packed {
    /// Adds a sample (times never decrease).
    pub(crate) fn push(&mut self, elapsed_s: f64, values: Values) {
        let now = micros(elapsed_s);
        // The first sample's gap is from 0: its time, whole.
        put(&mut self.bytes, now.saturating_sub(self.last_micros));
        for (value, last) in values.iter().zip(&self.last) {
            put(&mut self.bytes, zigzag(value.wrapping_sub(*last) as i64));
        }
        self.last_micros = now;
        self.last = values;
    }

    /// (elapsed_s, parts) of every sample, in order.
    pub(crate) fn points(&self) -> Points<'_> {
        Points {
            bytes: &self.bytes,
            at: 0,
            micros: 0,
            values: [0; 4],
        }
    }
}

/// The samples of a [`Packed`], decoded as they are walked.
#[derive(Debug, Clone)]
pub(crate) struct Points<'a> {
    bytes: &'a [u8],
    at: usize,
    micros: u64,
    values: Values,
}

impl Iterator for Points<'_> {
    type Item = (f64, Values);

    fn next(&mut self) -> Option<Self::Item> {
        self.micros = self.micros.saturating_add(take(self.bytes, &mut self.at)?);
        for value in &mut self.values {
            let change = unzigzag(take(self.bytes, &mut self.at)?);
            *value = value.wrapping_add(change as u64);
        }
        Some((self.micros as f64 / 1e6, self.values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_come_back_exactly_in_few_bytes() {
        let samples: Vec<(f64, Values)> = vec![
            (0.25, [100 << 20, 30 << 20, 20 << 20, 0]),
            (0.5, [(100 << 20) + 4096, 30 << 20, 20 << 20, 0]),
            (0.75, [50 << 20, 31 << 20, 0, 8192]),
            (7200.000001, [u64::MAX, 0, u64::MAX - 1, 1]),
            (7200.5, [0, u64::MAX, 0, 0]),
        ];
        let mut packed = Packed::default();
        for &(time, values) in &samples {
            packed.push(time, values);
        }
        assert_eq!(packed.points().collect::<Vec<_>>(), samples);
        // A page more of anon at the usual interval: 8 bytes.
        let before = packed.bytes.len();
        packed.push(7200.75, [4096, u64::MAX, 0, 0]);
        assert_eq!(packed.bytes.len() - before, 8);
    }
}
