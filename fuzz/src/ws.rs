//! What the gateway does with one inbound WebSocket data message, from the
//! size check to the decoded `ClientFrame` it dispatches: the steps of
//! `Connection::handle` and the top of `Connection::dispatch`
//! (services/gateway/src/ws/connection.rs), which need a live connection, in
//! the same order over the same public codec functions.

use axum::extract::ws::Message;
use hearth_gateway::ws::codec::{self, DecodeError};
use hearth_platform::config::GatewayConfig;
use hearth_proto::hearth::gateway::v1::ClientFrame;
use prost::Message as _;

/// The `ref` limit of `connection.rs` (`MAX_REF_LEN`).
pub const MAX_REF_LEN: usize = 64;

/// Where an inbound message ends up.
#[derive(Debug)]
pub enum Inbound {
    /// Not a data message (the codec returns nothing).
    Ignored,
    /// `frame_too_large`: over `gateway.max_frame_bytes`.
    TooLarge,
    /// `invalid_frame` / `unknown_frame`, answered with the salvaged ref.
    Refused { reference: String },
    /// `invalid_argument` on `ref`.
    RefTooLong,
    /// `unknown_frame`: no kind.
    NoKind,
    /// Dispatched.
    Frame(Box<ClientFrame>),
}

/// Runs `message` through the gateway's inbound path with the default limits.
pub fn inbound(message: &Message) -> Inbound {
    let len = match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) => bytes.len(),
        _ => return Inbound::Ignored,
    };
    if len > GatewayConfig::default().max_frame_bytes {
        return Inbound::TooLarge;
    }
    let Some((_encoding, decoded)) = codec::decode(message) else {
        return Inbound::Ignored;
    };
    let frame = match decoded {
        Ok(frame) => frame,
        Err(DecodeError::Invalid(_) | DecodeError::UnknownType(_)) => {
            let reference = codec::salvage_ref(message);
            assert!(reference.chars().count() <= MAX_REF_LEN, "salvaged ref over the limit: {reference:?}");
            return Inbound::Refused { reference };
        }
    };
    if frame.r#ref.chars().count() > MAX_REF_LEN {
        return Inbound::RefTooLong;
    }
    if frame.kind.is_none() {
        return Inbound::NoKind;
    }
    Inbound::Frame(Box::new(frame))
}

/// A decoded frame survives both encodings: protobuf re-encodes to the same
/// bytes, and when it can be written as JSON that JSON reads back to the
/// same frame. Compared through encodings, so NaN doubles compare equal.
pub fn check_round_trips(frame: &ClientFrame, from_json: bool) {
    let bytes = frame.encode_to_vec();
    let again = ClientFrame::decode(bytes.as_slice()).expect("a frame's own protobuf decodes");
    assert_eq!(again.encode_to_vec(), bytes, "protobuf round trip changed the frame");

    // Writing JSON must never panic. Protobuf can carry values proto3 JSON
    // cannot name (an enum number the schema lacks; a Timestamp past year
    // 9999, which pbjson writes as "+10059-…" and cannot read back), so
    // reading back is required only of frames that came as JSON.
    match serde_json::to_string(frame) {
        Ok(json) if from_json => {
            let back: ClientFrame =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("a frame's own JSON must decode: {e}\n{json}"));
            assert_eq!(back.encode_to_vec(), bytes, "JSON round trip changed the frame: {json}");
        }
        Ok(_) => {}
        Err(e) => assert!(!from_json, "a frame read from JSON must write back as JSON: {e}"),
    }
}
