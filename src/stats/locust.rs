//! Requests in the shape of Locust's own statistics, gathered in Rust and handed to Locust in batches: Locust's
//! per-request bookkeeping (`events.request`, its listener, two `StatsEntry.log`) costs more Python than the request
//! itself, and a batch merged with `StatsEntry.extend` gives Locust the same figures.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One request name's results since the last drain, in the shape of Locust's `StatsEntry` (times in ms), ready to be
/// added to Locust's statistics in one step (`StatsEntry.extend`, as a master merges a worker's report).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LocustEntry {
    pub method: String,
    pub name: String,
    pub count: u64,
    pub failures: u64,
    pub total_ms: f64,
    pub min_ms: Option<f64>,
    pub max_ms: f64,
    pub content_length: u64,
    /// Locust's rounded response times (ms) and how often each.
    pub response_times: BTreeMap<u64, u64>,
    /// Requests and failures per unix second.
    pub per_second: BTreeMap<u64, u64>,
    pub failures_per_second: BTreeMap<u64, u64>,
    /// Failure message (as Locust's failure table shows it) and how often.
    pub errors: BTreeMap<String, u64>,
    /// Unix time of the first and last request's end.
    pub first: f64,
    pub last: f64,
}

impl LocustEntry {
    /// One request that ended at unix time `end`, with Locust's failure message when it failed.
    pub fn record(&mut self, milliseconds: f64, length: u64, error: Option<String>, end: f64) {
        if self.count == 0 {
            self.first = end;
        }
        self.count += 1;
        self.total_ms += milliseconds;
        self.min_ms = Some(self.min_ms.map_or(milliseconds, |min| min.min(milliseconds)));
        self.max_ms = self.max_ms.max(milliseconds);
        self.content_length += length;
        *self.response_times.entry(locust_rounded(milliseconds)).or_default() += 1;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a unix time
        let second = end as u64;
        *self.per_second.entry(second).or_default() += 1;
        if let Some(error) = error {
            self.failures += 1;
            *self.failures_per_second.entry(second).or_default() += 1;
            *self.errors.entry(error).or_default() += 1;
        }
        self.last = end;
    }
}

/// Locust's key for a response time in its `response_times` table: whole ms below 100, then two significant
/// digits, rounded half to even as Python's `round`.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn locust_rounded(milliseconds: f64) -> u64 {
    let step = if milliseconds < 100.0 {
        1.0
    } else if milliseconds < 1000.0 {
        10.0
    } else if milliseconds < 10_000.0 {
        100.0
    } else {
        1000.0
    };
    ((milliseconds / step).round_ties_even() * step) as u64
}

/// This process's requests not yet handed to Locust, per (method, name).
#[derive(Debug, Default)]
pub struct LocustBatch {
    entries: BTreeMap<String, BTreeMap<String, LocustEntry>>,
}

impl LocustBatch {
    /// Records one successful request that ended at unix time `end`.
    pub fn record(&mut self, method: &str, name: &str, milliseconds: f64, length: u64, end: f64) {
        // two lookups by &str: a String is made only for an entry's first request
        let names = match self.entries.get_mut(method) {
            Some(names) => names,
            None => self.entries.entry(method.to_owned()).or_default(),
        };
        let entry = match names.get_mut(name) {
            Some(entry) => entry,
            None => names.entry(name.to_owned()).or_insert_with(|| LocustEntry {
                method: method.to_owned(),
                name: name.to_owned(),
                ..LocustEntry::default()
            }),
        };
        entry.record(milliseconds, length, None, end);
    }

    /// Everything recorded since the last call, and a fresh start.
    pub fn drain(&mut self) -> Vec<LocustEntry> {
        std::mem::take(&mut self.entries)
            .into_values()
            .flat_map(BTreeMap::into_values)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locust_rounding_matches_pythons() {
        // round() in Python: half to even
        for (ms, key) in [
            (0.4, 0),
            (0.5, 0),
            (1.5, 2),
            (99.4, 99),
            (147.0, 150),
            (145.0, 140),
            (3432.0, 3400),
            (58_760.0, 59_000),
        ] {
            assert_eq!(locust_rounded(ms), key, "{ms}");
        }
    }

    #[test]
    fn a_batch_gathers_per_name_until_drained() {
        let mut batch = LocustBatch::default();
        batch.record("POST", "push", 1.4, 10, 1_000.5);
        batch.record("POST", "push", 2.6, 20, 1_001.2);
        batch.record("GET", "stats", 150.0, 0, 1_001.3);
        let drained = batch.drain();
        assert_eq!(drained.len(), 2);
        let push = drained.iter().find(|e| e.name == "push").unwrap();
        assert_eq!(push.method, "POST");
        assert_eq!(
            (push.count, push.content_length, push.min_ms, push.max_ms),
            (2, 30, Some(1.4), 2.6)
        );
        assert_eq!(push.response_times, BTreeMap::from([(1, 1), (3, 1)]));
        assert_eq!(push.per_second, BTreeMap::from([(1_000, 1), (1_001, 1)]));
        assert_eq!((push.first, push.last, push.total_ms), (1_000.5, 1_001.2, 1.4 + 2.6));
        assert!(batch.drain().is_empty());
    }
}
