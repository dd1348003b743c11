import { describe, expect, it } from "vitest";
import { inviteLink, parseRoute, roomPath, safeNext, signInPath } from "./routes";

describe("parseRoute", () => {
  it("maps the known paths", () => {
    expect(parseRoute("/")).toEqual({ name: "home" });
    expect(parseRoute("")).toEqual({ name: "home" });
    expect(parseRoute("/rooms/0193b2c4-5d1e-7a10-9c3f-2b8e4f6a1d20")).toEqual({
      name: "room",
      roomId: "0193b2c4-5d1e-7a10-9c3f-2b8e4f6a1d20",
    });
    expect(parseRoute("/join/AbCdEfGhIjKlMnOpQrSt_-")).toEqual({ name: "join", code: "AbCdEfGhIjKlMnOpQrSt_-" });
    expect(parseRoute("/rooms/abc/")).toEqual({ name: "room", roomId: "abc" });
  });

  it("reads the return path of the sign-in screen", () => {
    expect(parseRoute("/signin", "?next=%2Fjoin%2Fabc")).toEqual({ name: "signin", next: "/join/abc" });
    expect(parseRoute("/signin")).toEqual({ name: "signin", next: "/" });
  });

  it("treats anything else as not found", () => {
    expect(parseRoute("/rooms")).toEqual({ name: "notFound", path: "/rooms" });
    expect(parseRoute("/rooms/a/b")).toEqual({ name: "notFound", path: "/rooms/a/b" });
    expect(parseRoute("/rooms/<script>")).toEqual({ name: "notFound", path: "/rooms/<script>" });
  });
});

describe("safeNext", () => {
  it("keeps same-origin paths only", () => {
    expect(safeNext("/rooms/1")).toBe("/rooms/1");
    expect(safeNext("//evil.example/x")).toBe("/");
    expect(safeNext("/\\evil.example")).toBe("/");
    expect(safeNext("https://evil.example")).toBe("/");
    expect(safeNext(null)).toBe("/");
    expect(safeNext("/signin?next=/x")).toBe("/");
  });
});

describe("links", () => {
  it("builds sign-in, room and invite links", () => {
    expect(signInPath("/join/abc")).toBe("/signin?next=%2Fjoin%2Fabc");
    expect(signInPath("/")).toBe("/signin");
    expect(roomPath("r1")).toBe("/rooms/r1");
    expect(inviteLink("https://tv.example/", "Code_123")).toBe("https://tv.example/i/Code_123");
  });
});
