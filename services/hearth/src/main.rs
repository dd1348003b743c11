//! `hearth`: one binary, many roles (like Grafana Mimir and Loki).
//!
//! - `hearth serve --roles all` runs every role in one process;
//!   `--roles gateway` or `--roles rooms` runs one role per pod.
//! - `hearth migrate` applies every owned schema's migrations.
//! - `hearth dev` checks the local services, migrates and runs everything.
//! - `hearth provider-m3u` serves the IptvProvider contract from an M3U
//!   playlist and XMLTV guides (the reference adapter).
//! - `hearth provider check` runs the contract's conformance kit against
//!   any IptvProvider endpoint.
//! - `hearth recs eval` runs the recommendation models' offline evaluation.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use hearth::{App, Role, roles};
use hearth_platform::{Config, shutdown, telemetry};
use serde::Serialize;

/// glibc's allocator fragments and contends under many small, short-lived
/// allocations across threads (protobuf, JSON, HTTP/2 frames); mimalloc
/// does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "hearth", version, about = "Hearth: the social layer for IPTV platforms")]
struct Cli {
    /// TOML configuration file (defaults < file < HEARTH_* environment < flags).
    #[arg(long, global = true, env = "HEARTH_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a set of roles until SIGTERM/SIGINT.
    Serve {
        /// `all`, or a comma-separated list of gateway, identity, rooms, chat.
        #[arg(long, default_value = "all")]
        roles: String,
        /// Run migrations before serving.
        #[arg(long)]
        migrate: bool,
        #[command(flatten)]
        flags: Flags,
    },
    /// Applies every owned schema's migrations and exits.
    Migrate,
    /// Local first run: checks Postgres/Redis/NATS, migrates, runs all roles.
    Dev {
        #[command(flatten)]
        flags: Flags,
    },
    /// The reference IPTV provider: IptvProvider from an M3U playlist and
    /// XMLTV guides, until SIGTERM/SIGINT.
    #[command(name = "provider-m3u")]
    ProviderM3u(ProviderM3uArgs),
    /// Tools for provider integrations.
    Provider {
        #[command(subcommand)]
        command: ProviderCommand,
    },
    /// Tools for the recommendation models.
    Recs {
        #[command(subcommand)]
        command: RecsCommand,
    },
}

