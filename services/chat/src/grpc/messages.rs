//! Sending, history, threads, deletion and resume.

use std::collections::{BTreeMap, HashSet};

use hearth_proto::hearth::{
    chat::v1::{self as pb, chat_event},
    events::v1::{Mention as MentionEvent, user_event},
};
use prost::Message as _;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Caller, ChatApi, Page, Room, reason, room_id};
use crate::{
    convert,
    domain::{
        gate,
        terms::Verdict,
        text::{self, TextError},
    },
    error::{ChatError, Result},
    state::Wait,
    store::{Author, MessageRow, NewMessage, Posted, StoredMention},
};

/// Most mentions resolved in one message.
const MENTIONS_MAX: usize = 20;
/// Held messages are denied automatically after this long.
const HELD_TTL_SECS: i64 = 24 * 3600;
/// Default and largest page of history.
const HISTORY_DEFAULT: u32 = 50;
/// Default latest messages on a fresh join.
const LATEST_DEFAULT: u32 = 50;
const LATEST_MAX: u32 = 100;

fn client_msg_id(raw: &str) -> Result<()> {
    let ok = (1..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ChatError::field("client_msg_id", "invalid_client_msg_id", "must be 1–64 characters of [A-Za-z0-9_-]"))
    }
}

fn text_error(err: TextError) -> ChatError {
    ChatError::field("text", err.reason(), err.to_string())
}

impl ChatApi {
    /// The author as shown on the message.
    async fn author(&self, caller: &Caller, room: &Room) -> Author {
        let user = self.profiles.one(caller.id).await;
        Author {
            id: caller.id,
            username: user.username,
            display_name: user.display_name,
            avatar_url: user.avatar_url,
            role: room.caller_role(),
        }
    }

    /// `@name` tokens resolved to users (leaving out users who blocked the
    /// author, which identity does).
    async fn mentions(&self, caller: &Caller, text: &str) -> Vec<StoredMention> {
        let tokens = text::mention_tokens(text, MENTIONS_MAX);
        if tokens.is_empty() {
            return Vec::new();
        }
        let mut names: Vec<String> = tokens.iter().map(|t| t.username.clone()).collect();
        names.sort();
        names.dedup();
        let request = hearth_proto::identity::LookupUsernamesRequest { usernames: names };
        let users = match self.identity.clone().lookup_usernames(caller.forward(request)).await {
            Ok(response) => response.into_inner().users,
            Err(status) => {
                tracing::warn!(code = ?status.code(), "mentions not resolved: identity unavailable");
                return Vec::new();
            }
        };
        tokens
            .iter()
            .filter_map(|t| {
                let user = users.iter().find(|u| u.username == t.username)?;
                Some(StoredMention {
                    user_id: Uuid::parse_str(&user.user_id).ok()?,
                    username: user.username.clone(),
                    start: t.start,
                    length: t.length,
                })
            })
            .collect()
    }

