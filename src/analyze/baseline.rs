//! A recorded run to compare against: per-endpoint figures and, where the run had them, its exact histograms, so
//! that a later comparison can test whether latencies really moved rather than trust a difference of two numbers.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{AnalyzeError, Result};
use super::hdr::check_totals;
use super::inputs::read_input;
use super::inputs::Inputs;
use super::model::{label, micros_to_ms, Analysis, Endpoint, Source};
use super::stattest::{failure_ratio_p, mann_whitney, normal_isf, percentile_interval, MannWhitney};
use super::threshold::Tolerances;
use super::write::write_file;
use crate::stats::SnapshotEntry;

pub const BASELINE_FORMAT: &str = "pushpop-load-baseline";
pub const BASELINE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineEndpoint {
    pub method: String,
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    pub rps: Option<f64>,
    pub items_per_s: Option<f64>,
    pub latency_source: Source,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// The exact histogram, (µs, count) buckets; None when the run had only Locust's figures.
    pub histogram: Option<Vec<(u64, u64)>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub format: String,
    pub version: u32,
    /// The results prefix it was made from.
    pub source: String,
    pub duration_s: Option<f64>,
    pub endpoints: Vec<BaselineEndpoint>,
    pub total: BaselineEndpoint,
}

impl BaselineEndpoint {
    fn of(endpoint: &Endpoint) -> Self {
        Self {
            method: endpoint.method.clone(),
            name: endpoint.name.clone(),
            requests: endpoint.requests,
            failures: endpoint.failures,
            rps: endpoint.rps,
            items_per_s: endpoint.items_per_s,
            latency_source: endpoint.latency_source,
            p50_ms: endpoint.percentile(50.0),
            p95_ms: endpoint.percentile(95.0),
            p99_ms: endpoint.percentile(99.0),
            histogram: match (&endpoint.histogram, endpoint.latency_source) {
                (Some(entry), Source::Exact) => Some(entry.counts.clone()),
                _ => None,
            },
        }
    }

    fn label(&self) -> String {
        label(&self.method, &self.name)
    }
}

impl Baseline {
    #[must_use]
    pub fn of(analysis: &Analysis) -> Self {
        Self {
            format: BASELINE_FORMAT.to_owned(),
            version: BASELINE_VERSION,
            source: analysis.prefix.clone(),
            duration_s: analysis.duration_s,
            endpoints: analysis.endpoints.iter().map(BaselineEndpoint::of).collect(),
            total: BaselineEndpoint::of(&analysis.total),
        }
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        write_file(path, &self.to_bytes(path)?)
    }

