//! The engine for Python: one per process, created lazily and again after a fork.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{CONTENT_ENCODING, LOCATION, SET_COOKIE};
use hyper::HeaderMap;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyList};

use super::errors::http_error;
use crate::http::{check_proxy, header_map, Engine, EngineConfig, Outcome, RequestSpec, TlsFiles};

type PyEngine = Engine<Py<PyAny>>;

/// The process's engine and the fork generation it was made in.
static ENGINE: Mutex<Option<(u64, Arc<PyEngine>)>> = Mutex::new(None);
/// Bumped in a forked child: an engine from an older generation has no runtime threads in this process.
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
static AT_FORK: Once = Once::new();

extern "C" fn after_fork_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::SeqCst);
}

fn engine() -> PyResult<Arc<PyEngine>> {
    // SAFETY: registers a handler that only bumps an atomic, which is async-signal-safe.
    AT_FORK.call_once(|| unsafe {
        libc::pthread_atfork(None, None, Some(after_fork_in_child));
    });
    let generation = FORK_GENERATION.load(Ordering::SeqCst);
    // Only interpreter threads holding the GIL come here, so the lock is never held across a fork.
    let mut slot = ENGINE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((made_in, engine)) = slot.as_ref() {
        if *made_in == generation {
            return Ok(Arc::clone(engine));
        }
    }
    if let Some((_, inherited)) = slot.take() {
        // Dropping it would join runtime threads that do not exist in this process, and release the parent's
        // tokens: it is leaked instead, once per fork.
        std::mem::forget(inherited);
    }
    let fresh = Arc::new(Engine::new(&EngineConfig::default())?);
    *slot = Some((generation, Arc::clone(&fresh)));
    Ok(fresh)
}

/// A finished request: a response (any status) or a transport error.
#[pyclass(frozen, module = "pushpop_load._native", name = "HttpResult")]
pub struct HttpResult(Outcome);

#[pymethods]
impl HttpResult {
    /// HTTP status, 0 when no response arrived.
    #[getter]
    fn status(&self) -> u16 {
        self.0.status
    }

    /// The body (a new `bytes` on every access: keep it).
    #[getter]
    fn content<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.body)
    }

    /// Body size in bytes.
    #[getter]
    fn length(&self) -> usize {
        self.0.body.len()
    }

    /// Response headers in order, repeated names kept.
    #[getter]
    fn headers(&self) -> Vec<(&str, String)> {
        self.0
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect()
    }

    #[getter]
    fn url(&self) -> &str {
        &self.0.url
    }

    /// The transport error as an exception instance, or None.
    #[getter]
    fn error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.0
            .error
            .as_ref()
            .map(|err| http_error(err).into_value(py).into_any())
    }

    /// Whether a session must look at the headers: cookies to store, a body to decode, a redirect to follow. One
    /// call instead of a header scan in Python on every response, so that sessions pay for cookies, decoding and
    /// redirects only when an answer has them.
    #[getter]
    fn attention(&self) -> bool {
        let headers = &self.0.headers;
        headers.contains_key(SET_COOKIE)
            || headers.contains_key(CONTENT_ENCODING)
            || (matches!(self.0.status, 301 | 302 | 303 | 307 | 308) && headers.contains_key(LOCATION))
    }

    /// Milliseconds from the request's start on the engine's thread to its last body byte's arrival (or the failure).
    #[getter]
    fn elapsed_ms(&self) -> f64 {
        self.0.timings.total.as_secs_f64() * 1000.0
    }

    /// Milliseconds from the request's start on the engine's thread to the response headers' arrival.
    #[getter]
    fn first_byte_ms(&self) -> f64 {
        self.0.timings.first_byte.as_secs_f64() * 1000.0
    }

    /// Milliseconds from the request's submit to its start on the engine's thread (not part of ``elapsed_ms``).
    #[getter]
    fn queued_ms(&self) -> f64 {
        self.0.timings.queued.as_secs_f64() * 1000.0
    }
}

fn seconds(value: Option<f64>, what: &str) -> PyResult<Option<Duration>> {
    match value {
        None => Ok(None),
        Some(seconds) if seconds.is_finite() && seconds > 0.0 => Ok(Some(Duration::from_secs_f64(seconds))),
        Some(seconds) => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{what} must be a positive number of seconds or None (got {seconds})"
        ))),
    }
}

/// How requests are sent: made once per session, so that a request passes one object instead of four values.
#[pyclass(frozen, module = "pushpop_load._native", name = "RequestOptions")]
pub struct RequestOptions {
    timeout: Option<Duration>,
    max_redirects: u32,
    insecure: bool,
    connect_timeout: Option<Duration>,
    pool: u64,
    proxy: Option<Arc<str>>,
    proxy_authorization: Option<Arc<str>>,
    tls_files: Option<Arc<TlsFiles>>,
    stream: bool,
}