    pub async fn send_message(&self, caller: Caller, req: pb::SendMessageRequest) -> Result<pb::SendMessageResponse> {
        let room_uuid = room_id(&req.room_id)?;
        client_msg_id(&req.client_msg_id)?;
        // Everything the rules need, read at once: rooms' answer and the
        // local rows do not depend on each other.
        let (first, room, settings, restrictions) = tokio::join!(
            self.store.by_client_msg_id(room_uuid, caller.id, &req.client_msg_id),
            self.writable(&caller, room_uuid, &[]),
            self.store.settings(room_uuid),
            self.store.active_restrictions(room_uuid, caller.id),
        );
        // A resend returns the first result before anything else is checked
        // or counted.
        if let Some(first) = first? {
            let reply_to = match first.reply_to_seq {
                Some(seq) => self.store.messages_by_seq(room_uuid, &[seq]).await?.into_iter().next(),
                None => None,
            };
            return Ok(pb::SendMessageResponse {
                status: pb::SendStatus::Posted as i32,
                message: Some(convert::message(&first, Vec::new(), reply_to.as_ref(), false)),
                held_message_id: String::new(),
                duplicate: true,
            });
        }
        let room = room?;
        let (settings, _, _) = settings?;
        let limits = self.limits();
        let body = text::normalize_message(
            &req.text,
            settings.max_length(&limits) as usize,
            self.config.max_newlines as usize,
        )
        .map_err(text_error)?;
        let (sender, _) = Self::standing(&room, restrictions?);
        let now = OffsetDateTime::now_utc();
        gate::may_send(&settings, &sender, text::is_emote_only(&body), now)
            .map_err(|r| ChatError::Denied(r.reason(), r.message(), r.retry_after()))?;
        let verdict = self.matcher(room.id).await?.check(&body);
        if let Verdict::Block(_) = verdict {
            return Err(ChatError::Denied("blocked_term", "the message contains a blocked term".into(), None));
        }
        let (limit, slow_ms) = if sender.moderator {
            (self.config.moderator_messages_per_window, 0)
        } else {
            (self.config.member_messages_per_window, settings.slow_mode_ms)
        };
        match self
            .state
            .allow_send(room.id, caller.id, limit, self.config.rate_window.as_millis() as u64, slow_ms)
            .await?
        {
            Ok(()) => {}
            Err(Wait::SlowMode(ms)) => {
                return Err(ChatError::Exhausted(
                    "slow_mode",
                    format!("wait {} s between messages in this room", ms.div_ceil(1000)),
                    Some(std::time::Duration::from_millis(ms)),
                ));
            }
            Err(Wait::RateLimited(ms)) => {
                return Err(ChatError::Exhausted(
                    "rate_limited",
                    format!("too many messages; wait {} s", ms.div_ceil(1000)),
                    Some(std::time::Duration::from_millis(ms)),
                ));
            }
        }
        let mentions = self.mentions(&caller, &body).await;
        let author = self.author(&caller, &room).await;
        let reply_to = (req.reply_to_sequence > 0).then_some(req.reply_to_sequence);
        let new = NewMessage {
            room: room.id,
            author: &author,
            client_msg_id: &req.client_msg_id,
            text: &body,
            mentions: &mentions,
            reply_to,
            now,
            approving: None,
        };
        let hold = match verdict {
            Verdict::Hold(matched) => Some(matched),
            _ if settings.shield_mode && !sender.moderator && gate::has_link(&body) => Some(vec!["(link)".to_owned()]),
            _ => None,
        };
        if let Some(matched) = hold {
            return self.hold(&room, &new, &matched).await;
        }
        self.post(&room, new).await
    }

    /// Posts (a send or an approval) and tells the mentioned users.
    pub(crate) async fn post(&self, room: &Room, new: NewMessage<'_>) -> Result<pb::SendMessageResponse> {
        let events = self.events.clone();
        let posted = self
            .store
            .post(new, |row, reply_to| {
                let message = convert::message(row, Vec::new(), reply_to, false);
                events.sequenced(
                    row.room_id,
                    row.seq as u64,
                    chat_event::Kind::MessagePosted(pb::MessagePosted { message: Some(message) }),
                )
            })
            .await?;
        let (row, reply_to, fresh) = match posted {
            Posted::New { message, reply_to, outbox } => {
                self.deliver(room.id, message.seq as u64, outbox.1, outbox.0);
                self.signals.message(message.author_id, room.facts());
                self.notify_mentions(room, &message).await;
                (*message, reply_to.map(|r| *r), true)
            }
            Posted::Duplicate(row) => {
                let row = *row;
                let reply_to = match row.reply_to_seq {
                    Some(seq) => self.store.messages_by_seq(room.id, &[seq]).await?.into_iter().next(),
                    None => None,
                };
                (row, reply_to, false)
            }
        };
        hearth_platform::metrics::chat_messages().add(1, &[opentelemetry::KeyValue::new("outcome", "posted")]);
        Ok(pb::SendMessageResponse {
            status: pb::SendStatus::Posted as i32,
            message: Some(convert::message(&row, Vec::new(), reply_to.as_ref(), false)),
            held_message_id: String::new(),
            duplicate: !fresh,
        })
    }

    async fn notify_mentions(&self, room: &Room, row: &MessageRow) {
        let mut told = HashSet::new();
        for mention in row.mentions.0.iter() {
            if mention.user_id == row.author_id || !told.insert(mention.user_id) {
                continue;
            }
            let kind = user_event::Kind::Mention(MentionEvent {
                room_id: room.id.to_string(),
                room_title: room.title.clone(),
                sequence: row.seq as u64,
                author: Some(hearth_proto::hearth::common::v1::UserRef {
                    user_id: row.author_id.to_string(),
                    username: row.author_username.clone(),
                    display_name: row.author_name.clone(),
                    avatar_url: row.author_avatar.clone(),
                }),
                excerpt: text::excerpt(&row.text, 200),
            });
            self.events.personal(mention.user_id, "mention", kind).await;
        }
    }

