//! Chat over the real WebSocket: ordering and gap-freedom across replicas
//! and gateways, idempotent sends, history, threads, deletion, resume
//! within and beyond the window, reactions, live reactions, typing, blocks
//! and refusals of bad input that store nothing.

use std::{collections::HashMap, time::Duration};

use hearth_tests::{TestApp, Ws};
use serde_json::{Value, json};

use crate::rooms::{create_room, enter, error, watch_party};

/// A u64 field of canonical JSON (a string) as a number.
pub fn num(value: &Value) -> u64 {
    value.as_str().and_then(|v| v.parse().ok()).or_else(|| value.as_u64()).unwrap_or(0)
}

/// Sends a message; returns the whole reply.
pub async fn send(ws: &mut Ws, room: &str, id: &str, text: &str) -> Value {
    ws.call(json!({"sendMessage": {"roomId": room, "clientMsgId": id, "text": text}})).await
}

/// Sends a message that must be posted; returns its sequence.
pub async fn post(ws: &mut Ws, room: &str, id: &str, text: &str) -> u64 {
    let reply = send(ws, room, id, text).await;
    assert_eq!(reply["sendMessage"]["status"], "SEND_STATUS_POSTED", "not posted: {reply}");
    num(&reply["sendMessage"]["message"]["sequence"])
}

pub fn is_chat(frame: &Value, kind: &str) -> bool {
    frame["chatEvent"].get(kind).is_some()
}

/// The next `n` sequenced chat events (posts, deletions, purges, hidden).
pub async fn sequenced(ws: &mut Ws, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < n {
        let frame = ws
            .event_where(Duration::from_secs(10), |f| f.get("chatEvent").is_some_and(|c| num(&c["sequence"]) > 0))
            .await;
        out.push(frame["chatEvent"].clone());
    }
    out
}

