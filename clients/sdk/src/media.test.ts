import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ServerClock } from "./clock.js";
import { RoomEnteredSchema } from "./gen/hearth/gateway/v1/gateway_pb.js";
import { PlaybackStateSchema, PlaybackStatus, Readiness } from "./gen/hearth/rooms/v1/rooms_pb.js";
import { MediaSync, type MediaElementLike } from "./media.js";
import { RoomSession, type RoomHost } from "./room.js";
import { FakeClock, USER_ID, flush } from "./test-support/fakes.js";
import { msToDuration, msToTimestamp } from "./time.js";

const ROOM = "room-1";
const SERVER_OFFSET = 5000; // the server clock is 5 s ahead of the local one

/** A media element double: records what MediaSync does, fires events like a browser. */
class FakeMedia implements MediaElementLike {
  paused = true;
  playbackRate = 1;
  readyState = 4;
  seeking = false;
  seekable: { length: number; end(i: number): number } | undefined;
  readonly seeks: number[] = [];
  readonly calls: string[] = [];
  private time = 0;
  private readonly listeners = new Map<string, Set<() => void>>();

  get currentTime(): number {
    return this.time;
  }
  set currentTime(v: number) {
    this.time = v;
    this.seeks.push(Math.round(v * 1000));
    this.fire("seeking");
  }
  /** Moves the playhead without a seek (playback progressing). */
  setTime(seconds: number): void {
    this.time = seconds;
  }
  play(): Promise<void> {
    this.calls.push("play");
    this.paused = false;
    this.fire("play");
    return Promise.resolve();
  }
  pause(): void {
    this.calls.push("pause");
    this.paused = true;
    this.fire("pause");
  }
  addEventListener(type: string, l: () => void): void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(l);
  }
  removeEventListener(type: string, l: () => void): void {
    this.listeners.get(type)?.delete(l);
  }
  fire(type: string): void {
    for (const l of [...(this.listeners.get(type) ?? [])]) l();
  }
}

type PlaybackInit = MessageInitShape<typeof PlaybackStateSchema>;

function harness(playback: PlaybackInit) {
  const clock = new FakeClock();
  const requests: { kind: string; payload: Record<string, unknown> }[] = [];
  let version = BigInt(playback.version ?? 1n);
  const host: RoomHost = {
    request: ((kind: string, payload: Record<string, unknown>) => {
      requests.push({ kind, payload });
      if (kind === "reportReadiness") return Promise.resolve({ applied: true, version });
      return Promise.resolve({});
    }) as RoomHost["request"],
    timers: clock,
    random: Math.random,
    userId: () => USER_ID,
    isOpen: () => true,
    whenOpen: () => Promise.resolve(),
    detach: () => {},
    maxMessages: 500,
  };
  const entered = create(RoomEnteredSchema, {
    snapshot: { room: { roomId: ROOM }, playback, version },
    interactions: {},
  });
  const session = new RoomSession(ROOM, entered, host);
  const serverClock = new ServerClock({ now: clock.now, sleep: async () => {} });
  serverClock.addSample(clock.now(), clock.now(), clock.now() + SERVER_OFFSET); // rtt 0, offset exact
  const media = new FakeMedia();
  const sync = new MediaSync(session, media, serverClock, { timers: clock });
  const serverNow = () => clock.now() + SERVER_OFFSET;
  const readiness = () =>
    requests
      .filter((r) => r.kind === "reportReadiness")
      .map((r) => [Number(r.payload["playbackVersion"]), r.payload["readiness"]] as const);
  const setPlayback = (p: PlaybackInit) => {
    version = BigInt(p.version ?? 0n);
    session.handleRoomEvent({
      $typeName: "hearth.rooms.v1.RoomEvent",
      roomId: ROOM,
      version,
      kind: { case: "playbackStateChanged", value: { $typeName: "hearth.rooms.v1.PlaybackStateChanged", playback: create(PlaybackStateSchema, p) } },
    });
  };
  return { clock, session, media, sync, serverNow, readiness, setPlayback, requests };
}

