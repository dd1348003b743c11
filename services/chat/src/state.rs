//! The chat service's Redis state, every key `{room_id}`-tagged: the recent
//! window of sequenced events (resume without Postgres), send rate limits
//! and slow mode, live-reaction counters, and the typing and reaction
//! broadcast throttles. Losing all of it loses nothing durable: resume
//! falls back to Postgres (a new window epoch tells), limits start over.

use hearth_platform::redis::{Keys, RedisConn};
use redis::AsyncCommands;
use uuid::Uuid;

/// How long an idle room's window and counters live.
const WINDOW_TTL_SECS: i64 = 24 * 3600;

const APPEND: &str = r"
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then
  epoch = ARGV[4]
  redis.call('HSET', KEYS[2], 'epoch', epoch)
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[3]) - 1)
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return epoch
";

const SEND_ALLOWANCE: &str = r"
if tonumber(ARGV[4]) > 0 then
  local pttl = redis.call('PTTL', KEYS[2])
  if pttl > 0 then return {'slow_mode', pttl} end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {'rate_limited', tonumber(oldest[2]) + tonumber(ARGV[2]) - tonumber(ARGV[1])}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[2], '1', 'PX', ARGV[4]) end
return {'ok', 0}
";

const TAP: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], 2) end
if n > tonumber(ARGV[1]) then return 0 end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('EXPIRE', KEYS[2], 10)
return 1
";

const TAKE: &str = r"
local v = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return v
";

/// Why a send must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    SlowMode(u64),
    RateLimited(u64),
}

/// What the recent window holds after a position.
pub struct WindowRead {
    /// None when the window does not exist (never written, lost, flushed).
    pub epoch: Option<String>,
    /// (sequence, encoded envelope), ascending.
    pub events: Vec<(u64, Vec<u8>)>,
}

#[derive(Clone)]
pub struct State {
    redis: RedisConn,
    keys: Keys,
}

pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

impl State {
    pub fn new(redis: RedisConn, keys: Keys) -> Self {
        Self { redis, keys }
    }

    fn key(&self, room: Uuid, name: &str) -> String {
        self.keys.tagged(&room.to_string(), &format!("chat:{name}"))
    }

    /// Adds a sequenced event to the room's window (trimmed to `max`);
    /// returns the window's epoch, created when the window is new.
    pub async fn append(&self, room: Uuid, seq: u64, payload: &[u8], max: u32) -> redis::RedisResult<String> {
        let mut conn = self.redis.clone();
        redis::Script::new(APPEND)
            .key(self.key(room, "win"))
            .key(self.key(room, "meta"))
            .arg(seq)
            .arg(payload)
            .arg(max.max(1))
            .arg(Uuid::new_v4().simple().to_string()[..12].to_owned())
            .arg(WINDOW_TTL_SECS)
            .invoke_async(&mut conn)
            .await
    }

    /// The window's epoch and its events after `since`.
    pub async fn window(&self, room: Uuid, since: u64) -> redis::RedisResult<WindowRead> {
        let mut conn = self.redis.clone();
        let (epoch, raw): (Option<String>, Vec<(Vec<u8>, u64)>) = redis::pipe()
            .hget(self.key(room, "meta"), "epoch")
            .zrangebyscore_withscores(self.key(room, "win"), format!("({since}"), "+inf")
            .query_async(&mut conn)
            .await?;
        Ok(WindowRead { epoch, events: raw.into_iter().map(|(payload, seq)| (seq, payload)).collect() })
    }

    /// The window's epoch, if the window exists.
    pub async fn epoch(&self, room: Uuid) -> redis::RedisResult<Option<String>> {
        let mut conn = self.redis.clone();
        conn.hget(self.key(room, "meta"), "epoch").await
    }

    /// Counts a message against the sender's rate limit (`limit` per
    /// `window_ms`, sliding) and the room's slow mode (`slow_ms`, 0: off).
    pub async fn allow_send(
        &self,
        room: Uuid,
        user: Uuid,
        limit: u32,
        window_ms: u64,
        slow_ms: u64,
    ) -> redis::RedisResult<Result<(), Wait>> {
        self.allow(room, user, "rate", limit, window_ms, slow_ms).await
    }

