//! The matrix's "blocked" column: every act that reaches another person,
//! by a caller with no block, a caller the target blocked, and a caller who
//! blocked the target. Each cell is a fresh pair of users, so no cell's
//! block leaks into another.

use std::time::Duration;

use hearth_proto::hearth::recommendations::v1 as recs;
use hearth_proto::identity::{BlockRequest, FollowRequest};
use hearth_tests::{Registered, TestApp, Ws, authed, username};
use recs::recommendations_service_client::RecommendationsServiceClient;
use serde_json::{Value, json};

/// How caller and target stand.
#[derive(Clone, Copy, Debug)]
pub enum Relation {
    None,
    /// The target blocked the caller.
    BlockedByTarget,
    /// The caller blocked the target.
    BlockingTarget,
}

#[derive(Clone, Copy, Debug)]
enum Act {
    /// IdentityService/Follow of the target.
    Follow,
    /// `inviteUsers` of the target into the caller's room.
    InviteUsers,
    /// RecommendationsService/ShareItem of a room to the target.
    ShareToUser,
    /// `sendMessage` with `@target`.
    Mention,
    /// The caller's message as the target receives it live.
    LiveMessage,
    /// The caller's message in the target's `listMessages`.
    History,
}

/// The expected outcome per act: (no block, blocked by target, blocking
/// target), from docs/rooms.md, docs/chat.md, docs/protocol.md §9 and §11.
const CELLS: [(Act, [&str; 3]); 6] = [
    (Act::Follow, ["ok", "failed_precondition", "failed_precondition"]),
    (Act::InviteUsers, ["invited", "skipped/INVITE_SKIP_REASON_BLOCKED", "skipped/INVITE_SKIP_REASON_BLOCKED"]),
    (Act::ShareToUser, ["recipients=1", "recipients=0", "recipients=0"]),
    (Act::Mention, ["mentioned", "not_mentioned", "mentioned"]),
    (Act::LiveMessage, ["visible", "hidden", "visible"]),
    (Act::History, ["visible", "hidden", "visible"]),
];

struct Pair {
    caller: Registered,
    caller_ws: Ws,
    target: Registered,
    target_name: String,
    target_ws: Ws,
    /// A public room both are in.
    room: String,
}

async fn pair(app: &TestApp, relation: Relation) -> Pair {
    let caller = app.register(&username("caller")).await;
    let target_name = username("target");
    let target = app.register(&target_name).await;
    let mut identity = app.identity().await;
    let (blocker, blocked) = match relation {
        Relation::None => (None, None),
        Relation::BlockedByTarget => (Some(&target), Some(&caller)),
        Relation::BlockingTarget => (Some(&caller), Some(&target)),
    };
    if let (Some(blocker), Some(blocked)) = (blocker, blocked) {
        identity
            .block(authed(BlockRequest { user_id: blocked.user_id.clone() }, &blocker.access_token))
            .await
            .expect("block");
    }
    let mut caller_ws = app.ws_at(&app.ws_url).await;
    caller_ws.auth(&caller.access_token).await;
    let created = caller_ws
        .call(json!({"createRoom": {"kind": "ROOM_KIND_COMMUNITY", "visibility": "ROOM_VISIBILITY_PUBLIC",
                                     "title": "Commons"}}))
        .await;
    let room = created["createRoom"]["room"]["roomId"].as_str().expect("room id").to_owned();
    let entered = caller_ws.call(json!({"enterRoom": {"roomId": room}})).await;
    assert!(entered.get("enterRoom").is_some(), "{entered}");
    let mut target_ws = app.ws_at(&app.ws_url).await;
    target_ws.auth(&target.access_token).await;
    let joined = target_ws.call(json!({"enterRoom": {"roomId": room, "join": true}})).await;
    assert!(joined.get("enterRoom").is_some(), "{joined}");
    Pair { caller, caller_ws, target, target_name, target_ws, room }
}

fn code_of(status: &tonic::Status) -> String {
    super::grpc_outcome(&Err(status.clone())).code
}

