//! The contract's rules for data the provider gives Hearth (provider.proto):
//! pushed batches are refused whole on the first violation (with the field
//! path), synced items that break a rule are skipped and logged, and
//! viewing events are judged one by one.

use hearth_platform::validate::FieldError;
use hearth_proto::hearth::provider::v1::{
    Channel, Image, LocalizedString, ParentalRating, Programme, ViewingEvent, ViewingEventKind, viewing_event,
};
use hearth_proto::wkt::Timestamp;
use time::{Duration, OffsetDateTime};

/// Longest provider identifier (channel, programme, asset, user ids).
pub const ID_MAX: usize = 256;
/// Longest viewing event id.
pub const EVENT_ID_MAX: usize = 128;
/// How far in the past a viewing event may have happened.
pub const VIEWING_PAST: Duration = Duration::days(7);
/// How far in the future a viewing event may claim to have happened.
pub const VIEWING_FUTURE: Duration = Duration::minutes(5);

fn err(field: String, reason: impl Into<String>) -> FieldError {
    FieldError::new(field, reason)
}

/// An opaque id: 1–`max` characters, no control characters.
pub fn id(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    let len = value.chars().count();
    if len == 0 {
        return Err(err(field.into(), "is required"));
    }
    if len > max {
        return Err(err(field.into(), format!("must be at most {max} characters, got {len}")));
    }
    if value.chars().any(char::is_control) {
        return Err(err(field.into(), "must not contain control characters"));
    }
    Ok(())
}

