//! The HTTP engine against real servers on loopback: the reference target, a closed port, a silent server.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use _native::http::{Engine, EngineConfig, HttpError, RequestSpec};
use _native::reference_target::{StoreSpec, TargetConfig};
use bytes::Bytes;

#[path = "http_servers.rs"]
mod servers;
use servers::{collect, current_thread, echo_request_line, scripted_server, wait_readable};

/// The reference target on a free port, served by a runtime of its own for the life of the test process.
fn start_target() -> SocketAddr {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let config = TargetConfig {
                port: 0,
                store: StoreSpec::Memory,
                ..TargetConfig::default()
            };
            let running = _native::reference_target::serve(&config).await.unwrap();
            sender.send(running.addr).unwrap();
            running.until(std::future::pending()).await.unwrap();
        });
    });
    receiver.recv().unwrap()
}

fn spec(method: &str, url: &str, body: &str, timeout: Option<Duration>) -> RequestSpec {
    let headers = [("content-type", "application/json")];
    RequestSpec::new(method, url, headers, Bytes::from(body.to_owned()), timeout, 5).unwrap()
}

#[test]
fn many_requests_in_flight_complete_through_the_eventfd() {
    let addr = start_target();
    let engine = Engine::new(&EngineConfig::default()).unwrap();
    let count = 500;
    for n in 0..count {
        let body = format!(r#"{{"item": {{"n": {n}}}, "priority": {}}}"#, n % 3);
        engine.submit(
            spec("POST", &format!("http://{addr}/queue/engine/push"), &body, None),
            n,
        );
    }
    let outcomes = collect(&engine, count);
    assert_eq!(engine.in_flight(), 0);
    let mut tokens: Vec<usize> = outcomes.iter().map(|(token, _)| *token).collect();
    tokens.sort_unstable();
    assert_eq!(tokens, (0..count).collect::<Vec<_>>());
    for (_, outcome) in &outcomes {
        assert_eq!(outcome.status, 200, "{outcome:?}");
        assert!(outcome.error.is_none());
        assert!(outcome.timings.total >= outcome.timings.first_byte);
        assert!(outcome.headers.contains_key("server-timing"));
    }
    let popped = engine.block_on(spec(
        "POST",
        &format!("http://{addr}/queue/engine/pop?depth=100"),
        "",
        None,
    ));
    assert_eq!(popped.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&popped.body).unwrap();
    assert_eq!(body["count"], 100);
    // the 500 pushes raced each other, so only the priority order is fixed: 167 items of priority 0 come first
    let items = body["items"].as_array().unwrap();
    assert!(items.iter().all(|item| item["n"].as_u64().unwrap() % 3 == 0), "{body}");
}

#[test]
fn errors_are_outcomes_not_panics() {
    let engine: Engine<usize> = Engine::new(&EngineConfig::default()).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let refused = engine.block_on(spec("GET", &format!("http://{closed}/"), "", None));
    assert_eq!(refused.status, 0);
    assert_eq!(refused.error, Some(HttpError::ConnectionRefused));

    // accepts, reads, never answers: the request must end at its timeout
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let keep = std::thread::spawn(move || {
        silent
            .accept()
            .map(|(_conn, _)| std::thread::sleep(Duration::from_secs(3)))
            .ok()
    });
    let started = Instant::now();
    let timed_out = engine.block_on(spec(
        "GET",
        &format!("http://{silent_addr}/"),
        "",
        Some(Duration::from_millis(300)),
    ));
    assert_eq!(timed_out.error, Some(HttpError::Timeout(Duration::from_millis(300))));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(timed_out.timings.total >= Duration::from_millis(300));
    drop(keep);
}

#[test]
fn cancelled_requests_are_not_drained() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let engine = Engine::new(&EngineConfig::default()).unwrap();
    let ticket = engine.submit(spec("GET", &format!("http://{addr}/"), "", None), 7usize);
    assert_eq!(engine.in_flight(), 1);
    assert_eq!(engine.cancel(ticket), Some(7));
    assert_eq!(engine.cancel(ticket), None);
    assert_eq!(engine.in_flight(), 0);
    assert!(!wait_readable(engine.fileno(), Duration::from_millis(200)));
    assert!(engine.drain().is_empty());
}

