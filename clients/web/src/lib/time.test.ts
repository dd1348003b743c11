import { describe, expect, it } from "vitest";
import { durationMs, formatClock, formatRelative, msToDuration, secondsLeft, timestampMs } from "./time";

describe("durations", () => {
  it("converts both ways", () => {
    expect(durationMs({ seconds: 1n, nanos: 500_000_000 })).toBe(1500);
    expect(durationMs(undefined)).toBeUndefined();
    expect(timestampMs({ seconds: 1_700_000_000n, nanos: 123_000_000 })).toBe(1_700_000_000_123);
    expect(msToDuration(61_250)).toEqual({ seconds: 61n, nanos: 250_000_000 });
    expect(msToDuration(-5)).toEqual({ seconds: 0n, nanos: 0 });
  });
});

describe("formatClock", () => {
  it("formats minutes and hours", () => {
    expect(formatClock(5_000)).toBe("0:05");
    expect(formatClock(754_999)).toBe("12:34");
    expect(formatClock(3_723_000)).toBe("1:02:03");
    expect(formatClock(Number.NaN)).toBe("0:00");
  });
});

describe("formatRelative and secondsLeft", () => {
  it("is coarse and signed", () => {
    expect(formatRelative(10_000, 0)).toBe("in a moment");
    expect(formatRelative(0, 10_000)).toBe("just now");
    expect(formatRelative(5 * 60_000, 0)).toBe("in 5 min");
    expect(formatRelative(0, 2 * 3_600_000)).toBe("2 h ago");
    expect(formatRelative(3 * 86_400_000, 0)).toBe("in 3 d");
  });
  it("counts down to zero", () => {
    expect(secondsLeft(10_500, 0)).toBe(11);
    expect(secondsLeft(0, 10_000)).toBe(0);
    expect(secondsLeft(undefined, 0)).toBeUndefined();
  });
});
