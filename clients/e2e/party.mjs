#!/usr/bin/env node
/**
 * The watch-party scenario in a real browser: two people (two contexts of
 * one headless Chromium) sign up, meet in a public watch party through an
 * invite link, stay in sync through pause/seek/play, chat, vote in a poll,
 * survive a gateway crash without losing or duplicating a chat message,
 * moderate, play a quiz, ask and upvote a question, browse channels with
 * live counts, and pass axe-core and keyboard-only checks.
 *
 * Run by tests/browser (cargo test -p hearth-tests --test browser), which
 * starts Hearth and the media server and serves the control channel
 * (lib/control.mjs). Environment:
 *   HEARTH_URL        the gateway serving the web app, e.g. http://127.0.0.1:38080 (required)
 *   HEARTH_VIDEO_URL  a seekable 120 s VP9/WebM test video (required)
 *   HEARTH_HLS_URL    the same video as HLS (.m3u8), optional
 *   HEARTH_ARTIFACTS  where screenshots go (default <repo>/target/browser-artifacts)
 *   HEARTH_CONTROL    "stdio" when the parent serves the control channel (needed for the reconnect scenario)
 *   CHROMIUM_PATH     default /usr/bin/chromium
 * Exits 0 when every check passed, 1 otherwise (with screenshots of both pages).
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";

import {
  connectionState,
  copyInviteLink,
  createQuiz,
  createWatchParty,
  focused,
  messageMenuAction,
  openPoll,
  peopleText,
  pollOptionButton,
  pressSend,
  readChat,
  readLeaderboard,
  readPlayer,
  readPlayers,
  readPoll,
  region,
  regionMessages,
  roomCard,
  signUp,
  typeAndSend,
  waitConnection,
  waitMessage,
  waitRoom,
} from "./lib/app.mjs";
import { audit, blocking, describeViolations, formatCounts } from "./lib/axe.mjs";
import { launchBrowser, openTab, openUser } from "./lib/browser.mjs";
import { Control } from "./lib/control.mjs";
import { driftMs, formatSummary, settled, summarize } from "./lib/drift.mjs";
import { describe, sleep, until } from "./lib/wait.mjs";

/** The sync requirement: both players within this many ms of each other. */
const DRIFT_LIMIT_MS = 150;
/** How long the group may take to settle after a command before drift is judged. */
const SETTLE_TIMEOUT_MS = 10_000;
/**
 * "After settling" means both players' own sync loops are done correcting:
 * each app's drift read-out (its player against the group clock) within
 * this. sync.md's correction runs at ±5 % down to 20 ms, so a player
 * still catching up (a loaded machine) is not judged mid-correction.
 */
const SETTLED_APP_DRIFT_MS = 50;
/** Samples per drift measurement, and their spacing. */
const DRIFT_SAMPLES = 10;
const SAMPLE_SPACING_MS = 250;
/** Where the host seeks to (seconds into the 120 s test video: far enough from the end for the rest of the run). */
const SEEK_TO_S = 20;
/** The catalog an operator pushes before anyone signs in (channel ids are the provider's own). */
const CHANNELS = [
  { id: "hearth-news", name: "Hearth News" },
  { id: "weather-now", name: "Weather Now" },
  { id: "sport-live", name: "Sport Live" },
  { id: "film-club", name: "Film Club" },
];
/** Tabs a keyboard user may need from the main landmark to the chat composer of a busy room. */
const MAX_TABS_TO_COMPOSER = 120;
/** The whole run must finish before the Rust test's own bound (240 s) kills us. */
const WATCHDOG_MS = Number(process.env.HEARTH_E2E_TIMEOUT_MS ?? 220_000);

const here = dirname(fileURLToPath(import.meta.url));
const baseUrl = requiredEnv("HEARTH_URL").replace(/\/+$/, "");
const videoUrl = requiredEnv("HEARTH_VIDEO_URL");
const hlsUrl = process.env.HEARTH_HLS_URL || null;
const artifacts = resolve(process.env.HEARTH_ARTIFACTS || join(here, "..", "..", "target", "browser-artifacts"));
const control = Control.fromEnv();

const run = randomBytes(4).toString("hex");
const password = `correct horse ${run}`;
const accounts = {
  host: { username: `ann_${run}`, password, displayName: "Ann Host" },
  guest: { username: `ben_${run}`, password, displayName: "Ben Guest" },
};

/** @type {Array<{ name: string, path: string }>} */
const screenshots = [];
/** @type {string[]} */
const findings = [];
/** @type {Array<{ label: string } & Awaited<ReturnType<typeof audit>>>} */
const accessibility = [];
/** @type {Array<Awaited<ReturnType<typeof openUser>>>} */
const users = [];
let currentStep = "start";

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`party.mjs: ${name} is required (run through tests/browser, or set it by hand)`);
    process.exit(2);
  }
  return value;
}

function log(message) {
  console.log(`[e2e] ${message}`);
}

/** Saves a named screenshot of a page into the artifacts dir. */
async function screenshot(user, name) {
  const path = join(artifacts, `${name}.png`);
  // Screens are judged from the top, as a person arriving on them sees them.
  await user.page.evaluate(() => window.scrollTo(0, 0));
  await user.page.screenshot({ path, fullPage: false, animations: "disabled", timeout: 15_000 });
  screenshots.push({ name, path });
  log(`screenshot ${name}: ${path}`);
}

