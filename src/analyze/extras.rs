//! The files other parts of the toolkit leave beside Locust's: the integrity checker's verdict, the scenario's
//! description, and the resource monitor's samples. Their layouts belong to those parts, so only the outer shape
//! is checked here (a JSON object; a CSV with a timestamp column) and every key is shown as found.

use std::path::Path;

use serde_json::{Map, Value};

use super::csvfile::CsvFile;
use super::error::{AnalyzeError, Result};
use super::inputs::read_input;

/// A JSON object file (`_integrity.json`, `_scenario.json`).
pub fn read_object(path: &Path) -> Result<Map<String, Value>> {
    let bytes = read_input(path)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AnalyzeError::malformed(path, "empty file"));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(AnalyzeError::malformed(path, "not a JSON object")),
        Err(err) if err.is_eof() => Err(AnalyzeError::malformed(path, format!("truncated JSON: {err}"))),
        Err(err) => Err(AnalyzeError::malformed(path, format!("not JSON: {err}"))),
    }
}

/// The integrity figures that thresholds may name (`lost==0`), in the order a report shows them.
pub const INTEGRITY_COUNTS: [&str; 11] = [
    "acknowledged",
    "popped",
    "lost",
    "duplicated",
    "out_of_order",
    "priority_inversions",
    "foreign",
    "unpopped",
    "indeterminate",
    "rejected",
    "popped_rejected",
];

/// Resource samples: one timestamp column and any number of numeric series on Locust's time axis.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    pub timestamps: Vec<f64>,
    /// (column name, values), NaN where a cell was empty or not a number. In the monitor's layout a name is
    /// `"<source> <metric>"` (`pid:4242 cpu_pct`); in a long layout with a process column, `"<process> <column>"`.
    pub series: Vec<(String, Vec<f64>)>,
}

/// Columns that hold a time, never a metric: the monitor's `Time` (the tick's start, to the millisecond) and the
/// usual spellings of a clock.
const TIME_COLUMNS: [&str; 7] = ["timestamp", "time", "unix_s", "unix", "datetime", "date", "ts"];
/// Text columns that name what a row measures (a long layout: one row per process and tick).
const KEY_COLUMNS: [&str; 5] = ["process", "name", "source", "container", "label"];
/// A numeric column within this many seconds of the row's timestamp on every row is another clock, not a metric.
const CLOCK_TOLERANCE_S: f64 = 86_400.0;

fn is_time_name(name: &str) -> bool {
    let lower = name.trim().to_ascii_lowercase();
    TIME_COLUMNS.contains(&lower.as_str()) || lower.ends_with("_unix") || lower.ends_with(" unix")
}

/// Every finite value is a unix time close to the row's own: a second clock column under another name.
fn is_clock(timestamps: &[f64], values: &[f64]) -> bool {
    let mut seen = false;
    for (t, v) in timestamps.iter().zip(values) {
        if v.is_finite() && t.is_finite() {
            if *t < 1e8 || (v - t).abs() > CLOCK_TOLERANCE_S {
                return false;
            }
            seen = true;
        }
    }
    seen
}

/// `_resources.csv` has no fixed layout for the analyzer: any CSV with a unix timestamp column is taken, one series
/// per other column that holds numbers, never a time column (the monitor's `Time`). A text column naming the
/// process (`process`, `name`, `source`, `container`) splits each metric into one series per process; other text
/// columns are left out.
pub fn read_resources(path: &Path) -> Result<Resources> {
    let mut csv = CsvFile::open(path)?;
    let timestamp = csv
        .column_any(&["Timestamp", "timestamp", "time", "Time", "unix_s"])
        .ok_or_else(|| AnalyzeError::malformed(path, "no Timestamp column (resource samples need a time axis)"))?;
    let key =
        (0..csv.header.len()).find(|&c| KEY_COLUMNS.contains(&csv.header[c].trim().to_ascii_lowercase().as_str()));
    let mut resources = Resources::default();
    let mut columns: Vec<(usize, Vec<f64>, bool)> = (0..csv.header.len())
        .filter(|&c| c != timestamp && Some(c) != key && !is_time_name(&csv.header[c]))
        .map(|c| (c, Vec::new(), false))
        .collect();
    let mut keys: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    while csv.next()? {
        resources.timestamps.push(csv.number(timestamp)?.unwrap_or(f64::NAN));
        for (column, values, numeric) in &mut columns {
            let value = csv.number(*column).ok().flatten();
            *numeric |= value.is_some();
            values.push(value.unwrap_or(f64::NAN));
        }
        if let Some(key) = key {
            let name = csv.str(key)?.trim().to_owned();
            if !name.is_empty() && !names.contains(&name) {
                names.push(name.clone());
            }
            keys.push(name);
        }
    }
    for (column, values, numeric) in &columns {
        if !numeric || is_clock(&resources.timestamps, values) {
            continue;
        }
        let header = &csv.header[*column];
        if names.is_empty() {
            resources.series.push((header.clone(), values.clone()));
            continue;
        }
        for name in &names {
            let split: Vec<f64> = values
                .iter()
                .zip(&keys)
                .map(|(v, k)| if k == name { *v } else { f64::NAN })
                .collect();
            resources.series.push((format!("{name} {header}"), split));
        }
    }
    Ok(resources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::inputs::tests::tempdir;

    #[test]
    fn objects_and_resources() {
        let dir = tempdir();
        let path = dir.join("x_integrity.json");
        std::fs::write(
            &path,
            r#"{"ok": false, "lost": null, "duplicated": 2, "extra": {"a": 1}}"#,
        )
        .unwrap();
        let map = read_object(&path).unwrap();
        assert_eq!(map["duplicated"], 2);
        std::fs::write(&path, "[1]").unwrap();
        assert!(read_object(&path)
            .unwrap_err()
            .to_string()
            .contains("not a JSON object"));
        std::fs::write(&path, "{\"ok\": tr").unwrap();
        assert!(read_object(&path).unwrap_err().to_string().contains("truncated JSON"));

        let path = dir.join("x_resources.csv");
        std::fs::write(
            &path,
            "Timestamp,process,cpu_percent,rss_mb\n1,target,50.5,10\n2,target,N/A,11\n",
        )
        .unwrap();
        let resources = read_resources(&path).unwrap();
        assert_eq!(resources.timestamps, vec![1.0, 2.0]);
        assert_eq!(resources.series.len(), 2);
        assert_eq!(resources.series[0].0, "target cpu_percent");
        assert!(resources.series[0].1[1].is_nan());

        // the monitor's layout: its Time column is a clock, never a series; a clock under another name neither
        std::fs::write(
            &path,
            "Timestamp,Time,generator cpu_pct,pid:7 rss_bytes,sampled\n1700000000,1700000000.25,3.5,100,1700000000.3\n1700000001,1700000001.25,,200,1700000001.3\n",
        )
        .unwrap();
        let resources = read_resources(&path).unwrap();
        let names: Vec<&str> = resources.series.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(names, ["generator cpu_pct", "pid:7 rss_bytes"]);

        // a long layout: one row per process and tick, each process its own series
        std::fs::write(
            &path,
            "Timestamp,process,cpu_percent\n1,target,5\n1,postgres,7\n2,target,6\n",
        )
        .unwrap();
        let resources = read_resources(&path).unwrap();
        assert_eq!(resources.series[0].0, "target cpu_percent");
        assert_eq!(resources.series[1].0, "postgres cpu_percent");
        assert!((resources.series[1].1[1] - 7.0).abs() < 1e-12);
        assert!(resources.series[1].1[0].is_nan());
    }
}
