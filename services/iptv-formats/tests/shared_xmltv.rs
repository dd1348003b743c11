//! The XMLTV parser against the real guides in `shared/data/iptv/epg`
//! (see `shared/data/README.md`). Expected numbers were counted outside
//! this crate (Python's ElementTree, grep) and are checked twice here: the
//! parser's output, and a plain line scan of the raw file for the quirks the
//! parser's output cannot show (child order, written offsets).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use hearth_iptv_formats::xmltv::{self, Channel, EpisodeNum, Item, Programme, Rating, Text};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn epg_dir() -> Option<PathBuf> {
    hearth_iptv_formats::testdata::shared("iptv/epg")
}

/// What one file must give.
struct Expected {
    file: &'static str,
    channels: usize,
    programmes: usize,
    issues: usize,
    /// Programmes with titles in more than one language.
    multi_language_titles: usize,
    /// Programmes whose `<desc>` comes before their `<title>` (raw scan).
    desc_before_title: usize,
    /// Programmes with at least one description.
    with_description: usize,
    /// Offsets written in `start`/`stop` (raw scan).
    offsets: &'static [&'static str],
    earliest_start: &'static str,
    latest_start: &'static str,
    latest_stop: &'static str,
}

const FILES: [Expected; 6] = [
    Expected {
        file: "epgshare01.online.content.xml",
        channels: 2,
        programmes: 203,
        issues: 0,
        multi_language_titles: 0,
        desc_before_title: 0,
        with_description: 203,
        offsets: &["+0100"],
        earliest_start: "2025-02-07T23:00:00Z",
        latest_start: "2025-02-11T22:30:00Z",
        latest_stop: "2025-02-11T23:00:00Z",
    },
    Expected {
        file: "epg.iptvx.one.content.xml",
        channels: 1,
        programmes: 230,
        issues: 0,
        multi_language_titles: 0,
        desc_before_title: 229,
        with_description: 229,
        offsets: &["+0300"],
        earliest_start: "2025-09-21T22:45:00Z",
        latest_start: "2025-09-29T11:20:00Z",
        latest_stop: "2025-09-29T12:20:00Z",
    },
    Expected {
        file: "epg.iptvx.one.content.xml.gz",
        channels: 1,
        programmes: 230,
        issues: 0,
        multi_language_titles: 0,
        desc_before_title: 229,
        with_description: 229,
        offsets: &["+0300"],
        earliest_start: "2025-09-21T22:45:00Z",
        latest_start: "2025-09-29T11:20:00Z",
        latest_stop: "2025-09-29T12:20:00Z",
    },
    Expected {
        file: "makrodigitaltelevision.com.content.xml",
        channels: 1,
        programmes: 66,
        issues: 0,
        multi_language_titles: 0,
        desc_before_title: 0,
        with_description: 66,
        offsets: &["-0500"],
        earliest_start: "2025-02-16T13:00:00Z",
        latest_start: "2025-02-19T04:00:00Z",
        latest_stop: "2025-02-19T04:59:00Z",
    },
    Expected {
        file: "nzxmltv.com.content.xml",
        channels: 1,
        programmes: 2,
        issues: 0,
        multi_language_titles: 0,
        desc_before_title: 0,
        with_description: 2,
        offsets: &["+0000"],
        earliest_start: "2023-11-21T10:30:00Z",
        latest_start: "2023-11-21T11:25:00Z",
        latest_stop: "2023-11-21T12:10:00Z",
    },
    Expected {
        file: "tests_workers_load.guide.xml",
        channels: 1,
        programmes: 27,
        issues: 0,
        multi_language_titles: 0,
        desc_before_title: 0,
        with_description: 0,
        offsets: &["+0000"],
        earliest_start: "2026-02-12T04:00:00Z",
        latest_start: "2026-02-14T01:00:00Z",
        latest_stop: "2026-02-14T01:30:00Z",
    },
];

/// Everything the parser gave for one file.
struct Parsed {
    channels: Vec<Channel>,
    programmes: Vec<Programme>,
    issues: Vec<xmltv::Issue>,
}

