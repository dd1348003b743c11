//! Rooms over the real WebSocket and gRPC APIs: membership, roles, bans,
//! capacity, invites and their link previews, lists, presence, and refusals
//! of bad input that leave nothing behind.

use std::time::Duration;

use hearth_tests::{TestApp, Ws};
use serde_json::{Value, json};

/// Creates a room over the WebSocket; returns its id.
pub async fn create_room(ws: &mut Ws, room: Value) -> String {
    let reply = ws.call(json!({ "createRoom": room })).await;
    reply["createRoom"]["room"]["roomId"].as_str().unwrap_or_else(|| panic!("create failed: {reply}")).to_owned()
}

pub fn watch_party(title: &str, visibility: &str, capacity: u32) -> Value {
    json!({
        "kind": "ROOM_KIND_WATCH_PARTY",
        "visibility": visibility,
        "title": title,
        "media": {"assetId": "movie-42"},
        "settings": {"capacity": capacity},
    })
}

pub async fn enter(ws: &mut Ws, room: &str, join: bool) -> Value {
    ws.call(json!({"enterRoom": {"roomId": room, "join": join}})).await
}

/// The error code and message of a reply, or panics on success.
pub fn error(reply: &Value) -> (String, String, String) {
    let error = reply.get("error").unwrap_or_else(|| panic!("expected an error, got {reply}"));
    (
        error["code"].as_str().unwrap_or_default().to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
        error["field"].as_str().unwrap_or_default().to_owned(),
    )
}

fn version(value: &Value) -> u64 {
    value.as_str().and_then(|v| v.parse().ok()).or_else(|| value.as_u64()).unwrap_or(0)
}

#[tokio::test]
async fn create_enter_and_snapshot() {
    let app = TestApp::spawn().await;
    let (host_id, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut host, watch_party("Film night", "ROOM_VISIBILITY_PRIVATE", 0)).await;
    let entered = enter(&mut host, &room, false).await;
    let snapshot = &entered["enterRoom"]["snapshot"];
    assert_eq!(snapshot["room"]["title"], "Film night");
    assert_eq!(snapshot["room"]["settings"]["capacity"], 100, "watch parties default to 100");
    assert_eq!(snapshot["myRole"], "ROOM_ROLE_OWNER");
    assert_eq!(snapshot["presence"]["onlineUsers"], "1");
    assert_eq!(snapshot["onlineMembers"][0]["user"]["userId"], host_id.as_str());
    assert_eq!(snapshot["playback"]["status"], "PLAYBACK_STATUS_PAUSED");
    assert_eq!(snapshot["playback"]["media"]["assetId"], "movie-42");
    assert!(version(&snapshot["version"]) > 0);

    // A private room does not exist for outsiders.
    let (_, mut stranger) = app.user_ws(&app.ws_url, &[]).await;
    let refused = enter(&mut stranger, &room, true).await;
    assert_eq!(error(&refused).0, "not_found");
    let refused = stranger.call(json!({"getRoom": {"roomId": room}})).await;
    assert_eq!(error(&refused).0, "not_found");
}

#[tokio::test]
async fn host_only_refuses_a_member_seek_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (_, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut host, watch_party("Host only", "ROOM_VISIBILITY_PUBLIC", 0)).await;
    enter(&mut host, &room, false).await;
    let (_, mut member) = app.user_ws(&app.ws_url, &[]).await;
    let entered = enter(&mut member, &room, true).await;
    assert_eq!(entered["enterRoom"]["joined"], true);
    let before = version(&entered["enterRoom"]["snapshot"]["version"]);
    let refused = member.call(json!({"seek": {"roomId": room, "position": "60s"}})).await;
    let (code, message, _) = error(&refused);
    assert_eq!(code, "permission_denied");
    assert!(message.starts_with("not_host"), "{message}");
    let snapshot = member.call(json!({"getRoomSnapshot": {"roomId": room}})).await;
    assert_eq!(version(&snapshot["getRoomSnapshot"]["snapshot"]["version"]), before, "nothing changed");
    assert_eq!(snapshot["getRoomSnapshot"]["snapshot"]["playback"]["position"], "0s");

    // Once promoted to host, the same member may seek.
    let (member_id, _) = (entered["enterRoom"]["snapshot"]["onlineMembers"].as_array().map(|m| m.len()), ());
    assert!(member_id.is_some());
    let member_user = snapshot["getRoomSnapshot"]["snapshot"]["onlineMembers"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "ROOM_ROLE_MEMBER"))
        .map(|m| m["user"]["userId"].as_str().unwrap_or_default().to_owned())
        .expect("the member is online");
    let promoted =
        host.call(json!({"setMemberRole": {"roomId": room, "userId": member_user, "role": "ROOM_ROLE_HOST"}})).await;
    assert_eq!(promoted["setMemberRole"]["member"]["role"], "ROOM_ROLE_HOST", "{promoted}");
    let seek = member.call(json!({"seek": {"roomId": room, "position": "60s"}})).await;
    assert_eq!(seek["seek"]["playback"]["position"], "60s", "{seek}");
}

