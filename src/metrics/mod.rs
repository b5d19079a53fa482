//! Prometheus's text exposition of a run's exact state: latency histograms per endpoint in log-linear buckets
//! drawn from the HDR histograms, requests, failures and items, the integrity ledger's figures, the open model's
//! schedule counters and the resource monitor's latest sample. The Python side only serves the text.

mod buckets;
mod exposition;

pub use buckets::{bucket_bounds, bucket_width};
pub use exposition::{render, Exposition, OpenModelRun, CONTENT_TYPE};