fn parse(path: &Path) -> Parsed {
    let mut parsed = Parsed { channels: Vec::new(), programmes: Vec::new(), issues: Vec::new() };
    for item in xmltv::open(path).expect("open guide") {
        match item {
            Item::Channel(c) => parsed.channels.push(c),
            Item::Programme(p) => parsed.programmes.push(*p),
            Item::Issue(i) => parsed.issues.push(i),
        }
    }
    parsed
}

/// The raw file's lines, gunzipped when the name says so (independently of
/// the parser's own sniffing).
fn raw_lines(path: &Path) -> impl Iterator<Item = String> {
    let file = File::open(path).expect("open raw");
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    BufReader::new(reader).lines().map(|l| l.expect("raw line"))
}

/// Counts programmes whose first `<desc` precedes their first `<title`, and
/// collects the offsets written in `start=`/`stop=`, from the raw text.
fn raw_scan(path: &Path) -> (usize, BTreeSet<String>) {
    let mut desc_first = 0;
    let mut offsets = BTreeSet::new();
    // (seen desc, seen title) for the programme being scanned.
    let mut state: Option<(bool, bool)> = None;
    for line in raw_lines(path) {
        let mut marks: Vec<(usize, &str)> = ["<programme", "</programme", "<desc", "<title"]
            .iter()
            .flat_map(|tag| line.match_indices(tag).map(|(at, _)| (at, *tag)).collect::<Vec<_>>())
            .collect();
        marks.sort_unstable();
        for (_, tag) in marks {
            match (tag, state.as_mut()) {
                ("<programme", _) => state = Some((false, false)),
                ("</programme", _) => state = None,
                ("<desc", Some((desc, title))) => {
                    if !*title && !*desc {
                        desc_first += 1;
                    }
                    *desc = true;
                }
                ("<title", Some((_, title))) => *title = true,
                _ => {}
            }
        }
        for attr in ["start=", "stop="] {
            for (at, _) in line.match_indices(attr) {
                let rest = &line[at + attr.len()..];
                let Some(quote) = rest.chars().next() else { continue };
                let value = rest[1..].split(quote).next().unwrap_or_default();
                if let Some(offset) = value.split_whitespace().nth(1) {
                    offsets.insert(offset.to_owned());
                }
            }
        }
    }
    (desc_first, offsets)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("format time")
}

fn title(p: &Programme) -> &str {
    &p.titles[0].value
}

#[test]
fn every_shared_guide_parses_with_the_counted_numbers() {
    let Some(dir) = epg_dir() else { return };
    let mut seen_files: Vec<String> = std::fs::read_dir(&dir)
        .expect("list epg dir")
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
        .collect();
    seen_files.sort();
    let mut expected_files: Vec<String> = FILES.iter().map(|e| e.file.to_owned()).collect();
    expected_files.sort();
    assert_eq!(seen_files, expected_files, "every file in the folder is covered");

    for want in &FILES {
        let path = dir.join(want.file);
        let got = parse(&path);
        let multi = got
            .programmes
            .iter()
            .filter(|p| p.titles.iter().map(|t| &t.lang).collect::<BTreeSet<_>>().len() > 1)
            .count();
        let with_description = got.programmes.iter().filter(|p| !p.descriptions.is_empty()).count();
        let (desc_first, offsets) = raw_scan(&path);
        let earliest = got.programmes.iter().map(|p| p.start).min().map(rfc3339).unwrap_or_default();
        let latest = got.programmes.iter().map(|p| p.start).max().map(rfc3339).unwrap_or_default();
        let latest_stop = got.programmes.iter().filter_map(|p| p.stop).max().map(rfc3339).unwrap_or_default();
        eprintln!(
            "{}: {} channels, {} programmes, {} issues, {multi} multi-language titles, {desc_first} desc-before-title, \
             offsets {offsets:?}, starts {earliest} .. {latest} UTC",
            want.file,
            got.channels.len(),
            got.programmes.len(),
            got.issues.len(),
        );

        assert_eq!(got.issues.len(), want.issues, "{}: {:#?}", want.file, got.issues);
        assert_eq!(got.channels.len(), want.channels, "{}", want.file);
        assert_eq!(got.programmes.len(), want.programmes, "{}", want.file);
        assert_eq!(multi, want.multi_language_titles, "{}", want.file);
        assert_eq!(desc_first, want.desc_before_title, "{}", want.file);
        assert_eq!(with_description, want.with_description, "{}", want.file);
        let want_offsets: BTreeSet<String> = want.offsets.iter().map(|o| (*o).to_owned()).collect();
        assert_eq!(offsets, want_offsets, "{}", want.file);
        assert_eq!(earliest, want.earliest_start, "{}", want.file);
        assert_eq!(latest, want.latest_start, "{}", want.file);
        assert_eq!(latest_stop, want.latest_stop, "{}", want.file);

        // Every programme is complete, in UTC, on a declared channel.
        let ids: BTreeSet<&str> = got.channels.iter().map(|c| c.id.as_str()).collect();
        for p in &got.programmes {
            assert!(!p.titles.is_empty() && p.stop.is_some(), "{}: {p:?}", want.file);
            assert!(ids.contains(p.channel.as_str()), "{}: {p:?}", want.file);
            assert!(p.start.offset().is_utc() && p.stop.is_some_and(|s| s.offset().is_utc()));
            assert!(p.stop.is_some_and(|s| s > p.start), "{}: {p:?}", want.file);
        }
        let lines: Vec<usize> = got.programmes.iter().map(|p| p.line).collect();
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "{}: programme lines increase", want.file);
    }
}

