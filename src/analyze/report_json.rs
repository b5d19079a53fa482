//! The machine-readable report, format `pushpop-load-analysis` version 1 (documented in docs/ANALYZE.md).

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::baseline::Comparison;
use super::history::SeriesSummary;
use super::locust_csv::{ExceptionRow, FailureRow, LocustRow};
use super::model::{Endpoint, InputFile, Source};
use super::report::Report;
use super::threshold::Verdict;

pub const ANALYSIS_FORMAT: &str = "pushpop-load-analysis";
pub const ANALYSIS_VERSION: u32 = 1;

// Structs rather than json!() so the keys keep the documented order.
#[derive(Serialize)]
struct Document<'a> {
    format: &'static str,
    version: u32,
    prefix: &'a str,
    passed: bool,
    summary: String,
    duration_s: Option<f64>,
    inputs: Inputs<'a>,
    endpoints: Vec<JsonEndpoint<'a>>,
    total: JsonEndpoint<'a>,
    failures: &'a [FailureRow],
    exceptions: &'a [ExceptionRow],
    timeline: Timeline,
    integrity: Option<&'a Map<String, Value>>,
    scenario: Option<&'a Map<String, Value>>,
    resources: Option<Value>,
    notes: &'a [String],
    thresholds: &'a [Verdict],
    baseline: Option<&'a Comparison>,
}

#[derive(Serialize)]
struct Inputs<'a> {
    used: &'a [InputFile],
    lacking: &'a [InputFile],
}

#[derive(Serialize)]
struct Sources {
    counts: Source,
    latency: Source,
}

#[derive(Serialize)]
struct Latency<'a> {
    min: Option<f64>,
    mean: Option<f64>,
    max: Option<f64>,
    p50: Option<f64>,
    p95: Option<f64>,
    p99: Option<f64>,
    percentiles: &'a [(f64, Option<f64>)],
}

#[derive(Serialize)]
struct JsonEndpoint<'a> {
    method: &'a str,
    name: &'a str,
    requests: u64,
    failures: u64,
    fail_ratio: f64,
    rps: Option<f64>,
    fail_rps: Option<f64>,
    items: Option<u64>,
    items_per_s: Option<f64>,
    sources: Sources,
    latency_ms: Latency<'a>,
    locust: Option<&'a LocustRow>,
}

#[derive(Serialize)]
struct Timeline {
    history: Option<Vec<SeriesSummary>>,
    intervals: Option<Vec<Value>>,
}

fn endpoint(e: &Endpoint) -> JsonEndpoint<'_> {
    JsonEndpoint {
        method: &e.method,
        name: &e.name,
        requests: e.requests,
        failures: e.failures,
        fail_ratio: e.fail_ratio(),
        rps: e.rps,
        fail_rps: e.fail_rps,
        items: e.items,
        items_per_s: e.items_per_s,
        sources: Sources {
            counts: e.counts_source,
            latency: e.latency_source,
        },
        latency_ms: Latency {
            min: e.min_ms,
            mean: e.mean_ms,
            max: e.max_ms,
            p50: e.percentile(50.0),
            p95: e.percentile(95.0),
            p99: e.percentile(99.0),
            percentiles: &e.percentiles,
        },
        locust: e.locust.as_ref(),
    }
}

#[must_use]
pub fn render(report: &Report<'_>) -> String {
    let a = report.analysis;
    let max = |values: &[f64]| values.iter().copied().filter(|v| !v.is_nan()).reduce(f64::max);
    let intervals = a.intervals.as_ref().map(|all| {
        all.iter()
            .map(|s| {
                json!({
                    "method": s.method,
                    "name": s.name,
                    "seconds": s.timestamps.len(),
                    "requests": s.requests.iter().filter(|v| !v.is_nan()).sum::<f64>(),
                    "max_p99_ms": max(&s.p99_ms),
                    "max_ms": max(&s.max_ms),
                })
            })
            .collect()
    });
    let document = Document {
        format: ANALYSIS_FORMAT,
        version: ANALYSIS_VERSION,
        prefix: &a.prefix,
        passed: report.passed(),
        summary: report.summary(),
        duration_s: a.duration_s,
        inputs: Inputs {
            used: &a.used,
            lacking: &a.lacking,
        },
        endpoints: a.endpoints.iter().map(endpoint).collect(),
        total: endpoint(&a.total),
        failures: &a.failures,
        exceptions: &a.exceptions,
        timeline: Timeline {
            history: a.history.as_ref().map(super::history::History::summaries),
            intervals,
        },
        integrity: a.integrity.as_ref(),
        scenario: a.scenario.as_ref(),
        resources: a.resources.as_ref().map(|r| {
            json!({
                "samples": r.timestamps.len(),
                "series": r.series.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            })
        }),
        notes: &a.notes,
        thresholds: &report.verdicts,
        baseline: report.comparison.as_ref(),
    };
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}
