//! The process's metric instruments, created on first use from the global
//! meter (so after `telemetry::init`). Names follow OpenTelemetry semantic
//! conventions where one exists; dashboards and alerts query these names.

use std::sync::OnceLock;

use opentelemetry::{
    global,
    metrics::{Counter, Histogram, UpDownCounter},
};

fn meter() -> opentelemetry::metrics::Meter {
    global::meter("hearth")
}

/// Seconds per gRPC call served, by service, method and status code.
pub fn rpc_server_duration() -> &'static Histogram<f64> {
    static H: OnceLock<Histogram<f64>> = OnceLock::new();
    H.get_or_init(|| {
        meter()
            .f64_histogram("rpc.server.duration")
            .with_unit("s")
            .with_description("Duration of gRPC calls served")
            .build()
    })
}

/// Seconds per HTTP request served, by route, method and status.
pub fn http_server_duration() -> &'static Histogram<f64> {
    static H: OnceLock<Histogram<f64>> = OnceLock::new();
    H.get_or_init(|| {
        meter()
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .with_description("Duration of HTTP requests served")
            .build()
    })
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
