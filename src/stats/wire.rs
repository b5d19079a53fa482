//! The binary form of a `Delta`, as a worker sends it to its master: one byte string per report instead of JSON.
//!
//! Measured on a worker at 50,000 requests/s over 20 endpoints (`bench/swarm/report.py`): the JSON delta of a 3 s
//! report was 1.6 MB and took 22 ms to build and 45 ms to merge; nearly all of it is `[value, count]` pairs of the
//! recorded buckets of every histogram (the run's and each second's). Here a histogram is its recorded buckets as
//! LEB128 varints, each value the difference from the previous one (buckets are a few µs to a few hundred µs apart,
//! so one or two bytes) and its count (one byte, mostly): about a fifth of the size and a fraction of the time.
//! Nothing is rounded: the master records every (value, count) pair as it was recorded, so its percentiles are
//! those of the union of the workers' samples.
//!
//! Layout: `MAGIC`, one `FORMAT` byte, then a kind byte and the run's snapshot (or a kind byte alone when the
//! seconds hold every sample: `encode_seconds`), the recent seconds (count, then each second as a
//! varint difference from the previous one and its snapshot) and the settled rows. A snapshot is its entry count,
//! then per entry: method, name (varint length and UTF-8), failures, items, bucket count, buckets. A row: second,
//! method, name, count, failures, items, then p50, p95, p99, max in ms as little-endian f64.

use super::error::{Result, StatsError};
use super::exact::Delta;
use super::intervals::{IntervalRow, Seconds};
use super::recorder::{Snapshot, SnapshotEntry};
use crate::common::{put_buckets, put_str, put_varint, ReadError, Reader};

impl From<ReadError> for StatsError {
    fn from(err: ReadError) -> Self {
        Self::InvalidSnapshot(err.to_string())
    }
}

/// The first bytes of every delta: what tells a delta from anything else a report may carry.
pub const MAGIC: &[u8; 4] = b"PPHD";
/// The layout's version; a master reads its own only (master and workers run the same pushpop-load). The JSON
/// deltas that came before had no number: their text starts with `{`, which `decode` names as such.
pub const FORMAT: u8 = 2;

/// What follows the format byte: the run's snapshot, or nothing because the seconds hold every sample.
const WITH_TOTAL: u8 = 0;
const SECONDS_ONLY: u8 = 1;

/// A delta read back.
#[derive(Debug)]
pub enum Decoded {
    /// The run's samples and the seconds'.
    Whole(Delta),
    /// The seconds only: their samples are all the run's (`ExactStats::absorb_seconds`).
    Seconds(Seconds),
}

/// A delta's bytes.
#[must_use]
pub fn encode(delta: &Delta) -> Vec<u8> {
    encode_parts(Some(&delta.total), &delta.intervals)
}

/// The bytes of a delta whose every sample is in its recent seconds (none settled into rows): the run's snapshot
/// is left out, and the master adds the seconds to it. Half the buckets of a report (each sample is in the run's
/// histogram and its second's), and half the worker's time to build it.
#[must_use]
pub fn encode_seconds(seconds: &Seconds) -> Vec<u8> {
    debug_assert!(seconds.settled.is_empty(), "settled rows hold no samples");
    encode_parts(None, seconds)
}

fn encode_parts(total: Option<&Snapshot>, seconds: &Seconds) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * 1024);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT);
    match total {
        Some(total) => {
            out.push(WITH_TOTAL);
            put_snapshot(&mut out, total);
        }
        None => out.push(SECONDS_ONLY),
    }
    put_varint(&mut out, seconds.recent.len() as u64);
    let mut previous = 0;
    for (second, snapshot) in &seconds.recent {
        put_varint(&mut out, second.wrapping_sub(previous));
        previous = *second;
        put_snapshot(&mut out, snapshot);
    }
    put_varint(&mut out, seconds.settled.len() as u64);
    for row in &seconds.settled {
        put_varint(&mut out, row.second);
        put_str(&mut out, &row.method);
        put_str(&mut out, &row.name);
        for value in [row.count, row.failures, row.items] {
            put_varint(&mut out, value);
        }
        for value in [row.p50_ms, row.p95_ms, row.p99_ms, row.max_ms] {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out
}

/// The format of `bytes`, checked without reading the rest: a master refuses a delta of another version before
/// queueing it for its merge thread.
pub fn check_format(bytes: &[u8]) -> Result<()> {
    if bytes.first() == Some(&b'{') {
        // what pushpop-load sent before this layout: JSON text
        return Err(StatsError::UnsupportedFormat(1));
    }
    if bytes.len() < MAGIC.len() + 1 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(StatsError::InvalidSnapshot(
            "not a pushpop-load statistics delta".to_owned(),
        ));
    }
    match bytes[MAGIC.len()] {
        FORMAT => Ok(()),
        other => Err(StatsError::UnsupportedFormat(other)),
    }
}

