//! `bench sync`: how closely the players of one watch party stay together.
//!
//! Hearth runs in-process; one host and N simulated clients join one public
//! watch party. Every client has its own skewed clock, a simulated network
//! (random one-way delay per frame, order kept per direction), the client
//! algorithm of docs/sync.md and a simulated player with buffering and
//! stalls. The host plays, seeks and changes media; at common true instants
//! after each scheduled start the bench reads every player's position and
//! measures the spread around the median.
//!
//! Limits of the simulation: the gateway's WebSocket Ping control frames
//! (its round-trip probes) are answered by tungstenite on read, outside the
//! simulated delay, so the server sees near-zero round trips; with at most
//! 150 ms simulated the 500 ms start-delay floor applies either way. Clients
//! ping twice a second (more than docs/sync.md requires) so every clock
//! window is full when the measurement starts.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, Result, anyhow, bail};
use futures::{SinkExt, StreamExt};
use hearth::Role;
use hearth_platform::auth::TokenKeys;
use hearth_proto::hearth::{
    common::v1::MediaRef,
    gateway::v1::{EnterRoom, Ping, ServerFrame, client_frame, server_frame},
    rooms::v1::{
        ChangeMediaRequest, CreateRoomRequest, GetRoomSnapshotRequest, PauseRequest, PlayRequest, PlaybackCause,
        PlaybackPolicy, PlaybackState, PlaybackStatus, Readiness, ReportReadinessRequest, RoomEvent, RoomKind,
        RoomSettings, RoomSnapshot, RoomVisibility, SeekRequest, SetHoldGroupRequest, room_event,
    },
};
use hearth_tests::TestApp;
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch},
    time::{Instant, MissedTickBehavior},
};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    model::{
        ClockSync, Correction, DriftConfig, DriftController, Player, Rng, Summary, convergence, deviations_from_median,
        median,
    },
    wire::{self, FrameError, Rpc},
};

#[derive(clap::Args, Debug, Clone)]
pub struct SyncArgs {
    /// Simulated viewers (besides the host).
    #[arg(long, default_value_t = 200)]
    pub clients: usize,
    /// Rounds of play → seek → change_media.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Seed of every random draw (clock offsets, delays, buffering, stalls).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Client clocks are off by a uniform ±this many seconds.
    #[arg(long, default_value_t = 2.0)]
    pub clock_skew_s: f64,
    /// Smallest simulated one-way network delay per frame.
    #[arg(long, default_value_t = 2.5)]
    pub delay_min_ms: f64,
    /// Largest simulated one-way network delay per frame.
    #[arg(long, default_value_t = 75.0)]
    pub delay_max_ms: f64,
    /// Chance that a client stalls 6–8 s after WAITING (past the ready timeout).
    #[arg(long, default_value_t = 0.05)]
    pub ready_stall_probability: f64,
    /// Mid-play stalls (0.3–1.5 s) per client per second of playback.
    #[arg(long, default_value_t = 0.02)]
    pub stall_rate: f64,
    /// Time from a scheduled start to the host's next command.
    #[arg(long, default_value_t = 6.0)]
    pub phase_s: f64,
    /// Drift beyond which a client seeks instead of changing rate.
    #[arg(long, default_value_t = 2.5)]
    pub seek_threshold_s: f64,
    /// Drift below which nothing is corrected.
    #[arg(long, default_value_t = 100.0)]
    pub deadband_ms: f64,
    /// Drift at which a rate correction ends (docs/sync.md: SETTLE).
    #[arg(long, default_value_t = 20.0)]
    pub settle_ms: f64,
    /// Pass when the overall p99 |deviation from the median| is at most this.
    #[arg(long, default_value_t = 50.0)]
    pub target_ms: f64,
    /// Clients connecting and joining at once.
    #[arg(long, default_value_t = 50)]
    pub join_concurrency: usize,
    /// Media of the room at creation (and of odd change_media rounds).
    #[arg(long, default_value = "movie-1")]
    pub media_a: String,
    /// Media of even change_media rounds.
    #[arg(long, default_value = "movie-2")]
    pub media_b: String,
    /// Print every sample instant.
    #[arg(long)]
    pub verbose: bool,
}

/// Ping interval per client: 2/s stays far below the gateway's frame limit.
const PING_EVERY: Duration = Duration::from_millis(500);
/// Client control loop period (drift check, readiness, stalls).
const TICK: Duration = Duration::from_millis(50);
/// Sample instants: every 250 ms from the scheduled start to 5 s after it;
/// the spread statistics use those from 1 s on, the convergence time all.
const SAMPLE_STEP: f64 = 0.25;
const SAMPLE_LAST: f64 = 5.0;
const STATS_FROM: f64 = 1.0;

/// Where a client stands with respect to the group, as the sampler sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    InSync,
    /// Recovering from a mid-play stall or a late start.
    CatchingUp,
    /// Stalled past the ready timeout: released by the server, catching up
    /// alone.
    Released,
}

/// What the sampler reads of one client.
struct Shared {
    player: Player,
    media: Option<MediaRef>,
    /// Estimated server − local time.
    est_offset: Option<f64>,
    clock_samples: usize,
    standing: Standing,
}

struct Handle {
    shared: Arc<Mutex<Shared>>,
    /// Local − true time of this client's clock.
    true_offset: f64,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A poisoned lock only means a client task panicked; its data is still
    // fine to read for statistics.
    shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Default)]
struct Counters {
    mid_play_stalls: AtomicU64,
    ready_stalls: AtomicU64,
    catch_up_seeks: AtomicU64,
    rate_corrections: AtomicU64,
    snapshots: AtomicU64,
    readiness_reports: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn error(&self, code: &str) {
        if let Ok(mut errors) = self.errors.lock() {
            *errors.entry(code.to_owned()).or_default() += 1;
        }
    }
}

