//! `IptvProvider` served from the loaded line-up, with the contract's
//! paging, sync tokens, streams, limits and error codes.

use std::{pin::Pin, sync::Arc, time::Duration};

use futures::Stream;
use hearth_platform::{error as perr, wkt};
use hearth_proto::hearth::provider::v1::{self as pb, iptv_provider_server::IptvProvider};
use time::OffsetDateTime;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::{
    lineup::{Lineup, PageToken, Snapshot, TokenError},
    users::Users,
};

/// ListChannels' default and largest pages.
const PAGE_DEFAULT: usize = 500;
const PAGE_MAX: usize = 1000;
/// Programmes per GetGuide message, channels per request.
const GUIDE_BATCH: usize = 1000;
const GUIDE_CHANNELS_MAX: usize = 1000;
/// Changes per WatchCatalog message.
const WATCH_BATCH: usize = 1000;
/// CheckEntitlement: users per call, and how long answers may be cached.
const USERS_MAX: usize = 1000;
/// BatchGetAssets: ids per call.
const ASSETS_MAX: usize = 100;
const ENTITLEMENT_TTL: Duration = Duration::from_secs(60);
/// The longest guide window and how far back one may start.
const WINDOW_MAX: time::Duration = time::Duration::days(21);
const PAST_MAX: time::Duration = time::Duration::days(30);

/// The adapter's IptvProvider.
#[derive(Clone)]
pub struct Provider {
    pub lineup: Lineup,
    pub users: Arc<Users>,
    /// Bearer key callers must present; None accepts any caller (local use).
    pub api_key: Option<String>,
    /// WatchCatalog's heartbeat (the contract: at least every 60 s).
    pub heartbeat: Duration,
}

type Stream_<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Opaque ids: 1–256 characters without control characters.
fn id(field: &str, value: &str) -> Result<(), Status> {
    if value.is_empty() || value.chars().count() > 256 || value.chars().any(char::is_control) {
        return Err(perr::invalid_field(field, "must be 1–256 characters without control characters"));
    }
    Ok(())
}

fn token_status(field: &str, error: TokenError) -> Status {
    match error {
        TokenError::Malformed => perr::invalid_field(field, "not a token this provider issued"),
        TokenError::Expired => perr::with_reason(
            Status::failed_precondition(format!("{field}: no longer valid; list everything again")),
            "sync_token_expired",
        ),
    }
}

impl Provider {
    fn authorize<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let Some(key) = &self.api_key else { return Ok(()) };
        hearth_platform::auth::check_static_key(request.metadata(), key, "provider API key")
    }

    /// A listing page of `changes` (one version's, computed whole).
    fn page(
        &self,
        snapshot: &Snapshot,
        base: Option<&Snapshot>,
        offset: usize,
        size: usize,
    ) -> pb::ListChannelsResponse {
        // A full listing pages the snapshot in place; an incremental one
        // pages the changes since its base.
        let changes;
        let (channels, removed): (&[pb::Channel], Vec<String>) = match base {
            Some(base) => {
                let (upserted, removed) = snapshot.changes_since(base);
                changes = upserted;
                (&changes, removed)
            }
            None => (&snapshot.channels, Vec::new()),
        };
        // Removals go out on the first page, channels page by page.
        let end = (offset + size).min(channels.len());
        let page: Vec<pb::Channel> = channels.get(offset..end).map(<[_]>::to_vec).unwrap_or_default();
        let last = end >= channels.len();
        pb::ListChannelsResponse {
            channels: page,
            removed_channel_ids: if offset == 0 { removed } else { Vec::new() },
            next_page_token: if last {
                String::new()
            } else {
                self.lineup.page_token(&PageToken {
                    version: snapshot.version,
                    base: base.map_or(0, |b| b.version),
                    offset: end,
                })
            },
            next_sync_token: if last { self.lineup.sync_token(snapshot.version) } else { String::new() },
            full_listing: false,
        }
    }
}