    async fn hold(&self, room: &Room, new: &NewMessage<'_>, matched: &[String]) -> Result<pb::SendMessageResponse> {
        let (held, duplicate) = self.store.hold(new, matched, HELD_TTL_SECS).await?;
        if !duplicate {
            let kind = chat_event::Kind::MessageHeld(pb::MessageHeld { held_message: Some(convert::held(&held)) });
            self.events.moderators(room.id, kind).await;
        }
        Ok(pb::SendMessageResponse {
            status: pb::SendStatus::HeldForReview as i32,
            message: None,
            held_message_id: held.id.to_string(),
            duplicate,
        })
    }

    /// Messages as `caller` sees them, with reactions and reply previews.
    pub(crate) async fn present(&self, caller: &Caller, rows: &[MessageRow]) -> Result<Vec<pb::ChatMessage>> {
        let Some(first) = rows.first() else { return Ok(Vec::new()) };
        let room = first.room_id;
        let seqs: Vec<i64> = rows.iter().filter(|r| r.deleted_at.is_none()).map(|r| r.seq).collect();
        let reactions = self.store.reactions(room, &seqs, Some(caller.id)).await?;
        let mut wanted: Vec<i64> = rows.iter().filter_map(|r| r.reply_to_seq).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let targets: BTreeMap<i64, MessageRow> =
            self.store.messages_by_seq(room, &wanted).await?.into_iter().map(|r| (r.seq, r)).collect();
        let blocked = self.blocked_by(caller).await;
        Ok(rows
            .iter()
            .map(|row| {
                let reply = row.reply_to_seq.and_then(|s| targets.get(&s));
                convert::message(
                    row,
                    convert::reaction_counts(&reactions, row.seq),
                    reply,
                    blocked.contains(&row.author_id),
                )
            })
            .collect())
    }

    /// The room's current position.
    pub(crate) async fn position(&self, room: Uuid) -> Result<pb::ChatPosition> {
        let head = self.store.head(room).await?;
        Ok(self.position_at(room, head).await)
    }

    /// The position at a head already read, with the window's epoch.
    async fn position_at(&self, room: Uuid, sequence: u64) -> pb::ChatPosition {
        let epoch = self.state.epoch(room).await.ok().flatten().unwrap_or_default();
        pb::ChatPosition { sequence, epoch }
    }

    pub async fn list_messages(
        &self,
        caller: Caller,
        req: pb::ListMessagesRequest,
    ) -> Result<pb::ListMessagesResponse> {
        let room = room_id(&req.room_id)?;
        let token = req.page.as_ref().map(|p| p.page_token.as_str()).unwrap_or("");
        let size =
            hearth_platform::validate::page_size("page.page_size", req.page.as_ref().map_or(0, |p| p.page_size))?
                .min(100);
        let size = if req.page.as_ref().is_none_or(|p| p.page_size == 0) { HISTORY_DEFAULT } else { size };
        let (mut before, mut after) = match req.anchor {
            Some(pb::list_messages_request::Anchor::BeforeSequence(s)) => (Some(s), None),
            Some(pb::list_messages_request::Anchor::AfterSequence(s)) => (None, Some(s)),
            None => (None, None),
        };
        let direction = if after.is_some() { "after" } else { "before" };
        let query = hearth_platform::validate::query_hash(&[&req.room_id, direction]);
        if let Some(t) = hearth_platform::validate::PageToken::decode("page.page_token", token, query)? {
            if direction == "after" {
                after = Some(t.offset);
            } else {
                before = Some(t.offset);
            }
        }
        self.readable(&caller, room, &[]).await?;
        let rows = self.store.history(room, before, after, size).await?;
        let next = if rows.len() as u32 >= size {
            let anchor = if direction == "after" { rows.last() } else { rows.first() };
            anchor
                .map(|r| {
                    hearth_platform::validate::PageToken { query, micros: 0, id: Uuid::nil(), offset: r.seq as u64 }
                        .encode()
                })
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListMessagesResponse {
            messages: self.present(&caller, &rows).await?,
            page: Some(hearth_proto::hearth::common::v1::PageResponse { next_page_token: next }),
            position: Some(self.position(room).await?),
        })
    }

    pub async fn get_thread(&self, caller: Caller, req: pb::GetThreadRequest) -> Result<pb::GetThreadResponse> {
        let room = room_id(&req.room_id)?;
        if req.root_sequence == 0 {
            return Err(ChatError::field("root_sequence", "invalid_argument", "is required"));
        }
        let page = Page::parse(req.page.as_ref(), &[&req.room_id, &req.root_sequence.to_string()])?;
        self.readable(&caller, room, &[]).await?;
        let thread = self.store.thread(room, req.root_sequence, page.offset, page.size).await?;
        let root = self.present(&caller, std::slice::from_ref(&thread.root)).await?.pop();
        let replies = self.present(&caller, &thread.replies).await?;
        // The token carries the last reply's sequence.
        let last = thread.replies.last().map_or(0, |r| r.seq as u64);
        let next = page.cursor(thread.replies.len(), last);
        Ok(pb::GetThreadResponse { root, replies, page: next })
    }

