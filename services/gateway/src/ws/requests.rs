//! Request frames that become gRPC calls. Each runs in its own task so a
//! slow call never holds up the connection's other frames (replies may come
//! in any order; `ref` pairs them), and the reply goes straight to the
//! connection's outbound queue.

use std::sync::{Arc, atomic::AtomicI64};

use hearth_platform::error::{status_field, status_reason, status_retry_after, wire_code};
use hearth_proto::hearth::{
    gateway::v1::{self as frames, ServerFrame, client_frame, server_frame},
    rooms::v1 as rooms_pb,
};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::{
    GatewayState,
    clients::authorized,
    ws::{
        close,
        codec::{self, Encoding},
        hub::{Blocks, Covered, Notice, Notices, Registration},
        outbound::Outbound,
        rtt,
    },
};

/// What a request task needs from its connection.
#[derive(Clone)]
pub struct Ctx {
    pub state: GatewayState,
    pub token: String,
    pub out: Outbound,
    pub encoding: Encoding,
    pub reference: String,
}

/// The error frame for a failed call: the stable code, the service's
/// reason first in the message, the field and the retry delay.
pub fn status_frame(reference: &str, status: &tonic::Status) -> ServerFrame {
    let code = status.code();
    let text = match code {
        tonic::Code::Unavailable => "service unavailable, retry later".to_owned(),
        tonic::Code::Internal | tonic::Code::Unknown => "internal error".to_owned(),
        _ => status.message().to_owned(),
    };
    if matches!(code, tonic::Code::Unavailable | tonic::Code::Internal | tonic::Code::Unknown) {
        tracing::warn!(code = ?code, message = status.message(), "upstream call failed");
    }
    let message = match status_reason(status) {
        Some(reason) if !text.starts_with(reason) => format!("{reason}: {text}"),
        _ => text,
    };
    ServerFrame {
        r#ref: reference.to_owned(),
        kind: Some(server_frame::Kind::Error(frames::Error {
            code: wire_code(code).to_owned(),
            message,
            field: status_field(status).unwrap_or_default().to_owned(),
            retry_after: status_retry_after(status)
                .map(|d| hearth_proto::wkt::Duration { seconds: d.as_secs() as i64, nanos: d.subsec_nanos() as i32 }),
        })),
    }
}

impl Ctx {
    pub(crate) fn reply(&self, result: Result<server_frame::Kind, tonic::Status>) {
        let frame = match result {
            Ok(kind) => ServerFrame { r#ref: self.reference.clone(), kind: Some(kind) },
            Err(status) => status_frame(&self.reference, &status),
        };
        self.send(&frame);
    }

    fn send(&self, frame: &ServerFrame) {
        if self.out.send(codec::encode(self.encoding, frame)).is_err() {
            self.out.close(close::SLOW_CONSUMER, "outbound queue overflow");
        }
    }
}

/// Which queue runs a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Concurrently with everything else.
    Any,
    /// In arrival order with the other playback frames (a BUFFERING
    /// overtaken by the READY sent after it would hold the group until the
    /// ready timeout).
    Playback,
    /// In arrival order with the other chat sends (a user's own messages
    /// must keep the order they were typed in).
    Chat,
}

type Job = futures::future::BoxFuture<'static, ()>;

/// Runs a connection's request calls: concurrently by default, in arrival
/// order within a lane. A lane's task is started on its first use, so an
/// idle connection costs nothing here.
#[derive(Default)]
pub struct Runner {
    playback: Option<mpsc::UnboundedSender<Job>>,
    chat: Option<mpsc::UnboundedSender<Job>>,
}

fn ordered_lane() -> mpsc::UnboundedSender<Job> {
    let (lane, mut jobs) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(async move {
        while let Some(job) = jobs.recv().await {
            job.await;
        }
    });
    lane
}

impl Runner {
    pub fn new() -> Self {
        Self::default()
    }

