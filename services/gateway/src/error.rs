//! The gateway's client-facing errors: one shape for HTTP bodies and for
//! WebSocket `error` frames, with the stable codes of docs/protocol.md.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use hearth_platform::error::{http_status, status_field, status_retry_after, wire_code};
use serde::Serialize;

/// An error as clients see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApiError {
    #[serde(skip)]
    pub status: u16,
    /// Stable snake_case code (see docs/protocol.md).
    pub code: &'static str,
    pub message: String,
    /// The request field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Milliseconds after which a retry may succeed (rate limits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, retry_after_ms: None }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self { field: Some(field.to_owned()), ..Self::new(400, "invalid_argument", message) }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(401, "unauthenticated", message)
    }
}

impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        let code = status.code();
        let message = match code {
            // Connection-level failures carry transport details clients need not see.
            tonic::Code::Unavailable => "service unavailable, retry later".to_owned(),
            tonic::Code::Internal | tonic::Code::Unknown => "internal error".to_owned(),
            _ => status.message().to_owned(),
        };
        if matches!(code, tonic::Code::Unavailable | tonic::Code::Internal | tonic::Code::Unknown) {
            tracing::warn!(code = ?code, message = status.message(), "upstream call failed");
        }
        Self {
            status: http_status(code),
            code: wire_code(code),
            message,
            field: status_field(&status).map(str::to_owned),
            retry_after_ms: status_retry_after(&status).map(|d| d.as_millis() as u64),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a ApiError,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(Body { error: &self })).into_response();
        if let Some(ms) = self.retry_after_ms
            && let Ok(value) = ms.div_ceil(1000).to_string().parse()
        {
            response.headers_mut().insert("retry-after", value);
        }
        response
    }
}
