import { describe, expect, it } from "vitest";
import { catalogMediaNote, classifyMediaUrl, mediaTitle, planMedia } from "./media";

describe("classifyMediaUrl", () => {
  it("recognises HLS, DASH and progressive files", () => {
    expect(classifyMediaUrl("https://cdn.example/live/index.m3u8?token=1")).toBe("hls");
    expect(classifyMediaUrl("https://cdn.example/a/manifest.MPD")).toBe("dash");
    expect(classifyMediaUrl("https://cdn.example/film.mp4#t=10")).toBe("progressive");
    expect(classifyMediaUrl("/media/clip.webm")).toBe("progressive");
  });
});

describe("planMedia", () => {
  it("prefers native HLS, then hls.js", () => {
    expect(planMedia("https://x/a.m3u8", true, true).kind).toBe("native-hls");
    expect(planMedia("https://x/a.m3u8", false, true).kind).toBe("hls.js");
    expect(planMedia("https://x/a.m3u8", false, false).kind).toBe("unsupported");
  });
  it("plays progressive files directly and refuses DASH", () => {
    expect(planMedia("https://x/a.mp4", false, false)).toEqual({ kind: "progressive", url: "https://x/a.mp4" });
    expect(planMedia("https://x/a.mpd", true, true).kind).toBe("unsupported");
  });
  it("explains catalog media", () => {
    expect(catalogMediaNote("channelId")).toContain("channel");
    expect(catalogMediaNote("assetId")).toContain("title");
  });
});

describe("mediaTitle", () => {
  const channel = { kind: { case: "channelId", value: "hearth-news" } };
  it("hides a title that only repeats the catalog id", () => {
    expect(mediaTitle(channel, "hearth-news")).toBeUndefined();
    expect(mediaTitle(channel, "  ")).toBeUndefined();
    expect(mediaTitle(undefined, undefined)).toBeUndefined();
  });
  it("keeps real titles, and URL hosts for direct media", () => {
    expect(mediaTitle(channel, "Hearth News")).toBe("Hearth News");
    expect(mediaTitle({ kind: { case: "url", value: "cdn.example" } }, "cdn.example")).toBe("cdn.example");
    expect(mediaTitle(undefined, "Film")).toBe("Film");
  });
});
