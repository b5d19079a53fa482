//! The driver: a thread with a one-thread tokio runtime that starts pushes and pops at the schedule's times on the
//! native HTTP/1.1 client, records what each took, and hands the records over in batches.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_TYPE, USER_AGENT};
use hyper::{HeaderMap, Method, Uri};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, Semaphore, SemaphorePermit};

use super::error::{OpenModelError, Result};
use super::schedule::Schedule;
use super::timer::{precise_wakeups, Timer};
use crate::http::h1::Pool;
use crate::http::{tls, HttpError};
use crate::integrity::{now_us, parse_pop, Ledger};
use crate::stats::LocustEntry;
use crate::stats::{Delta, Intervals, Recorder};

/// The default `DriverConfig::batch_window`. A wake-up (the timer's set and read, the poll, the switch back) costs
/// the thread about what a request does: 25 µs of CPU each for 5,000 waits of 20-50 µs (debug build, a busy 2-vCPU
/// guest, 2026-12-07), beside 16-23 µs per request, and at 20,000/s and above arrivals are closer together than
/// that. 50 µs starts them in pairs at 20,000/s and in threes at 60,000/s, and keeps the schedule to a hundredth of
/// the 5 ms after which a start is late. A wider window buys CPU with precision: 1 ms (tokio's timer step, which
/// oha's `-q` keeps) took the driver at 20,000/s from 29.1-29.3 to 14.6-15.0 µs per request, and the raw p50 from
/// 0.091 to 0.141 ms as requests left in bursts of twenty (`bench/openmodel`, two interleaved pairs, 2026-12-07).
pub const DEFAULT_BATCH_WINDOW: Duration = Duration::from_micros(50);

/// What to run, and against what.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// `http://host:port` of the service.
    pub base_url: String,
    pub schedule: Schedule,
    /// This process's part of the schedule's rate (1 when it runs alone).
    pub share: f64,
    /// Stop starting requests this long after the start; None: until stopped.
    pub duration: Option<Duration>,
    /// Requests in flight at most, waiting for a connection or on one; an arrival that finds this many is dropped
    /// (and counted).
    pub max_in_flight: usize,
    /// Requests on the wire at once, and so connections open at once. An arrival that finds them all busy waits for
    /// one: the wait is in its corrected latency and, past `late_after`, counts it as late.
    pub max_connections: usize,
    /// Pushes and pops, in these proportions (interleaved exactly, not drawn at random).
    pub push_weight: u32,
    pub pop_weight: u32,
    /// JSON size of each pushed item, in bytes (approximately, as `make_item`).
    pub item_bytes: usize,
    /// Priorities of successive pushes, in turn.
    pub priorities: Vec<u64>,
    pub pop_depth: u32,
    /// Queues used in turn.
    pub queues: Vec<String>,
    /// The whole request, from its send.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// A request that starts more than this after its time counts as late.
    pub late_after: Duration,
    /// Arrivals due within this long of now start together, on one wake-up of the driver's thread, rather than one
    /// wake-up each; each still counts from its own time (`timing`). At most `late_after`.
    pub batch_window: Duration,
    /// https without checking the certificate.
    pub insecure: bool,
    /// The names requests are recorded under (Locust's `name`).
    pub push_name: String,
    pub pop_name: String,
}

/// Pushes get integrity markers and acknowledgements, pops are checked: the process's ledger and the driver's first
/// producer id (see `Lanes` for the others).
pub type Integrity = (Arc<Mutex<Ledger>>, u64);

/// Everything recorded since the last drain.
#[derive(Debug)]
pub struct Drained {
    pub entries: Vec<LocustEntry>,
    /// Exact histograms, in all and per second: corrected times under each name, raw ones under `<name> (raw)`;
    /// pops count their items.
    pub exact: Delta,
}

