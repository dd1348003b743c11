//! One WebSocket connection: authentication, limits, frame dispatch and the
//! user's personal events. Nothing a client sends can crash or stall
//! anything but its own connection.

use std::{collections::HashSet, num::NonZeroU32, time::Duration};

use axum::extract::ws::{Message, WebSocket};
use futures::StreamExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use hearth_platform::auth::{AuthError, Claims};
use hearth_proto::hearth::gateway::v1::{self as frames, ClientFrame, ServerFrame, client_frame, server_frame};
use opentelemetry::KeyValue;
use tokio::time::Instant;
use uuid::Uuid;

use crate::{
    GatewayState,
    ws::{
        close,
        codec::{self, DecodeError, Encoding},
        hub::{Blocks, Notice, Notices},
        outbound::{self, Outbound},
        requests::{self, Ctx, Enter},
        rtt::Rtt,
    },
};

/// How often a connection in a room has its round trip measured: a quick
/// burst on entering (so the first scheduled start already knows it), then
/// a slow pace (8 samples then span 80 s, enough to follow a changing path).
const PROBE_BURST: [Duration; 3] = [Duration::ZERO, Duration::from_millis(250), Duration::from_millis(500)];
const PROBE_INTERVAL: Duration = Duration::from_secs(10);

/// Longest accepted `ref`.
const MAX_REF_LEN: usize = 64;

/// What the reader loop does after a frame.
enum Flow {
    Continue,
    Close(u16, &'static str),
}

struct Connection {
    state: GatewayState,
    out: Outbound,
    encoding: Encoding,
    encoding_fixed: bool,
    user: Option<Claims>,
    /// The access token in force, forwarded to services.
    token: String,
    bad_frames: u32,
    limiter: DefaultDirectRateLimiter,
    /// Gateway-chosen id, the presence lease's name.
    id: Uuid,
    /// Rooms entered or being entered.
    rooms: HashSet<Uuid>,
    notices: Notices,
    rtt: Rtt,
    runner: requests::Runner,
    /// Users this user blocked: their chat is hidden from this connection.
    /// Loaded on the first enter_room (connections in no room never need
    /// it, so a reconnect storm does not ask identity for every one).
    blocks: Blocks,
    blocks_loaded: bool,
}

fn now() -> hearth_proto::wkt::Timestamp {
    let now = time::OffsetDateTime::now_utc();
    hearth_proto::wkt::Timestamp { seconds: now.unix_timestamp(), nanos: now.nanosecond() as i32 }
}

fn error_frame(reference: &str, code: &str, message: impl Into<String>, field: &str) -> ServerFrame {
    ServerFrame {
        r#ref: reference.to_owned(),
        kind: Some(server_frame::Kind::Error(frames::Error {
            code: code.to_owned(),
            message: message.into(),
            field: field.to_owned(),
            ..Default::default()
        })),
    }
}

fn auth_message(err: &AuthError) -> &'static str {
    match err {
        AuthError::Expired => "access token has expired",
        AuthError::UnknownKid | AuthError::MissingKid => "access token signed with an unknown key",
        AuthError::WrongAlgorithm => "access token algorithm must be EdDSA",
        _ => "access token is invalid",
    }
}

impl Connection {
    fn send(&self, frame: &ServerFrame) -> Flow {
        match self.out.send(codec::encode(self.encoding, frame)) {
            Ok(()) => Flow::Continue,
            Err(outbound::Overflow) => Flow::Close(close::SLOW_CONSUMER, "outbound queue overflow"),
        }
    }

    /// Answers a bad frame and closes the connection once abuse repeats.
    fn reject(&mut self, reference: &str, code: &str, message: impl Into<String>, field: &str) -> Flow {
        self.bad_frames += 1;
        hearth_platform::metrics::ws_frames()
            .add(1, &[KeyValue::new("direction", "in"), KeyValue::new("outcome", code.to_owned())]);
        if let Flow::Close(code, reason) = self.send(&error_frame(reference, code, message, field)) {
            return Flow::Close(code, reason);
        }
        if self.bad_frames >= self.state.config.gateway.max_bad_frames {
            return Flow::Close(close::POLICY_VIOLATION, "too many invalid frames");
        }
        Flow::Continue
    }

