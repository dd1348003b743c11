//! Display data of users (UserRef) from the identity service, so clients
//! can render who is in a room without a lookup per member. Cached for a
//! minute; when identity is unreachable rooms still answer, with user ids
//! only.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::grpc::TracedChannel;
use hearth_proto::{
    hearth::common::v1::UserRef,
    identity::{GetProfilesRequest, identity_service_client::IdentityServiceClient},
};
use uuid::Uuid;

/// How long a profile is reused.
const TTL: Duration = Duration::from_secs(60);
/// Entries kept at most; the cache starts over beyond.
const CAPACITY: usize = 50_000;
/// Ids per GetProfiles call (the identity service's limit).
const BATCH: usize = 100;

#[derive(Clone)]
pub struct Profiles {
    client: Option<IdentityServiceClient<TracedChannel>>,
    cache: Arc<Mutex<HashMap<Uuid, (Instant, UserRef)>>>,
}

impl Profiles {
    pub fn new(client: Option<IdentityServiceClient<TracedChannel>>) -> Self {
        Self { client, cache: Arc::new(Mutex::new(HashMap::new())) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (Instant, UserRef)>> {
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// UserRefs of `ids`: cached, fetched, or bare ids for unknown users.
    pub async fn refs(&self, ids: &[Uuid]) -> HashMap<Uuid, UserRef> {
        let now = Instant::now();
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        {
            let cache = self.lock();
            for id in ids {
                match cache.get(id) {
                    Some((at, user)) if now.duration_since(*at) < TTL => {
                        found.insert(*id, user.clone());
                    }
                    _ => missing.push(*id),
                }
            }
        }
        if let Some(client) = &self.client {
            for chunk in missing.chunks(BATCH) {
                let request = GetProfilesRequest { user_ids: chunk.iter().map(Uuid::to_string).collect() };
                match client.clone().get_profiles(request).await {
                    Ok(response) => {
                        let mut cache = self.lock();
                        if cache.len() > CAPACITY {
                            cache.clear();
                        }
                        // Users identity does not know are remembered too, as bare ids.
                        for id in chunk {
                            cache.insert(*id, (now, UserRef { user_id: id.to_string(), ..Default::default() }));
                        }
                        for profile in response.into_inner().profiles {
                            let Ok(id) = Uuid::parse_str(&profile.user_id) else { continue };
                            let user = UserRef {
                                user_id: profile.user_id,
                                username: profile.username,
                                display_name: profile.display_name,
                                avatar_url: profile.avatar_url,
                            };
                            cache.insert(id, (now, user.clone()));
                            found.insert(id, user);
                        }
                    }
                    Err(status) => {
                        tracing::debug!(code = ?status.code(), "profiles unavailable; showing user ids only");
                        break;
                    }
                }
            }
        }
        for id in ids {
            found.entry(*id).or_insert_with(|| UserRef { user_id: id.to_string(), ..Default::default() });
        }
        found
    }

    /// Which of `ids` are accounts identity knows; `None` when identity
    /// cannot tell (unreachable or not configured), so that callers skip
    /// the check rather than treat everyone as unknown.
    pub async fn existing(&self, ids: &[Uuid]) -> Option<std::collections::HashSet<Uuid>> {
        let client = self.client.as_ref()?;
        let mut known = std::collections::HashSet::new();
        for chunk in ids.chunks(BATCH) {
            let request = GetProfilesRequest { user_ids: chunk.iter().map(Uuid::to_string).collect() };
            let response = client.clone().get_profiles(request).await.ok()?;
            known.extend(response.into_inner().profiles.iter().filter_map(|p| Uuid::parse_str(&p.user_id).ok()));
        }
        Some(known)
    }

    /// One user's ref.
    pub async fn one(&self, id: Uuid) -> UserRef {
        self.refs(&[id]).await.remove(&id).unwrap_or_else(|| UserRef { user_id: id.to_string(), ..Default::default() })
    }
}
