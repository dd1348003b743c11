//! Votes from all of this gateway's connections, sent to the polls role in
//! batches: every `cast_vote` arriving within a millisecond (or 256 of
//! them) goes out in one `PollsGatewayService.CastVotes` call under the
//! gateway's own credential, and each voter gets their own reply. When a
//! show asks thousands of viewers a question at once, this turns thousands
//! of gRPC calls into a handful.

use std::{sync::Arc, time::Duration};

use hearth_platform::{auth::ServiceCredential, error as platform_error, grpc::TracedChannel};
use hearth_proto::hearth::{
    gateway::v1::server_frame,
    polls::v1::{
        CastVoteRequest, CastVotesRequest, GatewayVote, VoteRefusal,
        polls_gateway_service_client::PollsGatewayServiceClient, vote_result,
    },
};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::ws::requests::Ctx;

/// How long the first vote of a batch waits for more.
const BATCH_DELAY: Duration = Duration::from_millis(1);
/// Most votes per call.
const BATCH_MAX: usize = 256;
/// Calls in flight at once.
const CONCURRENT_CALLS: usize = 8;

struct Queued {
    ctx: Ctx,
    user: String,
    vote: CastVoteRequest,
}

/// Queues votes for the batching task; cheap to clone.
#[derive(Clone)]
pub struct VoteBatcher {
    queue: mpsc::UnboundedSender<Queued>,
}

impl VoteBatcher {
    pub fn spawn(
        client: PollsGatewayServiceClient<TracedChannel>,
        credential: ServiceCredential,
        shutdown: CancellationToken,
    ) -> Self {
        let (queue, incoming) = mpsc::unbounded_channel();
        tokio::spawn(run(client, credential, incoming, shutdown));
        Self { queue }
    }

    /// Queues `user`'s vote; the reply goes to the connection of `ctx`.
    pub fn submit(&self, ctx: Ctx, user: String, vote: CastVoteRequest) {
        if let Err(mpsc::error::SendError(queued)) = self.queue.send(Queued { ctx, user, vote }) {
            queued.ctx.reply(Err(tonic::Status::unavailable("the gateway is shutting down")));
        }
    }
}

async fn run(
    client: PollsGatewayServiceClient<TracedChannel>,
    credential: ServiceCredential,
    mut incoming: mpsc::UnboundedReceiver<Queued>,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(CONCURRENT_CALLS));
    loop {
        let first = tokio::select! {
            () = shutdown.cancelled() => return,
            next = incoming.recv() => match next { Some(q) => q, None => return },
        };
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + BATCH_DELAY;
        while batch.len() < BATCH_MAX {
            match tokio::time::timeout_at(deadline, incoming.recv()).await {
                Ok(Some(q)) => batch.push(q),
                Ok(None) | Err(_) => break,
            }
        }
        let (client, credential) = (client.clone(), credential.clone());
        tokio::spawn(async move {
            send(client, &credential, batch).await;
            drop(slot);
        });
    }
}

/// The error frame of a refused vote: what a CastVote call would have got.
fn refused(refusal: VoteRefusal) -> tonic::Status {
    let status = platform_error::with_reason(
        tonic::Status::new(tonic::Code::from(refusal.code), refusal.message),
        &refusal.reason,
    );
    if refusal.field.is_empty() {
        return status;
    }
    let mut status = status;
    if let Ok(value) = refusal.field.parse() {
        status.metadata_mut().insert(platform_error::FIELD_METADATA, value);
    }
    status
}

async fn send(
    mut client: PollsGatewayServiceClient<TracedChannel>,
    credential: &ServiceCredential,
    batch: Vec<Queued>,
) {
    let span = tracing::info_span!(parent: None, "ws.votes", votes = batch.len());
    let _entered = span.enter();
    let request = CastVotesRequest {
        votes: batch.iter().map(|q| GatewayVote { user_id: q.user.clone(), vote: Some(q.vote.clone()) }).collect(),
    };
    let mut call = tonic::Request::new(request);
    match credential.bearer().map(|b| b.parse()) {
        Ok(Ok(value)) => {
            call.metadata_mut().insert("authorization", value);
        }
        _ => {
            for queued in batch {
                queued.ctx.reply(Err(tonic::Status::internal("the gateway has no service credential")));
            }
            return;
        }
    }
    drop(_entered);
    let outcome = tracing::Instrument::instrument(client.cast_votes(call), span).await;
    match outcome {
        Ok(response) => {
            let results = response.into_inner().results;
            if results.len() != batch.len() {
                tracing::warn!(sent = batch.len(), got = results.len(), "vote batch answered with a wrong count");
            }
            let mut results = results.into_iter();
            for queued in batch {
                let reply = match results.next().and_then(|r| r.result) {
                    Some(vote_result::Result::Counted(counted)) => Ok(server_frame::Kind::CastVote(counted)),
                    Some(vote_result::Result::Refused(refusal)) => Err(refused(refusal)),
                    None => Err(tonic::Status::internal("no result for this vote")),
                };
                queued.ctx.reply(reply);
            }
        }
        Err(status) => {
            for queued in batch {
                queued.ctx.reply(Err(status.clone()));
            }
        }
    }
}
