//! Who may send or react, and when: chat restrictions (timeouts and chat
//! bans) and the room's modes. Rate limits and slow mode are counted in
//! Redis (`state`); this module only decides.

use std::time::Duration;

use time::OffsetDateTime;

use super::settings::Settings;

/// A timeout or chat ban in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restriction {
    Timeout {
        until: OffsetDateTime,
    },
    /// `None`: permanent.
    Ban {
        until: Option<OffsetDateTime>,
    },
}

/// The sender as the rules see them.
#[derive(Debug, Clone, Copy)]
pub struct Sender {
    /// Room moderator, host, owner or operator admin: exempt from the modes.
    pub moderator: bool,
    /// When the sender became a member; `None` for guests.
    pub member_since: Option<OffsetDateTime>,
    pub restriction: Option<Restriction>,
}

/// Why a send or reaction is refused; `reason()` is the contract's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    TimedOut { retry_after: Duration },
    ChatBanned { until: Option<OffsetDateTime> },
    MembersOnly,
    FollowersOnly { retry_after: Option<Duration> },
    EmoteOnly,
    ReactionsOnly,
}

impl Refusal {
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::TimedOut { .. } => "timed_out",
            Refusal::ChatBanned { .. } => "chat_banned",
            Refusal::MembersOnly => "members_only",
            Refusal::FollowersOnly { .. } => "followers_only",
            Refusal::EmoteOnly => "emote_only",
            Refusal::ReactionsOnly => "reactions_only",
        }
    }

    /// When a retry may succeed.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Refusal::TimedOut { retry_after } => Some(*retry_after),
            Refusal::FollowersOnly { retry_after } => *retry_after,
            _ => None,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refusal::TimedOut { retry_after } => {
                format!("you are timed out in this chat for {} s more", retry_after.as_secs().max(1))
            }
            Refusal::ChatBanned { until: Some(_) } => "you are banned from this chat for a while".into(),
            Refusal::ChatBanned { until: None } => "you are banned from this chat".into(),
            Refusal::MembersOnly => "only members of the room may chat".into(),
            Refusal::FollowersOnly { retry_after: Some(d) } => {
                format!("followers-only chat: you may chat in {} s", d.as_secs().max(1))
            }
            Refusal::FollowersOnly { retry_after: None } => "followers-only chat: join the room to chat".into(),
            Refusal::EmoteOnly => "emote-only chat: messages may hold only emoji".into(),
            Refusal::ReactionsOnly => "reactions-only chat: messages are off".into(),
        }
    }
}

fn remaining(until: OffsetDateTime, now: OffsetDateTime) -> Duration {
    Duration::try_from(until - now).unwrap_or_default()
}

/// Restrictions stop everything a user can say, reactions included.
pub fn restricted(sender: &Sender, now: OffsetDateTime) -> Result<(), Refusal> {
    match sender.restriction {
        Some(Restriction::Ban { until }) if until.is_none_or(|u| u > now) => Err(Refusal::ChatBanned { until }),
        Some(Restriction::Timeout { until }) if until > now => {
            Err(Refusal::TimedOut { retry_after: remaining(until, now) })
        }
        _ => Ok(()),
    }
}

/// Whether `sender` may post a message now; `emote_only_text` says whether
/// the text holds only emoji.
pub fn may_send(
    settings: &Settings,
    sender: &Sender,
    emote_only_text: bool,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    restricted(sender, now)?;
    if sender.moderator {
        return Ok(());
    }
    if settings.reactions_only {
        return Err(Refusal::ReactionsOnly);
    }
    if settings.members_only && sender.member_since.is_none() {
        return Err(Refusal::MembersOnly);
    }
    if settings.followers_only {
        let Some(since) = sender.member_since else {
            return Err(Refusal::FollowersOnly { retry_after: None });
        };
        let eligible = since + settings.followers_min_age();
        if eligible > now {
            return Err(Refusal::FollowersOnly { retry_after: Some(remaining(eligible, now)) });
        }
    }
    if settings.emote_only && !emote_only_text {
        return Err(Refusal::EmoteOnly);
    }
    Ok(())
}

/// Whether a text holds a link (held for review under shield mode).
pub fn has_link(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("http://") || lower.contains("https://") || lower.contains("www.")
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-26 12:00 UTC);

    fn member(since: OffsetDateTime) -> Sender {
        Sender { moderator: false, member_since: Some(since), restriction: None }
    }

    fn guest() -> Sender {
        Sender { moderator: false, member_since: None, restriction: None }
    }

    #[test]
    fn open_rooms_let_everyone_send() {
        assert_eq!(may_send(&Settings::default(), &guest(), false, NOW), Ok(()));
    }

    #[test]
    fn timeouts_and_bans_refuse_with_retry_times() {
        let mut s = member(NOW);
        s.restriction = Some(Restriction::Timeout { until: NOW + Duration::from_secs(90) });
        let refusal = may_send(&Settings::default(), &s, false, NOW).expect_err("timed out");
        assert_eq!(refusal.reason(), "timed_out");
        assert_eq!(refusal.retry_after(), Some(Duration::from_secs(90)));
        s.restriction = Some(Restriction::Timeout { until: NOW - Duration::from_secs(1) });
        assert!(may_send(&Settings::default(), &s, false, NOW).is_ok(), "an expired timeout is over");
        s.restriction = Some(Restriction::Ban { until: None });
        assert_eq!(restricted(&s, NOW).map_err(|r| r.reason()), Err("chat_banned"));
        s.moderator = true;
        assert!(may_send(&Settings::default(), &s, false, NOW).is_err(), "restrictions bind moderators too");
    }

    #[test]
    fn modes_refuse_what_they_should_and_exempt_moderators() {
        let members = Settings { members_only: true, ..Default::default() };
        assert_eq!(may_send(&members, &guest(), false, NOW), Err(Refusal::MembersOnly));
        assert!(may_send(&members, &member(NOW), false, NOW).is_ok());

        let followers = Settings { followers_only: true, followers_only_min_age_ms: 600_000, ..Default::default() };
        let fresh = member(NOW - Duration::from_secs(60));
        let refusal = may_send(&followers, &fresh, false, NOW).expect_err("too new");
        assert_eq!(refusal.retry_after(), Some(Duration::from_secs(540)));
        assert!(may_send(&followers, &member(NOW - Duration::from_secs(601)), false, NOW).is_ok());
        assert_eq!(may_send(&followers, &guest(), false, NOW), Err(Refusal::FollowersOnly { retry_after: None }));

        let emotes = Settings { emote_only: true, ..Default::default() };
        assert_eq!(may_send(&emotes, &guest(), false, NOW), Err(Refusal::EmoteOnly));
        assert!(may_send(&emotes, &guest(), true, NOW).is_ok());

        let reactions = Settings { reactions_only: true, ..Default::default() };
        assert_eq!(may_send(&reactions, &guest(), true, NOW), Err(Refusal::ReactionsOnly));

        let moderator = Sender { moderator: true, member_since: None, restriction: None };
        for settings in [members, followers, emotes, reactions] {
            assert!(may_send(&settings, &moderator, false, NOW).is_ok());
        }
    }

    #[test]
    fn links_are_found_case_insensitively() {
        assert!(has_link("see HTTPS://example.com"));
        assert!(has_link("www.example.com"));
        assert!(!has_link("no links here"));
    }
}
