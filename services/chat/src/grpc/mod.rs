//! The chat service's gRPC handlers. `service` implements the generated
//! trait by forwarding to the handlers, which live by topic: `messages`
//! (send, history, threads, delete, resume), `reactions` (reactions, live
//! reactions, typing), `settings` (modes and shield), `restrictions`
//! (timeouts, chat bans), `terms` (blocked terms and held messages) and
//! `reports` (reports and the audit log), and `access` (restrictions for
//! other services).

mod access;
mod messages;
mod reactions;

pub use reactions::flush_live_reactions;
mod reports;
mod restrictions;
mod service;
mod settings;
mod terms;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use hearth_platform::{
    auth::{AuthError, TokenKeys},
    config::ChatConfig,
    grpc::TracedChannel,
    profiles::Profiles,
    validate::{self, Page},
};
use hearth_proto::{
    hearth::{
        chat::v1 as pb,
        rooms::v1::{
            GetAccessRequest, RoomKind, RoomRole, RoomState, RoomVisibility,
            room_access_service_client::RoomAccessServiceClient,
        },
    },
    identity::{ListBlockedIdsRequest, identity_service_client::IdentityServiceClient},
};
use tonic::{Request, metadata::MetadataValue};
use uuid::Uuid;

use crate::{
    domain::{
        gate::{Restriction, Sender},
        settings::{Limits, Settings},
        terms::{Action, Matcher, Term},
    },
    error::{ChatError, Result},
    events::Events,
    state::State,
    store::{NewAudit, Outgoing, RestrictionRow, Store},
};

/// How long a user's block list is reused before asking identity again.
const BLOCKS_TTL: Duration = Duration::from_secs(10);
/// How long a room's compiled terms are reused.
const TERMS_TTL: Duration = Duration::from_secs(2);
/// Cache entries kept at most; a cache starts over beyond.
const CACHE_MAX: usize = 50_000;

/// The handlers and what they need; cheap to clone.
#[derive(Clone)]
pub struct ChatApi {
    pub(crate) store: Store,
    pub(crate) state: State,
    pub(crate) events: Events,
    pub(crate) tokens: TokenKeys,
    pub(crate) config: ChatConfig,
    pub(crate) rooms: RoomAccessServiceClient<TracedChannel>,
    pub(crate) identity: IdentityServiceClient<TracedChannel>,
    pub(crate) profiles: Profiles,
    pub(crate) caches: Arc<Caches>,
    pub(crate) publisher: crate::publisher::Publisher,
    /// Engagement signals for the recommendations role (never awaited).
    pub(crate) signals: crate::signals::Signals,
}

/// Cached values with the time they were fetched.
type Timed<T> = Mutex<HashMap<Uuid, (Instant, Arc<T>)>>;

/// Per-replica caches of other services' answers.
#[derive(Default)]
pub struct Caches {
    blocks: Timed<HashSet<Uuid>>,
    terms: Timed<Matcher>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The authenticated caller, with the credentials to forward.
#[derive(Clone)]
pub struct Caller {
    pub id: Uuid,
    pub admin: bool,
    authorization: MetadataValue<tonic::metadata::Ascii>,
}

impl Caller {
    /// A request to another service on the caller's behalf.
    fn forward<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.metadata_mut().insert("authorization", self.authorization.clone());
        request
    }
}

/// One user's standing in a room, as the rooms service says.
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    pub role: RoomRole,
    pub member_since: Option<time::OffsetDateTime>,
    pub banned: bool,
}

impl Standing {
    fn from_pb(s: Option<&hearth_proto::hearth::rooms::v1::Standing>) -> Standing {
        Standing {
            role: s.and_then(|s| RoomRole::try_from(s.role).ok()).unwrap_or(RoomRole::Unspecified),
            member_since: s.and_then(|s| s.member_since.as_ref()).and_then(crate::convert::datetime),
            banned: s.is_some_and(|s| s.banned),
        }
    }

    fn moderator(&self) -> bool {
        self.role as i32 >= RoomRole::Moderator as i32
    }
}

/// The room and where the caller (and others asked about) stand.
#[derive(Debug, Clone)]
pub struct Room {
    pub id: Uuid,
    pub title: String,
    pub kind: RoomKind,
    pub visibility: RoomVisibility,
    pub state: RoomState,
    pub caller: Standing,
    pub others: Vec<Standing>,
    pub admin: bool,
    /// Unique users online.
    pub online: u64,
}

