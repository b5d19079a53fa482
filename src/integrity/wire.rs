//! The binary form of a ledger's delta, as a worker sends it to its master: one byte string per report instead of
//! JSON.
//!
//! Measured on a worker at 50,000 requests/s over 20 endpoints, 100 producers and 10 queues
//! (`bench/swarm/report.py`; docs/BENCHMARKS.md): the JSON delta of a 3 s report was 175 KB, 2.1 ms of the worker's
//! hub to build and 16.5 ms of the master's hub to merge. Nearly all of it is a thousand (queue, producer) tallies of
//! a few ranges each, seqs and producer ids written as decimal text. Here a set is its ranges as LEB128 varints, each
//! start the gap from the previous range's end and each end the range's length (a few bytes a range), and the
//! push-to-pop histograms their recorded buckets as the exact histograms send theirs (`crate::stats::wire`).
//! Nothing is rounded or dropped: the master reads the same `Snapshot` the worker took.
//!
//! Layout: `MAGIC`, one `FORMAT` byte, then the queues (count; per queue: name as varint length and UTF-8,
//! foreign items, interrupted pops and their depth, producers; per producer: its id, the sets sent, acked,
//! rejected, indeterminate, retried, popped, each a range count and its ranges, and the extra copies as a count and
//! (seq difference from the previous, copies) pairs); the out-of-order and priority-inversion counts; the examples
//! of each (count; per example: queue, then producer and seq each a presence byte and a varint), at most
//! `MAX_EXAMPLES` as in the ledger; the latency histograms (count; per priority: priority, recorded buckets).

use super::error::{IntegrityError, Result};
use super::snapshot::{
    Example, LatencySnapshot, ProducerSnapshot, QueueSnapshot, Snapshot, MAX_EXAMPLES, SNAPSHOT_VERSION,
};
use crate::common::{put_buckets, put_str, put_varint, ReadError, Reader};

/// The first bytes of every ledger delta: what tells it from anything else a report may carry (the exact
/// histograms' start with `PPHD`).
pub const MAGIC: &[u8; 4] = b"PPIL";
/// The layout's version; a master reads its own only (master and workers run the same pushpop-load). The JSON
/// snapshots that came before were version 1: their text starts with `{`, which `check_format` names as such.
pub const FORMAT: u8 = 2;

impl From<ReadError> for IntegrityError {
    fn from(err: ReadError) -> Self {
        Self::InvalidSnapshot(err.to_string())
    }
}

/// A delta's bytes.
#[must_use]
pub fn encode(snapshot: &Snapshot) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 * 1024);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT);
    put_varint(&mut out, snapshot.queues.len() as u64);
    for queue in &snapshot.queues {
        put_str(&mut out, &queue.queue);
        for value in [queue.foreign_unmarked, queue.interrupted_pops, queue.interrupted_depth] {
            put_varint(&mut out, value);
        }
        put_varint(&mut out, queue.producers.len() as u64);
        for producer in &queue.producers {
            put_varint(&mut out, producer.producer);
            for set in [
                &producer.sent,
                &producer.acked,
                &producer.rejected,
                &producer.indeterminate,
                &producer.retried,
                &producer.popped,
            ] {
                put_ranges(&mut out, set);
            }
            put_varint(&mut out, producer.extra.len() as u64);
            let mut previous = 0;
            for &(seq, copies) in &producer.extra {
                // sorted by seq (a map's order)
                put_varint(&mut out, seq.wrapping_sub(previous));
                put_varint(&mut out, copies);
                previous = seq;
            }
        }
    }
    put_varint(&mut out, snapshot.out_of_order);
    put_varint(&mut out, snapshot.priority_inversions);
    for examples in [&snapshot.out_of_order_examples, &snapshot.priority_inversion_examples] {
        let kept = &examples[..examples.len().min(MAX_EXAMPLES)];
        put_varint(&mut out, kept.len() as u64);
        for example in kept {
            put_str(&mut out, &example.queue);
            put_option(&mut out, example.producer);
            put_option(&mut out, example.seq);
        }
    }
    put_varint(&mut out, snapshot.latency.len() as u64);
    for latency in &snapshot.latency {
        put_varint(&mut out, latency.priority);
        put_buckets(&mut out, &latency.counts);
    }
    out
}