#[tonic::async_trait]
impl IptvProvider for Provider {
    async fn verify_user_token(
        &self,
        request: Request<pb::VerifyUserTokenRequest>,
    ) -> Result<Response<pb::VerifyUserTokenResponse>, Status> {
        self.authorize(&request)?;
        let token = request.into_inner().token;
        if token.is_empty() || token.len() > 8192 {
            return Err(perr::invalid_field("token", "must be 1–8192 characters"));
        }
        let user = self.users.by_token(&token).ok_or_else(|| Status::unauthenticated("unknown or expired token"))?;
        if user.suspended {
            return Err(perr::with_reason(Status::permission_denied("the account is suspended"), "account_suspended"));
        }
        Ok(Response::new(pb::VerifyUserTokenResponse {
            user: Some(pb::ProviderUser {
                provider_user_id: user.id.clone(),
                display_name: user.name.chars().take(64).collect(),
                // None: Hearth derives the username from the display name.
                username_hint: String::new(),
                ..Default::default()
            }),
            entitlements: Some(user.summary()),
            expire_time: None,
        }))
    }

    async fn list_channels(
        &self,
        request: Request<pb::ListChannelsRequest>,
    ) -> Result<Response<pb::ListChannelsResponse>, Status> {
        self.authorize(&request)?;
        let req = request.into_inner();
        let size = match req.page_size as usize {
            0 => PAGE_DEFAULT,
            n if n <= PAGE_MAX => n,
            _ => return Err(perr::invalid_field("page_size", "must be 0–1000")),
        };
        if req.page_token.len() > 1024 || req.sync_token.len() > 1024 {
            return Err(perr::invalid_field("page_token", "tokens are at most 1024 characters"));
        }
        if !req.page_token.is_empty() {
            let page = self.lineup.parse_page(&req.page_token).map_err(|e| token_status("page_token", e))?;
            let snapshot =
                self.lineup.version(page.version).ok_or_else(|| token_status("page_token", TokenError::Expired))?;
            let base = if page.base == 0 { None } else { self.lineup.version(page.base) };
            if page.offset > snapshot.channels.len() {
                return Err(perr::invalid_field("page_token", "not a token this provider issued"));
            }
            return Ok(Response::new(self.page(&snapshot, base.as_deref(), page.offset, size)));
        }
        let snapshot = self.lineup.current();
        let base = if req.sync_token.is_empty() {
            None
        } else {
            Some(self.lineup.parse_sync(&req.sync_token).map_err(|e| token_status("sync_token", e))?)
        };
        Ok(Response::new(self.page(&snapshot, base.as_deref(), 0, size)))
    }

    type WatchCatalogStream = Stream_<pb::WatchCatalogResponse>;

