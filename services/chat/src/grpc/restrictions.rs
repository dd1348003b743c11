//! Timeouts and chat bans.

use std::{collections::BTreeMap, time::Duration};

use hearth_proto::hearth::{
    chat::v1::{self as pb, chat_event},
    events::v1::user_event,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Caller, ChatApi, Page, Room, reason, room_id, uuid};
use crate::{
    convert,
    error::{ChatError, Result},
};

const TIMEOUT_MIN: Duration = Duration::from_secs(10);
const TIMEOUT_MAX: Duration = Duration::from_secs(14 * 24 * 3600);
const BAN_MIN: Duration = Duration::from_secs(60);
const BAN_MAX: Duration = Duration::from_secs(365 * 24 * 3600);

/// What a restriction request asks for.
struct Restrict<'a> {
    room_id: &'a str,
    user_id: &'a str,
    kind: &'static str,
    reason: &'a str,
    duration: Option<Duration>,
    purge: bool,
}

fn bounded(
    field: &str,
    raw: Option<&hearth_proto::wkt::Duration>,
    min: Duration,
    max: Duration,
) -> Result<Option<Duration>> {
    let Some(raw) = raw else { return Ok(None) };
    match convert::std_duration(raw) {
        Some(d) if (min..=max).contains(&d) => Ok(Some(d)),
        _ => Err(ChatError::field(
            field,
            "invalid_argument",
            format!("must be {} s – {} days", min.as_secs(), max.as_secs() / 86_400),
        )),
    }
}

impl ChatApi {
    /// The room if the caller moderates it and outranks the target.
    async fn over(&self, caller: &Caller, room: Uuid, target: Uuid) -> Result<Room> {
        if target == caller.id {
            return Err(ChatError::field("user_id", "invalid_argument", "cannot act on yourself"));
        }
        let room = self.moderated(caller, room, &[target]).await?;
        let target_role = room.others.first().map(|s| s.role as i32).unwrap_or(0);
        if !room.admin && target_role >= room.caller.role as i32 {
            return Err(ChatError::Denied(
                "insufficient_role",
                "you may only restrict users with a weaker room role".into(),
                None,
            ));
        }
        Ok(room)
    }

    async fn restrict(&self, caller: &Caller, r: Restrict<'_>) -> Result<pb::ChatRestriction> {
        let room_uuid = room_id(r.room_id)?;
        let target = uuid("user_id", r.user_id)?;
        let why = reason("reason", r.reason)?;
        let room = self.over(caller, room_uuid, target).await?;
        let action = if r.kind == "timeout" { pb::AuditAction::UserTimedOut } else { pb::AuditAction::ChatBanned };
        let mut audit = self.audit(caller, &room, action);
        audit.target_user = Some(target);
        audit.reason = why.clone();
        if let Some(d) = r.duration {
            audit.details = BTreeMap::from([("duration".to_owned(), format!("{}s", d.as_secs()))]);
        }
        let expires = r.duration.map(|d| OffsetDateTime::now_utc() + d);
        let events = self.events.clone();
        let (row, purge) = self
            .store
            .restrict(room.id, target, r.kind, &why, caller.id, expires, r.purge, &audit, |seq, targets| {
                events.sequenced(
                    room.id,
                    seq,
                    chat_event::Kind::MessagesPurged(pb::MessagesPurged {
                        user_id: target.to_string(),
                        target_sequences: targets.to_vec(),
                    }),
                )
            })
            .await?;
        if let Some(purge) = purge {
            self.deliver(room.id, purge.event_seq, purge.outbox.1, purge.outbox.0);
        }
        let restriction = convert::restriction(&row, self.profiles.one(target).await);
        self.events
            .moderators(
                room.id,
                chat_event::Kind::UserRestricted(pb::UserRestricted { restriction: Some(restriction.clone()) }),
            )
            .await;
        self.events.personal(target, "chat", user_event::Kind::ChatRestricted(restriction.clone())).await;
        Ok(restriction)
    }

