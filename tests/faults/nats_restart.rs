//! NATS (a private instance) SIGKILLed and restarted on the same store:
//! services and gateways reconnect by themselves, chat sent before, during
//! and after reaches members complete and in order (the outbox holds what
//! could not be published), the durable audit consumer resumes, and a
//! room change made during the outage is answered at once, its room event
//! stored in JetStream, in order, once NATS is back.

use std::time::{Duration, Instant};

use hearth::Role;
use hearth_tests::TestApp;
use serde_json::{Value, json};

use crate::{
    client::{Client, Follower, Sender},
    full,
    gateway_kill::flood_limits,
    ms,
    servers::Nats,
};

async fn ban(host: &mut Client, room: &str, user: &str) -> Value {
    host.ask(json!({"banMember": {"roomId": room, "userId": user, "reason": "spam", "duration": "3600s"}})).await
}

async fn audit_entries(host: &mut Client, room: &str) -> usize {
    let log = host.ask(json!({"listAuditLog": {"roomId": room, "actions": ["AUDIT_ACTION_MEMBER_BANNED"]}})).await;
    log["listAuditLog"]["entries"].as_array().map_or(0, Vec::len)
}

/// Waits (30 s at most) until the room's audit log has `n` bans.
async fn wait_audit(host: &mut Client, room: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while audit_entries(host, room).await < n {
        assert!(Instant::now() < deadline, "the audit log did not reach {n} bans within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn after_a_nats_restart_everything_reconnects_and_nothing_is_lost() {
    let mut nats = Nats::start().await;
    let app = TestApp::spawn_with(Role::ALL, |config| {
        flood_limits(config);
        config.nats.url = hearth_platform::secret::SecretUrl::new(nats.url());
    })
    .await;
    let url = app.ws_url.clone();
    let mut host = Client::fresh(&app, &url).await;
    let room = host.create_room("NATS restart").await;
    let mut sender = Sender::join(&app, &url, &room).await;
    let mut follower = Follower::join(&app, &url, &room).await;
    let mut trolls = Vec::new();
    for _ in 0..3 {
        trolls.push(Follower::join(&app, &url, &room).await.client.user.clone());
    }

    // Before: chat and a moderation act (a durable audit entry).
    for i in 0..5 {
        sender.send(&app, &url, &format!("before-{i}"), "before the restart").await;
    }
    assert!(ban(&mut host, &room, &trolls[0]).await.get("banMember").is_some());
    wait_audit(&mut host, &room, 1).await;

    // The crash; chat sent while NATS is down is committed and waits in
    // the outbox (the send may take until NATS answers or time out: the
    // sender retries with the same id).
    let outage = if full() { Duration::from_secs(10) } else { Duration::from_secs(3) };
    nats.kill();
    let down_at = Instant::now();
    let during = sender.send(&app, &url, "during", "while NATS is down").await;
    let during_ack = down_at.elapsed();
    // A moderation act while NATS is down: committed and answered within
    // the gateway's deadline; its audit entry is published once NATS is
    // back (the client buffers it; JetStream deduplicates by entry id).
    let asked = Instant::now();
    let banned = ban(&mut host, &room, &trolls[2]).await;
    let ban_answered = asked.elapsed();
    assert!(banned.get("banMember").is_some(), "a ban while NATS is down succeeds: {banned}");
    tokio::time::sleep(outage.saturating_sub(down_at.elapsed())).await;
    nats.resume().await;
    let restarted = Instant::now();

    // The outage window: from the restart until a message sent then
    // round-trips (sender → chat → NATS → gateway → follower).
    let mut probes = 0;
    let window = loop {
        assert!(restarted.elapsed() < Duration::from_secs(60), "no chat round trip within 60 s of the restart");
        probes += 1;
        let sequence = sender.send(&app, &url, &format!("probe-{probes}"), "are we back?").await;
        if follower.follow_for(sequence, Duration::from_millis(500)).await {
            break restarted.elapsed();
        }
    };

    // After: more chat and a third moderation act.
    let mut last = 0;
    for i in 0..5 {
        last = sender.send(&app, &url, &format!("after-{i}"), "after the restart").await;
    }
    assert!(ban(&mut host, &room, &trolls[1]).await.get("banMember").is_some());
    let caught_up = follower.follow_for(last, Duration::from_secs(20)).await;
    assert!(caught_up, "the follower got everything up to {last}");
    follower.settle(Duration::from_millis(300)).await;
    follower.assert_complete(last);
    wait_audit(&mut host, &room, 3).await;
    let order = [trolls[0].as_str(), trolls[2].as_str(), trolls[1].as_str()];
    let stored = Instant::now();
    loop {
        let banned = banned_in_stream(&app, &room).await;
        if banned == order {
            break;
        }
        assert!(
            stored.elapsed() < Duration::from_secs(20),
            "the ROOMS stream holds the bans {order:?}, saw {banned:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "nats restart: outage {}; send during the outage acked after {} (seq {during}), a ban after {}; \
         chat round trip {} after the restart ({probes} probes); {} gap fills",
        ms(outage),
        ms(during_ack),
        ms(ban_answered),
        ms(window),
        follower.gap_fills,
    );
}

/// The users of the room's `memberBanned` events in the ROOMS stream, in
/// stream order.
async fn banned_in_stream(app: &TestApp, room: &str) -> Vec<String> {
    use async_nats::jetstream::{self, consumer::pull};
    use futures::StreamExt;
    use hearth_proto::hearth::{events::v1::Envelope, rooms::v1::RoomEvent, rooms::v1::room_event::Kind};
    use prost::Message;
    let Ok(client) = async_nats::connect(app.config.nats.url.expose()).await else { return Vec::new() };
    let prefix = &app.config.nats.subject_prefix;
    let stream_prefix: String =
        prefix.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    let Ok(stream) = jetstream::new(client).get_stream(format!("{stream_prefix}_ROOMS")).await else {
        return Vec::new();
    };
    let consumer = stream
        .create_consumer(pull::Config {
            filter_subject: format!("{prefix}.room.{room}.room"),
            ack_policy: jetstream::consumer::AckPolicy::None,
            ..Default::default()
        })
        .await;
    let Ok(consumer) = consumer else { return Vec::new() };
    let Ok(mut messages) = consumer.fetch().max_messages(1_000).expires(Duration::from_millis(500)).messages().await
    else {
        return Vec::new();
    };
    let mut banned = Vec::new();
    while let Some(Ok(message)) = messages.next().await {
        let event = Envelope::decode(message.payload.as_ref())
            .ok()
            .and_then(|envelope| RoomEvent::decode(envelope.payload.as_slice()).ok());
        if let Some(Kind::MemberBanned(ban)) = event.and_then(|e| e.kind) {
            banned.push(ban.user.map(|u| u.user_id).unwrap_or_default());
        }
    }
    banned
}
