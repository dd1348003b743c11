import { expectedPositionMs, type HearthClient, type RoomSession } from "@hearth/sdk";
import { useTicker } from "../app/hooks";
import { durationMs, timestampMs } from "../lib/time";
import { syncStatus, syncStatusLabel } from "../lib/syncStatus";

interface SyncBarProps {
  session: RoomSession;
  client: HearthClient;
  /** True while the local player is stalled or still loading (read every tick). */
  readLocalBuffering: () => boolean;
  /** Current drift of the local player against the group, ms (positive: ahead). */
  readDriftMs: () => number;
}

/** Group status as this viewer sees it, and the player's drift: both refreshed four times a second. */
export function SyncBar({ session, client, readLocalBuffering, readDriftMs }: SyncBarProps) {
  const status = useTicker(() => {
    const p = session.playback;
    const now = client.clock.now();
    return syncStatus({
      status: p.status,
      cause: p.cause,
      live: p.live,
      localBuffering: readLocalBuffering(),
      serverNowMs: now,
      referenceTimeMs: timestampMs(p.referenceTime),
      expectedPositionMs: p.live ? undefined : expectedPositionMs(p, now),
      durationMs: durationMs(p.mediaSummary?.duration),
    });
  }, 250);
  const drift = useTicker(() => Math.round(readDriftMs()), 250);
  const shown = Number.isFinite(drift) ? drift : 0;

  return (
    <div className="sync-bar">
      <span className={`status-pill status-${status}`} title={syncStatusLabel(status)}>
        <span className="visually-hidden">Group status: </span>
        <span data-testid="sync-status">{status}</span>
      </span>
      <span title="Difference between your player and the group">
        Drift <span data-testid="drift">{shown}</span> ms
      </span>
      {!client.clock.synced && <span>Syncing clock…</span>}
    </div>
  );
}
