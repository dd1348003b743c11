//! Expires held messages nobody decided in time (24 h): each is marked
//! expired by exactly one replica, which tells the author and the room's
//! moderators, as a denial would.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::grpc::ChatApi;

/// How often every replica looks for expired held messages.
const INTERVAL: Duration = Duration::from_secs(5);
/// Held messages expired per round at most.
const BATCH: i64 = 500;

/// Expires what is due; returns how many.
pub async fn expire_once(api: &ChatApi) -> crate::error::Result<usize> {
    let expired = api.store.expire_held(BATCH).await?;
    for held in &expired {
        api.decided(held, None, false, 0).await;
    }
    Ok(expired.len())
}

/// Runs until shutdown.
pub async fn run(api: ChatApi, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(INTERVAL) => {}
        }
        match expire_once(&api).await {
            Ok(n) if n > 0 => tracing::info!(expired = n, "held messages expired undecided"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "held-message expiry failed"),
        }
    }
}
