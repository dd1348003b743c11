//! The integration-test harness (zero-to-production's `spawn_app`): starts
//! real Hearth roles in-process on random ports, through the same code as
//! the `hearth` binary, against the real Postgres, Redis and NATS.
//!
//! Every test gets its own database, Redis key prefix, NATS subject prefix
//! and signing key, so tests run in parallel and leftovers of earlier runs
//! change nothing.

pub mod otlp;

use std::{collections::VecDeque, time::Duration};

use futures::{SinkExt, StreamExt};
use hearth::{App, Role};
use hearth_platform::{
    Config, auth,
    secret::{SecretString, SecretUrl},
};
use hearth_proto::identity::identity_service_client::IdentityServiceClient;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use tokio_tungstenite::tungstenite;

/// A gRPC request carrying `token` as its bearer credential.
pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("ascii"));
    request
}

/// Polls `probe` every 200 ms until it yields a value; panics after 30 s
/// naming `what` (state that settles asynchronously: consumers, sweepers).
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The reference provider adapter (`hearth provider-m3u`) on a random
/// loopback port, serving `playlist` (M3U text) to the viewers of
/// `users_json` (docs/provider-integration.md), with API key
/// `provider-key`; it stops with `shutdown`.
pub async fn reference_provider(
    playlist: &str,
    users_json: &str,
    shutdown: &CancellationToken,
) -> hearth_provider_m3u::Running {
    let dir = std::env::temp_dir().join(format!("hearth-reference-provider-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("a directory for the provider's files");
    let playlist_path = dir.join("playlist.m3u");
    std::fs::write(&playlist_path, playlist).expect("write the playlist");
    let users = dir.join("users.json");
    std::fs::write(&users, users_json).expect("write the viewers");
    let config = hearth_provider_m3u::AdapterConfig {
        playlist: playlist_path.display().to_string(),
        guides: Vec::new(),
        header_guides: false,
        users: Some(users),
        api_key: Some("provider-key".into()),
        addr: ([127, 0, 0, 1], 0).into(),
        reload: None,
        heartbeat: Duration::from_secs(30),
    };
    hearth_provider_m3u::start(config, shutdown.clone()).await.expect("start the reference provider")
}

/// Base URLs of the real services (override with the usual HEARTH_* vars).
fn base_url(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// A running Hearth for one test.
pub struct TestApp {
    pub config: Config,
    /// `http://127.0.0.1:<port>` of the gateway.
    pub http_url: String,
    /// `ws://127.0.0.1:<port>/v1/ws`.
    pub ws_url: String,
    /// `http://127.0.0.1:<port>` of the gRPC listener.
    pub grpc_url: String,
    pub http: reqwest::Client,
    /// PKCS#8 PEM of this app's signing key (to forge test tokens).
    pub signing_key_pem: String,
    pub database: String,
    shutdown: CancellationToken,
    /// Whether dropping this app drops the database (not for extra gateways).
    owns_database: bool,
}

/// A fresh, isolated configuration on random ports.
pub fn test_config() -> (Config, String) {
    let id = Uuid::now_v7().simple().to_string();
    let database = format!("hearth_test_{id}");
    let pg = base_url("HEARTH_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432");
    let mut config = Config::default();
    config.database.url = SecretUrl::new(format!("{pg}/{database}"));
    config.database.max_connections = 5;
    config.redis.url = SecretUrl::new(base_url("HEARTH_REDIS__URL", "redis://127.0.0.1:6379"));
    config.redis.key_prefix = format!("test:{id}:");
    config.nats.url = SecretUrl::new(base_url("HEARTH_NATS__URL", "nats://127.0.0.1:4222"));
    config.nats.subject_prefix = format!("t{id}");
    // No catalog unless the provider role runs here (App::start points
    // the URL at it): tests of other roles need no provider.
    config.services.provider_url = String::new();
    config.gateway.addr = ([127, 0, 0, 1], 0).into();
    config.grpc.addr = ([127, 0, 0, 1], 0).into();
    config.shutdown.grace_period = Duration::from_secs(2);
    let pem = auth::generate_signing_key_pem().expect("generate a signing key");
    config.auth.signing_key = Some(SecretString::new(pem));
    config.auth.signing_key_id = Some(format!("test-{id}"));
    (config, database)
}

impl TestApp {
    /// Every role in one process.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Role::ALL, |_| {}).await
    }

    /// The given roles, after `tweak` adjusts the configuration.
    pub async fn spawn_with(roles: &[Role], tweak: impl FnOnce(&mut Config)) -> TestApp {
        let (mut config, database) = test_config();
        tweak(&mut config);
        Self::start(config, database, roles).await
    }

    /// Starts roles on an existing configuration (e.g. a second gateway).
    pub async fn start(config: Config, database: String, roles: &[Role]) -> TestApp {
        hearth::migrate(&config).await.expect("migrate the test database");
        let shutdown = CancellationToken::new();
        let app = App::start(config.clone(), roles, shutdown.clone()).await.expect("start hearth");
        let http_addr = app.gateway_addr;
        let grpc_addr = app.grpc_addr;
        tokio::spawn(async move {
            if let Err(error) = app.wait().await {
                eprintln!("test app stopped with an error: {error}");
            }
        });
        let signing_key_pem = config.auth.signing_key.as_ref().map(|k| k.expose().to_owned()).unwrap_or_default();
        TestApp {
            http_url: http_addr.map(|a| format!("http://{a}")).unwrap_or_default(),
            ws_url: http_addr.map(|a| format!("ws://{a}/v1/ws")).unwrap_or_default(),
            grpc_url: grpc_addr.map(|a| format!("http://{a}")).unwrap_or_default(),
            http: reqwest::Client::new(),
            signing_key_pem,
            config,
            database,
            shutdown,
            owns_database: true,
        }
    }

    /// More roles of the same deployment in this process (a second chat
    /// replica, a second gateway): same database, Redis prefix and NATS
    /// prefix; the first app cleans up.
    pub async fn start_shared(config: Config, roles: &[Role]) -> TestApp {
        let database = String::new();
        let mut app = Self::start(config, database, roles).await;
        app.owns_database = false;
        app
    }

    /// A second gateway pod: the gateway role in its own OS process
    /// (`binary` is `env!("CARGO_BIN_EXE_hearth-test-roles")`), serving
    /// the same deployment. `kill` SIGKILLs it: no cleanup code runs.
    pub async fn spawn_gateway_process(&self, binary: &str) -> GatewayProcess {
        let process = self.spawn_roles_process(binary, "gateway", |_| {}).await;
        GatewayProcess { ws_url: format!("ws://{}/v1/ws", process.addr), child: process.child }
    }

    /// Roles of the same deployment in their own OS process (a polls
    /// replica to SIGKILL); `tweak` adjusts its configuration.
    pub async fn spawn_roles_process(
        &self,
        binary: &str,
        roles: &str,
        tweak: impl FnOnce(&mut Config),
    ) -> RolesProcess {
        use tokio::io::AsyncBufReadExt;
        let mut config = self.config.clone();
        config.gateway.addr = ([127, 0, 0, 1], 0).into();
        config.grpc.addr = ([127, 0, 0, 1], 0).into();
        config.services.identity_url = self.grpc_url.clone();
        config.services.rooms_url = self.grpc_url.clone();
        config.services.chat_url = self.grpc_url.clone();
        config.services.polls_url = self.grpc_url.clone();
        config.telemetry.log_filter = "warn".into();
        tweak(&mut config);
        let json = serde_json::to_string(&config).expect("config serialises");
        let mut child = tokio::process::Command::new(binary)
            .env("HEARTH_TEST_CONFIG", json)
            .env("HEARTH_TEST_ROLES", roles)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the roles process");
        let stdout = child.stdout.take().expect("child stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the roles process starts within 30 s")
            .expect("read the process's stdout")
            .expect("the process prints READY");
        let addr = ready.strip_prefix("READY ").expect("READY <addr>").to_owned();
        RolesProcess { addr, child }
    }

    /// An access token for any user id, signed with this app's key (no
    /// account needed: services trust the token).
    pub fn token(&self, user_id: &str, roles: &[&str]) -> String {
        let keys = auth::TokenKeys::from_config(&self.config.auth).expect("token keys");
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        keys.issue(user_id, &Uuid::now_v7().to_string(), &roles).expect("issue a token")
    }

    /// A connected, authenticated WebSocket for a fresh user id.
    pub async fn user_ws(&self, url: &str, roles: &[&str]) -> (String, Ws) {
        let user = Uuid::now_v7().to_string();
        let mut ws = self.ws_at(url).await;
        let connected = ws.auth(&self.token(&user, roles)).await;
        assert!(connected.get("connected").is_some(), "auth failed: {connected}");
        (user, ws)
    }

    /// Stops the roles (as SIGTERM would).
    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    /// A gRPC client of the identity service, straight to the listener.
    pub async fn identity(&self) -> IdentityServiceClient<tonic::transport::Channel> {
        IdentityServiceClient::connect(self.grpc_url.clone()).await.expect("connect to identity")
    }

    /// POSTs JSON to the gateway; returns status and body.
    pub async fn post(&self, path: &str, body: Value, bearer: Option<&str>) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.http_url)).json(&body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("gateway answers");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Registers a fresh user over HTTP; returns (user_id, access, refresh).
    pub async fn register(&self, username: &str) -> Registered {
        let (status, body) =
            self.post("/v1/auth/register", json!({"username": username, "password": PASSWORD}), None).await;
        assert_eq!(status, 201, "register {username}: {body}");
        Registered {
            user_id: body["user_id"].as_str().unwrap_or_default().to_owned(),
            access_token: body["access_token"].as_str().unwrap_or_default().to_owned(),
            refresh_token: body["refresh_token"].as_str().unwrap_or_default().to_owned(),
        }
    }

    /// Opens a WebSocket to the gateway.
    pub async fn ws(&self) -> Ws {
        self.ws_at(&self.ws_url).await
    }

    /// Opens a WebSocket to a given URL (e.g. with `?access_token=`).
    pub async fn ws_at(&self, url: &str) -> Ws {
        let (stream, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
        Ws { stream, pending: VecDeque::new(), next_ref: 0 }
    }
}

/// A gateway running as a separate OS process.
pub struct GatewayProcess {
    pub ws_url: String,
    child: tokio::process::Child,
}

/// Roles running in a child process.
pub struct RolesProcess {
    /// `host:port` of the gateway, or of the gRPC listener without one.
    pub addr: String,
    child: tokio::process::Child,
}

impl RolesProcess {
    /// SIGKILLs the process, as a crashed pod.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("kill the roles process");
    }
}

impl GatewayProcess {
    /// SIGKILLs the process, as a crashed pod: its sockets close, its
    /// presence leases stay behind until they expire.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("kill the gateway process");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if !self.owns_database {
            return;
        }
        let url = self.config.database.url.expose().to_owned();
        let database = self.database.clone();
        let nats_url = self.config.nats.url.expose().to_owned();
        let redis_url = self.config.redis.url.expose().to_owned();
        let redis_prefix = self.config.redis.key_prefix.clone();
        // Streams are named after the subject prefix (see Nats::stream_name).
        let stream_prefix: String = self
            .config
            .nats
            .subject_prefix
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
            .collect();
        // Drop the test database from a helper thread: Drop cannot await.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                use sqlx::ConnectOptions;
                let Ok(options) = url.parse::<sqlx::postgres::PgConnectOptions>() else { return };
                if let Ok(mut conn) = options.database("postgres").connect().await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await;
                }
                // So do this test's Redis keys…
                if let Ok(client) = redis::Client::open(redis_url)
                    && let Ok(mut conn) = client.get_multiplexed_async_connection().await
                {
                    let pattern = format!("{redis_prefix}*");
                    let keys: Vec<String> =
                        redis::cmd("KEYS").arg(&pattern).query_async(&mut conn).await.unwrap_or_default();
                    for chunk in keys.chunks(500) {
                        let _ = redis::cmd("DEL").arg(chunk).query_async::<()>(&mut conn).await;
                    }
                }
                // …and the JetStream streams of its subject prefix.
                if let Ok(client) = async_nats::connect(nats_url).await {
                    let jetstream = async_nats::jetstream::new(client);
                    let mut names = jetstream.stream_names();
                    let mut mine = Vec::new();
                    while let Some(Ok(name)) = names.next().await {
                        if name.starts_with(&format!("{stream_prefix}_")) {
                            mine.push(name);
                        }
                    }
                    for name in mine {
                        let _ = jetstream.delete_stream(&name).await;
                    }
                }
            });
        })
        .join();
    }
}

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery";

