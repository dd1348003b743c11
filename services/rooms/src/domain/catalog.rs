//! Rules of catalog sync and entitlement, pure: what a channel or programme
//! room looks like for a catalog entry, which programmes get a room and
//! when it opens and closes, how long now/next may be reused, and who a
//! "zap together" leaves behind.

use std::time::Duration;

use hearth_platform::config::ProgrammeRooms;
use time::OffsetDateTime;
use uuid::Uuid;

use super::fields::{Media, URL_MAX};

/// Creator and owner of the rooms catalog sync makes (channel and programme
/// rooms). The nil UUID is no account: such rooms have no member row for
/// it, so they never count toward anyone's owned rooms, and only operator
/// admins manage them (as for every channel and programme room).
pub const SYSTEM_USER: Uuid = Uuid::nil();

/// Longest ProgrammeInfo description (rooms.proto).
pub const INFO_DESCRIPTION_MAX: usize = 500;

/// Now/next is reused at most this long, and never past the end of the
/// programme airing now (the guide moves on then).
pub const NOW_NEXT_TTL: Duration = Duration::from_secs(30);

/// Catalog text made fit for a room field: control characters dropped
/// (newlines kept when `multiline`, else turned into spaces), whitespace
/// trimmed, cut to `max` characters. Catalog text is the provider's, so it
/// is repaired rather than refused.
pub fn clean_text(raw: &str, max: usize, multiline: bool) -> String {
    let cleaned: String = raw
        .chars()
        .filter_map(|c| match c {
            '\n' if multiline => Some('\n'),
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    cleaned.trim().chars().take(max).collect::<String>().trim_end().to_owned()
}

/// The first image usable as a room image: https only (room images must
/// be), at most URL_MAX characters; empty when there is none.
pub fn https_image<'a>(urls: impl IntoIterator<Item = &'a str>) -> String {
    urls.into_iter()
        .map(str::trim)
        .find(|url| url.len() <= URL_MAX && url.len() > "https://".len() && url.starts_with("https://"))
        .unwrap_or_default()
        .to_owned()
}

/// A room title from the catalog's first non-empty text, else `fallback`
/// (the channel or programme id), so a room never has an empty title.
pub fn room_title<'a>(texts: impl IntoIterator<Item = &'a str>, fallback: &str, max: usize) -> String {
    texts
        .into_iter()
        .map(|t| clean_text(t, max, false))
        .find(|t| !t.is_empty())
        .unwrap_or_else(|| clean_text(fallback, max, false))
}

/// A room's lifecycle state (`rooms.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomState {
    Scheduled,
    Active,
    Archived,
}

impl RoomState {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomState::Scheduled => "scheduled",
            RoomState::Active => "active",
            RoomState::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<RoomState> {
        Some(match s {
            "scheduled" => RoomState::Scheduled,
            "active" => RoomState::Active,
            "archived" => RoomState::Archived,
            _ => return None,
        })
    }
}

/// When a programme room opens and is archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub open: OffsetDateTime,
    pub archive: OffsetDateTime,
}

/// Opens `lead` before the start, archived `linger` after the end.
pub fn schedule(start: OffsetDateTime, end: OffsetDateTime, lead: Duration, linger: Duration) -> Schedule {
    Schedule { open: start - lead, archive: end.max(start) + linger }
}

impl Schedule {
    /// The state the schedule gives at `now`.
    pub fn state_at(&self, now: OffsetDateTime) -> RoomState {
        if now >= self.archive {
            RoomState::Archived
        } else if now >= self.open {
            RoomState::Active
        } else {
            RoomState::Scheduled
        }
    }
}

/// The state a programme room moves to when the guide says `scheduled`:
/// an open room is never closed again because its programme moved later,
/// and an archived one comes back when its programme is back in the guide
/// and not over (its channel returned).
pub fn next_state(current: RoomState, scheduled: RoomState) -> RoomState {
    match (current, scheduled) {
        (RoomState::Active, RoomState::Scheduled) => RoomState::Active,
        (_, wanted) => wanted,
    }
}

/// What a catalog room shows, compared between the stored and the wanted
/// room so that an unchanged catalog entry writes and publishes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub image_url: &'a str,
    pub sensitive: bool,
    pub state: RoomState,
    pub open: Option<OffsetDateTime>,
    pub archive: Option<OffsetDateTime>,
}

