//! Quiz rules, pure and unit-tested: draft validation (the reasons
//! polls.proto names), answer checks, Kahoot-style scoring with streaks,
//! and competition ranking.
//!
//! Scoring (polls.proto, QuizService), with response times in whole
//! milliseconds (what the service stores and reports):
//!   base  = points                                        if rt < 500 ms
//!   base  = round((1 − (rt / limit) / 2) × points)        otherwise
//!   bonus = min(100 × (streak − 1), 500)                  if points > 0
//!   score = base + bonus
//! where `streak` counts consecutive correct answers including this one.
//! A wrong or missing answer scores 0 and resets the streak. A correct
//! answer to a 0-point warm-up question scores 0 and earns no bonus, but
//! still counts in the streak (it is a correct answer). Rounding is half
//! up, computed in integers so that no float error moves a point.
//!
//! Ranking: competition ranking ("1, 2, 2, 4") on the score; within a tie,
//! entries are listed by total response time of correct answers, then
//! user id.

use std::{cmp::Ordering, collections::BTreeSet, collections::HashSet, time::Duration};

use hearth_platform::validate;
use hearth_proto::hearth::polls::v1 as pb;
use hearth_proto::wkt;
use uuid::Uuid;

use super::text::{self, OptionReasons, Reasons};
use crate::error::{PollsError, Result};

pub const TITLE_MAX: usize = 120;
pub const QUESTIONS_MIN: usize = 1;
pub const QUESTIONS_MAX: usize = 50;
pub const QUESTION_TEXT_MAX: usize = 300;
pub const OPTIONS_MIN: usize = 2;
pub const OPTIONS_MAX: usize = 6;
pub const OPTION_TEXT_MAX: usize = 100;
pub const TIME_LIMIT_MIN_MS: u32 = 5_000;
pub const TIME_LIMIT_MAX_MS: u32 = 120_000;
pub const TIME_LIMIT_DEFAULT_MS: u32 = 20_000;
pub const POINTS_MAX: u32 = 2_000;
pub const POINTS_DEFAULT: u32 = 1_000;
pub const IMAGE_URL_MAX: usize = 2_048;
/// Answers faster than this score full points.
pub const FULL_POINTS_UNDER_MS: u32 = 500;
pub const STREAK_STEP: u32 = 100;
pub const STREAK_CAP: u32 = 500;
/// The window closes for everyone this long after its time limit, so that
/// answers timed by a gateway within the limit still arrive.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Kind of a quiz question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Single,
    Multiple,
    TrueFalse,
}

impl Kind {
    pub fn from_pb(raw: i32) -> Option<Kind> {
        match pb::QuestionKind::try_from(raw).ok()? {
            pb::QuestionKind::SingleChoice => Some(Kind::Single),
            pb::QuestionKind::MultipleChoice => Some(Kind::Multiple),
            pb::QuestionKind::TrueFalse => Some(Kind::TrueFalse),
            pb::QuestionKind::Unspecified => None,
        }
    }

    pub fn to_pb(self) -> pb::QuestionKind {
        match self {
            Kind::Single => pb::QuestionKind::SingleChoice,
            Kind::Multiple => pb::QuestionKind::MultipleChoice,
            Kind::TrueFalse => pb::QuestionKind::TrueFalse,
        }
    }

    /// Stored as the proto enum number.
    pub fn from_db(raw: i16) -> Kind {
        Kind::from_pb(i32::from(raw)).unwrap_or(Kind::Single)
    }

    pub fn to_db(self) -> i16 {
        self.to_pb() as i16
    }
}

/// A validated question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionDraft {
    pub text: String,
    pub kind: Kind,
    pub options: Vec<String>,
    /// Zero-based indexes into `options`, ascending, distinct.
    pub correct: Vec<usize>,
    pub time_limit_ms: u32,
    pub points: u32,
    pub image_url: String,
}

impl QuestionDraft {
    /// Server-assigned option ids: `o1`, `o2`, … in option order.
    pub fn option_ids(&self) -> Vec<String> {
        (0..self.options.len()).map(option_id).collect()
    }

