//! The open-model driver for Python: started and stopped by `ArrivalRateUser`, drained into Locust's statistics
//! and the exact ones in batches.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use pyo3::prelude::*;

use super::errors::{openmodel_error, stats_error};
use super::grammar::Schedule;
use super::integrity::IntegrityLedger;
use super::json::to_python;
use super::stats::HdrStats;
use crate::openmodel::{Driver, DriverConfig, DEFAULT_BATCH_WINDOW};

/// Starts requests on an arrival-rate schedule in its own thread; see `pushpop_load.openmodel`.
#[pyclass(frozen, module = "pushpop_load._native", name = "OpenModel")]
pub struct OpenModel(Mutex<Option<Driver>>);

fn seconds(value: f64, what: &str) -> PyResult<Duration> {
    seconds_or_zero(value, what)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| pyo3::exceptions::PyValueError::new_err(format!("{what} must be a positive number of seconds")))
}

fn seconds_or_zero(value: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        pyo3::exceptions::PyValueError::new_err(format!("{what} must be 0 or a positive number of seconds"))
    })
}

#[pymethods]
impl OpenModel {
    /// Checks the settings and starts at once.
    #[new]
    #[pyo3(signature = (
        base_url, schedule, *, share=1.0, duration=None, max_in_flight=1000, max_connections=100,
        push_weight=1, pop_weight=1,
        item_bytes=100, priorities=vec![0], pop_depth=1, queues, timeout=60.0, connect_timeout=60.0,
        late_after=0.005, batch_window=DEFAULT_BATCH_WINDOW.as_secs_f64(), insecure=true,
        push_name="/queue/[id]/push".to_owned(), pop_name="/queue/[id]/pop".to_owned(), ledger=None, producer=0
    ))]
    #[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)] // keywords, each with its default; pyo3 owns the refs
    fn new(
        base_url: String,
        schedule: PyRef<'_, Schedule>,
        share: f64,
        duration: Option<f64>,
        max_in_flight: usize,
        max_connections: usize,
        push_weight: u32,
        pop_weight: u32,
        item_bytes: usize,
        priorities: Vec<u64>,
        pop_depth: u32,
        queues: Vec<String>,
        timeout: f64,
        connect_timeout: f64,
        late_after: f64,
        batch_window: f64,
        insecure: bool,
        push_name: String,
        pop_name: String,
        ledger: Option<PyRef<'_, IntegrityLedger>>,
        producer: u64,
    ) -> PyResult<Self> {
        let config = DriverConfig {
            base_url,
            schedule: schedule.0.clone(),
            share,
            duration: duration.map(|d| seconds(d, "duration")).transpose()?,
            max_in_flight,
            max_connections,
            push_weight,
            pop_weight,
            item_bytes,
            priorities,
            pop_depth,
            queues,
            timeout: seconds(timeout, "timeout")?,
            connect_timeout: seconds(connect_timeout, "connect_timeout")?,
            late_after: seconds(late_after, "late_after")?,
            batch_window: seconds_or_zero(batch_window, "batch_window")?,
            insecure,
            push_name,
            pop_name,
        };
        let integrity = ledger.map(|ledger| (ledger.shared(), producer));
        let driver = Driver::start(config, integrity).map_err(|err| openmodel_error(&err))?;
        Ok(Self(Mutex::new(Some(driver))))
    }

    /// Starts no more requests; those in flight finish or time out.
    fn stop(&self) {
        if let Some(driver) = self.0.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            driver.stop();
        }
    }

    /// Whether requests are still being started or waited for.
    fn running(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(Driver::running)
    }

    /// Waits (without the GIL) up to `timeout` seconds for the driver to end; whether it did.
    fn join(&self, py: Python<'_>, timeout: f64) -> bool {
        let wait = Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or(Duration::MAX);
        py.detach(|| {
            let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            slot.as_mut().is_none_or(|driver| driver.join(wait))
        })
    }

    /// Moves the records since the last call into `stats` (exact histograms) and returns Locust's aggregates per
    /// request name.
    #[allow(clippy::needless_pass_by_value)] // pyo3 hands over owned references
    fn drain_into<'py>(&self, py: Python<'py>, stats: PyRef<'_, HdrStats>) -> PyResult<Bound<'py, PyAny>> {
        let slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let entries = match slot.as_ref() {
            Some(driver) => {
                let drained = driver.drain();
                stats.absorb(drained.exact).map_err(|err| stats_error(&err))?;
                drained.entries
            }
            None => Vec::new(),
        };
        to_python(py, &entries)
    }

    /// How the schedule was kept so far: `scheduled`, `started`, `late`, `dropped`, `completed`, `in_flight`,
    /// `max_lag_us`.
    fn counters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        to_python(py, &slot.as_ref().map(Driver::counters).unwrap_or_default())
    }
}
