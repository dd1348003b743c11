//! GetRoomInteractions: everything interactive in a room in one call, as
//! the caller may see it — what a client needs on entering a room (the
//! gateway adds it to the `enter_room` reply).

use hearth_proto::hearth::polls::v1 as pb;

use super::{Caller, PollsApi, uuid};
use crate::error::Result;

impl PollsApi {
    pub(crate) async fn get_room_interactions(
        &self,
        caller: Caller,
        req: pb::GetRoomInteractionsRequest,
    ) -> Result<pb::GetRoomInteractionsResponse> {
        let room = self.viewable(&caller, uuid("room_id", &req.room_id)?).await?;
        let (polls, quiz, predictions, qna, balance) = tokio::join!(
            self.current_polls(&caller, &room),
            self.running_quiz(&caller, &room),
            self.room_predictions(&caller, &room),
            self.qna_snapshot(&caller, &room),
            async { if room.caller.member { self.points_balance(room.id, caller.id).await } else { Ok(0) } },
        );
        let (qna_settings, highlighted_question, top_questions) = qna?;
        Ok(pb::GetRoomInteractionsResponse {
            polls: polls?,
            quiz: quiz?,
            predictions: predictions?,
            qna_settings: Some(qna_settings),
            highlighted_question,
            top_questions,
            points_balance: balance?,
        })
    }
}
