//! The integrity ledger for Python: one per process, shared by every user greenlet, behind a mutex. The calls are
//! a microsecond or a few, so they keep the GIL rather than pay for releasing it. Deltas cross process boundaries
//! as one byte string each (`crate::integrity::wire`), merged on the master's merge thread; readers wait for the
//! merges queued before them.

use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::errors::integrity_error;
use super::json::to_python;
use crate::integrity::{wire, Ledger, Marker as Stamp, Merger};

/// The `_pp` field of a pushed item: who pushed it, as which of their items, at which priority, and when.
#[pyclass(frozen, module = "pushpop_load._native", name = "Marker")]
pub struct Marker(Stamp);

#[pymethods]
impl Marker {
    #[getter]
    fn producer(&self) -> u64 {
        self.0.producer
    }

    /// The item's number among its producer's pushes to its queue: 0, 1, 2, …
    #[getter]
    fn seq(&self) -> u64 {
        self.0.seq
    }

    #[getter]
    fn priority(&self) -> u64 {
        self.0.priority
    }

    /// Unix time of the push, in microseconds.
    #[getter]
    fn push_us(&self) -> u64 {
        self.0.push_us
    }

    /// `[producer, seq, priority, push_us]`: the item's `"_pp"` value as it goes on the wire.
    fn wire(&self) -> [u64; 4] {
        self.0.values()
    }

    fn __repr__(&self) -> String {
        let [producer, seq, priority, push_us] = self.0.values();
        format!("Marker(producer={producer}, seq={seq}, priority={priority}, push_us={push_us})")
    }
}

/// Markers out, acknowledgements and pops in, a report at the end; see docs/INTEGRITY.md.
#[pyclass(frozen, module = "pushpop_load._native", name = "IntegrityLedger")]
#[derive(Default)]
pub struct IntegrityLedger(Merger);

impl IntegrityLedger {
    /// The ledger itself, for Rust code that records into it from another thread (the open-model driver).
    pub fn shared(&self) -> Arc<Mutex<Ledger>> {
        self.0.shared()
    }

    /// The figures so far, before any drain (the metrics text), with every queued delta merged.
    pub fn live_report(&self) -> crate::integrity::Report {
        self.read().report(false)
    }

    /// The ledger as it is, for recording (a worker's calls; no merges are queued there).
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.0.current()
    }

    /// The ledger with every delta queued for the merge thread merged: what readers see.
    fn read(&self) -> MutexGuard<'_, Ledger> {
        self.0.merged()
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

    /// The marker of the next item `producer` pushes to `queue`.
    fn marker(&self, queue: &str, producer: u64, priority: u64) -> Marker {
        Marker(self.ledger().marker(queue, producer, priority))
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
        self.read().queues()
    }

    /// The mergeable state since the last call, as bytes (`crate::integrity::wire`): what a worker sends its master.
    fn take_delta<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let delta = self.ledger().take_delta();
        PyBytes::new(py, &wire::encode(&delta))
    }

    /// Queues a delta made by `take_delta` in another process for the merge thread (waiting while it is
    /// `MAX_PENDING` behind); readers see it merged. A `ValueError` for a delta of another format (at once) or one
    /// that could not be read (at the next call).
    fn absorb(&self, py: Python<'_>, delta: &[u8]) -> PyResult<()> {
        let bytes = delta.to_vec();
        // without the GIL: with the merge thread behind, this waits for room in its queue
        py.detach(|| self.0.queue(bytes)).map_err(|err| integrity_error(&err))
    }

    /// Returns once every delta queued by `absorb` is merged (the GIL released meanwhile).
    fn wait_merged(&self, py: Python<'_>) {
        py.detach(|| self.0.wait_idle());
    }

    /// The report (docs/INTEGRITY.md).
    fn report<'py>(&self, py: Python<'py>, drained: bool) -> PyResult<Bound<'py, PyAny>> {
        let report = self.read().report(drained);
        to_python(py, &report)
    }

    fn summary_text(&self, drained: bool) -> String {
        self.read().summary_text(drained)
    }

    fn clear(&self) {
        self.read().clear();
    }
}
