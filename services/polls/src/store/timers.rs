//! Durable timers. A due timer is claimed by one replica for a lease
//! (`FOR UPDATE SKIP LOCKED`), fired, and deleted; if that replica dies the
//! lease lapses and another fires it. Firing is idempotent (each
//! transition is conditional on its target's state), so "fires once" holds
//! even when a replica dies after the transition but before the delete.

use std::time::Duration;

use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Store;
use crate::error::Result;

/// What a timer does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// A SCHEDULED poll opens.
    PollOpen,
    /// An OPEN poll reaches its deadline.
    PollClose,
    /// A quiz question's window closes for everyone.
    QuizQuestionClose,
    /// An ACTIVE prediction stops taking stakes.
    PredictionLock,
    /// A LOCKED prediction unresolved for 24 h is cancelled and refunded.
    PredictionExpire,
    /// A closed poll's voters are credited their participation points
    /// (set when the poll closes, due at once).
    PollPoints,
}

impl TimerKind {
    pub const ALL: [TimerKind; 6] = [
        TimerKind::PollOpen,
        TimerKind::PollClose,
        TimerKind::QuizQuestionClose,
        TimerKind::PredictionLock,
        TimerKind::PredictionExpire,
        TimerKind::PollPoints,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::PollOpen => "poll_open",
            TimerKind::PollClose => "poll_close",
            TimerKind::QuizQuestionClose => "quiz_question_close",
            TimerKind::PredictionLock => "prediction_lock",
            TimerKind::PredictionExpire => "prediction_expire",
            TimerKind::PollPoints => "poll_points",
        }
    }

    pub fn parse(raw: &str) -> Option<TimerKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// A timer this replica claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueTimer {
    pub kind: TimerKind,
    pub target: Uuid,
    pub due_at: OffsetDateTime,
}

/// Sets (or moves) a timer in the transaction of the change that needs it.
pub async fn schedule(
    tx: &mut Transaction<'_, Postgres>,
    kind: TimerKind,
    target: Uuid,
    due_at: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO polls.timers (kind, target_id, due_at) VALUES ($1, $2, $3) \
         ON CONFLICT (kind, target_id) DO UPDATE SET due_at = EXCLUDED.due_at, claimed_until = NULL",
    )
    .bind(kind.as_str())
    .bind(target)
    .bind(due_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes a timer that no longer applies (the change happened otherwise).
pub async fn cancel(tx: &mut Transaction<'_, Postgres>, kind: TimerKind, target: Uuid) -> Result<()> {
    sqlx::query("DELETE FROM polls.timers WHERE kind = $1 AND target_id = $2")
        .bind(kind.as_str())
        .bind(target)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Claims up to `limit` due timers for `lease`.
    pub async fn claim_due_timers(&self, limit: i64, lease: Duration) -> Result<Vec<DueTimer>> {
        let rows: Vec<(String, Uuid, OffsetDateTime)> = sqlx::query_as(
            "UPDATE polls.timers t SET claimed_until = now() + make_interval(secs => $2), attempts = t.attempts + 1 \
             FROM (SELECT kind, target_id FROM polls.timers \
                   WHERE due_at <= now() AND (claimed_until IS NULL OR claimed_until < now()) \
                   ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED) due \
             WHERE t.kind = due.kind AND t.target_id = due.target_id \
             RETURNING t.kind, t.target_id, t.due_at",
        )
        .bind(limit)
        .bind(lease.as_secs_f64())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(kind, target, due_at)| Some(DueTimer { kind: TimerKind::parse(&kind)?, target, due_at }))
            .collect())
    }

    /// Deletes a fired timer, unless it was moved meanwhile (a later due
    /// time set by a change during the firing stays).
    pub async fn timer_fired(&self, timer: &DueTimer) -> Result<()> {
        sqlx::query("DELETE FROM polls.timers WHERE kind = $1 AND target_id = $2 AND due_at = $3")
            .bind(timer.kind.as_str())
            .bind(timer.target)
            .bind(timer.due_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// When the next timer is due (for tests and the runner's sleep).
    pub async fn next_timer(&self, kind: TimerKind, target: Uuid) -> Result<Option<OffsetDateTime>> {
        Ok(sqlx::query_scalar("SELECT due_at FROM polls.timers WHERE kind = $1 AND target_id = $2")
            .bind(kind.as_str())
            .bind(target)
            .fetch_optional(&self.pool)
            .await?)
    }
}
