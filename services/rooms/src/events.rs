//! The rooms service's NATS events: every room change as a `RoomEvent` in an
//! `Envelope` on `hearth.room.<room_id>.<channel>` (durable through
//! JetStream for `.room`, core NATS for the ephemeral rest), and personal
//! `UserEvent`s (removals, invitations) on `hearth.user.<user_id>.room`.

use std::time::Duration;

use async_nats::jetstream::stream;
use bytes::Bytes;
use hearth_platform::nats::Nats;
use hearth_proto::hearth::{
    chat::v1::AuditEntry,
    events::v1::{Envelope, UserEvent, user_event},
    rooms::v1::{RoomEvent, room_event},
};
use prost::Message;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::grpc::convert::timestamp_ms;

/// Which subject of the room an event goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Room and membership changes; JetStream.
    Room,
    /// Playback, queue, readiness.
    Playback,
    /// Presence.
    Presence,
    /// Moderator-only: invites, unbans.
    Moderators,
}

impl Channel {
    fn suffix(self) -> &'static str {
        match self {
            Channel::Room => "room",
            Channel::Playback => "playback",
            Channel::Presence => "presence",
            Channel::Moderators => "mod.room",
        }
    }
}

/// How long JetStream keeps room events for consumers that were away.
pub const STREAM_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Room events waiting for JetStream, per replica. Beyond it (a long
/// NATS outage under load) new events are dropped with a warning; clients
/// recover them from the version gap or their next snapshot.
const DURABLE_QUEUE: usize = 10_000;

/// Longest pause between two attempts at events NATS did not take.
const RETRY_MAX: Duration = Duration::from_secs(5);

/// Events sent before their acknowledgements are awaited.
const BATCH: usize = 256;

/// A `.room` event on its way to JetStream.
struct Durable {
    room: Uuid,
    subject: String,
    id: String,
    payload: Bytes,
}

#[derive(Clone)]
pub struct Events {
    nats: Nats,
    producer: String,
    durable: mpsc::Sender<Durable>,
}

impl Events {
    /// Starts the task that publishes `.room` events in order; it ends when
    /// the last clone of this handle is dropped.
    pub fn new(nats: Nats) -> Self {
        let instance = Uuid::new_v4().simple().to_string();
        let (durable, queue) = mpsc::channel(DURABLE_QUEUE);
        tokio::spawn(publish_in_order(nats.clone(), queue));
        Self { nats, producer: format!("rooms/{}", &instance[..8]), durable }
    }

    /// Creates the ROOMS stream over `<prefix>.room.*.room` only: a stream
    /// over `room.>` would persist all the ephemeral fan-out.
    pub async fn ensure_stream(&self) {
        let config = stream::Config {
            name: self.nats.stream_name("rooms"),
            subjects: vec![self.nats.subject("room.*.room")],
            max_age: STREAM_MAX_AGE,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        };
        if let Err(error) = self.nats.jetstream.get_or_create_stream(config).await {
            tracing::warn!(%error, "ROOMS stream unavailable; room events fall back to core NATS");
        }
        if let Err(error) = self.nats.ensure_stream("moderation", hearth_platform::nats::MODERATION_MAX_AGE).await {
            tracing::warn!(%error, "MODERATION stream unavailable; audit entries may be lost");
        }
    }

    fn envelope(&self, subject: &str, r#type: &str, id: &str, payload: Vec<u8>, now_ms: i64) -> Bytes {
        Bytes::from(
            Envelope {
                id: id.to_owned(),
                occurred_at: Some(timestamp_ms(now_ms)),
                producer: self.producer.clone(),
                subject: subject.to_owned(),
                r#type: r#type.to_owned(),
                payload,
            }
            .encode_to_vec(),
        )
    }

    /// Publishes one room event. Failures are logged, not returned: the
    /// change is already stored, and clients recover from a lost event by
    /// the version gap (or the next snapshot). `.room` events go to
    /// JetStream through this replica's ordered queue, so the request never
    /// waits for NATS: during an outage the change is answered at once and
    /// its event follows, in order, when NATS is back.
    pub async fn room(&self, room: Uuid, channel: Channel, version: u64, kind: room_event::Kind) {
        let now = crate::state::now_ms();
        let event = RoomEvent { room_id: room.to_string(), version, time: Some(timestamp_ms(now)), kind: Some(kind) };
        let subject = self.nats.subject(&format!("room.{room}.{}", channel.suffix()));
        let id = Uuid::now_v7().to_string();
        let payload = self.envelope(&subject, "hearth.rooms.v1.RoomEvent", &id, event.encode_to_vec(), now);
        if channel == Channel::Room {
            if let Err(error) = self.durable.try_send(Durable { room, subject, id, payload }) {
                tracing::warn!(%error, %room, "room event dropped: the JetStream queue is full");
            }
            return;
        }
        if let Err(error) = self.nats.publish(subject, payload).await {
            tracing::warn!(%error, %room, "room event not published");
        }
    }

    /// Records a moderation act in the shared audit log: an AuditEntry on
    /// JetStream `moderation.audit` (stream MODERATION, deduplicated by the
    /// entry id), which the chat service stores and serves. The request
    /// does not wait for JetStream's acknowledgement: while NATS is away
    /// that wait lasts `nats.request_timeout`, and with the room event's
    /// own wait it outlasted the gateway's deadline (the act, committed,
    /// was reported `cancelled`).
    pub async fn audit(&self, entry: AuditEntry) {
        let subject = self.nats.subject("moderation.audit");
        let now = crate::state::now_ms();
        let id = entry.entry_id.clone();
        let payload = self.envelope(&subject, "hearth.chat.v1.AuditEntry", &id, entry.encode_to_vec(), now);
        let nats = self.nats.clone();
        tokio::spawn(async move {
            if let Err(error) = nats.publish_durable(subject, &id, payload).await {
                tracing::warn!(%error, "moderation act not recorded in the audit log");
            }
        });
    }

    /// Publishes a personal event to `user`'s connections on
    /// `user.<id>.<kind>` (`room` for removals, `invite` for invitations).
    pub async fn user(&self, user: Uuid, subject_kind: &str, kind: user_event::Kind) {
        let now = crate::state::now_ms();
        let id = Uuid::now_v7().to_string();
        let event = UserEvent {
            user_id: user.to_string(),
            event_id: id.clone(),
            time: Some(timestamp_ms(now)),
            kind: Some(kind),
        };
        let subject = self.nats.subject(&format!("user.{user}.{subject_kind}"));
        let payload = self.envelope(&subject, "hearth.events.v1.UserEvent", &id, event.encode_to_vec(), now);
        if let Err(error) = self.nats.publish(subject, payload).await {
            tracing::warn!(%error, %user, "personal event not published");
        }
    }
}

/// Publishes queued `.room` events in order, in batches: every event of
/// a batch is sent, then every acknowledgement awaited, so a join storm
/// costs one JetStream round trip per batch, not per event. Events not
/// stored are sent again (JetStream drops a duplicate by its
/// `Nats-Msg-Id`) until NATS is back. When NATS answers but JetStream does
/// not take them (no stream), they still reach live subscribers over core
/// NATS.
async fn publish_in_order(nats: Nats, mut queue: mpsc::Receiver<Durable>) {
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let mut pause = Duration::from_millis(100);
        while !batch.is_empty() {
            let mut acks = Vec::with_capacity(batch.len());
            for event in &batch {
                acks.push(
                    nats.publish_durable_pipelined(event.subject.clone(), &event.id, event.payload.clone()).await,
                );
            }
            let mut failed = Vec::new();
            for (event, ack) in batch.drain(..).zip(acks) {
                let stored = match ack {
                    Ok(ack) => ack.await.map(drop).map_err(|error| error.to_string()),
                    Err(error) => Err(error.to_string()),
                };
                if let Err(error) = stored {
                    failed.push((event, error));
                }
            }
            if failed.is_empty() {
                break;
            }
            if nats.is_connected() {
                for (event, error) in failed {
                    tracing::warn!(%error, room = %event.room, "room event not stored in JetStream; published live only");
                    if let Err(error) = nats.publish(event.subject, event.payload).await {
                        tracing::warn!(%error, room = %event.room, "room event not published");
                    }
                }
                break;
            }
            tracing::debug!(events = failed.len(), "NATS away; room events wait");
            batch = failed.into_iter().map(|(event, _)| event).collect();
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RETRY_MAX);
        }
    }
}
