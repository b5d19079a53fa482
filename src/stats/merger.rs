//! The exact statistics' merges on the master's merge thread (`crate::common::Merger`): a report's delta decoded
//! and merged on Locust's hub is 1–2 ms no heartbeat is answered in, 200 workers sending one every 3 s.

use super::error::StatsError;
use super::exact::ExactStats;
use super::wire;
use crate::common::{Absorb, Merger as Queued};

/// The statistics a master merges into, and its merge thread.
pub type Merger = Queued<ExactStats>;

impl Absorb for ExactStats {
    type Decoded = wire::Decoded;
    type Error = StatsError;

    fn check_format(bytes: &[u8]) -> Result<(), StatsError> {
        wire::check_format(bytes)
    }

    fn decode(bytes: &[u8]) -> Result<wire::Decoded, StatsError> {
        wire::decode(bytes)
    }

    fn absorb_decoded(&mut self, decoded: wire::Decoded) -> Result<(), StatsError> {
        self.absorb_wire(decoded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::MAX_PENDING;

    #[test]
    fn queued_deltas_are_all_seen_by_the_next_reader() {
        let merger = Merger::default();
        let mut one = ExactStats::new();
        for worker in 0..8u32 {
            let mut stats = ExactStats::new();
            for n in 0..2_000u32 {
                let ms = f64::from((n * 7 + worker) % 991) * 0.11;
                stats.record("POST", "push", ms, false);
                one.record("POST", "push", ms, false);
            }
            merger.queue(stats.take_wire()).unwrap();
        }
        assert_eq!(merger.merged().summaries(), one.summaries());
        // more deltas than the queue holds: the caller waits for room, nothing is lost
        let mut many = ExactStats::new();
        for n in 0..3 * MAX_PENDING {
            let ms = f64::from(u8::try_from(n).unwrap());
            let mut stats = ExactStats::new();
            stats.record("GET", "many", ms, false);
            many.record("GET", "many", ms, false);
            merger.queue(stats.take_wire()).unwrap();
        }
        let summaries = merger.merged().summaries();
        assert_eq!(summaries.iter().find(|s| s.name == "many"), many.summaries().first());
        assert!(matches!(
            merger.queue(b"{}".to_vec()),
            Err(StatsError::UnsupportedFormat(1))
        ));
        let mut damaged = one.take_wire();
        damaged.truncate(damaged.len() / 2);
        merger.queue(damaged).unwrap();
        merger.wait_idle();
        // the damage is told at the next delta, which is merged nonetheless
        let mut last = ExactStats::new();
        last.record("GET", "last", 1.0, false);
        assert!(matches!(
            merger.queue(last.take_wire()),
            Err(StatsError::InvalidSnapshot(_))
        ));
        assert_eq!(merger.merged().summaries().len(), 3);
    }
}
