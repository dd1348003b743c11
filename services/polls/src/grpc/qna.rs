//! QnaService handlers: viewers ask (rate limited, optionally held for
//! approval), others upvote (exact counts, broadcast coalesced on
//! `.polls.live`), managers approve, reject, highlight (one per room) and
//! mark answered. Lifecycle events go through the outbox on `.polls`;
//! questions awaiting approval are announced on `.mod.polls` only.
//!
//! Chat restrictions apply to asking: a user timed out or banned in the
//! room's chat is refused `timed_out` / `chat_banned` (asked of the chat
//! role's ChatAccessService with this replica's service token).

use std::collections::HashMap;

use hearth_platform::{validate::Page, wkt};
use hearth_proto::hearth::{
    common::v1::UserRef,
    polls::v1::{self as pb, interaction_event::Kind},
    recommendations::v1::SignalKind,
};
use uuid::Uuid;

use super::{Caller, PollsApi, Room, predictions::Award, uuid};
use crate::{
    domain::{
        qna::{self, Action, Announce, Order, QuestionState, Standing},
        text,
    },
    error::{PollsError, Result},
    live,
    store::{ListedQuestion, NewQuestion, QnaSettingsRow, QuestionRow, UpvoteOutcome},
};

fn question_not_found() -> PollsError {
    PollsError::NotFound("question_not_found", "no such question".into())
}

fn bare_ref(user: Uuid) -> UserRef {
    UserRef { user_id: user.to_string(), ..Default::default() }
}

/// A question as `pb`, for one caller (`upvoted_by_me`) or for broadcast
/// (false).
fn question_pb(row: &QuestionRow, author: UserRef, upvoted_by_me: bool) -> pb::Question {
    pb::Question {
        question_id: row.id.to_string(),
        room_id: row.room_id.to_string(),
        author: Some(author),
        text: row.text.clone(),
        state: row.state().to_pb() as i32,
        highlighted: row.highlighted,
        upvotes: row.upvote_count(),
        upvoted_by_me,
        create_time: Some(wkt::timestamp(row.created_at)),
        answer_time: row.answered_at.map(wkt::timestamp),
        answer_note: row.answer_note.clone(),
    }
}

fn settings_pb(s: QnaSettingsRow) -> pb::QnaSettings {
    pb::QnaSettings { enabled: s.enabled, pre_moderation: s.pre_moderation }
}

impl PollsApi {
    /// Questions as `pb` for `caller`, with their authors' display data.
    async fn listed_pb(&self, listed: &[ListedQuestion]) -> Vec<pb::Question> {
        let authors: Vec<Uuid> = listed.iter().map(|q| q.row.author_id).collect();
        let refs = self.profiles.refs(&authors).await;
        listed
            .iter()
            .map(|q| {
                let author = refs.get(&q.row.author_id).cloned().unwrap_or_else(|| bare_ref(q.row.author_id));
                question_pb(&q.row, author, q.upvoted_by_me)
            })
            .collect()
    }

    /// A question the caller may see, and its room as the caller stands in
    /// it; questions hidden from the caller are NOT_FOUND.
    async fn visible_question(&self, caller: &Caller, raw_id: &str) -> Result<(QuestionRow, Room)> {
        let id = uuid("question_id", raw_id)?;
        let row = self.store.question(id).await?.ok_or_else(question_not_found)?;
        let room = self.viewable(caller, row.room_id).await?;
        if !qna::visible_to(row.state(), row.author_id, caller.id, room.caller_manages()) {
            return Err(question_not_found());
        }
        Ok((row, room))
    }

    /// Participation points for a published question (idempotent per
    /// question); a failure costs the author the points, not the question.
    async fn award_question(&self, row: &QuestionRow) {
        if self.config.qna_question_points <= 0 {
            return;
        }
        let award = Award {
            room: row.room_id,
            user: row.author_id,
            reason: pb::PointsReason::QnaQuestion,
            amount: self.config.qna_question_points,
            source: format!("qna_question:{}", row.id),
            reference: Some(row.id),
        };
        if let Err(error) = self.award_points(&[award]).await {
            tracing::warn!(%error, question = %row.id, "points for a published question not credited");
        }
    }