/// A room with a host inside; returns (room, host ws).
pub async fn room_with_host(app: &TestApp, visibility: &str) -> (String, String, Ws) {
    let (host_id, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let room = create_room(&mut host, watch_party("Chat night", visibility, 0)).await;
    let entered = enter(&mut host, &room, false).await;
    assert!(entered.get("enterRoom").is_some(), "{entered}");
    (room, host_id, host)
}

/// A new user who joined and entered the room.
pub async fn member(app: &TestApp, url: &str, room: &str) -> (String, Ws) {
    let (id, mut ws) = app.user_ws(url, &[]).await;
    let entered = enter(&mut ws, room, true).await;
    assert!(entered.get("enterRoom").is_some(), "{entered}");
    (id, ws)
}

#[tokio::test]
async fn messages_are_sequenced_delivered_in_order_and_idempotent() {
    let app = TestApp::spawn().await;
    let (room, host_id, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut guest) = member(&app, &app.ws_url, &room).await;

    let first = send(&mut host, &room, "m-1", "  Hello\r\nworld  ").await;
    let message = &first["sendMessage"]["message"];
    assert_eq!(num(&message["sequence"]), 1);
    assert_eq!(message["text"], "Hello\nworld", "normalised: CRLF → LF, trimmed");
    assert_eq!(message["author"]["userId"], host_id.as_str());
    assert_eq!(message["authorRole"], "ROOM_ROLE_OWNER");
    assert_eq!(message["clientMsgId"], "m-1");
    for i in 2..=5 {
        assert_eq!(post(&mut host, &room, &format!("m-{i}"), &format!("message {i}")).await, i);
    }
    // A resend returns the first result and posts nothing.
    let again = send(&mut host, &room, "m-1", "something else").await;
    assert_eq!(again["sendMessage"]["duplicate"], true);
    assert_eq!(num(&again["sendMessage"]["message"]["sequence"]), 1);
    assert_eq!(again["sendMessage"]["message"]["text"], "Hello\nworld");

    let events = sequenced(&mut guest, 5).await;
    let seqs: Vec<u64> = events.iter().map(|e| num(&e["sequence"])).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert_eq!(events[0]["messagePosted"]["message"]["text"], "Hello\nworld");
    let extra = guest.drain(Duration::from_millis(300)).await;
    assert!(!extra.iter().any(|f| is_chat(f, "messagePosted")), "the resend was not delivered: {extra:?}");

    // History: the latest page, then older pages by token.
    let page = guest.call(json!({"listMessages": {"roomId": room, "page": {"pageSize": 2}}})).await;
    let messages = page["listMessages"]["messages"].as_array().expect("messages").clone();
    assert_eq!(messages.iter().map(|m| num(&m["sequence"])).collect::<Vec<_>>(), vec![4, 5]);
    assert_eq!(num(&page["listMessages"]["position"]["sequence"]), 5);
    let token = page["listMessages"]["page"]["nextPageToken"].as_str().expect("a next page").to_owned();
    let older =
        guest.call(json!({"listMessages": {"roomId": room, "page": {"pageSize": 2, "pageToken": token}}})).await;
    let older: Vec<u64> =
        older["listMessages"]["messages"].as_array().expect("messages").iter().map(|m| num(&m["sequence"])).collect();
    assert_eq!(older, vec![2, 3]);
    let after = guest.call(json!({"listMessages": {"roomId": room, "afterSequence": 3}})).await;
    let after: Vec<u64> =
        after["listMessages"]["messages"].as_array().expect("messages").iter().map(|m| num(&m["sequence"])).collect();
    assert_eq!(after, vec![4, 5]);
}

#[tokio::test]
async fn replies_threads_and_deletion_tombstones() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut guest) = member(&app, &app.ws_url, &room).await;

    let root = post(&mut host, &room, "root", "What did you think?").await;
    let reply = guest
        .call(
            json!({"sendMessage": {"roomId": room, "clientMsgId": "r1", "text": "Loved it", "replyToSequence": root}}),
        )
        .await;
    let reply_msg = &reply["sendMessage"]["message"];
    assert_eq!(num(&reply_msg["replyToSequence"]), root);
    assert_eq!(num(&reply_msg["threadRootSequence"]), root);
    assert_eq!(reply_msg["replyTo"]["text"], "What did you think?");
    let nested = num(&reply_msg["sequence"]);
    let deeper = host
        .call(
            json!({"sendMessage": {"roomId": room, "clientMsgId": "r2", "text": "Me too", "replyToSequence": nested}}),
        )
        .await;
    assert_eq!(num(&deeper["sendMessage"]["message"]["threadRootSequence"]), root, "threads keep their root");

    let thread = guest.call(json!({"getThread": {"roomId": room, "rootSequence": root}})).await;
    assert_eq!(num(&thread["getThread"]["root"]["replyCount"]), 2);
    assert_eq!(thread["getThread"]["replies"].as_array().map(Vec::len), Some(2));
    // Paged one reply at a time.
    let first = guest.call(json!({"getThread": {"roomId": room, "rootSequence": root, "page": {"pageSize": 1}}})).await;
    assert_eq!(num(&first["getThread"]["replies"][0]["sequence"]), nested);
    let token = first["getThread"]["page"]["nextPageToken"].as_str().expect("a next page").to_owned();
    let second = guest
        .call(json!({"getThread": {"roomId": room, "rootSequence": root, "page": {"pageSize": 1, "pageToken": token}}}))
        .await;
    assert_eq!(num(&second["getThread"]["replies"][0]["sequence"]), num(&deeper["sendMessage"]["message"]["sequence"]));

    // A reply to nothing is refused and stores nothing.
    let bad = guest
        .call(json!({"sendMessage": {"roomId": room, "clientMsgId": "r3", "text": "?", "replyToSequence": 999}}))
        .await;
    let (code, message, _) = error(&bad);
    assert_eq!(code, "not_found");
    assert!(message.starts_with("reply_not_found"), "{message}");

    // Only the author or a moderator deletes; deletion is a sequenced event.
    let refused = guest.call(json!({"deleteMessage": {"roomId": room, "sequence": root}})).await;
    assert!(error(&refused).1.starts_with("not_author"));
    let deleted = guest.call(json!({"deleteMessage": {"roomId": room, "sequence": nested}})).await;
    let event_seq = num(&deleted["deleteMessage"]["eventSequence"]);
    assert_eq!(event_seq, 4, "the stream has no holes: posts 1–3, deletion 4");
    let again = guest.call(json!({"deleteMessage": {"roomId": room, "sequence": nested}})).await;
    assert_eq!(num(&again["deleteMessage"]["eventSequence"]), event_seq, "idempotent");
    let spoiler = post(&mut guest, &room, "s", "the butler did it").await;
    let by_mod = host.call(json!({"deleteMessage": {"roomId": room, "sequence": spoiler, "reason": "spoiler"}})).await;
    assert_eq!(num(&by_mod["deleteMessage"]["eventSequence"]), 6);

    let events = sequenced(&mut guest, 6).await;
    assert!(events[3]["messageDeleted"].is_object(), "{}", events[3]);
    assert_eq!(num(&events[3]["messageDeleted"]["targetSequence"]), nested);
    assert!(events[3]["messageDeleted"]["byModerator"].is_null(), "the author deleted it");
    assert_eq!(events[5]["messageDeleted"]["byModerator"], true);

    let history = guest.call(json!({"listMessages": {"roomId": room}})).await;
    let messages = history["listMessages"]["messages"].as_array().expect("messages");
    let tomb = messages.iter().find(|m| num(&m["sequence"]) == nested).expect("the tombstone");
    assert_eq!(tomb["state"], "MESSAGE_STATE_DELETED");
    assert!(tomb["text"].is_null(), "a tombstone keeps no text: {tomb}");
    let removed = messages.iter().find(|m| num(&m["sequence"]) == spoiler).expect("the spoiler");
    assert_eq!(removed["deletedByModerator"], true);
    let root_msg = messages.iter().find(|m| num(&m["sequence"]) == root).expect("the root");
    assert_eq!(root_msg["state"], "MESSAGE_STATE_VISIBLE");

    // The audit log has the moderator's deletion, not the author's own.
    let log = host.call(json!({"listAuditLog": {"roomId": room}})).await;
    let entries = log["listAuditLog"]["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{log}");
    assert_eq!(entries[0]["action"], "AUDIT_ACTION_MESSAGE_DELETED");
    assert_eq!(entries[0]["reason"], "spoiler");
}

