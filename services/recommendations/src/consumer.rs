//! The signals recommendations learn from: two durable JetStream consumers
//! shared by every replica — the provider's viewing events
//! (`provider.viewing.>`, stream PROVIDER) and Hearth's engagement signals
//! (`recommendations.signal.>`, stream RECOMMENDATIONS). Delivery is at
//! least once; each batch's taste updates and its event ids commit in one
//! transaction, so a redelivered event changes nothing (exactly-once
//! effect), and the consumer resumes where it stopped after a restart.
//! Trending counters and who-watches-what follow in Redis for the events
//! that were new.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use async_nats::jetstream::{
    self, AckKind,
    consumer::{AckPolicy, pull},
};
use futures::StreamExt;
use hearth_platform::{config::RecommendationsConfig, nats::Nats};
use hearth_proto::hearth::{
    events::v1::Envelope,
    provider::v1::{ViewingEventKind, ViewingRecorded, viewing_event},
    recommendations::v1::{EngagementSignal, SignalKind},
    rooms::v1::RoomVisibility,
};
use prost::Message;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    domain::{items::Item, locale, signals},
    state::{State, Watching},
    store::{Contribution, Store},
};

/// Messages taken per batch.
const BATCH: usize = 500;
/// How long a fetch waits for a full batch.
const BATCH_WAIT: Duration = Duration::from_millis(250);

/// What one event does: taste for a user, trending for items, and who
/// watches what.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Effect {
    pub taste: Vec<Contribution>,
    /// (item, weight, at ms, scopes)
    pub trending: Vec<(String, f64, i64, Vec<String>)>,
    /// (user, item, now watching or stopped)
    pub watching: Vec<(Uuid, String, Option<Watching>)>,
}

