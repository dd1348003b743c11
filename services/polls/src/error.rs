//! The polls service's failures, mapped once to gRPC statuses carrying the
//! stable reasons polls.proto lists (`hearth-reason` metadata) and, where a
//! retry can succeed, the retry delay (`hearth-retry-after-ms`).

use std::time::Duration;

use hearth_platform::{auth::AuthError, error as platform_error, validate::FieldError};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum PollsError {
    /// A request field is invalid; `reason` is the stable reason when the
    /// contract names one (`question_empty`, …).
    #[error("{}", .0.reason)]
    InvalidField(FieldError, Option<&'static str>),
    #[error("{1}")]
    NotFound(&'static str, String),
    #[error("{1}")]
    Denied(&'static str, String),
    #[error("{1}")]
    Precondition(&'static str, String),
    #[error("{1}")]
    AlreadyExists(&'static str, String),
    /// Limits, with the retry delay when one helps.
    #[error("{1}")]
    Exhausted(&'static str, String, Option<Duration>),
    /// A service polls depends on answered with an error (rooms, identity).
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

impl PollsError {
    /// An invalid field with a contract reason.
    pub fn field(field: &str, reason: &'static str, message: impl Into<String>) -> Self {
        PollsError::InvalidField(FieldError::new(field, message), Some(reason))
    }

    /// The stable reason, for tests and logs.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            PollsError::InvalidField(_, reason) => *reason,
            PollsError::NotFound(r, _)
            | PollsError::Denied(r, _)
            | PollsError::Precondition(r, _)
            | PollsError::AlreadyExists(r, _)
            | PollsError::Exhausted(r, _, _) => Some(r),
            _ => None,
        }
    }
}

impl From<FieldError> for PollsError {
    fn from(err: FieldError) -> Self {
        PollsError::InvalidField(err, None)
    }
}

impl From<Status> for PollsError {
    fn from(status: Status) -> Self {
        PollsError::Upstream(status)
    }
}

impl From<PollsError> for Status {
    fn from(err: PollsError) -> Self {
        let message = err.to_string();
        match err {
            PollsError::InvalidField(field, reason) => {
                let status = platform_error::invalid_field(&field.field, &field.reason);
                match reason {
                    Some(reason) => platform_error::with_reason(status, reason),
                    None => status,
                }
            }
            PollsError::NotFound(reason, _) => platform_error::refusal(Code::NotFound, message, reason, None),
            PollsError::Denied(reason, _) => platform_error::refusal(Code::PermissionDenied, message, reason, None),
            PollsError::Precondition(reason, _) => {
                platform_error::refusal(Code::FailedPrecondition, message, reason, None)
            }
            PollsError::AlreadyExists(reason, _) => platform_error::refusal(Code::AlreadyExists, message, reason, None),
            PollsError::Exhausted(reason, _, retry) => {
                platform_error::refusal(Code::ResourceExhausted, message, reason, retry)
            }
            PollsError::Upstream(status) => match status.code() {
                Code::Internal | Code::Unknown | Code::DeadlineExceeded => {
                    tracing::warn!(code = ?status.code(), message = status.message(), "upstream call failed");
                    Status::unavailable("a service polls depends on is unavailable; retry")
                }
                _ => status,
            },
            PollsError::Auth(auth) => auth.into(),
            PollsError::Database(db) => platform_error::db_status("polls", &db),
            PollsError::Redis(redis) => {
                tracing::warn!(error = %redis, "redis call failed");
                Status::unavailable("polls state is unavailable; retry")
            }
            PollsError::Internal(message) => platform_error::internal("polls", message),
        }
    }
}

pub type Result<T, E = PollsError> = std::result::Result<T, E>;
