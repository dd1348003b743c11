//! The rooms service's gRPC handlers. `service` implements the generated
//! traits by forwarding to the handlers, which live by topic: `rooms`
//! (create, read, update, lists), `members` (join, leave, moderation),
//! `invites`, `playback` (group commands, readiness, waits) and `presence`
//! (the gateway-internal RoomPresenceService), `access` (the
//! service-internal RoomAccessService).

mod access;
pub mod convert;
mod invites;
mod members;
mod playback;
mod presence;
mod rooms;
mod service;

use hearth_platform::{
    auth::TokenKeys,
    config::RoomsConfig,
    validate::{self, FieldError, Page},
};
use hearth_proto::hearth::{
    chat::v1::{AuditAction, AuditEntry},
    rooms::v1 as pb,
};
use tonic::Request;
use uuid::Uuid;

use crate::{
    domain::{
        playback::{Cause, Group, Timing, Zap},
        roles::{Actor, Visibility},
    },
    error::{Result, RoomsError},
    events::Events,
    state::{State, now_ms, playback::Stored},
    store::{Access, RoomRow, Store},
};

/// Rooms with more users online than this get counts only: no per-user
/// presence, join or readiness events (they would flood every client).
pub const PER_USER_EVENTS_MAX_ONLINE: u64 = 200;

/// Online members a snapshot lists: all up to this many…
const SNAPSHOT_MEMBERS: usize = 100;
/// …and only this many in rooms past PER_USER_EVENTS_MAX_ONLINE, where the
/// list cannot be kept current and every joiner would carry it.
const SNAPSHOT_MEMBERS_CROWD: usize = 20;

/// The handlers and what they need; cheap to clone.
#[derive(Clone)]
pub struct RoomsApi {
    pub(crate) store: Store,
    pub(crate) state: State,
    pub(crate) events: Events,
    /// Engagement signals for the recommendations role (never awaited).
    pub(crate) signals: crate::signals::Signals,
    pub(crate) tokens: TokenKeys,
    pub(crate) config: RoomsConfig,
    pub(crate) profiles: hearth_platform::profiles::Profiles,
    /// Blocks between users (identity), for direct invites.
    pub(crate) blocks: crate::blocks::Blocks,
    /// The provider role's catalog: entitlement and now/next.
    pub(crate) catalog: crate::catalog::Catalog,
}

/// The authenticated caller.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub id: Uuid,
    pub admin: bool,
}

fn room_id(raw: &str) -> Result<Uuid> {
    Ok(validate::uuid("room_id", raw)?)
}

fn user_id(field: &str, raw: &str) -> Result<Uuid> {
    Ok(validate::uuid(field, raw)?)
}

fn invalid(field: &str, reason: &str) -> RoomsError {
    RoomsError::InvalidField(FieldError::new(field, reason))
}

/// The refusal of a user the catalog refused.
fn not_entitled(decision: &crate::domain::catalog::Decision, resolve: bool) -> RoomsError {
    if resolve && decision.denial == Some(crate::domain::catalog::Denial::UnknownItem) {
        return RoomsError::NotFound("media_not_found", "the media is not in the TV catalog");
    }
    RoomsError::Denied("not_entitled", decision.refusal_message())
}

impl RoomsApi {
    fn caller<T>(&self, request: &Request<T>) -> Result<Caller> {
        let claims = self.tokens.authenticate(request.metadata())?;
        let id = Uuid::parse_str(&claims.sub)
            .map_err(|_| RoomsError::Auth(hearth_platform::auth::AuthError::Invalid("subject is not a UUID".into())))?;
        Ok(Caller { id, admin: claims.is_admin() })
    }

    /// The room as `caller` may see it: NOT_FOUND for unknown rooms and for
    /// private rooms of non-members (their existence must not leak),
    /// PERMISSION_DENIED `banned` for banned users.
    async fn viewable(&self, room: Uuid, caller: Caller) -> Result<Access> {
        let access =
            self.store.access(room, caller.id).await?.ok_or(RoomsError::NotFound("room_not_found", "no such room"))?;
        if access.ban.is_some() && !caller.admin {
            return Err(RoomsError::Denied("banned", "you are banned from this room".into()));
        }
        if access.room.visibility() == Visibility::Private && access.member.is_none() && !caller.admin {
            return Err(RoomsError::NotFound("room_not_found", "no such room"));
        }
        Ok(access)
    }