    fn run(&mut self, lane: Lane, job: Job) {
        let sender = match lane {
            Lane::Any => {
                tokio::spawn(job);
                return;
            }
            Lane::Playback => self.playback.get_or_insert_with(ordered_lane),
            Lane::Chat => self.chat.get_or_insert_with(ordered_lane),
        };
        let _ = sender.send(job);
    }
}

/// The lane of a frame.
fn lane(kind: &client_frame::Kind) -> Lane {
    use client_frame::Kind::*;
    match kind {
        Play(_) | Pause(_) | Seek(_) | SetRate(_) | ChangeMedia(_) | UpdateQueue(_) | PlayNext(_)
        | ReportReadiness(_) | SetHoldGroup(_) => Lane::Playback,
        SendMessage(_) => Lane::Chat,
        _ => Lane::Any,
    }
}

/// Forwards each listed frame to its method of a client in `Clients` (by
/// field name), or of an optional client (`@optional field`: a frame that
/// reaches an absent client is answered UNIMPLEMENTED: `unsupported`, reason
/// `not_deployed`).
macro_rules! forward_calls {
    ($ctx:ident, $runner:ident, $lane:ident, $kind:ident, $client:ident, $( $variant:ident => $method:ident ),* $(,)?) => {
        forward_calls!(@client [Some($ctx.state.clients.$client.clone())] $ctx, $runner, $lane, $kind, $( $variant => $method ),*)
    };
    ($ctx:ident, $runner:ident, $lane:ident, $kind:ident, @optional $client:ident, $( $variant:ident => $method:ident ),* $(,)?) => {
        forward_calls!(@client [$ctx.state.clients.$client.clone()] $ctx, $runner, $lane, $kind, $( $variant => $method ),*)
    };
    (@client [$client:expr] $ctx:ident, $runner:ident, $lane:ident, $kind:ident, $( $variant:ident => $method:ident ),* $(,)?) => {
        match $kind {
            $( client_frame::Kind::$variant(request) => {
                // Each request is the root of its own trace (not a child of
                // the long-lived connection): the gRPC call below and the
                // events it causes on every gateway descend from it.
                let span = tracing::info_span!(parent: None, "ws.request", frame = stringify!($method));
                $runner.run($lane, Box::pin(tracing::Instrument::instrument(async move {
                    // A role the operator chose not to deploy (no service
                    // URL): a stable refusal the client can hide a feature on.
                    let Some(mut client) = $client else {
                        $ctx.reply(Err(hearth_platform::error::refusal(
                            tonic::Code::Unimplemented,
                            concat!("this deployment does not run the role that serves ", stringify!($method)),
                            "not_deployed",
                            None,
                        )));
                        return;
                    };
                    let result = client.$method(authorized(request, &$ctx.token)).await
                        .map(|response| server_frame::Kind::$variant(response.into_inner()));
                    $ctx.reply(result);
                }, span)));
                Dispatch::Started
            } )*
            other => Dispatch::Unserved(other),
        }
    };
}

/// Starts the service call a frame asks for; `false` when no service this
/// gateway fronts serves the frame. `round_trip` fills ReportReadiness.
pub fn service_request(ctx: Ctx, runner: &mut Runner, kind: client_frame::Kind, round_trip: &AtomicI64) -> bool {
    let lane = lane(&kind);
    let kind = match kind {
        client_frame::Kind::ReportReadiness(mut request) => {
            // The client's own value is never trusted.
            request.round_trip = rtt::as_duration(round_trip);
            client_frame::Kind::ReportReadiness(request)
        }
        other => other,
    };
    let unserved = rooms_request(&ctx, runner, lane, kind)
        .or_else(|kind| chat_request(&ctx, runner, lane, kind))
        .or_else(|kind| polls_request(&ctx, runner, lane, kind))
        .or_else(|kind| recommendations_request(&ctx, runner, lane, kind));
    matches!(unserved, Dispatch::Started)
}

/// Whether a family's services took a frame; the frame back when not.
// Returned by value along one short chain and never stored: boxing the
// frame would only add an allocation per forwarded request.
#[allow(clippy::large_enum_variant)]
enum Dispatch {
    Started,
    Unserved(client_frame::Kind),
}

