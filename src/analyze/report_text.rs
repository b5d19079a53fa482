//! The terminal report: a per-endpoint table, then failures, integrity, verdicts and the baseline comparison.

use std::fmt::Write as _;

use super::baseline::Comparison;
use super::report::{change, integrity_items, row_cells, Report, ROW_HEADER};

fn table(rows: &[Vec<String>], right_from: usize) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if c > 0 {
                line.push_str("  ");
            }
            if c >= right_from {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if i == 0 {
            let width = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
            out.push_str(&"-".repeat(width));
            out.push('\n');
        }
    }
    out
}

#[must_use]
pub fn render(report: &Report<'_>) -> String {
    let analysis = report.analysis;
    let mut out = String::new();
    let duration = analysis.duration_s.map_or_else(String::new, |d| format!(", {d:.1} s"));
    let command = if report.verdicts_only { "check" } else { "analyze" };
    let _ = writeln!(out, "pushpop-load {command}: {}{duration}", analysis.prefix);
    if !report.verdicts_only {
        for file in &analysis.used {
            let note = if file.note.is_empty() {
                String::new()
            } else {
                format!(": {}", file.note)
            };
            let _ = writeln!(out, "  used     {} ({}{note})", file.path, file.kind.describe());
        }
        let lacking: Vec<String> = analysis
            .lacking
            .iter()
            .map(|file| {
                let suffix = file.kind.suffix();
                if file.note == "not present" {
                    suffix.to_owned()
                } else {
                    format!("{suffix} ({})", file.note)
                }
            })
            .collect();
        if !lacking.is_empty() {
            let _ = writeln!(out, "  lacking  {}", lacking.join(", "));
        }
        out.push('\n');
        let mut rows = vec![ROW_HEADER.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()];
        rows.extend(analysis.rows().map(|e| row_cells(e).to_vec()));
        out.push_str(&table(&rows, 1));
        let (exact, locust) = analysis.sources();
        let mut kinds = Vec::new();
        if exact {
            kinds.push("exact = pushpop-load's HDR histograms (µs resolution)");
        }
        if locust {
            kinds.push("locust = Locust's rounded figures");
        }
        let _ = writeln!(out, "Latency: {}", kinds.join("; "));
        if !analysis.failures.is_empty() {
            let _ = writeln!(out, "\nFailures:");
            for failure in analysis.failures.iter().take(10) {
                let _ = writeln!(
                    out,
                    "  {:>7}×  {} {}: {}",
                    failure.occurrences, failure.method, failure.name, failure.error
                );
            }
            if analysis.failures.len() > 10 {
                let _ = writeln!(out, "  … {} more kinds", analysis.failures.len() - 10);
            }
        }
        if !analysis.exceptions.is_empty() {
            let total: u64 = analysis.exceptions.iter().map(|e| e.count).sum();
            let _ = writeln!(
                out,
                "\nExceptions in user code: {total} (first: {})",
                analysis.exceptions[0].message
            );
        }
        if let Some(integrity) = &analysis.integrity {
            let items: Vec<String> = integrity_items(integrity)
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let _ = writeln!(out, "\nIntegrity: {}", items.join("  "));
        }
        for note in &analysis.notes {
            let _ = writeln!(out, "\nNote: {note}");
        }
    }
    if !report.verdicts.is_empty() {
        let _ = writeln!(out, "\nThresholds:");
        for verdict in &report.verdicts {
            let _ = writeln!(
                out,
                "  {}  {}  [{}] {}",
                if verdict.ok { "PASS" } else { "FAIL" },
                verdict.expression,
                verdict.subject,
                verdict.detail
            );
        }
    }
    if let Some(comparison) = &report.comparison {
        baseline(&mut out, comparison, report.verdicts_only);
    }
    let _ = writeln!(out, "\nVerdict: {}", report.summary());
    out
}

fn baseline(out: &mut String, comparison: &Comparison, verdicts_only: bool) {
    let _ = writeln!(
        out,
        "\nBaseline {} (tolerances: latency +{:.0}%, req/s −{:.0}%, failures +{:.2} pp; alpha {}):",
        comparison.baseline,
        comparison.latency_tolerance * 100.0,
        comparison.rps_tolerance * 100.0,
        comparison.fail_ratio_tolerance * 100.0,
        comparison.alpha
    );
    let mut rows = vec![["Endpoint", "Metric", "Baseline → now", "Status", "Test"]
        .map(str::to_owned)
        .to_vec()];
    for endpoint in &comparison.endpoints {
        for metric in &endpoint.metrics {
            if verdicts_only && metric.status.as_str() != "REGRESSION" {
                continue;
            }
            rows.push(vec![
                endpoint.label(),
                metric.metric.to_owned(),
                change(metric.metric, metric.baseline, metric.current, metric.relative),
                metric.status.as_str().to_owned(),
                metric.test.clone(),
            ]);
        }
    }
    if rows.len() > 1 {
        out.push_str(&table(&rows, 99));
    }
    if !comparison.missing.is_empty() {
        let _ = writeln!(out, "  not in this run: {}", comparison.missing.join(", "));
    }
    if !comparison.new.is_empty() {
        let _ = writeln!(out, "  new in this run: {}", comparison.new.join(", "));
    }
}
