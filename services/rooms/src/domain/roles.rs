//! Roles, kinds and visibility, and the permission rules between them.

use std::fmt;

/// A member's role, weakest first so that `>=` means "at least".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Member,
    Moderator,
    Host,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Moderator => "moderator",
            Role::Host => "host",
            Role::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "member" => Role::Member,
            "moderator" => Role::Moderator,
            "host" => Role::Host,
            "owner" => Role::Owner,
            _ => return None,
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    WatchParty,
    Channel,
    Programme,
    Community,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::WatchParty => "watch_party",
            Kind::Channel => "channel",
            Kind::Programme => "programme",
            Kind::Community => "community",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "watch_party" => Kind::WatchParty,
            "channel" => Kind::Channel,
            "programme" => Kind::Programme,
            "community" => Kind::Community,
            _ => return None,
        })
    }

    /// Kinds only operator admins create by hand (catalog sync makes them too).
    pub fn operator_only(self) -> bool {
        matches!(self, Kind::Channel | Kind::Programme)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Private,
    Unlisted,
    Public,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Unlisted => "unlisted",
            Visibility::Public => "public",
        }
    }

    pub fn parse(s: &str) -> Option<Visibility> {
        Some(match s {
            "private" => Visibility::Private,
            "unlisted" => Visibility::Unlisted,
            "public" => Visibility::Public,
            _ => return None,
        })
    }
}

/// Who may send playback commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PlaybackPolicy {
    #[default]
    HostOnly,
    Everyone,
}

/// The caller as the rules see them: their role in the room (None for
/// guests and outsiders) and whether they are an operator admin.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub role: Option<Role>,
    pub admin: bool,
}

/// Why a rule refused the caller: the stable reason clients see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    NotMember,
    NotHost,
    NotOwner,
    InsufficientRole,
    OperatorOnly,
}

impl Denied {
    pub fn reason(self) -> &'static str {
        match self {
            Denied::NotMember => "not_member",
            Denied::NotHost => "not_host",
            Denied::NotOwner => "not_owner",
            Denied::InsufficientRole => "insufficient_role",
            Denied::OperatorOnly => "operator_only",
        }
    }
}

impl Actor {
    /// The role rules compare with: admins act as owners everywhere.
    fn effective(self) -> Option<Role> {
        if self.admin { Some(Role::Owner) } else { self.role }
    }

    fn at_least(self, role: Role, denied: Denied) -> Result<(), Denied> {
        match self.effective() {
            Some(r) if r >= role => Ok(()),
            Some(_) => Err(denied),
            None => Err(Denied::NotMember),
        }
    }

    /// Play, pause, seek, queue: per the room's policy.
    pub fn may_control_playback(self, policy: PlaybackPolicy) -> Result<(), Denied> {
        match policy {
            PlaybackPolicy::HostOnly => self.at_least(Role::Host, Denied::NotHost),
            PlaybackPolicy::Everyone => self.at_least(Role::Member, Denied::NotMember),
        }
    }

    /// Title, description, image, settings. Channel and programme rooms
    /// belong to the operator.
    pub fn may_edit(self, kind: Kind) -> Result<(), Denied> {
        if kind.operator_only() && !self.admin {
            return Err(Denied::OperatorOnly);
        }
        self.at_least(Role::Host, Denied::NotHost)
    }

    /// Visibility and capacity, deleting, transferring ownership.
    pub fn may_own(self, kind: Kind) -> Result<(), Denied> {
        if kind.operator_only() && !self.admin {
            return Err(Denied::OperatorOnly);
        }
        self.at_least(Role::Owner, Denied::NotOwner)
    }

    /// Kick or ban `target` (None: a guest or outsider): moderators and
    /// above, on weaker roles only.
    pub fn may_moderate(self, target: Option<Role>) -> Result<(), Denied> {
        self.at_least(Role::Moderator, Denied::InsufficientRole)?;
        match (self.effective(), target) {
            (_, None) => Ok(()),
            (Some(mine), Some(theirs)) if mine > theirs => Ok(()),
            _ => Err(Denied::InsufficientRole),
        }
    }

    /// Set `target`'s role from `current` to `new` (never owner): the
    /// owner freely; hosts only between moderator and member.
    pub fn may_set_role(self, current: Role, new: Role) -> Result<(), Denied> {
        self.at_least(Role::Host, Denied::InsufficientRole)?;
        let mine = self.effective().unwrap_or(Role::Member);
        if mine == Role::Owner {
            return if current == Role::Owner { Err(Denied::InsufficientRole) } else { Ok(()) };
        }
        if current < Role::Host && new < Role::Host { Ok(()) } else { Err(Denied::InsufficientRole) }
    }