#[tokio::test]
async fn capacity_is_enforced_and_nothing_is_half_written() {
    let app = TestApp::spawn().await;
    let (_, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut host, watch_party("Two seats", "ROOM_VISIBILITY_PUBLIC", 2)).await;
    let (_, mut second) = app.user_ws(&app.ws_url, &[]).await;
    assert_eq!(enter(&mut second, &room, true).await["enterRoom"]["joined"], true);
    let (_, mut third) = app.user_ws(&app.ws_url, &[]).await;
    let refused = enter(&mut third, &room, true).await;
    let (code, message, _) = error(&refused);
    assert_eq!(code, "rate_limited");
    assert!(message.starts_with("room_full"), "{message}");
    let room_now = third.call(json!({"getRoom": {"roomId": room}})).await;
    assert_eq!(room_now["getRoom"]["room"]["memberCount"], "2");
    // A guest may still watch along without a seat.
    let guest = enter(&mut third, &room, false).await;
    assert!(guest["enterRoom"]["snapshot"]["myRole"].is_null(), "a guest has no role: {guest}");
    assert!(guest["enterRoom"]["joined"].is_null());
}

#[tokio::test]
async fn a_banned_user_is_refused_by_every_path() {
    let app = TestApp::spawn().await;
    let (_, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut host, watch_party("No trolls", "ROOM_VISIBILITY_PRIVATE", 0)).await;
    enter(&mut host, &room, false).await;
    let invite = host.call(json!({"createInvite": {"roomId": room, "maxUses": 10}})).await;
    let code = invite["createInvite"]["invite"]["code"].as_str().expect("invite code").to_owned();
    assert_eq!(code.len(), 22, "128-bit codes");
    assert!(invite["createInvite"]["invite"]["url"].as_str().unwrap_or_default().ends_with(&format!("/i/{code}")));

    let (troll_id, mut troll) = app.user_ws(&app.ws_url, &[]).await;
    let joined = troll.call(json!({"enterRoom": {"roomId": room, "inviteCode": code}})).await;
    assert_eq!(joined["enterRoom"]["joined"], true, "{joined}");
    let ban = host
        .call(json!({"banMember": {"roomId": room, "userId": troll_id, "reason": "spam", "duration": "3600s"}}))
        .await;
    assert_eq!(ban["banMember"]["ban"]["reason"], "spam", "{ban}");

    // The troll's connection hears it, loses the room and gets the reason privately.
    let banned = troll.event_where(Duration::from_secs(5), |f| f["roomEvent"].get("memberBanned").is_some()).await;
    assert_eq!(banned["roomEvent"]["memberBanned"]["user"]["userId"], troll_id.as_str());
    let personal = troll.event_where(Duration::from_secs(5), |f| f.get("userEvent").is_some()).await;
    assert_eq!(personal["userEvent"]["removedFromRoom"]["reason"], "spam");

    for attempt in [
        json!({"enterRoom": {"roomId": room, "join": true}}),
        json!({"enterRoom": {"roomId": room, "inviteCode": code}}),
        json!({"getRoomSnapshot": {"roomId": room}}),
    ] {
        let refused = troll.call(attempt.clone()).await;
        let (code, message, _) = error(&refused);
        assert_eq!(code, "permission_denied", "{attempt}: {refused}");
        assert!(message.starts_with("banned"), "{message}");
    }
    // A fresh personal invite cannot let them back in either.
    let skipped = host.call(json!({"inviteUsers": {"roomId": room, "userIds": [troll_id]}})).await;
    assert_eq!(skipped["inviteUsers"]["skipped"][0]["reason"], "INVITE_SKIP_REASON_BANNED", "{skipped}");

    // Lifting the ban lets the invite work again.
    host.call(json!({"unbanMember": {"roomId": room, "userId": troll_id}})).await;
    let back = troll.call(json!({"enterRoom": {"roomId": room, "inviteCode": code}})).await;
    assert_eq!(back["enterRoom"]["joined"], true, "{back}");
}

