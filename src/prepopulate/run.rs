//! The run: N connections with one push in flight each, on the prepopulator's own runtime, claiming items from one
//! counter so that every queue gets sequence numbers 0..items exactly once.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::config::{PrepopulateConfig, Priorities};
use super::conn::{describe, Connection, Endpoint, Failure, Response};
use super::error::{PrepopulateError, Result};
use super::item::{write_push_body, ItemFields, ID_LENGTH, MARKER_LIMIT};
use super::report::{Progress, Report, Verification};
use super::rng::Rng;

/// First retry after this; each further one waits twice as long, up to `BACKOFF_CAP`, ±25% jitter.
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(5);
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Fills the queues of `config`. `progress` is called about every 100 ms on the calling thread; returning
/// `ControlFlow::Break` stops the run (in-flight pushes finish) with [`PrepopulateError::Interrupted`].
pub fn run(config: &PrepopulateConfig, progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>) -> Result<Report> {
    let url = config.check()?;
    let threads = config
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let mut builder = if threads == 1 {
        // one thread: no work stealing, no cross-thread wake-ups
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(threads);
        builder
    };
    let runtime = builder
        .enable_all()
        .thread_name("pushpop-prepopulate")
        .build()
        .map_err(PrepopulateError::Runtime)?;
    runtime.block_on(fill(config, &url, progress))
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_micros()).unwrap_or(u64::MAX))
        .min(MARKER_LIMIT - 1)
}

/// A connection that reconnects when needed, each attempt bounded by `timeout` in all.
struct Link {
    endpoint: Arc<Endpoint>,
    connection: Option<Connection>,
    timeout: Duration,
}

impl Link {
    fn new(endpoint: Arc<Endpoint>, timeout: Duration) -> Self {
        Self {
            endpoint,
            connection: None,
            timeout,
        }
    }

    async fn attempt(&mut self, request: &[u8]) -> std::result::Result<Response, Failure> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let seconds = self.timeout.as_secs_f64();
        let connection = match self.connection.take() {
            Some(connection) if connection.open => connection,
            _ => match tokio::time::timeout_at(deadline, self.endpoint.connect()).await {
                Ok(Ok(connection)) => connection,
                Ok(Err(err)) => return Err(Failure::NotSent(describe(&err))),
                Err(_) => return Err(Failure::NotSent(format!("connect timed out after {seconds} s"))),
            },
        };
        let connection = self.connection.insert(connection);
        if let Ok(result) = tokio::time::timeout_at(deadline, connection.exchange(request)).await {
            result
        } else {
            self.connection = None;
            Err(Failure::Unknown(format!("timed out after {seconds} s")))
        }
    }
}

fn backoff(attempt: u32, rng: &mut Rng) -> Duration {
    let exponential = BACKOFF_BASE.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    exponential.min(BACKOFF_CAP).mul_f64(0.75 + 0.5 * rng.next_f64())
}

/// The `detail` of a FastAPI-style error body, or the start of the body.
fn detail(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Detail {
        detail: serde_json::Value,
    }
    if let Ok(parsed) = serde_json::from_slice::<Detail>(body) {
        if let serde_json::Value::String(text) = parsed.detail {
            return text;
        }
        return parsed.detail.to_string();
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "(empty body)".to_owned()
    } else {
        text.chars().take(200).collect()
    }
}

/// `"success": true` in a push answer, found without parsing the whole body: this runs once per push.
fn confirmed(body: &[u8]) -> bool {
    const KEY: &[u8] = b"\"success\"";
    let Some(at) = body.windows(KEY.len()).position(|window| window == KEY) else {
        return false;
    };
    let rest = &body[at + KEY.len()..];
    let rest = rest.trim_ascii_start();
    rest.strip_prefix(b":")
        .is_some_and(|rest| rest.trim_ascii_start().starts_with(b"true"))
}

/// What every worker reads.
struct Plan {
    endpoint: Arc<Endpoint>,
    queues: Vec<String>,
    total: u64,
    priorities: Priorities,
    size: usize,
    producer: u64,
    retries: u32,
    timeout: Duration,
}

/// What workers share while running.
#[derive(Default)]
struct Shared {
    next: AtomicU64,
    acked: AtomicU64,
    retried: AtomicU64,
    stop: AtomicBool,
    stopped: Notify,
    fault: Mutex<Option<Fault>>,
}

