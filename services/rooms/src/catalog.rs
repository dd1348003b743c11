//! The provider role's CatalogService as rooms uses it: entitlement checks,
//! now/next, programmes and guides. Constructed from `services.provider_url`;
//! empty means no catalog (no now/next, everyone entitled), and so does a
//! listener without CatalogService (UNIMPLEMENTED: the provider role is not
//! deployed). Any other failure of an entitlement check refuses the act
//! (UNAVAILABLE `catalog_unavailable`): it never lets anyone through.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use hearth_platform::{auth::ServiceCredential, grpc::TracedChannel};
use hearth_proto::hearth::provider::v1::{
    BatchCheckEntitlementRequest, BatchGetNowNextRequest, BatchGetProgrammesRequest, ChannelNowNext, DenialReason,
    ListGuideRequest, Programme, batch_check_entitlement_request::Target, catalog_service_client::CatalogServiceClient,
};
use tonic::{Code, Request, Status, metadata::MetadataValue};
use uuid::Uuid;

use crate::{
    domain::{
        catalog::{self, Decision, Denial},
        fields::Media,
    },
    error::{Result, RoomsError},
    grpc::convert,
    state::now_ms,
};

/// Users per BatchCheckEntitlement (the catalog's limit).
const ENTITLEMENT_BATCH: usize = 1000;
/// How long a programme looked up by id is reused (titles and times of a
/// programme room's programme rarely change, and guide updates re-sync
/// the rooms anyway).
const PROGRAMME_TTL: Duration = Duration::from_secs(300);
/// How long a failed now/next lookup is not retried, so a catalog outage
/// does not turn every snapshot into a timeout.
const FAILURE_TTL: Duration = Duration::from_secs(5);
/// Cache entries kept at most; the cache starts over beyond.
const CACHE_MAX: usize = 20_000;

type Cache<T> = Arc<Mutex<HashMap<String, (Instant, Option<T>)>>>;

/// The catalog client; cheap to clone. `None` inside: no catalog.
#[derive(Clone)]
pub struct Catalog {
    inner: Option<Inner>,
}

#[derive(Clone)]
struct Inner {
    client: CatalogServiceClient<TracedChannel>,
    credential: ServiceCredential,
    now_next: Cache<ChannelNowNext>,
    programmes: Cache<Programme>,
}

/// An answer that means "there is no catalog here".
fn no_catalog(status: &Status) -> bool {
    status.code() == Code::Unimplemented
}

fn lookup<T: Clone>(cache: &Cache<T>, key: &str) -> Option<Option<T>> {
    let cache = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match cache.get(key) {
        Some((until, value)) if Instant::now() < *until => Some(value.clone()),
        _ => None,
    }
}

fn remember<T>(cache: &Cache<T>, key: &str, value: Option<T>, ttl: Duration) {
    let mut cache = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if cache.len() >= CACHE_MAX {
        cache.clear();
    }
    cache.insert(key.to_owned(), (Instant::now() + ttl, value));
}

fn denial(raw: i32) -> Denial {
    match DenialReason::try_from(raw).unwrap_or(DenialReason::Other) {
        DenialReason::NotSubscribed => Denial::NotSubscribed,
        DenialReason::GeoBlocked => Denial::GeoBlocked,
        DenialReason::ParentalControl => Denial::ParentalControl,
        DenialReason::ConcurrencyLimit => Denial::ConcurrencyLimit,
        DenialReason::AccountSuspended => Denial::AccountSuspended,
        DenialReason::UnknownUser => Denial::UnknownUser,
        DenialReason::UnknownItem => Denial::UnknownItem,
        DenialReason::NotAvailable => Denial::NotAvailable,
        DenialReason::Other | DenialReason::Unspecified => Denial::Other,
    }
}

fn unavailable(status: &Status) -> RoomsError {
    tracing::warn!(code = ?status.code(), message = status.message(), "catalog entitlement check failed");
    RoomsError::Unavailable(
        "catalog_unavailable",
        "the TV catalog cannot confirm that you may watch this right now; retry".into(),
    )
}

impl Catalog {
    /// A client of `url`; empty (or unusable) means no catalog.
    pub fn new(url: &str, connect_timeout: Duration, request_timeout: Duration, credential: ServiceCredential) -> Self {
        if url.trim().is_empty() {
            return Self::none();
        }
        match hearth_platform::grpc::channel(url, connect_timeout, request_timeout) {
            Ok(channel) => Self {
                inner: Some(Inner {
                    client: CatalogServiceClient::new(channel),
                    credential,
                    now_next: Arc::default(),
                    programmes: Arc::default(),
                }),
            },
            Err(error) => {
                tracing::warn!(%error, "catalog unreachable: no now/next, and everyone is entitled");
                Self::none()
            }
        }
    }

    /// No catalog: no now/next, everyone entitled.
    pub fn none() -> Self {
        Self { inner: None }
    }

    fn request<T>(inner: &Inner, message: T) -> Result<Request<T>> {
        let bearer = inner.credential.bearer()?;
        let value = MetadataValue::try_from(bearer).map_err(|_| RoomsError::Internal("service token".into()))?;
        let mut request = Request::new(message);
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }

