//! Rules of polls: what a valid poll is, which choices a vote may make,
//! when a poll may open, and who sees results.

use std::time::Duration;

use hearth_proto::hearth::polls::v1::{ChoiceMode, PollDraft, ResultsVisibility, VoteVisibility};
use time::OffsetDateTime;

use super::text::{self, OptionReasons, Reasons};
use crate::error::{PollsError, Result};

pub const QUESTION_MAX: usize = 200;
pub const OPTION_MAX: usize = 100;
pub const OPTIONS: (usize, usize) = (2, 10);
pub const DURATION_MIN: Duration = Duration::from_secs(10);
pub const DURATION_MAX: Duration = Duration::from_secs(7 * 24 * 3600);
pub const SCHEDULE_MIN: Duration = Duration::from_secs(60);
pub const SCHEDULE_MAX: Duration = Duration::from_secs(30 * 24 * 3600);
/// Open polls per room at most.
pub const OPEN_PER_ROOM: i64 = 5;

/// A poll's validated content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub question: String,
    /// (option id, text) in display order; ids `o1`…`o10`.
    pub options: Vec<(String, String)>,
    pub choice_mode: ChoiceMode,
    pub max_choices: u32,
    pub allow_vote_change: bool,
    pub results_visibility: ResultsVisibility,
    pub vote_visibility: VoteVisibility,
    pub duration: Option<Duration>,
}

/// Validates a draft; the field names are those of `PollDraft` under
/// `prefix` (`poll.`).
pub fn content(draft: &PollDraft) -> Result<Content> {
    let question = text::required(
        "poll.question",
        &draft.question,
        QUESTION_MAX,
        Reasons { empty: "question_empty", too_long: "question_too_long" },
    )?;
    let options = text::options(
        "poll.options",
        &draft.options,
        OPTIONS,
        OPTION_MAX,
        OptionReasons {
            too_few: "too_few_options",
            too_many: "too_many_options",
            empty: "option_empty",
            too_long: "option_too_long",
            duplicate: "duplicate_options",
        },
    )?;
    let choice_mode = match ChoiceMode::try_from(draft.choice_mode) {
        Ok(ChoiceMode::Unspecified | ChoiceMode::Single) => ChoiceMode::Single,
        Ok(ChoiceMode::Multiple) => ChoiceMode::Multiple,
        Err(_) => return Err(PollsError::field("poll.choice_mode", "invalid_choice_mode", "unknown choice mode")),
    };
    let n = options.len() as u32;
    let max_choices = match (choice_mode, draft.max_choices) {
        (ChoiceMode::Single, 0 | 1) => 1,
        (ChoiceMode::Multiple, 0) => n,
        (ChoiceMode::Multiple, m) if (2..=n).contains(&m) => m,
        _ => {
            return Err(PollsError::field(
                "poll.max_choices",
                "invalid_max_choices",
                "must be 1 for single choice, or 2 to the number of options for multiple choice",
            ));
        }
    };
    let results_visibility = match ResultsVisibility::try_from(draft.results_visibility) {
        Ok(ResultsVisibility::Unspecified | ResultsVisibility::Live) => ResultsVisibility::Live,
        Ok(ResultsVisibility::AfterClose) => ResultsVisibility::AfterClose,
        Err(_) => {
            return Err(PollsError::field("poll.results_visibility", "invalid_visibility", "unknown visibility"));
        }
    };
    let vote_visibility = match VoteVisibility::try_from(draft.vote_visibility) {
        Ok(VoteVisibility::Unspecified | VoteVisibility::Anonymous) => VoteVisibility::Anonymous,
        Ok(VoteVisibility::Public) => VoteVisibility::Public,
        Err(_) => return Err(PollsError::field("poll.vote_visibility", "invalid_visibility", "unknown visibility")),
    };
    let duration = match &draft.duration {
        None => None,
        Some(d) => match hearth_platform::wkt::std_duration(d) {
            Some(d) if (DURATION_MIN..=DURATION_MAX).contains(&d) => Some(d),
            _ => {
                return Err(PollsError::field(
                    "poll.duration",
                    "invalid_duration",
                    "must be 10 s to 7 days, or unset for an open-ended poll",
                ));
            }
        },
    };
    Ok(Content {
        question,
        options: options.into_iter().enumerate().map(|(i, t)| (format!("o{}", i + 1), t)).collect(),
        choice_mode,
        max_choices,
        allow_vote_change: draft.allow_vote_change,
        results_visibility,
        vote_visibility,
        duration,
    })
}

