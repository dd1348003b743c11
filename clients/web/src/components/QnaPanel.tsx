import type { HearthClient, RoomSession } from "@hearth/sdk";
import { useEffect, useState, type FormEvent } from "react";
import { useAction } from "../app/hooks";
import { userName } from "../lib/chat";
import { integerText } from "../lib/format";
import { ModerationAction, QuestionOrder, QuestionState, type Question } from "../lib/proto";
import { mergeQuestions, withVotes } from "../lib/qna";

/** Q&A: members ask and upvote; managers approve, highlight and mark answered. Listed by votes. */
export function QnaPanel({ session, client, manager }: { session: RoomSession; client: HearthClient; manager: boolean }) {
  const [listed, setListed] = useState<Question[]>([]);
  const [removed, setRemoved] = useState<Set<string>>(new Set());
  const [text, setText] = useState("");
  const { busy, error, run } = useAction();
  const enabled = session.qnaSettings?.enabled ?? true;

  useEffect(() => {
    let cancelled = false;
    client
      .request("listQuestions", { roomId: session.roomId, order: QuestionOrder.TOP, page: { pageSize: 50 } })
      .then((r) => {
        if (!cancelled) setListed(r.questions);
      })
      .catch(() => undefined);
    const off = session.on("interaction", (ev) => {
      const k = ev.kind;
      if (k.case === "questionRemoved") {
        const id = k.value.questionId;
        setRemoved((s) => new Set(s).add(id));
      } else if (k.case === "questionVotesUpdated") {
        // Questions listed before we entered are not in the SDK's live set: keep their counts current here.
        const { questionId, upvotes } = k.value;
        setListed((ls) => withVotes(ls, questionId, upvotes));
      }
    });
    return () => {
      cancelled = true;
      off();
    };
  }, [client, session]);

  const questions = mergeQuestions(listed, session.questions, removed);

  const replaceListed = (q: Question | undefined) => {
    if (q) setListed((ls) => [...ls.filter((x) => x.questionId !== q.questionId), q]);
  };

  const ask = (e: FormEvent) => {
    e.preventDefault();
    const body = text.trim();
    if (!body) return;
    void run(async () => {
      const r = await session.askQuestion(body);
      setText("");
      replaceListed(r.question);
    });
  };

  const moderate = (q: Question, action: ModerationAction) =>
    run(async () => {
      const r = await client.request("moderateQuestion", { questionId: q.questionId, action });
      replaceListed(r.question);
    });

  return (
    <section aria-labelledby="h-qna" className="panel">
      <div className="panel-head">
        <h2 id="h-qna">Questions</h2>
        {session.qnaSettings?.preModeration && <span className="badge">Reviewed</span>}
      </div>
      {enabled ? (
        <form className="row" onSubmit={ask}>
          <label htmlFor="qna-input" className="visually-hidden">
            Your question
          </label>
          <input
            id="qna-input"
            maxLength={300}
            placeholder="Ask the host something…"
            value={text}
            style={{ flex: 1, width: "auto" }}
            onChange={(e) => setText(e.target.value)}
          />
          <button type="submit" className="btn" disabled={busy || !text.trim()}>
            Ask
          </button>
        </form>
      ) : (
        <p className="muted">Q&amp;A is turned off in this room.</p>
      )}
      {error && (
        <p role="alert" className="alert">
          {error}
        </p>
      )}
      <ol className="qna-list" aria-live="polite" aria-relevant="additions text">
        {questions.length === 0 && <li className="muted small">No questions yet.</li>}
        {questions.map((q) => {
          const mine = q.author?.userId === client.userId;
          const pending = q.state === QuestionState.PENDING;
          const answered = q.state === QuestionState.ANSWERED;
          return (
            <li key={q.questionId} className={q.highlighted ? "qna-item highlighted" : "qna-item"} data-testid="question">
              <p className="msg-text">{q.text}</p>
              <div className="row spread small">
                <span className="muted">
                  {userName(q.author)}
                  {pending && " · waiting for review"}
                  {answered && " · answered"}
                  {q.highlighted && " · on stage"}
                </span>
                <span className="row">
                  <button
                    type="button"
                    className="btn btn-small"
                    aria-pressed={q.upvotedByMe}
                    aria-label={`Upvote: ${integerText(q.upvotes)} ${q.upvotes === 1n ? "vote" : "votes"}`}
                    disabled={busy || mine || pending}
                    onClick={() =>
                      void run(async () => {
                        const r = await session.upvoteQuestion(q.questionId, !q.upvotedByMe);
                        replaceListed(r.question);
                      })
                    }
                  >
                    <span aria-hidden="true">▲ {integerText(q.upvotes)}</span>
                  </button>
                  {manager && pending && (
                    <>
                      <button type="button" className="btn btn-small" disabled={busy} onClick={() => void moderate(q, ModerationAction.APPROVE)}>
                        Approve
                      </button>
                      <button type="button" className="btn btn-small btn-danger" disabled={busy} onClick={() => void moderate(q, ModerationAction.REJECT)}>
                        Reject
                      </button>
                    </>
                  )}
                  {manager && !pending && (
                    <>
                      <button
                        type="button"
                        className="btn btn-small"
                        disabled={busy}
                        onClick={() => void moderate(q, q.highlighted ? ModerationAction.UNHIGHLIGHT : ModerationAction.HIGHLIGHT)}
                      >
                        {q.highlighted ? "Unhighlight" : "Highlight"}
                      </button>
                      {!answered && (
                        <button type="button" className="btn btn-small" disabled={busy} onClick={() => void moderate(q, ModerationAction.MARK_ANSWERED)}>
                          Mark answered
                        </button>
                      )}
                    </>
                  )}
                </span>
              </div>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
