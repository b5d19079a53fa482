//! Locust's `_stats_history.csv`: a row per second for the total (and per endpoint with `--csv-full-history`).
//! Long runs make these files large (1,000,000 rows is ~110 MB), so they are read in one pass, on every core, in
//! blocks that stay in cache: each row is folded into its series' summary and into a fixed number of time buckets
//! for the charts, and nothing is kept per row. Records are split at newlines outside quotes, as RFC 4180 says;
//! when a file's split points fall inside a quoted field (a name with a newline) or a part fails, the file is read
//! again on one thread, which also gives the exact line of any error.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use serde::Serialize;

use super::csvfile::{one_line, percentile_column, CsvFile};
use super::error::{AnalyzeError, Result};
use super::inputs::open_input;
use super::locust_csv::is_aggregated;

/// Points per series kept for charts: more than a chart's width in pixels.
const BUCKETS: usize = 1500;
const BLOCK: usize = 1 << 20;

/// One (method, name) over time: its summary, and its timeline in at most `BUCKETS` points (per second for runs
/// up to that many seconds; otherwise each point averages the rates and keeps the largest latencies and users of
/// its bucket). NaN where Locust wrote `N/A`.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub method: String,
    pub name: String,
    pub summary: SeriesSummary,
    /// Unix seconds.
    pub timestamps: Vec<f64>,
    pub users: Vec<f64>,
    /// Locust's "current" rates: averages over its last ~10 seconds, not per-second counts.
    pub rps: Vec<f64>,
    pub fail_rps: Vec<f64>,
    pub p50_ms: Vec<f64>,
    pub p95_ms: Vec<f64>,
    pub p99_ms: Vec<f64>,
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
        self.series.iter().map(|s| s.summary.rows).sum()
    }

    #[must_use]
    pub fn summaries(&self) -> Vec<SeriesSummary> {
        self.series.iter().map(|s| s.summary.clone()).collect()
    }
}

/// What a timeline says in a few figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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

