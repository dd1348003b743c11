//! Catalog sync: one replica at a time (the holder of a Redis lease) keeps
//! Hearth's catalog in step with the operator's IptvProvider — the line-up
//! by full and incremental listings and the WatchCatalog stream, the guide
//! by periodic GetGuide windows — runs the guide clock that announces
//! programme boundaries, and relays announcements that failed. Any replica
//! can die: the lease lapses and another takes over where Postgres says
//! the last one stood.

use std::{collections::HashMap, time::Duration};

use futures::StreamExt;
use hearth_platform::config::ProviderConfig;
use hearth_proto::hearth::provider::v1::{Channel, GetGuideRequest, Programme};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tonic::Code;

use hearth_platform::redis::Lease;

use crate::{catalog::Catalog, domain::contract, error::Result, upstream::Upstream};

/// Life of the leader lease; renewed every third of it.
pub const LEASE: Duration = Duration::from_secs(15);
/// Channels per GetGuide call (the contract's limit).
const GUIDE_CHUNK: usize = 1000;
/// Pause after a failed round.
const BACKOFF: Duration = Duration::from_secs(5);
/// The guide clock never replays more than this after an outage.
const CLOCK_CATCH_UP: time::Duration = time::Duration::hours(1);

/// What the leader needs.
#[derive(Clone)]
pub struct Sync {
    pub catalog: Catalog,
    pub lease: Lease,
    pub upstream: Option<Upstream>,
    pub config: ProviderConfig,
}

/// Competes for the lease until shutdown; syncs while holding it.
pub async fn run(sync: Sync, shutdown: CancellationToken) {
    let lease = sync.lease.clone();
    lease
        .lead(shutdown, |leadership| {
            let sync = sync.clone();
            async move {
                tokio::join!(
                    channels_loop(&sync, &leadership),
                    guide_loop(&sync, &leadership),
                    clock_loop(&sync, &leadership)
                );
            }
        })
        .await;
}

async fn pause(token: &CancellationToken, duration: Duration) -> bool {
    tokio::select! {
        () = token.cancelled() => false,
        () = tokio::time::sleep(duration) => true,
    }
}

/// Lists (incrementally when it can), then follows WatchCatalog; falls
/// back to polling every `sync_interval` when the provider cannot stream.
async fn channels_loop(sync: &Sync, token: &CancellationToken) {
    let Some(upstream) = &sync.upstream else { return };
    loop {
        let wait = match list(sync, upstream).await {
            // A provider that issues no sync token cannot be watched: poll.
            Ok(sync_token) if sync_token.is_empty() => sync.config.sync_interval,
            Ok(sync_token) => match watch(sync, upstream, &sync_token, token).await {
                Ok(()) => Duration::ZERO,
                Err(status) if status.code() == Code::Unimplemented => sync.config.sync_interval,
                Err(status) => {
                    tracing::warn!(code = ?status.code(), message = status.message(), "WatchCatalog ended");
                    BACKOFF
                }
            },
            Err(error) => {
                tracing::warn!(%error, "channel sync failed");
                BACKOFF
            }
        };
        if !pause(token, wait).await {
            return;
        }
    }
}

/// Why a round of sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("provider: {0:?} {1}")]
    Provider(Code, String),
    #[error(transparent)]
    Catalog(#[from] crate::error::ProviderError),
}

impl From<tonic::Status> for SyncError {
    fn from(status: tonic::Status) -> Self {
        SyncError::Provider(status.code(), status.message().to_owned())
    }
}

/// Valid channels of a batch, one per id (the last wins); the rest are
/// logged and skipped: one bad channel must not hold up the line-up.
fn valid_channels(channels: Vec<Channel>) -> Vec<Channel> {
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut kept: Vec<Channel> = Vec::new();
    for channel in channels {
        if let Err(error) = contract::channel("channel", &channel) {
            tracing::warn!(channel = %channel.channel_id, %error, "provider channel skipped: breaks the contract");
            continue;
        }
        match by_id.get(&channel.channel_id) {
            Some(&at) => kept[at] = channel,
            None => {
                by_id.insert(channel.channel_id.clone(), kept.len());
                kept.push(channel);
            }
        }
    }
    kept
}

