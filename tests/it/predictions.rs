//! Predictions and the points ledger over the real WebSocket (and gRPC for
//! the ledger listing): welcome balances, idempotent stakes, payouts
//! against hand-computed values, refunds on cancel and on expiry, the
//! lock time holding before its timer fires, and refusals that store
//! nothing. After each scenario the ledger's invariants are checked in
//! Postgres: every transaction balances, every cached balance equals the
//! sum of its entries, pools end empty.

use std::time::Duration;

use hearth_proto::hearth::polls::v1::{
    ListPointsTransactionsRequest, PointsReason, predictions_service_client::PredictionsServiceClient,
};
use hearth_tests::{TestApp, Ws};
use serde_json::{Value, json};

use crate::{
    chat::{member, num, room_with_host},
    rooms::{enter, error},
};

/// The refusal's code and reason (the message starts with the reason).
fn refusal(reply: &Value) -> (String, String) {
    let (code, message, _) = error(reply);
    (code, message.split(':').next().unwrap_or_default().to_owned())
}

fn int(value: &Value) -> i64 {
    value.as_str().and_then(|v| v.parse().ok()).or_else(|| value.as_i64()).unwrap_or(0)
}

async fn create(ws: &mut Ws, room: &str, title: &str, outcomes: &[&str], window: &str) -> Value {
    ws.call(
        json!({"createPrediction": {"roomId": room, "title": title, "outcomes": outcomes, "predictionWindow": window}}),
    )
    .await
}

/// Creates a prediction that must be created; returns it.
async fn started(ws: &mut Ws, room: &str, outcomes: &[&str]) -> Value {
    let reply = create(ws, room, "Who wins tonight?", outcomes, "600s").await;
    let prediction = reply["createPrediction"]["prediction"].clone();
    assert_eq!(prediction["state"], "PREDICTION_STATE_ACTIVE", "not created: {reply}");
    prediction
}

async fn stake(ws: &mut Ws, prediction: &str, outcome: &str, points: i64, request: &str) -> Value {
    ws.call(json!({"placePrediction": {
        "predictionId": prediction, "outcomeId": outcome, "points": points.to_string(), "requestId": request
    }}))
    .await
}

/// A stake that must be accepted; returns (position points, balance).
async fn staked(ws: &mut Ws, prediction: &str, outcome: &str, points: i64, request: &str) -> (i64, i64) {
    let reply = stake(ws, prediction, outcome, points, request).await;
    let placed = &reply["placePrediction"];
    assert_eq!(placed["position"]["outcomeId"], outcome, "stake refused: {reply}");
    (int(&placed["position"]["points"]), int(&placed["balance"]))
}

/// (balance, earned today, daily cap).
async fn balance(ws: &mut Ws, room: &str) -> (i64, i64, i64) {
    let reply = ws.call(json!({"getPointsBalance": {"roomId": room}})).await;
    let b = &reply["getPointsBalance"];
    assert!(b.is_object(), "no balance: {reply}");
    (int(&b["balance"]), int(&b["earnedToday"]), int(&b["dailyCap"]))
}

async fn get(ws: &mut Ws, prediction: &str) -> Value {
    let reply = ws.call(json!({"getPrediction": {"predictionId": prediction}})).await;
    reply["getPrediction"]["prediction"].clone()
}

