//! Property tests of the analyzer's readers: every result file a run leaves, threshold rules and threshold files.
//! Whatever the bytes, a reader returns (no panic, no hang), and a rejection is one line that starts with the file
//! or expression at fault. Valid generated files read back to the values written.
//!
//! `PROPTEST_CASES` raises the case count; `bench/fuzz/run.py` runs these for minutes in release mode.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use _native::analyze::{
    read_exceptions, read_failures, read_hdr, read_history, read_intervals, read_object, read_resources, read_stats,
    read_thresholds_file, run, AnalyzeError, Format, Options, Threshold, Tolerances,
};
use common::{assert_clear, config, tempdir, timed};
use proptest::prelude::*;
use proptest::sample::select;

/// Every reader of a single file, by the name its file has in a run.
type Reader = fn(&Path) -> Result<(), AnalyzeError>;

const READERS: [(&str, Reader); 10] = [
    ("r_stats.csv", |p| read_stats(p).map(drop)),
    ("r_failures.csv", |p| read_failures(p).map(drop)),
    ("r_exceptions.csv", |p| read_exceptions(p).map(drop)),
    ("r_stats_history.csv", |p| read_history(p).map(drop)),
    ("r_hdr_intervals.csv", |p| read_intervals(p).map(drop)),
    ("r_resources.csv", |p| read_resources(p).map(drop)),
    ("r_hdr.json", |p| read_hdr(p).map(drop)),
    ("r_integrity.json", |p| read_object(p).map(drop)),
    ("r_scenario.json", |p| read_object(p).map(drop)),
    ("r.toml", |p| {
        read_thresholds_file(p, &mut Tolerances::default()).map(drop)
    }),
];

/// A file's rejection names the file first; a threshold's names the rule.
fn assert_clear_file_error(err: &AnalyzeError, path: &Path) {
    let message = err.to_string();
    match err {
        AnalyzeError::Threshold { .. } => assert_clear(&message, "threshold "),
        AnalyzeError::Write { .. } | AnalyzeError::NoResults { .. } | AnalyzeError::NoHistograms { .. } => {
            panic!("unexpected error for a read: {message}")
        }
        AnalyzeError::Io { .. } | AnalyzeError::Malformed { .. } => assert_clear(&message, &path.display().to_string()),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

// ---------------------------------------------------------------------------------------------------------------
// valid files, as Locust and the toolkit write them

/// Text for a name or an error: commas, quotes, newlines, non-ASCII, spaces at either end; never NUL (not CSV).
fn name_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9/_\\[\\]-]{0,24}",
        "[ ,\"\n\r;:a-zé€😀]{0,12}",
        Just("Aggregated".to_owned()),
        Just(String::new()),
    ]
}

fn method_text() -> impl Strategy<Value = String> {
    select(vec!["GET", "POST", "", "None", "PUT", "custom type"]).prop_map(str::to_owned)
}

/// A number cell and the value it holds: None for `N/A` or empty.
fn number_cell() -> impl Strategy<Value = (String, Option<f64>)> {
    prop_oneof![
        3 => (0u32..100_000, 0u32..1_000_000).prop_map(|(whole, frac)| {
            let text = format!("{whole}.{frac:06}");
            let value = text.parse().unwrap();
            (text, Some(value))
        }),
        2 => (-1e12f64..1e12).prop_map(|value| (format!("{value}"), Some(value))),
        1 => (0u64..(1 << 53)).prop_map(|value| {
            #[allow(clippy::cast_precision_loss)] // below 2^53: exact
            let exact = value as f64;
            (value.to_string(), Some(exact))
        }),
        1 => Just(("N/A".to_owned(), None)),
        1 => Just((String::new(), None)),
    ]
}

fn count_cell() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..1000, 0u64..(1 << 53)]
}

#[derive(Debug, Clone)]
struct StatsRow {
    method: String,
    name: String,
    requests: u64,
    failures: u64,
    numbers: Vec<(String, Option<f64>)>,
}