impl Shared {
    /// Records the first fault and stops every worker.
    fn fail(&self, fault: Fault) {
        let mut slot = self.fault.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(fault);
        }
        drop(slot);
        self.halt();
    }

    fn halt(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.stopped.notify_waiters();
    }
}

/// Why a worker stopped the run.
enum Fault {
    Rejected { queue: String, status: u16, detail: String },
    GaveUp { queue: String, attempts: u32, last: String },
}

/// One worker's counts, merged at the end.
struct Tally {
    per_queue: Vec<u64>,
    by_priority: BTreeMap<u32, u64>,
    /// (queue index, seq)
    uncertain: Vec<(usize, u64)>,
}

async fn worker(plan: Arc<Plan>, shared: Arc<Shared>, mut rng: Rng) -> Tally {
    let mut tally = Tally {
        per_queue: vec![0; plan.queues.len()],
        by_priority: BTreeMap::new(),
        uncertain: Vec::new(),
    };
    let mut link = Link::new(Arc::clone(&plan.endpoint), plan.timeout);
    let mut body = Vec::with_capacity(plan.size + 256);
    let mut request = Vec::with_capacity(plan.size + 512);
    let queues = plan.queues.len() as u64;
    while !shared.stop.load(Ordering::Relaxed) {
        let index = shared.next.fetch_add(1, Ordering::Relaxed);
        if index >= plan.total {
            break;
        }
        let queue_index = usize::try_from(index % queues).expect("below the number of queues");
        let queue = &plan.queues[queue_index];
        let seq = index / queues;
        let priority = plan.priorities.of(seq);
        let mut id = [0_u8; ID_LENGTH];
        rng.fill_alphanumeric(&mut id);
        let mut attempts = 0;
        let mut uncertain = false;
        loop {
            attempts += 1;
            body.clear();
            let fields = ItemFields {
                id: &id,
                producer: plan.producer,
                seq,
                priority,
                push_us: now_us(),
            };
            write_push_body(&mut body, &fields, plan.size);
            request.clear();
            plan.endpoint.write_push_head(&mut request, queue, body.len());
            request.extend_from_slice(&body);
            let last = match link.attempt(&request).await {
                Ok(response) if (200..300).contains(&response.status) => {
                    if confirmed(&response.body) {
                        shared.acked.fetch_add(1, Ordering::Relaxed);
                        tally.per_queue[queue_index] += 1;
                        *tally.by_priority.entry(priority).or_insert(0) += 1;
                        break;
                    }
                    let detail = format!("push not confirmed: {}", detail(&response.body));
                    shared.fail(Fault::Rejected {
                        queue: queue.clone(),
                        status: response.status,
                        detail,
                    });
                    break;
                }
                Ok(response) if response.status >= 500 || matches!(response.status, 408 | 429) => {
                    format!("HTTP {}: {}", response.status, detail(&response.body))
                }
                Ok(response) => {
                    let detail = if (300..400).contains(&response.status) {
                        "a redirect: give the final address as the host".to_owned()
                    } else {
                        detail(&response.body)
                    };
                    shared.fail(Fault::Rejected {
                        queue: queue.clone(),
                        status: response.status,
                        detail,
                    });
                    break;
                }
                Err(Failure::NotSent(reason)) => reason,
                Err(Failure::Unknown(reason)) => {
                    uncertain = true;
                    reason
                }
            };
            if attempts > plan.retries {
                shared.fail(Fault::GaveUp {
                    queue: queue.clone(),
                    attempts,
                    last,
                });
                break;
            }
            // registered before the check, so that a stop between the two still wakes the sleep
            let stopped = shared.stopped.notified();
            if shared.stop.load(Ordering::SeqCst) {
                break;
            }
            shared.retried.fetch_add(1, Ordering::Relaxed);
            tokio::select! {
                () = tokio::time::sleep(backoff(attempts, &mut rng)) => {}
                () = stopped => break,
            }
        }
        if uncertain {
            tally.uncertain.push((queue_index, seq));
        }
    }
    tally
}

/// A queue's depth, from the reference target's stats extension.
#[derive(Debug, Clone, Deserialize)]
struct QueueDepth {
    depth: u64,
    #[serde(default)]
    by_priority: BTreeMap<String, u64>,
}

