//! The background work every rooms replica shares: expiring the presence
//! leases of dead gateways, publishing coalesced presence counts, and ending
//! overdue waits. Each step claims its work atomically in Redis, so any
//! number of replicas can run it and any of them can die.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::{grpc::RoomsApi, state::now_ms};

/// Rooms swept per round at most (the rest wait for the next round).
const BATCH: usize = 500;

/// Runs until `shutdown`.
pub async fn run(api: RoomsApi, interval: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(error) = round(&api).await {
            tracing::warn!(%error, "rooms sweep failed; retrying next round");
        }
    }
}

async fn round(api: &RoomsApi) -> crate::error::Result<()> {
    let now = now_ms();
    for room in api.state.rooms_to_sweep(now, BATCH).await? {
        for user in api.state.sweep_room(room, now).await? {
            tracing::debug!(%room, %user, "presence lease expired");
            api.announce_presence(room, user, false, 0).await?;
        }
    }
    for room in api.state.claim_dirty(now).await? {
        api.publish_counts(room).await?;
    }
    for room in api.state.due_waits(now).await? {
        match api.store.room(room).await? {
            Some(row) => {
                api.try_finish_wait(&row).await?;
            }
            None => api.state.clear_wait(room).await?,
        }
    }
    Ok(())
}