    pub(crate) async fn ask_question(
        &self,
        caller: Caller,
        req: pb::AskQuestionRequest,
    ) -> Result<pb::AskQuestionResponse> {
        let room_id = uuid("room_id", &req.room_id)?;
        let text = qna::question_text(&req.text)?;
        let request_id = text::request_id("request_id", &req.request_id, false)?;
        let room = self.participant(&caller, room_id).await?;
        self.check_chat_restriction(room.id, caller.id).await?;
        let author = self.profiles.one(caller.id).await;
        // A retry returns the question the first ask created.
        if let Some(request_id) = &request_id
            && let Some(row) = self.store.question_by_request(room.id, caller.id, request_id).await?
        {
            return Ok(pb::AskQuestionResponse { question: Some(question_pb(&row, author, false)) });
        }
        let settings = self.store.qna_settings(room.id).await?;
        if !settings.enabled {
            return Err(PollsError::Precondition("qna_disabled", "questions are closed in this room".into()));
        }
        let (limit, window) = (self.config.qna_ask_limit, self.config.qna_ask_window);
        let slot = match self.state.take_ask_slot(room.id, caller.id, limit, window).await? {
            Ok(slot) => slot,
            Err(retry) => {
                return Err(PollsError::Exhausted(
                    "rate_limited",
                    format!(
                        "at most {} questions per {} s; retry in {} s",
                        limit,
                        window.as_secs(),
                        retry.as_millis().div_ceil(1000)
                    ),
                    Some(retry),
                ));
            }
        };
        // Managers' own questions need nobody's approval.
        let state = if settings.pre_moderation && !room.caller_manages() {
            QuestionState::Pending
        } else {
            QuestionState::Published
        };
        let new = NewQuestion { id: Uuid::now_v7(), room_id: room.id, author_id: caller.id, text, state, request_id };
        let events = &self.events;
        let announce = |row: &QuestionRow| {
            (row.state() == QuestionState::Published).then(|| {
                events.lifecycle(
                    row.room_id,
                    Kind::QuestionPublished(pb::QuestionPublished {
                        question: Some(question_pb(row, author.clone(), false)),
                    }),
                )
            })
        };
        let asked = match self.store.insert_question(&new, announce).await {
            Ok(asked) => asked,
            Err(error) => {
                self.give_back(&slot).await;
                return Err(error);
            }
        };
        if !asked.created {
            self.give_back(&slot).await;
            return Ok(pb::AskQuestionResponse { question: Some(question_pb(&asked.row, author, false)) });
        }
        self.signals.emit(SignalKind::QuestionAsked, caller.id, &room.facts());
        self.deliver(asked.outbox).await;
        let question = question_pb(&asked.row, author, false);
        match asked.row.state() {
            QuestionState::Pending => {
                let submitted = pb::QuestionSubmitted { question: Some(question.clone()) };
                self.events.managers(room.id, Kind::QuestionSubmitted(submitted)).await;
            }
            _ => self.award_question(&asked.row).await,
        }
        Ok(pb::AskQuestionResponse { question: Some(question) })
    }

    async fn give_back(&self, slot: &crate::state::AskSlot) {
        if let Err(error) = self.state.release_ask_slot(slot).await {
            tracing::warn!(%error, "an ask that stored nothing still counts against the rate limit");
        }
    }

    pub(crate) async fn list_questions(
        &self,
        caller: Caller,
        req: pb::ListQuestionsRequest,
    ) -> Result<pb::ListQuestionsResponse> {
        let room_id = uuid("room_id", &req.room_id)?;
        let states = qna::state_filter(&req.states)?;
        let order = Order::from_pb(req.order)?;
        let filter: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        let filter = filter.join(",");
        let page = Page::parse(req.page.as_ref(), &[&req.room_id, &filter, order.as_str()])?;
        let room = self.viewable(&caller, room_id).await?;
        let (public, own) = qna::split_visibility(&states, room.caller_manages());
        let listed =
            self.store.list_questions(room.id, caller.id, &public, &own, order, page.offset, page.size).await?;
        Ok(pb::ListQuestionsResponse { questions: self.listed_pb(&listed).await, page: page.response(listed.len()) })
    }

