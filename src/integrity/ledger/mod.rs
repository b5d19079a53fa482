//! The ledger: what this process pushed and popped, checked as it goes, classified at report time.
//!
//! Two kinds of state live here. The mergeable part (per queue and producer: seqs sent, acknowledged, rejected,
//! indeterminate, retried, popped, extra copies; the violation counters; the push-to-pop histograms) moves out
//! with `take_delta` and merges with `absorb`, so a Locust master sees the whole swarm. The process-local part
//! (seq counters, FIFO trackers, which need the timing of this process's own pops) stays. Loss, duplication and
//! foreign items are decided in `report`, from the merged state: an item pushed by one worker and popped by
//! another is neither lost nor foreign.
//!
//! The parts: this file records (markers, acknowledgements, pops checked as they come), `tally` holds the state,
//! `delta` moves it between processes, `verdict` classifies it, `fx` is the maps' hash.

mod delta;
mod fx;
mod tally;
mod verdict;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;

use self::fx::{Fx, FxMap};
use self::tally::{QueueState, Tally};
use super::error::Result;
use super::order::OrderTracker;
use super::pop::{parse_pop, Marker};
use super::snapshot::{check_range, Example, MAX_EXAMPLES};

const SIGNIFICANT_DIGITS: u8 = 3;

/// Microseconds since the Unix epoch, the unit of markers and pop times.
#[must_use]
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_micros()).unwrap_or(u64::MAX))
}

fn new_histogram() -> Histogram<u64> {
    // auto-resizing, as in stats: no ceiling on how long an item may wait
    let mut histogram = Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits is a valid precision");
    histogram.auto(true);
    histogram
}

/// The integrity ledger of one process: markers out, acknowledgements and pops in, a report at the end.
#[derive(Default)]
pub struct Ledger {
    queues: FxMap<Box<str>, QueueState>,
    out_of_order: u64,
    priority_inversions: u64,
    out_of_order_examples: Vec<Example>,
    priority_inversion_examples: Vec<Example>,
    /// Push-to-pop time per marker priority, in µs.
    latency: BTreeMap<u64, Histogram<u64>>,
    /// Pops checked so far, numbering them for the FIFO trackers.
    pops: u64,
    /// Producers whose items were stored concurrently (the prepopulator's): their seqs promise no order.
    unordered: HashSet<u64, Fx>,
}

/// The queue's state, created on first use; the key is allocated only then, not on every hot-path lookup.
fn state_of<'a>(queues: &'a mut FxMap<Box<str>, QueueState>, queue: &str) -> &'a mut QueueState {
    if !queues.contains_key(queue) {
        queues.insert(queue.into(), QueueState::default());
    }
    queues.get_mut(queue).expect("inserted above")
}

fn note(examples: &mut Vec<Example>, queue: &str, producer: Option<u64>, seq: Option<u64>) {
    if examples.len() < MAX_EXAMPLES {
        examples.push(Example {
            queue: queue.to_owned(),
            producer,
            seq,
        });
    }
}

impl Ledger {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A producer id unique across processes and machines; see `producer::new_producer`.
    #[must_use]
    pub fn new_producer() -> u64 {
        super::producer::new_producer()
    }

    fn queue(&mut self, queue: &str) -> &mut QueueState {
        state_of(&mut self.queues, queue)
    }

    fn tally(&mut self, queue: &str, producer: u64) -> &mut Tally {
        self.queue(queue).tally.producers.entry(producer).or_default()
    }

    /// The marker of the next item `producer` pushes to `queue` at `priority`, stamped now. Seqs run 0, 1, 2, … per
    /// (queue, producer); the item counts as sent from here on.
    pub fn marker(&mut self, queue: &str, producer: u64, priority: u64) -> Marker {
        let state = self.queue(queue);
        state.pushed = true;
        let next = state.next_seq.entry(producer).or_insert(0);
        let seq = *next;
        *next += 1;
        state.tally.producers.entry(producer).or_default().sent.insert(seq);
        Marker {
            producer,
            seq,
            priority,
            push_us: now_us(),
        }
    }

