//! M3U / M3U8 playlists as IPTV operators publish them.
//!
//! There is no specification to follow: `#EXTM3U` / `#EXTINF` come from
//! Winamp, the `key="value"` attributes from IPTV players (`tvg-*`, and
//! `catchup*` from Kodi's IPTV Simple client), `#EXTVLCOPT` from VLC,
//! `#KODIPROP` and `URL|Header=value` from Kodi. So [`Parser`] reads what
//! those players accept, reports every guess or drop as an [`Issue`] with
//! its 1-based line number, and carries on. It holds one line at a time, so
//! playlists of any size stream through it.
//!
//! Decisions a caller may need to know:
//! - Every directive between one URL line and the next (`#EXTINF`,
//!   `#EXTGRP`, `#EXTVLCOPT`, `#KODIPROP`) belongs to the entry that the
//!   next URL line closes, whatever their order: playlists put `#KODIPROP`
//!   before `#EXTINF` as often as after it.
//! - `#EXTINF-1` (colon missing, as in iptv-org's 2023 `bq.m3u`) is read as
//!   if the colon were there, with an Issue: the rest of the line is intact,
//!   and dropping the channel would punish viewers for a typo.
//! - An `#EXTINF` followed by another `#EXTINF` or by the end of input yields
//!   no entry and an Issue at its line; options already seen stay for the
//!   next entry.
//! - A URL line without `#EXTINF` (plain M3U) is still an entry, named after
//!   its URL, with an Issue: in an extended playlist it usually means the
//!   `#EXTINF` line was lost.
//! - An empty display name falls back to `tvg-name`, then to the URL, so
//!   every entry has something to show.
//! - Only the first non-blank line can be the `#EXTM3U` header. Without it
//!   there is an Issue and the rest is read anyway; a later `#EXTM3U`
//!   (concatenated playlists) is an Issue and its attributes are ignored. An
//!   empty input has no header, no entries and no Issue.
//! - Lines end with LF or CRLF (a lone CR does not end a line); a leading
//!   UTF-8 BOM is skipped; bytes that are not UTF-8 become U+FFFD.
//! - What one input can make the parser hold is bounded: a line over
//!   [`MAX_LINE_BYTES`] is reported and skipped unread, and lists built from
//!   one line or one entry (attributes, groups, headers, guide URLs, option
//!   lines) keep their first 256 items, with an Issue for the rest.
//! - A read error ends the iteration with an Issue; [`Parser::read_error`]
//!   tells a truncated playlist from a complete one.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::io::{self, BufRead};

/// Longest line kept, in bytes without its line ending. Real playlist lines
/// stay far below it (the longest seen in the wild is a 6 KB guide list); a
/// longer line is garbage, and keeping it would let one input pin unbounded
/// memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Items kept per list (see the module documentation). Real playlists use a
/// few dozen at most.
const MAX_ITEMS: usize = 256;

/// Issues reported per line, so a garbage line cannot flood the caller.
const MAX_ISSUES_PER_LINE: usize = 8;

/// Input quoted in issue messages is cut to this many characters.
const EXCERPT_CHARS: usize = 60;

/// Header attribute keys that list XMLTV guide URLs (comma-separated).
const GUIDE_KEYS: [&str; 3] = ["x-tvg-url", "url-tvg", "tvg-url"];

/// `#KODIPROP` keys whose value is a `Name=value&...` list of HTTP headers.
const KODI_HEADER_KEYS: [&str; 3] = [
    "inputstream.adaptive.stream_headers",
    "inputstream.adaptive.manifest_headers",
    "inputstream.adaptive.common_headers",
];

/// The `#EXTM3U` line: playlist-wide defaults that entries inherit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Header {
    /// Every attribute as written (keys lower-cased, values raw, empty ones
    /// included), so callers can read ones this module does not interpret.
    pub attributes: Vec<(String, String)>,
    /// XMLTV guide URLs from `x-tvg-url`, `url-tvg` and `tvg-url`, split on
    /// commas, trimmed, without empties or repeats, in order of appearance.
    pub guide_urls: Vec<String>,
    /// `tvg-shift`: hours to add to guide times for every entry that does not
    /// set its own.
    pub tvg_shift_hours: Option<f64>,
    /// Catch-up defaults for entries that do not set their own.
    pub catchup: Catchup,
}

impl Header {
    /// The first non-empty value of `key` (any case), trimmed.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        first_value(&self.attributes, key)
    }
}

/// Catch-up (replay) settings in Kodi's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Catchup {
    /// `catchup`: how archive URLs are formed (`default`, `append`, `shift`,
    /// `flussonic`, `xc`, ...); kept as written because players disagree.
    pub mode: Option<String>,
    /// `catchup-days`: how far back the archive reaches.
    pub days: Option<u32>,
    /// `catchup-source`: the archive URL template.
    pub source: Option<String>,
}

/// One playable stream and what the playlist says about it.
///
/// Optional text fields are `None` when the attribute is missing or empty
/// (`tvg-id=""` is as good as absent); values are trimmed.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Line of the `#EXTINF`, or of the URL when there was none.
    pub line: usize,
    /// `#EXTINF` duration in seconds; -1 (live, or unknown) when absent or
    /// unreadable.
    pub duration: f64,
    /// Display name: the text after the first comma that is not inside a
    /// quoted attribute value; names may contain commas. Never empty (see
    /// the module documentation).
    pub name: String,
    /// `tvg-id`: the XMLTV channel id. Not unique in real playlists (feeds
    /// and copies share it), so never key a channel on it alone.
    pub tvg_id: Option<String>,
    /// `tvg-name`: the XMLTV display name, a second key for guide matching.
    pub tvg_name: Option<String>,
    /// `tvg-logo`.
    pub logo: Option<String>,
    /// `tvg-chno`: channel number, as text because operators write "5.1".
    pub chno: Option<String>,
    /// `group-title` split on `;`, then `#EXTGRP` groups; trimmed, without
    /// empties or repeats.
    pub groups: Vec<String>,
    /// `tvg-shift` in hours, the entry's own or else the header's.
    pub tvg_shift_hours: Option<f64>,
    /// Catch-up settings, each field the entry's own or else the header's.
    pub catchup: Catchup,
    /// The `User-Agent` of [`Entry::headers`], if any.
    pub user_agent: Option<String>,
    /// Where the stream is, without any `|Header=value` suffix. Any scheme
    /// (`rtsp://`, `udp://`, a local path) is kept as written.
    pub url: String,
    /// HTTP headers the stream needs, one per name (case-insensitive). When
    /// sources disagree the most specific wins: the URL's `|` suffix, then
    /// `#EXTVLCOPT` (`http-referrer`, `http-user-agent`), then `#KODIPROP`
    /// header lists, then the `user-agent` / `http-referrer` attributes.
    pub headers: Vec<(String, String)>,
    /// Every `#EXTINF` attribute as written (keys lower-cased, values raw,
    /// empty ones included), known ones too, so nothing is lost.
    pub attributes: Vec<(String, String)>,
    /// `#EXTVLCOPT` options as written, including the ones read as headers.
    pub vlc_options: Vec<String>,
    /// `#KODIPROP` key/value pairs, including the ones read as headers.
    pub kodi_props: Vec<(String, String)>,
}

impl Entry {
    /// The first non-empty value of the `#EXTINF` attribute `key` (any
    /// case), trimmed: for attributes without a field of their own, such as
    /// iptv-org's `status`.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        first_value(&self.attributes, key)
    }
}

/// Something in the input that was skipped, guessed or dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// What the parser yields, in input order; the issues about an entry come
/// before the entry.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "entries are the common case; boxing them would cost an allocation per entry to shrink the rare issue"
)]
pub enum Item {
    Entry(Entry),
    Issue(Issue),
}

