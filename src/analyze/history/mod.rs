//! Locust's `_stats_history.csv`: a row per second for the total (and per endpoint with `--csv-full-history`).
//! Long runs make these files large (1,000,000 rows is ~110 MB), so they are read in one pass, on every core, in
//! blocks that stay in cache: each row is folded into its series' summary and into a fixed number of time buckets
//! for the charts, and nothing is kept per row. Records are split at newlines outside quotes, as RFC 4180 says;
//! when a file's split points fall inside a quoted field (a name with a newline) or a part fails, the file is read
//! again on one thread, which also gives the exact line of any error.
//!
//! The parts: `read` (the file, in parts), `split` (rows into fields), `fold` (a row into its series), `numbers` and
//! `words` (the cells, fast), `partial` (a series' running figures), `series` (what the analyzer is handed).

mod fold;
mod numbers;
mod partial;
mod read;
mod series;
mod split;
mod words;

pub use read::read_history;
pub use series::{History, Series, SeriesSummary};

/// Points per series kept for charts: more than a chart's width in pixels.
const BUCKETS: usize = 1500;
const BLOCK: usize = 1 << 20;

/// A small deterministic generator (xorshift), so that failures repeat.
#[cfg(test)]
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}
