import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HearthAuth, LocalStorageTokenStorage, type Session } from "./auth.js";
import { HearthAuthError } from "./errors.js";

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A fake gateway auth API: records calls, answers from a queue of handlers. */
function fakeFetch(handlers: ((call: Call) => Response | Promise<Response>)[]) {
  const calls: Call[] = [];
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const call: Call = {
      url: String(input),
      method: init?.method ?? "GET",
      headers,
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    const h = handlers.shift();
    if (!h) throw new Error(`unexpected request ${call.method} ${call.url}`);
    return h(call);
  }) as typeof fetch;
  return { fetchFn, calls };
}

function tokens(n: number, status = 200): Response {
  return new Response(
    JSON.stringify({
      user_id: "u-1",
      session_id: "s-1",
      access_token: `access-${n}`,
      refresh_token: `refresh-${n}`,
      expires_in: 900,
      token_type: "Bearer",
    }),
    { status, headers: { "Content-Type": "application/json" } },
  );
}

function error(status: number, body: object, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

describe("HearthAuth", () => {
  it("registers with snake_case JSON and keeps the session", async () => {
    let now = 1_000_000;
    const { fetchFn, calls } = fakeFetch([() => tokens(1, 201)]);
    const auth = new HearthAuth({ baseUrl: "http://gw.test/", fetch: fetchFn, now: () => now });
    const changes: (Session | null)[] = [];
    auth.onChange((s) => changes.push(s));
    const s = await auth.register("ann_01", "correct horse battery", "Ann");
    assert.equal(calls[0]?.url, "http://gw.test/v1/auth/register");
    assert.equal(calls[0]?.method, "POST");
    assert.equal(calls[0]?.headers["content-type"], "application/json");
    assert.deepEqual(calls[0]?.body, { username: "ann_01", password: "correct horse battery", display_name: "Ann" });
    assert.deepEqual(s, { userId: "u-1", sessionId: "s-1", accessToken: "access-1", refreshToken: "refresh-1", expiresAt: now + 900_000 });
    assert.equal(auth.session, s);
    assert.deepEqual(changes, [s]);
    now += 60_000;
    assert.equal(await auth.accessToken(), "access-1", "no refresh while far from expiry");
    assert.equal(calls.length, 1);
  });

  it("refreshes single-flight within 60 s of expiry, rotating the refresh token", async () => {
    let now = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const { fetchFn, calls } = fakeFetch([
      () => tokens(1),
      async () => {
        await gate;
        return tokens(2);
      },
    ]);
    const auth = new HearthAuth({ baseUrl: "", fetch: fetchFn, now: () => now });
    await auth.login("ann", "pw");
    assert.equal(calls[0]?.url, "/v1/auth/login");
    now = 900_000 - 59_000;
    const a = auth.accessToken();
    const b = auth.accessToken();
    release();
    assert.deepEqual(await Promise.all([a, b]), ["access-2", "access-2"]);
    assert.equal(calls.length, 2, "one refresh for two callers");
    assert.equal(calls[1]?.url, "/v1/auth/refresh");
    assert.deepEqual(calls[1]?.body, { refresh_token: "refresh-1" });
    assert.equal(auth.session?.refreshToken, "refresh-2");
  });

  it("signs out when the refresh token is refused", async () => {
    let now = 0;
    const { fetchFn } = fakeFetch([
      () => tokens(1),
      () => error(401, { error: { code: "unauthenticated", message: "refresh token reused" } }),
    ]);
    const auth = new HearthAuth({ baseUrl: "", fetch: fetchFn, now: () => now });
    await auth.login("ann", "pw");
    now = 890_000;
    await assert.rejects(auth.accessToken(), (e: unknown) => e instanceof HearthAuthError && e.status === 401 && e.code === "unauthenticated");
    assert.equal(auth.session, null);
    await assert.rejects(auth.accessToken(), { code: "unauthenticated", status: 0 });
  });

  it("keeps a still-valid token when a refresh fails transiently", async () => {
    let now = 0;
    const { fetchFn } = fakeFetch([() => tokens(1), () => error(503, { error: { code: "unavailable", message: "identity down" } })]);
    const auth = new HearthAuth({ baseUrl: "", fetch: fetchFn, now: () => now });
    await auth.login("ann", "pw");
    now = 890_000;
    assert.equal(await auth.accessToken(), "access-1");
    assert.notEqual(auth.session, null);
  });

  it("maps error bodies: field, retry_after_ms and Retry-After", async () => {
    const { fetchFn } = fakeFetch([
      () => error(400, { error: { code: "invalid_argument", message: "username: must be 3–32 characters, got 2", field: "username" } }),
      () => error(429, { error: { code: "rate_limited", message: "too many attempts", retry_after_ms: 12_500 } }),
      () => new Response("<html>bad gateway</html>", { status: 503, headers: { "Retry-After": "7" } }),
    ]);
    const auth = new HearthAuth({ baseUrl: "", fetch: fetchFn });
    await assert.rejects(auth.register("an", "correct horse battery"), { status: 400, code: "invalid_argument", field: "username" });
    await assert.rejects(auth.login("ann", "pw"), { status: 429, code: "rate_limited", retryAfterMs: 12_500 });
    await assert.rejects(auth.login("ann", "pw"), { status: 503, code: "unavailable", retryAfterMs: 7000 });
  });

  it("logs out with the bearer token and forgets the session even if the server fails", async () => {
    const { fetchFn, calls } = fakeFetch([
      () => tokens(1),
      () => new Response(null, { status: 204 }),
      () => tokens(2),
      () => {
        throw new TypeError("network down");
      },
    ]);
    const auth = new HearthAuth({ baseUrl: "", fetch: fetchFn });
    await auth.login("ann", "pw");
    await auth.logout();
    assert.equal(calls[1]?.url, "/v1/auth/logout");
    assert.equal(calls[1]?.headers["authorization"], "Bearer access-1");
    assert.equal(auth.session, null);
    await auth.login("ann", "pw");
    await assert.rejects(auth.logout());
    assert.equal(auth.session, null);
  });

  it("persists to localStorage and adopts a session another tab refreshed", async () => {
    const map = new Map<string, string>();
    const storage = {
      getItem: (k: string) => map.get(k) ?? null,
      setItem: (k: string, v: string) => void map.set(k, v),
      removeItem: (k: string) => void map.delete(k),
    };
    let now = 0;
    const { fetchFn, calls } = fakeFetch([() => tokens(1)]);
    const auth = new HearthAuth({ baseUrl: "", fetch: fetchFn, now: () => now, storage: new LocalStorageTokenStorage({ storage }) });
    await auth.login("ann", "pw");
    assert.equal(JSON.parse(map.get("hearth.session")!).refreshToken, "refresh-1");
    // Another tab refreshed: its rotated token is in storage.
    map.set(
      "hearth.session",
      JSON.stringify({ userId: "u-1", sessionId: "s-1", accessToken: "access-9", refreshToken: "refresh-9", expiresAt: 2_000_000 }),
    );
    now = 890_000;
    assert.equal(await auth.accessToken(), "access-9", "no refresh with a spent token");
    assert.equal(calls.length, 1);
    // A second instance starts signed in from storage.
    const again = new HearthAuth({ baseUrl: "", fetch: fetchFn, now: () => now, storage: new LocalStorageTokenStorage({ storage }) });
    assert.equal(again.session?.accessToken, "access-9");
  });
});