#[pymethods]
impl RequestOptions {
    /// Checks the proxy's address and reads the TLS files now (the engine keeps what it read), so that a bad one
    /// is reported where the options are made, naming the file.
    #[new]
    #[pyo3(signature = (
        timeout=None, max_redirects=30, insecure=false, connect_timeout=None, pool=0, proxy=None, client_cert=None,
        client_key=None, ca_bundle=None, stream=false, proxy_authorization=None,
    ))]
    #[allow(clippy::too_many_arguments)] // Python's keywords
    fn new(
        timeout: Option<f64>,
        max_redirects: u32,
        insecure: bool,
        connect_timeout: Option<f64>,
        pool: u64,
        proxy: Option<&str>,
        client_cert: Option<PathBuf>,
        client_key: Option<PathBuf>,
        ca_bundle: Option<PathBuf>,
        stream: bool,
        proxy_authorization: Option<&str>,
    ) -> PyResult<Self> {
        if let Some(proxy) = proxy {
            check_proxy(proxy).map_err(|err| http_error(&err))?;
        }
        if proxy_authorization.is_some_and(|value| hyper::header::HeaderValue::from_str(value).is_err()) {
            // the value itself stays out of the message: it holds a password
            return Err(pyo3::exceptions::PyValueError::new_err(
                "proxy_authorization is not a valid header value (a line break or a control character)",
            ));
        }
        let tls_files = if client_cert.is_some() || client_key.is_some() || ca_bundle.is_some() {
            let files = Arc::new(TlsFiles {
                cert: client_cert,
                key: client_key,
                ca: ca_bundle,
            });
            engine()?
                .tls_with_files(&files, insecure)
                .map_err(|err| http_error(&err))?;
            Some(files)
        } else {
            None
        };
        Ok(Self {
            timeout: seconds(timeout, "timeout")?,
            max_redirects,
            insecure,
            connect_timeout: seconds(connect_timeout, "connect_timeout")?,
            pool,
            proxy: proxy.map(Arc::from),
            proxy_authorization: proxy_authorization.map(Arc::from),
            tls_files,
            stream,
        })
    }
}

/// A header list checked once, for the requests that send it unchanged (a session's defaults, its JSON and form
/// headers): converting and checking the list per request cost ~0.7 µs of the caller's thread for 4 headers (abi3
/// below Python 3.10 copies every string out), against one reference count for this.
#[pyclass(frozen, module = "pushpop_load._native", name = "HeaderList")]
pub struct HeaderList(Arc<HeaderMap>);

#[pymethods]
impl HeaderList {
    /// Raises `ValueError` (an `HttpError`) for a name or value that cannot be sent.
    #[new]
    #[allow(clippy::needless_pass_by_value)] // pyo3 hands over owned values
    fn new(headers: Vec<(PyBackedStr, PyBackedStr)>) -> PyResult<Self> {
        let pairs = headers.iter().map(|(name, value)| (&**name, &**value));
        Ok(Self(Arc::new(header_map(pairs).map_err(|err| http_error(&err))?)))
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }
}

/// The headers a call passed: a `HeaderList` as it is, a list of pairs checked now.
fn headers_of(headers: &Bound<'_, PyAny>) -> PyResult<Arc<HeaderMap>> {
    if let Ok(prepared) = headers.cast::<HeaderList>() {
        return Ok(Arc::clone(&prepared.get().0));
    }
    if let Ok(list) = headers.cast::<PyList>() {
        if list.is_empty() {
            return Ok(Arc::default());
        }
    }
    let pairs: Vec<(PyBackedStr, PyBackedStr)> = headers.extract()?;
    let map = header_map(pairs.iter().map(|(name, value)| (&**name, &**value))).map_err(|err| http_error(&err))?;
    Ok(Arc::new(map))
}

fn spec(
    method: &str,
    url: &str,
    headers: &Bound<'_, PyAny>,
    body: Option<&Bound<'_, PyBytes>>,
    options: &RequestOptions,
) -> PyResult<RequestSpec> {
    let body = body.map_or_else(Bytes::new, |bytes| Bytes::copy_from_slice(bytes.as_bytes()));
    let mut spec = RequestSpec::with_headers(
        method,
        url,
        headers_of(headers)?,
        body,
        options.timeout,
        options.max_redirects,
    )
    .map_err(|err| http_error(&err))?;
    spec.insecure = options.insecure;
    spec.connect_timeout = options.connect_timeout;
    spec.pool = options.pool;
    spec.proxy.clone_from(&options.proxy);
    spec.proxy_authorization.clone_from(&options.proxy_authorization);
    spec.tls_files.clone_from(&options.tls_files);
    spec.stream = options.stream;
    Ok(spec)
}

