//! Hearth's identity service: accounts, sessions and tokens, profiles, the
//! follow graph and blocks.
//!
//! Layout (shared by every service crate): `grpc` handlers, `domain` rules
//! (pure), `store` (Postgres, schema `identity`), `state` (Redis), `events`
//! (NATS), `error` (one error type mapped to gRPC statuses).

pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod provider;
pub mod state;
pub mod store;

use std::sync::Arc;

use hearth_platform::{
    Config,
    db::{self, DbError},
    deps::{self, Deps},
    grpc::GrpcServices,
};
use hearth_proto::identity::identity_service_server::IdentityServiceServer;
use tokio_util::sync::CancellationToken;

pub use grpc::IdentityApi;

/// The Postgres schema this service owns.
pub const SCHEMA: &str = "identity";

/// This service's migrations (run by `hearth migrate`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies this service's migrations.
pub async fn migrate(config: &Config) -> Result<(), DbError> {
    db::migrate(&config.database, SCHEMA, &MIGRATOR).await
}

pub use hearth_platform::deps::StartError;

/// The identity role, ready to be served alone or beside other roles.
pub struct Identity {
    api: IdentityApi,
}

impl Identity {
    /// Wires the role onto shared connections and starts its outbox relay.
    pub fn new(deps: &Deps, shutdown: CancellationToken) -> Result<Self, hearth_platform::grpc::GrpcError> {
        let store = store::Store::new(deps.pg.clone());
        let events = events::Events::new(deps.nats.clone());
        let outbox_wake = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(events.clone().relay(store.clone(), outbox_wake.clone(), shutdown));
        let api = IdentityApi {
            store,
            throttle: state::Throttle::new(deps.redis.clone(), deps.keys.clone()),
            events,
            keys: deps.tokens.clone(),
            auth: deps.config.auth.clone(),
            limits: deps.config.identity.clone(),
            outbox_wake,
            provider: provider::Provider::from_config(&deps.config.provider, &deps.config.services)?,
        };
        Ok(Self { api })
    }

    /// Adds `hearth.identity.v1.IdentityService` to the process's listener.
    pub fn register(&self, services: &mut GrpcServices) {
        services.add(IdentityServiceServer::new(self.api.clone()));
    }
}

/// Runs the identity role alone on `grpc.addr` until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    deps::serve_role(config, "hearth-identity", shutdown, |deps, shutdown| async move {
        let mut services = GrpcServices::default();
        Identity::new(&deps, shutdown)?.register(&mut services);
        Ok(services)
    })
    .await
}
