//! The exact-statistics recorder for Python. Deltas cross process boundaries as one byte string each (Locust's report
//! dict carries them to the master; `crate::stats::wire`), merged on the master's merge thread; everything else is
//! handed over as Python objects.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use super::errors::stats_error;
use super::json::to_python;
use crate::stats::{Delta, ExactStats, LocustBatch, Merger, StatsError};

/// Response times per (method, name) in an HDR histogram each (microsecond resolution, 3 significant digits),
/// for the whole run and per second; and requests recorded for Locust's own statistics, handed over in batches.
#[pyclass(frozen, module = "pushpop_load._native", name = "HdrStats")]
#[derive(Default)]
pub struct HdrStats {
    exact: Merger,
    locust: Mutex<LocustBatch>,
}

impl HdrStats {
    /// The statistics, with every delta queued for the merge thread merged: what readers see.
    fn stats(&self) -> MutexGuard<'_, ExactStats> {
        self.exact.merged()
    }

    /// The statistics as they are, for writers (recording does not wait for the master's merges).
    fn recording(&self) -> MutexGuard<'_, ExactStats> {
        self.exact.current()
    }

    fn locust(&self) -> MutexGuard<'_, LocustBatch> {
        self.locust.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Everything recorded in all, for Rust callers (the metrics text).
    pub fn exact_snapshot(&self) -> crate::stats::Snapshot {
        self.stats().snapshot()
    }

    /// Adds samples recorded elsewhere in this process (the open-model driver's batches).
    pub fn absorb(&self, delta: Delta) -> Result<(), StatsError> {
        self.recording().absorb(delta)
    }
}

#[pymethods]
impl HdrStats {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Records one response time in milliseconds, in the run's total and in the current second.
    fn record(&self, method: &str, name: &str, milliseconds: f64, failed: bool) {
        self.recording().record(method, name, milliseconds, failed);
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

    /// A successful request, recorded here and for Locust's statistics at once instead of through `events.request`
    /// (`pushpop_load.locust_feed` decides when that gives Locust the same figures, and hands them over).
    fn record_for_locust(&self, method: &str, name: &str, milliseconds: f64, length: u64) {
        let end = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());
        self.recording().record(method, name, milliseconds, false);
        self.locust().record(method, name, milliseconds, length, end);
    }

    /// The requests recorded for Locust since the last call, one aggregate per (method, name): `method`, `name`,
    /// `count`, `failures`, `total_ms`, `min_ms`, `max_ms`, `content_length`, `response_times`, `per_second`,
    /// `failures_per_second`, `errors`, `first`, `last` (the open-model driver's shape).
    fn drain_locust<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let drained = self.locust().drain();
        to_python(py, &drained)
    }

    /// Adds `count` queue items to an entry (what a pop returned).
    fn record_items(&self, method: &str, name: &str, count: u64) {
        self.recording().record_items(method, name, count);
    }

    /// The samples since the last delta, as bytes (`crate::stats::wire`), and a fresh start: what a worker sends
    /// its master.
    fn take_delta<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let bytes = self.recording().take_wire();
        PyBytes::new(py, &bytes)
    }

    /// Queues a delta made by `take_delta` in another process for the merge thread (waiting while it is
    /// `MAX_PENDING` behind); readers see it merged. A
    /// `ValueError` for a delta of another pushpop-load version, or (at the next call) one that could not be read.
    #[pyo3(name = "absorb")]
    fn absorb_delta(&self, py: Python<'_>, delta: &[u8]) -> PyResult<()> {
        let bytes = delta.to_vec();
        // without the GIL: with the merge thread behind, this waits for room in its queue
        py.detach(|| self.exact.queue(bytes)).map_err(|err| stats_error(&err))
    }

    /// The samples since the last delta as JSON, and a fresh start: the readable form of `take_delta`, for scripts
    /// and diagnostics.
    fn take_delta_json(&self) -> String {
        serde_json::to_string(&self.recording().take_delta()).expect("a delta is plain data")
    }

    /// Adds a delta made by `take_delta_json` (or written by a script) at once; `ValueError` for one that cannot be
    /// read.
    fn absorb_json(&self, delta: &str) -> PyResult<()> {
        let delta: Delta =
            serde_json::from_str(delta).map_err(|err| stats_error(&StatsError::InvalidSnapshot(err.to_string())))?;
        self.stats().absorb(delta).map_err(|err| stats_error(&err))
    }

    /// Returns once every delta queued by `absorb` is merged (the GIL released meanwhile).
    fn wait_merged(&self, py: Python<'_>) {
        py.detach(|| self.exact.wait_idle());
    }

    /// Everything recorded in all: `{"version", "unit", "entries": [{"method", "name", "failures", "items",
    /// "counts": [[value_us, count], ...]}]}` (the recorded buckets only).
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.stats().snapshot())
    }

    /// Exact figures per (method, name): count, failures, items, min/mean/max and Locust's percentiles (ms).
    fn summaries<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.stats().summaries())
    }

    /// The per-second timeline: second, method, name, count, failures, items, p50/p95/p99/max (ms).
    fn intervals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.stats().intervals())
    }

    /// The timeline's rows from unix second `since` on: what a live chart polls for, without converting the
    /// whole run's rows to Python at every poll.
    fn intervals_since<'py>(&self, py: Python<'py>, since: u64) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.stats().intervals_since(since))
    }

    /// Forgets everything recorded.
    fn clear(&self) {
        self.stats().clear();
        self.locust().drain();
    }
}
