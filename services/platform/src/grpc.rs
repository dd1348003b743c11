//! gRPC plumbing: one listener per process shared by every co-hosted role,
//! with health, reflection, request tracing (W3C context extracted from
//! metadata), RED metrics, and client channels that propagate the trace.

use std::{
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use opentelemetry::KeyValue;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{
    server::NamedService,
    service::RoutesBuilder,
    transport::{Channel, Endpoint, server::TcpIncoming},
};
use tonic_health::{ServingStatus, server::HealthReporter};
use tracing::{Instrument, field::Empty};

use crate::{metrics, propagation};

#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    #[error("cannot bind the gRPC listener on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("gRPC server: {0}")]
    Serve(#[from] tonic::transport::Error),
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("invalid service URL {url}: {message}")]
    Endpoint { url: String, message: String },
}

/// Collects the services of every role hosted by this process.
#[derive(Default)]
pub struct GrpcServices {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
}

impl GrpcServices {
    pub fn add<S>(&mut self, service: S) -> &mut Self
    where
        S: tower::Service<http::Request<tonic::body::Body>, Error = std::convert::Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Names of the added services (`hearth.identity.v1.IdentityService`, …).
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }
}

/// The `grpc.health.v1` service name that answers SERVING for as long as
/// the process serves, whatever its dependencies say: a liveness probe on it
/// restarts only a wedged process, never every pod during a database outage
/// (the overall name `""` and the services' names track readiness).
pub const LIVENESS_SERVICE: &str = "hearth.liveness";

/// A readiness probe for the health service: true while dependencies answer.
pub type ReadinessCheck = std::sync::Arc<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>;

/// Binds the listener now (so callers learn the port before serving).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, GrpcError> {
    TcpListener::bind(addr).await.map_err(|source| GrpcError::Bind { addr, source })
}

/// Serves the collected services plus `grpc.health.v1` and reflection (v1
/// and v1alpha) until `shutdown`, then lets in-flight calls finish within
/// `grace`. Health turns NOT_SERVING while `ready` says dependencies are down.
pub async fn serve(
    listener: TcpListener,
    services: GrpcServices,
    ready: ReadinessCheck,
    request_timeout: Duration,
    grace: Duration,
    shutdown: CancellationToken,
) -> Result<(), GrpcError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    let names = services.names.clone();
    set_all(&reporter, &names, ServingStatus::Serving).await;
    reporter.set_service_status(LIVENESS_SERVICE, ServingStatus::Serving).await;
    tokio::spawn(readiness_loop(reporter.clone(), names.clone(), ready, shutdown.clone()));

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(hearth_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(hearth_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let mut routes = services.routes;
    routes.add_service(health).add_service(reflection_v1).add_service(reflection_v1alpha);

    let local = listener.local_addr().ok();
    tracing::info!(addr = ?local, services = ?names, "gRPC listening");
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let signal = shutdown.clone();
    let server = tonic::transport::Server::builder()
        .timeout(request_timeout)
        .layer(tower::layer::layer_fn(|inner| ServerTelemetry { inner }))
        .add_routes(routes.routes())
        .serve_with_incoming_shutdown(incoming, async move {
            signal.cancelled().await;
            set_all(&reporter, &names, ServingStatus::NotServing).await;
        });
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result?,
        () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(?grace, "gRPC grace period over: abandoning in-flight calls");
        }
    }
    Ok(())
}

async fn set_all(reporter: &HealthReporter, names: &[&'static str], status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in names {
        reporter.set_service_status(*name, status).await;
    }
}

async fn readiness_loop(
    reporter: HealthReporter,
    names: Vec<&'static str>,
    ready: ReadinessCheck,
    shutdown: CancellationToken,
) {
    let mut last = true;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        let now = ready().await;
        if now != last {
            tracing::warn!(ready = now, "dependency readiness changed");
            let status = if now { ServingStatus::Serving } else { ServingStatus::NotServing };
            set_all(&reporter, &names, status).await;
            last = now;
        }
    }
}

/// Splits `/pkg.Service/Method`.
fn rpc_names(path: &str) -> (String, String) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let service = parts.next().unwrap_or_default().to_owned();
    let method = parts.next().unwrap_or_default().to_owned();
    (service, method)
}

/// The grpc-status of a response: in the headers for trailers-only
/// responses (every unary error), else OK as far as the headers tell.
fn grpc_status<B>(response: &http::Response<B>) -> i64 {
    response.headers().get("grpc-status").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Server middleware: a `grpc.server` span per call, parented to the
/// caller's trace, and the `rpc.server.duration` histogram.
#[derive(Clone)]
pub struct ServerTelemetry<S> {
    inner: S,
}

impl<S, B, RB> tower::Service<http::Request<B>> for ServerTelemetry<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (service, method) = rpc_names(request.uri().path());
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = %format!("{service}/{method}"),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = Empty,
        );
        propagation::set_remote_parent(&span, propagation::extract_http(request.headers()));
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let started = Instant::now();
        Box::pin(
            async move {
                let result = inner.call(request).await;
                let code = result.as_ref().map(grpc_status).unwrap_or(2);
                tracing::Span::current().record("rpc.grpc.status_code", code);
                metrics::rpc_server_duration().record(
                    started.elapsed().as_secs_f64(),
                    &[
                        KeyValue::new("rpc.service", service),
                        KeyValue::new("rpc.method", method),
                        KeyValue::new("rpc.grpc.status_code", code),
                    ],
                );
                result
            }
            .instrument(span),
        )
    }
}

/// Client middleware: a `grpc.client` span per call and the W3C
/// `traceparent` in the request metadata.
#[derive(Clone)]
pub struct ClientTelemetry<S> {
    inner: S,
}

impl<S, B, RB> tower::Service<http::Request<B>> for ClientTelemetry<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let (service, method) = rpc_names(request.uri().path());
        let span = tracing::info_span!(
            "grpc.client",
            otel.name = %format!("{service}/{method}"),
            otel.kind = "client",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = Empty,
        );
        span.in_scope(|| propagation::inject_http(request.headers_mut()));
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(
            async move {
                let result = inner.call(request).await;
                if let Ok(response) = &result {
                    tracing::Span::current().record("rpc.grpc.status_code", grpc_status(response));
                }
                result
            }
            .instrument(span),
        )
    }
}

/// A channel to another Hearth service, with tracing.
pub type TracedChannel = ClientTelemetry<Channel>;

/// A lazily connecting, auto-reconnecting channel: creating it never blocks,
/// and calls fail with UNAVAILABLE while the service is unreachable.
pub fn channel(url: &str, connect_timeout: Duration, request_timeout: Duration) -> Result<TracedChannel, GrpcError> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| GrpcError::Endpoint { url: url.to_owned(), message: e.to_string() })?;
    let channel = endpoint
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true)
        .connect_lazy();
    Ok(ClientTelemetry { inner: channel })
}
