//! A lean HTTP/1.1 client: each request is one task that writes the request and reads the answer on a pooled
//! connection, with no connection task, channel or body stream between them. A general client hands every request
//! to a connection task and the body back through a channel, which costs wake-ups that are a fifth of a request's
//! CPU at the rates a load generator runs (`bench/client`).
//!
//! The messages' bytes (request written, head parsed, body framed, chunks decoded) are `wire`'s; this file holds
//! the connections: the pool, writing and reading on a connection, and what their I/O errors mean.

mod arrival;
mod wire;

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::{HeaderMap, Method, Uri};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use self::wire::{parse_head, request_bytes, ChunkedPieces, Head, Reading};
use super::error::HttpError;

pub use self::wire::{framing, Chunked, Framing, MAX_HEAD, MAX_RESPONSE};

/// A plain or TLS connection.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

/// An answer: complete, or (`Pool::send_streamed`) its head with the body still to read from `rest`.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When its head had arrived, and its last byte (its head, for a streamed answer): the kernel's receive
    /// timestamps on a plain connection (`arrival`), else when this thread read them.
    pub head_at: Instant,
    pub done_at: Instant,
    /// The body not read yet, of a streamed answer that has one.
    pub rest: Option<BodyReader>,
}

/// The body of a streamed answer, read piece by piece from its connection: memory stays at one piece and the
/// connection's buffer, however long the body. The connection goes back to its pool once the body is through; a
/// reader dropped before that closes it.
pub struct BodyReader {
    connection: Option<Connection>,
    remaining: Remaining,
    /// Where the connection goes back, when it may carry another request.
    home: Option<(Arc<Pool>, bool, String)>,
}

enum Remaining {
    Length(usize),
    Chunked(ChunkedPieces),
    UntilClose,
    Done,
}

impl std::fmt::Debug for BodyReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if matches!(self.remaining, Remaining::Done) {
            "BodyReader(done)"
        } else {
            "BodyReader"
        })
    }
}

impl BodyReader {
    /// The next piece of the body, at most `max` bytes; None once the body is through.
    ///
    /// # Errors
    /// The connection failed or closed early, or the chunked framing is invalid.
    pub async fn next(&mut self, max: usize) -> Result<Option<Bytes>, HttpError> {
        let max = max.max(1);
        loop {
            let Some(connection) = self.connection.as_mut() else {
                return Ok(None);
            };
            let buf = &connection.buf;
            let (used, data, done) = match &mut self.remaining {
                Remaining::Done => return Ok(None),
                Remaining::Length(0) => (0, 0..0, true),
                Remaining::Length(left) => {
                    let take = (*left).min(buf.len()).min(max);
                    *left -= take;
                    (take, 0..take, false)
                }
                Remaining::Chunked(decoder) => {
                    let piece = decoder.next(buf, max).map_err(HttpError::Protocol)?;
                    (piece.used, piece.data, piece.done)
                }
                Remaining::UntilClose => {
                    let take = buf.len().min(max);
                    (take, 0..take, false)
                }
            };
            let piece = (!data.is_empty()).then(|| Bytes::copy_from_slice(&buf[data]));
            connection.buf.drain(..used);
            if done {
                self.finish();
                return Ok(piece);
            }
            if piece.is_some() {
                return Ok(piece);
            }
            if used > 0 {
                continue;
            }
            // room for a piece in one read: pieces of the connection's usual 8 KiB cost ~140 µs each on the Python
            // side (59 MB/s, `test_nativehttp_streaming`); 256 KiB gives 0.8 GB/s and keeps the peak a few MiB
            let room = max.clamp(16384, 256 << 10);
            if connection.buf.capacity() - connection.buf.len() < room {
                connection.buf.reserve(room);
            }
            let read = connection
                .stream
                .read_buf(&mut connection.buf)
                .await
                .map_err(|err| exchange_error(&err))?;
            if read == 0 {
                if matches!(self.remaining, Remaining::UntilClose) {
                    self.remaining = Remaining::Done;
                    self.connection = None;
                    return Ok(None);
                }
                self.connection = None;
                return Err(HttpError::ConnectionReset(TRUNCATED.to_owned()));
            }
        }
    }

