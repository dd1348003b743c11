import { describe, expect, it } from "vitest";
import { PlaybackPolicy, RoomRole } from "./proto";
import { canActOn, canControlPlayback, isHost, isModerator, roleLabel } from "./roles";

describe("roles", () => {
  it("lets hosts control playback under every policy", () => {
    expect(canControlPlayback(RoomRole.OWNER, PlaybackPolicy.HOST_ONLY)).toBe(true);
    expect(canControlPlayback(RoomRole.HOST, undefined)).toBe(true);
  });
  it("lets members control only under EVERYONE, and guests never", () => {
    expect(canControlPlayback(RoomRole.MEMBER, PlaybackPolicy.HOST_ONLY)).toBe(false);
    expect(canControlPlayback(RoomRole.MODERATOR, PlaybackPolicy.UNSPECIFIED)).toBe(false);
    expect(canControlPlayback(RoomRole.MEMBER, PlaybackPolicy.EVERYONE)).toBe(true);
    expect(canControlPlayback(RoomRole.UNSPECIFIED, PlaybackPolicy.EVERYONE)).toBe(false);
  });
  it("orders roles", () => {
    expect(isHost(RoomRole.MODERATOR)).toBe(false);
    expect(isModerator(RoomRole.MODERATOR)).toBe(true);
    expect(isModerator(RoomRole.MEMBER)).toBe(false);
    expect(canActOn(RoomRole.MODERATOR, RoomRole.MEMBER)).toBe(true);
    expect(canActOn(RoomRole.MODERATOR, RoomRole.MODERATOR)).toBe(false);
    expect(canActOn(RoomRole.OWNER, RoomRole.HOST)).toBe(true);
    expect(canActOn(RoomRole.MEMBER, RoomRole.UNSPECIFIED)).toBe(false);
    expect(roleLabel(RoomRole.UNSPECIFIED)).toBe("Guest");
  });
});
