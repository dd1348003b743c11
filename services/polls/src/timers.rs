//! The timer runner every polls replica runs: claims due timers in
//! Postgres and fires each through its area's handler. Exactly-once comes
//! from the store (claims with leases, state-conditional transitions), not
//! from which replica runs it.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::{
    grpc::PollsApi,
    store::{DueTimer, TimerKind},
};

/// How long a claim holds before another replica may fire the timer.
const LEASE: Duration = Duration::from_secs(15);
/// Timers claimed per round at most.
const BATCH: i64 = 100;

impl PollsApi {
    /// Fires one timer: performs its transition if still due.
    async fn fire(&self, timer: &DueTimer) -> crate::error::Result<()> {
        match timer.kind {
            TimerKind::PollOpen => self.open_scheduled_poll(timer.target).await,
            TimerKind::PollClose => self.close_poll_at_deadline(timer.target).await,
            TimerKind::QuizQuestionClose => self.close_quiz_question(timer.target).await,
            TimerKind::PredictionLock => self.lock_prediction_at_time(timer.target).await,
            TimerKind::PredictionExpire => self.expire_prediction(timer.target).await,
            TimerKind::PollPoints => self.credit_poll_points(timer.target).await,
        }
    }
}

/// Fires what is due; returns how many fired.
pub async fn fire_due(api: &PollsApi) -> crate::error::Result<usize> {
    let due = api.store.claim_due_timers(BATCH, LEASE).await?;
    let fired = futures::future::join_all(due.iter().map(|timer| async move {
        match api.fire(timer).await {
            Ok(()) => match api.store.timer_fired(timer).await {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(%error, kind = timer.kind.as_str(), "fired timer not removed; it fires again (idempotent)");
                    false
                }
            },
            Err(error) => {
                // The lease lapses and this or another replica retries.
                tracing::warn!(%error, kind = timer.kind.as_str(), target = %timer.target, "timer failed; retried after its lease");
                false
            }
        }
    }))
    .await;
    Ok(fired.into_iter().filter(|ok| *ok).count())
}

/// Runs until shutdown.
pub async fn run(api: PollsApi, interval: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        if let Err(error) = fire_due(&api).await {
            tracing::warn!(%error, "timer round failed");
        }
    }
}
