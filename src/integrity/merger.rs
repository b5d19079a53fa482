//! The ledger's merges on the master's merge thread (`crate::common::Merger`): a busy worker's delta took 16.5 ms of
//! the master's hub as JSON (docs/BENCHMARKS.md); the hub now only checks its format and queues its bytes.

use super::error::IntegrityError;
use super::ledger::Ledger;
use super::snapshot::Snapshot;
use super::wire;
use crate::common::{Absorb, Merger as Queued};

/// The ledger a master merges into, and its merge thread.
pub type Merger = Queued<Ledger>;

impl Absorb for Ledger {
    type Decoded = Snapshot;
    type Error = IntegrityError;

    fn check_format(bytes: &[u8]) -> Result<(), IntegrityError> {
        wire::check_format(bytes)
    }

    fn decode(bytes: &[u8]) -> Result<Snapshot, IntegrityError> {
        wire::decode(bytes)
    }

    fn absorb_decoded(&mut self, decoded: Snapshot) -> Result<(), IntegrityError> {
        self.absorb(&decoded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::MAX_PENDING;

    /// `n` acknowledged pushes of `producer` to "q", and a pop of each in `pops` (seqs), as one worker's delta.
    fn worker_delta(producer: u64, pushes: u64, pops: &[(u64, u64)]) -> Vec<u8> {
        let mut ledger = Ledger::new();
        for _ in 0..pushes {
            let marker = ledger.marker("q", producer, 0);
            ledger.acked("q", producer, marker.seq);
        }
        for &(from, seq) in pops {
            let body = format!(r#"{{"items": [{{"_pp": [{from}, {seq}, 0, 1]}}], "count": 1}}"#);
            ledger.check_pop("q", body.as_bytes(), 10, 20).unwrap();
        }
        wire::encode(&ledger.take_delta())
    }

    #[test]
    fn queued_deltas_are_all_seen_by_the_next_reader() {
        let merger = Merger::default();
        // worker 1 pushes 0..4 of producer 1 and pops 0 and 1; worker 2 pops 1 again (a duplicate across workers)
        // and 2; seq 3 is never popped (lost once drained)
        merger.queue(worker_delta(1, 4, &[(1, 0), (1, 1)])).unwrap();
        merger.queue(worker_delta(2, 0, &[(1, 1), (1, 2)])).unwrap();
        let report = merger.merged().report(true);
        assert_eq!(
            (report.acknowledged, report.popped, report.duplicated, report.lost),
            (4, 4, 1, Some(1)),
            "{report}"
        );
        // more deltas than the queue holds: the caller waits for room, nothing is lost
        for n in 0..3 * MAX_PENDING as u64 {
            merger.queue(worker_delta(100 + n, 2, &[(100 + n, 0)])).unwrap();
        }
        let report = merger.merged().report(true);
        assert_eq!(
            (report.acknowledged, report.popped),
            (4 + 6 * MAX_PENDING as u64, 4 + 3 * MAX_PENDING as u64)
        );
        assert_eq!(merger.queue(b"{}".to_vec()), Err(IntegrityError::UnsupportedFormat(1)));
        let mut damaged = worker_delta(7, 10, &[]);
        damaged.truncate(damaged.len() / 2);
        merger.queue(damaged).unwrap();
        merger.wait_idle();
        // the damage is told at the next delta, which is merged nonetheless
        assert!(matches!(
            merger.queue(worker_delta(8, 1, &[])),
            Err(IntegrityError::InvalidSnapshot(_))
        ));
        assert_eq!(merger.merged().report(true).acknowledged, 5 + 6 * MAX_PENDING as u64);
    }
}
