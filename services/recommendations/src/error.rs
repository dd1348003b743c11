//! The recommendations role's failures, mapped once to gRPC statuses with
//! the stable reasons recommendations.proto lists (`hearth-reason`).

use std::time::Duration;

use hearth_platform::{auth::AuthError, error as platform_error, validate::FieldError};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum RecsError {
    #[error("{0}")]
    InvalidField(FieldError, Option<&'static str>),
    #[error("{1}")]
    NotFound(&'static str, String),
    #[error("{1}")]
    Denied(&'static str, String),
    #[error("{1}")]
    Precondition(&'static str, String),
    #[error("{1}")]
    Exhausted(&'static str, String, Duration),
    /// A service this role depends on answered with an error.
    #[error("{0}")]
    Upstream(Status),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

impl RecsError {
    /// An invalid field with a contract reason.
    pub fn field(field: &str, reason: &'static str, message: impl Into<String>) -> Self {
        RecsError::InvalidField(FieldError::new(field, message), Some(reason))
    }
}

impl From<FieldError> for RecsError {
    fn from(err: FieldError) -> Self {
        RecsError::InvalidField(err, None)
    }
}

impl From<Status> for RecsError {
    fn from(status: Status) -> Self {
        RecsError::Upstream(status)
    }
}

impl From<RecsError> for Status {
    fn from(err: RecsError) -> Self {
        let message = err.to_string();
        match err {
            RecsError::InvalidField(field, reason) => {
                let status = platform_error::invalid_field(&field.field, &field.reason);
                match reason {
                    Some(reason) => platform_error::with_reason(status, reason),
                    None => status,
                }
            }
            RecsError::NotFound(reason, _) => platform_error::refusal(Code::NotFound, message, reason, None),
            RecsError::Denied(reason, _) => platform_error::refusal(Code::PermissionDenied, message, reason, None),
            RecsError::Precondition(reason, _) => {
                platform_error::refusal(Code::FailedPrecondition, message, reason, None)
            }
            RecsError::Exhausted(reason, _, retry) => {
                platform_error::refusal(Code::ResourceExhausted, message, reason, Some(retry))
            }
            RecsError::Upstream(status) => match status.code() {
                Code::Internal | Code::Unknown | Code::DeadlineExceeded => {
                    tracing::warn!(code = ?status.code(), message = status.message(), "upstream call failed");
                    Status::unavailable("a service recommendations depend on is unavailable; retry")
                }
                _ => status,
            },
            RecsError::Auth(auth) => auth.into(),
            RecsError::Database(db) => platform_error::db_status("recommendations", &db),
            RecsError::Redis(redis) => {
                tracing::warn!(error = %redis, "redis call failed");
                Status::unavailable("recommendation state is unavailable; retry")
            }
        }
    }
}

pub type Result<T, E = RecsError> = std::result::Result<T, E>;
