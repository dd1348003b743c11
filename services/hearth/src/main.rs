//! `hearth`: one binary, many roles (like Grafana Mimir and Loki).
//!
//! - `hearth serve --roles all` runs every role in one process;
//!   `--roles gateway` or `--roles rooms` runs one role per pod.
//! - `hearth migrate` applies every owned schema's migrations.
//! - `hearth dev` checks the local services, migrates and runs everything.

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
        }
    })
}

async fn serve(config: Config, roles: &[Role], migrate: bool, announce: bool) -> anyhow::Result<()> {
    let name = format!("hearth-{}", roles.iter().map(|r| r.name()).collect::<Vec<_>>().join("-"));
    let telemetry = telemetry::init(&config.telemetry, &name)?;
    if migrate {
        hearth::migrate(&config).await.context("running migrations")?;
    }
    let shutdown = shutdown::on_signal();
    let app = App::start(config, roles, shutdown).await?;
    tracing::info!(roles = ?roles, grpc = ?app.grpc_addr, gateway = ?app.gateway_addr, "hearth started");
    if announce {
        if let Some(addr) = app.gateway_addr {
            let port = addr.port();
            println!();
            println!("Hearth is running.");
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
