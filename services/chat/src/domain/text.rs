//! Message text: the one normal form every stored and broadcast message is
//! in, `@username` mentions, excerpts and the emote-only rule.
//!
//! Offsets are counted in Unicode scalar values (Rust `char`s) because that
//! is what the API promises clients (`Mention.start`, `max_message_length`),
//! whatever encoding they use.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_segmentation::UnicodeSegmentation;

use super::emoji;

/// Why a text was refused; `reason()` gives the stable snake_case reason sent
/// to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    /// Nothing visible is left once whitespace and invisible characters are
    /// removed.
    Empty,
    /// More than `max` scalar values after normalisation.
    TooLong { max: usize, got: usize },
    /// A control character other than a line break, or a bidi
    /// override/isolate control.
    ControlCharacters,
    /// More than `max` line breaks.
    TooManyLines { max: usize },
}

impl TextError {
    /// The stable reason code sent to clients (never reworded: clients
    /// switch on it).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Empty => "text_empty",
            Self::TooLong { .. } => "text_too_long",
            Self::ControlCharacters => "control_characters",
            Self::TooManyLines { .. } => "too_many_lines",
        }
    }
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("must not be empty"),
            Self::TooLong { max, got } => write!(f, "must be at most {max} characters, got {got}"),
            Self::ControlCharacters => f.write_str("must not contain control characters other than line breaks"),
            Self::TooManyLines { max } => write!(f, "must contain at most {max} line breaks"),
        }
    }
}

impl std::error::Error for TextError {}

/// Invisible characters that have no use in chat text but let a sender
/// dodge term filters and mentions or post blank-looking messages, so they
/// are removed: ZERO WIDTH SPACE, WORD JOINER, ZERO WIDTH NO-BREAK SPACE
/// (BOM).
///
/// ZWJ (U+200D) and ZWNJ (U+200C) are kept: emoji sequences and Persian and
/// Indic orthography need them. Variation selectors (U+FE0F) are kept for
/// emoji presentation.
fn is_stripped_invisible(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

/// Bidi embedding, override and isolate controls (U+202A–U+202E,
/// U+2066–U+2069): they reorder how the rest of a message (and the UI around
/// it) is displayed, the "Trojan Source" spoofing trick, so they are refused.
/// The plain marks LRM, RLM and ALM are harmless and kept: right-to-left text
/// uses them to place punctuation.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Unicode Default_Ignorable_Code_Point (DerivedCoreProperties.txt): code
/// points that render as nothing. Used to tell whether a message has anything
/// visible in it, and by term matching to see through them.
pub(crate) fn is_default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Normalises a chat message into the form that is stored, broadcast and
/// counted, or says why it is refused.
///
/// Steps, in order:
/// 1. line breaks: CRLF, CR, NEL (U+0085), LINE SEPARATOR and PARAGRAPH
///    SEPARATOR become `\n`, so the newline limit cannot be dodged with
///    another kind of break;
/// 2. tab becomes a space (pasted text often has tabs; refusing it would be
///    unkind);
/// 3. ZERO WIDTH SPACE, WORD JOINER and BOM are removed (see
///    [`is_stripped_invisible`]);
/// 4. NFC, so that the same text always has the same bytes and length
///    whether the client sent it composed or decomposed;
/// 5. leading and trailing whitespace (line breaks included) is trimmed.
///
/// Then it is refused when nothing visible is left ([`TextError::Empty`]),
/// when it has a control character (Unicode Cc) other than `\n` or a bidi
/// override/isolate control ([`TextError::ControlCharacters`]), more than
/// `max_newlines` line breaks, or more than `max_chars` scalar values
/// (counted after normalisation, as stored).
pub fn normalize_message(raw: &str, max_chars: usize, max_newlines: usize) -> Result<String, TextError> {
    let mut cleaned = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                cleaned.push('\n');
            }
            '\u{0085}' | '\u{2028}' | '\u{2029}' => cleaned.push('\n'),
            '\t' => cleaned.push(' '),
            c if is_stripped_invisible(c) => {}
            c => cleaned.push(c),
        }
    }
    let normalized: String = cleaned.nfc().collect();
    let text = normalized.trim();

    if text.chars().all(|c| c.is_whitespace() || is_default_ignorable(c)) {
        return Err(TextError::Empty);
    }
    if text.chars().any(|c| (c.is_control() && c != '\n') || is_bidi_control(c)) {
        return Err(TextError::ControlCharacters);
    }
    if text.chars().filter(|&c| c == '\n').count() > max_newlines {
        return Err(TextError::TooManyLines { max: max_newlines });
    }
    let got = text.chars().count();
    if got > max_chars {
        return Err(TextError::TooLong { max: max_chars, got });
    }
    Ok(text.to_owned())
}

