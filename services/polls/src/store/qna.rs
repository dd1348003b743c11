//! Q&A in Postgres: per-room settings, questions and upvotes. The upvote
//! count on a question is changed in the transaction that adds or removes
//! the upvote row, under the question's row lock, so it is always exact;
//! moderation locks the room's settings row first, so highlighting one
//! question and clearing the previous happen as one step.

use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Outgoing, Store, outbox::enqueue};
use crate::{
    domain::qna::{Announce, Order, QuestionState, Ranked, Transition},
    error::{PollsError, Result},
};

const COLUMNS: &str = "id, room_id, author_id, text, state, highlighted, upvotes, created_at, answered_at, answer_note";

/// How long an ask's request id returns the question it created.
const REQUEST_ID_HOURS: i32 = 24;

/// A stored question.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuestionRow {
    pub id: Uuid,
    pub room_id: Uuid,
    pub author_id: Uuid,
    pub text: String,
    pub state: String,
    pub highlighted: bool,
    pub upvotes: i64,
    pub created_at: OffsetDateTime,
    pub answered_at: Option<OffsetDateTime>,
    pub answer_note: String,
}

impl QuestionRow {
    pub fn state(&self) -> QuestionState {
        // The table's CHECK allows nothing else; the least visible state
        // is the safe reading of anything unexpected.
        QuestionState::parse(&self.state).unwrap_or(QuestionState::Rejected)
    }

    pub fn upvote_count(&self) -> u64 {
        self.upvotes.max(0) as u64
    }

    pub fn ranked(&self) -> Ranked {
        Ranked { id: self.id, upvotes: self.upvote_count(), created_at: self.created_at }
    }
}

/// A question as one caller sees it in a list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListedQuestion {
    #[sqlx(flatten)]
    pub row: QuestionRow,
    pub upvoted_by_me: bool,
}

/// Q&A settings of a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct QnaSettingsRow {
    pub enabled: bool,
    pub pre_moderation: bool,
}

impl Default for QnaSettingsRow {
    fn default() -> Self {
        Self { enabled: true, pre_moderation: false }
    }
}

/// A question to store.
#[derive(Debug, Clone)]
pub struct NewQuestion {
    pub id: Uuid,
    pub room_id: Uuid,
    pub author_id: Uuid,
    pub text: String,
    pub state: QuestionState,
    pub request_id: Option<String>,
}

/// What storing a question did.
#[derive(Debug)]
pub struct Asked {
    pub row: QuestionRow,
    /// False when a question with the same request id existed.
    pub created: bool,
    pub outbox: Vec<(i64, Outgoing)>,
}

/// What an upvote or its removal did.
#[derive(Debug)]
pub enum UpvoteOutcome {
    /// The question is gone.
    NotFound,
    /// The question is not open for upvotes.
    NotPublished(QuestionRow),
    /// Applied (`changed` false: it already was so).
    Done { row: QuestionRow, changed: bool },
}

/// What a moderation did.
#[derive(Debug)]
pub struct Moderated {
    pub transition: Transition,
    /// The question after the action.
    pub row: QuestionRow,
    /// The question whose highlight this one took.
    pub cleared: Option<QuestionRow>,
    pub outbox: Vec<(i64, Outgoing)>,
}

async fn enqueue_all(tx: &mut Transaction<'_, Postgres>, events: Vec<Outgoing>) -> Result<Vec<(i64, Outgoing)>> {
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        out.push((enqueue(tx, &event).await?, event));
    }
    Ok(out)
}

