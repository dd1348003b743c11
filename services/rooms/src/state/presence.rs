//! Presence leases: `{room}:conns` (ZSET `<user>/<connection>` → lease
//! expiry ms) and `{room}:users` (HASH user → connection count), changed
//! together by Lua scripts so counts never drift from the leases.

use std::collections::HashMap;

use uuid::Uuid;

use super::State;

/// Adds a lease; returns the user's connection count in the room and
/// whether this connection is new.
const ENTER: &str = r"
local added = redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local count
if added == 1 then count = redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
else count = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '1') end
return {added, count}
";

/// Removes a lease; returns the user's remaining connections, or -1 when
/// the lease did not exist.
const EXIT: &str = r"
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return -1 end
local count = redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
if count <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) return 0 end
return count
";

/// Removes every lease of `user` (kick, ban).
const EXIT_USER: &str = r"
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local prefix = ARGV[1] .. '/'
local removed = 0
for _, m in ipairs(members) do
  if string.sub(m, 1, #prefix) == prefix then redis.call('ZREM', KEYS[1], m) removed = removed + 1 end
end
redis.call('HDEL', KEYS[2], ARGV[1])
return removed
";

/// Removes expired leases; returns the users who went offline, followed by
/// the earliest remaining expiry (or '' when none is left).
const SWEEP: &str = r"
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local offline = {}
for _, m in ipairs(expired) do
  redis.call('ZREM', KEYS[1], m)
  local user = string.match(m, '^([^/]+)/')
  if user then
    local count = redis.call('HINCRBY', KEYS[2], user, -1)
    if count <= 0 then redis.call('HDEL', KEYS[2], user) table.insert(offline, user) end
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if first[2] then table.insert(offline, first[2]) else table.insert(offline, '') end
return offline
";

/// A lease a gateway renews.
#[derive(Debug, Clone)]
pub struct Lease {
    pub room: Uuid,
    pub user: Uuid,
    pub connection: Uuid,
    pub rtt_ms: Option<i64>,
}

fn member(user: Uuid, connection: Uuid) -> String {
    format!("{user}/{connection}")
}

impl State {
    /// Takes a lease until `expires_ms`; `true` when it is the user's first
    /// connection in the room (they came online).
    pub async fn enter(
        &self,
        room: Uuid,
        user: Uuid,
        connection: Uuid,
        expires_ms: i64,
        rtt_ms: Option<i64>,
    ) -> redis::RedisResult<bool> {
        let mut conn = self.redis.clone();
        let (added, count): (i64, i64) = redis::Script::new(ENTER)
            .key(self.room_key(room, "conns"))
            .key(self.room_key(room, "users"))
            .arg(expires_ms)
            .arg(member(user, connection))
            .arg(user.to_string())
            .invoke_async(&mut conn)
            .await?;
        let mut pipe = redis::pipe();
        // The sweeper visits a room at its earliest expiry (LT keeps the minimum).
        pipe.cmd("ZADD").arg(self.global("presence")).arg("LT").arg(expires_ms).arg(room.to_string()).ignore();
        if let Some(rtt) = rtt_ms {
            pipe.hset(self.room_key(room, "rtt"), user.to_string(), rtt).ignore();
        }
        pipe.query_async::<()>(&mut conn).await?;
        Ok(added == 1 && count == 1)
    }

    /// Ends a lease; `Some(true)` when the user has no connection left in
    /// the room, `None` when there was no such lease.
    pub async fn exit(&self, room: Uuid, user: Uuid, connection: Uuid) -> redis::RedisResult<Option<bool>> {
        let mut conn = self.redis.clone();
        let left: i64 = redis::Script::new(EXIT)
            .key(self.room_key(room, "conns"))
            .key(self.room_key(room, "users"))
            .arg(member(user, connection))
            .arg(user.to_string())
            .invoke_async(&mut conn)
            .await?;
        Ok((left >= 0).then_some(left == 0))
    }

    /// Ends every lease of a user in a room; `true` when they were online.
    pub async fn exit_user(&self, room: Uuid, user: Uuid) -> redis::RedisResult<bool> {
        let mut conn = self.redis.clone();
        let removed: i64 = redis::Script::new(EXIT_USER)
            .key(self.room_key(room, "conns"))
            .key(self.room_key(room, "users"))
            .arg(user.to_string())
            .invoke_async(&mut conn)
            .await?;
        Ok(removed > 0)
    }

    /// Renews existing leases until `expires_ms` (never creates one);
    /// returns the leases that no longer exist.
    pub async fn renew(&self, leases: &[Lease], expires_ms: i64) -> redis::RedisResult<Vec<Lease>> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.redis.clone();
        let mut pipe = redis::pipe();
        for lease in leases {
            pipe.cmd("ZADD")
                .arg(self.room_key(lease.room, "conns"))
                .arg("XX")
                .arg("CH")
                .arg(expires_ms)
                .arg(member(lease.user, lease.connection));
            if let Some(rtt) = lease.rtt_ms {
                pipe.hset(self.room_key(lease.room, "rtt"), lease.user.to_string(), rtt).ignore();
            }
        }
        let changed: Vec<i64> = pipe.query_async(&mut conn).await?;
        let mut rooms: Vec<Uuid> = leases.iter().map(|l| l.room).collect();
        rooms.sort_unstable();
        rooms.dedup();
        let mut index = redis::pipe();
        for room in rooms {
            index.cmd("ZADD").arg(self.global("presence")).arg("NX").arg(expires_ms).arg(room.to_string()).ignore();
        }
        index.query_async::<()>(&mut conn).await?;
        Ok(leases.iter().zip(changed).filter(|(_, c)| *c == 0).map(|(l, _)| l.clone()).collect())
    }

    /// Rooms whose earliest lease may have expired by `now_ms`.
    pub async fn rooms_to_sweep(&self, now_ms: i64, limit: usize) -> redis::RedisResult<Vec<Uuid>> {
        let mut conn = self.redis.clone();
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.global("presence"))
            .arg("-inf")
            .arg(now_ms)
            .arg("BYSCORE")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut conn)
            .await?;
        Ok(ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect())
    }

    /// Removes a room's expired leases; returns who went offline. Exactly
    /// one caller gets each expired lease, so offline events are not doubled.
    pub async fn sweep_room(&self, room: Uuid, now_ms: i64) -> redis::RedisResult<Vec<Uuid>> {
        let mut conn = self.redis.clone();
        let mut out: Vec<String> = redis::Script::new(SWEEP)
            .key(self.room_key(room, "conns"))
            .key(self.room_key(room, "users"))
            .arg(now_ms)
            .invoke_async(&mut conn)
            .await?;
        let next = out.pop().unwrap_or_default();
        let index = self.global("presence");
        match next.parse::<f64>() {
            Ok(score) => {
                redis::cmd("ZADD")
                    .arg(&index)
                    .arg("XX")
                    .arg(score as i64)
                    .arg(room.to_string())
                    .query_async::<()>(&mut conn)
                    .await?
            }
            Err(_) => redis::cmd("ZREM").arg(&index).arg(room.to_string()).query_async::<()>(&mut conn).await?,
        }
        Ok(out.iter().filter_map(|u| Uuid::parse_str(u).ok()).collect())
    }

    /// (online users, connections).
    pub async fn counts(&self, room: Uuid) -> redis::RedisResult<(u64, u64)> {
        let mut conn = self.redis.clone();
        redis::pipe()
            .hlen(self.room_key(room, "users"))
            .zcard(self.room_key(room, "conns"))
            .query_async(&mut conn)
            .await
    }

    /// Online users and their connection counts: all of them when at most
    /// `limit`, else about `limit` of them and `true` (truncated).
    pub async fn online(&self, room: Uuid, limit: usize) -> redis::RedisResult<(Vec<(Uuid, u32)>, bool)> {
        let mut conn = self.redis.clone();
        let key = self.room_key(room, "users");
        let total: usize = redis::cmd("HLEN").arg(&key).query_async(&mut conn).await?;
        let entries: HashMap<String, u32> = if total <= limit {
            redis::cmd("HGETALL").arg(&key).query_async(&mut conn).await?
        } else {
            let (_, flat): (String, Vec<(String, u32)>) =
                redis::cmd("HSCAN").arg(&key).arg(0).arg("COUNT").arg(limit).query_async(&mut conn).await?;
            flat.into_iter().take(limit).collect()
        };
        let users = entries.into_iter().filter_map(|(u, c)| Uuid::parse_str(&u).ok().map(|u| (u, c))).collect();
        Ok((users, total > limit))
    }

    /// Every online user (for readiness: the group's holders).
    pub async fn online_users(&self, room: Uuid) -> redis::RedisResult<Vec<Uuid>> {
        let mut conn = self.redis.clone();
        let users: Vec<String> = redis::cmd("HKEYS").arg(self.room_key(room, "users")).query_async(&mut conn).await?;
        Ok(users.iter().filter_map(|u| Uuid::parse_str(u).ok()).collect())
    }

    /// Connection counts of `users` in the room (0 when offline).
    pub async fn connection_counts(&self, room: Uuid, users: &[Uuid]) -> redis::RedisResult<Vec<u32>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.redis.clone();
        let fields: Vec<String> = users.iter().map(Uuid::to_string).collect();
        let counts: Vec<Option<u32>> =
            redis::cmd("HMGET").arg(self.room_key(room, "users")).arg(&fields).query_async(&mut conn).await?;
        Ok(counts.into_iter().map(Option::unwrap_or_default).collect())
    }

    pub async fn is_online(&self, room: Uuid, user: Uuid) -> redis::RedisResult<bool> {
        let mut conn = self.redis.clone();
        redis::cmd("HEXISTS").arg(self.room_key(room, "users")).arg(user.to_string()).query_async(&mut conn).await
    }

    /// Whether counts may be published now (at most one per second per
    /// room); when not, the room is marked for the sweeper to publish later.
    pub async fn counts_gate(&self, room: Uuid) -> redis::RedisResult<bool> {
        let mut conn = self.redis.clone();
        let acquired: Option<String> = redis::cmd("SET")
            .arg(self.room_key(room, "counts-gate"))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        if acquired.is_none() {
            redis::cmd("ZADD")
                .arg(self.global("dirty"))
                .arg("NX")
                .arg(super::now_ms() + 1000)
                .arg(room.to_string())
                .query_async::<()>(&mut conn)
                .await?;
        }
        Ok(acquired.is_some())
    }

    /// Rooms whose coalesced counts are due; each is claimed by one caller.
    pub async fn claim_dirty(&self, now_ms: i64) -> redis::RedisResult<Vec<Uuid>> {
        let mut conn = self.redis.clone();
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.global("dirty"))
            .arg("-inf")
            .arg(now_ms)
            .arg("BYSCORE")
            .arg("LIMIT")
            .arg(0)
            .arg(500)
            .query_async(&mut conn)
            .await?;
        let mut claimed = Vec::new();
        for id in ids {
            let removed: i64 = redis::cmd("ZREM").arg(self.global("dirty")).arg(&id).query_async(&mut conn).await?;
            if removed == 1
                && let Ok(room) = Uuid::parse_str(&id)
            {
                claimed.push(room);
            }
        }
        Ok(claimed)
    }

    /// Records a room's online users for the popularity order.
    pub async fn set_popularity(&self, room: Uuid, online_users: u64) -> redis::RedisResult<()> {
        let mut conn = self.redis.clone();
        if online_users == 0 {
            redis::cmd("ZREM").arg(self.global("popular")).arg(room.to_string()).query_async(&mut conn).await
        } else {
            redis::cmd("ZADD")
                .arg(self.global("popular"))
                .arg(online_users)
                .arg(room.to_string())
                .query_async(&mut conn)
                .await
        }
    }

    /// The most popular rooms with anyone online, most users first.
    pub async fn popular(&self, limit: usize) -> redis::RedisResult<Vec<(Uuid, u64)>> {
        let mut conn = self.redis.clone();
        let rows: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(self.global("popular"))
            .arg(0)
            .arg(limit.saturating_sub(1))
            .arg("REV")
            .arg("WITHSCORES")
            .query_async(&mut conn)
            .await?;
        Ok(rows.into_iter().filter_map(|(id, score)| Uuid::parse_str(&id).ok().map(|id| (id, score as u64))).collect())
    }

    /// Online users of several rooms at once (list pages).
    pub async fn online_counts(&self, rooms: &[Uuid]) -> redis::RedisResult<Vec<u64>> {
        if rooms.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.redis.clone();
        let mut pipe = redis::pipe();
        for room in rooms {
            pipe.hlen(self.room_key(*room, "users"));
        }
        pipe.query_async(&mut conn).await
    }
}