#[test]
fn redirects_are_followed_up_to_the_limit() {
    use std::io::{Read, Write};
    // a tiny server: /hop/N redirects to /hop/N-1; /hop/0 answers 200 "done"
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut conn = conn;
                let mut buffer = [0u8; 4096];
                while let Ok(read) = conn.read(&mut buffer) {
                    if read == 0 {
                        break;
                    }
                    let head = String::from_utf8_lossy(&buffer[..read]).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let hops: u32 = path.trim_start_matches("/hop/").parse().unwrap_or(0);
                    let reply = if hops == 0 {
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: 4\r\nx-method: {}\r\n\r\ndone",
                            &head[..4].trim()
                        )
                    } else {
                        format!(
                            "HTTP/1.1 303 See Other\r\nlocation: /hop/{}\r\ncontent-length: 0\r\n\r\n",
                            hops - 1
                        )
                    };
                    if conn.write_all(reply.as_bytes()).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let engine: Engine<usize> = Engine::new(&EngineConfig::default()).unwrap();
    let followed = engine.block_on(spec("POST", &format!("http://{addr}/hop/3"), "{}", None));
    assert_eq!(
        (followed.status, &followed.body[..]),
        (200, &b"done"[..]),
        "{followed:?}"
    );
    assert_eq!(followed.url, format!("http://{addr}/hop/0"));
    assert_eq!(followed.headers["x-method"], "GET");
    let too_many = engine.block_on(spec("GET", &format!("http://{addr}/hop/9"), "", None));
    assert_eq!(too_many.error, Some(HttpError::TooManyRedirects(5)));
    let not_followed =
        engine.block_on(RequestSpec::new("GET", &format!("http://{addr}/hop/1"), [], Bytes::new(), None, 0).unwrap());
    assert_eq!(not_followed.status, 303);
}

#[test]
fn deferred_requests_start_at_the_flush_and_can_be_cancelled_before_it() {
    let addr = start_target();
    // every request within an hour of the last start waits for a flush
    let engine = Engine::new(&EngineConfig {
        coalesce: Duration::from_secs(3600),
        ..EngineConfig::default()
    })
    .unwrap();
    let url = format!("http://{addr}/health");
    let submitted = Instant::now();
    let (first, starts_batch) = engine.submit_deferred(spec("GET", &url, "", None), 1usize);
    assert!(starts_batch);
    let (second, starts_batch) = engine.submit_deferred(spec("GET", &url, "", None), 2usize);
    assert!(!starts_batch);
    let (third, _) = engine.submit_deferred(spec("GET", &url, "", None), 3usize);
    assert!(second > first && third > second);
    // nothing runs before the flush
    assert!(!wait_readable(engine.fileno(), Duration::from_millis(300)));
    assert_eq!(engine.in_flight(), 3);
    assert_eq!(engine.cancel(second), Some(2));
    engine.flush();
    let outcomes = collect(&engine, 2);
    let wall = submitted.elapsed();
    // the wait for the flush is the request's `queued` time, and its response time starts after it
    for (token, outcome) in &outcomes {
        let timings = outcome.timings;
        assert!(timings.queued >= Duration::from_millis(300), "{token}: {timings:?}");
        assert!(
            timings.queued + timings.total <= wall,
            "{token}: {timings:?} in {wall:?}"
        );
    }
    let waits = engine.take_start_waits();
    assert_eq!(waits.requests, 2, "the cancelled request never started");
    assert!(waits.p50 >= Duration::from_millis(300), "{waits:?}");
    let mut done: Vec<(usize, u16)> = outcomes
        .into_iter()
        .map(|(token, outcome)| (token, outcome.status))
        .collect();
    done.sort_unstable();
    assert_eq!(done, [(1, 200), (3, 200)]);
    assert_eq!(engine.in_flight(), 0);
    // the next request starts a new batch
    assert!(engine.submit_deferred(spec("GET", &url, "", None), 4usize).1);
    engine.flush();
    assert_eq!(collect(&engine, 1)[0].0, 4);
    assert!(!wait_readable(engine.fileno(), Duration::from_millis(200)));
}

#[test]
fn a_request_to_a_quiet_engine_starts_at_once() {
    let addr = start_target();
    let engine = Engine::new(&EngineConfig {
        coalesce: Duration::ZERO,
        ..EngineConfig::default()
    })
    .unwrap();
    let url = format!("http://{addr}/health");
    for token in 0..3usize {
        // no flush needed: nothing else was started within the (zero) coalescing time
        let (_, needs_flush) = engine.submit_deferred(spec("GET", &url, "", None), token);
        assert!(!needs_flush);
        let done = collect(&engine, 1);
        assert_eq!((done[0].0, done[0].1.status), (token, 200));
    }
}