    fn authenticate(&mut self, reference: &str, token: &str) -> Flow {
        if token.is_empty() {
            return self.reject(reference, "invalid_argument", "auth.access_token is required", "access_token");
        }
        match self.state.deps.tokens.verify(token) {
            Ok(claims) => {
                if let Some(current) = &self.user
                    && current.sub != claims.sub
                {
                    return self.reject(
                        reference,
                        "permission_denied",
                        "a connection cannot change user",
                        "access_token",
                    );
                }
                tracing::Span::current().record("user_id", claims.sub.as_str());
                let connected = ServerFrame {
                    r#ref: reference.to_owned(),
                    kind: Some(server_frame::Kind::Connected(frames::Connected {
                        session_id: claims.sid.clone(),
                        user_id: claims.sub.clone(),
                        server_time: Some(now()),
                        heartbeat_interval: Some(hearth_proto::wkt::Duration {
                            seconds: self.state.config.gateway.heartbeat_interval.as_secs() as i64,
                            nanos: 0,
                        }),
                    })),
                };
                self.user = Some(claims);
                self.token = token.to_owned();
                self.send(&connected)
            }
            Err(err) => {
                let _ = self.send(&error_frame(reference, "unauthenticated", auth_message(&err), "access_token"));
                Flow::Close(close::AUTH_FAILED, "authentication failed")
            }
        }
    }

    /// Loads the user's block list (in the background: until it arrives
    /// the previous list applies).
    fn reload_blocks(&mut self) {
        self.blocks_loaded = true;
        let (state, token, blocks) = (self.state.clone(), self.token.clone(), self.blocks.clone());
        tokio::spawn(async move {
            let request = hearth_proto::identity::ListBlockedIdsRequest {};
            match state.clients.identity.clone().list_blocked_ids(crate::clients::authorized(request, &token)).await {
                Ok(response) => {
                    let ids: HashSet<Uuid> =
                        response.into_inner().user_ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect();
                    if let Ok(mut current) = blocks.write() {
                        *current = std::sync::Arc::new(ids);
                    }
                }
                Err(status) => tracing::warn!(code = ?status.code(), "block list not loaded"),
            }
        });
    }

