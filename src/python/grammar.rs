//! The grammars of the command line's flags, for the Locust options and the Python API: one parser per rule, the
//! same one `pushpop-load`'s subcommands use, so a value means the same wherever it is written. Each raises
//! `ValueError` with the parser's own message.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::errors::openmodel_error;
use crate::openmodel::Schedule as Curve;

fn value_error(message: String) -> PyErr {
    PyValueError::new_err(message)
}

/// An item count: `10000`, `10_000`, `10k`, `1.5M`, `2G` (decimal multiples).
#[pyfunction]
pub fn parse_count(text: &str) -> PyResult<u64> {
    crate::prepopulate::parse_count(text).map_err(value_error)
}

/// A priority list: `0,1,2`, `0-4` or `0,3-5`, in the order written.
#[pyfunction]
pub fn parse_priorities(text: &str) -> PyResult<Vec<u32>> {
    crate::prepopulate::parse_priority_list(text).map_err(value_error)
}

/// A sampling interval in seconds: `1s`, `100ms`, `0.5`.
#[pyfunction]
pub fn parse_interval(text: &str) -> PyResult<f64> {
    crate::monitor::parse_interval(text)
        .map(|interval| interval.as_secs_f64())
        .map_err(value_error)
}

/// Processes by PID, each named or not: `1234`, `target=1234` or `target=1234,5678`, as `(name or None, pid)`.
#[pyfunction]
pub fn parse_pids(text: &str) -> PyResult<Vec<(Option<String>, u32)>> {
    crate::monitor::parse_pid_sources(text)
        .map(|sources| sources.into_iter().map(|source| (source.name, source.pid)).collect())
        .map_err(value_error)
}

/// `on` or `off` (`true`/`false`, `yes`/`no`, `1`/`0`).
#[pyfunction]
pub fn parse_switch(text: &str) -> PyResult<bool> {
    crate::common::parse_switch(text).map_err(value_error)
}

/// A request rate over the run's time, in the open model's spec language (`ramp:from=10,to=100,over=60s`, …) or a
/// preset's name (`s1a`, `s6a`, `s6b`, `s6c`, `sine`, `square`, `spike`).
#[pyclass(frozen, eq, module = "pushpop_load._native", name = "Schedule")]
#[derive(PartialEq)]
pub struct Schedule(pub(super) Curve);

#[pymethods]
impl Schedule {
    #[new]
    fn new(spec: &str) -> PyResult<Self> {
        Curve::parse_or_preset(spec)
            .map(Self)
            .map_err(|err| openmodel_error(&err))
    }

    /// The presets' names.
    #[staticmethod]
    fn presets() -> Vec<&'static str> {
        Curve::preset_names().collect()
    }

    /// Requests per second due `t` seconds into the run.
    fn rate_at(&self, t: f64) -> f64 {
        self.0.rate_at(t)
    }

    /// The highest rate of the curve.
    #[getter]
    fn peak(&self) -> f64 {
        self.0.peak()
    }

    /// Seconds after which the schedule is over; None: never.
    #[getter]
    fn end(&self) -> Option<f64> {
        self.0.end()
    }

    /// The same curve with its peak moved to `peak` requests per second.
    fn scaled_to(&self, peak: f64) -> PyResult<Self> {
        if !(peak.is_finite() && peak > 0.0) {
            return Err(value_error(format!("a peak must be a positive rate (got {peak})")));
        }
        Ok(Self(self.0.scaled_to(peak)))
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        format!("Schedule({:?})", self.0.to_string())
    }
}
