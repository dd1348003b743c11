//! HTTP server telemetry for axum routers: a `http.server` span per request
//! (parented to an incoming `traceparent`) and the request-duration histogram
//! labelled by route template, never by raw path.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use opentelemetry::KeyValue;
use tracing::{Instrument, field::Empty};

use crate::{metrics, propagation};

/// `axum::middleware::from_fn(http_telemetry)`.
pub async fn http_telemetry(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let span = tracing::info_span!(
        "http.server",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = Empty,
    );
    propagation::set_remote_parent(&span, propagation::extract_http(request.headers()));
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    metrics::http_server_duration().record(
        started.elapsed().as_secs_f64(),
        &[
            KeyValue::new("http.route", route),
            KeyValue::new("http.request.method", method),
            KeyValue::new("http.response.status_code", i64::from(status)),
        ],
    );
    response
}
