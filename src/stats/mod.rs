//! Exact latency statistics: an HDR histogram (microseconds, 3 significant digits) per (method, name), with no
//! rounding into Locust's buckets, mergeable across processes.

mod error;
mod exact;
mod intervals;
mod locust;
mod merger;
mod recorder;
pub mod wire;

pub use error::{Result, StatsError};
pub use exact::{Delta, ExactStats};
pub use intervals::{IntervalRow, Intervals, Seconds, SETTLE_AFTER_S};
pub use locust::{LocustBatch, LocustEntry};
pub use merger::Merger;
pub use recorder::{EntrySummary, Recorder, Snapshot, SnapshotEntry, PERCENTILES};
