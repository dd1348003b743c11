import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { HearthClient } from "./client.js";
import { HearthError } from "./errors.js";
import { MessageState, ResumeOutcome } from "./gen/hearth/chat/v1/chat_pb.js";
import { PlaybackStatus } from "./gen/hearth/rooms/v1/rooms_pb.js";
import type { RoomSession } from "./room.js";
import { FakeClock, FakeWebSocket, USER_ID, completeAuth, connectedClient, flush } from "./test-support/fakes.js";
import { msToDuration, msToTimestamp } from "./time.js";

const ROOM = "0193b2c4-5d1e-7a10-9c3f-2b8e4f6a1d20";
const EPOCH = "5f0c2a9e41d7";

beforeEach(() => FakeWebSocket.reset());
const clients: HearthClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

async function setup(opts: Parameters<typeof connectedClient>[0] = {}) {
  const r = await connectedClient(opts);
  clients.push(r.client);
  return r;
}

function message(seq: number, text = `m${seq}`) {
  return {
    messageId: `msg-${seq}`,
    roomId: ROOM,
    sequence: BigInt(seq),
    author: { userId: "u-ann", username: "ann" },
    text,
    state: MessageState.VISIBLE,
  };
}

function posted(ws: FakeWebSocket, seq: number) {
  ws.reply({ kind: { case: "chatEvent", value: { roomId: ROOM, sequence: BigInt(seq), kind: { case: "messagePosted", value: { message: message(seq) } } } } });
}

function playbackEvent(ws: FakeWebSocket, version: number, positionMs = version * 1000) {
  ws.reply({
    kind: {
      case: "roomEvent",
      value: {
        roomId: ROOM,
        version: BigInt(version),
        kind: {
          case: "playbackStateChanged",
          value: { playback: { status: PlaybackStatus.PAUSED, position: msToDuration(positionMs), rate: 1, version: BigInt(version) } },
        },
      },
    },
  });
}

/** Enters ROOM: snapshot at `version`, chat up to `chatSeq` (messages from `firstSeq`). */
async function enter(client: HearthClient, ws: FakeWebSocket, version = 5, chatSeq = 10, firstSeq = 9): Promise<RoomSession> {
  const entering = client.enterRoom(ROOM, { join: true });
  await flush();
  const req = ws.lastOf("enterRoom");
  assert.equal(req.kind.value.roomId, ROOM);
  assert.equal(req.kind.value.join, true);
  const messages = [];
  for (let s = firstSeq; s <= chatSeq; s++) messages.push(message(s));
  ws.reply({
    ref: req.ref,
    kind: {
      case: "enterRoom",
      value: {
        snapshot: {
          room: { roomId: ROOM, title: "Friday film" },
          playback: { status: PlaybackStatus.PAUSED, position: msToDuration(1000), rate: 1, version: BigInt(version) },
          version: BigInt(version),
        },
        joined: true,
        chat: {
          outcome: ResumeOutcome.LATEST,
          messages,
          position: { sequence: BigInt(chatSeq), epoch: EPOCH },
        },
        interactions: { pointsBalance: 100n },
      },
    },
  });
  return entering;
}

