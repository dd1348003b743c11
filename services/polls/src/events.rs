//! The polls service's NATS events, each an `InteractionEvent` in an
//! `Envelope`: lifecycle events on `hearth.room.<id>.polls` (JetStream
//! stream POLLS, written to the outbox in the transaction of the change),
//! live counters on `.polls.live` and managers-only events on `.mod.polls`
//! (core NATS, may be lost: the next one or a snapshot corrects them), and
//! personal `UserEvent`s (quiz results, prediction settlements) on
//! `hearth.user.<id>.quiz|prediction`.

use std::time::Duration;

use async_nats::jetstream::stream;
use bytes::Bytes;
use hearth_platform::nats::{Nats, NatsError};
use hearth_proto::hearth::{
    events::v1::{Envelope, UserEvent, user_event},
    polls::v1::{InteractionEvent, interaction_event},
};
use prost::Message;
use uuid::Uuid;

use crate::store::Outgoing;

/// How long JetStream keeps lifecycle events for consumers that were away.
pub const STREAM_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

const EVENT_TYPE: &str = "hearth.polls.v1.InteractionEvent";

#[derive(Clone)]
pub struct Events {
    nats: Nats,
    producer: String,
}

fn now() -> hearth_proto::wkt::Timestamp {
    hearth_platform::wkt::timestamp(time::OffsetDateTime::now_utc())
}

impl Events {
    pub fn new(nats: Nats) -> Self {
        let instance = Uuid::new_v4().simple().to_string();
        Self { nats, producer: format!("polls/{}", &instance[..8]) }
    }

    /// Creates the POLLS stream over `<prefix>.room.*.polls` only.
    pub async fn ensure_stream(&self) {
        let config = stream::Config {
            name: self.nats.stream_name("polls"),
            subjects: vec![self.nats.subject("room.*.polls")],
            max_age: STREAM_MAX_AGE,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        };
        if let Err(error) = self.nats.jetstream.get_or_create_stream(config).await {
            tracing::warn!(%error, "POLLS stream unavailable; lifecycle events stay in the outbox until it is");
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

    fn event(room: Uuid, kind: interaction_event::Kind) -> InteractionEvent {
        InteractionEvent { room_id: room.to_string(), time: Some(now()), kind: Some(kind) }
    }

    /// A lifecycle event for the outbox (`.polls`), published after the
    /// commit that writes it (`Store::enqueue`).
    pub fn lifecycle(&self, room: Uuid, kind: interaction_event::Kind) -> Outgoing {
        let event_id = Uuid::now_v7();
        let subject = self.nats.subject(&format!("room.{room}.polls"));
        let payload =
            self.envelope(&subject, EVENT_TYPE, &event_id.to_string(), Self::event(room, kind).encode_to_vec());
        Outgoing { event_id, subject, payload }
    }

    /// Publishes an outbox entry to JetStream (deduplicated by event id).
    pub async fn publish_durable(&self, out: &Outgoing) -> Result<(), NatsError> {
        self.nats
            .publish_durable(out.subject.clone(), &out.event_id.to_string(), Bytes::from(out.payload.clone()))
            .await
    }

    async fn core(&self, subject: String, room: Uuid, kind: interaction_event::Kind) {
        let id = Uuid::now_v7().to_string();
        let payload = self.envelope(&subject, EVENT_TYPE, &id, Self::event(room, kind).encode_to_vec());
        if let Err(error) = self.nats.publish(subject, Bytes::from(payload)).await {
            tracing::warn!(%error, "interaction event not sent");
        }
    }

    /// A live counter for everyone in the room (`.polls.live`).
    pub async fn live(&self, room: Uuid, kind: interaction_event::Kind) {
        self.core(self.nats.subject(&format!("room.{room}.polls.live")), room, kind).await;
    }

    /// An event for the room's managers only (`.mod.polls`).
    pub async fn managers(&self, room: Uuid, kind: interaction_event::Kind) {
        self.core(self.nats.subject(&format!("room.{room}.mod.polls")), room, kind).await;
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
