import type { RoomSession } from "@hearth/sdk";
import { useState } from "react";
import { describeError } from "../lib/errors";
import { featuredPoll, optionCounts, percentOf, tallySentence } from "../lib/polls";
import { ChoiceMode, PollState, type Poll } from "../lib/proto";
import { secondsLeft, timestampMs } from "../lib/time";
import { useTicker } from "../app/hooks";

/**
 * The live poll over the player: one button per option (voting), live tallies from `pollTally`
 * (the SDK keeps the newest revision), and for managers "Close poll".
 */
export function PollOverlay({ session, manager }: { session: RoomSession; manager: boolean }) {
  const poll = featuredPoll(session.polls);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // castVote replies set poll.myOptionIds, but a later pollClosed replaces the poll with the room's copy
  // (no personal choice): remember ours per poll.
  const [mine, setMine] = useState<Record<string, string[]>>({});
  const left = useTicker(() => (poll ? secondsLeft(timestampMs(poll.deadline), Date.now()) : undefined), 500);

  if (!poll) return null;
  const open = poll.state === PollState.OPEN;
  const counts = optionCounts(poll);
  const total = counts ? [...counts.values()].reduce((a, b) => a + b, 0) : 0;
  const chosen = new Set([...(poll.myOptionIds ?? []), ...(mine[poll.pollId] ?? [])]);
  const multiple = poll.choiceMode === ChoiceMode.MULTIPLE;
  const canVote = open && !busy && (chosen.size === 0 || poll.allowVoteChange || multiple);

  const vote = async (p: Poll, optionId: string) => {
    setError(null);
    setBusy(true);
    try {
      let ids = [optionId];
      if (multiple) {
        const next = new Set(chosen);
        if (next.has(optionId)) next.delete(optionId);
        else next.add(optionId);
        ids = [...next];
      }
      const r = await session.castVote(p.pollId, ids);
      setMine((m) => ({ ...m, [p.pollId]: r.optionIds }));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const close = async () => {
    setError(null);
    try {
      await session.closePoll(poll.pollId);
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <section aria-labelledby="h-poll" className="overlay" data-poll-id={poll.pollId}>
      <h2 id="h-poll">Poll</h2>
      <p className="overlay-question">{poll.question}</p>
      <ul className="options">
        {poll.options.map((o) => {
          const n = counts?.get(o.optionId);
          const pct = n !== undefined ? percentOf(n, total) : 0;
          return (
            <li key={o.optionId} className="option" data-testid="poll-option" data-option-id={o.optionId}>
              <button
                type="button"
                className="btn"
                aria-pressed={chosen.has(o.optionId)}
                disabled={!canVote && !chosen.has(o.optionId)}
                aria-disabled={!canVote}
                onClick={() => {
                  if (canVote) void vote(poll, o.optionId);
                }}
              >
                <span className="option-bar" style={{ width: `${pct}%` }} aria-hidden="true" />
                <span>{o.text}</span>
              </button>
              <span className="option-count">
                <span data-testid="poll-count">{n ?? 0}</span>
                <span className="visually-hidden"> votes</span>
              </span>
            </li>
          );
        })}
      </ul>
      <p className="visually-hidden" aria-live="polite">
        {tallySentence(poll)}
      </p>
      <div className="overlay-foot">
        <span>
          {open ? (left !== undefined ? `${left} s left · ` : "Open · ") : "Closed · "}
          {total} {total === 1 ? "vote" : "votes"}
          {!counts && " (results after close)"}
        </span>
        {manager && open && (
          <button type="button" className="btn btn-small" onClick={() => void close()}>
            Close poll
          </button>
        )}
      </div>
      {error && (
        <p role="alert" className="alert">
          {error}
        </p>
      )}
    </section>
  );
}
