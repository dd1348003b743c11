//! QuizService handlers: drafts (create, read, list, update, delete), the
//! host's reveals, participants' answers, closing questions (scoring,
//! leaderboards, events), ending quizzes and leaderboards.
//!
//! A question closes exactly once (store::quizzes), by whichever comes
//! first: its timer (reveal + time limit + 2 s grace, so that answers a
//! gateway timed within the limit still arrive), the host revealing the
//! next question after the window elapsed, or EndQuiz (which cuts the open
//! window short: answers already in are scored). Closing scores every
//! answer with the streak rules, writes standings, and publishes
//! `quiz_question_closed` (`.polls`, outbox) and, after the commit,
//! `quiz_leaderboard_updated` (`.polls.live`), the personal
//! `quiz_answer_scored` to every participant of the quiz (`answered` false
//! for those who missed this question: their streak reset), and the
//! participation points. After the last question, or on EndQuiz, the final
//! standings are persisted and `quiz_ended` published.
//!
//! Response times: through a gateway, the gateway's measurement (from when
//! the question reached it) is used, never above the server's own
//! measurement from the reveal; other callers are timed from the reveal.
//! Answers timed past the time limit, or arriving after the grace, are
//! refused `window_closed`.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use hearth_platform::{
    validate::Page,
    wkt::{duration, std_duration, timestamp},
};
use hearth_proto::hearth::{
    common::v1::UserRef,
    events::v1::user_event,
    polls::v1::{self as pb, interaction_event::Kind as Event},
    recommendations::v1::SignalKind,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Caller, PollsApi, Room, predictions::Award, uuid};
use crate::{
    domain::{
        quiz::{self, Kind, RankKey, Scored, Totals},
        text,
    },
    error::{PollsError, Result},
    state::{Board, BoardEntry, RankedEntry},
    store::{
        AnswerInsert, AnswerScore, NewQuiz, NewQuizAnswer, QuizAnswerRow, QuizQuestionRow, QuizRow,
        quizzes::{QUIZ_DRAFT, QUIZ_FINISHED, QUIZ_RUNNING},
    },
};

/// Leaderboard lines when GetLeaderboard asks for 0.
const TOP_DEFAULT: u32 = 10;
const TOP_MAX: u32 = 100;
/// Lines in leaderboard events.
const EVENT_TOP: usize = 10;

fn quiz_not_found() -> PollsError {
    PollsError::NotFound("quiz_not_found", "no such quiz".into())
}

fn question_not_found() -> PollsError {
    PollsError::NotFound("question_not_found", "no such question in this quiz".into())
}

fn window_closed() -> PollsError {
    PollsError::Precondition("window_closed", "the answer window of this question has closed".into())
}

fn ms_duration(ms: u64) -> hearth_proto::wkt::Duration {
    duration(Duration::from_millis(ms))
}

fn state_pb(state: &str) -> pb::QuizState {
    match state {
        QUIZ_DRAFT => pb::QuizState::Draft,
        QUIZ_RUNNING => pb::QuizState::Running,
        QUIZ_FINISHED => pb::QuizState::Finished,
        _ => pb::QuizState::Unspecified,
    }
}

/// A question; correct answers only when `with_answers`.
fn question_pb(q: &QuizQuestionRow, with_answers: bool) -> pb::QuizQuestion {
    let window = match (q.revealed_at, q.closed_at) {
        (_, Some(_)) => pb::QuestionWindow::Closed,
        (Some(_), None) => pb::QuestionWindow::Open,
        (None, None) => pb::QuestionWindow::Unspecified,
    };
    // When it closes (or closed) for everyone: the end of its window, or
    // earlier when it was closed early.
    let close_time = match (q.closes_at, q.closed_at) {
        (Some(window_end), Some(closed)) => Some(window_end.min(closed)),
        (window_end, closed) => window_end.or(closed),
    };
    pb::QuizQuestion {
        question_id: q.id.to_string(),
        index: q.position.max(0) as u32,
        text: q.text.clone(),
        kind: Kind::from_db(q.kind).to_pb() as i32,
        options: q.options.0.iter().map(|o| pb::QuizOption { option_id: o.id.clone(), text: o.text.clone() }).collect(),
        correct_option_ids: if with_answers { q.correct_option_ids.clone() } else { Vec::new() },
        time_limit: Some(ms_duration(q.time_limit_ms.max(0) as u64)),
        points: q.points.max(0) as u32,
        image_url: q.image_url.clone(),
        reveal_time: q.revealed_at.map(timestamp),
        close_time: close_time.map(timestamp),
        window: window as i32,
    }
}

