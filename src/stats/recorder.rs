use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::error::{Result, StatsError};

/// Percentiles reported by default: Locust's CSV columns, so the two tables line up.
pub const PERCENTILES: [f64; 11] = [50.0, 66.0, 75.0, 80.0, 90.0, 95.0, 98.0, 99.0, 99.9, 99.99, 100.0];
const SIGNIFICANT_DIGITS: u8 = 3;
const SNAPSHOT_VERSION: u32 = 1;

struct Entry {
    histogram: Histogram<u64>,
    /// A value of every bucket that holds samples (more than one of some, in no order): what a snapshot reads.
    /// `Histogram::iter_recorded` walks every bucket from the lowest to the highest value, recorded or not, with
    /// float arithmetic at each: about 20,000 buckets for 3 digits up to a second, 9 ms for the 100 histograms of a
    /// busy worker's report (20 endpoints, the run's and each second's); these are its 3,000-odd recorded ones.
    buckets: Vec<u64>,
    failures: u64,
    /// Queue items the requests carried (pops): throughput in items, not only requests.
    items: u64,
}

impl Entry {
    fn new() -> Self {
        // auto-resizing: no ceiling on a response time, and memory only for the range actually seen
        let mut histogram = Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits is a valid precision");
        histogram.auto(true);
        Self {
            histogram,
            buckets: Vec::new(),
            failures: 0,
            items: 0,
        }
    }

    /// Adds `count` samples of `value` (µs).
    fn add(&mut self, value: u64, count: u64) -> Result<()> {
        // a value above the histogram's current top grows it into a bucket of its own
        let fresh = value > self.histogram.high() || self.histogram.count_at(value) == 0;
        self.histogram
            .record_n(value, count)
            .map_err(|err| StatsError::InvalidSnapshot(format!("{err:?}")))?;
        if fresh && count > 0 {
            self.buckets.push(value);
        }
        Ok(())
    }

    /// The recorded buckets as (highest value of the bucket, count), ascending: `iter_recorded`'s pairs.
    fn counts(&self) -> Vec<(u64, u64)> {
        let histogram = &self.histogram;
        let mut values: Vec<u64> = self
            .buckets
            .iter()
            .map(|&value| histogram.highest_equivalent(value))
            .collect();
        values.sort_unstable();
        values.dedup();
        values
            .into_iter()
            .map(|value| (value, histogram.count_at(value)))
            .filter(|&(_, count)| count > 0)
            .collect()
    }
}

/// Response times per (method, name), in microseconds.
#[derive(Default)]
pub struct Recorder {
    // method → name → entry: lookups by two &str, no allocation per sample
    entries: BTreeMap<String, BTreeMap<String, Entry>>,
}

/// One entry of a snapshot: its histogram as (value in µs, count) pairs, the recorded buckets only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotEntry {
    pub method: String,
    pub name: String,
    pub failures: u64,
    #[serde(default)]
    pub items: u64,
    pub counts: Vec<(u64, u64)>,
}

/// What one process hands to another (Locust's worker reports) or writes to disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    pub unit: String,
    pub entries: Vec<SnapshotEntry>,
}

impl Snapshot {
    #[must_use]
    pub fn empty() -> Self {
        Self {
            version: SNAPSHOT_VERSION,
            unit: "us".to_owned(),
            entries: Vec::new(),
        }
    }

    /// Adds another snapshot's samples, entry by entry, keeping the counts sparse and sorted.
    pub fn absorb(&mut self, other: Snapshot) {
        for incoming in other.entries {
            match self
                .entries
                .iter_mut()
                .find(|e| e.method == incoming.method && e.name == incoming.name)
            {
                Some(entry) => entry.absorb(&incoming),
                None => self.entries.push(incoming),
            }
        }
        self.entries
            .sort_by(|a, b| (&a.method, &a.name).cmp(&(&b.method, &b.name)));
    }
}

impl SnapshotEntry {
    fn absorb(&mut self, other: &SnapshotEntry) {
        // both sorted by value: one linear merge (a master merges each second of every worker's report here)
        let mut merged = Vec::with_capacity(self.counts.len().max(other.counts.len()));
        let (mut mine, mut theirs) = (self.counts.iter().peekable(), other.counts.iter().peekable());
        loop {
            let next = match (mine.peek(), theirs.peek()) {
                (Some(&&(a, n)), Some(&&(b, m))) if a == b => {
                    mine.next();
                    theirs.next();
                    (a, n + m)
                }
                (Some(&&(a, _)), Some(&&(b, _))) if b < a => *theirs.next().expect("peeked"),
                (Some(_), _) => *mine.next().expect("peeked"),
                (None, Some(_)) => *theirs.next().expect("peeked"),
                (None, None) => break,
            };
            merged.push(next);
        }
        self.counts = merged;
        self.failures += other.failures;
        self.items += other.items;
    }