async fn perform(app: &TestApp, act: Act, mut pair: Pair) -> String {
    match act {
        Act::Follow => {
            let mut identity = app.identity().await;
            let request = authed(FollowRequest { user_id: pair.target.user_id.clone() }, &pair.caller.access_token);
            match identity.follow(request).await {
                Ok(_) => "ok".into(),
                Err(status) => code_of(&status),
            }
        }
        Act::InviteUsers => {
            let created = pair
                .caller_ws
                .call(json!({"createRoom": {"kind": "ROOM_KIND_WATCH_PARTY", "title": "Film night",
                                             "media": {"assetId": "film-1"}}}))
                .await;
            let party = created["createRoom"]["room"]["roomId"].as_str().expect("party id").to_owned();
            let reply =
                pair.caller_ws.call(json!({"inviteUsers": {"roomId": party, "userIds": [pair.target.user_id]}})).await;
            let answer = &reply["inviteUsers"];
            if answer["invitedUserIds"][0] == pair.target.user_id.as_str() {
                "invited".into()
            } else if let Some(reason) = answer["skipped"][0]["reason"].as_str() {
                format!("skipped/{reason}")
            } else {
                format!("unexpected {reply}")
            }
        }
        Act::ShareToUser => {
            let mut client =
                RecommendationsServiceClient::connect(app.grpc_url.clone()).await.expect("recommendations");
            let request = recs::ShareItemRequest {
                target: Some(recs::share_item_request::Target::RoomId(pair.room.clone())),
                comment: String::new(),
                audience: Some(recs::share_item_request::Audience::ToUsers(recs::ShareRecipients {
                    user_ids: vec![pair.target.user_id.clone()],
                })),
            };
            match client.share_item(authed(request, &pair.caller.access_token)).await {
                Ok(answer) => format!("recipients={}", answer.into_inner().recipient_count),
                Err(status) => code_of(&status),
            }
        }
        Act::Mention => {
            let text = format!("@{} look", pair.target_name);
            let reply = pair
                .caller_ws
                .call(json!({"sendMessage": {"roomId": pair.room, "clientMsgId": "m1", "text": text}}))
                .await;
            let mentions = &reply["sendMessage"]["message"]["mentions"];
            if reply.get("sendMessage").is_none() {
                format!("unexpected {reply}")
            } else if mentions[0]["userId"] == pair.target.user_id.as_str() {
                "mentioned".into()
            } else {
                "not_mentioned".into()
            }
        }
        Act::LiveMessage | Act::History => {
            let reply = pair
                .caller_ws
                .call(json!({"sendMessage": {"roomId": pair.room, "clientMsgId": "h1", "text": "hello"}}))
                .await;
            let sequence = reply["sendMessage"]["message"]["sequence"].clone();
            let event =
                pair.target_ws.event_where(Duration::from_secs(5), |f| f["chatEvent"]["sequence"] == sequence).await;
            if let Act::LiveMessage = act {
                return visibility(
                    event["chatEvent"]["messagePosted"]["message"]["text"] == "hello",
                    event["chatEvent"]["messageHidden"].is_object(),
                    &event,
                );
            }
            let history = pair.target_ws.call(json!({"listMessages": {"roomId": pair.room}})).await;
            let message = &history["listMessages"]["messages"][0];
            visibility(message["text"] == "hello", message["state"] == "MESSAGE_STATE_HIDDEN", &history)
        }
    }
}

fn visibility(visible: bool, hidden: bool, seen: &Value) -> String {
    match (visible, hidden) {
        (true, false) => "visible".into(),
        (false, true) => "hidden".into(),
        _ => format!("unexpected {seen}"),
    }
}

/// Every cell; returns (cells run, mismatches).
pub async fn run(app: &TestApp) -> (usize, Vec<String>) {
    let mut mismatches = Vec::new();
    let mut total = 0;
    for (act, expected) in CELLS {
        for (relation, expected) in
            [Relation::None, Relation::BlockedByTarget, Relation::BlockingTarget].into_iter().zip(expected)
        {
            total += 1;
            let pair = pair(app, relation).await;
            let observed = perform(app, act, pair).await;
            if observed != expected {
                mismatches.push(format!("{act:?} as {relation:?}: expected {expected}, observed {observed}"));
            }
        }
    }
    (total, mismatches)
}
