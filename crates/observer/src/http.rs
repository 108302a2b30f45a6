//! The HTTP side: the page, the JSON endpoints, the live feed and the
//! optional kill endpoint (docs/observer.md lists them).
//!
//! # Invariants
//!
//! 1. Every error is a 4xx with a JSON body `{"error": "<reason>"}`.
//! 2. `POST /api/kill` answers 403 unless the application enabled it, and
//!    then only kills a process of an observed tree.
//! 3. Request bodies over [`MAX_BODY`] bytes are refused (413) before they
//!    are read in full.
//! 4. A kill request must say `content-type: application/json` (else 415):
//!    a page of another site cannot send one without a CORS preflight,
//!    which the observer does not grant.

use std::sync::Arc;

use arbor_process::{ExitReason, Pid, exit, process_info};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;

/// The largest request body accepted, in bytes.
pub const MAX_BODY: usize = 4096;

const PAGE: &str = include_str!("page.html");

#[derive(Clone)]
pub(crate) struct App {
    pub(crate) hub: Arc<Hub>,
    pub(crate) stop: CancellationToken,
}

pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/api/trees", get(trees))
        .route("/api/nodes", get(nodes))
        .route("/api/timeline", get(timeline))
        .route("/api/stats", get(stats))
        .route("/api/process/{pid}", get(process))
        .route("/api/kill", post(kill))
        .route("/api/events", get(events))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

/// A 4xx with its reason (invariant 1).
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({ "error": self.1 }))).into_response()
    }
}

async fn page() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], Html(PAGE))
}

async fn not_found() -> ApiError {
    ApiError(StatusCode::NOT_FOUND, "no such endpoint".into())
}

async fn trees(State(app): State<App>) -> axum::Json<Value> {
    axum::Json(json!({
        "node": app.hub.local_node(),
        "trees": app.hub.trees(),
        "nodes": app.hub.nodes(),
    }))
}

async fn nodes(State(app): State<App>) -> axum::Json<Value> {
    axum::Json(json!({ "node": app.hub.local_node(), "nodes": app.hub.nodes() }))
}

#[derive(Deserialize)]
struct Since {
    since: Option<u64>,
}

async fn timeline(
    State(app): State<App>,
    query: Result<Query<Since>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.body_text()))?;
    Ok(axum::Json(
        json!({ "events": app.hub.timeline_since(q.since.unwrap_or(0)) }),
    ))
}

async fn stats(State(app): State<App>) -> axum::Json<Value> {
    axum::Json(json!({ "series": app.hub.series(), "totals": app.hub.totals() }))
}

/// `<0.42>` or `42`.
fn parse_pid(text: &str) -> Result<Pid, ApiError> {
    let text = text.trim();
    let full = if text.bytes().all(|b| b.is_ascii_digit()) {
        format!("<0.{text}>")
    } else {
        text.to_string()
    };
    full.parse()
        .map_err(|e: arbor_process::ParsePidError| ApiError(StatusCode::BAD_REQUEST, e.to_string()))
}

fn pid_list(pids: &[Pid]) -> Vec<String> {
    pids.iter().map(ToString::to_string).collect()
}

async fn process(
    State(app): State<App>,
    Path(pid): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let pid = parse_pid(&pid)?;
    let record = app.hub.pid_record(pid);
    let info = process_info(pid);
    if record.is_none() && info.is_none() {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("unknown pid {pid}: not alive, and never seen in an observed tree"),
        ));
    }
    let slot_exit = record.as_ref().and_then(|r| app.hub.slot_exit(&r.key));
    let mut body = json!({
        "pid": pid.to_string(),
        "alive": info.is_some(),
        "tree": record.as_ref().map(|r| r.tree.clone()),
        "key": record.as_ref().map(|r| r.key.clone()),
        "id": record.as_ref().and_then(|r| r.id.clone()),
        "exit_reason": record.as_ref().and_then(|r| r.exit_reason.clone()),
        "last_exit_reason": slot_exit,
    });
    if let Some(i) = info {
        body["registered_name"] = json!(i.registered_name.map(|n| n.as_str().to_string()));
        body["links"] = json!(pid_list(&i.links));
        body["monitors"] = json!(pid_list(&i.monitors));
        body["monitored_by"] = json!(pid_list(&i.monitored_by));
        body["message_queue_len"] = json!(i.message_queue_len);
        body["trap_exit"] = json!(i.trap_exit);
    }
    Ok(axum::Json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KillRequest {
    pid: String,
    reason: Option<String>,
}

async fn kill(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<Value>, ApiError> {
    if !app.hub.kill_enabled {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "the kill endpoint is disabled (the application did not call allow_kill())".into(),
        ));
    }
    // Invariant 4: a page of another site can send a form or text/plain
    // without asking first, but not application/json.
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json {
        return Err(ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the kill request must be sent with content-type: application/json".into(),
        ));
    }
    let body = body.map_err(|e| ApiError(e.status(), e.body_text()))?;
    let req: KillRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!(
                "malformed JSON (expected {{\"pid\": \"<0.N>\", \"reason\": optional string}}): {e}"
            ),
        )
    })?;
    let reason = match req.reason.as_deref() {
        None | Some("kill") => ExitReason::Kill,
        Some("shutdown") => ExitReason::Shutdown,
        Some("normal") => ExitReason::Normal,
        Some("") => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "empty exit reason".into(),
            ));
        }
        Some(other) => ExitReason::custom(other.to_string()),
    };
    let pid = parse_pid(&req.pid)?;
    if !app.hub.in_trees(pid) {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("unknown pid {pid}: not a running process of an observed tree"),
        ));
    }
    tracing::warn!(target: "arbor::observer", %pid, %reason, "exit signal sent from the observer");
    let sent = reason.to_string();
    exit(pid, reason);
    Ok(axum::Json(
        json!({ "pid": pid.to_string(), "reason": sent }),
    ))
}

async fn events(State(app): State<App>) -> impl IntoResponse {
    crate::sse::stream(app.hub.clone(), app.stop.clone())
}
