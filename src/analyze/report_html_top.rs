//! The HTML report's first screen and its integrity section in words: what a person who opens the report after a
//! failed night run wants before any table — the verdict on each thing that can fail a run (thresholds, the
//! baseline, queue integrity, the load generator's own CPU) and the run's headline figures as cards.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::charts::format_elapsed;
use super::model::{Analysis, Source};
use super::report::{ms, percent, Report};
use super::report_junit::escape;

/// Where the integrity figures are explained, relative to the sources' root.
pub const INTEGRITY_DOC: &str = "docs/INTEGRITY.md";

/// "1,234,567": counts people read at a glance.
#[must_use]
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        format_elapsed(seconds)
    }
}

/// One line of the verdict: its state ("pass", "fail" or "none"), what it is about, and what was found.
struct Check {
    state: &'static str,
    subject: &'static str,
    text: String,
}

fn thresholds_check(report: &Report<'_>) -> Check {
    let failed: Vec<&str> = report
        .verdicts
        .iter()
        .filter(|v| !v.ok)
        .map(|v| v.expression.as_str())
        .collect();
    let n = report.verdicts.len();
    let (state, text) = match (n, failed.len()) {
        (0, _) => ("none", "none set".to_owned()),
        (n, 0) => ("pass", format!("all {n} hold")),
        (n, f) => ("fail", format!("{f} of {n} failed: {}", failed.join(", "))),
    };
    Check {
        state,
        subject: "Thresholds",
        text,
    }
}

fn baseline_check(report: &Report<'_>) -> Check {
    let (state, text) = match &report.comparison {
        None => ("none", "no baseline given".to_owned()),
        Some(comparison) => {
            let regressions = comparison.regressions();
            if regressions.is_empty() {
                ("pass", format!("no regression against {}", comparison.baseline))
            } else {
                // the run as a whole first (the comparison lists it last), then endpoints; the rest in the table
                let mut names: Vec<String> = regressions
                    .iter()
                    .rev()
                    .map(|(e, m)| format!("{e} {}", m.metric))
                    .collect();
                let more = names.len().saturating_sub(4);
                names.truncate(4);
                if more > 0 {
                    names.push(format!("{more} more"));
                }
                let n = regressions.len();
                let plural = if n == 1 { "" } else { "s" };
                let text = format!(
                    "{n} regression{plural} against {}: {}",
                    comparison.baseline,
                    names.join(", ")
                );
                ("fail", text)
            }
        }
    };
    Check {
        state,
        subject: "Baseline",
        text,
    }
}

fn integrity_check(analysis: &Analysis) -> Check {
    let (state, text) = match &analysis.integrity {
        None => ("none", "not checked (no _integrity.json)".to_owned()),
        Some(map) => match map.get("ok") {
            Some(Value::Bool(true)) => ("pass", integrity_sentence(map)),
            Some(Value::Bool(false)) => ("fail", integrity_sentence(map)),
            _ => ("none", integrity_sentence(map)),
        },
    };
    Check {
        state,
        subject: "Queue integrity",
        text,
    }
}

fn generator_check(analysis: &Analysis) -> Check {
    let generator = analysis.resources_summary.as_ref().and_then(|m| m.get("generator"));
    let peak = generator
        .and_then(|g| g.get("peak_cpu_pct"))
        .and_then(Value::as_f64)
        .map_or_else(String::new, |p| format!(" (peak {p:.0}% of a core)"));
    let (state, text) = match generator.and_then(|g| g.get("saturated")).and_then(Value::as_bool) {
        Some(false) => ("pass", format!("not saturated{peak}")),
        Some(true) => (
            "fail",
            format!("saturated{peak}: above 90% of a core it measured its own queueing, so latencies are suspect"),
        ),
        None => ("none", "not measured (run with the resource monitor)".to_owned()),
    };
    Check {
        state,
        subject: "Load generator",
        text,
    }
}

