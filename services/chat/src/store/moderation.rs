//! Moderation state: chat settings, timeouts and chat bans (with purges),
//! blocked and hold-for-review terms, and held messages.

use sqlx::{Postgres, postgres::PgArguments, types::Json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{NewAudit, Outgoing, Store, enqueue, next_seq, reports::insert_audit};
use crate::{
    domain::settings::Settings,
    error::{ChatError, Result},
};

/// How far back a purge reaches.
const PURGE_WINDOW_SECS: i64 = 600;
/// Most messages one purge removes.
const PURGE_MAX: i64 = 500;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RestrictionRow {
    pub room_id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    pub reason: String,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TermRow {
    pub id: Uuid,
    pub room_id: Option<Uuid>,
    pub term: String,
    pub action: String,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HeldRow {
    pub id: Uuid,
    pub room_id: Uuid,
    pub author_id: Uuid,
    pub author_username: String,
    pub author_name: String,
    pub author_avatar: String,
    pub author_role: i16,
    pub client_msg_id: String,
    pub text: String,
    pub mentions: Json<Vec<super::messages::StoredMention>>,
    pub reply_to_seq: Option<i64>,
    pub matched: Vec<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub decision: Option<String>,
}

const HELD_COLUMNS: &str = "id, room_id, author_id, author_username, author_name, author_avatar, author_role, \
     client_msg_id, text, mentions, reply_to_seq, matched, created_at, expires_at, decision";
const TERM_COLUMNS: &str = "id, room_id, term, action, created_by, created_at, expires_at";

/// A room's settings, those shield mode replaced, and who changed them when.
pub type StoredSettings = (Settings, Option<Settings>, Option<(Uuid, OffsetDateTime)>);
type SettingsRow = (Json<Settings>, Option<Json<Settings>>, Option<Uuid>, OffsetDateTime);

/// A purge done with a restriction: its event sequence, the removed
/// messages and the outbox entry.
pub struct Purge {
    pub event_seq: u64,
    pub targets: Vec<u64>,
    pub outbox: (i64, Outgoing),
}

impl Store {
    /// The room's settings and, under shield mode, those it replaced.
    pub async fn settings(&self, room: Uuid) -> Result<StoredSettings> {
        let row: Option<SettingsRow> =
            sqlx::query_as("SELECT settings, saved, updated_by, updated_at FROM chat.settings WHERE room_id = $1")
                .bind(room)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some((settings, saved, by, at)) => (settings.0, saved.map(|s| s.0), by.map(|b| (b, at))),
            None => (Settings::default(), None, None),
        })
    }

    /// Writes settings (and the saved pre-shield settings) with an audit entry.
    pub async fn put_settings(
        &self,
        room: Uuid,
        settings: &Settings,
        saved: Option<&Settings>,
        by: Uuid,
        audit: &NewAudit,
    ) -> Result<OffsetDateTime> {
        let mut tx = self.pool.begin().await?;
        let at: OffsetDateTime = sqlx::query_scalar(
            "INSERT INTO chat.settings (room_id, settings, saved, updated_by, updated_at) VALUES ($1, $2, $3, $4, now()) \
             ON CONFLICT (room_id) DO UPDATE SET settings = $2, saved = $3, updated_by = $4, updated_at = now() \
             RETURNING updated_at",
        )
        .bind(room)
        .bind(Json(settings))
        .bind(saved.map(Json))
        .bind(by)
        .fetch_one(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(at)
    }

    /// The user's restrictions in force in a room.
    pub async fn active_restrictions(&self, room: Uuid, user: Uuid) -> Result<Vec<RestrictionRow>> {
        Ok(sqlx::query_as(
            "SELECT room_id, user_id, kind, reason, created_by, created_at, expires_at FROM chat.restrictions \
             WHERE room_id = $1 AND user_id = $2 AND (expires_at IS NULL OR expires_at > now())",
        )
        .bind(room)
        .bind(user)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Times out or bans a user (replacing the same kind), optionally
    /// purging their recent messages as one sequenced event.
    #[allow(clippy::too_many_arguments)]
    pub async fn restrict(
        &self,
        room: Uuid,
        user: Uuid,
        kind: &str,
        reason: &str,
        by: Uuid,
        expires_at: Option<OffsetDateTime>,
        purge: bool,
        audit: &NewAudit,
        build_purge: impl FnOnce(u64, &[u64]) -> Outgoing,
    ) -> Result<(RestrictionRow, Option<Purge>)> {
        let mut tx = self.pool.begin().await?;
        let row: RestrictionRow = sqlx::query_as(
            "INSERT INTO chat.restrictions (room_id, user_id, kind, reason, created_by, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (room_id, user_id, kind) DO UPDATE SET reason = $4, created_by = $5, created_at = now(), \
             expires_at = $6 RETURNING room_id, user_id, kind, reason, created_by, created_at, expires_at",
        )
        .bind(room)
        .bind(user)
        .bind(kind)
        .bind(reason)
        .bind(by)
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        let mut purged = None;
        if purge {
            let targets: Vec<i64> = sqlx::query_scalar(
                "SELECT seq FROM chat.messages WHERE room_id = $1 AND author_id = $2 AND deleted_at IS NULL \
                 AND created_at > now() - make_interval(secs => $3) ORDER BY seq DESC LIMIT $4 FOR UPDATE",
            )
            .bind(room)
            .bind(user)
            .bind(PURGE_WINDOW_SECS as f64)
            .bind(PURGE_MAX)
            .fetch_all(&mut *tx)
            .await?;
            if !targets.is_empty() {
                let event_seq = next_seq(&mut tx, room).await?;
                sqlx::query(
                    "UPDATE chat.messages SET deleted_at = now(), deleted_by_moderator = true, deleted_seq = $3 \
                     WHERE room_id = $1 AND seq = ANY($2)",
                )
                .bind(room)
                .bind(&targets)
                .bind(event_seq as i64)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO chat.events (room_id, seq, kind, targets, by_moderator, user_id) \
                     VALUES ($1, $2, 'purged', $3, true, $4)",
                )
                .bind(room)
                .bind(event_seq as i64)
                .bind(&targets)
                .bind(user)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM chat.reactions WHERE room_id = $1 AND seq = ANY($2)")
                    .bind(room)
                    .bind(&targets)
                    .execute(&mut *tx)
                    .await?;
                let mut targets: Vec<u64> = targets.into_iter().map(|t| t as u64).collect();
                targets.sort_unstable();
                let out = build_purge(event_seq, &targets);
                let outbox_id = enqueue(&mut tx, &out).await?;
                purged = Some(Purge { event_seq, targets, outbox: (outbox_id, out) });
            }
        }
        tx.commit().await?;
        Ok((row, purged))
    }

    /// Lifts a restriction in force; false when there was none.
    pub async fn lift(&self, room: Uuid, user: Uuid, kind: &str, audit: &NewAudit) -> Result<bool> {
        let lift = sqlx::query(
            "DELETE FROM chat.restrictions WHERE room_id = $1 AND user_id = $2 AND kind = $3 \
             AND (expires_at IS NULL OR expires_at > now())",
        )
        .bind(room)
        .bind(user)
        .bind(kind);
        self.audited(lift, audit).await
    }

    /// Runs one change and, when it changed anything, records its audit
    /// entry in the same transaction; false when nothing changed.
    async fn audited(&self, change: sqlx::query::Query<'_, Postgres, PgArguments>, audit: &NewAudit) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if change.execute(&mut *tx).await?.rows_affected() == 0 {
            return Ok(false);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes up to `limit` restrictions past their expiry and returns
    /// them (each is returned by exactly one replica).
    pub async fn expire_restrictions(&self, limit: i64) -> Result<Vec<RestrictionRow>> {
        Ok(sqlx::query_as(
            "DELETE FROM chat.restrictions WHERE (room_id, user_id, kind) IN (SELECT room_id, user_id, kind \
             FROM chat.restrictions WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING room_id, user_id, kind, reason, created_by, created_at, expires_at",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Restrictions in force, newest first.
    pub async fn restrictions(
        &self,
        room: Uuid,
        kind: Option<&str>,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<RestrictionRow>> {
        Ok(sqlx::query_as(
            "SELECT room_id, user_id, kind, reason, created_by, created_at, expires_at FROM chat.restrictions \
             WHERE room_id = $1 AND ($2::text IS NULL OR kind = $2) AND (expires_at IS NULL OR expires_at > now()) \
             ORDER BY created_at DESC, user_id OFFSET $3 LIMIT $4",
        )
        .bind(room)
        .bind(kind)
        .bind(offset as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Adds a term; ALREADY_EXISTS for the same folded term in the scope,
    /// RESOURCE_EXHAUSTED past `max` terms in a room.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_term(
        &self,
        room: Option<Uuid>,
        term: &str,
        folded: &str,
        action: &str,
        by: Uuid,
        expires_at: Option<OffsetDateTime>,
        max: i64,
        audit: &NewAudit,
    ) -> Result<TermRow> {
        let mut tx = self.pool.begin().await?;
        // Expired terms give their place back.
        sqlx::query("DELETE FROM chat.terms WHERE room_id IS NOT DISTINCT FROM $1 AND expires_at <= now()")
            .bind(room)
            .execute(&mut *tx)
            .await?;
        if room.is_some() {
            let count: i64 = sqlx::query_scalar("SELECT count(*) FROM chat.terms WHERE room_id = $1")
                .bind(room)
                .fetch_one(&mut *tx)
                .await?;
            if count >= max {
                return Err(ChatError::Exhausted("too_many_terms", format!("a room holds at most {max} terms"), None));
            }
        }
        let row: Option<TermRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO chat.terms (id, room_id, term, folded, action, created_by, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING {TERM_COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(room)
        .bind(term)
        .bind(folded)
        .bind(action)
        .bind(by)
        .bind(expires_at)
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or_else(|| ChatError::AlreadyExists("term_exists", "this term is already listed".into()))?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn term(&self, id: Uuid) -> Result<Option<TermRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {TERM_COLUMNS} FROM chat.terms WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn remove_term(&self, id: Uuid, audit: &NewAudit) -> Result<bool> {
        self.audited(sqlx::query("DELETE FROM chat.terms WHERE id = $1").bind(id), audit).await
    }

    /// Terms in force for a room (and the global ones), for matching.
    pub async fn active_terms(&self, room: Uuid) -> Result<Vec<TermRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {TERM_COLUMNS} FROM chat.terms WHERE (room_id = $1 OR room_id IS NULL) \
             AND (expires_at IS NULL OR expires_at > now())"
        )))
        .bind(room)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A page of terms, newest first.
    pub async fn terms(
        &self,
        room: Option<Uuid>,
        include_global: bool,
        action: Option<&str>,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<TermRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {TERM_COLUMNS} FROM chat.terms \
             WHERE (room_id IS NOT DISTINCT FROM $1 OR ($2 AND room_id IS NULL)) AND ($3::text IS NULL OR action = $3) \
             AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at DESC, id OFFSET $4 LIMIT $5"
        )))
        .bind(room)
        .bind(include_global)
        .bind(action)
        .bind(offset as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Holds a message for review; idempotent on client_msg_id (the first
    /// hold is returned).
    pub async fn hold(
        &self,
        new: &super::NewMessage<'_>,
        matched: &[String],
        ttl_secs: i64,
    ) -> Result<(HeldRow, bool)> {
        let inserted = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO chat.held ({}, id, matched, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now() + make_interval(secs => $13)) \
             ON CONFLICT (room_id, author_id, client_msg_id) DO NOTHING RETURNING {HELD_COLUMNS}",
            super::messages::NEW_MESSAGE_COLUMNS
        )));
        let inserted: Option<HeldRow> = super::messages::bind_new(inserted, new)
            .bind(Uuid::now_v7())
            .bind(matched)
            .bind(ttl_secs as f64)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = inserted {
            return Ok((row, false));
        }
        let first: HeldRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {HELD_COLUMNS} FROM chat.held WHERE room_id = $1 AND author_id = $2 AND client_msg_id = $3"
        )))
        .bind(new.room)
        .bind(new.author.id)
        .bind(new.client_msg_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((first, true))
    }

    /// A held message still waiting for a decision.
    pub async fn waiting(&self, id: Uuid) -> Result<HeldRow> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {HELD_COLUMNS} FROM chat.held WHERE id = $1 AND decision IS NULL AND expires_at > now()"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| {
            ChatError::NotFound("held_message_not_found", "no such held message (or already decided or expired)".into())
        })
    }

    /// Waiting held messages of a room, oldest first.
    pub async fn held_page(&self, room: Uuid, offset: u64, limit: u32) -> Result<Vec<HeldRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {HELD_COLUMNS} FROM chat.held WHERE room_id = $1 AND decision IS NULL AND expires_at > now() \
             ORDER BY created_at, id OFFSET $2 LIMIT $3"
        )))
        .bind(room)
        .bind(offset as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Marks up to `limit` held messages past their time as expired and
    /// returns them (each is returned by exactly one replica).
    pub async fn expire_held(&self, limit: i64) -> Result<Vec<HeldRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE chat.held SET decision = 'expired' WHERE id IN (SELECT id FROM chat.held \
             WHERE decision IS NULL AND expires_at <= now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING {HELD_COLUMNS}"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Denies a waiting held message.
    pub async fn deny(&self, id: Uuid, audit: &NewAudit) -> Result<bool> {
        let deny = sqlx::query(
            "UPDATE chat.held SET decision = 'denied' WHERE id = $1 AND decision IS NULL AND expires_at > now()",
        )
        .bind(id);
        self.audited(deny, audit).await
    }
}