const STATS_NUMBERS: [&str; 7] = [
    "Median Response Time",
    "Average Response Time",
    "Min Response Time",
    "Max Response Time",
    "Average Content Size",
    "Requests/s",
    "Failures/s",
];
const PERCENTILES: [(&str, f64); 5] = [
    ("50%", 50.0),
    ("66%", 66.0),
    ("95%", 95.0),
    ("99.9%", 99.9),
    ("100%", 100.0),
];

fn stats_row(percentiles: usize) -> impl Strategy<Value = StatsRow> {
    (
        method_text(),
        name_text(),
        count_cell(),
        count_cell(),
        proptest::collection::vec(number_cell(), STATS_NUMBERS.len() + percentiles),
    )
        .prop_map(|(method, name, requests, failures, numbers)| StatsRow {
            method,
            name,
            requests,
            failures,
            numbers,
        })
}

fn stats_file() -> impl Strategy<Value = (Vec<u8>, Vec<StatsRow>, usize)> {
    (0..=PERCENTILES.len())
        .prop_flat_map(|percentiles| {
            (
                proptest::collection::vec(stats_row(percentiles), 0..8),
                Just(percentiles),
            )
        })
        .prop_map(|(rows, percentiles)| {
            let mut out = csv::Writer::from_writer(Vec::new());
            let mut header = vec!["Type", "Name", "Request Count", "Failure Count"];
            header.extend(STATS_NUMBERS);
            header.extend(PERCENTILES[..percentiles].iter().map(|(name, _)| *name));
            out.write_record(&header).unwrap();
            for row in &rows {
                let mut record = vec![
                    row.method.clone(),
                    row.name.clone(),
                    row.requests.to_string(),
                    row.failures.to_string(),
                ];
                record.extend(row.numbers.iter().map(|(text, _)| text.clone()));
                out.write_record(&record).unwrap();
            }
            (out.into_inner().unwrap(), rows, percentiles)
        })
}

/// A history file of a few series and its rows: (timestamp, users, method, name, rps, p95, total requests).
#[derive(Debug, Clone)]
struct HistoryRow {
    timestamp: u64,
    users: u64,
    method: String,
    name: String,
    rps: (String, Option<f64>),
    p95: (String, Option<f64>),
    total: u64,
}

fn history_file() -> impl Strategy<Value = (Vec<u8>, Vec<HistoryRow>)> {
    let row = (
        1_700_000_000u64..1_700_100_000,
        0u64..5000,
        select(vec!["", "GET", "POST"]),
        select(vec!["Aggregated", "/queue/[id]/pop", "/a, \"b\"", "x\ny", "é😀"]),
        number_cell(),
        number_cell(),
        count_cell(),
    )
        .prop_map(|(timestamp, users, method, name, rps, p95, total)| HistoryRow {
            timestamp,
            users,
            method: method.to_owned(),
            name: name.to_owned(),
            rps,
            p95,
            total,
        });
    (proptest::collection::vec(row, 0..40), any::<bool>()).prop_map(|(mut rows, crlf)| {
        rows.sort_by_key(|row| row.timestamp);
        let mut out = csv::WriterBuilder::new()
            .terminator(if crlf {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .from_writer(Vec::new());
        out.write_record([
            "Timestamp",
            "User Count",
            "Type",
            "Name",
            "Requests/s",
            "Failures/s",
            "50%",
            "95%",
            "Total Request Count",
        ])
        .unwrap();
        for row in &rows {
            out.write_record([
                row.timestamp.to_string(),
                row.users.to_string(),
                row.method.clone(),
                row.name.clone(),
                row.rps.0.clone(),
                "0.000000".to_owned(),
                "N/A".to_owned(),
                row.p95.0.clone(),
                row.total.to_string(),
            ])
            .unwrap();
        }
        (out.into_inner().unwrap(), rows)
    })
}

/// An `_hdr.json` as the recorder writes it, from a few recorded samples.
fn hdr_document() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        (select(vec!["/p", "/q", "a\"b"]), 0.001f64..10_000.0, any::<bool>()),
        0..30,
    )
    .prop_map(|samples| {
        let mut recorder = _native::stats::Recorder::new();
        for (name, ms, failed) in samples {
            recorder.record("POST", name, ms, failed);
        }
        serde_json::to_vec(&serde_json::json!({
            "format": "pushpop-load-hdr", "version": 1, "unit": "us", "duration_s": 3.5,
            "summaries": serde_json::to_value(recorder.summaries()).unwrap(), "histograms": recorder.snapshot(),
        }))
        .unwrap()
    })
}