describe("HearthClient requests", () => {
  it("authenticates with an auth frame and derives the WebSocket URL", async () => {
    const { client, ws } = await setup();
    assert.equal(ws.url, "ws://gateway.test:8080/v1/ws?encoding=protobuf");
    assert.equal(ws.binaryType, "arraybuffer");
    assert.equal(ws.sent[0]?.kind.case, "auth");
    assert.equal(client.state, "open");
    assert.equal(client.userId, USER_ID);
    assert.ok(ws.raw.every((m) => m instanceof Uint8Array), "protobuf encoding sends binary frames");
  });

  it("correlates replies by ref when they arrive out of order", async () => {
    const { client, ws } = await setup();
    const a = client.request("getRoom", { roomId: "room-a" });
    const b = client.request("getRoom", { roomId: "room-b" });
    await flush();
    const [fa, fb] = ws.sentOf("getRoom");
    assert.ok(fa && fb);
    assert.notEqual(fa.ref, fb.ref);
    ws.reply({ ref: fb.ref, kind: { case: "getRoom", value: { room: { roomId: "room-b", title: "B" } } } });
    ws.reply({ ref: fa.ref, kind: { case: "getRoom", value: { room: { roomId: "room-a", title: "A" } } } });
    assert.equal((await a).room?.title, "A");
    assert.equal((await b).room?.title, "B");
  });

  it("rejects with HearthError on an error frame, with field, reason and retryAfterMs", async () => {
    const { client, ws } = await setup();
    const p = client.request("sendMessage", { roomId: ROOM, clientMsgId: "c1", text: "hi" });
    await flush();
    ws.reply({
      ref: ws.lastOf("sendMessage").ref,
      kind: { case: "error", value: { code: "rate_limited", message: "slow_mode: wait 4 s", retryAfter: msToDuration(4118) } },
    });
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof HearthError);
      assert.equal(err.code, "rate_limited");
      assert.equal(err.reason, "slow_mode");
      assert.equal(err.retryAfterMs, 4118);
      return true;
    });
    const q = client.request("createPoll", { roomId: ROOM });
    await flush();
    ws.reply({
      ref: ws.lastOf("createPoll").ref,
      kind: { case: "error", value: { code: "invalid_argument", message: "options: too few", field: "poll.options" } },
    });
    await assert.rejects(q, { name: "HearthError", code: "invalid_argument", field: "poll.options" });
  });

  it("times out a request that gets no reply, and ignores the late reply", async () => {
    const { client, ws, clock } = await setup({ requestTimeoutMs: 2000 });
    const p = client.request("listMyRooms", {});
    const settled = p.then(
      () => "resolved",
      (e: HearthError) => e.code,
    );
    await clock.advance(1999);
    assert.equal(await Promise.race([settled, Promise.resolve("pending")]), "pending");
    await clock.advance(1);
    assert.equal(await settled, "timeout");
    ws.reply({ ref: ws.lastOf("listMyRooms").ref, kind: { case: "listMyRooms", value: {} } });
    assert.equal(client.state, "open");
  });

  it("emits connection-level error frames and pushed events", async () => {
    const { client, ws } = await setup();
    const errors: HearthError[] = [];
    const users: string[] = [];
    client.on("error", (e) => errors.push(e));
    client.on("userEvent", (e) => users.push(e.eventId));
    ws.reply({ kind: { case: "error", value: { code: "rate_limited", message: "too many frames" } } });
    ws.reply({ kind: { case: "userEvent", value: { userId: USER_ID, eventId: "ev-1", kind: { case: "blocksChanged", value: {} } } } });
    assert.equal(errors[0]?.code, "rate_limited");
    assert.deepEqual(users, ["ev-1"]);
  });

  it("speaks canonical JSON when asked to", async () => {
    const { client, ws } = await setup({ encoding: "json" });
    assert.equal(ws.url, "ws://gateway.test:8080/v1/ws?encoding=json");
    const p = client.request("ping", { clientTime: msToTimestamp(Date.UTC(2026, 10, 26, 12, 0, 0, 123)) });
    await flush();
    const last = ws.raw[ws.raw.length - 1];
    assert.equal(typeof last, "string");
    const sent = JSON.parse(last as string) as { ref: string; ping: { clientTime: string } };
    assert.equal(sent.ping.clientTime, "2026-11-26T12:00:00.123Z");
    ws.reply({ ref: sent.ref, kind: { case: "pong", value: { serverTime: msToTimestamp(Date.UTC(2026, 10, 26, 12, 0, 0, 161)) } } });
    assert.equal((await p).serverTime?.nanos, 161_000_000);
  });
});

