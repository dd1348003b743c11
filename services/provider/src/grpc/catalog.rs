//! CatalogService: channels, now/next and the guide as Hearth holds them,
//! and entitlement checks for Hearth users.

use hearth_platform::{
    auth::TokenKeys,
    validate::{self, FieldError},
};
use hearth_proto::hearth::provider::v1::{
    BatchCheckEntitlementRequest, BatchCheckEntitlementResponse, BatchGetChannelsRequest, BatchGetChannelsResponse,
    BatchGetNowNextRequest, BatchGetNowNextResponse, BatchGetProgrammesRequest, BatchGetProgrammesResponse,
    ChannelNowNext, ListGuideRequest, ListGuideResponse, batch_check_entitlement_request::Target,
    catalog_service_server::CatalogService,
};
use time::OffsetDateTime;
use tonic::{Request, Response, Status};

use super::ids;
use crate::{
    domain::contract,
    entitlements::Entitlements,
    error::{ProviderError, Result},
    store::Store,
};

/// Longest ListGuide window.
const GUIDE_WINDOW_MAX: time::Duration = time::Duration::days(7);
/// Most programmes ListGuide returns.
const GUIDE_LIMIT: i64 = 1000;

#[derive(Clone)]
pub struct CatalogApi {
    pub store: Store,
    pub tokens: TokenKeys,
    pub entitlements: Entitlements,
}

impl CatalogApi {
    fn caller<T>(&self, request: &Request<T>) -> Result<hearth_platform::auth::Claims> {
        Ok(self.tokens.authenticate(request.metadata())?)
    }

    async fn check(&self, request: BatchCheckEntitlementRequest) -> Result<BatchCheckEntitlementResponse> {
        ids("user_ids", &request.user_ids, 1000)?;
        for (i, user) in request.user_ids.iter().enumerate() {
            validate::uuid(&format!("user_ids[{i}]"), user)?;
        }
        let target = request
            .target
            .ok_or_else(|| FieldError::new("target", "one of channel_id, programme_id or asset_id is required"))?;
        let (field, id) = match &target {
            Target::ChannelId(id) => ("channel_id", id),
            Target::ProgrammeId(id) => ("programme_id", id),
            Target::AssetId(id) => ("asset_id", id),
        };
        contract::id(field, id, contract::ID_MAX)?;
        let decisions = self.entitlements.check(&request.user_ids, &target).await?;
        Ok(BatchCheckEntitlementResponse { decisions })
    }
}

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    async fn batch_get_channels(
        &self,
        request: Request<BatchGetChannelsRequest>,
    ) -> Result<Response<BatchGetChannelsResponse>, Status> {
        self.caller(&request)?;
        let request = request.into_inner();
        ids("channel_ids", &request.channel_ids, 100).map_err(ProviderError::from)?;
        let channels = self.store.channels(&request.channel_ids).await?;
        Ok(Response::new(BatchGetChannelsResponse { channels }))
    }

    async fn batch_get_now_next(
        &self,
        request: Request<BatchGetNowNextRequest>,
    ) -> Result<Response<BatchGetNowNextResponse>, Status> {
        self.caller(&request)?;
        let request = request.into_inner();
        ids("channel_ids", &request.channel_ids, 100).map_err(ProviderError::from)?;
        let at = match &request.at {
            None => OffsetDateTime::now_utc(),
            Some(t) => hearth_platform::wkt::datetime(t)
                .ok_or_else(|| ProviderError::from(FieldError::new("at", "must be a valid UTC time")))?,
        };
        let channels = self
            .store
            .now_next(&request.channel_ids, at)
            .await?
            .into_iter()
            .map(|n| ChannelNowNext { channel_id: n.channel_id, now: n.now, next: n.next })
            .collect();
        Ok(Response::new(BatchGetNowNextResponse { channels }))
    }

    async fn batch_get_programmes(
        &self,
        request: Request<BatchGetProgrammesRequest>,
    ) -> Result<Response<BatchGetProgrammesResponse>, Status> {
        self.caller(&request)?;
        let request = request.into_inner();
        ids("programme_ids", &request.programme_ids, 100).map_err(ProviderError::from)?;
        let programmes = self.store.programmes(&request.programme_ids).await?;
        Ok(Response::new(BatchGetProgrammesResponse { programmes }))
    }

    async fn list_guide(&self, request: Request<ListGuideRequest>) -> Result<Response<ListGuideResponse>, Status> {
        self.caller(&request)?;
        let request = request.into_inner();
        let field = |e: FieldError| Status::from(ProviderError::from(e));
        contract::id("channel_id", &request.channel_id, contract::ID_MAX).map_err(field)?;
        let (start, end) = contract::window("", request.start_time.as_ref(), request.end_time.as_ref())
            .map_err(|e| field(FieldError::new(e.field.trim_start_matches('.'), e.reason)))?;
        if end <= start || end - start > GUIDE_WINDOW_MAX {
            return Err(field(FieldError::new("end_time", "must be after start_time, at most 7 days later")));
        }
        let channel = [request.channel_id.clone()];
        if self.store.channels(&channel).await?.is_empty() {
            return Err(ProviderError::NotFound(
                "unknown_channel",
                FieldError::new("channel_id", format!("no channel {:?} in the catalog", request.channel_id)),
            )
            .into());
        }
        let programmes = self.store.guide(&request.channel_id, start, end, GUIDE_LIMIT).await?;
        Ok(Response::new(ListGuideResponse { programmes }))
    }

    async fn batch_check_entitlement(
        &self,
        request: Request<BatchCheckEntitlementRequest>,
    ) -> Result<Response<BatchCheckEntitlementResponse>, Status> {
        let caller = self.caller(&request)?;
        if !caller.is_service() {
            return Err(ProviderError::Denied("entitlement checks are for Hearth services".into()).into());
        }
        Ok(Response::new(self.check(request.into_inner()).await?))
    }
}
