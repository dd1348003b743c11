//! Messages: posting, deleting, purging, history, threads, resume and
//! reactions.

use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Outgoing, Store, enqueue, next_seq};
use crate::error::{ChatError, Result};

const MESSAGE_COLUMNS: &str = "room_id, seq, message_id, author_id, author_username, author_name, author_avatar, \
     author_role, client_msg_id, text, mentions, reply_to_seq, thread_root_seq, reply_count, created_at, deleted_at, \
     deleted_by_moderator, deleted_seq";

/// The columns a new message (posted or held) fills from [`NewMessage`],
/// bound by [`bind_new`] as $1–$10.
pub(super) const NEW_MESSAGE_COLUMNS: &str = "room_id, author_id, author_username, author_name, author_avatar, \
     author_role, client_msg_id, text, mentions, reply_to_seq";

/// Binds [`NEW_MESSAGE_COLUMNS`].
pub(super) fn bind_new<'q, O>(
    query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    new: &'q NewMessage<'_>,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    query
        .bind(new.room)
        .bind(new.author.id)
        .bind(&new.author.username)
        .bind(&new.author.display_name)
        .bind(&new.author.avatar_url)
        .bind(new.author.role)
        .bind(new.client_msg_id)
        .bind(new.text)
        .bind(Json(new.mentions))
        .bind(new.reply_to.map(|s| s as i64))
}

/// A resolved mention as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredMention {
    pub user_id: Uuid,
    pub username: String,
    pub start: u32,
    pub length: u32,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub room_id: Uuid,
    pub seq: i64,
    pub message_id: Uuid,
    pub author_id: Uuid,
    pub author_username: String,
    pub author_name: String,
    pub author_avatar: String,
    pub author_role: i16,
    pub client_msg_id: String,
    pub text: String,
    pub mentions: Json<Vec<StoredMention>>,
    pub reply_to_seq: Option<i64>,
    pub thread_root_seq: Option<i64>,
    pub reply_count: i32,
    pub created_at: OffsetDateTime,
    pub deleted_at: Option<OffsetDateTime>,
    pub deleted_by_moderator: bool,
    pub deleted_seq: Option<i64>,
}

/// Who writes, as shown on the message.
#[derive(Debug, Clone)]
pub struct Author {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub avatar_url: String,
    /// hearth.rooms.v1.RoomRole at send time.
    pub role: i16,
}

pub struct NewMessage<'a> {
    pub room: Uuid,
    pub author: &'a Author,
    pub client_msg_id: &'a str,
    pub text: &'a str,
    pub mentions: &'a [StoredMention],
    pub reply_to: Option<u64>,
    pub now: OffsetDateTime,
    /// Approving a held message: its id (decided in the same commit) and
    /// the audit entry.
    pub approving: Option<(Uuid, NewAudit)>,
}

/// The outcome of a post.
pub enum Posted {
    /// Newly posted, with the message it answers and its outbox entry.
    New { message: Box<MessageRow>, reply_to: Option<Box<MessageRow>>, outbox: (i64, Outgoing) },
    /// The same client_msg_id was posted before.
    Duplicate(Box<MessageRow>),
}

/// One emoji's reactions on a message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReactionRow {
    pub seq: i64,
    pub emoji: String,
    pub count: i64,
    pub me: bool,
}

/// What a resume from Postgres needs.
pub struct ResumeRows {
    pub messages: Vec<MessageRow>,
    /// Sequences at or before `since` deleted after it.
    pub deleted: Vec<u64>,
}

/// A thread's root and a page of its replies.
pub struct Thread {
    pub root: MessageRow,
    pub replies: Vec<MessageRow>,
}

fn not_found() -> ChatError {
    ChatError::NotFound("message_not_found", "no such message in this room".into())
}

