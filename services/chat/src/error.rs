//! The chat service's failures, mapped once to gRPC statuses carrying the
//! stable reasons chat.proto lists (`hearth-reason` metadata) and, where a
//! retry can succeed, the retry delay (`hearth-retry-after-ms`).

use std::time::Duration;

use hearth_platform::{auth::AuthError, error as platform_error, validate::FieldError};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// A request field is invalid; `reason` is the stable reason when the
    /// contract names one (`text_too_long`, …).
    #[error("{}", .0.reason)]
    InvalidField(FieldError, Option<&'static str>),
    #[error("{1}")]
    NotFound(&'static str, String),
    /// Refused; with the time after which it may succeed (timeouts,
    /// followers-only).
    #[error("{1}")]
    Denied(&'static str, String, Option<Duration>),
    #[error("{1}")]
    Precondition(&'static str, String),
    #[error("{1}")]
    AlreadyExists(&'static str, String),
    /// Rate limits and slow mode, with the retry delay.
    #[error("{1}")]
    Exhausted(&'static str, String, Option<Duration>),
    /// A service chat depends on answered with an error (rooms, identity).
    #[error("{0}")]
    Upstream(Status),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("{0}")]
    Internal(String),
}

impl ChatError {
    /// An invalid field with a contract reason.
    pub fn field(field: &str, reason: &'static str, message: impl Into<String>) -> Self {
        ChatError::InvalidField(FieldError::new(field, message), Some(reason))
    }

    /// The stable reason, for tests and logs.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            ChatError::InvalidField(_, reason) => *reason,
            ChatError::NotFound(r, _)
            | ChatError::Denied(r, _, _)
            | ChatError::Precondition(r, _)
            | ChatError::AlreadyExists(r, _)
            | ChatError::Exhausted(r, _, _) => Some(r),
            _ => None,
        }
    }
}

impl From<FieldError> for ChatError {
    fn from(err: FieldError) -> Self {
        ChatError::InvalidField(err, None)
    }
}

impl From<Status> for ChatError {
    fn from(status: Status) -> Self {
        ChatError::Upstream(status)
    }
}

impl From<ChatError> for Status {
    fn from(err: ChatError) -> Self {
        let message = err.to_string();
        match err {
            ChatError::InvalidField(field, reason) => {
                let status = platform_error::invalid_field(&field.field, &field.reason);
                match reason {
                    Some(reason) => platform_error::with_reason(status, reason),
                    None => status,
                }
            }
            ChatError::NotFound(reason, _) => platform_error::refusal(Code::NotFound, message, reason, None),
            ChatError::Denied(reason, _, retry) => {
                platform_error::refusal(Code::PermissionDenied, message, reason, retry)
            }
            ChatError::Precondition(reason, _) => {
                platform_error::refusal(Code::FailedPrecondition, message, reason, None)
            }
            ChatError::AlreadyExists(reason, _) => platform_error::refusal(Code::AlreadyExists, message, reason, None),
            ChatError::Exhausted(reason, _, retry) => {
                platform_error::refusal(Code::ResourceExhausted, message, reason, retry)
            }
            ChatError::Upstream(status) => match status.code() {
                // A dependency's own failure is ours to report as unavailable.
                Code::Internal | Code::Unknown | Code::DeadlineExceeded => {
                    tracing::warn!(code = ?status.code(), message = status.message(), "upstream call failed");
                    Status::unavailable("a service chat depends on is unavailable; retry")
                }
                _ => status,
            },
            ChatError::Auth(auth) => auth.into(),
            ChatError::Database(db) => platform_error::db_status("chat", &db),
            ChatError::Redis(redis) => {
                tracing::warn!(error = %redis, "redis call failed");
                Status::unavailable("chat state is unavailable; retry")
            }
            ChatError::Internal(message) => platform_error::internal("chat", message),
        }
    }
}

pub type Result<T, E = ChatError> = std::result::Result<T, E>;
