//! The queue integrity checker: every pushed item carries a marker `_pp: [producer, seq, priority, push_us]`, every
//! pop is checked (duplicates, foreign items, FIFO order per producer and priority, priority inversions, time in
//! the queue), and the report says what was lost, duplicated or reordered. Jepsen's queue checks at load-test
//! rates; the JSON report is described in docs/INTEGRITY.md.

mod error;
mod ledger;
mod merger;
mod order;
mod pop;
mod producer;
mod report;
mod seqset;
mod snapshot;
pub mod wire;

pub use error::{IntegrityError, Result};
pub use ledger::{now_us, Ledger};
pub use merger::Merger;
pub use pop::{parse_pop, Marker};
pub use producer::{new_producer, MARKER_LIMIT};
pub use report::{Examples, Latency, Report, REPORT_VERSION};
pub use seqset::SeqSet;
pub use snapshot::{Example, LatencySnapshot, ProducerSnapshot, QueueSnapshot, Snapshot, MAX_EXAMPLES};
