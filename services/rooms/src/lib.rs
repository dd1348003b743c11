//! Hearth's rooms service: watch parties, channel and community rooms, their
//! membership, bans and invites, presence, and the server-authoritative
//! group playback that keeps a room's players in sync (docs/rooms.md,
//! docs/sync.md).
//!
//! Layout (shared by every service crate): `grpc` handlers, `domain` rules
//! (pure), `store` (Postgres, schema `rooms`), `state` (Redis), `events`
//! (NATS), `error` (one error type mapped to gRPC statuses), plus the
//! `sweeper` every replica runs and the `signals` task that feeds the
//! recommendations role.

pub mod blocks;
pub mod catalog;
pub mod catalog_sync;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod signals;
pub mod state;
pub mod store;
pub mod sweeper;

use hearth_platform::{
    Config,
    db::{self, DbError},
    deps::{self, Deps},
    grpc::GrpcServices,
};
use hearth_proto::hearth::rooms::v1::{
    room_access_service_server::RoomAccessServiceServer, room_presence_service_server::RoomPresenceServiceServer,
    rooms_service_server::RoomsServiceServer,
};
use tokio_util::sync::CancellationToken;

pub use grpc::RoomsApi;

/// The Postgres schema this service owns.
pub const SCHEMA: &str = "rooms";

/// This service's migrations (run by `hearth migrate`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies this service's migrations.
pub async fn migrate(config: &Config) -> Result<(), DbError> {
    db::migrate(&config.database, SCHEMA, &MIGRATOR).await
}

pub use hearth_platform::deps::StartError;

/// The rooms role, ready to be served alone or beside other roles.
pub struct Rooms {
    api: RoomsApi,
}

impl Rooms {
    /// Wires the role onto shared connections and starts its sweeper, the
    /// catalog consumer (catalog_sync) and the engagement-signal task.
    pub async fn new(deps: &Deps, shutdown: CancellationToken) -> Self {
        let events = events::Events::new(deps.nats.clone());
        events.ensure_stream().await;
        let services = &deps.config.services;
        let identity =
            hearth_platform::grpc::channel(&services.identity_url, services.connect_timeout, services.request_timeout)
                .map_err(|error| tracing::warn!(%error, "identity unreachable: rooms show user ids only"))
                .ok()
                .map(hearth_proto::identity::identity_service_client::IdentityServiceClient::new);
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let credential = hearth_platform::auth::ServiceCredential::new(deps.tokens.clone(), "rooms", &instance);
        let blocks = blocks::Blocks::new(identity.clone(), credential.clone());
        let catalog = catalog::Catalog::new(
            &services.provider_url,
            services.connect_timeout,
            services.request_timeout,
            credential,
        );
        let store = store::Store::new(deps.pg.clone());
        let state = state::State::new(deps.redis.clone(), deps.keys.clone());
        let signals = signals::Signals::spawn(
            deps.nats.clone(),
            state.clone(),
            store.clone(),
            deps.config.rooms.presence_ttl,
            shutdown.clone(),
        );
        let api = RoomsApi {
            catalog,
            profiles: hearth_platform::profiles::Profiles::new(identity),
            blocks,
            store,
            state,
            events,
            signals,
            tokens: deps.tokens.clone(),
            config: deps.config.rooms.clone(),
        };
        tokio::spawn(sweeper::run(api.clone(), deps.config.rooms.sweep_interval, shutdown.clone()));
        tokio::spawn(catalog_sync::run(
            api.clone(),
            deps.nats.clone(),
            deps.config.provider.viewing_dedupe_window,
            shutdown,
        ));
        Self { api }
    }

    /// Adds RoomsService, RoomPresenceService and RoomAccessService to the process's listener.
    pub fn register(&self, services: &mut GrpcServices) {
        services.add(RoomsServiceServer::new(self.api.clone()));
        services.add(RoomPresenceServiceServer::new(self.api.clone()));
        services.add(RoomAccessServiceServer::new(self.api.clone()));
    }
}

/// Runs the rooms role alone on `grpc.addr` until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    deps::serve_role(config, "hearth-rooms", shutdown, |deps, shutdown| async move {
        let mut services = GrpcServices::default();
        Rooms::new(&deps, shutdown).await.register(&mut services);
        Ok(services)
    })
    .await
}