impl Room {
    /// Moderators of the room and operator admins.
    pub fn caller_moderates(&self) -> bool {
        self.admin || self.caller.moderator()
    }

    /// The caller's role as recorded on messages and audit entries.
    pub fn caller_role(&self) -> i16 {
        self.caller.role as i16
    }

    /// The room as engagement signals describe it.
    pub fn facts(&self) -> crate::signals::RoomFacts {
        crate::signals::RoomFacts { room: self.id, kind: self.kind, visibility: self.visibility }
    }
}

pub(crate) fn room_id(raw: &str) -> Result<Uuid> {
    Ok(validate::uuid("room_id", raw)?)
}

pub(crate) fn uuid(field: &str, raw: &str) -> Result<Uuid> {
    Ok(validate::uuid(field, raw)?)
}

/// A free-text reason of 0–500 characters.
pub(crate) fn reason(field: &str, raw: &str) -> Result<String> {
    validate::text(field, raw, 0, 500, validate::Lines::Multi)?;
    Ok(raw.trim().to_owned())
}

pub(crate) fn not_found_room() -> ChatError {
    ChatError::NotFound("room_not_found", "no such room".into())
}

impl ChatApi {
    pub(crate) fn caller<T>(&self, request: &Request<T>) -> Result<Caller> {
        let claims = self.tokens.authenticate(request.metadata())?;
        let id = Uuid::parse_str(&claims.sub)
            .map_err(|_| ChatError::Auth(AuthError::Invalid("subject is not a UUID".into())))?;
        let authorization = request.metadata().get("authorization").cloned().ok_or(AuthError::Missing)?;
        Ok(Caller { id, admin: claims.is_admin(), authorization })
    }

    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max_message_length: self.config.max_message_length,
            shield_slow_mode: self.config.shield_slow_mode,
            shield_followers_min_age: self.config.shield_followers_min_age,
        }
    }

    /// The room and standings from the rooms service.
    pub(crate) async fn room(&self, caller: &Caller, room: Uuid, others: &[Uuid]) -> Result<Room> {
        let request =
            GetAccessRequest { room_id: room.to_string(), user_ids: others.iter().map(Uuid::to_string).collect() };
        let access = self.rooms.clone().get_access(caller.forward(request)).await?.into_inner();
        Ok(Room {
            id: room,
            title: access.title,
            kind: RoomKind::try_from(access.kind).unwrap_or(RoomKind::Unspecified),
            visibility: RoomVisibility::try_from(access.visibility).unwrap_or(RoomVisibility::Private),
            state: RoomState::try_from(access.state).unwrap_or(RoomState::Active),
            caller: Standing::from_pb(access.caller.as_ref()),
            others: access.users.iter().map(|s| Standing::from_pb(Some(s))).collect(),
            admin: access.caller_is_admin,
            online: access.online_count,
        })
    }

    /// The room if the caller may read its chat: members, and guests of
    /// public and unlisted rooms; never users banned from the room.
    pub(crate) async fn readable(&self, caller: &Caller, room: Uuid, others: &[Uuid]) -> Result<Room> {
        let room = self.room(caller, room, others).await?;
        if room.admin {
            return Ok(room);
        }
        if room.caller.banned {
            return Err(ChatError::Denied("banned", "you are banned from this room".into(), None));
        }
        if room.visibility == RoomVisibility::Private && room.caller.member_since.is_none() {
            return Err(not_found_room());
        }
        Ok(room)
    }

    /// The room if the caller may write to it (readable and not archived).
    pub(crate) async fn writable(&self, caller: &Caller, room: Uuid, others: &[Uuid]) -> Result<Room> {
        let room = self.readable(caller, room, others).await?;
        if room.state == RoomState::Archived {
            return Err(ChatError::Precondition("room_archived", "the room is archived: read-only".into()));
        }
        Ok(room)
    }

    /// The room if the caller moderates it.
    pub(crate) async fn moderated(&self, caller: &Caller, room: Uuid, others: &[Uuid]) -> Result<Room> {
        let room = self.readable(caller, room, others).await?;
        if !room.caller_moderates() {
            return Err(ChatError::Denied("not_moderator", "only the room's moderators may do this".into(), None));
        }
        Ok(room)
    }

    /// The caller's standing as the send rules see it.
    pub(crate) async fn sender(&self, room: &Room, user: Uuid) -> Result<(Sender, Option<RestrictionRow>)> {
        let restrictions = self.store.active_restrictions(room.id, user).await?;
        Ok(Self::standing(room, restrictions))
    }

    /// The standing from restrictions already read.
    pub(crate) fn standing(room: &Room, restrictions: Vec<RestrictionRow>) -> (Sender, Option<RestrictionRow>) {
        // A ban outweighs a timeout.
        let row = restrictions.iter().find(|r| r.kind == "ban").or_else(|| restrictions.first()).cloned();
        let restriction = row.as_ref().map(|r| match r.kind.as_str() {
            "timeout" => Restriction::Timeout { until: r.expires_at.unwrap_or(time::OffsetDateTime::UNIX_EPOCH) },
            _ => Restriction::Ban { until: r.expires_at },
        });
        (Sender { moderator: room.caller_moderates(), member_since: room.caller.member_since, restriction }, row)
    }

    /// Everyone `caller` blocked (cached briefly; identity is the truth).
    /// When identity cannot answer, nothing is hidden rather than failing.
    pub(crate) async fn blocked_by(&self, caller: &Caller) -> Arc<HashSet<Uuid>> {
        if let Some((at, set)) = locked(&self.caches.blocks).get(&caller.id)
            && at.elapsed() < BLOCKS_TTL
        {
            return set.clone();
        }
        let fetched: HashSet<Uuid> =
            match self.identity.clone().list_blocked_ids(caller.forward(ListBlockedIdsRequest {})).await {
                Ok(response) => {
                    response.into_inner().user_ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect()
                }
                Err(status) => {
                    tracing::warn!(code = ?status.code(), "block list unavailable; showing everything");
                    return Arc::new(HashSet::new());
                }
            };
        let set = Arc::new(fetched);
        let mut cache = locked(&self.caches.blocks);
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(caller.id, (Instant::now(), set.clone()));
        set
    }

    /// The compiled terms of a room and the global ones (cached briefly).
    pub(crate) async fn matcher(&self, room: Uuid) -> Result<Arc<Matcher>> {
        if let Some((at, m)) = locked(&self.caches.terms).get(&room)
            && at.elapsed() < TERMS_TTL
        {
            return Ok(m.clone());
        }
        let terms: Vec<Term> = self
            .store
            .active_terms(room)
            .await?
            .into_iter()
            .map(|t| Term { text: t.term, action: if t.action == "hold" { Action::Hold } else { Action::Block } })
            .collect();
        let matcher = Arc::new(Matcher::new(&terms));
        let mut cache = locked(&self.caches.terms);
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(room, (Instant::now(), matcher.clone()));
        Ok(matcher)
    }

    /// Forgets a room's compiled terms on this replica (after a change).
    pub(crate) fn forget_terms(&self, room: Option<Uuid>) {
        let mut cache = locked(&self.caches.terms);
        match room {
            Some(room) => {
                cache.remove(&room);
            }
            None => cache.clear(),
        }
    }

    /// The room's settings.
    pub(crate) async fn settings_of(&self, room: Uuid) -> Result<Settings> {
        Ok(self.store.settings(room).await?.0)
    }

    /// After a commit: hands the event to this replica's publisher (window,
    /// JetStream, outbox cleanup), so the caller's reply does not wait for
    /// them; what is not done by a crash, the outbox relay does.
    pub(crate) fn deliver(&self, room: Uuid, seq: u64, out: Outgoing, outbox_id: i64) {
        self.publisher.publish(room, seq, out, outbox_id);
    }

    /// A new audit entry for an act by `caller` in `room`.
    pub(crate) fn audit(&self, caller: &Caller, room: &Room, action: pb::AuditAction) -> NewAudit {
        NewAudit {
            id: Uuid::now_v7(),
            room: room.id,
            actor: caller.id,
            actor_role: room.caller_role(),
            actor_is_admin: caller.admin && !room.caller.moderator(),
            action: action as i16,
            target_user: None,
            target_seq: 0,
            reason: String::new(),
            details: Default::default(),
            created_at: None,
        }
    }
}
