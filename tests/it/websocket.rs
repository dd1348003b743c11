//! The WebSocket protocol's edges: authentication, clock sync, and every
//! kind of bad frame answered with a stable error code or close code.

use hearth_proto::hearth::gateway::v1::{Auth, ClientFrame, Ping, ServerFrame, client_frame, server_frame};
use hearth_tests::{Received, TestApp, username};
use prost::Message;
use serde_json::json;

#[tokio::test]
async fn auth_then_ping_pong() {
    let app = TestApp::spawn().await;
    let user = app.register(&username("ws")).await;
    let mut ws = app.ws().await;
    let connected = ws.auth(&user.access_token).await;
    assert_eq!(connected["ref"], "auth");
    assert_eq!(connected["connected"]["userId"], user.user_id.as_str(), "{connected}");
    assert!(connected["connected"]["serverTime"].is_string());
    assert!(connected["connected"]["heartbeatInterval"].is_string());

    ws.send_json(json!({"ref": "p1", "ping": {"clientTime": "2026-11-26T12:00:00.123Z"}})).await;
    let pong = ws.frame().await;
    assert_eq!(pong["ref"], "p1");
    let echoed = pong["pong"]["clientTime"].as_str().unwrap_or_default();
    assert!(echoed.starts_with("2026-11-26T12:00:00.123"), "client time echoed: {pong}");
    assert!(pong["pong"]["serverTime"].is_string());
}

