//! The exact-statistics recorder for Python; reports cross process boundaries as JSON text.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::{Deserialize, Serialize};

use super::errors::stats_error;
use crate::stats::{Intervals, Recorder, Seconds, Snapshot, StatsError};

/// The whole run and its seconds.
#[derive(Default)]
struct Both {
    total: Recorder,
    intervals: Intervals,
}

/// What a worker sends its master: the samples since its last report, in all and per second.
#[derive(Serialize, Deserialize)]
struct Report {
    total: Snapshot,
    intervals: Seconds,
}

/// Response times per (method, name) in an HDR histogram each (microsecond resolution, 3 significant digits),
/// for the whole run and per second.
#[pyclass(frozen, module = "pushpop_load._native", name = "HdrStats")]
#[derive(Default)]
pub struct HdrStats(Mutex<Both>);

impl HdrStats {
    fn both(&self) -> MutexGuard<'_, Both> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds samples recorded elsewhere in this process (the open-model driver's batches).
    pub fn absorb(&self, total: &Snapshot, intervals: Seconds) -> Result<(), StatsError> {
        let mut both = self.both();
        both.total.merge(total)?;
        both.intervals.merge(intervals);
        Ok(())
    }
}

fn now_second() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("snapshots and summaries are plain data")
}

#[pymethods]
impl HdrStats {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Records one response time in milliseconds, in the run's total and in the current second.
    fn record(&self, method: &str, name: &str, milliseconds: f64, failed: bool) {
        let mut both = self.both();
        both.total.record(method, name, milliseconds, failed);
        both.intervals.record(now_second(), method, name, milliseconds, failed);
    }

    /// `events.request`'s listener: records every request Locust is told about, by any client. Locust's keyword
    /// arguments are named here so that a call builds no dictionary; others a listener may receive go to `extra`.
    #[pyo3(signature = (
        request_type, name, response_time, response_length=None, response=None, context=None, exception=None,
        start_time=None, url=None, **extra
    ))]
    #[allow(clippy::too_many_arguments, unused_variables)] // the event's own arguments
    fn on_request(
        &self,
        request_type: &str,
        name: &str,
        response_time: Option<f64>,
        response_length: Option<&Bound<'_, PyAny>>,
        response: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
        exception: Option<&Bound<'_, PyAny>>,
        start_time: Option<&Bound<'_, PyAny>>,
        url: Option<&Bound<'_, PyAny>>,
        extra: Option<&Bound<'_, PyDict>>,
    ) {
        if let Some(milliseconds) = response_time {
            self.record(
                request_type,
                name,
                milliseconds,
                exception.is_some_and(|e| !e.is_none()),
            );
        }
    }

    /// Adds `count` queue items to an entry (what a pop returned).
    fn record_items(&self, method: &str, name: &str, count: u64) {
        let mut both = self.both();
        both.total.record_items(method, name, count);
        both.intervals.record_items(now_second(), method, name, count);
    }

    /// The samples since the last report, as JSON, and a fresh start: what a worker sends its master.
    fn report_json(&self) -> String {
        let mut both = self.both();
        to_json(&Report {
            total: both.total.take(),
            intervals: both.intervals.take(),
        })
    }

    /// Adds a report made by `report_json` in another process.
    fn merge_report_json(&self, report: &str) -> PyResult<()> {
        let report: Report =
            serde_json::from_str(report).map_err(|err| stats_error(&StatsError::InvalidSnapshot(err.to_string())))?;
        let mut both = self.both();
        both.total.merge(&report.total).map_err(|err| stats_error(&err))?;
        both.intervals.merge(report.intervals);
        Ok(())
    }

    /// Everything recorded in all, as a JSON snapshot (sparse histograms).
    fn snapshot_json(&self) -> String {
        to_json(&self.both().total.snapshot())
    }

    /// Exact figures per (method, name) as JSON: count, failures, items, min/mean/max and Locust's percentiles (ms).
    fn summaries_json(&self) -> String {
        to_json(&self.both().total.summaries())
    }

    /// The per-second timeline as JSON rows: second, method, name, count, failures, items, p50/p95/p99/max (ms).
    fn intervals_json(&self) -> String {
        to_json(&self.both().intervals.rows())
    }

    /// Forgets everything recorded.
    fn clear(&self) {
        *self.both() = Both::default();
    }
}
