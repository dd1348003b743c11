//! `GET /healthz` (the process is alive) and `GET /readyz` (its
//! dependencies answer), plus the JWKS document.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use hearth_platform::auth::Jwks;
use serde_json::json;

use crate::GatewayState;

pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// 200 when Redis, NATS and the identity service answer; 503 naming what
/// does not.
pub async fn readyz(State(state): State<GatewayState>) -> impl IntoResponse {
    let mut down = Vec::new();
    if !hearth_platform::redis::ping(&state.deps.redis).await {
        down.push("redis");
    }
    if !state.deps.nats.is_connected() {
        down.push("nats");
    }
    if !state.clients.identity_ready().await {
        down.push("identity");
    }
    if state.shutdown.is_cancelled() {
        down.push("shutting_down");
    }
    if down.is_empty() {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "down": down })))
    }
}

/// RFC 7517 key set of the access-token verification keys.
pub async fn jwks(State(state): State<GatewayState>) -> Json<Jwks> {
    Json(state.deps.tokens.jwks().clone())
}
