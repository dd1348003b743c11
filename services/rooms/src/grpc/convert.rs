//! Conversions between the domain and rooms.proto's messages.

use std::{collections::HashMap, time::Duration};

use hearth_proto::{
    hearth::{
        common::v1::{MediaRef, UserRef, media_ref},
        provider::v1 as provider,
        rooms::v1 as pb,
    },
    wkt,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    domain::{
        catalog,
        fields::{Media, MediaInput, Settings},
        playback::{Cause, Group, MemberPlayback, Readiness, Status},
        roles::{Kind, PlaybackPolicy, Role, Visibility},
    },
    store::{BanRow, InviteRow, RoomRow},
};

/// A request value outside what its type allows (negative duration,
/// unknown enum value); the caller names the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

pub fn timestamp_ms(ms: i64) -> wkt::Timestamp {
    wkt::Timestamp { seconds: ms.div_euclid(1000), nanos: (ms.rem_euclid(1000) * 1_000_000) as i32 }
}

pub fn timestamp(at: OffsetDateTime) -> wkt::Timestamp {
    wkt::Timestamp { seconds: at.unix_timestamp(), nanos: at.nanosecond() as i32 }
}

/// A Timestamp from another service as a time; `None` when out of range.
pub fn datetime(ts: &wkt::Timestamp) -> Option<OffsetDateTime> {
    let nanos = i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos.clamp(0, 999_999_999));
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

pub fn duration_ms(ms: i64) -> wkt::Duration {
    let ms = ms.max(0);
    wkt::Duration { seconds: ms / 1000, nanos: ((ms % 1000) * 1_000_000) as i32 }
}

/// A request Duration as std; negative or malformed ones are `Err(Malformed)`.
pub fn std_duration(d: Option<&wkt::Duration>) -> Result<Option<Duration>, Malformed> {
    match d {
        None => Ok(None),
        Some(d) if d.seconds < 0 || d.nanos < 0 || d.nanos >= 1_000_000_000 => Err(Malformed),
        Some(d) => Ok(Some(Duration::new(d.seconds as u64, d.nanos as u32))),
    }
}

/// A request position in ms, when set.
pub fn position_ms(d: Option<&wkt::Duration>) -> Result<Option<i64>, Malformed> {
    std_duration(d).map(|d| d.map(|d| d.as_millis().min(i64::MAX as u128) as i64))
}

pub fn media_input(media: Option<&MediaRef>) -> Option<MediaInput<'_>> {
    Some(match media?.kind.as_ref()? {
        media_ref::Kind::ChannelId(id) => MediaInput::Channel(id),
        media_ref::Kind::AssetId(id) => MediaInput::Asset(id),
        media_ref::Kind::ProgrammeId(id) => MediaInput::Programme(id),
        media_ref::Kind::Url(url) => MediaInput::Url(url),
    })
}

pub fn media_ref(media: &Media) -> MediaRef {
    let kind = match media {
        Media::Channel(id) => media_ref::Kind::ChannelId(id.clone()),
        Media::Asset(id) => media_ref::Kind::AssetId(id.clone()),
        Media::Programme(id) => media_ref::Kind::ProgrammeId(id.clone()),
        Media::Url(url) => media_ref::Kind::Url(url.clone()),
    };
    MediaRef { kind: Some(kind) }
}

/// Display data of media the room itself does not name: the id, or a
/// URL's host.
pub fn media_summary(media: &Media) -> pb::MediaSummary {
    pb::MediaSummary { title: media.display_title(), live: media.is_live(), ..Default::default() }
}

/// Display data of a room's media. Catalog sync names a channel or
/// programme room after its catalog entry (the channel's name and logo,
/// the programme's title and image), and that media never changes, so
/// players show the name rather than the operator's id.
pub fn room_media_summary(row: &RoomRow) -> Option<pb::MediaSummary> {
    let media = row.media()?;
    let mut summary = media_summary(&media);
    if matches!(row.kind(), Kind::Channel | Kind::Programme) && !row.title.is_empty() {
        summary.title = row.title.clone();
        summary.image_url = row.image_url.clone();
    }
    Some(summary)
}