    pub fn correct_ids(&self) -> Vec<String> {
        self.correct.iter().map(|i| option_id(*i)).collect()
    }
}

/// A validated quiz draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuizDraft {
    pub title: String,
    pub questions: Vec<QuestionDraft>,
}

/// The id of the option at `index`.
pub fn option_id(index: usize) -> String {
    format!("o{}", index + 1)
}

/// Validates a whole draft (CreateQuiz, UpdateQuiz); the first problem is
/// refused with its field and reason.
pub fn validate_draft(title: &str, questions: &[pb::QuizQuestionDraft]) -> Result<QuizDraft> {
    let title =
        text::required("title", title, TITLE_MAX, Reasons { empty: "title_empty", too_long: "title_too_long" })?;
    if questions.len() < QUESTIONS_MIN {
        return Err(PollsError::field("questions", "too_few_questions", "a quiz needs at least one question"));
    }
    if questions.len() > QUESTIONS_MAX {
        return Err(PollsError::field(
            "questions",
            "too_many_questions",
            format!("a quiz has at most {QUESTIONS_MAX} questions"),
        ));
    }
    let questions = questions
        .iter()
        .enumerate()
        .map(|(i, q)| validate_question(&format!("questions[{i}]"), q))
        .collect::<Result<_>>()?;
    Ok(QuizDraft { title, questions })
}

const OPTION_REASONS: OptionReasons = OptionReasons {
    too_few: "too_few_options",
    too_many: "too_many_options",
    empty: "option_empty",
    too_long: "option_too_long",
    duplicate: "duplicate_options",
};

fn validate_question(field: &str, raw: &pb::QuizQuestionDraft) -> Result<QuestionDraft> {
    let text = text::required(
        &format!("{field}.text"),
        &raw.text,
        QUESTION_TEXT_MAX,
        Reasons { empty: "question_empty", too_long: "question_too_long" },
    )?;
    let kind = Kind::from_pb(raw.kind).ok_or_else(|| {
        PollsError::field(
            &format!("{field}.kind"),
            "invalid_kind",
            "must be SINGLE_CHOICE, MULTIPLE_CHOICE or TRUE_FALSE",
        )
    })?;
    let options_field = format!("{field}.options");
    let options = if kind == Kind::TrueFalse {
        match raw.options.len() {
            // Unset: the usual texts.
            0 => vec!["True".to_owned(), "False".to_owned()],
            2 => text::options(&options_field, &raw.options, (2, 2), OPTION_TEXT_MAX, OPTION_REASONS)?,
            _ => {
                return Err(PollsError::field(
                    &options_field,
                    "invalid_true_false",
                    "a true/false question has exactly two options",
                ));
            }
        }
    } else {
        text::options(&options_field, &raw.options, (OPTIONS_MIN, OPTIONS_MAX), OPTION_TEXT_MAX, OPTION_REASONS)?
    };
    let correct_field = format!("{field}.correct_option_indexes");
    if raw.correct_option_indexes.is_empty() {
        return Err(PollsError::field(&correct_field, "no_correct_option", "name the correct option"));
    }
    let mut correct = BTreeSet::new();
    for index in &raw.correct_option_indexes {
        let index = *index as usize;
        if index >= options.len() {
            return Err(PollsError::field(&correct_field, "invalid_correct_option", "must index into options"));
        }
        if !correct.insert(index) {
            return Err(PollsError::field(&correct_field, "invalid_correct_option", "indexes must be distinct"));
        }
    }
    match kind {
        Kind::TrueFalse if correct.len() != 1 => {
            return Err(PollsError::field(
                &correct_field,
                "invalid_true_false",
                "exactly one of true and false is correct",
            ));
        }
        Kind::Single if correct.len() != 1 => {
            return Err(PollsError::field(
                &correct_field,
                "invalid_correct_option",
                "a single-choice question has exactly one correct option",
            ));
        }
        _ => {}
    }
    let time_limit_ms = match &raw.time_limit {
        None => TIME_LIMIT_DEFAULT_MS,
        Some(d) => time_limit_ms(d).ok_or_else(|| {
            PollsError::field(&format!("{field}.time_limit"), "invalid_time_limit", "must be 5 s to 120 s")
        })?,
    };
    let points = raw.points.unwrap_or(POINTS_DEFAULT);
    if points > POINTS_MAX {
        return Err(PollsError::field(&format!("{field}.points"), "invalid_points", "must be 0 to 2000"));
    }
    let image_field = format!("{field}.image_url");
    let image_url = validate::url(&image_field, &raw.image_url, &["https"], IMAGE_URL_MAX, true)
        .map_err(|e| PollsError::field(&image_field, "invalid_image_url", e.reason))?;
    Ok(QuestionDraft { text, kind, options, correct: correct.into_iter().collect(), time_limit_ms, points, image_url })
}

