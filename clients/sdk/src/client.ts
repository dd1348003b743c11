/**
 * HearthClient: one WebSocket to the gateway (docs/protocol.md), with typed
 * ref-correlated requests, pushed events, reconnection with backoff, clock
 * sync, and rooms that survive reconnects (RoomSession).
 */
import type { Duration } from "@bufbuild/protobuf/wkt";
import { Emitter } from "./emitter.js";
import { HearthError } from "./errors.js";
import {
  decodeServerFrame,
  encodeClientFrame,
  makeClientFrame,
  replyCaseOf,
  type ClientCase,
  type Encoding,
  type ReplyOf,
  type RequestCase,
  type RequestInit,
} from "./frames.js";
import { ServerClock } from "./clock.js";
import type { ChatEvent } from "./gen/hearth/chat/v1/events_pb.js";
import type { UserEvent } from "./gen/hearth/events/v1/envelope_pb.js";
import type {
  ClientFrame,
  Connected,
  Error as ErrorFrame,
  GoAway,
  RoomEntered,
  ServerFrame,
} from "./gen/hearth/gateway/v1/gateway_pb.js";
import type { InteractionEvent } from "./gen/hearth/polls/v1/events_pb.js";
import type { RoomShareEvent } from "./gen/hearth/recommendations/v1/events_pb.js";
import type { RoomEvent } from "./gen/hearth/rooms/v1/events_pb.js";
import type { RoomSnapshot } from "./gen/hearth/rooms/v1/rooms_pb.js";
import { RoomSession, type RoomHost } from "./room.js";
import { defaultNow, defaultTimers, durationToMs, msToTimestamp, timestampToMs, type Timers } from "./time.js";

