//! The four generated service traits, forwarding each RPC to its handler
//! with the authenticated caller; errors become statuses in one place.

use hearth_proto::hearth::polls::v1::{
    self as pb, polls_service_server::PollsService, predictions_service_server::PredictionsService,
    qna_service_server::QnaService, quiz_service_server::QuizService,
};
use tonic::{Request, Response, Status};

use super::PollsApi;

macro_rules! forward {
    ($service:ident { $( $method:ident: $request:ident => $response:ident ),* $(,)? }) => {
        #[tonic::async_trait]
        impl $service for PollsApi {
            $(
                async fn $method(&self, request: Request<pb::$request>) -> Result<Response<pb::$response>, Status> {
                    let caller = self.caller(&request)?;
                    Ok(Response::new(PollsApi::$method(self, caller, request.into_inner()).await?))
                }
            )*
        }
    };
}

forward!(PollsService {
    create_poll: CreatePollRequest => CreatePollResponse,
    get_poll: GetPollRequest => GetPollResponse,
    list_polls: ListPollsRequest => ListPollsResponse,
    update_poll: UpdatePollRequest => UpdatePollResponse,
    open_poll: OpenPollRequest => OpenPollResponse,
    close_poll: ClosePollRequest => ClosePollResponse,
    archive_poll: ArchivePollRequest => ArchivePollResponse,
    delete_poll: DeletePollRequest => DeletePollResponse,
    cast_vote: CastVoteRequest => CastVoteResponse,
    list_poll_voters: ListPollVotersRequest => ListPollVotersResponse,
    get_room_interactions: GetRoomInteractionsRequest => GetRoomInteractionsResponse,
});

forward!(QuizService {
    create_quiz: CreateQuizRequest => CreateQuizResponse,
    get_quiz: GetQuizRequest => GetQuizResponse,
    list_quizzes: ListQuizzesRequest => ListQuizzesResponse,
    update_quiz: UpdateQuizRequest => UpdateQuizResponse,
    delete_quiz: DeleteQuizRequest => DeleteQuizResponse,
    reveal_next_question: RevealNextQuestionRequest => RevealNextQuestionResponse,
    submit_quiz_answer: SubmitQuizAnswerRequest => SubmitQuizAnswerResponse,
    get_leaderboard: GetLeaderboardRequest => GetLeaderboardResponse,
    end_quiz: EndQuizRequest => EndQuizResponse,
});

forward!(PredictionsService {
    create_prediction: CreatePredictionRequest => CreatePredictionResponse,
    get_prediction: GetPredictionRequest => GetPredictionResponse,
    list_predictions: ListPredictionsRequest => ListPredictionsResponse,
    lock_prediction: LockPredictionRequest => LockPredictionResponse,
    resolve_prediction: ResolvePredictionRequest => ResolvePredictionResponse,
    cancel_prediction: CancelPredictionRequest => CancelPredictionResponse,
    place_prediction: PlacePredictionRequest => PlacePredictionResponse,
    get_points_balance: GetPointsBalanceRequest => GetPointsBalanceResponse,
    list_points_transactions: ListPointsTransactionsRequest => ListPointsTransactionsResponse,
});

forward!(QnaService {
    ask_question: AskQuestionRequest => AskQuestionResponse,
    list_questions: ListQuestionsRequest => ListQuestionsResponse,
    upvote_question: UpvoteQuestionRequest => UpvoteQuestionResponse,
    moderate_question: ModerateQuestionRequest => ModerateQuestionResponse,
    delete_question: DeleteQuestionRequest => DeleteQuestionResponse,
    get_qna_settings: GetQnaSettingsRequest => GetQnaSettingsResponse,
    update_qna_settings: UpdateQnaSettingsRequest => UpdateQnaSettingsResponse,
});