/// A running minimum, maximum and sum of the non-NaN values seen.
#[derive(Debug, Clone, Copy)]
struct Stat {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Default for Stat {
    fn default() -> Self {
        Self {
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Stat {
    #[inline]
    fn add(&mut self, value: f64) {
        if !value.is_nan() {
            self.count += 1;
            self.sum += value;
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
    }

    fn merge(&mut self, other: &Stat) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    #[allow(clippy::cast_precision_loss)]
    fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// A rate: the mean and the largest of the non-NaN values seen (half a `Stat`'s work, on every row).
#[derive(Debug, Clone, Copy)]
struct Rate {
    count: u64,
    sum: f64,
    max: f64,
}

impl Default for Rate {
    fn default() -> Self {
        Self {
            count: 0,
            sum: 0.0,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Rate {
    #[inline]
    fn add(&mut self, value: f64) {
        let seen = !value.is_nan();
        self.count += u64::from(seen);
        self.sum += if seen { value } else { 0.0 };
        self.max = self.max.max(value); // `max` passes over NaN
    }

    fn merge(&mut self, other: &Rate) {
        self.count += other.count;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    #[allow(clippy::cast_precision_loss)]
    fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// The largest of the non-NaN values seen; values are finite, so minus infinity means none.
#[derive(Debug, Clone, Copy)]
struct Peak(f64);

impl Default for Peak {
    fn default() -> Self {
        Self(f64::NEG_INFINITY)
    }
}

impl Peak {
    #[inline]
    fn add(&mut self, value: f64) {
        self.0 = self.0.max(value); // `max` passes over NaN
    }

    fn merge(&mut self, other: Peak) {
        self.add(other.0);
    }

    fn max(self) -> Option<f64> {
        (self.0 > f64::NEG_INFINITY).then_some(self.0)
    }
}

/// The figures of one time bucket: only those the summary and the charts show.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    time: Stat,
    users: Peak,
    rps: Rate,
    fail_rps: Rate,
    p50: Peak,
    p95: Peak,
    p99: Peak,
}

impl Bucket {
    fn merge(&mut self, other: &Bucket) {
        self.time.merge(&other.time);
        self.users.merge(other.users);
        self.rps.merge(&other.rps);
        self.fail_rps.merge(&other.fail_rps);
        self.p50.merge(other.p50);
        self.p95.merge(other.p95);
        self.p99.merge(other.p99);
    }
}

/// A series as one part of the file saw it.
#[derive(Debug, Clone)]
struct Partial {
    method: Vec<u8>,
    name: Vec<u8>,
    rows: usize,
    /// The last total requests and failures seen.
    totals: [LastCount; 2],
    buckets: Vec<Bucket>,
    /// The previous row's failures/s and percentiles, which change slowly (Locust rounds percentiles).
    recent: [Memo; 4],
}

impl Partial {
    #[inline(always)]
    #[allow(clippy::inline_always)] // on every row: a call would cost more than the comparison
    fn is(&self, method: &[u8], name: &[u8]) -> bool {
        same(&self.name, name) && same(&self.method, method)
    }
}

/// A short cell's text (up to eight bytes, as a word) and its value, so that the same text is not read again.
#[derive(Debug, Clone, Copy, Default)]
struct Memo {
    text: u64,
    /// 0: nothing yet.
    length: usize,
    value: f64,
}

/// The last count a column held (Locust's totals grow row by row; only the last is shown). Every row's count is
/// checked, but its digits are kept as text and converted once, when the value is asked for.
#[derive(Debug, Clone, Copy, Default)]
struct LastCount {
    /// Up to sixteen ASCII digits: the first eight in `low`, the rest in `high`, each starting at its lowest byte.
    low: u64,
    high: u64,
    /// `NONE`, 1 to 16 (digits in `low` and `high`), or `VALUE` (the count is in `low`).
    length: u8,
}

impl LastCount {
    const NONE: u8 = 0;
    const VALUE: u8 = u8::MAX;

    /// The count in `column` of this row, kept unless the cell is empty or `N/A`; Err(Some(column)) when it is not
    /// a count.
    #[inline(always)]
    #[allow(clippy::inline_always)] // the hot path
    fn see<F: Fields + ?Sized>(
        &mut self,
        row: &[u8],
        scratch: &[u8],
        fields: &F,
        column: Option<usize>,
    ) -> std::result::Result<(), Option<usize>> {
        let Some(c) = column else {
            return Ok(());
        };
        let (start, end) = fields.raw(c);
        let length = end.wrapping_sub(start);
        if (1..=16).contains(&length) {
            if let Some(low) = word_at(row, start) {
                if length <= 8 {
                    if all_digits(low, length) {
                        *self = Self {
                            low: low & low_bytes(length),
                            high: 0,
                            #[allow(clippy::cast_possible_truncation)] // at most 16
                            length: length as u8,
                        };
                        return Ok(());
                    }
                } else if let Some(tail) = word_at(row, end - 8) {
                    let high = tail >> (8 * (16 - length));
                    if all_digits(low, 8) && all_digits(high, length - 8) {
                        #[allow(clippy::cast_possible_truncation)] // at most 16
                        let length = length as u8;
                        *self = Self { low, high, length };
                        return Ok(());
                    }
                }
            }
        }
        match count(field(row, scratch, fields.span(c))) {
            Ok(Some(value)) => {
                *self = Self {
                    low: value,
                    high: 0,
                    length: Self::VALUE,
                };
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(()) => Err(Some(c)),
        }
    }

    fn value(self) -> Option<u64> {
        match self.length {
            Self::NONE => None,
            Self::VALUE => Some(self.low),
            n @ 1..=8 => digits(self.low, usize::from(n)),
            n => {
                let n = usize::from(n);
                Some(digits(self.low, 8)? * POW10_INT[n - 8] + digits(self.high, n - 8)?)
            }
        }
    }
}

/// Where the columns are, and how rows map to buckets.
#[derive(Debug, Clone, Copy)]
struct Layout {
    fields: usize,
    timestamp: usize,
    method: usize,
    name: usize,
    rps: usize,
    users: Option<usize>,
    fail_rps: Option<usize>,
    p50: Option<usize>,
    p95: Option<usize>,
    p99: Option<usize>,
    total_requests: Option<usize>,
    total_failures: Option<usize>,
    origin: f64,
    width: f64,
}

/// Why a part could not be read; the one-thread pass turns this into the error with a line number.
#[derive(Debug)]
enum PartError {
    Io(std::io::Error),
    Fields(usize),
    Number(usize, Vec<u8>),
    NotText,
    Unterminated,
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// A decimal such as `12.500000`, fast: when its digits fit in 2^53 and it has at most 22 decimals, one division of
/// two exact numbers is correctly rounded (Clinger's fast path), so the result is the one `str::parse` gives, which
/// handles every other case. None for an empty or `N/A` cell; Err for anything else that is not a finite number.
#[inline]
fn number(field: &[u8]) -> std::result::Result<Option<f64>, ()> {
    if field.is_empty() || field == b"N/A" {
        return Ok(None);
    }
    let (negative, digits) = match field[0] {
        b'-' => (true, &field[1..]),
        _ => (false, field),
    };
    // two tight loops: the integer digits, then the decimals (Locust writes rates with six)
    let mut mantissa: u64 = 0;
    let mut k = 0;
    while k < digits.len() && digits[k].is_ascii_digit() && k < 18 {
        mantissa = mantissa * 10 + u64::from(digits[k] - b'0');
        k += 1;
    }
    let whole = k;
    let mut decimals = 0;
    if k < digits.len() && digits[k] == b'.' {
        k += 1;
        let first = k;
        while k < digits.len() && digits[k].is_ascii_digit() && whole + (k - first) < 18 {
            mantissa = mantissa * 10 + u64::from(digits[k] - b'0');
            k += 1;
        }
        decimals = k - first;
    }
    if k == digits.len() && whole + decimals > 0 && mantissa <= 1 << 53 && decimals < POW10.len() {
        #[allow(clippy::cast_precision_loss)] // exact: mantissa <= 2^53
        let value = mantissa as f64 / POW10[decimals];
        return Ok(Some(if negative { -value } else { value }));
    }
    std::str::from_utf8(field)
        .ok()
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|value| value.is_finite())
        .map(Some)
        .ok_or(())
}

/// Exact powers of ten as integers, for the decimals of a fast-path number.
const POW10_INT: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// The value of the `n` (1 to 8) ASCII digits at the start of `word` (first byte lowest), eight bytes at once; None
/// when one of them is not a digit.
#[inline(always)]
#[allow(clippy::inline_always)] // the hot path: measured 5% faster than leaving it to the compiler
fn digits(word: u64, n: usize) -> Option<u64> {
    let keep = if n >= 8 { u64::MAX } else { (1u64 << (8 * n)) - 1 };
    let word = word & keep;
    let zeros = 0x3030_3030_3030_3030 & keep;
    let nibbles = 0xF0F0_F0F0_F0F0_F0F0 & keep;
    // each kept byte is 0x30..=0x3F, and still is with 6 added (no carry between bytes): '0' to '9'
    if word & nibbles != zeros || (word + 0x0606_0606_0606_0606) & nibbles != zeros {
        return None;
    }
    // leading zeros where the number is shorter than eight digits, then pairs, fours, eights
    let mut d = (word - zeros) << (8 * (8 - n));
    d = d.wrapping_mul(10).wrapping_add(d >> 8);
    d = ((d & 0x0000_00FF_0000_00FF).wrapping_mul(100 + (1_000_000 << 32))
        + ((d >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32)))
        >> 32;
    Some(d)
}

/// Whether the `n` (1 to 8) bytes at the start of `word` are ASCII digits: `digits`' test without the conversion.
#[inline(always)]
#[allow(clippy::inline_always)]
fn all_digits(word: u64, n: usize) -> bool {
    let keep = low_bytes(n);
    let nibbles = 0xF0F0_F0F0_F0F0_F0F0 & keep;
    let zeros = 0x3030_3030_3030_3030 & keep;
    word & nibbles == zeros && (word.wrapping_add(0x0606_0606_0606_0606)) & nibbles == zeros
}

/// The eight bytes of `buffer` from `at`, when there are eight.
#[inline(always)]
#[allow(clippy::inline_always)] // the hot path: measured 5% faster than leaving it to the compiler
fn word_at(buffer: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(buffer.get(at..at + 8)?.try_into().ok()?))
}

/// The commonest numbers in Locust's files — up to sixteen bytes of digits with at most one dot between them — read
/// a word at a time from `buffer[start..end]` (bytes after `end` may be read, not used): the dot is squeezed out, so
/// that the digits on both sides of it are converted at once. None for anything else, which `number` then reads.
#[inline(always)]
#[allow(clippy::inline_always)] // the hot path: measured 5% faster than leaving it to the compiler
fn fast_number(buffer: &[u8], start: usize, end: usize) -> Option<f64> {
    let length = end.checked_sub(start)?;
    if length == 0 || length > 16 {
        return None;
    }
    let low = word_at(buffer, start)?;
    if length <= 8 {
        let dots = bytes_equal(low, b'.') & low_bytes(length);
        if dots == 0 {
            return digits(low, length).map(exact);
        }
        let whole = (dots.trailing_zeros() / 8) as usize;
        let decimals = length - whole - 1;
        if whole == 0 || decimals == 0 {
            return None;
        }
        let below = low_bytes(whole);
        let mantissa = digits((low & below) | ((low >> 8) & !below), length - 1)?;
        // at most fifteen digits, so both exact, and one correctly rounded division (as in `number`)
        return Some(exact(mantissa) / POW10[decimals]);
    }
    // the field's last eight bytes, moved down to follow the first eight: no read past the field's end
    let high = word_at(buffer, end - 8)? >> (8 * (16 - length));
    let dots = u128::from(bytes_equal(low, b'.')) | u128::from(bytes_equal(high, b'.') & low_bytes(length - 8)) << 64;
    if dots == 0 {
        #[allow(clippy::cast_precision_loss)] // a longer integer than 2^53 is rounded once, as `parse` does
        return Some((digits(low, 8)? * POW10_INT[length - 8] + digits(high, length - 8)?) as f64);
    }
    let whole = (dots.trailing_zeros() / 8) as usize;
    let decimals = length - whole - 1;
    if whole == 0 || decimals == 0 {
        return None;
    }
    let text = u128::from(low) | u128::from(high) << 64;
    let below = (1u128 << (8 * whole)) - 1;
    let squeezed = (text & below) | ((text >> 8) & !below);
    #[allow(clippy::cast_possible_truncation)] // the two halves
    let (low, high) = (squeezed as u64, (squeezed >> 64) as u64);
    let mantissa = if length == 9 {
        digits(low, 8)?
    } else {
        digits(low, 8)? * POW10_INT[length - 9] + digits(high, length - 9)?
    };
    Some(exact(mantissa) / POW10[decimals])
}

/// A mask of the `n` (0 to 8) low bytes of a word.
#[inline(always)]
#[allow(clippy::inline_always)]
fn low_bytes(n: usize) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    }
}

/// A value below 2^53 as a float: exact, and one instruction (from a signed integer) rather than the several an
/// unsigned one takes.
#[inline(always)]
#[allow(clippy::inline_always, clippy::cast_possible_wrap, clippy::cast_precision_loss)]
fn exact(value: u64) -> f64 {
    value as i64 as f64
}

fn count(field: &[u8]) -> std::result::Result<Option<u64>, ()> {
    match number(field)? {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(value) if value >= 0.0 && value.fract() == 0.0 && value < 2f64.powi(63) => Ok(Some(value as u64)),
        Some(_) => Err(()),
        None => Ok(None),
    }
}

/// One record at the start of `data`: the fields (quoted ones unescaped into `scratch`) and where it ends. None when
/// `data` ends before the record does and more may follow (`last` false).
fn record(data: &[u8], last: bool, fields: &mut Vec<(usize, usize, bool)>, scratch: &mut Vec<u8>) -> Option<usize> {
    fields.clear();
    scratch.clear();
    let mut i = 0;
    loop {
        if i < data.len() && data[i] == b'"' {
            // quoted: "" is a quote; ends at a lone quote
            let start = scratch.len();
            i += 1;
            loop {
                let byte = *data.get(i)?;
                if byte == b'"' {
                    if data.get(i + 1) == Some(&b'"') {
                        scratch.push(b'"');
                        i += 2;
                    } else if i + 1 == data.len() && !last {
                        return None; // the next byte decides
                    } else {
                        i += 1;
                        break;
                    }
                } else {
                    scratch.push(byte);
                    i += 1;
                }
            }
            fields.push((start, scratch.len(), true));
            // anything between the closing quote and the separator is kept, as the csv crate does
            while i < data.len() && data[i] != b',' && data[i] != b'\n' {
                if data[i] != b'\r' {
                    scratch.push(data[i]);
                    let last_field = fields.last_mut().expect("pushed above");
                    last_field.1 = scratch.len();
                }
                i += 1;
            }
        } else {
            let start = i;
            while i < data.len() && data[i] != b',' && data[i] != b'\n' {
                i += 1;
            }
            let end = if i > start && data[i - 1] == b'\r' && (i == data.len() || data[i] == b'\n') {
                i - 1
            } else {
                i
            };
            fields.push((start, end, false));
        }
        match data.get(i) {
            Some(b',') => i += 1,
            Some(_) => return Some(i + 1), // '\n'
            None if last => return Some(i),
            None => return None,
        }
    }
}

fn field<'a>(data: &'a [u8], scratch: &'a [u8], span: (usize, usize, bool)) -> &'a [u8] {
    let (start, end, quoted) = span;
    if quoted {
        &scratch[start..end]
    } else {
        &data[start..end]
    }
}

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

/// Fields the fast splitter holds: rows with more go to the full parser (Locust's have 24).
const SLOTS: usize = 128;

/// A row as the fast splitter found it: where each field starts and ends, as offsets in the row. One `u32` per field
/// rather than a (start, end, quoted) triple: measured 10% faster over the whole read, the stores being most of the
/// splitting.
struct Split {
    /// Field k starts at `bounds[k]` and ends one byte before `bounds[k + 1]` (at its separator, or at the carriage
    /// return that ends the line); `bounds[0]` is 0. Twice `SLOTS` long, a power of two, so that an index is masked
    /// into range instead of checked.
    bounds: [u32; 2 * SLOTS],
    /// Bit k: field k was quoted, and its text (doubled quotes made single) is `unescaped[k]` in the scratch buffer.
    /// Only the first 64 fields may be quoted (a later quote goes to the full parser).
    quoted: u64,
    unescaped: [(u32, u32); 64],
}

impl Default for Split {
    fn default() -> Self {
        Self {
            bounds: [0; 2 * SLOTS],
            quoted: 0,
            unescaped: [(0, 0); 64],
        }
    }
}

/// Where a row's fields are: (start, end, quoted), the text of a quoted one in the scratch buffer.
trait Fields {
    fn count(&self) -> usize;
    fn span(&self, k: usize) -> (usize, usize, bool);
    /// Field k's bytes in the row as they are, or an empty span; a number read from them a word at a time is the
    /// number the field holds (a quoted field's raw bytes start with a quote, which no number does), and the
    /// numbers skip `span`'s test for a quoted field.
    fn raw(&self, k: usize) -> (usize, usize);
}

/// The full parser's fields.
impl Fields for [(usize, usize, bool)] {
    fn count(&self) -> usize {
        self.len()
    }

    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn span(&self, k: usize) -> (usize, usize, bool) {
        self[k]
    }

    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn raw(&self, k: usize) -> (usize, usize) {
        match self[k] {
            (_, _, true) => (0, 0),
            (start, end, false) => (start, end),
        }
    }
}

/// The fast splitter's fields: the first `count` of `split`.
struct Row<'a> {
    split: &'a Split,
    count: usize,
    /// `split.quoted`, in a register rather than behind the reference.
    quoted: u64,
}

impl<'a> Row<'a> {
    fn new(split: &'a Split, count: usize) -> Self {
        Self {
            split,
            count,
            quoted: split.quoted,
        }
    }
}

impl Fields for Row<'_> {
    fn count(&self) -> usize {
        self.count
    }

    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn span(&self, k: usize) -> (usize, usize, bool) {
        if self.quoted != 0 && k < 64 && self.quoted & (1 << k) != 0 {
            let (begin, end) = self.split.unescaped[k];
            return (begin as usize, end as usize, true);
        }
        (
            self.split.bounds[k] as usize,
            self.split.bounds[k + 1] as usize - 1,
            false,
        )
    }

    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn raw(&self, k: usize) -> (usize, usize) {
        (self.split.bounds[k] as usize, self.split.bounds[k + 1] as usize - 1)
    }
}

enum Fast {
    /// A whole line, this long with its newline, and its number of fields.
    Line(usize, usize),
    /// The line has a quote: the full parser must read it.
    Quoted,
    /// No newline yet, and more data may follow.
    Incomplete,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that equals `byte`, exactly (no false positives across bytes).
#[inline]
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    !(((x & LOW7) + LOW7) | x) & HIGHS
}

/// Whether any byte of `word` is below `limit` (≤ 128); exact as to whether, not which.
#[inline]
fn has_below(word: u64, limit: u8) -> bool {
    word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGHS != 0
}

/// The quoted field whose opening quote is at `quote`: its text (doubled quotes made single) appended to
/// `scratch`, and where it ends (just past the closing quote). None when `data` ends before it does.
#[inline]
fn quoted_field(data: &[u8], quote: usize, at_eof: bool, scratch: &mut Vec<u8>) -> Option<(usize, usize, usize)> {
    let begin = scratch.len();
    let mut k = quote + 1;
    loop {
        let at = k + memchr::memchr(b'"', &data[k..])?;
        scratch.extend_from_slice(&data[k..at]);
        match data.get(at + 1) {
            Some(b'"') => {
                scratch.push(b'"');
                k = at + 2;
            }
            None if !at_eof => return None, // the next byte decides
            _ => return Some((begin, scratch.len(), at + 1)),
        }
    }
}

/// Splits the line at the start of `data` at its commas into `split`, sixty-four bytes at a time (SSE2 compares), then
/// eight (SWAR), with quoted fields found by a SIMD search; the common row costs one pass and no calls, and a comma
/// one store of its offset. Anything unusual (a quote inside a field, text after a closing quote, more than `SLOTS`
/// fields, a line of 4 GiB) is left to the full parser.
#[inline]
#[allow(clippy::too_many_lines)] // one loop, kept whole so that the field count stays in a register
fn split_line(data: &[u8], at_eof: bool, split: &mut Split, scratch: &mut Vec<u8>) -> Fast {
    scratch.clear();
    split.quoted = 0;
    if data.len() >= u32::MAX as usize - 128 {
        return Fast::Quoted;
    }
    #[allow(clippy::cast_possible_truncation)] // checked above: every position fits
    let offset = |position: usize| position as u32;
    // `n` fields are done; the current one starts at `start` (= bounds[n])
    let mut n = 0usize;
    let mut start = 0usize;
    let mut i = 0usize;
    // the current field ends at `$separator`; when the slots are full, the full parser counts the fields
    macro_rules! ends_at {
        ($separator:expr) => {{
            if n >= SLOTS {
                return Fast::Quoted;
            }
            start = $separator + 1;
            split.bounds[n + 1] = offset(start);
            n += 1;
        }};
    }
    // the line ends at the newline `$newline` (or the end of data), and is `$length` long
    macro_rules! finish {
        ($newline:expr, $length:expr) => {{
            let end = $newline;
            // a CR before the newline is not part of the last field: it ends there instead
            let end = if end > start && data[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            ends_at!(end);
            return Fast::Line($length, n);
        }};
    }
    'fields: loop {
        if i == start && data.get(i) == Some(&b'"') {
            if n >= 64 {
                return Fast::Quoted;
            }
            let Some((begin, end, after)) = quoted_field(data, i, at_eof, scratch) else {
                return if at_eof { Fast::Quoted } else { Fast::Incomplete };
            };
            split.quoted |= 1 << n;
            split.unescaped[n] = (offset(begin), offset(end));
            match (data.get(after), data.get(after + 1)) {
                (Some(b','), _) => {
                    ends_at!(after);
                    i = start;
                    continue 'fields;
                }
                (Some(b'\n'), _) => {
                    ends_at!(after);
                    return Fast::Line(after + 1, n);
                }
                (Some(b'\r'), Some(b'\n')) => {
                    ends_at!(after);
                    return Fast::Line(after + 2, n);
                }
                (None, _) if at_eof => {
                    ends_at!(after);
                    return Fast::Line(after, n);
                }
                (None, _) | (Some(b'\r'), None) if !at_eof => return Fast::Incomplete,
                _ => return Fast::Quoted,
            }
        }
        // the first stop (newline or quote) ends the commas that count; a quote that opens a field starts over
        while let Some(chunk) = data.get(i..i + 64) {
            let (mut commas, stops) = separators(chunk.try_into().expect("sixty-four bytes"));
            if stops != 0 {
                commas &= (1u64 << stops.trailing_zeros()) - 1;
            }
            if commas != 0 {
                // room for all sixty-four, checked once per chunk rather than once per comma
                if n + 64 > SLOTS {
                    return Fast::Quoted;
                }
                while commas != 0 {
                    n += 1;
                    split.bounds[n % split.bounds.len()] = offset(i + 1) + commas.trailing_zeros();
                    commas &= commas - 1;
                }
                start = split.bounds[n] as usize;
            }
            if stops != 0 {
                let at = i + stops.trailing_zeros() as usize;
                if data[at] == b'"' {
                    if at == start {
                        i = start;
                        continue 'fields;
                    }
                    return Fast::Quoted; // a quote inside a field
                }
                finish!(at, at + 1);
            }
            i += 64;
        }
        while i + 8 <= data.len() {
            let word = u64::from_le_bytes(data[i..i + 8].try_into().expect("eight bytes"));
            let mut commas = bytes_equal(word, b',');
            // '\n' and '"' are the only bytes below '#' besides spaces: test for any such byte first (exact as to
            // whether there is one), and find which only then
            let stops = if has_below(word, b'#') {
                bytes_equal(word, b'\n') | bytes_equal(word, b'"')
            } else {
                0
            };
            if stops != 0 {
                commas &= (1u64 << stops.trailing_zeros()) - 1;
            }
            while commas != 0 {
                ends_at!(i + (commas.trailing_zeros() / 8) as usize);
                commas &= commas - 1;
            }
            if stops != 0 {
                let at = i + (stops.trailing_zeros() / 8) as usize;
                if data[at] == b'"' {
                    if at == start {
                        i = start;
                        continue 'fields;
                    }
                    return Fast::Quoted;
                }
                finish!(at, at + 1);
            }
            i += 8;
        }
        while i < data.len() {
            match data[i] {
                b',' => {
                    ends_at!(i);
                    i += 1;
                    if data.get(start) == Some(&b'"') {
                        continue 'fields;
                    }
                }
                b'\n' => finish!(i, i + 1),
                b'"' => return Fast::Quoted,
                _ => i += 1,
            }
        }
        if at_eof {
            finish!(data.len(), data.len());
        }
        return Fast::Incomplete;
    }
}

/// Bit `k` of the first mask is set when `chunk[k]` is a comma; of the second, when it is a newline or a quote.
#[cfg(target_arch = "x86_64")]
#[inline]
fn separators(chunk: &[u8; 64]) -> (u64, u64) {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let (mut commas, mut stops) = (0u64, 0u64);
    for (k, lane) in chunk.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is part of x86_64; `lane` is sixteen readable bytes and loadu needs no alignment
        // byte patterns; movemask sets sixteen bits; loadu reads unaligned
        #[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss, clippy::cast_ptr_alignment)]
        let (c, s) = unsafe {
            let v = _mm_loadu_si128(lane.as_ptr().cast::<__m128i>());
            let is = |byte: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8));
            (
                _mm_movemask_epi8(is(b',')) as u32,
                _mm_movemask_epi8(_mm_or_si128(is(b'\n'), is(b'"'))) as u32,
            )
        };
        commas |= u64::from(c) << (16 * k);
        stops |= u64::from(s) << (16 * k);
    }
    (commas, stops)
}

/// The same masks, a word at a time, where SSE2 is not there.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn separators(chunk: &[u8; 64]) -> (u64, u64) {
    // the high bit of each byte, gathered into the low eight bits
    let gather = |bits: u64| (bits.wrapping_mul(0x0002_0408_1020_4081) >> 56) as u64;
    let (mut commas, mut stops) = (0u64, 0u64);
    for (k, word) in chunk.chunks_exact(8).enumerate() {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        commas |= gather(bytes_equal(word, b',')) << (8 * k);
        stops |= gather(bytes_equal(word, b'\n') | bytes_equal(word, b'"')) << (8 * k);
    }
    (commas, stops)
}

/// Slice equality without a call to `memcmp` or a loop over bytes: these are a few bytes long (names, timestamps),
/// and compared on every row, so each length is covered by two loads that may overlap.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    macro_rules! ends_equal {
        ($size:literal, $int:ty) => {{
            let load = |s: &[u8], at: usize| <$int>::from_le_bytes(s[at..at + $size].try_into().expect("in bounds"));
            load(a, 0) == load(b, 0) && load(a, n - $size) == load(b, n - $size)
        }};
    }
    match n {
        0 => true,
        1 => a[0] == b[0],
        2..=3 => ends_equal!(2, u16),
        4..=7 => ends_equal!(4, u32),
        8..=16 => ends_equal!(8, u64),
        _ => {
            let mut i = 0;
            while i + 8 < n {
                if word_at(a, i) != word_at(b, i) {
                    return false;
                }
                i += 8;
            }
            word_at(a, n - 8) == word_at(b, n - 8)
        }
    }
}

