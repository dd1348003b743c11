import assert from "node:assert/strict";
import { test } from "node:test";

import { FatalWait, WaitTimeout, describe, until } from "../lib/wait.mjs";

test("until resolves with the probe's value once it is ok", async () => {
  let calls = 0;
  const value = await until("three calls", async () => (++calls === 3 ? { ok: true, value: "done" } : { ok: false, seen: calls }), {
    intervalMs: 1,
  });
  assert.equal(value, "done");
  assert.equal(calls, 3);
});

test("a timeout names what was awaited and what was seen last", async () => {
  await assert.rejects(
    until("the door to open", async () => ({ ok: false, seen: { door: "closed" } }), { timeoutMs: 30, intervalMs: 5 }),
    (e) => e instanceof WaitTimeout && /waiting for the door to open; last seen: \{"door":"closed"\}/.test(e.message),
  );
});

test("a throwing probe is retried and its error reported", async () => {
  await assert.rejects(
    until("a flaky element", async () => {
      throw new Error("element detached\nstack");
    }, { timeoutMs: 20, intervalMs: 5 }),
    /last seen: "element detached"$/,
  );
});

test("a fatal outcome fails at once", async () => {
  const started = Date.now();
  await assert.rejects(
    until("sign-in", async () => ({ ok: false, fatal: "the app shows an alert: wrong password" }), { timeoutMs: 5_000 }),
    (e) => e instanceof FatalWait && e.message === "sign-in: the app shows an alert: wrong password",
  );
  assert.ok(Date.now() - started < 1_000);
});

test("describe keeps failure messages short", () => {
  assert.equal(describe("a"), '"a"');
  assert.equal(describe(undefined), "undefined");
  assert.ok(describe("x".repeat(2_000)).length > 600); // strings are quoted whole
  assert.ok(describe({ long: "y".repeat(2_000) }).length <= 601);
});
