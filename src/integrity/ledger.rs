//! The ledger: what this process pushed and popped, checked as it goes, classified at report time.
//!
//! Two kinds of state live here. The mergeable part (per queue and producer: seqs sent, acknowledged, rejected,
//! indeterminate, retried, popped, extra copies; the violation counters; the push-to-pop histograms) moves out
//! with `take_delta` and merges with `absorb`, so a Locust master sees the whole swarm. The process-local part
//! (seq counters, FIFO trackers, which need the timing of this process's own pops) stays. Loss, duplication and
//! foreign items are decided in `report`, from the merged state: an item pushed by one worker and popped by
//! another is neither lost nor foreign.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;

use super::error::{IntegrityError, Result};
use super::order::OrderTracker;
use super::pop::{parse_pop, Marker};
use super::report::{Examples, Latency, Report, REPORT_VERSION};
use super::seqset::SeqSet;
use super::snapshot::{
    check_range, ranges_to_set, Example, LatencySnapshot, ProducerSnapshot, QueueSnapshot, Snapshot, MAX_EXAMPLES,
    SNAPSHOT_VERSION,
};

/// `FxHash`: a multiply-rotate hash, several times cheaper than `SipHash` on the u64 and short-string keys looked up on
/// every call. Keys come from our own markers, so flooding resistance buys nothing here.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Fx = BuildHasherDefault<FxHasher>;
type FxMap<K, V> = HashMap<K, V, Fx>;

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

/// One producer's items in one queue, as far as this process (or the processes merged into it) knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Tally {
    sent: SeqSet,
    acked: SeqSet,
    rejected: SeqSet,
    indeterminate: SeqSet,
    retried: SeqSet,
    popped: SeqSet,
    /// seq → deliveries beyond the first. Rare in a correct system, so a map.
    extra: BTreeMap<u64, u64>,
}

impl Tally {
    fn record_pop(&mut self, seq: u64) {
        if !self.popped.insert(seq) {
            *self.extra.entry(seq).or_insert(0) += 1;
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.sent.union_with(&other.sent);
        self.acked.union_with(&other.acked);
        self.rejected.union_with(&other.rejected);
        self.indeterminate.union_with(&other.indeterminate);
        self.retried.union_with(&other.retried);
        // an item popped in two deltas was delivered twice
        for seq in self.popped.intersection(&other.popped).iter() {
            *self.extra.entry(seq).or_insert(0) += 1;
        }
        self.popped.union_with(&other.popped);
        for (&seq, &count) in &other.extra {
            *self.extra.entry(seq).or_insert(0) += count;
        }
    }

    fn to_snapshot(&self, producer: u64) -> ProducerSnapshot {
        ProducerSnapshot {
            producer,
            sent: self.sent.ranges(),
            acked: self.acked.ranges(),
            rejected: self.rejected.ranges(),
            indeterminate: self.indeterminate.ranges(),
            retried: self.retried.ranges(),
            popped: self.popped.ranges(),
            extra: self.extra.iter().map(|(&seq, &count)| (seq, count)).collect(),
        }
    }

    fn from_snapshot(snapshot: &ProducerSnapshot) -> Result<Self> {
        Ok(Self {
            sent: ranges_to_set(&snapshot.sent)?,
            acked: ranges_to_set(&snapshot.acked)?,
            rejected: ranges_to_set(&snapshot.rejected)?,
            indeterminate: ranges_to_set(&snapshot.indeterminate)?,
            retried: ranges_to_set(&snapshot.retried)?,
            popped: ranges_to_set(&snapshot.popped)?,
            extra: snapshot.extra.iter().copied().collect(),
        })
    }

    fn heap_bytes(&self) -> usize {
        [
            &self.sent,
            &self.acked,
            &self.rejected,
            &self.indeterminate,
            &self.retried,
            &self.popped,
        ]
        .iter()
        .map(|set| set.heap_bytes())
        .sum::<usize>()
            + self.extra.len() * 48
    }
}

/// The mergeable part of one queue.
#[derive(Debug, Default)]
struct QueueTally {
    producers: FxMap<u64, Tally>,
    foreign_unmarked: u64,
    /// Pops whose answer was never read (the user was stopped mid-pop), and the items they may have taken.
    interrupted_pops: u64,
    interrupted_depth: u64,
}

impl QueueTally {
    fn is_empty(&self) -> bool {
        self.producers.is_empty() && self.foreign_unmarked == 0 && self.interrupted_pops == 0
    }
}

#[derive(Debug, Default)]
struct QueueState {
    /// Whether this process pushed to the queue (the drain's list).
    pushed: bool,
    /// Next seq per producer. Local: a producer pushes from one process.
    next_seq: FxMap<u64, u64>,
    /// FIFO trackers per (priority, producer). Local: they compare this process's pop times.
    trackers: FxMap<(u64, u64), OrderTracker>,
    tally: QueueTally,
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