/// A quiz as `manager` or not sees it: non-managers see revealed questions
/// only, and correct answers once each closed. `questions` may hold other
/// quizzes' questions too.
fn quiz_pb(
    quiz: &QuizRow,
    questions: &[QuizQuestionRow],
    manager: bool,
    my_standing: Option<pb::LeaderboardEntry>,
) -> pb::Quiz {
    pb::Quiz {
        quiz_id: quiz.id.to_string(),
        room_id: quiz.room_id.to_string(),
        title: quiz.title.clone(),
        questions: questions
            .iter()
            .filter(|q| q.quiz_id == quiz.id && (manager || q.revealed_at.is_some()))
            .map(|q| question_pb(q, manager || q.closed_at.is_some()))
            .collect(),
        question_count: quiz.question_count.max(0) as u32,
        state: state_pb(&quiz.state) as i32,
        current_index: quiz.current_index.map(|i| i.max(0) as u32),
        created_by: quiz.created_by.to_string(),
        create_time: Some(timestamp(quiz.created_at)),
        start_time: quiz.started_at.map(timestamp),
        end_time: quiz.ended_at.map(timestamp),
        my_standing,
    }
}

/// How a participant's totals rank.
fn rank_key(line: &(Uuid, Totals)) -> RankKey {
    RankKey { score: line.1.score, total_response_ms: line.1.total_response_ms, user: line.0 }
}

/// Leaderboard-line details besides score and response time.
#[derive(Debug, Clone, Copy, Default)]
struct Details {
    correct_answers: u64,
    streak: u32,
}

fn entry_pb(rank: u32, user: UserRef, score: u64, total_response_ms: u64, details: Details) -> pb::LeaderboardEntry {
    pb::LeaderboardEntry {
        rank,
        user: Some(user),
        score,
        correct_answers: details.correct_answers.min(u64::from(u32::MAX)) as u32,
        streak: details.streak,
        total_response_time: Some(ms_duration(total_response_ms)),
    }
}

/// How many answers picked each option, in option order.
fn answer_counts(question: &QuizQuestionRow, answers: &[QuizAnswerRow]) -> Vec<pb::OptionTally> {
    question
        .options
        .0
        .iter()
        .map(|o| pb::OptionTally {
            option_id: o.id.clone(),
            votes: answers.iter().filter(|a| a.option_ids.contains(&o.id)).count() as u64,
        })
        .collect()
}

/// What a close computed, for the work after its commit.
struct Closing<'a> {
    quiz: &'a QuizRow,
    question: &'a QuizQuestionRow,
    answers: &'a [QuizAnswerRow],
    scores: &'a [AnswerScore],
    /// Every participant's totals, in board order, with their ranks.
    lines: &'a [(Uuid, Totals)],
    ranks: &'a [u32],
    top: Vec<pb::LeaderboardEntry>,
}

impl PollsApi {
    pub(crate) async fn create_quiz(
        &self,
        caller: Caller,
        req: pb::CreateQuizRequest,
    ) -> Result<pb::CreateQuizResponse> {
        let room_id = uuid("room_id", &req.room_id)?;
        let draft = quiz::validate_draft(&req.title, &req.questions)?;
        let request_id = text::request_id("request_id", &req.request_id, false)?;
        let room = self.managed(&caller, room_id).await?;
        let new = NewQuiz { id: Uuid::now_v7(), room: room.id, created_by: caller.id, request_id, draft };
        let row = self.store.create_quiz(&new).await?;
        let questions = self.store.quiz_questions(&[row.id]).await?;
        Ok(pb::CreateQuizResponse { quiz: Some(quiz_pb(&row, &questions, true, None)) })
    }

    pub(crate) async fn get_quiz(&self, caller: Caller, req: pb::GetQuizRequest) -> Result<pb::GetQuizResponse> {
        let id = uuid("quiz_id", &req.quiz_id)?;
        let (quiz, room) = self.visible_quiz(&caller, id).await?;
        let questions = self.store.quiz_questions(&[quiz.id]).await?;
        let my = self.my_standing(&quiz, caller.id).await?;
        Ok(pb::GetQuizResponse { quiz: Some(quiz_pb(&quiz, &questions, room.caller_manages(), my)) })
    }

