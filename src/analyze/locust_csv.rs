//! Locust 2.x's `_stats.csv`, `_failures.csv` and `_exceptions.csv`, read by column name (Locust's percentile
//! columns follow `locust.stats.PERCENTILES_TO_REPORT`, so their number varies).

use std::path::Path;

use serde::Serialize;

use super::csvfile::{percentile_column, CsvFile};
use super::error::Result;

/// One row of `_stats.csv`, times in milliseconds as Locust rounded them; None for an empty or `N/A` cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocustRow {
    pub method: String,
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    pub median_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub min_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub avg_content_size: Option<f64>,
    pub rps: Option<f64>,
    pub fail_rps: Option<f64>,
    /// (percentile, ms) for each percentile column, in the file's order.
    pub percentiles: Vec<(f64, Option<f64>)>,
}

impl LocustRow {
    #[must_use]
    pub fn percentile(&self, percentile: f64) -> Option<f64> {
        self.percentiles
            .iter()
            .find(|(p, _)| (p - percentile).abs() < 1e-9)
            .and_then(|(_, value)| *value)
    }
}

/// `_stats.csv`: a row per endpoint, and the `Aggregated` row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocustStats {
    pub rows: Vec<LocustRow>,
    pub aggregated: Option<LocustRow>,
}

const STATS: &str = "a Locust _stats.csv";

pub fn read_stats(path: &Path) -> Result<LocustStats> {
    let mut csv = CsvFile::open(path)?;
    let method = csv.require(&["Type", "Method"], STATS)?;
    let name = csv.require(&["Name"], STATS)?;
    let requests = csv.require(&["Request Count", "# requests"], STATS)?;
    let failures = csv.require(&["Failure Count", "# failures"], STATS)?;
    let optional = |csv: &CsvFile, names: &[&str]| csv.column_any(names);
    let median = optional(&csv, &["Median Response Time"]);
    let mean = optional(&csv, &["Average Response Time"]);
    let min = optional(&csv, &["Min Response Time"]);
    let max = optional(&csv, &["Max Response Time"]);
    let size = optional(&csv, &["Average Content Size"]);
    let rps = optional(&csv, &["Requests/s"]);
    let fail_rps = optional(&csv, &["Failures/s"]);
    let percentile_columns: Vec<(usize, f64)> = csv
        .header
        .iter()
        .enumerate()
        .filter_map(|(i, column)| percentile_column(column).map(|p| (i, p)))
        .collect();
    let mut stats = LocustStats::default();
    while csv.next()? {
        let number = |column: Option<usize>| column.map_or(Ok(None), |c| csv.number(c));
        let mut percentiles = Vec::with_capacity(percentile_columns.len());
        for &(column, percentile) in &percentile_columns {
            percentiles.push((percentile, csv.number(column)?));
        }
        let row = LocustRow {
            method: csv.str(method)?.to_owned(),
            name: csv.str(name)?.to_owned(),
            requests: csv.count(requests)?,
            failures: csv.count(failures)?,
            median_ms: number(median)?,
            mean_ms: number(mean)?,
            min_ms: number(min)?,
            max_ms: number(max)?,
            avg_content_size: number(size)?,
            rps: number(rps)?,
            fail_rps: number(fail_rps)?,
            percentiles,
        };
        if is_aggregated(&row.method, &row.name) {
            stats.aggregated = Some(row);
        } else {
            stats.rows.push(row);
        }
    }
    Ok(stats)
}

/// Locust 2 writes the total as Type "" and Name "Aggregated" (older versions: "None" or "Total").
pub(crate) fn is_aggregated(method: &str, name: &str) -> bool {
    (method.is_empty() || method == "None") && (name == "Aggregated" || name == "Total")
}

/// One row of `_failures.csv`: the same error on the same endpoint, counted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureRow {
    pub method: String,
    pub name: String,
    pub error: String,
    pub occurrences: u64,
}

pub fn read_failures(path: &Path) -> Result<Vec<FailureRow>> {
    const WHAT: &str = "a Locust _failures.csv";
    let mut csv = CsvFile::open(path)?;
    let method = csv.require(&["Method", "Type"], WHAT)?;
    let name = csv.require(&["Name"], WHAT)?;
    let error = csv.require(&["Error"], WHAT)?;
    let occurrences = csv.require(&["Occurrences"], WHAT)?;
    let mut rows = Vec::new();
    while csv.next()? {
        rows.push(FailureRow {
            method: csv.str(method)?.to_owned(),
            name: csv.str(name)?.to_owned(),
            error: csv.str(error)?.to_owned(),
            occurrences: csv.count(occurrences)?,
        });
    }
    Ok(rows)
}

/// One row of `_exceptions.csv`: an exception raised in user code, with where it was raised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExceptionRow {
    pub count: u64,
    pub message: String,
    pub traceback: String,
    pub nodes: String,
}