#[derive(Subcommand)]
enum RecsCommand {
    /// Offline evaluation (protocol A: random 80/20 split by interaction,
    /// full ranking) of popularity, ItemKNN and EASE; prints
    /// Precision/Recall/NDCG@10 averaged over the seeds.
    Eval {
        /// The public data set to evaluate on.
        #[arg(long, value_enum)]
        dataset: RecsDataset,
        /// Split seeds, comma-separated; figures are averaged over them.
        #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
        seeds: Vec<u64>,
        /// Keep only the N users with the lowest ids (quick runs).
        #[arg(long)]
        max_users: Option<usize>,
        /// The data file; fetched into $HEARTH_DATA_CACHE (default
        /// /var/tmp/hearth-data) when omitted.
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RecsDataset {
    /// MovieLens-100k (RecBole's ml-100k.inter).
    #[value(name = "movielens-100k")]
    Movielens100k,
}

#[derive(clap::Args)]
struct ProviderM3uArgs {
    /// The M3U playlist: a file or an http(s) URL.
    #[arg(long)]
    playlist: String,
    /// An XMLTV guide (plain or gzip), file or http(s) URL; repeatable.
    #[arg(long = "epg")]
    epg: Vec<String>,
    /// Also fetch the guides the playlist header names (x-tvg-url, url-tvg).
    #[arg(long)]
    header_epg: bool,
    /// Viewers and their packages (JSON; see docs/provider-integration.md).
    #[arg(long)]
    users: Option<PathBuf>,
    /// Bearer key Hearth must present (env HEARTH_PROVIDER_API_KEY).
    #[arg(long, env = "HEARTH_PROVIDER_API_KEY")]
    api_key: Option<String>,
    /// gRPC listen address.
    #[arg(long, default_value = "127.0.0.1:50070")]
    listen: SocketAddr,
    /// Reload the sources this often (e.g. 15m); once when unset.
    #[arg(long, value_parser = humantime::parse_duration)]
    reload: Option<Duration>,
    /// WatchCatalog heartbeat (at most 60 s).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30s")]
    heartbeat: Duration,
}

#[derive(Subcommand)]
enum ProviderCommand {
    /// Checks an IptvProvider implementation against the contract and
    /// prints a pass/fail report; exits 1 when it is not conformant.
    Check {
        /// The implementation's gRPC endpoint.
        #[arg(long)]
        endpoint: String,
        /// The provider API key Hearth would present (env HEARTH_PROVIDER_API_KEY).
        #[arg(long, env = "HEARTH_PROVIDER_API_KEY")]
        api_key: Option<String>,
        /// A valid viewer session token, to check sign-in and entitlements.
        #[arg(long)]
        user_token: Option<String>,
        /// How long to wait for WatchCatalog's first message.
        #[arg(long, value_parser = humantime::parse_duration, default_value = "65s")]
        watch_wait: Duration,
    },
}

/// Flags that override configuration keys.
#[derive(clap::Args, Serialize, Default)]
struct Flags {
    /// gateway.addr: HTTP and WebSocket listen address.
    #[arg(long = "gateway-addr")]
    #[serde(skip)]
    gateway_addr: Option<SocketAddr>,
    /// grpc.addr: gRPC listen address shared by co-hosted roles.
    #[arg(long = "grpc-addr")]
    #[serde(skip)]
    grpc_addr: Option<SocketAddr>,
}

/// The flags as a configuration overlay.
#[derive(Serialize)]
struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    gateway: Option<AddrOverride>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grpc: Option<AddrOverride>,
}

#[derive(Serialize)]
struct AddrOverride {
    addr: SocketAddr,
}

impl Flags {
    fn overrides(&self) -> Overrides {
        Overrides {
            gateway: self.gateway_addr.map(|addr| AddrOverride { addr }),
            grpc: self.grpc_addr.map(|addr| AddrOverride { addr }),
        }
    }
}

fn load(cli_config: Option<&std::path::Path>, flags: &Flags) -> anyhow::Result<Config> {
    Ok(Config::load(cli_config, flags.overrides())?)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { roles, migrate, flags } => {
                let roles = roles::parse(&roles)?;
                let config = load(cli.config.as_deref(), &flags)?;
                serve(config, &roles, migrate, false).await
            }
            Command::Migrate => {
                let config = load(cli.config.as_deref(), &Flags::default())?;
                let telemetry = telemetry::init(&config.telemetry, "hearth-migrate")?;
                let result = hearth::migrate(&config).await;
                telemetry.shutdown();
                result?;
                println!("migrations applied");
                Ok(())
            }
            Command::Dev { flags } => {
                let config = load(cli.config.as_deref(), &flags)?;
                check_local_services(&config).await?;
                serve(config, Role::ALL, true, true).await
            }
            Command::ProviderM3u(args) => provider_m3u(cli.config.as_deref(), args).await,
            Command::Provider { command: ProviderCommand::Check { endpoint, api_key, user_token, watch_wait } } => {
                let config = hearth_provider_check::CheckConfig {
                    endpoint,
                    api_key,
                    user_token,
                    watch_wait,
                    timeout: Duration::from_secs(10),
                };
                let report = hearth_provider_check::check(config).await;
                print!("{report}");
                if !report.passed() {
                    std::process::exit(1);
                }
                Ok(())
            }
            // CPU-bound and synchronous; nothing else runs on the runtime.
            Command::Recs { command } => recs(command),
        }
    })
}

/// `hearth recs ...`: the table goes to stdout, progress to stderr, and any
/// failure (no data, no network) exits non-zero.
fn recs(command: RecsCommand) -> anyhow::Result<()> {
    match command {
        RecsCommand::Eval { dataset: RecsDataset::Movielens100k, seeds, max_users, data } => {
            let options = hearth_recs_algorithms::eval::EvalOptions { seeds, max_users, ..Default::default() };
            hearth_recs_algorithms::eval::print_movielens_100k(data.as_deref(), &options)
                .context("recs eval on MovieLens-100k")?;
            Ok(())
        }
    }
}