    async fn lift(&self, caller: &Caller, room_raw: &str, user_raw: &str, kind: &str) -> Result<()> {
        let room_uuid = room_id(room_raw)?;
        let target = uuid("user_id", user_raw)?;
        let room = self.moderated(caller, room_uuid, &[]).await?;
        let action = if kind == "timeout" { pb::AuditAction::TimeoutRemoved } else { pb::AuditAction::ChatUnbanned };
        let mut audit = self.audit(caller, &room, action);
        audit.target_user = Some(target);
        if !self.store.lift(room.id, target, kind, &audit).await? {
            return Err(ChatError::NotFound("not_restricted", format!("the user has no {kind} in this chat")));
        }
        let kind_pb = convert::restriction_kind(kind);
        self.events
            .moderators(
                room.id,
                chat_event::Kind::RestrictionLifted(pb::RestrictionLifted {
                    user_id: target.to_string(),
                    kind: kind_pb as i32,
                    lifted_by: caller.id.to_string(),
                }),
            )
            .await;
        Ok(())
    }

    pub async fn timeout_user(&self, caller: Caller, req: pb::TimeoutUserRequest) -> Result<pb::TimeoutUserResponse> {
        let duration = bounded("duration", req.duration.as_ref(), TIMEOUT_MIN, TIMEOUT_MAX)?
            .ok_or_else(|| ChatError::field("duration", "invalid_argument", "is required (10 s – 14 days)"))?;
        let restriction = self
            .restrict(
                &caller,
                Restrict {
                    room_id: &req.room_id,
                    user_id: &req.user_id,
                    kind: "timeout",
                    reason: &req.reason,
                    duration: Some(duration),
                    purge: req.purge_messages,
                },
            )
            .await?;
        Ok(pb::TimeoutUserResponse { restriction: Some(restriction) })
    }

    pub async fn remove_timeout(
        &self,
        caller: Caller,
        req: pb::RemoveTimeoutRequest,
    ) -> Result<pb::RemoveTimeoutResponse> {
        self.lift(&caller, &req.room_id, &req.user_id, "timeout").await?;
        Ok(pb::RemoveTimeoutResponse {})
    }

    pub async fn ban_from_chat(&self, caller: Caller, req: pb::BanFromChatRequest) -> Result<pb::BanFromChatResponse> {
        let duration = bounded("duration", req.duration.as_ref(), BAN_MIN, BAN_MAX)?;
        let restriction = self
            .restrict(
                &caller,
                Restrict {
                    room_id: &req.room_id,
                    user_id: &req.user_id,
                    kind: "ban",
                    reason: &req.reason,
                    duration,
                    purge: req.purge_messages,
                },
            )
            .await?;
        Ok(pb::BanFromChatResponse { restriction: Some(restriction) })
    }

    pub async fn unban_from_chat(
        &self,
        caller: Caller,
        req: pb::UnbanFromChatRequest,
    ) -> Result<pb::UnbanFromChatResponse> {
        self.lift(&caller, &req.room_id, &req.user_id, "ban").await?;
        Ok(pb::UnbanFromChatResponse {})
    }

    pub async fn list_chat_restrictions(
        &self,
        caller: Caller,
        req: pb::ListChatRestrictionsRequest,
    ) -> Result<pb::ListChatRestrictionsResponse> {
        let room_uuid = room_id(&req.room_id)?;
        let kind = match pb::RestrictionKind::try_from(req.kind) {
            Ok(pb::RestrictionKind::Unspecified) => None,
            Ok(pb::RestrictionKind::Timeout) => Some("timeout"),
            Ok(pb::RestrictionKind::Ban) => Some("ban"),
            Err(_) => return Err(ChatError::field("kind", "invalid_argument", "unknown restriction kind")),
        };
        let page = Page::parse(req.page.as_ref(), &[&req.room_id, kind.unwrap_or("")])?;
        let room = self.moderated(&caller, room_uuid, &[]).await?;
        let rows = self.store.restrictions(room.id, kind, page.offset, page.size).await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
        let refs = self.profiles.refs(&ids).await;
        Ok(pb::ListChatRestrictionsResponse {
            restrictions: rows
                .iter()
                .map(|r| {
                    convert::restriction(
                        r,
                        refs.get(&r.user_id).cloned().unwrap_or_else(|| convert::user_ref(r.user_id)),
                    )
                })
                .collect(),
            page: page.response(rows.len()),
        })
    }
}
