//! The versions of the line-up this adapter has served, so that sync
//! tokens resume from where a caller left off (ListChannels, WatchCatalog)
//! and paging walks one consistent version even while a reload happens.
//!
//! Tokens are opaque to callers: `<epoch>.<version>` (sync) and
//! `<epoch>.<version>.<base>.<offset>` (page; base 0 for a full listing).
//! The epoch is this process's start, so a token from another run is
//! refused (FAILED_PRECONDITION) instead of silently diffing the wrong
//! versions.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use hearth_proto::hearth::provider::v1 as pb;
use prost::Message as _;
use tokio::sync::watch;

/// Versions kept for incremental syncs; older tokens get a full listing.
const HISTORY: usize = 32;

/// One version of the line-up and its guide.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub version: u64,
    /// Sorted by channel_id (the listing order).
    pub channels: Vec<pb::Channel>,
    /// channel_id → hash of the encoded channel, to tell what changed.
    fingerprints: HashMap<String, u64>,
    /// channel_id → its programmes, by start.
    pub programmes: BTreeMap<String, Vec<pb::Programme>>,
}

impl Snapshot {
    pub fn new(version: u64, mut channels: Vec<pb::Channel>, programmes: BTreeMap<String, Vec<pb::Programme>>) -> Self {
        channels.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
        let fingerprints = channels.iter().map(|c| (c.channel_id.clone(), fingerprint(c))).collect();
        Self { version, channels, fingerprints, programmes }
    }

    pub fn channel(&self, id: &str) -> Option<&pb::Channel> {
        self.channels.binary_search_by(|c| c.channel_id.as_str().cmp(id)).ok().map(|i| &self.channels[i])
    }

    /// What changed from `old` to this version: channels added or changed
    /// (listing order) and ids removed.
    pub fn changes_since(&self, old: &Snapshot) -> (Vec<pb::Channel>, Vec<String>) {
        let upserted = self
            .channels
            .iter()
            .filter(|c| old.fingerprints.get(&c.channel_id) != self.fingerprints.get(&c.channel_id))
            .cloned()
            .collect();
        let mut removed: Vec<String> =
            old.fingerprints.keys().filter(|id| !self.fingerprints.contains_key(*id)).cloned().collect();
        removed.sort();
        (upserted, removed)
    }
}

fn fingerprint(channel: &pb::Channel) -> u64 {
    channel
        .encode_to_vec()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// A sync or page token that is not one of ours.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not parseable: INVALID_ARGUMENT.
    Malformed,
    /// Ours once, but from another run or too old: FAILED_PRECONDITION.
    Expired,
}

/// A parsed page token.
#[derive(Debug, PartialEq, Eq)]
pub struct PageToken {
    pub version: u64,
    /// The sync base of an incremental listing; 0 for a full one.
    pub base: u64,
    pub offset: usize,
}

/// The served versions; cheap to clone.
#[derive(Clone)]
pub struct Lineup {
    epoch: u64,
    history: Arc<Mutex<VecDeque<Arc<Snapshot>>>>,
    current: watch::Sender<Arc<Snapshot>>,
}

impl Lineup {
    pub fn new(epoch: u64, first: Snapshot) -> Self {
        let first = Arc::new(first);
        let (current, _) = watch::channel(first.clone());
        Self { epoch, history: Arc::new(Mutex::new(VecDeque::from([first]))), current }
    }

