//! Blocked and hold-for-review terms, and the held messages they catch.

use std::{collections::BTreeMap, time::Duration};

use hearth_proto::hearth::{
    chat::v1::{self as pb, chat_event},
    events::v1::{HeldMessageDecided, user_event},
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Caller, ChatApi, Page, Room, reason, uuid};
use crate::{
    convert,
    domain::terms,
    error::{ChatError, Result},
    store::{Author, HeldRow, NewMessage},
};

/// Most terms in one room.
const TERMS_PER_ROOM: i64 = 1000;
const TTL_MIN: Duration = Duration::from_secs(60);
const TTL_MAX: Duration = Duration::from_secs(365 * 24 * 3600);

fn action(raw: i32) -> Result<Option<&'static str>> {
    match pb::TermAction::try_from(raw) {
        Ok(pb::TermAction::Unspecified) => Ok(None),
        Ok(pb::TermAction::Block) => Ok(Some("block")),
        Ok(pb::TermAction::HoldForReview) => Ok(Some("hold")),
        Err(_) => Err(ChatError::field("action", "invalid_argument", "unknown term action")),
    }
}

impl ChatApi {
    /// The term's scope: a room the caller moderates, or global for
    /// operator admins (`None`).
    async fn term_scope(&self, caller: &Caller, room_raw: &str) -> Result<Option<Room>> {
        if room_raw.is_empty() {
            if !caller.admin {
                return Err(ChatError::Denied(
                    "operator_only",
                    "only operator admins manage global terms".into(),
                    None,
                ));
            }
            return Ok(None);
        }
        let room = super::room_id(room_raw)?;
        Ok(Some(self.moderated(caller, room, &[]).await?))
    }

    /// An audit entry for a global act (recorded under the nil room).
    fn global_audit(caller: &Caller, action: pb::AuditAction) -> crate::store::NewAudit {
        crate::store::NewAudit {
            id: Uuid::now_v7(),
            room: Uuid::nil(),
            actor: caller.id,
            actor_role: 0,
            actor_is_admin: true,
            action: action as i16,
            target_user: None,
            target_seq: 0,
            reason: String::new(),
            details: BTreeMap::new(),
            created_at: None,
        }
    }

    pub async fn add_blocked_term(
        &self,
        caller: Caller,
        req: pb::AddBlockedTermRequest,
    ) -> Result<pb::AddBlockedTermResponse> {
        let term = terms::validate_term(&req.term).map_err(|m| ChatError::field("term", "invalid_term", m))?;
        let act = action(req.action)?.ok_or_else(|| ChatError::field("action", "invalid_argument", "is required"))?;
        let ttl = match req.ttl.as_ref() {
            None => None,
            Some(raw) => match convert::std_duration(raw) {
                Some(d) if (TTL_MIN..=TTL_MAX).contains(&d) => Some(d),
                _ => return Err(ChatError::field("ttl", "invalid_argument", "must be 1 minute – 365 days")),
            },
        };
        let scope = self.term_scope(&caller, &req.room_id).await?;
        let mut audit = match &scope {
            Some(room) => self.audit(&caller, room, pb::AuditAction::BlockedTermAdded),
            None => Self::global_audit(&caller, pb::AuditAction::BlockedTermAdded),
        };
        audit.details = BTreeMap::from([("term".to_owned(), term.clone()), ("action".to_owned(), act.to_owned())]);
        let room = scope.as_ref().map(|r| r.id);
        let row = self
            .store
            .add_term(
                room,
                &term,
                &terms::fold(&term),
                act,
                caller.id,
                ttl.map(|d| OffsetDateTime::now_utc() + d),
                TERMS_PER_ROOM,
                &audit,
            )
            .await?;
        self.forget_terms(room);
        Ok(pb::AddBlockedTermResponse { term: Some(convert::term(&row)) })
    }

    pub async fn remove_blocked_term(
        &self,
        caller: Caller,
        req: pb::RemoveBlockedTermRequest,
    ) -> Result<pb::RemoveBlockedTermResponse> {
        let id = uuid("term_id", &req.term_id)?;
        let missing = || ChatError::NotFound("term_not_found", "no such term".into());
        let row = self.store.term(id).await?.ok_or_else(missing)?;
        let scope = self.term_scope(&caller, &row.room_id.map(|r| r.to_string()).unwrap_or_default()).await?;
        let mut audit = match &scope {
            Some(room) => self.audit(&caller, room, pb::AuditAction::BlockedTermRemoved),
            None => Self::global_audit(&caller, pb::AuditAction::BlockedTermRemoved),
        };
        audit.details = BTreeMap::from([("term".to_owned(), row.term.clone())]);
        if !self.store.remove_term(id, &audit).await? {
            return Err(missing());
        }
        self.forget_terms(row.room_id);
        Ok(pb::RemoveBlockedTermResponse {})
    }

