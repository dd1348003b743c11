//! Invites: CreateInvite, ListInvites, RevokeInvite, InviteUsers and the
//! public GetInvitePreview behind `GET /i/{code}`.

use std::{collections::BTreeSet, time::Duration};

use hearth_platform::validate::{self, Lines};
use hearth_proto::hearth::{chat::v1::AuditAction, events::v1 as events_pb, rooms::v1 as pb};
use uuid::Uuid;

use super::{Caller, Page, RoomsApi, convert, invalid, room_id};
use crate::{
    domain::{
        fields::Media,
        invite::{self, Standing},
        roles::Kind,
    },
    error::{Result, RoomsError},
    events::Channel,
};

const TTL_MIN: Duration = Duration::from_secs(5 * 60);
const TTL_MAX: Duration = Duration::from_secs(30 * 24 * 3600);
const PERSONAL_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
const MAX_USES: u32 = 10_000;
const INVITEES_MAX: usize = 50;

fn ttl(field: &str, raw: Option<&hearth_proto::wkt::Duration>) -> Result<Option<Duration>> {
    let value =
        convert::std_duration(raw).map_err(|convert::Malformed| invalid(field, "must be a non-negative duration"))?;
    match value {
        Some(d) if d < TTL_MIN || d > TTL_MAX => Err(invalid(field, "must be between 5 minutes and 30 days")),
        other => Ok(other.filter(|d| !d.is_zero())),
    }
}

fn code(raw: &str) -> Result<&str> {
    if invite::is_code(raw) { Ok(raw) } else { Err(invalid("code", "must be 22 characters of base64url")) }
}

impl RoomsApi {
    pub(crate) async fn create_invite(
        &self,
        caller: Caller,
        req: pb::CreateInviteRequest,
    ) -> Result<pb::CreateInviteResponse> {
        let room = room_id(&req.room_id)?;
        let lifetime = ttl("ttl", req.ttl.as_ref())?;
        if req.max_uses > MAX_USES {
            return Err(invalid("max_uses", "must be 0 (unlimited) or 1–10000"));
        }
        let access = self.viewable(room, caller).await?;
        if access.room.archived() {
            return Err(RoomsError::Precondition("room_archived", "the room is archived".into()));
        }
        Self::actor(&access, caller).may_invite(access.room.settings.members_can_invite)?;
        let expires = lifetime.map(|d| time::OffsetDateTime::now_utc() + d);
        let row = self.store.create_invite(room, caller.id, expires, req.max_uses, None).await?;
        let invite = convert::invite(&row, &self.config.public_url);
        self.events
            .room(
                room,
                Channel::Moderators,
                0,
                pb::room_event::Kind::InviteCreated(pb::InviteCreated { invite: Some(invite.clone()) }),
            )
            .await;
        Ok(pb::CreateInviteResponse { invite: Some(invite) })
    }

    pub(crate) async fn list_invites(
        &self,
        caller: Caller,
        req: pb::ListInvitesRequest,
    ) -> Result<pb::ListInvitesResponse> {
        let room = room_id(&req.room_id)?;
        let access = self.viewable(room, caller).await?;
        let actor = Self::actor(&access, caller);
        if access.member.is_none() && !caller.admin {
            return Err(RoomsError::Denied("not_member", "only members see invites".into()));
        }
        let creator = (!actor.is_moderator()).then_some(caller.id);
        let page = Page::parse(req.page.as_ref(), &["invites", &req.room_id, &caller.id.to_string()])?;
        let invites: Vec<pb::Invite> = self
            .store
            .invites(room, creator, page.offset, page.size)
            .await?
            .iter()
            .map(|r| convert::invite(r, &self.config.public_url))
            .collect();
        Ok(pb::ListInvitesResponse { page: page.response(invites.len()), invites })
    }

