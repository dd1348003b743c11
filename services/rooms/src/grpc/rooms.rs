//! Room lifecycle and lists: CreateRoom, GetRoom, UpdateRoom, DeleteRoom,
//! ListMyRooms, ListPublicRooms, GetRoomSnapshot.

use std::time::Duration;

use hearth_proto::hearth::{chat::v1::AuditAction, events::v1 as events_pb, rooms::v1 as pb};
use uuid::Uuid;

use super::{Caller, Page, RoomsApi, convert, invalid, room_id};
use crate::{
    domain::{
        fields::{self, CapacityLimits, Settings},
        playback::Cause,
        roles::Kind,
    },
    error::{Result, RoomsError},
    events::Channel,
    store::{NewRoom, PublicFilter, RoomChange},
};

const READY_TIMEOUT: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(30));
const LIVE_LATENCY: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));

/// Largest popularity ranking ListPublicRooms reads from Redis.
const POPULAR_WINDOW: usize = 1000;

impl RoomsApi {
    fn limits(&self) -> CapacityLimits {
        CapacityLimits {
            watch_party_default: self.config.watch_party_capacity,
            watch_party_max: self.config.watch_party_max_capacity,
            community: self.config.community_capacity,
        }
    }

    /// Settings from a request; `base` supplies what the request leaves out.
    fn settings(&self, input: Option<&pb::RoomSettings>, base: Settings) -> Result<Settings> {
        let Some(input) = input else { return Ok(base) };
        let policy = convert::policy_from(input.playback_policy)
            .map_err(|convert::Malformed| invalid("settings.playback_policy", "unknown value"))?;
        let duration = |field: &str, d, bounds: (Duration, Duration)| -> Result<Option<u64>> {
            let d = convert::std_duration(d)
                .map_err(|convert::Malformed| invalid(field, "must be a non-negative duration"))?;
            Ok(fields::bounded(field, d, bounds.0, bounds.1)?.map(|d| d.as_millis() as u64))
        };
        Ok(Settings {
            playback_policy: policy.unwrap_or(base.playback_policy),
            capacity: input.capacity,
            ready_timeout_ms: duration("settings.ready_timeout", input.ready_timeout.as_ref(), READY_TIMEOUT)?,
            live_target_latency_ms: duration(
                "settings.live_target_latency",
                input.live_target_latency.as_ref(),
                LIVE_LATENCY,
            )?,
            members_can_invite: input.members_can_invite,
            sensitive: input.sensitive,
        })
    }

    pub(crate) async fn create_room(
        &self,
        caller: Caller,
        req: pb::CreateRoomRequest,
    ) -> Result<pb::CreateRoomResponse> {
        let kind = fields_kind(req.kind)?;
        if kind.operator_only() && !caller.admin {
            return Err(crate::domain::roles::Denied::OperatorOnly.into());
        }
        if kind == Kind::Programme {
            return Err(RoomsError::Precondition(
                "programme_rooms_by_catalog",
                "programme rooms are created by catalog sync".into(),
            ));
        }
        let title = fields::title(&req.title)?;
        let description = fields::description(&req.description)?;
        let image_url = fields::image_url(&req.image_url)?;
        let media = match req.media.as_ref() {
            None => None,
            Some(m) => Some(fields::media("media", convert::media_input(Some(m)), self.config.allow_http_media_urls)?),
        };
        fields::media_fits_kind(kind, media.as_ref())?;
        let requested = convert::visibility_from(req.visibility)
            .map_err(|convert::Malformed| invalid("visibility", "unknown value"))?;
        let visibility = fields::visibility(kind, requested)?;
        let settings = self.settings(req.settings.as_ref(), Settings::default())?;
        let capacity = fields::capacity(kind, settings.capacity, self.limits())?;
        let request_id = fields::request_id(&req.request_id)?;
        // The creator is the first member: they must be entitled too.
        self.ensure_entitled(caller, media.as_ref(), true).await?;
        let row = self
            .store
            .create_room(&NewRoom {
                kind,
                visibility,
                title: &title,
                description: &description,
                image_url: &image_url,
                media: media.as_ref(),
                settings: &settings,
                capacity,
                owner: caller.id,
                request_id: request_id.as_deref(),
                max_owned: self.config.max_owned_rooms,
            })
            .await?;
        self.init_playback(&row, Cause::Unspecified).await?;
        Ok(pb::CreateRoomResponse { room: Some(self.room_pb(&row).await?) })
    }

    pub(crate) async fn get_room(&self, caller: Caller, req: pb::GetRoomRequest) -> Result<pb::GetRoomResponse> {
        let access = self.viewable(room_id(&req.room_id)?, caller).await?;
        Ok(pb::GetRoomResponse { room: Some(self.room_pb(&access.room).await?) })
    }

