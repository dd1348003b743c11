//! Wrappers that keep secrets out of logs and `Debug` output.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret string (a private key, a password). `Debug` prints `[redacted]`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A connection URL that may hold a password. `Debug` and `Display` show it
/// with the password replaced, so it can be logged.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The full URL, password included; pass it only to the client library.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any `user:password@` password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }
}

fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else if user.is_empty() {
                String::new()
            } else {
                // A bare userinfo may be a token (redis://token@host).
                "***".to_owned()
            };
            format!("{}://{}@{}", &url[..scheme_end], masked, &rest[at + 1..])
        }
        None => url.to_owned(),
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        let url = SecretUrl::new("postgres://app:s3cret@db:5432/hearth");
        assert_eq!(url.redacted(), "postgres://app:***@db:5432/hearth");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(SecretUrl::new("redis://tok@r:6379").redacted(), "redis://***@r:6379");
        assert_eq!(SecretUrl::new("nats://127.0.0.1:4222").redacted(), "nats://127.0.0.1:4222");
    }

    #[test]
    fn secret_string_debug_is_redacted() {
        assert_eq!(format!("{:?}", SecretString::new("key")), "[redacted]");
    }
}