pub struct Registered {
    pub user_id: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// A unique username (tests share nothing, not even names).
pub fn username(stem: &str) -> String {
    let suffix = Uuid::now_v7().simple().to_string();
    format!("{stem}_{}", &suffix[suffix.len() - 10..])
}

/// A test WebSocket client speaking the JSON protocol.
pub struct Ws {
    pub stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    /// Frames read while waiting for a reply, in arrival order.
    pending: VecDeque<Value>,
    next_ref: u64,
}

/// What a test read from a WebSocket.
#[derive(Debug)]
pub enum Received {
    Frame(Value),
    Binary(Vec<u8>),
    Closed(Option<u16>),
}

impl Ws {
    pub async fn send_json(&mut self, frame: Value) {
        self.stream.send(Message::Text(frame.to_string().into())).await.expect("send frame");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.stream.send(Message::Text(text.to_owned().into())).await.expect("send text");
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.stream.send(Message::Binary(bytes.into())).await.expect("send binary");
    }

    /// The next data frame or the close, within 10 s.
    pub async fn recv(&mut self) -> Received {
        loop {
            let next =
                tokio::time::timeout(Duration::from_secs(10), self.stream.next()).await.expect("a frame within 10 s");
            match next {
                Some(Ok(Message::Text(text))) => {
                    return Received::Frame(serde_json::from_str(text.as_str()).expect("server frames are JSON"));
                }
                Some(Ok(Message::Binary(bytes))) => return Received::Binary(bytes.to_vec()),
                Some(Ok(Message::Close(frame))) => return Received::Closed(frame.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Received::Closed(None),
            }
        }
    }

    /// The next JSON frame; panics on a close.
    pub async fn frame(&mut self) -> Value {
        match self.recv().await {
            Received::Frame(value) => value,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// Reads until the close; returns its code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            if let Received::Closed(code) = self.recv().await {
                return code;
            }
        }
    }

