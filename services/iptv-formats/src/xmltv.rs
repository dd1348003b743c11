//! XMLTV guides, read one `<channel>` or `<programme>` at a time.
//!
//! Guides are often hundreds of megabytes (and gzipped), so [`Parser`] pulls
//! XML events from a reader and holds at most one element of interest in
//! memory; it never builds a tree of the file. It accepts what grabbers
//! actually write rather than what the DTD says: children in any order
//! (`<desc>` before `<title>`), single-quoted attributes, no XML declaration,
//! non-standard elements (`<live/>`, `<lcn>`, `<series-desc>`), unknown
//! entities, missing end tags. Whatever it cannot use becomes an
//! [`Item::Issue`] with a 1-based line number, in document order between
//! the channels and programmes, and parsing goes on.
//!
//! Choices callers rely on:
//! - Times are returned in UTC. A programme whose `start` is missing or
//!   unreadable, or whose `stop` is present but unreadable, is skipped with an
//!   issue; a missing `stop` is `None` (the caller usually takes the next
//!   programme's start). `stop` is not checked against `start`: overlaps and
//!   gaps are the caller's business.
//! - A programme without a non-empty `<title>` is skipped with an issue, since
//!   everything downstream needs a title; so is a programme without `channel`,
//!   and a channel without `id`. Ids are kept exactly as written (they may
//!   contain spaces).
//! - Texts are trimmed, line endings normalised to `\n`, empty ones dropped,
//!   and each is capped at [`MAX_TEXT_BYTES`] (an issue says so).
//! - `season`/`episode` are zero-based, as in `xmltv_ns`. They come from the
//!   first readable `xmltv_ns` number, else from the first readable
//!   `onscreen`/`SxxExx`/`common` one (where `S02E05` means season index 1,
//!   episode index 4). A year used as a season (`2022.36.0`) is kept as given:
//!   it is what the broadcaster calls the season.
//! - An element left open at the end of the file (a truncated download) is
//!   dropped with an issue; one left open when the next `<programme>` or
//!   `<channel>` starts is kept, with an issue, because its children ended.
//!
//! Input as found: UTF-8 with invalid bytes decoded as U+FFFD and a BOM
//! skipped; ISO-8859-1 or windows-1252 when the XML declaration says so
//! (other declared encodings are read as UTF-8, with an issue); LF or CRLF.
//! An issue's line is where the offending markup starts. After malformed
//! markup the reader resumes at the next byte. Memory stays bounded whatever
//! the input: one element at a time, [`MAX_TEXT_BYTES`] per text, 1,024
//! values per element, and a single tag or text run over 16 MiB ends parsing
//! (such a file is not a guide).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, Cursor, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Longest text kept for one element; longer texts are cut (at a character
/// boundary) and reported, so one runaway description cannot exhaust memory.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Longest single XML token (a tag, or a text run between two tags) the
/// reader will buffer. A longer one means the input is not a guide; parsing
/// stops there with an issue instead of buffering the rest of the file.
const MAX_TOKEN_BYTES: u64 = 16 * 1024 * 1024;

/// quick-xml remembers the name of every open element even with end-name
/// checks off, and nothing here uses that memory; past these bounds the
/// reader is replaced by a fresh one, so unclosed or absurdly nested
/// elements cannot make it grow without limit.
const MAX_READER_OPEN_ELEMENTS: usize = 1024;
const MAX_READER_OPEN_NAME_BYTES: usize = 64 * 1024;

/// Most child elements tracked inside a `<channel>`/`<programme>`; deeper
/// ones (say, hundreds of unclosed `<br>`s in a description) are only
/// counted.
const MAX_NESTING: usize = 64;

/// Most values kept per channel or programme (titles, icons, episode numbers,
/// ...); real guides have a dozen.
const MAX_VALUES_PER_ITEM: usize = 1024;

/// How much of an element name is kept to match its end tag.
const KEPT_NAME_BYTES: usize = 64;

/// A text in a stated language (`lang` attribute, kept as written: `en`,
/// `en_NZ`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub lang: Option<String>,
    pub value: String,
}

/// A logo or poster. Duplicates (same `src`) within one element are dropped:
/// several real guides repeat the same icon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icon {
    pub src: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// One `<channel>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// The key programmes refer to, exactly as written.
    pub id: String,
    pub display_names: Vec<Text>,
    pub icons: Vec<Icon>,
    pub urls: Vec<String>,
    /// Line of the `<channel` tag, for messages about it.
    pub line: usize,
}

/// One `<episode-num>` as written, for systems this module does not interpret
/// (`dd_progid`, `thetvdb.com`, ...). `system` defaults to `onscreen`, as in
/// the DTD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodeNum {
    pub system: String,
    pub value: String,
}

/// A `<rating>` or `<star-rating>`: its `<value>` (`G`, `7/10`) and system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    pub system: Option<String>,
    pub value: String,
}

/// One `<programme>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programme {
    /// The `id` of the channel, exactly as written.
    pub channel: String,
    /// In UTC.
    pub start: OffsetDateTime,
    /// In UTC; `None` when the guide leaves it out.
    pub stop: Option<OffsetDateTime>,
    /// Never empty.
    pub titles: Vec<Text>,
    pub sub_titles: Vec<Text>,
    pub descriptions: Vec<Text>,
    pub categories: Vec<Text>,
    /// Every `<episode-num>`, raw.
    pub episode_nums: Vec<EpisodeNum>,
    /// Zero-based season (see the module notes on where it comes from).
    pub season: Option<u32>,
    /// Zero-based episode within the season.
    pub episode: Option<u32>,
    /// The first `onscreen`/`SxxExx`/`common` number, as written, for display.
    pub episode_display: Option<String>,
    pub icons: Vec<Icon>,
    pub ratings: Vec<Rating>,
    pub star_ratings: Vec<Rating>,
    /// Year of production, from the first four digits of `<date>`.
    pub year: Option<u32>,
    pub new: bool,
    pub premiere: bool,
    pub previously_shown: bool,
    /// `<live/>`: not in the DTD but written by several grabbers.
    pub live: bool,
    /// Line of the `<programme` tag, for messages about it.
    pub line: usize,
}

/// Something in the input that was skipped, cut or repaired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// 1-based line where the offending markup starts.
    pub line: usize,
    pub message: String,
}

/// What the parser yields, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Channel(Channel),
    /// Boxed: a programme is several times the size of the other variants.
    Programme(Box<Programme>),
    Issue(Issue),
}

/// Opens an XMLTV file, plain or gzipped (detected from its first bytes, not
/// its name: guides are served as `.xml` that is gzip and the reverse).
pub fn open(path: &Path) -> io::Result<Parser<Box<dyn Read>>> {
    from_reader(File::open(path)?)
}

/// Wraps a reader of a plain or gzipped (possibly multi-member) guide. Only
/// the first two bytes are read here; an error reading them is returned.
pub fn from_reader<'a, R: Read + 'a>(mut reader: R) -> io::Result<Parser<Box<dyn Read + 'a>>> {
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < magic.len() {
        match reader.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let whole = Cursor::new(magic[..got].to_vec()).chain(reader);
    let inner: Box<dyn Read + 'a> =
        if magic[..got] == [0x1f, 0x8b] { Box::new(MultiGzDecoder::new(whole)) } else { Box::new(whole) };
    Ok(Parser::new(inner))
}

/// Streaming XMLTV reader; iterate it for [`Item`]s. It ends at the end of
/// the input, or early, with an issue saying why, on an I/O or decompression
/// error or a tag or text over 16 MiB.
pub struct Parser<R> {
    /// `None` once the input is exhausted or unreadable.
    reader: Option<Reader<LineCounter<R>>>,
    buf: Vec<u8>,
    core: Core,
}

impl<R: Read> Parser<R> {
    /// Reads plain (not gzipped) XML; [`from_reader`] also accepts gzip.
    /// `reader` need not be buffered: the parser buffers it.
    pub fn new(reader: R) -> Self {
        Self { reader: Some(xml_reader(LineCounter::new(reader))), buf: Vec::new(), core: Core::default() }
    }

    fn step(&mut self) {
        let Some(reader) = self.reader.as_mut() else {
            self.core.done = true;
            return;
        };
        let counter = reader.get_mut();
        counter.start_token();
        let line = counter.line();
        let consumed = counter.consumed;
        let mut restart = false;
        match reader.read_event_into(&mut self.buf) {
            Ok(Event::Eof) => self.core.end_of_input(line),
            Ok(event) => self.core.event(event, line),
            Err(quick_xml::Error::Io(e)) => {
                let message = if e.kind() == io::ErrorKind::InvalidData {
                    format!("input stopped being readable: {e}")
                } else {
                    format!("read error: {e}")
                };
                self.core.fatal(line, message);
            }
            Err(e) => {
                self.core.issue(line, format!("malformed XML: {e}"));
                if reader.get_ref().consumed == consumed {
                    // An error that consumes nothing would repeat forever.
                    self.core.fatal(line, "the XML reader cannot get past this point".into());
                } else {
                    // quick-xml gives up after a syntax error (ill-formed
                    // errors it recovers from itself); a fresh reader goes on
                    // from the byte after the bad markup.
                    restart = !matches!(e, quick_xml::Error::IllFormed(_));
                }
            }
        }
        if self.core.done {
            self.reader = None;
        } else if restart
            || self.core.reader_open.len() > MAX_READER_OPEN_ELEMENTS
            || self.core.reader_open_bytes > MAX_READER_OPEN_NAME_BYTES
        {
            // Only reached after a start tag or an error, where a fresh
            // reader resumes cleanly (it is not inside markup).
            self.core.reader_open.clear();
            self.core.reader_open_bytes = 0;
            self.reader = self.reader.take().map(|r| xml_reader(r.into_inner()));
        }
        self.buf.clear();
        if self.buf.capacity() > 1024 * 1024 {
            self.buf = Vec::new();
        }
    }
}

