//! The line-up and guide built from a playlist and guides, as the contract
//! models them (pure: no I/O).
//!
//! M3U has no channel ids, and `tvg-id` is not one (real playlists have
//! thousands of empty and duplicate ones). A channel's id is derived from
//! what identifies a stream to its viewers — its name and URL — so it stays
//! the same across reloads while those do: `m3u-<16 hex digits>` of a
//! 64-bit FNV-1a hash, with `~2`, `~3`, … for exact repeats.
//!
//! Guide matching, per the issue: XMLTV channel id = `tvg-id`, then
//! display-name = `tvg-name`, then display-name = the channel's name
//! (names compared case-insensitively, whitespace collapsed).

use std::collections::{BTreeMap, HashMap, HashSet};

use hearth_iptv_formats::{m3u, xmltv};
use hearth_platform::wkt;
use hearth_proto::hearth::provider::v1 as pb;
use time::{Duration, OffsetDateTime};

/// 64-bit FNV-1a: stable across builds and platforms (std's hasher is not).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

/// The stable id of a playlist entry (see the module docs).
pub fn channel_id(name: &str, url: &str) -> String {
    let mut key = Vec::with_capacity(name.len() + url.len() + 1);
    key.extend_from_slice(name.trim().as_bytes());
    key.push(b'\n');
    key.extend_from_slice(url.trim().as_bytes());
    format!("m3u-{:016x}", fnv1a(&key))
}

/// A name as guide matching compares it.
pub fn match_key(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn text(value: &str, limit: usize) -> Option<String> {
    let cleaned: String = value.chars().filter(|c| !c.is_control()).collect();
    let trimmed = cleaned.trim();
    (!trimmed.is_empty()).then(|| trimmed.chars().take(limit).collect())
}

fn localized(texts: &[xmltv::Text], limit: usize) -> Vec<pb::LocalizedString> {
    let mut out: Vec<pb::LocalizedString> = Vec::new();
    for t in texts {
        let Some(value) = text(&t.value, limit) else { continue };
        let language = t.lang.as_deref().map(bcp47).unwrap_or_default();
        if out.len() < 20 && !out.iter().any(|o| o.language == language && o.value == value) {
            out.push(pb::LocalizedString { language, value });
        }
    }
    out
}

/// XMLTV languages as BCP 47 (`en_NZ` → `en-NZ`), at most 35 characters.
fn bcp47(lang: &str) -> String {
    lang.trim().replace('_', "-").chars().take(35).collect()
}

fn http_url(url: &str) -> Option<String> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    ((lower.starts_with("http://") || lower.starts_with("https://")) && url.len() <= 2048).then(|| url.to_owned())
}

/// Channels built from the playlist, in playlist order.
pub fn channels(header: Option<&m3u::Header>, entries: &[m3u::Entry]) -> Vec<pb::Channel> {
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let name = text(&entry.name, 300).or_else(|| entry.tvg_name.as_deref().and_then(|n| text(n, 300)));
        let Some(name) = name else { continue };
        let base = channel_id(&name, &entry.url);
        let repeat = seen.entry(base.clone()).or_insert(0);
        *repeat += 1;
        let channel_id = if *repeat == 1 { base } else { format!("{base}~{repeat}") };
        let catchup = catchup(&entry.catchup, header.map(|h| &h.catchup));
        let mut headers = std::collections::HashMap::new();
        for (key, value) in entry.headers.iter().take(20) {
            headers.insert(key.clone(), value.clone());
        }
        let stream = (!entry.url.is_empty() && entry.url.len() <= 4096).then(|| pb::StreamSource {
            url: entry.url.clone(),
            headers,
            user_agent: entry.user_agent.clone().unwrap_or_default().chars().take(512).collect(),
        });
        let groups: Vec<String> = entry.groups.iter().filter_map(|g| text(g, 100)).take(20).collect();
        let adult = groups.iter().any(|g| matches!(g.to_lowercase().as_str(), "xxx" | "adult" | "adults"));
        out.push(pb::Channel {
            channel_id,
            epg_id: entry.tvg_id.clone().unwrap_or_default(),
            names: vec![pb::LocalizedString { language: String::new(), value: name }],
            number: entry.chno.clone().unwrap_or_default().chars().take(16).collect(),
            logos: entry
                .logo
                .as_deref()
                .and_then(http_url)
                .map(|url| pb::Image { url, kind: pb::ImageKind::Logo as i32, ..Default::default() })
                .into_iter()
                .collect(),
            groups,
            catchup,
            adult,
            radio: entry.attributes.iter().any(|(k, v)| k == "radio" && v.eq_ignore_ascii_case("true")),
            stream,
            ..Default::default()
        });
    }
    out
}