/**
 * Audits the page with axe-core and records the result; every page's
 * serious/critical violations are judged together at the end of the run, so
 * one run reports all of them.
 */
async function checkAccessibility(user, label) {
  const result = await audit(user.page);
  const { violations } = result;
  accessibility.push({ label, ...result });
  log(`axe ${label}: ${formatCounts(violations)}; ${result.passed} rules passed, ${result.incomplete.length} need review (${result.incomplete.join(", ") || "none"})`);
  const bad = blocking(violations);
  if (bad.length > 0) log(`axe ${label}: serious/critical violations:\n${describeViolations(bad)}`);
}

/** Runs one named step; on failure screenshots every page and rethrows with the step's name. */
async function step(name, body) {
  currentStep = name;
  const started = Date.now();
  log(`▶ ${name}`);
  try {
    const value = await body();
    log(`✔ ${name} (${Date.now() - started} ms)`);
    return value;
  } catch (error) {
    await failureShots(name);
    throw error;
  }
}

async function failureShots(stepName) {
  const slug = stepName.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  for (const user of users) {
    try {
      const path = join(artifacts, `failure-${slug}-${user.name}.png`);
      await user.page.screenshot({ path, timeout: 10_000 });
      log(`failure screenshot (${user.name} at ${user.page.url()}): ${path}`);
    } catch (error) {
      log(`no failure screenshot of ${user.name}: ${error instanceof Error ? error.message : error}`);
    }
  }
}

/**
 * Waits until both players satisfy `condition` and their drift stayed
 * within the limit for three consecutive readings, then takes
 * DRIFT_SAMPLES readings and checks every one. Returns the summary.
 */
async function measureDrift(label, host, guest, condition) {
  /** @type {number[]} */
  const recent = [];
  await until(
    `${label}: both players ${condition.describe}, each within ${SETTLED_APP_DRIFT_MS} ms of the group clock, with drift ≤ ${DRIFT_LIMIT_MS} ms for 3 readings`,
    async () => {
      const both = await readPlayers(host, guest);
      const problem = condition.check(both);
      if (problem) {
        recent.length = 0;
        return { ok: false, seen: { problem, ...both } };
      }
      const correcting = [both.host, both.guest].filter((p) => !(Math.abs(Number.parseInt(p.appDrift ?? "", 10)) <= SETTLED_APP_DRIFT_MS));
      if (correcting.length > 0) {
        recent.length = 0;
        return { ok: false, seen: { correcting: correcting.map((p) => p.appDrift), ...both } };
      }
      recent.push(driftMs(both.host, both.guest));
      return settled(recent, DRIFT_LIMIT_MS) ? { ok: true, value: both } : { ok: false, seen: { recent, ...both } };
    },
    { timeoutMs: SETTLE_TIMEOUT_MS + (condition.extraSettleMs ?? 0), intervalMs: 150 },
  );
  /** @type {number[]} */
  const drifts = [];
  /** @type {Array<Awaited<ReturnType<typeof readPlayers>>>} */
  const readings = [];
  for (let i = 0; i < DRIFT_SAMPLES; i++) {
    if (i > 0) await sleep(SAMPLE_SPACING_MS);
    const both = await readPlayers(host, guest);
    const problem = condition.check(both);
    assert.equal(problem, null, `${label}, reading ${i + 1}: ${problem} (${describe(both)})`);
    drifts.push(driftMs(both.host, both.guest));
    readings.push(both);
  }
  const summary = summarize(drifts);
  const appDrifts = readings.map((r) => `${r.host.appDrift}/${r.guest.appDrift}`).join(" ");
  const span = `${readings[0]?.host.position.toFixed(3)}–${readings[readings.length - 1]?.host.position.toFixed(3)} s`;
  log(`drift ${label}: ${formatSummary(summary)} at host positions ${span} (signed, guest − host: ${drifts.map((d) => d.toFixed(1)).join(", ")})`);
  log(`drift ${label}: the app's own drift read-outs host/guest: ${appDrifts}`);
  assert.ok(
    summary.max <= DRIFT_LIMIT_MS,
    `${label}: guest drift must stay within ${DRIFT_LIMIT_MS} ms of the host; ${formatSummary(summary)}`,
  );
  return { label, ...summary, readings };
}

/** Both players paused near `positionS` (or anywhere past `afterS`), showing sync-status "paused". */
function pausedAt(positionS, afterS = 0) {
  return {
    describe: positionS === undefined ? `paused past ${afterS} s` : `paused at ${positionS} s`,
    check: ({ host, guest }) => {
      for (const [who, p] of [["host", host], ["guest", guest]]) {
        if (!p.paused) return `${who}'s video is not paused`;
        if (p.status !== "paused") return `${who}'s sync-status is ${describe(p.status)}, not "paused"`;
        if (p.seeking) return `${who}'s video is still seeking`;
        if (positionS !== undefined && Math.abs(p.position - positionS) > 0.5) {
          return `${who}'s video is at ${p.position.toFixed(3)} s, not ${positionS} s`;
        }
        if (p.position < afterS) return `${who}'s video is at ${p.position.toFixed(3)} s, not past ${afterS} s`;
      }
      return null;
    },
  };
}

