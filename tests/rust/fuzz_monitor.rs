//! Property tests of the monitor's Docker Engine API decoders: the HTTP answer read off the socket (status line,
//! headers, chunked or sized body) and the stats JSON in it. Whatever the daemon (or something pretending to be it)
//! sends, decoding returns, and a rejection is one line saying what was wrong. (PostgreSQL's rows are decoded in
//! `src/monitor/postgres.rs`, tested there.)

mod common;

use _native::monitor::{parse_answer, DockerStats};
use common::{config, timed};
use proptest::prelude::*;
use proptest::sample::select;

/// A decoder's rejection: one non-empty line, no Debug dump.
fn assert_reason(reason: &str) {
    assert!(reason.len() >= 5, "says too little: {reason:?}");
    assert!(!reason.contains(['\n', '\r']), "not one line: {reason:?}");
    for mark in ["Error {", "kind: ", "Some(", "Err("] {
        assert!(!reason.contains(mark), "Debug output in {reason:?}");
    }
}

/// A stats answer as daemons write it (cgroup v1 or v2), with any counter values, as integers or floats.
fn stats_body() -> impl Strategy<Value = (Vec<u8>, u64, u64)> {
    let counter = prop_oneof![0u64..1_000_000, any::<u64>(), Just(u64::MAX)];
    (
        proptest::collection::vec((counter.clone(), counter.clone()), 0..4),
        proptest::collection::vec((select(vec!["read", "Read", "write", "sync"]), counter.clone()), 0..5),
        counter.clone(),
        counter.clone(),
        select(vec!["inactive_file", "total_inactive_file", "other"]),
        counter,
        any::<bool>(),
    )
        .prop_map(|(networks, blkio, usage, inactive, inactive_key, total, as_float)| {
            let number = |n: u64| -> serde_json::Value {
                if as_float {
                    // old daemons: 3.0881377e+14
                    #[allow(clippy::cast_precision_loss)]
                    let float = n as f64;
                    serde_json::json!(float)
                } else {
                    serde_json::json!(n)
                }
            };
            let networks: serde_json::Map<String, serde_json::Value> = networks
                .iter()
                .enumerate()
                .map(|(i, (rx, tx))| (format!("eth{i}"), serde_json::json!({"rx_bytes": rx, "tx_bytes": tx})))
                .collect();
            let blkio: Vec<serde_json::Value> = blkio
                .iter()
                .map(|(op, value)| serde_json::json!({"major": 8, "minor": 0, "op": op, "value": value}))
                .collect();
            let body = serde_json::json!({
                "read": "2025-01-16T13:55:22.165243637Z",
                "cpu_stats": {"cpu_usage": {"total_usage": number(total), "percpu_usage": [1, 2]},
                    "system_cpu_usage": number(total / 2), "online_cpus": 0},
                "precpu_stats": {"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 0},
                "memory_stats": {"usage": number(usage), "limit": 8000, "stats": {inactive_key: number(inactive)}},
                "networks": networks,
                "blkio_stats": {"io_service_bytes_recursive": blkio},
            });
            let rx_sum: u128 = networks
                .values()
                .filter_map(|n| n["rx_bytes"].as_u64())
                .map(u128::from)
                .sum();
            let read_sum: u128 = blkio
                .iter()
                .filter(|e| e["op"].as_str().is_some_and(|op| op.eq_ignore_ascii_case("read")))
                .filter_map(|e| e["value"].as_u64())
                .map(u128::from)
                .sum();
            (
                serde_json::to_vec(&body).unwrap(),
                u64::try_from(rx_sum).unwrap_or(u64::MAX),
                u64::try_from(read_sum).unwrap_or(u64::MAX),
            )
        })
}

/// An HTTP/1.1 answer around `body`: sized, chunked in random pieces, or read to the end.
fn http_answer(body: Vec<u8>) -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let length = body.len();
    (
        select(vec![200u16, 404, 500]),
        0..3usize,
        proptest::collection::vec(1..64usize, 0..10),
    )
        .prop_map(move |(status, framing, cuts)| {
            let mut raw = format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n").into_bytes();
            match framing {
                0 => {
                    raw.extend_from_slice(format!("Content-Length: {length}\r\n\r\n").as_bytes());
                    raw.extend_from_slice(&body);
                }
                1 => {
                    raw.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                    let mut rest = &body[..];
                    for cut in cuts.iter().copied().chain(std::iter::repeat(64)) {
                        if rest.is_empty() {
                            break;
                        }
                        let (chunk, after) = rest.split_at(cut.min(rest.len()));
                        raw.extend_from_slice(format!("{:x};ext=1\r\n", chunk.len()).as_bytes());
                        raw.extend_from_slice(chunk);
                        raw.extend_from_slice(b"\r\n");
                        rest = after;
                    }
                    raw.extend_from_slice(b"0\r\n\r\n");
                }
                _ => {
                    raw.extend_from_slice(b"\r\n");
                    raw.extend_from_slice(&body);
                }
            }
            (raw, body.clone())
        })
}

