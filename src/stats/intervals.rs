use std::collections::BTreeMap;

use serde::Serialize;

use super::recorder::{millis, Recorder, Snapshot};

/// Per-second statistics. A second that can still receive samples has a live recorder; older seconds are kept as
/// sparse snapshots (recorded buckets only), so a long run costs memory in proportion to distinct buckets, not to
/// histograms per second.
#[derive(Default)]
pub struct Intervals {
    open: BTreeMap<u64, Recorder>,
    closed: BTreeMap<u64, Snapshot>,
}

/// One (second, method, name) row of the timeline; times in ms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalRow {
    /// Unix time of the second's start, on the clock of the process that recorded the samples.
    pub second: u64,
    pub method: String,
    pub name: String,
    pub count: u64,
    pub failures: u64,
    pub items: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Intervals {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn open(&mut self, second: u64) -> &mut Recorder {
        // a sample for second S means seconds before S-1 will get no more from this process's clock
        let keep_from = second.saturating_sub(1);
        while let Some(entry) = self.open.first_entry() {
            if *entry.key() >= keep_from {
                break;
            }
            let (old, recorder) = entry.remove_entry();
            self.closed
                .entry(old)
                .or_insert_with(Snapshot::empty)
                .absorb(recorder.snapshot());
        }
        self.open.entry(second).or_default()
    }

    pub fn record(&mut self, second: u64, method: &str, name: &str, milliseconds: f64, failed: bool) {
        self.open(second).record(method, name, milliseconds, failed);
    }

    pub fn record_items(&mut self, second: u64, method: &str, name: &str, count: u64) {
        self.open(second).record_items(method, name, count);
    }

    /// Everything recorded, per second; the intervals start afresh (a worker's report sends deltas).
    pub fn take(&mut self) -> Vec<(u64, Snapshot)> {
        let mut all = std::mem::take(&mut self.closed);
        for (second, recorder) in std::mem::take(&mut self.open) {
            all.entry(second)
                .or_insert_with(Snapshot::empty)
                .absorb(recorder.snapshot());
        }
        all.into_iter().collect()
    }

    /// Adds another process's seconds.
    pub fn merge(&mut self, seconds: Vec<(u64, Snapshot)>) {
        for (second, snapshot) in seconds {
            self.closed
                .entry(second)
                .or_insert_with(Snapshot::empty)
                .absorb(snapshot);
        }
    }

    /// The timeline, by second, then method and name.
    #[must_use]
    pub fn rows(&self) -> Vec<IntervalRow> {
        let mut seconds = self.closed.clone();
        for (second, recorder) in &self.open {
            seconds
                .entry(*second)
                .or_insert_with(Snapshot::empty)
                .absorb(recorder.snapshot());
        }
        seconds
            .into_iter()
            .flat_map(|(second, snapshot)| {
                snapshot.entries.into_iter().map(move |entry| IntervalRow {
                    second,
                    count: entry.count(),
                    p50_ms: millis(entry.value_at_percentile(50.0)),
                    p95_ms: millis(entry.value_at_percentile(95.0)),
                    p99_ms: millis(entry.value_at_percentile(99.0)),
                    max_ms: millis(entry.value_at_percentile(100.0)),
                    failures: entry.failures,
                    items: entry.items,
                    method: entry.method,
                    name: entry.name,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_kept_apart_and_merge_exactly() {
        let mut one = Intervals::new();
        let (mut a, mut b) = (Intervals::new(), Intervals::new());
        for n in 0..3000u32 {
            let second = 1_000 + u64::from(n / 1000);
            let ms = f64::from(n % 100) + 0.5;
            one.record(second, "POST", "push", ms, n % 10 == 0);
            let part = if n % 2 == 0 { &mut a } else { &mut b };
            part.record(second, "POST", "push", ms, n % 10 == 0);
            part.record_items(second, "POST", "pop", 2);
            one.record_items(second, "POST", "pop", 2);
        }
        let mut master = Intervals::new();
        master.merge(a.take());
        master.merge(b.take());
        assert!(a.take().is_empty());
        let rows = master.rows();
        assert_eq!(rows, one.rows());
        let pushes: Vec<_> = rows.iter().filter(|row| row.name == "push").collect();
        assert_eq!(
            pushes.iter().map(|row| row.second).collect::<Vec<_>>(),
            [1000, 1001, 1002]
        );
        assert!(pushes.iter().all(|row| row.count == 1000 && row.failures == 100));
        assert!((pushes[0].p50_ms - 49.5).abs() < 0.1, "{:?}", pushes[0]);
        assert!((pushes[0].max_ms - 99.5).abs() < 0.1);
        assert_eq!(
            rows.iter()
                .filter(|row| row.name == "pop")
                .map(|row| row.items)
                .sum::<u64>(),
            6000
        );
    }

    #[test]
    fn old_seconds_close_into_snapshots() {
        let mut intervals = Intervals::new();
        for second in 0..100 {
            intervals.record(second, "GET", "x", 1.0, false);
        }
        assert!(intervals.open.len() <= 2);
        assert_eq!(intervals.rows().len(), 100);
        // a late sample for a closed second still counts
        intervals.record(5, "GET", "x", 1.0, false);
        assert_eq!(
            intervals
                .take()
                .iter()
                .find(|(second, _)| *second == 5)
                .unwrap()
                .1
                .entries[0]
                .count(),
            2
        );
    }
}
