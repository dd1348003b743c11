//! Publishes committed sequenced events off the request path: each
//! replica's publisher takes events in commit order, adds them to the
//! Redis recent window, sends them to JetStream pipelined (acks awaited
//! together) and clears their outbox entries in one statement per batch.
//! A send is acknowledged at its commit; what the publisher has not done
//! when the process dies, the outbox relay does.

use tokio::sync::mpsc;
use tracing::Instrument;
use uuid::Uuid;

use crate::{events::Events, state::State, store::Outgoing, store::Store};

/// Events handled per batch at most.
const BATCH: usize = 256;

/// One committed event to publish.
struct Job {
    room: Uuid,
    seq: u64,
    out: Outgoing,
    outbox_id: i64,
    /// The request's span, so the publish (and every gateway's fan-out)
    /// joins the sender's trace.
    span: tracing::Span,
}

#[derive(Clone)]
pub struct Publisher {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Publisher {
    /// Starts the publisher task.
    pub fn spawn(state: State, events: Events, store: Store, window: u32) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(rx, state, events, store, window));
        Self { jobs }
    }

    /// Queues a committed event (never blocks).
    pub fn publish(&self, room: Uuid, seq: u64, out: Outgoing, outbox_id: i64) {
        let job = Job { room, seq, out, outbox_id, span: tracing::Span::current() };
        if self.jobs.send(job).is_err() {
            tracing::warn!("publisher stopped; the outbox relay will publish");
        }
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<Job>, state: State, events: Events, store: Store, window: u32) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let mut acks = Vec::with_capacity(batch.len());
        for job in batch.drain(..) {
            let span = tracing::info_span!(parent: &job.span, "chat.publish", seq = job.seq);
            async {
                if let Err(error) = state.append(job.room, job.seq, &job.out.payload, window).await {
                    tracing::warn!(%error, "recent window not updated; resumes use Postgres");
                }
                match events.publish_pipelined(&job.out).await {
                    Ok(ack) => acks.push((job.outbox_id, ack)),
                    Err(error) => tracing::warn!(%error, "chat event left in the outbox for the relay"),
                }
            }
            .instrument(span)
            .await;
        }
        let mut done = Vec::with_capacity(acks.len());
        for (outbox_id, ack) in acks {
            match ack.await {
                Ok(_) => done.push(outbox_id),
                Err(error) => tracing::warn!(%error, "chat event not acknowledged; the relay will publish it"),
            }
        }
        if !done.is_empty()
            && let Err(error) = store.published(&done).await
        {
            tracing::warn!(%error, "outbox entries kept; the relay will republish them (deduplicated)");
        }
    }
}
