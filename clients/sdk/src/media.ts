/**
 * MediaSync: keeps one media element on the room's group playback state, as
 * docs/sync.md "Client algorithm (normative)" §4–§7 specify: drift
 * correction by rate within ±5 % and by seeking past 2.5 s, scheduled
 * starts, live latency steering, and readiness reports (§6).
 *
 * It steers; it does not load. The app loads `session.playback.media` into
 * the element (e.g. with hls.js) whenever the "playback" event brings new
 * media, and MediaSync does the rest.
 */
import type { ServerClock } from "./clock.js";
import { PlaybackStatus, Readiness, type PlaybackState } from "./gen/hearth/rooms/v1/rooms_pb.js";
import type { RoomSession } from "./room.js";
import {
  DEAD_BAND_MS,
  HORIZON_MS,
  SEEK_THRESHOLD_MS,
  TICK_MS,
  decideDrift,
  effectiveRate,
  expectedPositionMs,
  isScheduledStart,
  liveDriftMs,
  positionMs,
  referenceTimeMs,
} from "./sync.js";
import { defaultTimers, durationToMs, type Timers } from "./time.js";

/** The part of HTMLMediaElement MediaSync uses, so tests and other players can provide it. */
export interface MediaElementLike {
  /** Seconds. */
  currentTime: number;
  readonly paused: boolean;
  playbackRate: number;
  /** HTMLMediaElement.readyState (3 = HAVE_FUTURE_DATA: able to play). */
  readonly readyState: number;
  readonly seeking?: boolean | undefined;
  readonly seekable?: { readonly length: number; end(index: number): number } | undefined;
  play(): Promise<void> | void;
  pause(): void;
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/** What MediaSync does with play/pause/seek the user makes on the element itself. */
export type LocalControl =
  /** Leave sync on a local pause (sync.md §4 "Local pauses"); a local play rejoins at expected(now). */
  | "leave"
  /** Turn them into group commands (play, pause at the player position, seek); for hosts with native controls. */
  | "command";

export interface MediaSyncOptions {
  /** Drift above this is corrected by seeking (default 2500 ms). */
  seekThresholdMs?: number;
  /** Rate-correction time constant (default 2000 ms). */
  horizonMs?: number;
  /** Correction loop period (default 250 ms; at most 250). */
  tickMs?: number;
  /** Report READY/BUFFERING/FAILED to the room (default true). */
  reportReadiness?: boolean;
  /** Default "leave". */
  localControl?: LocalControl;
  /** Live: wall-clock Unix ms of the frame shown, from program date-time (hls.js: `hls.playingDate?.getTime()`). Preferred. */
  programTimeMs?: () => number | undefined;
  /** Live: the player's live edge in media ms (default: the end of `seekable`). */
  liveEdgeMs?: () => number | undefined;
  /** Live: the player's minimum safe latency; lower targets are clamped to it (sync.md §7). */
  minLiveLatencyMs?: number;
  /** Called when the browser refuses to start playback (autoplay policy): show a "tap to join" control. */
  onPlayBlocked?: (err: unknown) => void;
  timers?: Timers;
}

const HAVE_FUTURE_DATA = 3;
const DEFAULT_LIVE_LATENCY_MS = 6000;
const MEDIA_EVENTS = ["play", "pause", "seeking", "seeked", "waiting", "stalled", "playing", "canplay", "canplaythrough", "error"] as const;

export class MediaSync {
  private readonly session: RoomSession;
  private readonly media: MediaElementLike;
  private readonly clock: ServerClock;
  private readonly opts: MediaSyncOptions;
  private readonly timers: Timers;
  private readonly tickMs: number;

  private running = false;
  private tickTimer: unknown;
  private startTimer: unknown;
  private startTimerVersion: bigint | undefined;
  private unsubscribe: (() => void)[] = [];
  private readonly handlers = new Map<string, () => void>();

  private driftValue = Number.NaN;
  private correcting = false;
  private seekLatency = 0;
  private seekStartedAt: number | undefined;
  private stalled = false;
  private failed = false;
  private userPaused = false;
  private playBlocked = false;
  private lastVersion: bigint | undefined;
  private lastReport: { version: bigint; readiness: Readiness } | undefined;
  private readonly own = { play: 0, pause: 0, seeking: 0 };

