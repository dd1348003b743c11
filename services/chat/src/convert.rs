//! Conversions between stored rows and the chat.proto messages.

use hearth_proto::hearth::{chat::v1 as pb, common::v1::UserRef};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    domain::{settings::Settings, text},
    store::{AuditRow, HeldRow, MessageRow, ReactionRow, ReportRow, RestrictionRow, TermRow},
};

pub use hearth_platform::wkt::{datetime, duration, std_duration, timestamp};

/// A bare user reference (display data resolved elsewhere).
pub fn user_ref(id: Uuid) -> UserRef {
    UserRef { user_id: id.to_string(), ..Default::default() }
}

fn author(row: &MessageRow) -> UserRef {
    UserRef {
        user_id: row.author_id.to_string(),
        username: row.author_username.clone(),
        display_name: row.author_name.clone(),
        avatar_url: row.author_avatar.clone(),
    }
}

/// Length of a reply preview, in characters.
const PREVIEW_CHARS: usize = 100;

pub fn reply_preview(target: &MessageRow) -> pb::ReplyPreview {
    let deleted = target.deleted_at.is_some();
    pb::ReplyPreview {
        sequence: target.seq as u64,
        author: Some(author(target)),
        text: if deleted { String::new() } else { text::excerpt(&target.text, PREVIEW_CHARS) },
        deleted,
    }
}

/// The reaction counts of one message from grouped rows.
pub fn reaction_counts(rows: &[ReactionRow], seq: i64) -> Vec<pb::ReactionCount> {
    rows.iter()
        .filter(|r| r.seq == seq)
        .map(|r| pb::ReactionCount { emoji: r.emoji.clone(), count: r.count as u32, me: r.me })
        .collect()
}

/// A message as `viewer` sees it: tombstones lose their content; a message
/// by someone the viewer blocked becomes a HIDDEN placeholder.
pub fn message(
    row: &MessageRow,
    reactions: Vec<pb::ReactionCount>,
    reply_to: Option<&MessageRow>,
    hidden: bool,
) -> pb::ChatMessage {
    if hidden {
        return pb::ChatMessage {
            room_id: row.room_id.to_string(),
            sequence: row.seq as u64,
            state: pb::MessageState::Hidden as i32,
            create_time: Some(timestamp(row.created_at)),
            ..Default::default()
        };
    }
    let mut message = pb::ChatMessage {
        message_id: row.message_id.to_string(),
        room_id: row.room_id.to_string(),
        sequence: row.seq as u64,
        author: Some(author(row)),
        author_role: i32::from(row.author_role),
        text: row.text.clone(),
        mentions: row
            .mentions
            .0
            .iter()
            .map(|m| pb::Mention {
                user_id: m.user_id.to_string(),
                username: m.username.clone(),
                start: m.start,
                length: m.length,
            })
            .collect(),
        reply_to_sequence: row.reply_to_seq.unwrap_or(0) as u64,
        thread_root_sequence: row.thread_root_seq.unwrap_or(0) as u64,
        reply_to: reply_to.map(reply_preview),
        reply_count: row.reply_count.max(0) as u32,
        reactions,
        state: pb::MessageState::Visible as i32,
        create_time: Some(timestamp(row.created_at)),
        delete_time: None,
        deleted_by_moderator: false,
        client_msg_id: row.client_msg_id.clone(),
    };
    if let Some(at) = row.deleted_at {
        tombstone(&mut message, at, row.deleted_by_moderator);
    }
    message
}

/// Clears a message's content, leaving its place in the stream.
pub fn tombstone(message: &mut pb::ChatMessage, at: OffsetDateTime, by_moderator: bool) {
    message.text.clear();
    message.mentions.clear();
    message.reactions.clear();
    message.state = pb::MessageState::Deleted as i32;
    message.delete_time = Some(timestamp(at));
    message.deleted_by_moderator = by_moderator;
}

pub fn hidden(message: &pb::ChatMessage) -> pb::ChatMessage {
    pb::ChatMessage {
        room_id: message.room_id.clone(),
        sequence: message.sequence,
        state: pb::MessageState::Hidden as i32,
        create_time: message.create_time,
        ..Default::default()
    }
}

