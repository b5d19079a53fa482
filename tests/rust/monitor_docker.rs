//! The Docker source against a small HTTP/1.1 server on a unix socket that replays a recorded Engine API answer
//! (`tests/rust/data/docker/`), since no Docker engine runs here.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use _native::monitor::{DockerStats, Monitor, MonitorConfig};

const RECORDED: &str = include_str!("data/docker/stats-v1.44-example.json");
const NOT_FOUND: &str = r#"{"message": "No such container: c2ada9df5af8"}"#;

/// Serves `/containers/api/stats` (chunked, as the daemon does) and 404 for anything else, until the socket file is
/// removed; returns the request lines it saw.
fn fake_docker(socket: &Path) -> Arc<Mutex<Vec<String>>> {
    let listener = UnixListener::bind(socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let path = socket.to_owned();
    std::thread::spawn(move || {
        // bounded: the tests below take a few seconds
        for _ in 0..20_000 {
            if !path.exists() {
                return;
            }
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            };
            stream.set_nonblocking(false).unwrap();
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut header = String::new();
            while reader.read_line(&mut header).unwrap() > 2 {
                header.clear();
            }
            log.lock().unwrap().push(request_line.trim().to_owned());
            let mut stream = reader.into_inner();
            let answer = if request_line.starts_with("GET /containers/api/stats?") {
                let mut body = String::new();
                for part in RECORDED.as_bytes().chunks(1000) {
                    let _ = write!(body, "{:x}\r\n{}\r\n", part.len(), std::str::from_utf8(part).unwrap());
                }
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{body}0\r\n\r\n"
                )
            } else {
                format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{NOT_FOUND}",
                    NOT_FOUND.len()
                )
            };
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    seen
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pushpop-docker-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn column(monitor: &Monitor, name: &str) -> usize {
    monitor
        .columns()
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("{name} in {:?}", monitor.columns()))
}

#[test]
fn recorded_answer_decodes_as_docker_stats_shows_it() {
    let stats = DockerStats::decode(RECORDED.as_bytes()).unwrap();
    assert!(stats.running());
    // cgroup v1: usage less total_inactive_file (0 in this answer)
    assert_eq!(
        (stats.memory_bytes, stats.memory_limit_bytes),
        (Some(6_537_216), Some(67_108_864))
    );
    assert_eq!((stats.rx_bytes, stats.tx_bytes), (Some(5338 + 4641), Some(648 + 690)));
    assert_eq!((stats.read_bytes, stats.write_bytes), (None, None), "empty blkio_stats");
    // docker stats' formula against the answer's own precpu_stats
    let expected = (100_215_355.0 - 100_093_996.0) / (739_306_590_000_000.0 - 9_492_140_000_000.0) * 4.0 * 100.0;
    let pct = stats.cpu_pct(None).unwrap();
    assert!((pct - expected).abs() < 1e-15, "{pct} vs {expected}");
}

#[test]
fn containers_over_the_socket_with_a_missing_one_noted_once() {
    let dir = temp_dir("socket");
    let socket = dir.join("docker.sock");
    let seen = fake_docker(&socket);
    let monitor = Monitor::start(MonitorConfig {
        interval: Duration::from_millis(100),
        containers: vec!["api".to_owned(), "gone".to_owned()],
        docker_host: Some(format!("unix://{}", socket.display())),
        csv: Some(dir.join("r_resources.csv")),
        ..MonitorConfig::default()
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(650));
    let latest = monitor.latest().unwrap();
    assert_eq!(
        latest.values[column(&monitor, "container:api memory_bytes")],
        Some(6_537_216.0)
    );
    assert_eq!(
        latest.values[column(&monitor, "container:api memory_limit_bytes")],
        Some(67_108_864.0)
    );
    // the same answer replayed: the network counters did not move
    assert_eq!(
        latest.values[column(&monitor, "container:api rx_bytes_per_s")],
        Some(0.0)
    );
    assert_eq!(latest.values[column(&monitor, "container:gone memory_bytes")], None);
    let notes = monitor.take_notes();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].text.contains("container:gone") && notes[0].text.contains("no such container"),
        "{notes:?}"
    );
    let summary = monitor.stop().unwrap();
    assert!(summary.samples >= 4, "{}", summary.samples);
    let requests = seen.lock().unwrap().clone();
    assert!(
        requests.iter().all(|r| r.contains("stream=false&one-shot=true")),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|r| r.starts_with("GET /containers/gone/stats")),
        "{requests:?}"
    );
    let csv = std::fs::read_to_string(dir.join("r_resources.csv")).unwrap();
    let last = csv.lines().last().unwrap();
    assert!(last.contains(",6537216,67108864,"), "{last}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_absent_socket_is_said_once_and_other_sources_go_on() {
    let dir = temp_dir("absent");
    let monitor = Monitor::start(MonitorConfig {
        interval: Duration::from_millis(50),
        containers: vec!["api".to_owned()],
        pids: vec![std::process::id()],
        docker_host: Some(format!("unix://{}", dir.join("no-docker.sock").display())),
        ..MonitorConfig::default()
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let latest = monitor.latest().unwrap();
    assert_eq!(latest.values[column(&monitor, "container:api cpu_pct")], None);
    assert!(latest.values[column(&monitor, &format!("pid:{} rss_bytes", std::process::id()))].unwrap() > 0.0);
    let notes = monitor.take_notes();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].text.contains("no Docker socket"), "{notes:?}");
    monitor.stop().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
