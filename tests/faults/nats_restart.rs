//! NATS (a private instance) SIGKILLed and restarted on the same store:
//! services and gateways reconnect by themselves, chat sent before, during
//! and after reaches members complete and in order (the outbox holds what
//! could not be published), and the durable audit consumer resumes.

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
