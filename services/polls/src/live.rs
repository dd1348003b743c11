//! Live counters (poll tallies, prediction pools, Q&A upvotes) are
//! broadcast coalesced: a change only marks its item dirty on this
//! replica; a ticker publishes each dirty item's current value at most once
//! per interval, across all replicas (a `SET NX PX` claim in Redis per
//! item). An item whose claim another replica holds stays dirty for the
//! next tick, so the latest value always goes out.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::grpc::PollsApi;

/// What a live counter belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Item {
    /// Tallies of a poll (every `tally_interval`, 250 ms by default).
    Poll { room: Uuid, poll: Uuid },
    /// Pool totals of a prediction (at most once per second).
    Prediction { room: Uuid, prediction: Uuid },
    /// Upvotes of a Q&A question (at most once per second).
    Question { room: Uuid, question: Uuid },
}

impl Item {
    fn room(&self) -> Uuid {
        match *self {
            Item::Poll { room, .. } | Item::Prediction { room, .. } | Item::Question { room, .. } => room,
        }
    }

    fn claim_name(&self) -> String {
        match self {
            Item::Poll { poll, .. } => format!("live:poll:{poll}"),
            Item::Prediction { prediction, .. } => format!("live:prediction:{prediction}"),
            Item::Question { question, .. } => format!("live:question:{question}"),
        }
    }
}

/// This replica's dirty items; cheap to clone.
#[derive(Clone, Default)]
pub struct Live {
    dirty: Arc<Mutex<HashSet<Item>>>,
}

impl Live {
    /// Marks an item changed; it is published on a coming tick.
    pub fn touch(&self, item: Item) {
        self.dirty.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(item);
    }

    fn take(&self) -> Vec<Item> {
        self.dirty.lock().unwrap_or_else(std::sync::PoisonError::into_inner).drain().collect()
    }
}

impl PollsApi {
    fn live_interval(&self, item: &Item) -> Duration {
        match item {
            Item::Poll { .. } => self.config.tally_interval,
            Item::Prediction { .. } | Item::Question { .. } => Duration::from_secs(1),
        }
    }

    /// Publishes one item if no replica did within its interval; false
    /// when it must wait for a later tick.
    async fn publish_live(&self, item: Item) -> crate::error::Result<bool> {
        let interval = self.live_interval(&item);
        if !self.state.claim(item.room(), &item.claim_name(), interval).await? {
            return Ok(false);
        }
        match item {
            Item::Poll { room, poll } => self.publish_tally(room, poll).await?,
            Item::Prediction { room, prediction } => self.publish_prediction_pool(room, prediction).await?,
            Item::Question { room, question } => self.publish_question_votes(room, question).await?,
        }
        Ok(true)
    }
}

/// Publishes dirty items until shutdown.
pub async fn run(api: PollsApi, shutdown: CancellationToken) {
    let tick = api.config.tally_interval.min(Duration::from_secs(1)) / 2;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(tick) => {}
        }
        let items = api.live.take();
        let results = futures::future::join_all(items.iter().map(|item| api.publish_live(*item))).await;
        for (item, result) in items.into_iter().zip(results) {
            match result {
                Ok(true) => {}
                Ok(false) => api.live.touch(item),
                Err(error) => {
                    tracing::warn!(%error, ?item, "live counter not published; retrying");
                    api.live.touch(item);
                }
            }
        }
    }
}
