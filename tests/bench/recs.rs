//! `bench recs`: recommendation latency under an open-loop load (requests
//! sent on a fixed schedule, not when the previous one returns, so a slow
//! server cannot slow the load down and hide its own latency).
//!
//! Seeds a catalog of channels, thousands of viewers with Zipf-skewed
//! tastes (engagement signals through the real JetStream consumer), lets
//! the leased replica fit EASE, then fires each list at the target rate and
//! prints p50/p99/max next to a gRPC health check at the same rate — the
//! floor of one gRPC round trip on this machine — so the table shows what
//! recommendations add, not a figure to compare across machines.

use std::{sync::Arc, time::Duration};

use anyhow::{Result, bail};
use async_nats::jetstream;
use hearth::Role;
use hearth_platform::{secret::SecretString, wkt};
use hearth_proto::hearth::{
    common::v1::{MediaRef, media_ref},
    events::v1::Envelope,
    provider::v1::{self as provider, provider_ingest_client::ProviderIngestClient},
    recommendations::v1::{
        self as pb, EngagementSignal, SignalKind, recommendations_service_client::RecommendationsServiceClient,
    },
};
use hearth_tests::{TestApp, authed};
use prost::Message;
use rand::{RngExt, SeedableRng, rngs::StdRng};
use time::OffsetDateTime;
use tokio::time::Instant;
use uuid::Uuid;

use crate::model::Summary;

#[derive(clap::Args, Debug)]
pub struct RecsArgs {
    /// Requests per second of each list.
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
    /// Seconds of load per list.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Viewers with a taste.
    #[arg(long, default_value_t = 5000)]
    pub viewers: usize,
    /// Channels in the catalog.
    #[arg(long, default_value_t = 2000)]
    pub channels: usize,
    /// Channels each viewer watched.
    #[arg(long, default_value_t = 12)]
    pub per_viewer: usize,
}

const INGEST_KEY: &str = "bench-ingest";

/// A channel drawn with probability ∝ 1/rank (Zipf, s = 1).
fn zipf(rng: &mut StdRng, n: usize) -> usize {
    let h: f64 = (1..=n).map(|k| 1.0 / k as f64).sum();
    let mut target = rng.random::<f64>() * h;
    for k in 1..=n {
        target -= 1.0 / k as f64;
        if target <= 0.0 {
            return k - 1;
        }
    }
    n - 1
}