fn xml_reader<R>(counter: LineCounter<R>) -> Reader<LineCounter<R>> {
    let mut reader = Reader::from_reader(counter);
    let config = reader.config_mut();
    // Structure is checked (and repaired) by `Core`, with better messages.
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.trim_text(false);
    reader
}

impl<R: Read> Iterator for Parser<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.core.pending.pop_front() {
                return Some(item);
            }
            if self.core.done {
                return None;
            }
            self.step();
        }
    }
}

/// Buffers the input and counts the newlines quick-xml has consumed, which
/// gives the line of each event (quick-xml only knows byte offsets). It also
/// enforces [`MAX_TOKEN_BYTES`].
struct LineCounter<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
    newlines: usize,
    /// Bytes handed to quick-xml so far.
    consumed: u64,
    token_bytes: u64,
}

impl<R: Read> LineCounter<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            buf: vec![0; 64 * 1024].into_boxed_slice(),
            pos: 0,
            filled: 0,
            newlines: 0,
            consumed: 0,
            token_bytes: 0,
        }
    }

    fn line(&self) -> usize {
        self.newlines + 1
    }

    fn start_token(&mut self) {
        self.token_bytes = 0;
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.filled {
            if self.token_bytes > MAX_TOKEN_BYTES {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a single tag or text is longer than {MAX_TOKEN_BYTES} bytes"),
                ));
            }
            self.filled = loop {
                match self.inner.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, amt: usize) {
        let end = self.pos.saturating_add(amt).min(self.filled);
        self.newlines += self.buf[self.pos..end].iter().filter(|&&b| b == b'\n').count();
        self.consumed += (end - self.pos) as u64;
        self.token_bytes += (end - self.pos) as u64;
        self.pos = end;
    }
}

/// Character set named by the XML declaration. Only the ones XMLTV grabbers
/// are known to write are decoded; anything else is read as UTF-8 (lossily).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Charset {
    #[default]
    Utf8,
    Latin1,
    Windows1252,
}

/// Windows-1252 characters for bytes 0x80..=0x9F (where it differs from
/// Latin-1); undefined bytes keep their C1 code point, as browsers do.
const WINDOWS_1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}', '\u{2C6}', '\u{2030}',
    '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}',
    '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}', '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}',
    '\u{17E}', '\u{178}',
];

impl Charset {
    fn named(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" | "us-ascii" | "ascii" => Some(Self::Utf8),
            "iso-8859-1" | "iso8859-1" | "latin1" | "latin-1" | "l1" => Some(Self::Latin1),
            "windows-1252" | "cp1252" => Some(Self::Windows1252),
            _ => None,
        }
    }

    fn decode(self, bytes: &[u8]) -> Cow<'_, str> {
        if self == Self::Utf8 || bytes.is_ascii() {
            return String::from_utf8_lossy(bytes);
        }
        let char_of = |b: u8| match (self, b) {
            (Self::Windows1252, 0x80..=0x9f) => WINDOWS_1252_HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        };
        Cow::Owned(bytes.iter().map(|&b| char_of(b)).collect())
    }
}

/// What an open child element is for.
#[derive(Debug)]
enum Role {
    /// Its text is collected into [`Open::text`] for this field.
    Capture(Field, Option<String>),
    /// `<rating>`/`<star-rating>`, waiting for its `<value>`.
    Rating { star: bool, system: Option<String>, value: Option<String> },
    /// Anything else (unknown elements, `<credits>`, flags, icons).
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    DisplayName,
    Url,
    Title,
    SubTitle,
    Desc,
    Category,
    EpisodeNum,
    Date,
    RatingValue,
}

#[derive(Debug)]
struct Frame {
    /// The start tag's name (its first [`KEPT_NAME_BYTES`]), to match its end.
    name: Vec<u8>,
    role: Role,
    line: usize,
}

#[derive(Debug)]
enum Draft {
    Channel(Channel),
    /// `problems` are reasons to skip it, found as it was read.
    Programme {
        programme: Box<Programme>,
        problems: Vec<String>,
    },
}

/// The `<channel>` or `<programme>` being read.
#[derive(Debug)]
struct Open {
    draft: Draft,
    frames: Vec<Frame>,
    /// Elements open beyond [`MAX_NESTING`], not tracked by name.
    hidden: usize,
    text: String,
    text_truncated: bool,
    values: usize,
    values_overflowed: bool,
}

impl Open {
    fn element(&self) -> &'static str {
        match self.draft {
            Draft::Channel(_) => "channel",
            Draft::Programme { .. } => "programme",
        }
    }

    fn line(&self) -> usize {
        match &self.draft {
            Draft::Channel(c) => c.line,
            Draft::Programme { programme, .. } => programme.line,
        }
    }

    fn capturing(&self) -> bool {
        self.frames.iter().any(|f| matches!(f.role, Role::Capture(..)))
    }

    fn push_text(&mut self, s: &str) {
        if self.text_truncated {
            return;
        }
        let room = MAX_TEXT_BYTES.saturating_sub(self.text.len());
        if s.len() <= room {
            self.text.push_str(s);
        } else {
            let mut cut = room;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            self.text.push_str(&s[..cut]);
            self.text_truncated = true;
        }
    }

    /// Whether one more value may be kept (see [`MAX_VALUES_PER_ITEM`]).
    fn admit(&mut self, issues: &mut VecDeque<Item>, line: usize) -> bool {
        if self.values < MAX_VALUES_PER_ITEM {
            self.values += 1;
            return true;
        }
        if !self.values_overflowed {
            self.values_overflowed = true;
            let message =
                format!("<{}> has more than {MAX_VALUES_PER_ITEM} values; the rest are ignored", self.element());
            issues.push_back(Item::Issue(Issue { line, message }));
        }
        false
    }
}

/// The parser's state between events, apart from the XML reader.
#[derive(Debug, Default)]
struct Core {
    pending: VecDeque<Item>,
    open: Option<Open>,
    charset: Charset,
    /// Name lengths of the elements quick-xml holds open, and their sum
    /// (see [`MAX_READER_OPEN_ELEMENTS`]).
    reader_open: Vec<usize>,
    reader_open_bytes: usize,
    root_seen: bool,
    done: bool,
}

impl Core {
    fn issue(&mut self, line: usize, message: String) {
        self.pending.push_back(Item::Issue(Issue { line, message }));
    }

    fn fatal(&mut self, line: usize, message: String) {
        self.issue(line, format!("{message}; parsing stopped"));
        self.drop_open("parsing stopped");
        self.done = true;
    }

    fn end_of_input(&mut self, line: usize) {
        if !self.root_seen {
            self.issue(line, "no <tv> element: the input is empty or not XMLTV".into());
        }
        self.drop_open("the file ended");
        self.done = true;
    }

    fn drop_open(&mut self, why: &str) {
        if let Some(open) = self.open.take() {
            let message = format!("{why} inside <{}> (line {}), which was dropped", open.element(), open.line());
            self.issue(open.line(), message);
        }
    }