    pub(crate) async fn revoke_invite(
        &self,
        caller: Caller,
        req: pb::RevokeInviteRequest,
    ) -> Result<pb::RevokeInviteResponse> {
        let code = code(&req.code)?;
        let row = self.store.invite(code).await?.ok_or(RoomsError::NotFound("invite_not_found", "no such invite"))?;
        let access = self
            .viewable(row.room_id, caller)
            .await
            .map_err(|_| RoomsError::NotFound("invite_not_found", "no such invite"))?;
        if row.created_by != caller.id && !Self::actor(&access, caller).is_moderator() {
            return Err(RoomsError::Denied(
                "insufficient_role",
                "only its creator or a moderator may revoke an invite".into(),
            ));
        }
        let revoked = self.store.revoke_invite(code).await?;
        let invite = convert::invite(&revoked, &self.config.public_url);
        if row.revoked_at.is_none() {
            let details = [("code_prefix", row.code.chars().take(4).collect::<String>())];
            self.audit(&access, caller, AuditAction::InviteRevoked, None, "", &details).await;
            let event = pb::InviteRevoked { invite: Some(invite.clone()), revoked_by: caller.id.to_string() };
            self.events.room(row.room_id, Channel::Moderators, 0, pb::room_event::Kind::InviteRevoked(event)).await;
        }
        Ok(pb::RevokeInviteResponse { invite: Some(invite) })
    }

    /// Personal single-use invites, each announced to its invitee.
    pub(crate) async fn invite_users(
        &self,
        caller: Caller,
        req: pb::InviteUsersRequest,
    ) -> Result<pb::InviteUsersResponse> {
        let room = room_id(&req.room_id)?;
        if req.user_ids.is_empty() || req.user_ids.len() > INVITEES_MAX {
            return Err(invalid("user_ids", "must hold 1–50 user ids"));
        }
        let mut users = BTreeSet::new();
        for (i, raw) in req.user_ids.iter().enumerate() {
            let user = validate::uuid(&format!("user_ids[{i}]"), raw)?;
            if user == caller.id {
                return Err(invalid(&format!("user_ids[{i}]"), "must not be yourself"));
            }
            if !users.insert(user) {
                return Err(invalid(&format!("user_ids[{i}]"), "is a duplicate"));
            }
        }
        let message = validate::text("message", &req.message, 0, 280, Lines::Multi)?;
        let lifetime = ttl("ttl", req.ttl.as_ref())?.unwrap_or(PERSONAL_TTL);
        let access = self.viewable(room, caller).await?;
        if access.room.archived() {
            return Err(RoomsError::Precondition("room_archived", "the room is archived".into()));
        }
        Self::actor(&access, caller).may_invite(access.room.settings.members_can_invite)?;
        let users: Vec<Uuid> = users.into_iter().collect();
        let members = self.store.existing_members(room, &users).await?;
        let banned = self.store.banned_among(room, &users).await?;
        let known = self.profiles.existing(&users).await;
        let blocked = self.blocks.between(caller.id, &users).await?;
        // Every member must be entitled to the room's media: invitees who
        // are not are skipped (asked once, for those not skipped already).
        let candidates: Vec<Uuid> = users
            .iter()
            .copied()
            .filter(|u| !members.contains(u) && !banned.contains(u) && !blocked.contains(u))
            .filter(|u| known.as_ref().is_none_or(|known| known.contains(u)))
            .collect();
        let not_entitled: Vec<Uuid> = match self.current_media(&access.room).await? {
            Some(media) if !candidates.is_empty() => self
                .catalog
                .entitlements(&candidates, &media)
                .await?
                .into_iter()
                .filter(|d| d.denial.is_some())
                .map(|d| d.user)
                .collect(),
            _ => Vec::new(),
        };
        let mut response = pb::InviteUsersResponse::default();
        let expires = time::OffsetDateTime::now_utc() + lifetime;
        for user in users {
            let skip = if members.contains(&user) {
                Some(pb::InviteSkipReason::AlreadyMember)
            } else if banned.contains(&user) {
                Some(pb::InviteSkipReason::Banned)
            } else if known.as_ref().is_some_and(|known| !known.contains(&user)) {
                Some(pb::InviteSkipReason::UserNotFound)
            } else if blocked.contains(&user) {
                Some(pb::InviteSkipReason::Blocked)
            } else if not_entitled.contains(&user) {
                Some(pb::InviteSkipReason::NotEntitled)
            } else {
                None
            };
            if let Some(reason) = skip {
                response.skipped.push(pb::SkippedInvitee { user_id: user.to_string(), reason: reason as i32 });
                continue;
            }
            let row = self.store.create_invite(room, caller.id, Some(expires), 1, Some(user)).await?;
            let invite = convert::invite(&row, &self.config.public_url);
            let event = events_pb::InviteReceived {
                room_id: room.to_string(),
                room_title: access.room.title.clone(),
                room_kind: convert::kind(access.room.kind()) as i32,
                inviter: Some(convert::user_ref(caller.id)),
                invite: Some(invite),
                message: message.clone(),
                media_summary: convert::room_media_summary(&access.room),
            };
            self.events.user(user, "invite", events_pb::user_event::Kind::InviteReceived(event)).await;
            response.invited_user_ids.push(user.to_string());
        }
        Ok(response)
    }

