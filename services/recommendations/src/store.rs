//! Postgres (schema `recs`): taste (affinity), applied event ids, the
//! precomputed model, sharing settings and shares.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    domain::privacy::{Audience, Sharing},
    error::Result,
};

#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

/// One user's interest in one item, summed over a batch of events and
/// decayed to `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub user: Uuid,
    pub item: String,
    pub score: f64,
    pub at: OffsetDateTime,
}

/// A precomputed recommendation: the item, its score and the item of the
/// user's history that explains it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub item: String,
    pub score: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub because: Option<String>,
}

/// A share as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ShareRow {
    pub id: Uuid,
    pub sharer_id: Uuid,
    pub item: String,
    pub comment: String,
    pub audience: String,
    pub room_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub dismissed_at: Option<OffsetDateTime>,
}

impl Store {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Applies the contributions of the events (keyed by event id) that
    /// were not applied before, atomically; returns the ids that were new.
    pub async fn apply(
        &self,
        contributions: &HashMap<Uuid, Vec<Contribution>>,
        half_life_secs: f64,
    ) -> Result<std::collections::HashSet<Uuid>> {
        if contributions.is_empty() {
            return Ok(Default::default());
        }
        let ids: Vec<Uuid> = contributions.keys().copied().collect();
        let mut tx = self.pool.begin().await?;
        let new: Vec<Uuid> = sqlx::query_scalar(
            "INSERT INTO recs.seen_events (id) SELECT * FROM UNNEST($1::uuid[]) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        // One row per (user, item), decayed to the latest event.
        let mut merged: HashMap<(Uuid, String), (f64, OffsetDateTime)> = HashMap::new();
        for id in &new {
            for c in contributions.get(id).into_iter().flatten() {
                let entry = merged.entry((c.user, c.item.clone())).or_insert((0.0, c.at));
                let later = entry.1.max(c.at);
                let fade = |score: f64, from: OffsetDateTime| {
                    score * (-(later - from).as_seconds_f64() / half_life_secs).exp2()
                };
                *entry = (fade(entry.0, entry.1) + fade(c.score, c.at), later);
            }
        }
        if !merged.is_empty() {
            let (mut users, mut items, mut scores, mut ats) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for ((user, item), (score, at)) in merged {
                users.push(user);
                items.push(item);
                scores.push(score);
                ats.push(at);
            }
            sqlx::query(
                "INSERT INTO recs.affinity (user_id, item, score, updated_at)
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::float8[], $4::timestamptz[])
                 ON CONFLICT (user_id, item) DO UPDATE SET
                    score = CASE WHEN EXCLUDED.updated_at >= affinity.updated_at
                        THEN affinity.score * power(2, -extract(epoch FROM EXCLUDED.updated_at - affinity.updated_at) / $5)
                             + EXCLUDED.score
                        ELSE affinity.score
                             + EXCLUDED.score * power(2, -extract(epoch FROM affinity.updated_at - EXCLUDED.updated_at) / $5)
                        END,
                    updated_at = GREATEST(affinity.updated_at, EXCLUDED.updated_at)",
            )
            .bind(&users)
            .bind(&items)
            .bind(&scores)
            .bind(&ats)
            .bind(half_life_secs)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(new.into_iter().collect())
    }

    /// Forgets applied event ids older than `before`.
    pub async fn prune_seen(&self, before: OffsetDateTime) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM recs.seen_events WHERE received_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// A user's strongest interests now, strongest first.
    pub async fn tastes(&self, user: Uuid, half_life_secs: f64, limit: i64) -> Result<Vec<(String, f64)>> {
        Ok(sqlx::query_as(
            "SELECT item, score * power(2, -extract(epoch FROM now() - updated_at) / $2) AS now_score
               FROM recs.affinity WHERE user_id = $1 ORDER BY now_score DESC LIMIT $3",
        )
        .bind(user)
        .bind(half_life_secs)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The channels a group of users likes most now (their summed
    /// interest), for starting soon.
    pub async fn liked_channels(&self, users: &[Uuid], half_life_secs: f64, limit: i64) -> Result<Vec<String>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT item FROM recs.affinity WHERE user_id = ANY($1) AND item LIKE 'channel:%'
              GROUP BY item ORDER BY sum(score * power(2, -extract(epoch FROM now() - updated_at) / $2)) DESC LIMIT $3",
        )
        .bind(users)
        .bind(half_life_secs)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().filter_map(|item| item.strip_prefix("channel:").map(str::to_owned)).collect())
    }

    /// Whether a user showed interest in an item since `since`.
    pub async fn engaged_since(&self, user: Uuid, item: &str, since: OffsetDateTime) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM recs.affinity WHERE user_id = $1 AND item = $2 AND updated_at >= $3)",
        )
        .bind(user)
        .bind(item)
        .bind(since)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Forgets a user's interest in an item (a hidden session).
    pub async fn forget(&self, user: Uuid, item: &str) -> Result<()> {
        sqlx::query("DELETE FROM recs.affinity WHERE user_id = $1 AND item = $2")
            .bind(user)
            .bind(item)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The interactions the model learns from: every (user, item, score
    /// now) of users active within `window_secs`, on the `max_items` items
    /// most users are interested in (EASE is cubic in items).
    pub async fn training_set(
        &self,
        window_secs: f64,
        half_life_secs: f64,
        max_items: i64,
    ) -> Result<Vec<(Uuid, String, f64)>> {
        Ok(sqlx::query_as(
            "WITH recent AS (
                SELECT user_id, item, score * power(2, -extract(epoch FROM now() - updated_at) / $2) AS s
                  FROM recs.affinity WHERE updated_at > now() - make_interval(secs => $1)
             ), top_items AS (
                SELECT item FROM recent GROUP BY item HAVING count(*) >= 2 ORDER BY count(*) DESC LIMIT $3
             )
             SELECT r.user_id, r.item, r.s FROM recent r JOIN top_items t USING (item)",
        )
        .bind(window_secs)
        .bind(half_life_secs)
        .bind(max_items)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Replaces the similar-items lists.
    pub async fn store_neighbours(&self, lists: &[(String, Vec<Scored>)]) -> Result<()> {
        let keyed: Vec<(&str, &Vec<Scored>)> = lists.iter().map(|(i, l)| (i.as_str(), l)).collect();
        self.store_lists(
            "INSERT INTO recs.item_neighbours (item, neighbours, computed_at)
             SELECT k::text, l, now() FROM UNNEST($1::text[], $2::jsonb[]) AS t(k, l)
             ON CONFLICT (item) DO UPDATE SET neighbours = EXCLUDED.neighbours, computed_at = now()",
            &keyed,
        )
        .await
    }

    /// Replaces users' top-N lists.
    pub async fn store_user_recommendations(&self, lists: &[(Uuid, Vec<Scored>)]) -> Result<()> {
        let users: Vec<String> = lists.iter().map(|(u, _)| u.to_string()).collect();
        let keyed: Vec<(&str, &Vec<Scored>)> =
            users.iter().map(String::as_str).zip(lists.iter().map(|(_, l)| l)).collect();
        self.store_lists(
            "INSERT INTO recs.user_recommendations (user_id, items, computed_at)
             SELECT k::uuid, l, now() FROM UNNEST($1::text[], $2::jsonb[]) AS t(k, l)
             ON CONFLICT (user_id) DO UPDATE SET items = EXCLUDED.items, computed_at = now()",
            &keyed,
        )
        .await
    }

    /// Writes (key, list) pairs with `statement` ($1 keys, $2 JSON lists),
    /// 1000 per statement, in one transaction: readers see the old lists or
    /// the new ones.
    async fn store_lists(&self, statement: &'static str, lists: &[(&str, &Vec<Scored>)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for chunk in lists.chunks(1000) {
            let keys: Vec<&str> = chunk.iter().map(|(k, _)| *k).collect();
            let json: Vec<serde_json::Value> =
                chunk.iter().map(|(_, l)| serde_json::to_value(l).unwrap_or_default()).collect();
            sqlx::query(statement).bind(&keys).bind(&json).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Items similar to `item`, best first.
    pub async fn neighbours(&self, item: &str) -> Result<Option<Vec<Scored>>> {
        self.list("SELECT neighbours FROM recs.item_neighbours WHERE item = $1", item).await
    }

    /// A user's precomputed top-N, best first.
    pub async fn user_recommendations(&self, user: Uuid) -> Result<Option<Vec<Scored>>> {
        self.list("SELECT items FROM recs.user_recommendations WHERE user_id = $1::uuid", &user.to_string()).await
    }

    async fn list(&self, query: &'static str, key: &str) -> Result<Option<Vec<Scored>>> {
        let row: Option<serde_json::Value> = sqlx::query_scalar(query).bind(key).fetch_optional(&self.pool).await?;
        Ok(row.and_then(|v| serde_json::from_value(v).ok()))
    }

    /// Sharing settings of users (defaults for those who never chose).
    pub async fn sharing(&self, users: &[Uuid]) -> Result<HashMap<Uuid, Sharing>> {
        let rows = sqlx::query(
            "SELECT user_id, share_activity, audience, share_watch_parties, paused_until
               FROM recs.sharing_settings WHERE user_id = ANY($1)",
        )
        .bind(users)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let paused: Option<OffsetDateTime> = row.get(4);
                (
                    row.get::<Uuid, _>(0),
                    Sharing {
                        share_activity: row.get(1),
                        audience: Audience::parse(row.get::<&str, _>(2)),
                        share_watch_parties: row.get(3),
                        paused_until_ms: paused.map(|p| (p.unix_timestamp_nanos() / 1_000_000) as i64),
                    },
                )
            })
            .collect())
    }

    pub async fn set_sharing(&self, user: Uuid, s: &Sharing) -> Result<()> {
        let paused =
            s.paused_until_ms.and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok());
        sqlx::query(
            "INSERT INTO recs.sharing_settings (user_id, share_activity, audience, share_watch_parties, paused_until, updated_at)
             VALUES ($1, $2, $3, $4, $5, now())
             ON CONFLICT (user_id) DO UPDATE SET share_activity = $2, audience = $3, share_watch_parties = $4,
                paused_until = $5, updated_at = now()",
        )
        .bind(user)
        .bind(s.share_activity)
        .bind(s.audience.as_str())
        .bind(s.share_watch_parties)
        .bind(paused)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores a share and delivers it to its recipients' feeds.
    pub async fn create_share(&self, share: &ShareRow, recipients: &[Uuid]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO recs.shares (id, sharer_id, item, comment, audience, room_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(share.id)
        .bind(share.sharer_id)
        .bind(&share.item)
        .bind(&share.comment)
        .bind(&share.audience)
        .bind(share.room_id)
        .bind(share.created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO recs.share_recipients (share_id, user_id, created_at)
             SELECT $1, u, $3 FROM UNNEST($2::uuid[]) AS t(u) ON CONFLICT DO NOTHING",
        )
        .bind(share.id)
        .bind(recipients)
        .bind(share.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A page of a user's share feed, newest first.
    pub async fn feed(&self, user: Uuid, include_dismissed: bool, offset: i64, limit: i64) -> Result<Vec<ShareRow>> {
        Ok(sqlx::query_as(
            "SELECT s.id, s.sharer_id, s.item, s.comment, s.audience, s.room_id, s.created_at, r.dismissed_at
               FROM recs.share_recipients r JOIN recs.shares s ON s.id = r.share_id
              WHERE r.user_id = $1 AND ($2 OR r.dismissed_at IS NULL)
              ORDER BY r.created_at DESC, r.share_id DESC OFFSET $3 LIMIT $4",
        )
        .bind(user)
        .bind(include_dismissed)
        .bind(offset)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Dismisses a share from a user's feed; false when it is not there.
    pub async fn dismiss(&self, user: Uuid, share: Uuid) -> Result<bool> {
        let found = sqlx::query(
            "UPDATE recs.share_recipients SET dismissed_at = COALESCE(dismissed_at, now())
              WHERE share_id = $1 AND user_id = $2",
        )
        .bind(share)
        .bind(user)
        .execute(&self.pool)
        .await?;
        Ok(found.rows_affected() == 1)
    }
}