    /// The mergeable state as it is now, without taking it.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let mut queues: Vec<QueueSnapshot> = self
            .queues
            .iter()
            .filter(|(_, state)| !state.tally.is_empty())
            .map(|(name, state)| {
                let mut producers: Vec<ProducerSnapshot> = state
                    .tally
                    .producers
                    .iter()
                    .map(|(&producer, tally)| tally.to_snapshot(producer))
                    .collect();
                producers.sort_unstable_by_key(|producer| producer.producer);
                QueueSnapshot {
                    queue: name.to_string(),
                    foreign_unmarked: state.tally.foreign_unmarked,
                    interrupted_pops: state.tally.interrupted_pops,
                    interrupted_depth: state.tally.interrupted_depth,
                    producers,
                }
            })
            .collect();
        queues.sort_unstable_by(|a, b| a.queue.cmp(&b.queue));
        Snapshot {
            version: SNAPSHOT_VERSION,
            queues,
            out_of_order: self.out_of_order,
            priority_inversions: self.priority_inversions,
            out_of_order_examples: self.out_of_order_examples.clone(),
            priority_inversion_examples: self.priority_inversion_examples.clone(),
            latency: self
                .latency
                .iter()
                .map(|(&priority, histogram)| LatencySnapshot {
                    priority,
                    counts: histogram
                        .iter_recorded()
                        .map(|bucket| (bucket.value_iterated_to(), bucket.count_at_value()))
                        .collect(),
                })
                .collect(),
        }
    }

    /// Moves the mergeable state out (what a worker ships); seq counters and FIFO trackers stay.
    pub fn take_delta(&mut self) -> Snapshot {
        let snapshot = self.snapshot();
        for state in self.queues.values_mut() {
            state.tally = QueueTally::default();
        }
        self.out_of_order = 0;
        self.priority_inversions = 0;
        self.out_of_order_examples.clear();
        self.priority_inversion_examples.clear();
        self.latency.clear();
        snapshot
    }

