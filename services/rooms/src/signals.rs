//! Engagement signals for the recommendations role
//! (hearth.recommendations.v1.EngagementSignal in an Envelope, on JetStream
//! `<prefix>.recommendations.signal.<kind>`, stream RECOMMENDATIONS):
//! * ROOM_JOINED when JoinRoom (or an enter with `join`) made a member;
//! * WATCH_PARTY_STARTED at the first Play of a watch party (claimed in
//!   Redis, so one replica emits it; again after
//!   [`crate::state::watch::PARTY_STARTED_TTL`]);
//! * ROOM_WATCH_TIME once per user per room per five minutes online,
//!   judged from the presence the gateways report (enter, heartbeats) and
//!   claimed in Redis (domain::watch_time, state::watch).
//!
//! Signals must never slow or fail a request: handlers only `try_send` to a
//! bounded queue after their change is stored, and one task per replica
//! does the rest (claims, room lookups, pipelined JetStream publishes whose
//! acks are awaited per batch). A full queue drops the signal with a warning
//! and a count (`hearth.recommendations.signals.dropped`): recommendations
//! are statistics, and losing a few beats delaying a viewer.

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
    common::v1::MediaRef,
    recommendations::v1::{EngagementSignal, SignalKind},
    rooms::v1 as pb,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    domain::{fields::Media, roles::Kind, watch_time},
    grpc::convert,
    state::{State, now_ms, watch::DueWindow},
    store::{RoomRow, Store},
};

/// Jobs waiting for the signal task at most; beyond, signals are dropped.
pub const QUEUE: usize = 4096;
/// Jobs handled (and signals published before their acks are awaited) per batch.
const BATCH: usize = 256;

/// What a signal says about the room it happened in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomFacts {
    pub room: Uuid,
    pub kind: pb::RoomKind,
    pub visibility: pb::RoomVisibility,
    pub media: Option<MediaRef>,
    /// Sensitive room or adult channel: never used for social features.
    pub sensitive: bool,
    /// For watch-party notifications.
    pub title: String,
}

impl RoomFacts {
    /// The facts of `room` watching `media`.
    pub fn of(room: &RoomRow, media: Option<&Media>) -> Self {
        Self {
            room: room.id,
            kind: convert::kind(room.kind()),
            visibility: convert::visibility(room.visibility()),
            media: media.map(convert::media_ref),
            sensitive: room.settings.sensitive,
            title: room.title.clone(),
        }
    }
}

/// A signal of `kind` by `user` in the room, now, counting 1.
pub fn signal(user: Uuid, kind: SignalKind, facts: &RoomFacts, at_ms: i64) -> EngagementSignal {
    EngagementSignal {
        user_id: user.to_string(),
        kind: kind as i32,
        room_id: facts.room.to_string(),
        room_kind: facts.kind as i32,
        room_visibility: facts.visibility as i32,
        media: facts.media.clone(),
        sensitive: facts.sensitive,
        time: Some(convert::timestamp_ms(at_ms)),
        duration: None,
        count: 1,
        region: String::new(),
        language: String::new(),
        room_title: if kind == SignalKind::WatchPartyStarted { facts.title.clone() } else { String::new() },
    }
}

enum Job {
    /// Ready to publish.
    Ready(EngagementSignal),
    /// A Play in a watch party: published only by the first claim.
    PartyPlayed(EngagementSignal),
    /// (room, user) pairs seen online at `at_ms`.
    Seen { pairs: Vec<(Uuid, Uuid)>, at_ms: i64 },
}

/// Hands signals to this replica's signal task; cheap to clone, never blocks.
#[derive(Clone)]
pub struct Signals {
    queue: Option<mpsc::Sender<Job>>,
    dropped: Arc<AtomicU64>,
}

impl Signals {
    /// Starts the signal task; it creates the RECOMMENDATIONS stream itself,
    /// so starting never waits for NATS.
    pub fn spawn(nats: Nats, state: State, store: Store, presence_ttl: Duration, shutdown: CancellationToken) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let worker = Worker {
            publisher: SignalPublisher::new(nats, "rooms"),
            state,
            store,
            idle_ttl: watch_time::idle_ttl(presence_ttl),
        };
        tokio::spawn(worker.run(jobs, shutdown));
        Self { queue: Some(queue), dropped: Arc::default() }
    }

    /// Signals dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn offer(&self, job: Job) {
        let Some(queue) = &self.queue else { return };
        match queue.try_send(job) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                dropped_counter().add(1, &[opentelemetry::KeyValue::new("producer", "rooms")]);
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

    /// `user` became a member of the room.
    pub fn joined(&self, user: Uuid, facts: &RoomFacts) {
        self.offer(Job::Ready(signal(user, SignalKind::RoomJoined, facts, now_ms())));
    }

    /// `user` pressed Play in a watch party (the first one counts).
    pub fn party_played(&self, user: Uuid, facts: &RoomFacts) {
        self.offer(Job::PartyPlayed(signal(user, SignalKind::WatchPartyStarted, facts, now_ms())));
    }

    /// Users seen online in rooms (enter, heartbeat leases).
    pub fn seen(&self, pairs: Vec<(Uuid, Uuid)>) {
        if !pairs.is_empty() {
            self.offer(Job::Seen { pairs, at_ms: now_ms() });
        }
    }
}

