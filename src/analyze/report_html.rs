//! One self-contained HTML file: the first screen (`report_html_top.rs`), tables, and charts — interactive ones
//! drawn by the inlined uPlot (`report_html_charts.rs`): throughput, latency and failures over time, resource samples
//! grouped on the same axis (`resource_groups.rs`), the exact percentile spectrum and latency distribution; bar
//! charts as SVG drawn by plotters (`charts.rs`): the baseline side by side, push-to-pop time per priority. No
//! external script, style or font: it opens from an artifact store or an e-mail.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::charts::{bar_chart, colour, downsample, BarGroup, Line};
use super::model::{label, micros_to_ms, Analysis, Source};
use super::report::{comparison_rows, row_cells, Report, COMPARISON_HEADER, ROW_HEADER};
use super::report_html_charts::{self, line, Axis, Chart};
use super::report_junit::escape;
use super::resource_groups;

/// Most endpoints one chart carries as lines: the legend hides and shows each, so an API of 20 endpoints fits.
const MAX_ENDPOINT_LINES: usize = 24;
/// Most points a line keeps: an hour's run at one point per second whole, longer runs averaged (rates) or their
/// peaks kept (latencies, resources).
const MAX_POINTS: usize = 4000;

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
.chart-head{margin:.3em 0}.chart-head select{max-width:100%;font-size:.9em}.plot{width:100%;min-height:280px}
.u-legend{font-size:.8em}.u-legend .u-series th{cursor:pointer}
@media (max-width:600px){body{padding:.5em .7em}h1{font-size:1.3em}figure.svg{overflow-x:auto}figure.svg svg{min-width:600px}}
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
  var drawn=document.querySelectorAll('figure svg').length+Object.keys(window.pushpopCharts||{}).length;
  document.body.setAttribute('data-charts',String(drawn));
  document.body.setAttribute('data-rendered','yes');
})();
";

fn figure(out: &mut String, svg: Option<String>, caption: &str) {
    if let Some(svg) = svg {
        let _ = writeln!(
            out,
            "<figure class=\"svg\">{svg}<figcaption class=\"muted\">{}</figcaption></figure>",
            escape(caption)
        );
    }
}