/** Both players playing from at least `fromS`, not beyond what wall time since play was pressed (`sinceMs`) allows. */
function playingFrom(fromS, sinceMs) {
  return {
    describe: `playing from ${fromS} s`,
    extraSettleMs: 2_000, // the scheduled start lies ≥ 500 ms ahead, and the player must buffer at the new position
    check: ({ host, guest }) => {
      const ceiling = fromS + (Date.now() - sinceMs) / 1000 + 1;
      for (const [who, p] of [["host", host], ["guest", guest]]) {
        if (p.paused) return `${who}'s video is paused`;
        if (p.status !== "playing") return `${who}'s sync-status is ${describe(p.status)}, not "playing"`;
        if (p.position < fromS - 0.5 || p.position > ceiling) {
          return `${who}'s video is at ${p.position.toFixed(3)} s, outside [${fromS - 0.5}, ${ceiling.toFixed(1)}] s`;
        }
      }
      return null;
    },
  };
}

/** Runs in the page before the app: makes the browser report no native HLS support. */
function hideNativeHls() {
  const canPlayType = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return /mpegurl/i.test(type) ? "" : canPlayType.call(this, type);
  };
}

/** Copies the app's localStorage (its saved session) from one page to another on the same origin. */
async function copyStorage(from, to) {
  const entries = await from.evaluate(() => Object.entries(localStorage));
  await to.evaluate((pairs) => {
    for (const [key, value] of pairs) localStorage.setItem(key, value);
  }, entries);
}