/// One listing (incremental from the stored token, or full), applied page
/// by page. Returns the sync token to continue from.
pub async fn list(sync: &Sync, upstream: &Upstream) -> Result<String, SyncError> {
    let mut sync_token = sync.catalog.store.sync_token().await?;
    'listing: loop {
        let mut page_token = String::new();
        let mut listed: Vec<String> = Vec::new();
        let mut full = sync_token.is_empty();
        let mut added: Vec<String> = Vec::new();
        loop {
            let page = match upstream.list_channels(&page_token, &sync_token).await {
                Ok(page) => page,
                Err(status) if status.code() == Code::FailedPrecondition && !sync_token.is_empty() => {
                    tracing::info!("provider sync token expired; listing the whole line-up");
                    sync_token.clear();
                    continue 'listing;
                }
                Err(status) => return Err(status.into()),
            };
            full |= page.full_listing;
            let channels = valid_channels(page.channels);
            listed.extend(channels.iter().map(|c| c.channel_id.clone()));
            let applied = sync.catalog.apply_channels(&channels, &page.removed_channel_ids).await?;
            added.extend(applied.upserted);
            if page.next_page_token.is_empty() {
                if full {
                    let removed = sync.catalog.remove_missing(&listed).await?;
                    tracing::info!(
                        listed = listed.len(),
                        changed = added.len(),
                        removed = removed.len(),
                        "line-up listed"
                    );
                }
                sync.catalog.store.set_sync_token(&page.next_sync_token).await?;
                refresh_guide(sync, upstream, &added).await;
                return Ok(page.next_sync_token);
            }
            page_token = page.next_page_token;
        }
    }
}

/// Applies WatchCatalog batches until the stream ends or leadership does.
async fn watch(sync: &Sync, upstream: &Upstream, from: &str, token: &CancellationToken) -> Result<(), tonic::Status> {
    let mut stream = upstream.watch(from).await?;
    loop {
        let batch = tokio::select! {
            () = token.cancelled() => return Ok(()),
            batch = stream.next() => batch,
        };
        let Some(batch) = batch else { return Ok(()) };
        let batch = batch?;
        if batch.sync_token.is_empty() {
            return Err(tonic::Status::internal("WatchCatalog sent a batch without a sync token"));
        }
        let channels = valid_channels(batch.upserted);
        let store = |e: crate::error::ProviderError| tonic::Status::internal(e.to_string());
        let applied = sync.catalog.apply_channels(&channels, &batch.removed_channel_ids).await.map_err(store)?;
        sync.catalog.store.set_sync_token(&batch.sync_token).await.map_err(store)?;
        refresh_guide(sync, upstream, &applied.upserted).await;
    }
}

/// Fetches the guide again every `guide_refresh` (at once when it is
/// older than that), and forgets programmes past `guide_past`.
async fn guide_loop(sync: &Sync, token: &CancellationToken) {
    let Some(upstream) = &sync.upstream else { return };
    loop {
        let due = match sync.catalog.store.guide_synced_at().await {
            Ok(Some(at)) => {
                let age = OffsetDateTime::now_utc() - at;
                sync.config.guide_refresh.saturating_sub(age.try_into().unwrap_or_default())
            }
            Ok(None) => Duration::ZERO,
            Err(error) => {
                tracing::warn!(%error, "guide sync state unavailable");
                BACKOFF
            }
        };
        if !pause(token, due).await {
            return;
        }
        let started = OffsetDateTime::now_utc();
        match sync.catalog.store.channel_ids().await {
            Ok(ids) => {
                let changed = refresh_guide(sync, upstream, &ids).await;
                tracing::info!(channels = ids.len(), changed, "guide refreshed");
                let past = time::Duration::try_from(sync.config.guide_past).unwrap_or(time::Duration::hours(6));
                let pruned = sync.catalog.store.prune_guide(started - past).await;
                let synced = sync.catalog.store.set_guide_synced_at(started).await;
                if let Some(error) = pruned.err().or(synced.err()) {
                    tracing::warn!(%error, "guide bookkeeping failed");
                }
            }
            Err(error) => {
                tracing::warn!(%error, "guide refresh skipped");
                if !pause(token, BACKOFF).await {
                    return;
                }
            }
        }
    }
}

/// The guide window fetched: [now − guide_past, now + guide_horizon],
/// within the contract's 30 days back and 21 days long.
pub fn guide_window(config: &ProviderConfig, now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let span = |d: Duration, cap: time::Duration| time::Duration::try_from(d).unwrap_or(cap).min(cap);
    let start = now - span(config.guide_past, time::Duration::days(7));
    let end = now + span(config.guide_horizon, time::Duration::days(14));
    (start, end)
}

/// Fetches and stores the guide of `channels`; returns how many changed.
/// Failures are logged: the next refresh tries again.
pub async fn refresh_guide(sync: &Sync, upstream: &Upstream, channels: &[String]) -> usize {
    let (start, end) = guide_window(&sync.config, OffsetDateTime::now_utc());
    let mut changed = 0;
    for chunk in channels.chunks(GUIDE_CHUNK) {
        match refresh_chunk(sync, upstream, chunk, start, end).await {
            Ok(n) => changed += n,
            Err(error) => tracing::warn!(%error, channels = chunk.len(), "guide fetch failed"),
        }
    }
    changed
}

