//! The gateway's room fan-out. One NATS subscription per room this gateway
//! has connections in (`hearth.room.<id>.>`); each event is decoded once,
//! encoded at most once per encoding, and the same bytes are queued to every
//! local connection in the room.
//!
//! A connection entering a room is registered *before* the rooms service is
//! asked for the snapshot, with its events held back; once the snapshot's
//! version and the chat position are known the reply goes out first and
//! then the held events newer than them. So the reply precedes every event
//! of the room and nothing is lost or delivered twice.
//!
//! Sequenced chat events are put in order per room before fan-out: chat
//! replicas may publish n + 1 before n, duplicates (an outbox relay racing
//! the publisher) are dropped, and a gap is waited for up to
//! [`GAP_WAIT`] before the events after it go out anyway (the client sees
//! the gap and resumes). Messages by someone a receiver blocked reach that
//! receiver as a HIDDEN placeholder, the only frame encoded per receiver;
//! their typing indicators and their shares into the room (`.recs`
//! RoomShareEvents) do not reach that receiver at all.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use futures::StreamExt;
use hearth_platform::nats::Nats;
use hearth_proto::hearth::{
    chat::v1::{ChatEvent, MessageHidden, chat_event},
    events::v1::Envelope,
    gateway::v1::{ServerFrame, server_frame},
    polls::v1::{InteractionEvent, interaction_event},
    recommendations::v1::RoomShareEvent,
    rooms::v1::{RoomEvent, RoomRole, room_event},
};
use prost::Message as _;
use uuid::Uuid;

use crate::ws::{
    close,
    codec::{Encoding, Shared},
    outbound::Outbound,
    pacing::{self, Pace, Pacer},
};

/// A connection's notice queue. futures' unbounded channel allocates per
/// message, where tokio's allocates a block of 32 slots per channel up
/// front: idle connections should cost as little as possible.
pub type Notices = futures::channel::mpsc::UnboundedSender<Notice>;

/// Something the hub tells a connection's reader loop.
#[derive(Debug)]
pub enum Notice {
    /// The connection was removed from a room (kicked, banned, deleted, or
    /// its lease is gone).
    Removed(Uuid),
    /// The rooms service no longer has this connection's lease (expired
    /// during a stall, or Redis lost it): enter again.
    LeaseGone(Uuid),
    /// An enter_room failed; forget the room.
    EnterFailed(Uuid),
    /// A personal event for the connection's user (an encoded Envelope).
    Personal(bytes::Bytes),
}

/// How long a gap in a room's chat sequence is waited for.
pub const GAP_WAIT: Duration = Duration::from_secs(1);

/// The users a connection blocked, shared with its room subscriptions and
/// replaced whole when the list changes.
pub type Blocks = Arc<RwLock<Arc<HashSet<Uuid>>>>;

/// One connection in one room.
struct Subscriber {
    user: String,
    out: Outbound,
    encoding: Encoding,
    /// Operator admin: gets moderator-only events in every room.
    admin: bool,
    moderator: bool,
    /// Events held while the snapshot is fetched.
    held: Option<Vec<Arc<Shared>>>,
    /// Versioned events up to this one are covered by the snapshot.
    after_version: u64,
    /// Chat events up to this sequence are covered by the enter reply.
    after_sequence: u64,
    blocks: Blocks,
    notices: Notices,
}

/// A room's sequenced chat events, put in order before fan-out.
#[derive(Default)]
struct ChatOrder {
    /// The next sequence to fan out; 0 until the room's first position is
    /// known.
    next: u64,
    /// Events after a gap, and since when the gap is waited for.
    pending: BTreeMap<u64, Arc<Shared>>,
    gap_since: Option<Instant>,
}

impl ChatOrder {
    /// Takes one event; returns the events now ready, in order. Until the
    /// first connection's position is known, events wait (at most the gap
    /// wait).
    fn push(&mut self, sequence: u64, event: Arc<Shared>) -> Vec<Arc<Shared>> {
        if self.next == 0 {
            self.pending.insert(sequence, event);
            self.gap_since.get_or_insert_with(Instant::now);
            return Vec::new();
        }
        if sequence < self.next {
            return Vec::new(); // a duplicate
        }
        self.pending.insert(sequence, event);
        self.drain()
    }

