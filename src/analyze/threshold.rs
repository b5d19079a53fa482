//! Pass/fail rules in k6's spirit: `p95<100ms`, `fail_ratio<1%`, `name:/queue/[id]/pop:p99<50ms`, `lost==0`.
//! Without `name:` a rule is about the whole run (Locust's Aggregated row, the integrity verdict).

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{AnalyzeError, Result};
use super::extras::INTEGRITY_COUNTS;
use super::inputs::read_input;
use super::model::{Analysis, Endpoint, Source};

#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// A latency percentile, 0..=100.
    Percentile(f64),
    Min,
    Mean,
    Max,
    Rps,
    FailRps,
    ItemsPerS,
    Requests,
    Failures,
    FailRatio,
    /// A count in `_integrity.json` (`lost`, `duplicated`, …).
    Integrity(String),
    /// `_integrity.json`'s `ok`, as 1 (true) or 0.
    IntegrityOk,
    /// The load generator ran out of CPU (the monitor's `_resources.json`: `generator.saturated`), as 1 or 0.
    Saturated,
}

impl Metric {
    fn is_time(&self) -> bool {
        matches!(self, Metric::Percentile(_) | Metric::Min | Metric::Mean | Metric::Max)
    }

    fn is_run_level(&self) -> bool {
        matches!(self, Metric::Integrity(_) | Metric::IntegrityOk | Metric::Saturated)
    }

    fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().to_ascii_lowercase();
        let metric = match lower.as_str() {
            "min" => Metric::Min,
            "avg" | "mean" => Metric::Mean,
            "max" => Metric::Max,
            "med" | "median" => Metric::Percentile(50.0),
            "rps" | "reqs/s" | "requests/s" => Metric::Rps,
            "fail_rps" | "failures/s" => Metric::FailRps,
            "items_per_s" | "items/s" => Metric::ItemsPerS,
            "requests" | "reqs" | "count" => Metric::Requests,
            "failures" | "fails" => Metric::Failures,
            "fail_ratio" | "error_rate" | "failure_rate" => Metric::FailRatio,
            "integrity_ok" => Metric::IntegrityOk,
            "saturated" | "generator_saturated" => Metric::Saturated,
            other if INTEGRITY_COUNTS.contains(&other) => Metric::Integrity(other.to_owned()),
            other => {
                // p95, p99.9, p(95)
                let number = other.strip_prefix('p')?;
                let number = number
                    .strip_prefix('(')
                    .and_then(|n| n.strip_suffix(')'))
                    .unwrap_or(number);
                let value: f64 = number.parse().ok()?;
                if !(0.0..=100.0).contains(&value) {
                    return None;
                }
                Metric::Percentile(value)
            }
        };
        Some(metric)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Percentile(p) => write!(f, "p{p}"),
            Metric::Min => f.write_str("min"),
            Metric::Mean => f.write_str("mean"),
            Metric::Max => f.write_str("max"),
            Metric::Rps => f.write_str("rps"),
            Metric::FailRps => f.write_str("fail_rps"),
            Metric::ItemsPerS => f.write_str("items_per_s"),
            Metric::Requests => f.write_str("requests"),
            Metric::Failures => f.write_str("failures"),
            Metric::FailRatio => f.write_str("fail_ratio"),
            Metric::Integrity(key) => f.write_str(key),
            Metric::IntegrityOk => f.write_str("integrity_ok"),
            Metric::Saturated => f.write_str("saturated"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl Op {
    fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
            Op::Eq => (actual - limit).abs() < 1e-9,
            Op::Ne => (actual - limit).abs() >= 1e-9,
        }
    }
}

/// A parsed rule; `limit` is in the metric's canonical unit (ms for times, a ratio for `fail_ratio`).
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub expression: String,
    /// None: the whole run; Some(name): every endpoint of that name.
    pub endpoint: Option<String>,
    pub metric: Metric,
    pub op: Op,
    pub limit: f64,
}

