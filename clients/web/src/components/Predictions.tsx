import type { HearthClient, RoomSession } from "@hearth/sdk";
import { useState, type FormEvent } from "react";
import { useAction, useTicker } from "../app/hooks";
import { formatCount, integerText } from "../lib/format";
import { outcomeShare, parseStake, potentialPayout } from "../lib/predictions";
import { PredictionState, type Prediction } from "../lib/proto";
import { msToDuration, secondsLeft, timestampMs } from "../lib/time";
import { Dialog } from "./Dialog";
import { FormActions } from "./FormActions";

const STATE_ORDER: Record<number, number> = {
  [PredictionState.ACTIVE]: 0,
  [PredictionState.LOCKED]: 1,
  [PredictionState.RESOLVED]: 2,
  [PredictionState.CANCELED]: 3,
};

/** Predictions with the room's virtual points: stake on an outcome; managers start, lock and resolve. */
export function Predictions({ session, client, manager }: { session: RoomSession; client: HearthClient; manager: boolean }) {
  const [balance, setBalance] = useState<bigint | null>(null);
  const [creating, setCreating] = useState(false);
  const predictions = [...session.predictions].sort((a, b) => (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9));
  const shownBalance = balance ?? session.pointsBalance;

  return (
    <section aria-labelledby="h-predictions" className="panel">
      <div className="panel-head">
        <h2 id="h-predictions">Predictions</h2>
        <span className="muted small">
          <span data-testid="points-balance">{integerText(shownBalance)}</span> points
        </span>
      </div>
      {predictions.length === 0 && <p className="muted small">No predictions right now.</p>}
      <ul className="qna-list">
        {predictions.map((p) => (
          <PredictionItem
            key={p.predictionId}
            prediction={p}
            session={session}
            client={client}
            manager={manager}
            balance={shownBalance}
            onBalance={setBalance}
          />
        ))}
      </ul>
      {manager && (
        <div className="actions" style={{ marginTop: "0.5rem" }}>
          <button type="button" className="btn btn-small" onClick={() => setCreating(true)}>
            New prediction
          </button>
        </div>
      )}
      {creating && <NewPredictionDialog session={session} onClose={() => setCreating(false)} />}
    </section>
  );
}

interface ItemProps {
  prediction: Prediction;
  session: RoomSession;
  client: HearthClient;
  manager: boolean;
  balance: bigint;
  onBalance: (b: bigint) => void;
}

