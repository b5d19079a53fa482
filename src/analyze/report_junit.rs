//! `JUnit` XML, for CI systems that show test results: one test case per threshold (and subject), and one per
//! baseline figure.

use std::fmt::Write as _;

use super::baseline::Status;
use super::report::{change, Report};

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // characters XML 1.0 cannot carry at all
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[must_use]
pub fn render(report: &Report<'_>) -> String {
    let mut thresholds = String::new();
    let mut threshold_failures = 0;
    for verdict in &report.verdicts {
        let name = escape(&format!("{} [{}]", verdict.expression, verdict.subject));
        if verdict.ok {
            let _ = writeln!(
                thresholds,
                "    <testcase classname=\"pushpop-load.thresholds\" name=\"{name}\"><system-out>{}</system-out></testcase>",
                escape(&verdict.detail)
            );
        } else {
            threshold_failures += 1;
            let _ = writeln!(
                thresholds,
                "    <testcase classname=\"pushpop-load.thresholds\" name=\"{name}\"><failure message=\"{}\" type=\"threshold\"/></testcase>",
                escape(&verdict.detail)
            );
        }
    }
    let mut baseline = String::new();
    let (mut baseline_cases, mut baseline_failures) = (0, 0);
    if let Some(comparison) = &report.comparison {
        for endpoint in &comparison.endpoints {
            for metric in &endpoint.metrics {
                baseline_cases += 1;
                let name = escape(&format!("{} {}", endpoint.label(), metric.metric));
                let text = escape(&format!(
                    "{}: {} ({})",
                    metric.status.as_str(),
                    change(metric.metric, metric.baseline, metric.current, metric.relative),
                    metric.test
                ));
                if metric.status == Status::Regression {
                    baseline_failures += 1;
                    let _ = writeln!(
                        baseline,
                        "    <testcase classname=\"pushpop-load.baseline\" name=\"{name}\"><failure message=\"{text}\" type=\"regression\"/></testcase>"
                    );
                } else {
                    let _ = writeln!(
                        baseline,
                        "    <testcase classname=\"pushpop-load.baseline\" name=\"{name}\"><system-out>{text}</system-out></testcase>"
                    );
                }
            }
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"pushpop-load {}\" tests=\"{}\" failures=\"{}\">",
        escape(&report.analysis.prefix),
        report.verdicts.len() + baseline_cases,
        threshold_failures + baseline_failures
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"thresholds\" tests=\"{}\" failures=\"{threshold_failures}\">\n{thresholds}  </testsuite>",
        report.verdicts.len()
    );
    if report.comparison.is_some() {
        let _ = writeln!(
            out,
            "  <testsuite name=\"baseline\" tests=\"{baseline_cases}\" failures=\"{baseline_failures}\">\n{baseline}  </testsuite>"
        );
    }
    out.push_str("</testsuites>\n");
    out
}