    pub(crate) async fn upvote_question(
        &self,
        caller: Caller,
        req: pb::UpvoteQuestionRequest,
    ) -> Result<pb::UpvoteQuestionResponse> {
        let (row, room) = self.visible_question(&caller, &req.question_id).await?;
        Self::writable(&room)?;
        if !room.caller.member {
            return Err(super::not_member());
        }
        if row.author_id == caller.id {
            return Err(PollsError::Precondition("own_question", "you cannot upvote your own question".into()));
        }
        let not_published =
            || PollsError::Precondition("question_not_published", "only published questions take upvotes".into());
        let row = match self.store.upvote(row.id, caller.id, req.upvote).await? {
            UpvoteOutcome::NotFound => return Err(question_not_found()),
            UpvoteOutcome::NotPublished(_) => return Err(not_published()),
            UpvoteOutcome::Done { row, changed } => {
                if changed {
                    self.live.touch(live::Item::Question { room: row.room_id, question: row.id });
                }
                row
            }
        };
        let author = self.profiles.one(row.author_id).await;
        Ok(pb::UpvoteQuestionResponse { question: Some(question_pb(&row, author, req.upvote)) })
    }

    pub(crate) async fn moderate_question(
        &self,
        caller: Caller,
        req: pb::ModerateQuestionRequest,
    ) -> Result<pb::ModerateQuestionResponse> {
        let id = uuid("question_id", &req.question_id)?;
        let action = Action::from_pb(req.action)?;
        let note = qna::answer_note(&req.answer_note)?;
        if !note.is_empty() && action != Action::MarkAnswered {
            return Err(PollsError::field(
                "answer_note",
                "answer_note_not_allowed",
                "an answer note goes only with MARK_ANSWERED",
            ));
        }
        let row = self.store.question(id).await?.ok_or_else(question_not_found)?;
        let room = self.managed(&caller, row.room_id).await?;
        // Display data of the authors the events may carry, fetched before
        // the transaction holds any lock.
        let mut authors = vec![row.author_id];
        if action == Action::Highlight
            && let Some(previous) = self.store.highlighted_author(room.id).await?
        {
            authors.push(previous);
        }
        let refs: HashMap<Uuid, UserRef> = self.profiles.refs(&authors).await;
        let author_of = |user: Uuid| refs.get(&user).cloned().unwrap_or_else(|| bare_ref(user));
        let events = &self.events;
        let decide = |locked: &QuestionRow| {
            qna::moderate(Standing { state: locked.state(), highlighted: locked.highlighted }, action)
        };
        let announce = |after: &QuestionRow, cleared: Option<&QuestionRow>, transition: &qna::Transition| {
            let mut out = Vec::new();
            if let Some(cleared) = cleared {
                let question = question_pb(cleared, author_of(cleared.author_id), false);
                out.push(
                    events.lifecycle(room.id, Kind::QuestionUpdated(pb::QuestionUpdated { question: Some(question) })),
                );
            }
            let question = question_pb(after, author_of(after.author_id), false);
            let kind = match transition.announce {
                Announce::Nothing => return out,
                Announce::Published => Kind::QuestionPublished(pb::QuestionPublished { question: Some(question) }),
                Announce::Updated => Kind::QuestionUpdated(pb::QuestionUpdated { question: Some(question) }),
                Announce::Removed => Kind::QuestionRemoved(pb::QuestionRemoved { question_id: after.id.to_string() }),
            };
            out.push(events.lifecycle(room.id, kind));
            out
        };
        let moderated = self
            .store
            .moderate_question(room.id, id, caller.id, &note, decide, announce)
            .await?
            .ok_or_else(question_not_found)?;
        self.deliver(moderated.outbox).await;
        if moderated.transition.announce == Announce::Published {
            self.award_question(&moderated.row).await;
        }
        let upvoted = self.store.upvoted(id, caller.id).await?;
        Ok(pb::ModerateQuestionResponse {
            question: Some(question_pb(&moderated.row, author_of(moderated.row.author_id), upvoted)),
        })
    }

