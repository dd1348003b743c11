/**
 * Debian's Chromium driven by playwright-core (no bundled browser download).
 * One browser, one context per user: contexts share nothing (cookies,
 * storage), so two contexts are two independent people.
 */
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

/** The flags the issue prescribes: quiet, offline-friendly, and autoplay allowed for the muted player. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
];

/**
 * Launches headless Chromium. playwright-core's `launch` gives the browser a
 * fresh temporary user data dir and removes it on close, so no state leaks
 * between runs.
 */
export async function launchBrowser(executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium") {
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath} (set CHROMIUM_PATH)`);
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/**
 * A user: a fresh context and page whose console errors and page errors are
 * kept (and echoed with the user's name) for failure reports.
 */
export async function openUser(browser, name, { viewport = { width: 1280, height: 800 } } = {}) {
  const context = await browser.newContext({ viewport, locale: "en-US", timezoneId: "UTC" });
  context.setDefaultTimeout(10_000);
  /** @type {string[]} */
  const problems = [];
  const page = await context.newPage();
  watch(page, name, problems);
  return { name, context, page, problems };
}

/**
 * Another tab of the same person (same context: signed in with the same
 * saved session), watched like the first; `name` labels its console lines.
 */
export async function openTab(user, name) {
  const page = await user.context.newPage();
  watch(page, name, user.problems);
  return { name, context: user.context, page, problems: user.problems };
}

function watch(page, name, problems) {
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      const line = `[${name} console.${message.type()}] ${message.text()}`;
      problems.push(line);
      console.log(line);
    }
  });
  page.on("pageerror", (error) => {
    const line = `[${name} pageerror] ${error.message}`;
    problems.push(line);
    console.log(line);
  });
  page.on("requestfailed", (request) => {
    // Media range requests are routinely aborted by the player when it seeks: not a problem.
    if (request.resourceType() === "media") return;
    console.log(`[${name} requestfailed] ${request.method()} ${request.url()}: ${request.failure()?.errorText ?? "?"}`);
  });
}