#[tokio::test]
async fn resume_recovers_exactly_the_missed_events_from_redis_or_postgres() {
    let app = TestApp::spawn_with(hearth::Role::ALL, |c| c.chat.resume_max_events = 10).await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (guest_id, mut guest) = member(&app, &app.ws_url, &room).await;
    post(&mut host, &room, "a", "one").await;
    post(&mut host, &room, "b", "two").await;
    let seen = sequenced(&mut guest, 2).await;
    assert_eq!(num(&seen[1]["sequence"]), 2);
    let position = guest.call(json!({"listMessages": {"roomId": room, "page": {"pageSize": 1}}})).await;
    let epoch = position["listMessages"]["position"]["epoch"].as_str().unwrap_or_default().to_owned();
    assert!(!epoch.is_empty(), "the window has an epoch: {position}");
    drop(guest);

    // While away: three posts and the deletion of one seen earlier.
    post(&mut host, &room, "c", "three").await;
    post(&mut host, &room, "d", "four").await;
    host.call(json!({"deleteMessage": {"roomId": room, "sequence": 1}})).await;
    post(&mut host, &room, "e", "five").await;

    let mut back = app.ws_at(&app.ws_url).await;
    back.auth(&app.token(&guest_id, &[])).await;
    let resume = |epoch: &str| json!({"enterRoom": {"roomId": room, "chatPosition": {"sequence": 2, "epoch": epoch}}});
    let entered = back.call(resume(&epoch)).await;
    let chat = &entered["enterRoom"]["chat"];
    assert_eq!(chat["outcome"], "RESUME_OUTCOME_RECOVERED", "{entered}");
    let got: Vec<u64> = chat["messages"].as_array().expect("messages").iter().map(|m| num(&m["sequence"])).collect();
    assert_eq!(got, vec![3, 4, 6], "exactly the missed messages (5 was the deletion)");
    assert_eq!(chat["deletedSequences"], json!(["1"]));
    assert_eq!(num(&chat["position"]["sequence"]), 6);
    assert_eq!(chat["position"]["epoch"], epoch.as_str());

    // A lost window (new epoch) is noticed and served from Postgres.
    let entered = back.call(resume("lost-epoch")).await;
    let chat = &entered["enterRoom"]["chat"];
    assert_eq!(chat["outcome"], "RESUME_OUTCOME_RECOVERED");
    let got: Vec<u64> = chat["messages"].as_array().expect("messages").iter().map(|m| num(&m["sequence"])).collect();
    assert_eq!(got, vec![3, 4, 6]);
    assert_eq!(chat["deletedSequences"], json!(["1"]));

    // Live events continue after the position, with nothing repeated.
    post(&mut host, &room, "f", "six").await;
    let next = sequenced(&mut back, 1).await;
    assert_eq!(num(&next[0]["sequence"]), 7);

    // Beyond the limit: told to reload rather than given a partial list.
    for i in 0..11 {
        post(&mut host, &room, &format!("bulk-{i}"), "more").await;
    }
    let far = back.call(resume(&epoch)).await;
    assert_eq!(far["enterRoom"]["chat"]["outcome"], "RESUME_OUTCOME_TOO_FAR_BEHIND");
    assert!(far["enterRoom"]["chat"]["messages"].is_null());
    assert_eq!(num(&far["enterRoom"]["chat"]["position"]["sequence"]), 18);
}