    pub async fn delete_message(
        &self,
        caller: Caller,
        req: pb::DeleteMessageRequest,
    ) -> Result<pb::DeleteMessageResponse> {
        let room_uuid = room_id(&req.room_id)?;
        if req.sequence == 0 {
            return Err(ChatError::field("sequence", "invalid_argument", "is required"));
        }
        let why = reason("reason", &req.reason)?;
        let room = self.writable(&caller, room_uuid, &[]).await?;
        let moderates = room.caller_moderates();
        let events = self.events.clone();
        let mut audit = self.audit(&caller, &room, pb::AuditAction::MessageDeleted);
        audit.reason = why;
        audit.target_seq = req.sequence;
        let caller_id = caller.id;
        let (event_seq, outbox, _) = self
            .store
            .delete(
                room.id,
                req.sequence,
                OffsetDateTime::now_utc(),
                |row| {
                    if row.author_id == caller_id {
                        Ok(false)
                    } else if moderates {
                        Ok(true)
                    } else {
                        Err(ChatError::Denied(
                            "not_author",
                            "only the author or a moderator may delete it".into(),
                            None,
                        ))
                    }
                },
                |event_seq, row, by_moderator| {
                    let out = events.sequenced(
                        row.room_id,
                        event_seq,
                        chat_event::Kind::MessageDeleted(pb::MessageDeleted {
                            target_sequence: row.seq as u64,
                            by_moderator,
                        }),
                    );
                    audit.target_user = Some(row.author_id);
                    (out, by_moderator.then_some(audit))
                },
            )
            .await?;
        if let Some((outbox_id, out)) = outbox {
            self.deliver(room.id, event_seq, out, outbox_id);
        }
        Ok(pb::DeleteMessageResponse { event_sequence: event_seq })
    }

    pub async fn resume_chat(&self, caller: Caller, req: pb::ResumeChatRequest) -> Result<pb::ResumeChatResponse> {
        let room_uuid = room_id(&req.room_id)?;
        if req.latest_limit > LATEST_MAX {
            return Err(ChatError::field("latest_limit", "invalid_argument", "must be 0–100"));
        }
        if let Some(since) = &req.since
            && since.epoch.len() > 64
        {
            return Err(ChatError::field("since.epoch", "invalid_argument", "must be at most 64 characters"));
        }
        let room = self.readable(&caller, room_uuid, &[]).await?;
        let (settings, _, updated) = self.store.settings(room.id).await?;
        let (_, restriction) = self.sender(&room, caller.id).await?;
        let me = match &restriction {
            Some(_) => Some(self.profiles.one(caller.id).await),
            None => None,
        };
        let mut response = pb::ResumeChatResponse {
            settings: Some(convert::settings(&settings, settings.max_length(&self.limits()), updated)),
            my_restriction: restriction.as_ref().zip(me).map(|(r, me)| convert::restriction(r, me)),
            ..Default::default()
        };
        let head = self.store.head(room.id).await?;
        let since = req.since.as_ref().filter(|s| s.sequence > 0);
        let Some(since) = since else {
            let limit = if req.latest_limit == 0 { LATEST_DEFAULT } else { req.latest_limit };
            let rows = self.store.history(room.id, None, None, limit).await?;
            response.outcome = pb::ResumeOutcome::Latest as i32;
            response.messages = self.present(&caller, &rows).await?;
            // A message committed between the two reads is in `rows`: the
            // position covers it, so it is not delivered live again.
            let newest = rows.last().map_or(0, |r| r.seq as u64);
            response.position = Some(self.position_at(room.id, head.max(newest)).await);
            return Ok(response);
        };
        let too_far = since.sequence > head || head - since.sequence > u64::from(self.config.resume_max_events);
        let recovered = if too_far { None } else { self.recover(&caller, room.id, since, head).await? };
        match recovered {
            Some((messages, deleted, epoch)) => {
                response.outcome = pb::ResumeOutcome::Recovered as i32;
                response.messages = messages;
                response.deleted_sequences = deleted;
                response.position = Some(pb::ChatPosition { sequence: head, epoch });
            }
            None => {
                response.outcome = pb::ResumeOutcome::TooFarBehind as i32;
                response.position = Some(self.position_at(room.id, head).await);
            }
        }
        Ok(response)
    }