describe("HearthClient connection", () => {
  it("rejects connect() when the first token is refused (4001)", async () => {
    const clock = new FakeClock();
    const client = new HearthClient({ url: "https://gw.test", accessToken: () => "bad", WebSocket: FakeWebSocket, now: clock.now, timers: clock });
    const p = client.connect();
    await flush();
    const ws = FakeWebSocket.last;
    assert.equal(ws.url, "wss://gw.test/v1/ws?encoding=protobuf");
    ws.open();
    ws.reply({
      ref: ws.lastOf("auth").ref,
      kind: { case: "error", value: { code: "unauthenticated", message: "token expired", field: "access_token" } },
    });
    ws.serverClose(4001, "auth failed");
    await assert.rejects(p, { code: "unauthenticated" });
    assert.equal(client.state, "closed");
  });

  it("reconnects with exponential backoff and full jitter", async () => {
    const { client, ws, clock } = await setup({ random: () => 0.5, reconnect: { initialDelayMs: 500, maxDelayMs: 30_000 } });
    const states: string[] = [];
    const delays: (number | undefined)[] = [];
    client.on("state", (s) => states.push(s));
    client.on("disconnected", (d) => delays.push(d.delayMs));
    ws.serverClose(1006);
    assert.equal(client.state, "reconnecting");
    assert.deepEqual(delays, [250]); // random 0.5 × min(30 s, 0.5 s × 2^0)
    await clock.advance(249);
    assert.equal(FakeWebSocket.instances.length, 1);
    await clock.advance(1);
    assert.equal(FakeWebSocket.instances.length, 2);
    // The second attempt fails before opening: the next delay doubles.
    FakeWebSocket.last.serverClose(1006);
    assert.deepEqual(delays, [250, 500]);
    await clock.advance(500);
    assert.equal(FakeWebSocket.instances.length, 3);
    const ws3 = FakeWebSocket.last;
    ws3.open();
    completeAuth(ws3);
    assert.equal(client.state, "open");
    assert.deepEqual(states, ["reconnecting", "open"]);
  });

  it("honours go_away.reconnectAfter before reconnecting", async () => {
    const { client, ws, clock } = await setup();
    const goAways: string[] = [];
    client.on("goAway", (g) => goAways.push(g.reason));
    ws.reply({ kind: { case: "goAway", value: { reconnectAfter: msToDuration(3200), reason: "shutdown" } } });
    ws.serverClose(1001, "going away");
    assert.deepEqual(goAways, ["shutdown"]);
    await clock.advance(3199);
    assert.equal(FakeWebSocket.instances.length, 1);
    await clock.advance(1);
    assert.equal(FakeWebSocket.instances.length, 2);
  });

  it("does not reconnect after 4009 (session revoked)", async () => {
    const { client, ws, clock } = await setup();
    const errors: string[] = [];
    client.on("error", (e) => errors.push(e.code));
    ws.serverClose(4009, "session revoked");
    await clock.advance(60_000);
    assert.equal(client.state, "closed");
    assert.equal(FakeWebSocket.instances.length, 1);
    assert.deepEqual(errors, ["session_revoked"]);
  });

  it("fails in-flight requests with `disconnected` and sends queued ones after the reconnect", async () => {
    const { client, ws, clock } = await setup();
    const inflight = client.request("listMyRooms", {});
    await flush();
    ws.serverClose(1006);
    await assert.rejects(inflight, { code: "disconnected" });
    const queued = client.request("getRoom", { roomId: "r" });
    await clock.advance(250);
    const ws2 = FakeWebSocket.last;
    ws2.open();
    assert.equal(ws2.sentOf("getRoom").length, 0, "nothing but auth before connected");
    completeAuth(ws2);
    await flush();
    ws2.reply({ ref: ws2.lastOf("getRoom").ref, kind: { case: "getRoom", value: { room: { roomId: "r" } } } });
    assert.equal((await queued).room?.roomId, "r");
  });

  it("renews the access token on the open socket 60 s before it expires", async () => {
    const jwt = (n: number, expSec: number) =>
      `h.${Buffer.from(JSON.stringify({ sub: USER_ID, exp: expSec })).toString("base64url")}.sig${n}`;
    const exp = Math.floor(Date.now() / 1000) + 180;
    let token = jwt(1, exp);
    const { client, ws, clock } = await setup({ accessToken: () => token });
    const connected: string[] = [];
    client.on("connected", (c) => connected.push(c.sessionId));
    token = jwt(2, exp + 900);
    await clock.advance(110_000);
    assert.equal(ws.sentOf("auth").length, 1, "not yet");
    await clock.advance(15_000);
    const renew = ws.lastOf("auth");
    assert.equal(ws.sentOf("auth").length, 2);
    assert.equal(renew.kind.value.accessToken, token);
    ws.reply({ ref: renew.ref, kind: { case: "connected", value: { sessionId: "s-1", userId: USER_ID } } });
    assert.deepEqual(connected, ["s-1"]);
    assert.equal(client.state, "open");
  });

  it("after a 4001 on an open connection, reconnects only with a new token", async () => {
    let token = "token-1";
    const { client, ws, clock } = await setup({ accessToken: () => token });
    ws.reply({ kind: { case: "error", value: { code: "unauthenticated", message: "token expired", field: "access_token" } } });
    ws.serverClose(4001, "token expired");
    token = "token-2";
    await clock.advance(250);
    const ws2 = FakeWebSocket.last;
    ws2.open();
    assert.equal(ws2.lastOf("auth").kind.value.accessToken, "token-2");
    completeAuth(ws2);
    assert.equal(client.state, "open");
    // Refused again, and no newer token: give up instead of looping.
    ws2.serverClose(4001, "token refused");
    await clock.advance(60_000);
    assert.equal(client.state, "closed");
    assert.equal(FakeWebSocket.instances.length, 2);
  });

  it("syncs the clock after connecting (3 pings)", async () => {
    const clock = new FakeClock();
    const client = new HearthClient({ url: "http://gw.test", accessToken: () => "t", WebSocket: FakeWebSocket, now: clock.now, timers: clock });
    clients.push(client);
    const p = client.connect();
    await flush();
    const ws = FakeWebSocket.last;
    ws.autoPong = { offsetMs: 1234, now: clock.now };
    ws.open();
    completeAuth(ws);
    await p;
    await clock.advance(500);
    assert.equal(ws.sentOf("ping").length, 3);
    assert.equal(client.clock.synced, true);
    assert.equal(client.clock.offsetMs, 1234);
    assert.equal(client.clock.now(), clock.now() + 1234);
  });
});

