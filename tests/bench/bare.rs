//! `bench serve-bare`: the reference broadcaster of `bench chat`, the limit
//! a WebSocket fan-out on tokio and axum can reach. One room is one
//! `tokio::sync::broadcast` channel of encoded frames; a data frame any
//! client sends goes to every connection, the sender's included, as is.
//! It uses the gateway's WebSocket buffer settings and writes the same
//! way (whatever is queued, up to 64 frames, then one flush), so what
//! differs from Hearth is the fan-out work, not the socket handling.

use std::{
    future::IntoFuture,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use anyhow::Result;
use axum::{
    Router,
    extract::{
        State,
        ws::{Message, WebSocket, WebSocketUpgrade},
    },
    response::Response,
    routing::get,
};
use futures::{SinkExt, StreamExt};
use tokio::{net::TcpListener, sync::broadcast};

use crate::proc::{announce, stdin_closed};

/// The gateway's own WebSocket settings, so the comparison is of the
/// fan-out work alone.
use hearth_gateway::ws::{READ_BUFFER_BYTES, WRITE_BUFFER_BYTES, outbound::MAX_BATCH};
/// Frames a connection may fall behind before it misses some (about the
/// gateway's 1 MiB outbound budget in chat frames of ~250 bytes).
const CAPACITY: usize = 4096;

#[derive(Clone)]
struct Room {
    frames: broadcast::Sender<Message>,
    /// Frames connections missed because they fell too far behind.
    lagged: Arc<AtomicU64>,
}

/// Serves until stdin closes; then reports the frames connections missed.
pub async fn serve() -> Result<()> {
    let room = Room { frames: broadcast::channel(CAPACITY).0, lagged: Arc::default() };
    let lagged = room.lagged.clone();
    let app = Router::new().route("/", get(upgrade)).with_state(room);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    announce(&format!("ws://{}/", listener.local_addr()?))?;
    tokio::select! {
        served = axum::serve(listener, app).into_future() => served?,
        () = stdin_closed() => {}
    }
    println!("frames missed by lagging connections: {}", lagged.load(Ordering::Relaxed));
    Ok(())
}

async fn upgrade(State(room): State<Room>, ws: WebSocketUpgrade) -> Response {
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .on_upgrade(move |socket| connection(socket, room))
}

async fn connection(socket: WebSocket, room: Room) {
    let mut frames = room.frames.subscribe();
    let (mut sink, mut stream) = socket.split();
    let reader = async {
        while let Some(Ok(message)) = stream.next().await {
            match message {
                Message::Binary(_) | Message::Text(_) => {
                    let _ = room.frames.send(message);
                }
                Message::Close(_) => break,
                Message::Ping(_) | Message::Pong(_) => {}
            }
        }
    };
    let writer = async {
        loop {
            let first = match frames.recv().await {
                Ok(message) => message,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    room.lagged.fetch_add(missed, Ordering::Relaxed);
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            };
            if sink.feed(first).await.is_err() {
                break;
            }
            for _ in 1..MAX_BATCH {
                match frames.try_recv() {
                    Ok(message) => {
                        if sink.feed(message).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                        room.lagged.fetch_add(missed, Ordering::Relaxed);
                    }
                    Err(_) => break,
                }
            }
            if sink.flush().await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        () = reader => {}
        () = writer => {}
    }
}
