import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { ClockEstimator, ServerClock, clockSample } from "./clock.js";
import { PlaybackStateSchema, PlaybackStatus, type PlaybackState } from "./gen/hearth/rooms/v1/rooms_pb.js";
import { decideDrift, expectedPositionMs, isScheduledStart, liveDriftMs } from "./sync.js";
import { msToDuration, msToTimestamp } from "./time.js";

const T0 = 1_800_000_000_000;

function state(init: { status: PlaybackStatus; positionMs?: number; refMs?: number; rate?: number; durationMs?: number; live?: boolean }): PlaybackState {
  return create(PlaybackStateSchema, {
    status: init.status,
    position: init.positionMs !== undefined ? msToDuration(init.positionMs) : undefined,
    referenceTime: init.refMs !== undefined ? msToTimestamp(init.refMs) : undefined,
    rate: init.rate ?? 1,
    live: init.live ?? false,
    mediaSummary: init.durationMs !== undefined ? { duration: msToDuration(init.durationMs) } : undefined,
    version: 42n,
  });
}

describe("expectedPositionMs (sync.md §3)", () => {
  it("holds the position while paused, whatever the time", () => {
    const s = state({ status: PlaybackStatus.PAUSED, positionMs: 754_250, refMs: T0 });
    assert.equal(expectedPositionMs(s, T0 + 60_000), 754_250);
  });

  it("holds the position while waiting", () => {
    const s = state({ status: PlaybackStatus.WAITING, positionMs: 1_500_000, refMs: T0 });
    assert.equal(expectedPositionMs(s, T0 + 3_000), 1_500_000);
  });

  it("advances at rate 1 while playing", () => {
    const s = state({ status: PlaybackStatus.PLAYING, positionMs: 754_250, refMs: T0 });
    assert.equal(expectedPositionMs(s, T0 + 2_500), 756_750);
  });

  it("advances at the group rate (1.5)", () => {
    const s = state({ status: PlaybackStatus.PLAYING, positionMs: 10_000, refMs: T0, rate: 1.5 });
    assert.equal(expectedPositionMs(s, T0 + 4_000), 16_000);
  });

  it("stays at the start position before a scheduled start", () => {
    const s = state({ status: PlaybackStatus.PLAYING, positionMs: 1_500_000, refMs: T0 + 600 });
    assert.equal(isScheduledStart(s, T0), true);
    assert.equal(expectedPositionMs(s, T0), 1_500_000);
    assert.equal(expectedPositionMs(s, T0 + 599), 1_500_000);
    assert.equal(isScheduledStart(s, T0 + 600), false);
    assert.equal(expectedPositionMs(s, T0 + 1_600), 1_501_000);
  });

  it("holds at the end of the media", () => {
    const s = state({ status: PlaybackStatus.PLAYING, positionMs: 8_939_000, refMs: T0, durationMs: 8_940_000 });
    assert.equal(expectedPositionMs(s, T0 + 10_000), 8_940_000);
  });

  it("has no shared position for live media", () => {
    const s = state({ status: PlaybackStatus.PLAYING, refMs: T0, live: true });
    assert.ok(Number.isNaN(expectedPositionMs(s, T0 + 1000)));
    assert.equal(isScheduledStart(s, T0 - 1000), false);
  });

  it("keeps sub-millisecond precision of positions and reference times", () => {
    const s = state({ status: PlaybackStatus.PLAYING, positionMs: 1000.5, refMs: T0 + 0.25 });
    assert.equal(expectedPositionMs(s, T0 + 100.25), 1100.5);
  });
});

