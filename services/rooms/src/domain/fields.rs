//! Validation of room fields (rooms.proto's rules), independent of protobuf
//! so the rules read plainly and test cheaply.

use std::time::Duration;

use hearth_platform::validate::{self, FieldError, Lines};
use serde::{Deserialize, Serialize};

use super::roles::{Kind, PlaybackPolicy, Visibility};

pub const TITLE_MAX: usize = 120;
pub const DESCRIPTION_MAX: usize = 2000;
pub const URL_MAX: usize = 2048;
pub const MEDIA_ID_MAX: usize = 256;
pub const REASON_MAX: usize = 500;
pub const REQUEST_ID_MAX: usize = 64;

/// What a room watches or is about (common.v1.MediaRef).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Media {
    Channel(String),
    Asset(String),
    Programme(String),
    Url(String),
}

impl Media {
    /// The column pair (`media_kind`, `media_id`) it is stored as.
    pub fn columns(&self) -> (&'static str, &str) {
        match self {
            Media::Channel(id) => ("channel_id", id),
            Media::Asset(id) => ("asset_id", id),
            Media::Programme(id) => ("programme_id", id),
            Media::Url(url) => ("url", url),
        }
    }

    pub fn from_columns(kind: &str, id: String) -> Option<Media> {
        Some(match kind {
            "channel_id" => Media::Channel(id),
            "asset_id" => Media::Asset(id),
            "programme_id" => Media::Programme(id),
            "url" => Media::Url(id),
            _ => return None,
        })
    }

    /// Live channels have no shared position.
    pub fn is_live(&self) -> bool {
        matches!(self, Media::Channel(_))
    }

    /// A display title until the provider catalog resolves media: the id,
    /// or a URL's host.
    pub fn display_title(&self) -> String {
        match self {
            Media::Url(url) => url
                .split_once("://")
                .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(rest))
                .unwrap_or(url)
                .to_owned(),
            Media::Channel(id) | Media::Asset(id) | Media::Programme(id) => id.clone(),
        }
    }
}