    async fn watch_catalog(
        &self,
        request: Request<pb::WatchCatalogRequest>,
    ) -> Result<Response<Self::WatchCatalogStream>, Status> {
        self.authorize(&request)?;
        let token = request.into_inner().sync_token;
        if token.is_empty() {
            return Err(perr::invalid_field("sync_token", "required (from ListChannels' last page)"));
        }
        let mut applied = self.lineup.parse_sync(&token).map_err(|e| token_status("sync_token", e))?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let (lineup, heartbeat) = (self.lineup.clone(), self.heartbeat);
        let mut versions = lineup.subscribe();
        tokio::spawn(async move {
            loop {
                let current = lineup.current();
                let batches: Vec<pb::WatchCatalogResponse> = if current.version == applied.version {
                    vec![pb::WatchCatalogResponse {
                        sync_token: lineup.sync_token(current.version),
                        ..Default::default()
                    }]
                } else {
                    let (upserted, removed) = current.changes_since(&applied);
                    let chunks = upserted.len().div_ceil(WATCH_BATCH).max(removed.len().div_ceil(WATCH_BATCH)).max(1);
                    (0..chunks)
                        .map(|i| pb::WatchCatalogResponse {
                            upserted: upserted.iter().skip(i * WATCH_BATCH).take(WATCH_BATCH).cloned().collect(),
                            removed_channel_ids: removed
                                .iter()
                                .skip(i * WATCH_BATCH)
                                .take(WATCH_BATCH)
                                .cloned()
                                .collect(),
                            // Only the last batch completes the version.
                            sync_token: if i + 1 == chunks {
                                lineup.sync_token(current.version)
                            } else {
                                lineup.sync_token(applied.version)
                            },
                        })
                        .collect()
                };
                for batch in batches {
                    if tx.send(Ok(batch)).await.is_err() {
                        return; // the caller hung up
                    }
                }
                applied = current;
                tokio::select! {
                    () = tx.closed() => return,
                    changed = versions.changed() => if changed.is_err() { return },
                    () = tokio::time::sleep(heartbeat) => {}
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    type GetGuideStream = Stream_<pb::GetGuideResponse>;

    async fn get_guide(&self, request: Request<pb::GetGuideRequest>) -> Result<Response<Self::GetGuideStream>, Status> {
        self.authorize(&request)?;
        let req = request.into_inner();
        let start = req
            .start_time
            .as_ref()
            .and_then(wkt::datetime)
            .ok_or_else(|| perr::invalid_field("start_time", "required"))?;
        let end =
            req.end_time.as_ref().and_then(wkt::datetime).ok_or_else(|| perr::invalid_field("end_time", "required"))?;
        if end <= start {
            return Err(perr::invalid_field("end_time", "must be after start_time"));
        }
        if end - start > WINDOW_MAX {
            return Err(perr::invalid_field("end_time", "the window is at most 21 days"));
        }
        if start < OffsetDateTime::now_utc() - PAST_MAX {
            return Err(perr::invalid_field("start_time", "must not be more than 30 days ago"));
        }
        if req.channel_ids.len() > GUIDE_CHANNELS_MAX {
            return Err(perr::invalid_field("channel_ids", "at most 1000"));
        }
        for (i, channel) in req.channel_ids.iter().enumerate() {
            id(&format!("channel_ids[{i}]"), channel)?;
        }
        let snapshot = self.lineup.current();
        let mut wanted: Vec<String> =
            if req.channel_ids.is_empty() { snapshot.programmes.keys().cloned().collect() } else { req.channel_ids };
        wanted.sort();
        wanted.dedup();
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(GUIDE_BATCH);
            for channel in &wanted {
                let Some(list) = snapshot.programmes.get(channel) else { continue };
                for programme in list {
                    let (Some(s), Some(e)) = (
                        programme.start_time.as_ref().and_then(wkt::datetime),
                        programme.end_time.as_ref().and_then(wkt::datetime),
                    ) else {
                        continue;
                    };
                    if s < end && e > start {
                        batch.push(programme.clone());
                    }
                    if batch.len() == GUIDE_BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(GUIDE_BATCH));
                        if tx.send(Ok(pb::GetGuideResponse { programmes: full })).await.is_err() {
                            return;
                        }
                    }
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(Ok(pb::GetGuideResponse { programmes: batch })).await;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn check_entitlement(
        &self,
        request: Request<pb::CheckEntitlementRequest>,
    ) -> Result<Response<pb::CheckEntitlementResponse>, Status> {
        self.authorize(&request)?;
        let req = request.into_inner();
        if req.provider_user_ids.is_empty() || req.provider_user_ids.len() > USERS_MAX {
            return Err(perr::invalid_field("provider_user_ids", "must hold 1–1000 user ids"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, user) in req.provider_user_ids.iter().enumerate() {
            id(&format!("provider_user_ids[{i}]"), user)?;
            if !seen.insert(user) {
                return Err(perr::invalid_field(&format!("provider_user_ids[{i}]"), "duplicate user id"));
            }
        }
        let snapshot = self.lineup.current();
        // What the target is: a channel, or a programme of a channel
        // (available while live or within its channel's catch-up window).
        let target: Result<&pb::Channel, pb::DenialReason> = match &req.target {
            None => return Err(perr::invalid_field("target", "one of channel_id, programme_id, asset_id is required")),
            Some(pb::check_entitlement_request::Target::ChannelId(channel)) => {
                id("channel_id", channel)?;
                snapshot.channel(channel).ok_or(pb::DenialReason::UnknownItem)
            }
            Some(pb::check_entitlement_request::Target::ProgrammeId(programme)) => {
                id("programme_id", programme)?;
                programme_target(&snapshot, programme)
            }
            Some(pb::check_entitlement_request::Target::AssetId(asset)) => {
                id("asset_id", asset)?;
                Err(pb::DenialReason::UnknownItem) // no VOD in a playlist
            }
        };
        let decisions = req
            .provider_user_ids
            .iter()
            .map(|user_id| {
                let verdict = match (self.users.by_id(user_id), &target) {
                    (None, _) => Err(pb::DenialReason::UnknownUser),
                    (Some(_), Err(reason)) => Err(*reason),
                    (Some(user), Ok(channel)) => user.may_watch(channel),
                };
                match verdict {
                    Ok(()) => pb::EntitlementDecision {
                        provider_user_id: user_id.clone(),
                        allowed: true,
                        ..Default::default()
                    },
                    Err(reason) => pb::EntitlementDecision {
                        provider_user_id: user_id.clone(),
                        allowed: false,
                        reason: reason as i32,
                        message: denial_message(reason).to_owned(),
                    },
                }
            })
            .collect();
        Ok(Response::new(pb::CheckEntitlementResponse { decisions, cache_ttl: Some(wkt::duration(ENTITLEMENT_TTL)) }))
    }

    async fn batch_get_assets(
        &self,
        request: Request<pb::BatchGetAssetsRequest>,
    ) -> Result<Response<pb::BatchGetAssetsResponse>, Status> {
        self.authorize(&request)?;
        let ids = request.into_inner().asset_ids;
        if ids.is_empty() || ids.len() > ASSETS_MAX {
            return Err(perr::invalid_field("asset_ids", "must hold 1–100 asset ids"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, asset) in ids.iter().enumerate() {
            id(&format!("asset_ids[{i}]"), asset)?;
            if !seen.insert(asset) {
                return Err(perr::invalid_field(&format!("asset_ids[{i}]"), "duplicate asset id"));
            }
        }
        // A playlist lists channels only: every asset id is unknown, and
        // unknown ids are left out (the contract), not errors.
        Ok(Response::new(pb::BatchGetAssetsResponse { assets: Vec::new() }))
    }
}

/// The channel of a programme id, if the programme can be watched now.
fn programme_target<'a>(snapshot: &'a Snapshot, programme_id: &str) -> Result<&'a pb::Channel, pb::DenialReason> {
    let (channel_id, _) = programme_id.rsplit_once('@').ok_or(pb::DenialReason::UnknownItem)?;
    let channel = snapshot.channel(channel_id).ok_or(pb::DenialReason::UnknownItem)?;
    let programme = snapshot
        .programmes
        .get(channel_id)
        .and_then(|list| list.iter().find(|p| p.programme_id == programme_id))
        .ok_or(pb::DenialReason::UnknownItem)?;
    let now = OffsetDateTime::now_utc();
    let start = programme.start_time.as_ref().and_then(wkt::datetime).ok_or(pb::DenialReason::UnknownItem)?;
    let end = programme.end_time.as_ref().and_then(wkt::datetime).ok_or(pb::DenialReason::UnknownItem)?;
    if start > now {
        return Err(pb::DenialReason::NotAvailable);
    }
    if end <= now {
        let window =
            channel.catchup.as_ref().and_then(|c| c.window.as_ref()).and_then(wkt::std_duration).unwrap_or_default();
        if end + window <= now {
            return Err(pb::DenialReason::NotAvailable);
        }
    }
    Ok(channel)
}

fn denial_message(reason: pb::DenialReason) -> &'static str {
    match reason {
        pb::DenialReason::NotSubscribed => "not in your packages",
        pb::DenialReason::ParentalControl => "blocked by parental control",
        pb::DenialReason::AccountSuspended => "your account is suspended",
        pb::DenialReason::UnknownUser => "unknown user",
        pb::DenialReason::UnknownItem => "unknown channel, programme or asset",
        pb::DenialReason::NotAvailable => "not available now (not started, or past its catch-up window)",
        _ => "not allowed",
    }
}