fn card(out: &mut String, key: &str, title: &str, value: &str, note: &str) {
    let _ = write!(
        out,
        "<div class=\"card\" data-card=\"{key}\"><div class=\"k\">{}</div><div class=\"v\">{}</div><div class=\"muted\">{}</div></div>",
        escape(title),
        escape(value),
        escape(note)
    );
}

/// The header: the overall verdict, one line per check, and the headline cards.
pub fn first_screen(out: &mut String, report: &Report<'_>) {
    let analysis = report.analysis;
    let verdict_class = if report.passed() { "pass" } else { "fail" };
    let _ = writeln!(
        out,
        "<header id=\"summary\"><h1>Load test report</h1><p class=\"prefix\"><code>{}</code></p><p class=\"verdict {verdict_class}\" id=\"verdict\">{}</p>",
        escape(&analysis.prefix),
        escape(&report.summary())
    );
    out.push_str("<ul class=\"checks\">");
    for check in [
        thresholds_check(report),
        baseline_check(report),
        integrity_check(analysis),
        generator_check(analysis),
    ] {
        let mark = match check.state {
            "pass" => "✓",
            "fail" => "✗",
            _ => "–",
        };
        let _ = write!(
            out,
            "<li class=\"{}\" data-check=\"{}\"><span class=\"mark\">{mark}</span> <b>{}</b>: {}</li>",
            check.state,
            check.subject,
            check.subject,
            escape(&check.text)
        );
    }
    out.push_str("</ul>\n<div class=\"cards\">");
    let total = &analysis.total;
    let users = analysis
        .history
        .as_ref()
        .and_then(super::history::History::aggregated)
        .and_then(|s| s.summary.peak_users);
    card(
        out,
        "duration",
        "Duration",
        &analysis.duration_s.map_or_else(|| "-".to_owned(), duration),
        "",
    );
    card(
        out,
        "users",
        "Users",
        &users.map_or_else(|| "-".to_owned(), |u| format!("{u:.0}")),
        "peak",
    );
    card(out, "requests", "Requests", &grouped(total.requests), "");
    card(
        out,
        "failures",
        "Failures",
        &percent(total.fail_ratio()),
        &format!("{} failed", grouped(total.failures)),
    );
    card(
        out,
        "rps",
        "Requests/s",
        &total.rps.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}")),
        "mean",
    );
    let source = if total.latency_source == Source::Exact {
        "ms, exact"
    } else {
        "ms, Locust's (rounded)"
    };
    for (key, title, value) in [
        ("p50", "p50", total.percentile(50.0)),
        ("p95", "p95", total.percentile(95.0)),
        ("p99", "p99", total.percentile(99.0)),
        ("max", "Max", total.max_ms),
    ] {
        card(out, key, title, &ms(value), source);
    }
    out.push_str("</div></header>\n");
}

/// An integrity count as the checker wrote it: absent, `null` (not known: `lost` when the queues were not
/// drained), or a number.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Count {
    Absent,
    Unknown,
    Known(u64),
}

fn count(map: &Map<String, Value>, key: &str) -> Count {
    match map.get(key) {
        None => Count::Absent,
        Some(value) => value.as_u64().map_or(Count::Unknown, Count::Known),
    }
}

/// What a figure that is not zero means, in one line (docs/INTEGRITY.md has the whole definitions).
const MEANINGS: [(&str, &str, &str); 9] = [
    (
        "lost",
        "lost",
        "acknowledged by the service and never popped although the queues were drained",
    ),
    (
        "duplicated",
        "duplicated",
        "delivered more than once (a tolerated copy of a retried push excepted)",
    ),
    (
        "out_of_order",
        "out of order",
        "delivered after a later item of the same queue, priority and producer",
    ),
    (
        "priority_inversions",
        "priority inversions",
        "a more urgent item came after a less urgent one in the same answer",
    ),
    (
        "foreign",
        "foreign",
        "popped without a marker or with one this run never sent",
    ),
    (
        "popped_rejected",
        "popped though rejected",
        "the service stored a push it had refused",
    ),
    (
        "unpopped",
        "unpopped",
        "acknowledged and never popped (lost only when the queues were drained)",
    ),
    (
        "indeterminate",
        "indeterminate",
        "pushes with an unknown outcome (a timeout, a reset, a 5xx)",
    ),
    ("rejected", "rejected", "pushes the service refused (4xx)"),
];