    /// The push was answered with success: the item is stored.
    pub fn acked(&mut self, queue: &str, producer: u64, seq: u64) {
        self.tally(queue, producer).acked.insert(seq);
    }

    /// The push failed for certain (a 4xx): the item is not stored.
    pub fn rejected(&mut self, queue: &str, producer: u64, seq: u64) {
        self.tally(queue, producer).rejected.insert(seq);
    }

    /// The push's outcome is unknown (timeout, reset, 5xx): the item may or may not be stored.
    pub fn indeterminate(&mut self, queue: &str, producer: u64, seq: u64) {
        self.tally(queue, producer).indeterminate.insert(seq);
    }

    /// An acknowledged push whose earlier attempt had an unknown outcome: the item is acknowledged, and one extra
    /// copy of it is tolerated (counted as a retry copy, not a duplicate).
    pub fn retried(&mut self, queue: &str, producer: u64, seq: u64) {
        let tally = self.tally(queue, producer);
        tally.acked.insert(seq);
        tally.retried.insert(seq);
    }

    /// Seqs `start..end` of `producer` were stored by another tool (the prepopulator): sent and acknowledged.
    /// Such a tool pushes over many connections at once and retries, so its seqs are not in FIFO order: the
    /// producer is exempt from the order check in this queue.
    pub fn acked_range(&mut self, queue: &str, producer: u64, start: u64, end: u64) -> Result<()> {
        check_range(start, end)?;
        self.unordered.insert(producer);
        let state = self.queue(queue);
        state.pushed = true;
        let tally = state.tally.producers.entry(producer).or_default();
        tally.sent.insert_range(start, end);
        tally.acked.insert_range(start, end);
        // markers of this process must not reuse the range's seqs
        let next = state.next_seq.entry(producer).or_insert(0);
        *next = (*next).max(end);
        Ok(())
    }

    /// A pop of up to `depth` items whose answer will never be read: Locust stopped the user while it waited.
    /// The service may have removed those items, so up to `depth` acknowledged items of `queue` that are never
    /// seen popped are counted as taken by interrupted pops, not as lost.
    pub fn interrupted_pop(&mut self, queue: &str, depth: u64) {
        let tally = &mut self.queue(queue).tally;
        tally.interrupted_pops += 1;
        tally.interrupted_depth += depth;
    }

    /// Exempts `producer` from the order check everywhere: a process that pops items another process registered
    /// with `acked_range` (a Locust worker, after its master prepopulated) learns of them this way.
    pub fn exempt_from_order(&mut self, producer: u64) {
        self.unordered.insert(producer);
    }

    /// Checks one pop answer (either shape of the contract) from a pop that ran from `start_us` to `end_us` (unix
    /// µs); returns how many items it held. A body in neither shape is an error and records nothing.
    pub fn check_pop(&mut self, queue: &str, body: &[u8], start_us: u64, end_us: u64) -> Result<usize> {
        let items = parse_pop(body)?;
        if items.is_empty() {
            return Ok(0);
        }
        self.pops += 1;
        let pop = self.pops;
        let state = state_of(&mut self.queues, queue);
        let mut most_lenient: Option<u64> = None;
        for marker in &items {
            let Some(marker) = marker else {
                state.tally.foreign_unmarked += 1;
                continue;
            };
            state
                .tally
                .producers
                .entry(marker.producer)
                .or_default()
                .record_pop(marker.seq);
            // priority inversion: a more urgent item after a less urgent one, within this one pop
            if most_lenient.is_some_and(|lenient| marker.priority < lenient) {
                self.priority_inversions += 1;
                note(
                    &mut self.priority_inversion_examples,
                    queue,
                    Some(marker.producer),
                    Some(marker.seq),
                );
            }
            most_lenient = Some(most_lenient.map_or(marker.priority, |lenient| lenient.max(marker.priority)));
            let out_of_order = match state.trackers.entry((marker.priority, marker.producer)) {
                _ if self.unordered.contains(&marker.producer) => false,
                Entry::Occupied(mut tracker) => tracker.get_mut().observe(marker.seq, start_us, end_us, pop),
                Entry::Vacant(slot) => {
                    slot.insert(OrderTracker::new(marker.seq, end_us, pop));
                    false
                }
            };
            if out_of_order {
                self.out_of_order += 1;
                note(
                    &mut self.out_of_order_examples,
                    queue,
                    Some(marker.producer),
                    Some(marker.seq),
                );
            }
            let waited = end_us.saturating_sub(marker.push_us);
            let histogram = self.latency.entry(marker.priority).or_insert_with(new_histogram);
            if histogram.record(waited).is_err() {
                histogram.saturating_record(waited);
            }
        }
        Ok(items.len())
    }

