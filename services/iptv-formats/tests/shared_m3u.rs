//! The M3U parser against the real iptv-org playlists in `shared/data/iptv/m3u`
//! (their quirks are listed in `shared/data/README.md`). The expected counts
//! were taken from the files independently of this parser (grep and a short
//! Python script), so a disagreement is a parser bug or a changed file.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use hearth_iptv_formats::m3u::{self, Entry, Header, Playlist};

/// What one real file must parse to.
struct Expected {
    path: &'static str,
    entries: usize,
    issues: usize,
    /// Entries whose `tvg-id` is missing or empty.
    without_tvg_id: usize,
    /// Distinct `tvg-id`s used by more than one entry, and how many entries
    /// repeat an id already seen.
    repeated_ids: usize,
    repeating_entries: usize,
    with_user_agent: usize,
    with_referer: usize,
    guide_urls: usize,
    crlf: bool,
}

const EXPECTED: [Expected; 10] = [
    Expected {
        path: "iptv-org_2023-01_gh-pages/countries_ad.m3u",
        entries: 26,
        issues: 0,
        without_tvg_id: 0,
        repeated_ids: 0,
        repeating_entries: 0,
        with_user_agent: 3,
        with_referer: 0,
        guide_urls: 9,
        crlf: false,
    },
    Expected {
        path: "iptv-org_2023-01_gh-pages/countries_int.m3u",
        entries: 48,
        issues: 0,
        without_tvg_id: 0,
        repeated_ids: 0,
        repeating_entries: 0,
        with_user_agent: 1,
        with_referer: 0,
        guide_urls: 20,
        crlf: false,
    },
    Expected {
        path: "iptv-org_2023-01_gh-pages/countries_xk.m3u",
        entries: 1,
        issues: 0,
        without_tvg_id: 1,
        repeated_ids: 0,
        repeating_entries: 0,
        with_user_agent: 0,
        with_referer: 0,
        guide_urls: 0,
        crlf: false,
    },
    Expected {
        path: "iptv-org_2023-01_streams/bq.m3u",
        entries: 1,
        issues: 1,
        without_tvg_id: 0,
        repeated_ids: 0,
        repeating_entries: 0,
        with_user_agent: 0,
        with_referer: 0,
        guide_urls: 0,
        crlf: false,
    },
    Expected {
        path: "iptv-org_2023-01_streams/in.m3u",
        entries: 160,
        issues: 0,
        without_tvg_id: 24,
        repeated_ids: 8,
        repeating_entries: 11,
        with_user_agent: 2,
        with_referer: 2,
        guide_urls: 0,
        crlf: false,
    },
    Expected {
        path: "iptv-org_2026-06/ad.m3u",
        entries: 0,
        issues: 0,
        without_tvg_id: 0,
        repeated_ids: 0,
        repeating_entries: 0,
        with_user_agent: 0,
        with_referer: 0,
        guide_urls: 0,
        crlf: true,
    },
    Expected {
        path: "iptv-org_2026-06/cn.m3u",
        entries: 530,
        issues: 0,
        without_tvg_id: 267,
        repeated_ids: 39,
        repeating_entries: 128,
        with_user_agent: 1,
        with_referer: 0,
        guide_urls: 0,
        crlf: true,
    },
    Expected {
        path: "iptv-org_2026-06/fr.m3u",
        entries: 197,
        issues: 0,
        without_tvg_id: 1,
        repeated_ids: 26,
        repeating_entries: 53,
        with_user_agent: 7,
        with_referer: 0,
        guide_urls: 0,
        crlf: true,
    },
    Expected {
        path: "iptv-org_2026-06/rs.m3u",
        entries: 65,
        issues: 0,
        without_tvg_id: 0,
        repeated_ids: 4,
        repeating_entries: 4,
        with_user_agent: 20,
        with_referer: 0,
        guide_urls: 0,
        crlf: true,
    },
    Expected {
        path: "iptv-org_2026-06/us.m3u",
        entries: 685,
        issues: 0,
        without_tvg_id: 14,
        repeated_ids: 46,
        repeating_entries: 53,
        with_user_agent: 14,
        with_referer: 3,
        guide_urls: 0,
        crlf: true,
    },
];

/// The playlist folder, or `None` (with the reason printed) when it is
/// absent outside CI.
fn data_dir() -> Option<PathBuf> {
    hearth_iptv_formats::testdata::shared("iptv/m3u")
}

/// Every `.m3u` under `dir`, relative to it, with `/` separators.
fn m3u_files(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() {
            m3u_files(&path, &format!("{prefix}{name}/"), out);
        } else if name.ends_with(".m3u") {
            out.insert(format!("{prefix}{name}"));
        }
    }
}

type Parsed = Playlist;

fn parse(reader: impl BufRead) -> Parsed {
    let parsed = m3u::read(reader);
    assert!(parsed.read_error.is_none(), "{:?}", parsed.read_error);
    parsed
}

