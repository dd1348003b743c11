//! Reactions: which strings are one emoji or an operator custom emote.
//!
//! Emoji are recognised with the `emojis` crate (the Unicode emoji list,
//! including ZWJ sequences, skin tones, flags, keycaps and tag sequences)
//! rather than by code point ranges: ranges accept lone skin-tone modifiers,
//! invalid flag pairs and arbitrary ZWJ chains, which render as junk.

use unicode_segmentation::UnicodeSegmentation;

/// Longest accepted emoji reaction, in bytes (the API's limit on an emoji in
/// `ReactionCount.emoji`; custom emotes have their own name limit).
///
/// Note: 95 fully-qualified kiss and couple-with-heart emoji with two
/// skin tones are 35 bytes and so are refused, though their minimally
/// qualified forms (without U+FE0F, 32 bytes) are accepted.
pub const MAX_EMOJI_BYTES: usize = 32;

/// The default live-reaction set shown under a video.
pub const DEFAULT_LIVE_REACTIONS: [&str; 6] = ["❤️", "😂", "😮", "👏", "🔥", "🎉"];

const EMOTE_NAME_MIN: usize = 2;
const EMOTE_NAME_MAX: usize = 32;

/// Whether `s` is exactly one emoji of at most [`MAX_EMOJI_BYTES`] or an
/// operator custom emote `:name:` (see [`is_custom_emote`]; up to 34 bytes).
///
/// Emoji written without their U+FE0F presentation selector (`❤` for `❤️`,
/// `1⃣` for `1️⃣`) are accepted, since keyboards and older clients send both;
/// use [`canonical_reaction`] to count them as one.
pub fn is_reaction(s: &str) -> bool {
    is_custom_emote(s) || (s.len() <= MAX_EMOJI_BYTES && is_emoji_grapheme(s))
}

/// The form a reaction is stored and counted under, so that `❤` and `❤️`
/// add up: the fully-qualified emoji (with U+FE0F where Unicode wants one),
/// or the emote as given. `None` when `s` is not a reaction.
///
/// When the fully-qualified form would exceed [`MAX_EMOJI_BYTES`], the
/// accepted form is kept as sent, so the result always fits the limit.
pub fn canonical_reaction(s: &str) -> Option<String> {
    if !is_reaction(s) {
        return None;
    }
    let canonical = emojis::get(s).map(emojis::Emoji::as_str).filter(|c| c.len() <= MAX_EMOJI_BYTES).unwrap_or(s);
    Some(canonical.to_owned())
}

/// Whether a grapheme cluster is exactly one emoji known to Unicode (used
/// by emote-only mode). Fully-, minimally- and unqualified forms count;
/// plain digits, `#` and `*`, lone skin-tone modifiers, lone ZWJs and
/// regional-indicator pairs that are not a country do not.
pub fn is_emoji_grapheme(g: &str) -> bool {
    // Exactly one cluster: `emojis::get` already refuses two emoji side by
    // side, but the check keeps the contract obvious and cheap to trust.
    emojis::get(g).is_some() && g.graphemes(true).nth(1).is_none()
}