    /// The body is through: the connection goes home if it may carry another request, else it is closed.
    fn finish(&mut self) {
        self.remaining = Remaining::Done;
        let connection = self.connection.take();
        if let (Some(connection), Some((pool, https, authority))) = (connection, self.home.take()) {
            if connection.buf.is_empty() {
                pool.checkin(https, &authority, connection);
            }
        }
    }
}

/// One kept-alive connection.
struct Connection {
    stream: Stream,
    /// Bytes read and not yet consumed.
    buf: Vec<u8>,
    /// When the bytes of the last read arrived.
    arrived: Instant,
}

/// A pooled connection and when it went idle.
struct Idle {
    connection: Connection,
    since: Instant,
}

/// Connections idle longer than this are checked for a close from the server before they carry a request: the
/// server's idle timeout may have closed them meanwhile. Busier connections skip the (one syscall) check.
const CHECK_AFTER_IDLE: Duration = Duration::from_millis(100);

/// Why one attempt failed, and whether it may be made again on a fresh connection.
struct Failed {
    error: HttpError,
    /// The connection was a pooled one that failed before any byte of an answer: the server had closed it, so
    /// the request never reached the service.
    stale: bool,
}

/// Keep-alive connections per origin (scheme, host and port), with one TLS setup and one connect limit.
pub struct Pool {
    tls: TlsConnector,
    connect_timeout: Duration,
    idle_timeout: Duration,
    /// Per URL authority, for http (0) and https (1): looked up by `&str`, so a request allocates no key.
    idle: Mutex<[HashMap<String, Vec<Idle>>; 2]>,
    /// An HTTP proxy (`host:port`) every connection goes through: http requests in absolute form, https ones in a
    /// `CONNECT` tunnel.
    proxy: Option<Arc<str>>,
    /// The proxy's `Proxy-Authorization` value, if it asks for credentials.
    proxy_authorization: Option<Arc<str>>,
    /// Whether answers keep their headers (see `without_answer_headers`).
    answer_headers: bool,
}

impl Pool {
    #[must_use]
    pub fn new(tls: rustls::ClientConfig, connect_timeout: Duration, idle_timeout: Duration) -> Self {
        Self {
            tls: TlsConnector::from(Arc::new(tls)),
            connect_timeout,
            idle_timeout,
            idle: Mutex::default(),
            proxy: None,
            proxy_authorization: None,
            answer_headers: true,
        }
    }

    /// The same pool, its answers returned with no headers (an empty `HeaderMap`), for a caller that reads none:
    /// building the map of an answer's headers was more than half of `parse_head`'s instructions (2,721 → 1,141 a
    /// call against nginx's five headers), and the open model's driver ran 15% fewer instructions in all over the
    /// same 601 requests without it (callgrind, 2026-12-08).
    #[must_use]
    pub fn without_answer_headers(mut self) -> Self {
        self.answer_headers = false;
        self
    }

    /// The same pool, its connections made through `proxy` (`host:port`), or directly for None; `authorization`
    /// is the `Proxy-Authorization` value the proxy asks for, if any.
    #[must_use]
    pub fn through_proxy(mut self, proxy: Option<Arc<str>>, authorization: Option<Arc<str>>) -> Self {
        self.proxy = proxy;
        self.proxy_authorization = authorization;
        self
    }

