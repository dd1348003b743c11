//! `bench polls-voters`: a child process of `bench polls` holding a share
//! of the voters. A process may hold at most 20,000 open files here (a hard
//! limit), so 20,000 voters take more than one client process, just as
//! they take more than one gateway.
//!
//! Lines on the child's standard output: `JOINED {"ok":…,"failed":{…}}`
//! once its voters are in the room, then `CAST {"latencies":[…],
//! "refused":{…}}` after each round. Lines on its standard input:
//! `GO <round> <poll_id>` starts a round; end of file ends the child.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use anyhow::{Context, Result, anyhow, bail};
use futures::{SinkExt, StreamExt};
use hearth_platform::{auth::TokenKeys, config::AuthConfig};
use hearth_proto::hearth::{
    gateway::v1::{ServerFrame, client_frame, server_frame},
    polls::v1::CastVoteRequest,
};
use prost::Message as _;
use serde::{Deserialize, Serialize};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout, Command},
    sync::{Semaphore, mpsc, watch},
    time::Instant,
};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::{
    proc::raise_nofile_limit,
    storm::{self, Encoding, Socket},
    wire,
};

/// The signing configuration voters' tokens are issued with (JSON).
const AUTH_ENV: &str = "BENCH_POLLS_AUTH";

#[derive(clap::Args, Debug)]
pub struct VotersArgs {
    /// The gateway's WebSocket URL (protobuf encoding).
    #[arg(long)]
    pub url: String,
    /// The room every voter enters.
    #[arg(long)]
    pub room: String,
    /// Index of this process's first voter (voter i votes o1 or o2 by parity).
    #[arg(long)]
    pub first: usize,
    /// Voters in this process.
    #[arg(long)]
    pub count: usize,
    /// Connections being set up at once.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
}

/// How a process's voters joined.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Joined {
    pub ok: usize,
    pub failed: BTreeMap<String, usize>,
}

/// What a process's voters saw in one round.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Casts {
    /// Seconds from send to reply, of accepted votes.
    pub latencies: Vec<f64>,
    /// Refused votes by error code.
    pub refused: BTreeMap<String, u64>,
}

/// One voter's answer in one round.
struct Cast {
    latency: f64,
    refused: Option<String>,
}

