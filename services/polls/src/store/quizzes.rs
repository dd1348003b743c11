//! Quizzes in Postgres: drafts with their questions, answers (one per
//! participant per question: the primary key), and standings (running
//! totals per participant and quiz, final ranks once finished).
//!
//! Concurrency: reveals, closes and ends lock the quiz row (`FOR UPDATE`)
//! so they run one at a time per quiz. An answer locks its question row
//! `FOR KEY SHARE` while it checks the window and inserts; closing a
//! question locks it `FOR UPDATE`, so it waits for answers in flight and
//! every answer inserted is either scored by the close or refused as late.
//! Closing is conditional on `closed_at IS NULL`: a timer firing twice or a
//! close racing an EndQuiz changes things once.

use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Transaction, types::Json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Outgoing, Store, TimerKind, outbox, timers};
use crate::{
    domain::quiz::{QuizDraft, Totals},
    error::{PollsError, Result},
};

pub const QUIZ_DRAFT: &str = "draft";
pub const QUIZ_RUNNING: &str = "running";
pub const QUIZ_FINISHED: &str = "finished";

const QUIZ_COLUMNS: &str = "id, room_id, title, state, question_count, current_index, created_by, created_at, \
                            started_at, ended_at, participant_count";
const QUESTION_COLUMNS: &str = "id, quiz_id, position, text, kind, options, correct_option_ids, time_limit_ms, \
                                points, image_url, revealed_at, closes_at, closed_at, answered_count, correct_count";
const STANDING_COLUMNS: &str = "user_id, score, correct_answers, answered, streak, total_response_ms, final_rank";

/// A quiz.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuizRow {
    pub id: Uuid,
    pub room_id: Uuid,
    pub title: String,
    pub state: String,
    pub question_count: i32,
    pub current_index: Option<i32>,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    pub started_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    pub participant_count: Option<i64>,
}

impl QuizRow {
    pub fn is_draft(&self) -> bool {
        self.state == QUIZ_DRAFT
    }

    pub fn is_running(&self) -> bool {
        self.state == QUIZ_RUNNING
    }

    pub fn is_finished(&self) -> bool {
        self.state == QUIZ_FINISHED
    }
}

/// An option of a question, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizOptionRow {
    pub id: String,
    pub text: String,
}

/// A question.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuizQuestionRow {
    pub id: Uuid,
    pub quiz_id: Uuid,
    pub position: i32,
    pub text: String,
    pub kind: i16,
    pub options: Json<Vec<QuizOptionRow>>,
    pub correct_option_ids: Vec<String>,
    pub time_limit_ms: i32,
    pub points: i32,
    pub image_url: String,
    pub revealed_at: Option<OffsetDateTime>,
    pub closes_at: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
    pub answered_count: Option<i64>,
    pub correct_count: Option<i64>,
}

impl QuizQuestionRow {
    pub fn option_ids(&self) -> Vec<String> {
        self.options.0.iter().map(|o| o.id.clone()).collect()
    }
}

/// An answer as given.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuizAnswerRow {
    pub user_id: Uuid,
    pub option_ids: Vec<String>,
    pub response_ms: i32,
    pub answered_at: OffsetDateTime,
}

/// A participant's standing in one quiz.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StandingRow {
    pub user_id: Uuid,
    pub score: i64,
    pub correct_answers: i32,
    pub answered: i32,
    pub streak: i32,
    pub total_response_ms: i64,
    pub final_rank: Option<i32>,
}

impl StandingRow {
    pub fn totals(&self) -> Totals {
        Totals {
            score: self.score.max(0) as u64,
            correct_answers: self.correct_answers.max(0) as u32,
            answered: self.answered.max(0) as u32,
            streak: self.streak.max(0) as u32,
            total_response_ms: self.total_response_ms.max(0) as u64,
        }
    }
}

/// A participant's totals over all quizzes of a room.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoomTotalRow {
    pub user_id: Uuid,
    pub score: i64,
    pub correct_answers: i64,
    pub total_response_ms: i64,
    /// Streak in the most recently started quiz the user took part in.
    pub streak: i32,
}

/// A quiz to create.
#[derive(Debug, Clone)]
pub struct NewQuiz {
    pub id: Uuid,
    pub room: Uuid,
    pub created_by: Uuid,
    pub request_id: Option<String>,
    pub draft: QuizDraft,
}

/// An answer to store.
#[derive(Debug, Clone)]
pub struct NewQuizAnswer {
    pub question: Uuid,
    pub quiz: Uuid,
    pub user: Uuid,
    pub option_ids: Vec<String>,
    pub response_ms: u32,
    pub answered_at: OffsetDateTime,
}

