use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Uri};

use super::error::{HttpError, Result};

/// One request, validated and ready to send (and to send again, to a redirect's target).
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub method: Method,
    pub url: url::Url,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Whole-request limit: connecting, sending, redirects and reading the body.
    pub timeout: Option<Duration>,
    /// Largest number of redirects to follow; 0 follows none.
    pub max_redirects: u32,
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
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| HttpError::InvalidHeader(format!("invalid method {method:?}")))?;
        let parsed = url::Url::parse(url).map_err(|err| HttpError::InvalidUrl(format!("{err}: {url:?}")))?;
        if parsed.scheme() != "http" {
            return Err(HttpError::UnsupportedScheme(parsed.scheme().to_owned()));
        }
        if parsed.host_str().is_none() {
            return Err(HttpError::InvalidUrl(format!("no host in {url:?}")));
        }
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HttpError::InvalidHeader(format!("invalid header name {name:?}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| HttpError::InvalidHeader(format!("invalid value for header {name:?}")))?;
            map.append(header, value);
        }
        Ok(Self {
            method,
            url: parsed,
            headers: map,
            body,
            timeout,
            max_redirects,
        })
    }

    pub(crate) fn uri(&self) -> Result<Uri> {
        self.url
            .as_str()
            .parse()
            .map_err(|err| HttpError::InvalidUrl(format!("{err}")))
    }
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
        assert!(matches!(
            RequestSpec::new("GET", "https://x/", [], Bytes::new(), None, 0),
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
}
