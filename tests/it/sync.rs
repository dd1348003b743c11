//! Synchronised playback and presence across gateways: every client sees
//! the same playback versions in the same order, waits end by readiness or
//! timeout, starts are scheduled, and a dead gateway's users leave presence
//! within the lease TTL.

use std::time::Duration;

use hearth_tests::{TestApp, Ws};
use serde_json::{Value, json};

use crate::rooms::{create_room, enter, watch_party};

fn version(value: &Value) -> u64 {
    value.as_str().and_then(|v| v.parse().ok()).or_else(|| value.as_u64()).unwrap_or(0)
}

/// Versioned room events of a client from its frames, in arrival order.
fn versions(frames: &[Value]) -> Vec<(u64, String)> {
    frames
        .iter()
        .filter_map(|f| f.get("roomEvent"))
        .filter(|e| version(&e["version"]) > 0)
        .map(|e| {
            let status = e["playbackStateChanged"]["playback"]["status"].as_str().unwrap_or("other").to_owned();
            (version(&e["version"]), status)
        })
        .collect()
}

/// Short leases so that a dead gateway is noticed within seconds.
fn fast_presence(config: &mut hearth_platform::Config) {
    config.rooms.presence_ttl = Duration::from_secs(3);
    config.rooms.sweep_interval = Duration::from_millis(200);
    config.gateway.presence_heartbeat = Duration::from_secs(1);
    config.rooms.ready_timeout = Duration::from_secs(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_on_two_gateway_processes_see_the_same_versions_in_order() {
    let app = TestApp::spawn_with(hearth::Role::ALL, fast_presence).await;
    let second = app.spawn_gateway_process(env!("CARGO_BIN_EXE_hearth-test-roles")).await;
    let (_, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut host, watch_party("Fifty", "ROOM_VISIBILITY_PUBLIC", 100)).await;
    enter(&mut host, &room, false).await;
    // Everyone but the host opts out of holding the group, so waits end at
    // the host's READY and the test controls the pace.
    let mut clients: Vec<Ws> = Vec::new();
    let mut snapshot_versions = Vec::new();
    for i in 0..50 {
        let url = if i % 2 == 0 { &app.ws_url } else { &second.ws_url };
        let (_, mut ws) = app.user_ws(url, &[]).await;
        let entered = enter(&mut ws, &room, true).await;
        snapshot_versions.push(version(&entered["enterRoom"]["snapshot"]["version"]));
        let held = ws.call(json!({"setHoldGroup": {"roomId": room, "holdGroup": false}})).await;
        assert!(
            held["setHoldGroup"]["playback"].is_object() && held["setHoldGroup"]["playback"]["holdsGroup"].is_null(),
            "{held}"
        );
        clients.push(ws);
    }
    let online = host.call(json!({"getRoomSnapshot": {"roomId": room}})).await;
    assert_eq!(online["getRoomSnapshot"]["snapshot"]["presence"]["onlineUsers"], "51");

    let ready = |v: u64| json!({"reportReadiness": {"roomId": room, "playbackVersion": v.to_string(), "readiness": "READINESS_READY"}});
    let seek = host.call(json!({"seek": {"roomId": room, "position": "120s"}})).await;
    assert_eq!(seek["seek"]["playback"]["status"], "PLAYBACK_STATUS_WAITING", "{seek}");
    let ready_reply = host.call(ready(version(&seek["seek"]["playback"]["version"]))).await;
    assert_eq!(ready_reply["reportReadiness"]["applied"], true);
    let play = host.call(json!({"play": {"roomId": room}})).await;
    assert_eq!(play["play"]["playback"]["status"], "PLAYBACK_STATUS_PLAYING", "{play}");
    host.call(json!({"pause": {"roomId": room}})).await;
    let zap =
        host.call(json!({"changeMedia": {"roomId": room, "media": {"assetId": "movie-2"}, "autoplay": true}})).await;
    host.call(ready(version(&zap["changeMedia"]["playback"]["version"]))).await;
    let last = host.call(json!({"pause": {"roomId": room}})).await;
    let last_version = version(&last["pause"]["playback"]["version"]);

    let host_frames = host.drain(Duration::from_millis(500)).await;
    let expected: Vec<(u64, String)> = versions(&host_frames).into_iter().filter(|(v, _)| *v <= last_version).collect();
    assert!(expected.len() >= 6, "seek, ready, play, pause, change, ready, pause: {expected:?}");
    for pair in expected.windows(2) {
        assert_eq!(pair[1].0, pair[0].0 + 1, "versions are gap-free: {expected:?}");
    }
    for (i, ws) in clients.iter_mut().enumerate() {
        let frames = ws.drain(Duration::from_millis(200)).await;
        let seen: Vec<(u64, String)> =
            versions(&frames).into_iter().filter(|(v, _)| *v > snapshot_versions[i] && *v <= last_version).collect();
        let want: Vec<(u64, String)> = expected.iter().filter(|(v, _)| *v > snapshot_versions[i]).cloned().collect();
        assert_eq!(seen, want, "client {i} (gateway {}) saw a different sequence", i % 2);
    }
}

#[tokio::test]
async fn a_straggler_is_released_after_the_ready_timeout() {
    let app = TestApp::spawn_with(hearth::Role::ALL, fast_presence).await;
    let (_, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut host, watch_party("Stragglers", "ROOM_VISIBILITY_PUBLIC", 0)).await;
    enter(&mut host, &room, false).await;
    let (slow_id, mut slow) = app.user_ws(&app.ws_url, &[]).await;
    enter(&mut slow, &room, true).await;

    let seek = host.call(json!({"seek": {"roomId": room, "position": "30s", }})).await;
    let waiting = version(&seek["seek"]["playback"]["version"]);
    assert!(seek["seek"]["playback"]["waitDeadline"].is_string(), "{seek}");
    host.call(json!({"reportReadiness": {"roomId": room, "playbackVersion": waiting.to_string(), "readiness": "READINESS_READY"}})).await;
    slow.call(json!({"reportReadiness": {"roomId": room, "playbackVersion": waiting.to_string(), "readiness": "READINESS_BUFFERING"}})).await;
    // The slow member never gets ready: the 1 s timeout releases them.
    let done = host
        .event_where(Duration::from_secs(5), |f| {
            f["roomEvent"]["playbackStateChanged"]["playback"]["cause"] == "PLAYBACK_CAUSE_READY_TIMEOUT"
        })
        .await;
    assert_eq!(done["roomEvent"]["playbackStateChanged"]["playback"]["status"], "PLAYBACK_STATUS_PAUSED");
    let released = host
        .event_where(Duration::from_secs(5), |f| {
            f["roomEvent"]["readinessChanged"]["userId"] == slow_id.as_str()
                && f["roomEvent"]["readinessChanged"]["playback"]["released"] == true
        })
        .await;
    assert_eq!(released["roomEvent"]["readinessChanged"]["playback"]["released"], true, "{released}");

    // Released, the slow member no longer holds the group: play starts at once, scheduled.
    let play = host.call(json!({"play": {"roomId": room}})).await;
    let playback = &play["play"]["playback"];
    assert_eq!(playback["status"], "PLAYBACK_STATUS_PLAYING", "{play}");
    let reference = time::OffsetDateTime::parse(
        playback["referenceTime"].as_str().unwrap_or_default(),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("reference time");
    let ahead = reference - time::OffsetDateTime::now_utc();
    assert!(
        ahead > time::Duration::milliseconds(200) && ahead <= time::Duration::milliseconds(600),
        "scheduled start {ahead}"
    );

    // Reports for an old version are ignored.
    let stale = slow.call(json!({"reportReadiness": {"roomId": room, "playbackVersion": waiting.to_string(), "readiness": "READINESS_READY"}})).await;
    assert!(stale["reportReadiness"]["applied"].is_null(), "ignored: {stale}");
    // A version not yet issued is refused: it would count as ready for every later wait.
    let future = slow
        .call(json!({"reportReadiness": {"roomId": room, "playbackVersion": (waiting + 1000).to_string(), "readiness": "READINESS_READY"}}))
        .await;
    assert_eq!(future["error"]["field"], "playback_version", "{future}");
}

#[tokio::test]
async fn zapping_to_a_live_channel_has_no_shared_position() {
    let app = TestApp::spawn().await;
    let (_, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut host, watch_party("Zap", "ROOM_VISIBILITY_PUBLIC", 0)).await;
    enter(&mut host, &room, false).await;
    let zap = host.call(json!({"changeMedia": {"roomId": room, "media": {"channelId": "sport-1"}}})).await;
    let playback = &zap["changeMedia"]["playback"];
    assert_eq!(playback["status"], "PLAYBACK_STATUS_PLAYING");
    assert_eq!(playback["live"], true);
    assert_eq!(playback["targetLatency"], "6s");
    assert!(playback.get("position").is_none());
    let refused = host.call(json!({"seek": {"roomId": room, "position": "10s"}})).await;
    assert!(refused["error"]["message"].as_str().unwrap_or_default().starts_with("live_media"), "{refused}");

    let queued = host.call(json!({"updateQueue": {"roomId": room, "add": {"media": {"assetId": "next-film"}}}})).await;
    assert_eq!(queued["updateQueue"]["queue"][0]["media"]["assetId"], "next-film", "{queued}");
    let next = host.call(json!({"playNext": {"roomId": room}})).await;
    assert_eq!(next["playNext"]["playback"]["media"]["assetId"], "next-film");
    assert!(next["playNext"]["queue"].is_null(), "the queue is empty: {next}");
    let empty = host.call(json!({"playNext": {"roomId": room}})).await;
    assert!(empty["error"]["message"].as_str().unwrap_or_default().starts_with("queue_empty"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_gateways_users_leave_presence_within_the_ttl() {
    let app = TestApp::spawn_with(hearth::Role::ALL, fast_presence).await;
    let mut doomed = app.spawn_gateway_process(env!("CARGO_BIN_EXE_hearth-test-roles")).await;
    let (_, mut observer) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut observer, watch_party("Crash", "ROOM_VISIBILITY_PUBLIC", 0)).await;
    enter(&mut observer, &room, false).await;
    let mut victims = Vec::new();
    for _ in 0..3 {
        let (id, mut ws) = app.user_ws(&doomed.ws_url, &[]).await;
        enter(&mut ws, &room, true).await;
        victims.push((id, ws));
    }
    let snapshot = observer.call(json!({"getRoomSnapshot": {"roomId": room}})).await;
    assert_eq!(snapshot["getRoomSnapshot"]["snapshot"]["presence"]["onlineUsers"], "4");
    // Heartbeats keep them present past the TTL while the gateway lives.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let snapshot = observer.call(json!({"getRoomSnapshot": {"roomId": room}})).await;
    assert_eq!(snapshot["getRoomSnapshot"]["snapshot"]["presence"]["onlineUsers"], "4", "leases are renewed");

    let killed_at = std::time::Instant::now();
    doomed.kill().await;
    for (id, _) in &victims {
        observer
            .event_where(Duration::from_secs(8), |f| {
                let member = &f["roomEvent"]["presenceChanged"]["member"];
                member["user"]["userId"] == id.as_str() && member.get("online").is_none_or(|o| o == false)
            })
            .await;
    }
    let gone_after = killed_at.elapsed();
    assert!(gone_after <= Duration::from_secs(3) + Duration::from_secs(2), "offline after {gone_after:?}");
    let snapshot = observer.call(json!({"getRoomSnapshot": {"roomId": room}})).await;
    assert_eq!(snapshot["getRoomSnapshot"]["snapshot"]["presence"]["onlineUsers"], "1");
}

#[tokio::test]
async fn leaving_and_closing_end_presence_at_once() {
    let app = TestApp::spawn().await;
    let (_, mut observer) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut observer, watch_party("Bye", "ROOM_VISIBILITY_PUBLIC", 0)).await;
    enter(&mut observer, &room, false).await;
    let (id, mut ws) = app.user_ws(&app.ws_url, &[]).await;
    enter(&mut ws, &room, false).await;
    observer
        .event_where(Duration::from_secs(5), |f| {
            f["roomEvent"]["presenceChanged"]["member"]["userId"].is_null()
                && f["roomEvent"]["presenceChanged"]["member"]["user"]["userId"] == id.as_str()
        })
        .await;
    let exited = ws.call(json!({"exitRoom": {"roomId": room}})).await;
    assert_eq!(exited["exitRoom"]["roomId"], room.as_str());
    observer
        .event_where(Duration::from_secs(5), |f| {
            let member = &f["roomEvent"]["presenceChanged"]["member"];
            member["user"]["userId"] == id.as_str() && member.get("online").is_none()
        })
        .await;
    enter(&mut ws, &room, false).await;
    drop(ws);
    observer
        .event_where(Duration::from_secs(5), |f| {
            let member = &f["roomEvent"]["presenceChanged"]["member"];
            member["user"]["userId"] == id.as_str() && member.get("online").is_none()
        })
        .await;
}

#[tokio::test]
async fn pipelined_readiness_reports_apply_in_the_order_sent() {
    let app = TestApp::spawn().await;
    let (_, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut host, watch_party("Order", "ROOM_VISIBILITY_PUBLIC", 0)).await;
    enter(&mut host, &room, false).await;
    for round in 0..5 {
        let seek = host.call(json!({"seek": {"roomId": room, "position": format!("{}s", 10 * (round + 1))}})).await;
        let waiting = version(&seek["seek"]["playback"]["version"]).to_string();
        // Both frames go out before any reply: BUFFERING must not overtake READY.
        for (i, readiness) in ["READINESS_BUFFERING", "READINESS_READY"].iter().enumerate() {
            let frame = json!({"ref": format!("o{round}-{i}"), "reportReadiness": {"roomId": room, "playbackVersion": waiting, "readiness": readiness}});
            host.send_json(frame).await;
        }
        let done = host
            .event_where(Duration::from_secs(3), |f| {
                let cause = &f["roomEvent"]["playbackStateChanged"]["playback"]["cause"];
                cause == "PLAYBACK_CAUSE_GROUP_READY" || cause == "PLAYBACK_CAUSE_READY_TIMEOUT"
            })
            .await;
        assert_eq!(
            done["roomEvent"]["playbackStateChanged"]["playback"]["cause"], "PLAYBACK_CAUSE_GROUP_READY",
            "round {round}"
        );
    }
}