/// Whether `s` is an operator custom emote: `:name:` with a name of 2–32
/// characters of `[a-z0-9_]` (lower-case only, so one emote has one
/// spelling).
pub fn is_custom_emote(s: &str) -> bool {
    s.strip_prefix(':').and_then(|rest| rest.strip_suffix(':')).is_some_and(|name| {
        (EMOTE_NAME_MIN..=EMOTE_NAME_MAX).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_set_is_valid_and_canonical() {
        for e in DEFAULT_LIVE_REACTIONS {
            assert!(is_reaction(e), "{e}");
            assert_eq!(canonical_reaction(e).as_deref(), Some(e), "{e} is stored as is");
        }
    }

    #[test]
    fn simple_and_qualified_emoji() {
        assert!(is_reaction("😂"));
        assert!(is_reaction("❤️"));
        assert!(is_reaction("❤"), "without VS16");
        assert_eq!(canonical_reaction("❤").as_deref(), Some("❤\u{FE0F}"));
        assert!(is_reaction("🫩"), "recent emoji");
    }

    #[test]
    fn skin_tones() {
        assert!(is_reaction("👍🏽"));
        assert!(is_reaction("👍🏿"));
        assert!(!is_reaction("🏽"), "modifier alone");
        assert!(!is_reaction("a🏽"));
    }

    #[test]
    fn zwj_sequences() {
        assert!(is_reaction("👨\u{200D}👩\u{200D}👧\u{200D}👦"));
        assert!(is_reaction("🏳\u{FE0F}\u{200D}🌈"));
        assert!(is_reaction("🏳\u{200D}🌈"), "missing VS16 inside the sequence");
        assert_eq!(canonical_reaction("❤\u{200D}🔥").as_deref(), Some("❤\u{FE0F}\u{200D}🔥"));
        assert!(!is_reaction("😂\u{200D}😂"), "arbitrary ZWJ chain");
        assert!(!is_reaction("\u{200D}"));
    }

    #[test]
    fn flags_and_tag_sequences() {
        assert!(is_reaction("🇺🇸"));
        assert!(is_reaction("🇯🇵"));
        assert!(!is_reaction("🇦🇦"), "not a country");
        assert!(!is_reaction("🇺"), "lone regional indicator");
        assert!(!is_reaction("🇺🇸🇯🇵"), "two flags");
        assert!(is_reaction("🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}"), "England, 28 bytes");
    }

    #[test]
    fn keycaps() {
        assert!(is_reaction("1\u{FE0F}\u{20E3}"));
        assert!(is_reaction("#\u{FE0F}\u{20E3}"));
        assert!(is_reaction("1\u{20E3}"), "without VS16");
        assert_eq!(canonical_reaction("1\u{20E3}").as_deref(), Some("1\u{FE0F}\u{20E3}"));
        assert!(!is_reaction("1"));
        assert!(!is_reaction("#"));
        assert!(!is_reaction("*"));
    }

    #[test]
    fn not_emoji() {
        assert!(!is_reaction(""));
        assert!(!is_reaction("a"));
        assert!(!is_reaction("😂😂"));
        assert!(!is_reaction(" 😂"));
        assert!(!is_reaction("😂 "));
        assert!(!is_reaction("e\u{301}"));
        assert!(!is_reaction("ש"));
        assert!(!is_emoji_grapheme(""));
    }

    #[test]
    fn byte_limit() {
        // Kiss with two skin tones: 32 bytes minimally qualified, 35 fully.
        let minimal = "🧑🏻\u{200D}❤\u{200D}💋\u{200D}🧑🏼";
        let full = "🧑🏻\u{200D}❤\u{FE0F}\u{200D}💋\u{200D}🧑🏼";
        assert_eq!((minimal.len(), full.len()), (32, 35));
        assert!(is_emoji_grapheme(full));
        assert!(!is_reaction(full));
        assert!(is_reaction(minimal));
        assert_eq!(canonical_reaction(minimal).as_deref(), Some(minimal), "kept within the limit");
    }

    #[test]
    fn custom_emotes() {
        assert!(is_reaction(":pog:"));
        assert!(is_reaction(":ab:"));
        assert!(is_reaction(":kappa_2:"));
        assert!(is_reaction(&format!(":{}:", "a".repeat(32))), "the byte limit is for emoji only");
        assert!(!is_reaction(&format!(":{}:", "a".repeat(33))));
        assert!(!is_reaction(":a:"));
        assert!(!is_reaction("::"));
        assert!(!is_reaction(":Pog:"));
        assert!(!is_reaction(":po g:"));
        assert!(!is_reaction(":pog"));
        assert!(!is_reaction("pog:"));
        assert!(!is_reaction(":pög:"));
        assert!(!is_reaction(":a:b:"));
        assert_eq!(canonical_reaction(":pog:").as_deref(), Some(":pog:"));
        assert_eq!(canonical_reaction("x"), None);
    }
}
