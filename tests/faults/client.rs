//! Clients that survive faults, as a real app would: they notice a closed
//! socket instead of panicking, reconnect elsewhere, resume chat from
//! their position, fill gaps with `resume_chat` and retry sends with the
//! same `client_msg_id` until acknowledged.

use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use hearth_tests::{TestApp, tungstenite::Message};
use serde_json::{Value, json};
use uuid::Uuid;

/// A u64 of canonical JSON (a string) as a number.
pub fn num(value: &Value) -> u64 {
    value.as_str().and_then(|v| v.parse().ok()).or_else(|| value.as_u64()).unwrap_or(0)
}

/// The error code of a reply ("" for a success).
pub fn code(reply: &Value) -> &str {
    reply["error"]["code"].as_str().unwrap_or_default()
}

/// Codes a client retries on: the request may succeed on another try.
pub fn retryable(code: &str) -> bool {
    matches!(code, "unavailable" | "deadline_exceeded" | "cancelled" | "internal")
}

/// A public watch party.
pub fn watch_party(title: &str) -> Value {
    json!({
        "kind": "ROOM_KIND_WATCH_PARTY",
        "visibility": "ROOM_VISIBILITY_PUBLIC",
        "title": title,
        "media": {"assetId": "movie-42"},
        "settings": {"capacity": 1000},
    })
}

/// What one read gave.
pub enum Next {
    Frame(Value),
    Closed,
    Quiet,
}

type Stream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket client that reports a close instead of panicking.
pub struct Client {
    pub user: String,
    pub ws: Stream,
    /// Pushed frames read while waiting for a reply.
    pending: VecDeque<Value>,
    next_ref: u64,
    pub closed: bool,
}

impl Client {
    /// Connects and authenticates as `user`; None when the gateway is gone.
    pub async fn connect(app: &TestApp, url: &str, user: &str) -> Option<Client> {
        let (ws, _) =
            tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::connect_async(url)).await.ok()?.ok()?;
        let mut client = Client { user: user.to_owned(), ws, pending: VecDeque::new(), next_ref: 0, closed: false };
        let connected =
            client.call(json!({"auth": {"accessToken": app.token(user, &[])}}), Duration::from_secs(5)).await?;
        connected.get("connected").is_some().then_some(client)
    }

    /// A fresh user.
    pub async fn fresh(app: &TestApp, url: &str) -> Client {
        Client::connect(app, url, &Uuid::now_v7().to_string()).await.expect("connect a fresh user")
    }

    /// The next frame (pending first), a close, or nothing within `within`.
    pub async fn next(&mut self, within: Duration) -> Next {
        if let Some(frame) = self.pending.pop_front() {
            return Next::Frame(frame);
        }
        self.read(within).await
    }

    async fn read(&mut self, within: Duration) -> Next {
        if self.closed {
            return Next::Closed;
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Next::Quiet,
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Next::Frame(serde_json::from_str(text.as_str()).expect("server frames are JSON"));
                }
                Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) => {
                    self.closed = true;
                    return Next::Closed;
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Sends a request and returns its reply; None when the connection
    /// closed or no reply came within `within`.
    pub async fn call(&mut self, mut frame: Value, within: Duration) -> Option<Value> {
        if self.closed {
            return None;
        }
        self.next_ref += 1;
        let reference = format!("f{}", self.next_ref);
        frame["ref"] = json!(reference);
        if self.ws.send(Message::Text(frame.to_string().into())).await.is_err() {
            self.closed = true;
            return None;
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read(left).await {
                Next::Frame(value) if value.get("ref").and_then(Value::as_str) == Some(reference.as_str()) => {
                    return Some(value);
                }
                Next::Frame(value) => self.pending.push_back(value),
                Next::Closed | Next::Quiet => return None,
            }
        }
    }

    /// Like `call`, but a missing reply is a test failure.
    pub async fn ask(&mut self, frame: Value) -> Value {
        let what = frame.to_string();
        self.call(frame, Duration::from_secs(10)).await.unwrap_or_else(|| panic!("no reply to {what}"))
    }

    /// Creates a public room; returns its id.
    pub async fn create_room(&mut self, title: &str) -> String {
        let reply = self.ask(json!({"createRoom": watch_party(title)})).await;
        reply["createRoom"]["room"]["roomId"].as_str().unwrap_or_else(|| panic!("create failed: {reply}")).to_owned()
    }
}