/// Sorted, disjoint ranges: each start as the gap from the previous end, each end as the range's length.
fn put_ranges(out: &mut Vec<u8>, ranges: &[(u64, u64)]) {
    put_varint(out, ranges.len() as u64);
    let mut previous = 0;
    for &(start, end) in ranges {
        put_varint(out, start.wrapping_sub(previous));
        put_varint(out, end.wrapping_sub(start));
        previous = end;
    }
}

fn put_option(out: &mut Vec<u8>, value: Option<u64>) {
    match value {
        None => out.push(0),
        Some(value) => {
            out.push(1);
            put_varint(out, value);
        }
    }
}

/// The format of `bytes`, checked without reading the rest: a master refuses a delta of another version before
/// queueing it for its merge thread.
pub fn check_format(bytes: &[u8]) -> Result<()> {
    if bytes.first() == Some(&b'{') {
        // what pushpop-load sent before this layout: a JSON snapshot, version 1
        return Err(IntegrityError::UnsupportedFormat(1));
    }
    if bytes.len() < MAGIC.len() + 1 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(IntegrityError::InvalidSnapshot(
            "not a pushpop-load integrity delta".to_owned(),
        ));
    }
    match bytes[MAGIC.len()] {
        FORMAT => Ok(()),
        other => Err(IntegrityError::UnsupportedFormat(other)),
    }
}

/// The delta in `bytes`. Ranges and counts are checked when the ledger absorbs it (`Ledger::absorb`).
pub fn decode(bytes: &[u8]) -> Result<Snapshot> {
    check_format(bytes)?;
    let mut reader = Reader::new(bytes, MAGIC.len() + 1);
    let count = reader.length()?;
    let mut queues = Vec::with_capacity(count);
    for _ in 0..count {
        let queue = reader.string()?;
        let (foreign_unmarked, interrupted_pops, interrupted_depth) =
            (reader.varint()?, reader.varint()?, reader.varint()?);
        let count = reader.length()?;
        let mut producers = Vec::with_capacity(count);
        for _ in 0..count {
            let producer = reader.varint()?;
            let mut sets: [Vec<(u64, u64)>; 6] = Default::default();
            for set in &mut sets {
                *set = ranges(&mut reader)?;
            }
            let [sent, acked, rejected, indeterminate, retried, popped] = sets;
            let count = reader.length()?;
            let mut extra = Vec::with_capacity(count);
            let mut seq = 0u64;
            for _ in 0..count {
                let step = reader.varint()?;
                if step == 0 && !extra.is_empty() {
                    return Err(reader.invalid("extra copies' seqs not ascending").into());
                }
                seq = seq
                    .checked_add(step)
                    .ok_or_else(|| reader.invalid("seq beyond 64 bits"))?;
                extra.push((seq, reader.varint()?));
            }
            producers.push(ProducerSnapshot {
                producer,
                sent,
                acked,
                rejected,
                indeterminate,
                retried,
                popped,
                extra,
            });
        }
        queues.push(QueueSnapshot {
            queue,
            foreign_unmarked,
            interrupted_pops,
            interrupted_depth,
            producers,
        });
    }
    let out_of_order = reader.varint()?;
    let priority_inversions = reader.varint()?;
    let out_of_order_examples = examples(&mut reader)?;
    let priority_inversion_examples = examples(&mut reader)?;
    let count = reader.length()?;
    let mut latency = Vec::with_capacity(count);
    for _ in 0..count {
        latency.push(LatencySnapshot {
            priority: reader.varint()?,
            counts: reader.buckets()?,
        });
    }
    if !reader.is_done() {
        return Err(reader.invalid("trailing bytes").into());
    }
    Ok(Snapshot {
        version: SNAPSHOT_VERSION,
        queues,
        out_of_order,
        priority_inversions,
        out_of_order_examples,
        priority_inversion_examples,
        latency,
    })
}

