//! Postgres (schema `catalog`): the channels and guide as the provider last
//! described them, and where catalog sync and the guide clock stand.

use std::collections::HashMap;

use hearth_proto::hearth::provider::v1::{Channel, Programme};
use prost::Message;
use sqlx::{PgPool, Row};
use time::OffsetDateTime;

use crate::error::Result;

/// How far ahead "next" looks (catalog.proto ChannelNowNext).
const NEXT_WITHIN_HOURS: i32 = 24;

#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

/// A replaced guide window not yet announced.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GuideChange {
    pub channel_id: String,
    pub start_time: OffsetDateTime,
    pub end_time: OffsetDateTime,
    pub programme_count: i32,
    pub revision: i64,
}

/// What airs on one channel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NowNext {
    pub channel_id: String,
    pub now: Option<Programme>,
    pub next: Option<Programme>,
}

fn decode<T: Message + Default>(bytes: &[u8]) -> Option<T> {
    T::decode(bytes).map_err(|error| tracing::warn!(%error, "undecodable catalog row skipped")).ok()
}

fn programme_time(p: &Programme) -> (OffsetDateTime, OffsetDateTime) {
    let at = |t: Option<&hearth_proto::wkt::Timestamp>| {
        t.and_then(hearth_platform::wkt::datetime).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    };
    (at(p.start_time.as_ref()), at(p.end_time.as_ref()))
}

impl Store {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Adds or replaces channels (one entry per id); returns those that
    /// changed (new, different, or back after a removal), each with the
    /// revision to announce.
    pub async fn upsert_channels(&self, channels: &[Channel]) -> Result<Vec<(Channel, i64)>> {
        if channels.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = channels.iter().map(|c| c.channel_id.as_str()).collect();
        let data: Vec<Vec<u8>> = channels.iter().map(Message::encode_to_vec).collect();
        let adult: Vec<bool> = channels.iter().map(|c| c.adult).collect();
        let changed: Vec<(String, i64)> = sqlx::query_as(
            "INSERT INTO catalog.channels (channel_id, data, adult)
             SELECT * FROM UNNEST($1::text[], $2::bytea[], $3::bool[])
             ON CONFLICT (channel_id) DO UPDATE
                SET data = EXCLUDED.data, adult = EXCLUDED.adult, removed_at = NULL, updated_at = now(),
                    revision = channels.revision + 1
              WHERE channels.data IS DISTINCT FROM EXCLUDED.data OR channels.removed_at IS NOT NULL
             RETURNING channel_id, revision",
        )
        .bind(&ids)
        .bind(&data)
        .bind(&adult)
        .fetch_all(&self.pool)
        .await?;
        let changed: HashMap<String, i64> = changed.into_iter().collect();
        Ok(channels.iter().filter_map(|c| Some((c.clone(), *changed.get(&c.channel_id)?))).collect())
    }

    /// Marks channels removed; returns the ones that were present, with
    /// the revision to announce.
    pub async fn remove_channels(&self, ids: &[String]) -> Result<Vec<(String, i64)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(
            "UPDATE catalog.channels SET removed_at = now(), updated_at = now(), revision = revision + 1
              WHERE channel_id = ANY($1) AND removed_at IS NULL RETURNING channel_id, revision",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?)
    }