describe("decideDrift (sync.md §4)", () => {
  it("does nothing inside the dead band", () => {
    assert.deepEqual(decideDrift(99, false, 1), { action: "none", correcting: false, rate: 1 });
    assert.deepEqual(decideDrift(-99, false, 1.5), { action: "none", correcting: false, rate: 1.5 });
  });

  it("nudges the rate from the dead band on, clamped to ±5 %", () => {
    const ahead = decideDrift(100, false, 1);
    assert.equal(ahead.action, "rate");
    assert.equal(ahead.rate, 0.95); // 1 − 100/2000 = 0.95
    const slightlyAhead = decideDrift(150, false, 1);
    assert.equal(slightlyAhead.rate, 0.95); // clamped
    const behind = decideDrift(-2000, false, 1);
    assert.equal(behind.rate, 1.05);
  });

  it("scales the correction by the group rate", () => {
    assert.equal(decideDrift(-500, false, 2).rate, 2 * 1.05);
  });

  it("continues a running correction down to SETTLE (hysteresis), then stops", () => {
    const mid = decideDrift(50, true, 1);
    assert.equal(mid.action, "rate");
    assert.ok(Math.abs(mid.rate - 0.975) < 1e-12); // 1 − 50/2000
    assert.equal(decideDrift(50, false, 1).action, "none");
    assert.deepEqual(decideDrift(19, true, 1), { action: "none", correcting: false, rate: 1 });
  });

  it("seeks beyond the seek threshold", () => {
    assert.equal(decideDrift(2500, false, 1).action, "rate");
    assert.equal(decideDrift(2501, false, 1).action, "seek");
    assert.deepEqual(decideDrift(-5000, true, 1.5), { action: "seek", correcting: false, rate: 1.5 });
    assert.equal(decideDrift(1200, false, 1, { seekThresholdMs: 1000 }).action, "seek");
  });
});

describe("liveDriftMs (sync.md §7)", () => {
  it("uses program date-time when the stream has it", () => {
    // Showing the frame of server time T0 − 5 s with a 6 s target: 1 s ahead (closer to the edge).
    assert.equal(liveDriftMs(6000, { programTimeMs: T0 - 5000, serverNowMs: T0 }), 1000);
  });

  it("falls back to the player's live edge", () => {
    // 8 s behind the edge with a 6 s target: 2 s behind.
    assert.equal(liveDriftMs(6000, { liveEdgeMs: 100_000, positionMs: 92_000 }), -2000);
  });
});

describe("clock sync (sync.md §1)", () => {
  it("computes rtt and offset NTP-style", () => {
    // Sent at 1000, server stamped 5060, received at 1100: offset 4010.
    assert.deepEqual(clockSample(1000, 1100, 5060), { rttMs: 100, offsetMs: 4010 });
  });

  it("uses the sample with the lowest rtt among the last 8, with asymmetric delays", () => {
    const est = new ClockEstimator();
    const trueOffset = 250;
    // [uplink, downlink] delays: asymmetric queuing skews the high-rtt samples.
    const delays: [number, number][] = [
      [80, 10],
      [10, 120],
      [40, 40],
      [6, 9], // best: rtt 15, error (6 − 9) / 2 = −1.5
      [200, 5],
      [30, 90],
      [12, 30],
      [60, 60],
    ];
    let t = 10_000;
    for (const [up, down] of delays) {
      const t0 = t;
      const ts = t0 + up + trueOffset;
      const t1 = t0 + up + down;
      est.add(clockSample(t0, t1, ts));
      t += 1000;
    }
    const best = est.best();
    assert.ok(best);
    assert.equal(best.rttMs, 15);
    assert.equal(best.offsetMs, trueOffset - 1.5);
  });

  it("forgets samples older than the last 8", () => {
    const est = new ClockEstimator();
    est.add({ rttMs: 1, offsetMs: 999 });
    for (let i = 0; i < 8; i++) est.add({ rttMs: 50 + i, offsetMs: 10 });
    assert.equal(est.size, 8);
    assert.equal(est.best()?.offsetMs, 10);
    assert.equal(est.best()?.rttMs, 50);
  });

  it("ServerClock.now() is local time plus the best offset", () => {
    let local = 5000;
    const clock = new ServerClock({ now: () => local, sleep: async () => {} });
    assert.equal(clock.synced, false);
    clock.addSample(5000, 5200, 9100); // rtt 200, offset 4000
    clock.addSample(5300, 5340, 9350); // rtt 40, offset 4030
    local = 6000;
    assert.equal(clock.synced, true);
    assert.equal(clock.rttMs, 40);
    assert.equal(clock.offsetMs, 4030);
    assert.equal(clock.now(), 10_030);
    assert.equal(clock.toLocal(10_030), 6000);
  });

  it("sync() sends a burst of 3 pings and keeps the best", async () => {
    let local = 0;
    const rtts = [30, 12, 50];
    let i = 0;
    const clock = new ServerClock({
      now: () => local,
      sleep: async (ms) => {
        local += ms;
      },
      ping: async () => {
        const rtt = rtts[i++]!;
        const t0 = local;
        return { t0, t1: t0 + rtt, serverMs: t0 + rtt / 2 + 700 };
      },
    });
    await clock.sync();
    assert.equal(i, 3);
    assert.equal(clock.rttMs, 12);
    assert.equal(clock.offsetMs, 700);
  });
});