/// Streams [`Item`]s out of a playlist, one line at a time.
///
/// ```
/// use hearth_iptv_formats::m3u::{Item, Parser};
///
/// let playlist = "#EXTM3U url-tvg=\"https://example.com/guide.xml\"\n\
///                 #EXTINF:-1 tvg-id=\"One.uk\",One, HD\n\
///                 https://example.com/one.m3u8|User-Agent=Hearth\n";
/// let mut parser = Parser::new(playlist.as_bytes());
/// let guides = parser.header().map(|h| h.guide_urls.clone());
/// assert_eq!(guides, Some(vec!["https://example.com/guide.xml".to_owned()]));
/// let Some(Item::Entry(entry)) = parser.next() else { panic!("one entry") };
/// assert_eq!(entry.name, "One, HD");
/// assert_eq!(entry.user_agent.as_deref(), Some("Hearth"));
/// ```
pub struct Parser<R> {
    reader: R,
    /// The line being read; never longer than `MAX_LINE_BYTES`.
    buf: Vec<u8>,
    /// Lines read so far, so the number of the current line.
    line: usize,
    header: Option<Header>,
    /// Items found but not yet handed out (one line can yield several).
    queue: VecDeque<Item>,
    pending: Pending,
    read_error: Option<io::Error>,
    finished: bool,
}

/// Directives seen since the last URL line, waiting for the URL that closes
/// their entry.
#[derive(Default)]
struct Pending {
    extinf: Option<ExtInf>,
    groups: Vec<String>,
    vlc_options: Vec<String>,
    kodi_props: Vec<(String, String)>,
    /// Headers from `#EXTVLCOPT` and `#KODIPROP`, in that precedence.
    vlc_headers: Vec<(String, String)>,
    kodi_headers: Vec<(String, String)>,
    /// Option lines kept, and the first one's line number.
    options: usize,
    first_option_line: Option<usize>,
}

/// A parsed `#EXTINF` line.
struct ExtInf {
    line: usize,
    duration: f64,
    name: String,
    attributes: Vec<(String, String)>,
    tvg_shift_hours: Option<f64>,
    catchup: Catchup,
}

/// One read from the input.
enum Line {
    Text(String),
    TooLong(usize),
    End,
}

/// Messages for one line, capped at `MAX_ISSUES_PER_LINE`.
#[derive(Default)]
struct Problems {
    kept: Vec<String>,
    more: usize,
}

impl Problems {
    fn push(&mut self, message: String) {
        if self.kept.len() < MAX_ISSUES_PER_LINE {
            self.kept.push(message);
        } else {
            self.more += 1;
        }
    }
}

impl<R: BufRead> Parser<R> {
    /// Reads up to the first non-blank line, so [`Parser::header`] is known
    /// before the first item is asked for. Never fails: a read error is the
    /// first item.
    pub fn new(reader: R) -> Self {
        let mut parser = Parser {
            reader,
            buf: Vec::new(),
            line: 0,
            header: None,
            queue: VecDeque::new(),
            pending: Pending::default(),
            read_error: None,
            finished: false,
        };
        parser.read_header();
        parser
    }

    /// The `#EXTM3U` line, or `None` when the playlist does not start with
    /// one.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// The error that ended the iteration early, if one did: the items
    /// before it are right, but the playlist may have had more.
    pub fn read_error(&self) -> Option<&io::Error> {
        self.read_error.as_ref()
    }

    fn read_header(&mut self) {
        loop {
            match self.read_line() {
                Ok(Line::Text(text)) => {
                    let text = text.trim();
                    if text.is_empty() {
                        continue;
                    }
                    if let Some(rest) = strip_tag(text, "#EXTM3U") {
                        let mut problems = Problems::default();
                        self.header = Some(parse_header(rest, &mut problems));
                        self.report(self.line, problems);
                    } else {
                        self.issue(self.line, "no #EXTM3U header on the first line; reading on");
                        self.process(text);
                    }
                    return;
                }
                Ok(Line::TooLong(length)) => {
                    self.too_long(length);
                    self.issue(self.line, "no #EXTM3U header on the first line; reading on");
                    return;
                }
                Ok(Line::End) => return self.finish(),
                Err(error) => return self.fail(error),
            }
        }
    }

    /// Reads one line into `buf`, keeping at most `MAX_LINE_BYTES` of it.
    fn read_line(&mut self) -> io::Result<Line> {
        self.buf.clear();
        let mut length = 0usize;
        let mut read_any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                break;
            }
            read_any = true;
            let newline = available.iter().position(|&byte| byte == b'\n');
            let chunk = &available[..newline.unwrap_or(available.len())];
            length = length.saturating_add(chunk.len());
            if length <= MAX_LINE_BYTES {
                self.buf.extend_from_slice(chunk);
            }
            let used = chunk.len() + usize::from(newline.is_some());
            self.reader.consume(used);
            if newline.is_some() {
                break;
            }
        }
        if !read_any {
            return Ok(Line::End);
        }
        self.line += 1;
        if length > MAX_LINE_BYTES {
            self.buf.clear();
            return Ok(Line::TooLong(length));
        }
        let mut bytes = self.buf.as_slice();
        if let Some(rest) = bytes.strip_suffix(b"\r") {
            bytes = rest;
        }
        if self.line == 1
            && let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF")
        {
            bytes = rest;
        }
        Ok(Line::Text(String::from_utf8_lossy(bytes).into_owned()))
    }

    fn step(&mut self) {
        match self.read_line() {
            Ok(Line::Text(text)) => self.process(&text),
            Ok(Line::TooLong(length)) => self.too_long(length),
            Ok(Line::End) => self.finish(),
            Err(error) => self.fail(error),
        }
    }

    fn process(&mut self, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        if !text.starts_with('#') {
            return self.close_entry(text);
        }
        let line = self.line;
        if let Some(rest) = strip_tag(text, "#EXTINF") {
            if let Some(orphan) = self.pending.extinf.take() {
                self.issue(orphan.line, "#EXTINF is followed by another #EXTINF, not a URL; entry dropped");
            }
            let mut problems = Problems::default();
            self.pending.extinf = Some(parse_extinf(line, rest, &mut problems));
            self.report(line, problems);
        } else if strip_tag(text, "#EXTM3U").is_some() {
            self.issue(line, "#EXTM3U after the first line (concatenated playlists?); its attributes are ignored");
        } else if let Some(group) = strip_tag(text, "#EXTGRP:") {
            if !group.trim().is_empty() && self.room_for_option(line) {
                self.pending.groups.push(group.to_owned());
            }
        } else if let Some(option) = strip_tag(text, "#EXTVLCOPT:") {
            let option = option.trim();
            if !option.is_empty() && self.room_for_option(line) {
                if let Some((name, value)) = vlc_header(option) {
                    self.pending.vlc_headers.push((name.to_owned(), value.to_owned()));
                }
                self.pending.vlc_options.push(option.to_owned());
            }
        } else if let Some(prop) = strip_tag(text, "#KODIPROP:") {
            let Some((key, value)) = prop.split_once('=') else {
                return self.issue(line, format!("#KODIPROP `{}` has no '='; ignored", excerpt(prop)));
            };
            let (key, value) = (key.trim(), value.trim());
            if self.room_for_option(line) {
                if KODI_HEADER_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                    let mut problems = Problems::default();
                    let headers = parse_header_list(value, &mut problems);
                    self.pending.kodi_headers.extend(headers);
                    self.report(line, problems);
                }
                self.pending.kodi_props.push((key.to_owned(), value.to_owned()));
            }
        }
        // Any other line starting with '#' is a comment or a directive no
        // IPTV player needs (`#EXT-X-*`, `#PLAYLIST`, ...).
    }

    /// Counts an option line against `MAX_ITEMS`, reporting it when over.
    fn room_for_option(&mut self, line: usize) -> bool {
        if self.pending.options >= MAX_ITEMS {
            self.issue(line, format!("more than {MAX_ITEMS} option lines for one entry; line ignored"));
            return false;
        }
        self.pending.options += 1;
        self.pending.first_option_line.get_or_insert(line);
        true
    }

    /// A URL line: builds the entry from it and the pending directives.
    fn close_entry(&mut self, text: &str) {
        let line = self.line;
        let pending = std::mem::take(&mut self.pending);
        let (url, suffix) = match text.split_once('|') {
            Some((url, suffix)) => (url.trim_end(), Some(suffix)),
            None => (text, None),
        };
        if url.is_empty() {
            return self.issue(line, "line has a `|` header suffix but no URL; entry dropped");
        }
        if url.contains(char::is_control) {
            return self.issue(line, "URL has control characters; entry dropped");
        }

        let mut problems = Problems::default();
        let mut headers = Headers::default();
        if let Some(suffix) = suffix {
            headers.extend(parse_header_list(suffix, &mut problems), &mut problems);
        }
        headers.extend(pending.vlc_headers, &mut problems);
        headers.extend(pending.kodi_headers, &mut problems);
        let extinf = pending.extinf.unwrap_or_else(|| {
            problems.push("URL without #EXTINF; the entry is named after its URL".to_owned());
            ExtInf {
                line,
                duration: -1.0,
                name: String::new(),
                attributes: Vec::new(),
                tvg_shift_hours: None,
                catchup: Catchup::default(),
            }
        });
        let attribute = |key: &str| first_value(&extinf.attributes, key).map(str::to_owned);
        let mut attribute_headers = Vec::new();
        if let Some(agent) = attribute("user-agent") {
            attribute_headers.push(("User-Agent".to_owned(), agent));
        }
        if let Some(referrer) = attribute("http-referrer") {
            attribute_headers.push(("Referer".to_owned(), referrer));
        }
        headers.extend(attribute_headers, &mut problems);
        let groups = split_groups(first_value(&extinf.attributes, "group-title"), &pending.groups, &mut problems);
        let tvg_name = attribute("tvg-name");
        let name =
            if extinf.name.is_empty() { tvg_name.clone().unwrap_or_else(|| url.to_owned()) } else { extinf.name };
        let header = self.header.as_ref();
        let defaults = header.map(|h| &h.catchup);
        let catchup = Catchup {
            mode: extinf.catchup.mode.or_else(|| defaults.and_then(|d| d.mode.clone())),
            days: extinf.catchup.days.or_else(|| defaults.and_then(|d| d.days)),
            source: extinf.catchup.source.or_else(|| defaults.and_then(|d| d.source.clone())),
        };
        let entry = Entry {
            line: extinf.line,
            duration: extinf.duration,
            name,
            tvg_id: attribute("tvg-id"),
            tvg_name,
            logo: attribute("tvg-logo"),
            chno: attribute("tvg-chno"),
            groups,
            tvg_shift_hours: extinf.tvg_shift_hours.or_else(|| header.and_then(|h| h.tvg_shift_hours)),
            catchup,
            user_agent: headers.user_agent(),
            url: url.to_owned(),
            headers: headers.list,
            attributes: extinf.attributes,
            vlc_options: pending.vlc_options,
            kodi_props: pending.kodi_props,
        };
        self.report(line, problems);
        self.queue.push_back(Item::Entry(entry));
    }

    fn finish(&mut self) {
        self.finished = true;
        let pending = std::mem::take(&mut self.pending);
        if let Some(extinf) = pending.extinf {
            self.issue(extinf.line, "#EXTINF has no URL line before the end of the input; entry dropped");
        }
        if let Some(line) = pending.first_option_line {
            let count = pending.options;
            self.issue(line, format!("{count} option line(s) after the last URL belong to no entry; ignored"));
        }
    }

    fn fail(&mut self, error: io::Error) {
        self.issue(self.line + 1, format!("reading stopped: {error}"));
        self.read_error = Some(error);
        self.finished = true;
    }

    fn too_long(&mut self, length: usize) {
        self.issue(self.line, format!("line of {length} bytes is over the {MAX_LINE_BYTES}-byte limit; skipped"));
    }

    fn issue(&mut self, line: usize, message: impl Into<String>) {
        self.queue.push_back(Item::Issue(Issue { line, message: message.into() }));
    }

    fn report(&mut self, line: usize, problems: Problems) {
        for message in problems.kept {
            self.issue(line, message);
        }
        if problems.more > 0 {
            self.issue(line, format!("{} more problem(s) on this line not reported", problems.more));
        }
    }
}

