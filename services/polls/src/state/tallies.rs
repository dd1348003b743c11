//! Live poll tallies: one hash per poll (`{room}:poll:<id>:tally`) with a
//! count per option plus `_voters` and `_votes`, incremented after each
//! batch of votes commits. `_init` marks a hash created when the poll
//! opened; a hash without it (Redis lost it) is rebuilt from Postgres.
//! The published revision is a counter beside it.

use std::collections::HashMap;

use redis::AsyncCommands;
use uuid::Uuid;

use super::State;

/// How long a poll's live counters outlive their last change.
const TALLY_TTL_SECS: i64 = 8 * 24 * 3600;

const VOTERS: &str = "_voters";
const VOTES: &str = "_votes";
const INIT: &str = "_init";

/// Sets the counts only where no live hash exists (a rebuild never
/// overwrites counts that live votes already re-created).
const REBUILD: &str = r"
if redis.call('HEXISTS', KEYS[1], '_init') == 1 then return 0 end
redis.call('DEL', KEYS[1])
for i = 1, #ARGV - 1, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], '_init', 1)
redis.call('EXPIRE', KEYS[1], 691200)
return 1
";

/// Live counts of a poll.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveTally {
    pub options: HashMap<String, i64>,
    pub voters: i64,
    pub votes: i64,
    /// False when Redis holds no live hash for the poll.
    pub initialised: bool,
}

impl State {
    fn tally_key(&self, room: Uuid, poll: Uuid) -> String {
        self.key(room, &format!("poll:{poll}:tally"))
    }

    fn revision_key(&self, room: Uuid, poll: Uuid) -> String {
        self.key(room, &format!("poll:{poll}:rev"))
    }

    /// Adds counted votes: per option deltas, and voters and votes deltas.
    pub async fn add_tallies(
        &self,
        room: Uuid,
        poll: Uuid,
        options: &HashMap<String, i64>,
        voters: i64,
    ) -> Result<(), redis::RedisError> {
        let key = self.tally_key(room, poll);
        let mut pipe = redis::pipe();
        for (option, delta) in options {
            pipe.hincr(&key, option, *delta).ignore();
        }
        pipe.hincr(&key, VOTERS, voters).ignore();
        pipe.hincr(&key, VOTES, options.values().sum::<i64>()).ignore();
        pipe.expire(&key, TALLY_TTL_SECS).ignore();
        pipe.query_async::<()>(&mut self.conn.clone()).await
    }

    /// Starts a poll's live hash at zero (when it opens).
    pub async fn init_tallies(&self, room: Uuid, poll: Uuid, options: &[String]) -> Result<(), redis::RedisError> {
        let counts: HashMap<String, i64> = options.iter().map(|o| (o.clone(), 0)).collect();
        self.rebuild_tallies(room, poll, &counts, 0, 0).await
    }

    /// Writes counts from Postgres unless a live hash exists.
    pub async fn rebuild_tallies(
        &self,
        room: Uuid,
        poll: Uuid,
        options: &HashMap<String, i64>,
        voters: i64,
        votes: i64,
    ) -> Result<(), redis::RedisError> {
        let rebuild = redis::Script::new(REBUILD);
        let mut script = rebuild.prepare_invoke();
        script.key(self.tally_key(room, poll));
        for (option, n) in options {
            script.arg(option).arg(n);
        }
        script.arg(VOTERS).arg(voters).arg(VOTES).arg(votes).arg("end");
        script.invoke_async::<i64>(&mut self.conn.clone()).await?;
        Ok(())
    }

    pub async fn tallies(&self, room: Uuid, poll: Uuid) -> Result<LiveTally, redis::RedisError> {
        let raw: HashMap<String, i64> = self.conn.clone().hgetall(self.tally_key(room, poll)).await?;
        let mut tally = LiveTally { initialised: raw.contains_key(INIT), ..Default::default() };
        for (field, n) in raw {
            match field.as_str() {
                VOTERS => tally.voters = n,
                VOTES => tally.votes = n,
                INIT => {}
                _ => {
                    tally.options.insert(field, n);
                }
            }
        }
        Ok(tally)
    }

    /// The next revision of a poll's published results.
    pub async fn next_revision(&self, room: Uuid, poll: Uuid) -> Result<u64, redis::RedisError> {
        let key = self.revision_key(room, poll);
        let (revision,): (u64,) = redis::pipe()
            .incr(&key, 1)
            .expire(&key, TALLY_TTL_SECS)
            .ignore()
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(revision)
    }
}

impl State {
    /// The last published revision of a poll's results.
    pub async fn revision(&self, room: Uuid, poll: Uuid) -> Result<u64, redis::RedisError> {
        let revision: Option<u64> = self.conn.clone().get(self.revision_key(room, poll)).await?;
        Ok(revision.unwrap_or(0))
    }
}
