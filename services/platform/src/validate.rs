//! Request-field rules every service applies the same way (common.proto's
//! conventions): text is NFC-normalised and trimmed before length checks,
//! lengths count characters, ids are UUIDs, pages are bounded and their
//! tokens opaque.

use base64::Engine;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

/// A request field that failed validation, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field in the request, e.g. `settings.capacity`.
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

pub const PAGE_SIZE_DEFAULT: u32 = 50;
pub const PAGE_SIZE_MAX: u32 = 100;

/// Which control characters a text field tolerates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line: no control characters at all.
    Single,
    /// Newlines (and tabs) allowed, other controls not.
    Multi,
}

/// Normalised text of `min..=max` characters.
pub fn text(field: &str, raw: &str, min: usize, max: usize, lines: Lines) -> Result<String, FieldError> {
    let value: String = raw.trim().nfc().collect();
    let len = value.chars().count();
    if len < min || len > max {
        let reason = if min > 0 && len == 0 {
            "is required".to_owned()
        } else {
            format!("must be {min}–{max} characters, got {len}")
        };
        return Err(FieldError::new(field, reason));
    }
    let allowed = |c: char| lines == Lines::Multi && (c == '\n' || c == '\t');
    if let Some(c) = value.chars().find(|c| c.is_control() && !allowed(*c)) {
        return Err(FieldError::new(field, format!("must not contain control characters ({c:?})")));
    }
    Ok(value)
}

/// An identifier chosen by a provider or client: 1–`max` characters, no
/// control characters or surrounding spaces (kept exactly as given).
pub fn identifier(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let len = raw.chars().count();
    if len == 0 {
        return Err(FieldError::new(field, "is required"));
    }
    if len > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters, got {len}")));
    }
    if raw.trim() != raw || raw.chars().any(char::is_control) {
        return Err(FieldError::new(field, "must not contain control characters or surrounding spaces"));
    }
    Ok(raw.to_owned())
}

/// An absolute URL with one of the given schemes, without spaces; empty
/// stays empty when `optional`.
pub fn url(field: &str, raw: &str, schemes: &[&str], max: usize, optional: bool) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return if optional { Ok(String::new()) } else { Err(FieldError::new(field, "is required")) };
    }
    if value.len() > max {
        return Err(FieldError::new(field, format!("must be at most {max} bytes")));
    }
    let rest = schemes.iter().find_map(|scheme| {
        value
            .get(..scheme.len() + 3)
            .filter(|p| p.eq_ignore_ascii_case(&format!("{scheme}://")))
            .map(|_| &value[scheme.len() + 3..])
    });
    let Some(rest) = rest else {
        let wanted = schemes.iter().map(|s| format!("{s}://")).collect::<Vec<_>>().join(" or ");
        return Err(FieldError::new(field, format!("must be an absolute {wanted} URL")));
    };
    if rest.is_empty() || rest.starts_with('/') || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(field, "must be an absolute URL with a host and no spaces"));
    }
    Ok(value.to_owned())
}

/// A required UUID.
pub fn uuid(field: &str, raw: &str) -> Result<Uuid, FieldError> {
    if raw.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    Uuid::parse_str(raw).map_err(|_| FieldError::new(field, "must be a UUID"))
}

/// The page size in force: 0 means the default; above the maximum is an
/// error rather than a silent cap.
pub fn page_size(field: &str, raw: u32) -> Result<u32, FieldError> {
    match raw {
        0 => Ok(PAGE_SIZE_DEFAULT),
        n if n <= PAGE_SIZE_MAX => Ok(n),
        _ => Err(FieldError::new(field, format!("must be at most {PAGE_SIZE_MAX}"))),
    }
}

/// The page a list request asks for, bound to its filters: where it starts
/// and how many. Offset pages continue with [`Page::response`]; cursor pages
/// (the token holds the last item's key) with [`Page::cursor`].
#[derive(Debug, Clone)]
pub struct Page {
    pub offset: u64,
    pub size: u32,
    query: u64,
}

impl Page {
    /// `page.page_size` (default/limit as [`page_size`]) and
    /// `page.page_token`, which must come from the same filters.
    pub fn parse(
        page: Option<&hearth_proto::hearth::common::v1::PageRequest>,
        filters: &[&str],
    ) -> Result<Page, FieldError> {
        let (size, token) = page.map(|p| (p.page_size, p.page_token.as_str())).unwrap_or((0, ""));
        let size = page_size("page.page_size", size)?;
        let query = query_hash(filters);
        let offset = PageToken::decode("page.page_token", token, query)?.map(|t| t.offset).unwrap_or(0);
        Ok(Page { offset, size, query })
    }

    /// The next offset page, when this one came back full.
    pub fn response(&self, returned: usize) -> Option<hearth_proto::hearth::common::v1::PageResponse> {
        let full = returned >= self.size as usize;
        self.next(full.then(|| self.offset + returned as u64))
    }

