//! Markdown, for a CI job summary (`>> $GITHUB_STEP_SUMMARY`).

use std::fmt::Write as _;

use super::report::{comparison_rows, integrity_items, row_cells, Report, COMPARISON_HEADER, ROW_HEADER};

/// A cell's text with the characters that would break a Markdown table escaped.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\").replace('|', "\\|").replace('\n', " ")
}

fn table(out: &mut String, header: &[&str], rows: impl Iterator<Item = Vec<String>>, right_from: usize) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let aligns: Vec<&str> = (0..header.len())
        .map(|i| if i >= right_from { "---:" } else { "---" })
        .collect();
    let _ = writeln!(out, "|{}|", aligns.join("|"));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

#[must_use]
pub fn render(report: &Report<'_>) -> String {
    let analysis = report.analysis;
    let mut out = String::new();
    let verdict = if report.passed() { "✅" } else { "❌" };
    let _ = writeln!(out, "## Load test: `{}` {verdict}\n", cell(&analysis.prefix));
    if let Some(d) = analysis.duration_s {
        let _ = writeln!(out, "Duration {d:.1} s. ");
    }
    if !report.verdicts_only {
        table(&mut out, &ROW_HEADER, analysis.rows().map(|e| row_cells(e).to_vec()), 1);
        let used: Vec<String> = analysis.used.iter().map(|f| format!("`{}`", f.kind.suffix())).collect();
        let lacking: Vec<String> = analysis
            .lacking
            .iter()
            .map(|f| format!("`{}`", f.kind.suffix()))
            .collect();
        let _ = writeln!(
            out,
            "\nLatency *exact* = pushpop-load's HDR histograms, *locust* = Locust's rounded figures. Used {}; lacking {}.",
            if used.is_empty() { "nothing".to_owned() } else { used.join(", ") },
            if lacking.is_empty() { "nothing".to_owned() } else { lacking.join(", ") },
        );
        if !analysis.failures.is_empty() {
            let _ = writeln!(out, "\n### Failures\n");
            table(
                &mut out,
                &["Occurrences", "Endpoint", "Error"],
                analysis.failures.iter().take(20).map(|f| {
                    vec![
                        f.occurrences.to_string(),
                        format!("{} {}", f.method, f.name),
                        f.error.clone(),
                    ]
                }),
                99,
            );
        }
        if let Some(integrity) = &analysis.integrity {
            let _ = writeln!(out, "\n### Integrity\n");
            table(
                &mut out,
                &["Figure", "Value"],
                integrity_items(integrity).into_iter().map(|(k, v)| vec![k, v]),
                1,
            );
        }
        for note in &analysis.notes {
            let _ = writeln!(out, "\n> {}", cell(note));
        }
    }
    if !report.verdicts.is_empty() {
        let _ = writeln!(out, "\n### Thresholds\n");
        table(
            &mut out,
            &["", "Threshold", "Subject", "Detail"],
            report.verdicts.iter().map(|v| {
                vec![
                    if v.ok { "✅" } else { "❌" }.to_owned(),
                    format!("`{}`", v.expression),
                    v.subject.clone(),
                    v.detail.clone(),
                ]
            }),
            99,
        );
    }
    if let Some(comparison) = &report.comparison {
        let _ = writeln!(out, "\n### Against baseline `{}`\n", cell(&comparison.baseline));
        table(&mut out, &COMPARISON_HEADER, comparison_rows(comparison), 99);
    }
    let _ = writeln!(out, "\n**Verdict: {}**", report.summary());
    out
}
