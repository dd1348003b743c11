//! Personal events (`hearth.user.<id>.<kind>`: mentions, invites, new
//! followers, restrictions…) for this gateway's connections. One wildcard
//! subscription per gateway, dispatched by user id to the user's local
//! connections: a subscription per connection would cost each idle
//! connection a NATS subscription and its buffer. Personal events are rare
//! (tens per user per day), so every gateway reading all of them and
//! dropping those of users it does not hold costs a subject parse each —
//! about 6,000 events/s at 10 million users, a fraction of a core.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use bytes::Bytes;
use futures::StreamExt;
use hearth_platform::nats::Nats;
use uuid::Uuid;

use crate::ws::hub::{Notice, Notices};

/// Local connections by user.
type Routes = HashMap<Uuid, Vec<(Uuid, Notices)>>;

#[derive(Clone, Default)]
pub struct Personal {
    routes: Arc<Mutex<Routes>>,
}

impl Personal {
    fn lock(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Routes `user`'s events to a connection (as `Notice::Personal`).
    pub fn register(&self, user: Uuid, connection: Uuid, notices: Notices) {
        self.lock().entry(user).or_default().push((connection, notices));
    }

    pub fn unregister(&self, user: Uuid, connection: Uuid) {
        let mut routes = self.lock();
        if let Some(connections) = routes.get_mut(&user) {
            connections.retain(|(id, _)| *id != connection);
            if connections.is_empty() {
                routes.remove(&user);
            }
        }
    }

    /// Connections registered (for metrics and tests).
    pub fn len(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn dispatch(&self, user: Uuid, payload: &Bytes) {
        if let Some(connections) = self.lock().get(&user) {
            for (_, notices) in connections {
                let _ = notices.unbounded_send(Notice::Personal(payload.clone()));
            }
        }
    }

    /// Subscribes to `<prefix>.user.*.>` (in effect when this returns).
    pub async fn subscribe(nats: &Nats) -> Option<async_nats::Subscriber> {
        match nats.client.subscribe(nats.subject("user.*.>")).await {
            Ok(subscription) => {
                let _ = nats.client.flush().await;
                Some(subscription)
            }
            Err(error) => {
                tracing::warn!(%error, "personal events unavailable; retrying");
                None
            }
        }
    }

    /// Dispatches personal events until the gateway stops; subscribes again
    /// if NATS ends the subscription.
    pub async fn run(
        self,
        nats: Nats,
        mut subscription: Option<async_nats::Subscriber>,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        let prefix = nats.subject("user.");
        loop {
            let Some(mut current) = subscription.take() else {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                }
                subscription = Self::subscribe(&nats).await;
                continue;
            };
            loop {
                let message = tokio::select! {
                    () = shutdown.cancelled() => return,
                    message = current.next() => message,
                };
                let Some(message) = message else { break };
                let user = message
                    .subject
                    .as_str()
                    .strip_prefix(prefix.as_str())
                    .and_then(|rest| rest.split('.').next())
                    .and_then(|id| Uuid::parse_str(id).ok());
                if let Some(user) = user {
                    self.dispatch(user, &message.payload);
                }
            }
        }
    }
}
