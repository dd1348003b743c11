import type { HearthClient, RoomSession } from "@hearth/sdk";
import { useEffect, useState } from "react";
import { useAction, useTicker } from "../app/hooks";
import { userName } from "../lib/chat";
import { integerText } from "../lib/format";
import { QuestionWindow, QuizState, type LeaderboardEntry, type Quiz } from "../lib/proto";
import { answerMark, canRevealNext, currentQuestion, nextRevealIndex } from "../lib/quiz";
import { secondsLeft, timestampMs } from "../lib/time";

interface QuizProps {
  session: RoomSession;
  client: HearthClient;
  manager: boolean;
  /** A quiz this manager created (DRAFT until its first question is revealed). */
  draft: Quiz | null;
  onDraftUsed: () => void;
}

/**
 * The quiz over the player: the revealed question with a countdown, one answer per question, correct
 * answers once it closes, and the leaderboard (quiz events, refreshed with get_leaderboard).
 */
export function QuizOverlay({ session, client, manager, draft, onDraftUsed }: QuizProps) {
  const live = session.quiz;
  const quiz = live && live.state !== QuizState.DRAFT ? live : draft;
  const [answers, setAnswers] = useState<Record<string, string[]>>({});
  const [board, setBoard] = useState<{ entries: LeaderboardEntry[]; me?: LeaderboardEntry | undefined } | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const question = quiz ? currentQuestion(quiz) : undefined;
  const left = useTicker(() => (question ? secondsLeft(timestampMs(question.closeTime), client.clock.now()) : undefined), 500);
  const quizId = quiz?.quizId;
  const closedCount = quiz?.questions.filter((q) => q.window === QuestionWindow.CLOSED).length ?? 0;

  // The events carry the top entries; get_leaderboard adds this user's own standing.
  useEffect(() => {
    if (!quizId || (quiz && quiz.state === QuizState.DRAFT)) return;
    let cancelled = false;
    client
      .request("getLeaderboard", { roomId: session.roomId, quizId, topN: 10 })
      .then((r) => {
        if (!cancelled) setBoard({ entries: r.entries, me: r.myEntry });
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, [client, session.roomId, quizId, closedCount, quiz?.state]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(
    () =>
      client.on("userEvent", (ev) => {
        if (ev.kind.case !== "quizAnswerScored") return;
        const r = ev.kind.value;
        if (r.quizId !== quizId) return;
        setResult(
          !r.answered
            ? "No answer this time."
            : r.correct
              ? `Correct! +${r.pointsAwarded + r.streakBonus} points (rank ${r.rank} of ${integerText(r.participantCount)}).`
              : "Not quite. Better luck on the next one.",
        );
      }),
    [client, quizId],
  );

  if (!quiz) return null;
  const entries = session.leaderboard.length > 0 && quiz.state !== QuizState.FINISHED ? session.leaderboard : (board?.entries ?? []);
  const chosen = question ? (answers[question.questionId] ?? []) : [];
  const open = question?.window === QuestionWindow.OPEN;

  const answer = (optionId: string) =>
    run(async () => {
      if (!question) return;
      await session.submitQuizAnswer(quiz.quizId, question.questionId, [optionId]);
      setAnswers((a) => ({ ...a, [question.questionId]: [optionId] }));
      setResult(null);
    });

  const reveal = () =>
    run(async () => {
      await session.revealNextQuestion(quiz.quizId, nextRevealIndex(quiz));
      if (quiz === draft) onDraftUsed();
    });

  return (
    <section aria-labelledby="h-quiz" className="overlay">
      <h2 id="h-quiz">Quiz</h2>
      <p className="overlay-question">{quiz.title}</p>
      {quiz.state === QuizState.DRAFT && <p className="muted small">{quiz.questionCount} questions ready.</p>}
      {question && (
        <>
          <p>
            <span className="muted small">
              Question {question.index + 1}
              {quiz.questionCount > 0 ? ` of ${quiz.questionCount}` : ""} ·{" "}
            </span>
            <strong>{question.text}</strong>
          </p>
          <ul className="options">
            {question.options.map((o) => {
              const mark = answerMark(o.optionId, question.correctOptionIds, chosen);
              return (
                <li key={o.optionId} className={`option${mark === "correct" ? " correct" : ""}`}>
                  <button
                    type="button"
                    className="btn"
                    aria-pressed={chosen.includes(o.optionId)}
                    disabled={!open || busy || (chosen.length > 0 && !chosen.includes(o.optionId))}
                    onClick={() => {
                      if (open && chosen.length === 0) void answer(o.optionId);
                    }}
                  >
                    {o.text}
                  </button>
                  {mark !== "neutral" && (
                    <span className="small">{mark === "correct" ? "✓ Correct" : mark === "wrong" ? "✗" : "Answer"}</span>
                  )}
                </li>
              );
            })}
          </ul>
          <p className="muted small" aria-live="polite">
            {open
              ? chosen.length > 0
                ? "Answer locked in."
                : left !== undefined
                  ? `${left} s to answer`
                  : "Answer now"
              : "Question closed."}
          </p>
        </>
      )}
      {result && (
        <p className="small" role="status">
          {result}
        </p>
      )}
      <h3 className="small">Leaderboard</h3>
      <ol className="leaderboard" data-testid="leaderboard" aria-live="polite">
        {entries.length === 0 && <li className="muted">No scores yet.</li>}
        {entries.map((e) => (
          <li key={e.user?.userId ?? e.rank} className={e.user?.userId === client.userId ? "me" : undefined}>
            <span>
              {e.rank}. {userName(e.user)}
            </span>
            <span>{integerText(e.score)}</span>
          </li>
        ))}
      </ol>
      {board?.me && !entries.some((e) => e.user?.userId === board.me?.user?.userId) && (
        <p className="small muted">
          You: #{board.me.rank}, {integerText(board.me.score)} points
        </p>
      )}
      {manager && quiz.state !== QuizState.FINISHED && (
        <div className="actions">
          <button type="button" className="btn btn-small" disabled={busy || !canRevealNext(quiz)} onClick={() => void reveal()}>
            {quiz.state === QuizState.DRAFT ? "Start quiz" : "Reveal next question"}
          </button>
          {quiz.state === QuizState.RUNNING && (
            <button type="button" className="btn btn-small btn-danger" disabled={busy} onClick={() => void run(() => session.endQuiz(quiz.quizId))}>
              End quiz
            </button>
          )}
        </div>
      )}
      {error && (
        <p role="alert" className="alert">
          {error}
        </p>
      )}
    </section>
  );
}
