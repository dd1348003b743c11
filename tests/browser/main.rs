//! The reference web app in a real browser: starts Hearth (backend roles
//! in-process, the gateway serving `clients/web/dist` as its own OS process
//! on a fixed port so it can be SIGKILLed and restarted there), generates
//! and serves a test video, and runs the Playwright scenario
//! `clients/e2e/party.mjs` in Debian's Chromium. The scenario drives the
//! servers through a line protocol on its stdio (see
//! clients/e2e/lib/control.mjs): it prints `@@<command> <json>`, this test
//! answers `ok <json>` or `error <text>` on its stdin.
//!
//! Needs `clients/build.sh` to have run (web app built, e2e `npm ci`),
//! Chromium at /usr/bin/chromium (or CHROMIUM_PATH), node and ffmpeg. Without
//! them it says why and passes, except under CI=true, where it fails.
//! Screenshots go to HEARTH_ARTIFACTS (default `<repo>/target/browser-artifacts`).
//!
//! Commands: `kill-gateway`, `start-gateway`, `send-backend` (a chat message
//! through the chat service while the gateway is down) and `seed-catalog`
//! (channels pushed through ProviderIngest, answered once catalog sync has
//! made their channel rooms).

mod media;

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use hearth::Role;
use hearth_platform::secret::SecretString;
use hearth_proto::hearth::chat::v1::{SendMessageRequest, chat_service_client::ChatServiceClient};
use hearth_proto::hearth::provider::v1::{
    Channel, LocalizedString, PushCatalogRequest, provider_ingest_client::ProviderIngestClient,
};
use hearth_proto::hearth::rooms::v1::{ListPublicRoomsRequest, RoomKind, rooms_service_client::RoomsServiceClient};
use hearth_proto::identity::LoginRequest;
use hearth_tests::{RolesProcess, TestApp, authed};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::media::Media;

/// Everything but the gateway, which runs in its own process.
const BACKEND_ROLES: &[Role] =
    &[Role::Identity, Role::Provider, Role::Rooms, Role::Chat, Role::Polls, Role::Recommendations];

/// The scenario's bound: it takes about a minute; past this it is killed.
const SCENARIO_BOUND: Duration = Duration::from_secs(240);

/// The operator's ProviderIngest key in this test.
const INGEST_KEY: &str = "browser-ingest-key";

/// How long catalog sync may take to give pushed channels their rooms.
const CHANNEL_ROOMS_BOUND: Duration = Duration::from_secs(20);

/// Prints straight to the process's stdout, past the test harness's
/// capture: the drift figures and screenshot paths are the point of a
/// passing run too.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ lives in the repository").to_path_buf()
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM_PATH").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// What the scenario needs that a plain `cargo test` checkout may lack.
fn missing_prerequisites(root: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    let web = root.join("clients/web/dist/index.html");
    if !web.is_file() {
        missing.push(format!("{} (run clients/build.sh)", web.display()));
    }
    let playwright = root.join("clients/e2e/node_modules/playwright-core");
    if !playwright.is_dir() {
        missing.push(format!("{} (run clients/build.sh)", playwright.display()));
    }
    if !chromium().is_file() {
        missing.push(format!("Chromium at {}", chromium().display()));
    }
    for tool in ["node", "ffmpeg"] {
        let runs = std::process::Command::new(tool)
            .arg(if tool == "node" { "--version" } else { "-version" })
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !runs {
            missing.push(format!("`{tool}` on PATH"));
        }
    }
    missing
}

/// A loopback port nothing listens on now. The gateway must come back on
/// the same port after a crash, so it cannot take a random one itself.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe socket");
    listener.local_addr().expect("probe address").port()
}

/// The gateway process: the only role the scenario crashes.
struct Gateway {
    port: u16,
    web_root: String,
    process: Option<RolesProcess>,
}

