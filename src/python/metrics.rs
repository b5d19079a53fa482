//! Prometheus's text for Python to serve: the exact state gathered here, the text made by `crate::metrics`.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::integrity::IntegrityLedger;
use super::stats::HdrStats;
use crate::metrics::{render, Exposition, OpenModelRun};

/// The exposition text (docs/ANALYZE.md lists the metrics): `stats`' histograms and counts, `ledger`'s figures so
/// far, the open model's runs (`{"schedule", "worker"?, "scheduled", "started", "late", "dropped", "completed",
/// "in_flight", "max_lag_us"}` each) and the monitor's latest values (`{"<source> <metric>": float | None}`).
#[pyfunction]
#[pyo3(signature = (stats, ledger=None, open_model=None, resources=None))]
#[allow(clippy::needless_pass_by_value)] // pyo3 hands over owned references
pub fn metrics_text(
    py: Python<'_>,
    stats: PyRef<'_, HdrStats>,
    ledger: Option<PyRef<'_, IntegrityLedger>>,
    open_model: Option<&Bound<'_, PyAny>>,
    resources: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    let requests = stats.exact_snapshot();
    let integrity = ledger.map(|ledger| ledger.live_report());
    let open_model: Vec<OpenModelRun> = match open_model {
        Some(runs) => {
            pythonize::depythonize(runs).map_err(|err| PyValueError::new_err(format!("open-model runs: {err}")))?
        }
        None => Vec::new(),
    };
    let mut columns = Vec::new();
    if let Some(resources) = resources {
        for (column, value) in resources.iter() {
            columns.push((column.extract::<String>()?, value.extract::<Option<f64>>()?));
        }
    }
    Ok(py.detach(|| {
        render(&Exposition {
            requests: &requests,
            integrity: integrity.as_ref(),
            open_model: &open_model,
            resources: &columns,
        })
    }))
}
