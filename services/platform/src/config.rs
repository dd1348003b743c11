//! Configuration: defaults < TOML file (`--config`) < environment
//! (`HEARTH_…`, nested with `__`) < command-line flags.
//!
//! Every key is documented in docs/configuration.md. Secrets (database
//! passwords, signing keys) are wrapped so they never reach logs or `Debug`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

use crate::secret::{SecretString, SecretUrl};

/// The whole configuration of one `hearth` process, whatever roles it runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub gateway: GatewayConfig,
    pub grpc: GrpcConfig,
    pub database: DatabaseConfig,
    pub redis: RedisConfig,
    pub nats: NatsConfig,
    pub auth: AuthConfig,
    pub identity: IdentityConfig,
    pub rooms: RoomsConfig,
    pub chat: ChatConfig,
    pub polls: PollsConfig,
    pub recommendations: RecommendationsConfig,
    pub services: ServicesConfig,
    pub provider: ProviderConfig,
    pub telemetry: TelemetryConfig,
    pub shutdown: ShutdownConfig,
}

/// HTTP and WebSocket front door.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Listen address for HTTP and WebSocket.
    pub addr: SocketAddr,
    /// Largest accepted WebSocket frame or message, in bytes.
    pub max_frame_bytes: usize,
    /// Inbound frames allowed per connection per second (sustained).
    pub frames_per_second: u32,
    /// Burst of inbound frames allowed above the sustained rate.
    pub frame_burst: u32,
    /// Time a new WebSocket has to authenticate.
    #[serde(with = "humantime_serde")]
    pub auth_timeout: Duration,
    /// Connections silent for this long are closed.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Interval at which clients should ping (told to them in `connected`).
    #[serde(with = "humantime_serde")]
    pub heartbeat_interval: Duration,
    /// Bad frames tolerated per connection before it is closed with 1008.
    pub max_bad_frames: u32,
    /// Largest HTTP request body, in bytes.
    pub max_body_bytes: usize,
    /// Bytes a connection may have queued for sending before it is closed
    /// as a slow consumer (close code 4008).
    pub max_outbound_bytes: usize,
    /// Header carrying the client address when behind a trusted proxy
    /// (e.g. "x-forwarded-for"; its last entry is used). Unset: peer address.
    pub client_ip_header: Option<String>,
    /// How often the gateway renews the presence leases of its connections
    /// (must be well below `rooms.presence_ttl`).
    #[serde(with = "humantime_serde")]
    pub presence_heartbeat: Duration,
    /// Rooms one connection may be in at once.
    pub max_rooms_per_connection: usize,
    /// Name of this gateway instance in presence leases (default: host name
    /// and a random suffix).
    pub instance_id: Option<String>,
    /// Live-counter deliveries (poll tallies, prediction totals, upvotes,
    /// quiz top 10) per second per room on this gateway: a counter's
    /// updates are spaced `local members / budget` apart (at most 2 s), so
    /// a large room's counters cost a bounded number of writes. 0: every
    /// update is delivered.
    pub live_counter_budget: u32,
    /// Directory of the built reference web app (`clients/web/dist`),
    /// served at `/` with every unknown non-API path answered by its
    /// `index.html`. Empty: no web app, only the API.
    pub web_root: String,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            addr: ([0, 0, 0, 0], 8080).into(),
            max_frame_bytes: 64 * 1024,
            frames_per_second: 20,
            frame_burst: 40,
            auth_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(90),
            heartbeat_interval: Duration::from_secs(25),
            max_bad_frames: 10,
            max_body_bytes: 64 * 1024,
            max_outbound_bytes: 1024 * 1024,
            client_ip_header: None,
            presence_heartbeat: Duration::from_secs(10),
            max_rooms_per_connection: 10,
            instance_id: None,
            live_counter_budget: 10_000,
            web_root: String::new(),
        }
    }
}

