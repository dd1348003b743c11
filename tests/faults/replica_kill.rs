//! A chat replica and a polls replica (one child process hosting both)
//! SIGKILLed mid-load, with a second replica of each in this process: no
//! acknowledged message or vote is lost or counted twice, and each poll's
//! deadline closes it exactly once.
//!
//! Gateway 1 reaches the doomed replicas through a proxy standing in for
//! a Kubernetes Service: when the pod dies its endpoint is replaced by the
//! survivor's. Gateway 2 talks to the survivor throughout.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use hearth::Role;
use hearth_tests::TestApp;
use serde_json::{Value, json};

use crate::{
    client::{Client, Follower, Next, Sender, code, num, retryable},
    full,
    gateway_kill::{Load, flood_limits},
    ms,
    proxy::Proxy,
};

/// A gateway of the same deployment whose chat and polls calls go to `services`.
async fn gateway(core: &TestApp, services: &str) -> TestApp {
    let mut config = core.config.clone();
    config.gateway.addr = ([127, 0, 0, 1], 0).into();
    config.services.identity_url = core.grpc_url.clone();
    config.services.rooms_url = core.grpc_url.clone();
    config.services.chat_url = services.to_owned();
    config.services.polls_url = services.to_owned();
    TestApp::start_shared(config, &[Role::Gateway]).await
}

/// Votes until acknowledged (a retry of the same choice is a no-op success).
async fn vote(app: &TestApp, client: &mut Client, url: &str, poll: &str, option: &str) -> u32 {
    let mut retries = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "the vote was not acknowledged within 30 s");
        if client.closed
            && let Some(again) = Client::connect(app, url, &client.user).await
        {
            *client = again;
        }
        let request = json!({"castVote": {"pollId": poll, "optionIds": [option]}});
        match client.call(request, Duration::from_secs(15)).await {
            Some(reply) if reply.get("castVote").is_some() => return retries,
            Some(reply) => assert!(retryable(code(&reply)), "vote refused: {reply}"),
            None => {}
        }
        retries += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn tallies(results: &Value) -> Vec<u64> {
    results["tallies"].as_array().map(|t| t.iter().map(|o| num(&o["votes"])).collect()).unwrap_or_default()
}