/// outcome id → (total points, predictors).
fn totals(prediction: &Value) -> Vec<(String, u64, u64)> {
    prediction["outcomes"]
        .as_array()
        .map(|outcomes| {
            outcomes
                .iter()
                .map(|o| {
                    (
                        o["outcomeId"].as_str().unwrap_or_default().to_owned(),
                        num(&o["totalPoints"]),
                        num(&o["predictorCount"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn is_interaction(frame: &Value, kind: &str, prediction: &str) -> bool {
    frame["interactionEvent"][kind]["prediction"]["predictionId"] == prediction
}

/// The personal settlement of a prediction pushed to this user.
async fn settlement(ws: &mut Ws, prediction: &str) -> Value {
    let frame = ws
        .event_where(Duration::from_secs(10), |f| f["userEvent"]["predictionSettled"]["predictionId"] == prediction)
        .await;
    frame["userEvent"]["predictionSettled"].clone()
}

/// The ledger's invariants, checked in Postgres.
async fn ledger_holds(app: &TestApp) {
    let pool = hearth_platform::db::connect_lazy(&app.config.database).expect("pool");
    let unbalanced: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT transaction_id FROM polls.points_entries GROUP BY 1 HAVING sum(amount) <> 0) x",
    )
    .fetch_one(&pool)
    .await
    .expect("query");
    assert_eq!(unbalanced, 0, "every transaction's legs sum to zero");
    let drifted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM polls.points_accounts a WHERE a.balance IS NOT NULL AND a.balance <> \
         (SELECT coalesce(sum(e.amount), 0) FROM polls.points_entries e WHERE e.account_id = a.id)",
    )
    .fetch_one(&pool)
    .await
    .expect("query");
    assert_eq!(drifted, 0, "every cached balance equals the sum of its entries");
    let issued: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(e.amount), 0)::bigint FROM polls.points_entries e \
         JOIN polls.points_accounts a ON a.id = e.account_id WHERE a.kind <> 'earnings'",
    )
    .fetch_one(&pool)
    .await
    .expect("query");
    let drawn: i64 = sqlx::query_scalar(
        "SELECT coalesce(-sum(e.amount), 0)::bigint FROM polls.points_entries e \
         JOIN polls.points_accounts a ON a.id = e.account_id WHERE a.kind = 'earnings'",
    )
    .fetch_one(&pool)
    .await
    .expect("query");
    assert_eq!(issued, drawn, "what users and pools hold was drawn from the earnings accounts");
    let open_pools: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM polls.points_accounts a JOIN polls.predictions p ON p.id = a.owner_id \
         WHERE a.kind = 'pool' AND p.state IN ('resolved', 'canceled') AND a.balance <> 0",
    )
    .fetch_one(&pool)
    .await
    .expect("query");
    assert_eq!(open_pools, 0, "settled pools are empty");
}

#[tokio::test]
async fn stakes_are_idempotent_and_winners_share_the_pool_exactly() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (a_id, mut a) = member(&app, &app.ws_url, &room).await;
    let (_, mut b) = member(&app, &app.ws_url, &room).await;
    let (_, mut c) = member(&app, &app.ws_url, &room).await;
    let (_, mut d) = member(&app, &app.ws_url, &room).await;
    for ws in [&mut a, &mut b, &mut c] {
        assert_eq!(balance(ws, &room).await, (250, 0, 2000), "the welcome bonus, once");
    }
    assert_eq!(balance(&mut a, &room).await.0, 250, "reading again credits nothing");

    let prediction = started(&mut host, &room, &["Home", "Away"]).await;
    let id = prediction["predictionId"].as_str().expect("id").to_owned();
    assert_eq!(totals(&prediction), vec![("o1".into(), 0, 0), ("o2".into(), 0, 0)]);
    let announced = a.event_where(Duration::from_secs(5), |f| is_interaction(f, "predictionStarted", &id)).await;
    assert_eq!(announced["interactionEvent"]["predictionStarted"]["prediction"]["title"], "Who wins tonight?");

    assert_eq!(staked(&mut a, &id, "o1", 100, "a-1").await, (100, 150));
    // A retry returns the first result and debits nothing.
    assert_eq!(staked(&mut a, &id, "o1", 100, "a-1").await, (100, 150));
    assert_eq!(balance(&mut a, &room).await.0, 150);
    assert_eq!(staked(&mut b, &id, "o1", 50, "b-1").await, (50, 200));
    assert_eq!(staked(&mut c, &id, "o2", 200, "c-1").await, (200, 50));
    // More stakes add to the position on the same outcome.
    assert_eq!(staked(&mut a, &id, "o1", 20, "a-2").await, (120, 130));
    assert_eq!(refusal(&stake(&mut c, &id, "o1", 10, "c-2").await).1, "outcome_change_not_allowed");
    let broke = stake(&mut b, &id, "o1", 201, "b-2").await;
    assert_eq!(refusal(&broke), ("failed_precondition".into(), "insufficient_points".into()));
    assert_eq!(balance(&mut b, &room).await.0, 200, "nothing debited");
    let seen = get(&mut a, &id).await;
    assert_eq!(totals(&seen), vec![("o1".into(), 170, 2), ("o2".into(), 200, 1)]);
    assert_eq!(num(&seen["totalPoints"]), 370);
    assert_eq!(seen["myPosition"]["outcomeId"], "o1");
    assert_eq!(num(&seen["myPosition"]["points"]), 120);
    // Pool totals go out live, coalesced.
    let live = a
        .event_where(Duration::from_secs(5), |f| {
            f["interactionEvent"]["predictionUpdated"]["predictionId"] == id.as_str()
                && num(&f["interactionEvent"]["predictionUpdated"]["totalPoints"]) == 370
        })
        .await;
    assert!(live["interactionEvent"]["predictionUpdated"]["outcomes"].is_array());

    // Entering the room: the snapshot has the prediction and the balance.
    let (_, mut e) = app.user_ws(&app.ws_url, &[]).await;
    let entered = enter(&mut e, &room, true).await;
    let snapshot = &entered["enterRoom"]["interactions"];
    assert_eq!(snapshot["predictions"][0]["predictionId"], id.as_str(), "{entered}");
    assert_eq!(num(&snapshot["predictions"][0]["totalPoints"]), 370);
    assert_eq!(int(&snapshot["pointsBalance"]), 250, "the welcome bonus on entering");
    let mine = a.call(json!({"getRoomInteractions": {"roomId": room}})).await;
    let mine = &mine["getRoomInteractions"];
    assert_eq!(num(&mine["predictions"][0]["myPosition"]["points"]), 120, "{mine}");
    assert_eq!(int(&mine["pointsBalance"]), 130);

    let locked = host.call(json!({"lockPrediction": {"predictionId": id}})).await;
    assert_eq!(locked["lockPrediction"]["prediction"]["state"], "PREDICTION_STATE_LOCKED", "{locked}");
    let again = host.call(json!({"lockPrediction": {"predictionId": id}})).await;
    assert_eq!(again["lockPrediction"]["prediction"]["state"], "PREDICTION_STATE_LOCKED", "idempotent");
    a.event_where(Duration::from_secs(5), |f| is_interaction(f, "predictionLocked", &id)).await;
    assert_eq!(refusal(&stake(&mut d, &id, "o1", 10, "d-1").await).1, "prediction_locked");
    assert_eq!(balance(&mut d, &room).await.0, 250);

    // P = 370, W = 170: a 370×120/170 = 261.18 → 261, b 370×50/170 =
    // 108.82 → 108; the one point left goes to b's larger fraction.
    let resolved = host.call(json!({"resolvePrediction": {"predictionId": id, "winningOutcomeId": "o1"}})).await;
    let p = &resolved["resolvePrediction"]["prediction"];
    assert_eq!(p["state"], "PREDICTION_STATE_RESOLVED", "{resolved}");
    assert_eq!(p["winningOutcomeId"], "o1");
    assert!(p["endTime"].is_string() && p["lockedTime"].is_string());
    let a_paid = settlement(&mut a, &id).await;
    assert_eq!(a_paid["won"], true);
    assert_eq!(num(&a_paid["position"]["payout"]), 261);
    assert_eq!(int(&a_paid["balance"]), 391);
    let b_paid = settlement(&mut b, &id).await;
    assert_eq!(num(&b_paid["position"]["payout"]), 109);
    assert_eq!(int(&b_paid["balance"]), 309);
    let c_lost = settlement(&mut c, &id).await;
    assert!(c_lost["won"].is_null() || c_lost["won"] == false, "{c_lost}");
    assert_eq!(num(&c_lost["position"]["payout"]), 0);
    assert_eq!(int(&c_lost["balance"]), 50);
    assert_eq!(261 + 109, 370, "exactly the pool is paid");
    assert_eq!(balance(&mut a, &room).await.0, 391);
    assert_eq!(balance(&mut b, &room).await.0, 309);
    assert_eq!(balance(&mut c, &room).await.0, 50);
    a.event_where(Duration::from_secs(5), |f| is_interaction(f, "predictionResolved", &id)).await;

    // Idempotent for the same outcome; refused for another, and for cancel.
    let same = host.call(json!({"resolvePrediction": {"predictionId": id, "winningOutcomeId": "o1"}})).await;
    assert_eq!(same["resolvePrediction"]["prediction"]["state"], "PREDICTION_STATE_RESOLVED", "{same}");
    let other = host.call(json!({"resolvePrediction": {"predictionId": id, "winningOutcomeId": "o2"}})).await;
    assert_eq!(refusal(&other).1, "already_resolved");
    let cancel = host.call(json!({"cancelPrediction": {"predictionId": id}})).await;
    assert_eq!(refusal(&cancel).1, "already_resolved");
    assert_eq!(balance(&mut a, &room).await.0, 391, "paid once");
    let mine = get(&mut a, &id).await;
    assert_eq!(num(&mine["myPosition"]["payout"]), 261);

    // The ledger, newest first, with the balance after each movement.
    let mut client = PredictionsServiceClient::connect(app.grpc_url.clone()).await.expect("grpc");
    let mut request = tonic::Request::new(ListPointsTransactionsRequest { room_id: room.clone(), page: None });
    let token = app.token(&a_id, &[]);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("ascii"));
    let listed = client.list_points_transactions(request).await.expect("list").into_inner();
    let rows: Vec<(i64, i64, i32)> =
        listed.transactions.iter().map(|t| (t.amount, t.balance_after, t.reason)).collect();
    assert_eq!(
        rows,
        vec![
            (261, 391, PointsReason::PredictionPayout as i32),
            (-20, 130, PointsReason::PredictionStake as i32),
            (-100, 150, PointsReason::PredictionStake as i32),
            (250, 250, PointsReason::Welcome as i32),
        ]
    );
    assert_eq!(listed.transactions[0].reference_id, id);
    assert!(listed.transactions[3].reference_id.is_empty());
    ledger_holds(&app).await;
}

