//! Blocked and hold-for-review terms: validating them, and matching
//! messages against a room's terms plus the global ones.
//!
//! The API's rule: "Matching is case-insensitive on NFKC-casefolded text, on
//! word boundaries; a `*` at the start or end of the term matches any word
//! prefix or suffix." Both the term and the message are [`fold`]ed and split
//! into words the same way ([`words`]), so whatever the tokeniser does to one
//! it does to the other.

use std::collections::HashMap;

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

use super::text::is_default_ignorable;

/// What happens to a message matching a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Refused.
    Block,
    /// Held for a moderator's review.
    Hold,
}

/// A term as stored (text already through [`validate_term`]).
#[derive(Debug, Clone)]
pub struct Term {
    pub text: String,
    pub action: Action,
}

/// Longest term, in scalar values.
const TERM_MAX_CHARS: usize = 100;

/// Validates and tidies a term into its stored form: trimmed, inner
/// whitespace collapsed to one space, NFC (so that the same term typed twice
/// is stored with the same bytes, for duplicate detection).
///
/// Refused, with an English reason: empty; longer than 100 characters; a
/// control character or bidi control; `*` anywhere but the very start or end,
/// or not next to a letter or digit (`* foo`, `*`); no letter, digit or emoji
/// at all (a term of punctuation would never match a word).
pub fn validate_term(raw: &str) -> Result<String, String> {
    let nfc: String = raw.nfc().collect();
    let term = nfc.split_whitespace().collect::<Vec<_>>().join(" ");
    if term.is_empty() {
        return Err("must not be empty".to_owned());
    }
    let len = term.chars().count();
    if len > TERM_MAX_CHARS {
        return Err(format!("must be at most {TERM_MAX_CHARS} characters, got {len}"));
    }
    if term.chars().any(|c| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')) {
        return Err("must not contain control characters".to_owned());
    }
    let (lead, core, trail) = split_wildcards(&term);
    if core.contains('*') {
        return Err("'*' is only allowed at the start or end".to_owned());
    }
    let attached =
        |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c));
    if (lead && !attached(core.chars().next())) || (trail && !attached(core.chars().next_back())) {
        return Err("'*' must be next to a letter or digit".to_owned());
    }
    if words(&fold(core)).is_empty() {
        return Err("must contain a letter, digit or emoji".to_owned());
    }
    Ok(term)
}

/// `*foo*` → (true, "foo", true).
fn split_wildcards(term: &str) -> (bool, &str, bool) {
    let (lead, rest) = match term.strip_prefix('*') {
        Some(rest) => (true, rest),
        None => (false, term),
    };
    let (core, trail) = match rest.strip_suffix('*') {
        Some(core) => (core, true),
        None => (rest, false),
    };
    (lead, core, trail)
}

/// NFKC_Casefold, the Unicode normal form for caseless identifier-style
/// matching: NFKC (fullwidth `ＦＲＥＥ` → `FREE`, ligature `ﬁ` → `fi`,
/// superscripts → digits), full case folding with the `caseless` crate
/// (unlike `to_lowercase`, it folds `ß` → `ss` and final `ς` → `σ`, so
/// "STRASSE" matches "straße"), removal of default-ignorable code points
/// (zero-width joiners, soft hyphens, variation selectors: `fr\u{200D}ee` is
/// `free`) and NFKC again, since folding can undo normalisation. Emoji
/// skin-tone modifiers are removed as well, so that a term `🖕` also matches
/// `🖕🏿`.
///
/// Look-alike letters from other scripts (Cyrillic `а` for Latin `a`) are
/// deliberately not mapped: confusable tables are large, change often and
/// would make terms in those scripts match Latin words.
pub fn fold(text: &str) -> String {
    text.nfkc()
        .default_case_fold()
        .filter(|&c| !is_default_ignorable(c) && !('\u{1F3FB}'..='\u{1F3FF}').contains(&c))
        .nfkc()
        .collect()
}

/// The words of folded text, on Unicode (UAX #29) word boundaries: segments
/// holding a letter or digit, and emoji, so that emoji can be terms too.
/// Spaces and punctuation are dropped: "free-money!" is `free`, `money`.
fn words(folded: &str) -> Vec<&str> {
    folded.split_word_bounds().filter(|w| w.chars().any(char::is_alphanumeric) || emojis::get(w).is_some()).collect()
}