    pub(crate) async fn get_snapshot(
        &self,
        caller: Caller,
        req: pb::GetRoomSnapshotRequest,
    ) -> Result<pb::GetRoomSnapshotResponse> {
        let access = self.viewable(room_id(&req.room_id)?, caller).await?;
        self.ensure_guest_entitled(&access, caller).await?;
        Ok(pb::GetRoomSnapshotResponse { snapshot: Some(self.snapshot(&access, caller).await?) })
    }

    pub(crate) async fn update_room(
        &self,
        caller: Caller,
        req: pb::UpdateRoomRequest,
    ) -> Result<pb::UpdateRoomResponse> {
        let input = req.room.ok_or_else(|| invalid("room", "is required"))?;
        let id = validate_room_field(&input.room_id)?;
        // Proto field names; lowerCamelCase (as JSON clients write them) is accepted too.
        let paths: Vec<String> =
            req.update_mask.map(|m| m.paths).unwrap_or_default().iter().map(|p| snake_case(p)).collect();
        if paths.is_empty() {
            return Err(invalid("update_mask", "must name at least one field"));
        }
        let access = self.viewable(id, caller).await?;
        if access.room.archived() {
            return Err(RoomsError::Precondition("room_archived", "the room is archived".into()));
        }
        let actor = Self::actor(&access, caller);
        let kind = access.room.kind();
        let mut change = RoomChange::default();
        let mut settings = access.room.settings.0.clone();
        let mut settings_changed = false;
        let new_settings = self.settings(input.settings.as_ref(), settings.clone())?;
        for path in &paths {
            match path.as_str() {
                "title" => change.title = Some(fields::title(&input.title)?),
                "description" => change.description = Some(fields::description(&input.description)?),
                "image_url" => change.image_url = Some(fields::image_url(&input.image_url)?),
                "visibility" => {
                    actor.may_own(kind)?;
                    let v = convert::visibility_from(input.visibility)
                        .map_err(|convert::Malformed| invalid("room.visibility", "unknown value"))?;
                    change.visibility = Some(fields::visibility(
                        kind,
                        Some(v.ok_or_else(|| invalid("room.visibility", "is required"))?),
                    )?);
                }
                "settings.capacity" => {
                    actor.may_own(kind)?;
                    change.capacity = Some(fields::capacity(kind, new_settings.capacity, self.limits())?);
                    settings.capacity = new_settings.capacity;
                    settings_changed = true;
                }
                "settings.playback_policy" => {
                    settings.playback_policy = new_settings.playback_policy;
                    settings_changed = true;
                }
                "settings.ready_timeout" => {
                    settings.ready_timeout_ms = new_settings.ready_timeout_ms;
                    settings_changed = true;
                }
                "settings.live_target_latency" => {
                    settings.live_target_latency_ms = new_settings.live_target_latency_ms;
                    settings_changed = true;
                }
                "settings.members_can_invite" => {
                    settings.members_can_invite = new_settings.members_can_invite;
                    settings_changed = true;
                }
                "settings.sensitive" => {
                    settings.sensitive = new_settings.sensitive;
                    settings_changed = true;
                }
                other => {
                    return Err(invalid("update_mask", &format!("field_not_updatable: `{other}` cannot be updated")));
                }
            }
        }
        actor.may_edit(kind)?;
        if settings_changed {
            change.settings = Some(settings);
        }
        let row = self.store.update_room(id, &change).await?;
        let changed = [("changed_fields", paths.join(","))];
        self.audit(&access, caller, AuditAction::RoomSettingsChanged, None, "", &changed).await;
        let room = self.room_pb(&row).await?;
        let version = self.state.next_version(id).await?;
        self.events
            .room(
                id,
                Channel::Room,
                version,
                pb::room_event::Kind::RoomUpdated(pb::RoomUpdated {
                    room: Some(room.clone()),
                    changed_fields: paths,
                    changed_by: caller.id.to_string(),
                }),
            )
            .await;
        Ok(pb::UpdateRoomResponse { room: Some(room) })
    }

    pub(crate) async fn delete_room(
        &self,
        caller: Caller,
        req: pb::DeleteRoomRequest,
    ) -> Result<pb::DeleteRoomResponse> {
        let id = room_id(&req.room_id)?;
        let access = self.viewable(id, caller).await?;
        Self::actor(&access, caller).may_own(access.room.kind())?;
        self.remove_room(&access.room, caller.id.to_string()).await?;
        self.audit(&access, caller, AuditAction::RoomDeleted, None, "", &[("title", access.room.title.clone())]).await;
        Ok(pb::DeleteRoomResponse {})
    }

