//! One self-contained HTML file: the first screen (`report_html_top.rs`), tables, and SVG charts drawn by plotters
//! inline — RPS, latency and failures over time, resource samples grouped on the same axis (`resource_groups.rs`),
//! the percentile spectrum from the exact histograms, integrity in words, the baseline comparison. No external script, style or font: it opens from an artifact store or an e-mail.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::charts::{bar_chart, colour, downsample, format_elapsed, line_chart, spectrum_label, Line};
use super::model::{label, micros_to_ms, Analysis, Source};
use super::report::{comparison_rows, row_cells, Report, COMPARISON_HEADER, ROW_HEADER};
use super::report_junit::escape;
use super::resource_groups;

/// Most lines one chart carries: beyond that a legend stops being readable.
const MAX_LINES: usize = 8;
const MAX_POINTS: usize = 1500;

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1000px;padding:1em 1.5em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{padding:.25em .6em;border-bottom:1px solid #eee;text-align:left}
th{background:#f6f6f6;cursor:pointer}td.n{text-align:right;font-variant-numeric:tabular-nums}tfoot td{font-weight:600;border-top:2px solid #ccc}
.verdict{display:inline-block;padding:.3em .8em;border-radius:4px;font-weight:600}.pass{background:#e3f5e1;color:#1d6b1d}
.fail{background:#fbe3e3;color:#9b1c1c}.REGRESSION{color:#9b1c1c;font-weight:600}.improved{color:#1d6b1d}.noise{color:#8a6d00}
figure{margin:1em 0}figure svg{max-width:100%;height:auto}.muted{color:#666;font-size:.9em}code{background:#f3f3f3;padding:0 .2em;overflow-wrap:anywhere}
.scroll{overflow-x:auto;max-width:100%}.checks{list-style:none;padding:0;margin:.4em 0}.checks li{margin:.2em 0}
.checks .pass .mark{color:#1d6b1d}.checks .fail .mark{color:#9b1c1c;font-weight:700}.checks .none .mark{color:#888}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(8.2em,1fr));gap:.5em;margin:.8em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.4em .6em}.card .k{font-size:.8em;color:#555;text-transform:uppercase;letter-spacing:.03em}
.card .v{font-size:1.35em;font-weight:600;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.sentence{font-size:1.1em}.sentence.pass{color:#1d6b1d}.sentence.fail{color:#9b1c1c}
@media (max-width:600px){body{padding:.5em .7em}h1{font-size:1.3em}}
";

const SCRIPT: &str = "
(function(){
  document.querySelectorAll('table.sortable').forEach(function(table){
    table.querySelectorAll('thead th').forEach(function(th,col){
      th.addEventListener('click',function(){
        var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows),dir=th.dataset.dir==='asc'?-1:1;
        th.dataset.dir=dir===1?'asc':'desc';
        rows.sort(function(a,b){
          var x=a.cells[col].textContent,y=b.cells[col].textContent,nx=parseFloat(x),ny=parseFloat(y);
          return dir*(isNaN(nx)||isNaN(ny)?x.localeCompare(y):nx-ny);
        });
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
  document.body.setAttribute('data-charts',String(document.querySelectorAll('figure svg').length));
  document.body.setAttribute('data-rendered','yes');
})();
";

fn figure(out: &mut String, svg: Option<String>, caption: &str) {
    if let Some(svg) = svg {
        let _ = writeln!(
            out,
            "<figure>{svg}<figcaption class=\"muted\">{}</figcaption></figure>",
            escape(caption)
        );
    }
}

fn table(
    out: &mut String,
    class: &str,
    header: &[&str],
    rows: &[Vec<String>],
    foot: Option<&[String]>,
    numeric_from: usize,
) {
    let _ = write!(out, "<div class=\"scroll\"><table class=\"{class}\"><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    let cells = |out: &mut String, row: &[String]| {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if i >= numeric_from { " class=\"n\"" } else { "" };
            let status = if cell == "REGRESSION" || cell == "improved" || cell == "noise" {
                format!(" class=\"{cell}\"")
            } else {
                class.to_owned()
            };
            let _ = write!(out, "<td{status}>{}</td>", escape(cell));
        }
        out.push_str("</tr>");
    };
    for row in rows {
        cells(out, row);
    }
    out.push_str("</tbody>");
    if let Some(foot) = foot {
        out.push_str("<tfoot>");
        cells(out, foot);
        out.push_str("</tfoot>");
    }
    out.push_str("</table></div>\n");
}

/// The run's time origin: the earliest timestamp of any timeline.
fn origin(analysis: &Analysis) -> Option<f64> {
    let history = analysis
        .history
        .iter()
        .flat_map(|h| &h.series)
        .filter_map(|s| s.timestamps.first());
    let intervals = analysis.intervals.iter().flatten().filter_map(|s| s.timestamps.first());
    let resources = analysis.resources.iter().filter_map(|r| r.timestamps.first());
    history
        .chain(intervals)
        .chain(resources)
        .copied()
        .filter(|t| t.is_finite())
        .reduce(f64::min)
}

fn points(t0: f64, timestamps: &[f64], values: &[f64], keep_max: bool) -> Vec<(f64, f64)> {
    let raw: Vec<(f64, f64)> = timestamps.iter().zip(values).map(|(t, v)| (t - t0, *v)).collect();
    downsample(&raw, MAX_POINTS, keep_max)
}

fn per_second_totals(
    t0: f64,
    series: &[&super::hdr::IntervalSeries],
    pick: fn(&super::hdr::IntervalSeries) -> &Vec<f64>,
) -> Vec<(f64, f64)> {
    let mut totals: BTreeMap<i64, f64> = BTreeMap::new();
    for s in series {
        for (t, v) in s.timestamps.iter().zip(pick(s)) {
            if t.is_finite() && v.is_finite() {
                #[allow(clippy::cast_possible_truncation)]
                let second = (t - t0).round() as i64;
                *totals.entry(second).or_insert(0.0) += v;
            }
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let raw: Vec<(f64, f64)> = totals.into_iter().map(|(t, v)| (t as f64, v)).collect();
    downsample(&raw, MAX_POINTS, false)
}

#[allow(clippy::too_many_lines)] // the timeline charts, in the order a reader wants them
fn timeline(out: &mut String, analysis: &Analysis) {
    let Some(t0) = origin(analysis) else {
        out.push_str(
            "<p class=\"muted\">No timeline: neither _stats_history.csv nor _hdr_intervals.csv is present.</p>\n",
        );
        return;
    };
    let elapsed = |x: &f64| format_elapsed(*x);
    let intervals: Vec<&super::hdr::IntervalSeries> = analysis.intervals.iter().flatten().collect();
    let total_history = analysis.history.as_ref().and_then(super::history::History::aggregated);

    // throughput: exact per-second counts when there, else Locust's moving average
    let mut rps = Vec::new();
    let mut caption = String::new();
    if !intervals.is_empty() {
        rps.push(Line {
            label: "all requests".to_owned(),
            colour: colour(0),
            dashed: false,
            points: per_second_totals(t0, &intervals, |s| &s.requests),
        });
        for (i, s) in intervals.iter().take(MAX_LINES - 2).enumerate() {
            rps.push(Line {
                label: label(&s.method, &s.name),
                colour: colour(i + 2),
                dashed: false,
                points: points(t0, &s.timestamps, &s.requests, false),
            });
        }
        let items = per_second_totals(t0, &intervals, |s| &s.items);
        if items.iter().any(|p| p.1 > 0.0) {
            rps.push(Line {
                label: "items/s (pops)".to_owned(),
                colour: colour(1),
                dashed: true,
                points: items,
            });
        }
        caption.push_str("Exact per-second counts (_hdr_intervals.csv).");
    } else if let Some(total) = total_history {
        rps.push(Line {
            label: "Aggregated".to_owned(),
            colour: colour(0),
            dashed: false,
            points: points(t0, &total.timestamps, &total.rps, false),
        });
        caption.push_str("Locust's requests/s (_stats_history.csv: an average over its last ~10 s).");
    }
    figure(
        out,
        line_chart("Requests per second", "elapsed (m:ss)", "req/s", &rps, &elapsed, 10.0),
        &caption,
    );

    let mut latency = Vec::new();
    let caption = if intervals.is_empty() {
        if let Some(total) = total_history {
            for (i, (name, values)) in [("p50", &total.p50_ms), ("p95", &total.p95_ms), ("p99", &total.p99_ms)]
                .into_iter()
                .enumerate()
            {
                latency.push(Line {
                    label: format!("Aggregated {name}"),
                    colour: colour(i),
                    dashed: false,
                    points: points(t0, &total.timestamps, values, true),
                });
            }
        }
        "Locust's percentiles over its last ~10 s, rounded (_stats_history.csv)."
    } else {
        for (i, s) in intervals.iter().take(MAX_LINES / 2).enumerate() {
            let name = label(&s.method, &s.name);
            latency.push(Line {
                label: format!("{name} p99"),
                colour: colour(i),
                dashed: false,
                points: points(t0, &s.timestamps, &s.p99_ms, true),
            });
            latency.push(Line {
                label: format!("{name} p50"),
                colour: colour(i),
                dashed: true,
                points: points(t0, &s.timestamps, &s.p50_ms, true),
            });
        }
        "Exact percentiles of each second (_hdr_intervals.csv): p99 solid, p50 dashed."
    };
    figure(
        out,
        line_chart("Latency over time", "elapsed (m:ss)", "ms", &latency, &elapsed, 10.0),
        caption,
    );

    let mut failures = Vec::new();
    if !intervals.is_empty() {
        failures.push(Line {
            label: "failures/s".to_owned(),
            colour: colour(3),
            dashed: false,
            points: per_second_totals(t0, &intervals, |s| &s.failures),
        });
    } else if let Some(total) = total_history {
        failures.push(Line {
            label: "failures/s".to_owned(),
            colour: colour(3),
            dashed: false,
            points: points(t0, &total.timestamps, &total.fail_rps, false),
        });
    }
    figure(
        out,
        line_chart(
            "Failures per second",
            "elapsed (m:ss)",
            "failures/s",
            &failures,
            &elapsed,
            10.0,
        ),
        "",
    );

    if let Some(total) = total_history {
        let users = vec![Line {
            label: String::new(),
            colour: colour(4),
            dashed: false,
            points: points(t0, &total.timestamps, &total.users, true),
        }];
        if users[0].points.iter().any(|p| p.1 > 0.0) {
            figure(
                out,
                line_chart("Users", "elapsed (m:ss)", "users", &users, &elapsed, 10.0),
                "Locust's user count.",
            );
        }
    }
    if let Some(resources) = &analysis.resources {
        resources_section(out, t0, resources);
    }
}

/// Most lines one resource chart carries: ten processes side by side still read apart in ten colours.
const MAX_RESOURCE_LINES: usize = 10;

/// One chart per group of resource series (CPU, memory, I/O, PostgreSQL, other), then each series' mean and peak.
fn resources_section(out: &mut String, t0: f64, resources: &super::extras::Resources) {
    let elapsed = |x: &f64| format_elapsed(*x);
    out.push_str("<h3 id=\"resources\">Resources</h3>\n");
    for (group, members) in resource_groups::groups(resources) {
        let lines: Vec<Line> = members
            .iter()
            .take(MAX_RESOURCE_LINES)
            .enumerate()
            .map(|(i, m)| {
                let scaled: Vec<f64> = m.values.iter().map(|v| v * m.scale).collect();
                Line {
                    label: m.label.clone(),
                    colour: colour(i),
                    dashed: m.dashed,
                    points: points(t0, &resources.timestamps, &scaled, true),
                }
            })
            .collect();
        let dropped = members.len().saturating_sub(MAX_RESOURCE_LINES);
        let mut caption = format!("{} (_resources.csv), on the run's time axis.", group.title());
        if dropped > 0 {
            let _ = write!(caption, " {dropped} more series in the table below.");
        }
        let svg = line_chart(group.title(), "elapsed (m:ss)", group.unit(), &lines, &elapsed, 10.0)
            .map(|svg| svg.replacen("<svg ", &format!("<svg data-group=\"{}\" ", group.title()), 1));
        figure(out, svg, &caption);
    }
    let rows: Vec<Vec<String>> = resources
        .series
        .iter()
        .map(|(name, values)| {
            let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            #[allow(clippy::cast_precision_loss)]
            let mean = (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64);
            let peak = finite.iter().copied().reduce(f64::max);
            let (source, metric) = name.rsplit_once(' ').unwrap_or(("", name));
            let show = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
            vec![
                resource_groups::source_name(source),
                metric.to_owned(),
                show(mean),
                show(peak),
            ]
        })
        .collect();
    table(
        out,
        "sortable",
        &["Process or source", "Metric", "Mean", "Peak"],
        &rows,
        None,
        2,
    );
}

/// Percentiles from 0 to 99.999% on a log scale of 1/(1−q), from an exact histogram.
fn spectrum(counts: &[(u64, u64)]) -> Vec<(f64, f64)> {
    let n: u64 = counts.iter().map(|b| b.1).sum();
    if n == 0 {
        return Vec::new();
    }
    #[allow(clippy::cast_precision_loss)]
    let top = (n as f64).log10().clamp(0.0, 5.0);
    let entry = crate::stats::SnapshotEntry {
        method: String::new(),
        name: String::new(),
        failures: 0,
        items: 0,
        counts: counts.to_vec(),
    };
    (0..=100)
        .map(|i| f64::from(i) * top / 100.0)
        .map(|x| {
            (
                x,
                micros_to_ms(entry.value_at_percentile(100.0 * (1.0 - 10f64.powf(-x)))),
            )
        })
        .collect()
}

fn spectrum_section(out: &mut String, report: &Report<'_>) {
    let analysis = report.analysis;
    let mut lines = Vec::new();
    for (i, endpoint) in analysis
        .rows()
        .filter(|e| e.latency_source == Source::Exact)
        .take(MAX_LINES - 1)
        .enumerate()
    {
        if let Some(entry) = &endpoint.histogram {
            lines.push(Line {
                label: endpoint.label(),
                colour: colour(i),
                dashed: false,
                points: spectrum(&entry.counts),
            });
        }
    }
    if let Some(histogram) = report.baseline.as_ref().and_then(|b| b.total.histogram.as_ref()) {
        if !lines.is_empty() {
            lines.push(Line {
                label: "baseline Aggregated".to_owned(),
                colour: colour(7),
                dashed: true,
                points: spectrum(histogram),
            });
        }
    }
    if lines.is_empty() {
        out.push_str("<p class=\"muted\">No exact histograms (_hdr.json), so no percentile spectrum: Locust's rounded percentiles are in the table above.</p>\n");
        return;
    }
    figure(
        out,
        line_chart(
            "Percentile spectrum",
            "percentile",
            "ms",
            &lines,
            &|x| spectrum_label(*x),
            1.0,
        ),
        "Exact latency at each percentile (_hdr.json), log scale of 1/(1−q): 90%, 99%, 99.9% equally spaced.",
    );
}

#[allow(clippy::too_many_lines)]
#[must_use]
pub fn render(report: &Report<'_>) -> String {
    let analysis = report.analysis;
    let mut out = String::with_capacity(64 * 1024);
    let title = format!("pushpop-load: {}", analysis.prefix);
    let _ = write!(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>\n", escape(&title));
    super::report_html_top::first_screen(&mut out, report);

    out.push_str("<section id=\"endpoints\"><h2>Endpoints</h2>\n");
    let rows: Vec<Vec<String>> = analysis.endpoints.iter().map(|e| row_cells(e).to_vec()).collect();
    let foot = row_cells(&analysis.total).to_vec();
    table(&mut out, "sortable", &ROW_HEADER, &rows, Some(&foot), 1);
    out.push_str("<p class=\"muted\">Latency <b>exact</b>: pushpop-load's HDR histograms (µs resolution, complete at exit). <b>locust</b>: Locust's figures, response times rounded to 2 significant digits.</p>\n");
    for note in &analysis.notes {
        let _ = writeln!(out, "<p class=\"muted\">{}</p>", escape(note));
    }
    out.push_str("</section>\n");

    out.push_str("<section id=\"timeline\"><h2>Over time</h2>\n");
    timeline(&mut out, analysis);
    out.push_str("</section>\n<section id=\"spectrum\"><h2>Percentile spectrum</h2>\n");
    spectrum_section(&mut out, report);
    out.push_str("</section>\n");

    out.push_str("<section id=\"integrity\"><h2>Queue integrity</h2>\n");
    super::report_html_top::integrity_section(&mut out, analysis);
    out.push_str("</section>\n");

    if !report.verdicts.is_empty() {
        out.push_str("<section id=\"thresholds\"><h2>Thresholds</h2>\n");
        let rows: Vec<Vec<String>> = report
            .verdicts
            .iter()
            .map(|v| {
                vec![
                    if v.ok { "PASS" } else { "FAIL" }.to_owned(),
                    v.expression.clone(),
                    v.subject.clone(),
                    v.detail.clone(),
                ]
            })
            .collect();
        table(&mut out, "", &["", "Threshold", "Subject", "Detail"], &rows, None, 99);
        out.push_str("</section>\n");
    }

    if let Some(comparison) = &report.comparison {
        let _ = writeln!(out, "<section id=\"baseline\"><h2>Against the baseline</h2><p class=\"muted\">Baseline <code>{}</code>. A change past its tolerance counts as a regression only when the histograms show it is real (p50: Mann–Whitney U; p95/p99: non-overlapping {:.0}% intervals); otherwise it is <i>noise</i>.</p>", escape(&comparison.baseline), (1.0 - comparison.alpha) * 100.0);
        // a chart per percentile, the endpoints side by side: labels stay readable
        for percentile in ["p50", "p95", "p99"] {
            let mut groups = Vec::new();
            for endpoint in comparison.endpoints.iter().rev().take(6) {
                let metric = endpoint.metrics.iter().find(|m| m.metric == percentile);
                if let Some((Some(b), Some(c))) = metric.map(|m| (m.baseline, m.current)) {
                    let mut name = endpoint.label();
                    if name.chars().count() > 26 {
                        name = name.chars().take(25).chain(std::iter::once('…')).collect();
                    }
                    groups.push((name, vec![b, c]));
                }
            }
            figure(
                &mut out,
                bar_chart(
                    &format!("{percentile}: baseline and now"),
                    "ms",
                    &groups,
                    &[("baseline", colour(7)), ("now", colour(0))],
                ),
                "",
            );
        }
        let rows: Vec<Vec<String>> = comparison_rows(comparison).collect();
        table(&mut out, "", &COMPARISON_HEADER, &rows, None, 99);
        if !comparison.missing.is_empty() {
            let _ = writeln!(
                out,
                "<p>Not in this run: {}</p>",
                escape(&comparison.missing.join(", "))
            );
        }
        if !comparison.new.is_empty() {
            let _ = writeln!(out, "<p>New in this run: {}</p>", escape(&comparison.new.join(", ")));
        }
        out.push_str("</section>\n");
    }

    if !analysis.failures.is_empty() || !analysis.exceptions.is_empty() {
        out.push_str("<section id=\"failures\"><h2>Failures</h2>\n");
        let rows: Vec<Vec<String>> = analysis
            .failures
            .iter()
            .map(|f| vec![f.occurrences.to_string(), label(&f.method, &f.name), f.error.clone()])
            .collect();
        table(
            &mut out,
            "sortable",
            &["Occurrences", "Endpoint", "Error"],
            &rows,
            None,
            99,
        );
        if !analysis.exceptions.is_empty() {
            let rows: Vec<Vec<String>> = analysis
                .exceptions
                .iter()
                .map(|e| vec![e.count.to_string(), e.message.clone(), e.nodes.clone()])
                .collect();
            table(&mut out, "", &["Count", "Exception", "Nodes"], &rows, None, 99);
        }
        out.push_str("</section>\n");
    }

    out.push_str("<section id=\"inputs\"><h2>Inputs</h2>\n");
    let rows: Vec<Vec<String>> = analysis
        .used
        .iter()
        .map(|f| {
            vec![
                "used".to_owned(),
                f.path.clone(),
                format!(
                    "{}{}",
                    f.kind.describe(),
                    if f.note.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", f.note)
                    }
                ),
            ]
        })
        .chain(analysis.lacking.iter().map(|f| {
            vec![
                "lacking".to_owned(),
                f.path.clone(),
                format!("{}: {}", f.kind.describe(), f.note),
            ]
        }))
        .collect();
    table(&mut out, "", &["", "File", "What"], &rows, None, 99);
    out.push_str("</section>\n");
    let _ = writeln!(out, "<script>{SCRIPT}</script>\n</body></html>");
    out
}
