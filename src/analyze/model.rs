//! One run's figures, joined from whatever files it left: per endpoint, the exact histograms' figures where they
//! exist and Locust's rounded ones otherwise, each marked with its kind.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::Result;
use super::extras::{read_object, read_resources, Resources};
use super::hdr::{read_hdr, read_intervals, HdrSummary, IntervalSeries};
use super::history::{read_history, History};
use super::inputs::{Inputs, Kind};
use super::locust_csv::{read_exceptions, read_failures, read_stats, ExceptionRow, FailureRow, LocustRow};
use crate::stats::{SnapshotEntry, PERCENTILES};

/// Which kind a figure is: exact (the toolkit's HDR histograms: µs resolution, complete at exit) or Locust's
/// (response times rounded to 2 significant digits, `_stats.csv` last rewritten up to a second before exit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Exact,
    Locust,
}

impl Source {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Exact => "exact",
            Source::Locust => "locust",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub method: String,
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    pub counts_source: Source,
    pub rps: Option<f64>,
    pub fail_rps: Option<f64>,
    /// Queue items the requests carried (pops), when the exact statistics counted them.
    pub items: Option<u64>,
    pub items_per_s: Option<f64>,
    pub latency_source: Source,
    pub min_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// (percentile, ms): Locust's default columns from the exact histogram, or Locust's own columns.
    pub percentiles: Vec<(f64, Option<f64>)>,
    /// The exact histogram, (µs, count) buckets.
    pub histogram: Option<SnapshotEntry>,
    /// Locust's own row, as written.
    pub locust: Option<LocustRow>,
}

/// An entry as Locust's tables name it: "POST /queue/[id]/pop", or the bare name when there is no method
/// (Locust's "Aggregated" row).
#[must_use]
pub fn label(method: &str, name: &str) -> String {
    if method.is_empty() {
        name.to_owned()
    } else {
        format!("{method} {name}")
    }
}

impl Endpoint {
    /// "POST /queue/[id]/pop", or "Aggregated" for the total.
    #[must_use]
    pub fn label(&self) -> String {
        label(&self.method, &self.name)
    }

    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn fail_ratio(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.failures as f64 / self.requests as f64
        }
    }

    /// Any percentile from the exact histogram; from Locust only the columns it wrote.
    #[must_use]
    pub fn percentile(&self, percentile: f64) -> Option<f64> {
        match (&self.histogram, self.latency_source) {
            (Some(entry), Source::Exact) => Some(micros_to_ms(entry.value_at_percentile(percentile))),
            _ => self
                .percentiles
                .iter()
                .find(|(p, _)| (p - percentile).abs() < 1e-9)
                .and_then(|(_, value)| *value),
        }
    }
}

#[allow(clippy::cast_precision_loss)]
pub(crate) fn micros_to_ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// A file the analysis read, or one it looked for and lacked.
#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    pub kind: Kind,
    pub path: String,
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct Analysis {
    pub prefix: String,
    pub used: Vec<InputFile>,
    pub lacking: Vec<InputFile>,
    /// Seconds from the first request to the last, and where that came from.
    pub duration_s: Option<f64>,
    pub endpoints: Vec<Endpoint>,
    pub total: Endpoint,
    pub failures: Vec<FailureRow>,
    pub exceptions: Vec<ExceptionRow>,
    pub history: Option<History>,
    pub intervals: Option<Vec<IntervalSeries>>,
    pub integrity: Option<Map<String, Value>>,
    pub scenario: Option<Map<String, Value>>,
    pub resources: Option<Resources>,
    /// The monitor's `_resources.json` (peaks, means, the generator's saturation flag).
    pub resources_summary: Option<Map<String, Value>>,
    /// Things a reader should know about these figures (e.g. why two sources disagree).
    pub notes: Vec<String>,
}

type Key = (String, String);

fn merge(entries: &[&SnapshotEntry]) -> SnapshotEntry {
    let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
    let (mut failures, mut items) = (0, 0);
    for entry in entries {
        for &(value, count) in &entry.counts {
            *counts.entry(value).or_insert(0) += count;
        }
        failures += entry.failures;
        items += entry.items;
    }
    SnapshotEntry {
        method: String::new(),
        name: "Aggregated".to_owned(),
        failures,
        items,
        counts: counts.into_iter().collect(),
    }
}