/// What the previous rows of a part had: rows of one second share their timestamp and user count, and follow the
/// same order of series.
#[derive(Default)]
struct Cache {
    last_series: usize,
    timestamp: (Vec<u8>, f64),
    /// The time bucket of `timestamp`.
    slot: usize,
    users: (Vec<u8>, f64),
}

impl Cache {
    /// The row's timestamp and its time bucket, both reused while the text is the same.
    #[inline(always)]
    #[allow(clippy::inline_always)] // the hot path
    fn timestamp<F: Fields + ?Sized>(
        &mut self,
        row: &[u8],
        scratch: &[u8],
        fields: &F,
        layout: &Layout,
    ) -> std::result::Result<(f64, usize), Option<usize>> {
        let field = field(row, scratch, fields.span(layout.timestamp));
        if !same(&self.timestamp.0, field) {
            let timestamp = value_in(row, scratch, fields, Some(layout.timestamp))?;
            self.timestamp.0.clear();
            self.timestamp.0.extend_from_slice(field);
            self.timestamp.1 = timestamp;
            // NaN (an N/A timestamp) goes to the first bucket
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let slot = (((timestamp - layout.origin) / layout.width).max(0.0) as usize).min(BUCKETS - 1);
            self.slot = slot;
        }
        Ok((self.timestamp.1, self.slot))
    }