    pub async fn list_blocked_terms(
        &self,
        caller: Caller,
        req: pb::ListBlockedTermsRequest,
    ) -> Result<pb::ListBlockedTermsResponse> {
        let act = action(req.action)?;
        let page = Page::parse(
            req.page.as_ref(),
            &[&req.room_id, if req.include_global { "g" } else { "" }, act.unwrap_or("")],
        )?;
        let scope = self.term_scope(&caller, &req.room_id).await?;
        let rows =
            self.store.terms(scope.as_ref().map(|r| r.id), req.include_global, act, page.offset, page.size).await?;
        Ok(pb::ListBlockedTermsResponse {
            terms: rows.iter().map(convert::term).collect(),
            page: page.response(rows.len()),
        })
    }

    pub async fn list_held_messages(
        &self,
        caller: Caller,
        req: pb::ListHeldMessagesRequest,
    ) -> Result<pb::ListHeldMessagesResponse> {
        let room_uuid = super::room_id(&req.room_id)?;
        let page = Page::parse(req.page.as_ref(), &[&req.room_id])?;
        let room = self.moderated(&caller, room_uuid, &[]).await?;
        let rows = self.store.held_page(room.id, page.offset, page.size).await?;
        Ok(pb::ListHeldMessagesResponse {
            held_messages: rows.iter().map(convert::held).collect(),
            page: page.response(rows.len()),
        })
    }

    /// Tells moderators and the author how a held message was decided
    /// (`by` is None when it expired undecided).
    pub(crate) async fn decided(&self, held: &HeldRow, by: Option<Uuid>, approved: bool, sequence: u64) {
        let resolved = pb::HeldMessageResolved {
            held_message_id: held.id.to_string(),
            approved,
            sequence,
            resolved_by: by.map(|b| b.to_string()).unwrap_or_default(),
        };
        self.events.moderators(held.room_id, chat_event::Kind::HeldMessageResolved(resolved)).await;
        let decided = HeldMessageDecided {
            room_id: held.room_id.to_string(),
            held_message_id: held.id.to_string(),
            approved,
            sequence,
        };
        self.events.personal(held.author_id, "chat", user_event::Kind::HeldMessageDecided(decided)).await;
    }

    pub async fn approve_held_message(
        &self,
        caller: Caller,
        req: pb::ApproveHeldMessageRequest,
    ) -> Result<pb::ApproveHeldMessageResponse> {
        let id = uuid("held_message_id", &req.held_message_id)?;
        let held = self.store.waiting(id).await?;
        let room = self.moderated(&caller, held.room_id, &[]).await?;
        let mut audit = self.audit(&caller, &room, pb::AuditAction::HeldMessageApproved);
        audit.target_user = Some(held.author_id);
        let author = Author {
            id: held.author_id,
            username: held.author_username.clone(),
            display_name: held.author_name.clone(),
            avatar_url: held.author_avatar.clone(),
            role: held.author_role,
        };
        let new = NewMessage {
            room: room.id,
            author: &author,
            client_msg_id: &held.client_msg_id,
            text: &held.text,
            mentions: &held.mentions.0,
            reply_to: held.reply_to_seq.map(|s| s as u64),
            now: OffsetDateTime::now_utc(),
            approving: Some((held.id, audit)),
        };
        let posted = self.post(&room, new).await?;
        let sequence = posted.message.as_ref().map_or(0, |m| m.sequence);
        self.decided(&held, Some(caller.id), true, sequence).await;
        Ok(pb::ApproveHeldMessageResponse { message: posted.message })
    }

    pub async fn deny_held_message(
        &self,
        caller: Caller,
        req: pb::DenyHeldMessageRequest,
    ) -> Result<pb::DenyHeldMessageResponse> {
        let id = uuid("held_message_id", &req.held_message_id)?;
        let why = reason("reason", &req.reason)?;
        let held = self.store.waiting(id).await?;
        let room = self.moderated(&caller, held.room_id, &[]).await?;
        let mut audit = self.audit(&caller, &room, pb::AuditAction::HeldMessageDenied);
        audit.target_user = Some(held.author_id);
        audit.reason = why;
        if !self.store.deny(id, &audit).await? {
            return Err(ChatError::NotFound(
                "held_message_not_found",
                "no such held message (or already decided or expired)".into(),
            ));
        }
        self.decided(&held, Some(caller.id), false, 0).await;
        Ok(pb::DenyHeldMessageResponse {})
    }
}
