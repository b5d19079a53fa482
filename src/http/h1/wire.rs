//! HTTP/1.1 messages as bytes: the request written in one piece, the answer's head parsed, how its body is
//! framed, and a chunked body decoded as it arrives. No I/O here: the pool's connections and the prepopulator's
//! both read answers with these.

use std::mem::MaybeUninit;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH, HOST, PROXY_AUTHORIZATION};
use hyper::{HeaderMap, Method, Uri};

use crate::http::error::HttpError;

/// Largest response head plus body this client reads.
pub const MAX_RESPONSE: usize = 64 << 20;

/// Largest response head (status line and headers): curl's limit for one header line, and above hyper's 100
/// headers of typical size. A larger head is a failure rather than a megabyte of buffer per connection.
pub const MAX_HEAD: usize = 100 << 10;

/// Most headers one response head may have (hyper's default).
const MAX_HEADERS: usize = 100;

/// How a response's body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// How the body of `response` (a parsed head) is framed, and whether the server closes the connection after it.
/// As RFC 9112 §6.3 asks of a client: several `Content-Length` values that differ are an invalid answer; chunked
/// transfer coding wins over a `Content-Length` beside it, and such a message (a smuggling pattern) ends its
/// connection.
pub fn framing(response: &httparse::Response<'_, '_>, head_request: bool) -> Result<(Framing, bool), String> {
    let status = response.code.unwrap_or(0);
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut close = response.version == Some(0);
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            let text = std::str::from_utf8(header.value).unwrap_or_default();
            // a list ("5, 5") is several values in one line
            for value in text.split(',').map(str::trim) {
                let value = value
                    .parse()
                    .map_err(|_| format!("invalid content-length '{}'", text.trim()))?;
                if length.is_some_and(|seen| seen != value) {
                    return Err("several content-length values that differ".to_owned());
                }
                length = Some(value);
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            if header.value.to_ascii_lowercase().ends_with(b"chunked") {
                chunked = true;
            }
        } else if header.name.eq_ignore_ascii_case("connection") {
            let value = header.value.to_ascii_lowercase();
            if value.windows(5).any(|window| window == b"close") {
                close = true;
            } else if value.windows(10).any(|window| window == b"keep-alive") {
                close = false;
            }
        }
    }
    let framing = if head_request || status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::Length(0)
    } else if chunked {
        close |= length.is_some();
        Framing::Chunked
    } else {
        length.map_or(Framing::UntilClose, Framing::Length)
    };
    Ok((framing, close))
}

/// A chunked body decoded as it arrives: each chunk is taken once, so a long body costs one pass over its bytes
/// (decoding from the start at every read would cost the square of its length).
#[derive(Debug, Default)]
pub struct Chunked {
    /// Bytes of the body's framing consumed so far: whole chunks only.
    parsed: usize,
    body: Vec<u8>,
}

impl Chunked {
    /// Goes on with `data`, everything received from the body's start (the same bytes as before, and more):
    /// `Some(bytes used)` once the body and its trailers are complete.
    pub fn decode(&mut self, data: &[u8]) -> Result<Option<usize>, String> {
        loop {
            let rest = &data[self.parsed..];
            match httparse::parse_chunk_size(rest) {
                Ok(httparse::Status::Complete((used, 0))) => {
                    // trailers, then an empty line
                    let mut position = used;
                    loop {
                        let Some(end) = rest[position..].windows(2).position(|window| window == b"\r\n") else {
                            return Ok(None);
                        };
                        position += end + 2;
                        if end == 0 {
                            return Ok(Some(self.parsed + position));
                        }
                    }
                }
                Ok(httparse::Status::Complete((used, size))) => {
                    let size = usize::try_from(size)
                        .ok()
                        .filter(|size| *size <= MAX_RESPONSE)
                        .ok_or_else(|| format!("chunk of {size} bytes, more than the client's limit"))?;
                    if rest.len() < used + size + 2 {
                        return Ok(None);
                    }
                    if &rest[used + size..used + size + 2] != b"\r\n" {
                        return Err("invalid chunked body".to_owned());
                    }
                    self.body.extend_from_slice(&rest[used..used + size]);
                    self.parsed += used + size + 2;
                }
                Ok(httparse::Status::Partial) => return Ok(None),
                Err(_) => return Err("invalid chunk size".to_owned()),
            }
        }
    }

    #[must_use]
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }
}