    /// Samples in the entry.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|(_, count)| count).sum()
    }

    /// The bucket value below which `percentile` % of the samples fall (0 when there are none).
    #[must_use]
    pub fn value_at_percentile(&self, percentile: f64) -> u64 {
        let total = self.count();
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = {
            // the rank is ceil(q·n); q·n in floating point can land a last bit above a whole number (99.9% of
            // 1,000 is 999.0000000000001), which would pick the next sample: HdrHistogram picks the 999th
            let exact = percentile * total as f64 / 100.0;
            ((exact - exact * 1e-12).ceil() as u64).clamp(1, total.max(1))
        };
        let mut seen = 0;
        for &(value, count) in &self.counts {
            seen += count;
            if seen >= rank {
                return value;
            }
        }
        0
    }
}

/// Exact figures of one entry, times in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntrySummary {
    pub method: String,
    pub name: String,
    pub count: u64,
    pub failures: u64,
    pub items: u64,
    pub min_ms: f64,
    pub mean_ms: f64,
    pub max_ms: f64,
    /// (percentile, value in ms), for each of `PERCENTILES`.
    pub percentiles: Vec<(f64, f64)>,
}

fn micros(milliseconds: f64) -> u64 {
    // saturating float-to-int: a negative or NaN time (a clock step) counts as 0
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let value = (milliseconds * 1000.0).round() as u64;
    value
}

