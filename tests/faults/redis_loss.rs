//! Redis (a private instance, reached through a proxy) flushed, cut off
//! and restarted empty: presence is rebuilt within a heartbeat, playback
//! restarts as docs/sync.md documents (version jumps, cause RESET), chat
//! rate limits fail with UNAVAILABLE while Redis is unreachable and work
//! again after, logins are not locked out, and no Postgres row changes.

use std::time::{Duration, Instant};

use hearth::Role;
use hearth_platform::secret::SecretUrl;
use hearth_tests::{PASSWORD, TestApp};
use serde_json::{Value, json};

use crate::{
    client::{Client, Follower, Next, Sender, code, num},
    full, ms,
    proxy::Proxy,
    servers::Redis,
};

const HEARTBEAT: Duration = Duration::from_millis(500);

/// The room's snapshot as one member sees it (None while unavailable).
async fn snapshot(client: &mut Client, room: &str) -> Option<Value> {
    let reply = client.call(json!({"getRoomSnapshot": {"roomId": room}}), Duration::from_secs(10)).await?;
    reply.get("getRoomSnapshot").map(|s| s["snapshot"].clone())
}

/// Polls the snapshot until `online` users are present; returns how long
/// that took.
async fn presence_rebuilt(client: &mut Client, room: &str, online: u64) -> Duration {
    let started = Instant::now();
    loop {
        if let Some(snapshot) = snapshot(client, room).await
            && num(&snapshot["presence"]["onlineUsers"]) == online
        {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "presence not rebuilt within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A fingerprint of the durable rows of the rooms and chat schemas.
async fn durable_rows(app: &TestApp) -> Vec<String> {
    let pool = hearth_platform::db::connect_lazy(&app.config.database).expect("pool");
    let mut out = Vec::new();
    let tables = ["rooms.rooms", "rooms.members", "(SELECT * FROM chat.messages ORDER BY seq LIMIT 3)"];
    for table in tables {
        let sql = format!(
            "SELECT count(*)::text || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
        );
        let row: (String,) =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(&pool).await.expect("fingerprint a table");
        out.push(format!("{table} {}", row.0));
    }
    out
}

/// Waits until a member learns of the reset: a `playback_state_changed`
/// with cause RESET, or, when the gateway re-entered the connection (its
/// lease was flushed too) and that re-entry made the reset, the pushed
/// `enter_room` reply whose snapshot carries it. Returns (version, path).
async fn reset_seen(follower: &mut Follower) -> (u64, &'static str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match follower.client.next(left).await {
            Next::Frame(frame) => {
                let event = &frame["roomEvent"];
                if event["playbackStateChanged"]["playback"]["cause"] == "PLAYBACK_CAUSE_RESET" {
                    return (num(&event["version"]), "event");
                }
                let snapshot = &frame["enterRoom"]["snapshot"];
                if snapshot["playback"]["cause"] == "PLAYBACK_CAUSE_RESET" {
                    return (num(&snapshot["version"]), "re-entry snapshot");
                }
            }
            Next::Closed | Next::Quiet => panic!("the member did not learn of the reset within 15 s"),
        }
    }
}

#[tokio::test]
async fn losing_redis_resets_only_what_it_held() {
    let mut redis = Redis::start().await;
    let proxy = Proxy::start(([127, 0, 0, 1], redis.port).into()).await;
    let app = TestApp::spawn_with(Role::ALL, |config| {
        config.redis.url = SecretUrl::new(format!("redis://{}", proxy.addr));
        config.gateway.presence_heartbeat = HEARTBEAT;
    })
    .await;
    let url = app.ws_url.clone();
    let username = hearth_tests::username("faults");
    app.register(&username).await;
    let mut host = Client::fresh(&app, &url).await;
    let room = host.create_room("Redis loss").await;
    host.ask(json!({"enterRoom": {"roomId": room}})).await;
    let mut watcher = Follower::join(&app, &url, &room).await;
    let _other = Follower::join(&app, &url, &room).await;
    let mut sender = Sender::join(&app, &url, &room).await;
    for i in 0..3 {
        sender.send(&app, &url, &format!("m{i}"), "kept in Postgres").await;
    }
    let sought = host.ask(json!({"seek": {"roomId": room, "position": "120s"}})).await;
    let before = num(&sought["seek"]["playback"]["version"]);
    assert!(before > 0, "{sought}");
    presence_rebuilt(&mut host, &room, 3).await;
    let rows = durable_rows(&app).await;

    // 1. FLUSHALL: every lease, the playback state and the counters go.
    redis.flush_all().await;
    let rebuilt_after_flush = presence_rebuilt(&mut host, &room, 3).await;
    let reset = snapshot(&mut host, &room).await.expect("a snapshot after the flush");
    let version = num(&reset["version"]);
    assert!(version > before, "the version jumped forward: {version} > {before}");
    assert_eq!(reset["playback"]["status"], "PLAYBACK_STATUS_PAUSED", "{reset}");
    assert!(reset["playback"]["position"].is_null() || reset["playback"]["position"] == "0s", "{reset}");
    let (seen_version, reset_path) = reset_seen(&mut watcher).await;
    assert!(seen_version > before, "the member's version moved forward: {seen_version} > {before}");
    sender.send(&app, &url, "after-flush", "rate limits start over, no lockout").await;

    // 2. Redis unreachable: requests that need it fail fast with
    //    UNAVAILABLE, logins are not locked out, nothing crashes.
    let cut = if full() { Duration::from_secs(10) } else { Duration::from_secs(3) };
    proxy.cut(cut);
    let cut_at = Instant::now();
    let asked = Instant::now();
    let refused = sender
        .client
        .call(
            json!({"sendMessage": {"roomId": room, "clientMsgId": "during-cut", "text": "no Redis"}}),
            Duration::from_secs(20),
        )
        .await
        .expect("a reply while Redis is cut off (no hang)");
    let refused_after = asked.elapsed();
    let refused_code = code(&refused).to_owned();
    let (status, body) = app.post("/v1/auth/login", json!({"username": username, "password": PASSWORD}), None).await;
    assert_eq!(status, 200, "login works while Redis is down (throttles fail open): {body}");
    tokio::time::sleep(cut.saturating_sub(cut_at.elapsed())).await;
    let resent = sender.send(&app, &url, "during-cut", "no Redis").await;
    let recovered_after_cut = cut_at.elapsed();

    // 3. Redis restarted empty.
    redis.restart().await;
    let restarted = Instant::now();
    let rebuilt_after_restart = presence_rebuilt(&mut host, &room, 3).await;
    sender.send(&app, &url, "after-restart", "works again").await;
    let send_after_restart = restarted.elapsed();
    let snap = snapshot(&mut host, &room).await.expect("a snapshot after the restart");
    assert!(num(&snap["version"]) > version, "versions never go backwards");

    // Durable data: the same rows, plus the messages sent meanwhile.
    let messages = host.ask(json!({"listMessages": {"roomId": room}})).await;
    let seqs: Vec<u64> =
        messages["listMessages"]["messages"].as_array().into_iter().flatten().map(|m| num(&m["sequence"])).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "chat history has no hole: {seqs:?}");
    assert!(seqs.contains(&resent));
    let after_rows = durable_rows(&app).await;
    assert_eq!(after_rows, rows, "room, member and earlier message rows unchanged");

    println!(
        "redis loss: presence rebuilt {} after FLUSHALL and {} after the restart (heartbeat {}); \
         send during the cut answered '{refused_code}' after {}; chat back {} after the cut began ({} cut); \
         first send ok {} after the restart; the member learnt of the reset by {reset_path}",
        ms(rebuilt_after_flush),
        ms(rebuilt_after_restart),
        ms(HEARTBEAT),
        ms(refused_after),
        ms(recovered_after_cut),
        ms(cut),
        ms(send_after_restart),
    );
    assert_eq!(refused_code, "unavailable", "while Redis is unreachable a send fails with UNAVAILABLE: {refused}");
}