    pub(crate) async fn list_quizzes(
        &self,
        caller: Caller,
        req: pb::ListQuizzesRequest,
    ) -> Result<pb::ListQuizzesResponse> {
        let room_id = uuid("room_id", &req.room_id)?;
        let mut states = match pb::QuizState::try_from(req.state) {
            Ok(pb::QuizState::Unspecified) => vec![QUIZ_DRAFT, QUIZ_RUNNING, QUIZ_FINISHED],
            Ok(pb::QuizState::Draft) => vec![QUIZ_DRAFT],
            Ok(pb::QuizState::Running) => vec![QUIZ_RUNNING],
            Ok(pb::QuizState::Finished) => vec![QUIZ_FINISHED],
            Err(_) => return Err(PollsError::field("state", "invalid_state", "unknown quiz state")),
        };
        let page = Page::parse(req.page.as_ref(), &[&req.room_id, &req.state.to_string()])?;
        let room = self.viewable(&caller, room_id).await?;
        let manager = room.caller_manages();
        if !manager {
            states.retain(|s| *s != QUIZ_DRAFT);
        }
        let rows = if states.is_empty() {
            Vec::new()
        } else {
            self.store.list_quizzes(room.id, &states, page.offset, page.size).await?
        };
        let ids: Vec<Uuid> = rows.iter().map(|q| q.id).collect();
        let questions = self.store.quiz_questions(&ids).await?;
        let mine = self.store.user_quiz_standings(&ids, caller.id).await?;
        let me = self.profiles.one(caller.id).await;
        let mut quizzes = Vec::with_capacity(rows.len());
        for quiz in &rows {
            let my = match mine.iter().find(|(id, _)| *id == quiz.id) {
                Some((_, standing)) => {
                    let rank = match standing.final_rank {
                        Some(rank) if quiz.is_finished() => Some(rank.max(0) as u32),
                        _ => self.live_rank(quiz, caller.id).await?,
                    };
                    let totals = standing.totals();
                    let details = Details { correct_answers: u64::from(totals.correct_answers), streak: totals.streak };
                    Some(entry_pb(rank.unwrap_or(0), me.clone(), totals.score, totals.total_response_ms, details))
                }
                None => None,
            };
            quizzes.push(quiz_pb(quiz, &questions, manager, my));
        }
        Ok(pb::ListQuizzesResponse { page: page.response(rows.len()), quizzes })
    }

    pub(crate) async fn update_quiz(
        &self,
        caller: Caller,
        req: pb::UpdateQuizRequest,
    ) -> Result<pb::UpdateQuizResponse> {
        let id = uuid("quiz_id", &req.quiz_id)?;
        let draft = quiz::validate_draft(&req.title, &req.questions)?;
        let quiz = self.store.quiz(id).await?.ok_or_else(quiz_not_found)?;
        self.managed(&caller, quiz.room_id).await?;
        let row = self.store.update_quiz_draft(id, &draft).await?.ok_or_else(quiz_not_found)?;
        let questions = self.store.quiz_questions(&[row.id]).await?;
        Ok(pb::UpdateQuizResponse { quiz: Some(quiz_pb(&row, &questions, true, None)) })
    }

    pub(crate) async fn delete_quiz(
        &self,
        caller: Caller,
        req: pb::DeleteQuizRequest,
    ) -> Result<pb::DeleteQuizResponse> {
        let id = uuid("quiz_id", &req.quiz_id)?;
        let quiz = self.store.quiz(id).await?.ok_or_else(quiz_not_found)?;
        self.managed(&caller, quiz.room_id).await?;
        if !self.store.delete_quiz_draft(id).await? {
            return Err(quiz_not_found());
        }
        Ok(pb::DeleteQuizResponse {})
    }

    pub(crate) async fn reveal_next_question(
        &self,
        caller: Caller,
        req: pb::RevealNextQuestionRequest,
    ) -> Result<pb::RevealNextQuestionResponse> {
        let id = uuid("quiz_id", &req.quiz_id)?;
        let found = self.store.quiz(id).await?.ok_or_else(quiz_not_found)?;
        let room = self.managed(&caller, found.room_id).await?;
        let expected = req.expected_index.map(|i| i.min(i32::MAX as u32) as i32);

        // A current question whose window has elapsed closes first (unless
        // this is a retry of its own reveal).
        if let Some(current) = found.current_index
            && expected != Some(current)
            && let Some(question) = self.store.quiz_question_at(id, current).await?
            && question.closed_at.is_none()
            && question.closes_at.is_some_and(|end| end <= OffsetDateTime::now_utc())
        {
            self.close_question(question.id, false).await?;
        }

        let now = OffsetDateTime::now_utc();
        let mut tx = self.store.quiz_tx().await?;
        let quiz = tx.lock_quiz(id).await?.ok_or_else(quiz_not_found)?;
        let next = quiz.current_index.map_or(0, |i| i + 1);
        if let Some(expected) = expected {
            if Some(expected) == quiz.current_index {
                // A retry of a reveal already performed.
                let question = tx.question_at(id, expected).await?.ok_or_else(question_not_found)?;
                drop(tx);
                let questions = self.store.quiz_questions(&[id]).await?;
                return Ok(pb::RevealNextQuestionResponse {
                    question: Some(question_pb(&question, true)),
                    quiz: Some(quiz_pb(&quiz, &questions, true, None)),
                });
            }
            if expected != next {
                return Err(PollsError::Precondition(
                    "index_mismatch",
                    format!("question {expected} is neither the current nor the next one ({next})"),
                ));
            }
        }
        if quiz.is_finished() {
            return Err(PollsError::Precondition("quiz_finished", "the quiz has finished".into()));
        }
        if let Some(current) = quiz.current_index
            && let Some(question) = tx.question_at(id, current).await?
            && question.closed_at.is_none()
        {
            return Err(PollsError::Precondition(
                "question_open",
                "the current question's window has not closed yet".into(),
            ));
        }
        if next >= quiz.question_count {
            return Err(PollsError::Precondition("no_more_questions", "every question has been revealed".into()));
        }
        if quiz.is_draft() && tx.other_running(quiz.room_id, quiz.id).await? {
            return Err(crate::store::quizzes::quiz_running());
        }
        let question = tx.question_at(id, next).await?.ok_or_else(question_not_found)?;
        let closes_at = now + Duration::from_millis(question.time_limit_ms.max(0) as u64);
        let (quiz, question) = tx.reveal(id, question.id, next, now, closes_at, closes_at + quiz::CLOSE_GRACE).await?;
        let out = self.events.lifecycle(
            room.id,
            Event::QuizQuestionRevealed(pb::QuizQuestionRevealed {
                quiz_id: quiz.id.to_string(),
                quiz_title: quiz.title.clone(),
                question: Some(question_pb(&question, false)),
                question_count: quiz.question_count.max(0) as u32,
            }),
        );
        let outbox_id = tx.enqueue(&out).await?;
        tx.commit().await?;
        self.deliver(vec![(outbox_id, out)]).await;
        let questions = self.store.quiz_questions(&[id]).await?;
        Ok(pb::RevealNextQuestionResponse {
            question: Some(question_pb(&question, true)),
            quiz: Some(quiz_pb(&quiz, &questions, true, None)),
        })
    }

