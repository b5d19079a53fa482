use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::recorder::{millis, Recorder, Snapshot};

/// Seconds older than this (behind the newest second seen) keep only their rows.
pub const SETTLE_AFTER_S: u64 = 120;

/// Per-second statistics. A second that can still receive samples has a live recorder; older seconds are kept as
/// sparse snapshots (recorded buckets only) for two minutes, long enough for every worker's report of them to
/// arrive, and after that as their rows only: the timeline needs nothing more, and a histogram per name and second
/// would make a long run's memory grow by a few KiB a second.
#[derive(Default)]
pub struct Intervals {
    open: BTreeMap<u64, Recorder>,
    closed: BTreeMap<u64, Snapshot>,
    settled: BTreeMap<u64, Vec<IntervalRow>>,
    newest: u64,
}

/// One (second, method, name) row of the timeline; times in ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

impl IntervalRow {
    /// Adds a row of the same second and name that arrived after the second was settled: counts add up exactly;
    /// the percentiles, no longer computable, become the larger of the two (an upper bound).
    fn combine(&mut self, other: &IntervalRow) {
        self.count += other.count;
        self.failures += other.failures;
        self.items += other.items;
        self.p50_ms = self.p50_ms.max(other.p50_ms);
        self.p95_ms = self.p95_ms.max(other.p95_ms);
        self.p99_ms = self.p99_ms.max(other.p99_ms);
        self.max_ms = self.max_ms.max(other.max_ms);
    }
}

/// What `take_delta` hands over: recent seconds as histograms, settled ones as rows. Read from a list of seconds too, as
/// reports were before seconds settled (scripts still write `"intervals": []`).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(from = "SecondsWire")]
pub struct Seconds {
    pub recent: Vec<(u64, Snapshot)>,
    pub settled: Vec<IntervalRow>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SecondsWire {
    List(Vec<(u64, Snapshot)>),
    Both {
        recent: Vec<(u64, Snapshot)>,
        #[serde(default)]
        settled: Vec<IntervalRow>,
    },
}

impl From<SecondsWire> for Seconds {
    fn from(wire: SecondsWire) -> Self {
        match wire {
            SecondsWire::List(recent) => Self {
                recent,
                settled: Vec::new(),
            },
            SecondsWire::Both { recent, settled } => Self { recent, settled },
        }
    }
}

fn rows_of(second: u64, snapshot: Snapshot) -> impl Iterator<Item = IntervalRow> {
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
}

impl Intervals {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn open(&mut self, second: u64) -> &mut Recorder {
        self.newest = self.newest.max(second);
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
        self.settle();
        self.open.entry(second).or_default()
    }

    /// Turns closed seconds older than `SETTLE_AFTER_S` into rows.
    fn settle(&mut self) {
        let before = self.newest.saturating_sub(SETTLE_AFTER_S);
        while let Some(entry) = self.closed.first_entry() {
            if *entry.key() >= before {
                break;
            }
            let (second, snapshot) = entry.remove_entry();
            let rows: Vec<IntervalRow> = rows_of(second, snapshot).collect();
            self.add_settled(rows);
        }
    }

    fn add_settled(&mut self, rows: Vec<IntervalRow>) {
        for row in rows {
            let kept = self.settled.entry(row.second).or_default();
            match kept.iter_mut().find(|r| r.method == row.method && r.name == row.name) {
                Some(existing) => existing.combine(&row),
                None => kept.push(row),
            }
        }
    }

    pub fn record(&mut self, second: u64, method: &str, name: &str, milliseconds: f64, failed: bool) {
        self.open(second).record(method, name, milliseconds, failed);
    }

    pub fn record_items(&mut self, second: u64, method: &str, name: &str, count: u64) {
        self.open(second).record_items(method, name, count);
    }

    /// Everything recorded, per second; the intervals start afresh (a worker's report sends deltas).
    pub fn take_delta(&mut self) -> Seconds {
        let mut all = std::mem::take(&mut self.closed);
        for (second, recorder) in std::mem::take(&mut self.open) {
            all.entry(second)
                .or_insert_with(Snapshot::empty)
                .absorb(recorder.snapshot());
        }
        Seconds {
            recent: all.into_iter().collect(),
            settled: std::mem::take(&mut self.settled).into_values().flatten().collect(),
        }
    }

    /// Adds another process's seconds.
    pub fn absorb(&mut self, seconds: Seconds) {
        if let Some(newest) = seconds.recent.iter().map(|(second, _)| *second).max() {
            self.newest = self.newest.max(newest);
        }
        for (second, snapshot) in seconds.recent {
            if self.settled.contains_key(&second) {
                // later than two minutes: what it adds is combined into the rows
                let rows: Vec<IntervalRow> = rows_of(second, snapshot).collect();
                self.add_settled(rows);
            } else {
                self.closed
                    .entry(second)
                    .or_insert_with(Snapshot::empty)
                    .absorb(snapshot);
            }
        }
        self.add_settled(seconds.settled);
        self.settle();
    }

