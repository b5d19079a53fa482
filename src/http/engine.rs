use std::collections::HashMap;
use std::mem;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use hyper::{Method, StatusCode};
use tokio::task::AbortHandle;

use super::error::HttpError;
use super::h1::Pool;
use super::outcome::{BodyStream, Outcome, Timings};
use super::request::RequestSpec;
use super::tls::{self, TlsFiles};
use super::waits::{StartWaits, WaitSummary};
use super::wakeup::Wakeup;

type HttpClient = Arc<Pool>;

/// What sets pooled clients apart: insecure, the connect timeout (a connector setting), the pool id (the caller's
/// choice, `RequestSpec::pool`), the proxy and its credentials, and the TLS files.
type ClientKey = (
    bool,
    Duration,
    u64,
    Option<Arc<str>>,
    Option<Arc<str>>,
    Option<Arc<TlsFiles>>,
);

/// How the engine's runtime and connection pool are set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Runtime worker threads. One per load-generating process: Locust runs one process per core.
    pub threads: usize,
    pub connect_timeout: Duration,
    /// Idle keep-alive connections are closed after this.
    pub idle_timeout: Duration,
    /// Requests submitted within this time of the last start are started together (see `Engine::submit_deferred`).
    pub coalesce: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            threads: 1,
            connect_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(90),
            coalesce: Duration::from_micros(50),
        }
    }
}

/// Completed requests waiting for the caller, and the eventfd that says so.
struct Completions {
    done: Mutex<Vec<(u64, Outcome)>>,
    wakeup: Wakeup,
}

/// Completions queued at once past which the caller is told without waiting for the runtime thread's batch to end.
const SIGNAL_AFTER: usize = 64;

impl Completions {
    /// Queues a finished request. The caller hears of it when the runtime thread has run out of ready work
    /// (`signal`, before it sleeps) rather than at once: the caller's thread, woken by the eventfd, preempted the
    /// runtime thread on the core they share after each answer it read, to take that one answer (path.py, 20
    /// greenlets: 0.2 preemptions of the runtime thread per request, the switch 13.6% of its samples). A long
    /// batch tells it at `SIGNAL_AFTER` completions, so a runtime thread that never runs dry cannot starve it.
    fn push(&self, ticket: u64, outcome: Outcome) {
        let queued = {
            let mut done = locked(&self.done);
            done.push((ticket, outcome));
            done.len()
        };
        if queued >= SIGNAL_AFTER {
            self.wakeup.notify();
        }
    }

    /// A runtime thread is about to sleep: the caller is told of what waits (`notify` writes once per drain).
    fn signal(&self) {
        if !locked(&self.done).is_empty() {
            self.wakeup.notify();
        }
    }
}

