/**
 * HTTP auth against the gateway (docs/protocol.md §"HTTP auth API"):
 * register, login, refresh, logout, with the session kept in a pluggable
 * storage and refreshed single-flight before it expires.
 */
import { HearthAuthError } from "./errors.js";

/** A signed-in session. `expiresAt` is the access token's expiry in Unix ms. */
export interface Session {
  userId: string;
  sessionId: string;
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
}

/**
 * Where the session lives. `load`/`save` are synchronous so the session is
 * available at construction. Storages shared between tabs should implement
 * `withLock` (refresh tokens rotate, and a reused one revokes the whole
 * session, so two tabs must never refresh at once) and `subscribe` (so a tab
 * adopts a session another tab refreshed or ended).
 */
export interface TokenStorage {
  load(): Session | null;
  save(session: Session | null): void;
  withLock?<T>(fn: () => Promise<T>): Promise<T>;
  subscribe?(cb: (session: Session | null) => void): () => void;
}

/** Keeps the session in memory only (the default): signed out on reload. */
export class MemoryTokenStorage implements TokenStorage {
  private session: Session | null = null;
  load(): Session | null {
    return this.session;
  }
  save(session: Session | null): void {
    this.session = session;
  }
}

interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

interface LockManagerLike {
  request<T>(name: string, cb: () => Promise<T>): Promise<T>;
}

/**
 * Keeps the session in `localStorage`, shared by the origin's tabs. Refreshes
 * are serialised across tabs with the Web Locks API where the browser has
 * it, and every tab follows changes through `storage` events.
 */
export class LocalStorageTokenStorage implements TokenStorage {
  private readonly key: string;
  private readonly storage: WebStorageLike;

  constructor(opts: { key?: string; storage?: WebStorageLike } = {}) {
    this.key = opts.key ?? "hearth.session";
    const storage = opts.storage ?? (globalThis as { localStorage?: WebStorageLike }).localStorage;
    if (!storage) throw new Error("LocalStorageTokenStorage: no localStorage in this environment");
    this.storage = storage;
  }

  load(): Session | null {
    return parseSession(this.storage.getItem(this.key));
  }

  save(session: Session | null): void {
    if (session) this.storage.setItem(this.key, JSON.stringify(session));
    else this.storage.removeItem(this.key);
  }

  withLock<T>(fn: () => Promise<T>): Promise<T> {
    const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
    if (!locks) return fn();
    return locks.request(`${this.key}.refresh`, fn);
  }

  subscribe(cb: (session: Session | null) => void): () => void {
    const target = globalThis as {
      addEventListener?: (type: string, fn: (e: { key: string | null; newValue: string | null }) => void) => void;
      removeEventListener?: (type: string, fn: (e: { key: string | null; newValue: string | null }) => void) => void;
    };
    if (!target.addEventListener || !target.removeEventListener) return () => {};
    const onStorage = (e: { key: string | null; newValue: string | null }) => {
      if (e.key === this.key || e.key === null) cb(parseSession(e.key === null ? null : e.newValue));
    };
    target.addEventListener("storage", onStorage);
    return () => target.removeEventListener?.("storage", onStorage);
  }
}

function parseSession(raw: string | null): Session | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<Session>;
    if (
      typeof v.userId === "string" &&
      typeof v.sessionId === "string" &&
      typeof v.accessToken === "string" &&
      typeof v.refreshToken === "string" &&
      typeof v.expiresAt === "number"
    ) {
      return {
        userId: v.userId,
        sessionId: v.sessionId,
        accessToken: v.accessToken,
        refreshToken: v.refreshToken,
        expiresAt: v.expiresAt,
      };
    }
  } catch {
    // A corrupt entry is treated as signed out.
  }
  return null;
}

export interface HearthAuthOptions {
  /** Gateway base URL, e.g. `https://hearth.example`; `""` for the page's own origin. */
  baseUrl: string;
  fetch?: typeof fetch;
  storage?: TokenStorage;
  /** Wall clock in Unix ms (token expiry is wall time); injectable for tests. */
  now?: () => number;
  /** Refresh when the access token expires within this many ms (default 60 000). */
  refreshMarginMs?: number;
}

interface TokenResponse {
  user_id: string;
  session_id: string;
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

/** HTTP auth against the gateway (same origin by default). */
export class HearthAuth {
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly storage: TokenStorage;
  private readonly now: () => number;
  private readonly margin: number;
  private current: Session | null;
  private refreshing: Promise<Session> | null = null;
  private readonly listeners = new Set<(s: Session | null) => void>();

  constructor(opts: HearthAuthOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, "");
    const f = opts.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (!f) throw new Error("HearthAuth: no fetch in this environment; pass opts.fetch");
    // Browsers require fetch to be called with globalThis as `this`.
    this.fetchFn = opts.fetch ?? f.bind(globalThis);
    this.storage = opts.storage ?? new MemoryTokenStorage();
    this.now = opts.now ?? (() => Date.now());
    this.margin = opts.refreshMarginMs ?? 60_000;
    this.current = this.storage.load();
    this.storage.subscribe?.((s) => {
      if (!sameSession(s, this.current)) this.set(s, false);
    });
  }

  /** The current session, or null when signed out. */
  get session(): Session | null {
    return this.current;
  }

