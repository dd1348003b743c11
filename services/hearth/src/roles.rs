//! The roles one `hearth` process can run.

use std::{fmt, str::FromStr};

/// A role: a service (or the gateway) this binary can host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Gateway,
    Identity,
    Rooms,
    Chat,
    Polls,
    Provider,
    Recommendations,
}

impl Role {
    /// Every role this release can run, in start order.
    pub const ALL: &[Role] =
        &[Role::Identity, Role::Provider, Role::Rooms, Role::Chat, Role::Polls, Role::Recommendations, Role::Gateway];

    pub fn name(self) -> &'static str {
        match self {
            Role::Gateway => "gateway",
            Role::Identity => "identity",
            Role::Rooms => "rooms",
            Role::Chat => "chat",
            Role::Polls => "polls",
            Role::Provider => "provider",
            Role::Recommendations => "recommendations",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error(
        "unknown role `{0}`; available roles: all, gateway, identity, provider, rooms, chat, polls, recommendations"
    )]
    Unknown(String),
    #[error("no roles given")]
    Empty,
}

impl FromStr for Role {
    type Err = RoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "gateway" => Ok(Role::Gateway),
            "identity" => Ok(Role::Identity),
            "rooms" => Ok(Role::Rooms),
            "chat" => Ok(Role::Chat),
            "polls" => Ok(Role::Polls),
            "provider" => Ok(Role::Provider),
            "recommendations" => Ok(Role::Recommendations),
            other => Err(RoleError::Unknown(other.to_owned())),
        }
    }
}

/// Parses `all` or a comma-separated list, deduplicated, in start order.
pub fn parse(list: &str) -> Result<Vec<Role>, RoleError> {
    let mut roles = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item == "all" {
            roles.extend_from_slice(Role::ALL);
        } else {
            roles.push(item.parse()?);
        }
    }
    roles.sort();
    roles.dedup();
    roles.sort_by_key(|r| Role::ALL.iter().position(|a| a == r));
    if roles.is_empty() {
        return Err(RoleError::Empty);
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_expands_and_lists_dedupe() {
        assert_eq!(
            parse("all").unwrap(),
            vec![
                Role::Identity,
                Role::Provider,
                Role::Rooms,
                Role::Chat,
                Role::Polls,
                Role::Recommendations,
                Role::Gateway
            ]
        );
        assert_eq!(parse("gateway, identity,gateway").unwrap(), vec![Role::Identity, Role::Gateway]);
    }

    #[test]
    fn every_role_parses_and_unknown_roles_are_refused_clearly() {
        assert_eq!(parse("gateway,recommendations").unwrap(), vec![Role::Recommendations, Role::Gateway]);
        assert!(matches!(parse("teapot"), Err(RoleError::Unknown(_))));
        assert_eq!(parse(""), Err(RoleError::Empty));
    }
}
