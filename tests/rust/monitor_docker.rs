//! The Docker source against a small HTTP/1.1 server on a unix socket that replays recorded Engine API answers
//! (`tests/rust/data/docker/`): a stats stream captured from Docker 20.10 (cgroup v1), frame by frame, and the
//! API reference's example answer. `tests/python/test_docker_monitor.py` checks the source against a real engine.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use _native::monitor::{docker_row, unix_nanos, Dechunker, DockerStats, Monitor, MonitorConfig, PidSource};

const RECORDED: &str = include_str!("data/docker/stats-v1.44-example.json");
const NOT_FOUND: &str = r#"{"message": "No such container: c2ada9df5af8"}"#;
/// `curl --raw -D` of `GET /containers/{id}/stats?stream=true` on Docker 20.10.24 (Debian 12, cgroup v1, two
/// CPUs): the head, then one chunk per frame — six of a running container, two while it was stopped
/// (`docker stop`), one after `docker start`.
const STREAM: &[u8] = include_bytes!("data/docker/stats-stream-20.10-cgroupv1.http");

/// The recorded stream's head and its chunks, each chunk with its framing.
fn stream_parts() -> (&'static [u8], Vec<&'static [u8]>) {
    let head_end = STREAM.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut chunks = Vec::new();
    let mut rest = &STREAM[head_end..];
    while !rest.is_empty() {
        let line = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..line]).unwrap(), 16).unwrap();
        let end = line + 2 + size + 2;
        chunks.push(&rest[..end]);
        rest = &rest[end..];
    }
    (&STREAM[..head_end], chunks)
}

/// The recorded frames, decoded from the chunked body undone in pieces of every size from 1 to 97 bytes.
fn recorded_frames() -> Vec<DockerStats> {
    let (head, _) = stream_parts();
    let body = &STREAM[head.len()..];
    let mut reference = None;
    for piece in 1..98 {
        let mut dechunker = Dechunker::default();
        let mut out = Vec::new();
        for part in body.chunks(piece) {
            dechunker.push(part, &mut out).unwrap();
        }
        assert!(reference.as_ref().is_none_or(|r| *r == out), "pieces of {piece}");
        reference = Some(out);
    }
    let text = String::from_utf8(reference.unwrap()).unwrap();
    text.lines()
        .map(|line| DockerStats::decode(line.as_bytes()).unwrap())
        .collect()
}

/// `docker stats`' figure for a frame (`cli/command/container/stats_helpers.go`): against its own `precpu_stats`.
#[allow(clippy::cast_precision_loss)]
fn docker_stats_cpu(frame: &DockerStats) -> f64 {
    let cpu = frame.cpu_total_ns.unwrap() as f64 - frame.precpu_total_ns.unwrap() as f64;
    let system = frame.system_cpu_ns.unwrap() as f64 - frame.presystem_cpu_ns.unwrap() as f64;
    cpu / system * frame.online_cpus.unwrap() as f64 * 100.0
}

