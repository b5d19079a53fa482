//! The resource monitor for Python: settings checked and converted; starting, stopping and every read release the
//! GIL, and the sampling thread never touches Python.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::errors::monitor_error;
use crate::monitor::{
    check_source_name, describe_metric, parse_interval, Monitor, MonitorConfig, PidSource, RecentRows, Sample,
};

/// Samples processes, cgroups, containers, PostgreSQL and the load generator on a thread of its own; see
/// `_native.pyi`.
#[pyclass(frozen, module = "pushpop_load._native", name = "ResourceMonitor")]
#[derive(Default)]
pub struct ResourceMonitor {
    running: Mutex<Option<Monitor>>,
    /// The kept rows of the monitor last stopped, for `samples_since` after `stop`.
    stopped: Mutex<Option<RecentRows>>,
}

impl ResourceMonitor {
    fn monitor(&self) -> MutexGuard<'_, Option<Monitor>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopped(&self) -> MutexGuard<'_, Option<RecentRows>> {
        self.stopped.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn interval(value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    if let Ok(text) = value.cast::<PyString>() {
        return parse_interval(&text.to_cow()?).map_err(|err| PyValueError::new_err(format!("interval: {err}")));
    }
    let seconds: f64 = value.extract().map_err(|_| {
        PyValueError::new_err("interval must be seconds (a number) or a duration such as '1s' or '100ms'")
    })?;
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 1e9) {
        return Err(PyValueError::new_err(format!(
            "interval must be above 0 seconds (got {seconds})"
        )));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn pids(values: Vec<i64>) -> PyResult<Vec<u32>> {
    values
        .into_iter()
        .map(|pid| {
            u32::try_from(pid)
                .ok()
                .filter(|pid| *pid > 0)
                .ok_or_else(|| PyValueError::new_err(format!("{pid} is not a process id")))
        })
        .collect()
}

/// A process to follow: its PID, or `(name or None, PID)` as `parse_pids` gives it.
#[derive(FromPyObject)]
enum PidArg {
    Plain(i64),
    Named(Option<String>, i64),
}

fn pid_sources(values: Vec<PidArg>) -> PyResult<Vec<PidSource>> {
    values
        .into_iter()
        .map(|value| {
            let (name, pid) = match value {
                PidArg::Plain(pid) => (None, pid),
                PidArg::Named(name, pid) => (name, pid),
            };
            if let Some(name) = &name {
                check_source_name(name).map_err(PyValueError::new_err)?;
            }
            Ok(PidSource {
                pid: self::pids(vec![pid])?[0],
                name,
            })
        })
        .collect()
}

fn sample_dict<'py>(py: Python<'py>, columns: &[String], sample: &Sample) -> PyResult<Bound<'py, PyDict>> {
    let values = PyDict::new(py);
    for (column, value) in columns.iter().zip(&sample.values) {
        values.set_item(column, *value)?;
    }
    let dict = PyDict::new(py);
    dict.set_item("unix", sample.unix)?;
    #[allow(clippy::cast_possible_truncation)]
    dict.set_item("timestamp", sample.unix.floor() as i64)?;
    dict.set_item("values", values)?;
    Ok(dict)
}

#[pymethods]
impl ResourceMonitor {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Opens every source and starts sampling; see `_native.pyi`.
    #[pyo3(signature = (
        *, interval=None, pids=Vec::new(), processes=Vec::new(), cmdlines=Vec::new(), cgroups=Vec::new(),
        containers=Vec::new(), postgres=Vec::new(), generator=None, docker_host=None, csv=None, json=None
    ))]
    #[allow(clippy::too_many_arguments)] // the keyword arguments of the Python API
    fn start(
        &self,
        py: Python<'_>,
        interval: Option<&Bound<'_, PyAny>>,
        pids: Vec<PidArg>,
        processes: Vec<String>,
        cmdlines: Vec<String>,
        cgroups: Vec<String>,
        containers: Vec<String>,
        postgres: Vec<String>,
        generator: Option<i64>,
        docker_host: Option<String>,
        csv: Option<PathBuf>,
        json: Option<PathBuf>,
    ) -> PyResult<()> {
        let config = MonitorConfig {
            interval: interval.map_or(Ok(Duration::from_secs(1)), self::interval)?,
            pids: pid_sources(pids)?,
            processes,
            cmdlines,
            cgroups,
            containers,
            postgres,
            generator: generator.map(|pid| self::pids(vec![pid]).map(|p| p[0])).transpose()?,
            docker_host,
            csv,
            json,
        };
        let running = || PyValueError::new_err("this monitor is running already: stop() it first");
        if self.monitor().is_some() {
            return Err(running());
        }
        // Connecting to PostgreSQL may take up to its connect timeout: not while holding the GIL, nor the lock
        // (a thread waiting for it would hold the GIL this one needs back).
        let monitor = py
            .detach(|| Monitor::start(config))
            .map_err(|err| monitor_error(&err))?;
        let mut slot = self.monitor();
        if slot.is_some() {
            return Err(running());
        }
        *slot = Some(monitor);
        Ok(())
    }

    /// Whether `start` succeeded and `stop` has not been called since.
    #[getter]
    fn running(&self) -> bool {
        self.monitor().is_some()
    }

    /// The columns of each row, ``"<source> <metric>"``; empty when not running.
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.monitor()
            .as_ref()
            .map(|m| m.columns().to_vec())
            .unwrap_or_default()
    }

    /// A metric's chart title and unit, from its name.
    #[staticmethod]
    fn describe_metric(metric: &str) -> (String, &'static str) {
        let (title, unit) = describe_metric(metric);
        (title.to_owned(), unit)
    }

    /// The sources as ``[{"kind", "label", "metrics"}]``; empty when not running.
    fn sources<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let guard = self.monitor();
        let Some(monitor) = guard.as_ref() else {
            return Ok(Vec::new());
        };
        monitor
            .sources()
            .iter()
            .map(|source| {
                let dict = PyDict::new(py);
                dict.set_item("kind", source.kind)?;
                dict.set_item("label", &source.label)?;
                dict.set_item("metrics", source.metrics.clone())?;
                Ok(dict)
            })
            .collect()
    }

    /// The last row as ``{"unix", "timestamp", "values": {column: float | None}}``, or None before the first tick.
    fn latest<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let guard = self.monitor();
        let Some(monitor) = guard.as_ref() else {
            return Ok(None);
        };
        match monitor.latest() {
            Some(sample) => sample_dict(py, monitor.columns(), &sample).map(Some),
            None => Ok(None),
        }
    }

    /// The kept rows sampled after `since` (unix seconds; the last hour at a 1 s interval) as
    /// ``[[unix, value | None, ...]]`` in column order, oldest first; once stopped, the last run's; empty before.
    fn samples_since(&self, since: f64) -> Vec<Vec<Option<f64>>> {
        let rows = match self.monitor().as_ref() {
            Some(monitor) => monitor.samples_since(since),
            None => self
                .stopped()
                .as_ref()
                .map(|rows| rows.since(since))
                .unwrap_or_default(),
        };
        rows.into_iter()
            .map(|sample| std::iter::once(Some(sample.unix)).chain(sample.values).collect())
            .collect()
    }

    /// Notes since the last call, as ``[(unix, text)]``.
    fn take_notes(&self) -> Vec<(f64, String)> {
        self.monitor()
            .as_ref()
            .map(|m| m.take_notes().into_iter().map(|note| (note.unix, note.text)).collect())
            .unwrap_or_default()
    }

    /// Stops sampling, writes the files and returns the summary (what the ``json`` file holds): peak and mean per
    /// column, the generator's verdict, the notes.
    fn stop<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let monitor = self
            .monitor()
            .take()
            .ok_or_else(|| PyValueError::new_err("this monitor is not running"))?;
        *self.stopped() = Some(monitor.recent_rows());
        let summary = py.detach(|| monitor.stop()).map_err(|err| monitor_error(&err))?;
        // through the file's JSON, whose nulls stand for the figures a source never gave (not NaN)
        py.import("json")?.call_method1("loads", (summary.to_json(),))
    }
}
