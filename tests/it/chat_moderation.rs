//! Chat moderation over the real WebSocket: every mode refuses what it
//! should and allows what it should, rate limits name their retry time,
//! timeouts, bans and purges, blocked and held terms with review, shield
//! mode, reports, the audit log, and blocks and mentions between real
//! accounts.

use std::time::Duration;

use hearth_proto::identity as pb;
use hearth_tests::{TestApp, Ws, authed, username};
use serde_json::{Value, json};

use crate::{
    chat::{is_chat, member, num, post, room_with_host, send},
    rooms::error,
};

/// Updates settings through a field mask; returns the reply.
async fn update(ws: &mut Ws, room: &str, settings: Value, paths: &[&str]) -> Value {
    ws.call(json!({"updateChatSettings": {"roomId": room, "settings": settings, "updateMask": {"paths": paths}}})).await
}

/// The refusal's reason (first word of the message) and retry delay.
fn refusal(reply: &Value) -> (String, String, Option<f64>) {
    let (code, message, _) = error(reply);
    let reason = message.split(':').next().unwrap_or_default().to_owned();
    let retry = reply["error"]["retryAfter"].as_str().and_then(|s| s.trim_end_matches('s').parse().ok());
    (code, reason, retry)
}

#[tokio::test]
async fn each_mode_refuses_what_it_should_and_exempts_moderators() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut fan) = member(&app, &app.ws_url, &room).await;
    let (_, mut guest) = app.user_ws(&app.ws_url, &[]).await;
    let entered = guest.call(json!({"enterRoom": {"roomId": room}})).await;
    assert!(entered.get("enterRoom").is_some(), "guests enter public rooms: {entered}");

    // Only moderators change settings; values are range-checked.
    let denied = update(&mut fan, &room, json!({"membersOnly": true}), &["members_only"]).await;
    assert_eq!(refusal(&denied).0, "permission_denied");
    let bad = update(&mut host, &room, json!({"slowModeInterval": "0.5s"}), &["slow_mode_interval"]).await;
    assert_eq!(error(&bad).2, "settings.slow_mode_interval");
    let bad = update(&mut host, &room, json!({}), &["shield_mode"]).await;
    assert_eq!(refusal(&bad).1, "field_not_updatable");

    // Members-only: guests are refused.
    let on = update(&mut host, &room, json!({"membersOnly": true}), &["members_only"]).await;
    assert_eq!(on["updateChatSettings"]["settings"]["membersOnly"], true, "{on}");
    let changed = fan.event_where(Duration::from_secs(5), |f| is_chat(f, "settingsChanged")).await;
    assert_eq!(changed["chatEvent"]["settingsChanged"]["settings"]["membersOnly"], true);
    assert_eq!(refusal(&send(&mut guest, &room, "g1", "hello").await).1, "members_only");
    post(&mut fan, &room, "f1", "members may").await;
    update(&mut host, &room, json!({"membersOnly": false}), &["members_only"]).await;
    post(&mut guest, &room, "g2", "now guests may").await;

    // Followers-only: a member of less than 10 minutes waits, with the time.
    update(
        &mut host,
        &room,
        json!({"followersOnly": true, "followersOnlyMinAge": "600s"}),
        &["followers_only", "followersOnlyMinAge"],
    )
    .await;
    let (code, reason, retry) = refusal(&send(&mut fan, &room, "f2", "hi").await);
    assert_eq!((code.as_str(), reason.as_str()), ("permission_denied", "followers_only"));
    assert!(retry.is_some_and(|r| r > 590.0 && r <= 600.0), "retry after the rest of 10 min: {retry:?}");
    assert_eq!(refusal(&send(&mut guest, &room, "g3", "hi").await).1, "followers_only");
    post(&mut host, &room, "h1", "moderators are exempt").await;
    update(&mut host, &room, json!({"followersOnly": false}), &["followers_only"]).await;

    // Emote-only: only emoji pass.
    update(&mut host, &room, json!({"emoteOnly": true}), &["emote_only"]).await;
    assert_eq!(refusal(&send(&mut fan, &room, "f3", "words").await).1, "emote_only");
    post(&mut fan, &room, "f4", "🔥 🔥👏").await;
    update(&mut host, &room, json!({"emoteOnly": false}), &["emote_only"]).await;

    // Reactions-only: no messages, reactions still allowed.
    update(&mut host, &room, json!({"reactionsOnly": true}), &["reactions_only"]).await;
    assert_eq!(refusal(&send(&mut fan, &room, "f5", "🔥").await).1, "reactions_only");
    let react = fan.call(json!({"addReaction": {"roomId": room, "sequence": 1, "emoji": "👍"}})).await;
    assert!(react.get("addReaction").is_some(), "{react}");
    update(&mut host, &room, json!({"reactionsOnly": false}), &["reactions_only"]).await;

    // Slow mode: the second message waits, with the retry time; moderators do not.
    update(&mut host, &room, json!({"slowModeInterval": "5s"}), &["slow_mode_interval"]).await;
    post(&mut fan, &room, "f6", "first").await;
    let (code, reason, retry) = refusal(&send(&mut fan, &room, "f7", "second").await);
    assert_eq!((code.as_str(), reason.as_str()), ("rate_limited", "slow_mode"));
    assert!(retry.is_some_and(|r| r > 3.0 && r <= 5.0), "{retry:?}");
    post(&mut host, &room, "h2", "one").await;
    post(&mut host, &room, "h3", "two").await;

    // Max length per room.
    update(
        &mut host,
        &room,
        json!({"maxMessageLength": 10, "slowModeInterval": "0s"}),
        &["max_message_length", "slow_mode_interval"],
    )
    .await;
    assert_eq!(refusal(&send(&mut guest, &room, "g4", "eleven char").await).1, "text_too_long");

    // Every change is in the audit log, newest first.
    let log =
        host.call(json!({"listAuditLog": {"roomId": room, "actions": ["AUDIT_ACTION_CHAT_SETTINGS_CHANGED"]}})).await;
    let entries = log["listAuditLog"]["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 10, "{log}");
    assert_eq!(entries[0]["details"]["changed_fields"], "max_message_length,slow_mode_interval");
    assert_eq!(entries[0]["actorRole"], "ROOM_ROLE_OWNER");
}

