//! Membership and moderation: JoinRoom, LeaveRoom, ListMembers, KickMember,
//! BanMember, UnbanMember, ListBans, SetMemberRole, TransferOwnership.

use std::time::Duration;

use hearth_proto::hearth::{chat::v1::AuditAction, events::v1 as events_pb, rooms::v1 as pb};
use uuid::Uuid;

use super::{Caller, PER_USER_EVENTS_MAX_ONLINE, Page, RoomsApi, convert, invalid, room_id, user_id};
use crate::{
    domain::{
        fields, invite,
        roles::{Role, Visibility},
    },
    error::{Result, RoomsError},
    events::Channel,
    store::{Access, Joined, Left},
};

const BAN_MIN: Duration = Duration::from_secs(60);
const BAN_MAX: Duration = Duration::from_secs(365 * 24 * 3600);

impl RoomsApi {
    /// Makes the caller a member (idempotent); `true` when newly joined.
    /// Every refusal happens before anything is written.
    pub(crate) async fn join_flow(
        &self,
        room: Uuid,
        caller: Caller,
        invite_code: Option<&str>,
    ) -> Result<(Access, bool)> {
        if let Some(code) = invite_code
            && !invite::is_code(code)
        {
            return Err(invalid("invite_code", "must be 22 characters of base64url"));
        }
        let access =
            self.store.access(room, caller.id).await?.ok_or(RoomsError::NotFound("room_not_found", "no such room"))?;
        if access.ban.is_some() {
            return Err(RoomsError::Denied("banned", "you are banned from this room".into()));
        }
        if access.member.is_some() {
            return Ok((access, false));
        }
        if access.room.archived() {
            return Err(RoomsError::Precondition("room_archived", "the room is archived".into()));
        }
        if access.room.visibility() == Visibility::Private && invite_code.is_none() && !caller.admin {
            return Err(RoomsError::NotFound("room_not_found", "no such room"));
        }
        if access.room.scheduled() {
            return Err(RoomsError::Precondition(
                "room_not_open",
                "the room is not open yet: it opens shortly before its programme starts".into(),
            ));
        }
        // Every member must be entitled to the room's media, whatever the kind.
        let media = self.current_media(&access.room).await?;
        self.ensure_entitled(caller, media.as_ref(), false).await?;
        let joined = self.store.join(room, caller.id, invite_code).await?;
        let access =
            self.store.access(room, caller.id).await?.ok_or(RoomsError::NotFound("room_not_found", "no such room"))?;
        let Joined::New { via_invite } = joined else { return Ok((access, false)) };
        self.signals.joined(caller.id, &crate::signals::RoomFacts::of(&access.room, media.as_ref()));
        let (online, _) = self.state.counts(room).await?;
        if online <= PER_USER_EVENTS_MAX_ONLINE
            && let Some(member) = &access.member
        {
            let event = pb::MemberJoined {
                member: Some(pb::Member {
                    user: Some(self.profiles.one(caller.id).await),
                    role: convert::role(Some(member.role())) as i32,
                    join_time: Some(convert::timestamp(member.joined_at)),
                    ..Default::default()
                }),
                via_invite,
            };
            self.events.room(room, Channel::Room, 0, pb::room_event::Kind::MemberJoined(event)).await;
        }
        Ok((access, true))
    }

    pub(crate) async fn join_room(&self, caller: Caller, req: pb::JoinRoomRequest) -> Result<pb::JoinRoomResponse> {
        let room = room_id(&req.room_id)?;
        let code = (!req.invite_code.is_empty()).then_some(req.invite_code.as_str());
        let (access, joined) = self.join_flow(room, caller, code).await?;
        Ok(pb::JoinRoomResponse { snapshot: Some(self.snapshot(&access, caller).await?), joined })
    }