struct Exact<'a> {
    entry: &'a SnapshotEntry,
    summary: Option<&'a HdrSummary>,
}

#[allow(clippy::cast_precision_loss)]
fn exact_endpoint(method: &str, name: &str, exact: &Exact<'_>, locust: Option<LocustRow>, duration: f64) -> Endpoint {
    let entry = exact.entry;
    let requests = entry.count();
    let per_second = |n: u64| (duration > 0.0).then(|| n as f64 / duration);
    let has_samples = requests > 0;
    let (min_ms, mean_ms, max_ms) = match exact.summary {
        Some(s) if has_samples => (s.min_ms, s.mean_ms, s.max_ms),
        _ if has_samples => {
            let weighted: f64 = entry.counts.iter().map(|&(v, c)| v as f64 * c as f64).sum();
            (
                entry.counts.first().map(|b| micros_to_ms(b.0)),
                Some(weighted / requests as f64 / 1000.0),
                entry.counts.last().map(|b| micros_to_ms(b.0)),
            )
        }
        _ => (None, None, None),
    };
    Endpoint {
        method: method.to_owned(),
        name: name.to_owned(),
        requests,
        failures: entry.failures,
        counts_source: Source::Exact,
        rps: per_second(requests),
        fail_rps: per_second(entry.failures),
        items: (entry.items > 0).then_some(entry.items),
        items_per_s: (entry.items > 0).then(|| per_second(entry.items)).flatten(),
        latency_source: Source::Exact,
        min_ms,
        mean_ms,
        max_ms,
        percentiles: PERCENTILES
            .iter()
            .map(|&p| (p, has_samples.then(|| micros_to_ms(entry.value_at_percentile(p)))))
            .collect(),
        histogram: Some(entry.clone()),
        locust,
    }
}

fn locust_endpoint(row: LocustRow) -> Endpoint {
    Endpoint {
        method: row.method.clone(),
        name: row.name.clone(),
        requests: row.requests,
        failures: row.failures,
        counts_source: Source::Locust,
        rps: row.rps,
        fail_rps: row.fail_rps,
        items: None,
        items_per_s: None,
        latency_source: Source::Locust,
        min_ms: if row.requests > 0 { row.min_ms } else { None },
        mean_ms: if row.requests > 0 { row.mean_ms } else { None },
        max_ms: if row.requests > 0 { row.max_ms } else { None },
        percentiles: row.percentiles.clone(),
        histogram: None,
        locust: Some(row),
    }
}