pub fn user_ref(id: Uuid) -> UserRef {
    UserRef { user_id: id.to_string(), ..Default::default() }
}

pub fn kind(kind: Kind) -> pb::RoomKind {
    match kind {
        Kind::WatchParty => pb::RoomKind::WatchParty,
        Kind::Channel => pb::RoomKind::Channel,
        Kind::Programme => pb::RoomKind::Programme,
        Kind::Community => pb::RoomKind::Community,
    }
}

pub fn kind_from(raw: i32) -> Option<Kind> {
    match pb::RoomKind::try_from(raw).ok()? {
        pb::RoomKind::WatchParty => Some(Kind::WatchParty),
        pb::RoomKind::Channel => Some(Kind::Channel),
        pb::RoomKind::Programme => Some(Kind::Programme),
        pb::RoomKind::Community => Some(Kind::Community),
        pb::RoomKind::Unspecified => None,
    }
}

pub fn visibility(v: Visibility) -> pb::RoomVisibility {
    match v {
        Visibility::Private => pb::RoomVisibility::Private,
        Visibility::Unlisted => pb::RoomVisibility::Unlisted,
        Visibility::Public => pb::RoomVisibility::Public,
    }
}

/// `Ok(None)` for UNSPECIFIED; `Err` for values outside the enum.
pub fn visibility_from(raw: i32) -> Result<Option<Visibility>, Malformed> {
    match pb::RoomVisibility::try_from(raw).map_err(|_| Malformed)? {
        pb::RoomVisibility::Unspecified => Ok(None),
        pb::RoomVisibility::Private => Ok(Some(Visibility::Private)),
        pb::RoomVisibility::Unlisted => Ok(Some(Visibility::Unlisted)),
        pb::RoomVisibility::Public => Ok(Some(Visibility::Public)),
    }
}

pub fn role(role: Option<Role>) -> pb::RoomRole {
    match role {
        None => pb::RoomRole::Unspecified,
        Some(Role::Member) => pb::RoomRole::Member,
        Some(Role::Moderator) => pb::RoomRole::Moderator,
        Some(Role::Host) => pb::RoomRole::Host,
        Some(Role::Owner) => pb::RoomRole::Owner,
    }
}

pub fn role_from(raw: i32) -> Option<Role> {
    match pb::RoomRole::try_from(raw).ok()? {
        pb::RoomRole::Member => Some(Role::Member),
        pb::RoomRole::Moderator => Some(Role::Moderator),
        pb::RoomRole::Host => Some(Role::Host),
        pb::RoomRole::Owner => Some(Role::Owner),
        pb::RoomRole::Unspecified => None,
    }
}

pub fn policy_from(raw: i32) -> Result<Option<PlaybackPolicy>, Malformed> {
    match pb::PlaybackPolicy::try_from(raw).map_err(|_| Malformed)? {
        pb::PlaybackPolicy::Unspecified => Ok(None),
        pb::PlaybackPolicy::HostOnly => Ok(Some(PlaybackPolicy::HostOnly)),
        pb::PlaybackPolicy::Everyone => Ok(Some(PlaybackPolicy::Everyone)),
    }
}

/// Defaults a room's settings resolve to.
#[derive(Debug, Clone, Copy)]
pub struct SettingDefaults {
    pub ready_timeout_ms: u64,
    pub live_target_latency_ms: u64,
}