pub fn settings(s: &Settings, max_length: u32, updated: Option<(Uuid, OffsetDateTime)>) -> pb::ChatSettings {
    pb::ChatSettings {
        slow_mode_interval: Some(duration(s.slow_mode())),
        followers_only: s.followers_only,
        followers_only_min_age: Some(duration(s.followers_min_age())),
        members_only: s.members_only,
        emote_only: s.emote_only,
        reactions_only: s.reactions_only,
        shield_mode: s.shield_mode,
        max_message_length: max_length,
        live_reaction_emojis: s.live_reactions(),
        update_time: updated.map(|(_, at)| timestamp(at)),
        updated_by: updated.map(|(by, _)| by.to_string()).unwrap_or_default(),
    }
}

pub fn restriction_kind(kind: &str) -> pb::RestrictionKind {
    match kind {
        "timeout" => pb::RestrictionKind::Timeout,
        _ => pb::RestrictionKind::Ban,
    }
}

pub fn restriction(row: &RestrictionRow, user: UserRef) -> pb::ChatRestriction {
    pb::ChatRestriction {
        room_id: row.room_id.to_string(),
        user: Some(user),
        kind: restriction_kind(&row.kind) as i32,
        reason: row.reason.clone(),
        created_by: row.created_by.to_string(),
        create_time: Some(timestamp(row.created_at)),
        expire_time: row.expires_at.map(timestamp),
    }
}

pub fn term_action(stored: &str) -> pb::TermAction {
    match stored {
        "hold" => pb::TermAction::HoldForReview,
        _ => pb::TermAction::Block,
    }
}

pub fn term(row: &TermRow) -> pb::BlockedTerm {
    pb::BlockedTerm {
        term_id: row.id.to_string(),
        room_id: row.room_id.map(|r| r.to_string()).unwrap_or_default(),
        term: row.term.clone(),
        action: term_action(&row.action) as i32,
        expire_time: row.expires_at.map(timestamp),
        created_by: row.created_by.to_string(),
        create_time: Some(timestamp(row.created_at)),
    }
}

pub fn held(row: &HeldRow) -> pb::HeldMessage {
    pb::HeldMessage {
        held_message_id: row.id.to_string(),
        room_id: row.room_id.to_string(),
        author: Some(UserRef {
            user_id: row.author_id.to_string(),
            username: row.author_username.clone(),
            display_name: row.author_name.clone(),
            avatar_url: row.author_avatar.clone(),
        }),
        text: row.text.clone(),
        reply_to_sequence: row.reply_to_seq.unwrap_or(0) as u64,
        matched_terms: row.matched.clone(),
        create_time: Some(timestamp(row.created_at)),
        expire_time: Some(timestamp(row.expires_at)),
    }
}

/// A report as shown to a moderator; the reporter only for operator admins.
pub fn report(row: &ReportRow, reporter: Option<UserRef>, target: UserRef) -> pb::Report {
    pb::Report {
        report_id: row.id.to_string(),
        room_id: row.room_id.to_string(),
        reporter,
        target_user: Some(target),
        target_sequence: row.target_seq as u64,
        message_text: row.message_text.clone(),
        reason: i32::from(row.reason),
        details: row.details.clone(),
        state: if row.state == "open" { pb::ReportState::Open } else { pb::ReportState::Resolved } as i32,
        resolution: i32::from(row.resolution),
        resolution_note: row.resolution_note.clone(),
        resolved_by: row.resolved_by.map(|u| u.to_string()).unwrap_or_default(),
        create_time: Some(timestamp(row.created_at)),
        resolve_time: row.resolved_at.map(timestamp),
    }
}

pub fn audit(row: &AuditRow, actor: UserRef, target: Option<UserRef>) -> pb::AuditEntry {
    pb::AuditEntry {
        entry_id: row.id.to_string(),
        room_id: row.room_id.to_string(),
        actor: Some(actor),
        actor_role: i32::from(row.actor_role),
        actor_is_operator_admin: row.actor_is_admin,
        action: i32::from(row.action),
        target_user: target,
        target_sequence: row.target_seq as u64,
        reason: row.reason.clone(),
        details: row.details.0.clone().into_iter().collect(),
        create_time: Some(timestamp(row.created_at)),
    }
}