/// An `@username` token found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionToken {
    /// Lower-cased, since usernames are unique case-insensitively.
    pub username: String,
    /// Offset of the `@`, in Unicode scalar values.
    pub start: u32,
    /// Length including the `@`, in Unicode scalar values.
    pub length: u32,
}

const MENTION_MIN: usize = 3;
const MENTION_MAX: usize = 32;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The `@username` tokens of a text, in order, at most `max` of them.
///
/// A token is `@` followed by 3–32 characters of `[A-Za-z0-9_]`, where:
/// - the `@` is at the start or after a character that is not alphanumeric,
///   `_` or `@`, so e-mail addresses (`a@bob.com`) and `@@bob` are not
///   mentions;
/// - the name is not followed by `[A-Za-z0-9_]` (a 33-character name is not
///   cut into a mention of its first 32), nor by any other alphanumeric
///   character, a combining mark or `@` (`@bobé`, `@bob@host` name someone
///   else).
///
/// Every occurrence is kept, repeated names included, since each has its own
/// offset to highlight; resolving names to users is the caller's job.
/// Offsets count scalar values of `text` as given, which should be the
/// output of [`normalize_message`].
pub fn mention_tokens(text: &str, max: usize) -> Vec<MentionToken> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() && tokens.len() < max {
        if chars[i] != '@'
            || i.checked_sub(1).is_some_and(|p| chars[p].is_alphanumeric() || matches!(chars[p], '_' | '@'))
        {
            i += 1;
            continue;
        }
        let name_len = chars[i + 1..].iter().take_while(|&&c| is_name_char(c)).count();
        let after = chars.get(i + 1 + name_len).copied();
        let followed_ok = after.is_none_or(|c| !(c.is_alphanumeric() || c == '@' || is_combining_mark(c)));
        if (MENTION_MIN..=MENTION_MAX).contains(&name_len) && followed_ok {
            let username: String = chars[i + 1..i + 1 + name_len].iter().map(char::to_ascii_lowercase).collect();
            // Both fit: `i` indexes a message far below u32::MAX scalars, and the
            // length is at most 33.
            tokens.push(MentionToken {
                username,
                start: u32::try_from(i).unwrap_or(u32::MAX),
                length: u32::try_from(name_len + 1).unwrap_or(u32::MAX),
            });
        }
        // The name (valid or not) cannot hold another mention's `@`.
        i += 1 + name_len;
    }
    tokens
}

