import type { RoomSession } from "@hearth/sdk";
import { useEffect, useRef, useState } from "react";
import { usePrefersReducedMotion } from "../app/hooks";
import { burstParticles, DEFAULT_LIVE_EMOJIS, type BurstParticle } from "../lib/chat";

/** How long one particle lives (matches the CSS animation). */
const PARTICLE_MS = 2_400;

/** Floating emoji for every `liveReactions` window of the room (everyone's taps, summed by the service). */
export function LiveBursts({ session }: { session: RoomSession }) {
  const [particles, setParticles] = useState<BurstParticle[]>([]);
  const nextId = useRef(0);
  const reduced = usePrefersReducedMotion();

  useEffect(
    () =>
      session.on("liveReaction", (lr) => {
        if (reduced) return;
        const fresh = burstParticles(
          lr.counts.map((c) => ({ emoji: c.emoji, count: Number(c.count) })),
          nextId.current,
        );
        if (fresh.length === 0) return;
        nextId.current += fresh.length;
        const ids = new Set(fresh.map((p) => p.id));
        setParticles((ps) => [...ps.slice(-60), ...fresh]);
        window.setTimeout(() => setParticles((ps) => ps.filter((p) => !ids.has(p.id))), PARTICLE_MS + 300);
      }),
    [session, reduced],
  );

  return (
    <div className="burst-lane" aria-hidden="true" data-testid="live-bursts">
      {particles.map((p) => (
        <span key={p.id} className="burst" style={{ left: `${p.x}%`, animationDelay: `${p.delayMs}ms` }}>
          {p.emoji}
        </span>
      ))}
    </div>
  );
}

/** Tap-to-react buttons ("Send 🔥"); each tap is one `send_live_reaction`. */
export function LiveReactionBar({ session, disabled }: { session: RoomSession; disabled: boolean }) {
  const configured = session.chatSettings?.liveReactionEmojis ?? [];
  const emojis = configured.length > 0 ? configured : DEFAULT_LIVE_EMOJIS;
  const [sent, setSent] = useState("");
  return (
    <div className="live-bar" role="group" aria-label="Live reactions">
      {emojis.map((e) => (
        <button
          key={e}
          type="button"
          className="btn btn-ghost"
          aria-label={`Send ${e}`}
          disabled={disabled}
          onClick={() => {
            session.sendLiveReaction(e).then(
              () => setSent(`Sent ${e}`),
              () => setSent(""),
            );
          }}
        >
          {e}
        </button>
      ))}
      <span className="visually-hidden" aria-live="polite">
        {sent}
      </span>
    </div>
  );
}
