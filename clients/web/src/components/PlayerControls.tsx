import { expectedPositionMs, type HearthClient, type RoomSession } from "@hearth/sdk";
import { useEffect, useId, useRef, useState } from "react";
import { useAction, useTicker } from "../app/hooks";
import { durationMs } from "../lib/time";
import { formatClock } from "../lib/time";

const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 2] as const;

interface ControlsProps {
  session: RoomSession;
  client: HearthClient;
  video: HTMLVideoElement | null;
  canControl: boolean;
}

/**
 * Group playback controls. Every action is a command to the room (play, pause, seek, set_rate); the
 * local player only ever follows the resulting state through MediaSync (docs/sync.md §4: a host must
 * not start locally on play, or they would lead everyone by the start delay).
 */
export function PlayerControls({ session, client, video, canControl }: ControlsProps) {
  const { busy, error, run } = useAction();
  const [dragSec, setDragSec] = useState<number | null>(null);
  const rangeRef = useRef<HTMLInputElement>(null);
  const noteId = useId();
  const p = session.playback;
  const live = p.live;
  const hasMedia = p.media !== undefined;
  const enabled = canControl && hasMedia && !live;

  const positionSec = useTicker(() => (live ? 0 : expectedPositionMs(session.playback, client.clock.now()) / 1000), 250);
  const knownDuration = durationMs(p.mediaSummary?.duration);
  const elementDuration = video && Number.isFinite(video.duration) ? video.duration : undefined;
  const maxSec = knownDuration !== undefined ? knownDuration / 1000 : (elementDuration ?? Math.max(3600, positionSec + 600));

  // Seek on the range's native `change` (released or keyed), not on every `input` while dragging.
  const sessionRef = useRef(session);
  sessionRef.current = session;
  useEffect(() => {
    const el = rangeRef.current;
    if (!el) return;
    const onChange = () => {
      const sec = Number(el.value);
      setDragSec(null);
      if (!Number.isFinite(sec)) return;
      void run(() => sessionRef.current.seek(Math.round(sec * 1000)));
    };
    el.addEventListener("change", onChange);
    return () => el.removeEventListener("change", onChange);
  }, []);

  const shownSec = dragSec ?? Math.min(positionSec, maxSec);

  return (
    <div className="controls panel" role="group" aria-label="Playback controls" aria-describedby={enabled ? undefined : noteId}>
      <button
        type="button"
        className="btn btn-primary"
        disabled={!enabled || busy}
        onClick={() => void run(() => session.play())}
      >
        Play
      </button>
      <button
        type="button"
        className="btn"
        disabled={!enabled || busy}
        onClick={() =>
          void run(() =>
            session.pause(video && Number.isFinite(video.currentTime) && video.readyState > 0 ? { positionMs: video.currentTime * 1000 } : {}),
          )
        }
      >
        Pause
      </button>
      <div className="position">
        <span className="time" aria-hidden="true">
          {formatClock(shownSec * 1000)}
        </span>
        <label htmlFor="position-range" className="visually-hidden">
          Position
        </label>
        <input
          ref={rangeRef}
          id="position-range"
          type="range"
          min={0}
          max={Math.max(1, Math.ceil(maxSec))}
          step={0.1}
          value={Math.round(shownSec * 10) / 10}
          disabled={!enabled}
          aria-valuetext={`${formatClock(shownSec * 1000)} of ${formatClock(maxSec * 1000)}`}
          onChange={(e) => setDragSec(Number(e.target.value))}
        />
        <span className="time" aria-hidden="true">
          {formatClock(maxSec * 1000)}
        </span>
      </div>
      <div className="inline-field">
        <label htmlFor="speed-select">Speed</label>
        <select
          id="speed-select"
          value={String(p.rate || 1)}
          disabled={!enabled || busy}
          onChange={(e) => {
            const rate = Number(e.target.value);
            void run(() => session.setRate(rate));
          }}
        >
          {SPEEDS.map((s) => (
            <option key={s} value={String(s)}>
              {s}×
            </option>
          ))}
          {!SPEEDS.includes(p.rate as (typeof SPEEDS)[number]) && p.rate > 0 && (
            <option value={String(p.rate)}>{p.rate}×</option>
          )}
        </select>
      </div>
      {!enabled && (
        <p id={noteId} className="controls-note">
          {!hasMedia
            ? "Nothing to play yet."
            : live
              ? "Live: everyone watches at the live edge."
              : "Only hosts control playback. Your player follows the group."}
        </p>
      )}
      {error && (
        <p role="alert" className="alert controls-note">
          {error}
        </p>
      )}
    </div>
  );
}