fn ranges(reader: &mut Reader<'_>) -> Result<Vec<(u64, u64)>> {
    let count = reader.length()?;
    let mut ranges = Vec::with_capacity(count);
    let mut previous = 0u64;
    for _ in 0..count {
        let (gap, length) = (reader.varint()?, reader.varint()?);
        let start = previous
            .checked_add(gap)
            .ok_or_else(|| reader.invalid("seq beyond 64 bits"))?;
        let end = start
            .checked_add(length)
            .ok_or_else(|| reader.invalid("seq beyond 64 bits"))?;
        ranges.push((start, end));
        previous = end;
    }
    Ok(ranges)
}

fn examples(reader: &mut Reader<'_>) -> Result<Vec<Example>> {
    let count = reader.length()?;
    if count > MAX_EXAMPLES {
        return Err(reader.invalid("more examples than a ledger keeps").into());
    }
    let mut examples = Vec::with_capacity(count);
    for _ in 0..count {
        examples.push(Example {
            queue: reader.string()?,
            producer: option(reader)?,
            seq: option(reader)?,
        });
    }
    Ok(examples)
}

fn option(reader: &mut Reader<'_>) -> Result<Option<u64>> {
    match reader.take(1)?[0] {
        0 => Ok(None),
        1 => Ok(Some(reader.varint()?)),
        _ => Err(reader.invalid("a presence byte other than 0 or 1").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrity::Ledger;

    /// A delta with a bit of everything: several queues and producers, every kind of set, extra copies, examples
    /// (more than are kept), foreign items, interrupted pops, two priorities' latencies, big seqs and ids.
    fn busy() -> Snapshot {
        let mut ledger = Ledger::new();
        let producers = [11u64, (1 << 53) - 1, 7];
        let mut markers = Vec::new();
        for n in 0..2_000u64 {
            let producer = producers[(n % 3) as usize];
            let queue = if n % 5 == 0 { "b \"ü\"" } else { "a" };
            let marker = ledger.marker(queue, producer, n % 2).values();
            match n % 97 {
                1 => ledger.indeterminate(queue, producer, marker[1]),
                2 => ledger.rejected(queue, producer, marker[1]),
                3 => ledger.retried(queue, producer, marker[1]),
                _ => ledger.acked(queue, producer, marker[1]),
            }
            markers.push((queue, marker));
        }
        ledger.acked_range("c", 5, 1 << 40, (1 << 40) + 10_000).unwrap();
        for queue in ["a", "b \"ü\""] {
            let mine: Vec<[u64; 4]> = markers.iter().filter(|(q, _)| *q == queue).map(|(_, m)| *m).collect();
            let mut t = crate::integrity::now_us();
            for (n, chunk) in mine.chunks(12).enumerate() {
                if n % 9 == 4 {
                    continue; // never popped: holes in the popped sets
                }
                let mut items: Vec<String> = chunk
                    .iter()
                    .rev() // out of order and inverted
                    .map(|m| format!(r#"{{"_pp": [{}, {}, {}, {}]}}"#, m[0], m[1], m[2], m[3]))
                    .collect();
                if n % 7 == 0 {
                    items.push(items[0].clone()); // a duplicate
                    items.push(r#"{"x": 1}"#.to_owned()); // foreign
                }
                let body = format!(r#"{{"items": [{}], "count": {}}}"#, items.join(","), items.len());
                ledger
                    .check_pop(queue, body.as_bytes(), t, t + 100 + n as u64 * 37)
                    .unwrap();
                t += 1_000 + n as u64 * 53;
            }
        }
        ledger.interrupted_pop("a", 10);
        ledger.take_delta()
    }

    #[test]
    fn a_delta_crosses_unchanged() {
        let delta = busy();
        assert!(delta.queues.len() == 3 && delta.latency.len() == 2);
        assert!(delta.out_of_order > 0 && delta.priority_inversions > 0, "{delta:?}");
        assert!(!delta.out_of_order_examples.is_empty() && !delta.priority_inversion_examples.is_empty());
        assert!(delta
            .queues
            .iter()
            .any(|queue| queue.foreign_unmarked > 0 && queue.interrupted_pops == 1));
        // every kind of set is in it somewhere, and the largest producer id
        let producers: Vec<&ProducerSnapshot> = delta.queues.iter().flat_map(|queue| &queue.producers).collect();
        assert!(producers.iter().any(|p| p.producer == (1 << 53) - 1));
        for set in [
            |p: &ProducerSnapshot| p.sent.len(),
            |p: &ProducerSnapshot| p.acked.len(),
            |p: &ProducerSnapshot| p.rejected.len(),
            |p: &ProducerSnapshot| p.indeterminate.len(),
            |p: &ProducerSnapshot| p.retried.len(),
            |p: &ProducerSnapshot| p.popped.len(),
            |p: &ProducerSnapshot| p.extra.len(),
        ] {
            assert!(producers.iter().any(|p| set(p) > 0));
        }
        assert!(producers.iter().any(|p| p.popped.len() > 1), "holes in a popped set");
        let bytes = encode(&delta);
        let json = delta.to_json();
        assert!(bytes.len() * 3 < json.len(), "{} against {}", bytes.len(), json.len());
        assert_eq!(decode(&bytes).unwrap(), delta);
        // and merged, the same verdict as the snapshot itself
        let (mut direct, mut wired) = (Ledger::new(), Ledger::new());
        direct.absorb(&delta).unwrap();
        wired.absorb(&decode(&bytes).unwrap()).unwrap();
        assert_eq!(wired.report(true), direct.report(true));
        // an empty delta is its header and six zero counts
        assert_eq!(
            decode(&encode(&Ledger::new().take_delta())).unwrap(),
            Snapshot::default()
        );
    }

    #[test]
    fn examples_are_capped_as_in_the_ledger() {
        let example = |seq| Example {
            queue: "q".into(),
            producer: if seq % 2 == 0 { Some(1) } else { None },
            seq: Some(seq),
        };
        let snapshot = Snapshot {
            out_of_order: 12,
            out_of_order_examples: (0..12).map(example).collect(),
            ..Snapshot::default()
        };
        let back = decode(&encode(&snapshot)).unwrap();
        assert_eq!(back.out_of_order, 12);
        assert_eq!(
            back.out_of_order_examples,
            snapshot.out_of_order_examples[..MAX_EXAMPLES]
        );
        // a delta claiming more than that is damaged
        let mut bytes = encode(&Snapshot::default());
        let at = bytes.len() - 3; // the out-of-order examples' count
        bytes[at] = 11;
        bytes.extend(std::iter::repeat_n([1, b'q', 0, 0], 11).flatten());
        assert!(matches!(decode(&bytes), Err(IntegrityError::InvalidSnapshot(_))));
    }

    #[test]
    fn other_formats_and_damage_are_named() {
        let bytes = encode(&busy());
        assert_eq!(decode(br#"{"version": 1}"#), Err(IntegrityError::UnsupportedFormat(1)));
        let mut newer = bytes.clone();
        newer[4] = 3;
        assert_eq!(decode(&newer), Err(IntegrityError::UnsupportedFormat(3)));
        let message = IntegrityError::UnsupportedFormat(3).to_string();
        assert!(
            message.contains("format 3") && message.contains("reads format 2"),
            "{message}"
        );
        // the exact histograms' delta is not a ledger's
        let mut stats = crate::stats::ExactStats::new();
        stats.record("GET", "x", 1.0, false);
        assert!(matches!(
            decode(&stats.take_wire()),
            Err(IntegrityError::InvalidSnapshot(_))
        ));
        assert!(matches!(decode(b"PP"), Err(IntegrityError::InvalidSnapshot(_))));
        // every truncation fails cleanly, none panics
        for end in (5..bytes.len()).step_by(31) {
            assert!(decode(&bytes[..end]).is_err(), "{end}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
        // a range the ledger would refuse decodes, and is refused whole when absorbed
        let mut bad = Snapshot::default();
        bad.queues.push(QueueSnapshot {
            queue: "q".into(),
            producers: vec![ProducerSnapshot {
                producer: 1,
                acked: vec![(0, 1 << 40)],
                ..ProducerSnapshot::default()
            }],
            ..QueueSnapshot::default()
        });
        let mut master = Ledger::new();
        assert!(master.absorb(&decode(&encode(&bad)).unwrap()).is_err());
        assert!(master.snapshot().queues.is_empty());
    }
}