/// The delta in `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Decoded> {
    check_format(bytes)?;
    let mut reader = Reader::new(bytes, MAGIC.len() + 1);
    let total = match reader.take(1)?[0] {
        WITH_TOTAL => Some(snapshot(&mut reader)?),
        SECONDS_ONLY => None,
        _ => return Err(reader.invalid("unknown delta kind").into()),
    };
    let seconds = reader.length()?;
    let mut recent = Vec::with_capacity(seconds);
    let mut second = 0u64;
    for _ in 0..seconds {
        second = second.wrapping_add(reader.varint()?);
        recent.push((second, snapshot(&mut reader)?));
    }
    let rows = reader.length()?;
    let mut settled = Vec::with_capacity(rows);
    for _ in 0..rows {
        settled.push(IntervalRow {
            second: reader.varint()?,
            method: reader.string()?,
            name: reader.string()?,
            count: reader.varint()?,
            failures: reader.varint()?,
            items: reader.varint()?,
            p50_ms: reader.float()?,
            p95_ms: reader.float()?,
            p99_ms: reader.float()?,
            max_ms: reader.float()?,
        });
    }
    if !reader.is_done() {
        return Err(reader.invalid("trailing bytes").into());
    }
    let intervals = Seconds { recent, settled };
    Ok(match total {
        Some(total) => Decoded::Whole(Delta { total, intervals }),
        None => Decoded::Seconds(intervals),
    })
}

fn put_snapshot(out: &mut Vec<u8>, snapshot: &Snapshot) {
    put_varint(out, snapshot.entries.len() as u64);
    for entry in &snapshot.entries {
        put_str(out, &entry.method);
        put_str(out, &entry.name);
        put_varint(out, entry.failures);
        put_varint(out, entry.items);
        put_buckets(out, &entry.counts);
    }
}

fn snapshot(reader: &mut Reader<'_>) -> Result<Snapshot> {
    let count = reader.length()?;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let method = reader.string()?;
        let name = reader.string()?;
        let failures = reader.varint()?;
        let items = reader.varint()?;
        let counts = reader.buckets()?;
        entries.push(SnapshotEntry {
            method,
            name,
            failures,
            items,
            counts,
        });
    }
    let mut snapshot = Snapshot::empty();
    snapshot.entries = entries;
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::ExactStats;

    fn busy() -> ExactStats {
        let mut stats = ExactStats::new();
        for n in 0..20_000u32 {
            let ms = f64::from(n % 1_777) * 0.731 + 0.013;
            stats.record("POST", if n % 3 == 0 { "pop" } else { "push \"ü\"" }, ms, n % 97 == 0);
            stats.record_items("POST", "pop", u64::from(n % 5));
        }
        stats.record("GET", "huge", 1e9, false);
        stats
    }

    #[test]
    fn a_delta_crosses_unchanged() {
        let mut worker = busy();
        let delta = worker.take_delta();
        let json = serde_json::to_string(&delta).unwrap();
        let bytes = encode(&delta);
        assert!(bytes.len() * 3 < json.len(), "{} against {}", bytes.len(), json.len());
        let Decoded::Whole(back) = decode(&bytes).unwrap() else {
            panic!("a whole delta")
        };
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        // the same delta without its total: the master adds it up from the seconds
        let seconds = encode_seconds(&delta.intervals);
        assert!(
            seconds.len() * 3 < bytes.len() * 2,
            "{} against {}",
            seconds.len(),
            bytes.len()
        );
        let Decoded::Seconds(recent) = decode(&seconds).unwrap() else {
            panic!("seconds only")
        };
        let (mut direct, mut wired, mut derived) = (ExactStats::new(), ExactStats::new(), ExactStats::new());
        direct.absorb(delta).unwrap();
        wired.absorb(back).unwrap();
        derived.absorb_seconds(recent).unwrap();
        assert_eq!(direct.summaries(), wired.summaries());
        assert_eq!(direct.intervals(), wired.intervals());
        assert_eq!(direct.summaries(), derived.summaries());
        assert_eq!(direct.snapshot(), derived.snapshot());
        assert_eq!(direct.intervals(), derived.intervals());
    }

    #[test]
    fn settled_rows_cross_too() {
        let delta = Delta {
            total: Snapshot::empty(),
            intervals: Seconds {
                recent: Vec::new(),
                settled: vec![IntervalRow {
                    second: 1_700_000_000,
                    method: "GET".into(),
                    name: "x".into(),
                    count: 3,
                    failures: 1,
                    items: 9,
                    p50_ms: 1.5,
                    p95_ms: 2.25,
                    p99_ms: 3.125,
                    max_ms: 4.0,
                }],
            },
        };
        let Decoded::Whole(back) = decode(&encode(&delta)).unwrap() else {
            panic!("a whole delta")
        };
        assert_eq!(back.intervals.settled, delta.intervals.settled);
    }

    #[test]
    fn other_formats_and_damage_are_named() {
        let bytes = encode(&busy().take_delta());
        assert!(matches!(
            decode(b"{\"total\": {}}"),
            Err(StatsError::UnsupportedFormat(1))
        ));
        let mut newer = bytes.clone();
        newer[4] = 3;
        assert!(matches!(decode(&newer), Err(StatsError::UnsupportedFormat(3))));
        assert!(matches!(decode(b"PP"), Err(StatsError::InvalidSnapshot(_))));
        // every truncation fails cleanly, none panics
        for end in (5..bytes.len()).step_by(97) {
            assert!(decode(&bytes[..end]).is_err(), "{end}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
    }
}
