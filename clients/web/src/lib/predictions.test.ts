import { describe, expect, it } from "vitest";
import { outcomeShare, parseStake, potentialPayout } from "./predictions";

describe("predictions", () => {
  it("computes pool shares", () => {
    expect(outcomeShare(250n, 1000n)).toBe(25);
    expect(outcomeShare(0n, 0n)).toBe(0);
  });
  it("pays floor(P × s / W) with the new stake in both pools", () => {
    // Pools 600 on A, 400 on B; staking 100 on B: P = 1100, W = 500, payout floor(1100 × 100 / 500) = 220.
    expect(potentialPayout(100n, 0n, 400n, 1000n)).toBe(220n);
    // Adding to an existing 100 (already in the pools): P = 1050, W = 550, mine = 150 → floor(286.36) = 286.
    expect(potentialPayout(50n, 100n, 500n, 1000n)).toBe(286n);
    expect(potentialPayout(0n, 0n, 0n, 0n)).toBe(0n);
    // The only stake on an empty pool gets itself back.
    expect(potentialPayout(10n, 0n, 0n, 0n)).toBe(10n);
  });
  it("accepts whole points within the balance", () => {
    expect(parseStake(" 50 ", 100n)).toBe(50n);
    expect(parseStake("0", 100n)).toBeUndefined();
    expect(parseStake("101", 100n)).toBeUndefined();
    expect(parseStake("1.5", 100n)).toBeUndefined();
    expect(parseStake("-3", 100n)).toBeUndefined();
  });
});