impl QueueDepth {
    fn of_priority(&self, priority: u32) -> u64 {
        self.by_priority.get(&priority.to_string()).copied().unwrap_or(0)
    }
}

/// Each queue's depth, or None when the target has no stats extension (the real service answers 404).
async fn depths(
    link: &mut Link,
    queues: &[String],
    retries: u32,
    stored: u64,
    requested: u64,
) -> Result<Option<Vec<QueueDepth>>> {
    let mut rng = Rng::from_entropy();
    let mut found = Vec::with_capacity(queues.len());
    for queue in queues {
        let request = link.endpoint.stats_request(queue);
        let mut attempts = 0;
        let depth = loop {
            attempts += 1;
            let last = match link.attempt(&request).await {
                Ok(response) if response.status == 200 => match serde_json::from_slice::<QueueDepth>(&response.body) {
                    Ok(depth) => break depth,
                    Err(_) => return Ok(None),
                },
                Ok(response) if response.status >= 500 || matches!(response.status, 408 | 429) => {
                    format!("HTTP {}: {}", response.status, detail(&response.body))
                }
                Ok(_) => return Ok(None),
                Err(failure) => failure.to_string(),
            };
            if attempts > retries {
                return Err(PrepopulateError::GaveUp {
                    what: format!("the depth of queue {queue}"),
                    attempts,
                    last,
                    stored,
                    requested,
                });
            }
            tokio::time::sleep(backoff(attempts, &mut rng)).await;
        };
        found.push(depth);
    }
    Ok(Some(found))
}

/// Depth changes that the acknowledged pushes (plus, at most, a second copy of each uncertain one) explain.
fn check_depths(
    queues: &[String],
    priorities: &Priorities,
    tally: &Tally,
    before: &[QueueDepth],
    after: &[QueueDepth],
) -> std::result::Result<(), String> {
    let mut problems = Vec::new();
    for (index, queue) in queues.iter().enumerate() {
        let acked = tally.per_queue[index];
        let uncertain: Vec<u64> = tally
            .uncertain
            .iter()
            .filter(|(queue_index, _)| *queue_index == index)
            .map(|(_, seq)| *seq)
            .collect();
        let grew = i128::from(after[index].depth) - i128::from(before[index].depth);
        if grew < i128::from(acked) || grew > i128::from(acked) + uncertain.len() as i128 {
            problems.push(format!(
                "queue {queue} grew by {grew}, {acked} pushes were acknowledged"
            ));
            continue;
        }
        // per priority, when the target gives them
        if after[index].by_priority.is_empty() {
            continue;
        }
        let mut expected: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
        for (queue_index, seq) in &tally.uncertain {
            if *queue_index == index {
                expected.entry(priorities.of(*seq)).or_default().1 += 1;
            }
        }
        // a finished run acknowledged sequence numbers 0..acked of every queue
        for (priority, count) in priorities.counts(acked) {
            expected.entry(priority).or_default().0 = count;
        }
        for (priority, (acked, uncertain)) in expected {
            let grew = i128::from(after[index].of_priority(priority)) - i128::from(before[index].of_priority(priority));
            if grew < i128::from(acked) || grew > i128::from(acked + uncertain) {
                problems.push(format!(
                    "priority {priority} of queue {queue} grew by {grew}, {acked} pushes were acknowledged"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} (another client using these queues at the same time changes their depths too)",
            problems.join("; ")
        ))
    }
}

/// Resolves the host and opens the first connection: a host that is not there fails here, before any push.
async fn connect(config: &PrepopulateConfig, url: &url::Url) -> Result<Link> {
    // check() refused credentials in the URL: it can be shown as given
    let shown = config.host.trim().to_owned();
    let unreachable = |reason: String| PrepopulateError::Unreachable {
        host: shown.clone(),
        reason,
    };
    let endpoint = tokio::time::timeout(config.timeout, Endpoint::resolve(url, config.insecure))
        .await
        .map_err(|_| unreachable("timed out resolving the host".to_owned()))?
        .map_err(unreachable)?;
    let mut link = Link::new(Arc::new(endpoint), config.timeout);
    match tokio::time::timeout(config.timeout, link.endpoint.connect()).await {
        Ok(Ok(connection)) => link.connection = Some(connection),
        Ok(Err(err)) => return Err(unreachable(describe(&err))),
        Err(_) => {
            return Err(unreachable(format!(
                "connect timed out after {} s",
                config.timeout.as_secs_f64()
            )))
        }
    }
    Ok(link)
}

/// Runs the workers to the end, calling `progress` meanwhile; returns their tallies and the time they took.
async fn drive(
    plan: &Arc<Plan>,
    shared: &Arc<Shared>,
    workers: u64,
    progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
) -> (Vec<Tally>, Duration, bool) {
    let started = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..workers {
        set.spawn(worker(Arc::clone(plan), Arc::clone(shared), Rng::from_entropy()));
    }
    let snapshot = || Progress {
        done: shared.acked.load(Ordering::Relaxed),
        total: plan.total,
        retried: shared.retried.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    };
    let mut interrupted = false;
    let mut tallies = Vec::new();
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            joined = set.join_next() => match joined {
                Some(Ok(tally)) => tallies.push(tally),
                Some(Err(err)) => std::panic::resume_unwind(err.into_panic()),
                None => break,
            },
            _ = tick.tick() => {
                if progress(&snapshot()).is_break() && !interrupted {
                    interrupted = true;
                    shared.halt();
                }
            }
        }
    }
    let elapsed = started.elapsed();
    let _ = progress(&snapshot());
    (tallies, elapsed, interrupted)
}

