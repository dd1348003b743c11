//! The outbox: lifecycle events written in the transaction of the change
//! they announce, deleted once JetStream has them.

use sqlx::{Postgres, Transaction};

use super::{Outgoing, Store};
use crate::error::Result;

/// An outbox entry waiting to be published.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub event_id: uuid::Uuid,
    pub subject: String,
    pub payload: Vec<u8>,
}

/// Writes an outbox entry in the transaction; returns its id.
pub async fn enqueue(tx: &mut Transaction<'_, Postgres>, out: &Outgoing) -> Result<i64> {
    Ok(sqlx::query_scalar("INSERT INTO polls.outbox (event_id, subject, payload) VALUES ($1, $2, $3) RETURNING id")
        .bind(out.event_id)
        .bind(&out.subject)
        .bind(&out.payload)
        .fetch_one(&mut **tx)
        .await?)
}

impl Store {
    /// Marks outbox entries as published.
    pub async fn published(&self, ids: &[i64]) -> Result<()> {
        sqlx::query("DELETE FROM polls.outbox WHERE id = ANY($1)").bind(ids).execute(&self.pool).await?;
        Ok(())
    }

    /// Up to `limit` entries older than `min_age_ms` (younger ones are still
    /// being published by the replica that committed them). Two replicas
    /// publishing one entry are deduplicated by JetStream (Nats-Msg-Id).
    pub async fn pending_outbox(&self, min_age_ms: i64, limit: i64) -> Result<Vec<OutboxRow>> {
        Ok(sqlx::query_as(
            "SELECT id, event_id, subject, payload FROM polls.outbox \
             WHERE created_at < now() - make_interval(secs => $1::double precision / 1000) \
             ORDER BY id LIMIT $2",
        )
        .bind(min_age_ms as f64)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
