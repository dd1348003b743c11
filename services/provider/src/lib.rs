//! Hearth's provider role: Hearth's side of the operator's IPTV platform
//! (docs/provider-integration.md).
//!
//! It keeps a catalog (Postgres schema `catalog`) in step with the
//! operator's IptvProvider — channels by listing and WatchCatalog, the
//! guide by GetGuide windows — and takes the operator's pushes and viewing
//! events over ProviderIngest. Every change is announced on JetStream
//! (`provider.catalog.*`), which the rooms role follows to keep one channel
//! room per channel and programme rooms; a guide clock announces what airs
//! now as programmes start and end. CatalogService lets other roles read
//! the catalog and check entitlements.
//!
//! Layout (shared by every service crate): `grpc` handlers, `domain` rules
//! (pure), `store` (Postgres), `state` (Redis), `events` (NATS), `error`;
//! plus `catalog` (the one write path), `sync` (the leader's loops),
//! `upstream` (the operator's IptvProvider), `links` (identity's provider
//! links) and `entitlements`.

pub mod catalog;
pub mod domain;
pub mod entitlements;
pub mod error;
pub mod events;
pub mod grpc;
pub mod links;
pub mod state;
pub mod store;
pub mod sync;
pub mod upstream;

use hearth_platform::{
    Config,
    auth::ServiceCredential,
    db::{self, DbError},
    deps::{self, Deps},
    grpc::GrpcServices,
};
use hearth_proto::hearth::provider::v1::{
    catalog_service_server::CatalogServiceServer, provider_ingest_server::ProviderIngestServer,
};
use tokio_util::sync::CancellationToken;

pub use grpc::{CatalogApi, IngestApi};

/// The Postgres schema this role owns.
pub const SCHEMA: &str = "catalog";

/// This role's migrations (run by `hearth migrate`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies this role's migrations.
pub async fn migrate(config: &Config) -> Result<(), DbError> {
    db::migrate(&config.database, SCHEMA, &MIGRATOR).await
}

pub use hearth_platform::deps::StartError;

/// The provider role, ready to be served alone or beside other roles.
pub struct Provider {
    catalog: CatalogApi,
    ingest: IngestApi,
}

impl Provider {
    /// Wires the role onto shared connections and starts catalog sync
    /// (which runs on whichever replica holds the lease).
    pub async fn new(deps: &Deps, shutdown: CancellationToken) -> Result<Self, hearth_platform::grpc::GrpcError> {
        let config = deps.config.provider.clone();
        let services = &deps.config.services;
        let events = events::Events::new(deps.nats.clone(), config.viewing_dedupe_window);
        if let Err(error) = events.ensure_stream().await {
            tracing::warn!(%error, "PROVIDER stream unavailable; catalog changes wait in the outbox");
        }
        let store = store::Store::new(deps.pg.clone());
        let state = state::State::new(deps.redis.clone(), deps.keys.clone());
        let upstream = upstream::Upstream::from_config(&config, services)?;
        if upstream.is_none() {
            tracing::info!("no provider.url: the catalog takes ProviderIngest pushes only; everyone is entitled");
        }
        let identity =
            hearth_platform::grpc::channel(&services.identity_url, services.connect_timeout, services.request_timeout)?;
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let links = links::Links::new(
            hearth_proto::identity::identity_service_client::IdentityServiceClient::new(identity),
            ServiceCredential::new(deps.tokens.clone(), "provider", &instance),
        );
        let catalog = catalog::Catalog { store: store.clone(), events };
        let lease = hearth_platform::redis::Lease::new(deps.redis.clone(), &deps.keys, "provider-sync", sync::LEASE);
        let sync = sync::Sync { catalog: catalog.clone(), lease, upstream: upstream.clone(), config: config.clone() };
        tokio::spawn(sync::run(sync, shutdown));
        let entitlements = entitlements::Entitlements {
            upstream,
            links: links.clone(),
            state,
            cache_max: config.entitlement_cache_max,
        };
        Ok(Self {
            catalog: CatalogApi { store, tokens: deps.tokens.clone(), entitlements },
            ingest: IngestApi { catalog, links, config },
        })
    }

    /// Adds CatalogService and ProviderIngest to the process's listener.
    pub fn register(&self, services: &mut GrpcServices) {
        services.add(CatalogServiceServer::new(self.catalog.clone()));
        services.add(ProviderIngestServer::new(self.ingest.clone()));
    }
}

/// Runs the provider role alone on `grpc.addr` until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    deps::serve_role(config, "hearth-provider", shutdown, |deps, shutdown| async move {
        let mut services = GrpcServices::default();
        Provider::new(&deps, shutdown).await?.register(&mut services);
        Ok(services)
    })
    .await
}