fn at_ms(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

fn scopes(region: &str, language: &str) -> Vec<String> {
    let mut scopes = vec!["all".to_owned()];
    scopes.extend(locale::region(region).map(|r| format!("r:{r}")));
    scopes.extend(locale::language(language).map(|l| format!("l:{l}")));
    scopes
}

/// The effect of a provider viewing event.
pub fn viewing_effect(recorded: &ViewingRecorded) -> Effect {
    let mut effect = Effect::default();
    let Some(event) = &recorded.event else { return effect };
    let Some(at) = event.occur_time.as_ref().and_then(hearth_platform::wkt::datetime) else { return effect };
    let kind = ViewingEventKind::try_from(event.kind).unwrap_or(ViewingEventKind::Unspecified);
    let item = match &event.item {
        Some(viewing_event::Item::ChannelId(id)) => Item::Channel(id.clone()),
        Some(viewing_event::Item::AssetId(id)) => Item::Asset(id.clone()),
        None => return effect,
    };
    let mut items = vec![item.key()];
    if !event.programme_id.is_empty() {
        items.push(Item::Programme(event.programme_id.clone()).key());
    }
    let weight = signals::viewing_weight(kind);
    let user = Uuid::parse_str(&recorded.user_id).ok();
    if weight > 0.0 {
        for key in &items {
            if let Some(user) = user {
                effect.taste.push(Contribution { user, item: key.clone(), score: weight, at });
            }
            // Adult content never trends.
            if !recorded.adult {
                effect.trending.push((key.clone(), weight, at_ms(at), scopes(&event.region, "")));
            }
        }
    }
    if let Some(user) = user {
        let ms = at_ms(at);
        if kind == ViewingEventKind::Zap && !event.previous_channel_id.is_empty() {
            effect.watching.push((user, Item::Channel(event.previous_channel_id.clone()).key(), None));
        }
        let now = match kind {
            ViewingEventKind::Stop => None,
            _ => Some(Watching {
                item: items[0].clone(),
                since_ms: ms,
                last_ms: ms,
                sensitive: recorded.adult,
                room: None,
            }),
        };
        effect.watching.push((user, items[0].clone(), now));
    }
    effect
}

/// The effect of a Hearth engagement signal.
pub fn signal_effect(signal: &EngagementSignal) -> Effect {
    let mut effect = Effect::default();
    let Ok(user) = Uuid::parse_str(&signal.user_id) else { return effect };
    let Some(at) = signal.time.as_ref().and_then(hearth_platform::wkt::datetime) else { return effect };
    let kind = SignalKind::try_from(signal.kind).unwrap_or(SignalKind::Unspecified);
    let minutes =
        signal.duration.as_ref().and_then(hearth_platform::wkt::std_duration).map_or(0.0, |d| d.as_secs_f64() / 60.0);
    let weight = signals::signal_weight(kind, minutes, signal.count.max(1));
    let media = signal.media.as_ref().and_then(Item::from_media);
    let room = Uuid::parse_str(&signal.room_id).ok();
    let public_room = RoomVisibility::try_from(signal.room_visibility) == Ok(RoomVisibility::Public);
    let scopes = scopes(&signal.region, &signal.language);
    if weight > 0.0 {
        if let Some(media) = &media {
            effect.taste.push(Contribution { user, item: media.key(), score: weight, at });
            if !signal.sensitive {
                effect.trending.push((media.key(), weight, at_ms(at), scopes.clone()));
            }
        }
        if let Some(room) = room {
            let key = Item::Room(room.to_string()).key();
            effect.taste.push(Contribution { user, item: key.clone(), score: weight, at });
            // Only public rooms trend; private and unlisted ones are not
            // for strangers.
            if public_room && !signal.sensitive {
                effect.trending.push((key, weight, at_ms(at), scopes));
            }
        }
    }
    if matches!(kind, SignalKind::RoomJoined | SignalKind::RoomWatchTime | SignalKind::WatchPartyStarted) {
        let ms = at_ms(at);
        let item = media.map(|m| m.key()).or_else(|| room.map(|r| Item::Room(r.to_string()).key()));
        if let Some(item) = item {
            effect.watching.push((
                user,
                item.clone(),
                Some(Watching { item, since_ms: ms, last_ms: ms, sensitive: signal.sensitive, room }),
            ));
        }
    }
    effect
}

/// Runs one consumer until shutdown, re-creating it after failures.
pub async fn run(source: Source, deps: ConsumerDeps, shutdown: CancellationToken) {
    loop {
        if let Err(error) = consume(source, &deps, &shutdown).await {
            tracing::warn!(%error, source = source.name(), "signal consumer stopped; retrying");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

/// Which signals a consumer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Viewing,
    Signals,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Viewing => "recs-viewing",
            Source::Signals => "recs-signals",
        }
    }
}

/// What the consumers need.
#[derive(Clone)]
pub struct ConsumerDeps {
    pub nats: Nats,
    pub store: Store,
    pub state: State,
    pub config: RecommendationsConfig,
    pub viewing_dedupe_window: Duration,
    /// Announces watch parties to the hosts' friends.
    pub parties: crate::parties::Parties,
}

async fn consume(source: Source, deps: &ConsumerDeps, shutdown: &CancellationToken) -> Result<(), String> {
    let nats = &deps.nats;
    let (stream, filter) = match source {
        Source::Viewing => (
            nats.ensure_stream_with("provider", hearth_platform::nats::PROVIDER_MAX_AGE, deps.viewing_dedupe_window)
                .await,
            nats.subject("provider.viewing.>"),
        ),
        Source::Signals => (
            nats.ensure_stream("recommendations", hearth_platform::signals::SIGNALS_MAX_AGE).await,
            nats.subject("recommendations.signal.>"),
        ),
    };
    let stream = stream.map_err(|e| e.to_string())?;
    let consumer = stream
        .get_or_create_consumer(
            source.name(),
            pull::Config {
                durable_name: Some(source.name().to_owned()),
                filter_subject: filter,
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_secs(60),
                max_ack_pending: 20_000,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    // The lag reporter lives as long as this attempt at consuming.
    let lag = shutdown.child_token();
    let _stop_lag = lag.clone().drop_guard();
    hearth_platform::nats::report_consumer_lag(stream.clone(), source.name().to_owned(), lag);
    loop {
        if shutdown.is_cancelled() {
            return Ok(());
        }
        let mut batch =
            consumer.fetch().max_messages(BATCH).expires(BATCH_WAIT).messages().await.map_err(|e| e.to_string())?;
        let mut messages: Vec<jetstream::Message> = Vec::new();
        while let Some(message) = batch.next().await {
            messages.push(message.map_err(|e| e.to_string())?);
        }
        if messages.is_empty() {
            continue;
        }
        match apply(source, deps, &messages).await {
            Ok(()) => {
                for message in &messages {
                    message.ack().await.map_err(|e| e.to_string())?;
                }
            }
            Err(error) => {
                tracing::warn!(%error, source = source.name(), "signals not applied; they will be redelivered");
                for message in &messages {
                    let _ = message.ack_with(AckKind::Nak(Some(Duration::from_secs(2)))).await;
                }
            }
        }
    }
}

/// Chat and polls signals name their room but not what it plays or
/// whether it is sensitive; rooms' own signals (joins, watch time, parties)
/// do. Learns rooms from the latter and completes the former; a room not
/// learnt yet is treated as sensitive, so it never trends or shows in
/// friends-watching on a guess.
async fn complete_rooms(state: &State, signals: &mut [(Uuid, EngagementSignal)]) {
    let from_rooms = |kind: i32| {
        matches!(
            SignalKind::try_from(kind),
            Ok(SignalKind::RoomJoined | SignalKind::RoomWatchTime | SignalKind::WatchPartyStarted)
        )
    };
    let learnt: Vec<(Uuid, String, bool)> = signals
        .iter()
        .filter(|(_, s)| from_rooms(s.kind))
        .filter_map(|(_, s)| {
            let room = Uuid::parse_str(&s.room_id).ok()?;
            let media = s.media.as_ref().and_then(Item::from_media).map(|i| i.key()).unwrap_or_default();
            Some((room, media, s.sensitive))
        })
        .collect();
    if let Err(error) = state.learn_rooms(&learnt).await {
        tracing::warn!(%error, "room facts not remembered");
    }
    let unknown: Vec<Uuid> = signals
        .iter()
        .filter(|(_, s)| !from_rooms(s.kind) && s.media.is_none())
        .filter_map(|(_, s)| Uuid::parse_str(&s.room_id).ok())
        .collect();
    if unknown.is_empty() {
        return;
    }
    let known = state.rooms(&unknown).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "room facts unavailable");
        HashMap::new()
    });
    for (_, signal) in signals.iter_mut().filter(|(_, s)| !from_rooms(s.kind) && s.media.is_none()) {
        let Ok(room) = Uuid::parse_str(&signal.room_id) else { continue };
        match known.get(&room) {
            Some((media, sensitive)) => {
                signal.media = Item::parse(media).and_then(|i| i.media());
                signal.sensitive |= *sensitive;
            }
            None => signal.sensitive = true,
        }
    }
}

