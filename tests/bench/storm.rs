//! `bench join-storm`: N clients connect, authenticate and enter one channel
//! room as fast as a concurrency limit allows. The server runs as a child
//! process (`bench serve`) so its memory can be read from /proc without the
//! clients' own; a bare tokio-tungstenite server (`bench serve-minimal`)
//! gives a per-connection memory floor to compare with.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, Result, anyhow, bail};
use futures::{SinkExt, StreamExt};
use hearth::Role;
use hearth_platform::{
    auth::{self, TokenKeys},
    config::AuthConfig,
    secret::SecretString,
};
use hearth_proto::hearth::{
    gateway::v1::{EnterRoom, Ping, ServerFrame, client_frame, server_frame},
    rooms::v1::{CreateRoomRequest, RoomKind, RoomSettings, RoomVisibility},
};
use hearth_tests::TestApp;
use tokio::{
    net::TcpListener,
    sync::{Semaphore, broadcast, mpsc},
    task::JoinHandle,
    time::Instant,
};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    model::Summary,
    proc::{Memory, Server, announce, memory, mib, ms, raise_nofile_limit, settle, stdin_closed},
    wire::{self, Rpc},
};

/// The child learns the signing key from these, so the parent can mint
/// tokens the child's gateway accepts (not `HEARTH_*`: those belong to the
/// configuration loader).
const KEY_ENV: &str = "BENCH_SIGNING_KEY_PEM";
const KID_ENV: &str = "BENCH_SIGNING_KEY_ID";

#[derive(clap::Args, Debug, Clone)]
pub struct StormArgs {
    /// Clients that connect, authenticate and join.
    #[arg(long, default_value_t = 5000)]
    pub clients: usize,
    /// Clients between connect and enter_room reply at once.
    #[arg(long, default_value_t = 500)]
    pub concurrency: usize,
    /// Seconds each server may settle before its memory is read.
    #[arg(long, default_value_t = 3.0)]
    pub settle_s: f64,
    /// Do not run the bare tokio-tungstenite reference.
    #[arg(long)]
    pub skip_minimal: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Gateway frame limit per connection (sustained).
    #[arg(long, default_value_t = 100)]
    pub frames_per_second: u32,
    /// Postgres pool size (production default; the test harness uses 5).
    #[arg(long, default_value_t = 20)]
    pub db_connections: u32,
}

/// `bench serve`: every Hearth role in this process, the signing key from
/// the parent, until stdin closes.
pub async fn serve(args: ServeArgs) -> Result<()> {
    let pem = std::env::var(KEY_ENV).with_context(|| format!("{KEY_ENV} must hold the signing key"))?;
    let kid = std::env::var(KID_ENV).with_context(|| format!("{KID_ENV} must hold the key id"))?;
    let app = TestApp::spawn_with(Role::ALL, move |c| {
        c.gateway.frames_per_second = args.frames_per_second;
        c.gateway.frame_burst = args.frames_per_second.saturating_mul(2);
        c.database.max_connections = args.db_connections;
        c.auth.signing_key = Some(SecretString::new(pem));
        c.auth.signing_key_id = Some(kid);
    })
    .await;
    announce(&app.ws_url)?;
    stdin_closed().await;
    app.stop();
    drop(app);
    Ok(())
}