/// Places an interactive chart here when it has a point, its data going with the others at the page's end.
fn place(out: &mut String, charts: &mut Vec<Chart>, chart: Chart) {
    if chart.has_points() {
        report_html_charts::figure(out, &chart);
        charts.push(chart);
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

/// The time charts, in the order a reader wants them: throughput, latency of every endpoint, one endpoint's
/// percentiles, failures, users, then the resources.
#[allow(clippy::too_many_lines)]
fn timeline(out: &mut String, charts: &mut Vec<Chart>, analysis: &Analysis) {
    let Some(t0) = origin(analysis) else {
        out.push_str(
            "<p class=\"muted\">No timeline: neither _stats_history.csv nor _hdr_intervals.csv is present.</p>\n",
        );
        return;
    };
    let intervals: Vec<&super::hdr::IntervalSeries> = analysis.intervals.iter().flatten().collect();
    let history = analysis.history.as_ref();
    let total_history = history.and_then(super::history::History::aggregated);
    out.push_str("<p class=\"muted\">Hover a chart for each line's value; click a legend entry to hide or show its line; drag across a chart to zoom every time chart to that range; double-click to see the whole run again.</p>\n");

    // throughput: exact per-second counts when there, else Locust's moving average
    let mut rps = Chart::new("rps", Axis::Elapsed, "Requests per second", "req/s", "req/s", 2);
    let mut lines = Vec::new();
    if intervals.is_empty() {
        if let Some(total) = total_history {
            lines.push(line(
                "Aggregated",
                0,
                false,
                points(t0, &total.timestamps, &total.rps, false),
            ));
        }
        rps.caption = String::from("Locust's requests/s (_stats_history.csv: an average over its last ~10 s).");
    } else {
        lines.push(line(
            "all requests",
            0,
            false,
            per_second_totals(t0, &intervals, |s| &s.requests),
        ));
        for (i, s) in intervals.iter().take(MAX_ENDPOINT_LINES).enumerate() {
            lines.push(line(
                &label(&s.method, &s.name),
                i + 2,
                false,
                points(t0, &s.timestamps, &s.requests, false),
            ));
        }
        let items = per_second_totals(t0, &intervals, |s| &s.items);
        if items.iter().any(|p| p.1 > 0.0) {
            lines.push(line("items/s (pops)", 1, true, items));
        }
        rps.caption = String::from("Exact per-second counts (_hdr_intervals.csv).");
    }
    rps.sets.push((String::new(), lines));
    place(out, charts, rps);

    // latency: every endpoint's p99, then one endpoint's percentiles picked from a list
    let mut latency = Chart::new("latency", Axis::Elapsed, "p99 latency per endpoint", "ms", "ms", 3);
    let mut percentiles = Chart::new("percentiles", Axis::Elapsed, "Percentiles over time of", "ms", "ms", 3);
    if intervals.is_empty() {
        if let Some(history) = history {
            let mut lines = Vec::new();
            for (i, s) in history.series.iter().take(MAX_ENDPOINT_LINES).enumerate() {
                lines.push(line(
                    &label(&s.method, &s.name),
                    i,
                    false,
                    points(t0, &s.timestamps, &s.p99_ms, true),
                ));
                percentiles.sets.push((
                    label(&s.method, &s.name),
                    [("p50", &s.p50_ms), ("p95", &s.p95_ms), ("p99", &s.p99_ms)]
                        .into_iter()
                        .enumerate()
                        .map(|(j, (name, values))| line(name, j, false, points(t0, &s.timestamps, values, true)))
                        .collect(),
                ));
            }
            latency.sets.push((String::new(), lines));
        }
        let rounded = "Locust's percentiles over its last ~10 s, rounded to 2 significant digits (_stats_history.csv).";
        latency.caption = String::from(rounded);
        percentiles.caption = String::from(rounded);
        percentiles.decimals = 0;
    } else {
        let lines = intervals
            .iter()
            .take(MAX_ENDPOINT_LINES)
            .enumerate()
            .map(|(i, s)| {
                line(
                    &label(&s.method, &s.name),
                    i,
                    false,
                    points(t0, &s.timestamps, &s.p99_ms, true),
                )
            })
            .collect();
        latency.sets.push((String::new(), lines));
        for s in &intervals {
            percentiles.sets.push((
                label(&s.method, &s.name),
                [
                    ("p50", &s.p50_ms),
                    ("p95", &s.p95_ms),
                    ("p99", &s.p99_ms),
                    ("max", &s.max_ms),
                ]
                .into_iter()
                .enumerate()
                .map(|(j, (name, values))| line(name, j, false, points(t0, &s.timestamps, values, true)))
                .collect(),
            ));
        }
        latency.caption = String::from("Exact p99 of each second, per endpoint (_hdr_intervals.csv).");
        percentiles.caption =
            String::from("Exact percentiles of each second of the endpoint picked above (_hdr_intervals.csv).");
    }
    place(out, charts, latency);
    place(out, charts, percentiles);

    let mut failures = Chart::new("failures", Axis::Elapsed, "Failures per second", "failures/s", "/s", 2);
    if !intervals.is_empty() {
        failures.sets.push((
            String::new(),
            vec![line(
                "failures/s",
                3,
                false,
                per_second_totals(t0, &intervals, |s| &s.failures),
            )],
        ));
        failures.caption = String::from("Exact per-second counts (_hdr_intervals.csv).");
    } else if let Some(total) = total_history {
        failures.sets.push((
            String::new(),
            vec![line(
                "failures/s",
                3,
                false,
                points(t0, &total.timestamps, &total.fail_rps, false),
            )],
        ));
        failures.caption = String::from("Locust's failures/s (_stats_history.csv: an average over its last ~10 s).");
    }
    place(out, charts, failures);

    if let Some(total) = total_history {
        let users = points(t0, &total.timestamps, &total.users, true);
        if users.iter().any(|p| p.1 > 0.0) {
            let mut chart = Chart::new("users", Axis::Elapsed, "Users", "users", "", 0).caption("Locust's user count.");
            chart.sets.push((String::new(), vec![line("users", 4, false, users)]));
            place(out, charts, chart);
        }
    }
    if let Some(resources) = &analysis.resources {
        resources_section(out, charts, t0, resources);
    }
}

/// Most lines one resource chart carries: ten processes side by side still read apart in ten colours.
const MAX_RESOURCE_LINES: usize = 10;

/// One chart per group of resource series (CPU, memory, I/O, PostgreSQL, other), then each series' mean and peak.
fn resources_section(out: &mut String, charts: &mut Vec<Chart>, t0: f64, resources: &super::extras::Resources) {
    out.push_str("<h3 id=\"resources\">Resources</h3>\n");
    for (group, members) in resource_groups::groups(resources) {
        let lines: Vec<Line> = members
            .iter()
            .take(MAX_RESOURCE_LINES)
            .enumerate()
            .map(|(i, m)| {
                let scaled: Vec<f64> = m.values.iter().map(|v| v * m.scale).collect();
                line(&m.label, i, m.dashed, points(t0, &resources.timestamps, &scaled, true))
            })
            .collect();
        let dropped = members.len().saturating_sub(MAX_RESOURCE_LINES);
        let mut caption = format!("{} (_resources.csv), on the run's time axis.", group.title());
        if dropped > 0 {
            let _ = write!(caption, " {dropped} more series in the table below.");
        }
        let id = format!("resources-{}", group.title().to_ascii_lowercase().replace(' ', "-"));
        let suffix = match group.unit() {
            "% of one core" => "%",
            unit => unit,
        };
        let mut chart = Chart::new(&id, Axis::Elapsed, group.title(), group.unit(), suffix, 2).caption(&caption);
        chart.group = Some(group.title().to_owned());
        chart.sets.push((String::new(), lines));
        place(out, charts, chart);
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

/// Percentiles from 0 to 99.999% on a log scale of 1/(1−q), from an exact histogram: 20 points per decade, the
/// whole decades (90%, 99%, 99.9%) among them, up to where the count still resolves them.
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
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let steps = (top * 20.0).floor() as u32;
    (0..=steps)
        .map(|i| f64::from(i) / 20.0)
        .chain((top * 20.0).fract().abs().gt(&1e-9).then_some(top))
        // 100 − 100·10^−x: exactly 90, 99, 99.9 at the whole decades, as the cards compute them
        .map(|x| {
            (
                x,
                micros_to_ms(entry.value_at_percentile(100.0 - 100.0 * 10f64.powf(-x))),
            )
        })
        .collect()
}

/// A latency distribution: requests per bin, ten bins per decade of milliseconds (1, 1.26, 1.58, 2, 2.5 … ms), each
/// drawn at its geometric middle on a log axis. Bins from `first` to `last` (indices: 10·log10 of a bin's lower
/// edge in ms), so that every endpoint's distribution shares one axis.
fn distribution(counts: &[(u64, u64)], first: i32, last: i32) -> Vec<(f64, f64)> {
    let mut bins = vec![0.0; usize::try_from(last - first + 1).unwrap_or(0)];
    for &(micros, count) in counts {
        let bin = bin_of(micros) - first;
        if let Some(slot) = usize::try_from(bin).ok().and_then(|b| bins.get_mut(b)) {
            #[allow(clippy::cast_precision_loss)]
            let count = count as f64;
            *slot += count;
        }
    }
    bins.iter()
        .enumerate()
        .map(|(i, &n)| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
            let bin = first + i as i32;
            (10f64.powf((f64::from(bin) + 0.5) / 10.0), n)
        })
        .collect()
}

/// The distribution bin of a latency in µs (below 1 µs counts as 1 µs).
fn bin_of(micros: u64) -> i32 {
    #[allow(clippy::cast_precision_loss)]
    let ms = micros.max(1) as f64 / 1000.0;
    #[allow(clippy::cast_possible_truncation)]
    let bin = (10.0 * ms.log10() + 1e-9).floor() as i32;
    bin
}

fn spectrum_section(out: &mut String, charts: &mut Vec<Chart>, report: &Report<'_>) {
    let analysis = report.analysis;
    let exact: Vec<&super::model::Endpoint> = analysis
        .rows()
        .filter(|e| e.latency_source == Source::Exact && e.histogram.is_some())
        .collect();
    if exact.is_empty() {
        out.push_str("<p class=\"muted\">No exact histograms (_hdr.json), so no percentile spectrum or distribution: Locust's rounded percentiles are in the table above.</p>\n");
        return;
    }
    let mut chart = Chart::new("spectrum", Axis::Percentile, "Percentile spectrum", "ms", "ms", 3).caption(
        "Exact latency at each percentile (_hdr.json), on a log scale of 1/(1−q): 90%, 99%, 99.9% equally spaced, \
         as HdrHistogram's plotter draws it. The curve ends where the run's count stops resolving percentiles.",
    );
    let mut lines: Vec<Line> = exact
        .iter()
        .rev() // Aggregated first: the line a reader looks for
        .take(MAX_ENDPOINT_LINES)
        .enumerate()
        .map(|(i, e)| {
            line(
                &e.label(),
                i,
                false,
                spectrum(&e.histogram.as_ref().expect("filtered").counts),
            )
        })
        .collect();
    if let Some(histogram) = report.baseline.as_ref().and_then(|b| b.total.histogram.as_ref()) {
        lines.push(line("baseline Aggregated", 7, true, spectrum(histogram)));
    }
    chart.sets.push((String::new(), lines));
    place(out, charts, chart);

    let buckets = || {
        exact
            .iter()
            .flat_map(|e| &e.histogram.as_ref().expect("filtered").counts)
    };
    let first = buckets().map(|b| bin_of(b.0)).min().unwrap_or(0);
    let last = buckets().map(|b| bin_of(b.0)).max().unwrap_or(0);
    let mut chart = Chart::new("distribution", Axis::LogMs, "Response-time distribution of", "requests", "", 0)
        .caption("Requests per latency bin, from the exact histograms (_hdr.json): ten bins per decade of milliseconds, on a log axis; hover a bar for its range.");
    chart.bars = true;
    for e in exact.iter().rev() {
        let counts = &e.histogram.as_ref().expect("filtered").counts;
        chart.sets.push((
            e.label(),
            vec![line("requests", 0, false, distribution(counts, first, last))],
        ));
    }
    place(out, charts, chart);
}

/// Where a change is marked on the "now" bar: red for a regression the test finds real, green for an improvement.
const REGRESSION_RED: plotters::style::RGBColor = plotters::style::RGBColor(214, 39, 40);
const IMPROVED_GREEN: plotters::style::RGBColor = plotters::style::RGBColor(44, 160, 44);

/// A chart per metric, this run's bar beside the baseline's for each endpoint (the run as a whole first), changes
/// the comparison calls a regression or an improvement marked in colour and with an arrow before the name.
fn baseline_bars(out: &mut String, comparison: &super::baseline::Comparison) {
    use super::baseline::Status;
    let _ = writeln!(
        out,
        "<p class=\"muted\">Grey: the baseline; blue: this run. A red bar and ▲ before the name: a regression the \
         test finds real; green and ▼: an improvement; ~: past the tolerance but within noise.</p>"
    );
    for (metric, title, unit, scale) in [
        ("p50", "p50 latency", "ms", 1.0),
        ("p95", "p95 latency", "ms", 1.0),
        ("p99", "p99 latency", "ms", 1.0),
        ("rps", "Requests per second", "req/s", 1.0),
        ("fail_ratio", "Failure ratio", "%", 100.0),
    ] {
        let mut groups = Vec::new();
        for endpoint in comparison.endpoints.iter().rev().take(8) {
            let Some(delta) = endpoint.metrics.iter().find(|m| m.metric == metric) else {
                continue;
            };
            let (Some(b), Some(c)) = (delta.baseline, delta.current) else {
                continue;
            };
            let mut name = endpoint.label();
            if name.chars().count() > 24 {
                name = name.chars().take(23).chain(std::iter::once('…')).collect();
            }
            let (mark, prefix) = match delta.status {
                Status::Regression => (Some(REGRESSION_RED), "▲ "),
                Status::Improved => (Some(IMPROVED_GREEN), "▼ "),
                Status::Noise => (None, "~ "),
                Status::Ok | Status::Unknown => (None, ""),
            };
            groups.push(BarGroup {
                label: format!("{prefix}{name}"),
                values: vec![b * scale, c * scale],
                mark,
            });
        }
        if groups.iter().all(|g| g.values.iter().all(|v| *v == 0.0)) {
            continue; // no failures on either side: nothing to compare
        }
        let svg = bar_chart(
            &format!("{title}: baseline and now"),
            unit,
            &groups,
            &[("baseline", colour(7)), ("now", colour(0))],
        )
        .map(|svg| svg.replacen("<svg ", &format!("<svg data-metric=\"{metric}\" "), 1));
        figure(out, svg, "");
    }
}

/// Push-to-pop time per priority, from the integrity checker's histograms (`push_to_pop` of `_integrity.json`).
fn push_to_pop(out: &mut String, analysis: &Analysis) {
    let Some(rows) = analysis
        .integrity
        .as_ref()
        .and_then(|m| m.get("push_to_pop"))
        .and_then(serde_json::Value::as_array)
    else {
        return;
    };
    let figure_of = |row: &serde_json::Value, key: &str| row.get(key).and_then(serde_json::Value::as_f64);
    let groups: Vec<BarGroup> = rows
        .iter()
        .filter_map(|row| {
            let priority = row.get("priority")?.as_u64()?;
            let count = row.get("count")?.as_u64()?;
            let values = ["p50_ms", "p90_ms", "p99_ms", "max_ms"]
                .iter()
                .map(|k| figure_of(row, k))
                .collect::<Option<Vec<f64>>>()?;
            Some(BarGroup {
                label: format!("priority {priority} ({} items)", super::report_html_top::grouped(count)),
                values,
                mark: None,
            })
        })
        .collect();
    let svg = bar_chart(
        "Push-to-pop time per priority",
        "ms",
        &groups,
        &[
            ("p50", colour(0)),
            ("p90", colour(1)),
            ("p99", colour(3)),
            ("max", colour(7)),
        ],
    )
    .map(|svg| svg.replacen("<svg ", "<svg data-chart=\"push-to-pop\" ", 1));
    figure(
        out,
        svg,
        "From an item's acknowledged push to its first pop, per marker priority (_integrity.json): a queue that \
         serves priorities in order shows the urgent ones' times lowest.",
    );
}

#[allow(clippy::too_many_lines)]
#[must_use]
pub fn render(report: &Report<'_>) -> String {
    let analysis = report.analysis;
    let mut out = String::with_capacity(64 * 1024);
    let title = format!("pushpop-load: {}", analysis.prefix);
    let _ = write!(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{}{STYLE}</style></head><body>\n", escape(&title), report_html_charts::UPLOT_CSS);
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

    let mut charts = Vec::new();
    out.push_str("<section id=\"timeline\"><h2>Over time</h2>\n");
    timeline(&mut out, &mut charts, analysis);
    out.push_str("</section>\n<section id=\"spectrum\"><h2>Latency distribution</h2>\n");
    spectrum_section(&mut out, &mut charts, report);
    out.push_str("</section>\n");

    out.push_str("<section id=\"integrity\"><h2>Queue integrity</h2>\n");
    super::report_html_top::integrity_section(&mut out, analysis);
    push_to_pop(&mut out, analysis);
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
        baseline_bars(&mut out, comparison);
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
    report_html_charts::scripts(&mut out, &charts);
    let _ = writeln!(out, "<script>{SCRIPT}</script>\n</body></html>");
    out
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // the figures compared are exact: whole µs and whole counts
mod tests {
    use super::*;

    #[test]
    fn spectrum_hits_the_whole_decades_exactly() {
        // 1,000 samples: 1..=1000 µs, one each; p90 is 900 µs, p99 990 µs, p99.9 999 µs
        let counts: Vec<(u64, u64)> = (1..=1000).map(|v| (v, 1)).collect();
        let points = spectrum(&counts);
        let at = |x: f64| points.iter().find(|p| p.0 == x).map(|p| p.1);
        assert_eq!(at(1.0), Some(0.9));
        assert_eq!(at(2.0), Some(0.99));
        // 99.9% as every other figure of the report computes it (the table's, the cards'): src/stats ranks
        // ceil(q/100·n) in f64, where 99.9/100·1000 is 999.0000000000001, so rank 1000 (HdrHistogram rounds: 999)
        let entry = crate::stats::SnapshotEntry {
            method: String::new(),
            name: String::new(),
            failures: 0,
            items: 0,
            counts: counts.clone(),
        };
        assert_eq!(at(3.0), Some(micros_to_ms(entry.value_at_percentile(99.9))));
        assert_eq!(points.first(), Some(&(0.0, 0.001)));
        assert_eq!(points.last().map(|p| p.0), Some(3.0)); // 10^3 samples resolve up to 99.9%
        assert!(spectrum(&[]).is_empty());
    }

    #[test]
    fn distribution_bins_every_request_once() {
        // 0 µs counts as 1 µs; 1 ms and 1.2 ms share the bin [1, 1.26) ms; 10 ms is a decade up
        let counts = [(0, 2), (1000, 3), (1200, 4), (10_000, 5)];
        let first = counts.iter().map(|c| bin_of(c.0)).min().unwrap();
        let last = counts.iter().map(|c| bin_of(c.0)).max().unwrap();
        assert_eq!((first, last), (-30, 10));
        let bins = distribution(&counts, first, last);
        assert_eq!(bins.len(), 41);
        assert_eq!(bins.iter().map(|b| b.1).sum::<f64>(), 14.0);
        assert_eq!(bins[0].1, 2.0);
        assert_eq!(bins[30].1, 7.0);
        assert_eq!(bins[40].1, 5.0);
        // each bin drawn at its geometric middle: 10^(30.5/10 − 3) ms for [1, 1.26)
        assert!((bins[30].0 - 10f64.powf(0.05)).abs() < 1e-12);
    }
}
