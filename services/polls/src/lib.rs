//! Hearth's polls service: polls, Kahoot-style quizzes, Twitch-style
//! predictions with virtual points, and Q&A in rooms (docs/polls.md).
//!
//! Layout (shared by every service crate): `grpc` handlers, `domain` rules
//! (pure), `store` (Postgres, schema `polls`), `state` (Redis), `events`
//! (NATS), `error` (one error type mapped to gRPC statuses), plus what
//! every replica runs besides requests: the durable `timers`, the outbox
//! `relay`, the `live` counter broadcaster and the `signals` task that
//! feeds the recommendations role.

pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod live;
pub mod relay;
pub mod signals;
pub mod state;
pub mod store;
pub mod timers;

use hearth_platform::{
    Config,
    auth::ServiceCredential,
    db::{self, DbError},
    deps::{self, Deps},
    grpc::GrpcServices,
};
use hearth_proto::hearth::{
    polls::v1::{
        polls_gateway_service_server::PollsGatewayServiceServer, polls_service_server::PollsServiceServer,
        predictions_service_server::PredictionsServiceServer, qna_service_server::QnaServiceServer,
        quiz_service_server::QuizServiceServer,
    },
    rooms::v1::room_access_service_client::RoomAccessServiceClient,
};
use tokio_util::sync::CancellationToken;

pub use grpc::{PollsApi, SERVICE_HEADER};
pub use hearth_platform::deps::StartError;

/// The Postgres schema this service owns.
pub const SCHEMA: &str = "polls";

/// This service's migrations (run by `hearth migrate`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies this service's migrations.
pub async fn migrate(config: &Config) -> Result<(), DbError> {
    db::migrate(&config.database, SCHEMA, &MIGRATOR).await
}

/// The polls role, ready to be served alone or beside other roles.
pub struct Polls {
    api: PollsApi,
}

impl Polls {
    /// Wires the role onto shared connections and starts its vote writer,
    /// timers, outbox relay, live-counter broadcaster and engagement-signal
    /// task.
    pub async fn new(deps: &Deps, shutdown: CancellationToken) -> Result<Self, hearth_platform::grpc::GrpcError> {
        let events = events::Events::new(deps.nats.clone());
        events.ensure_stream().await;
        let services = &deps.config.services;
        let channel =
            |url: &str| hearth_platform::grpc::channel(url, services.connect_timeout, services.request_timeout);
        let identity = hearth_proto::identity::identity_service_client::IdentityServiceClient::new(channel(
            &services.identity_url,
        )?);
        let config = deps.config.polls.clone();
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let mut api = PollsApi {
            store: store::Store::new(deps.pg.clone()),
            state: state::State::new(deps.redis.clone(), deps.keys.clone()),
            events,
            tokens: deps.tokens.clone(),
            rooms: RoomAccessServiceClient::new(channel(&services.rooms_url)?),
            chat: hearth_proto::hearth::chat::v1::chat_access_service_client::ChatAccessServiceClient::new(channel(
                &services.chat_url,
            )?),
            profiles: hearth_platform::profiles::Profiles::new(Some(identity)),
            credential: ServiceCredential::new(deps.tokens.clone(), "polls", &instance),
            live: live::Live::default(),
            signals: signals::Signals::spawn(deps.nats.clone(), shutdown.clone()),
            votes: grpc::votes::VoteWriter::detached(),
            config: config.clone(),
        };
        api.votes = grpc::votes::VoteWriter::spawn(api.clone(), shutdown.clone());
        tokio::spawn(timers::run(api.clone(), config.timer_interval, shutdown.clone()));
        tokio::spawn(relay::run(api.clone(), config.timer_interval * 5, shutdown.clone()));
        tokio::spawn(live::run(api.clone(), shutdown));
        Ok(Self { api })
    }

    /// Adds the four interaction services, and the gateways' vote intake, to
    /// the process's listener.
    pub fn register(&self, services: &mut GrpcServices) {
        services.add(PollsServiceServer::new(self.api.clone()));
        services.add(PollsGatewayServiceServer::new(self.api.clone()));
        services.add(QuizServiceServer::new(self.api.clone()));
        services.add(PredictionsServiceServer::new(self.api.clone()));
        services.add(QnaServiceServer::new(self.api.clone()));
    }
}

/// Runs the polls role alone on `grpc.addr` until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    deps::serve_role(config, "hearth-polls", shutdown, |deps, shutdown| async move {
        let mut services = GrpcServices::default();
        Polls::new(&deps, shutdown).await?.register(&mut services);
        Ok(services)
    })
    .await
}
