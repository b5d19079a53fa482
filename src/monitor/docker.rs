//! Containers through the Docker Engine API on its unix socket, figures computed as `docker stats` computes them,
//! from the daemon's stats stream (`docker_stream.rs` says why a stream): each tick takes the latest frame and
//! pairs it with the frame the previous row was computed from.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;

use super::docker_stream::{follow, new_feed, Feed, FeedState};
use super::sample::{Presence, SourceInfo};

pub(super) const METRICS: &[&str] = &[
    "cpu_pct",
    "memory_bytes",
    "memory_limit_bytes",
    "rx_bytes_per_s",
    "tx_bytes_per_s",
    "read_bytes_per_s",
    "write_bytes_per_s",
];

/// A stats answer is a few KiB; more than this is not one.
pub const MAX_RESPONSE: usize = 4 << 20;

/// The Docker socket: `DOCKER_HOST=unix://…` when set, else `/var/run/docker.sock`. A `DOCKER_HOST` of another
/// scheme (tcp, ssh) is not supported: the reason is returned instead.
pub fn socket_path(docker_host: Option<&str>) -> Result<PathBuf, String> {
    match docker_host.map(str::trim).filter(|host| !host.is_empty()) {
        None => Ok(PathBuf::from("/var/run/docker.sock")),
        Some(host) => host.strip_prefix("unix://").map(PathBuf::from).ok_or_else(|| {
            // a tcp:// or ssh:// host may carry credentials: never echoed
            let host = crate::common::redact_url(host);
            format!("DOCKER_HOST={host} is not a unix:// socket (the only kind the monitor reads)")
        }),
    }
}

/// The figures of one stats answer that `docker stats` uses, as counters (rates come from two of them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DockerStats {
    /// Empty, or `0001-01-01T00:00:00Z`, when the container is not running.
    pub read: String,
    pub cpu_total_ns: Option<u64>,
    pub system_cpu_ns: Option<u64>,
    pub online_cpus: Option<u64>,
    pub precpu_total_ns: Option<u64>,
    pub presystem_cpu_ns: Option<u64>,
    /// Memory in use less the inactive page cache, as `docker stats` shows it.
    pub memory_bytes: Option<u64>,
    pub memory_limit_bytes: Option<u64>,
    /// Summed over the container's networks.
    pub rx_bytes: Option<u64>,
    pub tx_bytes: Option<u64>,
    /// Summed over devices, from `blkio_stats.io_service_bytes_recursive`.
    pub read_bytes: Option<u64>,
    pub write_bytes: Option<u64>,
}

fn number(value: &Value, path: &[&str]) -> Option<u64> {
    let mut node = value;
    for key in path {
        node = node.get(key)?;
    }
    node.as_u64().or_else(|| {
        // old daemons wrote some counters as floats (3.0881377e+14)
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        node.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)
    })
}

/// A sum of counters that stops at `u64::MAX`: a daemon's (or an impostor's) numbers must not overflow it.
fn saturating_sum(values: impl Iterator<Item = u64>) -> u64 {
    values.fold(0, u64::saturating_add)
}