    pub(crate) async fn submit_quiz_answer(
        &self,
        caller: Caller,
        req: pb::SubmitQuizAnswerRequest,
    ) -> Result<pb::SubmitQuizAnswerResponse> {
        let received = OffsetDateTime::now_utc();
        let quiz_id = uuid("quiz_id", &req.quiz_id)?;
        let question_id = uuid("question_id", &req.question_id)?;
        if req.option_ids.is_empty() {
            return Err(PollsError::field("option_ids", "no_choice", "choose an option"));
        }
        // Honoured only from a gateway; anyone else is timed from the reveal.
        let gateway = match (&req.gateway_response_time, caller.via_gateway) {
            (Some(d), true) => Some(std_duration(d).ok_or_else(|| {
                PollsError::field("gateway_response_time", "invalid_response_time", "must not be negative")
            })?),
            _ => None,
        };
        let quiz = self.store.quiz(quiz_id).await?.ok_or_else(quiz_not_found)?;
        let room = self.participant(&caller, quiz.room_id).await?;
        if quiz.is_draft() && !room.caller_manages() {
            return Err(quiz_not_found());
        }
        let question = self
            .store
            .quiz_question(question_id)
            .await?
            .filter(|q| q.quiz_id == quiz.id)
            .ok_or_else(question_not_found)?;
        let choice = quiz::validate_choice(Kind::from_db(question.kind), &question.option_ids(), &req.option_ids)?;
        let Some(revealed_at) = question.revealed_at else {
            return Err(PollsError::Precondition("question_not_open", "this question has not been revealed".into()));
        };
        if question.closed_at.is_some() {
            return Err(window_closed());
        }
        let server = Duration::try_from(received - revealed_at).unwrap_or(Duration::ZERO);
        let response = quiz::response_time(server, gateway);
        let response_ms = u32::try_from(response.as_millis()).unwrap_or(u32::MAX);
        if !quiz::within_window(response_ms, question.time_limit_ms.max(0) as u32) {
            return Err(window_closed());
        }
        if question.closes_at.is_some_and(|end| received > end + quiz::CLOSE_GRACE) {
            return Err(window_closed());
        }
        let answer = NewQuizAnswer {
            question: question.id,
            quiz: quiz.id,
            user: caller.id,
            option_ids: choice,
            response_ms,
            answered_at: received,
        };
        match self.store.insert_quiz_answer(&answer).await? {
            AnswerInsert::Stored => {
                self.signals.emit(SignalKind::QuizAnswer, caller.id, &room.facts());
            }
            AnswerInsert::Duplicate => {
                return Err(PollsError::AlreadyExists(
                    "already_answered",
                    "you have already answered this question".into(),
                ));
            }
            AnswerInsert::Closed => return Err(window_closed()),
        }
        Ok(pb::SubmitQuizAnswerResponse { response_time: Some(ms_duration(u64::from(response_ms))) })
    }

