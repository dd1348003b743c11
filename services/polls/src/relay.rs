//! Publishing lifecycle events: right after their commit by the replica
//! that made them, and by every replica's relay for entries whose
//! publisher failed or died in between, so an announced change always
//! reaches JetStream.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::{grpc::PollsApi, store::Outgoing};

/// Entries younger than this are still being published by their replica.
const MIN_AGE_MS: i64 = 2000;
/// Entries per round.
const BATCH: i64 = 200;

impl PollsApi {
    /// Publishes events committed with their outbox ids, then deletes the
    /// entries; what fails stays for the relay.
    pub(crate) async fn deliver(&self, committed: Vec<(i64, Outgoing)>) {
        let mut done = Vec::with_capacity(committed.len());
        for (id, out) in &committed {
            match self.events.publish_durable(out).await {
                Ok(()) => done.push(*id),
                Err(error) => {
                    tracing::warn!(%error, "lifecycle event left to the outbox relay");
                    break;
                }
            }
        }
        if !done.is_empty()
            && let Err(error) = self.store.published(&done).await
        {
            tracing::warn!(%error, "published outbox entries not removed; the relay republishes them (deduplicated)");
        }
    }
}

/// Publishes what is pending; returns how many went out.
pub async fn relay_once(api: &PollsApi) -> crate::error::Result<usize> {
    let pending = api.store.pending_outbox(MIN_AGE_MS, BATCH).await?;
    let count = pending.len();
    api.deliver(
        pending
            .into_iter()
            .map(|row| (row.id, Outgoing { event_id: row.event_id, subject: row.subject, payload: row.payload }))
            .collect(),
    )
    .await;
    Ok(count)
}

/// Runs until shutdown.
pub async fn run(api: PollsApi, interval: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        match relay_once(&api).await {
            Ok(n) if n > 0 => tracing::info!(relayed = n, "outbox relay published stranded interaction events"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "outbox relay failed"),
        }
    }
}
