/** Structural shapes of google.protobuf.Duration / Timestamp as protobuf-es v2 generates them. */
export interface DurationLike {
  seconds: bigint;
  nanos: number;
}
export type TimestampLike = DurationLike;

/** Milliseconds of a Duration; undefined stays undefined (an unset field is not "0 s"). */
export function durationMs(d: DurationLike | undefined): number | undefined {
  if (!d) return undefined;
  return Number(d.seconds) * 1000 + d.nanos / 1e6;
}

/** Epoch milliseconds of a Timestamp. */
export function timestampMs(t: TimestampLike | undefined): number | undefined {
  return durationMs(t);
}

/** A Duration init shape for a number of milliseconds (negative values clamp to 0). */
export function msToDuration(ms: number): { seconds: bigint; nanos: number } {
  const clamped = Math.max(0, Math.round(ms));
  return { seconds: BigInt(Math.floor(clamped / 1000)), nanos: (clamped % 1000) * 1_000_000 };
}

/** Player-style clock: 0:05, 12:34, 1:02:03. */
export function formatClock(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Short local time of day for chat lines, e.g. "20:16". */
export function formatTimeOfDay(epochMs: number, locale?: string): string {
  return new Date(epochMs).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
}

/** "in 5 min", "2 h ago"… for schedule hints; coarse on purpose. */
export function formatRelative(targetMs: number, nowMs: number): string {
  const diff = targetMs - nowMs;
  const abs = Math.abs(diff);
  let text: string;
  if (abs < 45_000) return diff >= 0 ? "in a moment" : "just now";
  if (abs < 3_600_000) text = `${Math.round(abs / 60_000)} min`;
  else if (abs < 86_400_000) text = `${Math.round(abs / 3_600_000)} h`;
  else text = `${Math.round(abs / 86_400_000)} d`;
  return diff >= 0 ? `in ${text}` : `${text} ago`;
}

/** Seconds left until a deadline, for countdowns (never negative). */
export function secondsLeft(deadlineMs: number | undefined, nowMs: number): number | undefined {
  if (deadlineMs === undefined) return undefined;
  return Math.max(0, Math.ceil((deadlineMs - nowMs) / 1000));
}
