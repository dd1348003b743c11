//! Keeps channel and programme rooms in step with the catalog: a durable
//! JetStream pull consumer `rooms-catalog` of `<prefix>.provider.catalog.>`
//! (stream PROVIDER), shared by every rooms replica so each event is handled
//! once, at least once. Every handler is idempotent, so a redelivery does
//! nothing new: a channel keeps its one room, a programme its one room, and
//! unchanged entries write and publish nothing.
//!
//! - `channel_upserted`: the channel's CHANNEL room exists, ACTIVE, with the
//!   channel's name, logo and adult flag (`settings.sensitive`).
//! - `channel_removed`: its channel room and its programme rooms whose
//!   programme has not ended are archived.
//! - `guide_updated`: programmes of the changed window (cut to now … now +
//!   `rooms.programme_room_horizon`) that `rooms.programme_rooms` selects
//!   get a PROGRAMME room. Rooms of programmes that left the guide and have
//!   not opened are deleted when nobody joined them (nobody can before they
//!   open; only an operator admin's membership would keep one), else
//!   archived.
//! - `now_changed`: `NowNextChanged` goes to the channel room and the
//!   channel's ACTIVE programme rooms.

use std::time::Duration;

use async_nats::jetstream::{
    AckKind,
    consumer::{AckPolicy, pull},
};
use futures::StreamExt;
use hearth_platform::nats::{Nats, PROVIDER_MAX_AGE};
use hearth_proto::hearth::{
    events::v1::Envelope,
    provider::v1::{self as provider, CatalogEvent, catalog_event},
    rooms::v1 as pb,
};
use prost::Message;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::{
    domain::{
        catalog::{self, Airing, RoomState},
        fields::{self, Media},
        playback::Cause,
    },
    events::Channel,
    grpc::{RoomsApi, convert},
    store::{CatalogRoom, ProgrammeSlot, RoomRow, Synced},
};

/// The durable consumer's name: every rooms replica shares it.
pub const CONSUMER: &str = "rooms-catalog";

/// Longest a guide answer may be (ListGuide's limit): a full answer may be
/// cut, so nothing is treated as vanished from it.
const GUIDE_MAX: usize = 1000;

/// Why an event was not handled.
#[derive(Debug)]
enum Failure {
    /// Malformed: logged and dropped (a redelivery would fail alike).
    Malformed(String),
    /// Worth another try (database, catalog): redelivered after a delay.
    Retry(String),
}

impl From<crate::error::RoomsError> for Failure {
    fn from(err: crate::error::RoomsError) -> Self {
        Failure::Retry(err.to_string())
    }
}

impl From<redis::RedisError> for Failure {
    fn from(err: redis::RedisError) -> Self {
        Failure::Retry(err.to_string())
    }
}