    pub(crate) async fn get_leaderboard(
        &self,
        caller: Caller,
        req: pb::GetLeaderboardRequest,
    ) -> Result<pb::GetLeaderboardResponse> {
        let room_id = uuid("room_id", &req.room_id)?;
        let quiz_id = if req.quiz_id.is_empty() { None } else { Some(uuid("quiz_id", &req.quiz_id)?) };
        let top_n = match req.top_n {
            0 => TOP_DEFAULT,
            n if n <= TOP_MAX => n,
            _ => return Err(PollsError::field("top_n", "invalid_top_n", "must be 1 to 100")),
        };
        let room = self.viewable(&caller, room_id).await?;
        let Some(quiz_id) = quiz_id else {
            return self.room_leaderboard(&room, caller.id, top_n).await;
        };
        let quiz = self.store.quiz(quiz_id).await?.filter(|q| q.room_id == room.id).ok_or_else(quiz_not_found)?;
        if quiz.is_draft() && !room.caller_manages() {
            return Err(quiz_not_found());
        }
        if quiz.is_finished() {
            return self.final_leaderboard(&quiz, caller.id, top_n).await;
        }
        self.ensure_quiz_board(&quiz).await?;
        let board = Board::Quiz(quiz.id);
        let top = self.state.board_top(room.id, board, top_n as usize).await?;
        let mine = self.state.board_entry(room.id, board, caller.id).await?;
        let participant_count = self.state.board_len(room.id, board).await?;
        let users: Vec<Uuid> = top.iter().chain(mine.iter()).map(|r| r.entry.user).collect();
        let details: HashMap<Uuid, Details> = self
            .store
            .quiz_standings_of(quiz.id, &users)
            .await?
            .iter()
            .map(|s| {
                let t = s.totals();
                (s.user_id, Details { correct_answers: u64::from(t.correct_answers), streak: t.streak })
            })
            .collect();
        let (entries, my_entry) = self.board_lines(&top, mine, &details).await;
        Ok(pb::GetLeaderboardResponse { entries, my_entry, participant_count, finalized: false })
    }

    pub(crate) async fn end_quiz(&self, caller: Caller, req: pb::EndQuizRequest) -> Result<pb::EndQuizResponse> {
        let id = uuid("quiz_id", &req.quiz_id)?;
        let found = self.store.quiz(id).await?.ok_or_else(quiz_not_found)?;
        self.managed(&caller, found.room_id).await?;
        // A concurrent reveal can open a question between the steps; a
        // few rounds settle it.
        for _ in 0..3 {
            let quiz = self.store.quiz(id).await?.ok_or_else(quiz_not_found)?;
            if quiz.is_finished() {
                break;
            }
            if quiz.is_draft() {
                return Err(PollsError::Precondition("quiz_not_running", "the quiz has not started".into()));
            }
            let current = match quiz.current_index {
                Some(i) => self.store.quiz_question_at(id, i).await?,
                None => None,
            };
            match current {
                Some(question) if question.closed_at.is_none() => {
                    self.close_question(question.id, true).await?;
                }
                _ => {
                    self.finish_quiz(id).await?;
                }
            }
        }
        let quiz = self.store.quiz(id).await?.ok_or_else(quiz_not_found)?;
        let questions = self.store.quiz_questions(&[id]).await?;
        let my = self.my_standing(&quiz, caller.id).await?;
        Ok(pb::EndQuizResponse { quiz: Some(quiz_pb(&quiz, &questions, true, my)) })
    }

    /// Timer: a question's window closes for everyone.
    pub(crate) async fn close_quiz_question(&self, question: Uuid) -> Result<()> {
        self.close_question(question, false).await.map(|_| ())
    }

    /// The running quiz of a room as the caller may see it (snapshot).
    pub(crate) async fn running_quiz(&self, caller: &Caller, room: &Room) -> Result<Option<pb::Quiz>> {
        let Some(quiz) = self.store.running_quiz(room.id).await? else { return Ok(None) };
        let questions = self.store.quiz_questions(&[quiz.id]).await?;
        let my = self.my_standing(&quiz, caller.id).await?;
        Ok(Some(quiz_pb(&quiz, &questions, room.caller_manages(), my)))
    }

    /// The quiz and its room if the caller may see it (drafts: managers).
    async fn visible_quiz(&self, caller: &Caller, id: Uuid) -> Result<(QuizRow, Room)> {
        let quiz = self.store.quiz(id).await?.ok_or_else(quiz_not_found)?;
        let room = self.viewable(caller, quiz.room_id).await?;
        if quiz.is_draft() && !room.caller_manages() {
            return Err(quiz_not_found());
        }
        Ok((quiz, room))
    }

