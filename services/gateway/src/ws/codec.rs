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

/// The `ref` of a JSON frame that failed to decode as a ClientFrame (a
/// field of the wrong type, say), so the client can still pair the error
/// with its request; empty when there is none or it is too long.
pub fn salvage_ref(message: &Message) -> String {
    let Message::Text(text) = message else { return String::new() };
    serde_json::from_str::<serde_json::Value>(text.as_str())
        .ok()
        .and_then(|value| value.get("ref")?.as_str().map(str::to_owned))
        .filter(|reference| reference.chars().count() <= 64)
        .unwrap_or_default()
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

/// A pushed frame encoded at most once per encoding, whatever the number
/// of connections it goes to: each gets a clone of the same bytes.
pub struct Shared {
    frame: ServerFrame,
    json: std::sync::OnceLock<axum::extract::ws::Utf8Bytes>,
    protobuf: std::sync::OnceLock<Bytes>,
}

impl Shared {
    pub fn new(frame: ServerFrame) -> Self {
        Self { frame, json: std::sync::OnceLock::new(), protobuf: std::sync::OnceLock::new() }
    }

    pub fn frame(&self) -> &ServerFrame {
        &self.frame
    }

    /// The frame as a message in `encoding`, sharing the encoded bytes.
    pub fn message(&self, encoding: Encoding) -> Message {
        match encoding {
            Encoding::Json => Message::Text(
                self.json
                    .get_or_init(|| match encode(Encoding::Json, &self.frame) {
                        Message::Text(text) => text,
                        _ => axum::extract::ws::Utf8Bytes::from_static("{}"),
                    })
                    .clone(),
            ),
            Encoding::Protobuf => {
                Message::Binary(self.protobuf.get_or_init(|| Bytes::from(self.frame.encode_to_vec())).clone())
            }
        }
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
    fn refs_are_salvaged_from_frames_that_fail_to_decode() {
        let bad = Message::Text(r#"{"ref":"q1","getRoom":{"roomId":5}}"#.into());
        assert!(matches!(decode(&bad), Some((_, Err(DecodeError::Invalid(_))))));
        assert_eq!(salvage_ref(&bad), "q1");
        assert_eq!(salvage_ref(&Message::Text("{nope".into())), "");
        assert_eq!(salvage_ref(&Message::Text(format!(r#"{{"ref":"{}"}}"#, "x".repeat(65)).into())), "");
    }

    #[test]
    fn shared_frames_encode_once_and_share_bytes() {
        let shared =
            Shared::new(ServerFrame { r#ref: String::new(), kind: Some(server_frame::Kind::Pong(Default::default())) });
        let (Message::Binary(a), Message::Binary(b)) =
            (shared.message(Encoding::Protobuf), shared.message(Encoding::Protobuf))
        else {
            panic!("binary expected")
        };
        assert_eq!(a.as_ptr(), b.as_ptr(), "both connections get the same allocation");
        let (Message::Text(x), Message::Text(y)) = (shared.message(Encoding::Json), shared.message(Encoding::Json))
        else {
            panic!("text expected")
        };
        assert_eq!(x.as_str().as_ptr(), y.as_str().as_ptr());
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
