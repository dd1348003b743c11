//! Hearth's benchmarks for synchronized watch parties and chat.
//!
//! - `bench sync`: spread of player positions across a watch party, with
//!   simulated clocks, network and players around the real server.
//! - `bench join-storm`: thousands of clients joining one room; join latency
//!   and server memory per connection next to a bare WebSocket server.
//! - `bench chat`: chat fan-out to thousands of clients over two gateways;
//!   deliveries/s, latency, gateway CPU per delivery and memory per
//!   connection next to a bare tokio + axum broadcaster.
//! - `bench polls`: thousands of distinct voters into one poll at once;
//!   votes/s, vote latency and exact final tallies, batched vote writer
//!   next to one write per vote.
//! - `bench recs`: recommendation lists under an open-loop load; p50/p99
//!   next to a gRPC health check at the same rate.
//! - `bench soak`: steady load (viewers, chat, polls, churn) for minutes;
//!   each server's memory and file descriptors from start to end, errors.
//!
//! All need the same local Postgres, Redis and NATS as the integration
//! tests (tests/harness).

mod bare;
mod chat;
mod model;
mod polls;
mod proc;
mod recs;
mod soak;
mod storm;
mod sync;
mod voters;
mod wire;

/// glibc's allocator fragments and contends under many small, short-lived
/// allocations across threads (protobuf, JSON, HTTP/2 frames); mimalloc
/// does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "bench", about = "Hearth watch-party and chat benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Playback spread of N simulated clients in one watch party.
    Sync(sync::SyncArgs),
    /// N clients joining one channel room: latency and server memory.
    JoinStorm(storm::StormArgs),
    /// Child process of join-storm: Hearth until stdin closes.
    #[command(hide = true)]
    Serve(storm::ServeArgs),
    /// Child process of join-storm: a bare WebSocket server until stdin closes.
    #[command(hide = true)]
    ServeMinimal,
    /// Chat fan-out: one room over two gateways at several message rates.
    Chat(chat::ChatArgs),
    /// Voting storm: N distinct voters into one poll at once.
    Polls(polls::PollsArgs),
    /// Recommendation latency at a fixed request rate.
    Recs(recs::RecsArgs),
    /// Steady load for minutes: memory, file descriptors and errors over time.
    Soak(soak::SoakArgs),
    /// Child process of polls: a share of the voters, voting when told.
    #[command(hide = true)]
    PollsVoters(voters::VotersArgs),
    /// Child process of chat: identity, rooms and chat until stdin closes.
    #[command(hide = true)]
    ServeBackend,
    /// Child process of chat: one gateway until stdin closes.
    #[command(hide = true)]
    ServeGateway,
    /// Child process of chat: the bare axum broadcaster until stdin closes.
    #[command(hide = true)]
    ServeBare,
}

fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    // A voters child runs on one thread: its clients only wait on sockets,
    // and a second worker would only add wake-ups across threads on a
    // machine whose cores the servers need.
    let mut runtime = match cli.command {
        Command::PollsVoters(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    runtime.enable_all().build()?.block_on(run(cli))
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let ok = match cli.command {
        Command::Sync(args) => sync::run(args).await?,
        Command::JoinStorm(args) => storm::run(args).await?,
        Command::Serve(args) => {
            storm::serve(args).await?;
            true
        }
        Command::ServeMinimal => {
            storm::serve_minimal().await?;
            true
        }
        Command::Chat(args) => chat::run(args).await?,
        Command::Polls(args) => polls::run(args).await?,
        Command::Recs(args) => recs::run(args).await?,
        Command::Soak(args) => soak::run(args).await?,
        Command::PollsVoters(args) => {
            voters::serve(args).await?;
            true
        }
        Command::ServeBackend => {
            chat::serve_backend().await?;
            true
        }
        Command::ServeGateway => {
            chat::serve_gateway().await?;
            true
        }
        Command::ServeBare => {
            bare::serve().await?;
            true
        }
    };
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