/// What the terms say about a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Matched hold-for-review terms only (their stored texts).
    Hold(Vec<String>),
    /// Matched at least one blocking term (the blocking terms' texts; the
    /// holding ones no longer matter).
    Block(Vec<String>),
}

/// One term, compiled: folded words and where the wildcards are.
#[derive(Debug, Clone)]
struct Compiled {
    text: String,
    action: Action,
    words: Vec<String>,
    /// `*` at the start: the first word may be any suffix of a message word.
    lead: bool,
    /// `*` at the end: the last word may be any prefix of a message word.
    trail: bool,
}

impl Compiled {
    fn word_matches(&self, j: usize, word: &str) -> bool {
        let t = self.words[j].as_str();
        let first = j == 0 && self.lead;
        let last = j + 1 == self.words.len() && self.trail;
        match (first, last) {
            (true, true) => word.contains(t),
            (true, false) => word.ends_with(t),
            (false, true) => word.starts_with(t),
            (false, false) => word == t,
        }
    }

    fn matches_at(&self, message: &[&str], i: usize) -> bool {
        message
            .get(i..i + self.words.len())
            .is_some_and(|ws| ws.iter().enumerate().all(|(j, w)| self.word_matches(j, w)))
    }
}

/// The compiled terms of one room plus the global ones; built once per
/// settings change and reused for every message.
///
/// Each term is indexed by how its first word matches, so a message costs a
/// few hash look-ups per word rather than a pass over every term:
/// - exact first word (most terms): by the word;
/// - `foo*` (one word, prefix): by the prefix, looked up with every prefix
///   of each message word;
/// - `*foo` or `*foo bar`: by the suffix, looked up with every suffix;
/// - `*foo*` (substring): a linear scan, as these are few.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    terms: Vec<Compiled>,
    exact: HashMap<String, Vec<usize>>,
    prefix: HashMap<String, Vec<usize>>,
    suffix: HashMap<String, Vec<usize>>,
    contains: Vec<usize>,
    /// Longest key in `prefix` / `suffix`, in bytes, to bound the look-ups.
    max_prefix: usize,
    max_suffix: usize,
}

impl Matcher {
    /// Compiles the terms. A term with no word in it (impossible once
    /// validated) is skipped rather than matching everything.
    pub fn new(terms: &[Term]) -> Self {
        let mut m = Self::default();
        for term in terms {
            let (lead, core, trail) = split_wildcards(&term.text);
            let folded = fold(core);
            let words: Vec<String> = words(&folded).into_iter().map(str::to_owned).collect();
            let Some(first) = words.first().cloned() else { continue };
            let single = words.len() == 1;
            let idx = m.terms.len();
            match (lead, trail && single) {
                (false, false) => m.exact.entry(first).or_default().push(idx),
                (false, true) => {
                    m.max_prefix = m.max_prefix.max(first.len());
                    m.prefix.entry(first).or_default().push(idx);
                }
                (true, false) => {
                    m.max_suffix = m.max_suffix.max(first.len());
                    m.suffix.entry(first).or_default().push(idx);
                }
                (true, true) => m.contains.push(idx),
            }
            m.terms.push(Compiled { text: term.text.clone(), action: term.action, words, lead, trail });
        }
        m
    }