/// Serves `/containers/api/stats?stream=true` as the daemon does: the recorded head, then one recorded chunk every
/// `every`, the connection held open after the last; a 404 for any other container. Runs until the socket file is
/// removed; returns the request lines it saw.
fn fake_docker(socket: &Path, every: Duration) -> Arc<Mutex<Vec<String>>> {
    let listener = UnixListener::bind(socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let path = socket.to_owned();
    std::thread::spawn(move || {
        // bounded: the tests below take a few seconds
        for _ in 0..30_000 {
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
            if request_line.starts_with("GET /containers/api/stats?") {
                let path = path.clone();
                std::thread::spawn(move || {
                    let (head, chunks) = stream_parts();
                    let _ = stream.write_all(head);
                    for chunk in chunks {
                        let _ = stream.write_all(chunk);
                        std::thread::sleep(every);
                    }
                    // bounded as the server is
                    for _ in 0..1500 {
                        if !path.exists() {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                });
            } else {
                let answer = format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{NOT_FOUND}",
                    NOT_FOUND.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            }
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
#[allow(clippy::cast_precision_loss)]
fn recorded_stream_gives_docker_stats_figures() {
    let frames = recorded_frames();
    let running: Vec<bool> = frames.iter().map(DockerStats::running).collect();
    assert_eq!(running, [true, true, true, true, true, true, false, false, true]);
    // the first frame of a stream has no precpu_stats: no CPU % yet (docker stats shows none either)
    assert_eq!(docker_row(&frames[0], None)[0], None);
    for k in 1..6 {
        // each frame paired with the one before it (what a 1 s tick does) gives docker stats' figure exactly
        let expected = docker_stats_cpu(&frames[k]);
        let paired = docker_row(&frames[k], Some(&frames[k - 1]))[0].unwrap();
        assert!((paired - expected).abs() < 1e-9, "frame {k}: {paired} vs {expected}");
        assert_eq!(docker_row(&frames[k], None)[0], Some(paired));
        assert!((10.0..40.0).contains(&paired), "frame {k}: {paired}");
    }
    // a frame a tick did not see: the next row covers both seconds, its CPU between theirs
    let over_two = docker_row(&frames[3], Some(&frames[1]))[0].unwrap();
    let (two, three) = (docker_stats_cpu(&frames[2]), docker_stats_cpu(&frames[3]));
    assert!(
        over_two >= two.min(three) && over_two <= two.max(three),
        "{over_two} {two} {three}"
    );
    // cgroup v1 memory: usage less total_inactive_file
    let json: serde_json::Value = {
        let (head, chunks) = stream_parts();
        let chunk = chunks[1];
        let start = chunk.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
        let _ = head;
        serde_json::from_slice(&chunk[start..chunk.len() - 2]).unwrap()
    };
    let memory = &json["memory_stats"];
    let expected = memory["usage"].as_u64().unwrap() - memory["stats"]["total_inactive_file"].as_u64().unwrap();
    assert_eq!(frames[1].memory_bytes, Some(expected));
    // rates over the daemon's read times (about 1.003 s apart); no network (the container had none), blkio flat
    let row = docker_row(&frames[2], Some(&frames[1]));
    let gap = unix_nanos(&frames[2].read).unwrap() - unix_nanos(&frames[1].read).unwrap();
    assert!((1_000_000_000..1_100_000_000).contains(&gap), "{gap}");
    assert_eq!((row[3], row[4], row[5], row[6]), (None, None, Some(0.0), Some(0.0)));
    // restarted: its counters began again, so no CPU % across the stop; memory at once
    let restarted = docker_row(&frames[8], Some(&frames[5]));
    assert_eq!(restarted[0], None);
    assert_eq!(restarted[1], frames[8].memory_bytes.map(|n| n as f64));
}

#[test]
#[allow(clippy::cast_precision_loss)]
fn a_followed_stream_with_a_stop_and_a_missing_container_noted() {
    let dir = temp_dir("socket");
    let socket = dir.join("docker.sock");
    let seen = fake_docker(&socket, Duration::from_millis(250));
    let frames = recorded_frames();
    let monitor = Monitor::start(MonitorConfig {
        interval: Duration::from_millis(100),
        containers: vec!["api".to_owned(), "gone".to_owned()],
        pids: vec![PidSource {
            pid: std::process::id(),
            name: Some("self".to_owned()),
        }],
        docker_host: Some(format!("unix://{}", socket.display())),
        csv: Some(dir.join("r_resources.csv")),
        ..MonitorConfig::default()
    })
    .unwrap();
    let memory = column(&monitor, "container:api memory_bytes");
    let restarted = frames[8].memory_bytes.map(|n| n as f64);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while monitor.latest().and_then(|row| row.values[memory]) != restarted {
        assert!(
            std::time::Instant::now() < deadline,
            "the restarted container's frame never sampled"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let notes: Vec<String> = monitor.take_notes().into_iter().map(|note| note.text).collect();
    let api: Vec<&String> = notes.iter().filter(|n| n.starts_with("container:api:")).collect();
    assert_eq!(api.len(), 2, "{notes:?}");
    assert!(api[0].contains("the container is not running"), "{notes:?}");
    assert!(api[1].ends_with("sampling again"), "{notes:?}");
    let gone: Vec<&String> = notes.iter().filter(|n| n.starts_with("container:gone:")).collect();
    assert!(gone.len() == 1 && gone[0].contains("no such container"), "{notes:?}");
    let summary = monitor.stop().unwrap();
    let requests = seen.lock().unwrap().clone();
    assert!(requests.iter().all(|r| r.contains("stats?stream=true")), "{requests:?}");
    // one stream for api, however many ticks
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.starts_with("GET /containers/api/"))
            .count(),
        1,
        "{requests:?}"
    );

    let csv = std::fs::read_to_string(dir.join("r_resources.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let (cpu_at, memory_at, pid_at) = (
        at("container:api cpu_pct"),
        at("container:api memory_bytes"),
        at("self rss_bytes"),
    );
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    assert_eq!(rows.len() as u64, summary.samples);
    // every CPU figure is one of the recorded frames' over the frames between two rows
    let pairs: Vec<(usize, usize, f64)> = (0..6)
        .flat_map(|i| (i + 1..6).map(move |j| (i, j)))
        .map(|(i, j)| (i, j, docker_row(&frames[j], Some(&frames[i]))[0].unwrap()))
        .collect();
    let mut per_frame = std::collections::BTreeSet::new();
    for row in &rows {
        let Ok(cpu) = row[cpu_at].parse::<f64>() else { continue };
        let &(i, j, _) = pairs
            .iter()
            .find(|(_, _, pct)| (pct - cpu).abs() < 0.0006)
            .unwrap_or_else(|| panic!("{cpu} is no pair's figure: {pairs:?}"));
        if j == i + 1 {
            per_frame.insert(j);
        }
    }
    assert!(
        per_frame.len() >= 3,
        "docker stats' own figures seen for frames {per_frame:?}"
    );
    // the stopped container's rows are empty, the process source's are not
    let stopped: Vec<&Vec<&str>> = rows.iter().filter(|row| row[memory_at].is_empty()).collect();
    assert!(
        !stopped.is_empty()
            && stopped
                .iter()
                .all(|row| row[cpu_at].is_empty() && !row[pid_at].is_empty())
    );
    let last = rows.last().unwrap();
    assert_eq!((last[cpu_at], last[memory_at].parse::<f64>().ok()), ("", restarted));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_absent_socket_is_said_once_and_other_sources_go_on() {
    let dir = temp_dir("absent");
    let monitor = Monitor::start(MonitorConfig {
        interval: Duration::from_millis(50),
        containers: vec!["api".to_owned()],
        pids: vec![PidSource {
            pid: std::process::id(),
            name: Some("self".to_owned()),
        }],
        docker_host: Some(format!("unix://{}", dir.join("no-docker.sock").display())),
        ..MonitorConfig::default()
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let latest = monitor.latest().unwrap();
    assert_eq!(latest.values[column(&monitor, "container:api cpu_pct")], None);
    assert!(latest.values[column(&monitor, "self rss_bytes")].unwrap() > 0.0);
    let notes = monitor.take_notes();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].text.contains("no Docker socket"), "{notes:?}");
    monitor.stop().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
