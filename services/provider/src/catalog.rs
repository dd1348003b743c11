//! The one write path of Hearth's catalog: catalog sync and ProviderIngest
//! pushes both land here. A change is committed first and announced on
//! JetStream right after; an announcement that fails stays due in
//! Postgres and the leader's relay sends it (outbox), so rooms never miss
//! a channel or a guide change.

use hearth_proto::hearth::provider::v1::{
    Channel, ChannelRemoved, GuideUpdated, NowChanged, Programme, catalog_event::Kind,
};
use time::OffsetDateTime;

use crate::{
    error::Result,
    events::Events,
    store::{GuideChange, Store},
};

/// Changes the relay announces per round.
const RELAY_BATCH: i64 = 500;

#[derive(Clone)]
pub struct Catalog {
    pub store: Store,
    pub events: Events,
}

/// What an apply changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Channels that are new, changed or back.
    pub upserted: Vec<String>,
    /// Channels that left the line-up.
    pub removed: Vec<String>,
}

impl Catalog {
    /// Stores channel upserts and removals and announces each change.
    pub async fn apply_channels(&self, upserts: &[Channel], removals: &[String]) -> Result<Applied> {
        let changed = self.store.upsert_channels(upserts).await?;
        for (channel, revision) in &changed {
            self.announce_channel(channel.clone(), false, *revision).await;
        }
        let removed = self.store.remove_channels(removals).await?;
        self.announce_removed(&removed).await;
        Ok(Applied {
            upserted: changed.into_iter().map(|(c, _)| c.channel_id).collect(),
            removed: removed.into_iter().map(|(id, _)| id).collect(),
        })
    }

    /// After a full listing: channels it did not name leave the line-up.
    pub async fn remove_missing(&self, listed: &[String]) -> Result<Vec<String>> {
        let removed = self.store.remove_channels_except(listed).await?;
        self.announce_removed(&removed).await;
        Ok(removed.into_iter().map(|(id, _)| id).collect())
    }

    async fn announce_removed(&self, removed: &[(String, i64)]) {
        for (id, revision) in removed {
            let channel = Channel { channel_id: id.clone(), ..Default::default() };
            self.announce_channel(channel, true, *revision).await;
        }
    }

    /// Announces one channel change; on failure it stays due for the relay.
    async fn announce_channel(&self, channel: Channel, removed: bool, revision: i64) {
        let id = channel.channel_id.clone();
        let key = format!("channel:{id}:{revision}");
        let event = if removed {
            Kind::ChannelRemoved(ChannelRemoved { channel_id: id.clone() })
        } else {
            Kind::ChannelUpserted(channel)
        };
        match self.events.catalog(event, &key).await {
            Ok(()) => {
                if let Err(error) = self.store.channel_announced(&id, revision).await {
                    tracing::warn!(%error, channel = %id, "announced channel change not recorded; it will be sent again");
                }
            }
            Err(error) => tracing::warn!(%error, channel = %id, "channel change not announced yet; the relay retries"),
        }
    }

    /// Replaces a channel's guide within a window; when that changed
    /// anything, announces it and what airs now. Returns whether it did.
    pub async fn apply_guide(
        &self,
        channel: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
        programmes: &[Programme],
    ) -> Result<bool> {
        let Some(change) = self.store.replace_guide(channel, start, end, programmes).await? else { return Ok(false) };
        self.announce_guide(&change).await;
        Ok(true)
    }

    async fn announce_guide(&self, change: &GuideChange) {
        let ts = hearth_platform::wkt::timestamp;
        let updated = GuideUpdated {
            channel_id: change.channel_id.clone(),
            start_time: Some(ts(change.start_time)),
            end_time: Some(ts(change.end_time)),
            programme_count: change.programme_count.max(0) as u32,
        };
        let key = format!("guide:{}:{}:{}", change.channel_id, change.start_time.unix_timestamp(), change.revision);
        let announced = async {
            self.events.catalog(Kind::GuideUpdated(updated), &key).await?;
            self.announce_now(std::slice::from_ref(&change.channel_id), OffsetDateTime::now_utc()).await?;
            self.store.guide_announced(change).await
        };
        if let Err(error) = announced.await {
            tracing::warn!(%error, channel = %change.channel_id, "guide change not announced yet; the relay retries");
        }
    }

    /// Announces what airs at `at` on `channels` (`now_changed`). The
    /// dedupe key is the pair of programmes, so replicas announcing the
    /// same boundary store it once.
    pub async fn announce_now(&self, channels: &[String], at: OffsetDateTime) -> Result<usize> {
        let mut announced = 0;
        for chunk in channels.chunks(100) {
            for entry in self.store.now_next(chunk, at).await? {
                let id = |p: &Option<Programme>| p.as_ref().map_or("-", |p| p.programme_id.as_str()).to_owned();
                let key = format!("now:{}:{}:{}", entry.channel_id, id(&entry.now), id(&entry.next));
                let event = NowChanged { channel_id: entry.channel_id, now: entry.now, next: entry.next };
                self.events.catalog(Kind::NowChanged(event), &key).await?;
                announced += 1;
            }
        }
        Ok(announced)
    }

    /// Sends the changes whose announcement failed (leader only). Returns
    /// how many it sent.
    pub async fn relay(&self) -> Result<usize> {
        let channels = self.store.unannounced_channels(RELAY_BATCH).await?;
        let mut sent = channels.len();
        for (channel, removed, revision) in channels {
            self.announce_channel(channel, removed, revision).await;
        }
        let guides = self.store.unannounced_guides(RELAY_BATCH).await?;
        sent += guides.len();
        for change in &guides {
            self.announce_guide(change).await;
        }
        Ok(sent)
    }
}