#[tokio::test]
async fn cancelling_and_expiry_refund_every_stake_exactly() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut a) = member(&app, &app.ws_url, &room).await;
    let (_, mut b) = member(&app, &app.ws_url, &room).await;

    let id = started(&mut host, &room, &["Yes", "No", "Maybe"]).await["predictionId"].as_str().expect("id").to_owned();
    assert_eq!(staked(&mut a, &id, "o1", 100, "a-1").await, (100, 150));
    assert_eq!(staked(&mut b, &id, "o3", 70, "b-1").await, (70, 180));
    let cancelled = host.call(json!({"cancelPrediction": {"predictionId": id}})).await;
    let p = &cancelled["cancelPrediction"]["prediction"];
    assert_eq!(p["state"], "PREDICTION_STATE_CANCELED", "{cancelled}");
    assert_eq!(p["cancelReason"], "CANCEL_REASON_MANAGER");
    let refund = settlement(&mut a, &id).await;
    assert_eq!(refund["state"], "PREDICTION_STATE_CANCELED");
    assert_eq!(num(&refund["position"]["payout"]), 100);
    assert_eq!(int(&refund["balance"]), 250);
    assert_eq!(int(&settlement(&mut b, &id).await["balance"]), 250);
    assert_eq!(balance(&mut a, &room).await.0, 250);
    assert_eq!(balance(&mut b, &room).await.0, 250);
    let again = host.call(json!({"cancelPrediction": {"predictionId": id}})).await;
    assert_eq!(again["cancelPrediction"]["prediction"]["state"], "PREDICTION_STATE_CANCELED", "idempotent");
    assert_eq!(balance(&mut a, &room).await.0, 250, "refunded once");
    let late = host.call(json!({"resolvePrediction": {"predictionId": id, "winningOutcomeId": "o1"}})).await;
    assert_eq!(refusal(&late).1, "prediction_canceled");
    assert_eq!(refusal(&stake(&mut a, &id, "o1", 5, "a-2").await).1, "prediction_ended");

    // Nobody on the winning outcome: resolved, and everyone refunded.
    let id = started(&mut host, &room, &["Yes", "No", "Maybe"]).await["predictionId"].as_str().expect("id").to_owned();
    staked(&mut a, &id, "o1", 40, "a-3").await;
    staked(&mut b, &id, "o1", 60, "b-3").await;
    let resolved = host.call(json!({"resolvePrediction": {"predictionId": id, "winningOutcomeId": "o2"}})).await;
    assert_eq!(resolved["resolvePrediction"]["prediction"]["state"], "PREDICTION_STATE_RESOLVED", "{resolved}");
    let refund = settlement(&mut a, &id).await;
    assert!(refund["won"].is_null() || refund["won"] == false);
    assert_eq!(num(&refund["position"]["payout"]), 40);
    assert_eq!(balance(&mut a, &room).await.0, 250);
    assert_eq!(balance(&mut b, &room).await.0, 250);

    // Unresolved 24 h after locking: cancelled as EXPIRED and refunded.
    let id = started(&mut host, &room, &["Yes", "No"]).await["predictionId"].as_str().expect("id").to_owned();
    assert_eq!(staked(&mut a, &id, "o2", 30, "a-4").await, (30, 220));
    let locked = host.call(json!({"lockPrediction": {"predictionId": id}})).await;
    assert_eq!(locked["lockPrediction"]["prediction"]["state"], "PREDICTION_STATE_LOCKED", "{locked}");
    let pool = hearth_platform::db::connect_lazy(&app.config.database).expect("pool");
    let due: time::OffsetDateTime =
        sqlx::query_scalar("SELECT due_at FROM polls.timers WHERE kind = 'prediction_expire' AND target_id = $1::uuid")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .expect("an expiry timer");
    let from_now = due - time::OffsetDateTime::now_utc();
    assert!(from_now > time::Duration::hours(23) && from_now <= time::Duration::hours(24), "{from_now}");
    sqlx::query("UPDATE polls.timers SET due_at = now() WHERE kind = 'prediction_expire' AND target_id = $1::uuid")
        .bind(&id)
        .execute(&pool)
        .await
        .expect("fast-forward");
    let expired = a.event_where(Duration::from_secs(10), |f| is_interaction(f, "predictionCanceled", &id)).await;
    assert_eq!(
        expired["interactionEvent"]["predictionCanceled"]["prediction"]["cancelReason"],
        "CANCEL_REASON_EXPIRED"
    );
    assert_eq!(int(&settlement(&mut a, &id).await["balance"]), 250);
    assert_eq!(balance(&mut a, &room).await.0, 250);
    ledger_holds(&app).await;
}