impl DockerStats {
    /// Decodes a stats answer (cgroup v1 or v2 daemon); fields it lacks stay `None`.
    pub fn decode(body: &[u8]) -> Result<Self, String> {
        let value: Value = serde_json::from_slice(body).map_err(|err| format!("not a stats answer: {err}"))?;
        if !value.is_object() {
            return Err("not a stats answer: not a JSON object".to_owned());
        }
        let usage = number(&value, &["memory_stats", "usage"]);
        // docker stats (cli/command/container/stats_helpers.go): usage less total_inactive_file (cgroup v1) or
        // inactive_file (cgroup v2), when that is smaller than usage
        let inactive = number(&value, &["memory_stats", "stats", "total_inactive_file"])
            .or_else(|| number(&value, &["memory_stats", "stats", "inactive_file"]));
        let memory_bytes = usage.map(|usage| match inactive {
            Some(inactive) if inactive < usage => usage - inactive,
            _ => usage,
        });
        let online_cpus = number(&value, &["cpu_stats", "online_cpus"])
            .filter(|n| *n > 0)
            .or_else(|| {
                value
                    .pointer("/cpu_stats/cpu_usage/percpu_usage")
                    .and_then(Value::as_array)
                    .map(|cpus| cpus.len() as u64)
                    .filter(|n| *n > 0)
            });
        let networks = value.get("networks").and_then(Value::as_object);
        let network_sum =
            |key: &str| networks.map(|all| saturating_sum(all.values().filter_map(|net| number(net, &[key]))));
        let blkio = value
            .pointer("/blkio_stats/io_service_bytes_recursive")
            .and_then(Value::as_array);
        let blkio_sum = |op: &str| {
            blkio.map(|entries| {
                let values = entries
                    .iter()
                    .filter(|entry| {
                        entry
                            .get("op")
                            .and_then(Value::as_str)
                            .is_some_and(|o| o.eq_ignore_ascii_case(op))
                    })
                    .filter_map(|entry| number(entry, &["value"]));
                saturating_sum(values)
            })
        };
        Ok(Self {
            read: value.get("read").and_then(Value::as_str).unwrap_or_default().to_owned(),
            cpu_total_ns: number(&value, &["cpu_stats", "cpu_usage", "total_usage"]),
            system_cpu_ns: number(&value, &["cpu_stats", "system_cpu_usage"]),
            online_cpus,
            precpu_total_ns: number(&value, &["precpu_stats", "cpu_usage", "total_usage"]),
            presystem_cpu_ns: number(&value, &["precpu_stats", "system_cpu_usage"]),
            memory_bytes,
            memory_limit_bytes: number(&value, &["memory_stats", "limit"]),
            rx_bytes: network_sum("rx_bytes"),
            tx_bytes: network_sum("tx_bytes"),
            read_bytes: blkio_sum("read"),
            write_bytes: blkio_sum("write"),
        })
    }

    /// A stopped container still answers, with a zero `read` time.
    #[must_use]
    pub fn running(&self) -> bool {
        !self.read.is_empty() && !self.read.starts_with("0001-01-01")
    }

    /// `docker stats`' CPU %: the container's CPU time over the host's, times the CPUs, so 100 is one core.
    /// Against `previous` (this monitor's last reading) when given, else against the answer's own `precpu_stats`.
    #[must_use]
    pub fn cpu_pct(&self, previous: Option<&Self>) -> Option<f64> {
        let (pre_total, pre_system) = match previous {
            Some(previous) => (previous.cpu_total_ns?, previous.system_cpu_ns?),
            None => (self.precpu_total_ns?, self.presystem_cpu_ns.filter(|n| *n > 0)?),
        };
        let cpu_delta = self.cpu_total_ns?.checked_sub(pre_total)?;
        let system_delta = self.system_cpu_ns?.checked_sub(pre_system)?;
        if system_delta == 0 {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        let pct = cpu_delta as f64 / system_delta as f64 * self.online_cpus? as f64 * 100.0;
        Some(pct)
    }
}

/// What one GET gave: the status and the (de-chunked) body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::with_capacity(data.len());
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunked body")?;
        let size_text = std::str::from_utf8(&data[..line_end]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| {
            // quoted and cut: the reason becomes a one-line note
            let shown: String = size_text.chars().take(20).collect();
            format!("bad chunk size {shown:?}")
        })?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        // a size near usize::MAX is a lie, not an overflow
        if size.checked_add(2).is_none_or(|needed| data.len() < needed) {
            return Err("truncated chunked body".to_owned());
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Parses a whole HTTP/1.1 answer read to the end of the connection.
pub fn parse_answer(raw: &[u8]) -> Result<Answer, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let body_start = match response.parse(raw) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Err("truncated HTTP answer".to_owned()),
        Err(err) => return Err(format!("not an HTTP answer: {err}")),
    };
    let status = response.code.unwrap_or_default();
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    let rest = &raw[body_start..];
    let body = if header("transfer-encoding").is_some_and(|te| te.contains("chunked")) {
        dechunk(rest)?
    } else if let Some(length) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        rest.get(..length).ok_or("truncated HTTP body")?.to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Answer { status, body })
}