/// A time limit within 5–120 s, in whole milliseconds (sub-millisecond
/// parts are dropped).
fn time_limit_ms(d: &wkt::Duration) -> Option<u32> {
    let ms = hearth_platform::wkt::std_duration(d)?.as_millis();
    let ms = u32::try_from(ms).ok()?;
    (TIME_LIMIT_MIN_MS..=TIME_LIMIT_MAX_MS).contains(&ms).then_some(ms)
}

/// Checks an answer's choices against the question's options: at least
/// one, distinct, known, and one only for single-choice and true/false.
pub fn validate_choice(kind: Kind, option_ids: &[String], raw: &[String]) -> Result<Vec<String>> {
    if raw.is_empty() {
        return Err(PollsError::field("option_ids", "no_choice", "choose an option"));
    }
    let max = if kind == Kind::Multiple { option_ids.len() } else { 1 };
    if raw.len() > max {
        return Err(PollsError::field("option_ids", "too_many_choices", format!("choose at most {max}")));
    }
    let mut seen = HashSet::new();
    for id in raw {
        if !option_ids.iter().any(|o| o == id) {
            return Err(PollsError::field("option_ids", "unknown_option", "not an option of this question"));
        }
        if !seen.insert(id.as_str()) {
            return Err(PollsError::field("option_ids", "duplicate_choice", "each option at most once"));
        }
    }
    Ok(raw.to_vec())
}

/// The response time scored: the gateway's measurement (from when the
/// question reached the answerer's gateway) when the call came through a
/// gateway, never more than the server's own measurement from the reveal.
pub fn response_time(server_measured: Duration, gateway: Option<Duration>) -> Duration {
    gateway.map_or(server_measured, |g| g.min(server_measured))
}

/// Whether an answer timed `response_ms` is inside a `limit_ms` window
/// (the limit itself included).
pub fn within_window(response_ms: u32, limit_ms: u32) -> bool {
    response_ms <= limit_ms
}

/// Multiple-choice answers must match the correct set exactly; single
/// choice and true/false are the one-element case of the same rule.
pub fn is_correct(chosen: &[String], correct: &[String]) -> bool {
    let chosen: BTreeSet<&str> = chosen.iter().map(String::as_str).collect();
    let correct: BTreeSet<&str> = correct.iter().map(String::as_str).collect();
    !chosen.is_empty() && chosen == correct
}

/// Base points of a correct answer, rounded half up.
pub fn base_points(points: u32, response_ms: u32, limit_ms: u32) -> u32 {
    if response_ms < FULL_POINTS_UNDER_MS {
        return points;
    }
    let limit = u64::from(limit_ms.max(1));
    let rt = u64::from(response_ms).min(limit);
    // (1 − (rt/limit)/2) × points = points × (2·limit − rt) / (2·limit)
    let numerator = u64::from(points) * (2 * limit - rt);
    let denominator = 2 * limit;
    ((2 * numerator + denominator) / (2 * denominator)) as u32
}