#[tokio::test]
async fn bad_input_gets_a_specific_error_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PRIVATE").await;
    let cases = [
        (json!({"roomId": room, "clientMsgId": "x1", "text": "   "}), "text_empty", "text"),
        (json!({"roomId": room, "clientMsgId": "x2", "text": "a".repeat(501)}), "text_too_long", "text"),
        (json!({"roomId": room, "clientMsgId": "x3", "text": "bell\u{7}"}), "control_characters", "text"),
        (json!({"roomId": room, "clientMsgId": "x4", "text": "\u{202E}evil"}), "control_characters", "text"),
        (json!({"roomId": room, "clientMsgId": "x 5", "text": "hi"}), "invalid_client_msg_id", "client_msg_id"),
        (json!({"roomId": room, "clientMsgId": "", "text": "hi"}), "invalid_client_msg_id", "client_msg_id"),
        (json!({"roomId": "nope", "clientMsgId": "x6", "text": "hi"}), "", "room_id"),
    ];
    for (request, reason, field) in cases {
        let reply = host.call(json!({"sendMessage": request})).await;
        let (code, message, got_field) = error(&reply);
        assert_eq!(code, "invalid_argument", "{reply}");
        assert!(message.starts_with(reason), "{reason}: {message}");
        assert_eq!(got_field, field);
    }
    let lines = "a\n".repeat(12);
    let reply = send(&mut host, &room, "x7", &lines).await;
    assert!(error(&reply).1.starts_with("too_many_lines"), "{reply}");

    // Unknown rooms and private rooms of others look the same.
    let unknown = send(&mut host, &uuid::Uuid::now_v7().to_string(), "x8", "hi").await;
    assert_eq!(error(&unknown).0, "not_found");
    let (_, mut outsider) = app.user_ws(&app.ws_url, &[]).await;
    let private = send(&mut outsider, &room, "x9", "hi").await;
    assert_eq!(error(&private).0, "not_found");
    assert!(error(&private).1.starts_with("room_not_found"));

    // Invalid UTF-8 inside a protobuf string field: an error frame, no crash.
    let mut binary = app.ws_at(&app.ws_url).await;
    binary.auth(&app.token(&uuid::Uuid::now_v7().to_string(), &[])).await;
    // ClientFrame{ ref=1: "b", send_message=50: SendMessageRequest{ text=3: 0xFF 0xFE } }
    let inner: Vec<u8> = vec![0x1a, 0x02, 0xff, 0xfe];
    let mut frame = vec![0x0a, 0x01, b'b', 0x92, 0x03, inner.len() as u8];
    frame.extend(inner);
    binary.send_binary(frame).await;
    // (The connection answers in JSON: its first frame, auth, was JSON.)
    let reply = binary.frame().await;
    assert_eq!(reply["error"]["code"], "invalid_frame", "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap_or_default().contains("UTF-8"), "{reply}");

    let history = host.call(json!({"listMessages": {"roomId": room}})).await;
    assert!(history["listMessages"]["messages"].is_null(), "nothing was stored: {history}");
    assert_eq!(num(&history["listMessages"]["position"]["sequence"]), 0);
}

