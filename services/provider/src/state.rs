//! Redis: the lease that makes one replica the catalog leader (sync and
//! guide clock), and the cache of the provider's entitlement answers
//! (keys `{<target>}`-tagged so one target's answers share a slot).

use std::time::Duration;

use hearth_platform::redis::{Keys, RedisConn};
use hearth_proto::hearth::provider::v1::EntitlementDecision;

/// Renews the lease only while this replica still holds it.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0";

#[derive(Clone)]
pub struct State {
    conn: RedisConn,
    keys: Keys,
}

impl State {
    pub fn new(conn: RedisConn, keys: Keys) -> Self {
        Self { conn, keys }
    }

    fn lease_key(&self) -> String {
        self.keys.global("provider:leader")
    }

    /// Takes the leader lease if it is free, or renews it if `instance`
    /// holds it. True while `instance` leads.
    pub async fn lead(&self, instance: &str, ttl: Duration) -> Result<bool, redis::RedisError> {
        let key = self.lease_key();
        let ms = ttl.as_millis().max(1) as u64;
        let mut conn = self.conn.clone();
        let taken: Option<String> =
            redis::cmd("SET").arg(&key).arg(instance).arg("NX").arg("PX").arg(ms).query_async(&mut conn).await?;
        if taken.is_some() {
            return Ok(true);
        }
        let renewed: i64 = redis::Script::new(RENEW).key(&key).arg(instance).arg(ms).invoke_async(&mut conn).await?;
        Ok(renewed == 1)
    }

    /// Gives the lease up (shutdown), if held.
    pub async fn resign(&self, instance: &str) {
        let script = redis::Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        );
        let _: Result<i64, _> = script.key(self.lease_key()).arg(instance).invoke_async(&mut self.conn.clone()).await;
    }

    fn decision_key(&self, target: &str, account: &str) -> String {
        self.keys.tagged(target, &format!("entitled:{account}"))
    }

    /// Cached answers for `accounts` about `target` (None where absent).
    pub async fn cached(
        &self,
        target: &str,
        accounts: &[&str],
    ) -> Result<Vec<Option<EntitlementDecision>>, redis::RedisError> {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = accounts.iter().map(|a| self.decision_key(target, a)).collect();
        let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET").arg(&keys).query_async(&mut self.conn.clone()).await?;
        Ok(values.into_iter().map(|v| v.and_then(|bytes| prost::Message::decode(bytes.as_slice()).ok())).collect())
    }

    /// Remembers answers about `target` for `ttl`.
    pub async fn cache(
        &self,
        target: &str,
        decisions: &[EntitlementDecision],
        ttl: Duration,
    ) -> Result<(), redis::RedisError> {
        let ms = ttl.as_millis() as u64;
        if decisions.is_empty() || ms == 0 {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for decision in decisions {
            let key = self.decision_key(target, &decision.provider_user_id);
            pipe.cmd("SET").arg(key).arg(prost::Message::encode_to_vec(decision)).arg("PX").arg(ms).ignore();
        }
        pipe.query_async::<()>(&mut self.conn.clone()).await
    }
}