  constructor(session: RoomSession, media: MediaElementLike, clock: ServerClock, opts: MediaSyncOptions = {}) {
    this.session = session;
    this.media = media;
    this.clock = clock;
    this.opts = opts;
    this.timers = opts.timers ?? defaultTimers;
    this.tickMs = Math.min(TICK_MS, opts.tickMs ?? TICK_MS);
  }

  /** Player position minus the group's expected position, ms (> 0: ahead); NaN when not steering. */
  get driftMs(): number {
    return this.driftValue;
  }

  /** True while a rate correction runs. */
  get isCorrecting(): boolean {
    return this.correcting;
  }

  /** The measured time a seek takes to resume (EMA), ms; seeks aim this far ahead. */
  get seekLatencyMs(): number {
    return this.seekLatency;
  }

  /** True after a local pause under `localControl: "leave"`, until the user plays again or the group state changes. */
  get outOfSync(): boolean {
    return this.userPaused;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const type of MEDIA_EVENTS) {
      const h = () => this.onMediaEvent(type);
      this.handlers.set(type, h);
      this.media.addEventListener(type, h);
    }
    this.unsubscribe.push(this.session.on("playback", () => this.tick()));
    this.unsubscribe.push(this.session.on("closed", () => this.stop()));
    this.tick();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const [type, h] of this.handlers) this.media.removeEventListener(type, h);
    this.handlers.clear();
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    this.timers.clearTimeout(this.tickTimer);
    this.clearStartTimer();
    this.driftValue = Number.NaN;
  }

  /** One pass of the correction loop (also run every tick). */
  tick(): void {
    if (!this.running) return;
    this.timers.clearTimeout(this.tickTimer);
    try {
      this.step();
    } finally {
      if (this.running) this.tickTimer = this.timers.setTimeout(() => this.tick(), this.tickMs);
    }
  }

  private step(): void {
    const s = this.session.playback;
    if (s.version !== this.lastVersion) this.onNewVersion(s);
    const me = this.session.myUserId;
    if (s.status === PlaybackStatus.IDLE || s.status === PlaybackStatus.UNSPECIFIED || (me !== undefined && s.notEntitledUserIds.includes(me))) {
      this.driftValue = Number.NaN;
      this.clearStartTimer();
      return;
    }
    if (this.failed) return;
    if (s.live) {
      this.steerLive(s);
      return;
    }
    const t = this.clock.now();
    const pos = this.positionMs();

    if (s.status === PlaybackStatus.WAITING || s.status === PlaybackStatus.PAUSED) {
      this.clearStartTimer();
      this.correcting = false;
      this.ensurePaused();
      const target = positionMs(s);
      if (Math.abs(pos - target) >= DEAD_BAND_MS && !this.media.seeking) this.seekTo(target, false);
      this.setRate(effectiveRate(s));
      this.driftValue = pos - target;
      this.reportBuffered(s, target);
      return;
    }

    // PLAYING
    if (isScheduledStart(s, t)) {
      this.scheduledStart(s, pos);
      return;
    }
    if (this.userPaused) {
      this.driftValue = Number.NaN;
      return;
    }
    if (this.media.paused) this.ensurePlaying();
    if (this.media.seeking || this.stalled || this.media.readyState < HAVE_FUTURE_DATA) {
      // Let it settle (sync.md §4).
      this.reportBuffered(s, pos);
      return;
    }
    const drift = pos - expectedPositionMs(s, t);
    this.driftValue = drift;
    const decision = decideDrift(drift, this.correcting, effectiveRate(s), this.driftParams());
    this.correcting = decision.correcting;
    if (decision.action === "seek") {
      this.seekTo(expectedPositionMs(s, t + this.seekLatency), true);
    }
    this.setRate(decision.rate);
    this.reportBuffered(s, pos);
  }

  /** sync.md §5: pause at the start position, report READY once buffered, start at reference_time. */
  private scheduledStart(s: PlaybackState, pos: number): void {
    this.correcting = false;
    this.ensurePaused();
    const target = positionMs(s);
    if (Math.abs(pos - target) >= DEAD_BAND_MS && !this.media.seeking) this.seekTo(target, false);
    this.driftValue = pos - target;
    this.reportBuffered(s, target);
    if (this.startTimerVersion === s.version) return;
    this.clearStartTimer();
    this.startTimerVersion = s.version;
    const ref = referenceTimeMs(s);
    const arm = () => {
      const remaining = ref - this.clock.now();
      if (remaining > 1) {
        this.startTimer = this.timers.setTimeout(arm, remaining);
        return;
      }
      this.startTimer = undefined;
      const cur = this.session.playback;
      if (cur.version !== s.version || cur.status !== PlaybackStatus.PLAYING || this.userPaused) return;
      // A start d ms late is d ms of drift, which §4 corrects.
      this.setRate(effectiveRate(cur));
      this.ensurePlaying();
    };
    arm();
  }

  /** sync.md §7. */
  private steerLive(s: PlaybackState): void {
    this.clearStartTimer();
    if (this.userPaused) {
      this.driftValue = Number.NaN;
      return;
    }
    if (this.media.paused) this.ensurePlaying();
    const pos = this.positionMs();
    if (this.media.seeking || this.stalled || this.media.readyState < HAVE_FUTURE_DATA) {
      this.reportBuffered(s, pos);
      return;
    }
    let target = s.targetLatency ? durationToMs(s.targetLatency) : DEFAULT_LIVE_LATENCY_MS;
    if (this.opts.minLiveLatencyMs !== undefined) target = Math.max(target, this.opts.minLiveLatencyMs);
    let drift: number;
    const programTime = this.opts.programTimeMs?.();
    if (programTime !== undefined && Number.isFinite(programTime)) {
      drift = liveDriftMs(target, { programTimeMs: programTime, serverNowMs: this.clock.now() });
    } else {
      const edge = this.opts.liveEdgeMs ? this.opts.liveEdgeMs() : this.seekableEndMs();
      if (edge === undefined || !Number.isFinite(edge)) {
        this.driftValue = Number.NaN;
        this.reportBuffered(s, pos);
        return;
      }
      drift = liveDriftMs(target, { liveEdgeMs: edge, positionMs: pos });
    }
    this.driftValue = drift;
    const decision = decideDrift(drift, this.correcting, 1, this.driftParams());
    this.correcting = decision.correcting;
    // Ahead (drift > 0) means too close to the edge: move back by the drift.
    if (decision.action === "seek") this.seekTo(Math.max(0, pos - drift), true);
    this.setRate(decision.rate);
    this.reportBuffered(s, pos);
  }

  private onNewVersion(s: PlaybackState): void {
    this.lastVersion = s.version;
    // A deliberate group transition brings a user who paused locally back in.
    this.userPaused = false;
    this.playBlocked = false;
    this.failed = false;
    this.correcting = false;
    if (this.startTimerVersion !== s.version) this.clearStartTimer();
  }

  private onMediaEvent(type: (typeof MEDIA_EVENTS)[number]): void {
    const s = this.session.playback;
    switch (type) {
      case "play":
        if (this.own.play > 0) this.own.play--;
        else this.onUserPlay(s);
        break;
      case "pause":
        if (this.own.pause > 0) this.own.pause--;
        else this.onUserPause(s);
        break;
      case "seeking":
        if (this.own.seeking > 0) this.own.seeking--;
        else this.onUserSeek(s);
        break;
      case "seeked":
        if (this.seekStartedAt !== undefined && this.media.readyState >= HAVE_FUTURE_DATA) this.measureSeek();
        break;
      case "waiting":
        this.stalled = true;
        this.report(s.version, Readiness.BUFFERING);
        break;
      case "stalled":
        if (this.media.readyState < HAVE_FUTURE_DATA) {
          this.stalled = true;
          this.report(s.version, Readiness.BUFFERING);
        }
        break;
      case "playing":
      case "canplay":
      case "canplaythrough":
        this.stalled = false;
        if (this.seekStartedAt !== undefined) this.measureSeek();
        break;
      case "error":
        // sync.md §6: FAILED releases this member at once.
        this.failed = true;
        this.report(s.version, Readiness.FAILED);
        return;
    }
    if (type === "playing" || type === "canplay" || type === "seeked") this.tick();
  }

  private onUserPlay(s: PlaybackState): void {
    this.userPaused = false;
    this.playBlocked = false;
    if (this.opts.localControl === "command" && !s.live && s.status !== PlaybackStatus.PLAYING) {
      // sync.md §4: never start at once on a local play; wait for the group state.
      this.ensurePaused();
      void this.session.play().catch(() => undefined);
    }
  }

  private onUserPause(s: PlaybackState): void {
    if (this.opts.localControl === "command" && !s.live && s.status === PlaybackStatus.PLAYING) {
      // Pause the group on the frame the user saw.
      void this.session.pause({ positionMs: this.positionMs() }).catch(() => undefined);
      return;
    }
    this.userPaused = true;
    this.correcting = false;
  }

  private onUserSeek(s: PlaybackState): void {
    if (this.opts.localControl === "command" && !s.live) {
      void this.session.seek(this.positionMs()).catch(() => undefined);
    }
  }

  private measureSeek(): void {
    if (this.seekStartedAt === undefined) return;
    const took = this.localNow() - this.seekStartedAt;
    this.seekStartedAt = undefined;
    if (!(took >= 0) || took > 30_000) return;
    this.seekLatency = this.seekLatency === 0 ? took : 0.7 * this.seekLatency + 0.3 * took;
  }

  /** Readiness for this version (sync.md §6): READY once able to play at the target, else BUFFERING. */
  private reportBuffered(s: PlaybackState, targetMs: number): void {
    const atTarget = Math.abs(this.positionMs() - targetMs) < DEAD_BAND_MS || s.status === PlaybackStatus.PLAYING;
    const ready = !this.stalled && !this.media.seeking && this.media.readyState >= HAVE_FUTURE_DATA && atTarget;
    this.report(s.version, ready ? Readiness.READY : Readiness.BUFFERING);
  }

  /** Sends only transitions, never the same report twice (sync.md §6 "Only changes"). */
  private report(version: bigint, readiness: Readiness): void {
    if (this.opts.reportReadiness === false || version === 0n) return;
    const last = this.lastReport;
    if (last && last.version === version && last.readiness === readiness) return;
    // A BUFFERING report before anything is loaded for a new version is
    // still useful (shown to others); but never report an older version.
    if (last && version < last.version) return;
    this.lastReport = { version, readiness };
    const pos = this.positionMs();
    const opts: { playbackVersion: bigint; positionMs?: number } = { playbackVersion: version };
    if (Number.isFinite(pos)) opts.positionMs = pos;
    this.session.reportReadiness(readiness, opts).catch(() => {
      // Stale or transient: the next transition reports again.
      if (this.lastReport?.version === version && this.lastReport.readiness === readiness) this.lastReport = undefined;
    });
  }

  private ensurePaused(): void {
    if (this.media.paused) return;
    this.own.pause++;
    this.media.pause();
  }

  private ensurePlaying(): void {
    // After a refusal, wait for a user gesture (or a new group state)
    // instead of retrying every tick.
    if (!this.media.paused || this.playBlocked) return;
    this.own.play++;
    let result: Promise<void> | void;
    try {
      result = this.media.play();
    } catch (err) {
      this.playRefused(err);
      return;
    }
    if (result && typeof (result as Promise<void>).catch === "function") {
      (result as Promise<void>).catch((err: unknown) => this.playRefused(err));
    }
  }

  private playRefused(err: unknown): void {
    // No 'play' event follows a refused play(): undo the expectation.
    if (this.own.play > 0) this.own.play--;
    // Only the autoplay policy needs the user; an AbortError (new media
    // loaded while play() was pending) is retried by the next tick.
    if ((err as { name?: unknown } | null)?.name !== "NotAllowedError") return;
    this.playBlocked = true;
    this.opts.onPlayBlocked?.(err);
  }

  private seekTo(ms: number, measure: boolean): void {
    this.own.seeking++;
    this.media.currentTime = Math.max(0, ms) / 1000;
    this.seekStartedAt = measure ? this.localNow() : undefined;
  }

  private setRate(rate: number): void {
    if (Math.abs(this.media.playbackRate - rate) > 1e-4) this.media.playbackRate = rate;
  }

  private clearStartTimer(): void {
    if (this.startTimer !== undefined) this.timers.clearTimeout(this.startTimer);
    this.startTimer = undefined;
    this.startTimerVersion = undefined;
  }

  private positionMs(): number {
    return this.media.currentTime * 1000;
  }

  private seekableEndMs(): number | undefined {
    const r = this.media.seekable;
    if (!r || r.length === 0) return undefined;
    return r.end(r.length - 1) * 1000;
  }

  private localNow(): number {
    return this.clock.now() - this.clock.offsetMs;
  }

  private driftParams(): { seekThresholdMs: number; horizonMs: number } {
    return {
      seekThresholdMs: this.opts.seekThresholdMs ?? SEEK_THRESHOLD_MS,
      horizonMs: this.opts.horizonMs ?? HORIZON_MS,
    };
  }
}