#[tokio::test]
async fn reactions_live_reactions_and_typing() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (guest_id, mut guest) = member(&app, &app.ws_url, &room).await;
    let seq = post(&mut host, &room, "m", "Goal!").await;

    let added = guest.call(json!({"addReaction": {"roomId": room, "sequence": seq, "emoji": "🔥"}})).await;
    assert_eq!(added["addReaction"]["reactions"], json!([{"emoji": "🔥", "count": 1, "me": true}]));
    let again = guest.call(json!({"addReaction": {"roomId": room, "sequence": seq, "emoji": "🔥"}})).await;
    assert_eq!(again["addReaction"]["reactions"][0]["count"], 1, "idempotent");
    host.call(json!({"addReaction": {"roomId": room, "sequence": seq, "emoji": "🔥"}})).await;
    let bad = host.call(json!({"addReaction": {"roomId": room, "sequence": seq, "emoji": "fire"}})).await;
    assert!(error(&bad).1.starts_with("invalid_emoji"));
    // Counts are broadcast coalesced, ending at the final state.
    let update = host
        .event_where(Duration::from_secs(5), |f| {
            is_chat(f, "reactionsUpdated") && f["chatEvent"]["reactionsUpdated"]["reactions"][0]["count"] == 2
        })
        .await;
    assert_eq!(num(&update["chatEvent"]["reactionsUpdated"]["targetSequence"]), seq);
    let users = host.call(json!({"listReactionUsers": {"roomId": room, "sequence": seq, "emoji": "🔥"}})).await;
    assert_eq!(users["listReactionUsers"]["users"].as_array().map(Vec::len), Some(2));
    let removed = guest.call(json!({"removeReaction": {"roomId": room, "sequence": seq, "emoji": "🔥"}})).await;
    assert_eq!(removed["removeReaction"]["reactions"][0]["me"], Value::Null);

    // 30 taps from 3 viewers become a handful of aggregated broadcasts.
    let (_, mut third) = member(&app, &app.ws_url, &room).await;
    for ws in [&mut host, &mut guest, &mut third] {
        for _ in 0..10 {
            let reply = ws.call(json!({"sendLiveReaction": {"roomId": room, "emoji": "👏"}})).await;
            assert!(reply.get("sendLiveReaction").is_some(), "{reply}");
        }
    }
    let not_allowed = host.call(json!({"sendLiveReaction": {"roomId": room, "emoji": "🦄"}})).await;
    assert!(error(&not_allowed).1.starts_with("emoji_not_allowed"));
    let frames = guest.drain(Duration::from_millis(800)).await;
    let windows: Vec<&Value> = frames.iter().filter(|f| is_chat(f, "liveReactions")).collect();
    let total: u64 = windows
        .iter()
        .flat_map(|w| w["chatEvent"]["liveReactions"]["counts"].as_array().cloned().unwrap_or_default())
        .map(|c| num(&c["count"]))
        .sum();
    assert_eq!(total, 30, "every tap counted once: {windows:?}");
    assert!(windows.len() <= 6, "aggregated, not one broadcast per tap: {}", windows.len());

    // Typing: broadcast once per 3 s per user, with an expiry.
    guest.call(json!({"setTyping": {"roomId": room, "typing": true}})).await;
    guest.call(json!({"setTyping": {"roomId": room, "typing": true}})).await;
    let typing = host.event_where(Duration::from_secs(5), |f| is_chat(f, "typingUpdated")).await;
    assert_eq!(typing["chatEvent"]["typingUpdated"]["user"]["userId"], guest_id.as_str());
    assert!(typing["chatEvent"]["typingUpdated"]["expireTime"].is_string());
    let more = host.drain(Duration::from_millis(300)).await;
    assert!(!more.iter().any(|f| is_chat(f, "typingUpdated")), "throttled: {more:?}");
}