fn open(path: &Path, capacity: usize) -> BufReader<File> {
    BufReader::with_capacity(capacity, File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn header_value<'a>(entry: &'a Entry, name: &str) -> Option<&'a str> {
    entry.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn entry_at(parsed: &Parsed, line: usize) -> &Entry {
    parsed.entries.iter().find(|e| e.line == line).unwrap_or_else(|| panic!("no entry at line {line}"))
}

#[test]
fn real_playlists_parse_to_their_known_counts() {
    let Some(dir) = data_dir() else { return };
    let mut found = BTreeSet::new();
    m3u_files(&dir, "", &mut found);
    let listed: BTreeSet<String> = EXPECTED.iter().map(|e| e.path.to_owned()).collect();
    assert_eq!(found, listed, "every playlist in the folder has expectations, and only those");

    let mut parsed_files = HashMap::new();
    for expected in &EXPECTED {
        let path = dir.join(expected.path);
        let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let line_count = raw.split(|&b| b == b'\n').count() - usize::from(raw.ends_with(b"\n"));
        assert_eq!(raw.windows(2).any(|w| w == b"\r\n"), expected.crlf, "{}: line endings", expected.path);

        let parsed = parse(open(&path, 8 * 1024));
        // A tiny buffer splits lines, CRLFs and UTF-8 sequences across reads.
        let small = parse(open(&path, 7));
        assert_eq!(small.header, parsed.header, "{}", expected.path);
        assert_eq!(small.entries, parsed.entries, "{}", expected.path);
        assert_eq!(small.issues, parsed.issues, "{}", expected.path);

        let header = parsed.header.as_ref().unwrap_or_else(|| panic!("{}: every file has #EXTM3U", expected.path));
        let without_tvg_id = parsed.entries.iter().filter(|e| e.tvg_id.is_none()).count();
        let mut ids: HashMap<&str, usize> = HashMap::new();
        for id in parsed.entries.iter().filter_map(|e| e.tvg_id.as_deref()) {
            *ids.entry(id).or_default() += 1;
        }
        let repeated_ids = ids.values().filter(|&&n| n > 1).count();
        let repeating_entries: usize = ids.values().map(|&n| n - 1).sum();
        let with_user_agent = parsed.entries.iter().filter(|e| e.user_agent.is_some()).count();
        let with_referer = parsed.entries.iter().filter(|e| header_value(e, "Referer").is_some()).count();

        eprintln!(
            "{}: {} entries, {} issues, {} without tvg-id, {} tvg-ids repeated ({} repeating entries), \
             {} with User-Agent, {} with Referer, {} guide URLs",
            expected.path,
            parsed.entries.len(),
            parsed.issues.len(),
            without_tvg_id,
            repeated_ids,
            repeating_entries,
            with_user_agent,
            with_referer,
            header.guide_urls.len(),
        );
        assert_eq!(parsed.entries.len(), expected.entries, "{}: entries", expected.path);
        assert_eq!(parsed.issues.len(), expected.issues, "{}: issues {:?}", expected.path, parsed.issues);
        assert_eq!(without_tvg_id, expected.without_tvg_id, "{}: entries without tvg-id", expected.path);
        assert_eq!(repeated_ids, expected.repeated_ids, "{}: repeated tvg-ids", expected.path);
        assert_eq!(repeating_entries, expected.repeating_entries, "{}: repeating entries", expected.path);
        assert_eq!(with_user_agent, expected.with_user_agent, "{}: User-Agent", expected.path);
        assert_eq!(with_referer, expected.with_referer, "{}: Referer", expected.path);
        assert_eq!(header.guide_urls.len(), expected.guide_urls, "{}: guide URLs", expected.path);

        let mut previous_line = 0;
        for entry in &parsed.entries {
            assert!(entry.line > previous_line && entry.line < line_count, "{}: line {}", expected.path, entry.line);
            previous_line = entry.line;
            assert_eq!(entry.duration, -1.0, "{}:{}", expected.path, entry.line);
            assert!(!entry.name.is_empty() && !entry.url.is_empty(), "{}:{}", expected.path, entry.line);
            let texts = [&entry.name, &entry.url].into_iter().chain(entry.tvg_id.iter()).chain(entry.logo.iter());
            for text in texts.chain(entry.headers.iter().map(|(_, v)| v)) {
                assert!(!text.contains(['\r', '\n']), "{}:{}: {text:?}", expected.path, entry.line);
            }
        }
        for issue in &parsed.issues {
            assert!((1..=line_count).contains(&issue.line), "{}: {issue}", expected.path);
        }
        parsed_files.insert(expected.path, parsed);
    }
    let total: usize = parsed_files.values().map(|p| p.entries.len()).sum();
    eprintln!("all playlists: {total} entries");
    assert_eq!(total, 1713);

    let file = |path: &str| parsed_files.get(path).unwrap_or_else(|| panic!("{path} parsed"));

    // bq.m3u: `#EXTINF-1` (no colon) on line 2; the entry is still taken.
    let bq = file("iptv-org_2023-01_streams/bq.m3u");
    assert_eq!(bq.issues[0].line, 2);
    assert!(bq.issues[0].message.contains("without ':'"), "{}", bq.issues[0]);
    let nos = &bq.entries[0];
    assert_eq!((nos.line, nos.name.as_str()), (2, "Nos TV Bonaire"));
    assert_eq!(nos.tvg_id.as_deref(), Some("NosTVBonaire.bq"));
    assert_eq!(nos.url, "http://streaming.flamingotv.net/nostv/live.m3u8");

    // ad.m3u (2026): only the header.
    let ad = file("iptv-org_2026-06/ad.m3u");
    assert_eq!(ad.header, Some(Header::default()));

    // in.m3u: `user-agent` attributes doubled by #EXTVLCOPT, referrers, status.
    let india = file("iptv-org_2023-01_streams/in.m3u");
    let sony = entry_at(india, 241);
    assert_eq!((sony.name.as_str(), sony.user_agent.as_deref()), ("Sony Six HD (1080p)", Some("stream")));
    assert_eq!(sony.vlc_options, ["http-user-agent=stream"]);
    assert_eq!(sony.headers, [("User-Agent".to_owned(), "stream".to_owned())]);
    let star_gold = entry_at(india, 308);
    assert_eq!((star_gold.tvg_id.as_deref(), star_gold.user_agent.as_deref()), (None, Some("stream")));
    for line in [56, 319] {
        assert_eq!(header_value(entry_at(india, line), "Referer"), Some("https://webcast.gov.in/"));
    }
    let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in &india.entries {
        *statuses.entry(entry.attribute("status").unwrap_or("(none)")).or_default() += 1;
    }
    let expected_statuses = BTreeMap::from([("blocked", 9), ("error", 5), ("online", 38), ("timeout", 108)]);
    assert_eq!(statuses, expected_statuses);
    assert_eq!(india.entries[0].name, "3 Tamil TV (720p) [Not 24/7]");

    // cn.m3u line 51 repeats its own prefix; the value is kept as written.
    let cctv10 = entry_at(file("iptv-org_2026-06/cn.m3u"), 50);
    assert_eq!(cctv10.name, "CCTV-10 (576i)");
    let agent = cctv10.user_agent.as_deref().unwrap_or_default();
    assert!(agent.starts_with("#EXTVLCOPT:http-user-agent=Mozilla/5.0 (Windows NT 10.0"), "{agent}");

    // rs.m3u: rtsp:// and mmsh:// streams.
    let rs = file("iptv-org_2026-06/rs.m3u");
    let scheme_lines = |scheme: &str| -> Vec<usize> {
        rs.entries.iter().filter(|e| e.url.starts_with(scheme)).map(|e| e.line).collect()
    };
    assert_eq!(scheme_lines("mmsh://"), [28, 32]);
    assert_eq!(scheme_lines("rtsp://"), [30, 34]);

    // us.m3u: the longest URL (1,613 characters) and current feed ids.
    let us = file("iptv-org_2026-06/us.m3u");
    let longest = us.entries.iter().max_by_key(|e| e.url.len()).expect("entries");
    assert_eq!((longest.line, longest.url.len(), longest.name.as_str()), (772, 1613, "RTVi US"));
    assert_eq!(us.entries[3].tvg_id.as_deref(), Some("ABC.us@East"));
    let fr_longest = file("iptv-org_2026-06/fr.m3u").entries.iter().map(|e| e.url.len()).max();
    assert_eq!(fr_longest, Some(997));

    // gh-pages: guide URLs in the header, logos and groups on every entry.
    let ghad = file("iptv-org_2023-01_gh-pages/countries_ad.m3u");
    let guides = &ghad.header.as_ref().expect("header").guide_urls;
    assert_eq!(guides.first().map(String::as_str), Some("https://iptv-org.github.io/epg/guides/ar/bein.com.xml"));
    assert_eq!(guides.last().map(String::as_str), Some("https://iptv-org.github.io/epg/guides/es/movistarplus.es.xml"));
    assert!(ghad.entries.iter().all(|e| e.logo.is_some() && e.groups.len() == 1));
    let distinct = |parsed: &Parsed| parsed.entries.iter().flat_map(|e| e.groups.iter()).collect::<BTreeSet<_>>().len();
    assert_eq!(distinct(ghad), 13);
    let int = file("iptv-org_2023-01_gh-pages/countries_int.m3u");
    assert_eq!(distinct(int), 12);
    let culture_news: Vec<_> = int.entries.iter().filter(|e| e.groups.len() > 1).map(|e| e.groups.clone()).collect();
    assert_eq!(culture_news, [["Culture", "News"]]);
    assert!(int.header.as_ref().expect("header").guide_urls.iter().all(|u| u.starts_with("https://")));

    // countries_xk: an empty guide list, one entry with empty tvg-id and logo.
    let xk = file("iptv-org_2023-01_gh-pages/countries_xk.m3u");
    let xk_header = xk.header.as_ref().expect("header");
    assert_eq!(xk_header.attributes, [("x-tvg-url".to_owned(), String::new())]);
    let dielli = &xk.entries[0];
    assert_eq!((dielli.tvg_id.as_deref(), dielli.logo.as_deref()), (None, None));
    assert_eq!((dielli.name.as_str(), dielli.groups.as_slice()), ("TV Dielli (720p)", &["Undefined".to_owned()][..]));
}
