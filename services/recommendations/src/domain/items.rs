//! Items recommendations are about: provider channels, programmes and VOD
//! assets, and rooms. One string key per item (`channel:<id>`, …) names it
//! in Postgres, Redis and the models.

use hearth_proto::hearth::{
    common::v1::{MediaRef, media_ref},
    recommendations::v1::ItemKind,
};

/// A recommendable item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Item {
    Channel(String),
    Programme(String),
    Asset(String),
    Room(String),
}

impl Item {
    /// The item a media reference names; None for direct URLs (not
    /// recommendable: nobody else can be told where they lead).
    pub fn from_media(media: &MediaRef) -> Option<Item> {
        match media.kind.as_ref()? {
            media_ref::Kind::ChannelId(id) => Some(Item::Channel(id.clone())),
            media_ref::Kind::ProgrammeId(id) => Some(Item::Programme(id.clone())),
            media_ref::Kind::AssetId(id) => Some(Item::Asset(id.clone())),
            media_ref::Kind::Url(_) => None,
        }
        .filter(|item| !item.id().is_empty())
    }

    /// Its key: `channel:<id>`, `programme:<id>`, `asset:<id>`, `room:<uuid>`.
    pub fn key(&self) -> String {
        let (kind, id) = self.parts();
        format!("{kind}:{id}")
    }

    /// Parses a key made by [`Item::key`].
    pub fn parse(key: &str) -> Option<Item> {
        let (kind, id) = key.split_once(':')?;
        if id.is_empty() {
            return None;
        }
        let id = id.to_owned();
        Some(match kind {
            "channel" => Item::Channel(id),
            "programme" => Item::Programme(id),
            "asset" => Item::Asset(id),
            "room" => Item::Room(id),
            _ => return None,
        })
    }

    fn parts(&self) -> (&'static str, &str) {
        match self {
            Item::Channel(id) => ("channel", id),
            Item::Programme(id) => ("programme", id),
            Item::Asset(id) => ("asset", id),
            Item::Room(id) => ("room", id),
        }
    }

    pub fn id(&self) -> &str {
        self.parts().1
    }

    pub fn kind(&self) -> ItemKind {
        match self {
            Item::Channel(_) => ItemKind::Channel,
            Item::Programme(_) => ItemKind::Programme,
            Item::Asset(_) => ItemKind::VodAsset,
            Item::Room(_) => ItemKind::Room,
        }
    }

    /// The media reference of a channel, programme or asset.
    pub fn media(&self) -> Option<MediaRef> {
        let kind = match self {
            Item::Channel(id) => media_ref::Kind::ChannelId(id.clone()),
            Item::Programme(id) => media_ref::Kind::ProgrammeId(id.clone()),
            Item::Asset(id) => media_ref::Kind::AssetId(id.clone()),
            Item::Room(_) => return None,
        };
        Some(MediaRef { kind: Some(kind) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_urls_are_not_items() {
        for item in [
            Item::Channel("c:1".into()),
            Item::Programme("p@1".into()),
            Item::Asset("a".into()),
            Item::Room("r".into()),
        ] {
            assert_eq!(Item::parse(&item.key()), Some(item));
        }
        assert_eq!(Item::parse("teapot:1"), None);
        assert_eq!(Item::parse("channel:"), None);
        let url = MediaRef { kind: Some(media_ref::Kind::Url("https://x/y.m3u8".into())) };
        assert_eq!(Item::from_media(&url), None);
    }
}
