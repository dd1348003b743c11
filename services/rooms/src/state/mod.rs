//! The rooms service's ephemeral state in Redis (docs/rooms.md lists every
//! key): presence leases, group playback, readiness, versions, and the
//! global indexes the sweeper and the public-room list read. Per-room keys
//! carry a `{room_id}` hash tag, so each room's multi-key scripts run on one
//! Redis Cluster slot.

pub mod playback;
pub mod presence;
pub mod watch;

use hearth_platform::redis::{Keys, RedisConn};
use uuid::Uuid;

/// Redis access for one service replica; cheap to clone.
#[derive(Clone)]
pub struct State {
    pub(crate) redis: RedisConn,
    pub(crate) keys: Keys,
}

/// Server time in Unix milliseconds: the clock every playback time uses.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// INCR that first initialises a lost counter to the current Unix time in
/// ms, so that versions never go backwards after Redis loses them.
const NEXT_VERSION: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) end
if ARGV[2] == '1' then return redis.call('INCR', KEYS[1]) end
return tonumber(redis.call('GET', KEYS[1]))
";

impl State {
    pub fn new(redis: RedisConn, keys: Keys) -> Self {
        Self { redis, keys }
    }

    pub(crate) fn room_key(&self, room: Uuid, name: &str) -> String {
        self.keys.tagged(&room.to_string(), name)
    }

    pub(crate) fn global(&self, name: &str) -> String {
        self.keys.global(&format!("rooms:{name}"))
    }

    async fn version(&self, room: Uuid, bump: bool) -> redis::RedisResult<u64> {
        let mut conn = self.redis.clone();
        redis::Script::new(NEXT_VERSION)
            .key(self.room_key(room, "version"))
            .arg(now_ms())
            .arg(if bump { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await
    }

    /// The next room version, for a versioned event.
    pub async fn next_version(&self, room: Uuid) -> redis::RedisResult<u64> {
        self.version(room, true).await
    }

    /// The room's current version (for snapshots).
    pub async fn current_version(&self, room: Uuid) -> redis::RedisResult<u64> {
        self.version(room, false).await
    }

    /// Forgets everything about a deleted room.
    pub async fn forget_room(&self, room: Uuid) -> redis::RedisResult<()> {
        let mut conn = self.redis.clone();
        let mut pipe = redis::pipe();
        for name in ["version", "playback", "conns", "users", "ready", "rtt", "counts-gate", "party-started"] {
            pipe.del(self.room_key(room, name)).ignore();
        }
        for index in ["presence", "popular", "waiting", "dirty"] {
            pipe.zrem(self.global(index), room.to_string()).ignore();
        }
        pipe.query_async(&mut conn).await
    }
}