    /// Whether there are no terms, so callers can skip folding messages.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// What the terms say about `text`: `Block` with the matched blocking
    /// terms if any, else `Hold` with the matched holding terms, else
    /// `Allow`. Texts are listed once each, in the order the terms were
    /// given.
    pub fn check(&self, text: &str) -> Verdict {
        if self.is_empty() {
            return Verdict::Allow;
        }
        let folded = fold(text);
        let message = words(&folded);
        let mut hit = vec![false; self.terms.len()];
        let mut consider = |idx: usize, i: usize| {
            if !hit[idx] && self.terms[idx].matches_at(&message, i) {
                hit[idx] = true;
            }
        };
        for (i, word) in message.iter().enumerate() {
            for &idx in self.exact.get(*word).into_iter().flatten() {
                consider(idx, i);
            }
            if !self.prefix.is_empty() {
                for (b, c) in word.char_indices() {
                    let end = b + c.len_utf8();
                    if end > self.max_prefix {
                        break;
                    }
                    for &idx in self.prefix.get(&word[..end]).into_iter().flatten() {
                        consider(idx, i);
                    }
                }
            }
            if !self.suffix.is_empty() {
                for (b, _) in word.char_indices().filter(|&(b, _)| word.len() - b <= self.max_suffix) {
                    for &idx in self.suffix.get(&word[b..]).into_iter().flatten() {
                        consider(idx, i);
                    }
                }
            }
            for &idx in &self.contains {
                consider(idx, i);
            }
        }
        let texts = |action: Action| {
            let mut out: Vec<String> = Vec::new();
            for (term, _) in self.terms.iter().zip(&hit).filter(|(t, h)| **h && t.action == action) {
                if !out.contains(&term.text) {
                    out.push(term.text.clone());
                }
            }
            out
        };
        let blocked = texts(Action::Block);
        if !blocked.is_empty() {
            return Verdict::Block(blocked);
        }
        let held = texts(Action::Hold);
        if !held.is_empty() {
            return Verdict::Hold(held);
        }
        Verdict::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(text: &str) -> Term {
        Term { text: text.to_owned(), action: Action::Block }
    }

    fn hold(text: &str) -> Term {
        Term { text: text.to_owned(), action: Action::Hold }
    }

    fn blocked(terms: &[&str], text: &str) -> bool {
        let terms: Vec<Term> = terms.iter().map(|t| block(t)).collect();
        matches!(Matcher::new(&terms).check(text), Verdict::Block(_))
    }

    #[test]
    fn validate_tidies() {
        assert_eq!(validate_term("  free \t  money ").as_deref(), Ok("free money"));
        assert_eq!(validate_term("spam*").as_deref(), Ok("spam*"));
        assert_eq!(validate_term("*spam*").as_deref(), Ok("*spam*"));
        assert_eq!(validate_term("cafe\u{301}").as_deref(), Ok("caf\u{e9}"), "stored in NFC");
        assert_eq!(validate_term("🍆").as_deref(), Ok("🍆"));
        assert_eq!(validate_term("a").as_deref(), Ok("a"));
        assert_eq!(validate_term("free\nmoney").as_deref(), Ok("free money"), "line breaks are whitespace");
    }

    #[test]
    fn validate_refuses() {
        assert!(validate_term("").is_err());
        assert!(validate_term("   ").is_err());
        assert!(validate_term("*").is_err());
        assert!(validate_term("**").is_err());
        assert!(validate_term("fr*ee").is_err());
        assert!(validate_term("free * money").is_err());
        assert!(validate_term("* free").is_err());
        assert!(validate_term("free *").is_err());
        assert!(validate_term("!!!").is_err());
        assert!(validate_term("a\u{7}b").is_err());
        assert!(validate_term("a\u{202E}b").is_err());
        assert!(validate_term(&"x".repeat(100)).is_ok());
        assert_eq!(validate_term(&"x".repeat(101)), Err("must be at most 100 characters, got 101".to_owned()));
        // Length is counted after collapsing whitespace.
        assert!(validate_term(&format!("{}      {}", "x".repeat(49), "y".repeat(50))).is_ok());
    }

    #[test]
    fn fold_is_nfkc_casefold() {
        assert_eq!(fold("ＦＲＥＥ"), "free");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("ΣΊΣΥΦΟΣ"), fold("σίσυφος"));
        assert_eq!(fold("ﬁne"), "fine");
        assert_eq!(fold("fr\u{200D}e\u{AD}e"), "free");
        assert_eq!(fold("Cafe\u{301}"), "caf\u{e9}");
        assert_eq!(fold("❤\u{FE0F}"), "❤");
        assert_eq!(fold("x²"), "x2");
    }

    #[test]
    fn empty_matcher_allows() {
        let m = Matcher::new(&[]);
        assert!(m.is_empty());
        assert_eq!(m.check("anything at all"), Verdict::Allow);
        assert!(!Matcher::new(&[block("x")]).is_empty());
    }

    #[test]
    fn case_insensitive_including_fullwidth() {
        assert!(blocked(&["free"], "FREE stuff"));
        assert!(blocked(&["free"], "get ＦＲＥＥ stuff"));
        assert!(blocked(&["ＦＲＥＥ"], "free"));
        assert!(blocked(&["straße"], "STRASSE"));
        assert!(blocked(&["café"], "CAFE\u{301}!"), "NFD message, NFC term");
    }

