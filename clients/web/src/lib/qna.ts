/** Pure Q&A ordering: highlighted first, then by upvotes, then oldest first (stable for equal votes). */
export interface QuestionLike {
  questionId: string;
  state: number;
  highlighted: boolean;
  upvotes: bigint;
  /** Per caller: only in list and upvote replies; broadcast copies always say false. */
  upvotedByMe: boolean;
  createTime?: { seconds: bigint; nanos: number } | undefined;
}

const ANSWERED = 3;
const REJECTED = 4;

export function orderQuestions<Q extends QuestionLike>(qs: Iterable<Q>): Q[] {
  const t = (q: Q) => (q.createTime ? Number(q.createTime.seconds) * 1000 + q.createTime.nanos / 1e6 : 0);
  return [...qs]
    .filter((q) => q.state !== REJECTED)
    .sort((a, b) => {
      if (a.highlighted !== b.highlighted) return a.highlighted ? -1 : 1;
      const answered = Number(a.state === ANSWERED) - Number(b.state === ANSWERED);
      if (answered !== 0) return answered;
      if (a.upvotes !== b.upvotes) return a.upvotes > b.upvotes ? -1 : 1;
      return t(a) - t(b);
    });
}

/**
 * Merges the listed questions (list and upvote replies, which carry the caller's own `upvotedByMe`)
 * with live ones from room events (newer text, state and votes, but `upvotedByMe` always false in
 * broadcasts), minus those removed since. A live copy wins except for `upvotedByMe`, which only the
 * listed copy knows.
 */
export function mergeQuestions<Q extends QuestionLike>(listed: Iterable<Q>, live: Iterable<Q>, removed: ReadonlySet<string>): Q[] {
  const m = new Map<string, Q>();
  for (const q of listed) m.set(q.questionId, q);
  for (const q of live) {
    const mine = m.get(q.questionId);
    m.set(q.questionId, mine && mine.upvotedByMe !== q.upvotedByMe ? { ...q, upvotedByMe: mine.upvotedByMe } : q);
  }
  for (const id of removed) m.delete(id);
  return orderQuestions(m.values());
}

/** Applies a `questionVotesUpdated` event to the listed copies (the SDK only updates questions it saw live). */
export function withVotes<Q extends QuestionLike>(listed: readonly Q[], questionId: string, upvotes: bigint): Q[] {
  return listed.map((q) => (q.questionId === questionId && q.upvotes !== upvotes ? { ...q, upvotes } : q));
}