fn failures_file() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec((method_text(), name_text(), name_text(), count_cell()), 0..6).prop_map(|rows| {
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(["Method", "Name", "Error", "Occurrences"]).unwrap();
        for (method, name, error, count) in rows {
            out.write_record([method, name, error, count.to_string()]).unwrap();
        }
        out.into_inner().unwrap()
    })
}

fn resources_file() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec((0u64..2_000_000_000, number_cell(), number_cell()), 0..10).prop_map(|rows| {
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(["Timestamp", "Time", "pid:1 cpu_pct", "container:x memory_bytes"])
            .unwrap();
        for (timestamp, a, b) in rows {
            out.write_record([timestamp.to_string(), format!("{timestamp}.250"), a.0, b.0])
                .unwrap();
        }
        out.into_inner().unwrap()
    })
}

fn thresholds_toml() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(rule_text(), 0..4),
        proptest::collection::vec(rule_text(), 0..3),
        select(vec!["10%", "0.2", "-1%", "lots", "1e999"]),
        select(vec!["0.05", "0.7", "0", "-0.0"]),
    )
        .prop_map(|(run_rules, endpoint_rules, tolerance, alpha)| {
            let quote = |rules: &[String]| {
                rules
                    .iter()
                    .map(|rule| toml_string(rule))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!(
                "thresholds = [{}]\n[endpoints.\"/queue/[id]/pop\"]\nthresholds = [{}]\n[baseline]\n\
                 latency_tolerance = \"{tolerance}\"\nalpha = {alpha}\n",
                quote(&run_rules),
                quote(&endpoint_rules)
            )
            .into_bytes()
        })
}

fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An `_hdr.json` of the right shape with any numbers: counts up to `u64::MAX`, buckets in any order, odd durations.
fn hdr_extreme() -> impl Strategy<Value = Vec<u8>> {
    let big = prop_oneof![
        0u64..5,
        0u64..100_000_000,
        Just(u64::MAX),
        Just(u64::MAX / 2 + 1),
        Just(1u64 << 53)
    ];
    let entry = (
        select(vec!["/p", "/q"]),
        proptest::collection::vec((big.clone(), big.clone()), 0..5),
        big.clone(),
        big,
    );
    (
        proptest::collection::vec(entry, 0..4),
        select(vec!["0", "3.5", "1e-300", "1e300", "-1", "0.0"]),
    )
        .prop_map(|(entries, duration)| {
            let entries: Vec<serde_json::Value> = entries
                .into_iter()
                .map(|(name, counts, failures, items)| {
                    serde_json::json!({"method": "GET", "name": name, "failures": failures, "items": items,
                        "counts": counts})
                })
                .collect();
            format!(
                r#"{{"format": "pushpop-load-hdr", "version": 1, "unit": "us", "duration_s": {duration},
                    "histograms": {{"version": 1, "unit": "us", "entries": {}}}}}"#,
                serde_json::Value::Array(entries)
            )
            .into_bytes()
        })
}

// ---------------------------------------------------------------------------------------------------------------
// bad bytes

