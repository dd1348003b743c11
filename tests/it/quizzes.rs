//! Kahoot-style quizzes over the real WebSocket: a host reveals questions,
//! members answer once per question inside the window, and each close
//! scores the answers with the streak rules (checked against the formula
//! applied to the response times the service reported), publishes the
//! correct answers, the live leaderboard and each participant's personal
//! result; the final standings persist. Also: revealed questions carry no
//! answers, refusals (non-member, second answer, late answer, closed
//! window, open question, another running quiz, index mismatch), the
//! durable timer closing a window, and bad drafts refused with their
//! reasons with nothing stored (UpdateQuiz and DeleteQuiz are gRPC only).
//!
//! To keep tests fast, windows are mostly 60 s and "elapse" by moving the
//! question's window end into the past in Postgres (as if the minute had
//! passed); the next reveal then closes the question. One test waits for
//! the real timer (5 s window + 2 s grace).

use std::time::{Duration, Instant};

use hearth_proto::hearth::polls::v1 as pb;
use hearth_tests::{TestApp, Ws};
use serde_json::{Value, json};

use crate::{
    chat::{member, num, room_with_host},
    polls::{is_interaction, reason},
    rooms::error,
};

fn scored_for(frame: &Value, question: &str) -> bool {
    frame["userEvent"]["quizAnswerScored"]["questionId"] == question
}

/// A u32 JSON field (omitted when 0).
fn small(value: &Value) -> u64 {
    value.as_u64().unwrap_or(0)
}

/// A proto3-JSON duration ("1.234s") in whole milliseconds.
fn millis(value: &Value) -> u64 {
    let text = value.as_str().unwrap_or_else(|| panic!("a duration, got {value}"));
    let seconds: f64 = text.trim_end_matches('s').parse().expect("duration seconds");
    (seconds * 1000.0).round() as u64
}

/// The contract's base score: `points` under 0.5 s, else
/// round((1 − (rt / limit) / 2) × points), rounded half up — computed here
/// as the exact fraction points × (2·limit − rt) / (2·limit), which a
/// double divides exactly enough that `.5` stays `.5`.
fn base(points: u64, rt_ms: u64, limit_ms: u64) -> u64 {
    if rt_ms < 500 {
        return points;
    }
    ((points * (2 * limit_ms - rt_ms)) as f64 / (2 * limit_ms) as f64).round() as u64
}

fn single(text: &str, options: &[&str], correct: u32) -> Value {
    json!({"text": text, "kind": "QUESTION_KIND_SINGLE_CHOICE", "options": options, "correctOptionIndexes": [correct]})
}

async fn create_quiz(ws: &mut Ws, room: &str, title: &str, questions: Value) -> Value {
    ws.call(json!({"createQuiz": {"roomId": room, "title": title, "questions": questions}})).await
}

