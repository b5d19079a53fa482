//! The toolkit's exact statistics: `<prefix>_hdr.json` (format at the top of `python/pushpop_load/stats.py`) and
//! the per-second `<prefix>_hdr_intervals.csv`.

use std::path::Path;

use serde::Deserialize;

use super::csvfile::{one_line, CsvFile};
use super::error::{AnalyzeError, Result};
use super::inputs::read_input;
use crate::stats::{Snapshot, SnapshotEntry};

/// One entry of `summaries`: figures the recorder computed from its full-resolution histogram.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HdrSummary {
    pub method: String,
    pub name: String,
    pub count: u64,
    #[serde(default)]
    pub failures: u64,
    #[serde(default)]
    pub items: u64,
    pub min_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HdrFile {
    pub format: String,
    pub version: u32,
    /// First request to last, in seconds: the denominator of exact rates.
    pub duration_s: f64,
    #[serde(default)]
    pub summaries: Vec<HdrSummary>,
    pub histograms: Snapshot,
    /// On a distributed run's master: the workers that reported, and those lost mid-run.
    #[serde(default)]
    pub workers: Option<Workers>,
}

/// Which workers a master heard from, and which went silent before the end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Workers {
    pub reporting: usize,
    #[serde(default)]
    pub lost: Vec<String>,
}

pub fn read_hdr(path: &Path) -> Result<HdrFile> {
    let bytes = read_input(path)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AnalyzeError::malformed(path, "empty file"));
    }
    let file: HdrFile = serde_json::from_slice(&bytes).map_err(|err| {
        let what = if err.is_eof() {
            "truncated JSON"
        } else {
            "not pushpop-load's _hdr.json"
        };
        AnalyzeError::malformed(path, format!("{what}: {err}"))
    })?;
    if file.format != "pushpop-load-hdr" {
        return Err(AnalyzeError::malformed(
            path,
            format!("format {:?}, expected \"pushpop-load-hdr\"", file.format),
        ));
    }
    if file.version != 1 || file.histograms.version != 1 {
        return Err(AnalyzeError::malformed(
            path,
            format!(
                "version {} (this build reads version 1)",
                file.version.max(file.histograms.version)
            ),
        ));
    }
    if file.histograms.unit != "us" {
        return Err(AnalyzeError::malformed(
            path,
            format!("histogram unit {:?}, expected \"us\"", file.histograms.unit),
        ));
    }
    if !file.duration_s.is_finite() || file.duration_s < 0.0 {
        return Err(AnalyzeError::malformed(path, "duration_s is not a non-negative number"));
    }
    check_totals(path, &file.histograms.entries)?;
    // the recorder keeps one histogram per (method, name); two are a hand-made or corrupt file, counted twice
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = file
        .histograms
        .entries
        .iter()
        .find(|entry| !seen.insert((entry.method.as_str(), entry.name.as_str())))
    {
        return Err(AnalyzeError::malformed(
            path,
            format!(
                "two histograms of {} {}",
                one_line(&twice.method),
                one_line(&twice.name)
            ),
        ));
    }
    for entry in &file.histograms.entries {
        if entry.counts.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
            return Err(AnalyzeError::malformed(
                path,
                format!(
                    "histogram of {} {}: buckets not in increasing order",
                    one_line(&entry.method),
                    one_line(&entry.name)
                ),
            ));
        }
    }
    Ok(file)
}

/// Most samples a file may hold, over all its entries: the analysis sums counts in u64 and takes them as exact f64s,
/// and no run comes near (2^53 requests is 285 years at a million a second).
pub(crate) const MAX_SAMPLES: u64 = 1 << 53;

/// Rejects counts, failures or items that add up past `MAX_SAMPLES` (a hand-edited or corrupt file), which would
/// overflow the sums downstream.
pub(crate) fn check_totals(path: &Path, entries: &[SnapshotEntry]) -> Result<()> {
    let (mut samples, mut failures, mut items) = (0u128, 0u128, 0u128);
    for entry in entries {
        samples += entry.counts.iter().map(|&(_, count)| u128::from(count)).sum::<u128>();
        failures += u128::from(entry.failures);
        items += u128::from(entry.items);
    }
    for (what, total) in [("samples", samples), ("failures", failures), ("items", items)] {
        if total > u128::from(MAX_SAMPLES) {
            return Err(AnalyzeError::malformed(
                path,
                format!("{what} add up to {total}, more than 2^53: not a real run's histograms"),
            ));
        }
    }
    Ok(())
}

/// The exact per-second timeline of one (method, name).
#[derive(Debug, Clone, Default)]
pub struct IntervalSeries {
    pub method: String,
    pub name: String,
    /// Unix seconds, on the clock of Locust's `_stats_history.csv`.
    pub timestamps: Vec<f64>,
    pub requests: Vec<f64>,
    pub failures: Vec<f64>,
    pub items: Vec<f64>,
    pub p50_ms: Vec<f64>,
    pub p95_ms: Vec<f64>,
    pub p99_ms: Vec<f64>,
    pub max_ms: Vec<f64>,
}

