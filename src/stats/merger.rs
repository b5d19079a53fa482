//! A master's merges on a thread of their own: Locust's master runs its message loop, heartbeats included, on one
//! gevent hub, and a report's delta decoded and merged there (1–2 ms each, 200 workers sending one every 3 s) is
//! time no heartbeat is answered in. The hub only hands the bytes over; readers wait for the merges queued before
//! they asked, so what they see is exact.

use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use super::error::{Result, StatsError};
use super::exact::ExactStats;
use super::wire;

/// Deltas a master holds for its merge thread at most: beyond them the hub waits (a busy worker's delta is about
/// 0.25 MB, so 8 MB). A master whose merge thread falls behind (500 simulated workers on a starved core grew to 2.8 GB)
/// then falls behind visibly, its heartbeats late, as it would merging on the hub, instead of growing without bound.
pub const MAX_PENDING: usize = 32;

/// Deltas waiting for the merge thread, and the first one it could not read.
#[derive(Default)]
struct Queue {
    pending: usize,
    failed: Option<StatsError>,
}

/// The statistics a master merges into, and its merge thread (started at the first delta).
#[derive(Default)]
pub struct Merger {
    stats: Arc<Mutex<ExactStats>>,
    queue: Arc<(Mutex<Queue>, Condvar)>,
    sender: Mutex<Option<Sender<Vec<u8>>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Merger {
    /// The statistics, once every delta queued so far is merged.
    pub fn stats(&self) -> MutexGuard<'_, ExactStats> {
        self.wait_idle();
        lock(&self.stats)
    }

    /// The statistics as they are, merges still queued or not (for recording, which does not read).
    pub fn stats_now(&self) -> MutexGuard<'_, ExactStats> {
        lock(&self.stats)
    }

    /// Blocks until every delta queued so far is merged.
    pub fn wait_idle(&self) {
        let (queue, changed) = &*self.queue;
        let mut state = lock(queue);
        while state.pending > 0 {
            state = changed.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Queues a delta's bytes (`wire::encode`) for the merge thread, waiting while `MAX_PENDING` are queued. A delta
    /// of another format is refused here, at once; one that turns out damaged is reported by the next call (its
    /// samples are not merged).
    pub fn queue(&self, bytes: Vec<u8>) -> Result<()> {
        wire::check_format(&bytes)?;
        let failed = {
            let (queue, changed) = &*self.queue;
            let mut state = lock(queue);
            while state.pending >= MAX_PENDING {
                state = changed.wait(state).unwrap_or_else(PoisonError::into_inner);
            }
            state.pending += 1;
            state.failed.take()
        };
        let mut sender = lock(&self.sender);
        let sender = sender.get_or_insert_with(|| self.start());
        if let Err(unsent) = sender.send(bytes) {
            // the thread is gone (it cannot panic on a delta, but if it did): merge here rather than lose it
            let result = wire::decode(&unsent.0).and_then(|delta| lock(&self.stats).absorb_wire(delta));
            self.done();
            result?;
        }
        failed.map_or(Ok(()), Err)
    }

    fn done(&self) {
        finished(&self.queue, None);
    }

    fn start(&self) -> Sender<Vec<u8>> {
        let (sender, receiver) = channel::<Vec<u8>>();
        let stats = Arc::clone(&self.stats);
        let queue = Arc::clone(&self.queue);
        thread::Builder::new()
            .name("pushpop-merge".to_owned())
            .spawn(move || {
                for bytes in receiver {
                    // decoded outside the lock: recording on the hub waits only for the merge itself
                    let result = wire::decode(&bytes).and_then(|delta| lock(&stats).absorb_wire(delta));
                    finished(&queue, result.err());
                }
            })
            .expect("a thread can be started");
        sender
    }
}

/// One queued delta is merged (or failed): wakes the readers waiting for none and the hub waiting for room.
fn finished(queue: &(Mutex<Queue>, Condvar), failed: Option<StatsError>) {
    let (state, changed) = queue;
    let mut state = lock(state);
    if let Some(err) = failed {
        state.failed.get_or_insert(err);
    }
    state.pending -= 1;
    changed.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_deltas_are_all_seen_by_the_next_reader() {
        let merger = Merger::default();
        let mut one = ExactStats::new();
        for worker in 0..8u32 {
            let mut stats = ExactStats::new();
            for n in 0..2_000u32 {
                let ms = f64::from((n * 7 + worker) % 991) * 0.11;
                stats.record("POST", "push", ms, false);
                one.record("POST", "push", ms, false);
            }
            merger.queue(stats.take_wire()).unwrap();
        }
        assert_eq!(merger.stats().summaries(), one.summaries());
        // more deltas than the queue holds: the caller waits for room, nothing is lost
        let mut many = ExactStats::new();
        for n in 0..3 * MAX_PENDING {
            let ms = f64::from(u8::try_from(n).unwrap());
            let mut stats = ExactStats::new();
            stats.record("GET", "many", ms, false);
            many.record("GET", "many", ms, false);
            merger.queue(stats.take_wire()).unwrap();
        }
        let summaries = merger.stats().summaries();
        assert_eq!(summaries.iter().find(|s| s.name == "many"), many.summaries().first());
        assert!(matches!(
            merger.queue(b"{}".to_vec()),
            Err(StatsError::UnsupportedFormat(1))
        ));
        let mut damaged = one.take_wire();
        damaged.truncate(damaged.len() / 2);
        merger.queue(damaged).unwrap();
        merger.wait_idle();
        // the damage is told at the next delta, which is merged nonetheless
        let mut last = ExactStats::new();
        last.record("GET", "last", 1.0, false);
        assert!(matches!(
            merger.queue(last.take_wire()),
            Err(StatsError::InvalidSnapshot(_))
        ));
        assert_eq!(merger.stats().summaries().len(), 3);
    }
}
