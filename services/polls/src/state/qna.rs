//! Redis state of Q&A: the ask rate limit, a sliding window per user and
//! room (a sorted set of ask times, `{room}`-tagged), timed by the Redis
//! server's clock so every replica counts the same window.

use std::time::Duration;

use uuid::Uuid;

use super::State;

/// Counts an ask if the window has room: drops asks older than the window,
/// refuses with the milliseconds until the oldest leaves it, or records
/// this ask (member ARGV[3]) and returns 0.
const ASK_ALLOWANCE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
";

/// An ask counted in the window, to give back if the question is not
/// stored after all.
#[derive(Debug, Clone)]
pub struct AskSlot {
    key: String,
    member: String,
}

impl State {
    fn ask_key(&self, room: Uuid, user: Uuid) -> String {
        self.key(room, &format!("qna:asks:{user}"))
    }

    /// Takes one of `limit` asks per `window` for the user in the room;
    /// `Err(retry_after)` when the window is full.
    pub async fn take_ask_slot(
        &self,
        room: Uuid,
        user: Uuid,
        limit: u32,
        window: Duration,
    ) -> Result<Result<AskSlot, Duration>, redis::RedisError> {
        let key = self.ask_key(room, user);
        let member = Uuid::now_v7().simple().to_string();
        let wait_ms: i64 = redis::Script::new(ASK_ALLOWANCE)
            .key(&key)
            .arg(window.as_millis().max(1) as u64)
            .arg(limit)
            .arg(&member)
            .invoke_async(&mut self.conn.clone())
            .await?;
        if wait_ms > 0 {
            return Ok(Err(Duration::from_millis(wait_ms as u64)));
        }
        Ok(Ok(AskSlot { key, member }))
    }

    /// Gives an ask back (the question was refused or already existed).
    pub async fn release_ask_slot(&self, slot: &AskSlot) -> Result<(), redis::RedisError> {
        let _: i64 = redis::cmd("ZREM").arg(&slot.key).arg(&slot.member).query_async(&mut self.conn.clone()).await?;
        Ok(())
    }
}