/// Submits a request and returns at once with its ticket and whether the caller must arrange one `http_flush()`
/// soon (see `Engine::submit_deferred`). `token` (a callable) comes back from `http_drain` with the result.
#[pyfunction]
#[allow(clippy::needless_pass_by_value)] // pyo3 hands over owned values
pub fn http_submit(
    method: &str,
    url: &str,
    // a `HeaderList`, or a list of (name, value) pairs
    headers: Bound<'_, PyAny>,
    body: Option<Bound<'_, PyBytes>>,
    options: PyRef<'_, RequestOptions>,
    token: Py<PyAny>,
) -> PyResult<(u64, bool)> {
    let spec = spec(method, url, &headers, body.as_ref(), &options)?;
    Ok(engine()?.submit_deferred(spec, token))
}

/// Starts reading the next piece (at most `max_bytes`) of a streamed answer's body, within `timeout` seconds;
/// returns its ticket, or None when `result` has no body left to read. `token` comes back from `http_drain` with an
/// `HttpResult` whose `content` is the piece (empty at the end of the body) or whose `error` says why it ended.
#[pyfunction]
#[pyo3(signature = (result, max_bytes, timeout, token))]
#[allow(clippy::needless_pass_by_value)] // pyo3 hands over owned values
pub fn http_read(
    result: PyRef<'_, HttpResult>,
    max_bytes: usize,
    timeout: Option<f64>,
    token: Py<PyAny>,
) -> PyResult<Option<u64>> {
    let Some(rest) = result.0.rest.clone() else {
        return Ok(None);
    };
    let timeout = seconds(timeout, "timeout")?;
    Ok(Some(engine()?.read_body(rest, max_bytes, timeout, token)))
}

/// Starts every request queued by `http_submit`.
#[pyfunction]
pub fn http_flush() -> PyResult<()> {
    engine()?.flush();
    Ok(())
}

/// Every finished request since the last call, as `(token, HttpResult)`.
#[pyfunction]
pub fn http_drain() -> PyResult<Vec<(Py<PyAny>, HttpResult)>> {
    Ok(engine()?
        .drain()
        .into_iter()
        .map(|(token, outcome)| (token, HttpResult(outcome)))
        .collect())
}

/// Abandons a request; True if it was still in flight.
#[pyfunction]
pub fn http_cancel(ticket: u64) -> PyResult<bool> {
    Ok(engine()?.cancel(ticket).is_some())
}

/// Requests of this process submitted and neither drained nor cancelled.
#[pyfunction]
pub fn http_in_flight() -> PyResult<usize> {
    Ok(engine()?.in_flight())
}

/// Closes the engine's idle keep-alive connections (none when no engine was made yet); how many it closed.
#[pyfunction]
pub fn http_close_idle() -> usize {
    let slot = ENGINE.lock().unwrap_or_else(PoisonError::into_inner);
    match slot.as_ref() {
        Some((made_in, engine)) if *made_in == FORK_GENERATION.load(Ordering::SeqCst) => engine.close_idle(),
        _ => 0,
    }
}

/// Forgets the connection pool `pool` (`RequestOptions(pool=…)`) of a session that ended, closing its idle
/// connections; how many it closed.
#[pyfunction]
pub fn http_release_pool(pool: u64) -> usize {
    let slot = ENGINE.lock().unwrap_or_else(PoisonError::into_inner);
    match slot.as_ref() {
        Some((made_in, engine)) if *made_in == FORK_GENERATION.load(Ordering::SeqCst) => engine.release_pool(pool),
        _ => 0,
    }
}

/// How long this process's requests waited between their submit and their start on the engine's thread since the
/// last call: (requests, median ms, 99th percentile ms), each percentile the power of two of µs above it.
/// A process that made no requests has none (and gets no engine made for the question).
#[pyfunction]
pub fn http_start_waits() -> (u64, f64, f64) {
    let slot = ENGINE.lock().unwrap_or_else(PoisonError::into_inner);
    match slot.as_ref() {
        Some((made_in, engine)) if *made_in == FORK_GENERATION.load(Ordering::SeqCst) => {
            let summary = engine.take_start_waits();
            (
                summary.requests,
                summary.p50.as_secs_f64() * 1000.0,
                summary.p99.as_secs_f64() * 1000.0,
            )
        }
        _ => (0, 0.0, 0.0),
    }
}

/// The eventfd that turns readable when `http_drain` has results.
#[pyfunction]
pub fn http_fileno() -> PyResult<i32> {
    Ok(engine()?.fileno())
}

/// Runs one request and waits for it with the GIL released: for callers without gevent.
#[pyfunction]
#[allow(clippy::needless_pass_by_value)] // pyo3 hands over owned values
pub fn http_request_blocking(
    py: Python<'_>,
    method: &str,
    url: &str,
    headers: Bound<'_, PyAny>,
    body: Option<Bound<'_, PyBytes>>,
    options: PyRef<'_, RequestOptions>,
) -> PyResult<HttpResult> {
    let spec = spec(method, url, &headers, body.as_ref(), &options)?;
    let engine = engine()?;
    Ok(HttpResult(py.detach(|| engine.block_on(spec))))
}
