//! HdrHistogram's percentile distribution (`.hgrm`), the text wrk2 prints and HdrHistogram's plotter reads, one
//! section per endpoint with an exact histogram, values in milliseconds.
//!
//! The layout is HdrHistogram's `outputPercentileDistribution` (Java, and `hdr_percentiles_print` in C that wrk2
//! calls with 5 ticks per half distance and a scale of 1000): a header, one row per percentile level — the value
//! (the highest value equivalent to the bucket's, as HdrHistogram reports it), the level as a fraction, the count
//! up to that value and 1/(1-level) — a last row at level 1 without that column, then the mean, standard deviation,
//! max, total count, and the histogram's bucket and sub-bucket counts as `#[...]` lines.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

use super::model::Endpoint;
use super::report::Report;
use crate::stats::SnapshotEntry;

/// wrk2's choice: the levels halve their distance to 100% every 5 rows.
const TICKS_PER_HALF_DISTANCE: u32 = 5;
/// The recorder's precision (src/stats/recorder.rs): values print with as many decimals, as HdrHistogram does.
const SIGNIFICANT_DIGITS: u8 = 3;
/// Histograms are in µs; the text is in ms, as wrk2 prints it.
const MICROS_PER_UNIT: f64 = 1000.0;

/// Every endpoint with an exact histogram, then the total when it is exact too. `None` when there is none.
#[must_use]
pub fn render(report: &Report<'_>) -> Option<String> {
    let mut out = String::new();
    for endpoint in report.analysis.rows() {
        if let Some(histogram) = exact_histogram(endpoint) {
            if !out.is_empty() {
                out.push('\n');
            }
            // a `#` line is a comment to every reader of the format (the plotter, wrk2 parsers)
            let _ = writeln!(out, "# {}", super::csvfile::one_line(&endpoint.label()));
            distribution(&mut out, histogram);
        }
    }
    (!out.is_empty()).then_some(out)
}

fn exact_histogram(endpoint: &Endpoint) -> Option<&SnapshotEntry> {
    endpoint
        .histogram
        .as_ref()
        .filter(|entry| endpoint.latency_source == super::model::Source::Exact && entry.count() > 0)
}

/// The level after `level` (in percent): HdrHistogram's `PercentileIterator.incrementIterationLevel`, where the step
/// halves each time the distance to 100% does, `ticks` steps per half.
fn next_level(level: f64) -> f64 {
    // the same arithmetic as Java and C (log ratio truncated to an integer), so the rows fall on the same levels
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let halvings = ((100.0 / (100.0 - level)).ln() / 2f64.ln()) as u64;
    #[allow(clippy::cast_precision_loss)]
    let ticks = f64::from(TICKS_PER_HALF_DISTANCE) * 2f64.powi(i32::try_from(halvings + 1).unwrap_or(i32::MAX));
    level + 100.0 / ticks
}

/// One row: (value in µs, level in percent, count up to the value).
fn rows(entry: &SnapshotEntry) -> Vec<(u64, f64, u64)> {
    let total = entry.count();
    let mut rows = Vec::new();
    let mut level = 0.0;
    let mut seen = 0;
    for &(value, count) in &entry.counts {
        if count == 0 {
            continue;
        }
        seen += count;
        #[allow(clippy::cast_precision_loss)]
        let reached = 100.0 * seen as f64 / total as f64;
        // a bucket gives a row for every level it reaches; the last bucket gives one (HdrHistogram's iterator stops
        // once the count is exhausted), and the closing row at 100% follows
        while reached >= level {
            rows.push((value, level, seen));
            level = next_level(level);
            if seen == total {
                break;
            }
        }
    }
    if let Some(&(value, _)) = entry.counts.iter().rev().find(|(_, count)| *count > 0) {
        rows.push((value, 100.0, total));
    }
    rows
}

