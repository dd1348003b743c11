/** Pure chat helpers: names, excerpts, reactions, typing and live-reaction bursts. */
import { errorReason } from "./errors";

export interface UserLike {
  userId: string;
  username: string;
  displayName: string;
}

/** Display name, else handle, else a neutral word (deleted accounts, hidden authors). */
export function userName(u: UserLike | undefined): string {
  if (!u) return "Someone";
  return u.displayName || u.username || "Someone";
}

/** One-line excerpt for reply previews. */
export function excerpt(text: string, max = 80): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length <= max ? line : `${line.slice(0, max - 1).trimEnd()}…`;
}

/** "Ann is typing…", "Ann and Bo are typing…", "Several people are typing…". */
export function typingSentence(names: readonly string[]): string {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return "Several people are typing…";
}

/** The room's live reaction emoji when its settings name none (docs/protocol.md §9). */
export const DEFAULT_LIVE_EMOJIS = ["❤️", "😂", "😮", "👏", "🔥", "🎉"] as const;

/** Emoji offered by a message's React picker. */
export const REACTION_CHOICES = ["👍", "❤️", "😂", "😮", "😢", "🔥"] as const;

export interface BurstParticle {
  id: number;
  emoji: string;
  /** Horizontal start, 0–100 (% of the burst lane). */
  x: number;
  /** Animation delay in ms within the 250 ms window, so taps of one window do not fly as a block. */
  delayMs: number;
}

/**
 * Turns one `liveReactions` window into particles: counts are summed over every viewer, so a busy room
 * must not spawn thousands of nodes. Every tapped emoji gets one particle, and the rest of `max` is
 * shared by count (largest remainder), never more particles than taps. `random` is injectable for tests.
 */
export function burstParticles(
  counts: readonly { emoji: string; count: number }[],
  startId: number,
  max = 24,
  random: () => number = Math.random,
): BurstParticle[] {
  const tapped = counts.filter((c) => c.count > 0).sort((a, b) => b.count - a.count).slice(0, max);
  const total = tapped.reduce((a, c) => a + c.count, 0);
  if (total === 0) return [];
  // Everyone tapped gets one particle; the rest of the budget follows the counts (largest remainder).
  const spare = max - tapped.length;
  const shares = tapped.map((c) => (c.count / total) * spare);
  const alloc = shares.map((x, i) => Math.min((tapped[i]?.count ?? 1) - 1, Math.floor(x)));
  let left = spare - alloc.reduce((a, b) => a + b, 0);
  const byRemainder = shares.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r);
  for (const { i } of byRemainder) {
    if (left <= 0) break;
    if ((alloc[i] ?? 0) + 1 < (tapped[i]?.count ?? 0)) {
      alloc[i] = (alloc[i] ?? 0) + 1;
      left--;
    }
  }
  const out: BurstParticle[] = [];
  let id = startId;
  tapped.forEach((c, i) => {
    const n = 1 + (alloc[i] ?? 0);
    for (let k = 0; k < n; k++) {
      out.push({ id: id++, emoji: c.emoji, x: Math.round(random() * 90 + 5), delayMs: Math.round(random() * 250) });
    }
  });
  return out;
}

/**
 * Refusals a moderator can end at any moment: their `retryAfter` is only an upper bound, and no event
 * tells the restricted user when it is lifted (docs/protocol.md §9), so the composer must stay usable.
 */
const LIFTABLE_REFUSALS = new Set(["timed_out", "chat_banned"]);

/**
 * Maps a `sendMessage` failure to how long the composer holds Send before a retry can succeed, in ms
 * (undefined: do not hold it). Slow mode and rate limits say when; timeouts and chat bans do not hold it.
 */
export function retryDelayMs(err: { code?: string; message?: string; retryAfterMs?: number | undefined }): number | undefined {
  const reason = errorReason(err);
  if (reason !== undefined && LIFTABLE_REFUSALS.has(reason)) return undefined;
  if (err.retryAfterMs !== undefined && err.retryAfterMs > 0) return err.retryAfterMs;
  if (err.code === "rate_limited" || err.code === "unavailable") return 1_000;
  return undefined;
}