/// Sleeps a second at a time, for as long as the runtime lives. tokio's time driver wakes its own thread (a write
/// to its eventfd, and a poll that returns at once) for each timer inserted earlier than the earliest one it knew
/// of when it last parked, and every insert is earlier than none: a runtime that ran dry between two batches of
/// requests paid that for each of the next batch's timeouts (0.45 writes per request in bench/client/path.py,
/// `perf trace -s`). With this timer pending, only timeouts shorter than a second are earlier.
async fn keep_a_timer_pending() {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A runtime, a connection pool and a completion queue. Callers `submit` requests with an opaque token and never
/// wait; when `fileno()` turns readable, `drain()` returns each finished request with its token. Tokens stay on
/// the caller's side (they never cross to runtime threads), so they may be interpreter objects.
pub struct Engine<T> {
    runtime: tokio::runtime::Runtime,
    /// One pooled client per `ClientKey` in use.
    clients: Mutex<HashMap<ClientKey, HttpClient>>,
    /// TLS that verifies against the system's roots (loaded on first use), and TLS that accepts any certificate.
    verified_tls: std::sync::OnceLock<Result<rustls::ClientConfig, HttpError>>,
    unverified_tls: rustls::ClientConfig,
    /// TLS set up from files (client certificates, private CAs), read once per set of files and `insecure`.
    /// Failures are not kept: a file fixed meanwhile is read again.
    file_tls: Mutex<HashMap<(Arc<TlsFiles>, bool), rustls::ClientConfig>>,
    config: EngineConfig,
    completions: Arc<Completions>,
    /// Submitted and not yet started: `flush` hands them to the runtime as one batch.
    pending: Mutex<Queue>,
    in_flight: Arc<Mutex<HashMap<u64, InFlight<T>>>>,
    next_ticket: AtomicU64,
    /// How long requests waited between their submit and their start (`Timings::queued`), for `take_start_waits`.
    start_waits: Arc<StartWaits>,
}

/// Requests waiting for the next `flush`, and when the last batch started.
struct Queue {
    requests: Vec<Pending>,
    last_flush: Instant,
}

/// A request waiting for the next `flush`.
struct Pending {
    ticket: u64,
    client: Result<HttpClient, HttpError>,
    spec: RequestSpec,
    submitted: Instant,
}

/// A request's token, and its task once the runtime has started it.
struct InFlight<T> {
    token: T,
    task: Option<AbortHandle>,
}

fn locked<V>(mutex: &Mutex<V>) -> MutexGuard<'_, V> {
    // Every critical section here is a push, a take or a map insert/remove: nothing is left half-done by a panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T: Send + 'static> Engine<T> {
    pub fn new(config: &EngineConfig) -> std::io::Result<Self> {
        let completions = Arc::new(Completions {
            done: Mutex::new(Vec::new()),
            wakeup: Wakeup::new()?,
        });
        let parking = Arc::clone(&completions);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads.max(1))
            .thread_name("pushpop-http")
            .on_thread_start(block_signals)
            .on_thread_park(move || parking.signal())
            .enable_all()
            .build()?;
        runtime.spawn(keep_a_timer_pending());
        Ok(Self {
            runtime,
            clients: Mutex::default(),
            verified_tls: std::sync::OnceLock::new(),
            unverified_tls: tls::unverified(),
            file_tls: Mutex::default(),
            config: config.clone(),
            completions,
            pending: Mutex::new(Queue {
                requests: Vec::new(),
                last_flush: Instant::now(),
            }),
            in_flight: Arc::default(),
            next_ticket: AtomicU64::new(1),
            start_waits: Arc::default(),
        })
    }

    /// The client for `spec`, or why https verification cannot be set up here.
    fn client_for(&self, spec: &RequestSpec) -> Result<HttpClient, HttpError> {
        let connect_timeout = spec.connect_timeout.unwrap_or(self.config.connect_timeout);
        let key = (
            spec.insecure,
            connect_timeout,
            spec.pool,
            spec.proxy.clone(),
            spec.proxy_authorization.clone(),
            spec.tls_files.clone(),
        );
        if let Some(client) = locked(&self.clients).get(&key) {
            return Ok(client.clone());
        }
        let tls = match &spec.tls_files {
            Some(files) => self.tls_with_files(files, spec.insecure)?,
            None if spec.insecure => self.unverified_tls.clone(),
            None => self.verified_tls.get_or_init(tls::verified).clone()?,
        };
        let client = Arc::new(
            Pool::new(tls, connect_timeout, self.config.idle_timeout)
                .through_proxy(spec.proxy.clone(), spec.proxy_authorization.clone()),
        );
        locked(&self.clients).insert(key, client.clone());
        Ok(client)
    }

    /// The TLS setup `files` ask for, read on first use and kept; or why they cannot be used (the file named).
    /// Callers may call it early, to report unusable files when a session is made rather than per request.
    pub fn tls_with_files(&self, files: &Arc<TlsFiles>, insecure: bool) -> Result<rustls::ClientConfig, HttpError> {
        let key = (Arc::clone(files), insecure);
        if let Some(found) = locked(&self.file_tls).get(&key) {
            return Ok(found.clone());
        }
        let made = tls::with_files(files, insecure)?;
        locked(&self.file_tls).insert(key, made.clone());
        Ok(made)
    }

    /// Closes the idle keep-alive connections of every pool; how many. Called when a run stops, so that a stopped
    /// run holds no sockets to its target.
    pub fn close_idle(&self) -> usize {
        let pools: Vec<HttpClient> = locked(&self.clients).values().cloned().collect();
        // the sockets are registered with the runtime's reactor: closed from inside it
        let _inside = self.runtime.enter();
        pools.iter().map(|pool| pool.close_idle()).sum()
    }

    /// Forgets the pools of `pool` (a session that ended), closing their idle connections; how many it closed.
    /// Connections of its requests still in flight close when those end.
    pub fn release_pool(&self, pool: u64) -> usize {
        let released: Vec<HttpClient> = {
            let mut clients = locked(&self.clients);
            let keys: Vec<_> = clients.keys().filter(|key| key.2 == pool).cloned().collect();
            keys.iter().filter_map(|key| clients.remove(key)).collect()
        };
        let _inside = self.runtime.enter();
        released.iter().map(|client| client.close_idle()).sum()
    }

    /// The eventfd to watch: readable when `drain` has something to return.
    #[must_use]
    pub fn fileno(&self) -> i32 {
        self.completions.wakeup.fd()
    }

    /// Queues `spec` and returns at once with its ticket, and whether the caller must arrange one `flush` soon
    /// (e.g. at the end of its event loop's iteration). A request that finds the engine's thread quiet — nothing
    /// started within `EngineConfig::coalesce` — starts at once instead: waking that thread for every request
    /// would cost a context switch per request when the caller and the runtime share a core, while a request held
    /// back for a batch while the caller runs busy user code would have its answer read late (and timed late) too.
    pub fn submit_deferred(&self, spec: RequestSpec, token: T) -> (u64, bool) {
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        let submitted = Instant::now();
        let client = self.client_for(&spec);
        locked(&self.in_flight).insert(ticket, InFlight { token, task: None });
        let mut queue = locked(&self.pending);
        queue.requests.push(Pending {
            ticket,
            client,
            spec,
            submitted,
        });
        if queue.requests.len() > 1 {
            // A batch is held back for the end of the caller's iteration, but never for longer than `coalesce`:
            // when many users become ready at once (users paced by `constant_throughput` and spawned together fire
            // in step), each runs its Python before the next submits, and the first request of a 50-user burst
            // waited ~1 ms for the flush (bench/fidelity, 100 users at 2,000/s: `queued` p50 1.0 ms). Flushing a
            // batch that old bounds the wait at `coalesce` plus one user's turn.
            let aged = submitted.saturating_duration_since(queue.requests[0].submitted) >= self.config.coalesce;
            drop(queue);
            if aged {
                self.flush();
            }
            return (ticket, false);
        }
        let quiet = submitted.saturating_duration_since(queue.last_flush) >= self.config.coalesce;
        drop(queue);
        if quiet {
            self.flush();
        }
        (ticket, !quiet)
    }

    /// Starts `spec` on the runtime now and returns its ticket.
    pub fn submit(&self, spec: RequestSpec, token: T) -> u64 {
        let (ticket, _) = self.submit_deferred(spec, token);
        self.flush();
        ticket
    }

    /// Starts every queued request.
    pub fn flush(&self) {
        let batch = {
            let mut queue = locked(&self.pending);
            if queue.requests.is_empty() {
                return;
            }
            queue.last_flush = Instant::now();
            mem::take(&mut queue.requests)
        };
        let completions = Arc::clone(&self.completions);
        let in_flight = Arc::clone(&self.in_flight);
        let start_waits = Arc::clone(&self.start_waits);
        // One task spawns the batch from inside the runtime, where spawning wakes no thread.
        self.runtime.spawn(async move {
            let tasks: Vec<(u64, AbortHandle)> = batch
                .into_iter()
                .map(|request| {
                    let ticket = request.ticket;
                    let completions = Arc::clone(&completions);
                    let start_waits = Arc::clone(&start_waits);
                    // boxed: tokio moves a spawned future several times on its way into its task, and a request's
                    // is over a kilobyte; moved as a pointer (and the connect's future boxed), the engine's thread
                    // ran 14% fewer instructions per request (bench/instructions, 2026-12-08)
                    let handle = tokio::spawn(Box::pin(async move {
                        let started = Instant::now();
                        start_waits.record(started - request.submitted);
                        let outcome = match request.client {
                            Ok(client) => execute(&client, request.spec, request.submitted, started).await,
                            Err(error) => Outcome {
                                url: request.spec.url,
                                error: Some(error),
                                ..Outcome::default()
                            },
                        };
                        completions.push(ticket, outcome);
                    }));
                    (ticket, handle.abort_handle())
                })
                .collect();
            let mut in_flight = locked(&in_flight);
            for (ticket, task) in tasks {
                match in_flight.get_mut(&ticket) {
                    Some(entry) => entry.task = Some(task),
                    None => task.abort(), // cancelled before it started
                }
            }
        });
    }

    /// Every finished request since the last call, with its token. Requests cancelled meanwhile are left out.
    pub fn drain(&self) -> Vec<(T, Outcome)> {
        self.completions.wakeup.reset();
        let done = mem::take(&mut *locked(&self.completions.done));
        if done.is_empty() {
            return Vec::new();
        }
        let mut in_flight = locked(&self.in_flight);
        done.into_iter()
            .filter_map(|(ticket, outcome)| in_flight.remove(&ticket).map(|entry| (entry.token, outcome)))
            .collect()
    }

    /// Abandons a request (its caller went away): the task is aborted, and its token returned for disposal.
    pub fn cancel(&self, ticket: u64) -> Option<T> {
        let entry = locked(&self.in_flight).remove(&ticket)?;
        match entry.task {
            Some(task) => task.abort(),
            // not started: still queued (dropped here), or in a batch being started (which aborts it)
            None => locked(&self.pending)
                .requests
                .retain(|request| request.ticket != ticket),
        }
        Some(entry.token)
    }

    /// Reads the next piece (at most `max` bytes) of a streamed answer's body, within `timeout`; like a request, it
    /// comes back from `drain` with `token`: an `Outcome` whose `body` is the piece, empty once the body is through,
    /// or whose `error` says why the body ended early.
    pub fn read_body(&self, body: BodyStream, max: usize, timeout: Option<Duration>, token: T) -> u64 {
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        locked(&self.in_flight).insert(ticket, InFlight { token, task: None });
        let completions = Arc::clone(&self.completions);
        let task = self.runtime.spawn(async move {
            let started = Instant::now();
            let read = async { body.lock().await.next(max).await };
            let read = match timeout {
                Some(limit) => tokio::time::timeout(limit, read)
                    .await
                    .unwrap_or(Err(HttpError::Timeout(limit))),
                None => read.await,
            };
            let (piece, error) = match read {
                Ok(piece) => (piece.unwrap_or_default(), None),
                Err(error) => (Bytes::new(), Some(error)),
            };
            let outcome = Outcome {
                body: piece,
                error,
                timings: Timings {
                    total: started.elapsed(),
                    ..Timings::default()
                },
                ..Outcome::default()
            };
            completions.push(ticket, outcome);
        });
        if let Some(entry) = locked(&self.in_flight).get_mut(&ticket) {
            entry.task = Some(task.abort_handle());
        }
        ticket
    }

    /// How long requests waited between their submit and their start since the last call (the generator's own
    /// time, which response times leave out).
    pub fn take_start_waits(&self) -> WaitSummary {
        self.start_waits.take()
    }

    /// Requests submitted (queued or started) and neither drained nor cancelled.
    pub fn in_flight(&self) -> usize {
        locked(&self.in_flight).len()
    }

    /// Runs one request to completion on the runtime, blocking the calling thread (for callers with no event loop).
    pub fn block_on(&self, spec: RequestSpec) -> Outcome {
        let submitted = Instant::now();
        self.start_waits.record(Duration::ZERO); // it starts on the calling thread, at once
        match self.client_for(&spec) {
            Ok(client) => self.runtime.block_on(execute(&client, spec, submitted, submitted)),
            Err(error) => Outcome {
                url: spec.url,
                error: Some(error),
                ..Outcome::default()
            },
        }
    }
}

