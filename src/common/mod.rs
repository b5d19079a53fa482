//! Helpers shared by several capabilities.

mod chain;
#[cfg(test)]
mod fuzz_config;
mod json_text;
mod merger;
mod seconds;
mod size;
mod switch;
mod url;
mod varint;

pub use chain::error_chain;
#[cfg(test)]
pub(crate) use fuzz_config::fuzz_config;
pub use json_text::{json_float, json_string};
pub use merger::{Absorb, Merger, MAX_PENDING};
pub use seconds::parse_seconds;
pub use size::parse_byte_size;
pub use switch::parse_switch;
pub use url::redact_url;
pub use varint::{put_buckets, put_str, put_varint, ReadError, Reader};