struct Worker {
    publisher: SignalPublisher,
    state: State,
    store: Store,
    idle_ttl: Duration,
}

impl Worker {
    async fn run(mut self, mut jobs: mpsc::Receiver<Job>, shutdown: CancellationToken) {
        self.publisher.ensure_stream(true).await;
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => {
                    // Publish what is queued, then stop.
                    while let Ok(job) = jobs.try_recv() {
                        batch.push(job);
                    }
                    let signals = self.resolve(std::mem::take(&mut batch)).await;
                    self.publisher.publish(signals).await;
                    return;
                }
                n = jobs.recv_many(&mut batch, BATCH) => n,
            };
            if received == 0 {
                return;
            }
            let signals = self.resolve(std::mem::take(&mut batch)).await;
            self.publisher.publish(signals).await;
        }
    }

    /// Turns jobs into the signals to publish: claims first plays and due
    /// watch-time windows, and looks up the rooms of the windows won.
    async fn resolve(&self, jobs: Vec<Job>) -> Vec<EngagementSignal> {
        let mut signals = Vec::with_capacity(jobs.len());
        let mut seen: Vec<(Uuid, Uuid)> = Vec::new();
        let mut seen_at = 0;
        for job in jobs {
            match job {
                Job::Ready(signal) => signals.push(signal),
                Job::PartyPlayed(signal) => {
                    let Ok(room) = Uuid::parse_str(&signal.room_id) else { continue };
                    match self.state.claim_party_start(room).await {
                        Ok(true) => signals.push(signal),
                        Ok(false) => {}
                        Err(error) => tracing::warn!(%error, %room, "watch party start not claimed; no signal"),
                    }
                }
                Job::Seen { pairs, at_ms } => {
                    seen.extend(pairs);
                    seen_at = seen_at.max(at_ms);
                }
            }
        }
        if !seen.is_empty() {
            seen.sort_unstable();
            seen.dedup();
            signals.extend(self.watch_time(&seen, seen_at).await);
        }
        signals
    }

    async fn watch_time(&self, seen: &[(Uuid, Uuid)], now: i64) -> Vec<EngagementSignal> {
        let due = match self.state.sight(seen, now, self.idle_ttl).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "watch time not tracked for this heartbeat");
                return Vec::new();
            }
        };
        let mut rooms: HashMap<Uuid, Option<RoomFacts>> = HashMap::new();
        let mut signals = Vec::new();
        for window in due {
            match self.state.claim_watch(&window, now, self.idle_ttl).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(error) => {
                    tracing::warn!(%error, room = %window.room, "watch time not claimed");
                    continue;
                }
            }
            let facts = match rooms.entry(window.room) {
                std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => slot.insert(self.facts(window.room).await),
            };
            if let Some(facts) = facts {
                signals.push(watch_signal(&window, facts, now));
            }
        }
        signals
    }

    /// The room as a signal describes it, with the media the group watches;
    /// None when the room is gone or cannot be read.
    async fn facts(&self, room: Uuid) -> Option<RoomFacts> {
        let row = match self.store.room(room).await {
            Ok(Some(row)) => row,
            Ok(None) => return None,
            Err(error) => {
                tracing::warn!(%error, %room, "room unreadable; watch-time signal dropped");
                return None;
            }
        };
        // As RoomsApi::current_media: the group's media, else the room's.
        let media = match row.kind() {
            Kind::Channel | Kind::Programme => row.media(),
            _ => match self.state.load_playback(room).await {
                Ok(stored) => stored.group.media.or_else(|| row.media()),
                Err(_) => row.media(),
            },
        };
        Some(RoomFacts::of(&row, media.as_ref()))
    }
}

/// The ROOM_WATCH_TIME signal of a claimed window.
fn watch_signal(window: &DueWindow, facts: &RoomFacts, now: i64) -> EngagementSignal {
    EngagementSignal {
        duration: Some(hearth_platform::wkt::duration(window.online)),
        ..signal(window.user, SignalKind::RoomWatchTime, facts, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_time_signals_carry_the_time_online() {
        let facts = RoomFacts {
            room: Uuid::now_v7(),
            kind: pb::RoomKind::Channel,
            visibility: pb::RoomVisibility::Public,
            media: None,
            sensitive: true,
            title: "Late show".into(),
        };
        let window =
            DueWindow { room: facts.room, user: Uuid::now_v7(), since_ms: 0, online: Duration::from_secs(301) };
        let signal = watch_signal(&window, &facts, 301_000);
        assert_eq!(signal.kind, SignalKind::RoomWatchTime as i32);
        assert_eq!(signal.duration.map(|d| d.seconds), Some(301));
        assert_eq!(signal.count, 1);
        assert!(signal.sensitive);
        assert_eq!(signal.room_kind, pb::RoomKind::Channel as i32);
        assert_eq!(signal.user_id, window.user.to_string());
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let (queue, _jobs) = mpsc::channel(1);
        let signals = Signals { queue: Some(queue), dropped: Arc::default() };
        let facts = RoomFacts::default();
        signals.joined(Uuid::now_v7(), &facts);
        signals.joined(Uuid::now_v7(), &facts);
        signals.joined(Uuid::now_v7(), &facts);
        assert_eq!(signals.dropped(), 2);
    }
}
