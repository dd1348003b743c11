//! The services recommendations ask: identity (who the caller follows, who
//! follows them, whom they blocked — as the caller), rooms (a room's title
//! and members — as the caller) and the provider role's catalog (titles,
//! images and what airs next — with this replica's service credential).
//! Display data is cached briefly: lists are read far more often than
//! titles change.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use hearth_platform::{auth::ServiceCredential, grpc::TracedChannel, profiles::Profiles};
use hearth_proto::{
    hearth::{
        common::v1::PageRequest,
        provider::v1::{
            BatchGetChannelsRequest, BatchGetNowNextRequest, BatchGetProgrammesRequest, Channel, ChannelNowNext,
            Programme, catalog_service_client::CatalogServiceClient,
        },
        rooms::v1::{
            GetAccessRequest, GetAccessResponse, ListMembersRequest,
            room_access_service_client::RoomAccessServiceClient, rooms_service_client::RoomsServiceClient,
        },
    },
    identity::{
        BatchCheckBlocksRequest, ListBlockedIdsRequest, ListFollowersRequest, ListFollowingRequest,
        identity_service_client::IdentityServiceClient,
    },
};
use tonic::{Code, Request, metadata::MetadataValue};
use uuid::Uuid;

use crate::error::{RecsError, Result};

/// How long catalog display data is reused.
const DISPLAY_TTL: Duration = Duration::from_secs(60);
/// How long a user's follow lists are reused.
const GRAPH_TTL: Duration = Duration::from_secs(20);
/// Entries kept per cache at most; a cache starts over beyond.
const CACHE_MAX: usize = 50_000;

type Cache<K, V> = Arc<Mutex<HashMap<K, (Instant, V)>>>;

fn cached<K: std::hash::Hash + Eq, V: Clone>(cache: &Cache<K, V>, key: &K, ttl: Duration) -> Option<V> {
    let cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    cache.get(key).filter(|(at, _)| at.elapsed() < ttl).map(|(_, v)| v.clone())
}

fn remember<K: std::hash::Hash + Eq, V>(cache: &Cache<K, V>, key: K, value: V) {
    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= CACHE_MAX {
        cache.clear();
    }
    cache.insert(key, (Instant::now(), value));
}

/// Values by id through a cache: cached answers (known or unknown) are
/// reused for [`DISPLAY_TTL`]; the rest are fetched 100 at a time with
/// `fetch`, whose failures leave those ids out (uncached, tried again).
async fn lookup<T, F, Fut>(cache: &Cache<String, Option<T>>, ids: &[String], fetch: F) -> HashMap<String, T>
where
    T: Clone,
    F: Fn(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Option<HashMap<String, T>>>,
{
    let mut found = HashMap::new();
    let mut missing = Vec::new();
    for id in ids {
        match cached(cache, id, DISPLAY_TTL) {
            Some(Some(value)) => {
                found.insert(id.clone(), value);
            }
            Some(None) => {}
            None => missing.push(id.clone()),
        }
    }
    missing.sort();
    missing.dedup();
    for chunk in missing.chunks(100) {
        let Some(mut got) = fetch(chunk.to_vec()).await else { continue };
        for id in chunk {
            let value = got.remove(id);
            if let Some(value) = &value {
                found.insert(id.clone(), value.clone());
            }
            remember(cache, id.clone(), value);
        }
    }
    found
}

/// Which side of the follow graph.
#[derive(Clone, Copy)]
enum Direction {
    Following,
    Followers,
}

/// The caller's credentials, forwarded on calls made on their behalf.
#[derive(Clone)]
pub struct Caller {
    pub id: Uuid,
    pub authorization: MetadataValue<tonic::metadata::Ascii>,
}

impl Caller {
    pub fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.metadata_mut().insert("authorization", self.authorization.clone());
        request
    }
}

