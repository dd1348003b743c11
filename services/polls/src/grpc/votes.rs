//! The vote writer: votes arriving at a replica within a couple of
//! milliseconds are checked and written together — one standings call to
//! the rooms service per room, one INSERT for the batch, one Redis
//! pipeline per poll — so a burst of thousands of voters costs a few
//! statements, not thousands. Each voter still gets their own answer:
//! counted, already counted (a retry), changed, or the precise refusal.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use hearth_proto::hearth::{
    polls::v1 as pb,
    recommendations::v1::SignalKind,
    rooms::v1::{RoomState, RoomVisibility},
};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{PollsApi, Standing, not_member, polls::PollDef};
use crate::{
    domain::poll::PollState,
    error::{PollsError, Result},
    store::{NewVote, VoteOutcome},
};

/// Batches written at once per replica.
const CONCURRENT_BATCHES: usize = 4;
/// Most users one standings call asks about (the rooms service's limit).
const STANDINGS_MAX: usize = 1000;
/// Poll definitions kept per replica; the cache starts over beyond.
const DEFINITIONS_MAX: usize = 10_000;

struct Pending {
    def: Arc<PollDef>,
    vote: NewVote,
    reply: oneshot::Sender<Result<pb::CastVoteResponse>>,
}

/// Hands votes to this replica's writer task; cheap to clone.
#[derive(Clone)]
pub struct VoteWriter {
    queue: Option<mpsc::UnboundedSender<Pending>>,
    /// Definitions of published polls (their options and rules never
    /// change once open).
    definitions: Arc<Mutex<HashMap<Uuid, Arc<PollDef>>>>,
}

impl VoteWriter {
    /// A writer without a task (while the API is being assembled).
    pub fn detached() -> Self {
        Self { queue: None, definitions: Default::default() }
    }

