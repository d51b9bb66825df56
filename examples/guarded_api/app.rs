//! The example API's router: a tiny "users" API with its own keys, wrapped
//! in the guard layer. Shared by `main.rs` and the tests (via `#[path]`).

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use honeytoken_guard::{Guard, GuardLayer, Reporter};
use std::net::SocketAddr;

/// The one real key of this demo API.
pub const REAL_KEY: &str = "acme_live_realkey0000000000000000000001";

/// The real API's handler: the users for a valid key, its own 401 otherwise.
async fn users(headers: HeaderMap) -> axum::response::Response {
    let ok = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {REAL_KEY}"));
    if ok {
        Json(serde_json::json!({"data": [{"id": "usr_1", "name": "Ada"}]})).into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "invalid_api_key"})),
        )
            .into_response()
    }
}

/// The API with the guard in front of every route: requests and answers
/// pass through unchanged; honeytokens are reported by `reporter`.
pub fn app(guard: Guard, reporter: Reporter) -> Router {
    // axum puts the peer address in `ConnectInfo` (served with
    // `into_make_service_with_connect_info`); tell the guard where to look.
    let guard = guard.with_peer(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()));
    Router::new()
        .route("/v1/users", get(users))
        .route("/healthz", get(|| async { "ok" }))
        .layer(GuardLayer::new(guard, reporter))
}
