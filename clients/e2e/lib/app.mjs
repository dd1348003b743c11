/**
 * The reference web app as a person uses it, through the DOM contract
 * (accessible names first, data-testid only for state read-outs). Each
 * helper is bounded and fails with what it expected and what it saw.
 */
import { until } from "./wait.mjs";

/** Text of the header's connection read-out (connecting|open|reconnecting|closed), or null when absent. */
export async function connectionState(page) {
  const state = page.getByTestId("connection-state");
  if ((await state.count()) === 0) return null;
  return ((await state.first().textContent()) ?? "").trim();
}

/** Waits until the header reads `wanted`. */
export async function waitConnection(user, wanted, timeoutMs = 15_000) {
  return until(
    `${user.name}: connection-state "${wanted}"`,
    async () => {
      const state = await connectionState(user.page);
      return state === wanted ? { ok: true, value: state } : { ok: false, seen: state };
    },
    { timeoutMs },
  );
}

/** The first visible role="alert" text, or null: errors the app shows. */
export async function visibleAlert(page) {
  const alerts = page.getByRole("alert");
  for (let i = 0; i < (await alerts.count()); i++) {
    const alert = alerts.nth(i);
    const text = ((await alert.textContent()) ?? "").trim();
    if (text && (await alert.isVisible())) return text;
  }
  return null;
}

/** Registers through the sign-in screen's "Create account" and waits for the signed-in header. */
export async function signUp(user, account) {
  const { page } = user;
  await until(`${user.name}: the sign-in screen (input "Username")`, async () => {
    const visible = await page.getByLabel("Username", { exact: true }).isVisible();
    return visible ? { ok: true, value: true } : { ok: false, seen: page.url() };
  });
  await page.getByLabel("Username", { exact: true }).fill(account.username);
  await page.getByLabel("Password", { exact: true }).fill(account.password);
  const displayName = page.getByLabel("Display name", { exact: true });
  if (await displayName.isVisible()) await displayName.fill(account.displayName);
  await page.getByRole("button", { name: "Create account", exact: true }).click();
  await until(
    `${user.name}: signed in after "Create account" (connection-state "open")`,
    async () => {
      const alert = await visibleAlert(page);
      if (alert) return { ok: false, fatal: `the app shows an alert: ${alert}` };
      const state = await connectionState(page);
      return state === "open" ? { ok: true, value: state } : { ok: false, seen: { url: page.url(), state } };
    },
    { timeoutMs: 15_000 },
  );
  const signOut = page.getByRole("button", { name: "Sign out", exact: true });
  if (!(await signOut.isVisible())) throw new Error(`${user.name}: the signed-in header has no "Sign out" button`);
}

/**
 * Opens "New watch party", creates it, and returns the new room's id from /rooms/<id>. `visibility`
 * picks the "Visibility" option whose text starts with it (e.g. "Public"); unset keeps the default.
 */
