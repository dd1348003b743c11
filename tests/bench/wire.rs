//! The WebSocket JSON protocol as the bench speaks it: generated frame types
//! (proto3 canonical JSON through pbjson, so field names and encodings match
//! the gateway exactly), time conversions, and a small request/reply client
//! for the host and the admin.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, anyhow, bail};
use futures::{SinkExt, StreamExt};
use hearth_proto::{
    hearth::{
        common::v1::{MediaRef, media_ref},
        gateway::v1::{Auth, ClientFrame, Ping, ServerFrame, client_frame, server_frame},
    },
    wkt,
};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// True time (the machine's clock, which the in-process server uses too),
/// as Unix seconds.
pub fn true_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

pub fn timestamp(unix: f64) -> wkt::Timestamp {
    let seconds = unix.floor();
    let nanos = ((unix - seconds) * 1e9).round().clamp(0.0, 999_999_999.0);
    wkt::Timestamp { seconds: seconds as i64, nanos: nanos as i32 }
}

pub fn from_timestamp(ts: &wkt::Timestamp) -> f64 {
    ts.seconds as f64 + f64::from(ts.nanos) / 1e9
}

pub fn duration(secs: f64) -> wkt::Duration {
    let secs = secs.max(0.0);
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9).round().clamp(0.0, 999_999_999.0);
    wkt::Duration { seconds: whole as i64, nanos: nanos as i32 }
}

pub fn from_duration(d: &wkt::Duration) -> f64 {
    d.seconds as f64 + f64::from(d.nanos) / 1e9
}

pub fn asset(id: &str) -> MediaRef {
    MediaRef { kind: Some(media_ref::Kind::AssetId(id.to_owned())) }
}

pub fn channel(id: &str) -> MediaRef {
    MediaRef { kind: Some(media_ref::Kind::ChannelId(id.to_owned())) }
}

