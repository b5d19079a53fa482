//! The HTTP engine against real servers on loopback: the reference target, a closed port, a silent server.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use _native::http::{Engine, EngineConfig, HttpError, Outcome, RequestSpec};
use _native::target::{StoreSpec, TargetConfig};
use bytes::Bytes;

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
            let running = _native::target::serve(&config).await.unwrap();
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

fn wait_readable(fd: i32, timeout: Duration) -> bool {
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
fn collect(engine: &Engine<usize>, count: usize) -> Vec<(usize, Outcome)> {
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
    let engine = Engine::new(&EngineConfig::default()).unwrap();
    let url = format!("http://{addr}/health");
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
    let mut done: Vec<(usize, u16)> = collect(&engine, 2)
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
