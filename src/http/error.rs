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
    #[error("host name not resolved: {0}")]
    Resolve(String),
    #[error("timed out after {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("connect timed out")]
    ConnectTimeout,
    /// The connection ended early; the text says how.
    #[error("{0}")]
    ConnectionReset(String),
    #[error("invalid response: {0}")]
    Protocol(String),
    /// The answer passed the client's limit (in MiB), which keeps memory bounded whatever a server sends.
    #[error("response larger than {0} MiB, the client's limit")]
    TooLarge(usize),
    #[error("more than {0} redirects")]
    TooManyRedirects(u32),
    /// A client certificate, key or CA bundle that cannot be used; the text names the file.
    #[error("unusable TLS file: {0}")]
    TlsFile(String),
    /// The proxy would not open a tunnel (`CONNECT`) to the target; the text names the proxy and its answer.
    #[error("{0}")]
    Proxy(String),
}

pub type Result<T, E = HttpError> = std::result::Result<T, E>;
