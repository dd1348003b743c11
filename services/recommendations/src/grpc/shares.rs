//! Sharing: a user recommends an item to followers, a room or chosen
//! users with a comment; recipients see it in their feed (and live, as a
//! personal event or in the room) and can dismiss it.

use std::collections::HashSet;

use hearth_platform::validate::{self, FieldError, Lines};
use hearth_proto::hearth::{
    common::v1::UserRef,
    recommendations::v1::{
        DismissShareRequest, DismissShareResponse, EngagementSignal, Explanation, ExplanationKind, ListSharesRequest,
        ListSharesResponse, RecommendedItem, Share, ShareAudience, ShareItemRequest, ShareItemResponse, SignalKind,
        share_item_request,
    },
    rooms::v1::RoomVisibility,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{RecsApi, page};
use crate::{
    domain::{explain, items::Item},
    error::{RecsError, Result},
    peers::Caller,
    state::now_ms,
    store::ShareRow,
};

/// Longest comment.
const COMMENT_MAX: usize = 280;
/// Most chosen recipients.
const USERS_MAX: usize = 50;
/// Most followers or room members one share reaches.
const AUDIENCE_MAX: usize = 100_000;

fn audience_of(raw: &str) -> ShareAudience {
    match raw {
        "followers" => ShareAudience::Followers,
        "room" => ShareAudience::Room,
        _ => ShareAudience::Users,
    }
}

impl RecsApi {
    fn share_message(&self, row: &ShareRow, sharer: UserRef, item: RecommendedItem) -> Share {
        let name = if sharer.display_name.is_empty() { sharer.username.clone() } else { sharer.display_name.clone() };
        Share {
            share_id: row.id.to_string(),
            explanation: Some(Explanation {
                kind: ExplanationKind::Shared as i32,
                text: explain::shared(if name.is_empty() { "Someone" } else { &name }),
                users: vec![sharer.clone()],
                count: 1,
                ..Default::default()
            }),
            sharer: Some(sharer),
            item: Some(item),
            comment: row.comment.clone(),
            audience: audience_of(&row.audience) as i32,
            room_id: row.room_id.map(|r| r.to_string()).unwrap_or_default(),
            create_time: Some(hearth_platform::wkt::timestamp(row.created_at)),
            dismissed: row.dismissed_at.is_some(),
        }
    }

    pub(crate) async fn share_item(&self, caller: &Caller, r: ShareItemRequest) -> Result<ShareItemResponse> {
        let item = match &r.target {
            Some(share_item_request::Target::Media(media)) => Item::from_media(media).ok_or_else(|| {
                RecsError::field("media", "invalid_media", "a channel, programme or VOD asset, not a URL")
            })?,
            Some(share_item_request::Target::RoomId(room)) => Item::Room(validate::uuid("room_id", room)?.to_string()),
            None => return Err(FieldError::new("target", "one of media or room_id is required").into()),
        };
        let comment = validate::text("comment", &r.comment, 0, usize::MAX, Lines::Multi)?;
        if comment.chars().count() > COMMENT_MAX {
            return Err(RecsError::field("comment", "comment_too_long", format!("at most {COMMENT_MAX} characters")));
        }
        // Who it goes to, before anything is stored.
        let (audience, room, mut recipients): (&str, Option<Uuid>, Vec<Uuid>) = match &r.audience {
            Some(share_item_request::Audience::ToFollowers(true)) => {
                ("followers", None, self.peers.followers(caller, caller.id, AUDIENCE_MAX).await?)
            }
            Some(share_item_request::Audience::ToFollowers(false)) => {
                return Err(FieldError::new("to_followers", "must be true when chosen").into());
            }
            Some(share_item_request::Audience::ToRoomId(raw)) => {
                let room = validate::uuid("to_room_id", raw)?;
                let access = self
                    .peers
                    .room(caller, room)
                    .await?
                    .ok_or_else(|| RecsError::NotFound("room_not_found", "no such room".into()))?;
                if access.caller.as_ref().is_none_or(|s| s.member_since.is_none() || s.banned) {
                    return Err(RecsError::Denied("not_member", "sharing into a room needs membership".into()));
                }
                ("room", Some(room), self.peers.members(caller, room, AUDIENCE_MAX).await?)
            }
            Some(share_item_request::Audience::ToUsers(users)) => {
                if users.user_ids.is_empty() {
                    return Err(FieldError::new("to_users.user_ids", "is required").into());
                }
                if users.user_ids.len() > USERS_MAX {
                    return Err(RecsError::field(
                        "to_users.user_ids",
                        "too_many_recipients",
                        format!("at most {USERS_MAX}"),
                    ));
                }
                let mut ids = Vec::with_capacity(users.user_ids.len());
                for (i, raw) in users.user_ids.iter().enumerate() {
                    let id = validate::uuid(&format!("to_users.user_ids[{i}]"), raw)?;
                    if id == caller.id {
                        return Err(FieldError::new(format!("to_users.user_ids[{i}]"), "cannot be yourself").into());
                    }
                    if ids.contains(&id) {
                        return Err(
                            FieldError::new(format!("to_users.user_ids[{i}]"), "repeats an earlier user").into()
                        );
                    }
                    ids.push(id);
                }
                ("users", None, ids)
            }
            None => {
                return Err(
                    FieldError::new("audience", "one of to_followers, to_room_id or to_users is required").into()
                );
            }
        };
        // What is shared must exist, and rooms must be open to the recipients.
        let shown = self.display(caller, std::slice::from_ref(&item)).await;
        let display = match (&item, shown.get(&item.key())) {
            (_, Some(display)) => display.clone(),
            (Item::Room(_), None) => return Err(RecsError::NotFound("room_not_found", "no such room".into())),
            (_, None) => return Err(RecsError::NotFound("media_not_found", "not in the catalog".into())),
        };
        if let Item::Room(id) = &item
            && let Ok(room) = Uuid::parse_str(id)
            && let Some(access) = self.peers.room(caller, room).await?
            && access.visibility() == RoomVisibility::Private
        {
            return Err(RecsError::Precondition("room_not_shareable", "private rooms are shared by invites".into()));
        }
        let now = now_ms();
        let (count, retry) = self.state.count_share(caller.id, now).await?;
        if count > u64::from(self.config.shares_per_hour) {
            return Err(RecsError::Exhausted(
                "rate_limited",
                format!("at most {} shares per hour", self.config.shares_per_hour),
                retry,
            ));
        }
        recipients.retain(|r| *r != caller.id);
        let blocked =
            if recipients.is_empty() { HashSet::new() } else { self.peers.blocks_with(caller.id, &recipients).await? };
        recipients.retain(|r| !blocked.contains(r));
        let row = ShareRow {
            id: Uuid::now_v7(),
            sharer_id: caller.id,
            item: item.key(),
            comment,
            audience: audience.to_owned(),
            room_id: room,
            created_at: OffsetDateTime::now_utc(),
            dismissed_at: None,
        };
        self.store.create_share(&row, &recipients).await?;
        let sharer = self.peers.profiles.one(caller.id).await;
        let share = self.share_message(&row, sharer, display);
        self.events.shared(&recipients, &share).await;
        if let Some(room) = room {
            self.events.shared_into_room(room, &share).await;
        }
        self.events
            .signal(&EngagementSignal {
                user_id: caller.id.to_string(),
                kind: SignalKind::Share as i32,
                room_id: match &item {
                    Item::Room(id) => id.clone(),
                    _ => String::new(),
                },
                media: item.media(),
                time: share.create_time,
                count: 1,
                ..Default::default()
            })
            .await;
        Ok(ShareItemResponse { share: Some(share), recipient_count: recipients.len() as u64 })
    }

    pub(crate) async fn list_shares(&self, caller: &Caller, r: ListSharesRequest) -> Result<ListSharesResponse> {
        let page = page(r.page.as_ref(), &[if r.include_dismissed { "all" } else { "open" }])?;
        let rows = self.store.feed(caller.id, r.include_dismissed, page.offset as i64, i64::from(page.size)).await?;
        let sharers: Vec<Uuid> = rows.iter().map(|r| r.sharer_id).collect();
        let blocked =
            if sharers.is_empty() { HashSet::new() } else { self.peers.blocks_with(caller.id, &sharers).await? };
        let items: Vec<Item> = rows.iter().filter_map(|r| Item::parse(&r.item)).collect();
        let shown = self.display(caller, &items).await;
        let refs = self.peers.profiles.refs(&sharers).await;
        let shares = rows
            .iter()
            .filter(|row| !blocked.contains(&row.sharer_id))
            .filter_map(|row| {
                let item = shown.get(&row.item)?.clone();
                let sharer = refs
                    .get(&row.sharer_id)
                    .cloned()
                    .unwrap_or_else(|| UserRef { user_id: row.sharer_id.to_string(), ..Default::default() });
                Some(self.share_message(row, sharer, item))
            })
            .collect();
        Ok(ListSharesResponse { shares, page: page.response(rows.len()) })
    }

    pub(crate) async fn dismiss_share(&self, caller: &Caller, r: DismissShareRequest) -> Result<DismissShareResponse> {
        let share = validate::uuid("share_id", &r.share_id)?;
        if !self.store.dismiss(caller.id, share).await? {
            return Err(RecsError::NotFound("share_not_found", "not in your feed".into()));
        }
        Ok(DismissShareResponse {})
    }
}