impl<R: BufRead> Iterator for Parser<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item);
            }
            if self.finished {
                return None;
            }
            self.step();
        }
    }
}

impl<R: BufRead> std::iter::FusedIterator for Parser<R> {}

/// An entry's headers, one per name (case-insensitive), first source wins.
#[derive(Default)]
struct Headers {
    list: Vec<(String, String)>,
    names: HashSet<String>,
}

impl Headers {
    fn extend(&mut self, headers: Vec<(String, String)>, problems: &mut Problems) {
        for (name, value) in headers {
            if self.names.contains(&name.to_ascii_lowercase()) {
                continue;
            }
            if self.list.len() >= MAX_ITEMS {
                problems.push(format!("more than {MAX_ITEMS} headers; `{}` and later ones ignored", excerpt(&name)));
                return;
            }
            if let Err(message) = check_header(&name, &value) {
                problems.push(message);
                continue;
            }
            self.names.insert(name.to_ascii_lowercase());
            self.list.push((name, value));
        }
    }

    fn user_agent(&self) -> Option<String> {
        self.list.iter().find(|(name, _)| name.eq_ignore_ascii_case("user-agent")).map(|(_, value)| value.clone())
    }
}

/// Rejects what an HTTP client would refuse, or could be made to
/// misbehave with (a decoded `%0D%0A` in a value).
fn check_header(name: &str, value: &str) -> Result<(), String> {
    let token = |byte: u8| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(format!("header name `{}` is not a valid HTTP token; header ignored", excerpt(name)));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!("header `{}` has control characters in its value; header ignored", excerpt(name)));
    }
    Ok(())
}

/// `text` without its leading `tag` (ASCII, any case), if it starts with it.
fn strip_tag<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let head = text.get(..tag.len())?;
    head.eq_ignore_ascii_case(tag).then(|| &text[tag.len()..])
}

/// The first non-empty value of `key`, trimmed; `key` in any case.
fn first_value<'a>(attributes: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attributes.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.trim()).find(|v| !v.is_empty())
}

/// Input quoted in an issue message, cut short.
fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// Parses `key=value` attributes: values `"double"`, `'single'` or bare
/// (up to whitespace); keys lower-cased. When `name_follows` (an
/// `#EXTINF`), a comma outside a quoted value ends the attributes and the
/// text after it is returned as the display name; in the header, commas
/// are part of bare values (`url-tvg=a.xml,b.xml`).
fn parse_attributes<'a>(
    text: &'a str,
    name_follows: bool,
    problems: &mut Problems,
) -> (Vec<(String, String)>, Option<&'a str>) {
    let bytes = text.as_bytes();
    let ends_value = |byte: u8| byte.is_ascii_whitespace() || (name_follows && byte == b',');
    let mut pairs = Vec::new();
    let mut dropped = 0;
    let mut i = 0;
    loop {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let Some(&byte) = bytes.get(i) else { return (pairs, None) };
        if name_follows && byte == b',' {
            return (pairs, Some(&text[i + 1..]));
        }
        // Every stop below is an ASCII byte, so the slices fall on char
        // boundaries.
        let start = i;
        while bytes.get(i).is_some_and(|&b| !ends_value(b) && b != b'=') {
            i += 1;
        }
        let key = &text[start..i];
        if bytes.get(i) != Some(&b'=') {
            problems.push(format!("attribute `{}` has no value", excerpt(key)));
            push_attribute(&mut pairs, &mut dropped, key, "", problems);
            continue;
        }
        i += 1;
        let value = match bytes.get(i) {
            Some(&quote @ (b'"' | b'\'')) => {
                let open = i + 1;
                if let Some(length) = text[open..].find(char::from(quote)) {
                    i = open + length + 1;
                    &text[open..open + length]
                } else {
                    problems.push(format!("attribute `{}` has no closing quote", excerpt(key)));
                    let length = if name_follows { text[open..].find(',') } else { None };
                    i = length.map_or(text.len(), |length| open + length);
                    &text[open..i]
                }
            }
            _ => {
                let open = i;
                while bytes.get(i).is_some_and(|&b| !ends_value(b)) {
                    i += 1;
                }
                &text[open..i]
            }
        };
        if key.is_empty() {
            problems.push(format!("value `{}` has no attribute name; ignored", excerpt(value)));
        } else {
            push_attribute(&mut pairs, &mut dropped, key, value, problems);
        }
    }
}

fn push_attribute(
    pairs: &mut Vec<(String, String)>,
    dropped: &mut usize,
    key: &str,
    value: &str,
    problems: &mut Problems,
) {
    if pairs.len() < MAX_ITEMS {
        pairs.push((key.to_ascii_lowercase(), value.to_owned()));
    } else {
        if *dropped == 0 {
            problems.push(format!("more than {MAX_ITEMS} attributes; `{}` and later ones ignored", excerpt(key)));
        }
        *dropped += 1;
    }
}

