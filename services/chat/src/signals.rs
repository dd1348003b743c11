//! Engagement signals for the recommendations role
//! (hearth.recommendations.v1.EngagementSignal in an Envelope, on JetStream
//! `<prefix>.recommendations.signal.<kind>`, stream RECOMMENDATIONS):
//! * CHAT_MESSAGE for each message posted (a send, or a held message
//!   approved), by its author;
//! * REACTION for each reaction added to a message;
//! * LIVE_REACTION for live-reaction taps, summed per user per room per
//!   minute (`count`) by this replica before publishing.
//!
//! Chat knows the room's kind and visibility from its rooms lookup, not the
//! room's media or sensitivity: `media` stays unset and `sensitive` false,
//! and the consumer resolves both from the room.
//!
//! Signals must never slow or fail a request: handlers only `try_send` to a
//! bounded queue after their change is stored, and one task per replica
//! publishes pipelined and awaits the acks per batch. A full queue drops the
//! signal with a warning and a count (`hearth.recommendations.signals.dropped`).

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use hearth_platform::{
    nats::Nats,
    signals::{SignalPublisher, dropped_counter},
};
use hearth_proto::hearth::{
    recommendations::v1::{EngagementSignal, SignalKind},
    rooms::v1::{RoomKind, RoomVisibility},
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Jobs waiting for the signal task at most; beyond, signals are dropped.
pub const QUEUE: usize = 8192;
/// Jobs handled (and signals published before their acks are awaited) per batch.
const BATCH: usize = 256;
/// The live-reaction aggregation period.
pub const LIVE_MINUTE_MS: i64 = 60_000;
/// How often ended minutes of live reactions are published.
const LIVE_FLUSH: Duration = Duration::from_secs(5);
/// (user, room, minute) tallies kept at most; beyond, all are published early.
const LIVE_TALLIES_MAX: usize = 100_000;

/// What a signal says about the room it happened in (from the rooms
/// service's access answer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoomFacts {
    pub room: Uuid,
    pub kind: RoomKind,
    pub visibility: RoomVisibility,
}

fn now_ms() -> i64 {
    crate::state::now_ms()
}

fn timestamp_ms(ms: i64) -> hearth_proto::wkt::Timestamp {
    hearth_proto::wkt::Timestamp { seconds: ms.div_euclid(1000), nanos: (ms.rem_euclid(1000) * 1_000_000) as i32 }
}

/// A signal of `kind` by `user` in the room at `at_ms`, counting `count`.
pub fn signal(user: Uuid, kind: SignalKind, facts: &RoomFacts, at_ms: i64, count: u32) -> EngagementSignal {
    EngagementSignal {
        user_id: user.to_string(),
        kind: kind as i32,
        room_id: facts.room.to_string(),
        room_kind: facts.kind as i32,
        room_visibility: facts.visibility as i32,
        media: None,
        sensitive: false,
        time: Some(timestamp_ms(at_ms)),
        duration: None,
        count,
        region: String::new(),
        language: String::new(),
        room_title: String::new(),
    }
}

/// Live-reaction taps summed per user per room per minute (of Unix time).
#[derive(Debug, Default)]
pub struct LiveTally {
    /// (user, room, minute) → (facts, taps, time of the last tap).
    open: HashMap<(Uuid, Uuid, i64), (RoomFacts, u32, i64)>,
}

impl LiveTally {
    /// Counts one tap by `user` at `at_ms`.
    pub fn add(&mut self, user: Uuid, facts: RoomFacts, at_ms: i64) {
        let minute = at_ms.div_euclid(LIVE_MINUTE_MS);
        let entry = self.open.entry((user, facts.room, minute)).or_insert((facts, 0, at_ms));
        entry.1 = entry.1.saturating_add(1);
        entry.2 = entry.2.max(at_ms);
    }

    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// The LIVE_REACTION signals of the minutes that ended by `now_ms`
    /// (all of them when `all`), removed from the tally.
    pub fn take_ended(&mut self, now_ms: i64, all: bool) -> Vec<EngagementSignal> {
        let current = now_ms.div_euclid(LIVE_MINUTE_MS);
        let ended: Vec<(Uuid, Uuid, i64)> =
            self.open.keys().filter(|(_, _, minute)| all || *minute < current).copied().collect();
        let mut signals = Vec::with_capacity(ended.len());
        for key in ended {
            if let Some((facts, taps, last)) = self.open.remove(&key) {
                signals.push(signal(key.0, SignalKind::LiveReaction, &facts, last, taps));
            }
        }
        signals
    }
}

enum Job {
    /// Ready to publish.
    Ready(EngagementSignal),
    /// One live-reaction tap, to be summed.
    LiveTap { user: Uuid, facts: RoomFacts, at_ms: i64 },
}

/// Hands signals to this replica's signal task; cheap to clone, never blocks.
#[derive(Clone)]
pub struct Signals {
    queue: mpsc::Sender<Job>,
    dropped: Arc<AtomicU64>,
}

