//! The chat service's Postgres store (schema `chat`). A room's stream
//! sequence is assigned by locking its `streams` row: every sequenced
//! change (post, deletion, purge, approval) takes the next number, writes
//! its rows and its outbox entry, and commits as one transaction — so the
//! sequence is total and gap-free whichever replica writes, and a committed
//! event is never lost before it is published.

mod messages;
mod moderation;
mod reports;

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::error::Result;

pub use messages::{Author, MessageRow, NewMessage, Posted, ReactionRow, ResumeRows, StoredMention, Thread};
pub use moderation::{HeldRow, Purge, RestrictionRow, TermRow};
pub use reports::{AuditFilter, AuditRow, NewAudit, NewReport, ReportRow};

/// An event to publish after the commit that made it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub event_id: Uuid,
    pub subject: String,
    pub payload: Vec<u8>,
}

/// An outbox entry waiting to be published.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub event_id: Uuid,
    pub subject: String,
    pub payload: Vec<u8>,
}

#[derive(Clone)]
pub struct Store {
    pub(crate) pool: PgPool,
}

impl Store {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The room's last stream sequence (0: nothing yet).
    pub async fn head(&self, room: Uuid) -> Result<u64> {
        let head: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM chat.streams WHERE room_id = $1")
            .bind(room)
            .fetch_optional(&self.pool)
            .await?;
        Ok(head.unwrap_or(0) as u64)
    }

    /// Marks outbox entries as published.
    pub async fn published(&self, ids: &[i64]) -> Result<()> {
        sqlx::query("DELETE FROM chat.outbox WHERE id = ANY($1)").bind(ids).execute(&self.pool).await?;
        Ok(())
    }

    /// Up to `limit` outbox entries older than `min_age_ms` (younger ones
    /// are still being published by the replica that committed them). Every
    /// replica relays; an entry two replicas publish at once is dropped as a
    /// duplicate by JetStream (Nats-Msg-Id) and by gateways (sequence).
    pub async fn pending_outbox(&self, min_age_ms: i64, limit: i64) -> Result<Vec<OutboxRow>> {
        Ok(sqlx::query_as(
            "SELECT id, event_id, subject, payload FROM chat.outbox \
             WHERE created_at < now() - make_interval(secs => $1::double precision / 1000) \
             ORDER BY id LIMIT $2",
        )
        .bind(min_age_ms as f64)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// The next sequence of a room's stream, locking its row until commit.
async fn next_seq(tx: &mut Transaction<'_, Postgres>, room: Uuid) -> Result<u64> {
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO chat.streams AS s (room_id, last_seq) VALUES ($1, 1) \
         ON CONFLICT (room_id) DO UPDATE SET last_seq = s.last_seq + 1 RETURNING last_seq",
    )
    .bind(room)
    .fetch_one(&mut **tx)
    .await?;
    Ok(seq as u64)
}

/// Writes an outbox entry in the transaction; returns its id.
async fn enqueue(tx: &mut Transaction<'_, Postgres>, out: &Outgoing) -> Result<i64> {
    Ok(sqlx::query_scalar("INSERT INTO chat.outbox (event_id, subject, payload) VALUES ($1, $2, $3) RETURNING id")
        .bind(out.event_id)
        .bind(&out.subject)
        .bind(&out.payload)
        .fetch_one(&mut **tx)
        .await?)
}