/// Bytes that break HTTP framing: chunk sizes past usize, negative or huge lengths, bare newlines.
const TOKENS: [&[u8]; 14] = [
    b"ffffffffffffffff\r\n",
    b"fffffffffffffffff\r\n",
    b"Content-Length: 18446744073709551615\r\n",
    b"Content-Length: -1\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"\r\n",
    b"\n",
    b"0\r\n\r\n",
    b"\xff\xfe",
    b"\x00",
    b"1e999",
    b"18446744073709551615",
    b"-1",
    b"{\"a\":",
];

proptest! {
    #![proptest_config(config(256))]

    /// A well-framed answer gives back its status and body, whichever framing carried it.
    #[test]
    fn fuzz_docker_answers_round_trip((raw, body) in stats_body().prop_flat_map(|(body, _, _)| http_answer(body))) {
        let answer = parse_answer(&raw).unwrap();
        prop_assert_eq!(answer.body, body);
        prop_assert!(matches!(answer.status, 200 | 404 | 500));
    }

    /// Any bytes, and valid answers cut, spliced and salted with bad framing: an answer or a one-line reason.
    #[test]
    fn fuzz_docker_answers_take_bad_bytes(
        raw in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            // chunk sizes of any width, extensions and bodies
            ("[0-9a-fA-F]{1,20}(;[a-z=]{0,5})?", "[a-z{}\r\n]{0,40}").prop_map(|(size, body)| {
                format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\n{body}\r\n0\r\n\r\n")
                    .into_bytes()
            }),
            (stats_body().prop_flat_map(|(body, _, _)| http_answer(body)), any::<prop::sample::Index>(),
                0..TOKENS.len(), any::<prop::sample::Index>())
                .prop_map(|((mut raw, _), at, token, cut)| {
                    let at = at.index(raw.len() + 1);
                    raw.splice(at..at, TOKENS[token].iter().copied());
                    raw.truncate(cut.index(raw.len() + 1).max(at));
                    raw
                }),
        ]
    ) {
        if let Err(reason) = timed("parse_answer", || parse_answer(&raw)) {
            assert_reason(&reason);
        }
    }

    /// Stats with counters anywhere in u64 (sums over networks and devices included) decode without overflow;
    /// memory in use never exceeds usage; CPU % is finite and non-negative.
    #[test]
    fn fuzz_docker_stats_decode((body, rx_sum, read_sum) in stats_body(), previous_total in any::<u64>()) {
        let stats = timed("decode", || DockerStats::decode(&body)).unwrap();
        prop_assert!(stats.running());
        // sums that do not fit in u64 saturate
        prop_assert_eq!(stats.rx_bytes, Some(rx_sum));
        prop_assert_eq!(stats.read_bytes, Some(read_sum));
        let previous = DockerStats {
            cpu_total_ns: Some(previous_total),
            system_cpu_ns: Some(previous_total / 3),
            ..DockerStats::default()
        };
        for pct in [stats.cpu_pct(None), stats.cpu_pct(Some(&previous))].into_iter().flatten() {
            prop_assert!(pct.is_finite() && pct >= 0.0, "{}", pct);
        }
    }

    /// Any JSON text or bytes as a stats answer: decoded (fields it lacks are None) or one line saying why not.
    #[test]
    fn fuzz_docker_stats_take_any_json(body in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        "\\PC{0,60}".prop_map(String::into_bytes),
        (0..40usize).prop_map(|depth| format!("{}{}", "{\"a\":".repeat(depth * 10), "}".repeat(depth * 10)).into_bytes()),
        select(vec![
            "{\"memory_stats\": {\"usage\": -1, \"limit\": 1e999}}",
            "{\"networks\": [1, 2]}",
            "{\"networks\": {\"eth0\": {\"rx_bytes\": \"many\"}}}",
            "{\"blkio_stats\": {\"io_service_bytes_recursive\": null}}",
            "{\"cpu_stats\": {\"online_cpus\": 1.5e300, \"cpu_usage\": {\"total_usage\": -5}}}",
            "{\"read\": 7}",
            "null",
            "[]",
        ]).prop_map(|text| text.as_bytes().to_vec()),
    ]) {
        if let Err(reason) = timed("decode", || DockerStats::decode(&body)) {
            assert_reason(&reason);
        }
    }
}
