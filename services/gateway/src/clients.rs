//! gRPC clients of the services the gateway fronts. Channels connect lazily
//! and reconnect by themselves; each call carries the trace context and,
//! when acting for a user, the user's access token.

use hearth_platform::{
    config::ServicesConfig,
    grpc::{self, GrpcError, TracedChannel},
};
use hearth_proto::{
    hearth::{
        chat::v1::chat_service_client::ChatServiceClient,
        polls::v1::{
            polls_gateway_service_client::PollsGatewayServiceClient, polls_service_client::PollsServiceClient,
            predictions_service_client::PredictionsServiceClient, qna_service_client::QnaServiceClient,
            quiz_service_client::QuizServiceClient,
        },
        recommendations::v1::recommendations_service_client::RecommendationsServiceClient,
        rooms::v1::{
            room_presence_service_client::RoomPresenceServiceClient, rooms_service_client::RoomsServiceClient,
        },
    },
    identity::identity_service_client::IdentityServiceClient,
};
use tonic::Request;

#[derive(Clone)]
pub struct Clients {
    pub identity: IdentityServiceClient<TracedChannel>,
    pub rooms: RoomsServiceClient<TracedChannel>,
    pub presence: RoomPresenceServiceClient<TracedChannel>,
    pub chat: ChatServiceClient<TracedChannel>,
    pub polls: PollsServiceClient<TracedChannel>,
    pub quizzes: QuizServiceClient<TracedChannel>,
    pub predictions: PredictionsServiceClient<TracedChannel>,
    pub qna: QnaServiceClient<TracedChannel>,
    /// Batched votes (`ws::votes`).
    pub votes: PollsGatewayServiceClient<TracedChannel>,
    /// The recommendations role (frames 110–119); None when
    /// `services.recommendations_url` is empty (not deployed), so those
    /// frames are answered `unsupported`.
    pub recommendations: Option<RecommendationsServiceClient<TracedChannel>>,
    identity_health: tonic_health::pb::health_client::HealthClient<TracedChannel>,
}

impl Clients {
    pub fn new(config: &ServicesConfig) -> Result<Self, GrpcError> {
        let identity = grpc::channel(&config.identity_url, config.connect_timeout, config.request_timeout)?;
        let rooms = grpc::channel(&config.rooms_url, config.connect_timeout, config.request_timeout)?;
        let chat = grpc::channel(&config.chat_url, config.connect_timeout, config.request_timeout)?;
        let polls = grpc::channel(&config.polls_url, config.connect_timeout, config.request_timeout)?;
        let recommendations = match config.recommendations_url.trim() {
            "" => None,
            url => Some(RecommendationsServiceClient::new(grpc::channel(
                url,
                config.connect_timeout,
                config.request_timeout,
            )?)),
        };
        Ok(Self {
            recommendations,
            chat: ChatServiceClient::new(chat),
            polls: PollsServiceClient::new(polls.clone()),
            quizzes: QuizServiceClient::new(polls.clone()),
            predictions: PredictionsServiceClient::new(polls.clone()),
            qna: QnaServiceClient::new(polls.clone()),
            votes: PollsGatewayServiceClient::new(polls),
            rooms: RoomsServiceClient::new(rooms.clone()),
            presence: RoomPresenceServiceClient::new(rooms),
            identity: IdentityServiceClient::new(identity.clone()),
            identity_health: tonic_health::pb::health_client::HealthClient::new(identity),
        })
    }

    /// Whether the identity service reports SERVING.
    pub async fn identity_ready(&self) -> bool {
        let request = tonic_health::pb::HealthCheckRequest { service: "hearth.identity.v1.IdentityService".into() };
        matches!(
            self.identity_health.clone().check(request).await,
            Ok(response) if response.get_ref().status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        )
    }
}

/// A request acting on behalf of the holder of `access_token`.
pub fn authorized<T>(message: T, access_token: &str) -> Request<T> {
    let mut request = Request::new(message);
    if let Ok(value) = format!("Bearer {access_token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}
