//! The chat service's NATS events, each a `ChatEvent` in an `Envelope`:
//! sequenced ones on `hearth.room.<id>.chat` (JetStream stream CHAT, through
//! the outbox), live ones (reactions, live reactions, typing, settings) on
//! `.chat.live` and moderator-only ones on `.mod.chat` (core NATS), and
//! personal `UserEvent`s (mentions, restrictions, held-message decisions)
//! on `hearth.user.<id>.mention|chat`.

use std::time::Duration;

use async_nats::jetstream::stream;
use bytes::Bytes;
use hearth_platform::nats::{Nats, NatsError};
use hearth_proto::hearth::{
    chat::v1::{ChatEvent, chat_event},
    events::v1::{Envelope, UserEvent, user_event},
};
use prost::Message;
use uuid::Uuid;

use crate::{convert::timestamp, store::Outgoing};

/// How long JetStream keeps chat events for consumers that were away.
pub const STREAM_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone)]
pub struct Events {
    nats: Nats,
    producer: String,
}

fn now() -> hearth_proto::wkt::Timestamp {
    timestamp(time::OffsetDateTime::now_utc())
}

impl Events {
    pub fn new(nats: Nats) -> Self {
        let instance = Uuid::new_v4().simple().to_string();
        Self { nats, producer: format!("chat/{}", &instance[..8]) }
    }

    /// Creates the CHAT stream over `<prefix>.room.*.chat` only (the live
    /// and moderator subjects are not worth persisting).
    pub async fn ensure_stream(&self) {
        let config = stream::Config {
            name: self.nats.stream_name("chat"),
            subjects: vec![self.nats.subject("room.*.chat")],
            max_age: STREAM_MAX_AGE,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        };
        if let Err(error) = self.nats.jetstream.get_or_create_stream(config).await {
            tracing::warn!(%error, "CHAT stream unavailable; sequenced events stay in the outbox until it is");
        }
    }

    fn envelope(&self, subject: &str, r#type: &str, id: &str, payload: Vec<u8>) -> Vec<u8> {
        Envelope {
            id: id.to_owned(),
            occurred_at: Some(now()),
            producer: self.producer.clone(),
            subject: subject.to_owned(),
            r#type: r#type.to_owned(),
            payload,
        }
        .encode_to_vec()
    }

    fn chat_event(room: Uuid, sequence: u64, kind: chat_event::Kind) -> ChatEvent {
        ChatEvent { room_id: room.to_string(), sequence, time: Some(now()), kind: Some(kind) }
    }

    /// A sequenced event for the outbox (published after its commit).
    pub fn sequenced(&self, room: Uuid, sequence: u64, kind: chat_event::Kind) -> Outgoing {
        let event_id = Uuid::now_v7();
        let subject = self.nats.subject(&format!("room.{room}.chat"));
        let event = Self::chat_event(room, sequence, kind);
        let payload = self.envelope(&subject, "hearth.chat.v1.ChatEvent", &event_id.to_string(), event.encode_to_vec());
        Outgoing { event_id, subject, payload }
    }

    /// Sends a sequenced event to JetStream without waiting for the ack.
    pub async fn publish_pipelined(
        &self,
        out: &Outgoing,
    ) -> Result<async_nats::jetstream::context::PublishAckFuture, NatsError> {
        self.nats
            .publish_durable_pipelined(out.subject.clone(), &out.event_id.to_string(), Bytes::from(out.payload.clone()))
            .await
    }

    /// Publishes a sequenced event to JetStream (deduplicated by event id).
    pub async fn publish_sequenced(&self, out: &Outgoing) -> Result<(), NatsError> {
        self.nats
            .publish_durable(out.subject.clone(), &out.event_id.to_string(), Bytes::from(out.payload.clone()))
            .await
    }

    async fn core(&self, subject: String, room: Uuid, kind: chat_event::Kind) {
        let id = Uuid::now_v7().to_string();
        let event = Self::chat_event(room, 0, kind);
        let payload = self.envelope(&subject, "hearth.chat.v1.ChatEvent", &id, event.encode_to_vec());
        if let Err(error) = self.nats.publish(subject, Bytes::from(payload)).await {
            tracing::warn!(%error, "chat event not sent");
        }
    }

    /// An ephemeral event for everyone in the room (`.chat.live`).
    pub async fn live(&self, room: Uuid, kind: chat_event::Kind) {
        self.core(self.nats.subject(&format!("room.{room}.chat.live")), room, kind).await;
    }

    /// An event for the room's moderators only (`.mod.chat`).
    pub async fn moderators(&self, room: Uuid, kind: chat_event::Kind) {
        self.core(self.nats.subject(&format!("room.{room}.mod.chat")), room, kind).await;
    }

    /// A personal event (`user.<id>.<suffix>`), best effort.
    pub async fn personal(&self, user: Uuid, suffix: &str, kind: user_event::Kind) {
        let id = Uuid::now_v7().to_string();
        let subject = self.nats.subject(&format!("user.{user}.{suffix}"));
        let event = UserEvent { user_id: user.to_string(), event_id: id.clone(), time: Some(now()), kind: Some(kind) };
        let payload = self.envelope(&subject, "hearth.events.v1.UserEvent", &id, event.encode_to_vec());
        if let Err(error) = self.nats.publish(subject, Bytes::from(payload)).await {
            tracing::warn!(%error, suffix, "personal event not sent");
        }
    }
}

/// The room and sequence of an outbox payload (for the relay's window
/// writes).
pub fn sequenced_position(payload: &[u8]) -> Option<(Uuid, u64)> {
    let envelope = Envelope::decode(payload).ok()?;
    let event = ChatEvent::decode(envelope.payload.as_slice()).ok()?;
    Some((Uuid::parse_str(&event.room_id).ok()?, event.sequence))
}
