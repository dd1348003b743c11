//! WebSocket frame encoding: text frames carry proto3-canonical JSON of
//! `hearth.gateway.v1` frames, binary frames carry protobuf. A connection
//! answers in the encoding of the first frame it sent.

use axum::extract::ws::Message;
use bytes::Bytes;
use hearth_proto::hearth::gateway::v1::{ClientFrame, ServerFrame};
use prost::Message as _;

/// How a connection's frames are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Protobuf,
}

/// Why an inbound frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not JSON / not protobuf, or a field of the wrong type.
    Invalid(String),
    /// Well-formed, but of a type this protocol does not have.
    UnknownType(String),
}

/// Decodes one data frame.
pub fn decode(message: &Message) -> Option<(Encoding, Result<ClientFrame, DecodeError>)> {
    match message {
        Message::Text(text) => Some((Encoding::Json, decode_json(text.as_str()))),
        Message::Binary(bytes) => Some((
            Encoding::Protobuf,
            ClientFrame::decode(bytes.as_ref()).map_err(|e| DecodeError::Invalid(format!("invalid protobuf: {e}"))),
        )),
        _ => None,
    }
}

fn decode_json(text: &str) -> Result<ClientFrame, DecodeError> {
    serde_json::from_str::<ClientFrame>(text).map_err(|e| {
        let message = e.to_string();
        if message.starts_with("unknown field") {
            DecodeError::UnknownType(message)
        } else {
            DecodeError::Invalid(format!("invalid frame: {message}"))
        }
    })
}

/// Encodes one outbound frame.
pub fn encode(encoding: Encoding, frame: &ServerFrame) -> Message {
    match encoding {
        Encoding::Json => match serde_json::to_string(frame) {
            Ok(text) => Message::Text(text.into()),
            // Serialising generated types cannot fail; keep the connection alive regardless.
            Err(_) => Message::Text(r#"{"error":{"code":"internal","message":"encoding failed"}}"#.into()),
        },
        Encoding::Protobuf => Message::Binary(Bytes::from(frame.encode_to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_proto::hearth::gateway::v1::{client_frame::Kind, server_frame};

    #[test]
    fn json_auth_frame_decodes() {
        let frame = decode_json(r#"{"ref":"1","auth":{"accessToken":"abc"}}"#).unwrap();
        assert_eq!(frame.r#ref, "1");
        assert!(matches!(frame.kind, Some(Kind::Auth(ref a)) if a.access_token == "abc"));
    }

    #[test]
    fn unknown_frame_types_are_told_apart_from_garbage() {
        assert!(matches!(decode_json(r#"{"teleport":{}}"#), Err(DecodeError::UnknownType(_))));
        assert!(matches!(decode_json("{not json"), Err(DecodeError::Invalid(_))));
        assert!(matches!(decode_json(r#"{"auth":{"accessToken":5}}"#), Err(DecodeError::Invalid(_))));
    }

    #[test]
    fn server_frames_round_trip_in_both_encodings() {
        let frame = ServerFrame { r#ref: "7".into(), kind: Some(server_frame::Kind::Pong(Default::default())) };
        let Message::Text(text) = encode(Encoding::Json, &frame) else { panic!("text expected") };
        assert_eq!(serde_json::from_str::<ServerFrame>(text.as_str()).unwrap(), frame);
        let Message::Binary(bytes) = encode(Encoding::Protobuf, &frame) else { panic!("binary expected") };
        assert_eq!(ServerFrame::decode(bytes.as_ref()).unwrap(), frame);
    }
}
