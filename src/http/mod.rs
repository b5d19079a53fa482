//! The native HTTP client: requests run on a tokio runtime; completions are queued and signalled through an
//! eventfd, so that a single-threaded caller (gevent's hub) can wait for many requests without blocking.

mod engine;
mod error;
pub mod h1;
mod outcome;
mod request;
pub mod tls;
mod waits;
mod wakeup;

pub use engine::{Engine, EngineConfig};
pub use error::HttpError;
pub use outcome::{BodyStream, Outcome, Timings};
pub use request::{check_proxy, header_map, RequestSpec};
pub use tls::TlsFiles;
pub use waits::{StartWaits, WaitSummary};
pub use wakeup::Wakeup;
