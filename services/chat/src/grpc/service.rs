//! The generated `ChatService` trait, forwarding each RPC to its handler
//! with the authenticated caller; errors become statuses in one place.

use hearth_proto::hearth::chat::v1::{self as pb, chat_service_server::ChatService};
use tonic::{Request, Response, Status};

use super::ChatApi;

macro_rules! forward {
    ($( $method:ident: $request:ident => $response:ident ),* $(,)?) => {
        #[tonic::async_trait]
        impl ChatService for ChatApi {
            $(
                async fn $method(&self, request: Request<pb::$request>) -> Result<Response<pb::$response>, Status> {
                    let caller = self.caller(&request)?;
                    Ok(Response::new(ChatApi::$method(self, caller, request.into_inner()).await?))
                }
            )*
        }
    };
}

forward! {
    send_message: SendMessageRequest => SendMessageResponse,
    list_messages: ListMessagesRequest => ListMessagesResponse,
    get_thread: GetThreadRequest => GetThreadResponse,
    delete_message: DeleteMessageRequest => DeleteMessageResponse,
    add_reaction: AddReactionRequest => AddReactionResponse,
    remove_reaction: RemoveReactionRequest => RemoveReactionResponse,
    list_reaction_users: ListReactionUsersRequest => ListReactionUsersResponse,
    send_live_reaction: SendLiveReactionRequest => SendLiveReactionResponse,
    set_typing: SetTypingRequest => SetTypingResponse,
    resume_chat: ResumeChatRequest => ResumeChatResponse,
    get_chat_settings: GetChatSettingsRequest => GetChatSettingsResponse,
    update_chat_settings: UpdateChatSettingsRequest => UpdateChatSettingsResponse,
    set_shield_mode: SetShieldModeRequest => SetShieldModeResponse,
    timeout_user: TimeoutUserRequest => TimeoutUserResponse,
    remove_timeout: RemoveTimeoutRequest => RemoveTimeoutResponse,
    ban_from_chat: BanFromChatRequest => BanFromChatResponse,
    unban_from_chat: UnbanFromChatRequest => UnbanFromChatResponse,
    list_chat_restrictions: ListChatRestrictionsRequest => ListChatRestrictionsResponse,
    add_blocked_term: AddBlockedTermRequest => AddBlockedTermResponse,
    remove_blocked_term: RemoveBlockedTermRequest => RemoveBlockedTermResponse,
    list_blocked_terms: ListBlockedTermsRequest => ListBlockedTermsResponse,
    list_held_messages: ListHeldMessagesRequest => ListHeldMessagesResponse,
    approve_held_message: ApproveHeldMessageRequest => ApproveHeldMessageResponse,
    deny_held_message: DenyHeldMessageRequest => DenyHeldMessageResponse,
    create_report: CreateReportRequest => CreateReportResponse,
    list_reports: ListReportsRequest => ListReportsResponse,
    resolve_report: ResolveReportRequest => ResolveReportResponse,
    list_audit_log: ListAuditLogRequest => ListAuditLogResponse,
}
