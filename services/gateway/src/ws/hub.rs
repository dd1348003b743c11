//! The gateway's room fan-out. One NATS subscription per room this gateway
//! has connections in (`hearth.room.<id>.>`); each event is decoded once,
//! encoded at most once per encoding, and the same bytes are queued to every
//! local connection in the room.
//!
//! A connection entering a room is registered *before* the rooms service is
//! asked for the snapshot, with its events held back; once the snapshot's
//! version is known the reply goes out first and then the held events newer
//! than it. So the reply precedes every event of the room and nothing is
//! lost or delivered twice.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use futures::StreamExt;
use hearth_platform::nats::Nats;
use hearth_proto::hearth::{
    events::v1::Envelope,
    gateway::v1::{ServerFrame, server_frame},
    rooms::v1::{RoomEvent, RoomRole, room_event},
};
use prost::Message as _;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::ws::{
    close,
    codec::{Encoding, Shared},
    outbound::Outbound,
};

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
}

/// One connection in one room.
struct Subscriber {
    user: String,
    out: Outbound,
    encoding: Encoding,
    moderator: bool,
    /// Events held while the snapshot is fetched.
    held: Option<Vec<Arc<Shared>>>,
    /// Versioned events up to this one are covered by the snapshot.
    after_version: u64,
    notices: mpsc::UnboundedSender<Notice>,
}

struct RoomEntry {
    subscribers: HashMap<Uuid, Subscriber>,
    pump: tokio::task::JoinHandle<()>,
}

/// Per-gateway registry of rooms and their local connections.
#[derive(Clone)]
pub struct Hub {
    nats: Nats,
    rooms: Arc<Mutex<HashMap<Uuid, RoomEntry>>>,
}

/// What a connection needs to join a room's fan-out.
pub struct Registration {
    pub room: Uuid,
    pub connection: Uuid,
    pub user: String,
    pub out: Outbound,
    pub encoding: Encoding,
    pub notices: mpsc::UnboundedSender<Notice>,
}

/// The room's events are not reachable (NATS down).
#[derive(Debug, thiserror::Error)]
#[error("room events are unavailable: {0}")]
pub struct Unavailable(String);

fn role_at_least_moderator(role: i32) -> bool {
    role >= RoomRole::Moderator as i32
}

impl Hub {
    pub fn new(nats: Nats) -> Self {
        Self { nats, rooms: Arc::new(Mutex::new(HashMap::new())) }
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
            moderator: false,
            held: Some(Vec::new()),
            after_version: 0,
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
                rooms.insert(reg.room, RoomEntry { subscribers, pump });
            }
        }
        Ok(())
    }

    /// Sends the enter reply, then the held events newer than `version`,
    /// and turns the connection live.
    pub fn activate(&self, room: Uuid, connection: Uuid, version: u64, role: i32, reply: &ServerFrame) -> bool {
        let mut rooms = self.lock();
        let Some(subscriber) = rooms.get_mut(&room).and_then(|e| e.subscribers.get_mut(&connection)) else {
            return false;
        };
        subscriber.moderator = role_at_least_moderator(role);
        subscriber.after_version = version;
        let held = subscriber.held.take().unwrap_or_default();
        let mut ok = subscriber.out.send(crate::ws::codec::encode(subscriber.encoding, reply)).is_ok();
        for event in held {
            if ok && deliverable(event.frame(), version) {
                ok = subscriber.out.send(event.message(subscriber.encoding)).is_ok();
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
        let Some(event) = Envelope::decode(payload)
            .ok()
            .filter(|e| e.r#type == "hearth.rooms.v1.RoomEvent")
            .and_then(|e| RoomEvent::decode(e.payload.as_ref()).ok())
        else {
            tracing::debug!(%room, subject_tail, "ignored an event the gateway does not deliver");
            return;
        };
        let moderators_only = subject_tail.starts_with("mod.");
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
                subscriber.moderator = role_at_least_moderator(*role);
            }
            if moderators_only && !subscriber.moderator {
                continue;
            }
            if let Some(held) = &mut subscriber.held {
                held.push(shared.clone());
                continue;
            }
            if !deliverable(shared.frame(), subscriber.after_version) {
                continue;
            }
            if subscriber.out.send(shared.message(subscriber.encoding)).is_err() {
                subscriber.out.close(close::SLOW_CONSUMER, "outbound queue overflow");
                gone.push(*connection);
                continue;
            }
            if removes_all || removed_user.as_deref() == Some(subscriber.user.as_str()) {
                gone.push(*connection);
            }
        }
        for connection in gone {
            if let Some(subscriber) = entry.subscribers.remove(&connection) {
                let _ = subscriber.notices.send(Notice::Removed(room));
            }
        }
        if entry.subscribers.is_empty()
            && let Some(entry) = rooms.remove(&room)
        {
            entry.pump.abort();
        }
    }
}

/// Whether a connection whose snapshot covers `after_version` gets it:
/// unversioned events always, versioned ones only when newer.
fn deliverable(frame: &ServerFrame, after_version: u64) -> bool {
    match &frame.kind {
        Some(server_frame::Kind::RoomEvent(event)) => event.version == 0 || event.version > after_version,
        _ => true,
    }
}

/// Reads a room's subscription until the hub drops the room.
async fn pump(hub: Hub, room: Uuid, mut subscription: async_nats::Subscriber) {
    let prefix = hub.nats.subject(&format!("room.{room}."));
    while let Some(message) = subscription.next().await {
        let span = tracing::info_span!("room.fanout", %room, subject = %message.subject);
        hearth_platform::propagation::set_remote_parent(
            &span,
            hearth_platform::propagation::extract_nats(message.headers.as_ref()),
        );
        let _entered = span.enter();
        let tail = message.subject.as_str().strip_prefix(prefix.as_str()).unwrap_or_default();
        hub.deliver(room, tail, &message.payload);
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
        assert!(!deliverable(&event(5), 5));
        assert!(!deliverable(&event(4), 5));
        assert!(deliverable(&event(6), 5));
        assert!(deliverable(&event(0), 5));
    }

    #[test]
    fn moderators_are_moderator_and_above() {
        assert!(!role_at_least_moderator(RoomRole::Member as i32));
        assert!(!role_at_least_moderator(RoomRole::Unspecified as i32));
        assert!(role_at_least_moderator(RoomRole::Moderator as i32));
        assert!(role_at_least_moderator(RoomRole::Owner as i32));
    }
}