    fn history(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<Snapshot>>> {
        self.history.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn current(&self) -> Arc<Snapshot> {
        self.current.borrow().clone()
    }

    /// Changes over to a new version (a reload that changed something).
    pub fn publish(&self, channels: Vec<pb::Channel>, programmes: BTreeMap<String, Vec<pb::Programme>>) -> u64 {
        let version = self.current().version + 1;
        let snapshot = Arc::new(Snapshot::new(version, channels, programmes));
        {
            let mut history = self.history();
            history.push_back(snapshot.clone());
            while history.len() > HISTORY {
                history.pop_front();
            }
        }
        self.current.send_replace(snapshot);
        version
    }

    /// Wakes on every published version.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.current.subscribe()
    }

    pub fn version(&self, version: u64) -> Option<Arc<Snapshot>> {
        self.history().iter().find(|s| s.version == version).cloned()
    }

    pub fn sync_token(&self, version: u64) -> String {
        format!("{}.{version}", self.epoch)
    }

    pub fn page_token(&self, page: &PageToken) -> String {
        format!("{}.{}.{}.{}", self.epoch, page.version, page.base, page.offset)
    }

    /// The version a sync token names.
    pub fn parse_sync(&self, token: &str) -> Result<Arc<Snapshot>, TokenError> {
        let mut parts = token.split('.');
        let (Some(epoch), Some(version), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed);
        };
        let (epoch, version) = (number(epoch)?, number(version)?);
        if epoch != self.epoch {
            return Err(TokenError::Expired);
        }
        self.version(version).ok_or(TokenError::Expired)
    }

    pub fn parse_page(&self, token: &str) -> Result<PageToken, TokenError> {
        let parts: Vec<&str> = token.split('.').collect();
        let [epoch, version, base, offset] = parts.as_slice() else { return Err(TokenError::Malformed) };
        if number(epoch)? != self.epoch {
            return Err(TokenError::Expired);
        }
        let page = PageToken {
            version: number(version)?,
            base: number(base)?,
            offset: usize::try_from(number(offset)?).map_err(|_| TokenError::Malformed)?,
        };
        if self.version(page.version).is_none() || (page.base != 0 && self.version(page.base).is_none()) {
            return Err(TokenError::Expired);
        }
        Ok(page)
    }
}

fn number(raw: &str) -> Result<u64, TokenError> {
    if raw.is_empty() || raw.len() > 20 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TokenError::Malformed);
    }
    raw.parse().map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(id: &str, name: &str) -> pb::Channel {
        pb::Channel {
            channel_id: id.into(),
            names: vec![pb::LocalizedString { language: String::new(), value: name.into() }],
            ..Default::default()
        }
    }

    #[test]
    fn changes_are_upserts_and_removals_in_listing_order() {
        let lineup = Lineup::new(7, Snapshot::new(1, vec![channel("b", "B"), channel("a", "A")], BTreeMap::new()));
        assert_eq!(lineup.current().channels.iter().map(|c| c.channel_id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        lineup.publish(vec![channel("a", "A2"), channel("c", "C")], BTreeMap::new());
        let old = lineup.parse_sync("7.1").expect("v1 kept");
        let (upserted, removed) = lineup.current().changes_since(&old);
        assert_eq!(upserted.iter().map(|c| c.channel_id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(removed, ["b"]);
        assert!(lineup.current().changes_since(&lineup.current()).0.is_empty());
    }

    #[test]
    fn tokens_from_elsewhere_are_refused_precisely() {
        let lineup = Lineup::new(7, Snapshot::new(1, vec![channel("a", "A")], BTreeMap::new()));
        assert_eq!(lineup.parse_sync("garbage").err(), Some(TokenError::Malformed));
        assert_eq!(lineup.parse_sync("7.x").err(), Some(TokenError::Malformed));
        assert_eq!(lineup.parse_sync("8.1").err(), Some(TokenError::Expired), "another run");
        assert_eq!(lineup.parse_sync("7.9").err(), Some(TokenError::Expired), "unknown version");
        let page = PageToken { version: 1, base: 0, offset: 500 };
        assert_eq!(lineup.parse_page(&lineup.page_token(&page)), Ok(page));
        assert_eq!(lineup.parse_page("7.1.0").err(), Some(TokenError::Malformed));
        for _ in 0..HISTORY {
            lineup.publish(vec![channel("a", "A")], BTreeMap::new());
        }
        assert_eq!(lineup.parse_sync("7.1").err(), Some(TokenError::Expired), "fell out of the history");
    }
}