/// What breaks parsers: quotes, separators, line ends, a BOM, non-UTF-8, NUL, huge or non-finite numbers.
const TOKENS: [&[u8]; 24] = [
    b"\"",
    b",",
    b"\n",
    b"\r\n",
    b"\r",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xc3",
    b"\x00",
    b"NaN",
    b"inf",
    b"-inf",
    b"1e999",
    b"-1",
    b"99999999999999999999999999",
    b"18446744073709551615",
    b"1.5",
    b"N/A",
    b"\"\"",
    b"  ",
    b"{",
    b"}]",
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    b"0.0000000000000000000000000001",
];

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(prop::sample::Index),
    Delete(prop::sample::Index, usize),
    Duplicate(prop::sample::Index, usize),
    Insert(prop::sample::Index, usize),
    Flip(prop::sample::Index, u8),
    /// Swap a field for another one: a dropped or shifted column.
    DropField(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        (any::<prop::sample::Index>(), 1usize..40).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<prop::sample::Index>(), 1usize..200).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
        (any::<prop::sample::Index>(), 0..TOKENS.len()).prop_map(|(at, t)| Mutation::Insert(at, t)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        any::<prop::sample::Index>().prop_map(Mutation::DropField),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = bytes.len();
        let at = |index: &prop::sample::Index| if len == 0 { 0 } else { index.index(len + 1) };
        match mutation {
            Mutation::Truncate(i) => bytes.truncate(at(i)),
            Mutation::Delete(i, n) => {
                let start = at(i);
                bytes.drain(start..(start + n).min(len));
            }
            Mutation::Duplicate(i, n) => {
                let start = at(i);
                let copy = bytes[start..(start + n).min(len)].to_vec();
                bytes.splice(start..start, copy);
            }
            Mutation::Insert(i, t) => {
                let start = at(i);
                bytes.splice(start..start, TOKENS[*t].iter().copied());
            }
            Mutation::Flip(i, b) => {
                if len > 0 {
                    bytes[i.index(len)] = *b;
                }
            }
            Mutation::DropField(i) => {
                let start = at(i);
                if let Some(comma) = bytes[start..].iter().position(|&b| b == b',') {
                    let end = bytes[start + comma + 1..]
                        .iter()
                        .position(|&b| b == b',' || b == b'\n')
                        .map_or(len, |k| start + comma + 1 + k);
                    bytes.drain(start + comma..end);
                }
            }
        }
    }
    bytes
}

/// A valid file of the kind `name` names.
fn valid_file(name: &'static str) -> BoxedStrategy<Vec<u8>> {
    match name {
        "r_stats.csv" => stats_file().prop_map(|(bytes, _, _)| bytes).boxed(),
        "r_failures.csv" => failures_file().boxed(),
        "r_exceptions.csv" => proptest::collection::vec((count_cell(), name_text(), name_text()), 0..5)
            .prop_map(|rows| {
                let mut out = csv::Writer::from_writer(Vec::new());
                out.write_record(["Count", "Message", "Traceback", "Nodes"]).unwrap();
                for (count, message, traceback) in rows {
                    out.write_record([count.to_string(), message, traceback, "local".to_owned()])
                        .unwrap();
                }
                out.into_inner().unwrap()
            })
            .boxed(),
        "r_stats_history.csv" => history_file().prop_map(|(bytes, _)| bytes).boxed(),
        "r_hdr_intervals.csv" => proptest::collection::vec((0u64..2_000_000_000, name_text(), number_cell()), 0..10)
            .prop_map(|rows| {
                let mut out = csv::Writer::from_writer(Vec::new());
                out.write_record([
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
                ])
                .unwrap();
                for (t, name, value) in rows {
                    let v = value.0;
                    out.write_record([&t.to_string(), "POST", &name, "3", "0", "1", &v, &v, &v, &v])
                        .unwrap();
                }
                out.into_inner().unwrap()
            })
            .boxed(),
        "r_resources.csv" => resources_file().boxed(),
        "r_hdr.json" => hdr_document().boxed(),
        "r_integrity.json" | "r_scenario.json" => Just(
            br#"{"ok": false, "acknowledged": 10, "popped": 9, "lost": 1, "duplicated": 0, "notes": ["a"]}"#.to_vec(),
        )
        .boxed(),
        _ => thresholds_toml().boxed(),
    }
}