#[derive(Clone)]
pub struct Peers {
    pub identity: IdentityServiceClient<TracedChannel>,
    pub rooms: RoomsServiceClient<TracedChannel>,
    pub access: RoomAccessServiceClient<TracedChannel>,
    pub catalog: Option<CatalogServiceClient<TracedChannel>>,
    pub credential: ServiceCredential,
    pub profiles: Profiles,
    channels: Cache<String, Option<Channel>>,
    programmes: Cache<String, Option<Programme>>,
    following: Cache<Uuid, Vec<Uuid>>,
    followers: Cache<Uuid, Vec<Uuid>>,
}

impl Peers {
    pub fn new(
        identity: IdentityServiceClient<TracedChannel>,
        rooms: RoomsServiceClient<TracedChannel>,
        access: RoomAccessServiceClient<TracedChannel>,
        catalog: Option<CatalogServiceClient<TracedChannel>>,
        credential: ServiceCredential,
    ) -> Self {
        Self {
            profiles: Profiles::new(Some(identity.clone())),
            identity,
            rooms,
            access,
            catalog,
            credential,
            channels: Arc::default(),
            programmes: Arc::default(),
            following: Arc::default(),
            followers: Arc::default(),
        }
    }

    fn service<T>(&self, message: T) -> Result<Request<T>> {
        let bearer = self.credential.bearer()?;
        let value = bearer.parse().map_err(|_| RecsError::Upstream(tonic::Status::internal("service token")))?;
        let mut request = Request::new(message);
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }

    /// This replica acting for itself (background work: no user asked).
    pub fn as_service(&self) -> Result<Caller> {
        let bearer = self.credential.bearer()?;
        let authorization =
            bearer.parse().map_err(|_| RecsError::Upstream(tonic::Status::internal("service token")))?;
        Ok(Caller { id: Uuid::nil(), authorization })
    }

    /// Everyone `user` follows (at most `max`), as seen by the caller.
    pub async fn following(&self, caller: &Caller, user: Uuid, max: usize) -> Result<Vec<Uuid>> {
        self.edges(caller, user, max, Direction::Following).await
    }

    /// Everyone who follows `user` (at most `max`), as seen by the caller.
    pub async fn followers(&self, caller: &Caller, user: Uuid, max: usize) -> Result<Vec<Uuid>> {
        self.edges(caller, user, max, Direction::Followers).await
    }

    async fn edges(&self, caller: &Caller, user: Uuid, max: usize, direction: Direction) -> Result<Vec<Uuid>> {
        let cache = match direction {
            Direction::Following => &self.following,
            Direction::Followers => &self.followers,
        };
        if let Some(hit) = cached(cache, &user, GRAPH_TTL) {
            return Ok(hit);
        }
        let mut found = Vec::new();
        let mut page_token = String::new();
        loop {
            let (user_id, page_size) = (user.to_string(), 100);
            let mut identity = self.identity.clone();
            let page = match direction {
                Direction::Following => identity
                    .list_following(caller.request(ListFollowingRequest { user_id, page_size, page_token }))
                    .await
                    .map(|r| r.into_inner())
                    .map(|p| (p.following, p.next_page_token)),
                Direction::Followers => identity
                    .list_followers(caller.request(ListFollowersRequest { user_id, page_size, page_token }))
                    .await
                    .map(|r| r.into_inner())
                    .map(|p| (p.followers, p.next_page_token)),
            };
            let (edges, next) = match page {
                Ok(page) => page,
                // An account identity does not know has no follow edges.
                Err(status) if status.code() == Code::NotFound => break,
                Err(status) => return Err(status.into()),
            };
            found.extend(
                edges.iter().filter_map(|e| e.profile.as_ref()).filter_map(|p| Uuid::parse_str(&p.user_id).ok()),
            );
            if next.is_empty() || found.len() >= max {
                break;
            }
            page_token = next;
        }
        found.truncate(max);
        remember(cache, user, found.clone());
        Ok(found)
    }

    /// Whom the caller blocked.
    pub async fn blocked(&self, caller: &Caller) -> Result<Vec<Uuid>> {
        let answer = self.identity.clone().list_blocked_ids(caller.request(ListBlockedIdsRequest {})).await?;
        Ok(answer.into_inner().user_ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect())
    }

