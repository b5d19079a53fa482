//! One row folded into its series: where the columns are, the hot path that reads a row's cells (reusing what
//! repeats from the previous row), and why a row could not be read.

use super::numbers::{fast_number, number};
use super::partial::{Bucket, LastCount, Memo, Partial};
use super::split::{field, Fields};
use super::words::{low_bytes, same, word_at};
use super::BUCKETS;

/// Where the columns are, and how rows map to buckets.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    pub(super) fields: usize,
    pub(super) timestamp: usize,
    pub(super) method: usize,
    pub(super) name: usize,
    pub(super) rps: usize,
    pub(super) users: Option<usize>,
    pub(super) fail_rps: Option<usize>,
    pub(super) p50: Option<usize>,
    pub(super) p95: Option<usize>,
    pub(super) p99: Option<usize>,
    pub(super) total_requests: Option<usize>,
    pub(super) total_failures: Option<usize>,
    pub(super) origin: f64,
    pub(super) width: f64,
}

/// Why a part could not be read; the one-thread pass turns this into the error with a line number.
#[derive(Debug)]
pub(super) enum PartError {
    Io(std::io::Error),
    Fields(usize),
    Number(usize, Vec<u8>),
    NotText,
    Unterminated,
}

/// What the previous rows of a part had: rows of one second share their timestamp and user count, and follow the
/// same order of series.
#[derive(Default)]
pub(super) struct Cache {
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
pub(super) fn take<F: Fields + ?Sized>(
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
pub(super) fn value_in<F: Fields + ?Sized>(
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
