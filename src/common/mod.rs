//! Helpers shared by several capabilities.

mod chain;
mod size;
mod url;

pub use chain::error_chain;
pub use size::parse_byte_size;
pub use url::redact_url;