/// `bench serve-minimal`: a bare tokio-tungstenite broadcaster with the
/// default WebSocketConfig that accepts connections and holds them, the
/// floor any WebSocket server pays per connection.
pub async fn serve_minimal() -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (broadcast_tx, _) = broadcast::channel::<Message>(16);
    announce(&format!("ws://{addr}/"))?;
    let closed = stdin_closed();
    tokio::pin!(closed);
    loop {
        tokio::select! {
            () = &mut closed => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let mut updates = broadcast_tx.subscribe();
                    tokio::spawn(async move {
                        let Ok(socket) = tokio_tungstenite::accept_async(stream).await else { return };
                        let (mut sink, mut source) = socket.split();
                        loop {
                            tokio::select! {
                                message = source.next() => match message {
                                    Some(Ok(_)) => {}
                                    _ => break,
                                },
                                update = updates.recv() => match update {
                                    Ok(message) => {
                                        if sink.send(message).await.is_err() {
                                            break;
                                        }
                                    }
                                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                                    Err(broadcast::error::RecvError::Closed) => break,
                                },
                            }
                        }
                    });
                }
                Err(error) => {
                    // Out of descriptors and the like: back off, keep serving.
                    eprintln!("serve-minimal: accept: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    Ok(())
}

/// What a storm client does after connecting.
#[derive(Clone)]
pub(crate) enum Mode {
    /// Authenticate with the token, then enter the room with join (no room:
    /// authenticate only).
    Hearth { room_id: Option<String> },
    /// The WebSocket handshake is all.
    Bare,
}

/// How a client encodes its frames (the gateway answers in kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Text frames of canonical JSON.
    Json,
    /// Binary protobuf frames (connect with `?encoding=protobuf`).
    Protobuf,
}

/// The result of one storm: connections are still held until `release`.
struct Storm {
    latencies: Vec<f64>,
    failures: BTreeMap<String, usize>,
    /// Start → the last successful join.
    all_joined: Duration,
    dropped: Arc<AtomicU64>,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Storm {
    async fn release(self) {
        self.cancel.cancel();
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

/// Why a join failed: the gateway's error code, or a transport problem.
type Outcome = std::result::Result<f64, String>;

async fn storm(url: &str, mode: Mode, tokens: Vec<String>, concurrency: usize) -> Storm {
    let semaphore = Arc::new(Semaphore::new(concurrency.max(1)));
    let cancel = CancellationToken::new();
    let dropped = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel::<Outcome>();
    let total = tokens.len();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for token in tokens {
        let (url, mode, semaphore, cancel, dropped, tx) =
            (url.to_owned(), mode.clone(), semaphore.clone(), cancel.clone(), dropped.clone(), tx.clone());
        tasks.push(tokio::spawn(async move {
            let Ok(permit) = semaphore.acquire_owned().await else { return };
            let begun = Instant::now();
            let joined = tokio::time::timeout(Duration::from_secs(60), join(&url, &mode, &token, Encoding::Json)).await;
            drop(permit);
            let socket = match joined {
                Ok(Ok(socket)) => {
                    let _ = tx.send(Ok(begun.elapsed().as_secs_f64()));
                    socket
                }
                Ok(Err(code)) => {
                    let _ = tx.send(Err(code));
                    return;
                }
                Err(_) => {
                    let _ = tx.send(Err("timeout".into()));
                    return;
                }
            };
            hold(socket, cancel, dropped).await;
        }));
    }
    drop(tx);
    let mut latencies = Vec::with_capacity(total);
    let mut failures = BTreeMap::new();
    let mut all_joined = Duration::ZERO;
    let mut progress = tokio::time::interval(Duration::from_secs(2));
    progress.tick().await;
    loop {
        tokio::select! {
            outcome = rx.recv() => match outcome {
                Some(Ok(latency)) => {
                    latencies.push(latency);
                    all_joined = started.elapsed();
                }
                Some(Err(code)) => *failures.entry(code).or_insert(0) += 1,
                None => break,
            },
            _ = progress.tick() => eprintln!(
                "  … {} joined, {} failed after {:.0} s",
                latencies.len(),
                failures.values().sum::<usize>(),
                started.elapsed().as_secs_f64()
            ),
        }
        if latencies.len() + failures.values().sum::<usize>() == total {
            break;
        }
    }
    Storm { latencies, failures, all_joined, dropped, cancel, tasks }
}

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects (without Nagle's delay) and, for Hearth, authenticates and
/// enters the room; the error is a short code for the failure table.
pub(crate) async fn join(
    url: &str,
    mode: &Mode,
    token: &str,
    encoding: Encoding,
) -> std::result::Result<Socket, String> {
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(client_config()), true)
        .await
        .map_err(|e| connect_code(&e))?;
    let Mode::Hearth { room_id } = mode else { return Ok(socket) };
    send(&mut socket, &wire::auth_frame("a", token), encoding).await?;
    match reply(&mut socket, "a").await? {
        server_frame::Kind::Connected(_) => {}
        other => return Err(format!("auth: unexpected {}", kind_name(&other))),
    }
    let Some(room_id) = room_id else { return Ok(socket) };
    let enter = EnterRoom { room_id: room_id.clone(), join: true, ..Default::default() };
    send(&mut socket, &wire::frame("e", client_frame::Kind::EnterRoom(enter)), encoding).await?;
    match reply(&mut socket, "e").await? {
        server_frame::Kind::EnterRoom(entered) if entered.snapshot.is_some() => Ok(socket),
        server_frame::Kind::EnterRoom(_) => Err("enter_room: no snapshot".into()),
        other => Err(format!("enter_room: unexpected {}", kind_name(&other))),
    }
}

/// Bench clients read small frames: tungstenite's default 128 KiB read
/// buffer would be zeroed on every read and dominate the clients' CPU
/// (which shares the machine with the servers measured).
fn client_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(4096)
}

fn connect_code(error: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error;
    match error {
        Error::Io(io) => format!("connect: {:?}", io.kind()),
        Error::Http(response) => format!("connect: http {}", response.status()),
        other => format!("connect: {other}"),
    }
}

fn kind_name(kind: &server_frame::Kind) -> String {
    format!("{kind:?}").split(['(', ' ']).next().unwrap_or("frame").to_owned()
}

async fn send(
    socket: &mut Socket,
    frame: &hearth_proto::hearth::gateway::v1::ClientFrame,
    encoding: Encoding,
) -> Result<(), String> {
    let message = match encoding {
        Encoding::Json => Message::Text(wire::encode(frame).map_err(|e| format!("encode: {e}"))?.into()),
        Encoding::Protobuf => Message::Binary(prost::Message::encode_to_vec(frame).into()),
    };
    socket.send(message).await.map_err(|e| format!("send: {e}"))
}

/// Reads until the reply with `reference` (skipping pushed events); an
/// Error frame becomes its code.
async fn reply(socket: &mut Socket, reference: &str) -> Result<server_frame::Kind, String> {
    loop {
        let decoded = match socket.next().await {
            Some(Ok(Message::Text(text))) => wire::decode(text.as_str()),
            Some(Ok(Message::Binary(bytes))) => {
                <ServerFrame as prost::Message>::decode(bytes.as_ref()).map_err(anyhow::Error::from)
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("closed {}", frame.map(|f| u16::from(f.code)).unwrap_or(0)));
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err("connection lost".into()),
        };
        let Ok(ServerFrame { r#ref: got, kind }) = decoded else {
            return Err("undecodable frame".into());
        };
        if got != reference {
            continue;
        }
        return match kind {
            Some(server_frame::Kind::Error(error)) => Err(error.code),
            Some(kind) => Ok(kind),
            None => Err("empty reply".into()),
        };
    }
}

/// Keeps a joined connection open and read (so the server never sees a
/// slow consumer), pinging well within the idle timeout.
pub(crate) async fn hold(socket: Socket, cancel: CancellationToken, dropped: Arc<AtomicU64>) {
    let (mut sink, mut source) = socket.split();
    let mut ping = tokio::time::interval(Duration::from_secs(20));
    ping.tick().await;
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            message = source.next() => if !matches!(message, Some(Ok(_))) {
                dropped.fetch_add(1, Ordering::Relaxed);
                return;
            },
            _ = ping.tick() => {
                let frame = wire::frame("k", client_frame::Kind::Ping(Ping { client_time: Some(wire::timestamp(wire::true_now())) }));
                let Ok(text) = wire::encode(&frame) else { continue };
                if sink.send(Message::Text(text.into())).await.is_err() {
                    dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
    }
    let _ = sink.close().await;
}

/// One server's numbers for the table.
struct Measured {
    storm_clients: usize,
    joined: usize,
    all_joined: Duration,
    latency: Summary,
    idle: Memory,
    loaded: Memory,
    failures: BTreeMap<String, usize>,
    dropped: u64,
}

impl Measured {
    fn of(args: &StormArgs, result: &Storm, idle: Memory, loaded: Memory) -> Self {
        Self {
            storm_clients: args.clients,
            joined: result.latencies.len(),
            all_joined: result.all_joined,
            latency: Summary::of(&result.latencies),
            idle,
            loaded,
            failures: result.failures.clone(),
            dropped: result.dropped.load(Ordering::Relaxed),
        }
    }
}

impl Measured {
    fn per_connection_kib(&self) -> f64 {
        if self.joined == 0 {
            return f64::NAN;
        }
        (self.loaded.rss as f64 - self.idle.rss as f64) / self.joined as f64
    }
}

/// Creates a public channel room without a capacity limit (the caller is
/// an operator admin); returns its id.
pub(crate) async fn create_channel_room(admin: &Rpc) -> Result<String> {
    let create = CreateRoomRequest {
        kind: RoomKind::Channel as i32,
        visibility: RoomVisibility::Public as i32,
        title: "Bench channel".into(),
        media: Some(wire::channel(&format!("bench-{}", Uuid::now_v7().simple()))),
        settings: Some(RoomSettings { capacity: 0, ..Default::default() }),
        ..Default::default()
    };
    match admin.call(client_frame::Kind::CreateRoom(create)).await.context("create the channel room")? {
        server_frame::Kind::CreateRoom(reply) => reply.room.map(|r| r.room_id).ok_or_else(|| anyhow!("no room")),
        other => bail!("unexpected create_room reply {other:?}"),
    }
}

async fn measure_hearth(args: &StormArgs) -> Result<Measured> {
    let pem = auth::generate_signing_key_pem()?;
    let kid = format!("bench-{}", Uuid::now_v7().simple());
    let auth_config = AuthConfig {
        signing_key: Some(SecretString::new(pem.clone())),
        signing_key_id: Some(kid.clone()),
        ..AuthConfig::default()
    };
    let keys = TokenKeys::from_config(&auth_config)?;
    let token = |roles: &[String]| keys.issue(&Uuid::now_v7().to_string(), &Uuid::now_v7().to_string(), roles);

    eprintln!("bench join-storm: starting `bench serve` …");
    let server = Server::spawn("serve", &[], &[(KEY_ENV, pem), (KID_ENV, kid)]).await?;
    settle(args.settle_s).await;
    let idle = memory(server.pid())?;

    let (admin, _admin_events) = Rpc::connect(&server.url, &token(&["admin".to_owned()])?).await.context("admin")?;
    let room_id = create_channel_room(&admin).await?;
    let tokens = (0..args.clients).map(|_| token(&[])).collect::<Result<Vec<_>, _>>()?;
    eprintln!("bench join-storm: {} clients join room {room_id} (concurrency {}) …", args.clients, args.concurrency);
    let result = storm(&server.url, Mode::Hearth { room_id: Some(room_id) }, tokens, args.concurrency).await;
    settle(args.settle_s).await;
    let loaded = memory(server.pid())?;
    let measured = Measured::of(args, &result, idle, loaded);
    result.release().await;
    drop(admin);
    server.stop().await?;
    Ok(measured)
}

async fn measure_minimal(args: &StormArgs) -> Result<Measured> {
    eprintln!("bench join-storm: starting `bench serve-minimal` …");
    let server = Server::spawn("serve-minimal", &[], &[]).await?;
    settle(args.settle_s).await;
    let idle = memory(server.pid())?;
    let result = storm(&server.url, Mode::Bare, vec![String::new(); args.clients], args.concurrency).await;
    settle(args.settle_s).await;
    let loaded = memory(server.pid())?;
    let measured = Measured::of(args, &result, idle, loaded);
    result.release().await;
    server.stop().await?;
    Ok(measured)
}

/// Runs the storm against Hearth (and the reference); prints the table.
/// Returns whether every client joined.
pub async fn run(args: StormArgs) -> Result<bool> {
    if args.clients == 0 {
        bail!("--clients must be at least 1");
    }
    // Each process holds one descriptor per connection plus its own.
    raise_nofile_limit(args.clients as u64 + 512);
    let hearth = measure_hearth(&args).await?;
    let minimal = if args.skip_minimal { None } else { Some(measure_minimal(&args).await?) };
    print_report(&args, &hearth, minimal.as_ref());
    Ok(hearth.joined == args.clients && hearth.dropped == 0)
}

/// One cell of the report: a server's value as text.
type Cell = dyn Fn(&Measured) -> String;

fn print_report(args: &StormArgs, hearth: &Measured, minimal: Option<&Measured>) {
    let column = |f: &Cell| -> String {
        let left = f(hearth);
        match minimal {
            Some(m) => format!("{left:>18}  {:>18}", f(m)),
            None => format!("{left:>18}"),
        }
    };
    println!();
    println!("Join storm: {} clients, concurrency {}", args.clients, args.concurrency);
    println!();
    let header = match minimal {
        Some(_) => format!("{:<32}{:>18}  {:>18}", "", "hearth", "bare tungstenite"),
        None => format!("{:<32}{:>18}", "", "hearth"),
    };
    println!("{header}");
    let rows: [(&str, &Cell); 10] = [
        ("joined (snapshot held)", &|m| format!("{}/{}", m.joined, m.storm_clients)),
        ("time until all joined", &|m| format!("{:.2} s", m.all_joined.as_secs_f64())),
        ("join latency p50", &|m| ms(m.latency.p50)),
        ("join latency p99", &|m| ms(m.latency.p99)),
        ("join latency max", &|m| ms(m.latency.max)),
        ("server RSS idle", &|m| mib(m.idle.rss)),
        ("server RSS all joined", &|m| mib(m.loaded.rss)),
        ("server RSS peak (VmHWM)", &|m| mib(m.loaded.peak)),
        ("RSS per connection", &|m| format!("{:.1} KiB", m.per_connection_kib())),
        ("dropped while held", &|m| m.dropped.to_string()),
    ];
    for (name, f) in rows {
        println!("{name:<32}{}", column(f));
    }
    println!("(join latency: connect → enter_room reply for Hearth; the WebSocket handshake for the bare server)");
    for (name, m) in std::iter::once(("hearth", hearth)).chain(minimal.map(|m| ("bare tungstenite", m))) {
        if !m.failures.is_empty() {
            let list: Vec<String> = m.failures.iter().map(|(code, n)| format!("{code} ×{n}")).collect();
            println!("failures ({name}): {}", list.join(", "));
        }
    }
    if let Some(m) = minimal {
        let ratio = hearth.per_connection_kib() / m.per_connection_kib();
        if ratio.is_finite() {
            println!("Hearth uses {ratio:.1}× the bare server's memory per connection.");
        }
    }
}