/// The streak bonus of a correct answer that makes a streak of `streak`.
pub fn streak_bonus(points: u32, streak: u32) -> u32 {
    if points == 0 || streak == 0 { 0 } else { (STREAK_STEP * (streak - 1)).min(STREAK_CAP) }
}

/// What one question scores for one participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scored {
    pub correct: bool,
    pub base: u32,
    pub bonus: u32,
    /// The streak after this question.
    pub streak: u32,
}

impl Scored {
    pub fn points(&self) -> u32 {
        self.base + self.bonus
    }
}

/// The question's scoring parameters.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub points: u32,
    pub limit_ms: u32,
    pub correct: &'a [String],
}

/// An answer as given.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    pub option_ids: &'a [String],
    pub response_ms: u32,
}

/// Scores one participant's answer (None: did not answer) after a streak
/// of `prior_streak` correct answers.
pub fn score(rules: Rules<'_>, answer: Option<Answer<'_>>, prior_streak: u32) -> Scored {
    match answer {
        Some(a) if is_correct(a.option_ids, rules.correct) => {
            let streak = prior_streak + 1;
            Scored {
                correct: true,
                base: base_points(rules.points, a.response_ms, rules.limit_ms),
                bonus: streak_bonus(rules.points, streak),
                streak,
            }
        }
        _ => Scored::default(),
    }
}

/// A participant's running totals in one quiz.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub score: u64,
    pub correct_answers: u32,
    pub answered: u32,
    pub streak: u32,
    /// Sum of response times of correct answers (tie-breaker).
    pub total_response_ms: u64,
}

impl Totals {
    /// Adds one closed question (`response_ms` None: not answered).
    pub fn record(&mut self, scored: &Scored, response_ms: Option<u32>) {
        if response_ms.is_some() {
            self.answered += 1;
        }
        if scored.correct {
            self.score += u64::from(scored.points());
            self.correct_answers += 1;
            self.total_response_ms += u64::from(response_ms.unwrap_or(0));
        }
        self.streak = scored.streak;
    }
}

/// What orders a leaderboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankKey {
    pub score: u64,
    pub total_response_ms: u64,
    pub user: Uuid,
}

/// Leaderboard order: higher score first, then less total response time,
/// then user id.
pub fn board_order(a: &RankKey, b: &RankKey) -> Ordering {
    b.score.cmp(&a.score).then(a.total_response_ms.cmp(&b.total_response_ms)).then(a.user.cmp(&b.user))
}

