//! Helpers shared by several capabilities.

mod chain;
mod json_text;
mod size;
mod url;

pub use chain::error_chain;
pub use json_text::{json_float, json_string};
pub use size::parse_byte_size;
pub use url::redact_url;
