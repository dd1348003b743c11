import { describe, expect, it } from "vitest";
import { burstParticles, excerpt, retryDelayMs, typingSentence, userName } from "./chat";

describe("names and excerpts", () => {
  it("prefers display names", () => {
    expect(userName({ userId: "1", username: "ann", displayName: "Ann" })).toBe("Ann");
    expect(userName({ userId: "1", username: "ann", displayName: "" })).toBe("ann");
    expect(userName(undefined)).toBe("Someone");
  });
  it("shortens on one line", () => {
    expect(excerpt("a\n b")).toBe("a b");
    expect(excerpt("abcdefghij", 6)).toBe("abcde…");
    expect(excerpt("short", 6)).toBe("short");
  });
});

describe("typingSentence", () => {
  it("scales with the number of typists", () => {
    expect(typingSentence([])).toBe("");
    expect(typingSentence(["Ann"])).toBe("Ann is typing…");
    expect(typingSentence(["Ann", "Bo"])).toBe("Ann and Bo are typing…");
    expect(typingSentence(["A", "B", "C"])).toBe("Several people are typing…");
  });
});

describe("burstParticles", () => {
  const fixed = () => 0.5;
  it("caps the node count and shares it by count", () => {
    const p = burstParticles(
      [
        { emoji: "🔥", count: 3000 },
        { emoji: "❤️", count: 1000 },
      ],
      100,
      8,
      fixed,
    );
    expect(p).toHaveLength(8);
    expect(p.filter((x) => x.emoji === "🔥")).toHaveLength(6);
    expect(p.filter((x) => x.emoji === "❤️")).toHaveLength(2);
    expect(p[0]).toEqual({ id: 100, emoji: "🔥", x: 50, delayMs: 125 });
    expect(new Set(p.map((x) => x.id)).size).toBe(8);
  });
  it("gives every tapped emoji at least one particle and none for zero", () => {
    const p = burstParticles(
      [
        { emoji: "🔥", count: 1000 },
        { emoji: "🎉", count: 1 },
        { emoji: "😮", count: 0 },
      ],
      0,
      10,
      fixed,
    );
    expect(p.some((x) => x.emoji === "🎉")).toBe(true);
    expect(p.some((x) => x.emoji === "😮")).toBe(false);
    expect(burstParticles([], 0)).toEqual([]);
  });
});

describe("retryDelayMs", () => {
  it("honours retryAfter and backs off on rate limits", () => {
    expect(retryDelayMs({ code: "rate_limited", retryAfterMs: 4118 })).toBe(4118);
    expect(retryDelayMs({ code: "rate_limited" })).toBe(1000);
    expect(retryDelayMs({ code: "permission_denied" })).toBeUndefined();
  });
  it("holds Send for slow mode until the service says", () => {
    expect(retryDelayMs({ code: "rate_limited", message: "slow_mode: wait 4 s between messages in this room", retryAfterMs: 4000 })).toBe(4000);
  });
  it("never holds Send for a timeout or chat ban, which a moderator may lift at any moment", () => {
    const timedOut = { code: "permission_denied", message: "timed_out: you are timed out in this chat for 600 s more", retryAfterMs: 600_000 };
    expect(retryDelayMs(timedOut)).toBeUndefined();
    expect(retryDelayMs({ code: "permission_denied", message: "chat_banned: you are banned from this chat" })).toBeUndefined();
  });
});
