//! Chat settings: the room's modes and shield mode.

use std::collections::BTreeMap;

use hearth_proto::hearth::chat::v1::{self as pb, chat_event};

use super::{Caller, ChatApi, Room, room_id};
use crate::{
    convert,
    domain::settings::Settings,
    error::{ChatError, Result},
};

/// Paths UpdateChatSettings accepts (snake_case or lowerCamelCase).
const PATHS: [(&str, &str); 8] = [
    ("slow_mode_interval", "slowModeInterval"),
    ("followers_only", "followersOnly"),
    ("followers_only_min_age", "followersOnlyMinAge"),
    ("members_only", "membersOnly"),
    ("emote_only", "emoteOnly"),
    ("reactions_only", "reactionsOnly"),
    ("max_message_length", "maxMessageLength"),
    ("live_reaction_emojis", "liveReactionEmojis"),
];

fn duration_ms(field: &str, d: Option<&hearth_proto::wkt::Duration>) -> Result<u64> {
    match d {
        None => Ok(0),
        Some(d) => convert::std_duration(d)
            .map(|d| d.as_millis() as u64)
            .ok_or_else(|| ChatError::field(field, "invalid_argument", "must be a non-negative duration")),
    }
}

/// Applies the masked fields of `update` to `current`.
fn apply(current: &Settings, update: &pb::ChatSettings, paths: &[String]) -> Result<(Settings, Vec<&'static str>)> {
    if paths.is_empty() {
        return Err(ChatError::field("update_mask", "invalid_argument", "must name at least one path"));
    }
    let mut next = current.clone();
    let mut changed = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let Some((name, _)) = PATHS.iter().find(|(snake, camel)| path == snake || path == camel) else {
            return Err(ChatError::field(
                &format!("update_mask.paths[{i}]"),
                "field_not_updatable",
                format!("{path:?} cannot be updated"),
            ));
        };
        match *name {
            "slow_mode_interval" => {
                next.slow_mode_ms = duration_ms("settings.slow_mode_interval", update.slow_mode_interval.as_ref())?
            }
            "followers_only" => next.followers_only = update.followers_only,
            "followers_only_min_age" => {
                next.followers_only_min_age_ms =
                    duration_ms("settings.followers_only_min_age", update.followers_only_min_age.as_ref())?
            }
            "members_only" => next.members_only = update.members_only,
            "emote_only" => next.emote_only = update.emote_only,
            "reactions_only" => next.reactions_only = update.reactions_only,
            "max_message_length" => next.max_message_length = update.max_message_length,
            _ => next.live_reaction_emojis = update.live_reaction_emojis.clone(),
        }
        changed.push(*name);
    }
    Ok((next, changed))
}

impl ChatApi {
    fn settings_pb(&self, settings: &Settings, by: uuid::Uuid, at: time::OffsetDateTime) -> pb::ChatSettings {
        convert::settings(settings, settings.max_length(&self.limits()), Some((by, at)))
    }

    /// Stores new settings with an audit entry and tells the room.
    async fn put(
        &self,
        caller: &Caller,
        room: &Room,
        settings: &Settings,
        saved: Option<&Settings>,
        action: pb::AuditAction,
        details: BTreeMap<String, String>,
    ) -> Result<pb::ChatSettings> {
        let mut audit = self.audit(caller, room, action);
        audit.details = details;
        let at = self.store.put_settings(room.id, settings, saved, caller.id, &audit).await?;
        let settings = self.settings_pb(settings, caller.id, at);
        let kind = chat_event::Kind::SettingsChanged(pb::ChatSettingsChanged { settings: Some(settings.clone()) });
        self.events.live(room.id, kind).await;
        Ok(settings)
    }

    pub async fn get_chat_settings(
        &self,
        caller: Caller,
        req: pb::GetChatSettingsRequest,
    ) -> Result<pb::GetChatSettingsResponse> {
        let room = self.readable(&caller, room_id(&req.room_id)?, &[]).await?;
        let (settings, _, updated) = self.store.settings(room.id).await?;
        Ok(pb::GetChatSettingsResponse {
            settings: Some(convert::settings(&settings, settings.max_length(&self.limits()), updated)),
        })
    }

    pub async fn update_chat_settings(
        &self,
        caller: Caller,
        req: pb::UpdateChatSettingsRequest,
    ) -> Result<pb::UpdateChatSettingsResponse> {
        let room_uuid = room_id(&req.room_id)?;
        let update =
            req.settings.as_ref().ok_or_else(|| ChatError::field("settings", "invalid_argument", "is required"))?;
        let paths = req.update_mask.as_ref().map(|m| m.paths.clone()).unwrap_or_default();
        let room = self.moderated(&caller, room_uuid, &[]).await?;
        let (current, saved, _) = self.store.settings(room.id).await?;
        let (next, changed) = apply(&current, update, &paths)?;
        next.validate(&self.limits()).map_err(|e| ChatError::field(e.field, "invalid_argument", e.message))?;
        let details = BTreeMap::from([("changed_fields".to_owned(), changed.join(","))]);
        let settings =
            self.put(&caller, &room, &next, saved.as_ref(), pb::AuditAction::ChatSettingsChanged, details).await?;
        Ok(pb::UpdateChatSettingsResponse { settings: Some(settings) })
    }

    pub async fn set_shield_mode(
        &self,
        caller: Caller,
        req: pb::SetShieldModeRequest,
    ) -> Result<pb::SetShieldModeResponse> {
        let room = self.moderated(&caller, room_id(&req.room_id)?, &[]).await?;
        let (current, saved, updated) = self.store.settings(room.id).await?;
        if current.shield_mode == req.enabled {
            return Ok(pb::SetShieldModeResponse {
                settings: Some(convert::settings(&current, current.max_length(&self.limits()), updated)),
            });
        }
        let settings = if req.enabled {
            let shielded = current.shielded(&self.limits());
            self.put(&caller, &room, &shielded, Some(&current), pb::AuditAction::ShieldModeEnabled, BTreeMap::new())
                .await?
        } else {
            // Back to what the room had before (changes made meanwhile to
            // fields the preset does not touch are kept).
            let mut restored = saved.unwrap_or_default();
            restored.emote_only = current.emote_only;
            restored.reactions_only = current.reactions_only;
            restored.max_message_length = current.max_message_length;
            restored.live_reaction_emojis = current.live_reaction_emojis.clone();
            restored.shield_mode = false;
            self.put(&caller, &room, &restored, None, pb::AuditAction::ShieldModeDisabled, BTreeMap::new()).await?
        };
        Ok(pb::SetShieldModeResponse { settings: Some(settings) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_change_only_their_fields_and_name_bad_paths() {
        let update = pb::ChatSettings {
            slow_mode_interval: Some(hearth_proto::wkt::Duration { seconds: 5, nanos: 0 }),
            members_only: true,
            ..Default::default()
        };
        let (next, changed) = apply(&Settings::default(), &update, &["slowModeInterval".into()]).expect("valid mask");
        assert_eq!(next.slow_mode_ms, 5000);
        assert!(!next.members_only, "unmasked fields stay");
        assert_eq!(changed, vec!["slow_mode_interval"]);
        let err = apply(&Settings::default(), &update, &["shield_mode".into()]).expect_err("output only");
        assert_eq!(err.reason(), Some("field_not_updatable"));
        assert!(apply(&Settings::default(), &update, &[]).is_err());
    }
}
