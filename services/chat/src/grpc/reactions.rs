//! Reactions on messages, live reactions during a show, and typing.

use std::time::Duration;

use hearth_proto::hearth::chat::v1::{self as pb, chat_event};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Caller, ChatApi, Page, room_id};
use crate::{
    convert,
    domain::{emoji, gate},
    error::{ChatError, Result},
    state::Wait,
};

/// How long after a reaction change its counts are broadcast (coalescing
/// changes into at most four broadcasts a second per message).
const REACTIONS_DELAY: Duration = Duration::from_millis(300);
/// Reaction changes (adds and removals) a user may make per window.
const REACTIONS_PER_WINDOW: u32 = 60;
const REACTION_WINDOW_MS: u64 = 30_000;

/// How long a typing indicator lasts unless refreshed.
const TYPING_TTL: Duration = Duration::from_secs(5);

fn reaction_emoji(raw: &str) -> Result<String> {
    emoji::canonical_reaction(raw)
        .ok_or_else(|| ChatError::field("emoji", "invalid_emoji", "must be one emoji or a custom emote :name:"))
}

fn sequence(raw: u64) -> Result<u64> {
    if raw == 0 {
        return Err(ChatError::field("sequence", "invalid_argument", "is required"));
    }
    Ok(raw)
}

impl ChatApi {
    /// Counts a reaction change against the user's limit.
    async fn reaction_allowed(&self, room: Uuid, user: Uuid) -> Result<()> {
        match self.state.allow_reaction(room, user, REACTIONS_PER_WINDOW, REACTION_WINDOW_MS).await? {
            Ok(()) => Ok(()),
            Err(Wait::RateLimited(ms) | Wait::SlowMode(ms)) => Err(ChatError::Exhausted(
                "rate_limited",
                format!("too many reactions; wait {} s", ms.div_ceil(1000)),
                Some(Duration::from_millis(ms)),
            )),
        }
    }

