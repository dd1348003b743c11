//! Binary WebSocket messages through the gateway's inbound path: size
//! check, protobuf decoding into a `ClientFrame`, ref and kind checks;
//! decoded frames must round-trip in both encodings (a connection can ask
//! for JSON replies and still send protobuf).
#![no_main]

use axum::extract::ws::Message;
use hearth_fuzz::ws::{self, Inbound};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let message = Message::Binary(data.to_vec().into());
    if let Inbound::Frame(frame) = ws::inbound(&message) {
        ws::check_round_trips(&frame, false);
    }
});
