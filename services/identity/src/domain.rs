//! Identity's rules, pure and unit-tested: what a valid username, password
//! or profile field is, how refresh tokens are made and stored, and how list
//! positions are encoded in page tokens.

use base64::Engine;
use sha2::Digest;
use uuid::Uuid;

/// A field that failed validation, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

impl FieldError {
    fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self { field, reason: reason.into() }
    }
}

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 256;
pub const DISPLAY_NAME_MAX: usize = 64;
pub const BIO_MAX: usize = 500;
pub const AVATAR_URL_MAX: usize = 2048;
pub const LOCALE_MAX: usize = 35;
pub const PAGE_SIZE_DEFAULT: u32 = 50;
pub const PAGE_SIZE_MAX: u32 = 100;

/// A username, validated and folded to lower case (usernames compare
/// case-insensitively).
pub fn username(raw: &str) -> Result<String, FieldError> {
    let len = raw.chars().count();
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&len) {
        return Err(FieldError::new(
            "username",
            format!("must be {USERNAME_MIN}–{USERNAME_MAX} characters, got {len}"),
        ));
    }
    if let Some(bad) = raw.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
        return Err(FieldError::new("username", format!("may hold only letters a–z, digits and '_', found {bad:?}")));
    }
    Ok(raw.to_ascii_lowercase())
}

/// The username a provider-linked account gets on its `attempt`-th try
/// (0, 1, …): the provider's hint (or display name) reduced to a–z, 0–9
/// and '_', `viewer` when too little is left, then `_2`, `_3`, … and, past
/// a few tries, a random suffix, always within the username rules.
pub fn provider_username(hint: &str, display_name: &str, attempt: u32) -> String {
    let clean = |raw: &str| -> String {
        let mut out = String::new();
        for c in raw.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if (c == '_' || c.is_whitespace() || c == '.' || c == '-') && !out.ends_with('_') && !out.is_empty()
            {
                out.push('_');
            }
        }
        out.trim_end_matches('_').to_owned()
    };
    let mut base = clean(hint);
    if base.len() < USERNAME_MIN {
        base = clean(display_name);
    }
    if base.len() < USERNAME_MIN {
        base = "viewer".to_owned();
    }
    let suffix = match attempt {
        0 => String::new(),
        1..=4 => format!("_{}", attempt + 1),
        _ => format!("_{:06x}", rand::random::<u32>() & 0xff_ffff),
    };
    base.truncate(USERNAME_MAX - suffix.len());
    base + &suffix
}

/// A new password's strength rules (length only, as NIST SP 800-63B advises).
pub fn new_password(raw: &str) -> Result<(), FieldError> {
    let len = raw.chars().count();
    if len < PASSWORD_MIN {
        return Err(FieldError::new("password", format!("must be at least {PASSWORD_MIN} characters")));
    }
    if len > PASSWORD_MAX {
        return Err(FieldError::new("password", format!("must be at most {PASSWORD_MAX} characters")));
    }
    Ok(())
}

/// A presented password: only bounded, so hashing cost stays bounded.
pub fn presented_password(raw: &str) -> Result<(), FieldError> {
    if raw.is_empty() {
        return Err(FieldError::new("password", "is required"));
    }
    if raw.chars().count() > PASSWORD_MAX {
        return Err(FieldError::new("password", format!("must be at most {PASSWORD_MAX} characters")));
    }
    Ok(())
}

fn no_controls(field: &'static str, value: &str) -> Result<(), FieldError> {
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(FieldError::new(field, format!("must not contain control characters ({c:?})"))),
        None => Ok(()),
    }
}

/// A display name: trimmed, NFC-normalised, 1–64 characters, no controls.
pub fn display_name(raw: &str) -> Result<String, FieldError> {
    use unicode_normalization::UnicodeNormalization;
    let value: String = raw.trim().nfc().collect();
    let len = value.chars().count();
    if len == 0 || len > DISPLAY_NAME_MAX {
        return Err(FieldError::new("display_name", format!("must be 1–{DISPLAY_NAME_MAX} characters")));
    }
    no_controls("display_name", &value)?;
    Ok(value)
}

/// A bio: NFC-normalised, at most 500 characters; newlines and tabs allowed.
pub fn bio(raw: &str) -> Result<String, FieldError> {
    use unicode_normalization::UnicodeNormalization;
    let value: String = raw.trim().nfc().collect();
    if value.chars().count() > BIO_MAX {
        return Err(FieldError::new("bio", format!("must be at most {BIO_MAX} characters")));
    }
    match value.chars().find(|c| c.is_control() && *c != '\n' && *c != '\t') {
        Some(c) => Err(FieldError::new("bio", format!("must not contain control characters ({c:?})"))),
        None => Ok(value),
    }
}

/// An avatar URL: empty, or an absolute `https://` URL without spaces.
pub fn avatar_url(raw: &str) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    if value.len() > AVATAR_URL_MAX {
        return Err(FieldError::new("avatar_url", format!("must be at most {AVATAR_URL_MAX} bytes")));
    }
    let host = value.strip_prefix("https://").unwrap_or_default();
    if host.is_empty() || host.starts_with('/') || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new("avatar_url", "must be an absolute https:// URL"));
    }
    Ok(value.to_owned())
}

/// A BCP 47 language tag (shape only): alphanumeric subtags joined by '-'.
pub fn locale(raw: &str) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    let valid = value.len() <= LOCALE_MAX
        && value
            .split('-')
            .all(|part| (1..=8).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric()))
        && value.split('-').next().is_some_and(|lang| lang.chars().all(|c| c.is_ascii_alphabetic()));
    if !valid {
        return Err(FieldError::new("locale", "must be a BCP 47 language tag such as \"en-GB\""));
    }
    Ok(value.to_owned())
}

