//! The adapter's viewers: a JSON list of session tokens and what each
//! user may watch. A reference for testing integrations, not a provider:
//! real operators answer VerifyUserToken and CheckEntitlement from their
//! own subscriber systems.
//!
//! ```json
//! {"users": [
//!   {"token": "demo-ann", "id": "ann", "name": "Ann", "packages": ["News", "Sports"]},
//!   {"token": "demo-bob", "id": "bob", "name": "Bob", "all_channels": true, "max_parental_age": 12},
//!   {"token": "demo-eve", "id": "eve", "name": "Eve", "suspended": true}
//! ]}
//! ```
//! A package grants the channels whose `group-title` has that name
//! (case-insensitive).

use std::collections::HashMap;

use hearth_proto::hearth::provider::v1 as pb;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub token: String,
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub packages: Vec<String>,
    #[serde(default)]
    pub all_channels: bool,
    /// Parental-control age limit; 0 means none.
    #[serde(default)]
    pub max_parental_age: u32,
    #[serde(default)]
    pub suspended: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    users: Vec<User>,
}

/// The users file is not valid.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("users file: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("users file: {0}")]
    Invalid(String),
}

/// Users by token and by id.
#[derive(Debug, Default)]
pub struct Users {
    by_token: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
    users: Vec<User>,
}

impl Users {
    pub fn parse(json: &str) -> Result<Self, UsersError> {
        let file: File = serde_json::from_str(json)?;
        let mut users = Users::default();
        for (index, user) in file.users.into_iter().enumerate() {
            if user.token.is_empty() || user.id.is_empty() || user.name.is_empty() {
                return Err(UsersError::Invalid(format!("user {index}: token, id and name are required")));
            }
            if users.by_token.insert(user.token.clone(), index).is_some() {
                return Err(UsersError::Invalid(format!("user {index}: duplicate token")));
            }
            if users.by_id.insert(user.id.clone(), index).is_some() {
                return Err(UsersError::Invalid(format!("user {index}: duplicate id {:?}", user.id)));
            }
            users.users.push(user);
        }
        Ok(users)
    }

    pub fn by_token(&self, token: &str) -> Option<&User> {
        self.by_token.get(token).map(|i| &self.users[*i])
    }

    pub fn by_id(&self, id: &str) -> Option<&User> {
        self.by_id.get(id).map(|i| &self.users[*i])
    }
}

impl User {
    pub fn summary(&self) -> pb::EntitlementSummary {
        pb::EntitlementSummary {
            packages: self.packages.clone(),
            all_channels: self.all_channels,
            max_parental_age: self.max_parental_age,
        }
    }

    /// Whether this user may watch the channel, and why not.
    pub fn may_watch(&self, channel: &pb::Channel) -> Result<(), pb::DenialReason> {
        if self.suspended {
            return Err(pb::DenialReason::AccountSuspended);
        }
        if channel.adult && self.max_parental_age > 0 && self.max_parental_age < 18 {
            return Err(pb::DenialReason::ParentalControl);
        }
        let subscribed =
            self.all_channels || channel.groups.iter().any(|g| self.packages.iter().any(|p| p.eq_ignore_ascii_case(g)));
        if subscribed { Ok(()) } else { Err(pb::DenialReason::NotSubscribed) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(groups: &[&str], adult: bool) -> pb::Channel {
        pb::Channel {
            channel_id: "c".into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            adult,
            ..Default::default()
        }
    }

    #[test]
    fn packages_suspension_and_parental_control_decide() {
        let users = Users::parse(
            r#"{"users": [
                {"token": "t-ann", "id": "ann", "name": "Ann", "packages": ["news"]},
                {"token": "t-bob", "id": "bob", "name": "Bob", "all_channels": true, "max_parental_age": 12},
                {"token": "t-eve", "id": "eve", "name": "Eve", "all_channels": true, "suspended": true}
            ]}"#,
        )
        .expect("valid");
        let ann = users.by_token("t-ann").expect("ann");
        assert_eq!(ann.may_watch(&channel(&["News"], false)), Ok(()));
        assert_eq!(ann.may_watch(&channel(&["Sports"], false)), Err(pb::DenialReason::NotSubscribed));
        let bob = users.by_id("bob").expect("bob");
        assert_eq!(bob.may_watch(&channel(&[], false)), Ok(()));
        assert_eq!(bob.may_watch(&channel(&[], true)), Err(pb::DenialReason::ParentalControl));
        assert_eq!(
            users.by_id("eve").expect("eve").may_watch(&channel(&[], false)),
            Err(pb::DenialReason::AccountSuspended)
        );
        assert!(users.by_token("nobody").is_none());
    }

    #[test]
    fn invalid_files_are_refused_with_the_reason() {
        assert!(Users::parse("{").is_err());
        let dup = r#"{"users": [{"token": "t", "id": "a", "name": "A"}, {"token": "t", "id": "b", "name": "B"}]}"#;
        assert!(Users::parse(dup).unwrap_err().to_string().contains("duplicate token"));
        assert!(Users::parse(r#"{"users": [{"token": "t", "id": "", "name": "A"}]}"#).is_err());
    }
}