#[tokio::test]
async fn rate_limits_name_the_retry_time() {
    let app = TestApp::spawn_with(hearth::Role::ALL, |c| {
        c.chat.member_messages_per_window = 3;
        c.chat.moderator_messages_per_window = 5;
    })
    .await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut fan) = member(&app, &app.ws_url, &room).await;
    for i in 0..3 {
        post(&mut fan, &room, &format!("f{i}"), "hi").await;
    }
    let (code, reason, retry) = refusal(&send(&mut fan, &room, "f3", "one too many").await);
    assert_eq!((code.as_str(), reason.as_str()), ("rate_limited", "rate_limited"));
    assert!(retry.is_some_and(|r| r > 25.0 && r <= 30.0), "{retry:?}");
    // A resend of an accepted message is not counted and not refused.
    let again = send(&mut fan, &room, "f0", "hi").await;
    assert_eq!(again["sendMessage"]["duplicate"], true, "{again}");
    for i in 0..5 {
        post(&mut host, &room, &format!("h{i}"), "moderators get more").await;
    }
    assert_eq!(refusal(&send(&mut host, &room, "h5", "too many").await).1, "rate_limited");
}

#[tokio::test]
async fn timeouts_bans_and_purges() {
    let app = TestApp::spawn().await;
    let (room, host_id, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (fan_id, mut fan) = member(&app, &app.ws_url, &room).await;
    let (mod_id, mut moderator) = member(&app, &app.ws_url, &room).await;
    let promoted =
        host.call(json!({"setMemberRole": {"roomId": room, "userId": mod_id, "role": "ROOM_ROLE_MODERATOR"}})).await;
    assert!(promoted.get("setMemberRole").is_some(), "{promoted}");
    let a = post(&mut fan, &room, "a", "spam").await;
    let b = post(&mut fan, &room, "b", "more spam").await;
    let kept = post(&mut host, &room, "c", "not spam").await;

    // Moderators act on weaker roles only; durations are bounded.
    let up = moderator.call(json!({"timeoutUser": {"roomId": room, "userId": host_id, "duration": "60s"}})).await;
    assert_eq!(refusal(&up).1, "insufficient_role");
    let short = moderator.call(json!({"timeoutUser": {"roomId": room, "userId": fan_id, "duration": "5s"}})).await;
    assert_eq!(error(&short).2, "duration");
    let missing = moderator.call(json!({"timeoutUser": {"roomId": room, "userId": fan_id}})).await;
    assert_eq!(error(&missing).2, "duration");

    let timeout = moderator
        .call(json!({"timeoutUser": {"roomId": room, "userId": fan_id, "duration": "120s", "reason": "spam", "purgeMessages": true}}))
        .await;
    let restriction = &timeout["timeoutUser"]["restriction"];
    assert_eq!(restriction["kind"], "RESTRICTION_KIND_TIMEOUT", "{timeout}");
    assert_eq!(restriction["reason"], "spam");
    // The purge is one sequenced event listing the removed messages.
    let purged = host.event_where(Duration::from_secs(5), |f| is_chat(f, "messagesPurged")).await;
    assert_eq!(num(&purged["chatEvent"]["sequence"]), kept + 1);
    assert_eq!(purged["chatEvent"]["messagesPurged"]["targetSequences"], json!([a.to_string(), b.to_string()]));
    // The user learns it personally; moderators see it on their channel.
    let personal = fan.event_where(Duration::from_secs(5), |f| f["userEvent"]["chatRestricted"].is_object()).await;
    assert_eq!(personal["userEvent"]["chatRestricted"]["reason"], "spam");
    host.event_where(Duration::from_secs(5), |f| is_chat(f, "userRestricted")).await;

    let (code, reason, retry) = refusal(&send(&mut fan, &room, "d", "let me talk").await);
    assert_eq!((code.as_str(), reason.as_str()), ("permission_denied", "timed_out"));
    assert!(retry.is_some_and(|r| r > 110.0 && r <= 120.0), "{retry:?}");
    let react = fan.call(json!({"addReaction": {"roomId": room, "sequence": kept, "emoji": "👍"}})).await;
    assert_eq!(refusal(&react).1, "timed_out", "no reactions while timed out");
    let resumed = fan.call(json!({"resumeChat": {"roomId": room}})).await;
    assert_eq!(resumed["resumeChat"]["myRestriction"]["kind"], "RESTRICTION_KIND_TIMEOUT");

    let list = moderator.call(json!({"listChatRestrictions": {"roomId": room}})).await;
    assert_eq!(list["listChatRestrictions"]["restrictions"].as_array().map(Vec::len), Some(1));
    let removed = moderator.call(json!({"removeTimeout": {"roomId": room, "userId": fan_id}})).await;
    assert!(removed.get("removeTimeout").is_some(), "{removed}");
    let again = moderator.call(json!({"removeTimeout": {"roomId": room, "userId": fan_id}})).await;
    assert_eq!(refusal(&again).1, "not_restricted");
    post(&mut fan, &room, "e", "thanks").await;

    let ban = moderator.call(json!({"banFromChat": {"roomId": room, "userId": fan_id, "reason": "again"}})).await;
    assert!(ban["banFromChat"]["restriction"]["expireTime"].is_null(), "permanent: {ban}");
    assert_eq!(refusal(&send(&mut fan, &room, "f", "hello?").await).1, "chat_banned");
    let fan_denied = fan.call(json!({"banFromChat": {"roomId": room, "userId": mod_id}})).await;
    assert_eq!(refusal(&fan_denied).0, "permission_denied");
    moderator.call(json!({"unbanFromChat": {"roomId": room, "userId": fan_id}})).await;
    post(&mut fan, &room, "g", "back").await;

    // A user banned from the room (not only its chat) cannot chat either.
    let (troll_id, mut troll) = member(&app, &app.ws_url, &room).await;
    host.call(json!({"banMember": {"roomId": room, "userId": troll_id}})).await;
    let (code, reason, _) = refusal(&send(&mut troll, &room, "t", "let me in").await);
    assert_eq!((code.as_str(), reason.as_str()), ("permission_denied", "banned"));
    let history = troll.call(json!({"listMessages": {"roomId": room}})).await;
    assert_eq!(refusal(&history).1, "banned");

    let log = host
        .call(json!({"listAuditLog": {"roomId": room, "targetUserId": fan_id, "actions": [
            "AUDIT_ACTION_CHAT_UNBANNED", "AUDIT_ACTION_CHAT_BANNED", "AUDIT_ACTION_TIMEOUT_REMOVED",
            "AUDIT_ACTION_USER_TIMED_OUT"]}}))
        .await;
    let actions: Vec<&str> = log["listAuditLog"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        actions,
        vec![
            "AUDIT_ACTION_CHAT_UNBANNED",
            "AUDIT_ACTION_CHAT_BANNED",
            "AUDIT_ACTION_TIMEOUT_REMOVED",
            "AUDIT_ACTION_USER_TIMED_OUT"
        ]
    );
}

#[tokio::test]
async fn blocked_terms_hold_for_review_and_shield_mode() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (fan_id, mut fan) = member(&app, &app.ws_url, &room).await;

    let add = |term: &str, action: &str| json!({"addBlockedTerm": {"roomId": room, "term": term, "action": action}});
    let blocked = host.call(add("spoiler*", "TERM_ACTION_BLOCK")).await;
    assert_eq!(blocked["addBlockedTerm"]["term"]["term"], "spoiler*", "{blocked}");
    let dup = host.call(add("SPOILER*", "TERM_ACTION_BLOCK")).await;
    assert_eq!(refusal(&dup), ("already_exists".into(), "term_exists".into(), None));
    host.call(add("free money", "TERM_ACTION_HOLD_FOR_REVIEW")).await;
    let bad = host.call(add("*", "TERM_ACTION_BLOCK")).await;
    assert_eq!(error(&bad).2, "term");
    assert_eq!(refusal(&fan.call(add("x", "TERM_ACTION_BLOCK")).await).0, "permission_denied");
    let global = json!({"addBlockedTerm": {"term": "badword", "action": "TERM_ACTION_BLOCK"}});
    assert_eq!(refusal(&host.call(global.clone()).await).1, "operator_only");
    let (_, mut admin) = app.user_ws(&app.ws_url, &["admin"]).await;
    assert!(admin.call(global).await.get("addBlockedTerm").is_some());
    let entered = admin.call(json!({"enterRoom": {"roomId": room}})).await;
    assert!(entered.get("enterRoom").is_some(), "{entered}");

    assert_eq!(refusal(&send(&mut fan, &room, "a", "SPOILERS ahead!").await).1, "blocked_term");
    assert_eq!(refusal(&send(&mut fan, &room, "b", "what a ＢＡＤＷＯＲＤ").await).1, "blocked_term");
    post(&mut fan, &room, "c", "no spoil here, badwords are fine").await;

    let held = send(&mut fan, &room, "d", "Get FREE money now").await;
    assert_eq!(held["sendMessage"]["status"], "SEND_STATUS_HELD_FOR_REVIEW", "{held}");
    let held_id = held["sendMessage"]["heldMessageId"].as_str().expect("an id").to_owned();
    let again = send(&mut fan, &room, "d", "Get FREE money now").await;
    assert_eq!(again["sendMessage"]["heldMessageId"], held_id.as_str(), "idempotent");
    let seen = host.event_where(Duration::from_secs(5), |f| is_chat(f, "messageHeld")).await;
    assert_eq!(seen["chatEvent"]["messageHeld"]["heldMessage"]["matchedTerms"], json!(["free money"]));
    admin.event_where(Duration::from_secs(5), |f| is_chat(f, "messageHeld")).await;
    let fan_frames = fan.drain(Duration::from_millis(300)).await;
    assert!(!fan_frames.iter().any(|f| is_chat(f, "messageHeld")), "moderators and operator admins only");

    let list = host.call(json!({"listHeldMessages": {"roomId": room}})).await;
    assert_eq!(list["listHeldMessages"]["heldMessages"].as_array().map(Vec::len), Some(1));
    let approved = host.call(json!({"approveHeldMessage": {"heldMessageId": held_id}})).await;
    let approved_seq = num(&approved["approveHeldMessage"]["message"]["sequence"]);
    assert!(approved_seq > 0, "{approved}");
    let decided = fan.event_where(Duration::from_secs(5), |f| f["userEvent"]["heldMessageDecided"].is_object()).await;
    assert_eq!(decided["userEvent"]["heldMessageDecided"]["approved"], true);
    let twice = host.call(json!({"approveHeldMessage": {"heldMessageId": held_id}})).await;
    assert_eq!(refusal(&twice).1, "held_message_not_found");

    let other = send(&mut fan, &room, "e", "free money again").await;
    let other_id = other["sendMessage"]["heldMessageId"].as_str().expect("an id").to_owned();
    let denied = host.call(json!({"denyHeldMessage": {"heldMessageId": other_id, "reason": "scam"}})).await;
    assert!(denied.get("denyHeldMessage").is_some(), "{denied}");
    let history = fan.call(json!({"listMessages": {"roomId": room}})).await;
    let texts: Vec<&str> = history["listMessages"]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(texts, vec!["no spoil here, badwords are fine", "Get FREE money now"]);

    // Shield mode: one switch for the strict preset, and back.
    let shield = host.call(json!({"setShieldMode": {"roomId": room, "enabled": true}})).await;
    let settings = &shield["setShieldMode"]["settings"];
    assert_eq!(settings["shieldMode"], true, "{shield}");
    assert_eq!(settings["membersOnly"], true);
    assert_eq!(settings["followersOnly"], true);
    assert_eq!(settings["slowModeInterval"], "30s");
    assert_eq!(refusal(&send(&mut fan, &room, "f", "new member").await).1, "followers_only");
    let link = send(&mut host, &room, "g", "see https://example.com").await;
    assert_eq!(link["sendMessage"]["status"], "SEND_STATUS_POSTED", "moderators' links pass");
    let off = host.call(json!({"setShieldMode": {"roomId": room, "enabled": false}})).await;
    let settings = &off["setShieldMode"]["settings"];
    assert!(settings["shieldMode"].is_null() && settings["membersOnly"].is_null(), "{off}");
    assert_eq!(settings["slowModeInterval"], "0s");
    post(&mut fan, &room, "h", "free to talk again").await;

    let terms = host.call(json!({"listBlockedTerms": {"roomId": room, "includeGlobal": true}})).await;
    assert_eq!(terms["listBlockedTerms"]["terms"].as_array().map(Vec::len), Some(3));
    let term_id = blocked["addBlockedTerm"]["term"]["termId"].as_str().expect("id").to_owned();
    host.call(json!({"removeBlockedTerm": {"termId": term_id}})).await;
    post(&mut fan, &room, "i", "spoilers are fine now").await;
    let _ = fan_id;
}

