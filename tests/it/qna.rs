//! Q&A over the real WebSocket: asking, upvotes by others (never one's
//! own), ordering by votes then age, pre-moderation (pending questions
//! hidden from others, approval publishes, managers told of submissions),
//! one highlighted question per room, answering, deletion, the ask rate
//! limit with its retry time, and refusals that store nothing.

use std::time::Duration;

use hearth_polls::domain::qna::{Order, Ranked};
use hearth_tests::{TestApp, Ws};
use serde_json::{Value, json};

use crate::{
    chat::{member, num, room_with_host},
    rooms::{create_room, error, watch_party},
};

/// The refusal's code, reason (first word of the message) and retry delay
/// in seconds.
fn refusal(reply: &Value) -> (String, String, Option<f64>) {
    let (code, message, _) = error(reply);
    let reason = message.split(':').next().unwrap_or_default().to_owned();
    let retry = reply["error"]["retryAfter"].as_str().and_then(|s| s.trim_end_matches('s').parse().ok());
    (code, reason, retry)
}

fn reason(reply: &Value) -> (String, String) {
    let (code, reason, _) = refusal(reply);
    (code, reason)
}

fn refused(code: &str, reason: &str) -> (String, String) {
    (code.to_owned(), reason.to_owned())
}

async fn ask(ws: &mut Ws, room: &str, text: &str) -> Value {
    ws.call(json!({"askQuestion": {"roomId": room, "text": text}})).await
}

/// Asks a question that must be accepted; returns it.
async fn asked(ws: &mut Ws, room: &str, text: &str) -> Value {
    let reply = ask(ws, room, text).await;
    reply["askQuestion"]["question"]
        .as_object()
        .map(|_| reply["askQuestion"]["question"].clone())
        .unwrap_or_else(|| panic!("ask refused: {reply}"))
}

fn id(question: &Value) -> String {
    question["questionId"].as_str().expect("a question id").to_owned()
}

async fn upvote(ws: &mut Ws, question: &str, up: bool) -> Value {
    ws.call(json!({"upvoteQuestion": {"questionId": question, "upvote": up}})).await
}

async fn moderate(ws: &mut Ws, question: &str, action: &str, note: &str) -> Value {
    ws.call(json!({"moderateQuestion": {"questionId": question, "action": action, "answerNote": note}})).await
}

async fn settings(ws: &mut Ws, room: &str, enabled: bool, pre_moderation: bool) -> Value {
    ws.call(json!({"updateQnaSettings": {"roomId": room, "settings": {"enabled": enabled, "preModeration": pre_moderation}}}))
        .await
}

/// ListQuestions with extra request fields; returns the reply.
async fn list_reply(ws: &mut Ws, room: &str, extra: Value) -> Value {
    let mut request = json!({"roomId": room});
    if let (Some(request), Some(extra)) = (request.as_object_mut(), extra.as_object()) {
        request.extend(extra.clone());
    }
    ws.call(json!({"listQuestions": request})).await
}

async fn list(ws: &mut Ws, room: &str, extra: Value) -> Vec<Value> {
    let reply = list_reply(ws, room, extra).await;
    match reply["listQuestions"].get("questions") {
        Some(questions) => questions.as_array().expect("questions").clone(),
        None if reply.get("listQuestions").is_some() => Vec::new(),
        None => panic!("list refused: {reply}"),
    }
}

fn ids(questions: &[Value]) -> Vec<String> {
    questions.iter().map(id).collect()
}

fn flag(value: &Value) -> bool {
    value.as_bool().unwrap_or(false)
}

fn is_interaction(frame: &Value, kind: &str) -> bool {
    frame["interactionEvent"].get(kind).is_some()
}

/// The next interaction event of `kind` about `question`.
async fn question_event(ws: &mut Ws, kind: &'static str, question: &str) -> Value {
    let question = question.to_owned();
    let frame = ws
        .event_where(Duration::from_secs(10), move |f| {
            let event = &f["interactionEvent"][kind];
            event["question"]["questionId"].as_str() == Some(question.as_str())
                || event["questionId"].as_str() == Some(question.as_str())
        })
        .await;
    frame["interactionEvent"][kind].clone()
}

