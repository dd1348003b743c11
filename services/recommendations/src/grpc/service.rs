//! RecommendationsService: authenticates the caller and forwards to the
//! handlers.

use hearth_proto::hearth::recommendations::v1::{self as pb, recommendations_service_server::RecommendationsService};
use tonic::{Request, Response, Status};

use super::RecsApi;

#[tonic::async_trait]
impl RecommendationsService for RecsApi {
    async fn list_trending(
        &self,
        request: Request<pb::ListTrendingRequest>,
    ) -> Result<Response<pb::ListTrendingResponse>, Status> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        Ok(Response::new(self.list_trending(&caller, r).await?))
    }

    async fn list_friends_watching(
        &self,
        request: Request<pb::ListFriendsWatchingRequest>,
    ) -> Result<Response<pb::ListFriendsWatchingResponse>, Status> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        Ok(Response::new(self.list_friends_watching(&caller, r).await?))
    }

    async fn list_because_you_watched(
        &self,
        request: Request<pb::ListBecauseYouWatchedRequest>,
    ) -> Result<Response<pb::ListBecauseYouWatchedResponse>, Status> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        Ok(Response::new(self.list_because_you_watched(&caller, r).await?))
    }

    async fn list_starting_soon(
        &self,
        request: Request<pb::ListStartingSoonRequest>,
    ) -> Result<Response<pb::ListStartingSoonResponse>, Status> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        Ok(Response::new(self.list_starting_soon(&caller, r).await?))
    }

    async fn list_shares(
        &self,
        request: Request<pb::ListSharesRequest>,
    ) -> Result<Response<pb::ListSharesResponse>, Status> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        Ok(Response::new(self.list_shares(&caller, r).await?))
    }

    async fn share_item(
        &self,
        request: Request<pb::ShareItemRequest>,
    ) -> Result<Response<pb::ShareItemResponse>, Status> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        Ok(Response::new(self.share_item(&caller, r).await?))
    }

    async fn dismiss_share(
        &self,
        request: Request<pb::DismissShareRequest>,
    ) -> Result<Response<pb::DismissShareResponse>, Status> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        Ok(Response::new(self.dismiss_share(&caller, r).await?))
    }

    async fn hide_session(
        &self,
        request: Request<pb::HideSessionRequest>,
    ) -> Result<Response<pb::HideSessionResponse>, Status> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        Ok(Response::new(self.hide_session(&caller, r).await?))
    }

    async fn get_sharing_settings(
        &self,
        request: Request<pb::GetSharingSettingsRequest>,
    ) -> Result<Response<pb::GetSharingSettingsResponse>, Status> {
        let caller = self.caller(&request)?;
        let _r = request.into_inner();
        Ok(Response::new(self.get_sharing_settings(&caller).await?))
    }

    async fn update_sharing_settings(
        &self,
        request: Request<pb::UpdateSharingSettingsRequest>,
    ) -> Result<Response<pb::UpdateSharingSettingsResponse>, Status> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        Ok(Response::new(self.update_sharing_settings(&caller, r).await?))
    }
}
