import { describe, expect, it } from "vitest";
import { PollState } from "./proto";
import { featuredPoll, optionCounts, percentOf, tallySentence, type PollLike, type ResultsLike } from "./polls";

const results = (revision: number, votes: number[], finalized = false): ResultsLike => ({
  tallies: votes.map((v, i) => ({ optionId: `o${i + 1}`, votes: BigInt(v) })),
  voterCount: BigInt(votes.reduce((a, b) => a + b, 0)),
  voteCount: BigInt(votes.reduce((a, b) => a + b, 0)),
  finalized,
  revision: BigInt(revision),
});

const poll = (over: Partial<PollLike> = {}): PollLike => ({
  pollId: "p1",
  state: PollState.OPEN,
  options: [
    { optionId: "o1", text: "Home" },
    { optionId: "o2", text: "Away" },
  ],
  myOptionIds: [],
  ...over,
});

describe("counts", () => {
  it("fills options without tallies with zero", () => {
    const counts = optionCounts(poll({ results: results(1, [2]) }));
    expect(counts?.get("o1")).toBe(2);
    expect(counts?.get("o2")).toBe(0);
    expect(optionCounts(poll())).toBeUndefined();
  });
  it("phrases tallies for screen readers", () => {
    expect(tallySentence(poll({ results: results(1, [1, 2]) }))).toBe("Home 1 vote, Away 2 votes");
    expect(tallySentence(poll())).toMatch(/when the poll closes/);
  });
  it("computes percentages", () => {
    expect(percentOf(1, 3)).toBe(33);
    expect(percentOf(0, 0)).toBe(0);
  });
});

describe("featuredPoll", () => {
  it("shows the newest open poll, else the newest closed one", () => {
    const a = poll({ pollId: "a", openTime: { seconds: 10n, nanos: 0 } });
    const b = poll({ pollId: "b", openTime: { seconds: 20n, nanos: 0 } });
    const c = poll({ pollId: "c", state: PollState.CLOSED, closeTime: { seconds: 30n, nanos: 0 } });
    const d = poll({ pollId: "d", state: PollState.CLOSED, closeTime: { seconds: 40n, nanos: 0 } });
    expect(featuredPoll([a, b, c])?.pollId).toBe("b");
    expect(featuredPoll([c, d])?.pollId).toBe("d");
    expect(featuredPoll([poll({ state: PollState.DRAFT })])).toBeUndefined();
  });
});
