//! Hearth's chat service: ordered, durable, resumable and moderated chat in
//! every room (docs/chat.md).
//!
//! Layout (shared by every service crate): `grpc` handlers, `domain` rules
//! (pure), `store` (Postgres, schema `chat`), `state` (Redis), `events`
//! (NATS), `error` (one error type mapped to gRPC statuses), plus `convert`
//! (rows ↔ protos), and what every replica runs besides requests: the
//! outbox `relay`, the `audit` consumer, the held-message `sweeper` and the
//! `signals` task that feeds the recommendations role.

pub mod audit;
pub mod convert;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod publisher;
pub mod relay;
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
use hearth_proto::hearth::{
    chat::v1::{chat_access_service_server::ChatAccessServiceServer, chat_service_server::ChatServiceServer},
    rooms::v1::room_access_service_client::RoomAccessServiceClient,
};
use tokio_util::sync::CancellationToken;

pub use grpc::ChatApi;
pub use hearth_platform::deps::StartError;

/// The Postgres schema this service owns.
pub const SCHEMA: &str = "chat";

/// This service's migrations (run by `hearth migrate`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies this service's migrations.
pub async fn migrate(config: &Config) -> Result<(), DbError> {
    db::migrate(&config.database, SCHEMA, &MIGRATOR).await
}

/// The chat role, ready to be served alone or beside other roles.
pub struct Chat {
    api: ChatApi,
}

impl Chat {
    /// Wires the role onto shared connections and starts its outbox relay,
    /// live-reaction flusher, audit consumer, held-message sweeper and
    /// engagement-signal task.
    pub async fn new(deps: &Deps, shutdown: CancellationToken) -> Result<Self, hearth_platform::grpc::GrpcError> {
        let events = events::Events::new(deps.nats.clone());
        events.ensure_stream().await;
        let services = &deps.config.services;
        let channel =
            |url: &str| hearth_platform::grpc::channel(url, services.connect_timeout, services.request_timeout);
        let identity = hearth_proto::identity::identity_service_client::IdentityServiceClient::new(channel(
            &services.identity_url,
        )?);
        let store = store::Store::new(deps.pg.clone());
        let state = state::State::new(deps.redis.clone(), deps.keys.clone());
        let publisher =
            publisher::Publisher::spawn(state.clone(), events.clone(), store.clone(), deps.config.chat.recent_window);
        let api = ChatApi {
            store,
            state,
            events,
            publisher,
            signals: signals::Signals::spawn(deps.nats.clone(), shutdown.clone()),
            tokens: deps.tokens.clone(),
            config: deps.config.chat.clone(),
            rooms: RoomAccessServiceClient::new(channel(&services.rooms_url)?),
            profiles: hearth_platform::profiles::Profiles::new(Some(identity.clone())),
            identity,
            caches: Default::default(),
        };
        tokio::spawn(relay::run(api.clone(), deps.config.chat.outbox_interval, shutdown.clone()));
        tokio::spawn(grpc::flush_live_reactions(api.clone(), shutdown.clone()));
        tokio::spawn(audit::run(deps.nats.clone(), api.store.clone(), shutdown.clone()));
        tokio::spawn(sweeper::run(api.clone(), shutdown));
        Ok(Self { api })
    }

    /// Adds ChatService and ChatAccessService to the process's listener.
    pub fn register(&self, services: &mut GrpcServices) {
        services.add(ChatServiceServer::new(self.api.clone()));
        services.add(ChatAccessServiceServer::new(self.api.clone()));
    }
}

/// Runs the chat role alone on `grpc.addr` until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    deps::serve_role(config, "hearth-chat", shutdown, |deps, shutdown| async move {
        let mut services = GrpcServices::default();
        Chat::new(&deps, shutdown).await?.register(&mut services);
        Ok(services)
    })
    .await
}
