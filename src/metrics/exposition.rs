//! The text a scrape gets: Prometheus's exposition format 0.0.4, which Prometheus and `OpenMetrics` scrapers read.

use std::fmt::Write as _;

use serde::Deserialize;

use super::buckets::bucket_bounds;
use crate::integrity::Report;
use crate::openmodel::Counters;
use crate::stats::{Snapshot, SnapshotEntry};

/// The `Content-Type` of the text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One open-model run: a schedule a driver keeps (or kept), on which worker.
#[derive(Debug, Clone, Deserialize)]
pub struct OpenModelRun {
    pub schedule: String,
    #[serde(default)]
    pub worker: Option<String>,
    #[serde(flatten)]
    pub counters: Counters,
}

/// Everything a scrape shows, as the master (or the single process) holds it now.
pub struct Exposition<'a> {
    /// The exact histograms (µs), per (method, name).
    pub requests: &'a Snapshot,
    /// The integrity ledger's figures so far, when pushes were marked.
    pub integrity: Option<&'a Report>,
    pub open_model: &'a [OpenModelRun],
    /// The resource monitor's latest sample: (`"<source> <metric>"` column, value; `None` for a gap).
    pub resources: &'a [(String, Option<f64>)],
}

/// A label value with `\`, `"` and line feeds escaped, as the format asks.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A metric-name fragment: anything but letters, digits and `_` becomes `_`.
fn name_part(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect()
}

