import { PlaybackCause, PlaybackStatus } from "./proto";

/** What `data-testid="sync-status"` shows: the group state as this viewer experiences it. */
export type SyncStatus = "waiting" | "buffering" | "playing" | "paused" | "ended" | "live";

export interface SyncStatusInput {
  status: PlaybackStatus;
  cause: PlaybackCause;
  live: boolean;
  /** The local player is stalled or still loading while the group plays. */
  localBuffering: boolean;
  /** Server time now and the state's reference time, to tell a scheduled start from playing. */
  serverNowMs: number;
  referenceTimeMs: number | undefined;
  /** Expected group position and media duration, when known, to tell "ended" at the end of the media. */
  expectedPositionMs: number | undefined;
  durationMs: number | undefined;
}

/**
 * Maps the server-authoritative PlaybackState plus local player health to one word.
 * A scheduled start (PLAYING with a future reference time) is still "waiting": nobody plays yet.
 */
export function syncStatus(i: SyncStatusInput): SyncStatus {
  if (i.live && i.status !== PlaybackStatus.IDLE) return "live";
  switch (i.status) {
    case PlaybackStatus.PAUSED:
      return "paused";
    case PlaybackStatus.WAITING:
      return "waiting";
    case PlaybackStatus.IDLE:
      return i.cause === PlaybackCause.ENDED ? "ended" : "waiting";
    case PlaybackStatus.PLAYING: {
      if (i.referenceTimeMs !== undefined && i.serverNowMs < i.referenceTimeMs) return "waiting";
      if (
        i.durationMs !== undefined &&
        i.durationMs > 0 &&
        i.expectedPositionMs !== undefined &&
        i.expectedPositionMs >= i.durationMs
      ) {
        return "ended";
      }
      return i.localBuffering ? "buffering" : "playing";
    }
    default:
      return "waiting";
  }
}

/** Human label for the status pill (the test id carries the raw word). */
export function syncStatusLabel(s: SyncStatus): string {
  switch (s) {
    case "waiting":
      return "Waiting for everyone";
    case "buffering":
      return "Buffering";
    case "playing":
      return "In sync";
    case "paused":
      return "Paused";
    case "ended":
      return "Ended";
    case "live":
      return "Live";
  }
}