/// "750 items acknowledged, 751 popped, 0 lost, 0 duplicated, 0 out of order", and any other count that is not
/// zero.
#[must_use]
pub fn integrity_sentence(map: &Map<String, Value>) -> String {
    let shown = |value: Count| match value {
        Count::Known(n) => grouped(n),
        Count::Unknown => "unknown".to_owned(),
        Count::Absent => "?".to_owned(),
    };
    let mut parts = vec![
        format!("{} items acknowledged", shown(count(map, "acknowledged"))),
        format!("{} popped", shown(count(map, "popped"))),
    ];
    for (key, words, _) in MEANINGS.iter().take(3) {
        match count(map, key) {
            Count::Unknown if *key == "lost" => parts.push("lost unknown (the queues were not drained)".to_owned()),
            value => parts.push(format!("{} {words}", shown(value))),
        }
    }
    for (key, words, _) in MEANINGS.iter().skip(3) {
        if let Count::Known(n) = count(map, key) {
            if n > 0 {
                parts.push(format!("{} {words}", grouped(n)));
            }
        }
    }
    parts.join(", ")
}

/// The integrity section: the sentence, a line for each figure that is not zero, and where to read more.
pub fn integrity_section(out: &mut String, analysis: &Analysis) {
    let Some(map) = &analysis.integrity else {
        let _ = writeln!(
            out,
            "<p class=\"muted\">Not checked: no <code>{}</code>.</p>",
            escape(&format!("{}_integrity.json", analysis.prefix))
        );
        return;
    };
    let class = match map.get("ok") {
        Some(Value::Bool(true)) => "pass",
        Some(Value::Bool(false)) => "fail",
        _ => "",
    };
    let _ = writeln!(
        out,
        "<p class=\"sentence {class}\" id=\"integrity-sentence\">{}.</p>",
        escape(&integrity_sentence(map))
    );
    let meanings: Vec<String> = MEANINGS
        .iter()
        .filter(|(key, _, _)| matches!(count(map, key), Count::Known(n) if n > 0))
        .map(|(key, words, meaning)| {
            format!(
                "<li><b>{}</b> {}: {}</li>",
                match count(map, key) {
                    Count::Known(n) => grouped(n),
                    _ => String::new(),
                },
                words,
                meaning
            )
        })
        .collect();
    if !meanings.is_empty() {
        let _ = writeln!(out, "<ul class=\"meanings\">{}</ul>", meanings.join(""));
    }
    let _ = writeln!(
        out,
        "<p class=\"muted\">What each figure counts: <a href=\"{INTEGRITY_DOC}\">{INTEGRITY_DOC}</a> in pushpop-load's sources.</p>"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentence_and_numbers() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(1234), "1,234");
        assert_eq!(grouped(1_234_567), "1,234,567");
        let map: Map<String, Value> = serde_json::from_str(
            r#"{"ok": true, "acknowledged": 750, "popped": 751, "lost": 0, "duplicated": 0, "out_of_order": 0,
                "foreign": 0, "indeterminate": 1}"#,
        )
        .unwrap();
        assert_eq!(
            integrity_sentence(&map),
            "750 items acknowledged, 751 popped, 0 lost, 0 duplicated, 0 out of order, 1 indeterminate"
        );
        let map: Map<String, Value> = serde_json::from_str(
            r#"{"ok": false, "acknowledged": 2000, "popped": 1995, "lost": null, "duplicated": 37}"#,
        )
        .unwrap();
        assert_eq!(
            integrity_sentence(&map),
            "2,000 items acknowledged, 1,995 popped, lost unknown (the queues were not drained), 37 duplicated, ? out of order"
        );
    }
}