    /// Merges another process's delta: sets are united, and an item popped in both is a duplicate. A snapshot
    /// that does not validate is refused whole.
    pub fn absorb(&mut self, snapshot: &Snapshot) -> Result<()> {
        if snapshot.version != SNAPSHOT_VERSION {
            return Err(IntegrityError::UnsupportedVersion(snapshot.version));
        }
        let mut incoming = Vec::with_capacity(snapshot.queues.len());
        for queue in &snapshot.queues {
            let tallies = queue
                .producers
                .iter()
                .map(|producer| Ok((producer.producer, Tally::from_snapshot(producer)?)))
                .collect::<Result<Vec<_>>>()?;
            incoming.push((queue, tallies));
        }
        let mut histograms = Vec::with_capacity(snapshot.latency.len());
        for latency in &snapshot.latency {
            let mut histogram = new_histogram();
            for &(value, count) in &latency.counts {
                histogram
                    .record_n(value, count)
                    .map_err(|err| IntegrityError::InvalidSnapshot(format!("latency: {err:?}")))?;
            }
            histograms.push((latency.priority, histogram));
        }
        for (queue, tallies) in incoming {
            let state = self.queue(&queue.queue);
            state.tally.foreign_unmarked += queue.foreign_unmarked;
            state.tally.interrupted_pops += queue.interrupted_pops;
            state.tally.interrupted_depth += queue.interrupted_depth;
            for (producer, tally) in tallies {
                // a worker's queue is one the master drains at the end
                state.pushed |= !tally.sent.is_empty();
                state.tally.producers.entry(producer).or_default().merge(&tally);
            }
        }
        for (priority, histogram) in histograms {
            match self.latency.entry(priority) {
                std::collections::btree_map::Entry::Occupied(mut mine) => {
                    mine.get_mut()
                        .add(&histogram)
                        .map_err(|err| IntegrityError::InvalidSnapshot(format!("latency: {err:?}")))?;
                }
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(histogram);
                }
            }
        }
        self.out_of_order += snapshot.out_of_order;
        self.priority_inversions += snapshot.priority_inversions;
        for example in &snapshot.out_of_order_examples {
            note(
                &mut self.out_of_order_examples,
                &example.queue,
                example.producer,
                example.seq,
            );
        }
        for example in &snapshot.priority_inversion_examples {
            note(
                &mut self.priority_inversion_examples,
                &example.queue,
                example.producer,
                example.seq,
            );
        }
        Ok(())
    }

    /// Forgets everything, local state included.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// The verdict from the state as merged so far. `drained`: the queues were emptied at the end, so an
    /// acknowledged item never popped is lost (otherwise it is only "unpopped").
    #[must_use]
    pub fn report(&self, drained: bool) -> Report {
        let mut report = Report {
            version: REPORT_VERSION,
            ok: false,
            drained,
            queues: 0,
            producers: 0,
            acknowledged: 0,
            indeterminate: 0,
            rejected: 0,
            popped: 0,
            popped_indeterminate: 0,
            popped_rejected: 0,
            retried_copies: 0,
            interrupted_pops: 0,
            taken_by_interrupted_pops: 0,
            unpopped: 0,
            lost: None,
            duplicated: 0,
            out_of_order: self.out_of_order,
            priority_inversions: self.priority_inversions,
            foreign: 0,
            examples: Examples {
                out_of_order: self.out_of_order_examples.clone(),
                priority_inversions: self.priority_inversion_examples.clone(),
                ..Examples::default()
            },
            push_to_pop: Vec::new(),
        };
        let mut names: Vec<&Box<str>> = self
            .queues
            .iter()
            .filter(|(_, state)| !state.tally.is_empty())
            .map(|(name, _)| name)
            .collect();
        names.sort_unstable();
        let mut producers = HashSet::new();
        for name in names {
            let tally = &self.queues[name].tally;
            report.queues += 1;
            report.popped += tally.foreign_unmarked;
            report.foreign += tally.foreign_unmarked;
            if tally.foreign_unmarked > 0 {
                note(&mut report.examples.foreign, name, None, None);
            }
            let mut ids: Vec<&u64> = tally.producers.keys().collect();
            ids.sort_unstable();
            let unpopped_before = report.unpopped;
            for &id in ids {
                producers.insert(id);
                classify(&mut report, name, id, &tally.producers[&id]);
            }
            // what interrupted pops of this queue may have taken is not known to be lost
            let taken = (report.unpopped - unpopped_before).min(tally.interrupted_depth);
            report.unpopped -= taken;
            report.taken_by_interrupted_pops += taken;
            report.interrupted_pops += tally.interrupted_pops;
        }
        report.producers = producers.len() as u64;
        if drained {
            report.lost = Some(report.unpopped);
        }
        report.ok = report.lost.unwrap_or(0) == 0
            && report.duplicated == 0
            && report.out_of_order == 0
            && report.priority_inversions == 0
            && report.foreign == 0
            && report.popped_rejected == 0;
        report.push_to_pop = self
            .latency
            .iter()
            .map(|(&priority, histogram)| Latency {
                priority,
                count: histogram.len(),
                mean_ms: histogram.mean() / 1000.0,
                p50_ms: millis(histogram.value_at_quantile(0.50)),
                p90_ms: millis(histogram.value_at_quantile(0.90)),
                p99_ms: millis(histogram.value_at_quantile(0.99)),
                max_ms: millis(histogram.max()),
            })
            .collect();
        report
    }

    /// The human summary of `report(drained)`.
    #[must_use]
    pub fn summary_text(&self, drained: bool) -> String {
        self.report(drained).summary_text()
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

#[allow(clippy::cast_precision_loss)] // microsecond values stay far below 2^52
fn millis(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn first_examples(target: &mut Vec<Example>, queue: &str, producer: u64, set: &SeqSet) {
    for seq in set.iter().take(MAX_EXAMPLES.saturating_sub(target.len())) {
        note(target, queue, Some(producer), Some(seq));
    }
}

/// Adds one producer's items in one queue to the report.
fn classify(report: &mut Report, queue: &str, producer: u64, tally: &Tally) {
    let acked = tally.acked.union(&tally.retried);
    let mut sent = tally.sent.union(&acked);
    sent.union_with(&tally.rejected);
    sent.union_with(&tally.indeterminate);
    let indeterminate = tally.indeterminate.difference(&acked);
    let rejected = tally.rejected.difference(&acked).difference(&tally.indeterminate);
    let unpopped = acked.difference(&tally.popped);
    let foreign = tally.popped.difference(&sent);
    let popped_rejected = tally.popped.intersection(&rejected);

    report.acknowledged += acked.len();
    report.indeterminate += indeterminate.len();
    report.rejected += rejected.len();
    report.popped += tally.popped.len();
    report.popped_indeterminate += tally.popped.intersection(&indeterminate).len();
    report.popped_rejected += popped_rejected.len();
    report.unpopped += unpopped.len();
    report.foreign += foreign.len();
    first_examples(&mut report.examples.lost, queue, producer, &unpopped);
    first_examples(&mut report.examples.foreign, queue, producer, &foreign);
    first_examples(&mut report.examples.popped_rejected, queue, producer, &popped_rejected);
    for (&seq, &copies) in &tally.extra {
        report.popped += copies;
        if !sent.contains(seq) {
            report.foreign += copies;
            continue;
        }
        let tolerated = u64::from(tally.retried.contains(seq)).min(copies);
        report.retried_copies += tolerated;
        if copies > tolerated {
            report.duplicated += copies - tolerated;
            note(&mut report.examples.duplicated, queue, Some(producer), Some(seq));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An items-shape pop answer holding these markers (and a payload, so the parser has something to skip).
    fn body(markers: &[[u64; 4]]) -> Vec<u8> {
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
    fn push(ledger: &mut Ledger, queue: &str, producer: u64, priority: u64, n: usize) -> Vec<[u64; 4]> {
        (0..n)
            .map(|_| {
                let marker = ledger.marker(queue, producer, priority);
                ledger.acked(queue, producer, marker.seq);
                marker.values()
            })
            .collect()
    }

    fn pop(ledger: &mut Ledger, queue: &str, markers: &[[u64; 4]], start_us: u64, end_us: u64) {
        assert_eq!(
            ledger.check_pop(queue, &body(markers), start_us, end_us).unwrap(),
            markers.len()
        );
    }

    fn example(queue: &str, producer: u64, seq: u64) -> Example {
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
    fn lost_only_when_drained() {
        let mut ledger = Ledger::new();
        let markers = push(&mut ledger, "q", 7, 0, 5);
        pop(
            &mut ledger,
            "q",
            &[markers[0], markers[1], markers[3], markers[4]],
            10,
            20,
        );
        let report = ledger.report(false);
        assert!(report.ok);
        assert_eq!((report.unpopped, report.lost), (1, None));
        let report = ledger.report(true);
        assert!(!report.ok);
        assert_eq!(report.lost, Some(1));
        assert_eq!(report.examples.lost, [example("q", 7, 2)]);
        assert!(report.summary_text().contains("lost: 1"), "{report}");
    }

    #[test]
    fn duplicates_within_a_pop_and_across_pops() {
        let mut ledger = Ledger::new();
        let m = push(&mut ledger, "q", 7, 0, 3);
        pop(&mut ledger, "q", &[m[0], m[0], m[1]], 10, 20);
        pop(&mut ledger, "q", &[m[1], m[2]], 30, 40);
        let report = ledger.report(true);
        assert!(!report.ok);
        assert_eq!((report.popped, report.duplicated, report.lost), (5, 2, Some(0)));
        assert_eq!(report.examples.duplicated, [example("q", 7, 0), example("q", 7, 1)]);
        // another copy is a duplicate, not also an order violation
        assert_eq!(report.out_of_order, 0);
    }

    #[test]
    fn foreign_items() {
        let mut ledger = Ledger::new();
        let m = push(&mut ledger, "q", 7, 0, 2);
        let unmarked = br#"{"items": [{"id": "a"}, {"_pp": [7, 1, 0]}, "text"], "count": 3}"#;
        assert_eq!(ledger.check_pop("q", unmarked, 0, 1).unwrap(), 3);
        // a seq the producer never sent, an unknown producer, and a known item popped from the wrong queue
        pop(&mut ledger, "q", &[m[0], m[1], [7, 99, 0, 1], [8, 0, 0, 1]], 2, 3);
        pop(&mut ledger, "other", &[[7, 0, 0, 1]], 4, 5);
        let report = ledger.report(true);
        assert_eq!((report.foreign, report.popped, report.duplicated), (6, 8, 0));
        assert!(!report.ok);
        assert_eq!(
            report.examples.foreign,
            [
                example("other", 7, 0),
                Example {
                    queue: "q".into(),
                    producer: None,
                    seq: None
                },
                example("q", 7, 99),
                example("q", 8, 0)
            ]
        );
        // copies of a foreign item are foreign, not duplicates
        pop(&mut ledger, "q", &[[8, 0, 0, 1]], 6, 7);
        let report = ledger.report(true);
        assert_eq!((report.foreign, report.duplicated), (7, 0));
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
    fn indeterminate_rejected_and_retried_pushes() {
        let mut ledger = Ledger::new();
        let m: Vec<[u64; 4]> = (0..6).map(|_| ledger.marker("q", 7, 0).values()).collect();
        ledger.acked("q", 7, 0);
        ledger.indeterminate("q", 7, 1); // stored after all
        ledger.indeterminate("q", 7, 2); // never stored
        ledger.rejected("q", 7, 3);
        ledger.indeterminate("q", 7, 4); // retried: stored twice
        ledger.retried("q", 7, 4);
        ledger.rejected("q", 7, 5); // refused, yet stored
        pop(&mut ledger, "q", &[m[0], m[1], m[4], m[4], m[5]], 10, 20);
        let report = ledger.report(true);
        assert_eq!(
            (
                report.acknowledged,
                report.indeterminate,
                report.rejected,
                report.popped,
                report.popped_indeterminate,
                report.retried_copies,
                report.popped_rejected,
                report.duplicated,
                report.lost,
            ),
            (2, 2, 2, 5, 1, 1, 1, 0, Some(0))
        );
        assert_eq!(report.examples.popped_rejected, [example("q", 7, 5)]);
        assert!(!report.ok);
        // a third copy of a retried item is a duplicate
        pop(&mut ledger, "q", &[m[4]], 30, 40);
        assert_eq!(ledger.report(true).duplicated, 1);
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
    fn interrupted_pops_explain_missing_items_up_to_their_depth_only() {
        let mut ledger = Ledger::new();
        let m = push(&mut ledger, "q", 7, 0, 10);
        pop(&mut ledger, "q", &m[..5], 10, 20);
        // a user stopped mid-pop of depth 3: its answer (seqs 5-7) is never read
        ledger.interrupted_pop("q", 3);
        let report = ledger.report(true);
        assert_eq!((report.interrupted_pops, report.taken_by_interrupted_pops), (1, 3));
        assert_eq!((report.unpopped, report.lost), (2, Some(2)));
        assert!(!report.ok);
        // merged from a worker's delta, the same
        let mut master = Ledger::new();
        master.absorb(&ledger.take_delta()).unwrap();
        assert_eq!(master.report(true).taken_by_interrupted_pops, 3);
        assert_eq!(master.report(true).lost, Some(2));
    }

    #[test]
    fn a_workers_queues_are_drained_by_the_master() {
        let mut worker = Ledger::new();
        push(&mut worker, "w", 7, 0, 3);
        let mut master = Ledger::new();
        master.absorb(&worker.take_delta()).unwrap();
        assert_eq!(master.queues(), ["w"]);
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

    /// One run of a bit of everything. `split`: pushes of each producer in a process of its own and pops spread
    /// over all three, each shipping deltas now and then; otherwise all in one process.
    fn workload(split: bool) -> (Vec<Ledger>, Vec<Snapshot>) {
        let mut ledgers: Vec<Ledger> = (0..if split { 3 } else { 1 }).map(|_| Ledger::new()).collect();
        let mut deltas = Vec::new();
        let producers = [11u64, 12, 13];
        let mut markers = Vec::new();
        for n in 0..3000usize {
            let producer = producers[n % 3];
            let queue = if n % 5 == 0 { "b" } else { "a" };
            let ledger = &mut ledgers[if split { n % 3 } else { 0 }];
            let m = ledger.marker(queue, producer, (n % 3) as u64).values();
            match n % 97 {
                1 => ledger.indeterminate(queue, producer, m[1]),
                2 => ledger.rejected(queue, producer, m[1]),
                3 => {
                    ledger.indeterminate(queue, producer, m[1]);
                    ledger.retried(queue, producer, m[1]);
                }
                _ => ledger.acked(queue, producer, m[1]),
            }
            markers.push((queue, m));
            if split && n % 700 == 699 {
                deltas.push(ledger.take_delta());
            }
        }
        // pops: mostly in order, with duplicates, a few skipped, some foreign, some inverted
        let mut t = 1_000_000_000;
        for (n, chunk) in markers.chunks(7).enumerate() {
            let queue = chunk[0].0;
            let mut items: Vec<[u64; 4]> = chunk.iter().filter(|(q, _)| *q == queue).map(|(_, m)| *m).collect();
            if n % 11 == 0 {
                items.push(items[0]);
            }
            // retried pushes come out twice, as a retry that did store twice would
            let retried = (n * 7..n * 7 + chunk.len()).find(|i| i % 97 == 3 && markers[*i].0 == queue);
            items.extend(retried.map(|i| markers[i].1));
            if n % 13 == 0 {
                items.pop();
            }
            if n % 17 == 0 {
                items.push([99, n as u64, 0, 5]);
            }
            let ledger = &mut ledgers[if split { (n / 50) % 3 } else { 0 }];
            ledger.check_pop(queue, &body(&items), t, t + 300).unwrap();
            if split && n % 100 == 99 {
                deltas.push(ledger.take_delta());
            }
            t += 1000;
        }
        if split {
            deltas.extend(ledgers.iter_mut().map(Ledger::take_delta));
        }
        (ledgers, deltas)
    }

    #[test]
    fn deltas_absorbed_equal_one_process() {
        let (one, _) = workload(false);
        let (_, deltas) = workload(true);
        assert!(deltas.len() >= 3);
        let mut master = Ledger::new();
        for delta in &deltas {
            // through JSON, as between Locust processes
            master.absorb(&Snapshot::from_json(&delta.to_json()).unwrap()).unwrap();
        }
        let (merged, single) = (master.report(true), one[0].report(true));
        assert!(
            single.duplicated > 0 && single.foreign > 0 && single.lost > Some(0),
            "{single}"
        );
        assert!(single.popped_indeterminate > 0 && single.retried_copies > 0 && single.popped_rejected > 0);
        assert!(single.priority_inversions > 0);
        assert_eq!(merged.priority_inversions, single.priority_inversions);
        // examples of pop-time findings come in the order the deltas arrived
        let without_pop_time_examples = |report: &Report| Report {
            examples: Examples {
                out_of_order: vec![],
                priority_inversions: vec![],
                ..report.examples.clone()
            },
            ..report.clone()
        };
        assert_eq!(without_pop_time_examples(&merged), without_pop_time_examples(&single));
        assert_eq!(master.snapshot().queues, one[0].snapshot().queues);
        assert_eq!(master.snapshot().latency, one[0].snapshot().latency);
        // and a process's own deltas, absorbed, equal its state
        let (mut again, _) = workload(false);
        let mut rebuilt = Ledger::new();
        rebuilt.absorb(&again[0].take_delta()).unwrap();
        assert_eq!(rebuilt.snapshot(), one[0].snapshot());
    }

    #[test]
    fn a_delta_leaves_counters_and_trackers() {
        let mut ledger = Ledger::new();
        let m = push(&mut ledger, "q", 7, 0, 3);
        pop(&mut ledger, "q", &[m[2]], 10, 20);
        let delta = ledger.take_delta();
        assert_eq!(delta.queues[0].producers[0].popped, vec![(2, 3)]);
        assert_eq!(ledger.marker("q", 7, 0).seq, 3, "seq counters stay");
        pop(&mut ledger, "q", &[m[0]], 30, 40);
        assert_eq!(ledger.report(false).out_of_order, 1, "trackers stay");
        assert_eq!(ledger.queues(), ["q"]);
        let mut master = Ledger::new();
        master.absorb(&delta).unwrap();
        master.absorb(&ledger.take_delta()).unwrap();
        // an item popped in two deltas is a duplicate
        master.absorb(&delta).unwrap();
        let report = master.report(true);
        assert_eq!((report.acknowledged, report.duplicated, report.out_of_order), (3, 1, 1));
        ledger.clear();
        assert!(ledger.queues().is_empty());
        assert_eq!(ledger.marker("q", 7, 0).seq, 0);
    }

    #[test]
    fn snapshots_round_trip_and_bad_ones_are_refused() {
        let mut ledger = Ledger::new();
        let m = push(&mut ledger, "q\"uoted", 7, 1, 5);
        pop(&mut ledger, "q\"uoted", &m[..3], 10, 20);
        ledger
            .check_pop("q\"uoted", br#"{"items": [{"x": 1}], "count": 1}"#, 30, 40)
            .unwrap();
        let snapshot = ledger.snapshot();
        let text = snapshot.to_json();
        assert!(text.contains(r#""acked":[[0,5]]"#), "{text}");
        assert_eq!(Snapshot::from_json(&text).unwrap(), snapshot);
        let report: Report = serde_json::from_str(&serde_json::to_string(&ledger.report(true)).unwrap()).unwrap();
        assert_eq!(report, ledger.report(true));
        for bad in [
            r#"{"version": 2}"#,
            r#"{"version": 1, "queues": 3}"#,
            "nope",
            r#"{"version": 1, "queues": [{"queue": "q", "producers": [{"producer": 1, "acked": [[5, 2]]}]}]}"#,
            r#"{"version": 1, "queues": [{"queue": "q", "producers": [{"producer": 1, "acked": [[0, 1099511627776]]}]}]}"#,
        ] {
            let mut master = Ledger::new();
            let refused = Snapshot::from_json(bad).and_then(|snapshot| master.absorb(&snapshot));
            assert!(refused.is_err(), "{bad}");
            assert!(master.snapshot().queues.is_empty());
        }
    }
}