fn short(field: String, value: &str, max: usize) -> Result<(), FieldError> {
    if value.chars().count() > max {
        return Err(err(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(err(field, "must not contain control characters"));
    }
    Ok(())
}

fn count<T>(field: &str, items: &[T], min: usize, max: usize) -> Result<(), FieldError> {
    if items.len() < min || items.len() > max {
        let reason = if min > 0 && items.is_empty() {
            "is required".to_owned()
        } else {
            format!("must have {min}–{max} entries, got {}", items.len())
        };
        return Err(err(field.into(), reason));
    }
    Ok(())
}

fn texts(
    field: &str,
    items: &[LocalizedString],
    min: usize,
    max_len: usize,
    multiline: bool,
) -> Result<(), FieldError> {
    count(field, items, min, 20)?;
    for (i, text) in items.iter().enumerate() {
        short(format!("{field}[{i}].language"), &text.language, 35)?;
        let len = text.value.chars().count();
        if len == 0 || len > max_len {
            return Err(err(format!("{field}[{i}].value"), format!("must be 1–{max_len} characters, got {len}")));
        }
        let allowed = |c: char| multiline && (c == '\n' || c == '\r' || c == '\t');
        if text.value.chars().any(|c| c.is_control() && !allowed(c)) {
            return Err(err(format!("{field}[{i}].value"), "must not contain control characters"));
        }
    }
    Ok(())
}

fn images(field: &str, items: &[Image]) -> Result<(), FieldError> {
    count(field, items, 0, 10)?;
    for (i, image) in items.iter().enumerate() {
        let url = &image.url;
        let absolute = url.starts_with("https://") || url.starts_with("http://");
        if !absolute || url.len() > 2048 || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(err(format!("{field}[{i}].url"), "must be an absolute http(s) URL of at most 2048 characters"));
        }
    }
    Ok(())
}

fn ratings(field: &str, items: &[ParentalRating]) -> Result<(), FieldError> {
    count(field, items, 0, 10)?;
    for (i, rating) in items.iter().enumerate() {
        short(format!("{field}[{i}].system"), &rating.system, 32)?;
        id(&format!("{field}[{i}].value"), &rating.value, 32)?;
    }
    Ok(())
}

/// A channel as provider.proto defines it; `field` prefixes error paths.
pub fn channel(field: &str, c: &Channel) -> Result<(), FieldError> {
    id(&format!("{field}.channel_id"), &c.channel_id, ID_MAX)?;
    short(format!("{field}.epg_id"), &c.epg_id, ID_MAX)?;
    texts(&format!("{field}.names"), &c.names, 1, 300, false)?;
    short(format!("{field}.number"), &c.number, 16)?;
    images(&format!("{field}.logos"), &c.logos)?;
    count(&format!("{field}.groups"), &c.groups, 0, 20)?;
    for (i, group) in c.groups.iter().enumerate() {
        id(&format!("{field}.groups[{i}]"), group, 100)?;
    }
    ratings(&format!("{field}.parental_ratings"), &c.parental_ratings)?;
    count(&format!("{field}.languages"), &c.languages, 0, 10)?;
    count(&format!("{field}.regions"), &c.regions, 0, 50)?;
    Ok(())
}

/// A programme as provider.proto defines it.
pub fn programme(field: &str, p: &Programme) -> Result<(), FieldError> {
    id(&format!("{field}.programme_id"), &p.programme_id, ID_MAX)?;
    id(&format!("{field}.channel_id"), &p.channel_id, ID_MAX)?;
    let (start, end) = window(field, p.start_time.as_ref(), p.end_time.as_ref())?;
    if end <= start {
        return Err(err(format!("{field}.end_time"), "must be after start_time"));
    }
    texts(&format!("{field}.titles"), &p.titles, 1, 300, false)?;
    texts(&format!("{field}.subtitles"), &p.subtitles, 0, 300, false)?;
    texts(&format!("{field}.descriptions"), &p.descriptions, 0, 1000, true)?;
    texts(&format!("{field}.categories"), &p.categories, 0, 300, false)?;
    short(format!("{field}.episode_display"), &p.episode_display, 32)?;
    short(format!("{field}.series_id"), &p.series_id, ID_MAX)?;
    images(&format!("{field}.images"), &p.images)?;
    ratings(&format!("{field}.parental_ratings"), &p.parental_ratings)?;
    Ok(())
}

/// Both ends of a window, present and representable.
pub fn window(
    field: &str,
    start: Option<&Timestamp>,
    end: Option<&Timestamp>,
) -> Result<(OffsetDateTime, OffsetDateTime), FieldError> {
    let at = |name: &str, t: Option<&Timestamp>| {
        t.and_then(hearth_platform::wkt::datetime)
            .ok_or_else(|| err(format!("{field}.{name}"), "is required and must be a valid UTC time"))
    };
    Ok((at("start_time", start)?, at("end_time", end)?))
}

/// Why a viewing event was rejected: (field, stable reason).
pub type Rejection = (&'static str, &'static str);

/// A viewing event as ReportViewing accepts it, judged at `now`.
pub fn viewing_event(e: &ViewingEvent, now: OffsetDateTime) -> Result<(), Rejection> {
    let bad_id = |value: &str, max: usize| id("", value, max).is_err();
    if bad_id(&e.event_id, EVENT_ID_MAX) {
        return Err(("event_id", "invalid_event_id"));
    }
    if bad_id(&e.provider_user_id, ID_MAX) {
        return Err(("provider_user_id", "invalid_provider_user_id"));
    }
    let kind = ViewingEventKind::try_from(e.kind).unwrap_or(ViewingEventKind::Unspecified);
    if kind == ViewingEventKind::Unspecified {
        return Err(("kind", "unknown_kind"));
    }
    match &e.item {
        None => return Err(("item", "missing_item")),
        Some(viewing_event::Item::ChannelId(v)) if bad_id(v, ID_MAX) => return Err(("channel_id", "invalid_item_id")),
        Some(viewing_event::Item::AssetId(v)) if bad_id(v, ID_MAX) => return Err(("asset_id", "invalid_item_id")),
        Some(_) => {}
    }
    if !e.programme_id.is_empty() && bad_id(&e.programme_id, ID_MAX) {
        return Err(("programme_id", "invalid_programme_id"));
    }
    if kind == ViewingEventKind::Zap {
        if !matches!(e.item, Some(viewing_event::Item::ChannelId(_))) {
            return Err(("channel_id", "zap_needs_channel"));
        }
        if bad_id(&e.previous_channel_id, ID_MAX) {
            return Err(("previous_channel_id", "zap_needs_previous_channel"));
        }
    } else if !e.previous_channel_id.is_empty() {
        return Err(("previous_channel_id", "previous_channel_only_for_zap"));
    }
    let Some(at) = e.occur_time.as_ref().and_then(hearth_platform::wkt::datetime) else {
        return Err(("occur_time", "missing_occur_time"));
    };
    if at < now - VIEWING_PAST || at > now + VIEWING_FUTURE {
        return Err(("occur_time", "occur_time_out_of_range"));
    }
    if e.session_id.chars().count() > EVENT_ID_MAX || e.session_id.chars().any(char::is_control) {
        return Err(("session_id", "invalid_session_id"));
    }
    if e.position.as_ref().is_some_and(|d| d.seconds < 0 || d.nanos < 0) {
        return Err(("position", "negative_position"));
    }
    let region = &e.region;
    let alpha2 = region.len() == 2 && region.chars().all(|c| c.is_ascii_alphabetic());
    if !region.is_empty() && !alpha2 {
        return Err(("region", "invalid_region"));
    }
    Ok(())
}

/// The subject suffix of a viewing event kind (`hearth.provider.viewing.<kind>`).
pub fn viewing_kind_name(kind: i32) -> &'static str {
    match ViewingEventKind::try_from(kind) {
        Ok(ViewingEventKind::Start) => "start",
        Ok(ViewingEventKind::Heartbeat) => "heartbeat",
        Ok(ViewingEventKind::Stop) => "stop",
        Ok(ViewingEventKind::Zap) => "zap",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use hearth_proto::hearth::provider::v1::ViewingEventKind;

    use super::*;

    fn event(kind: ViewingEventKind) -> ViewingEvent {
        ViewingEvent {
            event_id: "ev-1".into(),
            provider_user_id: "u-1".into(),
            kind: kind as i32,
            item: Some(viewing_event::Item::ChannelId("c-1".into())),
            occur_time: Some(hearth_platform::wkt::timestamp(now())),
            ..Default::default()
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    #[test]
    fn viewing_events_are_judged_one_rule_at_a_time() {
        assert_eq!(viewing_event(&event(ViewingEventKind::Start), now()), Ok(()));
        let with = |f: &dyn Fn(&mut ViewingEvent)| {
            let mut e = event(ViewingEventKind::Start);
            f(&mut e);
            viewing_event(&e, now()).err()
        };
        assert_eq!(with(&|e| e.event_id.clear()), Some(("event_id", "invalid_event_id")));
        assert_eq!(with(&|e| e.event_id = "x".repeat(129)), Some(("event_id", "invalid_event_id")));
        assert_eq!(with(&|e| e.kind = 0), Some(("kind", "unknown_kind")));
        assert_eq!(with(&|e| e.kind = 99), Some(("kind", "unknown_kind")));
        assert_eq!(with(&|e| e.item = None), Some(("item", "missing_item")));
        assert_eq!(
            with(&|e| e.previous_channel_id = "c-0".into()),
            Some(("previous_channel_id", "previous_channel_only_for_zap"))
        );
        assert_eq!(with(&|e| e.occur_time = None), Some(("occur_time", "missing_occur_time")));
        let at = |d: Duration| Some(hearth_platform::wkt::timestamp(now() + d));
        assert_eq!(with(&|e| e.occur_time = at(Duration::days(-8))), Some(("occur_time", "occur_time_out_of_range")));
        assert_eq!(with(&|e| e.occur_time = at(Duration::minutes(6))), Some(("occur_time", "occur_time_out_of_range")));
        assert_eq!(with(&|e| e.occur_time = at(Duration::minutes(4))), None);
        assert_eq!(with(&|e| e.region = "DEU".into()), Some(("region", "invalid_region")));
        assert_eq!(with(&|e| e.region = "de".into()), None);
        let mut zap = event(ViewingEventKind::Zap);
        assert_eq!(viewing_event(&zap, now()), Err(("previous_channel_id", "zap_needs_previous_channel")));
        zap.previous_channel_id = "c-0".into();
        assert_eq!(viewing_event(&zap, now()), Ok(()));
        zap.item = Some(viewing_event::Item::AssetId("a".into()));
        assert_eq!(viewing_event(&zap, now()), Err(("channel_id", "zap_needs_channel")));
    }

    #[test]
    fn channels_and_programmes_name_the_offending_field() {
        let names = vec![LocalizedString { language: "en".into(), value: "One".into() }];
        let mut c = Channel { channel_id: "c".into(), names: names.clone(), ..Default::default() };
        assert!(channel("upserts[0]", &c).is_ok());
        c.logos = vec![Image { url: "ftp://x".into(), ..Default::default() }];
        assert_eq!(channel("upserts[0]", &c).unwrap_err().field, "upserts[0].logos[0].url");
        c.logos.clear();
        c.groups = vec![String::new()];
        assert_eq!(channel("upserts[0]", &c).unwrap_err().field, "upserts[0].groups[0]");
        let ts = |m: i64| Some(hearth_platform::wkt::timestamp(now() + Duration::minutes(m)));
        let mut p = Programme {
            programme_id: "p".into(),
            channel_id: "c".into(),
            start_time: ts(0),
            end_time: ts(30),
            titles: names,
            ..Default::default()
        };
        assert!(programme("p", &p).is_ok());
        p.descriptions = vec![LocalizedString { language: String::new(), value: "line\nbreak".into() }];
        assert!(programme("p", &p).is_ok(), "descriptions may hold newlines");
        p.end_time = ts(0);
        assert_eq!(programme("p", &p).unwrap_err().field, "p.end_time");
        p.end_time = None;
        assert_eq!(programme("p", &p).unwrap_err().field, "p.end_time");
    }
}