    /// Everything after `since` up to `head`: from the Redis window when it
    /// has the same epoch and every event in between, else from Postgres
    /// (None when older than the resume age limit).
    async fn recover(
        &self,
        caller: &Caller,
        room: Uuid,
        since: &pb::ChatPosition,
        head: u64,
    ) -> Result<Option<(Vec<pb::ChatMessage>, Vec<u64>, String)>> {
        let window = match self.state.window(room, since.sequence).await {
            Ok(window) => Some(window),
            Err(error) => {
                tracing::warn!(%error, "recent window unreadable; resuming from Postgres");
                None
            }
        };
        let epoch = window.as_ref().and_then(|w| w.epoch.clone()).unwrap_or_default();
        let max_age = self.config.resume_max_age.as_secs() as i64;
        if let Some(window) = window.filter(|w| w.epoch.as_deref() == Some(since.epoch.as_str()))
            && let Some((messages, deleted, first)) =
                self.fold_window(caller, room, since.sequence, head, &window.events).await?
        {
            if first.is_some_and(|at| at < OffsetDateTime::now_utc() - time::Duration::seconds(max_age)) {
                return Ok(None);
            }
            hearth_platform::metrics::chat_resumes().add(1, &[opentelemetry::KeyValue::new("source", "redis")]);
            return Ok(Some((messages, deleted, epoch)));
        }
        let Some(rows) = self.store.resume(room, since.sequence, head, max_age).await? else {
            return Ok(None);
        };
        hearth_platform::metrics::chat_resumes().add(1, &[opentelemetry::KeyValue::new("source", "postgres")]);
        Ok(Some((self.present(caller, &rows.messages).await?, rows.deleted, epoch)))
    }

    /// Folds the window's events after `since` into messages in their
    /// current state, with the time of the first missed event; None when
    /// the window misses any event up to `head`.
    async fn fold_window(
        &self,
        caller: &Caller,
        room: Uuid,
        since: u64,
        head: u64,
        events: &[(u64, Vec<u8>)],
    ) -> Result<Option<(Vec<pb::ChatMessage>, Vec<u64>, Option<OffsetDateTime>)>> {
        let mut expected = since + 1;
        let mut first = None;
        let mut messages: BTreeMap<u64, pb::ChatMessage> = BTreeMap::new();
        let mut deleted = Vec::new();
        for (seq, payload) in events.iter().filter(|(s, _)| *s <= head) {
            if *seq != expected {
                return Ok(None);
            }
            expected += 1;
            let Some(event) = hearth_proto::hearth::events::v1::Envelope::decode(payload.as_slice())
                .ok()
                .and_then(|e| pb::ChatEvent::decode(e.payload.as_slice()).ok())
            else {
                return Ok(None);
            };
            let at = event.time.as_ref().and_then(convert::datetime).unwrap_or_else(OffsetDateTime::now_utc);
            first.get_or_insert(at);
            let mut remove = |target: u64, by_moderator: bool| match messages.get_mut(&target) {
                Some(message) => convert::tombstone(message, at, by_moderator),
                None if target <= since => deleted.push(target),
                None => {}
            };
            match event.kind {
                Some(chat_event::Kind::MessagePosted(posted)) => {
                    if let Some(message) = posted.message {
                        if message.thread_root_sequence > since
                            && let Some(root) = messages.get_mut(&message.thread_root_sequence)
                        {
                            root.reply_count += 1;
                        }
                        messages.insert(message.sequence, message);
                    }
                }
                Some(chat_event::Kind::MessageDeleted(d)) => remove(d.target_sequence, d.by_moderator),
                Some(chat_event::Kind::MessagesPurged(p)) => {
                    for target in p.target_sequences {
                        remove(target, true);
                    }
                }
                _ => {}
            }
        }
        if expected != head + 1 {
            return Ok(None);
        }
        // Reactions change without sequences: read their current counts.
        let visible: Vec<i64> = messages
            .values()
            .filter(|m| m.state == pb::MessageState::Visible as i32)
            .map(|m| m.sequence as i64)
            .collect();
        let reactions = self.store.reactions(room, &visible, Some(caller.id)).await?;
        let blocked = self.blocked_by(caller).await;
        deleted.sort_unstable();
        deleted.dedup();
        Ok(Some((
            messages
                .into_values()
                .map(|mut m| {
                    m.reactions = convert::reaction_counts(&reactions, m.sequence as i64);
                    let author = m.author.as_ref().and_then(|a| Uuid::parse_str(&a.user_id).ok());
                    if author.is_some_and(|a| blocked.contains(&a)) { convert::hidden(&m) } else { m }
                })
                .collect(),
            deleted,
            first,
        )))
    }
}