impl Dispatch {
    /// Offers an unserved frame to the next family.
    fn or_else(self, next: impl FnOnce(client_frame::Kind) -> Dispatch) -> Dispatch {
        match self {
            Dispatch::Started => Dispatch::Started,
            Dispatch::Unserved(kind) => next(kind),
        }
    }
}

/// Frames RoomsService and RoomPresenceService serve.
fn rooms_request(ctx: &Ctx, runner: &mut Runner, lane: Lane, kind: client_frame::Kind) -> Dispatch {
    let ctx = ctx.clone();
    forward_calls!(ctx, runner, lane, kind, rooms,
        GetRoomSnapshot => get_room_snapshot,
        CreateRoom => create_room,
        GetRoom => get_room,
        UpdateRoom => update_room,
        DeleteRoom => delete_room,
        ListMyRooms => list_my_rooms,
        ListPublicRooms => list_public_rooms,
        LeaveRoom => leave_room,
        ListMembers => list_members,
        KickMember => kick_member,
        BanMember => ban_member,
        UnbanMember => unban_member,
        ListBans => list_bans,
        SetMemberRole => set_member_role,
        TransferOwnership => transfer_ownership,
        CreateInvite => create_invite,
        ListInvites => list_invites,
        RevokeInvite => revoke_invite,
        InviteUsers => invite_users,
        Play => play,
        Pause => pause,
        Seek => seek,
        SetRate => set_rate,
        ChangeMedia => change_media,
        UpdateQueue => update_queue,
        PlayNext => play_next,
        ReportReadiness => report_readiness,
        SetHoldGroup => set_hold_group,
    )
}

/// Frames ChatService serves (ClientFrame fields 50–77).
fn chat_request(ctx: &Ctx, runner: &mut Runner, lane: Lane, kind: client_frame::Kind) -> Dispatch {
    let ctx = ctx.clone();
    forward_calls!(ctx, runner, lane, kind, chat,
        SendMessage => send_message,
        ListMessages => list_messages,
        GetThread => get_thread,
        DeleteMessage => delete_message,
        AddReaction => add_reaction,
        RemoveReaction => remove_reaction,
        ListReactionUsers => list_reaction_users,
        SendLiveReaction => send_live_reaction,
        SetTyping => set_typing,
        ResumeChat => resume_chat,
        GetChatSettings => get_chat_settings,
        UpdateChatSettings => update_chat_settings,
        SetShieldMode => set_shield_mode,
        TimeoutUser => timeout_user,
        RemoveTimeout => remove_timeout,
        BanFromChat => ban_from_chat,
        UnbanFromChat => unban_from_chat,
        ListChatRestrictions => list_chat_restrictions,
        AddBlockedTerm => add_blocked_term,
        RemoveBlockedTerm => remove_blocked_term,
        ListBlockedTerms => list_blocked_terms,
        ListHeldMessages => list_held_messages,
        ApproveHeldMessage => approve_held_message,
        DenyHeldMessage => deny_held_message,
        CreateReport => create_report,
        ListReports => list_reports,
        ResolveReport => resolve_report,
        ListAuditLog => list_audit_log,
    )
}

