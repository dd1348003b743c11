import { useEffect, useState } from "react";
import { useClient } from "../app/hearth";
import { Link } from "../app/router";
import { errorCode } from "../lib/errors";
import { formatCount } from "../lib/format";
import type { Recommendation, RecommendedItem, Share } from "../lib/proto";
import { roomPath } from "../lib/routes";
import { timestampMs, formatRelative } from "../lib/time";

interface ShelfData {
  id: string;
  title: string;
  items: { key: string; item: RecommendedItem; why: string }[];
}

/**
 * Deployments without the recommendations role answer every frame with `unsupported` (reason
 * `not_deployed`), which cannot change while the page lives: the first one turns the feature off
 * instead of asking again on every refresh.
 */
let recommendationsUnsupported = false;

function fromRecs(recs: Recommendation[]): ShelfData["items"] {
  return recs.flatMap((r) => (r.item ? [{ key: r.recommendationId || r.item.title, item: r.item, why: r.explanation?.text ?? "" }] : []));
}

function fromShares(shares: Share[]): ShelfData["items"] {
  return shares.flatMap((s) =>
    s.item
      ? [
          {
            key: s.shareId,
            item: s.item,
            why: s.comment
              ? `${s.sharer?.displayName || s.sharer?.username || "Someone"}: “${s.comment}”`
              : (s.explanation?.text ?? "Shared with you"),
          },
        ]
      : [],
  );
}

export function Recommendations() {
  const client = useClient();
  const [shelves, setShelves] = useState<ShelfData[] | null>(recommendationsUnsupported ? [] : null);

  useEffect(() => {
    if (recommendationsUnsupported) return;
    let cancelled = false;
    const page = { pageSize: 12 };
    (async () => {
      let trending: ShelfData["items"];
      try {
        trending = fromRecs((await client.request("listTrending", { page })).recommendations);
      } catch (err) {
        if (errorCode(err) === "unsupported") recommendationsUnsupported = true;
        if (!cancelled) setShelves([]);
        return;
      }
      const settle = async (p: Promise<ShelfData["items"]>): Promise<ShelfData["items"]> => {
        try {
          return await p;
        } catch {
          return [];
        }
      };
      const [friends, because, soon, shares] = await Promise.all([
        settle(client.request("listFriendsWatching", { page }).then((r) => fromRecs(r.recommendations))),
        settle(client.request("listBecauseYouWatched", { page }).then((r) => fromRecs(r.recommendations))),
        settle(client.request("listStartingSoon", { page }).then((r) => fromRecs(r.recommendations))),
        settle(client.request("listShares", { page }).then((r) => fromShares(r.shares))),
      ]);
      if (cancelled) return;
      setShelves(
        [
          { id: "friends", title: "Friends watching", items: friends },
          { id: "trending", title: "Trending now", items: trending },
          { id: "soon", title: "Starting soon", items: soon },
          { id: "because", title: "Because you watched", items: because },
          { id: "shares", title: "Shared with you", items: shares },
        ].filter((s) => s.items.length > 0),
      );
    })();
    return () => {
      cancelled = true;
    };
  }, [client]);

  if (shelves === null) return <p className="muted">Loading…</p>;
  if (shelves.length === 0) return <p className="muted">Nothing to recommend yet. Watch something and check back.</p>;
  return (
    <>
      {shelves.map((s) => (
        <section key={s.id} aria-labelledby={`h-rec-${s.id}`} className="subshelf">
          <h3 id={`h-rec-${s.id}`}>{s.title}</h3>
          <ul className="cards cards-compact">
            {s.items.map((i) => (
              <RecCard key={i.key} item={i.item} why={i.why} />
            ))}
          </ul>
        </section>
      ))}
    </>
  );
}

function RecCard({ item, why }: { item: RecommendedItem; why: string }) {
  const roomId = item.joinRoomId || (item.target.case === "roomId" ? item.target.value : "");
  const start = timestampMs(item.startTime);
  const body = (
    <span className="card-body">
      <span className="card-title">{item.title}</span>
      {item.subtitle && <span className="card-sub">{item.subtitle}</span>}
      <span className="card-meta">
        {item.live && <span className="badge badge-live">Live</span>}
        {!item.live && start !== undefined && <span className="badge">{formatRelative(start, Date.now())}</span>}
        {item.viewerCount > 0n && <span className="online">{formatCount(item.viewerCount)} watching</span>}
      </span>
      {why && <span className="card-why">{why}</span>}
    </span>
  );
  return (
    <li className="card">
      {roomId ? (
        <Link to={roomPath(roomId)} className="card-link">
          {body}
        </Link>
      ) : (
        <div className="card-link card-static">{body}</div>
      )}
    </li>
  );
}