fn catchup(own: &m3u::Catchup, defaults: Option<&m3u::Catchup>) -> Option<pb::CatchupInfo> {
    let days = own.days.or(defaults.and_then(|d| d.days)).filter(|d| *d > 0)?;
    Some(pb::CatchupInfo {
        window: Some(wkt::duration(std::time::Duration::from_secs(u64::from(days.min(90)) * 86_400))),
        mode: own.mode.clone().or(defaults.and_then(|d| d.mode.clone())).unwrap_or_default().chars().take(32).collect(),
        source: own
            .source
            .clone()
            .or(defaults.and_then(|d| d.source.clone()))
            .unwrap_or_default()
            .chars()
            .take(2048)
            .collect(),
    })
}

/// How playlist channels map to guide channels.
#[derive(Debug, Default)]
pub struct Matching {
    /// XMLTV channel id → provider channel ids showing it.
    pub by_guide: HashMap<String, Vec<String>>,
    /// Provider channels matched by tvg-id, by tvg-name and by name.
    pub by_id: usize,
    pub by_tvg_name: usize,
    pub by_name: usize,
}

/// Matches playlist entries (with their channels, same order) to guide
/// channels.
pub fn match_guide(entries: &[m3u::Entry], channels: &[pb::Channel], guide: &[xmltv::Channel]) -> Matching {
    let ids: HashSet<&str> = guide.iter().map(|c| c.id.as_str()).collect();
    let mut names: HashMap<String, &str> = HashMap::new();
    for channel in guide {
        for name in &channel.display_names {
            names.entry(match_key(&name.value)).or_insert(channel.id.as_str());
        }
    }
    let mut matching = Matching::default();
    // `channels` skips nameless entries: walk both by name-bearing entries.
    let named = entries
        .iter()
        .filter(|e| text(&e.name, 300).or_else(|| e.tvg_name.as_deref().and_then(|n| text(n, 300))).is_some());
    for (entry, channel) in named.zip(channels) {
        let guide_id = if let Some(id) = entry.tvg_id.as_deref().filter(|id| ids.contains(id)) {
            matching.by_id += 1;
            Some(id)
        } else if let Some(id) = entry.tvg_name.as_deref().and_then(|n| names.get(&match_key(n)).copied()) {
            matching.by_tvg_name += 1;
            Some(id)
        } else if let Some(id) = names.get(&match_key(&entry.name)).copied() {
            matching.by_name += 1;
            Some(id)
        } else {
            None
        };
        if let Some(id) = guide_id {
            matching.by_guide.entry(id.to_owned()).or_default().push(channel.channel_id.clone());
        }
    }
    matching
}

/// XMLTV's parental ratings with the age they imply when it is evident.
fn rating(r: &xmltv::Rating) -> Option<pb::ParentalRating> {
    let value: String = r.value.trim().chars().take(32).collect();
    if value.is_empty() {
        return None;
    }
    let min_age = value.trim_end_matches('+').parse::<u32>().ok().filter(|a| *a <= 21).unwrap_or(0);
    Some(pb::ParentalRating { system: r.system.clone().unwrap_or_default().chars().take(32).collect(), value, min_age })
}

