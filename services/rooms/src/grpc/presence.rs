//! RoomPresenceService: how gateways enter connections into rooms, end
//! their leases and renew them (presence.proto).

use hearth_platform::validate::{self, Lines};
use hearth_proto::hearth::rooms::v1::{self as pb, room_presence_service_server::RoomPresenceService};
use tonic::{Request, Response, Status};

use super::{RoomsApi, convert, invalid, room_id};
use crate::{
    error::{Result, RoomsError},
    state::{now_ms, presence::Lease},
};

/// Most leases one heartbeat may carry.
const LEASES_MAX: usize = 20_000;

impl RoomsApi {
    fn lease_expiry(&self) -> i64 {
        now_ms() + self.config.presence_ttl.as_millis() as i64
    }

    async fn enter(&self, caller: super::Caller, req: pb::EnterRoomRequest) -> Result<pb::EnterRoomResponse> {
        let room = room_id(&req.room_id)?;
        let connection = validate::uuid("connection_id", &req.connection_id)?;
        validate::text("gateway_id", &req.gateway_id, 1, 128, Lines::Single)?;
        let rtt = convert::position_ms(req.round_trip.as_ref())
            .map_err(|convert::Malformed| invalid("round_trip", "must be a non-negative duration"))?;
        let code = (!req.invite_code.is_empty()).then_some(req.invite_code.as_str());
        let (access, joined) = if req.join || code.is_some() {
            self.join_flow(room, caller, code).await?
        } else {
            let access = self.viewable(room, caller).await?;
            self.ensure_guest_entitled(&access, caller).await?;
            (access, false)
        };
        let first =
            self.state.enter(room, caller.id, connection, self.lease_expiry(), rtt.map(|r| r.min(10_000))).await?;
        if first {
            self.announce_presence(room, caller.id, true, 1).await?;
        }
        // Opens the user's watch-time window (heartbeats keep it going).
        self.signals.seen(vec![(room, caller.id)]);
        let snapshot = self.snapshot(&access, caller).await?;
        Ok(pb::EnterRoomResponse { snapshot: Some(snapshot), joined })
    }

    async fn exit(&self, caller: super::Caller, req: pb::ExitRoomRequest) -> Result<pb::ExitRoomResponse> {
        let room = room_id(&req.room_id)?;
        let connection = validate::uuid("connection_id", &req.connection_id)?;
        if let Some(true) = self.state.exit(room, caller.id, connection).await? {
            self.announce_presence(room, caller.id, false, 0).await?;
        } else {
            self.announce_counts(room).await?;
        }
        Ok(pb::ExitRoomResponse {})
    }

    async fn heartbeat(&self, req: pb::HeartbeatRequest) -> Result<pb::HeartbeatResponse> {
        validate::text("gateway_id", &req.gateway_id, 1, 128, Lines::Single)?;
        if req.leases.len() > LEASES_MAX {
            return Err(invalid("leases", "at most 20000 leases per heartbeat"));
        }
        let mut leases = Vec::with_capacity(req.leases.len());
        for (i, lease) in req.leases.iter().enumerate() {
            let field = |name: &str| format!("leases[{i}].{name}");
            leases.push(Lease {
                room: validate::uuid(&field("room_id"), &lease.room_id)?,
                user: validate::uuid(&field("user_id"), &lease.user_id)?,
                connection: validate::uuid(&field("connection_id"), &lease.connection_id)?,
                rtt_ms: convert::position_ms(lease.round_trip.as_ref())
                    .map_err(|convert::Malformed| invalid(&field("round_trip"), "must be a non-negative duration"))?
                    .map(|r| r.min(10_000)),
            });
        }
        let gone = self.state.renew(&leases, self.lease_expiry()).await?;
        self.signals.seen(online_pairs(&leases, &gone));
        Ok(pb::HeartbeatResponse {
            gone: gone
                .into_iter()
                .map(|l| pb::PresenceLease {
                    room_id: l.room.to_string(),
                    user_id: l.user.to_string(),
                    connection_id: l.connection.to_string(),
                    round_trip: None,
                })
                .collect(),
        })
    }
}

/// The distinct (room, user) pairs of the renewed leases (those not
/// `gone`), for watch time: a user with several connections counts once.
fn online_pairs(leases: &[Lease], gone: &[Lease]) -> Vec<(uuid::Uuid, uuid::Uuid)> {
    let gone: std::collections::HashSet<uuid::Uuid> = gone.iter().map(|l| l.connection).collect();
    let mut pairs: Vec<_> = leases.iter().filter(|l| !gone.contains(&l.connection)).map(|l| (l.room, l.user)).collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

#[tonic::async_trait]
impl RoomPresenceService for RoomsApi {
    async fn enter_room(
        &self,
        request: Request<pb::EnterRoomRequest>,
    ) -> Result<Response<pb::EnterRoomResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.enter(caller, request.into_inner()).await?))
    }

    async fn exit_room(&self, request: Request<pb::ExitRoomRequest>) -> Result<Response<pb::ExitRoomResponse>, Status> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.exit(caller, request.into_inner()).await?))
    }

    /// Gateways only (their service token): a lease's connection id is not
    /// a credential, and anyone able to renew leases could keep users
    /// "online" in rooms, inflate watch time and probe which leases exist.
    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let claims = self.tokens.authenticate(request.metadata()).map_err(RoomsError::Auth)?;
        if claims.service_name() != Some("gateway") {
            return Err(RoomsError::Denied("not_gateway", "only Hearth gateways may call this".into()).into());
        }
        Ok(Response::new(RoomsApi::heartbeat(self, request.into_inner()).await?))
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn watch_time_counts_each_user_once_per_room_and_skips_gone_leases() {
        let (room, alice, bob) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let lease = |user, connection| Lease { room, user, connection, rtt_ms: None };
        let (a1, a2, b1) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let leases = vec![lease(alice, a1), lease(alice, a2), lease(bob, b1)];
        let mut expected = vec![(room, alice), (room, bob)];
        expected.sort_unstable();
        assert_eq!(online_pairs(&leases, &[]), expected);
        assert_eq!(online_pairs(&leases, &[lease(bob, b1)]), vec![(room, alice)]);
    }
}
