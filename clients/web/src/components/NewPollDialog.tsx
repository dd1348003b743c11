import type { RoomSession } from "@hearth/sdk";
import { useState, type FormEvent } from "react";
import { useAction } from "../app/hooks";
import { msToDuration } from "../lib/time";
import { Dialog } from "./Dialog";
import { FormActions } from "./FormActions";

const MAX_OPTIONS = 10;
const DURATIONS = [
  { label: "Until closed", ms: 0 },
  { label: "30 seconds", ms: 30_000 },
  { label: "1 minute", ms: 60_000 },
  { label: "2 minutes", ms: 120_000 },
  { label: "5 minutes", ms: 300_000 },
];

/** Managers create a poll and open it at once (create_poll with open_now). */
export function NewPollDialog({ session, onClose }: { session: RoomSession; onClose: () => void }) {
  const [question, setQuestion] = useState("");
  const [options, setOptions] = useState<string[]>(["", ""]);
  const [durationMs, setDurationMs] = useState(0);
  const { busy, error, setError, run } = useAction();
  // One idempotency key per dialog: a retried create after a timeout never makes two polls.
  const [requestId] = useState(() => `poll-${crypto.randomUUID()}`);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const opts = options.map((o) => o.trim()).filter(Boolean);
    if (!question.trim()) return setError("Enter a question.");
    if (opts.length < 2) return setError("Enter at least two options.");
    void run(async () => {
      await session.createPoll(
        { question: question.trim(), options: opts, ...(durationMs > 0 ? { duration: msToDuration(durationMs) } : {}) },
        { openNow: true, requestId },
      );
      onClose();
    });
  };

  return (
    <Dialog title="New poll" open onClose={onClose}>
      <form className="form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="poll-question">Question</label>
          <input id="poll-question" maxLength={200} value={question} onChange={(e) => setQuestion(e.target.value)} />
        </div>
        {options.map((o, i) => (
          <div className="field" key={i}>
            <label htmlFor={`poll-option-${i + 1}`}>{`Option ${i + 1}`}</label>
            <div className="row">
              <input
                id={`poll-option-${i + 1}`}
                maxLength={100}
                value={o}
                style={{ flex: 1, width: "auto" }}
                onChange={(e) => setOptions((os) => os.map((x, j) => (j === i ? e.target.value : x)))}
              />
              {options.length > 2 && (
                <button
                  type="button"
                  className="btn btn-ghost btn-small"
                  aria-label={`Remove option ${i + 1}`}
                  onClick={() => setOptions((os) => os.filter((_, j) => j !== i))}
                >
                  ✕
                </button>
              )}
            </div>
          </div>
        ))}
        <div className="actions">
          <button
            type="button"
            className="btn btn-small"
            disabled={options.length >= MAX_OPTIONS}
            onClick={() => setOptions((os) => [...os, ""])}
          >
            Add option
          </button>
        </div>
        <div className="field">
          <label htmlFor="poll-duration">Duration</label>
          <select id="poll-duration" value={durationMs} onChange={(e) => setDurationMs(Number(e.target.value))}>
            {DURATIONS.map((d) => (
              <option key={d.ms} value={d.ms}>
                {d.label}
              </option>
            ))}
          </select>
        </div>
        <FormActions error={error} busy={busy} submitLabel="Open poll" onCancel={onClose} />
      </form>
    </Dialog>
  );
}
