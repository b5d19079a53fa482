//! The one place where Rust errors become Python exceptions.

use pyo3::exceptions::{
    PyConnectionError, PyConnectionRefusedError, PyConnectionResetError, PyException, PyTimeoutError, PyValueError,
};
use pyo3::prelude::*;

use crate::http::HttpError;
use crate::integrity::IntegrityError;
use crate::monitor::MonitorError as MonitorFailure;
use crate::openmodel::OpenModelError;
use crate::prepopulate::PrepopulateError as PrepopulateFailure;
use crate::stats::StatsError;

pyo3::create_exception!(
    pushpop_load._native,
    PushpopError,
    PyException,
    "Base of pushpop-load's own exceptions."
);
pyo3::create_exception!(
    pushpop_load._native,
    InvalidResponseError,
    PyConnectionError,
    "The server's answer was not valid HTTP, or redirected too often."
);

pyo3::create_exception!(
    pushpop_load._native,
    PrepopulateError,
    PushpopError,
    "The prepopulator could not finish; ``stored`` says how many items the service acknowledged."
);

pyo3::create_exception!(
    pushpop_load._native,
    MonitorError,
    PushpopError,
    "The resource monitor could not start (PostgreSQL unreachable) or could not write its files."
);

/// Settings, a missing PID or cgroup, a malformed PostgreSQL URL: `ValueError`; a server that does not answer or
/// a file that cannot be written: `MonitorError`. Messages never carry a password.
pub fn monitor_error(err: &MonitorFailure) -> PyErr {
    match err {
        MonitorFailure::InvalidConfig(_)
        | MonitorFailure::NoSuchProcess(_)
        | MonitorFailure::Cgroup { .. }
        | MonitorFailure::BadDsn { .. } => PyValueError::new_err(err.to_string()),
        MonitorFailure::Postgres { .. } | MonitorFailure::Output { .. } | MonitorFailure::Runtime(_) => {
            MonitorError::new_err(err.to_string())
        }
    }
}

/// Bad settings are a `ValueError`; a run that cannot finish is a `PrepopulateError` carrying `stored`.
pub fn prepopulate_error(py: Python<'_>, err: &PrepopulateFailure) -> PyErr {
    if err.is_bad_argument() {
        return PyValueError::new_err(err.to_string());
    }
    let raised = PrepopulateError::new_err(err.to_string());
    let _ = raised.value(py).setattr("stored", err.stored());
    raised
}

/// Transport failures become the builtin exceptions Locust users already see in their failure tables; misuse
/// (a bad URL or header) is a `ValueError`.
pub fn http_error(err: &HttpError) -> PyErr {
    let message = err.to_string();
    match err {
        HttpError::ConnectionRefused => PyConnectionRefusedError::new_err(message),
        HttpError::ConnectionReset(_) => PyConnectionResetError::new_err(message),
        HttpError::Timeout(_) | HttpError::ConnectTimeout => PyTimeoutError::new_err(message),
        HttpError::Connect(_) | HttpError::Resolve(_) | HttpError::Proxy(_) => PyConnectionError::new_err(message),
        HttpError::Protocol(_) | HttpError::TooManyRedirects(_) | HttpError::TooLarge(_) => {
            InvalidResponseError::new_err(message)
        }
        HttpError::InvalidUrl(_)
        | HttpError::UnsupportedScheme(_)
        | HttpError::InvalidHeader(_)
        | HttpError::TlsFile(_) => PyValueError::new_err(message),
    }
}

/// A snapshot that cannot be read is bad input: `ValueError`.
pub fn stats_error(err: &StatsError) -> PyErr {
    PyValueError::new_err(err.to_string())
}

/// A pop answer in neither shape, a bad seq range, a delta that cannot be read: bad input, `ValueError`.
pub fn integrity_error(err: &IntegrityError) -> PyErr {
    PyValueError::new_err(err.to_string())
}

/// A bad schedule or setting: `ValueError`; a thread that could not start: `OSError`.
pub fn openmodel_error(err: &OpenModelError) -> PyErr {
    match err {
        OpenModelError::Thread(io) => pyo3::exceptions::PyOSError::new_err(io.to_string()),
        _ => PyValueError::new_err(err.to_string()),
    }
}