    /// Forwards one personal event (an `Envelope` holding a `UserEvent`).
    fn deliver_personal(&mut self, payload: &[u8]) -> Flow {
        use prost::Message as _;
        let event = hearth_proto::hearth::events::v1::Envelope::decode(payload)
            .ok()
            .filter(|envelope| envelope.r#type == "hearth.events.v1.UserEvent")
            .and_then(|envelope| hearth_proto::hearth::events::v1::UserEvent::decode(envelope.payload.as_ref()).ok());
        use hearth_proto::hearth::events::v1::user_event::Kind;
        match event {
            Some(event) => {
                let revoked = match &event.kind {
                    Some(Kind::BlocksChanged(_)) => {
                        if self.blocks_loaded {
                            self.reload_blocks();
                        }
                        false
                    }
                    Some(Kind::SessionRevoked(revoked)) => {
                        let sid = self.user.as_ref().map(|u| u.sid.as_str()).unwrap_or_default();
                        revoked.session_id.is_empty() || revoked.session_id == sid
                    }
                    _ => false,
                };
                let sent =
                    self.send(&ServerFrame { r#ref: String::new(), kind: Some(server_frame::Kind::UserEvent(event)) });
                if revoked { Flow::Close(close::SESSION_REVOKED, "session revoked") } else { sent }
            }
            None => {
                tracing::warn!("dropped an undecodable personal event");
                Flow::Continue
            }
        }
    }

    fn handle(&mut self, message: Message) -> Flow {
        let len = match &message {
            Message::Text(text) => text.len(),
            Message::Binary(bytes) => bytes.len(),
            // Control frames: tungstenite answers pings itself; pongs answer
            // our round-trip probes.
            Message::Ping(_) => return Flow::Continue,
            Message::Pong(payload) => {
                self.rtt.pong(payload);
                return Flow::Continue;
            }
            Message::Close(_) => return Flow::Close(close::NORMAL, "bye"),
        };
        if self.limiter.check().is_err() {
            return self.reject("", "rate_limited", "too many frames; slow down", "");
        }
        if len > self.state.config.gateway.max_frame_bytes {
            let limit = self.state.config.gateway.max_frame_bytes;
            return self.reject(
                "",
                "frame_too_large",
                format!("frame of {len} bytes exceeds the {limit}-byte limit"),
                "",
            );
        }
        let Some((encoding, decoded)) = codec::decode(&message) else {
            return Flow::Continue;
        };
        if !self.encoding_fixed {
            self.encoding = encoding;
            self.encoding_fixed = true;
        }
        let frame = match decoded {
            Ok(frame) => frame,
            Err(DecodeError::Invalid(text)) => {
                let reference = codec::salvage_ref(&message);
                return self.reject(&reference, "invalid_frame", text, "");
            }
            Err(DecodeError::UnknownType(text)) => {
                let reference = codec::salvage_ref(&message);
                return self.reject(&reference, "unknown_frame", text, "");
            }
        };
        hearth_platform::metrics::ws_frames()
            .add(1, &[KeyValue::new("direction", "in"), KeyValue::new("outcome", "ok")]);
        self.dispatch(frame)
    }

    fn dispatch(&mut self, frame: ClientFrame) -> Flow {
        if frame.r#ref.chars().count() > MAX_REF_LEN {
            return self.reject("", "invalid_argument", format!("ref must be at most {MAX_REF_LEN} characters"), "ref");
        }
        let reference = frame.r#ref;
        let Some(kind) = frame.kind else {
            return self.reject(&reference, "unknown_frame", "frame has no type", "");
        };
        if let client_frame::Kind::Auth(auth) = &kind {
            return self.authenticate(&reference, &auth.access_token);
        }
        if self.user.is_none() {
            return self.reject(&reference, "unauthenticated", "send an auth frame first", "");
        }
        match kind {
            client_frame::Kind::Ping(ping) if ping.client_time.as_ref().is_some_and(|t| !valid_timestamp(t)) => self
                .reject(&reference, "invalid_argument", "client_time must be a time in years 1 to 9999", "client_time"),
            client_frame::Kind::Ping(ping) => self.send(&ServerFrame {
                r#ref: reference,
                kind: Some(server_frame::Kind::Pong(frames::Pong {
                    client_time: ping.client_time,
                    server_time: Some(now()),
                })),
            }),
            client_frame::Kind::EnterRoom(request) => self.enter_room(reference, request),
            client_frame::Kind::ExitRoom(request) => self.exit_room(reference, &request.room_id),
            client_frame::Kind::CastVote(vote) => {
                let (ctx, user) = (self.ctx(reference), self.user_id());
                self.state.votes.submit(ctx, user, vote);
                Flow::Continue
            }
            kind => {
                let ctx = self.ctx(reference.clone());
                if requests::service_request(ctx, &mut self.runner, kind, &self.rtt.shared()) {
                    Flow::Continue
                } else {
                    // Frames of areas whose services this deployment does not run yet.
                    self.reject(&reference, "unsupported", "this frame type is not served by this deployment", "")
                }
            }
        }
    }

    fn ctx(&self, reference: String) -> Ctx {
        Ctx {
            state: self.state.clone(),
            token: self.token.clone(),
            out: self.out.clone(),
            encoding: self.encoding,
            reference,
        }
    }

    fn user_id(&self) -> String {
        self.user.as_ref().map(|u| u.sub.clone()).unwrap_or_default()
    }

    fn enter_room(&mut self, reference: String, request: frames::EnterRoom) -> Flow {
        let Ok(room) = Uuid::parse_str(&request.room_id) else {
            let reason = if request.room_id.is_empty() { "room_id is required" } else { "room_id must be a UUID" };
            return self.reject(&reference, "invalid_argument", reason, "room_id");
        };
        let limit = self.state.config.gateway.max_rooms_per_connection;
        if !self.rooms.contains(&room) && self.rooms.len() >= limit {
            let message = format!("too_many_rooms: a connection may be in at most {limit} rooms; exit one first");
            return self.reject(&reference, "rate_limited", message, "");
        }
        if self.rooms.is_empty() {
            // First room: measure the round trip right away.
            self.probe_burst();
        }
        if !self.blocks_loaded {
            self.reload_blocks();
        }
        // Entering again re-subscribes and returns a fresh snapshot.
        self.state.hub.remove(room, self.id);
        self.state.leases.remove(room, self.id);
        self.rooms.insert(room);
        self.start_enter(room, request, reference);
        Flow::Continue
    }

    fn start_enter(&self, room: Uuid, request: frames::EnterRoom, reference: String) {
        let enter = Enter {
            room,
            connection: self.id,
            user: self.user_id(),
            request,
            notices: self.notices.clone(),
            rtt_ms: self.rtt.shared(),
            blocks: self.blocks.clone(),
            admin: self.user.as_ref().is_some_and(Claims::is_admin),
        };
        requests::enter_room(self.ctx(reference), enter);
    }

    fn exit_room(&mut self, reference: String, raw: &str) -> Flow {
        let Ok(room) = Uuid::parse_str(raw) else {
            return self.reject(&reference, "invalid_argument", "room_id must be a UUID", "room_id");
        };
        if self.rooms.remove(&room) {
            self.leave(room);
        }
        self.send(&ServerFrame {
            r#ref: reference,
            kind: Some(server_frame::Kind::ExitRoom(frames::RoomExited { room_id: room.to_string() })),
        })
    }

    /// Drops the connection's part in a room here and at the rooms service.
    fn leave(&self, room: Uuid) {
        self.state.hub.remove(room, self.id);
        self.state.leases.remove(room, self.id);
        let (state, token, id) = (self.state.clone(), self.token.clone(), self.id);
        tokio::spawn(async move { requests::exit_lease(&state, &token, room, id).await });
    }

    fn notice(&mut self, notice: Notice) -> Flow {
        match notice {
            Notice::Removed(room) | Notice::EnterFailed(room) => {
                self.rooms.remove(&room);
                self.state.leases.remove(room, self.id);
            }
            Notice::LeaseGone(room) if self.rooms.contains(&room) => {
                // Enter again quietly; a refusal arrives as an error frame.
                let request = frames::EnterRoom { room_id: room.to_string(), ..Default::default() };
                self.state.hub.remove(room, self.id);
                self.start_enter(room, request, String::new());
            }
            Notice::LeaseGone(_) => {}
            Notice::Personal(payload) => return self.deliver_personal(&payload),
        }
        Flow::Continue
    }

    /// Sends a few probes in quick succession.
    fn probe_burst(&self) {
        let out = self.out.clone();
        let rtt = self.rtt.epoch();
        tokio::spawn(async move {
            for delay in PROBE_BURST {
                tokio::time::sleep(delay).await;
                if out.send(Message::Ping(crate::ws::rtt::payload(rtt).into())).is_err() {
                    return;
                }
            }
        });
    }

    /// Sends a round-trip probe (a WebSocket ping).
    fn probe(&self) -> Flow {
        match self.out.send(Message::Ping(self.rtt.ping_payload().into())) {
            Ok(()) => Flow::Continue,
            Err(outbound::Overflow) => Flow::Close(close::SLOW_CONSUMER, "outbound queue overflow"),
        }
    }
}

fn quota(config: &hearth_platform::config::GatewayConfig) -> Quota {
    let rate = NonZeroU32::new(config.frames_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(config.frame_burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

/// Runs one connection until the client leaves, misbehaves, or shutdown.
pub async fn run(state: GatewayState, socket: WebSocket, query_token: Option<String>, encoding: Option<Encoding>) {
    let connections = hearth_platform::metrics::ws_connections();
    connections.add(1, &[]);
    let config = state.config.gateway.clone();
    let shutdown = state.shutdown.clone();
    let (sink, mut stream) = socket.split();
    let (out, writer) = outbound::spawn(sink, config.max_outbound_bytes);
    let (notices, mut notices_rx) = futures::channel::mpsc::unbounded();
    let mut conn = Connection {
        token: String::new(),
        id: Uuid::new_v4(),
        rooms: HashSet::new(),
        notices,
        rtt: Rtt::default(),
        runner: requests::Runner::new(),
        blocks: Blocks::default(),
        blocks_loaded: false,
        limiter: RateLimiter::direct(quota(&config)),
        state,
        out: out.clone(),
        encoding: encoding.unwrap_or(Encoding::Json),
        encoding_fixed: encoding.is_some(),
        user: None,
        bad_frames: 0,
    };

    let mut flow = match query_token {
        Some(token) => conn.authenticate("", &token),
        None => Flow::Continue,
    };
    let auth_deadline = Instant::now() + config.auth_timeout;
    let mut last_seen = Instant::now();
    let mut personal: Option<Uuid> = None;
    let mut probes = tokio::time::interval(PROBE_INTERVAL);
    probes.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while let Flow::Continue = flow {
        let authed = conn.user.is_some();
        // The access token in force lapses at its expiry unless renewed
        // with another auth frame (which replaces `conn.user`).
        let expiry = conn.user.as_ref().map_or(auth_deadline, |u| token_deadline(u.exp, conn.state.config.auth.leeway));
        if personal.is_none()
            && let Some(user) = conn.user.as_ref().and_then(|u| Uuid::parse_str(&u.sub).ok())
        {
            conn.state.personal.register(user, conn.id, conn.notices.clone());
            personal = Some(user);
        }
        flow = tokio::select! {
            Some(notice) = notices_rx.next() => conn.notice(notice),
            _ = probes.tick(), if !conn.rooms.is_empty() => conn.probe(),
            () = shutdown.cancelled() => {
                // Spread the reconnects of every client of this gateway over
                // 0–5 s instead of one thundering herd.
                let _ = conn.send(&go_away(conn.id, "shutdown"));
                Flow::Close(close::GOING_AWAY, "server shutting down")
            }
            () = tokio::time::sleep_until(expiry), if authed => {
                let _ = conn.send(&error_frame("", "unauthenticated", "access token expired; reconnect with a fresh one", "access_token"));
                Flow::Close(close::AUTH_FAILED, "access token expired")
            }
            () = tokio::time::sleep_until(auth_deadline), if !authed => {
                let _ = conn.send(&error_frame("", "auth_timeout", "no auth frame within the deadline", ""));
                Flow::Close(close::AUTH_TIMEOUT, "authentication timeout")
            }
            () = tokio::time::sleep_until(last_seen + config.idle_timeout) => Flow::Close(close::IDLE_TIMEOUT, "idle timeout"),
            message = stream.next() => match message {
                None => break,
                Some(Ok(message)) => {
                    last_seen = Instant::now();
                    conn.handle(message)
                }
                Some(Err(err)) => read_error(&err),
            },
        };
    }
    if let Flow::Close(code, reason) = flow {
        out.close(code, reason);
    }
    if let Some(user) = personal {
        conn.state.personal.unregister(user, conn.id);
    }
    for room in std::mem::take(&mut conn.rooms) {
        conn.leave(room);
    }
    drop(conn);
    drop(out);
    // Give the writer a moment to deliver the close frame to a live client.
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    connections.add(-1, &[]);
}

/// The `go_away` frame before a 1001 close, with a per-connection delay in
/// 0–5 s (derived from the random connection id, so no RNG is needed).
fn go_away(connection: Uuid, reason: &str) -> ServerFrame {
    let millis = (connection.as_u128() % 5000) as i64;
    ServerFrame {
        r#ref: String::new(),
        kind: Some(server_frame::Kind::GoAway(frames::GoAway {
            reconnect_after: Some(hearth_proto::wkt::Duration {
                seconds: millis / 1000,
                nanos: (millis % 1000) as i32 * 1_000_000,
            }),
            reason: reason.to_owned(),
        })),
    }
}

/// When a token expiring at `exp` (Unix seconds) stops being honoured:
/// its expiry plus the verification leeway.
fn token_deadline(exp: u64, grace: Duration) -> Instant {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Instant::now() + Duration::from_secs(exp).saturating_sub(now) + grace
}

/// Maps a read failure to the close the client should get.
fn read_error(err: &axum::Error) -> Flow {
    let text = err.to_string();
    if text.contains("Space limit exceeded") || text.contains("too long") || text.contains("too big") {
        Flow::Close(close::TOO_BIG, "frame too large")
    } else if text.contains("UTF-8") || text.contains("utf-8") {
        Flow::Close(close::INVALID_PAYLOAD, "text frame is not valid UTF-8")
    } else {
        tracing::debug!(error = %text, "websocket read failed");
        Flow::Close(close::NORMAL, "read error")
    }
}

/// Whether a timestamp is one proto3 JSON can write (years 1 to 9999, as
/// google.protobuf.Timestamp defines): echoing anything else in a `pong`
/// would give JSON clients a time no reader accepts (found by fuzzing).
fn valid_timestamp(t: &hearth_proto::wkt::Timestamp) -> bool {
    (-62_135_596_800..=253_402_300_799).contains(&t.seconds) && (0..1_000_000_000).contains(&t.nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_away_delays_stay_within_five_seconds() {
        for id in [Uuid::nil(), Uuid::max(), Uuid::from_u128(4999), Uuid::from_u128(1234)] {
            let Some(server_frame::Kind::GoAway(g)) = go_away(id, "shutdown").kind else { panic!("a go_away") };
            let d = g.reconnect_after.unwrap_or_default();
            assert!((0..5).contains(&d.seconds) && (0..1_000_000_000).contains(&d.nanos), "{d:?}");
        }
    }

    #[test]
    fn ping_times_must_be_writable_as_proto3_json() {
        use hearth_proto::wkt::Timestamp;
        assert!(valid_timestamp(&Timestamp { seconds: 1_795_000_000, nanos: 5 }));
        assert!(valid_timestamp(&Timestamp { seconds: -62_135_596_800, nanos: 0 }), "0001-01-01");
        assert!(!valid_timestamp(&Timestamp { seconds: 253_402_300_800, nanos: 0 }), "10000-01-01");
        assert!(!valid_timestamp(&Timestamp { seconds: 0, nanos: -1 }));
    }
}
