//! Postgres (a private instance) stopped for 10 s under a stream of room
//! creations: requests fail fast with `unavailable` instead of hanging, a
//! room either exists whole (row and owner) or not at all, and the same
//! running Hearth serves again once Postgres is back.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use hearth::Role;
use hearth_platform::secret::SecretUrl;
use hearth_tests::TestApp;
use serde_json::json;
use tokio::sync::watch;

use crate::{
    client::{Client, code, watch_party},
    full, ms, quantile,
    servers::Postgres,
};

/// One create attempt: its title, whether it was acknowledged, its error
/// code otherwise, and how long the answer took.
struct Attempt {
    title: String,
    room: Option<String>,
    code: String,
    took: Duration,
}

#[tokio::test]
async fn a_postgres_outage_fails_fast_and_leaves_nothing_half_written() {
    let mut pg = Postgres::start().await;
    let (mut config, database) = hearth_tests::test_config();
    config.database.url = SecretUrl::new(format!("{}/{database}", pg.url()));
    let acquire = config.database.acquire_timeout;
    let app = Arc::new(TestApp::start(config, database, Role::ALL).await);
    let url = app.ws_url.clone();
    let mut host = Client::fresh(&app, &url).await;
    let room = host.create_room("Before the outage").await;
    host.ask(json!({"enterRoom": {"roomId": room}})).await;

    // A creator keeps creating rooms, one after another, across the outage.
    let (stop_tx, stop_rx) = watch::channel(false);
    let creating = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut creator = Client::fresh(&app, &app.ws_url).await;
            let mut attempts = Vec::new();
            for i in 0.. {
                if *stop_rx.borrow() {
                    break;
                }
                let title = format!("pg-stop-{i}");
                let asked = Instant::now();
                let reply = creator
                    .call(json!({"createRoom": watch_party(&title)}), Duration::from_secs(30))
                    .await
                    .expect("every create is answered (no hang)");
                let room = reply["createRoom"]["room"]["roomId"].as_str().map(str::to_owned);
                attempts.push(Attempt { title, room, code: code(&reply).to_owned(), took: asked.elapsed() });
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            attempts
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;

    let outage = if full() { Duration::from_secs(30) } else { Duration::from_secs(10) };
    pg.pause().await;
    let down_at = Instant::now();
    // Requests of every kind that need Postgres, during the outage.
    let mut refusals = Vec::new();
    while down_at.elapsed() + acquire < outage {
        for frame in [
            json!({"sendMessage": {"roomId": room, "clientMsgId": format!("m{}", refusals.len()), "text": "hi"}}),
            json!({"getRoom": {"roomId": room}}),
            json!({"listMessages": {"roomId": room}}),
        ] {
            let asked = Instant::now();
            let reply = host.call(frame.clone(), Duration::from_secs(30)).await.expect("an answer, not a hang");
            refusals.push((frame, code(&reply).to_owned(), asked.elapsed()));
        }
    }
    let (status, _) = app.post("/v1/auth/login", json!({"username": "nobody", "password": "x"}), None).await;
    tokio::time::sleep(outage.saturating_sub(down_at.elapsed())).await;
    pg.resume().await;
    let up_at = Instant::now();

    // Recovery without restarting Hearth.
    let recovered = loop {
        let reply = host.call(json!({"createRoom": watch_party("After")}), Duration::from_secs(30)).await;
        if reply.as_ref().is_some_and(|r| r.get("createRoom").is_some()) {
            break up_at.elapsed();
        }
        assert!(up_at.elapsed() < Duration::from_secs(30), "Hearth did not recover within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_tx.send(true).expect("the creator listens");
    let attempts = creating.await.expect("creator task");
    let posted = host.ask(json!({"sendMessage": {"roomId": room, "clientMsgId": "after", "text": "back"}})).await;
    assert!(posted.get("sendMessage").is_some(), "chat works again: {posted}");

    // Fail fast: every refusal during the outage is `unavailable`.
    for (frame, code, took) in &refusals {
        assert_eq!(code, "unavailable", "{frame} during the outage (after {took:?})");
    }
    assert_eq!(status, 503, "HTTP answers 503 while Postgres is down");
    // All or nothing: acknowledged rooms exist whole, refused ones not at all.
    let pool = hearth_platform::db::connect_lazy(&app.config.database).expect("pool");
    let mut failed = 0;
    for attempt in &attempts {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT r.id::text, m.role FROM rooms.rooms r \
             LEFT JOIN rooms.members m ON m.room_id = r.id AND m.user_id = r.owner_id WHERE r.title = $1",
        )
        .bind(&attempt.title)
        .fetch_all(&pool)
        .await
        .expect("query rooms");
        match &attempt.room {
            Some(id) => {
                assert_eq!(rows.len(), 1, "{} was acknowledged: exactly one row", attempt.title);
                assert_eq!(&rows[0].0, id);
                assert_eq!(rows[0].1.as_deref(), Some("owner"), "{} has its owner", attempt.title);
            }
            None => {
                failed += 1;
                assert_eq!(attempt.code, "unavailable", "{} failed with {}", attempt.title, attempt.code);
                assert!(rows.is_empty(), "{} was refused but written: {rows:?}", attempt.title);
            }
        }
    }
    assert!(failed > 0, "some creates ran into the outage");
    let refusal_times: Vec<Duration> = refusals.iter().map(|r| r.2).collect();
    let create_times: Vec<Duration> = attempts.iter().filter(|a| a.room.is_none()).map(|a| a.took).collect();
    println!(
        "postgres stop: {} outage (acquire_timeout {}); {} refusals during it, p50 {} max {}; \
         {failed}/{} creates refused (p50 {} max {}), none half-written; first create ok {} after Postgres returned",
        ms(outage),
        ms(acquire),
        refusals.len(),
        ms(quantile(&refusal_times, 0.5)),
        ms(quantile(&refusal_times, 1.0)),
        attempts.len(),
        ms(quantile(&create_times, 0.5)),
        ms(quantile(&create_times, 1.0)),
        ms(recovered),
    );
}
