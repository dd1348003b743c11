//! Text WebSocket messages through the gateway's inbound path: size check,
//! proto3-JSON decoding into a `ClientFrame`, ref salvage on failure, ref
//! and kind checks; decoded frames must round-trip in both encodings.
#![no_main]

use axum::extract::ws::Message;
use hearth_fuzz::ws::{self, Inbound};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // tungstenite closes the connection on a text frame that is not UTF-8,
    // so only UTF-8 reaches the codec.
    let Ok(text) = std::str::from_utf8(data) else { return };
    let message = Message::Text(text.into());
    if let Inbound::Frame(frame) = ws::inbound(&message) {
        ws::check_round_trips(&frame, true);
    }
});
