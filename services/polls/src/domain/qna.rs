//! Pure rules of Q&A: what a question and an answer note may say, how a
//! manager's action moves a question (the moderation state machine), which
//! questions a caller may see, and the orders questions are listed in.

use std::cmp::Ordering;

use hearth_proto::hearth::polls::v1 as pb;
use time::OffsetDateTime;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use super::text::{self, Reasons};
use crate::error::{PollsError, Result};

/// Longest question, in characters.
pub const QUESTION_MAX: usize = 300;
/// Longest answer note, in characters.
pub const ANSWER_NOTE_MAX: usize = 500;
/// Published questions in a room snapshot.
pub const SNAPSHOT_TOP: u32 = 10;
/// Most state filters of ListQuestions.
pub const MAX_STATE_FILTERS: usize = 4;

const QUESTION_REASONS: Reasons = Reasons { empty: "question_empty", too_long: "question_too_long" };

/// A question's text: 1–300 characters after trimming, no control
/// characters.
pub fn question_text(raw: &str) -> Result<String> {
    text::required("text", raw, QUESTION_MAX, QUESTION_REASONS)
}

/// A manager's answer note: 0–500 characters after trimming, no control
/// characters; empty means none.
pub fn answer_note(raw: &str) -> Result<String> {
    let note: String = raw.trim().nfc().collect();
    if note.chars().count() > ANSWER_NOTE_MAX {
        return Err(PollsError::field(
            "answer_note",
            "answer_note_too_long",
            format!("must be at most {ANSWER_NOTE_MAX} characters"),
        ));
    }
    if note.chars().any(char::is_control) {
        return Err(PollsError::field("answer_note", "control_characters", "must not contain control characters"));
    }
    Ok(note)
}

/// State of a question, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuestionState {
    Pending,
    Published,
    Answered,
    Rejected,
}

impl QuestionState {
    pub const ALL: [QuestionState; 4] =
        [QuestionState::Pending, QuestionState::Published, QuestionState::Answered, QuestionState::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            QuestionState::Pending => "pending",
            QuestionState::Published => "published",
            QuestionState::Answered => "answered",
            QuestionState::Rejected => "rejected",
        }
    }

    pub fn parse(raw: &str) -> Option<QuestionState> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn to_pb(self) -> pb::QuestionState {
        match self {
            QuestionState::Pending => pb::QuestionState::Pending,
            QuestionState::Published => pb::QuestionState::Published,
            QuestionState::Answered => pb::QuestionState::Answered,
            QuestionState::Rejected => pb::QuestionState::Rejected,
        }
    }

    /// A requested state; UNSPECIFIED and unknown values are not states.
    pub fn from_pb(raw: i32) -> Option<QuestionState> {
        match pb::QuestionState::try_from(raw).ok()? {
            pb::QuestionState::Unspecified => None,
            pb::QuestionState::Pending => Some(QuestionState::Pending),
            pb::QuestionState::Published => Some(QuestionState::Published),
            pb::QuestionState::Answered => Some(QuestionState::Answered),
            pb::QuestionState::Rejected => Some(QuestionState::Rejected),
        }
    }

    /// Visible to every viewer of the room; the others only to managers
    /// and the question's author.
    pub fn public(self) -> bool {
        matches!(self, QuestionState::Published | QuestionState::Answered)
    }
}

/// Whether `viewer` may see a question in `state` asked by `author`.
pub fn visible_to(state: QuestionState, author: Uuid, viewer: Uuid, manager: bool) -> bool {
    state.public() || manager || author == viewer
}

/// The state filter of ListQuestions, validated: at most 4 known states,
/// empty meaning PUBLISHED and ANSWERED; duplicates collapse.
pub fn state_filter(raw: &[i32]) -> Result<Vec<QuestionState>> {
    if raw.len() > MAX_STATE_FILTERS {
        return Err(PollsError::field("states", "too_many_states", format!("at most {MAX_STATE_FILTERS} states")));
    }
    let mut states = Vec::with_capacity(raw.len());
    for (i, value) in raw.iter().enumerate() {
        let state = QuestionState::from_pb(*value)
            .ok_or_else(|| PollsError::field(&format!("states[{i}]"), "invalid_state", "not a question state"))?;
        if !states.contains(&state) {
            states.push(state);
        }
    }
    if states.is_empty() {
        states = vec![QuestionState::Published, QuestionState::Answered];
    }
    Ok(states)
}