/// Applies one batch: taste in Postgres (exactly once), then Redis for
/// the events that were new.
async fn apply(source: Source, deps: &ConsumerDeps, messages: &[jetstream::Message]) -> Result<(), String> {
    let mut effects: HashMap<Uuid, Effect> = HashMap::new();
    let mut signals: Vec<(Uuid, EngagementSignal)> = Vec::new();
    for message in messages {
        let Some(envelope) = Envelope::decode(message.payload.as_ref()).ok() else {
            tracing::warn!(subject = %message.subject, "dropped an undecodable signal");
            continue;
        };
        let Ok(id) = Uuid::parse_str(&envelope.id) else { continue };
        match source {
            Source::Viewing => match ViewingRecorded::decode(envelope.payload.as_slice()) {
                Ok(recorded) => {
                    effects.insert(id, viewing_effect(&recorded));
                }
                Err(error) => tracing::warn!(%error, "dropped an undecodable viewing event"),
            },
            Source::Signals => match EngagementSignal::decode(envelope.payload.as_slice()) {
                Ok(signal) => signals.push((id, signal)),
                Err(error) => tracing::warn!(%error, "dropped an undecodable signal"),
            },
        }
    }
    complete_rooms(&deps.state, &mut signals).await;
    for (id, signal) in &signals {
        effects.insert(*id, signal_effect(signal));
    }
    let taste: HashMap<Uuid, Vec<Contribution>> = effects.iter().map(|(id, e)| (*id, e.taste.clone())).collect();
    let half_life = deps.config.affinity_half_life.as_secs_f64().max(1.0);
    let new: HashSet<Uuid> = deps.store.apply(&taste, half_life).await.map_err(|e| e.to_string())?;
    let (mut trending, mut watching) = (Vec::new(), Vec::new());
    for (id, effect) in effects {
        if new.contains(&id) {
            trending.extend(effect.trending);
            watching.extend(effect.watching);
        }
    }
    let parties: Vec<EngagementSignal> = signals
        .into_iter()
        .filter(|(id, s)| new.contains(id) && s.kind == SignalKind::WatchPartyStarted as i32)
        .map(|(_, s)| s)
        .collect();
    if !parties.is_empty() {
        deps.parties.announce(&parties).await;
    }
    let half_life_ms = deps.config.trending_half_life.as_millis() as i64;
    // Redis follows Postgres: if this fails after the commit, the live
    // counters miss these events (they are approximate by nature); taste
    // stays exact.
    if let Err(error) = deps.state.add_trending(&trending, half_life_ms).await {
        tracing::warn!(%error, "trending counters not updated");
    }
    if let Err(error) = deps.state.watch(&watching).await {
        tracing::warn!(%error, "who-watches-what not updated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use hearth_proto::hearth::{
        common::v1::{MediaRef, media_ref},
        provider::v1::ViewingEvent,
    };

    use super::*;

    fn ts() -> Option<hearth_proto::wkt::Timestamp> {
        Some(hearth_platform::wkt::timestamp(OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000)))
    }

    #[test]
    fn viewing_counts_for_taste_and_trending_but_adult_never_trends() {
        let user = Uuid::now_v7();
        let mut recorded = ViewingRecorded {
            event: Some(ViewingEvent {
                event_id: "e".into(),
                provider_user_id: "p".into(),
                kind: ViewingEventKind::Heartbeat as i32,
                item: Some(viewing_event::Item::ChannelId("c1".into())),
                programme_id: "c1@100".into(),
                occur_time: ts(),
                region: "de".into(),
                ..Default::default()
            }),
            user_id: user.to_string(),
            ..Default::default()
        };
        let effect = viewing_effect(&recorded);
        assert_eq!(
            effect.taste.iter().map(|c| c.item.as_str()).collect::<Vec<_>>(),
            ["channel:c1", "programme:c1@100"]
        );
        assert_eq!(effect.trending[0].3, ["all", "r:DE"]);
        assert_eq!(effect.watching.len(), 1);
        recorded.adult = true;
        let adult = viewing_effect(&recorded);
        assert!(adult.trending.is_empty());
        assert!(adult.watching[0].2.as_ref().is_some_and(|w| w.sensitive));
        recorded.user_id.clear();
        assert!(viewing_effect(&recorded).taste.is_empty(), "unlinked viewers have no taste to learn");
    }

    #[test]
    fn private_rooms_and_sensitive_signals_do_not_trend() {
        let room = Uuid::now_v7();
        let mut signal = EngagementSignal {
            user_id: Uuid::now_v7().to_string(),
            kind: SignalKind::RoomJoined as i32,
            room_id: room.to_string(),
            room_visibility: RoomVisibility::Private as i32,
            media: Some(MediaRef { kind: Some(media_ref::Kind::AssetId("film".into())) }),
            time: ts(),
            ..Default::default()
        };
        let effect = signal_effect(&signal);
        assert_eq!(effect.taste.len(), 2);
        assert_eq!(effect.trending.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(), ["asset:film"]);
        assert_eq!(effect.watching[0].2.as_ref().and_then(|w| w.room), Some(room));
        signal.room_visibility = RoomVisibility::Public as i32;
        assert_eq!(signal_effect(&signal).trending.len(), 2);
        signal.sensitive = true;
        assert!(signal_effect(&signal).trending.is_empty());
    }
}