/// A short preview of a text (notifications, reply quotes, moderation
/// queues): at most `n` scalar values, with `…` appended when it was cut.
///
/// It cuts between grapheme clusters, never inside one, so an emoji ZWJ
/// sequence, a flag or a letter with its accents is kept whole or dropped
/// whole (a half-cut family emoji shows as strangers). Whitespace before the
/// `…` is dropped.
pub fn excerpt(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for g in text.graphemes(true) {
        let len = g.chars().count();
        if used + len > n {
            break;
        }
        used += len;
        out.push_str(g);
    }
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// Whether a message holds only emoji, custom emotes (`:name:`, see
/// [`emoji::is_custom_emote`]) and whitespace: the rule of emote-only mode.
/// Emoji and emotes may be written back to back (`😂😂`, `:pog::pog:`).
/// Empty or whitespace-only text is not emote-only.
pub fn is_emote_only(text: &str) -> bool {
    let mut any = false;
    for word in text.split_whitespace() {
        let mut rest = word;
        while !rest.is_empty() {
            let len = match leading_emote_len(rest) {
                Some(len) => len,
                None => match rest.graphemes(true).next() {
                    Some(g) if emoji::is_emoji_grapheme(g) => g.len(),
                    _ => return false,
                },
            };
            rest = &rest[len..];
            any = true;
        }
    }
    any
}

/// Byte length of a custom emote at the start of `s`, if there is one.
fn leading_emote_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix(':')?;
    let end = body.find(':')?;
    let candidate = &s[..end + 2];
    emoji::is_custom_emote(candidate).then_some(candidate.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(raw: &str) -> Result<String, TextError> {
        normalize_message(raw, 500, 10)
    }

    #[test]
    fn trims_and_keeps_plain_text() {
        assert_eq!(norm("  hello world \n\n").as_deref(), Ok("hello world"));
        assert_eq!(norm("\n\t hi \t\r\n").as_deref(), Ok("hi"));
    }

    #[test]
    fn line_breaks_become_lf() {
        assert_eq!(norm("a\r\nb\rc\nd").as_deref(), Ok("a\nb\nc\nd"));
        assert_eq!(norm("a\r\n\r\nb").as_deref(), Ok("a\n\nb"));
        assert_eq!(norm("a\u{2028}b\u{2029}c\u{85}d").as_deref(), Ok("a\nb\nc\nd"));
    }

    #[test]
    fn tabs_become_spaces() {
        assert_eq!(norm("a\tb").as_deref(), Ok("a b"));
    }

    #[test]
    fn nfc_and_nfd_input_give_the_same_text() {
        let nfd = "Cafe\u{301} cre\u{300}me";
        let nfc = "Caf\u{e9} cr\u{e8}me";
        assert_eq!(norm(nfd).as_deref(), Ok(nfc));
        assert_eq!(norm(nfc).as_deref(), Ok(nfc));
        // Length counts the composed form: 4 scalars, not 5.
        assert_eq!(normalize_message("Cafe\u{301}", 4, 0).as_deref(), Ok("Caf\u{e9}"));
    }

    #[test]
    fn combining_marks_without_base_are_kept() {
        assert_eq!(norm("\u{301}a").as_deref(), Ok("\u{301}a"));
        // Zalgo-ish text is not refused, just counted.
        let zalgo = format!("a{}", "\u{300}".repeat(20));
        assert_eq!(
            normalize_message(&zalgo, 10, 0),
            Err(TextError::TooLong { max: 10, got: 20 }),
            "the first mark composes into à, the other 19 count one each"
        );
    }

    #[test]
    fn empty_and_blank_are_refused() {
        assert_eq!(norm(""), Err(TextError::Empty));
        assert_eq!(norm(" \n\t\r\n "), Err(TextError::Empty));
        assert_eq!(norm("\u{200B}\u{FEFF}"), Err(TextError::Empty));
        assert_eq!(norm("\u{3164}"), Err(TextError::Empty), "Hangul filler is invisible");
        assert_eq!(norm("\u{200D}\u{FE0F}"), Err(TextError::Empty));
    }

    #[test]
    fn zero_width_space_is_stripped_but_joiners_kept() {
        assert_eq!(norm("fr\u{200B}ee\u{2060}").as_deref(), Ok("free"));
        let family = "👨\u{200D}👩\u{200D}👧";
        assert_eq!(norm(family).as_deref(), Ok(family));
        assert_eq!(norm("❤\u{FE0F}").as_deref(), Ok("❤\u{FE0F}"));
        let persian = "می\u{200C}خواهم";
        assert_eq!(norm(persian).as_deref(), Ok(persian));
    }

    #[test]
    fn control_characters_are_refused() {
        assert_eq!(norm("a\u{0}b"), Err(TextError::ControlCharacters));
        assert_eq!(norm("bell\u{7}"), Err(TextError::ControlCharacters), "even at the end, before trimming");
        assert_eq!(norm("a\u{1b}[31mred"), Err(TextError::ControlCharacters));
        assert_eq!(norm("a\u{0B}b"), Err(TextError::ControlCharacters), "vertical tab");
        assert_eq!(norm("a\u{7F}b"), Err(TextError::ControlCharacters));
        assert_eq!(norm("a\u{9B}b"), Err(TextError::ControlCharacters), "C1 CSI");
    }

    #[test]
    fn bidi_overrides_are_refused_but_rtl_text_is_fine() {
        for c in
            ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}']
        {
            assert_eq!(norm(&format!("abc{c}def")), Err(TextError::ControlCharacters), "{:?}", c);
        }
        assert_eq!(norm("שלום עולם").as_deref(), Ok("שלום עולם"));
        assert_eq!(norm("مرحبا\u{200F}!").as_deref(), Ok("مرحبا\u{200F}!"), "RLM is kept");
    }

    #[test]
    fn too_many_lines() {
        assert_eq!(normalize_message("a\nb\nc", 500, 2).as_deref(), Ok("a\nb\nc"));
        assert_eq!(normalize_message("a\nb\nc\nd", 500, 2), Err(TextError::TooManyLines { max: 2 }));
        assert_eq!(normalize_message("a\r\nb\r\nc\r\nd", 500, 2), Err(TextError::TooManyLines { max: 2 }));
        // Trailing newlines are trimmed before counting.
        assert_eq!(normalize_message("a\n\n\n\n", 500, 0).as_deref(), Ok("a"));
    }

    #[test]
    fn length_is_counted_in_scalars_after_normalisation() {
        let s = "é".repeat(500);
        assert_eq!(norm(&s).map(|t| t.chars().count()), Ok(500));
        assert_eq!(norm(&format!("{s}x")), Err(TextError::TooLong { max: 500, got: 501 }));
        // Surrounding whitespace does not count.
        assert!(norm(&format!("   {s}   ")).is_ok());
        // A ZWJ emoji counts each scalar.
        assert_eq!(normalize_message("👨\u{200D}👩\u{200D}👧", 4, 0), Err(TextError::TooLong { max: 4, got: 5 }));
    }

    #[test]
    fn errors_have_stable_reasons_and_english_messages() {
        assert_eq!(TextError::Empty.reason(), "text_empty");
        assert_eq!(TextError::TooLong { max: 500, got: 612 }.reason(), "text_too_long");
        assert_eq!(TextError::ControlCharacters.reason(), "control_characters");
        assert_eq!(TextError::TooManyLines { max: 10 }.reason(), "too_many_lines");
        assert_eq!(TextError::TooLong { max: 500, got: 612 }.to_string(), "must be at most 500 characters, got 612");
        assert_eq!(TextError::TooManyLines { max: 10 }.to_string(), "must contain at most 10 line breaks");
    }

    fn names(text: &str) -> Vec<String> {
        mention_tokens(text, 20).into_iter().map(|m| m.username).collect()
    }

    #[test]
    fn mentions_with_offsets_in_scalars() {
        let tokens = mention_tokens("héllo @Alice and @bob_99!", 20);
        assert_eq!(
            tokens,
            vec![
                MentionToken { username: "alice".into(), start: 6, length: 6 },
                MentionToken { username: "bob_99".into(), start: 17, length: 7 },
            ]
        );
        // Offsets count scalars, not bytes, across emoji and RTL text.
        let tokens = mention_tokens("👨\u{200D}👩 שלום @dana", 20);
        assert_eq!(tokens, vec![MentionToken { username: "dana".into(), start: 9, length: 5 }]);
    }

    #[test]
    fn mention_boundaries() {
        assert_eq!(names("@abc"), ["abc"]);
        assert_eq!(names("mail a@bob.com now"), Vec::<String>::new(), "e-mail address");
        assert_eq!(names("x_@bob"), Vec::<String>::new());
        assert_eq!(names("é@bob"), Vec::<String>::new(), "after a non-ASCII letter");
        assert_eq!(names("@@bob"), Vec::<String>::new());
        assert_eq!(names("(@bob) @carl, @dave."), ["bob", "carl", "dave"]);
        assert_eq!(names("line\n@bob"), ["bob"]);
        assert_eq!(names("@ab"), Vec::<String>::new(), "too short");
        assert_eq!(names(&format!("@{}", "a".repeat(32))), ["a".repeat(32)]);
        assert_eq!(names(&format!("@{}", "a".repeat(33))), Vec::<String>::new(), "too long is not cut");
        assert_eq!(names("@bobé"), Vec::<String>::new());
        assert_eq!(names("@bob\u{301}"), Vec::<String>::new(), "followed by a combining mark");
        assert_eq!(names("@bob@host"), Vec::<String>::new());
        assert_eq!(names("@bob's"), ["bob"]);
        assert_eq!(names("@ bob"), Vec::<String>::new());
    }

    #[test]
    fn mentions_keep_repeats_and_stop_at_max() {
        let tokens = mention_tokens("@bob @BOB @bob", 20);
        assert_eq!(tokens.iter().map(|t| t.start).collect::<Vec<_>>(), [0, 5, 10]);
        assert!(tokens.iter().all(|t| t.username == "bob"));
        let many = (0..30).map(|i| format!("@user{i:02}")).collect::<Vec<_>>().join(" ");
        let tokens = mention_tokens(&many, 20);
        assert_eq!(tokens.len(), 20);
        assert_eq!(tokens.last().map(|t| t.username.as_str()), Some("user19"));
        assert!(mention_tokens("@bob", 0).is_empty());
    }

    #[test]
    fn excerpt_cuts_on_graphemes() {
        assert_eq!(excerpt("hello", 5), "hello");
        assert_eq!(excerpt("hello", 10), "hello");
        assert_eq!(excerpt("hello world", 5), "hello…");
        assert_eq!(excerpt("hello world", 6), "hello…", "trailing space dropped");
        assert_eq!(excerpt("", 3), "");
        assert_eq!(excerpt("abc", 0), "…");
        // The family emoji (5 scalars) is not split.
        assert_eq!(excerpt("ab👨\u{200D}👩\u{200D}👧cd", 4), "ab…");
        assert_eq!(excerpt("ab👨\u{200D}👩\u{200D}👧cd", 7), "ab👨\u{200D}👩\u{200D}👧…");
        // A decomposed letter keeps its accent.
        assert_eq!(excerpt("e\u{301}e\u{301}e\u{301}", 3), "e\u{301}…");
        assert_eq!(excerpt("🇫🇷🇩🇪", 3), "🇫🇷…");
    }

    #[test]
    fn emote_only() {
        assert!(is_emote_only("😂"));
        assert!(is_emote_only("😂😂 🔥"));
        assert!(is_emote_only(" :pog: \n:kappa_2:"));
        assert!(is_emote_only(":pog::pog:😂"));
        assert!(is_emote_only("👨\u{200D}👩\u{200D}👧 👍🏽 🇺🇸 1\u{FE0F}\u{20E3} ❤"));
        assert!(is_emote_only("🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}"), "Scotland tag sequence");
        assert!(!is_emote_only(""));
        assert!(!is_emote_only("  \n "));
        assert!(!is_emote_only("😂 lol"));
        assert!(!is_emote_only("1 2 3"));
        assert!(!is_emote_only("#"));
        assert!(!is_emote_only(":Pog:"), "emote names are lower-case");
        assert!(!is_emote_only(":p:"), "emote names have 2+ characters");
        assert!(!is_emote_only(":pog"));
        assert!(!is_emote_only("😂:"));
        assert!(!is_emote_only("\u{200D}"));
        assert!(!is_emote_only("🇦🇦"), "not a real flag");
    }
}