    /// Sends a request frame (`{"<kind>": {...}}`) with a fresh ref and
    /// returns its reply (the frame with that ref); pushed frames read
    /// meanwhile are kept for `event`.
    pub async fn call(&mut self, mut frame: Value) -> Value {
        self.next_ref += 1;
        let reference = format!("r{}", self.next_ref);
        frame["ref"] = json!(reference);
        self.send_json(frame).await;
        loop {
            let value = self.frame().await;
            if value.get("ref").and_then(Value::as_str) == Some(reference.as_str()) {
                return value;
            }
            // The gateway's frame rate limit answers before reading the ref:
            // this request gets no reply of its own, so say so now rather
            // than time out waiting for one.
            let unreferenced = value.get("ref").and_then(Value::as_str).unwrap_or_default().is_empty();
            assert!(
                !(unreferenced && value["error"]["code"] == "rate_limited"),
                "the gateway's frame rate limit refused a frame while waiting for {reference}: {value}"
            );
            self.pending.push_back(value);
        }
    }

    /// The next pushed frame (pending first), within 10 s.
    pub async fn event(&mut self) -> Value {
        match self.pending.pop_front() {
            Some(value) => value,
            None => self.frame().await,
        }
    }

    /// The next pushed frame satisfying `want` (others stay pending);
    /// panics after `within`.
    pub async fn event_where(&mut self, within: Duration, want: impl Fn(&Value) -> bool) -> Value {
        if let Some(at) = self.pending.iter().position(&want) {
            return self.pending.remove(at).unwrap_or_default();
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let next = tokio::time::timeout(left, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("no matching frame within {within:?}"));
            if let Some(Ok(Message::Text(text))) = next {
                let value: Value = serde_json::from_str(text.as_str()).expect("server frames are JSON");
                if want(&value) {
                    return value;
                }
                self.pending.push_back(value);
            } else if !matches!(next, Some(Ok(_))) {
                panic!("connection closed while waiting for a frame");
            }
        }
    }

    /// Pushed frames already received or arriving within `quiet`.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut out: Vec<Value> = self.pending.drain(..).collect();
        while let Ok(Some(Ok(message))) = tokio::time::timeout(quiet, self.stream.next()).await {
            if let Message::Text(text) = message {
                out.push(serde_json::from_str(text.as_str()).expect("server frames are JSON"));
            }
        }
        out
    }

    /// Pushed frames already received or arriving within the next `window`
    /// (a fixed window, however busy the connection is).
    pub async fn frames_within(&mut self, window: Duration) -> Vec<Value> {
        let mut out: Vec<Value> = self.pending.drain(..).collect();
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, self.stream.next()).await {
            if let Message::Text(text) = message {
                out.push(serde_json::from_str(text.as_str()).expect("server frames are JSON"));
            }
        }
        out
    }

    /// Authenticates with an auth frame; returns the `connected` frame.
    pub async fn auth(&mut self, token: &str) -> Value {
        self.send_json(json!({"ref": "auth", "auth": {"accessToken": token}})).await;
        self.frame().await
    }
}
