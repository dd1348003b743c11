//! A gateway SIGKILLed during steady chat: its clients reconnect to another
//! gateway, resume from their chat position, and every acknowledged
//! message reaches every member exactly once, in order.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hearth::Role;
use hearth_tests::TestApp;
use tokio::sync::watch;

use crate::{
    client::{Client, Follower, Sender},
    full, ms, quantile,
};

/// Lifts the limits a chat flood would hit.
pub fn flood_limits(config: &mut hearth_platform::Config) {
    config.chat.member_messages_per_window = 1_000_000;
    config.chat.moderator_messages_per_window = 1_000_000;
    config.chat.resume_max_events = 100_000;
    config.gateway.frames_per_second = 10_000;
    config.gateway.frame_burst = 10_000;
}

/// Runs senders and followers; `fault` runs once a third of the messages
/// are acknowledged. Returns the followers' reconnection times.
pub struct Load {
    pub senders: Vec<(Sender, String)>,
    pub followers: Vec<(Follower, String)>,
    pub per_sender: usize,
    pub pace: Duration,
}

pub struct LoadOutcome {
    pub total: u64,
    pub reconnects: Vec<Duration>,
    pub retries: u32,
    pub gap_fills: u32,
    pub elapsed: Duration,
}

impl Load {
    /// Sends, applies the fault at a third, waits for every follower to
    /// have everything, and checks exactly-once in order for each.
    pub async fn run<F: std::future::Future<Output = ()>>(self, app: &Arc<TestApp>, fault: F) -> LoadOutcome {
        let started = Instant::now();
        let total = (self.senders.len() * self.per_sender) as u64;
        let acked = Arc::new(AtomicU64::new(0));
        let (target_tx, target_rx) = watch::channel(0u64);
        let mut sending = Vec::new();
        for (s, (mut sender, fallback)) in self.senders.into_iter().enumerate() {
            let (app, acked, pace, per_sender) = (app.clone(), acked.clone(), self.pace, self.per_sender);
            sending.push(tokio::spawn(async move {
                for m in 0..per_sender {
                    sender.send(&app, &fallback, &format!("s{s}-m{m}"), &format!("sender {s} message {m}")).await;
                    acked.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(pace).await;
                }
                sender
            }));
        }
        let mut following = Vec::new();
        for (mut follower, fallback) in self.followers {
            let (app, mut target_rx) = (app.clone(), target_rx.clone());
            following.push(tokio::spawn(async move {
                let mut reconnects = Vec::new();
                // Follow what is sent so far until the final count is known.
                loop {
                    let target = *target_rx.borrow();
                    if target > 0 {
                        reconnects.extend(
                            follower.follow_through_faults(&app, &fallback, target, Duration::from_secs(20)).await,
                        );
                        break;
                    }
                    let step = follower.last + 1;
                    tokio::select! {
                        _ = target_rx.changed() => {}
                        outages = follower.follow_through_faults(&app, &fallback, step, Duration::from_secs(20)) => {
                            reconnects.extend(outages);
                        }
                    }
                }
                follower.settle(Duration::from_millis(500)).await;
                (follower, reconnects)
            }));
        }
        while acked.load(Ordering::Relaxed) < total / 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        fault.await;
        let mut all_acked = Vec::new();
        let mut retries = 0;
        for task in sending {
            let sender = task.await.expect("sender task");
            assert!(sender.acked.windows(2).all(|w| w[0] < w[1]), "a sender's messages keep their order");
            retries += sender.retries;
            all_acked.extend(sender.acked);
        }
        all_acked.sort_unstable();
        assert_eq!(all_acked, (1..=total).collect::<Vec<_>>(), "acknowledgements are gap-free and unique");
        target_tx.send(total).expect("followers listen");
        let mut reconnects = Vec::new();
        let mut gap_fills = 0;
        for task in following {
            let (follower, outages) = task.await.expect("follower task");
            follower.assert_complete(total);
            gap_fills += follower.gap_fills;
            reconnects.extend(outages);
        }
        LoadOutcome { total, reconnects, retries, gap_fills, elapsed: started.elapsed() }
    }
}

#[tokio::test]
async fn a_killed_gateways_clients_resume_elsewhere_and_miss_nothing() {
    let app = Arc::new(TestApp::spawn_with(Role::ALL, flood_limits).await);
    let binary = env!("CARGO_BIN_EXE_hearth-test-roles");
    let mut doomed = app.spawn_gateway_process(binary).await;
    let (doomed_url, survivor_url) = (doomed.ws_url.clone(), app.ws_url.clone());
    let mut host = Client::fresh(&app, &survivor_url).await;
    let room = host.create_room("Gateway kill").await;

    let (senders_each_side, followers_each_side, per_sender) = if full() { (4, 6, 150) } else { (2, 3, 40) };
    let mut load = Load { senders: Vec::new(), followers: Vec::new(), per_sender, pace: Duration::from_millis(15) };
    for _ in 0..senders_each_side {
        for url in [&doomed_url, &survivor_url] {
            load.senders.push((Sender::join(&app, url, &room).await, survivor_url.clone()));
        }
    }
    for _ in 0..followers_each_side {
        for url in [&doomed_url, &survivor_url] {
            load.followers.push((Follower::join(&app, url, &room).await, survivor_url.clone()));
        }
    }
    let mut killed_at = None;
    let outcome = load
        .run(&app, async {
            doomed.kill().await;
            killed_at = Some(Instant::now());
        })
        .await;
    assert_eq!(outcome.reconnects.len(), followers_each_side, "each follower on the killed gateway reconnected once");
    println!(
        "gateway kill: {} messages, {} followers; reconnect+resume p50 {} p99 {} max {}; \
         {} send retries, {} gap fills; run {} (ended {} after the kill)",
        outcome.total,
        followers_each_side * 2,
        ms(quantile(&outcome.reconnects, 0.5)),
        ms(quantile(&outcome.reconnects, 0.99)),
        ms(quantile(&outcome.reconnects, 1.0)),
        outcome.retries,
        outcome.gap_fills,
        ms(outcome.elapsed),
        ms(killed_at.map(|k| k.elapsed()).unwrap_or_default()),
    );
}