    fn decode<'a>(&self, bytes: &'a [u8]) -> Cow<'a, str> {
        self.charset.decode(bytes)
    }

    fn event(&mut self, event: Event<'_>, line: usize) {
        match event {
            Event::Start(e) => {
                let length = e.name().as_ref().len();
                self.reader_open.push(length);
                self.reader_open_bytes += length;
                self.start(&e, line, false);
            }
            Event::Empty(e) => self.start(&e, line, true),
            Event::End(e) => {
                if let Some(length) = self.reader_open.pop() {
                    self.reader_open_bytes -= length;
                }
                self.end(e.name().as_ref(), line);
            }
            Event::Text(t) => self.text(&t),
            Event::CData(t) => self.text(&t),
            Event::GeneralRef(r) => self.reference(&r, line),
            Event::Decl(d) => {
                if let Some(Ok(name)) = d.encoding() {
                    let name = String::from_utf8_lossy(&name).into_owned();
                    match Charset::named(&name) {
                        Some(charset) => self.charset = charset,
                        None => {
                            self.issue(line, format!("encoding {:?} is not supported; read as UTF-8", shown(&name)))
                        }
                    }
                }
            }
            Event::Comment(_) | Event::PI(_) | Event::DocType(_) | Event::Eof => {}
        }
    }

    fn text(&mut self, bytes: &[u8]) {
        let charset = self.charset;
        if let Some(open) = self.open.as_mut().filter(|o| o.capturing()) {
            open.push_text(&charset.decode(bytes));
        }
    }

    /// An entity or character reference in text (quick-xml reports them
    /// apart from the text around them).
    fn reference(&mut self, name: &[u8], line: usize) {
        if !self.open.as_ref().is_some_and(Open::capturing) {
            return;
        }
        let name = self.decode(name).into_owned();
        let resolved: Option<Cow<'static, str>> = match name.strip_prefix('#') {
            Some(number) => char_ref(number).map(|c| Cow::Owned(c.to_string())),
            None => quick_xml::escape::resolve_predefined_entity(&name).map(Cow::Borrowed),
        };
        let text = match resolved {
            Some(text) => text.into_owned(),
            None => {
                self.issue(line, format!("unknown reference &{}; kept as written", shown(&name)));
                format!("&{name};")
            }
        };
        if let Some(open) = self.open.as_mut() {
            open.push_text(&text);
        }
    }

    fn start(&mut self, e: &BytesStart<'_>, line: usize, empty: bool) {
        let qname = e.name();
        let local = e.local_name();
        let local = local.as_ref();
        if !self.root_seen {
            self.root_seen = true;
            if local != b"tv" {
                let name = self.decode(&kept_name(qname.as_ref())).into_owned();
                self.issue(line, format!("the root element is <{name}>, not <tv>; reading it anyway"));
            }
        }
        if local == b"channel" || local == b"programme" {
            if let Some(open) = self.open.take() {
                let message = format!(
                    "<{}> has no end tag before the <{}> on line {line}; kept as read so far",
                    open.element(),
                    self.decode(local),
                );
                self.issue(open.line(), message);
                self.finish(open);
            }
            let attrs = self.attributes(e, line);
            let open =
                if local == b"channel" { self.open_channel(attrs, line) } else { self.open_programme(attrs, line) };
            if empty {
                self.finish(open);
            } else {
                self.open = Some(open);
            }
            return;
        }
        let Some(mut open) = self.open.take() else { return };
        if open.frames.len() >= MAX_NESTING {
            open.hidden += usize::from(!empty);
            self.open = Some(open);
            return;
        }
        let role = self.child_role(&mut open, e, local, line);
        let frame = Frame { name: kept_name(qname.as_ref()), role, line };
        if let Role::Capture(..) = frame.role {
            open.text.clear();
            open.text_truncated = false;
        }
        if empty {
            self.close_frame(&mut open, frame);
        } else {
            open.frames.push(frame);
        }
        self.open = Some(open);
    }

    fn open_channel(&mut self, attrs: Vec<(String, String)>, line: usize) -> Open {
        let id = attrs.into_iter().find(|(k, _)| k == "id").map(|(_, v)| v).unwrap_or_default();
        let channel = Channel { id, display_names: Vec::new(), icons: Vec::new(), urls: Vec::new(), line };
        Open::new(Draft::Channel(channel))
    }

    fn open_programme(&mut self, attrs: Vec<(String, String)>, line: usize) -> Open {
        let mut problems = Vec::new();
        let get = |key: &str| attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let channel = get("channel").unwrap_or_default().to_owned();
        if channel.is_empty() {
            problems.push("no channel attribute".to_owned());
        }
        let start = match get("start") {
            None => {
                problems.push("no start attribute".to_owned());
                None
            }
            Some(raw) => {
                let time = parse_time(raw);
                if time.is_none() {
                    problems.push(format!("unreadable start time {:?}", shown(raw)));
                }
                time
            }
        };
        let stop = get("stop").filter(|raw| !raw.trim().is_empty()).and_then(|raw| {
            let time = parse_time(raw);
            if time.is_none() {
                problems.push(format!("unreadable stop time {:?}", shown(raw)));
            }
            time
        });
        let programme = Programme {
            channel,
            start: start.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            stop,
            titles: Vec::new(),
            sub_titles: Vec::new(),
            descriptions: Vec::new(),
            categories: Vec::new(),
            episode_nums: Vec::new(),
            season: None,
            episode: None,
            episode_display: None,
            icons: Vec::new(),
            ratings: Vec::new(),
            star_ratings: Vec::new(),
            year: None,
            new: false,
            premiere: false,
            previously_shown: false,
            live: false,
            line,
        };
        Open::new(Draft::Programme { programme: Box::new(programme), problems })
    }

    /// Decides what a child element is for, and records what its start tag
    /// alone carries (icons, flags).
    fn child_role(&mut self, open: &mut Open, e: &BytesStart<'_>, local: &[u8], line: usize) -> Role {
        let lang = |core: &mut Self| core.attribute(e, "lang", line);
        match open.frames.last().map(|f| &f.role) {
            Some(Role::Skip | Role::Capture(..)) => return Role::Skip,
            Some(Role::Rating { .. }) => {
                return if local == b"value" { Role::Capture(Field::RatingValue, None) } else { Role::Skip };
            }
            None => {}
        }
        if local == b"icon" {
            self.icon(open, e, line);
            return Role::Skip;
        }
        match (&mut open.draft, local) {
            (Draft::Channel(_), b"display-name") => Role::Capture(Field::DisplayName, lang(self)),
            (Draft::Channel(_), b"url") => Role::Capture(Field::Url, None),
            (Draft::Channel(_), _) => Role::Skip,
            (Draft::Programme { .. }, b"title") => Role::Capture(Field::Title, lang(self)),
            (Draft::Programme { .. }, b"sub-title") => Role::Capture(Field::SubTitle, lang(self)),
            (Draft::Programme { .. }, b"desc") => Role::Capture(Field::Desc, lang(self)),
            (Draft::Programme { .. }, b"category") => Role::Capture(Field::Category, lang(self)),
            (Draft::Programme { .. }, b"date") => Role::Capture(Field::Date, None),
            (Draft::Programme { .. }, b"episode-num") => {
                Role::Capture(Field::EpisodeNum, self.attribute(e, "system", line))
            }
            (Draft::Programme { .. }, b"rating" | b"star-rating") => {
                Role::Rating { star: local == b"star-rating", system: self.attribute(e, "system", line), value: None }
            }
            (Draft::Programme { programme, .. }, flag) => {
                match flag {
                    b"new" => programme.new = true,
                    b"premiere" => programme.premiere = true,
                    b"previously-shown" => programme.previously_shown = true,
                    b"live" => programme.live = true,
                    _ => {}
                }
                Role::Skip
            }
        }
    }

    fn icon(&mut self, open: &mut Open, e: &BytesStart<'_>, line: usize) {
        let attrs = self.attributes(e, line);
        let get = |key: &str| attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim());
        let Some(src) = get("src").filter(|s| !s.is_empty()) else {
            self.issue(line, "<icon> without src; ignored".into());
            return;
        };
        let mut size = |key: &str| {
            let raw = get(key)?;
            let value = raw.parse().ok();
            if value.is_none() {
                self.pending.push_back(Item::Issue(Issue {
                    line,
                    message: format!("icon {key} {:?} is not a number", shown(raw)),
                }));
            }
            value
        };
        let icon = Icon { src: src.to_owned(), width: size("width"), height: size("height") };
        if icons_mut(&mut open.draft).iter().any(|i| i.src == icon.src) || !open.admit(&mut self.pending, line) {
            return;
        }
        icons_mut(&mut open.draft).push(icon);
    }

    fn end(&mut self, name: &[u8], line: usize) {
        let Some(mut open) = self.open.take() else { return };
        let name = kept_name(name);
        if let Some(at) = open.frames.iter().rposition(|f| f.name == name) {
            open.hidden = 0;
            self.close_frames_above(&mut open, at + 1, line);
            if let Some(frame) = open.frames.pop() {
                self.close_frame(&mut open, frame);
            }
            self.open = Some(open);
        } else if name == open.element().as_bytes() || name == b"tv" {
            self.close_frames_above(&mut open, 0, line);
            if name == b"tv" {
                self.issue(open.line(), format!("<{}> is not closed before </tv>", open.element()));
            }
            self.finish(open);
        } else if open.hidden > 0 {
            open.hidden -= 1;
            self.open = Some(open);
        } else {
            let message = format!("unexpected </{}> inside <{}>; ignored", self.decode(&name), open.element());
            self.issue(line, message);
            self.open = Some(open);
        }
    }

    /// Closes (with an issue each) the frames an end tag skipped over.
    fn close_frames_above(&mut self, open: &mut Open, keep: usize, line: usize) {
        while open.frames.len() > keep {
            let Some(frame) = open.frames.pop() else { break };
            let message =
                format!("<{}> (line {}) has no end tag before line {line}", self.decode(&frame.name), frame.line);
            self.issue(frame.line, message);
            self.close_frame(open, frame);
        }
    }

    /// Stores what a child element collected.
    fn close_frame(&mut self, open: &mut Open, frame: Frame) {
        let (field, attr) = match frame.role {
            Role::Capture(field, attr) => (field, attr),
            Role::Rating { star, system, value } => {
                let Some(value) = value else {
                    let message = format!("<{}> without <value>; ignored", self.decode(&frame.name));
                    self.issue(frame.line, message);
                    return;
                };
                if open.admit(&mut self.pending, frame.line)
                    && let Draft::Programme { programme, .. } = &mut open.draft
                {
                    let list = if star { &mut programme.star_ratings } else { &mut programme.ratings };
                    list.push(Rating { system, value });
                }
                return;
            }
            Role::Skip => return,
        };
        let mut value = std::mem::take(&mut open.text);
        if std::mem::take(&mut open.text_truncated) {
            let message = format!("text of <{}> is longer than {MAX_TEXT_BYTES} bytes; cut", self.decode(&frame.name));
            self.issue(frame.line, message);
        }
        if value.contains('\r') {
            value = value.replace("\r\n", "\n").replace('\r', "\n");
        }
        let value = value.trim();
        if field == Field::Date {
            if let Draft::Programme { programme, .. } = &mut open.draft {
                programme.year =
                    value.get(..4).filter(|y| y.bytes().all(|b| b.is_ascii_digit())).and_then(|y| y.parse().ok());
                if programme.year.is_none() && !value.is_empty() {
                    self.issue(frame.line, format!("<date> {:?} has no year; ignored", shown(value)));
                }
            }
            return;
        }
        if field == Field::RatingValue {
            if let Some(Frame { role: Role::Rating { value: slot, .. }, .. }) = open.frames.last_mut()
                && slot.is_none()
                && !value.is_empty()
            {
                *slot = Some(value.to_owned());
            }
            return;
        }
        if value.is_empty() || !open.admit(&mut self.pending, frame.line) {
            return;
        }
        let value = value.to_owned();
        let text = |lang: Option<String>| Text { lang, value: value.clone() };
        match &mut open.draft {
            Draft::Channel(c) => match field {
                Field::DisplayName => c.display_names.push(text(attr)),
                Field::Url => c.urls.push(value.clone()),
                _ => {}
            },
            Draft::Programme { programme: p, .. } => match field {
                Field::Title => p.titles.push(text(attr)),
                Field::SubTitle => p.sub_titles.push(text(attr)),
                Field::Desc => p.descriptions.push(text(attr)),
                Field::Category => p.categories.push(text(attr)),
                Field::EpisodeNum => p
                    .episode_nums
                    .push(EpisodeNum { system: attr.unwrap_or_else(|| "onscreen".to_owned()), value: value.clone() }),
                _ => {}
            },
        }
    }

    /// Emits a finished channel or programme, or the issue saying why not.
    fn finish(&mut self, open: Open) {
        match open.draft {
            Draft::Channel(channel) => {
                if channel.id.is_empty() {
                    self.issue(channel.line, "channel skipped: no id attribute".into());
                } else {
                    self.pending.push_back(Item::Channel(channel));
                }
            }
            Draft::Programme { mut programme, mut problems } => {
                if programme.titles.is_empty() {
                    problems.push("no title".to_owned());
                }
                if !problems.is_empty() {
                    self.issue(programme.line, format!("programme skipped: {}", problems.join("; ")));
                    return;
                }
                let (season, episode, display) = resolve_episode(&programme.episode_nums);
                programme.season = season;
                programme.episode = episode;
                programme.episode_display = display;
                self.pending.push_back(Item::Programme(programme));
            }
        }
    }

    /// All attributes of a start tag, decoded and unescaped, keyed by local
    /// name (so `xml:lang` is `lang`). Unquoted values are accepted.
    fn attributes(&mut self, e: &BytesStart<'_>, line: usize) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut attributes = e.html_attributes();
        attributes.with_checks(false);
        for attribute in attributes {
            let attribute = match attribute {
                Ok(a) => a,
                Err(err) => {
                    let name = self.decode(&kept_name(e.name().as_ref())).into_owned();
                    self.issue(line, format!("malformed attributes in <{name}>: {err}"));
                    break;
                }
            };
            let key = self.decode(attribute.key.local_name().as_ref()).into_owned();
            let raw = self.decode(&attribute.value).into_owned();
            let value = match quick_xml::escape::unescape(&raw) {
                Ok(value) => value.into_owned(),
                Err(err) => {
                    self.issue(line, format!("attribute {key}: {err}; kept as written"));
                    raw
                }
            };
            out.push((key, value));
        }
        out
    }

    fn attribute(&mut self, e: &BytesStart<'_>, key: &str, line: usize) -> Option<String> {
        self.attributes(e, line).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl Open {
    fn new(draft: Draft) -> Self {
        Self {
            draft,
            frames: Vec::new(),
            hidden: 0,
            text: String::new(),
            text_truncated: false,
            values: 0,
            values_overflowed: false,
        }
    }
}

fn icons_mut(draft: &mut Draft) -> &mut Vec<Icon> {
    match draft {
        Draft::Channel(c) => &mut c.icons,
        Draft::Programme { programme, .. } => &mut programme.icons,
    }
}

/// At most 64 characters of `s`, for messages about input that may be huge.
fn shown(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(64) {
        Some((at, _)) => Cow::Owned(format!("{}…", &s[..at])),
        None => Cow::Borrowed(s),
    }
}

fn kept_name(name: &[u8]) -> Vec<u8> {
    name[..name.len().min(KEPT_NAME_BYTES)].to_vec()
}

/// `&#NNN;` / `&#xHHH;` without the `&#` and `;`.
fn char_ref(number: &str) -> Option<char> {
    let code = match number.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => number.parse().ok()?,
    };
    char::from_u32(code).filter(|&c| c != '\0')
}