impl Threshold {
    pub fn parse(expression: &str) -> Result<Self> {
        let err = |message: &str| AnalyzeError::threshold(expression, message);
        let text = expression.trim();
        let (endpoint, rule) = match text.strip_prefix("name:") {
            // the rule itself has no colon, so the name is everything up to the last one
            Some(rest) => {
                let (name, rule) = rest
                    .rsplit_once(':')
                    .ok_or_else(|| err("expected name:<endpoint name>:<rule>, e.g. name:/queue/[id]/pop:p99<50ms"))?;
                if name.is_empty() {
                    return Err(err("empty endpoint name"));
                }
                (Some(name.to_owned()), rule)
            }
            None => (None, text),
        };
        let position = rule
            .find(['<', '>', '=', '!'])
            .ok_or_else(|| err("no comparison: use <, <=, >, >=, == or !="))?;
        let (metric_text, rest) = rule.split_at(position);
        let (op, value_text) = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .iter()
        .find_map(|(symbol, op)| rest.strip_prefix(symbol).map(|value| (*op, value)))
        .ok_or_else(|| err("no comparison: use <, <=, >, >=, == or !="))?;
        let metric = Metric::parse(metric_text).ok_or_else(|| {
            err(&format!(
                "unknown metric {:?} (p50, p95, p99.9, min, mean, max, rps, fail_rps, items_per_s, requests, failures, \
                 fail_ratio, {}, integrity_ok, saturated)",
                metric_text.trim(),
                INTEGRITY_COUNTS.join(", ")
            ))
        })?;
        if endpoint.is_some() && metric.is_run_level() {
            return Err(err(&format!("{metric} is about the whole run; drop the name: part")));
        }
        let limit = parse_value(value_text.trim(), &metric).map_err(|message| err(&message))?;
        Ok(Self {
            expression: text.to_owned(),
            endpoint,
            metric,
            op,
            limit,
        })
    }
}

fn parse_value(text: &str, metric: &Metric) -> std::result::Result<f64, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("{text:?} is not a number"))?;
    let unit = unit.trim();
    let scale = match (unit, metric) {
        ("", _) => 1.0,
        ("ms", m) if m.is_time() => 1.0,
        ("s", m) if m.is_time() => 1000.0,
        ("us" | "µs", m) if m.is_time() => 0.001,
        ("%", Metric::FailRatio) => 0.01,
        (other, m) => return Err(format!("unit {other:?} does not fit {m}")),
    };
    Ok(value * scale)
}

/// The outcome of one rule on one subject.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub expression: String,
    /// What was measured: "Aggregated", "POST /queue/[id]/pop", "integrity", "scenario".
    pub subject: String,
    pub metric: String,
    pub op: Op,
    pub limit: f64,
    /// The measured value in the rule's unit; None when it was not measured.
    pub actual: Option<f64>,
    /// "exact" or "locust" for latency figures.
    pub source: Option<Source>,
    pub ok: bool,
    /// Why it failed, in words: "p95 = 123.4 ms, not < 100 ms", "no _integrity.json".
    pub detail: String,
}

fn show(metric: &Metric, value: f64) -> String {
    if *metric == Metric::FailRatio {
        format!("{:.3}%", value * 100.0)
    } else if metric.is_time() {
        format!("{value:.3} ms")
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.3}")
    }
}

fn op_symbol(op: Op) -> &'static str {
    match op {
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Eq => "==",
        Op::Ne => "!=",
    }
}