/// What the caller may list of the requested states: those listed for
/// everyone, and those listed only where the caller is the author.
pub fn split_visibility(requested: &[QuestionState], manager: bool) -> (Vec<QuestionState>, Vec<QuestionState>) {
    if manager {
        return (requested.to_vec(), Vec::new());
    }
    requested.iter().partition(|s| s.public())
}

/// What a manager does with a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Reject,
    Highlight,
    Unhighlight,
    MarkAnswered,
}

impl Action {
    /// The requested action; UNSPECIFIED and unknown values are refused.
    pub fn from_pb(raw: i32) -> Result<Action> {
        let invalid = || PollsError::field("action", "invalid_action", "must be a moderation action");
        Ok(match pb::ModerationAction::try_from(raw).map_err(|_| invalid())? {
            pb::ModerationAction::Unspecified => return Err(invalid()),
            pb::ModerationAction::Approve => Action::Approve,
            pb::ModerationAction::Reject => Action::Reject,
            pb::ModerationAction::Highlight => Action::Highlight,
            pb::ModerationAction::Unhighlight => Action::Unhighlight,
            pb::ModerationAction::MarkAnswered => Action::MarkAnswered,
        })
    }

    fn verb(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Highlight => "highlight",
            Action::Unhighlight => "unhighlight",
            Action::MarkAnswered => "mark answered",
        }
    }
}

/// Where a question stands: its state and whether it is highlighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub state: QuestionState,
    pub highlighted: bool,
}

/// The event a transition announces to the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announce {
    /// Nothing changed (highlighting the highlighted question, …).
    Nothing,
    /// It became visible (`question_published`; participation points).
    Published,
    /// State or highlight changed (`question_updated`).
    Updated,
    /// Rejected (`question_removed`).
    Removed,
}

/// The outcome of a manager's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub to: Standing,
    pub announce: Announce,
    /// Any other highlighted question of the room must be cleared first.
    pub clears_other_highlight: bool,
    /// The answer time and note are set.
    pub answers: bool,
}

fn invalid_transition(action: Action, from: QuestionState) -> PollsError {
    PollsError::Precondition(
        "invalid_transition",
        format!("cannot {} a question that is {}", action.verb(), from.as_str()),
    )
}

/// The moderation state machine:
/// APPROVE PENDING → PUBLISHED; REJECT PENDING|PUBLISHED → REJECTED;
/// HIGHLIGHT and UNHIGHLIGHT a PUBLISHED question (highlighting clears any
/// other highlight of the room); MARK_ANSWERED PUBLISHED → ANSWERED (and
/// clears the highlight). Anything else is `invalid_transition`.
pub fn moderate(from: Standing, action: Action) -> Result<Transition> {
    use QuestionState::*;
    let plain = |state, highlighted, announce| Transition {
        to: Standing { state, highlighted },
        announce,
        clears_other_highlight: false,
        answers: false,
    };
    match (action, from.state) {
        (Action::Approve, Pending) => Ok(plain(Published, false, Announce::Published)),
        (Action::Reject, Pending | Published) => Ok(plain(Rejected, false, Announce::Removed)),
        (Action::Highlight, Published) if from.highlighted => Ok(plain(Published, true, Announce::Nothing)),
        (Action::Highlight, Published) => {
            Ok(Transition { clears_other_highlight: true, ..plain(Published, true, Announce::Updated) })
        }
        (Action::Unhighlight, Published) if !from.highlighted => Ok(plain(Published, false, Announce::Nothing)),
        (Action::Unhighlight, Published) => Ok(plain(Published, false, Announce::Updated)),
        (Action::MarkAnswered, Published) => {
            Ok(Transition { answers: true, ..plain(Answered, false, Announce::Updated) })
        }
        (action, state) => Err(invalid_transition(action, state)),
    }
}

/// Order of a question list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Most upvotes first, then oldest.
    Top,
    /// Newest first.
    Newest,
}

impl Order {
    /// The requested order; UNSPECIFIED means TOP.
    pub fn from_pb(raw: i32) -> Result<Order> {
        match pb::QuestionOrder::try_from(raw) {
            Ok(pb::QuestionOrder::Unspecified | pb::QuestionOrder::Top) => Ok(Order::Top),
            Ok(pb::QuestionOrder::Newest) => Ok(Order::Newest),
            Err(_) => Err(PollsError::field("order", "invalid_order", "not a question order")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Order::Top => "top",
            Order::Newest => "newest",
        }
    }

    /// The SQL `ORDER BY` of this order over `polls.questions`, the same
    /// as [`Order::compare`] (ids break ties so pages are stable).
    pub fn sql(self) -> &'static str {
        match self {
            Order::Top => "upvotes DESC, created_at ASC, id ASC",
            Order::Newest => "created_at DESC, id DESC",
        }
    }

