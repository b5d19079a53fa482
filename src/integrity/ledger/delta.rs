//! The mergeable state between processes: a snapshot of it, a delta moved out of it (what a worker ships), and
//! another process's delta merged in.

use super::tally::{QueueTally, Tally};
use super::{new_histogram, note, Ledger};
use crate::integrity::error::{IntegrityError, Result};
use crate::integrity::snapshot::{LatencySnapshot, ProducerSnapshot, QueueSnapshot, Snapshot, SNAPSHOT_VERSION};

impl Ledger {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrity::ledger::tests::{body, pop, push};
    use crate::integrity::report::{Examples, Report};

    #[test]
    fn a_workers_queues_are_drained_by_the_master() {
        let mut worker = Ledger::new();
        push(&mut worker, "w", 7, 0, 3);
        let mut master = Ledger::new();
        master.absorb(&worker.take_delta()).unwrap();
        assert_eq!(master.queues(), ["w"]);
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