/// Creates a quiz that must be created; returns (quiz id, question ids).
async fn draft(ws: &mut Ws, room: &str, title: &str, questions: Value) -> (String, Vec<String>) {
    let reply = create_quiz(ws, room, title, questions).await;
    let quiz = &reply["createQuiz"]["quiz"];
    let id = quiz["quizId"].as_str().unwrap_or_else(|| panic!("quiz not created: {reply}")).to_owned();
    let questions = quiz["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .map(|q| q["questionId"].as_str().expect("question id").to_owned())
        .collect();
    (id, questions)
}

async fn reveal(ws: &mut Ws, quiz: &str, expected: Option<u32>) -> Value {
    match expected {
        Some(index) => ws.call(json!({"revealNextQuestion": {"quizId": quiz, "expectedIndex": index}})).await,
        None => ws.call(json!({"revealNextQuestion": {"quizId": quiz}})).await,
    }
}

async fn answer(ws: &mut Ws, quiz: &str, question: &str, options: &[&str]) -> Value {
    ws.call(json!({"submitQuizAnswer": {"quizId": quiz, "questionId": question, "optionIds": options}})).await
}

/// Answers; returns the response time the service will score, in ms.
async fn answered(ws: &mut Ws, quiz: &str, question: &str, options: &[&str]) -> u64 {
    let reply = answer(ws, quiz, question, options).await;
    let response = &reply["submitQuizAnswer"];
    assert!(response.is_object(), "answer refused: {reply}");
    assert_eq!(response.as_object().map(|o| o.len()), Some(1), "correctness is not disclosed: {reply}");
    millis(&response["responseTime"])
}

/// Moves a question's window end into the past, as if it had elapsed.
async fn elapse(app: &TestApp, question: &str) {
    let pool = sqlx::PgPool::connect(app.config.database.url.expose()).await.expect("db");
    sqlx::query("UPDATE polls.quiz_questions SET closes_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(question)
        .execute(&pool)
        .await
        .expect("elapse the window");
}

async fn wait_interaction(ws: &mut Ws, kind: &str) -> Value {
    let frame = ws.event_where(Duration::from_secs(10), |f| is_interaction(f, kind)).await;
    frame["interactionEvent"][kind].clone()
}

async fn wait_scored(ws: &mut Ws, question: &str) -> Value {
    let frame = ws.event_where(Duration::from_secs(10), |f| scored_for(f, question)).await;
    frame["userEvent"]["quizAnswerScored"].clone()
}

#[tokio::test]
async fn a_quiz_is_revealed_answered_scored_and_ranked() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (ann_id, mut ann) = member(&app, &app.ws_url, &room).await;
    let (bob_id, mut bob) = member(&app, &app.ws_url, &room).await;
    let (_, mut cat) = member(&app, &app.ws_url, &room).await;
    let (_, mut guest) = app.user_ws(&app.ws_url, &[]).await;
    let entered = guest.call(json!({"enterRoom": {"roomId": room}})).await;
    assert!(entered.get("enterRoom").is_some(), "{entered}");

    let questions = json!([
        {"text": "Who directed Alien?", "kind": "QUESTION_KIND_SINGLE_CHOICE", "options": ["Cameron", "Scott", "Fincher"],
         "correctOptionIndexes": [1], "timeLimit": "60s"},
        {"text": "Which are Pixar films?", "kind": "QUESTION_KIND_MULTIPLE_CHOICE", "options": ["Up", "Shrek", "Coco", "Antz"],
         "correctOptionIndexes": [0, 2], "timeLimit": "60s", "points": 2000},
        {"text": "Jaws came out in 1975.", "kind": "QUESTION_KIND_TRUE_FALSE", "correctOptionIndexes": [0],
         "timeLimit": "30s", "points": 500},
    ]);
    let created = create_quiz(&mut host, &room, " Film night trivia ", questions).await;
    let quiz = &created["createQuiz"]["quiz"];
    assert_eq!(quiz["state"], "QUIZ_STATE_DRAFT", "{created}");
    assert_eq!(quiz["title"], "Film night trivia");
    assert_eq!(quiz["questionCount"], 3);
    assert_eq!(quiz["questions"][0]["correctOptionIds"], json!(["o2"]), "managers see the answers");
    assert_eq!(quiz["questions"][1]["correctOptionIds"], json!(["o1", "o3"]));
    assert_eq!(
        quiz["questions"][2]["options"],
        json!([{"optionId": "o1", "text": "True"}, {"optionId": "o2", "text": "False"}])
    );
    assert_eq!(quiz["questions"][0]["points"], 1000, "default points");
    let quiz_id = quiz["quizId"].as_str().expect("quiz id").to_owned();
    let q: Vec<String> = quiz["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .map(|q| q["questionId"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(reason(&ann.call(json!({"getQuiz": {"quizId": quiz_id}})).await), "quiz_not_found", "drafts are hidden");

    // Question 1: the event carries no correct answers; the host's reply does.
    let revealed = reveal(&mut host, &quiz_id, Some(0)).await;
    assert_eq!(revealed["revealNextQuestion"]["question"]["correctOptionIds"], json!(["o2"]), "{revealed}");
    assert_eq!(revealed["revealNextQuestion"]["quiz"]["state"], "QUIZ_STATE_RUNNING");
    for ws in [&mut ann, &mut bob, &mut guest] {
        let event = wait_interaction(ws, "quizQuestionRevealed").await;
        assert_eq!(event["quizId"], quiz_id.as_str());
        assert_eq!(event["quizTitle"], "Film night trivia");
        assert_eq!(event["questionCount"], 3);
        assert_eq!(event["question"]["questionId"], q[0].as_str());
        assert_eq!(event["question"]["window"], "QUESTION_WINDOW_OPEN");
        assert!(event["question"].get("correctOptionIds").is_none(), "no answers before the close: {event}");
        assert_eq!(event["question"]["options"].as_array().map(Vec::len), Some(3));
    }
    // Ann answers right away and correctly; refusals; Bob answers wrongly.
    let ann_rt1 = answered(&mut ann, &quiz_id, &q[0], &["o2"]).await;
    assert_eq!(reason(&answer(&mut ann, &quiz_id, &q[0], &["o1"]).await), "already_answered");
    assert_eq!(reason(&answer(&mut guest, &quiz_id, &q[0], &["o2"]).await), "not_member");
    assert_eq!(reason(&answer(&mut bob, &quiz_id, &q[0], &["o9"]).await), "unknown_option");
    assert_eq!(reason(&answer(&mut bob, &quiz_id, &q[0], &["o1", "o2"]).await), "too_many_choices");
    assert_eq!(reason(&answer(&mut bob, &quiz_id, &q[0], &[]).await), "no_choice");
    assert_eq!(reason(&answer(&mut bob, &quiz_id, &q[1], &["o1"]).await), "question_not_open");
    let bob_rt1 = answered(&mut bob, &quiz_id, &q[0], &["o1"]).await;
    assert!(ann_rt1 < 60_000 && bob_rt1 < 60_000);
    // Members see the open question without its answer.
    let seen = bob.call(json!({"getQuiz": {"quizId": quiz_id}})).await;
    let seen = &seen["getQuiz"]["quiz"];
    assert_eq!(seen["questions"].as_array().map(Vec::len), Some(1), "only revealed questions: {seen}");
    assert!(seen["questions"][0].get("correctOptionIds").is_none());
    assert_eq!(seen["questionCount"], 3);
    assert!(seen.get("myStanding").is_none(), "nothing scored yet");
    assert_eq!(reason(&reveal(&mut host, &quiz_id, None).await), "question_open");

    // The window elapses; revealing question 2 closes question 1 first.
    elapse(&app, &q[0]).await;
    let second = reveal(&mut host, &quiz_id, Some(1)).await;
    assert_eq!(second["revealNextQuestion"]["question"]["questionId"], q[1].as_str(), "{second}");
    let closed = wait_interaction(&mut ann, "quizQuestionClosed").await;
    assert_eq!(closed["question"]["questionId"], q[0].as_str());
    assert_eq!(closed["question"]["correctOptionIds"], json!(["o2"]));
    assert_eq!(closed["question"]["window"], "QUESTION_WINDOW_CLOSED");
    assert_eq!((num(&closed["answeredCount"]), num(&closed["correctCount"])), (2, 1));
    let counts: Vec<(String, u64)> = closed["answerCounts"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|c| (c["optionId"].as_str().unwrap_or_default().to_owned(), num(&c["votes"])))
        .collect();
    assert_eq!(counts, vec![("o1".into(), 1), ("o2".into(), 1), ("o3".into(), 0)]);
    let ann1 = base(1000, ann_rt1, 60_000);
    let mine = wait_scored(&mut ann, &q[0]).await;
    assert_eq!(mine["correct"], true);
    assert_eq!(mine["answered"], true);
    assert_eq!(millis(&mine["responseTime"]), ann_rt1);
    assert_eq!((small(&mine["pointsAwarded"]), small(&mine["streakBonus"]), small(&mine["streak"])), (ann1, 0, 1));
    assert_eq!((num(&mine["totalScore"]), small(&mine["rank"]), num(&mine["participantCount"])), (ann1, 1, 2));
    let theirs = wait_scored(&mut bob, &q[0]).await;
    assert!(theirs.get("correct").is_none(), "wrong: {theirs}");
    assert_eq!(theirs["answered"], true);
    assert_eq!((small(&theirs["pointsAwarded"]), small(&theirs["streak"]), small(&theirs["rank"])), (0, 0, 2));
    let board = wait_interaction(&mut bob, "quizLeaderboardUpdated").await;
    assert_eq!(board["top"][0]["user"]["userId"], ann_id.as_str());
    assert_eq!((num(&board["top"][0]["score"]), small(&board["top"][0]["rank"])), (ann1, 1));
    assert_eq!(board["top"][1]["user"]["userId"], bob_id.as_str());
    assert_eq!((num(&board["top"][1]["score"]), small(&board["top"][1]["rank"])), (0, 2));
    assert_eq!(num(&board["participantCount"]), 2);
    // Too late for question 1.
    assert_eq!(reason(&answer(&mut cat, &quiz_id, &q[0], &["o2"]).await), "window_closed");

    // Question 2 (multiple choice, 2000 points): Ann waits a little (so the
    // formula applies) and picks exactly the correct set: streak 2, +100.
    // Bob picks a subset: wrong.
    wait_interaction(&mut ann, "quizQuestionRevealed").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let ann_rt2 = answered(&mut ann, &quiz_id, &q[1], &["o3", "o1"]).await;
    assert!(ann_rt2 >= 600, "timed from the reveal: {ann_rt2} ms");
    answered(&mut bob, &quiz_id, &q[1], &["o1"]).await;
    elapse(&app, &q[1]).await;
    let third = reveal(&mut host, &quiz_id, None).await;
    assert_eq!(third["revealNextQuestion"]["question"]["questionId"], q[2].as_str(), "{third}");
    let ann2 = base(2000, ann_rt2, 60_000) + 100;
    let mine = wait_scored(&mut ann, &q[1]).await;
    assert_eq!((small(&mine["pointsAwarded"]), small(&mine["streakBonus"]), small(&mine["streak"])), (ann2, 100, 2));
    assert_eq!(num(&mine["totalScore"]), ann1 + ann2);
    let theirs = wait_scored(&mut bob, &q[1]).await;
    assert_eq!((small(&theirs["pointsAwarded"]), small(&theirs["streak"])), (0, 0), "a subset is wrong");

    // Question 3 (true/false, 500 points, 30 s): both right; Ann's streak
    // is 3 (+200), Bob's 1 (+0). EndQuiz closes it at once and finishes.
    let ann_rt3 = answered(&mut ann, &quiz_id, &q[2], &["o1"]).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let bob_rt3 = answered(&mut bob, &quiz_id, &q[2], &["o1"]).await;
    let ended = host.call(json!({"endQuiz": {"quizId": quiz_id}})).await;
    assert_eq!(ended["endQuiz"]["quiz"]["state"], "QUIZ_STATE_FINISHED", "{ended}");
    assert!(ended["endQuiz"]["quiz"]["endTime"].is_string());
    let ann3 = base(500, ann_rt3, 30_000) + 200;
    let bob3 = base(500, bob_rt3, 30_000);
    let ann_total = ann1 + ann2 + ann3;
    let mine = wait_scored(&mut ann, &q[2]).await;
    assert_eq!((small(&mine["pointsAwarded"]), small(&mine["streakBonus"]), small(&mine["streak"])), (ann3, 200, 3));
    assert_eq!(num(&mine["totalScore"]), ann_total);
    let theirs = wait_scored(&mut bob, &q[2]).await;
    assert_eq!(
        (small(&theirs["pointsAwarded"]), small(&theirs["streakBonus"]), small(&theirs["streak"])),
        (bob3, 0, 1)
    );
    assert_eq!(num(&theirs["totalScore"]), bob3);
    let final_event = wait_interaction(&mut bob, "quizEnded").await;
    assert_eq!(final_event["quiz"]["state"], "QUIZ_STATE_FINISHED");
    assert_eq!(num(&final_event["participantCount"]), 2);
    assert_eq!(final_event["top"][0]["user"]["userId"], ann_id.as_str());
    assert_eq!(num(&final_event["top"][0]["score"]), ann_total);
    assert_eq!(num(&final_event["top"][1]["score"]), bob3);
    assert!(final_event["quiz"].get("myStanding").is_none(), "broadcasts carry no per-caller fields");

    // The persisted final standings.
    let board = bob.call(json!({"getLeaderboard": {"roomId": room, "quizId": quiz_id}})).await;
    let board = &board["getLeaderboard"];
    assert_eq!(board["finalized"], true, "{board}");
    assert_eq!(num(&board["participantCount"]), 2);
    let first = &board["entries"][0];
    assert_eq!(first["user"]["userId"], ann_id.as_str());
    assert_eq!((small(&first["rank"]), num(&first["score"])), (1, ann_total));
    assert_eq!((small(&first["correctAnswers"]), small(&first["streak"])), (3, 3));
    assert_eq!(millis(&first["totalResponseTime"]), ann_rt1 + ann_rt2 + ann_rt3);
    assert_eq!(board["myEntry"]["user"]["userId"], bob_id.as_str());
    assert_eq!((small(&board["myEntry"]["rank"]), num(&board["myEntry"]["score"])), (2, bob3));
    assert_eq!(small(&board["myEntry"]["correctAnswers"]), 1);
    assert_eq!(millis(&board["myEntry"]["totalResponseTime"]), bob_rt3, "only correct answers count");
    // The room's board sums its quizzes (one so far); top_n bounds it.
    let room_board = ann.call(json!({"getLeaderboard": {"roomId": room, "topN": 1}})).await;
    let room_board = &room_board["getLeaderboard"];
    assert_eq!(room_board["entries"].as_array().map(Vec::len), Some(1), "{room_board}");
    assert_eq!(num(&room_board["entries"][0]["score"]), ann_total);
    assert_eq!(num(&room_board["participantCount"]), 2);
    assert_eq!(room_board["finalized"], true, "no quiz runs in the room");
    assert_eq!(small(&room_board["myEntry"]["rank"]), 1);
    let refused = ann.call(json!({"getLeaderboard": {"roomId": room, "topN": 101}})).await;
    assert_eq!(reason(&refused), "invalid_top_n");
    // Cat never answered: no entry.
    let cat_board = cat.call(json!({"getLeaderboard": {"roomId": room, "quizId": quiz_id}})).await;
    assert!(cat_board["getLeaderboard"].get("myEntry").is_none(), "{cat_board}");

    // Reads after the end: every question with its answer, and one's standing.
    let seen = bob.call(json!({"getQuiz": {"quizId": quiz_id}})).await;
    let seen = &seen["getQuiz"]["quiz"];
    assert_eq!(seen["questions"].as_array().map(Vec::len), Some(3));
    assert_eq!(seen["questions"][1]["correctOptionIds"], json!(["o1", "o3"]));
    assert_eq!((small(&seen["myStanding"]["rank"]), num(&seen["myStanding"]["score"])), (2, bob3));
    let listed = bob.call(json!({"listQuizzes": {"roomId": room}})).await;
    assert_eq!(listed["listQuizzes"]["quizzes"][0]["quizId"], quiz_id.as_str(), "{listed}");
    assert_eq!(reason(&reveal(&mut host, &quiz_id, None).await), "quiz_finished");
    let again = host.call(json!({"endQuiz": {"quizId": quiz_id}})).await;
    assert_eq!(again["endQuiz"]["quiz"]["state"], "QUIZ_STATE_FINISHED", "idempotent: {again}");
}

#[tokio::test]
async fn reveals_are_idempotent_one_quiz_runs_per_room_and_the_timer_closes_windows() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut ann) = member(&app, &app.ws_url, &room).await;
    let (_, mut cat) = member(&app, &app.ws_url, &room).await;
    let five = |text: &str| json!({"text": text, "kind": "QUESTION_KIND_SINGLE_CHOICE", "options": ["A", "B"], "correctOptionIndexes": [0], "timeLimit": "5s"});
    let (quiz, q) = draft(&mut host, &room, "Quick", json!([five("One?"), five("Two?")])).await;
    let (other, _) = draft(&mut host, &room, "Other", json!([five("Three?")])).await;

    assert_eq!(reason(&reveal(&mut host, &quiz, Some(1)).await), "index_mismatch");
    let started = Instant::now();
    let first = reveal(&mut host, &quiz, Some(0)).await;
    assert_eq!(first["revealNextQuestion"]["question"]["questionId"], q[0].as_str(), "{first}");
    let retry = reveal(&mut host, &quiz, Some(0)).await;
    assert_eq!(
        retry["revealNextQuestion"]["question"]["questionId"],
        q[0].as_str(),
        "a retry returns the same: {retry}"
    );
    assert_eq!(
        retry["revealNextQuestion"]["question"]["revealTime"],
        first["revealNextQuestion"]["question"]["revealTime"]
    );
    assert_eq!(reason(&reveal(&mut host, &quiz, Some(1)).await), "question_open");
    assert_eq!(reason(&reveal(&mut host, &quiz, Some(3)).await), "index_mismatch");
    let busy = reveal(&mut host, &other, None).await;
    assert_eq!((error(&busy).0.as_str(), reason(&busy).as_str()), ("rate_limited", "quiz_running"));
    answered(&mut ann, &quiz, &q[0], &["o1"]).await;
    // Only one revealed event despite the retry.
    wait_interaction(&mut ann, "quizQuestionRevealed").await;

    // Past the 5 s limit an answer is refused even before the timer closes
    // the question (at reveal + 5 s + 2 s grace).
    tokio::time::sleep(Duration::from_millis(5800).saturating_sub(started.elapsed())).await;
    assert_eq!(reason(&answer(&mut cat, &quiz, &q[0], &["o1"]).await), "window_closed");
    let closed = wait_interaction(&mut ann, "quizQuestionClosed").await;
    assert!(started.elapsed() >= Duration::from_secs(6), "closed by the timer after the grace");
    assert_eq!(closed["question"]["questionId"], q[0].as_str());
    assert_eq!((num(&closed["answeredCount"]), num(&closed["correctCount"])), (1, 1));
    let mine = wait_scored(&mut ann, &q[0]).await;
    assert_eq!(mine["correct"], true, "{mine}");
    assert!(ann.drain(Duration::from_millis(300)).await.iter().all(|f| !is_interaction(f, "quizQuestionRevealed")));

    // Still running (one question left): the other quiz waits. EndQuiz with
    // no open question finishes at once; then the other quiz may run.
    let busy = reveal(&mut host, &other, None).await;
    assert_eq!(reason(&busy), "quiz_running");
    let ended = host.call(json!({"endQuiz": {"quizId": quiz}})).await;
    assert_eq!(ended["endQuiz"]["quiz"]["state"], "QUIZ_STATE_FINISHED", "{ended}");
    assert_eq!(ended["endQuiz"]["quiz"]["currentIndex"], 0, "question 2 was never revealed");
    let final_event = wait_interaction(&mut ann, "quizEnded").await;
    assert_eq!(num(&final_event["participantCount"]), 1);
    assert_eq!(final_event["quiz"]["questions"].as_array().map(Vec::len), Some(1), "unrevealed questions stay hidden");
    let now_other = reveal(&mut host, &other, None).await;
    assert!(now_other["revealNextQuestion"]["question"].is_object(), "{now_other}");
    assert_eq!(reason(&reveal(&mut host, &quiz, None).await), "quiz_finished");
    // The room snapshot shows the running quiz as the member may see it.
    let snapshot = ann.call(json!({"getRoomInteractions": {"roomId": room}})).await;
    let running = &snapshot["getRoomInteractions"]["quiz"];
    assert_eq!(running["quizId"], other.as_str(), "{snapshot}");
    assert_eq!(running["questions"][0]["window"], "QUESTION_WINDOW_OPEN");
    assert!(running["questions"][0].get("correctOptionIds").is_none(), "no answers before the close");
}