    pub(crate) async fn leave_room(&self, caller: Caller, req: pb::LeaveRoomRequest) -> Result<pb::LeaveRoomResponse> {
        let room = room_id(&req.room_id)?;
        let access = self.viewable(room, caller).await?;
        match self.store.leave(room, caller.id).await? {
            Left::RoomDeleted => {
                self.remove_room(&access.room, caller.id.to_string()).await?;
            }
            Left::Left => {
                self.events
                    .room(
                        room,
                        Channel::Room,
                        0,
                        pb::room_event::Kind::MemberLeft(pb::MemberLeft { user_id: caller.id.to_string() }),
                    )
                    .await;
            }
        }
        Ok(pb::LeaveRoomResponse {})
    }

    pub(crate) async fn list_members(
        &self,
        caller: Caller,
        req: pb::ListMembersRequest,
    ) -> Result<pb::ListMembersResponse> {
        let room = room_id(&req.room_id)?;
        let access = self.viewable(room, caller).await?;
        if access.member.is_none() && !caller.admin && !req.online_only {
            return Err(RoomsError::Denied("not_member", "guests may list online users only".into()));
        }
        let role = match req.role {
            0 => None,
            raw => Some(convert::role_from(raw).ok_or_else(|| invalid("role", "unknown value"))?),
        };
        let page = Page::parse(
            req.page.as_ref(),
            &["members", &req.room_id, &req.online_only.to_string(), &req.role.to_string()],
        )?;
        let members = if req.online_only {
            let (online, _) = self.state.online(room, 10_000).await?;
            let ids: Vec<Uuid> = online.iter().map(|(u, _)| *u).collect();
            let rows = self.store.members_among(room, &ids).await?;
            let mut all: Vec<pb::Member> = online
                .iter()
                .filter_map(|(user, connections)| {
                    let row = rows.iter().find(|r| r.user_id == *user);
                    if role.is_some() && row.map(|r| r.role()) != role {
                        return None;
                    }
                    Some(pb::Member {
                        user: Some(convert::user_ref(*user)),
                        role: convert::role(row.map(|r| r.role())) as i32,
                        join_time: row.map(|r| convert::timestamp(r.joined_at)),
                        online: true,
                        connection_count: *connections,
                        playback: None,
                    })
                })
                .collect();
            all.sort_by_key(|m| {
                (
                    std::cmp::Reverse(m.role),
                    m.join_time.map(|t| (t.seconds, t.nanos)),
                    m.user.as_ref().map(|u| u.user_id.clone()),
                )
            });
            all.into_iter().skip(page.offset as usize).take(page.size as usize).collect::<Vec<_>>()
        } else {
            let rows = self.store.members(room, role, page.offset, page.size).await?;
            let ids: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
            let counts = self.state.connection_counts(room, &ids).await?;
            rows.iter()
                .zip(counts)
                .map(|(row, connections)| pb::Member {
                    user: Some(convert::user_ref(row.user_id)),
                    role: convert::role(Some(row.role())) as i32,
                    join_time: Some(convert::timestamp(row.joined_at)),
                    online: connections > 0,
                    connection_count: connections,
                    playback: None,
                })
                .collect()
        };
        let mut members: Vec<pb::Member> = members;
        let ids: Vec<Uuid> =
            members.iter().filter_map(|m| m.user.as_ref().and_then(|u| Uuid::parse_str(&u.user_id).ok())).collect();
        let mut users = self.profiles.refs(&ids).await;
        for member in &mut members {
            if let Some(id) = member.user.as_ref().and_then(|u| Uuid::parse_str(&u.user_id).ok()) {
                member.user = users.remove(&id).or(member.user.take());
            }
        }
        Ok(pb::ListMembersResponse { page: page.response(members.len()), members })
    }

    /// Who the moderation target is: not the caller, and their role.
    async fn target(&self, room: Uuid, caller: Caller, raw: &str) -> Result<(Uuid, Option<Role>)> {
        let target = user_id("user_id", raw)?;
        if target == caller.id {
            return Err(invalid("user_id", "must not be yourself"));
        }
        Ok((target, self.store.member(room, target).await?.map(|m| m.role())))
    }