/// The rest of an `#EXTM3U` line.
fn parse_header(text: &str, problems: &mut Problems) -> Header {
    let (attributes, _) = parse_attributes(text, false, problems);
    let mut guide_urls = Vec::new();
    let mut seen = HashSet::new();
    for (_, value) in attributes.iter().filter(|(key, _)| GUIDE_KEYS.contains(&key.as_str())) {
        for url in value.split(',').map(str::trim).filter(|url| !url.is_empty()) {
            if guide_urls.len() >= MAX_ITEMS {
                problems.push(format!("more than {MAX_ITEMS} guide URLs; `{}` and later ones ignored", excerpt(url)));
                break;
            }
            if seen.insert(url) {
                guide_urls.push(url.to_owned());
            }
        }
    }
    let tvg_shift_hours = typed(&attributes, "tvg-shift", parse_hours, problems);
    let catchup = catchup(&attributes, problems);
    Header { guide_urls, tvg_shift_hours, catchup, attributes }
}

/// The rest of an `#EXTINF` line (after the tag).
fn parse_extinf(line: usize, text: &str, problems: &mut Problems) -> ExtInf {
    let text = text.strip_prefix(':').unwrap_or_else(|| {
        problems.push("#EXTINF without ':' before the duration; read as if it were there".to_owned());
        text
    });
    let text = text.trim_start();
    let end = text.find(|c: char| c.is_ascii_whitespace() || c == ',').unwrap_or(text.len());
    let (token, text) = text.split_at(end);
    let duration = parse_duration(token).unwrap_or_else(|message| {
        problems.push(message);
        -1.0
    });
    let (attributes, name) = parse_attributes(text, true, problems);
    let name = match name.map(str::trim) {
        Some("") => {
            problems.push("empty display name; the entry is named after tvg-name or its URL".to_owned());
            ""
        }
        Some(name) => name,
        None => {
            problems.push("no ',' before the display name; the entry is named after tvg-name or its URL".to_owned());
            ""
        }
    };
    ExtInf {
        line,
        duration,
        name: name.to_owned(),
        tvg_shift_hours: typed(&attributes, "tvg-shift", parse_hours, problems),
        catchup: catchup(&attributes, problems),
        attributes,
    }
}

/// An attribute read by `parse`, reported and dropped when it does not
/// parse.
fn typed<T>(
    attributes: &[(String, String)],
    key: &str,
    parse: fn(&str) -> Result<T, String>,
    problems: &mut Problems,
) -> Option<T> {
    let value = first_value(attributes, key)?;
    parse(value).map_err(|message| problems.push(format!("{key}: {message}; ignored"))).ok()
}

fn catchup(attributes: &[(String, String)], problems: &mut Problems) -> Catchup {
    Catchup {
        mode: first_value(attributes, "catchup").map(str::to_owned),
        days: typed(attributes, "catchup-days", parse_days, problems),
        source: first_value(attributes, "catchup-source").map(str::to_owned),
    }
}

/// `#EXTINF` duration in seconds.
fn parse_duration(token: &str) -> Result<f64, String> {
    if token.is_empty() {
        return Err("#EXTINF has no duration; -1 assumed".to_owned());
    }
    match token.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() => Ok(seconds),
        _ => Err(format!("#EXTINF duration `{}` is not a number; -1 assumed", excerpt(token))),
    }
}

/// `tvg-shift` hours: fractional and negative allowed, but within a day,
/// because anything else is a typo that would move a guide by days.
fn parse_hours(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(hours) if hours.is_finite() && hours.abs() <= 24.0 => Ok(hours),
        _ => Err(format!("`{}` is not a number of hours between -24 and 24", excerpt(value))),
    }
}

/// `catchup-days`: a whole, non-negative number of days.
fn parse_days(value: &str) -> Result<u32, String> {
    value.trim().parse::<u32>().map_err(|_| format!("`{}` is not a whole number of days", excerpt(value)))
}

/// `group-title` (first) then `#EXTGRP` values, each split on `;`.
fn split_groups(title: Option<&str>, extgrp: &[String], problems: &mut Problems) -> Vec<String> {
    let mut groups = Vec::new();
    let mut seen = HashSet::new();
    for value in title.into_iter().chain(extgrp.iter().map(String::as_str)) {
        for group in value.split(';').map(str::trim).filter(|group| !group.is_empty()) {
            if groups.len() >= MAX_ITEMS {
                problems.push(format!("more than {MAX_ITEMS} groups; `{}` and later ones ignored", excerpt(group)));
                return groups;
            }
            if seen.insert(group) {
                groups.push(group.to_owned());
            }
        }
    }
    groups
}

/// The header an `#EXTVLCOPT` option sets, if it sets one.
fn vlc_header(option: &str) -> Option<(&'static str, &str)> {
    let (key, value) = option.split_once('=')?;
    let key = key.trim().trim_start_matches(['-', ':']);
    let value = value.trim();
    let name = if key.eq_ignore_ascii_case("http-referrer") || key.eq_ignore_ascii_case("http-referer") {
        "Referer"
    } else if key.eq_ignore_ascii_case("http-user-agent") {
        "User-Agent"
    } else {
        return None;
    };
    (!value.is_empty()).then_some((name, value))
}