/// Frames the polls role serves (ClientFrame fields 80–109). Quiz answers
/// carry the time since the question reached this gateway, vouched for by
/// the gateway's own credential; a client's value is overwritten.
fn polls_request(ctx: &Ctx, runner: &mut Runner, lane: Lane, kind: client_frame::Kind) -> Dispatch {
    let ctx = ctx.clone();
    let kind = match kind {
        client_frame::Kind::SubmitQuizAnswer(mut request) => {
            let age = ctx.state.hub.quiz_question_age(&request.question_id);
            request.gateway_response_time = age.map(hearth_platform::wkt::duration);
            submit_quiz_answer(ctx, runner, lane, request);
            return Dispatch::Started;
        }
        other => other,
    };
    let ctx2 = ctx.clone();
    forward_calls!(ctx, runner, lane, kind, polls,
        CreatePoll => create_poll,
        UpdatePoll => update_poll,
        OpenPoll => open_poll,
        ClosePoll => close_poll,
        GetPoll => get_poll,
        ListPolls => list_polls,
        GetRoomInteractions => get_room_interactions,
        ListPollVoters => list_poll_voters,
    )
    .or_else(|kind| {
        let ctx = ctx2.clone();
        forward_calls!(ctx, runner, lane, kind, quizzes,
            CreateQuiz => create_quiz,
            GetQuiz => get_quiz,
            ListQuizzes => list_quizzes,
            RevealNextQuestion => reveal_next_question,
            GetLeaderboard => get_leaderboard,
            EndQuiz => end_quiz,
        )
    })
    .or_else(|kind| {
        let ctx = ctx2.clone();
        forward_calls!(ctx, runner, lane, kind, predictions,
            CreatePrediction => create_prediction,
            LockPrediction => lock_prediction,
            ResolvePrediction => resolve_prediction,
            CancelPrediction => cancel_prediction,
            PlacePrediction => place_prediction,
            GetPrediction => get_prediction,
            ListPredictions => list_predictions,
            GetPointsBalance => get_points_balance,
        )
    })
    .or_else(|kind| {
        let ctx = ctx2.clone();
        forward_calls!(ctx, runner, lane, kind, qna,
            AskQuestion => ask_question,
            ListQuestions => list_questions,
            UpvoteQuestion => upvote_question,
            ModerateQuestion => moderate_question,
            DeleteQuestion => delete_question,
            UpdateQnaSettings => update_qna_settings,
        )
    })
}

/// Frames RecommendationsService serves (ClientFrame fields 110–119). Where
/// the deployment does not run the recommendations role they are still
/// valid requests: answered `unsupported` / `not_deployed` by the call,
/// never counted as bad frames.
fn recommendations_request(ctx: &Ctx, runner: &mut Runner, lane: Lane, kind: client_frame::Kind) -> Dispatch {
    if !is_recommendations(&kind) {
        return Dispatch::Unserved(kind);
    }
    let ctx = ctx.clone();
    forward_calls!(ctx, runner, lane, kind, @optional recommendations,
        ListTrending => list_trending,
        ListFriendsWatching => list_friends_watching,
        ListBecauseYouWatched => list_because_you_watched,
        ListStartingSoon => list_starting_soon,
        ListShares => list_shares,
        ShareItem => share_item,
        DismissShare => dismiss_share,
        HideSession => hide_session,
        GetSharingSettings => get_sharing_settings,
        UpdateSharingSettings => update_sharing_settings,
    )
}

/// Whether RecommendationsService serves the frame (ClientFrame 110–119).
fn is_recommendations(kind: &client_frame::Kind) -> bool {
    use client_frame::Kind::*;
    matches!(
        kind,
        ListTrending(_)
            | ListFriendsWatching(_)
            | ListBecauseYouWatched(_)
            | ListStartingSoon(_)
            | ListShares(_)
            | ShareItem(_)
            | DismissShare(_)
            | HideSession(_)
            | GetSharingSettings(_)
            | UpdateSharingSettings(_)
    )
}

fn submit_quiz_answer(
    ctx: Ctx,
    runner: &mut Runner,
    lane: Lane,
    request: hearth_proto::hearth::polls::v1::SubmitQuizAnswerRequest,
) {
    let span = tracing::info_span!(parent: None, "ws.request", frame = "submit_quiz_answer");
    runner.run(
        lane,
        Box::pin(tracing::Instrument::instrument(
            async move {
                let mut call = authorized(request, &ctx.token);
                match ctx.state.credential.bearer().map(|b| b.parse()) {
                    Ok(Ok(value)) => {
                        call.metadata_mut().insert(hearth_platform::auth::SERVICE_HEADER, value);
                    }
                    _ => tracing::warn!("no gateway credential: the service times this answer from the reveal"),
                }
                let result = ctx
                    .state
                    .clients
                    .quizzes
                    .clone()
                    .submit_quiz_answer(call)
                    .await
                    .map(|response| server_frame::Kind::SubmitQuizAnswer(response.into_inner()));
                ctx.reply(result);
            },
            span,
        )),
    );
}

