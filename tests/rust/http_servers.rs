//! What the HTTP engine's test binaries share: a scripted HTTP/1.1 server on loopback, and waiting for an engine's
//! completions. Included by `#[path]`, so each binary has its own copy; unused parts are allowed.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use _native::http::{Engine, Outcome};

/// A current-thread tokio runtime, for a test that drives a `Pool` or a socket itself.
pub fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn wait_readable(fd: i32, timeout: Duration) -> bool {
    let mut poll = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&raw mut poll, 1, millis) == 1 }
}

/// Waits on the eventfd and drains until `count` outcomes have arrived.
pub fn collect(engine: &Engine<usize>, count: usize) -> Vec<(usize, Outcome)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut all = Vec::new();
    while all.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} completions arrived",
            all.len()
        );
        if wait_readable(engine.fileno(), Duration::from_millis(500)) {
            all.extend(engine.drain());
        }
    }
    all
}

/// A server that answers each request on a connection with what `answer` returns for its request line, and closes
/// the connection after an answer when `answer` says so. Returns its address and counts of connections accepted
/// and ended (by either side).
pub fn scripted_server(answer: fn(&str) -> (Vec<u8>, bool)) -> (SocketAddr, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let ended = Arc::new(AtomicUsize::new(0));
    let (counter, ends) = (Arc::clone(&accepted), Arc::clone(&ended));
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            let ends = Arc::clone(&ends);
            std::thread::spawn(move || {
                // counted however the loop below ends
                struct Ended(Arc<AtomicUsize>);
                impl Drop for Ended {
                    fn drop(&mut self) {
                        self.0.fetch_add(1, Ordering::SeqCst);
                    }
                }
                let _ended = Ended(ends);
                let mut conn = conn;
                let mut pending = Vec::new();
                let mut buffer = [0u8; 4096];
                loop {
                    // one request: a head, and a body as long as its Content-Length
                    let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match conn.read(&mut buffer) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&buffer[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&pending[..end]).to_string();
                    let length: usize = head
                        .lines()
                        .find_map(|line| {
                            line.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(str::to_owned)
                        })
                        .map_or(0, |value| value.trim().parse().unwrap());
                    if pending.len() < end + 4 + length {
                        match conn.read(&mut buffer) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&buffer[..n]),
                        }
                        continue;
                    }
                    pending.drain(..end + 4 + length);
                    let (bytes, close) = answer(head.lines().next().unwrap_or_default());
                    if conn.write_all(&bytes).is_err() || close {
                        return;
                    }
                }
            });
        }
    });
    (addr, accepted, ended)
}

pub fn echo_request_line(line: &str) -> (Vec<u8>, bool) {
    let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{line}", line.len());
    (answer.into_bytes(), false)
}
