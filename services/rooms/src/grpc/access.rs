//! RoomAccessService: where users stand in a room, for the other services
//! (chat, polls) that enforce room rules without reading this schema
//! (access.proto).

use hearth_proto::hearth::rooms::v1::{self as pb, room_access_service_server::RoomAccessService};
use tonic::{Request, Response, Status};

use super::{RoomsApi, convert, invalid, room_id, user_id};
use crate::{
    domain::roles::{Role, Visibility},
    error::{Result, RoomsError},
    store::{MemberRow, RoomRow},
};

/// Most other users one GetAccess may ask about.
const USERS_MAX: usize = 10;
/// Most users one GetStandings may ask about.
const BATCH_USERS_MAX: usize = 1000;

fn standing(user: uuid::Uuid, member: Option<MemberRow>, banned: bool) -> pb::Standing {
    pb::Standing {
        user_id: user.to_string(),
        role: convert::role(member.as_ref().map(MemberRow::role)) as i32,
        member_since: member.map(|m| convert::timestamp(m.joined_at)),
        banned,
    }
}

/// What a user token may learn from GetAccess (the calling service decides
/// the rest): a private room exists only for its members, banned users and
/// operator admins (NOT_FOUND `room_not_found` for anyone else, as every
/// private-room read); other users' standings only for the room's
/// moderators and operator admins (PERMISSION_DENIED `banned` or
/// `not_moderator`, the refusals chat's moderation acts give anyway).
fn gate(room: &RoomRow, member: &Option<MemberRow>, banned: bool, admin: bool, asks_about_others: bool) -> Result<()> {
    if admin {
        return Ok(());
    }
    if room.visibility() == Visibility::Private && member.is_none() && !banned {
        return Err(RoomsError::NotFound("room_not_found", "no such room"));
    }
    if asks_about_others {
        if banned {
            return Err(RoomsError::Denied("banned", "you are banned from this room".into()));
        }
        if member.as_ref().is_none_or(|m| m.role() < Role::Moderator) {
            return Err(RoomsError::Denied("not_moderator", "only the room's moderators may do this".into()));
        }
    }
    Ok(())
}

impl RoomsApi {
    async fn access(&self, caller: super::Caller, req: pb::GetAccessRequest) -> Result<pb::GetAccessResponse> {
        let room = room_id(&req.room_id)?;
        if req.user_ids.len() > USERS_MAX {
            return Err(invalid("user_ids", "must hold at most 10 ids"));
        }
        let mut users = vec![caller.id];
        for (i, raw) in req.user_ids.iter().enumerate() {
            users.push(user_id(&format!("user_ids[{i}]"), raw)?);
        }
        let asks_about_others = users[1..].iter().any(|u| *u != caller.id);
        let row = self.store.room(room).await?.ok_or(RoomsError::NotFound("room_not_found", "no such room"))?;
        let mut standings = self.store.standings(room, &users).await?.into_iter();
        let (caller_member, caller_banned) = match standings.next() {
            Some((_, member, banned)) => (member, banned),
            None => (None, false),
        };
        gate(&row, &caller_member, caller_banned, caller.admin, asks_about_others)?;
        let caller_standing = Some(standing(caller.id, caller_member, caller_banned));
        let standings = standings.map(|(u, m, b)| standing(u, m, b));
        let (online_count, _) = self.state.counts(room).await?;
        Ok(pb::GetAccessResponse {
            kind: convert::kind(row.kind()) as i32,
            visibility: convert::visibility(row.visibility()) as i32,
            state: convert::state(&row.state) as i32,
            title: row.title,
            owner_id: row.owner_id.to_string(),
            caller: caller_standing,
            users: standings.collect(),
            caller_is_admin: caller.admin,
            online_count,
        })
    }
}

impl RoomsApi {
    async fn standings(&self, req: pb::GetStandingsRequest) -> Result<pb::GetStandingsResponse> {
        let room = room_id(&req.room_id)?;
        if req.user_ids.is_empty() || req.user_ids.len() > BATCH_USERS_MAX {
            return Err(invalid("user_ids", "must hold 1 to 1000 ids"));
        }
        let users = req
            .user_ids
            .iter()
            .enumerate()
            .map(|(i, raw)| user_id(&format!("user_ids[{i}]"), raw))
            .collect::<Result<Vec<_>>>()?;
        let row = self.store.room(room).await?.ok_or(RoomsError::NotFound("room_not_found", "no such room"))?;
        let users = self.store.standings(room, &users).await?.into_iter().map(|(u, m, b)| standing(u, m, b)).collect();
        Ok(pb::GetStandingsResponse {
            kind: convert::kind(row.kind()) as i32,
            visibility: convert::visibility(row.visibility()) as i32,
            state: convert::state(&row.state) as i32,
            users,
        })
    }
}

#[tonic::async_trait]
impl RoomAccessService for RoomsApi {
    async fn get_standings(
        &self,
        request: Request<pb::GetStandingsRequest>,
    ) -> Result<Response<pb::GetStandingsResponse>, Status> {
        let claims = self.tokens.authenticate(request.metadata()).map_err(RoomsError::Auth)?;
        if !claims.is_service() {
            return Err(RoomsError::Denied("not_service", "only Hearth services may call this".into()).into());
        }
        Ok(Response::new(self.standings(request.into_inner()).await?))
    }

    async fn get_access(
        &self,
        request: Request<pb::GetAccessRequest>,
    ) -> Result<Response<pb::GetAccessResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.access(caller, request.into_inner()).await?))
    }
}
