//! Reading the playlist and guides (files or http(s) URLs) and building a
//! line-up from them, with the counts an operator wants to see.

use std::{
    collections::BTreeMap,
    fs::File,
    io::{BufReader, Write},
    path::PathBuf,
};

use futures::StreamExt;
use hearth_iptv_formats::{m3u, xmltv};
use hearth_proto::hearth::provider::v1 as pb;

use crate::catalog;

/// A source could not be read at all (issues inside a file are counted,
/// never fatal).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{source_name}: {error}")]
    Io { source_name: String, error: std::io::Error },
    #[error("{source_name}: {error}")]
    Http { source_name: String, error: reqwest::Error },
    #[error("{source_name}: HTTP {status}")]
    Status { source_name: String, status: u16 },
}

/// What one load found.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    pub entries: usize,
    pub channels: usize,
    pub playlist_issues: usize,
    pub guide_channels: usize,
    pub guide_programmes: usize,
    pub guide_issues: usize,
    pub matched_by_id: usize,
    pub matched_by_tvg_name: usize,
    pub matched_by_name: usize,
    pub channels_with_guide: usize,
    pub programmes: usize,
    /// The first issues, for the log (`line: message`).
    pub sample_issues: Vec<String>,
}

/// A loaded line-up.
pub struct Loaded {
    pub channels: Vec<pb::Channel>,
    pub programmes: BTreeMap<String, Vec<pb::Programme>>,
    pub report: LoadReport,
}

fn is_url(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Downloads a URL to a temporary file (guides can be hundreds of MB: never
/// held in memory), or opens a local file.
async fn open(source: &str) -> Result<(PathBuf, bool), SourceError> {
    if !is_url(source) {
        return Ok((PathBuf::from(source), false));
    }
    let http = |error| SourceError::Http { source_name: source.to_owned(), error };
    let io = |error| SourceError::Io { source_name: source.to_owned(), error };
    let response = reqwest::get(source).await.map_err(http)?;
    if !response.status().is_success() {
        return Err(SourceError::Status { source_name: source.to_owned(), status: response.status().as_u16() });
    }
    let path = std::env::temp_dir().join(format!(
        "hearth-provider-m3u-{}-{}",
        std::process::id(),
        catalog::channel_id(source, "")
    ));
    let mut file = File::create(&path).map_err(io)?;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        file.write_all(&chunk.map_err(http)?).map_err(io)?;
    }
    Ok((path, true))
}

/// Loads the playlist and guides and builds the line-up; with
/// `header_guides`, also the guides the playlist's header names
/// (`x-tvg-url`, `url-tvg`), whether the playlist is a file or a URL.
pub async fn load(playlist: &str, guides: &[String], header_guides: bool) -> Result<Loaded, SourceError> {
    let mut files = vec![open(playlist).await?];
    let mut guides = guides.to_vec();
    if header_guides {
        let header = File::open(&files[0].0)
            .ok()
            .and_then(|file| m3u::Parser::new(BufReader::new(file)).header().map(|h| h.guide_urls.clone()));
        for url in header.unwrap_or_default() {
            if !guides.contains(&url) {
                guides.push(url);
            }
        }
    }
    for guide in &guides {
        files.push(open(guide).await?);
    }
    let names: Vec<String> = std::iter::once(playlist.to_owned()).chain(guides.iter().cloned()).collect();
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    let result = tokio::task::spawn_blocking(move || build(&names, &paths))
        .await
        .unwrap_or_else(|e| Err(SourceError::Io { source_name: "loader".into(), error: std::io::Error::other(e) }));
    for (path, temporary) in files {
        if temporary {
            let _ = std::fs::remove_file(path);
        }
    }
    result
}

fn build(names: &[String], paths: &[PathBuf]) -> Result<Loaded, SourceError> {
    fn io(name: &str) -> impl Fn(std::io::Error) -> SourceError + '_ {
        move |error| SourceError::Io { source_name: name.to_owned(), error }
    }
    let mut report = LoadReport::default();
    let playlist = m3u::read(BufReader::new(File::open(&paths[0]).map_err(io(&names[0]))?));
    // A playlist cut off by a read error must not look like a line-up
    // that lost its tail (a reload would remove those channels).
    if let Some(error) = playlist.read_error {
        return Err(SourceError::Io { source_name: names[0].clone(), error });
    }
    report.playlist_issues = playlist.issues.len();
    report
        .sample_issues
        .extend(playlist.issues.iter().take(20).map(|i| format!("{}:{}: {}", names[0], i.line, i.message)));
    let (header, entries) = (playlist.header, playlist.entries);
    report.entries = entries.len();
    let channels = catalog::channels(header.as_ref(), &entries);
    report.channels = channels.len();
    let mut guide_channels = Vec::new();
    let mut guide_programmes = Vec::new();
    for (name, path) in names.iter().zip(paths).skip(1) {
        let file = File::open(path).map_err(io(name))?;
        for item in xmltv::from_reader(file).map_err(io(name))? {
            match item {
                xmltv::Item::Channel(channel) => guide_channels.push(channel),
                xmltv::Item::Programme(programme) => guide_programmes.push(*programme),
                xmltv::Item::Issue(issue) => {
                    report.guide_issues += 1;
                    if report.sample_issues.len() < 20 {
                        report.sample_issues.push(format!("{name}:{}: {}", issue.line, issue.message));
                    }
                }
            }
        }
    }
    report.guide_channels = guide_channels.len();
    report.guide_programmes = guide_programmes.len();
    let matching = catalog::match_guide(&entries, &channels, &guide_channels);
    report.matched_by_id = matching.by_id;
    report.matched_by_tvg_name = matching.by_tvg_name;
    report.matched_by_name = matching.by_name;
    let programmes = catalog::programmes(&matching, guide_programmes);
    report.channels_with_guide = programmes.values().filter(|p| !p.is_empty()).count();
    report.programmes = programmes.values().map(Vec::len).sum();
    Ok(Loaded { channels, programmes, report })
}
