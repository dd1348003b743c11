import { describe, expect, it } from "vitest";
import { describeError, errorReason } from "./errors";

describe("errorReason", () => {
  it("reads the snake_case reason before the colon", () => {
    expect(errorReason({ message: "slow_mode: wait 4 s" })).toBe("slow_mode");
    expect(errorReason({ message: "Send an auth frame first" })).toBeUndefined();
    expect(errorReason({ message: "Bad thing: x" })).toBeUndefined();
    expect(errorReason(null)).toBeUndefined();
  });
});

describe("describeError", () => {
  it("prefers the reason, with the retry delay", () => {
    expect(describeError({ code: "rate_limited", message: "slow_mode: …", retryAfterMs: 4118 })).toBe(
      "Slow mode is on. Try again in 5 s.",
    );
    expect(describeError({ code: "not_found", message: "room_not_found: no such room" })).toBe(
      "This room does not exist, or it is private.",
    );
  });
  it("falls back to the code, then to a generic sentence", () => {
    expect(describeError({ code: "unavailable", message: "nats down" })).toMatch(/temporarily unavailable/);
    expect(describeError(new TypeError("Failed to fetch"))).toMatch(/Cannot reach Hearth/);
    expect(describeError(new Error("boom"))).toBe("Something went wrong. Try again.");
  });
  it("speaks sign-in language on the auth screen", () => {
    expect(describeError({ code: "unauthenticated", status: 401 }, "auth")).toBe("Wrong username or password.");
    expect(describeError({ code: "already_exists" }, "auth")).toBe("That username is taken.");
    expect(describeError({ code: "invalid_argument", message: "username: must be 3–32 characters" }, "auth")).toBe(
      "Username: must be 3–32 characters",
    );
  });
});