impl Store {
    /// The message a client_msg_id already posted, if any.
    pub async fn by_client_msg_id(&self, room: Uuid, author: Uuid, client_msg_id: &str) -> Result<Option<MessageRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat.messages WHERE room_id = $1 AND author_id = $2 AND client_msg_id = $3"
        )))
        .bind(room)
        .bind(author)
        .bind(client_msg_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Posts a message: next sequence, message row, thread counter, outbox
    /// entry (made by `build` from the stored row), one transaction.
    pub async fn post(
        &self,
        new: NewMessage<'_>,
        build: impl FnOnce(&MessageRow, Option<&MessageRow>) -> Outgoing,
    ) -> Result<Posted> {
        let mut tx = self.pool.begin().await?;
        let reply_to = match new.reply_to {
            Some(target) => {
                let row: Option<MessageRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {MESSAGE_COLUMNS} FROM chat.messages WHERE room_id = $1 AND seq = $2"
                )))
                .bind(new.room)
                .bind(target as i64)
                .fetch_optional(&mut *tx)
                .await?;
                match row {
                    Some(row) if row.deleted_at.is_none() => Some(row),
                    _ => {
                        return Err(ChatError::NotFound(
                            "reply_not_found",
                            "the message replied to does not exist or was deleted".into(),
                        ));
                    }
                }
            }
            None => None,
        };
        if let Some((held, audit)) = &new.approving {
            let decided = sqlx::query(
                "UPDATE chat.held SET decision = 'approved' WHERE id = $1 AND decision IS NULL AND expires_at > now()",
            )
            .bind(held)
            .execute(&mut *tx)
            .await?;
            if decided.rows_affected() != 1 {
                return Err(ChatError::NotFound(
                    "held_message_not_found",
                    "no such held message (or already decided or expired)".into(),
                ));
            }
            super::reports::insert_audit(&mut tx, audit).await?;
        }
        let thread_root = reply_to.as_ref().map(|r| r.thread_root_seq.unwrap_or(r.seq));
        // One round trip: the next sequence (locking the stream row), the
        // message and its stream event. Under load every round trip inside
        // the lock counts.
        let insert = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH s AS (INSERT INTO chat.streams AS st (room_id, last_seq) VALUES ($1, 1) \
               ON CONFLICT (room_id) DO UPDATE SET last_seq = st.last_seq + 1 RETURNING last_seq), \
             m AS (INSERT INTO chat.messages ({NEW_MESSAGE_COLUMNS}, seq, message_id, thread_root_seq, created_at) \
               SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, s.last_seq, $11, $12, $13 FROM s \
               ON CONFLICT (room_id, author_id, client_msg_id) DO NOTHING RETURNING {MESSAGE_COLUMNS}), \
             e AS (INSERT INTO chat.events (room_id, seq, kind, created_at) \
               SELECT room_id, seq, 'posted', created_at FROM m) \
             SELECT * FROM m"
        )));
        let inserted: Option<MessageRow> = bind_new(insert, &new)
            .bind(Uuid::now_v7())
            .bind(thread_root)
            .bind(new.now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(message) = inserted else {
            // A concurrent resend won: give its sequence back (rollback).
            drop(tx);
            let first = self.by_client_msg_id(new.room, new.author.id, new.client_msg_id).await?;
            return first
                .map(|m| Posted::Duplicate(Box::new(m)))
                .ok_or_else(|| ChatError::Internal("duplicate vanished".into()));
        };
        if let Some(root) = thread_root {
            sqlx::query("UPDATE chat.messages SET reply_count = reply_count + 1 WHERE room_id = $1 AND seq = $2")
                .bind(new.room)
                .bind(root)
                .execute(&mut *tx)
                .await?;
        }
        let out = build(&message, reply_to.as_ref());
        let outbox_id = enqueue(&mut tx, &out).await?;
        tx.commit().await?;
        Ok(Posted::New { message: Box::new(message), reply_to: reply_to.map(Box::new), outbox: (outbox_id, out) })
    }

    pub async fn message(&self, room: Uuid, seq: u64) -> Result<MessageRow> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat.messages WHERE room_id = $1 AND seq = $2"
        )))
        .bind(room)
        .bind(seq as i64)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(not_found)
    }

    pub async fn messages_by_seq(&self, room: Uuid, seqs: &[i64]) -> Result<Vec<MessageRow>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat.messages WHERE room_id = $1 AND seq = ANY($2)"
        )))
        .bind(room)
        .bind(seqs)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Deletes a message as a sequenced event; `allowed` decides from the
    /// row (author or moderator). Returns the deletion's sequence, whether
    /// it is new, the message, and the outbox id.
    pub async fn delete(
        &self,
        room: Uuid,
        seq: u64,
        now: OffsetDateTime,
        allowed: impl FnOnce(&MessageRow) -> Result<bool>,
        build: impl FnOnce(u64, &MessageRow, bool) -> (Outgoing, Option<NewAudit>),
    ) -> Result<(u64, Option<(i64, Outgoing)>, MessageRow)> {
        let mut tx = self.pool.begin().await?;
        let row: MessageRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat.messages WHERE room_id = $1 AND seq = $2 FOR UPDATE"
        )))
        .bind(room)
        .bind(seq as i64)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(not_found)?;
        let by_moderator = allowed(&row)?;
        if let Some(done) = row.deleted_seq {
            return Ok((done as u64, None, row));
        }
        let event_seq = next_seq(&mut tx, room).await?;
        sqlx::query(
            "UPDATE chat.messages SET deleted_at = $3, deleted_by_moderator = $4, deleted_seq = $5 \
             WHERE room_id = $1 AND seq = $2",
        )
        .bind(room)
        .bind(seq as i64)
        .bind(now)
        .bind(by_moderator)
        .bind(event_seq as i64)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO chat.events (room_id, seq, kind, targets, by_moderator, user_id, created_at) \
             VALUES ($1, $2, 'deleted', $3, $4, $5, $6)",
        )
        .bind(room)
        .bind(event_seq as i64)
        .bind(vec![seq as i64])
        .bind(by_moderator)
        .bind(row.author_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM chat.reactions WHERE room_id = $1 AND seq = $2")
            .bind(room)
            .bind(seq as i64)
            .execute(&mut *tx)
            .await?;
        let (out, audit) = build(event_seq, &row, by_moderator);
        if let Some(audit) = audit {
            super::reports::insert_audit(&mut tx, &audit).await?;
        }
        let outbox_id = enqueue(&mut tx, &out).await?;
        tx.commit().await?;
        Ok((event_seq, Some((outbox_id, out)), row))
    }

    /// A page of history, ascending: before `anchor` (older, the latest page
    /// when None) or after it (newer).
    pub async fn history(
        &self,
        room: Uuid,
        before: Option<u64>,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<MessageRow>> {
        let mut rows: Vec<MessageRow> =
            match after {
                Some(after) => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {MESSAGE_COLUMNS} FROM chat.messages WHERE room_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
                )))
                .bind(room)
                .bind(after as i64)
                .bind(limit as i64)
                .fetch_all(&self.pool)
                .await?,
                None => {
                    let mut rows: Vec<MessageRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {MESSAGE_COLUMNS} FROM chat.messages WHERE room_id = $1 AND seq < $2 \
                     ORDER BY seq DESC LIMIT $3"
                    )))
                    .bind(room)
                    .bind(before.map_or(i64::MAX, |b| b as i64))
                    .bind(limit as i64)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.reverse();
                    rows
                }
            };
        rows.sort_by_key(|r| r.seq);
        Ok(rows)
    }

    /// A thread's root and up to `limit` replies after `after`.
    pub async fn thread(&self, room: Uuid, root: u64, after: u64, limit: u32) -> Result<Thread> {
        let root = self.message(room, root).await?;
        if root.thread_root_seq.is_some() {
            return Err(ChatError::NotFound("message_not_found", "that message is a reply, not a thread root".into()));
        }
        let replies = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat.messages WHERE room_id = $1 AND thread_root_seq = $2 AND seq > $3 \
             ORDER BY seq LIMIT $4"
        )))
        .bind(room)
        .bind(root.seq)
        .bind(after as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(Thread { root, replies })
    }

    /// What a client at `since` missed, if it is within `max_events` and
    /// `max_age_secs`; `None` when too far behind.
    pub async fn resume(&self, room: Uuid, since: u64, head: u64, max_age_secs: i64) -> Result<Option<ResumeRows>> {
        if since < head {
            let first: Option<OffsetDateTime> =
                sqlx::query_scalar("SELECT created_at FROM chat.events WHERE room_id = $1 AND seq = $2")
                    .bind(room)
                    .bind(since as i64 + 1)
                    .fetch_optional(&self.pool)
                    .await?;
            if first.is_some_and(|at| at < OffsetDateTime::now_utc() - time::Duration::seconds(max_age_secs)) {
                return Ok(None);
            }
        }
        let messages = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat.messages WHERE room_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq"
        )))
        .bind(room)
        .bind(since as i64)
        .bind(head as i64)
        .fetch_all(&self.pool)
        .await?;
        let deleted: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT t FROM chat.events e, unnest(e.targets) AS t \
             WHERE e.room_id = $1 AND e.seq > $2 AND e.seq <= $3 AND t <= $2 ORDER BY t",
        )
        .bind(room)
        .bind(since as i64)
        .bind(head as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(ResumeRows { messages, deleted: deleted.into_iter().map(|s| s as u64).collect() }))
    }

    /// Reaction counts of messages, each emoji in order of its first use,
    /// with whether `viewer` used it.
    pub async fn reactions(&self, room: Uuid, seqs: &[i64], viewer: Option<Uuid>) -> Result<Vec<ReactionRow>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(
            "SELECT seq, emoji, count(*) AS count, coalesce(bool_or(user_id = $3), false) AS me \
             FROM chat.reactions WHERE room_id = $1 AND seq = ANY($2) \
             GROUP BY seq, emoji ORDER BY seq, min(created_at)",
        )
        .bind(room)
        .bind(seqs)
        .bind(viewer)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Adds a reaction; refuses a 21st distinct emoji on the message or an
    /// 11th emoji of one user. Idempotent.
    pub async fn add_reaction(&self, room: Uuid, seq: u64, emoji: &str, user: Uuid) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let row: Option<(Option<OffsetDateTime>,)> =
            sqlx::query_as("SELECT deleted_at FROM chat.messages WHERE room_id = $1 AND seq = $2 FOR UPDATE")
                .bind(room)
                .bind(seq as i64)
                .fetch_optional(&mut *tx)
                .await?;
        match row {
            Some((None,)) => {}
            _ => return Err(not_found()),
        }
        let (distinct, mine, exists): (i64, i64, bool) = sqlx::query_as(
            "SELECT count(DISTINCT emoji), count(*) FILTER (WHERE user_id = $3), \
             coalesce(bool_or(user_id = $3 AND emoji = $4), false) \
             FROM chat.reactions WHERE room_id = $1 AND seq = $2",
        )
        .bind(room)
        .bind(seq as i64)
        .bind(user)
        .bind(emoji)
        .fetch_one(&mut *tx)
        .await?;
        if exists {
            return Ok(false);
        }
        let emoji_known: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM chat.reactions WHERE room_id = $1 AND seq = $2 AND emoji = $3)",
        )
        .bind(room)
        .bind(seq as i64)
        .bind(emoji)
        .fetch_one(&mut *tx)
        .await?;
        if !emoji_known && distinct >= 20 {
            return Err(ChatError::Exhausted(
                "too_many_reactions",
                "a message holds at most 20 distinct emoji".into(),
                None,
            ));
        }
        if mine >= 10 {
            return Err(ChatError::Exhausted(
                "too_many_reactions",
                "at most 10 reactions per user per message".into(),
                None,
            ));
        }
        sqlx::query("INSERT INTO chat.reactions (room_id, seq, emoji, user_id) VALUES ($1, $2, $3, $4)")
            .bind(room)
            .bind(seq as i64)
            .bind(emoji)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes a reaction; true when there was one.
    pub async fn remove_reaction(&self, room: Uuid, seq: u64, emoji: &str, user: Uuid) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM chat.reactions WHERE room_id = $1 AND seq = $2 AND emoji = $3 AND user_id = $4")
                .bind(room)
                .bind(seq as i64)
                .bind(emoji)
                .bind(user)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Who reacted with an emoji, newest first.
    pub async fn reaction_users(
        &self,
        room: Uuid,
        seq: u64,
        emoji: &str,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<Uuid>> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM chat.reactions WHERE room_id = $1 AND seq = $2 AND emoji = $3 \
             ORDER BY created_at DESC, user_id OFFSET $4 LIMIT $5",
        )
        .bind(room)
        .bind(seq as i64)
        .bind(emoji)
        .bind(offset as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?)
    }
}

use super::reports::NewAudit;
