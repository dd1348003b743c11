//! A client that stops reading is closed with 4008 once its queue passes
//! `gateway.max_outbound_bytes`, while the other members of the room get
//! every message; their delivery p99 before and during is printed (not
//! asserted: timing belongs to printouts).

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use hearth::Role;
use hearth_tests::{TestApp, tungstenite::Message};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    client::{Client, Follower, Sender},
    full,
    gateway_kill::flood_limits,
    ms, quantile,
};

type RawWs = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A member whose socket has a tiny receive buffer, so that the gateway's
/// queue (not the kernel's buffers) fills once it stops reading. It enters
/// while the room is empty: a catch-up larger than the queue limit could
/// not pass through so small a window.
async fn stuck_member(app: &TestApp, room: &str) -> RawWs {
    let addr: std::net::SocketAddr = app.http_url.trim_start_matches("http://").parse().expect("the gateway's address");
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("a small receive buffer");
    let tcp = socket.connect(addr).await.expect("connect to the gateway");
    let (mut ws, _) = tokio_tungstenite::client_async(app.ws_url.as_str(), tcp).await.expect("websocket handshake");
    let token = app.token(&Uuid::now_v7().to_string(), &[]);
    for (reference, frame) in [
        ("a", json!({"ref": "a", "auth": {"accessToken": token}})),
        ("e", json!({"ref": "e", "enterRoom": {"roomId": room, "join": true}})),
    ] {
        ws.send(Message::Text(frame.to_string().into())).await.expect("send");
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a reply within 10 s");
            match next {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str()).expect("JSON");
                    if value["ref"] == reference {
                        assert!(value.get("error").is_none(), "{value}");
                        break;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("the stuck member's connection ended early: {other:?}"),
            }
        }
    }
    ws
}

/// Reads what the gateway queued until its close; returns the close code.
async fn close_code(ws: &mut RawWs) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), ws.next()).await.expect("the close within 20 s") {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

/// Sends `n` messages, the senders sending at once; returns when each
/// was sent.
async fn send_phase(
    app: &Arc<TestApp>,
    senders: Vec<Sender>,
    phase: &str,
    n: usize,
    text: &str,
) -> (Vec<Sender>, HashMap<u64, Instant>) {
    let each = n / senders.len();
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(s, mut sender)| {
            let (app, phase, text) = (app.clone(), phase.to_owned(), text.to_owned());
            tokio::spawn(async move {
                let url = app.ws_url.clone();
                let mut sent = HashMap::new();
                for i in 0..each {
                    let at = Instant::now();
                    sent.insert(sender.send(&app, &url, &format!("{phase}-{s}-{i}"), &text).await, at);
                }
                (sender, sent)
            })
        })
        .collect();
    let mut senders = Vec::new();
    let mut sent = HashMap::new();
    for task in tasks {
        let (sender, times) = task.await.expect("sender");
        senders.push(sender);
        sent.extend(times);
    }
    (senders, sent)
}

/// Every reader follows to `target` in its own task.
fn follow_all(readers: Vec<Follower>, target: u64) -> tokio::task::JoinHandle<Vec<Follower>> {
    tokio::spawn(async move {
        let handles: Vec<_> = readers
            .into_iter()
            .map(|mut reader| {
                tokio::spawn(async move {
                    assert!(reader.follow_until(target, Duration::from_secs(20)).await, "a reader was disconnected");
                    reader
                })
            })
            .collect();
        let mut out = Vec::new();
        for handle in handles {
            out.push(handle.await.expect("reader"));
        }
        out
    })
}

fn latencies(readers: &[Follower], sent: &HashMap<u64, Instant>) -> Vec<Duration> {
    let mut out = Vec::new();
    for reader in readers {
        for (sequence, at) in sent {
            if let Some(arrived) = reader.arrivals.get(sequence) {
                out.push(arrived.saturating_duration_since(*at));
            }
        }
    }
    out
}

#[tokio::test]
async fn a_stuck_client_is_cut_off_with_4008_and_the_room_keeps_up() {
    const QUEUE: usize = 64 * 1024;
    let app = Arc::new(
        TestApp::spawn_with(Role::ALL, |config| {
            flood_limits(config);
            config.gateway.max_outbound_bytes = QUEUE;
            config.chat.max_message_length = 4000;
        })
        .await,
    );
    let mut host = Client::fresh(&app, &app.ws_url).await;
    let room = host.create_room("Slow clients").await;
    let stuck = stuck_member(&app, &room).await;
    // It reads along until told to stop.
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stuck_reading = tokio::spawn(async move {
        let mut stuck = stuck;
        loop {
            tokio::select! {
                _ = &mut stop_rx => return stuck,
                next = stuck.next() => assert!(matches!(next, Some(Ok(_))), "the stuck member was closed early"),
            }
        }
    });
    let mut readers = Vec::new();
    for _ in 0..3 {
        readers.push(Follower::join(&app, &app.ws_url, &room).await);
    }
    let mut senders = Vec::new();
    for _ in 0..2 {
        senders.push(Sender::join(&app, &app.ws_url, &room).await);
    }
    // ~12 KB per delivery: the kernel's socket buffers (a few MB on
    // loopback) fill before the gateway's queue can.
    let text = "€".repeat(4000);
    let (before_n, during_n) = if full() { (600, 2000) } else { (100, 600) };

    // Before: everyone reads.
    let reading = follow_all(readers, before_n as u64);
    let (senders, sent_before) = send_phase(&app, senders, "before", before_n, &text).await;
    let readers = reading.await.expect("readers");

    // During: one member stops reading.
    stop_tx.send(()).expect("the stuck member reads");
    let mut stuck = stuck_reading.await.expect("the stuck member");
    let total = (before_n + during_n) as u64;
    let reading = follow_all(readers, total);
    let (_, sent_during) = send_phase(&app, senders, "during", during_n, &text).await;
    let mut readers = reading.await.expect("readers");
    assert_eq!(close_code(&mut stuck).await, Some(4008), "the stuck client is closed as a slow consumer");
    for reader in &mut readers {
        reader.settle(Duration::from_millis(300)).await;
        reader.assert_complete(total);
    }
    let before = latencies(&readers, &sent_before);
    let during = latencies(&readers, &sent_during);
    println!(
        "slow client: queue limit {} KiB; others' delivery p50/p99 before {}/{} ({} samples), \
         during {}/{} ({} samples); stuck client closed 4008",
        QUEUE / 1024,
        ms(quantile(&before, 0.5)),
        ms(quantile(&before, 0.99)),
        before.len(),
        ms(quantile(&during, 0.5)),
        ms(quantile(&during, 0.99)),
        during.len(),
    );
}
