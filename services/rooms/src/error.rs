//! The rooms service's failures, mapped once to gRPC statuses carrying the
//! stable reasons rooms.proto lists (`hearth-reason` metadata).

use hearth_platform::{auth::AuthError, error as platform_error, validate::FieldError};
use tonic::{Code, Status};

use crate::domain::{playback::PlaybackError, roles::Denied};

#[derive(Debug, thiserror::Error)]
pub enum RoomsError {
    #[error("{0}")]
    InvalidField(FieldError),
    #[error("{1}")]
    NotFound(&'static str, &'static str),
    #[error("{1}")]
    Denied(&'static str, String),
    #[error("{1}")]
    Precondition(&'static str, String),
    #[error("{1}")]
    AlreadyExists(&'static str, String),
    #[error("{1}")]
    Exhausted(&'static str, String),
    /// A dependency that must answer for the act (the catalog, on an
    /// entitlement check) could not: the act is refused, never let through.
    #[error("{1}")]
    Unavailable(&'static str, String),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("{0}")]
    Internal(String),
}

impl From<FieldError> for RoomsError {
    fn from(err: FieldError) -> Self {
        RoomsError::InvalidField(err)
    }
}

impl From<Denied> for RoomsError {
    fn from(denied: Denied) -> Self {
        let message = match denied {
            Denied::NotMember => "only members of the room may do this",
            Denied::NotHost => "only the room's hosts may do this",
            Denied::NotOwner => "only the room's owner may do this",
            Denied::InsufficientRole => "your role in the room does not allow this",
            Denied::OperatorOnly => "only operator admins may do this for channel and programme rooms",
        };
        RoomsError::Denied(denied.reason(), message.into())
    }
}

impl From<PlaybackError> for RoomsError {
    fn from(err: PlaybackError) -> Self {
        match err {
            PlaybackError::InvalidRate => {
                RoomsError::InvalidField(FieldError::new("rate", "must be a number from 0.5 to 2.0"))
            }
            PlaybackError::NoMedia => RoomsError::Precondition(err.reason(), "the room has no media to play".into()),
            PlaybackError::LiveMedia => RoomsError::Precondition(
                err.reason(),
                "live channels have no shared position: play, pause, seek and rate do not apply".into(),
            ),
            PlaybackError::MediaFixed => {
                RoomsError::Precondition(err.reason(), "channel and programme rooms cannot change media".into())
            }
            PlaybackError::QueueEmpty => RoomsError::Precondition(err.reason(), "the queue is empty".into()),
        }
    }
}

impl From<RoomsError> for Status {
    fn from(err: RoomsError) -> Self {
        let message = err.to_string();
        match err {
            RoomsError::InvalidField(field) => {
                // A reason may lead the text ("invalid_media: ..."); carry it too.
                let status = platform_error::invalid_field(&field.field, &field.reason);
                match field.reason.split_once(": ") {
                    Some((reason, _)) if reason.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') => {
                        platform_error::with_reason(status, reason)
                    }
                    _ => status,
                }
            }
            RoomsError::NotFound(reason, _) => platform_error::refusal(Code::NotFound, message, reason, None),
            RoomsError::Denied(reason, _) => platform_error::refusal(Code::PermissionDenied, message, reason, None),
            RoomsError::Precondition(reason, _) => {
                platform_error::refusal(Code::FailedPrecondition, message, reason, None)
            }
            RoomsError::AlreadyExists(reason, _) => platform_error::refusal(Code::AlreadyExists, message, reason, None),
            RoomsError::Exhausted(reason, _) => platform_error::refusal(Code::ResourceExhausted, message, reason, None),
            RoomsError::Unavailable(reason, _) => platform_error::refusal(Code::Unavailable, message, reason, None),
            RoomsError::Auth(auth) => auth.into(),
            RoomsError::Database(db) => platform_error::db_status("rooms", &db),
            RoomsError::Redis(redis) => {
                tracing::warn!(error = %redis, "redis call failed");
                Status::unavailable("room state is unavailable; retry")
            }
            RoomsError::Internal(message) => platform_error::internal("rooms", message),
        }
    }
}

pub type Result<T, E = RoomsError> = std::result::Result<T, E>;
