import assert from "node:assert/strict";
import { test } from "node:test";

import { driftMs, formatSummary, positionAt, settled, summarize } from "../lib/drift.mjs";

test("a paused player stays where it is", () => {
  assert.equal(positionAt({ position: 30, at: 1_000, rate: 1, paused: true }, 9_000), 30);
});

test("a playing player advances by wall time times rate", () => {
  assert.equal(positionAt({ position: 30, at: 1_000, rate: 1, paused: false }, 1_500), 30.5);
  assert.equal(positionAt({ position: 30, at: 1_000, rate: 1.5, paused: false }, 3_000), 33);
});

test("drift compares both players at the guest's sampling instant", () => {
  // The host read 30.000 s at t=1000; the guest read 30.120 s at t=1100: the host is at 30.100 s then.
  const host = { position: 30, at: 1_000, rate: 1, paused: false };
  const guest = { position: 30.12, at: 1_100, rate: 1, paused: false };
  assert.ok(Math.abs(driftMs(host, guest) - 20) < 1e-9);
  // A guest behind the host drifts negative.
  assert.ok(Math.abs(driftMs(host, { ...guest, position: 30.05 }) + 50) < 1e-9);
  // Sampled in the other order (host read 30.000 s at t=1200, after the guest) the host is at 29.900 s at t=1100.
  assert.ok(Math.abs(driftMs({ ...host, at: 1_200 }, guest) - 220) < 1e-9);
});

test("paused players compare positions directly", () => {
  const host = { position: 20, at: 1_000, rate: 1, paused: true };
  assert.ok(Math.abs(driftMs(host, { position: 20.04, at: 5_000, rate: 1, paused: true }) - 40) < 1e-9);
});

test("summaries judge magnitudes", () => {
  const summary = summarize([-30, 10, 20, -5]);
  assert.deepEqual(summary, { count: 4, median: 15, max: 30, min: 5 });
  assert.equal(summarize([7, -9, 8]).median, 8);
  assert.equal(formatSummary(summarize([1, 2, 3])), "median 2.0 ms, max 3.0 ms over 3 samples");
  assert.throws(() => summarize([]), /at least one/);
});

test("settled needs a full window of small drifts", () => {
  assert.equal(settled([10, 20], 150), false);
  assert.equal(settled([500, 10, -20, 140], 150), true);
  assert.equal(settled([10, 20, 151], 150), false);
  assert.equal(settled([-150, 150, 0], 150), true);
});
