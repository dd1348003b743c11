import { describe, expect, it } from "vitest";
import { loadProfile, saveProfile } from "./profile";

class MemoryStorage {
  private m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
}

describe("profile", () => {
  it("round-trips for the same user only", () => {
    const s = new MemoryStorage();
    saveProfile(s, { userId: "u1", username: "ann_01", displayName: "Ann" });
    expect(loadProfile(s, "u1")).toEqual({ userId: "u1", username: "ann_01", displayName: "Ann" });
    expect(loadProfile(s, "u2")).toBeNull();
    expect(loadProfile(s, undefined)).toBeNull();
    saveProfile(s, null);
    expect(loadProfile(s, "u1")).toBeNull();
  });
  it("ignores corrupt entries", () => {
    const s = new MemoryStorage();
    s.setItem("hearth.profile", "{not json");
    expect(loadProfile(s, "u1")).toBeNull();
  });
});
