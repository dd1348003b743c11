//! Identity's ephemeral state in Redis: brute-force guards on login (per
//! username and per client IP), on registration (per IP) and on failed
//! token refreshes (per IP).
//!
//! When Redis is unreachable the guards let requests through and log a
//! warning: an outage of the cache must not lock every viewer out.

use std::time::Duration;

use hearth_platform::redis::{Keys, RedisConn};

/// Fixed-window failure counters.
#[derive(Clone)]
pub struct Throttle {
    redis: RedisConn,
    keys: Keys,
}

/// One guarded budget: a key, its limit and its window.
pub struct Budget {
    pub key: String,
    pub limit: u32,
    pub window: Duration,
}

impl Throttle {
    pub fn new(redis: RedisConn, keys: Keys) -> Self {
        Self { redis, keys }
    }

    pub fn login_user(&self, username: &str, limit: u32, window: Duration) -> Budget {
        Budget { key: self.keys.global(&format!("identity:login-fail:user:{username}")), limit, window }
    }

    pub fn login_ip(&self, ip: &str, limit: u32, window: Duration) -> Budget {
        Budget { key: self.keys.global(&format!("identity:login-fail:ip:{ip}")), limit, window }
    }

    pub fn refresh_ip(&self, ip: &str, limit: u32, window: Duration) -> Budget {
        Budget { key: self.keys.global(&format!("identity:refresh-fail:ip:{ip}")), limit, window }
    }

    pub fn register_ip(&self, ip: &str, limit: u32) -> Budget {
        Budget {
            key: self.keys.global(&format!("identity:register:ip:{ip}")),
            limit,
            window: Duration::from_secs(3600),
        }
    }

    /// The wait before any of `budgets` allows another attempt, if one is spent.
    pub async fn blocked_for(&self, budgets: &[&Budget]) -> Option<Duration> {
        let mut conn = self.redis.clone();
        let mut pipe = redis::pipe();
        for budget in budgets {
            pipe.get(&budget.key).cmd("PTTL").arg(&budget.key);
        }
        let values: Vec<(Option<u32>, i64)> = match pipe.query_async(&mut conn).await {
            Ok(values) => values,
            Err(error) => {
                tracing::warn!(%error, "throttle check skipped: Redis unavailable");
                return None;
            }
        };
        budgets
            .iter()
            .zip(values)
            .filter(|(budget, (count, _))| count.unwrap_or(0) >= budget.limit)
            .map(|(budget, (_, ttl))| if ttl > 0 { Duration::from_millis(ttl as u64) } else { budget.window })
            .max()
    }

    /// Counts one attempt against each budget (the window starts at the first).
    pub async fn spend(&self, budgets: &[&Budget]) {
        let mut conn = self.redis.clone();
        let mut pipe = redis::pipe();
        pipe.atomic();
        for budget in budgets {
            pipe.incr(&budget.key, 1)
                .ignore()
                .cmd("PEXPIRE")
                .arg(&budget.key)
                .arg(budget.window.as_millis() as u64)
                .arg("NX")
                .ignore();
        }
        if let Err(error) = pipe.query_async::<()>(&mut conn).await {
            tracing::warn!(%error, "throttle not recorded: Redis unavailable");
        }
    }

    /// Clears a budget (a successful login resets the username's failures).
    pub async fn reset(&self, budget: &Budget) {
        let mut conn = self.redis.clone();
        if let Err(error) = redis::cmd("DEL").arg(&budget.key).query_async::<()>(&mut conn).await {
            tracing::warn!(%error, "throttle not reset: Redis unavailable");
        }
    }
}
