//! `bench soak`: Hearth under steady load for a while (10 minutes by
//! default) — viewers in rooms, members chatting, a poll per room voted on
//! every minute, viewers leaving and new ones arriving — with each server
//! process's resident memory and open file descriptors read after the
//! warm-up and then every sample period, and errors counted per period.
//! Leaks show as growth from the first sample to the last; error growth as
//! a rising error column. With more viewers and higher rates it is also the
//! load scenario for sizing a cluster (every knob is a flag).

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, Result, bail};
use hearth_platform::auth::TokenKeys;
use hearth_proto::hearth::{
    chat::v1::SendMessageRequest,
    gateway::v1::{EnterRoom, client_frame},
    polls::v1::CastVoteRequest,
};
use rand::RngExt;
use tokio::{sync::Semaphore, time::Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    chat::{BackendConfig, start_stack},
    polls::{close_poll, create_poll},
    proc::{clock_ticks_per_second, cpu_ticks, memory, mib, raise_nofile_limit},
    storm::{self, Encoding, Mode},
    wire::{FrameError, Rpc},
};

#[derive(clap::Args, Debug)]
pub struct SoakArgs {
    /// Minutes of steady load after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    pub minutes: f64,
    /// Viewers connected at any time (spread over the rooms and gateways).
    #[arg(long, default_value_t = 2000)]
    pub viewers: usize,
    /// Channel rooms.
    #[arg(long, default_value_t = 10)]
    pub rooms: usize,
    /// Members who chat and vote (each on its own connection).
    #[arg(long, default_value_t = 50)]
    pub chatters: usize,
    /// Chat messages per second, over all rooms.
    #[arg(long, default_value_t = 50.0)]
    pub chat_rate: f64,
    /// Viewers replaced per second (one leaves, a new one connects, signs in
    /// and enters a room): connection churn.
    #[arg(long, default_value_t = 5.0)]
    pub churn: f64,
    /// Seconds between polls in each room (each is voted on by the
    /// chatters, then closed).
    #[arg(long, default_value_t = 60.0)]
    pub poll_every: f64,
    /// Seconds of load before the first sample (caches, pools and
    /// allocator arenas fill up).
    #[arg(long, default_value_t = 60.0)]
    pub warmup: f64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 60.0)]
    pub sample_every: f64,
    /// Viewers signing in and entering at once (as real clients spread out
    /// their reconnects with backoff).
    #[arg(long, default_value_t = 200)]
    pub concurrency: usize,
}

/// Counts shared by the load tasks.
#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    send_errors: AtomicU64,
    votes: AtomicU64,
    vote_errors: AtomicU64,
    joins: AtomicU64,
    join_errors: AtomicU64,
    /// Viewer connections that closed without being told to.
    dropped: Arc<AtomicU64>,
    poll_errors: AtomicU64,
    /// Viewers that left when told to (churn).
    left: AtomicU64,
    /// Failures by what failed and why (`send: rate_limited`, `join: timeout`).
    reasons: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    /// Counts a failure of `what` under its error code (a gateway error
    /// frame's code, else the error's first words).
    fn failed(&self, what: &str, error: &anyhow::Error) {
        // Request numbers would make every timeout its own reason.
        let why = match error.downcast_ref::<FrameError>() {
            Some(frame) => frame.code.clone(),
            None => error.to_string().chars().filter(|c| !c.is_ascii_digit()).take(48).collect(),
        };
        self.reason(what, &why);
    }

    fn reason(&self, what: &str, why: &str) {
        if let Ok(mut reasons) = self.reasons.lock() {
            *reasons.entry(format!("{what}: {why}")).or_insert(0) += 1;
        }
    }

    /// Viewers connected now.
    fn connected(&self) -> u64 {
        self.joins
            .load(Ordering::Relaxed)
            .saturating_sub(self.left.load(Ordering::Relaxed) + self.dropped.load(Ordering::Relaxed))
    }

    fn errors(&self) -> u64 {
        self.send_errors.load(Ordering::Relaxed)
            + self.vote_errors.load(Ordering::Relaxed)
            + self.join_errors.load(Ordering::Relaxed)
            + self.dropped.load(Ordering::Relaxed)
            + self.poll_errors.load(Ordering::Relaxed)
    }
}

