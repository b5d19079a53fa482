use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// How the stored count was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verification {
    /// The queues' depths (`GET /queue/{id}/stats`) before and after match the acknowledged pushes.
    Stats,
    /// The target has no depth extension (or verification was turned off): the count of acknowledged pushes.
    Acknowledged,
}

impl Verification {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stats => "stats",
            Self::Acknowledged => "acknowledged",
        }
    }
}

/// What a finished prepopulation did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The target, without any password.
    pub host: String,
    pub queues: Vec<String>,
    pub items_per_queue: u64,
    /// Items over all queues.
    pub requested: u64,
    /// Pushes the service acknowledged.
    pub pushed: u64,
    pub per_queue: BTreeMap<String, u64>,
    pub by_priority: BTreeMap<u32, u64>,
    /// Attempts beyond the first, over all pushes.
    pub retried: u64,
    /// Per queue (only queues that have some), the sequence numbers of pushes retried after an attempt whose
    /// outcome was unknown (a timeout, a connection lost after sending): each may be in its queue twice.
    pub uncertain: BTreeMap<String, Vec<u64>>,
    /// Seconds from the first push to the last answer.
    pub elapsed: f64,
    /// Acknowledged pushes per second over `elapsed`.
    pub rate: f64,
    pub verified: bool,
    pub verification: Verification,
    /// Depth of each queue after the run, from the target's stats (None without them).
    pub depths: Option<BTreeMap<String, u64>>,
    /// The marker's producer id of every item pushed.
    pub producer: u64,
    /// `small`, `medium` or `large`.
    pub size: String,
    pub connections: usize,
}

impl Report {
    /// Pretty-printed JSON, as `--json` writes it.
    ///
    /// # Panics
    /// Never: a report is plain data.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report is plain data")
    }
}

/// Where a run is, for a progress display. `elapsed` counts from the first push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Acknowledged pushes so far.
    pub done: u64,
    pub total: u64,
    /// Retries so far.
    pub retried: u64,
    pub elapsed: Duration,
}