#[tokio::test]
async fn reports_go_to_the_queue_and_every_act_to_the_audit_log() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (fan_id, mut fan) = member(&app, &app.ws_url, &room).await;
    let (_, mut troll) = member(&app, &app.ws_url, &room).await;
    let bad = post(&mut troll, &room, "t", "rude words").await;

    let report = json!({"createReport": {"roomId": room, "sequence": bad, "reason": "REPORT_REASON_HARASSMENT"}});
    let first = fan.call(report.clone()).await;
    let id = first["createReport"]["reportId"].as_str().expect("an id").to_owned();
    let again = fan.call(report).await;
    assert_eq!(again["createReport"]["reportId"], id.as_str(), "one open report per target");
    let own =
        fan.call(json!({"createReport": {"roomId": room, "userId": fan_id, "reason": "REPORT_REASON_SPAM"}})).await;
    assert_eq!(refusal(&own).1, "cannot_report_self");
    let other =
        fan.call(json!({"createReport": {"roomId": room, "sequence": bad, "reason": "REPORT_REASON_OTHER"}})).await;
    assert_eq!(refusal(&other).1, "reason_required");
    let no_reason = fan.call(json!({"createReport": {"roomId": room, "sequence": bad}})).await;
    assert_eq!(refusal(&no_reason).1, "reason_required");

    let created = host.event_where(Duration::from_secs(5), |f| is_chat(f, "reportCreated")).await;
    assert!(created["chatEvent"]["reportCreated"]["report"]["reporter"].is_null(), "reporters stay anonymous");
    assert_eq!(refusal(&fan.call(json!({"listReports": {"roomId": room}})).await).0, "permission_denied");
    let queue = host.call(json!({"listReports": {"roomId": room}})).await;
    let reports = queue["listReports"]["reports"].as_array().expect("reports");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["messageText"], "rude words");
    assert!(reports[0]["reporter"].is_null());

    let resolved = host
        .call(json!({"resolveReport": {"reportId": id, "resolution": "REPORT_RESOLUTION_ACTION_TAKEN", "note": "deleted"}}))
        .await;
    assert_eq!(resolved["resolveReport"]["report"]["state"], "REPORT_STATE_RESOLVED", "{resolved}");
    let twice =
        host.call(json!({"resolveReport": {"reportId": id, "resolution": "REPORT_RESOLUTION_DISMISSED"}})).await;
    assert_eq!(refusal(&twice), ("failed_precondition".into(), "report_resolved".into(), None));
    host.call(json!({"deleteMessage": {"roomId": room, "sequence": bad, "reason": "harassment"}})).await;

    // Operator admins see every room's queue and log, reporters included.
    let (_, mut admin) = app.user_ws(&app.ws_url, &["admin"]).await;
    let all = admin.call(json!({"listReports": {"state": "REPORT_STATE_RESOLVED"}})).await;
    assert_eq!(all["listReports"]["reports"][0]["reporter"]["userId"], fan_id.as_str(), "{all}");
    assert_eq!(refusal(&host.call(json!({"listReports": {}})).await).1, "operator_only");
    let log = admin.call(json!({"listAuditLog": {"roomId": room, "page": {"pageSize": 1}}})).await;
    let entries = log["listAuditLog"]["entries"].as_array().expect("entries");
    assert_eq!(entries[0]["action"], "AUDIT_ACTION_MESSAGE_DELETED");
    assert_eq!(entries[0]["reason"], "harassment");
    let token = log["listAuditLog"]["page"]["nextPageToken"].as_str().expect("more").to_owned();
    let next = admin.call(json!({"listAuditLog": {"roomId": room, "page": {"pageSize": 1, "pageToken": token}}})).await;
    assert_eq!(next["listAuditLog"]["entries"][0]["action"], "AUDIT_ACTION_REPORT_RESOLVED");
    assert_eq!(refusal(&fan.call(json!({"listAuditLog": {"roomId": room}})).await).0, "permission_denied");
}

