//! A process's exact statistics: the whole run and its seconds, recorded together and handed to the master as one
//! delta.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::error::Result;
use super::intervals::{IntervalRow, Intervals, Seconds};
use super::recorder::{EntrySummary, Recorder, Snapshot};
use super::wire;

/// Response times per (method, name), for the whole run and per second of the system clock (the clock of Locust's
/// `_stats_history.csv`).
#[derive(Default)]
pub struct ExactStats {
    total: Recorder,
    intervals: Intervals,
}

/// What a worker sends its master: the samples since its last delta, in all and per second.
#[derive(Debug, Serialize, Deserialize)]
pub struct Delta {
    pub total: Snapshot,
    pub intervals: Seconds,
}

fn now_second() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

impl ExactStats {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one response time in milliseconds, in the run's total and in the current second.
    pub fn record(&mut self, method: &str, name: &str, milliseconds: f64, failed: bool) {
        self.total.record(method, name, milliseconds, failed);
        self.intervals.record(now_second(), method, name, milliseconds, failed);
    }

    /// Adds `count` queue items to an entry (what a pop returned).
    pub fn record_items(&mut self, method: &str, name: &str, count: u64) {
        self.total.record_items(method, name, count);
        self.intervals.record_items(now_second(), method, name, count);
    }

    /// Everything since the last delta, and a fresh start: nothing is sent twice.
    pub fn take_delta(&mut self) -> Delta {
        Delta {
            total: self.total.take_delta(),
            intervals: self.intervals.take_delta(),
        }
    }

    /// Everything since the last delta as bytes (`wire`), and a fresh start. While no second has settled into rows
    /// (a worker reports every few seconds) the seconds hold every sample, so the run's histograms are not sent:
    /// the master adds the seconds up (`absorb_seconds`).
    pub fn take_wire(&mut self) -> Vec<u8> {
        let intervals = self.intervals.take_delta();
        if intervals.settled.is_empty() {
            self.total = Recorder::default();
            wire::encode_seconds(&intervals)
        } else {
            wire::encode(&Delta {
                total: self.total.take_delta(),
                intervals,
            })
        }
    }

    /// Adds the seconds of a delta whose run's samples are theirs (`take_wire`), to both.
    pub fn absorb_seconds(&mut self, seconds: Seconds) -> Result<()> {
        for (_, snapshot) in &seconds.recent {
            self.total.absorb(snapshot)?;
        }
        self.intervals.absorb(seconds);
        Ok(())
    }

    /// Adds a delta's bytes (`take_wire`).
    pub fn absorb_wire(&mut self, decoded: wire::Decoded) -> Result<()> {
        match decoded {
            wire::Decoded::Whole(delta) => self.absorb(delta),
            wire::Decoded::Seconds(seconds) => self.absorb_seconds(seconds),
        }
    }

    /// Adds a delta taken in another process (or on another thread: the open-model driver's batches).
    pub fn absorb(&mut self, delta: Delta) -> Result<()> {
        self.total.absorb(&delta.total)?;
        self.intervals.absorb(delta.intervals);
        Ok(())
    }

    /// Everything recorded in all (sparse histograms).
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        self.total.snapshot()
    }

    /// Exact figures per (method, name).
    #[must_use]
    pub fn summaries(&self) -> Vec<EntrySummary> {
        self.total.summaries()
    }

    /// The per-second timeline.
    #[must_use]
    pub fn intervals(&self) -> Vec<IntervalRow> {
        self.intervals.rows()
    }

    /// The per-second timeline from unix second `since` on.
    #[must_use]
    pub fn intervals_since(&self, since: u64) -> Vec<IntervalRow> {
        self.intervals.rows_since(since)
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_moves_everything_once() {
        let (mut worker, mut master) = (ExactStats::new(), ExactStats::new());
        worker.record("POST", "push", 1.5, false);
        worker.record("POST", "push", 2.5, true);
        worker.record_items("POST", "pop", 7);
        let wire = serde_json::to_string(&worker.take_delta()).unwrap();
        master.absorb(serde_json::from_str(&wire).unwrap()).unwrap();
        assert!(worker.summaries().is_empty() && worker.intervals().is_empty());
        let summaries = master.summaries();
        let push = summaries.iter().find(|s| s.name == "push").unwrap();
        assert_eq!((push.count, push.failures), (2, 1));
        assert_eq!(summaries.iter().find(|s| s.name == "pop").unwrap().items, 7);
        assert_eq!(master.intervals().iter().map(|row| row.count).sum::<u64>(), 2);
    }
}