fn ranked(question: &Value) -> Ranked {
    let at = question["createTime"].as_str().expect("a create time");
    let created_at = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).expect("RFC 3339");
    Ranked { id: uuid::Uuid::parse_str(&id(question)).expect("uuid"), upvotes: num(&question["upvotes"]), created_at }
}

async fn questions_in_db(app: &TestApp, room: &str) -> i64 {
    let pool = sqlx::PgPool::connect(app.config.database.url.expose()).await.expect("db");
    let room = uuid::Uuid::parse_str(room).expect("room uuid");
    let count = sqlx::query_scalar("SELECT count(*) FROM polls.questions WHERE room_id = $1")
        .bind(room)
        .fetch_one(&pool)
        .await
        .expect("count questions");
    pool.close().await;
    count
}

#[tokio::test]
async fn questions_are_upvoted_by_others_and_ordered_by_votes_then_age() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (a_id, mut a) = member(&app, &app.ws_url, &room).await;
    let (_, mut b) = member(&app, &app.ws_url, &room).await;
    let (_, mut c) = member(&app, &app.ws_url, &room).await;

    let first = asked(&mut a, &room, "  Who composed the score?  ").await;
    assert_eq!(first["text"], "Who composed the score?", "trimmed");
    assert_eq!(first["state"], "QUESTION_STATE_PUBLISHED");
    assert_eq!(first["author"]["userId"], a_id.as_str());
    assert_eq!(num(&first["upvotes"]), 0);
    let q1 = id(&first);
    let q2 = id(&asked(&mut a, &room, "Is there a sequel?").await);
    let q3 = id(&asked(&mut b, &room, "Where was it filmed?").await);
    let q4 = id(&asked(&mut c, &room, "How long is the director's cut?").await);
    // Everyone in the room sees questions appear.
    let published = question_event(&mut c, "questionPublished", &q1).await;
    assert_eq!(published["question"]["text"], "Who composed the score?");
    assert!(published["question"].get("upvotedByMe").is_none(), "broadcasts carry no per-caller fields");

    // Nobody upvotes their own question.
    assert_eq!(reason(&upvote(&mut a, &q1, true).await), refused("failed_precondition", "own_question"));

    // q3: 3 votes; q1 and q2: 2 each (q1 older); q4: none in the end.
    let votes: [(&str, &str); 7] =
        [("a", &q3), ("c", &q3), ("host", &q3), ("b", &q1), ("c", &q1), ("b", &q2), ("c", &q2)];
    for (who, question) in votes {
        let ws = match who {
            "a" => &mut a,
            "b" => &mut b,
            "c" => &mut c,
            _ => &mut host,
        };
        let reply = upvote(ws, question, true).await;
        assert_eq!(reply["upvoteQuestion"]["question"]["upvotedByMe"], true, "{reply}");
    }
    // Upvoting twice counts once; removing twice removes once.
    let again = upvote(&mut b, &q1, true).await;
    assert_eq!(num(&again["upvoteQuestion"]["question"]["upvotes"]), 2, "{again}");
    assert_eq!(num(&upvote(&mut host, &q4, true).await["upvoteQuestion"]["question"]["upvotes"]), 1);
    let removed = upvote(&mut host, &q4, false).await;
    assert_eq!(num(&removed["upvoteQuestion"]["question"]["upvotes"]), 0, "{removed}");
    assert!(!flag(&removed["upvoteQuestion"]["question"]["upvotedByMe"]));
    assert_eq!(num(&upvote(&mut host, &q4, false).await["upvoteQuestion"]["question"]["upvotes"]), 0);

    // TOP: most votes first, then oldest.
    let top = list(&mut b, &room, json!({})).await;
    assert_eq!(ids(&top), vec![q3.clone(), q1.clone(), q2.clone(), q4.clone()]);
    assert_eq!(top.iter().map(|q| num(&q["upvotes"])).collect::<Vec<_>>(), vec![3, 2, 2, 0]);
    assert_eq!(top.iter().map(|q| flag(&q["upvotedByMe"])).collect::<Vec<_>>(), vec![false, true, true, false]);
    // The list is in the order the service's comparator defines.
    let ranks: Vec<Ranked> = top.iter().map(ranked).collect();
    assert!(ranks.windows(2).all(|w| Order::Top.compare(&w[0], &w[1]).is_lt()), "{ranks:?}");
    assert!(ranks[1].created_at < ranks[2].created_at, "equal votes: the older first");
    // NEWEST ignores votes.
    let newest = list(&mut b, &room, json!({"order": "QUESTION_ORDER_NEWEST"})).await;
    assert_eq!(ids(&newest), vec![q4.clone(), q3.clone(), q2.clone(), q1.clone()]);
    let ranks: Vec<Ranked> = newest.iter().map(ranked).collect();
    assert!(ranks.windows(2).all(|w| Order::Newest.compare(&w[0], &w[1]).is_lt()));

    // Offset pages continue where the last stopped.
    let page = list_reply(&mut c, &room, json!({"page": {"pageSize": 3}})).await;
    let first_page = ids(page["listQuestions"]["questions"].as_array().expect("questions"));
    assert_eq!(first_page, vec![q3.clone(), q1.clone(), q2.clone()]);
    let token = page["listQuestions"]["page"]["nextPageToken"].as_str().expect("a next page").to_owned();
    let rest = list(&mut c, &room, json!({"page": {"pageSize": 3, "pageToken": token}})).await;
    assert_eq!(ids(&rest), vec![q4.clone()]);
    let bad = list_reply(&mut c, &room, json!({"order": "QUESTION_ORDER_NEWEST", "page": {"pageToken": token}})).await;
    assert_eq!(error(&bad).0, "invalid_argument", "a token belongs to its query");

    // Upvote counts go out live, coalesced, the latest value last.
    let q3_live = q3.clone();
    let live = a
        .event_where(Duration::from_secs(10), move |f| {
            let votes = &f["interactionEvent"]["questionVotesUpdated"];
            votes["questionId"].as_str() == Some(q3_live.as_str()) && num(&votes["upvotes"]) == 3
        })
        .await;
    assert_eq!(live["interactionEvent"]["roomId"], room.as_str());
}

