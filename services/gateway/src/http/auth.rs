//! `POST /v1/auth/{register,login,refresh,logout}`: JSON in front of the
//! identity service.

use std::net::SocketAddr;

use axum::{
    Json,
    extract::{ConnectInfo, State, rejection::JsonRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use hearth_proto::identity as pb;
use serde::{Deserialize, Serialize};

use crate::{GatewayState, clients::authorized, error::ApiError, http::client_ip};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    locale: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderBody {
    /// The session token of the operator's app.
    #[serde(default)]
    provider_token: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    #[serde(default)]
    refresh_token: String,
}

/// What register, login and refresh answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenResponse {
    pub user_id: String,
    pub session_id: String,
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub token_type: &'static str,
}

fn tokens(user_id: String, pair: Option<pb::TokenPair>) -> Result<TokenResponse, ApiError> {
    let pair = pair.ok_or_else(|| ApiError::new(500, "internal", "identity returned no tokens"))?;
    Ok(TokenResponse {
        user_id,
        session_id: pair.session_id,
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
        expires_in: pair.expires_in.map(|d| d.seconds).unwrap_or_default(),
        token_type: "Bearer",
    })
}

/// A JSON body, or a 400 that says what is wrong with it.
fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    payload.map(|Json(body)| body).map_err(|rejection| match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::new(415, "invalid_argument", "expected Content-Type: application/json")
        }
        other => ApiError::new(400, "invalid_argument", format!("invalid JSON body: {}", other.body_text())),
    })
}

pub async fn register(
    State(state): State<GatewayState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    payload: Result<Json<RegisterBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let body = body(payload)?;
    let request = pb::RegisterRequest {
        username: body.username,
        password: body.password,
        display_name: body.display_name,
        locale: body.locale,
        client_ip: client_ip(&headers, peer, state.config.gateway.client_ip_header.as_deref()),
    };
    let reply = state.clients.identity.clone().register(request).await?.into_inner();
    Ok((StatusCode::CREATED, Json(tokens(reply.user_id, reply.tokens)?)).into_response())
}

pub async fn login(
    State(state): State<GatewayState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    payload: Result<Json<LoginBody>, JsonRejection>,
) -> Result<Json<TokenResponse>, ApiError> {
    let body = body(payload)?;
    let request = pb::LoginRequest {
        username: body.username,
        password: body.password,
        client_ip: client_ip(&headers, peer, state.config.gateway.client_ip_header.as_deref()),
    };
    let reply = state.clients.identity.clone().login(request).await?.into_inner();
    Ok(Json(tokens(reply.user_id, reply.tokens)?))
}

/// `POST /v1/auth/provider`: a viewer of the operator's app signs in with
/// its provider session token (no second password).
pub async fn provider(
    State(state): State<GatewayState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    payload: Result<Json<ProviderBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let body = body(payload)?;
    let request = pb::ExchangeProviderTokenRequest {
        provider_token: body.provider_token,
        client_ip: client_ip(&headers, peer, state.config.gateway.client_ip_header.as_deref()),
    };
    let reply = state.clients.identity.clone().exchange_provider_token(request).await?.into_inner();
    let status = if reply.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(tokens(reply.user_id, reply.tokens)?)).into_response())
}

/// `POST /v1/auth/refresh`. The client's IP travels in metadata beside
/// the gateway's credential (identity throttles failed refreshes per IP).
pub async fn refresh(
    State(state): State<GatewayState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    payload: Result<Json<RefreshBody>, JsonRejection>,
) -> Result<Json<TokenResponse>, ApiError> {
    let body = body(payload)?;
    let mut request = tonic::Request::new(pb::RefreshRequest { refresh_token: body.refresh_token });
    let ip = client_ip(&headers, peer, state.config.gateway.client_ip_header.as_deref());
    if let (Ok(Ok(credential)), Ok(ip)) = (state.credential.bearer().map(|b| b.parse()), ip.parse()) {
        request.metadata_mut().insert(hearth_platform::auth::SERVICE_HEADER, credential);
        request.metadata_mut().insert(hearth_platform::auth::CLIENT_IP_HEADER, ip);
    }
    let reply = state.clients.identity.clone().refresh(request).await?.into_inner();
    Ok(Json(tokens(reply.user_id, reply.tokens)?))
}

/// The bearer token of an HTTP request.
pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthenticated("missing Authorization: Bearer <access token>"))
}

pub async fn logout(State(state): State<GatewayState>, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    let token = bearer(&headers)?;
    state.clients.identity.clone().logout(authorized(pb::LogoutRequest {}, token)).await?;
    Ok(StatusCode::NO_CONTENT)
}