#[tokio::test]
async fn bad_drafts_and_stakes_are_refused_and_store_nothing() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut a) = member(&app, &app.ws_url, &room).await;
    let long_title = "t".repeat(141);
    let cases: Vec<(&str, Vec<&str>, &str, &str)> = vec![
        ("  ", vec!["Yes", "No"], "60s", "title_empty"),
        (&long_title, vec!["Yes", "No"], "60s", "title_too_long"),
        ("Q", vec!["Yes"], "60s", "too_few_outcomes"),
        ("Q", vec!["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"], "60s", "too_many_outcomes"),
        ("Q", vec!["Yes", " "], "60s", "outcome_empty"),
        ("Q", vec!["Yes", "yes"], "60s", "duplicate_outcomes"),
        ("Q", vec!["Yes", "No"], "29s", "invalid_window"),
        ("Q", vec!["Yes", "No"], "1801s", "invalid_window"),
    ];
    for (title, outcomes, window, reason) in cases {
        let reply = create(&mut host, &room, title, &outcomes, window).await;
        assert_eq!(refusal(&reply), ("invalid_argument".into(), reason.into()), "{reply}");
    }
    let no_window =
        host.call(json!({"createPrediction": {"roomId": room, "title": "Q", "outcomes": ["Yes", "No"]}})).await;
    assert_eq!(refusal(&no_window).1, "invalid_window");
    let not_manager = create(&mut a, &room, "Mine?", &["Yes", "No"], "60s").await;
    assert_eq!(refusal(&not_manager), ("permission_denied".into(), "not_manager".into()));
    let listed = host.call(json!({"listPredictions": {"roomId": room}})).await;
    assert!(listed["listPredictions"]["predictions"].is_null(), "nothing stored: {listed}");

    // At most 3 unresolved predictions per room.
    let first = started(&mut host, &room, &["Yes", "No"]).await;
    let id = first["predictionId"].as_str().expect("id").to_owned();
    started(&mut host, &room, &["Yes", "No"]).await;
    started(&mut host, &room, &["Yes", "No"]).await;
    let fourth = create(&mut host, &room, "One too many", &["Yes", "No"], "60s").await;
    assert_eq!(refusal(&fourth), ("rate_limited".into(), "too_many_predictions".into()));
    let active = host
        .call(json!({"listPredictions": {"roomId": room, "states": ["PREDICTION_STATE_ACTIVE"], "page": {"pageSize": 2}}}))
        .await;
    assert_eq!(active["listPredictions"]["predictions"].as_array().map(Vec::len), Some(2), "{active}");
    let token = active["listPredictions"]["page"]["nextPageToken"].as_str().expect("a next page").to_owned();
    let rest = host
        .call(json!({"listPredictions": {
            "roomId": room, "states": ["PREDICTION_STATE_ACTIVE"], "page": {"pageSize": 2, "pageToken": token}
        }}))
        .await;
    let rest = rest["listPredictions"]["predictions"].as_array().cloned().unwrap_or_default();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["predictionId"], id.as_str(), "newest first: the first one comes last");
    let ended = host.call(json!({"listPredictions": {"roomId": room, "states": ["PREDICTION_STATE_RESOLVED"]}})).await;
    assert!(ended["listPredictions"]["predictions"].is_null(), "{ended}");

    // Stakes: bad amounts, outcomes and callers.
    assert_eq!(refusal(&stake(&mut a, &id, "o1", 0, "s-1").await).1, "points_not_positive");
    assert_eq!(refusal(&stake(&mut a, &id, "o1", -5, "s-2").await).1, "points_not_positive");
    assert_eq!(refusal(&stake(&mut a, &id, "o1", 250_001, "s-3").await).1, "stake_too_large");
    assert_eq!(refusal(&stake(&mut a, &id, "o9", 10, "s-4").await).1, "unknown_outcome");
    assert_eq!(refusal(&stake(&mut a, &id, "o1", 251, "s-5").await).1, "insufficient_points");
    let (_, mut guest) = app.user_ws(&app.ws_url, &[]).await;
    let entered = enter(&mut guest, &room, false).await;
    assert!(entered.get("enterRoom").is_some(), "{entered}");
    assert_eq!(
        refusal(&stake(&mut guest, &id, "o1", 10, "g-1").await),
        ("permission_denied".into(), "not_member".into())
    );
    assert_eq!(balance(&mut guest, &room).await.0, 0, "guests hold no points");
    let seen = get(&mut a, &id).await;
    assert_eq!(num(&seen["totalPoints"]), 0, "nothing staked: {seen}");
    assert!(seen["myPosition"].is_null());
    assert_eq!(balance(&mut a, &room).await.0, 250);

    // The lock time holds even before its timer fires.
    let pool = hearth_platform::db::connect_lazy(&app.config.database).expect("pool");
    sqlx::query("UPDATE polls.timers SET due_at = now() + interval '1 hour' WHERE target_id = $1::uuid")
        .bind(&id)
        .execute(&pool)
        .await
        .expect("delay the timer");
    sqlx::query("UPDATE polls.predictions SET lock_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&pool)
        .await
        .expect("pass the lock time");
    assert_eq!(refusal(&stake(&mut a, &id, "o1", 10, "s-6").await).1, "prediction_locked");
    assert_eq!(get(&mut a, &id).await["state"], "PREDICTION_STATE_ACTIVE", "the timer has not fired");
    assert_eq!(balance(&mut a, &room).await.0, 250);
    // When it fires, the prediction locks (once) at its lock time.
    sqlx::query("UPDATE polls.timers SET due_at = now() WHERE target_id = $1::uuid")
        .bind(&id)
        .execute(&pool)
        .await
        .expect("fire the timer");
    let locked = a.event_where(Duration::from_secs(10), |f| is_interaction(f, "predictionLocked", &id)).await;
    assert_eq!(locked["interactionEvent"]["predictionLocked"]["prediction"]["state"], "PREDICTION_STATE_LOCKED");
    let again = a.drain(Duration::from_millis(600)).await;
    assert!(!again.iter().any(|f| is_interaction(f, "predictionLocked", &id)), "locked once");
    ledger_holds(&app).await;
}

