//! Reading a history file: the header gives the layout, then the rows are read in parts on every core, or again
//! on one thread when the parts do not join up or one fails, which also gives the line of the error.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use super::fold::{take, Cache, Layout, PartError};
use super::numbers::number;
use super::partial::{finish, merge, Partial};
use super::series::History;
use super::split::{field, record, split_line, Fast, Row, Split};
use super::{BLOCK, BUCKETS};
use crate::analyze::csvfile::{one_line, percentile_column, CsvFile};
use crate::analyze::error::{AnalyzeError, Result};
use crate::analyze::inputs::open_input;

/// Reads records from `start` while they start before `end` (or to the end of the file), folding them into
/// `series`; returns where the last record ended. On an error, `failed_at` is the offset of the record at fault.
fn read_part(
    file: &File,
    layout: &Layout,
    start: u64,
    end: Option<u64>,
    series: &mut Vec<Partial>,
    failed_at: &mut u64,
) -> std::result::Result<u64, PartError> {
    let mut buffer = vec![0u8; BLOCK];
    let mut filled = 0usize;
    let mut offset = start; // file offset of buffer[0]
    let mut at_eof = false;
    let mut split = Split::default();
    let mut slow = Vec::new();
    let mut scratch = Vec::new();
    let mut cache = Cache::default();
    loop {
        if !at_eof && filled < buffer.len() {
            let read = file
                .read_at(&mut buffer[filled..], offset + filled as u64)
                .map_err(PartError::Io)?;
            at_eof = read == 0;
            filled += read;
        }
        let data = &buffer[..filled];
        let mut position = 0usize;
        while position < data.len() {
            let record_start = offset + position as u64;
            if end.is_some_and(|end| record_start >= end) {
                return Ok(record_start);
            }
            *failed_at = record_start;
            let rest = &data[position..];
            // most rows are split by the fast splitter; the rest (a quote inside a field) go through the full parser;
            // the row's fields lie in `rest`, which goes on past the row: a number may be read a word at a time
            match split_line(rest, at_eof, &mut split, &mut scratch) {
                Fast::Line(length, count) => {
                    position += length;
                    take(rest, &Row::new(&split, count), &scratch, layout, series, &mut cache)?;
                }
                Fast::Incomplete => break,
                Fast::Quoted => {
                    let Some(length) = record(rest, at_eof, &mut slow, &mut scratch) else {
                        if at_eof {
                            return Err(PartError::Unterminated);
                        }
                        break;
                    };
                    position += length;
                    take(rest, &slow[..], &scratch, layout, series, &mut cache)?;
                }
            }
        }
        if at_eof {
            if position >= data.len() {
                return Ok(offset + position as u64);
            }
            *failed_at = offset + position as u64;
            return Err(PartError::Unterminated);
        }
        // keep the unfinished record; grow the buffer when one record fills it
        buffer.copy_within(position..filled, 0);
        filled -= position;
        offset += position as u64;
        if filled == buffer.len() {
            buffer.resize(buffer.len() * 2, 0);
        }
    }
}

/// The timestamp of the first whole record after `from` (`from` itself when it starts one).
fn first_timestamp(file: &File, layout: &Layout, from: u64) -> Option<f64> {
    let mut buffer = vec![0u8; 64 * 1024];
    let read = file.read_at(&mut buffer, from).ok()?;
    let mut fields = Vec::new();
    let mut scratch = Vec::new();
    record(&buffer[..read], false, &mut fields, &mut scratch)?;
    let span = *fields.get(layout.timestamp)?;
    number(field(&buffer, &scratch, span)).ok().flatten()
}

/// The timestamp of the last record, from the file's last 64 KiB.
fn last_timestamp(file: &File, layout: &Layout, size: u64) -> Option<f64> {
    let from = size.saturating_sub(64 * 1024);
    let mut buffer = vec![0u8; usize::try_from(size - from).ok()?];
    file.read_exact_at(&mut buffer, from).ok()?;
    let trimmed = buffer.trim_ascii_end();
    let start = trimmed.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut fields = Vec::new();
    let mut scratch = Vec::new();
    record(&trimmed[start..], true, &mut fields, &mut scratch)?;
    let span = *fields.get(layout.timestamp)?;
    number(field(&trimmed[start..], &scratch, span)).ok().flatten()
}

/// The next record start at or after `from`, taking any newline there to end a record (checked afterwards).
fn next_line(file: &File, from: u64) -> Option<u64> {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut offset = from;
    loop {
        let read = file.read_at(&mut buffer, offset).ok()?;
        if read == 0 {
            return None;
        }
        if let Some(i) = buffer[..read].iter().position(|&b| b == b'\n') {
            return Some(offset + i as u64 + 1);
        }
        offset += read as u64;
    }
}

