//! What apps show for an item: titles, images, channel, times, live and
//! viewer counts, and a room to join — from the catalog (channels,
//! programmes) and rooms (as the caller sees them). Items the caller may
//! not see (private rooms they are not in, archived rooms) or that left
//! the catalog are dropped.

use std::collections::HashMap;

use hearth_proto::hearth::{
    provider::v1::{LocalizedString, Programme},
    recommendations::v1::{RecommendedItem, recommended_item},
    rooms::v1::{RoomKind, RoomState, RoomVisibility},
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::RecsApi;
use crate::{domain::items::Item, peers::Caller};

fn first(texts: &[LocalizedString]) -> String {
    texts.first().map(|t| t.value.chars().take(300).collect()).unwrap_or_default()
}

fn programme_item(p: &Programme, channel_name: String, now: OffsetDateTime) -> RecommendedItem {
    let at = |t: &Option<hearth_proto::wkt::Timestamp>| t.as_ref().and_then(hearth_platform::wkt::datetime);
    let live = matches!((at(&p.start_time), at(&p.end_time)), (Some(s), Some(e)) if s <= now && now < e);
    RecommendedItem {
        kind: Item::Programme(String::new()).kind() as i32,
        target: Item::Programme(p.programme_id.clone()).media().map(recommended_item::Target::Media),
        title: first(&p.titles),
        subtitle: first(&p.subtitles),
        image_url: p.images.first().map(|i| i.url.clone()).unwrap_or_default(),
        channel_id: p.channel_id.clone(),
        channel_name,
        start_time: p.start_time,
        end_time: p.end_time,
        live,
        parental_rating: p.parental_ratings.first().map(|r| r.value.clone()).unwrap_or_default(),
        ..Default::default()
    }
}

impl RecsApi {
    /// Display data of `items` (by key), for the caller.
    pub(crate) async fn display(&self, caller: &Caller, items: &[Item]) -> HashMap<String, RecommendedItem> {
        let now = OffsetDateTime::now_utc();
        let catalog = self.peers.catalog.is_some();
        let mut channel_ids: Vec<String> = Vec::new();
        let mut programme_ids: Vec<String> = Vec::new();
        for item in items {
            match item {
                Item::Channel(id) => channel_ids.push(id.clone()),
                Item::Programme(id) => programme_ids.push(id.clone()),
                _ => {}
            }
        }
        let programmes = self.peers.programmes(&programme_ids).await;
        channel_ids.extend(programmes.values().map(|p| p.channel_id.clone()));
        let channels = self.peers.channels(&channel_ids).await;
        let name = |id: &str| channels.get(id).map(|c| first(&c.names)).unwrap_or_default();
        let mut shown = HashMap::new();
        for item in items {
            let key = item.key();
            let display = match item {
                Item::Channel(id) => match channels.get(id) {
                    Some(c) => Some(RecommendedItem {
                        kind: item.kind() as i32,
                        target: item.media().map(recommended_item::Target::Media),
                        title: first(&c.names),
                        image_url: c.logos.first().map(|l| l.url.clone()).unwrap_or_default(),
                        channel_id: id.clone(),
                        channel_name: first(&c.names),
                        live: true,
                        parental_rating: c.parental_ratings.first().map(|r| r.value.clone()).unwrap_or_default(),
                        ..Default::default()
                    }),
                    // Without a catalog the id is all there is to show.
                    None if !catalog => Some(bare(item)),
                    None => None,
                },
                Item::Programme(id) => match programmes.get(id) {
                    Some(p) => Some(programme_item(p, name(&p.channel_id), now)),
                    None if !catalog => Some(bare(item)),
                    None => None,
                },
                // The catalog holds no VOD metadata (the provider's
                // BatchGetAssets is optional): the id is the title.
                Item::Asset(_) => Some(bare(item)),
                // Rooms are looked up together below.
                Item::Room(_) => None,
            };
            if let Some(display) = display {
                shown.insert(key, display);
            }
        }
        let rooms: Vec<&str> =
            items.iter().filter_map(|i| if let Item::Room(id) = i { Some(id.as_str()) } else { None }).collect();
        let looked_up = futures::future::join_all(rooms.iter().map(|id| self.room_item(caller, id))).await;
        for (id, display) in rooms.into_iter().zip(looked_up) {
            if let Some(display) = display {
                shown.insert(Item::Room(id.to_owned()).key(), display);
            }
        }
        shown
    }

    async fn room_item(&self, caller: &Caller, id: &str) -> Option<RecommendedItem> {
        let room = Uuid::parse_str(id).ok()?;
        let access = self.peers.room(caller, room).await.ok()??;
        let member = access.caller.as_ref().is_some_and(|s| s.member_since.is_some());
        let banned = access.caller.as_ref().is_some_and(|s| s.banned);
        let visible = access.visibility() != RoomVisibility::Private || member;
        if !visible || banned || access.state() == RoomState::Archived {
            return None;
        }
        let kind = match access.kind() {
            RoomKind::WatchParty => "Watch party",
            RoomKind::Channel => "Channel room",
            RoomKind::Programme => "Programme room",
            RoomKind::Community => "Community",
            RoomKind::Unspecified => "",
        };
        Some(RecommendedItem {
            kind: Item::Room(String::new()).kind() as i32,
            target: Some(recommended_item::Target::RoomId(id.to_owned())),
            title: access.title.chars().take(300).collect(),
            subtitle: kind.to_owned(),
            viewer_count: access.online_count,
            join_room_id: if access.state() == RoomState::Active { id.to_owned() } else { String::new() },
            ..Default::default()
        })
    }
}

/// An item known only by its id.
fn bare(item: &Item) -> RecommendedItem {
    RecommendedItem {
        kind: item.kind() as i32,
        target: item.media().map(recommended_item::Target::Media),
        title: item.id().chars().take(300).collect(),
        channel_id: if let Item::Channel(id) = item { id.clone() } else { String::new() },
        live: matches!(item, Item::Channel(_)),
        ..Default::default()
    }
}