/// `Name=value&Name2=value2`, as after a URL's `|` or in Kodi's
/// `*_headers` properties. Names and values are percent-decoded, as Kodi
/// does; a value in double quotes loses them.
fn parse_header_list(text: &str, problems: &mut Problems) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    for part in text.split('&').map(str::trim).filter(|part| !part.is_empty()) {
        if headers.len() >= MAX_ITEMS {
            problems.push(format!("more than {MAX_ITEMS} headers; `{}` and later ones ignored", excerpt(part)));
            break;
        }
        let Some((name, value)) = part.split_once('=') else {
            problems.push(format!("header `{}` has no '='; ignored", excerpt(part)));
            continue;
        };
        let value = value.trim();
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        headers.push((percent_decode(name.trim()), percent_decode(value)));
    }
    headers
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays.
fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let hex = |byte: &u8| char::from(*byte).to_digit(16).and_then(|digit| u8::try_from(digit).ok());
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%'
            && let (Some(high), Some(low)) = (bytes.get(i + 1).and_then(hex), bytes.get(i + 2).and_then(hex))
        {
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A whole playlist in memory, for callers that keep every entry anyway
/// (a line-up is served from memory); streaming callers iterate [`Parser`].
#[derive(Debug, Default)]
pub struct Playlist {
    pub header: Option<Header>,
    pub entries: Vec<Entry>,
    pub issues: Vec<Issue>,
    /// Set when reading failed midway: `entries` is then only a prefix.
    pub read_error: Option<io::Error>,
}

/// Reads a whole playlist.
pub fn read(reader: impl BufRead) -> Playlist {
    let mut parser = Parser::new(reader);
    let mut playlist = Playlist { header: parser.header().cloned(), ..Playlist::default() };
    for item in parser.by_ref() {
        match item {
            Item::Entry(entry) => playlist.entries.push(entry),
            Item::Issue(issue) => playlist.issues.push(issue),
        }
    }
    playlist.header = playlist.header.or_else(|| parser.header().cloned());
    playlist.read_error = parser.read_error().map(|e| io::Error::new(e.kind(), e.to_string()));
    playlist
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = Playlist;

    fn parse_with(reader: impl BufRead) -> Parsed {
        let parsed = read(reader);
        assert!(parsed.read_error.is_none());
        parsed
    }

    fn parse(input: &[u8]) -> Parsed {
        parse_with(input)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn issue_lines(parsed: &Parsed) -> Vec<usize> {
        parsed.issues.iter().map(|issue| issue.line).collect()
    }

    #[test]
    fn reads_current_iptv_org_entries_with_crlf() {
        let parsed = parse(
            b"#EXTM3U\r\n#EXTINF:-1 tvg-id=\"ABC.us@East\",ABC (720p) [Not 24/7]\r\nhttps://a.example/abc.m3u8\r\n",
        );
        assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
        let header = parsed.header.expect("header");
        assert!(header.attributes.is_empty() && header.guide_urls.is_empty());
        let [entry] = parsed.entries.as_slice() else { panic!("one entry: {:?}", parsed.entries) };
        assert_eq!(entry.line, 2);
        assert_eq!(entry.duration, -1.0);
        assert_eq!(entry.name, "ABC (720p) [Not 24/7]");
        assert_eq!(entry.tvg_id.as_deref(), Some("ABC.us@East"));
        assert_eq!(entry.url, "https://a.example/abc.m3u8");
        assert_eq!(entry.attributes, pairs(&[("tvg-id", "ABC.us@East")]));
        assert!(entry.headers.is_empty() && entry.groups.is_empty() && entry.user_agent.is_none());
    }

    #[test]
    fn header_attributes_guides_shift_and_catchup_defaults() {
        let parsed = parse(
            "\u{feff}#EXTM3U x-tvg-url=\"https://g/a.xml, https://g/b.xml,,\" url-tvg=https://g/b.xml,https://g/c.xml.gz \
             tvg-shift=-1.5 catchup=\"shift\" catchup-days='7' catchup-source=\"?utc={utc}\" Refresh=\"3600\"\n\
             #EXTINF:-1,Inherits\nhttp://a/1\n\
             #EXTINF:-1 tvg-shift=\"+2\" catchup=\"append\" catchup-days=\"3\",Own\nhttp://a/2\n"
                .as_bytes(),
        );
        assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
        let header = parsed.header.expect("header");
        assert_eq!(header.guide_urls, strings(&["https://g/a.xml", "https://g/b.xml", "https://g/c.xml.gz"]));
        assert_eq!(header.tvg_shift_hours, Some(-1.5));
        let defaults = Catchup { mode: Some("shift".into()), days: Some(7), source: Some("?utc={utc}".into()) };
        assert_eq!(header.catchup, defaults);
        assert_eq!(header.attribute("REFRESH"), Some("3600"));
        assert_eq!(header.attributes.last(), Some(&("refresh".to_owned(), "3600".to_owned())));
        assert_eq!(header.attributes.len(), 7);

        let [inherits, own] = parsed.entries.as_slice() else { panic!("two entries") };
        assert_eq!(inherits.tvg_shift_hours, Some(-1.5));
        assert_eq!(inherits.catchup, defaults);
        assert_eq!(own.tvg_shift_hours, Some(2.0));
        let mixed = Catchup { mode: Some("append".into()), days: Some(3), source: Some("?utc={utc}".into()) };
        assert_eq!(own.catchup, mixed);
    }

    #[test]
    fn attribute_quoting_case_and_names_with_commas() {
        let parsed = parse(
            b"#EXTM3U\n#EXTINF:0 tvg-ID='One.uk' TVG-NAME=\"One, the channel\" tvg-logo=http://l/1.png \
              tvg-chno=5.1 status=\"online\" radio=true x-custom=\"a 'b'\",One, HD \"quoted\"\nhttp://a/1\n",
        );
        assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
        let [entry] = parsed.entries.as_slice() else { panic!("one entry") };
        assert_eq!(entry.duration, 0.0);
        assert_eq!(entry.tvg_id.as_deref(), Some("One.uk"));
        assert_eq!(entry.tvg_name.as_deref(), Some("One, the channel"));
        assert_eq!(entry.logo.as_deref(), Some("http://l/1.png"));
        assert_eq!(entry.chno.as_deref(), Some("5.1"));
        assert_eq!(entry.attribute("Status"), Some("online"));
        assert_eq!(entry.attribute("radio"), Some("true"));
        assert_eq!(entry.attribute("x-custom"), Some("a 'b'"));
        assert_eq!(entry.name, "One, HD \"quoted\"");
    }

    #[test]
    fn empty_values_are_none_and_names_fall_back() {
        let parsed = parse(
            b"#EXTM3U\n#EXTINF:-1 tvg-id=\"\" tvg-logo=\"\" group-title=\"\" tvg-name=\"Named\",\nhttp://a/1\n\
              #EXTINF:-1 tvg-id=\" \",\nhttp://a/2\n",
        );
        let [named, unnamed] = parsed.entries.as_slice() else { panic!("two entries") };
        assert_eq!((named.tvg_id.as_deref(), named.logo.as_deref()), (None, None));
        assert!(named.groups.is_empty());
        assert_eq!(named.name, "Named");
        assert_eq!(named.attributes.len(), 4);
        assert_eq!(unnamed.tvg_id, None);
        assert_eq!(unnamed.name, "http://a/2");
        assert_eq!(issue_lines(&parsed), [2, 4]);
        assert!(parsed.issues.iter().all(|issue| issue.message.contains("empty display name")));
    }

    #[test]
    fn groups_from_group_title_and_extgrp() {
        let parsed = parse(
            b"#EXTM3U\n#EXTINF:-1 group-title=\" News ; ;Kids;News\",A\n#EXTGRP:Sports;Kids\n#EXTGRP:  \nhttp://a/1\n\
              #EXTGRP:Before\n#EXTINF:-1,B\nhttp://a/2\n#EXTINF:-1,C\nhttp://a/3\n",
        );
        assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
        let groups: Vec<_> = parsed.entries.iter().map(|e| e.groups.clone()).collect();
        assert_eq!(groups, [strings(&["News", "Kids", "Sports"]), strings(&["Before"]), vec![]]);
    }

    #[test]
    fn vlc_options_become_headers_and_stay_raw() {
        let parsed = parse(
            b"#EXTM3U\n#EXTINF:-1 user-agent=\"attr-agent\" http-referrer=\"http://attr/\",A\n\
              #EXTVLCOPT:http-referrer=https://ref.example/\n#EXTVLCOPT:http-user-agent=VLC/3.0\n\
              #EXTVLCOPT:network-caching=1000\n#EXTVLCOPT:no-video\nrtsp://cam.example/live\n\
              #EXTINF:-1 user-agent=\"only-attr\",B\nmmsh://a.example/b\n",
        );
        assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
        let [a, b] = parsed.entries.as_slice() else { panic!("two entries") };
        assert_eq!(a.url, "rtsp://cam.example/live");
        assert_eq!(a.headers, pairs(&[("Referer", "https://ref.example/"), ("User-Agent", "VLC/3.0")]));
        assert_eq!(a.user_agent.as_deref(), Some("VLC/3.0"));
        let raw = ["http-referrer=https://ref.example/", "http-user-agent=VLC/3.0", "network-caching=1000", "no-video"];
        assert_eq!(a.vlc_options, strings(&raw));
        assert_eq!(b.headers, pairs(&[("User-Agent", "only-attr")]));
        assert_eq!(b.user_agent.as_deref(), Some("only-attr"));
        assert!(b.vlc_options.is_empty(), "options do not leak into the next entry");
    }

    #[test]
    fn kodiprops_before_or_after_extinf() {
        let parsed = parse(
            b"#EXTM3U\n#KODIPROP:inputstream=inputstream.adaptive\n\
              #KODIPROP:inputstream.adaptive.stream_headers=User-Agent=Kodi%2F21&Referer=http://r/&Origin\n\
              #EXTINF:-1,A\n#KODIPROP:inputstream.adaptive.manifest_type=mpd\n#KODIPROP:broken\nhttp://a/1.mpd\n",
        );
        let [entry] = parsed.entries.as_slice() else { panic!("one entry") };
        let props = [
            ("inputstream", "inputstream.adaptive"),
            ("inputstream.adaptive.stream_headers", "User-Agent=Kodi%2F21&Referer=http://r/&Origin"),
            ("inputstream.adaptive.manifest_type", "mpd"),
        ];
        assert_eq!(entry.kodi_props, pairs(&props));
        assert_eq!(entry.headers, pairs(&[("User-Agent", "Kodi/21"), ("Referer", "http://r/")]));
        assert_eq!(issue_lines(&parsed), [3, 6]);
        assert!(parsed.issues[0].message.contains("`Origin` has no '='"));
        assert!(parsed.issues[1].message.contains("#KODIPROP `broken`"));
    }

    #[test]
    fn url_pipe_suffix_wins_and_is_decoded() {
        let parsed = parse(
            b"#EXTM3U\n#EXTINF:-1 user-agent=\"attr\",A\n#EXTVLCOPT:http-user-agent=vlc\n\
              http://a/1.m3u8|User-Agent=Mozilla/5.0%20(X11)&referer=\"http://r/\"&X-Bad=a%0D%0Ab&Bad Name=1&&\n\
              #EXTINF:-1,B\nhttp://a/2.m3u8|\n",
        );
        let [a, b] = parsed.entries.as_slice() else { panic!("two entries") };
        assert_eq!(a.url, "http://a/1.m3u8");
        assert_eq!(a.headers, pairs(&[("User-Agent", "Mozilla/5.0 (X11)"), ("referer", "http://r/")]));
        assert_eq!(a.user_agent.as_deref(), Some("Mozilla/5.0 (X11)"));
        assert_eq!(b.url, "http://a/2.m3u8");
        assert!(b.headers.is_empty());
        assert_eq!(issue_lines(&parsed), [4, 4]);
        assert!(parsed.issues[0].message.contains("control characters"), "{:?}", parsed.issues);
        assert!(parsed.issues[1].message.contains("not a valid HTTP token"), "{:?}", parsed.issues);
    }

    #[test]
    fn malformed_extinf_without_colon_is_taken_with_an_issue() {
        let parsed = parse(b"#EXTM3U\n#EXTINF-1 tvg-id=\"NosTVBonaire.bq\",Nos TV Bonaire \nhttp://a/nos.m3u8\n");
        let [entry] = parsed.entries.as_slice() else { panic!("one entry") };
        assert_eq!((entry.line, entry.duration), (2, -1.0));
        assert_eq!(entry.name, "Nos TV Bonaire");
        assert_eq!(entry.tvg_id.as_deref(), Some("NosTVBonaire.bq"));
        assert_eq!(issue_lines(&parsed), [2]);
        assert!(parsed.issues[0].message.contains("without ':'"));
    }

    #[test]
    fn malformed_extinf_lines_report_their_line() {
        let parsed = parse(
            b"#EXTM3U\n\n#EXTINF:abc tvg-id=\"a\",A\nhttp://a/1\n#EXTINF:-1 tvg-id=\"b\" orphan-word,B\nhttp://a/2\n\
              #EXTINF:-1 tvg-name=\"unterminated,C\nhttp://a/3\n#EXTINF:-1 tvg-id=\"d\"\nhttp://a/4\n\
              #EXTINF:-1 =\"x\" catchup-days=\"seven\" tvg-shift=\"48\",E\nhttp://a/5\n#EXTINF:,F\nhttp://a/6\n",
        );
        let names: Vec<_> = parsed.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["A", "B", "C", "http://a/4", "E", "F"]);
        assert_eq!(parsed.entries[0].duration, -1.0);
        assert_eq!(parsed.entries[1].attribute("orphan-word"), None);
        assert!(parsed.entries[1].attributes.contains(&("orphan-word".to_owned(), String::new())));
        assert_eq!(parsed.entries[2].tvg_name.as_deref(), Some("unterminated"));
        assert_eq!(parsed.entries[3].tvg_id.as_deref(), Some("d"));
        assert_eq!((parsed.entries[4].catchup.days, parsed.entries[4].tvg_shift_hours), (None, None));
        assert_eq!(issue_lines(&parsed), [3, 5, 7, 9, 11, 11, 11, 13]);
        let messages: Vec<_> = parsed.issues.iter().map(|i| i.message.as_str()).collect();
        assert!(messages[0].contains("duration `abc`"), "{messages:?}");
        assert!(messages[1].contains("`orphan-word` has no value"), "{messages:?}");
        assert!(messages[2].contains("no closing quote"), "{messages:?}");
        assert!(messages[3].contains("no ','"), "{messages:?}");
        assert!(messages[4].contains("no attribute name"), "{messages:?}");
        assert!(messages[5].contains("tvg-shift"), "{messages:?}");
        assert!(messages[6].contains("catchup-days"), "{messages:?}");
        assert!(messages[7].contains("no duration"), "{messages:?}");
    }

    #[test]
    fn extinf_without_url() {
        let parsed = parse(
            b"#EXTM3U\n#EXTINF:-1,Lost\n#EXTVLCOPT:http-user-agent=kept\n#EXTINF:-1,Kept\nhttp://a/1\n\
              #EXTINF:-1,AtEnd\n#EXTVLCOPT:x=1\n",
        );
        let [entry] = parsed.entries.as_slice() else { panic!("one entry") };
        assert_eq!(entry.name, "Kept");
        assert_eq!(entry.user_agent.as_deref(), Some("kept"));
        assert_eq!(issue_lines(&parsed), [2, 6, 7]);
        assert!(parsed.issues[0].message.contains("another #EXTINF"));
        assert!(parsed.issues[1].message.contains("end of the input"));
        assert!(parsed.issues[2].message.contains("1 option line(s)"));
    }

    #[test]
    fn url_without_extinf_is_named_after_it() {
        let parsed = parse(b"#EXTM3U x-tvg-url=\"\" tvg-shift=1\n#EXTGRP:Cams\nudp://@239.0.0.1:1234\n");
        let header = parsed.header.as_ref().expect("header");
        assert!(header.guide_urls.is_empty());
        assert_eq!(header.attribute("x-tvg-url"), None);
        let [entry] = parsed.entries.as_slice() else { panic!("one entry") };
        assert_eq!((entry.line, entry.duration), (3, -1.0));
        assert_eq!((entry.name.as_str(), entry.url.as_str()), ("udp://@239.0.0.1:1234", "udp://@239.0.0.1:1234"));
        assert_eq!(entry.groups, strings(&["Cams"]));
        assert_eq!(entry.tvg_shift_hours, Some(1.0));
        assert!(entry.attributes.is_empty());
        assert_eq!(issue_lines(&parsed), [3]);
    }

    #[test]
    fn header_only_no_header_and_empty_input() {
        let only = parse(b"#EXTM3U\r\n");
        assert!(only.header.is_some() && only.entries.is_empty() && only.issues.is_empty());

        let none = parse(b"\n#EXTINF:-1,A\nhttp://a/1\n#EXTM3U\n");
        assert!(none.header.is_none());
        assert_eq!(none.entries.len(), 1);
        assert_eq!(issue_lines(&none), [2, 4]);
        assert!(none.issues[0].message.contains("no #EXTM3U header"));
        assert!(none.issues[1].message.contains("after the first line"));

        for empty in [&b""[..], b"\n\r\n  \n", b"\xEF\xBB\xBF"] {
            let parsed = parse(empty);
            assert!(parsed.header.is_none() && parsed.entries.is_empty() && parsed.issues.is_empty());
        }
    }

    #[test]
    fn bom_blank_lines_and_non_utf8_bytes() {
        let parsed =
            parse(b"\xEF\xBB\xBF#EXTM3U\n\n  \n#EXTINF:-1 tvg-id=\"T\xE9l\xE9.fr\",T\xE9l\xE9 \xFF\n\nhttp://a/\xE9\n");
        assert!(parsed.header.is_some());
        assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
        let [entry] = parsed.entries.as_slice() else { panic!("one entry") };
        assert_eq!(entry.line, 4);
        assert_eq!(entry.tvg_id.as_deref(), Some("T\u{fffd}l\u{fffd}.fr"));
        assert_eq!(entry.name, "T\u{fffd}l\u{fffd} \u{fffd}");
        assert_eq!(entry.url, "http://a/\u{fffd}");
    }

    #[test]
    fn long_lines_are_kept_up_to_the_limit_and_skipped_beyond() {
        let long_url = format!("https://a.example/{}", "x".repeat(1_700));
        let huge = "y".repeat(MAX_LINE_BYTES + 1);
        let input = format!("#EXTM3U\n#EXTINF:-1,Long\n{long_url}\n#{huge}\n#EXTINF:-1,{huge}\nhttp://a/2\n");
        let parsed = parse_with(io::BufReader::with_capacity(4096, input.as_bytes()));
        let [long, orphan] = parsed.entries.as_slice() else { panic!("two entries") };
        assert_eq!(long.url, long_url);
        assert_eq!(orphan.name, "http://a/2");
        assert_eq!(issue_lines(&parsed), [4, 5, 6]);
        assert!(parsed.issues[0].message.contains("over the 1048576-byte limit"));

        let exactly = format!("#EXTM3U\n#EXTINF:-1,{}\nhttp://a/\n", "z".repeat(MAX_LINE_BYTES - 11));
        let parsed = parse(exactly.as_bytes());
        assert!(parsed.issues.is_empty());
        assert_eq!(parsed.entries[0].name.len(), MAX_LINE_BYTES - 11);
    }

    #[test]
    fn tiny_buffers_give_the_same_result() {
        let input = b"\xEF\xBB\xBF#EXTM3U url-tvg=\"http://g/\"\r\n#EXTINF:-1 tvg-id=\"a\",A, B\r\n\
                      #EXTVLCOPT:http-referrer=http://r/\r\nhttp://a/1|User-Agent=x\r\n\r\nhttp://a/2";
        let whole = parse(input);
        for capacity in 1..8 {
            let small = parse_with(io::BufReader::with_capacity(capacity, &input[..]));
            assert_eq!(small.header, whole.header);
            assert_eq!(small.entries, whole.entries);
            assert_eq!(small.issues, whole.issues);
        }
        assert_eq!(whole.entries.len(), 2);
        assert_eq!(whole.entries[1].url, "http://a/2");
    }

    #[test]
    fn too_many_options_are_capped() {
        let mut input = String::from("#EXTM3U\n#EXTINF:-1,A\n");
        for i in 0..MAX_ITEMS + 2 {
            input.push_str(&format!("#EXTVLCOPT:opt{i}=1\n"));
        }
        input.push_str("http://a/1\n");
        let parsed = parse(input.as_bytes());
        assert_eq!(parsed.entries[0].vlc_options.len(), MAX_ITEMS);
        assert_eq!(issue_lines(&parsed), [MAX_ITEMS + 3, MAX_ITEMS + 4]);

        let many = format!("#EXTM3U\n#EXTINF:-1 {},A\nhttp://a/\n", "k ".repeat(10_000));
        let parsed = parse(many.as_bytes());
        assert_eq!(parsed.entries[0].attributes.len(), MAX_ITEMS);
        assert_eq!(parsed.issues.len(), MAX_ISSUES_PER_LINE + 1);
        assert!(parsed.issues[MAX_ISSUES_PER_LINE].message.contains("more problem(s)"));
    }

    #[test]
    fn read_errors_end_the_iteration_and_are_kept() {
        struct Failing(&'static [u8]);
        impl io::Read for Failing {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Err(io::Error::other("connection reset"));
                }
                let n = out.len().min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut parser = Parser::new(io::BufReader::new(Failing(b"#EXTM3U\n#EXTINF:-1,A\nhttp://a/1\n#EXTINF")));
        assert!(parser.header().is_some());
        let items: Vec<_> = parser.by_ref().collect();
        let [Item::Entry(entry), Item::Issue(issue)] = items.as_slice() else { panic!("{items:?}") };
        assert_eq!(entry.name, "A");
        assert_eq!(issue.line, 4);
        assert!(issue.message.contains("connection reset"));
        assert_eq!(parser.read_error().map(ToString::to_string).as_deref(), Some("connection reset"));
        assert!(parser.next().is_none());
    }

    #[test]
    fn attribute_parser() {
        let mut problems = Problems::default();
        let (attrs, rest) = parse_attributes(" a=\"1, 2\" B='x' c=3 d= ,Name, more", true, &mut problems);
        assert_eq!(attrs, pairs(&[("a", "1, 2"), ("b", "x"), ("c", "3"), ("d", "")]));
        assert_eq!(rest, Some("Name, more"));
        let (attrs, rest) = parse_attributes("url-tvg=a.xml,b.xml x=\"open", false, &mut problems);
        assert_eq!(attrs, pairs(&[("url-tvg", "a.xml,b.xml"), ("x", "open")]));
        assert_eq!(rest, None);
        assert_eq!(problems.kept.len(), 1);
        let (attrs, rest) = parse_attributes(",", true, &mut problems);
        assert!(attrs.is_empty());
        assert_eq!(rest, Some(""));
    }

    #[test]
    fn number_parsers() {
        assert_eq!(parse_duration("-1"), Ok(-1.0));
        assert_eq!(parse_duration("12.5"), Ok(12.5));
        assert!(parse_duration("").is_err() && parse_duration("--1").is_err() && parse_duration(".").is_err());
        assert_eq!(parse_hours(" -3.5 "), Ok(-3.5));
        assert_eq!(parse_hours("+24"), Ok(24.0));
        assert!(parse_hours("inf").is_err() && parse_hours("NaN").is_err() && parse_hours("25").is_err());
        assert_eq!(parse_days("14"), Ok(14));
        assert!(parse_days("-1").is_err() && parse_days("1.5").is_err() && parse_days("99999999999").is_err());
    }

    #[test]
    fn header_helpers() {
        assert_eq!(percent_decode("a%20b%2Fc%zz%4"), "a b/c%zz%4");
        assert_eq!(percent_decode("%C3%A9%FF"), "é\u{fffd}");
        assert_eq!(vlc_header("http-referrer=http://r/"), Some(("Referer", "http://r/")));
        assert_eq!(vlc_header("--http-user-agent= UA "), Some(("User-Agent", "UA")));
        assert_eq!(vlc_header("http-user-agent="), None);
        assert_eq!(vlc_header("network-caching=1000"), None);
        let mut problems = Problems::default();
        let list = parse_header_list("A=1&B=x=y& &C", &mut problems);
        assert_eq!(list, pairs(&[("A", "1"), ("B", "x=y")]));
        assert_eq!(problems.kept.len(), 1);
        assert!(check_header("X-Token", "a\tb").is_ok());
        assert!(check_header("X Token", "a").is_err() && check_header("X", "a\u{0}").is_err());
        assert_eq!(strip_tag("#extinf:-1", "#EXTINF"), Some(":-1"));
        assert_eq!(strip_tag("#EXT", "#EXTINF"), None);
        assert_eq!(strip_tag("#EXTé", "#EXTINF"), None);
        assert_eq!(excerpt(&"é".repeat(100)).chars().count(), EXCERPT_CHARS + 1);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn line_count(input: &[u8]) -> usize {
            let newlines = input.iter().filter(|&&b| b == b'\n').count();
            newlines + usize::from(input.last().is_some_and(|&b| b != b'\n'))
        }

        /// Playlist-shaped noise: fragments that reach the parser's branches.
        fn playlist_bytes() -> impl Strategy<Value = Vec<u8>> {
            let fragment = prop_oneof![
                Just(&b"#EXTM3U "[..]),
                Just(&b"#EXTINF:"[..]),
                Just(&b"#EXTINF"[..]),
                Just(&b"-1"[..]),
                Just(&b" tvg-id=\""[..]),
                Just(&b"'"[..]),
                Just(&b"\""[..]),
                Just(&b"="[..]),
                Just(&b","[..]),
                Just(&b";"[..]),
                Just(&b"|"[..]),
                Just(&b"&"[..]),
                Just(&b"%0A"[..]),
                Just(&b"\n"[..]),
                Just(&b"\r\n"[..]),
                Just(&b"\r"[..]),
                Just(&b"#EXTVLCOPT:http-user-agent="[..]),
                Just(&b"#KODIPROP:inputstream.adaptive.stream_headers="[..]),
                Just(&b"#EXTGRP:"[..]),
                Just(&b"catchup-days="[..]),
                Just(&b"tvg-shift="[..]),
                Just(&b"http://a/"[..]),
                Just(&b"\xEF\xBB\xBF"[..]),
                Just(&b"\xFF\xC3"[..]),
                Just(&b" "[..]),
            ];
            let noise = proptest::collection::vec(any::<u8>(), 0..8).prop_map(|bytes| bytes.into_boxed_slice());
            proptest::collection::vec(prop_oneof![fragment.prop_map(|f| f.to_vec().into_boxed_slice()), noise], 0..60)
                .prop_map(|parts| parts.concat())
        }

        fn check(input: &[u8], capacity: usize) -> Vec<Item> {
            let lines = line_count(input);
            let items: Vec<_> = Parser::new(io::BufReader::with_capacity(capacity, input)).collect();
            for item in &items {
                let line = match item {
                    Item::Entry(entry) => {
                        assert!(!entry.name.is_empty() && !entry.url.is_empty());
                        assert!(!entry.url.contains(|c: char| c.is_control() || c == '|'));
                        entry.line
                    }
                    Item::Issue(issue) => issue.line,
                };
                assert!((1..=lines).contains(&line), "line {line} of {lines}: {item:?}");
            }
            items
        }

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
                check(&input, 8192);
            }

            #[test]
            fn playlist_noise_is_independent_of_buffering(input in playlist_bytes(), capacity in 1usize..16) {
                prop_assert_eq!(check(&input, capacity), check(&input, 8192));
            }
        }

        /// What a generated entry should parse back to.
        #[derive(Debug, Clone)]
        struct Generated {
            duration: i16,
            name: String,
            tvg_id: Option<String>,
            tvg_name: Option<String>,
            logo: Option<String>,
            chno: Option<String>,
            groups: Vec<String>,
            extgrp: Option<String>,
            shift_quarters: Option<i8>,
            catchup: Catchup,
            user_agent: Option<String>,
            referrer: Option<String>,
            url: String,
            url_headers: Vec<(String, String)>,
            kodi_props: Vec<(String, String)>,
            quoting: u8,
        }

        fn value() -> impl Strategy<Value = String> {
            "[a-zA-Z0-9][a-zA-Z0-9 ._:/@,;=&|#é'-]{0,20}".prop_map(|s| s.trim_end().to_owned())
        }

        fn word() -> impl Strategy<Value = String> {
            "[a-zA-Z0-9][a-zA-Z0-9 ]{0,10}".prop_map(|s| s.trim_end().to_owned())
        }

        fn generated() -> impl Strategy<Value = Generated> {
            let catchup = (
                proptest::option::of("default|append|shift|flussonic"),
                proptest::option::of(0u32..400),
                proptest::option::of(value()),
            )
                .prop_map(|(mode, days, source)| Catchup { mode, days, source });
            let url_headers = proptest::collection::btree_map("X-[A-Za-z]{1,8}", "[a-zA-Z0-9 ./;()]{0,12}", 0..3)
                .prop_map(|map| -> Vec<(String, String)> {
                    // Header names are case-insensitive: keep one per name.
                    let mut seen = HashSet::new();
                    map.into_iter()
                        .filter(|(name, _)| seen.insert(name.to_ascii_lowercase()))
                        .map(|(name, value)| (name, value.trim().to_owned()))
                        .collect()
                });
            let kodi = proptest::collection::vec(("[a-z.]{1,20}", "[a-zA-Z0-9=:/.]{0,12}"), 0..3);
            (
                (-1i16..7200, "[ -~é€,]{0,30}[!-~é]", proptest::option::of(value()), proptest::option::of(value())),
                (proptest::option::of(value()), proptest::option::of("[0-9]{1,3}(\\.[0-9])?")),
                (
                    proptest::collection::vec(word(), 0..4),
                    proptest::option::of(word()),
                    proptest::option::of(-96i8..=96),
                ),
                (
                    catchup,
                    proptest::option::of("[a-zA-Z][a-zA-Z0-9 /.;()]{0,20}[a-zA-Z]"),
                    proptest::option::of(value()),
                ),
                ("(https?|rtsp|udp|mmsh)://[a-z0-9.]{1,20}(/[a-zA-Z0-9._~%-]{0,20}){0,3}", url_headers, kodi, 0u8..3),
            )
                .prop_map(|(a, b, c, d, e)| Generated {
                    duration: a.0,
                    name: a.1.trim_start().to_owned(),
                    tvg_id: a.2,
                    tvg_name: a.3,
                    logo: b.0,
                    chno: b.1,
                    groups: c.0,
                    extgrp: c.1,
                    shift_quarters: c.2,
                    catchup: d.0,
                    user_agent: d.1,
                    referrer: d.2,
                    url: e.0,
                    url_headers: e.1,
                    kodi_props: e.2,
                    quoting: e.3,
                })
                .prop_filter("a name that survives trimming", |g| !g.name.trim().is_empty())
        }

        /// Writes `key=value` the way `quoting` picks, falling back to a
        /// quote the value does not contain.
        fn attribute(out: &mut String, key: &str, value: &str, quoting: u8) {
            let bare = !value.is_empty() && !value.contains([' ', ',', '"', '\'', '=']);
            let quote = match quoting {
                0 if bare => "",
                1 if !value.contains('\'') => "'",
                _ if value.contains('"') => "'",
                _ => "\"",
            };
            out.push_str(&format!(" {key}={quote}{value}{quote}"));
        }

        fn write(entries: &[Generated]) -> String {
            let mut out = String::from("#EXTM3U url-tvg=\"http://g/1.xml,http://g/2.xml\"\r\n");
            for g in entries {
                let mut line = format!("#EXTINF:{}", g.duration);
                let optional = [
                    ("tvg-id", &g.tvg_id),
                    ("tvg-name", &g.tvg_name),
                    ("tvg-logo", &g.logo),
                    ("tvg-chno", &g.chno),
                    ("catchup", &g.catchup.mode),
                    ("catchup-source", &g.catchup.source),
                    ("user-agent", &g.user_agent),
                ];
                for (key, value) in optional {
                    if let Some(value) = value {
                        attribute(&mut line, key, value, g.quoting);
                    }
                }
                if let Some(days) = g.catchup.days {
                    attribute(&mut line, "catchup-days", &days.to_string(), g.quoting);
                }
                if let Some(quarters) = g.shift_quarters {
                    attribute(&mut line, "tvg-shift", &(f64::from(quarters) / 4.0).to_string(), g.quoting);
                }
                if !g.groups.is_empty() {
                    attribute(&mut line, "group-title", &g.groups.join(";"), g.quoting);
                }
                out.push_str(&format!("{line},{}\n", g.name));
                for (key, value) in &g.kodi_props {
                    out.push_str(&format!("#KODIPROP:{key}={value}\n"));
                }
                if let Some(group) = &g.extgrp {
                    out.push_str(&format!("#EXTGRP:{group}\r\n"));
                }
                if let Some(referrer) = &g.referrer {
                    out.push_str(&format!("#EXTVLCOPT:http-referrer={referrer}\n"));
                }
                out.push_str(&g.url);
                let suffix: Vec<_> = g.url_headers.iter().map(|(k, v)| format!("{k}={v}")).collect();
                if !suffix.is_empty() {
                    out.push('|');
                    out.push_str(&suffix.join("&"));
                }
                out.push('\n');
            }
            out
        }

        proptest! {
            #[test]
            fn generated_entries_round_trip(entries in proptest::collection::vec(generated(), 0..6)) {
                let text = write(&entries);
                let parsed = parse(text.as_bytes());
                prop_assert!(parsed.issues.is_empty(), "{:?}\n{}", parsed.issues, text);
                let header = parsed.header.expect("header");
                prop_assert_eq!(header.guide_urls, strings(&["http://g/1.xml", "http://g/2.xml"]));
                prop_assert_eq!(parsed.entries.len(), entries.len());
                for (g, e) in entries.iter().zip(&parsed.entries) {
                    prop_assert_eq!(e.duration, f64::from(g.duration));
                    prop_assert_eq!(&e.name, g.name.trim());
                    prop_assert_eq!(&e.tvg_id, &g.tvg_id);
                    prop_assert_eq!(&e.tvg_name, &g.tvg_name);
                    prop_assert_eq!(&e.logo, &g.logo);
                    prop_assert_eq!(&e.chno, &g.chno);
                    let mut groups = Vec::new();
                    for group in g.groups.iter().chain(&g.extgrp) {
                        if !groups.contains(group) {
                            groups.push(group.clone());
                        }
                    }
                    prop_assert_eq!(&e.groups, &groups);
                    prop_assert_eq!(e.tvg_shift_hours, g.shift_quarters.map(|q| f64::from(q) / 4.0));
                    prop_assert_eq!(&e.catchup, &g.catchup);
                    let mut headers = g.url_headers.clone();
                    headers.extend(g.referrer.iter().map(|r| ("Referer".to_owned(), r.clone())));
                    headers.extend(g.user_agent.iter().map(|u| ("User-Agent".to_owned(), u.clone())));
                    prop_assert_eq!(&e.headers, &headers);
                    prop_assert_eq!(&e.user_agent, &g.user_agent);
                    prop_assert_eq!(&e.url, &g.url);
                    prop_assert_eq!(&e.kodi_props, &g.kodi_props);
                    prop_assert_eq!(e.vlc_options.len(), usize::from(g.referrer.is_some()));
                }
            }
        }
    }
}
