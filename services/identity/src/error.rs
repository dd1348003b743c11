//! Identity's failures, mapped once to precise gRPC statuses.

use std::time::Duration;

use hearth_platform::{auth::AuthError, error as platform_error};
use tonic::Status;

use crate::domain::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{}: {}", .0.field, .0.reason)]
    InvalidField(FieldError),
    #[error("username is already taken")]
    UsernameTaken,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("refresh token is invalid, expired or revoked")]
    BadRefreshToken,
    #[error("refresh token was already used: the session has been revoked")]
    RefreshTokenReused,
    #[error("session is no longer valid")]
    SessionRevoked,
    #[error("user not found")]
    UserNotFound,
    #[error("{0}")]
    Precondition(&'static str),
    #[error("too many attempts; retry in {} s", .0.as_secs().max(1))]
    Throttled(Duration),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("password hashing: {0}")]
    Hashing(String),
}

impl From<FieldError> for IdentityError {
    fn from(err: FieldError) -> Self {
        IdentityError::InvalidField(err)
    }
}

impl From<IdentityError> for Status {
    fn from(err: IdentityError) -> Self {
        match err {
            IdentityError::InvalidField(field) => platform_error::invalid_field(field.field, field.reason),
            IdentityError::UsernameTaken => Status::already_exists(err.to_string()),
            IdentityError::BadCredentials
            | IdentityError::BadRefreshToken
            | IdentityError::RefreshTokenReused
            | IdentityError::SessionRevoked => Status::unauthenticated(err.to_string()),
            IdentityError::UserNotFound => Status::not_found(err.to_string()),
            IdentityError::Precondition(_) => Status::failed_precondition(err.to_string()),
            IdentityError::Throttled(retry) => platform_error::rate_limited(err.to_string(), retry),
            IdentityError::Auth(auth) => auth.into(),
            IdentityError::Database(db) => platform_error::db_status("identity", &db),
            IdentityError::Hashing(message) => platform_error::internal("password hashing", message),
        }
    }
}

pub type Result<T, E = IdentityError> = std::result::Result<T, E>;
