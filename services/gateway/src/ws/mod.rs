//! `GET /v1/ws`: the clients' WebSocket (protocol in docs/protocol.md).

pub mod close;
pub mod codec;
pub mod connection;
pub mod hub;
pub mod outbound;
pub mod pacing;
pub mod personal;
pub mod requests;
pub mod rtt;
pub mod votes;

use axum::{
    extract::{Query, State, WebSocketUpgrade},
    response::Response,
};
use serde::Deserialize;
use tracing::Instrument;

use crate::GatewayState;

/// Bytes tungstenite reads from the socket at a time, allocated up front
/// per connection. Its default (128 KiB) would dominate an idle
/// connection's memory; client frames are commands of a few hundred bytes,
/// and a larger one is simply read in several chunks.
pub const READ_BUFFER_BYTES: usize = 1024;
/// Frames queued before tungstenite writes to the socket: lets the writer
/// coalesce a burst into few syscalls (it flushes when its queue is empty).
pub const WRITE_BUFFER_BYTES: usize = 16 * 1024;
/// Hard cap on a message: above the soft limit (`gateway.max_frame_bytes`,
/// answered with an error frame) and below this, the frame is read and
/// refused; above this the connection closes with 1009.
const HARD_LIMIT_FACTOR: usize = 4;

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    /// For browsers, which cannot set headers on a WebSocket.
    access_token: Option<String>,
    /// `json` or `protobuf`; default: the encoding of the first frame.
    encoding: Option<String>,
}

pub async fn upgrade(
    State(state): State<GatewayState>,
    Query(query): Query<WsQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let hard_limit = state.config.gateway.max_frame_bytes * HARD_LIMIT_FACTOR;
    let encoding = match query.encoding.as_deref() {
        Some("protobuf") | Some("proto") => Some(codec::Encoding::Protobuf),
        Some("json") => Some(codec::Encoding::Json),
        _ => None,
    };
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        .on_upgrade(move |socket| {
            let span = tracing::info_span!("ws.connection", user_id = tracing::field::Empty);
            connection::run(state, socket, query.access_token, encoding).instrument(span)
        })
}