/// Percent-encodes what may not stand in a path segment (container names are `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, ids
/// hex, so this is only for safety).
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Nanoseconds since the Unix epoch of a time as the daemon writes `read` (RFC 3339 in UTC:
/// `2026-12-06T21:00:39.689562491Z`, 0 to 9 fraction digits); `None` for anything else.
#[must_use]
pub fn unix_nanos(text: &str) -> Option<i128> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut clock = clock.splitn(3, ':').map(str::parse::<i64>);
    let (hour, minute, second) = (clock.next()?.ok()?, clock.next()?.ok()?, clock.next()?.ok()?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: i128 = format!("{fraction:0<9}").parse().ok()?;
    // days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = i128::from(days * 86_400 + hour * 3600 + minute * 60 + second);
    Some(seconds * 1_000_000_000 + nanos)
}

/// A frame older than this is not the container's present: the daemon writes one a second, so five missed
/// mean it is stuck (the cells stay empty, with a note, until frames come again).
const STALE: Duration = Duration::from_secs(5);

pub struct DockerSource {
    info: SourceInfo,
    target: String,
    socket: Result<PathBuf, String>,
    feed: Feed,
    follower: Option<JoinHandle<()>>,
    /// The frame the last row was computed up to, its number, and that row.
    used: Option<(u64, DockerStats, Vec<Option<f64>>)>,
    presence: Presence,
}

impl DockerSource {
    /// Never fails: a missing socket or container is a note and empty cells, and sampling goes on in case it
    /// comes (back).
    #[must_use]
    pub fn new(container: &str, socket: Result<PathBuf, String>) -> Self {
        Self {
            info: SourceInfo {
                kind: "container",
                label: format!("container:{container}"),
                metrics: METRICS.to_vec(),
            },
            target: format!("/containers/{}/stats?stream=true", path_segment(container)),
            socket,
            feed: new_feed(),
            follower: None,
            used: None,
            // the first tick says what is wrong, if anything
            presence: Presence::Up,
        }
    }

    #[must_use]
    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// Starts following the container's stream on the current Tokio runtime (the monitor's), so that a frame is
    /// there by the first tick.
    pub fn begin(&mut self) {
        if self.follower.is_none() {
            let follower = follow(self.socket.clone(), self.target.clone(), self.feed.clone());
            self.follower = Some(tokio::spawn(follower));
        }
    }

    /// The row for this tick, from the latest frame; never waits for the daemon.
    pub fn sample(&mut self, notes: &mut Vec<String>) -> Vec<Option<f64>> {
        self.begin();
        let state = self
            .feed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let label = &self.info.label;
        let (stats, seq) = match state {
            // the first frame is on its way: a gap, but nothing to say yet
            FeedState::Connecting(since) if since.elapsed() < STALE => return vec![None; METRICS.len()],
            FeedState::Frame { stats, seq, received } if received.elapsed() < STALE => (stats, seq),
            state => {
                let reason = match state {
                    FeedState::Failed(reason) => reason,
                    _ => format!("no stats from the Docker daemon for {} s", STALE.as_secs()),
                };
                self.presence.set(
                    false,
                    notes,
                    || format!("{label}: {reason}; its cells stay empty until it answers"),
                    String::new,
                );
                self.used = None;
                return vec![None; METRICS.len()];
            }
        };
        self.presence
            .set(true, notes, String::new, || format!("{label}: sampling again"));
        if let Some((used_seq, _, row)) = &self.used {
            if *used_seq == seq {
                // ticks closer than the daemon's second: the row of the last frame again
                return row.clone();
            }
        }
        let row = row(&stats, self.used.as_ref().map(|(_, previous, _)| previous));
        self.used = Some((seq, *stats, row.clone()));
        row
    }
}

impl Drop for DockerSource {
    fn drop(&mut self) {
        if let Some(follower) = self.follower.take() {
            follower.abort();
        }
    }
}

/// A row from a frame and the frame the previous row came from. CPU % is over the frames between them (the
/// frame's own `precpu_stats`, which is `docker stats`' figure, when there is no previous one); rates are over
/// the daemon's read times of the two.
#[must_use]
pub fn row(stats: &DockerStats, previous: Option<&DockerStats>) -> Vec<Option<f64>> {
    // a restarted container starts its counters again: no figure across that
    let previous = previous.filter(|p| p.cpu_total_ns <= stats.cpu_total_ns);
    let cpu = match previous {
        Some(previous) => stats.cpu_pct(Some(previous)),
        None => stats.cpu_pct(None),
    };
    #[allow(clippy::cast_precision_loss)]
    let rate = |field: fn(&DockerStats) -> Option<u64>| {
        let previous = previous?;
        let elapsed_ns = unix_nanos(&stats.read)? - unix_nanos(&previous.read)?;
        let (before, after) = (field(previous)?, field(stats)?);
        (elapsed_ns > 0 && after >= before).then(|| (after - before) as f64 / (elapsed_ns as f64 / 1e9))
    };
    #[allow(clippy::cast_precision_loss)]
    let row = vec![
        cpu,
        stats.memory_bytes.map(|n| n as f64),
        stats.memory_limit_bytes.map(|n| n as f64),
        rate(|s| s.rx_bytes),
        rate(|s| s.tx_bytes),
        rate(|s| s.read_bytes),
        rate(|s| s.write_bytes),
    ];
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_from_docker_host() {
        assert_eq!(socket_path(None).unwrap(), PathBuf::from("/var/run/docker.sock"));
        assert_eq!(socket_path(Some("")).unwrap(), PathBuf::from("/var/run/docker.sock"));
        assert_eq!(
            socket_path(Some("unix:///run/user/1000/docker.sock")).unwrap(),
            PathBuf::from("/run/user/1000/docker.sock")
        );
        assert!(socket_path(Some("tcp://10.0.0.1:2375")).unwrap_err().contains("tcp://"));
        let refused = socket_path(Some("ssh://deploy:hunter2@10.0.0.1")).unwrap_err();
        assert!(
            refused.contains("ssh://deploy:***@10.0.0.1") && !refused.contains("hunter2"),
            "{refused}"
        );
    }

    #[test]
    fn chunked_and_sized_answers() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
                    4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n";
        let answer = parse_answer(raw).unwrap();
        assert_eq!((answer.status, answer.body.as_slice()), (200, &b"{\"a\":1}"[..]));
        let raw = b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(parse_answer(raw).unwrap().status, 404);
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort").is_err());
        let huge = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nshort\r\n0\r\n\r\n";
        assert_eq!(parse_answer(huge).unwrap_err(), "truncated chunked body");
    }

    #[test]
    fn cgroup_v2_memory_and_cpu_against_a_previous_reading() {
        let body = br#"{"read":"2025-01-16T13:55:22.165243637Z",
            "cpu_stats":{"cpu_usage":{"total_usage":3000000000},"system_cpu_usage":20000000000,"online_cpus":4},
            "precpu_stats":{"cpu_usage":{"total_usage":0},"system_cpu_usage":0},
            "memory_stats":{"usage":1000,"limit":8000,"stats":{"inactive_file":300}},
            "networks":{"eth0":{"rx_bytes":10,"tx_bytes":20},"eth1":{"rx_bytes":1,"tx_bytes":2}},
            "blkio_stats":{"io_service_bytes_recursive":[{"major":8,"minor":0,"op":"read","value":5},
                {"major":8,"minor":0,"op":"write","value":7},{"major":8,"minor":16,"op":"read","value":1}]}}"#;
        let now = DockerStats::decode(body).unwrap();
        assert!(now.running());
        assert_eq!((now.memory_bytes, now.memory_limit_bytes), (Some(700), Some(8000)));
        assert_eq!(
            (now.rx_bytes, now.tx_bytes, now.read_bytes, now.write_bytes),
            (Some(11), Some(22), Some(6), Some(7))
        );
        // one-shot: no precpu, so no CPU % without a previous reading of ours
        assert_eq!(now.cpu_pct(None), None);
        let before = DockerStats {
            cpu_total_ns: Some(1_000_000_000),
            system_cpu_ns: Some(10_000_000_000),
            ..DockerStats::default()
        };
        // 2 s of CPU over 10 s of all 4 CPUs' time (2.5 s of wall time): 80% of one core
        let pct = now.cpu_pct(Some(&before)).unwrap();
        assert!((pct - 80.0).abs() < 1e-9, "{pct}");
    }

    #[test]
    fn stopped_container() {
        let stats = DockerStats::decode(br#"{"read":"0001-01-01T00:00:00Z","memory_stats":{}}"#).unwrap();
        assert!(!stats.running());
        assert!(DockerStats::decode(b"[1,2]").is_err());
    }

    #[test]
    fn read_times() {
        assert_eq!(unix_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_nanos("2026-12-06T21:00:39.689562491Z"),
            Some(1_796_590_839_689_562_491)
        );
        assert_eq!(unix_nanos("2000-03-01T00:00:01.5Z"), Some(951_868_801_500_000_000));
        // a stopped container's zero time is a time, before the epoch
        assert!(unix_nanos("0001-01-01T00:00:00Z").unwrap() < 0);
        for bad in [
            "",
            "2026-12-06",
            "2026-12-06T21:00:39",
            "2026-13-06T21:00:39Z",
            "2026-12-06T21:00:39.1234567890Z",
        ] {
            assert_eq!(unix_nanos(bad), None, "{bad}");
        }
    }

    #[test]
    fn path_segments() {
        assert_eq!(path_segment("api-server_1.x"), "api-server_1.x");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }
}
