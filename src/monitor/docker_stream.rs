//! One container's stats stream from the Engine API (`GET /containers/{name}/stats?stream=true`), followed by a
//! task of its own for as long as the monitor runs, the latest frame kept for the sampling tick to take.
//!
//! Why a stream and not a request per tick: the daemon collects every watched container on one clock of its own,
//! once a second, and answers any stats request from that clock. Docker 20.10 does so even for
//! `stream=false&one-shot=true`: measured here, such an answer came 0.3-1.0 s after it was asked, at the
//! daemon's next collection, and a second container asked right after the first waited for the collection after
//! that, a whole second more. A tick with a budget then lost its answers (a container sampled second was empty
//! in most rows; when the daemon's clock fell late in the tick, every container was), and each lost answer
//! dropped the reading the next rate needed. A frame of the stream is the same collection `docker stats` shows,
//! written to every subscriber at once; reading it never makes a tick wait.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::UnixStream;

use super::docker::{parse_answer, DockerStats, MAX_RESPONSE};

/// Connecting to the socket and reading the answer's head: a daemon slower than this is as good as absent.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The daemon writes a frame a second; a stream silent this long is stuck, and is opened again.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Between attempts when the socket, the container or the stream is not there.
const RETRY: Duration = Duration::from_secs(1);
/// An answer's head is a few hundred bytes.
const MAX_HEAD: usize = 64 << 10;

/// The latest thing the stream said.
#[derive(Debug, Clone)]
pub enum FeedState {
    /// Opening the stream, or waiting for its first frame, since this instant.
    Connecting(Instant),
    /// A running container's figures, numbered in arrival order (a new stream goes on counting).
    Frame {
        stats: Box<DockerStats>,
        seq: u64,
        received: Instant,
    },
    /// Why there are no figures now (the container is stopped, there is no such container, no socket …).
    Failed(String),
}

/// What the follower task and the sampling tick share.
pub type Feed = Arc<Mutex<FeedState>>;

pub fn new_feed() -> Feed {
    Arc::new(Mutex::new(FeedState::Connecting(Instant::now())))
}

fn set(feed: &Feed, state: FeedState) {
    *feed.lock().unwrap_or_else(PoisonError::into_inner) = state;
}

/// Follows `target`'s stream until the task is aborted: reconnects after a closed stream, a missing socket or
/// container, or a silent daemon.
pub async fn follow(socket: Result<PathBuf, String>, target: String, feed: Feed) {
    let mut seq = 0;
    loop {
        let reason = match &socket {
            Err(reason) => reason.clone(),
            Ok(path) if !path.exists() => format!(
                "no Docker socket at {} (set DOCKER_HOST=unix://… if it is elsewhere)",
                path.display()
            ),
            Ok(path) => stream_once(path, &target, &feed, &mut seq).await,
        };
        set(&feed, FeedState::Failed(reason));
        tokio::time::sleep(RETRY).await;
    }
}