    /// `field`'s number, reusing the previous row's when the text is the same.
    #[inline(always)]
    #[allow(clippy::inline_always)] // the hot path
    fn parse(slot: &mut (Vec<u8>, f64), field: &[u8]) -> std::result::Result<f64, ()> {
        if !same(&slot.0, field) {
            slot.1 = number(field)?.unwrap_or(f64::NAN);
            slot.0.clear();
            slot.0.extend_from_slice(field);
        }
        Ok(slot.1)
    }
}

/// A row: skipped when blank, an error when its fields are not the header's, else folded into its series (found by
/// method and name; a new series when unseen). Inlined into the reading loop: a call per row, with its register
/// saves, cost 4% of the whole read.
#[inline(always)]
#[allow(clippy::inline_always)]
fn take<F: Fields + ?Sized>(
    row: &[u8],
    fields: &F,
    scratch: &[u8],
    layout: &Layout,
    series: &mut Vec<Partial>,
    cache: &mut Cache,
) -> std::result::Result<(), PartError> {
    let count = fields.count();
    if count != layout.fields {
        let (start, end, _) = fields.span(0);
        if count == 1 && start == end {
            return Ok(()); // a blank line
        }
        return Err(PartError::Fields(count));
    }
    // the hot path carries only the column at fault; the error with its text is made here, once
    fold_numbers(row, fields, scratch, layout, series, cache).map_err(|fault| match fault {
        Some(column) => PartError::Number(column, field(row, scratch, fields.span(column)).to_vec()),
        None => PartError::NotText,
    })
}