    /// Closes a question once: scores its answers, updates standings and
    /// publishes; with `finish` (or after the last question) the quiz
    /// finishes too. False when it was closed already (or never revealed).
    async fn close_question(&self, question_id: Uuid, finish: bool) -> Result<bool> {
        let Some(found) = self.store.quiz_question(question_id).await? else { return Ok(false) };
        if found.closed_at.is_some() || found.revealed_at.is_none() {
            return Ok(false);
        }
        let now = OffsetDateTime::now_utc();
        let mut tx = self.store.quiz_tx().await?;
        let Some(quiz) = tx.lock_quiz(found.quiz_id).await? else { return Ok(false) };
        let Some(question) = tx.lock_question(question_id).await? else { return Ok(false) };
        if question.closed_at.is_some() || question.revealed_at.is_none() {
            return Ok(false);
        }
        let answers = tx.answers(question_id).await?;
        let before: HashMap<Uuid, Totals> =
            tx.standings(quiz.id).await?.iter().map(|s| (s.user_id, s.totals())).collect();
        let mut totals = before.clone();
        let rules = quiz::Rules {
            points: question.points.max(0) as u32,
            limit_ms: question.time_limit_ms.max(0) as u32,
            correct: &question.correct_option_ids,
        };
        let mut scores = Vec::with_capacity(answers.len());
        for answer in &answers {
            let response_ms = answer.response_ms.max(0) as u32;
            let line = totals.entry(answer.user_id).or_default();
            let scored =
                quiz::score(rules, Some(quiz::Answer { option_ids: &answer.option_ids, response_ms }), line.streak);
            line.record(&scored, Some(response_ms));
            scores.push(AnswerScore {
                user: answer.user_id,
                correct: scored.correct,
                base: scored.base,
                bonus: scored.bonus,
                streak: scored.streak,
            });
        }
        // Participants who missed this question lose their streak.
        let answered: HashSet<Uuid> = answers.iter().map(|a| a.user_id).collect();
        for (user, line) in &mut totals {
            if !answered.contains(user) {
                line.record(&Scored::default(), None);
            }
        }
        let changed: Vec<(Uuid, Totals)> =
            totals.iter().filter(|(user, line)| before.get(user) != Some(line)).map(|(u, l)| (*u, *l)).collect();
        let closed = tx.close_question(question_id, now, &scores).await?;
        tx.save_standings(quiz.id, quiz.room_id, &changed).await?;
        let mut lines: Vec<(Uuid, Totals)> = totals.into_iter().collect();
        let ranks = quiz::rank(&mut lines, rank_key);
        let top = self.top_entries(&lines, &ranks).await;

        let mut events = vec![self.events.lifecycle(
            quiz.room_id,
            Event::QuizQuestionClosed(pb::QuizQuestionClosed {
                quiz_id: quiz.id.to_string(),
                question: Some(question_pb(&closed, true)),
                answer_counts: answer_counts(&closed, &answers),
                answered_count: answers.len() as u64,
                correct_count: scores.iter().filter(|s| s.correct).count() as u64,
            }),
        )];
        if finish || closed.position + 1 >= quiz.question_count {
            let ranked: Vec<(Uuid, u32)> = lines.iter().zip(&ranks).map(|((user, _), rank)| (*user, *rank)).collect();
            let finished = tx.finish(quiz.id, now, &ranked).await?;
            let questions = tx.questions(quiz.id).await?;
            events.push(self.events.lifecycle(
                quiz.room_id,
                Event::QuizEnded(pb::QuizEnded {
                    quiz: Some(quiz_pb(&finished, &questions, false, None)),
                    top: top.clone(),
                    participant_count: lines.len() as u64,
                }),
            ));
        }
        let mut committed = Vec::with_capacity(events.len());
        for out in events {
            committed.push((tx.enqueue(&out).await?, out));
        }
        tx.commit().await?;
        self.deliver(committed).await;
        self.after_close(Closing {
            quiz: &quiz,
            question: &closed,
            answers: &answers,
            scores: &scores,
            lines: &lines,
            ranks: &ranks,
            top,
        })
        .await;
        Ok(true)
    }

    /// Best effort after a close committed: boards, the live leaderboard,
    /// personal results and participation points. A failure here loses a
    /// live update, not a score: Postgres holds the standings and boards
    /// are rebuilt from it when missing.
    async fn after_close(&self, c: Closing<'_>) {
        let room = c.quiz.room_id;
        let entries: Vec<BoardEntry> = c
            .lines
            .iter()
            .map(|(user, t)| BoardEntry { user: *user, score: t.score, total_response_ms: t.total_response_ms })
            .collect();
        if let Err(error) = self.state.board_put(room, Board::Quiz(c.quiz.id), &entries, false).await {
            tracing::warn!(%error, quiz = %c.quiz.id, "quiz leaderboard not updated; rebuilt from Postgres on the next read");
        }
        let answered: Vec<Uuid> = c.answers.iter().map(|a| a.user_id).collect();
        if let Err(error) = self.refresh_room_board(room, &answered).await {
            tracing::warn!(%error, %room, "room leaderboard not updated");
        }
        self.events
            .live(
                room,
                Event::QuizLeaderboardUpdated(pb::QuizLeaderboardUpdated {
                    quiz_id: c.quiz.id.to_string(),
                    top: c.top,
                    participant_count: c.lines.len() as u64,
                }),
            )
            .await;
        let by_user: HashMap<Uuid, (&QuizAnswerRow, &AnswerScore)> =
            c.answers.iter().zip(c.scores).map(|(a, s)| (a.user_id, (a, s))).collect();
        for ((user, totals), rank) in c.lines.iter().zip(c.ranks) {
            let mine = by_user.get(user);
            let result = pb::QuizAnswerResult {
                room_id: room.to_string(),
                quiz_id: c.quiz.id.to_string(),
                question_id: c.question.id.to_string(),
                correct: mine.is_some_and(|(_, s)| s.correct),
                answered: mine.is_some(),
                response_time: mine.map(|(a, _)| ms_duration(a.response_ms.max(0) as u64)),
                points_awarded: mine.map_or(0, |(_, s)| s.base + s.bonus),
                streak_bonus: mine.map_or(0, |(_, s)| s.bonus),
                streak: totals.streak,
                total_score: totals.score,
                rank: *rank,
                participant_count: c.lines.len() as u64,
            };
            self.events.personal(*user, "quiz", user_event::Kind::QuizAnswerScored(result)).await;
        }
        let awards: Vec<Award> = c
            .scores
            .iter()
            .map(|s| Award {
                room,
                user: s.user,
                reason: pb::PointsReason::Quiz,
                amount: self.config.quiz_answer_points + i64::from(s.base + s.bonus) / 10,
                source: format!("quiz_answer:{}", c.question.id),
                reference: Some(c.quiz.id),
            })
            .collect();
        if !awards.is_empty()
            && let Err(error) = self.award_points(&awards).await
        {
            tracing::warn!(%error, question = %c.question.id, "quiz participation points not credited");
        }
    }