#[tokio::test]
async fn kicks_roles_and_ownership_follow_the_ladder() {
    let app = TestApp::spawn().await;
    let (owner_id, mut owner) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut owner, watch_party("Ladder", "ROOM_VISIBILITY_PUBLIC", 0)).await;
    enter(&mut owner, &room, false).await;
    let (mod_id, mut moderator) = app.user_ws(&app.ws_url, &[]).await;
    enter(&mut moderator, &room, true).await;
    let (member_id, mut member) = app.user_ws(&app.ws_url, &[]).await;
    enter(&mut member, &room, true).await;
    owner.call(json!({"setMemberRole": {"roomId": room, "userId": mod_id, "role": "ROOM_ROLE_MODERATOR"}})).await;

    let refused = member.call(json!({"kickMember": {"roomId": room, "userId": mod_id}})).await;
    assert!(error(&refused).1.starts_with("insufficient_role"));
    let refused = moderator.call(json!({"kickMember": {"roomId": room, "userId": owner_id}})).await;
    assert!(error(&refused).1.starts_with("insufficient_role"));
    let refused =
        owner.call(json!({"setMemberRole": {"roomId": room, "userId": mod_id, "role": "ROOM_ROLE_OWNER"}})).await;
    assert_eq!(error(&refused).0, "invalid_argument");
    let kicked =
        moderator.call(json!({"kickMember": {"roomId": room, "userId": member_id, "reason": "cool off"}})).await;
    assert!(kicked.get("kickMember").is_some(), "{kicked}");
    member.event_where(Duration::from_secs(5), |f| f["roomEvent"].get("memberKicked").is_some()).await;
    // A kicked member may come back by the normal paths.
    assert_eq!(enter(&mut member, &room, true).await["enterRoom"]["joined"], true);

    let refused = owner.call(json!({"leaveRoom": {"roomId": room}})).await;
    assert!(error(&refused).1.starts_with("owner_must_transfer"));
    let moved = owner.call(json!({"transferOwnership": {"roomId": room, "newOwnerId": mod_id}})).await;
    assert_eq!(moved["transferOwnership"]["room"]["ownerId"], mod_id.as_str(), "{moved}");
    let left = owner.call(json!({"leaveRoom": {"roomId": room}})).await;
    assert!(left.get("leaveRoom").is_some(), "{left}");
}

#[tokio::test]
async fn invites_expire_run_out_and_are_revoked() {
    let app = TestApp::spawn().await;
    let (_, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut host, watch_party("Invites", "ROOM_VISIBILITY_PRIVATE", 0)).await;
    let single = host.call(json!({"createInvite": {"roomId": room, "maxUses": 1}})).await;
    let single = single["createInvite"]["invite"]["code"].as_str().expect("code").to_owned();
    let (_, mut first) = app.user_ws(&app.ws_url, &[]).await;
    assert_eq!(
        first.call(json!({"enterRoom": {"roomId": room, "inviteCode": single}})).await["enterRoom"]["joined"],
        true
    );
    let (_, mut second) = app.user_ws(&app.ws_url, &[]).await;
    let refused = second.call(json!({"enterRoom": {"roomId": room, "inviteCode": single}})).await;
    assert_eq!(error(&refused).0, "failed_precondition");
    assert!(error(&refused).1.starts_with("invite_exhausted"));

    let expiring = host.call(json!({"createInvite": {"roomId": room, "ttl": "300s"}})).await;
    let expiring = expiring["createInvite"]["invite"]["code"].as_str().expect("code").to_owned();
    // Let time pass in the database rather than in the test.
    let pool = sqlx::PgPool::connect(app.config.database.url.expose()).await.expect("db");
    sqlx::query("UPDATE rooms.invites SET expires_at = now() - interval '1 second' WHERE code = $1")
        .bind(&expiring)
        .execute(&pool)
        .await
        .expect("expire");
    let refused = second.call(json!({"enterRoom": {"roomId": room, "inviteCode": expiring}})).await;
    assert!(error(&refused).1.starts_with("invite_expired"), "{refused}");

    let revocable = host.call(json!({"createInvite": {"roomId": room}})).await;
    let revocable = revocable["createInvite"]["invite"]["code"].as_str().expect("code").to_owned();
    host.call(json!({"revokeInvite": {"code": revocable}})).await;
    let refused = second.call(json!({"enterRoom": {"roomId": room, "inviteCode": revocable}})).await;
    assert!(error(&refused).1.starts_with("invite_revoked"), "{refused}");

    let refused = host.call(json!({"createInvite": {"roomId": room, "ttl": "60s"}})).await;
    assert_eq!(error(&refused).2, "ttl");
}