#[tokio::test]
async fn pre_moderated_questions_wait_for_approval_out_of_sight() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut author) = member(&app, &app.ws_url, &room).await;
    let (_, mut other) = member(&app, &app.ws_url, &room).await;

    assert_eq!(reason(&settings(&mut other, &room, true, true).await), refused("permission_denied", "not_manager"));
    let on = settings(&mut host, &room, true, true).await;
    assert_eq!(on["updateQnaSettings"]["settings"]["preModeration"], true, "{on}");
    let changed = other.event_where(Duration::from_secs(10), |f| is_interaction(f, "qnaSettingsChanged")).await;
    assert_eq!(changed["interactionEvent"]["qnaSettingsChanged"]["settings"]["preModeration"], true);

    let pending = asked(&mut author, &room, "Can we see the blooper reel?").await;
    assert_eq!(pending["state"], "QUESTION_STATE_PENDING");
    let q = id(&pending);
    // Managers are told; other members are not.
    let submitted = question_event(&mut host, "questionSubmitted", &q).await;
    assert_eq!(submitted["question"]["state"], "QUESTION_STATE_PENDING");
    let seen = other.drain(Duration::from_millis(500)).await;
    assert!(
        !seen.iter().any(|f| is_interaction(f, "questionSubmitted") || is_interaction(f, "questionPublished")),
        "a pending question reaches no one else: {seen:?}"
    );

    // Invisible to others, visible to its author and managers.
    let pending_filter = json!({"states": ["QUESTION_STATE_PENDING"]});
    assert!(list(&mut other, &room, json!({})).await.is_empty());
    assert!(list(&mut other, &room, pending_filter.clone()).await.is_empty());
    assert_eq!(ids(&list(&mut author, &room, pending_filter.clone()).await), vec![q.clone()]);
    assert_eq!(ids(&list(&mut host, &room, pending_filter.clone()).await), vec![q.clone()]);
    assert_eq!(reason(&upvote(&mut other, &q, true).await), refused("not_found", "question_not_found"));
    assert_eq!(reason(&upvote(&mut host, &q, true).await), refused("failed_precondition", "question_not_published"));
    assert_eq!(
        reason(&moderate(&mut other, &q, "MODERATION_ACTION_APPROVE", "").await),
        refused("permission_denied", "not_manager")
    );

    // Approval publishes it to everyone.
    let approved = moderate(&mut host, &q, "MODERATION_ACTION_APPROVE", "").await;
    assert_eq!(approved["moderateQuestion"]["question"]["state"], "QUESTION_STATE_PUBLISHED", "{approved}");
    let published = question_event(&mut other, "questionPublished", &q).await;
    assert_eq!(published["question"]["text"], "Can we see the blooper reel?");
    assert_eq!(ids(&list(&mut other, &room, json!({})).await), vec![q.clone()]);
    assert_eq!(num(&upvote(&mut other, &q, true).await["upvoteQuestion"]["question"]["upvotes"]), 1);
    assert_eq!(
        reason(&moderate(&mut host, &q, "MODERATION_ACTION_APPROVE", "").await),
        refused("failed_precondition", "invalid_transition")
    );

    // A rejected question is removed for everyone but its author.
    let second = id(&asked(&mut author, &room, "Spoilers please?").await);
    let rejected = moderate(&mut host, &second, "MODERATION_ACTION_REJECT", "").await;
    assert_eq!(rejected["moderateQuestion"]["question"]["state"], "QUESTION_STATE_REJECTED", "{rejected}");
    question_event(&mut other, "questionRemoved", &second).await;
    let hidden = json!({"states": ["QUESTION_STATE_PENDING", "QUESTION_STATE_REJECTED"]});
    assert_eq!(ids(&list(&mut author, &room, hidden.clone()).await), vec![second.clone()]);
    assert!(list(&mut other, &room, hidden).await.is_empty());

    // A manager's own question needs no approval.
    let own = asked(&mut host, &room, "Who wants a rewatch?").await;
    assert_eq!(own["state"], "QUESTION_STATE_PUBLISHED");

    // Without pre-moderation questions are published at once.
    settings(&mut host, &room, true, false).await;
    let direct = asked(&mut other, &room, "Popcorn break?").await;
    assert_eq!(direct["state"], "QUESTION_STATE_PUBLISHED");
}

