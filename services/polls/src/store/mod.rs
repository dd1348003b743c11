//! The polls service's Postgres store (schema `polls`), one module per
//! interaction kind plus the shared durable `timers` and the `outbox` of
//! lifecycle events. Every state change is a statement conditional on the
//! current state, so retries and concurrent replicas apply it once.

pub(crate) mod outbox;
pub(crate) mod points;
pub(crate) mod polls;
pub(crate) mod predictions;
pub(crate) mod qna;
pub(crate) mod quizzes;
pub(crate) mod timers;

use sqlx::PgPool;
use uuid::Uuid;

pub use outbox::OutboxRow;
pub use points::{EntryRow, NewEarning};
pub use polls::{Counted, NewPoll, NewVote, PollRow, VoteOutcome};
pub use predictions::{NewPrediction, NewStake, OutcomeRow, Placed, PositionRow, PredictionRow};
pub use qna::{Asked, ListedQuestion, Moderated, NewQuestion, QnaSettingsRow, QuestionRow, UpvoteOutcome};
pub use quizzes::{
    AnswerInsert, AnswerScore, NewQuiz, NewQuizAnswer, QuizAnswerRow, QuizOptionRow, QuizQuestionRow, QuizRow, QuizTx,
    RoomTotalRow, StandingRow,
};
pub use timers::{DueTimer, TimerKind};

/// A lifecycle event to publish after the commit that made it.
#[derive(Debug, Clone)]
pub struct Outgoing {
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
}
