//! Property tests of the reference target's input handling, through its router (no socket): push bodies, pop query
//! strings, queue ids in paths, content types, body sizes. Whatever a client sends, the answer is a 2xx with the
//! contract's JSON or a 4xx whose `detail` says what was wrong — never a 5xx from the memory store, never a panic —
//! and an accepted item comes back byte for byte.

mod common;

use std::fmt::Write as _;

use _native::reference_target::{router, MemoryStore, PopShape, Store};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use common::{config, timed};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;
use tower::ServiceExt as _;

/// The largest body the routers below accept: small, so that generated bodies cross it.
const MAX_BODY: usize = 512;

fn app() -> Router {
    router(Store::Memory(MemoryStore::new()), MAX_BODY, PopShape::default())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

/// One request through the router: (status, body as JSON).
fn send(runtime: &tokio::runtime::Runtime, app: &Router, request: Request<Body>) -> (StatusCode, Value) {
    timed("request", || {
        runtime.block_on(async {
            let response = app.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
            let body = serde_json::from_slice(&bytes)
                .unwrap_or_else(|err| panic!("{status}: not JSON ({err}): {}", String::from_utf8_lossy(&bytes)));
            (status, body)
        })
    })
}

/// A 4xx answer says why in `detail`: a sentence, not a Debug dump.
fn assert_detail(status: StatusCode, body: &Value) {
    assert!(status.is_client_error(), "{status} {body}");
    let detail = body["detail"].as_str().unwrap_or_else(|| panic!("no detail: {body}"));
    assert!(detail.len() >= 5, "{detail:?}");
    for mark in ["Error {", "kind: ", "Some(", "Err(", "Ok("] {
        assert!(!detail.contains(mark), "Debug output in {detail:?}");
    }
}

/// Percent-encodes all but the characters a queue id may hold, so that any text reaches the route.
fn path_segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"._:-".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn queue_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9._:-]{1,30}",
        1 => "[A-Za-z0-9._:-]{195,205}",
        1 => "\\PC{0,12}",
        1 => select(vec!["", " ", "a/b", "..", "é", "%00", "a b", "x\u{0}y"]).prop_map(str::to_owned),
    ]
}

