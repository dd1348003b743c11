//! Every unary gRPC method of the public services, callable by name with a
//! proto3-JSON body (the same JSON a WebSocket frame carries). Generated
//! from proto/hearth/*/v1/*.proto; the external IptvProvider contract and
//! the client-streaming ProviderIngest/ReportViewing are left out.

use hearth_proto::hearth;
use serde_json::Value;
use tonic::{Status, transport::Channel};

/// Every method [`call`] knows, as `Service/Method`.
pub const METHODS: &[&str] = &[
    "ChatAccessService/GetChatRestriction",
    "ChatService/SendMessage",
    "ChatService/ListMessages",
    "ChatService/GetThread",
    "ChatService/DeleteMessage",
    "ChatService/AddReaction",
    "ChatService/RemoveReaction",
    "ChatService/ListReactionUsers",
    "ChatService/SendLiveReaction",
    "ChatService/SetTyping",
    "ChatService/ResumeChat",
    "ChatService/GetChatSettings",
    "ChatService/UpdateChatSettings",
    "ChatService/SetShieldMode",
    "ChatService/TimeoutUser",
    "ChatService/RemoveTimeout",
    "ChatService/BanFromChat",
    "ChatService/UnbanFromChat",
    "ChatService/ListChatRestrictions",
    "ChatService/AddBlockedTerm",
    "ChatService/RemoveBlockedTerm",
    "ChatService/ListBlockedTerms",
    "ChatService/ListHeldMessages",
    "ChatService/ApproveHeldMessage",
    "ChatService/DenyHeldMessage",
    "ChatService/CreateReport",
    "ChatService/ListReports",
    "ChatService/ResolveReport",
    "ChatService/ListAuditLog",
    "IdentityService/Register",
    "IdentityService/Login",
    "IdentityService/Refresh",
    "IdentityService/Logout",
    "IdentityService/ExchangeProviderToken",
    "IdentityService/GetProfile",
    "IdentityService/GetProfiles",
    "IdentityService/UpdateProfile",
    "IdentityService/Follow",
    "IdentityService/Unfollow",
    "IdentityService/ListFollowers",
    "IdentityService/ListFollowing",
    "IdentityService/Block",
    "IdentityService/Unblock",
    "IdentityService/ListBlocks",
    "IdentityService/ListBlockedIds",
    "IdentityService/LookupUsernames",
    "IdentityService/BatchGetProviderLinks",
    "IdentityService/BatchCheckBlocks",
    "IdentityService/DeleteAccount",
    "PollsService/CreatePoll",
    "PollsService/GetPoll",
    "PollsService/ListPolls",
    "PollsService/UpdatePoll",
    "PollsService/OpenPoll",
    "PollsService/ClosePoll",
    "PollsService/ArchivePoll",
    "PollsService/DeletePoll",
    "PollsService/CastVote",
    "PollsService/ListPollVoters",
    "PollsService/GetRoomInteractions",
    "QuizService/CreateQuiz",
    "QuizService/GetQuiz",
    "QuizService/ListQuizzes",
    "QuizService/UpdateQuiz",
    "QuizService/DeleteQuiz",
    "QuizService/RevealNextQuestion",
    "QuizService/SubmitQuizAnswer",
    "QuizService/GetLeaderboard",
    "QuizService/EndQuiz",
    "PredictionsService/CreatePrediction",
    "PredictionsService/GetPrediction",
    "PredictionsService/ListPredictions",
    "PredictionsService/LockPrediction",
    "PredictionsService/ResolvePrediction",
    "PredictionsService/CancelPrediction",
    "PredictionsService/PlacePrediction",
    "PredictionsService/GetPointsBalance",
    "PredictionsService/ListPointsTransactions",
    "QnaService/AskQuestion",
    "QnaService/ListQuestions",
    "QnaService/UpvoteQuestion",
    "QnaService/ModerateQuestion",
    "QnaService/DeleteQuestion",
    "QnaService/GetQnaSettings",
    "QnaService/UpdateQnaSettings",
    "PollsGatewayService/CastVotes",
    "CatalogService/BatchGetChannels",
    "CatalogService/BatchGetNowNext",
    "CatalogService/BatchGetProgrammes",
    "CatalogService/ListGuide",
    "CatalogService/BatchCheckEntitlement",
    "ProviderIngest/PushCatalog",
    "ProviderIngest/PushGuide",
    "RecommendationsService/ListTrending",
    "RecommendationsService/ListFriendsWatching",
    "RecommendationsService/ListBecauseYouWatched",
    "RecommendationsService/ListStartingSoon",
    "RecommendationsService/ListShares",
    "RecommendationsService/ShareItem",
    "RecommendationsService/DismissShare",
    "RecommendationsService/HideSession",
    "RecommendationsService/GetSharingSettings",
    "RecommendationsService/UpdateSharingSettings",
    "RoomAccessService/GetAccess",
    "RoomAccessService/GetStandings",
    "RoomPresenceService/EnterRoom",
    "RoomPresenceService/ExitRoom",
    "RoomPresenceService/Heartbeat",
    "RoomsService/CreateRoom",
    "RoomsService/GetRoom",
    "RoomsService/UpdateRoom",
    "RoomsService/DeleteRoom",
    "RoomsService/ListMyRooms",
    "RoomsService/ListPublicRooms",
    "RoomsService/JoinRoom",
    "RoomsService/LeaveRoom",
    "RoomsService/GetRoomSnapshot",
    "RoomsService/ListMembers",
    "RoomsService/KickMember",
    "RoomsService/BanMember",
    "RoomsService/UnbanMember",
    "RoomsService/ListBans",
    "RoomsService/SetMemberRole",
    "RoomsService/TransferOwnership",
    "RoomsService/CreateInvite",
    "RoomsService/ListInvites",
    "RoomsService/RevokeInvite",
    "RoomsService/InviteUsers",
    "RoomsService/GetInvitePreview",
    "RoomsService/Play",
    "RoomsService/Pause",
    "RoomsService/Seek",
    "RoomsService/SetRate",
    "RoomsService/ChangeMedia",
    "RoomsService/UpdateQueue",
    "RoomsService/PlayNext",
    "RoomsService/ReportReadiness",
    "RoomsService/SetHoldGroup",
];

