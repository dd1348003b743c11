/** Structural views of the poll messages, so the logic is testable without building protobuf messages. */
export interface TallyLike {
  optionId: string;
  votes: bigint;
}
export interface ResultsLike {
  tallies: TallyLike[];
  voterCount: bigint;
  voteCount: bigint;
  finalized: boolean;
  revision: bigint;
}
export interface PollLike {
  pollId: string;
  state: number;
  options: { optionId: string; text: string }[];
  results?: ResultsLike | undefined;
  myOptionIds: string[];
  openTime?: { seconds: bigint; nanos: number } | undefined;
  closeTime?: { seconds: bigint; nanos: number } | undefined;
}

/** Vote count per option; undefined when results are hidden (results-after-close polls while open). */
export function optionCounts(poll: PollLike): Map<string, number> | undefined {
  if (!poll.results) return undefined;
  const counts = new Map<string, number>(poll.options.map((o) => [o.optionId, 0]));
  for (const t of poll.results.tallies) counts.set(t.optionId, Number(t.votes));
  return counts;
}

/** Share of the votes, 0–100, rounded; 0 when nobody voted. */
export function percentOf(count: number, total: number): number {
  if (total <= 0) return 0;
  return Math.round((count / total) * 100);
}

/** A live-region sentence for the tallies: "Home 3 votes, Away 1 vote". */
export function tallySentence(poll: PollLike): string {
  const counts = optionCounts(poll);
  if (!counts) return "Results are shown when the poll closes.";
  return poll.options
    .map((o) => {
      const n = counts.get(o.optionId) ?? 0;
      return `${o.text} ${n} ${n === 1 ? "vote" : "votes"}`;
    })
    .join(", ");
}

const OPEN = 3;
const CLOSED = 4;

function tsMs(t: { seconds: bigint; nanos: number } | undefined): number {
  return t ? Number(t.seconds) * 1000 + t.nanos / 1e6 : 0;
}

/**
 * The poll the overlay shows: the most recently opened open poll, else the most recently closed one
 * (the enter reply keeps closed polls for 5 minutes, so viewers still see the final result).
 */
export function featuredPoll<P extends PollLike>(polls: readonly P[]): P | undefined {
  const open = polls.filter((p) => p.state === OPEN).sort((a, b) => tsMs(b.openTime) - tsMs(a.openTime));
  if (open[0]) return open[0];
  const closed = polls.filter((p) => p.state === CLOSED).sort((a, b) => tsMs(b.closeTime) - tsMs(a.closeTime));
  return closed[0];
}