    pub(crate) async fn delete_question(
        &self,
        caller: Caller,
        req: pb::DeleteQuestionRequest,
    ) -> Result<pb::DeleteQuestionResponse> {
        let (row, room) = self.visible_question(&caller, &req.question_id).await?;
        if row.author_id != caller.id && !room.caller_manages() {
            return Err(PollsError::Denied("not_author", "only its author or a manager may delete a question".into()));
        }
        Self::writable(&room)?;
        let event = self
            .events
            .lifecycle(room.id, Kind::QuestionRemoved(pb::QuestionRemoved { question_id: row.id.to_string() }));
        let (_, outbox) = self.store.delete_question(row.id, event).await?.ok_or_else(question_not_found)?;
        self.deliver(outbox).await;
        Ok(pb::DeleteQuestionResponse {})
    }

    pub(crate) async fn get_qna_settings(
        &self,
        caller: Caller,
        req: pb::GetQnaSettingsRequest,
    ) -> Result<pb::GetQnaSettingsResponse> {
        let room_id = uuid("room_id", &req.room_id)?;
        let room = self.viewable(&caller, room_id).await?;
        let settings = self.store.qna_settings(room.id).await?;
        Ok(pb::GetQnaSettingsResponse { settings: Some(settings_pb(settings)) })
    }

    pub(crate) async fn update_qna_settings(
        &self,
        caller: Caller,
        req: pb::UpdateQnaSettingsRequest,
    ) -> Result<pb::UpdateQnaSettingsResponse> {
        let room_id = uuid("room_id", &req.room_id)?;
        let requested = req
            .settings
            .ok_or_else(|| PollsError::field("settings", "settings_required", "the new settings are required"))?;
        let settings = QnaSettingsRow { enabled: requested.enabled, pre_moderation: requested.pre_moderation };
        let room = self.managed(&caller, room_id).await?;
        let events = &self.events;
        let outbox = self
            .store
            .put_qna_settings(room.id, settings, caller.id, |s| {
                events.lifecycle(
                    room.id,
                    Kind::QnaSettingsChanged(pb::QnaSettingsChanged { settings: Some(settings_pb(*s)) }),
                )
            })
            .await?;
        self.deliver(outbox).await;
        Ok(pb::UpdateQnaSettingsResponse { settings: Some(settings_pb(settings)) })
    }

    /// Live: publishes a question's upvote count (`.polls.live`); nothing
    /// for a deleted question.
    pub(crate) async fn publish_question_votes(&self, room: Uuid, question: Uuid) -> Result<()> {
        let Some(upvotes) = self.store.question_upvotes(room, question).await? else {
            return Ok(());
        };
        let kind = Kind::QuestionVotesUpdated(pb::QuestionVotesUpdated {
            question_id: question.to_string(),
            upvotes: upvotes.max(0) as u64,
        });
        self.events.live(room, kind).await;
        Ok(())
    }

    /// Settings, highlighted question and top 10 published questions by
    /// votes, as `caller` sees them (room snapshot).
    pub(crate) async fn qna_snapshot(
        &self,
        caller: &Caller,
        room: &Room,
    ) -> Result<(pb::QnaSettings, Option<pb::Question>, Vec<pb::Question>)> {
        let settings = self.store.qna_settings(room.id).await?;
        let highlighted = self.store.highlighted_question(room.id, caller.id).await?;
        let top = self
            .store
            .list_questions(room.id, caller.id, &[QuestionState::Published], &[], Order::Top, 0, qna::SNAPSHOT_TOP)
            .await?;
        let mut listed: Vec<ListedQuestion> = highlighted.into_iter().collect();
        let has_highlight = !listed.is_empty();
        listed.extend(top);
        let mut questions = self.listed_pb(&listed).await;
        let highlighted = if has_highlight { Some(questions.remove(0)) } else { None };
        Ok((settings_pb(settings), highlighted, questions))
    }
}