/// One reading of one server process.
#[derive(Debug, Clone, Copy)]
struct Reading {
    rss_kib: u64,
    fds: usize,
    cpu_ticks: u64,
}

fn read(pid: u32) -> Result<Reading> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).context("read /proc/<pid>/fd")?.count();
    Ok(Reading { rss_kib: memory(pid)?.rss, fds, cpu_ticks: cpu_ticks(pid)? })
}

/// A viewer in a room: connects, signs in, enters, then reads until told
/// to leave.
fn spawn_viewer(
    url: String,
    room: String,
    keys: Arc<TokenKeys>,
    counters: Arc<Counters>,
    joining: Arc<Semaphore>,
) -> CancellationToken {
    let leave = CancellationToken::new();
    let stop = leave.clone();
    tokio::spawn(async move {
        let Ok(permit) = joining.acquire_owned().await else { return };
        let token = match keys.issue(&Uuid::now_v7().to_string(), &Uuid::now_v7().to_string(), &[]) {
            Ok(token) => token,
            Err(_) => return,
        };
        let mode = Mode::Hearth { room_id: Some(room) };
        let joined =
            tokio::time::timeout(Duration::from_secs(30), storm::join(&url, &mode, &token, Encoding::Protobuf)).await;
        drop(permit);
        match joined {
            Ok(Ok(socket)) => {
                counters.joins.fetch_add(1, Ordering::Relaxed);
                storm::hold(socket, stop.clone(), counters.dropped.clone()).await;
                if stop.is_cancelled() {
                    counters.left.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(Err(code)) => {
                counters.join_errors.fetch_add(1, Ordering::Relaxed);
                counters.reason("join", &code);
            }
            Err(_) => {
                counters.join_errors.fetch_add(1, Ordering::Relaxed);
                counters.reason("join", "timeout (30 s)");
            }
        }
    });
    leave
}

/// The chatters' sends at `rate` messages per second in all.
async fn chat(chatters: Arc<Vec<(Rpc, String)>>, rate: f64, counters: Arc<Counters>, stop: CancellationToken) {
    if rate <= 0.0 || chatters.is_empty() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        n += 1;
        let chatters = chatters.clone();
        let counters = counters.clone();
        tokio::spawn(async move {
            let index = usize::try_from(n).unwrap_or(0) % chatters.len();
            let (rpc, room) = &chatters[index];
            let send = SendMessageRequest {
                room_id: room.clone(),
                client_msg_id: format!("soak-{n}"),
                text: format!("soak message {n}"),
                reply_to_sequence: 0,
            };
            match rpc.call(client_frame::Kind::SendMessage(send)).await {
                Ok(_) => {
                    counters.sent.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => {
                    counters.send_errors.fetch_add(1, Ordering::Relaxed);
                    counters.failed("send", &error);
                }
            }
        });
    }
}

/// Every `every` seconds, a poll in each room: opened by the admin, voted
/// on by the room's chatters, closed.
async fn polls(
    admin: Arc<Rpc>,
    rooms: Vec<String>,
    chatters: Arc<Vec<(Rpc, String)>>,
    every: f64,
    counters: Arc<Counters>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(every.max(1.0)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut round = 0;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        round += 1;
        for room in &rooms {
            let poll = match create_poll(&admin, room, round).await {
                Ok(poll) => poll,
                Err(error) => {
                    counters.poll_errors.fetch_add(1, Ordering::Relaxed);
                    counters.failed("create poll", &error);
                    continue;
                }
            };
            for (index, (rpc, _)) in chatters.iter().enumerate().filter(|(_, (_, r))| r == room) {
                let option = if (index + round).is_multiple_of(2) { "o1" } else { "o2" };
                let vote = CastVoteRequest { poll_id: poll.clone(), option_ids: vec![option.into()] };
                match rpc.call(client_frame::Kind::CastVote(vote)).await {
                    Ok(_) => {
                        counters.votes.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        counters.vote_errors.fetch_add(1, Ordering::Relaxed);
                        counters.failed("vote", &error);
                    }
                }
            }
            if let Err(error) = close_poll(&admin, &poll).await {
                counters.poll_errors.fetch_add(1, Ordering::Relaxed);
                counters.failed("close poll", &error);
            }
        }
    }
}

/// Replaces `rate` viewers per second: the oldest leaves, a new one joins.
async fn churn(
    mut viewers: Vec<CancellationToken>,
    spawn: impl Fn(usize) -> CancellationToken,
    rate: f64,
    stop: CancellationToken,
) {
    if rate <= 0.0 || viewers.is_empty() {
        stop.cancelled().await;
    } else {
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut next = viewers.len();
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let index = rand::rng().random_range(0..viewers.len());
            viewers[index].cancel();
            viewers[index] = spawn(next);
            next += 1;
        }
    }
    for viewer in viewers {
        viewer.cancel();
    }
}

pub async fn run(args: SoakArgs) -> Result<bool> {
    if args.rooms == 0 || args.viewers == 0 || args.minutes <= 0.0 || args.sample_every <= 0.0 {
        bail!("--rooms, --viewers, --minutes and --sample-every must be positive");
    }
    raise_nofile_limit((args.viewers + args.chatters) as u64 * 2 + 1024);
    let stack = start_stack(BackendConfig { gateways: 2, polls_batch_max: None }).await?;
    let keys = Arc::new(TokenKeys::from_config(&stack.config.auth)?);
    let admin_token = keys.issue(&Uuid::now_v7().to_string(), &Uuid::now_v7().to_string(), &["admin".to_owned()])?;
    let urls: Vec<String> = stack.gateways.iter().map(|g| format!("{}?encoding=protobuf", g.url)).collect();
    let json_urls: Vec<String> = stack.gateways.iter().map(|g| g.url.clone()).collect();
    let (admin, _admin_events) = Rpc::connect(&json_urls[0], &admin_token).await.context("admin")?;
    let admin = Arc::new(admin);
    let mut rooms = Vec::with_capacity(args.rooms);
    for _ in 0..args.rooms {
        rooms.push(storm::create_channel_room(&admin).await?);
    }

    let counters = Arc::new(Counters::default());
    let mut chatters = Vec::with_capacity(args.chatters);
    let mut chatter_events = Vec::with_capacity(args.chatters);
    for index in 0..args.chatters {
        let token = keys.issue(&Uuid::now_v7().to_string(), &Uuid::now_v7().to_string(), &[])?;
        let (rpc, events) = Rpc::connect(&json_urls[index % json_urls.len()], &token).await.context("a chatter")?;
        let room = rooms[index % rooms.len()].clone();
        let enter = EnterRoom { room_id: room.clone(), join: true, ..Default::default() };
        rpc.call(client_frame::Kind::EnterRoom(enter)).await.context("a chatter enters")?;
        chatters.push((rpc, room));
        chatter_events.push(tokio::spawn(drain(events)));
    }
    let chatters = Arc::new(chatters);

    let spawn = {
        let (urls, rooms, keys, counters) = (urls.clone(), rooms.clone(), keys.clone(), counters.clone());
        let joining = Arc::new(Semaphore::new(args.concurrency.max(1)));
        move |index: usize| {
            let (url, room) = (urls[index % urls.len()].clone(), rooms[index % rooms.len()].clone());
            spawn_viewer(url, room, keys.clone(), counters.clone(), joining.clone())
        }
    };
    eprintln!("bench soak: {} viewers joining {} rooms over {} gateways …", args.viewers, args.rooms, urls.len());
    let viewers: Vec<CancellationToken> = (0..args.viewers).map(&spawn).collect();
    let stop = CancellationToken::new();
    let load = vec![
        tokio::spawn(chat(chatters.clone(), args.chat_rate, counters.clone(), stop.clone())),
        tokio::spawn(polls(
            admin.clone(),
            rooms.clone(),
            chatters.clone(),
            args.poll_every,
            counters.clone(),
            stop.clone(),
        )),
        tokio::spawn(churn(viewers, spawn, args.churn, stop.clone())),
    ];

    let mut processes = vec![("backend (identity, rooms, chat, polls)".to_owned(), stack.backend.pid())];
    processes.extend(stack.gateways.iter().enumerate().map(|(i, g)| (format!("gateway {}", i + 1), g.pid())));
    eprintln!("bench soak: warming up for {:.0} s …", args.warmup);
    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    // The steady phase starts once every viewer is in (at most 5 more minutes).
    let waiting = Instant::now();
    while counters.connected() < args.viewers as u64 && waiting.elapsed() < Duration::from_secs(300) {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    println!(
        "bench soak: {} viewers in {} rooms, {} chatters at {} msg/s, a poll per room every {:.0} s, {} viewers replaced/s; {:.0} min",
        args.viewers, args.rooms, args.chatters, args.chat_rate, args.poll_every, args.churn, args.minutes
    );
    println!(
        "{:>6}  {:>34}  {:>34}  {:>34}  {:>7} {:>7} {:>6} {:>7}",
        "min",
        processes[0].0,
        processes[1].0,
        processes.get(2).map_or("", |p| p.0.as_str()),
        "viewers",
        "sent",
        "votes",
        "errors"
    );
    let ticks = clock_ticks_per_second() as f64;
    let started = Instant::now();
    let mut first: Option<Vec<Reading>> = None;
    let mut previous: Option<(Vec<Reading>, Instant)> = None;
    loop {
        let readings: Vec<Reading> = processes.iter().map(|(_, pid)| read(*pid)).collect::<Result<_>>()?;
        let cells: Vec<String> = readings
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let cpu = previous.as_ref().map_or(0.0, |(before, at)| {
                    (r.cpu_ticks - before[i].cpu_ticks) as f64 / ticks / at.elapsed().as_secs_f64()
                });
                format!("{} {:>5} fds {:>3.0}% CPU", mib(r.rss_kib), r.fds, cpu * 100.0)
            })
            .collect();
        println!(
            "{:>6.1}  {:>34}  {:>34}  {:>34}  {:>7} {:>7} {:>6} {:>7}",
            started.elapsed().as_secs_f64() / 60.0,
            cells[0],
            cells.get(1).map_or("", String::as_str),
            cells.get(2).map_or("", String::as_str),
            counters.connected(),
            counters.sent.load(Ordering::Relaxed),
            counters.votes.load(Ordering::Relaxed),
            counters.errors(),
        );
        first.get_or_insert_with(|| readings.clone());
        previous = Some((readings, Instant::now()));
        if started.elapsed().as_secs_f64() >= args.minutes * 60.0 {
            break;
        }
        let left = args.minutes * 60.0 - started.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_secs_f64(args.sample_every.min(left.max(0.1)))).await;
    }
    stop.cancel();
    for task in load {
        let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
    }
    for task in chatter_events {
        task.abort();
    }
    // The verdict is the steady phase's: stopping the servers below closes
    // the viewers' sockets, which the counters would otherwise count.
    let errors = counters.errors();

    let first = first.unwrap_or_default();
    let last = previous.map(|(readings, _)| readings).unwrap_or_default();
    println!("start → end of the steady phase:");
    for (((name, _), start), end) in processes.iter().zip(&first).zip(&last) {
        let growth = (end.rss_kib as f64 / start.rss_kib.max(1) as f64 - 1.0) * 100.0;
        println!(
            "  {name:<40} RSS {} → {} ({growth:+.1} %), fds {} → {}",
            mib(start.rss_kib),
            mib(end.rss_kib),
            start.fds,
            end.fds
        );
    }
    println!(
        "  sent {} messages ({} failed), {} votes ({} failed), {} joins ({} failed), {} dropped connections, {} poll errors",
        counters.sent.load(Ordering::Relaxed),
        counters.send_errors.load(Ordering::Relaxed),
        counters.votes.load(Ordering::Relaxed),
        counters.vote_errors.load(Ordering::Relaxed),
        counters.joins.load(Ordering::Relaxed),
        counters.join_errors.load(Ordering::Relaxed),
        counters.dropped.load(Ordering::Relaxed),
        counters.poll_errors.load(Ordering::Relaxed),
    );
    if let Ok(reasons) = counters.reasons.lock() {
        for (reason, count) in reasons.iter() {
            println!("  failed {reason}: {count}");
        }
    }
    drop(admin);
    stack.stop().await?;
    Ok(errors == 0)
}

/// Reads and discards a chatter's pushed events (so it never becomes a
/// slow consumer).
async fn drain(mut events: tokio::sync::mpsc::UnboundedReceiver<hearth_proto::hearth::gateway::v1::ServerFrame>) {
    while events.recv().await.is_some() {}
}