async fn refresh_chunk(
    sync: &Sync,
    upstream: &Upstream,
    chunk: &[String],
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> Result<usize, SyncError> {
    let ts = hearth_platform::wkt::timestamp;
    let request = GetGuideRequest { channel_ids: chunk.to_vec(), start_time: Some(ts(start)), end_time: Some(ts(end)) };
    let mut stream = upstream.guide(request).await?;
    // The contract orders programmes by channel: one channel is held at a time.
    let mut by_channel: HashMap<String, Vec<Programme>> = HashMap::new();
    let wanted: std::collections::HashSet<&String> = chunk.iter().collect();
    while let Some(batch) = stream.next().await {
        for programme in batch?.programmes {
            if !wanted.contains(&programme.channel_id) {
                continue;
            }
            if let Err(error) = contract::programme("programme", &programme) {
                tracing::warn!(programme = %programme.programme_id, %error, "provider programme skipped: breaks the contract");
                continue;
            }
            by_channel.entry(programme.channel_id.clone()).or_default().push(programme);
        }
    }
    let mut changed = 0;
    for channel in chunk {
        let programmes = by_channel.remove(channel).unwrap_or_default();
        // Programmes that began before the window were stored by an
        // earlier refresh; the window replaces those that start in it.
        let programmes: Vec<Programme> = without_overlaps(programmes)
            .into_iter()
            .filter(|p| p.start_time.as_ref().and_then(hearth_platform::wkt::datetime).is_some_and(|s| s >= start))
            .collect();
        if sync.catalog.apply_guide(channel, start, end, &programmes).await? {
            changed += 1;
        }
    }
    Ok(changed)
}

/// One channel's programmes by start, duplicates of an id dropped and
/// overlaps cut (an implementation that breaks the contract's "no
/// overlaps" must not break now/next).
pub fn without_overlaps(mut programmes: Vec<Programme>) -> Vec<Programme> {
    let start = |p: &Programme| p.start_time.as_ref().and_then(hearth_platform::wkt::datetime);
    let end = |p: &Programme| p.end_time.as_ref().and_then(hearth_platform::wkt::datetime);
    programmes.sort_by_key(|p| start(p));
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<Programme> = Vec::with_capacity(programmes.len());
    for programme in programmes {
        if !seen.insert(programme.programme_id.clone()) {
            continue;
        }
        if let Some(last) = kept.last()
            && end(last) > start(&programme)
        {
            continue;
        }
        kept.push(programme);
    }
    kept
}

/// Every `now_tick`: announces what airs on channels where a programme
/// started or ended since the last tick, and relays due announcements.
async fn clock_loop(sync: &Sync, token: &CancellationToken) {
    loop {
        if let Err(error) = tick(sync).await {
            tracing::warn!(%error, "guide clock tick failed");
        }
        if !pause(token, sync.config.now_tick).await {
            return;
        }
    }
}

/// One tick of the guide clock.
pub async fn tick(sync: &Sync) -> Result<usize> {
    let store = &sync.catalog.store;
    let now = OffsetDateTime::now_utc();
    let from = store.clock_at().await?.unwrap_or(now - time::Duration::seconds(1)).max(now - CLOCK_CATCH_UP);
    let mut announced = 0;
    if from < now {
        let channels = store.boundaries(from, now).await?;
        announced = sync.catalog.announce_now(&channels, now).await?;
        store.set_clock_at(now).await?;
    }
    sync.catalog.relay().await?;
    Ok(announced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_proto::hearth::provider::v1::LocalizedString;

    fn programme(id: &str, start: i64, end: i64) -> Programme {
        let ts =
            |m: i64| Some(hearth_platform::wkt::timestamp(OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(m)));
        Programme {
            programme_id: id.into(),
            channel_id: "c".into(),
            start_time: ts(start),
            end_time: ts(end),
            titles: vec![LocalizedString { language: String::new(), value: id.into() }],
            ..Default::default()
        }
    }

    #[test]
    fn overlapping_and_repeated_programmes_are_dropped() {
        let kept = without_overlaps(vec![
            programme("b", 30, 60),
            programme("a", 0, 30),
            programme("a", 0, 30),
            programme("x", 45, 70),
            programme("c", 60, 90),
        ]);
        assert_eq!(kept.iter().map(|p| p.programme_id.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn the_guide_window_stays_within_the_contract() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(100);
        let mut config = ProviderConfig::default();
        let (start, end) = guide_window(&config, now);
        assert_eq!((now - start, end - now), (time::Duration::hours(6), time::Duration::hours(48)));
        config.guide_past = Duration::from_secs(90 * 86_400);
        config.guide_horizon = Duration::from_secs(90 * 86_400);
        let (start, end) = guide_window(&config, now);
        assert!(now - start <= time::Duration::days(30) && end - start <= time::Duration::days(21));
    }

    #[test]
    fn invalid_and_repeated_channels_are_skipped() {
        let channel = |id: &str, name: &str| Channel {
            channel_id: id.into(),
            names: vec![LocalizedString { language: String::new(), value: name.into() }],
            ..Default::default()
        };
        let kept = valid_channels(vec![channel("a", "One"), channel("", "Bad"), channel("b", ""), channel("a", "Uno")]);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].names[0].value, "Uno");
    }
}