impl Gateway {
    async fn start(&mut self, backend: &TestApp) {
        let (port, web_root, grpc_url) = (self.port, self.web_root.clone(), backend.grpc_url.clone());
        let process = backend
            .spawn_roles_process(env!("CARGO_BIN_EXE_hearth-test-roles"), "gateway", move |config| {
                config.gateway.addr = ([127, 0, 0, 1], port).into();
                config.gateway.web_root = web_root;
                // The harness points the gateway at identity, rooms, chat and polls; the home
                // screen also needs the catalog and recommendations.
                config.services.provider_url = grpc_url.clone();
                config.services.recommendations_url = grpc_url;
            })
            .await;
        assert_eq!(process.addr, format!("127.0.0.1:{port}"), "the gateway listens on its fixed port");
        self.process = Some(process);
    }

    async fn kill(&mut self) {
        let mut process = self.process.take().expect("the gateway is running");
        process.kill().await;
    }
}

/// Signs in as a user at the identity service and sends a chat message
/// through the chat service, bypassing the (dead) gateway; returns the
/// message's sequence.
async fn send_backend(backend: &TestApp, args: &Value) -> Result<u64, String> {
    let field = |name: &str| args[name].as_str().map(str::to_owned).ok_or(format!("`{name}` is required"));
    let login = backend
        .identity()
        .await
        .login(LoginRequest {
            username: field("username")?,
            password: field("password")?,
            client_ip: "127.0.0.1".into(),
        })
        .await
        .map_err(|status| format!("login: {status}"))?
        .into_inner();
    let token = login.tokens.ok_or("login returned no tokens")?.access_token;
    let mut chat =
        ChatServiceClient::connect(backend.grpc_url.clone()).await.map_err(|e| format!("connect to chat: {e}"))?;
    let request = SendMessageRequest {
        room_id: field("roomId")?,
        client_msg_id: field("clientMsgId")?,
        text: field("text")?,
        ..Default::default()
    };
    let reply =
        chat.send_message(authed(request, &token)).await.map_err(|status| format!("send: {status}"))?.into_inner();
    match reply.message.as_ref() {
        Some(message) => Ok(message.sequence),
        None => Err(format!("the message was not posted: {reply:?}")),
    }
}

