//! The operator's IptvProvider as Hearth calls it (provider.proto), with
//! the configured API key on every call.

use hearth_platform::{
    config::{ProviderConfig, ServicesConfig},
    grpc::{GrpcError, TracedChannel},
};
use hearth_proto::hearth::provider::v1::{
    CheckEntitlementRequest, CheckEntitlementResponse, GetGuideRequest, GetGuideResponse, ListChannelsRequest,
    ListChannelsResponse, WatchCatalogRequest, WatchCatalogResponse, iptv_provider_client::IptvProviderClient,
};
use tonic::{Request, Status, Streaming};

/// Largest page Hearth asks for.
pub const PAGE_SIZE: u32 = 1000;

/// Calls the configured IptvProvider; cheap to clone.
#[derive(Clone)]
pub struct Upstream {
    client: IptvProviderClient<TracedChannel>,
    bearer: Option<String>,
}

impl Upstream {
    /// The provider of `config`; None when none is configured.
    pub fn from_config(config: &ProviderConfig, services: &ServicesConfig) -> Result<Option<Self>, GrpcError> {
        let Some(url) = config.url.as_deref().filter(|u| !u.is_empty()) else { return Ok(None) };
        let channel = hearth_platform::grpc::channel(url, services.connect_timeout, config.request_timeout)?;
        let client = IptvProviderClient::new(channel).max_decoding_message_size(64 * 1024 * 1024);
        Ok(Some(Self { client, bearer: config.api_key.as_ref().map(|k| format!("Bearer {}", k.expose())) }))
    }

    fn request<T>(&self, message: T) -> Result<Request<T>, Status> {
        let mut request = Request::new(message);
        if let Some(bearer) = &self.bearer {
            let value = bearer
                .parse()
                .map_err(|_| Status::failed_precondition("the provider API key is not a valid header"))?;
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }

    /// One page of the line-up (or of the changes since `sync_token`).
    pub async fn list_channels(&self, page_token: &str, sync_token: &str) -> Result<ListChannelsResponse, Status> {
        let request = self.request(ListChannelsRequest {
            page_size: PAGE_SIZE,
            page_token: page_token.to_owned(),
            sync_token: sync_token.to_owned(),
        })?;
        Ok(self.client.clone().list_channels(request).await?.into_inner())
    }

    /// The stream of catalog changes from `sync_token`.
    pub async fn watch(&self, sync_token: &str) -> Result<Streaming<WatchCatalogResponse>, Status> {
        let request = self.request(WatchCatalogRequest { sync_token: sync_token.to_owned() })?;
        Ok(self.client.clone().watch_catalog(request).await?.into_inner())
    }

    /// The guide of `channel_ids` within a window, as a stream of batches.
    pub async fn guide(&self, request: GetGuideRequest) -> Result<Streaming<GetGuideResponse>, Status> {
        let request = self.request(request)?;
        Ok(self.client.clone().get_guide(request).await?.into_inner())
    }

    /// Entitlement answers for provider accounts.
    pub async fn check(&self, request: CheckEntitlementRequest) -> Result<CheckEntitlementResponse, Status> {
        let request = self.request(request)?;
        Ok(self.client.clone().check_entitlement(request).await?.into_inner())
    }
}