export async function createWatchParty(user, { title, mediaUrl, visibility }) {
  const { page } = user;
  await page.getByRole("button", { name: "New watch party", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: "New watch party" });
  await dialog.waitFor({ state: "visible" });
  await dialog.getByLabel("Title", { exact: true }).fill(title);
  await dialog.getByLabel("Media URL", { exact: true }).fill(mediaUrl);
  if (visibility) {
    const select = dialog.getByLabel("Visibility", { exact: true });
    const labels = await select.locator("option").allTextContents();
    const label = labels.find((l) => l.trim().toLowerCase().startsWith(visibility.toLowerCase()));
    if (!label) throw new Error(`${user.name}: no "Visibility" option starting with ${visibility}; options ${JSON.stringify(labels)}`);
    await select.selectOption({ label });
  }
  await dialog.getByRole("button", { name: "Create", exact: true }).click();
  const roomId = await until(
    `${user.name}: navigation to /rooms/<id> after "Create"`,
    async () => {
      const alert = await visibleAlert(page);
      if (alert) return { ok: false, fatal: `the app shows an alert: ${alert}` };
      const match = /\/rooms\/([^/?#]+)/.exec(new URL(page.url()).pathname);
      return match ? { ok: true, value: decodeURIComponent(/** @type {string} */ (match[1])) } : { ok: false, seen: page.url() };
    },
    { timeoutMs: 15_000 },
  );
  await waitRoom(user, title);
  return roomId;
}

/** Waits for the room screen: its h1 is the title and the player is there. */
export async function waitRoom(user, title, timeoutMs = 20_000) {
  const { page } = user;
  await until(
    `${user.name}: the room screen with h1 "${title}" and the player`,
    async () => {
      const alert = await visibleAlert(page);
      const heading = page.getByRole("heading", { level: 1 });
      const h1 = (await heading.count()) > 0 ? ((await heading.first().textContent()) ?? "").trim() : null;
      const player = await page.getByTestId("player").count();
      if (h1 === title && player === 1) return { ok: true, value: true };
      return { ok: false, seen: { url: page.url(), h1, players: player, alert } };
    },
    { timeoutMs },
  );
}

/** Presses "Copy invite link" and returns the link shown in the "Invite link" field and its code. */
export async function copyInviteLink(user) {
  const { page } = user;
  await page.getByRole("button", { name: "Copy invite link", exact: true }).click();
  return until(`${user.name}: an /i/<code> URL in the "Invite link" field`, async () => {
    const alert = await visibleAlert(page);
    if (alert) return { ok: false, fatal: `the app shows an alert: ${alert}` };
    const value = await page.getByLabel("Invite link", { exact: true }).inputValue();
    const match = /\/i\/([A-Za-z0-9_-]+)$/.exec(value);
    return match ? { ok: true, value: { url: value, code: /** @type {string} */ (match[1]) } } : { ok: false, seen: value };
  });
}

/** The visible names in the "People" region. */
export async function peopleText(page) {
  return ((await page.getByRole("region", { name: "People", exact: true }).textContent()) ?? "").trim();
}

/**
 * One atomic reading of the player: position, wall clock, rate and the
 * app's own read-outs. Position and clock come from the same synchronous
 * script, so the pair is exact up to timer resolution.
 */
export async function readPlayer(page) {
  return page.evaluate(() => {
    const video = /** @type {HTMLVideoElement | null} */ (document.querySelector('[data-testid="player"]'));
    if (!video) throw new Error("no [data-testid=player] element");
    const at = Date.now();
    const text = (id) => document.querySelector(`[data-testid="${id}"]`)?.textContent?.trim() ?? null;
    return {
      position: video.currentTime,
      at,
      rate: video.playbackRate,
      paused: video.paused,
      seeking: video.seeking,
      readyState: video.readyState,
      muted: video.muted,
      src: video.currentSrc,
      status: text("sync-status"),
      appDrift: text("drift"),
    };
  });
}

/** Reads both players as close to the same instant as two pages allow. */
export async function readPlayers(host, guest) {
  const [h, g] = await Promise.all([readPlayer(host.page), readPlayer(guest.page)]);
  return { host: h, guest: g };
}

/** The chat list in display order: `{sequence, text}` per `chat-message`. */
export async function readChat(page) {
  return page.getByTestId("chat-messages").evaluate((list) =>
    Array.from(list.querySelectorAll('[data-testid="chat-message"]')).map((item) => ({
      sequence: item.getAttribute("data-sequence"),
      text: item.querySelector('[data-testid="chat-text"]')?.textContent?.trim() ?? null,
    })),
  );
}

/**
 * Types `text` into "Message" and presses "Send"; returns whether Send was
 * enabled. With `requireEnabled` it waits, as a person would, while Send is
 * disabled by the previous message still in flight (10 s at most); without,
 * it reports at once what the composer offers (an outage, a timeout).
 */
export async function typeAndSend(user, text, { requireEnabled = true } = {}) {
  const chat = user.page.getByRole("region", { name: "Chat", exact: true });
  await chat.getByLabel("Message", { exact: true }).fill(text);
  const send = chat.getByRole("button", { name: "Send", exact: true });
  if (requireEnabled) {
    try {
      await send.click({ timeout: 10_000 });
    } catch (error) {
      const why = error instanceof Error ? error.message.split("\n")[0] : String(error);
      throw new Error(`${user.name}: the "Send" button stayed disabled for 10 s (${why})`);
    }
    return true;
  }
  if (!(await send.isEnabled())) return false;
  await send.click();
  return true;
}

/** Presses "Send" (the composer already holds the text). */
export async function pressSend(user) {
  const chat = user.page.getByRole("region", { name: "Chat", exact: true });
  await chat.getByRole("button", { name: "Send", exact: true }).click();
}

/** Waits until `text` is in the user's chat list, and returns its entry. */
export async function waitMessage(user, text, timeoutMs = 10_000) {
  return until(
    `${user.name}: chat message "${text}"`,
    async () => {
      const messages = await readChat(user.page);
      const found = messages.find((m) => m.text === text);
      if (found) return { ok: true, value: found };
      const alert = await visibleAlert(user.page);
      return { ok: false, seen: { last: messages.slice(-3), alert } };
    },
    { timeoutMs },
  );
}

/** Opens "New poll", fills the question and options, and presses "Open poll". */
export async function openPoll(user, question, options) {
  const { page } = user;
  await page.getByRole("button", { name: "New poll", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: "New poll" });
  await dialog.waitFor({ state: "visible" });
  await dialog.getByLabel("Question", { exact: true }).fill(question);
  for (const [index, option] of options.entries()) {
    const input = dialog.getByLabel(`Option ${index + 1}`, { exact: true });
    if ((await input.count()) === 0) await dialog.getByRole("button", { name: "Add option", exact: true }).click();
    await input.fill(option);
  }
  await dialog.getByRole("button", { name: "Open poll", exact: true }).click();
}

/** The "Poll" overlay region. */
export function pollRegion(page) {
  return page.getByRole("region", { name: "Poll", exact: true });
}

/** `{question shown, counts per option text}` from the overlay, or null when it is not shown. */
export async function readPoll(page, options) {
  const region = pollRegion(page);
  if ((await region.count()) === 0 || !(await region.isVisible())) return null;
  /** @type {Record<string, number | null>} */
  const counts = {};
  for (const option of options) {
    const row = region.getByTestId("poll-option").filter({ hasText: option });
    if ((await row.count()) !== 1) {
      counts[option] = null;
      continue;
    }
    const raw = ((await row.getByTestId("poll-count").textContent()) ?? "").trim();
    counts[option] = /^\d+$/.test(raw) ? Number(raw) : null;
  }
  return { text: ((await region.textContent()) ?? "").trim(), counts };
}

/** The option's vote button in the overlay (named by the option text). */
export function pollOptionButton(page, option) {
  return pollRegion(page).getByRole("button", { name: option });
}

/** A named region (a landmark or a section labelled by its heading). */
export function region(page, name) {
  return page.getByRole("region", { name, exact: true });
}

/** The `chat-message` whose `chat-text` is exactly `text`. */
export function chatItem(page, text) {
  return page.getByTestId("chat-message").filter({ has: page.getByTestId("chat-text").getByText(text, { exact: true }) });
}

/** Opens a message's "More" menu and picks `action` ("Delete", "Timeout", "Ban"). */
export async function messageMenuAction(user, text, action) {
  const { page } = user;
  const item = chatItem(page, text);
  await item.getByRole("button", { name: "More", exact: true }).click();
  const menu = page.getByRole("menu", { name: "More" });
  await menu.waitFor({ state: "visible" });
  await menu.getByRole("menuitem", { name: action, exact: true }).click();
}

/** The text of every visible alert or status message in a region: what the app tells the user there. */
export async function regionMessages(page, regionName) {
  const scope = region(page, regionName);
  const found = scope.locator('[role="alert"], [role="status"]');
  /** @type {string[]} */
  const texts = [];
  for (let i = 0; i < (await found.count()); i++) {
    const el = found.nth(i);
    const text = ((await el.textContent()) ?? "").trim();
    if (text && (await el.isVisible())) texts.push(text);
  }
  return texts;
}

/**
 * Creates a quiz through "New quiz": `questions` are `{ text, answers, correct }` (`correct` indexes
 * `answers`), each with the shortest time to answer the dialog offers; returns that limit in seconds.
 */
export async function createQuiz(user, title, questions) {
  const { page } = user;
  await page.getByRole("button", { name: "New quiz", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: "New quiz" });
  await dialog.waitFor({ state: "visible" });
  await dialog.getByLabel("Quiz title", { exact: true }).fill(title);
  let limit = Infinity;
  for (const [i, q] of questions.entries()) {
    const n = i + 1;
    if ((await dialog.getByLabel(`Question ${n} text`, { exact: true }).count()) === 0) {
      await dialog.getByRole("button", { name: "Add question", exact: true }).click();
    }
    await dialog.getByLabel(`Question ${n} text`, { exact: true }).fill(q.text);
    for (const [k, answer] of q.answers.entries()) {
      await dialog.getByLabel(`Question ${n} answer ${k + 1}`, { exact: true }).fill(answer);
    }
    const fieldset = dialog.getByRole("group", { name: `Question ${n}`, exact: true });
    const correct = fieldset.getByLabel("Correct answer", { exact: true });
    const correctLabel = (await correct.locator("option").allTextContents()).find((l) => l.startsWith(`Answer ${q.correct + 1}`));
    if (!correctLabel) throw new Error(`${user.name}: question ${n} offers no "Answer ${q.correct + 1}" as the correct answer`);
    await correct.selectOption({ label: correctLabel });
    const time = fieldset.getByLabel("Time to answer", { exact: true });
    const seconds = (await time.locator("option").evaluateAll((os) => os.map((o) => Number(/** @type {HTMLOptionElement} */ (o).value))))
      .filter((v) => Number.isFinite(v) && v > 0)
      .sort((a, b) => a - b);
    if (seconds[0] === undefined) throw new Error(`${user.name}: question ${n} offers no time limit`);
    await time.selectOption(String(seconds[0]));
    limit = Math.min(limit, seconds[0]);
  }
  await dialog.getByRole("button", { name: "Create quiz", exact: true }).click();
  await until(`${user.name}: the "New quiz" dialog closes after "Create quiz"`, async () => {
    const alert = await visibleAlert(page);
    if (alert) return { ok: false, fatal: `the app shows an alert: ${alert}` };
    return (await dialog.count()) === 0 || !(await dialog.isVisible()) ? { ok: true, value: true } : { ok: false, seen: "open" };
  });
  return limit;
}

/**
 * Leaderboard rows of the "Quiz" overlay: `{ name, score }` per entry (score null when not a number),
 * read from each row's first and last cell; null when there is no leaderboard.
 */
export async function readLeaderboard(page) {
  const board = region(page, "Quiz").getByTestId("leaderboard");
  if ((await board.count()) === 0) return null;
  return board.evaluate((list) =>
    Array.from(list.children)
      .filter((li) => li.children.length >= 2)
      .map((li) => {
        const cells = Array.from(li.children).map((c) => (c.textContent ?? "").replace(/\s+/g, " ").trim());
        const raw = (cells[cells.length - 1] ?? "").replace(/[^0-9]/g, "");
        return { name: cells[0] ?? "", score: raw ? Number(raw) : null };
      }),
  );
}

/** A room card (link) in the home screen's region `shelf` ("Channels", "Public rooms") by its title. */
export function roomCard(page, shelf, title) {
  return region(page, shelf).getByRole("link").filter({ hasText: title });
}

/** What has keyboard focus: tag, accessible-ish name (label, aria-label or text) and id. */
export async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { tag: "body", name: "", id: "" };
    const labelled = el.getAttribute("aria-labelledby");
    const fromLabels = "labels" in el && el.labels ? Array.from(/** @type {NodeListOf<HTMLLabelElement>} */ (el.labels)).map((l) => l.textContent ?? "").join(" ") : "";
    const byIds = labelled ? labelled.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? "").join(" ") : "";
    const name = el.getAttribute("aria-label") || byIds || fromLabels || el.textContent || "";
    return { tag: el.tagName.toLowerCase(), name: name.replace(/\s+/g, " ").trim(), id: el.id };
  });
}