/// What storing an answer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerInsert {
    Stored,
    /// The user had answered this question already.
    Duplicate,
    /// The question closed meanwhile.
    Closed,
}

/// The score of one answer, written when its question closes.
#[derive(Debug, Clone, Copy)]
pub struct AnswerScore {
    pub user: Uuid,
    pub correct: bool,
    pub base: u32,
    pub bonus: u32,
    pub streak: u32,
}

fn not_editable() -> PollsError {
    PollsError::Precondition("quiz_not_editable", "only draft quizzes can be changed".into())
}

async fn insert_questions(tx: &mut Transaction<'_, Postgres>, quiz: Uuid, draft: &QuizDraft) -> Result<()> {
    for (position, q) in draft.questions.iter().enumerate() {
        let options: Vec<QuizOptionRow> = q
            .option_ids()
            .into_iter()
            .zip(q.options.iter())
            .map(|(id, text)| QuizOptionRow { id, text: text.clone() })
            .collect();
        sqlx::query(
            "INSERT INTO polls.quiz_questions (id, quiz_id, position, text, kind, options, correct_option_ids, \
             time_limit_ms, points, image_url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(Uuid::now_v7())
        .bind(quiz)
        .bind(position as i32)
        .bind(&q.text)
        .bind(q.kind.to_db())
        .bind(Json(&options))
        .bind(q.correct_ids())
        .bind(q.time_limit_ms as i32)
        .bind(q.points as i32)
        .bind(&q.image_url)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Creates a draft; a retry with the same request id (within 24 h)
    /// returns the quiz created the first time.
    pub async fn create_quiz(&self, new: &NewQuiz) -> Result<QuizRow> {
        let mut tx = self.pool.begin().await?;
        if let Some(request_id) = &new.request_id {
            // Keys are remembered for 24 h.
            sqlx::query(
                "UPDATE polls.quizzes SET request_id = NULL WHERE created_by = $1 AND request_id = $2 \
                 AND created_at < now() - interval '24 hours'",
            )
            .bind(new.created_by)
            .bind(request_id)
            .execute(&mut *tx)
            .await?;
        }
        let inserted: Option<QuizRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO polls.quizzes (id, room_id, title, state, question_count, created_by, request_id) \
             VALUES ($1, $2, $3, 'draft', $4, $5, $6) \
             ON CONFLICT (created_by, request_id) WHERE request_id IS NOT NULL DO NOTHING RETURNING {QUIZ_COLUMNS}"
        )))
        .bind(new.id)
        .bind(new.room)
        .bind(&new.draft.title)
        .bind(new.draft.questions.len() as i32)
        .bind(new.created_by)
        .bind(&new.request_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(quiz) = inserted else {
            let existing: QuizRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {QUIZ_COLUMNS} FROM polls.quizzes WHERE created_by = $1 AND request_id = $2"
            )))
            .bind(new.created_by)
            .bind(&new.request_id)
            .fetch_one(&mut *tx)
            .await?;
            return Ok(existing);
        };
        insert_questions(&mut tx, quiz.id, &new.draft).await?;
        tx.commit().await?;
        Ok(quiz)
    }

    pub async fn quiz(&self, id: Uuid) -> Result<Option<QuizRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {QUIZ_COLUMNS} FROM polls.quizzes WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Questions of the quizzes, by quiz and position.
    pub async fn quiz_questions(&self, quizzes: &[Uuid]) -> Result<Vec<QuizQuestionRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {QUESTION_COLUMNS} FROM polls.quiz_questions WHERE quiz_id = ANY($1) ORDER BY quiz_id, position"
        )))
        .bind(quizzes)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn quiz_question(&self, id: Uuid) -> Result<Option<QuizQuestionRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {QUESTION_COLUMNS} FROM polls.quiz_questions WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn quiz_question_at(&self, quiz: Uuid, position: i32) -> Result<Option<QuizQuestionRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {QUESTION_COLUMNS} FROM polls.quiz_questions WHERE quiz_id = $1 AND position = $2"
        )))
        .bind(quiz)
        .bind(position)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Quizzes of a room in the given states, newest first.
    pub async fn list_quizzes(&self, room: Uuid, states: &[&str], offset: u64, limit: u32) -> Result<Vec<QuizRow>> {
        let states: Vec<String> = states.iter().map(|s| (*s).to_owned()).collect();
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {QUIZ_COLUMNS} FROM polls.quizzes WHERE room_id = $1 AND state = ANY($2) \
             ORDER BY created_at DESC, id DESC OFFSET $3 LIMIT $4"
        )))
        .bind(room)
        .bind(&states)
        .bind(offset as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// The room's running quiz, if any.
    pub async fn running_quiz(&self, room: Uuid) -> Result<Option<QuizRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {QUIZ_COLUMNS} FROM polls.quizzes WHERE room_id = $1 AND state = 'running'"
        )))
        .bind(room)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Replaces the title and questions of a draft. None: no such quiz.
    pub async fn update_quiz_draft(&self, id: Uuid, draft: &QuizDraft) -> Result<Option<QuizRow>> {
        let mut tx = self.pool.begin().await?;
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM polls.quizzes WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        match state.as_deref() {
            None => return Ok(None),
            Some(QUIZ_DRAFT) => {}
            Some(_) => return Err(not_editable()),
        }
        sqlx::query("DELETE FROM polls.quiz_questions WHERE quiz_id = $1").bind(id).execute(&mut *tx).await?;
        insert_questions(&mut tx, id, draft).await?;
        let quiz: QuizRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE polls.quizzes SET title = $2, question_count = $3, updated_at = now() WHERE id = $1 \
             RETURNING {QUIZ_COLUMNS}"
        )))
        .bind(id)
        .bind(&draft.title)
        .bind(draft.questions.len() as i32)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(quiz))
    }

    /// Deletes a draft. False: no such quiz.
    pub async fn delete_quiz_draft(&self, id: Uuid) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM polls.quizzes WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        match state.as_deref() {
            None => return Ok(false),
            Some(QUIZ_DRAFT) => {}
            Some(_) => return Err(not_editable()),
        }
        sqlx::query("DELETE FROM polls.quizzes WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Stores an answer while its question is open (see the module doc).
    pub async fn insert_quiz_answer(&self, answer: &NewQuizAnswer) -> Result<AnswerInsert> {
        let mut tx = self.pool.begin().await?;
        let closed: Option<Option<OffsetDateTime>> =
            sqlx::query_scalar("SELECT closed_at FROM polls.quiz_questions WHERE id = $1 FOR KEY SHARE")
                .bind(answer.question)
                .fetch_optional(&mut *tx)
                .await?;
        if !matches!(closed, Some(None)) {
            return Ok(AnswerInsert::Closed);
        }
        let stored = sqlx::query(
            "INSERT INTO polls.quiz_answers (question_id, user_id, quiz_id, option_ids, response_ms, answered_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (question_id, user_id) DO NOTHING",
        )
        .bind(answer.question)
        .bind(answer.user)
        .bind(answer.quiz)
        .bind(&answer.option_ids)
        .bind(answer.response_ms as i32)
        .bind(answer.answered_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(if stored == 1 { AnswerInsert::Stored } else { AnswerInsert::Duplicate })
    }

    /// Standings of some users in a quiz.
    pub async fn quiz_standings_of(&self, quiz: Uuid, users: &[Uuid]) -> Result<Vec<StandingRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {STANDING_COLUMNS} FROM polls.quiz_standings WHERE quiz_id = $1 AND user_id = ANY($2)"
        )))
        .bind(quiz)
        .bind(users)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every standing of a quiz.
    pub async fn quiz_standings(&self, quiz: Uuid) -> Result<Vec<StandingRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {STANDING_COLUMNS} FROM polls.quiz_standings WHERE quiz_id = $1"
        )))
        .bind(quiz)
        .fetch_all(&self.pool)
        .await?)
    }

    /// One user's standings in several quizzes: (quiz, standing).
    pub async fn user_quiz_standings(&self, quizzes: &[Uuid], user: Uuid) -> Result<Vec<(Uuid, StandingRow)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            quiz_id: Uuid,
            #[sqlx(flatten)]
            standing: StandingRow,
        }
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT quiz_id, {STANDING_COLUMNS} FROM polls.quiz_standings WHERE quiz_id = ANY($1) AND user_id = $2"
        )))
        .bind(quizzes)
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| (r.quiz_id, r.standing)).collect())
    }

    /// The first `limit` final standings of a finished quiz, in board order.
    pub async fn final_standings(&self, quiz: Uuid, limit: u32) -> Result<Vec<StandingRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {STANDING_COLUMNS} FROM polls.quiz_standings WHERE quiz_id = $1 AND final_rank IS NOT NULL \
             ORDER BY final_rank, total_response_ms, user_id LIMIT $2"
        )))
        .bind(quiz)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Totals over the room's quizzes, of `users` (None: everyone).
    pub async fn room_quiz_totals(&self, room: Uuid, users: Option<&[Uuid]>) -> Result<Vec<RoomTotalRow>> {
        Ok(sqlx::query_as(
            "SELECT s.user_id, sum(s.score)::bigint AS score, sum(s.correct_answers)::bigint AS correct_answers, \
             sum(s.total_response_ms)::bigint AS total_response_ms, \
             (array_agg(s.streak ORDER BY q.started_at DESC NULLS LAST, q.id DESC))[1] AS streak \
             FROM polls.quiz_standings s JOIN polls.quizzes q ON q.id = s.quiz_id \
             WHERE s.room_id = $1 AND ($2::uuid[] IS NULL OR s.user_id = ANY($2)) GROUP BY s.user_id",
        )
        .bind(room)
        .bind(users)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A transaction for reveals, closes and ends.
    pub async fn quiz_tx(&self) -> Result<QuizTx> {
        Ok(QuizTx { tx: self.pool.begin().await? })
    }
}

/// One quiz transition in a transaction; dropped without `commit`, it
/// rolls back.
pub struct QuizTx {
    tx: Transaction<'static, Postgres>,
}

impl QuizTx {
    /// Locks the quiz row: transitions of one quiz run one at a time.
    pub async fn lock_quiz(&mut self, id: Uuid) -> Result<Option<QuizRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {QUIZ_COLUMNS} FROM polls.quizzes WHERE id = $1 FOR UPDATE"
        )))
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// Locks a question for closing: waits for answers being stored.
    pub async fn lock_question(&mut self, id: Uuid) -> Result<Option<QuizQuestionRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {QUESTION_COLUMNS} FROM polls.quiz_questions WHERE id = $1 FOR UPDATE"
        )))
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    pub async fn question_at(&mut self, quiz: Uuid, position: i32) -> Result<Option<QuizQuestionRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {QUESTION_COLUMNS} FROM polls.quiz_questions WHERE quiz_id = $1 AND position = $2"
        )))
        .bind(quiz)
        .bind(position)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    pub async fn questions(&mut self, quiz: Uuid) -> Result<Vec<QuizQuestionRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {QUESTION_COLUMNS} FROM polls.quiz_questions WHERE quiz_id = $1 ORDER BY position"
        )))
        .bind(quiz)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    /// Whether another quiz of the room is running.
    pub async fn other_running(&mut self, room: Uuid, quiz: Uuid) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM polls.quizzes WHERE room_id = $1 AND state = 'running' AND id <> $2)",
        )
        .bind(room)
        .bind(quiz)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    /// Reveals the question at `position`: the quiz runs, the window is
    /// open until `closes_at`, and the close timer is set for `due`.
    pub async fn reveal(
        &mut self,
        quiz: Uuid,
        question: Uuid,
        position: i32,
        now: OffsetDateTime,
        closes_at: OffsetDateTime,
        due: OffsetDateTime,
    ) -> Result<(QuizRow, QuizQuestionRow)> {
        let quiz: QuizRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE polls.quizzes SET state = 'running', current_index = $2, started_at = coalesce(started_at, $3), \
             updated_at = now() WHERE id = $1 RETURNING {QUIZ_COLUMNS}"
        )))
        .bind(quiz)
        .bind(position)
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(|error| {
            let running = error.as_database_error().and_then(|e| e.constraint()) == Some("quizzes_one_running");
            if running { quiz_running() } else { PollsError::Database(error) }
        })?;
        let question: QuizQuestionRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE polls.quiz_questions SET revealed_at = $2, closes_at = $3 WHERE id = $1 RETURNING {QUESTION_COLUMNS}"
        )))
        .bind(question)
        .bind(now)
        .bind(closes_at)
        .fetch_one(&mut *self.tx)
        .await?;
        timers::schedule(&mut self.tx, TimerKind::QuizQuestionClose, question.id, due).await?;
        Ok((quiz, question))
    }

    /// Answers of a question, in the order they came.
    pub async fn answers(&mut self, question: Uuid) -> Result<Vec<QuizAnswerRow>> {
        Ok(sqlx::query_as(
            "SELECT user_id, option_ids, response_ms, answered_at FROM polls.quiz_answers WHERE question_id = $1 \
             ORDER BY answered_at, user_id",
        )
        .bind(question)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    /// Every standing of the quiz.
    pub async fn standings(&mut self, quiz: Uuid) -> Result<Vec<StandingRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {STANDING_COLUMNS} FROM polls.quiz_standings WHERE quiz_id = $1"
        )))
        .bind(quiz)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    /// Closes a question with its scored answers; cancels its timer.
    pub async fn close_question(
        &mut self,
        question: Uuid,
        now: OffsetDateTime,
        scores: &[AnswerScore],
    ) -> Result<QuizQuestionRow> {
        let correct = scores.iter().filter(|s| s.correct).count() as i64;
        let row: QuizQuestionRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE polls.quiz_questions SET closed_at = $2, answered_count = $3, correct_count = $4 \
             WHERE id = $1 RETURNING {QUESTION_COLUMNS}"
        )))
        .bind(question)
        .bind(now)
        .bind(scores.len() as i64)
        .bind(correct)
        .fetch_one(&mut *self.tx)
        .await?;
        sqlx::query(
            "UPDATE polls.quiz_answers a SET correct = u.correct, base_points = u.base, streak_bonus = u.bonus, \
             streak = u.streak \
             FROM UNNEST($2::uuid[], $3::bool[], $4::int[], $5::int[], $6::int[]) AS u(user_id, correct, base, bonus, streak) \
             WHERE a.question_id = $1 AND a.user_id = u.user_id",
        )
        .bind(question)
        .bind(scores.iter().map(|s| s.user).collect::<Vec<_>>())
        .bind(scores.iter().map(|s| s.correct).collect::<Vec<_>>())
        .bind(scores.iter().map(|s| s.base as i32).collect::<Vec<_>>())
        .bind(scores.iter().map(|s| s.bonus as i32).collect::<Vec<_>>())
        .bind(scores.iter().map(|s| s.streak as i32).collect::<Vec<_>>())
        .execute(&mut *self.tx)
        .await?;
        timers::cancel(&mut self.tx, TimerKind::QuizQuestionClose, question).await?;
        Ok(row)
    }

    /// Writes participants' totals (absolute values).
    pub async fn save_standings(&mut self, quiz: Uuid, room: Uuid, totals: &[(Uuid, Totals)]) -> Result<()> {
        if totals.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO polls.quiz_standings (quiz_id, room_id, user_id, score, correct_answers, answered, streak, \
             total_response_ms) \
             SELECT $1, $2, u.user_id, u.score, u.correct_answers, u.answered, u.streak, u.total_response_ms \
             FROM UNNEST($3::uuid[], $4::bigint[], $5::int[], $6::int[], $7::int[], $8::bigint[]) \
               AS u(user_id, score, correct_answers, answered, streak, total_response_ms) \
             ON CONFLICT (quiz_id, user_id) DO UPDATE SET score = EXCLUDED.score, \
               correct_answers = EXCLUDED.correct_answers, answered = EXCLUDED.answered, streak = EXCLUDED.streak, \
               total_response_ms = EXCLUDED.total_response_ms, updated_at = now()",
        )
        .bind(quiz)
        .bind(room)
        .bind(totals.iter().map(|(u, _)| *u).collect::<Vec<_>>())
        .bind(totals.iter().map(|(_, t)| t.score as i64).collect::<Vec<_>>())
        .bind(totals.iter().map(|(_, t)| t.correct_answers as i32).collect::<Vec<_>>())
        .bind(totals.iter().map(|(_, t)| t.answered as i32).collect::<Vec<_>>())
        .bind(totals.iter().map(|(_, t)| t.streak as i32).collect::<Vec<_>>())
        .bind(totals.iter().map(|(_, t)| t.total_response_ms as i64).collect::<Vec<_>>())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Persists final ranks and finishes the quiz.
    pub async fn finish(&mut self, quiz: Uuid, now: OffsetDateTime, ranks: &[(Uuid, u32)]) -> Result<QuizRow> {
        sqlx::query(
            "UPDATE polls.quiz_standings s SET final_rank = u.rank, updated_at = now() \
             FROM UNNEST($2::uuid[], $3::int[]) AS u(user_id, rank) WHERE s.quiz_id = $1 AND s.user_id = u.user_id",
        )
        .bind(quiz)
        .bind(ranks.iter().map(|(u, _)| *u).collect::<Vec<_>>())
        .bind(ranks.iter().map(|(_, r)| *r as i32).collect::<Vec<_>>())
        .execute(&mut *self.tx)
        .await?;
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE polls.quizzes SET state = 'finished', ended_at = $2, participant_count = $3, updated_at = now() \
             WHERE id = $1 RETURNING {QUIZ_COLUMNS}"
        )))
        .bind(quiz)
        .bind(now)
        .bind(ranks.len() as i64)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    /// Writes a lifecycle event to the outbox; returns its id.
    pub async fn enqueue(&mut self, out: &Outgoing) -> Result<i64> {
        outbox::enqueue(&mut self.tx, out).await
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Another quiz runs in the room.
pub fn quiz_running() -> PollsError {
    PollsError::Exhausted("quiz_running", "another quiz is running in this room; end it first".into(), None)
}