/// A draft question with one field changed.
fn with(field: &str, value: Value) -> Value {
    let mut q = single("Which?", &["A", "B", "C"], 0);
    q[field] = value;
    q
}

fn quiz_client_request<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("ascii"));
    request
}

#[tokio::test]
async fn bad_drafts_are_refused_with_their_reasons_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let (room, host_id, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut ann) = member(&app, &app.ws_url, &room).await;
    let good = single("Which?", &["A", "B", "C"], 0);
    let tf = |options: Value, correct: Value| json!({"text": "True?", "kind": "QUESTION_KIND_TRUE_FALSE", "options": options, "correctOptionIndexes": correct});
    let cases: Vec<(&str, Value, &str)> = vec![
        ("  ", json!([good]), "title_empty"),
        ("Quiz", json!([]), "too_few_questions"),
        ("Quiz", Value::Array(vec![good.clone(); 51]), "too_many_questions"),
        ("Quiz", json!([good, with("text", json!("   "))]), "question_empty"),
        ("Quiz", json!([with("options", json!(["A"]))]), "too_few_options"),
        ("Quiz", json!([with("options", json!(["1", "2", "3", "4", "5", "6", "7"]))]), "too_many_options"),
        ("Quiz", json!([with("options", json!(["Yes", " yes", "No"]))]), "duplicate_options"),
        ("Quiz", json!([with("correctOptionIndexes", json!([]))]), "no_correct_option"),
        ("Quiz", json!([tf(json!(["True", "False", "Maybe"]), json!([0]))]), "invalid_true_false"),
        ("Quiz", json!([tf(json!(["True", "False"]), json!([0, 1]))]), "invalid_true_false"),
        ("Quiz", json!([with("timeLimit", json!("4s"))]), "invalid_time_limit"),
        ("Quiz", json!([with("timeLimit", json!("121s"))]), "invalid_time_limit"),
        ("Quiz", json!([with("points", json!(2001))]), "invalid_points"),
        ("Quiz", json!([with("imageUrl", json!("http://img.example/a.png"))]), "invalid_image_url"),
    ];
    for (title, questions, want) in cases {
        let reply = create_quiz(&mut host, &room, title, questions).await;
        assert_eq!(error(&reply).0, "invalid_argument", "{want}: {reply}");
        assert_eq!(reason(&reply), want, "{reply}");
    }
    // Negative points cannot even be decoded (points are unsigned): the
    // gateway refuses the frame.
    let negative = create_quiz(&mut host, &room, "Quiz", json!([with("points", json!(-5))])).await;
    assert_eq!(error(&negative).0, "invalid_frame", "{negative}");
    // Members who do not manage the room may not create quizzes.
    let refused = create_quiz(&mut ann, &room, "Mine", json!([single("Which?", &["A", "B"], 0)])).await;
    assert_eq!(reason(&refused), "not_manager");
    // Nothing was stored.
    let listed = host.call(json!({"listQuizzes": {"roomId": room}})).await;
    assert!(listed["listQuizzes"].get("quizzes").is_none(), "no quiz stored: {listed}");
    // A retried create (same request id) returns the first quiz; members
    // do not see drafts in lists.
    let once = json!({"createQuiz": {"roomId": room, "title": "Once", "requestId": "quiz-1",
                      "questions": [single("Which?", &["A", "B"], 0)]}});
    let first = host.call(once.clone()).await;
    let retry = host.call(once).await;
    assert_eq!(retry["createQuiz"]["quiz"]["quizId"], first["createQuiz"]["quiz"]["quizId"], "{retry}");
    let listed = host.call(json!({"listQuizzes": {"roomId": room}})).await;
    assert_eq!(listed["listQuizzes"]["quizzes"].as_array().map(Vec::len), Some(1), "{listed}");
    let listed = ann.call(json!({"listQuizzes": {"roomId": room}})).await;
    assert!(listed["listQuizzes"].get("quizzes").is_none(), "drafts are for managers: {listed}");

    // UpdateQuiz and DeleteQuiz (gRPC only) work on drafts only.
    let channel =
        tonic::transport::Channel::from_shared(app.grpc_url.clone()).expect("url").connect().await.expect("grpc");
    let mut quizzes = pb::quiz_service_client::QuizServiceClient::new(channel);
    let token = app.token(&host_id, &[]);
    let (quiz, _) = draft(&mut host, &room, "Draft", json!([single("Which?", &["A", "B"], 0)])).await;
    let draft_question = |text: &str, points: Option<u32>| pb::QuizQuestionDraft {
        text: text.into(),
        kind: pb::QuestionKind::SingleChoice as i32,
        options: vec!["X".into(), "Y".into()],
        correct_option_indexes: vec![1],
        points,
        ..Default::default()
    };
    let bad = quizzes
        .update_quiz(quiz_client_request(
            pb::UpdateQuizRequest {
                quiz_id: quiz.clone(),
                title: "Renamed".into(),
                questions: vec![draft_question("New?", Some(5000))],
            },
            &token,
        ))
        .await
        .expect_err("bad update");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert_eq!(bad.metadata().get("hearth-reason").and_then(|v| v.to_str().ok()), Some("invalid_points"));
    let updated = quizzes
        .update_quiz(quiz_client_request(
            pb::UpdateQuizRequest {
                quiz_id: quiz.clone(),
                title: "Renamed".into(),
                questions: vec![draft_question("New?", None), draft_question("Newer?", Some(0))],
            },
            &token,
        ))
        .await
        .expect("update")
        .into_inner()
        .quiz
        .expect("quiz");
    assert_eq!((updated.title.as_str(), updated.question_count), ("Renamed", 2));
    assert_eq!(updated.questions[1].points, 0, "a warm-up question");
    assert_eq!(updated.questions[0].correct_option_ids, vec!["o2".to_owned()]);
    let read = host.call(json!({"getQuiz": {"quizId": quiz}})).await;
    assert_eq!(read["getQuiz"]["quiz"]["questions"][0]["text"], "New?", "{read}");
    quizzes
        .delete_quiz(quiz_client_request(pb::DeleteQuizRequest { quiz_id: quiz.clone() }, &token))
        .await
        .expect("delete a draft");
    assert_eq!(reason(&host.call(json!({"getQuiz": {"quizId": quiz}})).await), "quiz_not_found");

    let (running, _) = draft(&mut host, &room, "Live", json!([single("Which?", &["A", "B"], 0)])).await;
    reveal(&mut host, &running, None).await;
    let locked = quizzes
        .update_quiz(quiz_client_request(
            pb::UpdateQuizRequest {
                quiz_id: running.clone(),
                title: "Too late".into(),
                questions: vec![draft_question("?", None)],
            },
            &token,
        ))
        .await
        .expect_err("not editable");
    assert_eq!(locked.code(), tonic::Code::FailedPrecondition);
    assert_eq!(locked.metadata().get("hearth-reason").and_then(|v| v.to_str().ok()), Some("quiz_not_editable"));
    let locked = quizzes
        .delete_quiz(quiz_client_request(pb::DeleteQuizRequest { quiz_id: running.clone() }, &token))
        .await
        .expect_err("not deletable");
    assert_eq!(locked.metadata().get("hearth-reason").and_then(|v| v.to_str().ok()), Some("quiz_not_editable"));
}