    /// Queues this process pushed to, sorted: what the drain at test stop empties.
    #[must_use]
    pub fn queues(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .queues
            .iter()
            .filter(|(_, state)| state.pushed)
            .map(|(name, _)| name.to_string())
            .collect();
        names.sort_unstable();
        names
    }

    /// Forgets everything, local state included.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Approximate heap use of the ledger's sets and trackers, in bytes.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.queues
            .iter()
            .map(|(name, state)| {
                name.len()
                    + state.next_seq.capacity() * 24
                    + state.trackers.capacity() * (16 + std::mem::size_of::<OrderTracker>() + 8)
                    + state.tally.producers.capacity() * (8 + std::mem::size_of::<Tally>() + 8)
                    + state.tally.producers.values().map(Tally::heap_bytes).sum::<usize>()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrity::IntegrityError;

    /// An items-shape pop answer holding these markers (and a payload, so the parser has something to skip).
    pub(super) fn body(markers: &[[u64; 4]]) -> Vec<u8> {
        let items: Vec<String> = markers
            .iter()
            .map(|m| {
                format!(
                    r#"{{"id": "x", "data": "yy", "_pp": [{}, {}, {}, {}]}}"#,
                    m[0], m[1], m[2], m[3]
                )
            })
            .collect();
        format!(r#"{{"items": [{}], "count": {}}}"#, items.join(", "), items.len()).into_bytes()
    }

    /// Pushes `n` acknowledged items of `producer` to `queue` at `priority`; returns their markers.
    pub(super) fn push(ledger: &mut Ledger, queue: &str, producer: u64, priority: u64, n: usize) -> Vec<[u64; 4]> {
        (0..n)
            .map(|_| {
                let marker = ledger.marker(queue, producer, priority);
                ledger.acked(queue, producer, marker.seq);
                marker.values()
            })
            .collect()
    }

    pub(super) fn pop(ledger: &mut Ledger, queue: &str, markers: &[[u64; 4]], start_us: u64, end_us: u64) {
        assert_eq!(
            ledger.check_pop(queue, &body(markers), start_us, end_us).unwrap(),
            markers.len()
        );
    }

    pub(super) fn example(queue: &str, producer: u64, seq: u64) -> Example {
        Example {
            queue: queue.to_owned(),
            producer: Some(producer),
            seq: Some(seq),
        }
    }

    #[test]
    fn markers_count_per_queue_and_producer() {
        let mut ledger = Ledger::new();
        let (p, q) = (Ledger::new_producer(), Ledger::new_producer());
        assert_ne!(p, q);
        let before = now_us();
        let first = ledger.marker("a", p, 2);
        assert_eq!((first.producer, first.seq, first.priority), (p, 0, 2));
        assert!(first.push_us >= before && first.push_us <= now_us());
        assert_eq!(ledger.marker("a", p, 0).seq, 1);
        assert_eq!(ledger.marker("b", p, 0).seq, 0);
        assert_eq!(ledger.marker("a", q, 0).seq, 0);
        assert_eq!(ledger.queues(), ["a", "b"]);
    }

    #[test]
    fn clean_run_is_ok() {
        let mut ledger = Ledger::new();
        let p = Ledger::new_producer();
        let markers = push(&mut ledger, "q", p, 0, 25);
        for (n, chunk) in markers.chunks(10).enumerate() {
            let t = now_us() + n as u64 * 1000;
            pop(&mut ledger, "q", chunk, t, t + 500);
        }
        let report = ledger.report(true);
        assert!(report.ok, "{report}");
        assert_eq!((report.acknowledged, report.popped, report.lost), (25, 25, Some(0)));
        assert_eq!(report.push_to_pop.len(), 1);
        assert_eq!(report.push_to_pop[0].count, 25);
        assert!(report.push_to_pop[0].max_ms >= 0.0);
        assert!(report.summary_text().contains("Queue integrity: OK"));
    }

    #[test]
    fn out_of_order_only_when_proven() {
        let mut ledger = Ledger::new();
        let m = push(&mut ledger, "q", 7, 0, 6);
        pop(&mut ledger, "q", &[m[0], m[2]], 100, 200);
        // overlaps the pop that delivered seq 2: a concurrent consumer, nothing proven
        pop(&mut ledger, "q", &[m[1]], 150, 250);
        assert_eq!(ledger.report(true).out_of_order, 0);
        pop(&mut ledger, "q", &[m[4]], 300, 400);
        // starts after seq 4's pop ended: proven
        pop(&mut ledger, "q", &[m[3]], 401, 450);
        // reversed within one pop: proven
        pop(&mut ledger, "q", &[[7, 5, 0, 1]], 500, 600);
        let report = ledger.report(true);
        assert_eq!(report.out_of_order, 1, "{report}");
        assert_eq!(report.examples.out_of_order, [example("q", 7, 3)]);
        let mut ledger = Ledger::new();
        let m = push(&mut ledger, "q", 7, 0, 2);
        pop(&mut ledger, "q", &[m[1], m[0]], 100, 200);
        assert_eq!(ledger.report(true).out_of_order, 1);
        // order is per priority and per producer: these interleave freely
        let mut ledger = Ledger::new();
        let a = push(&mut ledger, "q", 1, 0, 2);
        let b = push(&mut ledger, "q", 1, 1, 2);
        let c = push(&mut ledger, "q", 2, 1, 2);
        pop(&mut ledger, "q", &[a[0], a[1]], 0, 10);
        pop(&mut ledger, "q", &[c[0], b[0], c[1], b[1]], 20, 30);
        assert!(ledger.report(true).ok);
    }

    #[test]
    fn priority_inversion_within_one_pop() {
        let mut ledger = Ledger::new();
        let low = push(&mut ledger, "q", 7, 2, 1);
        let high = push(&mut ledger, "q", 7, 0, 2);
        pop(&mut ledger, "q", &[high[0], low[0], high[1]], 10, 20);
        let report = ledger.report(true);
        assert_eq!(report.priority_inversions, 1);
        assert_eq!(report.examples.priority_inversions, [example("q", 7, 2)]);
        assert!(!report.ok);
        // across pops it is not an inversion: a push may land between them
        let mut ledger = Ledger::new();
        let low = push(&mut ledger, "q", 7, 2, 1);
        let high = push(&mut ledger, "q", 7, 0, 1);
        pop(&mut ledger, "q", &low, 10, 20);
        pop(&mut ledger, "q", &high, 30, 40);
        assert!(ledger.report(true).ok);
    }

    #[test]
    fn acked_range_counts_as_sent_and_acked() {
        let mut ledger = Ledger::new();
        ledger.acked_range("pre", 9, 0, 1000).unwrap();
        assert_eq!(ledger.marker("pre", 9, 0).seq, 1000);
        let popped: Vec<[u64; 4]> = (0..999).map(|seq| [9, seq, 0, 1]).collect();
        for (n, chunk) in popped.chunks(100).enumerate() {
            let t = n as u64 * 10;
            pop(&mut ledger, "pre", chunk, t, t + 5);
        }
        let report = ledger.report(true);
        assert_eq!((report.acknowledged, report.lost, report.foreign), (1000, Some(1), 0));
        assert!(matches!(
            ledger.acked_range("pre", 9, 10, 5),
            Err(IntegrityError::BadRange { .. })
        ));
        assert!(ledger.acked_range("pre", 9, 0, 1 << 40).is_err());
        assert!(ledger.acked_range("pre", 9, 0, (1 << 53) + 1).is_err());
    }

    #[test]
    fn prepopulated_items_promise_no_order_but_pushed_ones_do() {
        let mut ledger = Ledger::new();
        ledger.acked_range("pre", 9, 0, 4).unwrap();
        // many connections stored them: seq 3 may come out first, and that is no violation
        pop(&mut ledger, "pre", &[[9, 3, 0, 1], [9, 1, 0, 1]], 10, 20);
        pop(&mut ledger, "pre", &[[9, 0, 0, 1], [9, 2, 0, 1]], 30, 40);
        assert_eq!(ledger.report(true).out_of_order, 0);
        // a producer that pushed one item at a time still must come out in order
        let m = push(&mut ledger, "pre", 7, 0, 2);
        pop(&mut ledger, "pre", &[m[1]], 50, 60);
        pop(&mut ledger, "pre", &[m[0]], 70, 80);
        assert_eq!(ledger.report(true).out_of_order, 1);
    }

    #[test]
    fn both_pop_shapes_and_bad_shapes() {
        let mut ledger = Ledger::new();
        let m = push(&mut ledger, "q", 7, 0, 2);
        let single = format!(r#"{{"item": {{"_pp": [7, 0, 0, {}]}}}}"#, m[0][3]);
        assert_eq!(ledger.check_pop("q", single.as_bytes(), 1, 2).unwrap(), 1);
        assert_eq!(ledger.check_pop("q", br#"{"item": null}"#, 3, 4).unwrap(), 0);
        assert_eq!(ledger.check_pop("q", br#"{"items": [], "count": 0}"#, 3, 4).unwrap(), 0);
        for bad in [&b"{\"detail\": \"no\"}"[..], b"<html>", br#"{"items": [], "count": 1}"#] {
            assert!(ledger.check_pop("q", bad, 5, 6).is_err());
        }
        // a bad answer that holds a marker records nothing
        let bad = br#"{"items": [{"_pp": [7, 1, 0, 1]}], "count": 2}"#;
        assert!(ledger.check_pop("q", bad, 5, 6).is_err());
        let report = ledger.report(true);
        assert_eq!((report.popped, report.lost, report.foreign), (1, Some(1), 0));
    }

    #[test]
    fn latency_per_priority() {
        let mut ledger = Ledger::new();
        ledger.marker("q", 7, 0);
        ledger.marker("q", 7, 3);
        ledger.acked("q", 7, 0);
        ledger.acked("q", 7, 1);
        pop(
            &mut ledger,
            "q",
            &[[7, 0, 0, 1_000_000], [7, 1, 3, 1_000_000]],
            1_000_000,
            1_250_000,
        );
        let report = ledger.report(true);
        let latency: Vec<(u64, u64, f64)> = report
            .push_to_pop
            .iter()
            .map(|l| (l.priority, l.count, l.max_ms))
            .collect();
        assert_eq!(latency.len(), 2);
        assert_eq!((latency[0].0, latency[0].1, latency[1].0), (0, 1, 3));
        assert!((latency[0].2 - 250.0).abs() < 0.5, "{latency:?}");
        // a pop time before the push time (another machine's clock) counts as 0, not as a panic
        pop(&mut ledger, "q", &[[7, 0, 0, 5_000_000]], 0, 1);
        assert_eq!(ledger.report(true).push_to_pop[0].count, 2);
    }
}