/// Runtime threads never take process-directed signals: those belong to the interpreter's main thread.
fn block_signals() {
    // SAFETY: sigfillset initialises the set; pthread_sigmask only changes this thread's mask.
    unsafe {
        let mut all: libc::sigset_t = mem::zeroed();
        libc::sigfillset(&raw mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &raw const all, std::ptr::null_mut());
    }
}

/// Runs `spec`, timed from `started` (its start on the runtime), as an independent client times a request: the wait
/// from `submitted` before it is the generator's own (`Timings::queued`). Timed from the submit, the closed model's
/// median at 100 users and 2,000/s was 0.13–0.14 ms against oha's 0.08–0.11, and from the start 0.09–0.10: on a
/// core it shares with the interpreter, this thread runs only once the caller's greenlet has switched away
/// (bench/fidelity, perf sched: submit to write 27–34 µs at the median, 62–148 µs at the 90th percentile).
async fn execute(client: &HttpClient, spec: RequestSpec, submitted: Instant, started: Instant) -> Outcome {
    let mut timings = Timings {
        queued: started - submitted,
        ..Timings::default()
    };
    let limit = spec.timeout;
    let url = spec.url.clone();
    let result = match limit {
        Some(limit) => tokio::time::timeout(limit, send(client, spec, started, &mut timings))
            .await
            .unwrap_or(Err(HttpError::Timeout(limit))),
        None => send(client, spec, started, &mut timings).await,
    };
    match result {
        Ok(mut outcome) => {
            outcome.timings = timings;
            outcome
        }
        Err(error) => {
            timings.total = started.elapsed();
            Outcome {
                url,
                error: Some(error),
                timings,
                ..Outcome::default()
            }
        }
    }
}