#[test]
fn bodies_in_every_framing_http_allows() {
    let (addr, _, _) = scripted_server(|line| {
        let answer: &[u8] = match line.split(' ').nth(1).unwrap_or_default() {
            "/chunked" => {
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            }
            "/early" => b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            "/empty" => b"HTTP/1.1 204 No Content\r\nX-Kind: none\r\n\r\n",
            "/head" => b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
            "/until-close" => return (b"HTTP/1.0 200 OK\r\n\r\nevery byte until the end".to_vec(), true),
            _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        };
        (answer.to_vec(), false)
    });
    let engine: Engine<usize> = Engine::new(&EngineConfig::default()).unwrap();
    let get = |method: &str, path: &str| engine.block_on(spec(method, &format!("http://{addr}{path}"), "", None));
    let chunked = get("GET", "/chunked");
    assert_eq!(
        (chunked.status, &chunked.body[..]),
        (200, &b"hello world"[..]),
        "{chunked:?}"
    );
    let early = get("GET", "/early");
    assert_eq!((early.status, &early.body[..]), (200, &b"ok"[..]), "{early:?}");
    let empty = get("GET", "/empty");
    assert_eq!((empty.status, empty.body.len()), (204, 0));
    assert_eq!(empty.headers["x-kind"], "none");
    let head = get("HEAD", "/head");
    assert_eq!((head.status, head.body.len(), head.error.clone()), (200, 0, None));
    let until_close = get("GET", "/until-close");
    assert_eq!(&until_close.body[..], b"every byte until the end");
    assert_eq!(get("GET", "/other").status, 404);
}

#[test]
fn a_pooled_connection_the_server_closed_is_replaced_not_reported() {
    // every answer says keep-alive, and the server closes the connection right after it anyway
    let (addr, accepted, _) = scripted_server(|_| {
        (
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            true,
        )
    });
    let engine: Engine<usize> = Engine::new(&EngineConfig::default()).unwrap();
    let url = format!("http://{addr}/");
    for pause in [0, 20, 300, 20] {
        // 20 ms: the client reuses the connection at once and finds out from the answer that never comes; 300 ms:
        // the client looks before it writes
        std::thread::sleep(Duration::from_millis(pause));
        let outcome = engine.block_on(spec("POST", &url, "{}", None));
        assert_eq!(
            (outcome.status, outcome.error.clone()),
            (200, None),
            "after {pause} ms: {outcome:?}"
        );
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 4);
}

/// Requests to `/hold` that the server has read and not yet answered: each is held until three are, so that a
/// burst of three is sure to be in flight at once, on three connections.
static HELD: AtomicUsize = AtomicUsize::new(0);

#[test]
fn connections_idle_past_the_timeout_are_closed_while_others_stay_busy() {
    let (addr, accepted, ended) = scripted_server(|line| {
        if line.contains("/hold") {
            HELD.fetch_add(1, Ordering::SeqCst);
            let deadline = Instant::now() + Duration::from_secs(30);
            while HELD.load(Ordering::SeqCst) < 3 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(), false)
    });
    let idle_timeout = Duration::from_millis(200);
    let engine: Engine<usize> = Engine::new(&EngineConfig {
        idle_timeout,
        ..EngineConfig::default()
    })
    .unwrap();
    let url = format!("http://{addr}/");
    // a burst of three held requests: three connections, then idle in the pool (none idle before it started)
    let burst = Instant::now();
    for token in 0..3 {
        engine.submit(spec("GET", &format!("{url}hold"), "", None), token);
    }
    assert!(collect(&engine, 3).iter().all(|(_, outcome)| outcome.status == 200));
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    // back-to-back traffic keeps the newest connection busy (its idle gaps are microseconds); the two below it go
    // past the timeout and are closed
    let deadline = burst + Duration::from_secs(30);
    while ended.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "the idle connections were not closed");
        assert_eq!(engine.block_on(spec("GET", &url, "", None)).status, 200);
    }
    assert!(
        burst.elapsed() >= idle_timeout,
        "closed before they were idle for the timeout"
    );
    assert_eq!(engine.block_on(spec("GET", &url, "", None)).status, 200);
    assert_eq!((accepted.load(Ordering::SeqCst), ended.load(Ordering::SeqCst)), (3, 2));
}