#[tokio::test]
async fn invite_links_preview_as_opengraph_html_and_json() {
    let app = TestApp::spawn().await;
    let (_, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(
        &mut host,
        json!({"kind": "ROOM_KIND_WATCH_PARTY", "title": "Friday <Film> & \"friends\"", "media": {"assetId": "movie-7"},
               "imageUrl": "https://img.example/poster.jpg"}),
    )
    .await;
    let invite = host.call(json!({"createInvite": {"roomId": room}})).await;
    let code = invite["createInvite"]["invite"]["code"].as_str().expect("code").to_owned();

    let page = app.http.get(format!("{}/i/{code}", app.http_url)).send().await.expect("page");
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap_or_default().starts_with("text/html"));
    let html = page.text().await.expect("html");
    for tag in ["og:title", "og:type", "og:image", "og:url", "og:description", "twitter:card"] {
        assert!(html.contains(&format!("\"{tag}\"")), "{tag} missing in {html}");
    }
    assert!(html.contains("video.movie"));
    assert!(html.contains("https://img.example/poster.jpg"));
    assert!(html.contains("Friday &lt;Film&gt; &amp; &quot;friends&quot;"), "escaped title");
    assert!(!html.contains("<Film>"));

    let json = app
        .http
        .get(format!("{}/i/{code}", app.http_url))
        .header("accept", "application/json")
        .send()
        .await
        .expect("json");
    assert_eq!(json.status(), 200);
    let body: Value = json.json().await.expect("json body");
    assert_eq!(body["preview"]["status"], "INVITE_STATUS_VALID");
    assert_eq!(body["preview"]["roomId"], room.as_str());

    let unknown = app.http.get(format!("{}/i/AAAAAAAAAAAAAAAAAAAAAA", app.http_url)).send().await.expect("page");
    assert_eq!(unknown.status(), 404);
    host.call(json!({"revokeInvite": {"code": code}})).await;
    let gone = app.http.get(format!("{}/i/{code}", app.http_url)).send().await.expect("page");
    assert_eq!(gone.status(), 410);
    assert!(!gone.text().await.unwrap_or_default().contains("Friday"), "a dead invite reveals nothing");
}