async fn serve(config: Config, roles: &[Role], migrate: bool, announce: bool) -> anyhow::Result<()> {
    let name = format!("hearth-{}", roles.iter().map(|r| r.name()).collect::<Vec<_>>().join("-"));
    let telemetry = telemetry::init(&config.telemetry, &name)?;
    if migrate {
        hearth::migrate(&config).await.context("running migrations")?;
    }
    let shutdown = shutdown::on_signal();
    let web_root = config.gateway.web_root.clone();
    let app = App::start(config, roles, shutdown).await?;
    tracing::info!(roles = ?roles, grpc = ?app.grpc_addr, gateway = ?app.gateway_addr, "hearth started");
    if announce {
        if let Some(addr) = app.gateway_addr {
            let port = addr.port();
            println!();
            println!("Hearth is running.");
            if !web_root.is_empty() {
                println!("  Web app      http://127.0.0.1:{port}/");
            }
            println!("  HTTP API     http://127.0.0.1:{port}/v1/auth/register");
            println!("  WebSocket    ws://127.0.0.1:{port}/v1/ws");
            println!("  Health       http://127.0.0.1:{port}/readyz");
            println!("  JWKS         http://127.0.0.1:{port}/.well-known/jwks.json");
        }
        if let Some(addr) = app.grpc_addr {
            println!(
                "  gRPC         127.0.0.1:{} (reflection on: grpcurl -plaintext 127.0.0.1:{} list)",
                addr.port(),
                addr.port()
            );
        }
        println!("Stop with Ctrl-C.");
    }
    let result = app.wait().await;
    telemetry.shutdown();
    Ok(result?)
}

/// Runs the reference adapter until SIGTERM/SIGINT.
async fn provider_m3u(config: Option<&std::path::Path>, args: ProviderM3uArgs) -> anyhow::Result<()> {
    let config = load(config, &Flags::default())?;
    let telemetry = telemetry::init(&config.telemetry, "hearth-provider-m3u")?;
    let adapter = hearth_provider_m3u::AdapterConfig {
        playlist: args.playlist,
        guides: args.epg,
        header_guides: args.header_epg,
        users: args.users,
        api_key: args.api_key,
        addr: args.listen,
        reload: args.reload,
        heartbeat: args.heartbeat,
    };
    let shutdown = shutdown::on_signal();
    let running = hearth_provider_m3u::start(adapter, shutdown).await?;
    let r = &running.report;
    println!(
        "provider-m3u serving IptvProvider on {}: {} channels ({} playlist entries, {} issues), \
         {} programmes for {} channels from {} guide programmes ({} guide issues)",
        running.addr,
        r.channels,
        r.entries,
        r.playlist_issues,
        r.programmes,
        r.channels_with_guide,
        r.guide_programmes,
        r.guide_issues
    );
    let result = running.task.await.unwrap_or(Ok(()));
    telemetry.shutdown();
    Ok(result?)
}

/// Names each local dependency that does not answer, and how to start it.
async fn check_local_services(config: &Config) -> anyhow::Result<()> {
    let checks = [
        ("PostgreSQL", config.database.url.expose(), 5432),
        ("Redis", config.redis.url.expose(), 6379),
        ("NATS", config.nats.url.expose(), 4222),
    ];
    let mut missing = Vec::new();
    for (name, url, default_port) in checks {
        let target = host_port(url, default_port);
        let reachable = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(&target))
            .await
            .is_ok_and(|r| r.is_ok());
        if !reachable {
            missing.push(format!("{name} is not listening on {target}"));
        }
    }
    if !missing.is_empty() {
        bail!(
            "{}.\nStart the local services with `deploy/local-services.sh` (installs them from Debian's packages if needed), then run `hearth dev` again.",
            missing.join("; ")
        );
    }
    Ok(())
}

/// `host:port` of a service URL (first server when comma-separated).
fn host_port(url: &str, default_port: u16) -> String {
    let rest = url.split(',').next().unwrap_or(url);
    let rest = rest.split_once("://").map(|(_, r)| r).unwrap_or(rest);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    if host_port.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    }
}