/// The Room fields (RoomUpdated.changed_fields paths) that differ.
pub fn changed_fields(current: &Shown<'_>, wanted: &Shown<'_>) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut note = |differs: bool, field| {
        if differs {
            changed.push(field);
        }
    };
    note(current.title != wanted.title, "title");
    note(current.description != wanted.description, "description");
    note(current.image_url != wanted.image_url, "image_url");
    note(current.sensitive != wanted.sensitive, "settings.sensitive");
    note(current.open != wanted.open, "open_time");
    note(current.archive != wanted.archive, "archive_time");
    note(current.state != wanted.state, "state");
    changed
}

/// A guide programme as the room rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Airing {
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub live: bool,
    pub premiere: bool,
}

/// Whether the operator's policy gives this kind of programme a room.
pub fn qualifies(policy: ProgrammeRooms, live: bool, premiere: bool) -> bool {
    match policy {
        ProgrammeRooms::None => false,
        ProgrammeRooms::Featured => live || premiere,
        ProgrammeRooms::All => true,
    }
}

/// Whether catalog sync makes (or keeps in step) a room for `airing` at
/// `now`: it qualifies, starts before the horizon, and is not archived
/// already by its schedule.
pub fn wants_room(
    policy: ProgrammeRooms,
    airing: &Airing,
    now: OffsetDateTime,
    horizon: Duration,
    linger: Duration,
) -> bool {
    qualifies(policy, airing.live, airing.premiere)
        && airing.start < now + horizon
        && airing.end > airing.start
        && airing.end + linger > now
}

/// The part of a changed guide window catalog sync looks at: from now (past
/// programmes get no room) to the horizon. `None` when nothing is left.
pub fn guide_window(
    start: OffsetDateTime,
    end: OffsetDateTime,
    now: OffsetDateTime,
    horizon: Duration,
) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let from = start.max(now);
    let to = end.min(now + horizon);
    (from < to).then_some((from, to))
}

/// How long a channel's now/next may be reused from `now_ms`: until the
/// programme airing now ends, at most NOW_NEXT_TTL, at least a second (a
/// guide running late must not make every snapshot ask again).
pub fn now_next_ttl(now_ms: i64, airing_end_ms: Option<i64>) -> Duration {
    let cap = NOW_NEXT_TTL.as_millis() as i64;
    let left = airing_end_ms.map_or(cap, |end| end.saturating_sub(now_ms)).clamp(1_000, cap);
    Duration::from_millis(left as u64)
}

/// How old a NowChanged without a programme airing may be and still be
/// announced.
pub const NOW_CHANGED_MAX_AGE: Duration = Duration::from_secs(300);

/// Whether a NowChanged is history by the time it is handled (a consumer
/// that was away replays the stream): its programme has ended, or, with
/// nothing airing, it is older than NOW_CHANGED_MAX_AGE. Stale ones are
/// not announced, so rooms never flick through old guides.
pub fn now_changed_is_stale(
    airing_end: Option<OffsetDateTime>,
    occurred: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> bool {
    match airing_end {
        Some(end) => end <= now,
        None => occurred.is_some_and(|at| now - at > NOW_CHANGED_MAX_AGE),
    }
}

/// What entitlement is asked about: channels, programmes and assets; a
/// stream URL is the room's own and never checked.
pub fn entitlement_target(media: &Media) -> Option<&Media> {
    match media {
        Media::Url(_) => None,
        other => Some(other),
    }
}

/// Why the catalog refused a user (provider DenialReason, by meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    NotSubscribed,
    GeoBlocked,
    ParentalControl,
    ConcurrencyLimit,
    AccountSuspended,
    UnknownUser,
    UnknownItem,
    NotAvailable,
    Other,
}

impl Denial {
    /// What the user reads when the provider gave no message of its own.
    pub fn default_message(self) -> &'static str {
        match self {
            Denial::NotSubscribed => "this is not part of your subscription",
            Denial::GeoBlocked => "this is not available in your region",
            Denial::ParentalControl => "your parental controls block this",
            Denial::ConcurrencyLimit => "you are watching on too many devices",
            Denial::AccountSuspended => "your TV account is suspended",
            Denial::UnknownUser => "your Hearth account is not linked to a TV account",
            Denial::UnknownItem => "this is not in the TV catalog",
            Denial::NotAvailable => "this is not available to watch now",
            Denial::Other => "you may not watch this",
        }
    }
}

/// One user's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub user: Uuid,
    /// `None`: allowed.
    pub denial: Option<Denial>,
    /// The provider's message for the user; may be empty.
    pub message: String,
}

impl Decision {
    pub fn allowed(user: Uuid) -> Self {
        Self { user, denial: None, message: String::new() }
    }

