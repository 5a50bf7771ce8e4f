//! The axum application serving `/bot{token}/{method}`.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::time::{Instant, timeout_at};

use crate::answers::{self, Answer};
use crate::params;
use crate::record::Call;
use crate::script::ScriptedResponse;
use crate::state::Shared;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{bot}/{method}", get(handle).post(handle))
        .fallback(not_found)
        .with_state(shared)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = std::time::Instant::now();
    let method = method.to_ascii_lowercase();
    let token_ok = bot.strip_prefix("bot") == Some(shared.token.as_str());
    let parsed = params::parse(&headers, uri.query(), &body);

    let rejection = match (&parsed, token_ok) {
        (_, false) => Some(ScriptedResponse::error(401, "Unauthorized")),
        (Err(description), true) => Some(ScriptedResponse::error(400, description.clone())),
        (Ok(_), true) => None,
    };
    let params =
        parsed.unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));

    let answer = match rejection {
        Some(resp) => {
            let call = Call {
                method,
                body: params,
                at,
                token_ok,
                scripted_status: None,
                status: resp.status,
            };
            shared.lock().record(call);
            Answer::Reply(resp)
        }
        None => answers::answer(&shared, method, params, at),
    };
    shared.calls_changed.notify_waiters();

    match answer {
        Answer::Reply(resp) => {
            let latency = shared.latency();
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            reply(resp)
        }
        Answer::PollUpdates { limit, wait } => {
            let updates = poll_updates(&shared, limit, wait).await;
            Json(json!({ "ok": true, "result": updates })).into_response()
        }
    }
}

/// Returns pending updates, holding the request up to `wait` while there are none.
async fn poll_updates(shared: &Shared, limit: usize, wait: Duration) -> Vec<Value> {
    let deadline = Instant::now() + wait;
    loop {
        let mut notified = pin!(shared.updates_changed.notified());
        // Register before checking so an update pushed in between still wakes us.
        notified.as_mut().enable();
        let updates = shared.lock().pending_updates(limit);
        if !updates.is_empty() || shared.is_closing() {
            return updates;
        }
        if timeout_at(deadline, notified).await.is_err() {
            return shared.lock().pending_updates(limit);
        }
    }
}

fn reply(resp: ScriptedResponse) -> Response {
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(resp.body)).into_response()
}

async fn not_found() -> Response {
    reply(ScriptedResponse::error(404, "Not Found"))
}