fn mutated_file() -> impl Strategy<Value = (usize, Vec<u8>)> {
    (0..READERS.len())
        .prop_flat_map(|reader| {
            (
                Just(reader),
                valid_file(READERS[reader].0),
                proptest::collection::vec(mutation(), 1..5),
            )
        })
        .prop_map(|(reader, bytes, mutations)| (reader, mutate(bytes, &mutations)))
}

fn rule_text() -> impl Strategy<Value = String> {
    let metric = select(vec![
        "p95",
        "p99.9",
        "p(50)",
        "p101",
        "p-1",
        "pNaN",
        "p",
        "min",
        "mean",
        "max",
        "rps",
        "fail_ratio",
        "lost",
        "integrity_ok",
        "saturated",
        "latency",
        "P95",
        " p95 ",
        "é",
    ]);
    let op = select(vec!["<", "<=", ">", ">=", "==", "!=", "=", "=<", "<>", "", "!"]);
    let value = select(vec![
        "100", "1.5", "-3", "1e3", "1e999", "NaN", "inf", "", ".", "+", "1e", "100ms", "2s", "500us", "500µs", "1%",
        "ms", "12 ms", "1.2.3", "0x10",
    ]);
    let name = select(vec![
        "",
        "name:",
        "name::",
        "name:/queue/[id]/pop:",
        "name:a:b:",
        "name:é😀:",
    ]);
    prop_oneof![
        3 => (name, metric, op, value).prop_map(|(n, m, o, v)| format!("{n}{m}{o}{v}")),
        1 => "\\PC{0,30}",
        1 => "[pname:<>=!%0-9.e ]{0,20}",
    ]
}

// ---------------------------------------------------------------------------------------------------------------
// the properties

/// Reads `bytes` under reader `reader`'s file name: it reads, or fails with one clear line naming the file.
fn read_or_clear_error(tag: &str, reader: usize, bytes: &[u8]) {
    let dir = tempdir(tag);
    let (name, read) = READERS[reader];
    let path = write(&dir, name, bytes);
    if let Err(err) = timed(name, || read(&path)) {
        assert_clear_file_error(&err, &path);
    }
    let _ = std::fs::remove_dir_all(dir);
}

