//! Locust's `_stats_history.csv`: a row per second for the total (and per endpoint with `--csv-full-history`).
//! Long runs make these files large (a 1,000,000-row file is ~150 MB), so rows are folded into per-series columns
//! in one pass, with no per-row allocation.

use std::path::Path;

use serde::Serialize;

use super::csvfile::{percentile_column, CsvFile};
use super::error::Result;
use super::locust_csv::is_aggregated;

/// One (method, name) over time; NaN where Locust wrote `N/A` or the column is absent.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub method: String,
    pub name: String,
    /// Unix seconds.
    pub timestamps: Vec<f64>,
    pub users: Vec<f64>,
    /// Locust's "current" rates: averages over its last ~10 seconds, not per-second counts.
    pub rps: Vec<f64>,
    pub fail_rps: Vec<f64>,
    pub p50_ms: Vec<f64>,
    pub p95_ms: Vec<f64>,
    pub p99_ms: Vec<f64>,
    pub total_requests: Option<u64>,
    pub total_failures: Option<u64>,
}

impl Series {
    #[must_use]
    pub fn is_aggregated(&self) -> bool {
        is_aggregated(&self.method, &self.name)
    }
}

#[derive(Debug, Clone, Default)]
pub struct History {
    pub series: Vec<Series>,
}

impl History {
    #[must_use]
    pub fn aggregated(&self) -> Option<&Series> {
        self.series.iter().find(|s| s.is_aggregated())
    }

    /// Whether rows per endpoint are there (Locust's `--csv-full-history`), not only the total.
    #[must_use]
    pub fn per_endpoint(&self) -> bool {
        self.series.iter().any(|s| !s.is_aggregated())
    }

    #[must_use]
    pub fn rows(&self) -> usize {
        self.series.iter().map(|s| s.timestamps.len()).sum()
    }

    #[must_use]
    pub fn summaries(&self) -> Vec<SeriesSummary> {
        self.series.iter().map(SeriesSummary::of).collect()
    }
}

/// What a timeline says in a few figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesSummary {
    pub method: String,
    pub name: String,
    pub rows: usize,
    pub first_timestamp: Option<f64>,
    pub last_timestamp: Option<f64>,
    pub peak_users: Option<f64>,
    pub mean_rps: Option<f64>,
    pub max_rps: Option<f64>,
    pub mean_fail_rps: Option<f64>,
    pub max_fail_rps: Option<f64>,
    pub max_p95_ms: Option<f64>,
    pub max_p99_ms: Option<f64>,
    pub total_requests: Option<u64>,
    pub total_failures: Option<u64>,
}

