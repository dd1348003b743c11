//! Round-trip measurement with WebSocket ping control frames (answered by
//! every client's WebSocket stack): the best of the last 8 samples, as the
//! clients' own clock sync does. Rooms use it to schedule group starts
//! after the slowest member can have heard about them.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use tokio::time::Instant;

/// Samples kept.
const WINDOW: usize = 8;

/// A connection's round-trip estimator.
pub struct Rtt {
    epoch: Instant,
    samples: [Option<Duration>; WINDOW],
    next: usize,
    best_ms: Arc<AtomicI64>,
}

impl Default for Rtt {
    fn default() -> Self {
        Self { epoch: Instant::now(), samples: [None; WINDOW], next: 0, best_ms: Arc::new(AtomicI64::new(-1)) }
    }
}

impl Rtt {
    /// The payload of the next ping: when it was sent.
    pub fn ping_payload(&self) -> Vec<u8> {
        payload(self.epoch)
    }

    /// The instant ping payloads count from (for probes sent elsewhere).
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Records the pong of one of our pings; ignores foreign payloads.
    pub fn pong(&mut self, payload: &[u8]) {
        let Ok(bytes) = <[u8; 8]>::try_from(payload) else { return };
        let sent = Duration::from_nanos(u64::from_be_bytes(bytes));
        let now = self.epoch.elapsed();
        let Some(sample) = now.checked_sub(sent) else { return };
        if sample > Duration::from_secs(30) {
            return;
        }
        self.samples[self.next] = Some(sample);
        self.next = (self.next + 1) % WINDOW;
        if let Some(best) = self.best() {
            self.best_ms.store(best.as_millis() as i64, Ordering::Relaxed);
        }
    }

    /// The lowest round trip among the last 8 samples.
    pub fn best(&self) -> Option<Duration> {
        self.samples.iter().flatten().min().copied()
    }

    /// A shared view of `best` in ms (-1: unknown), for presence leases.
    pub fn shared(&self) -> Arc<AtomicI64> {
        self.best_ms.clone()
    }
}

/// A ping payload: nanoseconds since `epoch` when sent.
pub fn payload(epoch: Instant) -> Vec<u8> {
    (epoch.elapsed().as_nanos() as u64).to_be_bytes().to_vec()
}

/// A shared best-RTT value as a protobuf Duration, when known.
pub fn as_duration(best_ms: &AtomicI64) -> Option<hearth_proto::wkt::Duration> {
    let ms = best_ms.load(Ordering::Relaxed);
    (ms >= 0).then(|| hearth_proto::wkt::Duration { seconds: ms / 1000, nanos: ((ms % 1000) * 1_000_000) as i32 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_of_the_last_eight() {
        let mut rtt = Rtt::default();
        assert_eq!(rtt.best(), None);
        rtt.pong(&rtt.ping_payload());
        assert!(rtt.best().is_some());
        rtt.pong(b"foreign");
        for _ in 0..WINDOW {
            rtt.pong(&rtt.ping_payload());
        }
        assert!(rtt.best().unwrap() < Duration::from_millis(50));
        assert!(as_duration(&rtt.shared()).is_some());
    }
}