#[test]
fn epgshare01_duplicate_icons_and_entities() {
    let Some(dir) = epg_dir() else { return };
    let got = parse(&dir.join("epgshare01.online.content.xml"));
    let ids: Vec<_> = got.channels.iter().map(|c| (c.id.as_str(), c.line)).collect();
    assert_eq!(ids, vec![("AlJazeera.Arabic.net", 5), ("AlJazeera.English.net", 11)]);
    for c in &got.channels {
        // Each channel writes the same icon twice.
        assert_eq!(c.icons.len(), 1, "{c:?}");
        assert_eq!(c.icons[0].src, "http://www.aljazeera.com/mritems/assets/images/aj-logo-lg.png");
        assert_eq!(c.urls, vec!["http://www.aljazeera.com".to_owned()]);
        assert_eq!(c.display_names[0].lang.as_deref(), Some("en"));
    }
    assert_eq!(got.channels[0].display_names[0].value, "AlJazeera Arabic");
    assert!(got.programmes.iter().all(|p| p.titles.iter().all(|t| t.lang.as_deref() == Some("en"))));
    let people_and_power = got.programmes.iter().filter(|p| title(p) == "People & Power : Frontline of Care").count();
    assert_eq!(people_and_power, 5);
    let first = &got.programmes[0];
    assert_eq!((first.line, title(first)), (17, "نشرة الأخبار"));
    assert_eq!(rfc3339(first.start), "2025-02-07T23:00:00Z");
}

#[test]
fn iptvx_desc_before_title_plain_and_gzipped() {
    let Some(dir) = epg_dir() else { return };
    for file in ["epg.iptvx.one.content.xml", "epg.iptvx.one.content.xml.gz"] {
        let got = parse(&dir.join(file));
        let channel = &got.channels[0];
        assert_eq!(channel.id, "12-omsk");
        assert_eq!(
            channel.display_names,
            vec![
                Text { lang: None, value: "12 канал Омск".into() },
                Text { lang: None, value: "12 канал (Омск)".into() }
            ]
        );
        let first = &got.programmes[0];
        assert_eq!(title(first), "д/с Необыкновенные люди");
        assert!(first.descriptions[0].value.starts_with("В этом документальном цикле"));
        assert_eq!(rfc3339(first.start), "2025-09-21T22:45:00Z");
        let without_desc: Vec<_> =
            got.programmes.iter().filter(|p| p.descriptions.is_empty()).map(|p| (p.line, title(p))).collect();
        assert_eq!(without_desc, vec![(49, "Омск. Здесь все свои. Интервью на радио «Гордость»")], "{file}");
    }
}

#[test]
fn makrodigital_single_quotes_and_negative_offset() {
    let Some(dir) = epg_dir() else { return };
    let got = parse(&dir.join("makrodigitaltelevision.com.content.xml"));
    assert_eq!(got.channels[0].id, "17");
    assert_eq!(got.channels[0].display_names, vec![Text { lang: None, value: "Service 1".into() }]);
    assert!(got.programmes.iter().all(|p| p.sub_titles.len() == 1 && p.titles[0].lang.as_deref() == Some("es")));
    let first = &got.programmes[0];
    assert_eq!((first.line, title(first)), (5, "Programación Infantil"));
    // 08:00 at -0500.
    assert_eq!(rfc3339(first.start), "2025-02-16T13:00:00Z");
    assert_eq!(first.stop.map(rfc3339).as_deref(), Some("2025-02-16T17:00:00Z"));
}