/// Pushes `{"channels": [{"id", "name"}]}` through ProviderIngest (as an
/// operator's catalog feed would) and waits until catalog sync has given
/// each channel its public CHANNEL room; answers `{"rooms": [{"channelId",
/// "roomId", "title"}]}` in the order given.
async fn seed_catalog(backend: &TestApp, args: &Value) -> Result<Value, String> {
    let mut channels = Vec::new();
    for channel in args["channels"].as_array().ok_or("`channels` must be an array")? {
        let id = channel["id"].as_str().ok_or("each channel needs an `id`")?;
        let name = channel["name"].as_str().ok_or("each channel needs a `name`")?;
        channels.push(Channel {
            channel_id: id.to_owned(),
            names: vec![LocalizedString { language: "en".into(), value: name.to_owned() }],
            ..Default::default()
        });
    }
    let mut ingest = ProviderIngestClient::connect(backend.grpc_url.clone())
        .await
        .map_err(|e| format!("connect to provider ingest: {e}"))?;
    let push = PushCatalogRequest { upserts: channels.clone(), removed_channel_ids: vec![] };
    ingest.push_catalog(authed(push, INGEST_KEY)).await.map_err(|status| format!("push_catalog: {status}"))?;

    // Any signed-in user may list public rooms; this one needs no account.
    let token = backend.token(&uuid::Uuid::now_v7().to_string(), &[]);
    let mut rooms =
        RoomsServiceClient::connect(backend.grpc_url.clone()).await.map_err(|e| format!("connect to rooms: {e}"))?;
    let deadline = tokio::time::Instant::now() + CHANNEL_ROOMS_BOUND;
    let mut found = Vec::new();
    for channel in &channels {
        loop {
            let request = ListPublicRoomsRequest {
                kind: RoomKind::Channel as i32,
                channel_id: channel.channel_id.clone(),
                ..Default::default()
            };
            let listed = rooms
                .list_public_rooms(authed(request, &token))
                .await
                .map_err(|status| format!("list_public_rooms: {status}"))?
                .into_inner();
            if let Some(room) = listed.rooms.into_iter().next() {
                found.push(json!({ "channelId": channel.channel_id, "roomId": room.room_id, "title": room.title }));
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "catalog sync made no channel room for {} within {CHANNEL_ROOMS_BOUND:?}",
                    channel.channel_id
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(json!({ "rooms": found }))
}

/// Serves one `@@<command> <json>` request of the scenario; the answer line.
async fn serve_command(request: &str, backend: &TestApp, gateway: &mut Gateway) -> String {
    let (command, args) = request.split_once(' ').unwrap_or((request, "{}"));
    let Ok(args) = serde_json::from_str::<Value>(args) else {
        return format!("error arguments of {command} are not JSON: {args}");
    };
    match command {
        "kill-gateway" => {
            gateway.kill().await;
            say("[browser] gateway SIGKILLed");
            "ok".into()
        }
        "start-gateway" => {
            gateway.start(backend).await;
            say(&format!("[browser] gateway restarted on port {}", gateway.port));
            "ok".into()
        }
        "send-backend" => match send_backend(backend, &args).await {
            Ok(sequence) => format!("ok {}", json!({ "sequence": sequence })),
            Err(error) => format!("error {error}"),
        },
        "seed-catalog" => match seed_catalog(backend, &args).await {
            Ok(rooms) => {
                say(&format!("[browser] catalog pushed; channel rooms {rooms}"));
                format!("ok {rooms}")
            }
            Err(error) => format!("error {error}"),
        },
        other => format!("error unknown command {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_party_in_chromium() {
    let root = repo_root();
    let missing = missing_prerequisites(&root);
    if !missing.is_empty() {
        let reason = format!("the browser test needs: {}", missing.join("; "));
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{reason} (CI never skips it)");
        say(&format!("SKIPPED: {reason}"));
        return;
    }

    let media = Media::generate().await;
    let media_url = media.serve().await;
    let port = free_port();
    let app_url = format!("http://127.0.0.1:{port}");
    let backend = TestApp::spawn_with(BACKEND_ROLES, |config| {
        config.rooms.allow_http_media_urls = true;
        // The home screen's channels come from a catalog the scenario pushes as an operator would.
        config.provider.ingest_key = Some(SecretString::new(INGEST_KEY));
        // Invite links (`<public_url>/i/<code>`) must point at this gateway.
        config.rooms.public_url = app_url.clone();
    })
    .await;
    let mut gateway = Gateway { port, web_root: root.join("clients/web/dist").display().to_string(), process: None };
    gateway.start(&backend).await;

    let artifacts =
        std::env::var_os("HEARTH_ARTIFACTS").map_or_else(|| root.join("target/browser-artifacts"), PathBuf::from);
    let e2e = root.join("clients/e2e");
    let mut node = tokio::process::Command::new("node");
    node.arg("party.mjs")
        .current_dir(&e2e)
        .env("HEARTH_URL", &app_url)
        .env("HEARTH_VIDEO_URL", format!("{media_url}/{}", media.webm))
        .env("HEARTH_ARTIFACTS", &artifacts)
        .env("HEARTH_CONTROL", "stdio")
        .env("CHROMIUM_PATH", chromium())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(hls) = media.hls {
        node.env("HEARTH_HLS_URL", format!("{media_url}/{hls}"));
    }
    let mut child = node.spawn().expect("start node clients/e2e/party.mjs");
    let mut stdin = child.stdin.take().expect("node's stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("node's stdout")).lines();
    let mut stderr = BufReader::new(child.stderr.take().expect("node's stderr")).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            say(&line);
        }
    });

    let scenario = async {
        while let Some(line) = stdout.next_line().await.expect("read node's stdout") {
            let Some(request) = line.strip_prefix("@@") else {
                say(&line);
                continue;
            };
            let answer = serve_command(request, &backend, &mut gateway).await;
            stdin.write_all(format!("{answer}\n").as_bytes()).await.expect("answer the scenario");
            stdin.flush().await.expect("answer the scenario");
        }
        child.wait().await.expect("wait for node")
    };
    let status = tokio::time::timeout(SCENARIO_BOUND, scenario).await.unwrap_or_else(|_| {
        panic!("the browser scenario did not finish within {SCENARIO_BOUND:?} (node is killed on drop)")
    });
    assert!(
        status.success(),
        "the browser scenario failed ({status}); see its output above and the screenshots in {}",
        artifacts.display()
    );
}
