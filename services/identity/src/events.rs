//! Identity's NATS events. Durable ones (`user.deleted`) go through the
//! transactional outbox and are relayed to JetStream, so an erased account
//! is always announced even if NATS was down at that moment; personal
//! notifications (`new follower`) are ephemeral core-NATS messages.

use std::time::Duration;

use bytes::Bytes;
use hearth_platform::nats::Nats;
use hearth_proto::{
    hearth::{
        common::v1::UserRef,
        events::v1::{BlocksChanged, Envelope, NewFollower, SessionRevoked, UserEvent, user_event},
    },
    identity::UserDeleted,
};
use prost::Message;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::store::{OutboxEvent, Store};

/// Subject suffix of account deletions (JetStream stream `…_IDENTITY`).
pub const USER_DELETED: &str = "identity.user.deleted";

/// How long JetStream keeps identity events for consumers that were down.
pub const STREAM_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Clone)]
pub struct Events {
    nats: Nats,
}

impl Events {
    pub fn new(nats: Nats) -> Self {
        Self { nats }
    }

    /// The outbox row announcing an account's deletion.
    pub fn user_deleted(&self, user: Uuid, at: time::OffsetDateTime) -> OutboxEvent {
        let payload = UserDeleted { user_id: user.to_string(), deleted_at: Some(crate::grpc::timestamp(at)) };
        OutboxEvent { id: Uuid::now_v7(), subject: self.nats.subject(USER_DELETED), payload: payload.encode_to_vec() }
    }

    /// Tells the followee (on any gateway) about a new follower: a personal
    /// `UserEvent` on `user.<followee>.follower`.
    pub async fn followed(&self, follower: &crate::store::UserRow, followee: Uuid, mutual: bool) {
        let now = crate::grpc::timestamp(time::OffsetDateTime::now_utc());
        let kind = user_event::Kind::NewFollower(NewFollower {
            follower: Some(UserRef {
                user_id: follower.id.to_string(),
                username: follower.username.clone(),
                display_name: follower.display_name.clone(),
                avatar_url: follower.avatar_url.clone(),
            }),
            mutual,
            follow_time: Some(now),
        });
        self.personal(followee, "follower", kind).await;
    }

    /// Tells the blocker's gateways to reload the block list (they filter
    /// chat by it): `user.<blocker>.blocks`.
    pub async fn blocks_changed(&self, blocker: Uuid, other: Uuid, blocked: bool) {
        let kind = user_event::Kind::BlocksChanged(BlocksChanged { user_id: other.to_string(), blocked });
        self.personal(blocker, "blocks", kind).await;
    }

    /// Tells the user's gateways a session ended (`None`: all of them), so
    /// they close its connections with 4009: `user.<id>.session`.
    pub async fn session_revoked(&self, user: Uuid, session: Option<Uuid>, reason: &str) {
        let kind = user_event::Kind::SessionRevoked(SessionRevoked {
            session_id: session.map(|s| s.to_string()).unwrap_or_default(),
            reason: reason.to_owned(),
        });
        self.personal(user, "session", kind).await;
    }

    /// Publishes a personal event (core NATS, best effort).
    async fn personal(&self, user: Uuid, suffix: &str, kind: user_event::Kind) {
        let id = Uuid::now_v7().to_string();
        let now = crate::grpc::timestamp(time::OffsetDateTime::now_utc());
        let subject = self.nats.subject(&format!("user.{user}.{suffix}"));
        let event = UserEvent { user_id: user.to_string(), event_id: id.clone(), time: Some(now), kind: Some(kind) };
        let envelope = Envelope {
            id,
            occurred_at: Some(now),
            producer: "identity".into(),
            subject: subject.clone(),
            r#type: "hearth.events.v1.UserEvent".into(),
            payload: event.encode_to_vec(),
        };
        if let Err(error) = self.nats.publish(subject, Bytes::from(envelope.encode_to_vec())).await {
            tracing::warn!(%error, suffix, "personal event not sent");
        }
    }

    /// Publishes pending outbox events; returns how many went out.
    pub async fn relay_once(&self, store: &Store) -> Result<usize, crate::error::IdentityError> {
        let (mut tx, pending) = store.pending_outbox(100).await?;
        let mut sent = 0;
        for event in &pending {
            match self
                .nats
                .publish_durable(event.subject.clone(), &event.id.to_string(), Bytes::from(event.payload.clone()))
                .await
            {
                Ok(()) => {
                    Store::mark_published(&mut tx, event.id).await?;
                    sent += 1;
                }
                Err(error) => {
                    tracing::warn!(%error, "outbox relay: JetStream unavailable, will retry");
                    break;
                }
            }
        }
        tx.commit().await?;
        Ok(sent)
    }

    /// Relays the outbox until shutdown: right away when `wake` fires, and
    /// every few seconds to catch anything left by a crash or an outage.
    pub async fn relay(self, store: Store, wake: std::sync::Arc<tokio::sync::Notify>, shutdown: CancellationToken) {
        if let Err(error) = self.nats.ensure_stream("identity", STREAM_MAX_AGE).await {
            tracing::warn!(%error, "identity stream not ready yet; the relay will retry");
        }
        loop {
            match self.relay_once(&store).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(error) => {
                    if let crate::error::IdentityError::Database(_) = error {
                        tracing::warn!(%error, "outbox relay: database unavailable");
                    }
                    let _ = self.nats.ensure_stream("identity", STREAM_MAX_AGE).await;
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    }
}