#[tokio::test]
async fn poll_votes_earn_points_once_at_close_within_the_daily_cap() {
    let app = TestApp::spawn_with(hearth::Role::ALL, |config| {
        config.polls.poll_vote_points = 25;
        config.polls.daily_earn_cap = 30;
    })
    .await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut a) = member(&app, &app.ws_url, &room).await;
    let mut polls = Vec::new();
    for question in ["First?", "Second?"] {
        let reply = host
            .call(json!({"createPoll": {
                "roomId": room,
                "poll": {"question": question, "options": ["Yes", "No"], "choiceMode": "CHOICE_MODE_SINGLE"},
                "openNow": true,
            }}))
            .await;
        let poll = reply["createPoll"]["poll"].clone();
        assert!(poll["pollId"].is_string(), "{reply}");
        polls.push(poll);
    }
    let mut expected = 250;
    for (poll, earned) in polls.iter().zip([25, 5]) {
        let option = poll["options"][0]["optionId"].clone();
        let vote = json!({"castVote": {"pollId": poll["pollId"], "optionIds": [option]}});
        let voted = a.call(vote.clone()).await;
        assert!(voted.get("castVote").is_some(), "{voted}");
        a.call(vote).await;
        // Points are credited once the poll has closed, not on the vote's path.
        assert_eq!(balance(&mut a, &room).await.0, expected, "nothing credited while the poll is open");
        let closed = host.call(json!({"closePoll": {"pollId": poll["pollId"]}})).await;
        assert!(closed.get("closePoll").is_some(), "{closed}");
        expected += earned;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let (now, _, _) = balance(&mut a, &room).await;
            if now == expected {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "balance {now}, expected {expected}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // The cap cut the second vote's 25 to 5; nothing more today.
    assert_eq!(balance(&mut a, &room).await, (280, 30, 30));
    ledger_holds(&app).await;
}

#[tokio::test]
async fn concurrent_retries_of_a_stake_debit_once() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (a_id, mut a) = member(&app, &app.ws_url, &room).await;
    // The same user on a second connection.
    let mut a2 = app.ws().await;
    assert!(a2.auth(&app.token(&a_id, &[])).await.get("connected").is_some());
    let id = started(&mut host, &room, &["Yes", "No"]).await["predictionId"].as_str().expect("id").to_owned();
    assert_eq!(balance(&mut a, &room).await.0, 250);
    for (n, request) in ["same-1", "same-2", "same-3"].into_iter().enumerate() {
        let frame =
            json!({"placePrediction": {"predictionId": id, "outcomeId": "o2", "points": "40", "requestId": request}});
        let (first, second) = tokio::join!(a.call(frame.clone()), a2.call(frame.clone()));
        let expected = (40 * (n as i64 + 1), 250 - 40 * (n as i64 + 1));
        for reply in [&first, &second] {
            let placed = &reply["placePrediction"];
            assert_eq!((int(&placed["position"]["points"]), int(&placed["balance"])), expected, "{reply}");
        }
    }
    assert_eq!(balance(&mut a, &room).await.0, 130, "three stakes, each debited once");
    let seen = get(&mut a, &id).await;
    assert_eq!(num(&seen["myPosition"]["points"]), 120);
    assert_eq!(totals(&seen), vec![("o1".into(), 0, 0), ("o2".into(), 120, 1)]);
    ledger_holds(&app).await;
}