/// The number in `column`: NaN for an empty or `N/A` cell, or when the file has no such column; Err(Some(column))
/// when it is not one. The numbers most rows hold are read a word at a time; `number` reads the rest and judges
/// them. A function
/// rather than a closure, so that it can be inlined: left to itself the compiler made it a call, and its register
/// saves cost more than the parsing.
#[inline(always)]
#[allow(clippy::inline_always)]
fn value_in<F: Fields + ?Sized>(
    row: &[u8],
    scratch: &[u8],
    fields: &F,
    column: Option<usize>,
) -> std::result::Result<f64, Option<usize>> {
    match column {
        Some(c) => {
            let (start, end) = fields.raw(c);
            if let Some(value) = fast_number(row, start, end) {
                return Ok(value);
            }
            let text = field(row, scratch, fields.span(c));
            number(text)
                .map(|value| value.unwrap_or(f64::NAN))
                .map_err(|()| Some(c))
        }
        None => Ok(f64::NAN),
    }
}

/// `value_in`, but the previous value again when the cell's text is the same as the one in `memo`.
#[inline(always)]
#[allow(clippy::inline_always)]
fn value_remembered<F: Fields + ?Sized>(
    memo: &mut Memo,
    row: &[u8],
    scratch: &[u8],
    fields: &F,
    column: Option<usize>,
) -> std::result::Result<f64, Option<usize>> {
    if let Some(c) = column {
        let (start, end) = fields.raw(c);
        let length = end.wrapping_sub(start);
        if (1..=8).contains(&length) {
            if let Some(word) = word_at(row, start) {
                let text = word & low_bytes(length);
                if text == memo.text && length == memo.length {
                    return Ok(memo.value);
                }
                let value = value_in(row, scratch, fields, column)?;
                *memo = Memo { text, length, value };
                return Ok(value);
            }
        }
    }
    value_in(row, scratch, fields, column)
}