/// Reads one stream to its end; returns why it ended.
async fn stream_once(socket: &std::path::Path, target: &str, feed: &Feed, seq: &mut u64) -> String {
    let on_socket = |what: &dyn std::fmt::Display| format!("Docker socket {}: {what}", socket.display());
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, UnixStream::connect(socket)).await;
    let mut stream = match connected {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => return on_socket(&err),
        Err(_) => return on_socket(&format!("no connection within {} s", CONNECT_TIMEOUT.as_secs())),
    };
    // the daemon closes a finished answer (a 404) at once instead of keeping the connection for another request
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: docker\r\nUser-Agent: pushpop-load\r\nConnection: close\r\n\r\n");
    if let Err(err) = stream.write_all(request.as_bytes()).await {
        return on_socket(&err);
    }
    let mut raw = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 16 << 10];
    let head_end = loop {
        if let Some(at) = memchr::memmem::find(&raw, b"\r\n\r\n") {
            break at + 4;
        }
        if raw.len() > MAX_HEAD {
            return "not an HTTP answer: head too large".to_owned();
        }
        match tokio::time::timeout(CONNECT_TIMEOUT, stream.read(&mut chunk)).await {
            Ok(Ok(0)) => return on_socket(&"closed before answering"),
            Ok(Ok(n)) => raw.extend_from_slice(&chunk[..n]),
            Ok(Err(err)) => return on_socket(&err),
            Err(_) => return on_socket(&format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())),
        }
    };
    let (status, chunked) = match head(&raw[..head_end]) {
        Ok(parsed) => parsed,
        Err(reason) => return reason,
    };
    if status != 200 {
        // a short answer the daemon closes: read it whole (bounded) for its message
        while raw.len() <= MAX_RESPONSE {
            match tokio::time::timeout(CONNECT_TIMEOUT, stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => raw.extend_from_slice(&chunk[..n]),
                _ => break,
            }
        }
        let body = parse_answer(&raw).map(|answer| answer.body).unwrap_or_default();
        return refusal(status, &body);
    }
    let mut body = if chunked {
        Body::Chunked(Dechunker::default())
    } else {
        Body::Identity
    };
    let mut frames = Vec::new();
    let mut pending = raw.split_off(head_end);
    loop {
        if let Err(reason) = body.push(&pending, &mut frames) {
            return reason;
        }
        pending.clear();
        let mut line_start = 0;
        while let Some(end) = memchr::memchr(b'\n', &frames[line_start..]) {
            let line = &frames[line_start..line_start + end];
            line_start += end + 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match DockerStats::decode(line) {
                Ok(stats) if stats.running() => {
                    *seq += 1;
                    let received = Instant::now();
                    let stats = Box::new(stats);
                    set(
                        feed,
                        FeedState::Frame {
                            stats,
                            seq: *seq,
                            received,
                        },
                    );
                }
                // the daemon goes on writing empty frames while the container is stopped, real ones once it runs
                Ok(_) => set(feed, FeedState::Failed("the container is not running".to_owned())),
                Err(reason) => return reason,
            }
        }
        frames.drain(..line_start);
        if frames.len() > MAX_RESPONSE {
            return "a stats frame too large".to_owned();
        }
        if body.done() {
            return "the daemon ended the stats stream".to_owned();
        }
        match tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut chunk)).await {
            Ok(Ok(0)) => return "the daemon closed the stats stream".to_owned(),
            Ok(Ok(n)) => pending.extend_from_slice(&chunk[..n]),
            Ok(Err(err)) => return on_socket(&err),
            Err(_) => return format!("no stats frame for {} s", IDLE_TIMEOUT.as_secs()),
        }
    }
}

/// The status and whether the body is chunked, from a complete head.
fn head(raw: &[u8]) -> Result<(u16, bool), String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err("truncated HTTP answer".to_owned()),
        Err(err) => return Err(format!("not an HTTP answer: {err}")),
    }
    let chunked = response.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("transfer-encoding")
            && String::from_utf8_lossy(h.value)
                .to_ascii_lowercase()
                .contains("chunked")
    });
    Ok((response.code.unwrap_or_default(), chunked))
}

/// What a refused stats request means, in the words of the notes.
pub fn refusal(status: u16, body: &[u8]) -> String {
    if status == 404 {
        return "no such container".to_owned();
    }
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(serde_json::Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    format!("Docker answered {status} {message}").trim_end().to_owned()
}

/// The body of a streamed answer, undone as it arrives.
#[derive(Debug)]
pub enum Body {
    Identity,
    Chunked(Dechunker),
}

impl Body {
    /// Appends what `input` carries to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        match self {
            Self::Identity => {
                out.extend_from_slice(input);
                Ok(())
            }
            Self::Chunked(dechunker) => dechunker.push(input, out),
        }
    }

    /// The last chunk has come.
    #[must_use]
    pub fn done(&self) -> bool {
        matches!(self, Self::Chunked(dechunker) if dechunker.done)
    }
}

