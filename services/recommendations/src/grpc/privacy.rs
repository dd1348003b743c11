//! The caller's activity-sharing settings and hidden sessions.

use hearth_platform::validate::{self, FieldError};
use hearth_proto::hearth::recommendations::v1::{
    GetSharingSettingsResponse, HideSessionRequest, HideSessionResponse, SharingSettings, UpdateSharingSettingsRequest,
    UpdateSharingSettingsResponse, hide_session_request,
};
use time::OffsetDateTime;

use super::RecsApi;
use crate::{
    domain::{
        items::Item,
        privacy::{Audience, Sharing},
    },
    error::{RecsError, Result},
    peers::Caller,
    state::now_ms,
};

/// Longest pause of activity sharing.
const PAUSE_MAX_MS: i64 = 30 * 86_400_000;

fn to_proto(s: &Sharing) -> SharingSettings {
    SharingSettings {
        share_activity: s.share_activity,
        audience: s.audience.to_proto() as i32,
        share_watch_parties: s.share_watch_parties,
        paused_until: s.paused_until_ms.and_then(|ms| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .ok()
                .map(hearth_platform::wkt::timestamp)
        }),
    }
}

impl RecsApi {
    pub(crate) async fn get_sharing_settings(&self, caller: &Caller) -> Result<GetSharingSettingsResponse> {
        let settings = self.store.sharing(&[caller.id]).await?.remove(&caller.id).unwrap_or_default();
        Ok(GetSharingSettingsResponse { settings: Some(to_proto(&settings)) })
    }

    pub(crate) async fn update_sharing_settings(
        &self,
        caller: &Caller,
        r: UpdateSharingSettingsRequest,
    ) -> Result<UpdateSharingSettingsResponse> {
        let s = r.settings.ok_or_else(|| FieldError::new("settings", "is required"))?;
        let now = now_ms();
        let paused_until_ms = match &s.paused_until {
            None => None,
            Some(t) => {
                let at = hearth_platform::wkt::datetime(t).ok_or_else(|| {
                    RecsError::field("settings.paused_until", "invalid_pause", "must be a valid time")
                })?;
                let ms = (at.unix_timestamp_nanos() / 1_000_000) as i64;
                if ms > now + PAUSE_MAX_MS {
                    return Err(RecsError::field("settings.paused_until", "invalid_pause", "at most 30 days ahead"));
                }
                (ms > now).then_some(ms)
            }
        };
        let settings = Sharing {
            share_activity: s.share_activity,
            audience: Audience::from_proto(s.audience),
            share_watch_parties: s.share_watch_parties,
            paused_until_ms,
        };
        self.store.set_sharing(caller.id, &settings).await?;
        Ok(UpdateSharingSettingsResponse { settings: Some(to_proto(&settings)) })
    }

    pub(crate) async fn hide_session(&self, caller: &Caller, r: HideSessionRequest) -> Result<HideSessionResponse> {
        let item = match &r.target {
            Some(hide_session_request::Target::Media(media)) => Item::from_media(media)
                .ok_or_else(|| RecsError::field("media", "invalid_media", "a channel, programme or VOD asset"))?,
            Some(hide_session_request::Target::RoomId(room)) => {
                Item::Room(validate::uuid("room_id", room)?.to_string())
            }
            None => return Err(FieldError::new("target", "one of media or room_id is required").into()),
        };
        let key = item.key();
        let watching = self.state.watching(caller.id).await?.iter().any(|w| w.item == key);
        let recent = watching
            || self.store.engaged_since(caller.id, &key, OffsetDateTime::now_utc() - time::Duration::hours(24)).await?;
        if !recent {
            return Err(RecsError::NotFound("session_not_found", "nothing watched there in the last 24 hours".into()));
        }
        self.state.hide(caller.id, &key).await?;
        if r.remove_from_history {
            self.store.forget(caller.id, &key).await?;
        }
        Ok(HideSessionResponse {})
    }
}
