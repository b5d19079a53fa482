//! The history as the rest of the analyzer sees it: per series, a summary and a timeline of at most `BUCKETS`
//! points.

use serde::Serialize;

use crate::analyze::locust_csv::is_aggregated;

/// One (method, name) over time: its summary, and its timeline in at most `BUCKETS` points (per second for runs
/// up to that many seconds; otherwise each point averages the rates and keeps the largest latencies and users of
/// its bucket). NaN where Locust wrote `N/A`.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub method: String,
    pub name: String,
    pub summary: SeriesSummary,
    /// Unix seconds.
    pub timestamps: Vec<f64>,
    pub users: Vec<f64>,
    /// Locust's "current" rates: averages over its last ~10 seconds, not per-second counts.
    pub rps: Vec<f64>,
    pub fail_rps: Vec<f64>,
    pub p50_ms: Vec<f64>,
    pub p95_ms: Vec<f64>,
    pub p99_ms: Vec<f64>,
}

impl Series {
    #[must_use]
    pub fn is_aggregated(&self) -> bool {
        is_aggregated(&self.method, &self.name)
    }
}

#[derive(Debug, Clone, Default)]
pub struct History {
    pub series: Vec<Series>,
}

impl History {
    #[must_use]
    pub fn aggregated(&self) -> Option<&Series> {
        self.series.iter().find(|s| s.is_aggregated())
    }

    /// Whether rows per endpoint are there (Locust's `--csv-full-history`), not only the total.
    #[must_use]
    pub fn per_endpoint(&self) -> bool {
        self.series.iter().any(|s| !s.is_aggregated())
    }

    #[must_use]
    pub fn rows(&self) -> usize {
        self.series.iter().map(|s| s.summary.rows).sum()
    }

    #[must_use]
    pub fn summaries(&self) -> Vec<SeriesSummary> {
        self.series.iter().map(|s| s.summary.clone()).collect()
    }
}

/// What a timeline says in a few figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SeriesSummary {
    pub method: String,
    pub name: String,
    pub rows: usize,
    pub first_timestamp: Option<f64>,
    pub last_timestamp: Option<f64>,
    pub peak_users: Option<f64>,
    pub mean_rps: Option<f64>,
    pub max_rps: Option<f64>,
    pub mean_fail_rps: Option<f64>,
    pub max_fail_rps: Option<f64>,
    pub max_p95_ms: Option<f64>,
    pub max_p99_ms: Option<f64>,
    pub total_requests: Option<u64>,
    pub total_failures: Option<u64>,
}
