//! Group playback in Redis: `{room}:playback` (HASH: `state`, `queue` as
//! JSON, and the versions they were stored at) written only through a
//! compare-and-set script, `{room}:ready` (HASH user → MemberPlayback JSON)
//! and `{room}:rtt` (HASH user → best round trip ms), plus the global
//! `rooms:waiting` index of wait deadlines that every replica sweeps.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::State;
use crate::domain::{
    fields::Media,
    playback::{Group, MemberPlayback},
};

/// Stores new state and/or queue if both are still what the caller read;
/// returns the new room version, or -1 when someone else changed them.
const CAS: &str = r"
local state = redis.call('HGET', KEYS[1], 'state') or ''
local queue = redis.call('HGET', KEYS[1], 'queue') or ''
if state ~= ARGV[1] or queue ~= ARGV[2] then return -1 end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], ARGV[5]) end
local v = redis.call('INCR', KEYS[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'state', ARGV[3], 'state_version', v) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'queue', ARGV[4], 'queue_version', v) end
return v
";

/// One entry of the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub item_id: Uuid,
    pub media: Media,
    pub added_by: Uuid,
    pub added_ms: i64,
}

/// What was read, kept raw for the compare-and-set.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    pub group: Group,
    pub queue: Vec<QueueEntry>,
    pub queue_version: u64,
    /// False when Redis had no state (new room, or state lost).
    pub present: bool,
    raw_state: String,
    raw_queue: String,
}

/// A concurrent change won; re-read and retry.
#[derive(Debug)]
pub struct Conflict;

impl State {
    pub async fn load_playback(&self, room: Uuid) -> redis::RedisResult<Stored> {
        let mut conn = self.redis.clone();
        let (state, state_version, queue, queue_version): (Option<String>, Option<u64>, Option<String>, Option<u64>) =
            redis::cmd("HMGET")
                .arg(self.room_key(room, "playback"))
                .arg(&["state", "state_version", "queue", "queue_version"])
                .query_async(&mut conn)
                .await?;
        let mut group: Group = state.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
        group.version = state_version.unwrap_or(0);
        Ok(Stored {
            group,
            queue: queue.as_deref().and_then(|q| serde_json::from_str(q).ok()).unwrap_or_default(),
            queue_version: queue_version.unwrap_or(0),
            present: state.is_some(),
            raw_state: state.unwrap_or_default(),
            raw_queue: queue.unwrap_or_default(),
        })
    }

    /// Stores `group` and/or `queue` if nothing changed since `read`;
    /// returns the new room version.
    pub async fn store_playback(
        &self,
        room: Uuid,
        read: &Stored,
        group: Option<&Group>,
        queue: Option<&[QueueEntry]>,
    ) -> Result<Result<u64, Conflict>, redis::RedisError> {
        let encode = |v: Result<String, serde_json::Error>| {
            v.map_err(|e| redis::RedisError::from((redis::ErrorKind::Client, "encoding", e.to_string())))
        };
        let state = group.map(|g| encode(serde_json::to_string(g))).transpose()?.unwrap_or_default();
        // An empty queue is stored as "[]" so that it differs from "unchanged".
        let queue = queue.map(|q| encode(serde_json::to_string(q))).transpose()?.unwrap_or_default();
        let mut conn = self.redis.clone();
        let version: i64 = redis::Script::new(CAS)
            .key(self.room_key(room, "playback"))
            .key(self.room_key(room, "version"))
            .arg(&read.raw_state)
            .arg(&read.raw_queue)
            .arg(state)
            .arg(queue)
            .arg(super::now_ms())
            .invoke_async(&mut conn)
            .await?;
        Ok(if version < 0 { Err(Conflict) } else { Ok(version as u64) })
    }

    /// Readiness records of `users` (defaults for those without one).
    pub async fn member_playback(&self, room: Uuid, users: &[Uuid]) -> redis::RedisResult<Vec<MemberPlayback>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.redis.clone();
        let fields: Vec<String> = users.iter().map(Uuid::to_string).collect();
        let raw: Vec<Option<String>> =
            redis::cmd("HMGET").arg(self.room_key(room, "ready")).arg(&fields).query_async(&mut conn).await?;
        Ok(raw.into_iter().map(|r| r.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or_default()).collect())
    }

    pub async fn set_member_playback(&self, room: Uuid, records: &[(Uuid, MemberPlayback)]) -> redis::RedisResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut conn = self.redis.clone();
        let mut pipe = redis::pipe();
        for (user, record) in records {
            let json = serde_json::to_string(record).unwrap_or_default();
            pipe.hset(self.room_key(room, "ready"), user.to_string(), json).ignore();
        }
        pipe.query_async(&mut conn).await
    }

    /// Best known round trips of `users`, in ms.
    pub async fn round_trips(&self, room: Uuid, users: &[Uuid]) -> redis::RedisResult<Vec<Option<i64>>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.redis.clone();
        let fields: Vec<String> = users.iter().map(Uuid::to_string).collect();
        redis::cmd("HMGET").arg(self.room_key(room, "rtt")).arg(&fields).query_async(&mut conn).await
    }

    pub async fn set_round_trip(&self, room: Uuid, user: Uuid, rtt_ms: i64) -> redis::RedisResult<()> {
        let mut conn = self.redis.clone();
        redis::cmd("HSET")
            .arg(self.room_key(room, "rtt"))
            .arg(user.to_string())
            .arg(rtt_ms)
            .query_async(&mut conn)
            .await
    }

    /// Schedules the end of a wait (any replica's sweeper ends it).
    pub async fn schedule_wait(&self, room: Uuid, deadline_ms: i64) -> redis::RedisResult<()> {
        let mut conn = self.redis.clone();
        redis::cmd("ZADD")
            .arg(self.global("waiting"))
            .arg(deadline_ms)
            .arg(room.to_string())
            .query_async(&mut conn)
            .await
    }

    pub async fn clear_wait(&self, room: Uuid) -> redis::RedisResult<()> {
        let mut conn = self.redis.clone();
        redis::cmd("ZREM").arg(self.global("waiting")).arg(room.to_string()).query_async(&mut conn).await
    }

    /// Rooms whose wait deadline has passed.
    pub async fn due_waits(&self, now_ms: i64) -> redis::RedisResult<Vec<Uuid>> {
        let mut conn = self.redis.clone();
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.global("waiting"))
            .arg("-inf")
            .arg(now_ms)
            .arg("BYSCORE")
            .arg("LIMIT")
            .arg(0)
            .arg(200)
            .query_async(&mut conn)
            .await?;
        Ok(ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect())
    }

    /// Readiness and round trips of several users as a map (for snapshots).
    pub async fn playback_of(&self, room: Uuid, users: &[Uuid]) -> redis::RedisResult<HashMap<Uuid, MemberPlayback>> {
        let records = self.member_playback(room, users).await?;
        Ok(users.iter().copied().zip(records).collect())
    }
}