pub async fn run(args: RecsArgs) -> Result<bool> {
    let app = TestApp::spawn_with(Role::ALL, |config| {
        config.provider.ingest_key = Some(SecretString::new(INGEST_KEY));
        // The bench refits once itself, as the leader would, and measures
        // the lists between refits (production refits every 10 min).
        config.recommendations.recompute_interval = Duration::from_secs(3600);
        config.database.max_connections = 20;
    })
    .await;
    println!("seeding {} channels, {} viewers × {} channels …", args.channels, args.viewers, args.per_viewer);
    let mut ingest = ProviderIngestClient::connect(app.grpc_url.clone()).await?;
    let ids: Vec<String> = (0..args.channels).map(|i| format!("ch-{i}")).collect();
    for chunk in ids.chunks(1000) {
        let upserts = chunk
            .iter()
            .map(|id| provider::Channel {
                channel_id: id.clone(),
                names: vec![provider::LocalizedString { language: "en".into(), value: format!("Channel {id}") }],
                ..Default::default()
            })
            .collect();
        ingest
            .push_catalog(authed(provider::PushCatalogRequest { upserts, removed_channel_ids: vec![] }, INGEST_KEY))
            .await?;
    }
    let viewers: Vec<Uuid> = (0..args.viewers).map(|_| Uuid::now_v7()).collect();
    let js = jetstream::new(async_nats::connect(app.config.nats.url.expose()).await?);
    let subject = format!("{}.recommendations.signal.chat_message", app.config.nats.subject_prefix);
    let mut rng = StdRng::seed_from_u64(7);
    let now = Some(wkt::timestamp(OffsetDateTime::now_utc()));
    let mut acks = Vec::new();
    let mut total = 0u64;
    for viewer in &viewers {
        for _ in 0..args.per_viewer {
            let channel = &ids[zipf(&mut rng, ids.len())];
            let signal = EngagementSignal {
                user_id: viewer.to_string(),
                kind: SignalKind::ChatMessage as i32,
                media: Some(MediaRef { kind: Some(media_ref::Kind::ChannelId(channel.clone())) }),
                time: now,
                count: 1,
                ..Default::default()
            };
            let id = Uuid::now_v7().to_string();
            let envelope = Envelope { id: id.clone(), payload: signal.encode_to_vec(), ..Default::default() };
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", id.as_str());
            acks.push(js.publish_with_headers(subject.clone(), headers, envelope.encode_to_vec().into()).await?);
            total += 1;
            if acks.len() >= 2000 {
                for ack in acks.drain(..) {
                    ack.await?;
                }
            }
        }
    }
    for ack in acks.drain(..) {
        ack.await?;
    }
    let pool = sqlx::PgPool::connect(app.config.database.url.expose()).await?;
    let started = Instant::now();
    loop {
        let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM recs.seen_events").fetch_one(&pool).await?;
        if seen as u64 == total {
            println!("{total} signals applied through the consumer in {:.1} s", started.elapsed().as_secs_f64());
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("signals not applied: {seen}/{total}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let store = hearth_recommendations::store::Store::new(pool.clone());
    let started = Instant::now();
    let refit = hearth_recommendations::model::refit(&store, &app.config.recommendations).await?;
    println!(
        "EASE refit: {} users × {} items ({} interactions) fitted and stored in {:.2} s",
        refit.users,
        refit.items,
        refit.interactions,
        started.elapsed().as_secs_f64()
    );

    let tokens: Arc<Vec<String>> = Arc::new(viewers.iter().map(|v| app.token(&v.to_string(), &[])).collect());
    let channel = tonic::transport::Endpoint::from_shared(app.grpc_url.clone())?.connect().await?;
    println!();
    println!(
        "{:<44} {:>8} {:>8} {:>9} {:>9} {:>9} {:>7}",
        "list", "sent", "ok", "p50 ms", "p99 ms", "max ms", "errors"
    );
    let lists = [
        "health (floor)",
        "because-you-watched (personal)",
        "because-you-watched (seed)",
        "trending",
        "friends-watching",
        "because-you-watched, refitting on 1 thread",
        "because-you-watched, refitting on all cores",
    ];
    let mut ok = true;
    let mut refits = Vec::new();
    for list in lists {
        // The last rows refit the model (as the leader does every
        // `recompute_interval`) while the load runs: on one thread (the
        // default, `recommendations.model_threads`) and on every core.
        if list.ends_with("all cores") {
            hearth_recs_algorithms::set_fit_threads(0);
        }
        let refitting = list.contains("refitting").then(|| {
            let (store, config) = (store.clone(), app.config.recommendations.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let done = hearth_recommendations::model::refit(&store, &config).await;
                (started.elapsed().as_secs_f64(), done.is_ok())
            })
        });
        let (summary, sent, errors) = load(list, &channel, &tokens, &ids, args.rate, args.seconds).await;
        println!(
            "{list:<44} {sent:>8} {:>8} {:>9.2} {:>9.2} {:>9.2} {errors:>7}",
            summary.count, summary.p50, summary.p99, summary.max
        );
        if let Some(refit) = refitting {
            let (seconds, fitted) = refit.await?;
            refits.push(format!("{list}: the refit took {seconds:.2} s{}", if fitted { "" } else { " and FAILED" }));
            ok &= fitted;
        }
        ok &= errors == 0;
    }
    for refit in refits {
        println!("{refit}");
    }
    let (lists, entries): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE jsonb_array_length(items) > 0), COALESCE(sum(jsonb_array_length(items)), 0)::bigint
           FROM recs.user_recommendations",
    )
    .fetch_one(&pool)
    .await?;
    println!("after the refits: {lists} viewers have a personal list ({entries} entries)");
    println!();
    println!("target: p99 < 5 ms at {} requests/s (recommendation lists)", args.rate);
    Ok(ok)
}

/// Fires `list` at `rate` for `seconds`, open loop; returns latencies (ms),
/// requests sent and errors.
async fn load(
    list: &'static str,
    channel: &tonic::transport::Channel,
    tokens: &Arc<Vec<String>>,
    channels: &[String],
    rate: u32,
    seconds: u64,
) -> (Summary, usize, usize) {
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let total = (u64::from(rate) * seconds) as usize;
    let mut tasks = Vec::with_capacity(total);
    let start = Instant::now();
    let mut rng = StdRng::seed_from_u64(11);
    for i in 0..total {
        tokio::time::sleep_until(start + interval * i as u32).await;
        let token = tokens[rng.random_range(0..tokens.len())].clone();
        let seed = channels[rng.random_range(0..channels.len().min(200))].clone();
        let channel = channel.clone();
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let mut recs = RecommendationsServiceClient::new(channel.clone());
            let result = match list {
                "health (floor)" => tonic_health::pb::health_client::HealthClient::new(channel)
                    .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
                    .await
                    .map(drop),
                "because-you-watched (personal)" => recs
                    .list_because_you_watched(authed(pb::ListBecauseYouWatchedRequest::default(), &token))
                    .await
                    .map(drop),
                "because-you-watched (seed)" => {
                    let seed = Some(MediaRef { kind: Some(media_ref::Kind::ChannelId(seed)) });
                    recs.list_because_you_watched(authed(pb::ListBecauseYouWatchedRequest { seed, page: None }, &token))
                        .await
                        .map(drop)
                }
                "trending" => recs.list_trending(authed(pb::ListTrendingRequest::default(), &token)).await.map(drop),
                _ => recs
                    .list_friends_watching(authed(pb::ListFriendsWatchingRequest::default(), &token))
                    .await
                    .map(drop),
            };
            (sent.elapsed().as_secs_f64() * 1000.0, result.is_ok())
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut errors = 0;
    for task in tasks {
        match task.await {
            Ok((ms, true)) => latencies.push(ms),
            _ => errors += 1,
        }
    }
    (Summary::of(&latencies), total, errors)
}