/// How the schedule was kept, since the start.
#[derive(Debug, Clone, Copy, Default, Serialize, serde::Deserialize)]
pub struct Counters {
    /// Arrivals the schedule asked for.
    pub scheduled: u64,
    /// Requests started (scheduled minus dropped).
    pub started: u64,
    /// Sent more than `late_after` behind their time: the driver fell behind, or (see `waited`) every connection
    /// was busy.
    pub late: u64,
    /// Found every one of the `max_connections` busy and waited for one (late or not).
    #[serde(default)]
    pub waited: u64,
    /// Not started: the bound on requests in flight was reached.
    pub dropped: u64,
    pub completed: u64,
    pub in_flight: u64,
    /// The largest delay of a start behind its time, in µs.
    pub max_lag_us: u64,
}

#[derive(Default)]
struct Atomics {
    scheduled: AtomicU64,
    started: AtomicU64,
    late: AtomicU64,
    waited: AtomicU64,
    dropped: AtomicU64,
    completed: AtomicU64,
    in_flight: AtomicU64,
    max_lag_us: AtomicU64,
}

#[derive(Default)]
struct Batch {
    push: LocustEntry,
    pop: LocustEntry,
    exact: Recorder,
    intervals: Intervals,
}

struct Shared {
    config: DriverConfig,
    /// `<push_name> (raw)` and `<pop_name> (raw)`, made once rather than per request.
    raw_names: [String; 2],
    counters: Atomics,
    batch: Mutex<Batch>,
    stopping: AtomicBool,
    wake: Notify,
    integrity: Option<Integrity>,
    /// One permit per connection a request may hold (`max_connections`).
    connections: Semaphore,
    /// The producers whose pushes are not in flight (with integrity on).
    lanes: Lanes,
}

/// The integrity ledger's FIFO check holds a producer's items to the order of their seqs. The driver's pushes run
/// concurrently, and two of them in flight at once may be stored in either order: with one producer for the
/// driver, the reference target's answers showed 674 pops "out of order" in 200,000 requests at 20,000/s and 35,170
/// in 600,000 at 60,000/s (`bench/openmodel`, 2026-12-07), every one a false alarm. So each push takes a producer
/// of its own from this free list (a new one when none is free) as it starts, and gives it back once answered:
/// a producer's pushes never overlap, and the next starts only after the service answered the last (stored it).
/// There are at most as many producers as pushes in flight at once (`max_connections`). One whose push got no
/// answer (a timeout, a reset) is not given back: the service may still store that item after the next.
struct Lanes(Mutex<Vec<u64>>);

impl Lanes {
    fn take(&self) -> u64 {
        let free = self.0.lock().unwrap_or_else(PoisonError::into_inner).pop();
        free.unwrap_or_else(Ledger::new_producer)
    }

    fn give_back(&self, producer: u64) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(producer);
    }
}

