import type { RoomSession } from "@hearth/sdk";
import { useState, type FormEvent } from "react";
import { useAction } from "../app/hooks";
import { QuestionKind, type Quiz } from "../lib/proto";
import { msToDuration } from "../lib/time";
import { Dialog } from "./Dialog";
import { FormActions } from "./FormActions";

interface DraftQuestion {
  text: string;
  options: string[];
  correct: number;
  seconds: number;
}

const blank = (): DraftQuestion => ({ text: "", options: ["", "", "", ""], correct: 0, seconds: 20 });
const TIME_LIMITS = [10, 20, 30, 60];
const MAX_QUESTIONS = 20;

/** Managers write a quiz (single-choice questions); it is created as a draft and started from the overlay. */
export function NewQuizDialog({ session, onClose, onCreated }: { session: RoomSession; onClose: () => void; onCreated: (q: Quiz) => void }) {
  const [title, setTitle] = useState("");
  const [questions, setQuestions] = useState<DraftQuestion[]>([blank()]);
  const { busy, error, setError, run } = useAction();
  const [requestId] = useState(() => `quiz-${crypto.randomUUID()}`);

  const update = (i: number, fn: (q: DraftQuestion) => DraftQuestion) => setQuestions((qs) => qs.map((q, j) => (j === i ? fn(q) : q)));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!title.trim()) return setError("Give the quiz a title.");
    const drafts = [];
    for (const [i, q] of questions.entries()) {
      const filled = q.options.map((o, k) => ({ text: o.trim(), k })).filter((o) => o.text);
      if (!q.text.trim()) return setError(`Question ${i + 1} needs a text.`);
      if (filled.length < 2) return setError(`Question ${i + 1} needs at least two answers.`);
      const correct = filled.findIndex((o) => o.k === q.correct);
      if (correct < 0) return setError(`Question ${i + 1}: the correct answer is empty.`);
      drafts.push({
        text: q.text.trim(),
        kind: QuestionKind.SINGLE_CHOICE,
        options: filled.map((o) => o.text),
        correctOptionIndexes: [correct],
        timeLimit: msToDuration(q.seconds * 1000),
      });
    }
    const quiz = { title: title.trim(), questions: drafts, requestId };
    void run(async () => {
      const r = await session.createQuiz(quiz);
      if (r.quiz) onCreated(r.quiz);
      onClose();
    });
  };

  return (
    <Dialog title="New quiz" open onClose={onClose}>
      <form className="form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="quiz-title">Quiz title</label>
          <input id="quiz-title" maxLength={120} value={title} onChange={(e) => setTitle(e.target.value)} />
        </div>
        {questions.map((q, i) => (
          <fieldset key={i} className="panel form">
            <legend>Question {i + 1}</legend>
            <div className="field">
              <label htmlFor={`quiz-q${i}`}>{`Question ${i + 1} text`}</label>
              <input id={`quiz-q${i}`} maxLength={300} value={q.text} onChange={(e) => update(i, (x) => ({ ...x, text: e.target.value }))} />
            </div>
            {q.options.map((o, k) => (
              <div className="field" key={k}>
                <label htmlFor={`quiz-q${i}-a${k}`}>{`Question ${i + 1} answer ${k + 1}`}</label>
                <input
                  id={`quiz-q${i}-a${k}`}
                  maxLength={100}
                  value={o}
                  onChange={(e) => update(i, (x) => ({ ...x, options: x.options.map((y, m) => (m === k ? e.target.value : y)) }))}
                />
              </div>
            ))}
            <div className="row">
              <div className="field">
                <label htmlFor={`quiz-q${i}-correct`}>Correct answer</label>
                <select
                  id={`quiz-q${i}-correct`}
                  value={q.correct}
                  onChange={(e) => update(i, (x) => ({ ...x, correct: Number(e.target.value) }))}
                >
                  {q.options.map((o, k) => (
                    <option key={k} value={k}>
                      {`Answer ${k + 1}${o.trim() ? `: ${o.trim()}` : ""}`}
                    </option>
                  ))}
                </select>
              </div>
              <div className="field">
                <label htmlFor={`quiz-q${i}-time`}>Time to answer</label>
                <select
                  id={`quiz-q${i}-time`}
                  value={q.seconds}
                  onChange={(e) => update(i, (x) => ({ ...x, seconds: Number(e.target.value) }))}
                >
                  {TIME_LIMITS.map((s) => (
                    <option key={s} value={s}>
                      {s} seconds
                    </option>
                  ))}
                </select>
              </div>
            </div>
            {questions.length > 1 && (
              <button type="button" className="btn btn-ghost btn-small" onClick={() => setQuestions((qs) => qs.filter((_, j) => j !== i))}>
                Remove question {i + 1}
              </button>
            )}
          </fieldset>
        ))}
        <div className="actions">
          <button
            type="button"
            className="btn btn-small"
            disabled={questions.length >= MAX_QUESTIONS}
            onClick={() => setQuestions((qs) => [...qs, blank()])}
          >
            Add question
          </button>
        </div>
        <FormActions error={error} busy={busy} submitLabel="Create quiz" onCancel={onClose} />
      </form>
    </Dialog>
  );
}