/// `take`'s work; Err(Some(column)) for a cell that is not a number, Err(None) for a name that is not text.
#[inline(always)]
#[allow(clippy::inline_always)] // the hot path: measured 5% faster than leaving it to the compiler
fn fold_numbers<F: Fields + ?Sized>(
    row: &[u8],
    fields: &F,
    scratch: &[u8],
    layout: &Layout,
    series: &mut Vec<Partial>,
    cache: &mut Cache,
) -> std::result::Result<(), Option<usize>> {
    let get = |column: usize| field(row, scratch, fields.span(column));
    let (method, name) = (get(layout.method), get(layout.name));
    let matches = |s: &Partial| s.is(method, name);
    // the next series in the order of the previous second (no division: this runs on every row)
    let guess = if cache.last_series + 1 < series.len() {
        cache.last_series + 1
    } else {
        0
    };
    let index = if series.get(guess).is_some_and(matches) {
        guess
    } else if let Some(found) = series.iter().position(matches) {
        found
    } else {
        if std::str::from_utf8(method).is_err() || std::str::from_utf8(name).is_err() {
            return Err(None);
        }
        series.push(Partial {
            method: method.to_vec(),
            name: name.to_vec(),
            rows: 0,
            totals: [LastCount::default(); 2],
            buckets: vec![Bucket::default(); BUCKETS],
            recent: [Memo::default(); 4],
        });
        series.len() - 1
    };
    cache.last_series = index;
    let (timestamp, slot) = cache.timestamp(row, scratch, fields, layout)?;
    let users = match layout.users {
        Some(c) => Cache::parse(&mut cache.users, get(c)).map_err(|()| Some(c))?,
        None => f64::NAN,
    };
    let partial = &mut series[index];
    let rps = value_in(row, scratch, fields, Some(layout.rps))?;
    let [fail_memo, p50_memo, p95_memo, p99_memo] = &mut partial.recent;
    let fail_rps = value_remembered(fail_memo, row, scratch, fields, layout.fail_rps)?;
    let p50 = value_remembered(p50_memo, row, scratch, fields, layout.p50)?;
    let p95 = value_remembered(p95_memo, row, scratch, fields, layout.p95)?;
    let p99 = value_remembered(p99_memo, row, scratch, fields, layout.p99)?;
    let [requests, failures] = &mut partial.totals;
    requests.see(row, scratch, fields, layout.total_requests)?;
    failures.see(row, scratch, fields, layout.total_failures)?;
    partial.rows += 1;
    // the series' summary is the sum of its buckets, made once at the end
    let bucket = &mut partial.buckets[slot];
    bucket.time.add(timestamp);
    bucket.users.add(users);
    bucket.rps.add(rps);
    bucket.fail_rps.add(fail_rps);
    bucket.p50.add(p50);
    bucket.p95.add(p95);
    bucket.p99.add(p99);
    Ok(())
}