/// Systems whose values are for people to read (`S02E05`, `Season 2 Episode 5`).
fn is_display_system(system: &str) -> bool {
    ["onscreen", "SxxExx", "common"].iter().any(|s| system.eq_ignore_ascii_case(s))
}

/// Zero-based (season, episode) and the display form, from all the numbers of
/// a programme.
fn resolve_episode(nums: &[EpisodeNum]) -> (Option<u32>, Option<u32>, Option<String>) {
    let display = nums.iter().find(|n| is_display_system(&n.system)).map(|n| n.value.clone());
    let known = |(s, e): &(Option<u32>, Option<u32>)| s.is_some() || e.is_some();
    let from_ns =
        nums.iter().filter(|n| n.system.eq_ignore_ascii_case("xmltv_ns")).map(|n| parse_xmltv_ns(&n.value)).find(known);
    let (season, episode) = from_ns
        .or_else(|| nums.iter().filter(|n| is_display_system(&n.system)).map(|n| parse_onscreen(&n.value)).find(known))
        .unwrap_or((None, None));
    (season, episode, display)
}

/// Reads an XMLTV time: `YYYYMMDDhhmmss` or any leading part of it down to
/// `YYYY` (missing fields are the start of the period), then optionally
/// (with or without a space) `+HHMM`/`-HHMM`, also accepted as `+HH:MM` or
/// `+HH`, or `Z`/`UTC`/`GMT`. No offset means UTC. The result is in UTC;
/// `None` if anything is out of range or left over.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if !matches!(digits, 4 | 6 | 8 | 10 | 12 | 14) {
        return None;
    }
    let (stamp, zone) = s.split_at(digits);
    let offset = parse_offset(zone.trim_start())?;
    let field = |at: usize, default: u8| match stamp.get(at..at + 2) {
        Some(two) => two.parse::<u8>().ok(),
        None => Some(default),
    };
    let year: i32 = stamp.get(..4)?.parse().ok()?;
    let month = Month::try_from(field(4, 1)?).ok()?;
    let date = Date::from_calendar_date(year, month, field(6, 1)?).ok()?;
    let time = Time::from_hms(field(8, 0)?, field(10, 0)?, field(12, 0)?).ok()?;
    PrimitiveDateTime::new(date, time).assume_offset(offset).checked_to_offset(UtcOffset::UTC)
}

