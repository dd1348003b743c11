//! The presence leases of this gateway's connections, renewed in one
//! Heartbeat call per interval. If this process dies the leases simply
//! stop being renewed and the rooms service expires them: nothing else has
//! to clean up.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, atomic::AtomicI64},
};

use hearth_proto::hearth::rooms::v1::{HeartbeatRequest, PresenceLease};
use uuid::Uuid;

use crate::{
    GatewayState,
    ws::hub::{Notice, Notices},
};

/// Leases per Heartbeat call.
const CHUNK: usize = 5_000;

struct Lease {
    user: String,
    rtt_ms: Arc<AtomicI64>,
    notices: Notices,
}

/// Every (room, connection) lease this gateway holds.
#[derive(Clone, Default)]
pub struct Leases {
    inner: Arc<Mutex<HashMap<(Uuid, Uuid), Lease>>>,
}

impl Leases {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, Uuid), Lease>> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn insert(&self, room: Uuid, connection: Uuid, user: String, rtt_ms: Arc<AtomicI64>, notices: Notices) {
        self.lock().insert((room, connection), Lease { user, rtt_ms, notices });
    }

    pub fn remove(&self, room: Uuid, connection: Uuid) {
        self.lock().remove(&(room, connection));
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn all(&self) -> Vec<PresenceLease> {
        self.lock()
            .iter()
            .map(|((room, connection), lease)| PresenceLease {
                room_id: room.to_string(),
                user_id: lease.user.clone(),
                connection_id: connection.to_string(),
                round_trip: crate::ws::rtt::as_duration(&lease.rtt_ms),
            })
            .collect()
    }

    /// Tells the owner of a lease the rooms service no longer has that it
    /// must enter again (or leave the room).
    fn gone(&self, room: Uuid, connection: Uuid) {
        if let Some(lease) = self.lock().remove(&(room, connection)) {
            let _ = lease.notices.unbounded_send(Notice::LeaseGone(room));
        }
    }
}

/// Renews this gateway's leases every `gateway.presence_heartbeat` until
/// shutdown.
pub async fn heartbeat(state: GatewayState) {
    let mut tick = tokio::time::interval(state.config.gateway.presence_heartbeat);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let leases = state.leases.all();
        for chunk in leases.chunks(CHUNK) {
            let mut request =
                tonic::Request::new(HeartbeatRequest { gateway_id: state.instance.clone(), leases: chunk.to_vec() });
            // The rooms service renews leases for gateways only.
            match state.credential.bearer().map(|b| b.parse()) {
                Ok(Ok(value)) => {
                    request.metadata_mut().insert("authorization", value);
                }
                _ => {
                    tracing::warn!("the gateway has no service credential: presence leases are not renewed");
                    break;
                }
            }
            match state.clients.presence.clone().heartbeat(request).await {
                Ok(response) => {
                    for lease in response.into_inner().gone {
                        if let (Ok(room), Ok(connection)) =
                            (Uuid::parse_str(&lease.room_id), Uuid::parse_str(&lease.connection_id))
                        {
                            state.leases.gone(room, connection);
                        }
                    }
                }
                Err(status) => {
                    tracing::warn!(code = ?status.code(), message = status.message(), "presence heartbeat failed")
                }
            }
        }
    }
}