/// What entering a room needs besides the request context.
pub struct Enter {
    pub room: Uuid,
    pub connection: Uuid,
    pub user: String,
    pub request: frames::EnterRoom,
    pub notices: Notices,
    pub rtt_ms: Arc<AtomicI64>,
    pub blocks: Blocks,
    pub admin: bool,
}

/// Enters a room: registers the connection in the hub (events held), asks
/// the rooms service to join/authorise, lease and snapshot, then sends the
/// reply followed by the held events. An empty `ref` marks a re-entry after
/// a lost lease, whose reply is still pushed so the client can re-sync.
pub fn enter_room(ctx: Ctx, enter: Enter) {
    tokio::spawn(async move {
        let hub = ctx.state.hub.clone();
        let registration = Registration {
            room: enter.room,
            connection: enter.connection,
            user: enter.user.clone(),
            out: ctx.out.clone(),
            encoding: ctx.encoding,
            admin: enter.admin,
            blocks: enter.blocks.clone(),
            notices: enter.notices.clone(),
        };
        if let Err(error) = hub.register(registration).await {
            tracing::warn!(%error, "cannot subscribe to a room");
            ctx.reply(Err(tonic::Status::unavailable(error.to_string())));
            let _ = enter.notices.unbounded_send(Notice::EnterFailed(enter.room));
            return;
        }
        let request = rooms_pb::EnterRoomRequest {
            room_id: enter.room.to_string(),
            invite_code: enter.request.invite_code.clone(),
            join: enter.request.join,
            connection_id: enter.connection.to_string(),
            gateway_id: ctx.state.instance.clone(),
            round_trip: rtt::as_duration(&enter.rtt_ms),
        };
        let mut presence = ctx.state.clients.presence.clone();
        match presence.enter_room(authorized(request, &ctx.token)).await {
            Ok(response) => {
                let response = response.into_inner();
                let (version, role) = response.snapshot.as_ref().map(|s| (s.version, s.my_role)).unwrap_or_default();
                let (chat, interactions) = tokio::join!(
                    resume_chat(&ctx, enter.room, enter.request.chat_position.clone()),
                    room_interactions(&ctx, enter.room)
                );
                let sequence = chat.as_ref().map(|c| c.position.as_ref().map_or(0, |p| p.sequence));
                let reply = ServerFrame {
                    r#ref: ctx.reference.clone(),
                    kind: Some(server_frame::Kind::EnterRoom(frames::RoomEntered {
                        snapshot: response.snapshot,
                        joined: response.joined,
                        chat,
                        interactions,
                    })),
                };
                let covered = Covered { version, sequence, role };
                if hub.activate(enter.room, enter.connection, covered, &reply) {
                    ctx.state.leases.insert(enter.room, enter.connection, enter.user, enter.rtt_ms, enter.notices);
                } else {
                    // Exited (or closed) while entering: give the lease back.
                    exit_lease(&ctx.state, &ctx.token, enter.room, enter.connection).await;
                }
            }
            Err(status) => {
                hub.remove(enter.room, enter.connection);
                ctx.reply(Err(status));
                let _ = enter.notices.unbounded_send(Notice::EnterFailed(enter.room));
            }
        }
    });
}