    /// The next cursor page (starting after `last`), when this one came
    /// back full.
    pub fn cursor(&self, returned: usize, last: u64) -> Option<hearth_proto::hearth::common::v1::PageResponse> {
        self.next((returned >= self.size as usize).then_some(last))
    }

    fn next(&self, offset: Option<u64>) -> Option<hearth_proto::hearth::common::v1::PageResponse> {
        let next_page_token = offset
            .map(|offset| PageToken { query: self.query, micros: 0, id: Uuid::nil(), offset }.encode())
            .unwrap_or_default();
        Some(hearth_proto::hearth::common::v1::PageResponse { next_page_token })
    }
}

/// A keyset position in a list ordered by (time desc, id desc), or an
/// offset, carried in an opaque page token bound to the query's filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageToken {
    /// Hash of the filters the token was made for.
    pub query: u64,
    pub micros: i64,
    pub id: Uuid,
    pub offset: u64,
}

/// A stable hash of a query's filters, so a token cannot be replayed
/// against another query.
pub fn query_hash(parts: &[&str]) -> u64 {
    // FNV-1a: stable across processes and releases, unlike DefaultHasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

impl PageToken {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("{:x}:{}:{}:{}", self.query, self.micros, self.id, self.offset))
    }

    /// Decodes a token for the query `query`; empty means the first page.
    pub fn decode(field: &str, token: &str, query: u64) -> Result<Option<PageToken>, FieldError> {
        if token.is_empty() {
            return Ok(None);
        }
        let invalid = || FieldError::new(field, "invalid_page_token: not a token from a previous page of this query");
        if token.len() > 1024 {
            return Err(invalid());
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = text.split(':');
        let mut next = || parts.next().ok_or_else(invalid);
        let parsed = PageToken {
            query: u64::from_str_radix(next()?, 16).map_err(|_| invalid())?,
            micros: next()?.parse().map_err(|_| invalid())?,
            id: Uuid::parse_str(next()?).map_err(|_| invalid())?,
            offset: next()?.parse().map_err(|_| invalid())?,
        };
        if parsed.query != query {
            return Err(invalid());
        }
        Ok(Some(parsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_normalised_and_bounded() {
        assert_eq!(text("title", "  e\u{301}  ", 1, 5, Lines::Single).unwrap(), "\u{e9}");
        assert_eq!(text("title", "   ", 1, 5, Lines::Single).unwrap_err().reason, "is required");
        assert!(text("title", "abcdef", 1, 5, Lines::Single).is_err());
        assert!(text("title", "a\nb", 1, 5, Lines::Single).is_err());
        assert!(text("description", "a\nb", 0, 5, Lines::Multi).is_ok());
        assert!(text("description", "a\u{7}b", 0, 5, Lines::Multi).is_err());
    }

    #[test]
    fn identifiers_are_kept_verbatim() {
        assert_eq!(identifier("id", "ch-1 HD", 10).unwrap(), "ch-1 HD");
        assert!(identifier("id", "", 10).is_err());
        assert!(identifier("id", " x", 10).is_err());
        assert!(identifier("id", "a\u{0}", 10).is_err());
        assert!(identifier("id", &"x".repeat(11), 10).is_err());
    }

    #[test]
    fn urls_need_an_allowed_scheme_and_a_host() {
        assert_eq!(url("u", "", &["https"], 100, true).unwrap(), "");
        assert!(url("u", "", &["https"], 100, false).is_err());
        assert!(url("u", "https://cdn.example/a.png", &["https"], 100, false).is_ok());
        assert!(url("u", "HTTPS://cdn.example/a.png", &["https"], 100, false).is_ok());
        assert!(url("u", "http://cdn.example/a.png", &["https"], 100, false).is_err());
        assert!(url("u", "http://cdn.example/a.m3u8", &["https", "http"], 100, false).is_ok());
        assert!(url("u", "javascript:alert(1)", &["https"], 100, false).is_err());
        assert!(url("u", "https:///x", &["https"], 100, false).is_err());
        assert!(url("u", "https://a b", &["https"], 100, false).is_err());
    }

    #[test]
    fn page_sizes_default_and_refuse_excess() {
        assert_eq!(page_size("page.page_size", 0).unwrap(), PAGE_SIZE_DEFAULT);
        assert_eq!(page_size("page.page_size", 7).unwrap(), 7);
        assert!(page_size("page.page_size", 101).is_err());
    }

    #[test]
    fn page_tokens_round_trip_and_are_bound_to_their_query() {
        let query = query_hash(&["public", "channel-1"]);
        let token = PageToken { query, micros: 1_700_000_000_000_000, id: Uuid::now_v7(), offset: 3 };
        assert_eq!(PageToken::decode("page", &token.encode(), query).unwrap(), Some(token.clone()));
        assert_eq!(PageToken::decode("page", "", query).unwrap(), None);
        assert!(PageToken::decode("page", &token.encode(), query_hash(&["public", "other"])).is_err());
        assert!(PageToken::decode("page", "!!", query).is_err());
        assert!(PageToken::decode("page", &"A".repeat(2000), query).is_err());
    }
}