    /// After a full listing: marks every present channel not in `keep`
    /// removed; returns them.
    pub async fn remove_channels_except(&self, keep: &[String]) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "UPDATE catalog.channels SET removed_at = now(), updated_at = now(), revision = revision + 1
              WHERE removed_at IS NULL AND NOT (channel_id = ANY($1)) RETURNING channel_id, revision",
        )
        .bind(keep)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records that a channel's change up to `revision` was announced.
    pub async fn channel_announced(&self, id: &str, revision: i64) -> Result<()> {
        sqlx::query("UPDATE catalog.channels SET announced = GREATEST(announced, $2) WHERE channel_id = $1")
            .bind(id)
            .bind(revision)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Channel changes whose announcement is due: (channel, removed,
    /// revision), oldest first.
    pub async fn unannounced_channels(&self, limit: i64) -> Result<Vec<(Channel, bool, i64)>> {
        let rows = sqlx::query(
            "SELECT data, removed_at IS NOT NULL, revision FROM catalog.channels
              WHERE announced < revision AND updated_at < now() - interval '2 seconds'
              ORDER BY updated_at LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|row| Some((decode::<Channel>(row.get::<&[u8], _>(0))?, row.get(1), row.get(2))))
            .collect())
    }

    /// Present channels among `ids`, in `ids` order.
    pub async fn channels(&self, ids: &[String]) -> Result<Vec<Channel>> {
        let rows = sqlx::query(
            "SELECT channel_id, data FROM catalog.channels WHERE channel_id = ANY($1) AND removed_at IS NULL",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        let mut found: HashMap<String, Channel> = rows
            .iter()
            .filter_map(|row| Some((row.get::<String, _>(0), decode::<Channel>(row.get::<&[u8], _>(1))?)))
            .collect();
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// Every present channel id, for the guide refresh.
    pub async fn channel_ids(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT channel_id FROM catalog.channels WHERE removed_at IS NULL ORDER BY channel_id")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Which of `ids` are adult channels.
    pub async fn adult_channels(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT channel_id FROM catalog.channels WHERE channel_id = ANY($1) AND adult")
                .bind(ids)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().collect())
    }

    /// Replaces the guide of one channel within [start, end): programmes
    /// starting in the window give way to `programmes`. Returns the guide
    /// change to announce, or None (and writes nothing) when the guide
    /// already says exactly that.
    pub async fn replace_guide(
        &self,
        channel: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
        programmes: &[Programme],
    ) -> Result<Option<GuideChange>> {
        let mut sorted: Vec<&Programme> = programmes.iter().collect();
        sorted.sort_by_key(|p| programme_time(p).0);
        let wanted: Vec<(String, Vec<u8>)> =
            sorted.iter().map(|p| (p.programme_id.clone(), p.encode_to_vec())).collect();
        let mut tx = self.pool.begin().await?;
        let existing: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT programme_id, data FROM catalog.programmes
              WHERE channel_id = $1 AND start_time >= $2 AND start_time < $3
              ORDER BY start_time FOR UPDATE",
        )
        .bind(channel)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *tx)
        .await?;
        if existing == wanted {
            return Ok(None);
        }
        sqlx::query("DELETE FROM catalog.programmes WHERE channel_id = $1 AND start_time >= $2 AND start_time < $3")
            .bind(channel)
            .bind(start)
            .bind(end)
            .execute(&mut *tx)
            .await?;
        let ids: Vec<&str> = sorted.iter().map(|p| p.programme_id.as_str()).collect();
        let (starts, ends): (Vec<OffsetDateTime>, Vec<OffsetDateTime>) =
            sorted.iter().map(|p| programme_time(p)).unzip();
        let data: Vec<&[u8]> = wanted.iter().map(|(_, d)| d.as_slice()).collect();
        sqlx::query(
            "INSERT INTO catalog.programmes (programme_id, channel_id, start_time, end_time, data)
             SELECT id, $2, s, e, d FROM UNNEST($1::text[], $3::timestamptz[], $4::timestamptz[], $5::bytea[]) AS t(id, s, e, d)
             ON CONFLICT (programme_id) DO UPDATE
                SET channel_id = EXCLUDED.channel_id, start_time = EXCLUDED.start_time,
                    end_time = EXCLUDED.end_time, data = EXCLUDED.data",
        )
        .bind(&ids)
        .bind(channel)
        .bind(&starts)
        .bind(&ends)
        .bind(&data)
        .execute(&mut *tx)
        .await?;
        let change: GuideChange = sqlx::query_as(
            "INSERT INTO catalog.guide_changes (channel_id, start_time, end_time, programme_count)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (channel_id) DO UPDATE
                SET start_time = LEAST(guide_changes.start_time, EXCLUDED.start_time),
                    end_time = GREATEST(guide_changes.end_time, EXCLUDED.end_time),
                    programme_count = EXCLUDED.programme_count,
                    revision = guide_changes.revision + 1
             RETURNING channel_id, start_time, end_time, programme_count, revision",
        )
        .bind(channel)
        .bind(start)
        .bind(end)
        .bind(programmes.len() as i32)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(change))
    }

    /// Guide changes whose announcement is due.
    pub async fn unannounced_guides(&self, limit: i64) -> Result<Vec<GuideChange>> {
        Ok(sqlx::query_as(
            "SELECT channel_id, start_time, end_time, programme_count, revision FROM catalog.guide_changes
              ORDER BY channel_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records that a guide change was announced (unless it changed again).
    pub async fn guide_announced(&self, change: &GuideChange) -> Result<()> {
        sqlx::query("DELETE FROM catalog.guide_changes WHERE channel_id = $1 AND revision = $2")
            .bind(&change.channel_id)
            .bind(change.revision)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Programmes of a channel overlapping [start, end), by start.
    pub async fn guide(
        &self,
        channel: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<Programme>> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT data FROM catalog.programmes WHERE channel_id = $1 AND end_time > $2 AND start_time < $3
              ORDER BY start_time LIMIT $4",
        )
        .bind(channel)
        .bind(start)
        .bind(end)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(|d| decode(d)).collect())
    }

    /// Programmes by id, in `ids` order.
    pub async fn programmes(&self, ids: &[String]) -> Result<Vec<Programme>> {
        let rows = sqlx::query("SELECT programme_id, data FROM catalog.programmes WHERE programme_id = ANY($1)")
            .bind(ids)
            .fetch_all(&self.pool)
            .await?;
        let mut found: HashMap<String, Programme> = rows
            .iter()
            .filter_map(|row| Some((row.get::<String, _>(0), decode::<Programme>(row.get::<&[u8], _>(1))?)))
            .collect();
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// What airs at `at` on present channels among `ids` (in `ids` order):
    /// the latest-starting programme covering `at`, and the first one
    /// starting after it ends (or after `at`) within 24 h.
    pub async fn now_next(&self, ids: &[String], at: OffsetDateTime) -> Result<Vec<NowNext>> {
        let rows = sqlx::query(
            "SELECT c.channel_id, n.data, x.data
               FROM catalog.channels c
               LEFT JOIN LATERAL (
                    SELECT data, end_time FROM catalog.programmes
                     WHERE channel_id = c.channel_id AND start_time <= $2 AND end_time > $2
                     ORDER BY start_time DESC LIMIT 1) n ON true
               LEFT JOIN LATERAL (
                    SELECT data FROM catalog.programmes
                     WHERE channel_id = c.channel_id AND start_time > $2
                       AND start_time >= COALESCE(n.end_time, $2)
                       AND start_time < $2 + make_interval(hours => $3)
                     ORDER BY start_time LIMIT 1) x ON true
              WHERE c.channel_id = ANY($1) AND c.removed_at IS NULL",
        )
        .bind(ids)
        .bind(at)
        .bind(NEXT_WITHIN_HOURS)
        .fetch_all(&self.pool)
        .await?;
        let mut found: HashMap<String, NowNext> = rows
            .iter()
            .map(|row| {
                let id: String = row.get(0);
                let now = row.get::<Option<&[u8]>, _>(1).and_then(decode);
                let next = row.get::<Option<&[u8]>, _>(2).and_then(decode);
                (id.clone(), NowNext { channel_id: id, now, next })
            })
            .collect();
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// Channels where a programme started or ended in (from, to].
    pub async fn boundaries(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT channel_id FROM catalog.programmes WHERE start_time > $1 AND start_time <= $2
             UNION
             SELECT channel_id FROM catalog.programmes WHERE end_time > $1 AND end_time <= $2",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Forgets programmes that ended before `before`.
    pub async fn prune_guide(&self, before: OffsetDateTime) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM catalog.programmes WHERE end_time < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// The provider sync token of the last applied change ('' = none).
    pub async fn sync_token(&self) -> Result<String> {
        Ok(sqlx::query_scalar("SELECT sync_token FROM catalog.sync_state").fetch_one(&self.pool).await?)
    }

    pub async fn set_sync_token(&self, token: &str) -> Result<()> {
        sqlx::query("UPDATE catalog.sync_state SET sync_token = $1, channels_synced_at = now()")
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// When the guide was last fetched whole.
    pub async fn guide_synced_at(&self) -> Result<Option<OffsetDateTime>> {
        Ok(sqlx::query_scalar("SELECT guide_synced_at FROM catalog.sync_state").fetch_one(&self.pool).await?)
    }

    pub async fn set_guide_synced_at(&self, at: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE catalog.sync_state SET guide_synced_at = $1").bind(at).execute(&self.pool).await?;
        Ok(())
    }

    /// Up to where the guide clock announced boundaries.
    pub async fn clock_at(&self) -> Result<Option<OffsetDateTime>> {
        Ok(sqlx::query_scalar("SELECT clock_at FROM catalog.sync_state").fetch_one(&self.pool).await?)
    }

    pub async fn set_clock_at(&self, at: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE catalog.sync_state SET clock_at = $1").bind(at).execute(&self.pool).await?;
        Ok(())
    }
}