/// Programmes per provider channel, ordered by start, without overlaps:
/// a missing stop is the next start (the last one without a stop is
/// dropped), an overlapping programme is cut at the next start, and
/// programmes left empty are dropped.
pub fn programmes(matching: &Matching, guide: Vec<xmltv::Programme>) -> BTreeMap<String, Vec<pb::Programme>> {
    let mut per_guide: HashMap<String, Vec<xmltv::Programme>> = HashMap::new();
    for programme in guide {
        if matching.by_guide.contains_key(&programme.channel) {
            per_guide.entry(programme.channel.clone()).or_default().push(programme);
        }
    }
    let mut out: BTreeMap<String, Vec<pb::Programme>> = BTreeMap::new();
    for (guide_id, mut list) in per_guide {
        list.sort_by_key(|p| p.start);
        list.dedup_by_key(|p| p.start);
        let mut timed: Vec<(OffsetDateTime, OffsetDateTime, &xmltv::Programme)> = Vec::with_capacity(list.len());
        for (i, p) in list.iter().enumerate() {
            let next = list.get(i + 1).map(|n| n.start);
            let end = match (p.stop, next) {
                (Some(stop), Some(next)) => stop.min(next),
                (Some(stop), None) => stop,
                (None, Some(next)) => next,
                (None, None) => continue,
            };
            if end > p.start && end - p.start <= Duration::days(2) {
                timed.push((p.start, end, p));
            }
        }
        for channel_id in &matching.by_guide[&guide_id] {
            let converted: Vec<pb::Programme> =
                timed.iter().filter_map(|(start, end, p)| programme(channel_id, *start, *end, p)).collect();
            out.insert(channel_id.clone(), converted);
        }
    }
    out
}