#[tokio::test]
async fn one_question_is_highlighted_and_answering_clears_it() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut a) = member(&app, &app.ws_url, &room).await;
    let (_, mut b) = member(&app, &app.ws_url, &room).await;
    let q1 = id(&asked(&mut a, &room, "What lens was used?").await);
    let q2 = id(&asked(&mut b, &room, "Was the ending improvised?").await);

    let first = moderate(&mut host, &q1, "MODERATION_ACTION_HIGHLIGHT", "").await;
    assert_eq!(first["moderateQuestion"]["question"]["highlighted"], true, "{first}");
    let updated = question_event(&mut b, "questionUpdated", &q1).await;
    assert_eq!(updated["question"]["highlighted"], true);

    // Highlighting another clears the first, in one step.
    let second = moderate(&mut host, &q2, "MODERATION_ACTION_HIGHLIGHT", "").await;
    assert_eq!(second["moderateQuestion"]["question"]["highlighted"], true, "{second}");
    let cleared = question_event(&mut b, "questionUpdated", &q1).await;
    assert!(!flag(&cleared["question"]["highlighted"]), "{cleared}");
    let now = list(&mut b, &room, json!({})).await;
    let highlighted: Vec<String> = now.iter().filter(|q| flag(&q["highlighted"])).map(id).collect();
    assert_eq!(highlighted, vec![q2.clone()]);
    // Highlighting the highlighted question changes nothing.
    let same = moderate(&mut host, &q2, "MODERATION_ACTION_HIGHLIGHT", "").await;
    assert_eq!(same["moderateQuestion"]["question"]["highlighted"], true);

    // Notes go only with MARK_ANSWERED, within 500 characters.
    let (code, message, field) = error(&moderate(&mut host, &q1, "MODERATION_ACTION_HIGHLIGHT", "a note").await);
    assert_eq!((code.as_str(), field.as_str()), ("invalid_argument", "answer_note"));
    assert!(message.starts_with("answer_note_not_allowed"), "{message}");
    let long = "n".repeat(501);
    let too_long = moderate(&mut host, &q2, "MODERATION_ACTION_MARK_ANSWERED", &long).await;
    assert_eq!(reason(&too_long), refused("invalid_argument", "answer_note_too_long"));
    assert_eq!(reason(&moderate(&mut host, &q2, "MODERATION_ACTION_UNSPECIFIED", "").await).1, "invalid_action");

    // Answering clears the highlight and keeps the question visible.
    let answered = moderate(&mut host, &q2, "MODERATION_ACTION_MARK_ANSWERED", "  Yes, on the last day.  ").await;
    let question = &answered["moderateQuestion"]["question"];
    assert_eq!(question["state"], "QUESTION_STATE_ANSWERED", "{answered}");
    assert!(!flag(&question["highlighted"]));
    assert_eq!(question["answerNote"], "Yes, on the last day.");
    assert!(question["answerTime"].is_string());
    let event = question_event(&mut a, "questionUpdated", &q2).await;
    let event = if event["question"]["state"] == "QUESTION_STATE_ANSWERED" {
        event
    } else {
        question_event(&mut a, "questionUpdated", &q2).await
    };
    assert_eq!(event["question"]["state"], "QUESTION_STATE_ANSWERED");
    let now = list(&mut a, &room, json!({})).await;
    assert_eq!(now.len(), 2, "answered questions stay listed");
    assert!(now.iter().all(|q| !flag(&q["highlighted"])));

    // An answered question is done.
    for action in ["MODERATION_ACTION_MARK_ANSWERED", "MODERATION_ACTION_HIGHLIGHT", "MODERATION_ACTION_APPROVE"] {
        assert_eq!(
            reason(&moderate(&mut host, &q2, action, "").await),
            refused("failed_precondition", "invalid_transition"),
            "{action}"
        );
    }
    assert_eq!(reason(&upvote(&mut a, &q2, true).await), refused("failed_precondition", "question_not_published"));
    let unhighlight = moderate(&mut host, &q1, "MODERATION_ACTION_UNHIGHLIGHT", "").await;
    assert!(!flag(&unhighlight["moderateQuestion"]["question"]["highlighted"]), "{unhighlight}");

    // Deletion: the author or a manager only.
    assert_eq!(
        reason(&b.call(json!({"deleteQuestion": {"questionId": q1}})).await),
        refused("permission_denied", "not_author")
    );
    let deleted = a.call(json!({"deleteQuestion": {"questionId": q1}})).await;
    assert!(deleted.get("deleteQuestion").is_some(), "{deleted}");
    question_event(&mut b, "questionRemoved", &q1).await;
    assert_eq!(ids(&list(&mut b, &room, json!({})).await), vec![q2.clone()]);
    assert_eq!(
        reason(&a.call(json!({"deleteQuestion": {"questionId": q1}})).await),
        refused("not_found", "question_not_found")
    );
    let by_manager = host.call(json!({"deleteQuestion": {"questionId": q2}})).await;
    assert!(by_manager.get("deleteQuestion").is_some(), "{by_manager}");
    assert_eq!(questions_in_db(&app, &room).await, 0);
}