  /** Registers a change listener (sign-in, refresh, sign-out); returns an unsubscribe function. */
  onChange(cb: (s: Session | null) => void): () => void {
    this.listeners.add(cb);
    return () => {
      this.listeners.delete(cb);
    };
  }

  /** Creates an account and signs in (201). */
  async register(username: string, password: string, displayName?: string): Promise<Session> {
    const body: Record<string, string> = { username, password };
    if (displayName !== undefined && displayName !== "") body["display_name"] = displayName;
    return this.set(await this.tokens("/v1/auth/register", body), true);
  }

  /** Signs in with a username (case-insensitive) and password. */
  async login(username: string, password: string): Promise<Session> {
    return this.set(await this.tokens("/v1/auth/login", { username, password }), true);
  }

  /**
   * Ends the session on the server (its refresh token dies, and its
   * WebSockets are closed with 4009) and forgets it locally. The local
   * sign-out happens even when the server cannot be reached.
   */
  async logout(): Promise<void> {
    const session = this.current;
    if (!session) return;
    try {
      const token = await this.accessToken();
      const res = await this.fetchFn(`${this.baseUrl}/v1/auth/logout`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
      });
      if (!res.ok && res.status !== 401) throw await authError(res);
    } finally {
      this.set(null, true);
    }
  }

  /**
   * A valid access token, refreshing (single-flight) when within 60 s of
   * expiry. Throws HearthAuthError when signed out or when the refresh
   * token is refused (which signs out). A refresh that fails for a
   * transient reason returns the old token while it is still valid.
   */
  async accessToken(): Promise<string> {
    const session = this.current;
    if (!session) throw new HearthAuthError(0, "unauthenticated", "signed out");
    if (session.expiresAt - this.now() > this.margin) return session.accessToken;
    try {
      return (await this.refresh()).accessToken;
    } catch (err) {
      const still = this.current;
      if (still && still.expiresAt > this.now() && !(err instanceof HearthAuthError && err.status === 401)) {
        return still.accessToken;
      }
      throw err;
    }
  }

  /** Refreshes now (single-flight), rotating the refresh token. */
  refresh(): Promise<Session> {
    if (!this.refreshing) {
      const run = () => this.doRefresh();
      const p = this.storage.withLock ? this.storage.withLock(run) : run();
      this.refreshing = p.finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<Session> {
    // Another tab may have refreshed while we waited for the lock: its
    // session is newer, and our refresh token is already spent.
    const stored = this.storage.load();
    if (stored && this.current && stored.refreshToken !== this.current.refreshToken) {
      if (stored.expiresAt - this.now() > this.margin) return this.set(stored, false);
    }
    const session = stored ?? this.current;
    if (!session) throw new HearthAuthError(0, "unauthenticated", "signed out");
    try {
      const next = await this.tokens("/v1/auth/refresh", { refresh_token: session.refreshToken });
      return this.set(next, true);
    } catch (err) {
      if (err instanceof HearthAuthError && err.status === 401) this.set(null, true);
      throw err;
    }
  }

  private async tokens(path: string, body: Record<string, string>): Promise<Session> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.baseUrl}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new HearthAuthError(0, "unavailable", `network error: ${String(err)}`);
    }
    if (!res.ok) throw await authError(res);
    const t = (await res.json()) as TokenResponse;
    return {
      userId: t.user_id,
      sessionId: t.session_id,
      accessToken: t.access_token,
      refreshToken: t.refresh_token,
      expiresAt: this.now() + t.expires_in * 1000,
    };
  }

  private set(session: Session | null, persist: boolean): Session {
    this.current = session;
    if (persist) this.storage.save(session);
    for (const cb of [...this.listeners]) {
      try {
        cb(session);
      } catch (err) {
        console.error("@hearth/sdk: HearthAuth.onChange listener threw", err);
      }
    }
    return session as Session;
  }
}

function sameSession(a: Session | null, b: Session | null): boolean {
  if (a === null || b === null) return a === b;
  return a.refreshToken === b.refreshToken && a.accessToken === b.accessToken;
}

async function authError(res: Response): Promise<HearthAuthError> {
  let code = statusCode(res.status);
  let message = `HTTP ${res.status}`;
  let field: string | undefined;
  let retryAfterMs: number | undefined;
  try {
    const body = (await res.json()) as {
      error?: { code?: string; message?: string; field?: string; retry_after_ms?: number };
    };
    if (body.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
      field = body.error.field;
      retryAfterMs = body.error.retry_after_ms;
    }
  } catch {
    // Not JSON (a proxy's error page): keep the status-derived code.
  }
  if (retryAfterMs === undefined) {
    const header = res.headers.get("Retry-After");
    if (header && /^\d+$/.test(header)) retryAfterMs = Number(header) * 1000;
  }
  const opts: { field?: string; retryAfterMs?: number } = {};
  if (field) opts.field = field;
  if (retryAfterMs !== undefined) opts.retryAfterMs = retryAfterMs;
  return new HearthAuthError(res.status, code, message, opts);
}

function statusCode(status: number): string {
  switch (status) {
    case 400:
    case 415:
      return "invalid_argument";
    case 401:
      return "unauthenticated";
    case 403:
      return "permission_denied";
    case 404:
      return "not_found";
    case 409:
      return "already_exists";
    case 429:
      return "rate_limited";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "internal" : "unknown";
  }
}
