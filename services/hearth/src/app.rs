//! Starting a set of roles in one process: the one code path shared by
//! `hearth serve`, `hearth dev` and the integration-test harness.

use std::net::SocketAddr;

use hearth_platform::{
    Config,
    deps::{Deps, DepsError},
    grpc::{self, GrpcError, GrpcServices},
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::roles::Role;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Deps(#[from] DepsError),
    #[error(transparent)]
    Grpc(#[from] GrpcError),
    #[error(transparent)]
    Gateway(#[from] hearth_gateway::GatewayError),
    #[error(transparent)]
    Migrate(#[from] hearth_platform::db::DbError),
    #[error("a role stopped unexpectedly: {0}")]
    Task(String),
}

/// A running set of roles.
pub struct App {
    /// The shared gRPC listener, when a service role runs here.
    pub grpc_addr: Option<SocketAddr>,
    /// The HTTP/WebSocket listener, when the gateway runs here.
    pub gateway_addr: Option<SocketAddr>,
    pub deps: Deps,
    tasks: JoinSet<Result<(), AppError>>,
    shutdown: CancellationToken,
}

/// Runs every owned schema's migrations (idempotent; safe concurrently).
pub async fn migrate(config: &Config) -> Result<(), AppError> {
    hearth_platform::db::ensure_database(&config.database).await?;
    hearth_identity::migrate(config).await?;
    hearth_rooms::migrate(config).await?;
    hearth_chat::migrate(config).await?;
    hearth_polls::migrate(config).await?;
    hearth_provider::migrate(config).await?;
    hearth_recommendations::migrate(config).await?;
    Ok(())
}

impl App {
    /// Binds every listener and starts the roles; returns once they serve.
    pub async fn start(mut config: Config, roles: &[Role], shutdown: CancellationToken) -> Result<Self, AppError> {
        let mut tasks = JoinSet::new();
        let mut services = GrpcServices::default();

        // Bind first: co-hosted roles must know the real gRPC port.
        let grpc_listener = if roles.iter().any(|r| *r != Role::Gateway) {
            let listener = grpc::bind(config.grpc.addr).await?;
            let local = listener.local_addr().map_err(|source| GrpcError::Bind { addr: config.grpc.addr, source })?;
            if roles.contains(&Role::Identity) {
                config.services.identity_url = format!("http://{}", loopback(local));
            }
            if roles.contains(&Role::Rooms) {
                config.services.rooms_url = format!("http://{}", loopback(local));
            }
            if roles.contains(&Role::Chat) {
                config.services.chat_url = format!("http://{}", loopback(local));
            }
            if roles.contains(&Role::Polls) {
                config.services.polls_url = format!("http://{}", loopback(local));
            }
            if roles.contains(&Role::Provider) {
                config.services.provider_url = format!("http://{}", loopback(local));
            }
            if roles.contains(&Role::Recommendations) {
                config.services.recommendations_url = format!("http://{}", loopback(local));
            }
            Some((listener, local))
        } else {
            None
        };

        let name = format!("hearth-{}", roles.iter().map(|r| r.name()).collect::<Vec<_>>().join("-"));
        let deps = Deps::connect(config, &name).await?;
        hearth_platform::probes::spawn(&deps, shutdown.clone());

        for role in roles {
            match role {
                Role::Identity => hearth_identity::Identity::new(&deps, shutdown.clone())?.register(&mut services),
                Role::Rooms => hearth_rooms::Rooms::new(&deps, shutdown.clone()).await.register(&mut services),
                Role::Chat => hearth_chat::Chat::new(&deps, shutdown.clone()).await?.register(&mut services),
                Role::Polls => hearth_polls::Polls::new(&deps, shutdown.clone()).await?.register(&mut services),
                Role::Provider => {
                    hearth_provider::Provider::new(&deps, shutdown.clone()).await?.register(&mut services)
                }
                Role::Recommendations => {
                    hearth_recommendations::Recommendations::new(&deps, shutdown.clone()).await?.register(&mut services)
                }
                Role::Gateway => {}
            }
        }

        let grpc_addr = match grpc_listener {
            Some((listener, local)) => {
                let (ready, timeout, grace) =
                    (deps.readiness(), deps.config.grpc.request_timeout, deps.config.shutdown.grace_period);
                let token = shutdown.clone();
                tasks.spawn(async move {
                    grpc::serve(listener, services, ready, timeout, grace, token).await?;
                    Ok(())
                });
                Some(local)
            }
            None => None,
        };

        let gateway_addr = if roles.contains(&Role::Gateway) {
            let listener = hearth_gateway::bind(deps.config.gateway.addr).await?;
            let local = listener.local_addr().ok();
            let state = hearth_gateway::GatewayState::new(deps.clone(), shutdown.clone())?;
            tasks.spawn(async move {
                hearth_gateway::serve(listener, state).await?;
                Ok(())
            });
            local
        } else {
            None
        };

        Ok(Self { grpc_addr, gateway_addr, deps, tasks, shutdown })
    }

    /// Waits until every role stops (after shutdown), or one fails — which
    /// stops the others.
    pub async fn wait(mut self) -> Result<(), AppError> {
        let mut outcome = Ok(());
        while let Some(joined) = self.tasks.join_next().await {
            let result = joined.map_err(|e| AppError::Task(e.to_string())).and_then(|r| r);
            if let Err(error) = result {
                if outcome.is_ok() {
                    tracing::error!(%error, "role failed; stopping the process");
                    outcome = Err(error);
                }
                self.shutdown.cancel();
            } else if !self.shutdown.is_cancelled() {
                self.shutdown.cancel();
            }
        }
        outcome
    }
}

/// Where a co-hosted client reaches a listener bound on `addr`.
fn loopback(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() { SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port()) } else { addr }
}