#[tokio::test]
async fn a_fourth_question_within_five_minutes_waits() {
    let app = TestApp::spawn().await;
    let (room, _, _host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut fan) = member(&app, &app.ws_url, &room).await;
    let (_, mut other) = member(&app, &app.ws_url, &room).await;

    let first = fan.call(json!({"askQuestion": {"roomId": room, "text": "First?", "requestId": "ask-1"}})).await;
    let first_id = id(&first["askQuestion"]["question"]);
    // A retry returns the first question and is not counted.
    let retry = fan.call(json!({"askQuestion": {"roomId": room, "text": "First?", "requestId": "ask-1"}})).await;
    assert_eq!(id(&retry["askQuestion"]["question"]), first_id);
    asked(&mut fan, &room, "Second?").await;
    asked(&mut fan, &room, "Third?").await;

    let (code, reason, retry_after) = refusal(&ask(&mut fan, &room, "Fourth?").await);
    assert_eq!((code.as_str(), reason.as_str()), ("rate_limited", "rate_limited"));
    assert!(retry_after.is_some_and(|r| r > 290.0 && r <= 300.0), "{retry_after:?}");
    assert_eq!(questions_in_db(&app, &room).await, 3, "the refused question is not stored");
    // A retry of an accepted ask still answers; other users are not limited.
    let late = fan.call(json!({"askQuestion": {"roomId": room, "text": "First?", "requestId": "ask-1"}})).await;
    assert_eq!(id(&late["askQuestion"]["question"]), first_id, "{late}");
    asked(&mut other, &room, "Mine?").await;
}

