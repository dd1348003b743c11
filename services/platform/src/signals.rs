//! Engagement signals for the recommendations role, as every producer sends
//! them: a `hearth.recommendations.v1.EngagementSignal` wrapped in a
//! `hearth.events.v1.Envelope`, on JetStream
//! `<prefix>.recommendations.signal.<kind>`, stream RECOMMENDATIONS.
//!
//! Producers keep their own queue and signal construction and hand batches
//! to a [`SignalPublisher`], which (re)creates the stream when it is missing
//! and publishes pipelined, awaiting the acks of a batch together. Signals a
//! producer drops (its queue was full) are counted on [`dropped_counter`].

use std::{
    sync::OnceLock,
    time::{Duration, Instant},
};

use bytes::Bytes;
use hearth_proto::hearth::{
    events::v1::Envelope,
    recommendations::v1::{EngagementSignal, SignalKind},
};
use opentelemetry::metrics::Counter;
use prost::Message;
use uuid::Uuid;

use crate::nats::Nats;

/// How long the RECOMMENDATIONS stream keeps signals for a recommendations
/// role that was away — a week, like the other durable streams. Every
/// producer and the consumer create the stream with it, so whichever starts
/// first makes the same stream.
pub const SIGNALS_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Fully-qualified name of the payload type.
pub const SIGNAL_TYPE: &str = "hearth.recommendations.v1.EngagementSignal";
/// The stream's area (`<prefix>.recommendations.>`, stream RECOMMENDATIONS).
const STREAM_AREA: &str = "recommendations";
/// How often a missing RECOMMENDATIONS stream is asked for again.
const STREAM_RETRY: Duration = Duration::from_secs(30);

/// The subject token of a kind: the enum name in lower snake case without
/// its prefix (`SIGNAL_KIND_POLL_VOTE` → `poll_vote`); None for UNSPECIFIED.
pub fn kind_token(kind: SignalKind) -> Option<String> {
    match kind {
        SignalKind::Unspecified => None,
        other => other.as_str_name().strip_prefix("SIGNAL_KIND_").map(str::to_ascii_lowercase),
    }
}

/// `recommendations.signal.<kind>` (to pass to `Nats::subject`); None for
/// UNSPECIFIED.
pub fn subject_suffix(kind: SignalKind) -> Option<String> {
    kind_token(kind).map(|token| format!("recommendations.signal.{token}"))
}

/// Engagement signals dropped because a producer's queue was full; add to
/// it with a `producer` attribute (`rooms`, `chat`, `polls`).
pub fn dropped_counter() -> &'static Counter<u64> {
    static C: OnceLock<Counter<u64>> = OnceLock::new();
    C.get_or_init(|| {
        opentelemetry::global::meter("hearth")
            .u64_counter("hearth.recommendations.signals.dropped")
            .with_description("Engagement signals dropped because the producer's queue was full")
            .build()
    })
}

/// Publishes signals pipelined to the RECOMMENDATIONS stream; one per
/// producer task.
pub struct SignalPublisher {
    nats: Nats,
    /// The Envelopes' `producer`: `<name>/<instance>`.
    producer: String,
    /// When the stream was last found missing (None: it exists).
    stream_missing_since: Option<Instant>,
}

impl SignalPublisher {
    /// A publisher for the `producer_name` role (`rooms`, `chat`, …); its
    /// Envelopes name it with a random instance id. The stream counts as
    /// missing until [`Self::ensure_stream`] finds it.
    pub fn new(nats: Nats, producer_name: &str) -> Self {
        // A zero series from the start, so rates and alerts see the counter
        // before the first drop.
        dropped_counter().add(0, &[opentelemetry::KeyValue::new("producer", producer_name.to_owned())]);
        let instance = Uuid::new_v4().simple().to_string();
        Self {
            nats,
            producer: format!("{producer_name}/{}", &instance[..8]),
            stream_missing_since: Some(Instant::now()),
        }
    }

