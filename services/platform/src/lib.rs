//! Hearth's shared plumbing — the only code services share: configuration,
//! telemetry and trace propagation, Postgres/Redis/NATS connections, access
//! token verification, the cached profile lookup every service shows users
//! with, gRPC serving with health and reflection, the one mapping from
//! failures to gRPC codes and client-facing error codes, and the publisher
//! of engagement signals for the recommendations role.

pub mod auth;
pub mod config;
pub mod db;
pub mod deps;
pub mod error;
pub mod grpc;
pub mod http;
pub mod metrics;
pub mod nats;
pub mod probes;
pub mod profiles;
pub mod propagation;
pub mod redis;
pub mod secret;
pub mod shutdown;
pub mod signals;
pub mod telemetry;
pub mod validate;
pub mod wkt;

pub use config::Config;
