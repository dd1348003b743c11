//! The background work every rooms replica shares: expiring the presence
//! leases of dead gateways, publishing coalesced presence counts, ending
//! overdue waits, and opening and archiving programme rooms on schedule.
//! Each step claims its work atomically (in Redis, or by a state-conditional
//! update in Postgres), so any number of replicas can run it, each piece of
//! work happens once, and any replica can die.

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
    schedule(api).await?;
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

/// ACTIVE → ARCHIVED at archive_time (first, so an overdue room is not
/// opened just before it closes), then SCHEDULED → ACTIVE at open_time;
/// each change announced as RoomUpdated (`state`) by the replica that made it.
async fn schedule(api: &RoomsApi) -> crate::error::Result<()> {
    for room in api.store.archive_due(BATCH as u32).await? {
        tracing::debug!(room = %room.id, "archive time: room archived");
        announce_state(api, &room).await;
    }
    for room in api.store.open_due(BATCH as u32).await? {
        tracing::debug!(room = %room.id, "open time: room opened");
        announce_state(api, &room).await;
    }
    Ok(())
}

/// The change is stored already: a lost announcement is logged, not
/// retried (clients catch up through the version gap or the next snapshot).
async fn announce_state(api: &RoomsApi, room: &crate::store::RoomRow) {
    if let Err(error) = crate::catalog_sync::announce_update(api, room, &["state"]).await {
        tracing::warn!(%error, room = %room.id, "room state change not announced");
    }
}