    async fn notify_removal(
        &self,
        access: &Access,
        user: Uuid,
        kind: events_pb::RemovalKind,
        reason: String,
        expire_time: Option<hearth_proto::wkt::Timestamp>,
    ) {
        self.events
            .user(
                user,
                "room",
                events_pb::user_event::Kind::RemovedFromRoom(events_pb::RemovedFromRoom {
                    room_id: access.room.id.to_string(),
                    room_title: access.room.title.clone(),
                    kind: kind as i32,
                    reason,
                    expire_time,
                }),
            )
            .await;
    }

    pub(crate) async fn kick(&self, caller: Caller, req: pb::KickMemberRequest) -> Result<pb::KickMemberResponse> {
        let room = room_id(&req.room_id)?;
        let reason = fields::reason(&req.reason)?;
        let access = self.viewable(room, caller).await?;
        let (target, role) = self.target(room, caller, &req.user_id).await?;
        Self::actor(&access, caller).may_moderate(role)?;
        let removed = self.store.kick(room, target).await?;
        self.audit(&access, caller, AuditAction::MemberKicked, Some(target), &reason, &[]).await;
        let was_online = self.state.exit_user(room, target).await?;
        if !removed && !was_online {
            return Err(RoomsError::NotFound("not_in_room", "the user is neither a member nor present"));
        }
        let version = self.state.next_version(room).await?;
        let event = pb::MemberKicked { user: Some(convert::user_ref(target)), kicked_by: caller.id.to_string() };
        self.events.room(room, Channel::Room, version, pb::room_event::Kind::MemberKicked(event)).await;
        self.notify_removal(&access, target, events_pb::RemovalKind::Kicked, reason, None).await;
        self.announce_counts(room).await?;
        Ok(pb::KickMemberResponse {})
    }

    pub(crate) async fn ban(&self, caller: Caller, req: pb::BanMemberRequest) -> Result<pb::BanMemberResponse> {
        let room = room_id(&req.room_id)?;
        let reason = fields::reason(&req.reason)?;
        let length = convert::std_duration(req.duration.as_ref())
            .map_err(|convert::Malformed| invalid("duration", "must be a non-negative duration"))?;
        if let Some(length) = length
            && (length < BAN_MIN || length > BAN_MAX)
        {
            return Err(invalid("duration", "must be between 1 minute and 365 days, or unset for a permanent ban"));
        }
        let access = self.viewable(room, caller).await?;
        let (target, role) = self.target(room, caller, &req.user_id).await?;
        Self::actor(&access, caller).may_moderate(role)?;
        let expires = length.map(|d| time::OffsetDateTime::now_utc() + d);
        let row = self.store.ban(room, target, &reason, caller.id, expires).await?;
        let duration = length.map(|d| ("duration", format!("{}s", d.as_secs())));
        self.audit(&access, caller, AuditAction::MemberBanned, Some(target), &reason, duration.as_slice()).await;
        self.state.exit_user(room, target).await?;
        let version = self.state.next_version(room).await?;
        let event = pb::MemberBanned {
            user: Some(convert::user_ref(target)),
            banned_by: caller.id.to_string(),
            expire_time: expires.map(convert::timestamp),
        };
        self.events.room(room, Channel::Room, version, pb::room_event::Kind::MemberBanned(event)).await;
        self.notify_removal(&access, target, events_pb::RemovalKind::Banned, reason, expires.map(convert::timestamp))
            .await;
        self.announce_counts(room).await?;
        Ok(pb::BanMemberResponse { ban: Some(convert::ban(&row)) })
    }