#[tokio::test]
async fn killed_chat_and_polls_replicas_lose_and_double_nothing() {
    let core =
        Arc::new(TestApp::spawn_with(&[Role::Identity, Role::Rooms, Role::Chat, Role::Polls], flood_limits).await);
    let binary = env!("CARGO_BIN_EXE_hearth-test-roles");
    let mut doomed = core.spawn_roles_process(binary, "chat,polls", |_| {}).await;
    let proxy = Proxy::start(doomed.addr.parse().expect("replica address")).await;
    let survivor: std::net::SocketAddr =
        core.grpc_url.trim_start_matches("http://").parse().expect("the survivor's address");
    let gw1 = Arc::new(gateway(&core, &proxy.http_url()).await);
    let gw2 = Arc::new(gateway(&core, &core.grpc_url).await);
    let mut host = Client::fresh(&gw2, &gw2.ws_url).await;
    let room = host.create_room("Replica kill").await;
    host.ask(json!({"enterRoom": {"roomId": room}})).await;

    // Two polls closing by deadline: one created through each replica.
    // The deadline comes after the last vote (the full load is longer).
    let (voters_n, per_sender, duration) = if full() { (150, 150, 40) } else { (30, 40, 12) };
    let mut polls = Vec::new();
    for (i, url) in [&gw1.ws_url, &gw2.ws_url].into_iter().enumerate() {
        let mut creator = Client::connect(&gw2, url, &host.user).await.expect("the host connects");
        let created = creator
            .ask(json!({"createPoll": {"roomId": room, "openNow": true,
                "poll": {"question": format!("Poll {i}"), "options": ["a", "b"], "duration": format!("{duration}s")}}}))
            .await;
        polls.push(created["createPoll"]["poll"]["pollId"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned());
    }
    let created_at = Instant::now();

    let mut voters = Vec::new();
    for i in 0..voters_n {
        let (app, url) = if i % 2 == 0 { (&gw1, gw1.ws_url.clone()) } else { (&gw2, gw2.ws_url.clone()) };
        let follower = Follower::join(app, &url, &room).await;
        let mut client = follower.client;
        client.ask(json!({"exitRoom": {"roomId": room}})).await;
        voters.push((client, url, app.clone()));
    }
    let mut load = Load { senders: Vec::new(), followers: Vec::new(), per_sender, pace: Duration::from_millis(15) };
    for gw in [&gw1, &gw2] {
        for _ in 0..2 {
            load.senders.push((Sender::join(gw, &gw.ws_url, &room).await, gw.ws_url.clone()));
            load.followers.push((Follower::join(gw, &gw.ws_url, &room).await, gw.ws_url.clone()));
        }
    }

    // Half the voters vote before the kill, half after it (the polls
    // replica behind gateway 1 dies between).
    let (killed_tx, killed_rx) = tokio::sync::watch::channel(false);
    let voting: Vec<_> = voters
        .into_iter()
        .enumerate()
        .map(|(i, (mut client, url, app))| {
            let (polls, mut killed_rx) = (polls.clone(), killed_rx.clone());
            tokio::spawn(async move {
                if i % 2 == 1 {
                    killed_rx.wait_for(|killed| *killed).await.expect("the kill is announced");
                }
                tokio::time::sleep(Duration::from_millis(50 * (i / 2) as u64)).await;
                let mut chosen = Vec::new();
                let mut retries = 0;
                for (p, poll) in polls.iter().enumerate() {
                    let option = if (i + p) % 3 == 0 { "o1" } else { "o2" };
                    retries += vote(&app, &mut client, &url, poll, option).await;
                    chosen.push(option);
                }
                (chosen, retries)
            })
        })
        .collect();

    let core_for_load = core.clone();
    let kill = async {
        doomed.kill().await;
        proxy.retarget(survivor);
        killed_tx.send(true).expect("voters listen");
    };
    let outcome = load.run(&core_for_load, kill).await;

    let mut expected: Vec<HashMap<&str, u64>> = vec![HashMap::new(); polls.len()];
    let mut vote_retries = 0;
    for task in voting {
        let (chosen, retries) = task.await.expect("voter task");
        vote_retries += retries;
        for (p, option) in chosen.into_iter().enumerate() {
            *expected[p].entry(option).or_default() += 1;
        }
    }

    // Every poll closes by its deadline exactly once, with every acked vote.
    let mut closes: HashMap<String, Vec<Value>> = HashMap::new();
    let deadline = created_at + Duration::from_secs(duration + 20);
    while closes.len() < polls.len() {
        assert!(Instant::now() < deadline, "the polls did not close by their deadline: {closes:?}");
        if let Next::Frame(frame) = host.next(Duration::from_secs(1)).await
            && let Some(poll) = frame["interactionEvent"].get("pollClosed")
        {
            closes
                .entry(poll["poll"]["pollId"].as_str().unwrap_or_default().to_owned())
                .or_default()
                .push(frame.clone());
        }
    }
    let closed_after = created_at.elapsed();
    let quiet_until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < quiet_until {
        if let Next::Frame(frame) = host.next(Duration::from_millis(200)).await
            && let Some(poll) = frame["interactionEvent"].get("pollClosed")
        {
            closes
                .entry(poll["poll"]["pollId"].as_str().unwrap_or_default().to_owned())
                .or_default()
                .push(frame.clone());
        }
    }
    for (p, poll) in polls.iter().enumerate() {
        let events = &closes[poll];
        assert_eq!(events.len(), 1, "poll {p} closed once: {events:?}");
        let results = &events[0]["interactionEvent"]["pollClosed"]["poll"]["results"];
        let want = vec![expected[p].get("o1").copied().unwrap_or(0), expected[p].get("o2").copied().unwrap_or(0)];
        assert_eq!(tallies(results), want, "poll {p}: the tally is the acknowledged votes");
        assert_eq!(num(&results["voterCount"]), voters_n as u64, "poll {p}: every voter once");
        let read = host.ask(json!({"getPoll": {"pollId": poll}})).await;
        assert_eq!(tallies(&read["getPoll"]["poll"]["results"]), want, "poll {p}: stored results agree");
    }
    println!(
        "replica kill: {} messages ({} send retries, {} gap fills, {} follower reconnects), \
         {} votes on 2 polls (half cast after the kill; {vote_retries} vote retries); polls closed {} after creation (deadline {duration} s); run {}",
        outcome.total,
        outcome.retries,
        outcome.gap_fills,
        outcome.reconnects.len(),
        voters_n * 2,
        ms(closed_after),
        ms(outcome.elapsed),
    );
}