describe("rooms: version gate (sync.md §2)", () => {
  it("applies in-order versions, drops stale ones", async () => {
    const { client, ws } = await setup();
    const session = await enter(client, ws, 5);
    let playbackEvents = 0;
    session.on("playback", () => playbackEvents++);
    playbackEvent(ws, 6, 6000);
    playbackEvent(ws, 6, 9999); // duplicate: dropped
    playbackEvent(ws, 4, 4444); // stale: dropped
    assert.equal(session.version, 6n);
    assert.equal(playbackEvents, 1);
    assert.equal(session.playback.position?.seconds, 6n);
  });

  it("holds a gap for 1 s, then re-snapshots and applies the held events above it", async () => {
    const { client, ws, clock } = await setup();
    const session = await enter(client, ws, 5);
    playbackEvent(ws, 7);
    playbackEvent(ws, 9);
    assert.equal(session.version, 5n, "7 waits for 6");
    await clock.advance(999);
    assert.equal(ws.sentOf("getRoomSnapshot").length, 0);
    playbackEvent(ws, 6); // the late one arrives: 6 and 7 apply, 9 still waits for 8
    assert.equal(session.version, 7n);
    await clock.advance(1000);
    const req = ws.lastOf("getRoomSnapshot");
    assert.equal(req.kind.value.roomId, ROOM);
    ws.reply({
      ref: req.ref,
      kind: {
        case: "getRoomSnapshot",
        value: {
          snapshot: {
            room: { roomId: ROOM, title: "Renamed" },
            playback: { status: PlaybackStatus.PAUSED, position: msToDuration(8000), version: 8n },
            version: 8n,
          },
        },
      },
    });
    assert.equal(session.version, 9n, "snapshot 8, then held 9");
    assert.equal(session.room.title, "Renamed");
    assert.equal(session.playback.position?.seconds, 9n);
    assert.equal(ws.sentOf("getRoomSnapshot").length, 1);
  });

  it("feeds playback command replies through the gate, so the event that follows is a no-op", async () => {
    const { client, ws } = await setup();
    const session = await enter(client, ws, 5);
    let playbackEvents = 0;
    session.on("playback", () => playbackEvents++);
    const p = session.play();
    await flush();
    const req = ws.lastOf("play");
    assert.equal(req.kind.value.expectedVersion, 5n);
    const playback = { status: PlaybackStatus.PLAYING, position: msToDuration(1000), rate: 1, version: 6n };
    ws.reply({ ref: req.ref, kind: { case: "play", value: { playback } } });
    await p;
    assert.equal(session.version, 6n);
    assert.equal(session.playback.status, PlaybackStatus.PLAYING);
    ws.reply({ kind: { case: "roomEvent", value: { roomId: ROOM, version: 6n, kind: { case: "playbackStateChanged", value: { playback } } } } });
    assert.equal(playbackEvents, 1);
  });

  it("closes the session when this user is kicked", async () => {
    const { client, ws } = await setup();
    const session = await enter(client, ws, 5);
    const closed: string[] = [];
    session.on("closed", (c) => closed.push(c.reason));
    ws.reply({
      kind: { case: "roomEvent", value: { roomId: ROOM, version: 6n, kind: { case: "memberKicked", value: { user: { userId: USER_ID }, kickedBy: "mod" } } } },
    });
    assert.deepEqual(closed, ["kicked"]);
    assert.equal(client.roomSessions.has(ROOM), false);
  });
});

