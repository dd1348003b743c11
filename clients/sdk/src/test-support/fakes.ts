/**
 * Test doubles: a manual clock with timers, and a WebSocket that plays the
 * gateway's side in-process (implements the browser WebSocket surface the
 * client uses). Not part of the published package.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { HearthClient, type HearthClientOptions } from "../client.js";
import { decodeClientFrame, encodeServerFrame, type Encoding } from "../frames.js";
import { ServerFrameSchema, type ClientFrame, type ServerFrame } from "../gen/hearth/gateway/v1/gateway_pb.js";
import type { Timers } from "../time.js";

/** Lets pending promise callbacks run (several turns, for chained awaits). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** A manual clock: time moves only through advance(). */
export class FakeClock implements Timers {
  nowMs: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = 1_800_000_000_000) {
    this.nowMs = start;
  }

  now = (): number => this.nowMs;

  setTimeout = (fn: () => void, ms: number): unknown => {
    const t: Timer = { id: ++this.seq, at: this.nowMs + Math.max(0, ms), fn };
    this.timers.push(t);
    return t.id;
  };

  clearTimeout = (handle: unknown): void => {
    this.timers = this.timers.filter((t) => t.id !== handle);
  };

  /** Moves time forward, running due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    await flush();
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.nowMs = Math.max(this.nowMs, due.at);
      due.fn();
      await flush();
    }
    this.nowMs = target;
    await flush();
  }

  get pendingTimers(): number {
    return this.timers.length;
  }
}

type ServerFrameInit = MessageInitShape<typeof ServerFrameSchema>;

/** An in-process WebSocket whose far end is driven by the test. */
export class FakeWebSocket {
  static instances: FakeWebSocket[] = [];
  static reset(): void {
    FakeWebSocket.instances = [];
  }
  static get last(): FakeWebSocket {
    const ws = FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
    if (!ws) throw new Error("no FakeWebSocket was created");
    return ws;
  }

  readonly url: string;
  readyState = 0;
  binaryType = "blob";
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  /** Every frame the client sent, decoded. */
  readonly sent: ClientFrame[] = [];
  /** Raw messages as sent (to check the wire encoding). */
  readonly raw: (string | Uint8Array)[] = [];
  closedByClient: { code: number | undefined; reason: string | undefined } | undefined;
  /** Answer pings automatically with this server clock offset (ms); undefined: do not answer. */
  autoPong: { offsetMs: number; now: () => number } | undefined;

  constructor(url: string) {
    this.url = url;
    FakeWebSocket.instances.push(this);
  }

  get encoding(): Encoding {
    return new URL(this.url).searchParams.get("encoding") === "json" ? "json" : "protobuf";
  }

  send(data: string | Uint8Array): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.raw.push(data);
    const frame = decodeClientFrame(data);
    this.sent.push(frame);
    if (frame.kind.case === "ping" && this.autoPong) {
      const { offsetMs, now } = this.autoPong;
      const clientTime = frame.kind.value.clientTime;
      const ms = now() + offsetMs;
      this.reply({
        ref: frame.ref,
        kind: {
          case: "pong",
          value: { clientTime, serverTime: { seconds: BigInt(Math.floor(ms / 1000)), nanos: Math.round((ms % 1000) * 1e6) } },
        },
      });
    }
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason };
    this.readyState = 3;
  }

  /** The server accepts the upgrade. */
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** Delivers one ServerFrame in the connection's encoding. */
  reply(init: ServerFrameInit): void {
    const frame: ServerFrame = create(ServerFrameSchema, init);
    this.onmessage?.({ data: toWire(encodeServerFrame(frame, this.encoding)) });
  }

  /** The server closes the connection. */
  serverClose(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** Frames of one kind the client sent. */
  sentOf<K extends NonNullable<ClientFrame["kind"]["case"]>>(kind: K): (ClientFrame & { kind: Extract<ClientFrame["kind"], { case: K }> })[] {
    return this.sent.filter((f) => f.kind.case === kind) as (ClientFrame & { kind: Extract<ClientFrame["kind"], { case: K }> })[];
  }

  /** The last frame of one kind the client sent (throws when none). */
  lastOf<K extends NonNullable<ClientFrame["kind"]["case"]>>(kind: K): ClientFrame & { kind: Extract<ClientFrame["kind"], { case: K }> } {
    const all = this.sentOf(kind);
    const f = all[all.length - 1];
    if (!f) throw new Error(`the client sent no ${kind} frame; sent: ${this.sent.map((x) => x.kind.case).join(", ")}`);
    return f;
  }
}

function toWire(data: string | Uint8Array): string | ArrayBuffer {
  if (typeof data === "string") return data;
  // Browsers deliver binary messages as ArrayBuffer with binaryType "arraybuffer".
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}

export const USER_ID = "0193a6ef-1c2b-7d40-8e11-5f0c3a9b7e01";

/** Creates a client on a FakeWebSocket and FakeClock, and completes the auth handshake. */
export async function connectedClient(
  opts: Partial<HearthClientOptions> = {},
): Promise<{ client: HearthClient; ws: FakeWebSocket; clock: FakeClock }> {
  const clock = new FakeClock();
  const client = new HearthClient({
    url: "http://gateway.test:8080",
    accessToken: () => "token-1",
    WebSocket: FakeWebSocket,
    now: clock.now,
    timers: clock,
    random: () => 0.5,
    ...opts,
  });
  const connecting = client.connect();
  await flush();
  const ws = FakeWebSocket.last;
  ws.open();
  completeAuth(ws);
  await connecting;
  return { client, ws, clock };
}

/** Answers the client's auth frame with `connected`. */
export function completeAuth(ws: FakeWebSocket, userId = USER_ID): void {
  const auth = ws.lastOf("auth");
  ws.reply({
    ref: auth.ref,
    kind: {
      case: "connected",
      value: { sessionId: "s-1", userId, heartbeatInterval: { seconds: 25n } },
    },
  });
}