    /// Deletes a room and tells everyone in it.
    pub(crate) async fn remove_room(&self, room: &crate::store::RoomRow, by: String) -> Result<()> {
        let online = self.state.online_users(room.id).await.unwrap_or_default();
        self.store.delete_room(room.id).await?;
        let version = self.state.next_version(room.id).await?;
        self.events
            .room(
                room.id,
                Channel::Room,
                version,
                pb::room_event::Kind::RoomDeleted(pb::RoomDeleted { deleted_by: by }),
            )
            .await;
        for user in online {
            self.events
                .user(
                    user,
                    "room",
                    events_pb::user_event::Kind::RemovedFromRoom(events_pb::RemovedFromRoom {
                        room_id: room.id.to_string(),
                        room_title: room.title.clone(),
                        kind: events_pb::RemovalKind::RoomDeleted as i32,
                        reason: String::new(),
                        expire_time: None,
                    }),
                )
                .await;
        }
        self.state.forget_room(room.id).await?;
        Ok(())
    }

    pub(crate) async fn list_my_rooms(
        &self,
        caller: Caller,
        req: pb::ListMyRoomsRequest,
    ) -> Result<pb::ListMyRoomsResponse> {
        let kind = optional_kind(req.kind)?;
        let page = Page::parse(
            req.page.as_ref(),
            &["my", &caller.id.to_string(), &req.kind.to_string(), &req.include_archived.to_string()],
        )?;
        let rows = self.store.my_rooms(caller.id, kind, req.include_archived, page.offset, page.size).await?;
        let ids: Vec<Uuid> = rows.iter().map(|(r, _)| r.id).collect();
        let online = self.state.online_counts(&ids).await?;
        let memberships = rows
            .iter()
            .zip(online)
            .map(|((room, member), online)| pb::RoomMembership {
                room: Some(convert::room(room, online, self.defaults())),
                role: convert::role(Some(member.role())) as i32,
                join_time: Some(convert::timestamp(member.joined_at)),
            })
            .collect::<Vec<_>>();
        Ok(pb::ListMyRoomsResponse { page: page.response(memberships.len()), memberships })
    }

    /// Public rooms: by popularity, the rooms with people online (ranked in
    /// Redis) come first, then the rest newest first.
    pub(crate) async fn list_public_rooms(
        &self,
        _caller: Caller,
        req: pb::ListPublicRoomsRequest,
    ) -> Result<pb::ListPublicRoomsResponse> {
        let kind = optional_kind(req.kind)?;
        let channel_id = match req.channel_id.as_str() {
            "" => None,
            raw => Some(hearth_platform::validate::identifier("channel_id", raw, fields::MEDIA_ID_MAX)?),
        };
        let order = pb::PublicRoomOrder::try_from(req.order).map_err(|_| invalid("order", "unknown value"))?;
        let page = Page::parse(
            req.page.as_ref(),
            &["public", &req.kind.to_string(), &req.channel_id, &req.order.to_string()],
        )?;
        let filter = PublicFilter { kind, channel_id };
        let popular: Vec<Uuid> = if order == pb::PublicRoomOrder::Newest {
            Vec::new()
        } else {
            self.state.popular(POPULAR_WINDOW).await?.into_iter().map(|(id, _)| id).collect()
        };
        let ranked = self.store.public_among(&popular, &filter).await?;
        let mut rows: Vec<_> = ranked.iter().skip(page.offset as usize).take(page.size as usize).cloned().collect();
        if rows.len() < page.size as usize {
            let offset = page.offset.saturating_sub(ranked.len() as u64);
            let ranked_ids: Vec<Uuid> = ranked.iter().map(|r| r.id).collect();
            rows.extend(self.store.public_newest(&filter, &ranked_ids, offset, page.size - rows.len() as u32).await?);
        }
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let online = self.state.online_counts(&ids).await?;
        let rooms: Vec<pb::Room> =
            rows.iter().zip(online).map(|(row, online)| convert::room(row, online, self.defaults())).collect();
        Ok(pb::ListPublicRoomsResponse { page: page.response(rooms.len()), rooms })
    }
}

/// `settings.playbackPolicy` → `settings.playback_policy`.
fn snake_case(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn validate_room_field(raw: &str) -> Result<Uuid> {
    Ok(hearth_platform::validate::uuid("room.room_id", raw)?)
}

fn fields_kind(raw: i32) -> Result<Kind> {
    convert::kind_from(raw).ok_or_else(|| invalid("kind", "is required: WATCH_PARTY, CHANNEL, PROGRAMME or COMMUNITY"))
}

fn optional_kind(raw: i32) -> Result<Option<Kind>> {
    if raw == 0 {
        return Ok(None);
    }
    convert::kind_from(raw).map(Some).ok_or_else(|| invalid("kind", "unknown value"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn mask_paths_accept_camel_case() {
        assert_eq!(super::snake_case("settings.playbackPolicy"), "settings.playback_policy");
        assert_eq!(super::snake_case("image_url"), "image_url");
    }
}
