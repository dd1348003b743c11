//! Hearth's gateway: the clients' HTTP JSON API and WebSocket, in front of
//! the services' gRPC APIs. It holds connections and nothing else: any
//! gateway pod can die and its clients reconnect to another.

pub mod clients;
pub mod error;
pub mod http;
pub mod presence;
pub mod ws;

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};
use hearth_platform::{Config, deps::Deps, grpc::GrpcError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What every handler can reach; one pointer, cheap to clone (every
/// connection and request holds one).
#[derive(Clone)]
pub struct GatewayState(Arc<Gateway>);

impl std::ops::Deref for GatewayState {
    type Target = Gateway;

    fn deref(&self) -> &Gateway {
        &self.0
    }
}

/// The gateway's shared parts.
pub struct Gateway {
    pub config: Arc<Config>,
    pub deps: Deps,
    pub clients: clients::Clients,
    pub shutdown: CancellationToken,
    /// Room fan-out of this gateway's connections.
    pub hub: ws::hub::Hub,
    /// Presence leases of this gateway's connections.
    pub leases: presence::Leases,
    /// Personal events of this gateway's users.
    pub personal: ws::personal::Personal,
    /// This gateway's name in presence leases.
    pub instance: String,
    /// This gateway's own credential, sent beside the user's token where a
    /// service honours gateway-measured values (quiz response times).
    pub credential: hearth_platform::auth::ServiceCredential,
    /// Votes of this gateway's connections, sent to polls in batches.
    pub votes: ws::votes::VoteBatcher,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Deps(#[from] hearth_platform::deps::DepsError),
    #[error(transparent)]
    Clients(#[from] GrpcError),
    #[error("cannot bind the gateway on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    WebRoot(#[from] http::web::WebRootError),
    #[error("gateway server: {0}")]
    Serve(std::io::Error),
}

impl GatewayState {
    pub fn new(deps: Deps, shutdown: CancellationToken) -> Result<Self, GatewayError> {
        let instance = deps.config.gateway.instance_id.clone().unwrap_or_else(|| {
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "gateway".into());
            format!("{host}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
        });
        let web_root = &deps.config.gateway.web_root;
        if !web_root.is_empty() {
            http::web::check(std::path::Path::new(web_root))?;
        }
        let clients = clients::Clients::new(&deps.config.services)?;
        // Zero series from the start, so the slow-client alert has a rate to
        // compute before the first slow client.
        hearth_platform::metrics::ws_closes()
            .add(0, &[opentelemetry::KeyValue::new("code", i64::from(ws::close::SLOW_CONSUMER))]);
        let credential = hearth_platform::auth::ServiceCredential::new(deps.tokens.clone(), "gateway", &instance);
        let votes = ws::votes::VoteBatcher::spawn(clients.votes.clone(), credential.clone(), shutdown.clone());
        Ok(Self(Arc::new(Gateway {
            config: deps.config.clone(),
            clients,
            votes,
            credential,
            hub: ws::hub::Hub::new(deps.nats.clone(), deps.config.gateway.live_counter_budget),
            leases: presence::Leases::default(),
            personal: ws::personal::Personal::default(),
            instance,
            deps,
            shutdown,
        })))
    }
}

/// Every HTTP route of the gateway.
pub fn router(state: GatewayState) -> Router {
    let body_limit = state.config.gateway.max_body_bytes;
    let web_root = state.config.gateway.web_root.clone();
    let app = if web_root.is_empty() { Router::new() } else { http::web::routes(std::path::Path::new(&web_root)) };
    Router::new()
        .route("/v1/auth/register", post(http::auth::register))
        .route("/v1/auth/login", post(http::auth::login))
        .route("/v1/auth/provider", post(http::auth::provider))
        .route("/v1/auth/refresh", post(http::auth::refresh))
        .route("/v1/auth/logout", post(http::auth::logout))
        .route("/v1/ws", get(ws::upgrade))
        .route("/i/{code}", get(http::invite::preview))
        .route("/.well-known/jwks.json", get(http::health::jwks))
        .route("/healthz", get(http::health::healthz))
        .route("/readyz", get(http::health::readyz))
        .merge(app)
        .layer(axum::middleware::from_fn(hearth_platform::http::http_telemetry))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// Binds the gateway's listener now, so the caller learns its port.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, GatewayError> {
    TcpListener::bind(addr).await.map_err(|source| GatewayError::Bind { addr, source })
}

/// Serves HTTP and WebSocket on `listener` until `shutdown`; WebSockets get
/// a 1001 close and in-flight requests finish within the grace period.
pub async fn serve(listener: TcpListener, state: GatewayState) -> Result<(), GatewayError> {
    let shutdown = state.shutdown.clone();
    let grace = state.config.shutdown.grace_period;
    tracing::info!(addr = ?listener.local_addr().ok(), "gateway listening");
    tokio::spawn(presence::heartbeat(state.clone()));
    let personal = ws::personal::Personal::subscribe(&state.deps.nats).await;
    tokio::spawn(state.personal.clone().run(state.deps.nats.clone(), personal, shutdown.clone()));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let signal = shutdown.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move { signal.cancelled().await });
    tokio::select! {
        result = server => result.map_err(GatewayError::Serve)?,
        () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(?grace, "gateway grace period over: dropping remaining connections");
        }
    }
    Ok(())
}

/// Runs the gateway role alone until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), GatewayError> {
    let deps = Deps::connect(config, "hearth-gateway").await?;
    let listener = bind(deps.config.gateway.addr).await?;
    serve(listener, GatewayState::new(deps, shutdown)?).await
}