describe("rooms: chat by sequence and resume across reconnects", () => {
  it("dedupes chat events and resumes at once on a gap", async () => {
    const { client, ws } = await setup();
    const session = await enter(client, ws, 5, 10);
    posted(ws, 10); // already in the reply: dropped
    posted(ws, 11);
    posted(ws, 13); // gap: 12 is missing
    const resume = ws.lastOf("resumeChat");
    assert.equal(resume.kind.value.since?.sequence, 11n);
    assert.equal(resume.kind.value.since?.epoch, EPOCH);
    posted(ws, 14); // held while resuming
    ws.reply({
      ref: resume.ref,
      kind: {
        case: "resumeChat",
        value: { outcome: ResumeOutcome.RECOVERED, messages: [message(12), message(13)], position: { sequence: 13n, epoch: EPOCH } },
      },
    });
    assert.deepEqual(
      session.messages.map((m) => Number(m.sequence)),
      [9, 10, 11, 12, 13, 14],
    );
    assert.equal(session.chatPosition?.sequence, 14n);
  });

  it("re-enters after a reconnect with the last chat position, with no lost or duplicated message", async () => {
    const { client, ws, clock } = await setup();
    const session = await enter(client, ws, 5, 10);
    const seen: number[] = [];
    session.on("message", (m) => seen.push(Number(m.sequence)));
    const resumed: string[] = [];
    client.on("resumed", (r) => resumed.push(r.roomId));
    posted(ws, 11);

    // A send is in flight when the connection drops.
    const sending = session.sendMessage("Best goal this year");
    await flush();
    const firstSend = ws.lastOf("sendMessage");
    ws.serverClose(4008, "slow consumer");
    await clock.advance(0); // 4008: reconnect at once
    const ws2 = FakeWebSocket.last;
    assert.notEqual(ws2, ws);
    ws2.open();
    completeAuth(ws2);
    await flush();

    const reenter = ws2.lastOf("enterRoom");
    assert.equal(reenter.kind.value.roomId, ROOM);
    assert.equal(reenter.kind.value.chatPosition?.sequence, 11n);
    assert.equal(reenter.kind.value.chatPosition?.epoch, EPOCH);
    ws2.reply({
      ref: reenter.ref,
      kind: {
        case: "enterRoom",
        value: {
          snapshot: { room: { roomId: ROOM }, playback: { status: PlaybackStatus.PAUSED, version: 7n }, version: 7n },
          chat: {
            outcome: ResumeOutcome.RECOVERED,
            messages: [message(12), message(13, "Best goal this year")],
            deletedSequences: [9n],
            position: { sequence: 13n, epoch: EPOCH },
          },
        },
      },
    });
    assert.deepEqual(resumed, [ROOM]);
    assert.equal(session.version, 7n, "the new snapshot replaces the state");

    // The interrupted send is resent with the same client_msg_id.
    await flush();
    const resend = ws2.lastOf("sendMessage");
    assert.equal(resend.kind.value.clientMsgId, firstSend.kind.value.clientMsgId);
    ws2.reply({
      ref: resend.ref,
      kind: { case: "sendMessage", value: { message: message(13, "Best goal this year"), duplicate: true } },
    });
    assert.equal((await sending).duplicate, true);

    posted(ws2, 13); // covered by the resume: dropped
    posted(ws2, 14);
    assert.deepEqual(
      session.messages.map((m) => Number(m.sequence)),
      [9, 10, 11, 12, 13, 14],
    );
    assert.deepEqual(seen, [11, 12, 13, 14], "each message announced once");
    assert.equal(session.messages[0]?.state, MessageState.DELETED, "deletedSequences become tombstones");
  });

  it("reloads history when too far behind", async () => {
    const { client, ws, clock } = await setup();
    const session = await enter(client, ws, 5, 10);
    ws.serverClose(1006);
    await clock.advance(250);
    const ws2 = FakeWebSocket.last;
    ws2.open();
    completeAuth(ws2);
    await flush();
    const reenter = ws2.lastOf("enterRoom");
    ws2.reply({
      ref: reenter.ref,
      kind: {
        case: "enterRoom",
        value: {
          snapshot: { room: { roomId: ROOM }, version: 5n },
          chat: { outcome: ResumeOutcome.TOO_FAR_BEHIND, position: { sequence: 5000n, epoch: "new" } },
        },
      },
    });
    await flush();
    const list = ws2.lastOf("listMessages");
    posted(ws2, 5001);
    ws2.reply({ ref: list.ref, kind: { case: "listMessages", value: { messages: [message(4999), message(5000)] } } });
    await flush();
    assert.deepEqual(
      session.messages.map((m) => Number(m.sequence)),
      [4999, 5000, 5001],
    );
    assert.equal(session.chatPosition?.epoch, "new");
  });

  it("exits a room on request and stops routing its events", async () => {
    const { client, ws } = await setup();
    const session = await enter(client, ws, 5, 10);
    const exiting = client.exitRoom(ROOM);
    await flush();
    const req = ws.lastOf("exitRoom");
    ws.reply({ ref: req.ref, kind: { case: "exitRoom", value: { roomId: ROOM } } });
    await exiting;
    posted(ws, 11);
    assert.equal(session.closed, true);
    assert.equal(session.messages.length, 2);
  });
});
