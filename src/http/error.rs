use std::time::Duration;

/// Why a request produced no complete response. Messages are short and free of URLs, so that Locust's failure
/// table groups them by kind rather than by address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("invalid url: {0}")]
    InvalidUrl(String),
    #[error("unsupported scheme '{0}' (use http or https)")]
    UnsupportedScheme(String),
    #[error("invalid header: {0}")]
    InvalidHeader(String),
    #[error("connection refused")]
    ConnectionRefused,
    #[error("connect failed: {0}")]
    Connect(String),
    #[error("timed out after {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("connect timed out")]
    ConnectTimeout,
    #[error("connection reset: {0}")]
    ConnectionReset(String),
    #[error("invalid response: {0}")]
    Protocol(String),
    #[error("more than {0} redirects")]
    TooManyRedirects(u32),
}

pub type Result<T, E = HttpError> = std::result::Result<T, E>;