/// A room member following the chat: it applies every sequenced message
/// once, in order, and records what the server sent twice.
pub struct Follower {
    pub client: Client,
    pub room: String,
    epoch: String,
    /// The last sequence applied.
    pub last: u64,
    /// The highest sequence the live stream of this connection delivered.
    live_max: u64,
    /// Sequences applied, in order.
    pub applied: Vec<u64>,
    /// Live events delivered again on one connection (must stay empty).
    pub duplicates: Vec<u64>,
    /// Gaps filled with `resume_chat`.
    pub gap_fills: u32,
    /// When each sequence arrived.
    pub arrivals: HashMap<u64, Instant>,
    /// Pushed `interaction_event`s (poll closes and tallies).
    pub interactions: Vec<Value>,
}

impl Follower {
    /// A fresh user who joins and enters `room` through `url`.
    pub async fn join(app: &TestApp, url: &str, room: &str) -> Follower {
        let mut client = Client::fresh(app, url).await;
        let entered = client.ask(json!({"enterRoom": {"roomId": room, "join": true}})).await;
        let position = &entered["enterRoom"]["chat"]["position"];
        assert!(entered.get("enterRoom").is_some(), "enter failed: {entered}");
        Follower {
            client,
            room: room.to_owned(),
            epoch: position["epoch"].as_str().unwrap_or_default().to_owned(),
            last: num(&position["sequence"]),
            live_max: num(&position["sequence"]),
            applied: Vec::new(),
            duplicates: Vec::new(),
            gap_fills: 0,
            arrivals: HashMap::new(),
            interactions: Vec::new(),
        }
    }

    /// Reconnects through `url` and enters again from the last position;
    /// false when that gateway cannot be reached or refuses for now.
    pub async fn reconnect(&mut self, app: &TestApp, url: &str) -> bool {
        let Some(mut client) = Client::connect(app, url, &self.client.user).await else { return false };
        let resume = json!({"enterRoom": {"roomId": self.room,
            "chatPosition": {"sequence": self.last.to_string(), "epoch": self.epoch}}});
        let Some(entered) = client.call(resume, Duration::from_secs(10)).await else { return false };
        if entered.get("enterRoom").is_none() {
            assert!(retryable(code(&entered)), "enter refused: {entered}");
            return false;
        }
        self.client = client;
        let chat = entered["enterRoom"]["chat"].clone();
        self.live_max = 0;
        self.apply_resumed(&chat);
        true
    }

    /// Applies the messages of a `ResumeChatResponse`.
    fn apply_resumed(&mut self, chat: &Value) {
        assert_eq!(chat["outcome"], "RESUME_OUTCOME_RECOVERED", "resume did not recover: {chat}");
        for message in chat["messages"].as_array().into_iter().flatten() {
            self.apply(num(&message["sequence"]));
        }
        self.epoch = chat["position"]["epoch"].as_str().unwrap_or(&self.epoch).to_owned();
        let position = num(&chat["position"]["sequence"]);
        assert!(position >= self.last, "the position went back: {position} < {}", self.last);
        // Sequences without a message (deletions) count as seen.
        self.last = self.last.max(position);
    }

    fn apply(&mut self, sequence: u64) {
        if sequence == self.last + 1 {
            self.applied.push(sequence);
            self.arrivals.insert(sequence, Instant::now());
            self.last = sequence;
        }
    }

    /// Handles one pushed frame; returns false when it needs a gap fill
    /// that failed (the connection closed).
    async fn handle(&mut self, frame: Value) -> bool {
        if frame.get("interactionEvent").is_some() {
            self.interactions.push(frame);
            return true;
        }
        let event = &frame["chatEvent"];
        let sequence = num(&event["sequence"]);
        if sequence == 0 {
            return true;
        }
        if sequence <= self.live_max {
            self.duplicates.push(sequence);
        }
        self.live_max = self.live_max.max(sequence);
        if sequence <= self.last {
            return true; // already applied from a resume
        }
        if sequence > self.last + 1 {
            // A gap the gateway gave up on: fetch what is missing.
            let since = json!({"sequence": self.last.to_string(), "epoch": self.epoch});
            let request = json!({"resumeChat": {"roomId": self.room, "since": since}});
            let Some(reply) = self.client.call(request, Duration::from_secs(10)).await else { return false };
            if reply.get("resumeChat").is_none() {
                return false;
            }
            self.gap_fills += 1;
            self.apply_resumed(&reply["resumeChat"].clone());
        }
        self.apply(sequence);
        true
    }