/// Chunked framing undone as the bytes arrive, for a body read piece by piece (`stream=True`): a chunk's data is
/// handed on as soon as any of it is here, so no chunk is ever held whole, however large the server made it.
#[derive(Debug, Default)]
pub struct ChunkedPieces {
    state: Piecewise,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Piecewise {
    #[default]
    Size,
    Data(u64),
    DataEnd,
    Trailers,
    Done,
}

/// What the front of the buffer held: how many bytes the framing used, and which of them are body.
#[derive(Debug, PartialEq, Eq)]
pub struct Piece {
    /// Bytes to drop from the front of the buffer (framing and data alike).
    pub used: usize,
    /// The body bytes among them, `buf[data]`.
    pub data: std::ops::Range<usize>,
    /// The body and its trailers are complete.
    pub done: bool,
}

impl ChunkedPieces {
    /// The next piece at the front of `buf`, at most `max` body bytes; `used == 0` and not `done` when more bytes
    /// are needed.
    pub fn next(&mut self, buf: &[u8], max: usize) -> Result<Piece, String> {
        let wait = Ok(Piece {
            used: 0,
            data: 0..0,
            done: false,
        });
        match self.state {
            Piecewise::Size => match httparse::parse_chunk_size(buf) {
                Ok(httparse::Status::Complete((used, size))) => {
                    self.state = if size == 0 {
                        Piecewise::Trailers
                    } else {
                        Piecewise::Data(size)
                    };
                    // framing only: the bytes after it make the rest of this piece
                    Ok(self.next(&buf[used..], max)?.after(used))
                }
                Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => Err("chunk size line too long".to_owned()),
                Ok(httparse::Status::Partial) => wait,
                Err(_) => Err("invalid chunk size".to_owned()),
            },
            Piecewise::Data(left) => {
                let take = usize::try_from(left)
                    .unwrap_or(usize::MAX)
                    .min(buf.len())
                    .min(max.max(1));
                if take == 0 {
                    return wait;
                }
                let left = left - take as u64;
                self.state = if left == 0 {
                    Piecewise::DataEnd
                } else {
                    Piecewise::Data(left)
                };
                Ok(Piece {
                    used: take,
                    data: 0..take,
                    done: false,
                })
            }
            Piecewise::DataEnd if buf.len() < 2 => wait,
            Piecewise::DataEnd if &buf[..2] != b"\r\n" => Err("invalid chunked body".to_owned()),
            Piecewise::DataEnd => {
                self.state = Piecewise::Size;
                Ok(self.next(&buf[2..], max)?.after(2))
            }
            Piecewise::Trailers => match buf.windows(2).position(|window| window == b"\r\n") {
                None if buf.len() > MAX_HEAD => Err("trailers too long".to_owned()),
                None => wait,
                Some(0) => {
                    self.state = Piecewise::Done;
                    Ok(Piece {
                        used: 2,
                        data: 0..0,
                        done: true,
                    })
                }
                // a trailer line: dropped, as the whole-body decoder drops them
                Some(end) => Ok(self.next(&buf[end + 2..], max)?.after(end + 2)),
            },
            Piecewise::Done => Ok(Piece {
                used: 0,
                data: 0..0,
                done: true,
            }),
        }
    }
}

impl Piece {
    /// This piece, found after `framing` bytes that go with it.
    fn after(self, framing: usize) -> Self {
        Self {
            used: self.used + framing,
            data: self.data.start + framing..self.data.end + framing,
            done: self.done,
        }
    }
}

/// The request's head and body, for one write; the target in absolute form (`http://host/path`, for a proxy) or
/// as a path.
pub(super) fn request_bytes(
    method: &Method,
    uri: &Uri,
    authority: &str,
    headers: &HeaderMap,
    body: &Bytes,
    absolute: bool,
    proxy_authorization: Option<&str>,
) -> Vec<u8> {
    let path = uri.path_and_query().map_or("/", hyper::http::uri::PathAndQuery::as_str);
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    if absolute {
        out.extend_from_slice(uri.scheme_str().unwrap_or("http").as_bytes());
        out.extend_from_slice(b"://");
        out.extend_from_slice(authority.as_bytes());
    }
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if !headers.contains_key(HOST) {
        out.extend_from_slice(b"Host: ");
        out.extend_from_slice(authority.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(value) = proxy_authorization.filter(|_| !headers.contains_key(PROXY_AUTHORIZATION)) {
        out.extend_from_slice(b"Proxy-Authorization: ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let needs_length = !body.is_empty() || matches!(*method, Method::POST | Method::PUT | Method::PATCH);
    if needs_length && !headers.contains_key(CONTENT_LENGTH) {
        out.extend_from_slice(b"Content-Length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// An answer's head, parsed.
pub(super) struct Head {
    /// bytes the head takes in the buffer
    pub(super) length: usize,
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    pub(super) framing: Framing,
    /// the server closes the connection after this answer
    pub(super) close: bool,
}

/// What an answer is read for.
#[derive(Clone, Copy)]
pub(super) struct Reading {
    /// the answer to a HEAD request: no body, whatever its head says
    pub(super) head_request: bool,
    /// its headers kept in `Head::headers` (else left empty)
    pub(super) headers: bool,
}

/// The answer's head, once the buffer holds all of it; None while it is partial.
pub(super) fn parse_head(buf: &[u8], reading: Reading) -> Result<Option<Head>, HttpError> {
    if buf.is_empty() {
        return Ok(None);
    }
    // left uninitialised: httparse writes the slots it fills; writing all 100 (3.2 KB) first was 6% of this
    // function's instructions for an answer of four headers (285 of 4,970; bench/instructions, 2026-12-08)
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    match httparse::ParserConfig::default().parse_response_with_uninit_headers(&mut response, buf, &mut slots) {
        Ok(httparse::Status::Complete(length)) => {
            let (framing, close) = framing(&response, reading.head_request).map_err(HttpError::Protocol)?;
            let mut headers = HeaderMap::new();
            if reading.headers {
                headers.reserve(response.headers.len());
                for header in response.headers.iter() {
                    let name = HeaderName::from_bytes(header.name.as_bytes());
                    let value = HeaderValue::from_bytes(header.value);
                    if let (Ok(name), Ok(value)) = (name, value) {
                        headers.append(name, value);
                    }
                }
            }
            Ok(Some(Head {
                length,
                status: response.code.unwrap_or(0),
                headers,
                framing,
                close,
            }))
        }
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => Err(HttpError::Protocol(format!(
            "response head larger than {} KiB",
            MAX_HEAD >> 10
        ))),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            Err(HttpError::Protocol(format!("more than {MAX_HEADERS} response headers")))
        }
        Err(err) => Err(HttpError::Protocol(err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &[u8], head_request: bool) -> Result<(Framing, bool), String> {
        let mut slots = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut slots);
        assert!(response.parse(text).unwrap().is_complete());
        framing(&response, head_request)
    }

    #[test]
    fn framings() {
        let text = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(parsed(text, false), Ok((Framing::Length(5), false)));
        assert_eq!(parsed(text, true), Ok((Framing::Length(0), false)));
        let text = b"HTTP/1.1 503 x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        assert_eq!(parsed(text, false), Ok((Framing::Chunked, true)));
        assert_eq!(
            parsed(b"HTTP/1.0 200 OK\r\n\r\n", false),
            Ok((Framing::UntilClose, true))
        );
        let text = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(parsed(text, false), Ok((Framing::Length(0), false)));
        assert_eq!(
            parsed(b"HTTP/1.1 204 No Content\r\n\r\n", false),
            Ok((Framing::Length(0), false))
        );
        assert!(parsed(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false).is_err());
        // RFC 9112 §6.3: lengths that differ are invalid, the same one repeated is one length
        let twice = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n";
        assert_eq!(
            parsed(twice, false),
            Err("several content-length values that differ".to_owned())
        );
        assert!(parsed(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 7\r\n\r\n", false).is_err());
        let same = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5, 5\r\n\r\n";
        assert_eq!(parsed(same, false), Ok((Framing::Length(5), false)));
        // chunked wins over a length beside it, in either order, and the connection ends with the message
        for text in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        ] {
            assert_eq!(parsed(text, false), Ok((Framing::Chunked, true)));
        }
    }

    /// `data` fed to `ChunkedPieces` in slices of `step` bytes, read `max` at a time: the body and whether it ended.
    fn pieces(data: &[u8], step: usize, max: usize) -> Result<(Vec<u8>, bool), String> {
        let mut decoder = ChunkedPieces::default();
        let (mut buf, mut body, mut fed) = (Vec::new(), Vec::new(), 0);
        loop {
            let piece = decoder.next(&buf, max)?;
            assert!(piece.data.len() <= max);
            body.extend_from_slice(&buf[piece.data.clone()]);
            buf.drain(..piece.used);
            if piece.done {
                return Ok((body, buf.is_empty() && fed == data.len()));
            }
            if piece.used == 0 {
                if fed == data.len() {
                    return Ok((body, false));
                }
                let more = step.min(data.len() - fed);
                buf.extend_from_slice(&data[fed..fed + more]);
                fed += more;
            }
        }
    }

    #[test]
    fn chunked_pieces_match_the_whole_body_decoder_however_the_bytes_arrive() {
        let data = b"5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n";
        for step in [1, 2, 3, 7, 64] {
            for max in [1, 4, 1024] {
                assert_eq!(
                    pieces(data, step, max),
                    Ok((b"hello 0123456789".to_vec(), true)),
                    "{step} {max}"
                );
            }
        }
        // cut short: no end
        assert_eq!(pieces(&data[..20], 3, 8), Ok((b"hello ".to_vec(), false)));
        assert!(pieces(b"5\r\nhelloXX0\r\n\r\n", 4, 8).is_err());
        assert!(pieces(b"zz\r\n", 4, 8).is_err());
    }

    fn decode_chunked(data: &[u8]) -> Result<Option<(usize, Vec<u8>)>, String> {
        let mut chunked = Chunked::default();
        Ok(chunked.decode(data)?.map(|used| (used, chunked.into_body())))
    }

    #[test]
    fn chunked() {
        let data = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
        let (used, body) = decode_chunked(data).unwrap().unwrap();
        assert_eq!(body, b"hello world");
        assert_eq!(&data[used..], b"NEXT");
        assert!(decode_chunked(b"5\r\nhel").unwrap().is_none());
        assert!(decode_chunked(b"0\r\n").unwrap().is_none());
        assert!(decode_chunked(b"zz\r\n").is_err());
        assert!(decode_chunked(b"2\r\nabXY").is_err());
        assert!(decode_chunked(b"ffffffffffff\r\n")
            .unwrap_err()
            .contains("more than the client's limit"));
        // fed a byte at a time, as a trickling server sends it: the same body, and the same end
        let mut chunked = Chunked::default();
        let ends: Vec<Option<usize>> = (0..=data.len()).map(|n| chunked.decode(&data[..n]).unwrap()).collect();
        assert_eq!(ends.iter().position(Option::is_some), Some(used));
        assert_eq!(chunked.into_body(), b"hello world");
    }

    #[test]
    fn request_heads() {
        let uri: Uri = "http://example.test:8080/queue/a/push?x=1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        let bytes = request_bytes(
            &Method::POST,
            &uri,
            "example.test:8080",
            &headers,
            &Bytes::from_static(b"{}"),
            false,
            None,
        );
        assert_eq!(
            bytes,
            b"POST /queue/a/push?x=1 HTTP/1.1\r\nHost: example.test:8080\r\ncontent-type: application/json\r\n\
              Content-Length: 2\r\n\r\n{}"
        );
        let bytes = request_bytes(&Method::POST, &uri, "h", &HeaderMap::new(), &Bytes::new(), false, None);
        assert!(bytes.ends_with(b"Content-Length: 0\r\n\r\n"));
        let bytes = request_bytes(
            &Method::GET,
            &"http://h".parse().unwrap(),
            "h",
            &HeaderMap::new(),
            &Bytes::new(),
            false,
            None,
        );
        assert_eq!(bytes, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    }

    #[test]
    fn a_request_to_a_proxy_names_its_target_in_absolute_form() {
        let uri: Uri = "http://example.test:8080/a?b=1".parse().unwrap();
        let bytes = request_bytes(
            &Method::GET,
            &uri,
            "example.test:8080",
            &HeaderMap::new(),
            &Bytes::new(),
            true,
            None,
        );
        assert_eq!(
            bytes,
            b"GET http://example.test:8080/a?b=1 HTTP/1.1\r\nHost: example.test:8080\r\n\r\n"
        );
        // credentials for the proxy, unless the caller wrote its own
        let bytes = request_bytes(
            &Method::GET,
            &uri,
            "e",
            &HeaderMap::new(),
            &Bytes::new(),
            true,
            Some("Basic eDp5"),
        );
        assert!(bytes.ends_with(b"Host: e\r\nProxy-Authorization: Basic eDp5\r\n\r\n"));
        let mut own = HeaderMap::new();
        own.insert(PROXY_AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        let bytes = request_bytes(&Method::GET, &uri, "e", &own, &Bytes::new(), true, Some("Basic eDp5"));
        assert!(bytes.ends_with(b"proxy-authorization: Bearer t\r\n\r\n"));
    }
}