#[tokio::test]
async fn outsiders_and_bad_input_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut fan) = member(&app, &app.ws_url, &room).await;
    let (_, mut guest) = app.user_ws(&app.ws_url, &[]).await;
    let entered = guest.call(json!({"enterRoom": {"roomId": room}})).await;
    assert!(entered.get("enterRoom").is_some(), "guests enter public rooms: {entered}");

    // Guests read but do not take part.
    assert_eq!(reason(&ask(&mut guest, &room, "Hello?").await), refused("permission_denied", "not_member"));
    let q = id(&asked(&mut fan, &room, "A fair question?").await);
    assert_eq!(ids(&list(&mut guest, &room, json!({})).await), vec![q.clone()]);
    assert_eq!(reason(&upvote(&mut guest, &q, true).await), refused("permission_denied", "not_member"));
    // Private rooms do not exist for outsiders.
    let private = create_room(&mut host, watch_party("Closed", "ROOM_VISIBILITY_PRIVATE", 0)).await;
    let (_, mut stranger) = app.user_ws(&app.ws_url, &[]).await;
    assert_eq!(reason(&ask(&mut stranger, &private, "Let me in?").await), refused("not_found", "room_not_found"));

    // Bad input: exact reasons and fields, nothing stored, nothing counted.
    let cases = [
        (json!({"roomId": room, "text": "   "}), "question_empty", "text"),
        (json!({"roomId": room, "text": "x".repeat(301)}), "question_too_long", "text"),
        (json!({"roomId": room, "text": "bell\u{7}"}), "control_characters", "text"),
        (json!({"roomId": room, "text": "ok", "requestId": "not ok"}), "invalid_request_id", "request_id"),
    ];
    for (request, want, want_field) in cases {
        let reply = fan.call(json!({"askQuestion": request})).await;
        let (code, message, field) = error(&reply);
        assert_eq!(code, "invalid_argument", "{reply}");
        assert!(message.starts_with(want), "{want}: {message}");
        assert_eq!(field, want_field);
    }
    let (code, _, field) = error(&fan.call(json!({"askQuestion": {"roomId": "nope", "text": "hi"}})).await);
    assert_eq!((code.as_str(), field.as_str()), ("invalid_argument", "room_id"));
    assert!(asked(&mut fan, &room, &"é".repeat(300)).await["text"].is_string(), "300 characters are fine");
    assert_eq!(questions_in_db(&app, &room).await, 2);
    // The refusals took none of the three asks per window.
    asked(&mut fan, &room, "Still allowed?").await;

    let too_many = json!({"states": ["QUESTION_STATE_PENDING", "QUESTION_STATE_PUBLISHED", "QUESTION_STATE_ANSWERED",
        "QUESTION_STATE_REJECTED", "QUESTION_STATE_PENDING"]});
    assert_eq!(reason(&list_reply(&mut fan, &room, too_many).await).1, "too_many_states");
    let unspecified = json!({"states": ["QUESTION_STATE_UNSPECIFIED"]});
    assert_eq!(reason(&list_reply(&mut fan, &room, unspecified).await).1, "invalid_state");

    // Closed Q&A refuses questions; only managers close it.
    assert_eq!(reason(&settings(&mut fan, &room, false, false).await), refused("permission_denied", "not_manager"));
    let off = settings(&mut host, &room, false, false).await;
    assert!(off["updateQnaSettings"]["settings"].is_object(), "{off}");
    let (_, mut late) = member(&app, &app.ws_url, &room).await;
    assert_eq!(reason(&ask(&mut late, &room, "Anyone?").await), refused("failed_precondition", "qna_disabled"));
    assert_eq!(questions_in_db(&app, &room).await, 3);
    // Existing questions stay readable and open for upvotes.
    assert_eq!(num(&upvote(&mut late, &q, true).await["upvoteQuestion"]["question"]["upvotes"]), 1);
}