impl Store {
    /// A room's Q&A settings (the defaults when never changed).
    pub async fn qna_settings(&self, room: Uuid) -> Result<QnaSettingsRow> {
        let row: Option<QnaSettingsRow> =
            sqlx::query_as("SELECT enabled, pre_moderation FROM polls.qna_settings WHERE room_id = $1")
                .bind(room)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.unwrap_or_default())
    }

    /// Replaces a room's Q&A settings; `announce` makes the event written
    /// with them when they changed.
    pub async fn put_qna_settings(
        &self,
        room: Uuid,
        settings: QnaSettingsRow,
        by: Uuid,
        announce: impl FnOnce(&QnaSettingsRow) -> Outgoing,
    ) -> Result<Vec<(i64, Outgoing)>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO polls.qna_settings (room_id) VALUES ($1) ON CONFLICT (room_id) DO NOTHING")
            .bind(room)
            .execute(&mut *tx)
            .await?;
        let before: QnaSettingsRow =
            sqlx::query_as("SELECT enabled, pre_moderation FROM polls.qna_settings WHERE room_id = $1 FOR UPDATE")
                .bind(room)
                .fetch_one(&mut *tx)
                .await?;
        if before == settings {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        sqlx::query(
            "UPDATE polls.qna_settings SET enabled = $2, pre_moderation = $3, updated_by = $4, updated_at = now() \
             WHERE room_id = $1",
        )
        .bind(room)
        .bind(settings.enabled)
        .bind(settings.pre_moderation)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        let outbox = enqueue_all(&mut tx, vec![announce(&settings)]).await?;
        tx.commit().await?;
        Ok(outbox)
    }

    /// One question.
    pub async fn question(&self, id: Uuid) -> Result<Option<QuestionRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM polls.questions WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The question an ask with this request id created within 24 h.
    pub async fn question_by_request(&self, room: Uuid, author: Uuid, request_id: &str) -> Result<Option<QuestionRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM polls.questions \
             WHERE room_id = $1 AND author_id = $2 AND request_id = $3 \
               AND created_at > now() - make_interval(hours => $4)"
        )))
        .bind(room)
        .bind(author)
        .bind(request_id)
        .bind(REQUEST_ID_HOURS)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Stores a question with the event `announce` makes of it, unless an
    /// ask with the same request id got there first (that question is
    /// returned, nothing is written).
    pub async fn insert_question(
        &self,
        new: &NewQuestion,
        announce: impl FnOnce(&QuestionRow) -> Option<Outgoing>,
    ) -> Result<Asked> {
        let mut tx = self.pool.begin().await?;
        if let Some(request_id) = &new.request_id {
            // A request id older than 24 h is free for a new question.
            sqlx::query(
                "UPDATE polls.questions SET request_id = NULL \
                 WHERE room_id = $1 AND author_id = $2 AND request_id = $3 \
                   AND created_at <= now() - make_interval(hours => $4)",
            )
            .bind(new.room_id)
            .bind(new.author_id)
            .bind(request_id)
            .bind(REQUEST_ID_HOURS)
            .execute(&mut *tx)
            .await?;
        }
        let inserted: Option<QuestionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO polls.questions (id, room_id, author_id, text, state, request_id, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $5 = 'published' THEN now() END) \
             ON CONFLICT (room_id, author_id, request_id) WHERE request_id IS NOT NULL DO NOTHING \
             RETURNING {COLUMNS}"
        )))
        .bind(new.id)
        .bind(new.room_id)
        .bind(new.author_id)
        .bind(&new.text)
        .bind(new.state.as_str())
        .bind(&new.request_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = inserted else {
            tx.rollback().await?;
            let request_id = new.request_id.as_deref().unwrap_or_default();
            let existing = self
                .question_by_request(new.room_id, new.author_id, request_id)
                .await?
                .ok_or_else(|| PollsError::Internal("a conflicting ask vanished".into()))?;
            return Ok(Asked { row: existing, created: false, outbox: Vec::new() });
        };
        let outbox = enqueue_all(&mut tx, announce(&row).into_iter().collect()).await?;
        tx.commit().await?;
        Ok(Asked { row, created: true, outbox })
    }

    /// Adds (`add`) or removes the user's upvote of a PUBLISHED question,
    /// keeping the count exact.
    pub async fn upvote(&self, question: Uuid, user: Uuid, add: bool) -> Result<UpvoteOutcome> {
        let mut tx = self.pool.begin().await?;
        let locked: Option<QuestionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM polls.questions WHERE id = $1 FOR NO KEY UPDATE"
        )))
        .bind(question)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = locked else {
            return Ok(UpvoteOutcome::NotFound);
        };
        if row.state() != QuestionState::Published {
            return Ok(UpvoteOutcome::NotPublished(row));
        }
        let changed = if add {
            sqlx::query(
                "INSERT INTO polls.question_upvotes (question_id, user_id) VALUES ($1, $2) \
                 ON CONFLICT (question_id, user_id) DO NOTHING",
            )
        } else {
            sqlx::query("DELETE FROM polls.question_upvotes WHERE question_id = $1 AND user_id = $2")
        }
        .bind(question)
        .bind(user)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !changed {
            tx.commit().await?;
            return Ok(UpvoteOutcome::Done { row, changed: false });
        }
        let row: QuestionRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE polls.questions SET upvotes = upvotes + $2 WHERE id = $1 RETURNING {COLUMNS}"
        )))
        .bind(question)
        .bind(if add { 1_i64 } else { -1_i64 })
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(UpvoteOutcome::Done { row, changed: true })
    }

    /// Whether the user upvoted the question.
    pub async fn upvoted(&self, question: Uuid, user: Uuid) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM polls.question_upvotes WHERE question_id = $1 AND user_id = $2)",
        )
        .bind(question)
        .bind(user)
        .fetch_one(&self.pool)
        .await?)
    }

    /// A question's upvote count, if it is still in the room.
    pub async fn question_upvotes(&self, room: Uuid, question: Uuid) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT upvotes FROM polls.questions WHERE id = $1 AND room_id = $2")
            .bind(question)
            .bind(room)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The author of the room's highlighted question, if any.
    pub async fn highlighted_author(&self, room: Uuid) -> Result<Option<Uuid>> {
        Ok(sqlx::query_scalar("SELECT author_id FROM polls.questions WHERE room_id = $1 AND highlighted")
            .bind(room)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Applies a manager's action: `decide` turns the locked question into
    /// a transition (or refuses), `announce` makes the events written with
    /// it. A transition that changes nothing writes nothing.
    pub async fn moderate_question(
        &self,
        room: Uuid,
        question: Uuid,
        by: Uuid,
        answer_note: &str,
        decide: impl FnOnce(&QuestionRow) -> Result<Transition>,
        announce: impl FnOnce(&QuestionRow, Option<&QuestionRow>, &Transition) -> Vec<Outgoing>,
    ) -> Result<Option<Moderated>> {
        let mut tx = self.pool.begin().await?;
        // The room's moderation lock, always taken before question rows.
        sqlx::query("INSERT INTO polls.qna_settings (room_id) VALUES ($1) ON CONFLICT (room_id) DO NOTHING")
            .bind(room)
            .execute(&mut *tx)
            .await?;
        sqlx::query("SELECT 1 FROM polls.qna_settings WHERE room_id = $1 FOR UPDATE")
            .bind(room)
            .execute(&mut *tx)
            .await?;
        let locked: Option<QuestionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM polls.questions WHERE id = $1 AND room_id = $2 FOR UPDATE"
        )))
        .bind(question)
        .bind(room)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = locked else {
            return Ok(None);
        };
        let transition = decide(&row)?;
        if transition.announce == Announce::Nothing {
            tx.commit().await?;
            return Ok(Some(Moderated { transition, row, cleared: None, outbox: Vec::new() }));
        }
        let cleared: Option<QuestionRow> = if transition.clears_other_highlight {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE polls.questions SET highlighted = false, moderated_by = $3, moderated_at = now() \
                 WHERE room_id = $1 AND highlighted AND id <> $2 RETURNING {COLUMNS}"
            )))
            .bind(room)
            .bind(question)
            .bind(by)
            .fetch_optional(&mut *tx)
            .await?
        } else {
            None
        };
        let row: QuestionRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE polls.questions SET state = $2, highlighted = $3, moderated_by = $4, moderated_at = now(), \
                 published_at = CASE WHEN $2 = 'published' THEN coalesce(published_at, now()) ELSE published_at END, \
                 answered_at = CASE WHEN $5 THEN now() ELSE answered_at END, \
                 answered_by = CASE WHEN $5 THEN $4 ELSE answered_by END, \
                 answer_note = CASE WHEN $5 THEN $6 ELSE answer_note END \
             WHERE id = $1 RETURNING {COLUMNS}"
        )))
        .bind(question)
        .bind(transition.to.state.as_str())
        .bind(transition.to.highlighted)
        .bind(by)
        .bind(transition.answers)
        .bind(answer_note)
        .fetch_one(&mut *tx)
        .await?;
        let outbox = enqueue_all(&mut tx, announce(&row, cleared.as_ref(), &transition)).await?;
        tx.commit().await?;
        Ok(Some(Moderated { transition, row, cleared, outbox }))
    }

    /// Deletes a question (its upvotes go with it) with the event
    /// announcing it; None when it was already gone.
    pub async fn delete_question(
        &self,
        question: Uuid,
        event: Outgoing,
    ) -> Result<Option<(QuestionRow, Vec<(i64, Outgoing)>)>> {
        let mut tx = self.pool.begin().await?;
        let deleted: Option<QuestionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "DELETE FROM polls.questions WHERE id = $1 RETURNING {COLUMNS}"
        )))
        .bind(question)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = deleted else {
            return Ok(None);
        };
        let outbox = enqueue_all(&mut tx, vec![event]).await?;
        tx.commit().await?;
        Ok(Some((row, outbox)))
    }

    /// A page of a room's questions: those in `public` states, and those in
    /// `own` states asked by `viewer`, in `order`, with whether `viewer`
    /// upvoted each.
    #[allow(clippy::too_many_arguments)]
    pub async fn list_questions(
        &self,
        room: Uuid,
        viewer: Uuid,
        public: &[QuestionState],
        own: &[QuestionState],
        order: Order,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<ListedQuestion>> {
        let public: Vec<&str> = public.iter().map(|s| s.as_str()).collect();
        let own: Vec<&str> = own.iter().map(|s| s.as_str()).collect();
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS}, EXISTS (SELECT 1 FROM polls.question_upvotes u \
                 WHERE u.question_id = q.id AND u.user_id = $2) AS upvoted_by_me \
             FROM polls.questions q \
             WHERE room_id = $1 AND (state = ANY($3) OR (author_id = $2 AND state = ANY($4))) \
             ORDER BY {} LIMIT $5 OFFSET $6",
            order.sql()
        )))
        .bind(room)
        .bind(viewer)
        .bind(&public)
        .bind(&own)
        .bind(i64::from(limit))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?)
    }

    /// The room's highlighted question, as `viewer` sees it.
    pub async fn highlighted_question(&self, room: Uuid, viewer: Uuid) -> Result<Option<ListedQuestion>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS}, EXISTS (SELECT 1 FROM polls.question_upvotes u \
                 WHERE u.question_id = q.id AND u.user_id = $2) AS upvoted_by_me \
             FROM polls.questions q WHERE room_id = $1 AND highlighted AND state = 'published'"
        )))
        .bind(room)
        .bind(viewer)
        .fetch_optional(&self.pool)
        .await?)
    }
}
