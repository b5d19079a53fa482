//! The prepopulator for Python: arguments checked and converted, the run made with the GIL released.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::errors::prepopulate_error;
use super::json::to_python;
use crate::prepopulate::{parse_count, ItemSize, PrepopulateConfig, Priorities, ProgressDisplay, ProgressMode, Report};

/// What a finished prepopulation did.
#[pyclass(frozen, module = "pushpop_load._native", name = "PrepopulateReport")]
pub struct PrepopulateReport(Report);

#[pymethods]
impl PrepopulateReport {
    /// Pushes the service acknowledged, over all queues.
    #[getter]
    fn pushed(&self) -> u64 {
        self.0.pushed
    }

    /// Items asked for, over all queues.
    #[getter]
    fn requested(&self) -> u64 {
        self.0.requested
    }

    #[getter]
    fn queues(&self) -> Vec<String> {
        self.0.queues.clone()
    }

    #[getter]
    fn per_queue(&self) -> BTreeMap<String, u64> {
        self.0.per_queue.clone()
    }

    #[getter]
    fn by_priority(&self) -> BTreeMap<u32, u64> {
        self.0.by_priority.clone()
    }

    /// Attempts beyond the first, over all pushes.
    #[getter]
    fn retried(&self) -> u64 {
        self.0.retried
    }

    /// Per queue, the sequence numbers of pushes that may be stored twice.
    #[getter]
    fn uncertain(&self) -> BTreeMap<String, Vec<u64>> {
        self.0.uncertain.clone()
    }

    /// Seconds from the first push to the last answer.
    #[getter]
    fn elapsed(&self) -> f64 {
        self.0.elapsed
    }

    /// Acknowledged pushes per second.
    #[getter]
    fn rate(&self) -> f64 {
        self.0.rate
    }

    #[getter]
    fn verified(&self) -> bool {
        self.0.verified
    }

    /// ``"stats"`` or ``"acknowledged"``.
    #[getter]
    fn verification(&self) -> &'static str {
        self.0.verification.as_str()
    }

    #[getter]
    fn depths(&self) -> Option<BTreeMap<String, u64>> {
        self.0.depths.clone()
    }

    #[getter]
    fn producer(&self) -> u64 {
        self.0.producer
    }

    #[getter]
    fn size(&self) -> &str {
        &self.0.size
    }

    /// The report as `pushpop-load prepopulate --json` writes it.
    fn to_json(&self) -> String {
        self.0.to_json()
    }

    /// The same as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!(
            "PrepopulateReport(pushed={}, queues={}, rate={:.0}, verified={}, verification='{}')",
            self.0.pushed,
            self.0.queues.len(),
            self.0.rate,
            if self.0.verified { "True" } else { "False" },
            self.0.verification.as_str()
        )
    }
}