#[allow(clippy::cast_precision_loss)] // microsecond counts stay far below 2^52
pub(super) fn millis(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

impl Recorder {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn entry(&mut self, method: &str, name: &str) -> &mut Entry {
        if !self.entries.contains_key(method) {
            self.entries.insert(method.to_owned(), BTreeMap::new());
        }
        let names = self.entries.get_mut(method).expect("inserted above");
        if !names.contains_key(name) {
            names.insert(name.to_owned(), Entry::new());
        }
        names.get_mut(name).expect("inserted above")
    }

    /// Records one response time, in milliseconds (Locust's unit), kept to the microsecond.
    pub fn record(&mut self, method: &str, name: &str, milliseconds: f64, failed: bool) {
        let entry = self.entry(method, name);
        let value = micros(milliseconds);
        // recording grows the auto-resizing histogram; saturating_record() would clamp to its current top instead
        if entry.add(value, 1).is_err() {
            entry.histogram.saturating_record(value);
            let top = entry.histogram.max();
            entry.buckets.push(top);
        }
        if failed {
            entry.failures += 1;
        }
    }

    /// Adds `count` queue items to an entry (a pop's answer), without a response time.
    pub fn record_items(&mut self, method: &str, name: &str, count: u64) {
        self.entry(method, name).items += count;
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.values().all(BTreeMap::is_empty)
    }

    /// (method, name, entry), in the order method, then name.
    fn each(&self) -> impl Iterator<Item = (&String, &String, &Entry)> {
        self.entries
            .iter()
            .flat_map(|(method, names)| names.iter().map(move |(name, entry)| (method, name, entry)))
    }

    /// Everything recorded so far.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let entries = self
            .each()
            .map(|(method, name, entry)| SnapshotEntry {
                method: method.clone(),
                name: name.clone(),
                failures: entry.failures,
                items: entry.items,
                counts: entry.counts(),
            })
            .collect();
        Snapshot {
            version: SNAPSHOT_VERSION,
            unit: "us".to_owned(),
            entries,
        }
    }

    /// Takes everything recorded so far and starts afresh: a worker sends deltas, so nothing is counted twice.
    pub fn take_delta(&mut self) -> Snapshot {
        let snapshot = self.snapshot();
        self.entries.clear();
        snapshot
    }

    /// Adds another process's delta (or any snapshot).
    pub fn absorb(&mut self, snapshot: &Snapshot) -> Result<()> {
        if snapshot.version != SNAPSHOT_VERSION {
            return Err(StatsError::UnsupportedVersion(snapshot.version));
        }
        if snapshot.unit != "us" {
            return Err(StatsError::InvalidSnapshot(format!(
                "unit {:?} (expected \"us\")",
                snapshot.unit
            )));
        }
        for incoming in &snapshot.entries {
            let entry = self.entry(&incoming.method, &incoming.name);
            for &(value, count) in &incoming.counts {
                entry.add(value, count)?;
            }
            entry.failures += incoming.failures;
            entry.items += incoming.items;
        }
        Ok(())
    }

    /// Exact figures per entry, in the order method, then name.
    #[must_use]
    pub fn summaries(&self) -> Vec<EntrySummary> {
        self.each()
            .map(|(method, name, entry)| {
                let histogram = &entry.histogram;
                EntrySummary {
                    method: method.clone(),
                    name: name.clone(),
                    count: histogram.len(),
                    failures: entry.failures,
                    items: entry.items,
                    min_ms: millis(histogram.min()),
                    mean_ms: histogram.mean() / 1000.0,
                    max_ms: millis(histogram.max()),
                    percentiles: PERCENTILES
                        .iter()
                        .map(|&percentile| (percentile, millis(histogram.value_at_percentile(percentile))))
                        .collect(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_rank_is_not_pushed_to_the_next_by_rounding() {
        let entry = SnapshotEntry {
            method: "POST".to_owned(),
            name: "push".to_owned(),
            failures: 0,
            items: 0,
            counts: (1..=1000).map(|n| (n, 1)).collect(),
        };
        for (percentile, rank) in [
            (99.9, 999),
            (99.0, 990),
            (50.0, 500),
            (99.95, 1000),
            (0.01, 1),
            (100.0, 1000),
        ] {
            assert_eq!(entry.value_at_percentile(percentile), rank, "p{percentile}");
        }
    }

    #[test]
    fn exact_to_the_precision() {
        let mut recorder = Recorder::new();
        for n in 1..=1000 {
            recorder.record("POST", "push", f64::from(n) * 0.1, n % 100 == 0); // 0.1 ms … 100 ms
        }
        let [summary] = recorder.summaries().try_into().unwrap();
        assert_eq!((summary.count, summary.failures), (1000, 10));
        assert!((summary.min_ms - 0.1).abs() < 1e-9, "{summary:?}");
        assert!((summary.max_ms - 100.0).abs() / 100.0 < 1e-3);
        let p50 = summary.percentiles[0].1;
        let p99 = summary.percentiles[7].1;
        assert!((p50 - 50.0).abs() / 50.0 < 1e-3, "{p50}");
        assert!((p99 - 99.0).abs() / 99.0 < 1e-3, "{p99}");
        // sub-millisecond times keep their value: Locust's buckets would make every one of them 0
        let mut fast = Recorder::new();
        (0..10).for_each(|_| fast.record("GET", "fast", 0.25, false));
        assert!((fast.summaries()[0].percentiles[0].1 - 0.25).abs() < 1e-9);
    }

    #[test]
    fn absorbing_deltas_equals_recording_in_one_place() {
        let (mut one, mut a, mut b) = (Recorder::new(), Recorder::new(), Recorder::new());
        for n in 0..5000u32 {
            let ms = f64::from(n % 977) * 0.37 + 0.05;
            let (method, name) = if n % 3 == 0 { ("POST", "pop") } else { ("POST", "push") };
            one.record(method, name, ms, n % 50 == 0);
            one.record_items(method, name, u64::from(n % 7));
            let part = if n % 2 == 0 { &mut a } else { &mut b };
            part.record(method, name, ms, n % 50 == 0);
            part.record_items(method, name, u64::from(n % 7));
        }
        let mut merged = Recorder::new();
        merged.absorb(&a.take_delta()).unwrap();
        merged.absorb(&b.snapshot()).unwrap();
        assert!(a.is_empty());
        assert_eq!(merged.summaries(), one.summaries());
        assert_eq!(merged.snapshot(), one.snapshot());
    }

    #[test]
    fn snapshots_hold_every_recorded_bucket() {
        let mut recorder = Recorder::new();
        for n in 0..30_000u32 {
            // a wide spread, repeats, zero, and values that grow the histogram several times
            let ms = f64::from(n % 4_999) * f64::from(1 + n % 7).powi(3) * 0.013;
            recorder.record("GET", "x", if n % 1000 == 0 { 0.0 } else { ms }, false);
        }
        recorder.record("GET", "x", 1e15, false);
        let mut merged = Recorder::new();
        merged.absorb(&recorder.snapshot()).unwrap();
        for recorded in [&recorder, &merged] {
            let entry = &recorded.entries["GET"]["x"];
            let expected: Vec<(u64, u64)> = entry
                .histogram
                .iter_recorded()
                .map(|bucket| (bucket.value_iterated_to(), bucket.count_at_value()))
                .collect();
            assert!(expected.len() > 3_000, "{}", expected.len());
            assert_eq!(entry.counts(), expected);
        }
    }

    #[test]
    fn snapshot_round_trips_through_json() {
        let mut recorder = Recorder::new();
        recorder.record("GET", "a, \"quoted\" name", 1.234, false);
        let text = serde_json::to_string(&recorder.snapshot()).unwrap();
        let back: Snapshot = serde_json::from_str(&text).unwrap();
        let mut merged = Recorder::new();
        merged.absorb(&back).unwrap();
        assert_eq!(merged.summaries(), recorder.summaries());
    }

    #[test]
    fn bad_snapshots_are_refused() {
        let mut recorder = Recorder::new();
        let mut snapshot = Recorder::new().snapshot();
        snapshot.version = 9;
        assert!(matches!(
            recorder.absorb(&snapshot),
            Err(StatsError::UnsupportedVersion(9))
        ));
        snapshot.version = 1;
        snapshot.unit = "ms".into();
        assert!(recorder.absorb(&snapshot).is_err());
    }

    #[test]
    fn odd_times_do_not_panic() {
        let mut recorder = Recorder::new();
        for ms in [-1.0, f64::NAN, 0.0, 1e12] {
            recorder.record("GET", "x", ms, false);
        }
        assert_eq!(recorder.summaries()[0].count, 4);
    }
}