    /// Whether each of `users` may watch `media`, in order. URLs and a
    /// missing catalog allow everyone; a catalog that cannot answer is
    /// UNAVAILABLE. Asks in batches of 1000.
    pub async fn entitlements(&self, users: &[Uuid], media: &Media) -> Result<Vec<Decision>> {
        let allowed = || users.iter().copied().map(Decision::allowed).collect();
        let (Some(inner), Some(target)) = (&self.inner, catalog::entitlement_target(media)) else {
            return Ok(allowed());
        };
        let target = match target {
            Media::Channel(id) => Target::ChannelId(id.clone()),
            Media::Programme(id) => Target::ProgrammeId(id.clone()),
            Media::Asset(id) => Target::AssetId(id.clone()),
            Media::Url(_) => return Ok(allowed()),
        };
        let mut decisions = Vec::with_capacity(users.len());
        for chunk in users.chunks(ENTITLEMENT_BATCH) {
            let message = BatchCheckEntitlementRequest {
                user_ids: chunk.iter().map(Uuid::to_string).collect(),
                target: Some(target.clone()),
            };
            let answer = match inner.client.clone().batch_check_entitlement(Self::request(inner, message)?).await {
                Ok(answer) => answer.into_inner(),
                Err(status) if no_catalog(&status) => return Ok(allowed()),
                Err(status) => return Err(unavailable(&status)),
            };
            // Matched by user id: a reordered or short answer never lets
            // the wrong user through, and a missing one is refused.
            let by_user: HashMap<String, _> = answer.decisions.into_iter().map(|d| (d.user_id.clone(), d)).collect();
            for user in chunk {
                decisions.push(match by_user.get(&user.to_string()) {
                    Some(d) if d.allowed => Decision::allowed(*user),
                    Some(d) => Decision { user: *user, denial: Some(denial(d.reason)), message: d.message.clone() },
                    None => Decision { user: *user, denial: Some(Denial::Other), message: String::new() },
                });
            }
        }
        Ok(decisions)
    }

    /// What is on `channel` now and next: cached until the programme on now
    /// ends (at most 30 s). `None` without a catalog or when it cannot
    /// answer (a snapshot then simply has no now/next).
    pub async fn now_next(&self, channel: &str) -> Option<ChannelNowNext> {
        let inner = self.inner.as_ref()?;
        if let Some(cached) = lookup(&inner.now_next, channel) {
            return cached;
        }
        let message = BatchGetNowNextRequest { channel_ids: vec![channel.to_owned()], at: None };
        let request = Self::request(inner, message).ok()?;
        match inner.client.clone().batch_get_now_next(request).await {
            Ok(answer) => {
                let found = answer.into_inner().channels.into_iter().find(|c| c.channel_id == channel);
                self.remember_now_next(channel, found.clone());
                found
            }
            Err(status) => {
                if !no_catalog(&status) {
                    tracing::debug!(code = ?status.code(), %channel, "now/next unavailable");
                }
                let ttl = if no_catalog(&status) { catalog::NOW_NEXT_TTL } else { FAILURE_TTL };
                remember(&inner.now_next, channel, None, ttl);
                None
            }
        }
    }

    /// Replaces the cached now/next of a channel (a NowChanged event said
    /// what airs now), so this replica's snapshots follow at once.
    pub fn remember_now_next(&self, channel: &str, value: Option<ChannelNowNext>) {
        let Some(inner) = &self.inner else { return };
        let end = value
            .as_ref()
            .and_then(|v| v.now.as_ref())
            .and_then(|p| p.end_time.as_ref())
            .map(|t| t.seconds.saturating_mul(1000));
        remember(&inner.now_next, channel, value, catalog::now_next_ttl(now_ms(), end));
    }

    /// One programme by id, cached for a few minutes; `None` when unknown,
    /// without a catalog, or when it cannot answer.
    pub async fn programme(&self, id: &str) -> Option<Programme> {
        let inner = self.inner.as_ref()?;
        if let Some(cached) = lookup(&inner.programmes, id) {
            return cached;
        }
        let request = Self::request(inner, BatchGetProgrammesRequest { programme_ids: vec![id.to_owned()] }).ok()?;
        match inner.client.clone().batch_get_programmes(request).await {
            Ok(answer) => {
                let found = answer.into_inner().programmes.into_iter().find(|p| p.programme_id == id);
                remember(&inner.programmes, id, found.clone(), PROGRAMME_TTL);
                found
            }
            Err(status) => {
                remember(&inner.programmes, id, None, FAILURE_TTL);
                if !no_catalog(&status) {
                    tracing::debug!(code = ?status.code(), programme = %id, "programme lookup failed");
                }
                None
            }
        }
    }

    /// The guide of `channel` over `[start, end)`. `Ok(None)` when there is
    /// no catalog or the channel is unknown to it (nothing to sync); `Err`
    /// when it should be asked again later.
    pub async fn guide(
        &self,
        channel: &str,
        start: time::OffsetDateTime,
        end: time::OffsetDateTime,
    ) -> Result<Option<Vec<Programme>>, String> {
        let Some(inner) = &self.inner else { return Ok(None) };
        let message = ListGuideRequest {
            channel_id: channel.to_owned(),
            start_time: Some(convert::timestamp(start)),
            end_time: Some(convert::timestamp(end)),
        };
        let request = Self::request(inner, message).map_err(|e| e.to_string())?;
        match inner.client.clone().list_guide(request).await {
            Ok(answer) => Ok(Some(answer.into_inner().programmes)),
            Err(status) if no_catalog(&status) || status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(format!("ListGuide: {:?} {}", status.code(), status.message())),
        }
    }

    /// Whether there is a catalog at all.
    pub fn configured(&self) -> bool {
        self.inner.is_some()
    }
}