#[test]
fn broken_answers_are_errors() {
    let (addr, _, _) = scripted_server(|line| match line.split(' ').nth(1).unwrap_or_default() {
        "/short" => (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf".to_vec(), true),
        "/chunks" => (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX".to_vec(),
            false,
        ),
        _ => (b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec(), true),
    });
    let engine: Engine<usize> = Engine::new(&EngineConfig::default()).unwrap();
    let get = |path: &str| engine.block_on(spec("GET", &format!("http://{addr}{path}"), "", None));
    assert_eq!(
        get("/short").error,
        Some(HttpError::ConnectionReset(
            "connection closed before the response was complete".to_owned()
        ))
    );
    assert_eq!(
        get("/chunks").error,
        Some(HttpError::Protocol("invalid chunked body".to_owned()))
    );
    let garbage = get("/garbage").error.unwrap();
    assert_eq!(garbage.to_string(), "invalid response: invalid HTTP version");
}

#[test]
fn framing_is_strict_as_rfc_9112_asks() {
    let (addr, accepted, _) = scripted_server(|line| match line.split(' ').nth(1).unwrap_or_default() {
        "/two-lengths" => (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\nokok".to_vec(),
            false,
        ),
        "/length-and-chunked" => (
            b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n".to_vec(),
            false,
        ),
        "/huge-head" => {
            let mut answer = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
            answer.extend(std::iter::repeat_n(b'a', 1 << 20));
            answer.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nok");
            (answer, false)
        }
        _ => (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(), false),
    });
    let engine: Engine<usize> = Engine::new(&EngineConfig::default()).unwrap();
    let get = |path: &str| engine.block_on(spec("GET", &format!("http://{addr}{path}"), "", None));
    assert_eq!(
        get("/two-lengths").error,
        Some(HttpError::Protocol(
            "several content-length values that differ".to_owned()
        ))
    );
    // chunked framing wins; the connection is not used again (the next request opens a new one)
    let opened = accepted.load(Ordering::SeqCst);
    let outcome = get("/length-and-chunked");
    assert_eq!((outcome.status, &outcome.body[..]), (200, &b"ok"[..]));
    assert_eq!(get("/plain").status, 200);
    assert_eq!(accepted.load(Ordering::SeqCst), opened + 2);
    assert_eq!(
        get("/huge-head").error,
        Some(HttpError::Protocol("response head larger than 100 KiB".to_owned()))
    );
}

/// A server that reads a request's head, answers 413 at once and then either closes or holds the connection
/// without reading the body.
fn impatient_server(close: bool) -> SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut conn = conn;
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let answer =
                    b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!";
                let _ = conn.write_all(answer);
                if !close {
                    // holds the connection, reading nothing more, until the client goes away
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
                    std::thread::sleep(Duration::from_secs(30));
                }
            });
        }
    });
    addr
}

#[test]
fn a_final_answer_before_the_body_is_sent_is_that_answer() {
    let engine: Engine<usize> = Engine::new(&EngineConfig::default()).unwrap();
    let upload = "x".repeat(32 << 20);
    for close in [true, false] {
        let addr = impatient_server(close);
        let outcome = engine.block_on(spec(
            "POST",
            &format!("http://{addr}/upload"),
            &upload,
            Some(Duration::from_secs(20)),
        ));
        assert_eq!(
            (outcome.status, &outcome.body[..], &outcome.error),
            (413, &b"too big!"[..], &None),
            "close: {close}"
        );
    }
}

fn refuse_everything(_: &str) -> (Vec<u8>, bool) {
    (b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_vec(), true)
}