/// When a poll is to open, from `scheduled_open_time` and `open_now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    Draft,
    Now,
    At(OffsetDateTime),
}

pub fn opening(scheduled: Option<OffsetDateTime>, open_now: bool, now: OffsetDateTime) -> Result<Opening> {
    match (scheduled, open_now) {
        (Some(_), true) => {
            Err(PollsError::field("scheduled_open_time", "invalid_schedule", "must not be combined with open_now"))
        }
        (None, true) => Ok(Opening::Now),
        (None, false) => Ok(Opening::Draft),
        (Some(at), false) if at <= now => {
            Err(PollsError::field("scheduled_open_time", "open_time_in_past", "must be in the future"))
        }
        (Some(at), false) if at - now < SCHEDULE_MIN || at - now > SCHEDULE_MAX => {
            Err(PollsError::field("scheduled_open_time", "invalid_schedule", "must be 1 minute to 30 days ahead"))
        }
        (Some(at), false) => Ok(Opening::At(at)),
    }
}

/// What a vote may choose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ballot {
    /// Option ids in display order.
    pub options: Vec<String>,
    pub multiple: bool,
    pub max_choices: u32,
}

impl Ballot {
    /// The choice in display order, or why it is refused.
    pub fn choose(&self, raw: &[String]) -> Result<Vec<String>> {
        if raw.is_empty() {
            return Err(PollsError::field("option_ids", "no_choice", "choose at least one option"));
        }
        let limit = if self.multiple { self.max_choices as usize } else { 1 };
        if raw.len() > limit {
            return Err(PollsError::field(
                "option_ids",
                "too_many_choices",
                format!("at most {limit} option(s) may be chosen"),
            ));
        }
        let mut positions = Vec::with_capacity(raw.len());
        for (i, id) in raw.iter().enumerate() {
            let Some(position) = self.options.iter().position(|o| o == id) else {
                return Err(PollsError::field(
                    &format!("option_ids[{i}]"),
                    "unknown_option",
                    "not an option of this poll",
                ));
            };
            if positions.contains(&position) {
                return Err(PollsError::field(&format!("option_ids[{i}]"), "duplicate_choice", "chosen twice"));
            }
            positions.push(position);
        }
        positions.sort_unstable();
        Ok(positions.into_iter().map(|p| self.options[p].clone()).collect())
    }
}

/// Lifecycle states as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollState {
    Draft,
    Scheduled,
    Open,
    Closed,
    Archived,
}

impl PollState {
    pub fn parse(raw: &str) -> PollState {
        match raw {
            "draft" => PollState::Draft,
            "scheduled" => PollState::Scheduled,
            "open" => PollState::Open,
            "closed" => PollState::Closed,
            _ => PollState::Archived,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PollState::Draft => "draft",
            PollState::Scheduled => "scheduled",
            PollState::Open => "open",
            PollState::Closed => "closed",
            PollState::Archived => "archived",
        }
    }

    /// Editable, deletable, and hidden from non-managers.
    pub fn unpublished(self) -> bool {
        matches!(self, PollState::Draft | PollState::Scheduled)
    }
}