/// `Transfer-Encoding: chunked` undone piece by piece: a chunk's size line or its closing CRLF may be split
/// across reads.
#[derive(Debug, Default)]
pub struct Dechunker {
    /// Bytes of a size line or closing CRLF not yet whole.
    partial: Vec<u8>,
    /// Data bytes still to come of the current chunk, then its CRLF.
    remaining: usize,
    in_data: bool,
    done: bool,
}

impl Dechunker {
    pub fn push(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        while !input.is_empty() && !self.done {
            if self.in_data {
                let take = self.remaining.min(input.len());
                out.extend_from_slice(&input[..take]);
                self.remaining -= take;
                input = &input[take..];
                if self.remaining == 0 {
                    self.in_data = false;
                    // the chunk's closing CRLF is read as an empty size line
                    self.partial.clear();
                    self.partial.push(b'-');
                }
                continue;
            }
            let Some(end) = memchr::memchr(b'\n', input) else {
                self.partial.extend_from_slice(input);
                if self.partial.len() > 100 {
                    return Err("bad chunk size line".to_owned());
                }
                return Ok(());
            };
            self.partial.extend_from_slice(&input[..=end]);
            input = &input[end + 1..];
            let line = std::mem::take(&mut self.partial);
            if line.first() == Some(&b'-') {
                // the end of a chunk's data: nothing but CRLF may stand there
                if line != b"-\r\n" {
                    return Err("chunk data longer than its size".to_owned());
                }
                continue;
            }
            let text = std::str::from_utf8(&line).map_err(|_| "bad chunk size")?;
            let text = text.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(text, 16).map_err(|_| {
                let shown: String = text.chars().take(20).collect();
                format!("bad chunk size {shown:?}")
            })?;
            if size > MAX_RESPONSE {
                return Err("a chunk too large".to_owned());
            }
            if size == 0 {
                self.done = true;
            } else {
                self.remaining = size;
                self.in_data = true;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn undo(pieces: &[&[u8]]) -> Result<(Vec<u8>, bool), String> {
        let mut dechunker = Dechunker::default();
        let mut out = Vec::new();
        for piece in pieces {
            dechunker.push(piece, &mut out)?;
        }
        Ok((out, dechunker.done))
    }

    #[test]
    fn chunks_split_anywhere() {
        let raw = b"4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n";
        for cut in 0..raw.len() {
            for cut2 in cut..raw.len() {
                let pieces = [&raw[..cut], &raw[cut..cut2], &raw[cut2..]];
                assert_eq!(undo(&pieces).unwrap(), (b"{\"a\":1}".to_vec(), true), "{cut} {cut2}");
            }
        }
        let bytewise: Vec<&[u8]> = raw.chunks(1).collect();
        assert_eq!(undo(&bytewise).unwrap().0, b"{\"a\":1}");
    }

    #[test]
    fn bad_chunks() {
        assert_eq!(undo(&[b"zz\r\n"]).unwrap_err(), "bad chunk size \"zz\"");
        assert_eq!(undo(&[b"2\r\nabc\r\n"]).unwrap_err(), "chunk data longer than its size");
        assert_eq!(undo(&[b"ffffffffffffffff\r\n"]).unwrap_err(), "a chunk too large");
        assert!(undo(&[&[b'1'; 200]]).is_err());
        // an unfinished stream is not an error, only not done
        assert_eq!(undo(&[b"4\r\nab"]).unwrap(), (b"ab".to_vec(), false));
    }

    #[test]
    fn refusals() {
        assert_eq!(
            refusal(404, b"{\"message\":\"No such container: x\"}"),
            "no such container"
        );
        assert_eq!(refusal(500, b"{\"message\":\"boom\"}"), "Docker answered 500 boom");
        assert_eq!(refusal(502, b"<html>"), "Docker answered 502");
    }
}
