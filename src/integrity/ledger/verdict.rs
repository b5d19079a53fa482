//! The verdict: loss, duplication and foreign items decided from the merged state, queue by queue and producer by
//! producer, and the push-to-pop latencies.

use std::collections::HashSet;

use super::tally::Tally;
use super::{note, Ledger};
use crate::integrity::report::{Examples, Latency, Report, REPORT_VERSION};
use crate::integrity::seqset::SeqSet;
use crate::integrity::snapshot::{Example, MAX_EXAMPLES};

impl Ledger {
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
    use crate::integrity::ledger::tests::{example, pop, push};

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
}
