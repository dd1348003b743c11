//! The provider role's failures, mapped once to gRPC statuses carrying
//! stable reasons (`hearth-reason`) and the offending field
//! (`hearth-field`) as provider.proto and catalog.proto list them.

use hearth_platform::{auth::AuthError, error as platform_error, validate::FieldError};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// A request field is invalid.
    #[error("{0}")]
    InvalidField(FieldError),
    #[error("{1}")]
    NotFound(&'static str, FieldError),
    #[error("{0}")]
    Denied(String),
    /// The ingest key is missing or wrong.
    #[error("{0}")]
    Unauthenticated(String),
    /// The operator's IptvProvider (or identity) failed or broke the
    /// contract.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("nats: {0}")]
    Nats(#[from] hearth_platform::nats::NatsError),
}

impl From<FieldError> for ProviderError {
    fn from(err: FieldError) -> Self {
        ProviderError::InvalidField(err)
    }
}

impl From<ProviderError> for Status {
    fn from(err: ProviderError) -> Self {
        let message = err.to_string();
        match err {
            ProviderError::InvalidField(field) => platform_error::invalid_field(&field.field, &field.reason),
            ProviderError::NotFound(reason, field) => {
                let mut status = platform_error::refusal(Code::NotFound, message, reason, None);
                if let Ok(value) = field.field.parse() {
                    status.metadata_mut().insert(platform_error::FIELD_METADATA, value);
                }
                status
            }
            ProviderError::Denied(message) => Status::permission_denied(message),
            ProviderError::Unauthenticated(message) => Status::unauthenticated(message),
            ProviderError::Unavailable(message) => Status::unavailable(message),
            ProviderError::Auth(auth) => auth.into(),
            ProviderError::Database(db) => platform_error::db_status("provider", &db),
            ProviderError::Redis(redis) => {
                tracing::warn!(error = %redis, "redis call failed");
                Status::unavailable("catalog state is unavailable; retry")
            }
            ProviderError::Nats(nats) => {
                tracing::warn!(error = %nats, "nats call failed");
                Status::unavailable("the event stream is unavailable; nothing was stored; retry")
            }
        }
    }
}

pub type Result<T, E = ProviderError> = std::result::Result<T, E>;