/// Adds `other` (a later part of the file) to `into`.
fn merge(into: &mut Vec<Partial>, other: Vec<Partial>) {
    for part in other {
        match into.iter_mut().find(|s| s.method == part.method && s.name == part.name) {
            Some(series) => {
                series.rows += part.rows;
                for (total, later) in series.totals.iter_mut().zip(part.totals) {
                    if later.length != LastCount::NONE {
                        *total = later;
                    }
                }
                for (bucket, incoming) in series.buckets.iter_mut().zip(&part.buckets) {
                    bucket.merge(incoming);
                }
            }
            None => into.push(part),
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

fn finish(partial: &Partial) -> Series {
    let method = String::from_utf8_lossy(&partial.method).into_owned();
    let name = String::from_utf8_lossy(&partial.name).into_owned();
    let mut whole = Bucket::default();
    for bucket in &partial.buckets {
        whole.merge(bucket);
    }
    let summary = SeriesSummary {
        method: method.clone(),
        name: name.clone(),
        rows: partial.rows,
        first_timestamp: whole.time.min(),
        last_timestamp: whole.time.max(),
        peak_users: whole.users.max(),
        mean_rps: whole.rps.mean(),
        max_rps: whole.rps.max(),
        mean_fail_rps: whole.fail_rps.mean(),
        max_fail_rps: whole.fail_rps.max(),
        max_p95_ms: whole.p95.max(),
        max_p99_ms: whole.p99.max(),
        total_requests: partial.totals[0].value(),
        total_failures: partial.totals[1].value(),
    };
    let mut series = Series {
        method,
        name,
        summary,
        ..Series::default()
    };
    for bucket in partial.buckets.iter().filter(|b| b.time.count > 0) {
        let nan = f64::NAN;
        series.timestamps.push(bucket.time.mean().unwrap_or(nan));
        series.users.push(bucket.users.max().unwrap_or(nan));
        series.rps.push(bucket.rps.mean().unwrap_or(nan));
        series.fail_rps.push(bucket.fail_rps.mean().unwrap_or(nan));
        series.p50_ms.push(bucket.p50.max().unwrap_or(nan));
        series.p95_ms.push(bucket.p95.max().unwrap_or(nan));
        series.p99_ms.push(bucket.p99.max().unwrap_or(nan));
    }
    series
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
    fn numbers_parse_as_the_standard_library_does() {
        for text in [
            "0",
            "12",
            "12.5",
            "0.000000",
            "10.000000",
            "123456.789012",
            "-3.25",
            "1e3",
            "4.9E-3",
            " 7 ",
            "9007199254740993",
            "0.1",
            "99.99",
        ] {
            let expected = text.trim().parse::<f64>().unwrap();
            assert_eq!(number(text.as_bytes()), Ok(Some(expected)), "{text}");
        }
        assert_eq!(number(b"N/A"), Ok(None));
        assert_eq!(number(b""), Ok(None));
        for bad in ["x", "1.2.3", "inf", "NaN", "--1", "."] {
            assert_eq!(number(bad.as_bytes()), Err(()), "{bad}");
        }
        assert_eq!(count(b"42"), Ok(Some(42)));
        assert_eq!(count(b"4.5"), Err(()));
    }

    /// A small deterministic generator (xorshift), so that failures repeat.
    pub(super) fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    #[allow(clippy::cast_possible_truncation)] // small random indices
    fn word_at_a_time_numbers_agree_with_the_standard_library() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let alphabet = b"0123456789.0123456789/:-eN";
        for round in 0..200_000 {
            // mostly well-formed decimals and integers of every length, some with a stray byte
            let length = 1 + (xorshift(&mut state) % 18) as usize;
            let mut text: Vec<u8> = (0..length).map(|_| b'0' + (xorshift(&mut state) % 10) as u8).collect();
            if round % 2 == 0 && length > 1 {
                let at = (xorshift(&mut state) % length as u64) as usize;
                text[at] = b'.';
            }
            if round % 7 == 0 {
                let at = (xorshift(&mut state) % length as u64) as usize;
                text[at] = alphabet[(xorshift(&mut state) % alphabet.len() as u64) as usize];
            }
            // the field sits inside a longer buffer, as in a row
            let mut buffer = text.clone();
            buffer.extend_from_slice(b",1,2,3,4,5,6,7,8,9");
            let expected = std::str::from_utf8(&text).unwrap().parse::<f64>().ok();
            if let Some(fast) = fast_number(&buffer, 0, text.len()) {
                assert_eq!(Some(fast), expected, "{:?}", String::from_utf8_lossy(&text));
            }
            // a count: up to sixteen digits exactly (kept as text), anything else as `count` reads it
            let mut last = LastCount::default();
            let seen = last.see(&buffer, &[], &[(0, text.len(), false)][..], Some(0));
            let expected = if length <= 16 && text.iter().all(u8::is_ascii_digit) {
                Ok(std::str::from_utf8(&text).unwrap().parse::<u64>().ok())
            } else {
                count(&text)
            };
            match expected {
                Ok(value) => assert_eq!(
                    (seen, last.value()),
                    (Ok(()), value),
                    "{:?}",
                    String::from_utf8_lossy(&text)
                ),
                Err(()) => assert_eq!(seen, Err(Some(0)), "{:?}", String::from_utf8_lossy(&text)),
            }
            // and `value_in` (fast or not) always gives what `number` gives
            assert_eq!(
                value_in(&buffer, &[], &[(0, text.len(), false)][..], Some(0)).ok(),
                number(&text).ok().map(|v| v.unwrap_or(f64::NAN)),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
        // the common shapes do take the fast path, and at the very end of a buffer fall back to `number`
        assert_eq!(fast_number(b"12.345678,1,2,3", 0, 9), Some(12.345_678));
        assert_eq!(fast_number(b"1795000000,1,2,3,4", 0, 10), Some(1_795_000_000.0));
        let mut last = LastCount::default();
        assert_eq!(
            last.see(b"1234567890123456,", &[], &[(0, 16, false)][..], Some(0)),
            Ok(())
        );
        assert_eq!((last.length, last.value()), (16, Some(1_234_567_890_123_456)));
        assert_eq!(last.see(b"N/A,", &[], &[(0, 3, false)][..], Some(0)), Ok(()), "kept");
        assert_eq!(last.value(), Some(1_234_567_890_123_456));
        assert_eq!(
            last.see(b"4.5,1,2,3,4", &[], &[(0, 3, false)][..], Some(0)),
            Err(Some(0))
        );
        assert_eq!(fast_number(b"12.5", 0, 4), None);
        assert_eq!(value_in(b"12.5", &[], &[(0, 4, false)][..], Some(0)), Ok(12.5));
        assert_eq!(
            value_in(b"N/A,1,2,3,4", &[], &[(0, 3, false)][..], Some(0)).map(f64::is_nan),
            Ok(true)
        );
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
}

#[cfg(test)]
mod split_tests {
    use super::*;

    fn split(data: &[u8], at_eof: bool) -> (Option<usize>, Vec<String>) {
        let mut split = Split::default();
        let mut scratch = Vec::new();
        match split_line(data, at_eof, &mut split, &mut scratch) {
            Fast::Line(length, count) => {
                let row = Row::new(&split, count);
                let fields = (0..count).map(|k| String::from_utf8_lossy(field(data, &scratch, row.span(k))));
                (Some(length), fields.map(std::borrow::Cow::into_owned).collect())
            }
            Fast::Quoted => (None, vec!["quoted".to_owned()]),
            Fast::Incomplete => (None, vec!["incomplete".to_owned()]),
        }
    }

    #[test]
    #[allow(clippy::cast_possible_truncation)] // small random indices
    fn long_lines_split_as_the_full_parser_does() {
        // lines of every length up to a few chunks, with commas, quoted fields and CRs anywhere
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || super::tests::xorshift(&mut state);
        for _ in 0..20_000 {
            let mut line = Vec::new();
            let fields = 1 + next() % 30;
            for k in 0..fields {
                if k > 0 {
                    line.push(b',');
                }
                match next() % 10 {
                    0 => line.extend_from_slice(b"\"a, \"\"b\"\"\""),
                    1 => line.extend_from_slice(b"\"\""),
                    _ => line.extend((0..next() % 12).map(|i| b"0123456789.a/"[(i as usize * 7 + k as usize) % 13])),
                }
            }
            if next() % 3 == 0 {
                line.push(b'\r');
            }
            line.extend_from_slice(b"\nnext,line\n");
            let mut fields = Vec::new();
            let mut scratch = Vec::new();
            let expected_length = record(&line, false, &mut fields, &mut scratch).unwrap();
            let expected: Vec<String> = fields
                .iter()
                .map(|&span| String::from_utf8_lossy(field(&line, &scratch, span)).into_owned())
                .collect();
            let (length, got) = split(&line, false);
            if got != vec!["quoted".to_owned()] {
                assert_eq!(
                    (length, got),
                    (Some(expected_length), expected),
                    "{:?}",
                    String::from_utf8_lossy(&line)
                );
            }
        }
        // more fields than the slots hold: left to the full parser, which counts them
        let wide = "1,".repeat(SLOTS) + "1\n";
        assert_eq!(split(wide.as_bytes(), false).1, vec!["quoted"]);
    }

    #[test]
    fn lines_split_as_the_full_parser_does() {
        for line in [
            &b"1795000000,50,POST,/queue/[id]/push,10.000000,0.000000,2,2,2,3,4,6,8,10,16,18,20,123,0,3,3.5\r\nnext"[..],
            b"a,b\n",
            b",\r\n",
            b"1234567,\n",
            b"12345678,abcdefg,\r\n",
            b"x\n",
            b"\n",
            b"1,POST,\"pop \"\"deep\"\", depth=10\",3.5\r\n",
            b"\"a\nb\",\"\",\"c,d\"\n",
            b"\"12345678\",\"x\"\"\"\n",
        ] {
            let mut fields = Vec::new();
            let mut scratch = Vec::new();
            let expected_length = record(line, false, &mut fields, &mut scratch).unwrap();
            let expected: Vec<String> = fields
                .iter()
                .map(|&span| String::from_utf8_lossy(field(line, &scratch, span)).into_owned())
                .collect();
            assert_eq!(
                split(line, false),
                (Some(expected_length), expected),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        assert_eq!(split(b"1,2,\"a,b\",3\n", false).1, vec!["1", "2", "a,b", "3"]);
        assert_eq!(split(b"1,2,a\"b,3\n", false).1, vec!["quoted"]);
        assert_eq!(split(b"1,\"ab\"x,3\n", false).1, vec!["quoted"]);
        assert_eq!(split(b"1,\"ab", false).1, vec!["incomplete"]);
        assert_eq!(split(b"1,\"ab\"", false).1, vec!["incomplete"]);
        assert_eq!(split(b"1,2,3", false).1, vec!["incomplete"]);
        assert_eq!(
            split(b"1,2,3", true),
            (Some(5), vec!["1".to_owned(), "2".to_owned(), "3".to_owned()])
        );
        assert_eq!(split(b"1234567890,2\n", false).0, Some(13));
    }
}

#[cfg(test)]
mod parallel_tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::analyze::inputs::tests::tempdir;

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