/// Sorts `items` in leaderboard order and returns their competition ranks
/// (equal scores rank equal: 1, 2, 2, 4), aligned with the sorted items.
pub fn rank<T>(items: &mut [T], key: impl Fn(&T) -> RankKey) -> Vec<u32> {
    items.sort_by(|a, b| board_order(&key(a), &key(b)));
    let mut ranks: Vec<u32> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let tied = i > 0 && key(&items[i - 1]).score == key(item).score;
        let rank = if tied { ranks[i - 1] } else { i as u32 + 1 };
        ranks.push(rank);
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn question(kind: pb::QuestionKind, options: &[&str], correct: &[u32]) -> pb::QuizQuestionDraft {
        pb::QuizQuestionDraft {
            text: "Which one?".into(),
            kind: kind as i32,
            options: ids(options),
            correct_option_indexes: correct.to_vec(),
            ..Default::default()
        }
    }

    fn single() -> pb::QuizQuestionDraft {
        question(pb::QuestionKind::SingleChoice, &["A", "B", "C"], &[1])
    }

    fn reason<T: std::fmt::Debug>(r: Result<T>) -> &'static str {
        r.expect_err("refused").reason().unwrap_or("none")
    }

    fn secs(s: i64) -> Option<wkt::Duration> {
        Some(wkt::Duration { seconds: s, nanos: 0 })
    }

    #[test]
    fn drafts_get_defaults_and_option_ids() {
        let draft = validate_draft("  Film trivia ", &[single()]).unwrap();
        assert_eq!(draft.title, "Film trivia");
        let q = &draft.questions[0];
        assert_eq!((q.time_limit_ms, q.points, q.kind), (20_000, 1000, Kind::Single));
        assert_eq!(q.option_ids(), ids(&["o1", "o2", "o3"]));
        assert_eq!(q.correct_ids(), ids(&["o2"]));
        let tf = validate_draft("t", &[question(pb::QuestionKind::TrueFalse, &[], &[0])]).unwrap();
        assert_eq!(tf.questions[0].options, ids(&["True", "False"]));
        let mut warmup = single();
        warmup.points = Some(0);
        warmup.time_limit = secs(5);
        warmup.image_url = "https://img.example/q.png".into();
        let q = &validate_draft("t", &[warmup]).unwrap().questions[0];
        assert_eq!((q.points, q.time_limit_ms, q.image_url.as_str()), (0, 5000, "https://img.example/q.png"));
        let multi = question(pb::QuestionKind::MultipleChoice, &["A", "B", "C", "D"], &[3, 0]);
        assert_eq!(validate_draft("t", &[multi]).unwrap().questions[0].correct_ids(), ids(&["o1", "o4"]));
    }

    #[test]
    fn bad_drafts_are_refused_with_their_reasons() {
        assert_eq!(reason(validate_draft("  ", &[single()])), "title_empty");
        assert_eq!(reason(validate_draft(&"x".repeat(121), &[single()])), "title_too_long");
        assert_eq!(reason(validate_draft("t", &[])), "too_few_questions");
        assert_eq!(reason(validate_draft("t", &vec![single(); 51])), "too_many_questions");
        assert!(validate_draft("t", &vec![single(); 50]).is_ok());
        let with = |f: &dyn Fn(&mut pb::QuizQuestionDraft)| {
            let mut q = single();
            f(&mut q);
            reason(validate_draft("t", &[single(), q]))
        };
        assert_eq!(with(&|q| q.text = " ".into()), "question_empty");
        assert_eq!(with(&|q| q.text = "x".repeat(301)), "question_too_long");
        assert_eq!(with(&|q| q.kind = 0), "invalid_kind");
        assert_eq!(with(&|q| q.options = ids(&["A"])), "too_few_options");
        assert_eq!(with(&|q| q.options = ids(&["1", "2", "3", "4", "5", "6", "7"])), "too_many_options");
        assert_eq!(with(&|q| q.options = ids(&["Yes", " yes", "No"])), "duplicate_options");
        assert_eq!(with(&|q| q.options = ids(&["Yes", "", "No"])), "option_empty");
        assert_eq!(with(&|q| q.correct_option_indexes = vec![]), "no_correct_option");
        assert_eq!(with(&|q| q.correct_option_indexes = vec![3]), "invalid_correct_option");
        assert_eq!(with(&|q| q.correct_option_indexes = vec![0, 1]), "invalid_correct_option");
        assert_eq!(with(&|q| q.time_limit = secs(4)), "invalid_time_limit");
        assert_eq!(with(&|q| q.time_limit = secs(121)), "invalid_time_limit");
        assert_eq!(with(&|q| q.time_limit = secs(-5)), "invalid_time_limit");
        assert_eq!(with(&|q| q.points = Some(2001)), "invalid_points");
        assert_eq!(with(&|q| q.image_url = "http://img.example/q.png".into()), "invalid_image_url");
        assert_eq!(with(&|q| q.image_url = format!("https://img.example/{}", "a".repeat(2048))), "invalid_image_url");
        let tf = |options: &[&str], correct: &[u32]| {
            reason(validate_draft("t", &[question(pb::QuestionKind::TrueFalse, options, correct)]))
        };
        assert_eq!(tf(&["True", "False", "Maybe"], &[0]), "invalid_true_false");
        assert_eq!(tf(&["True"], &[0]), "invalid_true_false");
        assert_eq!(tf(&["True", "False"], &[0, 1]), "invalid_true_false");
        assert_eq!(tf(&["True", "False"], &[]), "no_correct_option");
        // The field names the question.
        let err = validate_draft("t", &[single(), question(pb::QuestionKind::SingleChoice, &["A"], &[0])]).unwrap_err();
        match err {
            PollsError::InvalidField(field, _) => assert_eq!(field.field, "questions[1].options"),
            other => panic!("unexpected {other:?}"),
        }
        // Limits are inclusive.
        let mut edge = single();
        edge.time_limit = secs(120);
        edge.points = Some(2000);
        assert!(validate_draft("t", &[edge]).is_ok());
    }

    #[test]
    fn choices_are_checked_against_the_question() {
        let options = ids(&["o1", "o2", "o3"]);
        assert_eq!(reason(validate_choice(Kind::Single, &options, &[])), "no_choice");
        assert_eq!(reason(validate_choice(Kind::Single, &options, &ids(&["o1", "o2"]))), "too_many_choices");
        assert_eq!(reason(validate_choice(Kind::Single, &options, &ids(&["o9"]))), "unknown_option");
        assert_eq!(reason(validate_choice(Kind::Multiple, &options, &ids(&["o1", "o1"]))), "duplicate_choice");
        assert_eq!(
            reason(validate_choice(Kind::Multiple, &options, &ids(&["o1", "o2", "o3", "o1"]))),
            "too_many_choices"
        );
        assert!(validate_choice(Kind::Multiple, &options, &ids(&["o3", "o1"])).is_ok());
    }

    #[test]
    fn multiple_choice_must_match_the_set_exactly() {
        let correct = ids(&["o1", "o3"]);
        assert!(is_correct(&ids(&["o3", "o1"]), &correct));
        assert!(!is_correct(&ids(&["o1"]), &correct), "a subset is wrong");
        assert!(!is_correct(&ids(&["o1", "o2", "o3"]), &correct), "a superset is wrong");
        assert!(!is_correct(&[], &correct));
        assert!(is_correct(&ids(&["o2"]), &ids(&["o2"])));
    }

    #[test]
    fn base_points_by_hand() {
        // 1000 pts, 20 s limit, 5 s: (1 − 0.25/2) × 1000 = 875.
        assert_eq!(base_points(1000, 5_000, 20_000), 875);
        // Under 0.5 s: full points; at exactly 0.5 s the formula applies:
        // (1 − 0.025/2) × 1000 = 987.5 → 988 (half up).
        assert_eq!(base_points(1000, 0, 20_000), 1000);
        assert_eq!(base_points(1000, 499, 20_000), 1000);
        assert_eq!(base_points(1000, 500, 20_000), 988);
        // At exactly the time limit: half the points.
        assert_eq!(base_points(1000, 20_000, 20_000), 500);
        assert_eq!(base_points(2000, 10_000, 10_000), 1000);
        // 500 pts, 30 s, 7.3 s: (1 − 0.24333/2) × 500 = 439.1666… → 439.
        assert_eq!(base_points(500, 7_300, 30_000), 439);
        // 1000 pts, 5 s, 1.23 s: (1 − 0.246/2) × 1000 = 877.
        assert_eq!(base_points(1000, 1_230, 5_000), 877);
        // 333 pts, 8 s, 3 s: (1 − 0.1875) × 333 = 270.5625 → 271.
        assert_eq!(base_points(333, 3_000, 8_000), 271);
        // 0-point warm-up.
        assert_eq!(base_points(0, 3_000, 8_000), 0);
    }

    #[test]
    fn streaks_add_a_capped_bonus_and_reset_on_wrong_or_missing_answers() {
        let correct = ids(&["o1"]);
        let wrong = ids(&["o2"]);
        let rules = Rules { points: 1000, limit_ms: 20_000, correct: &correct };
        let right = |rt| Some(Answer { option_ids: &correct, response_ms: rt });
        let mut totals = Totals::default();
        let mut awarded = Vec::new();
        // Seven correct answers at 5 s: 875 each, bonus 0, 100, …, 500, 500.
        for _ in 0..7 {
            let s = score(rules, right(5_000), totals.streak);
            totals.record(&s, Some(5_000));
            awarded.push((s.points(), s.bonus, s.streak));
        }
        assert_eq!(
            awarded,
            vec![
                (875, 0, 1),
                (975, 100, 2),
                (1075, 200, 3),
                (1175, 300, 4),
                (1275, 400, 5),
                (1375, 500, 6),
                (1375, 500, 7)
            ]
        );
        assert_eq!(totals.score, 875 * 7 + 100 + 200 + 300 + 400 + 500 + 500);
        assert_eq!(totals.score, 8125);
        // A wrong answer scores 0 and resets the streak; the next correct
        // one starts again without bonus.
        let s = score(rules, Some(Answer { option_ids: &wrong, response_ms: 1_000 }), totals.streak);
        assert_eq!(s, Scored { correct: false, base: 0, bonus: 0, streak: 0 });
        totals.record(&s, Some(1_000));
        let s = score(rules, right(400), totals.streak);
        assert_eq!((s.base, s.bonus, s.streak), (1000, 0, 1));
        totals.record(&s, Some(400));
        // A missing answer resets it too.
        let s = score(rules, None, totals.streak);
        totals.record(&s, None);
        assert_eq!(totals.streak, 0);
        assert_eq!(totals.score, 8125 + 1000);
        assert_eq!(totals.correct_answers, 8);
        assert_eq!(totals.answered, 9);
        assert_eq!(totals.total_response_ms, 7 * 5_000 + 400, "only correct answers count");
    }

    #[test]
    fn warm_up_questions_score_nothing_but_keep_the_streak() {
        let correct = ids(&["o1"]);
        let answer = Some(Answer { option_ids: &correct, response_ms: 200 });
        let warmup = Rules { points: 0, limit_ms: 10_000, correct: &correct };
        let s = score(warmup, answer, 0);
        assert_eq!(s, Scored { correct: true, base: 0, bonus: 0, streak: 1 });
        let s = score(warmup, answer, 3);
        assert_eq!((s.points(), s.streak), (0, 4), "no bonus on a 0-point question");
        // The next real question gets the streak's bonus.
        let real = Rules { points: 1000, limit_ms: 10_000, correct: &correct };
        let s = score(real, answer, 4);
        assert_eq!((s.base, s.bonus, s.streak), (1000, 400, 5));
    }

    #[test]
    fn response_times_prefer_the_gateway_but_never_exceed_the_server() {
        let server = Duration::from_millis(1_800);
        assert_eq!(response_time(server, None), server);
        assert_eq!(response_time(server, Some(Duration::from_millis(1_200))), Duration::from_millis(1_200));
        assert_eq!(response_time(server, Some(Duration::from_secs(9))), server);
        assert!(within_window(20_000, 20_000));
        assert!(!within_window(20_001, 20_000));
    }

    #[test]
    fn competition_ranking_with_tie_order() {
        let u = |n: u128| Uuid::from_u128(n);
        let mut items = vec![
            (u(5), 900, 4_000),
            (u(2), 1200, 9_000),
            (u(4), 900, 3_000),
            (u(3), 900, 3_000),
            (u(1), 100, 1_000),
            (u(6), 1200, 9_000),
        ];
        let ranks = rank(&mut items, |&(user, score, rt)| RankKey { score, total_response_ms: rt, user });
        let order: Vec<u128> = items.iter().map(|(user, _, _)| user.as_u128()).collect();
        assert_eq!(order, vec![2, 6, 3, 4, 5, 1]);
        assert_eq!(ranks, vec![1, 1, 3, 3, 3, 6]);
        let mut one = vec![(u(1), 0, 0)];
        assert_eq!(rank(&mut one, |&(user, score, rt)| RankKey { score, total_response_ms: rt, user }), vec![1]);
        let mut none: Vec<(Uuid, u64, u64)> = Vec::new();
        assert!(rank(&mut none, |&(user, score, rt)| RankKey { score, total_response_ms: rt, user }).is_empty());
    }
}