    /// Records a moderation act by `caller` (see Events::audit).
    async fn audit(
        &self,
        access: &Access,
        caller: Caller,
        action: AuditAction,
        target: Option<Uuid>,
        reason: &str,
        details: &[(&str, String)],
    ) {
        let role = access.member.as_ref().map(|m| m.role());
        let entry = AuditEntry {
            entry_id: Uuid::now_v7().to_string(),
            room_id: access.room.id.to_string(),
            actor: Some(convert::user_ref(caller.id)),
            actor_role: convert::role(role) as i32,
            actor_is_operator_admin: caller.admin && role.is_none_or(|r| r < crate::domain::roles::Role::Moderator),
            action: action as i32,
            target_user: target.map(convert::user_ref),
            target_sequence: 0,
            reason: reason.to_owned(),
            details: details.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
            create_time: Some(convert::timestamp(time::OffsetDateTime::now_utc())),
        };
        self.events.audit(entry).await;
    }

    fn actor(access: &Access, caller: Caller) -> Actor {
        Actor { role: access.member.as_ref().map(|m| m.role()), admin: caller.admin }
    }

    fn defaults(&self) -> convert::SettingDefaults {
        convert::SettingDefaults {
            ready_timeout_ms: self.config.ready_timeout.as_millis() as u64,
            live_target_latency_ms: self.config.live_target_latency.as_millis() as u64,
        }
    }

    fn timing(&self, room: &RoomRow) -> Timing {
        let defaults = self.defaults();
        Timing {
            min_start_delay_ms: self.config.min_start_delay.as_millis() as i64,
            ready_timeout_ms: room.settings.ready_timeout_ms.unwrap_or(defaults.ready_timeout_ms) as i64,
            live_target_latency_ms: room.settings.live_target_latency_ms.unwrap_or(defaults.live_target_latency_ms)
                as i64,
        }
    }

    pub(crate) async fn room_pb(&self, row: &RoomRow) -> Result<pb::Room> {
        let (online, _) = self.state.counts(row.id).await?;
        Ok(convert::room(row, online, self.defaults()))
    }

    /// Creates the group state of a room that has none: at creation, or
    /// after Redis lost it (cause RESET, announced so clients re-sync).
    pub(crate) async fn init_playback(&self, room: &RoomRow, cause: Cause) -> Result<Stored> {
        loop {
            let stored = self.state.load_playback(room.id).await?;
            if stored.present {
                return Ok(stored);
            }
            let mut group = match room.media() {
                Some(media) => Group::default().change_media(
                    "",
                    Zap { media, position: 0, autoplay: false, cause, skipped: Vec::new() },
                    &self.timing(room),
                    now_ms(),
                ),
                None => Group::default(),
            };
            // A fresh room starts paused at 0, not waiting for anyone.
            if group.status == crate::domain::playback::Status::Waiting {
                group.status = crate::domain::playback::Status::Paused;
                group.wait_deadline_ms = 0;
            }
            group.cause = cause;
            if let Ok(version) = self.state.store_playback(room.id, &stored, Some(&group), Some(&[])).await? {
                if cause == Cause::Reset {
                    group.version = version;
                    self.events
                        .room(
                            room.id,
                            crate::events::Channel::Playback,
                            version,
                            pb::room_event::Kind::PlaybackStateChanged(pb::PlaybackStateChanged {
                                playback: Some(convert::playback(&group)),
                            }),
                        )
                        .await;
                }
                return Ok(self.state.load_playback(room.id).await?);
            }
        }
    }