/// Microseconds as seconds, in decimal, exactly (`1234` → `0.001234`): each bound's label is the same text at
/// every scrape.
fn seconds(micros: u64) -> String {
    let (whole, fraction) = (micros / 1_000_000, micros % 1_000_000);
    if fraction == 0 {
        whole.to_string()
    } else {
        let text = format!("{whole}.{fraction:06}");
        text.trim_end_matches('0').to_owned()
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn endpoint_labels(entry: &SnapshotEntry) -> String {
    format!("method=\"{}\",name=\"{}\"", escape(&entry.method), escape(&entry.name))
}

#[allow(clippy::cast_precision_loss)] // µs sums stay far below 2^53
fn histograms(out: &mut String, requests: &Snapshot) {
    const NAME: &str = "pushpop_request_duration_seconds";
    family(
        out,
        NAME,
        "histogram",
        "Response times per endpoint from the exact HDR histograms (1 us, 3 digits), in log-linear buckets at most \
         1/64 of their bound wide",
    );
    for entry in requests.entries.iter().filter(|entry| !entry.counts.is_empty()) {
        let labels = endpoint_labels(entry);
        let (min, max) = (entry.counts[0].0, entry.counts[entry.counts.len() - 1].0);
        // each HDR bucket counts at the value HDR reports for it (its highest equivalent value, the one
        // `_hdr.json`'s percentiles give), so a bound's count is exactly the samples HDR reports at or below it
        let mut buckets = entry.counts.iter().peekable();
        let mut seen = 0u64;
        for bound in bucket_bounds(min, max) {
            while let Some(&&(value, count)) = buckets.peek() {
                if value > bound {
                    break;
                }
                seen += count;
                buckets.next();
            }
            let _ = writeln!(out, "{NAME}_bucket{{{labels},le=\"{}\"}} {seen}", seconds(bound));
        }
        let total = entry.count();
        let sum: f64 = entry
            .counts
            .iter()
            .map(|&(value, count)| value as f64 * count as f64)
            .sum();
        let _ = writeln!(out, "{NAME}_bucket{{{labels},le=\"+Inf\"}} {total}");
        let _ = writeln!(out, "{NAME}_sum{{{labels}}} {}", sum / 1e6);
        let _ = writeln!(out, "{NAME}_count{{{labels}}} {total}");
    }
}

fn counters(out: &mut String, requests: &Snapshot) {
    type Figure = (&'static str, &'static str, fn(&SnapshotEntry) -> u64);
    let figures: [Figure; 3] = [
        (
            "pushpop_requests_total",
            "Requests per endpoint, as Locust counts them (every events.request)",
            SnapshotEntry::count,
        ),
        (
            "pushpop_request_failures_total",
            "Failed requests per endpoint",
            |entry| entry.failures,
        ),
        (
            "pushpop_items_total",
            "Queue items the requests carried (what pops returned)",
            |entry| entry.items,
        ),
    ];
    for (name, help, figure) in figures {
        family(out, name, "counter", help);
        for entry in &requests.entries {
            let _ = writeln!(out, "{name}{{{}}} {}", endpoint_labels(entry), figure(entry));
        }
    }
}

fn integrity(out: &mut String, report: &Report) {
    let figures = [
        ("acknowledged", report.acknowledged, "Pushes answered with success"),
        (
            "indeterminate",
            report.indeterminate,
            "Pushes whose outcome is unknown (timeout, reset, 5xx)",
        ),
        ("rejected", report.rejected, "Pushes refused for certain (4xx)"),
        ("popped", report.popped, "Items the checked pops returned"),
        ("unpopped", report.unpopped, "Acknowledged items not popped yet"),
        (
            "duplicated",
            report.duplicated,
            "Deliveries beyond the first of an item",
        ),
        (
            "out_of_order",
            report.out_of_order,
            "Items popped before an earlier push of the same priority",
        ),
        (
            "priority_inversions",
            report.priority_inversions,
            "Items popped before a higher-priority item",
        ),
        ("foreign", report.foreign, "Popped items this run never pushed"),
        (
            "popped_rejected",
            report.popped_rejected,
            "Rejected pushes that were popped anyway",
        ),
        (
            "interrupted_pops",
            report.interrupted_pops,
            "Pops whose answer was never read",
        ),
        ("queues", report.queues, "Queues the run used"),
        ("producers", report.producers, "Producers that pushed"),
    ];
    for (name, value, help) in figures {
        let metric = format!("pushpop_integrity_{name}");
        family(out, &metric, "gauge", help);
        let _ = writeln!(out, "{metric} {value}");
    }
    // lost is known only once the queues are drained, at the end; until then there is no such figure
    if let Some(lost) = report.lost {
        family(
            out,
            "pushpop_integrity_lost",
            "gauge",
            "Acknowledged items never popped, queues drained",
        );
        let _ = writeln!(out, "pushpop_integrity_lost {lost}");
    }
}

#[allow(clippy::cast_precision_loss)]
fn open_model(out: &mut String, runs: &[OpenModelRun]) {
    type Figure = (&'static str, &'static str, &'static str, fn(&Counters) -> f64);
    if runs.is_empty() {
        return;
    }
    let figures: [Figure; 7] = [
        (
            "pushpop_openmodel_due_total",
            "counter",
            "Arrivals the schedule asked for",
            |c| c.scheduled as f64,
        ),
        ("pushpop_openmodel_started_total", "counter", "Requests started", |c| {
            c.started as f64
        }),
        (
            "pushpop_openmodel_late_total",
            "counter",
            "Requests started behind their time",
            |c| c.late as f64,
        ),
        (
            "pushpop_openmodel_dropped_total",
            "counter",
            "Arrivals not started: too many in flight",
            |c| c.dropped as f64,
        ),
        (
            "pushpop_openmodel_completed_total",
            "counter",
            "Requests completed",
            |c| c.completed as f64,
        ),
        ("pushpop_openmodel_in_flight", "gauge", "Requests in flight", |c| {
            c.in_flight as f64
        }),
        (
            "pushpop_openmodel_max_lag_seconds",
            "gauge",
            "The largest delay of a start behind its time",
            |c| c.max_lag_us as f64 / 1e6,
        ),
    ];
    for (name, kind, help, figure) in figures {
        family(out, name, kind, help);
        for run in runs {
            let worker = run.worker.as_deref().unwrap_or("local");
            let _ = writeln!(
                out,
                "{name}{{schedule=\"{}\",worker=\"{}\"}} {}",
                escape(&run.schedule),
                escape(worker),
                figure(&run.counters)
            );
        }
    }
}

fn resources(out: &mut String, columns: &[(String, Option<f64>)]) {
    // one family per metric, a series per monitored process (or cgroup, container, database)
    let mut metrics: Vec<(String, Vec<(&str, f64)>)> = Vec::new();
    for (column, value) in columns {
        let (Some((source, metric)), Some(value)) = (column.rsplit_once(' '), value) else {
            continue;
        };
        let name = format!("pushpop_resource_{}", name_part(metric));
        match metrics.iter_mut().find(|(known, _)| *known == name) {
            Some((_, series)) => series.push((source, *value)),
            None => metrics.push((name, vec![(source, *value)])),
        }
    }
    for (name, series) in metrics {
        family(
            out,
            &name,
            "gauge",
            "The resource monitor's latest sample (docs/MONITOR.md names the metrics)",
        );
        for (source, value) in series {
            let _ = writeln!(out, "{name}{{process=\"{}\"}} {value}", escape(source));
        }
    }
}

/// The whole text.
#[must_use]
pub fn render(exposition: &Exposition<'_>) -> String {
    let mut out = String::new();
    histograms(&mut out, exposition.requests);
    counters(&mut out, exposition.requests);
    if let Some(report) = exposition.integrity.filter(|report| report.queues > 0) {
        integrity(&mut out, report);
    }
    open_model(&mut out, exposition.open_model);
    resources(&mut out, exposition.resources);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Recorder;

    #[test]
    fn histogram_buckets_count_what_hdr_reports() {
        let mut recorder = Recorder::new();
        for us in [100u32, 150, 150, 1600, 2000] {
            recorder.record("POST", "/queue/[id]/push", f64::from(us) / 1000.0, us == 1600);
        }
        recorder.record_items("POST", "a \"quoted\"\\name", 3);
        let text = render(&Exposition {
            requests: &recorder.snapshot(),
            integrity: None,
            open_model: &[],
            resources: &[("target cpu_pct".into(), Some(12.5)), ("target fds".into(), None)],
        });
        let labels = "method=\"POST\",name=\"/queue/[id]/push\"";
        let bucket = |le: &str| -> u64 {
            let prefix = format!("pushpop_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} ");
            let line = text
                .lines()
                .find(|line| line.starts_with(&prefix))
                .unwrap_or_else(|| panic!("{le}"));
            line[prefix.len()..].parse().unwrap()
        };
        assert_eq!(bucket("0.0001"), 1);
        assert_eq!(bucket("0.00015"), 3);
        assert_eq!(bucket("0.0016"), 4);
        assert_eq!(bucket("0.002"), 5);
        assert_eq!(bucket("+Inf"), 5);
        assert!(text.contains(&format!("pushpop_request_duration_seconds_count{{{labels}}} 5\n")));
        assert!(text.contains(&format!("pushpop_request_duration_seconds_sum{{{labels}}} 0.004\n")));
        assert!(text.contains(&format!("pushpop_request_failures_total{{{labels}}} 1\n")));
        assert!(text.contains("pushpop_items_total{method=\"POST\",name=\"a \\\"quoted\\\"\\\\name\"} 3\n"));
        assert!(text.contains("pushpop_resource_cpu_pct{process=\"target\"} 12.5\n"));
        assert!(!text.contains("fds"));
        // every sample line is a name, optional labels and a number
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let value = line.rsplit_once(' ').unwrap().1;
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }

    #[test]
    fn seconds_are_exact_decimals() {
        assert_eq!(seconds(0), "0");
        assert_eq!(seconds(1234), "0.001234");
        assert_eq!(seconds(1_500_000), "1.5");
        assert_eq!(seconds(2_000_000), "2");
    }
}
