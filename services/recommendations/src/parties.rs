//! "A friend started a watch party": when someone who shares their watch
//! parties (SharingSettings.share_watch_parties, off by default) starts a
//! joinable one, the people in their chosen audience get a
//! `friend_started_party` personal event. Private parties are never
//! announced (they are joined by invitation), nor sensitive ones, nor to
//! anyone with a block either way.

use hearth_proto::hearth::{
    events::v1::FriendStartedParty, recommendations::v1::EngagementSignal, rooms::v1::RoomVisibility,
};
use uuid::Uuid;

use crate::{domain::privacy::Audience, error::Result, events::Events, peers::Peers, state::now_ms, store::Store};

/// Most followers one announcement reaches.
const AUDIENCE_MAX: usize = 100_000;

#[derive(Clone)]
pub struct Parties {
    pub store: Store,
    pub peers: Peers,
    pub events: Events,
}

impl Parties {
    /// Announces the parties these WATCH_PARTY_STARTED signals report.
    pub async fn announce(&self, started: &[EngagementSignal]) {
        for signal in started {
            if let Err(error) = self.announce_one(signal).await {
                tracing::warn!(%error, room = %signal.room_id, "watch party not announced to friends");
            }
        }
    }

    async fn announce_one(&self, signal: &EngagementSignal) -> Result<()> {
        let (Ok(host), Ok(room)) = (Uuid::parse_str(&signal.user_id), Uuid::parse_str(&signal.room_id)) else {
            return Ok(());
        };
        let visibility = RoomVisibility::try_from(signal.room_visibility).unwrap_or(RoomVisibility::Private);
        if signal.sensitive || visibility == RoomVisibility::Private || visibility == RoomVisibility::Unspecified {
            return Ok(());
        }
        let Some(sharing) = self.store.sharing(&[host]).await?.remove(&host) else { return Ok(()) };
        if !sharing.share_watch_parties || sharing.paused_until_ms.is_some_and(|until| until > now_ms()) {
            return Ok(());
        }
        let service = self.peers.as_service()?;
        let mut audience = self.peers.followers(&service, host, AUDIENCE_MAX).await?;
        if sharing.audience == Audience::MutualFollowers {
            let following = self.peers.following(&service, host, AUDIENCE_MAX).await?;
            audience.retain(|f| following.contains(f));
        }
        if audience.is_empty() {
            return Ok(());
        }
        let blocked = self.peers.blocks_with(host, &audience).await?;
        audience.retain(|f| !blocked.contains(f));
        let event = FriendStartedParty {
            friend: Some(self.peers.profiles.one(host).await),
            room_id: room.to_string(),
            room_title: signal.room_title.clone(),
            media_summary: None,
            // Entitlement is checked when they join.
            joinable: true,
        };
        self.events.friend_started_party(&audience, &event).await;
        Ok(())
    }
}