    fn drain(&mut self) -> Vec<Arc<Shared>> {
        let mut ready = Vec::new();
        while let Some(event) = self.pending.remove(&self.next) {
            ready.push(event);
            self.next += 1;
        }
        self.gap_since = if self.pending.is_empty() { None } else { self.gap_since.or(Some(Instant::now())) };
        ready
    }

    /// Gives up on a gap waited for longer than `wait`: the events after it
    /// go out (clients see the gap and resume).
    fn expire(&mut self, wait: Duration) -> Vec<Arc<Shared>> {
        match (self.gap_since, self.pending.keys().next()) {
            (Some(since), Some(first)) if since.elapsed() >= wait => {
                self.next = *first;
                self.gap_since = None;
                self.drain()
            }
            _ => Vec::new(),
        }
    }

    /// A connection's starting position: the room's order starts there if
    /// it had none yet; returns the waiting events now ready.
    fn start_at(&mut self, position: u64) -> Vec<Arc<Shared>> {
        if self.next != 0 {
            return Vec::new();
        }
        self.next = position + 1;
        self.pending.retain(|seq, _| *seq > position);
        self.drain()
    }
}

struct RoomEntry {
    subscribers: HashMap<Uuid, Subscriber>,
    chat: ChatOrder,
    /// Live counters waiting for their turn (see pacing.rs).
    live: Pacer,
    pump: tokio::task::JoinHandle<()>,
}

/// Per-gateway registry of rooms and their local connections.
#[derive(Clone)]
pub struct Hub {
    nats: Nats,
    rooms: Arc<Mutex<HashMap<Uuid, RoomEntry>>>,
    /// When each quiz question reached this gateway: answers are timed
    /// from here, so a client's network delay is not held against it.
    quiz_reveals: Arc<Mutex<HashMap<String, std::time::Instant>>>,
    /// Live-counter deliveries per second per room (`gateway.live_counter_budget`).
    live_budget: u32,
}

/// How long a question's arrival is remembered (longer than any window).
const QUIZ_REVEAL_MEMORY: Duration = Duration::from_secs(600);

/// What a connection needs to join a room's fan-out.
pub struct Registration {
    pub room: Uuid,
    pub connection: Uuid,
    pub user: String,
    pub out: Outbound,
    pub encoding: Encoding,
    /// The user is an operator admin (moderator-only events everywhere).
    pub admin: bool,
    pub blocks: Blocks,
    pub notices: Notices,
}

/// The room's events are not reachable (NATS down).
#[derive(Debug, thiserror::Error)]
#[error("room events are unavailable: {0}")]
pub struct Unavailable(String);

fn role_at_least_moderator(role: i32) -> bool {
    role >= RoomRole::Moderator as i32
}

impl Hub {
    pub fn new(nats: Nats, live_budget: u32) -> Self {
        Self { nats, rooms: Arc::new(Mutex::new(HashMap::new())), quiz_reveals: Default::default(), live_budget }
    }

    /// How long ago the question reached this gateway; None when it did not
    /// (the client's connection is not in the room here).
    pub fn quiz_question_age(&self, question_id: &str) -> Option<Duration> {
        let reveals = self.quiz_reveals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        reveals.get(question_id).map(std::time::Instant::elapsed)
    }