#[tokio::test]
async fn query_token_and_binary_protobuf() {
    let app = TestApp::spawn().await;
    let user = app.register(&username("bin")).await;
    let mut ws = app.ws_at(&format!("{}?access_token={}&encoding=protobuf", app.ws_url, user.access_token)).await;
    let Received::Binary(bytes) = ws.recv().await else { panic!("binary connected frame expected") };
    let connected = ServerFrame::decode(bytes.as_slice()).expect("protobuf");
    assert!(matches!(connected.kind, Some(server_frame::Kind::Connected(ref c)) if c.user_id == user.user_id));

    let ping = ClientFrame { r#ref: "b1".into(), kind: Some(client_frame::Kind::Ping(Ping { client_time: None })) };
    ws.send_binary(ping.encode_to_vec()).await;
    let Received::Binary(bytes) = ws.recv().await else { panic!("binary pong expected") };
    let pong = ServerFrame::decode(bytes.as_slice()).expect("protobuf");
    assert_eq!(pong.r#ref, "b1");
    assert!(matches!(pong.kind, Some(server_frame::Kind::Pong(_))));

    // Garbage protobuf is an error frame, not a crash.
    ws.send_binary(vec![0xff, 0xff, 0xff]).await;
    let Received::Binary(bytes) = ws.recv().await else { panic!("binary error expected") };
    let error = ServerFrame::decode(bytes.as_slice()).expect("protobuf");
    assert!(matches!(error.kind, Some(server_frame::Kind::Error(ref e)) if e.code == "invalid_frame"));
    let _ = Auth::default();
}

#[tokio::test]
async fn frames_before_auth_are_refused() {
    let app = TestApp::spawn().await;
    let mut ws = app.ws().await;
    ws.send_json(json!({"ref": "early", "ping": {}})).await;
    let error = ws.frame().await;
    assert_eq!(error["ref"], "early");
    assert_eq!(error["error"]["code"], "unauthenticated");
}

#[tokio::test]
async fn bad_token_closes_with_4001() {
    let app = TestApp::spawn().await;
    let mut ws = app.ws().await;
    let error = ws.auth("eyJhbGciOiJub25lIn0.e30.").await;
    assert_eq!(error["error"]["code"], "unauthenticated");
    assert_eq!(ws.closed().await, Some(4001));
}

#[tokio::test]
async fn bad_frames_get_stable_codes_and_do_not_kill_the_connection() {
    let app = TestApp::spawn().await;
    let user = app.register(&username("bad")).await;
    let mut ws = app.ws().await;
    ws.auth(&user.access_token).await;

    ws.send_text("{not json").await;
    assert_eq!(ws.frame().await["error"]["code"], "invalid_frame");
    ws.send_json(json!({"ref": "u", "teleport": {}})).await;
    assert_eq!(ws.frame().await["error"]["code"], "unknown_frame");
    ws.send_json(json!({"ref": "e"})).await;
    let empty = ws.frame().await;
    assert_eq!((empty["ref"].as_str(), empty["error"]["code"].as_str()), (Some("e"), Some("unknown_frame")));
    ws.send_json(json!({"ref": "m", "auth": {}})).await;
    let missing = ws.frame().await;
    assert_eq!(missing["error"]["code"], "invalid_argument");
    assert_eq!(missing["error"]["field"], "access_token");
    let big = format!(r#"{{"ref":"big","ping":{{}},"pad":"{}"}}"#, "x".repeat(70 * 1024));
    ws.send_text(&big).await;
    assert_eq!(ws.frame().await["error"]["code"], "frame_too_large");
    ws.send_json(json!({"ref": "r".repeat(65), "ping": {}})).await;
    assert_eq!(ws.frame().await["error"]["field"], "ref");

    // Still alive and well.
    ws.send_json(json!({"ref": "ok", "ping": {}})).await;
    assert_eq!(ws.frame().await["ref"], "ok");

    // Another connection was never affected.
    let mut other = app.ws().await;
    assert!(other.auth(&user.access_token).await["connected"].is_object());
}

#[tokio::test]
async fn repeated_abuse_closes_with_1008_and_huge_frames_with_1009() {
    let app = TestApp::spawn().await;
    let user = app.register(&username("abuse")).await;
    let mut ws = app.ws().await;
    ws.auth(&user.access_token).await;
    for _ in 0..app.config.gateway.max_bad_frames {
        ws.send_text("nope").await;
    }
    assert_eq!(ws.closed().await, Some(1008));

    let mut ws = app.ws().await;
    ws.auth(&user.access_token).await;
    ws.send_text(&"x".repeat(app.config.gateway.max_frame_bytes * 5)).await;
    assert_eq!(ws.closed().await, Some(1009));
}

#[tokio::test]
async fn auth_deadline_and_shutdown_close_codes() {
    let app =
        TestApp::spawn_with(hearth::Role::ALL, |c| c.gateway.auth_timeout = std::time::Duration::from_millis(300))
            .await;
    let mut ws = app.ws().await;
    let timeout = ws.frame().await;
    assert_eq!(timeout["error"]["code"], "auth_timeout");
    assert_eq!(ws.closed().await, Some(4000));

    let user = app.register(&username("bye")).await;
    let mut ws = app.ws().await;
    ws.auth(&user.access_token).await;
    app.stop();
    let go_away = ws.frame().await;
    assert_eq!(go_away["goAway"]["reason"], "shutdown", "{go_away}");
    let delay: f64 =
        go_away["goAway"]["reconnectAfter"].as_str().and_then(|d| d.trim_end_matches('s').parse().ok()).unwrap_or(-1.0);
    assert!((0.0..5.0).contains(&delay), "reconnect within 0–5 s: {go_away}");
    assert_eq!(ws.closed().await, Some(1001), "shutdown says going away");
}

#[tokio::test]
async fn personal_events_reach_the_users_connections() {
    let app = TestApp::spawn().await;
    let ann = app.register(&username("ann")).await;
    let bob = app.register(&username("bob")).await;
    let mut ws = app.ws().await;
    ws.auth(&ann.access_token).await;
    // A ping round trip guarantees the subscription is in place.
    ws.send_json(json!({"ref": "sync", "ping": {}})).await;
    assert_eq!(ws.frame().await["ref"], "sync");

    let mut request = tonic::Request::new(hearth_proto::identity::FollowRequest { user_id: ann.user_id.clone() });
    request.metadata_mut().insert("authorization", format!("Bearer {}", bob.access_token).parse().expect("ascii"));
    app.identity().await.follow(request).await.expect("follow");

    let event = ws.frame().await;
    assert_eq!(event["userEvent"]["userId"], ann.user_id.as_str(), "{event}");
    assert_eq!(event["userEvent"]["newFollower"]["follower"]["userId"], bob.user_id.as_str(), "{event}");
    assert_eq!(event["userEvent"]["newFollower"]["mutual"], serde_json::Value::Null, "false is omitted in proto3 JSON");
}

#[tokio::test]
async fn an_expired_token_closes_the_connection_unless_renewed() {
    let app = TestApp::spawn_with(hearth::Role::ALL, |c| {
        c.auth.access_token_ttl = std::time::Duration::from_secs(3);
        c.auth.leeway = std::time::Duration::ZERO;
    })
    .await;
    let user = uuid::Uuid::now_v7().to_string();
    let mut ws = app.ws().await;
    ws.auth(&app.token(&user, &[])).await;
    // Renewed before it lapses (tokens last 2–3 s: `exp` is in whole
    // seconds): the connection lives on the new token past the first's end.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let renewed = ws.auth(&app.token(&user, &[])).await;
    assert!(renewed.get("connected").is_some(), "{renewed}");
    tokio::time::sleep(std::time::Duration::from_millis(1800)).await;
    let pong = ws.call(serde_json::json!({"ping": {"clientTime": "2026-01-01T00:00:00Z"}})).await;
    assert!(pong.get("pong").is_some(), "still open after the first token's expiry: {pong}");
    // Not renewed again: an error frame, then 4001.
    let expired = ws.frame().await;
    assert_eq!(expired["error"]["code"], "unauthenticated", "{expired}");
    assert_eq!(expired["error"]["field"], "access_token");
    assert_eq!(ws.closed().await, Some(4001));
}

#[tokio::test]
async fn logout_closes_that_sessions_connections_with_4009() {
    let app = TestApp::spawn().await;
    let name = username("leaver");
    let first = app.register(&name).await;
    let (_, second) =
        app.post("/v1/auth/login", json!({"username": name, "password": hearth_tests::PASSWORD}), None).await;
    let second_token = second["access_token"].as_str().expect("a second session").to_owned();
    let mut phone = app.ws().await;
    phone.auth(&first.access_token).await;
    let mut tv = app.ws().await;
    tv.auth(&second_token).await;

    let (status, _) = app.post("/v1/auth/logout", json!({}), Some(&first.access_token)).await;
    assert_eq!(status, 204);
    let told = phone.frame().await;
    assert_eq!(told["userEvent"]["sessionRevoked"]["reason"], "logout", "{told}");
    assert_eq!(phone.closed().await, Some(4009), "the logged-out session's connection closes");
    // The other session hears of it but stays connected.
    let heard = tv.frame().await;
    assert!(heard["userEvent"]["sessionRevoked"].is_object(), "{heard}");
    let pong = tv.call(json!({"ping": {"clientTime": "2026-01-01T00:00:00Z"}})).await;
    assert!(pong.get("pong").is_some(), "{pong}");
}
