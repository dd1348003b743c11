//! NATS: events between services (`<prefix>.<area>.…` subjects), core NATS
//! for ephemeral fan-out and JetStream where an event must not be lost. Every
//! published message carries the sender's W3C trace context in its headers.

use std::time::Duration;

use async_nats::{
    ConnectOptions, HeaderMap,
    jetstream::{self, stream},
};
use bytes::Bytes;

use crate::{config::NatsConfig, propagation};

#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("cannot set up NATS at {url}: {message}")]
    Connect { url: String, message: String },
    #[error("publishing to {subject}: {message}")]
    Publish { subject: String, message: String },
    #[error("JetStream stream {stream}: {message}")]
    Stream { stream: String, message: String },
}

/// How long the MODERATION stream (`moderation.>`: audit entries from every
/// service that moderates) keeps entries for the chat service to store —
/// a week of outage. Every producer and the consumer create the stream with
/// it, so whichever starts first makes the same stream.
pub const MODERATION_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long the PROVIDER stream (`provider.>`: catalog changes and viewing
/// events) keeps events for consumers that were away — a week of outage.
/// The provider role and every consumer create it alike, with the
/// configured `provider.viewing_dedupe_window` as its duplicate window.
pub const PROVIDER_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// The process's NATS connection, JetStream context and subject naming.
#[derive(Clone)]
pub struct Nats {
    pub client: async_nats::Client,
    pub jetstream: jetstream::Context,
    prefix: String,
}

impl Nats {
    /// `<prefix>.<suffix>`, e.g. `hearth.identity.user.deleted`.
    pub fn subject(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.prefix)
    }

    /// A JetStream stream name unique to this prefix, e.g. `HEARTH_IDENTITY`.
    pub fn stream_name(&self, area: &str) -> String {
        let prefix: String =
            self.prefix.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        format!("{prefix}_{}", area.to_ascii_uppercase())
    }

    /// Creates (or updates) a stream over `<prefix>.<area>.>` subjects.
    pub async fn ensure_stream(&self, area: &str, max_age: Duration) -> Result<stream::Stream, NatsError> {
        self.ensure_stream_with(area, max_age, Duration::from_secs(120)).await
    }

    /// As `ensure_stream`, with the window within which a repeated
    /// `Nats-Msg-Id` is dropped as a duplicate.
    pub async fn ensure_stream_with(
        &self,
        area: &str,
        max_age: Duration,
        duplicate_window: Duration,
    ) -> Result<stream::Stream, NatsError> {
        let name = self.stream_name(area);
        let config = stream::Config {
            name: name.clone(),
            subjects: vec![self.subject(&format!("{area}.>"))],
            max_age,
            duplicate_window: duplicate_window.min(max_age),
            ..Default::default()
        };
        self.jetstream
            .get_or_create_stream(config)
            .await
            .map_err(|e| NatsError::Stream { stream: name, message: e.to_string() })
    }

    fn traced_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        propagation::inject_nats(&mut headers);
        headers
    }

    /// Fire-and-forget publish (core NATS) for ephemeral events.
    pub async fn publish(&self, subject: String, payload: Bytes) -> Result<(), NatsError> {
        self.client
            .publish_with_headers(subject.clone(), Self::traced_headers(), payload)
            .await
            .map_err(|e| NatsError::Publish { subject, message: e.to_string() })
    }

    /// Durable publish: waits for JetStream's acknowledgement; `msg_id`
    /// deduplicates retries within the stream's duplicate window.
    pub async fn publish_durable(&self, subject: String, msg_id: &str, payload: Bytes) -> Result<(), NatsError> {
        let mut headers = Self::traced_headers();
        headers.insert("Nats-Msg-Id", msg_id);
        let error = |e: &dyn std::fmt::Display| NatsError::Publish { subject: subject.clone(), message: e.to_string() };
        let ack =
            self.jetstream.publish_with_headers(subject.clone(), headers, payload).await.map_err(|e| error(&e))?;
        ack.await.map_err(|e| error(&e))?;
        Ok(())
    }

    /// Whether the connection is up, for readiness.
    /// Sends a JetStream publish (deduplicated by `msg_id`) without waiting
    /// for its acknowledgement: the returned future resolves when JetStream
    /// stored it. Publishes sent one after another keep their order.
    pub async fn publish_durable_pipelined(
        &self,
        subject: String,
        msg_id: &str,
        payload: Bytes,
    ) -> Result<async_nats::jetstream::context::PublishAckFuture, NatsError> {
        let mut headers = Self::traced_headers();
        headers.insert("Nats-Msg-Id", msg_id);
        self.jetstream
            .publish_with_headers(subject.clone(), headers, payload)
            .await
            .map_err(|e| NatsError::Publish { subject, message: e.to_string() })
    }

    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }
}

/// How often a replica reports the lag of the durable consumers it runs.
const LAG_INTERVAL: Duration = Duration::from_secs(15);

/// Reports a durable consumer's lag (`hearth.nats.consumer.pending` and
/// `hearth.nats.consumer.ack_pending`) every 15 s until `shutdown`. Every
/// replica sharing the consumer reports it, so a dashboard still shows the
/// lag when some replicas are gone.
pub fn report_consumer_lag(stream: stream::Stream, consumer: String, shutdown: tokio_util::sync::CancellationToken) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(LAG_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            match stream.consumer_info(&consumer).await {
                Ok(info) => {
                    let labels = [
                        opentelemetry::KeyValue::new("stream", info.stream_name.clone()),
                        opentelemetry::KeyValue::new("consumer", info.name.clone()),
                    ];
                    crate::metrics::nats_consumer_pending().record(info.num_pending, &labels);
                    let ack_pending = u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX);
                    crate::metrics::nats_consumer_ack_pending().record(ack_pending, &labels);
                }
                Err(error) => tracing::debug!(%error, "consumer info unavailable; lag not reported this time"),
            }
        }
    });
}

/// Connects and keeps reconnecting forever; starts even while NATS is down.
pub async fn connect(config: &NatsConfig, name: &str) -> Result<Nats, NatsError> {
    let url = config.url.redacted();
    let mut options = ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(5))
        .request_timeout(Some(config.request_timeout))
        .event_callback(|event| async move {
            tracing::info!(%event, "nats connection event");
        });
    if let Some(path) = &config.credentials_file {
        options = options
            .credentials_file(path)
            .await
            .map_err(|e| NatsError::Connect { url: url.clone(), message: e.to_string() })?;
    }
    let client =
        options.connect(config.url.expose()).await.map_err(|e| NatsError::Connect { url, message: e.to_string() })?;
    let jetstream = jetstream::new(client.clone());
    Ok(Nats { client, jetstream, prefix: config.subject_prefix.clone() })
}