#[tokio::test]
async fn two_chat_replicas_and_two_gateways_agree_on_one_gap_free_order() {
    // Replica 1: every role. Replica 2: chat alone; gateway 2 talks to it.
    let app = TestApp::spawn_with(hearth::Role::ALL, |c| c.chat.member_messages_per_window = 1000).await;
    let mut chat2_config = app.config.clone();
    chat2_config.grpc.addr = ([127, 0, 0, 1], 0).into();
    chat2_config.services.identity_url = app.grpc_url.clone();
    chat2_config.services.rooms_url = app.grpc_url.clone();
    let chat2 = TestApp::start_shared(chat2_config, &[hearth::Role::Chat]).await;
    let mut gateway2_config = app.config.clone();
    gateway2_config.gateway.addr = ([127, 0, 0, 1], 0).into();
    gateway2_config.services.identity_url = app.grpc_url.clone();
    gateway2_config.services.rooms_url = app.grpc_url.clone();
    gateway2_config.services.chat_url = chat2.grpc_url.clone();
    let gateway2 = TestApp::start_shared(gateway2_config, &[hearth::Role::Gateway]).await;

    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for i in 0..4 {
        let url = if i % 2 == 0 { &app.ws_url } else { &gateway2.ws_url };
        senders.push(member(&app, url, &room).await.1);
        receivers.push(member(&app, url, &room).await.1);
    }
    const PER_SENDER: usize = 25;
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(s, mut ws)| {
            let room = room.clone();
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for m in 0..PER_SENDER {
                    acked.push(post(&mut ws, &room, &format!("s{s}-{m}"), &format!("sender {s} message {m}")).await);
                }
                (ws, acked)
            })
        })
        .collect();
    let mut all_acked = Vec::new();
    for task in tasks {
        let (_, acked) = task.await.expect("sender");
        assert!(acked.windows(2).all(|w| w[0] < w[1]), "one sender's messages keep their order: {acked:?}");
        all_acked.extend(acked);
    }
    let total = 4 * PER_SENDER;
    all_acked.sort_unstable();
    assert_eq!(all_acked, (1..=total as u64).collect::<Vec<_>>(), "acks are total and gap-free");

    let mut orders: Vec<Vec<(u64, String)>> = Vec::new();
    for ws in receivers.iter_mut().chain(std::iter::once(&mut host)) {
        let events = sequenced(ws, total).await;
        let order: Vec<(u64, String)> = events
            .iter()
            .map(|e| {
                (num(&e["sequence"]), e["messagePosted"]["message"]["clientMsgId"].as_str().unwrap_or("").to_owned())
            })
            .collect();
        let extra = ws.drain(Duration::from_millis(200)).await;
        assert!(!extra.iter().any(|f| is_chat(f, "messagePosted")), "no duplicates");
        orders.push(order);
    }
    let expected: Vec<u64> = (1..=total as u64).collect();
    for order in &orders {
        assert_eq!(order.iter().map(|(s, _)| *s).collect::<Vec<_>>(), expected, "every receiver: 1..=N in order");
        assert_eq!(order, &orders[0], "identical for every receiver");
    }
    let by_sender: HashMap<char, usize> = orders[0].iter().fold(HashMap::new(), |mut m, (_, id)| {
        *m.entry(id.chars().nth(1).unwrap_or('?')).or_default() += 1;
        m
    });
    assert_eq!(by_sender.len(), 4, "both replicas wrote: {by_sender:?}");
    drop((chat2, gateway2));
}