#[tokio::test]
async fn lists_page_and_order_by_live_popularity() {
    let app = TestApp::spawn().await;
    let (_, mut admin) = app.user_ws(&app.ws_url, &["admin"]).await;
    let news = create_room(
        &mut admin,
        json!({"kind": "ROOM_KIND_CHANNEL", "title": "News 24", "media": {"channelId": "news-24"}}),
    )
    .await;
    let sport = create_room(
        &mut admin,
        json!({"kind": "ROOM_KIND_CHANNEL", "title": "Sport", "media": {"channelId": "sport-1"}}),
    )
    .await;
    let again = admin
        .call(json!({"createRoom": {"kind": "ROOM_KIND_CHANNEL", "title": "Dup", "media": {"channelId": "news-24"}}}))
        .await;
    assert!(error(&again).1.starts_with("channel_room_exists"), "{again}");
    let (_, mut viewer) = app.user_ws(&app.ws_url, &[]).await;
    let refused = viewer
        .call(json!({"createRoom": {"kind": "ROOM_KIND_CHANNEL", "title": "Mine", "media": {"channelId": "x"}}}))
        .await;
    assert!(error(&refused).1.starts_with("operator_only"), "{refused}");

    // Three viewers watch Sport, one watches News: Sport ranks first.
    let mut viewers = Vec::new();
    for _ in 0..3 {
        let (_, mut ws) = app.user_ws(&app.ws_url, &[]).await;
        enter(&mut ws, &sport, false).await;
        viewers.push(ws);
    }
    enter(&mut viewer, &news, true).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // counts are coalesced to 1/s
    let popular = viewer.call(json!({"listPublicRooms": {"kind": "ROOM_KIND_CHANNEL"}})).await;
    let order: Vec<&str> = popular["listPublicRooms"]["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .filter_map(|r| r["roomId"].as_str())
        .collect();
    assert_eq!(order, vec![sport.as_str(), news.as_str()], "{popular}");
    assert_eq!(popular["listPublicRooms"]["rooms"][0]["onlineCount"], "3");
    let by_channel = viewer.call(json!({"listPublicRooms": {"channelId": "news-24"}})).await;
    assert_eq!(by_channel["listPublicRooms"]["rooms"].as_array().map(Vec::len), Some(1));

    // Paging: one per page, then the second, then nothing.
    let first =
        viewer.call(json!({"listPublicRooms": {"order": "PUBLIC_ROOM_ORDER_NEWEST", "page": {"pageSize": 1}}})).await;
    assert_eq!(first["listPublicRooms"]["rooms"][0]["roomId"], sport.as_str());
    let token = first["listPublicRooms"]["page"]["nextPageToken"].as_str().expect("next page").to_owned();
    let second = viewer.call(json!({"listPublicRooms": {"order": "PUBLIC_ROOM_ORDER_NEWEST", "page": {"pageSize": 1, "pageToken": token}}})).await;
    assert_eq!(second["listPublicRooms"]["rooms"][0]["roomId"], news.as_str());
    let forged = viewer.call(json!({"listPublicRooms": {"page": {"pageToken": token}}})).await;
    assert_eq!(error(&forged).2, "page.page_token", "a token is bound to its query");

    let mine = viewer.call(json!({"listMyRooms": {}})).await;
    assert_eq!(mine["listMyRooms"]["memberships"][0]["room"]["roomId"], news.as_str());
    // Unbounded rooms count members in sharded counters: joins and leaves add up.
    assert_eq!(mine["listMyRooms"]["memberships"][0]["room"]["memberCount"], "2", "{mine}");
    viewer.call(json!({"leaveRoom": {"roomId": news}})).await;
    let after = admin.call(json!({"getRoom": {"roomId": news}})).await;
    assert_eq!(after["getRoom"]["room"]["memberCount"], "1", "{after}");
}

#[tokio::test]
async fn bad_input_gets_specific_errors_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (_, mut ws) = app.user_ws(&app.ws_url, &[]).await;
    let cases = [
        (
            json!({"createRoom": {"kind": "ROOM_KIND_WATCH_PARTY", "title": "x".repeat(121), "media": {"assetId": "a"}}}),
            "invalid_argument",
            "title",
        ),
        (
            json!({"createRoom": {"kind": "ROOM_KIND_WATCH_PARTY", "title": "   ", "media": {"assetId": "a"}}}),
            "invalid_argument",
            "title",
        ),
        (json!({"createRoom": {"kind": "ROOM_KIND_WATCH_PARTY", "title": "ok"}}), "invalid_argument", "media"),
        (
            json!({"createRoom": {"kind": "ROOM_KIND_WATCH_PARTY", "title": "ok", "media": {"url": "javascript:alert(1)"}}}),
            "invalid_argument",
            "media.url",
        ),
        (
            json!({"createRoom": {"kind": "ROOM_KIND_WATCH_PARTY", "title": "ok", "media": {"assetId": ""}}}),
            "invalid_argument",
            "media.asset_id",
        ),
        (json!({"createRoom": {"title": "ok", "media": {"assetId": "a"}}}), "invalid_argument", "kind"),
        (
            json!({"createRoom": {"kind": "ROOM_KIND_WATCH_PARTY", "title": "ok", "media": {"assetId": "a"}, "settings": {"capacity": 1}}}),
            "invalid_argument",
            "settings.capacity",
        ),
        (
            json!({"createRoom": {"kind": "ROOM_KIND_WATCH_PARTY", "title": "ok", "media": {"assetId": "a"}, "imageUrl": "http://x"}}),
            "invalid_argument",
            "image_url",
        ),
        (json!({"getRoom": {"roomId": "not-a-uuid"}}), "invalid_argument", "room_id"),
        (json!({"getRoom": {"roomId": "0190b7a0-0000-7000-8000-000000000000"}}), "not_found", ""),
        (json!({"enterRoom": {"roomId": "0190b7a0-0000-7000-8000-000000000000", "join": true}}), "not_found", ""),
        (json!({"enterRoom": {"roomId": ""}}), "invalid_argument", "room_id"),
        (json!({"listPublicRooms": {"page": {"pageSize": 1000}}}), "invalid_argument", "page.page_size"),
        (json!({"revokeInvite": {"code": "short"}}), "invalid_argument", "code"),
    ];
    for (frame, code, field) in cases {
        let reply = ws.call(frame.clone()).await;
        let (got, message, got_field) = error(&reply);
        assert_eq!((got.as_str(), got_field.as_str()), (code, field), "{frame} → {reply}");
        assert!(!message.is_empty());
    }
    let mine = ws.call(json!({"listMyRooms": {}})).await;
    assert!(mine["listMyRooms"]["memberships"].is_null(), "no failed create left a room behind: {mine}");

    // Commands on a room the caller is not in.
    let (_, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut host, watch_party("Mine", "ROOM_VISIBILITY_PUBLIC", 0)).await;
    let refused = ws.call(json!({"play": {"roomId": room}})).await;
    assert!(error(&refused).1.starts_with("not_member"), "{refused}");
    let refused = host.call(json!({"setRate": {"roomId": room, "rate": 3.0}})).await;
    assert_eq!(error(&refused).2, "rate");
    let refused = host.call(json!({"play": {"roomId": room, "expectedVersion": "1"}})).await;
    assert!(error(&refused).1.starts_with("version_conflict"), "{refused}");
    for _ in 0..10 {
        let refused = ws.call(json!({"enterRoom": {"roomId": room}})).await;
        assert!(refused.get("enterRoom").is_some());
    }
}

