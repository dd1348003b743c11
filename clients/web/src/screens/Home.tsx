import { useCallback, useEffect, useRef, useState } from "react";
import { useClient } from "../app/hearth";
import { NewPartyDialog } from "../components/NewPartyDialog";
import { RoomCard } from "../components/RoomCard";
import { Recommendations } from "../components/Recommendations";
import { describeError } from "../lib/errors";
import { PublicRoomOrder, RoomKind, type Room } from "../lib/proto";

/** Room lists carry online counts at read time; refresh them while the screen is open. */
const REFRESH_MS = 20_000;

interface Lists {
  channels: Room[];
  rooms: Room[];
  mine: Room[];
}

export function Home() {
  const client = useClient();
  const [lists, setLists] = useState<Lists | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [stale, setStale] = useState(false);
  const loaded = useRef(false);
  const [partyOpen, setPartyOpen] = useState(false);

  const load = useCallback(async () => {
    try {
      const [channels, others, mine] = await Promise.all([
        client.request("listPublicRooms", { kind: RoomKind.CHANNEL, order: PublicRoomOrder.POPULAR, page: { pageSize: 50 } }),
        client.request("listPublicRooms", { order: PublicRoomOrder.POPULAR, page: { pageSize: 50 } }),
        client.request("listMyRooms", { page: { pageSize: 50 } }),
      ]);
      const rooms = others.rooms.filter((r) => r.kind !== RoomKind.CHANNEL);
      // "Your rooms" holds what the public lists do not show (private and unlisted rooms), so every
      // room appears once on the screen.
      const listed = new Set([...channels.rooms, ...rooms].map((r) => r.roomId));
      setLists({
        channels: channels.rooms,
        rooms,
        mine: mine.memberships.flatMap((m) => (m.room && !listed.has(m.room.roomId) ? [m.room] : [])),
      });
      loaded.current = true;
      setError(null);
      setStale(false);
    } catch (err) {
      // A failed background refresh keeps the lists on screen; only a failed first load is an error.
      if (loaded.current) setStale(true);
      else setError(describeError(err));
    }
  }, [client]);

  useEffect(() => {
    void load();
    const id = window.setInterval(() => {
      if (client.state === "open") void load();
    }, REFRESH_MS);
    const offState = client.on("state", (s) => {
      if (s === "open") void load();
    });
    return () => {
      window.clearInterval(id);
      offState();
    };
  }, [client, load]);

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Watch together</h1>
          <p className="muted">Join a channel, drop into a public room, or start a watch party with friends.</p>
        </div>
        <button type="button" className="btn btn-primary" onClick={() => setPartyOpen(true)}>
          New watch party
        </button>
      </div>
      {partyOpen && <NewPartyDialog open onClose={() => setPartyOpen(false)} />}
      {error && (
        <p role="alert" className="alert">
          {error}{" "}
          <button type="button" className="btn btn-small" onClick={() => void load()}>
            Retry
          </button>
        </p>
      )}

      {stale && <p className="muted small">Live counts could not be refreshed; retrying.</p>}
      {lists && lists.mine.length > 0 && (
        <section aria-labelledby="h-mine" className="shelf">
          <h2 id="h-mine">Your rooms</h2>
          <ul className="cards">
            {lists.mine.map((r) => (
              <RoomCard key={r.roomId} room={r} />
            ))}
          </ul>
        </section>
      )}

      <section aria-labelledby="h-channels" className="shelf">
        <h2 id="h-channels">Channels</h2>
        <RoomList rooms={lists?.channels} empty="No channels yet." />
      </section>

      <section aria-labelledby="h-public" className="shelf">
        <h2 id="h-public">Public rooms</h2>
        <RoomList rooms={lists?.rooms} empty="No public rooms right now. Start a watch party!" />
      </section>

      <section aria-labelledby="h-recs" className="shelf">
        <h2 id="h-recs">Recommended for you</h2>
        <Recommendations />
      </section>
    </div>
  );
}

function RoomList({ rooms, empty }: { rooms: Room[] | undefined; empty: string }) {
  if (!rooms) return <p className="muted">Loading…</p>;
  if (rooms.length === 0) return <p className="muted">{empty}</p>;
  return (
    <ul className="cards">
      {rooms.map((r) => (
        <RoomCard key={r.roomId} room={r} />
      ))}
    </ul>
  );
}
