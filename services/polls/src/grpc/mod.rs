//! The polls service's gRPC handlers. `service` implements the four
//! generated traits by forwarding to the handlers, which live by kind of
//! interaction: `polls` (and the vote writer in `votes`), `quizzes`,
//! `predictions` (with the points ledger), `qna`, and `interactions` (the
//! one-call snapshot a client gets on entering a room).

mod interactions;
mod polls;
mod predictions;
mod qna;
mod quizzes;
mod service;
pub(crate) mod votes;

use hearth_platform::{
    auth::{AuthError, ServiceCredential, TokenKeys},
    config::PollsConfig,
    grpc::TracedChannel,
    profiles::Profiles,
    validate,
};
use hearth_proto::hearth::rooms::v1::{
    GetAccessRequest, GetStandingsRequest, RoomKind, RoomRole, RoomState, RoomVisibility,
    room_access_service_client::RoomAccessServiceClient,
};
use tonic::{Request, metadata::MetadataValue};
use uuid::Uuid;

use crate::{
    error::{PollsError, Result},
    events::Events,
    state::State,
    store::Store,
};

/// The handlers and what they need; cheap to clone.
#[derive(Clone)]
pub struct PollsApi {
    pub(crate) store: Store,
    pub(crate) state: State,
    pub(crate) events: Events,
    pub(crate) tokens: TokenKeys,
    pub(crate) config: PollsConfig,
    pub(crate) rooms: RoomAccessServiceClient<TracedChannel>,
    /// Chat restrictions, which Q&A follows.
    pub(crate) chat: hearth_proto::hearth::chat::v1::chat_access_service_client::ChatAccessServiceClient<TracedChannel>,
    pub(crate) profiles: Profiles,
    /// This replica's own credential (batched standings checks).
    pub(crate) credential: ServiceCredential,
    pub(crate) votes: votes::VoteWriter,
    pub(crate) live: crate::live::Live,
    /// Engagement signals for the recommendations role (never awaited).
    pub(crate) signals: crate::signals::Signals,
}

/// The authenticated caller, with the credentials to forward.
#[derive(Clone)]
pub struct Caller {
    pub id: Uuid,
    pub admin: bool,
    /// The call came through a gateway presenting its service credential
    /// (`hearth-service-authorization`): gateway-measured values are
    /// honoured (quiz response times).
    pub via_gateway: bool,
    authorization: MetadataValue<tonic::metadata::Ascii>,
}

impl Caller {
    /// A request to another service on the caller's behalf.
    pub(crate) fn forward<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.metadata_mut().insert("authorization", self.authorization.clone());
        request
    }
}

/// One user's standing in a room, as the rooms service says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: RoomRole,
    pub member: bool,
    pub banned: bool,
}

impl Standing {
    pub(crate) fn from_pb(s: Option<&hearth_proto::hearth::rooms::v1::Standing>) -> Standing {
        Standing {
            role: s.and_then(|s| RoomRole::try_from(s.role).ok()).unwrap_or(RoomRole::Unspecified),
            member: s.is_some_and(|s| s.member_since.is_some()),
            banned: s.is_some_and(|s| s.banned),
        }
    }
}

/// The room and where the caller stands.
#[derive(Debug, Clone)]
pub struct Room {
    pub id: Uuid,
    pub title: String,
    pub kind: RoomKind,
    pub visibility: RoomVisibility,
    pub state: RoomState,
    pub caller: Standing,
    pub admin: bool,
}

impl Room {
    /// Managers: the room's moderators, hosts and owner, and operator
    /// admins.
    pub fn caller_manages(&self) -> bool {
        self.admin || self.caller.role as i32 >= RoomRole::Moderator as i32
    }

    /// The room as engagement signals describe it.
    pub fn facts(&self) -> crate::signals::RoomFacts {
        crate::signals::RoomFacts { room: self.id, kind: self.kind, visibility: self.visibility }
    }
}

pub(crate) fn uuid(field: &str, raw: &str) -> Result<Uuid> {
    Ok(validate::uuid(field, raw)?)
}

pub(crate) fn not_found_room() -> PollsError {
    PollsError::NotFound("room_not_found", "no such room".into())
}

pub use hearth_platform::auth::SERVICE_HEADER;

impl PollsApi {
    pub(crate) fn caller<T>(&self, request: &Request<T>) -> Result<Caller> {
        let claims = self.tokens.authenticate(request.metadata())?;
        let id = Uuid::parse_str(&claims.sub)
            .map_err(|_| PollsError::Auth(AuthError::Invalid("subject is not a UUID".into())))?;
        let authorization = request.metadata().get("authorization").cloned().ok_or(AuthError::Missing)?;
        let via_gateway = request
            .metadata()
            .get(SERVICE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|token| self.tokens.verify(token).ok())
            .is_some_and(|claims| claims.service_name() == Some("gateway"));
        Ok(Caller { id, admin: claims.is_admin(), via_gateway, authorization })
    }

