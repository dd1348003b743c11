/**
 * Conversions between protobuf well-known types and JavaScript milliseconds.
 * These keep sub-millisecond precision (the clock sync works in fractions of
 * a millisecond), unlike the integer helpers of @bufbuild/protobuf/wkt.
 */
import { create } from "@bufbuild/protobuf";
import { DurationSchema, TimestampSchema, type Duration, type Timestamp } from "@bufbuild/protobuf/wkt";

/** A Timestamp as (fractional) Unix milliseconds. */
export function timestampToMs(ts: Timestamp): number {
  return Number(ts.seconds) * 1000 + ts.nanos / 1e6;
}

/** Unix milliseconds (fractions allowed) as a Timestamp. */
export function msToTimestamp(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  let nanos = Math.round((ms - seconds * 1000) * 1e6);
  let secs = seconds;
  if (nanos >= 1e9) {
    secs += 1;
    nanos -= 1e9;
  }
  return create(TimestampSchema, { seconds: BigInt(secs), nanos });
}

/** A Duration as (fractional) milliseconds. */
export function durationToMs(d: Duration): number {
  return Number(d.seconds) * 1000 + d.nanos / 1e6;
}

/** Milliseconds (fractions allowed, may be negative) as a Duration. */
export function msToDuration(ms: number): Duration {
  // Seconds and nanos carry the same sign in a Duration.
  const sign = ms < 0 ? -1 : 1;
  const abs = Math.abs(ms);
  let seconds = Math.floor(abs / 1000);
  let nanos = Math.round((abs - seconds * 1000) * 1e6);
  if (nanos >= 1e9) {
    seconds += 1;
    nanos -= 1e9;
  }
  return create(DurationSchema, { seconds: BigInt(sign * seconds), nanos: sign * nanos });
}

/** Optional Duration → ms, with a default when unset. */
export function optDurationMs(d: Duration | undefined, fallback: number): number {
  return d ? durationToMs(d) : fallback;
}

/** The SDK's default local clock: wall time read once, advanced by the monotonic clock (docs/sync.md §1). */
export function defaultNow(): () => number {
  const perf = (globalThis as { performance?: { timeOrigin?: number; now(): number } }).performance;
  if (perf && typeof perf.now === "function" && typeof perf.timeOrigin === "number") {
    const origin = perf.timeOrigin;
    return () => origin + perf.now();
  }
  return () => Date.now();
}

/** Timer functions, injectable so tests can drive time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const defaultTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};
