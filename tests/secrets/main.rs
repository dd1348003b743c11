//! Secrets never reach the logs. Every log event and span field of the
//! process is captured (TRACE for Hearth's crates, INFO and up for the
//! rest, as an operator turning on debug logs would see them) while a
//! scenario handles every kind of secret: a password (register, login), a
//! refresh token (refresh), an access token (WebSocket auth, HTTP bearer),
//! a provider token (provider sign-in), the provider API and ingest keys,
//! the signing key, and database, Redis and NATS URLs holding passwords.
//! Then no secret may appear anywhere in the capture. (Its own binary: the
//! subscriber is process-global.)

use std::{
    fmt::Write as _,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use hearth::Role;
use hearth_platform::secret::{SecretString, SecretUrl};
use hearth_provider_m3u::{AdapterConfig, start};
use hearth_tests::{TestApp, test_config, username};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tracing::{
    Event, Metadata, Subscriber,
    field::{Field, Visit},
    span::{Attributes, Id, Record},
};

/// Writes every field of an event or span as `name=value`.
struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

/// A subscriber that keeps every line in memory.
struct Capture {
    lines: Arc<Mutex<Vec<String>>>,
    next_id: AtomicU64,
}

impl Capture {
    fn push(&self, line: String) {
        self.lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(line);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("hearth") || *metadata.level() <= tracing::Level::INFO
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut line = format!("span {} {}", span.metadata().target(), span.metadata().name());
        span.record(&mut Fields(&mut line));
        self.push(line);
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut line = "record".to_owned();
        values.record(&mut Fields(&mut line));
        self.push(line);
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = format!("{} {}", event.metadata().level(), event.metadata().target());
        event.record(&mut Fields(&mut line));
        self.push(line);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// `url` with `user:password` as its credentials (the local services run
/// without authentication and accept any: Postgres trusts loopback, NATS
/// has no users, Redis' default user has no password).
fn with_password(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}:{password}@{host}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_logs() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    tracing::subscriber::set_global_default(Capture { lines: lines.clone(), next_id: AtomicU64::new(1) })
        .expect("the only subscriber of this process");

    let tag = uuid::Uuid::now_v7().simple().to_string();
    let db_password = format!("pg-secret-{tag}");
    let redis_password = format!("redis-secret-{tag}");
    let nats_password = format!("nats-secret-{tag}");
    let api_key = format!("provider-api-key-{tag}");
    let ingest_key = format!("ingest-key-{tag}");
    let password = format!("user password {tag}");
    let provider_token = format!("provider-token-{tag}");

    // A provider whose one viewer signs in with `provider_token`.
    let shutdown = CancellationToken::new();
    let dir = std::env::temp_dir().join(format!("hearth-secrets-{tag}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let playlist = dir.join("playlist.m3u");
    std::fs::write(&playlist, "#EXTM3U\n#EXTINF:-1,Hearth News\nhttp://example.test/news.m3u8\n").expect("playlist");
    let users = dir.join("users.json");
    let viewers = json!({"users": [{"token": provider_token, "id": "op-sec", "name": "Sec"}]});
    std::fs::write(&users, viewers.to_string()).expect("users");
    let adapter = start(
        AdapterConfig {
            playlist: playlist.display().to_string(),
            guides: Vec::new(),
            header_guides: false,
            users: Some(users),
            api_key: Some(api_key.clone()),
            addr: "127.0.0.1:0".parse().expect("addr"),
            reload: None,
            heartbeat: Duration::from_secs(30),
        },
        shutdown.clone(),
    )
    .await
    .expect("start the reference provider");

    let (mut config, database) = test_config();
    config.database.url = SecretUrl::new(with_password(config.database.url.expose(), "postgres", &db_password));
    config.redis.url = SecretUrl::new(with_password(config.redis.url.expose(), "default", &redis_password));
    config.nats.url = SecretUrl::new(with_password(config.nats.url.expose(), "hearth", &nats_password));
    config.provider.url = Some(format!("http://{}", adapter.addr));
    config.provider.api_key = Some(SecretString::new(api_key.clone()));
    config.provider.ingest_key = Some(SecretString::new(ingest_key.clone()));
    let signing_key = config.auth.signing_key.as_ref().map(|k| k.expose().to_owned()).expect("a signing key");
    // The PEM's base64 body (its armour lines are not secret).
    let signing_key_body: String = signing_key.lines().filter(|l| !l.starts_with("-----")).collect();
    // As a startup line printing the configuration would: Debug redacts.
    tracing::info!(config = ?config, "test configuration");
    let app = TestApp::start(config, database, Role::ALL).await;

    // Password: register and log in (and a wrong one).
    let name = username("sec");
    let (status, registered) =
        app.post("/v1/auth/register", json!({"username": name, "password": password}), None).await;
    assert_eq!(status, 201, "{registered}");
    let (status, _) = app.post("/v1/auth/login", json!({"username": name, "password": "wrong password"}), None).await;
    assert_eq!(status, 401);
    let (status, logged_in) = app.post("/v1/auth/login", json!({"username": name, "password": password}), None).await;
    assert_eq!(status, 200, "{logged_in}");
    // Refresh tokens: a good refresh, then the reuse of the rotated one.
    let first_refresh = registered["refresh_token"].as_str().expect("a refresh token").to_owned();
    let (status, refreshed) = app.post("/v1/auth/refresh", json!({"refresh_token": first_refresh}), None).await;
    assert_eq!(status, 200, "{refreshed}");
    let (status, _) = app.post("/v1/auth/refresh", json!({"refresh_token": first_refresh}), None).await;
    assert_eq!(status, 401, "reuse is refused (and logged as a warning)");
    // Access tokens: WebSocket auth, a room, a message; an HTTP bearer.
    let access = logged_in["access_token"].as_str().expect("an access token").to_owned();
    let mut ws = app.ws().await;
    assert!(ws.auth(&access).await.get("connected").is_some());
    let room = ws
        .call(json!({"createRoom": {"kind": "ROOM_KIND_WATCH_PARTY", "title": "Secrets", "media": {"assetId": "m"}}}))
        .await;
    let room_id = room["createRoom"]["room"]["roomId"].as_str().unwrap_or_default().to_owned();
    ws.call(json!({"enterRoom": {"roomId": room_id}})).await;
    ws.call(json!({"sendMessage": {"roomId": room_id, "clientMsgId": tag, "text": "hello"}})).await;
    let mut bad_ws = app.ws().await;
    let refused = bad_ws.auth(&format!("{access}x")).await;
    assert_eq!(refused["error"]["code"], "unauthenticated", "{refused}");
    // Provider token: a sign-in, and a refused guess.
    let (status, body) = app.post("/v1/auth/provider", json!({"provider_token": provider_token}), None).await;
    assert_eq!(status, 201, "{body}");
    let (status, _) =
        app.post("/v1/auth/provider", json!({"provider_token": format!("{provider_token}x")}), None).await;
    assert_eq!(status, 401);
    let other_access = refreshed["access_token"].as_str().expect("an access token").to_owned();
    let (status, _) = app.post("/v1/auth/logout", json!({}), Some(&other_access)).await;
    assert_eq!(status, 204);
    drop(ws);
    app.stop();
    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let captured = lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner).join("\n");
    // Not vacuous: the capture saw the requests, the Hearth crates and
    // the configuration line with its URLs (passwords as `***`) and keys.
    let expected = ["/v1/auth/register", "/v1/auth/refresh", "hearth_identity", "hearth_gateway", "account registered"];
    for expected in expected.into_iter().chain(["hearth:***@", "[redacted]"]) {
        assert!(captured.contains(expected), "the capture holds `{expected}`");
    }
    let secrets = [
        ("database password", db_password.as_str()),
        ("redis password", redis_password.as_str()),
        ("nats password", nats_password.as_str()),
        ("provider api key", api_key.as_str()),
        ("ingest key", ingest_key.as_str()),
        ("user password", password.as_str()),
        ("provider token", provider_token.as_str()),
        ("access token", access.as_str()),
        ("refreshed access token", other_access.as_str()),
        ("refresh token", first_refresh.as_str()),
        ("rotated refresh token", refreshed["refresh_token"].as_str().unwrap_or("-")),
        ("signing key", signing_key_body.as_str()),
    ];
    let leaked: Vec<String> = secrets
        .iter()
        .filter_map(|(what, secret)| {
            captured.lines().find(|line| line.contains(secret)).map(|line| format!("{what} in: {line}"))
        })
        .collect();
    println!("captured {} log lines", captured.lines().count());
    assert!(leaked.is_empty(), "secrets in the logs:\n{}", leaked.join("\n"));
}
