//! Who may see what a friend watches. Activity sharing is strictly
//! opt-in, per audience, pausable, never for sensitive items, never across
//! a block, and never for a session the friend hid (Plex's "Discover
//! Together" backlash is the lesson).

use hearth_proto::hearth::recommendations::v1::SharingAudience;

/// A user's activity-sharing choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sharing {
    pub share_activity: bool,
    pub audience: Audience,
    pub share_watch_parties: bool,
    /// Unix ms until which sharing is paused.
    pub paused_until_ms: Option<i64>,
}

/// Who sees an opted-in user's activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Audience {
    /// People who follow the user and whom the user follows back.
    #[default]
    MutualFollowers,
    /// Everyone who follows the user.
    Followers,
}

impl Audience {
    pub fn from_proto(raw: i32) -> Audience {
        match SharingAudience::try_from(raw) {
            Ok(SharingAudience::Followers) => Audience::Followers,
            _ => Audience::MutualFollowers,
        }
    }

    pub fn to_proto(self) -> SharingAudience {
        match self {
            Audience::MutualFollowers => SharingAudience::MutualFollowers,
            Audience::Followers => SharingAudience::Followers,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::MutualFollowers => "mutual_followers",
            Audience::Followers => "followers",
        }
    }

    pub fn parse(raw: &str) -> Audience {
        if raw == "followers" { Audience::Followers } else { Audience::MutualFollowers }
    }
}

/// The relation between a viewer and a friend whose activity they might
/// see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relation {
    /// The viewer follows the friend.
    pub viewer_follows: bool,
    /// The friend follows the viewer back.
    pub friend_follows: bool,
    /// Either blocked the other.
    pub blocked: bool,
}

/// What the friend is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity {
    /// An adult channel or a room marked sensitive.
    pub sensitive: bool,
    /// The friend hid this session.
    pub hidden: bool,
}

/// Whether the viewer may see the friend's activity at `now_ms`.
pub fn may_see(friend: &Sharing, relation: Relation, activity: Activity, now_ms: i64) -> bool {
    if !friend.share_activity || relation.blocked || activity.sensitive || activity.hidden {
        return false;
    }
    if friend.paused_until_ms.is_some_and(|until| until > now_ms) {
        return false;
    }
    match friend.audience {
        Audience::Followers => relation.viewer_follows,
        Audience::MutualFollowers => relation.viewer_follows && relation.friend_follows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARING: Sharing = Sharing {
        share_activity: true,
        audience: Audience::MutualFollowers,
        share_watch_parties: false,
        paused_until_ms: None,
    };
    const MUTUAL: Relation = Relation { viewer_follows: true, friend_follows: true, blocked: false };
    const PLAIN: Activity = Activity { sensitive: false, hidden: false };

    #[test]
    fn only_opted_in_friends_in_their_audience_are_seen() {
        assert!(may_see(&SHARING, MUTUAL, PLAIN, 0));
        assert!(!may_see(&Sharing::default(), MUTUAL, PLAIN, 0), "sharing is off by default");
        let one_way = Relation { friend_follows: false, ..MUTUAL };
        assert!(!may_see(&SHARING, one_way, PLAIN, 0), "mutual audience needs a follow back");
        assert!(may_see(&Sharing { audience: Audience::Followers, ..SHARING }, one_way, PLAIN, 0));
    }

    #[test]
    fn blocks_sensitive_items_hidden_sessions_and_pauses_always_win() {
        assert!(!may_see(&SHARING, Relation { blocked: true, ..MUTUAL }, PLAIN, 0));
        assert!(!may_see(&SHARING, MUTUAL, Activity { sensitive: true, hidden: false }, 0));
        assert!(!may_see(&SHARING, MUTUAL, Activity { sensitive: false, hidden: true }, 0));
        let paused = Sharing { paused_until_ms: Some(1_000), ..SHARING };
        assert!(!may_see(&paused, MUTUAL, PLAIN, 999));
        assert!(may_see(&paused, MUTUAL, PLAIN, 1_000), "the pause ends");
    }
}
