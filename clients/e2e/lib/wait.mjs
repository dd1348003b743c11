/**
 * Bounded polling. Every wait in the scenarios goes through `until` so a
 * failure says what was awaited, for how long, and what was seen last —
 * instead of a bare timeout.
 */

/** Sleeps `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Thrown when a bounded wait runs out; `lastSeen` is what the probe saw last. */
export class WaitTimeout extends Error {
  constructor(what, timeoutMs, lastSeen) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${describe(lastSeen)}`);
    this.name = "WaitTimeout";
    this.lastSeen = lastSeen;
  }
}

/** A wait that cannot succeed any more. */
export class FatalWait extends Error {
  constructor(message) {
    super(message);
    this.name = "FatalWait";
  }
}

/**
 * Calls `probe` every `intervalMs` until it returns `{ ok: true, value }`,
 * then resolves with `value`; `{ ok: false, seen }` records what was seen
 * for the failure message, and `{ ok: false, fatal }` fails at once (an
 * error the page shows will not go away by waiting). A probe that throws
 * counts as not-yet (pages re-render under it) and its error becomes the
 * last seen value.
 */
export async function until(what, probe, { timeoutMs = 10_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastSeen = "nothing yet";
  for (;;) {
    try {
      const outcome = await probe();
      if (outcome.ok) return outcome.value;
      if (outcome.fatal !== undefined) throw new FatalWait(`${what}: ${outcome.fatal}`);
      lastSeen = outcome.seen;
    } catch (error) {
      if (error instanceof FatalWait) throw error;
      lastSeen = error instanceof Error ? error.message.split("\n")[0] : error;
    }
    if (Date.now() >= deadline) throw new WaitTimeout(what, timeoutMs, lastSeen);
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

/** A short, single-line rendering of any value for failure messages. */
export function describe(value) {
  if (typeof value === "string") return JSON.stringify(value);
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 600 ? `${text.slice(0, 600)}…` : text;
  } catch {
    return String(value);
  }
}
