//! The contract's routes. Every error body is `{"detail": "..."}`, as FastAPI's are.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::config::PopShape;
use super::error::StoreError;
use super::store::Store;
use super::validate::{check_item, parse_depth, parse_priority, validate_queue_id};

const SERVICE_NAME: &str = "pushpop-load-target";
/// The start of every rejection of a push body's shape.
const SHAPE: &str = "body must be a JSON object {\"item\": {...}, \"priority\": <int>}";

struct App {
    store: Store,
    max_body: usize,
    pop_shape: PopShape,
}

/// The reference target's routes over `store`, with bodies limited to `max_body` bytes and pops answered in
/// `pop_shape`.
pub fn router(store: Store, max_body: usize, pop_shape: PopShape) -> Router {
    let app = Arc::new(App {
        store,
        max_body,
        pop_shape,
    });
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        // the Dapr sidecar's health check, so that the seed's scripts (warmup.sh checks $DAPR_HOST) run unchanged
        // against the target standing in for the whole stack
        .route("/v1.0/healthz", get(dapr_healthz))
        .route("/queue/{queue_id}/push", post(push))
        .route("/queue/{queue_id}/pop", post(pop))
        .route("/queue/{queue_id}/stats", get(stats))
        .route("/inject", get(inject))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(server_timing))
        .with_state(app)
}

/// `server-timing: app;dur=<ms>` lets a client tell server time from network and client time.
async fn server_timing(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let mut response = next.run(request).await;
    let mut value = String::with_capacity(24);
    let _ = write!(value, "app;dur={:.3}", start.elapsed().as_secs_f64() * 1000.0);
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body.into(),
    )
        .into_response()
}

fn detail(status: StatusCode, message: &str) -> Response {
    json_response(status, serde_json::json!({ "detail": message }).to_string())
}

fn store_failure(err: &StoreError) -> Response {
    detail(StatusCode::SERVICE_UNAVAILABLE, &format!("Internal error: {err}"))
}

async fn health() -> Response {
    json_response(
        StatusCode::OK,
        format!(r#"{{"status":"healthy","service":"{SERVICE_NAME}"}}"#),
    )
}

/// As the sidecar answers: 204, no body.
async fn dapr_healthz() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn ready(State(app): State<Arc<App>>) -> Response {
    match app.store.ready().await {
        Ok(()) => json_response(
            StatusCode::OK,
            format!(r#"{{"status":"ready","store":"{}"}}"#, app.store.kind()),
        ),
        Err(err) => store_failure(&err),
    }
}

#[derive(Deserialize)]
struct PushBody<'a> {
    #[serde(borrow)]
    item: Option<&'a RawValue>,
    #[serde(borrow, default)]
    priority: Option<&'a RawValue>,
}

async fn push(State(app): State<Arc<App>>, Path(queue_id): Path<String>, headers: HeaderMap, body: Body) -> Response {
    if let Err(message) = validate_queue_id(&queue_id) {
        return detail(StatusCode::BAD_REQUEST, &message);
    }
    if !is_json(&headers) {
        return detail(StatusCode::BAD_REQUEST, "Content-Type must be application/json");
    }
    let bytes = match read_body(&headers, body, app.max_body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    // serde's derive also takes a JSON array as the struct's fields in order: `[{}]` is not a push
    if bytes.trim_ascii_start().first() == Some(&b'[') {
        return detail(StatusCode::BAD_REQUEST, &format!("{SHAPE}, not an array"));
    }
    let parsed: PushBody<'_> = match serde_json::from_slice(&bytes) {
        Ok(parsed) => parsed,
        Err(err) => return detail(StatusCode::BAD_REQUEST, &format!("{SHAPE}: {err}")),
    };
    let item = match check_item(parsed.item) {
        Ok(item) => item,
        Err(message) => return detail(StatusCode::BAD_REQUEST, &message),
    };
    let priority = match parse_priority(parsed.priority) {
        Ok(priority) => priority,
        Err(message) => return detail(StatusCode::BAD_REQUEST, &message),
    };
    match app.store.push(&queue_id, priority, item).await {
        Ok(()) => json_response(
            StatusCode::OK,
            format!(r#"{{"success":true,"message":"Item pushed to queue {queue_id} at priority {priority}"}}"#),
        ),
        Err(err) => store_failure(&err),
    }
}

async fn pop(State(app): State<Arc<App>>, Path(queue_id): Path<String>, RawQuery(query): RawQuery) -> Response {
    if let Err(message) = validate_queue_id(&queue_id) {
        return detail(StatusCode::BAD_REQUEST, &message);
    }
    let depth_text = query.as_deref().and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == "depth")
            .map(|(_, value)| value)
    });
    let depth = match parse_depth(depth_text.as_deref()) {
        Ok(depth) => depth,
        Err(message) => return detail(StatusCode::BAD_REQUEST, &message),
    };
    let (depth, shape) = match (app.pop_shape, depth_text.is_some()) {
        (PopShape::Item, _) => (1, PopShape::Item),
        (PopShape::Both, false) => (depth, PopShape::Both),
        _ => (depth, PopShape::Items),
    };
    match app.store.pop(&queue_id, depth).await {
        Ok(items) => json_response(StatusCode::OK, pop_answer(&items, shape)),
        Err(err) => store_failure(&err),
    }
}