/// Mean and maximum of the non-NaN values.
fn mean_max(values: &[f64]) -> (Option<f64>, Option<f64>) {
    let (mut sum, mut count, mut max) = (0.0, 0u64, f64::NEG_INFINITY);
    for &value in values {
        if !value.is_nan() {
            sum += value;
            count += 1;
            max = max.max(value);
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let mean = (count > 0).then(|| sum / count as f64);
    (mean, (count > 0).then_some(max))
}

impl SeriesSummary {
    fn of(series: &Series) -> Self {
        let (mean_rps, max_rps) = mean_max(&series.rps);
        let (mean_fail_rps, max_fail_rps) = mean_max(&series.fail_rps);
        Self {
            method: series.method.clone(),
            name: series.name.clone(),
            rows: series.timestamps.len(),
            first_timestamp: series
                .timestamps
                .iter()
                .copied()
                .filter(|t| !t.is_nan())
                .reduce(f64::min),
            last_timestamp: mean_max(&series.timestamps).1,
            peak_users: mean_max(&series.users).1,
            mean_rps,
            max_rps,
            mean_fail_rps,
            max_fail_rps,
            max_p95_ms: mean_max(&series.p95_ms).1,
            max_p99_ms: mean_max(&series.p99_ms).1,
            total_requests: series.total_requests,
            total_failures: series.total_failures,
        }
    }
}

const WHAT: &str = "a Locust _stats_history.csv";

pub fn read_history(path: &Path) -> Result<History> {
    let mut csv = CsvFile::open(path)?;
    let timestamp = csv.require(&["Timestamp"], WHAT)?;
    let method = csv.require(&["Type", "Method"], WHAT)?;
    let name = csv.require(&["Name"], WHAT)?;
    let rps = csv.require(&["Requests/s"], WHAT)?;
    let users = csv.column("User Count");
    let fail_rps = csv.column("Failures/s");
    let percentile = |wanted: f64| {
        csv.header
            .iter()
            .position(|column| percentile_column(column).is_some_and(|p| (p - wanted).abs() < 1e-9))
    };
    let (p50, p95, p99) = (percentile(50.0), percentile(95.0), percentile(99.0));
    let total_requests = csv.column("Total Request Count");
    let total_failures = csv.column("Total Failure Count");

    let mut history = History::default();
    // rows cycle through the same few series: try the previous row's next series before searching
    let mut last = 0usize;
    while csv.next()? {
        let index = {
            let (m, n) = (csv.raw(method), csv.raw(name));
            let matches = |s: &Series| s.method.as_bytes() == m && s.name.as_bytes() == n;
            let guess = (last + 1) % history.series.len().max(1);
            if history.series.get(guess).is_some_and(matches) {
                guess
            } else if let Some(found) = history.series.iter().position(matches) {
                found
            } else {
                history.series.push(Series {
                    method: csv.str(method)?.to_owned(),
                    name: csv.str(name)?.to_owned(),
                    ..Series::default()
                });
                history.series.len() - 1
            }
        };
        last = index;
        let number = |column: Option<usize>| -> Result<f64> {
            Ok(column.map_or(Ok(None), |c| csv.number(c))?.unwrap_or(f64::NAN))
        };
        let row = (
            number(Some(timestamp))?,
            number(users)?,
            number(Some(rps))?,
            number(fail_rps)?,
            number(p50)?,
            number(p95)?,
            number(p99)?,
        );
        let requests = total_requests.map(|c| csv.count(c)).transpose()?;
        let failures = total_failures.map(|c| csv.count(c)).transpose()?;
        let series = &mut history.series[index];
        series.timestamps.push(row.0);
        series.users.push(row.1);
        series.rps.push(row.2);
        series.fail_rps.push(row.3);
        series.p50_ms.push(row.4);
        series.p95_ms.push(row.5);
        series.p99_ms.push(row.6);
        series.total_requests = requests.or(series.total_requests);
        series.total_failures = failures.or(series.total_failures);
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::inputs::tests::tempdir;

    #[test]
    fn full_history_with_n_a_cells() {
        let text = "\"Timestamp\",\"User Count\",\"Type\",\"Name\",\"Requests/s\",\"Failures/s\",\"50%\",\"95%\",\
                    \"99%\",\"Total Request Count\",\"Total Failure Count\"\n\
                    100,0,,Aggregated,0.000000,0.000000,N/A,N/A,N/A,0,0\n\
                    101,2,POST,\"/a, \"\"b\"\"\",4.000000,1.000000,3,5,7,4,1\n\
                    101,2,,Aggregated,4.000000,1.000000,3,5,7,4,1\n\
                    102,4,POST,\"/a, \"\"b\"\"\",8.000000,0.000000,2,9,11,12,1\n\
                    102,4,,Aggregated,8.000000,0.000000,2,9,11,12,1\n";
        let path = tempdir().join("h_stats_history.csv");
        std::fs::write(&path, text).unwrap();
        let history = read_history(&path).unwrap();
        assert!(history.per_endpoint());
        assert_eq!(history.rows(), 5);
        let summaries = history.summaries();
        let total = summaries.iter().find(|s| s.name == "Aggregated").unwrap();
        assert_eq!(
            (total.rows, total.first_timestamp, total.last_timestamp),
            (3, Some(100.0), Some(102.0))
        );
        assert_eq!(
            (total.mean_rps, total.max_rps, total.max_p95_ms),
            (Some(4.0), Some(8.0), Some(9.0))
        );
        assert_eq!(
            (total.peak_users, total.total_requests, total.total_failures),
            (Some(4.0), Some(12), Some(1))
        );
        let endpoint = summaries.iter().find(|s| s.name == "/a, \"b\"").unwrap();
        assert_eq!(
            (endpoint.rows, endpoint.max_p99_ms, endpoint.mean_fail_rps),
            (2, Some(11.0), Some(0.5))
        );
    }

    #[test]
    fn aggregated_only_history_and_a_bad_timestamp() {
        let path = tempdir().join("a_stats_history.csv");
        std::fs::write(
            &path,
            "Timestamp,User Count,Type,Name,Requests/s\n1,1,,Aggregated,2.5\n",
        )
        .unwrap();
        let history = read_history(&path).unwrap();
        assert!(!history.per_endpoint() && history.aggregated().is_some());
        std::fs::write(
            &path,
            "Timestamp,User Count,Type,Name,Requests/s\nnoon,1,,Aggregated,2.5\n",
        )
        .unwrap();
        let err = read_history(&path).unwrap_err().to_string();
        assert!(err.contains("line 2: Timestamp is \"noon\", not a number"), "{err}");
    }
}