#[tokio::test]
async fn blocked_users_messages_are_hidden_and_mentions_resolve() {
    let app = TestApp::spawn().await;
    let ann_name = username("ann");
    let ann = app.register(&ann_name).await;
    let bob = app.register(&username("bob")).await;
    let cat_name = username("cat");
    let cat = app.register(&cat_name).await;
    let mut identity = app.identity().await;
    identity.block(authed(pb::BlockRequest { user_id: bob.user_id.clone() }, &ann.access_token)).await.expect("block");

    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let mut ws = Vec::new();
    for user in [&ann, &bob, &cat] {
        let mut socket = app.ws_at(&app.ws_url).await;
        socket.auth(&user.access_token).await;
        let entered = socket.call(json!({"enterRoom": {"roomId": room, "join": true}})).await;
        assert!(entered.get("enterRoom").is_some(), "{entered}");
        ws.push(socket);
    }
    let [ann_ws, bob_ws, cat_ws] = &mut ws[..] else { unreachable!() };

    let bob_seq = post(bob_ws, &room, "b1", "hi all").await;
    let live = ann_ws.event_where(Duration::from_secs(5), |f| num(&f["chatEvent"]["sequence"]) == bob_seq).await;
    assert!(live["chatEvent"]["messageHidden"].is_object(), "Ann gets a placeholder: {live}");
    let seen = cat_ws.event_where(Duration::from_secs(5), |f| num(&f["chatEvent"]["sequence"]) == bob_seq).await;
    assert_eq!(seen["chatEvent"]["messagePosted"]["message"]["text"], "hi all", "others see it");
    let history = ann_ws.call(json!({"listMessages": {"roomId": room}})).await;
    let message = &history["listMessages"]["messages"][0];
    assert_eq!(message["state"], "MESSAGE_STATE_HIDDEN", "{history}");
    assert!(message["text"].is_null() && message["author"].is_null());

    // Mentions: resolved to users, who are told personally.
    let text = format!("@{cat_name} look at this");
    let mention = cat_ws.call(json!({"ping": {"clientTime": "2026-01-01T00:00:00Z"}})).await;
    assert!(mention.get("pong").is_some());
    let reply = ann_ws.call(json!({"sendMessage": {"roomId": room, "clientMsgId": "a1", "text": text}})).await;
    let mentions = &reply["sendMessage"]["message"]["mentions"];
    assert_eq!(mentions[0]["userId"], cat.user_id.as_str(), "{reply}");
    assert_eq!(mentions[0]["length"], (cat_name.len() + 1) as u64);
    let told = cat_ws.event_where(Duration::from_secs(5), |f| f["userEvent"]["mention"].is_object()).await;
    assert_eq!(num(&told["userEvent"]["mention"]["sequence"]), num(&reply["sendMessage"]["message"]["sequence"]));
    // Someone who blocked the author is not mentioned.
    let blocked_mention = bob_ws
        .call(json!({"sendMessage": {"roomId": room, "clientMsgId": "b2", "text": format!("@{ann_name} hey")}}))
        .await;
    assert!(blocked_mention["sendMessage"]["message"]["mentions"].is_null(), "{blocked_mention}");

    // Unblocking takes effect on the live connection.
    identity
        .unblock(authed(pb::UnblockRequest { user_id: bob.user_id.clone() }, &ann.access_token))
        .await
        .expect("unblock");
    ann_ws.event_where(Duration::from_secs(5), |f| f["userEvent"]["blocksChanged"].is_object()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = post(bob_ws, &room, "b3", "can you see me now").await;
    let live = ann_ws.event_where(Duration::from_secs(5), |f| num(&f["chatEvent"]["sequence"]) == after).await;
    assert_eq!(live["chatEvent"]["messagePosted"]["message"]["text"], "can you see me now", "{live}");
    let _ = host.drain(Duration::from_millis(10)).await;
}

#[tokio::test]
async fn room_moderation_acts_reach_the_audit_log() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (fan_id, _fan) = member(&app, &app.ws_url, &room).await;
    let (other_id, _other) = member(&app, &app.ws_url, &room).await;
    host.call(json!({"setMemberRole": {"roomId": room, "userId": fan_id, "role": "ROOM_ROLE_MODERATOR"}})).await;
    host.call(json!({"kickMember": {"roomId": room, "userId": other_id, "reason": "off topic"}})).await;
    host.call(json!({"banMember": {"roomId": room, "userId": other_id, "reason": "again", "duration": "3600s"}})).await;

    // Recorded by rooms on JetStream, stored by chat's consumer.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let entries = loop {
        let log = host.call(json!({"listAuditLog": {"roomId": room}})).await;
        let entries = log["listAuditLog"]["entries"].as_array().cloned().unwrap_or_default();
        if entries.len() >= 3 || tokio::time::Instant::now() > deadline {
            break entries;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap_or_default()).collect();
    assert_eq!(
        actions,
        vec!["AUDIT_ACTION_MEMBER_BANNED", "AUDIT_ACTION_MEMBER_KICKED", "AUDIT_ACTION_ROLE_CHANGED"],
        "{entries:?}"
    );
    assert_eq!(entries[0]["reason"], "again");
    assert_eq!(entries[0]["details"]["duration"], "3600s");
    assert_eq!(entries[1]["targetUser"]["userId"], other_id.as_str());
    assert_eq!(entries[2]["details"]["to"], "moderator");
}