/**
 * The subset of the browser WebSocket the client uses; the browser's class
 * and the `ws` package's both fit. Handler parameters are loosely typed so
 * both implementations' event types are assignable.
 */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onopen: ((ev: any) => void) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onmessage: ((ev: any) => void) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onclose: ((ev: any) => void) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onerror: ((ev: any) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ReconnectOptions {
  /** Base of the exponential backoff (default 500 ms, docs/protocol.md §5). */
  initialDelayMs?: number;
  /** Cap of the backoff (default 30 000 ms). */
  maxDelayMs?: number;
  /** Consecutive failed attempts before giving up (default: never). */
  maxAttempts?: number;
}

export interface HearthClientOptions {
  /** Gateway base URL, http(s)://host[:port]; the WebSocket URL ws(s)://…/v1/ws is derived. */
  url: string;
  /** Called on every (re)connect, and before the token in force expires. */
  accessToken: () => string | Promise<string>;
  /** Wire encoding (default "protobuf": binary frames); "json" for debugging. */
  encoding?: Encoding;
  /** A WebSocket implementation for node tests or older runtimes (default: globalThis.WebSocket). */
  WebSocket?: WebSocketConstructor;
  /** Exponential backoff with full jitter; go_away.reconnectAfter is honoured. */
  reconnect?: ReconnectOptions;
  /** Per-request timeout (default 10 000 ms). */
  requestTimeoutMs?: number;
  /** Local ms clock (default performance.timeOrigin + performance.now()); injectable for tests. */
  now?: () => number;
  /** Timer functions; injectable for tests. */
  timers?: Timers;
  /** Random source in [0, 1) for backoff jitter; injectable for tests. */
  random?: () => number;
  /** Chat messages kept per room (default 500, newest kept). */
  maxMessagesPerRoom?: number;
}

export type ConnectionState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

/** Why the socket went away, and whether the client will reconnect. */
export interface Disconnected {
  code: number;
  reason: string;
  willReconnect: boolean;
  /** Delay before the next attempt, ms (when willReconnect). */
  delayMs?: number;
}

export interface HearthEvents {
  state: ConnectionState;
  connected: Connected;
  disconnected: Disconnected;
  roomEvent: RoomEvent;
  chatEvent: ChatEvent;
  interactionEvent: InteractionEvent;
  roomShareEvent: RoomShareEvent;
  userEvent: UserEvent;
  goAway: GoAway;
  /** Connection-level `error` frames (empty ref), and fatal client failures. */
  error: HearthError;
  /** A room re-entered after a reconnect: its snapshot replaced the old state. */
  resumed: { roomId: string; snapshot: RoomSnapshot };
}

interface Pending {
  ref: string;
  kind: ClientCase;
  frame: ClientFrame;
  sent: boolean;
  timer: unknown;
  resolve: (value: unknown) => void;
  reject: (err: HearthError) => void;
  /** Runs synchronously with the reply, before any later frame is processed. */
  onReply?: (value: unknown) => void;
}

/** Internal request hooks (synchronous, see Pending.onReply). */
export interface RequestHooks<V> {
  onReply?: (value: V) => void;
  /** Send even when not open (auth, pings): fail at once instead of queueing. */
  immediate?: boolean;
}

const DEFAULT_HEARTBEAT_MS = 25_000;
/** sync.md §1: ping at least every 10 s while in a room with media. */
const ROOM_PING_MS = 10_000;
/** A connection that stays up this long resets the backoff (protocol.md §5). */
const HEALTHY_MS = 10_000;
/** 1008 (policy violation): reconnect only after at least 60 s (protocol.md §5). */
const POLICY_DELAY_MS = 60_000;
/** 1001 without go_away: a random 0–5 s (protocol.md §5). */
const GOING_AWAY_MAX_MS = 5_000;
/** Renew the access token this long before it expires. */
const REAUTH_MARGIN_MS = 60_000;
const WS_OPEN = 1;

export class HearthClient {
  readonly clock: ServerClock;

  private readonly opts: HearthClientOptions;
  private readonly encoding: Encoding;
  private readonly timers: Timers;
  private readonly nowFn: () => number;
  private readonly random: () => number;
  private readonly timeoutMs: number;
  private readonly events = new Emitter<HearthEvents>();

  private stateValue: ConnectionState = "idle";
  private ws: WebSocketLike | null = null;
  private generation = 0;
  private refCounter = 0;
  private readonly refPrefix: string;
  private readonly pending = new Map<string, Pending>();
  private queue: Pending[] = [];

  private userIdValue: string | undefined;
  private heartbeatMs = DEFAULT_HEARTBEAT_MS;
  private attempt = 0;
  private everConnected = false;
  private goAwayDelayMs: number | undefined;
  private lastToken: string | undefined;
  private refusedToken: string | undefined;
  private authRefused = false;

  private reconnectTimer: unknown;
  private connectTimer: unknown;
  private pingTimer: unknown;
  private healthyTimer: unknown;
  private reauthTimer: unknown;

  private connectWaiters: { resolve: (c: Connected) => void; reject: (e: HearthError) => void }[] = [];
  private openWaiters: { resolve: () => void; reject: (e: HearthError) => void }[] = [];

  private readonly rooms = new Map<string, RoomSession>();
  private readonly entering = new Map<string, Promise<RoomSession>>();

  constructor(opts: HearthClientOptions) {
    this.opts = opts;
    this.encoding = opts.encoding ?? "protobuf";
    this.timers = opts.timers ?? defaultTimers;
    this.nowFn = opts.now ?? defaultNow();
    this.random = opts.random ?? Math.random;
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.refPrefix = Math.floor(this.random() * 36 ** 4)
      .toString(36)
      .padStart(4, "0");
    this.clock = new ServerClock({
      now: this.nowFn,
      sleep: (ms) => new Promise((resolve) => this.timers.setTimeout(resolve, ms)),
      ping: () => this.pingRoundTrip(),
    });
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The authenticated user's id (from `connected`). */
  get userId(): string | undefined {
    return this.userIdValue;
  }

  /** Rooms this client keeps entered. */
  get roomSessions(): ReadonlyMap<string, RoomSession> {
    return this.rooms;
  }

  on<E extends keyof HearthEvents>(event: E, cb: (e: HearthEvents[E]) => void): () => void {
    return this.events.on(event, cb);
  }

  /**
   * Opens the connection and authenticates. Resolves on `connected`; rejects
   * when the first attempt fails (refused token, unreachable gateway). Once
   * connected, drops are repaired automatically.
   */
  connect(): Promise<Connected> {
    if (this.stateValue === "open") {
      return Promise.reject(new HearthError("already_connected", "connect() called on an open client"));
    }
    const p = new Promise<Connected>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this.stateValue === "idle" || this.stateValue === "closed") {
      this.everConnected = false;
      this.attempt = 0;
      this.authRefused = false;
      this.refusedToken = undefined;
      this.setState("connecting");
      void this.openSocket();
    }
    return p;
  }

  /** Closes the connection for good: pending requests fail with `closed`, rooms are dropped. */
  close(): void {
    if (this.stateValue === "closed" || this.stateValue === "idle") {
      this.setState("closed");
      return;
    }
    this.shutdown(new HearthError("closed", "the client was closed"));
  }

  /**
   * Sends a request and resolves with the reply of the same name (auth →
   * connected, ping → pong). Rejects with HearthError on an `error` frame,
   * a timeout, or a disconnect after sending. Requests made while
   * (re)connecting wait for the connection (within the timeout).
   */
  request<K extends RequestCase>(kind: K, payload: RequestInit<K>): Promise<ReplyOf<K>> {
    return this.requestWith(kind, payload, {});
  }

  /** @internal request with synchronous hooks, used by RoomSession. */
  requestWith<K extends ClientCase>(kind: K, payload: RequestInit<K>, hooks: RequestHooks<ReplyOf<K>>): Promise<ReplyOf<K>> {
    if (this.stateValue === "idle" || this.stateValue === "closed") {
      return Promise.reject(new HearthError("not_connected", `cannot send ${kind}: the client is ${this.stateValue}`));
    }
    if (hooks.immediate && !this.ws) {
      return Promise.reject(new HearthError("disconnected", `cannot send ${kind}: no connection`));
    }
    const ref = this.nextRef();
    let frame: ClientFrame;
    try {
      frame = makeClientFrame(ref, kind, payload);
    } catch (err) {
      return Promise.reject(new HearthError("invalid_argument", `invalid ${kind} payload: ${String(err)}`));
    }
    return new Promise<ReplyOf<K>>((resolve, reject) => {
      const p: Pending = {
        ref,
        kind,
        frame,
        sent: false,
        timer: undefined,
        resolve: resolve as (v: unknown) => void,
        reject,
      };
      if (hooks.onReply) p.onReply = hooks.onReply as (v: unknown) => void;
      p.timer = this.timers.setTimeout(() => {
        this.pending.delete(ref);
        this.queue = this.queue.filter((q) => q !== p);
        reject(new HearthError("timeout", `no reply to ${kind} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(ref, p);
      if (this.stateValue === "open" || hooks.immediate) this.transmit(p);
      else this.queue.push(p);
    });
  }

  /**
   * Enters a room and keeps it: after every reconnect the client re-enters
   * it with its last chat position, replaces the snapshot (emitting
   * "resumed") and resumes chat, so no message is lost or duplicated.
   */
  enterRoom(roomId: string, opts: { join?: boolean; inviteCode?: string } = {}): Promise<RoomSession> {
    const existing = this.rooms.get(roomId);
    if (existing) return Promise.resolve(existing);
    const inflight = this.entering.get(roomId);
    if (inflight) return inflight;
    const payload: RequestInit<"enterRoom"> = { roomId, join: opts.join ?? false };
    if (opts.inviteCode) payload.inviteCode = opts.inviteCode;
    let session: RoomSession | undefined;
    const p = this.requestWith("enterRoom", payload, {
      onReply: (reply: RoomEntered) => {
        session = new RoomSession(roomId, reply, this.roomHost());
        this.rooms.set(roomId, session);
      },
    })
      .then(() => {
        // Clock samples taken right after entering serve the room's first
        // scheduled start (sync.md §1 cadence).
        void this.clock.sync();
        this.reschedulePing();
        return session as RoomSession;
      })
      .finally(() => {
        this.entering.delete(roomId);
      });
    this.entering.set(roomId, p);
    return p;
  }

  /** Leaves a room on this connection (membership is unchanged; see `leaveRoom`). */
  async exitRoom(roomId: string): Promise<void> {
    const session = this.rooms.get(roomId);
    this.rooms.delete(roomId);
    session?.markClosed("exited");
    this.reschedulePing();
    if (this.stateValue === "open") await this.request("exitRoom", { roomId });
  }

  // ---------------------------------------------------------------- socket

  private async openSocket(): Promise<void> {
    const gen = ++this.generation;
    this.goAwayDelayMs = undefined;
    let token: string;
    try {
      token = await this.opts.accessToken();
    } catch (err) {
      if (gen !== this.generation) return;
      const code = (err as { code?: unknown }).code;
      const message = `no access token: ${err instanceof Error ? err.message : String(err)}`;
      if (this.everConnected && typeof code === "string" && code !== "unauthenticated") {
        // A transient failure of the token source (e.g. the refresh endpoint
        // is unavailable): keep reconnecting with backoff.
        this.scheduleReconnect(1006, message);
        return;
      }
      // Signed out: there is nothing to retry with.
      this.fail(err instanceof HearthError ? err : new HearthError("unauthenticated", message));
      return;
    }
    if (gen !== this.generation || this.stateValue === "closed") return;
    if (this.refusedToken !== undefined && token === this.refusedToken) {
      this.fail(new HearthError("unauthenticated", "the gateway refused the access token, and no new one is available"));
      return;
    }
    this.lastToken = token;

    const Ctor = (this.opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket) as
      | WebSocketConstructor
      | undefined;
    if (!Ctor) {
      this.fail(new HearthError("connection_failed", "no WebSocket implementation; pass options.WebSocket"));
      return;
    }
    let ws: WebSocketLike;
    try {
      ws = new Ctor(this.wsUrl());
    } catch (err) {
      this.scheduleReconnect(1006, `cannot open WebSocket: ${String(err)}`);
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      if (gen !== this.generation) return;
      this.authenticate(token);
    };
    ws.onmessage = (ev: { data: unknown }) => {
      if (gen === this.generation) this.onMessage(ev.data);
    };
    ws.onclose = (ev: { code: number; reason: string }) => {
      if (gen === this.generation) this.onSocketClose(ev.code, ev.reason ?? "");
    };
    ws.onerror = () => {
      // A close event always follows; it carries the code.
    };
    // Opening and authenticating share one deadline.
    this.connectTimer = this.timers.setTimeout(() => {
      if (gen !== this.generation || this.stateValue === "open") return;
      this.dropSocket(4000, "connect timeout");
    }, this.timeoutMs);
  }

  private authenticate(token: string): void {
    this.requestWith(
      "auth",
      { accessToken: token },
      {
        immediate: true,
        onReply: (c: Connected) => this.onConnected(c),
      },
    ).catch((err: HearthError) => {
      if (err.code === "unauthenticated" || err.code === "invalid_argument") {
        // The gateway closes with 4001 after a refused token; an empty or
        // malformed one leaves the socket open, so end it here.
        this.refusedToken = token;
        this.authRefused = true;
        if (err.code === "invalid_argument") this.dropSocket(4001, err.message);
      }
    });
  }

  private onConnected(c: Connected): void {
    if (this.stateValue === "open") {
      // A re-auth with a fresh token of the same user.
      this.scheduleReauth(this.lastToken);
      this.events.emit("connected", c);
      return;
    }
    this.timers.clearTimeout(this.connectTimer);
    const resumed = this.everConnected;
    this.everConnected = true;
    this.refusedToken = undefined;
    this.authRefused = false;
    this.userIdValue = c.userId;
    this.heartbeatMs = c.heartbeatInterval ? Math.max(1000, durationToMs(c.heartbeatInterval)) : DEFAULT_HEARTBEAT_MS;
    this.clock.reset(c.serverTime ? timestampToMs(c.serverTime) : undefined);
    this.setState("open");
    this.healthyTimer = this.timers.setTimeout(() => {
      this.attempt = 0;
    }, HEALTHY_MS);
    this.scheduleReauth(this.lastToken);

    if (resumed) for (const session of this.rooms.values()) this.reenter(session);
    const queued = this.queue;
    this.queue = [];
    for (const p of queued) if (this.pending.has(p.ref)) this.transmit(p);

    void this.clock.sync();
    this.reschedulePing();

    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.resolve(c);
    const open = this.openWaiters;
    this.openWaiters = [];
    for (const w of open) w.resolve();
    this.events.emit("connected", c);
  }

  private onMessage(data: unknown): void {
    let frame: ServerFrame;
    try {
      frame = decodeServerFrame(data);
    } catch (err) {
      this.events.emit("error", new HearthError("protocol_error", `undecodable frame from the gateway: ${String(err)}`));
      return;
    }
    const { ref, kind } = frame;
    if (ref !== "") {
      const p = this.pending.get(ref);
      if (p) {
        this.settle(p, kind);
        return;
      }
    }
    switch (kind.case) {
      case "error":
        this.events.emit("error", toHearthError(kind.value));
        return;
      case "goAway":
        this.goAwayDelayMs = kind.value.reconnectAfter ? durationToMs(kind.value.reconnectAfter) : undefined;
        this.events.emit("goAway", kind.value);
        return;
      case "connected":
        // `?access_token=` flows push it with an empty ref.
        this.onConnected(kind.value);
        return;
      case "roomEvent":
        this.rooms.get(kind.value.roomId)?.handleRoomEvent(kind.value);
        this.events.emit("roomEvent", kind.value);
        return;
      case "chatEvent":
        this.rooms.get(kind.value.roomId)?.handleChatEvent(kind.value);
        this.events.emit("chatEvent", kind.value);
        return;
      case "interactionEvent":
        this.rooms.get(kind.value.roomId)?.handleInteractionEvent(kind.value);
        this.events.emit("interactionEvent", kind.value);
        return;
      case "roomShareEvent":
        this.rooms.get(kind.value.roomId)?.handleShareEvent(kind.value);
        this.events.emit("roomShareEvent", kind.value);
        return;
      case "userEvent":
        this.events.emit("userEvent", kind.value);
        return;
      default:
        // A reply to a request that timed out, or a kind newer than this
        // SDK: ignore (protocol.md: ignore kinds you do not know).
        return;
    }
  }

  private settle(p: Pending, kind: ServerFrame["kind"]): void {
    this.pending.delete(p.ref);
    this.timers.clearTimeout(p.timer);
    if (kind.case === "error") {
      p.reject(toHearthError(kind.value));
      return;
    }
    if (kind.case !== replyCaseOf(p.kind)) {
      p.reject(new HearthError("protocol_error", `expected ${replyCaseOf(p.kind)} in reply to ${p.kind}, got ${String(kind.case)}`));
      return;
    }
    try {
      p.onReply?.(kind.value);
      this.observeReply(p, kind.value);
    } catch (err) {
      p.reject(err instanceof HearthError ? err : new HearthError("protocol_error", String(err)));
      return;
    }
    p.resolve(kind.value);
  }

  /** Feeds versioned command replies through the room's version gate (sync.md §2). */
  private observeReply(p: Pending, value: unknown): void {
    const roomId = (p.frame.kind.value as { roomId?: unknown } | undefined)?.roomId;
    if (typeof roomId !== "string") return;
    const session = this.rooms.get(roomId);
    if (!session) return;
    session.observeReply(p.kind, value);
  }

  private transmit(p: Pending): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WS_OPEN) {
      // Not sendable now: keep it queued for the next connection.
      if (!this.queue.includes(p)) this.queue.push(p);
      return;
    }
    try {
      ws.send(encodeClientFrame(p.frame, this.encoding));
      p.sent = true;
    } catch {
      if (!this.queue.includes(p)) this.queue.push(p);
    }
  }

  private onSocketClose(code: number, reason: string): void {
    this.ws = null;
    this.clearConnectionTimers();
    // Sent requests have an unknown outcome now; queued ones wait for the
    // next connection (within their timeout).
    for (const p of [...this.pending.values()]) {
      // Auth and pings belong to the dead socket even when unsent.
      if (!p.sent && p.kind !== "auth" && p.kind !== "ping") continue;
      this.pending.delete(p.ref);
      this.timers.clearTimeout(p.timer);
      p.reject(new HearthError("disconnected", `connection closed (${code}) before the reply to ${p.kind}`));
    }
    this.queue = this.queue.filter((p) => this.pending.has(p.ref));
    if (this.stateValue === "closed") return;
    this.scheduleReconnect(code, reason);
  }

  private scheduleReconnect(code: number, reason: string): void {
    if (code === 4009) {
      this.fail(new HearthError("session_revoked", `the session was revoked (4009): ${reason || "log in again"}`), code, reason);
      return;
    }
    if (code === 4001 || this.authRefused) {
      // Only retry with a different token (protocol.md §5).
      if (this.lastToken !== undefined) this.refusedToken = this.lastToken;
      if (!this.everConnected) {
        this.fail(new HearthError("unauthenticated", `the gateway refused the access token (${code}${reason ? `: ${reason}` : ""})`), code, reason);
        return;
      }
    } else if (!this.everConnected) {
      this.fail(new HearthError("connection_failed", `could not connect (${code}${reason ? `: ${reason}` : ""})`), code, reason);
      return;
    }
    const max = this.opts.reconnect?.maxAttempts;
    if (max !== undefined && this.attempt >= max) {
      this.fail(new HearthError("connection_failed", `gave up after ${this.attempt} reconnect attempts`), code, reason);
      return;
    }
    const delay = this.reconnectDelay(code);
    this.attempt++;
    this.setState("reconnecting");
    this.events.emit("disconnected", { code, reason, willReconnect: true, delayMs: delay });
    this.reconnectTimer = this.timers.setTimeout(() => {
      if (this.stateValue !== "reconnecting") return;
      void this.openSocket();
    }, delay);
  }

  private reconnectDelay(code: number): number {
    const initial = this.opts.reconnect?.initialDelayMs ?? 500;
    const cap = this.opts.reconnect?.maxDelayMs ?? 30_000;
    const backoff = this.random() * Math.min(cap, initial * 2 ** this.attempt);
    if (this.goAwayDelayMs !== undefined) return this.goAwayDelayMs;
    if (code === 1001) return this.random() * GOING_AWAY_MAX_MS;
    if (code === 1008) return Math.max(POLICY_DELAY_MS, backoff);
    // Slow consumer and idle timeout: reconnect at once and resume, unless
    // this keeps failing.
    if ((code === 4008 || code === 4002) && this.attempt === 0) return 0;
    return backoff;
  }

  private fail(err: HearthError, code = 1000, reason = ""): void {
    this.events.emit("error", err);
    this.events.emit("disconnected", { code, reason, willReconnect: false });
    this.shutdown(err);
  }

  private shutdown(err: HearthError): void {
    this.generation++;
    this.clearConnectionTimers();
    this.timers.clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      try {
        ws.close(1000, "client closed");
      } catch {
        // Already closing.
      }
    }
    for (const p of [...this.pending.values()]) {
      this.timers.clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    this.queue = [];
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.reject(err);
    const open = this.openWaiters;
    this.openWaiters = [];
    for (const w of open) w.reject(err);
    const rooms = [...this.rooms.values()];
    this.rooms.clear();
    this.setState("closed");
    for (const s of rooms) s.markClosed("client_closed", err);
  }

  private dropSocket(code: number, reason: string): void {
    const ws = this.ws;
    if (!ws) return;
    ws.onclose = null;
    ws.onmessage = null;
    try {
      ws.close(code >= 4000 ? code : 1000, reason);
    } catch {
      // Already closing.
    }
    this.onSocketClose(code, reason);
  }

  private clearConnectionTimers(): void {
    this.timers.clearTimeout(this.connectTimer);
    this.timers.clearTimeout(this.pingTimer);
    this.timers.clearTimeout(this.healthyTimer);
    this.timers.clearTimeout(this.reauthTimer);
  }

  private setState(s: ConnectionState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.events.emit("state", s);
  }

  private wsUrl(): string {
    let base = this.opts.url;
    const loc = (globalThis as { location?: { href: string } }).location;
    if (!/^[a-z][a-z0-9+.-]*:/i.test(base)) {
      if (!loc) throw new HearthError("invalid_argument", `relative gateway URL ${JSON.stringify(base)} outside a browser`);
      base = new URL(base || "/", loc.href).href;
    }
    const u = new URL(base);
    if (u.protocol === "http:") u.protocol = "ws:";
    else if (u.protocol === "https:") u.protocol = "wss:";
    if (!u.pathname.endsWith("/v1/ws")) u.pathname = `${u.pathname.replace(/\/+$/, "")}/v1/ws`;
    u.searchParams.set("encoding", this.encoding);
    return u.toString();
  }

  private nextRef(): string {
    this.refCounter++;
    return `${this.refPrefix}-${this.refCounter.toString(36)}`;
  }

  // ------------------------------------------------------- heartbeat, auth

  private async pingRoundTrip(): Promise<{ t0: number; t1: number; serverMs: number }> {
    if (this.stateValue !== "open") throw new HearthError("not_connected", "not connected");
    const t0 = this.nowFn();
    const pong = await this.requestWith("ping", { clientTime: msToTimestamp(t0) }, { immediate: true });
    const t1 = this.nowFn();
    if (!pong.serverTime) throw new HearthError("protocol_error", "pong without serverTime");
    return { t0, t1, serverMs: timestampToMs(pong.serverTime) };
  }

  /** Heartbeat and clock refresh: every 10 s in a room, else every heartbeat interval. */
  private reschedulePing(): void {
    this.timers.clearTimeout(this.pingTimer);
    if (this.stateValue !== "open") return;
    const interval = this.rooms.size > 0 ? Math.min(ROOM_PING_MS, this.heartbeatMs) : this.heartbeatMs;
    this.pingTimer = this.timers.setTimeout(() => {
      void this.clock.pingOnce();
      this.reschedulePing();
    }, interval);
  }

  /** Renews the token in force before it expires (the gateway closes with 4001 otherwise). */
  private scheduleReauth(token: string | undefined): void {
    this.timers.clearTimeout(this.reauthTimer);
    const exp = token ? jwtExpiryMs(token) : undefined;
    if (exp === undefined) return;
    const wall = Date.now();
    const delay = Math.max(5_000, exp - REAUTH_MARGIN_MS - wall);
    this.reauthTimer = this.timers.setTimeout(() => void this.reauth(), delay);
  }

  private async reauth(): Promise<void> {
    if (this.stateValue !== "open") return;
    let token: string;
    try {
      token = await this.opts.accessToken();
    } catch (err) {
      this.events.emit("error", new HearthError("unauthenticated", `cannot renew the access token: ${String(err)}`));
      return;
    }
    if (this.stateValue !== "open") return;
    if (token === this.lastToken) {
      // Not renewed yet (e.g. a refresh failing transiently): try again soon.
      this.reauthTimer = this.timers.setTimeout(() => void this.reauth(), 15_000);
      return;
    }
    this.lastToken = token;
    try {
      await this.requestWith("auth", { accessToken: token }, { immediate: true, onReply: (c: Connected) => this.onConnected(c) });
    } catch (err) {
      this.events.emit("error", err instanceof HearthError ? err : new HearthError("unauthenticated", String(err)));
    }
  }

  // ------------------------------------------------------------- rooms

  private reenter(session: RoomSession): void {
    const payload: RequestInit<"enterRoom"> = { roomId: session.roomId };
    const position = session.chatPositionForResume();
    if (position) payload.chatPosition = position;
    this.requestWith("enterRoom", payload, {
      onReply: (reply: RoomEntered) => {
        if (this.rooms.get(session.roomId) !== session) return;
        session.applyEntered(reply, true);
        if (reply.snapshot) this.events.emit("resumed", { roomId: session.roomId, snapshot: reply.snapshot });
      },
    })
      .then(() => {
        void this.clock.sync();
      })
      .catch((err: HearthError) => {
        if (this.rooms.get(session.roomId) !== session) return;
        if (err.code === "not_found" || err.code === "permission_denied" || err.code === "failed_precondition") {
          this.rooms.delete(session.roomId);
          session.markClosed("gone", err);
          this.reschedulePing();
        } else if (err.code !== "disconnected" && err.code !== "closed" && err.code !== "not_connected") {
          // Transient (unavailable, rate_limited, timeout): try again.
          const delay = err.retryAfterMs ?? 1000 + this.random() * 2000;
          this.timers.setTimeout(() => {
            if (this.stateValue === "open" && this.rooms.get(session.roomId) === session) this.reenter(session);
          }, delay);
        }
        // A disconnect re-enters on the next connection.
      });
  }

  private roomHost(): RoomHost {
    return {
      request: (kind, payload, hooks) => this.requestWith(kind, payload, hooks ?? {}),
      timers: this.timers,
      random: this.random,
      userId: () => this.userIdValue,
      isOpen: () => this.stateValue === "open",
      whenOpen: () => this.whenOpen(),
      detach: (roomId, session) => {
        if (this.rooms.get(roomId) === session) {
          this.rooms.delete(roomId);
          this.reschedulePing();
        }
      },
      maxMessages: this.opts.maxMessagesPerRoom ?? 500,
    };
  }

  /** Resolves when the client is (again) open; rejects if it closes first. */
  whenOpen(): Promise<void> {
    if (this.stateValue === "open") return Promise.resolve();
    if (this.stateValue === "closed" || this.stateValue === "idle") {
      return Promise.reject(new HearthError("not_connected", `the client is ${this.stateValue}`));
    }
    return new Promise((resolve, reject) => this.openWaiters.push({ resolve, reject }));
  }
}

/** Converts an `error` frame to a HearthError. */
export function toHearthError(e: ErrorFrame): HearthError {
  const opts: { field?: string; retryAfterMs?: number } = {};
  if (e.field) opts.field = e.field;
  if (e.retryAfter) opts.retryAfterMs = durationToMs(e.retryAfter as Duration);
  return new HearthError(e.code || "unknown", e.message, opts);
}

/** The `exp` claim of a JWT in Unix ms, without verifying it (the gateway does). */
export function jwtExpiryMs(token: string): number | undefined {
  const part = token.split(".")[1];
  if (!part) return undefined;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
    const json = JSON.parse(atob(b64)) as { exp?: unknown };
    return typeof json.exp === "number" ? json.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
