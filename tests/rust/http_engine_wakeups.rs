//! How often the engine's thread writes to an eventfd per request, as the kernel counts it: `syscw` of
//! /proc/self/task/<tid>/io counts write(2) and its kin, and sockets are written with sendto(2), which it does not
//! count, so what it counts is the engine's eventfd writes (the completions' `Wakeup`, tokio's own waker). A test
//! binary of its own: the engine's thread is then the only one named pushpop-http in the process.

use std::time::{Duration, Instant};

use _native::http::{Engine, EngineConfig, RequestSpec};
use bytes::Bytes;

#[path = "http_servers.rs"]
mod servers;
use servers::{collect, echo_request_line, scripted_server};

/// The write syscalls so far of the thread named `name` (the only one).
fn writes_of(name: &str) -> u64 {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let path = task.path();
        if std::fs::read_to_string(path.join("comm"))
            .unwrap_or_default()
            .trim_end()
            == name
        {
            let io = std::fs::read_to_string(path.join("io")).unwrap();
            let syscw = io.lines().find_map(|line| line.strip_prefix("syscw: ")).unwrap();
            found.push(syscw.trim().parse::<u64>().unwrap());
        }
    }
    assert_eq!(found.len(), 1, "threads named {name}: {found:?}");
    found[0]
}

/// Runs one request to the end: submitted, its completion signalled on the eventfd and drained.
fn one_request(engine: &Engine<usize>, url: &str) {
    let spec = RequestSpec::new(
        "GET",
        url,
        [("accept", "*/*")],
        Bytes::new(),
        Some(Duration::from_secs(60)),
        0,
    );
    engine.submit(spec.unwrap(), 0);
    let outcome = &collect(engine, 1)[0].1;
    assert_eq!(outcome.status, 200, "{outcome:?}");
}

#[test]
fn a_request_costs_the_engines_thread_one_eventfd_write() {
    let url = format!("http://{}/", scripted_server(echo_request_line).0);
    let engine = Engine::new(&EngineConfig::default()).unwrap();
    one_request(&engine, &url); // the connection made
    let before = writes_of("pushpop-http");
    let started = Instant::now();
    let count = 300;
    for _ in 0..count {
        one_request(&engine, &url);
    }
    let written = writes_of("pushpop-http") - before;
    // Each request here ends before the next is submitted, so each completion is a drain cycle of its own and is
    // told once. The runtime runs dry between two requests: without a timer pending, tokio's time driver also woke
    // its own thread for each request's 60 s timeout (twice this count). Its one-second timer re-arms once a
    // second.
    let seconds = started.elapsed().as_secs();
    assert!(
        (count..=count + count / 20 + seconds + 2).contains(&written),
        "{written} writes for {count} requests in {seconds} s"
    );
}
