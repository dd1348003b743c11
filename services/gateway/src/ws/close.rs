//! WebSocket close codes (documented in docs/protocol.md).

/// Normal closure (idle timeout included).
pub const NORMAL: u16 = 1000;
/// The gateway is shutting down; reconnect (to another pod).
pub const GOING_AWAY: u16 = 1001;
/// Text frame with invalid UTF-8.
pub const INVALID_PAYLOAD: u16 = 1007;
/// Repeated protocol abuse (too many bad frames, flooding).
pub const POLICY_VIOLATION: u16 = 1008;
/// A frame larger than the hard limit.
pub const TOO_BIG: u16 = 1009;
/// No valid `auth` frame within the auth deadline.
pub const AUTH_TIMEOUT: u16 = 4000;
/// The access token was refused.
pub const AUTH_FAILED: u16 = 4001;
/// The connection was silent longer than the idle timeout.
pub const IDLE_TIMEOUT: u16 = 4002;
/// The client read too slowly and its outbound queue overflowed; reconnectable.
pub const SLOW_CONSUMER: u16 = 4008;
/// The session was revoked (logout, refresh-token reuse, account deleted):
/// do not reconnect with this session's tokens.
pub const SESSION_REVOKED: u16 = 4009;