    /// The room and the caller's standing, from the rooms service.
    pub(crate) async fn room(&self, caller: &Caller, room: Uuid) -> Result<Room> {
        let request = GetAccessRequest { room_id: room.to_string(), user_ids: Vec::new() };
        let access = self.rooms.clone().get_access(caller.forward(request)).await?.into_inner();
        Ok(Room {
            id: room,
            title: access.title,
            kind: RoomKind::try_from(access.kind).unwrap_or(RoomKind::Unspecified),
            visibility: RoomVisibility::try_from(access.visibility).unwrap_or(RoomVisibility::Private),
            state: RoomState::try_from(access.state).unwrap_or(RoomState::Active),
            caller: Standing::from_pb(access.caller.as_ref()),
            admin: access.caller_is_admin,
        })
    }

    /// The room if the caller may see its interactions (viewers): members,
    /// and guests of public and unlisted rooms; never banned users.
    pub(crate) async fn viewable(&self, caller: &Caller, room: Uuid) -> Result<Room> {
        let room = self.room(caller, room).await?;
        if room.admin {
            return Ok(room);
        }
        if room.caller.banned {
            return Err(PollsError::Denied("banned", "you are banned from this room".into()));
        }
        if room.visibility == RoomVisibility::Private && !room.caller.member {
            return Err(not_found_room());
        }
        Ok(room)
    }

    fn writable(room: &Room) -> Result<()> {
        if room.state == RoomState::Archived {
            return Err(PollsError::Precondition("room_archived", "the room is archived: read-only".into()));
        }
        Ok(())
    }

    /// The room if the caller may take part (vote, answer, predict, ask):
    /// members only, room not archived.
    pub(crate) async fn participant(&self, caller: &Caller, room: Uuid) -> Result<Room> {
        let room = self.viewable(caller, room).await?;
        Self::writable(&room)?;
        if !room.caller.member {
            return Err(not_member());
        }
        Ok(room)
    }

    /// The room if the caller manages it (and it is not archived).
    pub(crate) async fn managed(&self, caller: &Caller, room: Uuid) -> Result<Room> {
        let room = self.viewable(caller, room).await?;
        if !room.caller_manages() {
            return Err(PollsError::Denied(
                "not_manager",
                "only the room's moderators, hosts and owner may do this".into(),
            ));
        }
        Self::writable(&room)?;
        Ok(room)
    }

    /// A request to another service made as this replica (service token).
    fn as_service<T>(&self, message: T) -> Result<Request<T>> {
        let bearer = self.credential.bearer()?;
        let mut request = Request::new(message);
        let value = MetadataValue::try_from(bearer).map_err(|_| PollsError::Internal("service token".into()))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }

    /// Refuses users the room's chat timed out or banned (`timed_out`,
    /// `chat_banned`): Q&A follows chat's restrictions. When the chat role
    /// cannot answer, the question is let through rather than refused.
    pub(crate) async fn check_chat_restriction(&self, room: Uuid, user: Uuid) -> Result<()> {
        use hearth_proto::hearth::chat::v1::{GetChatRestrictionRequest, RestrictionKind};
        let request =
            self.as_service(GetChatRestrictionRequest { room_id: room.to_string(), user_id: user.to_string() })?;
        let answer = match self.chat.clone().get_chat_restriction(request).await {
            Ok(answer) => answer.into_inner(),
            Err(status) => {
                tracing::warn!(code = ?status.code(), "chat restrictions unavailable; not applied to this question");
                return Ok(());
            }
        };
        let until = answer
            .expire_time
            .as_ref()
            .and_then(hearth_platform::wkt::datetime)
            .map(|at| format!(" until {at}"))
            .unwrap_or_default();
        match RestrictionKind::try_from(answer.kind) {
            Ok(RestrictionKind::Timeout) => {
                Err(PollsError::Denied("timed_out", format!("you are timed out in this room's chat{until}")))
            }
            Ok(RestrictionKind::Ban) => {
                Err(PollsError::Denied("chat_banned", format!("you are banned from this room's chat{until}")))
            }
            _ => Ok(()),
        }
    }

    /// Standings of many users in one call (the vote writer's batches), with
    /// the room's state and what signals say about it.
    pub(crate) async fn standings(
        &self,
        room: Uuid,
        users: &[Uuid],
    ) -> Result<(RoomState, crate::signals::RoomFacts, Vec<Standing>)> {
        let request = self.as_service(GetStandingsRequest {
            room_id: room.to_string(),
            user_ids: users.iter().map(Uuid::to_string).collect(),
        })?;
        let response = self.rooms.clone().get_standings(request).await?.into_inner();
        let state = RoomState::try_from(response.state).unwrap_or(RoomState::Active);
        let facts = crate::signals::RoomFacts {
            room,
            kind: RoomKind::try_from(response.kind).unwrap_or(RoomKind::Unspecified),
            visibility: RoomVisibility::try_from(response.visibility).unwrap_or(RoomVisibility::Private),
        };
        Ok((state, facts, response.users.iter().map(|s| Standing::from_pb(Some(s))).collect()))
    }
}

pub(crate) fn not_member() -> PollsError {
    PollsError::Denied("not_member", "only members of the room may take part; join it first".into())
}
