import type { HearthClient, RoomSession } from "@hearth/sdk";
import { useEffect, useState } from "react";
import { useAction } from "../app/hooks";
import { userName } from "../lib/chat";
import { RestrictionKind, type ChatRestriction, type HeldMessage } from "../lib/proto";
import { msToDuration, timestampMs } from "../lib/time";

const SLOW_MODES = [
  { label: "Off", s: 0 },
  { label: "5 seconds", s: 5 },
  { label: "30 seconds", s: 30 },
  { label: "1 minute", s: 60 },
];

/**
 * Moderators' tools for the room's chat: shield mode, slow mode, the review queue of held messages and
 * the active timeouts and chat bans. Kept current by the moderator-only chat events.
 */
export function ModerationPanel({ session, client }: { session: RoomSession; client: HearthClient }) {
  const roomId = session.roomId;
  const [held, setHeld] = useState<HeldMessage[]>([]);
  const [restrictions, setRestrictions] = useState<ChatRestriction[]>([]);
  const [loadProblem, setLoadProblem] = useState(false);
  const { busy, error, run } = useAction();
  const settings = session.chatSettings;
  const slowSeconds = settings?.slowModeInterval ? Number(settings.slowModeInterval.seconds) : 0;

  useEffect(() => {
    let cancelled = false;
    Promise.all([
      client.request("listHeldMessages", { roomId, page: { pageSize: 50 } }),
      client.request("listChatRestrictions", { roomId, page: { pageSize: 50 } }),
    ])
      .then(([h, r]) => {
        if (cancelled) return;
        setHeld(h.heldMessages);
        setRestrictions(r.restrictions);
      })
      .catch(() => {
        // Background load: shown as a quiet note, not an alert; actions still report their errors.
        if (!cancelled) setLoadProblem(true);
      });
    const off = session.on("chatEvent", (ev) => {
      const k = ev.kind;
      switch (k.case) {
        case "messageHeld": {
          const m = k.value.heldMessage;
          if (m) setHeld((hs) => [...hs.filter((x) => x.heldMessageId !== m.heldMessageId), m]);
          break;
        }
        case "heldMessageResolved":
          setHeld((hs) => hs.filter((x) => x.heldMessageId !== k.value.heldMessageId));
          break;
        case "userRestricted": {
          const r = k.value.restriction;
          if (r) setRestrictions((rs) => [...rs.filter((x) => x.user?.userId !== r.user?.userId || x.kind !== r.kind), r]);
          break;
        }
        case "restrictionLifted":
          setRestrictions((rs) => rs.filter((x) => x.user?.userId !== k.value.userId || x.kind !== k.value.kind));
          break;
        default:
          break;
      }
    });
    return () => {
      cancelled = true;
      off();
    };
  }, [client, session, roomId]);

  const activeRestrictions = restrictions.filter((r) => {
    const until = timestampMs(r.expireTime);
    return until === undefined || until > Date.now();
  });

  return (
    <section aria-labelledby="h-mod" className="panel">
      <div className="panel-head">
        <h2 id="h-mod">Moderation</h2>
      </div>
      <div className="form">
        <div className="inline-field">
          <input
            id="mod-shield"
            type="checkbox"
            checked={settings?.shieldMode ?? false}
            disabled={busy}
            aria-describedby="mod-shield-hint"
            onChange={(e) => {
              const enabled = e.target.checked;
              void run(() => client.request("setShieldMode", { roomId, enabled }));
            }}
          />
          <label htmlFor="mod-shield">Shield mode</label>
        </div>
        <p id="mod-shield-hint" className="hint">
          Applies the operator's strict chat preset at once, for raids.
        </p>
        <div className="inline-field">
          <label htmlFor="mod-slow">Slow mode</label>
          <select
            id="mod-slow"
            value={SLOW_MODES.some((m) => m.s === slowSeconds) ? slowSeconds : 0}
            disabled={busy}
            style={{ width: "auto" }}
            onChange={(e) => {
              const s = Number(e.target.value);
              void run(() =>
                client.request("updateChatSettings", {
                  roomId,
                  settings: { slowModeInterval: msToDuration(s * 1000) },
                  updateMask: { paths: ["slow_mode_interval"] },
                }),
              );
            }}
          >
            {SLOW_MODES.map((m) => (
              <option key={m.s} value={m.s}>
                {m.label}
              </option>
            ))}
          </select>
        </div>
      </div>

      {loadProblem && <p className="muted small">The review queue could not be loaded.</p>}
      <h3>Held for review</h3>
      {held.length === 0 ? (
        <p className="muted small">No messages waiting.</p>
      ) : (
        <ul className="held-list">
          {held.map((m) => (
            <li key={m.heldMessageId} className="held-item">
              <span className="small muted">
                {userName(m.author)}
                {m.matchedTerms.length > 0 && ` · matched ${m.matchedTerms.join(", ")}`}
              </span>
              <p className="msg-text">{m.text}</p>
              <div className="row">
                <button
                  type="button"
                  className="btn btn-small"
                  disabled={busy}
                  onClick={() =>
                    void run(async () => {
                      await client.request("approveHeldMessage", { heldMessageId: m.heldMessageId });
                      setHeld((hs) => hs.filter((x) => x.heldMessageId !== m.heldMessageId));
                    })
                  }
                >
                  Approve
                </button>
                <button
                  type="button"
                  className="btn btn-small btn-danger"
                  disabled={busy}
                  onClick={() =>
                    void run(async () => {
                      await client.request("denyHeldMessage", { heldMessageId: m.heldMessageId });
                      setHeld((hs) => hs.filter((x) => x.heldMessageId !== m.heldMessageId));
                    })
                  }
                >
                  Deny
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}

      <h3>Timeouts and bans</h3>
      {activeRestrictions.length === 0 ? (
        <p className="muted small">Nobody is restricted.</p>
      ) : (
        <ul className="held-list">
          {activeRestrictions.map((r) => {
            const uid = r.user?.userId ?? "";
            const ban = r.kind === RestrictionKind.BAN;
            const until = timestampMs(r.expireTime);
            return (
              <li key={`${uid}-${r.kind}`} className="held-item">
                <span>
                  {userName(r.user)}: {ban ? "banned from chat" : "timed out"}
                  {until !== undefined && ` until ${new Date(until).toLocaleTimeString()}`}
                </span>
                <div className="row">
                  <button
                    type="button"
                    className="btn btn-small"
                    disabled={busy || !uid}
                    onClick={() =>
                      void run(async () => {
                        if (ban) await client.request("unbanFromChat", { roomId, userId: uid });
                        else await client.request("removeTimeout", { roomId, userId: uid });
                        setRestrictions((rs) => rs.filter((x) => x !== r));
                      })
                    }
                  >
                    {ban ? "Unban" : "Lift timeout"}
                  </button>
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {error && (
        <p role="alert" className="alert">
          {error}
        </p>
      )}
    </section>
  );
}
