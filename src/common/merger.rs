//! A master's merges on a thread of their own: Locust's master runs its message loop, heartbeats included, on one
//! gevent hub, and a report's delta decoded and merged there is time no heartbeat is answered in (the exact
//! histograms' 1–2 ms, the integrity ledger's 16.5 ms as JSON: docs/BENCHMARKS.md). The hub only checks a delta's
//! format and hands the bytes over; readers wait for the merges queued before they asked, so what they see is exact.
//! `crate::stats::Merger` and `crate::integrity::Merger` are this, each over its own state and wire format.

use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

/// State that merges binary deltas from other processes.
pub trait Absorb: Send + 'static {
    /// A delta read from its bytes, ready to merge.
    type Decoded;
    type Error: Send + 'static;
    /// Refuses bytes of another format or version at once, without reading the rest.
    fn check_format(bytes: &[u8]) -> Result<(), Self::Error>;
    /// Reads a delta (outside the state's lock: the hub recording meanwhile waits only for the merge itself).
    fn decode(bytes: &[u8]) -> Result<Self::Decoded, Self::Error>;
    fn absorb_decoded(&mut self, decoded: Self::Decoded) -> Result<(), Self::Error>;
}

/// Deltas a master holds for its merge thread at most: beyond them the hub waits (a busy worker's histograms are
/// about 0.25 MB, its ledger's a tenth of that, so 8 MB). A master whose merge thread falls behind (500 simulated
/// workers on a starved core grew to 2.8 GB) then falls behind visibly, its heartbeats late, as it would merging on
/// the hub, instead of growing without bound.
pub const MAX_PENDING: usize = 32;

/// Deltas waiting for the merge thread, and the first one it could not read.
struct Queue<E> {
    pending: usize,
    failed: Option<E>,
}

/// The state a master merges into, and its merge thread (started at the first delta).
pub struct Merger<T: Absorb> {
    state: Arc<Mutex<T>>,
    queue: Arc<(Mutex<Queue<T::Error>>, Condvar)>,
    sender: Mutex<Option<Sender<Vec<u8>>>>,
}

impl<T: Absorb + Default> Default for Merger<T> {
    fn default() -> Self {
        Self::new(Arc::default())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // every merge completes or fails before changing anything that matters: a poisoned lock is usable
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T: Absorb> Merger<T> {
    /// A merger into `state`, which other code may also hold (and record into).
    pub fn new(state: Arc<Mutex<T>>) -> Self {
        Self {
            state,
            queue: Arc::new((
                Mutex::new(Queue {
                    pending: 0,
                    failed: None,
                }),
                Condvar::new(),
            )),
            sender: Mutex::new(None),
        }
    }

    /// The state itself, shared.
    pub fn shared(&self) -> Arc<Mutex<T>> {
        Arc::clone(&self.state)
    }

    /// The state, once every delta queued so far is merged.
    pub fn merged(&self) -> MutexGuard<'_, T> {
        self.wait_idle();
        lock(&self.state)
    }

    /// The state as it is, merges still queued or not (for recording, which does not read).
    pub fn current(&self) -> MutexGuard<'_, T> {
        lock(&self.state)
    }

    /// Blocks until every delta queued so far is merged.
    pub fn wait_idle(&self) {
        let (queue, changed) = &*self.queue;
        let mut state = lock(queue);
        while state.pending > 0 {
            state = changed.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Queues a delta's bytes for the merge thread, waiting while `MAX_PENDING` are queued. A delta of another
    /// format is refused here, at once; one that turns out damaged is reported by the next call (its content is
    /// not merged).
    pub fn queue(&self, bytes: Vec<u8>) -> Result<(), T::Error> {
        T::check_format(&bytes)?;
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
            let result = T::decode(&unsent.0).and_then(|delta| lock(&self.state).absorb_decoded(delta));
            finished(&self.queue, None);
            result?;
        }
        failed.map_or(Ok(()), Err)
    }

    fn start(&self) -> Sender<Vec<u8>> {
        let (sender, receiver) = channel::<Vec<u8>>();
        let state = Arc::clone(&self.state);
        let queue = Arc::clone(&self.queue);
        thread::Builder::new()
            .name("pushpop-merge".to_owned())
            .spawn(move || {
                for bytes in receiver {
                    let result = T::decode(&bytes).and_then(|delta| lock(&state).absorb_decoded(delta));
                    finished(&queue, result.err());
                }
            })
            .expect("a thread can be started");
        sender
    }
}

/// One queued delta is merged (or failed): wakes the readers waiting for none and the hub waiting for room.
fn finished<E>(queue: &(Mutex<Queue<E>>, Condvar), failed: Option<E>) {
    let (state, changed) = queue;
    let mut state = lock(state);
    if let Some(err) = failed {
        state.failed.get_or_insert(err);
    }
    state.pending -= 1;
    changed.notify_all();
}