#[allow(clippy::cast_precision_loss)]
fn distribution(out: &mut String, entry: &SnapshotEntry) {
    let digits = usize::from(SIGNIFICANT_DIGITS);
    let _ = writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    for (value, level, count) in rows(entry) {
        let shown = value as f64 / MICROS_PER_UNIT;
        let fraction = level / 100.0;
        if level < 100.0 {
            let inverse = 1.0 / (1.0 - fraction);
            let _ = writeln!(out, "{shown:>12.digits$} {fraction:>2.12} {count:>10} {inverse:>14.2}");
        } else {
            let _ = writeln!(out, "{shown:>12.digits$} {fraction:>2.12} {count:>10}");
        }
    }
    // the same histogram as the recorder's (µs, 3 digits, auto-resizing), for HdrHistogram's own mean, deviation
    // (median-equivalent values) and bucket count
    let mut histogram = Histogram::<u64>::new(SIGNIFICANT_DIGITS).expect("3 significant digits is a valid precision");
    histogram.auto(true);
    for &(value, count) in &entry.counts {
        // the recorder wrote these buckets from such a histogram; a hand-made value past its range is clamped
        if histogram.record_n(value, count).is_err() {
            histogram.saturating_record_n(value, count);
        }
    }
    let sub_buckets = (2 * 10u32.pow(u32::from(SIGNIFICANT_DIGITS))).next_power_of_two();
    let mean = histogram.mean() / MICROS_PER_UNIT;
    let deviation = histogram.stdev() / MICROS_PER_UNIT;
    let max = histogram.max() as f64 / MICROS_PER_UNIT;
    let _ = writeln!(
        out,
        "#[Mean    = {mean:>12.digits$}, StdDeviation   = {deviation:>12.digits$}]"
    );
    let _ = writeln!(
        out,
        "#[Max     = {max:>12.digits$}, Total count    = {:>12}]",
        histogram.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:>12}, SubBuckets     = {sub_buckets:>12}]",
        histogram.buckets()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(counts: Vec<(u64, u64)>) -> SnapshotEntry {
        SnapshotEntry {
            method: "GET".into(),
            name: "/x".into(),
            failures: 0,
            items: 0,
            counts,
        }
    }

    #[test]
    fn levels_halve_their_distance_every_five_rows() {
        let mut levels = vec![0.0];
        for _ in 0..12 {
            levels.push(next_level(*levels.last().unwrap()));
        }
        let expected = [
            0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 55.0, 60.0, 65.0, 70.0, 75.0, 77.5, 80.0,
        ];
        for (level, want) in levels.iter().zip(expected) {
            assert!((level - want).abs() < 1e-9, "{levels:?}");
        }
    }

    #[test]
    fn one_row_per_level_reached_then_the_closing_row() {
        // 1..=100 µs, one sample each: the value at each level is the sample at that rank
        let rows = rows(&entry((1..=100).map(|v| (v, 1)).collect()));
        assert_eq!(rows[0], (1, 0.0, 1));
        let at = |level: f64| rows.iter().find(|row| (row.1 - level).abs() < 1e-9).unwrap();
        assert_eq!(at(50.0).0, 50);
        assert_eq!(at(90.0).0, 90);
        assert_eq!(rows.last(), Some(&(100, 100.0, 100)));
        // the last bucket gives one row before the closing one
        assert_eq!(rows.iter().filter(|row| row.0 == 100).count(), 2);
        assert!(rows
            .windows(2)
            .all(|pair| pair[0].1 < pair[1].1 && pair[0].2 <= pair[1].2));
    }

    #[test]
    fn the_text_is_hdrhistograms_layout() {
        let mut out = String::new();
        distribution(&mut out, &entry(vec![(1000, 3), (2001, 1)]));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "       Value     Percentile TotalCount 1/(1-Percentile)");
        assert_eq!(lines[1], "");
        assert_eq!(lines[2], "       1.000 0.000000000000          3           1.00");
        assert_eq!(lines[3], "       1.000 0.100000000000          3           1.11");
        let last_row = lines.iter().rposition(|line| !line.starts_with('#')).unwrap();
        assert_eq!(lines[last_row], "       2.001 1.000000000000          4");
        assert!(lines[last_row + 1].starts_with("#[Mean    =        1.250, StdDeviation   =        0.433]"));
        assert_eq!(
            lines[last_row + 2],
            "#[Max     =        2.001, Total count    =            4]"
        );
        assert!(lines[last_row + 3].ends_with("SubBuckets     =         2048]"));
    }
}
