//! Hearth's recommendations role: what to watch next, and with whom
//! (docs/recommendations.md).
//!
//! Signals arrive on two durable JetStream consumers (`consumer`): the
//! provider's viewing events and Hearth's own engagement signals. Taste is
//! aggregated per user and item with time decay in Postgres (exactly once
//! per event), trending counters and who-watches-what live in Redis, and a
//! leased replica refits EASE for because-you-watched (`model`). Lists are
//! served from that precomputed data.
//!
//! Layout (shared by every service crate): `grpc` handlers, `domain` rules
//! (pure), `store` (Postgres, schema `recs`), `state` (Redis), `events`
//! (NATS), `error`; plus `consumer`, `model` and `peers` (the services it
//! asks).

pub mod consumer;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod model;
pub mod parties;
pub mod peers;
pub mod state;
pub mod store;

use hearth_platform::{
    Config,
    auth::ServiceCredential,
    db::{self, DbError},
    deps::{self, Deps},
    grpc::GrpcServices,
    redis::Lease,
};
use hearth_proto::hearth::{
    provider::v1::catalog_service_client::CatalogServiceClient,
    recommendations::v1::recommendations_service_server::RecommendationsServiceServer,
    rooms::v1::{room_access_service_client::RoomAccessServiceClient, rooms_service_client::RoomsServiceClient},
};
use tokio_util::sync::CancellationToken;

pub use grpc::RecsApi;

/// The Postgres schema this role owns.
pub const SCHEMA: &str = "recs";

/// This role's migrations (run by `hearth migrate`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies this role's migrations.
pub async fn migrate(config: &Config) -> Result<(), DbError> {
    db::migrate(&config.database, SCHEMA, &MIGRATOR).await
}

pub use hearth_platform::deps::StartError;

/// The recommendations role, ready to be served alone or beside others.
pub struct Recommendations {
    api: RecsApi,
}

impl Recommendations {
    /// Wires the role onto shared connections and starts its consumers and
    /// the model's leader loop.
    pub async fn new(deps: &Deps, shutdown: CancellationToken) -> Result<Self, hearth_platform::grpc::GrpcError> {
        let services = &deps.config.services;
        let channel =
            |url: &str| hearth_platform::grpc::channel(url, services.connect_timeout, services.request_timeout);
        let config = deps.config.recommendations.clone();
        hearth_recs_algorithms::set_fit_threads(config.model_threads as usize);
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let catalog = if services.provider_url.trim().is_empty() {
            None
        } else {
            Some(CatalogServiceClient::new(channel(&services.provider_url)?))
        };
        let peers = peers::Peers::new(
            hearth_proto::identity::identity_service_client::IdentityServiceClient::new(channel(
                &services.identity_url,
            )?),
            RoomsServiceClient::new(channel(&services.rooms_url)?),
            RoomAccessServiceClient::new(channel(&services.rooms_url)?),
            catalog,
            ServiceCredential::new(deps.tokens.clone(), "recommendations", &instance),
        );
        let store = store::Store::new(deps.pg.clone());
        let state = state::State::new(deps.redis.clone(), deps.keys.clone());
        let events = events::Events::new(deps.nats.clone());
        if let Err(error) = deps.nats.ensure_stream("recommendations", hearth_platform::signals::SIGNALS_MAX_AGE).await
        {
            tracing::warn!(%error, "RECOMMENDATIONS stream unavailable; the consumer retries");
        }
        let consumer = consumer::ConsumerDeps {
            nats: deps.nats.clone(),
            store: store.clone(),
            state: state.clone(),
            config: config.clone(),
            viewing_dedupe_window: deps.config.provider.viewing_dedupe_window,
            parties: parties::Parties { store: store.clone(), peers: peers.clone(), events: events.clone() },
        };
        for source in [consumer::Source::Viewing, consumer::Source::Signals] {
            tokio::spawn(consumer::run(source, consumer.clone(), shutdown.clone()));
        }
        let lease = Lease::new(deps.redis.clone(), &deps.keys, "recommendations-model", model::LEASE);
        tokio::spawn(model::run(store.clone(), lease, config.clone(), shutdown));
        let api = RecsApi { store, state, events, peers, tokens: deps.tokens.clone(), config };
        Ok(Self { api })
    }

    /// Adds RecommendationsService to the process's listener.
    pub fn register(&self, services: &mut GrpcServices) {
        services.add(RecommendationsServiceServer::new(self.api.clone()));
    }
}

/// Runs the recommendations role alone on `grpc.addr` until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    deps::serve_role(config, "hearth-recommendations", shutdown, |deps, shutdown| async move {
        let mut services = GrpcServices::default();
        Recommendations::new(&deps, shutdown).await?.register(&mut services);
        Ok(services)
    })
    .await
}