pub fn read_intervals(path: &Path) -> Result<Vec<IntervalSeries>> {
    const WHAT: &str = "pushpop-load's _hdr_intervals.csv";
    let mut csv = CsvFile::open(path)?;
    let columns = [
        "Timestamp",
        "Type",
        "Name",
        "Requests",
        "Failures",
        "Items",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "Max ms",
    ]
    .map(|name| csv.require(&[name], WHAT));
    let [timestamp, method, name, requests, failures, items, p50, p95, p99, max] = columns;
    let (timestamp, method, name) = (timestamp?, method?, name?);
    let numbers = [requests?, failures?, items?, p50?, p95?, p99?, max?];
    let mut all: Vec<IntervalSeries> = Vec::new();
    while csv.next()? {
        let (m, n) = (csv.str(method)?, csv.str(name)?);
        let index = if let Some(index) = all.iter().position(|s| s.method == m && s.name == n) {
            index
        } else {
            all.push(IntervalSeries {
                method: m.to_owned(),
                name: n.to_owned(),
                ..IntervalSeries::default()
            });
            all.len() - 1
        };
        let t = csv.number(timestamp)?.unwrap_or(f64::NAN);
        let mut values = [0.0; 7];
        for (value, &column) in values.iter_mut().zip(&numbers) {
            *value = csv.number(column)?.unwrap_or(f64::NAN);
        }
        let series = &mut all[index];
        series.timestamps.push(t);
        for (column, value) in [
            &mut series.requests,
            &mut series.failures,
            &mut series.items,
            &mut series.p50_ms,
            &mut series.p95_ms,
            &mut series.p99_ms,
            &mut series.max_ms,
        ]
        .into_iter()
        .zip(values)
        {
            column.push(value);
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::inputs::tests::tempdir;

    #[test]
    fn reads_what_the_recorder_writes() {
        let mut recorder = crate::stats::Recorder::new();
        for ms in [1.0, 2.0, 3.0] {
            recorder.record("POST", "/queue/[id]/pop", ms, ms > 2.5);
        }
        recorder.record_items("POST", "/queue/[id]/pop", 7);
        let summaries = serde_json::to_value(recorder.summaries()).unwrap();
        let document = serde_json::json!({
            "format": "pushpop-load-hdr", "version": 1, "unit": "us", "duration_s": 2.0,
            "summaries": summaries, "histograms": recorder.snapshot(),
        });
        let path = tempdir().join("r_hdr.json");
        std::fs::write(&path, document.to_string()).unwrap();
        let file = read_hdr(&path).unwrap();
        assert_eq!(file.summaries[0].items, 7);
        assert_eq!(file.histograms.entries[0].count(), 3);
        assert_eq!(file.histograms.entries[0].failures, 1);

        std::fs::write(&path, &document.to_string()[..40]).unwrap();
        assert!(read_hdr(&path).unwrap_err().to_string().contains("truncated JSON"));
        std::fs::write(&path, "[1, 2]").unwrap();
        assert!(read_hdr(&path)
            .unwrap_err()
            .to_string()
            .contains("not pushpop-load's _hdr.json"));
        let mut twice = document.clone();
        let entries = twice["histograms"]["entries"].as_array_mut().unwrap();
        entries.push(entries[0].clone());
        std::fs::write(&path, twice.to_string()).unwrap();
        let err = read_hdr(&path).unwrap_err().to_string();
        assert!(err.ends_with("two histograms of POST /queue/[id]/pop"), "{err}");
        let huge = document
            .to_string()
            .replace("\"counts\":[[", "\"counts\":[[1,18446744073709551615],[");
        std::fs::write(&path, huge).unwrap();
        let err = read_hdr(&path).unwrap_err().to_string();
        assert!(
            err.contains("samples add up to") && err.contains("more than 2^53"),
            "{err}"
        );
        std::fs::write(&path, document.to_string().replace("\"version\":1", "\"version\":7")).unwrap();
        assert!(read_hdr(&path).unwrap_err().to_string().contains("version 7"));
    }

    #[test]
    fn intervals() {
        let path = tempdir().join("i_hdr_intervals.csv");
        std::fs::write(
            &path,
            "Timestamp,Type,Name,Requests,Failures,Items,p50 ms,p95 ms,p99 ms,Max ms\n\
             100,POST,/p,10,1,7,0.500,0.900,1.000,1.200\n101,POST,/p,5,0,3,0.400,0.800,0.900,0.950\n\
             100,GET,\"a,b\",1,0,0,0.1,0.1,0.1,0.1\n",
        )
        .unwrap();
        let series = read_intervals(&path).unwrap();
        assert_eq!(series.len(), 2);
        assert_eq!(
            (series[0].requests.clone(), series[0].items.clone()),
            (vec![10.0, 5.0], vec![7.0, 3.0])
        );
        assert_eq!(series[1].name, "a,b");
    }
}
