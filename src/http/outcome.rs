use std::time::Duration;

use std::sync::Arc;

use bytes::Bytes;
use hyper::HeaderMap;

use super::error::HttpError;
use super::h1::BodyReader;

/// A streamed answer's body still on its connection, read piece by piece with `Engine::read_body`.
pub type BodyStream = Arc<tokio::sync::Mutex<BodyReader>>;

/// When the phases of one request happened. A request is timed from its start on the runtime, as an independent
/// client times one (connecting and waiting for a pooled connection included); the wait between the caller's
/// submit and that start is the generator's own and is kept apart, never added to the response time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// From the submit to the request starting on the runtime (waiting for a batch, or for a runtime thread).
    pub queued: Duration,
    /// From the start to the response headers' arrival (zero when no response arrived).
    pub first_byte: Duration,
    /// From the start to the last body byte's arrival, or to the failure: what Locust reports as `response_time`.
    /// Arrivals are the kernel's receive timestamps on plain http (`h1::arrival`), the reads' times over TLS.
    pub total: Duration,
}

/// The result of one request: a response (any status) or an error, never both.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// 0 when there was no response.
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The URL that answered: the request's, or the last redirect's target.
    pub url: String,
    pub error: Option<HttpError>,
    pub timings: Timings,
    /// The body not read yet, of a streamed request (`RequestSpec::stream`) whose answer has one.
    pub rest: Option<BodyStream>,
}
