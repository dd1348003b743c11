//! A gateway in its own OS process, for tests that need a second gateway
//! pod they can SIGKILL. Reads the whole configuration as JSON from
//! `HEARTH_TEST_CONFIG`, serves the gateway role on a random port, prints
//! `READY <addr>` and runs until killed or until its stdin closes.

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
    let shutdown = CancellationToken::new();
    let app = App::start(config, &[Role::Gateway], shutdown.clone()).await?;
    let addr = app.gateway_addr.context("the gateway is listening")?;
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