    /// What a shared link shows; no token needed. Invalid invites reveal
    /// nothing about the room.
    pub(crate) async fn invite_preview(
        &self,
        req: pb::GetInvitePreviewRequest,
    ) -> Result<pb::GetInvitePreviewResponse> {
        let code = code(&req.code)?;
        let row = self.store.invite(code).await?.ok_or(RoomsError::NotFound("invite_not_found", "no such invite"))?;
        let status = match invite::standing(&row.facts(), time::OffsetDateTime::now_utc()) {
            Standing::Valid => pb::InviteStatus::Valid,
            Standing::Expired => pb::InviteStatus::Expired,
            Standing::Revoked => pb::InviteStatus::Revoked,
            Standing::Exhausted => pb::InviteStatus::Exhausted,
        };
        let url = convert::invite(&row, &self.config.public_url).url;
        let room = match status {
            pb::InviteStatus::Valid => self.store.room(row.room_id).await?,
            _ => None,
        };
        let Some(room) = room else {
            return Ok(pb::GetInvitePreviewResponse {
                preview: Some(pb::InvitePreview { status: status as i32, url, ..Default::default() }),
            });
        };
        let media = room.media();
        let summary = convert::room_media_summary(&room);
        let description = if !room.description.is_empty() {
            room.description.chars().take(300).collect()
        } else if let Some(summary) = &summary {
            format!("Watch {} together", summary.title)
        } else {
            format!("Join {} on Hearth", room.title)
        };
        let preview_type = match (&media, room.kind()) {
            (Some(Media::Asset(_)), _) => pb::PreviewType::VideoMovie,
            (Some(Media::Programme(_)), _) => pb::PreviewType::VideoEpisode,
            (_, Kind::Community) => pb::PreviewType::VideoTvShow,
            _ => pb::PreviewType::VideoOther,
        };
        let (online, _) = self.state.counts(room.id).await?;
        let image_url = if room.image_url.is_empty() {
            summary.as_ref().map(|s| s.image_url.clone()).unwrap_or_default()
        } else {
            room.image_url.clone()
        };
        Ok(pb::GetInvitePreviewResponse {
            preview: Some(pb::InvitePreview {
                status: status as i32,
                room_id: room.id.to_string(),
                room_kind: convert::kind(room.kind()) as i32,
                title: room.title.clone(),
                description,
                image_url,
                url,
                preview_type: preview_type as i32,
                media_summary: summary,
                inviter: Some(convert::user_ref(row.created_by)),
                member_count: room.member_count.max(0) as u64,
                online_count: online,
            }),
        })
    }
}
