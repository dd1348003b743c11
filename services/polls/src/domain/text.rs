//! Validation of the texts every interaction kind takes (questions,
//! options, titles): trimmed, NFC-normalised, bounded in characters, no
//! control characters, and options distinct case-insensitively.

use std::collections::HashSet;

use unicode_normalization::UnicodeNormalization;

use crate::error::{PollsError, Result};

/// The reasons a text field is refused with, per field.
#[derive(Debug, Clone, Copy)]
pub struct Reasons {
    pub empty: &'static str,
    pub too_long: &'static str,
}

/// A required single-line text of 1–`max` characters after trimming.
pub fn required(field: &str, raw: &str, max: usize, reasons: Reasons) -> Result<String> {
    let text: String = raw.trim().nfc().collect();
    if text.is_empty() {
        return Err(PollsError::field(field, reasons.empty, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(PollsError::field(field, reasons.too_long, format!("must be at most {max} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(PollsError::field(field, "control_characters", "must not contain control characters"));
    }
    Ok(text)
}

/// Option texts: `min`–`max` of them, each 1–`max_len` characters,
/// distinct case-insensitively.
pub fn options(
    field: &str,
    raw: &[String],
    (min, max): (usize, usize),
    max_len: usize,
    reasons: OptionReasons,
) -> Result<Vec<String>> {
    if raw.len() < min {
        return Err(PollsError::field(field, reasons.too_few, format!("must hold at least {min}")));
    }
    if raw.len() > max {
        return Err(PollsError::field(field, reasons.too_many, format!("must hold at most {max}")));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, option) in raw.iter().enumerate() {
        let name = format!("{field}[{i}]");
        let text = required(&name, option, max_len, Reasons { empty: reasons.empty, too_long: reasons.too_long })?;
        if !seen.insert(caseless::default_case_fold_str(&text)) {
            return Err(PollsError::field(&name, reasons.duplicate, "options must be distinct"));
        }
        out.push(text);
    }
    Ok(out)
}

/// The reasons an option list is refused with.
#[derive(Debug, Clone, Copy)]
pub struct OptionReasons {
    pub too_few: &'static str,
    pub too_many: &'static str,
    pub empty: &'static str,
    pub too_long: &'static str,
    pub duplicate: &'static str,
}

/// An optional idempotency key: 1–64 characters of `[A-Za-z0-9_-]`.
pub fn request_id(field: &str, raw: &str, required: bool) -> Result<Option<String>> {
    if raw.is_empty() {
        if required {
            return Err(PollsError::field(field, "request_id_required", "is required"));
        }
        return Ok(None);
    }
    if raw.len() > 64 || !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(PollsError::field(field, "invalid_request_id", "must be 1-64 characters of [A-Za-z0-9_-]"));
    }
    Ok(Some(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: Reasons = Reasons { empty: "question_empty", too_long: "question_too_long" };
    const O: OptionReasons = OptionReasons {
        too_few: "too_few_options",
        too_many: "too_many_options",
        empty: "option_empty",
        too_long: "option_too_long",
        duplicate: "duplicate_options",
    };

    fn reason(r: Result<impl std::fmt::Debug>) -> &'static str {
        r.unwrap_err().reason().unwrap_or("none")
    }

    #[test]
    fn texts_are_trimmed_bounded_and_clean() {
        assert_eq!(required("q", "  Who wins?  ", 200, R).unwrap(), "Who wins?");
        assert_eq!(reason(required("q", "   ", 200, R)), "question_empty");
        assert_eq!(reason(required("q", &"x".repeat(201), 200, R)), "question_too_long");
        assert!(required("q", &"é".repeat(200), 200, R).is_ok());
        assert_eq!(reason(required("q", "a\u{7}b", 200, R)), "control_characters");
    }

    #[test]
    fn options_are_counted_and_distinct_ignoring_case() {
        let opts = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(options("o", &opts(&["Yes", "No"]), (2, 10), 100, O).unwrap(), vec!["Yes", "No"]);
        assert_eq!(reason(options("o", &opts(&["Yes"]), (2, 10), 100, O)), "too_few_options");
        assert_eq!(reason(options("o", &opts(&["a"; 11]), (2, 10), 100, O)), "too_many_options");
        assert_eq!(reason(options("o", &opts(&["Yes", " yes "]), (2, 10), 100, O)), "duplicate_options");
        assert_eq!(reason(options("o", &opts(&["Yes", ""]), (2, 10), 100, O)), "option_empty");
    }

    #[test]
    fn request_ids_are_short_and_plain() {
        assert_eq!(request_id("r", "", false).unwrap(), None);
        assert_eq!(request_id("r", "abc-1_2", false).unwrap().as_deref(), Some("abc-1_2"));
        assert!(request_id("r", "a b", false).is_err());
        assert!(request_id("r", &"a".repeat(65), false).is_err());
        assert!(request_id("r", "", true).is_err());
    }
}