#[test]
fn each_proxy_has_its_own_connections_and_gets_absolute_targets() {
    let (target, direct_connections, _) = scripted_server(echo_request_line);
    let (proxy_a, a_connections, _) = scripted_server(echo_request_line);
    let (proxy_b, b_connections, _) = scripted_server(echo_request_line);
    let engine: Engine<usize> = Engine::new(&EngineConfig::default()).unwrap();
    let url = format!("http://{target}/path?q=1");
    let through = |proxy: Option<SocketAddr>| {
        let mut request = RequestSpec::new("GET", &url, [], Bytes::new(), None, 0).unwrap();
        request.pool = 7; // one pool id for all: the proxy alone must keep their connections apart
        request.proxy = proxy.map(|addr| Arc::from(addr.to_string()));
        let outcome = engine.block_on(request);
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
        String::from_utf8(outcome.body.to_vec()).unwrap()
    };
    for _ in 0..2 {
        assert_eq!(through(None), "GET /path?q=1 HTTP/1.1");
        assert_eq!(through(Some(proxy_a)), format!("GET {url} HTTP/1.1"));
        assert_eq!(through(Some(proxy_b)), format!("GET {url} HTTP/1.1"));
    }
    // each kept alive and reused for its own requests only
    for connections in [direct_connections, a_connections, b_connections] {
        assert_eq!(connections.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn a_proxy_that_refuses_connect_is_an_error_naming_it() {
    let (proxy, connections, _) = scripted_server(refuse_everything);
    let engine: Engine<usize> = Engine::new(&EngineConfig::default()).unwrap();
    let mut request = RequestSpec::new("GET", "https://127.0.0.1:9/", [], Bytes::new(), None, 0).unwrap();
    request.proxy = Some(Arc::from(proxy.to_string()));
    let outcome = engine.block_on(request);
    assert_eq!(
        outcome.error,
        Some(HttpError::Proxy(format!(
            "proxy {proxy} refused CONNECT to 127.0.0.1:9: 403 Forbidden"
        )))
    );
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

/// Answers a moment after the request, as a service that takes its time.
fn answer_after_20_ms(line: &str) -> (Vec<u8>, bool) {
    std::thread::sleep(Duration::from_millis(20));
    echo_request_line(line)
}

#[test]
fn an_answer_is_timed_to_its_arrival_not_to_the_read_of_it() {
    use std::future::Future as _;
    use std::task::Poll;

    let (addr, _, _) = scripted_server(answer_after_20_ms);
    let runtime = current_thread();
    runtime.block_on(async {
        let pool = _native::http::h1::Pool::new(
            _native::http::tls::unverified(),
            Duration::from_secs(5),
            Duration::from_secs(90),
        );
        let uri: hyper::Uri = format!("http://{addr}/late").parse().unwrap();
        let (headers, body) = (hyper::HeaderMap::new(), Bytes::new());
        // a first request opens the connection, so that the second one is written in its first poll
        let warm = pool.send(&hyper::Method::GET, &uri, &headers, &body).await.unwrap();
        assert_eq!(warm.status, 200);
        let sent = Instant::now();
        let mut send = std::pin::pin!(pool.send(&hyper::Method::GET, &uri, &headers, &body));
        let first = std::future::poll_fn(|cx| Poll::Ready(send.as_mut().poll(cx).is_pending())).await;
        assert!(first, "answered in the first poll, before the server's 20 ms");
        // this thread (the runtime's only one) is busy while the answer arrives
        std::thread::sleep(Duration::from_secs(1));
        let response = send.await.unwrap();
        assert_eq!(response.body, "GET /late HTTP/1.1");
        let (head, done) = (response.head_at - sent, response.done_at - sent);
        assert!(
            done >= Duration::from_millis(20),
            "done {done:?} before the server answered"
        );
        assert!(
            done < Duration::from_millis(800),
            "timed to the read ({done:?}), not to the arrival"
        );
        assert!(head <= done, "head {head:?} after the last byte {done:?}");
    });
}

#[test]
fn a_pool_without_answer_headers_reads_the_same_answers_and_keeps_their_connections() {
    use _native::http::{h1::Pool, tls};
    use hyper::{HeaderMap, Method, Uri};

    let (addr, accepted, _) = scripted_server(echo_request_line);
    let runtime = current_thread();
    runtime.block_on(async {
        let pool = || Pool::new(tls::unverified(), Duration::from_secs(10), Duration::from_secs(90));
        let (with, without) = (pool(), pool().without_answer_headers());
        let (none, empty) = (HeaderMap::new(), Bytes::new());
        for path in ["/a", "/b"] {
            let uri: Uri = format!("http://{addr}{path}").parse().unwrap();
            let kept = with.send(&Method::GET, &uri, &none, &empty).await.unwrap();
            let left = without.send(&Method::GET, &uri, &none, &empty).await.unwrap();
            let line = format!("GET {path} HTTP/1.1");
            assert_eq!((kept.status, kept.body.as_ref()), (200, line.as_bytes()));
            assert_eq!((left.status, left.body.as_ref()), (200, line.as_bytes()));
            assert_eq!(kept.headers.get("content-length").unwrap(), &line.len().to_string());
            assert!(left.headers.is_empty(), "{:?}", left.headers);
        }
    });
    // the answers' framing came from their heads all the same: each pool kept its one connection
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}
