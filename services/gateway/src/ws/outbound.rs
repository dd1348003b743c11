//! A connection's outbound side: a queue bounded in bytes, drained by one
//! writer task that coalesces whatever is queued into a single flush.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt, channel::mpsc, stream::SplitSink};

/// Frames written per flush at most, so one busy connection cannot hog a
/// worker thread.
pub const MAX_BATCH: usize = 64;

/// The queue is over its byte budget: the client is not reading.
#[derive(Debug)]
pub struct Overflow;

fn size(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) => bytes.len(),
        _ => 16,
    }
}

/// Sending half, owned by the connection's reader loop.
#[derive(Clone)]
pub struct Outbound {
    /// futures' channel: nothing allocated per connection until a frame is
    /// queued (tokio's allocates a 32-slot block up front).
    tx: mpsc::UnboundedSender<Message>,
    queued: Arc<AtomicUsize>,
    limit: usize,
}

impl Outbound {
    /// Queues a frame unless that would exceed the byte budget.
    pub fn send(&self, message: Message) -> Result<(), Overflow> {
        let len = size(&message);
        let before = self.queued.fetch_add(len, Ordering::AcqRel);
        if before + len > self.limit {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            return Err(Overflow);
        }
        hearth_platform::metrics::ws_frames().add(1, &[opentelemetry::KeyValue::new("direction", "out")]);
        self.tx.unbounded_send(message).map_err(|_| Overflow)
    }

    /// Queues a close frame, past the budget: closing must always be possible.
    pub fn close(&self, code: u16, reason: &'static str) {
        hearth_platform::metrics::ws_closes().add(1, &[opentelemetry::KeyValue::new("code", i64::from(code))]);
        let message = Message::Close(Some(CloseFrame { code, reason: reason.into() }));
        self.queued.fetch_add(size(&message), Ordering::AcqRel);
        let _ = self.tx.unbounded_send(message);
    }
}

/// Creates the queue and spawns its writer over `sink`.
pub fn spawn(sink: SplitSink<WebSocket, Message>, limit: usize) -> (Outbound, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded();
    let queued = Arc::new(AtomicUsize::new(0));
    let writer = tokio::spawn(write_loop(sink, rx, queued.clone()));
    (Outbound { tx, queued, limit }, writer)
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::UnboundedReceiver<Message>,
    queued: Arc<AtomicUsize>,
) {
    // Feed what is queued (up to MAX_BATCH frames) and flush once: no
    // batch buffer is kept, so an idle connection holds nothing here.
    while let Some(mut message) = rx.next().await {
        let mut fed = 0;
        loop {
            let closing = matches!(message, Message::Close(_));
            let len = size(&message);
            let result = sink.feed(message).await;
            queued.fetch_sub(len, Ordering::AcqRel);
            if result.is_err() {
                return;
            }
            if closing {
                let _ = sink.flush().await;
                let _ = sink.close().await;
                return;
            }
            fed += 1;
            match rx.try_recv() {
                Ok(next) if fed < MAX_BATCH => message = next,
                Ok(next) => {
                    if sink.flush().await.is_err() {
                        return;
                    }
                    fed = 0;
                    message = next;
                }
                // Empty for now (or closed: the outer loop sees the end).
                Err(_) => break,
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
}
