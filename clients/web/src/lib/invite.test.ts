import { describe, expect, it } from "vitest";
import { interpretPreview, inviteProblem, resolveInvite } from "./invite";

describe("interpretPreview", () => {
  it("resolves a valid invite to its room", () => {
    expect(
      interpretPreview(200, { preview: { status: "INVITE_STATUS_VALID", roomId: "r1", title: "Film night" } }),
    ).toEqual({ ok: true, roomId: "r1", title: "Film night" });
  });
  it("reports dead and unknown invites", () => {
    expect(interpretPreview(410, { preview: { status: "INVITE_STATUS_REVOKED" } })).toEqual({ ok: false, reason: "revoked" });
    expect(interpretPreview(410, null)).toEqual({ ok: false, reason: "expired" });
    expect(interpretPreview(404, { error: { code: "not_found" } })).toEqual({ ok: false, reason: "not_found" });
    expect(interpretPreview(503, null)).toEqual({ ok: false, reason: "unavailable" });
    expect(interpretPreview(200, { preview: { status: "INVITE_STATUS_VALID" } })).toEqual({ ok: false, reason: "unavailable" });
  });
  it("explains each problem", () => {
    expect(inviteProblem("exhausted")).toMatch(/used up/);
  });
});

describe("resolveInvite", () => {
  it("asks for JSON at /i/<code>", async () => {
    let seen: { url: string; accept: string | null } | undefined;
    const fake = (async (url: string, init?: RequestInit) => {
      seen = { url, accept: new Headers(init?.headers).get("accept") };
      return new Response(JSON.stringify({ preview: { status: "INVITE_STATUS_VALID", roomId: "r9" } }), { status: 200 });
    }) as typeof fetch;
    await expect(resolveInvite("Ab_-", fake)).resolves.toEqual({ ok: true, roomId: "r9", title: "" });
    expect(seen).toEqual({ url: "/i/Ab_-", accept: "application/json" });
  });
  it("maps network failures to unavailable", async () => {
    const failing = (async () => {
      throw new TypeError("Failed to fetch");
    }) as typeof fetch;
    await expect(resolveInvite("x", failing)).resolves.toEqual({ ok: false, reason: "unavailable" });
  });
});
