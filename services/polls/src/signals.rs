//! Engagement signals for the recommendations role
//! (hearth.recommendations.v1.EngagementSignal in an Envelope, on JetStream
//! `<prefix>.recommendations.signal.<kind>`, stream RECOMMENDATIONS), one
//! per accepted act, after it is stored:
//! * POLL_VOTE for each first vote counted (not retries or changes);
//! * QUIZ_ANSWER for each quiz answer stored;
//! * PREDICTION for each stake placed (not a retried request);
//! * QUESTION_ASKED for each Q&A question created (published or pending).
//!
//! The polls role knows the room's kind and visibility from its rooms
//! lookups, not the room's media or sensitivity: `media` stays unset and
//! `sensitive` false, and the consumer resolves both from the room.
//!
//! Signals must never slow or fail a request, and votes arrive at tens of
//! thousands a second: handlers only `try_send` to a bounded queue
//! ([`QUEUE`]), and one task per replica publishes up to [`BATCH`] signals
//! pipelined before awaiting their acks together. A full queue drops the
//! signal with a warning and a count (`hearth.recommendations.signals.dropped`).

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
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

/// Signals waiting for the signal task at most (about a second of the
/// benchmark's vote rate); beyond, signals are dropped.
pub const QUEUE: usize = 32_768;
/// Signals published before their acks are awaited.
const BATCH: usize = 1024;

/// What a signal says about the room it happened in (from the rooms
/// service's access or standings answer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoomFacts {
    pub room: Uuid,
    pub kind: RoomKind,
    pub visibility: RoomVisibility,
}

/// A signal of `kind` by `user` in the room, now.
pub fn signal(user: Uuid, kind: SignalKind, facts: &RoomFacts) -> EngagementSignal {
    EngagementSignal {
        user_id: user.to_string(),
        kind: kind as i32,
        room_id: facts.room.to_string(),
        room_kind: facts.kind as i32,
        room_visibility: facts.visibility as i32,
        media: None,
        sensitive: false,
        time: Some(hearth_platform::wkt::timestamp(time::OffsetDateTime::now_utc())),
        duration: None,
        count: 1,
        region: String::new(),
        language: String::new(),
        room_title: String::new(),
    }
}

/// Hands signals to this replica's signal task; cheap to clone, never blocks.
#[derive(Clone)]
pub struct Signals {
    queue: mpsc::Sender<EngagementSignal>,
    dropped: Arc<AtomicU64>,
}

impl Signals {
    /// Starts the signal task; it creates the RECOMMENDATIONS stream itself,
    /// so starting never waits for NATS.
    pub fn spawn(nats: Nats, shutdown: CancellationToken) -> Self {
        let (queue, signals) = mpsc::channel(QUEUE);
        tokio::spawn(run(SignalPublisher::new(nats, "polls"), signals, shutdown));
        Self { queue, dropped: Arc::default() }
    }

    /// Signals dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Queues a signal of `kind` by `user` in the room.
    pub fn emit(&self, kind: SignalKind, user: Uuid, facts: &RoomFacts) {
        match self.queue.try_send(signal(user, kind, facts)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                dropped_counter().add(1, &[opentelemetry::KeyValue::new("producer", "polls")]);
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
}

/// The signal task: publishes what is queued, a batch at a time; on
/// shutdown, what is left.
async fn run(mut publisher: SignalPublisher, mut queue: mpsc::Receiver<EngagementSignal>, shutdown: CancellationToken) {
    publisher.ensure_stream(true).await;
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                while let Ok(signal) = queue.try_recv() {
                    batch.push(signal);
                }
                publisher.publish(std::mem::take(&mut batch)).await;
                return;
            }
            received = queue.recv_many(&mut batch, BATCH) => {
                if received == 0 {
                    return;
                }
                publisher.publish(std::mem::take(&mut batch)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_describe_the_room_and_count_one() {
        let facts = RoomFacts { room: Uuid::now_v7(), kind: RoomKind::Programme, visibility: RoomVisibility::Public };
        let user = Uuid::now_v7();
        let s = signal(user, SignalKind::PollVote, &facts);
        assert_eq!((s.user_id, s.room_id), (user.to_string(), facts.room.to_string()));
        assert_eq!((s.kind, s.room_kind, s.count), (SignalKind::PollVote as i32, RoomKind::Programme as i32, 1));
        assert!(s.media.is_none() && !s.sensitive && s.time.is_some());
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let (queue, _signals) = mpsc::channel(1);
        let signals = Signals { queue, dropped: Arc::default() };
        for _ in 0..3 {
            signals.emit(SignalKind::PollVote, Uuid::now_v7(), &RoomFacts::default());
        }
        assert_eq!(signals.dropped(), 2);
    }
}
