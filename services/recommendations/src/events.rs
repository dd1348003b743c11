//! NATS: the RECOMMENDATIONS stream (engagement signals, which this role
//! consumes and, for shares, also produces), personal `recommendation_shared`
//! events (`user.<id>.recs`) and shares into rooms (`room.<id>.recs`).

use bytes::Bytes;
use hearth_platform::nats::Nats;
use hearth_proto::hearth::{
    events::v1::{Envelope, FriendStartedParty, UserEvent, user_event},
    recommendations::v1::{EngagementSignal, RoomShareEvent, Share},
};
use prost::Message;
use uuid::Uuid;

#[derive(Clone)]
pub struct Events {
    nats: Nats,
    producer: String,
}

impl Events {
    pub fn new(nats: Nats) -> Self {
        let instance = Uuid::new_v4().simple().to_string();
        Self { nats, producer: format!("recommendations/{}", &instance[..8]) }
    }

    pub fn nats(&self) -> &Nats {
        &self.nats
    }

    fn envelope(&self, subject: &str, r#type: &str, id: &str, payload: Vec<u8>) -> Bytes {
        Bytes::from(
            Envelope {
                id: id.to_owned(),
                occurred_at: Some(hearth_platform::wkt::timestamp(time::OffsetDateTime::now_utc())),
                producer: self.producer.clone(),
                subject: subject.to_owned(),
                r#type: r#type.to_owned(),
                payload,
            }
            .encode_to_vec(),
        )
    }

    /// Tells each recipient's connections about a share (core NATS: the
    /// share itself is durable in their feeds).
    pub async fn shared(&self, recipients: &[Uuid], share: &Share) {
        for user in recipients {
            let id = Uuid::now_v7().to_string();
            let event = UserEvent {
                user_id: user.to_string(),
                event_id: id.clone(),
                time: share.create_time,
                kind: Some(user_event::Kind::RecommendationShared(share.clone())),
            };
            let subject = self.nats.subject(&format!("user.{user}.recs"));
            let payload = self.envelope(&subject, "hearth.events.v1.UserEvent", &id, event.encode_to_vec());
            if let Err(error) = self.nats.publish(subject, payload).await {
                tracing::warn!(%error, %user, "share notification not published");
            }
        }
    }

    /// Tells a host's friends that they started a watch party.
    pub async fn friend_started_party(&self, recipients: &[Uuid], party: &FriendStartedParty) {
        let time = Some(hearth_platform::wkt::timestamp(time::OffsetDateTime::now_utc()));
        for user in recipients {
            let id = Uuid::now_v7().to_string();
            let event = UserEvent {
                user_id: user.to_string(),
                event_id: id.clone(),
                time,
                kind: Some(user_event::Kind::FriendStartedParty(party.clone())),
            };
            let subject = self.nats.subject(&format!("user.{user}.recs"));
            let payload = self.envelope(&subject, "hearth.events.v1.UserEvent", &id, event.encode_to_vec());
            if let Err(error) = self.nats.publish(subject, payload).await {
                tracing::warn!(%error, %user, "party notification not published");
            }
        }
    }

    /// Tells the people in a room about a share into it.
    pub async fn shared_into_room(&self, room: Uuid, share: &Share) {
        let subject = self.nats.subject(&format!("room.{room}.recs"));
        let id = Uuid::now_v7().to_string();
        let event = RoomShareEvent { room_id: room.to_string(), share: Some(share.clone()) };
        let payload = self.envelope(&subject, "hearth.recommendations.v1.RoomShareEvent", &id, event.encode_to_vec());
        if let Err(error) = self.nats.publish(subject, payload).await {
            tracing::warn!(%error, %room, "room share event not published");
        }
    }

    /// Records an explicit share as a signal (taste and trending), durably.
    pub async fn signal(&self, signal: &EngagementSignal) {
        let subject = self.nats.subject("recommendations.signal.share");
        let id = Uuid::now_v7().to_string();
        let payload =
            self.envelope(&subject, "hearth.recommendations.v1.EngagementSignal", &id, signal.encode_to_vec());
        if let Err(error) = self.nats.publish_durable(subject, &id, payload).await {
            tracing::warn!(%error, "share signal not recorded");
        }
    }
}