pub fn read_exceptions(path: &Path) -> Result<Vec<ExceptionRow>> {
    const WHAT: &str = "a Locust _exceptions.csv";
    let mut csv = CsvFile::open(path)?;
    let count = csv.require(&["Count"], WHAT)?;
    let message = csv.require(&["Message"], WHAT)?;
    let traceback = csv.column("Traceback");
    let nodes = csv.column("Nodes");
    let mut rows = Vec::new();
    while csv.next()? {
        rows.push(ExceptionRow {
            count: csv.count(count)?,
            message: csv.str(message)?.to_owned(),
            traceback: traceback.map_or(Ok(""), |c| csv.str(c))?.to_owned(),
            nodes: nodes.map_or(Ok(""), |c| csv.str(c))?.to_owned(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::inputs::tests::tempdir;

    const HEADER: &str = "\"Type\",\"Name\",\"Request Count\",\"Failure Count\",\"Median Response Time\",\
        \"Average Response Time\",\"Min Response Time\",\"Max Response Time\",\"Average Content Size\",\
        \"Requests/s\",\"Failures/s\",\"50%\",\"66%\",\"75%\",\"80%\",\"90%\",\"95%\",\"98%\",\"99%\",\"99.9%\",\
        \"99.99%\",\"100%\"";

    fn write(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = tempdir().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn locust_rows_with_commas_quotes_and_the_aggregated_row() {
        let text = format!(
            "{HEADER}\n\
             POST,/queue/[id]/pop,10,1,3,3.5,1.25,9,42.0,5.0,0.5,3,4,4,5,6,8,9,9,9,9,9\n\
             GET,\"/a, \"\"quoted\"\" name\",0,0,0,0.0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\n\
             ,Aggregated,10,1,3,3.5,1.25,9,42.0,5.0,0.5,3,4,4,5,6,8,9,9,9,9,9\n"
        );
        let stats = read_stats(&write("s_stats.csv", text.as_bytes())).unwrap();
        assert_eq!(stats.rows.len(), 2);
        let pop = &stats.rows[0];
        assert_eq!((pop.method.as_str(), pop.requests, pop.failures), ("POST", 10, 1));
        assert_eq!((pop.min_ms, pop.mean_ms, pop.rps), (Some(1.25), Some(3.5), Some(5.0)));
        assert_eq!(pop.percentile(95.0), Some(8.0));
        assert_eq!(pop.percentile(99.9), Some(9.0));
        assert_eq!(pop.percentiles.len(), 11);
        let quoted = &stats.rows[1];
        assert_eq!(quoted.name, "/a, \"quoted\" name");
        assert_eq!((quoted.requests, quoted.percentile(50.0)), (0, None));
        assert_eq!(stats.aggregated.as_ref().unwrap().requests, 10);
    }

    #[test]
    fn zero_requests_and_custom_percentiles() {
        let text = "Type,Name,Request Count,Failure Count,Requests/s,Failures/s,90%,99.5%\n\
                    ,Aggregated,0,0,0.0,0.0,N/A,N/A\n";
        let stats = read_stats(&write("z_stats.csv", text.as_bytes())).unwrap();
        assert!(stats.rows.is_empty());
        let total = stats.aggregated.unwrap();
        assert_eq!(total.percentiles, vec![(90.0, None), (99.5, None)]);
        assert_eq!(total.median_ms, None);
    }

    #[test]
    fn malformed_files_say_what_is_wrong() {
        let cases: [(&str, &[u8], &str); 7] = [
            ("empty", b"", "empty file"),
            (
                "header",
                b"a,b,c\n1,2,3\n",
                "not a Locust _stats.csv: its header has no \"Type\" column",
            ),
            (
                "truncated",
                b"Type,Name,Request Count,Failure Count\nGET,/x,1",
                "line 2: 3 fields where the header has 4",
            ),
            (
                "latin1",
                b"Type,Name,Request Count,Failure Count\nGET,/caf\xe9,1,0\n",
                "line 2: not UTF-8 text",
            ),
            ("binary", b"\x00\x01\x02\xff\xfe\n\x00\x00", "line 1: binary data"),
            (
                "newline in the header",
                b"\"Ty\npe\",Name\nGET,/x\n",
                "header has no \"Type\" column (header: Ty\\npe,Name)",
            ),
            (
                "number",
                b"Type,Name,Request Count,Failure Count\nGET,/x,many,0\n",
                "line 2: Request Count is \"many\"",
            ),
        ];
        for (name, bytes, expected) in cases {
            let err = read_stats(&write(&format!("{name}_stats.csv"), bytes))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{name}: {err}");
            assert!(!err.contains('\n'), "{name}: one line: {err}");
        }
    }

    #[test]
    fn failures_and_exceptions() {
        let failures = write(
            "f_failures.csv",
            b"Method,Name,Error,Occurrences,First Seen,Last Seen\n\
              GET,/nowhere,\"HttpStatusError(code=404, \"\"Not Found\"\")\",7,2026-01-01,2026-01-01\n",
        );
        let rows = read_failures(&failures).unwrap();
        assert_eq!(rows[0].error, "HttpStatusError(code=404, \"Not Found\")");
        assert_eq!(rows[0].occurrences, 7);
        let exceptions = write(
            "e_exceptions.csv",
            b"Count,Message,Traceback,Nodes\n2,boom,\"Traceback:\n  line 1\",\"a, b\"\n",
        );
        let rows = read_exceptions(&exceptions).unwrap();
        assert_eq!((rows[0].count, rows[0].traceback.as_str()), (2, "Traceback:\n  line 1"));
    }
}
