import { describe, expect, it } from "vitest";
import { PlaybackCause, PlaybackStatus } from "./proto";
import { syncStatus, type SyncStatusInput } from "./syncStatus";

const base: SyncStatusInput = {
  status: PlaybackStatus.PLAYING,
  cause: PlaybackCause.PLAY,
  live: false,
  localBuffering: false,
  serverNowMs: 10_000,
  referenceTimeMs: 9_000,
  expectedPositionMs: 1_000,
  durationMs: 60_000,
};

describe("syncStatus", () => {
  it("reports playing once the start instant has passed", () => {
    expect(syncStatus(base)).toBe("playing");
  });
  it("treats a scheduled start as waiting", () => {
    expect(syncStatus({ ...base, referenceTimeMs: 10_400 })).toBe("waiting");
  });
  it("shows local buffering while the group plays", () => {
    expect(syncStatus({ ...base, localBuffering: true })).toBe("buffering");
  });
  it("maps paused, waiting and idle", () => {
    expect(syncStatus({ ...base, status: PlaybackStatus.PAUSED })).toBe("paused");
    expect(syncStatus({ ...base, status: PlaybackStatus.WAITING })).toBe("waiting");
    expect(syncStatus({ ...base, status: PlaybackStatus.IDLE, cause: PlaybackCause.ENDED })).toBe("ended");
    expect(syncStatus({ ...base, status: PlaybackStatus.IDLE, cause: PlaybackCause.RESET })).toBe("waiting");
  });
  it("holds at the end of the media as ended", () => {
    expect(syncStatus({ ...base, expectedPositionMs: 60_000 })).toBe("ended");
    expect(syncStatus({ ...base, expectedPositionMs: 60_000, durationMs: undefined })).toBe("playing");
  });
  it("reports live media as live", () => {
    expect(syncStatus({ ...base, live: true })).toBe("live");
    expect(syncStatus({ ...base, live: true, status: PlaybackStatus.IDLE })).toBe("waiting");
  });
});
