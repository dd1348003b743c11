//! The one mapping from failures to gRPC codes and to the stable error codes
//! that the WebSocket and HTTP APIs show clients.

use tonic::{Code, Status};

/// Metadata key naming the request field an INVALID_ARGUMENT is about.
pub const FIELD_METADATA: &str = "hearth-field";
/// Metadata key carrying a retry delay in milliseconds (RESOURCE_EXHAUSTED).
pub const RETRY_AFTER_METADATA: &str = "hearth-retry-after-ms";

/// INVALID_ARGUMENT about one field; the field is named in message and metadata.
pub fn invalid_field(field: &str, message: impl std::fmt::Display) -> Status {
    let mut status = Status::invalid_argument(format!("{field}: {message}"));
    if let Ok(value) = field.parse() {
        status.metadata_mut().insert(FIELD_METADATA, value);
    }
    status
}

/// Metadata key carrying a finer, stable snake_case reason (common.proto).
pub const REASON_METADATA: &str = "hearth-reason";

/// Attaches a stable reason (e.g. `invite_expired`) to a status.
pub fn with_reason(mut status: Status, reason: &str) -> Status {
    if let Ok(value) = reason.parse() {
        status.metadata_mut().insert(REASON_METADATA, value);
    }
    status
}

/// The reason a status carries, if any.
pub fn status_reason(status: &Status) -> Option<&str> {
    status.metadata().get(REASON_METADATA).and_then(|v| v.to_str().ok())
}

/// RESOURCE_EXHAUSTED with the time after which a retry may succeed.
pub fn rate_limited(message: impl Into<String>, retry_after: std::time::Duration) -> Status {
    with_retry_after(Status::resource_exhausted(message), retry_after)
}

/// Attaches the time after which a retry may succeed.
pub fn with_retry_after(mut status: Status, retry_after: std::time::Duration) -> Status {
    if let Ok(value) = retry_after.as_millis().to_string().parse() {
        status.metadata_mut().insert(RETRY_AFTER_METADATA, value);
    }
    status
}

/// A refusal as services send it: the code, the text, the stable reason
/// and, when a retry can succeed, its delay.
pub fn refusal(
    code: tonic::Code,
    message: impl Into<String>,
    reason: &str,
    retry_after: Option<std::time::Duration>,
) -> Status {
    let status = with_reason(Status::new(code, message), reason);
    match retry_after {
        Some(delay) => with_retry_after(status, delay),
        None => status,
    }
}

/// The field an INVALID_ARGUMENT status names, if any.
pub fn status_field(status: &Status) -> Option<&str> {
    status.metadata().get(FIELD_METADATA).and_then(|v| v.to_str().ok())
}

/// The retry delay a RESOURCE_EXHAUSTED status carries, if any.
pub fn status_retry_after(status: &Status) -> Option<std::time::Duration> {
    status
        .metadata()
        .get(RETRY_AFTER_METADATA)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_millis)
}

/// The gRPC code for a database failure: constraint violations become
/// client errors, connection trouble UNAVAILABLE, anything else INTERNAL.
pub fn db_code(err: &sqlx::Error) -> Code {
    match err {
        sqlx::Error::RowNotFound => Code::NotFound,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            Code::Unavailable
        }
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("23505") => Code::AlreadyExists,
            Some("23503") => Code::FailedPrecondition,
            Some("23514") | Some("22001") | Some("22P02") => Code::InvalidArgument,
            Some("40001") | Some("40P01") => Code::Aborted,
            Some(code) if code.starts_with("08") || code.starts_with("57P") => Code::Unavailable,
            _ => Code::Internal,
        },
        _ => Code::Internal,
    }
}

/// Stable snake_case error code shown to WebSocket and HTTP clients.
pub fn wire_code(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown | Code::Internal | Code::DataLoss => "internal",
        Code::InvalidArgument | Code::OutOfRange => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "rate_limited",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "conflict",
        Code::Unimplemented => "unsupported",
        Code::Unavailable => "unavailable",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// HTTP status for a gRPC code (as grpc-gateway maps them).
pub fn http_status(code: Code) -> u16 {
    match code {
        Code::Ok => 200,
        Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => 400,
        Code::Unauthenticated => 401,
        Code::PermissionDenied => 403,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted => 409,
        Code::ResourceExhausted => 429,
        Code::Cancelled => 499,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
        Code::DeadlineExceeded => 504,
        Code::Unknown | Code::Internal | Code::DataLoss => 500,
    }
}

/// Logs internal failures once, where they are turned into a status, and
/// hides their details from clients.
pub fn internal(context: &str, err: impl std::fmt::Display) -> Status {
    tracing::error!(error = %err, "{context}");
    Status::internal(format!("{context}: internal error"))
}

/// A status for a database failure, logging what clients must not see.
pub fn db_status(context: &str, err: &sqlx::Error) -> Status {
    match db_code(err) {
        Code::Unavailable => {
            tracing::warn!(error = %err, "{context}: database unavailable");
            Status::unavailable("database unavailable, retry later")
        }
        Code::Internal => internal(context, err),
        code => Status::new(
            code,
            format!("{context}: {}", err.as_database_error().map(|d| d.message()).unwrap_or("conflict")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_travels_in_metadata() {
        let status = invalid_field("username", "too short");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status_field(&status), Some("username"));
        assert!(status.message().contains("username"));
    }

    #[test]
    fn codes_map_to_http() {
        assert_eq!(http_status(Code::AlreadyExists), 409);
        assert_eq!(http_status(Code::InvalidArgument), 400);
        assert_eq!(wire_code(Code::ResourceExhausted), "rate_limited");
    }

    #[test]
    fn retry_after_round_trips() {
        let status = rate_limited("slow down", std::time::Duration::from_millis(1500));
        assert_eq!(status_retry_after(&status), Some(std::time::Duration::from_millis(1500)));
    }
}
