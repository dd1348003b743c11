//! Hearth roles in their own OS process, for tests that need a pod they
//! can SIGKILL (a second gateway, a polls replica). Reads the whole
//! configuration as JSON from `HEARTH_TEST_CONFIG` and the roles from
//! `HEARTH_TEST_ROLES` (default `gateway`), serves them on random ports,
//! prints `READY <addr>` (the gateway's address, else the gRPC listener's)
//! and runs until killed or until its stdin closes.

use std::io::{BufRead, Write};

use anyhow::{Context, Result};
use hearth::{App, Role};
use tokio_util::sync::CancellationToken;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    let json = std::env::var("HEARTH_TEST_CONFIG").context("HEARTH_TEST_CONFIG holds the configuration")?;
    let config: hearth_platform::Config = serde_json::from_str(&json).context("HEARTH_TEST_CONFIG is a Config")?;
    let roles = std::env::var("HEARTH_TEST_ROLES").unwrap_or_else(|_| "gateway".into());
    let roles: Vec<Role> = hearth::roles::parse(&roles)?;
    let shutdown = CancellationToken::new();
    let app = App::start(config, &roles, shutdown.clone()).await?;
    let addr = app.gateway_addr.or(app.grpc_addr).context("the roles are listening")?;
    println!("READY {addr}");
    std::io::stdout().flush()?;
    // The parent holds our stdin: when it goes away, so do we.
    let stop = shutdown.clone();
    std::thread::spawn(move || {
        for _ in std::io::stdin().lock().lines() {}
        stop.cancel();
    });
    app.wait().await?;
    Ok(())
}