    /// Broadcasts a message's counts shortly after a change, once per burst.
    async fn announce_reactions(&self, room: Uuid, seq: u64) {
        match self.state.reactions_due(room, seq).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => tracing::warn!(%error, "reaction throttle unavailable; broadcasting"),
        }
        let api = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(REACTIONS_DELAY).await;
            match api.store.reactions(room, &[seq as i64], None).await {
                Ok(rows) => {
                    let reactions = convert::reaction_counts(&rows, seq as i64);
                    let kind =
                        chat_event::Kind::ReactionsUpdated(pb::ReactionsUpdated { target_sequence: seq, reactions });
                    api.events.live(room, kind).await;
                }
                Err(error) => tracing::warn!(%error, "reaction counts not broadcast"),
            }
        });
    }

    async fn my_counts(&self, caller: &Caller, room: Uuid, seq: u64) -> Result<Vec<pb::ReactionCount>> {
        let rows = self.store.reactions(room, &[seq as i64], Some(caller.id)).await?;
        Ok(convert::reaction_counts(&rows, seq as i64))
    }

    pub async fn add_reaction(&self, caller: Caller, req: pb::AddReactionRequest) -> Result<pb::AddReactionResponse> {
        let room_uuid = room_id(&req.room_id)?;
        let seq = sequence(req.sequence)?;
        let emoji = reaction_emoji(&req.emoji)?;
        let room = self.writable(&caller, room_uuid, &[]).await?;
        let (sender, _) = self.sender(&room, caller.id).await?;
        gate::restricted(&sender, OffsetDateTime::now_utc())
            .map_err(|r| ChatError::Denied(r.reason(), r.message(), r.retry_after()))?;
        self.reaction_allowed(room.id, caller.id).await?;
        if self.store.add_reaction(room.id, seq, &emoji, caller.id).await? {
            self.signals.reaction(caller.id, room.facts());
            self.announce_reactions(room.id, seq).await;
        }
        Ok(pb::AddReactionResponse { reactions: self.my_counts(&caller, room.id, seq).await? })
    }

    pub async fn remove_reaction(
        &self,
        caller: Caller,
        req: pb::RemoveReactionRequest,
    ) -> Result<pb::RemoveReactionResponse> {
        let room_uuid = room_id(&req.room_id)?;
        let seq = sequence(req.sequence)?;
        let emoji = reaction_emoji(&req.emoji)?;
        let room = self.readable(&caller, room_uuid, &[]).await?;
        self.reaction_allowed(room.id, caller.id).await?;
        if self.store.remove_reaction(room.id, seq, &emoji, caller.id).await? {
            self.announce_reactions(room.id, seq).await;
        }
        Ok(pb::RemoveReactionResponse { reactions: self.my_counts(&caller, room.id, seq).await? })
    }

    pub async fn list_reaction_users(
        &self,
        caller: Caller,
        req: pb::ListReactionUsersRequest,
    ) -> Result<pb::ListReactionUsersResponse> {
        let room_uuid = room_id(&req.room_id)?;
        let seq = sequence(req.sequence)?;
        let emoji = reaction_emoji(&req.emoji)?;
        let page = Page::parse(req.page.as_ref(), &[&req.room_id, &seq.to_string(), &emoji])?;
        let room = self.readable(&caller, room_uuid, &[]).await?;
        let ids = self.store.reaction_users(room.id, seq, &emoji, page.offset, page.size).await?;
        let blocked = self.blocked_by(&caller).await;
        let visible: Vec<Uuid> = ids.iter().copied().filter(|id| !blocked.contains(id)).collect();
        let refs = self.profiles.refs(&visible).await;
        Ok(pb::ListReactionUsersResponse {
            users: visible.iter().map(|id| refs.get(id).cloned().unwrap_or_else(|| convert::user_ref(*id))).collect(),
            page: page.response(ids.len()),
        })
    }

    pub async fn send_live_reaction(
        &self,
        caller: Caller,
        req: pb::SendLiveReactionRequest,
    ) -> Result<pb::SendLiveReactionResponse> {
        let room_uuid = room_id(&req.room_id)?;
        let room = self.writable(&caller, room_uuid, &[]).await?;
        let settings = self.settings_of(room.id).await?;
        let allowed = settings.live_reactions();
        let canonical = emoji::canonical_reaction(&req.emoji);
        let Some(emoji) = allowed.iter().find(|e| Some((*e).clone()) == canonical || **e == req.emoji) else {
            return Err(ChatError::field(
                "emoji",
                "emoji_not_allowed",
                format!("live reactions in this room are {}", allowed.join(" ")),
            ));
        };
        let (sender, _) = self.sender(&room, caller.id).await?;
        gate::restricted(&sender, OffsetDateTime::now_utc())
            .map_err(|r| ChatError::Denied(r.reason(), r.message(), r.retry_after()))?;
        let window = crate::state::now_ms() / self.config.live_reaction_window.as_millis().max(1) as i64;
        if self.state.tap(room.id, caller.id, emoji, window, self.config.live_reactions_per_user_per_second).await? {
            self.signals.live_tap(caller.id, room.facts());
        }
        Ok(pb::SendLiveReactionResponse {})
    }

    pub async fn set_typing(&self, caller: Caller, req: pb::SetTypingRequest) -> Result<pb::SetTypingResponse> {
        let room_uuid = room_id(&req.room_id)?;
        let room = self.writable(&caller, room_uuid, &[]).await?;
        if room.online > self.config.typing_max_online {
            return Ok(pb::SetTypingResponse {});
        }
        let (sender, _) = self.sender(&room, caller.id).await?;
        let settings = self.settings_of(room.id).await?;
        let now = OffsetDateTime::now_utc();
        gate::may_send(&settings, &sender, true, now)
            .map_err(|r| ChatError::Denied(r.reason(), r.message(), r.retry_after()))?;
        if self.state.typing_due(room.id, caller.id, req.typing).await? {
            let kind = chat_event::Kind::TypingUpdated(pb::TypingUpdated {
                user: Some(self.profiles.one(caller.id).await),
                typing: req.typing,
                expire_time: req.typing.then(|| convert::timestamp(now + TYPING_TTL)),
            });
            self.events.live(room.id, kind).await;
        }
        Ok(pb::SetTypingResponse {})
    }
}

/// Publishes each room's live-reaction counts once per window, across all
/// replicas: every replica wakes just after a window closes and takes rooms
/// from the window's pending set until it is empty (each room is taken by
/// exactly one replica).
pub async fn flush_live_reactions(api: ChatApi, shutdown: tokio_util::sync::CancellationToken) {
    let window_ms = api.config.live_reaction_window.as_millis().max(1) as i64;
    // Taps that arrive this late after their window closed still count.
    let grace_ms = (window_ms / 5).clamp(20, 100);
    loop {
        let now = crate::state::now_ms();
        let closed = now / window_ms - 1;
        let next = (closed + 2) * window_ms + grace_ms;
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis((next - now).max(1) as u64)) => {}
        }
        let window = closed + 1;
        loop {
            match api.state.take_window(window).await {
                Ok(Some((room, counts))) => {
                    let kind = chat_event::Kind::LiveReactions(pb::LiveReactions {
                        window_start: Some(convert::timestamp(
                            OffsetDateTime::from_unix_timestamp_nanos(i128::from(window * window_ms) * 1_000_000)
                                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                        )),
                        window: Some(convert::duration(api.config.live_reaction_window)),
                        counts: counts.into_iter().map(|(emoji, count)| pb::EmojiCount { emoji, count }).collect(),
                    });
                    api.events.live(room, kind).await;
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(%error, "live reactions not flushed");
                    break;
                }
            }
        }
    }
}