    /// The text shown to a refused user: the provider's, else ours.
    pub fn refusal_message(&self) -> String {
        match (&self.denial, self.message.trim()) {
            (None, _) => String::new(),
            (Some(denial), "") => denial.default_message().to_owned(),
            (Some(_), message) => message.chars().take(200).collect(),
        }
    }
}

/// The caller was refused: the act does not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerRefused(pub Decision);

/// Splits a group's answers for a "zap together": the caller must be
/// allowed; every other refused user is skipped (they stay members on the
/// previous media), returned in answer order. A caller missing from the
/// answers counts as refused (the catalog must answer for everyone asked).
pub fn skipped_members(caller: Uuid, decisions: &[Decision]) -> Result<Vec<Uuid>, CallerRefused> {
    match decisions.iter().find(|d| d.user == caller) {
        None => {
            return Err(CallerRefused(Decision { user: caller, denial: Some(Denial::Other), message: String::new() }));
        }
        Some(d) if d.denial.is_some() => return Err(CallerRefused(d.clone())),
        Some(_) => {}
    }
    Ok(decisions.iter().filter(|d| d.user != caller && d.denial.is_some()).map(|d| d.user).collect())
}

/// Most skipped users listed in a PlaybackState (rooms.proto).
pub const NOT_ENTITLED_LISTED_MAX: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).unwrap()
    }

    const MIN: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn catalog_text_is_repaired_not_refused() {
        assert_eq!(clean_text("  News\u{0007} at\tten \n", 120, false), "News at ten");
        assert_eq!(clean_text("a\nb", 10, true), "a\nb");
        assert_eq!(clean_text("a\nb", 10, false), "a b");
        assert_eq!(clean_text(&"é".repeat(200), 120, false).chars().count(), 120);
        assert_eq!(clean_text("abc   def", 5, false), "abc", "no trailing space after the cut");
    }

    #[test]
    fn titles_fall_back_to_the_id_and_images_need_https() {
        assert_eq!(room_title(["", "  ", "Das Erste"], "ard", 120), "Das Erste");
        assert_eq!(room_title([], "ard.de", 120), "ard.de");
        assert_eq!(https_image(["http://x.example/a.png", "https://x.example/b.png"]), "https://x.example/b.png");
        assert_eq!(https_image(["ftp://x"]), "");
        let long = format!("https://x.example/{}", "a".repeat(URL_MAX));
        assert_eq!(https_image([long.as_str()]), "");
    }

    #[test]
    fn policy_decides_which_programmes_get_rooms() {
        assert!(!qualifies(ProgrammeRooms::None, true, true));
        assert!(qualifies(ProgrammeRooms::Featured, true, false));
        assert!(qualifies(ProgrammeRooms::Featured, false, true));
        assert!(!qualifies(ProgrammeRooms::Featured, false, false));
        assert!(qualifies(ProgrammeRooms::All, false, false));
    }

    #[test]
    fn rooms_are_made_within_the_horizon_until_archived() {
        let now = at(0);
        let airing = |start: i64, end: i64| Airing { start: at(start), end: at(end), live: true, premiere: false };
        let (horizon, linger) = (24 * HOUR, 2 * HOUR);
        assert!(wants_room(ProgrammeRooms::Featured, &airing(3600, 7200), now, horizon, linger));
        assert!(wants_room(ProgrammeRooms::Featured, &airing(-600, 600), now, horizon, linger), "airing now");
        assert!(!wants_room(ProgrammeRooms::Featured, &airing(25 * 3600, 26 * 3600), now, horizon, linger));
        assert!(wants_room(ProgrammeRooms::Featured, &airing(-7200, -3600), now, horizon, linger), "lingering");
        assert!(!wants_room(ProgrammeRooms::Featured, &airing(-4 * 3600, -3 * 3600), now, horizon, linger));
        assert!(!wants_room(ProgrammeRooms::Featured, &airing(100, 100), now, horizon, linger), "empty airing");
        let plain = Airing { live: false, ..airing(3600, 7200) };
        assert!(!wants_room(ProgrammeRooms::Featured, &plain, now, horizon, linger));
    }

    #[test]
    fn schedule_opens_before_and_archives_after() {
        let s = schedule(at(3600), at(7200), 30 * MIN, 2 * HOUR);
        assert_eq!(s, Schedule { open: at(1800), archive: at(14_400) });
        assert_eq!(s.state_at(at(0)), RoomState::Scheduled);
        assert_eq!(s.state_at(at(1800)), RoomState::Active);
        assert_eq!(s.state_at(at(14_399)), RoomState::Active);
        assert_eq!(s.state_at(at(14_400)), RoomState::Archived);
        // A guide with end before start still archives after the start.
        assert_eq!(schedule(at(100), at(50), MIN, MIN).archive, at(160));
    }

    #[test]
    fn open_rooms_stay_open_and_archived_ones_can_return() {
        use RoomState::*;
        assert_eq!(next_state(Active, Scheduled), Active);
        assert_eq!(next_state(Scheduled, Active), Active);
        assert_eq!(next_state(Active, Archived), Archived);
        assert_eq!(next_state(Archived, Scheduled), Scheduled);
        assert_eq!(next_state(Archived, Active), Active);
        for s in [Scheduled, Active, Archived] {
            assert_eq!(RoomState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn only_what_differs_is_changed() {
        let current = Shown {
            title: "A",
            description: "",
            image_url: "",
            sensitive: false,
            state: RoomState::Archived,
            open: None,
            archive: None,
        };
        assert!(changed_fields(&current, &current.clone()).is_empty());
        let wanted = Shown { title: "B", sensitive: true, state: RoomState::Active, ..current.clone() };
        assert_eq!(changed_fields(&current, &wanted), vec!["title", "settings.sensitive", "state"]);
        let moved = Shown { open: Some(at(1)), archive: Some(at(2)), ..current.clone() };
        assert_eq!(changed_fields(&current, &moved), vec!["open_time", "archive_time"]);
    }

    #[test]
    fn guide_windows_are_cut_to_now_and_the_horizon() {
        let now = at(0);
        assert_eq!(guide_window(at(-100), at(100), now, HOUR), Some((at(0), at(100))));
        assert_eq!(guide_window(at(0), at(10 * 3600), now, HOUR), Some((at(0), at(3600))));
        assert_eq!(guide_window(at(-100), at(-1), now, HOUR), None);
        assert_eq!(guide_window(at(7200), at(9000), now, HOUR), None);
    }

    #[test]
    fn now_next_is_reused_until_the_programme_ends_at_most_30_s() {
        assert_eq!(now_next_ttl(0, None), NOW_NEXT_TTL);
        assert_eq!(now_next_ttl(0, Some(10_000)), Duration::from_secs(10));
        assert_eq!(now_next_ttl(0, Some(3_600_000)), NOW_NEXT_TTL);
        assert_eq!(now_next_ttl(5_000, Some(4_000)), Duration::from_secs(1), "late guide: at least a second");
    }

    #[test]
    fn replayed_now_changes_are_stale() {
        let now = at(0);
        assert!(now_changed_is_stale(Some(at(-1)), Some(at(-5)), now), "its programme is over");
        assert!(!now_changed_is_stale(Some(at(60)), Some(at(-3600)), now), "still airing, however old");
        assert!(!now_changed_is_stale(None, Some(at(-60)), now));
        assert!(now_changed_is_stale(None, Some(at(-301)), now));
        assert!(!now_changed_is_stale(None, None, now));
    }

    #[test]
    fn urls_are_never_checked() {
        assert_eq!(entitlement_target(&Media::Url("https://x".into())), None);
        assert!(entitlement_target(&Media::Asset("a".into())).is_some());
        assert!(entitlement_target(&Media::Programme("p".into())).is_some());
    }

    #[test]
    fn zapping_skips_refused_members_but_not_a_refused_caller() {
        let (caller, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let refused = |user| Decision { user, denial: Some(Denial::NotSubscribed), message: String::new() };
        let answers = vec![Decision::allowed(caller), refused(a), Decision::allowed(b)];
        assert_eq!(skipped_members(caller, &answers), Ok(vec![a]));
        let answers = vec![refused(caller), Decision::allowed(a)];
        assert_eq!(skipped_members(caller, &answers).unwrap_err().0.user, caller);
        assert!(skipped_members(caller, &[Decision::allowed(a)]).is_err(), "an unanswered caller is refused");
    }

    #[test]
    fn refusals_carry_the_providers_message_or_ours() {
        let user = Uuid::now_v7();
        let d = Decision { user, denial: Some(Denial::GeoBlocked), message: "  ".into() };
        assert_eq!(d.refusal_message(), "this is not available in your region");
        let d = Decision { message: "Upgrade to Sports+".into(), ..d };
        assert_eq!(d.refusal_message(), "Upgrade to Sports+");
        assert_eq!(Decision::allowed(user).refusal_message(), "");
    }
}