/// A MediaRef's case, as decoded from the request.
pub enum MediaInput<'a> {
    Channel(&'a str),
    Asset(&'a str),
    Programme(&'a str),
    Url(&'a str),
}

/// A MediaRef from a request; `allow_http` lets operators accept plain
/// http:// streams.
pub fn media(field: &str, input: Option<MediaInput<'_>>, allow_http: bool) -> Result<Media, FieldError> {
    let id = |name: &str, raw: &str| validate::identifier(&format!("{field}.{name}"), raw, MEDIA_ID_MAX);
    match input {
        None => Err(FieldError::new(
            field,
            "invalid_media: exactly one of channel_id, asset_id, programme_id or url is required",
        )),
        Some(MediaInput::Channel(raw)) => Ok(Media::Channel(id("channel_id", raw)?)),
        Some(MediaInput::Asset(raw)) => Ok(Media::Asset(id("asset_id", raw)?)),
        Some(MediaInput::Programme(raw)) => Ok(Media::Programme(id("programme_id", raw)?)),
        Some(MediaInput::Url(raw)) => {
            let schemes: &[&str] = if allow_http { &["https", "http"] } else { &["https"] };
            Ok(Media::Url(validate::url(&format!("{field}.url"), raw, schemes, URL_MAX, false)?))
        }
    }
}

/// Which media each kind needs.
pub fn media_fits_kind(kind: Kind, media: Option<&Media>) -> Result<(), FieldError> {
    match (kind, media) {
        (Kind::WatchParty, None) => Err(FieldError::new("media", "invalid_media: a watch party needs media")),
        (Kind::Channel, Some(Media::Channel(_))) | (Kind::Programme, Some(Media::Programme(_))) => Ok(()),
        (Kind::Channel, _) => Err(FieldError::new("media", "invalid_media: a channel room needs a channel_id")),
        (Kind::Programme, _) => Err(FieldError::new("media", "invalid_media: a programme room needs a programme_id")),
        _ => Ok(()),
    }
}

pub fn title(raw: &str) -> Result<String, FieldError> {
    validate::text("title", raw, 1, TITLE_MAX, Lines::Single)
}

pub fn description(raw: &str) -> Result<String, FieldError> {
    validate::text("description", raw, 0, DESCRIPTION_MAX, Lines::Multi)
}

pub fn image_url(raw: &str) -> Result<String, FieldError> {
    validate::url("image_url", raw, &["https"], URL_MAX, true)
}

pub fn reason(raw: &str) -> Result<String, FieldError> {
    validate::text("reason", raw, 0, REASON_MAX, Lines::Multi)
}

/// An optional idempotency key: 1–64 of [A-Za-z0-9_-].
pub fn request_id(raw: &str) -> Result<Option<String>, FieldError> {
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.len() > REQUEST_ID_MAX || !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(FieldError::new("request_id", "must be 1–64 characters of [A-Za-z0-9_-]"));
    }
    Ok(Some(raw.to_owned()))
}

/// The default visibility of a kind, and whether a requested one is allowed.
pub fn visibility(kind: Kind, requested: Option<Visibility>) -> Result<Visibility, FieldError> {
    match (kind, requested) {
        (Kind::WatchParty, None) => Ok(Visibility::Private),
        (Kind::Channel | Kind::Programme, Some(v)) if v != Visibility::Public => {
            Err(FieldError::new("visibility", "channel and programme rooms are public"))
        }
        (_, None) => Ok(Visibility::Public),
        (_, Some(v)) => Ok(v),
    }
}

/// A duration within bounds; `None` (unset or zero) means "the default".
pub fn bounded(
    field: &str,
    value: Option<Duration>,
    min: Duration,
    max: Duration,
) -> Result<Option<Duration>, FieldError> {
    match value {
        None => Ok(None),
        Some(d) if d.is_zero() => Ok(None),
        Some(d) if d < min || d > max => {
            Err(FieldError::new(field, format!("must be between {} s and {} s", min.as_secs_f64(), max.as_secs_f64())))
        }
        Some(d) => Ok(Some(d)),
    }
}

/// Settings as stored (jsonb) — defaults are resolved when read, so an
/// operator changing a default affects rooms that kept it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub playback_policy: PlaybackPolicy,
    /// Requested capacity; 0: the kind's default.
    pub capacity: u32,
    pub ready_timeout_ms: Option<u64>,
    pub live_target_latency_ms: Option<u64>,
    pub members_can_invite: bool,
    pub sensitive: bool,
}

/// Capacity limits of the deployment.
#[derive(Debug, Clone, Copy)]
pub struct CapacityLimits {
    pub watch_party_default: u32,
    pub watch_party_max: u32,
    pub community: u32,
}

/// The effective member limit (0: unbounded) for a requested capacity.
pub fn capacity(kind: Kind, requested: u32, limits: CapacityLimits) -> Result<u32, FieldError> {
    let field = "settings.capacity";
    match kind {
        Kind::WatchParty => match requested {
            0 => Ok(limits.watch_party_default),
            n if (2..=limits.watch_party_max).contains(&n) => Ok(n),
            _ => Err(FieldError::new(field, format!("must be 0 (default) or 2–{}", limits.watch_party_max))),
        },
        Kind::Community => match requested {
            0 => Ok(limits.community),
            n if n >= 2 && (limits.community == 0 || n <= limits.community) => Ok(n),
            _ => Err(FieldError::new(field, "must be 0 (default) or at least 2 and within the operator's limit")),
        },
        Kind::Channel | Kind::Programme => match requested {
            0 => Ok(0),
            n if n >= 2 => Ok(n),
            _ => Err(FieldError::new(field, "must be 0 (unbounded) or at least 2")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: CapacityLimits = CapacityLimits { watch_party_default: 100, watch_party_max: 1000, community: 0 };

    #[test]
    fn titles_are_bounded_and_single_line() {
        assert_eq!(title("  Film night ").unwrap(), "Film night");
        assert!(title("").is_err());
        assert!(title(&"x".repeat(121)).is_err());
        assert!(title("a\nb").is_err());
        assert_eq!(title(&"x".repeat(121)).unwrap_err().field, "title");
    }

    #[test]
    fn media_must_be_one_valid_reference() {
        assert_eq!(media("media", Some(MediaInput::Asset("m-1")), false).unwrap(), Media::Asset("m-1".into()));
        assert!(media("media", None, false).is_err());
        assert_eq!(media("media", Some(MediaInput::Asset("")), false).unwrap_err().field, "media.asset_id");
        assert!(media("media", Some(MediaInput::Url("http://x.example/a.m3u8")), false).is_err());
        assert!(media("media", Some(MediaInput::Url("http://x.example/a.m3u8")), true).is_ok());
        assert!(media("media", Some(MediaInput::Channel(&"c".repeat(257))), false).is_err());
    }

    #[test]
    fn kinds_need_their_media() {
        assert!(media_fits_kind(Kind::WatchParty, None).is_err());
        assert!(media_fits_kind(Kind::Community, None).is_ok());
        assert!(media_fits_kind(Kind::Channel, Some(&Media::Asset("a".into()))).is_err());
        assert!(media_fits_kind(Kind::Channel, Some(&Media::Channel("c".into()))).is_ok());
    }

    #[test]
    fn capacities_default_per_kind_and_stay_in_range() {
        assert_eq!(capacity(Kind::WatchParty, 0, LIMITS).unwrap(), 100);
        assert_eq!(capacity(Kind::WatchParty, 2, LIMITS).unwrap(), 2);
        assert!(capacity(Kind::WatchParty, 1, LIMITS).is_err());
        assert!(capacity(Kind::WatchParty, 1001, LIMITS).is_err());
        assert_eq!(capacity(Kind::Channel, 0, LIMITS).unwrap(), 0);
        assert_eq!(capacity(Kind::Community, 0, LIMITS).unwrap(), 0);
    }

    #[test]
    fn visibility_defaults_and_rules() {
        assert_eq!(visibility(Kind::WatchParty, None).unwrap(), Visibility::Private);
        assert_eq!(visibility(Kind::Community, None).unwrap(), Visibility::Public);
        assert!(visibility(Kind::Channel, Some(Visibility::Private)).is_err());
    }

    #[test]
    fn durations_are_bounded_and_zero_means_default() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(30));
        assert_eq!(bounded("t", Some(Duration::ZERO), min, max).unwrap(), None);
        assert!(bounded("t", Some(Duration::from_secs(31)), min, max).is_err());
        assert_eq!(bounded("t", Some(Duration::from_secs(3)), min, max).unwrap(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn request_ids_and_display_titles() {
        assert_eq!(request_id("").unwrap(), None);
        assert!(request_id("abc-1_2").unwrap().is_some());
        assert!(request_id("a b").is_err());
        assert_eq!(Media::Url("https://cdn.example/x.m3u8?a=1".into()).display_title(), "cdn.example");
    }
}