fn programme(
    channel_id: &str,
    start: OffsetDateTime,
    end: OffsetDateTime,
    p: &xmltv::Programme,
) -> Option<pb::Programme> {
    let titles = localized(&p.titles, 300);
    if titles.is_empty() {
        return None;
    }
    Some(pb::Programme {
        programme_id: format!("{channel_id}@{}", start.unix_timestamp()),
        channel_id: channel_id.to_owned(),
        start_time: Some(wkt::timestamp(start)),
        end_time: Some(wkt::timestamp(end)),
        titles,
        subtitles: localized(&p.sub_titles, 300),
        descriptions: localized(&p.descriptions, 1000),
        categories: localized(&p.categories, 100),
        season: p.season,
        episode: p.episode,
        episode_display: p.episode_display.clone().unwrap_or_default().chars().take(32).collect(),
        images: p
            .icons
            .iter()
            .filter_map(|i| http_url(&i.src))
            .take(10)
            .map(|url| pb::Image { url, kind: pb::ImageKind::Thumbnail as i32, ..Default::default() })
            .collect(),
        parental_ratings: p.ratings.iter().filter_map(rating).take(10).collect(),
        live: p.live,
        premiere: p.premiere || p.new,
        year: p.year.unwrap_or(0),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn entries(m3u: &str) -> (Option<m3u::Header>, Vec<m3u::Entry>) {
        let mut parser = m3u::Parser::new(Cursor::new(m3u.as_bytes().to_vec()));
        let entries =
            parser.by_ref().filter_map(|i| if let m3u::Item::Entry(e) = i { Some(e) } else { None }).collect();
        (parser.header().cloned(), entries)
    }

    fn guide(xml: &str) -> (Vec<xmltv::Channel>, Vec<xmltv::Programme>) {
        let (mut channels, mut programmes) = (Vec::new(), Vec::new());
        for item in xmltv::from_reader(Cursor::new(xml.as_bytes().to_vec())).expect("reader") {
            match item {
                xmltv::Item::Channel(c) => channels.push(c),
                xmltv::Item::Programme(p) => programmes.push(*p),
                xmltv::Item::Issue(i) => panic!("fixture issue: {i:?}"),
            }
        }
        (channels, programmes)
    }

    const PLAYLIST: &str = "#EXTM3U catchup=\"default\" catchup-days=\"2\"\n\
        #EXTINF:-1 tvg-id=\"dup.id\" tvg-logo=\"ftp://nope/logo.png\" group-title=\"News;XXX\",One\nhttp://a/1\n\
        #EXTINF:-1 tvg-id=\"dup.id\",One\nhttp://a/1\n\
        #EXTINF:-1 tvg-id=\"\" tvg-name=\"Two TV\",Two HD\nhttp://a/2\n\
        #EXTINF:-1,Three  Channel\nhttp://a/3\n";

    #[test]
    fn ids_are_stable_hashes_of_name_and_url_and_repeats_are_numbered() {
        let (header, entries) = entries(PLAYLIST);
        let channels = channels(header.as_ref(), &entries);
        assert_eq!(channels.len(), 4);
        assert_eq!(channels[0].channel_id, channel_id("One", "http://a/1"));
        assert_eq!(channels[1].channel_id, format!("{}~2", channels[0].channel_id), "an exact repeat");
        assert_eq!(channel_id("One", "http://a/1"), "m3u-".to_owned() + &format!("{:016x}", fnv1a(b"One\nhttp://a/1")));
        assert!(channels[0].logos.is_empty(), "only http(s) logos");
        assert!(channels[0].adult, "an XXX group");
        assert_eq!(channels[0].groups, ["News", "XXX"]);
        assert_eq!(channels[3].catchup.as_ref().and_then(|c| c.window.as_ref()).map(|w| w.seconds), Some(2 * 86_400));
        assert_eq!(channels[2].epg_id, "", "an empty tvg-id is no EPG id");
    }

    #[test]
    fn guides_match_by_id_then_tvg_name_then_name_and_programmes_never_overlap() {
        let (header, entries) = entries(PLAYLIST);
        let channels = channels(header.as_ref(), &entries);
        let (guide_channels, programmes_in) = guide(
            "<tv><channel id='dup.id'><display-name>Whatever</display-name></channel>\
             <channel id='two'><display-name>two tv</display-name></channel>\
             <channel id='three'><display-name>THREE channel</display-name></channel>\
             <programme start='20260101100000 +0000' stop='20260101113000 +0000' channel='two'><title>A</title></programme>\
             <programme start='20260101110000 +0000' channel='two'><title lang='en_NZ'>B</title></programme>\
             <programme start='20260101120000 +0000' stop='20260101130000 +0000' channel='two'><title>C</title></programme>\
             </tv>",
        );
        let matching = match_guide(&entries, &channels, &guide_channels);
        assert_eq!(
            (matching.by_id, matching.by_tvg_name, matching.by_name),
            (2, 1, 1),
            "both dup.id entries match by id"
        );
        assert_eq!(matching.by_guide["dup.id"].len(), 2, "one guide channel serves two playlist channels");
        let out = programmes(&matching, programmes_in);
        let two = &out[&channels[2].channel_id];
        let titles: Vec<&str> = two.iter().map(|p| p.titles[0].value.as_str()).collect();
        assert_eq!(titles, ["A", "B", "C"]);
        assert_eq!(two[0].end_time, two[1].start_time, "an overlap is cut at the next start");
        assert_eq!(two[1].end_time, two[2].start_time, "a missing stop is the next start");
        assert_eq!(two[1].titles[0].language, "en-NZ");
        assert_eq!(two[0].programme_id, format!("{}@{}", channels[2].channel_id, 1_767_261_600));
        assert!(
            out.get(&channels[3].channel_id).is_none_or(Vec::is_empty),
            "matched, but the guide has nothing for it"
        );
    }
}
