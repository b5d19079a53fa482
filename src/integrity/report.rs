//! The verdict at the end of a run: counts, a few examples of each violation, and push-to-pop times. Its JSON is
//! `<csv prefix>_integrity.json`, documented in docs/INTEGRITY.md.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::snapshot::Example;

pub const REPORT_VERSION: u32 = 1;

/// Up to `MAX_EXAMPLES` instances of each violation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Examples {
    pub lost: Vec<Example>,
    pub duplicated: Vec<Example>,
    pub out_of_order: Vec<Example>,
    pub priority_inversions: Vec<Example>,
    pub foreign: Vec<Example>,
    pub popped_rejected: Vec<Example>,
}

/// Time items of one priority spent in the queue, from the push's marker to the end of the pop that returned them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub priority: u64,
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub version: u32,
    /// No lost (when drained), duplicated, out-of-order, inverted, foreign or popped-but-rejected items.
    pub ok: bool,
    /// Whether the queues were drained at the end, so that an acknowledged item not popped is lost.
    pub drained: bool,
    pub queues: u64,
    pub producers: u64,
    /// Pushes answered with success (prepopulated ranges included).
    pub acknowledged: u64,
    /// Pushes whose outcome is unknown (timeout, reset, 5xx) and that were not acknowledged on a retry.
    pub indeterminate: u64,
    /// Pushes refused for certain (4xx): not stored.
    pub rejected: u64,
    /// Items the checked pops returned, copies and foreign items included.
    pub popped: u64,
    /// Indeterminate pushes that were popped: they had been stored.
    pub popped_indeterminate: u64,
    /// Rejected pushes that were popped anyway: the server stored what it refused.
    pub popped_rejected: u64,
    /// Second copies of retried pushes (an unknown outcome, then a success): tolerated, not duplicates.
    pub retried_copies: u64,
    /// Pops whose answer was never read (Locust stopped the user mid-pop).
    pub interrupted_pops: u64,
    /// Acknowledged items never seen popped, in queues with interrupted pops, up to those pops' depths: the
    /// service may have handed them to a pop nobody read. Not counted as lost (nor as unpopped).
    pub taken_by_interrupted_pops: u64,
    /// Acknowledged items never popped (beyond what interrupted pops may have taken).
    pub unpopped: u64,
    /// `unpopped` when drained; `None` (JSON null) when not, as an unpopped item may still be queued.
    pub lost: Option<u64>,
    /// Deliveries beyond the first of an item (tolerated retry copies excepted).
    pub duplicated: u64,
    pub out_of_order: u64,
    pub priority_inversions: u64,
    /// Popped items without a marker, with a producer that never pushed to that queue, or with a seq it never sent.
    pub foreign: u64,
    pub examples: Examples,
    pub push_to_pop: Vec<Latency>,
}

impl Report {
    /// The human summary the Locust listener prints.
    #[must_use]
    pub fn summary_text(&self) -> String {
        self.to_string()
    }
}

fn write_examples(f: &mut fmt::Formatter<'_>, what: &str, examples: &[Example]) -> fmt::Result {
    if examples.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = examples
        .iter()
        .take(3)
        .map(|example| match (example.producer, example.seq) {
            (Some(producer), Some(seq)) => format!("{} producer {producer} seq {seq}", example.queue),
            _ => format!("{} (no marker)", example.queue),
        })
        .collect();
    write!(f, "\n  e.g. {what}: {}", shown.join("; "))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.ok { "OK" } else { "VIOLATIONS FOUND" };
        write!(
            f,
            "Queue integrity: {verdict} ({} queues, {} producers{})",
            self.queues,
            self.producers,
            if self.drained { ", drained" } else { ", not drained" }
        )?;
        write!(
            f,
            "\n  pushed: {} acknowledged, {} indeterminate, {} rejected",
            self.acknowledged, self.indeterminate, self.rejected
        )?;
        write!(
            f,
            "\n  popped: {} items ({} of indeterminate pushes, {} tolerated retry copies, {} of rejected pushes)",
            self.popped, self.popped_indeterminate, self.retried_copies, self.popped_rejected
        )?;
        if self.interrupted_pops > 0 {
            write!(
                f,
                "\n  interrupted pops: {} (users stopped mid-pop), which may have taken {} item(s)",
                self.interrupted_pops, self.taken_by_interrupted_pops
            )?;
        }
        match self.lost {
            Some(lost) => write!(f, "\n  lost: {lost}")?,
            None => write!(f, "\n  unpopped: {} (not drained: lost unknown)", self.unpopped)?,
        }
        write!(
            f,
            "   duplicated: {}   out of order: {}   priority inversions: {}   foreign: {}",
            self.duplicated, self.out_of_order, self.priority_inversions, self.foreign
        )?;
        if self.lost.is_some() {
            write_examples(f, "lost", &self.examples.lost)?;
        }
        write_examples(f, "duplicated", &self.examples.duplicated)?;
        write_examples(f, "out of order", &self.examples.out_of_order)?;
        write_examples(f, "priority inversions", &self.examples.priority_inversions)?;
        write_examples(f, "foreign", &self.examples.foreign)?;
        write_examples(f, "popped though rejected", &self.examples.popped_rejected)?;
        for latency in &self.push_to_pop {
            write!(
                f,
                "\n  push-to-pop, priority {}: {} items, mean {:.1} ms, p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1} ms",
                latency.priority,
                latency.count,
                latency.mean_ms,
                latency.p50_ms,
                latency.p90_ms,
                latency.p99_ms,
                latency.max_ms
            )?;
        }
        Ok(())
    }
}