/// The process's gRPC listener, shared by every co-hosted service role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpcConfig {
    pub addr: SocketAddr,
    /// Deadline for one request when the client sets none.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self { addr: ([0, 0, 0, 0], 50051).into(), request_timeout: Duration::from_secs(10) }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: SecretUrl,
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before UNAVAILABLE.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: SecretUrl::new("postgres://postgres@127.0.0.1:5432/hearth"),
            max_connections: 20,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// Single-node (or sentinel-fronted) Redis.
    pub url: SecretUrl,
    /// Redis Cluster seed nodes; when non-empty, `url` is ignored.
    pub cluster_urls: Vec<SecretUrl>,
    /// Prepended to every key, so several deployments (or tests) share one Redis.
    pub key_prefix: String,
    #[serde(with = "humantime_serde")]
    pub response_timeout: Duration,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: SecretUrl::new("redis://127.0.0.1:6379"),
            cluster_urls: Vec::new(),
            key_prefix: "hearth:".into(),
            response_timeout: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsConfig {
    /// One or more comma-separated server URLs.
    pub url: SecretUrl,
    /// First token of every subject and of JetStream stream names, so several
    /// deployments (or tests) share one NATS.
    pub subject_prefix: String,
    /// Path to a NATS `.creds` file, if the server requires one.
    pub credentials_file: Option<PathBuf>,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            url: SecretUrl::new("nats://127.0.0.1:4222"),
            subject_prefix: "hearth".into(),
            credentials_file: None,
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// Access tokens: who signs them (identity) and what every service accepts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    pub issuer: String,
    pub audience: String,
    #[serde(with = "humantime_serde")]
    pub access_token_ttl: Duration,
    #[serde(with = "humantime_serde")]
    pub refresh_token_ttl: Duration,
    /// The active signing key: PKCS#8 PEM of an Ed25519 private key.
    /// Needed by the identity role only.
    pub signing_key: Option<SecretString>,
    /// `kid` of the signing key.
    pub signing_key_id: Option<String>,
    /// Additional public keys still accepted (key rotation), each
    /// `{ kid, public_key }` with an SPKI PEM Ed25519 public key.
    pub verification_keys: Vec<VerificationKeyConfig>,
    /// Where a development key is created when no signing key is configured.
    /// Every process on one machine shares it.
    pub dev_key_path: PathBuf,
    /// Tolerated clock skew when checking `exp` and `iat`.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "hearth".into(),
            audience: "hearth".into(),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            signing_key: None,
            signing_key_id: None,
            verification_keys: Vec::new(),
            dev_key_path: PathBuf::from(".hearth/dev-signing-key.pem"),
            leeway: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationKeyConfig {
    pub kid: String,
    pub public_key: String,
}

/// Identity-role settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// Failed logins allowed per username within `login_window`.
    pub login_attempts_per_user: u32,
    /// Failed logins allowed per client IP within `login_window`.
    pub login_attempts_per_ip: u32,
    #[serde(with = "humantime_serde")]
    pub login_window: Duration,
    /// Registrations allowed per client IP per hour.
    pub registrations_per_ip_per_hour: u32,
    /// Failed token refreshes allowed per client IP within `login_window`.
    pub refresh_attempts_per_ip: u32,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            login_attempts_per_user: 10,
            login_attempts_per_ip: 50,
            login_window: Duration::from_secs(15 * 60),
            registrations_per_ip_per_hour: 30,
            refresh_attempts_per_ip: 50,
        }
    }
}

/// Rooms-role settings: capacities, presence and group playback defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoomsConfig {
    /// Public base URL of the gateway, used in invite links
    /// (`<public_url>/i/<code>`).
    pub public_url: String,
    /// Default capacity of a watch party.
    pub watch_party_capacity: u32,
    /// Largest capacity a watch party may be given.
    pub watch_party_max_capacity: u32,
    /// Capacity of community rooms (0: unbounded).
    pub community_capacity: u32,
    /// Rooms one user may own at once.
    pub max_owned_rooms: u32,
    /// Life of a presence lease; a dead gateway's users go offline within it.
    #[serde(with = "humantime_serde")]
    pub presence_ttl: Duration,
    /// How often each rooms replica sweeps expired leases and overdue waits.
    #[serde(with = "humantime_serde")]
    pub sweep_interval: Duration,
    /// Default time the group waits for a member to become ready.
    #[serde(with = "humantime_serde")]
    pub ready_timeout: Duration,
    /// Smallest delay of a scheduled start (the delay is at least twice the
    /// highest member round trip).
    #[serde(with = "humantime_serde")]
    pub min_start_delay: Duration,
    /// Default distance behind the live edge for live channels.
    #[serde(with = "humantime_serde")]
    pub live_target_latency: Duration,
    /// Whether watch parties may play direct `http://` stream URLs (https
    /// is always allowed).
    pub allow_http_media_urls: bool,
    /// Which guide programmes get a programme room from catalog sync:
    /// `none`, `featured` (live or premiere) or `all`.
    pub programme_rooms: ProgrammeRooms,
    /// How long before its programme starts a programme room opens.
    #[serde(with = "humantime_serde")]
    pub programme_room_lead: Duration,
    /// How long after its programme ends a programme room is archived.
    #[serde(with = "humantime_serde")]
    pub programme_room_linger: Duration,
    /// How far ahead of now catalog sync creates programme rooms.
    #[serde(with = "humantime_serde")]
    pub programme_room_horizon: Duration,
}

