//! Claims behind engagement signals (signals.rs), so that any number of
//! replicas emit each signal once:
//! * `{room}:watch:<user>`: start (ms) of the user's open watch-time
//!   window (domain::watch_time), living [`watch_time::idle_ttl`] past the
//!   last presence sighting;
//! * `{room}:watch-claim:<user>:<start>`: taken with `SET NX PX` by the
//!   replica that emits the window's ROOM_WATCH_TIME signal;
//! * `{room}:party-started`: taken with `SET NX PX` by the replica that
//!   emits a watch party's WATCH_PARTY_STARTED signal.

use std::time::Duration;

use uuid::Uuid;

use super::State;
use crate::domain::watch_time::{self, Sighting};

/// Sightings per Redis pipeline (a heartbeat carries up to 20 000 leases).
const PIPELINE_MAX: usize = 1000;

/// How long a watch party counts as started: a party played again after
/// this is announced again (a new evening, a new party).
pub const PARTY_STARTED_TTL: Duration = Duration::from_secs(12 * 3600);

/// A watch-time window that is due (see [`Sighting::Due`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueWindow {
    pub room: Uuid,
    pub user: Uuid,
    pub since_ms: i64,
    pub online: Duration,
}

fn px(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}

impl State {
    fn watch_key(&self, room: Uuid, user: Uuid) -> String {
        self.room_key(room, &format!("watch:{user}"))
    }

    /// Records that each (room, user) was seen online at `now_ms`: opens a
    /// window where none is, keeps open ones alive, and returns the windows
    /// now due (not yet claimed).
    pub async fn sight(
        &self,
        seen: &[(Uuid, Uuid)],
        now_ms: i64,
        idle_ttl: Duration,
    ) -> redis::RedisResult<Vec<DueWindow>> {
        let mut due = Vec::new();
        let mut conn = self.redis.clone();
        for chunk in seen.chunks(PIPELINE_MAX) {
            let mut pipe = redis::pipe();
            for (room, user) in chunk {
                let key = self.watch_key(*room, *user);
                // NX GET: sets the start when no window is open, else
                // returns the open window's start unchanged.
                pipe.cmd("SET").arg(&key).arg(now_ms).arg("NX").arg("GET").arg("PX").arg(px(idle_ttl));
                pipe.cmd("PEXPIRE").arg(&key).arg(px(idle_ttl)).ignore();
            }
            let starts: Vec<Option<String>> = pipe.query_async(&mut conn).await?;
            for ((room, user), start) in chunk.iter().zip(starts) {
                let start = start.and_then(|s| s.parse::<i64>().ok());
                if let Sighting::Due { since_ms, online } = watch_time::judge(start, now_ms) {
                    due.push(DueWindow { room: *room, user: *user, since_ms, online });
                }
            }
        }
        Ok(due)
    }

    /// Claims a due window for this replica (`SET NX PX`); the winner opens
    /// the user's next window at `now_ms`. `false`: another replica has it.
    pub async fn claim_watch(&self, window: &DueWindow, now_ms: i64, idle_ttl: Duration) -> redis::RedisResult<bool> {
        let mut conn = self.redis.clone();
        let claim = self.room_key(window.room, &format!("watch-claim:{}:{}", window.user, window.since_ms));
        let won: Option<String> = redis::cmd("SET")
            .arg(claim)
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(px(watch_time::PERIOD))
            .query_async(&mut conn)
            .await?;
        if won.is_none() {
            return Ok(false);
        }
        redis::cmd("SET")
            .arg(self.watch_key(window.room, window.user))
            .arg(now_ms)
            .arg("PX")
            .arg(px(idle_ttl))
            .query_async::<()>(&mut conn)
            .await?;
        Ok(true)
    }

    /// Claims the start of a watch party (`SET NX PX`): `true` for the
    /// first Play within [`PARTY_STARTED_TTL`].
    pub async fn claim_party_start(&self, room: Uuid) -> redis::RedisResult<bool> {
        let mut conn = self.redis.clone();
        let won: Option<String> = redis::cmd("SET")
            .arg(self.room_key(room, "party-started"))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(px(PARTY_STARTED_TTL))
            .query_async(&mut conn)
            .await?;
        Ok(won.is_some())
    }
}