fn parse_offset(zone: &str) -> Option<UtcOffset> {
    if zone.is_empty() || ["Z", "UTC", "GMT"].iter().any(|z| zone.eq_ignore_ascii_case(z)) {
        return Some(UtcOffset::UTC);
    }
    let (sign, body) = match (zone.strip_prefix('+'), zone.strip_prefix('-')) {
        (Some(body), _) => (1i8, body),
        (_, Some(body)) => (-1i8, body),
        _ => return None,
    };
    if !body.is_ascii() {
        return None;
    }
    let (hours, minutes) = match body.len() {
        2 => (body, "00"),
        4 => body.split_at(2),
        5 if body.as_bytes().get(2) == Some(&b':') => (&body[..2], &body[3..]),
        _ => return None,
    };
    if !hours.bytes().chain(minutes.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i8 = hours.parse().ok()?;
    let minutes: i8 = minutes.parse().ok()?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}

/// Reads an `xmltv_ns` episode number, `season.episode.part`, each zero-based
/// and optionally `/total`, any of them empty, spaces allowed (`1.4.`,
/// ` . 12 . 0/1`). Returns (season, episode); a part that is not a number is
/// `None`, and a value with more than three parts is not `xmltv_ns` at all.
/// A year used as a season (`2024.5.`) is returned as is.
pub fn parse_xmltv_ns(s: &str) -> (Option<u32>, Option<u32>) {
    let mut parts = s.split('.');
    let season = parts.next();
    let episode = parts.next();
    let _part = parts.next();
    if parts.next().is_some() {
        return (None, None);
    }
    let number = |part: Option<&str>| {
        let before_total = part?.split('/').next()?.trim();
        before_total.bytes().all(|b| b.is_ascii_digit()).then(|| before_total.parse::<u32>().ok()).flatten()
    };
    (number(season), number(episode))
}

/// Reads a number written for people — `S02E05`, `S2 E5`, `E5`, `Ep. 5`,
/// `Season 2 Episode 5`, `2x05` — into zero-based (season, episode). Season
/// or episode 0 (as in `S00E01` for specials) has no zero-based form and
/// gives `None` for that part.
pub fn parse_onscreen(s: &str) -> (Option<u32>, Option<u32>) {
    let lower = s.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut season = None;
    let mut episode = None;
    let digits_at = |mut i: usize| {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let n = lower.get(start..i).and_then(|d| d.parse::<u32>().ok());
        (n, i)
    };
    let mut i = 0;
    while i < b.len() {
        let after_letter = i > 0 && b[i - 1].is_ascii_alphabetic();
        if after_letter {
            i += 1;
            continue;
        }
        let rest = &b[i..];
        let keyword =
            [("season", true), ("series", true), ("episode", false), ("ep", false), ("s", true), ("e", false)]
                .into_iter()
                .find(|(word, _)| rest.starts_with(word.as_bytes()));
        if let Some((word, is_season)) = keyword {
            let mut j = i + word.len();
            while b.get(j).is_some_and(|c| matches!(c, b' ' | b'.' | b':' | b'#' | b'_')) {
                j += 1;
            }
            let (n, end) = digits_at(j);
            if let Some(n) = n {
                let slot = if is_season { &mut season } else { &mut episode };
                if slot.is_none() {
                    *slot = Some(n.checked_sub(1));
                }
                i = end;
                continue;
            }
        } else if rest.first().is_some_and(u8::is_ascii_digit) && !(i > 0 && b[i - 1].is_ascii_digit()) {
            let (s_num, end) = digits_at(i);
            if b.get(end) == Some(&b'x') {
                let (e_num, end2) = digits_at(end + 1);
                if let (Some(s_num), Some(e_num)) = (s_num, e_num) {
                    season.get_or_insert(s_num.checked_sub(1));
                    episode.get_or_insert(e_num.checked_sub(1));
                    i = end2;
                    continue;
                }
            }
            i = end;
            continue;
        }
        i += 1;
    }
    (season.flatten(), episode.flatten())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn utc(year: i32, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> OffsetDateTime {
        let date = Date::from_calendar_date(year, Month::try_from(month).expect("month"), day).expect("date");
        PrimitiveDateTime::new(date, Time::from_hms(hour, minute, second).expect("time")).assume_utc()
    }

    fn parse(xml: &str) -> Vec<Item> {
        Parser::new(xml.as_bytes()).collect()
    }

    fn programmes(items: &[Item]) -> Vec<&Programme> {
        items.iter().filter_map(|i| if let Item::Programme(p) = i { Some(&**p) } else { None }).collect()
    }

    fn channels(items: &[Item]) -> Vec<&Channel> {
        items.iter().filter_map(|i| if let Item::Channel(c) = i { Some(c) } else { None }).collect()
    }

    fn issues(items: &[Item]) -> Vec<&Issue> {
        items.iter().filter_map(|i| if let Item::Issue(x) = i { Some(x) } else { None }).collect()
    }

    fn text(lang: Option<&str>, value: &str) -> Text {
        Text { lang: lang.map(str::to_owned), value: value.to_owned() }
    }

    #[test]
    fn times_in_every_partial_form() {
        assert_eq!(parse_time("20250208013045"), Some(utc(2025, 2, 8, 1, 30, 45)));
        assert_eq!(parse_time("202502080130"), Some(utc(2025, 2, 8, 1, 30, 0)));
        assert_eq!(parse_time("2025020801"), Some(utc(2025, 2, 8, 1, 0, 0)));
        assert_eq!(parse_time("20250208"), Some(utc(2025, 2, 8, 0, 0, 0)));
        assert_eq!(parse_time("202502"), Some(utc(2025, 2, 1, 0, 0, 0)));
        assert_eq!(parse_time("2025"), Some(utc(2025, 1, 1, 0, 0, 0)));
        assert_eq!(parse_time("  20250208013045  "), Some(utc(2025, 2, 8, 1, 30, 45)));
    }

    #[test]
    fn times_with_offsets_end_in_utc() {
        let local = "20250216080000";
        for (zone, utc) in [
            (" -0500", utc(2025, 2, 16, 13, 0, 0)),
            ("-0500", utc(2025, 2, 16, 13, 0, 0)),
            (" -0330", utc(2025, 2, 16, 11, 30, 0)),
            (" +0000", utc(2025, 2, 16, 8, 0, 0)),
            (" +0100", utc(2025, 2, 16, 7, 0, 0)),
            ("+0100", utc(2025, 2, 16, 7, 0, 0)),
            (" +0300", utc(2025, 2, 16, 5, 0, 0)),
            ("+0300", utc(2025, 2, 16, 5, 0, 0)),
            (" +0545", utc(2025, 2, 16, 2, 15, 0)),
            (" +05:45", utc(2025, 2, 16, 2, 15, 0)),
            (" +02", utc(2025, 2, 16, 6, 0, 0)),
            ("+01", utc(2025, 2, 16, 7, 0, 0)),
            (" Z", utc(2025, 2, 16, 8, 0, 0)),
            (" UTC", utc(2025, 2, 16, 8, 0, 0)),
            ("", utc(2025, 2, 16, 8, 0, 0)),
        ] {
            let parsed = parse_time(&format!("{local}{zone}"));
            assert_eq!(parsed, Some(utc), "{local}{zone}");
            assert_eq!(parsed.map(OffsetDateTime::offset), Some(UtcOffset::UTC));
        }
        // Crossing midnight and a year boundary.
        assert_eq!(parse_time("20250101003000 +0300"), Some(utc(2024, 12, 31, 21, 30, 0)));
        assert_eq!(parse_time("20241231230000 -0500"), Some(utc(2025, 1, 1, 4, 0, 0)));
    }

    #[test]
    fn invalid_times() {
        for bad in [
            "",
            "2025020",
            "202502080",
            "2025020801304",
            "202502080130451",
            "20251308000000",
            "20250230000000",
            "20250208250000",
            "20250208236000",
            "20250208235960",
            "20250208000000 +2400",
            "20250208000000 +0160",
            "20250208000000 0100",
            "20250208000000 +01000",
            "20250208000000 EST",
            "20250208000000 +0100 x",
            "2025-02-08 00:00:00",
            "abc",
            "２０２５",
            "20250208000000 +０１００",
        ] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
        assert_eq!(parse_time("20250208000000 +1"), None);
    }

    #[test]
    fn xmltv_ns_forms() {
        assert_eq!(parse_xmltv_ns("1.4."), (Some(1), Some(4)));
        assert_eq!(parse_xmltv_ns("1.4.0/1"), (Some(1), Some(4)));
        assert_eq!(parse_xmltv_ns(" . 12 . 0/1"), (None, Some(12)));
        assert_eq!(parse_xmltv_ns("2024.5."), (Some(2024), Some(5)));
        assert_eq!(parse_xmltv_ns("2022.36.0"), (Some(2022), Some(36)));
        assert_eq!(parse_xmltv_ns("0/3.2/10.0/1"), (Some(0), Some(2)));
        assert_eq!(parse_xmltv_ns("3..."), (None, None));
        assert_eq!(parse_xmltv_ns("..."), (None, None));
        assert_eq!(parse_xmltv_ns(".."), (None, None));
        assert_eq!(parse_xmltv_ns("1"), (Some(1), None));
        assert_eq!(parse_xmltv_ns("1.2"), (Some(1), Some(2)));
        assert_eq!(parse_xmltv_ns("x.2."), (None, Some(2)));
        assert_eq!(parse_xmltv_ns("-1.+2."), (None, None));
        assert_eq!(parse_xmltv_ns("99999999999.1."), (None, Some(1)));
        assert_eq!(parse_xmltv_ns(""), (None, None));
    }

    #[test]
    fn onscreen_forms() {
        assert_eq!(parse_onscreen("S02E05"), (Some(1), Some(4)));
        assert_eq!(parse_onscreen("s2e5"), (Some(1), Some(4)));
        assert_eq!(parse_onscreen("S2 E5"), (Some(1), Some(4)));
        assert_eq!(parse_onscreen("E5"), (None, Some(4)));
        assert_eq!(parse_onscreen("Ep. 12"), (None, Some(11)));
        assert_eq!(parse_onscreen("Season 2 Episode 5"), (Some(1), Some(4)));
        assert_eq!(parse_onscreen("Series 3, Episode 10"), (Some(2), Some(9)));
        assert_eq!(parse_onscreen("2x05"), (Some(1), Some(4)));
        assert_eq!(parse_onscreen("S01E02-E03"), (Some(0), Some(1)));
        assert_eq!(parse_onscreen("S00E01"), (None, Some(0)));
        assert_eq!(parse_onscreen("Special"), (None, None));
        assert_eq!(parse_onscreen("Part 3"), (None, None));
        assert_eq!(parse_onscreen(""), (None, None));
        assert_eq!(parse_onscreen("Эпизод 3"), (None, None));
    }

    #[test]
    fn episode_fields_prefer_xmltv_ns_and_fall_back_to_onscreen() {
        let xml = r#"<tv>
<programme start="20250101000000" channel="a"><title>T</title>
<episode-num system="onscreen">S09E09</episode-num><episode-num system="xmltv_ns">1.4.</episode-num></programme>
<programme start="20250101000000" channel="a"><title>T</title><episode-num system="SxxExx">S02E05</episode-num>
<episode-num system="dd_progid">EP0123</episode-num></programme>
<programme start="20250101000000" channel="a"><title>T</title><episode-num>Season 3 Episode 1</episode-num></programme>
<programme start="20250101000000" channel="a"><title>T</title><episode-num system="xmltv_ns"> . . </episode-num>
<episode-num system="common">E7</episode-num></programme>
</tv>"#;
        let items = parse(xml);
        assert!(issues(&items).is_empty(), "{items:?}");
        let p = programmes(&items);
        assert_eq!((p[0].season, p[0].episode, p[0].episode_display.as_deref()), (Some(1), Some(4), Some("S09E09")));
        assert_eq!((p[1].season, p[1].episode, p[1].episode_display.as_deref()), (Some(1), Some(4), Some("S02E05")));
        assert_eq!(
            p[1].episode_nums,
            vec![
                EpisodeNum { system: "SxxExx".into(), value: "S02E05".into() },
                EpisodeNum { system: "dd_progid".into(), value: "EP0123".into() }
            ]
        );
        assert_eq!((p[2].season, p[2].episode), (Some(2), Some(0)));
        assert_eq!(p[2].episode_nums[0].system, "onscreen");
        assert_eq!((p[3].season, p[3].episode, p[3].episode_display.as_deref()), (None, Some(6), Some("E7")));
    }

    #[test]
    fn children_in_any_order_and_all_fields() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE tv SYSTEM "xmltv.dtd">
<tv>
<programme start="20250922014500 +0300" stop="20250922030000 +0300" channel="12-omsk">
  <desc lang="ru">Описание</desc>
  <category lang="en">News</category>
  <rating system="MPAA"><value>PG</value></rating>
  <star-rating><value>7/10</value></star-rating>
  <icon src="http://x/p.png" width="100" height="150"/>
  <date>20170512</date>
  <new/><premiere>First</premiere><previously-shown start="20200101"/><live/>
  <credits><director>D</director><actor role="X">A</actor></credits>
  <sub-title lang="ru">Серия</sub-title>
  <title lang="ru">Заголовок</title>
  <title lang="en">Title</title>
</programme>
</tv>"#;
        let items = parse(xml);
        assert!(issues(&items).is_empty(), "{items:?}");
        let p = programmes(&items)[0];
        assert_eq!(p.channel, "12-omsk");
        assert_eq!(p.start, utc(2025, 9, 21, 22, 45, 0));
        assert_eq!(p.stop, Some(utc(2025, 9, 22, 0, 0, 0)));
        assert_eq!(p.titles, vec![text(Some("ru"), "Заголовок"), text(Some("en"), "Title")]);
        assert_eq!(p.sub_titles, vec![text(Some("ru"), "Серия")]);
        assert_eq!(p.descriptions, vec![text(Some("ru"), "Описание")]);
        assert_eq!(p.categories, vec![text(Some("en"), "News")]);
        assert_eq!(p.ratings, vec![Rating { system: Some("MPAA".into()), value: "PG".into() }]);
        assert_eq!(p.star_ratings, vec![Rating { system: None, value: "7/10".into() }]);
        assert_eq!(p.icons, vec![Icon { src: "http://x/p.png".into(), width: Some(100), height: Some(150) }]);
        assert_eq!(p.year, Some(2017));
        assert!(p.new && p.premiere && p.previously_shown && p.live);
        assert_eq!(p.line, 4);
    }

    #[test]
    fn single_quotes_no_declaration_and_spaces_in_ids() {
        let xml = "<tv generator-info-name='MakroDigital'>\n  <channel id='Canal 17 HD'>\n    <display-name>Service 1</display-name>\n  </channel>\n  <programme channel='Canal 17 HD' start='20250216080000 -0500' stop='20250216120000 -0500'>\n    <title lang='es'>Programación Infantil</title>\n  </programme>\n</tv>\n";
        let items = parse(xml);
        assert!(issues(&items).is_empty(), "{items:?}");
        assert_eq!(channels(&items)[0].id, "Canal 17 HD");
        assert_eq!(channels(&items)[0].line, 2);
        let p = programmes(&items)[0];
        assert_eq!(p.channel, "Canal 17 HD");
        assert_eq!(p.start, utc(2025, 2, 16, 13, 0, 0));
        assert_eq!(p.titles, vec![text(Some("es"), "Programación Infantil")]);
        assert_eq!(p.line, 5);
    }

    #[test]
    fn channels_with_several_languages_duplicate_icons_and_urls() {
        let xml = r#"<tv><channel id="AlJazeera.Arabic.net">
    <display-name lang="en">AlJazeera Arabic</display-name>
    <display-name lang="ar">الجزيرة</display-name>
    <display-name>AJA</display-name>
    <icon src="http://a/logo.png" />
    <icon src="http://a/logo.png" />
    <icon src="http://a/other.png" width="x"/>
    <icon/>
    <url>http://www.aljazeera.net</url>
    <lcn>1</lcn><desc lang="en">ignored</desc>
  </channel></tv>"#;
        let items = parse(xml);
        let c = channels(&items)[0];
        assert_eq!(
            c.display_names,
            vec![text(Some("en"), "AlJazeera Arabic"), text(Some("ar"), "الجزيرة"), text(None, "AJA")]
        );
        assert_eq!(
            c.icons,
            vec![
                Icon { src: "http://a/logo.png".into(), width: None, height: None },
                Icon { src: "http://a/other.png".into(), width: None, height: None }
            ]
        );
        assert_eq!(c.urls, vec!["http://www.aljazeera.net".to_owned()]);
        let lines: Vec<_> = issues(&items).iter().map(|i| i.line).collect();
        assert_eq!(lines, vec![7, 8], "{items:?}");
    }

    #[test]
    fn nested_unknown_elements_are_skipped() {
        let xml = r#"<tv><programme start="20250101000000" channel="a">
<video><present>yes</present><quality><title>not a title</title></quality></video>
<subtitles type="teletext"><language lang="en_NZ">English (NZ)</language></subtitles>
<title>Real <b>bold <i>nested</i></b> title</title>
<rating><value>G</value><icon src="r.png"/><extra><value>no</value></extra></rating>
</programme></tv>"#;
        let items = parse(xml);
        assert!(issues(&items).is_empty(), "{items:?}");
        let p = programmes(&items)[0];
        assert_eq!(p.titles, vec![text(None, "Real bold nested title")]);
        assert_eq!(p.ratings, vec![Rating { system: None, value: "G".into() }]);
        assert!(p.icons.is_empty());
    }

    #[test]
    fn entities_and_cdata_are_unescaped() {
        let xml = r#"<tv><channel id="a&amp;b"><display-name>A &amp; B &lt;&gt; &quot;&apos; &#233;&#x4E2D;</display-name></channel>
<programme start="20250101000000" channel="a&amp;b"><title><![CDATA[Tom & Jerry <live>]]></title>
<desc>DON&apos;T &nbsp; stop</desc><sub-title>fish & chips</sub-title></programme></tv>"#;
        let items = parse(xml);
        let c = channels(&items)[0];
        assert_eq!(c.id, "a&b");
        assert_eq!(c.display_names, vec![text(None, "A & B <> \"' é中")]);
        let p = programmes(&items)[0];
        assert_eq!(p.channel, "a&b");
        assert_eq!(p.titles, vec![text(None, "Tom & Jerry <live>")]);
        assert_eq!(p.descriptions, vec![text(None, "DON'T &nbsp; stop")]);
        assert_eq!(p.sub_titles, vec![text(None, "fish & chips")]);
        let found: Vec<_> = issues(&items).iter().map(|i| (i.line, i.message.as_str())).collect();
        assert_eq!(found, vec![(3, "unknown reference &nbsp; kept as written")]);
    }

    #[test]
    fn gzip_input_is_detected() {
        let xml = r#"<tv><channel id="a"><display-name>A</display-name></channel>
<programme start="20250101000000" channel="a"><title>T</title></programme></tv>"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(xml.as_bytes()).expect("compress");
        let gz = gz.finish().expect("compress");
        let items: Vec<Item> = from_reader(gz.as_slice()).expect("sniff").collect();
        assert_eq!((channels(&items).len(), programmes(&items).len(), issues(&items).len()), (1, 1, 0));
        assert_eq!(programmes(&items)[0].line, 2);

        // Two concatenated members (as `cat a.gz b.gz` makes).
        let (head, tail) = xml.split_at(40);
        let mut both = Vec::new();
        for part in [head, tail] {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(part.as_bytes()).expect("compress");
            both.extend(gz.finish().expect("compress"));
        }
        let items: Vec<Item> = from_reader(both.as_slice()).expect("sniff").collect();
        assert_eq!((channels(&items).len(), programmes(&items).len(), issues(&items).len()), (1, 1, 0));

        // Plain input through the sniffing path, and a corrupt gzip stream.
        let items: Vec<Item> = from_reader(xml.as_bytes()).expect("sniff").collect();
        assert_eq!(programmes(&items).len(), 1);
        let mut corrupt = gz.clone();
        corrupt.truncate(30);
        let items: Vec<Item> = from_reader(corrupt.as_slice()).expect("sniff").collect();
        assert!(programmes(&items).is_empty());
        assert!(issues(&items).iter().any(|i| i.message.contains("parsing stopped")), "{items:?}");
    }

    #[test]
    fn malformed_xml_is_reported_on_the_right_line() {
        let xml = "<tv>\n<programme start=\"20250101000000\" channel=\"a\">\n<title>One</title>\n</programme>\n\
<programme start=\"20250101010000\" channel=\"a\">\n<title>Two\n</desc>\n</programme>\n\
<programme start=\"bad\" channel=\"a\"><title>Three</title></programme>\n\
<programme start=\"20250101020000\" channel=\"a\"><desc>no title</desc></programme>\n\
<programme start=\"20250101030000\" channel=\"a\">\n<title>Four</title>\n<!x>\n</programme>\n\
<programme start=\"20250101040000\" channel=\"a\"><title>Five</title>\n\
<channel id=\"b\"><display-name>B</display-name></channel>\n\
<programme start=\"20250101050000\" channel=\"a\"><title>Six</title>\n\n<!-- never closed\n";
        let items = parse(xml);
        let titles: Vec<_> = programmes(&items).iter().map(|p| p.titles[0].value.as_str()).collect();
        assert_eq!(titles, vec!["One", "Two", "Four", "Five"], "{items:#?}");
        let found: Vec<_> = issues(&items).iter().map(|i| i.line).collect();
        // 7: </desc> inside <title>; 6: <title> closed by </programme>;
        // 9: bad start; 10: no title; 13: <!x>; 15: <programme> cut by <channel>;
        // 19: unclosed comment; 17: programme dropped at the end.
        assert_eq!(found, vec![7, 6, 9, 10, 13, 15, 19, 17], "{items:#?}");
        assert_eq!(programmes(&items)[1].titles[0].value, "Two");
        assert_eq!(channels(&items)[0].line, 16);
    }

    #[test]
    fn a_programme_spanning_many_lines() {
        let mut xml = String::from("<tv>\r\n\r\n<programme\r\n  start=\"20250101000000\"\r\n  channel=\"a\"\r\n>\r\n");
        xml.push_str("<desc>\r\n");
        for i in 0..50 {
            xml.push_str(&format!("line {i}\r\n"));
        }
        xml.push_str(
            "</desc>\r\n<title>\r\n  T\r\n</title>\r\n</programme>\r\n<programme start=\"x\" channel=\"a\"/>\r\n</tv>",
        );
        let items = parse(&xml);
        let p = programmes(&items)[0];
        assert_eq!(p.line, 3);
        assert_eq!(p.titles, vec![text(None, "T")]);
        let desc = &p.descriptions[0].value;
        assert!(desc.starts_with("line 0\nline 1\n") && desc.ends_with("line 49"), "{desc:?}");
        let found: Vec<_> = issues(&items).iter().map(|i| i.line).collect();
        assert_eq!(found, vec![63]);
    }

    #[test]
    fn long_text_is_cut_with_an_issue() {
        let long = "é".repeat(MAX_TEXT_BYTES);
        let xml = format!(
            "<tv>\n<programme start=\"2025\" channel=\"a\">\n<title>T</title><desc>{long}</desc></programme></tv>"
        );
        let items = parse(&xml);
        let p = programmes(&items)[0];
        assert_eq!(p.descriptions[0].value.len(), MAX_TEXT_BYTES);
        let found: Vec<_> = issues(&items).iter().map(|i| i.line).collect();
        assert_eq!(found, vec![3]);
    }

    #[test]
    fn bom_latin1_and_bad_utf8() {
        let mut xml =
            b"\xEF\xBB\xBF<tv><programme start=\"2025\" channel=\"a\"><title>caf\xE9 \xFF</title></programme></tv>"
                .to_vec();
        let items: Vec<Item> = Parser::new(xml.as_slice()).collect();
        assert_eq!(programmes(&items)[0].titles[0].value, "caf\u{FFFD} \u{FFFD}");
        assert!(issues(&items).is_empty());
        let decl = b"<?xml version='1.0' encoding='ISO-8859-1'?>\n".to_vec();
        xml.splice(0..3, decl.clone());
        let items: Vec<Item> = Parser::new(xml.as_slice()).collect();
        assert_eq!(programmes(&items)[0].titles[0].value, "café ÿ");
        let cp1252 = b"<?xml version='1.0' encoding='windows-1252'?><tv><channel id='a'><display-name>\x93Hi\x94 \x80</display-name></channel></tv>";
        let items: Vec<Item> = Parser::new(&cp1252[..]).collect();
        assert_eq!(channels(&items)[0].display_names[0].value, "\u{201C}Hi\u{201D} \u{20AC}");
    }

    #[test]
    fn not_a_guide() {
        let items = parse("");
        assert_eq!(issues(&items).len(), 1);
        let items = parse("<html><body>502 Bad Gateway</body></html>");
        assert_eq!(issues(&items).len(), 1);
        assert!(issues(&items)[0].message.contains("<html>"));
        let items = parse("<tv><programme channel='a'><title>T</title></programme><channel/></tv>");
        let messages: Vec<_> = issues(&items).iter().map(|i| i.message.as_str()).collect();
        assert_eq!(messages, vec!["programme skipped: no start attribute", "channel skipped: no id attribute"]);
    }

    #[test]
    fn deep_nesting_is_bounded_and_survived() {
        // Outside any programme: only quick-xml's memory is at stake.
        let xml = "<tv>".to_owned()
            + &"<a>".repeat(50 * MAX_READER_OPEN_ELEMENTS)
            + "\n<programme start='2025' channel='a'><title>T</title></programme>";
        let items = parse(&xml);
        assert!(issues(&items).is_empty(), "{:?}", issues(&items));
        assert_eq!(programmes(&items)[0].line, 2);

        // Inside one: hundreds of unclosed <br>s in a description.
        let xml = "<tv><programme start='2025' channel='a'><desc>x".to_owned()
            + &"<br>y".repeat(500)
            + "</desc><title>T</title><br></programme></tv>";
        let items = parse(&xml);
        let p = programmes(&items)[0];
        assert_eq!((p.titles[0].value.as_str(), p.descriptions[0].value.len()), ("T", 501));
        // One issue per tracked <br> (the rest are only counted), and the last <br>.
        assert_eq!(issues(&items).len(), MAX_NESTING - 1 + 1, "{:?}", issues(&items));
    }

    /// A guide that never ends: the parser must yield as it reads.
    struct EndlessGuide {
        next: u64,
        chunk: Vec<u8>,
        pos: usize,
    }

    impl Read for EndlessGuide {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.pos == self.chunk.len() {
                self.chunk = if self.next == 0 {
                    b"<tv>\n".to_vec()
                } else {
                    format!("<programme start='2025' channel='a'><title>{}</title></programme>\n", self.next)
                        .into_bytes()
                };
                self.next += 1;
                self.pos = 0;
            }
            let n = out.len().min(self.chunk.len() - self.pos);
            out[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn an_endless_guide_streams() {
        let guide = EndlessGuide { next: 0, chunk: Vec::new(), pos: 0 };
        let first: Vec<Item> = Parser::new(guide).take(10_000).collect();
        let p = programmes(&first);
        assert_eq!(p.len(), 10_000);
        assert_eq!((p[9_999].line, p[9_999].titles[0].value.as_str()), (10_001, "10000"));
    }

    #[test]
    fn an_endless_text_stops_instead_of_buffering() {
        let endless = Cursor::new("<tv>\n<programme start='2025' channel='a'><desc>").chain(io::repeat(b'a'));
        let items: Vec<Item> = Parser::new(endless).collect();
        let messages: Vec<_> = issues(&items).iter().map(|i| (i.line, i.message.as_str())).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].1.contains("longer than") && messages[0].1.ends_with("parsing stopped"));
        assert_eq!(messages[1], (2, "parsing stopped inside <programme> (line 2), which was dropped"));
    }

    #[test]
    fn too_many_values_are_capped() {
        let xml = format!(
            "<tv><programme start='2025' channel='a'>{}</programme></tv>",
            "<category>c</category>".repeat(MAX_VALUES_PER_ITEM + 10) + "<title>T</title>"
        );
        let items = parse(&xml);
        // The title came after the cap, so the programme has none.
        assert!(programmes(&items).is_empty());
        assert_eq!(issues(&items).len(), 2);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn escape(s: &str) -> String {
            s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
        }

        fn value() -> impl Strategy<Value = String> {
            "[a-zA-Z0-9 <>&'\"éЖ中📺.:/-]{1,24}".prop_map(|s| {
                let t = s.trim();
                if t.is_empty() { "x".to_owned() } else { t.to_owned() }
            })
        }

        fn lang() -> impl Strategy<Value = Option<String>> {
            proptest::option::of("[a-z]{2}(_[A-Z]{2})?")
        }

        fn texts() -> impl Strategy<Value = Vec<Text>> {
            proptest::collection::vec((lang(), value()).prop_map(|(lang, value)| Text { lang, value }), 0..3)
        }

        fn instant() -> impl Strategy<Value = (OffsetDateTime, i16)> {
            (0i64..4_102_444_800, -12i16 * 60..=14 * 60).prop_map(|(secs, minutes)| {
                let utc = OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
                (utc, minutes)
            })
        }

        fn write_time(utc: OffsetDateTime, minutes: i16, space: bool) -> String {
            let offset = UtcOffset::from_whole_seconds(i32::from(minutes) * 60).unwrap_or(UtcOffset::UTC);
            let local = utc.to_offset(offset);
            let sign = if minutes < 0 { '-' } else { '+' };
            format!(
                "{:04}{:02}{:02}{:02}{:02}{:02}{}{sign}{:02}{:02}",
                local.year(),
                u8::from(local.month()),
                local.day(),
                local.hour(),
                local.minute(),
                local.second(),
                if space { " " } else { "" },
                minutes.unsigned_abs() / 60,
                minutes.unsigned_abs() % 60
            )
        }

        fn write_texts(out: &mut String, tag: &str, texts: &[Text]) {
            for t in texts {
                match &t.lang {
                    Some(lang) => out.push_str(&format!("<{tag} lang='{lang}'>{}</{tag}>", escape(&t.value))),
                    None => out.push_str(&format!("<{tag}>{}</{tag}>", escape(&t.value))),
                }
            }
        }

        #[derive(Debug, Clone)]
        struct Generated {
            channel: Channel,
            programme: Programme,
            start_offset: i16,
            stop_offset: i16,
            space: bool,
        }

        fn generated() -> impl Strategy<Value = Generated> {
            let channel = (
                value(),
                texts(),
                proptest::collection::btree_set("[a-z]{1,8}", 0..3),
                proptest::collection::vec(value(), 0..2),
            )
                .prop_map(|(id, display_names, icons, urls)| Channel {
                    id,
                    display_names,
                    icons: icons
                        .into_iter()
                        .map(|s| Icon { src: format!("http://i/{s}.png"), width: Some(10), height: None })
                        .collect(),
                    urls,
                    line: 0,
                });
            let episode = (proptest::option::of(0u32..3000), proptest::option::of(0u32..500));
            let flags = proptest::array::uniform4(any::<bool>());
            (
                channel,
                (instant(), proptest::option::of(instant()), any::<bool>()),
                (proptest::collection::vec((lang(), value()), 1..3), texts(), texts(), texts()),
                (episode, flags, proptest::option::of(1900u32..2100)),
                proptest::option::of(value()),
            )
                .prop_map(
                    |(
                        channel,
                        ((start, start_offset), stop, space),
                        (titles, sub_titles, descriptions, categories),
                        ((season, episode), [new, premiere, previously_shown, live], year),
                        rating,
                    )| {
                        let programme = Programme {
                            channel: channel.id.clone(),
                            start,
                            stop: stop.map(|(t, _)| t),
                            titles: titles.into_iter().map(|(lang, value)| Text { lang, value }).collect(),
                            sub_titles,
                            descriptions,
                            categories,
                            episode_nums: Vec::new(),
                            season,
                            episode,
                            episode_display: None,
                            icons: Vec::new(),
                            ratings: rating
                                .map(|value| Rating { system: Some("VCHIP".into()), value })
                                .into_iter()
                                .collect(),
                            star_ratings: Vec::new(),
                            year,
                            new,
                            premiere,
                            previously_shown,
                            live,
                            line: 0,
                        };
                        Generated { channel, programme, start_offset, stop_offset: stop.map_or(0, |(_, o)| o), space }
                    },
                )
        }

        fn write(g: &Generated) -> String {
            let c = &g.channel;
            let p = &g.programme;
            let mut out = String::from("<tv>\n");
            out.push_str(&format!("<channel id=\"{}\">", escape(&c.id)));
            write_texts(&mut out, "display-name", &c.display_names);
            for icon in &c.icons {
                // Each icon twice: the copy must be dropped.
                let tag = format!("<icon src='{}' width='{}'/>", icon.src, icon.width.unwrap_or(0));
                out.push_str(&tag);
                out.push_str(&tag);
            }
            for url in &c.urls {
                out.push_str(&format!("<url>{}</url>", escape(url)));
            }
            out.push_str("</channel>\n");
            out.push_str(&format!(
                "<programme channel=\"{}\" start=\"{}\"",
                escape(&p.channel),
                write_time(p.start, g.start_offset, g.space)
            ));
            if let Some(stop) = p.stop {
                out.push_str(&format!(" stop=\"{}\"", write_time(stop, g.stop_offset, !g.space)));
            }
            out.push_str(">\n");
            // Descriptions first, against the DTD order, as real guides do.
            write_texts(&mut out, "desc", &p.descriptions);
            write_texts(&mut out, "title", &p.titles);
            write_texts(&mut out, "sub-title", &p.sub_titles);
            write_texts(&mut out, "category", &p.categories);
            if p.season.is_some() || p.episode.is_some() {
                let part = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
                out.push_str(&format!(
                    "<episode-num system='xmltv_ns'>{} . {} . 0/1</episode-num>",
                    part(p.season),
                    part(p.episode)
                ));
            }
            for rating in &p.ratings {
                out.push_str(&format!("<rating system='VCHIP'><value>{}</value></rating>", escape(&rating.value)));
            }
            if let Some(year) = p.year {
                out.push_str(&format!("<date>{year}0101</date>"));
            }
            for (flag, tag) in
                [(p.new, "new"), (p.premiere, "premiere"), (p.previously_shown, "previously-shown"), (p.live, "live")]
            {
                if flag {
                    out.push_str(&format!("<{tag}/>"));
                }
            }
            out.push_str("\n</programme>\n</tv>\n");
            out
        }

        proptest! {
            // No regression files: failures print the minimal input instead.
            #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
                let items: Vec<Item> = Parser::new(bytes.as_slice()).collect();
                prop_assert!(items.len() <= 2 * bytes.len() + 4);
                let sniffed: Vec<Item> = from_reader(bytes.as_slice()).map(Iterator::collect).unwrap_or_default();
                prop_assert!(sniffed.len() <= 2 * bytes.len() + 4);
            }

            #[test]
            fn xml_like_fragments_never_panic(parts in proptest::collection::vec(prop_oneof![
                Just("<tv>"), Just("</tv>"), Just("<programme start='2025' channel='a'>"), Just("</programme>"),
                Just("<channel id='c'>"), Just("</channel>"), Just("<title>"), Just("</title>"), Just("<desc>"),
                Just("<rating>"), Just("<value>"), Just("</value>"), Just("</rating>"), Just("<icon src='i'/>"),
                Just("<episode-num system='onscreen'>S1E2"), Just("</episode-num>"), Just("&amp;"), Just("&bogus;"),
                Just("&#xFFFFFFFF;"), Just("<![CDATA[x"), Just("]]>"), Just("<!--"), Just("-->"), Just("<?pi x?>"),
                Just("<"), Just(">"), Just("&"), Just("text"), Just("\n"), Just("\r\n"), Just("<date>"), Just("</date>"),
                Just("<programme start='x' stop='y'/>"), Just("</a>"), Just("<a b=c d>"), Just("<!DOCTYPE tv>"),
            ], 0..64)) {
                let xml: String = parts.concat();
                let lines = xml.matches('\n').count() + 1;
                for item in parse(&xml) {
                    let line = match &item {
                        Item::Channel(c) => c.line,
                        Item::Programme(p) => p.line,
                        Item::Issue(i) => i.line,
                    };
                    prop_assert!((1..=lines).contains(&line), "{item:?} outside 1..={lines}");
                }
            }

            #[test]
            fn generated_guides_round_trip(g in generated()) {
                let xml = write(&g);
                let items = parse(&xml);
                prop_assert!(issues(&items).is_empty(), "{xml}\n{items:#?}");
                let mut want_channel = g.channel.clone();
                want_channel.line = 2;
                prop_assert_eq!(channels(&items), vec![&want_channel]);
                let mut want = g.programme.clone();
                want.line = 3;
                if want.season.is_some() || want.episode.is_some() {
                    let part = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
                    want.episode_nums = vec![EpisodeNum {
                        system: "xmltv_ns".into(),
                        value: format!("{} . {} . 0/1", part(want.season), part(want.episode)).trim().to_owned(),
                    }];
                }
                prop_assert_eq!(programmes(&items), vec![&want]);
            }

            #[test]
            fn written_times_read_back(((utc, minutes), space) in (instant(), any::<bool>())) {
                prop_assert_eq!(parse_time(&write_time(utc, minutes, space)), Some(utc));
            }
        }
    }
}