    pub(crate) async fn unban(&self, caller: Caller, req: pb::UnbanMemberRequest) -> Result<pb::UnbanMemberResponse> {
        let room = room_id(&req.room_id)?;
        let target = user_id("user_id", &req.user_id)?;
        let access = self.viewable(room, caller).await?;
        Self::actor(&access, caller).may_moderate(None)?;
        if !self.store.unban(room, target).await? {
            return Err(RoomsError::NotFound("not_banned", "the user is not banned"));
        }
        self.audit(&access, caller, AuditAction::MemberUnbanned, Some(target), "", &[]).await;
        let event = pb::MemberUnbanned { user: Some(convert::user_ref(target)), unbanned_by: caller.id.to_string() };
        self.events.room(room, Channel::Moderators, 0, pb::room_event::Kind::MemberUnbanned(event)).await;
        Ok(pb::UnbanMemberResponse {})
    }

    pub(crate) async fn list_bans(&self, caller: Caller, req: pb::ListBansRequest) -> Result<pb::ListBansResponse> {
        let room = room_id(&req.room_id)?;
        let access = self.viewable(room, caller).await?;
        Self::actor(&access, caller).may_moderate(None)?;
        let page = Page::parse(req.page.as_ref(), &["bans", &req.room_id])?;
        let bans: Vec<pb::Ban> =
            self.store.bans(room, page.offset, page.size).await?.iter().map(convert::ban).collect();
        Ok(pb::ListBansResponse { page: page.response(bans.len()), bans })
    }

    pub(crate) async fn set_role(
        &self,
        caller: Caller,
        req: pb::SetMemberRoleRequest,
    ) -> Result<pb::SetMemberRoleResponse> {
        let room = room_id(&req.room_id)?;
        let new = match convert::role_from(req.role) {
            Some(Role::Owner) => return Err(invalid("role", "OWNER is set with TransferOwnership")),
            Some(role) => role,
            None => return Err(invalid("role", "is required: MEMBER, MODERATOR or HOST")),
        };
        let access = self.viewable(room, caller).await?;
        let (target, current) = self.target(room, caller, &req.user_id).await?;
        let current = current.ok_or(RoomsError::NotFound("not_member", "the user is not a member of this room"))?;
        Self::actor(&access, caller).may_set_role(current, new)?;
        let row = self.store.set_role(room, target, new).await?;
        let details = [("from", current.as_str().to_owned()), ("to", new.as_str().to_owned())];
        self.audit(&access, caller, AuditAction::RoleChanged, Some(target), "", &details).await;
        let member = pb::Member {
            user: Some(convert::user_ref(target)),
            role: convert::role(Some(row.role())) as i32,
            join_time: Some(convert::timestamp(row.joined_at)),
            ..Default::default()
        };
        let version = self.state.next_version(room).await?;
        let event = pb::MemberRoleChanged {
            member: Some(member.clone()),
            previous_role: convert::role(Some(current)) as i32,
            changed_by: caller.id.to_string(),
        };
        self.events.room(room, Channel::Room, version, pb::room_event::Kind::MemberRoleChanged(event)).await;
        Ok(pb::SetMemberRoleResponse { member: Some(member) })
    }

    pub(crate) async fn transfer(
        &self,
        caller: Caller,
        req: pb::TransferOwnershipRequest,
    ) -> Result<pb::TransferOwnershipResponse> {
        let room = room_id(&req.room_id)?;
        let new_owner = user_id("new_owner_id", &req.new_owner_id)?;
        let access = self.viewable(room, caller).await?;
        Self::actor(&access, caller).may_own(access.room.kind())?;
        if new_owner == access.room.owner_id {
            return Err(invalid("new_owner_id", "is already the owner"));
        }
        let previous = access.room.owner_id;
        let row = self.store.transfer(room, previous, new_owner).await?;
        self.audit(&access, caller, AuditAction::OwnershipTransferred, Some(new_owner), "", &[]).await;
        let version = self.state.next_version(room).await?;
        let event = pb::OwnershipTransferred {
            previous_owner_id: previous.to_string(),
            new_owner: Some(convert::user_ref(new_owner)),
        };
        self.events.room(room, Channel::Room, version, pb::room_event::Kind::OwnershipTransferred(event)).await;
        Ok(pb::TransferOwnershipResponse { room: Some(self.room_pb(&row).await?) })
    }
}