    #[test]
    fn word_boundaries() {
        assert!(!blocked(&["ass"], "first class"));
        assert!(!blocked(&["ass"], "assess"));
        assert!(blocked(&["ass"], "you ass!"));
        assert!(blocked(&["ass"], "(ass)"));
        assert!(blocked(&["ass"], "bad-ass"));
        assert!(blocked(&["ass"], "ASS."));
        assert!(!blocked(&["ass"], "as s"));
        assert!(blocked(&["don't"], "I DON'T care"));
        assert!(!blocked(&["don"], "I don't care"), "an apostrophe does not split a word");
    }

    #[test]
    fn wildcards() {
        assert!(blocked(&["ass*"], "assess"));
        assert!(blocked(&["ass*"], "ass"));
        assert!(!blocked(&["ass*"], "class"));
        assert!(blocked(&["*ass"], "class"));
        assert!(blocked(&["*ass"], "ass"));
        assert!(!blocked(&["*ass"], "assess"));
        assert!(blocked(&["*ass*"], "classes"));
        assert!(!blocked(&["*ass*"], "as"));
        assert!(blocked(&["spam*"], "SPAMMING"));
        assert!(blocked(&["*ßen"], "STRASSEN"), "wildcards work on folded text");
    }

    #[test]
    fn multiword_terms() {
        assert!(blocked(&["free money"], "get FREE   money now"));
        assert!(blocked(&["free money"], "free-money!"));
        assert!(blocked(&["free money"], "free\nmoney"));
        assert!(!blocked(&["free money"], "free the money"));
        assert!(!blocked(&["free money"], "money free"));
        assert!(!blocked(&["free money"], "free"), "the message ends first");
        assert!(blocked(&["free mon*"], "free monies"));
        assert!(!blocked(&["free mon*"], "freebie monies"));
        assert!(blocked(&["*bie mon*"], "freebie monies"));
        assert!(blocked(&["free money"], "free free money"), "retries at the next word");
    }

    #[test]
    fn punctuation_emoji_and_other_scripts() {
        assert!(blocked(&["scam"], "🔥scam🔥"));
        assert!(blocked(&["scam"], "«scam»"));
        assert!(blocked(&["🍆"], "nice 🍆🍆"));
        assert!(blocked(&["❤️"], "I ❤ it"), "with or without VS16");
        assert!(!blocked(&["🍆"], "nice 🍑"));
        assert!(blocked(&["🖕"], "🖕🏿"), "skin tones are folded away");
        assert!(blocked(&["🖕🏻"], "🖕"));
        assert!(blocked(&["שלום"], "אמר שלום!"));
        assert!(blocked(&["привет"], "ПРИВЕТ"));
        assert!(blocked(&["fr\u{200D}ee"], "free"));
        assert!(blocked(&["free"], "fr\u{200B}ee"), "zero-width characters do not split words");
    }

    #[test]
    fn block_beats_hold_and_lists_terms() {
        let m = Matcher::new(&[hold("money"), block("scam*"), hold("free money"), block("fraud"), block("scam*")]);
        assert_eq!(m.check("nothing here"), Verdict::Allow);
        assert_eq!(m.check("free money"), Verdict::Hold(vec!["money".to_owned(), "free money".to_owned()]));
        assert_eq!(m.check("free money scammers"), Verdict::Block(vec!["scam*".to_owned()]));
        assert_eq!(m.check("FRAUD and scams"), Verdict::Block(vec!["scam*".to_owned(), "fraud".to_owned()]));
        // A term matching several times is listed once.
        assert_eq!(m.check("money money"), Verdict::Hold(vec!["money".to_owned()]));
    }

    #[test]
    fn many_terms_many_messages() {
        let mut terms: Vec<Term> = (0..900).map(|i| block(&format!("word{i}"))).collect();
        terms.extend((0..50).map(|i| hold(&format!("pre{i}*"))));
        terms.extend((0..40).map(|i| hold(&format!("*suf{i}"))));
        terms.extend((0..10).map(|i| hold(&format!("*mid{i}*"))));
        let m = Matcher::new(&terms);
        let message = "lorem ipsum dolor sit amet ".repeat(18);
        for _ in 0..200 {
            assert_eq!(m.check(&message), Verdict::Allow);
        }
        assert_eq!(m.check(&format!("{message} WORD899")), Verdict::Block(vec!["word899".to_owned()]));
        assert_eq!(m.check("pre7ix"), Verdict::Hold(vec!["pre7*".to_owned()]));
        assert_eq!(m.check("xsuf39"), Verdict::Hold(vec!["*suf39".to_owned()]));
        assert_eq!(m.check("amid3st"), Verdict::Hold(vec!["*mid3*".to_owned()]));
    }
}
