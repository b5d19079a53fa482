use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Uri};

use super::error::{HttpError, Result};
use super::tls::TlsFiles;

/// One request, validated and ready to send (and to send again, to a redirect's target).
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub method: Method,
    /// The URL as given (or the redirect's target), and parsed once for sending.
    pub url: String,
    pub uri: Uri,
    /// Shared: a session's fixed header lists are checked once and every request of it holds the same map (a
    /// redirect that drops a header copies it first).
    pub headers: Arc<HeaderMap>,
    pub body: Bytes,
    /// Whole-request limit: connecting, sending, redirects and reading the body.
    pub timeout: Option<Duration>,
    /// Largest number of redirects to follow; 0 follows none.
    pub max_redirects: u32,
    /// https without checking the server's certificate.
    pub insecure: bool,
    /// Limit on opening a connection; None: the engine's default. Requests with different limits use different
    /// connection pools.
    pub connect_timeout: Option<Duration>,
    /// The connection pool the request uses: 0 is the process's shared pool; a Locust user has its own, as
    /// `FastHttpUser`'s users each have theirs, so that N users hold N connections to the target as N real clients
    /// would.
    pub pool: u64,
    /// An HTTP proxy, as `host:port`: http requests go to it in absolute form, https ones through a `CONNECT`
    /// tunnel. Requests through different proxies (or none) use different connection pools.
    pub proxy: Option<Arc<str>>,
    /// The `Proxy-Authorization` value for `proxy` (e.g. `Basic …`): in each plain http request to it, and in the
    /// `CONNECT` of a tunnel (never inside one, where the target would see it).
    pub proxy_authorization: Option<Arc<str>>,
    /// Client certificate, key and CA bundle files; None: none of them. Each set has its connection pools.
    pub tls_files: Option<Arc<TlsFiles>>,
    /// Return once the answer's head is read, the body left on its connection (`Outcome::rest`).
    pub stream: bool,
}

impl RequestSpec {
    /// Checks everything the caller supplied, so that misuse is reported at once rather than as a failed request.
    pub fn new<'a>(
        method: &str,
        url: &str,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
        body: Bytes,
        timeout: Option<Duration>,
        max_redirects: u32,
    ) -> Result<Self> {
        Self::with_headers(
            method,
            url,
            Arc::new(header_map(headers)?),
            body,
            timeout,
            max_redirects,
        )
    }

    /// As `new`, with headers already checked (`header_map`).
    pub fn with_headers(
        method: &str,
        url: &str,
        headers: Arc<HeaderMap>,
        body: Bytes,
        timeout: Option<Duration>,
        max_redirects: u32,
    ) -> Result<Self> {
        let method = match method {
            "GET" => Method::GET,
            "POST" => Method::POST,
            other => Method::from_bytes(other.to_ascii_uppercase().as_bytes())
                .map_err(|_| HttpError::InvalidHeader(format!("invalid method {other:?}")))?,
        };
        let uri = parse_uri(url)?;
        Ok(Self {
            method,
            url: url.to_owned(),
            uri,
            headers,
            body,
            timeout,
            max_redirects,
            insecure: false,
            connect_timeout: None,
            pool: 0,
            proxy: None,
            proxy_authorization: None,
            tls_files: None,
            stream: false,
        })
    }

    /// Points the request at `location`, resolved against its current URL; None when that is no http URL.
    pub(crate) fn redirect_to(&mut self, location: &str) -> Option<()> {
        let target = url::Url::parse(&self.url).ok()?.join(location).ok()?;
        let uri = parse_uri(target.as_str()).ok()?;
        self.url = target.into();
        self.uri = uri;
        Some(())
    }
}

/// Checks header names and values (no line breaks or control characters) and keeps them in order, repeated names
/// kept.
pub fn header_map<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<HeaderMap> {
    let mut map = HeaderMap::with_capacity(8);
    for (name, value) in headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpError::InvalidHeader(format!("invalid header name {name:?}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| HttpError::InvalidHeader(format!("invalid value for header {name:?}")))?;
        map.append(header, value);
    }
    Ok(map)
}

/// Checks a proxy address, `host:port` (an IPv6 host in brackets).
pub fn check_proxy(proxy: &str) -> Result<()> {
    let authority: hyper::http::uri::Authority = proxy
        .parse()
        .map_err(|_| HttpError::InvalidUrl(format!("invalid proxy {proxy:?}: expected host:port")))?;
    if authority.host().is_empty() || authority.port_u16().is_none() || proxy.contains('@') {
        return Err(HttpError::InvalidUrl(format!(
            "invalid proxy {proxy:?}: expected host:port"
        )));
    }
    Ok(())
}

fn parse_uri(url: &str) -> Result<Uri> {
    let uri: Uri = url
        .parse()
        .map_err(|err| HttpError::InvalidUrl(format!("{err}: {url:?}")))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => return Err(HttpError::UnsupportedScheme(other.to_owned())),
        None => return Err(HttpError::InvalidUrl(format!("not an absolute URL: {url:?}"))),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(HttpError::InvalidUrl(format!("no host in {url:?}")));
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates() {
        let spec = RequestSpec::new(
            "post",
            "http://127.0.0.1:1/a?b=1",
            [("X-A", "1")],
            Bytes::new(),
            None,
            0,
        )
        .unwrap();
        assert_eq!(spec.method, Method::POST);
        assert_eq!(spec.headers["x-a"], "1");
        assert!(RequestSpec::new("GET", "https://x/", [], Bytes::new(), None, 0).is_ok());
        assert!(matches!(
            RequestSpec::new("GET", "ftp://x/", [], Bytes::new(), None, 0),
            Err(HttpError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            RequestSpec::new("GET", "/relative", [], Bytes::new(), None, 0),
            Err(HttpError::InvalidUrl(_))
        ));
        assert!(matches!(
            RequestSpec::new("GET", "http://x/", [("bad name", "v")], Bytes::new(), None, 0),
            Err(HttpError::InvalidHeader(_))
        ));
        assert!(matches!(
            RequestSpec::new("GET", "http://x/", [("a", "line\nbreak")], Bytes::new(), None, 0),
            Err(HttpError::InvalidHeader(_))
        ));
        assert!(RequestSpec::new("G E T", "http://x/", [], Bytes::new(), None, 0).is_err());
    }

    #[test]
    fn a_proxy_is_host_and_port() {
        assert!(check_proxy("127.0.0.1:3128").is_ok());
        assert!(check_proxy("[::1]:3128").is_ok());
        assert!(check_proxy("proxy.example:8080").is_ok());
        for bad in [
            "127.0.0.1",
            ":3128",
            "http://proxy:1/",
            "user@proxy:1",
            "proxy:port",
            "",
        ] {
            assert!(check_proxy(bad).is_err(), "{bad}");
        }
    }
}