fn endpoint_value(endpoint: &Endpoint, metric: &Metric) -> (Option<f64>, Option<Source>, &'static str) {
    #[allow(clippy::cast_precision_loss)]
    let count = |n: u64| Some(n as f64);
    let latency = Some(endpoint.latency_source);
    if endpoint.requests == 0 && metric.is_time() {
        return (None, latency, "no requests");
    }
    let counts = Some(endpoint.counts_source);
    match metric {
        Metric::Percentile(p) => (
            endpoint.percentile(*p),
            latency,
            "no such percentile (Locust's CSV lacks it, and no exact histogram)",
        ),
        Metric::Min => (endpoint.min_ms, latency, "no requests"),
        Metric::Mean => (endpoint.mean_ms, latency, "no requests"),
        Metric::Max => (endpoint.max_ms, latency, "no requests"),
        Metric::Rps => (endpoint.rps, counts, "no rate"),
        Metric::FailRps => (endpoint.fail_rps, counts, "no rate"),
        Metric::ItemsPerS => (
            endpoint.items_per_s,
            Some(Source::Exact),
            "no item counts (they come with _hdr.json, from PushPopUser's pops)",
        ),
        Metric::Requests => (count(endpoint.requests), counts, ""),
        Metric::Failures => (count(endpoint.failures), counts, ""),
        Metric::FailRatio => (Some(endpoint.fail_ratio()), counts, ""),
        Metric::Integrity(_) | Metric::IntegrityOk | Metric::Saturated => (None, None, "a whole-run figure"),
    }
}

fn run_value(analysis: &Analysis, metric: &Metric) -> (String, Option<f64>, String) {
    let as_number = |value: Option<&serde_json::Value>| match value {
        Some(serde_json::Value::Bool(b)) => Some(f64::from(u8::from(*b))),
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        _ => None,
    };
    match metric {
        Metric::Integrity(_) | Metric::IntegrityOk => {
            let key = if let Metric::Integrity(key) = metric {
                key.as_str()
            } else {
                "ok"
            };
            match &analysis.integrity {
                None => (
                    "integrity".to_owned(),
                    None,
                    format!("no {}_integrity.json", analysis.prefix),
                ),
                Some(map) => {
                    let why = match map.get(key) {
                        None => format!("_integrity.json has no {key:?}"),
                        Some(serde_json::Value::Null) if key == "lost" => {
                            "lost is unknown: the queues were not drained at the end".to_owned()
                        }
                        Some(other) => format!("_integrity.json's {key:?} is {other}, not a number"),
                    };
                    ("integrity".to_owned(), as_number(map.get(key)), why)
                }
            }
        }
        Metric::Saturated => {
            let value = analysis
                .resources_summary
                .as_ref()
                .and_then(|map| map.get("generator"))
                .and_then(|generator| generator.get("saturated"))
                .and_then(|saturated| match saturated {
                    serde_json::Value::Bool(flag) => Some(f64::from(u8::from(*flag))),
                    other => as_number(Some(other)),
                });
            (
                "resources".to_owned(),
                value,
                format!(
                    "not measured (no generator.saturated in {}_resources.json: run with the resource monitor)",
                    analysis.prefix
                ),
            )
        }
        _ => unreachable!("endpoint metrics are evaluated per endpoint"),
    }
}

/// Evaluates every rule; a rule on a name several methods share yields a verdict per method.
#[must_use]
pub fn evaluate(thresholds: &[Threshold], analysis: &Analysis) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for threshold in thresholds {
        let verdict = |subject: String, actual: Option<f64>, source: Option<Source>, missing: &str| {
            let ok = actual.is_some_and(|value| threshold.op.holds(value, threshold.limit));
            let metric = &threshold.metric;
            let detail = match actual {
                None => format!("{metric}: {missing}"),
                Some(value) => format!(
                    "{metric} = {}{}, {} {} {}",
                    show(metric, value),
                    source.map_or(String::new(), |s| format!(" ({})", s.as_str())),
                    if ok { "holds" } else { "not" },
                    op_symbol(threshold.op),
                    show(metric, threshold.limit)
                ),
            };
            Verdict {
                expression: threshold.expression.clone(),
                subject,
                metric: metric.to_string(),
                op: threshold.op,
                limit: threshold.limit,
                actual,
                source,
                ok,
                detail,
            }
        };
        if threshold.metric.is_run_level() {
            let (subject, actual, why) = run_value(analysis, &threshold.metric);
            verdicts.push(verdict(subject, actual, None, &why));
            continue;
        }
        match &threshold.endpoint {
            None => {
                let (actual, source, why) = endpoint_value(&analysis.total, &threshold.metric);
                verdicts.push(verdict(analysis.total.label(), actual, source, why));
            }
            Some(name) => {
                let matching: Vec<&Endpoint> = analysis.endpoints.iter().filter(|e| &e.name == name).collect();
                if matching.is_empty() {
                    let known: Vec<&str> = analysis.endpoints.iter().map(|e| e.name.as_str()).collect();
                    let why = format!("no endpoint named {name:?} (endpoints: {})", known.join(", "));
                    verdicts.push(verdict(name.clone(), None, None, &why));
                }
                for endpoint in matching {
                    let (actual, source, why) = endpoint_value(endpoint, &threshold.metric);
                    verdicts.push(verdict(endpoint.label(), actual, source, why));
                }
            }
        }
    }
    verdicts
}