#[tokio::test]
async fn a_committed_message_whose_publisher_died_is_relayed_from_the_outbox() {
    let app = TestApp::spawn().await;
    let (room, host_id, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut guest) = member(&app, &app.ws_url, &room).await;
    post(&mut host, &room, "before", "published normally").await;
    sequenced(&mut guest, 1).await;

    // Commit a message exactly as the service does, then "crash": nothing
    // is published and the outbox entry stays.
    let pool = hearth_platform::db::connect_lazy(&app.config.database).expect("pool");
    let nats = hearth_platform::nats::connect(&app.config.nats, "test").await.expect("nats");
    let store = hearth_chat::store::Store::new(pool);
    let events = hearth_chat::events::Events::new(nats);
    let room_id: uuid::Uuid = room.parse().expect("uuid");
    let author = hearth_chat::store::Author {
        id: host_id.parse().expect("uuid"),
        username: String::new(),
        display_name: String::new(),
        avatar_url: String::new(),
        role: 4,
    };
    let new = hearth_chat::store::NewMessage {
        room: room_id,
        author: &author,
        client_msg_id: "orphan",
        text: "committed, then the replica died",
        mentions: &[],
        reply_to: None,
        now: time::OffsetDateTime::now_utc(),
        approving: None,
    };
    let posted = store
        .post(new, |row, _| {
            let message = hearth_chat::convert::message(row, Vec::new(), None, false);
            events.sequenced(
                room_id,
                row.seq as u64,
                hearth_proto::hearth::chat::v1::chat_event::Kind::MessagePosted(
                    hearth_proto::hearth::chat::v1::MessagePosted { message: Some(message) },
                ),
            )
        })
        .await
        .expect("post");
    assert!(matches!(posted, hearth_chat::store::Posted::New { .. }));

    // A replica's relay publishes it within a few seconds, in order.
    let relayed = guest.event_where(Duration::from_secs(8), |f| f["chatEvent"]["messagePosted"].is_object()).await;
    assert_eq!(num(&relayed["chatEvent"]["sequence"]), 2);
    assert_eq!(relayed["chatEvent"]["messagePosted"]["message"]["text"], "committed, then the replica died");
    // The sender's retry finds it (idempotent), and the next message follows it.
    let retry = send(&mut host, &room, "orphan", "committed, then the replica died").await;
    assert_eq!(retry["sendMessage"]["duplicate"], true);
    assert_eq!(post(&mut host, &room, "after", "next").await, 3);
}

#[tokio::test]
async fn slow_consumers_are_closed_with_4008_and_others_keep_up() {
    let app = TestApp::spawn_with(hearth::Role::ALL, |c| {
        c.chat.member_messages_per_window = 1_000_000;
        c.chat.moderator_messages_per_window = 1_000_000;
        c.gateway.max_outbound_bytes = 256 * 1024;
        c.gateway.frames_per_second = 10_000;
        c.gateway.frame_burst = 10_000;
    })
    .await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut reader) = member(&app, &app.ws_url, &room).await;
    let (_, mut stuck) = member(&app, &app.ws_url, &room).await;
    let mut senders = Vec::new();
    for _ in 0..6 {
        senders.push(member(&app, &app.ws_url, &room).await.1);
    }
    // ~1.7 KB per delivery; kernel socket buffers hold a few MB before the
    // gateway's queue has to grow.
    let text = "€".repeat(500);
    const PER_SENDER: usize = 600;
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(s, mut ws)| {
            let (room, text) = (room.clone(), text.clone());
            tokio::spawn(async move {
                for m in 0..PER_SENDER {
                    post(&mut ws, &room, &format!("s{s}m{m}"), &text).await;
                }
            })
        })
        .collect();
    // The reader keeps reading while the flood goes on.
    let reading = tokio::spawn(async move {
        let events = sequenced(&mut reader, 6 * PER_SENDER).await;
        (events.len(), num(&events[events.len() - 1]["sequence"]))
    });
    for task in tasks {
        task.await.expect("sender");
    }
    let (count, last) = reading.await.expect("reader");
    assert_eq!((count, last), (6 * PER_SENDER, 6 * PER_SENDER as u64), "the reader got everything, in order");
    // The client that never read was cut off with the reconnectable code.
    assert_eq!(stuck.closed().await, Some(4008));
    let _ = host.drain(Duration::from_millis(10)).await;
}
