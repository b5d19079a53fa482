//! The exact-statistics recorder for Python; snapshots cross process boundaries as JSON text.

use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::prelude::*;

use super::errors::stats_error;
use crate::stats::{Recorder, Snapshot};

/// Response times per (method, name) in an HDR histogram each: microsecond resolution, 3 significant digits.
#[pyclass(frozen, module = "pushpop_load._native", name = "HdrStats")]
#[derive(Default)]
pub struct HdrStats(Mutex<Recorder>);

impl HdrStats {
    fn recorder(&self) -> MutexGuard<'_, Recorder> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("snapshots and summaries are plain data")
}

#[pymethods]
impl HdrStats {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Records one response time in milliseconds.
    fn record(&self, method: &str, name: &str, milliseconds: f64, failed: bool) {
        self.recorder().record(method, name, milliseconds, failed);
    }

    /// Adds `count` queue items to an entry (what a pop returned).
    fn record_items(&self, method: &str, name: &str, count: u64) {
        self.recorder().record_items(method, name, count);
    }

    /// Everything recorded, as a JSON snapshot.
    fn snapshot_json(&self) -> String {
        to_json(&self.recorder().snapshot())
    }

    /// Everything recorded since the last take, as a JSON snapshot; the recorder starts afresh.
    fn take_json(&self) -> String {
        to_json(&self.recorder().take())
    }

    /// Adds a snapshot made by `snapshot_json` or `take_json` (in this process or another).
    fn merge_json(&self, snapshot: &str) -> PyResult<()> {
        let snapshot: Snapshot = serde_json::from_str(snapshot)
            .map_err(|err| stats_error(&crate::stats::StatsError::InvalidSnapshot(err.to_string())))?;
        self.recorder().merge(&snapshot).map_err(|err| stats_error(&err))
    }

    /// Exact figures per (method, name) as JSON: count, failures, min/mean/max and Locust's percentiles, in ms.
    fn summaries_json(&self) -> String {
        to_json(&self.recorder().summaries())
    }

    fn clear(&self) {
        *self.recorder() = Recorder::new();
    }
}