const WHAT: &str = "a Locust _stats_history.csv";

pub fn read_history(path: &Path) -> Result<History> {
    let csv = CsvFile::open(path)?;
    let percentile = |wanted: f64| {
        csv.header
            .iter()
            .position(|column| percentile_column(column).is_some_and(|p| (p - wanted).abs() < 1e-9))
    };
    let mut layout = Layout {
        fields: csv.header.len(),
        timestamp: csv.require(&["Timestamp"], WHAT)?,
        method: csv.require(&["Type", "Method"], WHAT)?,
        name: csv.require(&["Name"], WHAT)?,
        rps: csv.require(&["Requests/s"], WHAT)?,
        users: csv.column("User Count"),
        fail_rps: csv.column("Failures/s"),
        p50: percentile(50.0),
        p95: percentile(95.0),
        p99: percentile(99.0),
        total_requests: csv.column("Total Request Count"),
        total_failures: csv.column("Total Failure Count"),
        origin: 0.0,
        width: f64::MAX,
    };
    let mut data_start = csv.data_offset();
    drop(csv);
    let file = open_input(path)?;
    let size = file.metadata().map_err(|err| AnalyzeError::io(path, err))?.len();
    // the csv reader ends a CRLF header at its CR
    let mut next = [0u8; 1];
    if file.read_at(&mut next, data_start).is_ok_and(|n| n == 1) && next[0] == b'\n' {
        data_start += 1;
    }
    if let (Some(first), Some(last)) = (
        first_timestamp(&file, &layout, data_start),
        last_timestamp(&file, &layout, size),
    ) {
        if last >= first {
            #[allow(clippy::cast_precision_loss)]
            let width = ((last - first + 1.0) / BUCKETS as f64).max(1.0);
            layout.origin = first;
            layout.width = width;
        }
    }

    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(8);
    let parts = if size - data_start > 8 * BLOCK as u64 && threads > 1 {
        parallel(&file, &layout, data_start, size, threads)
    } else {
        None
    };
    let series = if let Some(series) = parts {
        series
    } else {
        let mut series = Vec::new();
        let mut failed_at = data_start;
        read_part(&file, &layout, data_start, None, &mut series, &mut failed_at).map_err(|err| {
            let line = line_of(&file, failed_at);
            let message = match err {
                PartError::Io(err) => return AnalyzeError::io(path, err),
                PartError::Fields(found) => format!(
                    "line {line}: {found} fields where the header has {} (truncated or not a CSV of this kind)",
                    layout.fields
                ),
                PartError::Number(column, raw) => {
                    let shown: String = String::from_utf8_lossy(&raw).chars().take(40).collect();
                    let name = header_name(path, column);
                    format!("line {line}: {name} is {shown:?}, not a number")
                }
                PartError::NotText => format!("line {line}: not UTF-8 text"),
                PartError::Unterminated => format!("line {line}: the file ends inside a quoted field (truncated?)"),
            };
            AnalyzeError::malformed(path, message)
        })?;
        series
    };
    Ok(History {
        series: series.iter().map(finish).collect(),
    })
}

/// The line (1-based) where the byte at `offset` is: only ever computed for an error message.
fn line_of(file: &File, offset: u64) -> u64 {
    let mut buffer = vec![0u8; BLOCK];
    let (mut position, mut lines) = (0u64, 1u64);
    while position < offset {
        let Ok(read) = file.read_at(&mut buffer, position) else {
            break;
        };
        if read == 0 {
            break;
        }
        let take = usize::try_from((offset - position).min(read as u64)).unwrap_or(read);
        lines += memchr::memchr_iter(b'\n', &buffer[..take]).count() as u64;
        position += take as u64;
    }
    lines
}

fn header_name(path: &Path, column: usize) -> String {
    CsvFile::open(path)
        .ok()
        .and_then(|csv| csv.header.get(column).map(|name| one_line(name)))
        .unwrap_or_else(|| format!("column {}", column + 1))
}