#[tokio::test]
async fn concurrent_upvotes_and_highlights_stay_exact() {
    let app = TestApp::spawn().await;
    let (room, host_id, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut author) = member(&app, &app.ws_url, &room).await;
    let q1 = id(&asked(&mut author, &room, "Who did the stunts?").await);
    let q2 = id(&asked(&mut author, &room, "Which camera?").await);

    // Twelve members upvote at once, four of them twice, three take it back.
    let mut fans = Vec::new();
    for _ in 0..12 {
        fans.push(member(&app, &app.ws_url, &room).await.1);
    }
    let calls = fans.iter_mut().enumerate().map(|(i, ws)| {
        let q1 = q1.clone();
        async move {
            upvote(ws, &q1, true).await;
            if i % 3 == 0 {
                upvote(ws, &q1, true).await;
            }
            if i % 4 == 1 {
                upvote(ws, &q1, false).await;
            }
        }
    });
    futures::future::join_all(calls).await;
    let listed = list(&mut host, &room, json!({})).await;
    let q1_listed = listed.iter().find(|q| id(q) == q1).expect("q1 listed");
    assert_eq!(num(&q1_listed["upvotes"]), 12 - 3, "{q1_listed}");

    // Two connections of the host highlight different questions at once:
    // both succeed and exactly one question ends highlighted.
    let mut second = app.ws_at(&app.ws_url).await;
    let connected = second.auth(&app.token(&host_id, &[])).await;
    assert!(connected.get("connected").is_some(), "{connected}");
    for _ in 0..5 {
        let (one, two) = tokio::join!(
            moderate(&mut host, &q1, "MODERATION_ACTION_HIGHLIGHT", ""),
            moderate(&mut second, &q2, "MODERATION_ACTION_HIGHLIGHT", ""),
        );
        assert_eq!(one["moderateQuestion"]["question"]["highlighted"], true, "{one}");
        assert_eq!(two["moderateQuestion"]["question"]["highlighted"], true, "{two}");
        let highlighted = list(&mut author, &room, json!({})).await.iter().filter(|q| flag(&q["highlighted"])).count();
        assert_eq!(highlighted, 1);
    }
}

#[tokio::test]
async fn chat_timeouts_and_bans_apply_to_asking() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (fan_id, mut fan) = member(&app, &app.ws_url, &room).await;
    asked(&mut fan, &room, "Before any trouble?").await;

    let timeout = host.call(json!({"timeoutUser": {"roomId": room, "userId": fan_id, "duration": "60s"}})).await;
    assert!(timeout.get("timeoutUser").is_some(), "{timeout}");
    assert_eq!(reason(&ask(&mut fan, &room, "Still there?").await), refused("permission_denied", "timed_out"));

    host.call(json!({"removeTimeout": {"roomId": room, "userId": fan_id}})).await;
    asked(&mut fan, &room, "Back again?").await;

    let ban = host.call(json!({"banFromChat": {"roomId": room, "userId": fan_id, "reason": "spam"}})).await;
    assert!(ban.get("banFromChat").is_some(), "{ban}");
    assert_eq!(reason(&ask(&mut fan, &room, "Hello?").await), refused("permission_denied", "chat_banned"));
    let listed = fan.call(json!({"listQuestions": {"roomId": room}})).await;
    assert_eq!(listed["listQuestions"]["questions"].as_array().map(Vec::len), Some(2), "nothing stored: {listed}");
}
