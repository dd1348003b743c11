//! The connections one process holds, made once and shared by every role
//! it hosts: Postgres pool, Redis, NATS/JetStream and the token keys.

use std::sync::Arc;

use futures::FutureExt;
use sqlx::PgPool;

use crate::{
    Config,
    auth::{AuthError, TokenKeys},
    db::{self, DbError},
    grpc::ReadinessCheck,
    nats::{self, Nats, NatsError},
    redis::{self, Keys, RedisConn, RedisError},
};

#[derive(Debug, thiserror::Error)]
pub enum DepsError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Redis(#[from] RedisError),
    #[error(transparent)]
    Nats(#[from] NatsError),
    #[error("access-token keys: {0}")]
    Auth(#[from] AuthError),
}

/// Shared connections; cheap to clone.
#[derive(Clone)]
pub struct Deps {
    pub config: Arc<Config>,
    pub pg: PgPool,
    pub redis: RedisConn,
    pub keys: Keys,
    pub nats: Nats,
    pub tokens: TokenKeys,
}

impl Deps {
    /// Connects to everything; `name` identifies this process to NATS.
    pub async fn connect(config: Config, name: &str) -> Result<Self, DepsError> {
        let pg = db::connect_lazy(&config.database)?;
        let redis = redis::connect(&config.redis).await?;
        let nats = nats::connect(&config.nats, name).await?;
        let tokens = TokenKeys::from_config(&config.auth)?;
        Ok(Self { keys: Keys::new(config.redis.key_prefix.clone()), config: Arc::new(config), pg, redis, nats, tokens })
    }

    /// Ready when Postgres, Redis and NATS all answer.
    pub fn readiness(&self) -> ReadinessCheck {
        let deps = self.clone();
        Arc::new(move || {
            let deps = deps.clone();
            async move { deps.check().await.is_empty() }.boxed()
        })
    }

    /// Names of the dependencies that do not answer right now.
    pub async fn check(&self) -> Vec<&'static str> {
        let (pg, redis) = tokio::join!(db::ping(&self.pg), redis::ping(&self.redis));
        let mut down = Vec::new();
        if !pg {
            down.push("postgres");
        }
        if !redis {
            down.push("redis");
        }
        if !self.nats.is_connected() {
            down.push("nats");
        }
        down
    }
}

/// Why a service role could not run on its own.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Deps(#[from] DepsError),
    #[error(transparent)]
    Grpc(#[from] crate::grpc::GrpcError),
}

/// Runs one service role alone (one pod per role): connects, lets
/// `register` add the role's services, serves them on `grpc.addr` until
/// `shutdown`.
pub async fn serve_role<F, Fut>(
    config: Config,
    name: &str,
    shutdown: tokio_util::sync::CancellationToken,
    register: F,
) -> Result<(), StartError>
where
    F: FnOnce(Deps, tokio_util::sync::CancellationToken) -> Fut,
    Fut: std::future::Future<Output = Result<crate::grpc::GrpcServices, StartError>>,
{
    let deps = Deps::connect(config, name).await?;
    crate::probes::spawn(&deps, shutdown.clone());
    let services = register(deps.clone(), shutdown.clone()).await?;
    let listener = crate::grpc::bind(deps.config.grpc.addr).await?;
    crate::grpc::serve(
        listener,
        services,
        deps.readiness(),
        deps.config.grpc.request_timeout,
        deps.config.shutdown.grace_period,
        shutdown,
    )
    .await?;
    Ok(())
}
