//! The polls service's Redis state, every key `{room_id}`-tagged: live
//! poll tallies (`tallies`), quiz leaderboards (`leaderboards`), Q&A rate
//! limits (`qna`) and the cross-replica claims that pace live broadcasts.
//! Postgres holds the truth of everything here that matters after the
//! show: losing Redis loses live counts until reconciled, nothing durable.

mod leaderboards;
mod qna;
mod tallies;

use std::time::Duration;

use hearth_platform::redis::{Keys, RedisConn};
use uuid::Uuid;

pub use leaderboards::*;
pub use qna::*;
pub use tallies::*;

#[derive(Clone)]
pub struct State {
    pub(crate) conn: RedisConn,
    pub(crate) keys: Keys,
}

impl State {
    pub fn new(conn: RedisConn, keys: Keys) -> Self {
        Self { conn, keys }
    }

    /// `<prefix>{<room>}:<name>`.
    pub(crate) fn key(&self, room: Uuid, name: &str) -> String {
        self.keys.tagged(&room.to_string(), name)
    }

    /// Claims `name` in the room for `ttl` if nobody holds it (one
    /// broadcast per interval across replicas).
    pub async fn claim(&self, room: Uuid, name: &str, ttl: Duration) -> Result<bool, redis::RedisError> {
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(room, name))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(set.is_some())
    }
}