    /// The file `save` writes (`path` names it in an error).
    pub fn to_bytes(&self, path: &Path) -> Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec(self).map_err(|err| AnalyzeError::malformed(path, err.to_string()))?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// A baseline file, or any run (a prefix or one of its files) taken as the baseline.
    pub fn load(path: &Path) -> Result<Self> {
        let is_json = path.extension().is_some_and(|e| e == "json");
        let is_run_file = path.to_string_lossy().ends_with("_hdr.json")
            || path.to_string_lossy().ends_with("_integrity.json")
            || path.to_string_lossy().ends_with("_scenario.json");
        if is_json && !is_run_file && path.is_file() {
            let bytes = read_input(path)?;
            let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|err| {
                let what = if err.is_eof() { "truncated JSON" } else { "not JSON" };
                AnalyzeError::malformed(path, format!("{what}: {err}"))
            })?;
            let format = value.get("format").and_then(|f| f.as_str()).unwrap_or_default();
            if format != BASELINE_FORMAT {
                return Err(AnalyzeError::malformed(
                    path,
                    format!("not a baseline (format {format:?}; --save-baseline writes {BASELINE_FORMAT:?})"),
                ));
            }
            let version = value.get("version").and_then(serde_json::Value::as_u64).unwrap_or(0);
            if version != u64::from(BASELINE_VERSION) {
                return Err(AnalyzeError::malformed(
                    path,
                    format!("baseline version {version} (this build reads version {BASELINE_VERSION})"),
                ));
            }
            let baseline: Self = serde_json::from_value(value)
                .map_err(|err| AnalyzeError::malformed(path, format!("not a valid baseline: {err}")))?;
            let histograms: Vec<SnapshotEntry> = baseline
                .endpoints
                .iter()
                .chain([&baseline.total])
                .map(|endpoint| SnapshotEntry {
                    method: endpoint.method.clone(),
                    name: endpoint.name.clone(),
                    failures: endpoint.failures,
                    items: 0,
                    counts: endpoint.histogram.clone().unwrap_or_default(),
                })
                .collect();
            // the total repeats the endpoints' samples, so each half is held to the limit
            check_totals(path, &histograms[..histograms.len() - 1])?;
            check_totals(path, &histograms[histograms.len() - 1..])?;
            return Ok(baseline);
        }
        let inputs = Inputs::discover(path)?;
        Ok(Self::of(&Analysis::build(&inputs)?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Within tolerance.
    Ok,
    /// Better than the baseline past the tolerance.
    Improved,
    /// Past the tolerance, but the statistical test cannot tell it from chance.
    Noise,
    /// Past the tolerance and, where the histograms allow a test, significant.
    Regression,
    /// A side lacks the figure.
    Unknown,
}

impl Status {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Improved => "improved",
            Status::Noise => "noise",
            Status::Regression => "REGRESSION",
            Status::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricDelta {
    /// `p50`, `p95`, `p99` (ms), `rps`, `fail_ratio`.
    pub metric: &'static str,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    /// current − baseline.
    pub delta: Option<f64>,
    /// current / baseline − 1.
    pub relative: Option<f64>,
    /// The allowed change: relative for latencies and `rps`, absolute for `fail_ratio`.
    pub tolerance: f64,
    /// Whether a statistical test ran, and what it concluded (None: no test possible).
    pub significant: Option<bool>,
    /// The test and its figures, in words.
    pub test: String,
    pub status: Status,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointComparison {
    pub method: String,
    pub name: String,
    pub metrics: Vec<MetricDelta>,
    /// The Mann–Whitney U test of the whole latency distribution, when both runs have exact histograms.
    pub distribution: Option<MannWhitney>,
}

impl EndpointComparison {
    #[must_use]
    pub fn label(&self) -> String {
        label(&self.method, &self.name)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub baseline: String,
    pub latency_tolerance: f64,
    pub rps_tolerance: f64,
    pub fail_ratio_tolerance: f64,
    pub alpha: f64,
    pub endpoints: Vec<EndpointComparison>,
    /// Endpoints of the baseline this run lacks, and endpoints new in this run.
    pub missing: Vec<String>,
    pub new: Vec<String>,
}

impl Comparison {
    #[must_use]
    pub fn regressions(&self) -> Vec<(String, &MetricDelta)> {
        self.endpoints
            .iter()
            .flat_map(|e| e.metrics.iter().map(move |m| (e.label(), m)))
            .filter(|(_, m)| m.status == Status::Regression)
            .collect()
    }
}

fn relative(baseline: Option<f64>, current: Option<f64>) -> Option<f64> {
    match (baseline, current) {
        (Some(b), Some(c)) if b > 0.0 => Some(c / b - 1.0),
        _ => None,
    }
}

fn ms_interval(interval: Option<(Option<u64>, Option<u64>)>) -> String {
    let side = |bound: Option<u64>, beyond: &str| {
        bound.map_or_else(|| beyond.to_owned(), |v| format!("{:.3}", micros_to_ms(v)))
    };
    interval.map_or_else(
        || "-".to_owned(),
        |(lo, hi)| format!("{}–{} ms", side(lo, "0"), side(hi, "∞")),
    )
}

#[allow(clippy::many_single_char_names)] // b(aseline), c(urrent), z: the statistics' own names
fn latency_delta(
    metric: &'static str,
    percentile: f64,
    base: &BaselineEndpoint,
    current: &Endpoint,
    distribution: Option<&MannWhitney>,
    tolerances: &Tolerances,
) -> MetricDelta {
    let (b, c) = (
        if percentile <= 50.0 {
            base.p50_ms
        } else if percentile <= 95.0 {
            base.p95_ms
        } else {
            base.p99_ms
        },
        current.percentile(percentile),
    );
    let rel = relative(b, c);
    let tolerance = tolerances.latency;
    let worse = rel.is_some_and(|r| r > tolerance);
    let better = rel.is_some_and(|r| r < -tolerance);
    let current_counts = match (&current.histogram, current.latency_source) {
        (Some(SnapshotEntry { counts, .. }), Source::Exact) => Some(counts.as_slice()),
        _ => None,
    };
    let (significant_worse, significant_better, test) = match (current_counts, base.histogram.as_deref()) {
        (Some(_), Some(_)) if percentile <= 50.0 => match distribution {
            Some(mw) => (
                Some(mw.p_slower < tolerances.alpha),
                Some(mw.p_faster < tolerances.alpha),
                format!(
                    "Mann–Whitney U: p(slower) = {:.2e}, P(slower request) = {:.3}",
                    mw.p_slower, mw.prob_slower
                ),
            ),
            None => (None, None, "no samples".to_owned()),
        },
        (Some(now), Some(then)) => {
            let z = normal_isf(tolerances.alpha / 2.0);
            let (ci_now, ci_then) = (
                percentile_interval(now, percentile, z),
                percentile_interval(then, percentile, z),
            );
            match (ci_now, ci_then) {
                (Some(n), Some(t)) => (
                    // an unbounded side (too few requests for this percentile) proves nothing
                    Some(matches!((n.0, t.1), (Some(low), Some(high)) if low > high)),
                    Some(matches!((n.1, t.0), (Some(high), Some(low)) if high < low)),
                    format!(
                        "{:.0}% intervals: now {}, baseline {}",
                        (1.0 - tolerances.alpha) * 100.0,
                        ms_interval(ci_now),
                        ms_interval(ci_then)
                    ),
                ),
                _ => (None, None, "no samples".to_owned()),
            }
        }
        _ => (
            None,
            None,
            "untested (a side has only Locust's rounded figures)".to_owned(),
        ),
    };
    let status = if b.is_none() || c.is_none() {
        Status::Unknown
    } else if worse {
        if significant_worse == Some(false) {
            Status::Noise
        } else {
            Status::Regression
        }
    } else if better {
        if significant_better == Some(false) {
            Status::Noise
        } else {
            Status::Improved
        }
    } else {
        Status::Ok
    };
    MetricDelta {
        metric,
        baseline: b,
        current: c,
        delta: b.zip(c).map(|(b, c)| c - b),
        relative: rel,
        tolerance,
        significant: if worse {
            significant_worse
        } else if better {
            significant_better
        } else {
            None
        },
        test,
        status,
    }
}

#[allow(clippy::cast_precision_loss)]
fn compare_endpoint(base: &BaselineEndpoint, current: &Endpoint, tolerances: &Tolerances) -> EndpointComparison {
    let distribution = match (&current.histogram, current.latency_source, &base.histogram) {
        (Some(entry), Source::Exact, Some(then)) => mann_whitney(&entry.counts, then),
        _ => None,
    };
    let mut metrics: Vec<MetricDelta> = [("p50", 50.0), ("p95", 95.0), ("p99", 99.0)]
        .into_iter()
        .map(|(metric, p)| latency_delta(metric, p, base, current, distribution.as_ref(), tolerances))
        .collect();

    let rel = relative(base.rps, current.rps);
    metrics.push(MetricDelta {
        metric: "rps",
        baseline: base.rps,
        current: current.rps,
        delta: base.rps.zip(current.rps).map(|(b, c)| c - b),
        relative: rel,
        tolerance: tolerances.rps,
        significant: None,
        test: "none (a rate has no distribution to test)".to_owned(),
        status: match rel {
            None => Status::Unknown,
            Some(r) if r < -tolerances.rps => Status::Regression,
            Some(r) if r > tolerances.rps => Status::Improved,
            Some(_) => Status::Ok,
        },
    });

    let ratio = |failures: u64, requests: u64| {
        if requests == 0 {
            0.0
        } else {
            failures as f64 / requests as f64
        }
    };
    let (b, c) = (ratio(base.failures, base.requests), current.fail_ratio());
    let p = failure_ratio_p((current.failures, current.requests), (base.failures, base.requests));
    let p_better = failure_ratio_p((base.failures, base.requests), (current.failures, current.requests));
    let delta = c - b;
    let worse = delta > tolerances.fail_ratio;
    let better = delta < -tolerances.fail_ratio;
    let significant = |p: Option<f64>| p.map(|p| p < tolerances.alpha);
    metrics.push(MetricDelta {
        metric: "fail_ratio",
        baseline: Some(b),
        current: Some(c),
        delta: Some(delta),
        relative: relative(Some(b), Some(c)),
        tolerance: tolerances.fail_ratio,
        significant: if worse {
            significant(p)
        } else if better {
            significant(p_better)
        } else {
            None
        },
        test: p.map_or_else(
            || "no requests".to_owned(),
            |p| format!("two-proportion z: p(more failures) = {p:.2e}"),
        ),
        status: if base.requests == 0 || current.requests == 0 {
            Status::Unknown
        } else if worse {
            if significant(p) == Some(true) {
                Status::Regression
            } else {
                Status::Noise
            }
        } else if better {
            if significant(p_better) == Some(true) {
                Status::Improved
            } else {
                Status::Noise
            }
        } else {
            Status::Ok
        },
    });
    EndpointComparison {
        method: current.method.clone(),
        name: current.name.clone(),
        metrics,
        distribution,
    }
}

/// Compares this run with a baseline, endpoint by endpoint and for the total.
#[must_use]
pub fn compare(analysis: &Analysis, baseline: &Baseline, tolerances: &Tolerances) -> Comparison {
    let mut endpoints = Vec::new();
    let mut new = Vec::new();
    for endpoint in &analysis.endpoints {
        match baseline
            .endpoints
            .iter()
            .find(|b| b.method == endpoint.method && b.name == endpoint.name)
        {
            Some(base) => endpoints.push(compare_endpoint(base, endpoint, tolerances)),
            None => new.push(endpoint.label()),
        }
    }
    endpoints.push(compare_endpoint(&baseline.total, &analysis.total, tolerances));
    let missing = baseline
        .endpoints
        .iter()
        .filter(|b| {
            !analysis
                .endpoints
                .iter()
                .any(|e| e.method == b.method && e.name == b.name)
        })
        .map(BaselineEndpoint::label)
        .collect();
    Comparison {
        baseline: baseline.source.clone(),
        latency_tolerance: tolerances.latency,
        rps_tolerance: tolerances.rps,
        fail_ratio_tolerance: tolerances.fail_ratio,
        alpha: tolerances.alpha,
        endpoints,
        missing,
        new,
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::analyze::inputs::tests::tempdir;
    use crate::stats::Recorder;

    /// A run directory with `_stats.csv` and `_hdr.json`, latencies from `samples` (ms) per endpoint.
    fn run_files(name: &str, samples: &[(&str, &[f64], u64)], duration_s: f64) -> Inputs {
        let dir = tempdir();
        let prefix = dir.join(name);
        let mut recorder = Recorder::new();
        let mut csv = String::from("Type,Name,Request Count,Failure Count,Requests/s,50%,95%,99%\n");
        let mut total = 0;
        for &(endpoint, times, items) in samples {
            for &ms in times {
                recorder.record("POST", endpoint, ms, false);
            }
            recorder.record_items("POST", endpoint, items);
            total += times.len();
            let quoted = endpoint.replace('"', "\"\"");
            let _ = writeln!(csv, "POST,\"{quoted}\",{},0,1.0,1,2,3", times.len());
        }
        let _ = writeln!(csv, ",Aggregated,{total},0,2.0,1,2,3");
        std::fs::write(format!("{}_stats.csv", prefix.display()), csv).unwrap();
        let document = serde_json::json!({
            "format": "pushpop-load-hdr", "version": 1, "unit": "us", "duration_s": duration_s,
            "summaries": serde_json::to_value(recorder.summaries()).unwrap(), "histograms": recorder.snapshot(),
        });
        std::fs::write(format!("{}_hdr.json", prefix.display()), document.to_string()).unwrap();
        Inputs::discover(&prefix).unwrap()
    }

    fn spread(centre: f64, n: usize) -> Vec<f64> {
        #[allow(clippy::cast_precision_loss)]
        (0..n).map(|i| centre * (0.5 + i as f64 / n as f64)).collect()
    }

    #[test]
    fn exact_figures_win_and_the_total_is_merged() {
        let push = spread(2.0, 1000);
        let pop = spread(4.0, 500);
        let analysis = Analysis::build(&run_files(
            "a",
            &[("/push", &push, 0), ("/pop, \"deep\"", &pop, 1200)],
            10.0,
        ))
        .unwrap();
        assert_eq!(analysis.endpoints.len(), 2);
        let pop_endpoint = &analysis.endpoints[1];
        assert_eq!(pop_endpoint.name, "/pop, \"deep\"");
        assert_eq!(
            (pop_endpoint.latency_source, pop_endpoint.counts_source),
            (Source::Exact, Source::Exact)
        );
        assert_eq!(
            (pop_endpoint.items, pop_endpoint.items_per_s),
            (Some(1200), Some(120.0))
        );
        assert_eq!(pop_endpoint.locust.as_ref().unwrap().percentile(95.0), Some(2.0));
        let p95 = pop_endpoint.percentile(95.0).unwrap();
        assert!((p95 - 5.8).abs() < 0.01, "{p95}");
        let total = &analysis.total;
        assert_eq!(
            (total.requests, total.latency_source, total.rps),
            (1500, Source::Exact, Some(150.0))
        );
        assert_eq!(total.items, Some(1200));
        // the merged p50 lies between the endpoints' and is read from the merged histogram
        let p50 = total.percentile(50.0).unwrap();
        assert!(p50 > 1.9 && p50 < 3.1, "{p50}");
        assert!(
            total.percentile(99.99).is_some(),
            "any percentile from an exact histogram"
        );
    }

    #[test]
    fn a_run_against_itself_a_slower_one_and_a_noisy_one() {
        let base = Analysis::build(&run_files("b", &[("/push", &spread(2.0, 2000), 0)], 10.0)).unwrap();
        let baseline = Baseline::of(&base);
        let tolerances = Tolerances::default();

        let same = compare(&base, &baseline, &tolerances);
        assert!(same.regressions().is_empty());
        assert!(same
            .endpoints
            .iter()
            .flat_map(|e| &e.metrics)
            .all(|m| m.status == Status::Ok));

        let slower = Analysis::build(&run_files("c", &[("/push", &spread(2.6, 2000), 0)], 10.0)).unwrap();
        let compared = compare(&slower, &baseline, &tolerances);
        let regressed: Vec<&str> = compared.regressions().iter().map(|(_, m)| m.metric).collect();
        assert!(
            regressed.contains(&"p50") && regressed.contains(&"p99"),
            "{regressed:?}"
        );
        assert!(compared.endpoints[0].distribution.unwrap().p_slower < 1e-9);

        // 12% slower on 30 requests: past the 10% tolerance, but not distinguishable from chance
        let few = Analysis::build(&run_files("d", &[("/push", &spread(2.0 * 1.12, 30), 0)], 10.0)).unwrap();
        let base_few =
            Baseline::of(&Analysis::build(&run_files("e", &[("/push", &spread(2.0, 30), 0)], 10.0)).unwrap());
        let compared = compare(&few, &base_few, &tolerances);
        let p50 = &compared.endpoints[0].metrics[0];
        assert_eq!(
            (p50.metric, p50.status, p50.significant),
            ("p50", Status::Noise, Some(false))
        );
        let regressions = compared.regressions();
        assert!(regressions.is_empty(), "{regressions:?}");
    }

    #[test]
    fn baselines_round_trip_and_bad_ones_are_named() {
        let analysis = Analysis::build(&run_files("f", &[("/push", &spread(2.0, 100), 0)], 5.0)).unwrap();
        let path = tempdir().join("baseline.json");
        Baseline::of(&analysis).save(&path).unwrap();
        assert_eq!(Baseline::load(&path).unwrap(), Baseline::of(&analysis));
        std::fs::write(&path, r#"{"format": "pushpop-load-baseline", "version": 9}"#).unwrap();
        assert!(Baseline::load(&path)
            .unwrap_err()
            .to_string()
            .contains("baseline version 9"));
        std::fs::write(&path, r#"{"format": "pushpop-load-baseline", "ver"#).unwrap();
        assert!(Baseline::load(&path)
            .unwrap_err()
            .to_string()
            .contains("truncated JSON"));
    }
}