#[tokio::test]
async fn held_messages_and_restrictions_expire_once_and_say_so() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (fan_id, mut fan) = member(&app, &app.ws_url, &room).await;
    host.call(json!({"addBlockedTerm": {"roomId": room, "term": "promo", "action": "TERM_ACTION_HOLD_FOR_REVIEW"}}))
        .await;
    let held = send(&mut fan, &room, "p", "promo code inside").await;
    let id = held["sendMessage"]["heldMessageId"].as_str().expect("held").to_owned();
    // Fast-forward its 24 hours.
    let pool = hearth_platform::db::connect_lazy(&app.config.database).expect("pool");
    sqlx::query("UPDATE chat.held SET expires_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&pool)
        .await
        .expect("expire");
    let told = fan.event_where(Duration::from_secs(10), |f| f["userEvent"]["heldMessageDecided"].is_object()).await;
    assert_eq!(told["userEvent"]["heldMessageDecided"]["heldMessageId"], id.as_str());
    assert!(told["userEvent"]["heldMessageDecided"]["approved"].is_null(), "expired means not posted");
    let resolved = host.event_where(Duration::from_secs(5), |f| is_chat(f, "heldMessageResolved")).await;
    assert!(resolved["chatEvent"]["heldMessageResolved"]["resolvedBy"].is_null(), "nobody decided: {resolved}");
    let queue = host.call(json!({"listHeldMessages": {"roomId": room}})).await;
    assert!(queue["listHeldMessages"]["heldMessages"].is_null(), "{queue}");
    let late = host.call(json!({"approveHeldMessage": {"heldMessageId": id}})).await;
    assert_eq!(refusal(&late).1, "held_message_not_found");

    // A timeout ends by itself; moderators are told nobody lifted it.
    host.call(json!({"timeoutUser": {"roomId": room, "userId": fan_id, "duration": "600s"}})).await;
    assert_eq!(refusal(&send(&mut fan, &room, "q", "hello").await).1, "timed_out");
    sqlx::query("UPDATE chat.restrictions SET expires_at = now() - interval '1 second' WHERE user_id = $1::uuid")
        .bind(&fan_id)
        .execute(&pool)
        .await
        .expect("expire");
    post(&mut fan, &room, "r", "free again").await;
    let lifted = host.event_where(Duration::from_secs(10), |f| is_chat(f, "restrictionLifted")).await;
    assert_eq!(lifted["chatEvent"]["restrictionLifted"]["userId"], fan_id.as_str());
    assert!(lifted["chatEvent"]["restrictionLifted"]["liftedBy"].is_null(), "{lifted}");
}
