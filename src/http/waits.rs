//! How long requests wait between their hand-off to the engine and their start on its runtime. Response times
//! start when a request starts, as an independent client's do, so this wait is the generator's own: it is counted
//! here, where a run can say when it grew (a generator whose core is full holds requests back).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Enough powers of two of microseconds for any wait (2^39 µs is six days).
const BUCKETS: usize = 40;

/// Waits counted by powers of two of microseconds: bucket 0 holds waits under 1 µs, bucket k > 0 those of
/// 2^(k-1) to 2^k µs. A relaxed add per request, taken from any runtime thread; percentiles to a factor of two are
/// what a warning needs.
#[derive(Debug)]
pub struct StartWaits {
    counts: [AtomicU64; BUCKETS],
}

impl Default for StartWaits {
    fn default() -> Self {
        Self {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// The waits counted since the last `StartWaits::take`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitSummary {
    pub requests: u64,
    /// The upper bounds of the buckets that hold the median and the 99th percentile (zero without requests).
    pub p50: Duration,
    pub p99: Duration,
}

impl StartWaits {
    pub fn record(&self, wait: Duration) {
        let micros = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
        let bucket = (u64::BITS - micros.leading_zeros()) as usize;
        self.counts[bucket.min(BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
    }

    /// The waits since the last call, which start counting afresh.
    pub fn take(&self) -> WaitSummary {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|count| count.swap(0, Ordering::Relaxed))
            .collect();
        let requests = counts.iter().sum();
        WaitSummary {
            requests,
            p50: upper_bound(&counts, requests, 0.50),
            p99: upper_bound(&counts, requests, 0.99),
        }
    }
}

/// The upper bound of the bucket where the `quantile` of `requests` falls.
fn upper_bound(counts: &[u64], requests: u64, quantile: f64) -> Duration {
    if requests == 0 {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )] // 0 ..= requests
    let rank = ((quantile * requests as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for (bucket, count) in counts.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return Duration::from_micros(1 << bucket);
        }
    }
    Duration::MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_the_bounds_of_their_buckets() {
        let waits = StartWaits::default();
        for _ in 0..98 {
            waits.record(Duration::from_micros(20)); // 16 ..= 31 µs: bound 32
        }
        waits.record(Duration::from_micros(1500)); // 1024 ..= 2047: bound 2048
        waits.record(Duration::from_nanos(300)); // under 1 µs: bound 1
        let summary = waits.take();
        assert_eq!(summary.requests, 100);
        assert_eq!(summary.p50, Duration::from_micros(32));
        assert_eq!(summary.p99, Duration::from_micros(32));
        waits.record(Duration::from_micros(1500));
        let after = waits.take();
        assert_eq!(
            (after.requests, after.p99),
            (1, Duration::from_micros(2048)),
            "take starts afresh"
        );
        assert_eq!(waits.take().p99, Duration::ZERO);
    }

    #[test]
    fn the_99th_percentile_sees_one_wait_in_a_hundred() {
        let waits = StartWaits::default();
        for _ in 0..97 {
            waits.record(Duration::from_micros(3));
        }
        for _ in 0..3 {
            waits.record(Duration::from_millis(5)); // 4096 ..= 8191 µs
        }
        assert_eq!(waits.take().p99, Duration::from_micros(8192));
    }

    #[test]
    fn a_wait_of_days_lands_in_the_last_bucket() {
        let waits = StartWaits::default();
        waits.record(Duration::from_secs(u64::MAX / 4));
        assert_eq!(waits.take().p50, Duration::from_micros(1 << (BUCKETS - 1)));
    }
}