pub fn settings(s: &Settings, capacity: i32, defaults: SettingDefaults) -> pb::RoomSettings {
    pb::RoomSettings {
        playback_policy: match s.playback_policy {
            PlaybackPolicy::HostOnly => pb::PlaybackPolicy::HostOnly,
            PlaybackPolicy::Everyone => pb::PlaybackPolicy::Everyone,
        } as i32,
        capacity: capacity.max(0) as u32,
        ready_timeout: Some(duration_ms(s.ready_timeout_ms.unwrap_or(defaults.ready_timeout_ms) as i64)),
        live_target_latency: Some(duration_ms(
            s.live_target_latency_ms.unwrap_or(defaults.live_target_latency_ms) as i64
        )),
        members_can_invite: s.members_can_invite,
        sensitive: s.sensitive,
    }
}

pub fn state(stored: &str) -> pb::RoomState {
    match stored {
        "scheduled" => pb::RoomState::Scheduled,
        "archived" => pb::RoomState::Archived,
        _ => pb::RoomState::Active,
    }
}

pub fn room(row: &RoomRow, online_count: u64, defaults: SettingDefaults) -> pb::Room {
    let media = row.media();
    pb::Room {
        room_id: row.id.to_string(),
        kind: kind(row.kind()) as i32,
        visibility: visibility(row.visibility()) as i32,
        state: state(&row.state) as i32,
        title: row.title.clone(),
        description: row.description.clone(),
        image_url: row.image_url.clone(),
        media_summary: room_media_summary(row),
        media: media.as_ref().map(media_ref),
        settings: Some(settings(&row.settings, row.capacity, defaults)),
        created_by: row.created_by.to_string(),
        owner_id: row.owner_id.to_string(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
        member_count: row.member_count.max(0) as u64,
        online_count,
        open_time: row.open_time.map(timestamp),
        archive_time: row.archive_time.map(timestamp),
    }
}

/// A parental rating as shown ("FSK 12"; the value alone without a system).
fn rating_display(ratings: &[provider::ParentalRating]) -> String {
    ratings
        .iter()
        .find(|r| !r.value.trim().is_empty())
        .map(|r| match r.system.trim() {
            "" => r.value.trim().to_owned(),
            system => format!("{system} {}", r.value.trim()),
        })
        .unwrap_or_default()
}

fn first_text(texts: &[provider::LocalizedString]) -> &str {
    texts.iter().map(|t| t.value.as_str()).find(|t| !t.trim().is_empty()).unwrap_or_default()
}

/// A guide programme as a room shows it: the first title, subtitle and
/// description (clients localise through the catalog when they need to),
/// the description cut to 500 characters, the first image, and the
/// programme room when there is one.
pub fn programme_info(p: &provider::Programme, room: Option<Uuid>) -> pb::ProgrammeInfo {
    pb::ProgrammeInfo {
        programme_id: p.programme_id.clone(),
        channel_id: p.channel_id.clone(),
        title: catalog::room_title(p.titles.iter().map(|t| t.value.as_str()), &p.programme_id, 300),
        subtitle: catalog::clean_text(first_text(&p.subtitles), 300, false),
        description: catalog::clean_text(first_text(&p.descriptions), catalog::INFO_DESCRIPTION_MAX, true),
        start_time: p.start_time,
        end_time: p.end_time,
        season: p.season,
        episode: p.episode,
        image_url: p
            .images
            .iter()
            .map(|i| i.url.trim())
            .find(|u| u.starts_with("https://") || u.starts_with("http://"))
            .unwrap_or_default()
            .to_owned(),
        parental_rating: rating_display(&p.parental_ratings),
        room_id: room.map(|r| r.to_string()).unwrap_or_default(),
    }
}

/// A channel's now/next; `rooms` maps programme ids to their rooms.
pub fn now_next(
    now: Option<&provider::Programme>,
    next: Option<&provider::Programme>,
    rooms: &HashMap<String, Uuid>,
) -> pb::NowNext {
    let info = |p: &provider::Programme| programme_info(p, rooms.get(&p.programme_id).copied());
    pb::NowNext { now: now.map(info), next: next.map(info) }
}

pub fn readiness(r: Readiness) -> pb::Readiness {
    match r {
        Readiness::Unknown => pb::Readiness::Unspecified,
        Readiness::Ready => pb::Readiness::Ready,
        Readiness::Buffering => pb::Readiness::Buffering,
        Readiness::Failed => pb::Readiness::Failed,
    }
}

pub fn readiness_from(raw: i32) -> Option<Readiness> {
    match pb::Readiness::try_from(raw).ok()? {
        pb::Readiness::Ready => Some(Readiness::Ready),
        pb::Readiness::Buffering => Some(Readiness::Buffering),
        pb::Readiness::Failed => Some(Readiness::Failed),
        pb::Readiness::Unspecified => None,
    }
}

pub fn member_playback(m: &MemberPlayback) -> pb::MemberPlayback {
    pb::MemberPlayback { readiness: readiness(m.readiness) as i32, holds_group: m.holds_group, released: m.released }
}

fn status(s: Status) -> pb::PlaybackStatus {
    match s {
        Status::Idle => pb::PlaybackStatus::Idle,
        Status::Waiting => pb::PlaybackStatus::Waiting,
        Status::Playing => pb::PlaybackStatus::Playing,
        Status::Paused => pb::PlaybackStatus::Paused,
    }
}

fn cause(c: Cause) -> pb::PlaybackCause {
    match c {
        Cause::Unspecified => pb::PlaybackCause::Unspecified,
        Cause::Play => pb::PlaybackCause::Play,
        Cause::Pause => pb::PlaybackCause::Pause,
        Cause::Seek => pb::PlaybackCause::Seek,
        Cause::SetRate => pb::PlaybackCause::SetRate,
        Cause::ChangeMedia => pb::PlaybackCause::ChangeMedia,
        Cause::PlayNext => pb::PlaybackCause::PlayNext,
        Cause::AutoAdvance => pb::PlaybackCause::AutoAdvance,
        Cause::Ended => pb::PlaybackCause::Ended,
        Cause::GroupReady => pb::PlaybackCause::GroupReady,
        Cause::ReadyTimeout => pb::PlaybackCause::ReadyTimeout,
        Cause::Reset => pb::PlaybackCause::Reset,
    }
}

pub fn playback(g: &Group) -> pb::PlaybackState {
    let live = g.is_live();
    pb::PlaybackState {
        media: g.media.as_ref().map(media_ref),
        media_summary: g.media.as_ref().map(media_summary),
        status: status(g.status) as i32,
        position: (!live).then(|| duration_ms(g.position_ms)),
        reference_time: Some(timestamp_ms(g.reference_ms)),
        rate: g.rate,
        version: g.version,
        changed_by: g.changed_by.clone(),
        cause: cause(g.cause) as i32,
        live,
        target_latency: live.then(|| duration_ms(g.target_latency_ms)),
        wait_deadline: (g.status == Status::Waiting).then(|| timestamp_ms(g.wait_deadline_ms)),
        not_entitled_user_ids: g
            .not_entitled
            .iter()
            .take(catalog::NOT_ENTITLED_LISTED_MAX)
            .map(Uuid::to_string)
            .collect(),
    }
}

pub fn queue_item(entry: &crate::state::playback::QueueEntry) -> pb::QueueItem {
    pb::QueueItem {
        item_id: entry.item_id.to_string(),
        media: Some(media_ref(&entry.media)),
        media_summary: Some(media_summary(&entry.media)),
        added_by: entry.added_by.to_string(),
        add_time: Some(timestamp_ms(entry.added_ms)),
    }
}

pub fn ban(row: &BanRow) -> pb::Ban {
    pb::Ban {
        user: Some(user_ref(row.user_id)),
        reason: row.reason.clone(),
        banned_by: row.banned_by.to_string(),
        create_time: Some(timestamp(row.created_at)),
        expire_time: row.expires_at.map(timestamp),
    }
}

pub fn invite(row: &InviteRow, public_url: &str) -> pb::Invite {
    pb::Invite {
        code: row.code.clone(),
        room_id: row.room_id.to_string(),
        created_by: row.created_by.to_string(),
        create_time: Some(timestamp(row.created_at)),
        expire_time: row.expires_at.map(timestamp),
        max_uses: row.max_uses.max(0) as u32,
        use_count: row.use_count.max(0) as u32,
        revoke_time: row.revoked_at.map(timestamp),
        url: format!("{}/i/{}", public_url.trim_end_matches('/'), row.code),
        invitee_user_id: row.invitee_id.map(|u| u.to_string()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millisecond_times_convert_exactly() {
        assert_eq!(timestamp_ms(1_500), wkt::Timestamp { seconds: 1, nanos: 500_000_000 });
        assert_eq!(timestamp_ms(-1), wkt::Timestamp { seconds: -1, nanos: 999_000_000 });
        assert_eq!(duration_ms(2_250), wkt::Duration { seconds: 2, nanos: 250_000_000 });
        assert_eq!(position_ms(Some(&wkt::Duration { seconds: 3, nanos: 5_000_000 })).unwrap(), Some(3_005));
        assert!(position_ms(Some(&wkt::Duration { seconds: -3, nanos: 0 })).is_err());
    }

    #[test]
    fn programmes_convert_to_programme_info() {
        let text = |v: &str| provider::LocalizedString { language: "de".into(), value: v.into() };
        let programme = provider::Programme {
            programme_id: "ard@1".into(),
            channel_id: "ard".into(),
            start_time: Some(wkt::Timestamp { seconds: 100, nanos: 0 }),
            end_time: Some(wkt::Timestamp { seconds: 200, nanos: 0 }),
            titles: vec![text(""), text("Tagesschau\u{0007}")],
            subtitles: vec![text("Folge 1")],
            descriptions: vec![text(&"x".repeat(900))],
            season: Some(1),
            episode: Some(4),
            images: vec![provider::Image { url: "https://img.example/t.jpg".into(), ..Default::default() }],
            parental_ratings: vec![provider::ParentalRating { system: "FSK".into(), value: "12".into(), min_age: 12 }],
            ..Default::default()
        };
        let room = Uuid::now_v7();
        let info = programme_info(&programme, Some(room));
        assert_eq!((info.title.as_str(), info.subtitle.as_str()), ("Tagesschau", "Folge 1"));
        assert_eq!(info.description.chars().count(), 500);
        assert_eq!((info.season, info.episode), (Some(1), Some(4)));
        assert_eq!(info.image_url, "https://img.example/t.jpg");
        assert_eq!(info.parental_rating, "FSK 12");
        assert_eq!(info.room_id, room.to_string());
        assert_eq!(info.start_time.map(|t| t.seconds), Some(100));
        let bare = provider::Programme { programme_id: "p".into(), ..Default::default() };
        let info = programme_info(&bare, None);
        assert_eq!((info.title.as_str(), info.room_id.as_str(), info.parental_rating.as_str()), ("p", "", ""));
        let rooms = HashMap::from([("ard@1".to_owned(), room)]);
        let nn = now_next(Some(&programme), None, &rooms);
        assert_eq!(nn.now.map(|n| n.room_id), Some(room.to_string()));
        assert!(nn.next.is_none());
        assert_eq!(
            datetime(&wkt::Timestamp { seconds: 1, nanos: 5 }).map(|t| t.unix_timestamp_nanos()),
            Some(1_000_000_005)
        );
    }

    #[test]
    fn live_playback_has_no_position() {
        let live = Group {
            media: Some(Media::Channel("c".into())),
            status: Status::Playing,
            target_latency_ms: 6000,
            ..Group::default()
        };
        let pb = playback(&live);
        assert!(pb.live && pb.position.is_none() && pb.target_latency.is_some());
    }
}
