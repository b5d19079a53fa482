//! A series as one part of the file saw it: the running figures of each time bucket, the last totals, the cells
//! remembered from the previous row; parts merged in file order, and the whole turned into a `Series` at the end.

use super::numbers::{all_digits, count, digits, POW10_INT};
use super::series::{Series, SeriesSummary};
use super::split::{field, Fields};
use super::words::{low_bytes, same, word_at};

/// A running minimum, maximum and sum of the non-NaN values seen.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stat {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Default for Stat {
    fn default() -> Self {
        Self {
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Stat {
    #[inline]
    pub(super) fn add(&mut self, value: f64) {
        if !value.is_nan() {
            self.count += 1;
            self.sum += value;
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
    }

    fn merge(&mut self, other: &Stat) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    #[allow(clippy::cast_precision_loss)]
    fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// A rate: the mean and the largest of the non-NaN values seen (half a `Stat`'s work, on every row).
#[derive(Debug, Clone, Copy)]
pub(super) struct Rate {
    count: u64,
    sum: f64,
    max: f64,
}

impl Default for Rate {
    fn default() -> Self {
        Self {
            count: 0,
            sum: 0.0,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Rate {
    #[inline]
    pub(super) fn add(&mut self, value: f64) {
        let seen = !value.is_nan();
        self.count += u64::from(seen);
        self.sum += if seen { value } else { 0.0 };
        self.max = self.max.max(value); // `max` passes over NaN
    }

    fn merge(&mut self, other: &Rate) {
        self.count += other.count;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    #[allow(clippy::cast_precision_loss)]
    fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// The largest of the non-NaN values seen; values are finite, so minus infinity means none.
#[derive(Debug, Clone, Copy)]
pub(super) struct Peak(f64);

impl Default for Peak {
    fn default() -> Self {
        Self(f64::NEG_INFINITY)
    }
}

impl Peak {
    #[inline]
    pub(super) fn add(&mut self, value: f64) {
        self.0 = self.0.max(value); // `max` passes over NaN
    }

    fn merge(&mut self, other: Peak) {
        self.add(other.0);
    }

    fn max(self) -> Option<f64> {
        (self.0 > f64::NEG_INFINITY).then_some(self.0)
    }
}

/// The figures of one time bucket: only those the summary and the charts show.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Bucket {
    pub(super) time: Stat,
    pub(super) users: Peak,
    pub(super) rps: Rate,
    pub(super) fail_rps: Rate,
    pub(super) p50: Peak,
    pub(super) p95: Peak,
    pub(super) p99: Peak,
}

impl Bucket {
    fn merge(&mut self, other: &Bucket) {
        self.time.merge(&other.time);
        self.users.merge(other.users);
        self.rps.merge(&other.rps);
        self.fail_rps.merge(&other.fail_rps);
        self.p50.merge(other.p50);
        self.p95.merge(other.p95);
        self.p99.merge(other.p99);
    }
}

/// A series as one part of the file saw it.
#[derive(Debug, Clone)]
pub(super) struct Partial {
    pub(super) method: Vec<u8>,
    pub(super) name: Vec<u8>,
    pub(super) rows: usize,
    /// The last total requests and failures seen.
    pub(super) totals: [LastCount; 2],
    pub(super) buckets: Vec<Bucket>,
    /// The previous row's failures/s and percentiles, which change slowly (Locust rounds percentiles).
    pub(super) recent: [Memo; 4],
}

impl Partial {
    #[inline(always)]
    #[allow(clippy::inline_always)] // on every row: a call would cost more than the comparison
    pub(super) fn is(&self, method: &[u8], name: &[u8]) -> bool {
        same(&self.name, name) && same(&self.method, method)
    }
}

/// A short cell's text (up to eight bytes, as a word) and its value, so that the same text is not read again.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Memo {
    pub(super) text: u64,
    /// 0: nothing yet.
    pub(super) length: usize,
    pub(super) value: f64,
}

/// The last count a column held (Locust's totals grow row by row; only the last is shown). Every row's count is
/// checked, but its digits are kept as text and converted once, when the value is asked for.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LastCount {
    /// Up to sixteen ASCII digits: the first eight in `low`, the rest in `high`, each starting at its lowest byte.
    low: u64,
    high: u64,
    /// `NONE`, 1 to 16 (digits in `low` and `high`), or `VALUE` (the count is in `low`).
    pub(super) length: u8,
}

impl LastCount {
    const NONE: u8 = 0;
    const VALUE: u8 = u8::MAX;

    /// The count in `column` of this row, kept unless the cell is empty or `N/A`; Err(Some(column)) when it is not
    /// a count.
    #[inline(always)]
    #[allow(clippy::inline_always)] // the hot path
    pub(super) fn see<F: Fields + ?Sized>(
        &mut self,
        row: &[u8],
        scratch: &[u8],
        fields: &F,
        column: Option<usize>,
    ) -> std::result::Result<(), Option<usize>> {
        let Some(c) = column else {
            return Ok(());
        };
        let (start, end) = fields.raw(c);
        let length = end.wrapping_sub(start);
        if (1..=16).contains(&length) {
            if let Some(low) = word_at(row, start) {
                if length <= 8 {
                    if all_digits(low, length) {
                        *self = Self {
                            low: low & low_bytes(length),
                            high: 0,
                            #[allow(clippy::cast_possible_truncation)] // at most 16
                            length: length as u8,
                        };
                        return Ok(());
                    }
                } else if let Some(tail) = word_at(row, end - 8) {
                    let high = tail >> (8 * (16 - length));
                    if all_digits(low, 8) && all_digits(high, length - 8) {
                        #[allow(clippy::cast_possible_truncation)] // at most 16
                        let length = length as u8;
                        *self = Self { low, high, length };
                        return Ok(());
                    }
                }
            }
        }
        match count(field(row, scratch, fields.span(c))) {
            Ok(Some(value)) => {
                *self = Self {
                    low: value,
                    high: 0,
                    length: Self::VALUE,
                };
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(()) => Err(Some(c)),
        }
    }

    pub(super) fn value(self) -> Option<u64> {
        match self.length {
            Self::NONE => None,
            Self::VALUE => Some(self.low),
            n @ 1..=8 => digits(self.low, usize::from(n)),
            n => {
                let n = usize::from(n);
                Some(digits(self.low, 8)? * POW10_INT[n - 8] + digits(self.high, n - 8)?)
            }
        }
    }
}

/// Adds `other` (a later part of the file) to `into`.
pub(super) fn merge(into: &mut Vec<Partial>, other: Vec<Partial>) {
    for part in other {
        match into.iter_mut().find(|s| s.method == part.method && s.name == part.name) {
            Some(series) => {
                series.rows += part.rows;
                for (total, later) in series.totals.iter_mut().zip(part.totals) {
                    if later.length != LastCount::NONE {
                        *total = later;
                    }
                }
                for (bucket, incoming) in series.buckets.iter_mut().zip(&part.buckets) {
                    bucket.merge(incoming);
                }
            }
            None => into.push(part),
        }
    }
}

pub(super) fn finish(partial: &Partial) -> Series {
    let method = String::from_utf8_lossy(&partial.method).into_owned();
    let name = String::from_utf8_lossy(&partial.name).into_owned();
    let mut whole = Bucket::default();
    for bucket in &partial.buckets {
        whole.merge(bucket);
    }
    let summary = SeriesSummary {
        method: method.clone(),
        name: name.clone(),
        rows: partial.rows,
        first_timestamp: whole.time.min(),
        last_timestamp: whole.time.max(),
        peak_users: whole.users.max(),
        mean_rps: whole.rps.mean(),
        max_rps: whole.rps.max(),
        mean_fail_rps: whole.fail_rps.mean(),
        max_fail_rps: whole.fail_rps.max(),
        max_p95_ms: whole.p95.max(),
        max_p99_ms: whole.p99.max(),
        total_requests: partial.totals[0].value(),
        total_failures: partial.totals[1].value(),
    };
    let mut series = Series {
        method,
        name,
        summary,
        ..Series::default()
    };
    for bucket in partial.buckets.iter().filter(|b| b.time.count > 0) {
        let nan = f64::NAN;
        series.timestamps.push(bucket.time.mean().unwrap_or(nan));
        series.users.push(bucket.users.max().unwrap_or(nan));
        series.rps.push(bucket.rps.mean().unwrap_or(nan));
        series.fail_rps.push(bucket.fail_rps.mean().unwrap_or(nan));
        series.p50_ms.push(bucket.p50.max().unwrap_or(nan));
        series.p95_ms.push(bucket.p95.max().unwrap_or(nan));
        series.p99_ms.push(bucket.p99.max().unwrap_or(nan));
    }
    series
}
