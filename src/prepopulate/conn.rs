//! A minimal HTTP/1.1 client connection: one request at a time on a kept-alive connection, no pool, no channels.
//! The prepopulator sends one kind of request as fast as the target takes them, and needs to know exactly whether
//! a failed request can have reached the service, which a pooling client hides.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::http::h1::{framing, Chunked, Framing, Stream, MAX_RESPONSE};

/// The service's address, resolved once, and what every request to it repeats.
pub struct Endpoint {
    addrs: Vec<SocketAddr>,
    /// The address that last accepted a connection: `localhost` may resolve to `::1` first while the server
    /// listens on 127.0.0.1 only.
    preferred: AtomicUsize,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    /// The `Host` header.
    authority: String,
    /// The URL's path without its trailing `/`: requests go to `<base>/queue/...`.
    base: String,
}

impl Endpoint {
    /// Resolves `url`'s host and sets up TLS for https (verified against the system's roots unless `insecure`).
    pub async fn resolve(url: &url::Url, insecure: bool) -> Result<Self, String> {
        let port = url.port_or_known_default().ok_or("no port")?;
        let (addrs, name) = match url.host() {
            Some(url::Host::Domain(domain)) => {
                let found: Vec<SocketAddr> = tokio::net::lookup_host((domain, port))
                    .await
                    .map_err(|err| format!("cannot resolve {domain}: {err}"))?
                    .collect();
                let name = ServerName::try_from(domain.to_owned()).map_err(|err| err.to_string())?;
                (found, name)
            }
            Some(url::Host::Ipv4(ip)) => (
                vec![SocketAddr::new(ip.into(), port)],
                ServerName::from(std::net::IpAddr::from(ip)),
            ),
            Some(url::Host::Ipv6(ip)) => (
                vec![SocketAddr::new(ip.into(), port)],
                ServerName::from(std::net::IpAddr::from(ip)),
            ),
            None => return Err("no host".to_owned()),
        };
        if addrs.is_empty() {
            return Err("the host resolves to no address".to_owned());
        }
        let tls = if url.scheme() == "https" {
            let config = if insecure {
                crate::http::tls::unverified()
            } else {
                crate::http::tls::verified().map_err(|err| err.to_string())?
            };
            Some((TlsConnector::from(Arc::new(config)), name))
        } else {
            None
        };
        let host = url.host_str().unwrap_or_default();
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Ok(Self {
            addrs,
            preferred: AtomicUsize::new(0),
            tls,
            authority,
            base: url.path().trim_end_matches('/').to_owned(),
        })
    }

    /// Opens a connection (TCP, then TLS for https). Callers bound the time it may take.
    pub async fn connect(&self) -> io::Result<Connection> {
        let first = self.preferred.load(Ordering::Relaxed);
        let mut last_error = None;
        for offset in 0..self.addrs.len() {
            let index = (first + offset) % self.addrs.len();
            match TcpStream::connect(self.addrs[index]).await {
                Ok(tcp) => {
                    tcp.set_nodelay(true)?;
                    self.preferred.store(index, Ordering::Relaxed);
                    let stream = match &self.tls {
                        None => Stream::Plain(tcp),
                        Some((connector, name)) => Stream::Tls(Box::new(connector.connect(name.clone(), tcp).await?)),
                    };
                    return Ok(Connection {
                        stream,
                        buf: Vec::with_capacity(4096),
                        open: true,
                    });
                }
                Err(err) => last_error = Some(err),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address")))
    }

    /// Appends the head of a push of `body_len` bytes to `queue`.
    pub fn write_push_head(&self, out: &mut Vec<u8>, queue: &str, body_len: usize) {
        use std::io::Write as _;
        let _ = write!(
            out,
            "POST {}/queue/{queue}/push HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {body_len}\r\n\r\n",
            self.base, self.authority
        );
    }

    /// `GET /queue/{id}/stats`, the reference target's depth extension.
    #[must_use]
    pub fn stats_request(&self, queue: &str) -> Vec<u8> {
        format!(
            "GET {}/queue/{queue}/stats HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\r\n",
            self.base, self.authority
        )
        .into_bytes()
    }
}

/// A complete answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why an exchange produced no answer, sorted by what it means for the request.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The request did not leave in full (connect or write failed): the service cannot have applied it.
    NotSent(String),
    /// The request left, and no complete answer came back: the service may have applied it.
    Unknown(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotSent(reason) | Self::Unknown(reason) => f.write_str(reason),
        }
    }
}