pub fn frame(reference: impl Into<String>, kind: client_frame::Kind) -> ClientFrame {
    ClientFrame { r#ref: reference.into(), kind: Some(kind) }
}

pub fn auth_frame(reference: &str, token: &str) -> ClientFrame {
    frame(reference, client_frame::Kind::Auth(Auth { access_token: token.to_owned() }))
}

/// A client frame as a WebSocket text message (canonical JSON).
pub fn encode(frame: &ClientFrame) -> Result<String> {
    serde_json::to_string(frame).context("encode a client frame")
}

pub fn decode(text: &str) -> Result<ServerFrame> {
    serde_json::from_str(text).with_context(|| format!("decode a server frame: {}", truncate(text, 300)))
}

pub fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// A refused request: the gateway's Error frame.
#[derive(Debug, Clone)]
pub struct FrameError {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for FrameError {}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<ServerFrame>>>>;

/// A request/reply WebSocket client without network simulation (the host
/// and the admin: their timing is not what is measured). Pushed events go to
/// the receiver returned by `connect`.
pub struct Rpc {
    out: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next: AtomicU64,
    pub user_id: String,
}

impl Rpc {
    /// Connects and authenticates.
    pub async fn connect(url: &str, token: &str) -> Result<(Rpc, mpsc::UnboundedReceiver<ServerFrame>)> {
        let (stream, _) = tokio_tungstenite::connect_async(url).await.with_context(|| format!("connect to {url}"))?;
        let (mut sink, mut source) = stream.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let (events_tx, events) = mpsc::unbounded_channel();
        let pending: Pending = Arc::default();
        tokio::spawn(async move {
            while let Some(message) = out_rx.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let replies = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = source.next().await {
                let Message::Text(text) = message else { continue };
                let frame = match decode(text.as_str()) {
                    Ok(frame) => frame,
                    Err(error) => {
                        eprintln!("bench: {error:#}");
                        continue;
                    }
                };
                let waiter = if frame.r#ref.is_empty() {
                    None
                } else {
                    replies.lock().ok().and_then(|mut map| map.remove(&frame.r#ref))
                };
                match waiter {
                    Some(waiter) => {
                        let _ = waiter.send(frame);
                    }
                    None => {
                        let _ = events_tx.send(frame);
                    }
                }
            }
            // Dropping the waiters tells every caller the connection is gone.
            if let Ok(mut map) = replies.lock() {
                map.clear();
            }
        });
        // Like any client, ping within the gateway's idle timeout (90 s): a
        // host waiting for thousands of viewers to join stays connected.
        let keepalive = out.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(30));
            tick.tick().await;
            loop {
                tick.tick().await;
                let ping =
                    frame("keepalive", client_frame::Kind::Ping(Ping { client_time: Some(timestamp(true_now())) }));
                let Ok(text) = encode(&ping) else { break };
                if keepalive.send(Message::Text(text.into())).is_err() {
                    break;
                }
            }
        });
        let mut rpc = Rpc { out, pending, next: AtomicU64::new(1), user_id: String::new() };
        match rpc.call(client_frame::Kind::Auth(Auth { access_token: token.to_owned() })).await? {
            server_frame::Kind::Connected(connected) => rpc.user_id = connected.user_id,
            other => bail!("unexpected reply to auth: {other:?}"),
        }
        Ok((rpc, events))
    }

    /// Sends a request and waits (10 s at most) for its reply; an Error
    /// frame becomes a `FrameError`.
    pub async fn call(&self, kind: client_frame::Kind) -> Result<server_frame::Kind> {
        self.call_within(kind, Duration::from_secs(10)).await
    }

    /// As `call`, waiting at most `limit` for the reply.
    pub async fn call_within(&self, kind: client_frame::Kind, limit: Duration) -> Result<server_frame::Kind> {
        let reference = format!("q{}", self.next.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.pending.lock().map_err(|_| anyhow!("pending map poisoned"))?.insert(reference.clone(), tx);
        let text = encode(&frame(reference.clone(), kind))?;
        self.out.send(Message::Text(text.into())).map_err(|_| anyhow!("connection closed"))?;
        let reply = tokio::time::timeout(limit, rx)
            .await
            .with_context(|| format!("no reply to {reference} within {limit:?}"))?
            .map_err(|_| anyhow!("connection closed before the reply to {reference}"))?;
        match reply.kind {
            Some(server_frame::Kind::Error(error)) => {
                Err(FrameError { code: error.code, message: error.message }.into())
            }
            Some(kind) => Ok(kind),
            None => bail!("empty reply to {reference}"),
        }
    }

    /// Sends a frame without waiting for anything.
    pub fn send(&self, kind: client_frame::Kind) -> Result<()> {
        let reference = format!("n{}", self.next.fetch_add(1, Ordering::Relaxed));
        let text = encode(&frame(reference, kind))?;
        self.out.send(Message::Text(text.into())).map_err(|_| anyhow!("connection closed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_proto::hearth::rooms::v1::SeekRequest;

    #[test]
    fn times_round_trip() {
        let t = 1_795_000_000.123_456;
        assert!((from_timestamp(&timestamp(t)) - t).abs() < 1e-6);
        assert!((from_duration(&duration(120.25)) - 120.25).abs() < 1e-9);
    }

    #[test]
    fn frames_use_canonical_json() {
        let ping = frame("p1", client_frame::Kind::Ping(Ping { client_time: Some(timestamp(0.5)) }));
        let json: serde_json::Value = serde_json::from_str(&encode(&ping).unwrap()).unwrap();
        assert_eq!(json["ref"], "p1");
        // RFC 3339 (pbjson writes the UTC offset as +00:00).
        let client_time = json["ping"]["clientTime"].as_str().unwrap();
        assert!(client_time.starts_with("1970-01-01T00:00:00.5"), "{client_time}");
        let seek = frame(
            "s",
            client_frame::Kind::Seek(SeekRequest {
                room_id: "r".into(),
                position: Some(duration(120.0)),
                ..Default::default()
            }),
        );
        let json: serde_json::Value = serde_json::from_str(&encode(&seek).unwrap()).unwrap();
        assert_eq!(json["seek"]["position"], "120s");
        assert_eq!(json["seek"]["roomId"], "r");
    }
}