fn bad(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

fn queue_list(queues: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(one) = queues.cast::<PyString>() {
        return Ok(vec![one.to_cow()?.into_owned()]);
    }
    queues
        .extract::<Vec<String>>()
        .map_err(|_| bad("queues must be a queue id or a list of queue ids"))
}

fn item_count(items: &Bound<'_, PyAny>) -> PyResult<u64> {
    if let Ok(text) = items.cast::<PyString>() {
        return parse_count(&text.to_cow()?).map_err(|err| bad(format!("items: {err}")));
    }
    match items.extract::<i64>() {
        Ok(count) => u64::try_from(count).map_err(|_| bad(format!("items must be 0 or more (got {count})"))),
        Err(_) => Err(bad("items must be a whole number or a count such as '10k' or '1M'")),
    }
}

fn priority(value: i64) -> PyResult<u32> {
    u32::try_from(value).map_err(|_| bad(format!("priority {value} is not a whole number >= 0")))
}

fn priority_plan(priorities: Option<&Bound<'_, PyAny>>, weights: Option<&Bound<'_, PyAny>>) -> PyResult<Priorities> {
    match (priorities, weights) {
        (Some(_), Some(_)) => Err(bad("give priorities or weights, not both")),
        (Some(list), None) => {
            if let Ok(text) = list.cast::<PyString>() {
                return Priorities::parse_list(&text.to_cow()?).map_err(bad);
            }
            let list: Vec<i64> = list
                .extract()
                .map_err(|_| bad("priorities must be a list of whole numbers >= 0"))?;
            let list = list.into_iter().map(priority).collect::<PyResult<Vec<_>>>()?;
            Priorities::uniform(&list).map_err(bad)
        }
        (None, Some(weights)) => {
            if let Ok(text) = weights.cast::<PyString>() {
                return Priorities::parse_weights(&text.to_cow()?).map_err(bad);
            }
            let pairs: Vec<(i64, i64)> = if let Ok(dict) = weights.cast::<PyDict>() {
                dict.items().extract()
            } else {
                weights.extract()
            }
            .map_err(|_| bad("weights must map priorities to whole-number weights, e.g. {0: 5, 1: 3}"))?;
            let pairs = pairs
                .into_iter()
                .map(|(p, weight)| {
                    let weight = u64::try_from(weight).map_err(|_| bad(format!("weight {weight} is below 0")))?;
                    Ok((priority(p)?, weight))
                })
                .collect::<PyResult<Vec<_>>>()?;
            Priorities::weighted(&pairs).map_err(bad)
        }
        (None, None) => Ok(Priorities::default()),
    }
}

fn positive(value: i64, what: &str) -> PyResult<usize> {
    usize::try_from(value)
        .ok()
        .filter(|value| *value > 0)
        .ok_or_else(|| bad(format!("{what} must be 1 or more (got {value})")))
}

/// Fills `queues` with `items` marked items each; see `_native.pyi`.
#[pyfunction]
#[pyo3(signature = (
    host, queues, items, *, priorities=None, weights=None, size="small", connections=64, retries=5, timeout=10.0,
    verify=true, progress=None, producer=None, insecure=false, threads=None
))]
#[allow(clippy::too_many_arguments)] // the keyword arguments of the Python API
pub fn prepopulate(
    py: Python<'_>,
    host: &str,
    queues: &Bound<'_, PyAny>,
    items: &Bound<'_, PyAny>,
    priorities: Option<&Bound<'_, PyAny>>,
    weights: Option<&Bound<'_, PyAny>>,
    size: &str,
    connections: i64,
    retries: i64,
    timeout: f64,
    verify: bool,
    progress: Option<bool>,
    producer: Option<i64>,
    insecure: bool,
    threads: Option<i64>,
) -> PyResult<PrepopulateReport> {
    let mut config = PrepopulateConfig::new(host, queue_list(queues)?, item_count(items)?);
    config.priorities = priority_plan(priorities, weights)?;
    config.size = size.parse::<ItemSize>().map_err(bad)?;
    config.connections = positive(connections, "connections")?;
    config.retries = u32::try_from(retries).map_err(|_| bad(format!("retries must be 0 or more (got {retries})")))?;
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= 86_400.0) {
        return Err(bad(format!(
            "timeout must be a number of seconds above 0 (got {timeout})"
        )));
    }
    config.timeout = Duration::from_secs_f64(timeout);
    config.verify = verify;
    config.insecure = insecure;
    config.producer = producer
        .map(|id| u64::try_from(id).map_err(|_| bad(format!("producer must be 0 or more (got {id})"))))
        .transpose()?;
    config.threads = threads.map(|n| positive(n, "threads")).transpose()?;
    config.check().map_err(|err| prepopulate_error(py, &err))?;

    let mode = match progress {
        None if ProgressMode::auto() == ProgressMode::Bar => ProgressMode::Bar,
        None | Some(false) => ProgressMode::Quiet,
        Some(true) => ProgressMode::auto(),
    };
    // Ctrl-C reaches Python only on its main thread; from another thread the run needs no GIL until the end.
    let threading = py.import("threading")?;
    let on_main_thread = threading
        .call_method0("current_thread")?
        .is(&threading.call_method0("main_thread")?);
    let mut display = ProgressDisplay::new(mode, config.total(), "pushpop_load.prepopulate");
    let mut signalled: Option<PyErr> = None;
    let result = py.detach(|| {
        crate::prepopulate::run(&config, &mut |progress| {
            display.update(progress);
            if on_main_thread && signalled.is_none() {
                signalled = Python::attach(|py| py.check_signals().err());
            }
            if signalled.is_some() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
    });
    display.finish();
    if let Some(err) = signalled {
        return Err(err);
    }
    let report = result.map_err(|err| prepopulate_error(py, &err))?;
    display.summary(&report);
    Ok(PrepopulateReport(report))
}
