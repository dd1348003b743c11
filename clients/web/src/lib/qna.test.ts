import { describe, expect, it } from "vitest";
import { QuestionState } from "./proto";
import { mergeQuestions, orderQuestions, withVotes, type QuestionLike } from "./qna";

const q = (id: string, upvotes: number, over: Partial<QuestionLike> = {}): QuestionLike => ({
  questionId: id,
  state: QuestionState.PUBLISHED,
  highlighted: false,
  upvotes: BigInt(upvotes),
  upvotedByMe: false,
  createTime: { seconds: BigInt(id.charCodeAt(0)), nanos: 0 },
  ...over,
});

describe("orderQuestions", () => {
  it("puts the highlighted question first, then votes, answered last, rejected never", () => {
    const ordered = orderQuestions([
      q("a", 1),
      q("b", 5),
      q("c", 9, { state: QuestionState.ANSWERED }),
      q("d", 0, { highlighted: true }),
      q("e", 50, { state: QuestionState.REJECTED }),
      q("f", 5),
    ]);
    expect(ordered.map((x) => x.questionId)).toEqual(["d", "b", "f", "a", "c"]);
  });
});

describe("mergeQuestions", () => {
  it("lets live copies win and drops removed ones", () => {
    const merged = mergeQuestions([q("a", 1), q("b", 2)], [q("a", 7)], new Set(["b"]));
    expect(merged).toHaveLength(1);
    expect(merged[0]?.upvotes).toBe(7n);
  });
});

describe("the caller's own upvote", () => {
  it("survives a newer broadcast copy, which never carries it", () => {
    // The upvote reply (listed) says 1 vote, ours; the votes event's copy (live) says 1 vote, upvotedByMe false.
    const merged = mergeQuestions([q("a", 1, { upvotedByMe: true })], [q("a", 1, { highlighted: true })], new Set());
    expect(merged[0]).toMatchObject({ questionId: "a", upvotes: 1n, upvotedByMe: true, highlighted: true });
  });
  it("stays off for questions the caller never upvoted", () => {
    expect(mergeQuestions([], [q("b", 3)], new Set())[0]?.upvotedByMe).toBe(false);
    expect(mergeQuestions([q("c", 0)], [q("c", 2)], new Set())[0]?.upvotedByMe).toBe(false);
  });
});

describe("withVotes", () => {
  it("updates only the named listed question, keeping the caller's flag", () => {
    const listed = [q("a", 1, { upvotedByMe: true }), q("b", 2)];
    const next = withVotes(listed, "a", 4n);
    expect(next[0]).toMatchObject({ upvotes: 4n, upvotedByMe: true });
    expect(next[1]).toBe(listed[1]);
    expect(withVotes(listed, "zz", 9n)).toEqual(listed);
  });
});
