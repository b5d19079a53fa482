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

impl HttpError {
    /// Sorts a client error by what a load tester needs to know: refused, reset, protocol, or other connect trouble.
    pub(crate) fn classify(err: &(dyn std::error::Error + 'static), connecting: bool) -> Self {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
        let mut innermost = err.to_string();
        while let Some(cause) = source {
            if let Some(io) = cause.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => return Self::ConnectionRefused,
                    std::io::ErrorKind::TimedOut if connecting => return Self::ConnectTimeout,
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => {
                        return Self::ConnectionReset(io.kind().to_string())
                    }
                    _ => {}
                }
            }
            if let Some(hyper_err) = cause.downcast_ref::<hyper::Error>() {
                if hyper_err.is_incomplete_message() || hyper_err.is_closed() {
                    return Self::ConnectionReset("connection closed before the response was complete".to_owned());
                }
                if hyper_err.is_parse() || hyper_err.is_parse_status() {
                    return Self::Protocol(hyper_err.to_string());
                }
            }
            innermost = cause.to_string();
            source = cause.source();
        }
        if connecting {
            Self::Connect(innermost)
        } else {
            Self::Protocol(innermost)
        }
    }
}
