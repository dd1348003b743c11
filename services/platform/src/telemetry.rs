//! Logs, traces and metrics: `tracing` for instrumentation, exported over
//! OTLP/gRPC when an endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT`
//! or `telemetry.otlp_endpoint`), with W3C trace context as the propagator.

use opentelemetry::{global, trace::TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{
    Resource, logs::SdkLoggerProvider, metrics::SdkMeterProvider, propagation::TraceContextPropagator,
    trace::SdkTracerProvider,
};
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::TelemetryConfig;

/// Telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid log filter: {0}")]
    Filter(String),
    #[error("OTLP exporter: {0}")]
    Exporter(String),
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// The installed providers; flushes and shuts them down on `shutdown`.
#[must_use = "dropping Telemetry without shutdown() loses buffered spans"]
pub struct Telemetry {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
    logger: Option<SdkLoggerProvider>,
}

impl Telemetry {
    /// Exports everything buffered so far (used by tests and on shutdown).
    pub fn flush(&self) {
        if let Some(tracer) = &self.tracer {
            let _ = tracer.force_flush();
        }
        if let Some(meter) = &self.meter {
            let _ = meter.force_flush();
        }
        if let Some(logger) = &self.logger {
            let _ = logger.force_flush();
        }
    }

    /// Flushes and stops the exporters.
    pub fn shutdown(self) {
        self.flush();
        if let Some(tracer) = self.tracer {
            let _ = tracer.shutdown();
        }
        if let Some(meter) = self.meter {
            let _ = meter.shutdown();
        }
        if let Some(logger) = self.logger {
            let _ = logger.shutdown();
        }
    }
}

/// The OTLP endpoint in force: the standard variable first, then config.
fn otlp_endpoint(config: &TelemetryConfig) -> Option<String> {
    std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().filter(|v| !v.is_empty()).or_else(|| config.otlp_endpoint.clone())
}

fn resource(config: &TelemetryConfig, default_service_name: &str) -> Resource {
    let builder = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_some() {
        builder.build()
    } else {
        let name = config.service_name.clone().unwrap_or_else(|| default_service_name.to_owned());
        builder.with_service_name(name).build()
    }
}

/// Installs the global subscriber, propagator and (when configured) the OTLP
/// trace, metric and log pipelines. Call once per process, inside a Tokio
/// runtime.
pub fn init(config: &TelemetryConfig, default_service_name: &str) -> Result<Telemetry, TelemetryError> {
    global::set_text_map_propagator(TraceContextPropagator::new());

    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives),
        _ => EnvFilter::try_new(&config.log_filter),
    }
    .map_err(|e| TelemetryError::Filter(e.to_string()))?;

    let fmt_layer = if config.json_logs {
        tracing_subscriber::fmt::layer().json().with_current_span(true).boxed()
    } else {
        tracing_subscriber::fmt::layer().boxed()
    };

    let mut telemetry = Telemetry { tracer: None, meter: None, logger: None };
    let mut otel_layers = Vec::new();
    if let Some(endpoint) = otlp_endpoint(config) {
        let resource = resource(config, default_service_name);
        let exporter_error = |e: opentelemetry_otlp::ExporterBuildError| TelemetryError::Exporter(e.to_string());

        let spans = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(exporter_error)?;
        let tracer_provider =
            SdkTracerProvider::builder().with_batch_exporter(spans).with_resource(resource.clone()).build();
        global::set_tracer_provider(tracer_provider.clone());
        let tracer = tracer_provider.tracer("hearth");
        otel_layers.push(tracing_opentelemetry::layer().with_tracer(tracer).boxed());

        let metrics = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(exporter_error)?;
        let meter_provider =
            SdkMeterProvider::builder().with_periodic_exporter(metrics).with_resource(resource.clone()).build();
        global::set_meter_provider(meter_provider.clone());

        let logs = opentelemetry_otlp::LogExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .map_err(exporter_error)?;
        let logger_provider = SdkLoggerProvider::builder().with_batch_exporter(logs).with_resource(resource).build();
        otel_layers
            .push(opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&logger_provider).boxed());

        telemetry.tracer = Some(tracer_provider);
        telemetry.meter = Some(meter_provider);
        telemetry.logger = Some(logger_provider);
    }

    tracing_subscriber::registry()
        .with(otel_layers)
        .with(fmt_layer)
        .with(filter)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    Ok(telemetry)
}
