//! The mergeable state of one queue (per producer: the seqs sent, acknowledged, rejected, indeterminate, retried
//! and popped, and the extra copies), and the process-local state kept beside it.

use std::collections::BTreeMap;

use super::fx::FxMap;
use crate::integrity::error::Result;
use crate::integrity::order::OrderTracker;
use crate::integrity::seqset::SeqSet;
use crate::integrity::snapshot::{ranges_to_set, ProducerSnapshot};

/// One producer's items in one queue, as far as this process (or the processes merged into it) knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Tally {
    pub(super) sent: SeqSet,
    pub(super) acked: SeqSet,
    pub(super) rejected: SeqSet,
    pub(super) indeterminate: SeqSet,
    pub(super) retried: SeqSet,
    pub(super) popped: SeqSet,
    /// seq → deliveries beyond the first. Rare in a correct system, so a map.
    pub(super) extra: BTreeMap<u64, u64>,
}

impl Tally {
    pub(super) fn record_pop(&mut self, seq: u64) {
        if !self.popped.insert(seq) {
            *self.extra.entry(seq).or_insert(0) += 1;
        }
    }

    pub(super) fn merge(&mut self, other: &Tally) {
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

    pub(super) fn to_snapshot(&self, producer: u64) -> ProducerSnapshot {
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

    pub(super) fn from_snapshot(snapshot: &ProducerSnapshot) -> Result<Self> {
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

    pub(super) fn heap_bytes(&self) -> usize {
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
pub(super) struct QueueTally {
    pub(super) producers: FxMap<u64, Tally>,
    pub(super) foreign_unmarked: u64,
    /// Pops whose answer was never read (the user was stopped mid-pop), and the items they may have taken.
    pub(super) interrupted_pops: u64,
    pub(super) interrupted_depth: u64,
}

impl QueueTally {
    pub(super) fn is_empty(&self) -> bool {
        self.producers.is_empty() && self.foreign_unmarked == 0 && self.interrupted_pops == 0
    }
}

#[derive(Debug, Default)]
pub(super) struct QueueState {
    /// Whether this process pushed to the queue (the drain's list).
    pub(super) pushed: bool,
    /// Next seq per producer. Local: a producer pushes from one process.
    pub(super) next_seq: FxMap<u64, u64>,
    /// FIFO trackers per (priority, producer). Local: they compare this process's pop times.
    pub(super) trackers: FxMap<(u64, u64), OrderTracker>,
    pub(super) tally: QueueTally,
}