    /// Everything a client needs to render the room, consistent with the
    /// events that follow: the version is read first, so any change after
    /// it arrives as an event with a higher version.
    pub(crate) async fn snapshot(&self, access: &Access, caller: Caller) -> Result<pb::RoomSnapshot> {
        let room = access.room.id;
        let version = self.state.current_version(room).await?;
        let stored = self.init_playback(&access.room, Cause::Reset).await?;
        let (online_users, connections) = self.state.counts(room).await?;
        let limit = if online_users > PER_USER_EVENTS_MAX_ONLINE { SNAPSHOT_MEMBERS_CROWD } else { SNAPSHOT_MEMBERS };
        let (online, truncated) = self.state.online(room, limit).await?;
        let ids: Vec<Uuid> = online.iter().map(|(u, _)| *u).collect();
        let memberships = self.store.members_among(room, &ids).await?;
        let mut playbacks = self.state.playback_of(room, &ids).await?;
        let mut users = self.profiles.refs(&ids).await;
        let mut members: Vec<(Option<crate::store::MemberRow>, pb::Member)> = online
            .iter()
            .map(|(user, connections)| {
                let membership = memberships.iter().find(|m| m.user_id == *user).cloned();
                let member = pb::Member {
                    user: users.remove(user),
                    role: convert::role(membership.as_ref().map(|m| m.role())) as i32,
                    join_time: membership.as_ref().map(|m| convert::timestamp(m.joined_at)),
                    online: true,
                    connection_count: *connections,
                    playback: playbacks.get(user).map(convert::member_playback),
                };
                (membership, member)
            })
            .collect();
        members.sort_by(|(a, _), (b, _)| {
            let key = |m: &Option<crate::store::MemberRow>| {
                (std::cmp::Reverse(m.as_ref().map(|m| m.role())), m.as_ref().map(|m| m.joined_at))
            };
            key(a).cmp(&key(b))
        });
        let online_members = members.iter().filter(|(m, _)| m.is_some()).count() as u64;
        let mine = match playbacks.remove(&caller.id) {
            Some(mine) => mine,
            None => self.state.member_playback(room, &[caller.id]).await?.pop().unwrap_or_default(),
        };
        let mut group = stored.group.clone();
        if group.version == 0 {
            group.version = version;
        }
        Ok(pb::RoomSnapshot {
            room: Some(convert::room(&access.room, online_users, self.defaults())),
            my_role: convert::role(access.member.as_ref().map(|m| m.role())) as i32,
            my_playback: Some(convert::member_playback(&mine)),
            presence: Some(pb::PresenceCounts { online_users, connections, online_members }),
            online_members: members.into_iter().map(|(_, m)| m).collect(),
            online_members_truncated: truncated,
            playback: Some(convert::playback(&group)),
            queue: stored.queue.iter().map(convert::queue_item).collect(),
            version,
            server_time: Some(convert::timestamp_ms(now_ms())),
            now_next: self.room_now_next(&access.room).await?,
        })
    }

    /// The guide around now of a CHANNEL or PROGRAMME room (its programme's
    /// channel); `None` for other rooms, without a catalog, or when the
    /// catalog cannot answer (a snapshot never fails for it).
    async fn room_now_next(&self, room: &RoomRow) -> Result<Option<pb::NowNext>> {
        let channel = match (room.guide_channel(), room.kind(), room.media()) {
            (Some(channel), _, _) => channel,
            // A programme room not made by catalog sync: its programme says.
            (None, crate::domain::roles::Kind::Programme, Some(crate::domain::fields::Media::Programme(id))) => {
                match self.catalog.programme(&id).await {
                    Some(programme) => programme.channel_id,
                    None => return Ok(None),
                }
            }
            _ => return Ok(None),
        };
        match self.catalog.now_next(&channel).await {
            Some(value) => Ok(Some(self.now_next_info(&value).await?)),
            None => Ok(None),
        }
    }

    /// Now/next as rooms show it, with the programme rooms that exist.
    pub(crate) async fn now_next_info(
        &self,
        value: &hearth_proto::hearth::provider::v1::ChannelNowNext,
    ) -> Result<pb::NowNext> {
        let ids: Vec<String> =
            [&value.now, &value.next].into_iter().flatten().map(|p| p.programme_id.clone()).collect();
        let rooms = self.store.programme_rooms(&ids).await?;
        Ok(convert::now_next(value.now.as_ref(), value.next.as_ref(), &rooms))
    }