/// Which guide programmes get a programme room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgrammeRooms {
    /// No programme rooms.
    None,
    /// Live broadcasts and premieres (sports, news, first showings).
    Featured,
    /// Every programme of the guide.
    All,
}

impl Default for RoomsConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            watch_party_capacity: 100,
            watch_party_max_capacity: 1000,
            community_capacity: 0,
            max_owned_rooms: 100,
            presence_ttl: Duration::from_secs(30),
            sweep_interval: Duration::from_millis(250),
            ready_timeout: Duration::from_secs(5),
            min_start_delay: Duration::from_millis(500),
            live_target_latency: Duration::from_secs(6),
            allow_http_media_urls: false,
            programme_rooms: ProgrammeRooms::Featured,
            programme_room_lead: Duration::from_secs(30 * 60),
            programme_room_linger: Duration::from_secs(2 * 3600),
            programme_room_horizon: Duration::from_secs(24 * 3600),
        }
    }
}

/// Chat-role settings: message limits, send rates, the resume window and
/// live reactions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    /// Longest message in Unicode characters (rooms may set less).
    pub max_message_length: u32,
    /// Most newlines in one message.
    pub max_newlines: u32,
    /// Messages a member or guest may send per `rate_window`.
    pub member_messages_per_window: u32,
    /// Messages a moderator may send per `rate_window`.
    pub moderator_messages_per_window: u32,
    #[serde(with = "humantime_serde")]
    pub rate_window: Duration,
    /// Sequenced events kept per room in the Redis recent window.
    pub recent_window: u32,
    /// Resume returns at most this many missed events; beyond it the
    /// client is told it is too far behind and reloads history.
    pub resume_max_events: u32,
    /// Resume covers at most this much time.
    #[serde(with = "humantime_serde")]
    pub resume_max_age: Duration,
    /// Live-reaction aggregation window.
    #[serde(with = "humantime_serde")]
    pub live_reaction_window: Duration,
    /// Live-reaction taps counted per user per second; more are dropped.
    pub live_reactions_per_user_per_second: u32,
    /// Typing indicators are broadcast only in rooms with at most this many
    /// users online.
    pub typing_max_online: u64,
    /// Shield mode's preset: slow mode.
    #[serde(with = "humantime_serde")]
    pub shield_slow_mode: Duration,
    /// Shield mode's preset: minimum membership age to send.
    #[serde(with = "humantime_serde")]
    pub shield_followers_min_age: Duration,
    /// How often each chat replica checks the outbox for events that were
    /// not published right after their commit (a crash in between).
    #[serde(with = "humantime_serde")]
    pub outbox_interval: Duration,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            max_message_length: 500,
            max_newlines: 10,
            member_messages_per_window: 20,
            moderator_messages_per_window: 100,
            rate_window: Duration::from_secs(30),
            recent_window: 1000,
            resume_max_events: 1000,
            resume_max_age: Duration::from_secs(24 * 3600),
            live_reaction_window: Duration::from_millis(250),
            live_reactions_per_user_per_second: 10,
            typing_max_online: 100,
            shield_slow_mode: Duration::from_secs(30),
            shield_followers_min_age: Duration::from_secs(600),
            outbox_interval: Duration::from_millis(500),
        }
    }
}

