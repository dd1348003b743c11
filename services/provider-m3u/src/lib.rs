//! `hearth provider-m3u`: a reference implementation of the IptvProvider
//! contract (proto/hearth/provider/v1) over what every IPTV operator
//! already has — an M3U playlist and XMLTV guides — so Hearth can be tried
//! against real line-ups and integrations can be compared with a working
//! one (`hearth provider check`). Viewers and their entitlements come from
//! a small JSON file (see [`users`]); it is a reference, not a provider.
//!
//! Layout: [`catalog`] turns parsed files into the contract's channels and
//! programmes (pure), [`lineup`] keeps the served versions behind sync and
//! page tokens, [`source`] reads files or URLs, [`grpc`] serves the calls.

pub mod catalog;
pub mod grpc;
pub mod lineup;
pub mod source;
pub mod users;

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use hearth_proto::hearth::provider::v1::iptv_provider_server::IptvProviderServer;
use tokio_util::sync::CancellationToken;

pub use source::LoadReport;

/// How the adapter runs (flags of `hearth provider-m3u`).
#[derive(Debug, Clone)]
pub struct AdapterConfig {
    /// The playlist: a file path or an http(s) URL.
    pub playlist: String,
    /// XMLTV guides (plain or gzip): file paths or http(s) URLs.
    pub guides: Vec<String>,
    /// Also fetch the guides the playlist header names.
    pub header_guides: bool,
    /// The users file (JSON, see [`users`]); None: no viewer can sign in.
    pub users: Option<PathBuf>,
    /// Bearer key Hearth must present; None accepts any caller.
    pub api_key: Option<String>,
    /// gRPC listen address.
    pub addr: SocketAddr,
    /// Reload the sources this often; None loads once.
    pub reload: Option<Duration>,
    /// WatchCatalog heartbeat (at most 60 s by the contract).
    pub heartbeat: Duration,
}

/// The adapter could not start.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error(transparent)]
    Source(#[from] source::SourceError),
    #[error(transparent)]
    Users(#[from] users::UsersError),
    #[error("users file {path}: {error}")]
    UsersFile { path: PathBuf, error: std::io::Error },
    #[error(transparent)]
    Grpc(#[from] hearth_platform::grpc::GrpcError),
}

/// A started adapter.
pub struct Running {
    pub addr: SocketAddr,
    pub report: LoadReport,
    pub task: tokio::task::JoinHandle<Result<(), AdapterError>>,
}

/// Loads the sources, binds, and serves until `shutdown` (in a task).
pub async fn start(config: AdapterConfig, shutdown: CancellationToken) -> Result<Running, AdapterError> {
    let users = match &config.users {
        Some(path) => {
            let json =
                std::fs::read_to_string(path).map_err(|error| AdapterError::UsersFile { path: path.clone(), error })?;
            users::Users::parse(&json)?
        }
        None => users::Users::default(),
    };
    let loaded = source::load(&config.playlist, &config.guides, config.header_guides).await?;
    let report = loaded.report.clone();
    log_report(&report);
    let epoch = time::OffsetDateTime::now_utc().unix_timestamp_nanos().unsigned_abs() as u64;
    let lineup = lineup::Lineup::new(epoch, lineup::Snapshot::new(1, loaded.channels, loaded.programmes));
    let provider = grpc::Provider {
        lineup: lineup.clone(),
        users: Arc::new(users),
        api_key: config.api_key.clone(),
        heartbeat: config.heartbeat.min(Duration::from_secs(60)),
    };
    let listener = hearth_platform::grpc::bind(config.addr).await?;
    let addr =
        listener.local_addr().map_err(|source| hearth_platform::grpc::GrpcError::Bind { addr: config.addr, source })?;
    if let Some(every) = config.reload {
        tokio::spawn(reload(config.clone(), lineup, every, shutdown.clone()));
    }
    let mut services = hearth_platform::grpc::GrpcServices::default();
    services.add(IptvProviderServer::new(provider));
    let ready: hearth_platform::grpc::ReadinessCheck = Arc::new(|| Box::pin(async { true }));
    let task = tokio::spawn(async move {
        hearth_platform::grpc::serve(
            listener,
            services,
            ready,
            Duration::from_secs(30),
            Duration::from_secs(5),
            shutdown,
        )
        .await
        .map_err(AdapterError::from)
    });
    Ok(Running { addr, report, task })
}

/// Runs until `shutdown`.
pub async fn run(config: AdapterConfig, shutdown: CancellationToken) -> Result<(), AdapterError> {
    let running = start(config, shutdown).await?;
    tracing::info!(addr = %running.addr, "provider-m3u serving IptvProvider");
    running.task.await.unwrap_or(Ok(()))
}

fn log_report(report: &LoadReport) {
    tracing::info!(
        entries = report.entries,
        channels = report.channels,
        playlist_issues = report.playlist_issues,
        guide_channels = report.guide_channels,
        guide_programmes = report.guide_programmes,
        guide_issues = report.guide_issues,
        matched_by_id = report.matched_by_id,
        matched_by_tvg_name = report.matched_by_tvg_name,
        matched_by_name = report.matched_by_name,
        programmes = report.programmes,
        "line-up loaded"
    );
    for issue in &report.sample_issues {
        tracing::warn!("{issue}");
    }
}

/// Reloads the sources periodically; publishes a new version when the
/// line-up or guide changed.
async fn reload(config: AdapterConfig, lineup: lineup::Lineup, every: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        match source::load(&config.playlist, &config.guides, config.header_guides).await {
            Ok(loaded) => {
                let current = lineup.current();
                let candidate = lineup::Snapshot::new(0, loaded.channels.clone(), Default::default());
                let (changed, removed) = candidate.changes_since(&current);
                if !changed.is_empty() || !removed.is_empty() || current.programmes != loaded.programmes {
                    let version = lineup.publish(loaded.channels, loaded.programmes);
                    tracing::info!(version, upserted = changed.len(), removed = removed.len(), "line-up changed");
                }
            }
            Err(error) => tracing::warn!(%error, "reload failed; serving the previous line-up"),
        }
    }
}