    /// Which of `others` have a block with `user`, either way.
    pub async fn blocks_with(&self, user: Uuid, others: &[Uuid]) -> Result<std::collections::HashSet<Uuid>> {
        let mut found = std::collections::HashSet::new();
        for chunk in others.chunks(1000) {
            let request = self.service(BatchCheckBlocksRequest {
                user_id: user.to_string(),
                other_user_ids: chunk.iter().map(Uuid::to_string).collect(),
            })?;
            let answer = self.identity.clone().batch_check_blocks(request).await?.into_inner();
            found.extend(answer.blocked_user_ids.iter().filter_map(|id| Uuid::parse_str(id).ok()));
        }
        Ok(found)
    }

    /// A room as the caller may see it; None when unknown.
    pub async fn room(&self, caller: &Caller, room: Uuid) -> Result<Option<GetAccessResponse>> {
        let request = GetAccessRequest { room_id: room.to_string(), user_ids: Vec::new() };
        match self.access.clone().get_access(caller.request(request)).await {
            Ok(answer) => Ok(Some(answer.into_inner())),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(status.into()),
        }
    }

    /// A room's members (at most `max`), listed as the caller.
    pub async fn members(&self, caller: &Caller, room: Uuid, max: usize) -> Result<Vec<Uuid>> {
        let mut found = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = ListMembersRequest {
                room_id: room.to_string(),
                page: Some(PageRequest { page_size: 100, page_token }),
                ..Default::default()
            };
            let page = self.rooms.clone().list_members(caller.request(request)).await?.into_inner();
            found.extend(
                page.members.iter().filter_map(|m| m.user.as_ref()).filter_map(|u| Uuid::parse_str(&u.user_id).ok()),
            );
            let next = page.page.map(|p| p.next_page_token).unwrap_or_default();
            if next.is_empty() || found.len() >= max {
                break;
            }
            page_token = next;
        }
        found.truncate(max);
        Ok(found)
    }

    /// Catalog channels by id (cached); unknown ones are absent.
    pub async fn channels(&self, ids: &[String]) -> HashMap<String, Channel> {
        let Some(catalog) = &self.catalog else { return HashMap::new() };
        lookup(&self.channels, ids, |chunk| {
            let mut catalog = catalog.clone();
            let request = self.service(BatchGetChannelsRequest { channel_ids: chunk });
            async move {
                let answer = catalog.batch_get_channels(request.ok()?).await.ok()?.into_inner();
                Some(answer.channels.into_iter().map(|c| (c.channel_id.clone(), c)).collect())
            }
        })
        .await
    }

    /// Catalog programmes by id (cached); unknown ones are absent.
    pub async fn programmes(&self, ids: &[String]) -> HashMap<String, Programme> {
        let Some(catalog) = &self.catalog else { return HashMap::new() };
        lookup(&self.programmes, ids, |chunk| {
            let mut catalog = catalog.clone();
            let request = self.service(BatchGetProgrammesRequest { programme_ids: chunk });
            async move {
                let answer = catalog.batch_get_programmes(request.ok()?).await.ok()?.into_inner();
                Some(answer.programmes.into_iter().map(|p| (p.programme_id.clone(), p)).collect())
            }
        })
        .await
    }

    /// What airs now and next on channels (≤ 100 per call, uncached: it
    /// moves).
    pub async fn now_next(&self, channels: &[String]) -> Vec<ChannelNowNext> {
        let Some(catalog) = &self.catalog else { return Vec::new() };
        let mut found = Vec::new();
        for chunk in channels.chunks(100) {
            let Ok(request) = self.service(BatchGetNowNextRequest { channel_ids: chunk.to_vec(), at: None }) else {
                break;
            };
            match catalog.clone().batch_get_now_next(request).await {
                Ok(answer) => found.extend(answer.into_inner().channels),
                Err(status) => tracing::debug!(code = ?status.code(), "now/next unavailable"),
            }
        }
        found
    }
}