#[tokio::test]
async fn a_connection_enters_at_most_ten_rooms() {
    let app = TestApp::spawn().await;
    let (_, mut ws) = app.user_ws(&app.ws_url, &[]).await;
    for i in 0..10 {
        let room = create_room(&mut ws, watch_party(&format!("Room {i}"), "ROOM_VISIBILITY_PUBLIC", 0)).await;
        assert!(enter(&mut ws, &room, false).await.get("enterRoom").is_some());
    }
    let room = create_room(&mut ws, watch_party("Eleventh", "ROOM_VISIBILITY_PUBLIC", 0)).await;
    let refused = enter(&mut ws, &room, false).await;
    assert_eq!(error(&refused).0, "rate_limited");
    assert!(error(&refused).1.starts_with("too_many_rooms"));
}

#[tokio::test]
async fn online_members_carry_their_profiles() {
    let app = TestApp::spawn().await;
    let name = hearth_tests::username("ann");
    let ann = app.register(&name).await;
    let mut ws = app.ws().await;
    ws.auth(&ann.access_token).await;
    let room = create_room(&mut ws, watch_party("Profiles", "ROOM_VISIBILITY_PUBLIC", 0)).await;
    let entered = enter(&mut ws, &room, false).await;
    let me = &entered["enterRoom"]["snapshot"]["onlineMembers"][0]["user"];
    assert_eq!(me["userId"], ann.user_id.as_str());
    assert_eq!(me["username"], name.as_str(), "{entered}");
    let listed = ws.call(json!({"listMembers": {"roomId": room}})).await;
    assert_eq!(listed["listMembers"]["members"][0]["user"]["username"], name.as_str(), "{listed}");
}

