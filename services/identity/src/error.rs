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
    /// Only Hearth services may call this.
    #[error("{0} is for Hearth services")]
    ServicesOnly(&'static str),
    #[error("too many attempts; retry in {} s", .0.as_secs().max(1))]
    Throttled(Duration),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("password hashing: {0}")]
    Hashing(String),
    /// The IPTV provider refused the viewer's token.
    #[error("the provider refused the token: {0}")]
    ProviderRefused(String),
    /// The provider account is suspended or closed.
    #[error("the provider account is suspended: {0}")]
    ProviderSuspended(String),
    /// The provider did not answer (or answered what the contract forbids).
    #[error("the IPTV provider is unavailable: {0}")]
    ProviderUnavailable(String),
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
            IdentityError::ServicesOnly(_) => Status::permission_denied(err.to_string()),
            IdentityError::Throttled(retry) => platform_error::rate_limited(err.to_string(), retry),
            IdentityError::Auth(auth) => auth.into(),
            IdentityError::Database(db) => platform_error::db_status("identity", &db),
            IdentityError::Hashing(message) => platform_error::internal("password hashing", message),
            IdentityError::ProviderRefused(_) => {
                platform_error::with_reason(Status::unauthenticated(err.to_string()), "provider_token_invalid")
            }
            IdentityError::ProviderSuspended(_) => {
                platform_error::with_reason(Status::permission_denied(err.to_string()), "provider_account_suspended")
            }
            IdentityError::ProviderUnavailable(_) => Status::unavailable(err.to_string()),
        }
    }
}

pub type Result<T, E = IdentityError> = std::result::Result<T, E>;
