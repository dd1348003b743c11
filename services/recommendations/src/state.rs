//! Redis: trending hot counters (forward-decayed sorted sets per scope and
//! landmark day), who watches what now (a hash per user, `{user}`-tagged
//! with the user's hidden sessions), and the share rate limit.

use std::{collections::HashMap, time::Duration};

use hearth_platform::redis::{Keys, RedisConn};
use uuid::Uuid;

use crate::domain::trending;

/// A watching entry is current while refreshed within this long.
pub const SESSION_FRESH_MS: i64 = 10 * 60 * 1000;
/// A hidden session stays hidden this long.
const HIDDEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// Entries read from each day's trending set per requested entry (room
/// for kind filters and merging).
const TRENDING_READ_FACTOR: isize = 5;

#[derive(Clone)]
pub struct State {
    conn: RedisConn,
    keys: Keys,
}

/// What a user is watching now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watching {
    pub item: String,
    pub since_ms: i64,
    pub last_ms: i64,
    pub sensitive: bool,
    /// The room it is watched in, when in one.
    pub room: Option<Uuid>,
}

impl Watching {
    fn encode(&self) -> String {
        let room = self.room.map(|r| r.to_string()).unwrap_or_default();
        format!("{};{};{};{room}", self.since_ms, self.last_ms, u8::from(self.sensitive))
    }

    fn decode(item: &str, raw: &str) -> Option<Watching> {
        let mut parts = raw.split(';');
        let since_ms = parts.next()?.parse().ok()?;
        let last_ms = parts.next()?.parse().ok()?;
        let sensitive = parts.next()? == "1";
        let room = parts.next().filter(|r| !r.is_empty()).and_then(|r| Uuid::parse_str(r).ok());
        Some(Watching { item: item.to_owned(), since_ms, last_ms, sensitive, room })
    }
}

impl State {
    pub fn new(conn: RedisConn, keys: Keys) -> Self {
        Self { conn, keys }
    }

    fn trending_key(&self, scope: &str, day: i64) -> String {
        self.keys.global(&format!("recs:trending:{scope}:{day}"))
    }