/// The chat catch-up for an enter reply. Without it (chat not deployed or
/// down) the room is still entered: watching does not need chat, and the
/// client can `resume_chat` later.
async fn resume_chat(
    ctx: &Ctx,
    room: Uuid,
    since: Option<hearth_proto::hearth::chat::v1::ChatPosition>,
) -> Option<hearth_proto::hearth::chat::v1::ResumeChatResponse> {
    let request =
        hearth_proto::hearth::chat::v1::ResumeChatRequest { room_id: room.to_string(), since, latest_limit: 0 };
    match ctx.state.clients.chat.clone().resume_chat(authorized(request, &ctx.token)).await {
        Ok(response) => Some(response.into_inner()),
        Err(status) => {
            tracing::warn!(code = ?status.code(), message = status.message(), "room entered without chat");
            None
        }
    }
}

/// Polls, quiz, predictions and Q&A of the room for an enter reply; the
/// room is entered without them when the polls role is down (the client can
/// `get_room_interactions` later). Events of the room received meanwhile
/// follow the reply; they carry ids and revisions, so they apply in any
/// case.
async fn room_interactions(
    ctx: &Ctx,
    room: Uuid,
) -> Option<hearth_proto::hearth::polls::v1::GetRoomInteractionsResponse> {
    let request = hearth_proto::hearth::polls::v1::GetRoomInteractionsRequest { room_id: room.to_string() };
    match ctx.state.clients.polls.clone().get_room_interactions(authorized(request, &ctx.token)).await {
        Ok(response) => Some(response.into_inner()),
        Err(status) => {
            tracing::warn!(code = ?status.code(), message = status.message(), "room entered without interactions");
            None
        }
    }
}

/// Ends a lease at the rooms service (best effort: it expires anyway).
pub async fn exit_lease(state: &GatewayState, token: &str, room: Uuid, connection: Uuid) {
    let request = rooms_pb::ExitRoomRequest { room_id: room.to_string(), connection_id: connection.to_string() };
    if let Err(status) = state.clients.presence.clone().exit_room(authorized(request, token)).await {
        tracing::debug!(code = ?status.code(), "exit_room failed; the lease will expire");
    }
}

#[cfg(test)]
mod tests {
    use hearth_proto::hearth::recommendations::v1 as recs;

    use super::*;

    /// ClientFrame 110–119, in field order.
    fn recommendation_frames() -> Vec<client_frame::Kind> {
        use client_frame::Kind::*;
        vec![
            ListTrending(recs::ListTrendingRequest::default()),
            ListFriendsWatching(recs::ListFriendsWatchingRequest::default()),
            ListBecauseYouWatched(recs::ListBecauseYouWatchedRequest::default()),
            ListStartingSoon(recs::ListStartingSoonRequest::default()),
            ListShares(recs::ListSharesRequest::default()),
            ShareItem(recs::ShareItemRequest::default()),
            DismissShare(recs::DismissShareRequest::default()),
            HideSession(recs::HideSessionRequest::default()),
            GetSharingSettings(recs::GetSharingSettingsRequest::default()),
            UpdateSharingSettings(recs::UpdateSharingSettingsRequest::default()),
        ]
    }

    #[test]
    fn frames_110_to_119_go_to_the_recommendations_service_concurrently() {
        let frames = recommendation_frames();
        assert_eq!(frames.len(), 10);
        for (field, kind) in (110..).zip(&frames) {
            let encoded =
                prost::Message::encode_to_vec(&frames::ClientFrame { r#ref: String::new(), kind: Some(kind.clone()) });
            // The first byte of the frame is its field's tag (field << 3 | LEN), two bytes for fields ≥ 16.
            let tag = (field << 3) | 2;
            assert_eq!(encoded[..2], [(tag & 0x7f) as u8 | 0x80, (tag >> 7) as u8], "field {field}");
            assert!(is_recommendations(kind), "field {field}");
            assert_eq!(lane(kind), Lane::Any, "field {field}");
        }
    }

    #[test]
    fn other_frames_are_not_recommendations() {
        let poll = client_frame::Kind::GetPoll(hearth_proto::hearth::polls::v1::GetPollRequest::default());
        let room = client_frame::Kind::GetRoom(rooms_pb::GetRoomRequest::default());
        assert!(!is_recommendations(&poll));
        assert!(!is_recommendations(&room));
    }
}
