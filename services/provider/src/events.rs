//! NATS (stream PROVIDER over `<prefix>.provider.>`): catalog changes for
//! rooms and recommendations (`provider.catalog.channel|guide|now`) and
//! accepted viewing events (`provider.viewing.<kind>`), each in an
//! Envelope, durable before anyone is told they happened.

use std::time::Duration;

use bytes::Bytes;
use hearth_platform::nats::{Nats, NatsError, PROVIDER_MAX_AGE};
use hearth_proto::hearth::{
    events::v1::Envelope,
    provider::v1::{CatalogEvent, ViewingRecorded, catalog_event},
};
use prost::Message;
use uuid::Uuid;

/// Namespace of the name-based ids of viewing events (UUID v5 of the
/// provider's event id), so a resent event gets the same id.
const VIEWING_NAMESPACE: Uuid = Uuid::from_u128(0x6865_6172_7468_2d76_6965_7769_6e67_2d31);

#[derive(Clone)]
pub struct Events {
    nats: Nats,
    producer: String,
    dedupe_window: Duration,
}

/// A viewing event handed to JetStream; `stored` resolves when it is
/// durable and says whether it was a duplicate.
pub type PendingAck = async_nats::jetstream::context::PublishAckFuture;

impl Events {
    pub fn new(nats: Nats, dedupe_window: Duration) -> Self {
        let instance = Uuid::new_v4().simple().to_string();
        Self { nats, producer: format!("provider/{}", &instance[..8]), dedupe_window }
    }

    /// Creates (or updates) the PROVIDER stream.
    pub async fn ensure_stream(&self) -> Result<(), NatsError> {
        self.nats.ensure_stream_with("provider", PROVIDER_MAX_AGE, self.dedupe_window).await.map(drop)
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

    /// Publishes a catalog change durably. `dedupe` names the change, so
    /// two replicas announcing the same one (a guide-clock handover) store
    /// it once.
    pub async fn catalog(&self, event: catalog_event::Kind, dedupe: &str) -> Result<(), NatsError> {
        let suffix = match &event {
            catalog_event::Kind::ChannelUpserted(_) | catalog_event::Kind::ChannelRemoved(_) => "channel",
            catalog_event::Kind::GuideUpdated(_) => "guide",
            catalog_event::Kind::NowChanged(_) => "now",
        };
        let subject = self.nats.subject(&format!("provider.catalog.{suffix}"));
        let id = Uuid::new_v5(&VIEWING_NAMESPACE, format!("catalog:{dedupe}").as_bytes()).to_string();
        let payload = CatalogEvent { kind: Some(event) }.encode_to_vec();
        let bytes = self.envelope(&subject, "hearth.provider.v1.CatalogEvent", &id, payload);
        self.nats.publish_durable(subject, &id, bytes).await
    }

    /// Hands one accepted viewing event to JetStream (pipelined: await the
    /// returned future for its storage).
    pub async fn viewing(&self, recorded: &ViewingRecorded) -> Result<PendingAck, NatsError> {
        let event = recorded.event.as_ref();
        let kind = crate::domain::contract::viewing_kind_name(event.map_or(0, |e| e.kind));
        let subject = self.nats.subject(&format!("provider.viewing.{kind}"));
        let id = viewing_id(event.map_or("", |e| e.event_id.as_str()));
        let bytes = self.envelope(&subject, "hearth.provider.v1.ViewingRecorded", &id, recorded.encode_to_vec());
        self.nats.publish_durable_pipelined(subject, &id, bytes).await
    }
}

/// The Envelope id of a provider viewing event: a name-based UUID (v5) of
/// its event id, the same for every resend.
pub fn viewing_id(event_id: &str) -> String {
    Uuid::new_v5(&VIEWING_NAMESPACE, event_id.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resent_event_keeps_its_id() {
        assert_eq!(viewing_id("ev-1"), viewing_id("ev-1"));
        assert_ne!(viewing_id("ev-1"), viewing_id("ev-2"));
        assert_eq!(Uuid::parse_str(&viewing_id("ev-1")).map(|u| u.get_version_num()).ok(), Some(5));
    }
}
