//! A real OTLP/gRPC receiver for the telemetry tests: keeps every span,
//! every metric's name, kind, unit and attribute keys, and counts log
//! records, as a collector would receive them.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use opentelemetry_proto::tonic::{
    collector::{
        logs::v1::{
            ExportLogsServiceRequest, ExportLogsServiceResponse,
            logs_service_server::{LogsService, LogsServiceServer},
        },
        metrics::v1::{
            ExportMetricsServiceRequest, ExportMetricsServiceResponse,
            metrics_service_server::{MetricsService, MetricsServiceServer},
        },
        trace::v1::{
            ExportTraceServiceRequest, ExportTraceServiceResponse,
            trace_service_server::{TraceService, TraceServiceServer},
        },
    },
    common::v1::KeyValue,
    metrics::v1::{Metric, metric::Data},
    trace::v1::Span,
};
use tokio::sync::Mutex;

/// What an OTLP metric is, as far as its Prometheus name depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MetricKind {
    Gauge,
    Counter,
    UpDownCounter,
    Histogram,
    Other,
}

/// One metric as received: kind, unit and the attribute keys seen on it.
#[derive(Debug, Clone)]
pub struct ReceivedMetric {
    pub kind: MetricKind,
    pub unit: String,
    pub attributes: BTreeSet<String>,
}

/// The receiver; clones share what was received.
#[derive(Clone, Default)]
pub struct Receiver {
    pub spans: Arc<Mutex<Vec<(String, Span)>>>,
    pub metrics: Arc<Mutex<BTreeMap<String, ReceivedMetric>>>,
    pub log_records: Arc<Mutex<usize>>,
}

impl Receiver {
    /// Serves OTLP/gRPC on a random loopback port; returns its endpoint URL.
    pub async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the OTLP receiver");
        let endpoint = format!("http://{}", listener.local_addr().expect("receiver address"));
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .add_service(MetricsServiceServer::new(receiver.clone()))
            .add_service(LogsServiceServer::new(receiver.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
        tokio::spawn(server);
        (receiver, endpoint)
    }
}

fn keys(attributes: &[KeyValue]) -> impl Iterator<Item = String> + '_ {
    attributes.iter().map(|kv| kv.key.clone())
}

/// Kind and attribute keys of one received metric.
fn describe(metric: &Metric) -> (MetricKind, Vec<String>) {
    match &metric.data {
        Some(Data::Gauge(g)) => (MetricKind::Gauge, g.data_points.iter().flat_map(|p| keys(&p.attributes)).collect()),
        Some(Data::Sum(s)) => {
            let kind = if s.is_monotonic { MetricKind::Counter } else { MetricKind::UpDownCounter };
            (kind, s.data_points.iter().flat_map(|p| keys(&p.attributes)).collect())
        }
        Some(Data::Histogram(h)) => {
            (MetricKind::Histogram, h.data_points.iter().flat_map(|p| keys(&p.attributes)).collect())
        }
        _ => (MetricKind::Other, Vec::new()),
    }
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().await;
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| r.attributes.iter())
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref())
                .map(|v| format!("{v:?}"))
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                spans.extend(scope.spans.into_iter().map(|s| (service.clone(), s)));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let mut metrics = self.metrics.lock().await;
        let received = request.into_inner();
        for metric in received.resource_metrics.iter().flat_map(|r| &r.scope_metrics).flat_map(|s| &s.metrics) {
            let (kind, attributes) = describe(metric);
            let entry = metrics.entry(metric.name.clone()).or_insert_with(|| ReceivedMetric {
                kind,
                unit: metric.unit.clone(),
                attributes: BTreeSet::new(),
            });
            entry.attributes.extend(attributes);
        }
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        let records: usize = request
            .into_inner()
            .resource_logs
            .iter()
            .flat_map(|r| r.scope_logs.iter())
            .map(|s| s.log_records.len())
            .sum();
        *self.log_records.lock().await += records;
        Ok(tonic::Response::new(ExportLogsServiceResponse::default()))
    }
}

/// The Prometheus series names of a metric after the OpenTelemetry
/// Collector's translation (prometheus and prometheusremotewrite exporters,
/// default suffixes): dots become underscores, the unit adds a suffix
/// (`s` → `_seconds`; annotations such as `{message}` add nothing),
/// counters add `_total`, histograms expose `_bucket`, `_sum` and `_count`.
pub fn prometheus_names(name: &str, metric: &ReceivedMetric) -> Vec<String> {
    let mut base: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    let unit = match metric.unit.as_str() {
        "s" => "seconds",
        "ms" => "milliseconds",
        "By" => "bytes",
        "1" if metric.kind == MetricKind::Gauge => "ratio",
        _ => "",
    };
    if !unit.is_empty() && !base.ends_with(unit) {
        base = format!("{base}_{unit}");
    }
    match metric.kind {
        MetricKind::Counter => vec![format!("{base}_total")],
        MetricKind::Histogram => ["bucket", "sum", "count"].iter().map(|s| format!("{base}_{s}")).collect(),
        _ => vec![base],
    }
}

/// An attribute key as a Prometheus label name.
pub fn prometheus_label(key: &str) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}
