//! Expires what has a deadline, each item on exactly one replica: held
//! messages nobody decided in time (24 h; the author and the room's
//! moderators are told, as for a denial) and timeouts and chat bans past
//! their end (the moderators are told; the rows go).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use hearth_proto::hearth::chat::v1::{self as pb, chat_event};

use crate::{convert, grpc::ChatApi};

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
    let ended = api.store.expire_restrictions(BATCH).await?;
    for restriction in &ended {
        let lifted = pb::RestrictionLifted {
            user_id: restriction.user_id.to_string(),
            kind: convert::restriction_kind(&restriction.kind) as i32,
            lifted_by: String::new(),
        };
        api.events.moderators(restriction.room_id, chat_event::Kind::RestrictionLifted(lifted)).await;
    }
    Ok(expired.len() + ended.len())
}

/// Runs until shutdown.
pub async fn run(api: ChatApi, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(INTERVAL) => {}
        }
        match expire_once(&api).await {
            Ok(n) if n > 0 => tracing::info!(expired = n, "held messages and restrictions expired"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "held-message expiry failed"),
        }
    }
}
