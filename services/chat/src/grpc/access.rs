//! ChatAccessService: the chat restrictions other Hearth services enforce
//! (Q&A in the polls role follows chat's timeouts and bans), asked with
//! the calling service's own token.

use hearth_proto::hearth::chat::v1::{self as pb, chat_access_service_server::ChatAccessService};
use tonic::{Request, Response, Status};

use super::{ChatApi, room_id, uuid};
use crate::{convert, error::ChatError};

#[tonic::async_trait]
impl ChatAccessService for ChatApi {
    async fn get_chat_restriction(
        &self,
        request: Request<pb::GetChatRestrictionRequest>,
    ) -> Result<Response<pb::GetChatRestrictionResponse>, Status> {
        let claims = self.tokens.authenticate(request.metadata()).map_err(ChatError::Auth)?;
        if !claims.is_service() {
            return Err(ChatError::Denied("not_service", "only Hearth services may call this".into(), None).into());
        }
        let req = request.into_inner();
        let (room, user) = (room_id(&req.room_id)?, uuid("user_id", &req.user_id)?);
        let restrictions = self.store.active_restrictions(room, user).await?;
        // A ban outweighs a timeout.
        let row = restrictions.iter().find(|r| r.kind == "ban").or_else(|| restrictions.first());
        Ok(Response::new(match row {
            Some(row) => pb::GetChatRestrictionResponse {
                kind: convert::restriction_kind(&row.kind) as i32,
                expire_time: row.expires_at.map(convert::timestamp),
            },
            None => pb::GetChatRestrictionResponse::default(),
        }))
    }
}
