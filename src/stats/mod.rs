//! Exact latency statistics: an HDR histogram (microseconds, 3 significant digits) per (method, name), with no
//! rounding into Locust's buckets, mergeable across processes.

mod error;
mod recorder;

pub use error::{Result, StatsError};
pub use recorder::{EntrySummary, Recorder, Snapshot, SnapshotEntry, PERCENTILES};
