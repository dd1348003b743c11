//! Fault tests: real processes on this machine, loopback only, bounded in
//! time. A gateway or a service replica is SIGKILLed, NATS is restarted,
//! Redis is flushed and restarted, Postgres is stopped, a client stops
//! reading; each test checks that nothing acknowledged is lost or doubled
//! and prints its figures (outage window, recovery time, p99s).
//!
//! Dependencies that are stopped or restarted are private instances on
//! random ports (`servers`); the shared ones are never touched. Fast
//! variants run by default; `HEARTH_FAULTS_FULL=1` runs the long ones.

mod client;
mod gateway_kill;
mod nats_restart;
mod postgres_stop;
mod proxy;
mod redis_loss;
mod replica_kill;
mod servers;
mod slow_clients;

use std::time::Duration;

/// Whether the long variants run (more load, longer outages).
pub fn full() -> bool {
    std::env::var("HEARTH_FAULTS_FULL").is_ok_and(|v| v == "1")
}

/// The `q` quantile (0..=1) of `samples`, by nearest rank.
pub fn quantile(samples: &[Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Milliseconds with one decimal, for printouts.
pub fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