function PredictionItem({ prediction: p, session, client, manager, balance, onBalance }: ItemProps) {
  const [stake, setStake] = useState("100");
  const { busy, error, run } = useAction();
  const [position, setPosition] = useState(p.myPosition);
  const left = useTicker(() => secondsLeft(timestampMs(p.lockTime), client.clock.now()), 1000);
  const mine = p.myPosition ?? position;
  const active = p.state === PredictionState.ACTIVE;
  const points = parseStake(stake, balance);
  const inputId = `stake-${p.predictionId}`;

  const place = (outcomeId: string) =>
    run(async () => {
      if (points === undefined) return;
      const r = await session.placePrediction(p.predictionId, outcomeId, points);
      setPosition(r.position);
      onBalance(r.balance);
    });

  const stateText =
    p.state === PredictionState.ACTIVE
      ? left !== undefined
        ? `Open · locks in ${left} s`
        : "Open"
      : p.state === PredictionState.LOCKED
        ? "Locked: waiting for the result"
        : p.state === PredictionState.RESOLVED
          ? "Resolved"
          : "Canceled: stakes refunded";

  return (
    <li className="qna-item" data-testid="prediction">
      <strong>{p.title}</strong>
      <span className="muted small">
        {stateText} · {formatCount(p.totalPoints)} points in the pool
      </span>
      <ul className="options">
        {p.outcomes.map((o) => {
          const share = outcomeShare(o.totalPoints, p.totalPoints);
          const won = p.state === PredictionState.RESOLVED && p.winningOutcomeId === o.outcomeId;
          const locked = mine !== undefined && mine.outcomeId !== "" && mine.outcomeId !== o.outcomeId;
          return (
            <li key={o.outcomeId} className={won ? "option correct" : "option"}>
              <button
                type="button"
                className="btn"
                aria-pressed={mine?.outcomeId === o.outcomeId}
                disabled={!active || busy || locked || points === undefined}
                onClick={() => void place(o.outcomeId)}
              >
                <span className="option-bar" style={{ width: `${share}%` }} aria-hidden="true" />
                <span>{o.title}</span>
              </button>
              <span className="option-count small">
                {share}%<span className="visually-hidden"> of the pool</span>
              </span>
              {won && <span className="small">Winner</span>}
            </li>
          );
        })}
      </ul>
      {active && (
        <div className="inline-field">
          <label htmlFor={inputId}>Points to stake</label>
          <input
            id={inputId}
            inputMode="numeric"
            value={stake}
            style={{ width: "7rem" }}
            aria-invalid={points === undefined}
            onChange={(e) => setStake(e.target.value)}
          />
        </div>
      )}
      {active && points !== undefined && mine?.outcomeId && (
        <span className="muted small">
          If it wins:{" "}
          {formatCount(
            potentialPayout(
              points,
              mine.points,
              p.outcomes.find((o) => o.outcomeId === mine.outcomeId)?.totalPoints ?? 0n,
              p.totalPoints,
            ),
          )}{" "}
          points
        </span>
      )}
      {mine && mine.points > 0n && (
        <span className="small">
          Your stake: {integerText(mine.points)} on {p.outcomes.find((o) => o.outcomeId === mine.outcomeId)?.title ?? "an outcome"}
          {mine.payout > 0n && ` · won ${integerText(mine.payout)}`}
        </span>
      )}
      {manager && (p.state === PredictionState.ACTIVE || p.state === PredictionState.LOCKED) && (
        <div className="row">
          {active && (
            <button type="button" className="btn btn-small" disabled={busy} onClick={() => void run(() => client.request("lockPrediction", { predictionId: p.predictionId }))}>
              Lock
            </button>
          )}
          {p.outcomes.map((o) => (
            <button
              key={o.outcomeId}
              type="button"
              className="btn btn-small"
              disabled={busy}
              onClick={() => void run(() => client.request("resolvePrediction", { predictionId: p.predictionId, winningOutcomeId: o.outcomeId }))}
            >
              {`Resolve: ${o.title}`}
            </button>
          ))}
          <button
            type="button"
            className="btn btn-small btn-danger"
            disabled={busy}
            onClick={() => void run(() => client.request("cancelPrediction", { predictionId: p.predictionId }))}
          >
            Cancel prediction
          </button>
        </div>
      )}
      {error && (
        <p role="alert" className="alert">
          {error}
        </p>
      )}
    </li>
  );
}

const WINDOWS = [
  { label: "1 minute", s: 60 },
  { label: "2 minutes", s: 120 },
  { label: "5 minutes", s: 300 },
  { label: "10 minutes", s: 600 },
  { label: "30 minutes", s: 1800 },
];

function NewPredictionDialog({ session, onClose }: { session: RoomSession; onClose: () => void }) {
  const [title, setTitle] = useState("");
  const [outcomes, setOutcomes] = useState(["", ""]);
  const [windowS, setWindowS] = useState(120);
  const { busy, error, setError, run } = useAction();
  const [requestId] = useState(() => `pred-${crypto.randomUUID()}`);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const outs = outcomes.map((o) => o.trim()).filter(Boolean);
    if (!title.trim()) return setError("Enter what people predict.");
    if (outs.length < 2) return setError("Enter at least two outcomes.");
    void run(async () => {
      await session.createPrediction({ title: title.trim(), outcomes: outs, predictionWindow: msToDuration(windowS * 1000), requestId });
      onClose();
    });
  };

  return (
    <Dialog title="New prediction" open onClose={onClose}>
      <form className="form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="pred-title">Prediction</label>
          <input id="pred-title" maxLength={140} value={title} onChange={(e) => setTitle(e.target.value)} />
        </div>
        {outcomes.map((o, i) => (
          <div className="field" key={i}>
            <label htmlFor={`pred-outcome-${i + 1}`}>{`Outcome ${i + 1}`}</label>
            <input
              id={`pred-outcome-${i + 1}`}
              maxLength={50}
              value={o}
              onChange={(e) => setOutcomes((os) => os.map((x, j) => (j === i ? e.target.value : x)))}
            />
          </div>
        ))}
        <div className="actions">
          <button type="button" className="btn btn-small" disabled={outcomes.length >= 10} onClick={() => setOutcomes((os) => [...os, ""])}>
            Add outcome
          </button>
        </div>
        <div className="field">
          <label htmlFor="pred-window">Open for</label>
          <select id="pred-window" value={windowS} onChange={(e) => setWindowS(Number(e.target.value))}>
            {WINDOWS.map((w) => (
              <option key={w.s} value={w.s}>
                {w.label}
              </option>
            ))}
          </select>
        </div>
        <FormActions error={error} busy={busy} submitLabel="Start prediction" onCancel={onClose} />
      </form>
    </Dialog>
  );
}