/// A user id from a request.
pub fn user_id(field: &'static str, raw: &str) -> Result<Uuid, FieldError> {
    if raw.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    Uuid::parse_str(raw).map_err(|_| FieldError::new(field, "must be a UUID"))
}

/// The page size in force: 0 means the default; larger than the maximum is
/// an error rather than a silent cap.
pub fn page_size(raw: u32) -> Result<u32, FieldError> {
    match raw {
        0 => Ok(PAGE_SIZE_DEFAULT),
        n if n <= PAGE_SIZE_MAX => Ok(n),
        _ => Err(FieldError::new("page_size", format!("must be at most {PAGE_SIZE_MAX}"))),
    }
}

/// A keyset position in a list ordered by (time desc, id desc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub micros: i64,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", self.micros, self.id))
    }

    /// Decodes a page token; empty means "from the start".
    pub fn decode(token: &str) -> Result<Option<Cursor>, FieldError> {
        if token.is_empty() {
            return Ok(None);
        }
        let invalid = || FieldError::new("page_token", "is not a token from a previous page");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (micros, id) = text.split_once(':').ok_or_else(invalid)?;
        Ok(Some(Cursor {
            micros: micros.parse().map_err(|_| invalid())?,
            id: Uuid::parse_str(id).map_err(|_| invalid())?,
        }))
    }
}

/// A new opaque refresh token (256 random bits, base64url).
pub fn new_refresh_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// What is stored of a refresh token: its SHA-256, never the token.
pub fn refresh_token_hash(token: &str) -> Vec<u8> {
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {

    #[test]
    fn provider_usernames_are_valid_usernames_and_distinct_per_attempt() {
        assert_eq!(provider_username("Ann.Smith", "", 0), "ann_smith");
        assert_eq!(provider_username("", "Jürgen Müller", 0), "jrgen_mller");
        assert_eq!(provider_username("x", "", 0), "viewer", "too short: a neutral name");
        assert_eq!(provider_username("ann", "", 1), "ann_2");
        let long = provider_username(&"a".repeat(100), "", 3);
        assert_eq!(long.len(), USERNAME_MAX);
        assert!(long.ends_with("_4"));
        for attempt in 0..8 {
            let name = provider_username("Émile-Zola 99", "", attempt);
            assert_eq!(username(&name).as_deref(), Ok(name.as_str()), "{name} must pass the username rules");
        }
        assert_ne!(provider_username("ann", "", 6), provider_username("ann", "", 6), "random past the fifth try");
    }

    use super::*;

    #[test]
    fn usernames_fold_case_and_reject_bad_characters() {
        assert_eq!(username("Alice_01").unwrap(), "alice_01");
        assert_eq!(username("ab").unwrap_err().field, "username");
        assert!(username(&"a".repeat(33)).is_err());
        assert!(username("al ice").is_err());
        assert!(username("alïce").is_err());
        assert!(username("a-b-c").is_err());
    }

    #[test]
    fn passwords_need_ten_characters() {
        assert!(new_password("123456789").is_err());
        assert!(new_password("1234567890").is_ok());
        assert!(new_password(&"x".repeat(257)).is_err());
        assert!(presented_password("").is_err());
    }

    #[test]
    fn display_names_are_trimmed_and_normalised() {
        assert_eq!(display_name("  Ann  ").unwrap(), "Ann");
        assert_eq!(display_name("e\u{301}").unwrap(), "\u{e9}");
        assert!(display_name("   ").is_err());
        assert!(display_name("a\u{7}b").is_err());
        assert!(display_name(&"x".repeat(65)).is_err());
    }

    #[test]
    fn avatar_urls_must_be_https() {
        assert_eq!(avatar_url("").unwrap(), "");
        assert!(avatar_url("https://cdn.example/a.png").is_ok());
        assert!(avatar_url("http://cdn.example/a.png").is_err());
        assert!(avatar_url("javascript:alert(1)").is_err());
        assert!(avatar_url("https:///path").is_err());
        assert!(avatar_url("https://a b").is_err());
    }

    #[test]
    fn locales_are_language_tags() {
        assert_eq!(locale("en-GB").unwrap(), "en-GB");
        assert!(locale("pt-BR").is_ok());
        assert!(locale("12-GB").is_err());
        assert!(locale("en_GB").is_err());
        assert!(locale("en--GB").is_err());
    }

    #[test]
    fn bios_allow_newlines_but_not_other_controls() {
        assert!(bio("line one\nline two").is_ok());
        assert!(bio("bell\u{7}").is_err());
        assert!(bio(&"x".repeat(501)).is_err());
    }

    #[test]
    fn page_sizes_default_and_refuse_excess() {
        assert_eq!(page_size(0).unwrap(), PAGE_SIZE_DEFAULT);
        assert_eq!(page_size(7).unwrap(), 7);
        assert!(page_size(101).is_err());
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor { micros: 1_700_000_000_000_000, id: Uuid::now_v7() };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), Some(cursor));
        assert_eq!(Cursor::decode("").unwrap(), None);
        assert_eq!(Cursor::decode("!!").unwrap_err().field, "page_token");
        assert!(Cursor::decode("bm9wZQ").is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let a = new_refresh_token();
        assert_ne!(a, new_refresh_token());
        assert_eq!(refresh_token_hash(&a).len(), 32);
        assert_eq!(refresh_token_hash(&a), refresh_token_hash(&a));
    }
}