    fn quiz_question_arrived(&self, question_id: String) {
        let mut reveals = self.quiz_reveals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        reveals.retain(|_, at| at.elapsed() < QUIZ_REVEAL_MEMORY);
        reveals.entry(question_id).or_insert_with(std::time::Instant::now);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, RoomEntry>> {
        // A panic while holding the lock cannot leave the map inconsistent
        // (every change is a single insert or remove), so poisoning is ignored.
        self.rooms.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Rooms with local connections, and how many (for metrics and tests).
    pub fn stats(&self) -> (usize, usize) {
        let rooms = self.lock();
        (rooms.len(), rooms.values().map(|r| r.subscribers.len()).sum())
    }

    /// Adds a connection to a room with its events held back; subscribes to
    /// the room first if it is new on this gateway.
    pub async fn register(&self, reg: Registration) -> Result<(), Unavailable> {
        let subscriber = Subscriber {
            user: reg.user,
            out: reg.out,
            encoding: reg.encoding,
            admin: reg.admin,
            moderator: reg.admin,
            held: Some(Vec::new()),
            after_version: 0,
            after_sequence: 0,
            blocks: reg.blocks,
            notices: reg.notices,
        };
        {
            let mut rooms = self.lock();
            if let Some(entry) = rooms.get_mut(&reg.room) {
                entry.subscribers.insert(reg.connection, subscriber);
                return Ok(());
            }
        }
        let subject = self.nats.subject(&format!("room.{}.>", reg.room));
        let subscription = self.nats.client.subscribe(subject).await.map_err(|e| Unavailable(e.to_string()))?;
        // The SUB must be in effect before the snapshot is read.
        self.nats.client.flush().await.map_err(|e| Unavailable(e.to_string()))?;
        let mut rooms = self.lock();
        match rooms.get_mut(&reg.room) {
            // Another connection subscribed meanwhile: use its subscription.
            Some(entry) => {
                entry.subscribers.insert(reg.connection, subscriber);
            }
            None => {
                let pump = tokio::spawn(pump(self.clone(), reg.room, subscription));
                let mut subscribers = HashMap::new();
                subscribers.insert(reg.connection, subscriber);
                rooms.insert(
                    reg.room,
                    RoomEntry { subscribers, chat: ChatOrder::default(), live: Pacer::default(), pump },
                );
            }
        }
        Ok(())
    }

    /// Sends the enter reply, then the held events newer than `version`
    /// (room) and `sequence` (chat), and turns the connection live.
    pub fn activate(&self, room: Uuid, connection: Uuid, covered: Covered, reply: &ServerFrame) -> bool {
        let mut rooms = self.lock();
        let Some(entry) = rooms.get_mut(&room) else { return false };
        // Sequenced chat events are never moderator-only.
        if let Some(sequence) = covered.sequence {
            let ready = entry.chat.start_at(sequence);
            fan_out(entry, false, &ready);
        }
        let Some(subscriber) = entry.subscribers.get_mut(&connection) else {
            return false;
        };
        subscriber.moderator = subscriber.admin || role_at_least_moderator(covered.role);
        subscriber.after_version = covered.version;
        subscriber.after_sequence = covered.sequence.unwrap_or(0);
        let held = subscriber.held.take().unwrap_or_default();
        let mut ok = subscriber.out.send(crate::ws::codec::encode(subscriber.encoding, reply)).is_ok();
        for event in held {
            if ok {
                ok = send_to(subscriber, &event, blockable_author(event.frame()));
            }
        }
        if !ok {
            subscriber.out.close(close::SLOW_CONSUMER, "outbound queue overflow");
        }
        ok
    }

    /// Removes a connection from a room; unsubscribes when it was the last.
    pub fn remove(&self, room: Uuid, connection: Uuid) {
        let mut rooms = self.lock();
        if let Some(entry) = rooms.get_mut(&room) {
            entry.subscribers.remove(&connection);
            if entry.subscribers.is_empty()
                && let Some(entry) = rooms.remove(&room)
            {
                entry.pump.abort();
            }
        }
    }

    /// Delivers one NATS message to the room's local connections.
    fn deliver(&self, room: Uuid, subject_tail: &str, payload: &[u8]) {
        let Ok(envelope) = Envelope::decode(payload) else {
            tracing::debug!(%room, subject_tail, "ignored an undecodable event");
            return;
        };
        let moderators_only = subject_tail.starts_with("mod.");
        let started = Instant::now();
        let kind = match envelope.r#type.as_str() {
            "hearth.rooms.v1.RoomEvent" => match RoomEvent::decode(envelope.payload.as_ref()) {
                Ok(event) => {
                    self.deliver_room_event(room, moderators_only, event);
                    "room"
                }
                Err(_) => return tracing::debug!(%room, "ignored an undecodable room event"),
            },
            "hearth.chat.v1.ChatEvent" => match ChatEvent::decode(envelope.payload.as_ref()) {
                Ok(event) => {
                    self.deliver_chat_event(room, moderators_only, event);
                    "chat"
                }
                Err(_) => return tracing::debug!(%room, "ignored an undecodable chat event"),
            },
            "hearth.polls.v1.InteractionEvent" => match InteractionEvent::decode(envelope.payload.as_ref()) {
                Ok(event) => {
                    self.deliver_interaction_event(room, moderators_only, event);
                    "interaction"
                }
                Err(_) => return tracing::debug!(%room, "ignored an undecodable interaction event"),
            },
            "hearth.recommendations.v1.RoomShareEvent" => match RoomShareEvent::decode(envelope.payload.as_ref()) {
                Ok(event) => {
                    self.deliver_share_event(room, moderators_only, event);
                    "share"
                }
                Err(_) => return tracing::debug!(%room, "ignored an undecodable room share event"),
            },
            other => return tracing::debug!(%room, r#type = other, "ignored an event the gateway does not deliver"),
        };
        record_fanout(kind, started, envelope.occurred_at.as_ref());
    }

    fn deliver_chat_event(&self, room: Uuid, moderators_only: bool, event: ChatEvent) {
        let sequence = event.sequence;
        let shared = Arc::new(Shared::new(ServerFrame {
            r#ref: String::new(),
            kind: Some(server_frame::Kind::ChatEvent(event)),
        }));
        let mut rooms = self.lock();
        let Some(entry) = rooms.get_mut(&room) else { return };
        let ready = if sequence > 0 { entry.chat.push(sequence, shared) } else { vec![shared] };
        fan_out(entry, moderators_only, &ready);
        drop_if_empty(&mut rooms, room);
    }

    fn deliver_interaction_event(&self, room: Uuid, moderators_only: bool, event: InteractionEvent) {
        if let Some(interaction_event::Kind::QuizQuestionRevealed(revealed)) = &event.kind
            && let Some(question) = &revealed.question
        {
            self.quiz_question_arrived(question.question_id.clone());
        }
        let pace = match pacing::classify(&event) {
            Pace::Counter(id) => Some((id.to_owned(), true)),
            Pace::Supersedes(id) => Some((id.to_owned(), false)),
            Pace::Immediate => None,
        };
        let shared = Arc::new(Shared::new(ServerFrame {
            r#ref: String::new(),
            kind: Some(server_frame::Kind::InteractionEvent(event)),
        }));
        let mut rooms = self.lock();
        let Some(entry) = rooms.get_mut(&room) else { return };
        let ready = match pace {
            Some((id, true)) => {
                let gap = pacing::interval(entry.subscribers.len(), self.live_budget);
                entry.live.offer(&id, moderators_only, shared, Instant::now(), gap)
            }
            Some((id, false)) => {
                entry.live.supersede(&id, Instant::now());
                Some(shared)
            }
            None => Some(shared),
        };
        if let Some(event) = ready {
            fan_out(entry, moderators_only, &[event]);
        }
        drop_if_empty(&mut rooms, room);
    }

    /// A share into the room (`.recs`): encoded once, queued to every local
    /// connection in the room except those who blocked the sharer.
    fn deliver_share_event(&self, room: Uuid, moderators_only: bool, event: RoomShareEvent) {
        let shared = Arc::new(Shared::new(ServerFrame {
            r#ref: String::new(),
            kind: Some(server_frame::Kind::RoomShareEvent(event)),
        }));
        let mut rooms = self.lock();
        let Some(entry) = rooms.get_mut(&room) else { return };
        fan_out(entry, moderators_only, &[shared]);
        drop_if_empty(&mut rooms, room);
    }

    /// Delivers the live counters whose turn has come; returns when the
    /// next one is due.
    fn release_live(&self, room: Uuid) -> Option<Instant> {
        let mut rooms = self.lock();
        let entry = rooms.get_mut(&room)?;
        for (moderators_only, event) in entry.live.due(Instant::now()) {
            fan_out(entry, moderators_only, &[event]);
        }
        entry.live.next_due()
    }

    /// Releases chat events held behind a gap that did not fill in time.
    fn expire_gaps(&self, room: Uuid) {
        let mut rooms = self.lock();
        let Some(entry) = rooms.get_mut(&room) else { return };
        let ready = entry.chat.expire(GAP_WAIT);
        if !ready.is_empty() {
            tracing::warn!(%room, released = ready.len(), "chat gap not filled in time; clients will resume");
            fan_out(entry, false, &ready);
        }
    }

    fn deliver_room_event(&self, room: Uuid, moderators_only: bool, event: RoomEvent) {
        // Who leaves the room after this event, and whose role changed.
        let (removed_user, removes_all) = match &event.kind {
            Some(room_event::Kind::MemberKicked(k)) => (k.user.as_ref().map(|u| u.user_id.clone()), false),
            Some(room_event::Kind::MemberBanned(b)) => (b.user.as_ref().map(|u| u.user_id.clone()), false),
            Some(room_event::Kind::RoomDeleted(_)) => (None, true),
            _ => (None, false),
        };
        let role_change = match &event.kind {
            Some(room_event::Kind::MemberRoleChanged(c)) => {
                c.member.as_ref().and_then(|m| Some((m.user.as_ref()?.user_id.clone(), m.role)))
            }
            Some(room_event::Kind::OwnershipTransferred(t)) => {
                t.new_owner.as_ref().map(|u| (u.user_id.clone(), RoomRole::Owner as i32))
            }
            _ => None,
        };
        let shared = Arc::new(Shared::new(ServerFrame {
            r#ref: String::new(),
            kind: Some(server_frame::Kind::RoomEvent(event)),
        }));
        let mut rooms = self.lock();
        let Some(entry) = rooms.get_mut(&room) else { return };
        let mut gone = Vec::new();
        for (connection, subscriber) in entry.subscribers.iter_mut() {
            if let Some((user, role)) = &role_change
                && *user == subscriber.user
            {
                subscriber.moderator = subscriber.admin || role_at_least_moderator(*role);
            }
            if moderators_only && !subscriber.moderator {
                continue;
            }
            if !send_to(subscriber, &shared, None) {
                gone.push(*connection);
                continue;
            }
            if subscriber.held.is_none() && (removes_all || removed_user.as_deref() == Some(subscriber.user.as_str())) {
                gone.push(*connection);
            }
        }
        for connection in gone {
            if let Some(subscriber) = entry.subscribers.remove(&connection) {
                let _ = subscriber.notices.unbounded_send(Notice::Removed(room));
            }
        }
        drop_if_empty(&mut rooms, room);
    }
}

/// What an enter reply covers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Covered {
    /// The snapshot's room version.
    pub version: u64,
    /// The chat position; None when the chat service did not answer.
    pub sequence: Option<u64>,
    /// The connection's room role.
    pub role: i32,
}

/// Records how long queuing one event took here, and how long after its
/// occurrence it was queued (the fan-out lag; the producer's clock, so
/// clock skew between hosts shows in it).
fn record_fanout(kind: &'static str, started: Instant, occurred_at: Option<&hearth_proto::wkt::Timestamp>) {
    let labels = [opentelemetry::KeyValue::new("event", kind)];
    hearth_platform::metrics::fanout_duration().record(started.elapsed().as_secs_f64(), &labels);
    let lag = occurred_at.and_then(hearth_platform::wkt::datetime).map(|at| time::OffsetDateTime::now_utc() - at);
    if let Some(lag) = lag.filter(|lag| lag.is_positive()) {
        hearth_platform::metrics::fanout_lag().record(lag.as_seconds_f64(), &labels);
    }
}

/// Unsubscribes from a room nobody here is in any more.
fn drop_if_empty(rooms: &mut HashMap<Uuid, RoomEntry>, room: Uuid) {
    if rooms.get(&room).is_some_and(|e| e.subscribers.is_empty())
        && let Some(entry) = rooms.remove(&room)
    {
        entry.pump.abort();
    }
}

/// Sends chat events to every subscriber of the room that gets them;
/// slow consumers are closed and removed.
fn fan_out(entry: &mut RoomEntry, moderators_only: bool, events: &[Arc<Shared>]) {
    if events.is_empty() {
        return;
    }
    let authors: Vec<Option<Uuid>> = events.iter().map(|e| blockable_author(e.frame())).collect();
    let mut gone = Vec::new();
    for (connection, subscriber) in entry.subscribers.iter_mut() {
        if moderators_only && !subscriber.moderator {
            continue;
        }
        for (event, author) in events.iter().zip(&authors) {
            if !send_to(subscriber, event, *author) {
                gone.push(*connection);
                break;
            }
        }
    }
    for connection in gone {
        entry.subscribers.remove(&connection);
    }
}

/// Queues one event to one subscriber (held while it enters, filtered by
/// what its enter reply covered and by its blocks); false when the
/// subscriber's queue overflowed and it was closed.
fn send_to(subscriber: &mut Subscriber, event: &Arc<Shared>, author: Option<Uuid>) -> bool {
    if let Some(held) = &mut subscriber.held {
        held.push(event.clone());
        return true;
    }
    if !deliverable(event.frame(), subscriber.after_version, subscriber.after_sequence) {
        return true;
    }
    let blocked = author.is_some_and(|a| subscriber.blocks.read().is_ok_and(|set| set.contains(&a)));
    let message = if blocked {
        match hidden(event.frame()) {
            Some(frame) => crate::ws::codec::encode(subscriber.encoding, &frame),
            None => return true, // typing of a blocked user: not shown
        }
    } else {
        event.message(subscriber.encoding)
    };
    if subscriber.out.send(message).is_err() {
        subscriber.out.close(close::SLOW_CONSUMER, "outbound queue overflow");
        return false;
    }
    true
}

/// The user behind an event that a receiver's blocks may hide: the author
/// of a chat message or typing indicator, the sharer of a room share.
fn blockable_author(frame: &ServerFrame) -> Option<Uuid> {
    let user = match &frame.kind {
        Some(server_frame::Kind::ChatEvent(event)) => match &event.kind {
            Some(chat_event::Kind::MessagePosted(p)) => p.message.as_ref()?.author.as_ref()?,
            Some(chat_event::Kind::TypingUpdated(t)) => t.user.as_ref()?,
            _ => return None,
        },
        Some(server_frame::Kind::RoomShareEvent(event)) => event.share.as_ref()?.sharer.as_ref()?,
        _ => return None,
    };
    Uuid::parse_str(&user.user_id).ok()
}

/// The placeholder a receiver who blocked the author gets instead of a
/// message; None for events that are simply not shown (typing, shares).
fn hidden(frame: &ServerFrame) -> Option<ServerFrame> {
    let Some(server_frame::Kind::ChatEvent(event)) = &frame.kind else { return None };
    if !matches!(event.kind, Some(chat_event::Kind::MessagePosted(_))) {
        return None;
    }
    Some(ServerFrame {
        r#ref: String::new(),
        kind: Some(server_frame::Kind::ChatEvent(ChatEvent {
            room_id: event.room_id.clone(),
            sequence: event.sequence,
            time: event.time,
            kind: Some(chat_event::Kind::MessageHidden(MessageHidden {})),
        })),
    })
}

/// Whether a connection whose enter reply covers `after_version` and
/// `after_sequence` gets an event: unversioned and unsequenced events
/// always, the others only when newer.
fn deliverable(frame: &ServerFrame, after_version: u64, after_sequence: u64) -> bool {
    match &frame.kind {
        Some(server_frame::Kind::RoomEvent(event)) => event.version == 0 || event.version > after_version,
        Some(server_frame::Kind::ChatEvent(event)) => event.sequence == 0 || event.sequence > after_sequence,
        _ => true,
    }
}

/// Reads a room's subscription until the hub drops the room.
async fn pump(hub: Hub, room: Uuid, mut subscription: async_nats::Subscriber) {
    let prefix = hub.nats.subject(&format!("room.{room}."));
    let mut live_due: Option<Instant> = None;
    loop {
        let wait = live_due.map_or(GAP_WAIT / 4, |due| due.saturating_duration_since(Instant::now()).min(GAP_WAIT / 4));
        let message = match tokio::time::timeout(wait, subscription.next()).await {
            Ok(Some(message)) => message,
            Ok(None) => break,
            Err(_) => {
                hub.expire_gaps(room);
                live_due = hub.release_live(room);
                continue;
            }
        };
        let span = tracing::info_span!("room.fanout", %room, subject = %message.subject);
        hearth_platform::propagation::set_remote_parent(
            &span,
            hearth_platform::propagation::extract_nats(message.headers.as_ref()),
        );
        let _entered = span.enter();
        let tail = message.subject.as_str().strip_prefix(prefix.as_str()).unwrap_or_default();
        hub.deliver(room, tail, &message.payload);
        hub.expire_gaps(room);
        live_due = hub.release_live(room);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(version: u64) -> ServerFrame {
        ServerFrame {
            r#ref: String::new(),
            kind: Some(server_frame::Kind::RoomEvent(RoomEvent { version, ..Default::default() })),
        }
    }

    #[test]
    fn snapshots_cover_older_versions_but_never_unversioned_events() {
        assert!(!deliverable(&event(5), 5, 0));
        assert!(!deliverable(&event(4), 5, 0));
        assert!(deliverable(&event(6), 5, 0));
        assert!(deliverable(&event(0), 5, 0));
    }

    fn chat(sequence: u64) -> Arc<Shared> {
        Arc::new(Shared::new(ServerFrame {
            r#ref: String::new(),
            kind: Some(server_frame::Kind::ChatEvent(ChatEvent { sequence, ..Default::default() })),
        }))
    }

    fn sequences(events: &[Arc<Shared>]) -> Vec<u64> {
        events
            .iter()
            .map(|e| match &e.frame().kind {
                Some(server_frame::Kind::ChatEvent(c)) => c.sequence,
                _ => 0,
            })
            .collect()
    }

    #[test]
    fn chat_events_are_reordered_and_deduplicated() {
        let mut order = ChatOrder::default();
        assert!(order.push(12, chat(12)).is_empty(), "nothing goes out before a position is known");
        assert!(order.push(11, chat(11)).is_empty());
        assert_eq!(sequences(&order.start_at(10)), vec![11, 12]);
        assert!(order.start_at(5).is_empty(), "the first position sets the order");
        let mut order = ChatOrder::default();
        order.start_at(10);
        assert_eq!(sequences(&order.push(12, chat(12))), Vec::<u64>::new(), "12 waits for 11");
        assert_eq!(sequences(&order.push(11, chat(11))), vec![11, 12]);
        assert!(order.push(11, chat(11)).is_empty(), "a duplicate is dropped");
        assert!(order.push(5, chat(5)).is_empty(), "old events are dropped");
        assert_eq!(sequences(&order.push(13, chat(13))), vec![13]);
    }

    #[test]
    fn a_gap_is_given_up_after_the_wait() {
        let mut order = ChatOrder::default();
        assert!(order.push(7, chat(7)).is_empty());
        assert_eq!(sequences(&order.expire(Duration::ZERO)), vec![7], "no position came: released after the wait");
        let mut order = ChatOrder::default();
        order.start_at(0);
        assert_eq!(sequences(&order.push(1, chat(1))), vec![1]);
        assert!(order.push(3, chat(3)).is_empty());
        assert!(order.expire(Duration::from_secs(60)).is_empty(), "still waiting");
        assert_eq!(sequences(&order.expire(Duration::ZERO)), vec![3]);
        assert!(order.push(2, chat(2)).is_empty(), "the late event is now old");
        assert_eq!(sequences(&order.push(4, chat(4))), vec![4]);
    }

    #[test]
    fn chat_positions_cover_older_sequences() {
        let frame = |sequence| ServerFrame {
            r#ref: String::new(),
            kind: Some(server_frame::Kind::ChatEvent(ChatEvent { sequence, ..Default::default() })),
        };
        assert!(!deliverable(&frame(7), 0, 7));
        assert!(deliverable(&frame(8), 0, 7));
        assert!(deliverable(&frame(0), 0, 7), "live events are never covered");
    }

    #[test]
    fn shares_are_always_delivered_but_hidden_from_those_who_blocked_the_sharer() {
        use hearth_proto::hearth::{common::v1::UserRef, recommendations::v1::Share};
        let sharer = Uuid::now_v7();
        let frame = ServerFrame {
            r#ref: String::new(),
            kind: Some(server_frame::Kind::RoomShareEvent(RoomShareEvent {
                room_id: Uuid::now_v7().to_string(),
                share: Some(Share {
                    sharer: Some(UserRef { user_id: sharer.to_string(), ..Default::default() }),
                    ..Default::default()
                }),
            })),
        };
        assert!(deliverable(&frame, 5, 7), "shares are neither versioned nor sequenced");
        assert_eq!(blockable_author(&frame), Some(sharer));
        assert!(hidden(&frame).is_none(), "no placeholder: the share is not shown");
    }

    #[test]
    fn moderators_are_moderator_and_above() {
        assert!(!role_at_least_moderator(RoomRole::Member as i32));
        assert!(!role_at_least_moderator(RoomRole::Unspecified as i32));
        assert!(role_at_least_moderator(RoomRole::Moderator as i32));
        assert!(role_at_least_moderator(RoomRole::Owner as i32));
    }
}