fn merge(tallies: Vec<Tally>, queues: usize) -> Tally {
    let mut total = Tally {
        per_queue: vec![0; queues],
        by_priority: BTreeMap::new(),
        uncertain: Vec::new(),
    };
    for tally in tallies {
        for (sum, count) in total.per_queue.iter_mut().zip(tally.per_queue) {
            *sum += count;
        }
        for (priority, count) in tally.by_priority {
            *total.by_priority.entry(priority).or_insert(0) += count;
        }
        total.uncertain.extend(tally.uncertain);
    }
    total.uncertain.sort_unstable();
    total
}

/// The queues' depths after the run, checked against those before.
async fn verify(
    control: &mut Link,
    plan: &Plan,
    total: &Tally,
    before: &[QueueDepth],
    retries: u32,
    stored: u64,
) -> Result<BTreeMap<String, u64>> {
    let requested = plan.total;
    let after = depths(control, &plan.queues, retries, stored, requested)
        .await?
        .ok_or_else(|| PrepopulateError::VerificationFailed {
            details: "the target's queue stats stopped answering".to_owned(),
            stored,
            requested,
        })?;
    check_depths(&plan.queues, &plan.priorities, total, before, &after).map_err(|details| {
        PrepopulateError::VerificationFailed {
            details,
            stored,
            requested,
        }
    })?;
    Ok(plan
        .queues
        .iter()
        .cloned()
        .zip(after.iter().map(|depth| depth.depth))
        .collect())
}

