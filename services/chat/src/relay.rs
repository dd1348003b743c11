//! The outbox relay every chat replica runs: publishes sequenced events
//! whose publisher failed or died between commit and publish, so an
//! acknowledged message always reaches JetStream and the recent window.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::{events, grpc::ChatApi};

/// Entries younger than this are still being published by the replica that
/// committed them.
const MIN_AGE_MS: i64 = 2000;
/// Entries per round.
const BATCH: i64 = 200;

/// Publishes what is pending; returns how many went out.
pub async fn relay_once(api: &ChatApi) -> crate::error::Result<usize> {
    let pending = api.store.pending_outbox(MIN_AGE_MS, BATCH).await?;
    let mut done = Vec::with_capacity(pending.len());
    for entry in &pending {
        if let Some((room, seq)) = events::sequenced_position(&entry.payload)
            && let Err(error) = api.state.append(room, seq, &entry.payload, api.config.recent_window).await
        {
            tracing::warn!(%error, "recent window not updated by the relay");
        }
        let out = crate::store::Outgoing {
            event_id: entry.event_id,
            subject: entry.subject.clone(),
            payload: entry.payload.clone(),
        };
        match api.events.publish_sequenced(&out).await {
            Ok(()) => done.push(entry.id),
            Err(error) => {
                tracing::warn!(%error, "outbox relay cannot publish; retrying later");
                break;
            }
        }
    }
    if !done.is_empty() {
        api.store.published(&done).await?;
        hearth_platform::metrics::chat_outbox_relayed().add(done.len() as u64, &[]);
    }
    Ok(done.len())
}

/// Runs the relay until shutdown.
pub async fn run(api: ChatApi, interval: Duration, shutdown: CancellationToken) {
    // A zero series from the start, so rates and alerts see the counter.
    hearth_platform::metrics::chat_outbox_relayed().add(0, &[]);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        match relay_once(&api).await {
            Ok(n) if n > 0 => tracing::info!(relayed = n, "outbox relay published stranded chat events"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "outbox relay failed"),
        }
    }
}