    /// Creates the RECOMMENDATIONS stream if it was found missing: at once
    /// when `force`, else at most every 30 seconds. A failure is logged and
    /// retried later, never returned.
    pub async fn ensure_stream(&mut self, force: bool) {
        match self.stream_missing_since {
            None => return,
            Some(since) if !force && since.elapsed() < STREAM_RETRY => return,
            Some(_) => {}
        }
        match self.nats.ensure_stream(STREAM_AREA, SIGNALS_MAX_AGE).await {
            Ok(_) => self.stream_missing_since = None,
            Err(error) => {
                tracing::warn!(%error, "RECOMMENDATIONS stream unavailable; signals may be lost");
                self.stream_missing_since = Some(Instant::now());
            }
        }
    }

    /// The subject, Envelope id and encoded Envelope of a signal; None for a
    /// signal of no known kind.
    fn envelope(&self, signal: &EngagementSignal) -> Option<(String, String, Bytes)> {
        let kind = SignalKind::try_from(signal.kind).ok()?;
        let subject = self.nats.subject(&subject_suffix(kind)?);
        let id = Uuid::now_v7().to_string();
        let envelope = Envelope {
            id: id.clone(),
            occurred_at: signal.time,
            producer: self.producer.clone(),
            subject: subject.clone(),
            r#type: SIGNAL_TYPE.to_owned(),
            payload: signal.encode_to_vec(),
        };
        Some((subject, id, Bytes::from(envelope.encode_to_vec())))
    }

    /// Sends every signal without waiting, then awaits their acks together.
    /// Failures are logged, not returned (signals are statistics); a failed
    /// ack makes the next batch ask for the stream again.
    pub async fn publish(&mut self, signals: Vec<EngagementSignal>) {
        if signals.is_empty() {
            return;
        }
        self.ensure_stream(false).await;
        let mut acks = Vec::with_capacity(signals.len());
        for signal in &signals {
            let Some((subject, id, payload)) = self.envelope(signal) else { continue };
            match self.nats.publish_durable_pipelined(subject, &id, payload).await {
                Ok(ack) => acks.push(ack),
                Err(error) => tracing::warn!(%error, "engagement signal not sent"),
            }
        }
        // All are in flight already: awaiting in turn costs one round trip.
        let mut failed = 0usize;
        for ack in acks {
            if ack.await.is_err() {
                failed += 1;
            }
        }
        if failed > 0 {
            tracing::warn!(failed, "engagement signals not acknowledged by JetStream");
            // Perhaps the stream is gone (NATS restarted without storage).
            self.stream_missing_since = Some(Instant::now() - STREAM_RETRY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_the_kind_in_lower_snake_case() {
        assert_eq!(subject_suffix(SignalKind::RoomJoined).as_deref(), Some("recommendations.signal.room_joined"));
        assert_eq!(subject_suffix(SignalKind::ChatMessage).as_deref(), Some("recommendations.signal.chat_message"));
        assert_eq!(subject_suffix(SignalKind::PollVote).as_deref(), Some("recommendations.signal.poll_vote"));
        assert_eq!(kind_token(SignalKind::RoomWatchTime).as_deref(), Some("room_watch_time"));
        assert_eq!(kind_token(SignalKind::WatchPartyStarted).as_deref(), Some("watch_party_started"));
        assert_eq!(kind_token(SignalKind::Reaction).as_deref(), Some("reaction"));
        assert_eq!(kind_token(SignalKind::LiveReaction).as_deref(), Some("live_reaction"));
        assert_eq!(kind_token(SignalKind::QuizAnswer).as_deref(), Some("quiz_answer"));
        assert_eq!(kind_token(SignalKind::Prediction).as_deref(), Some("prediction"));
        assert_eq!(kind_token(SignalKind::QuestionAsked).as_deref(), Some("question_asked"));
        assert_eq!(kind_token(SignalKind::Unspecified), None);
        assert_eq!(subject_suffix(SignalKind::Unspecified), None);
    }
}