/// A voter: votes when told, reports, and keeps reading pushed events
/// (live tallies) so the gateway never sees a slow consumer.
async fn voter(
    index: usize,
    mut socket: Socket,
    mut go: watch::Receiver<Option<(usize, String)>>,
    done: mpsc::UnboundedSender<Cast>,
) {
    loop {
        tokio::select! {
            changed = go.changed() => {
                if changed.is_err() {
                    let _ = socket.close(None).await;
                    return;
                }
                let Some((round, poll)) = go.borrow_and_update().clone() else { continue };
                let reference = format!("v{round}");
                let option = if (index + round).is_multiple_of(2) { "o1" } else { "o2" };
                let vote = CastVoteRequest { poll_id: poll, option_ids: vec![option.into()] };
                let frame = wire::frame(reference.clone(), client_frame::Kind::CastVote(vote));
                let sent = Instant::now();
                if socket.send(Message::Binary(frame.encode_to_vec().into())).await.is_err() {
                    let _ = done.send(Cast { latency: f64::NAN, refused: Some("send failed".into()) });
                    return;
                }
                let refused = loop {
                    match socket.next().await {
                        Some(Ok(Message::Binary(bytes))) => {
                            let Ok(frame) = ServerFrame::decode(bytes.as_ref()) else { continue };
                            if frame.r#ref != reference { continue }
                            break match frame.kind {
                                Some(server_frame::Kind::CastVote(_)) => None,
                                Some(server_frame::Kind::Error(e)) => Some(e.code),
                                _ => Some("unexpected reply".into()),
                            };
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(_)) | None => break Some("connection lost".into()),
                    }
                };
                let _ = done.send(Cast { latency: sent.elapsed().as_secs_f64(), refused });
            }
            message = socket.next() => match message {
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
        }
    }
}

/// Joins `args.count` voters; returns how many joined.
async fn join_voters(
    args: &VotersArgs,
    keys: Arc<TokenKeys>,
    go: &watch::Receiver<Option<(usize, String)>>,
    done: &mpsc::UnboundedSender<Cast>,
) -> Joined {
    let semaphore = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let (joined_tx, mut joined_rx) = mpsc::unbounded_channel::<std::result::Result<(), String>>();
    let mode = storm::Mode::Hearth { room_id: Some(args.room.clone()) };
    for index in args.first..args.first + args.count {
        let (url, mode, keys, semaphore, go, done, joined) = (
            args.url.clone(),
            mode.clone(),
            keys.clone(),
            semaphore.clone(),
            go.clone(),
            done.clone(),
            joined_tx.clone(),
        );
        tokio::spawn(async move {
            let Ok(permit) = semaphore.acquire_owned().await else { return };
            let token = match keys.issue(&Uuid::now_v7().to_string(), &Uuid::now_v7().to_string(), &[]) {
                Ok(token) => token,
                Err(error) => {
                    let _ = joined.send(Err(format!("token: {error}")));
                    return;
                }
            };
            let socket =
                tokio::time::timeout(Duration::from_secs(60), storm::join(&url, &mode, &token, Encoding::Protobuf))
                    .await;
            drop(permit);
            match socket {
                Ok(Ok(socket)) => {
                    let _ = joined.send(Ok(()));
                    drop(joined);
                    voter(index, socket, go, done).await;
                }
                Ok(Err(code)) => {
                    let _ = joined.send(Err(code));
                }
                Err(_) => {
                    let _ = joined.send(Err("join timeout".into()));
                }
            }
        });
    }
    drop(joined_tx);
    let mut joined = Joined::default();
    while joined.ok + joined.failed.values().sum::<usize>() < args.count {
        match joined_rx.recv().await {
            Some(Ok(())) => joined.ok += 1,
            Some(Err(code)) => *joined.failed.entry(code).or_insert(0) += 1,
            None => break,
        }
    }
    joined
}

/// The child: joins, then votes each round it is told to.
pub async fn serve(args: VotersArgs) -> Result<()> {
    raise_nofile_limit(args.count as u64 + 256);
    let auth: AuthConfig = serde_json::from_str(
        &std::env::var(AUTH_ENV).with_context(|| format!("{AUTH_ENV} must hold the auth config"))?,
    )?;
    let keys = Arc::new(TokenKeys::from_config(&auth)?);
    let (go_tx, go) = watch::channel(None::<(usize, String)>);
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let joined = join_voters(&args, keys, &go, &done_tx).await;
    drop((go, done_tx));
    println!("JOINED {}", serde_json::to_string(&joined)?);
    // Standard input is read on a thread (tokio's stdin is not in the
    // workspace's features); each line is a command.
    let (line_tx, mut commands) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = commands.recv().await {
        let mut words = line.split_whitespace();
        let (Some("GO"), Some(round), Some(poll)) = (words.next(), words.next(), words.next()) else {
            bail!("unknown command {line:?}");
        };
        go_tx.send(Some((round.parse()?, poll.to_owned()))).map_err(|_| anyhow!("voters gone"))?;
        let mut casts = Casts::default();
        let mut answered = 0;
        while answered < joined.ok {
            match tokio::time::timeout(Duration::from_secs(60), done.recv()).await {
                Ok(Some(cast)) => {
                    answered += 1;
                    match cast.refused {
                        Some(code) => *casts.refused.entry(code).or_insert(0) += 1,
                        None => casts.latencies.push(cast.latency),
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    *casts.refused.entry("no reply in 60 s".into()).or_insert(0) += (joined.ok - answered) as u64;
                    break;
                }
            }
        }
        println!("CAST {}", serde_json::to_string(&casts)?);
    }
    Ok(())
}

/// The parent's handle on one `bench polls-voters` child.
pub(crate) struct VoterProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Lines<BufReader<ChildStdout>>,
}

impl VoterProcess {
    pub(crate) fn spawn(args: &VotersArgs, auth: &AuthConfig) -> Result<VoterProcess> {
        let exe = std::env::current_exe().context("locate the bench binary")?;
        let mut child = Command::new(exe)
            .arg("polls-voters")
            .args(["--url", &args.url, "--room", &args.room])
            .args(["--first", &args.first.to_string(), "--count", &args.count.to_string()])
            .args(["--concurrency", &args.concurrency.to_string()])
            .env(AUTH_ENV, serde_json::to_string(auth)?)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("start `bench polls-voters`")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("voters child has no stdout"))?;
        Ok(VoterProcess { child, stdin, lines: BufReader::new(stdout).lines() })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// The next line starting with `tag`, parsed (other lines are echoed).
    async fn expect<T: for<'de> Deserialize<'de>>(&mut self, tag: &str) -> Result<T> {
        loop {
            let line = self.lines.next_line().await?.ok_or_else(|| anyhow!("voters child exited"))?;
            match line.strip_prefix(tag).and_then(|rest| rest.strip_prefix(' ')) {
                Some(json) => return Ok(serde_json::from_str(json)?),
                None => eprintln!("[polls-voters] {line}"),
            }
        }
    }

    pub(crate) async fn joined(&mut self) -> Result<Joined> {
        self.expect("JOINED").await
    }

    pub(crate) async fn go(&mut self, round: usize, poll: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().ok_or_else(|| anyhow!("voters child stopped"))?;
        stdin.write_all(format!("GO {round} {poll}\n").as_bytes()).await?;
        stdin.flush().await?;
        Ok(())
    }

    pub(crate) async fn casts(&mut self) -> Result<Casts> {
        self.expect("CAST").await
    }

    /// Closes the child's input (its voters disconnect) and waits for it.
    pub(crate) async fn stop(mut self) -> Result<()> {
        self.stdin.take();
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => self.child.kill().await?,
        }
        Ok(())
    }
}
