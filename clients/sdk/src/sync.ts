/**
 * Pure synchronised-playback maths of docs/sync.md "Client algorithm
 * (normative)" §3–§7. No I/O: MediaSync drives a player with these, and the
 * unit tests pin them to the spec.
 */
import { PlaybackStatus, type PlaybackState } from "./gen/hearth/rooms/v1/rooms_pb.js";
import { durationToMs, timestampToMs } from "./time.js";

/** Drift below this does not start a correction (ms). SHOULD NOT change. */
export const DEAD_BAND_MS = 100;
/** A running rate correction continues until drift is below this (ms). SHOULD NOT change. */
export const SETTLE_MS = 20;
/** Drift above this is corrected by seeking (ms). Configurable per player. */
export const SEEK_THRESHOLD_MS = 2500;
/** Bounds of the correction rate, relative to the group rate. SHOULD NOT change. */
export const RATE_MIN = 0.95;
export const RATE_MAX = 1.05;
/** Time constant of the rate correction (ms): rate = 1 − drift / HORIZON. Configurable. */
export const HORIZON_MS = 2000;
/** How long to hold room events after a version gap (ms). Not configurable. */
export const GAP_HOLD_MS = 1000;
/** Period of the correction loop (ms); at most 250. */
export const TICK_MS = 250;

/** The state's position in ms (0 when unset, e.g. IDLE). */
export function positionMs(state: PlaybackState): number {
  return state.position ? durationToMs(state.position) : 0;
}

/** The state's reference time in server Unix ms (NaN when unset). */
export function referenceTimeMs(state: PlaybackState): number {
  return state.referenceTime ? timestampToMs(state.referenceTime) : Number.NaN;
}

/** The media duration in ms, when known. */
export function mediaDurationMs(state: PlaybackState): number | undefined {
  const d = state.mediaSummary?.duration;
  if (!d) return undefined;
  const ms = durationToMs(d);
  return ms > 0 ? ms : undefined;
}

/**
 * Where the group is at server time `serverNowMs` (sync.md §3), in media ms:
 * `position + (t − referenceTime) × rate` while PLAYING and t ≥
 * referenceTime, else `position` (paused, waiting, or a scheduled start
 * still in the future), capped at the media duration. Live media has no
 * shared position: the result is NaN (steer with `liveDriftMs`).
 */
export function expectedPositionMs(state: PlaybackState, serverNowMs: number): number {
  if (state.live) return Number.NaN;
  const base = positionMs(state);
  let p = base;
  if (state.status === PlaybackStatus.PLAYING) {
    const ref = referenceTimeMs(state);
    if (Number.isFinite(ref) && serverNowMs >= ref) p = base + (serverNowMs - ref) * effectiveRate(state);
  }
  const duration = mediaDurationMs(state);
  return duration !== undefined ? Math.min(p, duration) : p;
}

/** True when the state is PLAYING with a start still in the future (sync.md §5). */
export function isScheduledStart(state: PlaybackState, serverNowMs: number): boolean {
  if (state.status !== PlaybackStatus.PLAYING || state.live) return false;
  const ref = referenceTimeMs(state);
  return Number.isFinite(ref) && serverNowMs < ref;
}

/** The group rate (1.0 when unset). */
export function effectiveRate(state: PlaybackState): number {
  return state.rate > 0 ? state.rate : 1;
}

export interface DriftParams {
  deadBandMs?: number;
  settleMs?: number;
  seekThresholdMs?: number;
  horizonMs?: number;
}

/** What to do about a drift (sync.md §4). */
export type DriftDecision =
  | { action: "seek"; correcting: false; rate: number }
  | { action: "rate"; correcting: true; rate: number }
  | { action: "none"; correcting: false; rate: number };

/**
 * The correction for `driftMs` (player minus expected; > 0 means ahead),
 * given whether a rate correction is already running (hysteresis: start at
 * DEAD_BAND, continue down to SETTLE).
 */
export function decideDrift(driftMs: number, correcting: boolean, groupRate: number, params: DriftParams = {}): DriftDecision {
  const deadBand = params.deadBandMs ?? DEAD_BAND_MS;
  const settle = params.settleMs ?? SETTLE_MS;
  const seekThreshold = params.seekThresholdMs ?? SEEK_THRESHOLD_MS;
  const horizon = params.horizonMs ?? HORIZON_MS;
  const abs = Math.abs(driftMs);
  if (abs > seekThreshold) return { action: "seek", correcting: false, rate: groupRate };
  if (abs >= deadBand || (correcting && abs >= settle)) {
    const factor = clamp(1 - driftMs / horizon, RATE_MIN, RATE_MAX);
    return { action: "rate", correcting: true, rate: groupRate * factor };
  }
  return { action: "none", correcting: false, rate: groupRate };
}

/**
 * Live drift (sync.md §7), ms; > 0 means closer to the live edge than the
 * target (ahead). With program date-time (preferred) pass `programTimeMs`,
 * the wall-clock time of the frame shown; otherwise pass the player's live
 * edge and position (media ms).
 */
export function liveDriftMs(
  targetLatencyMs: number,
  at:
    | { programTimeMs: number; serverNowMs: number }
    | { liveEdgeMs: number; positionMs: number },
): number {
  if ("programTimeMs" in at) return at.programTimeMs - (at.serverNowMs - targetLatencyMs);
  return targetLatencyMs - (at.liveEdgeMs - at.positionMs);
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
