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
    /// (column name, values), NaN where a cell was empty or not a number.
    pub series: Vec<(String, Vec<f64>)>,
}

/// `_resources.csv` has no fixed layout yet: any CSV whose first column is a unix timestamp is taken, one series
/// per other column that holds numbers; text columns (a process or container name) are left out.
pub fn read_resources(path: &Path) -> Result<Resources> {
    let mut csv = CsvFile::open(path)?;
    let timestamp = csv
        .column_any(&["Timestamp", "timestamp", "time", "Time", "unix_s"])
        .ok_or_else(|| AnalyzeError::malformed(path, "no Timestamp column (resource samples need a time axis)"))?;
    let mut resources = Resources::default();
    let mut columns: Vec<(usize, Vec<f64>, bool)> = (0..csv.header.len())
        .filter(|&c| c != timestamp)
        .map(|c| (c, Vec::new(), false))
        .collect();
    while csv.next()? {
        resources.timestamps.push(csv.number(timestamp)?.unwrap_or(f64::NAN));
        for (column, values, numeric) in &mut columns {
            let value = csv.number(*column).ok().flatten();
            *numeric |= value.is_some();
            values.push(value.unwrap_or(f64::NAN));
        }
    }
    resources.series = columns
        .into_iter()
        .filter(|(_, _, numeric)| *numeric)
        .map(|(column, values, _)| (csv.header[column].clone(), values))
        .collect();
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
        assert_eq!(resources.series[0].0, "cpu_percent");
        assert!(resources.series[0].1[1].is_nan());
    }
}