    /// Counts a reaction change against the user's reaction limit.
    pub async fn allow_reaction(
        &self,
        room: Uuid,
        user: Uuid,
        limit: u32,
        window_ms: u64,
    ) -> redis::RedisResult<Result<(), Wait>> {
        self.allow(room, user, "rxrate", limit, window_ms, 0).await
    }

    async fn allow(
        &self,
        room: Uuid,
        user: Uuid,
        name: &str,
        limit: u32,
        window_ms: u64,
        slow_ms: u64,
    ) -> redis::RedisResult<Result<(), Wait>> {
        let mut conn = self.redis.clone();
        let now = now_ms();
        let (verdict, wait): (String, i64) = redis::Script::new(SEND_ALLOWANCE)
            .key(self.key(room, &format!("{name}:{user}")))
            .key(self.key(room, &format!("slow:{user}")))
            .arg(now)
            .arg(window_ms)
            .arg(limit)
            .arg(slow_ms)
            .arg(format!("{now}-{}", Uuid::new_v4().simple()))
            .invoke_async(&mut conn)
            .await?;
        let wait = wait.max(1) as u64;
        Ok(match verdict.as_str() {
            "slow_mode" => Err(Wait::SlowMode(wait)),
            "rate_limited" => Err(Wait::RateLimited(wait)),
            _ => Ok(()),
        })
    }

    fn pending_key(&self, window: i64) -> String {
        self.keys.global(&format!("chat:lr:pending:{window}"))
    }

    /// Counts one live-reaction tap in window `window`; false when the user
    /// is over `per_second` (dropped silently).
    pub async fn tap(
        &self,
        room: Uuid,
        user: Uuid,
        emoji: &str,
        window: i64,
        per_second: u32,
    ) -> redis::RedisResult<bool> {
        let mut conn = self.redis.clone();
        let second = now_ms() / 1000;
        let counted: i64 = redis::Script::new(TAP)
            .key(self.key(room, &format!("lru:{user}:{second}")))
            .key(self.key(room, &format!("lr:{window}")))
            .arg(per_second)
            .arg(emoji)
            .invoke_async(&mut conn)
            .await?;
        if counted == 1 {
            // Global (untagged) set of rooms with taps in the window.
            let pending = self.pending_key(window);
            let _: () =
                redis::pipe().sadd(&pending, room.to_string()).expire(&pending, 10).query_async(&mut conn).await?;
        }
        Ok(counted == 1)
    }

    /// Takes one room with taps in `window` (each room is taken by exactly
    /// one replica) and its counts.
    pub async fn take_window(&self, window: i64) -> redis::RedisResult<Option<(Uuid, Vec<(String, u64)>)>> {
        let mut conn = self.redis.clone();
        loop {
            let room: Option<String> = conn.spop(self.pending_key(window)).await?;
            let Some(room) = room else { return Ok(None) };
            let Ok(room) = Uuid::parse_str(&room) else { continue };
            let counts: Vec<(String, u64)> =
                redis::Script::new(TAKE).key(self.key(room, &format!("lr:{window}"))).invoke_async(&mut conn).await?;
            if !counts.is_empty() {
                return Ok(Some((room, counts)));
            }
        }
    }

    /// Whether a typing broadcast for this user is due (one per 3 s).
    pub async fn typing_due(&self, room: Uuid, user: Uuid, typing: bool) -> redis::RedisResult<bool> {
        let mut conn = self.redis.clone();
        let key = self.key(room, &format!("typing:{user}"));
        if !typing {
            let removed: i64 = conn.del(&key).await?;
            return Ok(removed > 0);
        }
        let set: Option<String> =
            redis::cmd("SET").arg(&key).arg(1).arg("NX").arg("PX").arg(3000).query_async(&mut conn).await?;
        Ok(set.is_some())
    }

    /// Whether this reaction change should schedule a broadcast of the
    /// message's counts (at most one per 250 ms; the scheduled broadcast
    /// reads the counts when it runs, so the last change is never lost).
    pub async fn reactions_due(&self, room: Uuid, seq: u64) -> redis::RedisResult<bool> {
        let mut conn = self.redis.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(room, &format!("rx:{seq}")))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(250)
            .query_async(&mut conn)
            .await?;
        Ok(set.is_some())
    }
}