/// The group playback state as a client uses it.
#[derive(Debug, Clone)]
struct Group {
    media: Option<MediaRef>,
    status: PlaybackStatus,
    position: f64,
    /// Server time (Unix seconds) at which `position` holds.
    reference: f64,
    rate: f64,
    version: u64,
    live: bool,
}

impl Group {
    fn from(state: &PlaybackState) -> Self {
        Self {
            media: state.media.clone(),
            status: PlaybackStatus::try_from(state.status).unwrap_or(PlaybackStatus::Unspecified),
            position: state.position.as_ref().map(wire::from_duration).unwrap_or(0.0),
            reference: state.reference_time.as_ref().map(wire::from_timestamp).unwrap_or(0.0),
            rate: if state.rate > 0.0 { state.rate } else { 1.0 },
            version: state.version,
            live: state.live,
        }
    }
}

/// Order-keeping delay line of one direction: each frame gets its own
/// random delay but never overtakes the previous one.
struct Delay {
    rng: Rng,
    min: f64,
    max: f64,
    last: Instant,
}

impl Delay {
    fn new(seed: u64, args: &SyncArgs) -> Self {
        Self { rng: Rng::new(seed), min: args.delay_min_ms / 1e3, max: args.delay_max_ms / 1e3, last: Instant::now() }
    }

    fn due(&mut self) -> Instant {
        let delay = Duration::from_secs_f64(self.rng.range(self.min, self.max.max(self.min)));
        self.last = (Instant::now() + delay).max(self.last);
        self.last
    }
}

/// One simulated viewer: connection, clock sync, event ordering, readiness
/// and drift control around a simulated player.
struct SimClient {
    room_id: String,
    token: String,
    args: Arc<SyncArgs>,
    rng: Rng,
    true_offset: f64,
    shared: Arc<Mutex<Shared>>,
    counters: Arc<Counters>,
    clock: ClockSync,
    ctrl: DriftController,
    group: Option<Group>,
    last_version: u64,
    held: BTreeMap<u64, RoomEvent>,
    /// Local time when a version gap was first seen.
    gap_since: Option<f64>,
    snapshot_inflight: bool,
    /// Local time when the current buffering ends and READY is due.
    ready_at: Option<f64>,
    /// Estimate of how long a seek takes (moving average of observed ones).
    seek_latency: f64,
    readiness_inflight: bool,
    readiness_next: Option<ReportReadinessRequest>,
    outbox: Vec<client_frame::Kind>,
    next_ref: u64,
    joined: Option<oneshot::Sender<Result<()>>>,
    permit: Option<OwnedSemaphorePermit>,
}

impl SimClient {
    fn local_now(&self) -> f64 {
        wire::true_now() + self.true_offset
    }

    fn observe_seek(&mut self, buffering: f64) {
        self.seek_latency = 0.7 * self.seek_latency + 0.3 * buffering;
    }

    async fn run(mut self, url: String, cancel: CancellationToken, seed: u64) -> Result<()> {
        let (stream, _) = tokio_tungstenite::connect_async(url.as_str()).await.context("connect")?;
        let (mut sink, mut source) = stream.split();
        let (in_tx, mut in_rx) = mpsc::unbounded_channel::<(Instant, Option<String>)>();
        let mut in_delay = Delay::new(seed ^ 0x1D1D_1D1D, &self.args);
        let mut out_delay = Delay::new(seed ^ 0x0D0D_0D0D, &self.args);
        // The reader stamps each frame on arrival, so the delay does not
        // depend on how busy the control loop is.
        let reader = tokio::spawn(async move {
            loop {
                let text = match source.next().await {
                    Some(Ok(Message::Text(text))) => Some(text.to_string()),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => None,
                    Some(Ok(_)) => continue,
                };
                let end = text.is_none();
                if in_tx.send((in_delay.due(), text)).is_err() || end {
                    break;
                }
            }
        });
        let mut inbound: VecDeque<(Instant, Option<String>)> = VecDeque::new();
        let mut outbound: VecDeque<(Instant, String)> = VecDeque::new();
        let mut reader_done = false;
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let auth = wire::auth_frame("auth", &self.token);
        outbound.push_back((out_delay.due(), wire::encode(&auth)?));
        let far = Instant::now() + Duration::from_secs(86_400);
        let result: Result<()> = loop {
            for kind in std::mem::take(&mut self.outbox) {
                self.next_ref += 1;
                let reference = match &kind {
                    client_frame::Kind::EnterRoom(_) => "enter".to_owned(),
                    client_frame::Kind::ReportReadiness(_) => format!("r{}", self.next_ref),
                    _ => format!("c{}", self.next_ref),
                };
                outbound.push_back((out_delay.due(), wire::encode(&wire::frame(reference, kind))?));
            }
            let in_due = inbound.front().map(|(due, _)| *due);
            let out_due = outbound.front().map(|(due, _)| *due);
            tokio::select! {
                () = cancel.cancelled() => break Ok(()),
                item = in_rx.recv(), if !reader_done => match item {
                    Some(item) => inbound.push_back(item),
                    None => reader_done = true,
                },
                () = tokio::time::sleep_until(in_due.unwrap_or(far)), if in_due.is_some() => {
                    let Some((_, text)) = inbound.pop_front() else { continue };
                    let Some(text) = text else { break Err(anyhow!("connection closed by the server")) };
                    if let Err(error) = self.on_text(&text) {
                        break Err(error);
                    }
                }
                () = tokio::time::sleep_until(out_due.unwrap_or(far)), if out_due.is_some() => {
                    let Some((_, text)) = outbound.pop_front() else { continue };
                    if let Err(error) = sink.send(Message::Text(text.into())).await {
                        break Err(anyhow!("send: {error}"));
                    }
                }
                _ = ping.tick() => self.ping(),
                _ = tick.tick() => self.control(),
            }
        };
        reader.abort();
        let _ = sink.close().await;
        if let Some(joined) = self.joined.take() {
            let _ = joined.send(Err(match &result {
                Err(error) => anyhow!("{error:#}"),
                Ok(()) => anyhow!("cancelled before joining"),
            }));
        }
        result
    }

