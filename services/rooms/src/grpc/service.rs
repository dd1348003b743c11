//! The generated `RoomsService` trait, forwarding each RPC to its handler
//! with the authenticated caller; errors become statuses in one place.

use hearth_proto::hearth::rooms::v1::{self as pb, rooms_service_server::RoomsService};
use tonic::{Request, Response, Status};

use super::RoomsApi;

#[tonic::async_trait]
impl RoomsService for RoomsApi {
    async fn create_room(
        &self,
        request: Request<pb::CreateRoomRequest>,
    ) -> Result<Response<pb::CreateRoomResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.create_room(caller, request.into_inner()).await?))
    }

    async fn get_room(&self, request: Request<pb::GetRoomRequest>) -> Result<Response<pb::GetRoomResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.get_room(caller, request.into_inner()).await?))
    }

    async fn update_room(
        &self,
        request: Request<pb::UpdateRoomRequest>,
    ) -> Result<Response<pb::UpdateRoomResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.update_room(caller, request.into_inner()).await?))
    }

    async fn delete_room(
        &self,
        request: Request<pb::DeleteRoomRequest>,
    ) -> Result<Response<pb::DeleteRoomResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.delete_room(caller, request.into_inner()).await?))
    }

    async fn list_my_rooms(
        &self,
        request: Request<pb::ListMyRoomsRequest>,
    ) -> Result<Response<pb::ListMyRoomsResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.list_my_rooms(caller, request.into_inner()).await?))
    }

    async fn list_public_rooms(
        &self,
        request: Request<pb::ListPublicRoomsRequest>,
    ) -> Result<Response<pb::ListPublicRoomsResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.list_public_rooms(caller, request.into_inner()).await?))
    }

    async fn join_room(&self, request: Request<pb::JoinRoomRequest>) -> Result<Response<pb::JoinRoomResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.join_room(caller, request.into_inner()).await?))
    }

    async fn leave_room(
        &self,
        request: Request<pb::LeaveRoomRequest>,
    ) -> Result<Response<pb::LeaveRoomResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.leave_room(caller, request.into_inner()).await?))
    }

    async fn get_room_snapshot(
        &self,
        request: Request<pb::GetRoomSnapshotRequest>,
    ) -> Result<Response<pb::GetRoomSnapshotResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.get_snapshot(caller, request.into_inner()).await?))
    }

    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.list_members(caller, request.into_inner()).await?))
    }

    async fn kick_member(
        &self,
        request: Request<pb::KickMemberRequest>,
    ) -> Result<Response<pb::KickMemberResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.kick(caller, request.into_inner()).await?))
    }

    async fn ban_member(
        &self,
        request: Request<pb::BanMemberRequest>,
    ) -> Result<Response<pb::BanMemberResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.ban(caller, request.into_inner()).await?))
    }

    async fn unban_member(
        &self,
        request: Request<pb::UnbanMemberRequest>,
    ) -> Result<Response<pb::UnbanMemberResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.unban(caller, request.into_inner()).await?))
    }

    async fn list_bans(&self, request: Request<pb::ListBansRequest>) -> Result<Response<pb::ListBansResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.list_bans(caller, request.into_inner()).await?))
    }

    async fn set_member_role(
        &self,
        request: Request<pb::SetMemberRoleRequest>,
    ) -> Result<Response<pb::SetMemberRoleResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.set_role(caller, request.into_inner()).await?))
    }

    async fn transfer_ownership(
        &self,
        request: Request<pb::TransferOwnershipRequest>,
    ) -> Result<Response<pb::TransferOwnershipResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.transfer(caller, request.into_inner()).await?))
    }

    async fn create_invite(
        &self,
        request: Request<pb::CreateInviteRequest>,
    ) -> Result<Response<pb::CreateInviteResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.create_invite(caller, request.into_inner()).await?))
    }

    async fn list_invites(
        &self,
        request: Request<pb::ListInvitesRequest>,
    ) -> Result<Response<pb::ListInvitesResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.list_invites(caller, request.into_inner()).await?))
    }

    async fn revoke_invite(
        &self,
        request: Request<pb::RevokeInviteRequest>,
    ) -> Result<Response<pb::RevokeInviteResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.revoke_invite(caller, request.into_inner()).await?))
    }

    async fn invite_users(
        &self,
        request: Request<pb::InviteUsersRequest>,
    ) -> Result<Response<pb::InviteUsersResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.invite_users(caller, request.into_inner()).await?))
    }

    async fn play(&self, request: Request<pb::PlayRequest>) -> Result<Response<pb::PlayResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.play(caller, request.into_inner()).await?))
    }

    async fn pause(&self, request: Request<pb::PauseRequest>) -> Result<Response<pb::PauseResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.pause(caller, request.into_inner()).await?))
    }

    async fn seek(&self, request: Request<pb::SeekRequest>) -> Result<Response<pb::SeekResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.seek(caller, request.into_inner()).await?))
    }

    async fn set_rate(&self, request: Request<pb::SetRateRequest>) -> Result<Response<pb::SetRateResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.set_rate(caller, request.into_inner()).await?))
    }

    async fn change_media(
        &self,
        request: Request<pb::ChangeMediaRequest>,
    ) -> Result<Response<pb::ChangeMediaResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.change_media(caller, request.into_inner()).await?))
    }

    async fn update_queue(
        &self,
        request: Request<pb::UpdateQueueRequest>,
    ) -> Result<Response<pb::UpdateQueueResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.update_queue(caller, request.into_inner()).await?))
    }

    async fn play_next(&self, request: Request<pb::PlayNextRequest>) -> Result<Response<pb::PlayNextResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.play_next(caller, request.into_inner()).await?))
    }

    async fn report_readiness(
        &self,
        request: Request<pb::ReportReadinessRequest>,
    ) -> Result<Response<pb::ReportReadinessResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.report_readiness(caller, request.into_inner()).await?))
    }

    async fn set_hold_group(
        &self,
        request: Request<pb::SetHoldGroupRequest>,
    ) -> Result<Response<pb::SetHoldGroupResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.set_hold_group(caller, request.into_inner()).await?))
    }

    /// Public: invite links are previewed by anyone (social-media crawlers).
    async fn get_invite_preview(
        &self,
        request: Request<pb::GetInvitePreviewRequest>,
    ) -> Result<Response<pb::GetInvitePreviewResponse>, Status> {
        Ok(Response::new(self.invite_preview(request.into_inner()).await?))
    }
}
