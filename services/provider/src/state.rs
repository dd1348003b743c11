//! Redis: the cache of the provider's entitlement answers (keys
//! `{<target>}`-tagged so one target's answers share a slot). The catalog
//! leader's lease is hearth_platform's `Lease` (`provider-sync`).

use std::time::Duration;

use hearth_platform::redis::{Keys, RedisConn};
use hearth_proto::hearth::provider::v1::EntitlementDecision;

#[derive(Clone)]
pub struct State {
    conn: RedisConn,
    keys: Keys,
}

impl State {
    pub fn new(conn: RedisConn, keys: Keys) -> Self {
        Self { conn, keys }
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