/// Any JSON value, a few levels deep, with the strings and numbers that trip parsers.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::from),
        select(vec!["\u{0}", "\\", "\"", "\u{2028}", "😀"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("\\PC{0,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// An item the contract accepts: a JSON object, written with or without spaces.
fn item_text() -> impl Strategy<Value = String> {
    (
        proptest::collection::btree_map("\\PC{0,8}", json_value(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(map, pretty)| {
            let object = Value::Object(map.into_iter().collect());
            if pretty {
                serde_json::to_string_pretty(&object).unwrap()
            } else {
                object.to_string()
            }
        })
}

/// Push bodies: valid ones, near misses (wrong types, out of range priorities, missing fields), random text.
fn push_body() -> impl Strategy<Value = Vec<u8>> {
    let priority = prop_oneof![
        (0u32..=1000).prop_map(|p| p.to_string()),
        select(vec![
            "-1",
            "1001",
            "1e2",
            "1.0",
            "\"1\"",
            "null",
            "true",
            "[]",
            "{}",
            "99999999999999999999999",
            "-99999999999999999999999",
            "-0",
            "0.5",
            "18446744073709551616",
        ])
        .prop_map(str::to_owned),
    ];
    prop_oneof![
        3 => (item_text(), priority.clone()).prop_map(|(item, priority)| {
            format!("{{\"item\": {item}, \"priority\": {priority}}}").into_bytes()
        }),
        1 => (json_value(), priority).prop_map(|(item, priority)| {
            format!("{{\"priority\": {priority}, \"item\": {item}}}").into_bytes()
        }),
        1 => json_value().prop_map(|value| value.to_string().into_bytes()),
        1 => item_text().prop_map(|item| format!("{{\"item\": {item}, \"item\": {item}}}").into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..300),
        1 => (0usize..MAX_BODY * 2).prop_map(|n| format!("{{\"item\": {{\"pad\": \"{}\"}}}}", "x".repeat(n)).into_bytes()),
        1 => (1usize..200).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()),
    ]
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => Just(Some("application/json".to_owned())),
        1 => Just(None),
        1 => select(vec![
            "application/json; charset=utf-8", "APPLICATION/JSON", "application/problem+json", "text/plain",
            "application/x-www-form-urlencoded", "", ";", "application/json\u{7f}",
        ])
        .prop_map(|text| Some(text.to_owned())),
    ]
}

fn query() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => (1u32..=100).prop_map(|depth| Some(format!("depth={depth}"))),
        2 => select(vec![
            "depth=0", "depth=101", "depth=-1", "depth=1.0", "depth=", "depth", "depth=%31%30", "depth=1&depth=2",
            "depth=+5", "depth=%20%35", "depth=18446744073709551616", "depth=%FF", "depth=%", "&&&", "=", "x=1",
            "depth=1e1", "DEPTH=3", "depth=٣",
        ])
        .prop_map(|text| Some(text.to_owned())),
        1 => "[a-z=&%0-9+]{0,20}".prop_map(Some),
        1 => Just(None),
    ]
}

proptest! {
    #![proptest_config(config(192))]

    /// Any push: 200 and the item back byte for byte on the next pop, or a 4xx saying why.
    #[test]
    fn fuzz_push_bodies(queue in queue_id(), body in push_body(), content_type in content_type()) {
        let runtime = runtime();
        let app = app();
        let uri = format!("/queue/{}/push", path_segment(&queue));
        let mut request = Request::builder().method(Method::POST).uri(&uri);
        if let Some(content_type) = &content_type {
            if let Ok(value) = axum::http::HeaderValue::from_str(content_type) {
                request = request.header("content-type", value);
            }
        }
        let (status, answer) = send(&runtime, &app, request.body(Body::from(body.clone())).unwrap());
        if status == StatusCode::OK {
            prop_assert_eq!(&answer["success"], &Value::Bool(true));
            let sent: Value = serde_json::from_slice(&body).unwrap();
            let pop = Request::builder().method(Method::POST).uri(format!("/queue/{}/pop?depth=100", path_segment(&queue)));
            let (status, popped) = send(&runtime, &app, pop.body(Body::empty()).unwrap());
            prop_assert_eq!(status, StatusCode::OK);
            prop_assert_eq!(&popped["count"], &Value::from(1));
            // byte for byte: the stored text is spliced into the answer, so it parses back to the same value
            prop_assert_eq!(&popped["items"][0], &sent["item"]);
        } else {
            assert_detail(status, &answer);
            // the queue id and the content type are checked before the body is read
            let detail = answer["detail"].as_str().unwrap_or_default();
            if body.len() > MAX_BODY && !detail.contains("queue id") && !detail.contains("Content-Type") {
                prop_assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
            }
        }
    }

    /// Any pop query string: 200 with at most `depth` items, or 400 whose detail names `depth`.
    #[test]
    fn fuzz_pop_query_strings(queue in "[a-z]{1,8}", query in query(), pushed in 0usize..5) {
        let runtime = runtime();
        let app = app();
        for n in 0..pushed {
            let push = Request::builder().method(Method::POST).uri(format!("/queue/{queue}/push"))
                .header("content-type", "application/json")
                .body(Body::from(format!("{{\"item\": {{\"n\": {n}}}}}"))).unwrap();
            prop_assert_eq!(send(&runtime, &app, push).0, StatusCode::OK);
        }
        let uri = match &query {
            Some(query) => format!("/queue/{queue}/pop?{query}"),
            None => format!("/queue/{queue}/pop"),
        };
        let Ok(request) = Request::builder().method(Method::POST).uri(&uri).body(Body::empty()) else {
            return Ok(()); // not a URI at all: no server would see it
        };
        let (status, answer) = send(&runtime, &app, request);
        if status == StatusCode::OK {
            let count = answer["count"].as_u64().unwrap();
            prop_assert_eq!(answer["items"].as_array().unwrap().len() as u64, count);
            prop_assert!(count <= pushed as u64);
        } else {
            assert_detail(status, &answer);
            prop_assert_eq!(status, StatusCode::BAD_REQUEST);
            prop_assert!(answer["detail"].as_str().unwrap().contains("depth"), "{}", answer);
        }
    }

    /// Any method on any path: never a 5xx from the memory store, and every error is JSON with a detail.
    #[test]
    fn fuzz_paths_and_methods(
        method in select(vec![Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::HEAD, Method::OPTIONS]),
        path in prop_oneof![
            queue_id().prop_map(|q| format!("/queue/{}/stats", path_segment(&q))),
            queue_id().prop_map(|q| format!("/queue/{}/pop", path_segment(&q))),
            "(/[a-z%0-9.]{0,6}){0,5}",
            select(vec!["/", "/health", "/ready", "/inject", "/queue/", "/queue//push", "/queue/a/b/push",
                "/queue/%2F/pop", "/queue/a%00/pop"]).prop_map(str::to_owned),
        ],
    ) {
        let runtime = runtime();
        let app = app();
        let Ok(request) = Request::builder().method(method.clone()).uri(&path).body(Body::empty()) else {
            return Ok(());
        };
        let (status, answer) = if method == Method::HEAD {
            // no body to read
            let response = runtime.block_on(app.clone().oneshot(request)).unwrap();
            (response.status(), Value::Null)
        } else {
            send(&runtime, &app, request)
        };
        prop_assert!(!status.is_server_error(), "{} {}: {}", method, path, status);
        if status.is_client_error() && method != Method::HEAD {
            assert_detail(status, &answer);
        }
    }
}

/// What the properties above found: an array taken for a push body, and a 405 without a body.
#[test]
fn arrays_are_not_push_bodies_and_a_wrong_method_says_so() {
    let runtime = runtime();
    let app = app();
    let push = Request::builder()
        .method(Method::POST)
        .uri("/queue/q/push")
        .header("content-type", "application/json")
        .body(Body::from("[{\"a\": 1}, 5]"))
        .unwrap();
    let (status, answer) = send(&runtime, &app, push);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["detail"].as_str().unwrap().ends_with("not an array"), "{answer}");
    let get = Request::builder().uri("/queue/q/pop").body(Body::empty()).unwrap();
    let (status, answer) = send(&runtime, &app, get);
    assert_eq!(
        (status, answer["detail"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("Method Not Allowed"))
    );
}