/// Sends `spec`, following redirects as a browser would (303, and 301/302 after a POST, turn into a GET).
async fn send(
    client: &HttpClient,
    mut spec: RequestSpec,
    started: Instant,
    timings: &mut Timings,
) -> Result<Outcome, HttpError> {
    let mut redirects = 0;
    loop {
        let response = if spec.stream {
            client
                .send_streamed(&spec.method, &spec.uri, &spec.headers, &spec.body)
                .await?
        } else {
            client.send(&spec.method, &spec.uri, &spec.headers, &spec.body).await?
        };
        // from the answer's arrival, not from this thread's read of it (`h1::arrival`)
        timings.first_byte = response.head_at.saturating_duration_since(started);
        timings.total = response.done_at.saturating_duration_since(started);
        let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
        let location = status
            .is_redirection()
            .then(|| response.headers.get(LOCATION))
            .flatten();
        if let Some(location) = location.and_then(|value| value.to_str().ok()) {
            if redirects >= spec.max_redirects {
                if redirects > 0 {
                    return Err(HttpError::TooManyRedirects(spec.max_redirects));
                }
            } else if spec.redirect_to(location).is_some() {
                redirects += 1;
                if status == StatusCode::SEE_OTHER
                    || (matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                        && spec.method == Method::POST)
                {
                    spec.method = if spec.method == Method::HEAD {
                        Method::HEAD
                    } else {
                        Method::GET
                    };
                    spec.body = Bytes::new();
                    let headers = Arc::make_mut(&mut spec.headers);
                    headers.remove(CONTENT_TYPE);
                    headers.remove(CONTENT_LENGTH);
                }
                continue;
            }
        }
        return Ok(Outcome {
            status: response.status,
            headers: response.headers,
            body: response.body,
            url: spec.url,
            error: None,
            timings: Timings::default(),
            rest: response.rest.map(|rest| Arc::new(tokio::sync::Mutex::new(rest))),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{Completions, Outcome, Wakeup, SIGNAL_AFTER};
    use std::sync::Mutex;

    /// What `Engine::drain` does to them.
    fn drain(completions: &Completions) {
        completions.wakeup.reset();
        completions.done.lock().unwrap().clear();
    }

    #[test]
    fn completions_are_signalled_when_the_runtime_thread_runs_dry_or_many_wait() {
        let completions = Completions {
            done: Mutex::new(Vec::new()),
            wakeup: Wakeup::new().unwrap(),
        };
        completions.push(1, Outcome::default());
        assert!(!completions.wakeup.readable(), "told before the batch ended");
        completions.signal();
        assert!(completions.wakeup.readable());
        drain(&completions);
        completions.signal();
        assert!(!completions.wakeup.readable(), "told again with nothing new");
        for waiting in 1..SIGNAL_AFTER {
            completions.push(waiting as u64, Outcome::default());
            assert!(!completions.wakeup.readable(), "told at {waiting} waiting");
        }
        completions.push(0, Outcome::default());
        assert!(completions.wakeup.readable(), "not told at {SIGNAL_AFTER} waiting");
        drain(&completions);
        completions.signal();
        assert!(!completions.wakeup.readable(), "told twice of the same completions");
    }
}