async fn fill(
    config: &PrepopulateConfig,
    url: &url::Url,
    progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
) -> Result<Report> {
    let requested = config.total();
    let mut control = connect(config, url).await?;
    let before = if config.verify {
        depths(&mut control, &config.queues, config.retries, 0, requested).await?
    } else {
        None
    };
    let producer = config
        .producer
        .unwrap_or_else(|| Rng::from_entropy().next_u64() % MARKER_LIMIT);
    let plan = Arc::new(Plan {
        endpoint: Arc::clone(&control.endpoint),
        queues: config.queues.clone(),
        total: requested,
        priorities: config.priorities.clone(),
        size: config.size.bytes(),
        producer,
        retries: config.retries,
        timeout: config.timeout,
    });
    let shared = Arc::new(Shared::default());
    let workers = u64::try_from(config.connections)
        .unwrap_or(u64::MAX)
        .min(requested.max(1));
    let (tallies, elapsed, interrupted) = drive(&plan, &shared, workers, progress).await;
    let stored = shared.acked.load(Ordering::Relaxed);
    let fault = shared.fault.lock().unwrap_or_else(PoisonError::into_inner).take();
    match fault {
        Some(Fault::Rejected { queue, status, detail }) => {
            return Err(PrepopulateError::Rejected {
                queue,
                status,
                detail,
                stored,
                requested,
            })
        }
        Some(Fault::GaveUp { queue, attempts, last }) => {
            let what = format!("a push to queue {queue}");
            return Err(PrepopulateError::GaveUp {
                what,
                attempts,
                last,
                stored,
                requested,
            });
        }
        None if interrupted => return Err(PrepopulateError::Interrupted { stored, requested }),
        None => {}
    }
    let total = merge(tallies, plan.queues.len());
    let (verification, depths) = match before {
        Some(before) => (
            Verification::Stats,
            Some(verify(&mut control, &plan, &total, &before, config.retries, stored).await?),
        ),
        None => (Verification::Acknowledged, None),
    };
    let mut uncertain: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (index, seq) in &total.uncertain {
        uncertain.entry(plan.queues[*index].clone()).or_default().push(*seq);
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = if elapsed.is_zero() {
        0.0
    } else {
        stored as f64 / elapsed.as_secs_f64()
    };
    Ok(Report {
        host: config.host.trim().to_owned(),
        queues: plan.queues.clone(),
        items_per_queue: config.items,
        requested,
        pushed: stored,
        per_queue: plan
            .queues
            .iter()
            .cloned()
            .zip(total.per_queue.iter().copied())
            .collect(),
        by_priority: total.by_priority,
        retried: shared.retried.load(Ordering::Relaxed),
        uncertain,
        elapsed: elapsed.as_secs_f64(),
        rate,
        verified: stored == requested,
        verification,
        depths,
        producer,
        size: config.size.to_string(),
        connections: usize::try_from(workers).unwrap_or(usize::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmation() {
        assert!(confirmed(br#"{"success":true,"message":"Item pushed"}"#));
        assert!(confirmed(br#"{"message": "x", "success" :  true}"#));
        assert!(!confirmed(br#"{"success":false}"#));
        assert!(!confirmed(br"{}"));
        assert!(!confirmed(b""));
    }

    #[test]
    fn details() {
        assert_eq!(
            detail(br#"{"detail": "Priority must be non-negative"}"#),
            "Priority must be non-negative"
        );
        assert_eq!(detail(br#"{"detail": [{"loc": 1}]}"#), r#"[{"loc":1}]"#);
        assert_eq!(detail(b"  Bad Gateway\n"), "Bad Gateway");
        assert_eq!(detail(b""), "(empty body)");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut rng = Rng::from_entropy();
        let first = backoff(1, &mut rng);
        assert!(
            first >= Duration::from_millis(75) && first <= Duration::from_millis(125),
            "{first:?}"
        );
        let third = backoff(3, &mut rng);
        assert!(
            third >= Duration::from_millis(300) && third <= Duration::from_millis(500),
            "{third:?}"
        );
        assert!(backoff(60, &mut rng) <= BACKOFF_CAP.mul_f64(1.25));
    }

    fn depth(total: u64, by: &[(u32, u64)]) -> QueueDepth {
        QueueDepth {
            depth: total,
            by_priority: by.iter().map(|(p, n)| (p.to_string(), *n)).collect(),
        }
    }

    #[test]
    fn depth_checks_allow_uncertain_duplicates_only() {
        let priorities = Priorities::uniform(&[0, 1]).unwrap();
        let queues = vec!["q".to_owned()];
        let tally = Tally {
            per_queue: vec![4],
            by_priority: BTreeMap::new(),
            uncertain: vec![(0, 2)],
        };
        let before = [depth(10, &[(0, 10)])];
        assert!(check_depths(&queues, &priorities, &tally, &before, &[depth(14, &[(0, 12), (1, 2)])]).is_ok());
        // seq 2 (priority 0) may be there twice
        assert!(check_depths(&queues, &priorities, &tally, &before, &[depth(15, &[(0, 13), (1, 2)])]).is_ok());
        let err = check_depths(&queues, &priorities, &tally, &before, &[depth(13, &[(0, 11), (1, 2)])]).unwrap_err();
        assert!(err.contains("grew by 3, 4 pushes"), "{err}");
        // the right total in the wrong priorities
        let err = check_depths(&queues, &priorities, &tally, &before, &[depth(14, &[(0, 11), (1, 3)])]).unwrap_err();
        assert!(err.contains("priority 0"), "{err}");
    }
}