fn decode<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, Status> {
    serde_json::from_value(body).map_err(|e| Status::internal(format!("the test's request does not decode: {e}")))
}

fn encode<T: serde::Serialize>(reply: tonic::Response<T>) -> Result<Value, Status> {
    serde_json::to_value(reply.into_inner()).map_err(|e| Status::internal(format!("reply does not encode: {e}")))
}

/// A request with `token` (if any) as its bearer.
fn request<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    match token {
        Some(token) => hearth_tests::authed(message, token),
        None => tonic::Request::new(message),
    }
}

/// Calls `method` (`Service/Method`) with `body`; the reply as JSON.
pub async fn call(channel: Channel, method: &str, body: Value, token: Option<&str>) -> Result<Value, Status> {
    match method {
        "ChatAccessService/GetChatRestriction" => {
            let message: hearth::chat::v1::GetChatRestrictionRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_access_service_client::ChatAccessServiceClient::new(channel)
                .get_chat_restriction(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/SendMessage" => {
            let message: hearth::chat::v1::SendMessageRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .send_message(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/ListMessages" => {
            let message: hearth::chat::v1::ListMessagesRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .list_messages(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/GetThread" => {
            let message: hearth::chat::v1::GetThreadRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .get_thread(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/DeleteMessage" => {
            let message: hearth::chat::v1::DeleteMessageRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .delete_message(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/AddReaction" => {
            let message: hearth::chat::v1::AddReactionRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .add_reaction(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/RemoveReaction" => {
            let message: hearth::chat::v1::RemoveReactionRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .remove_reaction(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/ListReactionUsers" => {
            let message: hearth::chat::v1::ListReactionUsersRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .list_reaction_users(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/SendLiveReaction" => {
            let message: hearth::chat::v1::SendLiveReactionRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .send_live_reaction(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/SetTyping" => {
            let message: hearth::chat::v1::SetTypingRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .set_typing(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/ResumeChat" => {
            let message: hearth::chat::v1::ResumeChatRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .resume_chat(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/GetChatSettings" => {
            let message: hearth::chat::v1::GetChatSettingsRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .get_chat_settings(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/UpdateChatSettings" => {
            let message: hearth::chat::v1::UpdateChatSettingsRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .update_chat_settings(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/SetShieldMode" => {
            let message: hearth::chat::v1::SetShieldModeRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .set_shield_mode(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/TimeoutUser" => {
            let message: hearth::chat::v1::TimeoutUserRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .timeout_user(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/RemoveTimeout" => {
            let message: hearth::chat::v1::RemoveTimeoutRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .remove_timeout(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/BanFromChat" => {
            let message: hearth::chat::v1::BanFromChatRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .ban_from_chat(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/UnbanFromChat" => {
            let message: hearth::chat::v1::UnbanFromChatRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .unban_from_chat(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/ListChatRestrictions" => {
            let message: hearth::chat::v1::ListChatRestrictionsRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .list_chat_restrictions(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/AddBlockedTerm" => {
            let message: hearth::chat::v1::AddBlockedTermRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .add_blocked_term(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/RemoveBlockedTerm" => {
            let message: hearth::chat::v1::RemoveBlockedTermRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .remove_blocked_term(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/ListBlockedTerms" => {
            let message: hearth::chat::v1::ListBlockedTermsRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .list_blocked_terms(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/ListHeldMessages" => {
            let message: hearth::chat::v1::ListHeldMessagesRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .list_held_messages(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/ApproveHeldMessage" => {
            let message: hearth::chat::v1::ApproveHeldMessageRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .approve_held_message(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/DenyHeldMessage" => {
            let message: hearth::chat::v1::DenyHeldMessageRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .deny_held_message(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/CreateReport" => {
            let message: hearth::chat::v1::CreateReportRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .create_report(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/ListReports" => {
            let message: hearth::chat::v1::ListReportsRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .list_reports(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/ResolveReport" => {
            let message: hearth::chat::v1::ResolveReportRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .resolve_report(request(message, token))
                .await?;
            encode(reply)
        }
        "ChatService/ListAuditLog" => {
            let message: hearth::chat::v1::ListAuditLogRequest = decode(body)?;
            let reply = hearth::chat::v1::chat_service_client::ChatServiceClient::new(channel)
                .list_audit_log(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/Register" => {
            let message: hearth::identity::v1::RegisterRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .register(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/Login" => {
            let message: hearth::identity::v1::LoginRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .login(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/Refresh" => {
            let message: hearth::identity::v1::RefreshRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .refresh(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/Logout" => {
            let message: hearth::identity::v1::LogoutRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .logout(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/ExchangeProviderToken" => {
            let message: hearth::identity::v1::ExchangeProviderTokenRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .exchange_provider_token(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/GetProfile" => {
            let message: hearth::identity::v1::GetProfileRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .get_profile(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/GetProfiles" => {
            let message: hearth::identity::v1::GetProfilesRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .get_profiles(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/UpdateProfile" => {
            let message: hearth::identity::v1::UpdateProfileRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .update_profile(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/Follow" => {
            let message: hearth::identity::v1::FollowRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .follow(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/Unfollow" => {
            let message: hearth::identity::v1::UnfollowRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .unfollow(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/ListFollowers" => {
            let message: hearth::identity::v1::ListFollowersRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .list_followers(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/ListFollowing" => {
            let message: hearth::identity::v1::ListFollowingRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .list_following(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/Block" => {
            let message: hearth::identity::v1::BlockRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .block(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/Unblock" => {
            let message: hearth::identity::v1::UnblockRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .unblock(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/ListBlocks" => {
            let message: hearth::identity::v1::ListBlocksRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .list_blocks(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/ListBlockedIds" => {
            let message: hearth::identity::v1::ListBlockedIdsRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .list_blocked_ids(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/LookupUsernames" => {
            let message: hearth::identity::v1::LookupUsernamesRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .lookup_usernames(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/BatchGetProviderLinks" => {
            let message: hearth::identity::v1::BatchGetProviderLinksRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .batch_get_provider_links(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/BatchCheckBlocks" => {
            let message: hearth::identity::v1::BatchCheckBlocksRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .batch_check_blocks(request(message, token))
                .await?;
            encode(reply)
        }
        "IdentityService/DeleteAccount" => {
            let message: hearth::identity::v1::DeleteAccountRequest = decode(body)?;
            let reply = hearth::identity::v1::identity_service_client::IdentityServiceClient::new(channel)
                .delete_account(request(message, token))
                .await?;
            encode(reply)
        }
        "PollsService/CreatePoll" => {
            let message: hearth::polls::v1::CreatePollRequest = decode(body)?;
            let reply = hearth::polls::v1::polls_service_client::PollsServiceClient::new(channel)
                .create_poll(request(message, token))
                .await?;
            encode(reply)
        }
        "PollsService/GetPoll" => {
            let message: hearth::polls::v1::GetPollRequest = decode(body)?;
            let reply = hearth::polls::v1::polls_service_client::PollsServiceClient::new(channel)
                .get_poll(request(message, token))
                .await?;
            encode(reply)
        }
        "PollsService/ListPolls" => {
            let message: hearth::polls::v1::ListPollsRequest = decode(body)?;
            let reply = hearth::polls::v1::polls_service_client::PollsServiceClient::new(channel)
                .list_polls(request(message, token))
                .await?;
            encode(reply)
        }
        "PollsService/UpdatePoll" => {
            let message: hearth::polls::v1::UpdatePollRequest = decode(body)?;
            let reply = hearth::polls::v1::polls_service_client::PollsServiceClient::new(channel)
                .update_poll(request(message, token))
                .await?;
            encode(reply)
        }
        "PollsService/OpenPoll" => {
            let message: hearth::polls::v1::OpenPollRequest = decode(body)?;
            let reply = hearth::polls::v1::polls_service_client::PollsServiceClient::new(channel)
                .open_poll(request(message, token))
                .await?;
            encode(reply)
        }
        "PollsService/ClosePoll" => {
            let message: hearth::polls::v1::ClosePollRequest = decode(body)?;
            let reply = hearth::polls::v1::polls_service_client::PollsServiceClient::new(channel)
                .close_poll(request(message, token))
                .await?;
            encode(reply)
        }
        "PollsService/ArchivePoll" => {
            let message: hearth::polls::v1::ArchivePollRequest = decode(body)?;
            let reply = hearth::polls::v1::polls_service_client::PollsServiceClient::new(channel)
                .archive_poll(request(message, token))
                .await?;
            encode(reply)
        }
        "PollsService/DeletePoll" => {
            let message: hearth::polls::v1::DeletePollRequest = decode(body)?;
            let reply = hearth::polls::v1::polls_service_client::PollsServiceClient::new(channel)
                .delete_poll(request(message, token))
                .await?;
            encode(reply)
        }
        "PollsService/CastVote" => {
            let message: hearth::polls::v1::CastVoteRequest = decode(body)?;
            let reply = hearth::polls::v1::polls_service_client::PollsServiceClient::new(channel)
                .cast_vote(request(message, token))
                .await?;
            encode(reply)
        }
        "PollsService/ListPollVoters" => {
            let message: hearth::polls::v1::ListPollVotersRequest = decode(body)?;
            let reply = hearth::polls::v1::polls_service_client::PollsServiceClient::new(channel)
                .list_poll_voters(request(message, token))
                .await?;
            encode(reply)
        }
        "PollsService/GetRoomInteractions" => {
            let message: hearth::polls::v1::GetRoomInteractionsRequest = decode(body)?;
            let reply = hearth::polls::v1::polls_service_client::PollsServiceClient::new(channel)
                .get_room_interactions(request(message, token))
                .await?;
            encode(reply)
        }
        "QuizService/CreateQuiz" => {
            let message: hearth::polls::v1::CreateQuizRequest = decode(body)?;
            let reply = hearth::polls::v1::quiz_service_client::QuizServiceClient::new(channel)
                .create_quiz(request(message, token))
                .await?;
            encode(reply)
        }
        "QuizService/GetQuiz" => {
            let message: hearth::polls::v1::GetQuizRequest = decode(body)?;
            let reply = hearth::polls::v1::quiz_service_client::QuizServiceClient::new(channel)
                .get_quiz(request(message, token))
                .await?;
            encode(reply)
        }
        "QuizService/ListQuizzes" => {
            let message: hearth::polls::v1::ListQuizzesRequest = decode(body)?;
            let reply = hearth::polls::v1::quiz_service_client::QuizServiceClient::new(channel)
                .list_quizzes(request(message, token))
                .await?;
            encode(reply)
        }
        "QuizService/UpdateQuiz" => {
            let message: hearth::polls::v1::UpdateQuizRequest = decode(body)?;
            let reply = hearth::polls::v1::quiz_service_client::QuizServiceClient::new(channel)
                .update_quiz(request(message, token))
                .await?;
            encode(reply)
        }
        "QuizService/DeleteQuiz" => {
            let message: hearth::polls::v1::DeleteQuizRequest = decode(body)?;
            let reply = hearth::polls::v1::quiz_service_client::QuizServiceClient::new(channel)
                .delete_quiz(request(message, token))
                .await?;
            encode(reply)
        }
        "QuizService/RevealNextQuestion" => {
            let message: hearth::polls::v1::RevealNextQuestionRequest = decode(body)?;
            let reply = hearth::polls::v1::quiz_service_client::QuizServiceClient::new(channel)
                .reveal_next_question(request(message, token))
                .await?;
            encode(reply)
        }
        "QuizService/SubmitQuizAnswer" => {
            let message: hearth::polls::v1::SubmitQuizAnswerRequest = decode(body)?;
            let reply = hearth::polls::v1::quiz_service_client::QuizServiceClient::new(channel)
                .submit_quiz_answer(request(message, token))
                .await?;
            encode(reply)
        }
        "QuizService/GetLeaderboard" => {
            let message: hearth::polls::v1::GetLeaderboardRequest = decode(body)?;
            let reply = hearth::polls::v1::quiz_service_client::QuizServiceClient::new(channel)
                .get_leaderboard(request(message, token))
                .await?;
            encode(reply)
        }
        "QuizService/EndQuiz" => {
            let message: hearth::polls::v1::EndQuizRequest = decode(body)?;
            let reply = hearth::polls::v1::quiz_service_client::QuizServiceClient::new(channel)
                .end_quiz(request(message, token))
                .await?;
            encode(reply)
        }
        "PredictionsService/CreatePrediction" => {
            let message: hearth::polls::v1::CreatePredictionRequest = decode(body)?;
            let reply = hearth::polls::v1::predictions_service_client::PredictionsServiceClient::new(channel)
                .create_prediction(request(message, token))
                .await?;
            encode(reply)
        }
        "PredictionsService/GetPrediction" => {
            let message: hearth::polls::v1::GetPredictionRequest = decode(body)?;
            let reply = hearth::polls::v1::predictions_service_client::PredictionsServiceClient::new(channel)
                .get_prediction(request(message, token))
                .await?;
            encode(reply)
        }
        "PredictionsService/ListPredictions" => {
            let message: hearth::polls::v1::ListPredictionsRequest = decode(body)?;
            let reply = hearth::polls::v1::predictions_service_client::PredictionsServiceClient::new(channel)
                .list_predictions(request(message, token))
                .await?;
            encode(reply)
        }
        "PredictionsService/LockPrediction" => {
            let message: hearth::polls::v1::LockPredictionRequest = decode(body)?;
            let reply = hearth::polls::v1::predictions_service_client::PredictionsServiceClient::new(channel)
                .lock_prediction(request(message, token))
                .await?;
            encode(reply)
        }
        "PredictionsService/ResolvePrediction" => {
            let message: hearth::polls::v1::ResolvePredictionRequest = decode(body)?;
            let reply = hearth::polls::v1::predictions_service_client::PredictionsServiceClient::new(channel)
                .resolve_prediction(request(message, token))
                .await?;
            encode(reply)
        }
        "PredictionsService/CancelPrediction" => {
            let message: hearth::polls::v1::CancelPredictionRequest = decode(body)?;
            let reply = hearth::polls::v1::predictions_service_client::PredictionsServiceClient::new(channel)
                .cancel_prediction(request(message, token))
                .await?;
            encode(reply)
        }
        "PredictionsService/PlacePrediction" => {
            let message: hearth::polls::v1::PlacePredictionRequest = decode(body)?;
            let reply = hearth::polls::v1::predictions_service_client::PredictionsServiceClient::new(channel)
                .place_prediction(request(message, token))
                .await?;
            encode(reply)
        }
        "PredictionsService/GetPointsBalance" => {
            let message: hearth::polls::v1::GetPointsBalanceRequest = decode(body)?;
            let reply = hearth::polls::v1::predictions_service_client::PredictionsServiceClient::new(channel)
                .get_points_balance(request(message, token))
                .await?;
            encode(reply)
        }
        "PredictionsService/ListPointsTransactions" => {
            let message: hearth::polls::v1::ListPointsTransactionsRequest = decode(body)?;
            let reply = hearth::polls::v1::predictions_service_client::PredictionsServiceClient::new(channel)
                .list_points_transactions(request(message, token))
                .await?;
            encode(reply)
        }
        "QnaService/AskQuestion" => {
            let message: hearth::polls::v1::AskQuestionRequest = decode(body)?;
            let reply = hearth::polls::v1::qna_service_client::QnaServiceClient::new(channel)
                .ask_question(request(message, token))
                .await?;
            encode(reply)
        }
        "QnaService/ListQuestions" => {
            let message: hearth::polls::v1::ListQuestionsRequest = decode(body)?;
            let reply = hearth::polls::v1::qna_service_client::QnaServiceClient::new(channel)
                .list_questions(request(message, token))
                .await?;
            encode(reply)
        }
        "QnaService/UpvoteQuestion" => {
            let message: hearth::polls::v1::UpvoteQuestionRequest = decode(body)?;
            let reply = hearth::polls::v1::qna_service_client::QnaServiceClient::new(channel)
                .upvote_question(request(message, token))
                .await?;
            encode(reply)
        }
        "QnaService/ModerateQuestion" => {
            let message: hearth::polls::v1::ModerateQuestionRequest = decode(body)?;
            let reply = hearth::polls::v1::qna_service_client::QnaServiceClient::new(channel)
                .moderate_question(request(message, token))
                .await?;
            encode(reply)
        }
        "QnaService/DeleteQuestion" => {
            let message: hearth::polls::v1::DeleteQuestionRequest = decode(body)?;
            let reply = hearth::polls::v1::qna_service_client::QnaServiceClient::new(channel)
                .delete_question(request(message, token))
                .await?;
            encode(reply)
        }
        "QnaService/GetQnaSettings" => {
            let message: hearth::polls::v1::GetQnaSettingsRequest = decode(body)?;
            let reply = hearth::polls::v1::qna_service_client::QnaServiceClient::new(channel)
                .get_qna_settings(request(message, token))
                .await?;
            encode(reply)
        }
        "QnaService/UpdateQnaSettings" => {
            let message: hearth::polls::v1::UpdateQnaSettingsRequest = decode(body)?;
            let reply = hearth::polls::v1::qna_service_client::QnaServiceClient::new(channel)
                .update_qna_settings(request(message, token))
                .await?;
            encode(reply)
        }
        "PollsGatewayService/CastVotes" => {
            let message: hearth::polls::v1::CastVotesRequest = decode(body)?;
            let reply = hearth::polls::v1::polls_gateway_service_client::PollsGatewayServiceClient::new(channel)
                .cast_votes(request(message, token))
                .await?;
            encode(reply)
        }
        "CatalogService/BatchGetChannels" => {
            let message: hearth::provider::v1::BatchGetChannelsRequest = decode(body)?;
            let reply = hearth::provider::v1::catalog_service_client::CatalogServiceClient::new(channel)
                .batch_get_channels(request(message, token))
                .await?;
            encode(reply)
        }
        "CatalogService/BatchGetNowNext" => {
            let message: hearth::provider::v1::BatchGetNowNextRequest = decode(body)?;
            let reply = hearth::provider::v1::catalog_service_client::CatalogServiceClient::new(channel)
                .batch_get_now_next(request(message, token))
                .await?;
            encode(reply)
        }
        "CatalogService/BatchGetProgrammes" => {
            let message: hearth::provider::v1::BatchGetProgrammesRequest = decode(body)?;
            let reply = hearth::provider::v1::catalog_service_client::CatalogServiceClient::new(channel)
                .batch_get_programmes(request(message, token))
                .await?;
            encode(reply)
        }
        "CatalogService/ListGuide" => {
            let message: hearth::provider::v1::ListGuideRequest = decode(body)?;
            let reply = hearth::provider::v1::catalog_service_client::CatalogServiceClient::new(channel)
                .list_guide(request(message, token))
                .await?;
            encode(reply)
        }
        "CatalogService/BatchCheckEntitlement" => {
            let message: hearth::provider::v1::BatchCheckEntitlementRequest = decode(body)?;
            let reply = hearth::provider::v1::catalog_service_client::CatalogServiceClient::new(channel)
                .batch_check_entitlement(request(message, token))
                .await?;
            encode(reply)
        }
        "ProviderIngest/PushCatalog" => {
            let message: hearth::provider::v1::PushCatalogRequest = decode(body)?;
            let reply = hearth::provider::v1::provider_ingest_client::ProviderIngestClient::new(channel)
                .push_catalog(request(message, token))
                .await?;
            encode(reply)
        }
        "ProviderIngest/PushGuide" => {
            let message: hearth::provider::v1::PushGuideRequest = decode(body)?;
            let reply = hearth::provider::v1::provider_ingest_client::ProviderIngestClient::new(channel)
                .push_guide(request(message, token))
                .await?;
            encode(reply)
        }
        "RecommendationsService/ListTrending" => {
            let message: hearth::recommendations::v1::ListTrendingRequest = decode(body)?;
            let reply =
                hearth::recommendations::v1::recommendations_service_client::RecommendationsServiceClient::new(channel)
                    .list_trending(request(message, token))
                    .await?;
            encode(reply)
        }
        "RecommendationsService/ListFriendsWatching" => {
            let message: hearth::recommendations::v1::ListFriendsWatchingRequest = decode(body)?;
            let reply =
                hearth::recommendations::v1::recommendations_service_client::RecommendationsServiceClient::new(channel)
                    .list_friends_watching(request(message, token))
                    .await?;
            encode(reply)
        }
        "RecommendationsService/ListBecauseYouWatched" => {
            let message: hearth::recommendations::v1::ListBecauseYouWatchedRequest = decode(body)?;
            let reply =
                hearth::recommendations::v1::recommendations_service_client::RecommendationsServiceClient::new(channel)
                    .list_because_you_watched(request(message, token))
                    .await?;
            encode(reply)
        }
        "RecommendationsService/ListStartingSoon" => {
            let message: hearth::recommendations::v1::ListStartingSoonRequest = decode(body)?;
            let reply =
                hearth::recommendations::v1::recommendations_service_client::RecommendationsServiceClient::new(channel)
                    .list_starting_soon(request(message, token))
                    .await?;
            encode(reply)
        }
        "RecommendationsService/ListShares" => {
            let message: hearth::recommendations::v1::ListSharesRequest = decode(body)?;
            let reply =
                hearth::recommendations::v1::recommendations_service_client::RecommendationsServiceClient::new(channel)
                    .list_shares(request(message, token))
                    .await?;
            encode(reply)
        }
        "RecommendationsService/ShareItem" => {
            let message: hearth::recommendations::v1::ShareItemRequest = decode(body)?;
            let reply =
                hearth::recommendations::v1::recommendations_service_client::RecommendationsServiceClient::new(channel)
                    .share_item(request(message, token))
                    .await?;
            encode(reply)
        }
        "RecommendationsService/DismissShare" => {
            let message: hearth::recommendations::v1::DismissShareRequest = decode(body)?;
            let reply =
                hearth::recommendations::v1::recommendations_service_client::RecommendationsServiceClient::new(channel)
                    .dismiss_share(request(message, token))
                    .await?;
            encode(reply)
        }
        "RecommendationsService/HideSession" => {
            let message: hearth::recommendations::v1::HideSessionRequest = decode(body)?;
            let reply =
                hearth::recommendations::v1::recommendations_service_client::RecommendationsServiceClient::new(channel)
                    .hide_session(request(message, token))
                    .await?;
            encode(reply)
        }
        "RecommendationsService/GetSharingSettings" => {
            let message: hearth::recommendations::v1::GetSharingSettingsRequest = decode(body)?;
            let reply =
                hearth::recommendations::v1::recommendations_service_client::RecommendationsServiceClient::new(channel)
                    .get_sharing_settings(request(message, token))
                    .await?;
            encode(reply)
        }
        "RecommendationsService/UpdateSharingSettings" => {
            let message: hearth::recommendations::v1::UpdateSharingSettingsRequest = decode(body)?;
            let reply =
                hearth::recommendations::v1::recommendations_service_client::RecommendationsServiceClient::new(channel)
                    .update_sharing_settings(request(message, token))
                    .await?;
            encode(reply)
        }
        "RoomAccessService/GetAccess" => {
            let message: hearth::rooms::v1::GetAccessRequest = decode(body)?;
            let reply = hearth::rooms::v1::room_access_service_client::RoomAccessServiceClient::new(channel)
                .get_access(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomAccessService/GetStandings" => {
            let message: hearth::rooms::v1::GetStandingsRequest = decode(body)?;
            let reply = hearth::rooms::v1::room_access_service_client::RoomAccessServiceClient::new(channel)
                .get_standings(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomPresenceService/EnterRoom" => {
            let message: hearth::rooms::v1::EnterRoomRequest = decode(body)?;
            let reply = hearth::rooms::v1::room_presence_service_client::RoomPresenceServiceClient::new(channel)
                .enter_room(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomPresenceService/ExitRoom" => {
            let message: hearth::rooms::v1::ExitRoomRequest = decode(body)?;
            let reply = hearth::rooms::v1::room_presence_service_client::RoomPresenceServiceClient::new(channel)
                .exit_room(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomPresenceService/Heartbeat" => {
            let message: hearth::rooms::v1::HeartbeatRequest = decode(body)?;
            let reply = hearth::rooms::v1::room_presence_service_client::RoomPresenceServiceClient::new(channel)
                .heartbeat(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/CreateRoom" => {
            let message: hearth::rooms::v1::CreateRoomRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .create_room(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/GetRoom" => {
            let message: hearth::rooms::v1::GetRoomRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .get_room(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/UpdateRoom" => {
            let message: hearth::rooms::v1::UpdateRoomRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .update_room(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/DeleteRoom" => {
            let message: hearth::rooms::v1::DeleteRoomRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .delete_room(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/ListMyRooms" => {
            let message: hearth::rooms::v1::ListMyRoomsRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .list_my_rooms(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/ListPublicRooms" => {
            let message: hearth::rooms::v1::ListPublicRoomsRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .list_public_rooms(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/JoinRoom" => {
            let message: hearth::rooms::v1::JoinRoomRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .join_room(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/LeaveRoom" => {
            let message: hearth::rooms::v1::LeaveRoomRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .leave_room(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/GetRoomSnapshot" => {
            let message: hearth::rooms::v1::GetRoomSnapshotRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .get_room_snapshot(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/ListMembers" => {
            let message: hearth::rooms::v1::ListMembersRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .list_members(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/KickMember" => {
            let message: hearth::rooms::v1::KickMemberRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .kick_member(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/BanMember" => {
            let message: hearth::rooms::v1::BanMemberRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .ban_member(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/UnbanMember" => {
            let message: hearth::rooms::v1::UnbanMemberRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .unban_member(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/ListBans" => {
            let message: hearth::rooms::v1::ListBansRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .list_bans(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/SetMemberRole" => {
            let message: hearth::rooms::v1::SetMemberRoleRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .set_member_role(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/TransferOwnership" => {
            let message: hearth::rooms::v1::TransferOwnershipRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .transfer_ownership(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/CreateInvite" => {
            let message: hearth::rooms::v1::CreateInviteRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .create_invite(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/ListInvites" => {
            let message: hearth::rooms::v1::ListInvitesRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .list_invites(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/RevokeInvite" => {
            let message: hearth::rooms::v1::RevokeInviteRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .revoke_invite(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/InviteUsers" => {
            let message: hearth::rooms::v1::InviteUsersRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .invite_users(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/GetInvitePreview" => {
            let message: hearth::rooms::v1::GetInvitePreviewRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .get_invite_preview(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/Play" => {
            let message: hearth::rooms::v1::PlayRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .play(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/Pause" => {
            let message: hearth::rooms::v1::PauseRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .pause(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/Seek" => {
            let message: hearth::rooms::v1::SeekRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .seek(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/SetRate" => {
            let message: hearth::rooms::v1::SetRateRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .set_rate(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/ChangeMedia" => {
            let message: hearth::rooms::v1::ChangeMediaRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .change_media(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/UpdateQueue" => {
            let message: hearth::rooms::v1::UpdateQueueRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .update_queue(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/PlayNext" => {
            let message: hearth::rooms::v1::PlayNextRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .play_next(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/ReportReadiness" => {
            let message: hearth::rooms::v1::ReportReadinessRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .report_readiness(request(message, token))
                .await?;
            encode(reply)
        }
        "RoomsService/SetHoldGroup" => {
            let message: hearth::rooms::v1::SetHoldGroupRequest = decode(body)?;
            let reply = hearth::rooms::v1::rooms_service_client::RoomsServiceClient::new(channel)
                .set_hold_group(request(message, token))
                .await?;
            encode(reply)
        }
        other => panic!("no gRPC method {other} in the table"),
    }
}