    fn ping(&mut self) {
        let client_time = Some(wire::timestamp(self.local_now()));
        self.outbox.push(client_frame::Kind::Ping(Ping { client_time }));
    }

    fn on_text(&mut self, text: &str) -> Result<()> {
        let frame = match wire::decode(text) {
            Ok(frame) => frame,
            Err(_) => {
                self.counters.error("undecodable_frame");
                return Ok(());
            }
        };
        let ServerFrame { r#ref: reference, kind } = frame;
        match kind {
            Some(server_frame::Kind::Connected(_)) => {
                let enter = EnterRoom { room_id: self.room_id.clone(), join: true, ..Default::default() };
                self.outbox.push(client_frame::Kind::EnterRoom(enter));
            }
            Some(server_frame::Kind::Pong(pong)) => {
                let t1 = self.local_now();
                if let (Some(t0), Some(server)) = (pong.client_time, pong.server_time) {
                    self.clock.add(wire::from_timestamp(&t0), t1, wire::from_timestamp(&server));
                    let mut shared = lock(&self.shared);
                    shared.est_offset = self.clock.offset();
                    shared.clock_samples += 1;
                }
            }
            Some(server_frame::Kind::EnterRoom(entered)) => {
                if let Some(snapshot) = entered.snapshot {
                    self.apply_snapshot(&snapshot);
                }
                self.permit.take();
                if let Some(joined) = self.joined.take() {
                    let _ = joined.send(Ok(()));
                }
            }
            Some(server_frame::Kind::GetRoomSnapshot(reply)) => {
                self.snapshot_inflight = false;
                if let Some(snapshot) = reply.snapshot {
                    self.apply_snapshot(&snapshot);
                }
            }
            Some(server_frame::Kind::RoomEvent(event)) => self.on_event(event),
            Some(server_frame::Kind::ReportReadiness(reply)) => {
                self.report_done();
                // The room moved on without us seeing it: treat as a gap.
                if reply.version > self.last_version && self.gap_since.is_none() {
                    self.gap_since = Some(self.local_now());
                }
            }
            Some(server_frame::Kind::Error(error)) => {
                if reference == "auth" || reference == "enter" {
                    bail!("{reference} refused: {}: {}", error.code, error.message);
                }
                self.counters.error(&error.code);
                if reference.starts_with('r') {
                    self.report_done();
                } else if reference.starts_with('c') {
                    self.snapshot_inflight = false;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Applies room events in version order (events.proto): older ones are
    /// ignored, later ones wait for the missing one up to 1 s, then the
    /// client re-reads the snapshot.
    fn on_event(&mut self, event: RoomEvent) {
        if event.room_id != self.room_id || event.version == 0 || event.version <= self.last_version {
            return;
        }
        self.held.insert(event.version, event);
        self.drain_held();
    }

    fn drain_held(&mut self) {
        while let Some(event) = self.held.remove(&(self.last_version + 1)) {
            self.last_version += 1;
            if let Some(room_event::Kind::PlaybackStateChanged(changed)) = event.kind
                && let Some(state) = changed.playback
            {
                self.apply_playback(&state);
            }
        }
        if self.held.is_empty() {
            self.gap_since = None;
        } else if self.gap_since.is_none() {
            self.gap_since = Some(self.local_now());
        }
    }

    fn apply_snapshot(&mut self, snapshot: &RoomSnapshot) {
        if snapshot.version < self.last_version {
            return;
        }
        self.last_version = snapshot.version;
        let last = self.last_version;
        self.held.retain(|version, _| *version > last);
        self.gap_since = None;
        if let Some(state) = &snapshot.playback {
            self.apply_playback(state);
        }
        self.drain_held();
    }

    /// Reports readiness for a playback version (docs/sync.md §6), one
    /// report at a time: the gateway runs pipelined requests concurrently,
    /// so a BUFFERING sent just before a READY could otherwise overtake it
    /// and leave the member BUFFERING. A report made while one is in flight
    /// replaces any other waiting one (only the latest matters).
    fn report(&mut self, readiness: Readiness, version: u64, position: f64) {
        let request = ReportReadinessRequest {
            room_id: self.room_id.clone(),
            playback_version: version,
            readiness: readiness as i32,
            position: Some(wire::duration(position)),
            ..Default::default()
        };
        if self.readiness_inflight {
            self.readiness_next = Some(request);
            return;
        }
        self.readiness_inflight = true;
        self.outbox.push(client_frame::Kind::ReportReadiness(request));
        Counters::bump(&self.counters.readiness_reports);
    }

    /// The reply (or error) to the readiness report in flight arrived.
    fn report_done(&mut self) {
        self.readiness_inflight = false;
        if let Some(next) = self.readiness_next.take() {
            self.readiness_inflight = true;
            self.outbox.push(client_frame::Kind::ReportReadiness(next));
            Counters::bump(&self.counters.readiness_reports);
        }
    }

    /// Starts loading: BUFFERING now, READY once the buffering is over.
    fn loading(&mut self, version: u64, position: f64, until: f64) {
        self.report(Readiness::Buffering, version, position);
        self.ready_at = Some(until);
    }

    /// Reacts to a new group state, as docs/sync.md §4–§6 prescribe.
    fn apply_playback(&mut self, state: &PlaybackState) {
        let group = Group::from(state);
        let now = self.local_now();
        let offset = self.clock.offset().unwrap_or(0.0);
        self.ctrl.reset();
        let shared_arc = self.shared.clone();
        let mut shared = lock(&shared_arc);
        let same_media = shared.media == group.media;
        let distance = (shared.player.position(now) - group.position).abs();
        let at_position = same_media && distance < 0.001;
        let mut loading = None;
        match group.status {
            PlaybackStatus::Waiting => {
                // Load at the group position and report READY once buffered;
                // a few clients stall long enough to be released.
                let stall = self.rng.chance(self.args.ready_stall_probability);
                let buffering = if stall { self.rng.range(6.0, 8.0) } else { self.rng.range(0.05, 0.8) };
                if stall {
                    Counters::bump(&self.counters.ready_stalls);
                }
                shared.player.pause(now);
                shared.player.seek(now, group.position, buffering);
                shared.media = group.media.clone();
                shared.standing = if stall { Standing::Released } else { Standing::InSync };
                loading = Some(now + buffering);
            }
            PlaybackStatus::Playing if !group.live => {
                let server_now = now + offset;
                let local_start = group.reference - offset;
                let scheduled = group.reference > server_now;
                if same_media && shared.player.playing() && !scheduled {
                    // Already playing this media: the drift controller keeps
                    // it aligned (a rate change only rebases).
                    shared.player.set_rate(now, group.rate);
                } else if at_position {
                    // Loaded at the position (possibly still buffering):
                    // start at the reference time in the local clock, or at
                    // once when the state came late (§4 absorbs the drift).
                    shared.player.play_from(group.position, local_start.max(now), group.rate);
                } else if scheduled {
                    // Scheduled start: load the position first.
                    let remaining = (shared.player.frozen_until() - now).max(0.0);
                    let buffering = self.rng.range(0.02, 0.2).max(remaining);
                    shared.player.pause(now);
                    shared.player.seek(now, group.position, buffering);
                    shared.player.play_from(group.position, local_start, group.rate);
                    shared.media = group.media.clone();
                    loading = Some(now + buffering);
                } else {
                    // Late (joined or loaded after the start): seek to where
                    // the group will be once the seek is done.
                    let expected = group.position + (server_now - group.reference) * group.rate;
                    let target = expected + self.seek_latency * group.rate;
                    let buffering = self.rng.range(0.02, 0.2);
                    shared.player.pause(now);
                    shared.player.seek(now, target, buffering);
                    shared.player.play_from(target, now, group.rate);
                    shared.media = group.media.clone();
                    self.observe_seek(buffering);
                    loading = Some(now + buffering);
                }
                let on_time = scheduled && shared.player.frozen_until() <= local_start;
                shared.standing = match shared.standing {
                    _ if on_time => Standing::InSync,
                    Standing::InSync if shared.player.frozen_until() > now || (!scheduled && !at_position) => {
                        Standing::CatchingUp
                    }
                    standing => standing,
                };
            }
            _ => {
                // Paused, idle, live or unknown: hold still at the position.
                shared.player.pause(now);
                if !group.live && (!same_media || distance >= self.ctrl.config().deadband) {
                    let buffering = self.rng.range(0.02, 0.2);
                    shared.player.seek(now, group.position, buffering);
                    loading = Some(now + buffering);
                }
                shared.media = group.media.clone();
                shared.standing = Standing::InSync;
            }
        }
        let position = shared.player.position(now);
        drop(shared);
        if let Some(until) = loading {
            self.loading(group.version, position, until);
        }
        self.group = Some(group);
    }

    /// The periodic part of the algorithm: readiness reports, version gaps,
    /// drift correction, and the simulated mid-play stalls.
    fn control(&mut self) {
        let now = self.local_now();
        if let Some(ready_at) = self.ready_at
            && now >= ready_at
            && let Some(version) = self.group.as_ref().map(|g| g.version)
        {
            self.ready_at = None;
            let position = lock(&self.shared).player.position(now);
            self.report(Readiness::Ready, version, position);
        }
        if let Some(since) = self.gap_since
            && now - since > 1.0
            && !self.snapshot_inflight
        {
            self.snapshot_inflight = true;
            self.gap_since = None;
            Counters::bump(&self.counters.snapshots);
            self.outbox
                .push(client_frame::Kind::GetRoomSnapshot(GetRoomSnapshotRequest { room_id: self.room_id.clone() }));
        }
        let Some(group) = self.group.clone() else { return };
        let Some(offset) = self.clock.offset() else { return };
        let server_now = now + offset;
        if group.status != PlaybackStatus::Playing || group.live || server_now < group.reference {
            return;
        }
        let shared_arc = self.shared.clone();
        let mut shared = lock(&shared_arc);
        if shared.media != group.media || !shared.player.advancing(now) {
            return;
        }
        let expected = group.position + (server_now - group.reference) * group.rate;
        let drift = shared.player.position(now) - expected;
        let was_correcting = self.ctrl.correcting();
        match self.ctrl.update(drift, expected, group.rate, self.seek_latency) {
            Correction::Hold => {
                if (shared.player.rate() - group.rate).abs() > 1e-12 {
                    shared.player.set_rate(now, group.rate);
                }
                shared.standing = Standing::InSync;
            }
            Correction::Rate(rate) => {
                if !was_correcting {
                    Counters::bump(&self.counters.rate_corrections);
                }
                if (shared.player.rate() - rate).abs() > 1e-12 {
                    shared.player.set_rate(now, rate);
                }
            }
            Correction::Seek(target) => {
                Counters::bump(&self.counters.catch_up_seeks);
                let buffering = self.rng.range(0.02, 0.2);
                shared.player.set_rate(now, group.rate);
                shared.player.seek(now, target, buffering);
                self.observe_seek(buffering);
            }
        }
        if self.rng.chance(self.args.stall_rate * TICK.as_secs_f64()) {
            // A mid-play stall: BUFFERING now, READY on recovery (§6); the
            // group plays on and this client catches up alone.
            Counters::bump(&self.counters.mid_play_stalls);
            let duration = self.rng.range(0.3, 1.5);
            shared.player.stall(now, duration);
            if shared.standing == Standing::InSync {
                shared.standing = Standing::CatchingUp;
            }
            let position = shared.player.position(now);
            drop(shared);
            self.ctrl.reset();
            self.loading(group.version, position, now + duration);
        }
    }
}

/// What one sample instant saw.
#[derive(Debug, Default, Clone)]
struct Excluded {
    stalled: u64,
    released: u64,
    catching_up: u64,
    not_playing: u64,
}

impl Excluded {
    fn add(&mut self, other: &Excluded) {
        self.stalled += other.stalled;
        self.released += other.released;
        self.catching_up += other.catching_up;
        self.not_playing += other.not_playing;
    }

    fn total(&self) -> u64 {
        self.stalled + self.released + self.catching_up + self.not_playing
    }
}

struct InstantSample {
    /// Seconds after the scheduled start.
    after: f64,
    positions: Vec<f64>,
    /// The group's position at this instant by the true clock.
    expected: f64,
    excluded: Excluded,
    offset_errors: Vec<f64>,
}

impl InstantSample {
    fn deviations(&self) -> Vec<f64> {
        deviations_from_median(&self.positions)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PhaseKind {
    Play,
    Seek,
    ChangeMedia,
}

impl PhaseKind {
    fn name(self) -> &'static str {
        match self {
            PhaseKind::Play => "play",
            PhaseKind::Seek => "seek",
            PhaseKind::ChangeMedia => "change_media",
        }
    }
}

struct PhaseRun {
    kind: PhaseKind,
    round: usize,
    /// Command sent → scheduled start, seconds.
    lead: f64,
    /// Why the group started (PLAY, GROUP_READY, READY_TIMEOUT).
    cause: &'static str,
    instants: Vec<InstantSample>,
}

/// Reads every player at true time `t`.
fn sample(handles: &[Handle], t: f64, group: &Group) -> InstantSample {
    let mut out = InstantSample {
        after: t - group.reference,
        positions: Vec::with_capacity(handles.len()),
        expected: group.position + (t - group.reference).max(0.0) * group.rate,
        excluded: Excluded::default(),
        offset_errors: Vec::with_capacity(handles.len()),
    };
    for handle in handles {
        let shared = lock(&handle.shared);
        let local = t + handle.true_offset;
        if let Some(est) = shared.est_offset {
            // True server − local offset is −true_offset.
            out.offset_errors.push(est + handle.true_offset);
        }
        if shared.media != group.media || !shared.player.playing() {
            out.excluded.not_playing += 1;
        } else if shared.standing == Standing::Released {
            out.excluded.released += 1;
        } else if shared.player.is_frozen(local) {
            out.excluded.stalled += 1;
        } else if shared.standing == Standing::CatchingUp {
            out.excluded.catching_up += 1;
        } else {
            out.positions.push(shared.player.position(local));
        }
    }
    out
}

/// The host's view of the group state: the highest version seen.
fn note_state(tx: &watch::Sender<Option<PlaybackState>>, state: Option<PlaybackState>) {
    let Some(state) = state else { return };
    tx.send_if_modified(|current| {
        if current.as_ref().is_none_or(|c| state.version > c.version) {
            *current = Some(state);
            true
        } else {
            false
        }
    });
}

async fn wait_state(
    rx: &mut watch::Receiver<Option<PlaybackState>>,
    min_version: u64,
    status: PlaybackStatus,
    within: Duration,
) -> Result<PlaybackState> {
    let wanted = status as i32;
    let found = tokio::time::timeout(
        within,
        rx.wait_for(|s| s.as_ref().is_some_and(|s| s.version >= min_version && s.status == wanted)),
    )
    .await
    .with_context(|| format!("the group did not reach {} within {within:?}", status.as_str_name()))?
    .map_err(|_| anyhow!("host connection closed"))?;
    found.clone().ok_or_else(|| anyhow!("no state"))
}

async fn sleep_until_true(t: f64) {
    let wait = t - wire::true_now();
    if wait > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }
}

fn playback_of(kind: server_frame::Kind) -> Result<PlaybackState> {
    let state = match kind {
        server_frame::Kind::Play(reply) => reply.playback,
        server_frame::Kind::Pause(reply) => reply.playback,
        server_frame::Kind::Seek(reply) => reply.playback,
        server_frame::Kind::ChangeMedia(reply) => reply.playback,
        other => bail!("unexpected reply {other:?}"),
    };
    state.ok_or_else(|| anyhow!("reply without playback state"))
}

/// Runs the benchmark; returns whether it met the target.
pub async fn run(args: SyncArgs) -> Result<bool> {
    if args.clients == 0 || args.rounds == 0 {
        bail!("--clients and --rounds must be at least 1");
    }
    let args = Arc::new(args);
    let capacity = u32::try_from(args.clients + 1).context("too many clients")?.max(2);
    eprintln!("bench sync: starting Hearth in-process …");
    let app = TestApp::spawn_with(Role::ALL, |c| {
        // 2 pings/s plus readiness stay far below this; the default 20/s
        // would do too, but the bench must not measure rate limiting.
        c.gateway.frames_per_second = 100;
        c.gateway.frame_burst = 200;
        c.rooms.watch_party_max_capacity = c.rooms.watch_party_max_capacity.max(capacity);
    })
    .await;
    let keys = TokenKeys::from_config(&app.config.auth)?;
    let token = |roles: &[String]| keys.issue(&Uuid::now_v7().to_string(), &Uuid::now_v7().to_string(), roles);

    // Host: creates and controls the room; does not hold the group, so only
    // the measured clients decide when it is ready.
    let (host, mut host_events) = Rpc::connect(&app.ws_url, &token(&[])?).await.context("host connects")?;
    let create = CreateRoomRequest {
        kind: RoomKind::WatchParty as i32,
        visibility: RoomVisibility::Public as i32,
        title: "Bench".into(),
        media: Some(wire::asset(&args.media_a)),
        settings: Some(RoomSettings {
            capacity,
            playback_policy: PlaybackPolicy::HostOnly as i32,
            ..Default::default()
        }),
        ..Default::default()
    };
    let room_id = match host.call(client_frame::Kind::CreateRoom(create)).await {
        Ok(server_frame::Kind::CreateRoom(reply)) => {
            reply.room.map(|r| r.room_id).ok_or_else(|| anyhow!("create_room reply without room"))?
        }
        Ok(other) => bail!("unexpected create_room reply {other:?}"),
        Err(error) => {
            if error.downcast_ref::<FrameError>().is_some_and(|e| e.code == "unsupported") {
                bail!("this Hearth does not serve room frames yet (create_room: {error})");
            }
            return Err(error.context("create the watch party"));
        }
    };
    // The host is idle between commands and while clients join: keep it
    // inside the gateway's idle timeout.
    let host = Arc::new(host);
    let keepalive = {
        let host = host.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(20));
            loop {
                every.tick().await;
                let ping = Ping { client_time: Some(wire::timestamp(wire::true_now())) };
                if host.send(client_frame::Kind::Ping(ping)).is_err() {
                    break;
                }
            }
        })
    };
    let (state_tx, mut state_rx) = watch::channel(None);
    let enter = EnterRoom { room_id: room_id.clone(), join: true, ..Default::default() };
    match host.call(client_frame::Kind::EnterRoom(enter)).await.context("host enters the room")? {
        server_frame::Kind::EnterRoom(entered) => {
            note_state(&state_tx, entered.snapshot.and_then(|s| s.playback));
        }
        other => bail!("unexpected enter_room reply {other:?}"),
    }
    let hold = SetHoldGroupRequest { room_id: room_id.clone(), hold_group: false };
    if let Err(error) = host.call(client_frame::Kind::SetHoldGroup(hold)).await {
        eprintln!("bench sync: warning: host could not opt out of holding the group: {error:#}");
    }
    let state_pump = {
        let state_tx = state_tx.clone();
        tokio::spawn(async move {
            while let Some(frame) = host_events.recv().await {
                if let Some(server_frame::Kind::RoomEvent(RoomEvent {
                    kind: Some(room_event::Kind::PlaybackStateChanged(changed)),
                    ..
                })) = frame.kind
                {
                    note_state(&state_tx, changed.playback);
                }
            }
        })
    };

    // Viewers.
    let counters = Arc::new(Counters::default());
    let cancel = CancellationToken::new();
    let semaphore = Arc::new(Semaphore::new(args.join_concurrency.max(1)));
    let mut rng = Rng::new(args.seed);
    let mut handles = Vec::with_capacity(args.clients);
    let mut joins = Vec::with_capacity(args.clients);
    let mut tasks = Vec::with_capacity(args.clients);
    let join_started = Instant::now();
    for _ in 0..args.clients {
        let true_offset = rng.range(-args.clock_skew_s, args.clock_skew_s);
        let seed = rng.next_u64();
        let shared = Arc::new(Mutex::new(Shared {
            player: Player::default(),
            media: None,
            est_offset: None,
            clock_samples: 0,
            standing: Standing::InSync,
        }));
        handles.push(Handle { shared: shared.clone(), true_offset });
        let (joined_tx, joined_rx) = oneshot::channel();
        joins.push(joined_rx);
        let (url, cancel, semaphore) = (app.ws_url.clone(), cancel.clone(), semaphore.clone());
        let client = SimClient {
            room_id: room_id.clone(),
            token: token(&[])?,
            args: args.clone(),
            rng: Rng::new(seed),
            true_offset,
            shared,
            counters: counters.clone(),
            clock: ClockSync::new(8),
            ctrl: DriftController::new(DriftConfig {
                deadband: args.deadband_ms / 1e3,
                settle: args.settle_ms / 1e3,
                seek_threshold: args.seek_threshold_s,
                ..DriftConfig::default()
            }),
            group: None,
            last_version: 0,
            held: BTreeMap::new(),
            gap_since: None,
            snapshot_inflight: false,
            ready_at: None,
            seek_latency: 0.0,
            readiness_inflight: false,
            readiness_next: None,
            outbox: Vec::new(),
            next_ref: 0,
            joined: Some(joined_tx),
            permit: None,
        };
        tasks.push(tokio::spawn(async move {
            let Ok(permit) = semaphore.acquire_owned().await else { return };
            let client = SimClient { permit: Some(permit), ..client };
            if let Err(error) = client.run(url, cancel, seed).await {
                eprintln!("bench sync: client stopped: {error:#}");
            }
        }));
    }
    let mut join_failures: HashMap<String, usize> = HashMap::new();
    let mut joined = 0usize;
    for rx in joins {
        match tokio::time::timeout(Duration::from_secs(120), rx).await {
            Ok(Ok(Ok(()))) => joined += 1,
            Ok(Ok(Err(error))) => *join_failures.entry(format!("{error:#}")).or_default() += 1,
            Ok(Err(_)) => *join_failures.entry("client task ended".into()).or_default() += 1,
            Err(_) => *join_failures.entry("timeout".into()).or_default() += 1,
        }
    }
    let join_time = join_started.elapsed();
    eprintln!("bench sync: {joined}/{} clients joined in {:.1} s", args.clients, join_time.as_secs_f64());
    for (error, count) in &join_failures {
        eprintln!("bench sync:   join failed ×{count}: {error}");
    }
    if joined == 0 {
        cancel.cancel();
        bail!("no client could join the room");
    }

    // Let every clock estimate fill its window of 8 pings.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_secs(15) {
        let ready = handles.iter().filter(|h| lock(&h.shared).clock_samples >= 8).count();
        if ready >= joined {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "bench sync: clocks warmed up in {:.1} s; running {} rounds …",
        warm.elapsed().as_secs_f64(),
        args.rounds
    );

    let mut phases = Vec::new();
    let wait_limit = Duration::from_secs(30);
    for round in 0..args.rounds {
        let current = state_rx.borrow().clone();
        if current.as_ref().is_some_and(|s| s.status == PlaybackStatus::Playing as i32) {
            let reply =
                host.call(client_frame::Kind::Pause(PauseRequest { room_id: room_id.clone(), ..Default::default() }));
            let state = playback_of(reply.await.context("pause")?)?;
            let version = state.version;
            note_state(&state_tx, Some(state));
            wait_state(&mut state_rx, version, PlaybackStatus::Paused, wait_limit).await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let seek_to = 120.0 + 300.0 * round as f64;
        let next_media = if round % 2 == 0 { &args.media_b } else { &args.media_a };
        let commands = [
            (PhaseKind::Play, client_frame::Kind::Play(PlayRequest { room_id: room_id.clone(), ..Default::default() })),
            (
                PhaseKind::Seek,
                client_frame::Kind::Seek(SeekRequest {
                    room_id: room_id.clone(),
                    position: Some(wire::duration(seek_to)),
                    ..Default::default()
                }),
            ),
            (
                PhaseKind::ChangeMedia,
                client_frame::Kind::ChangeMedia(ChangeMediaRequest {
                    room_id: room_id.clone(),
                    media: Some(wire::asset(next_media)),
                    position: Some(wire::duration(0.0)),
                    autoplay: true,
                    ..Default::default()
                }),
            ),
        ];
        for (kind, command) in commands {
            let sent = wire::true_now();
            let reply = host.call(command).await.with_context(|| format!("round {} {}", round + 1, kind.name()))?;
            let state = playback_of(reply)?;
            let version = state.version;
            note_state(&state_tx, Some(state));
            let playing = wait_state(&mut state_rx, version, PlaybackStatus::Playing, wait_limit).await?;
            let group = Group::from(&playing);
            let mut instants = Vec::new();
            let steps = (SAMPLE_LAST / SAMPLE_STEP).round() as usize;
            for step in 0..=steps {
                let t = group.reference + step as f64 * SAMPLE_STEP;
                sleep_until_true(t).await;
                instants.push(sample(&handles, t, &group));
            }
            let cause = PlaybackCause::try_from(playing.cause)
                .map(|c| c.as_str_name().trim_start_matches("PLAYBACK_CAUSE_"))
                .unwrap_or("?");
            let run = PhaseRun { kind, round, lead: group.reference - sent, cause, instants };
            print_phase_line(&run, args.target_ms / 1e3, handles.len(), args.verbose);
            phases.push(run);
            sleep_until_true(group.reference + args.phase_s).await;
        }
    }

    cancel.cancel();
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    state_pump.abort();
    keepalive.abort();
    drop(host);
    let pass = report(&args, &phases, &counters, joined, join_time);
    app.stop();
    Ok(pass)
}

fn ms(seconds: f64) -> String {
    if seconds.is_nan() { "-".into() } else { format!("{:.1} ms", seconds * 1e3) }
}

fn print_phase_line(run: &PhaseRun, target: f64, clients: usize, verbose: bool) {
    let stats: Vec<&InstantSample> = run.instants.iter().filter(|i| i.after >= STATS_FROM - 1e-9).collect();
    let deviations: Vec<f64> = stats.iter().flat_map(|i| i.deviations()).collect();
    let summary = Summary::of(&deviations);
    let included = stats.iter().map(|i| i.positions.len()).min().unwrap_or(0);
    let series: Vec<(f64, f64)> = run.instants.iter().map(|i| (i.after, Summary::of(&i.deviations()).p99)).collect();
    let converged = match convergence(&series, target) {
        Some((at, 0)) => format!("{at:.2} s"),
        Some((at, later)) => format!("{at:.2} s ({later} later instants above)"),
        None => "never".into(),
    };
    eprintln!(
        "  round {} {:<12} start {:>5.2} s after the command ({:<13}) in sample ≥{included}/{clients}  p50 {}  p99 {}  max {}  converged {converged}",
        run.round + 1,
        run.kind.name(),
        run.lead,
        run.cause,
        ms(summary.p50),
        ms(summary.p99),
        ms(summary.max),
    );
    if verbose {
        for instant in &run.instants {
            let s = Summary::of(&instant.deviations());
            let e = &instant.excluded;
            eprintln!(
                "      +{:.2} s  in sample {:>4}  stalled {:>3} released {:>3} catch-up {:>3} other {:>3}  p50 {}  p99 {}  max {}",
                instant.after,
                instant.positions.len(),
                e.stalled,
                e.released,
                e.catching_up,
                e.not_playing,
                ms(s.p50),
                ms(s.p99),
                ms(s.max)
            );
        }
    }
}

/// Prints the result table; returns whether the target was met.
fn report(args: &SyncArgs, phases: &[PhaseRun], counters: &Counters, joined: usize, join_time: Duration) -> bool {
    let target = args.target_ms / 1e3;
    println!();
    println!(
        "Watch-party sync: {joined}/{} clients, {} rounds, one-way delay {}–{} ms, clock skew ±{} s, seed {}",
        args.clients, args.rounds, args.delay_min_ms, args.delay_max_ms, args.clock_skew_s, args.seed
    );
    println!(
        "joined in {:.1} s; samples every {SAMPLE_STEP} s from {STATS_FROM} s to {SAMPLE_LAST} s after each scheduled start",
        join_time.as_secs_f64()
    );
    println!();
    println!(
        "{:<13} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>16}",
        "phase",
        "samples",
        "p50 |dev|",
        "p99 |dev|",
        "max |dev|",
        "stalled",
        "released",
        "catch-up",
        "other",
        "converged med/max"
    );
    let mut all_dev = Vec::new();
    let mut all_abs = Vec::new();
    let mut all_offset = Vec::new();
    let mut all_excluded = Excluded::default();
    let mut all_conv: Vec<Option<f64>> = Vec::new();
    for kind in [PhaseKind::Play, PhaseKind::Seek, PhaseKind::ChangeMedia] {
        let runs: Vec<&PhaseRun> = phases.iter().filter(|p| p.kind == kind).collect();
        if runs.is_empty() {
            continue;
        }
        let mut dev = Vec::new();
        let mut excluded = Excluded::default();
        let mut conv = Vec::new();
        for run in &runs {
            let series: Vec<(f64, f64)> =
                run.instants.iter().map(|i| (i.after, Summary::of(&i.deviations()).p99)).collect();
            conv.push(convergence(&series, target).map(|(at, _)| at));
            for instant in run.instants.iter().filter(|i| i.after >= STATS_FROM - 1e-9) {
                dev.extend(instant.deviations());
                all_abs.extend(instant.positions.iter().map(|p| (p - instant.expected).abs()));
                all_offset.extend(instant.offset_errors.iter().map(|e| e.abs()));
                excluded.add(&instant.excluded);
            }
        }
        print_row(kind.name(), &dev, &excluded, &conv);
        all_dev.extend(dev);
        all_excluded.add(&excluded);
        all_conv.extend(conv);
    }
    print_row("overall", &all_dev, &all_excluded, &all_conv);
    println!();
    let abs = Summary::of(&all_abs);
    println!(
        "vs the true group position (server clock): p50 {}  p99 {}  max {}",
        ms(abs.p50),
        ms(abs.p99),
        ms(abs.max)
    );
    let offset = Summary::of(&all_offset);
    println!(
        "clock-offset estimation error |estimated − true| ({} samples): p50 {}  p99 {}  max {}",
        offset.count,
        ms(offset.p50),
        ms(offset.p99),
        ms(offset.max)
    );
    println!(
        "excluded client-samples: {} of {} (stalled = buffering at the instant, released = stalled past the ready timeout and catching up alone, catch-up = recovering from a mid-play stall, other = not playing this media)",
        all_excluded.total(),
        all_excluded.total() + all_dev.len() as u64
    );
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    println!(
        "client events: {} mid-play stalls, {} ready-timeout stalls, {} rate corrections, {} catch-up seeks, {} readiness reports, {} snapshot re-reads",
        load(&counters.mid_play_stalls),
        load(&counters.ready_stalls),
        load(&counters.rate_corrections),
        load(&counters.catch_up_seeks),
        load(&counters.readiness_reports),
        load(&counters.snapshots),
    );
    if let Ok(errors) = counters.errors.lock()
        && !errors.is_empty()
    {
        let list: Vec<String> = errors.iter().map(|(code, n)| format!("{code} ×{n}")).collect();
        println!("error frames: {}", list.join(", "));
    }
    let overall = Summary::of(&all_dev);
    let pass = overall.count > 0 && overall.p99 <= target;
    println!();
    println!(
        "{}: p99 spread (|position − median|, 1–5 s after each start) {} — target ≤ {}",
        if pass { "PASS" } else { "FAIL" },
        ms(overall.p99),
        ms(target)
    );
    pass
}

fn print_row(name: &str, deviations: &[f64], excluded: &Excluded, conv: &[Option<f64>]) {
    let s = Summary::of(deviations);
    let converged: Vec<f64> = conv.iter().flatten().copied().collect();
    let never = conv.len() - converged.len();
    let conv_text = if converged.is_empty() {
        "never".to_owned()
    } else {
        let max = converged.iter().copied().fold(f64::NAN, f64::max);
        let extra = if never > 0 { format!(" ({never} never)") } else { String::new() };
        format!("{:.2}/{:.2} s{extra}", median(&converged), max)
    };
    println!(
        "{:<13} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>16}",
        name,
        s.count,
        ms(s.p50),
        ms(s.p99),
        ms(s.max),
        excluded.stalled,
        excluded.released,
        excluded.catching_up,
        excluded.not_playing,
        conv_text
    );
}