    /// Adds engagement to items' trending scores in each scope
    /// (`all`, `r:<region>`, `l:<language>`).
    pub async fn add_trending(
        &self,
        entries: &[(String, f64, i64, Vec<String>)],
        half_life_ms: i64,
    ) -> Result<(), redis::RedisError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (item, weight, at_ms, scopes) in entries {
            let day = trending::landmark_day(*at_ms);
            let increment = trending::increment(*weight, *at_ms, half_life_ms);
            for scope in scopes {
                let key = self.trending_key(scope, day);
                pipe.cmd("ZINCRBY").arg(&key).arg(increment).arg(item).ignore();
                pipe.cmd("EXPIRE").arg(&key).arg(3 * 86_400).ignore();
            }
        }
        pipe.query_async::<()>(&mut self.conn.clone()).await
    }

    /// The top items of a scope now, best first, with their decayed score.
    pub async fn trending(
        &self,
        scope: &str,
        now_ms: i64,
        half_life_ms: i64,
        wanted: usize,
    ) -> Result<Vec<(String, f64)>, redis::RedisError> {
        let day = trending::landmark_day(now_ms);
        let read = (wanted as isize).max(1) * TRENDING_READ_FACTOR - 1;
        let mut conn = self.conn.clone();
        let today: Vec<(String, f64)> = redis::cmd("ZREVRANGE")
            .arg(self.trending_key(scope, day))
            .arg(0)
            .arg(read)
            .arg("WITHSCORES")
            .query_async(&mut conn)
            .await?;
        let yesterday: Vec<(String, f64)> = redis::cmd("ZREVRANGE")
            .arg(self.trending_key(scope, day - 1))
            .arg(0)
            .arg(read)
            .arg("WITHSCORES")
            .query_async(&mut conn)
            .await?;
        let carry = trending::carry_over(half_life_ms);
        let mut merged: HashMap<String, f64> = today.into_iter().collect();
        for (item, score) in yesterday {
            *merged.entry(item).or_default() += score * carry;
        }
        let mut ranked: Vec<(String, f64)> =
            merged.into_iter().map(|(i, s)| (i, trending::current(s, now_ms, half_life_ms))).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(ranked)
    }

    fn room_key(&self, room: Uuid) -> String {
        self.keys.tagged(&room.to_string(), "recs:room")
    }

    /// Remembers what a room plays and whether it is sensitive, as rooms'
    /// own signals say (chat and polls signals do not carry it).
    pub async fn learn_rooms(&self, rooms: &[(Uuid, String, bool)]) -> Result<(), redis::RedisError> {
        if rooms.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (room, media, sensitive) in rooms {
            let key = self.room_key(*room);
            pipe.cmd("HSET").arg(&key).arg("media").arg(media).arg("sensitive").arg(u8::from(*sensitive)).ignore();
            pipe.cmd("EXPIRE").arg(&key).arg(7 * 86_400).ignore();
        }
        pipe.query_async::<()>(&mut self.conn.clone()).await
    }

    /// What rooms play (an item key, or empty) and whether they are
    /// sensitive, for the rooms learnt.
    pub async fn rooms(&self, rooms: &[Uuid]) -> Result<HashMap<Uuid, (String, bool)>, redis::RedisError> {
        let mut found = HashMap::new();
        if rooms.is_empty() {
            return Ok(found);
        }
        let mut pipe = redis::pipe();
        for room in rooms {
            pipe.cmd("HMGET").arg(self.room_key(*room)).arg("media").arg("sensitive");
        }
        let answers: Vec<(Option<String>, Option<String>)> = pipe.query_async(&mut self.conn.clone()).await?;
        for (room, (media, sensitive)) in rooms.iter().zip(answers) {
            if let Some(sensitive) = sensitive {
                found.insert(*room, (media.unwrap_or_default(), sensitive == "1"));
            }
        }
        Ok(found)
    }

    fn watching_key(&self, user: Uuid) -> String {
        self.keys.tagged(&user.to_string(), "recs:watching")
    }

    fn hidden_key(&self, user: Uuid) -> String {
        self.keys.tagged(&user.to_string(), "recs:hidden")
    }

    /// Records that users watch items now (or stopped: `None`).
    pub async fn watch(&self, updates: &[(Uuid, String, Option<Watching>)]) -> Result<(), redis::RedisError> {
        if updates.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (user, item, watching) in updates {
            let key = self.watching_key(*user);
            match watching {
                Some(w) => {
                    pipe.cmd("HSET").arg(&key).arg(item).arg(w.encode()).ignore();
                    pipe.cmd("PEXPIRE").arg(&key).arg(SESSION_FRESH_MS).ignore();
                }
                None => {
                    pipe.cmd("HDEL").arg(&key).arg(item).ignore();
                }
            }
        }
        pipe.query_async::<()>(&mut self.conn.clone()).await
    }

    /// What one user watches now (fresh entries), and since when.
    pub async fn watching(&self, user: Uuid) -> Result<Vec<Watching>, redis::RedisError> {
        Ok(self.watching_many(&[user]).await?.remove(&user).unwrap_or_default())
    }

    /// What users watch now, without the sessions they hid and entries
    /// older than [`SESSION_FRESH_MS`].
    pub async fn watching_many(&self, users: &[Uuid]) -> Result<HashMap<Uuid, Vec<Watching>>, redis::RedisError> {
        let mut found = HashMap::new();
        if users.is_empty() {
            return Ok(found);
        }
        let now = now_ms();
        for chunk in users.chunks(500) {
            let mut pipe = redis::pipe();
            for user in chunk {
                pipe.cmd("HGETALL").arg(self.watching_key(*user));
                pipe.cmd("SMEMBERS").arg(self.hidden_key(*user));
            }
            let answers: Vec<redis::Value> = pipe.query_async(&mut self.conn.clone()).await?;
            for (user, pair) in chunk.iter().zip(answers.chunks(2)) {
                let entries: HashMap<String, String> =
                    pair.first().and_then(|v| redis::from_redis_value(v.clone()).ok()).unwrap_or_default();
                let hidden: Vec<String> =
                    pair.get(1).and_then(|v| redis::from_redis_value(v.clone()).ok()).unwrap_or_default();
                let sessions: Vec<Watching> = entries
                    .iter()
                    .filter(|(item, _)| !hidden.contains(item))
                    .filter_map(|(item, raw)| Watching::decode(item, raw))
                    .filter(|w| now - w.last_ms < SESSION_FRESH_MS)
                    .collect();
                if !sessions.is_empty() {
                    found.insert(*user, sessions);
                }
            }
        }
        Ok(found)
    }

    /// Hides a user's session on an item from friends for a day.
    pub async fn hide(&self, user: Uuid, item: &str) -> Result<(), redis::RedisError> {
        let key = self.hidden_key(user);
        redis::pipe()
            .cmd("SADD")
            .arg(&key)
            .arg(item)
            .ignore()
            .cmd("EXPIRE")
            .arg(&key)
            .arg(HIDDEN_TTL.as_secs())
            .ignore()
            .query_async::<()>(&mut self.conn.clone())
            .await
    }

    /// Counts a share against the sharer's hourly limit; returns the
    /// number of shares this hour including this one, and the time until
    /// the window ends.
    pub async fn count_share(&self, user: Uuid, now_ms: i64) -> Result<(u64, Duration), redis::RedisError> {
        let hour = now_ms / 3_600_000;
        let key = self.keys.tagged(&user.to_string(), &format!("recs:shares:{hour}"));
        let (count,): (u64,) = redis::pipe()
            .cmd("INCR")
            .arg(&key)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(3600)
            .ignore()
            .query_async(&mut self.conn.clone())
            .await?;
        let left = 3_600_000 - now_ms.rem_euclid(3_600_000);
        Ok((count, Duration::from_millis(left as u64)))
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watching_entries_round_trip() {
        let room = Uuid::now_v7();
        let w = Watching { item: "channel:c".into(), since_ms: 5, last_ms: 9, sensitive: true, room: Some(room) };
        assert_eq!(Watching::decode("channel:c", &w.encode()), Some(w));
        let plain = Watching { item: "asset:a".into(), since_ms: 1, last_ms: 2, sensitive: false, room: None };
        assert_eq!(Watching::decode("asset:a", &plain.encode()), Some(plain));
        assert_eq!(Watching::decode("x", "garbage"), None);
    }
}