    /// Finishes a running quiz whose current question is closed: final
    /// ranks persisted, `quiz_ended` published. False when nothing changed.
    async fn finish_quiz(&self, id: Uuid) -> Result<bool> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.store.quiz_tx().await?;
        let Some(quiz) = tx.lock_quiz(id).await? else { return Ok(false) };
        if !quiz.is_running() {
            return Ok(false);
        }
        if let Some(current) = quiz.current_index
            && let Some(question) = tx.question_at(id, current).await?
            && question.closed_at.is_none()
        {
            return Ok(false);
        }
        let mut lines: Vec<(Uuid, Totals)> = tx.standings(id).await?.iter().map(|s| (s.user_id, s.totals())).collect();
        let ranks = quiz::rank(&mut lines, rank_key);
        let ranked: Vec<(Uuid, u32)> = lines.iter().zip(&ranks).map(|((user, _), rank)| (*user, *rank)).collect();
        let finished = tx.finish(id, now, &ranked).await?;
        let questions = tx.questions(id).await?;
        let out = self.events.lifecycle(
            finished.room_id,
            Event::QuizEnded(pb::QuizEnded {
                quiz: Some(quiz_pb(&finished, &questions, false, None)),
                top: self.top_entries(&lines, &ranks).await,
                participant_count: lines.len() as u64,
            }),
        );
        let outbox_id = tx.enqueue(&out).await?;
        tx.commit().await?;
        self.deliver(vec![(outbox_id, out)]).await;
        Ok(true)
    }

    /// The first lines of a ranked board, with user refs.
    async fn top_entries(&self, lines: &[(Uuid, Totals)], ranks: &[u32]) -> Vec<pb::LeaderboardEntry> {
        let users: Vec<Uuid> = lines.iter().take(EVENT_TOP).map(|(u, _)| *u).collect();
        let mut refs = self.profiles.refs(&users).await;
        lines
            .iter()
            .zip(ranks)
            .take(EVENT_TOP)
            .map(|((user, t), rank)| {
                let user_ref =
                    refs.remove(user).unwrap_or_else(|| UserRef { user_id: user.to_string(), ..Default::default() });
                let details = Details { correct_answers: u64::from(t.correct_answers), streak: t.streak };
                entry_pb(*rank, user_ref, t.score, t.total_response_ms, details)
            })
            .collect()
    }

    /// Leaderboard lines from a board's ranked entries and details.
    async fn board_lines(
        &self,
        top: &[RankedEntry],
        mine: Option<RankedEntry>,
        details: &HashMap<Uuid, Details>,
    ) -> (Vec<pb::LeaderboardEntry>, Option<pb::LeaderboardEntry>) {
        let users: Vec<Uuid> = top.iter().chain(mine.iter()).map(|r| r.entry.user).collect();
        let refs = self.profiles.refs(&users).await;
        let line = |r: &RankedEntry| {
            let user_ref = refs
                .get(&r.entry.user)
                .cloned()
                .unwrap_or_else(|| UserRef { user_id: r.entry.user.to_string(), ..Default::default() });
            let d = details.get(&r.entry.user).copied().unwrap_or_default();
            entry_pb(r.rank, user_ref, r.entry.score, r.entry.total_response_ms, d)
        };
        (top.iter().map(line).collect(), mine.as_ref().map(line))
    }

    /// A finished quiz's leaderboard, from its persisted final standings.
    async fn final_leaderboard(&self, quiz: &QuizRow, user: Uuid, top_n: u32) -> Result<pb::GetLeaderboardResponse> {
        let rows = self.store.final_standings(quiz.id, top_n).await?;
        let mine = self.store.quiz_standings_of(quiz.id, &[user]).await?.into_iter().next();
        let users: Vec<Uuid> = rows.iter().chain(mine.iter()).map(|r| r.user_id).collect();
        let refs = self.profiles.refs(&users).await;
        let line = |s: &crate::store::StandingRow| {
            let t = s.totals();
            let user_ref = refs
                .get(&s.user_id)
                .cloned()
                .unwrap_or_else(|| UserRef { user_id: s.user_id.to_string(), ..Default::default() });
            let details = Details { correct_answers: u64::from(t.correct_answers), streak: t.streak };
            entry_pb(s.final_rank.unwrap_or(0).max(0) as u32, user_ref, t.score, t.total_response_ms, details)
        };
        Ok(pb::GetLeaderboardResponse {
            entries: rows.iter().map(line).collect(),
            my_entry: mine.as_ref().map(line),
            participant_count: quiz.participant_count.unwrap_or(0).max(0) as u64,
            finalized: true,
        })
    }

    /// The room's leaderboard (all its quizzes summed). Final while no
    /// quiz of the room runs.
    async fn room_leaderboard(&self, room: &Room, user: Uuid, top_n: u32) -> Result<pb::GetLeaderboardResponse> {
        self.ensure_room_board(room.id).await?;
        let top = self.state.board_top(room.id, Board::Room, top_n as usize).await?;
        let mine = self.state.board_entry(room.id, Board::Room, user).await?;
        let participant_count = self.state.board_len(room.id, Board::Room).await?;
        let users: Vec<Uuid> = top.iter().chain(mine.iter()).map(|r| r.entry.user).collect();
        let details: HashMap<Uuid, Details> = self
            .store
            .room_quiz_totals(room.id, Some(&users))
            .await?
            .iter()
            .map(|t| {
                (
                    t.user_id,
                    Details { correct_answers: t.correct_answers.max(0) as u64, streak: t.streak.max(0) as u32 },
                )
            })
            .collect();
        let (entries, my_entry) = self.board_lines(&top, mine, &details).await;
        let finalized = self.store.running_quiz(room.id).await?.is_none();
        Ok(pb::GetLeaderboardResponse { entries, my_entry, participant_count, finalized })
    }

    /// The caller's line in a quiz; None before their first scored answer.
    async fn my_standing(&self, quiz: &QuizRow, user: Uuid) -> Result<Option<pb::LeaderboardEntry>> {
        let Some(standing) = self.store.quiz_standings_of(quiz.id, &[user]).await?.into_iter().next() else {
            return Ok(None);
        };
        let rank = match standing.final_rank {
            Some(rank) if quiz.is_finished() => Some(rank.max(0) as u32),
            _ => self.live_rank(quiz, user).await?,
        };
        let t = standing.totals();
        let details = Details { correct_answers: u64::from(t.correct_answers), streak: t.streak };
        Ok(Some(entry_pb(rank.unwrap_or(0), self.profiles.one(user).await, t.score, t.total_response_ms, details)))
    }

    /// A user's rank on a running quiz's board.
    async fn live_rank(&self, quiz: &QuizRow, user: Uuid) -> Result<Option<u32>> {
        self.ensure_quiz_board(quiz).await?;
        Ok(self.state.board_entry(quiz.room_id, Board::Quiz(quiz.id), user).await?.map(|r| r.rank))
    }

    /// Rebuilds a quiz board from Postgres when Redis lost it.
    async fn ensure_quiz_board(&self, quiz: &QuizRow) -> Result<()> {
        let board = Board::Quiz(quiz.id);
        if self.state.board_exists(quiz.room_id, board).await? {
            return Ok(());
        }
        let entries: Vec<BoardEntry> = self
            .store
            .quiz_standings(quiz.id)
            .await?
            .iter()
            .map(|s| {
                let t = s.totals();
                BoardEntry { user: s.user_id, score: t.score, total_response_ms: t.total_response_ms }
            })
            .collect();
        if !entries.is_empty() {
            self.state.board_put(quiz.room_id, board, &entries, true).await?;
        }
        Ok(())
    }

    /// Rebuilds the room board from Postgres when Redis lost it.
    async fn ensure_room_board(&self, room: Uuid) -> Result<bool> {
        if self.state.board_exists(room, Board::Room).await? {
            return Ok(false);
        }
        let entries = room_entries(&self.store.room_quiz_totals(room, None).await?);
        if !entries.is_empty() {
            self.state.board_put(room, Board::Room, &entries, true).await?;
        }
        Ok(true)
    }

    /// Writes the room totals of `users` after a close.
    async fn refresh_room_board(&self, room: Uuid, users: &[Uuid]) -> Result<()> {
        if self.ensure_room_board(room).await? || users.is_empty() {
            return Ok(());
        }
        let entries = room_entries(&self.store.room_quiz_totals(room, Some(users)).await?);
        self.state.board_put(room, Board::Room, &entries, false).await?;
        Ok(())
    }
}

fn room_entries(totals: &[crate::store::RoomTotalRow]) -> Vec<BoardEntry> {
    totals
        .iter()
        .map(|t| BoardEntry {
            user: t.user_id,
            score: t.score.max(0) as u64,
            total_response_ms: t.total_response_ms.max(0) as u64,
        })
        .collect()
}