/// Reads the file in `threads` parts at once; None when the parts do not join up (a split inside a quoted field)
/// or one failed, so that the caller reads it again on one thread.
fn parallel(file: &File, layout: &Layout, data_start: u64, size: u64, threads: usize) -> Option<Vec<Partial>> {
    let span = (size - data_start) / threads as u64;
    let mut starts = vec![data_start];
    for i in 1..threads {
        let start = next_line(file, data_start + span * i as u64)?;
        if start <= *starts.last()? || start >= size {
            return None;
        }
        starts.push(start);
    }
    let results: Vec<std::result::Result<(u64, Vec<Partial>), PartError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..starts.len())
            .map(|i| {
                let (start, end) = (starts[i], starts.get(i + 1).copied());
                scope.spawn(move || {
                    let mut series = Vec::new();
                    let mut failed_at = 0;
                    read_part(file, layout, start, end, &mut series, &mut failed_at).map(|ended| (ended, series))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(PartError::NotText)))
            .collect()
    });
    let mut merged = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        let (ended, series) = result.ok()?;
        // the part must end exactly where the next began: else a split fell inside a record
        if ended != starts.get(i + 1).copied().unwrap_or(ended) {
            return None;
        }
        merge(&mut merged, series);
    }
    Some(merged)
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // small decimals parse exactly
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::analyze::inputs::tests::tempdir;

    #[test]
    fn full_history_with_n_a_cells() {
        let text = "\"Timestamp\",\"User Count\",\"Type\",\"Name\",\"Requests/s\",\"Failures/s\",\"50%\",\"95%\",\
                    \"99%\",\"Total Request Count\",\"Total Failure Count\"\r\n\
                    100,0,,Aggregated,0.000000,0.000000,N/A,N/A,N/A,0,0\r\n\
                    101,2,POST,\"/a, \"\"b\"\"\",4.000000,1.000000,3,5,7,4,1\r\n\
                    101,2,,Aggregated,4.000000,1.000000,3,5,7,4,1\r\n\
                    102,4,POST,\"/a, \"\"b\"\"\",8.000000,0.000000,2,9,11,12,1\r\n\
                    102,4,,Aggregated,8.000000,0.000000,2,9,11,12,1\r\n";
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
        let series = history.aggregated().unwrap();
        assert_eq!(series.timestamps, vec![100.0, 101.0, 102.0]);
        assert!(series.p50_ms[0].is_nan() && series.p50_ms[2] == 2.0);
    }

    #[test]
    fn quoted_numbers_read_as_bare_ones() {
        // a writer that quotes every cell: the numbers are read through the quotes, remembered ones too ("5" then
        // 5 then "6" in 50%), and a quoted total is kept like a bare one
        let text = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%,99%,Total Request Count,\
                    Total Failure Count\n\
                    \"100\",\"2\",\"GET\",\"/a\",\"4.5\",\"0.0\",\"5\",\"7\",\"9\",\"10\",\"1\"\n\
                    101,2,GET,/a,\"5.5\",0.0,5,8,\"9\",\"12\",1\n\
                    102,3,GET,/a,6.5,\"1.0\",\"6\",\"8\",9,14,\"2\"\n";
        let path = tempdir().join("q_stats_history.csv");
        std::fs::write(&path, text).unwrap();
        let history = read_history(&path).unwrap();
        let summary = &history.summaries()[0];
        assert_eq!(
            (
                summary.rows,
                summary.first_timestamp,
                summary.last_timestamp,
                summary.peak_users
            ),
            (3, Some(100.0), Some(102.0), Some(3.0))
        );
        assert_eq!(
            (summary.mean_rps, summary.max_rps, summary.max_fail_rps),
            (Some(5.5), Some(6.5), Some(1.0))
        );
        assert_eq!((summary.max_p95_ms, summary.max_p99_ms), (Some(8.0), Some(9.0)));
        assert_eq!((summary.total_requests, summary.total_failures), (Some(14), Some(2)));
        assert_eq!(history.series[0].p50_ms, vec![5.0, 5.0, 6.0]);
    }

    #[test]
    fn a_repeated_cell_is_read_again_when_its_text_changes() {
        // the remembered failures/s and percentiles are per series, and keyed on the whole text: "5" then "50"
        // (a longer text with the same start), "5.0" (the same value, other text), and another series between
        let header = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%,99%,Total Request Count\n";
        let rows = [
            "1,1,GET,/a,1.0,0.000000,5,5,5,1",
            "1,1,GET,/b,1.0,0.500000,7,70,700,1",
            "2,1,GET,/a,1.0,0.000000,5,50,5,2",
            "2,1,GET,/b,1.0,0.500000,7,7,7,2",
            "3,1,GET,/a,1.0,0.250000,5.0,5,51,3",
            "3,1,GET,/b,1.0,0.000000,7,7,7,3",
        ];
        let path = tempdir().join("m_stats_history.csv");
        std::fs::write(&path, format!("{header}{}\n", rows.join("\n"))).unwrap();
        let history = read_history(&path).unwrap();
        let a = history.series.iter().find(|s| s.name == "/a").unwrap();
        let b = history.series.iter().find(|s| s.name == "/b").unwrap();
        assert_eq!(a.p95_ms, vec![5.0, 50.0, 5.0]);
        assert_eq!(a.p99_ms, vec![5.0, 5.0, 51.0]);
        assert_eq!(a.fail_rps, vec![0.0, 0.0, 0.25]);
        assert_eq!(b.p99_ms, vec![700.0, 7.0, 7.0]);
        assert_eq!(b.fail_rps, vec![0.5, 0.5, 0.0]);
        // a cell that follows a remembered one with the same start is still judged
        let bad = format!("{header}1,1,GET,/a,1.0,0.0,5,5,5,1\n2,1,GET,/a,1.0,0.0,5,5x,5,2\n");
        std::fs::write(&path, bad).unwrap();
        let err = read_history(&path).unwrap_err().to_string();
        assert!(err.contains("line 3: 95% is \"5x\", not a number"), "{err}");
    }

    #[test]
    fn aggregated_only_history_and_bad_values() {
        let path = tempdir().join("a_stats_history.csv");
        std::fs::write(
            &path,
            "Timestamp,User Count,Type,Name,Requests/s\n1,1,,Aggregated,2.5\n",
        )
        .unwrap();
        let history = read_history(&path).unwrap();
        assert!(!history.per_endpoint() && history.aggregated().is_some());
        for (text, expected) in [
            (
                &b"Timestamp,User Count,Type,Name,Requests/s\n1,1,,Aggregated,2\nnoon,1,,Aggregated,2.5\n"[..],
                "line 3: Timestamp is \"noon\", not a number",
            ),
            (
                &b"Timestamp,User Count,Type,Name,Requests/s\n1,1,,Aggregated\n"[..],
                "line 2: 4 fields where the header has 5",
            ),
            (
                &b"Timestamp,User Count,Type,Name,Requests/s\n1,1,,Aggre\xffgated,2\n"[..],
                "line 2: not UTF-8 text",
            ),
            (
                &b"Timestamp,User Count,Type,Name,Requests/s\n1,1,,\"Aggre"[..],
                "line 2: the file ends inside a quoted field",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = read_history(&path).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn a_large_file_read_in_parts_equals_one_pass() {
        // more than 8 blocks, so the parallel path runs; a name with a newline makes some splits fall inside quotes
        let mut text = String::from("Timestamp,User Count,Type,Name,Requests/s,Failures/s,95%,Total Request Count\r\n");
        for second in 0..200_000u32 {
            let _ = write!(
                text,
                "{},{},GET,\"/a\nb, \"\"c\"\"\",{}.5,0.0,{},{}\r\n",
                1000 + second,
                second % 50,
                second % 7,
                second % 13,
                second
            );
            let _ = write!(
                text,
                "{},{},,Aggregated,{}.5,0.0,N/A,{}\r\n",
                1000 + second,
                second % 50,
                second % 7,
                second
            );
        }
        let path = tempdir().join("big_stats_history.csv");
        std::fs::write(&path, &text).unwrap();
        assert!(text.len() > 8 * BLOCK);
        let history = read_history(&path).unwrap();
        let summaries = history.summaries();
        assert_eq!(summaries.len(), 2);
        assert_eq!(summaries[0].name, "/a\nb, \"c\"");
        for summary in &summaries {
            assert_eq!((summary.rows, summary.total_requests), (200_000, Some(199_999)));
            assert_eq!(
                (summary.first_timestamp, summary.last_timestamp),
                (Some(1000.0), Some(200_999.0))
            );
            assert_eq!((summary.peak_users, summary.max_rps), (Some(49.0), Some(6.5)));
        }
        assert_eq!(summaries[0].max_p95_ms, Some(12.0));
        assert_eq!(summaries[1].max_p95_ms, None);
        assert!(history.series[0].timestamps.len() <= BUCKETS);
    }

    #[test]
    fn parts_join_up_on_a_plain_file() {
        let mut text = String::from("Timestamp,User Count,Type,Name,Requests/s\r\n");
        for second in 0..600_000u32 {
            let _ = write!(text, "{},{},GET,/x,{}.5\r\n", 1000 + second, second % 50, second % 7);
        }
        let path = tempdir().join("plain_stats_history.csv");
        std::fs::write(&path, &text).unwrap();
        let file = File::open(&path).unwrap();
        let header = 41u64 + 2;
        let layout = Layout {
            fields: 5,
            timestamp: 0,
            method: 2,
            name: 3,
            rps: 4,
            users: Some(1),
            fail_rps: None,
            p50: None,
            p95: None,
            p99: None,
            total_requests: None,
            total_failures: None,
            origin: 1000.0,
            width: 400.0,
        };
        let size = text.len() as u64;
        let merged = parallel(&file, &layout, header, size, 2).expect("parts join up");
        assert_eq!(merged[0].rows, 600_000);
    }
}
