//! Redis: the home of ephemeral state (presence, rate limits, playback
//! clocks, live tallies). One auto-reconnecting connection per process,
//! single-node or Redis Cluster, behind one type.

use std::time::Duration;

use redis::{
    Cmd, RedisFuture, Value,
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    cluster::ClusterClientBuilder,
    cluster_async::ClusterConnection,
};

use crate::config::RedisConfig;

#[derive(Debug, thiserror::Error)]
#[error("cannot set up Redis at {url}: {source}")]
pub struct RedisError {
    url: String,
    source: redis::RedisError,
}

/// A Redis connection usable with every `redis` command API; cheap to clone.
/// Every command is bounded by `redis.response_timeout`, including the time
/// spent waiting for a reconnection: the client's own timeout covers only
/// a connected socket, and its reconnect retries (with backoff) would
/// otherwise hold requests for as long as Redis stays away.
#[derive(Clone)]
pub struct RedisConn {
    inner: Inner,
    timeout: Duration,
}

#[derive(Clone)]
enum Inner {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// The error of a command that ran out of time.
fn timed_out(timeout: Duration) -> redis::RedisError {
    std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no answer from Redis within {timeout:?}")).into()
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let timeout = self.timeout;
        let call = match &mut self.inner {
            Inner::Single(c) => c.req_packed_command(cmd),
            Inner::Cluster(c) => c.req_packed_command(cmd),
        };
        Box::pin(async move { tokio::time::timeout(timeout, call).await.unwrap_or_else(|_| Err(timed_out(timeout))) })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let timeout = self.timeout;
        let call = match &mut self.inner {
            Inner::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Inner::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        };
        Box::pin(async move { tokio::time::timeout(timeout, call).await.unwrap_or_else(|_| Err(timed_out(timeout))) })
    }

    fn get_db(&self) -> i64 {
        match &self.inner {
            Inner::Single(c) => c.get_db(),
            Inner::Cluster(c) => c.get_db(),
        }
    }
}

/// Key naming: every key starts with the configured prefix; per-room keys
/// wrap the room id in a `{…}` hash tag so a room's keys share a cluster slot.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into() }
    }

    /// `<prefix><name>`.
    pub fn global(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// `<prefix>{<tag>}:<name>`: keys that must share a cluster slot.
    pub fn tagged(&self, tag: &str, name: &str) -> String {
        format!("{}{{{tag}}}:{name}", self.prefix)
    }
}

/// Connects (single node or cluster). The connection reconnects by itself;
/// commands fail fast while Redis is away.
pub async fn connect(config: &RedisConfig) -> Result<RedisConn, RedisError> {
    if config.cluster_urls.is_empty() {
        let url = config.url.redacted();
        let client =
            redis::Client::open(config.url.expose()).map_err(|source| RedisError { url: url.clone(), source })?;
        let manager_config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(config.response_timeout))
            .set_connection_timeout(Some(config.response_timeout));
        let manager = client
            .get_connection_manager_with_config(manager_config)
            .await
            .map_err(|source| RedisError { url, source })?;
        Ok(RedisConn { inner: Inner::Single(manager), timeout: config.response_timeout })
    } else {
        let urls: Vec<String> = config.cluster_urls.iter().map(|u| u.expose().to_owned()).collect();
        let shown = config.cluster_urls.iter().map(|u| u.redacted()).collect::<Vec<_>>().join(",");
        let client = ClusterClientBuilder::new(urls)
            .response_timeout(config.response_timeout)
            .connection_timeout(config.response_timeout)
            .build()
            .map_err(|source| RedisError { url: shown.clone(), source })?;
        let conn = client.get_async_connection().await.map_err(|source| RedisError { url: shown, source })?;
        Ok(RedisConn { inner: Inner::Cluster(conn), timeout: config.response_timeout })
    }
}

/// Whether Redis answers, for readiness.
pub async fn ping(conn: &RedisConn) -> bool {
    let mut conn = conn.clone();
    redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::Keys;

    #[test]
    fn tagged_keys_share_a_slot_tag() {
        let keys = Keys::new("hearth:");
        assert_eq!(keys.tagged("r1", "presence"), "hearth:{r1}:presence");
        assert_eq!(keys.global("login:u"), "hearth:login:u");
    }
}

/// A lease in Redis that makes one replica of a role the leader of some
/// background work (catalog sync, model recomputation); requests are
/// served by every replica. The holder renews it well within its life; a
/// dead holder's lease lapses and another replica takes over.
#[derive(Clone)]
pub struct Lease {
    conn: RedisConn,
    key: String,
    holder: String,
    ttl: std::time::Duration,
}

/// Renews the lease only while this holder still has it.
const LEASE_RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0";

/// Releases the lease only if this holder has it.
const LEASE_RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

impl Lease {
    /// The lease `name` (under the key prefix) for a new holder.
    pub fn new(conn: RedisConn, keys: &Keys, name: &str, ttl: std::time::Duration) -> Self {
        let holder = uuid::Uuid::new_v4().to_string();
        Self { conn, key: keys.global(&format!("lease:{name}")), holder, ttl }
    }

    /// Takes the lease if it is free, or renews it if this holder has it.
    /// True while this holder leads.
    pub async fn hold(&self) -> Result<bool, redis::RedisError> {
        let ms = self.ttl.as_millis().max(1) as u64;
        let mut conn = self.conn.clone();
        let taken: Option<String> = redis::cmd("SET")
            .arg(&self.key)
            .arg(&self.holder)
            .arg("NX")
            .arg("PX")
            .arg(ms)
            .query_async(&mut conn)
            .await?;
        if taken.is_some() {
            return Ok(true);
        }
        let renewed: i64 =
            redis::Script::new(LEASE_RENEW).key(&self.key).arg(&self.holder).arg(ms).invoke_async(&mut conn).await?;
        Ok(renewed == 1)
    }

    /// Gives the lease up (shutdown), if held.
    pub async fn release(&self) {
        let script = redis::Script::new(LEASE_RELEASE);
        let released: Result<i64, _> =
            script.key(&self.key).arg(&self.holder).invoke_async(&mut self.conn.clone()).await;
        if let Err(error) = released {
            tracing::warn!(%error, lease = %self.key, "lease not released; it lapses by itself");
        }
    }

    /// Runs `work` whenever this replica holds the lease, until `shutdown`:
    /// competes every third of the lease's life, renews it as often while
    /// leading, and cancels `work`'s token when the lease is lost.
    pub async fn lead<F, Fut>(&self, shutdown: tokio_util::sync::CancellationToken, work: F)
    where
        F: Fn(tokio_util::sync::CancellationToken) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let beat = self.ttl / 3;
        loop {
            match self.hold().await {
                Ok(true) => {
                    tracing::info!(lease = %self.key, "leading");
                    let leadership = shutdown.child_token();
                    let keep = async {
                        loop {
                            tokio::time::sleep(beat).await;
                            match self.hold().await {
                                Ok(true) => {}
                                Ok(false) => break tracing::warn!(lease = %self.key, "lease taken over"),
                                Err(error) => break tracing::warn!(%error, lease = %self.key, "lease not renewed"),
                            }
                        }
                    };
                    tokio::select! {
                        () = keep => {}
                        () = work(leadership.clone()) => {}
                        () = leadership.cancelled() => {}
                    }
                    leadership.cancel();
                    tracing::info!(lease = %self.key, "leadership ended");
                }
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, lease = %self.key, "cannot reach Redis for the lease"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(beat) => {}
            }
        }
        self.release().await;
    }
}