    /// Compares two questions in this order.
    pub fn compare(self, a: &Ranked, b: &Ranked) -> Ordering {
        match self {
            Order::Top => {
                b.upvotes.cmp(&a.upvotes).then_with(|| a.created_at.cmp(&b.created_at)).then_with(|| a.id.cmp(&b.id))
            }
            Order::Newest => b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)),
        }
    }
}

/// What a question is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ranked {
    pub id: Uuid,
    pub upvotes: u64,
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason<T: std::fmt::Debug>(r: Result<T>) -> &'static str {
        r.unwrap_err().reason().unwrap_or("none")
    }

    fn standing(state: QuestionState, highlighted: bool) -> Standing {
        Standing { state, highlighted }
    }

    #[test]
    fn questions_are_trimmed_bounded_and_clean() {
        assert_eq!(question_text("  When is the next episode?  ").unwrap(), "When is the next episode?");
        assert_eq!(reason(question_text(" \t ")), "question_empty");
        assert_eq!(reason(question_text("")), "question_empty");
        assert!(question_text(&"é".repeat(QUESTION_MAX)).is_ok(), "300 characters, not bytes");
        assert_eq!(reason(question_text(&"x".repeat(QUESTION_MAX + 1))), "question_too_long");
        assert_eq!(reason(question_text("two\nlines")), "control_characters");
        assert_eq!(reason(question_text("bell\u{7}")), "control_characters");
    }

    #[test]
    fn answer_notes_are_optional_and_bounded() {
        assert_eq!(answer_note("").unwrap(), "");
        assert_eq!(answer_note("  answered on air  ").unwrap(), "answered on air");
        assert!(answer_note(&"n".repeat(ANSWER_NOTE_MAX)).is_ok());
        assert_eq!(reason(answer_note(&"n".repeat(ANSWER_NOTE_MAX + 1))), "answer_note_too_long");
        assert_eq!(reason(answer_note("a\u{0}b")), "control_characters");
    }

    #[test]
    fn approve_and_reject() {
        use QuestionState::*;
        let t = moderate(standing(Pending, false), Action::Approve).unwrap();
        assert_eq!((t.to, t.announce), (standing(Published, false), Announce::Published));
        let t = moderate(standing(Pending, false), Action::Reject).unwrap();
        assert_eq!((t.to, t.announce), (standing(Rejected, false), Announce::Removed));
        let t = moderate(standing(Published, true), Action::Reject).unwrap();
        assert_eq!(t.to, standing(Rejected, false), "rejecting clears the highlight");
        for from in [Published, Answered, Rejected] {
            assert_eq!(reason(moderate(standing(from, false), Action::Approve)), "invalid_transition");
        }
        for from in [Answered, Rejected] {
            assert_eq!(reason(moderate(standing(from, false), Action::Reject)), "invalid_transition");
        }
    }

    #[test]
    fn highlight_only_published_questions() {
        use QuestionState::*;
        let t = moderate(standing(Published, false), Action::Highlight).unwrap();
        assert_eq!(t.to, standing(Published, true));
        assert!(t.clears_other_highlight);
        assert_eq!(t.announce, Announce::Updated);
        let again = moderate(standing(Published, true), Action::Highlight).unwrap();
        assert_eq!((again.announce, again.clears_other_highlight), (Announce::Nothing, false));
        for from in [Pending, Answered, Rejected] {
            assert_eq!(reason(moderate(standing(from, false), Action::Highlight)), "invalid_transition");
            assert_eq!(reason(moderate(standing(from, false), Action::Unhighlight)), "invalid_transition");
        }
        let t = moderate(standing(Published, true), Action::Unhighlight).unwrap();
        assert_eq!((t.to, t.announce), (standing(Published, false), Announce::Updated));
        let t = moderate(standing(Published, false), Action::Unhighlight).unwrap();
        assert_eq!(t.announce, Announce::Nothing);
    }

    #[test]
    fn mark_answered_clears_the_highlight() {
        use QuestionState::*;
        let t = moderate(standing(Published, true), Action::MarkAnswered).unwrap();
        assert_eq!(t.to, standing(Answered, false));
        assert!(t.answers);
        assert_eq!(t.announce, Announce::Updated);
        for from in [Pending, Answered, Rejected] {
            let err = moderate(standing(from, false), Action::MarkAnswered).unwrap_err();
            assert_eq!(err.reason(), Some("invalid_transition"));
            assert!(matches!(err, PollsError::Precondition(..)));
        }
    }

    #[test]
    fn actions_and_orders_from_the_wire() {
        assert_eq!(Action::from_pb(pb::ModerationAction::MarkAnswered as i32).unwrap(), Action::MarkAnswered);
        assert_eq!(reason(Action::from_pb(0)), "invalid_action");
        assert_eq!(reason(Action::from_pb(99)), "invalid_action");
        assert_eq!(Order::from_pb(0).unwrap(), Order::Top);
        assert_eq!(Order::from_pb(pb::QuestionOrder::Newest as i32).unwrap(), Order::Newest);
        assert_eq!(reason(Order::from_pb(7)), "invalid_order");
    }

    #[test]
    fn state_filters_default_to_the_public_states() {
        use QuestionState::*;
        assert_eq!(state_filter(&[]).unwrap(), vec![Published, Answered]);
        let p = pb::QuestionState::Pending as i32;
        assert_eq!(state_filter(&[p, p]).unwrap(), vec![Pending]);
        assert_eq!(reason(state_filter(&[0])), "invalid_state");
        assert_eq!(reason(state_filter(&[42])), "invalid_state");
        assert_eq!(reason(state_filter(&[1, 2, 3, 4, 1])), "too_many_states");
        let all = state_filter(&[1, 2, 3, 4]).unwrap();
        assert_eq!(split_visibility(&all, true), (all.clone(), vec![]));
        assert_eq!(split_visibility(&all, false), (vec![Published, Answered], vec![Pending, Rejected]));
        for state in QuestionState::ALL {
            assert_eq!(QuestionState::parse(state.as_str()), Some(state));
            assert_eq!(QuestionState::from_pb(state.to_pb() as i32), Some(state));
        }
    }

    #[test]
    fn pending_and_rejected_questions_show_to_managers_and_authors_only() {
        let (author, other) = (Uuid::now_v7(), Uuid::now_v7());
        for state in [QuestionState::Pending, QuestionState::Rejected] {
            assert!(visible_to(state, author, author, false));
            assert!(visible_to(state, author, other, true));
            assert!(!visible_to(state, author, other, false));
        }
        assert!(visible_to(QuestionState::Published, author, other, false));
        assert!(visible_to(QuestionState::Answered, author, other, false));
    }

    fn ranked(upvotes: u64, minute: i64) -> Ranked {
        let at = OffsetDateTime::from_unix_timestamp(1_764_000_000 + minute * 60).unwrap();
        Ranked { id: Uuid::now_v7(), upvotes, created_at: at }
    }

    #[test]
    fn top_is_most_upvotes_then_oldest() {
        let a = ranked(5, 3);
        let b = ranked(5, 1);
        let c = ranked(9, 4);
        let d = ranked(0, 0);
        let mut list = vec![a, b, c, d];
        list.sort_by(|x, y| Order::Top.compare(x, y));
        assert_eq!(list, vec![c, b, a, d], "9 votes; 5 votes older first; then 0");
        // Same votes and time: the id decides, so pages are stable.
        let mut e = ranked(2, 10);
        let mut f = e;
        e.id = Uuid::from_u128(1);
        f.id = Uuid::from_u128(2);
        assert_eq!(Order::Top.compare(&e, &f), Ordering::Less);
        assert_eq!(Order::Top.compare(&f, &e), Ordering::Greater);
        assert_eq!(Order::Top.compare(&e, &e), Ordering::Equal);
    }

    #[test]
    fn newest_ignores_votes() {
        let a = ranked(100, 1);
        let b = ranked(0, 2);
        let c = ranked(3, 3);
        let mut list = vec![a, c, b];
        list.sort_by(|x, y| Order::Newest.compare(x, y));
        assert_eq!(list, vec![c, b, a]);
        assert_eq!(Order::Top.sql(), "upvotes DESC, created_at ASC, id ASC");
        assert_eq!(Order::Newest.sql(), "created_at DESC, id DESC");
    }
}