/// Polls-role settings: live-tally pacing, vote batching, timers and the
/// virtual-points rules of predictions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PollsConfig {
    /// Live tallies, pool totals and upvote counts are broadcast at most
    /// this often per item (coalesced across replicas).
    #[serde(with = "humantime_serde")]
    pub tally_interval: Duration,
    /// Votes wait at most this long to be written together.
    #[serde(with = "humantime_serde")]
    pub vote_batch_delay: Duration,
    /// Most votes written in one statement.
    pub vote_batch_max: usize,
    /// How often each replica looks for due timers (deadlines, scheduled
    /// opens, question windows, prediction locks and refunds).
    #[serde(with = "humantime_serde")]
    pub timer_interval: Duration,
    /// Points a member receives the first time they take part in a room.
    pub welcome_points: i64,
    /// Points for each full `watch_period` online in a room.
    pub watch_points: i64,
    #[serde(with = "humantime_serde")]
    pub watch_period: Duration,
    /// Points per poll voted in.
    pub poll_vote_points: i64,
    /// Points per quiz question answered.
    pub quiz_answer_points: i64,
    /// Points per published Q&A question.
    pub qna_question_points: i64,
    /// Questions one user may ask in one room per `qna_ask_window`
    /// (sliding), so a few viewers cannot flood a show's Q&A.
    pub qna_ask_limit: u32,
    #[serde(with = "humantime_serde")]
    pub qna_ask_window: Duration,
    /// Participation earnings per user, room and UTC day, at most.
    pub daily_earn_cap: i64,
}

impl Default for PollsConfig {
    fn default() -> Self {
        Self {
            tally_interval: Duration::from_millis(250),
            vote_batch_delay: Duration::from_millis(2),
            vote_batch_max: 512,
            timer_interval: Duration::from_millis(200),
            welcome_points: 250,
            watch_points: 10,
            watch_period: Duration::from_secs(300),
            poll_vote_points: 25,
            quiz_answer_points: 10,
            qna_question_points: 25,
            qna_ask_limit: 3,
            qna_ask_window: Duration::from_secs(5 * 60),
            daily_earn_cap: 2000,
        }
    }
}

/// The operator's IPTV platform (its IptvProvider endpoint), which signs
/// viewers in (identity's ExchangeProviderToken).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderConfig {
    /// gRPC endpoint of the operator's IptvProvider (e.g.
    /// `http://provider:50070`); unset: no provider sign-in.
    pub url: Option<String>,
    /// Bearer key presented to the provider.
    pub api_key: Option<SecretString>,
    /// Deadline of each call to the provider.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Bearer key the operator presents to ProviderIngest; unset: the
    /// ingest API refuses every call.
    pub ingest_key: Option<SecretString>,
    /// Resends of a viewing event id within this window are answered as
    /// duplicates and stored once (JetStream duplicate window).
    #[serde(with = "humantime_serde")]
    pub viewing_dedupe_window: Duration,
    /// How often catalog sync lists channel changes when the provider does
    /// not stream them (WatchCatalog UNIMPLEMENTED or failing).
    #[serde(with = "humantime_serde")]
    pub sync_interval: Duration,
    /// How often the guide is fetched again.
    #[serde(with = "humantime_serde")]
    pub guide_refresh: Duration,
    /// Guide kept before now (catch-up, "what was on").
    #[serde(with = "humantime_serde")]
    pub guide_past: Duration,
    /// Guide fetched ahead of now (at most 21 days).
    #[serde(with = "humantime_serde")]
    pub guide_horizon: Duration,
    /// How often the guide clock looks for programmes starting or ending.
    #[serde(with = "humantime_serde")]
    pub now_tick: Duration,
    /// Longest time an entitlement answer is cached, whatever the provider
    /// allows.
    #[serde(with = "humantime_serde")]
    pub entitlement_cache_max: Duration,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        Self {
            url: None,
            api_key: None,
            request_timeout: Duration::from_secs(5),
            ingest_key: None,
            viewing_dedupe_window: Duration::from_secs(30 * 60),
            sync_interval: Duration::from_secs(60),
            guide_refresh: Duration::from_secs(15 * 60),
            guide_past: Duration::from_secs(6 * 3600),
            guide_horizon: Duration::from_secs(48 * 3600),
            now_tick: Duration::from_secs(5),
            entitlement_cache_max: Duration::from_secs(300),
        }
    }
}