impl Signals {
    /// Starts the signal task; it creates the RECOMMENDATIONS stream itself,
    /// so starting never waits for NATS.
    pub fn spawn(nats: Nats, shutdown: CancellationToken) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run(SignalPublisher::new(nats, "chat"), jobs, shutdown));
        Self { queue, dropped: Arc::default() }
    }

    /// Signals dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn offer(&self, job: Job) {
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                dropped_counter().add(1, &[opentelemetry::KeyValue::new("producer", "chat")]);
                // One warning per thousand drops: a full queue means a burst.
                if dropped % 1000 == 1 {
                    tracing::warn!(dropped, "signal queue full; engagement signals dropped");
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::debug!("signal task stopped; engagement signal dropped");
            }
        }
    }

    /// `author` posted a message.
    pub fn message(&self, author: Uuid, facts: RoomFacts) {
        self.offer(Job::Ready(signal(author, SignalKind::ChatMessage, &facts, now_ms(), 1)));
    }

    /// `user` added a reaction to a message.
    pub fn reaction(&self, user: Uuid, facts: RoomFacts) {
        self.offer(Job::Ready(signal(user, SignalKind::Reaction, &facts, now_ms(), 1)));
    }

    /// `user` tapped a live reaction.
    pub fn live_tap(&self, user: Uuid, facts: RoomFacts) {
        self.offer(Job::LiveTap { user, facts, at_ms: now_ms() });
    }
}

/// The signal task: publishes ready signals per batch and live-reaction
/// tallies once their minute ended; on shutdown, everything it holds.
async fn run(mut publisher: SignalPublisher, mut jobs: mpsc::Receiver<Job>, shutdown: CancellationToken) {
    publisher.ensure_stream(true).await;
    let mut tally = LiveTally::default();
    let mut batch = Vec::with_capacity(BATCH);
    let mut flush = tokio::time::interval(LIVE_FLUSH);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                while let Ok(job) = jobs.try_recv() {
                    batch.push(job);
                }
                let mut signals = take_ready(&mut batch, &mut tally);
                signals.extend(tally.take_ended(now_ms(), true));
                publisher.publish(signals).await;
                return;
            }
            _ = flush.tick() => {
                let signals = tally.take_ended(now_ms(), false);
                publisher.publish(signals).await;
            }
            received = jobs.recv_many(&mut batch, BATCH) => {
                if received == 0 {
                    publisher.publish(tally.take_ended(now_ms(), true)).await;
                    return;
                }
                let mut signals = take_ready(&mut batch, &mut tally);
                if tally.len() >= LIVE_TALLIES_MAX {
                    signals.extend(tally.take_ended(now_ms(), true));
                }
                publisher.publish(signals).await;
            }
        }
    }
}

/// The ready signals of `jobs`; taps go to the tally.
fn take_ready(jobs: &mut Vec<Job>, tally: &mut LiveTally) -> Vec<EngagementSignal> {
    let mut signals = Vec::with_capacity(jobs.len());
    for job in jobs.drain(..) {
        match job {
            Job::Ready(signal) => signals.push(signal),
            Job::LiveTap { user, facts, at_ms } => tally.add(user, facts, at_ms),
        }
    }
    signals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> RoomFacts {
        RoomFacts { room: Uuid::now_v7(), kind: RoomKind::Channel, visibility: RoomVisibility::Public }
    }

    #[test]
    fn live_taps_are_summed_per_user_per_room_per_minute() {
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let (news, film) = (facts(), facts());
        let minute = 28_000_000 * LIVE_MINUTE_MS;
        let mut tally = LiveTally::default();
        for at in [minute, minute + 1_000, minute + 59_999] {
            tally.add(alice, news, at);
        }
        tally.add(alice, film, minute + 5);
        tally.add(bob, news, minute + 10);
        tally.add(alice, news, minute + LIVE_MINUTE_MS); // the next minute
        assert_eq!(tally.len(), 4);
        assert!(tally.take_ended(minute + 30_000, false).is_empty(), "the minute is still open");
        let mut ended = tally.take_ended(minute + LIVE_MINUTE_MS + 1, false);
        ended.sort_by_key(|s| std::cmp::Reverse(s.count));
        let counts: Vec<(String, String, u32)> =
            ended.iter().map(|s| (s.user_id.clone(), s.room_id.clone(), s.count)).collect();
        assert_eq!(counts.len(), 3);
        assert_eq!(counts[0], (alice.to_string(), news.room.to_string(), 3));
        assert!(ended.iter().all(|s| s.kind == SignalKind::LiveReaction as i32));
        assert_eq!(ended[0].time, Some(timestamp_ms(minute + 59_999)), "the time of the last tap");
        assert_eq!(tally.len(), 1, "the next minute stays open");
        let rest = tally.take_ended(minute, true);
        assert_eq!(rest.len(), 1);
        assert!(tally.is_empty());
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let (queue, _jobs) = mpsc::channel(1);
        let signals = Signals { queue, dropped: Arc::default() };
        for _ in 0..3 {
            signals.message(Uuid::now_v7(), facts());
        }
        assert_eq!(signals.dropped(), 2);
    }
}
