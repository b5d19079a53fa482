//! What a Locust worker ships to its master: the mergeable part of a ledger, as compact JSON. Seqs are dense, so
//! sets travel as sorted half-open ranges `[[start, end), …]`.

use serde::{Deserialize, Serialize};

use super::error::{IntegrityError, Result};
use super::producer::MARKER_LIMIT;
use super::seqset::SeqSet;

pub const SNAPSHOT_VERSION: u32 = 1;
/// At most this many examples of a violation are kept.
pub const MAX_EXAMPLES: usize = 10;
/// Largest range one call or one snapshot entry may add, so a typo cannot allocate terabytes.
pub const MAX_RANGE: u64 = 1 << 32;

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// One violation: where it was seen. `producer` and `seq` are `None` for an item without a marker.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Example {
    pub queue: String,
    pub producer: Option<u64>,
    pub seq: Option<u64>,
}

/// Everything one process learnt about one producer's items in one queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerSnapshot {
    pub producer: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent: Vec<(u64, u64)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acked: Vec<(u64, u64)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<(u64, u64)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indeterminate: Vec<(u64, u64)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retried: Vec<(u64, u64)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub popped: Vec<(u64, u64)>,
    /// (seq, deliveries beyond the first), for seqs delivered more than once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<(u64, u64)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSnapshot {
    pub queue: String,
    /// Popped items with no (well-formed) marker.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub foreign_unmarked: u64,
    /// Pops whose answer was never read, and the sum of their depths.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interrupted_pops: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interrupted_depth: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub producers: Vec<ProducerSnapshot>,
}

/// Push-to-pop times of one priority: (value in µs, count) pairs of an HDR histogram, recorded buckets only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySnapshot {
    pub priority: u64,
    pub counts: Vec<(u64, u64)>,
}

/// The mergeable state of a ledger. Queues are sorted by name, producers by id, latencies by priority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<QueueSnapshot>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub out_of_order: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority_inversions: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub out_of_order_examples: Vec<Example>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority_inversion_examples: Vec<Example>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency: Vec<LatencySnapshot>,
}

impl Default for Snapshot {
    fn default() -> Self {
        Self {
            version: SNAPSHOT_VERSION,
            queues: Vec::new(),
            out_of_order: 0,
            priority_inversions: 0,
            out_of_order_examples: Vec::new(),
            priority_inversion_examples: Vec::new(),
            latency: Vec::new(),
        }
    }
}

impl Snapshot {
    pub fn from_json(text: &str) -> Result<Self> {
        let snapshot: Self =
            serde_json::from_str(text).map_err(|err| IntegrityError::InvalidSnapshot(err.to_string()))?;
        if snapshot.version != SNAPSHOT_VERSION {
            return Err(IntegrityError::UnsupportedVersion(snapshot.version));
        }
        Ok(snapshot)
    }

    #[must_use]
    pub fn to_json(&self) -> String {
        to_json(self)
    }
}

/// JSON of plain data (no maps with non-string keys, no failing `Serialize`): it cannot fail.
pub(super) fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("plain data serializes")
}

/// Checks one range the way `Ledger::acked_range` does.
pub fn check_range(start: u64, end: u64) -> Result<()> {
    if start > end || end > MARKER_LIMIT || end - start > MAX_RANGE {
        return Err(IntegrityError::BadRange { start, end });
    }
    Ok(())
}

pub fn ranges_to_set(ranges: &[(u64, u64)]) -> Result<SeqSet> {
    let mut set = SeqSet::new();
    for &(start, end) in ranges {
        check_range(start, end).map_err(|err| IntegrityError::InvalidSnapshot(err.to_string()))?;
        set.insert_range(start, end);
    }
    Ok(set)
}
