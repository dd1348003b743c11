//! What each process sees of its dependencies, recorded as metrics on a
//! timer: a round trip to Postgres, Redis and NATS, and the Postgres pool's
//! use. Probing (rather than timing every call) costs three round trips per
//! interval and keeps the figures flowing on an idle pod, which is when an
//! operator needs to know whether a new pod can reach its dependencies.

use std::{future::Future, time::Duration};

use opentelemetry::KeyValue;
use tokio_util::sync::CancellationToken;

use crate::{deps::Deps, metrics};

/// A probe that takes longer than this counts as an error.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Probes every `telemetry.probe_interval` until `shutdown`; an interval of
/// zero disables probing.
pub fn spawn(deps: &Deps, shutdown: CancellationToken) {
    let interval = deps.config.telemetry.probe_interval;
    if interval.is_zero() {
        return;
    }
    let deps = deps.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => probe_once(&deps).await,
            }
        }
    });
}

async fn probe_once(deps: &Deps) {
    let redis = deps.redis.clone();
    let nats = deps.nats.client.clone();
    tokio::join!(
        timed("postgres", crate::db::ping(&deps.pg)),
        timed("redis", crate::redis::ping(&redis)),
        timed("nats", async move { nats.flush().await.is_ok() }),
    );
    let size = u64::from(deps.pg.size());
    let idle = u64::try_from(deps.pg.num_idle()).unwrap_or(u64::MAX).min(size);
    metrics::db_pool_connections().record(idle, &[KeyValue::new("state", "idle")]);
    metrics::db_pool_connections().record(size - idle, &[KeyValue::new("state", "used")]);
}

/// Records one probe's round trip with its outcome.
async fn timed(dependency: &'static str, probe: impl Future<Output = bool>) {
    let start = std::time::Instant::now();
    let ok = tokio::time::timeout(PROBE_TIMEOUT, probe).await.unwrap_or(false);
    metrics::dependency_duration().record(
        start.elapsed().as_secs_f64(),
        &[KeyValue::new("dependency", dependency), KeyValue::new("outcome", if ok { "ok" } else { "error" })],
    );
}
