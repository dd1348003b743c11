//! Pure rules of every interaction kind, unit-tested without I/O:
//! `text` (validation shared by all), `poll`, `quiz` (scoring, streaks,
//! ranking), `points` (ledger rules, prediction payout) and `qna`.

pub mod points;
pub mod poll;
pub mod qna;
pub mod quiz;
pub mod text;