/// Whether results are shown: live polls to every viewer, after-close
/// polls once closed; managers always.
pub fn results_visible(visibility: ResultsVisibility, state: PollState, manager: bool) -> bool {
    manager || visibility != ResultsVisibility::AfterClose || matches!(state, PollState::Closed | PollState::Archived)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(options: &[&str]) -> PollDraft {
        PollDraft {
            question: "Who wins tonight?".into(),
            options: options.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn reason<T: std::fmt::Debug>(r: Result<T>) -> &'static str {
        r.unwrap_err().reason().unwrap_or("none")
    }

    #[test]
    fn drafts_get_defaults_and_option_ids() {
        let c = content(&draft(&["Red", "Blue"])).unwrap();
        assert_eq!(c.options, vec![("o1".into(), "Red".into()), ("o2".into(), "Blue".into())]);
        assert_eq!((c.choice_mode, c.max_choices), (ChoiceMode::Single, 1));
        assert_eq!(c.results_visibility, ResultsVisibility::Live);
        assert_eq!(c.vote_visibility, VoteVisibility::Anonymous);
        assert_eq!(c.duration, None);
        let mut multi = draft(&["a", "b", "c"]);
        multi.choice_mode = ChoiceMode::Multiple as i32;
        assert_eq!(content(&multi).unwrap().max_choices, 3);
    }

    #[test]
    fn bad_drafts_name_their_reason() {
        assert_eq!(reason(content(&PollDraft { question: " ".into(), ..draft(&["a", "b"]) })), "question_empty");
        assert_eq!(reason(content(&draft(&["a"]))), "too_few_options");
        assert_eq!(reason(content(&draft(&["a", "A"]))), "duplicate_options");
        let mut d = draft(&["a", "b", "c"]);
        d.choice_mode = ChoiceMode::Multiple as i32;
        d.max_choices = 4;
        assert_eq!(reason(content(&d)), "invalid_max_choices");
        d.max_choices = 1;
        assert_eq!(reason(content(&d)), "invalid_max_choices");
        let mut d = draft(&["a", "b"]);
        d.max_choices = 2;
        assert_eq!(reason(content(&d)), "invalid_max_choices");
        d.max_choices = 0;
        d.duration = Some(hearth_proto::wkt::Duration { seconds: 5, nanos: 0 });
        assert_eq!(reason(content(&d)), "invalid_duration");
        d.duration = Some(hearth_proto::wkt::Duration { seconds: -10, nanos: 0 });
        assert_eq!(reason(content(&d)), "invalid_duration");
        d.duration = Some(hearth_proto::wkt::Duration { seconds: 10, nanos: 0 });
        assert!(content(&d).is_ok());
    }

    #[test]
    fn openings_are_now_later_or_never() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        assert_eq!(opening(None, false, now).unwrap(), Opening::Draft);
        assert_eq!(opening(None, true, now).unwrap(), Opening::Now);
        let later = now + Duration::from_secs(3600);
        assert_eq!(opening(Some(later), false, now).unwrap(), Opening::At(later));
        assert_eq!(reason(opening(Some(now - Duration::from_secs(1)), false, now)), "open_time_in_past");
        assert_eq!(reason(opening(Some(now + Duration::from_secs(30)), false, now)), "invalid_schedule");
        assert_eq!(reason(opening(Some(later), true, now)), "invalid_schedule");
    }

    #[test]
    fn ballots_refuse_unknown_repeated_and_excess_choices() {
        let ballot = Ballot { options: vec!["o1".into(), "o2".into(), "o3".into()], multiple: true, max_choices: 2 };
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(ballot.choose(&ids(&["o3", "o1"])).unwrap(), ids(&["o1", "o3"]));
        assert_eq!(reason(ballot.choose(&[])), "no_choice");
        assert_eq!(reason(ballot.choose(&ids(&["o1", "o2", "o3"]))), "too_many_choices");
        assert_eq!(reason(ballot.choose(&ids(&["o9"]))), "unknown_option");
        assert_eq!(reason(ballot.choose(&ids(&["o1", "o1"]))), "duplicate_choice");
        let single = Ballot { multiple: false, max_choices: 1, ..ballot };
        assert_eq!(reason(single.choose(&ids(&["o1", "o2"]))), "too_many_choices");
        assert_eq!(single.choose(&ids(&["o2"])).unwrap(), ids(&["o2"]));
    }

    #[test]
    fn after_close_results_wait_except_for_managers() {
        use PollState::*;
        assert!(results_visible(ResultsVisibility::Live, Open, false));
        assert!(!results_visible(ResultsVisibility::AfterClose, Open, false));
        assert!(results_visible(ResultsVisibility::AfterClose, Open, true));
        assert!(results_visible(ResultsVisibility::AfterClose, Closed, false));
    }
}