#[tokio::test]
async fn updates_follow_the_mask_and_deletion_reaches_everyone() {
    let app = TestApp::spawn().await;
    let (_, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut host, watch_party("Before", "ROOM_VISIBILITY_PUBLIC", 0)).await;
    enter(&mut host, &room, false).await;
    let (_, mut member) = app.user_ws(&app.ws_url, &[]).await;
    enter(&mut member, &room, true).await;

    let update = |title: &str, paths: &str| {
        json!({"updateRoom": {"room": {"roomId": room, "title": title, "settings": {"playbackPolicy": "PLAYBACK_POLICY_EVERYONE"}},
               "updateMask": {"paths": paths.split(',').collect::<Vec<_>>()}}})
    };
    let refused = member.call(update("Mine now", "title")).await;
    assert!(error(&refused).1.starts_with("not_host"), "{refused}");
    let refused = host.call(update("x", "createdBy")).await;
    assert_eq!(error(&refused).2, "update_mask", "{refused}");
    let updated = host.call(update("After", "title,settings.playbackPolicy")).await;
    assert_eq!(updated["updateRoom"]["room"]["title"], "After", "{updated}");
    assert_eq!(updated["updateRoom"]["room"]["settings"]["playbackPolicy"], "PLAYBACK_POLICY_EVERYONE");
    let event = member.event_where(Duration::from_secs(5), |f| f["roomEvent"].get("roomUpdated").is_some()).await;
    assert_eq!(event["roomEvent"]["roomUpdated"]["room"]["title"], "After");
    // With EVERYONE, members control playback.
    let paused = member.call(json!({"play": {"roomId": room}})).await;
    assert_eq!(paused["play"]["playback"]["status"], "PLAYBACK_STATUS_PLAYING", "{paused}");

    let refused = member.call(json!({"deleteRoom": {"roomId": room}})).await;
    assert!(error(&refused).1.starts_with("not_owner"), "{refused}");
    let deleted = host.call(json!({"deleteRoom": {"roomId": room}})).await;
    assert!(deleted.get("deleteRoom").is_some(), "{deleted}");
    member.event_where(Duration::from_secs(5), |f| f["roomEvent"].get("roomDeleted").is_some()).await;
    let personal = member.event_where(Duration::from_secs(5), |f| f.get("userEvent").is_some()).await;
    assert_eq!(personal["userEvent"]["removedFromRoom"]["kind"], "REMOVAL_KIND_ROOM_DELETED");
    let gone = member.call(json!({"getRoom": {"roomId": room}})).await;
    assert_eq!(error(&gone).0, "not_found");
}

#[tokio::test]
async fn personal_invites_reach_real_users_only() {
    let app = TestApp::spawn().await;
    let (_, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut host, watch_party("Personal", "ROOM_VISIBILITY_PRIVATE", 0)).await;
    let friend = app.register(&hearth_tests::username("friend")).await;
    let mut friend_ws = app.ws().await;
    friend_ws.auth(&friend.access_token).await;
    let ghost = "0190b7a0-0000-7000-8000-00000000dead";
    let reply = host
        .call(json!({"inviteUsers": {"roomId": room, "userIds": [friend.user_id, ghost], "message": "film?"}}))
        .await;
    assert_eq!(reply["inviteUsers"]["invitedUserIds"], json!([friend.user_id]), "{reply}");
    assert_eq!(reply["inviteUsers"]["skipped"][0]["reason"], "INVITE_SKIP_REASON_USER_NOT_FOUND");
    let invited =
        friend_ws.event_where(Duration::from_secs(5), |f| f["userEvent"].get("inviteReceived").is_some()).await;
    let received = &invited["userEvent"]["inviteReceived"];
    assert_eq!(received["message"], "film?");
    let code = received["invite"]["code"].as_str().expect("personal code").to_owned();
    // The personal invite admits its invitee only.
    let (_, mut other) = app.user_ws(&app.ws_url, &[]).await;
    let refused = other.call(json!({"enterRoom": {"roomId": room, "inviteCode": code}})).await;
    assert!(error(&refused).1.starts_with("invite_not_yours"), "{refused}");
    let joined = friend_ws.call(json!({"enterRoom": {"roomId": room, "inviteCode": code}})).await;
    assert_eq!(joined["enterRoom"]["joined"], true, "{joined}");
}