/// Baseline tolerances, from the command line or a thresholds file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    /// Relative growth of p50/p95/p99 allowed (0.10: 10%).
    pub latency: f64,
    /// Relative drop of requests/s allowed.
    pub rps: f64,
    /// Absolute growth of the failure ratio allowed (0.005: half a percentage point).
    pub fail_ratio: f64,
    /// Significance level of the statistical tests.
    pub alpha: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Self {
            latency: 0.10,
            rps: 0.10,
            fail_ratio: 0.005,
            alpha: 0.01,
        }
    }
}

/// `10%` or `0.1` → 0.1.
pub fn parse_ratio(text: &str) -> std::result::Result<f64, String> {
    let trimmed = text.trim();
    let (number, scale) = match trimmed.strip_suffix('%') {
        Some(number) => (number, 0.01),
        None => (trimmed, 1.0),
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v * scale)
        .ok_or_else(|| format!("{text:?} is not a ratio (10% or 0.1)"))
}

/// A thresholds file:
///
/// ```toml
/// thresholds = ["p95<100ms", "fail_ratio<1%", "lost==0", "duplicated==0"]
/// [endpoints."/queue/[id]/pop"]
/// thresholds = ["p99<50ms"]
/// [baseline]
/// latency_tolerance = "10%"
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdsFile {
    #[serde(default)]
    thresholds: Vec<String>,
    #[serde(default)]
    endpoints: std::collections::BTreeMap<String, EndpointRules>,
    #[serde(default)]
    baseline: Option<BaselineRules>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointRules {
    #[serde(default)]
    thresholds: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineRules {
    latency_tolerance: Option<String>,
    rps_tolerance: Option<String>,
    fail_ratio_tolerance: Option<String>,
    alpha: Option<f64>,
}

/// Reads a thresholds file: its rules, and its baseline tolerances applied over `tolerances`.
pub fn read_thresholds_file(path: &Path, tolerances: &mut Tolerances) -> Result<Vec<Threshold>> {
    let text = read_input(path)?;
    let text = String::from_utf8(text).map_err(|_| AnalyzeError::malformed(path, "not UTF-8 text"))?;
    let file: ThresholdsFile = toml::from_str(&text).map_err(|err| {
        let message = err.message().to_owned();
        let line = err
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        AnalyzeError::malformed(
            path,
            match line {
                Some(line) => format!("line {line}: {message}"),
                None => message,
            },
        )
    })?;
    let mut rules = Vec::new();
    for expression in &file.thresholds {
        rules.push(Threshold::parse(expression)?);
    }
    for (name, endpoint) in &file.endpoints {
        for expression in &endpoint.thresholds {
            let mut rule = Threshold::parse(expression)?;
            if rule.endpoint.is_some() || rule.metric.is_run_level() {
                return Err(AnalyzeError::threshold(
                    expression,
                    format!("not a rule for endpoint {name:?}"),
                ));
            }
            rule.endpoint = Some(name.clone());
            rule.expression = format!("name:{name}:{}", rule.expression);
            rules.push(rule);
        }
    }
    if let Some(baseline) = file.baseline {
        let ratio = |text: &Option<String>, into: &mut f64| -> Result<()> {
            if let Some(text) = text {
                *into = parse_ratio(text).map_err(|message| AnalyzeError::malformed(path, message))?;
            }
            Ok(())
        };
        ratio(&baseline.latency_tolerance, &mut tolerances.latency)?;
        ratio(&baseline.rps_tolerance, &mut tolerances.rps)?;
        ratio(&baseline.fail_ratio_tolerance, &mut tolerances.fail_ratio)?;
        if let Some(alpha) = baseline.alpha {
            if !(alpha > 0.0 && alpha < 0.5) {
                return Err(AnalyzeError::malformed(
                    path,
                    "baseline.alpha must be between 0 and 0.5",
                ));
            }
            tolerances.alpha = alpha;
        }
    }
    Ok(rules)
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // limits parsed from short decimals are exact
mod tests {
    use super::*;

    #[test]
    fn parses_k6_style_rules() {
        let rule = Threshold::parse("p95<100ms").unwrap();
        assert_eq!(
            (rule.endpoint, rule.metric, rule.op, rule.limit),
            (None, Metric::Percentile(95.0), Op::Lt, 100.0)
        );
        let rule = Threshold::parse("fail_ratio<1%").unwrap();
        assert_eq!((rule.metric, rule.limit), (Metric::FailRatio, 0.01));
        let rule = Threshold::parse("name:/queue/[id]/pop:p99<50ms").unwrap();
        assert_eq!(rule.endpoint.as_deref(), Some("/queue/[id]/pop"));
        assert_eq!((rule.metric, rule.limit), (Metric::Percentile(99.0), 50.0));
        let rule = Threshold::parse("name:/a:b:c:p(99.9) <= 1.5s").unwrap();
        assert_eq!(rule.endpoint.as_deref(), Some("/a:b:c"));
        assert_eq!(
            (rule.metric, rule.op, rule.limit),
            (Metric::Percentile(99.9), Op::Le, 1500.0)
        );
        let rule = Threshold::parse("lost==0").unwrap();
        assert_eq!((rule.metric, rule.op), (Metric::Integrity("lost".to_owned()), Op::Eq));
        assert_eq!(Threshold::parse("max < 500us").unwrap().limit, 0.5);
        assert_eq!(Threshold::parse("rps>=50").unwrap().op, Op::Ge);
        assert_eq!(Threshold::parse("saturated==0").unwrap().metric, Metric::Saturated);
    }

    #[test]
    fn bad_rules_say_why() {
        for (bad, expected) in [
            ("p95", "no comparison"),
            ("p95<fast", "not a number"),
            ("latency<100ms", "unknown metric \"latency\""),
            ("p101<1", "unknown metric"),
            ("fail_ratio<1ms", "unit \"ms\" does not fit fail_ratio"),
            ("rps<5%", "unit \"%\" does not fit rps"),
            ("name:/x:lost==0", "about the whole run"),
            ("name:p95<1", "expected name:"),
        ] {
            let err = Threshold::parse(bad).unwrap_err().to_string();
            assert!(err.contains(expected), "{bad}: {err}");
        }
    }

    #[test]
    fn thresholds_file() {
        let path = crate::analyze::inputs::tests::tempdir().join("t.toml");
        std::fs::write(
            &path,
            "thresholds = [\"p95<100ms\", \"lost==0\"]\n[endpoints.\"/queue/[id]/pop\"]\nthresholds = [\"p99<50ms\"]\n\
             [baseline]\nlatency_tolerance = \"20%\"\nalpha = 0.05\n",
        )
        .unwrap();
        let mut tolerances = Tolerances::default();
        let rules = read_thresholds_file(&path, &mut tolerances).unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[2].expression, "name:/queue/[id]/pop:p99<50ms");
        assert_eq!((tolerances.latency, tolerances.alpha, tolerances.rps), (0.2, 0.05, 0.1));
        std::fs::write(&path, "thresholds = [\"p95<100ms\"]\nthreshold = 1\n").unwrap();
        let err = read_thresholds_file(&path, &mut tolerances).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("threshold"), "{err}");
    }

    #[test]
    fn ratios() {
        assert_eq!(parse_ratio("10%"), Ok(0.1));
        assert_eq!(parse_ratio("0.25"), Ok(0.25));
        assert!(parse_ratio("-1%").is_err() && parse_ratio("lots").is_err());
    }
}