/// An error as a short text: the kind for the common network errors, the message otherwise.
pub fn describe(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
        io::ErrorKind::BrokenPipe => "connection closed by the server".to_owned(),
        io::ErrorKind::UnexpectedEof => "connection closed before the response was complete".to_owned(),
        _ => err.to_string(),
    }
}

/// One kept-alive connection.
pub struct Connection {
    stream: Stream,
    /// Bytes read and not yet consumed.
    buf: Vec<u8>,
    /// False once the connection must not carry another request.
    pub open: bool,
}

struct Head {
    length: usize,
    status: u16,
    framing: Framing,
    close: bool,
}

fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let length = match response.parse(buf) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(err) => return Err(format!("invalid response: {err}")),
    };
    let (framing, close) = framing(&response, false)?;
    Ok(Some(Head {
        length,
        status: response.code.unwrap_or(0),
        framing,
        close,
    }))
}

impl Connection {
    /// Sends `request` and reads its answer.
    pub async fn exchange(&mut self, request: &[u8]) -> Result<Response, Failure> {
        let sent = async {
            self.stream.write_all(request).await?;
            self.stream.flush().await
        };
        if let Err(err) = sent.await {
            self.open = false;
            return Err(Failure::NotSent(describe(&err)));
        }
        match self.read_response().await {
            Ok(response) => Ok(response),
            Err(reason) => {
                self.open = false;
                Err(Failure::Unknown(reason))
            }
        }
    }

    /// Reads more bytes; false at the end of the stream.
    async fn fill(&mut self) -> Result<bool, String> {
        if self.buf.len() > MAX_RESPONSE {
            return Err("response too large".to_owned());
        }
        if self.buf.capacity() - self.buf.len() < 1024 {
            self.buf.reserve(8192);
        }
        let read = self
            .stream
            .read_buf(&mut self.buf)
            .await
            .map_err(|err| describe(&err))?;
        Ok(read > 0)
    }

    async fn read_response(&mut self) -> Result<Response, String> {
        loop {
            let head = loop {
                if let Some(head) = parse_head(&self.buf)? {
                    break head;
                }
                if !self.fill().await? {
                    return Err(if self.buf.is_empty() {
                        "connection closed without a response".to_owned()
                    } else {
                        "connection closed before the response was complete".to_owned()
                    });
                }
            };
            if (100..200).contains(&head.status) {
                // an interim answer (103 Early Hints); the real one follows
                self.buf.drain(..head.length);
                continue;
            }
            let (used, body) = match head.framing {
                Framing::Length(length) => {
                    if length > MAX_RESPONSE {
                        return Err("response too large".to_owned());
                    }
                    while self.buf.len() < head.length + length {
                        if !self.fill().await? {
                            return Err("connection closed before the response was complete".to_owned());
                        }
                    }
                    (
                        head.length + length,
                        self.buf[head.length..head.length + length].to_vec(),
                    )
                }
                Framing::Chunked => {
                    let mut chunked = Chunked::default();
                    loop {
                        if let Some(used) = chunked.decode(&self.buf[head.length..])? {
                            break (head.length + used, chunked.into_body());
                        }
                        if !self.fill().await? {
                            return Err("connection closed before the response was complete".to_owned());
                        }
                    }
                }
                Framing::UntilClose => {
                    while self.fill().await? {}
                    self.open = false;
                    (self.buf.len(), self.buf[head.length..].to_vec())
                }
            };
            self.buf.drain(..used);
            if head.close || !self.buf.is_empty() {
                // a server that closes, or bytes nobody asked for: the next request gets a fresh connection
                self.open = false;
            }
            return Ok(Response {
                status: head.status,
                body,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads() {
        let head = parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap()
            .unwrap();
        assert_eq!((head.status, head.length, head.close), (200, 38, false));
        assert!(matches!(head.framing, Framing::Length(5)));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap().is_none());
        let head = parse_head(b"HTTP/1.1 503 x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(matches!(head.framing, Framing::Chunked) && head.close && head.status == 503);
        let head = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
        assert!(matches!(head.framing, Framing::UntilClose) && head.close);
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
    }
}