fn empty_total() -> Endpoint {
    Endpoint {
        method: String::new(),
        name: "Aggregated".to_owned(),
        requests: 0,
        failures: 0,
        counts_source: Source::Locust,
        rps: None,
        fail_rps: None,
        items: None,
        items_per_s: None,
        latency_source: Source::Locust,
        min_ms: None,
        mean_ms: None,
        max_ms: None,
        percentiles: Vec::new(),
        histogram: None,
        locust: None,
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

impl Analysis {
    /// Reads every file `inputs` found and joins them.
    #[allow(clippy::too_many_lines)] // one pass over the kinds of file, in order; split up it reads worse
    pub fn build(inputs: &Inputs) -> Result<Self> {
        let mut used = Vec::new();
        let mut lacking = Vec::new();
        let mut notes = Vec::new();
        let mut note_used = |kind: Kind, path: &Path, note: String| {
            used.push(InputFile {
                kind,
                path: display(path),
                note,
            });
        };
        for kind in Kind::ALL {
            if inputs.path(kind).is_none() {
                lacking.push(InputFile {
                    kind,
                    path: inputs.expected(kind),
                    note: "not present".to_owned(),
                });
            }
        }

        let stats = inputs.path(Kind::Stats).map(read_stats).transpose()?;
        if let (Some(path), Some(stats)) = (inputs.path(Kind::Stats), &stats) {
            note_used(Kind::Stats, path, format!("{} endpoints", stats.rows.len()));
        }
        let hdr = inputs.path(Kind::Hdr).map(read_hdr).transpose()?;
        if let (Some(path), Some(hdr)) = (inputs.path(Kind::Hdr), &hdr) {
            note_used(
                Kind::Hdr,
                path,
                format!("{} endpoints, exact percentiles", hdr.histograms.entries.len()),
            );
        }
        if let Some(workers) = hdr.as_ref().and_then(|hdr| hdr.workers.as_ref()) {
            if !workers.lost.is_empty() {
                notes.push(format!(
                    "{} of {} workers were lost during the run ({}): every figure lacks their samples after their \
                     last report",
                    workers.lost.len(),
                    workers.reporting,
                    workers.lost.join(", ")
                ));
            }
        }
        let history = inputs.path(Kind::History).map(read_history).transpose()?;
        if let (Some(path), Some(history)) = (inputs.path(Kind::History), &history) {
            let scope = if history.per_endpoint() {
                "per endpoint"
            } else {
                "total only (Locust's --csv-full-history adds each endpoint)"
            };
            note_used(Kind::History, path, format!("{} rows, {scope}", history.rows()));
        }
        let intervals = inputs.path(Kind::HdrIntervals).map(read_intervals).transpose()?;
        if let (Some(path), Some(intervals)) = (inputs.path(Kind::HdrIntervals), &intervals) {
            let rows: usize = intervals.iter().map(|s| s.timestamps.len()).sum();
            note_used(Kind::HdrIntervals, path, format!("{rows} rows"));
        }
        let failures = inputs.path(Kind::Failures).map(read_failures).transpose()?;
        if let (Some(path), Some(failures)) = (inputs.path(Kind::Failures), &failures) {
            note_used(Kind::Failures, path, format!("{} kinds of failure", failures.len()));
        }
        let exceptions = inputs.path(Kind::Exceptions).map(read_exceptions).transpose()?;
        if let (Some(path), Some(exceptions)) = (inputs.path(Kind::Exceptions), &exceptions) {
            note_used(Kind::Exceptions, path, format!("{} exceptions", exceptions.len()));
        }
        let integrity = inputs.path(Kind::Integrity).map(read_object).transpose()?;
        if let Some(path) = inputs.path(Kind::Integrity) {
            note_used(Kind::Integrity, path, String::new());
        }
        let scenario = inputs.path(Kind::Scenario).map(read_object).transpose()?;
        if let Some(path) = inputs.path(Kind::Scenario) {
            note_used(Kind::Scenario, path, String::new());
        }
        let resources_summary = inputs.path(Kind::ResourcesSummary).map(read_object).transpose()?;
        if let Some(path) = inputs.path(Kind::ResourcesSummary) {
            note_used(Kind::ResourcesSummary, path, String::new());
        }
        // the monitor's layout is not fixed yet: a file this reader does not understand is lacking, not fatal
        let resources = match inputs.path(Kind::Resources) {
            Some(path) => match read_resources(path) {
                Ok(resources) => {
                    note_used(Kind::Resources, path, format!("{} series", resources.series.len()));
                    Some(resources)
                }
                Err(err) => {
                    lacking.push(InputFile {
                        kind: Kind::Resources,
                        path: display(path),
                        note: format!("layout not understood: {err}"),
                    });
                    None
                }
            },
            None => None,
        };

        let duration_s = hdr.as_ref().map(|h| h.duration_s).or_else(|| {
            let total = stats.as_ref()?.aggregated.as_ref()?;
            #[allow(clippy::cast_precision_loss)]
            total
                .rps
                .filter(|&rps| rps > 0.0)
                .map(|rps| total.requests as f64 / rps)
        });

        // endpoints in Locust's order, then any only the exact statistics saw
        let mut order: Vec<Key> = Vec::new();
        let mut locust_rows: BTreeMap<Key, LocustRow> = BTreeMap::new();
        let mut locust_total = None;
        if let Some(stats) = stats {
            for row in stats.rows {
                let key = (row.method.clone(), row.name.clone());
                order.push(key.clone());
                locust_rows.insert(key, row);
            }
            locust_total = stats.aggregated;
        }
        let mut exact: BTreeMap<Key, Exact<'_>> = BTreeMap::new();
        if let Some(hdr) = &hdr {
            for entry in &hdr.histograms.entries {
                let key = (entry.method.clone(), entry.name.clone());
                let summary = hdr
                    .summaries
                    .iter()
                    .find(|s| s.method == entry.method && s.name == entry.name);
                if !locust_rows.contains_key(&key) {
                    order.push(key.clone());
                }
                exact.insert(key, Exact { entry, summary });
            }
        }
        let duration = duration_s.unwrap_or(0.0);
        let mut endpoints = Vec::with_capacity(order.len());
        for key in &order {
            let locust = locust_rows.remove(key);
            let endpoint = match exact.get(key) {
                Some(found) => {
                    let mut endpoint = exact_endpoint(&key.0, &key.1, found, locust, duration);
                    if endpoint.requests == 0 {
                        if let Some(row) = endpoint.locust.clone() {
                            endpoint = Endpoint {
                                items: endpoint.items,
                                items_per_s: endpoint.items_per_s,
                                ..locust_endpoint(row)
                            };
                        }
                    }
                    endpoint
                }
                None => match locust {
                    Some(row) => locust_endpoint(row),
                    None => continue,
                },
            };
            endpoints.push(endpoint);
        }

        let all_exact = hdr.is_some() && endpoints.iter().all(|e| e.counts_source == Source::Exact);
        let total = if all_exact {
            let entries: Vec<&SnapshotEntry> = exact.values().map(|found| found.entry).collect();
            let merged = merge(&entries);
            let summaries: Vec<&HdrSummary> = exact.values().filter_map(|found| found.summary).collect();
            let count = merged.count();
            #[allow(clippy::cast_precision_loss)]
            let summary = (summaries.len() == entries.len() && count > 0).then(|| HdrSummary {
                method: String::new(),
                name: "Aggregated".to_owned(),
                count,
                failures: merged.failures,
                items: merged.items,
                min_ms: summaries
                    .iter()
                    .filter(|s| s.count > 0)
                    .filter_map(|s| s.min_ms)
                    .reduce(f64::min),
                mean_ms: Some(
                    summaries
                        .iter()
                        .map(|s| s.mean_ms.unwrap_or(0.0) * s.count as f64)
                        .sum::<f64>()
                        / count as f64,
                ),
                max_ms: summaries.iter().filter_map(|s| s.max_ms).reduce(f64::max),
            });
            let exact_total = Exact {
                entry: &merged,
                summary: summary.as_ref(),
            };
            exact_endpoint("", "Aggregated", &exact_total, locust_total, duration)
        } else {
            locust_total.map_or_else(empty_total, locust_endpoint)
        };

        for endpoint in endpoints.iter().chain(std::iter::once(&total)) {
            if let (Source::Exact, Some(row)) = (endpoint.counts_source, &endpoint.locust) {
                if row.requests != endpoint.requests {
                    notes.push(format!(
                        "{}: Locust's _stats.csv counts {} requests, the exact statistics {}: Locust rewrites \
                         _stats.csv once a second and not at exit, so its last second can be missing",
                        endpoint.label(),
                        row.requests,
                        endpoint.requests
                    ));
                    break;
                }
            }
        }

        Ok(Self {
            prefix: inputs.prefix.clone(),
            used,
            lacking,
            duration_s,
            endpoints,
            total,
            failures: failures.unwrap_or_default(),
            exceptions: exceptions.unwrap_or_default(),
            history,
            intervals,
            integrity,
            scenario,
            resources,
            resources_summary,
            notes,
        })
    }

    /// Endpoints and the total, in report order.
    pub fn rows(&self) -> impl Iterator<Item = &Endpoint> {
        self.endpoints.iter().chain(std::iter::once(&self.total))
    }

    /// Whether any figure of the table is exact / Locust's.
    #[must_use]
    pub fn sources(&self) -> (bool, bool) {
        let exact = self.rows().any(|e| e.latency_source == Source::Exact);
        let locust = self.rows().any(|e| e.latency_source == Source::Locust);
        (exact, locust)
    }
}
