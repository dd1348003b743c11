//! The process's metric instruments, created on first use from the global
//! meter (so after `telemetry::init`). Names follow OpenTelemetry semantic
//! conventions where one exists; dashboards and alerts query these names.

use std::sync::OnceLock;

use opentelemetry::{
    global,
    metrics::{Counter, Gauge, Histogram, UpDownCounter},
};

fn meter() -> opentelemetry::metrics::Meter {
    global::meter("hearth")
}

/// Bucket bounds, in seconds, of every latency histogram: 0.5 ms to 10 s.
/// The SDK's default bounds (0, 5, 10, 25 … 10 000) suit milliseconds and
/// would put every call of a seconds histogram in its first bucket.
pub const LATENCY_BUCKETS: [f64; 16] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

fn seconds_histogram(name: &'static str, description: &'static str) -> Histogram<f64> {
    meter()
        .f64_histogram(name)
        .with_unit("s")
        .with_description(description)
        .with_boundaries(LATENCY_BUCKETS.to_vec())
        .build()
}

/// Seconds per gRPC call served, by service, method and status code.
pub fn rpc_server_duration() -> &'static Histogram<f64> {
    static H: OnceLock<Histogram<f64>> = OnceLock::new();
    H.get_or_init(|| seconds_histogram("rpc.server.duration", "Duration of gRPC calls served"))
}

/// Seconds per HTTP request served, by route, method and status.
pub fn http_server_duration() -> &'static Histogram<f64> {
    static H: OnceLock<Histogram<f64>> = OnceLock::new();
    H.get_or_init(|| seconds_histogram("http.server.request.duration", "Duration of HTTP requests served"))
}

/// Open WebSocket connections (authenticated or not) on this gateway.
pub fn ws_connections() -> &'static UpDownCounter<i64> {
    static C: OnceLock<UpDownCounter<i64>> = OnceLock::new();
    C.get_or_init(|| {
        meter()
            .i64_up_down_counter("hearth.gateway.ws.connections")
            .with_description("Open WebSocket connections")
            .build()
    })
}

/// WebSocket frames, by direction (`in`/`out`) and outcome.
pub fn ws_frames() -> &'static Counter<u64> {
    static C: OnceLock<Counter<u64>> = OnceLock::new();
    C.get_or_init(|| {
        meter().u64_counter("hearth.gateway.ws.frames").with_description("WebSocket frames received and sent").build()
    })
}

/// WebSocket closes initiated by the gateway, by close code.
pub fn ws_closes() -> &'static Counter<u64> {
    static C: OnceLock<Counter<u64>> = OnceLock::new();
    C.get_or_init(|| {
        meter()
            .u64_counter("hearth.gateway.ws.closes")
            .with_description("WebSocket connections closed by the gateway, by close code")
            .build()
    })
}

/// Chat messages posted, by outcome (`posted`, `held`, `refused`).
pub fn chat_messages() -> &'static Counter<u64> {
    static C: OnceLock<Counter<u64>> = OnceLock::new();
    C.get_or_init(|| meter().u64_counter("hearth.chat.messages").with_description("Chat sends by outcome").build())
}

/// Poll votes counted (first votes written; retries and changes excluded).
pub fn polls_votes() -> &'static Counter<u64> {
    static C: OnceLock<Counter<u64>> = OnceLock::new();
    C.get_or_init(|| meter().u64_counter("hearth.polls.votes").with_description("Poll votes counted").build())
}

/// Chat resumes, by source (`redis`, `postgres`) or `too_far_behind`.
pub fn chat_resumes() -> &'static Counter<u64> {
    static C: OnceLock<Counter<u64>> = OnceLock::new();
    C.get_or_init(|| meter().u64_counter("hearth.chat.resumes").with_description("Chat resumes by source").build())
}

/// Outbox entries the relay had to publish (their publisher failed or died).
pub fn chat_outbox_relayed() -> &'static Counter<u64> {
    static C: OnceLock<Counter<u64>> = OnceLock::new();
    C.get_or_init(|| {
        meter()
            .u64_counter("hearth.chat.outbox.relayed")
            .with_description("Chat events published by the outbox relay rather than right after their commit")
            .build()
    })
}

/// Seconds from an event's occurrence (its envelope's `occurred_at`, the
/// producer's clock) until a gateway has queued it to every local receiver
/// of the room, by `event` kind: the fan-out latency viewers feel.
pub fn fanout_lag() -> &'static Histogram<f64> {
    static H: OnceLock<Histogram<f64>> = OnceLock::new();
    H.get_or_init(|| {
        seconds_histogram("hearth.gateway.fanout.lag", "Event occurrence to queued on every local connection")
    })
}

/// Seconds a gateway spends queuing one event to a room's local receivers,
/// by `event` kind: grows with the room's size on this gateway.
pub fn fanout_duration() -> &'static Histogram<f64> {
    static H: OnceLock<Histogram<f64>> = OnceLock::new();
    H.get_or_init(|| {
        seconds_histogram("hearth.gateway.fanout.duration", "Time to queue one event to a room's local connections")
    })
}

/// Messages of a JetStream stream not yet delivered to a durable consumer
/// (its lag), by `stream` and `consumer`. Every replica sharing the
/// consumer reports the same figure: aggregate with max.
pub fn nats_consumer_pending() -> &'static Gauge<u64> {
    static G: OnceLock<Gauge<u64>> = OnceLock::new();
    G.get_or_init(|| {
        meter()
            .u64_gauge("hearth.nats.consumer.pending")
            .with_unit("{message}")
            .with_description("Messages not yet delivered to a durable JetStream consumer")
            .build()
    })
}

/// Messages delivered to a durable consumer and not yet acknowledged.
pub fn nats_consumer_ack_pending() -> &'static Gauge<u64> {
    static G: OnceLock<Gauge<u64>> = OnceLock::new();
    G.get_or_init(|| {
        meter()
            .u64_gauge("hearth.nats.consumer.ack_pending")
            .with_unit("{message}")
            .with_description("Messages delivered to a durable JetStream consumer and not yet acknowledged")
            .build()
    })
}

/// Round trip of a probe to a dependency (`postgres`, `redis`, `nats`), by
/// `outcome` (`ok`, `error`): what this process sees of its dependencies,
/// whether or not requests are flowing.
pub fn dependency_duration() -> &'static Histogram<f64> {
    static H: OnceLock<Histogram<f64>> = OnceLock::new();
    H.get_or_init(|| seconds_histogram("hearth.dependency.duration", "Round trip of a dependency probe"))
}

/// The process's Postgres pool, by `state` (`idle`, `used`); `used` near
/// `database.max_connections` means requests queue for a connection.
pub fn db_pool_connections() -> &'static Gauge<u64> {
    static G: OnceLock<Gauge<u64>> = OnceLock::new();
    G.get_or_init(|| {
        meter()
            .u64_gauge("hearth.db.pool.connections")
            .with_unit("{connection}")
            .with_description("Postgres pool connections by state")
            .build()
    })
}