/// The items are stored JSON text: they are spliced in rather than parsed and serialised again.
fn pop_answer(items: &[Box<str>], shape: PopShape) -> String {
    let size = items.iter().map(|item| item.len() + 1).sum::<usize>() + 32;
    let mut body = String::with_capacity(size + items.first().map_or(4, |item| item.len()));
    body.push('{');
    if matches!(shape, PopShape::Item | PopShape::Both) {
        let _ = write!(body, r#""item":{}"#, items.first().map_or("null", |item| item));
        if shape == PopShape::Item {
            body.push('}');
            return body;
        }
        body.push(',');
    }
    body.push_str(r#""items":["#);
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    let _ = write!(body, r#"],"count":{}}}"#, items.len());
    body
}

async fn stats(State(app): State<Arc<App>>, Path(queue_id): Path<String>) -> Response {
    if let Err(message) = validate_queue_id(&queue_id) {
        return detail(StatusCode::BAD_REQUEST, &message);
    }
    match app.store.stats(&queue_id).await {
        Ok(stats) => {
            let by_priority: serde_json::Map<String, serde_json::Value> = stats
                .by_priority
                .iter()
                .map(|(priority, count)| (priority.to_string(), (*count).into()))
                .collect();
            json_response(
                StatusCode::OK,
                serde_json::json!({"depth": stats.depth, "by_priority": by_priority}).to_string(),
            )
        }
        Err(err) => store_failure(&err),
    }
}

/// Extension: what `--inject` did so far, for a test to compare with the integrity report. 404 when it is off.
async fn inject(State(app): State<Arc<App>>) -> Response {
    match app.store.injector() {
        Some(injector) => {
            let counts = injector.counts();
            json_response(
                StatusCode::OK,
                format!(r#"{{"dropped":{},"duplicated":{}}}"#, counts.dropped, counts.duplicated),
            )
        }
        None => detail(
            StatusCode::NOT_FOUND,
            "fault injection is off (start the target with --inject)",
        ),
    }
}

/// Paths under `/queue/` that the routes did not take have a queue id the router cannot hold (empty, or with a
/// slash): that is a bad queue id (400), not a missing page.
async fn fallback(uri: Uri) -> Response {
    let path = uri.path();
    if let Some(rest) = path.strip_prefix("/queue/") {
        if let Some((queue_id, operation)) = rest.rsplit_once('/') {
            if matches!(operation, "push" | "pop" | "stats") {
                let message = validate_queue_id(queue_id)
                    .err()
                    .unwrap_or_else(|| "invalid queue id".to_owned());
                return detail(StatusCode::BAD_REQUEST, &message);
            }
        }
    }
    detail(StatusCode::NOT_FOUND, "Not Found")
}

/// A known path with another method (GET on a pop): FastAPI's 405 with a `detail`, not an empty body.
async fn method_not_allowed() -> Response {
    detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

/// JSON, or no Content-Type at all (FastAPI parses those as JSON too).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(value) = value.to_str() else { return false };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Response> {
    let too_large = || {
        detail(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body is larger than the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(bytes),
        Err(err) if is_length_limit(&err) => Err(too_large()),
        Err(err) => Err(detail(
            StatusCode::BAD_REQUEST,
            &format!("could not read the request body: {err}"),
        )),
    }
}

fn is_length_limit(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = cause.source();
    }
    false
}