/// Consumes until `shutdown`, re-creating the consumer after failures.
/// `dedupe_window` is `provider.viewing_dedupe_window`, the PROVIDER
/// stream's duplicate window (the stream is created alike by every user).
pub async fn run(api: RoomsApi, nats: Nats, dedupe_window: Duration, shutdown: CancellationToken) {
    loop {
        if let Err(error) = consume(&api, &nats, dedupe_window, &shutdown).await {
            tracing::warn!(%error, "catalog consumer stopped; retrying");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

async fn consume(
    api: &RoomsApi,
    nats: &Nats,
    dedupe_window: Duration,
    shutdown: &CancellationToken,
) -> Result<(), String> {
    // Created alike by the producer; a stream made with other settings
    // (another release's window) is still fine to consume from.
    let stream = match nats.ensure_stream_with("provider", PROVIDER_MAX_AGE, dedupe_window).await {
        Ok(stream) => stream,
        Err(error) => {
            tracing::debug!(%error, "PROVIDER stream not set up as configured; using it as it is");
            nats.jetstream.get_stream(nats.stream_name("provider")).await.map_err(|e| e.to_string())?
        }
    };
    let consumer = stream
        .get_or_create_consumer(
            CONSUMER,
            pull::Config {
                durable_name: Some(CONSUMER.to_owned()),
                filter_subject: nats.subject("provider.catalog.>"),
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_secs(60),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    // The lag reporter lives as long as this attempt at consuming.
    let lag = shutdown.child_token();
    let _stop_lag = lag.clone().drop_guard();
    hearth_platform::nats::report_consumer_lag(stream.clone(), CONSUMER.to_owned(), lag);
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            message = messages.next() => message,
        };
        let Some(message) = message else { return Err("consumer ended".into()) };
        let message = message.map_err(|e| e.to_string())?;
        let event = Envelope::decode(message.payload.as_ref()).map_err(|e| Failure::Malformed(e.to_string())).and_then(
            |envelope| {
                let occurred = envelope.occurred_at.as_ref().and_then(convert::datetime);
                CatalogEvent::decode(envelope.payload.as_slice())
                    .map(|event| (event, occurred))
                    .map_err(|e| Failure::Malformed(e.to_string()))
            },
        );
        let outcome = match event {
            Ok((event, occurred)) => handle(api, event, occurred).await,
            Err(failure) => Err(failure),
        };
        match outcome {
            Ok(()) => {
                let _ = message.ack().await;
            }
            Err(Failure::Malformed(error)) => {
                tracing::warn!(%error, subject = %message.subject, "dropped a malformed catalog event");
                let _ = message.ack().await;
            }
            Err(Failure::Retry(error)) => {
                tracing::warn!(%error, subject = %message.subject, "catalog event not applied; it will be redelivered");
                let _ = message.ack_with(AckKind::Nak(Some(Duration::from_secs(5)))).await;
            }
        }
    }
}

fn channel_id(raw: &str) -> Result<String, Failure> {
    hearth_platform::validate::identifier("channel_id", raw, fields::MEDIA_ID_MAX)
        .map_err(|e| Failure::Malformed(e.to_string()))
}

async fn handle(api: &RoomsApi, event: CatalogEvent, occurred: Option<OffsetDateTime>) -> Result<(), Failure> {
    match event.kind {
        Some(catalog_event::Kind::ChannelUpserted(channel)) => channel_upserted(api, &channel).await,
        Some(catalog_event::Kind::ChannelRemoved(removed)) => {
            channel_removed(api, &channel_id(&removed.channel_id)?).await
        }
        Some(catalog_event::Kind::GuideUpdated(guide)) => guide_updated(api, &guide).await,
        Some(catalog_event::Kind::NowChanged(now)) => now_changed(api, now, occurred).await,
        None => Err(Failure::Malformed("catalog event without a kind".into())),
    }
}

/// Tells a room what catalog sync changed: RoomUpdated (versioned, on
/// `.room`) as UpdateRoom publishes it, with no user as the changer.
pub(crate) async fn announce_update(api: &RoomsApi, room: &RoomRow, changed: &[&str]) -> crate::error::Result<()> {
    let version = api.state.next_version(room.id).await?;
    let event = pb::RoomUpdated {
        room: Some(api.room_pb(room).await?),
        changed_fields: changed.iter().map(|f| (*f).to_owned()).collect(),
        changed_by: String::new(),
    };
    api.events.room(room.id, Channel::Room, version, pb::room_event::Kind::RoomUpdated(event)).await;
    Ok(())
}

async fn synced(api: &RoomsApi, outcome: Synced) -> Result<(), Failure> {
    match outcome {
        Synced::Created(room) => {
            tracing::info!(room = %room.id, kind = %room.kind, media = ?room.media_id, "catalog room created");
            api.init_playback(&room, Cause::Unspecified).await?;
        }
        Synced::Updated(room, changed) => announce_update(api, &room, &changed).await?,
        Synced::Unchanged => {}
    }
    Ok(())
}

async fn channel_upserted(api: &RoomsApi, channel: &provider::Channel) -> Result<(), Failure> {
    let id = channel_id(&channel.channel_id)?;
    let wanted = CatalogRoom {
        title: catalog::room_title(channel.names.iter().map(|n| n.value.as_str()), &id, fields::TITLE_MAX),
        description: String::new(),
        image_url: catalog::https_image(channel.logos.iter().map(|l| l.url.as_str())),
        sensitive: channel.adult,
        programme: None,
        media: Media::Channel(id),
    };
    let outcome = api.store.sync_catalog_room(&wanted, OffsetDateTime::now_utc()).await?;
    synced(api, outcome).await
}

async fn channel_removed(api: &RoomsApi, channel: &str) -> Result<(), Failure> {
    for room in api.store.archive_channel(channel).await? {
        tracing::info!(room = %room.id, %channel, "channel removed: room archived");
        announce_update(api, &room, &["state"]).await?;
    }
    Ok(())
}

/// A guide programme as a programme room; `None` when it is malformed.
fn programme_room(
    programme: &provider::Programme,
    channel: &str,
    sensitive: bool,
    api: &RoomsApi,
) -> Option<(CatalogRoom, Airing)> {
    let id =
        hearth_platform::validate::identifier("programme_id", &programme.programme_id, fields::MEDIA_ID_MAX).ok()?;
    let start = convert::datetime(programme.start_time.as_ref()?)?;
    let end = convert::datetime(programme.end_time.as_ref()?)?;
    let airing = Airing { start, end, live: programme.live, premiere: programme.premiere };
    let description = programme.descriptions.iter().map(|d| d.value.as_str()).find(|d| !d.trim().is_empty());
    let room = CatalogRoom {
        title: catalog::room_title(programme.titles.iter().map(|t| t.value.as_str()), &id, fields::TITLE_MAX),
        description: catalog::clean_text(description.unwrap_or_default(), fields::DESCRIPTION_MAX, true),
        image_url: catalog::https_image(programme.images.iter().map(|i| i.url.as_str())),
        sensitive,
        programme: Some(ProgrammeSlot {
            channel_id: channel.to_owned(),
            start,
            end,
            schedule: catalog::schedule(start, end, api.config.programme_room_lead, api.config.programme_room_linger),
        }),
        media: Media::Programme(id),
    };
    Some((room, airing))
}

async fn guide_updated(api: &RoomsApi, guide: &provider::GuideUpdated) -> Result<(), Failure> {
    let channel = channel_id(&guide.channel_id)?;
    let time = |t: Option<&hearth_proto::wkt::Timestamp>| {
        t.and_then(convert::datetime).ok_or_else(|| Failure::Malformed("guide window without valid times".into()))
    };
    let (start, end) = (time(guide.start_time.as_ref())?, time(guide.end_time.as_ref())?);
    let now = OffsetDateTime::now_utc();
    let config = &api.config;
    if config.programme_rooms == hearth_platform::config::ProgrammeRooms::None {
        return Ok(());
    }
    let Some((from, to)) = catalog::guide_window(start, end, now, config.programme_room_horizon) else {
        return Ok(());
    };
    let Some(programmes) = api.catalog.guide(&channel, from, to).await.map_err(Failure::Retry)? else {
        return Ok(());
    };
    let sensitive = api.store.channel_sensitive(&channel).await?;
    let mut kept = Vec::new();
    for programme in &programmes {
        if programme.channel_id != channel {
            continue;
        }
        let Some((room, airing)) = programme_room(programme, &channel, sensitive, api) else {
            tracing::debug!(programme = %programme.programme_id, "skipped a malformed guide programme");
            continue;
        };
        if !catalog::wants_room(
            config.programme_rooms,
            &airing,
            now,
            config.programme_room_horizon,
            config.programme_room_linger,
        ) {
            continue;
        }
        if let Media::Programme(id) = &room.media {
            kept.push(id.clone());
        }
        let outcome = api.store.sync_catalog_room(&room, now).await?;
        synced(api, outcome).await?;
    }
    if programmes.len() >= GUIDE_MAX {
        return Ok(());
    }
    for room in api.store.vanished_programme_rooms(&channel, from, to, &kept).await? {
        if api.store.delete_unopened(room.id).await? {
            tracing::info!(room = %room.id, "programme left the guide: unopened room deleted");
            announce_deleted(api, room.id).await?;
        } else if let Some(room) = api.store.transition(room.id, &[RoomState::Scheduled], RoomState::Archived).await? {
            tracing::info!(room = %room.id, "programme left the guide: room archived");
            announce_update(api, &room, &["state"]).await?;
        }
    }
    Ok(())
}

async fn announce_deleted(api: &RoomsApi, room: uuid::Uuid) -> crate::error::Result<()> {
    let version = api.state.next_version(room).await?;
    api.events
        .room(
            room,
            Channel::Room,
            version,
            pb::room_event::Kind::RoomDeleted(pb::RoomDeleted { deleted_by: String::new() }),
        )
        .await;
    api.state.forget_room(room).await?;
    Ok(())
}

async fn now_changed(
    api: &RoomsApi,
    now: provider::NowChanged,
    occurred: Option<OffsetDateTime>,
) -> Result<(), Failure> {
    let channel = channel_id(&now.channel_id)?;
    let airing_end = now.now.as_ref().and_then(|p| p.end_time.as_ref()).and_then(convert::datetime);
    if catalog::now_changed_is_stale(airing_end, occurred, OffsetDateTime::now_utc()) {
        tracing::debug!(%channel, "stale now/next change skipped");
        return Ok(());
    }
    let value = provider::ChannelNowNext { channel_id: channel.clone(), now: now.now, next: now.next };
    api.catalog.remember_now_next(&channel, Some(value.clone()));
    let rooms = api.store.guide_rooms(&channel).await?;
    if rooms.is_empty() {
        return Ok(());
    }
    let info = api.now_next_info(&value).await?;
    for room in rooms {
        let event = pb::NowNextChanged { now_next: Some(info.clone()) };
        api.events.room(room, Channel::Room, 0, pb::room_event::Kind::NowNextChanged(event)).await;
    }
    Ok(())
}