    /// Reads until `last >= target`; false when the connection closed.
    /// Panics when nothing arrives for `quiet`.
    pub async fn follow_until(&mut self, target: u64, quiet: Duration) -> bool {
        while self.last < target {
            match self.client.next(quiet).await {
                Next::Frame(frame) => {
                    if !self.handle(frame).await {
                        return false;
                    }
                }
                Next::Closed => return false,
                Next::Quiet => panic!("follower {} stuck at {} of {target}", self.client.user, self.last),
            }
        }
        true
    }

    /// Reads until `last >= target` or `within` passes; true when reached.
    pub async fn follow_for(&mut self, target: u64, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while self.last < target {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.client.next(left).await {
                Next::Frame(frame) => {
                    self.handle(frame).await;
                }
                Next::Closed | Next::Quiet => return false,
            }
        }
        true
    }

    /// Reads what arrives within `window` (e.g. to see nothing comes twice).
    pub async fn settle(&mut self, window: Duration) {
        let deadline = tokio::time::Instant::now() + window;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.client.next(left).await {
                Next::Frame(frame) => {
                    self.handle(frame).await;
                }
                Next::Closed | Next::Quiet => return,
            }
        }
    }

    /// Follows to `target`, reconnecting through `fallback` whenever the
    /// connection closes; returns how long each reconnection took (from
    /// the close to re-entered with the catch-up).
    pub async fn follow_through_faults(
        &mut self,
        app: &TestApp,
        fallback: &str,
        target: u64,
        quiet: Duration,
    ) -> Vec<Duration> {
        let mut outages = Vec::new();
        while !self.follow_until(target, quiet).await {
            let closed_at = Instant::now();
            let deadline = closed_at + Duration::from_secs(30);
            while !self.reconnect(app, fallback).await {
                assert!(Instant::now() < deadline, "follower could not reconnect within 30 s");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            outages.push(closed_at.elapsed());
        }
        outages
    }

    /// Asserts every sequence 1..=n was applied once, in order, and no
    /// live event came twice.
    pub fn assert_complete(&self, n: u64) {
        let expected: Vec<u64> = (1..=n).collect();
        assert_eq!(self.applied, expected, "follower {}: every acknowledged message once, in order", self.client.user);
        assert!(self.duplicates.is_empty(), "follower {} got live duplicates: {:?}", self.client.user, self.duplicates);
    }
}

/// A member sending chat messages and retrying each, with the same
/// `client_msg_id`, until acknowledged.
pub struct Sender {
    pub client: Client,
    pub room: String,
    /// Acknowledged sequences, in sending order.
    pub acked: Vec<u64>,
    /// Sends that needed a retry.
    pub retries: u32,
}

impl Sender {
    pub async fn join(app: &TestApp, url: &str, room: &str) -> Sender {
        let follower = Follower::join(app, url, room).await;
        let mut client = follower.client;
        client.ask(json!({"exitRoom": {"roomId": room}})).await;
        Sender { client, room: room.to_owned(), acked: Vec::new(), retries: 0 }
    }

    /// Sends until acknowledged; reconnects through `fallback` when the
    /// connection is gone. Returns the message's sequence.
    pub async fn send(&mut self, app: &TestApp, fallback: &str, id: &str, text: &str) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(45);
        loop {
            assert!(Instant::now() < deadline, "{id} was not acknowledged within 45 s");
            if self.client.closed {
                match Client::connect(app, fallback, &self.client.user).await {
                    Some(client) => self.client = client,
                    None => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                }
            }
            let request = json!({"sendMessage": {"roomId": self.room, "clientMsgId": id, "text": text}});
            match self.client.call(request, Duration::from_secs(15)).await {
                Some(reply) if reply.get("sendMessage").is_some() => {
                    let sequence = num(&reply["sendMessage"]["message"]["sequence"]);
                    assert!(sequence > 0, "posted without a sequence: {reply}");
                    self.acked.push(sequence);
                    return sequence;
                }
                Some(reply) => {
                    assert!(retryable(code(&reply)), "send refused: {reply}");
                }
                None => {}
            }
            self.retries += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