describe("MediaSync (sync.md §4–§7)", () => {
  it("pauses at the group position while PAUSED and reports READY once buffered there", async () => {
    const h = harness({ status: PlaybackStatus.PAUSED, position: msToDuration(754_250), rate: 1, version: 42n });
    h.media.paused = false;
    h.sync.start();
    assert.equal(h.media.paused, true);
    assert.deepEqual(h.media.seeks, [754_250]);
    assert.deepEqual(h.readiness(), [[42, Readiness.READY]]);
    await h.clock.advance(1000);
    assert.deepEqual(h.readiness(), [[42, Readiness.READY]], "only transitions are reported");
    assert.deepEqual(h.media.seeks, [754_250], "no further seeks once there");
    h.sync.stop();
  });

  it("reports BUFFERING while loading for a WAITING state, then READY", async () => {
    const h = harness({ status: PlaybackStatus.WAITING, position: msToDuration(1_500_000), rate: 1, version: 44n });
    h.media.readyState = 1;
    h.sync.start();
    assert.deepEqual(h.readiness(), [[44, Readiness.BUFFERING]]);
    h.media.readyState = 4;
    h.media.fire("canplay");
    assert.deepEqual(h.readiness(), [
      [44, Readiness.BUFFERING],
      [44, Readiness.READY],
    ]);
    const last = h.requests[h.requests.length - 1];
    assert.deepEqual(last?.payload["position"], msToDuration(1_500_000));
    h.sync.stop();
  });

  it("leaves drift inside the dead band alone, nudges the rate beyond it, and settles at 20 ms", async () => {
    const h = harness({ status: PlaybackStatus.PLAYING, position: msToDuration(10_000), rate: 1, version: 3n });
    const ref = h.serverNow() - 2000; // started 2 s ago: expected 12 000 ms
    h.setPlayback({ status: PlaybackStatus.PLAYING, position: msToDuration(10_000), referenceTime: msToTimestamp(ref), rate: 1, version: 4n });
    h.media.paused = false;
    h.media.setTime(12.05);
    h.sync.start();
    assert.ok(Math.abs(h.sync.driftMs - 50) < 1e-6);
    assert.equal(h.media.playbackRate, 1);
    assert.equal(h.sync.isCorrecting, false);

    h.media.setTime(12.55); // 300 ms ahead after 250 ms more
    await h.clock.advance(250);
    assert.ok(Math.abs(h.sync.driftMs - 300) < 1e-6);
    assert.equal(h.media.playbackRate, 0.95);
    assert.equal(h.sync.isCorrecting, true);

    h.media.setTime(12.55); // 50 ms ahead after 250 ms more: keeps correcting (hysteresis)
    await h.clock.advance(250);
    assert.ok(Math.abs(h.media.playbackRate - 0.975) < 1e-9);

    h.media.setTime(12.76); // 10 ms ahead: settled
    await h.clock.advance(250);
    assert.equal(h.media.playbackRate, 1);
    assert.equal(h.sync.isCorrecting, false);
    assert.deepEqual(h.media.seeks, [], "never seeks for small drift");
    h.sync.stop();
  });

  it("seeks when more than 2.5 s off, to where the group will be", async () => {
    const h = harness({ status: PlaybackStatus.PLAYING, position: msToDuration(10_000), rate: 1.5, version: 3n });
    h.setPlayback({
      status: PlaybackStatus.PLAYING,
      position: msToDuration(10_000),
      referenceTime: msToTimestamp(h.serverNow() - 4000),
      rate: 1.5,
      version: 4n,
    });
    h.media.paused = false;
    h.media.setTime(5);
    h.sync.start();
    assert.deepEqual(h.media.seeks, [16_000]); // 10 000 + 4 000 × 1.5
    assert.equal(h.media.playbackRate, 1.5);
    h.sync.stop();
  });

  it("waits for a scheduled start and plays at reference_time", async () => {
    const h = harness({ status: PlaybackStatus.PAUSED, position: msToDuration(1000), rate: 1, version: 9n });
    h.media.setTime(1);
    h.sync.start();
    h.setPlayback({
      status: PlaybackStatus.PLAYING,
      position: msToDuration(1000),
      referenceTime: msToTimestamp(h.serverNow() + 600),
      rate: 1,
      version: 10n,
    });
    assert.equal(h.media.paused, true);
    assert.deepEqual(h.readiness(), [
      [9, Readiness.READY],
      [10, Readiness.READY],
    ]);
    await h.clock.advance(599);
    assert.equal(h.media.paused, true, "not before the start instant");
    await h.clock.advance(1);
    assert.equal(h.media.paused, false);
    assert.deepEqual(h.media.calls, ["play"]);
    h.sync.stop();
  });

  it("does not fight a local pause, and rejoins on the next group state", async () => {
    const h = harness({ status: PlaybackStatus.PLAYING, position: msToDuration(0), rate: 1, version: 3n });
    h.setPlayback({ status: PlaybackStatus.PLAYING, position: msToDuration(0), referenceTime: msToTimestamp(h.serverNow()), rate: 1, version: 4n });
    h.sync.start();
    assert.equal(h.media.paused, false, "joins the playing group");
    h.media.pause(); // the user pauses the element itself
    await h.clock.advance(1000);
    assert.equal(h.media.paused, true);
    assert.equal(h.sync.outOfSync, true);
    h.setPlayback({ status: PlaybackStatus.PLAYING, position: msToDuration(5000), referenceTime: msToTimestamp(h.serverNow()), rate: 1, version: 5n });
    assert.equal(h.sync.outOfSync, false);
    assert.equal(h.media.paused, false);
    h.sync.stop();
  });

  it("turns local controls into group commands with localControl: command", async () => {
    const h = harness({ status: PlaybackStatus.PLAYING, position: msToDuration(0), rate: 1, version: 3n });
    h.setPlayback({ status: PlaybackStatus.PLAYING, position: msToDuration(0), referenceTime: msToTimestamp(h.serverNow()), rate: 1, version: 4n });
    const sync = new MediaSync(h.session, h.media, new ServerClock({ now: () => h.serverNow(), sleep: async () => {} }), {
      timers: h.clock,
      localControl: "command",
    });
    sync.start();
    h.media.setTime(7.5);
    h.media.pause();
    await flush();
    const pause = h.requests.find((r) => r.kind === "pause");
    assert.ok(pause, "a local pause became a group pause");
    assert.deepEqual(pause.payload["position"], msToDuration(7500));
    assert.equal(pause.payload["expectedVersion"], 4n);
    sync.stop();
  });

  it("reports BUFFERING on a stall mid-play and READY on recovery", async () => {
    const h = harness({ status: PlaybackStatus.PLAYING, position: msToDuration(0), rate: 1, version: 3n });
    h.setPlayback({ status: PlaybackStatus.PLAYING, position: msToDuration(0), referenceTime: msToTimestamp(h.serverNow()), rate: 1, version: 4n });
    h.sync.start();
    assert.deepEqual(h.readiness(), [[4, Readiness.READY]]);
    h.media.readyState = 2;
    h.media.fire("waiting");
    h.media.readyState = 4;
    h.media.fire("playing");
    assert.deepEqual(h.readiness(), [
      [4, Readiness.READY],
      [4, Readiness.BUFFERING],
      [4, Readiness.READY],
    ]);
    h.media.fire("error");
    assert.deepEqual(h.readiness()[3], [4, Readiness.FAILED]);
    h.sync.stop();
  });

  it("steers live media to the target latency behind the live edge", async () => {
    const h = harness({ status: PlaybackStatus.PLAYING, live: true, targetLatency: msToDuration(6000), rate: 1, version: 3n });
    h.media.seekable = { length: 1, end: () => 100 };
    h.media.paused = false;
    h.media.setTime(92); // 8 s behind the edge: 2 s behind target
    h.sync.start();
    assert.equal(h.sync.driftMs, -2000);
    assert.equal(h.media.playbackRate, 1.05);
    h.media.setTime(99); // 1 s behind the edge: 5 s ahead of target
    await h.clock.advance(250);
    assert.deepEqual(h.media.seeks, [94_000]);
    h.sync.stop();
  });

  it("uses program date-time for live media when available", async () => {
    const h = harness({ status: PlaybackStatus.PLAYING, live: true, targetLatency: msToDuration(6000), rate: 1, version: 3n });
    h.media.paused = false;
    h.media.setTime(50);
    const sync = new MediaSync(h.session, h.media, new ServerClock({ now: () => h.serverNow(), sleep: async () => {} }), {
      timers: h.clock,
      programTimeMs: () => h.serverNow() - 6050,
    });
    sync.start();
    assert.ok(Math.abs(sync.driftMs + 50) < 1e-6);
    assert.equal(h.media.playbackRate, 1, "within the dead band");
    sync.stop();
  });

  it("reports an autoplay refusal once and waits for the user instead of retrying every tick", async () => {
    const h = harness({ status: PlaybackStatus.PLAYING, position: msToDuration(0), rate: 1, version: 3n });
    h.setPlayback({ status: PlaybackStatus.PLAYING, position: msToDuration(0), referenceTime: msToTimestamp(h.serverNow()), rate: 1, version: 4n });
    let refusals = 0;
    const refusingPlay = () => {
      h.media.calls.push("play");
      const err = new Error("play() requires a user gesture");
      err.name = "NotAllowedError";
      return Promise.reject(err);
    };
    const realPlay = h.media.play.bind(h.media);
    h.media.play = refusingPlay;
    const sync = new MediaSync(h.session, h.media, new ServerClock({ now: () => h.serverNow(), sleep: async () => {} }), {
      timers: h.clock,
      onPlayBlocked: () => refusals++,
    });
    sync.start();
    await h.clock.advance(1000);
    assert.equal(refusals, 1);
    assert.deepEqual(h.media.calls, ["play"]);
    h.media.play = realPlay;
    await h.media.play(); // the user taps play
    await h.clock.advance(250);
    assert.equal(h.media.paused, false);
    assert.equal(sync.outOfSync, false);
    sync.stop();
  });

  it("stays idle for media the user is not entitled to", async () => {
    const h = harness({ status: PlaybackStatus.PLAYING, position: msToDuration(0), rate: 1, version: 3n, notEntitledUserIds: [USER_ID] });
    h.sync.start();
    assert.equal(h.media.paused, true);
    assert.deepEqual(h.media.seeks, []);
    assert.ok(Number.isNaN(h.sync.driftMs));
    h.sync.stop();
  });
});