    /// The timeline, by second, then method and name.
    #[must_use]
    pub fn rows(&self) -> Vec<IntervalRow> {
        self.rows_since(0)
    }

    /// The timeline from unix second `since` on. A live chart polls the last seconds only: the whole timeline of an
    /// hour's run with 20 names (72,000 rows) took 0.8 s in a debug build, these 30 s 0.17 s before this range
    /// (every recent second's percentiles were computed anyway), under the caller's lock.
    #[must_use]
    pub fn rows_since(&self, since: u64) -> Vec<IntervalRow> {
        let mut recent: BTreeMap<u64, Snapshot> = self
            .closed
            .range(since..)
            .map(|(second, snapshot)| (*second, snapshot.clone()))
            .collect();
        for (second, recorder) in self.open.range(since..) {
            recent
                .entry(*second)
                .or_insert_with(Snapshot::empty)
                .absorb(recorder.snapshot());
        }
        let mut by_second: BTreeMap<u64, Vec<IntervalRow>> = self
            .settled
            .range(since..)
            .map(|(second, rows)| (*second, rows.clone()))
            .collect();
        for (second, snapshot) in recent {
            let rows = by_second.entry(second).or_default();
            for row in rows_of(second, snapshot) {
                match rows.iter_mut().find(|r| r.method == row.method && r.name == row.name) {
                    Some(existing) => existing.combine(&row),
                    None => rows.push(row),
                }
            }
        }
        by_second
            .into_values()
            .flat_map(|mut rows| {
                rows.sort_by(|a, b| (&a.method, &a.name).cmp(&(&b.method, &b.name)));
                rows
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
        master.absorb(a.take_delta());
        master.absorb(b.take_delta());
        assert!(a.take_delta().recent.is_empty());
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
    fn seconds_past_two_minutes_keep_their_rows_only() {
        let (mut long, mut worker) = (Intervals::new(), Intervals::new());
        for second in 0..600u64 {
            for n in 0..100u32 {
                long.record(second, "POST", "push", f64::from(n) + 0.5, n == 0);
            }
            long.record_items(second, "POST", "pop", 3);
        }
        // at most two minutes of histograms, the rest as rows
        assert!(
            long.closed.len() <= 121 && long.settled.len() >= 478,
            "{} {}",
            long.closed.len(),
            long.settled.len()
        );
        let rows = long.rows();
        let pushes: Vec<&IntervalRow> = rows.iter().filter(|row| row.name == "push").collect();
        assert_eq!(pushes.len(), 600);
        assert!(pushes.iter().all(|row| row.count == 100 && row.failures == 1));
        assert!(
            (pushes[0].p50_ms - 49.5).abs() < 0.1 && (pushes[0].max_ms - 99.5).abs() < 0.1,
            "{:?}",
            pushes[0]
        );
        assert_eq!(
            rows.iter()
                .filter(|row| row.name == "pop")
                .map(|row| row.items)
                .sum::<u64>(),
            1800
        );
        assert_eq!(rows.iter().map(|row| row.second).collect::<Vec<_>>(), {
            let mut seconds: Vec<u64> = rows.iter().map(|row| row.second).collect();
            seconds.sort_unstable();
            seconds
        });
        // from a second on, across settled rows, closed histograms and open seconds: the same rows as the whole
        for since in [0, 10, 470, 479, 480, 481, 599, 600] {
            let wanted: Vec<IntervalRow> = rows.iter().filter(|row| row.second >= since).cloned().collect();
            assert_eq!(long.rows_since(since), wanted, "{since}");
        }
        // a report of second 10 arriving now, long after it settled: its counts still add up
        worker.record(10, "POST", "push", 500.0, true);
        long.absorb(worker.take_delta());
        let second_10 = long
            .rows()
            .into_iter()
            .find(|row| row.second == 10 && row.name == "push")
            .unwrap();
        assert_eq!((second_10.count, second_10.failures), (101, 2));
        assert!((second_10.max_ms - 500.0).abs() < 1.0);
        // settled rows travel in a report, and a master adds them; a report in the older shape still reads
        let mut master = Intervals::new();
        let report = serde_json::to_string(&long.take_delta()).unwrap();
        master.absorb(serde_json::from_str(&report).unwrap());
        master.absorb(serde_json::from_str::<Seconds>("[]").unwrap());
        assert_eq!(master.rows().iter().filter(|row| row.name == "push").count(), 600);
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
                .take_delta()
                .recent
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