    /// Refuses `caller` unless the catalog says they may watch `media`
    /// (PERMISSION_DENIED `not_entitled`, with the provider's message).
    /// Stream URLs and rooms without media need nothing. Operator admins
    /// are exempt: they moderate channel and programme rooms whatever
    /// their own TV subscription. `resolve`: an item the catalog does not
    /// know is NOT_FOUND `media_not_found` (creating a room, changing
    /// media) rather than a refusal.
    pub(crate) async fn ensure_entitled(
        &self,
        caller: Caller,
        media: Option<&crate::domain::fields::Media>,
        resolve: bool,
    ) -> Result<()> {
        let Some(media) = media else { return Ok(()) };
        if caller.admin {
            return Ok(());
        }
        let decisions = self.catalog.entitlements(&[caller.id], media).await?;
        match crate::domain::catalog::skipped_members(caller.id, &decisions) {
            Ok(_) => Ok(()),
            Err(refused) => Err(not_entitled(&refused.0, resolve)),
        }
    }

    /// What joining the room means watching: the group's media when the
    /// group has one (a watch party may have zapped since it was created),
    /// else the room's own.
    pub(crate) async fn current_media(&self, room: &RoomRow) -> Result<Option<crate::domain::fields::Media>> {
        if matches!(room.kind(), crate::domain::roles::Kind::Channel | crate::domain::roles::Kind::Programme) {
            return Ok(room.media());
        }
        Ok(self.state.load_playback(room.id).await?.group.media.or_else(|| room.media()))
    }

    /// A guest (not a member) of a CHANNEL room must be entitled to the
    /// channel to watch along (GetRoomSnapshot, entering as a guest).
    pub(crate) async fn ensure_guest_entitled(&self, access: &Access, caller: Caller) -> Result<()> {
        if access.member.is_some() || access.room.kind() != crate::domain::roles::Kind::Channel {
            return Ok(());
        }
        self.ensure_entitled(caller, access.room.media().as_ref(), false).await
    }

    /// Publishes presence totals now, or lets the sweeper publish them
    /// within a second (at most one counts event per second per room).
    pub(crate) async fn announce_counts(&self, room: Uuid) -> Result<()> {
        if self.state.counts_gate(room).await? {
            self.publish_counts(room).await?;
        }
        Ok(())
    }

    pub(crate) async fn publish_counts(&self, room: Uuid) -> Result<()> {
        let (online_users, connections) = self.state.counts(room).await?;
        self.state.set_popularity(room, online_users).await?;
        self.events
            .room(
                room,
                crate::events::Channel::Presence,
                0,
                pb::room_event::Kind::PresenceCountsChanged(pb::PresenceCountsChanged {
                    counts: Some(pb::PresenceCounts { online_users, connections, online_members: 0 }),
                }),
            )
            .await;
        Ok(())
    }

    /// A user came online or went offline: per-user event in small rooms,
    /// counts in every room.
    pub(crate) async fn announce_presence(&self, room: Uuid, user: Uuid, online: bool, connections: u32) -> Result<()> {
        let (online_users, _) = self.state.counts(room).await?;
        if online_users <= PER_USER_EVENTS_MAX_ONLINE {
            let member = self.store.member(room, user).await?;
            let event = pb::PresenceChanged {
                member: Some(pb::Member {
                    user: Some(self.profiles.one(user).await),
                    role: convert::role(member.as_ref().map(|m| m.role())) as i32,
                    join_time: member.as_ref().map(|m| convert::timestamp(m.joined_at)),
                    online,
                    connection_count: connections,
                    playback: None,
                }),
            };
            self.events
                .room(room, crate::events::Channel::Presence, 0, pb::room_event::Kind::PresenceChanged(event))
                .await;
        }
        self.announce_counts(room).await
    }
}