/** Starts recording every value the page's connection-state read-out takes. */
async function recordConnectionStates(user) {
  await user.page.evaluate(() => {
    const read = () => document.querySelector('[data-testid="connection-state"]')?.textContent?.trim() ?? "(absent)";
    const seen = [read()];
    /** @type {any} */ (window).__e2eConnectionStates = seen;
    new MutationObserver(() => {
      const now = read();
      if (seen[seen.length - 1] !== now) seen.push(now);
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
}

async function recordedConnectionStates(user) {
  return user.page.evaluate(() => /** @type {string[]} */ (/** @type {any} */ (window).__e2eConnectionStates ?? []));
}

/** Both chat lists equal, ascending by sequence, each of `texts` exactly once and in that order. */
function checkChat(host, guest, texts) {
  for (const [who, list] of [["host", host], ["guest", guest]]) {
    const sequences = list.map((m) => Number(m.sequence));
    if (!sequences.every((s) => Number.isSafeInteger(s) && s > 0)) {
      return `${who}: a data-sequence is not a positive integer: ${describe(list.map((m) => m.sequence))}`;
    }
    if (!sequences.every((s, i) => i === 0 || s > /** @type {number} */ (sequences[i - 1]))) {
      return `${who}: sequences are not strictly ascending: ${describe(sequences)}`;
    }
    const ours = list.filter((m) => m.text !== null && texts.includes(m.text)).map((m) => m.text);
    if (ours.length !== texts.length || ours.some((t, i) => t !== texts[i])) {
      return `${who}: expected each of ${describe(texts)} once, in order; saw ${describe(ours)}`;
    }
  }
  if (JSON.stringify(host) !== JSON.stringify(guest)) {
    return `the two pages differ: host ${describe(host)} vs guest ${describe(guest)}`;
  }
  return null;
}

async function waitSameChat(host, guest, texts, timeoutMs = 10_000) {
  return until(
    `both pages to show the same chat with ${texts.length} sent messages, once each, in order`,
    async () => {
      const [h, g] = await Promise.all([readChat(host.page), readChat(guest.page)]);
      const problem = checkChat(h, g, texts);
      return problem ? { ok: false, seen: problem } : { ok: true, value: h };
    },
    { timeoutMs },
  );
}

/**
 * Reloads the home tab until every `[shelf, title, count]` card shows that
 * online count (the lists carry counts at read time); returns a summary.
 */
async function readHomeCounts(tab, wanted) {
  let reloadedAt = Date.now();
  return until(
    `${tab.name}: online counts ${wanted.map(([shelf, t, n]) => `${shelf}/"${t}"=${n}`).join(", ")}`,
    async () => {
      if (Date.now() - reloadedAt > 1_500) {
        await tab.page.reload();
        reloadedAt = Date.now();
      }
      /** @type {string[]} */
      const seen = [];
      let ok = true;
      for (const [shelf, cardTitle, count] of wanted) {
        const card = roomCard(tab.page, shelf, cardTitle);
        const shown = (await card.count()) === 1 ? ((await card.getByTestId("online-count").textContent()) ?? "").trim() : "(no card)";
        seen.push(`${shelf}/"${cardTitle}" ${shown}`);
        ok &&= shown === count;
      }
      return ok ? { ok: true, value: seen.join(", ") } : { ok: false, seen };
    },
    { timeoutMs: 20_000, intervalMs: 300 },
  );
}

async function main() {
  mkdirSync(artifacts, { recursive: true });
  // Failure screenshots of an earlier run would mislead whoever reads this run's artifacts.
  for (const stale of readdirSync(artifacts).filter((f) => /^failure-.*\.png$/.test(f))) rmSync(join(artifacts, stale));
  log(`gateway ${baseUrl}, video ${videoUrl}${hlsUrl ? `, HLS ${hlsUrl}` : ""}, artifacts ${artifacts}`);
  const browser = await launchBrowser();
  log(`Chromium ${browser.version()}`);
  try {
    const host = await openUser(browser, "host");
    const guest = await openUser(browser, "guest");
    users.push(host, guest);
    const title = `Film night ${run}`;

    // 0. The operator's catalog: channel rooms exist before anyone signs in.
    /** @type {Array<{ channelId: string, roomId: string, title: string }>} */
    let channelRooms = [];
    if (control) {
      channelRooms = await step("an operator pushes a channel catalog", async () => {
        const { rooms } = await control.call("seed-catalog", { channels: CHANNELS });
        assert.equal(rooms.length, CHANNELS.length, "catalog sync made one room per channel");
        for (const [i, room] of rooms.entries()) {
          assert.equal(room.title, CHANNELS[i]?.name, `the channel room of ${room.channelId} is titled by the channel's name`);
        }
        return rooms;
      });
    } else {
      findings.push("no control channel: no catalog was pushed, so the channel checks did not run");
      log(findings[findings.length - 1]);
    }

    // 1. Sign-up, watch party, invite, join.
    await step("host signs up", async () => {
      await host.page.goto(`${baseUrl}/`);
      await until("host: the sign-in screen", async () =>
        (await host.page.getByLabel("Username", { exact: true }).isVisible())
          ? { ok: true, value: true }
          : { ok: false, seen: host.page.url() },
      );
      await screenshot(host, "sign-in");
      await checkAccessibility(host, "sign-in");
      await signUp(host, accounts.host);
      for (const heading of ["Channels", "Public rooms", "Recommended for you"]) {
        await host.page.getByRole("heading", { name: heading, exact: true }).waitFor({ state: "visible" });
      }
      // The lists come from the catalog, rooms and recommendations services through the gateway;
      // "Loading…" is the app's placeholder until each answers.
      await until("host: the home lists to finish loading", async () => {
        const loading = await host.page.getByText("Loading…", { exact: true }).count();
        return loading === 0 ? { ok: true, value: true } : { ok: false, seen: `${loading} lists still loading` };
      });
      assert.ok(
        (await host.page.getByText(accounts.host.displayName).count()) > 0 ||
          (await host.page.getByText(accounts.host.username).count()) > 0,
        "host: the header shows the user's name",
      );
      for (const channel of channelRooms) {
        const card = roomCard(host.page, "Channels", channel.title);
        assert.equal(await card.count(), 1, `host: one card "${channel.title}" under "Channels"`);
        assert.equal(await card.getAttribute("href"), `/rooms/${channel.roomId}`, `the "${channel.title}" card links to its room`);
        assert.equal((await card.getByTestId("online-count").textContent())?.trim(), "0", `nobody watches ${channel.title} yet`);
      }
      // With a catalog the home screenshot waits for the browse step, when rooms and counts are there.
      if (channelRooms.length === 0) await screenshot(host, "home");
    });

    const roomId = await step("host creates a public watch party", () =>
      createWatchParty(host, { title, mediaUrl: videoUrl, visibility: "Public" }),
    );
    log(`room ${roomId}`);

    const invite = await step("host copies the invite link", async () => {
      const link = await copyInviteLink(host);
      assert.equal(new URL(link.url).origin, new URL(baseUrl).origin, `the invite link ${link.url} is on the app's origin`);
      return link;
    });
    log(`invite ${invite.url}`);

    await step("guest opens the invite link and joins", async () => {
      const response = await guest.page.goto(invite.url);
      assert.equal(response?.status(), 200, `GET ${invite.url} answers 200`);
      await guest.page.getByText(title).first().waitFor({ state: "visible" });
      await screenshot(guest, "invite-preview");
      const join = guest.page.locator(`a[href$="/join/${invite.code}"]`);
      if ((await join.count()) > 0) {
        await join.first().click();
      } else {
        findings.push(`the invite page /i/${invite.code} has no link to /join/${invite.code}; the guest navigated there directly`);
        log(findings[findings.length - 1]);
        await guest.page.goto(`${baseUrl}/join/${invite.code}`);
      }
      await signUp(guest, accounts.guest);
      await waitRoom(guest, title);
      // A member of a HOST_ONLY room follows the group: playback controls are absent or disabled.
      for (const control of [
        guest.page.getByRole("button", { name: "Play", exact: true }),
        guest.page.getByRole("button", { name: "Pause", exact: true }),
        guest.page.getByLabel("Position", { exact: true }),
      ]) {
        for (let i = 0; i < (await control.count()); i++) {
          assert.equal(await control.nth(i).isEnabled(), false, "guest: playback controls are disabled for a member");
        }
      }
      await until("both People lists to show both users", async () => {
        const [h, g] = await Promise.all([peopleText(host.page), peopleText(guest.page)]);
        const ok = [h, g].every((t) => t.includes(accounts.host.displayName) && t.includes(accounts.guest.displayName));
        return ok ? { ok: true, value: true } : { ok: false, seen: { host: h, guest: g } };
      });
    });

    // 2. Synchronised playback.
    const drift = [];
    let playPressedAt = 0;
    await step("host starts playback: the guest follows", async () => {
      // A new party starts paused at 0; play first so that the pause below stops a running group.
      const pressed = Date.now();
      const start = (await readPlayer(host.page)).position;
      await host.page.getByRole("button", { name: "Play", exact: true }).click();
      drift.push(await measureDrift("playing from the start", host, guest, playingFrom(start, pressed)));
    });
    await step("host pauses: both paused at the same position", async () => {
      await host.page.getByRole("button", { name: "Pause", exact: true }).click();
      drift.push(await measureDrift("paused mid-play", host, guest, pausedAt(undefined, 1)));
    });
    await step(`host seeks to ${SEEK_TO_S} s: both paused there`, async () => {
      await host.page.getByLabel("Position", { exact: true }).fill(String(SEEK_TO_S));
      drift.push(await measureDrift(`paused after seek to ${SEEK_TO_S} s`, host, guest, pausedAt(SEEK_TO_S)));
    });
    await step("host plays: the guest follows within 150 ms", async () => {
      playPressedAt = Date.now();
      await host.page.getByRole("button", { name: "Play", exact: true }).click();
      const playing = await measureDrift("playing", host, guest, playingFrom(SEEK_TO_S, playPressedAt));
      const first = /** @type {NonNullable<typeof playing.readings[0]>} */ (playing.readings[0]);
      const last = /** @type {NonNullable<typeof playing.readings[0]>} */ (playing.readings[playing.readings.length - 1]);
      const advanced = last.host.position - first.host.position;
      const wall = (last.host.at - first.host.at) / 1000;
      assert.ok(
        Math.abs(advanced - wall) < 0.3,
        `host's video advances with wall time while playing: ${advanced.toFixed(3)} s of media in ${wall.toFixed(3)} s`,
      );
      drift.push(playing);
      await screenshot(host, "room-host");
    });

    // 3. Chat, interleaved.
    /** @type {string[]} */
    const sent = [];
    await step("host and guest chat, interleaved", async () => {
      const lines = [
        [host, `Popcorn is ready ${run}`],
        [guest, `On my way with drinks ${run}`],
        [host, `The timecode shows thirty seconds ${run}`],
        [guest, `Same here, perfectly in sync ${run}`],
        [host, `Pausing for the poll soon ${run}`],
        [guest, `Ready when you are ${run}`],
      ];
      for (const [user, text] of lines) {
        await typeAndSend(user, text);
        await waitMessage(user, text);
        sent.push(text);
      }
      const list = await waitSameChat(host, guest, sent);
      log(`chat: both pages show ${list.length} messages, sequences ${list.map((m) => m.sequence).join(",")}`);
    });

    // 4. A poll.
    const question = `Which snack wins ${run}?`;
    const options = ["Pretzels", "Nachos"];
    await step("host opens a poll; guest votes; both tallies update", async () => {
      await openPoll(host, question, options);
      for (const user of [host, guest]) {
        await until(`${user.name}: the "Poll" overlay with the question and zero counts`, async () => {
          const poll = await readPoll(user.page, options);
          const ok = poll && poll.text.includes(question) && options.every((o) => poll.counts[o] === 0);
          return ok ? { ok: true, value: poll } : { ok: false, seen: poll };
        });
      }
      await host.page.getByRole("button", { name: "Close poll", exact: true }).waitFor({ state: "visible" });
      await pollOptionButton(guest.page, "Nachos").click();
      await until('guest: aria-pressed="true" on the chosen option', async () => {
        const pressed = await pollOptionButton(guest.page, "Nachos").getAttribute("aria-pressed");
        return pressed === "true" ? { ok: true, value: true } : { ok: false, seen: pressed };
      });
      for (const user of [host, guest]) {
        await until(`${user.name}: poll-count Nachos 1, Pretzels 0`, async () => {
          const poll = await readPoll(user.page, options);
          const ok = poll?.counts.Nachos === 1 && poll.counts.Pretzels === 0;
          return ok ? { ok: true, value: poll } : { ok: false, seen: poll?.counts ?? null };
        });
      }
      await screenshot(guest, "room-guest-poll");
      await checkAccessibility(host, "room (host, poll open)");
      await guest.page.setViewportSize({ width: 360, height: 640 });
      await waitRoom(guest, title);
      await screenshot(guest, "room-phone");
      await checkAccessibility(guest, "room (phone 360x640)");
      await guest.page.setViewportSize({ width: 1280, height: 800 });
    });

    // 5. The gateway crashes and comes back on the same port.
    if (control) {
      await step("gateway crash: reconnect without losing or duplicating a message", async () => {
        await Promise.all(users.map(recordConnectionStates));
        const before = await readChat(host.page);
        await control.call("kill-gateway");
        const killedAt = Date.now();
        log("gateway killed");
        await Promise.all(users.map((u) => waitConnection(u, "reconnecting", 15_000)));

        // The host presses Send during the outage. The app either keeps the message and delivers it after
        // reconnecting (SDK retry with the same client_msg_id), or disables Send while not connected; then the
        // composer must keep the text and the host presses Send the moment the header reads "open".
        const outageText = `Sent by the host during the outage ${run}`;
        const sentDuringOutage = await typeAndSend(host, outageText, { requireEnabled: false });
        log(sentDuringOutage ? "host pressed Send while reconnecting" : "Send is disabled while reconnecting");

        const backendText = `Sent by the guest through the backend during the outage ${run}`;
        const { sequence } = await control.call("send-backend", {
          username: accounts.guest.username,
          password: accounts.guest.password,
          roomId,
          text: backendText,
          clientMsgId: `e2e-${run}-outage`,
        });
        log(`backend message stored with sequence ${sequence}`);
        await sleep(2_000); // a real outage: the clients' first reconnect attempts hit a closed port
        for (const user of users) {
          assert.equal(await connectionState(user.page), "reconnecting", `${user.name} stays reconnecting while the gateway is down`);
        }
        await control.call("start-gateway");
        const backAt = Date.now();
        log(`gateway restarted on the same port after ${backAt - killedAt} ms down`);
        await Promise.all(users.map((u) => waitConnection(u, "open", 30_000)));
        log(`both pages read "open" ${Date.now() - backAt} ms after the gateway was back`);
        if (!sentDuringOutage) {
          const kept = await host.page.getByRole("region", { name: "Chat", exact: true }).getByLabel("Message", { exact: true }).inputValue();
          assert.equal(kept, outageText, "host: the composer keeps the unsent text across the outage");
          await pressSend(host);
        }
        const expected = [...sent, backendText, outageText];
        const after = await waitSameChat(host, guest, expected, 20_000);
        const stored = after.find((m) => m.text === backendText);
        assert.equal(String(stored?.sequence), String(sequence), "the backend message carries the sequence the chat service gave it");
        const kept = before.map((m) => JSON.stringify(m));
        assert.ok(
          kept.every((m) => after.some((a) => JSON.stringify(a) === m)),
          `every message shown before the outage is still shown once after it: before ${describe(before)}, after ${describe(after)}`,
        );
        for (const user of users) {
          const states = await recordedConnectionStates(user);
          const reconnecting = states.indexOf("reconnecting");
          assert.ok(
            reconnecting >= 0 && states.indexOf("open", reconnecting) > reconnecting && states[states.length - 1] === "open",
            `${user.name}: connection-state goes reconnecting -> open; saw ${describe(states)}`,
          );
          log(`${user.name} connection-state: ${states.join(" -> ")}`);
        }
        log(`chat after reconnect: ${after.length} messages on both pages, sequences ${after.map((m) => m.sequence).join(",")}`);
        sent.push(backendText, outageText);
      });
      await step("after reconnecting, the guest is still in sync", async () => {
        drift.push(await measureDrift("playing after reconnect", host, guest, playingFrom(SEEK_TO_S, playPressedAt)));
      });
    } else {
      findings.push("no control channel (HEARTH_CONTROL unset): the gateway-restart scenario did not run");
      log(findings[findings.length - 1]);
    }

    // 6. Moderator tools: the owner deletes a message, times its author out, and lifts the timeout.
    await step("moderator deletes a message, times the guest out and lifts it", async () => {
      const offending = `Spoiler: the butler did it ${run}`;
      const flagged = `And the twist is coming ${run}`;
      for (const text of [offending, flagged]) {
        await typeAndSend(guest, text);
        await waitMessage(host, text);
      }
      const target = await waitMessage(guest, offending);
      await messageMenuAction(host, offending, "Delete");
      for (const user of [host, guest]) {
        const shown = await until(`${user.name}: message ${target.sequence} deleted`, async () => {
          const list = await readChat(user.page);
          const entry = list.find((m) => m.sequence === target.sequence);
          if (list.some((m) => m.text === offending)) return { ok: false, seen: entry };
          return { ok: true, value: entry ? `a tombstone "${entry.text}"` : "gone from the list" };
        });
        log(`${user.name}: the deleted message ${target.sequence} shows as ${shown}`);
      }

      await messageMenuAction(host, flagged, "Timeout");
      await until(`host: a notice that ${accounts.guest.displayName} is timed out`, async () => {
        const texts = await regionMessages(host.page, "Chat");
        return texts.some((t) => /timed out/i.test(t)) ? { ok: true, value: texts } : { ok: false, seen: texts };
      });
      const refused = `Am I still allowed to talk ${run}`;
      const pressed = await typeAndSend(guest, refused, { requireEnabled: false });
      const error = await until("guest: a visible error saying the guest is timed out", async () => {
        const texts = await regionMessages(guest.page, "Chat");
        const hit = texts.find((t) => /timed out/i.test(t));
        return hit ? { ok: true, value: hit } : { ok: false, seen: texts };
      });
      log(`guest ${pressed ? "pressed Send" : "found Send disabled"} while timed out and sees: ${describe(error)}`);
      await sleep(1_000); // a refused message must not show up late either
      for (const user of [host, guest]) {
        const list = await readChat(user.page);
        assert.ok(!list.some((m) => m.text === refused), `${user.name}: the timed-out guest's message was not posted`);
      }

      const moderation = region(host.page, "Moderation");
      const restriction = moderation.getByRole("listitem").filter({ hasText: accounts.guest.displayName });
      await restriction.getByRole("button", { name: "Lift timeout", exact: true }).click();
      await until("host: the guest's timeout leaves the Moderation panel", async () => {
        const left = await restriction.count();
        return left === 0 ? { ok: true, value: true } : { ok: false, seen: `${left} entries` };
      });
      const allowed = `Thanks, I will behave ${run}`;
      await typeAndSend(guest, allowed);
      for (const user of [host, guest]) await waitMessage(user, allowed);
    });

    // 7. A quiz: one question, answered right by the guest; both leaderboards rank the guest with points.
    await step("host runs a quiz; the guest answers; both leaderboards show the guest's points", async () => {
      const question = { text: `Which colour bars open the test video ${run}?`, answers: ["Sepia", "SMPTE", "Plaid"], correct: 1 };
      const limitS = await createQuiz(host, `Film trivia ${run}`, [question]);
      await region(host.page, "Quiz").getByRole("button", { name: "Start quiz", exact: true }).click();
      for (const user of [host, guest]) {
        await until(`${user.name}: the "Quiz" overlay shows the question`, async () => {
          const text = ((await region(user.page, "Quiz").textContent()) ?? "").trim();
          return text.includes(question.text) ? { ok: true, value: true } : { ok: false, seen: text };
        });
      }
      const answer = region(guest.page, "Quiz").getByRole("button", { name: "SMPTE", exact: true });
      await answer.click();
      await until('guest: aria-pressed="true" on the chosen answer', async () => {
        const pressed = await answer.getAttribute("aria-pressed");
        return pressed === "true" ? { ok: true, value: true } : { ok: false, seen: pressed };
      });
      const answeredAt = Date.now();
      for (const user of [host, guest]) {
        const board = await until(
          `${user.name}: the leaderboard lists ${accounts.guest.displayName} with points`,
          async () => {
            const rows = await readLeaderboard(user.page);
            const row = rows?.find((r) => r.name.includes(accounts.guest.displayName));
            return row && row.score !== null && row.score > 0 ? { ok: true, value: rows } : { ok: false, seen: rows };
          },
          { timeoutMs: limitS * 1000 + 10_000, intervalMs: 250 },
        );
        log(`${user.name} leaderboard ${Date.now() - answeredAt} ms after the answer: ${board.map((r) => `${r.name} ${r.score}`).join("; ")}`);
      }
    });

    // 8. Q&A: the guest asks, the host upvotes, both see the count.
    await step("guest asks a question; host upvotes it; both see one vote", async () => {
      const asked = `Will there be a sequel ${run}?`;
      const ask = region(guest.page, "Questions");
      await ask.getByLabel("Your question", { exact: true }).fill(asked);
      await ask.getByRole("button", { name: "Ask", exact: true }).click();
      const item = (page) => region(page, "Questions").getByTestId("question").filter({ hasText: asked });
      const upvote = (page) => item(page).getByRole("button", { name: /^Upvote/ });
      await until("host: the guest's question in Questions", async () => {
        const n = await item(host.page).count();
        return n === 1 ? { ok: true, value: true } : { ok: false, seen: `${n} matching questions` };
      });
      await upvote(host.page).click();
      for (const user of [host, guest]) {
        await until(`${user.name}: the question shows 1 vote`, async () => {
          const name = await upvote(user.page).getAttribute("aria-label");
          return name === "Upvote: 1 vote" ? { ok: true, value: name } : { ok: false, seen: name };
        });
      }
      assert.equal(await upvote(host.page).getAttribute("aria-pressed"), "true", "host: the upvote is shown as the host's");
      assert.equal(await upvote(guest.page).isDisabled(), true, "guest: one cannot upvote one's own question");
    });

    // 9. Browse: the channels and the public party on the home screen, with live counts.
    if (channelRooms.length > 0) {
      await step("home lists channels and public rooms with live online counts", async () => {
        const channel = /** @type {(typeof channelRooms)[0]} */ (channelRooms[0]);
        const homeTab = await openTab(host, "host home tab");
        const channelTab = await openTab(guest, "guest channel tab");
        try {
          await homeTab.page.goto(`${baseUrl}/`);
          await waitConnection(homeTab, "open");
          await channelTab.page.goto(`${baseUrl}/rooms/${channel.roomId}`);
          await waitRoom(channelTab, channel.title);
          await screenshot(channelTab, "room-channel");
          const counts = await readHomeCounts(homeTab, [
            ["Channels", channel.title, "1"],
            ["Public rooms", title, "2"],
          ]);
          log(`home: ${counts}`);
          await screenshot(homeTab, "home");
          await checkAccessibility(homeTab, "home");
          await channelTab.page.close();
          log(`home after the guest left: ${await readHomeCounts(homeTab, [["Channels", channel.title, "0"]])}`);
        } finally {
          await channelTab.page.close().catch(() => {});
          await homeTab.page.close().catch(() => {});
        }
      });
    }

    // 10. Keyboard only: sign in and chat without a pointer.
    await step("keyboard only: sign in and send a chat message", async () => {
      const keyboard = await openUser(browser, "keyboard");
      users.push(keyboard);
      const { page } = keyboard;
      const expectFocus = async (what, check) => {
        const now = await focused(page);
        assert.ok(check(now), `keyboard: focus should be on ${what}; it is on ${describe(now)}`);
      };
      await page.goto(`${baseUrl}/rooms/${roomId}`);
      await page.getByLabel("Username", { exact: true }).waitFor({ state: "visible" });
      await page.keyboard.press("Tab");
      await expectFocus('the "Username" input', (f) => f.tag === "input" && f.name === "Username");
      await page.keyboard.type(accounts.guest.username);
      await page.keyboard.press("Tab");
      await expectFocus('the "Password" input', (f) => f.tag === "input" && f.name.startsWith("Password"));
      await page.keyboard.type(accounts.guest.password);
      await page.keyboard.press("Enter");
      await waitConnection(keyboard, "open");
      await waitRoom(keyboard, title);
      await expectFocus("the main landmark once the room opened", (f) => f.id === "main");
      /** @type {string[]} */
      const path = [];
      let reached = false;
      for (let i = 0; i < MAX_TABS_TO_COMPOSER && !reached; i++) {
        await page.keyboard.press("Tab");
        const now = await focused(page);
        path.push(now.name || now.tag);
        reached = now.tag === "textarea" && now.name === "Message";
      }
      assert.ok(reached, `keyboard: Tab reaches the "Message" composer within ${MAX_TABS_TO_COMPOSER} presses; went ${describe(path)}`);
      log(`keyboard: the composer is ${path.length} Tab presses after the main landmark`);
      const text = `Typed without a mouse ${run}`;
      await page.keyboard.type(text);
      await page.keyboard.press("Enter");
      await waitMessage(keyboard, text);
      await waitMessage(guest, text);
      await expectFocus('the "Message" composer, emptied, after sending', (f) => f.tag === "textarea" && f.name === "Message");
      assert.equal(await region(page, "Chat").getByLabel("Message", { exact: true }).inputValue(), "", "keyboard: the composer is empty");
      await keyboard.context.close();
      users.splice(users.indexOf(keyboard), 1);
    });

    // 11. HLS through the app's hls.js path, when this Chromium's MediaSource decodes H.264.
    if (hlsUrl) {
      const h264 = await host.page.evaluate(() => MediaSource.isTypeSupported('video/mp4; codecs="avc1.4d401e"'));
      if (!h264) {
        findings.push("this Chromium's MediaSource does not support H.264: the HLS check did not run");
        log(findings[findings.length - 1]);
      } else {
        await step("an HLS watch party plays", async () => {
          await host.page.goto(`${baseUrl}/`);
          await waitConnection(host, "open");
          await createWatchParty(host, { title: `HLS night ${run}`, mediaUrl: hlsUrl });
          const settledStatus = await until("host: the HLS room settles to playing or paused", async () => {
            const p = await readPlayer(host.page);
            return p.status === "playing" || p.status === "paused" ? { ok: true, value: p.status } : { ok: false, seen: p };
          });
          if (settledStatus === "paused") await host.page.getByRole("button", { name: "Play", exact: true }).click();
          const reading = await until(
            "host: the HLS video playing past 2 s at 640x360",
            async () => {
              const p = await readPlayer(host.page);
              const size = await host.page.getByTestId("player").evaluate((v) => `${v.videoWidth}x${v.videoHeight}`);
              const ok = !p.paused && p.position > 2 && size === "640x360";
              return ok ? { ok: true, value: { ...p, size } } : { ok: false, seen: { ...p, size } };
            },
            { timeoutMs: 20_000, intervalMs: 500 },
          );
          log(`HLS: playing at ${reading.position.toFixed(2)} s from ${reading.src.startsWith("blob:") ? "a MediaSource (hls.js)" : reading.src}`);
          await screenshot(host, "room-hls");
          if (!reading.src.startsWith("blob:")) {
            // This Chromium plays HLS natively, so the app skipped hls.js. Browsers without native HLS (Firefox,
            // older Chromium) take the hls.js path: hide native HLS in a second tab of the host's and follow the room there.
            const roomUrl = host.page.url();
            const viewer = await openUser(browser, "hls.js viewer");
            users.push(viewer);
            await viewer.page.addInitScript(`(${hideNativeHls.toString()})()`);
            await viewer.page.goto(`${baseUrl}/`);
            await copyStorage(host.page, viewer.page);
            await viewer.page.goto(roomUrl);
            await waitRoom(viewer, `HLS night ${run}`);
            const followed = await until(
              "hls.js viewer: the HLS video playing from a MediaSource with the group",
              async () => {
                const p = await readPlayer(viewer.page);
                const ok = !p.paused && p.position > 2 && p.src.startsWith("blob:");
                return ok ? { ok: true, value: p } : { ok: false, seen: p };
              },
              { timeoutMs: 20_000, intervalMs: 500 },
            );
            log(`HLS via hls.js: playing at ${followed.position.toFixed(2)} s from ${followed.src}`);
          }
        });
      }
    }

    await step("accessibility: no serious or critical axe violations", async () => {
      const failing = accessibility.filter((a) => blocking(a.violations).length > 0);
      assert.equal(
        failing.length,
        0,
        failing.map((a) => `${a.label}:\n${describeViolations(blocking(a.violations))}`).join("\n"),
      );
    });

    log("PASS");
    for (const d of drift) log(`drift ${d.label}: ${formatSummary(d)}`);
    for (const a of accessibility) log(`axe ${a.label}: ${formatCounts(a.violations)}`);
    for (const s of screenshots) log(`artifact ${s.name}: ${s.path}`);
    for (const f of findings) log(`note: ${f}`);
    for (const user of users) {
      if (user.problems.length > 0) log(`${user.name} logged ${user.problems.length} console errors/warnings (see above)`);
    }
  } finally {
    await browser.close().catch(() => {});
  }
}

const watchdog = setTimeout(() => {
  console.error(`[e2e] FAILED: the run exceeded ${WATCHDOG_MS} ms (in step "${currentStep}")`);
  failureShots(`watchdog ${currentStep}`).finally(() => process.exit(1));
}, WATCHDOG_MS);
watchdog.unref();

main().then(
  () => {
    clearTimeout(watchdog);
    process.exit(0);
  },
  (error) => {
    clearTimeout(watchdog);
    console.error(`[e2e] FAILED in step "${currentStep}": ${error instanceof Error ? error.stack ?? error.message : error}`);
    for (const s of screenshots) console.error(`[e2e] artifact ${s.name}: ${s.path}`);
    process.exit(1);
  },
);