proptest! {
    #![proptest_config(config(128))]

    /// Random bytes under every result file's name: Ok or one clear line naming the file.
    #[test]
    fn fuzz_readers_take_random_bytes(reader in 0..READERS.len(), bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        read_or_clear_error("random", reader, &bytes);
    }

    /// Valid files cut, with fields dropped or repeated, with quotes, NUL, non-UTF-8, NaN, inf and huge numbers.
    #[test]
    fn fuzz_readers_take_mutated_files((reader, bytes) in mutated_file()) {
        read_or_clear_error("mutated", reader, &bytes);
    }

    /// `_stats.csv` as Locust writes it reads back to the values written.
    #[test]
    fn fuzz_stats_round_trip((bytes, rows, percentiles) in stats_file()) {
        let dir = tempdir("stats");
        let path = write(&dir, "r_stats.csv", &bytes);
        let stats = read_stats(&path).unwrap();
        let is_total = |row: &StatsRow| {
            (row.method.is_empty() || row.method == "None") && (row.name == "Aggregated" || row.name == "Total")
        };
        let expected: Vec<&StatsRow> = rows.iter().filter(|row| !is_total(row)).collect();
        prop_assert_eq!(stats.rows.len(), expected.len());
        for (read, written) in stats.rows.iter().zip(&expected) {
            prop_assert_eq!(&read.method, &written.method);
            prop_assert_eq!(&read.name, &written.name);
            prop_assert_eq!((read.requests, read.failures), (written.requests, written.failures));
            let numbers = [read.median_ms, read.mean_ms, read.min_ms, read.max_ms, read.avg_content_size, read.rps,
                read.fail_rps];
            for (value, (_, expected)) in numbers.iter().zip(&written.numbers) {
                prop_assert_eq!(value, expected);
            }
            prop_assert_eq!(read.percentiles.len(), percentiles);
            for (i, (percentile, value)) in read.percentiles.iter().enumerate() {
                prop_assert!((percentile - PERCENTILES[i].1).abs() < 1e-9);
                prop_assert_eq!(value, &written.numbers[STATS_NUMBERS.len() + i].1);
            }
        }
        prop_assert_eq!(stats.aggregated.map(|row| row.requests), rows.iter().rev().find(|r| is_total(r)).map(|r| r.requests));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// `_stats_history.csv` (LF or CRLF, quoted names with commas and newlines): each series' rows, first and last
    /// timestamps, peaks and last total are those written, whatever path each number takes through the parser.
    #[test]
    fn fuzz_history_round_trip((bytes, rows) in history_file()) {
        let dir = tempdir("history");
        let path = write(&dir, "r_stats_history.csv", &bytes);
        let history = read_history(&path).unwrap();
        prop_assert_eq!(history.rows(), rows.len());
        for series in &history.series {
            let mine: Vec<&HistoryRow> = rows.iter().filter(|r| r.method == series.method && r.name == series.name).collect();
            let summary = &series.summary;
            prop_assert_eq!(summary.rows, mine.len());
            #[allow(clippy::cast_precision_loss)]
            let first = mine.first().map(|r| r.timestamp as f64);
            #[allow(clippy::cast_precision_loss)]
            let last = mine.last().map(|r| r.timestamp as f64);
            prop_assert_eq!((summary.first_timestamp, summary.last_timestamp), (first, last));
            #[allow(clippy::cast_precision_loss)]
            let peak_users = mine.iter().map(|r| r.users as f64).reduce(f64::max);
            prop_assert_eq!(summary.peak_users, peak_users);
            let max_rps = mine.iter().filter_map(|r| r.rps.1).reduce(f64::max);
            prop_assert_eq!(summary.max_rps, max_rps);
            let max_p95 = mine.iter().filter_map(|r| r.p95.1).reduce(f64::max);
            prop_assert_eq!(summary.max_p95_ms, max_p95);
            prop_assert_eq!(summary.total_requests, mine.last().map(|r| r.total));
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A history cell holds any text: the value read is what `str::parse` makes of it (word-at-a-time fast path
    /// included), or the rejection names the line and column.
    #[test]
    fn fuzz_history_numbers_agree_with_the_standard_library(cell in prop_oneof![
        "[0-9]{1,20}",
        "-?[0-9]{0,10}\\.[0-9]{0,12}",
        "[0-9]{1,9}\\.[0-9]{1,9}",
        "[ +-]?[0-9.eE+-]{1,12} ?",
        "0{1,20}[1-9]?",
        select(vec!["NaN", "inf", "-inf", "infinity", "1e308", "1e309", "-0", "N/A", ".5", "5.", "9007199254740993"])
            .prop_map(str::to_owned),
    ]) {
        let dir = tempdir("cells");
        let text = format!("Timestamp,Type,Name,Requests/s\n1,GET,/x,{cell}\n");
        let path = write(&dir, "r_stats_history.csv", text.as_bytes());
        let expected = if cell.is_empty() || cell == "N/A" {
            Some(None)
        } else {
            cell.trim().parse::<f64>().ok().filter(|v| v.is_finite()).map(Some)
        };
        match (read_history(&path), expected) {
            (Ok(history), Some(value)) => prop_assert_eq!(history.series[0].summary.max_rps, value),
            (Err(err), None) => {
                assert_clear_file_error(&err, &path);
                prop_assert!(err.to_string().contains("line 2: Requests/s is"), "{}", err);
            }
            (got, expected) => prop_assert!(false, "{cell:?}: read {got:?}, str::parse {expected:?}"),
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Any rule text: parsed, or rejected with a message that quotes the rule.
    #[test]
    fn fuzz_threshold_expressions(rule in rule_text()) {
        match timed("threshold", || Threshold::parse(&rule)) {
            Ok(threshold) => {
                prop_assert!(threshold.limit.is_finite());
                prop_assert_eq!(threshold.expression.as_str(), rule.trim());
            }
            Err(err) => {
                prop_assert!(matches!(err, AnalyzeError::Threshold { .. }), "{}", err);
                assert_clear(&err.to_string(), &format!("threshold {rule:?}"));
            }
        }
    }

    /// Exact histograms with any numbers, through the analysis, every report and a baseline comparison with itself
    /// (sums of counts, means, percentiles, the statistical tests): a report, or one clear line naming the file.
    #[test]
    fn fuzz_hdr_numbers_through_the_analysis(
        hdr in hdr_extreme(),
        format in select(vec![Format::Text, Format::Json, Format::Html]),
    ) {
        let dir = tempdir("hdr");
        let path = write(&dir, "run_hdr.json", &hdr);
        let baseline = dir.join("baseline.json");
        let mut options = Options {
            thresholds: vec!["p99<50ms".to_owned(), "rps>1".to_owned(), "fail_ratio<1%".to_owned()],
            save_baseline: Some(baseline.clone()),
            ..Options::new(dir.join("run"), format)
        };
        match timed("analyze", || run(&options)) {
            Ok(outcome) => {
                prop_assert!(!outcome.output.unwrap_or_default().is_empty());
                options.baseline = Some(baseline);
                options.save_baseline = None;
                let compared = timed("compare", || run(&options));
                prop_assert!(compared.is_ok(), "{}", compared.err().map(|e| e.to_string()).unwrap_or_default());
            }
            Err(err) => assert_clear_file_error(&err, &path),
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A baseline file as `--save-baseline` writes it, mutated (numbers up to `u64::MAX`, fields dropped, cut): the
    /// comparison runs, or one clear line names the baseline.
    #[test]
    fn fuzz_baseline_files(
        stats in stats_file(),
        hdr in hdr_document(),
        mutations in proptest::collection::vec(mutation(), 1..5),
    ) {
        let dir = tempdir("baseline");
        write(&dir, "run_stats.csv", &stats.0);
        write(&dir, "run_hdr.json", &hdr);
        let baseline = dir.join("base.json");
        let mut options = Options {
            save_baseline: Some(baseline.clone()),
            ..Options::new(dir.join("run"), Format::Json)
        };
        run(&options).unwrap();
        let bytes = mutate(std::fs::read(&baseline).unwrap(), &mutations);
        std::fs::write(&baseline, bytes).unwrap();
        options.baseline = Some(baseline.clone());
        options.save_baseline = None;
        if let Err(err) = timed("compare", || run(&options)) {
            assert_clear_file_error(&err, &baseline);
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A whole run, one of its files mutated, through the analyzer into every report format: a report, or one
    /// clear line.
    #[test]
    fn fuzz_a_run_with_one_bad_file(
        stats in stats_file(),
        history in history_file(),
        hdr in hdr_document(),
        which in 0..4usize,
        mutations in proptest::collection::vec(mutation(), 0..4),
        format in select(vec![Format::Text, Format::Markdown, Format::Json, Format::Junit, Format::Html]),
        rules in proptest::collection::vec(rule_text(), 0..3),
    ) {
        let dir = tempdir("run");
        let mut files = vec![
            ("run_stats.csv", stats.0),
            ("run_stats_history.csv", history.0),
            ("run_hdr.json", hdr),
            ("run_integrity.json", br#"{"ok": true, "lost": 0, "duplicated": 0}"#.to_vec()),
        ];
        files[which].1 = mutate(std::mem::take(&mut files[which].1), &mutations);
        for (name, bytes) in &files {
            write(&dir, name, bytes);
        }
        let options = Options {
            // only rules that parse: a bad rule is the previous property's business
            thresholds: rules.into_iter().filter(|rule| Threshold::parse(rule).is_ok()).collect(),
            ..Options::new(dir.join("run"), format)
        };
        match timed("analyze", || run(&options)) {
            Ok(outcome) => prop_assert!(!outcome.output.unwrap_or_default().is_empty()),
            Err(err) => assert_clear_file_error(&err, &dir.join(files[which].0)),
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