    /// Sends one request and reads its answer. A pooled connection the server had closed is replaced once.
    pub async fn send(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Response, HttpError> {
        self.send_to(method, uri, headers, body, None).await
    }

    /// Sends one request and returns once its answer's head is read; the body, if any, is the answer's `rest`.
    pub async fn send_streamed(
        self: &Arc<Self>,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Response, HttpError> {
        self.send_to(method, uri, headers, body, Some(self)).await
    }

    async fn send_to(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &Bytes,
        streamed: Option<&Arc<Self>>,
    ) -> Result<Response, HttpError> {
        let https = uri.scheme_str() == Some("https");
        let authority = uri.authority().map_or("", hyper::http::uri::Authority::as_str);
        // a proxy is the recipient of a plain http request, and takes its target in absolute form (RFC 9112 §3.2.2)
        let absolute = self.proxy.is_some() && !https;
        let proxy_authorization = self.proxy_authorization.as_deref().filter(|_| absolute);
        let request = request_bytes(method, uri, authority, headers, body, absolute, proxy_authorization);
        let mut pooled = self.checkout(https, authority);
        loop {
            let reused = pooled.is_some();
            let connection = match pooled.take() {
                Some(connection) => connection,
                // boxed: a connect's future (a TLS handshake, a proxy's CONNECT) is most of this one's size, and
                // every request's task is moved whole on spawn and when it ends: the open model's request future
                // was 2,432 bytes with it inline and 1,360 boxed
                None => Box::pin(self.connect(https, uri)).await?,
            };
            match self
                .exchange(connection, &request, method, https, authority, reused, streamed)
                .await
            {
                Ok(response) => return Ok(response),
                // once: a fresh connection is never stale
                Err(Failed { stale: true, .. }) if reused => {}
                Err(failed) => return Err(failed.error),
            }
        }
    }

    /// Closes every idle connection (a run that ended, a script that is done); requests still in flight keep theirs.
    /// Returns how many were closed.
    pub fn close_idle(&self) -> usize {
        let taken = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        taken.iter().flat_map(HashMap::values).map(Vec::len).sum()
    }

    fn checkout(&self, https: bool, authority: &str) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let list = idle[usize::from(https)].get_mut(authority)?;
        while let Some(entry) = list.pop() {
            let idle_for = entry.since.elapsed();
            if idle_for > self.idle_timeout {
                continue;
            }
            if idle_for > CHECK_AFTER_IDLE && closed_by_peer(&entry.connection.stream) {
                continue;
            }
            return Some(entry.connection);
        }
        None
    }

    fn checkin(&self, https: bool, authority: &str, mut connection: Connection) {
        // An idle connection holds no read buffer (an answer read leaves it empty: see `read_response`'s `keep`).
        // With a user per connection and seconds between requests, nearly every connection is idle: 10,000 users
        // held 10,000 buffers of 8-16 KiB (bench/users); the next request's buffer comes back from the allocator's
        // free lists, warm.
        connection.buf.shrink_to_fit();
        // one clock read: the expiry search below compares with it, not with a reading per probe
        let now = Instant::now();
        let entry = Idle { connection, since: now };
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let origins = &mut idle[usize::from(https)];
        match origins.get_mut(authority) {
            Some(list) => {
                // the oldest are first: those past the idle timeout are closed now, not when a burst reaches them
                let expired = list.partition_point(|old| now.saturating_duration_since(old.since) > self.idle_timeout);
                list.drain(..expired);
                list.push(entry);
            }
            None => {
                origins.insert(authority.to_owned(), vec![entry]);
            }
        }
    }

    async fn connect(&self, https: bool, uri: &Uri) -> Result<Connection, HttpError> {
        let host = uri.host().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let connecting = async {
            let tcp = match &self.proxy {
                Some(proxy) => TcpStream::connect(&**proxy).await,
                None => TcpStream::connect((host, port)).await,
            }
            .map_err(|err| connect_error(&err))?;
            tcp.set_nodelay(true).map_err(|err| connect_error(&err))?;
            if !https {
                // without stamps (a kernel that refuses them) answers are timed when read, as over TLS
                let _ = arrival::stamp_arrivals(&tcp);
            }
            let mut tcp = tcp;
            if let (true, Some(proxy)) = (https, &self.proxy) {
                tunnel(
                    &mut tcp,
                    proxy,
                    self.proxy_authorization.as_deref(),
                    uri.authority().map_or("", hyper::http::uri::Authority::as_str),
                    port,
                )
                .await?;
            }
            let stream = if https {
                let name = ServerName::try_from(host.to_owned())
                    .map_err(|err| HttpError::InvalidUrl(format!("{err}: {host:?}")))?;
                let tls = self.tls.connect(name, tcp).await.map_err(|err| connect_error(&err))?;
                Stream::Tls(Box::new(tls))
            } else {
                Stream::Plain(tcp)
            };
            // no buffer until the first read (`fill` reserves it): see `checkin`
            Ok(Connection {
                stream,
                buf: Vec::new(),
                arrived: Instant::now(),
            })
        };
        tokio::time::timeout(self.connect_timeout, connecting)
            .await
            .unwrap_or(Err(HttpError::ConnectTimeout))
    }

    // the request's parts, borrowed from the caller's loop: a struct for this one call would only rename them
    #[allow(clippy::too_many_arguments)]
    async fn exchange(
        &self,
        mut connection: Connection,
        request: &[u8],
        method: &Method,
        https: bool,
        authority: &str,
        reused: bool,
        streamed: Option<&Arc<Self>>,
    ) -> Result<Response, Failed> {
        let reading = Reading {
            head_request: *method == Method::HEAD,
            headers: self.answer_headers,
        };
        let sent = send_request(&mut connection, request).await;
        if let Err(err) = &sent {
            // a server may answer (a 413, a 401) and close before the request's body is through: that answer, if it
            // came, is the outcome, as curl and hyper report it; else the failure to send
            let answered = !connection.buf.is_empty()
                || matches!(err.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset);
            if let (true, Ok((response, _))) = (answered, read_response(&mut connection, reading).await) {
                return Ok(response);
            }
            return Err(Failed {
                stale: reused && connection.buf.is_empty(),
                error: exchange_error(err),
            });
        }
        let answered_early = sent.unwrap_or(false);
        if let Some(home) = streamed {
            let head = read_head(&mut connection, reading)
                .await
                .map_err(|(error, nothing_read)| Failed {
                    error,
                    stale: reused && nothing_read,
                })?;
            let head_at = connection.arrived;
            connection.buf.drain(..head.length);
            let keep = !head.close && !answered_early && head.framing != Framing::UntilClose;
            let remaining = match head.framing {
                Framing::Length(0) => None,
                Framing::Length(length) => Some(Remaining::Length(length)),
                Framing::Chunked => Some(Remaining::Chunked(ChunkedPieces::default())),
                Framing::UntilClose => Some(Remaining::UntilClose),
            };
            let rest = if let Some(remaining) = remaining {
                Some(BodyReader {
                    connection: Some(connection),
                    remaining,
                    home: keep.then(|| (Arc::clone(home), https, authority.to_owned())),
                })
            } else {
                if keep && connection.buf.is_empty() {
                    self.checkin(https, authority, connection);
                }
                None
            };
            return Ok(Response {
                status: head.status,
                headers: head.headers,
                body: Bytes::new(),
                head_at,
                done_at: head_at,
                rest,
            });
        }
        let (response, keep) = read_response(&mut connection, reading)
            .await
            .map_err(|(error, nothing_read)| Failed {
                error,
                stale: reused && nothing_read,
            })?;
        // an answer before the whole request was sent leaves the rest of it unsent: the connection cannot go on
        if keep && !answered_early {
            self.checkin(https, authority, connection);
        }
        Ok(response)
    }
}

/// Asks `proxy` for a tunnel to `authority` (`CONNECT`, RFC 9110 §9.3.6) on `tcp`, and reads its answer: a 2xx opens
/// the tunnel, anything else is an error naming the proxy and its status line.
async fn tunnel(
    tcp: &mut TcpStream,
    proxy: &str,
    authorization: Option<&str>,
    authority: &str,
    port: u16,
) -> Result<(), HttpError> {
    // the target as host:port, the port written even when it is the scheme's default
    let target = if authority.rsplit_once(':').is_some_and(|(_, tail)| !tail.contains(']')) {
        authority.to_owned()
    } else {
        format!("{authority}:{port}")
    };
    let request = match authorization {
        Some(value) => format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nProxy-Authorization: {value}\r\n\r\n"),
        None => format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"),
    };
    tcp.write_all(request.as_bytes())
        .await
        .map_err(|err| connect_error(&err))?;
    let mut answer = Vec::with_capacity(512);
    let length = loop {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut head = httparse::Response::new(&mut slots);
        match head.parse(&answer) {
            Ok(httparse::Status::Complete(length)) => {
                let status = head.code.unwrap_or(0);
                if !(200..300).contains(&status) {
                    return Err(HttpError::Proxy(format!(
                        "proxy {proxy} refused CONNECT to {target}: {status} {}",
                        head.reason.unwrap_or_default()
                    )));
                }
                break length;
            }
            Ok(httparse::Status::Partial) if answer.len() <= MAX_HEAD => {}
            Ok(httparse::Status::Partial) => {
                return Err(HttpError::Proxy(format!(
                    "proxy {proxy}: CONNECT answer head too large"
                )))
            }
            Err(err) => {
                return Err(HttpError::Proxy(format!(
                    "proxy {proxy}: invalid CONNECT answer: {err}"
                )))
            }
        }
        if answer.capacity() - answer.len() < 256 {
            answer.reserve(1024);
        }
        if tcp.read_buf(&mut answer).await.map_err(|err| connect_error(&err))? == 0 {
            return Err(HttpError::Proxy(format!(
                "proxy {proxy} closed the connection before answering CONNECT"
            )));
        }
    };
    if answer.len() > length {
        // the server's TLS speaks only after the client's hello: bytes here came from the proxy, not the target
        return Err(HttpError::Proxy(format!(
            "proxy {proxy} sent data after its CONNECT answer"
        )));
    }
    Ok(())
}

/// Writes `request`, watching for an answer meanwhile: `Ok(true)` when the server began to answer before the whole
/// request was written (a final answer to a large upload: the rest is not sent). A request that fits the socket's
/// buffer is written in the first poll and never reads.
async fn send_request(connection: &mut Connection, request: &[u8]) -> io::Result<bool> {
    let mut written = 0;
    let answered = std::future::poll_fn(|cx| {
        while written < request.len() {
            match Pin::new(&mut connection.stream).poll_write(cx, &request[written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(count)) => written += count,
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => break,
            }
        }
        if written == request.len() {
            return Poll::Ready(Ok(false));
        }
        // the server is not taking the rest: has it answered?
        if connection.buf.capacity() - connection.buf.len() < 4096 {
            connection.buf.reserve(16384);
        }
        let spare = connection.buf.spare_capacity_mut();
        let mut read = ReadBuf::uninit(spare);
        match Pin::new(&mut connection.stream).poll_read(cx, &mut read) {
            Poll::Ready(Ok(())) if read.filled().is_empty() => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
            Poll::Ready(Ok(())) => {
                let filled = read.filled().len();
                // SAFETY: poll_read initialised and filled `filled` bytes of the spare capacity
                unsafe { connection.buf.set_len(connection.buf.len() + filled) };
                connection.arrived = Instant::now();
                Poll::Ready(Ok(true))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => Poll::Pending,
        }
    })
    .await?;
    if !answered {
        connection.stream.flush().await?;
    }
    Ok(answered)
}

/// Reads the final answer's head, skipping interim ones (103 Early Hints); it stays in the buffer, `length` bytes.
/// An error says whether any byte arrived.
async fn read_head(connection: &mut Connection, reading: Reading) -> Result<Head, (HttpError, bool)> {
    loop {
        let head = loop {
            if let Some(head) = parse_head(&connection.buf, reading).map_err(|error| (error, false))? {
                break head;
            }
            let nothing_read = connection.buf.is_empty();
            match fill(connection).await {
                Ok(true) => {}
                Ok(false) if nothing_read => {
                    return Err((
                        HttpError::ConnectionReset("connection closed without a response".to_owned()),
                        true,
                    ))
                }
                Ok(false) => return Err((HttpError::ConnectionReset(TRUNCATED.to_owned()), false)),
                Err(err) => return Err((err, nothing_read)),
            }
        };
        if (100..200).contains(&head.status) {
            connection.buf.drain(..head.length);
            continue;
        }
        return Ok(head);
    }
}

/// Reads one answer; whether the connection may carry another request. An error says whether any byte arrived.
async fn read_response(connection: &mut Connection, reading: Reading) -> Result<(Response, bool), (HttpError, bool)> {
    let truncated = || HttpError::ConnectionReset(TRUNCATED.to_owned());
    {
        let Head {
            length: head_length,
            status,
            headers,
            framing,
            close,
        } = read_head(connection, reading).await?;
        let head_at = connection.arrived;
        let fail = |err: HttpError| (err, false);
        let (used, body, reusable) = match framing {
            Framing::Length(length) => {
                if length > MAX_RESPONSE {
                    return Err((HttpError::TooLarge(MAX_RESPONSE >> 20), false));
                }
                while connection.buf.len() < head_length + length {
                    if !fill(connection).await.map_err(fail)? {
                        return Err((truncated(), false));
                    }
                }
                let body = Bytes::copy_from_slice(&connection.buf[head_length..head_length + length]);
                (head_length + length, body, true)
            }
            Framing::Chunked => {
                let mut chunked = Chunked::default();
                loop {
                    match chunked.decode(&connection.buf[head_length..]) {
                        Ok(Some(used)) => break (head_length + used, Bytes::from(chunked.into_body()), true),
                        Ok(None) => {}
                        Err(reason) => return Err((HttpError::Protocol(reason), false)),
                    }
                    if !fill(connection).await.map_err(fail)? {
                        return Err((truncated(), false));
                    }
                }
            }
            Framing::UntilClose => {
                while fill(connection).await.map_err(fail)? {}
                let body = Bytes::copy_from_slice(&connection.buf[head_length..]);
                (connection.buf.len(), body, false)
            }
        };
        connection.buf.drain(..used);
        // a server that closes, or bytes nobody asked for: the next request gets a fresh connection
        let keep = reusable && !close && connection.buf.is_empty();
        Ok((
            Response {
                status,
                headers,
                body,
                head_at,
                done_at: connection.arrived,
                rest: None,
            },
            keep,
        ))
    }
}

/// Reads more bytes; false at the end of the stream. Past `MAX_RESPONSE` bytes for one answer, an error: memory
/// stays bounded whatever the server sends.
async fn fill(connection: &mut Connection) -> Result<bool, HttpError> {
    if connection.buf.len() > MAX_RESPONSE {
        return Err(HttpError::TooLarge(MAX_RESPONSE >> 20));
    }
    if connection.buf.capacity() - connection.buf.len() < 4096 {
        connection.buf.reserve(16384);
    }
    let read = match &connection.stream {
        Stream::Plain(tcp) => arrival::read(tcp, &mut connection.buf).await,
        Stream::Tls(_) => connection
            .stream
            .read_buf(&mut connection.buf)
            .await
            .map(|read| (read, None)),
    };
    match read {
        Ok((read, stamp)) => {
            connection.arrived = stamp.unwrap_or_else(Instant::now);
            Ok(read > 0)
        }
        Err(err) => Err(exchange_error(&err)),
    }
}

/// Whether an idle connection has been closed (or reset) by the server, without blocking or consuming anything.
fn closed_by_peer(stream: &Stream) -> bool {
    use std::os::fd::AsRawFd as _;
    let fd = match stream {
        Stream::Plain(tcp) => tcp.as_raw_fd(),
        Stream::Tls(tls) => tls.get_ref().0.as_raw_fd(),
    };
    let mut byte = 0u8;
    // SAFETY: peeks at most one byte into a live local from a descriptor this stream owns.
    let peeked = unsafe {
        libc::recv(
            fd,
            std::ptr::addr_of_mut!(byte).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    // 0: the server's FIN; > 0 on an idle HTTP/1.1 connection: bytes nobody asked for (or a TLS close_notify);
    // -1 with EAGAIN: still open
    peeked >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::WouldBlock
}

const TRUNCATED: &str = "connection closed before the response was complete";

fn connect_error(err: &io::Error) -> HttpError {
    match err.kind() {
        io::ErrorKind::ConnectionRefused => HttpError::ConnectionRefused,
        io::ErrorKind::TimedOut => HttpError::ConnectTimeout,
        // tokio reports a failed getaddrinfo as an uncategorised error whose text says so
        _ if err.to_string().contains("lookup address") => HttpError::Resolve(err.to_string()),
        _ => HttpError::Connect(err.to_string()),
    }
}

fn exchange_error(err: &io::Error) -> HttpError {
    HttpError::ConnectionReset(
        match err.kind() {
            io::ErrorKind::ConnectionReset => "connection reset by the server",
            io::ErrorKind::BrokenPipe => "connection closed by the server while the request was being sent",
            io::ErrorKind::ConnectionAborted => "connection aborted",
            io::ErrorKind::UnexpectedEof => TRUNCATED,
            _ => return HttpError::Protocol(err.to_string()),
        }
        .to_owned(),
    )
}
