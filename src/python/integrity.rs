//! The integrity ledger for Python: one per process, shared by every user greenlet, behind a mutex. The calls are
//! a microsecond or a few, so they keep the GIL rather than pay for releasing it.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use pyo3::prelude::*;

use super::errors::integrity_error;
use crate::integrity::{Ledger, Snapshot};

/// Markers out, acknowledgements and pops in, a report at the end; see docs/INTEGRITY.md.
#[pyclass(frozen, module = "pushpop_load._native", name = "IntegrityLedger")]
#[derive(Default)]
pub struct IntegrityLedger(Arc<Mutex<Ledger>>);

impl IntegrityLedger {
    /// The ledger itself, for Rust code that records into it from another thread (the open-model driver).
    pub fn shared(&self) -> Arc<Mutex<Ledger>> {
        Arc::clone(&self.0)
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // every mutation completes or panics before changing anything that matters: a poisoned lock is usable
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[pymethods]
impl IntegrityLedger {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// A producer id unique across processes and machines, below 2^53.
    #[staticmethod]
    fn new_producer() -> u64 {
        Ledger::new_producer()
    }

    /// `[producer, seq, priority, push_us]` for the next item `producer` pushes to `queue`.
    fn marker(&self, queue: &str, producer: u64, priority: u64) -> [u64; 4] {
        self.ledger().marker(queue, producer, priority)
    }

    fn acked(&self, queue: &str, producer: u64, seq: u64) {
        self.ledger().acked(queue, producer, seq);
    }

    fn rejected(&self, queue: &str, producer: u64, seq: u64) {
        self.ledger().rejected(queue, producer, seq);
    }

    fn indeterminate(&self, queue: &str, producer: u64, seq: u64) {
        self.ledger().indeterminate(queue, producer, seq);
    }

    fn retried(&self, queue: &str, producer: u64, seq: u64) {
        self.ledger().retried(queue, producer, seq);
    }

    fn acked_range(&self, queue: &str, producer: u64, start: u64, end: u64) -> PyResult<()> {
        self.ledger()
            .acked_range(queue, producer, start, end)
            .map_err(|err| integrity_error(&err))
    }

    /// A pop of up to `depth` items whose answer will never be read (the user was stopped while it waited).
    fn interrupted_pop(&self, queue: &str, depth: u64) {
        self.ledger().interrupted_pop(queue, depth);
    }

    /// No order check for `producer`'s items (another process stored them concurrently).
    fn exempt_from_order(&self, producer: u64) {
        self.ledger().exempt_from_order(producer);
    }

    /// Checks one pop answer; returns how many items it held. `ValueError` for a body in neither shape.
    fn check_pop(&self, queue: &str, body: &[u8], start_us: u64, end_us: u64) -> PyResult<usize> {
        self.ledger()
            .check_pop(queue, body, start_us, end_us)
            .map_err(|err| integrity_error(&err))
    }

    fn queues(&self) -> Vec<String> {
        self.ledger().queues()
    }

    /// The mergeable state since the last call, as JSON: what a worker sends its master.
    fn take_delta_json(&self) -> String {
        let delta = self.ledger().take_delta();
        delta.to_json()
    }

    /// Merges a delta made by `take_delta_json` in another process.
    fn absorb_json(&self, delta: &str) -> PyResult<()> {
        let snapshot = Snapshot::from_json(delta).map_err(|err| integrity_error(&err))?;
        self.ledger().absorb(&snapshot).map_err(|err| integrity_error(&err))
    }

    fn report_json(&self, drained: bool) -> String {
        let report = self.ledger().report(drained);
        serde_json::to_string(&report).expect("a report is plain data")
    }

    fn summary_text(&self, drained: bool) -> String {
        self.ledger().summary_text(drained)
    }

    fn clear(&self) {
        self.ledger().clear();
    }
}