    /// Create invites: moderators and above, members when the room allows.
    pub fn may_invite(self, members_can_invite: bool) -> Result<(), Denied> {
        if members_can_invite {
            self.at_least(Role::Member, Denied::NotMember)
        } else {
            self.at_least(Role::Moderator, Denied::InsufficientRole)
        }
    }

    pub fn is_moderator(self) -> bool {
        self.effective().is_some_and(|r| r >= Role::Moderator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(role: Role) -> Actor {
        Actor { role: Some(role), admin: false }
    }
    const GUEST: Actor = Actor { role: None, admin: false };
    const ADMIN: Actor = Actor { role: None, admin: true };

    #[test]
    fn host_only_playback_refuses_members_and_guests() {
        assert_eq!(member(Role::Member).may_control_playback(PlaybackPolicy::HostOnly), Err(Denied::NotHost));
        assert_eq!(GUEST.may_control_playback(PlaybackPolicy::HostOnly), Err(Denied::NotMember));
        assert!(member(Role::Host).may_control_playback(PlaybackPolicy::HostOnly).is_ok());
        assert!(member(Role::Owner).may_control_playback(PlaybackPolicy::HostOnly).is_ok());
        assert!(member(Role::Member).may_control_playback(PlaybackPolicy::Everyone).is_ok());
        assert_eq!(GUEST.may_control_playback(PlaybackPolicy::Everyone), Err(Denied::NotMember));
        assert!(ADMIN.may_control_playback(PlaybackPolicy::HostOnly).is_ok());
    }

    #[test]
    fn moderation_needs_a_stronger_role() {
        assert!(member(Role::Moderator).may_moderate(Some(Role::Member)).is_ok());
        assert!(member(Role::Moderator).may_moderate(None).is_ok());
        assert_eq!(member(Role::Moderator).may_moderate(Some(Role::Moderator)), Err(Denied::InsufficientRole));
        assert_eq!(member(Role::Host).may_moderate(Some(Role::Owner)), Err(Denied::InsufficientRole));
        assert_eq!(member(Role::Member).may_moderate(Some(Role::Member)), Err(Denied::InsufficientRole));
        assert!(ADMIN.may_moderate(Some(Role::Host)).is_ok());
    }

    #[test]
    fn role_changes_follow_the_ladder() {
        let owner = member(Role::Owner);
        let host = member(Role::Host);
        assert!(owner.may_set_role(Role::Member, Role::Host).is_ok());
        assert!(owner.may_set_role(Role::Host, Role::Member).is_ok());
        assert!(host.may_set_role(Role::Member, Role::Moderator).is_ok());
        assert_eq!(host.may_set_role(Role::Member, Role::Host), Err(Denied::InsufficientRole));
        assert_eq!(host.may_set_role(Role::Host, Role::Member), Err(Denied::InsufficientRole));
        assert_eq!(member(Role::Moderator).may_set_role(Role::Member, Role::Moderator), Err(Denied::InsufficientRole));
    }

    #[test]
    fn operator_rooms_belong_to_admins() {
        assert_eq!(member(Role::Owner).may_edit(Kind::Channel), Err(Denied::OperatorOnly));
        assert!(ADMIN.may_edit(Kind::Channel).is_ok());
        assert!(member(Role::Host).may_edit(Kind::WatchParty).is_ok());
        assert_eq!(member(Role::Host).may_own(Kind::WatchParty), Err(Denied::NotOwner));
    }

    #[test]
    fn invites_follow_the_room_setting() {
        assert_eq!(member(Role::Member).may_invite(false), Err(Denied::InsufficientRole));
        assert!(member(Role::Member).may_invite(true).is_ok());
        assert!(member(Role::Moderator).may_invite(false).is_ok());
        assert_eq!(GUEST.may_invite(true), Err(Denied::NotMember));
    }

    #[test]
    fn names_round_trip() {
        for role in [Role::Member, Role::Moderator, Role::Host, Role::Owner] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        for kind in [Kind::WatchParty, Kind::Channel, Kind::Programme, Kind::Community] {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        for v in [Visibility::Private, Visibility::Unlisted, Visibility::Public] {
            assert_eq!(Visibility::parse(v.as_str()), Some(v));
        }
    }
}