impl Shared {
    fn batch(&self) -> MutexGuard<'_, Batch> {
        self.batch.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running open-model load; stops when its duration is over or `stop` is called.
pub struct Driver {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Driver {
    /// Checks `config` and starts the driver's thread: the first request is due at once.
    pub fn start(config: DriverConfig, integrity: Option<Integrity>) -> Result<Self> {
        let bad = |why: &str| Err(OpenModelError::Config(why.to_owned()));
        let base: Uri = config
            .base_url
            .parse()
            .map_err(|_| OpenModelError::Config(format!("host {:?} is not a URL", config.base_url)))?;
        if !matches!(base.scheme_str(), Some("http" | "https")) || base.authority().is_none() {
            return bad("the host must be an http:// or https:// URL");
        }
        if !(config.share > 0.0 && config.share <= 1.0) {
            return bad("the share of the rate must be above 0 and at most 1");
        }
        if config.max_in_flight == 0 {
            return bad("max_in_flight must be at least 1");
        }
        if config.batch_window > config.late_after {
            return bad(&format!(
                "batch_window ({} s) cannot be wider than late_after ({} s): arrivals would start earlier than a late \
                 one is late",
                config.batch_window.as_secs_f64(),
                config.late_after.as_secs_f64()
            ));
        }
        if config.max_connections == 0 {
            return bad("max_connections must be at least 1");
        }
        if config.push_weight == 0 && config.pop_weight == 0 {
            return bad("push and pop weights cannot both be 0");
        }
        if config.queues.is_empty() || config.priorities.is_empty() {
            return bad("at least one queue and one priority are needed");
        }
        if config.pop_depth == 0 {
            return bad("the pop depth must be at least 1");
        }
        let tls = if config.insecure {
            tls::unverified()
        } else {
            tls::verified().map_err(|err| OpenModelError::Config(err.to_string()))?
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let raw_names = [
            format!("{} (raw)", config.push_name),
            format!("{} (raw)", config.pop_name),
        ];
        let connections = Semaphore::new(config.max_connections.min(Semaphore::MAX_PERMITS));
        let lanes = Lanes(Mutex::new(integrity.iter().map(|(_, producer)| *producer).collect()));
        let shared = Arc::new(Shared {
            config,
            raw_names,
            counters: Atomics::default(),
            batch: Mutex::default(),
            stopping: AtomicBool::new(false),
            wake: Notify::new(),
            integrity,
            connections,
            lanes,
        });
        let running = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("pushpop-openmodel".to_owned())
            .spawn(move || {
                precise_wakeups();
                // nothing here reads an answer's headers
                let pool =
                    Pool::new(tls, running.config.connect_timeout, Duration::from_secs(90)).without_answer_headers();
                runtime.block_on(drive(&running, Arc::new(pool)));
            })?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Starts no more requests; those in flight finish (or time out).
    pub fn stop(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
    }

    /// Whether the driver still starts requests or waits for some.
    #[must_use]
    pub fn running(&self) -> bool {
        self.thread.as_ref().is_some_and(|thread| !thread.is_finished())
    }

    /// Waits for the driver's thread to end; false when it has not ended within `wait`.
    pub fn join(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while self.running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if self.running() {
            return false;
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        true
    }

    #[must_use]
    pub fn counters(&self) -> Counters {
        let c = &self.shared.counters;
        Counters {
            scheduled: c.scheduled.load(Ordering::Relaxed),
            started: c.started.load(Ordering::Relaxed),
            late: c.late.load(Ordering::Relaxed),
            waited: c.waited.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            completed: c.completed.load(Ordering::Relaxed),
            in_flight: c.in_flight.load(Ordering::Relaxed),
            max_lag_us: c.max_lag_us.load(Ordering::Relaxed),
        }
    }

    /// Everything recorded since the last call; the batch starts afresh.
    #[must_use]
    pub fn drain(&self) -> Drained {
        let mut batch = self.shared.batch();
        let entries = [std::mem::take(&mut batch.push), std::mem::take(&mut batch.pop)]
            .into_iter()
            .filter(|entry| entry.count > 0)
            .collect();
        Drained {
            entries,
            exact: Delta {
                total: batch.exact.take_delta(),
                intervals: batch.intervals.take_delta(),
            },
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // not joined: the thread ends by itself once its requests have (each by its timeout), and whoever drops
        // this (a greenlet killed twice) must not wait that long
        self.stop();
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    Push,
    Pop,
}

/// A request ready to send, and what it is for.
struct Prepared {
    operation: Operation,
    queue: usize,
    uri: Uri,
    /// A push's body is made when it starts (`stamp_push`); a pop has none.
    body: Bytes,
    arrival: u64,
    priority: u64,
}

/// The schedule's loop: start every arrival when it is due, until the duration is over or `stop`.
async fn drive(shared: &Arc<Shared>, pool: Arc<Pool>) {
    let config = &shared.config;
    let window = config.batch_window;
    let counters = &shared.counters;
    let (push_uris, pop_uris) = uris(config);
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("pushpop-load/", env!("CARGO_PKG_VERSION"))),
    );
    let headers = Arc::new(headers);
    let cycle = u64::from(config.push_weight + config.pop_weight);
    let end = config.duration.map(|duration| duration.as_secs_f64());
    let timer = match Timer::new() {
        Ok(timer) => Some(timer),
        Err(err) => {
            tracing::warn!("no precise timer ({err}): arrivals wait on tokio's millisecond timer instead");
            None
        }
    };
    let start = Instant::now();
    let mut due = 0.0f64;
    let mut arrival: u64 = 0;
    let mut now = start;
    loop {
        if shared.stopping.load(Ordering::SeqCst) || end.is_some_and(|end| due >= end) {
            break;
        }
        let intended = start + Duration::from_secs_f64(due);
        // the clock is read again only when the last reading says the arrival is not due yet: a driver behind its
        // schedule starts every arrival already due without one
        if intended > now + window {
            now = Instant::now();
        }
        if intended > now + window {
            let waited = async {
                match &timer {
                    Some(timer) if timer.sleep_until(intended).await.is_ok() => {}
                    _ => tokio::time::sleep_until(intended.into()).await,
                }
            };
            tokio::select! {
                () = waited => {}
                () = shared.wake.notified() => continue,
            }
            now = Instant::now();
        }
        counters.scheduled.fetch_add(1, Ordering::Relaxed);
        if counters.in_flight.load(Ordering::Relaxed) >= config.max_in_flight as u64 {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            counters.started.fetch_add(1, Ordering::Relaxed);
            counters.in_flight.fetch_add(1, Ordering::Relaxed);
            let operation = if arrival % cycle < u64::from(config.push_weight) {
                Operation::Push
            } else {
                Operation::Pop
            };
            #[allow(clippy::cast_possible_truncation)] // an index below the queue count
            let queue = (arrival % config.queues.len() as u64) as usize;
            let prepared = prepare(shared, operation, queue, arrival, &push_uris, &pop_uris);
            // boxed: tokio moves a spawned future several times on its way into its task, and this one is over a
            // kilobyte; moved as a pointer (and the connect's future boxed), the driver's thread ran 6% fewer
            // instructions per request (bench/instructions, 2026-12-08)
            tokio::spawn(Box::pin(request(
                Arc::clone(shared),
                Arc::clone(&pool),
                Arc::clone(&headers),
                prepared,
                intended,
            )));
        }
        arrival += 1;
        match config.schedule.next_after(due, config.share) {
            Some(next) => due = next,
            None => break,
        }
    }
    // the requests in flight end by their timeout
    let deadline = Instant::now() + config.timeout + Duration::from_secs(1);
    while counters.in_flight.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Each queue's push and pop URI, made once.
fn uris(config: &DriverConfig) -> (Vec<Uri>, Vec<Uri>) {
    let base = config.base_url.trim_end_matches('/');
    let make = |path: String| -> Uri { path.parse().expect("checked: an http(s) URL with a valid queue path") };
    let push = config
        .queues
        .iter()
        .map(|queue| make(format!("{base}/queue/{queue}/push")))
        .collect();
    let pop = config
        .queues
        .iter()
        .map(|queue| make(format!("{base}/queue/{queue}/pop?depth={}", config.pop_depth)))
        .collect();
    (push, pop)
}

fn prepare(
    shared: &Shared,
    operation: Operation,
    queue: usize,
    arrival: u64,
    push_uris: &[Uri],
    pop_uris: &[Uri],
) -> Prepared {
    let config = &shared.config;
    #[allow(clippy::cast_possible_truncation)] // an index below the priority count
    let priority = config.priorities[(arrival % config.priorities.len() as u64) as usize];
    let uris = if operation == Operation::Push {
        push_uris
    } else {
        pop_uris
    };
    Prepared {
        operation,
        queue,
        uri: uris[queue].clone(),
        body: Bytes::new(),
        arrival,
        priority,
    }
}

/// Makes a push's body as it starts, with its integrity marker when the ledger is on: the producer (taken from
/// `Lanes`) and the marker's seq, for the answer.
fn stamp_push(shared: &Shared, prepared: &mut Prepared) -> Option<(u64, u64)> {
    let config = &shared.config;
    let (priority, arrival) = (prepared.priority, prepared.arrival);
    let marker = shared.integrity.as_ref().map(|(ledger, _)| {
        let producer = shared.lanes.take();
        ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .marker(&config.queues[prepared.queue], producer, priority)
    });
    let stamp = marker.map_or_else(|| Err(now_us()), |marker| Ok(marker.values()));
    prepared.body = Bytes::from(push_body(arrival, stamp, config.item_bytes, priority));
    marker.map(|marker| (marker.producer, marker.seq))
}

/// A push's JSON body, sized as `make_item` sizes items: the padding makes the item (`{"id":..,"data":""}`) about
/// `item_bytes` of JSON. `stamp`: the integrity marker's `[producer, seq, priority, pushed_us]`, or without one
/// the push's unix time in µs. Written once into a buffer of its final size: two formats and a padding string per
/// push cost more.
fn push_body(arrival: u64, stamp: std::result::Result<[u64; 4], u64>, item_bytes: usize, priority: u64) -> String {
    let mut body = String::with_capacity(item_bytes + 96);
    body.push_str(r#"{"item":"#);
    let item_start = body.len();
    let _ = write!(body, r#"{{"id":"{arrival:012x}","#);
    let _ = match stamp {
        Ok([producer, seq, marked, pushed]) => write!(body, r#""_pp":[{producer},{seq},{marked},{pushed}]"#),
        Err(now) => write!(body, r#""seq":{arrival},"timestamp":{now}"#),
    };
    body.push_str(r#","data":""#);
    let frame = body.len() - item_start + r#""}"#.len();
    body.extend(std::iter::repeat_n('x', item_bytes.saturating_sub(frame)));
    let _ = write!(body, r#""}},"priority":{priority}}}"#);
    body
}

#[derive(Deserialize)]
struct Pushed {
    success: bool,
}

/// Sends one request and records it.
async fn request(
    shared: Arc<Shared>,
    pool: Arc<Pool>,
    headers: Arc<HeaderMap>,
    mut prepared: Prepared,
    intended: Instant,
) {
    let config = &shared.config;
    let _connection = connection(&shared).await;
    let marked = match prepared.operation {
        Operation::Push => stamp_push(&shared, &mut prepared),
        Operation::Pop => None,
    };
    let sent = Instant::now();
    let from = count_start(&shared, intended, sent);
    let start_us = now_us();
    let answer = match tokio::time::timeout(
        config.timeout,
        pool.send(&Method::POST, &prepared.uri, &headers, &prepared.body),
    )
    .await
    {
        Ok(answer) => answer,
        Err(_) => Err(HttpError::Timeout(config.timeout)),
    };
    // the answer's arrival (`h1::arrival`): a driver busy with other connections does not lengthen this one's time
    let done = answer
        .as_ref()
        .map_or_else(|_| Instant::now(), |response| response.done_at);
    let end_us = now_us();
    let queue = &config.queues[prepared.queue];
    let mut items = None;
    let (length, error) = match &answer {
        Err(err) => (0, Some(locust_error(err))),
        Ok(response) => {
            let length = response.body.len() as u64;
            let error = if response.status >= 400 {
                Some(format!("HttpStatusError(code={})", response.status))
            } else if response.status != 200 {
                Some(format!("unexpected status {}", response.status))
            } else if prepared.operation == Operation::Push {
                match serde_json::from_slice::<Pushed>(&response.body) {
                    Ok(Pushed { success: true }) => None,
                    _ => Some("push not confirmed".to_owned()),
                }
            } else {
                let counted = match &shared.integrity {
                    Some((ledger, _)) => ledger
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .check_pop(queue, &response.body, start_us, end_us)
                        .map_err(|err| err.to_string()),
                    None => parse_pop(&response.body)
                        .map(|items| items.len())
                        .map_err(|err| err.to_string()),
                };
                match counted {
                    Ok(count) => {
                        items = Some(count as u64);
                        None
                    }
                    Err(why) => Some(format!("unexpected pop answer: {why}")),
                }
            };
            (length, error)
        }
    };
    if let Some(marked) = marked {
        let status = answer.as_ref().map_or(0, |response| response.status);
        settle_push(&shared, queue, marked, status, error.is_some());
    }
    let corrected = (done - from).as_secs_f64() * 1000.0;
    let raw = (done - sent).as_secs_f64() * 1000.0;
    #[allow(clippy::cast_precision_loss)] // µs of a unix time: exact in an f64 for the next 280 years
    let end = end_us as f64 / 1e6;
    let second = end_us / 1_000_000;
    let (name, raw_name) = match prepared.operation {
        Operation::Push => (&config.push_name, &shared.raw_names[0]),
        Operation::Pop => (&config.pop_name, &shared.raw_names[1]),
    };
    let failed = error.is_some();
    {
        let mut batch = shared.batch();
        let entry = match prepared.operation {
            Operation::Push => &mut batch.push,
            Operation::Pop => &mut batch.pop,
        };
        if entry.count == 0 {
            "POST".clone_into(&mut entry.method);
            entry.name.clone_from(name);
        }
        entry.record(corrected, length, error, end);
        batch.exact.record("POST", name, corrected, failed);
        batch.exact.record("POST", raw_name, raw, failed);
        batch.intervals.record(second, "POST", name, corrected, failed);
        batch.intervals.record(second, "POST", raw_name, raw, failed);
        if let Some(count) = items {
            batch.exact.record_items("POST", name, count);
            batch.intervals.record_items(second, "POST", name, count);
        }
    }
    shared.counters.completed.fetch_add(1, Ordering::Relaxed);
    shared.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
}

/// Tells the ledger how the push of `(producer, seq)` ended, and gives its producer back once the service answered.
fn settle_push(shared: &Shared, queue: &str, (producer, seq): (u64, u64), status: u16, failed: bool) {
    if let Some((ledger, _)) = &shared.integrity {
        let mut ledger = ledger.lock().unwrap_or_else(PoisonError::into_inner);
        if !failed {
            ledger.acked(queue, producer, seq);
        } else if (400..500).contains(&status) {
            ledger.rejected(queue, producer, seq);
        } else {
            // a timeout, a reset, a 5xx: the item may be stored or not
            ledger.indeterminate(queue, producer, seq);
        }
    }
    if status != 0 {
        // answered: the service is done with this push, and the producer's next comes after it
        shared.lanes.give_back(producer);
    }
}

/// A connection for one request. Connections are bounded, arrivals are not: when the service holds every
/// connection, an arrival waits here for one rather than opening another. Unbounded (up to `max_in_flight`, 2,000
/// in `bench/openmodel`), a target that stalls has the driver open connections for the whole run (connect: 18% of the
/// driver's thread on a saturated machine), and 64 connections cost 0.7x (20,000/s) and 0.8x (60,000/s) the CPU per
/// request of unbounded ones (medians of 3 interleaved runs, busy machine, 2026-12-07). The wait counts in the
/// corrected latency and, past `late_after`, as late: the schedule was not kept, and the run says so.
async fn connection(shared: &Shared) -> Option<SemaphorePermit<'_>> {
    if let Ok(permit) = shared.connections.try_acquire() {
        return Some(permit);
    }
    shared.counters.waited.fetch_add(1, Ordering::Relaxed);
    shared.connections.acquire().await.ok()
}

/// Counts a request sent at `sent` as late if it is, and returns where its corrected latency starts (`timing`).
fn count_start(shared: &Shared, intended: Instant, sent: Instant) -> Instant {
    let (from, lag) = timing(intended, sent);
    #[allow(clippy::cast_possible_truncation)] // µs of a lag: far below 2^64
    let lag_us = lag.as_micros() as u64;
    shared.counters.max_lag_us.fetch_max(lag_us, Ordering::Relaxed);
    if lag > shared.config.late_after {
        shared.counters.late.fetch_add(1, Ordering::Relaxed);
    }
    from
}

/// Where a request's corrected latency starts, and how far behind its time it was sent. Both count from the
/// arrival's own intended time, whatever batch started it, and from the send, not the spawn: a driver that falls
/// behind spawns many arrivals before any runs, and they leave only when it yields (or, the connections all busy,
/// when one frees). An arrival a batch sent ahead of its time (`DriverConfig::batch_window`) counts from its send:
/// the service had it from then, and a corrected time is never below the raw one.
fn timing(intended: Instant, sent: Instant) -> (Instant, Duration) {
    (intended.min(sent), sent.saturating_duration_since(intended))
}

/// A transport failure as Locust's failure table shows the native client's: the exception's repr.
fn locust_error(err: &HttpError) -> String {
    let kind = match err {
        HttpError::ConnectionRefused => "ConnectionRefusedError",
        HttpError::ConnectionReset(_) => "ConnectionResetError",
        HttpError::Timeout(_) | HttpError::ConnectTimeout => "TimeoutError",
        HttpError::Connect(_) | HttpError::Resolve(_) | HttpError::Proxy(_) => "ConnectionError",
        HttpError::Protocol(_) | HttpError::TooManyRedirects(_) | HttpError::TooLarge(_) => "InvalidResponseError",
        HttpError::InvalidUrl(_)
        | HttpError::UnsupportedScheme(_)
        | HttpError::InvalidHeader(_)
        | HttpError::TlsFile(_) => "ValueError",
    };
    let message = err.to_string();
    // as Python's repr quotes a string
    if message.contains('\'') && !message.contains('"') {
        format!("{kind}(\"{message}\")")
    } else {
        format!("{kind}('{}')", message.replace('\'', "\\'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_bodies_are_make_items_shape_and_size() {
        for (arrival, stamp, item_bytes, priority) in [
            (0, Ok([1, 0, 0, 1_765_065_600_000_000]), 100_usize, 0),
            (0x1234_5678_9abc, Ok([7, 123_456, 3, 1_765_065_600_123_456]), 1000, 3),
            (5, Err(1_765_065_600_000_001), 100, 1),
            (6, Ok([1, 6, 0, 1]), 10, 0), // an item bigger than asked: no padding
        ] {
            // the reference: what the driver sent before bodies were written in one pass
            let stamp_text = match stamp {
                Ok([producer, seq, marked, pushed]) => format!(r#""_pp":[{producer},{seq},{marked},{pushed}]"#),
                Err(now) => format!(r#""seq":{arrival},"timestamp":{now}"#),
            };
            let frame = format!(r#"{{"id":"{arrival:012x}",{stamp_text},"data":""}}"#);
            let padding = "x".repeat(item_bytes.saturating_sub(frame.len()));
            let expected = format!(
                r#"{{"item":{{"id":"{arrival:012x}",{stamp_text},"data":"{padding}"}},"priority":{priority}}}"#
            );
            let body = push_body(arrival, stamp, item_bytes, priority);
            assert_eq!(body, expected);
            let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(parsed["priority"], priority);
            if item_bytes > frame.len() {
                assert_eq!(serde_json::to_string(&parsed["item"]).unwrap().len(), item_bytes);
            }
        }
    }

    #[test]
    fn latencies_count_from_the_arrivals_own_time_and_never_below_the_send() {
        let intended = Instant::now() + Duration::from_millis(10);
        // sent 30 µs late (a batch's last, a busy driver): corrected from the intended time, 30 µs late
        let sent = intended + Duration::from_micros(30);
        assert_eq!(timing(intended, sent), (intended, Duration::from_micros(30)));
        // sent 20 µs ahead by a batch: from the send, not late
        let sent = intended.checked_sub(Duration::from_micros(20)).unwrap();
        assert_eq!(timing(intended, sent), (sent, Duration::ZERO));
        assert_eq!(timing(intended, intended), (intended, Duration::ZERO));
    }

    #[test]
    fn errors_read_as_the_native_clients() {
        assert_eq!(
            locust_error(&HttpError::ConnectionRefused),
            "ConnectionRefusedError('connection refused')"
        );
        assert_eq!(
            locust_error(&HttpError::Timeout(Duration::from_secs(1))),
            "TimeoutError('timed out after 1000 ms')"
        );
        assert_eq!(
            locust_error(&HttpError::TooLarge(64)),
            "InvalidResponseError(\"response larger than 64 MiB, the client's limit\")"
        );
    }
}
