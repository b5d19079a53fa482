//! Helpers shared by several capabilities.

mod size;
mod url;

pub use size::parse_byte_size;
pub use url::redact_url;