    /// Starts the writer task.
    pub fn spawn(api: PollsApi, shutdown: CancellationToken) -> Self {
        let (queue, incoming) = mpsc::unbounded_channel();
        let writer = Self { queue: Some(queue), definitions: api.votes.definitions.clone() };
        tokio::spawn(run(api, incoming, shutdown));
        writer
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<PollDef>>> {
        self.definitions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What a vote needs of its poll (cached once the poll is open).
    pub async fn definition(&self, api: &PollsApi, poll: Uuid) -> Result<Arc<PollDef>> {
        if let Some(def) = self.cache().get(&poll) {
            return Ok(def.clone());
        }
        let row =
            api.store.poll(poll).await?.ok_or_else(|| PollsError::NotFound("poll_not_found", "no such poll".into()))?;
        let def = Arc::new(PollDef::from_row(&row));
        if def.state == PollState::Open {
            let mut cache = self.cache();
            if cache.len() >= DEFINITIONS_MAX {
                cache.clear();
            }
            cache.insert(poll, def.clone());
        }
        Ok(def)
    }

    /// Drops a poll's cached definition (it closed).
    pub fn forget(&self, poll: Uuid) {
        self.cache().remove(&poll);
    }

    /// Queues a vote and waits for its outcome.
    pub async fn submit(&self, def: Arc<PollDef>, vote: NewVote) -> Result<pb::CastVoteResponse> {
        let queue = self.queue.as_ref().ok_or_else(|| PollsError::Internal("vote writer not started".into()))?;
        let (reply, answer) = oneshot::channel();
        queue.send(Pending { def, vote, reply }).map_err(|_| PollsError::Internal("vote writer stopped".into()))?;
        answer.await.map_err(|_| PollsError::Internal("vote writer dropped a vote".into()))?
    }
}

/// Collects votes into batches and writes them, a few batches at a time.
async fn run(api: PollsApi, mut incoming: mpsc::UnboundedReceiver<Pending>, shutdown: CancellationToken) {
    let slots = Arc::new(Semaphore::new(CONCURRENT_BATCHES));
    let (delay, max) = (api.config.vote_batch_delay, api.config.vote_batch_max.max(1));
    loop {
        let first = tokio::select! {
            () = shutdown.cancelled() => return,
            next = incoming.recv() => match next { Some(p) => p, None => return },
        };
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + delay;
        while batch.len() < max {
            match tokio::time::timeout_at(deadline, incoming.recv()).await {
                Ok(Some(p)) => batch.push(p),
                Ok(None) | Err(_) => break,
            }
        }
        let api = api.clone();
        tokio::spawn(async move {
            write(&api, batch).await;
            drop(slot);
        });
    }
}

/// Why a user may not vote in a room in `state`, if they may not: a
/// private room does not exist for those who are neither members nor
/// banned (as for every other read), so not even its polls' states leak.
pub(crate) fn standing_refusal(
    state: RoomState,
    visibility: RoomVisibility,
    standing: &Standing,
) -> Option<PollsError> {
    if visibility == RoomVisibility::Private && !standing.member && !standing.banned {
        Some(PollsError::NotFound("room_not_found", "no such room".into()))
    } else if state == RoomState::Archived {
        Some(PollsError::Precondition("room_archived", "the room is archived: read-only".into()))
    } else if standing.banned {
        Some(PollsError::Denied("banned", "you are banned from this room".into()))
    } else if !standing.member {
        Some(not_member())
    } else {
        None
    }
}

/// A refusal for every vote of a room whose check failed.
fn upstream(status: &tonic::Status) -> PollsError {
    PollsError::Upstream(status.clone())
}

/// Checks standings per room, writes the eligible votes, updates tallies
/// and answers everyone.
async fn write(api: &PollsApi, batch: Vec<Pending>) {
    let mut by_room: HashMap<Uuid, Vec<Pending>> = HashMap::new();
    for pending in batch {
        by_room.entry(pending.def.room).or_default().push(pending);
    }
    let mut eligible = Vec::new();
    let mut rooms: HashMap<Uuid, crate::signals::RoomFacts> = HashMap::new();
    for (room, pendings) in by_room {
        for chunk in chunk_owned(pendings, STANDINGS_MAX) {
            let users: Vec<Uuid> = chunk.iter().map(|p| p.vote.user).collect();
            match api.standings(room, &users).await {
                Ok((state, facts, standings)) => {
                    rooms.insert(room, facts);
                    for (pending, standing) in chunk.into_iter().zip(standings) {
                        match standing_refusal(state, facts.visibility, &standing) {
                            Some(error) => {
                                let _ = pending.reply.send(Err(error));
                            }
                            None => eligible.push(pending),
                        }
                    }
                }
                Err(error) => {
                    let status: tonic::Status = error.into();
                    for pending in chunk {
                        let _ = pending.reply.send(Err(upstream(&status)));
                    }
                }
            }
        }
    }
    if eligible.is_empty() {
        return;
    }
    let votes: Vec<NewVote> = eligible.iter().map(|p| p.vote.clone()).collect();
    let outcomes = match api.store.write_votes(&votes).await {
        Ok(outcomes) => outcomes,
        Err(error) => {
            let status: tonic::Status = error.into();
            for pending in eligible {
                let _ = pending.reply.send(Err(upstream(&status)));
            }
            return;
        }
    };
    hearth_platform::metrics::polls_votes()
        .add(outcomes.iter().filter(|o| **o == VoteOutcome::Counted).count() as u64, &[]);
    // Live tallies for what was counted (participation points are
    // credited when the poll closes: PollsApi::credit_poll_points).
    let mut deltas: HashMap<(Uuid, Uuid), (HashMap<String, i64>, i64)> = HashMap::new();
    for (pending, outcome) in eligible.iter().zip(&outcomes) {
        if *outcome == VoteOutcome::Counted {
            let entry = deltas.entry((pending.def.room, pending.def.id)).or_default();
            for option in &pending.vote.options {
                *entry.0.entry(option.clone()).or_default() += 1;
            }
            entry.1 += 1;
        }
    }
    for ((room, poll), (options, voters)) in deltas {
        if let Err(error) = api.state.add_tallies(room, poll, &options, voters).await {
            tracing::warn!(%error, %poll, "live tally not updated; it is rebuilt from the votes when read");
        }
        api.tally_changed(room, poll);
    }
    for (pending, outcome) in eligible.into_iter().zip(outcomes) {
        let answer = match outcome {
            VoteOutcome::Counted => {
                if let Some(facts) = rooms.get(&pending.def.room) {
                    api.signals.emit(SignalKind::PollVote, pending.vote.user, facts);
                }
                Ok(pb::CastVoteResponse { option_ids: pending.vote.options, changed: false })
            }
            VoteOutcome::Same => Ok(pb::CastVoteResponse { option_ids: pending.vote.options, changed: false }),
            VoteOutcome::Different(previous) if pending.def.allow_change => {
                let api = api.clone();
                tokio::spawn(async move {
                    let answer = change(&api, &pending.def, &pending.vote, previous).await;
                    let _ = pending.reply.send(answer);
                });
                continue;
            }
            VoteOutcome::Different(_) => Err(PollsError::AlreadyExists(
                "already_voted",
                "you have already voted in this poll, and it does not allow changing votes".into(),
            )),
            VoteOutcome::NotOpen { state, past_deadline } => Err(not_open(&state, past_deadline)),
        };
        let _ = pending.reply.send(answer);
    }
}

fn not_open(state: &str, past_deadline: bool) -> PollsError {
    match PollState::parse(state) {
        PollState::Draft | PollState::Scheduled => {
            PollsError::Precondition("poll_not_open", "the poll has not opened yet".into())
        }
        PollState::Open if !past_deadline => PollsError::Internal("vote not written on an open poll".into()),
        _ if state == "deleted" => PollsError::NotFound("poll_not_found", "no such poll".into()),
        _ => PollsError::Precondition("poll_closed", "the poll has closed".into()),
    }
}

/// Replaces a vote (polls that allow changing), moving the live counts.
async fn change(api: &PollsApi, def: &PollDef, vote: &NewVote, previous: Vec<String>) -> Result<pb::CastVoteResponse> {
    let Some(old) = api.store.change_vote(vote).await? else {
        let row = api.store.poll(def.id).await?;
        let state = row.as_ref().map_or("deleted", |r| r.state.as_str());
        return Err(not_open(state, true));
    };
    let old = if old.is_empty() { previous } else { old };
    let mut deltas: HashMap<String, i64> = HashMap::new();
    for option in &old {
        *deltas.entry(option.clone()).or_default() -= 1;
    }
    for option in &vote.options {
        *deltas.entry(option.clone()).or_default() += 1;
    }
    deltas.retain(|_, d| *d != 0);
    if let Err(error) = api.state.add_tallies(def.room, def.id, &deltas, 0).await {
        tracing::warn!(%error, poll = %def.id, "live tally not updated after a vote change");
    }
    api.tally_changed(def.room, def.id);
    Ok(pb::CastVoteResponse { option_ids: vote.options.clone(), changed: true })
}

fn chunk_owned<T>(items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut chunks = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        chunks.push(items.by_ref().take(size).collect());
    }
    chunks
}

/// Most votes in one gateway batch.
const GATEWAY_BATCH_MAX: usize = 1000;

fn refusal(error: PollsError) -> pb::VoteRefusal {
    let status: tonic::Status = error.into();
    pb::VoteRefusal {
        code: status.code() as i32,
        message: status.message().to_owned(),
        reason: hearth_platform::error::status_reason(&status).unwrap_or_default().to_owned(),
        field: hearth_platform::error::status_field(&status).unwrap_or_default().to_owned(),
    }
}

#[tonic::async_trait]
impl pb::polls_gateway_service_server::PollsGatewayService for PollsApi {
    async fn cast_votes(
        &self,
        request: tonic::Request<pb::CastVotesRequest>,
    ) -> std::result::Result<tonic::Response<pb::CastVotesResponse>, tonic::Status> {
        let claims = self.tokens.authenticate(request.metadata()).map_err(PollsError::Auth)?;
        if claims.service_name() != Some("gateway") {
            return Err(PollsError::Denied("not_gateway", "only Hearth gateways may call this".into()).into());
        }
        let votes = request.into_inner().votes;
        if votes.is_empty() || votes.len() > GATEWAY_BATCH_MAX {
            return Err(PollsError::field("votes", "invalid_batch", "must hold 1 to 1000 votes").into());
        }
        let results = futures::future::join_all(votes.into_iter().map(|vote| async move {
            let outcome = match Uuid::parse_str(&vote.user_id) {
                Ok(user) => self.cast_vote_as(user, vote.vote.unwrap_or_default()).await,
                Err(_) => Err(PollsError::field("votes.user_id", "invalid_user", "must be a UUID")),
            };
            pb::VoteResult {
                result: Some(match outcome {
                    Ok(counted) => pb::vote_result::Result::Counted(counted),
                    Err(error) => pb::vote_result::Result::Refused(refusal(error)),
                }),
            }
        }))
        .await;
        Ok(tonic::Response::new(pb::CastVotesResponse { results }))
    }
}