#[test]
fn nzxmltv_episode_systems_ratings_and_empty_date() {
    let Some(dir) = epg_dir() else { return };
    let got = parse(&dir.join("nzxmltv.com.content.xml"));
    let channel = &got.channels[0];
    assert_eq!(channel.display_names, vec![Text { lang: Some("en_NZ".into()), value: "TVNZ 1".into() }]);
    assert_eq!(channel.urls, vec!["https://helptvnz.zendesk.com/hc/en-us/requests/new".to_owned()]);
    assert_eq!(channel.icons.len(), 1);

    let [sunday, rich] = got.programmes.as_slice() else { panic!("two programmes: {:?}", got.programmes) };
    assert_eq!((sunday.line, title(sunday)), (13, "Sunday"));
    assert_eq!((rich.line, title(rich)), (51, "Rich House, Poor House"));
    // `<date></date>`, then `<date>2017</date>`.
    assert_eq!((sunday.year, rich.year), (None, Some(2017)));
    // xmltv_ns `2022.36.0` (a year as season) and `7.5.0`.
    assert_eq!((sunday.season, sunday.episode), (Some(2022), Some(36)));
    assert_eq!((rich.season, rich.episode), (Some(7), Some(5)));
    assert_eq!((sunday.episode_display.as_ref(), rich.episode_display.as_ref()), (None, None));
    let systems: Vec<&str> = sunday.episode_nums.iter().map(|n| n.system.as_str()).collect();
    assert_eq!(
        systems,
        vec![
            "dd_seriesid",
            "dd_progid",
            "freeviewnz.tv",
            "freeviewnz.tv",
            "original-air-date",
            "themoviedb.com",
            "thetvdb.com",
            "xmltv_ns",
            "tvnz.co.nz"
        ]
    );
    assert_eq!(rich.episode_nums.len(), 9);
    assert_eq!(sunday.episode_nums[1], EpisodeNum { system: "dd_progid".into(), value: "10681949".into() });
    assert_eq!(sunday.ratings, vec![]);
    assert_eq!(rich.ratings, vec![Rating { system: Some("New Zealand".into()), value: "G".into() }]);
    let stars = |p: &Programme| p.star_ratings.iter().map(|r| r.value.clone()).collect::<Vec<_>>();
    assert_eq!((stars(sunday), stars(rich)), (vec!["0/10".to_owned()], vec!["7/10".to_owned()]));
    assert!(sunday.previously_shown && rich.previously_shown && !sunday.new && !rich.live);
    let categories = |p: &Programme| p.categories.iter().map(|c| c.value.clone()).collect::<Vec<_>>();
    assert_eq!(categories(rich), vec!["Documentary".to_owned(), "Factual".to_owned()]);
    assert_eq!(sunday.icons[0].src, "https://www.thetvdb.com/banners/posters/5dbebff2986f2.jpg");
    assert_eq!(sunday.sub_titles, vec![Text { lang: None, value: "Sunday".into() }]);
}

#[test]
fn workers_load_greek_titles_and_apostrophe() {
    let Some(dir) = epg_dir() else { return };
    let got = parse(&dir.join("tests_workers_load.guide.xml"));
    assert_eq!(got.channels[0].id, "ANT1Europe.gr@SD");
    assert_eq!(got.channels[0].urls, vec!["https://antennaeurope.gr".to_owned()]);
    assert!(got.programmes.iter().all(|p| p.titles.len() == 1 && p.titles[0].lang.as_deref() == Some("el")));
    let lyrics: Vec<_> =
        got.programmes.iter().filter(|p| title(p) == "DON'T FORGET THE LYRICS").map(|p| p.line).collect();
    assert_eq!(lyrics, vec![25]);
    assert_eq!(title(&got.programmes[0]), "ΚΑΛΗΜΕΡΑ ΕΛΛΑΔΑ");
}
