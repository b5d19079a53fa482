//! What every output format shows: the analysis, the threshold verdicts and the baseline comparison.

use super::baseline::{Baseline, Comparison, Status};
use super::model::{Analysis, Endpoint};
use super::threshold::Verdict;

pub struct Report<'a> {
    pub analysis: &'a Analysis,
    pub verdicts: Vec<Verdict>,
    pub comparison: Option<Comparison>,
    /// The baseline compared with, for charts that overlay it.
    pub baseline: Option<Baseline>,
    /// `pushpop-load check`: the verdicts only, in the text and Markdown formats.
    pub verdicts_only: bool,
}

impl Report<'_> {
    /// All thresholds hold and no endpoint regressed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.ok) && self.comparison.as_ref().is_none_or(|c| c.regressions().is_empty())
    }

    /// "PASS (3 thresholds hold, no regression)" or what failed.
    #[must_use]
    pub fn summary(&self) -> String {
        let failed = self.verdicts.iter().filter(|v| !v.ok).count();
        let mut parts = Vec::new();
        if !self.verdicts.is_empty() {
            parts.push(if failed == 0 {
                let n = self.verdicts.len();
                format!("{n} threshold{} hold{}", plural(n), if n == 1 { "s" } else { "" })
            } else {
                format!(
                    "{failed} of {} threshold{} failed",
                    self.verdicts.len(),
                    plural(self.verdicts.len())
                )
            });
        }
        if let Some(comparison) = &self.comparison {
            let regressions = comparison.regressions().len();
            let noise = comparison
                .endpoints
                .iter()
                .flat_map(|e| &e.metrics)
                .filter(|m| m.status == Status::Noise)
                .count();
            parts.push(match regressions {
                0 => "no regression against the baseline".to_owned(),
                n => format!("{n} regression{} against the baseline", plural(n)),
            });
            if noise > 0 {
                parts.push(format!("{noise} change{} within noise", plural(noise)));
            }
        }
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        if parts.is_empty() {
            format!("{verdict} (nothing to check: no thresholds, no baseline)")
        } else {
            format!("{verdict} ({})", parts.join(", "))
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `12.345`, or "-" when there is no figure.
pub(crate) fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

pub(crate) fn rate(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

pub(crate) fn percent(ratio: f64) -> String {
    format!("{:.2}%", ratio * 100.0)
}

pub(crate) fn signed_percent(ratio: Option<f64>) -> String {
    ratio.map_or_else(String::new, |r| format!("{:+.1}%", r * 100.0))
}

/// The figures of a table row: requests, failure %, req/s, p50, p95, p99, max, items/s, kind.
pub(crate) fn row_cells(endpoint: &Endpoint) -> [String; 10] {
    [
        endpoint.label(),
        endpoint.requests.to_string(),
        percent(endpoint.fail_ratio()),
        rate(endpoint.rps),
        ms(endpoint.percentile(50.0)),
        ms(endpoint.percentile(95.0)),
        ms(endpoint.percentile(99.0)),
        ms(endpoint.max_ms),
        endpoint.items_per_s.map_or_else(String::new, |v| format!("{v:.2}")),
        endpoint.latency_source.as_str().to_owned(),
    ]
}

/// The baseline comparison's columns, and its rows: one per endpoint and metric.
pub(crate) const COMPARISON_HEADER: [&str; 5] = ["Endpoint", "Metric", "Baseline → now", "Status", "Test"];

pub(crate) fn comparison_rows(comparison: &Comparison) -> impl Iterator<Item = Vec<String>> + '_ {
    comparison.endpoints.iter().flat_map(|e| {
        e.metrics.iter().map(move |m| {
            vec![
                e.label(),
                m.metric.to_owned(),
                change(m.metric, m.baseline, m.current, m.relative),
                m.status.as_str().to_owned(),
                m.test.clone(),
            ]
        })
    })
}

pub(crate) const ROW_HEADER: [&str; 10] = [
    "Endpoint", "Requests", "Fail %", "Req/s", "p50 ms", "p95 ms", "p99 ms", "Max ms", "Items/s", "Latency",
];

/// A baseline figure: "12.000 → 13.500 (+12.5%)".
pub(crate) fn change(metric: &str, baseline: Option<f64>, current: Option<f64>, relative: Option<f64>) -> String {
    let show = |v: Option<f64>| match metric {
        "fail_ratio" => v.map_or_else(|| "-".to_owned(), percent),
        "rps" => rate(v),
        _ => ms(v),
    };
    let rel = if metric == "fail_ratio" {
        match (baseline, current) {
            (Some(b), Some(c)) => format!("{:+.2} pp", (c - b) * 100.0),
            _ => String::new(),
        }
    } else {
        signed_percent(relative)
    };
    format!("{} → {} {rel}", show(baseline), show(current))
        .trim_end()
        .to_owned()
}

/// Integrity figures worth a line: known counts first, then any other scalar.
pub(crate) fn integrity_items(map: &serde_json::Map<String, serde_json::Value>) -> Vec<(String, String)> {
    let mut items = Vec::new();
    let scalar = |value: &serde_json::Value| match value {
        serde_json::Value::Null => Some("unknown".to_owned()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if s.len() <= 80 => Some(s.clone()),
        _ => None,
    };
    let mut keys: Vec<&String> = Vec::new();
    for known in std::iter::once("ok").chain(super::extras::INTEGRITY_COUNTS) {
        if let Some((key, _)) = map.get_key_value(known) {
            keys.push(key);
        }
    }
    for key in map.keys() {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    for key in keys {
        if let Some(value) = scalar(&map[key]) {
            items.push((key.clone(), value));
        }
    }
    items
}