/// Recommendations-role settings: how fast taste and trends fade, and
/// how the model is recomputed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecommendationsConfig {
    /// A viewer's interest in an item halves every this long.
    #[serde(with = "humantime_serde")]
    pub affinity_half_life: Duration,
    /// Trending scores halve every this long (at least 5 minutes).
    #[serde(with = "humantime_serde")]
    pub trending_half_life: Duration,
    /// How often the leader recomputes because-you-watched.
    #[serde(with = "humantime_serde")]
    pub recompute_interval: Duration,
    /// Users active within this window train the model.
    #[serde(with = "humantime_serde")]
    pub model_window: Duration,
    /// Most items the model covers (EASE is cubic in items).
    pub model_max_items: u32,
    /// EASE's L2 regularisation λ.
    pub ease_lambda: f64,
    /// Threads a refit may use (0: every core). One leaves the other cores
    /// to requests while the model refits.
    pub model_threads: u32,
    /// Length of each precomputed list.
    pub top_n: u32,
    /// Most followed users considered for friends-watching.
    pub max_friends: u32,
    /// Shares one user may send per hour.
    pub shares_per_hour: u32,
    /// How long applied event ids are kept to drop redeliveries. Redelivery
    /// happens within the consumers' ack wait unless a replica dies with a
    /// batch committed but not acknowledged and none comes back for longer
    /// than this; at viewing rates of thousands per second, days of ids
    /// would be billions of rows.
    #[serde(with = "humantime_serde")]
    pub seen_retention: Duration,
}

impl Default for RecommendationsConfig {
    fn default() -> Self {
        Self {
            affinity_half_life: Duration::from_secs(30 * 86_400),
            trending_half_life: Duration::from_secs(3600),
            recompute_interval: Duration::from_secs(600),
            model_window: Duration::from_secs(90 * 86_400),
            model_max_items: 20_000,
            ease_lambda: 500.0,
            model_threads: 1,
            top_n: 100,
            max_friends: 1000,
            shares_per_hour: 20,
            seen_retention: Duration::from_secs(6 * 3600),
        }
    }
}

/// Where the gRPC services are, for roles that call them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServicesConfig {
    pub identity_url: String,
    pub rooms_url: String,
    pub chat_url: String,
    pub polls_url: String,
    /// The recommendations role (RecommendationsService), for gateways.
    pub recommendations_url: String,
    /// The provider role (CatalogService: channels, guide, entitlements).
    /// Empty: no catalog, so no now/next in rooms and no entitlement checks.
    pub provider_url: String,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

impl Default for ServicesConfig {
    fn default() -> Self {
        Self {
            identity_url: "http://127.0.0.1:50051".into(),
            rooms_url: "http://127.0.0.1:50051".into(),
            chat_url: "http://127.0.0.1:50051".into(),
            polls_url: "http://127.0.0.1:50051".into(),
            recommendations_url: "http://127.0.0.1:50051".into(),
            provider_url: "http://127.0.0.1:50051".into(),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// `tracing` filter directives (RUST_LOG syntax); `RUST_LOG` wins when set.
    pub log_filter: String,
    /// Log lines as JSON instead of human-readable text.
    pub json_logs: bool,
    /// OTLP/gRPC endpoint; `OTEL_EXPORTER_OTLP_ENDPOINT` wins when set.
    /// Unset: no export.
    pub otlp_endpoint: Option<String>,
    /// Overrides `service.name` (default: `hearth-<roles>`); `OTEL_SERVICE_NAME` wins.
    pub service_name: Option<String>,
    /// How often the process probes Postgres, Redis and NATS for the
    /// dependency metrics; zero turns probing off.
    #[serde(with = "humantime_serde")]
    pub probe_interval: Duration,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_filter: "info".into(),
            json_logs: false,
            otlp_endpoint: None,
            service_name: None,
            probe_interval: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Time in-flight requests get to finish after SIGTERM.
    #[serde(with = "humantime_serde")]
    pub grace_period: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self { grace_period: Duration::from_secs(20) }
    }
}

/// Configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

impl Config {
    /// Loads defaults, then the TOML file (if any), then `HEARTH_*`
    /// environment variables, then `overrides` (command-line flags).
    pub fn load(file: Option<&std::path::Path>, overrides: impl Serialize) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            // Only nested keys (`HEARTH_SECTION__KEY`): other HEARTH_* variables
            // (HEARTH_CONFIG, tool settings) are not configuration keys.
            .merge(Env::prefixed("HEARTH_").filter(|key| key.as_str().contains("__")).split("__"))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| ConfigError(Box::new(e)))
    }
}
