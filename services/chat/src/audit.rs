//! Stores the moderation acts other services record (rooms: kicks, bans,
//! role changes…): a durable JetStream consumer of `moderation.audit`
//! (stream MODERATION), at least once, idempotent by entry id. Chat's own
//! acts are written in the same transaction as the act itself.

use std::time::Duration;

use async_nats::jetstream::{
    AckKind,
    consumer::{AckPolicy, pull},
};
use futures::StreamExt;
use hearth_platform::nats::{MODERATION_MAX_AGE, Nats};
use hearth_proto::hearth::{chat::v1::AuditEntry, events::v1::Envelope};
use prost::Message;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{convert, store::NewAudit, store::Store};

/// The durable consumer's name: every chat replica shares it, so each entry
/// is stored by one of them.
const CONSUMER: &str = "chat-audit";

/// An entry as a row; None when it is malformed (it is dropped).
fn row(entry: &AuditEntry) -> Option<NewAudit> {
    let uuid = |raw: &str| Uuid::parse_str(raw).ok();
    Some(NewAudit {
        id: uuid(&entry.entry_id)?,
        room: uuid(&entry.room_id)?,
        actor: uuid(&entry.actor.as_ref()?.user_id)?,
        actor_role: i16::try_from(entry.actor_role).ok()?,
        actor_is_admin: entry.actor_is_operator_admin,
        action: i16::try_from(entry.action).ok()?,
        target_user: entry.target_user.as_ref().and_then(|u| uuid(&u.user_id)),
        target_seq: entry.target_sequence,
        reason: entry.reason.chars().take(500).collect(),
        details: entry.details.iter().take(20).map(|(k, v)| (k.clone(), v.chars().take(200).collect())).collect(),
        created_at: entry.create_time.as_ref().and_then(convert::datetime),
    })
}

/// Consumes until shutdown, re-creating the consumer after failures.
pub async fn run(nats: Nats, store: Store, shutdown: CancellationToken) {
    loop {
        if let Err(error) = consume(&nats, &store, &shutdown).await {
            tracing::warn!(%error, "audit consumer stopped; retrying");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

async fn consume(nats: &Nats, store: &Store, shutdown: &CancellationToken) -> Result<(), String> {
    let stream = nats.ensure_stream("moderation", MODERATION_MAX_AGE).await.map_err(|e| e.to_string())?;
    let consumer = stream
        .get_or_create_consumer(
            CONSUMER,
            pull::Config {
                durable_name: Some(CONSUMER.to_owned()),
                filter_subject: nats.subject("moderation.audit"),
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    // The lag reporter lives as long as this attempt at consuming.
    let lag = shutdown.child_token();
    let _stop_lag = lag.clone().drop_guard();
    hearth_platform::nats::report_consumer_lag(stream.clone(), CONSUMER.to_owned(), lag);
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            message = messages.next() => message,
        };
        let Some(message) = message else { return Err("consumer ended".into()) };
        let message = message.map_err(|e| e.to_string())?;
        let entry = Envelope::decode(message.payload.as_ref())
            .ok()
            .and_then(|envelope| AuditEntry::decode(envelope.payload.as_slice()).ok());
        let Some(audit) = entry.as_ref().and_then(row) else {
            tracing::warn!("dropped a malformed audit entry");
            let _ = message.ack().await;
            continue;
        };
        match store.audit(&audit).await {
            Ok(()) => {
                let _ = message.ack().await;
            }
            Err(error) => {
                tracing::warn!(%error, "audit entry not stored; it will be redelivered");
                let _ = message.ack_with(AckKind::Nak(Some(Duration::from_secs(2)))).await;
            }
        }
    }
}
